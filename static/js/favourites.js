// Favourites on a shared gallery: hearts on the grid and in the lightbox, a name asked once,
// a counter, and "Send my selection" (which locks it). Talks to /api/v1/shared/<token>/selection.
const panel = document.getElementById("favourites");

if (panel) {
  const api = panel.dataset.api;
  const quota = Number(panel.dataset.quota || 0);
  const count = panel.querySelector(".fav-count");
  const submit = panel.querySelector(".fav-submit");
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  let state = { name: "", photos: [], submitted_at: null };

  async function call(method, body) {
    const response = await fetch(api, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = response.status === 204 ? {} : await response.json();
    if (!response.ok) throw new Error(data.detail || Object.values(data).flat().join(" ") || "Something went wrong.");
    return data;
  }

  function render() {
    const chosen = new Set(state.photos.map(String));
    for (const heart of document.querySelectorAll(".heart")) {
      heart.hidden = false;
      heart.setAttribute("aria-pressed", chosen.has(heart.dataset.photo) ? "true" : "false");
      heart.disabled = Boolean(state.submitted_at);
    }
    const n = chosen.size;
    count.textContent = state.submitted_at
      ? `♥ ${n} sent to the photographer`
      : `♥ ${n} chosen${quota ? ` of up to ${quota}` : ""}`;
    submit.disabled = !n || Boolean(state.submitted_at);
    submit.hidden = Boolean(state.submitted_at);
    panel.hidden = false;
    document.dispatchEvent(new CustomEvent("favourites:change", { detail: chosen }));
  }

  function ask(dialogId) {
    const dialog = document.getElementById(dialogId);
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok" ? new FormData(dialog.querySelector("form")) : null), { once: true });
      dialog.showModal();
    });
  }

  async function toggle(photoId) {
    if (state.submitted_at) return;
    const on = state.photos.map(String).includes(photoId);
    const body = on ? { remove: [photoId] } : { add: [photoId] };
    if (!on && !state.name) {
      const form = await ask("fav-name");
      if (!form || !form.get("name").trim()) return;
      body.name = form.get("name").trim();
      body.email = (form.get("email") || "").trim();
    }
    try {
      state = await call("POST", body);
    } catch (error) {
      alert(error.message);
    }
    render();
  }

  document.addEventListener("click", (event) => {
    const heart = event.target.closest(".heart");
    if (!heart) return;
    event.preventDefault();
    toggle(heart.dataset.photo);
  });
  submit.addEventListener("click", async () => {
    const form = await ask("fav-submit");
    if (!form) return;
    try {
      state = await call("POST", { submit: true, note: (form.get("note") || "").trim() });
    } catch (error) {
      alert(error.message);
    }
    render();
  });
  document.body.addEventListener("htmx:afterSettle", render);
  window.csFavourites = { toggle, chosen: () => new Set(state.photos.map(String)) };
  call("GET").then((data) => { state = data; render(); }).catch(() => {});
}
