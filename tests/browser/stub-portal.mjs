// A stand-in for the Rust demo server: serves agent/web/demo (index.html, demo.js,
// style.css), /mohur.js and /config.json exactly at the paths the Rust server must use,
// and fakes /api/nonce, /api/login and /api/verify (no crypto: it only checks shapes).
// Used to check the demo page and portal.mjs against stub-agent.mjs.
//
//   node stub-portal.mjs --agent ws://127.0.0.1:N/v1 [--port P] [--login-error TEXT]
//   prints {"url": "http://localhost:P/", "origin": "http://localhost:P"} and serves until killed.

import fs from 'node:fs';
import http from 'node:http';
import crypto from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MOHUR_JS, DEMO_DIR, listen, parseArgs } from './lib.mjs';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/**
 * @param {{port?: number, agentUrl: string, loginError?: string}} opts
 * @returns {Promise<{url: string, origin: string, close: () => Promise<void>, nonces: Set<string>}>}
 */
export async function startStubPortal({ port = 0, agentUrl, loginError } = {}) {
  const nonces = new Set();
  let origin = '';
  const files = {
    '/': path.join(DEMO_DIR, 'index.html'),
    '/index.html': path.join(DEMO_DIR, 'index.html'),
    '/demo.js': path.join(DEMO_DIR, 'demo.js'),
    '/style.css': path.join(DEMO_DIR, 'style.css'),
    '/mohur.js': MOHUR_JS,
  };
  const json = (res, status, obj) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(obj));
  };
  const body = (req) => new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null')); } catch (_) { resolve(undefined); }
    });
  });
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (req.method === 'GET' && files[url.pathname]) {
      res.writeHead(200, { 'content-type': TYPES[path.extname(files[url.pathname])], 'cache-control': 'no-store' });
      res.end(fs.readFileSync(files[url.pathname]));
    } else if (req.method === 'GET' && url.pathname === '/config.json') {
      json(res, 200, { agentUrl, origin });
    } else if (req.method === 'POST' && url.pathname === '/api/nonce') {
      const nonce = crypto.randomBytes(32).toString('base64');
      nonces.add(nonce);
      json(res, 200, { nonce });
    } else if (req.method === 'POST' && url.pathname === '/api/login') {
      const b = await body(req);
      if (!b || !b.authToken || b.authToken.format !== 'web-eid:1.0' || !nonces.delete(b.nonce)) {
        json(res, 400, { error: 'bad authentication token or nonce' });
      } else if (loginError) {
        json(res, 403, { error: loginError });
      } else {
        json(res, 200, { name: 'LEYLA ALIYEVA', country: 'AZ', personalCode: 'AA0012345' });
      }
    } else if (req.method === 'POST' && url.pathname === '/api/verify') {
      const b = await body(req);
      if (!b || typeof b.cms !== 'string' || !('document' in b)) {
        json(res, 400, { error: 'expected {"cms", "document"}' });
      } else {
        const cms = Buffer.from(b.cms, 'base64');
        json(res, 200, {
          signer: 'ALIYEVA LEYLA',
          signingTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          sha256: cms.subarray(7, 39).toString('hex'), // the stub agent's fake CMS carries it
        });
      }
    } else {
      json(res, 404, { error: 'not found' });
    }
  });
  await listen(server, port);
  const p = server.address().port;
  origin = `http://localhost:${p}`;
  return {
    url: `${origin}/`,
    origin,
    nonces,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] || '').href) {
  const a = parseArgs(process.argv.slice(2), { defaults: { port: '0' } });
  if (!a.agent) {
    console.error('usage: node stub-portal.mjs --agent ws://127.0.0.1:N/v1 [--port P] [--login-error TEXT]');
    process.exit(2);
  }
  const s = await startStubPortal({ port: Number(a.port), agentUrl: a.agent, loginError: a['login-error'] });
  console.log(JSON.stringify({ url: s.url, origin: s.origin }));
  const stop = () => s.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
