// The statistics page's charts: each canvas carries its figures in data-chart (labels, values, and the
// link to the cases behind each bar); Chart.js draws them, a click on a bar or slice opens its cases.
(function () {
  var COLOURS = ["#2f6fb0", "#e07b39", "#3a9d5d", "#c94f4f", "#8a63b8", "#b8963a", "#4fa3b8", "#7a7a7a"];
  function draw(canvas) {
    var spec = JSON.parse(canvas.getAttribute("data-chart"));
    var round = spec.type === "doughnut";
    var chart = new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: [{ label: spec.title, data: spec.values,
                     backgroundColor: round ? COLOURS : COLOURS[0] }]
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: round } },
        onClick: function (event, elements) {
          if (elements.length && spec.links[elements[0].index]) {
            window.location.href = spec.links[elements[0].index];
          }
        }
      }
    });
    canvas.setAttribute("data-rendered", String(chart.data.datasets[0].data.length));
  }
  function start() {
    if (!window.Chart) { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
    var print = document.getElementById("print-page");
    if (print) { print.addEventListener("click", function () { window.print(); }); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
