#!/usr/bin/env node
// Usage: node make_relay_lists.mjs OUT
//
// Writes signed events that carry relay URLs the way the network does (for relay discovery tests):
// NIP-65 relay lists (kind 10002 `r` tags), legacy kind 3 contact lists with a relay map in the
// content, a NIP-66 relay report (kind 30166, `d` = relay URL, rtt and requirement tags) and notes
// with relay hints in e/p tags — plus junk a discovery must refuse (an https URL, a private
// address, a loopback address, a URL with credentials, a .onion host, a localhost name).
// Expected outcome (tests/integration/test_cli_relays.sh): exactly the 6 public relays below.
import { writeFileSync } from 'node:fs';
import { Author } from './nostr_keys.mjs';

if (process.argv.length !== 3) {
  process.stderr.write('usage: make_relay_lists.mjs OUT\n');
  process.exit(2);
}
const a = new Author('archivist-relay-lists', 1);
const b = new Author('archivist-relay-lists', 2);
const c = new Author('archivist-relay-lists', 3);
const t = 1720000000;
const events = [
  a.sign({ created_at: t, kind: 10002, content: '', tags: [
    ['r', 'wss://relay.alpha.example'], ['r', 'wss://relay.beta.example/', 'read'],
    ['r', 'https://relay.alpha.example'], ['r', 'wss://10.1.2.3'], ['r', 'ws://127.0.0.1:7777']] }),
  b.sign({ created_at: t + 1, kind: 3, tags: [['p', a.pubkey, 'wss://relay.gamma.example']], content: JSON.stringify({
    'wss://relay.delta.example': { read: true, write: true }, 'wss://user:pw@relay.evil.example': { read: true } }) }),
  c.sign({ created_at: t + 2, kind: 30166, content: '', tags: [
    ['d', 'wss://relay.epsilon.example/'], ['rtt-open', '120'], ['rtt-read', '80'], ['R', '!payment'], ['R', 'auth']] }),
  a.sign({ created_at: t + 3, kind: 1, content: 'see you there', tags: [
    ['e', 'f'.repeat(64), 'wss://relay.zeta.example'], ['e', 'e'.repeat(64), 'wss://abc.onion'],
    ['p', b.pubkey, 'wss://localhost:4848']] }),
];
writeFileSync(process.argv[2], events.map((e) => JSON.stringify(e)).join('\n') + '\n');
