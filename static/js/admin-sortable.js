// Drag-to-reorder for the photo inline on a gallery's admin page. Rows are dragged by their
// handle; on drop, the position inputs are renumbered in the new order, and saving the form
// stores it. Keyboard users edit the position numbers directly.
(function () {
  "use strict";
  function init(group) {
    const tbody = group.querySelector("tbody");
    if (!tbody) return;
    let dragged = null;
    const rows = () => Array.from(tbody.querySelectorAll("tr.form-row:not(.empty-form)"));
    const renumber = () => rows().forEach((row, i) => {
      const input = row.querySelector("input[name$='-position']");
      if (input) input.value = i;
    });
    rows().forEach((row) => {
      const handle = row.querySelector(".cs-drag");
      if (!handle) return;
      handle.addEventListener("mousedown", () => { row.draggable = true; });
      row.addEventListener("dragstart", (e) => {
        dragged = row;
        row.classList.add("cs-dragging");
        e.dataTransfer.effectAllowed = "move";
      });
      row.addEventListener("dragend", () => {
        row.draggable = false;
        row.classList.remove("cs-dragging");
        rows().forEach((r) => r.classList.remove("cs-drop-target"));
        dragged = null;
      });
      row.addEventListener("dragover", (e) => {
        if (!dragged || dragged === row) return;
        e.preventDefault();
        rows().forEach((r) => r.classList.toggle("cs-drop-target", r === row));
      });
      row.addEventListener("drop", (e) => {
        if (!dragged || dragged === row) return;
        e.preventDefault();
        const after = rows().indexOf(dragged) < rows().indexOf(row);
        row.parentNode.insertBefore(dragged, after ? row.nextSibling : row);
        renumber();
      });
    });
  }
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".cs-sortable").forEach(init);
  });
})();
