// Resumable uploads (tus 1.0.0 at /api/uploads) in real Chromium against the real server: the upload
// survives a dropped connection and a page reload (the same file picked again continues from the
// server's offset), and ends on the share page with the manage token in "My videos". A server without
// tus gets the multipart upload instead.
//
//   node --test e2e/            (from web/; see scripts/web-e2e.sh)

import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertServesThisWebApp, CLIP, ensureScreenshotsDir, launchBrowser, preflight, SCREENSHOTS_DIR, startServer, unexpectedConsoleErrors, until, watchedContext } from './helpers.mjs';

const DESKTOP = { viewport: { width: 1280, height: 800 } };
// About 8 s for the 1 MB clip: room to cut it part-way.
const SLOW = { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 128 * 1024 };

let server;
let browser;

before(async () => {
  preflight();
  ensureScreenshotsDir();
  server = await startServer();
  await assertServesThisWebApp(server.url);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * A TCP proxy in front of the server whose connection can be cut: `cut()` drops every open connection
 * (the server sees the request body end part-way) and refuses new ones until `restore()`. DevTools'
 * offline mode cannot do this: it lets a request already sending finish, unthrottled.
 */
async function cuttableProxy(target) {
  const { port: targetPort } = new URL(target);
  const sockets = new Set();
  let down = false;
  const proxy = net.createServer((client) => {
    if (down) return client.destroy();
    const upstream = net.connect(Number(targetPort), '127.0.0.1');
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ]) {
      sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
    }
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${proxy.address().port}`,
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      down = false;
    },
    close: () => new Promise((r) => proxy.close(r)),
  };
}

/** Every tus request the page sends (method, path, Upload-Offset) and the offsets the server answers. */
function recordTus(page) {
  const log = { requests: [], answers: [] };
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!u.pathname.startsWith('/api/upload')) return;
    const offset = r.headers()['upload-offset'];
    log.requests.push({ method: r.method(), path: u.pathname, offset: offset === undefined ? undefined : Number(offset) });
  });
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (!u.pathname.startsWith('/api/uploads')) return;
    log.answers.push({ method: r.request().method(), status: r.status(), offset: r.headers()['upload-offset'], token: r.headers()['flick-manage-token'] });
  });
  return log;
}

const of = (log, method) => log.requests.filter((r) => r.method === method);

async function waitReady(id, timeoutMs = 60_000) {
  return until(
    async () => {
      const v = await (await fetch(`${server.url}/api/video/${id}`)).json();
      if (v.status === 'error') throw new Error(JSON.stringify(v.error));
      return v.status === 'ready' ? v : null;
    },
    { timeoutMs, intervalMs: 200, what: `video ${id} to be ready` },
  );
}

/** The library entry kept for `id`, and proof its token is the real one: it deletes the video. */
async function assertOwnedAndDelete(page, id) {
  const library = JSON.parse((await page.evaluate(() => localStorage.getItem('flick.library.v1'))) ?? '[]');
  const entry = library.find((e) => e.id === id);
  assert.ok(entry, `video ${id} is in My videos: ${JSON.stringify(library)}`);
  assert.equal(entry.title, 'h264_aac_faststart');
  // Nothing is left behind for a finished upload (tus fingerprints, kept tokens).
  const leftovers = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('tus::') || k.startsWith('flick.upload-token')));
  assert.deepEqual(leftovers, []);
  await page.goto('about:blank'); // the share page would fetch the deleted stream
  const del = await fetch(`${server.url}/api/video/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${entry.manageToken}` } });
  assert.equal(del.status, 204, 'the kept manage token deletes the video');
}

/** Expected while the connection is cut: the browser notes the failed requests. */
const networkNoise = (m) => /net::ERR_(EMPTY_RESPONSE|CONNECTION_\w+|SOCKET_NOT_CONNECTED|ABORTED|FAILED|INTERNET_DISCONNECTED)/.test(m);

describe('resumable upload (tus)', () => {
  it('survives a dropped connection and completes without starting over', async () => {
    const proxy = await cuttableProxy(server.url);
    const { context, problems } = await watchedContext(browser, proxy.url, DESKTOP);
    try {
      const page = await context.newPage();
      const log = recordTus(page);
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', SLOW);
      await page.goto('/');
      await page.locator('input[type=file]').setInputFiles(CLIP);
      const bar = page.getByRole('progressbar', { name: 'Upload progress' });
      await bar.waitFor();
      await until(async () => Number(await bar.getAttribute('value')) >= 30, { what: 'upload progress of 30%' });

      proxy.cut();
      await page.waitForTimeout(2500);
      assert.equal(await bar.isVisible(), true, 'still uploading while the connection is down (no failure shown)');
      proxy.restore();

      await page.waitForURL(/\/v\/[0-9a-f]{32}$/, { timeout: 60_000 });
      const id = new URL(page.url()).pathname.split('/').pop();
      await page.getByRole('heading', { level: 1, name: 'h264_aac_faststart' }).waitFor();
      await waitReady(id);

      assert.equal(of(log, 'POST').length, 1, `one upload created: ${JSON.stringify(log.requests)}`);
      assert.equal(of(log, 'POST')[0].path, '/api/uploads');
      const patches = of(log, 'PATCH');
      assert.ok(patches.length > 1, `more than one PATCH: ${JSON.stringify(log.requests)}`);
      assert.ok(patches.every((p) => p.path === patches[0].path), 'every PATCH goes to the same upload');
      assert.ok(!patches[0].path.includes(id), 'the share link does not name the upload');
      assert.ok(of(log, 'HEAD').length >= 1, 'asked the server for its offset');
      const resumedAt = patches.at(-1).offset;
      assert.ok(resumedAt > 0, `the last PATCH continues from the server's offset (${resumedAt}), not from 0: ${JSON.stringify(log.requests)}`);
      const heads = log.answers.filter((a) => a.method === 'HEAD' && a.status === 200);
      assert.ok(heads.some((h) => Number(h.offset) > 0), `the server kept bytes from before the drop: ${JSON.stringify(log.answers)}`);
      await assertOwnedAndDelete(page, id);

      assert.deepEqual(problems.csp, []);
      assert.deepEqual(problems.pageErrors, []);
      assert.deepEqual(unexpectedConsoleErrors(problems).filter((m) => !networkNoise(m)), [], 'no console errors but the dropped requests');
      assert.deepEqual(problems.foreign, []);
    } finally {
      await context.close();
      await proxy.close();
    }
  });

  it('after a page reload, the same file picked again on the share page continues from the server offset', async () => {
    const { context, problems } = await watchedContext(browser, server.url, DESKTOP);
    try {
      const page = await context.newPage();
      // The page asks before leaving an upload; leave anyway.
      page.on('dialog', (d) => void d.accept());
      const log = recordTus(page);
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', SLOW);
      await page.goto('/');
      await page.locator('input[type=file]').setInputFiles(CLIP);
      await page.waitForURL(/\/v\/[0-9a-f]{32}$/, { timeout: 10_000 });
      const id = new URL(page.url()).pathname.split('/').pop();
      const bar = page.getByRole('progressbar', { name: 'Upload progress' });
      await bar.waitFor();
      await until(async () => Number(await bar.getAttribute('value')) >= 40, { what: 'upload progress of 40%' });
      assert.equal(of(log, 'POST').length, 1);
      const uploadPath = of(log, 'PATCH')[0].path;
      assert.match(uploadPath, /^\/api\/uploads\/[0-9a-f]{32}$/);
      assert.ok(!uploadPath.includes(id), 'the share link does not name the upload');

      await page.reload();
      // The share page, without this browser's upload running: it offers to continue with the same file.
      await page.getByRole('heading', { level: 1, name: 'h264_aac_faststart' }).waitFor();
      await page.getByText('Upload interrupted?').waitFor();
      await page.screenshot({ path: path.join(SCREENSHOTS_DIR, 'resume-offer-desktop.png') });
      const before = log.requests.length;
      await page.getByLabel('The same video file, to continue its upload').setInputFiles(CLIP);
      await bar.waitFor();
      // The bar starts where the server is, not at 0.
      await until(async () => Number(await bar.getAttribute('value')) >= 20, { timeoutMs: 5000, what: 'the bar to show the bytes already sent' });

      await waitReady(id);
      assert.equal(new URL(page.url()).pathname, `/v/${id}`, 'still the same video');

      // (The new page asks once whether the server speaks tus: OPTIONS.)
      const afterReload = log.requests.slice(before).filter((r) => r.path.startsWith('/api/uploads') && r.method !== 'OPTIONS');
      assert.deepEqual(
        afterReload.filter((r) => r.method === 'POST'),
        [],
        `no new upload after the reload: ${JSON.stringify(afterReload)}`,
      );
      assert.equal(afterReload[0]?.method, 'HEAD', `first asks the server's offset: ${JSON.stringify(afterReload)}`);
      const patches = afterReload.filter((r) => r.method === 'PATCH');
      assert.ok(patches.length >= 1 && patches[0].offset > 0, `continues from the server's offset: ${JSON.stringify(patches)}`);
      assert.ok(patches.every((p) => p.path === uploadPath), 'to the same upload');
      await page.getByText('Ready', { exact: true }).first().waitFor({ timeout: 20_000 });
      await assertOwnedAndDelete(page, id);

      assert.deepEqual(problems.csp, []);
      assert.deepEqual(problems.pageErrors, []);
      assert.deepEqual(unexpectedConsoleErrors(problems).filter((m) => !networkNoise(m)), []);
      assert.deepEqual(problems.foreign, []);
    } finally {
      await context.close();
    }
  });

  it('Cancel (confirmed) deletes the unfinished upload on the server (termination)', async () => {
    const { context, problems } = await watchedContext(browser, server.url, DESKTOP);
    try {
      const page = await context.newPage();
      const log = recordTus(page);
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', SLOW);
      await page.goto('/');
      await page.locator('input[type=file]').setInputFiles(CLIP);
      const bar = page.getByRole('progressbar', { name: 'Upload progress' });
      await until(async () => Number(await bar.getAttribute('value')) >= 20, { what: 'upload progress of 20%' });
      await page.getByRole('button', { name: 'Cancel upload' }).click();
      await page.getByRole('dialog', { name: 'Cancel this upload?' }).getByRole('button', { name: 'Cancel upload' }).click();
      await page.getByRole('heading', { name: 'Upload cancelled' }).waitFor();
      await page.getByText('The link no longer works.').waitFor();
      const uploadPath = of(log, 'PATCH')[0].path;
      await until(() => of(log, 'DELETE').length > 0, { what: 'a DELETE' });
      await until(
        async () => (await fetch(`${server.url}${uploadPath}`, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } })).status === 404,
        { what: 'the upload to be gone' },
      );
      // The video went with it (code upload_abandoned, then the same 404 as any deleted video).
      await until(async () => (await fetch(`${server.url}/api/video/${uploadPath.split('/').pop()}`)).status === 404, {
        what: 'the cancelled video to be gone',
      });
      const leftovers = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('tus::') || k.startsWith('flick.upload-token')));
      assert.deepEqual(leftovers, []);
      assert.deepEqual(problems.csp, []);
      assert.deepEqual(unexpectedConsoleErrors(problems), []);
    } finally {
      await context.close();
    }
  });

  it('a server without tus gets the multipart upload', async () => {
    const { context, problems } = await watchedContext(browser, server.url, DESKTOP);
    // An older Flick: /api/uploads does not exist.
    await context.route('**/api/uploads**', (route) => route.fulfill({ status: 404, body: '' }));
    try {
      const page = await context.newPage();
      const log = recordTus(page);
      await page.goto('/');
      await page.locator('input[type=file]').setInputFiles(CLIP);
      await page.waitForURL(/\/v\/[0-9a-f]{32}$/, { timeout: 30_000 });
      const id = new URL(page.url()).pathname.split('/').pop();
      assert.deepEqual(
        log.requests.map((r) => `${r.method} ${r.path}`),
        ['OPTIONS /api/uploads', 'POST /api/upload'],
      );
      await assertOwnedAndDelete(page, id);
      assert.deepEqual(problems.csp, []);
      assert.deepEqual(problems.pageErrors, []);
      assert.deepEqual(unexpectedConsoleErrors(problems, { allow404: true }), []);
    } finally {
      await context.close();
    }
  });
});
