// End to end in real Chromium against the real release binary (with the web app compiled into it):
// upload → share page plays from 0:00 → copy link → Open Graph tags → library (after a reload) →
// delete; a clip that needs re-encoding plays while it is processed; a remux clip plays to the end and
// seeks; client-side refusal of a .txt and of a file over the size limit; unknown ids; admin listing;
// link previews switched off. Every page is watched for CSP violations, console errors and requests
// leaving 127.0.0.1.
//
//   node --test e2e/            (from web/; see scripts/web-e2e.sh)

import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ADMIN_TOKEN,
  assertServesThisWebApp,
  CLIP,
  ensureScreenshotsDir,
  FIXTURES_DIR,
  launchBrowser,
  preflight,
  startServer,
  unexpectedConsoleErrors,
  until,
  watchedContext,
} from './helpers.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 800 } };

let server;
let browser;
let shots;

before(async () => {
  preflight();
  shots = ensureScreenshotsDir();
  server = await startServer({ FLICK_ADMIN__TOKEN: ADMIN_TOKEN });
  await assertServesThisWebApp(server.url);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function assertClean(problems, { allow404 = false } = {}) {
  assert.deepEqual(problems.csp, [], 'no Content-Security-Policy violations');
  assert.deepEqual(problems.pageErrors, [], 'no uncaught exceptions');
  assert.deepEqual(unexpectedConsoleErrors(problems, { allow404 }), [], 'no console errors');
  assert.deepEqual(problems.foreign, [], 'no request to any host other than 127.0.0.1');
}

/** Uploads a clip through the API (for tests that need a video but not the upload page). */
async function uploadViaApi(name = 'api_clip.mp4', { srv = server, clip = CLIP } = {}) {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(clip)], { type: 'video/mp4' }), name);
  const res = await fetch(`${srv.url}/api/upload`, { method: 'POST', body: form });
  assert.equal(res.status, 201, await res.clone().text());
  return res.json();
}

async function apiVideo(id, srv = server) {
  const res = await fetch(`${srv.url}/api/video/${id}`);
  assert.equal(res.status, 200, `GET /api/video/${id}`);
  return res.json();
}

async function waitReady(id, { srv = server, timeoutMs = 60_000 } = {}) {
  return until(
    async () => {
      const v = await apiVideo(id, srv);
      return v.status === 'ready' ? v : v.status === 'error' ? Promise.reject(new Error(JSON.stringify(v.error))) : null;
    },
    { timeoutMs, intervalMs: 200, what: `video ${id} to be ready` },
  );
}

function decodeHtml(s) {
  return s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]);
}

/** The `<meta>` tags of an HTML page by `property` or `name`: { 'og:title': ['…'], robots: ['…'] }. */
function metaTags(html) {
  const tags = {};
  for (const m of html.matchAll(/<meta\s([^>]*)>/g)) {
    const attrs = Object.fromEntries([...m[1].matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1], decodeHtml(a[2])]));
    const key = attrs.property ?? attrs.name;
    if (key) (tags[key] ??= []).push(attrs.content);
  }
  return tags;
}

/** The raw HTML of a page as a link-preview bot gets it (no JavaScript), with its headers. */
async function rawPage(url) {
  const res = await fetch(url, { headers: { 'user-agent': 'facebookexternalhit/1.1' } });
  const html = await res.text();
  const title = /<title>([^<]*)<\/title>/.exec(html);
  return { res, html, meta: metaTags(html), title: title ? decodeHtml(title[1]) : null, titles: html.match(/<title>/g)?.length ?? 0 };
}

/** What a private page must always say, link previews or not. */
function assertPrivate({ res, meta }) {
  assert.match(meta.robots?.join(' ') ?? '', /noindex/, 'robots meta says noindex');
  assert.deepEqual(meta.referrer, ['no-referrer'], 'referrer meta says no-referrer');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  assert.match(res.headers.get('x-robots-tag') ?? '', /noindex/);
}

describe('upload, watch, share, delete', () => {
  let context;
  let problems;
  let page;
  let id;

  before(async () => {
    ({ context, problems } = await watchedContext(browser, server.url, DESKTOP));
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    page = await context.newPage();
  });

  after(async () => {
    await context?.close();
  });

  it('uploads through the file input and lands on the share page', async () => {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Share a video' }).waitFor();
    await page.getByText('MP4, MOV, MKV or WebM · up to 1 GB').waitFor();
    await page.screenshot({ path: path.join(shots, 'upload-desktop.png') });

    await page.locator('input[type=file]').setInputFiles(CLIP);
    await page.waitForURL(/\/v\/[0-9a-f]{32}$/, { timeout: 30_000 });
    id = new URL(page.url()).pathname.split('/').pop();
    await page.getByRole('heading', { level: 1, name: 'h264_aac_faststart' }).waitFor();
  });

  it('plays by itself, muted, from 0:00 (not from a live edge)', async () => {
    const video = page.locator('video');
    await video.waitFor({ timeout: 15_000 });
    const state = await until(
      () => video.evaluate((v) => (v.currentTime > 1.2 ? { t: v.currentTime, muted: v.muted, paused: v.paused } : null)),
      { timeoutMs: 30_000, what: 'the video to play past 1 s' },
    );
    assert.equal(state.muted, true, 'autoplay after upload is muted');
    const firstPlaying = await page.evaluate(() => window.__flickFirstPlaying);
    assert.ok(typeof firstPlaying === 'number' && firstPlaying < 0.5, `playback started at ${firstPlaying}, expected ~0`);
    await page.getByText('0:05').first().waitFor();
    await page.screenshot({ path: path.join(shots, 'share-desktop.png') });
  });

  it('copies the share link', async () => {
    const button = page.getByRole('button', { name: 'Copy link' });
    await button.click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, `${server.url}/v/${id}`);
  });

  it('looks right on a phone', async () => {
    await waitReady(id);
    const { context: phone, problems: phoneProblems } = await watchedContext(browser, server.url, PHONE);
    try {
      const p = await phone.newPage();
      await p.goto(`/v/${id}`);
      await p.getByRole('heading', { level: 1, name: 'h264_aac_faststart' }).waitFor();
      await p.locator('video[poster]').waitFor();
      await p.waitForFunction(() => {
        const v = document.querySelector('video');
        return v && v.readyState >= 3;
      });
      // Not uploaded from this browser: no autoplay, no delete.
      assert.equal(await p.locator('video').evaluate((v) => v.paused), true);
      assert.equal(await p.getByRole('button', { name: 'Delete' }).count(), 0);
      await p.screenshot({ path: path.join(shots, 'share-phone.png') });
      await p.emulateMedia({ colorScheme: 'dark' });
      await p.waitForTimeout(400); // let colour transitions finish
      await p.screenshot({ path: path.join(shots, 'share-phone-dark.png') });
      await p.emulateMedia({ colorScheme: 'light' });
      await p.goto('/');
      await p.getByRole('button', { name: 'Choose a video' }).waitFor();
      await p.screenshot({ path: path.join(shots, 'upload-phone.png') });
      assertClean(phoneProblems);
    } finally {
      await phone.close();
    }
  });

  it('serves the share page HTML with its title and Open Graph tags, noindex and no-referrer', async () => {
    const v = await waitReady(id);
    assert.ok(v.thumbnailUrl, 'the thumbnail exists once the video is ready');
    const pageUrl = `${server.url}/v/${id}`;
    const raw = await rawPage(pageUrl);
    assert.equal(raw.res.status, 200);
    assert.match(raw.res.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(raw.titles, 1, 'exactly one <title>');
    assert.equal(raw.title, 'h264_aac_faststart · Flick');
    assert.deepEqual(raw.meta['og:title'], ['h264_aac_faststart']);
    assert.equal(raw.meta['og:type']?.length, 1);
    assert.match(raw.meta['og:type'][0], /^video(\.|$)/);
    assert.deepEqual(raw.meta['og:url'], [pageUrl]);
    assert.equal(raw.meta['og:image']?.length, 1, 'one og:image');
    const image = raw.meta['og:image'][0];
    assert.ok(image.startsWith(`${server.baseUrl}/`), `og:image ${image} is an absolute URL under ${server.baseUrl}`);
    const img = await fetch(image);
    assert.equal(img.status, 200, `og:image ${image} can be fetched`);
    assert.match(img.headers.get('content-type') ?? '', /^image\//);
    assert.ok((await img.arrayBuffer()).byteLength > 1000, 'og:image is a real picture');
    assertPrivate(raw);
    // The page is still the web app (the preview tags went into its <head>).
    assert.match(raw.html, /<div id="app">/);
  });

  it('lists it under My videos, also after a reload', async () => {
    await page.getByRole('link', { name: 'My videos' }).click();
    await page.waitForURL(/\/library$/);
    await page.locator('li.item').filter({ hasText: 'h264_aac_faststart' }).waitFor();
    // The list lives in this browser (localStorage), not in the page's memory: it survives a reload.
    await page.reload();
    await page.getByRole('heading', { name: 'My videos' }).waitFor();
    const item = page.locator('li.item').filter({ hasText: 'h264_aac_faststart' });
    await item.waitFor();
    await item.getByText('Ready').waitFor({ timeout: 30_000 });
    await item.locator('img').waitFor();
    await page.screenshot({ path: path.join(shots, 'library-desktop.png') });
    assert.equal(await item.getByRole('link', { name: 'Open' }).getAttribute('href'), `/v/${id}`);
  });

  it('deletes after a confirmation, then the video is gone', async () => {
    await page.goto(`/v/${id}`);
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this video?' });
    await dialog.waitFor();
    await page.screenshot({ path: path.join(shots, 'delete-dialog-desktop.png') });
    // Cancel first: nothing happens.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal((await fetch(`${server.url}/api/video/${id}`)).status, 200);

    await page.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/\/library$/);
    await page.getByText('Nothing here yet.').waitFor();
    assert.equal((await fetch(`${server.url}/api/video/${id}`)).status, 404);
    const stored = await page.evaluate(() => localStorage.getItem('flick.library.v1'));
    assert.deepEqual(JSON.parse(stored), []);

    await page.goto(`/v/${id}`);
    await page.getByRole('heading', { name: 'This video does not exist or was deleted.' }).waitFor();
  });

  it('stayed within the rules', () => {
    assertClean(problems, { allow404: true });
  });
});

describe('refusals and missing videos', () => {
  let context;
  let problems;
  let tmp;

  before(async () => {
    ({ context, problems } = await watchedContext(browser, server.url, PHONE));
    tmp = mkdtempSync(path.join(tmpdir(), 'flick-e2e-files-'));
  });

  after(async () => {
    await context?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses a .txt file before sending a byte', async () => {
    const page = await context.newPage();
    const uploads = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/upload')) uploads.push(r.url());
    });
    const txt = path.join(tmp, 'notes.txt');
    writeFileSync(txt, 'not a video\n');
    await page.goto('/');
    await page.getByText('MP4, MOV, MKV or WebM').first().waitFor();
    await page.locator('input[type=file]').setInputFiles(txt);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const text = await alert.innerText();
    assert.match(text, /can't be uploaded/);
    assert.match(text, /\.txt/);
    assert.match(text, /MP4, MOV, MKV or WebM/);
    await page.screenshot({ path: path.join(shots, 'refused-phone.png') });
    assert.deepEqual(uploads, []);
    assert.equal(new URL(page.url()).pathname, '/');
    await page.close();
  });

  it('refuses a file over the size limit (a sparse 1.08 GB big.mp4) before sending a byte, saying its size precisely', async () => {
    const { maxUploadBytes } = await (await fetch(`${server.url}/api/config`)).json();
    const big = path.join(tmp, 'big.mp4');
    const fd = openSync(big, 'w');
    try {
      ftruncateSync(fd, Math.round(1.08 * 1024 ** 3)); // sparse: takes no room on disk
    } finally {
      closeSync(fd);
    }
    assert.ok(statSync(big).size > maxUploadBytes, `${statSync(big).size} > the server's limit ${maxUploadBytes}`);
    const countBefore = await adminCount();
    const page = await context.newPage();
    const uploads = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/upload')) uploads.push(`${r.method()} ${r.url()}`);
    });
    await page.goto('/');
    await page.getByText('MP4, MOV, MKV or WebM · up to 1 GB').waitFor();
    await page.locator('input[type=file]').setInputFiles(big);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const text = await alert.innerText();
    assert.match(text, /big\.mp4/);
    // Not "is 1.1 GB" (nor "is 1 GB" for a file just over): the size never reads as the limit.
    assert.match(text, /is 1\.08 GB; the limit is 1 GB/);
    assert.match(text, /smaller file/);
    await page.screenshot({ path: path.join(shots, 'refused-too-big-phone.png') });
    await page.waitForTimeout(500); // an upload started late would show up here
    assert.deepEqual(uploads, [], 'no upload request');
    assert.equal(await page.getByRole('progressbar').count(), 0, 'no upload progress');
    assert.equal(new URL(page.url()).pathname, '/');
    assert.equal(await adminCount(), countBefore, 'nothing was recorded');
    await page.close();
  });

  it('says an unknown video does not exist', async () => {
    const page = await context.newPage();
    await page.goto('/v/0123456789abcdef0123456789abcdef');
    await page.getByRole('heading', { name: 'This video does not exist or was deleted.' }).waitFor();
    assert.equal(await page.locator('video').count(), 0);
    await page.screenshot({ path: path.join(shots, 'gone-phone.png') });
    await page.close();
  });

  it('shows a library entry whose video is gone, and removes it', async () => {
    const page = await context.newPage();
    await page.goto('/library');
    await page.evaluate(() =>
      localStorage.setItem(
        'flick.library.v1',
        JSON.stringify([{ id: 'fedcba9876543210fedcba9876543210', manageToken: 'x'.repeat(64), title: 'old clip', createdAt: '2026-01-01T00:00:00.000Z' }]),
      ),
    );
    await page.reload();
    const item = page.locator('li.item').filter({ hasText: 'old clip' });
    await item.getByText('Gone').waitFor();
    await item.getByRole('button', { name: 'Remove from list' }).click();
    await page.getByText('Nothing here yet.').waitFor();
    await page.close();
  });

  it('survives a corrupt library in storage', async () => {
    const page = await context.newPage();
    await page.goto('/library');
    await page.evaluate(() => localStorage.setItem('flick.library.v1', '{not json'));
    await page.reload();
    await page.getByText('Nothing here yet.').waitFor();
    await page.close();
  });

  it('stayed within the rules', () => {
    assertClean(problems, { allow404: true });
  });
});

describe('admin listing', () => {
  it('asks for the token, says when it is wrong, lists every video with the right one', async () => {
    const uploaded = await uploadViaApi('admin_visible.mp4');
    const { context, problems } = await watchedContext(browser, server.url, DESKTOP);
    try {
      const page = await context.newPage();
      await page.goto('/library');
      const section = page.getByRole('region', { name: 'Admin' });
      await section.waitFor();
      await section.getByLabel('Admin token').fill('definitely-not-the-token');
      await section.getByRole('button', { name: 'Show all videos' }).click();
      await section.getByText('Wrong token.').waitFor();
      await section.getByLabel('Admin token').fill(ADMIN_TOKEN);
      await section.getByRole('button', { name: 'Show all videos' }).click();
      await section.getByRole('link', { name: 'admin_visible' }).waitFor();
      assert.equal(await section.getByRole('link', { name: 'admin_visible' }).getAttribute('href'), uploaded.url);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('flick.adminToken')), ADMIN_TOKEN);
      assert.equal(await page.evaluate(() => localStorage.getItem('flick.adminToken')), null);
      assertClean(problems, { allow404: true });
    } finally {
      await context.close();
    }
  });
});

async function adminVideos() {
  const res = await fetch(`${server.url}/api/videos`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.status, 200);
  return (await res.json()).videos;
}

async function adminCount() {
  return (await adminVideos()).length;
}

describe('progress and processing states', () => {
  it('opens the share page as the upload starts, shows its progress with speed and time left there, and Cancel (confirmed) deletes the video', async () => {
    const { context, problems } = await watchedContext(browser, server.url, DESKTOP);
    try {
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      // About 8 s for the 1 MB clip.
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 128 * 1024 });
      const before = await adminCount();
      await page.goto('/');
      await page.locator('input[type=file]').setInputFiles(CLIP);
      // The video exists from the first answer on: its page opens while the bytes still flow.
      await page.waitForURL(/\/v\/[0-9a-f]{32}$/, { timeout: 10_000 });
      const id = new URL(page.url()).pathname.split('/').pop();
      const bar = page.getByRole('progressbar', { name: 'Upload progress' });
      await bar.waitFor();
      await until(async () => Number(await bar.getAttribute('value')) >= 20, { what: 'upload progress of 20%' });
      await page.getByText(/\d+(\.\d)? KB\/s · \d+ s left|a few seconds left/).waitFor();
      const during = await apiVideo(id);
      assert.equal(during.status, 'uploading', 'the API says uploading while the bytes flow');
      assert.ok(during.receivedBytes < during.sizeBytes, `received ${during.receivedBytes} of ${during.sizeBytes}`);
      await page.screenshot({ path: path.join(shots, 'uploading-desktop.png') });

      await page.getByRole('button', { name: 'Cancel upload' }).click();
      const dialog = page.getByRole('dialog', { name: 'Cancel this upload?' });
      await dialog.waitFor();
      // Keep uploading first: nothing happens.
      await dialog.getByRole('button', { name: 'Keep uploading' }).click();
      await dialog.waitFor({ state: 'hidden' });
      assert.equal(await bar.isVisible(), true, 'still uploading');
      await page.getByRole('button', { name: 'Cancel upload' }).click();
      await dialog.getByRole('button', { name: 'Cancel upload' }).click();
      await page.getByRole('heading', { name: 'Upload cancelled' }).waitFor();
      await page.getByText('The link no longer works.').waitFor();
      assert.equal(new URL(page.url()).pathname, `/v/${id}`);
      assert.deepEqual(JSON.parse((await page.evaluate(() => localStorage.getItem('flick.library.v1'))) ?? '[]'), []);
      // The video went with its upload: the same 404 as any deleted video. The admin listing shows it
      // no more, or only as abandoned (its record may be kept as `error`/`upload_abandoned`).
      await until(async () => (await fetch(`${server.url}/api/video/${id}`)).status === 404, { what: 'the cancelled video to be gone' });
      const listed = (await adminVideos()).filter((v) => v.id === id);
      assert.ok(
        listed.every((v) => v.status === 'error' && v.error?.code === 'upload_abandoned'),
        `the admin listing has it only as abandoned: ${JSON.stringify(listed)}`,
      );
      assert.equal((await adminVideos()).filter((v) => v.id !== id).length, before);
      assertClean(problems, { allow404: true });
    } finally {
      await context.close();
    }
  });

  it('says Uploading 43 %, Processing, then Playable — still processing 40 %, and puts a failure reason in place of the player', async () => {
    const up = await uploadViaApi('states_clip.mp4');
    await waitReady(up.id);
    const real = await (await fetch(`${server.url}/api/video/${up.id}`)).json();
    const { context, problems } = await watchedContext(browser, server.url, PHONE);
    let phase = 'uploading';
    await context.route(`**/api/video/${up.id}`, (route) => {
      const body =
        phase === 'uploading'
          ? { ...real, status: 'uploading', playable: false, playableSeconds: 0, progress: 0, receivedBytes: Math.ceil(real.sizeBytes * 0.434), thumbnailUrl: null }
          : phase === 'preparing'
            ? { ...real, status: 'processing', playable: false, progress: 0.02, thumbnailUrl: null, durationSeconds: null }
            : phase === 'playable'
              ? { ...real, status: 'processing', playable: true, progress: 0.4 }
              : { ...real, status: 'error', playable: false, error: { code: 'processing_failed', message: 'The video stream could not be decoded.' } };
      return route.fulfill({ json: body, headers: { 'cache-control': 'no-store' } });
    });
    try {
      const page = await context.newPage();
      await page.goto(`/v/${up.id}`);
      // A viewer who opens the link before anything plays: how much has arrived, and the link to pass on.
      await page.getByText('Uploading 43 %').waitFor();
      await page.getByRole('status').filter({ hasText: 'Uploading' }).waitFor({ state: 'attached' });
      await page.getByRole('button', { name: 'Copy link' }).waitFor();
      assert.equal(await page.locator('video').count(), 0, 'no player before the video is playable');
      assert.equal(await page.getByRole('progressbar').count(), 0, 'a viewer sees no upload progress bar of their own');
      await page.screenshot({ path: path.join(shots, 'viewer-uploading-phone.png') });

      phase = 'preparing';
      await page.getByText('Processing 2 %').waitFor({ timeout: 5000 });
      assert.equal(await page.locator('video').count(), 0, 'no player before the video is playable');
      await page.screenshot({ path: path.join(shots, 'preparing-phone.png') });

      phase = 'playable';
      await page.getByText('Playable — still processing 40 %').waitFor({ timeout: 5000 });
      await page.locator('video').waitFor();
      await page.waitForFunction(() => (document.querySelector('video')?.readyState ?? 0) >= 3);
      await page.screenshot({ path: path.join(shots, 'share-processing-phone.png') });

      phase = 'error';
      await page.getByText('The video stream could not be decoded.').waitFor({ timeout: 8000 });
      assert.equal(await page.locator('video').count(), 0, 'the reason replaces the player');
      await page.screenshot({ path: path.join(shots, 'error-phone.png') });
      assertClean(problems);
    } finally {
      await context.close();
    }
  });
});

describe('time to first frame', () => {
  it('measures from choosing a 7 MB clip to its first frame playing (loopback)', async () => {
    const clip = path.join(path.dirname(CLIP), 'h264_aac_7mb.mp4');
    const { context, problems } = await watchedContext(browser, server.url, DESKTOP);
    try {
      const page = await context.newPage();
      await page.goto('/');
      await page.getByRole('heading', { name: 'Share a video' }).waitFor();
      const started = Date.now();
      await page.locator('input[type=file]').setInputFiles(clip);
      // The share page opens as the upload starts (tus); the bytes follow.
      await page.waitForURL(/\/v\/[0-9a-f]{32}$/, { timeout: 30_000 });
      const shown = Date.now();
      // The first frame is on screen once the element has data and its clock has moved.
      await page.waitForFunction(
        () => {
          const v = document.querySelector('video');
          return v && v.readyState >= 2 && v.currentTime > 0 && !v.paused;
        },
        undefined,
        { timeout: 30_000, polling: 20 },
      );
      const playing = Date.now();
      const line = `time to first frame: ${playing - started} ms from choosing the file (share page after ${shown - started} ms, playing ${playing - shown} ms later)`;
      console.log(line);
      writeFileSync(path.join(shots, 'time-to-first-frame.txt'), `${line}\n`);
      assertClean(problems);
    } finally {
      await context.close();
    }
  });
});

describe('a clip that needs re-encoding plays while it is processed', () => {
  it('starts at ≤ 1 s of media time while the API still says processing, reaches > 2 s, then the whole video is seekable', async () => {
    const clip = path.join(FIXTURES_DIR, 'crash_reencode.mov'); // 40 s of 1080p MPEG-4 Part 2: no remux possible
    const { context, problems } = await watchedContext(browser, server.url, DESKTOP);
    try {
      const page = await context.newPage();
      await page.goto('/');
      await page.getByRole('heading', { name: 'Share a video' }).waitFor();
      await page.locator('input[type=file]').setInputFiles(clip);
      await page.waitForURL(/\/v\/[0-9a-f]{32}$/, { timeout: 60_000 });
      const id = new URL(page.url()).pathname.split('/').pop();
      await page.getByRole('heading', { level: 1, name: 'crash_reencode' }).waitFor();

      // Poll the element and the API together. The API answer that counts is the one asked for
      // *after* the element's clock was seen moving.
      const seen = [];
      const atStart = await until(
        async () => {
          const before = await apiVideo(id);
          seen.push(before.status);
          assert.notEqual(before.status, 'error', JSON.stringify(before.error));
          const t = await page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);
          if (!(t > 0)) return null;
          const v = await apiVideo(id);
          return { currentTime: t, status: v.status, playable: v.playable, progress: v.progress };
        },
        { timeoutMs: 60_000, intervalMs: 50, what: 'the video to start playing' },
      );
      await page.screenshot({ path: path.join(shots, 'share-reencode-playing-desktop.png') });
      console.log(`re-encode clip: playing at ${atStart.currentTime.toFixed(2)} s while the API says ${atStart.status} (${Math.round((atStart.progress ?? 0) * 100)}%)`);
      assert.ok(!seen.includes('ready'), `the API said ready before playback started (statuses seen: ${[...new Set(seen)].join(', ')})`);
      assert.equal(atStart.status, 'processing', 'playback started while the API still says processing');
      assert.equal(atStart.playable, true);
      const firstPlaying = await page.evaluate(() => window.__flickFirstPlaying);
      assert.ok(typeof firstPlaying === 'number' && firstPlaying <= 1, `playback started at ${firstPlaying} s of media time, expected ≤ 1 s`);
      assert.equal(await page.locator('video').evaluate((v) => v.muted), true, 'autoplay after upload is muted');

      const past2 = await until(
        () => page.evaluate(() => {
          const v = document.querySelector('video');
          return v && v.currentTime > 2 ? { t: v.currentTime, paused: v.paused } : null;
        }),
        { timeoutMs: 30_000, what: 'the video to play past 2 s' },
      );
      assert.equal(past2.paused, false);

      // When processing ends, the whole 40 s can be reached.
      await waitReady(id, { timeoutMs: 180_000 });
      await page.getByText('Ready', { exact: true }).first().waitFor({ timeout: 20_000 });
      const whole = await until(
        () => page.evaluate(() => {
          const v = document.querySelector('video');
          if (!v || v.seekable.length === 0) return null;
          const end = v.seekable.end(v.seekable.length - 1);
          return Number.isFinite(v.duration) && v.duration > 39 && end > 39 ? { duration: v.duration, start: v.seekable.start(0), end } : null;
        }),
        { timeoutMs: 30_000, what: 'the whole video to become seekable once it is ready' },
      );
      assert.ok(whole.start < 0.5, `seekable from ${whole.start} s`);
      assertClean(problems);
    } finally {
      await context.close();
    }
  });
});

describe('a remux clip plays to the end and seeks', () => {
  it('seeks near the end and plays to `ended`, then seeks back to the middle and resumes', async () => {
    const up = await uploadViaApi('gop1_clip.mp4', { clip: path.join(FIXTURES_DIR, 'h264_aac_gop1.mp4') });
    await waitReady(up.id);
    const { context, problems } = await watchedContext(browser, server.url, DESKTOP);
    try {
      const page = await context.newPage();
      await page.goto(`/v/${up.id}`);
      await page.getByRole('heading', { level: 1, name: 'gop1_clip' }).waitFor();
      const video = page.locator('video');
      await video.waitFor();
      await page.waitForFunction(() => {
        const v = document.querySelector('video');
        return v && v.readyState >= 1 && Number.isFinite(v.duration) && v.seekable.length > 0;
      });
      const { duration, seekableEnd } = await video.evaluate((v) => {
        // Count what the element tells about itself from here on.
        // @ts-ignore
        window.__flickEvents = [];
        for (const e of ['seeking', 'seeked', 'playing', 'ended', 'waiting']) {
          // @ts-ignore
          v.addEventListener(e, () => window.__flickEvents.push({ e, t: v.currentTime }));
        }
        v.muted = true;
        return { duration: v.duration, seekableEnd: v.seekable.end(v.seekable.length - 1) };
      });
      assert.ok(Math.abs(duration - 10) < 0.5, `duration ${duration} s, expected about 10 s`);
      assert.ok(seekableEnd > duration - 0.5, `seekable to ${seekableEnd} s of ${duration} s`);

      // Near the end: it plays from there and ends.
      const seekTo = duration - 2;
      const afterSeek = await video.evaluate(
        (v, to) =>
          new Promise((resolve) => {
            v.addEventListener('seeked', () => resolve(v.currentTime), { once: true });
            v.currentTime = to;
          }),
        seekTo,
      );
      assert.ok(Math.abs(afterSeek - seekTo) < 0.1, `seeked to ${afterSeek} s, asked for ${seekTo} s`);
      await video.evaluate((v) => v.play());
      await until(() => page.evaluate(() => window.__flickEvents.some((x) => x.e === 'ended')), {
        timeoutMs: 15_000,
        what: 'the `ended` event',
      });
      const end = await video.evaluate((v) => ({ t: v.currentTime, ended: v.ended, paused: v.paused }));
      assert.ok(end.t > duration - 0.3, `ended at ${end.t} s of ${duration} s`);
      assert.equal(end.ended, true);
      const played = await page.evaluate(() => window.__flickEvents.find((x) => x.e === 'playing'));
      assert.ok(played && played.t >= seekTo - 0.1 && played.t < seekTo + 1, `played from ${played?.t} s after seeking to ${seekTo} s`);
      await page.screenshot({ path: path.join(shots, 'share-ended-desktop.png') });

      // Backwards to the middle: it resumes from there.
      const middle = duration / 2;
      await page.evaluate(() => (window.__flickEvents = []));
      await video.evaluate((v, to) => {
        v.currentTime = to;
        return v.play();
      }, middle);
      const resumed = await until(
        () => video.evaluate((v, from) => (v.currentTime > from + 1 && !v.paused ? { t: v.currentTime, ended: v.ended } : null), middle),
        { timeoutMs: 15_000, what: 'playback to resume from the middle' },
      );
      assert.equal(resumed.ended, false);
      assert.ok(resumed.t < middle + 3, `resumed from the middle (at ${resumed.t} s), not elsewhere`);
      const events = await page.evaluate(() => window.__flickEvents);
      const seeked = events.find((x) => x.e === 'seeked');
      assert.ok(seeked && Math.abs(seeked.t - middle) < 0.1, `seeked back to ${seeked?.t} s, asked for ${middle} s`);
      assertClean(problems);
    } finally {
      await context.close();
    }
  });
});

describe('link previews configuration', () => {
  let off;
  let publicUrl;
  const PUBLIC = 'https://videos.example.test';

  before(async () => {
    [off, publicUrl] = await Promise.all([
      startServer({ FLICK_SHARE__LINK_PREVIEWS: 'false' }),
      startServer({ FLICK_SERVER__PUBLIC_URL: PUBLIC }),
    ]);
  });

  after(async () => {
    await Promise.all([off?.stop(), publicUrl?.stop()]);
  });

  it('switched off: the share page has its <title> but no Open Graph tags, and stays noindex and no-referrer', async () => {
    const up = await uploadViaApi('no_preview.mp4', { srv: off });
    await waitReady(up.id, { srv: off });
    const raw = await rawPage(`${off.url}/v/${up.id}`);
    assert.equal(raw.res.status, 200);
    assert.equal(raw.title, 'no_preview · Flick');
    assert.deepEqual(Object.keys(raw.meta).filter((k) => /^(og|twitter):/.test(k)), [], 'no link-preview tags');
    assert.doesNotMatch(raw.html, /og:/);
    assertPrivate(raw);
  });

  it('links in the tags use server.public_url', async () => {
    const up = await uploadViaApi('public_url.mp4', { srv: publicUrl });
    assert.equal(publicUrl.baseUrl, PUBLIC);
    await waitReady(up.id, { srv: publicUrl });
    const raw = await rawPage(`${publicUrl.url}/v/${up.id}`);
    assert.deepEqual(raw.meta['og:url'], [`${PUBLIC}/v/${up.id}`]);
    assert.equal(raw.meta['og:image']?.length, 1);
    assert.ok(raw.meta['og:image'][0].startsWith(`${PUBLIC}/`), raw.meta['og:image'][0]);
    // The same path on the real address is the thumbnail.
    const img = await fetch(publicUrl.url + new URL(raw.meta['og:image'][0]).pathname);
    assert.equal(img.status, 200);
    assertPrivate(raw);
  });
});
