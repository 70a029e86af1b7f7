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

/* Hours of operation: intervals per weekday added and removed in place, Monday copied to the
   other weekdays; without JavaScript each day still offers one empty row per save. */
(function () {
  "use strict";
  var form = document.getElementById("client-form");
  var days = document.getElementById("schedule-days");
  if (!form || !days) return;
  var status = document.getElementById("schedule-status");

  function rows(day) { return Array.prototype.slice.call(day.querySelectorAll("li.interval")); }
  function isBlank(li) {
    return Array.prototype.every.call(li.querySelectorAll("input"), function (input) { return !input.value.trim(); });
  }
  /* Ids, labels and button names follow each row's place in its day. */
  function renumber(day) {
    var key = day.getAttribute("data-day"), label = day.getAttribute("data-day-label");
    rows(day).forEach(function (li, index) {
      var n = index + 1;
      ["from", "to"].forEach(function (side) {
        var input = li.querySelector('input[name$=".' + side + '"]');
        var id = "sch-" + key + "-" + n + "-" + side;
        var tag = li.querySelector('label[for="' + input.id + '"]');
        input.id = id;
        tag.setAttribute("for", id);
        tag.querySelector(".visually-hidden").textContent = label + ", hours " + n + ", ";
      });
      li.querySelector("[data-remove-interval] .visually-hidden").textContent = " " + label + " hours " + n;
    });
  }
  function blankRow(day) {
    var li = rows(day)[0].cloneNode(true);
    li.querySelectorAll("input").forEach(function (input) {
      input.value = "";
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    });
    return li;
  }
  function addRow(day) {
    var li = blankRow(day);
    day.querySelector("ul.intervals").appendChild(li);
    renumber(day);
    return li;
  }
  function say(text) { if (status) status.textContent = text; }

  function showMode() {
    var weekly = form.querySelector('input[name="schedule.mode"][value="weekly"]');
    days.hidden = !(weekly && weekly.checked);
  }
  form.querySelectorAll('input[name="schedule.mode"]').forEach(function (radio) {
    radio.addEventListener("change", showMode);
  });

  days.querySelectorAll("fieldset.schedule-day").forEach(function (day) {
    // The empty row the page adds for browsers without JavaScript: not needed when a day has hours.
    var all = rows(day);
    if (all.length > 1 && isBlank(all[all.length - 1])) all[all.length - 1].remove();
    renumber(day);
    day.querySelector("[data-day-actions]").hidden = false;
    day.querySelectorAll("[data-remove-interval]").forEach(function (b) { b.hidden = false; });
  });

  days.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;
    var day = button.closest("fieldset.schedule-day");
    if (button.hasAttribute("data-add-interval")) {
      addRow(day).querySelector("input").focus();
    } else if (button.hasAttribute("data-remove-interval")) {
      var li = button.closest("li.interval");
      if (rows(day).length === 1) {
        li.querySelectorAll("input").forEach(function (input) { input.value = ""; });
        li.querySelector("input").focus();
      } else {
        li.remove();
        renumber(day);
        day.querySelector("[data-add-interval]").focus();
      }
      say(day.getAttribute("data-day-label") + ": hours removed.");
    } else if (button.hasAttribute("data-copy-weekdays")) {
      var monday = rows(day);
      ["tue", "wed", "thu", "fri"].forEach(function (key) {
        var target = days.querySelector('fieldset.schedule-day[data-day="' + key + '"]');
        var list = target.querySelector("ul.intervals"), template = blankRow(target);
        while (list.firstChild) list.removeChild(list.firstChild);
        monday.forEach(function (source) {
          var li = template.cloneNode(true), inputs = li.querySelectorAll("input");
          var values = source.querySelectorAll("input");
          inputs[0].value = values[0].value;
          inputs[1].value = values[1].value;
          list.appendChild(li);
        });
        renumber(target);
      });
      say("Monday's hours copied to Tuesday, Wednesday, Thursday and Friday.");
    }
  });
  showMode();

  // Closed dates: a date picker beside the list adds to it.
  var picker = form.querySelector("[data-closure-picker]");
  var closures = form.querySelector('textarea[name="closures"]');
  if (picker && closures) {
    picker.hidden = false;
    picker.querySelector("[data-add-closure]").addEventListener("click", function () {
      var date = picker.querySelector('input[type="date"]').value;
      if (!date) return;
      var dates = closures.value.split(/[\s,;]+/).filter(Boolean);
      if (dates.indexOf(date) < 0) dates.push(date);
      closures.value = dates.sort().join("\n");
    });
  }
})();
