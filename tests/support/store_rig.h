#pragma once
// A running Store in a temporary directory with what a relay test needs beside it: the sink
// relays feed, a test double of the owner of relay state (RecordingReports: no database on the
// network threads) and an address policy that allows loopback only when asked (tests never reach
// another address). open() says whether it worked; `error` says what failed.
#include <QTemporaryDir>
#include <memory>
#include <string>

#include "core/engine/store.h"
#include "core/engine/store_sink.h"
#include "core/net/address_policy.h"
#include "core/observe/metrics.h"
#include "tests/support/recording_reports.h"

namespace archivist::testing {

struct StoreRig {
    QTemporaryDir dir;
    observe::MetricsRegistry metrics;
    std::unique_ptr<engine::Store> store;
    std::unique_ptr<engine::StoreSink> sink;
    RecordingReports reports;
    std::shared_ptr<net::AddressPolicy> policy = std::make_shared<net::AddressPolicy>();
    std::string error;

    bool open(bool allow_loopback = true) {
        auto s = engine::Store::open(dir.path().toStdString(), {}, metrics);
        if (!s) return fail("store: " + s.error().message);
        store = std::move(*s);
        store->start();
        sink = std::make_unique<engine::StoreSink>(*store);
        if (allow_loopback)
            if (auto r = policy->allowText("127.0.0.0/8"); !r) return fail("policy: " + r.error().message);
        return true;
    }

private:
    bool fail(std::string what) {
        error = std::move(what);
        return false;
    }
};

}  // namespace archivist::testing
