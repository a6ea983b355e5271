#!/usr/bin/env node
// A real Nostr relay on loopback for Archivist's tests and `make demo`.
//
// Usage: node relay.mjs [--port P] [--db FILE|:memory:] [--default-limit N] [--nip11 extra.json]
//                       [--max-subscriptions N] [--log-level debug|info|warn|error]
//                       [--negentropy real|notice|silence|closed|too-many] [--neg-max-items N]
//                       [--neg-frame-limit BYTES] [--deflate on|off]
//
// @nostr-relay/core (NostrRelay) over @nostr-relay/event-repository-sqlite, messages checked by
// @nostr-relay/validator, served by `ws` on an http.Server bound to 127.0.0.1 only (port 0 = any
// free port). The same port answers `GET /` with `Accept: application/nostr+json` with a NIP-11
// document describing what this relay really does.
//
// Contract with callers:
//  - stdout carries exactly one line, `LISTENING <port>`, once the socket accepts connections;
//    everything else (relay logs, errors) goes to stderr;
//  - exits 0 on SIGTERM, SIGINT, or EOF on stdin when stdin is a pipe/socket (so a crashed parent
//    never leaves the relay running: give it a pipe as stdin; /dev/null or a tty is not watched);
//    exits 1 on a startup error.
//
// Relay facts the tests rely on (read from the packages' sources, 0.0.40):
//  - a REQ filter without `limit` returns at most defaultLimit events; a `limit` above
//    defaultLimit × 10 is capped there (EventRepositorySqlite.getLimitFrom) → NIP-11 max_limit;
//  - the filter result cache is disabled (filterResultCacheTtl 0): a repeated query sees events
//    stored a moment ago;
//  - no COUNT (NIP-45), no NIP-42 (no hostname configured);
//  - NIP-77 only with --negentropy (then 77 is listed in NIP-11):
//      real      NEG-OPEN/NEG-MSG answered by the responder of @nostr-dev-kit/sync (an implementation
//                independent of Archivist's) over this relay's own SQLite store; a filter matching
//                more than --neg-max-items events is refused like strfry refuses sets above
//                maxSyncEvents: NEG-ERR "blocked: too many query results"; replies are cut at
//                --neg-frame-limit bytes (binary; 0 = unlimited; strfry sends up to 500,000);
//      notice    fake support: NEG-OPEN answered with a NOTICE (a relay that does not know it);
//      silence   fake support: NEG-OPEN never answered;
//      closed    fake support: NEG-OPEN answered with CLOSED;
//      too-many  every NEG-OPEN refused with NEG-ERR "blocked: too many query results";
//  - permessage-deflate only with --deflate on (ws compresses messages of ≥ 64 bytes);
//  - created_at is not range-checked for regular events (old timestamps are accepted).
import http from 'node:http';
import { fstatSync, readFileSync } from 'node:fs';
import { WebSocketServer } from 'ws';
import relayCore from '@nostr-relay/core';
import relayCommon from '@nostr-relay/common';
import sqliteRepo from '@nostr-relay/event-repository-sqlite';
import relayValidator from '@nostr-relay/validator';
import { Negentropy, NegentropyStorage, hexToUint8Array, uint8ArrayToHex } from '@nostr-dev-kit/sync';
import { webcrypto } from 'node:crypto';

// @nostr-dev-kit/sync hashes its fingerprints with the global `crypto.subtle`, which Node 18 (the
// Node of Debian 12) does not define: reconciling a non-empty set would throw there. Node's own
// Web Crypto is the same SHA-256.
if (typeof globalThis.crypto === 'undefined') globalThis.crypto = webcrypto;

const { NostrRelay } = relayCore;
const { LogLevel } = relayCommon;
const { EventRepositorySqlite } = sqliteRepo;
const { Validator } = relayValidator;

const kMaxLimitMultiplier = 10;  // EventRepositorySqlite's MAX_LIMIT_MULTIPLIER
const kMaxMessageBytes = 1024 * 1024;
const kNegModes = ['real', 'notice', 'silence', 'closed', 'too-many'];
const kMaxNegSessions = 64;  // per connection, like max subscriptions

function usage(message) {
  if (message) process.stderr.write(`relay.mjs: ${message}\n`);
  process.stderr.write('usage: relay.mjs [--port P] [--db FILE|:memory:] [--default-limit N] ' +
    '[--nip11 extra.json] [--max-subscriptions N] [--log-level debug|info|warn|error] ' +
    '[--negentropy real|notice|silence|closed|too-many] [--neg-max-items N] [--neg-frame-limit BYTES] ' +
    '[--deflate on|off]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { port: 0, db: ':memory:', defaultLimit: 100, nip11: null, maxSubscriptions: 20, logLevel: 'warn',
    negentropy: null, negMaxItems: 1000000, negFrameLimit: 500000, deflate: 'off' };
  for (let i = 0; i < argv.length; ++i) {
    const key = argv[i];
    const value = argv[i + 1];
    if (value === undefined) usage(`${key} needs a value`);
    ++i;
    switch (key) {
      case '--port': opts.port = Number(value); break;
      case '--db': opts.db = value; break;
      case '--default-limit': opts.defaultLimit = Number(value); break;
      case '--nip11': opts.nip11 = value; break;
      case '--max-subscriptions': opts.maxSubscriptions = Number(value); break;
      case '--log-level': opts.logLevel = value; break;
      case '--negentropy': opts.negentropy = value; break;
      case '--neg-max-items': opts.negMaxItems = Number(value); break;
      case '--neg-frame-limit': opts.negFrameLimit = Number(value); break;
      case '--deflate': opts.deflate = value; break;
      default: usage(`unknown option ${key}`);
    }
  }
  if (!['on', 'off'].includes(opts.deflate)) usage('--deflate wants on or off');
  if (opts.negentropy !== null && !kNegModes.includes(opts.negentropy)) usage(`unknown --negentropy mode ${opts.negentropy}`);
  for (const k of ['port', 'defaultLimit', 'maxSubscriptions', 'negMaxItems', 'negFrameLimit']) {
    if (!Number.isInteger(opts[k]) || opts[k] < 0) usage(`${k} must be a non-negative integer`);
  }
  if (opts.defaultLimit < 1) usage('--default-limit must be at least 1');
  if (!(opts.logLevel.toUpperCase() in LogLevel)) usage(`unknown log level ${opts.logLevel}`);
  return opts;
}

// Deep merge for the NIP-11 overrides: objects merge, everything else (arrays included) replaces.
function merge(base, extra) {
  const out = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const isObject = x => x !== null && typeof x === 'object' && !Array.isArray(x);
    out[k] = isObject(v) && isObject(base[k]) ? merge(base[k], v) : v;
  }
  return out;
}

// All logging goes to stderr: stdout is reserved for the LISTENING line.
function stderrLogger(minLevel) {
  let level = minLevel;
  const at = (l, tag) => (message, ...args) => {
    if (l < level) return;
    const extra = args.map(a => (a instanceof Error ? a.stack : String(a))).join(' ');
    process.stderr.write(`[relay ${tag}] ${message}${extra ? ' ' + extra : ''}\n`);
  };
  return {
    setLogLevel(l) { level = Math.max(l, minLevel); },
    debug: at(LogLevel.DEBUG, 'debug'),
    info: at(LogLevel.INFO, 'info'),
    warn: at(LogLevel.WARN, 'warn'),
    error: at(LogLevel.ERROR, 'error'),
  };
}

const opts = parseArgs(process.argv.slice(2));

let extraNip11 = {};
if (opts.nip11) {
  try {
    extraNip11 = JSON.parse(readFileSync(opts.nip11, 'utf8'));
  } catch (e) {
    process.stderr.write(`relay.mjs: cannot read --nip11 ${opts.nip11}: ${e.message}\n`);
    process.exit(1);
  }
}

const nip11 = merge({
  name: 'archivist-test-relay',
  description: 'A real relay (@nostr-relay/core 0.0.40 + SQLite) on loopback for Archivist tests',
  software: 'https://github.com/CodyTseng/nostr-relay',
  version: '0.0.40',
  // 1 basic protocol, 2 contact lists, 4 DMs stored, 9 deletion, 11 this document,
  // 12/16/20/33 tag queries and replaceable/ephemeral kinds, 26 delegation check, 28 channels,
  // 40 expiration, 50 search (SQLite FTS).
  supported_nips: [1, 2, 4, 9, 11, 12, 16, 20, 26, 28, 33, 40, 50, ...(opts.negentropy ? [77] : [])],
  limitation: {
    max_message_length: kMaxMessageBytes,
    max_subscriptions: opts.maxSubscriptions,
    max_limit: opts.defaultLimit * kMaxLimitMultiplier,
    default_limit: opts.defaultLimit,
    max_subid_length: 128,
    max_event_tags: 2000,
    max_content_length: 102400,
    auth_required: false,
    payment_required: false,
    restricted_writes: false,
  },
}, extraNip11);

const repository = new EventRepositorySqlite(opts.db, { defaultLimit: opts.defaultLimit });
await repository.init();
const logLevel = LogLevel[opts.logLevel.toUpperCase()];
const relay = new NostrRelay(repository, {
  logger: stderrLogger(logLevel),
  logLevel,
  maxSubscriptionsPerClient: opts.maxSubscriptions,
  filterResultCacheTtl: 0,
});
const validator = new Validator();

// NIP-77 over the relay's own store. Filters: since/until/kinds/authors/ids (what Archivist sends);
// anything else is refused with NEG-ERR so a test never reconciles against the wrong set.
const db = repository.betterSqlite3;
function negItems(filter) {
  const where = [];
  const args = [];
  for (const key of Object.keys(filter)) {
    if (!['since', 'until', 'kinds', 'authors', 'ids'].includes(key)) throw new Error(`unsupported filter key ${key}`);
  }
  if (filter.since !== undefined) { where.push('created_at >= ?'); args.push(filter.since); }
  if (filter.until !== undefined) { where.push('created_at <= ?'); args.push(filter.until); }
  for (const [key, column] of [['kinds', 'kind'], ['authors', 'author'], ['ids', 'id']]) {
    if (!filter[key]) continue;
    where.push(`${column} IN (${filter[key].map(() => '?').join(',')})`);
    args.push(...filter[key]);
  }
  const sql = `SELECT id, created_at FROM events${where.length ? ' WHERE ' + where.join(' AND ') : ''} LIMIT ?`;
  return db.prepare(sql).all(...args, opts.negMaxItems + 1);
}

const negStats = { opens: 0, messages: 0, errors: 0 };
async function handleNegentropy(ws, sessions, message) {
  const send = m => { if (ws.readyState === 1) ws.send(JSON.stringify(m)); };
  const [type, sub] = message;
  if (typeof sub !== 'string') return send(['NOTICE', `invalid: ${type} without a subscription id`]);
  if (type === 'NEG-CLOSE') { sessions.delete(sub); return; }
  if (type === 'NEG-OPEN') {
    ++negStats.opens;
    switch (opts.negentropy) {
      case 'notice': return send(['NOTICE', 'ERROR: bad msg: unknown cmd']);
      case 'silence': return;
      case 'closed': return send(['CLOSED', sub, 'error: negentropy is disabled']);
      case 'too-many': return send(['NEG-ERR', sub, 'blocked: too many query results']);
    }
    sessions.delete(sub);  // NIP-77: a NEG-OPEN on an open id replaces that session
    if (sessions.size >= kMaxNegSessions) return send(['NEG-ERR', sub, 'blocked: too many negentropy sessions']);
    let rows;
    try {
      rows = negItems(message[2] ?? {});
    } catch (e) {
      return send(['NEG-ERR', sub, `error: ${e.message}`]);
    }
    if (rows.length > opts.negMaxItems) return send(['NEG-ERR', sub, 'blocked: too many query results']);
    const storage = new NegentropyStorage();
    for (const r of rows) storage.insert(r.created_at, r.id);
    storage.seal();
    sessions.set(sub, new Negentropy(storage, opts.negFrameLimit));
  }
  const neg = sessions.get(sub);
  if (!neg) return send(['NEG-ERR', sub, 'closed: unknown negentropy session']);
  ++negStats.messages;
  try {
    const hex = type === 'NEG-OPEN' ? message[3] : message[2];
    const { nextMessage } = await neg.reconcile(hexToUint8Array(String(hex)));
    send(['NEG-MSG', sub, uint8ArrayToHex(nextMessage)]);
  } catch (e) {
    ++negStats.errors;
    sessions.delete(sub);
    send(['NEG-ERR', sub, `error: ${e.message}`]);
  }
}

const server = http.createServer((req, res) => {
  const accept = String(req.headers.accept ?? '');
  if (req.method === 'GET' && accept.includes('application/nostr+json')) {
    const body = JSON.stringify(nip11);
    res.writeHead(200, {
      'Content-Type': 'application/nostr+json',
      'Content-Length': Buffer.byteLength(body),
      'Access-Control-Allow-Origin': '*',
    });
    res.end(body);
    return;
  }
  const body = 'archivist test relay: connect with a WebSocket, or GET with Accept: application/nostr+json\n';
  res.writeHead(req.method === 'GET' ? 200 : 405, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});

const wss = new WebSocketServer({
  server,
  maxPayload: kMaxMessageBytes,
  perMessageDeflate: opts.deflate === 'on' ? { threshold: 64 } : false,
});
wss.on('connection', (ws, req) => {
  relay.handleConnection(ws, req.socket.remoteAddress);
  const negSessions = new Map();
  ws.on('message', async data => {
    if (opts.negentropy) {
      let parsed;
      try { parsed = JSON.parse(data.toString()); } catch { parsed = null; }
      if (Array.isArray(parsed) && ['NEG-OPEN', 'NEG-MSG', 'NEG-CLOSE'].includes(parsed[0])) {
        await handleNegentropy(ws, negSessions, parsed);
        return;
      }
    }
    let message;
    try {
      message = await validator.validateIncomingMessage(data);
    } catch (e) {
      if (ws.readyState === 1) ws.send(JSON.stringify(['NOTICE', String(e.message ?? e)]));
      return;
    }
    try {
      await relay.handleMessage(ws, message);
    } catch (e) {
      process.stderr.write(`[relay error] handling ${message[0]}: ${e.stack ?? e}\n`);
      if (ws.readyState === 1) ws.send(JSON.stringify(['NOTICE', `error: ${e.message ?? e}`]));
    }
  });
  ws.on('close', () => relay.handleDisconnect(ws));
  ws.on('error', e => process.stderr.write(`[relay warn] client socket: ${e.message}\n`));
});

let stopping = false;
async function shutdown(why, code = 0) {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`[relay info] stopping (${why})\n`);
  for (const client of wss.clients) client.terminate();
  wss.close();
  server.close();
  server.closeAllConnections?.();
  try {
    await relay.destroy();
    await repository.destroy();
  } catch (e) {
    process.stderr.write(`[relay warn] shutdown: ${e.message}\n`);
  }
  process.exit(code);
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
// Watch stdin only when it is a pipe or socket: a background job in a script gets /dev/null,
// which would read as an immediate EOF.
const stdinStat = fstatSync(0, { throwIfNoEntry: false });
if (stdinStat && (stdinStat.isFIFO() || stdinStat.isSocket())) {
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}

server.on('error', e => {
  process.stderr.write(`relay.mjs: ${e.message}\n`);
  process.exit(1);
});
server.listen(opts.port, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
