// Favourites on a shared gallery: hearts on the grid and in the lightbox, a name asked once,
// a counter, "Show only my favourites", a note per chosen photo, and "Send my selection" (which
// locks it). Talks to /api/v1/shared/<token>/selection.
const panel = document.getElementById("favourites");

if (panel) {
  const api = panel.dataset.api;
  const quota = Number(panel.dataset.quota || 0);
  const onlyFavourites = panel.hasAttribute("data-only"); // the …/favourites/ view of the page
  const count = panel.querySelector(".fav-count");
  const submit = panel.querySelector(".fav-submit");
  const filter = panel.querySelector(".fav-filter");
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  let state = { name: "", photos: [], notes: [], submitted_at: null };
  let loaded = false; // until the selection arrives, nothing is known to be un-chosen

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

  const chosenSet = () => new Set(state.photos.map(String));
  const noteOf = (id) => (state.notes || []).find((n) => String(n.photo) === id)?.note || "";

  // In the favourites view a photo taken out of the favourites leaves the grid; while the
  // lightbox shows it, it stays until the lightbox closes (its slides point at these tiles).
  function dropUnchosen(chosen) {
    if (!onlyFavourites || !loaded || document.querySelector(".pswp")) return;
    let dropped = false;
    for (const item of document.querySelectorAll("#gallery-content .item[data-id]")) {
      if (!chosen.has(item.dataset.id)) {
        item.remove();
        dropped = true;
      }
    }
    // gallery.js lays out the grid again (masonry positions) whenever HTMX settles new content.
    if (dropped) document.body.dispatchEvent(new CustomEvent("htmx:afterSettle", { bubbles: true, detail: {} }));
  }

  function render() {
    const chosen = chosenSet();
    const locked = Boolean(state.submitted_at);
    for (const heart of document.querySelectorAll(".heart")) {
      const on = chosen.has(heart.dataset.photo);
      heart.hidden = false;
      heart.setAttribute("aria-pressed", on ? "true" : "false");
      heart.disabled = locked;
      heart.closest(".item")?.classList.toggle("is-chosen", on);
    }
    for (const button of document.querySelectorAll(".note-button")) {
      const id = button.dataset.photo;
      const note = noteOf(id);
      button.hidden = !chosen.has(id) || (locked && !note);
      button.disabled = locked;
      button.classList.toggle("has-note", Boolean(note));
      // The visible word stays "Note" (part of the name, for speech input); a written note shows
      // as a filled bubble on a light pill, and in the name.
      const name = `Note for the photographer: ${button.dataset.label}`;
      button.setAttribute("aria-label", note ? `${name} (written)` : name);
    }
    const n = chosen.size;
    count.textContent = locked ? `♥ ${n} sent to the photographer` : `♥ ${n} chosen${quota ? ` of up to ${quota}` : ""}`;
    submit.disabled = !n || locked;
    submit.hidden = locked;
    if (filter) filter.disabled = !n && !onlyFavourites;
    panel.hidden = false;
    dropUnchosen(chosen);
    document.dispatchEvent(new CustomEvent("favourites:change", { detail: chosen }));
  }

  function ask(dialogId, prepare) {
    const dialog = document.getElementById(dialogId);
    return new Promise((resolve) => {
      dialog.addEventListener(
        "close",
        () => {
          const value = dialog.returnValue;
          resolve(value === "cancel" || !value ? null : { value, form: new FormData(dialog.querySelector("form")) });
        },
        { once: true },
      );
      if (prepare) prepare(dialog);
      dialog.returnValue = "";
      dialog.showModal();
    });
  }

  async function save(body) {
    try {
      state = await call("POST", body);
    } catch (error) {
      alert(error.message);
    }
    render();
  }

  async function toggle(photoId) {
    if (state.submitted_at) return;
    const on = chosenSet().has(photoId);
    const body = on ? { remove: [photoId] } : { add: [photoId] };
    if (!on && !state.name) {
      const answer = await ask("fav-name");
      if (!answer || !answer.form.get("name").trim()) return;
      body.name = answer.form.get("name").trim();
      body.email = (answer.form.get("email") || "").trim();
    }
    await save(body);
  }

  async function editNote(button) {
    const photo = button.dataset.photo;
    const current = noteOf(photo);
    const answer = await ask("fav-note", (dialog) => {
      dialog.querySelector(".fav-note-photo").textContent = button.dataset.label;
      const text = dialog.querySelector("textarea");
      text.value = current;
      dialog.querySelector(".fav-note-remove").hidden = !current;
      text.dispatchEvent(new Event("input"));
    });
    button.focus();
    if (!answer) return;
    const note = answer.value === "remove" ? "" : (answer.form.get("note") || "").trim();
    if (note === current) return;
    await save({ notes: [{ photo, note }] });
  }

  const noteText = document.getElementById("fav-note-text");
  const noteCount = document.getElementById("fav-note-count");
  noteText?.addEventListener("input", () => {
    const max = Number(noteText.getAttribute("maxlength")) || 500;
    noteCount.textContent = `${noteText.value.length} of ${max} characters`;
  });

  document.addEventListener("click", (event) => {
    const heart = event.target.closest(".heart");
    if (heart) {
      event.preventDefault();
      toggle(heart.dataset.photo);
      return;
    }
    const note = event.target.closest(".note-button");
    if (note) {
      event.preventDefault();
      editNote(note);
    }
  });
  // "Show only my favourites" opens the favourites view of the page (its own address, so that
  // infinite scroll and the layout links stay within the favourites), in the same layout.
  filter?.addEventListener("click", () => {
    const layout = document.getElementById("gallery-content")?.dataset.layout;
    const url = new URL(onlyFavourites ? panel.dataset.allUrl : panel.dataset.favouritesUrl, location.href);
    if (layout) url.searchParams.set("layout", layout);
    location.assign(url);
  });
  submit.addEventListener("click", async () => {
    const answer = await ask("fav-submit");
    if (!answer) return;
    await save({ submit: true, note: (answer.form.get("note") || "").trim() });
  });
  document.body.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail?.target) render(); // our own relayout signal carries no target
  });
  // The lightbox's root leaves the page when it closes: then drop what was un-chosen in it.
  if (onlyFavourites) {
    new MutationObserver(() => dropUnchosen(chosenSet())).observe(document.body, { childList: true });
  }
  window.csFavourites = { toggle, chosen: chosenSet };
  call("GET")
    .then((data) => {
      state = data;
      loaded = true;
      render();
    })
    .catch(() => {});
}
