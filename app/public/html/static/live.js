(function () {
  "use strict";
  var body = document.body;
  if (/[?&]subscribed=1\b/.test(location.search)) {
    var notice = document.getElementById("subscribed");
    if (notice) notice.hidden = false;
  }
  var url = body.getAttribute("data-stream");
  if (!url || !window.EventSource) return;
  var revision = parseInt(body.getAttribute("data-revision"), 10) || 0;
  var labels = {
    operational: "Operational",
    degraded_performance: "Degraded Performance",
    partial_outage: "Partial Outage",
    major_outage: "Major Outage",
    under_maintenance: "Under Maintenance"
  };
  var reloading = false;

  function reload() {
    if (reloading) return;
    reloading = true;
    location.reload();
  }

  function swapClass(el, prefix, value) {
    el.className = el.className.split(" ").filter(function (c) {
      return c.indexOf(prefix) !== 0;
    }).concat(prefix + value).join(" ");
  }

  function shown(selector, attribute) {
    return Array.prototype.map.call(document.querySelectorAll(selector), function (el) {
      return el.getAttribute(attribute);
    }).sort().join(" ");
  }

  function events(summary) {
    return (summary.incidents || []).concat(summary.scheduled_maintenances || [])
      .map(function (i) { return i.id + "@" + Date.parse(i.updated_at); });
  }

  // The status page: the banner and component statuses change in place; anything that adds,
  // removes or rewrites a block (a component shown or hidden, an incident update) reloads.
  function applyToStatusPage(summary) {
    var status = summary.status;
    var banner = document.getElementById("banner");
    if (status && banner) {
      swapClass(banner, "i-", status.indicator);
      banner.textContent = status.description;
    }
    var all = summary.components || [], listed = {};
    all.forEach(function (c) { listed[c.id] = true; });
    var components = all.filter(function (c) { // a group without a listed member is not shown
      return !c.group || (c.components || []).some(function (id) { return listed[id]; });
    });
    var ids = components.map(function (c) { return c.id; }).sort().join(" ");
    if (ids !== shown("[data-component]", "data-component")) return reload();
    components.forEach(function (c) {
      var row = document.querySelector('[data-component="' + c.id + '"] .status');
      if (!row) return;
      swapClass(row, "s-", c.status);
      row.textContent = labels[c.status] || c.status;
    });
    if (events(summary).sort().join(" ") !== shown("[data-event]", "data-event")) reload();
  }

  // An incident's page: reload when the incident changed or stopped being open.
  function applyToIncidentPage(summary) {
    var article = document.querySelector("[data-incident]");
    if (!article) return;
    var id = article.getAttribute("data-incident");
    var now = events(summary).filter(function (e) { return e.split("@")[0] === id; })[0];
    var open = article.getAttribute("data-open") === "true";
    if (now ? now !== article.getAttribute("data-event") : open) reload();
  }

  function onEvent(event) {
    var seen = parseInt(event.lastEventId, 10);
    if (seen && seen <= revision) return; // what this page already shows
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    var summary = data && data.summary;
    if (!summary || typeof summary !== "object") return reload();
    if (seen) revision = seen;
    if (body.getAttribute("data-view") === "status") applyToStatusPage(summary);
    else applyToIncidentPage(summary);
  }

  var source = new EventSource(url);
  source.addEventListener("update", onEvent);
  source.onmessage = onEvent;
})();
