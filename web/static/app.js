// complaintflow pages: countdowns to deadlines and the inbox's self-refreshing table.
(function () {
  var body = document.body;
  // The server's "now" (a manual clock in demos) against this browser's clock.
  var skew = 0;

  function t(key, fallback) { return (body && body.getAttribute("data-t-" + key)) || fallback; }

  // Days and hours for far deadlines, hours and minutes for near ones: "5 d 3 h", "2 h 10 min".
  function span(minutes) {
    var m = Math.abs(minutes), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), min = m % 60;
    if (d) { return d + t("d", "d") + (h ? " " + h + t("h", "h") : ""); }
    return (h ? h + t("h", "h") + " " : "") + min + t("m", "m");
  }

  // A planned wait (data-until) counts down but is never overdue: the process goes on by itself.
  function renderWait(el) {
    var until = Date.parse(el.getAttribute("data-until"));
    if (isNaN(until)) { return; }
    var left = Math.round((until - (Date.now() + skew)) / 60000);
    el.textContent = left > 0 ? t("in", "in {time}").replace("{time}", span(left)) : t("soon", "any moment now");
  }

  function render(el) {
    var due = Date.parse(el.getAttribute("data-due"));
    if (isNaN(due)) { return; }
    var left = Math.round((due - (Date.now() + skew)) / 60000);
    var text = span(left);
    el.textContent = (left < 0 ? t("overdue", "overdue by {time}") : t("left", "{time} left")).replace("{time}", text);
    el.classList.toggle("overdue-badge", left < 0);
    var row = el.closest("tr");
    if (row && left < 0 && row.closest("#tasks")) { row.classList.add("overdue"); }
  }

  // A button with data-confirm asks first (cancelling a case is for good).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
  });

  function tick() {
    document.querySelectorAll("[data-due]").forEach(render);
    document.querySelectorAll("[data-until]").forEach(renderWait);
  }

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
