// The overview's live feed: Server-Sent Events from /api/v1/stream, newest first, capped;
// incidents that arrive or change are shown in the incident table too.

const MAX_ITEMS = 50;

function describe(kind, data) {
  if (kind === "incident") return `Incident: ${data.title} (severity ${data.severity}, ${data.status})`;
  if (kind === "detection") return `${data.detector}: ${data.summary}`;
  if (kind === "dead_letter") return `Dead letter from ${data.source}: ${data.reason}`;
  return kind;
}

function showIncident(data) {
  const body = document.querySelector("#incidents tbody");
  if (!body || !data.id) return;
  let row = body.querySelector(`tr[data-incident="${CSS.escape(data.id)}"]`);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.incident = data.id;
    for (let i = 0; i < 5; i += 1) row.append(document.createElement("td"));
    const link = document.createElement("a");
    link.href = `/incidents/${encodeURIComponent(data.id)}`;
    row.cells[1].append(link);
    body.prepend(row);
  }
  row.cells[0].textContent = data.severity;
  row.cells[1].firstElementChild.textContent = data.title;
  row.cells[2].textContent = data.category;
  row.cells[3].textContent = data.status;
  row.cells[4].textContent = String(data.last_seen).slice(0, 16).replace("T", " ");
}

export function startFeed() {
  const feed = document.getElementById("feed");
  const source = new EventSource("/api/v1/stream?kind=incident&kind=detection&kind=dead_letter");
  const add = (kind, text) => {
    const li = document.createElement("li");
    li.className = `feed-${kind}`;
    const time = document.createElement("time");
    time.textContent = new Date().toLocaleTimeString();
    li.append(time, " ", text);
    feed.prepend(li);
    while (feed.children.length > MAX_ITEMS) feed.lastElementChild.remove();
  };
  for (const kind of ["incident", "detection", "dead_letter"]) {
    source.addEventListener(kind, (ev) => {
      const { data } = JSON.parse(ev.data);
      add(kind, describe(kind, data));
      if (kind === "incident") showIncident(data);
    });
  }
  source.addEventListener("resync", () => add("resync", "Updates were missed; reload for the full picture."));
  source.addEventListener("open", () => { feed.dataset.connected = "true"; });
}
