#!/usr/bin/env node
// Publishes generated, signed events to a relay with nostr-tools and waits for every OK.
//
// Usage: node publish.mjs --url ws://127.0.0.1:P --count N
//          [--same-second K --kinds-in-second M] [--created-at-base T] [--seed S] [--ids-out FILE]
//          [--live-every-ms X --live-count L] [--concurrency C]
//
// History (--count N): N distinct events, deterministic for a seed (keys from nostr_keys.mjs,
// family "archivist-publish/<seed>", 16 authors). Kinds, tags and content vary, but every kind is
// a *regular* one (1, 6, 7, 16, 1111, 1068): replaceable, ephemeral and deletion kinds would make
// a relay keep fewer events than were published, and tests count them.
//  - K of the N events (--same-second, default 0) share ONE created_at second, T (the base), and
//    are spread round-robin over M kinds (--kinds-in-second, default 1): a test can put more
//    events into one second than the relay returns per query.
//  - the other N − K events have created_at in [T − 30 days, T − 1], never T.
//  - T defaults to 1710000000.
// Live (--live-every-ms X): after the history, one new event (kind 1, created_at = now) every
// X ms, --live-count L of them (0 = until SIGTERM/SIGINT). Each acknowledged live event prints
// `LIVE <id> <created_at>` on stdout.
//
// Every publish must be answered OK true (a "duplicate:" OK counts as success, as NIP-01 says);
// any rejection, timeout or lost connection makes the script print the reason and exit 1.
// --ids-out FILE: the ids of all events published (history and live), hex, one per line, sorted,
// written when the script finishes (also after SIGTERM/SIGINT in live mode).
// Last stdout line: `PUBLISHED <n>`. Exit 0 on success, 1 on any failure, 2 on bad usage.
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay';
import { Author, Rng, nostrToolsAccepts } from '../corpus/nostr_keys.mjs';

useWebSocketImplementation(WebSocket);

const kHistoryKinds = [1, 1, 1, 1, 1, 7, 7, 6, 16, 1111, 1068];
const kSecondKinds = [1, 7, 6, 16, 1111, 1068];
const kWords = ['nostr', 'relay', 'zap', 'gm', 'archive', 'bitcoin', 'hello', 'world', 'über', 'café',
  '日本語', '🎉', '⚡', 'the', 'a', 'of', 'and', 'to', '"quoted"', 'line\nbreak', 'https://example.com/x?q=1'];
const kMonthS = 30 * 86400;

function usage(message) {
  if (message) process.stderr.write(`publish.mjs: ${message}\n`);
  process.stderr.write('usage: publish.mjs --url ws://127.0.0.1:P --count N [--same-second K --kinds-in-second M] ' +
    '[--created-at-base T] [--seed S] [--ids-out FILE] [--live-every-ms X --live-count L] [--concurrency C]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { url: null, count: 0, sameSecond: 0, kindsInSecond: 1, base: 1710000000, seed: '1', idsOut: null,
    liveEveryMs: 0, liveCount: 0, concurrency: 32 };
  const ints = { '--count': 'count', '--same-second': 'sameSecond', '--kinds-in-second': 'kindsInSecond',
    '--created-at-base': 'base', '--live-every-ms': 'liveEveryMs', '--live-count': 'liveCount',
    '--concurrency': 'concurrency' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (value === undefined) usage(`${key} needs a value`);
    if (key in ints) {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) usage(`${key} must be a non-negative integer`);
      o[ints[key]] = n;
    } else if (key === '--url') o.url = value;
    else if (key === '--seed') o.seed = value;
    else if (key === '--ids-out') o.idsOut = value;
    else usage(`unknown option ${key}`);
  }
  if (!o.url) usage('--url is required');
  if (o.sameSecond > o.count) usage('--same-second cannot exceed --count');
  if (o.kindsInSecond < 1 || o.kindsInSecond > kSecondKinds.length) {
    usage(`--kinds-in-second must be 1…${kSecondKinds.length}`);
  }
  if (o.concurrency < 1) usage('--concurrency must be at least 1');
  if (o.base < kMonthS) usage('--created-at-base is too small');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const rng = new Rng(`publish/${opts.seed}`);
const authors = Array.from({ length: 16 }, (_, i) => new Author(`archivist-publish/${opts.seed}`, i));
const published = [];
const recentIds = [];

function text(minBytes, maxBytes) {
  const target = rng.int(minBytes, maxBytes);
  let s = '';
  while (Buffer.byteLength(s) < target) s += (s ? ' ' : '') + rng.pick(kWords);
  return s;
}

function makeEvent(index, created_at, kind, label) {
  const author = rng.pick(authors);
  const tags = [];
  const ntags = rng.int(0, 4);
  for (let t = 0; t < ntags; ++t) {
    const r = rng.next();
    if (r < 0.4 && recentIds.length) tags.push(['e', rng.pick(recentIds)]);
    else if (r < 0.7) tags.push(['p', rng.pick(authors).pubkey]);
    else tags.push(['t', rng.pick(['nostr', 'archive', 'test', 'gm'])]);
  }
  tags.push(['nonce', `${label}-${index}`]);  // keeps every event distinct
  const content = kind === 7 ? rng.pick(['+', '🤙', '❤️']) : kind === 6 || kind === 16 ? '' : `${text(20, 300)} #${label}${index}`;
  const event = author.sign({ created_at, kind, tags, content });
  if (index % 97 === 0 && !nostrToolsAccepts(event)) throw new Error(`nostr-tools rejects generated event ${event.id}`);
  recentIds.push(event.id);
  if (recentIds.length > 64) recentIds.shift();
  return event;
}

function history() {
  const events = [];
  for (let i = 0; i < opts.count; ++i) {
    if (i < opts.sameSecond) {
      events.push(makeEvent(i, opts.base, kSecondKinds[i % opts.kindsInSecond], 'h'));
    } else {
      events.push(makeEvent(i, opts.base - rng.int(1, kMonthS), rng.pick(kHistoryKinds), 'h'));
    }
  }
  return events;
}

function writeIds() {
  if (!opts.idsOut) return;
  const sorted = [...published].sort();
  writeFileSync(opts.idsOut, sorted.length ? sorted.join('\n') + '\n' : '');
}

function die(message) {
  process.stderr.write(`publish.mjs: ${message}\n`);
  writeIds();
  process.exit(1);
}

async function publishOne(relay, event) {
  try {
    await relay.publish(event);
  } catch (e) {
    die(`relay rejected or did not acknowledge ${event.id} (kind ${event.kind}, created_at ${event.created_at}): ${e.message ?? e}`);
  }
  published.push(event.id);
}

let relay;
let finishing = false;
try {
  relay = await Relay.connect(opts.url);
} catch (e) {
  die(`cannot connect to ${opts.url}: ${e.message ?? e}`);
}
relay.publishTimeout = 30000;
relay.onclose = () => { if (!finishing) die(`connection to ${opts.url} closed`); };

function finish(code = 0) {
  if (finishing) return;
  finishing = true;
  writeIds();
  relay.close();
  // Exit from the write callback: writes to a pipe are asynchronous and exit() would cut them.
  process.stdout.write(`PUBLISHED ${published.length}\n`, () => process.exit(code));
}

// History: at most `concurrency` publishes in flight.
const events = history();
let next = 0;
async function worker() {
  while (next < events.length) await publishOne(relay, events[next++]);
}
await Promise.all(Array.from({ length: Math.min(opts.concurrency, events.length) }, worker));
process.stderr.write(`publish.mjs: ${events.length} events published to ${opts.url}\n`);

if (opts.liveEveryMs > 0) {
  process.on('SIGTERM', () => finish(0));
  process.on('SIGINT', () => finish(0));
  let live = 0;
  const tick = async () => {
    const created_at = Math.floor(Date.now() / 1000);
    const event = makeEvent(live, created_at, 1, 'live');
    ++live;
    await publishOne(relay, event);
    process.stdout.write(`LIVE ${event.id} ${created_at}\n`);
    if (opts.liveCount > 0 && live >= opts.liveCount) finish(0);
    else setTimeout(tick, opts.liveEveryMs);
  };
  setTimeout(tick, opts.liveEveryMs);
} else {
  finish(0);
}
