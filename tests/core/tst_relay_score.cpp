#include <QtTest>

#include <cmath>
#include <random>

#include "core/relays/relay_score.h"

using archivist::relays::ScoreBreakdown;
using archivist::relays::ScoreInputs;
using archivist::relays::ScoreParams;
using archivist::relays::scoreRelay;

namespace {

struct In {
    double novel, median, rejected, up24, up7;
    int64_t rtt;
    double hours;
    int tries, failures;
    bool seed, pinned;
};

struct Out {
    double total, novelty, uptime, latency, rejection, confidence, exploration, quality;
    bool floor_applied;
};

ScoreInputs toInputs(const In& i) {
    ScoreInputs s;
    s.novel_per_hour = i.novel;
    s.network_median_novel_per_hour = i.median;
    s.rejected_fraction = i.rejected;
    s.uptime_24h = i.up24;
    s.uptime_7d = i.up7;
    s.rtt_ms = i.rtt;
    s.observed_hours = i.hours;
    s.tries = i.tries;
    s.consecutive_failures = i.failures;
    s.seed = i.seed;
    s.pinned = i.pinned;
    return s;
}

void row(const char* name, const In& in, const Out& out) { QTest::newRow(name) << QVariant::fromValue(in) << QVariant::fromValue(out); }

}  // namespace

Q_DECLARE_METATYPE(In)
Q_DECLARE_METATYPE(Out)

class TstRelayScore : public QObject {
    Q_OBJECT
private slots:
    void formulaTable_data();
    void formulaTable();
    void moreNoveltyNeverLowers_data();
    void moreNoveltyNeverLowers();
    void moreFailuresNeverRaise_data();
    void moreFailuresNeverRaise();
    void newRelayIsNeverZero();
    void explorationFadesWithObservationAndTries();
    void randomInputsStayInRange();
};

// Expected values come from an independent reference implementation of docs/relay-scoring.md
// (a few lines of Python, not this C++), default ScoreParams.
void TstRelayScore::formulaTable_data() {
    QTest::addColumn<QVariant>("in");
    QTest::addColumn<QVariant>("out");
    row("new relay, nothing known", In{0, 0.0, -1.0, -1.0, -1.0, -1, 0.0, 0, 0, false, false}, Out{0.8, -1.0, -1.0, -1.0, -1.0, 0.0, 0.3, 0.5, false});
    row("new seed", In{0, 0.0, -1.0, -1.0, -1.0, -1, 0.0, 0, 0, true, false}, Out{0.8, -1.0, -1.0, -1.0, -1.0, 0.0, 0.3, 0.5, false});
    row("median relay, a day observed", In{10, 10.0, 0.0, 1.0, 1.0, 50, 24.0, 1, 0, false, false}, Out{0.7234693877632171, 0.5, 1.0, 1.0, 1.0, 0.9795918367346939, 8.11500630781407e-12, 0.7234693877551022, false});
    row("top relay (5x median), 2 h", In{50, 10.0, 0.01, 0.98, 0.95, 250, 2.0, 1, 0, false, false}, Out{0.8696635201838829, 0.8333333333333334, 0.965, 0.9210526315789473, 0.99, 0.8, 0.029091590359321514, 0.8405719298245614, false});
    row("silent relay, 6 h", In{0, 10.0, 0.0, 1.0, 1.0, 80, 6.0, 2, 0, false, false}, Out{0.4657664055250173, 0.0, 1.0, 1.0, 1.0, 0.9230769230769231, 0.00038179014040194237, 0.46538461538461534, false});
    row("first cycle, 5 min", In{12, 10.0, -1.0, 1.0, -1.0, 300, 0.08333333333333333, 1, 0, false, false}, Out{0.8408173018420881, 0.5454545454545454, 1.0, 0.8947368421052632, -1.0, 0.14285714285714285, 0.19777218906013314, 0.643045112781955, false});
    row("median 0 (nothing observed yet)", In{5, 0.0, -1.0, -1.0, -1.0, -1, 2.0, 1, 0, false, false}, Out{0.6757582570259882, 0.8333333333333334, -1.0, -1.0, -1.0, 0.8, 0.029091590359321514, 0.6466666666666667, false});
    row("median below minimum", In{0.5, 0.2, -1.0, -1.0, -1.0, -1, 1.0, 1, 0, false, false}, Out{0.5179680303236069, 0.33333333333333337, -1.0, -1.0, -1.0, 0.6666666666666666, 0.07907914143471803, 0.43888888888888894, false});
    row("huge rate", In{1e+300, 1.0, -1.0, -1.0, -1.0, -1, 3.0, 1, 0, false, false}, Out{0.7464164837184615, 1.0, -1.0, -1.0, -1.0, 0.8571428571428571, 0.010702198004175718, 0.7357142857142858, false});
    row("infinite rate", In{qInf(), 10.0, -1.0, -1.0, -1.0, -1, 3.0, 1, 0, false, false}, Out{0.7464164837184615, 1.0, -1.0, -1.0, -1.0, 0.8571428571428571, 0.010702198004175718, 0.7357142857142858, false});
    row("NaN rate is unknown", In{qQNaN(), 10.0, -1.0, -1.0, -1.0, -1, 3.0, 1, 0, false, false}, Out{0.5107021980041757, -1.0, -1.0, -1.0, -1.0, 0.8571428571428571, 0.010702198004175718, 0.5, false});
    row("negative rate is unknown", In{-4, 10.0, -1.0, -1.0, -1.0, -1, 3.0, 1, 0, false, false}, Out{0.5107021980041757, -1.0, -1.0, -1.0, -1.0, 0.8571428571428571, 0.010702198004175718, 0.5, false});
    row("latency midpoint", In{0, 0.0, -1.0, -1.0, -1.0, 1050, 0.0, 0, 0, false, false}, Out{0.8, -1.0, -1.0, 0.5, -1.0, 0.0, 0.3, 0.5, false});
    row("latency at bad", In{0, 0.0, -1.0, -1.0, -1.0, 2000, 0.0, 0, 0, false, false}, Out{0.75, -1.0, -1.0, 0.0, -1.0, 0.0, 0.3, 0.45, false});
    row("latency beyond bad", In{0, 0.0, -1.0, -1.0, -1.0, 60000, 0.0, 0, 0, false, false}, Out{0.75, -1.0, -1.0, 0.0, -1.0, 0.0, 0.3, 0.45, false});
    row("only 7d uptime", In{0, 0.0, -1.0, -1.0, 0.8, -1, 0.0, 0, 0, false, false}, Out{0.8600000000000001, -1.0, 0.8, -1.0, -1.0, 0.0, 0.3, 0.56, false});
    row("uptime above 1 clamped", In{0, 0.0, -1.0, 1.7, 0.5, -1, 0.0, 0, 0, false, false}, Out{0.8500000000000001, -1.0, 0.75, -1.0, -1.0, 0.0, 0.3, 0.55, false});
    row("heavy rejection", In{10, 10.0, 0.3, -1.0, -1.0, -1, 1.0, 1, 0, false, false}, Out{0.5990791414347181, 0.5, -1.0, -1.0, 0.7, 0.6666666666666666, 0.07907914143471803, 0.52, false});
    row("rejection above 1 clamped", In{10, 10.0, 4.0, -1.0, -1.0, -1, 1.0, 1, 0, false, false}, Out{0.529079141434718, 0.5, -1.0, -1.0, 0.0, 0.6666666666666666, 0.07907914143471803, 0.45, false});
    row("dead: 10 failures", In{0, 0.0, -1.0, -1.0, -1.0, -1, 0.0, 10, 10, false, false}, Out{0.10054419102756985, -1.0, -1.0, -1.0, -1.0, 0.0, 0.010702198004175718, 0.5, false});
    row("dead pinned: floor", In{0, 0.0, -1.0, -1.0, -1.0, -1, 0.0, 10, 10, false, true}, Out{0.5, -1.0, -1.0, -1.0, -1.0, 0.0, 0.010702198004175718, 0.5, true});
    row("3 failures, good relay", In{30, 10.0, 0.0, 0.9, 0.9, 200, 12.0, 4, 3, false, false}, Out{0.5089483115483587, 0.75, 0.9, 0.9473684210526315, 1.0, 0.96, 4.858790376937829e-07, 0.8287368421052632, false});
    row("non-finite hours", In{10, 10.0, -1.0, -1.0, -1.0, -1, qInf(), 1, 0, false, false}, Out{0.7149593931721367, -1.0, -1.0, -1.0, -1.0, 0.0, 0.21495939317213678, 0.5, false});
}

void TstRelayScore::formulaTable() {
    QFETCH(QVariant, in);
    QFETCH(QVariant, out);
    const Out want = out.value<Out>();
    const ScoreBreakdown got = scoreRelay(toInputs(in.value<In>()), ScoreParams{});
    auto near = [](double a, double b) { return std::abs(a - b) <= 1e-9; };
    QVERIFY2(near(got.total, want.total), qPrintable(QString("total %1 want %2").arg(got.total, 0, 'g', 17).arg(want.total, 0, 'g', 17)));
    QVERIFY2(near(got.novelty, want.novelty), qPrintable(QString("novelty %1 want %2").arg(got.novelty).arg(want.novelty)));
    QVERIFY2(near(got.uptime, want.uptime), qPrintable(QString("uptime %1 want %2").arg(got.uptime).arg(want.uptime)));
    QVERIFY2(near(got.latency, want.latency), qPrintable(QString("latency %1 want %2").arg(got.latency).arg(want.latency)));
    QVERIFY2(near(got.rejection, want.rejection), qPrintable(QString("rejection %1 want %2").arg(got.rejection).arg(want.rejection)));
    QVERIFY2(near(got.confidence, want.confidence), qPrintable(QString("confidence %1 want %2").arg(got.confidence).arg(want.confidence)));
    QVERIFY2(near(got.exploration, want.exploration), qPrintable(QString("exploration %1 want %2").arg(got.exploration).arg(want.exploration)));
    QVERIFY2(near(got.quality, want.quality), qPrintable(QString("quality %1 want %2").arg(got.quality).arg(want.quality)));
    QCOMPARE(got.floor_applied, want.floor_applied);
}

// Base relays in different states; the test sweeps one input over a wide range and requires the
// total to move in one direction only.
static void baseRelays() {
    QTest::addColumn<QVariant>("base");
    QTest::newRow("fresh") << QVariant::fromValue(In{0, 10, -1, -1, -1, -1, 0.1, 1, 0, false, false});
    QTest::newRow("established") << QVariant::fromValue(In{0, 10, 0.02, 0.95, 0.9, 300, 20, 3, 0, false, false});
    QTest::newRow("median zero") << QVariant::fromValue(In{0, 0, 0, 1, 1, 90, 5, 1, 0, false, false});
    QTest::newRow("failing") << QVariant::fromValue(In{0, 50, 0.5, 0.2, 0.3, 2500, 1, 9, 4, false, false});
    QTest::newRow("seed") << QVariant::fromValue(In{0, 10, 0, 1, 1, 90, 3, 1, 0, true, false});
    QTest::newRow("pinned failing") << QVariant::fromValue(In{0, 10, 0, 0.1, 0.1, 90, 3, 1, 6, false, true});
}

void TstRelayScore::moreNoveltyNeverLowers_data() { baseRelays(); }

void TstRelayScore::moreNoveltyNeverLowers() {
    QFETCH(QVariant, base);
    In in = base.value<In>();
    double previous = -1;
    double first = 0;
    double last = 0;
    for (double novel = 0; novel < 1e7; novel = novel == 0 ? 0.01 : novel * 1.3) {
        in.novel = novel;
        const double total = scoreRelay(toInputs(in), ScoreParams{}).total;
        QVERIFY2(total >= previous, qPrintable(QString("novel %1: %2 < %3").arg(novel).arg(total).arg(previous)));
        if (previous < 0) first = total;
        previous = last = total;
    }
    in.novel = qInf();
    QVERIFY(scoreRelay(toInputs(in), ScoreParams{}).total >= last);
    // Novelty matters unless the floor holds the score.
    if (!in.seed && !in.pinned) QVERIFY(last > first);
}

void TstRelayScore::moreFailuresNeverRaise_data() { baseRelays(); }

void TstRelayScore::moreFailuresNeverRaise() {
    QFETCH(QVariant, base);
    In in = base.value<In>();
    in.novel = 25;
    double previous = std::numeric_limits<double>::infinity();
    for (int failures = 0; failures <= 40; ++failures) {
        in.failures = failures;
        const ScoreBreakdown b = scoreRelay(toInputs(in), ScoreParams{});
        QVERIFY2(b.total <= previous, qPrintable(QString("failures %1: %2 > %3").arg(failures).arg(b.total).arg(previous)));
        if (in.seed || in.pinned) QVERIFY(b.total >= ScoreParams{}.floor);
        previous = b.total;
    }
    if (!in.seed && !in.pinned) QVERIFY(previous < 0.05);
}

void TstRelayScore::newRelayIsNeverZero() {
    // Whatever the network median, a relay nobody has observed starts at prior + full bonus,
    // above a fully observed median relay, so the optimizer tries it.
    const ScoreParams p;
    for (double median : {0.0, 1.0, 10.0, 1e6}) {
        ScoreInputs fresh;
        fresh.network_median_novel_per_hour = median;
        const ScoreBreakdown b = scoreRelay(fresh, p);
        QCOMPARE(b.total, p.prior + p.exploration_bonus);
        QCOMPARE(b.confidence, 0.0);
        ScoreInputs median_relay;
        median_relay.network_median_novel_per_hour = median;
        median_relay.novel_per_hour = median;
        median_relay.observed_hours = 48;
        median_relay.tries = 1;
        median_relay.uptime_24h = median_relay.uptime_7d = 1;
        median_relay.rtt_ms = 50;
        median_relay.rejected_fraction = 0;
        QVERIFY(b.total > scoreRelay(median_relay, p).total);
    }
}

void TstRelayScore::explorationFadesWithObservationAndTries() {
    const ScoreParams p;
    ScoreInputs in;
    double previous = p.exploration_bonus + 1;
    for (double hours = 0; hours <= 24; hours += 0.25) {
        in.observed_hours = hours;
        const double e = scoreRelay(in, p).exploration;
        QVERIFY(e < previous);
        previous = e;
    }
    QVERIFY(previous < 1e-9);
    ScoreInputs dead;  // never connects: no hours, only tries
    previous = p.exploration_bonus + 1;
    for (int tries = 0; tries <= 30; ++tries) {
        dead.tries = tries;
        const double e = scoreRelay(dead, p).exploration;
        QVERIFY(e < previous);
        previous = e;
    }
    QVERIFY(previous < 0.3 * 0.0001);
}

void TstRelayScore::randomInputsStayInRange() {
    std::mt19937_64 rng(20240605);
    const double specials[] = {-1.0, 0.0, 1.0, -5.0, 1e308, qInf(), -qInf(), qQNaN(), 0.5, 3.0};
    std::uniform_int_distribution<int> pick(0, 9);
    std::uniform_real_distribution<double> any(-2, 1e4);
    auto value = [&]() { return pick(rng) < 5 ? specials[pick(rng)] : any(rng); };
    const ScoreParams p;
    for (int i = 0; i < 20000; ++i) {
        ScoreInputs in;
        in.novel_per_hour = value();
        in.network_median_novel_per_hour = value();
        in.rejected_fraction = value();
        in.uptime_24h = value();
        in.uptime_7d = value();
        in.rtt_ms = static_cast<int64_t>(std::uniform_int_distribution<int>(-10, 100000)(rng));
        in.observed_hours = value();
        in.tries = std::uniform_int_distribution<int>(-3, 1000)(rng);
        in.consecutive_failures = std::uniform_int_distribution<int>(-3, 1000)(rng);
        in.seed = pick(rng) == 0;
        in.pinned = pick(rng) == 1;
        const ScoreBreakdown b = scoreRelay(in, p);
        QVERIFY(std::isfinite(b.total));
        QVERIFY(b.total >= 0 && b.total <= 1 + p.exploration_bonus);
        for (double c : {b.novelty, b.uptime, b.latency, b.rejection})
            QVERIFY2(c == -1 || (c >= 0 && c <= 1), qPrintable(QString::number(c)));
        QVERIFY(b.confidence >= 0 && b.confidence <= 1);
        QVERIFY(b.quality >= 0 && b.quality <= 1);
        if (in.seed || in.pinned) QVERIFY(b.total >= p.floor);
    }
}

QTEST_GUILESS_MAIN(TstRelayScore)
#include "tst_relay_score.moc"
