// Gallery pages: blurhash placeholders, masonry, slideshow and the PhotoSwipe lightbox.
// Everything works without this file (server-rendered pages and links); it only makes them nicer.
const script = document.getElementById("gallery-script");
const urls = script ? script.dataset : {};

// --- Placeholders ----------------------------------------------------------------------------
let decodeBlurhash = null;

async function paintPlaceholders(root) {
  const canvases = root.querySelectorAll("canvas[data-blurhash]:not([data-painted])");
  if (!canvases.length || !urls.blurhash) return;
  if (!decodeBlurhash) decodeBlurhash = (await import(urls.blurhash)).decode;
  for (const canvas of canvases) {
    canvas.dataset.painted = "1";
    const img = canvas.parentElement.querySelector("img");
    if (img && img.complete && img.naturalWidth) continue; // already here: no need
    try {
      const pixels = decodeBlurhash(canvas.dataset.blurhash, 32, 32);
      const ctx = canvas.getContext("2d");
      const data = ctx.createImageData(32, 32);
      data.data.set(pixels);
      ctx.putImageData(data, 0, 0);
    } catch (_) {
      /* a malformed hash leaves the average colour */
    }
  }
}

function revealImages(root) {
  for (const img of root.querySelectorAll(".ph img:not(.is-loaded)")) {
    if (img.complete && img.naturalWidth) img.classList.add("is-loaded");
    else img.addEventListener("load", () => img.classList.add("is-loaded"), { once: true });
  }
}

// --- Masonry: columns filled shortest-first, so the reading order stays left to right -------
function layoutMasonry(grid) {
  const items = grid.querySelectorAll(":scope > .item");
  const width = grid.clientWidth;
  if (!width) return;
  const gap = parseFloat(getComputedStyle(grid).columnGap) || 8;
  const minColumn = width < 600 ? 150 : width < 1200 ? 240 : 280;
  const columns = Math.max(2, Math.floor((width + gap) / (minColumn + gap)));
  const columnWidth = (width - gap * (columns - 1)) / columns;
  const heights = new Array(columns).fill(0);
  for (const item of items) {
    const ratio = parseFloat(item.style.getPropertyValue("--ar")) || 1;
    const column = heights.indexOf(Math.min(...heights));
    item.style.width = `${columnWidth}px`;
    item.style.transform = `translate(${column * (columnWidth + gap)}px, ${heights[column]}px)`;
    heights[column] += columnWidth / ratio + gap;
  }
  const height = Math.max(0, ...heights);
  const sentinel = grid.querySelector(":scope > .sentinel");
  if (sentinel) sentinel.style.top = `${height}px`;
  grid.style.height = `${height + (sentinel ? 72 : 0)}px`;
  grid.classList.add("is-laid-out");
}

const masonryObserver = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const grid = entry.target;
    if (grid.dataset.width !== String(Math.round(entry.contentRect.width))) {
      grid.dataset.width = String(Math.round(entry.contentRect.width));
      layoutMasonry(grid);
    }
  }
});

// --- Slideshow --------------------------------------------------------------------------------
function initSlideshow(root) {
  if (root.dataset.ready) return;
  root.dataset.ready = "1";
  const slidesEl = root.querySelector(".slides");
  const count = root.querySelector(".ss-count");
  const play = root.querySelector(".ss-play");
  const total = Number(root.closest("[data-count]")?.dataset.count || 0);
  let index = 0;
  let timer = null;
  const slides = () => Array.from(slidesEl.querySelectorAll(":scope > .item"));

  function wake(slide) {
    if (!slide) return;
    for (const img of slide.querySelectorAll('img[loading="lazy"]')) img.loading = "eager";
  }

  function show(i) {
    const all = slides();
    if (!all.length) return;
    const sentinel = slidesEl.querySelector(".sentinel");
    if (i >= all.length && sentinel) i = all.length - 1; // the next page is on its way
    index = (i + all.length) % all.length;
    all.forEach((slide, j) => slide.classList.toggle("is-current", j === index));
    wake(all[index]);
    wake(all[index + 1]); // the next photo is loaded before it is needed
    count.textContent = `${index + 1} / ${total || all.length}`;
    if (sentinel && index >= all.length - 3 && window.htmx) window.htmx.trigger(sentinel, "load-more");
  }

  function toggle(on) {
    clearInterval(timer);
    timer = on ? setInterval(() => show(index + 1), 4000) : null;
    play.setAttribute("aria-pressed", on ? "true" : "false");
    play.textContent = on ? "Pause" : "Play";
  }

  root.querySelector(".ss-prev").addEventListener("click", () => show(index - 1));
  root.querySelector(".ss-next").addEventListener("click", () => show(index + 1));
  play.addEventListener("click", () => toggle(!timer));
  document.addEventListener("visibilitychange", () => document.hidden && toggle(false));
  root.slideshow = { show, next: () => show(index + 1), prev: () => show(index - 1), stop: () => toggle(false) };

  let startX = null;
  let swiped = false;
  slidesEl.addEventListener("pointerdown", (e) => {
    startX = e.clientX;
    swiped = false;
  });
  slidesEl.addEventListener("pointerup", (e) => {
    if (startX === null) return;
    const dx = e.clientX - startX;
    startX = null;
    if (Math.abs(dx) > 50) {
      swiped = true;
      show(index + (dx < 0 ? 1 : -1));
    }
  });
  // A swipe is not a click: it must not open the lightbox.
  slidesEl.addEventListener(
    "click",
    (e) => {
      if (swiped) {
        e.preventDefault();
        e.stopPropagation();
        swiped = false;
      }
    },
    true,
  );
  slidesEl.addEventListener("dragstart", (e) => e.preventDefault());
  show(0);
}

document.addEventListener("keydown", (e) => {
  if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || document.querySelector(".pswp--open")) return;
  if (["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName)) return;
  const slideshow = document.querySelector("[data-slideshow]");
  if (slideshow?.slideshow && (e.key === "ArrowRight" || e.key === "ArrowLeft")) {
    e.preventDefault();
    slideshow.slideshow.stop();
    e.key === "ArrowRight" ? slideshow.slideshow.next() : slideshow.slideshow.prev();
    return;
  }
  const link = document.querySelector(`a[data-key="${e.key}"]`);
  if (link) link.click(); // previous / next on a photo's own page
});

// --- Lightbox -----------------------------------------------------------------------------
let lightbox = null;

async function initLightbox() {
  const content = document.getElementById("gallery-content");
  if (!content || !urls.photoswipeLightbox) return;
  if (lightbox) lightbox.destroy();
  const { default: PhotoSwipeLightbox } = await import(urls.photoswipeLightbox);
  let returnUrl = null;
  lightbox = new PhotoSwipeLightbox({
    gallery: "#gallery-content",
    children: "a.photo-link:not([data-video])",
    pswpModule: () => import(urls.photoswipe),
    showHideAnimationType: "fade",
    bgOpacity: 0.94,
    returnFocus: true,
    closeTitle: "Close (Esc)",
    arrowPrevTitle: "Previous (←)",
    arrowNextTitle: "Next (→)",
  });
  lightbox.on("uiRegister", () => {
    if (window.csFavourites) {
      // The heart in the lightbox favours the photo on screen.
      lightbox.pswp.ui.registerElement({
        name: "heart",
        order: 8,
        isButton: true,
        html: "♥",
        title: "Favourite",
        onClick: () => {
          const el = lightbox.pswp.currSlide?.data.element;
          if (el) window.csFavourites.toggle(el.closest(".item").dataset.id);
        },
        onInit: (el, pswp) => {
          const update = () => {
            const id = pswp.currSlide?.data.element?.closest(".item")?.dataset.id;
            const on = id && window.csFavourites.chosen().has(id);
            el.classList.toggle("is-on", Boolean(on));
            el.setAttribute("aria-pressed", on ? "true" : "false");
          };
          pswp.on("change", update);
          document.addEventListener("favourites:change", update);
        },
      });
    }
    lightbox.pswp.ui.registerElement({
      name: "custom-caption",
      order: 9,
      isButton: false,
      appendTo: "root",
      onInit: (el, pswp) => {
        el.setAttribute("aria-live", "polite");
        pswp.on("change", () => {
          el.textContent = pswp.currSlide?.data.element?.dataset.caption || "";
        });
      },
    });
  });
  lightbox.on("beforeOpen", () => {
    returnUrl = location.href;
    document.querySelector("[data-slideshow]")?.slideshow?.stop();
  });
  // The address follows the open photo, so it can be shared or reloaded (the photo's own page).
  lightbox.on("change", () => {
    const el = lightbox.pswp.currSlide?.data.element;
    if (el) history.replaceState(history.state, "", el.getAttribute("href"));
  });
  lightbox.on("close", () => {
    if (returnUrl) history.replaceState(history.state, "", returnUrl);
  });
  lightbox.init();
}

// --- Wiring -------------------------------------------------------------------------------
function enhance(root) {
  paintPlaceholders(root);
  revealImages(root);
  for (const grid of document.querySelectorAll("[data-masonry]")) {
    layoutMasonry(grid);
    masonryObserver.observe(grid);
  }
  for (const slideshow of document.querySelectorAll("[data-slideshow]")) initSlideshow(slideshow);
}

enhance(document);
initLightbox();
document.body.addEventListener("htmx:afterSettle", (e) => {
  enhance(document);
  if (e.target.id === "gallery-content" || e.detail?.target?.id === "gallery-content") {
    initLightbox();
    const layout = document.getElementById("gallery-content").dataset.layout;
    for (const a of document.querySelectorAll(".layout-switch a")) {
      if (a.classList.contains(`layout-${layout}`)) a.setAttribute("aria-current", "true");
      else a.removeAttribute("aria-current");
    }
  }
});
document.body.addEventListener("htmx:historyRestore", () => {
  enhance(document);
  initLightbox();
});
