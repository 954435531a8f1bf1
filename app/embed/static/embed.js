(function () {
  "use strict";
  // Filled in per page by the server: where the summary is and how the box looks.
  var config = __STATUSPAGE_EMBED_CONFIG__;
  var boxId = "statuspage-embed-" + config.page_id;
  var dismissed = {};

  function activeItems(summary) {
    var items = [];
    (summary.incidents || []).forEach(function (incident) {
      if (incident.status !== "resolved" && incident.status !== "postmortem") {
        items.push({ kind: "incident", item: incident });
      }
    });
    (summary.scheduled_maintenances || []).forEach(function (maintenance) {
      if (maintenance.status === "in_progress" || maintenance.status === "verifying") {
        items.push({ kind: "maintenance", item: maintenance });
      }
    });
    return items.filter(function (entry) {
      return !dismissed[entry.item.id + "@" + entry.item.updated_at];
    });
  }

  function link(url) {
    return /^https?:\/\//i.test(url || "") ? url : config.page_url;
  }

  function styled(element, styles) {
    Object.keys(styles).forEach(function (name) { element.style[name] = styles[name]; });
    return element;
  }

  function remove() {
    var old = document.getElementById(boxId);
    if (old && old.parentNode) old.parentNode.removeChild(old);
  }

  function show(items) {
    remove();
    if (!items.length) return;
    var first = items[0];
    var incident = first.item;
    var colors = config.colors[first.kind];
    var box = styled(document.createElement("div"), {
      position: "fixed", zIndex: "2147483000", maxWidth: "320px", boxSizing: "border-box",
      padding: "12px 36px 12px 14px", borderRadius: "6px", boxShadow: "0 4px 16px rgba(0,0,0,.25)",
      font: "14px/1.4 -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif",
      background: "#" + colors.background, color: "#" + colors.text
    });
    var vertical = config.position.split("-")[0], horizontal = config.position.split("-")[1];
    box.style[vertical] = "16px";
    box.style[horizontal] = "16px";
    box.id = boxId;
    box.setAttribute("role", "status");
    box.setAttribute("data-statuspage-embed", first.kind);

    var title = styled(document.createElement("a"), {
      display: "block", fontWeight: "600", color: "inherit", textDecoration: "none"
    });
    title.className = "statuspage-embed-name";
    title.href = link(incident.shortlink);
    title.target = "_blank";
    title.rel = "noopener";
    title.textContent = incident.name;
    box.appendChild(title);

    var latest = (incident.incident_updates || [])[0];
    if (latest && latest.body) {
      var update = styled(document.createElement("p"), { margin: "6px 0 0" });
      update.className = "statuspage-embed-update";
      update.textContent = latest.body.length > 200 ? latest.body.slice(0, 199) + "\u2026" : latest.body;
      box.appendChild(update);
    }
    var more = styled(document.createElement("a"), {
      display: "inline-block", marginTop: "6px", color: "inherit", fontSize: "12px"
    });
    more.href = link(incident.shortlink);
    more.target = "_blank";
    more.rel = "noopener";
    more.textContent = items.length > 1
      ? "View details (" + (items.length - 1) + " more on " + config.page_name + ")"
      : "View details on " + config.page_name;
    box.appendChild(more);

    var close = styled(document.createElement("button"), {
      position: "absolute", top: "6px", right: "8px", border: "0", background: "transparent",
      color: "inherit", font: "18px/1 sans-serif", cursor: "pointer", padding: "2px"
    });
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    close.addEventListener("click", function () {
      dismissed[incident.id + "@" + incident.updated_at] = true;
      remove();
    });
    box.appendChild(close);
    document.body.appendChild(box);
  }

  function load() {
    if (!window.fetch) return;
    // Revalidated each time (a cheap 304 while nothing changed): never a stale all-clear.
    fetch(config.summary_url, { credentials: "omit", cache: "no-cache" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (summary) { if (summary) show(activeItems(summary)); })
      .catch(function () { /* the status page is unreachable: show nothing */ });
  }

  function start() {
    load();
    setInterval(load, config.refresh_seconds * 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
