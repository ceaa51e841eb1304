// tus-js-client's own use of the concatenation extension: `parallelUploads: 3` sends three partial uploads side by
// side, then declares the final upload that joins them (after every part has finished). Prints
// {"client":"tus-js-client parallelUploads","id":…,"parts":3}.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import * as tus from 'tus-js-client';

const [endpoint, file] = process.argv.slice(2);
if (!endpoint || !file) {
  console.error('usage: node parallel.mjs ENDPOINT FILE');
  process.exit(2);
}
const data = readFileSync(file);
const partials = [];
const url = await new Promise((resolve, reject) => {
  const upload = new tus.Upload(data, {
    endpoint,
    parallelUploads: 3,
    chunkSize: 128 * 1024,
    metadata: { filename: basename(file), filetype: 'video/mp4' },
    retryDelays: [0, 500, 1000],
    onAfterResponse(req) {
      if (req.getMethod() === 'POST' && req.getHeader('Upload-Concat') === 'partial') partials.push(req.getURL());
    },
    onSuccess: () => resolve(upload.url),
    onError: reject,
  });
  upload.start();
});
if (partials.length !== 3) throw new Error(`expected 3 partial uploads, saw ${partials.length}`);
console.log(JSON.stringify({ client: 'tus-js-client parallelUploads', id: url.split('/').pop(), parts: partials.length }));
