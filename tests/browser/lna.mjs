#!/usr/bin/env node
// lna.mjs — a *public* https page (as Chromium sees it) reaching the agent on loopback:
// Chromium's Local Network Access checks block it unless the site was granted
// 'local-network-access'. This is how real portals meet mohur.
//
//   node lna.mjs --agent ws://127.0.0.1:29170/v1 [--grant] [--port N]
//
// It makes a self-signed certificate for portal.example.test (openssl CLI, temp dir),
// serves a tiny page + /mohur.js over https on 127.0.0.1:PORT, launches Chromium with
//   --ip-address-space-overrides=127.0.0.1:PORT=public
//   --host-resolver-rules=MAP portal.example.test 127.0.0.1
// opens https://portal.example.test:PORT/ (certificate errors ignored), optionally grants
// Local Network Access to that origin, and runs connect() + the method in the page.
// The agent must allow that origin: pick the port with --port N and configure the agent
// (allowed_origins = ["https://portal.example.test:N"]) before running this.
//
// Options:
//   --agent URL    (default ws://127.0.0.1:29170/v1)
//   --port N       https port (default: a free one)
//   --host NAME    (default portal.example.test)
//   --grant        grant 'local-network-access' to the page's origin
//   --http         serve the page over plain http instead (a public http page can never reach
//                  the agent, granted or not)
//   --method NAME  (default version)   --params JSON (default {})
//   --connect-timeout MS (default 5000)   --timeout MS whole run (default 60000)
//
// Prints one JSON line: {"origin": "https://portal.example.test:N", "ok": bool, "code": "...",
// "granted": bool, "result": ..., "hello": ..., "console": [...]}; exit 0 when it could run.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import https from 'node:https';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { parseArgs, launch, runDriver, tinyPageHandler, listen, freePort, pageConnectAndCall } from './lib.mjs';

const args = parseArgs(process.argv.slice(2), {
  flags: ['grant', 'http'],
  defaults: { agent: 'ws://127.0.0.1:29170/v1', host: 'portal.example.test', method: 'version', params: '{}', 'connect-timeout': '5000', timeout: '60000' },
});

/** Self-signed certificate for `host` in a fresh temp dir. */
function makeCert(host, onCleanup) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mohur-lna-'));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${host}`,
    '-addext', `subjectAltName=DNS:${host}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
}

await runDriver(async ({ onCleanup }) => {
  const host = args.host;
  const port = args.port !== undefined ? Number(args.port) : await freePort();
  const scheme = args.http ? 'http' : 'https';
  const origin = `${scheme}://${host}:${port}`;

  const server = args.http
    ? http.createServer(tinyPageHandler('mohur LNA test page'))
    : https.createServer(makeCert(host, onCleanup), tinyPageHandler('mohur LNA test page'));
  await listen(server, port);
  onCleanup(() => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }));

  const { browser, context } = await launch({
    extraArgs: [
      `--ip-address-space-overrides=127.0.0.1:${port}=public`,
      `--host-resolver-rules=MAP ${host} 127.0.0.1`,
    ],
    contextOptions: { ignoreHTTPSErrors: true },
  });
  onCleanup(() => browser.close());
  let granted = false;
  let grantError;
  if (args.grant) {
    try {
      await context.grantPermissions(['local-network-access'], { origin });
      granted = true;
    } catch (e) {
      // Chromium refuses the permission for an insecure (http) origin.
      grantError = e.message.split('\n')[0];
    }
  }

  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(`${origin}/`, { waitUntil: 'load' });

  const out = await page.evaluate(pageConnectAndCall, {
    agentUrl: args.agent,
    method: args.method,
    params: JSON.parse(args.params),
    mohurUrl: '/mohur.js',
    timeoutMs: Number(args['connect-timeout']),
  });
  const { pageOrigin, ...rest } = out;
  return {
    origin,
    ok: rest.ok,
    code: rest.code,
    granted,
    ...(grantError ? { grantError } : {}),
    pageOrigin,
    blockedByLna: consoleLines.some((l) => l.includes('ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS')),
    ...rest,
    console: consoleLines,
  };
}, { timeoutMs: Number(args.timeout) });
