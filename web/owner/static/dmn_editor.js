// Decision tables edited as tables (dmn-js), saved back into the XML the deploy sends.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.getElementById("dmn-editor");
    var source = document.getElementById("source");
    var hooks = window.complaintflowOwner = window.complaintflowOwner || {};
    if (!holder || !source || !window.DmnJS) { return; }
    var here = source.getAttribute("data-file");
    var modeler = new window.DmnJS({ container: holder, common: { keyboard: { bindTo: window } } });
    modeler.importXML(source.value).then(function () {
      var table = modeler.getViews().filter(function (view) { return view.type === "decisionTable"; })[0];
      return table ? modeler.open(table) : null;
    }).then(function () {
      var viewer = modeler.getActiveViewer();
      if (viewer) { viewer.on("commandStack.changed", function () { hooks.dirty = true; }); }
      holder.setAttribute("data-loaded", "true");
      hooks.collect = function () {
        return modeler.saveXML({ format: true }).then(function (saved) {
          source.value = saved.xml;
          var files = {};
          files[here] = saved.xml;
          return files;
        });
      };
    }).catch(function () {
      holder.textContent = holder.getAttribute("data-error");
      holder.setAttribute("data-loaded", "error");
    });
  });
})();
