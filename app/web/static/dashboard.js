/* The live dashboard: renders the snapshot, then polls /dashboard/data every few seconds. */
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) return;
  var C = window.CapConduit, h = C.h;
  /* [status, label] of each outcome bar: the page states them (app.domain.call_status). */
  var OUTCOMES = JSON.parse(root.getAttribute("data-outcomes"));
  /* Every time on the dashboard is in one zone, the viewer's, and says so: the browser's own
     (as the page's headings name it), else the zone the server named. */
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  var shownZone = zone || root.getAttribute("data-zone") || "UTC";
  root.querySelectorAll("[data-zone-name]").forEach(function (node) { node.textContent = shownZone; });
  var live = document.getElementById("dash-live");
  var updated = document.getElementById("dash-updated");
  var errorBox = document.getElementById("dash-error");

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function pct(part, whole) { return whole > 0 ? Math.min(100, Math.round(part * 100 / whole)) : 0; }
  function level(part, whole) {
    if (!whole) return part > 0 ? "full" : "idle";
    var share = part / whole;
    return share >= 1 ? "full" : share >= 0.7 ? "high" : share > 0 ? "ok" : "idle";
  }
  /* A time in the viewer's zone; `labelled` adds the zone's abbreviation (where no heading
     names the zone: a tooltip, the chart's spoken summary). */
  function timeLabel(iso, options, labelled) {
    var format = { timeZone: shownZone, hour12: false };
    Object.keys(options).forEach(function (key) { format[key] = options[key]; });
    if (labelled) format.timeZoneName = "short";
    return new Date(iso).toLocaleString([], format);
  }
  function hourLabel(iso, labelled) {
    return timeLabel(iso, { hour: "2-digit", minute: "2-digit" }, labelled);
  }

  /* A horizontal bar: role=meter so that assistive technology reads "x of y". */
  function bar(value, max, label, extraClass) {
    var fill = h("span", { "class": "bar-fill" });
    fill.style.width = (max ? pct(value, max) : (value > 0 ? 100 : 0)) + "%";
    return h("span", {
      "class": "bar level-" + level(value, max) + (extraClass ? " " + extraClass : ""), role: "meter",
      "aria-valuemin": 0, "aria-valuemax": max || 0, "aria-valuenow": value, "aria-label": label
    }, fill);
  }

  function campaignLink(campaign) {
    var template = root.getAttribute("data-campaign-url");
    if (!template) return h("span", { text: campaign.name });
    return h("a", { href: template.replace(/0$/, String(campaign.id)), text: campaign.name });
  }

  function renderKpis(data) {
    var today = data.today;
    var values = {
      in_flight: data.in_flight, capacity: data.capacity, total: today.total,
      answered: today.outcomes.answered,
      answer_rate: (today.answer_rate * 100).toFixed(today.answer_rate >= 0.995 || today.answer_rate === 0 ? 0 : 1) + "%",
      average_billsec: C.formatSeconds(today.average_billsec),
      converted: today.converted, payout: C.formatMoney(today.payout), revenue: C.formatMoney(today.revenue),
      overload_last_minute: data.router.overload_last_minute, over_cap_today: data.router.over_cap_today,
      since: "since " + timeLabel(today.since, { weekday: "short", hour: "2-digit", minute: "2-digit" }, true) +
             (today.in_progress ? " · " + today.in_progress + " in progress" : "")
    };
    root.querySelectorAll("[data-kpi]").forEach(function (node) {
      node.textContent = values[node.getAttribute("data-kpi")];
    });
  }

  function renderOutcomes(today) {
    var list = clear(document.getElementById("dash-outcomes"));
    var max = Math.max.apply(null, OUTCOMES.map(function (o) { return today.outcomes[o[0]]; }).concat([1]));
    OUTCOMES.forEach(function (outcome) {
      var count = today.outcomes[outcome[0]];
      list.appendChild(h("li", { "class": "bar-row outcome-" + outcome[0], "data-outcome": outcome[0] },
        h("span", { "class": "bar-label", text: outcome[1] }),
        bar(count, max, outcome[1] + ": " + count + " calls today", "outcome"),
        h("span", { "class": "bar-value", "data-count": count, text: String(count) })));
    });
  }

  function renderChart(hours) {
    var box = clear(document.getElementById("dash-chart"));
    var W = 720, H = 230, left = 34, right = 8, top = 12, bottom = 28;
    var plotW = W - left - right, plotH = H - top - bottom;
    var peak = Math.max.apply(null, hours.map(function (b) { return b.total; }).concat([0]));
    var scaleMax = Math.max(4, Math.ceil(peak / 4) * 4);
    var total = hours.reduce(function (sum, b) { return sum + b.total; }, 0);
    var busiest = hours.reduce(function (best, b) { return b.total > best.total ? b : best; }, hours[0]);
    var summary = total + " calls in the last 24 hours" +
      (busiest && busiest.total ? "; busiest hour " + hourLabel(busiest.hour, true) + " with " + busiest.total : "");
    var svg = h("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": summary,
                         "class": "hour-chart", preserveAspectRatio: "xMidYMid meet" });
    [0, 0.5, 1].forEach(function (f) {
      var y = top + plotH - f * plotH;
      svg.appendChild(h("line", { x1: left, x2: W - right, y1: y, y2: y, "class": "grid" }));
      svg.appendChild(h("text", { x: left - 6, y: y + 4, "class": "axis", "text-anchor": "end", text: String(Math.round(f * scaleMax)) }));
    });
    var slot = plotW / hours.length, barW = Math.max(4, slot * 0.7);
    hours.forEach(function (b, i) {
      var x = left + i * slot + (slot - barW) / 2;
      var hTotal = plotH * b.total / scaleMax, hAnswered = plotH * b.answered / scaleMax;
      var g = h("g", { "class": "hour", "data-hour": b.hour, "data-total": b.total },
        h("title", { text: hourLabel(b.hour, true) + ": " + b.total + " calls, " + b.answered + " answered" }));
      g.appendChild(h("rect", { x: x, y: top + plotH - hTotal, width: barW, height: Math.max(0, hTotal - hAnswered), "class": "bar-other" }));
      g.appendChild(h("rect", { x: x, y: top + plotH - hAnswered, width: barW, height: hAnswered, "class": "bar-answered" }));
      svg.appendChild(g);
      if (i % 3 === 2 || i === hours.length - 1) {
        svg.appendChild(h("text", { x: x + barW / 2, y: H - 8, "class": "axis", "text-anchor": "middle",
                                    text: i === hours.length - 1 ? "now" : hourLabel(b.hour) }));
      }
    });
    box.appendChild(svg);
  }

  function renderCampaigns(campaigns) {
    var body = clear(document.querySelector("#dash-campaigns tbody"));
    if (!campaigns.length) {
      body.appendChild(h("tr", {}, h("td", { colspan: 4, "class": "empty", text: "No campaigns yet." })));
      return;
    }
    campaigns.forEach(function (c) {
      var name = h("th", { scope: "row", "class": "campaign-name" }, campaignLink(c));
      if (c.seller) name.appendChild(h("span", { "class": "muted small", text: " · " + c.seller }));
      if (c.status !== "active") name.appendChild(h("span", { "class": "badge badge-inactive", text: c.status }));
      body.appendChild(h("tr", { "class": "campaign-row", "data-campaign-id": c.id }, name,
        h("td", { "class": "num load", "data-in-flight": c.in_flight, text: c.in_flight + " / " + c.capacity }),
        h("td", { "class": "col-meter" }, bar(c.in_flight, c.capacity, c.name + ": " + c.in_flight + " of " + c.capacity + " in flight")),
        h("td", { "class": "num muted", text: c.links.length ? "" : "no client linked" })));
      name.appendChild(h("span", { "class": "muted small", text: " · " + c.links.length + (c.links.length === 1 ? " client" : " clients") }));
      c.links.forEach(function (l) {
        var label = h("td", { "class": "link-name" }, h("span", { text: l.client }),
          h("span", { "class": "muted small", text: " · priority " + l.forwarding_priority + " · weight " + l.weight }));
        if (l.status !== "active" || l.client_status !== "active") label.appendChild(h("span", { "class": "badge badge-inactive", text: "inactive" }));
        body.appendChild(h("tr", { "class": "link-row", "data-setting-id": l.setting_id }, label,
          h("td", { "class": "num load", "data-in-flight": l.in_flight, text: l.in_flight + " / " + l.max_concurrency }),
          h("td", { "class": "col-meter" }, bar(l.in_flight, l.max_concurrency, l.client + " in " + c.name + ": " + l.in_flight + " of " + l.max_concurrency + " in flight")),
          h("td", { "class": "num", text: l.current_total_calls + " / " + (l.total_calls_allowed === null ? "∞" : l.total_calls_allowed) })));
      });
    });
  }

  function renderClients(clients) {
    var list = clear(document.getElementById("dash-clients"));
    if (!clients.length) list.appendChild(h("li", { "class": "empty", text: "No client is linked yet." }));
    clients.forEach(function (c) {
      list.appendChild(h("li", { "class": "bar-row", "data-client-id": c.id },
        h("span", { "class": "bar-label", text: c.name }),
        bar(c.in_flight, c.capacity, c.name + ": " + c.in_flight + " of " + c.capacity + " in flight"),
        h("span", { "class": "bar-value", text: c.in_flight + " / " + c.capacity })));
    });
  }

  function renderCaps(caps) {
    var list = clear(document.getElementById("dash-caps"));
    if (!caps.length) list.appendChild(h("li", { "class": "empty", text: "No link has a total-calls cap." }));
    caps.forEach(function (c) {
      var label = h("span", { "class": "bar-label" }, h("span", { text: c.client }), h("span", { "class": "muted small", text: " · " + c.campaign }));
      list.appendChild(h("li", { "class": "bar-row", "data-setting-id": c.setting_id }, label,
        bar(c.delivered, c.allowed, c.client + " in " + c.campaign + ": " + c.delivered + " of " + c.allowed + " calls delivered", "cap"),
        h("span", { "class": "bar-value", text: c.delivered + " / " + c.allowed })));
    });
  }

  function renderBids(bids) {
    var section = document.getElementById("dash-bids-card"), body = clear(document.querySelector("#dash-bids tbody"));
    section.hidden = !bids.length;
    bids.forEach(function (b) {
      body.appendChild(h("tr", { "data-client-id": b.client_id },
        h("th", { scope: "row", text: b.client }),
        h("td", { "class": "num", text: String(b.won) }),
        h("td", { "class": "num", text: b.average_winning_bid === null ? "—" : C.formatMoney(b.average_winning_bid) }),
        h("td", { "class": "num", text: b.no_bid_rate === null ? "—" : Math.round(b.no_bid_rate * 100) + " %" }),
        h("td", { "class": "num", text: String(b.asked) })));
    });
  }

  function render(data) {
    renderKpis(data);
    renderOutcomes(data.today);
    renderChart(data.hourly);
    renderCampaigns(data.campaigns);
    renderClients(data.clients);
    renderCaps(data.caps);
    renderBids(data.bids);
    updated.textContent = "Updated " + timeLabel(data.generated_at, { hour: "2-digit", minute: "2-digit", second: "2-digit" }, true);
    root.setAttribute("data-generated-at", data.generated_at);
  }

  function refresh() {
    var url = root.getAttribute("data-endpoint") + (zone ? "?tz=" + encodeURIComponent(zone) : "");
    return C.fetchJSON(url).then(function (result) {
      if (result.status === 401) { window.location.reload(); return; }
      if (result.status !== 200 || !result.body) throw new Error("status " + result.status);
      errorBox.hidden = true;
      render(result.body);
    }).catch(function () {
      errorBox.textContent = "Cannot reach the server; the figures below may be out of date. Retrying…";
      errorBox.hidden = false;
    });
  }

  render(JSON.parse(document.getElementById("dashboard-data").textContent));
  var refreshSeconds = Number(root.getAttribute("data-refresh")) || 5;
  var poller = C.poll(refresh, refreshSeconds, function () { return live.checked; });
  live.addEventListener("change", function () { if (live.checked) poller.now(); });
  if (zone) poller.now();  // the first render used the server's idea of "today"
})();
