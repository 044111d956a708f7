// Gallery pages: blurhash placeholders, masonry, slideshow and the PhotoSwipe lightbox.
// Everything works without this file (server-rendered pages and links); it only makes them nicer.
const script = document.getElementById("gallery-script");
const urls = script ? script.dataset : {};
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

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

// --- Masonry ---------------------------------------------------------------------------------
// Photos are dealt in reading order, each to the shortest column, so the order stays left to right
// and top to bottom. Once the last page is in, the bottom edge is evened: the last photos (about
// two rows, never the first row) may take another column where that leaves the columns closer, and
// the photos at each column's end are cropped a little (object-fit: cover, at most a fifth of a
// height) to end every column on the same line. A gallery of less than two rows may stay a little
// uneven rather than lose more of its photos. Only the end moves,
// so the photos above keep their places while pages are appended (no layout shift). Every box has
// whole-pixel sizes and places: no sub-pixel edge, so no sliver of placeholder under a photo.
const MASONRY_TAIL = 4; // the photos at a column's end that share the evening
const MASONRY_MAX_CROP = 0.2; // at most this share of a photo's height is added or cut
const MASONRY_REDEAL = 12; // how many of the last photos may change column (about two rows)
const MASONRY_ROUNDS = 12; // rounds of moves tried for them, at most

function columnBottom(column, gap) {
  return column.reduce((sum, entry) => sum + entry.h, 0) + gap * Math.max(0, column.length - 1);
}

function tailHeight(column) {
  return column.slice(-MASONRY_TAIL).reduce((sum, entry) => sum + entry.h, 0);
}

// The common bottom line that asks the least of any one column (relative to its end photos), and
// what it asks: the largest share of a height to add or cut. Columns with no photo do not count.
function evenLine(bottoms, tails) {
  const used = bottoms.map((b, i) => i).filter((i) => tails[i] > 0);
  if (used.length < 2) return { line: bottoms[used[0]] || 0, cost: 0 };
  const candidates = used.map((i) => bottoms[i]);
  for (const i of used) {
    for (const j of used) {
      if (i < j) candidates.push((bottoms[i] * tails[j] + bottoms[j] * tails[i]) / (tails[i] + tails[j]));
    }
  }
  let best = { line: candidates[0], cost: Infinity };
  for (const line of candidates) {
    let cost = 0;
    for (const i of used) cost = Math.max(cost, Math.abs(line - bottoms[i]) / tails[i]);
    if (cost < best.cost) best = { line, cost };
  }
  return best;
}

function dealMasonry(heights, count, gap, finished) {
  const columns = Array.from({ length: count }, () => []);
  const tops = new Array(count).fill(0);
  const put = (index, c) => {
    columns[c].push({ index, h: heights[index](c) });
    tops[c] += columns[c].at(-1).h + gap;
  };
  const shortest = () => tops.indexOf(Math.min(...tops));
  // The first row always reads left to right: only photos after it are dealt again.
  const redeal = finished ? Math.max(0, Math.min(MASONRY_REDEAL, heights.length - count)) : 0;
  const head = heights.length - redeal;
  for (let i = 0; i < head; i += 1) put(i, shortest());
  if (!redeal) return columns;

  // The last photos: shortest-first, unless moving some of them to other columns evens the end
  // clearly better (tried one move or one swap at a time, while it helps).
  // Only each column's bottom and its last few heights matter, so a trial copies no more.
  const ends = columns.map((column) => ({
    bottom: columnBottom(column, gap),
    count: column.length,
    tail: column.slice(-MASONRY_TAIL).map((entry) => entry.h),
  }));
  const cost = (choice) => {
    const trial = ends.map((end) => ({ ...end, tail: end.tail.slice() }));
    choice.forEach((c, k) => {
      const h = heights[head + k](c);
      trial[c].bottom += (trial[c].count ? gap : 0) + h;
      trial[c].count += 1;
      trial[c].tail.push(h);
    });
    return evenLine(
      trial.map((end) => end.bottom),
      trial.map((end) => end.tail.slice(-MASONRY_TAIL).reduce((sum, h) => sum + h, 0)),
    ).cost;
  };
  const greedy = [];
  const trialTops = tops.slice();
  for (let k = 0; k < redeal; k += 1) {
    const c = trialTops.indexOf(Math.min(...trialTops));
    greedy.push(c);
    trialTops[c] += heights[head + k](c) + gap;
  }
  let best = { choice: greedy, cost: cost(greedy) - 0.02 }; // reading order wins a near tie
  for (let round = 0, better = true; better && round < MASONRY_ROUNDS; round += 1) {
    better = false;
    const tries = [];
    for (let k = 0; k < redeal; k += 1) {
      for (let c = 0; c < count; c += 1) if (c !== best.choice[k]) tries.push([[k, c]]);
      for (let j = k + 1; j < redeal; j += 1) {
        if (best.choice[j] !== best.choice[k]) tries.push([[k, best.choice[j]], [j, best.choice[k]]]);
      }
    }
    for (const moves of tries) {
      const choice = best.choice.slice();
      for (const [k, c] of moves) choice[k] = c;
      const c = cost(choice);
      if (c < best.cost - 1e-9) {
        best = { choice, cost: c };
        better = true;
      }
    }
  }
  best.choice.forEach((c, k) => put(head + k, c));
  return columns;
}

function evenBottoms(columns, gap) {
  const bottoms = columns.map((column) => columnBottom(column, gap));
  const tails = columns.map(tailHeight);
  const { line } = evenLine(bottoms, tails);
  const target = Math.round(line);
  columns.forEach((column, c) => {
    if (!column.length) return;
    const limit = Math.floor(MASONRY_MAX_CROP * tails[c]);
    const change = Math.max(-limit, Math.min(limit, target - bottoms[c]));
    const tail = column.slice(-MASONRY_TAIL);
    let left = change;
    tail.forEach((entry, k) => {
      const share = k === tail.length - 1 ? left : Math.round((change * entry.h) / tails[c]);
      entry.h = Math.max(1, entry.h + share);
      left -= share;
    });
  });
}

function layoutMasonry(grid) {
  const items = Array.from(grid.querySelectorAll(":scope > .item"));
  const width = grid.clientWidth;
  if (!width) return;
  const gap = Math.round(parseFloat(getComputedStyle(grid).columnGap) || 8);
  const minColumn = width < 600 ? 150 : width < 1200 ? 240 : 280;
  const count = Math.max(2, Math.floor((width + gap) / (minColumn + gap)));
  // Whole pixels: the first columns are one pixel wider where the width does not divide evenly.
  const inner = width - gap * (count - 1);
  const base = Math.floor(inner / count);
  const wider = inner - base * count;
  const columnWidth = (c) => base + (c < wider ? 1 : 0);
  const columnX = (c) => c * (base + gap) + Math.min(c, wider);
  const heights = items.map((item) => {
    const ratio = parseFloat(item.style.getPropertyValue("--ar")) || 1;
    return (c) => Math.max(1, Math.round(columnWidth(c) / ratio));
  });
  const sentinel = grid.querySelector(":scope > .sentinel");
  const columns = dealMasonry(heights, count, gap, !sentinel);
  if (!sentinel) evenBottoms(columns, gap);
  let height = 0;
  columns.forEach((column, c) => {
    let y = 0;
    for (const { index, h } of column) {
      const item = items[index];
      item.style.width = `${columnWidth(c)}px`;
      item.style.setProperty("--h", `${h}px`);
      item.style.transform = `translate(${columnX(c)}px, ${y}px)`;
      item.dataset.placed = "";
      y += h + gap;
    }
    height = Math.max(height, y - gap);
  });
  if (sentinel) sentinel.style.top = `${height + gap}px`;
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
// One photo at a time on a stage as large as the screen allows, a strip of thumbnails, fullscreen
// where the browser has it, and autoplay. With reduced motion the photos change without a fade and
// autoplay never starts by itself (only the Play button starts it).
const SLIDE_SECONDS = 5;

function smallestSource(slide) {
  const source = slide.querySelector('source[type="image/webp"]') || slide.querySelector("source");
  const candidates = (source?.getAttribute("srcset") || "")
    .split(",")
    .map((part) => part.trim().split(/\s+/))
    .filter(([url]) => url)
    .map(([url, w]) => ({ url, w: parseInt(w, 10) || Infinity }))
    .sort((a, b) => a.w - b.w);
  return candidates[0]?.url || slide.querySelector("img")?.getAttribute("src") || "";
}

function initSlideshow(root) {
  if (root.dataset.ready) return;
  root.dataset.ready = "1";
  const slidesEl = root.querySelector(".slides");
  const count = root.querySelector(".ss-count");
  const play = root.querySelector(".ss-play");
  const playLabel = play.querySelector(".ss-label") || play;
  const strip = root.querySelector(".ss-strip");
  const fullscreen = root.querySelector(".ss-fullscreen");
  const total = Number(root.closest("[data-count]")?.dataset.count || 0);
  let index = 0;
  let timer = null;
  const slides = () => Array.from(slidesEl.querySelectorAll(":scope > .item"));

  function wake(slide) {
    if (!slide) return;
    for (const img of slide.querySelectorAll('img[loading="lazy"]')) img.loading = "eager";
  }

  // The strip mirrors the slides loaded so far; one thumbnail (the current one) is in the tab order.
  function syncStrip() {
    if (!strip) return;
    const all = slides();
    for (let i = strip.children.length; i < all.length; i += 1) {
      const slide = all[i];
      const label = slide.querySelector(".photo-link")?.getAttribute("aria-label") || "";
      const thumb = document.createElement("button");
      thumb.type = "button";
      thumb.className = "ss-thumb";
      thumb.tabIndex = -1;
      thumb.setAttribute("aria-label", `Photo ${i + 1}${label ? `: ${label}` : ""}`);
      thumb.style.setProperty("--ph", slide.querySelector(".ph")?.style.getPropertyValue("--ph") || "");
      const src = smallestSource(slide);
      if (src) {
        const img = document.createElement("img");
        img.src = src;
        img.alt = "";
        img.loading = "lazy";
        img.decoding = "async";
        thumb.append(img);
      }
      thumb.addEventListener("click", () => {
        toggle(false);
        show(i);
      });
      strip.append(thumb);
    }
    strip.hidden = all.length < 2;
  }

  function markThumb(moveFocus) {
    if (!strip) return;
    const thumbs = Array.from(strip.children);
    thumbs.forEach((thumb, j) => {
      if (j === index) thumb.setAttribute("aria-current", "true");
      else thumb.removeAttribute("aria-current");
      thumb.tabIndex = j === index ? 0 : -1;
    });
    const current = thumbs[index];
    if (!current) return;
    // Scroll the strip alone (scrollIntoView would scroll the page too).
    const left = current.offsetLeft - (strip.clientWidth - current.offsetWidth) / 2;
    strip.scrollTo({ left: Math.max(0, left), behavior: reducedMotion.matches || !moveFocus ? "auto" : "smooth" });
    if (moveFocus) current.focus({ preventScroll: true });
  }

  function show(i, { animate = true } = {}) {
    const all = slides();
    if (!all.length) return;
    const sentinel = slidesEl.querySelector(".sentinel");
    if (i >= all.length && sentinel) i = all.length - 1; // the next page is on its way
    const focusInStrip = strip?.contains(document.activeElement);
    index = (i + all.length) % all.length;
    root.classList.toggle("ss-fade", animate && !reducedMotion.matches);
    all.forEach((slide, j) => slide.classList.toggle("is-current", j === index));
    wake(all[index]);
    wake(all[index + 1]); // the next photo is loaded before it is needed
    count.textContent = `${index + 1} / ${total || all.length}`;
    markThumb(focusInStrip);
    if (sentinel && index >= all.length - 3 && window.htmx) window.htmx.trigger(sentinel, "load-more");
  }

  function toggle(on) {
    clearInterval(timer);
    timer = on ? setInterval(() => show(index + 1), SLIDE_SECONDS * 1000) : null;
    play.setAttribute("aria-pressed", on ? "true" : "false");
    playLabel.textContent = on ? "Pause" : "Play";
  }

  // Fullscreen only where the browser offers it for an element (not on iPhone Safari, for one).
  if (fullscreen && document.fullscreenEnabled && root.requestFullscreen) {
    fullscreen.hidden = false;
    fullscreen.addEventListener("click", () => {
      if (document.fullscreenElement === root) document.exitFullscreen();
      else root.requestFullscreen().catch(() => {});
    });
    document.addEventListener("fullscreenchange", () => {
      const on = document.fullscreenElement === root;
      fullscreen.setAttribute("aria-pressed", on ? "true" : "false");
      // A full screen is a presentation: it plays by itself, unless the visitor asked for calm;
      // leaving it stops the show.
      toggle(on && !reducedMotion.matches);
      markThumb(false);
    });
  }

  root.querySelector(".ss-prev").addEventListener("click", () => show(index - 1));
  root.querySelector(".ss-next").addEventListener("click", () => show(index + 1));
  play.addEventListener("click", () => toggle(!timer));
  document.addEventListener("visibilitychange", () => document.hidden && toggle(false));
  root.slideshow = {
    show,
    next: () => show(index + 1),
    prev: () => show(index - 1),
    first: () => show(0),
    last: () => show(slides().length - 1),
    stop: () => toggle(false),
    sync: () => {
      syncStrip();
      markThumb(false);
    },
  };

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
      toggle(false);
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
  syncStrip();
  show(0, { animate: false });
}

document.addEventListener("keydown", (e) => {
  if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || document.querySelector(".pswp--open")) return;
  if (["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName)) return;
  const slideshow = document.querySelector("[data-slideshow]");
  if (slideshow?.slideshow) {
    const go = {
      ArrowRight: "next",
      ArrowLeft: "prev",
      // Home and End only from inside the slideshow: elsewhere they scroll the page.
      Home: slideshow.contains(document.activeElement) && "first",
      End: slideshow.contains(document.activeElement) && "last",
    }[e.key];
    if (go) {
      e.preventDefault();
      slideshow.slideshow.stop();
      slideshow.slideshow[go]();
      return;
    }
  }
  const link = document.querySelector(`a[data-key="${e.key}"]`);
  if (link) link.click(); // previous / next on a photo's own page
});

// --- Lightbox -----------------------------------------------------------------------------
// An opaque, calm stage: the page never shows through, and the photo keeps clear of the bar and
// the caption. The dialog is named after the gallery. Favourites and downloads act on the photo
// on screen; a download appears only when the photo's tile offers one (data-download on .item).
let lightbox = null;

const ICONS = {
  heart:
    '<svg class="cs-icn" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">' +
    '<path class="cs-heart" d="M12 20.6 10.6 19.3C5.6 14.8 2.5 12 2.5 8.4 2.5 5.6 4.7 3.4 7.5 3.4c1.7 0 3.3.8 4.5 2 1.2-1.2 2.8-2 4.5-2 2.8 0 5 2.2 5 5 0 3.6-3.1 6.4-8.1 10.9z"/>' +
    '<path class="cs-check" d="m8.2 11.6 2.6 2.6 5-5.2"/></svg>',
  download:
    '<svg class="cs-icn" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">' +
    '<path d="M12 3.5v11m-4.5-4.5L12 14.5l4.5-4.5M4.5 16.5v3h15v-3"/></svg>',
};

function tileOf(pswp) {
  return pswp.currSlide?.data.element?.closest(".item") || null;
}

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
    bgOpacity: 1,
    returnFocus: true,
    closeTitle: "Close (Esc)",
    zoomTitle: "Zoom in or out",
    arrowPrevTitle: "Previous (←)",
    arrowNextTitle: "Next (→)",
    errorMsg: "This photo could not be loaded.",
    counter: false, // our own counter (below) counts the whole gallery, not the photos loaded so far
    // Keep the photo clear of the bar above and the caption below (on phones the photo may use the
    // whole width; the arrows are hidden there and a swipe moves on).
    paddingFn: (viewport, itemData) => {
      const phone = viewport.x < 600;
      const caption = Boolean(itemData.element?.dataset.caption);
      return {
        top: phone ? 56 : 64,
        bottom: caption ? (phone ? 64 : 72) : phone ? 16 : 24,
        left: phone ? 0 : 72,
        right: phone ? 0 : 72,
      };
    },
  });
  lightbox.on("uiRegister", () => {
    const pswp = lightbox.pswp;
    const title = content.dataset.title || document.title;
    pswp.element.setAttribute("aria-label", `Photo viewer: ${title}`);
    pswp.element.setAttribute("aria-modal", "true");
    pswp.scrollWrap.setAttribute("aria-label", "Photos");
    if (window.csFavourites) {
      // The heart in the lightbox favours the photo on screen. Chosen: a filled heart with a tick
      // on a light pill, "Chosen"; not chosen: an outline on the dark bar, "Favourite". Clear
      // without colour; its name stays "Favourite" and aria-pressed says the state.
      pswp.ui.registerElement({
        name: "heart",
        order: 8,
        isButton: true,
        ariaLabel: "Favourite",
        html: `${ICONS.heart}<span class="cs-btn-text"><span class="cs-off">Favourite</span><span class="cs-on">Chosen</span></span>`,
        onClick: () => {
          const tile = tileOf(pswp);
          if (tile) window.csFavourites.toggle(tile.dataset.id);
        },
        onInit: (el) => {
          const update = () => {
            const id = tileOf(pswp)?.dataset.id;
            const on = Boolean(id && window.csFavourites.chosen().has(id));
            el.classList.toggle("is-on", on);
            el.setAttribute("aria-pressed", on ? "true" : "false");
            el.title = on ? "Chosen: click to remove from your favourites" : "Add to your favourites";
          };
          pswp.on("change", update);
          document.addEventListener("favourites:change", update);
          pswp.on("destroy", () => document.removeEventListener("favourites:change", update));
        },
      });
    }
    pswp.ui.registerElement({
      name: "count",
      className: "pswp__counter",
      order: 5,
      onInit: (el) => {
        pswp.on("change", () => {
          const total = Math.max(Number(content.dataset.count) || 0, pswp.getNumItems());
          el.textContent = `${pswp.currIndex + 1} / ${total}`;
        });
      },
    });
    pswp.ui.registerElement({
      name: "download",
      order: 7,
      isButton: true,
      tagName: "a",
      html: `${ICONS.download}<span class="cs-btn-text">Download</span>`,
      onInit: (el) => {
        const text = el.querySelector(".cs-btn-text");
        const update = () => {
          const tile = tileOf(pswp);
          const url = tile?.dataset.download;
          el.hidden = !url;
          if (!url) {
            el.removeAttribute("href");
            return;
          }
          const label = tile.dataset.downloadLabel || "Download";
          el.href = url;
          el.setAttribute("download", "");
          el.setAttribute("aria-label", label);
          el.title = label;
          text.textContent = label;
        };
        update();
        pswp.on("change", update);
      },
    });
    pswp.ui.registerElement({
      name: "custom-caption",
      order: 9,
      isButton: false,
      appendTo: "root",
      onInit: (el) => {
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
    const pswp = lightbox.pswp;
    const el = pswp.currSlide?.data.element;
    if (el) history.replaceState(history.state, "", el.getAttribute("href"));
    // Near the end of the photos loaded so far, the next page comes (as scrolling would bring it).
    // Its address is relative to the gallery's, not to the photo's now in the address bar.
    const sentinel = content.querySelector(".sentinel:not(.htmx-request)");
    if (sentinel && window.htmx && returnUrl && pswp.currIndex >= pswp.getNumItems() - 3) {
      const url = new URL(sentinel.getAttribute("hx-get"), returnUrl);
      window.htmx.ajax("GET", url.pathname + url.search, { source: sentinel, target: sentinel, swap: "outerHTML" });
    }
  });
  lightbox.on("close", () => {
    if (returnUrl) history.replaceState(history.state, "", returnUrl);
  });
  lightbox.init();
  content.dataset.lightbox = "ready"; // clicks open the lightbox from now on (until then, the photo's page)
}

// Photos appended while the lightbox is open join it: the DOM is read again, and the slides next
// to the current one (which may have looped round to the first photo) are built again.
function lightboxTakeNewPhotos() {
  const pswp = lightbox?.pswp;
  if (!pswp || !pswp.isOpen || !pswp.options.dataSource?.gallery) return;
  const before = pswp.getNumItems();
  pswp.options.dataSource.items = undefined;
  if (pswp.getNumItems() === before) return;
  pswp.refreshSlideContent(pswp.getLoopedIndex(pswp.currIndex + 1));
  pswp.refreshSlideContent(pswp.getLoopedIndex(pswp.currIndex - 1));
}

// --- Wiring -------------------------------------------------------------------------------
function layoutAll() {
  for (const grid of document.querySelectorAll("[data-masonry]")) {
    layoutMasonry(grid);
    masonryObserver.observe(grid);
  }
}

function enhance(root) {
  paintPlaceholders(root);
  revealImages(root);
  layoutAll();
  for (const slideshow of document.querySelectorAll("[data-slideshow]")) {
    initSlideshow(slideshow);
    slideshow.slideshow?.sync();
  }
}

enhance(document);
initLightbox();
// New photos are placed as soon as they are in the page (before HTMX settles), so they never
// show at the grid's corner.
document.body.addEventListener("htmx:afterSwap", layoutAll);
document.body.addEventListener("htmx:afterSettle", (e) => {
  enhance(document);
  lightboxTakeNewPhotos();
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
