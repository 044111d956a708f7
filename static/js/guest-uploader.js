// A guest's drop box on a share link: Uppy over tus to /s/<token>/tus/, with the guest's name.
(async function () {
  const root = document.getElementById("guest-uploader");
  if (!root) return;
  const cfg = root.dataset;
  const nameInput = document.getElementById("guest-name");
  const done = document.getElementById("guest-done");
  nameInput.value = localStorage.getItem("cs-guest-name") || "";
  const { Uppy, Dashboard, Tus } = await import(cfg.uppyModule);
  const uppy = new Uppy({
    autoProceed: false,
    restrictions: { maxFileSize: Number(cfg.maxSize), maxNumberOfFiles: Number(cfg.maxFiles) || null,
                    allowedFileTypes: ["image/*", ".heic", ".heif", ".avif"] },
    onBeforeUpload: (files) => {
      const name = nameInput.value.trim();
      if (!name) {
        uppy.info("Please enter your name first.", "error", 5000);
        nameInput.focus();
        return false;
      }
      localStorage.setItem("cs-guest-name", name);
      for (const file of Object.values(files)) file.meta = { ...file.meta, guest: name, filename: file.name };
      return files;
    },
  })
    .use(Dashboard, { inline: true, target: "#guest-uploader", width: "100%", height: 380, proudlyDisplayPoweredByUppy: false,
                      theme: "auto", note: "Photos only; they appear in the gallery once approved." })
    .use(Tus, { endpoint: cfg.endpoint, limit: 2, chunkSize: Number(cfg.chunkSize), retryDelays: [0, 1000, 3000, 5000, 10000],
                allowedMetaFields: ["guest", "filename", "name"], removeFingerprintOnSuccess: true });
  uppy.on("upload-error", (file, error) => {
    let detail = "";
    try { detail = JSON.parse(error.originalResponse.getBody()).detail; } catch (_) { /* keep Uppy's message */ }
    if (detail) uppy.info(`${file.name}: ${detail}`, "error", 8000);
  });
  uppy.on("complete", (result) => {
    const n = result.successful.length;
    if (!n) return;
    done.hidden = false;
    done.textContent = `Thank you! ${n} photo${n === 1 ? "" : "s"} sent. They will appear once the photographer approves them.`;
  });
})();
