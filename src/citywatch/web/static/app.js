// The dashboard's entry point: maps, forms and buttons that call the API, live updates.
import { drawMaps } from "./map.js";
import { wireActions } from "./actions.js";
import { startFeed, watchChanges } from "./live.js";
import { wireProposals } from "./suppress.js";

function ready(fn) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
  else fn();
}

ready(() => {
  wireActions();
  wireProposals();
  drawMaps();
  if (document.body.dataset.page === "overview" && document.getElementById("feed")) startFeed();
  const notice = document.getElementById("live-notice");
  if (notice) watchChanges(notice);
});
