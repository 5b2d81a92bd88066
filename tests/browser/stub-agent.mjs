// A stand-in for the mohur agent: a tiny WebSocket server (no dependencies, the
// WebSocket framing is done by hand on node's http 'upgrade') that speaks enough
// of agent/PROTOCOL.md to test mohur.js and the browser drivers without the Rust agent.
//
// As a module:  const stub = await startStubAgent({port: 0, ...}); stub.url; await stub.close();
// As a CLI:     node stub-agent.mjs [--port N] [--dev] [--allowed-origins a,b] [--ask yes|no]
//                                   [--fail METHOD=CODE[:TRIES],...] [--no-hello]
//               prints {"url": "ws://127.0.0.1:N/v1", "port": N} and serves until killed.
//
// What it checks, like the agent: Host must be 127.0.0.1/localhost/[::1] with our port
// (403), Origin must be https://… or, with dev, http://localhost|127.0.0.1 (403; a
// missing Origin is allowed only with allowMissingOrigin, for node clients), path /v1 (404).
// An origin not in allowedOrigins gets hello/version and ORIGIN_NOT_ALLOWED otherwise.

import http from 'node:http';
import crypto from 'node:crypto';
import { pathToFileURL } from 'node:url';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The token `status` reports. */
export const STUB_TOKEN = {
  id: 'card:AzeDIT:AA0012345',
  type: 'card',
  profile: 'AzeDIT',
  reader: 'stub reader 00 00',
  serial: 'AA0012345',
  holder: 'ALIYEVA LEYLA',
  keys: [
    { purpose: 'auth', algorithm: 'P-384', pin: 'auth' },
    { purpose: 'sign', algorithm: 'P-384', pin: 'sign' },
  ],
  pins: [
    { kind: 'auth', state: 'ready', triesLeft: 3, maxTries: 3 },
    { kind: 'sign', state: 'ready', triesLeft: 3, maxTries: 3 },
    { kind: 'puk', state: 'ready', triesLeft: 3, maxTries: 3 },
  ],
};

const METHODS = ['version', 'request-access', 'status', 'get-certificate', 'authenticate', 'sign', 'sign-document', 'change-pin', 'unblock-pin', 'cancel'];
const FAKE_CERT = Buffer.from('stub certificate, not DER').toString('base64');

class AgentError extends Error {
  constructor(code, message, extra = {}) {
    super(message || code);
    this.code = code;
    this.extra = extra;
  }
}

/** Default handlers: plausible shapes, fake crypto. */
function defaultHandlers() {
  return {
    version: () => ({ protocol: 1, agent: '0.0.0-stub', methods: METHODS }),
    'request-access': (_p, ctx) => {
      if (ctx.stub.opts.ask === 'yes') {
        ctx.stub.allowed.add(ctx.origin);
        ctx.conn.allowed = true;
        return { allowed: true };
      }
      throw new AgentError('ORIGIN_NOT_ALLOWED', 'the citizen said no');
    },
    status: () => ({ tokens: [structuredClone(STUB_TOKEN)] }),
    'get-certificate': (p) => ({ tokenId: STUB_TOKEN.id, certificate: FAKE_CERT, algorithm: 'ES384', purpose: p.purpose }),
    authenticate: (p, ctx) => {
      if (typeof p.challengeNonce !== 'string' || p.challengeNonce.length < 44 || p.challengeNonce.length > 128) {
        throw new AgentError('BAD_REQUEST', 'challengeNonce must be 44–128 base64 characters');
      }
      return {
        unverifiedCertificate: FAKE_CERT,
        algorithm: 'ES384',
        signature: crypto.createHash('sha384').update(`${ctx.origin}|${p.challengeNonce}`).digest('base64'),
        format: 'web-eid:1.0',
        appVersion: 'https://mohur.example/releases/0.0.0-stub',
      };
    },
    sign: (p) => ({
      signature: crypto.createHash('sha384').update(String(p.hash)).digest('base64'),
      signatureAlgorithm: { cryptoAlgorithm: 'ECC', hashFunction: p.hashFunction || 'SHA-384', paddingScheme: 'NONE' },
    }),
    'sign-document': (p) => {
      const docs = p.documents || [{ name: p.name, document: p.document, digest: p.digest }];
      return {
        signatures: docs.map((d) => ({
          name: d.name,
          // Not CMS: "STUBCMS" ‖ sha256(document or digest) ‖ detached flag, base64.
          cms: Buffer.concat([
            Buffer.from('STUBCMS'),
            crypto.createHash('sha256').update(Buffer.from(d.document || d.digest || '', 'base64')).digest(),
            Buffer.from([p.detached === false && d.document ? 0 : 1]),
          ]).toString('base64'),
        })),
      };
    },
    'change-pin': () => ({ done: true }),
    'unblock-pin': () => ({ done: true }),
  };
}

// --- WebSocket framing (RFC 6455), server side -------------------------------

function encodeFrame(opcode, payload) {
  const len = payload.length;
  let head;
  if (len < 126) {
    head = Buffer.from([0x80 | opcode, len]);
  } else if (len < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode; head[1] = 126; head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode; head[1] = 127; head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

class Conn {
  constructor(stub, socket, origin) {
    this.stub = stub;
    this.socket = socket;
    this.origin = origin;
    this.allowed = origin !== null && stub.allowed.has(origin) || (origin === null && stub.opts.allowMissingOrigin === 'allowed');
    this.buf = Buffer.alloc(0);
    this.fragments = [];
    this.closed = false;
    /** id → {reject} of requests still pending (for cancel) */
    this.pending = new Map();
    socket.setNoDelay(true);
    socket.on('data', (d) => this.onData(d));
    socket.on('close', () => this.onClosed());
    socket.on('error', () => {});
  }

  sendJSON(obj) {
    if (this.closed) return;
    this.socket.write(encodeFrame(1, Buffer.from(JSON.stringify(obj))));
  }

  close(code = 1000, reason = '') {
    if (this.closed) return;
    const r = Buffer.from(reason);
    const p = Buffer.alloc(2 + r.length);
    p.writeUInt16BE(code, 0); r.copy(p, 2);
    this.socket.write(encodeFrame(8, p));
    this.closed = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 200).unref();
  }

  onClosed() {
    this.closed = true;
    this.stub.conns.delete(this);
    for (const p of this.pending.values()) p.cancel();
    this.pending.clear();
  }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const fin = (b[0] & 0x80) !== 0;
      const opcode = b[0] & 0x0f;
      const masked = (b[1] & 0x80) !== 0;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2); off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2)); off = 10;
      }
      if (len > this.stub.opts.maxMessageBytes) { this.close(1009, 'message too big'); return; }
      const need = off + (masked ? 4 : 0) + len;
      if (b.length < need) return;
      let payload = Buffer.from(b.subarray(off + (masked ? 4 : 0), need));
      if (masked) {
        const key = b.subarray(off, off + 4);
        for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
      }
      this.buf = b.subarray(need);
      if (!masked) { this.close(1002, 'client frames must be masked'); return; }
      if (opcode === 8) { this.close(1000, ''); return; }
      if (opcode === 9) { this.socket.write(encodeFrame(10, payload)); continue; }
      if (opcode === 10) continue;
      if (opcode === 2) { this.close(1003, 'text frames only'); return; }
      if (opcode === 1 || opcode === 0) {
        this.fragments.push(payload);
        if (fin) {
          const text = Buffer.concat(this.fragments).toString('utf8');
          this.fragments = [];
          this.onText(text);
        }
      }
    }
  }

  onText(text) {
    let msg;
    try { msg = JSON.parse(text); } catch (_) {
      this.sendJSON({ id: null, error: { code: 'BAD_REQUEST', message: 'malformed JSON' } });
      return;
    }
    this.stub.received.push({ origin: this.origin, msg });
    const { id, method } = msg;
    const params = msg.params || {};
    const reply = (result) => this.sendJSON({ id, result });
    const fail = (e) => {
      const err = e instanceof AgentError
        ? { code: e.code, message: e.message, ...e.extra }
        : { code: 'INTERNAL', message: String(e && e.message || e) };
      this.sendJSON({ id, error: err });
    };
    if (method === 'cancel') {
      const p = this.pending.get(params.requestId);
      if (p) { p.cancel(); reply({ cancelled: true }); } else reply({ cancelled: false });
      return;
    }
    if (method !== 'version' && method !== 'hello' && !this.allowed && method !== 'request-access') {
      fail(new AgentError('ORIGIN_NOT_ALLOWED', `origin ${this.origin} is not allowed`));
      return;
    }
    const fails = this.stub.opts.fail || {};
    const handler = this.stub.handlers[method];
    if (!handler) { fail(new AgentError('UNKNOWN_METHOD', `no method ${method}`)); return; }
    let cancel;
    const cancelled = new Promise((_, rej) => { cancel = () => rej(new AgentError('USER_CANCELLED', 'cancelled by the page')); });
    cancelled.catch(() => {});
    this.pending.set(id, { cancel });
    const ctx = { origin: this.origin, conn: this, stub: this.stub, cancelled };
    Promise.race([
      Promise.resolve().then(() => {
        if (fails[method]) {
          const [code, tries] = fails[method].split(':');
          throw new AgentError(code, `stub failure ${code}`, tries !== undefined ? { triesLeft: Number(tries) } : {});
        }
        return handler(params, ctx);
      }),
      cancelled,
    ]).then(reply, fail).finally(() => this.pending.delete(id));
  }
}

/**
 * Starts a stub agent.
 * @param {object} [opts]
 * @param {number} [opts.port] 0 = any free port
 * @param {boolean} [opts.dev] accept http://localhost|127.0.0.1 origins in the handshake
 * @param {string[]} [opts.allowedOrigins] origins that may use tokens
 * @param {boolean|'allowed'} [opts.allowMissingOrigin] accept a handshake without Origin (node clients); 'allowed' also allows it
 * @param {'yes'|'no'} [opts.ask] how request-access is answered
 * @param {Record<string,string>} [opts.fail] method → "CODE[:triesLeft]" to fail with
 * @param {boolean} [opts.hello] send hello (default true)
 * @param {Record<string, Function>} [opts.handlers] override method handlers: (params, ctx) → result | Promise; throw stubError(...)
 * @returns {Promise<{url: string, port: number, received: object[], conns: Set<Conn>, broadcast: Function, dropAll: Function, close: Function, allowed: Set<string>}>}
 */
export async function startStubAgent(opts = {}) {
  const o = { port: 0, dev: false, allowedOrigins: [], allowMissingOrigin: false, ask: 'no', fail: {}, hello: true, maxMessageBytes: 10 * 1024 * 1024, ...opts };
  const server = http.createServer((req, res) => { res.writeHead(426, { 'content-type': 'text/plain' }); res.end('upgrade required'); });
  const stub = {
    opts: o,
    handlers: { ...defaultHandlers(), ...(o.handlers || {}) },
    allowed: new Set(o.allowedOrigins),
    conns: new Set(),
    received: [],
    /** Sends an event to every connection of an allowed origin. */
    broadcast(ev) { for (const c of stub.conns) if (c.allowed) c.sendJSON(ev); },
    /** Drops every connection without a close frame (like a crash). */
    dropAll() { for (const c of stub.conns) c.socket.destroy(); },
    close() {
      for (const c of stub.conns) c.socket.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
  server.on('upgrade', (req, socket) => {
    const refuse = (status, text) => {
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
    };
    const port = server.address().port;
    const host = String(req.headers.host || '').toLowerCase();
    if (![`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host)) return refuse(403, 'host not allowed');
    const origin = req.headers.origin === undefined ? null : String(req.headers.origin);
    const originOk = origin === null
      ? !!o.allowMissingOrigin
      : /^https:\/\/[^/]+$/.test(origin) || (o.dev && /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?$/.test(origin));
    if (!originOk) return refuse(403, 'origin not allowed');
    if (req.url !== '/v1') return refuse(404, 'not found');
    const key = req.headers['sec-websocket-key'];
    if (!key || String(req.headers.upgrade).toLowerCase() !== 'websocket') return refuse(400, 'bad upgrade');
    const accept = crypto.createHash('sha1').update(key + GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const conn = new Conn(stub, socket, origin);
    stub.conns.add(conn);
    if (o.hello) conn.sendJSON({ event: 'hello', protocol: 1, agent: '0.0.0-stub', originAllowed: conn.allowed });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', resolve);
  });
  stub.port = server.address().port;
  stub.url = `ws://127.0.0.1:${stub.port}/v1`;
  stub.server = server;
  return stub;
}

/** An error a custom handler can throw: stubError('PIN_INCORRECT', {triesLeft: 2}). */
export function stubError(code, extra = {}, message) {
  return new AgentError(code, message, extra);
}

// --- CLI ------------------------------------------------------------------------
if (import.meta.url === pathToFileURL(process.argv[1] || '').href) {
  const args = process.argv.slice(2);
  const opts = { port: 29170 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = () => args[++i];
    if (a === '--port') opts.port = Number(next());
    else if (a === '--dev') opts.dev = true;
    else if (a === '--allowed-origins') opts.allowedOrigins = next().split(',').filter(Boolean);
    else if (a === '--ask') opts.ask = next();
    else if (a === '--allow-missing-origin') opts.allowMissingOrigin = 'allowed';
    else if (a === '--no-hello') opts.hello = false;
    else if (a === '--fail') opts.fail = Object.fromEntries(next().split(',').map((kv) => kv.split('=')));
    else { console.error(`unknown argument ${a}`); process.exit(2); }
  }
  const stub = await startStubAgent(opts);
  console.log(JSON.stringify({ url: stub.url, port: stub.port }));
  const stop = () => stub.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
