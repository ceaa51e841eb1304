// tus-js-client against Flick: upload a clip in chunks, abort part-way (mid-request), then resume with a
// new Upload that starts from the server's offset. Prints {"client":"tus-js-client","id":…,"resumedFrom":…}.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import * as tus from 'tus-js-client';

const [endpoint, file] = process.argv.slice(2);
if (!endpoint || !file) {
  console.error('usage: node upload.mjs ENDPOINT FILE');
  process.exit(2);
}
const data = readFileSync(file);
const chunkSize = 128 * 1024;
const metadata = { filename: basename(file), filetype: 'video/mp4' };

// First attempt: aborted once 40 % is acknowledged.
const url = await new Promise((resolve, reject) => {
  const upload = new tus.Upload(data, {
    endpoint,
    chunkSize,
    metadata,
    retryDelays: [0, 500, 1000],
    onProgress(sent, total) {
      if (sent >= total * 0.4 && upload.url) {
        upload.abort(false).then(() => resolve(upload.url), reject);
      }
    },
    onSuccess: () => reject(new Error('finished before the interruption')),
    onError: reject,
  });
  upload.start();
});

const head = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
const serverOffset = Number(head.headers.get('upload-offset'));
if (!(serverOffset > 0 && serverOffset < data.length)) {
  throw new Error(`unexpected server offset after the interruption: ${serverOffset}`);
}

// Second attempt: a new Upload given the URL asks the server (HEAD) and continues from its offset.
let resumedFrom = null;
await new Promise((resolve, reject) => {
  const upload = new tus.Upload(data, {
    uploadUrl: url,
    chunkSize,
    metadata,
    retryDelays: [0, 500, 1000],
    onChunkComplete(size, accepted) {
      if (resumedFrom === null) resumedFrom = accepted - size;
    },
    onSuccess: resolve,
    onError: reject,
  });
  upload.start();
});
if (resumedFrom === null || resumedFrom < serverOffset) {
  throw new Error(`started over: resumed from ${resumedFrom}, the server had ${serverOffset}`);
}
const id = url.split('/').pop();
console.log(JSON.stringify({ client: 'tus-js-client', id, resumedFrom }));
