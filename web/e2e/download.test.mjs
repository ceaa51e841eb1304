// Downloading the original (issue 13, item 4), in real Chromium: where the site allows it, the share page offers a
// Download button, and what the browser saves is the exact file uploaded, named after the video's title.
//
//   node --test e2e/download.test.mjs      (from web/; see scripts/web-e2e.sh)

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CLIP, launchBrowser, preflight, startServer, watchedContext } from './helpers.mjs';

let server;
let browser;

before(async () => {
  preflight();
  server = await startServer({ FLICK_SHARE__ALLOW_DOWNLOAD: 'true' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe('download', () => {
  it('the share page offers the original, and the browser saves its exact bytes under the title', async () => {
    const original = readFileSync(CLIP);
    const res = await fetch(`${server.url}/api/upload?filename=${encodeURIComponent('Beach day.mp4')}`, { method: 'POST', body: original });
    assert.equal(res.status, 201);
    const { url } = await res.json();

    const { context, problems } = await watchedContext(browser, server.url, { acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(url);
    const button = page.getByRole('link', { name: 'Download' });
    await button.waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    assert.equal(download.suggestedFilename(), 'Beach day.mp4');
    const saved = readFileSync(await download.path());
    assert.ok(saved.equals(original), 'the exact bytes uploaded');
    assert.deepEqual(problems.pageErrors, []);
    await context.close();
  });
});
