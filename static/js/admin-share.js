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
