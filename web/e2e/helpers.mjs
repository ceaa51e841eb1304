// Shared plumbing for the end-to-end tests: the real Flick server, a real Chromium, and page guards
// (no CSP violations, no console errors, no request leaving 127.0.0.1).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST_DIR = path.join(WEB_DIR, 'dist');
// CI keeps target/e2e as an artifact (the Makefile points FLICK_SCREENSHOTS there).
export const SCREENSHOTS_DIR = process.env.FLICK_SCREENSHOTS || path.join(WEB_DIR, 'e2e', 'screenshots');
// The real release binary, with the web app compiled into it (rust-embed): build the UI first, then
// `cargo build --release -p flick` (scripts/web-e2e.sh does both). FLICK_BIN=../target/debug/flick runs
// against a debug build instead (which reads web/dist from disk).
export const FLICK_BIN = path.resolve(WEB_DIR, process.env.FLICK_BIN || '../target/release/flick');
export const FIXTURES_DIR = path.resolve(WEB_DIR, process.env.FLICK_FIXTURES ?? '../target/fixtures');
export const CLIP = path.join(FIXTURES_DIR, 'h264_aac_faststart.mp4');
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Checks what the tests need before they start, with a useful message. */
export function preflight() {
  const missing = [];
  if (!existsSync(FLICK_BIN)) missing.push(`the server binary ${FLICK_BIN} (npm run build in web/, then cargo build --release -p flick; or set FLICK_BIN)`);
  if (!existsSync(CLIP)) missing.push(`the fixture ${CLIP} (bash scripts/fixtures.sh, or set FLICK_FIXTURES)`);
  if (!existsSync(CHROMIUM)) missing.push(`Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  if (missing.length) throw new Error(`Cannot run the e2e tests; missing:\n  - ${missing.join('\n  - ')}`);
}

/**
 * Starts `flick serve` on a free port with a fresh data folder. The web app is the one compiled into
 * the binary (no `web.dist` override). Resolves once it prints its address: `url` is where it
 * listens, `baseUrl` the base of its links (`server.public_url` when set, else the same as `url`).
 *
 * `options.port` and `options.dataDir` start it on a given port and data folder instead (a restart
 * after `kill()`): a data folder passed in is left in place by `stop()`; the server that made it
 * removes it.
 */
export async function startServer(extraEnv = {}, { port = 0, dataDir: givenDataDir = null } = {}) {
  const dataDir = givenDataDir ?? mkdtempSync(path.join(tmpdir(), 'flick-e2e-'));
  const ownsDataDir = givenDataDir === null;
  // The server reads every FLICK_* variable as configuration and refuses unknown ones: pass on only
  // configuration overrides (FLICK_SECTION__KEY), not the test runner's own FLICK_BIN / FLICK_FIXTURES.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLICK_') || k.includes('__')));
  const child = spawn(FLICK_BIN, ['serve'], {
    cwd: dataDir,
    env: {
      ...inherited,
      FLICK_SERVER__PORT: String(port),
      FLICK_SERVER__HOST: '127.0.0.1',
      FLICK_STORAGE__DATA_DIR: dataDir,
      FLICK_LOG__FORMAT: 'text',
      // Lower renditions only where a test asks for them (ladder.test.mjs): elsewhere they would add CPU to
      // tests that count stalls.
      FLICK_PROCESSING__LADDER_WORKERS: '0',
      NO_COLOR: '1',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const { base: baseUrl, local: url } = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`flick did not start within 30 s. Output:\n${output}`)), 30_000);
    const fail = (err) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const onData = (chunk) => {
      output += chunk.toString();
      const m = /Flick is running at (\S+?)\/? \(listening on (http:\/\/127\.0\.0\.1:\d+)\)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve({ base: m[1], local: m[2] });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c) => (output += c.toString()));
    child.on('exit', (code) => fail(new Error(`flick exited (${code}) before it was ready. Output:\n${output}`)));
    child.on('error', fail);
  });
  child.removeAllListeners('exit');
  const exited = new Promise((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r();
    else child.once('exit', () => r());
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    url,
    baseUrl,
    port: Number(new URL(url).port),
    dataDir,
    pid: child.pid,
    logs: () => output,
    /** SIGKILL, as a crash: nothing is flushed or released; the data folder stays. Resolves once it exited. */
    async kill() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (running()) {
        child.kill('SIGTERM');
        const timeout = new Promise((r) => setTimeout(r, 10_000, 'timeout'));
        if ((await Promise.race([exited, timeout])) === 'timeout') {
          child.kill('SIGKILL');
          await exited;
        }
      }
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Fails unless the server serves the full web app, and (when web/dist holds a build) the same build:
 * a release binary embeds web/dist as it was when it was compiled, so a binary older than the UI
 * would test yesterday's app.
 */
export async function assertServesThisWebApp(url) {
  const served = await (await fetch(`${url}/`)).text();
  if (!/<script type="module"[^>]* src="\/assets\/index-[^"]+\.js"/.test(served)) {
    throw new Error(`${FLICK_BIN} does not serve the built web app (was web/dist built before the binary?):\n${served.slice(0, 600)}`);
  }
  const distIndex = path.join(DIST_DIR, 'index.html');
  if (existsSync(distIndex)) {
    const assets = (html) => [...html.matchAll(/\/assets\/[\w.-]+/g)].map((m) => m[0]).sort();
    const want = assets(readFileSync(distIndex, 'utf8'));
    const got = assets(served);
    if (JSON.stringify(want) !== JSON.stringify(got)) {
      throw new Error(
        `${FLICK_BIN} embeds another build of the web app than ${DIST_DIR} (serves ${got.join(', ')}; dist has ${want.join(', ')}). ` +
          'Rebuild it after the UI: cargo build --release -p flick (or run scripts/web-e2e.sh).',
      );
    }
  }
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--autoplay-policy=document-user-activation-required'],
  });
}

/**
 * A browser context whose pages are watched: CSP violations (reported from the page), console
 * errors, uncaught exceptions, and requests to any host other than 127.0.0.1.
 */
export async function watchedContext(browser, baseURL, options = {}) {
  const context = await browser.newContext({ baseURL, ...options });
  const problems = { csp: [], console: [], pageErrors: [], foreign: [] };
  await context.exposeBinding('__flickReportCsp', (_source, v) => problems.csp.push(v));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      // @ts-ignore
      window.__flickReportCsp({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile, line: e.lineNumber });
    });
    // The first moment any video starts playing, and where.
    document.addEventListener(
      'playing',
      (e) => {
        // @ts-ignore
        if (window.__flickFirstPlaying === undefined) window.__flickFirstPlaying = e.target.currentTime;
      },
      true,
    );
  });
  context.on('page', (page) => watchPage(page, problems));
  context.on('request', (req) => {
    const u = new URL(req.url());
    if (u.protocol === 'data:' || u.protocol === 'blob:') return;
    if (u.hostname !== '127.0.0.1') problems.foreign.push(req.url());
  });
  return { context, problems };
}

function watchPage(page, problems) {
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.console.push(`${msg.text()} @ ${msg.location()?.url ?? ''}`);
  });
  page.on('pageerror', (err) => problems.pageErrors.push(String(err)));
}

/** Console errors other than the browser's notes about expected HTTP 404 answers. */
export function unexpectedConsoleErrors(problems, { allow404 = false } = {}) {
  return problems.console.filter((m) => !(allow404 && /status of 404/.test(m)));
}

export function ensureScreenshotsDir() {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  return SCREENSHOTS_DIR;
}

/** Waits until `fn()` returns a truthy value (polling), or throws after `timeoutMs`. */
export async function until(fn, { timeoutMs = 20_000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
