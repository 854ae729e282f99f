// Forms and buttons that call the API with the session's CSRF token; the login form.

const status = (text, isError = false) => {
  const el = document.getElementById("status");
  if (!el) return;
  el.textContent = text;
  el.classList.toggle("error", isError);
};

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
  if (!response.ok) throw new Error((data && data.detail) || `${response.status} ${response.statusText}`);
  return data;
}

function formBody(form) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === "checkbox") {
      if (!el.checked) continue;
      (body[el.name] ||= []).push(el.value);
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
    const next = form.dataset.next || "/";
    window.location.assign(next.startsWith("/") && !next.startsWith("//") ? next : "/");
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
        status(result && result.identifier ? `Saved ${result.identifier}` : "Done");
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
        status(`${result.identifier}: ${result.state}`);
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
