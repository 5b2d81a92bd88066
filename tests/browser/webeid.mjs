#!/usr/bin/env node
// webeid.mjs — the official Web eID extension (tests/peers/web-eid-webextension) in
// Debian's Chromium, talking to whatever answers `eu.webeid` (mohur, in the tests).
//
//   node webeid.mjs --print-id --extension DIR
//       prints {"extensionId": "..."}: the id Chromium gives the unpacked extension
//       (SHA-256 of its absolute path, 0-f mapped to a-p), to register the host for it.
//   node webeid.mjs --extension DIR --profile DIR --cert PEM --key PEM --requests FILE
//       [--timeout MS] [--request-timeout MS]
//
// Serves a blank page on https://localhost:PORT/ with --cert/--key (self-signed is fine:
// Chromium is told to ignore certificate errors), starts Chromium with the user data
// directory --profile (Chromium reads the host manifests of a custom profile from
// <profile>/NativeMessagingHosts/) and the extension loaded unpacked, and posts each
// request of the JSON array in --requests to the page's window, as web-eid.js does
// (`{action: "web-eid:authenticate", libraryVersion, ...}`), one after the other, each
// until its -success or -failure reply. In a request, the string "$certificate" stands
// for the certificate of the last get-signing-certificate success.
//
// Prints one JSON line: {"extensionId", "origin", "results": [{"sent", "replies"}],
// "console": [...]}; a reply that never came is {"timeout": true}.
//
//   node webeid.mjs --extension DIR --profile DIR --portal URL [--allow-http-localhost]
//       opens the demo portal at URL instead (no --cert/--key/--requests), optionally
//       turns on the extension's developer setting ALLOW_HTTP_LOCALHOST first (through
//       its developer-tools port, as its settings panel does), clicks
//       #webeid-login-button and waits for #webeid-login-result; prints
//       {"extensionId", "portal": {"state", "text", "code"}, "console"}.

import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import { parseArgs, runDriver, listen, CHROMIUM } from './lib.mjs';

const args = parseArgs(process.argv.slice(2), {
  flags: ['print-id', 'allow-http-localhost'],
  defaults: { timeout: '240000', 'request-timeout': '60000' },
});

/** Chromium's id of an unpacked extension without a `key`: from its absolute path. */
function extensionId(dir) {
  const hex = crypto.createHash('sha256').update(fs.realpathSync(dir)).digest('hex').slice(0, 32);
  return [...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('');
}

if (args['print-id']) {
  process.stdout.write(JSON.stringify({ extensionId: extensionId(args.extension) }) + '\n');
  process.exit(0);
}

/** Chromium with the extension loaded, and its service worker. */
async function launchWithExtension(chromium, ext, onCleanup) {
  const context = await chromium.launchPersistentContext(args.profile, {
    executablePath: CHROMIUM,
    headless: false, // --headless=new below: the old headless mode runs no extensions
    ignoreHTTPSErrors: true,
    ignoreDefaultArgs: ['--disable-extensions'],
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--ignore-certificate-errors',
      `--load-extension=${ext}`,
      `--disable-extensions-except=${ext}`,
    ],
  });
  onCleanup(() => context.close());
  let worker = context.serviceWorkers()[0];
  if (!worker) worker = await context.waitForEvent('serviceworker', { timeout: 20000 });
  return { context, worker };
}

/** The demo portal's "Log in with Web eID". */
async function portal(chromium, ext, onCleanup) {
  const { context, worker } = await launchWithExtension(chromium, ext, onCleanup);
  const id = new URL(worker.url()).host;
  const out = { extensionId: id, console: [] };
  if (args['allow-http-localhost']) {
    const settings = await context.newPage();
    await settings.goto(`chrome-extension://${id}/views/options.html`);
    out.setting = await settings.evaluate(() => new Promise((resolve) => {
      const port = chrome.runtime.connect({ name: 'webeid-devtools' });
      let sent = false;
      port.onMessage.addListener((m) => {
        if (m.devtools !== 'settings') return;
        if (!sent) {
          sent = true;
          port.postMessage({ devtools: 'setting-set', key: 'ALLOW_HTTP_LOCALHOST', value: true });
          setTimeout(() => resolve('sent'), 500);
        }
      });
      setTimeout(() => resolve('no answer from the extension'), 5000);
    }));
  }
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => out.console.push(`${m.type()}: ${m.text()}`));
  await page.goto(args.portal);
  await page.waitForTimeout(500);
  await page.click('#webeid-login-button');
  await page.waitForFunction(
    () => ['ok', 'error'].includes(document.querySelector('#webeid-login-result').dataset.state),
    null,
    { timeout: Number(args['request-timeout']) },
  );
  out.portal = await page.$eval('#webeid-login-result', (e) => ({
    state: e.dataset.state,
    text: e.textContent,
    code: e.dataset.code || null,
  }));
  return out;
}

await runDriver(async ({ onCleanup }) => {
  const { chromium } = await import('playwright-core');
  const ext = fs.realpathSync(args.extension);
  if (args.portal) return portal(chromium, ext, onCleanup);
  const requests = JSON.parse(fs.readFileSync(args.requests, 'utf8'));

  const server = https.createServer(
    { cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) },
    (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>Web eID test page</title><p>Web eID test page</p>');
    },
  );
  await listen(server, 0);
  const port = server.address().port;
  onCleanup(() => new Promise((r) => server.close(r)));
  const origin = `https://localhost:${port}`;

  const { context, worker } = await launchWithExtension(chromium, ext, onCleanup);
  const out = { extensionId: new URL(worker.url()).host, origin, results: [], console: [] };

  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => out.console.push(`${m.type()}: ${m.text()}`));
  await page.goto(`${origin}/`);
  // The content script attaches at document_end; give it a moment.
  await page.waitForTimeout(500);

  let certificate = null;
  for (const request of requests) {
    const sent = JSON.parse(JSON.stringify(request).replaceAll('"$certificate"', JSON.stringify(certificate)));
    if (!sent.libraryVersion) sent.libraryVersion = '2.1.0';
    const replies = await page.evaluate(
      ([msg, timeoutMs]) =>
        new Promise((resolve) => {
          const got = [];
          const onMessage = (ev) => {
            const a = ev.data && ev.data.action;
            if (typeof a !== 'string' || a === msg.action) return; // our own request
            got.push(ev.data);
            if (/-(success|failure)$/.test(a) || /_FAILURE$/.test(a)) {
              window.removeEventListener('message', onMessage);
              resolve(got);
            }
          };
          window.addEventListener('message', onMessage);
          window.postMessage(msg, '*');
          setTimeout(() => {
            window.removeEventListener('message', onMessage);
            got.push({ timeout: true });
            resolve(got);
          }, timeoutMs);
        }),
      [sent, Number(args['request-timeout'])],
    );
    for (const r of replies) if (r.error && r.error.stack) r.error.stack = String(r.error.stack).split('\n')[0];
    const last = replies[replies.length - 1] || {};
    if (last.action === 'web-eid:get-signing-certificate-success') certificate = last.certificate;
    out.results.push({ sent, replies });
  }
  return out;
}, { timeoutMs: Number(args.timeout) });
