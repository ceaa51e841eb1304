// What a viewer's <video> does, recorded in the page: the playhead sampled every SAMPLE_MS, `waiting` and
// `playing` events; and the stalls (and jumps) read from those samples. Shared by the browser tests that watch.

/** Sampling period of the viewer's playhead (in the page). */
export const SAMPLE_MS = 100;
/**
 * A stall: the playhead not moving for at least this long (more than one sampling period, so that
 * two samples taken close together by a busy page do not count), while neither paused nor ended.
 */
export const MIN_STALL_SECONDS = 0.15;

/**
 * Records what the page's `<video>` does, every SAMPLE_MS, from the moment it exists:
 * `[wall ms, currentTime, paused, ended, readyState, end of the buffered range at the playhead]`, and
 * its `waiting` events. Installed before any script of the page runs.
 */
export function installPlaybackProbe(sampleMs) {
  const probe = { samples: [], waits: [], playing: [] };
  // @ts-ignore
  window.__flickProbe = probe;
  let bound = null;
  const now = () => performance.timeOrigin + performance.now();
  setInterval(() => {
    const v = document.querySelector('video');
    if (!v) return;
    if (v !== bound) {
      bound = v;
      v.addEventListener('waiting', () => probe.waits.push({ at: now(), t: v.currentTime }));
      v.addEventListener('playing', () => probe.playing.push({ at: now(), t: v.currentTime }));
    }
    let bufferedTo = 0;
    for (let i = 0; i < v.buffered.length; i++) {
      if (v.buffered.start(i) <= v.currentTime + 0.1 && v.buffered.end(i) >= v.currentTime) bufferedTo = v.buffered.end(i);
    }
    probe.samples.push([now(), v.currentTime, v.paused, v.ended, v.readyState, bufferedTo]);
  }, sampleMs);
}

/**
 * The stalls in a probe's samples: runs of samples, after playback first moved, where the playhead did
 * not move while the element was neither paused nor ended. Each: where (media time), when it began
 * (wall ms) and how long it lasted (s). Runs shorter than MIN_STALL_SECONDS are sampling jitter.
 */
export function stallsOf(samples, minSeconds = MIN_STALL_SECONDS) {
  const stalls = [];
  let started = false;
  let run = null;
  for (let i = 1; i < samples.length; i++) {
    const [at0, t0, paused0] = samples[i - 1];
    const [at, t, paused, ended] = samples[i];
    if (!started) {
      started = t > 0 && !paused;
      continue;
    }
    const stuck = !paused && !paused0 && !ended && Math.abs(t - t0) < 1e-3;
    if (stuck) {
      run ??= { at: t0, from: at0, to: at0 };
      run.to = at;
    } else if (run) {
      stalls.push(run);
      run = null;
    }
  }
  if (run) stalls.push({ ...run, open: true });
  return stalls.map((r) => ({ at: r.at, from: r.from, seconds: (r.to - r.from) / 1000, open: !!r.open })).filter((s) => s.seconds >= minSeconds);
}

export async function probeOf(page) {
  return page.evaluate(() => window.__flickProbe);
}

/**
 * Jumps in a probe's samples: the playhead moving on by more than the wall clock allows (a hole in the buffer that
 * the player skipped, as renditions whose timestamps disagree would leave), in media seconds.
 */
export function jumpsOf(samples, { slack = 0.5 } = {}) {
  const jumps = [];
  for (let i = 1; i < samples.length; i++) {
    const [at0, t0, paused0] = samples[i - 1];
    const [at, t] = samples[i];
    const expected = paused0 ? 0 : (at - at0) / 1000;
    if (t - t0 > expected + slack) jumps.push({ from: t0, to: t, seconds: t - t0 - expected });
  }
  return jumps;
}
