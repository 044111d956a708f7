// The admin's bulk uploader: Uppy's Dashboard over tus, a few uploads at a time, with retries,
// pause and resume, and resume after a reload (tus fingerprints in localStorage; Golden
// Retriever restores the file list). When a file is uploaded, its row in the list below
// polls the server (HTMX) until the photo's variants are built.
//
// Before anything is uploaded, each added file's SHA-256 is computed here and the sums are sent,
// in batches, to the gallery's check endpoint (POST /api/v1/galleries/{id}/photos/check): files
// the gallery already holds leave the list, and the page says "312 of 1,200 already stored".
// The server still hashes what it receives (a sum from a browser is never trusted); the check
// only saves sending bytes twice. Uploading waits for the check (an Uppy preprocessor).

// SHA-256 in pieces (FIPS 180-4), for files too large to hash in one go with crypto.subtle (which
// takes the whole file in memory) and for pages served over plain HTTP, where crypto.subtle is absent.
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

class Sha256 {
  constructor() {
    this.h = new Uint32Array([
      0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]);
    this.w = new Uint32Array(64);
    this.buf = new Uint8Array(64);
    this.bufLen = 0;
    this.bytes = 0;
  }

  update(data) {
    let i = 0;
    const n = data.length;
    this.bytes += n;
    if (this.bufLen) {
      const take = Math.min(64 - this.bufLen, n);
      this.buf.set(data.subarray(0, take), this.bufLen);
      this.bufLen += take;
      i = take;
      if (this.bufLen < 64) return;
      this.block(this.buf, 0);
      this.bufLen = 0;
    }
    for (; i + 64 <= n; i += 64) this.block(data, i);
    if (i < n) {
      this.buf.set(data.subarray(i), 0);
      this.bufLen = n - i;
    }
  }

  block(d, o) {
    const w = this.w;
    for (let t = 0; t < 16; t++) {
      const j = o + 4 * t;
      w[t] = (d[j] << 24) | (d[j + 1] << 16) | (d[j + 2] << 8) | d[j + 3];
    }
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15];
      const y = w[t - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
    }
    const h = this.h;
    let a = h[0], b = h[1], c = h[2], e = h[4], f = h[5], g = h[6], k = h[7], dd = h[3];
    for (let t = 0; t < 64; t++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (k + s1 + ((e & f) ^ (~e & g)) + K[t] + w[t]) | 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      k = g;
      g = f;
      f = e;
      e = (dd + t1) | 0;
      dd = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += dd; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
  }

  hex() {
    const bits = this.bytes;
    const pad = new Uint8Array((this.bufLen < 56 ? 56 : 120) - this.bufLen + 8);
    pad[0] = 0x80;
    const end = pad.length;
    const high = Math.floor(bits / 0x20000000); // the length in bits, as two 32-bit halves
    const low = (bits << 3) >>> 0;
    for (let i = 0; i < 4; i++) {
      pad[end - 8 + i] = (high >>> (24 - 8 * i)) & 0xff;
      pad[end - 4 + i] = (low >>> (24 - 8 * i)) & 0xff;
    }
    this.update(pad);
    return Array.from(this.h, (x) => x.toString(16).padStart(8, "0")).join("");
  }
}

const PIECE = 4 * 2 ** 20;

function hexOf(buffer) {
  return Array.from(new Uint8Array(buffer), (x) => x.toString(16).padStart(2, "0")).join("");
}

// The SHA-256 of a file: in one go by the browser's own code up to wholeMax bytes, else in pieces.
async function sha256Of(blob, wholeMax) {
  if (globalThis.crypto && crypto.subtle && blob.size <= wholeMax) {
    return hexOf(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
  }
  const hash = new Sha256();
  for (let offset = 0; offset < blob.size; offset += PIECE) {
    hash.update(new Uint8Array(await blob.slice(offset, offset + PIECE).arrayBuffer()));
  }
  return hash.hex();
}
globalThis.csSha256Of = sha256Of; // for the browser test of both ways

(async function () {
  "use strict";
  const root = document.getElementById("cs-uploader");
  if (!root) return;
  const cfg = root.dataset;
  const { Uppy, Dashboard, Tus, GoldenRetriever } = await import(cfg.uppyModule);
  const statusList = document.getElementById("upload-status");

  const uppy = new Uppy({
    id: `gallery-${cfg.gallery}`,
    autoProceed: false,
    restrictions: {
      maxFileSize: Number(cfg.maxSize),
      allowedFileTypes: cfg.allowedTypes.split(","),
    },
    meta: { gallery: cfg.gallery },
  })
    .use(Dashboard, {
      inline: true,
      target: "#cs-uploader",
      width: "100%",
      height: 460,
      showProgressDetails: true,
      proudlyDisplayPoweredByUppy: false,
      fileManagerSelectionType: "both", // files or whole folders
      note: cfg.note,
      theme: "auto",
    })
    .use(Tus, {
      endpoint: cfg.endpoint,
      // One file at a time, in the order chosen: the server places each photo at the end of the
      // gallery when its upload completes, so parallel uploads finishing out of turn landed as
      // 3, 2, 1, 4, 5 (issue 13). Each file still goes in resumable chunks; a file that fails for
      // good and is retried later goes to the end (the gallery page can sort by name or capture time).
      limit: 1,
      chunkSize: Number(cfg.chunkSize),
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
      headers: { "X-CSRFToken": cfg.csrf },
      allowedMetaFields: ["gallery", "name", "filename", "type"],
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
    })
    .use(GoldenRetriever, { serviceWorker: false });

  uppy.on("file-added", (file) => uppy.setFileMeta(file.id, { filename: file.name, gallery: cfg.gallery }));

  // --- Skip what the gallery already holds -----------------------------------------------------
  const checkStatus = document.getElementById("cs-upload-check");
  const number = (n) => n.toLocaleString("en-US");
  const check = { queue: [], running: null, hashed: 0, checked: 0, held: 0, off: !cfg.checkUrl };
  const BATCH = 100; // sums per request: held files leave the list while the rest are still hashed

  function say(text) {
    if (checkStatus) checkStatus.textContent = text;
  }

  async function askServer(items) {
    const sums = [...new Set(items.map((item) => item.sha))];
    const response = await fetch(cfg.checkUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": cfg.csrf, Accept: "application/json" },
      body: JSON.stringify({ sha256: sums }),
    });
    if (!response.ok) throw new Error(`the check answered ${response.status}`);
    const held = new Set((await response.json()).held);
    check.checked += items.length;
    const skipped = items.filter((item) => held.has(item.sha) && uppy.getFile(item.id));
    if (skipped.length) uppy.removeFiles(skipped.map((item) => item.id));
    check.held += skipped.length;
  }

  async function runChecks() {
    while (check.queue.length && !check.off) {
      const batch = [];
      while (check.queue.length && batch.length < BATCH) {
        const id = check.queue.shift();
        const file = uppy.getFile(id);
        if (!file) continue; // removed meanwhile
        try {
          batch.push({ id, sha: await sha256Of(file.data, Number(cfg.hashWholeMax)) });
        } catch (error) {
          console.info(`Not checked: ${file.name}`, error); // uploaded as usual; the server tells
        }
        check.hashed += 1;
        say(`Checking which files the gallery already holds: ${number(check.hashed)} of ${number(check.total)}…`);
      }
      if (!batch.length) continue;
      try {
        await askServer(batch);
      } catch (error) {
        // Not the owner (a superuser's upload to someone's gallery), offline, or an older server:
        // every file is uploaded, and the server still stores the same bytes only once.
        check.off = true;
        check.queue.length = 0;
        console.info("The gallery could not be checked before uploading:", error);
        say("");
        return;
      }
    }
    const left = check.checked - check.held;
    const skipped = check.held ? ": not uploaded again" : "";
    const message = `${number(check.held)} of ${number(check.checked)} already stored${skipped}.`;
    say(`${message} ${number(left)} to upload.`);
    if (check.held) uppy.info(message, "info", 8000);
  }

  function startChecks() {
    if (!check.running) {
      check.running = runChecks().finally(() => {
        check.running = null;
        if (check.queue.length && !check.off) startChecks();
      });
    }
    return check.running;
  }

  uppy.on("files-added", (files) => {
    if (check.off) return;
    const local = files.filter((file) => !file.isRemote && file.data instanceof Blob);
    if (!local.length) return;
    check.total = (check.total || 0) + local.length;
    check.queue.push(...local.map((file) => file.id));
    startChecks();
  });

  // Nothing goes up before the check is over; files it removed leave this upload too.
  uppy.addPreProcessor(async () => {
    while (check.running) await check.running;
  });

  // Show the server's own words for a refused file instead of a generic tus error.
  uppy.on("upload-error", (file, error, response) => {
    let detail = "";
    try {
      const body = error.originalResponse && error.originalResponse.getBody();
      detail = body ? JSON.parse(body).detail || body : "";
    } catch (_) {
      detail = (error.originalResponse && error.originalResponse.getBody()) || "";
    }
    if (detail) uppy.info(`${file.name}: ${detail}`, "error", 8000);
  });

  uppy.on("upload-success", (file, response) => {
    const url = response.uploadURL || "";
    const uploadId = url.replace(/\/+$/, "").split("/").pop();
    if (!uploadId || !statusList) return;
    const row = document.createElement("li");
    row.setAttribute("hx-get", cfg.statusUrl.replace("00000000-0000-0000-0000-000000000000", uploadId));
    row.setAttribute("hx-trigger", "load");
    row.setAttribute("hx-swap", "outerHTML");
    row.textContent = `${file.name}: uploaded, waiting for processing…`;
    statusList.prepend(row);
    if (window.htmx) window.htmx.process(row);
  });
})();
