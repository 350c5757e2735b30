// complaintflow pages: countdowns to deadlines and the inbox's self-refreshing table.
(function () {
  var body = document.body;
  // The server's "now" (a manual clock in demos) against this browser's clock.
  var skew = 0;

  function t(key, fallback) { return (body && body.getAttribute("data-t-" + key)) || fallback; }

  function render(el) {
    var due = Date.parse(el.getAttribute("data-due"));
    if (isNaN(due)) { return; }
    var left = Math.round((due - (Date.now() + skew)) / 60000);
    var m = Math.abs(left), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), min = m % 60;
    var text = (d ? d + t("d", "d") + " " : "") + (d || h ? h + t("h", "h") + " " : "") + min + t("m", "m");
    el.textContent = (left < 0 ? t("overdue", "overdue by {time}") : t("left", "{time} left")).replace("{time}", text);
    el.classList.toggle("overdue-badge", left < 0);
    var row = el.closest("tr");
    if (row && left < 0 && row.closest("#tasks")) { row.classList.add("overdue"); }
  }

  function tick() { document.querySelectorAll("[data-due]").forEach(render); }

  // Replace only the table: the filter form and anything typed there stay as they are.
  function refresh(box) {
    var url = box.getAttribute("data-refresh");
    var active = document.activeElement;
    if (active && box.contains(active)) { return; }  // someone is using the table right now
    fetch(url, { credentials: "same-origin", headers: { "X-Auto-Refresh": "1" } })
      .then(function (response) {
        if (!response.ok || response.redirected) { throw new Error("refresh " + response.status); }
        return response.text();
      })
      .then(function (html) { box.innerHTML = html; tick(); })
      .catch(function () { box.setAttribute("data-refresh-failed", "1"); });
  }

  // The header's unread notices: polled like the inbox, without counting as activity.
  function unread(link) {
    fetch(link.getAttribute("data-unread-url"), { credentials: "same-origin", headers: { "X-Auto-Refresh": "1" } })
      .then(function (response) {
        if (!response.ok || response.redirected) { throw new Error("unread " + response.status); }
        return response.json();
      })
      .then(function (data) {
        var badge = link.querySelector(".unread-count");
        badge.textContent = String(data.unread);
        badge.hidden = !data.unread;
      })
      .catch(function () { link.setAttribute("data-refresh-failed", "1"); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    body = document.body;
    var notices = document.getElementById("notices-link");
    if (notices) {
      var every = parseInt(notices.getAttribute("data-refresh-seconds") || "15", 10);
      setInterval(function () { unread(notices); }, every * 1000);
    }
    var serverNow = Date.parse(body.getAttribute("data-server-now") || "");
    if (!isNaN(serverNow)) { skew = serverNow - Date.now(); }
    tick();
    document.querySelectorAll("[data-refresh]").forEach(function (box) {
      var seconds = parseInt(box.getAttribute("data-refresh-seconds") || "30", 10);
      setInterval(function () { refresh(box); }, seconds * 1000);
    });
  });
  setInterval(tick, 30000);
  window.complaintflowCountdowns = tick;
})();
