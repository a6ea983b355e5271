#!/usr/bin/env node
// Usage: node check_export.mjs EXPECTED.jsonl EXPORTED.jsonl
//
// Compares `archivist export` output with the events that should be in it:
//   - every exported line is a JSON object with exactly the seven NIP-01 fields;
//   - the exported id set equals the expected id set, with no id exported twice;
//   - per id, every field value deep-equals the expected event (types included);
//   - created_at never decreases (oldest first).
// Prints each problem (up to 20) to stderr and exits 1 if there is any; exits 0 otherwise.
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';

const kFields = ['id', 'pubkey', 'created_at', 'kind', 'tags', 'content', 'sig'];

if (process.argv.length !== 4) {
  process.stderr.write('usage: check_export.mjs EXPECTED.jsonl EXPORTED.jsonl\n');
  process.exit(2);
}
const [expectedPath, exportedPath] = process.argv.slice(2);

const problems = [];
const problem = (text) => problems.push(text);
const linesOf = (path) => readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);

const expected = new Map();
for (const line of linesOf(expectedPath)) {
  const ev = JSON.parse(line);
  expected.set(ev.id, ev);
}

const exported = new Map();
let previousCreatedAt = -Infinity;
linesOf(exportedPath).forEach((line, index) => {
  const where = `export line ${index + 1}`;
  let ev;
  try {
    ev = JSON.parse(line);
  } catch (e) {
    problem(`${where}: not JSON (${e.message}): ${line.slice(0, 120)}`);
    return;
  }
  if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) {
    problem(`${where}: not an object`);
    return;
  }
  const keys = Object.keys(ev).sort();
  if (!isDeepStrictEqual(keys, [...kFields].sort())) problem(`${where}: fields are [${keys}], expected exactly [${kFields}]`);
  if (exported.has(ev.id)) problem(`${where}: id ${ev.id} exported twice`);
  exported.set(ev.id, ev);
  if (!(ev.created_at >= previousCreatedAt)) {
    problem(`${where}: created_at ${ev.created_at} after ${previousCreatedAt} — not oldest first`);
  }
  previousCreatedAt = ev.created_at;
  const want = expected.get(ev.id);
  if (!want) {
    problem(`${where}: id ${ev.id} was not expected`);
    return;
  }
  for (const field of kFields) {
    if (!isDeepStrictEqual(ev[field], want[field])) {
      problem(`${where}: ${field} of ${ev.id} differs: got ${JSON.stringify(ev[field])?.slice(0, 200)}, ` +
        `expected ${JSON.stringify(want[field])?.slice(0, 200)}`);
    }
  }
});
for (const id of expected.keys()) if (!exported.has(id)) problem(`expected id ${id} missing from the export`);

if (problems.length) {
  for (const p of problems.slice(0, 20)) process.stderr.write(p + '\n');
  if (problems.length > 20) process.stderr.write(`… and ${problems.length - 20} more problems\n`);
  process.stderr.write(`export check: ${problems.length} problem(s); ${exported.size} exported, ${expected.size} expected\n`);
  process.exit(1);
}
process.stdout.write(`export check: ${exported.size} events match\n`);
