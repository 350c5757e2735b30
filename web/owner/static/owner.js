// Process owners' editors: send the edited file(s) with a note, then show the new version or the problems.
// A page may set, on window.complaintflowOwner:
//   collect()              -> Promise of {path: text} to deploy (the text editor's is set here);
//   showProblems(problems) -> mark them on the page (the modeler highlights the elements);
//   focus(elementId)       -> bring one element into view;
//   dirty                  -> true while there are changes not deployed yet.
(function () {
  "use strict";
  var hooks = window.complaintflowOwner = window.complaintflowOwner || {};

  function t(form, key) { return form.getAttribute("data-t-" + key) || key; }

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // Where a problem in another file is fixed: the modeler for diagrams, the text editor otherwise.
  function editorUrl(form, file) {
    return form.getAttribute("data-owner-url") + (/\.bpmn$/.test(file) ? "model/" : "edit/") + file;
  }

  function problemItem(form, problem, here) {
    var item = make("li", "problem");
    item.setAttribute("data-file", problem.file);
    var id = problem.element ? problem.element.split(" ")[0] : "";
    if (id) { item.setAttribute("data-element", id); }
    var where = problem.file + (problem.element ? " · " + problem.element : "");
    if (problem.file !== here) {
      var link = make("a", "", where);
      link.href = editorUrl(form, problem.file);
      item.appendChild(link);
    } else if (id && hooks.focus) {
      var button = make("button", "link", where);
      button.type = "button";
      button.addEventListener("click", function () { hooks.focus(id); });
      item.appendChild(button);
    } else {
      item.appendChild(make("strong", "", where));
    }
    item.appendChild(document.createTextNode(": " + problem.message));
    return item;
  }

  function show(form, result, status, body, here) {
    result.textContent = "";
    if (status === 201 && body.versions && body.versions.length) {
      var version = body.versions[body.versions.length - 1].version;
      form.setAttribute("data-base-version", String(version));
      hooks.dirty = false;
      if (hooks.showProblems) { hooks.showProblems([]); }
      result.className = "flash ok";
      result.setAttribute("data-deployed-version", String(version));
      result.appendChild(document.createTextNode(t(form, "deployed").replace("{version}", String(version)) + " "));
      var link = make("a", "", t(form, "see-diff"));
      link.href = form.getAttribute("data-versions-url") + "#v" + version;
      result.appendChild(link);
    } else if (status === 200 && body.unchanged) {
      result.className = "flash";
      result.textContent = t(form, "unchanged");
    } else if (status === 422 && body.problems) {
      result.className = "flash error";
      result.appendChild(make("p", "", t(form, "refused")));
      var list = make("ul", "problems");
      list.id = "problems";
      body.problems.forEach(function (problem) { list.appendChild(problemItem(form, problem, here)); });
      result.appendChild(list);
      if (hooks.showProblems) { hooks.showProblems(body.problems.filter(function (p) { return p.file === here; })); }
    } else {
      result.className = "flash error";
      result.textContent = body.message || t(form, "failed");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("deploy");
    if (!form) { return; }
    var source = document.getElementById("source");
    var here = form.getAttribute("data-file");
    if (source) {
      hooks.collect = function () {
        var files = {};
        files[here] = source.value;
        return Promise.resolve(files);
      };
      source.addEventListener("input", function () { hooks.dirty = true; });
    }
    window.addEventListener("beforeunload", function (event) {
      if (hooks.dirty) { event.preventDefault(); event.returnValue = t(form, "leave"); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var result = document.getElementById("deploy-result");
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      result.className = "";
      result.removeAttribute("data-deployed-version");
      result.textContent = t(form, "working");
      hooks.collect().then(function (files) {
        return fetch(form.getAttribute("data-url"), {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": form.getAttribute("data-csrf") },
          body: JSON.stringify({ files: files, note: form.elements.note.value,
                                 base_version: parseInt(form.getAttribute("data-base-version"), 10) })
        });
      }).then(function (response) {
        if (response.redirected) { throw new Error(response.status); }  // logged out meanwhile
        return response.json().catch(function () { return {}; }).then(function (body) {
          show(form, result, response.status, body, here);
        });
      }).catch(function () {
        result.className = "flash error";
        result.textContent = t(form, "failed");
      }).then(function () { button.disabled = false; });
    });
  });
})();
