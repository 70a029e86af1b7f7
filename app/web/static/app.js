/* CapConduit pages: small shared helpers (no library). */
(function () {
  "use strict";

  // The viewer's time zone, so that server-rendered times and "today" are local.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) {
      document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (e) { /* UTC then */ }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* h("td", {class: "num"}, "text", childNode…): elements with text set safely. */
  function h(tag, attrs) {
    var node = document.createElementNS(
      tag === "svg" || h.svgTags.indexOf(tag) >= 0 ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  h.svgTags = ["g", "rect", "line", "text", "title", "desc", "path"];

  /* fetch() with JSON in and out, the session cookie and the CSRF token. */
  function fetchJSON(url, options) {
    options = options || {};
    var headers = { "Accept": "application/json", "X-CSRFToken": csrfToken() };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: options.method || "GET",
      headers: headers,
      credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body)
    }).then(function (response) {
      if (response.status === 204) return { status: 204, body: null };
      return response.json().then(function (body) { return { status: response.status, body: body }; },
                                   function () { return { status: response.status, body: null }; });
    });
  }

  function formatSeconds(value) {
    value = Math.round(value || 0);
    var hours = Math.floor(value / 3600), minutes = Math.floor((value % 3600) / 60), secs = value % 60;
    var mm = (hours ? String(minutes).padStart(2, "0") : String(minutes)), ss = String(secs).padStart(2, "0");
    return hours ? hours + ":" + mm + ":" + ss : mm + ":" + ss;
  }

  /* An amount as 1,234.50 (the server's `money` filter writes the same). */
  function formatMoney(value) {
    if (value === null || value === undefined || value === "") return "—";
    return Number(value).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  /* Repeats `task` every `seconds` while the page is visible and `isOn()` says so. */
  function poll(task, seconds, isOn) {
    var timer = null;
    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(run, seconds * 1000);
    }
    function run() {
      if (document.hidden || (isOn && !isOn())) { schedule(); return; }
      Promise.resolve(task()).catch(function () {}).then(schedule);
    }
    document.addEventListener("visibilitychange", function () { if (!document.hidden) run(); });
    schedule();
    return { now: run };
  }

  window.CapConduit = { h: h, fetchJSON: fetchJSON, csrfToken: csrfToken, formatSeconds: formatSeconds, formatMoney: formatMoney, poll: poll };

  document.addEventListener("DOMContentLoaded", function () {
    // The menu button on narrow screens.
    var toggle = document.querySelector(".nav-toggle");
    var nav = document.getElementById("site-nav");
    if (toggle && nav) {
      document.documentElement.classList.add("js");
      toggle.addEventListener("click", function () {
        var open = toggle.getAttribute("aria-expanded") !== "true";
        toggle.setAttribute("aria-expanded", String(open));
        nav.classList.toggle("open", open);
      });
    }
    // Forms that ask before they do something that cannot be undone.
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
    // Move focus to the first field with an error, so keyboard and screen-reader users land there.
    var invalid = document.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
  });
})();
