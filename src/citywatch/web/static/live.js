// Live updates by Server-Sent Events from /api/v1/stream.
// The overview's live feed shows every kind, newest first, capped; incidents that arrive or change
// are shown in the incident table too. A page that shows what people change (an incident, the
// public alerts, the suppressions) says when someone changes it, with a link to reload.

import { cityTime } from "./actions.js";

const MAX_ITEMS = 50;
const FEED_KINDS = ["incident", "detection", "dead_letter", "alert", "suppression", "playbook_run"];
const ALERT_NOUNS = { Alert: "Alert", Update: "Alert update", Cancel: "Alert cancellation" };
const INCIDENT_KINDS = ["incident", "alert", "playbook_run", "suppression"];

const streamUrl = (kinds) => `/api/v1/stream?${kinds.map((k) => `kind=${encodeURIComponent(k)}`).join("&")}`;

// What a person did, in words: "approved by alice".
const acted = (change) => (change ? `${change.action} by ${change.by}` : "changed");

function describeIncident(data, change) {
  if (!change) return `Incident: ${data.title} (severity ${data.severity}, ${data.status})`;
  const title = `Incident '${data.title}'`;
  if (change.action === "moved") return `${title} moved to ${change.target} by ${change.by}`;
  if (change.action === "commented") return `${title}: comment by ${change.by}`;
  if (change.action === "assigned") {
    return change.target ? `${title} assigned to ${change.target} by ${change.by}` : `${title} unassigned by ${change.by}`;
  }
  return `${title} ${acted(change)}`;
}

// One update as a sentence for the feed and the notices.
export function describe(kind, data, change) {
  if (kind === "incident") return describeIncident(data, change);
  if (kind === "detection") return `${data.detector}: ${data.summary}`;
  if (kind === "dead_letter") return `Dead letter from ${data.source}: ${data.reason}`;
  if (kind === "alert") {
    const noun = ALERT_NOUNS[data.msg_type] || "Alert";
    return `${noun} '${data.headline || data.identifier}' ${acted(change)}`;
  }
  if (kind === "suppression") return `Suppression ${data.id} (${data.reason}) ${acted(change)}`;
  if (kind === "playbook_run") {
    const step = change && change.target ? `: step ${change.target}` : "";
    return `Playbook ${data.playbook} for incident ${data.incident}${step} ${acted(change)}`;
  }
  return kind;
}

const CLOSED = new Set(["resolved", "false_positive", "merged"]);

function showIncident(data) {
  const body = document.querySelector("#incidents tbody");
  if (!body || !data.id) return;
  let row = body.querySelector(`tr[data-incident="${CSS.escape(data.id)}"]`);
  if (CLOSED.has(data.status)) {  // no longer open: off the list of open incidents
    if (row) row.remove();
    return;
  }
  if (!row) {
    row = document.createElement("tr");
    row.dataset.incident = data.id;
    for (let i = 0; i < 5; i += 1) row.append(document.createElement("td"));
    const link = document.createElement("a");
    link.href = `/incidents/${encodeURIComponent(data.id)}`;
    row.cells[1].append(link);
    body.prepend(row);
  }
  const badge = document.createElement("span");
  badge.className = `sev sev-${Math.floor(Number(data.severity) / 25)}`;
  badge.textContent = data.severity;
  row.cells[0].replaceChildren(badge);
  row.cells[1].firstElementChild.textContent = data.title;
  row.cells[2].textContent = data.category;
  row.cells[3].textContent = data.status;
  row.cells[4].textContent = cityTime(data.last_seen);
}

export function startFeed() {
  const feed = document.getElementById("feed");
  const source = new EventSource(streamUrl(FEED_KINDS));
  const add = (kind, text) => {
    const li = document.createElement("li");
    li.className = `feed-${kind}`;
    const time = document.createElement("time");
    time.textContent = cityTime(Date.now(), true).slice(11);  // the city's clock, not the browser's
    li.append(time, " ", text);
    feed.prepend(li);
    while (feed.children.length > MAX_ITEMS) feed.lastElementChild.remove();
  };
  for (const kind of FEED_KINDS) {
    source.addEventListener(kind, (ev) => {
      const { data, change } = JSON.parse(ev.data);
      add(kind, describe(kind, data, change));
      if (kind === "incident") showIncident(data);
    });
  }
  source.addEventListener("resync", () => add("resync", "Updates were missed; reload for the full picture."));
  source.addEventListener("ended", () => {
    source.close();
    add("resync", "Your session ended: log in again for live updates.");
  });
  source.addEventListener("open", () => { feed.dataset.connected = "true"; });
}

// Does an update change what this page shows? data-watch names the kind a list page shows;
// an incident page (data-incident) also shows the incident's alerts, playbook runs and suppressions.
function concerns(notice, kind, id, data) {
  const incident = notice.dataset.incident;
  if (!incident) return kind === notice.dataset.watch;
  if (kind === "incident") return id === incident;
  if (kind === "alert") return (data.incidents || []).includes(incident);
  if (kind === "playbook_run") return data.incident === incident;
  return kind === "suppression" && data.source_incident === incident;
}

function tell(notice, text, count) {
  const reload = document.createElement("a");
  reload.href = window.location.pathname + window.location.search;
  reload.textContent = "Reload to see the changes";
  const more = count > 1 ? ` (${count} changes since this page was loaded)` : "";
  notice.replaceChildren(`${text}${more}. `, reload);
}

export function watchChanges(notice) {
  const kinds = notice.dataset.incident ? INCIDENT_KINDS : [notice.dataset.watch];
  const source = new EventSource(streamUrl(kinds));
  let count = 0;
  for (const kind of kinds) {
    source.addEventListener(kind, (ev) => {
      const { id, data, change } = JSON.parse(ev.data);
      if (!concerns(notice, kind, id, data)) return;
      count += 1;
      tell(notice, describe(kind, data, change), count);
      const status = document.getElementById("incident-status");
      if (kind === "incident" && status) status.textContent = data.status;
    });
  }
  source.addEventListener("resync", () => tell(notice, "Some updates were missed", count));
  source.addEventListener("ended", () => {
    source.close();
    tell(notice, "Your session ended: log in again for live updates", count);
  });
  source.addEventListener("open", () => { notice.dataset.connected = "true"; });
}
