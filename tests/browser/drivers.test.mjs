// Checks the browser drivers (portal.mjs, origin.mjs, lna.mjs) and the demo page in
// headless Chromium against the stand-ins (stub-agent.mjs, stub-portal.mjs), so that
// they keep working while the real agent's tests are not running.
// Run: node --experimental-websocket --test tests/browser/drivers.test.mjs   (~20 s)
// Skipped when Chromium or playwright-core is missing (scripts/browser-deps.sh).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { startStubAgent } from './stub-agent.mjs';
import { startStubPortal } from './stub-portal.mjs';
import { HERE, CHROMIUM, freePort, launch } from './lib.mjs';

let skip = false;
if (!fs.existsSync(CHROMIUM)) skip = `${CHROMIUM} not installed`;
else if (!fs.existsSync(path.join(HERE, 'node_modules/playwright-core'))) skip = 'playwright-core not installed (scripts/browser-deps.sh)';

/** Runs a driver; resolves with {code, json, stderr}. */
function driver(script, args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(HERE, script), ...args], { timeout: 90000 }, (err, stdout, stderr) => {
      const lines = stdout.trim().split('\n');
      let json = null;
      try { json = JSON.parse(lines.at(-1)); } catch (_) { /* leave null */ }
      resolve({ code: err ? err.code ?? 1 : 0, json, lines: lines.length, stderr });
    });
  });
}

let agent;
let portal;
let failing; // agent whose sign-document fails with PIN_INCORRECT
let failingPortal;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mohur-drivers-'));

before(async () => {
  if (skip) return;
  const portalPort = await freePort();
  agent = await startStubAgent({ dev: true, allowedOrigins: [`http://localhost:${portalPort}`] });
  portal = await startStubPortal({ port: portalPort, agentUrl: agent.url });
  const p2 = await freePort();
  failing = await startStubAgent({ dev: true, allowedOrigins: [`http://localhost:${p2}`], fail: { 'sign-document': 'PIN_INCORRECT:2' } });
  failingPortal = await startStubPortal({ port: p2, agentUrl: failing.url, loginError: 'certificate revoked' });
});

after(async () => {
  if (skip) return;
  await Promise.all([agent.close(), portal.close(), failing.close(), failingPortal.close()]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('portal.mjs: login and sign succeed', { skip }, async () => {
  const shot = path.join(tmp, 'ok.png');
  const p7s = path.join(tmp, 'doc.p7s');
  const r = await driver('portal.mjs', ['--url', portal.url, '--screenshot', shot, '--save-cms', p7s, '--document-name', 'doc.txt', '--document-text', 'hello']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.lines, 1, 'exactly one line on stdout');
  const j = r.json;
  assert.equal(j.agentState, 'connected');
  assert.match(j.tokens, /ALIYEVA LEYLA/);
  assert.match(j.tokens, /3 of 3 tries left/);
  assert.match(j.login, /^Welcome, LEYLA ALIYEVA!/);
  // sha256("hello") travels page → agent (base64) → CMS → /api/verify → page
  assert.match(j.sign, /2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824/);
  assert.ok(j.cms && j.cms.length > 10);
  assert.equal(j.error, null);
  assert.deepEqual(j.steps, { login: 'ok', sign: 'ok' });
  assert.equal(j.download.suggested, 'doc.txt.p7s');
  assert.deepEqual(fs.readFileSync(p7s), Buffer.from(j.cms, 'base64'));
  assert.ok(fs.statSync(shot).size > 1000);
  const sent = agent.received.map((x) => x.msg.method);
  assert.ok(sent.includes('authenticate') && sent.includes('sign-document'));
  const sd = agent.received.find((x) => x.msg.method === 'sign-document').msg.params;
  assert.equal(sd.detached, false);
  assert.deepEqual(sd.documents, [{ name: 'doc.txt', document: Buffer.from('hello').toString('base64') }]);
  // the agent saw the page's origin
  assert.ok(agent.received.every((x) => x.origin === portal.origin));
});

test('portal.mjs: errors are reported with their code', { skip }, async () => {
  const r = await driver('portal.mjs', ['--url', failingPortal.url]);
  assert.equal(r.code, 0, r.stderr);
  const j = r.json;
  assert.deepEqual(j.steps, { login: 'error', sign: 'error' });
  assert.equal(j.errorCode, 'HTTP_403');
  assert.match(j.errors.login, /certificate revoked/);
  assert.match(j.errors.sign, /^PIN_INCORRECT \(2 tries left\)/);
  assert.equal(j.cms, null);
});

test('portal.mjs: agent not running', { skip }, async () => {
  const dead = await startStubPortal({ agentUrl: `ws://127.0.0.1:${await freePort()}/v1` });
  try {
    const r = await driver('portal.mjs', ['--url', dead.url, '--connect-timeout', '2000']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.agentState, 'unreachable');
    assert.match(r.json.agentStateText, /mohur agent/);
    assert.deepEqual(r.json.steps, { login: 'skipped', sign: 'skipped' });
  } finally {
    await dead.close();
  }
});

test('origin.mjs: allowed origin, second origin, refused handshake', { skip }, async () => {
  const port = Number(new URL(portal.url).port);
  // the portal's own origin: allowed (the stub portal serves /mohur.js too)
  let r = await driver('origin.mjs', ['--page-url', portal.url, '--agent', agent.url, '--mohur-url', '/mohur.js']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.ok, true);
  assert.equal(r.json.pageOrigin, `http://localhost:${port}`);
  assert.equal(r.json.result.tokens[0].holder, 'ALIYEVA LEYLA');
  // another localhost port: handshake passes (dev), but the origin is not allowed
  r = await driver('origin.mjs', ['--serve', '0', '--agent', agent.url]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.ok, false);
  assert.equal(r.json.code, 'ORIGIN_NOT_ALLOWED');
  assert.equal(r.json.hello.originAllowed, false);
  r = await driver('origin.mjs', ['--serve', '0', '--agent', agent.url, '--method', 'version']);
  assert.equal(r.json.ok, true);
  // not in dev mode: an http origin is refused at the handshake → AGENT_UNREACHABLE
  const strict = await startStubAgent({});
  try {
    r = await driver('origin.mjs', ['--serve', '0', '--agent', strict.url]);
    assert.equal(r.json.ok, false);
    assert.equal(r.json.code, 'AGENT_UNREACHABLE');
    assert.ok(r.json.console.some((l) => l.includes('403')), r.json.console.join('\n'));
  } finally {
    await strict.close();
  }
});

test('lna.mjs: a public https page needs the Local Network Access grant', { skip }, async () => {
  const port = await freePort();
  const origin = `https://portal.example.test:${port}`;
  const lnaAgent = await startStubAgent({ allowedOrigins: [origin] });
  try {
    let r = await driver('lna.mjs', ['--agent', lnaAgent.url, '--port', String(port)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.origin, origin);
    assert.equal(r.json.ok, false);
    assert.equal(r.json.code, 'AGENT_UNREACHABLE');
    assert.equal(r.json.blockedByLna, true);
    r = await driver('lna.mjs', ['--agent', lnaAgent.url, '--port', String(port), '--grant', '--method', 'status']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.ok, true, JSON.stringify(r.json));
    assert.equal(r.json.result.tokens.length, 1);
    assert.ok(lnaAgent.received.some((x) => x.origin === origin));
    // plain http: never, granted or not
    r = await driver('lna.mjs', ['--agent', lnaAgent.url, '--grant', '--http']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.ok, false);
    assert.equal(r.json.granted, false);
    assert.equal(r.json.blockedByLna, true);
  } finally {
    await lnaAgent.close();
  }
});

test('demo page: token events and reconnecting', { skip }, async () => {
  const { browser, context } = await launch();
  try {
    const page = await context.newPage();
    await page.goto(portal.url);
    await page.waitForSelector('#agent-state[data-state="connected"]');
    await page.waitForSelector('#tokens li[data-token-id="card:AzeDIT:AA0012345"]');
    agent.broadcast({ event: 'token-removed', tokenId: 'card:AzeDIT:AA0012345' });
    await page.waitForSelector('#tokens li.empty');
    agent.broadcast({
      event: 'token-inserted',
      token: { id: 'pkcs11:ci-token', type: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', serial: 'ci-token', pins: [{ kind: 'sign', state: 'blocked', triesLeft: 0, maxTries: 10 }] },
    });
    await page.waitForSelector('#tokens li[data-token-id="pkcs11:ci-token"] li[data-state="blocked"]');
    // the agent goes away: the page says so, then reconnects by itself
    agent.dropAll();
    await page.waitForSelector('#agent-state[data-state="unreachable"]', { state: 'attached' });
    assert.match(await page.locator('#agent-state').innerText(), /mohur agent/);
    assert.equal(await page.locator('#login-button').isDisabled(), true);
    await page.waitForSelector('#agent-state[data-state="connected"]', { timeout: 10000 });
    assert.equal(await page.locator('#login-button').isDisabled(), false);
    assert.equal(await page.locator('#origin-hint').isVisible(), false);
    // opened at another origin than the configured one: the page says so
    await page.goto(portal.url.replace('localhost', '127.0.0.1'));
    await page.waitForSelector('#origin-hint', { state: 'visible' });
    assert.match(await page.locator('#origin-hint').innerText(), new RegExp(portal.origin));
  } finally {
    await browser.close();
  }
});
