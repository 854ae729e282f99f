// Leaflet maps over the city's districts (no tiles): incidents, evidence, devices, zones, cells.

const CATEGORY = { cyber: "#1f5fbf", public_safety: "#b3261e", hybrid: "#6a1b9a" };
const LOS = { A: "#1b7f3b", B: "#3d7016", C: "#7a5c00", D: "#a34e00", E: "#b3261e", F: "#6b0f0f" };

const json = (id) => {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : null;
};

// the shaking's intensity (CDI/MMI), a colour per step from weak to destructive (as the
// quake page's legend shows): II-III, IV, V, VI, VII, VIII and up
const INTENSITY = [[8, "#c8101f"], [7, "#ff5a1f"], [6, "#ffb000"], [5, "#f6e94b"], [4, "#7fe3c5"], [0, "#bfe6ff"]];

const intensityColour = (cdi) => INTENSITY.find(([floor]) => cdi >= floor)[1];

function style(kind, p) {
  if (kind === "cells" && p.epicentre) return { color: "#000", weight: 3, fillColor: "#000", fillOpacity: 0.9 };
  if (kind === "cells") {
    const cdi = Number(p.cdi) || 0;
    return {
      color: p.predicted ? "#555" : "#5a1a00",
      weight: 1,
      dashArray: p.predicted ? "4 3" : null,
      fillColor: intensityColour(cdi),
      fillOpacity: p.predicted ? 0.45 : 0.75,
    };
  }
  if (kind === "zones" && p.zone) {
    // the zone's area, filled by its level of service (a density map); grey before any count
    return {
      color: "#1d2733",
      weight: 1,
      fillColor: LOS[p.los] || "#9aa5b1",
      fillOpacity: p.los ? 0.7 : 0.25,
      className: "zone-area",
    };
  }
  if (p.area) return { color: "#b3261e", weight: 2, fillOpacity: 0.1 };
  return {};
}

function marker(kind, p, latlng) {
  let color = CATEGORY[p.category] || "#333";
  if (kind === "zones") color = LOS[p.los] || "#333";
  if (kind === "devices") color = "#8a4b00";
  if (kind === "events") color = CATEGORY.public_safety;
  const severity = Number(p.severity ?? 50);
  return L.circleMarker(latlng, {
    radius: 6 + severity / 12,
    color: severity >= 75 ? "#000" : color,
    weight: severity >= 75 ? 3 : 1.5,
    fillColor: color,
    fillOpacity: p.placed === false ? 0.15 : 0.75,
    dashArray: p.placed === false ? "4 3" : null,
    className: `marker marker-${kind}`,
  });
}

// Leaflet sets a tooltip given as a string as HTML; titles, summaries and device ids come
// from what was ingested (an attacker's login name on a device), so a tooltip is text
function tip(text) {
  const el = document.createElement("span");
  el.textContent = text;
  return el;
}

function label(kind, p) {
  const text = p.title || p.summary || p.place || p.device || p.cell || "";
  const density = p.density !== undefined && p.density !== null ? `, ${p.density} p/m²` : "";
  const extra = p.severity !== undefined ? ` (severity ${p.severity})` : p.los ? ` (LoS ${p.los}${density})` : "";
  const where = p.placed === false ? (p.count > 1 ? " — no location; listed below" : " — no location; shown at the city centre") : "";
  return `${text}${extra}${where}`;
}

export function drawMaps() {
  if (typeof L === "undefined") return;
  const city = json("city-data");
  for (const el of document.querySelectorAll(".map[data-layer]")) {
    const kind = el.dataset.kind;
    const map = L.map(el, { zoomControl: true, attributionControl: false, keyboard: true });
    const base = L.geoJSON(city, {
      style: { color: "#44546a", weight: 1, fillColor: "#dfe7f0", fillOpacity: 0.5 },
      onEachFeature: (f, layer) => layer.bindTooltip(tip(f.properties?.name || ""), { sticky: true }),
    }).addTo(map);
    const data = json(el.dataset.layer) || { type: "FeatureCollection", features: [] };
    const layer = L.geoJSON(data, {
      style: (f) => style(kind, f.properties || {}),
      pointToLayer: (f, latlng) => marker(kind, f.properties || {}, latlng),
      onEachFeature: (f, lyr) => {
        const p = f.properties || {};
        lyr.bindTooltip(tip(label(kind, p)));
        if (p.href) lyr.on("click", () => window.location.assign(p.href));
      },
    }).addTo(map);
    // data-focus="layer": frame what the page is about (a venue's zones), not the whole city
    const focus = el.dataset.focus === "layer" && layer.getBounds().isValid();
    const bounds = focus || !base.getBounds().isValid() ? layer.getBounds() : base.getBounds();
    if (!focus && layer.getBounds().isValid()) bounds.extend(layer.getBounds());
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [10, 10] });
    else map.setView([45.815, 15.9819], 12);
    // keyboard: the districts are the backdrop, not stops (15 of them came before the first
    // incident); each marker or area says what it is, and Enter opens what it links to
    base.eachLayer((l) => l.getElement?.()?.setAttribute("tabindex", "-1"));
    layer.eachLayer((l) => {
      const shape = l.getElement?.();
      const p = l.feature?.properties || {};
      if (!shape) return;
      shape.setAttribute("aria-label", label(kind, p));
      if (p.href) {
        shape.setAttribute("role", "link");
        shape.addEventListener("keydown", (e) => { if (e.key === "Enter") window.location.assign(p.href); });
      } else {
        shape.setAttribute("tabindex", "-1");
      }
    });
    el.dataset.features = String(data.features.length);
    el.mapLayer = layer;
    el.leaflet = map;
  }
}
