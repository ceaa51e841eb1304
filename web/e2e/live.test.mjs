// Watching a video while its upload is still running (issue 11), in real Chromium against the real
// release binary:
//
// - MKV, WebM, MOV and MP4 chosen in the page upload with the MIME types Chromium itself gives them.
// - A 60 s 1080p moov-at-end H.264/AAC MP4 (served from the original, the copy path), a VP9/Opus WebM
//   and an HEVC MOV (re-encoded as they arrive) are uploaded by one browser context throttled to
//   about twice their bitrate; a second context, the viewer, opens the share link as soon as the
//   uploader's page shows it, plays from 0:00 before the upload has finished, and plays to the end.
//   Its stalls (the playhead not moving while neither paused nor ended) are counted and reported: the
//   copy path may not stall at all, the re-encode path at most once, for at most 0.5 s. (The
//   uploader's own player is kept paused: on two cores the CPU goes to the server and the viewer.)
// - The server is SIGKILLed mid-upload while a viewer plays; restarted on the same port and data
//   folder, the uploader resumes by itself, the viewer goes on, and every segment fetched before the
//   crash is byte-identical after it.
// - The share link and its Copy button are in view right after choosing a file, on a laptop and on a
//   phone, also for a portrait video.
// - The uploader goes offline while a viewer plays: the viewer waits at the end of what has arrived
//   ("Waiting for the uploader…") and cannot seek past it, the uploader's page says it is retrying, and
//   playback continues once the uploader is back.
//
//   node --test e2e/live.test.mjs      (from web/; see scripts/web-e2e.sh)

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
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
import { installPlaybackProbe, MIN_STALL_SECONDS, probeOf, SAMPLE_MS, stallsOf } from './playback.mjs';

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

const fixture = (name) => path.join(FIXTURES_DIR, name);
const LIVE_MP4 = fixture('h264_aac_1080p_60s.mp4');
const LIVE_WEBM = fixture('vp9_opus_1080p_60s.webm');
const LIVE_MOV = fixture('hevc_aac_1080p_60s.mov');
const CRASH_MP4 = fixture('h264_aac_30s.mp4');
const PORTRAIT = fixture('h264_aac_portrait.mp4');

let server;
let browser;
let shots;
/** One row per watched upload, printed as a table at the end. */
const report = [];

before(async () => {
  preflight();
  for (const f of [LIVE_MP4, LIVE_WEBM, LIVE_MOV, CRASH_MP4, PORTRAIT]) {
    assert.ok(statSync(f, { throwIfNoEntry: false })?.size, `missing fixture ${f} (bash scripts/fixtures.sh)`);
  }
  shots = ensureScreenshotsDir();
  server = await startServer();
  await assertServesThisWebApp(server.url);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (report.length) {
    console.log(
      'The viewer while the upload runs. Times in s from choosing the file; stalls (the playhead still for ' +
        `≥ ${MIN_STALL_SECONDS} s, neither paused nor ended) counted after playback started, as "media time/length", ` +
        '* = after the upload had finished; waiting = `waiting` events after the start.',
    );
    console.table(report);
  }
});

// ---------------------------------------------------------------------------------------------
// Plumbing

function assertClean(problems, what, { allow = () => false } = {}) {
  assert.deepEqual(problems.csp, [], `${what}: no Content-Security-Policy violations`);
  assert.deepEqual(problems.pageErrors, [], `${what}: no uncaught exceptions`);
  assert.deepEqual(unexpectedConsoleErrors(problems).filter((m) => !allow(m)), [], `${what}: no console errors`);
  assert.deepEqual(problems.foreign, [], `${what}: no request to any host other than 127.0.0.1`);
}

/** Expected while a server is down or the uploader is offline: the browser notes the failed requests. */
const networkNoise = (m) => /net::ERR_(EMPTY_RESPONSE|CONNECTION_\w+|SOCKET_NOT_CONNECTED|ABORTED|FAILED|INTERNET_DISCONNECTED)|Failed to load resource/.test(m);

async function apiVideo(srv, id) {
  const res = await fetch(`${srv.url}/api/video/${id}`);
  assert.equal(res.status, 200, `GET /api/video/${id}`);
  return res.json();
}

async function waitReady(srv, id, timeoutMs = 120_000) {
  return until(
    async () => {
      const v = await apiVideo(srv, id);
      if (v.status === 'error') throw new Error(`video ${id} failed: ${JSON.stringify(v.error)}`);
      return v.status === 'ready' ? v : null;
    },
    { timeoutMs, intervalMs: 250, what: `video ${id} to be ready` },
  );
}

/**
 * Polls the status API in the background (every 250 ms): when the upload ended (the server held every
 * byte) and when the video was ready, in Date.now() milliseconds. Survives a server restart.
 */
function statusWatch(srvRef, id) {
  const seen = { uploadedAt: null, readyAt: null, last: null, errors: 0 };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const v = await apiVideo(srvRef(), id);
        seen.last = v;
        if (seen.uploadedAt === null && (v.status !== 'uploading' || v.receivedBytes >= v.sizeBytes)) seen.uploadedAt = Date.now();
        if (seen.readyAt === null && v.status === 'ready') seen.readyAt = Date.now();
        if (v.status === 'ready' || v.status === 'error') break;
      } catch {
        seen.errors++;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    seen,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** Every tus request of a page: method, path, offset, and the POST's metadata decoded. */
function recordTus(page) {
  const log = { requests: [], answers: [] };
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!u.pathname.startsWith('/api/uploads')) return;
    const h = r.headers();
    const metadata = {};
    for (const pair of (h['upload-metadata'] ?? '').split(',').filter(Boolean)) {
      const [k, v] = pair.trim().split(' ');
      metadata[k] = v === undefined ? '' : Buffer.from(v, 'base64').toString('utf8');
    }
    log.requests.push({
      at: Date.now(),
      method: r.method(),
      path: u.pathname,
      offset: h['upload-offset'] === undefined ? undefined : Number(h['upload-offset']),
      indexOffset: h['flick-index-offset'],
      metadata,
    });
  });
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (!u.pathname.startsWith('/api/uploads')) return;
    log.answers.push({ at: Date.now(), method: r.request().method(), status: r.status(), offset: r.headers()['upload-offset'] });
  });
  return log;
}

const of = (log, method) => log.requests.filter((r) => r.method === method);

/** Upload throttling of one page only (DevTools): bytes per second, or -1 for none; `offline` cuts it. */
async function throttle(cdp, uploadBytesPerSecond, { offline = false } = {}) {
  await cdp.send('Network.emulateNetworkConditions', { offline, latency: 0, downloadThroughput: -1, uploadThroughput: uploadBytesPerSecond });
}

/**
 * The uploader: a page that chooses `file` on the upload page, throttled to `bytesPerSecond`. Resolves
 * once the share page is shown: its link, the video's id, the tus log and the DevTools session.
 */
async function startUpload(context, file, { bytesPerSecond = -1, origin } = {}) {
  const page = await context.newPage();
  const log = recordTus(page);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await throttle(cdp, bytesPerSecond);
  await page.goto('/');
  await page.getByRole('heading', { name: 'Share a video' }).waitFor();
  const chosenAt = Date.now();
  await page.locator('input[type=file]').setInputFiles(file);
  await page.waitForURL(/\/v\/[0-9a-f]{32}$/, { timeout: 15_000 });
  const input = page.getByRole('textbox', { name: 'Share link' });
  await input.waitFor();
  const link = await input.inputValue();
  const shownAt = Date.now();
  const id = new URL(page.url()).pathname.split('/').pop();
  assert.equal(link, `${origin}/v/${id}`, 'the link shown is the share page');
  return { page, cdp, log, id, link, chosenAt, shownAt };
}

/** The viewer: a page on the share link that presses play as soon as there is a player (muted: no gesture needed). */
async function startViewing(context, link) {
  const page = await context.newPage();
  await page.goto(link);
  const video = page.locator('video');
  await video.waitFor({ timeout: 30_000 });
  await video.evaluate((v) => {
    v.muted = true;
    return v.play().catch(() => {});
  });
  return { page, video };
}

/** A context whose pages record their playback (see installPlaybackProbe). */
async function viewerContext(options = DESKTOP, origin = server.url) {
  const watched = await watchedContext(browser, origin, options);
  await watched.context.addInitScript(installPlaybackProbe, SAMPLE_MS);
  return watched;
}

/** An uploader context whose own player stays paused: on two cores the CPU goes to the server and the viewer. */
async function uploaderContext(options = DESKTOP, origin = server.url) {
  const watched = await watchedContext(browser, origin, options);
  await watched.context.addInitScript(() => {
    document.addEventListener('play', (e) => /** @type {HTMLVideoElement} */ (e.target).pause(), true);
  });
  return watched;
}

const secs = (ms) => (ms === null || ms === undefined ? null : Math.round(ms / 100) / 10);

// ---------------------------------------------------------------------------------------------

describe('every container, with the MIME type Chromium gives it', () => {
  it('uploads MKV, WebM, MOV and MP4 chosen in the page, and each ends ready', { timeout: 180_000 }, async () => {
    const { context, problems } = await watchedContext(browser, server.url, DESKTOP);
    // What the page sees of each chosen file (File.type, as Chromium sets it).
    await context.addInitScript(() => {
      document.addEventListener(
        'change',
        (e) => {
          const f = /** @type {HTMLInputElement} */ (e.target).files?.[0];
          // @ts-ignore
          if (f) (window.__flickChosen ??= []).push({ name: f.name, type: f.type });
        },
        true,
      );
    });
    const cases = [
      { file: 'h264_aac.mkv', types: ['video/x-matroska', 'video/matroska'] },
      { file: 'vp9_opus.webm', types: ['video/webm'] },
      { file: 'hevc_rot90.mov', types: ['video/quicktime'] },
      { file: 'h264_aac_faststart.mp4', types: ['video/mp4'] },
    ];
    const seen = [];
    try {
      for (const c of cases) {
        const up = await startUpload(context, fixture(c.file), { origin: server.url });
        const chosen = await up.page.evaluate(() => window.__flickChosen);
        const post = of(up.log, 'POST')[0];
        assert.ok(post, `${c.file}: a tus POST`);
        assert.equal(post.metadata.filename, c.file);
        const ready = await waitReady(server, up.id);
        seen.push({ file: c.file, 'File.type (Chromium)': chosen[0].type, 'tus filetype': post.metadata.filetype, status: ready.status });
        assert.ok(c.types.includes(post.metadata.filetype), `${c.file}: filetype ${post.metadata.filetype} is one of ${c.types}`);
        // The page declares what the browser said whenever the browser named a video type.
        if (chosen[0].type) assert.equal(post.metadata.filetype, chosen[0].type, `${c.file}: the browser's own type is sent`);
        assert.ok(ready.durationSeconds > 0 && ready.width > 0, `${c.file}: probed`);
        await up.page.getByText('Ready', { exact: true }).first().waitFor({ timeout: 10_000 });
        await up.page.close();
      }
      console.log('MIME types Chromium gives the chosen files:');
      console.table(seen);
      assertClean(problems, 'uploader');
    } finally {
      await context.close();
    }
  });
});

/**
 * One watched upload: the uploader is throttled to twice the file's bitrate, the viewer opens the link
 * as soon as it is shown and plays to the end. Returns what was measured.
 */
async function watchWhileUploading({ name, file, path: kind, screenshot }) {
  const size = statSync(file).size;
  const seconds = 60;
  const bytesPerSecond = Math.round((2 * size) / seconds);
  const up$ = await uploaderContext();
  const view$ = await viewerContext();
  let watch;
  try {
    const up = await startUpload(up$.context, file, { bytesPerSecond, origin: server.url });
    watch = statusWatch(() => server, up.id);
    const { page: viewer, video } = await startViewing(view$.context, up.link);

    // Past 2 s of media: the upload must still be running.
    const at2 = await until(() => video.evaluate((v) => (v.currentTime > 2 ? v.currentTime : null)), {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: `${name}: the viewer to play past 2 s`,
    });
    const during = await apiVideo(server, up.id);
    const playingAt2 = Date.now();
    assert.equal(during.status, 'uploading', `${name}: the upload is still running when the viewer is at ${at2.toFixed(2)} s`);
    assert.ok(during.receivedBytes < during.sizeBytes, `${name}: received ${during.receivedBytes} of ${during.sizeBytes} bytes when the viewer is past 2 s`);
    const firstPlaying = await viewer.evaluate(() => window.__flickFirstPlaying);
    assert.ok(typeof firstPlaying === 'number' && firstPlaying < 0.5, `${name}: playback started at ${firstPlaying} s, expected 0:00`);
    // The real length from the start (not the part listed so far), one progress indicator (the
    // uploader's own), and the viewer told how much has arrived.
    const duration = await video.evaluate((v) => v.duration);
    assert.ok(Math.abs(duration - seconds) < 1, `${name}: the player says ${duration} s long while uploading, expected ${seconds}`);
    assert.equal(await up.page.getByRole('progressbar').count(), 1, `${name}: one progress bar on the uploader's page`);
    assert.equal(await viewer.getByRole('progressbar').count(), 0, `${name}: no progress bar on the viewer's page`);
    await viewer.getByText(/^Still uploading — \d+ % received$/).waitFor({ timeout: 5000 });
    if (screenshot) {
      await viewer.screenshot({ path: path.join(shots, `${screenshot}-viewer-desktop.png`) });
      await up.page.screenshot({ path: path.join(shots, `${screenshot}-uploader-desktop.png`) });
    }

    // To the end.
    await until(() => video.evaluate((v) => v.ended), { timeoutMs: (seconds + 90) * 1000, intervalMs: 250, what: `${name}: the viewer to reach the end` });
    const endedAt = Date.now();
    const end = await video.evaluate((v) => ({ t: v.currentTime, duration: v.duration }));
    assert.ok(end.t > seconds - 1, `${name}: ended at ${end.t} s of ${seconds} s`);
    const ready = await waitReady(server, up.id);
    await watch.stop();

    const probe = await probeOf(viewer);
    const stalls = stallsOf(probe.samples);
    const freezes = stallsOf(probe.samples, 0).filter((s) => s.seconds < MIN_STALL_SECONDS);
    const started = probe.samples.find((s) => s[1] > 0 && !s[2]);
    const waitsAfterStart = probe.waits.filter((w) => started && w.at > started[0]);
    const uploadedAt = watch.seen.uploadedAt;
    const row = {
      case: name,
      path: kind,
      MB: Math.round(size / 1e5) / 10,
      'upload Mbit/s': Math.round((bytesPerSecond * 8) / 1e5) / 10,
      link: secs(up.shownAt - up.chosenAt),
      'first frame': started ? secs(started[0] - up.chosenAt) : null,
      'received at 2 s': `${Math.round((during.receivedBytes / during.sizeBytes) * 100)} %`,
      'upload done': secs(uploadedAt - up.chosenAt),
      ended: secs(endedAt - up.chosenAt),
      ready: secs(watch.seen.readyAt - up.chosenAt),
      stalls: stalls.length,
      'stall s (max)': stalls.length ? Math.max(...stalls.map((s) => s.seconds)).toFixed(2) : '0',
      'stall s (total)': stalls.reduce((a, s) => a + s.seconds, 0).toFixed(2),
      'stalls at': stalls.map((s) => `${s.at.toFixed(1)}s/${s.seconds.toFixed(2)}s${s.from > uploadedAt ? '*' : ''}`).join(' '),
      waiting: waitsAfterStart.length,
      [`freezes < ${MIN_STALL_SECONDS} s`]: freezes.length,
    };
    report.push(row);
    console.log(`${name}: ${JSON.stringify(row)}`);
    assert.ok(playingAt2 < uploadedAt, `${name}: playing before the upload finished`);
    assert.equal(ready.status, 'ready');
    assertClean(up$.problems, `${name} uploader`);
    assertClean(view$.problems, `${name} viewer`);
    return { stalls, row, waits: waitsAfterStart, uploadedAt };
  } finally {
    await watch?.stop();
    await up$.context.close();
    await view$.context.close();
  }
}

describe('a viewer watches while the upload runs (uploader throttled to 2× the bitrate)', () => {
  it('copy path: a 60 s 1080p moov-at-end H.264/AAC MP4, sent index first, plays from 0:00 to the end without a stall', { timeout: 240_000 }, async () => {
    const { stalls } = await watchWhileUploading({ name: 'MP4 H.264/AAC 1080p', file: LIVE_MP4, path: 'copy', screenshot: 'live-copy' });
    assert.deepEqual(stalls, [], 'the copy path never stalls once playback has started');
  });

  it('re-encode path: a 60 s 1080p VP9/Opus WebM plays from 0:00 to the end with at most one stall of at most 0.5 s', { timeout: 240_000 }, async () => {
    const { stalls } = await watchWhileUploading({ name: 'WebM VP9/Opus 1080p', file: LIVE_WEBM, path: 're-encode' });
    assert.ok(stalls.length <= 1, `at most one stall: ${JSON.stringify(stalls)}`);
    assert.ok(stalls.every((s) => s.seconds <= 0.5), `no stall longer than 0.5 s: ${JSON.stringify(stalls)}`);
  });

  it('re-encode path: a 60 s 1080p HEVC MOV, sent index first, plays from 0:00 to the end with at most one stall of at most 0.5 s', { timeout: 240_000 }, async () => {
    const { stalls } = await watchWhileUploading({ name: 'MOV HEVC/AAC 1080p', file: LIVE_MOV, path: 're-encode', screenshot: 'live-reencode' });
    assert.ok(stalls.length <= 1, `at most one stall: ${JSON.stringify(stalls)}`);
    assert.ok(stalls.every((s) => s.seconds <= 0.5), `no stall longer than 0.5 s: ${JSON.stringify(stalls)}`);
  });
});

describe('the server is killed mid-upload while a viewer plays (copy path)', () => {
  it('restarted on the same port and data, the uploader resumes by itself, the viewer plays on, and every segment fetched before is byte-identical after', { timeout: 240_000 }, async () => {
    const first = await startServer();
    let srv = first;
    const up$ = await uploaderContext(DESKTOP, first.url);
    const view$ = await viewerContext(DESKTOP, first.url);
    let watch;
    try {
      const size = statSync(CRASH_MP4).size;
      const seconds = 30;
      const bytesPerSecond = Math.round((2 * size) / seconds);
      const up = await startUpload(up$.context, CRASH_MP4, { bytesPerSecond, origin: first.url });
      watch = statusWatch(() => srv, up.id);
      // What the viewer was served before the crash: the bodies of its init and media segments.
      const before = new Map();
      let crashed = false;
      view$.context.on('response', (r) => {
        const { pathname } = new URL(r.url());
        if (crashed || r.status() !== 200 || !/^\/streams\/[0-9a-f]{32}\/(init\.mp4|seg_\d+\.(m4s|ts))$/.test(pathname)) return;
        before.set(
          pathname,
          r.body().catch(() => null), // cut by the crash: not fetched whole, not compared
        );
      });
      const { page: viewer, video } = await startViewing(view$.context, up.link);
      await until(() => video.evaluate((v) => v.currentTime > 3), { timeoutMs: 30_000, intervalMs: 50, what: 'the viewer to play past 3 s' });
      const atCrash = await apiVideo(first, up.id);
      assert.equal(atCrash.status, 'uploading', 'the upload is still running at the crash');
      crashed = true;
      const { t: tCrash, bufferedTo } = await video.evaluate((v) => {
        let to = v.currentTime;
        for (let i = 0; i < v.buffered.length; i++) if (v.buffered.start(i) <= v.currentTime + 0.1) to = Math.max(to, v.buffered.end(i));
        return { t: v.currentTime, bufferedTo: to };
      });
      const requestsBefore = up.log.requests.length;
      await first.kill();
      const killedAt = Date.now();
      await new Promise((r) => setTimeout(r, 1000));
      srv = await startServer({}, { port: first.port, dataDir: first.dataDir });
      const restartedAt = Date.now();

      // The uploader carries on by itself, from where the server stands.
      await until(() => watch.seen.uploadedAt !== null && watch.seen.uploadedAt > killedAt, { timeoutMs: 90_000, intervalMs: 250, what: 'the upload to finish after the restart' });
      const after = up.log.requests.slice(requestsBefore);
      assert.equal(of(up.log, 'POST').length, 1, `one upload: ${JSON.stringify(up.log.requests.map((r) => r.method))}`);
      assert.ok(after.some((r) => r.method === 'HEAD'), 'asked the restarted server for its offset');
      const resumed = after.filter((r) => r.method === 'PATCH' && r.at > restartedAt);
      assert.ok(resumed.length > 0 && resumed[0].offset > 0, `resumed from the server's offset, not from 0: ${JSON.stringify(resumed)}`);

      // The viewer plays on, past all it had buffered before the crash: media served after the restart.
      await until(() => video.evaluate((v, to) => v.currentTime > to + 1 && !v.paused, bufferedTo), {
        timeoutMs: 60_000,
        intervalMs: 100,
        what: `the viewer to play past ${bufferedTo.toFixed(1)} s (its buffer at the crash)`,
      });
      await waitReady(srv, up.id);
      await watch.stop();

      // Byte for byte what was served before the crash.
      const compared = [];
      for (const [pathname, body] of before) {
        const old = await body;
        if (!old) continue;
        const res = await fetch(srv.url + pathname);
        assert.equal(res.status, 200, `${pathname} after the restart`);
        const now = Buffer.from(await res.arrayBuffer());
        const sha = (b) => createHash('sha256').update(b).digest('hex').slice(0, 16);
        compared.push({ segment: pathname.split('/').pop(), bytes: old.length, before: sha(old), after: sha(now) });
        assert.ok(now.equals(old), `${pathname}: ${old.length} bytes before the crash (${sha(old)}), ${now.length} after (${sha(now)})`);
      }
      const probe = await probeOf(viewer);
      const playedOnAt = probe.samples.find((x) => x[0] > killedAt && x[1] > bufferedTo)?.[0];
      console.log(
        `crash at ${tCrash.toFixed(2)} s of media (buffered to ${bufferedTo.toFixed(1)} s, ${Math.round((atCrash.receivedBytes / atCrash.sizeBytes) * 100)} % uploaded); ` +
          `restarted ${secs(restartedAt - killedAt)} s after the kill; the upload was complete ${secs(watch.seen.uploadedAt - restartedAt)} s after the restart; ` +
          `the viewer played past its buffer at the crash ${secs(playedOnAt - restartedAt)} s after the restart. Segments fetched before the crash, compared after it:`,
      );
      console.table(compared);
      assert.ok(compared.some((c) => c.segment === 'init.mp4'), 'the init segment is among them');
      assert.ok(compared.filter((c) => c.segment.startsWith('seg_')).length >= 2, 'at least two media segments were compared');

      const stalls = stallsOf(probe.samples);
      report.push({
        case: 'MP4 H.264/AAC 360p, server SIGKILLed',
        path: 'copy',
        MB: Math.round(size / 1e5) / 10,
        'upload Mbit/s': Math.round((bytesPerSecond * 8) / 1e5) / 10,
        link: secs(up.shownAt - up.chosenAt),
        'upload done': secs(watch.seen.uploadedAt - up.chosenAt),
        ready: secs(watch.seen.readyAt - up.chosenAt),
        stalls: stalls.length,
        'stall s (max)': stalls.length ? Math.max(...stalls.map((s) => s.seconds)).toFixed(2) : '0',
        'stall s (total)': stalls.reduce((a, s) => a + s.seconds, 0).toFixed(2),
        'stalls at': stalls.map((s) => `${s.at.toFixed(1)}s/${s.seconds.toFixed(2)}s`).join(' '),
        waiting: probe.waits.length,
      });
      assertClean(up$.problems, 'uploader', { allow: networkNoise });
      assertClean(view$.problems, 'viewer', { allow: networkNoise });
    } finally {
      await watch?.stop();
      await up$.context.close();
      await view$.context.close();
      await srv.stop();
      await first.stop(); // removes the data folder
    }
  });
});

/** Whether a locator's box lies wholly inside the viewport, the page not scrolled. */
async function inView(page, locator) {
  const box = await locator.boundingBox();
  const { width, height, scrollY } = await page.evaluate(() => ({ width: innerWidth, height: innerHeight, scrollY }));
  return !!box && scrollY === 0 && box.y >= 0 && box.x >= 0 && box.y + box.height <= height && box.x + box.width <= width;
}

describe('the share link is in view right after choosing a file', () => {
  const cases = [
    ['desktop', DESKTOP, 'landscape', CLIP],
    ['desktop', DESKTOP, 'portrait', PORTRAIT],
    ['phone', PHONE, 'landscape', CLIP],
    ['phone', PHONE, 'portrait', PORTRAIT],
  ];
  for (const [device, options, shape, file] of cases) {
    it(`${device} ${options.viewport.width}×${options.viewport.height}, ${shape} video: the link and Copy, with the upload's progress`, { timeout: 60_000 }, async () => {
      const { context, problems } = await watchedContext(browser, server.url, options);
      try {
        // Slow enough that it is still uploading while we look.
        const up = await startUpload(context, file, { bytesPerSecond: 192 * 1024, origin: server.url });
        const { page } = up;
        const link = page.getByRole('textbox', { name: 'Share link' });
        const copy = page.getByRole('button', { name: 'Copy link' });
        const bar = page.getByRole('progressbar', { name: 'Upload progress' });
        await copy.waitFor();
        assert.ok(await inView(page, link), `${device}/${shape}: the link is in view at once`);
        assert.ok(await inView(page, copy), `${device}/${shape}: Copy is in view at once`);
        assert.ok(await inView(page, bar), `${device}/${shape}: the upload's progress is in view at once`);
        await page.screenshot({ path: path.join(shots, `link-at-once-${device}-${shape}.png`) });

        // Once the server knows the picture's shape (a tall stage for a portrait video), still in view.
        const v = await until(
          async () => {
            const x = await apiVideo(server, up.id);
            return x.width && x.height ? x : null;
          },
          { what: 'the video size' },
        );
        assert.equal(v.height > v.width, shape === 'portrait', `${shape}: ${v.width}×${v.height}`);
        await page.locator(shape === 'portrait' ? '.stage.portrait' : '.stage').waitFor();
        assert.ok(await inView(page, link), `${device}/${shape}: the link stays in view`);
        assert.ok(await inView(page, copy), `${device}/${shape}: Copy stays in view`);
        assert.ok(await inView(page, bar), `${device}/${shape}: the upload's progress stays in view`);
        await page.screenshot({ path: path.join(shots, `link-while-uploading-${device}-${shape}.png`) });

        await throttle(up.cdp, -1);
        await waitReady(server, up.id);
        await page.getByText('Ready', { exact: true }).first().waitFor({ timeout: 10_000 });
        assert.ok(await inView(page, link), `${device}/${shape}: the link is in view once ready`);
        assert.ok(await inView(page, copy), `${device}/${shape}: Copy is in view once ready`);
        await page.screenshot({ path: path.join(shots, `link-ready-${device}-${shape}.png`) });
        assertClean(problems, `${device}/${shape}`);
      } finally {
        await context.close();
      }
    });
  }
});

describe('the uploader pauses (goes offline) while a viewer plays', () => {
  it('the viewer plays what has arrived, says it waits for the uploader, and goes on when the uploader is back; the uploader is told it is retrying', { timeout: 240_000 }, async () => {
    const up$ = await uploaderContext();
    const view$ = await viewerContext();
    try {
      const size = statSync(LIVE_MP4).size;
      const bytesPerSecond = Math.round((2 * size) / 60);
      const up = await startUpload(up$.context, LIVE_MP4, { bytesPerSecond, origin: server.url });
      const { page: viewer, video } = await startViewing(view$.context, up.link);
      await until(() => video.evaluate((v) => v.currentTime > 2), { timeoutMs: 30_000, intervalMs: 50, what: 'the viewer to play past 2 s' });

      await throttle(up.cdp, bytesPerSecond, { offline: true });
      const offlineAt = Date.now();
      // The uploader's page says what is going on, in its upload's progress (no speed, no time left).
      const card = up.page.getByRole('region', { name: /^Uploading / });
      await card.getByText('Connection lost — retrying…', { exact: true }).waitFor({ timeout: 30_000 });
      await card.getByRole('status').filter({ hasText: 'The upload goes on by itself' }).waitFor({ state: 'attached' });
      assert.equal(await card.getByText(/\/s|left/).count(), 0, 'no speed or time left while nothing moves');
      await up.page.screenshot({ path: path.join(shots, 'offline-uploader-desktop.png') });

      // The viewer plays up to the end of what arrived, then says it is waiting.
      const waiting = viewer.getByText('Waiting for the uploader…');
      await waiting.waitFor({ timeout: 90_000 });
      const stuck = await video.evaluate((v) => ({ t: v.currentTime, paused: v.paused, ended: v.ended }));
      const during = await apiVideo(server, up.id);
      assert.equal(during.status, 'uploading');
      assert.ok(during.receivedBytes < during.sizeBytes, `received ${during.receivedBytes} of ${during.sizeBytes}`);
      assert.equal(stuck.paused, false, 'not paused: waiting for data');
      assert.equal(stuck.ended, false);
      assert.ok(stuck.t > 2 && stuck.t < 59, `waiting at ${stuck.t} s, within the video`);
      await viewer.screenshot({ path: path.join(shots, 'offline-viewer-waiting-desktop.png') });
      await new Promise((r) => setTimeout(r, 1500));
      const still = await video.evaluate((v) => v.currentTime);
      assert.ok(Math.abs(still - stuck.t) < 0.3, `the playhead waits (${stuck.t} → ${still})`);

      // The seek bar spans the whole video, but neither its End key nor a click near its end goes past
      // what has arrived.
      const seek = viewer.getByRole('slider', { name: 'Seek' });
      assert.ok(Number(await seek.getAttribute('aria-valuemax')) >= 59, `the seek bar spans the whole video (${await seek.getAttribute('aria-valuemax')} s)`);
      await seek.focus();
      await viewer.keyboard.press('End');
      const box = await seek.boundingBox();
      await viewer.mouse.click(box.x + box.width * 0.98, box.y + box.height / 2);
      await new Promise((r) => setTimeout(r, 300));
      const limit = (await apiVideo(server, up.id)).playableSeconds;
      const sought = await video.evaluate((v) => v.currentTime);
      assert.ok(sought <= Math.max(limit, still) + 0.5, `seeking stays within what has arrived: at ${sought} s, ${limit} s playable`);
      // Back where it waited, for what follows.
      await video.evaluate((v, t) => (v.currentTime = t), still);
      await viewer.mouse.move(0, 0);

      // Back online: the upload continues by itself, and so does the viewer.
      await throttle(up.cdp, bytesPerSecond);
      const onlineAt = Date.now();
      await until(() => video.evaluate((v, t) => v.currentTime > t + 0.2, stuck.t), { timeoutMs: 60_000, intervalMs: 50, what: 'playback to go on after the uploader is back' });
      const resumedAt = Date.now();
      await until(() => video.evaluate((v, t) => v.currentTime > t + 3, stuck.t), { timeoutMs: 30_000, intervalMs: 100, what: 'playback to go on for 3 s' });
      assert.equal(await waiting.count(), 0, 'the waiting notice is gone');
      assert.equal(await card.getByText(/retrying/).count(), 0, 'the uploader no longer says it is retrying');
      console.log(
        `pause: offline for ${secs(onlineAt - offlineAt)} s; the viewer waited at ${stuck.t.toFixed(1)} s ` +
          `(${Math.round((during.receivedBytes / during.sizeBytes) * 100)} % received) and went on ${secs(resumedAt - onlineAt)} s after the uploader was back`,
      );
      await throttle(up.cdp, -1);
      await waitReady(server, up.id);
      assertClean(up$.problems, 'uploader', { allow: networkNoise });
      assertClean(view$.problems, 'viewer');
    } finally {
      await up$.context.close();
      await view$.context.close();
    }
  });
});
