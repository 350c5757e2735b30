// The case page's diagram: the version the case runs on, with the path it took marked.
(function () {
  function show(holder) {
    fetch(holder.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(function (found) {
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
