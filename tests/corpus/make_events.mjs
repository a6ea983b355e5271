#!/usr/bin/env node
// Usage: node make_events.mjs OUT N [--seed S]
//
// Writes N distinct, valid, signed events as JSONL to OUT (canonical NIP-01 JSON, one per line),
// shaped roughly like relay traffic: ~75 % kind 1, then reactions, reposts, contact lists,
// metadata and long-form; 0–5 tags; 50–500 bytes of content with some non-ASCII; 64 authors;
// created_at spread over 30 days with many shared seconds. Same N and seed → same bytes.
// Every 97th event is re-checked with nostr-tools (id and signature) before it is written.
import { createWriteStream } from 'node:fs';
import { Author, Rng, nostrToolsAccepts } from './nostr_keys.mjs';

function usage() {
  process.stderr.write('usage: make_events.mjs OUT N [--seed S]\n');
  process.exit(2);
}

const args = process.argv.slice(2);
let seed = '1';
const seedAt = args.indexOf('--seed');
if (seedAt >= 0) {
  if (seedAt + 1 >= args.length) usage();
  seed = args[seedAt + 1];
  args.splice(seedAt, 2);
}
if (args.length !== 2) usage();
const [out, countText] = args;
const count = Number(countText);
if (!Number.isInteger(count) || count < 0) usage();

const rng = new Rng(seed);
const authors = Array.from({ length: 64 }, (_, i) => new Author(`archivist-events/${seed}`, i));
const words = ['nostr', 'relay', 'zap', 'gm', 'archive', 'bitcoin', 'hello', 'world', 'note', 'event',
  'signature', 'schnorr', 'über', 'café', 'naïve', '日本語', 'Ωμέγα', '🎉', '🤙', '⚡', 'the', 'a', 'of',
  'and', 'to', 'in', 'is', 'that', 'it', 'for', 'on', 'with', 'as', 'was', 'at', 'by', '"quoted"',
  'line\nbreak', 'tab\there', 'https://example.com/path?q=1'];
const kStart = 1710000000;
const recentIds = [];

function text(minBytes, maxBytes) {
  const target = rng.int(minBytes, maxBytes);
  let s = '';
  while (Buffer.byteLength(s) < target) s += (s ? ' ' : '') + rng.pick(words);
  return s;
}

function randomTags(maxTags) {
  const tags = [];
  const n = rng.int(0, maxTags);
  for (let i = 0; i < n; ++i) {
    const r = rng.next();
    if (r < 0.4 && recentIds.length) tags.push(['e', rng.pick(recentIds), '', rng.pick(['root', 'reply'])]);
    else if (r < 0.7) tags.push(['p', rng.pick(authors).pubkey]);
    else if (r < 0.9) tags.push(['t', rng.pick(words).replace(/\s/g, '')]);
    else tags.push(['client', 'archivist-tests']);
  }
  return tags;
}

function nextEvent(index) {
  const author = rng.pick(authors);
  const created_at = kStart + rng.int(0, 30 * 86400) - (rng.next() < 0.3 ? rng.int(0, 600) : 0);
  const r = rng.next();
  let kind, tags, content;
  if (r < 0.75) {
    kind = 1; tags = randomTags(5); content = text(50, 500);
  } else if (r < 0.87) {
    kind = 7; tags = recentIds.length ? [['e', rng.pick(recentIds)], ['p', rng.pick(authors).pubkey]] : [];
    content = rng.pick(['+', '🤙', '❤️', '-']);
  } else if (r < 0.93) {
    kind = 6; tags = randomTags(2); content = '';
  } else if (r < 0.96) {
    kind = 3; tags = Array.from({ length: rng.int(1, 5) }, () => ['p', rng.pick(authors).pubkey]); content = '';
  } else if (r < 0.98) {
    kind = 0; tags = []; content = JSON.stringify({ name: `author ${index}`, about: text(20, 120) });
  } else {
    kind = 30023; tags = [['d', `article-${index}`], ['title', text(10, 40)]]; content = text(300, 500);
  }
  // The index keeps every event distinct even when the random parts repeat.
  content = kind === 7 || kind === 6 || kind === 3 ? content : `${content} #${index}`;
  if (kind === 7 || kind === 6 || kind === 3) tags.push(['nonce', String(index)]);
  return author.sign({ created_at, kind, tags, content });
}

const stream = createWriteStream(out);
let buffered = '';
for (let i = 0; i < count; ++i) {
  const ev = nextEvent(i);
  if (i % 97 === 0 && !nostrToolsAccepts(ev)) throw new Error(`nostr-tools rejects generated event ${i}`);
  recentIds.push(ev.id);
  if (recentIds.length > 256) recentIds.shift();
  buffered += JSON.stringify(ev) + '\n';
  if (buffered.length > 1 << 20) {
    stream.write(buffered);
    buffered = '';
  }
}
stream.end(buffered);
