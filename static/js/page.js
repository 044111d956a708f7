// Loaded in <head> of every page, before the body is parsed (a file, not an inline script, so the
// Content-Security-Policy allows no inline script at all).
"use strict";
document.documentElement.classList.replace("no-js", "js");

// Pictures fade in once loaded (components/picture.html). Load events do not bubble, but a capturing
// listener on the document sees every image's, including images HTMX swaps in later.
document.addEventListener(
  "load",
  (event) => {
    const img = event.target;
    if (img instanceof HTMLImageElement && img.closest(".ph")) img.classList.add("is-loaded");
  },
  true,
);
