/* The routing table, edited in place: each row's Save sends a PATCH to the JSON API; the
   delivered and in-flight columns follow the routing engine every few seconds. A row's period
   caps, buyer price and bid URL sit in a second row that its toggle opens. */
(function () {
  "use strict";
  var table = document.getElementById("routing-table");
  if (!table) return;
  var C = window.CapConduit;
  var EXTRA = ["hourly_cap", "daily_cap", "monthly_cap", "cap_counts", "buyer_price", "bid_url"];
  var FIELDS = ["forwarding_priority", "weight", "max_concurrency", "total_calls_allowed", "status"].concat(EXTRA);
  var NULLABLE = ["total_calls_allowed", "hourly_cap", "daily_cap", "monthly_cap", "buyer_price", "bid_url"];
  var TEXT = ["status", "cap_counts", "buyer_price", "bid_url"];
  var updated = document.getElementById("routing-updated");

  function settingId(form) { return form.id.replace("setting-", ""); }
  function rowOf(id) { return table.querySelector('tr[data-setting-id="' + id + '"]'); }
  function extraOf(id) { return document.getElementById("extra-" + id); }
  function control(id, name) { return table.querySelector('[form="setting-' + id + '"][name="' + name + '"]'); }
  function slot(id, name) { return document.getElementById("s" + id + "-" + name + "-error"); }

  function setOpen(id, open) {
    var button = rowOf(id).querySelector(".more-toggle");
    button.setAttribute("aria-expanded", String(open));
    extraOf(id).hidden = !open;
  }

  function money(value) { return C.formatMoney(value); }

  /* The same few words the page writes (app.web.decisions.caps_summary). */
  function summary(setting) {
    var parts = [];
    [["hourly_cap", "hour"], ["daily_cap", "day"], ["monthly_cap", "month"]].forEach(function (cap) {
      if (setting[cap[0]] !== null && setting[cap[0]] !== undefined) parts.push(setting[cap[0]] + "/" + cap[1]);
    });
    if (parts.length && setting.cap_counts === "converted") parts.push("converted");
    if (setting.bid_url) parts.push("priced by bid");
    else if (setting.buyer_price !== null && setting.buyer_price !== undefined) parts.push("price " + money(setting.buyer_price));
    return parts.length ? parts.join(" · ") : "none";
  }

  function showErrors(id, details, message) {
    var row = rowOf(id), first = null, extraError = false;
    FIELDS.forEach(function (name) {
      var input = control(id, name), messages = details && details[name];
      slot(id, name).textContent = messages ? [].concat(messages).join(" ") : "";
      if (messages) {
        input.setAttribute("aria-invalid", "true");
        if (EXTRA.indexOf(name) >= 0) extraError = true;
        if (!first) first = input;
      } else {
        input.removeAttribute("aria-invalid");
      }
    });
    if (extraError) setOpen(id, true);
    var status = row.querySelector(".row-status");
    status.textContent = "";
    if (message) status.appendChild(C.h("span", { "class": message.ok ? "saved" : "field-error", text: message.text }));
    if (first) first.focus();
  }

  function value(input) {
    var text = input.value.trim();
    if (text === "") return NULLABLE.indexOf(input.name) >= 0 ? null : text;
    if (TEXT.indexOf(input.name) >= 0) return text;
    return /^-?\d+$/.test(text) ? Number(text) : text;  // anything else: the API says what is wrong
  }

  function fill(id, setting) {
    var row = rowOf(id);
    FIELDS.forEach(function (name) {
      var input = control(id, name), current = setting[name];
      if (document.activeElement === input) return;
      if (current === null || current === undefined) input.value = "";
      else input.value = name === "buyer_price" ? Number(current).toFixed(2) : current;
    });
    row.querySelector('[data-col="current_total_calls"] .count').textContent = setting.current_total_calls;
    row.querySelector(".in-flight-count").textContent = setting.in_flight;
    row.querySelector(".in-flight-cap").textContent = setting.max_concurrency;
    row.querySelector("[data-summary]").textContent = summary(setting);
    row.classList.toggle("is-inactive", setting.status !== "active");
  }

  // Period caps: folded away unless the page opened them to show an error.
  table.querySelectorAll("tr.setting-extra").forEach(function (extra) {
    setOpen(extra.getAttribute("data-extra-for"), extra.hasAttribute("data-open"));
  });
  table.addEventListener("click", function (event) {
    var button = event.target.closest("button.more-toggle");
    if (!button) return;
    var id = button.closest("tr").getAttribute("data-setting-id");
    setOpen(id, button.getAttribute("aria-expanded") !== "true");
  });

  table.querySelectorAll("form.setting-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var id = settingId(form), row = rowOf(id), body = {};
      FIELDS.forEach(function (name) { body[name] = value(control(id, name)); });
      var button = form.querySelector("button");
      button.disabled = true;
      C.fetchJSON(row.getAttribute("data-url"), { method: "PATCH", body: body }).then(function (result) {
        if (result.status === 200) {
          fill(id, result.body);
          showErrors(id, null, { ok: true, text: "Saved" });
        } else if (result.status === 401) {
          window.location.reload();
        } else {
          var error = (result.body && result.body.error) || {};
          var onFields = FIELDS.some(function (name) { return error.details && error.details[name]; });
          showErrors(id, error.details, { ok: false, text: onFields ? "Not saved: see the message above."
                                                                   : error.message || "Not saved (error " + result.status + ")." });
        }
      }).catch(function () {
        showErrors(id, null, { ok: false, text: "Not saved: cannot reach the server." });
      }).then(function () { button.disabled = false; });
    });
  });

  function refresh() {
    return C.fetchJSON(table.getAttribute("data-api") + "?per_page=100").then(function (result) {
      if (result.status !== 200) return;
      result.body.items.forEach(function (setting) {
        var row = rowOf(setting.id);
        if (!row) return;
        row.querySelector('[data-col="current_total_calls"] .count').textContent = setting.current_total_calls;
        row.querySelector(".in-flight-count").textContent = setting.in_flight;
      });
      updated.textContent = "Live counters, updated " + new Date().toLocaleTimeString([], { hour12: false, timeZoneName: "short" });
    });
  }
  C.poll(refresh, 5);
})();

/* "Where would a call go?": the form posts in place and the server's answer is swapped in. */
(function () {
  "use strict";
  var card = document.querySelector("[data-simulate]");
  if (!card) return;

  card.addEventListener("submit", function (event) {
    var form = event.target.closest("#simulate-form");
    if (!form) return;
    event.preventDefault();
    var button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    var url = form.getAttribute("action") + (form.getAttribute("action").indexOf("?") < 0 ? "?" : "&") + "part=result";
    fetch(url, { method: "POST", body: new FormData(form), credentials: "same-origin",
                 headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 401 || response.redirected) { window.location.reload(); return null; }
        if (response.status !== 200 && response.status !== 422) throw new Error("status " + response.status);
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        // Our own server-rendered form and answer (escaped by the template), swapped in whole.
        card.innerHTML = html;
        var invalid = card.querySelector('[aria-invalid="true"]');
        (invalid || card.querySelector("#simulation")).focus();
      })
      .catch(function () {
        button.disabled = false;
        var box = card.querySelector("#simulation");
        box.textContent = "";
        box.appendChild(window.CapConduit.h("p", { "class": "field-error", text: "Cannot reach the server; try again." }));
        box.focus();
      });
  });
})();
