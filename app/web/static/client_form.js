/* The client form: show the fields of the chosen SIP mode; codec names add to the list. */
(function () {
  "use strict";
  var form = document.getElementById("client-form");
  if (!form) return;

  function mode() {
    var checked = form.querySelector('input[name="pjsip.mode"]:checked');
    return checked ? checked.value : "static";
  }
  function showMode() {
    var current = mode();
    form.querySelectorAll(".mode-fields").forEach(function (set) {
      set.hidden = set.getAttribute("data-mode") !== current;
    });
  }
  form.querySelectorAll('input[name="pjsip.mode"]').forEach(function (radio) {
    radio.addEventListener("change", showMode);
  });
  showMode();

  var outbound = form.querySelector('input[type="checkbox"][name="pjsip.outbound_auth"]');
  var outboundFields = document.getElementById("outbound-auth");
  function showOutbound() {
    if (outbound && outboundFields) outboundFields.hidden = !outbound.checked;
  }
  if (outbound) outbound.addEventListener("change", showOutbound);
  showOutbound();

  var codecs = form.querySelector("[data-codec-input]");
  form.querySelectorAll("button[data-codec]").forEach(function (button) {
    button.addEventListener("click", function () {
      var names = codecs.value.split(/[\s,;]+/).filter(Boolean);
      var name = button.getAttribute("data-codec");
      if (names.indexOf(name) < 0) names.push(name);
      codecs.value = names.join(", ");
      codecs.dispatchEvent(new Event("input"));
    });
  });
})();
