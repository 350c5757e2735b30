// The case page's diagram: the version the case runs on, with the path it took marked; below it the
// stage (called process) the case is in now, with its own steps marked.
(function () {
  function draw(holder, found, withTools) {
    var viewer = new window.BpmnJS({ container: holder });
    return viewer.importXML(found.xml).then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      function mark(ids, css) {
        ids.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, css); } });
      }
      mark(found.done, "cf-done");
      mark(found.current, "cf-current");
      mark(found.overdue, "cf-overdue");
      canvas.zoom("fit-viewport");
      if (withTools) {
        tools(canvas, registry, found.current || []);
        if ((found.current || []).length) { focus(canvas, registry, found.current); }
      }
      holder.setAttribute("data-loaded", "true");
    });
  }
  function show(holder) {
    fetch(holder.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(function (found) {
        return draw(holder, found, true).then(function () {
          var stage = document.getElementById("case-stage");
          if (!found.stage || !stage) { return null; }
          stage.hidden = false;
          stage.querySelector(".stage-name").textContent = found.stage.name;
          return draw(stage.querySelector(".case-diagram"), found.stage, false);
        });
      })
      .catch(function () {
        holder.textContent = holder.getAttribute("data-error");
        holder.setAttribute("data-loaded", "error");
      });
  }
  // Show the steps under way at a readable size (never smaller than the whole diagram fitted).
  function focus(canvas, registry, ids) {
    var boxes = ids.map(function (id) { return registry.get(id); }).filter(Boolean);
    if (!boxes.length) { return false; }
    var left = Math.min.apply(null, boxes.map(function (b) { return b.x; }));
    var top = Math.min.apply(null, boxes.map(function (b) { return b.y; }));
    var right = Math.max.apply(null, boxes.map(function (b) { return b.x + (b.width || 0); }));
    var bottom = Math.max.apply(null, boxes.map(function (b) { return b.y + (b.height || 0); }));
    var pad = 160;
    canvas.viewbox({ x: left - pad, y: top - pad, width: right - left + 2 * pad, height: bottom - top + 2 * pad });
    return true;
  }

  function tools(canvas, registry, current) {
    document.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        var how = button.getAttribute("data-zoom");
        if (how === "in") { canvas.zoom(canvas.zoom() * 1.25); }
        else if (how === "out") { canvas.zoom(canvas.zoom() / 1.25); }
        else if (how === "current" && focus(canvas, registry, current)) { /* focused */ }
        else { canvas.zoom("fit-viewport"); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.getElementById("case-diagram");
    if (holder && window.BpmnJS) { show(holder); }
  });
})();
