#!/usr/bin/env node
// Stores events from a JSONL file straight into a relay.mjs database (the repository the relay
// serves), for benchmarks that need a relay holding many events without publishing them one by
// one over a WebSocket. The relay must not be running on that file.
//
// Usage: node seed.mjs --db FILE --events FILE.jsonl
// Prints `SEEDED <n>` (events the repository stored) on stdout; exit 1 on any error.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import sqliteRepo from '@nostr-relay/event-repository-sqlite';

const { EventRepositorySqlite } = sqliteRepo;
const args = process.argv.slice(2);
const at = k => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : undefined; };
const db = at('--db');
const events = at('--events');
if (!db || !events) {
  process.stderr.write('usage: seed.mjs --db FILE --events FILE.jsonl\n');
  process.exit(2);
}
const repository = new EventRepositorySqlite(db);
await repository.init();
let stored = 0;
repository.betterSqlite3.pragma('synchronous = OFF');  // a benchmark's scratch database
for await (const line of createInterface({ input: createReadStream(events), crlfDelay: Infinity })) {
  if (!line.trim()) continue;
  const result = await repository.upsert(JSON.parse(line));
  stored += result.isDuplicate ? 0 : 1;
}
await repository.destroy();
process.stdout.write(`SEEDED ${stored}\n`);
