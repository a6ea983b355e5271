// Shared helpers for the corpus generators: deterministic keys and deterministic signing.
//
// Ids are computed and every event is checked with nostr-tools (getEventHash, verifyEvent), an
// implementation independent of Archivist's C++ code. Signing uses @noble/curves' BIP-340
// schnorr.sign — the very function nostr-tools' finalizeEvent calls — but with auxiliary
// randomness derived from the id instead of fresh random bytes, so that the generated files are
// byte-for-byte reproducible (finalizeEvent draws new aux bytes on every call).
import { createHash } from 'node:crypto';
import { schnorr } from '@noble/curves/secp256k1.js';
import { getEventHash, getPublicKey, verifyEvent } from 'nostr-tools/pure';

export function sha256(data) {
  return createHash('sha256').update(data).digest();
}

// Secret key number `index` of key family `family`: sha256("<family>/<index>"). Retries with a
// suffix in the (astronomically unlikely) case the digest is not a valid secp256k1 scalar.
export function secretKey(family, index) {
  for (let attempt = 0; ; ++attempt) {
    const candidate = new Uint8Array(sha256(`${family}/${index}/${attempt}`));
    try {
      getPublicKey(candidate);
      return candidate;
    } catch {
      // not in [1, n-1]; try the next attempt
    }
  }
}

export class Author {
  constructor(family, index) {
    this.secretKey = secretKey(family, index);
    this.pubkey = getPublicKey(this.secretKey);
  }

  // Returns a signed event with its seven NIP-01 fields in the canonical key order.
  sign({ created_at, kind, tags, content }) {
    const unsigned = { pubkey: this.pubkey, created_at, kind, tags, content };
    const id = getEventHash(unsigned);
    const aux = new Uint8Array(sha256(`aux/${id}`));
    const sig = Buffer.from(schnorr.sign(Buffer.from(id, 'hex'), this.secretKey, aux)).toString('hex');
    return { id, pubkey: this.pubkey, created_at, kind, tags, content, sig };
  }
}

// nostr-tools' verdict on a plain (freshly parsed) event object: id recomputed and signature checked.
export function nostrToolsAccepts(event) {
  try {
    const copy = JSON.parse(JSON.stringify(event));
    return getEventHash(copy) === copy.id && verifyEvent(copy);
  } catch {
    return false;  // nostr-tools refuses to serialise malformed events
  }
}

// Deterministic pseudo-random numbers (xorshift128+ over a seed hashed with SHA-256).
export class Rng {
  constructor(seed) {
    const h = sha256(`rng/${seed}`);
    this.s0 = h.readBigUInt64LE(0) | 1n;
    this.s1 = h.readBigUInt64LE(8) | 2n;
  }

  nextU64() {
    const mask = (1n << 64n) - 1n;
    let s1 = this.s0;
    const s0 = this.s1;
    this.s0 = s0;
    s1 ^= (s1 << 23n) & mask;
    this.s1 = s1 ^ s0 ^ (s1 >> 17n) ^ (s0 >> 26n);
    return (this.s1 + s0) & mask;
  }

  // Uniform float in [0, 1).
  next() {
    return Number(this.nextU64() >> 11n) / 2 ** 53;
  }

  // Integer in [lo, hi].
  int(lo, hi) {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick(array) {
    return array[this.int(0, array.length - 1)];
  }
}
