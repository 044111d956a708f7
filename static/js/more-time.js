// "Request more time" on a shared gallery: HTMX posts the form and swaps the answer into #more-time.
// htmx leaves error responses unswapped; a 429 ("You asked already today") is an answer to show.
// Then focus moves to the answer, since the button that had it is gone.
document.body.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.target.id === "more-time" && event.detail.xhr.status === 429) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
document.body.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target.id === "more-time") event.detail.target.querySelector(".more-time-note")?.focus();
});
