// The admin's bulk uploader: Uppy's Dashboard over tus, a few uploads at a time, with retries,
// pause and resume, and resume after a reload (tus fingerprints in localStorage; Golden
// Retriever restores the file list). When a file is uploaded, its row in the list below
// polls the server (HTMX) until the photo's variants are built.
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
