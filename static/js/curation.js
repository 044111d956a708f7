// The curation queue (accounts/communities/queue.html): keyboard review and "select all".
// → approves the current photo, ← rejects it (with the reason typed above), j/k or ↓/↑ move, x ticks.
// Actions post the same form the buttons do (HTMX swaps the queue), so no logic lives here.
(() => {
  "use strict";
  let current = 0;

  const items = () => Array.from(document.querySelectorAll("#queue .queue-item"));

  function focusItem(index) {
    const all = items();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((el, i) => el.classList.toggle("is-current", i === current));
    all[current].focus({ preventScroll: false });
    all[current].scrollIntoView({ block: "nearest" });
  }

  function act(action) {
    const form = document.getElementById("queue-form");
    const item = items()[current];
    if (!form || !item) return;
    if (action === "reject") {
      const reason = form.querySelector("#queue-reason");
      if (!reason.value.trim()) {
        reason.focus();
        reason.setAttribute("placeholder", "Type a reason first, then press ← again");
        return;
      }
    }
    // Act on the current photo only, whatever else is ticked.
    form.querySelectorAll(".queue-check").forEach((box) => { box.checked = false; });
    item.querySelector(".queue-check").checked = true;
    // A real click: HTMX sends the clicked button's name and value (requestSubmit would not tell it).
    const button = form.querySelector(`button[value="${action}"]`);
    if (button) button.click();
  }

  document.addEventListener("keydown", (event) => {
    if (!document.getElementById("queue-form")) return;
    const target = event.target;
    if (target.matches("input:not([type=checkbox]), select, textarea") || event.altKey || event.ctrlKey || event.metaKey) return;
    switch (event.key) {
      case "ArrowRight": event.preventDefault(); act("approve"); break;
      case "ArrowLeft": event.preventDefault(); act("reject"); break;
      case "ArrowDown": case "j": event.preventDefault(); focusItem(current + 1); break;
      case "ArrowUp": case "k": event.preventDefault(); focusItem(current - 1); break;
      case "x": {
        const box = items()[current]?.querySelector(".queue-check");
        if (box) box.checked = !box.checked;
        break;
      }
      default: break;
    }
  });

  document.addEventListener("change", (event) => {
    if (!event.target.matches("[data-select-all]")) return;
    document.querySelectorAll("#queue .queue-check").forEach((box) => { box.checked = event.target.checked; });
  });

  // After HTMX swaps the queue in, keep the place (the next photo takes the reviewed one's index)
  // and the reason typed for rejecting, so a run of rejections for one reason needs it once.
  let reason = "";
  document.addEventListener("htmx:beforeRequest", () => {
    reason = document.getElementById("queue-reason")?.value || "";
  });
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.target.id !== "queue" && event.detail.target?.id !== "queue") return;
    const field = document.getElementById("queue-reason");
    if (field && reason) field.value = reason;
    focusItem(current);
  });
  document.addEventListener("DOMContentLoaded", () => focusItem(0));
  if (document.readyState !== "loading") focusItem(0);
})();
