// The owner's link controls, end to end in real Chromium against the real release binary: a password set in
// "Link settings" (a second browser sees only the password form, a wrong password is refused, the right one plays),
// a rename seen by a viewer, revoking the link (the old one is not found, the new one plays), deleting, and a view
// limit of 1 (one viewer watches, the next browser finds nothing). Every page is watched for CSP violations,
// console errors (other than the expected 401/404 answers) and requests leaving 127.0.0.1.
//
//   node --test e2e/privacy.test.mjs      (from web/; see scripts/web-e2e.sh)

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertServesThisWebApp, CLIP, ensureScreenshotsDir, launchBrowser, preflight, startServer, until, watchedContext } from './helpers.mjs';

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const TITLE = 'h264_aac_faststart';
const PASSWORD = 'correct horse battery';
const GONE = 'This video does not exist or was deleted.';
const SHARE_URL = /\/v\/([0-9a-f]{32})$/;

let server;
let browser;
let shots;

before(async () => {
  preflight();
  shots = ensureScreenshotsDir();
  server = await startServer();
  await assertServesThisWebApp(server.url);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** No CSP violation, no uncaught exception, no foreign request; console errors only for the HTTP answers expected. */
function assertClean(problems, { allow = [] } = {}) {
  assert.deepEqual(problems.csp, [], 'no Content-Security-Policy violations');
  assert.deepEqual(problems.pageErrors, [], 'no uncaught exceptions');
  const expected = allow.map((status) => new RegExp(`status of ${status}`));
  assert.deepEqual(
    problems.console.filter((m) => !expected.some((re) => re.test(m))),
    [],
    'no console errors',
  );
  assert.deepEqual(problems.foreign, [], 'no request to any host other than 127.0.0.1');
}

async function status(id, token) {
  const res = await fetch(`${server.url}/api/video/${id}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { code: res.status, body: res.status === 200 ? await res.json() : null };
}

async function libraryOf(page) {
  return JSON.parse((await page.evaluate(() => localStorage.getItem('flick.library.v1'))) ?? '[]');
}

/** Uploads the clip through the page; resolves with the share id once the video is ready. */
async function uploadInPage(page) {
  await page.goto('/');
  await page.getByRole('heading', { name: 'Share a video' }).waitFor();
  await page.locator('input[type=file]').setInputFiles(CLIP);
  await page.waitForURL(SHARE_URL, { timeout: 30_000 });
  const id = SHARE_URL.exec(new URL(page.url()).pathname)[1];
  await page.getByRole('heading', { level: 1, name: TITLE }).waitFor();
  await until(async () => (await status(id)).body?.status === 'ready', { timeoutMs: 60_000, intervalMs: 200, what: 'the video to be ready' });
  return id;
}

/** Waits until the page's video has played past `seconds` (starting it, muted, if it is not playing). */
async function playsPast(page, seconds = 1.2, { start = false } = {}) {
  const video = page.locator('video');
  await video.waitFor({ timeout: 20_000 });
  if (start) {
    // Not awaited inside the page: play() stays pending for as long as nothing loads, and the wait below has a limit.
    await video.evaluate((v) => {
      v.muted = true;
      v.play().catch(() => {});
    });
  }
  return until(() => video.evaluate((v, s) => (v.currentTime > s ? v.currentTime : null), seconds), {
    timeoutMs: 30_000,
    what: `the video to play past ${seconds} s`,
  });
}

async function assertNotFound(page, id) {
  await page.goto(`/v/${id}`);
  await page.getByRole('heading', { name: GONE }).waitFor();
  assert.equal(await page.locator('video').count(), 0);
}

describe('link settings: password, rename, revoke, delete', () => {
  let owner;
  let ownerProblems;
  let page;
  let viewer;
  let viewerProblems;
  let id;
  let token;
  let newId;

  before(async () => {
    ({ context: owner, problems: ownerProblems } = await watchedContext(browser, server.url, DESKTOP));
    await owner.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    page = await owner.newPage();
    ({ context: viewer, problems: viewerProblems } = await watchedContext(browser, server.url, PHONE));
  });

  after(async () => {
    await owner?.close();
    await viewer?.close();
  });

  it('uploads a clip in the page and sets a password in the link settings', async () => {
    id = await uploadInPage(page);
    token = (await libraryOf(page)).find((e) => e.id === id)?.manageToken;
    assert.ok(token, 'the library holds the manage token under the share id');

    const toggle = page.getByRole('button', { name: 'Link settings' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    const panel = page.getByRole('region', { name: 'Link settings' });
    await panel.getByLabel('Title').waitFor();
    assert.equal(await panel.getByLabel('Title').inputValue(), TITLE);
    await panel.getByText('Anyone with the link can watch now.').waitFor();

    // Asking for a password without typing one: said next to the field, nothing sent.
    await panel.getByLabel('Require a password to watch').check();
    await panel.getByRole('button', { name: 'Save changes' }).click();
    await panel.getByText('Enter the password viewers will need.').waitFor();
    assert.equal(await panel.getByLabel('Password', { exact: true }).evaluate((el) => el === document.activeElement), true, 'focus on the wrong field');

    await panel.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await panel.getByRole('button', { name: 'Save changes' }).click();
    await panel.getByText('Saved.').waitFor();
    await panel.getByText('Viewers need the password now.').waitFor();
    await page.screenshot({ path: path.join(shots, 'link-settings-desktop.png'), fullPage: true });

    assert.deepEqual((await status(id)).body, { id, passwordRequired: true }, 'a viewer without the password learns nothing');
    const own = (await status(id, token)).body;
    assert.equal(own.passwordProtected, true);
    assert.equal(own.title, TITLE);
    for (const url of [`/streams/${id}/master.m3u8`, `/thumbnails/${id}.jpg`]) {
      assert.equal((await fetch(`${server.url}${url}`)).status, 401, `${url} without the password`);
    }
    // The owner's player goes on.
    await page.locator('video').waitFor();
  });

  it('a viewer sees only the password form; a wrong password is refused, the right one plays', async () => {
    const p = await viewer.newPage();
    const media = [];
    p.on('request', (r) => {
      if (/\/(thumbnails|streams)\//.test(r.url())) media.push(r.url());
    });
    await p.goto(`/v/${id}`);
    await p.getByRole('heading', { name: 'This video is protected by a password' }).waitFor();
    const input = p.getByLabel('Password', { exact: true });
    await input.waitFor();
    assert.equal(await input.evaluate((el) => el === document.activeElement), true, 'the password field has the focus');
    assert.doesNotMatch(await p.locator('body').innerText(), new RegExp(TITLE), 'no title before the password');
    assert.doesNotMatch(await p.title(), new RegExp(TITLE));
    assert.equal(await p.locator('img, video').count(), 0, 'no thumbnail, no player');
    assert.deepEqual(media, [], 'nothing of the video was asked for');

    await input.fill('not the password');
    await p.getByRole('button', { name: 'Unlock' }).click();
    const error = p.locator('[aria-live]').filter({ hasText: 'Wrong password' });
    await error.waitFor();
    assert.equal(await input.inputValue(), '', 'the wrong password is cleared');
    await p.screenshot({ path: path.join(shots, 'password-wrong-phone.png') });

    await input.fill(PASSWORD);
    await p.getByRole('button', { name: 'Unlock' }).click();
    await p.getByRole('heading', { level: 1, name: TITLE }).waitFor();
    const t = await playsPast(p);
    assert.ok(t > 1.2);
    await p.screenshot({ path: path.join(shots, 'password-unlocked-phone.png') });
    // The viewer is not the owner: no settings, no delete.
    assert.equal(await p.getByRole('button', { name: 'Link settings' }).count(), 0);
    assert.equal(await p.getByRole('button', { name: 'Delete' }).count(), 0);
    await p.close();
  });

  it('a rename shows the new title to a viewer', async () => {
    const panel = page.getByRole('region', { name: 'Link settings' });
    await panel.getByLabel('Title').fill('  Beach day  ');
    await panel.getByRole('button', { name: 'Save changes' }).click();
    await panel.getByText('Saved.').waitFor();
    assert.equal(await panel.getByLabel('Title').inputValue(), 'Beach day');
    await page.getByRole('heading', { level: 1, name: 'Beach day' }).waitFor();
    assert.equal((await libraryOf(page)).find((e) => e.id === id)?.title, 'Beach day');

    // The viewer who gave the password sees the new title (the password stays given).
    const p = await viewer.newPage();
    await p.goto(`/v/${id}`);
    await p.getByRole('heading', { level: 1, name: 'Beach day' }).waitFor();
    assert.equal(await p.title(), 'Beach day · Flick');
    await p.close();

    // A refusal of the server is shown next to its field.
    await panel.getByLabel('Title').fill('a\u0007b');
    await panel.getByRole('button', { name: 'Save changes' }).click();
    await panel.getByText(/The title must be 1 to 200 characters/).waitFor();
    assert.equal(await panel.getByLabel('Title').getAttribute('aria-invalid'), 'true');
    await panel.getByLabel('Title').fill('Beach day');
    assert.equal(await panel.getByLabel('Title').getAttribute('aria-invalid'), null, 'editing the field clears what was said about it');
  });

  it('revoking the link: the old one is not found, the new one plays (with the password)', async () => {
    const panel = page.getByRole('region', { name: 'Link settings' });
    await panel.getByRole('button', { name: 'Revoke link' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke this link?' });
    await dialog.waitFor();
    await dialog.getByText('The current link will stop working for everyone. A new link is made.').waitFor();
    await page.screenshot({ path: path.join(shots, 'revoke-dialog-desktop.png') });
    await dialog.getByRole('button', { name: 'Revoke link' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const newLink = panel.getByLabel('New link');
    await newLink.waitFor();
    const link = await newLink.inputValue();
    newId = SHARE_URL.exec(new URL(link).pathname)?.[1];
    assert.ok(newId && newId !== id, `a new id (${link})`);
    assert.equal(await newLink.evaluate((el) => el === document.activeElement), true, 'the new link has the focus');
    await panel.getByRole('button', { name: 'Copy new link' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${server.url}/v/${newId}`);
    assert.equal(new URL(page.url()).pathname, `/v/${newId}`, 'the address bar shows the new link');
    assert.equal(await page.locator('#share-link').inputValue(), `${server.url}/v/${newId}`, 'the share link too');
    const entries = await libraryOf(page);
    assert.deepEqual(
      entries.map((e) => [e.id, e.manageToken]),
      [[newId, token]],
      'the library entry has the new id and the same token',
    );
    await page.screenshot({ path: path.join(shots, 'revoked-desktop.png'), fullPage: true });

    assert.equal((await status(id)).code, 404);
    assert.equal((await status(newId, token)).body?.title, 'Beach day', 'the token works with the new id');

    // The viewer who had unlocked the old link: not found there.
    const old = await viewer.newPage();
    await assertNotFound(old, id);
    await old.close();

    // Someone with the new link: the password, then the video.
    const { context: fresh, problems } = await watchedContext(browser, server.url, DESKTOP);
    try {
      const p = await fresh.newPage();
      await p.goto(`/v/${newId}`);
      await p.getByRole('heading', { name: 'This video is protected by a password' }).waitFor();
      await p.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await p.getByRole('button', { name: 'Unlock' }).click();
      await p.getByRole('heading', { level: 1, name: 'Beach day' }).waitFor();
      await playsPast(p);
      assertClean(problems);
    } finally {
      await fresh.close();
    }

    // The owner's page follows the video under its new id and still plays it.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Beach day' }).waitFor();
    await playsPast(page, 1, { start: true });
  });

  it('deleting lands on "Deleted. The link no longer works.", and the link is not found', async () => {
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this video?' });
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/\/library$/);
    await page.getByText('Deleted. The link no longer works.').waitFor();
    await page.screenshot({ path: path.join(shots, 'deleted-desktop.png') });
    assert.deepEqual(await libraryOf(page), []);
    assert.equal((await status(newId, token)).code, 404);

    const p = await viewer.newPage();
    await assertNotFound(p, newId);
    await p.close();
  });

  it('stayed within the rules', () => {
    // The title the server refused (400), the revoked link's 404.
    assertClean(ownerProblems, { allow: [400, 404] });
    // The wrong password's 401, and the revoked link's 404.
    assertClean(viewerProblems, { allow: [401, 404] });
  });
});

describe('a view limit of 1', () => {
  it('is set from My videos; one viewer watches, then a new browser gets the not-found page', async () => {
    const { context: owner, problems: ownerProblems } = await watchedContext(browser, server.url, PHONE);
    const { context: viewer, problems: viewerProblems } = await watchedContext(browser, server.url, DESKTOP);
    const { context: late, problems: lateProblems } = await watchedContext(browser, server.url, DESKTOP);
    try {
      const page = await owner.newPage();
      const id = await uploadInPage(page);
      const token = (await libraryOf(page)).find((e) => e.id === id)?.manageToken;

      // From the list (no player of the owner's running meanwhile: the owner's segments would count too).
      await page.getByRole('link', { name: 'My videos' }).click();
      await page.waitForURL(/\/library$/);
      const item = page.locator('li.item').filter({ hasText: TITLE });
      await item.getByRole('button', { name: 'Link settings' }).click();
      const panel = item.getByRole('region', { name: 'Link settings' });
      await panel.getByLabel('Limit the number of views').check();
      await panel.getByLabel('Views allowed').fill('1');
      await panel.getByRole('button', { name: 'Save changes' }).click();
      await panel.getByText('Saved.').waitFor();
      await panel.getByText('1 view left').waitFor();
      await item.getByText('1 view left').first().waitFor();
      await page.screenshot({ path: path.join(shots, 'library-link-settings-phone.png'), fullPage: true });
      const own = (await status(id, token)).body;
      assert.equal(own.maxViews, 1);
      assert.equal(own.viewsLeft, 1);

      const v = await viewer.newPage();
      await v.goto(`/v/${id}`);
      await v.getByRole('heading', { level: 1, name: TITLE }).waitFor();
      await playsPast(v, 1.2, { start: true });
      await until(async () => {
        const s = await status(id, token);
        return s.code === 404 || s.body?.viewsLeft === 0;
      }, { what: 'the view to be counted' });

      const l = await late.newPage();
      await assertNotFound(l, id);
      await l.screenshot({ path: path.join(shots, 'view-limit-used-up-desktop.png') });

      assertClean(ownerProblems, { allow: [404] });
      assertClean(viewerProblems, { allow: [404] });
      assertClean(lateProblems, { allow: [404] });
    } finally {
      await Promise.all([owner.close(), viewer.close(), late.close()]);
    }
  });
});
