#!/usr/bin/env node
// Usage: node make_corpus.mjs OUT_DIR
//
// Writes the independent acceptance corpus for `archivist import`:
//   OUT_DIR/corpus.jsonl   the input: valid events (many written in unusual but legal JSON),
//                          duplicates, labelled invalid lines and a few blank lines
//   OUT_DIR/valid.jsonl    each valid event once, canonical JSON, in first-seen order
//   OUT_DIR/expected.json  what a correct import must report (see the bottom of this file)
//   OUT_DIR/labels.jsonl   one record per corpus line: {line, expect, note} — for debugging
// The output is byte-for-byte reproducible (fixed keys, deterministic signatures).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Author, nostrToolsAccepts } from './nostr_keys.mjs';

const outDir = process.argv[2];
if (!outDir || process.argv.length > 3) {
  process.stderr.write('usage: make_corpus.mjs OUT_DIR\n');
  process.exit(2);
}

const kReasons = [
  'not_json', 'not_object', 'missing_field', 'duplicate_field', 'invalid_id', 'invalid_pubkey',
  'invalid_sig', 'invalid_created_at', 'invalid_kind', 'invalid_tags', 'invalid_content',
  'invalid_utf8', 'too_large', 'id_mismatch', 'bad_signature',
];
const kFields = ['id', 'pubkey', 'created_at', 'kind', 'tags', 'content', 'sig'];

const authors = [0, 1, 2, 3, 4, 5].map((i) => new Author('archivist-corpus', i));

// ---------------------------------------------------------------------------------------------
// Serialisations. Every one is legal JSON for the same value, so a duplicate written in any of
// them must be recognised as the same event.

function canonical(ev) {
  return JSON.stringify(ev, kFields);
}

function withKeyOrder(ev, keys) {
  return JSON.stringify(ev, keys);
}

// Legal JSON whitespace (space, tab) around every token.
function spaced(value) {
  if (Array.isArray(value)) return '[ ' + value.map(spaced).join(' ,\t') + ' ]';
  if (value !== null && typeof value === 'object') {
    return '{\t' + Object.keys(value).map((k) => `${JSON.stringify(k)} :  ${spaced(value[k])}`).join(' , ') + ' }';
  }
  return JSON.stringify(value);
}

// Every non-ASCII UTF-16 unit (and DEL) as \uXXXX — astral characters become escaped surrogate
// pairs — and every '/' as '\/'. Outside strings JSON.stringify emits only ASCII and no '/'.
function asciiEscaped(json) {
  let out = '';
  for (let i = 0; i < json.length; ++i) {
    const unit = json.charCodeAt(i);
    if (unit >= 0x7f) out += '\\u' + unit.toString(16).padStart(4, '0');
    else if (json[i] === '/') out += '\\/';
    else out += json[i];
  }
  return out;
}

// Also escape letters that never need it (\u0041 …) and use upper-case hex in escapes.
function gratuitouslyEscaped(json) {
  return asciiEscaped(json).replace(/"content":"([^"\\]*)/, (whole, text) =>
    '"content":"' + [...text].map((c) => '\\u' + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')).join(''));
}

// ---------------------------------------------------------------------------------------------
// The valid events.

const valid = [];  // unique events, first-seen order
function make(authorIndex, created_at, kind, tags, content) {
  const ev = authors[authorIndex].sign({ created_at, kind, tags, content });
  if (!nostrToolsAccepts(ev)) throw new Error(`nostr-tools rejects generated event ${ev.id}`);
  valid.push(ev);
  return ev;
}

const kBase = 1700000000;
const escapes = make(0, kBase, 1, [], 'quote " backslash \\ newline \n return \r tab \t backspace \b formfeed \f end');
const allControls = make(0, kBase + 1, 1, [['t', 'ctl\u0001\u001f']],
  'controls:' + Array.from({ length: 32 }, (_, c) => String.fromCharCode(c)).join('') + '\u007f:end');
const perControl = [];
for (let c = 0; c < 32; ++c) {
  perControl.push(make(1, kBase + 2 + c, 1, [['c', String.fromCharCode(c)]], `before${String.fromCharCode(c)}after`));
}
const del = make(1, kBase + 40, 1, [], 'delete\u007fchar');
const separators = make(2, kBase + 41, 1, [['t', 'line\u2028para\u2029']], 'line separator\u2028paragraph separator\u2029done');
const emoji = make(2, kBase + 42, 1, [['t', '🎉'], ['emoji', 'party', 'https://example.com/🎉.png']],
  'astral 😀 🎉 𝄞 🏳️‍🌈 👍🏽 and BMP é ü 中文 Ω');
const mixedUnicode = make(3, kBase + 43, 1, [], 'slash / and </script> and \\/ literal and \u00a0nbsp \ufeffbom \uffff max-bmp');
const big = make(3, kBase + 44, 1, [['t', 'big']],
  ('sixty kilobytes of content, with ümlauts and "quotes" and \n newlines. ').repeat(880).slice(0, 61440));
const empty = make(4, kBase + 45, 1, [], '');
const epoch = make(4, 0, 1, [], 'created_at zero');
const beyond32 = make(4, 2 ** 40, 1, [], 'created_at 2^40');
const maxSafe = make(5, Number.MAX_SAFE_INTEGER, 1, [], 'created_at 2^53-1');
const kind0 = make(5, kBase + 46, 0, [], JSON.stringify({ name: 'corpus', about: 'kind 0 "metadata"', picture: '' }));
const kindMax = make(5, kBase + 47, 65535, [['d', '']], 'kind 65535');
const emptyTags = make(0, kBase + 48, 1, [['', ''], ['e', ''], ['t', 'ünïcödé ✓'], [''], [], ['p', authors[1].pubkey, '', 'mention']],
  'tags with empty strings, an empty tag and unicode');
const sameSecond = [];
for (let i = 0; i < 50; ++i) {
  sameSecond.push(make(i % authors.length, kBase + 100, [1, 7, 6, 1, 1][i % 5], i % 3 ? [['e', escapes.id]] : [],
    `same second #${i}`));
}
const ordinary = [];
for (let i = 0; i < 20; ++i) {
  ordinary.push(make(i % authors.length, kBase - 86400 + i * 3600, [1, 3, 7, 10002, 30023][i % 5],
    [['t', `topic${i}`], ['p', authors[(i + 1) % authors.length].pubkey]], `ordinary note ${i}: hello nostr`));
}
const firstInEscapedForm = make(1, kBase + 49, 1, [['t', '𝄞']], 'first seen with escapes: 😀 \u2028 é / done');
const firstReordered = make(2, kBase + 50, 1, [], 'first seen with keys in another order and spaces');

// ---------------------------------------------------------------------------------------------
// Lines. A line is a Buffer plus its expectation: 'valid', 'duplicate' or a reject reason.

const lines = [];
const seen = new Set();
function push(text, expect, note) {
  lines.push({ bytes: Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'), expect, note });
}
function pushEvent(ev, text, note) {
  push(text, seen.has(ev.id) ? 'duplicate' : 'valid', note);
  seen.add(ev.id);
}
function blank() {
  push('', 'blank', 'blank line');
}

for (const ev of valid) {
  if (ev === firstInEscapedForm) pushEvent(ev, gratuitouslyEscaped(canonical(ev)), 'first occurrence, \\u escapes and \\/');
  else if (ev === firstReordered) pushEvent(ev, spaced(JSON.parse(withKeyOrder(ev, ['sig', 'tags', 'content', 'kind', 'created_at', 'pubkey', 'id']))), 'first occurrence, reordered + spaced');
  else pushEvent(ev, canonical(ev), 'canonical');
  if (ev === big) blank();
}
blank();
blank();

// Duplicates.
pushEvent(escapes, canonical(escapes), 'exact repeat');
pushEvent(escapes, canonical(escapes), 'exact repeat again');
pushEvent(emoji, canonical(emoji), 'exact repeat');
pushEvent(emoji, asciiEscaped(canonical(emoji)), 'repeat with \\u-escaped surrogate pairs');
pushEvent(allControls, withKeyOrder(allControls, ['content', 'tags', 'sig', 'id', 'kind', 'pubkey', 'created_at']), 'repeat, other key order');
pushEvent(separators, spaced(separators), 'repeat with whitespace');
pushEvent(mixedUnicode, gratuitouslyEscaped(canonical(mixedUnicode)), 'repeat with gratuitous escapes');
pushEvent(big, spaced(big), 'repeat of the 60 KB event with whitespace');
pushEvent(empty, '   ' + canonical(empty) + '  \t', 'repeat with leading/trailing whitespace');
pushEvent(maxSafe, withKeyOrder(maxSafe, ['created_at', 'id', 'sig', 'pubkey', 'kind', 'content', 'tags']), 'repeat, other key order');
pushEvent(sameSecond[7], canonical(sameSecond[7]), 'exact repeat');
pushEvent(firstInEscapedForm, canonical(firstInEscapedForm), 'canonical form after the escaped first occurrence');
pushEvent(firstReordered, canonical(firstReordered), 'canonical form after the reordered first occurrence');

// Invalid lines, each with exactly one defect.
const base = ordinary[3];
const variant = (changes, note, reason) => {
  const ev = { ...base, ...changes };
  push(canonical(ev), reason, note);
};
const flipHex = (hex, at) => hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1);

variant({ sig: flipHex(base.sig, 100) }, 'one sig hex digit changed', 'bad_signature');
variant({ sig: ordinary[4].sig }, 'a valid signature of another event', 'bad_signature');
{
  // Another author's pubkey with the id recomputed: id matches, signature is by someone else.
  const other = authors[(authors.findIndex((a) => a.pubkey === base.pubkey) + 1) % authors.length];
  const forged = other.sign({ created_at: base.created_at, kind: base.kind, tags: base.tags, content: base.content });
  push(canonical({ ...forged, sig: base.sig }), 'bad_signature', 'correct id for another author, signature from the original');
}
variant({ id: flipHex(base.id, 10) }, 'one id hex digit changed', 'id_mismatch');
variant({ content: base.content + '!' }, 'content edited after signing (id and sig still agree with each other)', 'id_mismatch');
variant({ created_at: base.created_at + 1 }, 'created_at edited after signing', 'id_mismatch');
variant({ id: base.id.toUpperCase() }, 'upper-case hex id', 'invalid_id');
variant({ id: base.id.slice(0, 62) }, 'id of 62 hex digits', 'invalid_id');
variant({ pubkey: base.pubkey.toUpperCase() }, 'upper-case hex pubkey', 'invalid_pubkey');
variant({ pubkey: base.pubkey.slice(0, 62) }, 'pubkey of 62 hex digits', 'invalid_pubkey');
variant({ sig: base.sig.slice(0, 126) }, 'sig of 126 hex digits', 'invalid_sig');
variant({ sig: base.sig + 'ab' }, 'sig of 130 hex digits', 'invalid_sig');
variant({ kind: 65536 }, 'kind 65536', 'invalid_kind');
variant({ kind: -1 }, 'kind -1', 'invalid_kind');
variant({ kind: '1' }, 'kind as a string', 'invalid_kind');
variant({ created_at: String(base.created_at) }, 'created_at as a string', 'invalid_created_at');
variant({ created_at: base.created_at + 0.5 }, 'fractional created_at', 'invalid_created_at');
variant({ tags: [['e', 5]] }, 'a number inside a tag', 'invalid_tags');
variant({ tags: [['t', null]] }, 'null inside a tag', 'invalid_tags');
variant({ tags: { t: 'x' } }, 'tags is an object', 'invalid_tags');
variant({ tags: 't' }, 'tags is a string', 'invalid_tags');
variant({ tags: ['t', 'x'] }, 'tags is an array of strings, not of arrays', 'invalid_tags');
variant({ content: 42 }, 'content is a number', 'invalid_content');
variant({ content: null }, 'content is null', 'invalid_content');
for (const field of kFields) {
  const ev = { ...base };
  delete ev[field];
  push(canonical(ev), 'missing_field', `no ${field}`);
}
push(canonical(base).replace(/}$/, `,"kind":${base.kind}}`), 'duplicate_field', 'kind appears twice (same value)');
push(JSON.stringify(['EVENT', 'sub', base]), 'not_object', 'a relay EVENT message (array)');
push('null', 'not_object', 'JSON null');
push('"just a string"', 'not_object', 'JSON string');
push('this is not json', 'not_json', 'plain text');
push(canonical(base).slice(0, 80), 'not_json', 'truncated object');
push(canonical(base) + ' {}', 'not_json', 'two JSON values on one line');
{
  const marker = 'UTF8MARKER';
  const ev = make(0, kBase + 60, 1, [], `bad bytes ${marker} here`);
  valid.pop();  // used only as a template; never written as-is
  const [head, tail] = canonical(ev).split(marker);
  push(Buffer.concat([Buffer.from(head), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(tail)]), 'invalid_utf8', 'raw bytes C3 28 FF in content');
  push(canonical(ev).replace(marker, '\\ud800'), 'invalid_utf8', 'lone surrogate escape in content');
}
blank();

// Sanity: nostr-tools must refuse every invalid line that parses as an object.
for (const line of lines) {
  if (line.expect === 'valid' || line.expect === 'duplicate' || line.expect === 'blank') continue;
  let parsed;
  try { parsed = JSON.parse(line.bytes.toString('utf8')); } catch { continue; }
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && nostrToolsAccepts(parsed) &&
      line.expect !== 'duplicate_field' && line.expect !== 'invalid_utf8' && line.expect !== 'invalid_kind') {
    throw new Error(`nostr-tools accepts a line labelled ${line.expect}: ${line.note}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Output.

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'corpus.jsonl'), Buffer.concat(lines.flatMap((l) => [l.bytes, Buffer.from('\n')])));
writeFileSync(join(outDir, 'valid.jsonl'), valid.map((ev) => canonical(ev) + '\n').join(''));
writeFileSync(join(outDir, 'labels.jsonl'),
  lines.map((l, i) => JSON.stringify({ line: i + 1, expect: l.expect, note: l.note }) + '\n').join(''));

const invalidByReason = {};
for (const l of lines) if (kReasons.includes(l.expect)) invalidByReason[l.expect] = (invalidByReason[l.expect] ?? 0) + 1;
for (const l of lines) {
  if (!['valid', 'duplicate', 'blank', ...kReasons].includes(l.expect)) throw new Error(`bad label ${l.expect}`);
}
const kinds = {};
for (const ev of valid) kinds[ev.kind] = (kinds[ev.kind] ?? 0) + 1;
const count = (what) => lines.filter((l) => l.expect === what).length;
const nostrToolsPackage = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'nostr-tools', 'package.json');

const expected = {
  generator: 'tests/corpus/make_corpus.mjs',
  nostr_tools_version: JSON.parse(readFileSync(nostrToolsPackage, 'utf8')).version,
  lines: lines.length - count('blank'),       // what import must report as `read`
  blank_lines: count('blank'),                // skipped, not read
  stored: valid.length,                       // `stored` on a fresh data dir; `stats` events
  duplicates: count('duplicate'),             // `duplicate` on a fresh data dir
  invalid: lines.length - count('blank') - count('valid') - count('duplicate'),
  invalid_by_reason: invalidByReason,         // exact; reasons not listed must be 0 or absent
  kinds,                                      // `stats --json` kinds over the stored events
  oldest_created_at: Math.min(...valid.map((e) => e.created_at)),
  newest_created_at: Math.max(...valid.map((e) => e.created_at)),
  valid: valid.map((ev) => ev.id),
};
if (count('valid') !== valid.length) throw new Error('valid line count does not match the valid set');
writeFileSync(join(outDir, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
process.stderr.write(`corpus: ${expected.lines} lines (${expected.stored} valid, ${expected.duplicates} duplicates, ` +
  `${expected.invalid} invalid) in ${outDir}\n`);
