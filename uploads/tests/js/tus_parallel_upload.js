// Upload one file with tus-js-client in parallel parts (the concatenation extension).
// Usage: node tus_parallel_upload.js <endpoint> <file> <json metadata> <json headers>
// Prints the final upload's URL on success; exits 1 with the error otherwise.
const fs = require("fs");
const tus = require("tus-js-client");

const [endpoint, path, metadata, headers] = process.argv.slice(2);
const data = fs.readFileSync(path);
const upload = new tus.Upload(data, {
  endpoint,
  parallelUploads: 2,
  metadata: JSON.parse(metadata),
  headers: JSON.parse(headers),
  retryDelays: [],
  onError(error) {
    console.error(String(error));
    process.exit(1);
  },
  onSuccess() {
    console.log(upload.url);
  },
});
upload.start();
