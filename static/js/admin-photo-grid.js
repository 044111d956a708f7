// The photo grid on a gallery's admin page. Dragging is django-admin-sortable2's (its script
// renumbers each card's hidden position on drop); this adds what it lacks: moving a card with
// buttons (keyboard users), "Select all", the target gallery only for "Move", and a question
// before a bulk delete.
(function () {
  "use strict";
  function renumber(grid) {
    grid.querySelectorAll(".inline-related.has_original").forEach((card, i) => {
      const input = card.querySelector("input._reorder_");
      if (input) input.value = String(i + 1);
    });
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest(".cs-move-earlier, .cs-move-later");
    if (button) {
      const card = button.closest(".inline-related.has_original");
      const grid = card.closest("fieldset");
      const cards = Array.from(grid.querySelectorAll(".inline-related.has_original"));
      const i = cards.indexOf(card);
      if (button.classList.contains("cs-move-earlier") && i > 0) cards[i - 1].before(card);
      if (button.classList.contains("cs-move-later") && i < cards.length - 1) cards[i + 1].after(card);
      renumber(grid);
      button.focus();
      return;
    }
    const all = event.target.closest(".cs-select-all");
    if (all) {
      const boxes = Array.from(document.querySelectorAll("input.cs-select"));
      const select = !boxes.every((box) => box.checked);
      boxes.forEach((box) => { box.checked = select; });
      all.setAttribute("aria-pressed", String(select));
      all.textContent = select ? "Select none" : "Select all";
    }
  });
  function showTarget() {
    const action = document.getElementById("cs-bulk-action");
    if (!action) return;
    document.querySelectorAll(".cs-target, .cs-target-label").forEach((el) => {
      el.hidden = action.value !== "move";
    });
  }
  document.addEventListener("change", (event) => {
    if (event.target.id === "cs-bulk-action") showTarget();
  });
  document.addEventListener("submit", (event) => {
    const submitter = event.submitter;
    if (!submitter || !submitter.classList.contains("cs-bulk-apply")) return;
    const action = document.getElementById("cs-bulk-action").value;
    const n = document.querySelectorAll("input.cs-select:checked").length;
    if (action === "delete" && !window.confirm(`Delete ${n} photo${n === 1 ? "" : "s"} for good?`)) {
      event.preventDefault();
    }
  });
  document.addEventListener("DOMContentLoaded", showTarget);
})();
