/* The routing table, edited in place: each row's Save sends a PATCH to the JSON API; the
   delivered and in-flight columns follow the routing engine every few seconds. */
(function () {
  "use strict";
  var table = document.getElementById("routing-table");
  if (!table) return;
  var C = window.CapConduit;
  var FIELDS = ["forwarding_priority", "weight", "max_concurrency", "total_calls_allowed", "status"];
  var updated = document.getElementById("routing-updated");

  function rowOf(form) { return table.querySelector('tr[data-setting-id="' + form.id.replace("setting-", "") + '"]'); }
  function control(row, name) { return row.querySelector('[name="' + name + '"]'); }

  function showErrors(row, details, message) {
    FIELDS.forEach(function (name) {
      var input = control(row, name), slot = row.querySelector('[data-error-for="' + name + '"]');
      var messages = details && details[name];
      slot.textContent = messages ? [].concat(messages).join(" ") : "";
      if (messages) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    });
    var status = row.querySelector(".row-status");
    status.textContent = "";
    if (message) status.appendChild(C.h("span", { "class": message.ok ? "saved" : "field-error", text: message.text }));
    var first = row.querySelector('[aria-invalid="true"]');
    if (first) first.focus();
  }

  function value(input) {
    var text = input.value.trim();
    if (input.name === "status") return text;
    if (text === "") return input.name === "total_calls_allowed" ? null : text;
    return /^-?\d+$/.test(text) ? Number(text) : text;  // anything else: the API says what is wrong
  }

  function fill(row, setting) {
    FIELDS.forEach(function (name) {
      var input = control(row, name);
      if (document.activeElement !== input) input.value = setting[name] === null ? "" : setting[name];
    });
    row.querySelector('[data-col="current_total_calls"]').textContent = setting.current_total_calls;
    row.querySelector(".in-flight-count").textContent = setting.in_flight;
    row.querySelector(".in-flight-cap").textContent = setting.max_concurrency;
    row.classList.toggle("is-inactive", setting.status !== "active");
  }

  table.querySelectorAll("form.setting-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var row = rowOf(form), body = {};
      FIELDS.forEach(function (name) { body[name] = value(control(row, name)); });
      var button = form.querySelector("button");
      button.disabled = true;
      C.fetchJSON(row.getAttribute("data-url"), { method: "PATCH", body: body }).then(function (result) {
        if (result.status === 200) {
          fill(row, result.body);
          showErrors(row, null, { ok: true, text: "Saved" });
        } else if (result.status === 401) {
          window.location.reload();
        } else {
          var error = (result.body && result.body.error) || {};
          var onFields = FIELDS.some(function (name) { return error.details && error.details[name]; });
          showErrors(row, error.details, { ok: false, text: onFields ? "Not saved: see the message above."
                                                                      : error.message || "Not saved (error " + result.status + ")." });
        }
      }).catch(function () {
        showErrors(row, null, { ok: false, text: "Not saved: cannot reach the server." });
      }).then(function () { button.disabled = false; });
    });
  });

  function refresh() {
    return C.fetchJSON(table.getAttribute("data-api") + "?per_page=100").then(function (result) {
      if (result.status !== 200) return;
      result.body.items.forEach(function (setting) {
        var row = table.querySelector('tr[data-setting-id="' + setting.id + '"]');
        if (!row) return;
        row.querySelector('[data-col="current_total_calls"]').textContent = setting.current_total_calls;
        row.querySelector(".in-flight-count").textContent = setting.in_flight;
      });
      updated.textContent = "Live counters, updated " + new Date().toLocaleTimeString([], { hour12: false });
    });
  }
  C.poll(refresh, 5);
})();
