// The BPMN modeler (bpmn-js, served by the app: no internet needed) and a small panel for what
// SpiffWorkflow executes for the selected element: timers, flow conditions, lane roles, called
// decisions and form files. Every edit goes through bpmn-js' modeling commands, so undo works.
(function () {
  "use strict";

  // The spiffworkflow namespace: without it bpmn-js would drop these elements when saving.
  var BODY_TYPES = ["CalledDecisionId", "MessageVariable", "MessagePayload", "PreScript", "PostScript",
                    "InstructionsForEndUser"];
  var SPIFF = {
    name: "SpiffWorkflow", uri: "http://spiffworkflow.org/bpmn/schema/1.0/core", prefix: "spiffworkflow",
    xml: { tagAlias: "lowerCase" }, associations: [],
    types: [
      { name: "Properties", superClass: ["Element"],
        properties: [{ name: "properties", type: "Property", isMany: true }] },
      { name: "Property", superClass: ["Element"],
        properties: [{ name: "name", type: "String", isAttr: true }, { name: "value", type: "String", isAttr: true }] }
    ].concat(BODY_TYPES.map(function (name) {
      return { name: name, superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] };
    }))
  };
  var TIMER_KINDS = ["timeDuration", "timeDate", "timeCycle"];
  var FORM_PROPERTY = "formJsonSchemaFilename";

  var hooks = window.complaintflowOwner = window.complaintflowOwner || {};
  var modeler, modeling, moddle, registry, canvas, panel;
  var markedProblems = [];

  function t(key) { return panel.getAttribute("data-t-" + key) || key; }

  function is(element, type) { return element.businessObject && element.businessObject.$instanceOf(type); }

  // ------------------------------------------------------------ extension elements

  function extensionOf(element, type) {
    var ext = element.businessObject.extensionElements;
    return ext && (ext.values || []).filter(function (v) { return v.$instanceOf(type); })[0];
  }

  // Add ``child`` to the element's extensionElements, creating them when the element has none.
  function addExtension(element, child) {
    var ext = element.businessObject.extensionElements;
    if (!ext) {
      ext = moddle.create("bpmn:ExtensionElements", { values: [child] });
      child.$parent = ext;
      modeling.updateProperties(element, { extensionElements: ext });
    } else {
      child.$parent = ext;
      modeling.updateModdleProperties(element, ext, { values: (ext.values || []).concat(child) });
    }
  }

  function formProperty(element) {
    var properties = extensionOf(element, "spiffworkflow:Properties");
    return properties && (properties.properties || []).filter(function (p) { return p.name === FORM_PROPERTY; })[0];
  }

  function setForm(element, value) {
    var found = formProperty(element);
    if (found) { modeling.updateModdleProperties(element, found, { value: value }); return; }
    var property = moddle.create("spiffworkflow:Property", { name: FORM_PROPERTY, value: value });
    var properties = extensionOf(element, "spiffworkflow:Properties");
    if (properties) {
      property.$parent = properties;
      modeling.updateModdleProperties(element, properties, { properties: (properties.properties || []).concat(property) });
    } else {
      properties = moddle.create("spiffworkflow:Properties", { properties: [property] });
      property.$parent = properties;
      addExtension(element, properties);
    }
  }

  function setDecision(element, value) {
    var found = extensionOf(element, "spiffworkflow:CalledDecisionId");
    if (found) { modeling.updateModdleProperties(element, found, { value: value }); return; }
    addExtension(element, moddle.create("spiffworkflow:CalledDecisionId", { value: value }));
  }

  // ------------------------------------------------------------ timers and conditions

  function timerOf(element) {
    return (element.businessObject.eventDefinitions || []).filter(function (d) {
      return d.$instanceOf("bpmn:TimerEventDefinition");
    })[0];
  }

  function timerKind(timer) {
    return TIMER_KINDS.filter(function (kind) { return timer.get(kind); })[0] || "timeDuration";
  }

  function setTimer(element, kind, body) {
    var timer = timerOf(element), props = {};
    TIMER_KINDS.forEach(function (k) { props[k] = undefined; });
    props[kind] = moddle.create("bpmn:FormalExpression", { body: body });
    modeling.updateModdleProperties(element, timer, props);
  }

  function isDefaultFlow(element) {
    var source = element.businessObject.sourceRef;
    return source && source.default === element.businessObject;
  }

  function setCondition(element, body) {
    var expression = body.trim() ? moddle.create("bpmn:FormalExpression", { body: body }) : undefined;
    modeling.updateProperties(element, { conditionExpression: expression });
  }

  // ------------------------------------------------------------ the panel

  function make(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // One labelled input; ``apply(value)`` runs when the value is committed (Enter or leaving the field).
  function field(label, name, value, apply, options) {
    options = options || {};
    var wrapper = make("label", { "class": "panel-field" }, label);
    var input = make(options.multiline ? "textarea" : "input", { name: name, autocomplete: "off", spellcheck: "false" });
    if (options.list) { input.setAttribute("list", options.list); }
    if (options.multiline) { input.setAttribute("rows", "3"); }
    input.value = value || "";
    input.addEventListener("change", function () { apply(input.value); });
    wrapper.appendChild(input);
    if (options.help) { wrapper.appendChild(make("small", { "class": "muted" }, options.help)); }
    return wrapper;
  }

  function render(element) {
    panel.textContent = "";
    if (element && element.type === "label") { element = element.labelTarget; }
    panel.removeAttribute("data-element");
    if (!element) { panel.appendChild(make("p", { "class": "muted" }, t("nothing"))); return; }
    var bo = element.businessObject;
    panel.setAttribute("data-element", element.id);
    var facts = make("dl", { "class": "facts" });
    facts.appendChild(make("dt", {}, t("id")));
    facts.appendChild(make("dd", {}, element.id));
    facts.appendChild(make("dt", {}, t("type")));
    facts.appendChild(make("dd", {}, element.type.replace("bpmn:", "")));
    panel.appendChild(facts);

    if (is(element, "bpmn:Lane")) {
      panel.appendChild(field(t("role"), "role", bo.name, function (v) {
        modeling.updateProperties(element, { name: v.trim() });
      }, { list: "roles" }));
      return;
    }
    if (!is(element, "bpmn:Process") && !is(element, "bpmn:Collaboration")) {
      panel.appendChild(field(t("name"), "name", bo.name, function (v) { modeling.updateProperties(element, { name: v }); }));
    }
    var timer = timerOf(element);
    if (timer) {
      var kind = timerKind(timer), expression = timer.get(kind);
      var box = make("fieldset", { "class": "timer" });
      box.appendChild(make("legend", {}, t("timer")));
      var kindLabel = make("label", { "class": "panel-field" }, t("timer-kind"));
      var select = make("select", { name: "timer_kind" });
      TIMER_KINDS.forEach(function (k) {
        var option = make("option", { value: k }, t(k.replace(/[A-Z]/g, function (c) { return "-" + c.toLowerCase(); })));
        option.selected = k === kind;
        select.appendChild(option);
      });
      kindLabel.appendChild(select);
      box.appendChild(kindLabel);
      var exprField = field(t("expression"), "timer_expression", expression && expression.body, function (v) {
        setTimer(element, select.value, v.trim());
      }, { help: t("timer-help") });
      select.addEventListener("change", function () { setTimer(element, select.value, exprField.querySelector("input").value.trim()); });
      box.appendChild(exprField);
      panel.appendChild(box);
    }
    if (is(element, "bpmn:SequenceFlow")) {
      if (isDefaultFlow(element)) {
        panel.appendChild(make("p", { "class": "muted" }, t("default-flow")));
      } else if (bo.conditionExpression || is(element.source, "bpmn:Gateway")) {
        panel.appendChild(field(t("condition"), "condition", bo.conditionExpression && bo.conditionExpression.body,
          function (v) { setCondition(element, v); }, { multiline: true, help: t("condition-help") }));
      }
    }
    if (is(element, "bpmn:BusinessRuleTask")) {
      var decision = extensionOf(element, "spiffworkflow:CalledDecisionId");
      panel.appendChild(field(t("decision"), "called_decision", decision && decision.value,
        function (v) { setDecision(element, v.trim()); }, { list: "decisions" }));
    }
    if (is(element, "bpmn:UserTask") || formProperty(element)) {
      var form = formProperty(element);
      panel.appendChild(field(t("form"), "form_file", form && form.value,
        function (v) { setForm(element, v.trim()); }, { list: "forms" }));
    }
  }

  // ------------------------------------------------------------ finding, problems, saving

  function focus(id) {
    var element = registry.get(id);
    if (!element) { return; }
    canvas.zoom(1);
    canvas.scrollToElement(element, { top: 200, bottom: 200, left: 300, right: 300 });
    modeler.get("selection").select(element);
  }

  function showProblems(problems) {
    markedProblems.forEach(function (id) { if (registry.get(id)) { canvas.removeMarker(id, "problem"); } });
    markedProblems = [];
    problems.forEach(function (problem) {
      var id = problem.element && problem.element.split(" ")[0];
      if (id && registry.get(id)) {
        canvas.addMarker(id, "problem");
        markedProblems.push(id);
      }
    });
    if (markedProblems.length) { focus(markedProblems[0]); }
  }

  function fillFindList() {
    var list = document.getElementById("element-ids");
    list.textContent = "";
    registry.filter(function (e) { return e.type !== "label" && e.businessObject && e.businessObject.id; })
      .forEach(function (e) {
        list.appendChild(make("option", { value: e.id }, (e.businessObject.name || "").replace(/\s+/g, " ")));
      });
  }

  function download() {
    modeler.saveXML({ format: true }).then(function (result) {
      var link = make("a", { download: document.getElementById("modeler").getAttribute("data-file").split("/").pop() });
      link.href = URL.createObjectURL(new Blob([result.xml], { type: "application/xml" }));
      link.click();
      URL.revokeObjectURL(link.href);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var page = document.getElementById("modeler");
    panel = document.getElementById("element-panel");
    // bpmn-js's own texts (palette, context pad) in the person's language; "{element}" filled in as bpmn-js does.
    var words = JSON.parse(panel.getAttribute("data-bpmn-words") || "{}");
    function translate(template, replacements) {
      var text = Object.prototype.hasOwnProperty.call(words, template) ? words[template] : template;
      return text.replace(/{([^}]+)}/g, function (all, key) {
        return replacements && key in replacements ? replacements[key] : all;
      });
    }
    modeler = new window.BpmnJS({ container: "#canvas", moddleExtensions: { spiffworkflow: SPIFF },
                                  additionalModules: [{ translate: ["value", translate] }] });
    modeling = modeler.get("modeling");
    moddle = modeler.get("moddle");
    registry = modeler.get("elementRegistry");
    canvas = modeler.get("canvas");
    window.complaintflowModeler = modeler;

    hooks.collect = function () {
      return modeler.saveXML({ format: true }).then(function (result) {
        var files = {};
        files[page.getAttribute("data-file")] = result.xml;
        return files;
      });
    };
    hooks.showProblems = showProblems;
    hooks.focus = focus;

    var selected = null;
    modeler.on("selection.changed", function (event) {
      selected = event.newSelection.length === 1 ? event.newSelection[0] : null;
      render(selected);
    });
    modeler.on("commandStack.changed", function () {
      hooks.dirty = true;
      // Undo/redo change what the panel shows; do not pull the field from under someone typing.
      if (!panel.contains(document.activeElement)) { render(selected && registry.get(selected.id) ? selected : null); }
    });
    modeler.on("elements.changed", function () { fillFindList(); });
    document.getElementById("find-element").addEventListener("change", function (event) {
      focus(event.target.value.split(" ")[0]);
    });
    document.getElementById("fit").addEventListener("click", function () { canvas.zoom("fit-viewport"); });
    document.getElementById("download").addEventListener("click", download);

    fetch(page.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.text();
      })
      .then(function (xml) { return modeler.importXML(xml); })
      .then(function (result) {
        if (result.warnings && result.warnings.length) { console.warn("bpmn-js import warnings", result.warnings); }
        canvas.zoom("fit-viewport");
        fillFindList();
        render(null);
        page.setAttribute("data-loaded", "1");
      })
      .catch(function (error) {
        panel.textContent = "";
        panel.appendChild(make("p", { "class": "flash error" }, t("load-failed") + " " + error));
      });
  });
})();
