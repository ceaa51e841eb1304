// The owner's extras (issue 13, items 3, 4 and 6), in real Chromium against the real server: captions added and
// removed in the share page's Captions panel (the player gets the track, the status lists it), downloads of the
// original turned on in the link settings (the share page offers Download, which answers the exact bytes uploaded),
// and the embeddable player: `/embed/{id}` in an <iframe> of another origin plays, and only it may be framed.
//
//   node --test e2e/owner-extras.test.mjs      (from web/; see scripts/web-e2e.sh)

import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { assertServesThisWebApp, CLIP, ensureScreenshotsDir, launchBrowser, preflight, startServer, until, watchedContext } from './helpers.mjs';

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const TITLE = 'Beach <day> & "night"';
const SRT = '1\n00:00:00,500 --> 00:00:02,000\nHello there\n\n2\n00:00:02,500 --> 00:00:04,000\nSecond line\n';

let server;
let browser;
let shots;
let id;
let token;
let original;

before(async () => {
  preflight();
  shots = ensureScreenshotsDir();
  server = await startServer();
  await assertServesThisWebApp(server.url);
  browser = await launchBrowser();
  original = readFileSync(CLIP);
  const res = await fetch(`${server.url}/api/upload?filename=${encodeURIComponent(`${TITLE}.mp4`)}`, { method: 'POST', body: original });
  assert.equal(res.status, 201);
  ({ id, manageToken: token } = await res.json());
  await until(async () => (await status()).status === 'ready', { timeoutMs: 60_000, intervalMs: 200, what: 'the video to be ready' });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function status(withToken = false) {
  const res = await fetch(`${server.url}/api/video/${id}`, withToken ? { headers: { authorization: `Bearer ${token}` } } : {});
  assert.equal(res.status, 200);
  return res.json();
}

/** No CSP violation, no uncaught exception, no foreign request; console errors only for the HTTP answers expected. */
function assertClean(problems, { allow = [] } = {}) {
  assert.deepEqual(problems.csp, [], 'no Content-Security-Policy violations');
  assert.deepEqual(problems.pageErrors, [], 'no uncaught exceptions');
  const expected = allow.map((s) => new RegExp(`status of ${s}`));
  assert.deepEqual(
    problems.console.filter((m) => !expected.some((re) => re.test(m))),
    [],
    'no console errors',
  );
  assert.deepEqual(problems.foreign, [], 'no request to any host other than 127.0.0.1');
}

/** A browser that uploaded the video: its "My videos" holds the manage token. */
async function ownerContext(options = DESKTOP) {
  const watched = await watchedContext(browser, server.url, options);
  const entry = { id, manageToken: token, title: TITLE, createdAt: new Date().toISOString() };
  await watched.context.addInitScript((e) => {
    if (location.origin !== 'null' && !localStorage.getItem('flick.library.v1')) localStorage.setItem('flick.library.v1', JSON.stringify([e]));
  }, entry);
  return watched;
}

/** The labels of the text tracks of the page's <video>. */
function trackLabels(page) {
  return page.locator('video').evaluate((v) => [...v.textTracks].map((t) => t.label));
}

describe('captions', () => {
  it('the owner adds an SRT in the Captions panel: the player gets the track and the status lists it; then removes it', async () => {
    const { context, problems } = await ownerContext();
    const page = await context.newPage();
    await page.goto(`/v/${id}`);
    await page.locator('video').waitFor({ timeout: 20_000 });
    await page.locator('button[aria-controls="captions-settings"]').click();
    const panel = page.getByRole('region', { name: 'Captions' });
    await panel.getByText('No captions yet.').waitFor();

    // A file that is no caption file: the server's refusal is read out.
    await panel.getByLabel('Caption file').setInputFiles({ name: 'notes.vtt', mimeType: 'text/vtt', buffer: Buffer.from('just some notes') });
    await panel.getByLabel('Language').fill('en');
    assert.equal(await panel.getByLabel('Label', { exact: true }).inputValue(), 'English', 'the label follows the language');
    await panel.getByRole('button', { name: 'Add captions' }).click();
    const refusal = panel.getByRole('alert');
    await refusal.waitFor();
    assert.notEqual((await refusal.textContent()).trim(), '');
    assert.deepEqual((await status()).captions ?? [], []);

    // The SRT: added, listed, converted to WebVTT, and in the player.
    await panel.getByLabel('Caption file').setInputFiles({ name: 'beach.srt', mimeType: 'application/x-subrip', buffer: Buffer.from(SRT) });
    await panel.getByRole('button', { name: 'Add captions' }).click();
    await panel.getByText('Captions “English” added.').waitFor();
    await panel.getByRole('button', { name: 'Remove the captions “English” (en)' }).waitFor();
    const { captions } = await status();
    assert.equal(captions.length, 1);
    assert.equal(captions[0].lang, 'en');
    assert.equal(captions[0].label, 'English');
    const vtt = await (await fetch(new URL(captions[0].url, server.url))).text();
    assert.match(vtt, /^WEBVTT/);
    assert.match(vtt, /00:00:00\.500 --> 00:00:02\.000/);
    assert.match(vtt, /Hello there/);
    await page.screenshot({ path: path.join(shots, 'owner-extras-captions.png'), fullPage: true });
    await until(async () => (await trackLabels(page)).includes('English'), { what: 'the player to get the English track' });

    // Removed at once: gone from the status and from the player.
    await panel.getByRole('button', { name: 'Remove the captions “English” (en)' }).click();
    await panel.getByText('Captions “English” removed.').waitFor();
    assert.deepEqual((await status()).captions, []);
    await until(async () => !(await trackLabels(page)).includes('English'), { what: 'the player to drop the English track' });
    assertClean(problems, { allow: [400] });
    await context.close();
  });
});

describe('download', () => {
  it('the owner turns downloads on: the share page offers Download, which answers the exact original', async () => {
    assert.equal((await fetch(`${server.url}/v/${id}/download`)).status, 404, 'off by default');
    const { context, problems } = await ownerContext();
    const page = await context.newPage();
    await page.goto(`/v/${id}`);
    await page.getByRole('button', { name: 'Link settings' }).click();
    const allow = page.getByLabel('Allow download of the original');
    assert.equal(await allow.isChecked(), false);
    await allow.check();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Saved.').waitFor();
    assert.equal((await status(true)).allowDownload, true);
    await page.getByRole('link', { name: 'Download' }).waitFor({ timeout: 10_000 });

    const res = await fetch(`${server.url}/v/${id}/download`);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(original), 'the exact bytes uploaded');

    // A viewer sees it too.
    const { context: viewer, problems: viewerProblems } = await watchedContext(browser, server.url, PHONE);
    const v = await viewer.newPage();
    await v.goto(`/v/${id}`);
    await v.getByRole('link', { name: 'Download' }).waitFor({ timeout: 10_000 });
    await v.screenshot({ path: path.join(shots, 'owner-extras-download-phone.png'), fullPage: true });
    assertClean(problems);
    assertClean(viewerProblems);
    await viewer.close();
    await context.close();
  });
});

describe('embed', () => {
  let host;
  let hostUrl;

  before(async () => {
    // Another origin (another port) whose page frames the player.
    host = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>Host</title><h1>A blog post</h1>${decodeURIComponent(new URL(req.url, 'http://x').searchParams.get('snippet') ?? '')}`);
    });
    await new Promise((r) => host.listen(0, '127.0.0.1', r));
    hostUrl = `http://127.0.0.1:${host.address().port}/`;
  });

  after(() => host?.close());

  it('only /embed/{id} may be framed', async () => {
    const embed = await fetch(`${server.url}/embed/${id}`);
    assert.equal(embed.status, 200);
    assert.match(embed.headers.get('content-type') ?? '', /text\/html/);
    assert.doesNotMatch(embed.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.notEqual(embed.headers.get('x-frame-options')?.toLowerCase(), 'deny');
    const share = await fetch(`${server.url}/v/${id}`);
    assert.match(share.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  });

  it('a viewer copies the embed code from the share page; in another site it plays', async () => {
    const { context, problems } = await watchedContext(browser, server.url, DESKTOP);
    const page = await context.newPage();
    await page.goto(`/v/${id}`);
    await page.getByRole('button', { name: 'Embed', exact: true }).click();
    const snippet = await page.getByLabel('Embed code').inputValue();
    assert.match(snippet, new RegExp(`^<iframe src="${server.url.replace(/[.]/g, '\\.')}/embed/${id}" width="\\d+" height="\\d+" `));
    assert.match(snippet, /title="Beach &lt;day&gt; &amp; &quot;night&quot;"><\/iframe>$/);

    await page.goto(`${hostUrl}?snippet=${encodeURIComponent(snippet)}`);
    const frame = page.frameLocator('iframe');
    await frame.locator('video').waitFor({ timeout: 20_000 });
    assert.equal(await frame.getByRole('banner').count(), 0, 'no header in the embedded player');
    const titleLink = frame.getByRole('link', { name: /Beach <day> & "night"/ });
    assert.equal(await titleLink.getAttribute('href'), `/v/${id}`);
    assert.equal(await titleLink.getAttribute('target'), '_blank');
    await frame.getByRole('button', { name: 'Play video' }).click();
    await until(() => frame.locator('video').evaluate((v) => (v.currentTime > 1 ? v.currentTime : null)), {
      timeoutMs: 30_000,
      what: 'the embedded video to play past 1 s',
    });
    await page.screenshot({ path: path.join(shots, 'owner-extras-embed.png') });
    assertClean(problems);
    await context.close();
  });

  it('an unknown id in the frame says so, without a header', async () => {
    const { context, problems } = await watchedContext(browser, server.url, { viewport: { width: 560, height: 315 } });
    const page = await context.newPage();
    await page.goto(`/embed/${'0'.repeat(32)}`);
    await page.getByRole('heading', { name: 'This video does not exist or was deleted.' }).waitFor();
    assert.equal(await page.getByRole('banner').count(), 0);
    assertClean(problems, { allow: [404] });
    await context.close();
  });
});
