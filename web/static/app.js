// Countdowns to deadlines: every element with data-due (ISO time) shows the time left.
(function () {
  function render(el) {
    var due = Date.parse(el.getAttribute("data-due"));
    var left = Math.round((due - Date.now()) / 60000);
    var sign = left < 0 ? "-" : "";
    var m = Math.abs(left), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), min = m % 60;
    el.textContent = sign + (d ? d + "d " : "") + (d || h ? h + "h " : "") + min + "m";
    el.classList.toggle("overdue-badge", left < 0);
  }
  function tick() { document.querySelectorAll("[data-due]").forEach(render); }
  document.addEventListener("DOMContentLoaded", tick);
  setInterval(tick, 30000);
  window.complaintflowCountdowns = tick;
})();
