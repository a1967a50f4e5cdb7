// resque web: confirmations, in-place retry and live mode. No dependencies.
(function () {
  "use strict";
  var body = document.body;
  var root = body.getAttribute("data-root") || "";

  // Ask before destructive actions (buttons carry data-confirm).
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    var form = event.target;
    if (!event.defaultPrevented && form.classList.contains("retry") && window.fetch) {
      event.preventDefault();
      retry(form);
    }
  });

  // Retry one failure without leaving the page; fall back to a normal POST.
  function retry(form) {
    var data = new URLSearchParams(new FormData(form));
    // form.action is shadowed by the input named "action": read the attribute
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest", "Accept": "application/json" }
    }).then(function (resp) {
      if (!resp.ok) { throw new Error("HTTP " + resp.status); }
      return resp.json();
    }).then(function (result) {
      var span = document.createElement("span");
      span.className = "retried-at";
      span.appendChild(document.createTextNode("Retried "));
      var b = document.createElement("b");
      b.textContent = result.retried_at;
      span.appendChild(b);
      form.replaceWith(span);
    }).catch(function () {
      form.classList.remove("retry");
      form.submit();
    });
  }

  // Live mode: refresh #main every few seconds while the toggle is on.
  var toggle = document.getElementById("live-toggle");
  if (!toggle || !body.hasAttribute("data-live")) { return; }
  var status = document.getElementById("live-status");
  var interval = parseInt(body.getAttribute("data-poll-ms"), 10) || 2000;
  var timer = null;
  var busy = false;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function refresh() {
    if (busy) { return; }  // a slow answer must not pile requests up
    busy = true;
    var url = new URL(window.location.href);
    url.searchParams.set("partial", "1");
    fetch(url.toString(), { credentials: "same-origin", headers: { "X-Requested-With": "XMLHttpRequest" } })
      .then(function (resp) {
        if (resp.status === 401) { window.location.href = root + "/"; return null; }
        if (!resp.ok) { throw new Error("HTTP " + resp.status); }
        return resp.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        document.getElementById("main").innerHTML = html;
        var now = new Date();
        status.textContent = "Last updated " + pad(now.getHours()) + ":" + pad(now.getMinutes()) + ":" + pad(now.getSeconds());
      })
      .catch(function (err) { status.textContent = "Update failed (" + err.message + ")"; })
      .finally(function () { busy = false; });
  }

  function set(on) {
    toggle.setAttribute("aria-pressed", on ? "true" : "false");
    toggle.textContent = on ? "Live: on" : "Live: off";
    try { window.localStorage.setItem("resque-live", on ? "1" : "0"); } catch (e) { /* private mode */ }
    if (timer) { window.clearInterval(timer); timer = null; }
    if (on) { timer = window.setInterval(refresh, interval); refresh(); } else { status.textContent = ""; }
  }

  toggle.addEventListener("click", function () { set(toggle.getAttribute("aria-pressed") !== "true"); });
  var saved = null;
  try { saved = window.localStorage.getItem("resque-live"); } catch (e) { /* private mode */ }
  if (saved === "1") { set(true); }
})();
