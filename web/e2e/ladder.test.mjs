// Adaptive bitrate (issue 13, item 1), in real Chromium against the real release binary: a 60 s 1080p H.264/AAC MP4
// at about 9 Mbit/s (served from its original as fMP4) gains its 720p and 360p renditions (MPEG-TS); then
//
// - a viewer whose link carries 3 Mbit/s (DevTools network emulation) plays it from 0:00 to the end without a
//   stall: the player starts on a rendition the link carries, not on the original's bitrate;
// - the same viewer, its link then unthrottled, climbs back to the original (MPEG-TS → fMP4) with neither a stall
//   nor a jump: the renditions' timestamps agree.
//
//   node --test e2e/ladder.test.mjs      (from web/; see scripts/web-e2e.sh)

import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureScreenshotsDir, FIXTURES_DIR, launchBrowser, preflight, startServer, until, watchedContext } from './helpers.mjs';
import { installPlaybackProbe, jumpsOf, probeOf, SAMPLE_MS, stallsOf } from './playback.mjs';

const CLIP_1080P = path.join(FIXTURES_DIR, 'h264_aac_1080p_60s.mp4');
const SLOW_LINK_BYTES_PER_SECOND = 3_000_000 / 8;

let server;
let browser;
let shots;

before(async () => {
  preflight();
  assert.ok(statSync(CLIP_1080P, { throwIfNoEntry: false })?.size, `missing fixture ${CLIP_1080P} (bash scripts/fixtures.sh)`);
  shots = ensureScreenshotsDir();
  server = await startServer({ FLICK_PROCESSING__LADDER_WORKERS: '1' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The renditions a master playlist lists: [{ uri, bandwidth, height }]. */
function variants(master) {
  const lines = master.split('\n');
  const out = [];
  lines.forEach((line, i) => {
    if (!line.startsWith('#EXT-X-STREAM-INF:')) return;
    const bandwidth = Number(/BANDWIDTH=(\d+)/.exec(line)?.[1]);
    const height = Number(/RESOLUTION=\d+x(\d+)/.exec(line)?.[1]);
    out.push({ uri: lines[i + 1], bandwidth, height });
  });
  return out;
}

/**
 * Presses play (muted: no gesture needed) until the playhead moves: a play() made before the player has attached
 * its stream is undone when it does.
 */
async function playMuted(video) {
  await until(
    () =>
      video.evaluate((v) => {
        if (v.paused) {
          v.muted = true;
          v.play().catch(() => {});
        }
        return v.currentTime > 0;
      }),
    { timeoutMs: 30_000, what: 'the first frame' },
  );
}

/** Which rendition a segment request is of: 'r720', 'r360', or 'original'. */
const renditionOf = (url) => /\/streams\/[0-9a-f]+\/(r\d+)\//.exec(url)?.[1] ?? 'original';

describe('adaptive bitrate', () => {
  it('a 9 Mbit/s 1080p video plays to its end over a 3 Mbit/s link without a stall, and climbs back without a jump', { timeout: 420_000 }, async () => {
    const res = await fetch(`${server.url}/api/upload?filename=clip.mp4`, { method: 'POST', body: readFileSync(CLIP_1080P) });
    assert.equal(res.status, 201);
    const { id, url } = await res.json();

    // The ladder follows the first rendition, at the lowest priority.
    const master = await until(
      async () => {
        const text = await (await fetch(`${server.url}/streams/${id}/master.m3u8`)).text();
        return variants(text).length === 3 ? text : null;
      },
      { timeoutMs: 300_000, intervalMs: 1000, what: 'the 720p and 360p renditions' },
    );
    const listed = variants(master);
    assert.deepEqual(listed.map((v) => v.uri), ['index.m3u8', 'r720/index.m3u8', 'r360/index.m3u8']);
    assert.ok(listed[0].bandwidth > 6_000_000, `the original is well above 3 Mbit/s: ${listed[0].bandwidth}`);
    assert.ok(listed[2].bandwidth < 1_500_000, `360p fits a slow link: ${listed[2].bandwidth}`);

    const { context, problems } = await watchedContext(browser, server.url, { viewport: { width: 1280, height: 800 } });
    await context.addInitScript(installPlaybackProbe, SAMPLE_MS);
    const page = await context.newPage();
    const segments = [];
    page.on('request', (r) => {
      if (/\/seg_\d+\.(ts|m4s)$/.test(new URL(r.url()).pathname)) segments.push({ at: Date.now(), rendition: renditionOf(r.url()) });
    });
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const link = (downloadThroughput) => cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput, uploadThroughput: -1 });
    await link(SLOW_LINK_BYTES_PER_SECOND);

    await page.goto(url);
    const video = page.locator('video');
    await video.waitFor({ timeout: 30_000 });
    const pressed = Date.now();
    await playMuted(video);
    const firstFrameMs = Date.now() - pressed;
    await until(() => video.evaluate((v) => v.ended), { timeoutMs: 150_000, intervalMs: 500, what: 'the end of the video' });
    await page.screenshot({ path: path.join(shots, 'ladder-3mbit-end.png') });

    const slow = await probeOf(page);
    const stalls = stallsOf(slow.samples);
    const slowSegments = segments.splice(0);
    const fetched = [...new Set(slowSegments.map((s) => s.rendition))];
    console.log(`3 Mbit/s: first frame after ${firstFrameMs} ms; renditions fetched: ${fetched.join(', ')}; stalls: ${JSON.stringify(stalls)}`);
    assert.deepEqual(stalls, [], 'no stall over a 3 Mbit/s link');
    assert.deepEqual(jumpsOf(slow.samples), [], 'no jump');
    assert.ok(fetched.some((r) => r !== 'original'), `a lower rendition was played: ${fetched}`);

    // A new viewer (nothing cached), on the slow link: a few seconds of the lower renditions (MPEG-TS); then the link
    // is freed and the player climbs to the original (fMP4) as it goes on, in time.
    assert.deepEqual(problems.pageErrors, []);
    await context.close();
    const second = await watchedContext(browser, server.url, { viewport: { width: 1280, height: 800 } });
    await second.context.addInitScript(installPlaybackProbe, SAMPLE_MS);
    const climber = await second.context.newPage();
    climber.on('request', (r) => {
      if (/\/seg_\d+\.(ts|m4s)$/.test(new URL(r.url()).pathname)) segments.push({ at: Date.now(), rendition: renditionOf(r.url()) });
    });
    const climberCdp = await second.context.newCDPSession(climber);
    await climberCdp.send('Network.enable');
    const climberLink = (downloadThroughput) => climberCdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput, uploadThroughput: -1 });
    await climberLink(SLOW_LINK_BYTES_PER_SECOND);
    segments.length = 0;
    await climber.goto(url);
    const climbing = climber.locator('video');
    await climbing.waitFor({ timeout: 30_000 });
    await playMuted(climbing);
    await until(() => climbing.evaluate((v) => v.currentTime > 6), { timeoutMs: 60_000, intervalMs: 250, what: '6 s on the slow link' });
    await climberLink(-1);
    await until(() => climbing.evaluate((v) => v.currentTime > 35), { timeoutMs: 90_000, intervalMs: 500, what: '35 s of playback' });
    const fast = await probeOf(climber);
    const climbed = segments.map((s) => s.rendition);
    console.log(`slow then unthrottled: renditions fetched in order: ${climbed.join(' ')}`);
    const firstTs = climbed.findIndex((r) => r !== 'original');
    assert.ok(firstTs >= 0 && climbed.indexOf('original', firstTs) > firstTs, `MPEG-TS first, then the original once the link allowed: ${climbed}`);
    assert.deepEqual(stallsOf(fast.samples), [], 'no stall while switching renditions');
    assert.deepEqual(jumpsOf(fast.samples.filter(([, t]) => t > 0.5)), [], 'no jump while switching renditions');
    const holes = await climbing.evaluate((v) => {
      const gaps = [];
      for (let i = 1; i < v.buffered.length; i++) if (v.buffered.start(i) - v.buffered.end(i - 1) > 0.1 && v.buffered.end(i - 1) < v.currentTime) gaps.push([v.buffered.end(i - 1), v.buffered.start(i)]);
      return gaps;
    });
    assert.deepEqual(holes, [], 'no hole in what was played');
    assert.deepEqual(second.problems.pageErrors, []);
    await second.context.close();
  });
});
