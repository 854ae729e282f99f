// An incident marked a false positive: ask the API for the suppressions that would have kept it
// out, show them, and save the ones the analyst wants (each with the session's CSRF token).
import { api, cityTime, formBody, status } from "./actions.js";

const DAY_MS = 86400000;

function code(text) {
  const el = document.createElement("code");
  el.textContent = text;
  return el;
}

// What a suppression matches, as the suppressions page shows it.
function matches(s) {
  const out = [];
  const part = (label, values) => {
    if (!values.length) return;
    const span = document.createElement("span");
    span.className = "match";
    span.append(`${label} `);
    values.forEach((v, i) => span.append(...(i ? [", ", code(v)] : [code(v)])));
    out.push(span);
  };
  part("detector", s.detector);
  part("rule", s.rule);
  for (const [k, v] of Object.entries(s.entity).sort()) {
    const span = document.createElement("span");
    span.className = "match";
    span.append(code(k), " = ", code(v));
    out.push(span);
  }
  return out.flatMap((span, i) => (i ? ["; ", span] : [span]));
}

const days = (s) => Math.max(1, Math.round((Date.parse(s.expires) - Date.parse(s.created)) / DAY_MS));

async function save(proposal, button) {
  button.disabled = true;
  const body = {
    reason: proposal.reason,
    days: days(proposal),
    detector: proposal.detector,
    rule: proposal.rule,
    entity: proposal.entity,
    source_incident: proposal.source_incident,
  };
  try {
    const saved = await api("POST", "/api/v1/suppressions", body);
    const link = document.createElement("a");
    link.href = `/suppressions#${encodeURIComponent(saved.id)}`;
    link.textContent = saved.id;
    const done = Object.assign(document.createElement("span"), { className: "saved" });
    done.append("saved as ", link);
    button.replaceWith(done);
    link.focus();
    status(`Saved ${saved.id}, until ${cityTime(saved.expires)}`);
  } catch (e) {
    status(e.message, true);
    button.disabled = false;
  }
}

function show(proposals, box) {
  const list = box.querySelector("ol");
  list.replaceChildren();
  for (const [n, p] of proposals.entries()) {
    const item = document.createElement("li");
    item.dataset.proposal = String(n + 1);
    const what = document.createElement("span");
    what.className = "matches";
    what.append(...matches(p), `, for ${days(p)} days`);
    const button = document.createElement("button");
    button.type = "button";
    button.append("Save", Object.assign(document.createElement("span"), {
      className: "sr-only",
      textContent: ` proposed suppression ${n + 1}`,
    }));
    button.addEventListener("click", () => save(p, button));
    item.append(what, " ", button);
    list.append(item);
  }
  if (!proposals.length) {
    list.append(Object.assign(document.createElement("li"), {
      textContent: "Nothing to propose: none of the incident's detections is in the store.",
    }));
  }
  box.hidden = false;
  box.querySelector("h3").focus();
}

export function wireProposals() {
  for (const form of document.querySelectorAll("form[data-propose]")) {
    const box = document.getElementById("proposals");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const proposals = await api("POST", form.dataset.propose, formBody(form));
        show(proposals, box);
        status(`${proposals.length} suppression(s) proposed; none saved yet`);
      } catch (e) {
        status(e.message, true);
      } finally {
        button.disabled = false;
      }
    });
  }
}
