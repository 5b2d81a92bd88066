#!/usr/bin/env node
// origin.mjs — from a page at a given address, connect to the agent and call one method.
// Used for "a second origin is not allowed": the agent sees that page's Origin.
//
//   node origin.mjs --page-url http://localhost:PORT/ --agent ws://127.0.0.1:29170/v1 [--method status]
//   node origin.mjs --serve PORT --agent ws://127.0.0.1:29170/v1     (serves its own tiny page on PORT)
//
// Options:
//   --page-url URL     the page to open (default with --serve: http://localhost:PORT/)
//   --serve PORT       serve a tiny page and /mohur.js on 127.0.0.1:PORT (0 = any free port)
//   --csp POLICY       with --serve: the page's Content-Security-Policy header (e.g. a
//                      connect-src that allows wss:// only, as some portals have)
//   --agent URL        the agent's WebSocket address (default ws://127.0.0.1:29170/v1)
//   --method NAME      the method to call after connect() (default status)
//   --params JSON      its params (default {})
//   --mohur-url URL    import mohur.js from there (default: agent/web/mohur.js injected through a blob: URL,
//                      so the page needs not serve it)
//   --connect-timeout MS  (default 5000)   --timeout MS  whole run (default 60000)
//
// Prints one JSON line: {"ok": bool, "code": "...", "message": "...", "result": ..., "hello": {...},
// "pageOrigin": "http://localhost:PORT", "pageUrl": "..."}; exit 0 when it could run.

import fs from 'node:fs';
import http from 'node:http';
import { parseArgs, launch, runDriver, tinyPageHandler, listen, pageConnectAndCall, MOHUR_JS } from './lib.mjs';

const args = parseArgs(process.argv.slice(2), {
  defaults: { agent: 'ws://127.0.0.1:29170/v1', method: 'status', params: '{}', 'connect-timeout': '5000', timeout: '60000' },
});

await runDriver(async ({ onCleanup }) => {
  let pageUrl = args['page-url'];
  if (args.serve !== undefined) {
    const server = http.createServer(tinyPageHandler('mohur origin test page', { csp: args.csp }));
    await listen(server, Number(args.serve));
    onCleanup(() => new Promise((r) => server.close(r)));
    if (!pageUrl) pageUrl = `http://localhost:${server.address().port}/`;
  }
  if (!pageUrl) throw new Error('give --page-url URL or --serve PORT');

  const { browser, context } = await launch();
  onCleanup(() => browser.close());
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  const resp = await page.goto(pageUrl, { waitUntil: 'load' });

  const out = await page.evaluate(pageConnectAndCall, {
    agentUrl: args.agent,
    method: args.method,
    params: JSON.parse(args.params),
    mohurUrl: args['mohur-url'],
    source: args['mohur-url'] ? undefined : fs.readFileSync(MOHUR_JS, 'utf8'),
    timeoutMs: Number(args['connect-timeout']),
  });
  return { ...out, pageUrl, pageStatus: resp ? resp.status() : null, console: consoleLines };
}, { timeoutMs: Number(args.timeout) });
