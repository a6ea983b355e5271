#pragma once
// What both benches measure the same way: a steady clock in seconds and the verification limit
// the throughput targets are ratios to — raw BIP-340 verifications per second on one core, over
// the first `max_sample` events of `sample`, x-only pubkeys parsed once (as the verifier's pubkey
// cache does), for about three seconds.
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/protocol/event.h"

namespace archivist::bench {

inline double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double rawVerifyRate(const std::vector<protocol::Event>& sample, size_t max_sample = 2000) {
    secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_VERIFY);
    std::vector<secp256k1_xonly_pubkey> pks(sample.size());
    for (size_t i = 0; i < sample.size(); ++i)
        if (!secp256k1_xonly_pubkey_parse(ctx, &pks[i], sample[i].pubkey.data())) std::abort();
    size_t ok = 0, done = 0;
    const double t0 = now();
    while (now() - t0 < 3.0) {
        for (size_t i = 0; i < sample.size() && i < max_sample; ++i, ++done)
            ok += secp256k1_schnorrsig_verify(ctx, sample[i].sig.data(), sample[i].id.data(), 32, &pks[i]);
    }
    const double rate = double(done) / (now() - t0);
    secp256k1_context_destroy(ctx);
    if (ok != done) std::fprintf(stderr, "warning: %zu of %zu sample signatures failed\n", done - ok, done);
    return rate;
}

}  // namespace archivist::bench
