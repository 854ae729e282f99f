// The overview's live feed: Server-Sent Events from /api/v1/stream, newest first, capped.

const MAX_ITEMS = 50;

function describe(kind, data) {
  if (kind === "incident") return `Incident: ${data.title} (severity ${data.severity}, ${data.status})`;
  if (kind === "detection") return `${data.detector}: ${data.summary}`;
  if (kind === "dead_letter") return `Dead letter from ${data.source}: ${data.reason}`;
  return kind;
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
    });
  }
  source.addEventListener("resync", () => add("resync", "Updates were missed; reload for the full picture."));
  feed.dataset.connected = "true";
}
