#!/usr/bin/env node
// Queries a relay with nostr-tools and prints what came back before EOSE.
//
// Usage: node query.mjs --url ws://127.0.0.1:P --filter '{"kinds":[1]}'   (one REQ, one filter)
//        node query.mjs --url ws://127.0.0.1:P --ids-file FILE             (ids, 100 per REQ, limit 100)
//        node query.mjs --url http://127.0.0.1:P --nip11                     (the NIP-11 document)
// Prints one JSON object on stdout: {"count":N,"ids":[...sorted]} (for --nip11 the document).
// Exit 1 when the relay closes the subscription, does not answer within 30 s, or on any error.
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay';

useWebSocketImplementation(WebSocket);

function usage(message) {
  if (message) process.stderr.write(`query.mjs: ${message}\n`);
  process.stderr.write('usage: query.mjs --url URL (--filter JSON | --ids-file FILE | --nip11)\n');
  process.exit(2);
}

const args = process.argv.slice(2);
const opt = name => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const url = opt('--url');
if (!url) usage('--url is required');

function fail(message) {
  process.stderr.write(`query.mjs: ${message}\n`);
  process.exit(1);
}

if (args.includes('--nip11')) {
  const httpUrl = url.replace(/^ws/, 'http');
  const res = await fetch(httpUrl, { headers: { Accept: 'application/nostr+json' } }).catch(e => fail(e.message));
  if (!res.ok) fail(`NIP-11 request answered ${res.status}`);
  const doc = JSON.stringify(await res.json()) + '\n';
  process.stdout.write(doc, () => process.exit(0));
  await new Promise(() => {});  // exit from the write callback (a pipe is written asynchronously)
}

let filters;
if (opt('--filter') !== undefined) {
  filters = [[JSON.parse(opt('--filter'))]];
} else if (opt('--ids-file') !== undefined) {
  const ids = readFileSync(opt('--ids-file'), 'utf8').split('\n').filter(Boolean);
  filters = [];
  for (let i = 0; i < ids.length; i += 100) filters.push([{ ids: ids.slice(i, i + 100), limit: 100 }]);
} else {
  usage('one of --filter, --ids-file, --nip11 is required');
}

const relay = await Relay.connect(url).catch(e => fail(`cannot connect to ${url}: ${e.message ?? e}`));
const found = new Set();
for (const f of filters) {
  await new Promise(resolve => {
    const timer = setTimeout(() => fail('no EOSE within 30 s'), 30000);
    const sub = relay.subscribe(f, {
      onevent: e => found.add(e.id),
      oneose: () => {
        clearTimeout(timer);
        sub.close();
        resolve();
      },
      onclose: reason => {
        if (reason && !String(reason).includes('closed by caller')) fail(`subscription closed: ${reason}`);
      },
    });
  });
}
relay.close();
// Exit only once stdout is flushed: writes to a pipe are asynchronous and exit() would cut them.
process.stdout.write(JSON.stringify({ count: found.size, ids: [...found].sort() }) + '\n', () => process.exit(0));
