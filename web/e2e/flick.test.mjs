// End to end in real Chromium against the real server: upload → share page plays from 0:00 →
// copy link → library → delete; client-side refusal of a .txt; unknown ids; admin listing.
// Every page is watched for CSP violations, console errors and requests leaving 127.0.0.1.
//
//   node --test e2e/            (from web/; see scripts/web-e2e.sh)

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ADMIN_TOKEN,
  CLIP,
  ensureScreenshotsDir,
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

/** Uploads the clip through the API (for tests that need a video but not the upload page). */
async function uploadViaApi(name = 'api_clip.mp4') {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(CLIP)], { type: 'video/mp4' }), name);
  const res = await fetch(`${server.url}/api/upload`, { method: 'POST', body: form });
  assert.equal(res.status, 201, await res.clone().text());
  return res.json();
}

async function waitReady(id) {
  await until(
    async () => {
      const v = await (await fetch(`${server.url}/api/video/${id}`)).json();
      return v.status === 'ready' ? v : v.status === 'error' ? Promise.reject(new Error(JSON.stringify(v.error))) : null;
    },
    { timeoutMs: 60_000, intervalMs: 200, what: `video ${id} to be ready` },
  );
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
    await page.getByRole('heading', { name: 'h264_aac_faststart' }).waitFor();
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
      await p.getByRole('heading', { name: 'h264_aac_faststart' }).waitFor();
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

  it('lists it under My videos', async () => {
    await page.getByRole('link', { name: 'My videos' }).click();
    await page.waitForURL(/\/library$/);
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

async function adminCount() {
  const res = await fetch(`${server.url}/api/videos`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.status, 200);
  return (await res.json()).videos.length;
}

describe('progress and processing states', () => {
  it('shows upload progress with speed and time left, and Cancel stops it', async () => {
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
      const bar = page.getByRole('progressbar', { name: 'Upload progress' });
      await bar.waitFor();
      await until(async () => Number(await bar.getAttribute('value')) >= 20, { what: 'upload progress of 20%' });
      await page.getByText(/\d+(\.\d)? KB\/s · \d+ s left|a few seconds left/).waitFor();
      await page.screenshot({ path: path.join(shots, 'uploading-desktop.png') });
      await page.getByRole('button', { name: 'Cancel upload' }).click();
      await page.getByText('Upload cancelled. Nothing was kept.').waitFor();
      assert.equal(new URL(page.url()).pathname, '/');
      assert.equal(await page.evaluate(() => localStorage.getItem('flick.library.v1')), null);
      // Give the server a moment to see the aborted body; nothing may have been recorded.
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await adminCount(), before);
      assertClean(problems);
    } finally {
      await context.close();
    }
  });

  it('says Preparing…, then Playable — still processing 40%, and puts a failure reason in place of the player', async () => {
    const up = await uploadViaApi('states_clip.mp4');
    await waitReady(up.id);
    const real = await (await fetch(`${server.url}/api/video/${up.id}`)).json();
    const { context, problems } = await watchedContext(browser, server.url, PHONE);
    let phase = 'preparing';
    await context.route(`**/api/video/${up.id}`, (route) => {
      const body =
        phase === 'preparing'
          ? { ...real, status: 'processing', playable: false, progress: 0.02, thumbnailUrl: null, durationSeconds: null }
          : phase === 'playable'
            ? { ...real, status: 'processing', playable: true, progress: 0.4 }
            : { ...real, status: 'error', playable: false, error: { code: 'processing_failed', message: 'The video stream could not be decoded.' } };
      return route.fulfill({ json: body, headers: { 'cache-control': 'no-store' } });
    });
    try {
      const page = await context.newPage();
      await page.goto(`/v/${up.id}`);
      await page.getByRole('status').filter({ hasText: 'Preparing…' }).waitFor();
      assert.equal(await page.locator('video').count(), 0, 'no player before the video is playable');
      await page.screenshot({ path: path.join(shots, 'preparing-phone.png') });

      phase = 'playable';
      await page.getByText('Playable — still processing 40%').waitFor({ timeout: 5000 });
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
      await page.waitForURL(/\/v\/[0-9a-f]{32}$/, { timeout: 30_000 });
      const uploaded = Date.now();
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
      const line = `time to first frame: ${playing - started} ms from choosing the file (upload ${uploaded - started} ms, then ${playing - uploaded} ms to play)`;
      console.log(line);
      writeFileSync(path.join(shots, 'time-to-first-frame.txt'), `${line}\n`);
      assertClean(problems);
    } finally {
      await context.close();
    }
  });
});
