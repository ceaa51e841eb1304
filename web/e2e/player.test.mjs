// The player, end to end in real Chromium against the real server, as a viewer (not the uploader):
// the big play button, its own control bar (no native controls: play/pause, the seek bar by keyboard,
// click and finger, with the time), keyboard shortcuts (space/k, arrows, m, f, < and >, never while
// typing, never twice), the speed menu, the quality menu (none for one rendition; "Auto" and each level
// for a master playlist of several, made here by rewriting the server's), seek-bar previews and
// captions (the status answer given a storyboard and caption tracks here, until the server makes
// them), resume after a reload (and not near the ends, forgotten at the end), focus rings, no "Ready"
// chip; and "My videos" on a phone (compact cards, titles wrapping between words, portrait pictures
// whole).
// Screenshots go where helpers.mjs says.
//
//   node --test e2e/player.test.mjs     (from web/; see e2e/flick.test.mjs for the environment)

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertServesThisWebApp, ensureScreenshotsDir, FIXTURES_DIR, launchBrowser, preflight, startServer, unexpectedConsoleErrors, until, watchedContext } from './helpers.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 800 } };
const CLIP_30S = path.join(FIXTURES_DIR, 'h264_aac_30s.mp4');
const PORTRAIT = path.join(FIXTURES_DIR, 'h264_aac_portrait.mp4');
const RESUME_KEY = 'flick.resume.v1';

let server;
let browser;
let shots;
/** The 30 s clip, uploaded through the API: every browser here is a viewer of it. */
let clip;

before(async () => {
  preflight();
  shots = ensureScreenshotsDir();
  server = await startServer();
  await assertServesThisWebApp(server.url);
  browser = await launchBrowser();
  clip = await uploadViaApi('Thirty seconds of rabbit.mp4', CLIP_30S);
  await waitReady(clip.id);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function uploadViaApi(name, file) {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(file)], { type: 'video/mp4' }), name);
  const res = await fetch(`${server.url}/api/upload`, { method: 'POST', body: form });
  assert.equal(res.status, 201, await res.clone().text());
  return res.json();
}

async function waitReady(id) {
  return until(
    async () => {
      const v = await (await fetch(`${server.url}/api/video/${id}`)).json();
      return v.status === 'ready' ? v : v.status === 'error' ? Promise.reject(new Error(JSON.stringify(v.error))) : null;
    },
    { timeoutMs: 60_000, intervalMs: 200, what: `video ${id} to be ready` },
  );
}

function assertClean(problems) {
  assert.deepEqual(problems.csp, [], 'no Content-Security-Policy violations');
  assert.deepEqual(problems.pageErrors, [], 'no uncaught exceptions');
  assert.deepEqual(unexpectedConsoleErrors(problems), [], 'no console errors');
  assert.deepEqual(problems.foreign, [], 'no request to any host other than 127.0.0.1');
}

/** Opens the share page and waits until the player has its stream (metadata known). */
async function openPlayer(page, id = clip.id) {
  await page.goto(`/v/${id}`);
  await page.locator('video').waitFor();
  await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v && v.readyState >= 1 && Number.isFinite(v.duration) && v.duration > 0;
  });
}

const state = (page) =>
  page.locator('video').evaluate((v) => ({ paused: v.paused, t: v.currentTime, muted: v.muted, rate: v.playbackRate, ended: v.ended }));

/** Sets the position and waits until the element got there. */
async function seekTo(page, t) {
  await page.locator('video').evaluate(
    (v, to) =>
      new Promise((resolve) => {
        v.addEventListener('seeked', () => resolve(), { once: true });
        v.currentTime = to;
      }),
    t,
  );
}

async function pauseAndSettle(page) {
  await page.locator('video').evaluate((v) => v.pause());
}

describe('the player, as a viewer', () => {
  let context;
  let problems;
  let page;

  before(async () => {
    ({ context, problems } = await watchedContext(browser, server.url, DESKTOP));
    // A video without seek-bar previews or captions here (whatever the server has made by now): those
    // are the next describe's.
    await context.route((url) => url.pathname === `/api/video/${clip.id}`, async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      await route.fulfill({ response: res, json: { ...body, storyboardUrl: null, captions: [] } });
    });
    page = await context.newPage();
  });

  after(async () => {
    await context?.close();
  });

  it('shows a big play button before playback, its own controls, no quality menu for one rendition, and no "Ready" chip', async () => {
    await openPlayer(page);
    await page.getByRole('heading', { level: 1, name: 'Thirty seconds of rabbit' }).waitFor();
    const bigPlay = page.getByRole('button', { name: 'Play video' });
    await bigPlay.waitFor();
    // Ours, not the browser's: play, the seek bar, mute, the time.
    assert.equal(await page.locator('video').getAttribute('controls'), null, 'no native controls');
    await page.getByRole('button', { name: 'Play', exact: true }).waitFor();
    const seek = page.getByRole('slider', { name: 'Seek' });
    await seek.waitFor();
    assert.equal(await seek.getAttribute('aria-valuetext'), '0:00 of 0:30');
    await page.getByRole('button', { name: 'Mute' }).waitFor();
    await page.getByText('0:00 / 0:30', { exact: true }).waitFor();
    assert.equal(await page.getByRole('button', { name: /^Captions/ }).count(), 0, 'no captions menu for a video without captions');
    const settings = page.getByRole('group', { name: 'Player settings' });
    await settings.getByRole('button', { name: 'Playback speed: 1×' }).waitFor();
    await settings.getByRole('button', { name: 'Full screen' }).waitFor();
    const pipEnabled = await page.evaluate(() => document.pictureInPictureEnabled === true);
    assert.equal(await settings.getByRole('button', { name: 'Picture-in-picture' }).count(), pipEnabled ? 1 : 0, `a picture-in-picture button iff the document allows it (${pipEnabled})`);
    // One rendition in the master playlist: nothing to choose.
    assert.equal(await page.getByRole('button', { name: /^Quality/ }).count(), 0, 'no quality menu for a single rendition');
    // "Ready" is the uploader's word; a viewer sees the length and the size only.
    await page.getByText('0:30', { exact: true }).waitFor();
    assert.equal(await page.getByText('Ready', { exact: true }).count(), 0, 'a viewer sees no Ready chip');
    // Big, and in the middle of the picture.
    const [b, v] = await Promise.all([bigPlay.boundingBox(), page.locator('video').boundingBox()]);
    assert.ok(b.width >= 56 && b.height >= 56, `the play button is big: ${b.width}×${b.height}`);
    assert.ok(Math.abs(b.x + b.width / 2 - (v.x + v.width / 2)) < 4 && Math.abs(b.y + b.height / 2 - (v.y + v.height / 2)) < 4, 'in the middle of the picture');
    await page.mouse.move(10, 10);
    await page.screenshot({ path: path.join(shots, 'player-desktop.png') });
  });

  it('the big play button starts playback, and goes', async () => {
    assert.equal((await state(page)).paused, true);
    await page.getByRole('button', { name: 'Play video' }).click();
    await until(async () => {
      const s = await state(page);
      return !s.paused && s.t > 0.3;
    }, { what: 'playback after the big play button' });
    await page.getByRole('button', { name: 'Play video' }).waitFor({ state: 'detached' });
    await pauseAndSettle(page);
  });

  it('shortcuts from the page: k plays and pauses, the arrows seek 5 s, m mutes', async () => {
    await page.getByRole('heading', { level: 1 }).click(); // the focus on the page, not in a control
    await seekTo(page, 10);
    await page.keyboard.press('k');
    await until(async () => !(await state(page)).paused, { what: 'k to play' });
    await page.keyboard.press('k');
    await until(async () => (await state(page)).paused, { what: 'k to pause' });
    await page.keyboard.press('Space');
    await until(async () => !(await state(page)).paused, { what: 'space to play' });
    await page.keyboard.press('Space');
    await until(async () => (await state(page)).paused, { what: 'space to pause' });

    await seekTo(page, 10);
    await page.keyboard.press('ArrowRight');
    await until(async () => Math.abs((await state(page)).t - 15) < 0.3, { what: 'ArrowRight to seek to 15 s' });
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await until(async () => Math.abs((await state(page)).t - 5) < 0.3, { what: 'ArrowLeft twice to seek to 5 s' });

    assert.equal((await state(page)).muted, false);
    await page.keyboard.press('m');
    await until(async () => (await state(page)).muted, { what: 'm to mute' });
    await page.keyboard.press('m');
    await until(async () => !(await state(page)).muted, { what: 'm to unmute' });
  });

  it('with the seek bar focused, a key acts once (its own keys, or the page’s shortcuts, never both)', async () => {
    await page.getByRole('slider', { name: 'Seek' }).focus();
    await seekTo(page, 10);
    await page.keyboard.press('Space');
    await page.waitForTimeout(300);
    assert.equal((await state(page)).paused, false, 'space played (not played and paused again)');
    await page.keyboard.press('k');
    await page.waitForTimeout(300);
    assert.equal((await state(page)).paused, true, 'k paused');
    await seekTo(page, 10);
    await page.keyboard.press('ArrowRight');
    await page.waitForTimeout(300);
    const t = (await state(page)).t;
    assert.ok(Math.abs(t - 15) < 0.3, `one 5 s step from 10 s, not two: at ${t} s`);
    await page.keyboard.press('m');
    await page.waitForTimeout(200);
    assert.equal((await state(page)).muted, true, 'm muted once');
    await page.keyboard.press('m');
    await page.waitForTimeout(200);
    assert.equal((await state(page)).muted, false);
  });

  it('the control bar plays and pauses, and shows the time', async () => {
    await seekTo(page, 10);
    await page.getByText('0:10 / 0:30', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    await until(async () => {
      const s = await state(page);
      return !s.paused && s.t > 10.5;
    }, { what: 'the Play button to play' });
    await page.getByText(/^0:1[0-9] \/ 0:30$/).waitFor();
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await until(async () => (await state(page)).paused, { what: 'the Pause button to pause' });
    await page.getByRole('button', { name: 'Play', exact: true }).waitFor();
    // A click on the picture plays and pauses too.
    await page.locator('video').click({ position: { x: 40, y: 40 } });
    await until(async () => !(await state(page)).paused, { what: 'a click on the picture to play' });
    await page.locator('video').click({ position: { x: 40, y: 40 } });
    await until(async () => (await state(page)).paused, { what: 'a click on the picture to pause' });
  });

  it('the seek bar seeks with the keyboard and a click, says where it is, and previews the time under the pointer', async () => {
    const seek = page.getByRole('slider', { name: 'Seek' });
    await seekTo(page, 10);
    await seek.focus();
    await page.keyboard.press('ArrowRight');
    await until(async () => Math.abs((await state(page)).t - 15) < 0.3, { what: 'ArrowRight on the seek bar to go to 15 s' });
    await until(async () => (await seek.getAttribute('aria-valuetext')) === '0:15 of 0:30', { what: 'the seek bar to say 0:15 of 0:30' });
    assert.equal(await seek.getAttribute('aria-valuemax'), '30');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await until(async () => Math.abs((await state(page)).t - 5) < 0.3, { what: 'ArrowLeft twice to go to 5 s' });
    await page.keyboard.press('Home');
    await until(async () => (await state(page)).t < 0.1, { what: 'Home to go to 0:00' });
    await page.keyboard.press('PageUp');
    await until(async () => Math.abs((await state(page)).t - 10) < 0.3, { what: 'Page Up to go 10 s on' });
    assert.equal((await state(page)).paused, true, 'seeking does not play');

    const box = await seek.boundingBox();
    await page.mouse.move(box.x + box.width * 0.52, box.y + box.height / 2);
    // No storyboard for this page (see before()): the time alone (0:15.6).
    await until(async () => (await page.locator('.preview-time').textContent())?.trim() === '0:15', { what: 'the preview to say 0:15' });
    assert.equal(await page.locator('.preview .tile').count(), 0, 'no picture without a storyboard');
    // A click three quarters along: 0:22.5.
    await page.mouse.click(box.x + box.width * 0.75, box.y + box.height / 2);
    await until(async () => Math.abs((await state(page)).t - 22.5) < 0.5, { what: 'a click on the seek bar to go to 22.5 s' });
    await page.getByText('0:22 / 0:30', { exact: true }).waitFor();
    await page.screenshot({ path: path.join(shots, 'player-seek-preview-desktop.png') });
    await page.mouse.move(10, 10);
    await page.locator('.preview').waitFor({ state: 'detached' });
  });

  it('never acts on keys typed in a field, nor on space for a focused button', async () => {
    await seekTo(page, 10);
    const before = await state(page);
    await page.getByRole('textbox', { name: 'Share link' }).focus();
    for (const key of ['k', 'Space', 'ArrowRight', 'm', 'f']) await page.keyboard.press(key);
    await page.waitForTimeout(300);
    const after = await state(page);
    assert.equal(after.paused, before.paused, 'not played');
    assert.ok(Math.abs(after.t - before.t) < 0.1, 'not moved');
    assert.equal(after.muted, before.muted, 'not muted');
    assert.equal(await page.evaluate(() => document.fullscreenElement), null, 'not full screen');

    // Space on the speed button opens its menu; it does not play.
    await page.getByRole('button', { name: /^Playback speed/ }).focus();
    await page.keyboard.press('Space');
    await page.getByRole('menu', { name: 'Playback speed' }).waitFor();
    assert.equal((await state(page)).paused, true, 'space on a button is the button’s');
    await page.keyboard.press('Escape');
    await page.getByRole('menu', { name: 'Playback speed' }).waitFor({ state: 'detached' });
  });

  it('f and the button put the whole player (with its controls) in full screen, and take it out', async () => {
    await page.getByRole('heading', { level: 1 }).click();
    await page.keyboard.press('f');
    await until(() => page.evaluate(() => document.fullscreenElement?.classList.contains('player') ?? false), { what: 'the player in full screen' });
    await page.getByRole('group', { name: 'Player settings' }).getByRole('button', { name: 'Exit full screen' }).waitFor();
    await page.keyboard.press('f');
    await until(() => page.evaluate(() => document.fullscreenElement === null), { what: 'full screen to end' });
    const settings = page.getByRole('group', { name: 'Player settings' });
    await settings.getByRole('button', { name: 'Full screen' }).click();
    await until(() => page.evaluate(() => document.fullscreenElement?.classList.contains('player') ?? false), { what: 'the button to go full screen' });
    await page.screenshot({ path: path.join(shots, 'player-fullscreen-desktop.png') });
    await settings.getByRole('button', { name: 'Exit full screen' }).click();
    await until(() => page.evaluate(() => document.fullscreenElement === null), { what: 'the button to end full screen' });
  });

  it('the speed menu sets the playback rate, by mouse and by keyboard (and < >)', async () => {
    const button = page.getByRole('button', { name: /^Playback speed/ });
    assert.equal(await button.getAttribute('aria-haspopup'), 'menu');
    await button.click();
    const menu = page.getByRole('menu', { name: 'Playback speed' });
    await menu.waitFor();
    assert.equal(await button.getAttribute('aria-expanded'), 'true');
    const items = menu.getByRole('menuitemradio');
    assert.deepEqual(await items.allInnerTexts(), ['0.5×', '0.75×', 'Normal', '1.25×', '1.5×', '1.75×', '2×']);
    assert.equal(await menu.getByRole('menuitemradio', { name: 'Normal' }).getAttribute('aria-checked'), 'true');
    // The keyboard starts on the chosen item.
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Normal');
    await page.screenshot({ path: path.join(shots, 'player-speed-menu-desktop.png') });
    await menu.getByRole('menuitemradio', { name: '1.5×' }).click();
    await menu.waitFor({ state: 'detached' });
    assert.equal((await state(page)).rate, 1.5);
    await page.getByRole('button', { name: 'Playback speed: 1.5×' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Playback speed: 1.5×', 'the focus is back on the button');

    // Keyboard: Enter opens on 1.5×, ArrowDown to 1.75×, Enter chooses.
    await page.keyboard.press('Enter');
    await menu.waitFor();
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), '1.75×');
    await page.keyboard.press('Enter');
    await menu.waitFor({ state: 'detached' });
    assert.equal((await state(page)).rate, 1.75);
    // Playing at that speed.
    await page.keyboard.press('k');
    await until(async () => !(await state(page)).paused, { what: 'playback' });
    assert.equal((await state(page)).rate, 1.75);
    await page.keyboard.press('k');
    await page.keyboard.press('Shift+Comma'); // <
    await until(async () => (await state(page)).rate === 1.5, { what: '< to slow down a step' });
    await page.keyboard.press('Shift+Period'); // >
    await page.keyboard.press('Shift+Period');
    await until(async () => (await state(page)).rate === 2, { what: '> to speed up' });
    await page.getByRole('button', { name: 'Playback speed: 2×' }).waitFor();
    await page.locator('video').evaluate((v) => (v.playbackRate = 1));
    await page.getByRole('button', { name: 'Playback speed: 1×' }).waitFor();
  });

  it('Tab reaches the controls, with visible focus rings; the bar stays while the keyboard is in it, and goes when not', async () => {
    await page.getByRole('button', { name: 'Copy link' }).focus();
    await page.keyboard.press('Tab');
    const ring = () =>
      page.evaluate(() => {
        const el = document.activeElement;
        const s = getComputedStyle(el);
        return {
          name: el.getAttribute('aria-label'),
          focusVisible: el.matches(':focus-visible'),
          ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none',
        };
      });
    assert.deepEqual(await ring(), { name: 'Seek', focusVisible: true, ring: true }, 'Tab from Copy link reaches the seek bar');
    await page.screenshot({ path: path.join(shots, 'player-focus-desktop.png') });
    for (const name of ['Play', 'Mute', 'Volume', 'Playback speed: 1×', 'Full screen']) {
      // (Picture-in-picture sits between speed and full screen where the browser allows it.)
      for (let i = 0; i < 3 && (await ring()).name !== name; i++) await page.keyboard.press('Tab');
      assert.deepEqual(await ring(), { name, focusVisible: true, ring: true }, `Tab reaches ${name}, with a ring`);
    }
    // Playing, the keyboard in the bar: it stays; the focus elsewhere (and no pointer): it goes.
    const barOpacity = () => page.getByRole('slider', { name: 'Seek' }).evaluate((el) => getComputedStyle(el.parentElement).opacity);
    await seekTo(page, 2);
    await page.keyboard.press('k');
    await until(async () => !(await state(page)).paused, { what: 'k to play' });
    await page.waitForTimeout(3500);
    assert.equal(await barOpacity(), '1', 'the bar stays while the keyboard is in it');
    await page.getByRole('heading', { level: 1 }).click();
    await until(async () => (await barOpacity()) === '0', { timeoutMs: 6000, what: 'the bar to fade while playing' });
    await page.keyboard.press('k');
    await until(async () => (await state(page)).paused, { what: 'k to pause' });
    await until(async () => (await barOpacity()) === '1', { what: 'the bar back when paused' });
  });

  it('stayed within the rules', () => {
    assertClean(problems);
  });
});

describe('resume where this browser left off', () => {
  it('restores the position after a reload (saved on pause and on pagehide), not near the start, and forgets it at the end', async () => {
    const { context, problems } = await watchedContext(browser, server.url, DESKTOP);
    try {
      const page = await context.newPage();
      await openPlayer(page);
      const saved = () => page.evaluate(([key, id]) => JSON.parse(localStorage.getItem(key) ?? '{}')[id]?.t ?? null, [RESUME_KEY, clip.id]);

      // Nothing is saved by merely opening the page.
      assert.equal(await saved(), null);
      await seekTo(page, 12);
      await page.locator('video').evaluate((v) => ((v.muted = true), v.play()));
      await until(async () => (await state(page)).t > 12.5, { what: 'playback past 12.5 s' });
      await pauseAndSettle(page);
      const at = (await state(page)).t;
      await until(async () => Math.abs(((await saved()) ?? -1) - at) < 0.2, { what: `the position ${at} s saved on pause` });

      await page.reload();
      await page.locator('video').waitFor();
      await until(async () => Math.abs((await state(page)).t - at) < 0.3, { what: `the player to start at ${at} s after the reload` });
      await page.getByText(/^Resumed at 0:1[23]$/).waitFor();
      await page.screenshot({ path: path.join(shots, 'player-resumed-desktop.png') });
      await page.getByRole('button', { name: 'Play video' }).click();
      await until(async () => !(await state(page)).paused, { what: 'playback' });
      const firstPlaying = await page.evaluate(() => window.__flickFirstPlaying);
      assert.ok(Math.abs(firstPlaying - at) < 0.5, `played first from ${firstPlaying} s, expected ${at} s`);

      // Saved when the page goes (pagehide), though playing (not paused) and between two saves (every 5 s):
      // restored to within a moment of where it was left.
      await seekTo(page, 20);
      await until(async () => (await state(page)).t > 20.8, { what: 'playback past 20.8 s' });
      const left = (await state(page)).t;
      await page.reload();
      await page.locator('video').waitFor();
      await until(async () => (await state(page)).t >= left - 0.25, { what: `the position saved on pagehide (${left} s) to be restored` });

      // Start over.
      await page.getByRole('button', { name: 'Start over' }).click();
      await until(async () => {
        const s = await state(page);
        return !s.paused && s.t < 3;
      }, { what: 'Start over to play from the beginning' });

      // Within the first 5 s: forgotten (the next visit starts at 0:00).
      await seekTo(page, 2);
      await pauseAndSettle(page);
      await until(async () => (await saved()) === null, { what: 'a position in the first 5 s to be forgotten' });
      await page.reload();
      await page.locator('video').waitFor();
      await page.waitForFunction(() => (document.querySelector('video')?.readyState ?? 0) >= 1);
      await page.waitForTimeout(300);
      assert.ok((await state(page)).t < 0.5, 'starts at 0:00');
      assert.equal(await page.getByText(/^Resumed at/).count(), 0);

      // Played to the end: forgotten.
      await seekTo(page, 15);
      await page.locator('video').evaluate((v) => ((v.muted = true), v.play()));
      await until(async () => (await state(page)).t > 15.3, { what: 'playback past 15.3 s' });
      await pauseAndSettle(page);
      await until(async () => (await saved()) !== null, { what: 'the position saved' });
      await seekTo(page, 28.5);
      await page.locator('video').evaluate((v) => v.play());
      await until(async () => (await state(page)).ended, { timeoutMs: 15_000, what: 'the end' });
      assert.equal(await saved(), null, 'forgotten at the end');
      assertClean(problems);
    } finally {
      await context.close();
    }
  });
});

describe('the quality menu', () => {
  it('lists Auto and each rendition of a master playlist of several, and plays the one chosen', async () => {
    const { context, problems } = await watchedContext(browser, server.url, DESKTOP);
    const streamBase = `${server.url}/streams/${clip.id}/`;
    // The server publishes one rendition today: add a second to its master playlist, a "720p" that is
    // the same media under other URLs (so that what hls.js fetches tells which level it plays).
    const ours = (url) => url.pathname.startsWith(`/streams/${clip.id}/`);
    await context.route((url) => ours(url) && url.pathname.endsWith('/master.m3u8'), async (route) => {
      const res = await route.fetch();
      const body = await res.text();
      const extra = body.trim().split('\n').slice(-2);
      const fake = extra[0].replace(/BANDWIDTH=\d+/, 'BANDWIDTH=4000000').replace(/AVERAGE-BANDWIDTH=\d+/, 'AVERAGE-BANDWIDTH=4000000').replace(/RESOLUTION=\d+x\d+/, 'RESOLUTION=1280x720');
      await route.fulfill({ response: res, body: `${body.trim()}\n${fake}\nindex.m3u8?rendition=720\n` });
    });
    await context.route((url) => ours(url) && url.pathname.endsWith('/index.m3u8') && url.searchParams.get('rendition') === '720', async (route) => {
      const res = await route.fetch({ url: `${streamBase}index.m3u8` });
      const body = (await res.text()).replace(/^(seg_\d+\.m4s)$/gm, '$1?rendition=720').replace(/URI="init\.mp4"/, 'URI="init.mp4?rendition=720"');
      await route.fulfill({ response: res, body });
    });
    const segments = [];
    context.on('request', (r) => {
      const m = /\/(seg_\d+)\.m4s(\?rendition=720)?$/.exec(r.url());
      if (m) segments.push({ rendition: m[2] ? 720 : 360, at: Date.now() });
    });
    try {
      const master = await (await fetch(`${streamBase}master.m3u8`)).text();
      assert.equal(master.match(/#EXT-X-STREAM-INF/g)?.length, 1, 'the server publishes one rendition');
      assert.match(master, /RESOLUTION=640x360.*\nindex\.m3u8\n?$/);
      const page = await context.newPage();
      await openPlayer(page);
      const button = page.getByRole('button', { name: /^Quality: / });
      await button.waitFor();
      assert.equal(await button.innerText(), 'Auto');
      await until(() => segments.length > 0, { what: 'a segment to be fetched' });
      await button.click();
      const menu = page.getByRole('menu', { name: 'Quality' });
      await menu.waitFor();
      const labels = await menu.getByRole('menuitemradio').allInnerTexts();
      assert.equal(labels.length, 3, JSON.stringify(labels));
      assert.match(labels[0], /^Auto( \((720|360)p\))?$/);
      assert.deepEqual(labels.slice(1), ['720p', '360p'], 'the levels from the best down');
      assert.equal(await menu.getByRole('menuitemradio', { name: /^Auto/ }).getAttribute('aria-checked'), 'true');
      await page.screenshot({ path: path.join(shots, 'player-quality-menu-desktop.png') });

      // Choose the rendition the last segment was not from: its segments are fetched from then on.
      const want = segments[segments.length - 1].rendition === 720 ? 360 : 720;
      const chosenAt = Date.now();
      await menu.getByRole('menuitemradio', { name: `${want}p`, exact: true }).click();
      await menu.waitFor({ state: 'detached' });
      assert.equal(await button.innerText(), `${want}p`);
      await page.locator('video').evaluate((v) => ((v.muted = true), v.play()));
      await until(() => segments.some((s) => s.at >= chosenAt && s.rendition === want), { what: `a ${want}p segment after choosing it` });
      // And back to Auto.
      await button.click();
      await menu.getByRole('menuitemradio', { name: /^Auto/ }).click();
      assert.equal(await button.innerText(), 'Auto');
      assertClean(problems);
    } finally {
      await context.close();
    }
  });
});

describe('seek-bar previews and captions (the status answer given a storyboard and caption tracks here)', () => {
  // Until the server makes them, the status answer is given a storyboard and two caption tracks, and
  // their files are answered here; the sprite is the video's own thumbnail. The storyboard holds hostile
  // cues too, which must be skipped (no request leaves 127.0.0.1: assertClean).
  const ts = (s) => `00:00:${String(s).padStart(2, '0')}.000`;
  const storyboard = () =>
    [
      'WEBVTT',
      '',
      ...[0, 1, 2, 3, 4, 5].flatMap((i) => [`${ts(i * 5)} --> ${ts(i * 5 + 5)}`, `storyboard-000.jpg#xywh=${i * 160},0,160,90`, '']),
      '00:00:00.000 --> 00:00:30.000',
      'https://evil.example/x.jpg#xywh=0,0,160,90',
      '',
      '00:00:00.000 --> 00:00:30.000',
      'javascript:alert(1)#xywh=0,0,160,90',
      '',
      '00:00:00.000 --> 00:00:30.000',
      '<img src=x onerror=alert(1)>#xywh=0,0,160,90',
      '',
    ].join('\n');
  const captionsOf = (id) => [
    { lang: 'en', label: 'English', url: `/streams/${id}/captions/en.vtt` },
    { lang: 'fr', label: 'Français', url: `/streams/${id}/captions/fr.vtt` },
  ];
  const CUES = { en: 'Hello from the captions', fr: 'Bonjour des sous-titres' };
  let thumbnail = null;

  async function givenExtras(context, id) {
    const ours = (url) => url.pathname.startsWith(`/streams/${id}/`);
    await context.route((url) => url.pathname === `/api/video/${id}`, async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      await route.fulfill({ response: res, json: { ...body, storyboardUrl: `/streams/${id}/storyboard.vtt`, captions: captionsOf(id) } });
    });
    await context.route((url) => ours(url) && url.pathname.endsWith('/storyboard.vtt'), (route) =>
      route.fulfill({ status: 200, contentType: 'text/vtt', body: storyboard() }),
    );
    await context.route((url) => ours(url) && url.pathname.endsWith('/storyboard-000.jpg'), async (route) => {
      const res = await route.fetch({ url: new URL(thumbnail, server.url).href });
      await route.fulfill({ response: res });
    });
    await context.route((url) => ours(url) && /\/captions\/(en|fr)\.vtt$/.test(url.pathname), (route) => {
      const lang = /\/(en|fr)\.vtt$/.exec(new URL(route.request().url()).pathname)[1];
      return route.fulfill({ status: 200, contentType: 'text/vtt', body: `WEBVTT\n\n00:00:00.000 --> 00:00:30.000\n${CUES[lang]}\n` });
    });
  }

  const tracks = (page) => page.locator('video').evaluate((v) => [...v.textTracks].map((t) => ({ lang: t.language, mode: t.mode, cue: t.activeCues?.[0]?.text ?? null })));
  const shown = async (page) => (await tracks(page)).filter((t) => t.mode === 'showing').map((t) => t.lang);
  const remembered = (page) => page.evaluate(() => localStorage.getItem('flick.captions.v1'));

  it('hovering the seek bar shows the storyboard’s tile for that moment, inside the player', async () => {
    thumbnail = (await waitReady(clip.id)).thumbnailUrl;
    assert.ok(thumbnail, 'the clip has a thumbnail (the sprite here)');
    const { context, problems } = await watchedContext(browser, server.url, DESKTOP);
    await givenExtras(context, clip.id);
    const sprites = [];
    context.on('request', (r) => r.url().includes('storyboard-000.jpg') && sprites.push(r.url()));
    try {
      const page = await context.newPage();
      await openPlayer(page);
      const seek = page.getByRole('slider', { name: 'Seek' });
      const [box, player] = await Promise.all([seek.boundingBox(), page.locator('.player').boundingBox()]);
      const tile = page.locator('.preview .tile');
      const tileStyle = () => tile.evaluate((el) => {
        const s = getComputedStyle(el);
        return { w: s.width, h: s.height, image: s.backgroundImage, position: s.backgroundPosition };
      });
      // 0:15.9: the fourth tile.
      await page.mouse.move(box.x + box.width * 0.53, box.y + box.height / 2);
      await tile.waitFor();
      const mid = await tileStyle();
      assert.equal(mid.w, '160px');
      assert.equal(mid.h, '90px');
      assert.match(mid.image, new RegExp(`^url\\("${server.url}/streams/${clip.id}/storyboard-000\\.jpg"\\)$`));
      assert.equal(mid.position, '-480px 0px');
      assert.equal((await page.locator('.preview-time').textContent()).trim(), '0:15');
      await until(() => sprites.length > 0, { what: 'the sprite to be fetched' });
      await page.screenshot({ path: path.join(shots, 'player-storyboard-desktop.png') });
      // At either end, the preview stays inside the player.
      for (const f of [0.005, 0.995]) {
        await page.mouse.move(box.x + box.width * f, box.y + box.height / 2);
        await page.waitForTimeout(100);
        const p = await page.locator('.preview').boundingBox();
        assert.ok(p.x >= player.x - 0.5 && p.x + p.width <= player.x + player.width + 0.5, `the preview (${p.x}–${p.x + p.width}) inside the player (${player.x}–${player.x + player.width}) at ${f}`);
      }
      assert.equal((await tileStyle()).position, '-800px 0px', 'the last tile at the end');
      assert.deepEqual(
        [...new Set(sprites.map((u) => new URL(u).pathname))],
        [`/streams/${clip.id}/storyboard-000.jpg`],
        'the only image fetched is the storyboard’s own (the hostile cues were skipped)',
      );
      assertClean(problems);
    } finally {
      await context.close();
    }
  });

  it('the CC menu shows a track, remembers the choice for the next video, and c turns captions off and on', async () => {
    const { context, problems } = await watchedContext(browser, server.url, DESKTOP);
    await givenExtras(context, clip.id);
    try {
      const page = await context.newPage();
      await openPlayer(page);
      const cc = page.getByRole('button', { name: /^Captions: / });
      await cc.waitFor();
      assert.equal(await cc.getAttribute('aria-label'), 'Captions: Off');
      // hls.js plays the stream: one <track> per caption.
      assert.deepEqual(
        await page.locator('video track').evaluateAll((els) => els.map((t) => [t.kind, t.srclang, t.label, new URL(t.src).pathname])),
        [
          ['subtitles', 'en', 'English', `/streams/${clip.id}/captions/en.vtt`],
          ['subtitles', 'fr', 'Français', `/streams/${clip.id}/captions/fr.vtt`],
        ],
      );
      assert.deepEqual(await shown(page), []);
      await cc.click();
      const menu = page.getByRole('menu', { name: 'Captions' });
      await menu.waitFor();
      assert.deepEqual(await menu.getByRole('menuitemradio').allInnerTexts(), ['Off', 'English', 'Français']);
      await menu.getByRole('menuitemradio', { name: 'English' }).click();
      await menu.waitFor({ state: 'detached' });
      assert.equal(await cc.getAttribute('aria-label'), 'Captions: English');
      await seekTo(page, 5);
      await until(async () => (await tracks(page)).find((t) => t.lang === 'en')?.cue === CUES.en, { what: 'the English cue to be active' });
      assert.deepEqual(await shown(page), ['en']);
      assert.equal(await remembered(page), '{"lang":"en"}');
      // Above the control bar while it shows.
      const lift = await page.locator('.player').evaluate((el) => parseFloat(getComputedStyle(el).getPropertyValue('--cue-lift')));
      assert.ok(lift > 40, `captions lifted ${lift}px over the bar`);
      await page.screenshot({ path: path.join(shots, 'player-captions-desktop.png') });

      // The keyboard: Enter opens the menu on the chosen item, ArrowDown, Enter.
      await cc.focus();
      await page.keyboard.press('Enter');
      await menu.waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'English');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      await menu.waitFor({ state: 'detached' });
      await until(async () => (await shown(page)).join() === 'fr', { what: 'French to show' });
      assert.equal(await remembered(page), '{"lang":"fr"}');

      // c: off, then back to the last language.
      await page.getByRole('heading', { level: 1 }).click();
      await page.keyboard.press('c');
      await until(async () => (await shown(page)).length === 0, { what: 'c to turn captions off' });
      assert.equal(await cc.getAttribute('aria-label'), 'Captions: Off');
      assert.equal(await remembered(page), '{"lang":null}');
      await page.keyboard.press('c');
      await until(async () => (await shown(page)).join() === 'fr', { what: 'c to bring French back' });

      // The next video (here: the same one, loaded again) starts with the language chosen.
      await page.reload();
      await page.locator('video track').first().waitFor({ state: 'attached' });
      await until(async () => (await shown(page)).join() === 'fr', { what: 'the remembered language on the next load' });
      assert.equal(await page.getByRole('button', { name: /^Captions: / }).getAttribute('aria-label'), 'Captions: Français');
      assertClean(problems);
    } finally {
      await context.close();
    }
  });
});

describe('on a phone', () => {
  it('the share page with the player', async () => {
    const { context, problems } = await watchedContext(browser, server.url, PHONE);
    try {
      const page = await context.newPage();
      await openPlayer(page);
      await page.getByRole('button', { name: 'Play video' }).waitFor();
      await page.getByRole('button', { name: /^Playback speed/ }).waitFor();
      assert.equal(await page.getByText('Ready', { exact: true }).count(), 0, 'a viewer sees no Ready chip');
      await page.screenshot({ path: path.join(shots, 'player-phone.png') });
      await page.getByRole('button', { name: /^Playback speed/ }).click();
      await page.getByRole('menu', { name: 'Playback speed' }).waitFor();
      await page.screenshot({ path: path.join(shots, 'player-speed-menu-phone.png') });
      await page.getByRole('menuitemradio', { name: '0.75×' }).click();
      assert.equal((await state(page)).rate, 0.75);
      assertClean(problems);
    } finally {
      await context.close();
    }
  });

  it('a finger drags the seek bar, the time over it, and seeks where it lets go', async () => {
    const { context, problems } = await watchedContext(browser, server.url, PHONE);
    try {
      const page = await context.newPage();
      await openPlayer(page);
      const seek = page.getByRole('slider', { name: 'Seek' });
      const box = await seek.boundingBox();
      const y = box.y + box.height / 2;
      const cdp = await context.newCDPSession(page);
      const touch = (type, f) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: f === null ? [] : [{ x: box.x + box.width * f, y }] });
      await touch('touchStart', 0.1);
      await touch('touchMove', 0.3);
      await touch('touchMove', 0.62);
      // 0:18.6
      await until(async () => (await page.locator('.preview-time').textContent())?.trim() === '0:18', { what: 'the preview to follow the finger to 0:18' });
      assert.equal(await seek.getAttribute('aria-valuetext'), '0:18 of 0:30', 'the bar follows the finger');
      assert.ok((await state(page)).t < 1, 'no seek before the finger lets go');
      await page.screenshot({ path: path.join(shots, 'player-seek-drag-phone.png') });
      await touch('touchEnd', null);
      await until(async () => Math.abs((await state(page)).t - 18.6) < 0.6, { what: 'the drag to seek to 18.6 s' });
      await page.locator('.preview').waitFor({ state: 'detached' });
      assertClean(problems);
    } finally {
      await context.close();
    }
  });

  it('"My videos": compact cards, titles wrapping between words, portrait pictures whole', async () => {
    const long = await uploadViaApi('Screen_Recording_2026-11-30_at_10.42.13_holiday_highlights_final_version.mp4', CLIP_30S);
    const tall = await uploadViaApi('portrait_clip.mp4', PORTRAIT);
    await Promise.all([waitReady(long.id), waitReady(tall.id)]);
    const { context, problems } = await watchedContext(browser, server.url, PHONE);
    try {
      const page = await context.newPage();
      await page.goto('/library');
      await page.evaluate(
        (entries) => localStorage.setItem('flick.library.v1', JSON.stringify(entries)),
        [long, tall].map((v) => ({ id: v.id, manageToken: v.manageToken, title: '', createdAt: new Date().toISOString() })),
      );
      await page.reload();
      const longItem = page.locator('li.item').filter({ hasText: 'holiday_highlights' });
      const tallItem = page.locator('li.item').filter({ hasText: 'portrait_clip' });
      await longItem.locator('img').waitFor();
      await tallItem.locator('img').waitFor();
      await page.waitForFunction(() => [...document.querySelectorAll('li.item img')].every((i) => i.complete && i.naturalWidth > 0));

      // Titles wrap between words: no word is cut across two lines.
      const cut = await longItem.locator('.title').evaluate((h) => {
        const text = h.textContent ?? '';
        const range = document.createRange();
        const split = [];
        for (const m of text.matchAll(/[^\s_.-]+/g)) {
          // The word's characters may lie in several text nodes (the title is split for wrapping).
          const walker = document.createTreeWalker(h, NodeFilter.SHOW_TEXT);
          let offset = 0;
          const tops = new Set();
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const len = n.textContent.length;
            const from = Math.max(m.index, offset);
            const to = Math.min(m.index + m[0].length, offset + len);
            if (from < to) {
              range.setStart(n, from - offset);
              range.setEnd(n, to - offset);
              for (const r of range.getClientRects()) if (r.width > 0) tops.add(Math.round(r.top));
            }
            offset += len;
          }
          if (tops.size > 1) split.push(m[0]);
        }
        return { split, lines: Math.round(h.getBoundingClientRect().height / parseFloat(getComputedStyle(h).lineHeight)) };
      });
      assert.ok(cut.lines >= 2, `the long title wraps (${cut.lines} lines)`);
      assert.deepEqual(cut.split, [], 'no word of the title is cut across lines');

      // Compact: the buttons in one row, the card not much taller than the picture and the title.
      for (const item of [longItem, tallItem]) {
        const tops = await item.locator('.actions').locator('a, button').evaluateAll((els) => els.filter((e) => e.getBoundingClientRect().width > 0).map((e) => e.getBoundingClientRect().top));
        assert.ok(tops.length >= 3, `${tops.length} buttons`);
        assert.ok(Math.max(...tops) - Math.min(...tops) < 2, `the buttons in one row (tops ${tops})`);
      }

      // The portrait picture whole, at its own shape: taller than wide, not cut to a 16:9 strip.
      const pic = await tallItem.locator('img').evaluate((img) => {
        const box = img.getBoundingClientRect();
        return { w: box.width, h: box.height, nw: img.naturalWidth, nh: img.naturalHeight, fit: getComputedStyle(img).objectFit };
      });
      assert.ok(pic.nh > pic.nw, `the thumbnail is portrait (${pic.nw}×${pic.nh})`);
      assert.ok(pic.h > pic.w, `shown taller than wide (${pic.w}×${pic.h})`);
      const shown = pic.fit === 'contain' ? 1 : Math.min(1, (pic.w / pic.h) / (pic.nw / pic.nh), (pic.h / pic.w) / (pic.nh / pic.nw));
      assert.ok(shown > 0.97, `the whole picture is shown (${Math.round(shown * 100)} %, object-fit ${pic.fit})`);

      await page.screenshot({ path: path.join(shots, 'library-phone.png'), fullPage: true });
      assert.deepEqual(problems.csp, []);
      assert.deepEqual(problems.pageErrors, []);
    } finally {
      await context.close();
    }
  });
});
