// Unit tests of agent/web/mohur.js against the stub agent (stub-agent.mjs).
// Run: node --experimental-websocket --test tests/browser/mohur.test.mjs
// (Node 22+ has a global WebSocket and needs no flag.)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startStubAgent, stubError } from './stub-agent.mjs';
import { connect, MohurError, bytesToBase64, base64ToBytes } from '../../agent/web/mohur.js';

if (typeof globalThis.WebSocket !== 'function') {
  throw new Error('no global WebSocket: run node with --experimental-websocket (Node 20) or use Node 22+');
}

/** Waits until cond() is true (polling), or fails after ms. */
async function until(cond, ms = 2000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A port nothing listens on. */
async function deadPort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

let stub;
let release; // resolves the "slow" handler
before(async () => {
  stub = await startStubAgent({
    allowMissingOrigin: 'allowed', // node's WebSocket sends no Origin
    fail: { 'change-pin': 'PIN_INCORRECT:2', 'unblock-pin': 'PUK_BLOCKED' },
    handlers: {
      // answers only after release(), so that a later request overtakes it
      'get-certificate': () => new Promise((r) => { release = () => r({ tokenId: 't', certificate: 'Y2VydA==', algorithm: 'ES384' }); }),
      // never answers: only a cancel or a disconnect ends it
      'request-access': (_p, ctx) => ctx.cancelled,
      authenticate: (p) => {
        if (p.challengeNonce === 'A'.repeat(44)) throw stubError('PIN_INCORRECT', { triesLeft: 1 }, 'wrong PIN');
        return { format: 'web-eid:1.0', nonce: p.challengeNonce };
      },
    },
  });
});
after(async () => {
  await stub.close();
});

test('connect waits for hello', async () => {
  const c = await connect({ url: stub.url });
  assert.equal(c.hello.event, 'hello');
  assert.equal(c.hello.protocol, 1);
  assert.equal(c.originAllowed, true);
  assert.equal(c.connected, true);
  const v = await c.version();
  assert.equal(v.protocol, 1);
  assert.ok(v.methods.includes('sign-document'));
  c.close();
  assert.equal(c.connected, false);
});

test('responses are matched by id, in any order', async () => {
  const c = await connect({ url: stub.url });
  const start = stub.received.length;
  const slow = c.getCertificate('auth');
  const fast = c.status();
  const st = await fast; // answered while get-certificate still waits
  assert.equal(st.tokens[0].holder, 'ALIYEVA LEYLA');
  await until(() => typeof release === 'function');
  release();
  const cert = await slow;
  assert.equal(cert.certificate, 'Y2VydA==');
  const sent = stub.received.slice(start).map((r) => r.msg);
  assert.deepEqual(sent.map((m) => m.method), ['get-certificate', 'status']);
  assert.equal(typeof sent[0].id, 'number');
  assert.notEqual(sent[0].id, sent[1].id);
  assert.deepEqual(sent[0].params, { purpose: 'auth' });
  assert.equal('params' in sent[1], false, 'empty params are omitted');
  c.close();
});

test('agent errors become MohurError with code and triesLeft', async () => {
  const c = await connect({ url: stub.url });
  await assert.rejects(c.authenticate('A'.repeat(44)), (e) => {
    assert.ok(e instanceof MohurError);
    assert.ok(e instanceof Error);
    assert.equal(e.code, 'PIN_INCORRECT');
    assert.equal(e.triesLeft, 1);
    assert.equal(e.message, 'wrong PIN');
    assert.equal(e.details.code, 'PIN_INCORRECT');
    return true;
  });
  await assert.rejects(c.changePin('sign'), { code: 'PIN_INCORRECT', triesLeft: 2 });
  await assert.rejects(c.unblockPin('sign'), (e) => e.code === 'PUK_BLOCKED' && e.triesLeft === undefined);
  await assert.rejects(c.request('no-such-method'), { code: 'UNKNOWN_METHOD' });
  const ok = await c.authenticate('B'.repeat(44));
  assert.equal(ok.nonce, 'B'.repeat(44));
  c.close();
});

test('abort sends cancel {requestId} and rejects with USER_CANCELLED', async () => {
  const c = await connect({ url: stub.url });
  const ac = new AbortController();
  const start = stub.received.length;
  const p = c.requestAccess({ signal: ac.signal });
  await until(() => stub.received.slice(start).some((r) => r.msg.method === 'request-access'));
  ac.abort();
  await assert.rejects(p, { code: 'USER_CANCELLED' });
  await until(() => stub.received.slice(start).some((r) => r.msg.method === 'cancel'));
  const sent = stub.received.slice(start).map((r) => r.msg);
  const req = sent.find((m) => m.method === 'request-access');
  const cancel = sent.find((m) => m.method === 'cancel');
  assert.deepEqual(cancel.params, { requestId: req.id });
  assert.notEqual(cancel.id, req.id);
  // an already aborted signal sends nothing
  const before = stub.received.length;
  await assert.rejects(c.status({ signal: AbortSignal.abort() }), { code: 'USER_CANCELLED' });
  // the connection still works
  assert.equal((await c.version()).protocol, 1);
  assert.equal(stub.received.length, before + 1);
  c.close();
});

test('a closing socket rejects pending requests with AGENT_DISCONNECTED', async () => {
  const c = await connect({ url: stub.url });
  const closed = new Promise((r) => c.on('close', r));
  const start = stub.received.length;
  const p1 = c.requestAccess();
  const p2 = c.requestAccess();
  await until(() => stub.received.length >= start + 2);
  stub.dropAll();
  await assert.rejects(p1, { code: 'AGENT_DISCONNECTED' });
  await assert.rejects(p2, { code: 'AGENT_DISCONNECTED' });
  const info = await closed;
  assert.equal(typeof info.code, 'number');
  assert.equal(c.connected, false);
  await assert.rejects(c.status(), { code: 'AGENT_DISCONNECTED' });
});

test('close() rejects pending requests too', async () => {
  const c = await connect({ url: stub.url });
  const p = c.requestAccess();
  c.close();
  await assert.rejects(p, { code: 'AGENT_DISCONNECTED' });
});

test('AGENT_UNREACHABLE: nothing listening', async () => {
  const port = await deadPort();
  await assert.rejects(connect({ url: `ws://127.0.0.1:${port}/v1` }), (e) => {
    assert.ok(e instanceof MohurError);
    assert.equal(e.code, 'AGENT_UNREACHABLE');
    return true;
  });
});

test('AGENT_UNREACHABLE: handshake refused (HTTP 403/404)', async () => {
  const strict = await startStubAgent({ allowMissingOrigin: false });
  try {
    await assert.rejects(connect({ url: strict.url }), { code: 'AGENT_UNREACHABLE' }); // no Origin: 403
  } finally {
    await strict.close();
  }
  await assert.rejects(connect({ url: stub.url.replace('/v1', '/v2') }), { code: 'AGENT_UNREACHABLE' }); // 404
  await assert.rejects(connect({ url: 'not a url' }), { code: 'AGENT_UNREACHABLE' });
});

test('AGENT_UNREACHABLE: no hello within timeoutMs', async () => {
  const mute = await startStubAgent({ allowMissingOrigin: 'allowed', hello: false });
  try {
    const t0 = Date.now();
    await assert.rejects(connect({ url: mute.url, timeoutMs: 300 }), (e) => e.code === 'AGENT_UNREACHABLE' && e.details.timeout === true);
    assert.ok(Date.now() - t0 < 3000);
  } finally {
    await mute.close();
  }
});

test('origin not allowed: hello says so, version works, status is refused', async () => {
  const s = await startStubAgent({ allowMissingOrigin: true });
  try {
    const c = await connect({ url: s.url });
    assert.equal(c.hello.originAllowed, false);
    assert.equal(c.originAllowed, false);
    assert.equal((await c.version()).protocol, 1);
    await assert.rejects(c.status(), { code: 'ORIGIN_NOT_ALLOWED' });
    c.close();
  } finally {
    await s.close();
  }
});

test('token events reach on() listeners; off() stops them', async () => {
  const c = await connect({ url: stub.url });
  const got = [];
  const off = c.on('token-inserted', (ev) => got.push(ev));
  c.on('token-removed', (ev) => got.push(ev));
  stub.broadcast({ event: 'token-inserted', token: { id: 'card:X:1' } });
  stub.broadcast({ event: 'token-removed', tokenId: 'card:X:1' });
  await until(() => got.length === 2);
  assert.equal(got[0].token.id, 'card:X:1');
  assert.equal(got[1].tokenId, 'card:X:1');
  off();
  stub.broadcast({ event: 'token-inserted', token: { id: 'card:X:2' } });
  await c.version(); // the event above arrived before this answer
  assert.equal(got.length, 2);
  c.close();
});

test('signDocuments base64-encodes data and passes digests', async () => {
  const c = await connect({ url: stub.url });
  const start = stub.received.length;
  const bytes = new TextEncoder().encode('hello, world\n');
  const digest = new Uint8Array(32).fill(7);
  const r = await c.signDocuments([
    { name: 'a.txt', data: bytes },
    { name: 'b.bin', data: bytes.buffer },
    { name: 'c.txt', data: 'hello, world\n' },
    { name: 'd.pdf', digest, hashFunction: 'SHA-256' },
  ], { detached: false });
  assert.equal(r.signatures.length, 4);
  const m = stub.received.slice(start).find((x) => x.msg.method === 'sign-document').msg;
  assert.equal(m.params.format, 'cms');
  assert.equal(m.params.detached, false);
  assert.deepEqual(m.params.documents[0], { name: 'a.txt', document: 'aGVsbG8sIHdvcmxkCg==' });
  assert.equal(m.params.documents[1].document, 'aGVsbG8sIHdvcmxkCg==');
  assert.equal(m.params.documents[2].document, 'aGVsbG8sIHdvcmxkCg==');
  assert.deepEqual(m.params.documents[3], { name: 'd.pdf', digest: bytesToBase64(digest), hashFunction: 'SHA-256' });
  // default: detached
  await c.signDocuments([{ name: 'a', data: bytes }]);
  assert.equal(stub.received.at(-1).msg.params.detached, true);
  await assert.rejects(c.signDocuments([]), { code: 'BAD_REQUEST' });
  await assert.rejects(c.signDocuments([{ name: 'x' }]), { code: 'BAD_REQUEST' });
  c.close();
});

test('large documents are hashed in the page and only their SHA-256 is sent', async () => {
  const { createHash } = await import('node:crypto');
  const c = await connect({ url: stub.url });
  const big = new Uint8Array(3000).map((_, i) => i % 251);
  const sha = createHash('sha256').update(big).digest('base64');
  await c.signDocuments([
    { name: 'big.pdf', data: big },
    { name: 'big.txt', data: new Blob([big]) },
    { name: 'small.txt', data: 'tiny' },
  ], { largeDocumentBytes: 1000 });
  const docs = stub.received.at(-1).msg.params.documents;
  assert.deepEqual(docs[0], { name: 'big.pdf', digest: sha, hashFunction: 'SHA-256' });
  assert.deepEqual(docs[1], { name: 'big.txt', digest: sha, hashFunction: 'SHA-256' });
  assert.deepEqual(docs[2], { name: 'small.txt', document: bytesToBase64(new TextEncoder().encode('tiny')) });
  // An embedded (not detached) signature needs the document itself.
  await c.signDocuments([{ name: 'big.pdf', data: big }], { largeDocumentBytes: 1000, detached: false });
  assert.equal(stub.received.at(-1).msg.params.documents[0].document, bytesToBase64(big));
  c.close();
});

test('PDFs for PAdES and files for ASiC-E are sent whole, whatever their size, without detached', async () => {
  const c = await connect({ url: stub.url });
  const big = new Uint8Array(3000).map((_, i) => i % 251);
  await c.signDocuments([{ name: 'big.pdf', data: big }], { format: 'pades', level: 'T', largeDocumentBytes: 1000 });
  const m = stub.received.at(-1).msg;
  assert.deepEqual(m.params, { documents: [{ name: 'big.pdf', document: bytesToBase64(big) }], format: 'pades', level: 'T' });
  await c.signDocuments([{ name: 'big.pdf', data: big }], { format: 'pades', visiblePage: 2, largeDocumentBytes: 1000 });
  assert.equal(stub.received.at(-1).msg.params.visiblePage, 2);
  await c.signDocuments([{ name: 'a.txt', data: big }, { name: 'b.txt', data: 'b' }], { format: 'asice', containerName: 'ab.asice', largeDocumentBytes: 1000 });
  assert.deepEqual(stub.received.at(-1).msg.params, {
    documents: [{ name: 'a.txt', document: bytesToBase64(big) }, { name: 'b.txt', document: 'Yg==' }],
    format: 'asice',
    containerName: 'ab.asice',
  });
  // A visible page is a PDF's: not sent for a container.
  await c.signDocuments([{ name: 'a.txt', data: 'a' }], { format: 'asice', visiblePage: 2 });
  assert.equal(stub.received.at(-1).msg.params.visiblePage, undefined);
  const before = stub.received.length;
  await assert.rejects(c.signDocuments([{ name: 'x.pdf', digest: new Uint8Array(32) }], { format: 'pades' }), { code: 'BAD_REQUEST' });
  await assert.rejects(c.signDocuments([{ name: 'x.pdf', data: big }], { format: 'xades' }), { code: 'BAD_REQUEST' });
  await assert.rejects(c.signDocuments([{ name: 'x.txt', digest: new Uint8Array(32) }], { format: 'asice' }), { code: 'BAD_REQUEST' });
  assert.equal(stub.received.length, before);
  c.close();
});

test('sign() accepts bytes or base64 for hash and certificate', async () => {
  const c = await connect({ url: stub.url });
  const hash = new Uint8Array(48).fill(1);
  const r = await c.sign({ hash, hashFunction: 'SHA-384', certificate: 'Y2VydA==', name: 'x.pdf' });
  assert.equal(r.signatureAlgorithm.cryptoAlgorithm, 'ECC');
  const m = stub.received.at(-1).msg;
  assert.deepEqual(m.params, { hash: bytesToBase64(hash), hashFunction: 'SHA-384', certificate: 'Y2VydA==', name: 'x.pdf' });
  c.close();
});

test('a request over the frame limit is not sent', async () => {
  const c = await connect({ url: stub.url, maxMessageBytes: 1000 });
  const before = stub.received.length;
  await assert.rejects(c.signDocuments([{ name: 'big', data: new Uint8Array(2000) }]), { code: 'MESSAGE_TOO_LARGE' });
  assert.equal(stub.received.length, before);
  assert.equal((await c.version()).protocol, 1);
  c.close();
});

test('base64 helpers round-trip (also URL-safe and large inputs)', () => {
  const big = new Uint8Array(200000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  assert.deepEqual(base64ToBytes(bytesToBase64(big)), big);
  assert.equal(bytesToBase64(new Uint8Array([0xfb, 0xff])), '+/8=');
  assert.deepEqual(base64ToBytes('-_8'), new Uint8Array([0xfb, 0xff]));
  assert.equal(bytesToBase64(new Uint16Array([0x0102]).subarray(0)), 'AgE=');
});

test('MohurError serialises to JSON with its code', () => {
  const e = MohurError.fromAgent({ code: 'PIN_INCORRECT', message: 'wrong PIN', triesLeft: 2 });
  assert.deepEqual(JSON.parse(JSON.stringify(e)), { code: 'PIN_INCORRECT', message: 'wrong PIN', triesLeft: 2 });
});
