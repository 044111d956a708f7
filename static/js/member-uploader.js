// A community member's drop (accounts/communities/drop.html): Uppy over tus to /c/<slug>/tus/,
// signed in by the session, so every request carries the CSRF token (the <body>'s hx-headers).
(async function () {
  const root = document.getElementById("member-uploader");
  if (!root) return;
  const cfg = root.dataset;
  const gallery = document.getElementById("drop-gallery");
  const done = document.getElementById("drop-done");
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  const { Uppy, Dashboard, Tus } = await import(cfg.uppyModule);
  const uppy = new Uppy({
    autoProceed: false,
    restrictions: { maxFileSize: Number(cfg.maxSize) || null, maxNumberOfFiles: Number(cfg.maxFiles) || null,
                    allowedFileTypes: ["image/*", ".heic", ".heif", ".avif"] },
    onBeforeUpload: (files) => {
      for (const file of Object.values(files)) file.meta = { ...file.meta, gallery: gallery.value, filename: file.name };
      return files;
    },
  })
    .use(Dashboard, { inline: true, target: "#member-uploader", width: "100%", height: 380, proudlyDisplayPoweredByUppy: false,
                      theme: "auto", note: cfg.trusted ? "Photos only; they appear at once." : "Photos only; they appear once a curator approves them." })
    .use(Tus, { endpoint: cfg.endpoint, limit: 2, chunkSize: Number(cfg.chunkSize), retryDelays: [0, 1000, 3000, 5000, 10000],
                headers: { "X-CSRFToken": csrf }, allowedMetaFields: ["gallery", "filename", "name"],
                removeFingerprintOnSuccess: true });
  uppy.on("upload-error", (file, error) => {
    let detail = "";
    try { detail = JSON.parse(error.originalResponse.getBody()).detail; } catch (_) { /* keep Uppy's message */ }
    if (detail) uppy.info(`${file.name}: ${detail}`, "error", 8000);
  });
  uppy.on("complete", (result) => {
    const n = result.successful.length;
    if (!n) return;
    done.hidden = false;
    done.textContent = cfg.trusted
      ? `${n} photo${n === 1 ? "" : "s"} added.`
      : `Thank you! ${n} photo${n === 1 ? "" : "s"} sent. A curator will look at them soon.`;
  });
})();
