// Shared helpers of the browser drivers: argument parsing, launching Debian's
// Chromium through playwright-core (never a downloaded browser), a tiny static
// server, and the "one JSON line on stdout" convention.

import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '../..');
export const MOHUR_JS = path.join(REPO, 'agent/web/mohur.js');
export const DEMO_DIR = path.join(REPO, 'agent/web/demo');

/** Chromium to drive; MOHUR_CHROMIUM overrides (default Debian's). */
export const CHROMIUM = process.env.MOHUR_CHROMIUM || '/usr/bin/chromium';

/** Launch flags measured to work headless here (see /work/shared/docs/test-stack.md). */
export const BASE_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Parses --key value / --flag arguments.
 * @param {string[]} argv
 * @param {{flags?: string[], defaults?: Record<string, any>}} spec flags take no value
 * @returns {Record<string, any>} keys without the dashes
 */
export function parseArgs(argv, { flags = [], defaults = {} } = {}) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    let key = a.slice(2);
    let val;
    const eq = key.indexOf('=');
    if (eq >= 0) {
      val = key.slice(eq + 1);
      key = key.slice(0, eq);
    } else if (flags.includes(key)) {
      val = true;
    } else {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      val = argv[++i];
    }
    out[key] = val;
  }
  return out;
}

/**
 * Launches Chromium (fresh profile in a temp dir, removed on close) and one context.
 * @param {{extraArgs?: string[], contextOptions?: object}} [opts]
 * @returns {Promise<{browser: import('playwright-core').Browser, context: import('playwright-core').BrowserContext}>}
 */
export async function launch({ extraArgs = [], contextOptions = {} } = {}) {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    throw new Error(`playwright-core is not installed: run scripts/browser-deps.sh (${e.message})`);
  }
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install chromium (or set MOHUR_CHROMIUM)`);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...BASE_ARGS, ...extraArgs],
  });
  const context = await browser.newContext(contextOptions);
  return { browser, context };
}

/** A free TCP port on 127.0.0.1. @returns {Promise<number>} */
export async function freePort() {
  const s = net.createServer();
  await new Promise((r, j) => { s.once('error', j); s.listen(0, '127.0.0.1', r); });
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * A request handler serving a tiny test page and /mohur.js (from agent/web).
 * @param {string} title
 * @param {{csp?: string}} [opts] csp: the page's Content-Security-Policy header
 * @returns {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void}
 */
export function tinyPageHandler(title = 'mohur test page', { csp } = {}) {
  return (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/mohur.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(fs.readFileSync(MOHUR_JS));
    } else if (url.pathname === '/' || url.pathname === '/index.html') {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        ...(csp ? { 'content-security-policy': csp } : {}),
      });
      res.end(`<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><p id="page">${title}</p></body></html>`);
    } else if (url.pathname === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  };
}

/** Listens on 127.0.0.1:port. @returns {Promise<void>} */
export function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
}

/**
 * In page context: imports mohur.js (from `mohurUrl`, or from `source` through a blob:
 * URL so that the page needs not serve it), connects, runs one method.
 * Runs inside the browser: keep it self-contained.
 */
export async function pageConnectAndCall({ agentUrl, method, params, mohurUrl, source, timeoutMs }) {
  let mod;
  if (mohurUrl) {
    mod = await import(mohurUrl);
  } else {
    const blobUrl = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    mod = await import(blobUrl);
  }
  const out = { pageOrigin: location.origin, ok: false };
  let client;
  try {
    client = await mod.connect({ url: agentUrl, timeoutMs });
    out.hello = client.hello;
    out.result = await client.request(method, params || {});
    out.ok = true;
  } catch (e) {
    out.code = e && e.code ? e.code : 'EXCEPTION';
    out.message = e && e.message ? e.message : String(e);
    if (e && e.triesLeft !== undefined) out.triesLeft = e.triesLeft;
  } finally {
    if (client) client.close();
  }
  return out;
}

/**
 * Runs a driver: prints exactly one JSON line on stdout. A crash prints
 * {"crash": message} (stack on stderr) and exits 1; a watchdog exits 2.
 * @param {(ctx: {onCleanup: (fn: () => any) => void}) => Promise<object>} fn
 * @param {{timeoutMs?: number}} [opts]
 */
export async function runDriver(fn, { timeoutMs = 120000 } = {}) {
  const cleanups = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) {
      try { await c(); } catch (_) { /* best effort */ }
    }
    cleanups.length = 0;
  };
  const watchdog = setTimeout(async () => {
    process.stdout.write(JSON.stringify({ crash: `driver timed out after ${timeoutMs} ms` }) + '\n');
    await Promise.race([cleanup(), new Promise((r) => setTimeout(r, 3000))]);
    process.exit(2);
  }, timeoutMs);
  let code = 0;
  try {
    const result = await fn({ onCleanup: (c) => cleanups.push(c) });
    process.stdout.write(JSON.stringify(result) + '\n');
  } catch (e) {
    process.stderr.write(`${(e && e.stack) || e}\n`);
    process.stdout.write(JSON.stringify({ crash: String((e && e.message) || e) }) + '\n');
    code = 1;
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }
  process.exit(code);
}
