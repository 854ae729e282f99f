// Forms and buttons that call the API with the session's CSRF token; the login form.

export const status = (text, isError = false) => {
  const el = document.getElementById("status");
  if (!el) return;
  el.textContent = text;
  el.classList.toggle("error", isError);
  if (!isError) return;
  if (/credentials/.test(text)) {  // the session ended: back here after logging in again
    const again = document.createElement("a");
    again.href = `/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`;
    again.textContent = "Log in again";
    el.append(" ", again);
  }
  // the message is at the top of the page; the form that failed may be far below it
  el.scrollIntoView({ block: "center" });
};

// A problem's detail, with the fields a validation problem names.
function problemText(response, data) {
  if (!data || typeof data !== "object") return `${response.status} ${response.statusText}`;
  const fields = (data.errors || []).map((e) => `${(e.loc || []).filter((p) => p !== "body").join(".")}: ${e.msg}`);
  return [data.detail || `${response.status} ${response.statusText}`, ...fields].join("; ");
}

// What an API answer made: an alert, a suppression, a playbook run.
const made = (result) => (result && (result.identifier || result.id)) || "";

// A time in the city's zone with its offset, as the pages write them: "2026-03-14 15:21 UTC+0100".
export function cityTime(value, seconds = false) {
  const minutes = Number(document.body.dataset.tzOffsetMin || 0);
  const local = new Date(new Date(value).getTime() + minutes * 60000).toISOString();
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  const hhmm = `${String(Math.floor(abs / 60)).padStart(2, "0")}${String(abs % 60).padStart(2, "0")}`;
  const label = minutes ? `UTC${sign}${hhmm}` : "UTC";
  return `${local.slice(0, seconds ? 19 : 16).replace("T", " ")} ${label}`;
}

export async function api(method, url, body) {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const headers = { Accept: "application/json" };
  if (meta) headers["X-CSRF-Token"] = meta.content;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text && response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text;
  if (!response.ok) throw new Error(problemText(response, data));
  return data;
}

// data-split="list": comma- or line-separated values; data-split="map": one key=value a line.
function split(el) {
  const parts = el.value.split(el.dataset.split === "map" ? "\n" : /[,\n]/).map((p) => p.trim()).filter(Boolean);
  if (el.dataset.split !== "map") return parts;
  const map = {};
  for (const line of parts) {
    const at = line.indexOf("=");
    if (at < 1) throw new Error(`${el.labels[0]?.textContent || el.name}: "${line}" is not key=value`);
    map[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return map;
}

export function formBody(form) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === "checkbox") {
      if (!el.checked) continue;
      (body[el.name] ||= []).push(el.value);
    } else if (el.dataset.split) {
      const value = split(el);
      if (Object.keys(value).length) body[el.name] = value;
    } else if (el.value !== "") {
      body[el.name] = el.type === "number" ? Number(el.value) : el.value;
    }
  }
  return body;
}

async function login(form) {
  const error = document.getElementById("login-error");
  error.textContent = "";
  try {
    await api("POST", "/api/v1/auth/login", formBody(form));
    const next = new URL(form.dataset.next || "/", window.location.origin);
    // only a page of this site: "/\\evil.example" is another site to a browser
    window.location.assign(next.origin === window.location.origin ? next.href : "/");
  } catch (e) {
    error.textContent = e.message;
  }
}

export function wireActions() {
  const loginForm = document.getElementById("login");
  if (loginForm) {
    loginForm.addEventListener("submit", (ev) => { ev.preventDefault(); login(loginForm); });
  }
  for (const form of document.querySelectorAll("form[data-action]")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      try {
        const result = await api("POST", form.dataset.action, formBody(form));
        status(made(result) ? `Saved ${made(result)}` : "Done");
        if (form.dataset.goto) window.location.assign(form.dataset.goto);
        else if ("reload" in form.dataset) window.location.reload();
      } catch (e) {
        status(e.message, true);
        if (button) button.disabled = false;
      }
    });
  }
  for (const button of document.querySelectorAll("button[data-post]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const result = await api("POST", button.dataset.post, {});
        status(result && result.state ? `${made(result)}: ${result.state}` : `Done: ${made(result)}`);
        window.location.reload();
      } catch (e) {
        status(e.message, true);
        button.disabled = false;
      }
    });
  }
  for (const pre of document.querySelectorAll("pre[data-cap]")) {
    fetch(pre.dataset.cap, { credentials: "same-origin" })
      .then((r) => r.text()).then((t) => { pre.textContent = t; });
  }
  for (const button of document.querySelectorAll("[data-logout]")) {
    button.addEventListener("click", async () => {
      try { await api("POST", "/api/v1/auth/logout"); } finally { window.location.assign("/login"); }
    });
  }
}
