// The viewer of `make bench`: a real Chromium on Flick's share page while the upload is still running.
//
//   node bench/viewer.mjs          (started by bench/flickbench/viewer.py, which drives it over stdin/stdout)
//
// Chromium is launched first (its start-up is not the server's time), then the script prints {"ready":true} and
// reads one JSON line: {"url": share page, "started": upload start in ms since the epoch, "limitMs"}. It opens the
// page, presses play as soon as the player is on it (muted, as a viewer who clicks it would get sound), and samples
// the <video> every 100 ms until it has ended: the playhead not moving while neither paused nor ended is a stall.
// It prints one JSON line with the result. playwright-core comes from web/node_modules (`cd web && npm ci`).
//
// CHROMIUM_PATH (default /usr/bin/chromium).

import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../web');
const { chromium } = createRequire(path.join(WEB, 'package.json'))('playwright-core');
const SAMPLE_MS = 100;

/** Runs in the page: records the first `playing` and samples the video element (it appears once playable). */
function sampler(sampleMs) {
  const w = /** @type {any} */ (window);
  w.__bench = { firstPlaying: null, firstMoving: null, samples: [], waiting: 0, pressed: null };
  document.addEventListener(
    'playing',
    () => {
      if (w.__bench.firstPlaying === null) w.__bench.firstPlaying = Date.now();
    },
    true,
  );
  document.addEventListener('waiting', () => w.__bench.waiting++, true);
  setInterval(() => {
    const v = document.querySelector('video');
    if (!v) return;
    if (w.__bench.pressed === null) {
      // The viewer presses play as soon as there is a player.
      w.__bench.pressed = Date.now();
      v.muted = true;
      v.play().catch(() => {
        w.__bench.pressed = null; // not yet (no source attached): try again on the next tick
      });
    }
    if (v.currentTime > 0 && w.__bench.firstMoving === null) w.__bench.firstMoving = Date.now();
    // How much is buffered past the playhead: a stall with data buffered is the browser's own (decoding, a busy
    // CPU), one with nothing buffered is the stream not keeping up.
    let ahead = 0;
    for (let i = 0; i < v.buffered.length; i++) {
      if (v.buffered.start(i) <= v.currentTime + 0.1 && v.buffered.end(i) > v.currentTime) ahead = v.buffered.end(i) - v.currentTime;
    }
    w.__bench.samples.push([Date.now(), v.currentTime, v.paused, v.ended, ahead]);
  }, sampleMs);
}

/**
 * Stalls from the samples: after playback first moved, consecutive samples where the playhead did not advance while
 * the video was neither paused nor ended. Each stall: [media time, seconds, least seconds buffered ahead meanwhile].
 */
function stalls(samples) {
  const out = [];
  let moving = false;
  let open = null;
  for (let i = 1; i < samples.length; i++) {
    const [t, ct, paused, ended, ahead] = samples[i];
    const [t0, ct0] = samples[i - 1];
    if (!moving) {
      moving = ct > 0;
      continue;
    }
    const stuck = !paused && !ended && ct === ct0;
    if (stuck) {
      if (open === null) open = { at: ct, from: t0, ahead: samples[i - 1][4] };
      open.to = t;
      open.ahead = Math.min(open.ahead, ahead);
    } else if (open !== null) {
      out.push([open.at, (open.to - open.from) / 1000, open.ahead]);
      open = null;
    }
  }
  if (open !== null) out.push([open.at, (open.to - open.from) / 1000, open.ahead]);
  return out;
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.addInitScript(sampler, SAMPLE_MS);
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    console.log(JSON.stringify({ ready: true }));
    const lines = readline.createInterface({ input: process.stdin });
    const job = JSON.parse((await lines[Symbol.asyncIterator]().next()).value);
    lines.close(); // one job per run: stdin must not keep the process alive
    process.stdin.destroy();
    const opened = Date.now();
    await page.goto(job.url);
    const deadline = job.started + job.limitMs;
    let state;
    for (;;) {
      state = await page.evaluate(() => {
        const b = /** @type {any} */ (window).__bench;
        const v = document.querySelector('video');
        return { ended: !!v?.ended, currentTime: v?.currentTime ?? 0, duration: v?.duration ?? null, error: v?.error?.message ?? null, count: b.samples.length };
      });
      if (state.ended || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const b = await page.evaluate(() => /** @type {any} */ (window).__bench);
    const found = stalls(b.samples);
    console.log(
      JSON.stringify({
        opened: opened - job.started,
        pressed: b.pressed === null ? null : b.pressed - job.started,
        firstPlaying: b.firstPlaying === null ? null : b.firstPlaying - job.started,
        firstMoving: b.firstMoving === null ? null : b.firstMoving - job.started,
        ended: state.ended,
        endedAt: Date.now() - job.started,
        currentTime: state.currentTime,
        duration: state.duration,
        videoError: state.error,
        waitingEvents: b.waiting,
        stalls: found,
        samples: b.samples.length,
        pageErrors: errors,
      }),
    );
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.log(JSON.stringify({ error: String(e?.stack ?? e) }));
  process.exit(1);
});
