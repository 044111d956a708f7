// "Copy" next to each share link: puts the full address on the clipboard.
document.addEventListener("click", async (event) => {
  const button = event.target.closest(".cs-copy");
  if (!button) return;
  const url = new URL(button.dataset.copy, window.location.origin).href;
  try {
    await navigator.clipboard.writeText(url);
    button.textContent = "Copied";
  } catch (_) {
    button.previousElementSibling?.select();
    button.textContent = "Press Ctrl+C";
  }
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
});

// A click in the address selects all of it (a listener here, not an inline onclick: the
// Content-Security-Policy refuses inline event handlers).
document.addEventListener("click", (event) => {
  const field = event.target.closest(".cs-share-url");
  if (field) field.select();
});
