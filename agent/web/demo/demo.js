// The demo portal's page logic: connects to the mohur agent with /mohur.js, logs in
// with a Web eID authentication token verified by the demo server, signs a text
// document as CMS and a chosen PDF in itself (PAdES), which the demo server verifies.
//
// The server serves: /config.json {"agentUrl", "origin"}, /mohur.js, POST /api/nonce,
// POST /api/login, POST /api/webeid-login, POST /api/verify, POST /api/verify-pdf (see
// agent/PROTOCOL.md, agent/WEB-EID.md and the demo server).
//
// Element ids are stable (tests use them): #agent-state (data-state = connecting |
// connected | unreachable), #tokens, #login-button, #login-result, #sign-button,
// #sign-result, #cms-base64, #cms-download, #pdf-file, #sign-pdf-button,
// #sign-pdf-result, #pdf-download, #webeid-login-button, #webeid-login-result,
// #error (data-code = the error code).

import { connect, MohurError, base64ToBytes } from '/mohur.js';

/** All user-visible text, per language. Add a language by adding an object. */
const STRINGS = {
  en: {
    title: 'mohur demo portal',
    lead: 'Log in and sign documents with your ID card through the mohur agent on this computer.',
    agentHeading: 'Agent',
    tokensHeading: 'Cards and tokens',
    loginHeading: 'Log in',
    signHeading: 'Sign a document',
    documentNameLabel: 'File name',
    documentTextLabel: 'Text',
    loginButton: 'Log in with ID card',
    webEidHeading: 'Or through Web eID',
    webEidHint: "The same card through the Web eID browser extension, with mohur as its application. On http://localhost, turn on ALLOW_HTTP_LOCALHOST in the extension's developer settings.",
    webEidButton: 'Log in with Web eID',
    webEidMissing: 'The Web eID extension did not answer: is it installed in this browser?',
    signButton: 'Sign document',
    accessHint: 'This site is not allowed to use your ID card yet.',
    accessButton: 'Allow this site…',
    cmsSummary: 'Signature (CMS, base64)',
    cmsDownload: 'Download signature ({file})',
    signPdfHeading: 'Sign a PDF',
    pdfFileLabel: 'PDF file',
    signPdfButton: 'Sign PDF',
    pdfDownload: 'Download the signed PDF ({file})',
    choosePdf: 'Choose a PDF file first.',
    pdfSigned: 'Signed by {signer} ({level}). The portal checked the PDF: {valid} of {count} signatures valid.',
    footer: "The PIN is typed in the agent's own dialog, never on this page.",
    connecting: 'Connecting to the mohur agent…',
    connected: 'Connected to the mohur agent {version}.',
    unreachable: 'The mohur agent is not running on this computer. Start it with {cmd}.',
    noTokens: 'No card or token found. Insert your ID card.',
    wrongOrigin: 'This page is configured for {origin}; opened at {here}, the agent may refuse it. Open {origin} instead.',
    tokensNotAllowed: 'Allow this site to see your cards.',
    tokenLine: '{holder} — {profile} ({type})',
    pinLine: '{kind}: {triesLeft} of {maxTries} tries left',
    pinBlocked: '{kind}: blocked',
    pinNotActivated: '{kind}: not activated',
    pinKind: { auth: 'Authentication PIN', sign: 'Signing PIN', puk: 'PUK' },
    loggingIn: 'Confirm and type your PIN in the mohur dialog…',
    welcome: 'Welcome, {name}!',
    welcomeDetails: '{country}, personal code {personalCode}',
    signing: 'Confirm and type your signing PIN in the mohur dialog…',
    signed: 'Signed by {signer} at {signingTime}. Document SHA-256: {sha256}',
    triesLeft: '({n} tries left)',
    serverError: 'The portal server refused: {error} (HTTP {status})',
    errors: {
      AGENT_UNREACHABLE: 'The mohur agent is not running.',
      AGENT_DISCONNECTED: 'The connection to the mohur agent was lost.',
      USER_CANCELLED: 'Cancelled.',
      PIN_INCORRECT: 'Wrong PIN.',
      PIN_BLOCKED: 'The PIN is blocked. Unblock it with your PUK.',
      PUK_INCORRECT: 'Wrong PUK.',
      PUK_BLOCKED: 'The PUK is blocked too.',
      PIN_NOT_ACTIVATED: 'The PIN has not been set yet. Activate it with your PUK.',
      PIN_FORMAT: 'That PIN does not fit the card.',
      NO_TOKEN: 'No ID card found. Insert your card.',
      TOKEN_REMOVED: 'The card was removed.',
      ORIGIN_NOT_ALLOWED: 'This site is not allowed to use your ID card.',
      TIMEOUT: 'Nobody answered the dialog in time.',
      BUSY: 'The agent is busy with another dialog.',
      NO_PROMPTER: 'The agent cannot show its dialog on this computer.',
      TOKEN_ERROR: 'The card failed.',
      HTTP: 'The portal server failed.',
    },
  },
};

const lang = (document.documentElement.lang || 'en').slice(0, 2);
const S = STRINGS[lang] || STRINGS.en;

/**
 * Fills {name} placeholders.
 * @param {string} s
 * @param {Record<string, any>} [vars]
 * @returns {string}
 */
function fmt(s, vars = {}) {
  return String(s).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

const $ = (id) => document.getElementById(id);

/** @type {import('/mohur.js').MohurClient|null} */
let agent = null;
let config = { agentUrl: 'ws://127.0.0.1:29170/v1', origin: location.origin };
/** @type {Map<string, object>} */
const tokens = new Map();
let busy = false;
let reconnectTimer = null;
let downloadUrl = null;
let pdfUrl = null;

function applyStaticStrings() {
  for (const el of document.querySelectorAll('[data-i18n]')) {
    const v = S[el.dataset.i18n];
    if (typeof v === 'string' && !v.includes('{')) el.textContent = v;
  }
  document.title = S.title;
}

/**
 * Shows the agent's state.
 * @param {'connecting'|'connected'|'unreachable'} state
 */
function setAgentState(state) {
  const el = $('agent-state');
  el.dataset.state = state;
  el.replaceChildren();
  if (state === 'connected') {
    el.textContent = fmt(S.connected, { version: agent && agent.hello ? agent.hello.agent : '' });
  } else if (state === 'unreachable') {
    const [before, after] = S.unreachable.split('{cmd}');
    const code = document.createElement('code');
    code.textContent = 'mohur agent';
    el.append(before, code, after || '');
  } else {
    el.textContent = S.connecting;
  }
  const usable = state === 'connected' && !busy;
  $('login-button').disabled = !usable;
  $('sign-button').disabled = !usable;
  $('sign-pdf-button').disabled = !usable;
  $('access').hidden = !(state === 'connected' && agent && !agent.originAllowed);
}

/** Shows an error (MohurError, server error or other) in #error. */
function showError(e) {
  const el = $('error');
  let code = 'INTERNAL';
  let text;
  if (e instanceof MohurError) {
    code = e.code;
    text = code;
    if (e.triesLeft !== undefined) text += ' ' + fmt(S.triesLeft, { n: e.triesLeft });
    text += ': ' + (S.errors[code] || e.message);
  } else if (e && e.httpStatus) {
    code = `HTTP_${e.httpStatus}`;
    text = fmt(S.serverError, { error: e.message, status: e.httpStatus });
  } else {
    text = String((e && e.message) || e);
  }
  el.dataset.code = code;
  el.textContent = text;
  console.warn('mohur demo:', code, e);
}

function clearError() {
  const el = $('error');
  el.textContent = '';
  delete el.dataset.code;
}

function renderTokens(notAllowed = false) {
  const ul = $('tokens');
  ul.replaceChildren();
  if (notAllowed) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = S.tokensNotAllowed;
    ul.append(li);
    return;
  }
  if (tokens.size === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = S.noTokens;
    ul.append(li);
    return;
  }
  for (const t of tokens.values()) {
    const li = document.createElement('li');
    li.dataset.tokenId = t.id;
    const head = document.createElement('strong');
    head.textContent = fmt(S.tokenLine, { holder: t.holder || t.serial || t.id, profile: t.profile || t.module || '', type: t.type || '' });
    li.append(head);
    const pins = document.createElement('ul');
    pins.className = 'pins';
    for (const p of t.pins || []) {
      const pli = document.createElement('li');
      pli.dataset.pin = p.kind;
      pli.dataset.state = p.state;
      const kind = S.pinKind[p.kind] || p.kind;
      if (p.state === 'blocked') pli.textContent = fmt(S.pinBlocked, { kind });
      else if (p.state === 'not-activated') pli.textContent = fmt(S.pinNotActivated, { kind });
      else pli.textContent = fmt(S.pinLine, { kind, triesLeft: p.triesLeft ?? '?', maxTries: p.maxTries ?? '?' });
      if (p.state === 'blocked' || (p.triesLeft !== undefined && p.triesLeft <= 1)) pli.className = 'warn';
      pins.append(pli);
    }
    li.append(pins);
    ul.append(li);
  }
}

/** Reads the token list from the agent (never spends a PIN try). */
async function refreshTokens() {
  if (!agent || !agent.connected) return;
  if (!agent.originAllowed) {
    renderTokens(true);
    return;
  }
  try {
    const st = await agent.status();
    tokens.clear();
    for (const t of st.tokens || []) tokens.set(t.id, t);
    renderTokens();
  } catch (e) {
    if (e instanceof MohurError && e.code === 'ORIGIN_NOT_ALLOWED') {
      agent.originAllowed = false;
      renderTokens(true);
      setAgentState('connected');
    } else {
      showError(e);
    }
  }
}

function scheduleReconnect() {
  clearTimeout(reconnectTimer);
  reconnectTimer = setTimeout(connectAgent, 2000);
}

async function connectAgent() {
  setAgentState('connecting');
  try {
    agent = await connect({ url: config.agentUrl, timeoutMs: 5000 });
  } catch (e) {
    agent = null;
    setAgentState('unreachable');
    tokens.clear();
    $('tokens').replaceChildren();
    scheduleReconnect();
    return;
  }
  agent.on('token-inserted', (ev) => {
    if (ev.token && ev.token.id) tokens.set(ev.token.id, ev.token);
    renderTokens();
  });
  agent.on('token-removed', (ev) => {
    tokens.delete(ev.tokenId);
    renderTokens();
  });
  agent.on('close', () => {
    agent = null;
    setAgentState('unreachable');
    scheduleReconnect();
  });
  setAgentState('connected');
  await refreshTokens();
}

/**
 * POSTs JSON to the portal server; throws {httpStatus, message} on 4xx/5xx.
 * @param {string} path
 * @param {any} body
 * @returns {Promise<any>}
 */
async function postJSON(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  let data = null;
  try {
    data = await res.json();
  } catch (_) { /* not JSON */ }
  if (!res.ok) {
    const err = new Error((data && data.error) || res.statusText || 'error');
    err.httpStatus = res.status;
    throw err;
  }
  return data;
}

/** Runs one user action with the buttons disabled. */
async function withBusy(fn) {
  if (busy) return;
  busy = true;
  setAgentState(agent ? 'connected' : 'unreachable');
  clearError();
  try {
    await fn();
  } catch (e) {
    showError(e);
  } finally {
    busy = false;
    setAgentState(agent && agent.connected ? 'connected' : 'unreachable');
    refreshTokens(); // tries left may have changed
  }
}

async function login() {
  const out = $('login-result');
  out.textContent = S.loggingIn;
  out.dataset.state = 'pending';
  try {
    const { nonce } = await postJSON('/api/nonce', {});
    const authToken = await agent.authenticate(nonce);
    agent.originAllowed = true;
    const who = await postJSON('/api/login', { authToken, nonce });
    out.textContent = fmt(S.welcome, { name: who.name });
    if (who.country || who.personalCode) {
      const small = document.createElement('small');
      small.textContent = ' ' + fmt(S.welcomeDetails, { country: who.country || '', personalCode: who.personalCode || '' });
      out.append(small);
    }
    out.dataset.state = 'ok';
  } catch (e) {
    out.textContent = '';
    out.dataset.state = 'error';
    throw e;
  }
}

/**
 * One request to the Web eID extension, as web-eid.js makes it: a window message
 * `{action, libraryVersion, ...}`, answered with `<action>-ack`, then `-success` or
 * `-failure` (web-eid.js src/models/Action.ts).
 */
function webEid(action, fields, timeoutMs = 120000) {
  return new Promise((resolve, reject) => {
    let acked = false;
    const done = (fn, v) => {
      window.removeEventListener('message', onMessage);
      clearTimeout(timer);
      fn(v);
    };
    const onMessage = (ev) => {
      if (ev.source !== window || !ev.data || typeof ev.data.action !== 'string') return;
      const a = ev.data.action;
      if (a === `${action}-ack`) acked = true;
      else if (a === `${action}-success`) done(resolve, ev.data);
      else if (a === `${action}-failure` || a === `${action}_FAILURE`) {
        const err = new Error((ev.data.error && ev.data.error.message) || 'Web eID failed');
        err.code = ev.data.error && ev.data.error.code;
        done(reject, err);
      }
    };
    const timer = setTimeout(() => {
      const err = new Error(S.webEidMissing);
      err.code = acked ? 'ERR_WEBEID_ACTION_TIMEOUT' : 'ERR_WEBEID_EXTENSION_UNAVAILABLE';
      done(reject, err);
    }, acked ? timeoutMs : Math.min(timeoutMs, 5000));
    window.addEventListener('message', onMessage);
    window.postMessage({ action, libraryVersion: '2.1.0', ...fields }, '*');
  });
}

async function webEidLogin() {
  const out = $('webeid-login-result');
  out.textContent = S.loggingIn;
  out.dataset.state = 'pending';
  try {
    const { nonce } = await postJSON('/api/nonce', {});
    const reply = await webEid('web-eid:authenticate', { challengeNonce: nonce, options: { lang } });
    const { action, ...authToken } = reply;
    const who = await postJSON('/api/webeid-login', { authToken, nonce });
    out.textContent = fmt(S.welcome, { name: who.name });
    out.dataset.state = 'ok';
  } catch (e) {
    out.textContent = e.code ? `${e.code}: ${e.message}` : e.message;
    out.dataset.state = 'error';
    if (e.code) out.dataset.code = e.code;
  }
}

async function sign() {
  const out = $('sign-result');
  const name = $('document-name').value.trim() || 'document.txt';
  const data = new TextEncoder().encode($('document-text').value);
  out.textContent = S.signing;
  out.dataset.state = 'pending';
  $('cms-base64').textContent = '';
  $('cms-details').hidden = true;
  $('cms-download').hidden = true;
  try {
    const r = await agent.signDocuments([{ name, data }], { detached: false });
    agent.originAllowed = true;
    const cms = r.signatures[0].cms;
    $('cms-base64').textContent = cms;
    $('cms-details').hidden = false;
    if (downloadUrl) URL.revokeObjectURL(downloadUrl);
    downloadUrl = URL.createObjectURL(new Blob([base64ToBytes(cms)], { type: 'application/pkcs7-signature' }));
    const a = $('cms-download');
    a.href = downloadUrl;
    a.download = `${name}.p7s`;
    a.textContent = fmt(S.cmsDownload, { file: a.download });
    a.hidden = false;
    const v = await postJSON('/api/verify', { cms, document: null });
    out.textContent = fmt(S.signed, { signer: v.signer, signingTime: v.signingTime, sha256: v.sha256 });
    out.dataset.state = 'ok';
  } catch (e) {
    out.textContent = '';
    out.dataset.state = 'error';
    throw e;
  }
}

/** Signs the chosen PDF in itself (PAdES) and has the portal's server check the result. */
async function signPdf() {
  const out = $('sign-pdf-result');
  const file = $('pdf-file').files[0];
  $('pdf-download').hidden = true;
  if (!file) {
    out.textContent = S.choosePdf;
    out.dataset.state = 'error';
    return;
  }
  out.textContent = S.signing;
  out.dataset.state = 'pending';
  try {
    const data = new Uint8Array(await file.arrayBuffer());
    const r = await agent.signDocuments([{ name: file.name, data }], { format: 'pades' });
    agent.originAllowed = true;
    const pdf = r.signatures[0].pdf;
    if (pdfUrl) URL.revokeObjectURL(pdfUrl);
    pdfUrl = URL.createObjectURL(new Blob([base64ToBytes(pdf)], { type: 'application/pdf' }));
    const a = $('pdf-download');
    a.href = pdfUrl;
    a.download = file.name.replace(/\.pdf$/i, '') + '.signed.pdf';
    a.textContent = fmt(S.pdfDownload, { file: a.download });
    a.hidden = false;
    const v = await postJSON('/api/verify-pdf', { pdf });
    const last = v.signatures[v.signatures.length - 1] || {};
    out.textContent = fmt(S.pdfSigned, {
      signer: last.signer || '?',
      level: last.level || '?',
      valid: v.signatures.filter((x) => x.valid).length,
      count: v.signatures.length,
    });
    out.dataset.state = v.valid ? 'ok' : 'error';
  } catch (e) {
    out.textContent = '';
    out.dataset.state = 'error';
    throw e;
  }
}

async function allowSite() {
  const r = await agent.requestAccess();
  if (r && r.allowed) agent.originAllowed = true;
}

async function main() {
  applyStaticStrings();
  $('login-button').addEventListener('click', () => withBusy(login));
  $('webeid-login-button').addEventListener('click', () => withBusy(webEidLogin));
  $('sign-button').addEventListener('click', () => withBusy(sign));
  $('sign-pdf-button').addEventListener('click', () => withBusy(signPdf));
  $('access-button').addEventListener('click', () => withBusy(allowSite));
  try {
    const res = await fetch('/config.json', { cache: 'no-store' });
    if (res.ok) config = { ...config, ...(await res.json()) };
  } catch (e) {
    console.warn('mohur demo: no /config.json, using', config.agentUrl);
  }
  if (config.origin && config.origin !== location.origin) {
    const hint = $('origin-hint');
    hint.textContent = fmt(S.wrongOrigin, { origin: config.origin, here: location.origin });
    hint.hidden = false;
  }
  await connectAgent();
}

main();
