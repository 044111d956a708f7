// Member pages (accounts/communities): HTMX swaps in answers to bad input too (400, 403, 404, 409),
// so the message the server wrote for a person appears where the form was, not nowhere.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if (status >= 400 && status < 500 && event.detail.target.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
