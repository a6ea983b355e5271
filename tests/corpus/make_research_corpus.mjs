#!/usr/bin/env node
// Usage: node make_research_corpus.mjs DIR N NOW [--seed S]
//
// A corpus for the research statistics, coverage and snapshot tests (tests/integration/
// test_research.sh), written to DIR:
//   all.jsonl       N signed events + the held referenced events: kinds 1, 7, 6, 0 and 30023 from
//                   40 authors; ~75 % dated over ten days of March 2024 (backdated: first seen long
//                   after), ~15 % dated 3–8 days after NOW (future-dated), ~10 % 2–4 days before NOW.
//   replica.jsonl   every third event of all.jsonl (imported as a second source: replicated events)
//   withheld.jsonl  30 of the 100 referenced events, left out of all.jsonl
//   withheld.ids    their ids, sorted
// 100 "target" events are referenced by `e` or `q` tags of kind-1 events (each at least once,
// some twice); 70 of them are in all.jsonl. Same N, NOW and seed → same bytes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Author, Rng, nostrToolsAccepts } from './nostr_keys.mjs';

const args = process.argv.slice(2);
let seed = '1';
const seedAt = args.indexOf('--seed');
if (seedAt >= 0) {
  seed = args[seedAt + 1];
  args.splice(seedAt, 2);
}
if (args.length !== 3) {
  process.stderr.write('usage: make_research_corpus.mjs DIR N NOW [--seed S]\n');
  process.exit(2);
}
const [dir, countText, nowText] = args;
const count = Number(countText);
const now = Number(nowText);
const rng = new Rng(`research/${seed}`);
const authors = Array.from({ length: 40 }, (_, i) => new Author(`archivist-research/${seed}`, i));
const kOld = 1710000000;  // 2024-03-09

function createdAt() {
  const r = rng.next();
  if (r < 0.75) return kOld + rng.int(0, 10 * 86400 - 1);
  if (r < 0.9) return now + 3 * 86400 + rng.int(0, 5 * 86400);
  return now - 2 * 86400 - rng.int(0, 2 * 86400);
}

// The referenced targets: kind 1 notes of the old days.
const targets = [];
for (let i = 0; i < 100; ++i)
  targets.push(rng.pick(authors).sign({ created_at: kOld + rng.int(0, 10 * 86400 - 1), kind: 1, tags: [],
    content: `referenced note ${i}` }));
const withheld = new Set();
while (withheld.size < 30) withheld.add(rng.int(0, 99));

const events = [];
for (let i = 0; i < 100; ++i) if (!withheld.has(i)) events.push(targets[i]);
let nextTarget = 0;
for (let i = 0; i < count; ++i) {
  const author = rng.pick(authors);
  const r = rng.next();
  let kind, tags = [], content = '';
  if (r < 0.6) {
    kind = 1;
    content = `note ${i} ${'word '.repeat(rng.int(1, 20))}`;
    // Every target is referenced once in order, then at random.
    if (nextTarget < 100 || rng.next() < 0.3) {
      const t = nextTarget < 100 ? targets[nextTarget++] : rng.pick(targets);
      tags.push([rng.next() < 0.7 ? 'e' : 'q', t.id]);
    }
  } else if (r < 0.8) {
    kind = 7; content = '+'; tags = [['nonce', String(i)]];
  } else if (r < 0.9) {
    kind = 6; tags = [['nonce', String(i)]];
  } else if (r < 0.95) {
    kind = 0; content = JSON.stringify({ name: `author ${i}` });
  } else {
    kind = 30023; tags = [['d', `article-${i}`]]; content = `article ${i}`;
  }
  const ev = author.sign({ created_at: createdAt(), kind, tags, content });
  if (i % 97 === 0 && !nostrToolsAccepts(ev)) throw new Error(`nostr-tools rejects generated event ${i}`);
  events.push(ev);
}
if (nextTarget < 100) throw new Error('N too small to reference every target');

mkdirSync(dir, { recursive: true });
const lines = (list) => list.map((e) => JSON.stringify(e) + '\n').join('');
writeFileSync(join(dir, 'all.jsonl'), lines(events));
writeFileSync(join(dir, 'replica.jsonl'), lines(events.filter((_, i) => i % 3 === 0)));
const held = [...withheld].map((i) => targets[i]);
writeFileSync(join(dir, 'withheld.jsonl'), lines(held));
writeFileSync(join(dir, 'withheld.ids'), held.map((e) => e.id).sort().join('\n') + '\n');
