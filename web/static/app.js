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

  // Keys on the task page: c claims the step, s goes to its first field (a step without fields: done, once
  // confirmed), S submits the form once confirmed, Esc goes back to the inbox, ? shows or hides the keys.
  // Returns whether the key was one of them.
  function taskKey(event) {
    var page = document.getElementById("task-keys");
    if (!page) { return false; }
    var form = document.querySelector("form.task-form");
    var fields = form ? Array.prototype.slice.call(form.querySelectorAll(
      "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])")).filter(function (el) {
      return el.offsetParent !== null && el.name !== "then"; }) : [];
    function submit() {
      if (!form || !window.confirm(form.getAttribute("data-confirm-submit"))) { return; }
      var button = form.querySelector(".buttons button[type=submit]:not([disabled]):not(.decision)");
      if (button) { button.click(); }
    }
    if (event.key === "c") {
      var claim = document.querySelector("form.claim button[type=submit]");
      if (claim) { claim.click(); }
    } else if (event.key === "s") {
      if (fields.length) { fields[0].focus(); } else { submit(); }
    } else if (event.key === "S") {
      submit();
    } else if (event.key === "Escape") {
      window.location.href = page.getAttribute("data-inbox");
    } else if (event.key === "?") {
      var help = document.getElementById("task-keys-help");
      help.hidden = !help.hidden;
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }

  // Keys in the inbox and on the board: j / k move down / up the rows, o opens the step, c claims it.
  // Never while typing in a field, never with a modifier key.
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#tasks tbody tr[data-task], #board tbody tr[data-task]")); }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || !target || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(target.tagName) ||
        target.isContentEditable) { return; }
    if (taskKey(event)) { return; }
    var all = rows();
    if (!all.length) { return; }
    var at = all.findIndex(function (row) { return row.classList.contains("selected"); });
    if (event.key === "j" || event.key === "k") {
      var next = at < 0 ? 0 : Math.max(0, Math.min(all.length - 1, at + (event.key === "j" ? 1 : -1)));
      all.forEach(function (row) { row.classList.remove("selected"); row.removeAttribute("aria-selected"); });
      all[next].classList.add("selected");
      all[next].setAttribute("aria-selected", "true");
      all[next].scrollIntoView({ block: "nearest" });
      event.preventDefault();
    } else if (at >= 0 && event.key === "o") {
      var link = all[at].querySelector("a[href^='/tasks/']");
      if (link) { window.location.href = link.getAttribute("href"); event.preventDefault(); }
    } else if (at >= 0 && event.key === "c") {
      var claim = all[at].querySelector("form[action$='/claim'] button[type=submit]");
      if (claim) { claim.click(); event.preventDefault(); }
    }
  });

  // The session: a warning two minutes before the idle timeout ends it (with "stay signed in"), and a
  // clear word once it has ended, instead of a refresh that silently stops.
  var sessionTimer = null;
  function banner(id, text, action, onAction) {
    var old = document.getElementById(id);
    if (old) { old.remove(); }
    var box = document.createElement("p");
    box.id = id;
    box.className = "flash session-banner";
    box.setAttribute("role", "alert");
    box.textContent = text + " ";
    if (action) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = action;
      button.addEventListener("click", onAction);
      box.appendChild(button);
    }
    var main = document.getElementById("main") || document.body;
    main.insertBefore(box, main.firstChild);
    return box;
  }
  function signedOut() {
    if (document.getElementById("session-ended")) { return; }
    banner("session-ended", t("ended", "You were signed out."), t("signin", "Sign in"), function () {
      window.location.href = body.getAttribute("data-login-url") + "?next=" +
        encodeURIComponent(window.location.pathname + window.location.search);
    });
  }
  function watchSession() {
    var seconds = parseInt(body.getAttribute("data-session-seconds") || "0", 10);
    if (!seconds) { return; }
    if (sessionTimer) { clearTimeout(sessionTimer); }
    sessionTimer = setTimeout(function () {
      banner("session-ending", t("ending", "Your session ends in 2 minutes."), t("stay", "Stay signed in"), function () {
        fetch(body.getAttribute("data-alive-url"), { credentials: "same-origin" }).then(function (response) {
          var box = document.getElementById("session-ending");
          if (box) { box.remove(); }
          if (!response.ok || response.redirected) { signedOut(); } else { watchSession(); }
        });
      });
      sessionTimer = setTimeout(signedOut, 120000);
    }, Math.max(0, seconds - 120) * 1000);
  }
  window.complaintflowSignedOut = signedOut;

  // What a person types in a form is kept in this tab until the step is done, so a session that ended
  // (or a server restart) loses nothing: back on the page after signing in, the form is filled again.
  function keepTyping(form) {
    var key = "cf-form:" + window.location.pathname;
    var saved = null;
    try { saved = JSON.parse(window.sessionStorage.getItem(key) || "null"); } catch (e) { saved = null; }
    var restored = false;
    if (saved && !form.querySelector(".field-error")) {
      Object.keys(saved).forEach(function (name) {
        form.querySelectorAll("[name='" + name.replace(/'/g, "") + "']").forEach(function (input) {
          if (input.type === "checkbox" || input.type === "radio") {
            var values = [].concat(saved[name]);
            if (values.indexOf(input.value) >= 0 && !input.checked) { input.checked = true; restored = true; }
          } else if (input.type !== "hidden" && !input.value && saved[name]) {
            input.value = saved[name]; restored = true;
          }
        });
      });
      if (restored) { banner("form-restored", t("restored", "What you typed before is back in the form.")); }
    }
    function save() {
      var values = {};
      form.querySelectorAll("input[name], textarea[name], select[name]").forEach(function (input) {
        if (input.type === "hidden" || input.type === "password" || input.type === "file") { return; }
        if (input.type === "checkbox" || input.type === "radio") {
          if (input.checked) { values[input.name] = [].concat(values[input.name] || [], [input.value]); }
        } else if (input.value) { values[input.name] = input.value; }
      });
      try { window.sessionStorage.setItem(key, JSON.stringify(values)); } catch (e) { /* storage full or off */ }
    }
    form.addEventListener("input", save);
    form.addEventListener("change", save);
  }

  // A reply template chosen above a text field goes into it (after what is there), to be adapted.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.classList || !select.classList.contains("reply-templates") || !select.value) { return; }
    var field = document.getElementById(select.getAttribute("data-insert-into"));
    if (field) {
      field.value = field.value ? field.value.replace(/\s+$/, "") + "\n" + select.value : select.value;
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.focus();
    }
    select.value = "";
  });

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
        if (response.redirected || response.status === 401) { signedOut(); }
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
    watchSession();
    document.querySelectorAll("form.task-form, form.register-form").forEach(keepTyping);
    // A form no longer on the page (its step done): forget what was typed for it.
    if (!document.querySelector("form.task-form, form.register-form")) {
      try { window.sessionStorage.removeItem("cf-form:" + window.location.pathname); } catch (e) { /* off */ }
    }
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
