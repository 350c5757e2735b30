// The case page's diagram: the version the case runs on, with the path it took marked; below it the
// stage (called process) the case is in now, with its own steps marked.
(function () {
  function draw(holder, found) {
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
      holder.setAttribute("data-loaded", "true");
    });
  }
  function show(holder) {
    fetch(holder.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(function (found) {
        return draw(holder, found).then(function () {
          var stage = document.getElementById("case-stage");
          if (!found.stage || !stage) { return null; }
          stage.hidden = false;
          stage.querySelector(".stage-name").textContent = found.stage.name;
          return draw(stage.querySelector(".case-diagram"), found.stage);
        });
      })
      .catch(function () {
        holder.textContent = holder.getAttribute("data-error");
        holder.setAttribute("data-loaded", "error");
      });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.getElementById("case-diagram");
    if (holder && window.BpmnJS) { show(holder); }
  });
})();
