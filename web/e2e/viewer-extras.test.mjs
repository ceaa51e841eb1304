// What a viewer gets beside the stream, all made by the real server (issue 13): a 37 s 720p clip served from its
// original gains its 360p rendition (ladder), its storyboard (sprites + WebVTT track) and an SRT caption track its
// owner sends with the manage token. In Chromium, on a desktop and on a phone:
//
// - the quality menu lists Auto and both renditions;
// - hovering (desktop) or dragging (finger) on the seek bar shows the storyboard's real tile for that moment;
// - the caption track is offered in the CC menu and its cue shows over the picture.
//
// Screenshots of each land in target/e2e (share-{desktop,phone}-{quality,storyboard,captions}.png).
//
//   node --test e2e/viewer-extras.test.mjs      (from web/; see scripts/web-e2e.sh)

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureScreenshotsDir, FIXTURES_DIR, launchBrowser, preflight, startServer, unexpectedConsoleErrors, until, watchedContext } from './helpers.mjs';

const CLIP_720P = path.join(FIXTURES_DIR, 'h264_aac_7mb.mp4');
const DEVICES = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
};
const SRT = '1\n00:00:01,000 --> 00:00:09,000\nA rabbit <i>wakes up</i> in the meadow.\n\n2\n00:00:10,000 --> 00:00:20,000\nThe butterflies & the apple\n';

let server;
let browser;
let shots;
let clip;

before(async () => {
  preflight();
  shots = ensureScreenshotsDir();
  server = await startServer({ FLICK_PROCESSING__LADDER_WORKERS: '1' });
  browser = await launchBrowser();
  const form = new FormData();
  form.append('file', new Blob([readFileSync(CLIP_720P)], { type: 'video/mp4' }), 'Big Buck Bunny.mp4');
  const res = await fetch(`${server.url}/api/upload`, { method: 'POST', body: form });
  assert.equal(res.status, 201);
  clip = await res.json();
  // Ready, with its storyboard and its 360p rendition.
  await until(
    async () => {
      const v = await (await fetch(`${server.url}/api/video/${clip.id}`)).json();
      const master = await (await fetch(`${server.url}/streams/${clip.id}/master.m3u8`)).text();
      return v.status === 'ready' && v.storyboardUrl && master.includes('r360/index.m3u8');
    },
    { timeoutMs: 240_000, intervalMs: 500, what: 'the storyboard and the 360p rendition' },
  );
  const added = await fetch(`${server.url}/api/video/${clip.id}/captions?lang=en&label=English`, {
    method: 'POST',
    headers: { authorization: `Bearer ${clip.manageToken}`, 'content-type': 'application/x-subrip' },
    body: SRT,
  });
  assert.equal(added.status, 201, await added.text());
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function assertClean(problems) {
  assert.deepEqual(problems.csp, [], 'no Content-Security-Policy violations');
  assert.deepEqual(problems.pageErrors, [], 'no uncaught exceptions');
  assert.deepEqual(unexpectedConsoleErrors(problems), [], 'no console errors');
  assert.deepEqual(problems.foreign, [], 'no request to any host other than 127.0.0.1');
}

/** Opens the share page as a viewer and waits until the player has its stream, paused at `t`. */
async function openAt(page, t) {
  await page.goto(`/v/${clip.id}`);
  await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v && v.readyState >= 1 && Number.isFinite(v.duration) && v.duration > 0;
  });
  await page.locator('video').evaluate(
    (v, to) =>
      new Promise((resolve) => {
        v.addEventListener('seeked', () => resolve(), { once: true });
        v.currentTime = to;
      }),
    t,
  );
}

for (const [device, options] of Object.entries(DEVICES)) {
  describe(`on a ${device}`, () => {
    it('the quality menu lists Auto and each real rendition', async () => {
      const { context, problems } = await watchedContext(browser, server.url, options);
      try {
        const page = await context.newPage();
        await openAt(page, 2);
        const button = page.getByRole('button', { name: /^Quality: / });
        await button.click();
        const menu = page.getByRole('menu', { name: 'Quality' });
        await menu.waitFor();
        const labels = await menu.getByRole('menuitemradio').allInnerTexts();
        assert.equal(labels.length, 3, JSON.stringify(labels));
        assert.match(labels[0], /^Auto/);
        assert.deepEqual(labels.slice(1), ['720p', '360p']);
        await page.screenshot({ path: path.join(shots, `share-${device}-quality.png`) });
        await menu.getByRole('menuitemradio', { name: '360p', exact: true }).click();
        await menu.waitFor({ state: 'detached' });
        assert.equal(await button.innerText(), '360p');
        assertClean(problems);
      } finally {
        await context.close();
      }
    });

    it('the seek bar previews the storyboard’s tile under the pointer or the finger', async () => {
      const { context, problems } = await watchedContext(browser, server.url, options);
      const sprites = [];
      context.on('response', (r) => r.url().includes('/storyboard-') && sprites.push([new URL(r.url()).pathname, r.status()]));
      try {
        const page = await context.newPage();
        await openAt(page, 1);
        const seek = page.getByRole('slider', { name: 'Seek' });
        const box = await seek.boundingBox();
        const y = box.y + box.height / 2;
        const tile = page.locator('.preview .tile');
        const styleOf = () =>
          tile.evaluate((el) => {
            const s = getComputedStyle(el);
            return { w: s.width, h: s.height, image: s.backgroundImage, position: s.backgroundPosition };
          });
        let style;
        if (device === 'phone') {
          // A finger down on the bar, held while it moves: the preview follows it.
          const cdp = await context.newCDPSession(page);
          const touch = (type, x) =>
            cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x, y, id: 1 }] });
          await touch('touchStart', box.x + box.width * 0.3);
          await touch('touchMove', box.x + box.width * 0.5);
          await touch('touchMove', box.x + box.width * 0.52);
          await tile.waitFor();
          await until(() => sprites.length > 0, { what: 'the sprite to be fetched' });
          await page.waitForTimeout(200);
          await page.screenshot({ path: path.join(shots, `share-${device}-storyboard.png`) });
          style = await styleOf();
          await touch('touchEnd', 0);
        } else {
          await page.mouse.move(box.x + box.width * 0.52, y);
          await tile.waitFor();
          await until(() => sprites.length > 0, { what: 'the sprite to be fetched' });
          await page.waitForTimeout(200);
          await page.screenshot({ path: path.join(shots, `share-${device}-storyboard.png`) });
          style = await styleOf();
        }
        // 37 s in 2 s tiles: about 0:19 is the tenth tile (x = 9 × 160), in the first row of the first sprite.
        assert.equal(style.w, '160px');
        assert.equal(style.h, '90px');
        assert.match(style.image, new RegExp(`/streams/${clip.id}/storyboard-000\\.jpg"\\)$`));
        assert.match(style.position, /^-(1280|1440)px 0px$/, style.position);
        assert.deepEqual(sprites[0], [`/streams/${clip.id}/storyboard-000.jpg`, 200]);
        // The sprite is a real picture the browser decoded.
        const decoded = await page.evaluate(async (src) => {
          const img = new Image();
          img.src = src;
          await img.decode();
          return [img.naturalWidth, img.naturalHeight];
        }, `/streams/${clip.id}/storyboard-000.jpg`);
        assert.deepEqual(decoded, [1600, 900]);
        assertClean(problems);
      } finally {
        await context.close();
      }
    });

    it('the owner’s caption track is offered in the CC menu and shows over the picture', async () => {
      const { context, problems } = await watchedContext(browser, server.url, options);
      try {
        const page = await context.newPage();
        await openAt(page, 4);
        const cc = page.getByRole('button', { name: /^Captions: / });
        await cc.click();
        const menu = page.getByRole('menu', { name: 'Captions' });
        await menu.waitFor();
        assert.deepEqual(await menu.getByRole('menuitemradio').allInnerTexts(), ['Off', 'English']);
        await menu.getByRole('menuitemradio', { name: 'English' }).click();
        await menu.waitFor({ state: 'detached' });
        const active = () =>
          page.locator('video').evaluate((v) => {
            const t = [...v.textTracks].find((t) => t.mode === 'showing');
            return t?.activeCues?.length ? t.activeCues[0].text : null;
          });
        await until(async () => (await active()) !== null, { what: 'the cue at 0:04 to be active' });
        // Text only: the <i> tag is gone.
        assert.equal(await active(), 'A rabbit wakes up in the meadow.');
        await page.waitForTimeout(300);
        await page.screenshot({ path: path.join(shots, `share-${device}-captions.png`) });
        assertClean(problems);
      } finally {
        await context.close();
      }
    });
  });
}
