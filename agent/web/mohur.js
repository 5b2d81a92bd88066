// mohur.js — the browser client for the mohur signing agent (protocol 1).
//
// An ES module with no dependencies. A portal page imports it, connects to the
// agent on the citizen's own computer (a WebSocket on loopback) and asks for
// certificates, Web eID authentication tokens and signatures. The agent asks the
// citizen for consent and PIN in its own dialog: the PIN never reaches the page.
//
//   import { connect, MohurError } from '/mohur.js';
//   const agent = await connect();
//   const token = await agent.authenticate(nonceFromServer);
//
// The contract is agent/PROTOCOL.md. The module also runs under Node.js: Node 22+
// has a global WebSocket; on Node 20 run with --experimental-websocket or pass
// `WebSocket` to connect().

/** The address the agent listens on unless configured otherwise. */
export const DEFAULT_AGENT_URL = 'ws://127.0.0.1:29170/v1';

/**
 * The same agent over TLS, for pages that cannot use ws:// (a Content-Security-Policy
 * whose connect-src allows wss: only, a browser that blocks ws://127.0.0.1 from https
 * pages). It works where the citizen ran `mohur-install install --loopback-tls`, which
 * makes the browsers trust a CA that can vouch for 127.0.0.1 and nothing else.
 */
export const SECURE_AGENT_URL = 'wss://127.0.0.1:29170/v1';

/** The protocol version this client speaks. */
export const PROTOCOL_VERSION = 1;

/** Largest frame the agent accepts (bytes); a bigger one closes the connection. */
export const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

/**
 * Error codes produced by this client itself (the agent's own codes are listed in
 * PROTOCOL.md, e.g. PIN_INCORRECT, USER_CANCELLED, ORIGIN_NOT_ALLOWED).
 * @readonly
 * @enum {string}
 */
export const ClientErrorCode = Object.freeze({
  /** The socket could not be opened, or closed before `hello` (agent not running, blocked by the browser, refused origin). */
  AGENT_UNREACHABLE: 'AGENT_UNREACHABLE',
  /** The connection closed while a request was pending, or a request was made after close(). */
  AGENT_DISCONNECTED: 'AGENT_DISCONNECTED',
  /** The agent speaks another protocol version. */
  PROTOCOL_MISMATCH: 'PROTOCOL_MISMATCH',
  /** The request would exceed the agent's frame limit; it was not sent. */
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  /** The arguments given to a client method are wrong; nothing was sent. */
  BAD_REQUEST: 'BAD_REQUEST',
});

/**
 * An error from the agent (its `error` object) or from this client.
 *
 * `code` is the machine-readable code (PROTOCOL.md "Errors" or {@link ClientErrorCode}).
 * `triesLeft` is set for PIN_INCORRECT / PUK_INCORRECT. `details` holds the agent's whole
 * error object, or client-side context (close code, reason, …).
 */
export class MohurError extends Error {
  /**
   * @param {string} code machine-readable error code
   * @param {string} [message] human-readable text (English, for logs)
   * @param {{triesLeft?: number, details?: any, cause?: any}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message || code, extra.cause !== undefined ? { cause: extra.cause } : undefined);
    this.name = 'MohurError';
    /** @type {string} */
    this.code = code;
    /** @type {number|undefined} */
    this.triesLeft = typeof extra.triesLeft === 'number' ? extra.triesLeft : undefined;
    /** @type {any} */
    this.details = extra.details;
  }

  /**
   * Builds a MohurError from the agent's `error` object.
   * @param {{code?: string, message?: string, triesLeft?: number}} err
   * @returns {MohurError}
   */
  static fromAgent(err) {
    const e = err && typeof err === 'object' ? err : {};
    return new MohurError(String(e.code || 'INTERNAL'), e.message || String(e.code || 'agent error'), {
      triesLeft: e.triesLeft,
      details: e,
    });
  }

  /** @returns {{code: string, message: string, triesLeft?: number}} a JSON-friendly copy */
  toJSON() {
    const o = { code: this.code, message: this.message };
    if (this.triesLeft !== undefined) o.triesLeft = this.triesLeft;
    return o;
  }
}

// ---------------------------------------------------------------------------
// base64 helpers (exported: portals need them for hashes and CMS downloads)

/**
 * Encodes bytes as standard base64 (with padding).
 * @param {Uint8Array|ArrayBuffer|ArrayBufferView} data
 * @returns {string}
 */
export function bytesToBase64(data) {
  const bytes = toBytes(data);
  if (typeof bytes.toBase64 === 'function') return bytes.toBase64();
  let bin = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK));
  }
  return btoa(bin);
}

/**
 * Decodes standard or URL-safe base64 into bytes.
 * @param {string} b64
 * @returns {Uint8Array}
 */
export function base64ToBytes(b64) {
  let s = String(b64).replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/');
  while (s.length % 4) s += '=';
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * @param {Uint8Array|ArrayBuffer|ArrayBufferView} data
 * @returns {Uint8Array}
 */
function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new MohurError('BAD_REQUEST', 'expected a Uint8Array, ArrayBuffer or typed array');
}

/**
 * Accepts base64 text or bytes; returns base64 text.
 * @param {string|Uint8Array|ArrayBuffer|ArrayBufferView} v
 * @param {string} what name of the field (for the error message)
 * @returns {string}
 */
function toBase64Field(v, what) {
  if (typeof v === 'string') return v;
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return bytesToBase64(v);
  throw new MohurError('BAD_REQUEST', `${what}: expected base64 text or bytes`);
}

/**
 * Documents larger than this are hashed in the page and sent as a SHA-256 `digest`
 * (detached signatures only): the file never crosses the socket, and the agent keeps
 * its memory for many users' requests (PROTOCOL.md § Limits). 1 MiB.
 */
export const LARGE_DOCUMENT_BYTES = 1024 * 1024;

/**
 * The size in bytes of document content, and its bytes when it is large enough to
 * be hashed in the page (else null: the content is sent as it is).
 * @param {Uint8Array|ArrayBuffer|ArrayBufferView|string|Blob} data
 * @param {number} threshold
 * @returns {Promise<Uint8Array|null>}
 */
async function largeDocumentBytes(data, threshold) {
  let size;
  if (typeof data === 'string') size = data.length; // a lower bound of its UTF-8 size
  else if (typeof Blob !== 'undefined' && data instanceof Blob) size = data.size;
  else size = data.byteLength;
  if (size <= threshold) return null;
  if (typeof data === 'string') return new TextEncoder().encode(data);
  if (typeof Blob !== 'undefined' && data instanceof Blob) return new Uint8Array(await data.arrayBuffer());
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Document content to base64: bytes, a string (UTF-8) or a Blob/File.
 * @param {Uint8Array|ArrayBuffer|ArrayBufferView|string|Blob} data
 * @returns {Promise<string>}
 */
async function documentToBase64(data) {
  if (typeof data === 'string') return bytesToBase64(new TextEncoder().encode(data));
  if (typeof Blob !== 'undefined' && data instanceof Blob) return bytesToBase64(await data.arrayBuffer());
  return bytesToBase64(data);
}

// ---------------------------------------------------------------------------

/**
 * @typedef {object} Hello
 * @property {'hello'} event
 * @property {number} protocol protocol version (1)
 * @property {string} agent the agent's version
 * @property {boolean} originAllowed whether this page's origin is allowed already
 */

/**
 * @typedef {object} RequestOptions
 * @property {AbortSignal} [signal] aborting sends `cancel {requestId}` to the agent and
 *   rejects the request with MohurError('USER_CANCELLED')
 * @property {string} [tokenId] which token to use (methods that take one)
 */

/**
 * @typedef {object} DocumentInput
 * @property {string} name shown in the agent's dialog and echoed in the result
 * @property {Uint8Array|ArrayBuffer|ArrayBufferView|string|Blob} [data] the document itself
 *   (strings are UTF-8 encoded); the agent hashes it
 * @property {string|Uint8Array|ArrayBuffer} [digest] or only its hash (implies detached)
 * @property {'SHA-256'|'SHA-384'|'SHA-512'} [hashFunction] the hash of `digest`
 */

/**
 * A connection to the agent. Get one from {@link connect}.
 */
export class MohurClient {
  /**
   * @param {WebSocket} ws an open socket
   * @param {Hello} hello the agent's hello event
   * @param {{maxMessageBytes?: number}} [opts]
   */
  constructor(ws, hello, opts = {}) {
    /** @private */ this._ws = ws;
    /** The agent's `hello` event. @type {Hello} */
    this.hello = hello;
    /** Whether the agent lets this origin use tokens (updated by requestAccess()). @type {boolean} */
    this.originAllowed = !!(hello && hello.originAllowed);
    /** @private */ this._nextId = 1;
    /** @private @type {Map<number, {resolve: Function, reject: Function, cleanup: Function, method: string}>} */
    this._pending = new Map();
    /** @private @type {Map<string, Set<Function>>} */
    this._listeners = new Map();
    /** @private */ this._closed = false;
    /** @private */ this._maxMessageBytes = opts.maxMessageBytes || MAX_MESSAGE_BYTES;
    /** Why the connection closed, once it has: {code, reason, wasClean}. */
    this.closeInfo = null;

    ws.addEventListener('message', (ev) => this._onMessage(ev));
    ws.addEventListener('close', (ev) => this._onClose(ev));
  }

  /** True until the socket closes. @returns {boolean} */
  get connected() {
    return !this._closed;
  }

  /**
   * Sends a request and resolves with its `result`, or rejects with a MohurError
   * built from its `error`.
   * @param {string} method e.g. 'status'
   * @param {object} [params]
   * @param {RequestOptions} [opts]
   * @returns {Promise<any>}
   */
  request(method, params = {}, opts = {}) {
    const signal = opts.signal;
    if (this._closed) {
      return Promise.reject(new MohurError('AGENT_DISCONNECTED', 'the connection to the agent is closed', { details: this.closeInfo }));
    }
    if (signal && signal.aborted) {
      return Promise.reject(new MohurError('USER_CANCELLED', 'cancelled by the page before it was sent', { details: { reason: signal.reason } }));
    }
    const id = this._nextId++;
    const msg = { id, method };
    if (params && Object.keys(params).length) msg.params = params;
    const text = JSON.stringify(msg);
    if (text.length > this._maxMessageBytes / 3 && new TextEncoder().encode(text).length > this._maxMessageBytes) {
      return Promise.reject(new MohurError('MESSAGE_TOO_LARGE', `request is larger than ${this._maxMessageBytes} bytes; send digests instead`));
    }
    return new Promise((resolve, reject) => {
      let onAbort = null;
      const cleanup = () => {
        if (onAbort) signal.removeEventListener('abort', onAbort);
      };
      this._pending.set(id, { resolve, reject, cleanup, method });
      if (signal) {
        onAbort = () => {
          if (!this._pending.has(id)) return;
          this._pending.delete(id);
          cleanup();
          // Tell the agent (it closes its dialog); the answer to the original
          // request, USER_CANCELLED, arrives later and is ignored.
          this.request('cancel', { requestId: id }).catch(() => {});
          reject(new MohurError('USER_CANCELLED', 'cancelled by the page', { details: { requestId: id, reason: signal.reason } }));
        };
        signal.addEventListener('abort', onAbort);
      }
      try {
        this._ws.send(text);
      } catch (e) {
        this._pending.delete(id);
        cleanup();
        reject(new MohurError('AGENT_DISCONNECTED', 'could not send to the agent', { cause: e }));
      }
    });
  }

  /**
   * The agent's protocol and version, and the methods it knows. Needs no access.
   * @param {RequestOptions} [opts]
   * @returns {Promise<{protocol: number, agent: string, methods: string[]}>}
   */
  version(opts) {
    return this.request('version', {}, opts);
  }

  /**
   * The tokens present: holder, profile, keys, PIN states and tries left.
   * @param {RequestOptions} [opts]
   * @returns {Promise<{tokens: object[]}>}
   */
  status(opts) {
    return this.request('status', {}, opts);
  }

  /**
   * Asks the citizen (in the agent's dialog) to allow this origin.
   * @param {RequestOptions} [opts]
   * @returns {Promise<{allowed: boolean}>}
   */
  async requestAccess(opts) {
    const r = await this.request('request-access', {}, opts);
    if (r && r.allowed) this.originAllowed = true;
    return r;
  }

  /**
   * A certificate of the token.
   * @param {'auth'|'sign'} [purpose]
   * @param {RequestOptions} [opts]
   * @returns {Promise<{tokenId: string, certificate: string, algorithm: string}>}
   */
  getCertificate(purpose = 'sign', opts = {}) {
    return this.request('get-certificate', withToken({ purpose }, opts), opts);
  }

  /**
   * A Web eID authentication token (format web-eid:1.0) over the server's nonce.
   * POST it to the portal's server with the nonce; verify it there.
   * @param {string} challengeNonce base64, 44–128 characters, from the portal's server
   * @param {RequestOptions} [opts]
   * @returns {Promise<{unverifiedCertificate: string, algorithm: string, signature: string, format: string, appVersion: string}>}
   */
  authenticate(challengeNonce, opts = {}) {
    if (typeof challengeNonce !== 'string') {
      return Promise.reject(new MohurError('BAD_REQUEST', 'challengeNonce must be a base64 string'));
    }
    return this.request('authenticate', withToken({ challengeNonce }, opts), opts);
  }

  /**
   * Signs a hash computed by the portal with the key of `certificate`, which must be the
   * signing certificate (`getCertificate('sign')`): the agent refuses the authentication
   * key with KEY_NOT_ALLOWED (it signs only logins the agent builds, see authenticate),
   * and a token whose one key also logs in gives no raw signatures at all. The citizen's
   * dialog says that the site computed the hash; `name` is shown as the site's name for it.
   * @param {{hash: string|Uint8Array|ArrayBuffer, hashFunction: 'SHA-256'|'SHA-384'|'SHA-512',
   *          certificate: string|Uint8Array|ArrayBuffer, name?: string}} args
   * @param {RequestOptions} [opts]
   * @returns {Promise<{signature: string, signatureAlgorithm: {cryptoAlgorithm: string, hashFunction: string, paddingScheme: string}}>}
   */
  sign({ hash, hashFunction, certificate, name } = {}, opts = {}) {
    let params;
    try {
      params = { hash: toBase64Field(hash, 'hash'), hashFunction, certificate: toBase64Field(certificate, 'certificate') };
    } catch (e) {
      return Promise.reject(e);
    }
    if (name !== undefined) params.name = name;
    return this.request('sign', params, opts);
  }

  /**
   * Signs documents as CAdES-BES CMS with the signing key (one dialog, one PIN entry for
   * all of them). For detached signatures (the default), a document larger than
   * `largeDocumentBytes` (default {@link LARGE_DOCUMENT_BYTES}) is hashed here with
   * WebCrypto and only its SHA-256 is sent; the agent's dialog then shows that digest
   * as computed by the site.
   *
   * With `format: 'pades'` each document is a PDF and comes back signed in itself
   * (`pdf`, base64); with `format: 'asice'` all of them come back in one ASiC-E
   * container (`asice`, base64; `containerName` names it). Either way the whole files
   * are sent, never only their hashes.
   * `level` is 'B', 'T' (with a time-stamp from the agent's configured TSA), 'LT' (and
   * the certificates, OCSP answers and CRLs: in the PDF, or in the CMS signature) or,
   * for PDFs, 'LTA' (and a document time-stamp over all of it); the agent's default is
   * 'T' when it has a TSA.
   * @param {DocumentInput[]} documents at most 64
   * `visiblePage` (PDFs) shows each signature in a box on that page (from 1).
   * @param {RequestOptions & {detached?: boolean, largeDocumentBytes?: number, format?: 'cms'|'pades'|'asice', level?: 'B'|'T'|'LT'|'LTA', containerName?: string, visiblePage?: number}} [opts]
   *   `detached` defaults to true (the CMS does not embed the document)
   * @returns {Promise<{signatures: {name: string, cms?: string, pdf?: string, asice?: string, level: string}[]}>}
   */
  async signDocuments(documents, opts = {}) {
    if (!Array.isArray(documents) || documents.length === 0) {
      throw new MohurError('BAD_REQUEST', 'documents must be a non-empty array');
    }
    const format = opts.format === undefined ? 'cms' : opts.format;
    if (!['cms', 'pades', 'asice'].includes(format)) {
      throw new MohurError('BAD_REQUEST', "format must be 'cms', 'pades' or 'asice'");
    }
    // PAdES and ASiC-E carry the documents themselves: never only a hash, never detached.
    const pades = format !== 'cms';
    const detached = pades ? false : opts.detached === undefined ? true : !!opts.detached;
    const threshold = opts.largeDocumentBytes === undefined ? LARGE_DOCUMENT_BYTES : opts.largeDocumentBytes;
    const subtle = globalThis.crypto && globalThis.crypto.subtle;
    const docs = [];
    for (const d of documents) {
      if (!d || typeof d.name !== 'string') throw new MohurError('BAD_REQUEST', 'every document needs a name');
      if (d.data !== undefined && d.data !== null) {
        // A large document for a detached signature: its SHA-256, computed here.
        const large = detached && subtle ? await largeDocumentBytes(d.data, threshold) : null;
        if (large) {
          const digest = new Uint8Array(await subtle.digest('SHA-256', large));
          docs.push({ name: d.name, digest: bytesToBase64(digest), hashFunction: 'SHA-256' });
          continue;
        }
        docs.push({ name: d.name, document: await documentToBase64(d.data) });
      } else if (pades) {
        throw new MohurError('BAD_REQUEST', `document ${d.name}: a PDF is signed in itself, give its data`);
      } else if (d.digest !== undefined && d.digest !== null) {
        docs.push({ name: d.name, digest: toBase64Field(d.digest, 'digest'), hashFunction: d.hashFunction || 'SHA-256' });
      } else {
        throw new MohurError('BAD_REQUEST', `document ${d.name}: give data or digest`);
      }
    }
    const params = pades ? { documents: docs, format } : { documents: docs, format, detached };
    if (opts.level !== undefined) params.level = opts.level;
    if (format === 'asice' && opts.containerName !== undefined) params.containerName = opts.containerName;
    if (format === 'pades' && opts.visiblePage !== undefined) params.visiblePage = opts.visiblePage;
    if (opts.tokenId) params.tokenId = opts.tokenId;
    return this.request('sign-document', params, opts);
  }

  /**
   * Lets the citizen change a PIN (old and new PIN are typed in the agent's dialogs).
   * @param {'auth'|'sign'} pin
   * @param {RequestOptions} [opts]
   * @returns {Promise<{done: boolean}>}
   */
  changePin(pin, opts = {}) {
    return this.request('change-pin', withToken({ pin }, opts), opts);
  }

  /**
   * Lets the citizen unblock a PIN with the PUK (typed in the agent's dialogs).
   * @param {'auth'|'sign'} pin
   * @param {RequestOptions} [opts]
   * @returns {Promise<{done: boolean}>}
   */
  unblockPin(pin, opts = {}) {
    return this.request('unblock-pin', withToken({ pin }, opts), opts);
  }

  /**
   * Listens for agent events: 'token-inserted' ({token}), 'token-removed' ({tokenId}),
   * any other event the agent sends, and 'close' ({code, reason}) when the connection ends.
   * The callback gets the whole event message.
   * @param {string} event
   * @param {(ev: any) => void} cb
   * @returns {() => void} call it to stop listening
   */
  on(event, cb) {
    if (!this._listeners.has(event)) this._listeners.set(event, new Set());
    this._listeners.get(event).add(cb);
    return () => this.off(event, cb);
  }

  /**
   * Stops a listener added with on().
   * @param {string} event
   * @param {(ev: any) => void} cb
   */
  off(event, cb) {
    const s = this._listeners.get(event);
    if (s) s.delete(cb);
  }

  /**
   * Closes the connection; the agent cancels what is pending and closes its dialogs.
   * Pending requests reject with AGENT_DISCONNECTED.
   */
  close() {
    if (this._closed) return;
    try {
      this._ws.close(1000, 'client closed');
    } catch (_) { /* already closing */ }
    this._finish({ code: 1000, reason: 'client closed', wasClean: true });
  }

  /** @private */
  _emit(event, payload) {
    const s = this._listeners.get(event);
    if (!s) return;
    for (const cb of [...s]) {
      try {
        cb(payload);
      } catch (e) {
        setTimeout(() => { throw e; }, 0); // report, but keep delivering
      }
    }
  }

  /** @private */
  _onMessage(ev) {
    if (typeof ev.data !== 'string') return;
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (_) {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    if (msg.id !== undefined && msg.id !== null) {
      const p = this._pending.get(msg.id);
      if (!p) return; // cancelled by the page, or not ours
      this._pending.delete(msg.id);
      p.cleanup();
      if (msg.error) p.reject(MohurError.fromAgent(msg.error));
      else p.resolve(msg.result);
      return;
    }
    if (typeof msg.event === 'string') this._emit(msg.event, msg);
  }

  /** @private */
  _onClose(ev) {
    this._finish({ code: ev.code, reason: ev.reason, wasClean: ev.wasClean });
  }

  /** @private */
  _finish(info) {
    if (this._closed) return;
    this._closed = true;
    this.closeInfo = info;
    const pending = [...this._pending.values()];
    this._pending.clear();
    for (const p of pending) {
      p.cleanup();
      p.reject(new MohurError('AGENT_DISCONNECTED', `the connection to the agent closed (code ${info.code})`, { details: info }));
    }
    this._emit('close', info);
  }
}

/**
 * @param {object} params
 * @param {{tokenId?: string}} opts
 * @returns {object}
 */
function withToken(params, opts) {
  if (opts && opts.tokenId) params.tokenId = opts.tokenId;
  return params;
}

/**
 * Connects to the agent and waits for its `hello`.
 *
 * Rejects with MohurError('AGENT_UNREACHABLE') when the socket cannot be opened or
 * closes before `hello` (agent not running; the browser blocked the connection, e.g.
 * Local Network Access not granted; the agent refused this origin), or when no
 * `hello` arrived within `timeoutMs`; with 'PROTOCOL_MISMATCH' if the agent speaks
 * another protocol.
 *
 * @param {object} [options]
 * @param {string} [options.url] the agent's address (default ws://127.0.0.1:29170/v1; SECURE_AGENT_URL for wss://)
 * @param {number} [options.timeoutMs] how long to wait for `hello` (default 5000)
 * @param {typeof WebSocket} [options.WebSocket] a WebSocket constructor (Node.js without a global one)
 * @param {number} [options.maxMessageBytes] the agent's frame limit (default 10 MiB)
 * @returns {Promise<MohurClient>}
 */
export function connect({ url = DEFAULT_AGENT_URL, timeoutMs = 5000, WebSocket: WS, maxMessageBytes } = {}) {
  const Ctor = WS || globalThis.WebSocket;
  return new Promise((resolve, reject) => {
    if (typeof Ctor !== 'function') {
      reject(new MohurError('AGENT_UNREACHABLE', 'this environment has no WebSocket'));
      return;
    }
    let ws;
    try {
      ws = new Ctor(url);
    } catch (e) {
      reject(new MohurError('AGENT_UNREACHABLE', `cannot open ${url}: ${e && e.message}`, { cause: e, details: { url } }));
      return;
    }
    let done = false;
    const finish = (err, client) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ws.removeEventListener('message', onMessage);
      ws.removeEventListener('close', onClose);
      ws.removeEventListener('error', onError);
      if (err) {
        try { ws.close(); } catch (_) { /* ignore */ }
        reject(err);
      } else {
        resolve(client);
      }
    };
    const timer = setTimeout(() => {
      finish(new MohurError('AGENT_UNREACHABLE', `no hello from the agent at ${url} within ${timeoutMs} ms`, { details: { url, timeout: true } }));
    }, timeoutMs);
    const onMessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (_) {
        return;
      }
      if (!msg || msg.event !== 'hello') return; // hello is always first; ignore anything else
      if (msg.protocol !== PROTOCOL_VERSION) {
        finish(new MohurError('PROTOCOL_MISMATCH', `the agent speaks protocol ${msg.protocol}, this client ${PROTOCOL_VERSION}`, { details: msg }));
        return;
      }
      // Create the client before anything else can arrive, so no message is lost.
      finish(null, new MohurClient(ws, msg, { maxMessageBytes }));
    };
    const onClose = (ev) => {
      finish(new MohurError('AGENT_UNREACHABLE', `the agent at ${url} is not reachable (close code ${ev.code})`, { details: { url, code: ev.code, reason: ev.reason } }));
    };
    const onError = () => {
      // A close event follows; it carries the code. Only the browser knows why
      // (refused, blocked by Local Network Access checks, HTTP 403): it never tells the page.
      finish(new MohurError('AGENT_UNREACHABLE', `the agent at ${url} is not reachable`, { details: { url } }));
    };
    ws.addEventListener('message', onMessage);
    ws.addEventListener('close', onClose);
    ws.addEventListener('error', onError);
  });
}

export default { connect, MohurError, MohurClient, bytesToBase64, base64ToBytes, DEFAULT_AGENT_URL, SECURE_AGENT_URL, PROTOCOL_VERSION };
