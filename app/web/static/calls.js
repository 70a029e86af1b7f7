/* The call log: rows expand to their attempts; the first page refreshes itself. */
(function () {
  "use strict";
  var table = document.getElementById("calls");
  if (!table) return;
  var body = document.getElementById("call-rows");
  var live = document.getElementById("calls-live");
  var updated = document.getElementById("calls-updated");

  function setOpen(button, open) {
    var row = document.getElementById(button.getAttribute("aria-controls"));
    button.setAttribute("aria-expanded", String(open));
    if (!row) return;
    row.hidden = !open;
    if (open) loadDetail(row);
  }

  // A row's billing, attempts and decision come from the server when it is first opened.
  function loadDetail(row) {
    var placeholder = row.querySelector(".call-detail[data-detail-url]");
    if (!placeholder || placeholder.getAttribute("data-loading")) return;
    placeholder.setAttribute("data-loading", "1");
    fetch(placeholder.getAttribute("data-detail-url"),
          { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401 || response.redirected) { window.location.reload(); return null; }
        if (!response.ok) throw new Error("status " + response.status);
        return response.text();
      })
      .then(function (html) {
        // Our own server-rendered fragment (escaped by the template).
        if (html !== null) placeholder.outerHTML = html;
      })
      .catch(function () {
        placeholder.removeAttribute("data-loading");
        placeholder.textContent = "Cannot reach the server: close and open the row again.";
      });
  }

  body.addEventListener("click", function (event) {
    var button = event.target.closest("button.expand");
    if (button) setOpen(button, button.getAttribute("aria-expanded") !== "true");
  });

  var url = table.getAttribute("data-rows-url");
  if (!url) return;

  function refresh() {
    var open = Array.prototype.map.call(body.querySelectorAll('button.expand[aria-expanded="true"]'),
                                        function (b) { return b.getAttribute("data-call-id"); });
    return fetch(url, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401 || response.redirected) { window.location.reload(); return null; }
        if (!response.ok) throw new Error("status " + response.status);
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        // Our own server-rendered rows (escaped by the template), swapped in whole.
        body.innerHTML = html;
        open.forEach(function (id) {
          var button = body.querySelector('button.expand[data-call-id="' + id + '"]');
          if (button) setOpen(button, true);
        });
        updated.textContent = "Updated " + new Date().toLocaleTimeString([], { hour12: false, timeZoneName: "short" });
      })
      .catch(function () { updated.textContent = "Cannot reach the server; retrying…"; });
  }

  var poller = window.CapConduit.poll(refresh, 5, function () { return live.checked; });
  live.addEventListener("change", function () { if (live.checked) poller.now(); });
})();
