// ReconcilePlan: windows of a reconciliation pass cover [floor, top] exactly, newest first, sized by
// the local set; splits partition the items and are bounded per root window.
#include <QtTest>

#include <vector>

#include "core/sync/reconcile_plan.h"

using namespace archivist;
using sync::NegentropyItem;
using sync::ReconcilePlan;

namespace {

std::vector<NegentropyItem> itemsAt(std::initializer_list<uint64_t> seconds) {
    std::vector<NegentropyItem> out;
    uint8_t n = 0;
    for (uint64_t s : seconds) {
        NegentropyItem i;
        i.timestamp = s;
        i.id[0] = ++n;
        out.push_back(i);
    }
    return out;
}

}  // namespace

class TestReconcilePlan : public QObject {
    Q_OBJECT
private slots:
    void windowsCoverTheRangeNewestFirst() {
        ReconcilePlan p(100, 1000);
        std::vector<std::pair<int64_t, int64_t>> covered;
        // The local source answers: at most 3 items per window (here: windows of 300 s).
        while (!p.done()) {
            auto range = p.needLocalSet();
            QVERIFY(range);
            QCOMPARE(range->first, int64_t(100));
            const int64_t since = std::max<int64_t>(range->first, range->second - 299);
            p.setLocalSet(since, {});
            QVERIFY(p.current());
            covered.emplace_back(p.current()->since, p.current()->until);
            p.completed();
        }
        QCOMPARE(covered.front(), std::make_pair(int64_t(701), int64_t(1000)));
        for (size_t i = 1; i < covered.size(); ++i) QCOMPARE(covered[i].second, covered[i - 1].first - 1);
        QCOMPARE(covered.back().first, int64_t(100));
        QCOMPARE(p.fraction(), 1.0);
    }

    void splitPartitionsItemsNewerHalfFirst() {
        ReconcilePlan p(0, 99);
        p.setLocalSet(0, itemsAt({10, 20, 60, 90, 99}));
        QVERIFY(p.split());
        const auto* newer = p.current();
        QCOMPARE(newer->since, int64_t(50));
        QCOMPARE(newer->until, int64_t(99));
        QCOMPARE(newer->items.size(), size_t(3));
        p.completed();
        const auto* older = p.current();
        QCOMPARE(older->since, int64_t(0));
        QCOMPARE(older->until, int64_t(49));
        QCOMPARE(older->items.size(), size_t(2));
        p.completed();
        QVERIFY(p.done());
    }

    void splitsAreBoundedPerRootWindow() {
        ReconcilePlan p(0, 1'000'000, 5);
        p.setLocalSet(0, {});
        int splits = 0;
        while (p.split()) ++splits;  // always refused: the newest piece is split again and again
        QCOMPARE(splits, 5);
        // The pieces still cover the window: walk them all.
        int64_t expect_until = 1'000'000;
        while (const auto* w = p.current()) {
            QCOMPARE(w->until, expect_until);
            expect_until = w->since - 1;
            p.completed();
        }
        QCOMPARE(expect_until, int64_t(-1));
    }

    void oneSecondIsNeverSplit() {
        ReconcilePlan p(5, 5);
        p.setLocalSet(5, itemsAt({5, 5, 5}));
        QVERIFY(!p.split());
    }

    void medianSplitWithManyItems() {
        ReconcilePlan p(0, 1000);
        std::vector<NegentropyItem> items;
        for (int i = 0; i < 100; ++i) {
            NegentropyItem it;
            it.timestamp = uint64_t(900 + i);  // all in the newest tenth
            it.id[0] = uint8_t(i);
            items.push_back(it);
        }
        p.setLocalSet(0, items);
        QVERIFY(p.split());
        QCOMPARE(p.current()->items.size(), size_t(50));  // cut at the items' median, not at 500
        QCOMPARE(p.current()->since, int64_t(950));
    }
};

QTEST_GUILESS_MAIN(TestReconcilePlan)
#include "tst_reconcile_plan.moc"
