// The ClickHouse sink's parts: gzip, the partition mirror, the durable state (watermark), the
// archive batcher, and the sink itself against a scripted server that speaks the part of
// ClickHouse's HTTP interface the sink uses (it commits rows per partition and answers the
// per-partition check), so that lost responses and partial commits can be staged exactly.
// The real server is exercised by tests/integration/test_clickhouse_sink.sh.
#include <QPointer>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QUrlQuery>
#include <QtTest>

#include <fstream>
#include <functional>
#include <map>
#include <random>

#include "core/archive/segment_format.h"
#include "core/archive/segment_writer.h"
#include "core/engine/config.h"
#include "core/engine/sink_setup.h"
#include "core/net/address_policy.h"
#include "core/protocol/hex.h"
#include "core/protocol/json.h"
#include "core/sink/archive_batcher.h"
#include "core/sink/clickhouse_schema.h"
#include "core/sink/clickhouse_sink.h"
#include "core/sink/gzip.h"
#include "core/sink/sink_state.h"
#include "signed_events.h"

using namespace archivist;
using namespace archivist::sink;
namespace pj = archivist::protocol::json;

namespace {

// One event line per (month, index): created_at in the given month of 2024 (UTC).
std::string eventLine(testing::EventSigner& signer, int month, int i, uint16_t kind = 1) {
    static const int64_t kMonthStart[] = {1704067200, 1706745600, 1709251200, 1711929600};  // Jan–Apr 2024
    const auto e = signer.make(kMonthStart[month] + i * 60, kind, "event " + std::to_string(month) + "/" + std::to_string(i),
                               {{"t", "x"}, {"p", std::string(64, 'a')}});
    return signer.json(e) + "\n";
}

struct Archive {
    QTemporaryDir tmp;
    std::filesystem::path dir;
    archive::ArchiveWriter writer;
    std::vector<std::string> lines;  // every event line appended, in order
    Archive() : dir(std::filesystem::path(tmp.path().toStdString()) / "archive"), writer(dir, opts()) {
        if (!writer.open()) qFatal("archive open");
    }
    static archive::ArchiveOptions opts() {
        archive::ArchiveOptions o;
        o.sync = false;
        return o;
    }
    // Appends one frame; returns its end position.
    SourcePosition frame(const std::string& text, uint32_t events) {
        auto r = writer.append(text, events);
        if (!r) qFatal("append: %s", r.error().message.c_str());
        return SourcePosition{r->ref.segment, r->ref.offset + r->ref.length};
    }
    SourcePosition eventsFrame(testing::EventSigner& s, std::vector<int> months, int per_month, int salt = 0) {
        std::string text;
        uint32_t n = 0;
        for (int m : months)
            for (int i = 0; i < per_month; ++i, ++n) {
                lines.push_back(eventLine(s, m, i + salt));
                text += lines.back();
            }
        return frame(text, n);
    }
};

// ------------------------------------------------------------------ a scripted ClickHouse

struct Row {
    std::string id, node, batch;
    uint32_t partition = 0;
};

class FakeClickHouse : public QObject {
public:
    enum class InsertMode { Commit, CommitThenDrop, CommitFirstPartitionThenDrop, Refuse };
    QTcpServer server;
    std::vector<Row> rows;
    std::vector<std::string> statements;  // every query, in order (INSERTs as "INSERT <n rows>")
    int inserts = 0;
    int checks = 0;
    std::function<InsertMode(int insert_number)> insertMode = [](int) { return InsertMode::Commit; };
    bool refuseChecks = false;

    FakeClickHouse() {
        if (!server.listen(QHostAddress::LocalHost, 0)) qFatal("listen");
        connect(&server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket* c = server.nextPendingConnection()) {
                auto buf = std::make_shared<QByteArray>();
                connect(c, &QTcpSocket::readyRead, c, [this, c, buf] {
                    *buf += c->readAll();
                    handle(c, *buf);
                });
                connect(c, &QTcpSocket::disconnected, c, &QObject::deleteLater);
            }
        });
    }
    QUrl url() const { return QUrl(QStringLiteral("http://127.0.0.1:%1").arg(server.serverPort())); }
    size_t count(const std::string& node = {}) const {
        size_t n = 0;
        for (const Row& r : rows) n += node.empty() || r.node == node;
        return n;
    }
    size_t distinctIds() const {
        std::set<std::string> ids;
        for (const Row& r : rows) ids.insert(r.id);
        return ids.size();
    }
    // Rows as the sink would send them (for staging a batch that "arrived" before a restart).
    void load(const std::string& jsonl) { apply(jsonl, false); }

private:
    static QByteArray header(const QByteArray& head, const QByteArray& name) {
        for (const QByteArray& line : head.split('\n')) {
            const qsizetype colon = line.indexOf(':');
            if (colon > 0 && line.left(colon).trimmed().toLower() == name.toLower()) return line.mid(colon + 1).trimmed();
        }
        return {};
    }
    static void reply(QTcpSocket* c, int status, const QByteArray& body) {
        c->write("HTTP/1.1 " + QByteArray::number(status) + " X\r\nContent-Length: " + QByteArray::number(body.size()) +
                 "\r\nConnection: close\r\n\r\n" + body);
        c->disconnectFromHost();
    }
    // Applies the rows of an insert; first_partition_only: only those of the first row's partition.
    void apply(const std::string& jsonl, bool first_partition_only) {
        std::optional<uint32_t> only;
        size_t pos = 0;
        while (pos < jsonl.size()) {
            const size_t nl = jsonl.find('\n', pos);
            const std::string line = jsonl.substr(pos, nl - pos);
            pos = nl == std::string::npos ? jsonl.size() : nl + 1;
            pj::Value v;
            if (!pj::parse(line, v)) qFatal("fake: row is not JSON");
            uint64_t created = 0;
            pj::parseUnsigned(v.find("created_at")->raw, UINT64_MAX, created);
            Row r{v.find("id")->str, v.find("node")->str, v.find("batch")->str, monthPartition(int64_t(created))};
            if (first_partition_only && !only) only = r.partition;
            if (only && r.partition != *only) continue;
            rows.push_back(r);
        }
    }
    void handle(QTcpSocket* c, QByteArray& buf) {
        const qsizetype end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const QByteArray head = buf.left(end);
        const qint64 length = header(head, "Content-Length").toLongLong();
        if (buf.size() - (end + 4) < length) return;
        QByteArray body = buf.mid(end + 4, length);
        buf.clear();
        if (header(head, "Content-Encoding") == "gzip") {
            auto plain = gzipDecompress(body.toStdString(), 256u << 20);
            if (!plain) return reply(c, 400, "bad gzip");
            body = QByteArray::fromStdString(*plain);
        }
        const QByteArray target = head.split(' ').value(1);
        const QUrlQuery q(QUrl(QString::fromLatin1(target)).query(QUrl::FullyDecoded));
        const QString query = q.queryItemValue("query", QUrl::FullyDecoded);
        if (query.startsWith("INSERT")) {
            ++inserts;
            statements.push_back("INSERT " + std::to_string(body.count('\n')));
            const InsertMode mode = insertMode(inserts);
            if (mode == InsertMode::Refuse) return reply(c, 500, "Code: 252, e.displayText() = DB::Exception: Too many parts");
            apply(body.toStdString(), mode == InsertMode::CommitFirstPartitionThenDrop);
            if (mode == InsertMode::Commit) return reply(c, 200, {});
            c->abort();  // committed; the answer is lost
            return;
        }
        statements.push_back(body.left(40).toStdString());
        if (body.startsWith("CREATE")) return reply(c, 200, {});
        if (body.startsWith("SELECT")) {
            ++checks;
            if (refuseChecks) return reply(c, 500, "Code: 159, e.displayText() = DB::Exception: Timeout exceeded");
            const auto m = QRegularExpression("node = '([^']*)' AND batch = '([^']*)'").match(QString::fromUtf8(body));
            if (!m.hasMatch()) return reply(c, 400, "fake: unexpected check");
            std::map<uint32_t, uint64_t> counts;
            for (const Row& r : rows)
                if (r.node == m.captured(1).toStdString() && r.batch == m.captured(2).toStdString()) ++counts[r.partition];
            QByteArray out;
            for (const auto& [p, n] : counts) out += QByteArray::number(p) + '\t' + QByteArray::number(qulonglong(n)) + '\n';
            return reply(c, 200, out);
        }
        reply(c, 400, "fake: unknown request");
    }
};

ClickHouseSinkOptions sinkOptions(const Archive& a, const QUrl& url, const std::string& node = "n1") {
    ClickHouseSinkOptions o;
    o.url = url;
    o.database = "db";
    o.node = node;
    o.archive_dir = a.dir;
    o.state_dir = a.dir.parent_path() / "sinks";
    o.batch_interval_ms = 20;
    o.retry_initial_ms = 20;
    o.retry_max_ms = 200;
    o.request_timeout_ms = 5000;
    auto policy = std::make_shared<net::AddressPolicy>();
    (void)policy->allowText("127.0.0.1/32");
    o.policy = policy;
    return o;
}

std::unique_ptr<ClickHouseSink> makeSink(ClickHouseSinkOptions o) {
    auto s = ClickHouseSink::create(std::move(o));
    if (!s) qFatal("create: %s", s.error().message.c_str());
    return std::move(*s);
}

bool caughtUp(const ClickHouseSink& s, const SourcePosition& end) {
    const SinkStatus st = s.status();
    return st.phase == SinkPhase::CaughtUp && st.position == end && !st.pending;
}

}  // namespace

class TestClickHouseSink : public QObject {
    Q_OBJECT
private slots:
    void gzipRoundTrip() {
        std::mt19937 rng(5);
        std::string data(3 << 20, '\0');
        for (char& c : data) c = char(rng() % 16 == 0 ? rng() : 'a' + rng() % 4);
        for (const std::string& in : {std::string(), std::string("x"), data}) {
            auto gz = gzipCompress(in, 1);
            QVERIFY(gz);
            QVERIFY(gz->size() >= 18);
            QCOMPARE(uint8_t((*gz)[0]), uint8_t(0x1f));  // a gzip member (RFC 1952), not a zlib stream
            QCOMPARE(uint8_t((*gz)[1]), uint8_t(0x8b));
            auto back = gzipDecompress(*gz, in.size() + 1);
            QVERIFY(back);
            QVERIFY(*back == in);
        }
        auto two = gzipCompress("ab", 6);
        auto three = gzipCompress("cde", 9);
        QCOMPARE(*gzipDecompress(*two + *three, 100), std::string("abcde"));  // concatenated members
        auto gz = gzipCompress(data, 1);
        QCOMPARE(gzipDecompress(gz->substr(0, gz->size() / 2), data.size()).error().code, std::string("gzip"));
        QCOMPARE(gzipDecompress(*gz, data.size() - 1).error().code, std::string("gzip"));  // bound
        QVERIFY(gz->size() < data.size() / 2);
    }

    void partitionMirrorsTheServer_data() {
        QTest::addColumn<qint64>("created_at");
        QTest::addColumn<uint>("month");
        // The right column is what clickhouse-server 18.16.1 computed for the table's expression.
        const std::pair<qint64, uint> rows[] = {
            {-5, 197001},         {0, 197001},          {951782399, 200002},  {951782400, 200002},
            {951868800, 200003},  {1700000000, 202311}, {1709251199, 202402}, {1709251200, 202403},
            {2147483648, 203801}, {3000000000, 206501}, {4102444799, 209912}, {4102444800, 209912},
            {INT64_MAX, 209912}};
        for (const auto& [t, m] : rows) QTest::newRow(std::to_string(t).c_str()) << t << m;
    }
    void partitionMirrorsTheServer() {
        QFETCH(qint64, created_at);
        QFETCH(uint, month);
        QCOMPARE(monthPartition(created_at), uint32_t(month));
    }

    void sqlHelpers() {
        QVERIFY(isSqlIdentifier("archivist"));
        QVERIFY(isSqlIdentifier("_a1"));
        QVERIFY(!isSqlIdentifier(""));
        QVERIFY(isSqlIdentifier("", true));
        QVERIFY(!isSqlIdentifier("1a"));
        QVERIFY(!isSqlIdentifier("a-b"));
        QVERIFY(!isSqlIdentifier("a`b"));
        QVERIFY(!isSqlIdentifier(std::string(65, 'a')));
        QCOMPARE(sqlQuote("it's a\\b\n"), std::string("'it\\'s a\\\\b\\n'"));
        const auto ddl = schemaStatements({"db", "p_"});
        QCOMPARE(ddl.size(), size_t(3));
        QVERIFY(ddl[1].find("`db`.`p_events`") != std::string::npos);
        QVERIFY(ddl[1].find(kEventsPartitionSql) != std::string::npos);
        QVERIFY(ddl[1].find("ReplacingMergeTree") != std::string::npos);
        QVERIFY(ddl[2].find("`db`.`p_sightings`") != std::string::npos);
    }

    void stateRoundTripsDurably() {
        QTemporaryDir tmp;
        const auto file = std::filesystem::path(tmp.path().toStdString()) / "sinks" / "s.json";
        auto none = loadSinkState(file);
        QVERIFY(none);
        QVERIFY(!none->has_value());
        SinkState s;
        s.target = "http://h:8123 database=db prefix=";
        s.node = "node \"1\"";
        s.updated_at_ms = 123;
        s.events.position = {3, 4096};
        s.events.rows_before = 77;
        QVERIFY(saveSinkState(file, s));
        QVERIFY(!std::filesystem::exists(file.string() + ".tmp"));
        QCOMPARE(**loadSinkState(file), s);
        s.events.pending = PendingBatch{{4, 40}, "3:4096-4:40-00ff", 12};
        QVERIFY(saveSinkState(file, s));
        QCOMPARE(**loadSinkState(file), s);

        std::ofstream(file) << "{\"version\":1,\"target\":\"t\",\"node\":\"n\",\"events\":{\"segment\":1}}";
        QCOMPARE(loadSinkState(file).error().code, std::string("corrupt"));
        std::ofstream(file) << "{\"version\":1,\"target\":\"t\",\"node\":\"n\",\"events\":{\"segment\":2,\"offset\":9,"
                               "\"rows_before\":0,\"pending\":{\"end_segment\":1,\"end_offset\":5,\"batch\":\"b\",\"rows\":1}}}";
        QCOMPARE(loadSinkState(file).error().code, std::string("corrupt"));  // pending ends before it starts
        std::ofstream(file) << "not json";
        QCOMPARE(loadSinkState(file).error().code, std::string("corrupt"));
    }

    void batcherBuildsWholeFramesUpToTheHorizon() {
        Archive a;
        testing::EventSigner s(1);
        const SourcePosition f1 = a.eventsFrame(s, {0, 1}, 3);  // January and February
        const SourcePosition f2 = a.eventsFrame(s, {1}, 2);
        ArchiveBatcher b(a.dir, "n1");

        auto all = b.build({}, f2, BatchLimits{});
        QVERIFY(all);
        QCOMPARE(all->frames, 2u);
        QCOMPARE(all->row_count, uint64_t(8));
        QCOMPARE(all->end, f2);
        QVERIFY(!all->full);
        QCOMPARE(all->parts.size(), size_t(2));
        QCOMPARE(all->parts.at(202401).rows, uint64_t(3));
        QCOMPARE(all->parts.at(202402).rows, uint64_t(5));
        QCOMPARE(all->parts.at(202401).pubkeys.size(), size_t(1));
        QVERIFY(QString::fromStdString(all->id).startsWith("0:0-1:"));
        // Every row: the archived line with node and batch added, still one JSON object.
        QCOMPARE(all->refs.size(), size_t(8));
        for (size_t i = 0; i < all->refs.size(); ++i) {
            const std::string row = all->rows.substr(all->refs[i].begin, all->refs[i].length);
            const std::string& line = a.lines[i];
            QCOMPARE(row.substr(0, line.size() - 2), line.substr(0, line.size() - 2));
            QCOMPARE(row.substr(line.size() - 2), ",\"node\":\"n1\",\"batch\":\"" + all->id + "\"}\n");
        }

        // The horizon in the middle: only the first frame; the same frames give the same identity.
        auto first = b.build({}, f1, BatchLimits{});
        QCOMPARE(first->end, f1);
        QCOMPARE(first->row_count, uint64_t(6));
        auto again = b.build({}, f2, BatchLimits{}, f1);
        QCOMPARE(again->id, first->id);
        QCOMPARE(again->rows, first->rows);
        QCOMPARE(b.build({}, f2, BatchLimits{}, SourcePosition{f1.segment, f1.offset - 1}).error().code,
                 std::string("corrupt"));  // not a frame boundary
        QCOMPARE(b.build(f2, f1, BatchLimits{}).error().code, std::string("ahead"));

        // Limits stop after a whole frame and say more is waiting.
        BatchLimits one;
        one.max_rows = 1;
        auto head = b.build({}, f2, one);
        QCOMPARE(head->end, f1);
        QVERIFY(head->full);
        auto tail = b.build(head->end, f2, one);
        QCOMPARE(tail->end, f2);
        QCOMPARE(tail->row_count, uint64_t(2));
        QVERIFY(tail->id != head->id);
        auto nothing = b.build(f2, f2, one);
        QCOMPARE(nothing->frames, 0u);
        QCOMPARE(nothing->end, f2);

        // Partitions already on the server are left out of a resend.
        ShipBatch& batch = *all;
        batch.parts[202401].confirmed = true;
        QCOMPARE(batch.unconfirmedRowCount(), uint64_t(5));
        const std::string rest = batch.unconfirmedRows();
        QCOMPARE(std::count(rest.begin(), rest.end(), '\n'), 5L);
        QVERIFY(rest.find("\"created_at\":1704067200") == std::string::npos);
    }

    // Past the durable end a frame may be half written: the batcher never reads there.
    void batcherStopsAtTheDurableEnd() {
        Archive a;
        testing::EventSigner s(12);
        const SourcePosition f1 = a.eventsFrame(s, {0}, 3);
        QVERIFY(a.writer.seal());
        const SourcePosition empty{f1.segment + 1, archive::kHeaderBytes};  // the new segment: header only
        const auto path = archive::segmentPath(a.dir, empty.segment);
        std::ofstream(path, std::ios::app | std::ios::binary) << std::string("\x28\xb5\x2f\xfd\x64\x00", 6);
        ArchiveBatcher b(a.dir, "n1");
        auto all = b.build({}, empty, BatchLimits{});
        QVERIFY2(all, all ? "" : all.error().message.c_str());
        QCOMPARE(all->row_count, uint64_t(3));
        QCOMPARE(all->end, empty);
        auto none = b.build(SourcePosition{empty.segment, 0}, empty, BatchLimits{});
        QVERIFY2(none, none ? "" : none.error().message.c_str());
        QCOMPARE(none->frames, 0u);
        QCOMPARE(none->end, empty);
        // Within the durable range the same bytes are damage, and say so.
        QCOMPARE(b.build({}, SourcePosition{empty.segment, empty.offset + 6}, BatchLimits{}).error().code,
                 std::string("corrupt"));
    }

    void batcherCrossesSegmentsAndSkipsWhatIsNotAnEvent() {
        Archive a;
        testing::EventSigner s(2);
        const SourcePosition f1 = a.eventsFrame(s, {0}, 2);
        QVERIFY(a.writer.seal());
        // A canonical line, a line that is not an event, and the same kind of event with its
        // members in another order (shipped in canonical form).
        const auto e = s.make(1709251200, 7, "+", {});
        std::string reordered = "{\"sig\":\"" + protocol::toHex(e.sig) + "\",\"content\":\"+\",\"tags\":[],\"kind\":7,"
                                "\"created_at\":1709251200,\"pubkey\":\"" + protocol::toHex(e.pubkey) +
                                "\",\"id\":\"" + protocol::toHex(e.id) + "\"}";
        const SourcePosition f2 = a.frame(eventLine(s, 3, 0) + "not an event\n" + reordered + "\n", 3);
        QCOMPARE(f2.segment, f1.segment + 1);
        ArchiveBatcher b(a.dir, "n1");
        auto all = b.build({}, f2, BatchLimits{});
        QVERIFY2(all, all ? "" : all.error().message.c_str());
        QCOMPARE(all->row_count, uint64_t(4));
        QCOMPARE(all->skipped_lines, uint64_t(1));
        QVERIFY(all->skipped_example.find("not an event") != std::string::npos);
        QVERIFY(all->rows.find(s.json(e).substr(0, s.json(e).size() - 1) + ",\"node\"") != std::string::npos);
        QCOMPARE(all->end, f2);
        // From the end of the sealed segment the next build starts in the next one.
        auto second = b.build(f1, f2, BatchLimits{});
        QCOMPARE(second->row_count, uint64_t(2));
        QCOMPARE(*b.countRows({}, f2), uint64_t(5));
        QCOMPARE(b.positionForTime(0), SourcePosition{});
        QCOMPARE(b.positionForTime(INT64_MAX), (SourcePosition{f2.segment, 0}));
    }

    void shipsEverythingOnceAndKeepsItsPosition() {
        Archive a;
        testing::EventSigner s(3);
        a.eventsFrame(s, {0, 1, 2}, 20);
        const SourcePosition end = a.eventsFrame(s, {3}, 15, 100);
        FakeClickHouse ch;
        {
            auto sink = makeSink(sinkOptions(a, ch.url()));
            sink->start(end, 75);
            QTRY_VERIFY_WITH_TIMEOUT(caughtUp(*sink, end), 10000);
            const SinkStatus st = sink->status();
            QCOMPARE(st.shipped_events, uint64_t(75));
            QCOMPARE(st.lag_events, uint64_t(0));
            QCOMPARE(st.lag_seconds, 0.0);
            QCOMPARE(st.errors, uint64_t(0));
            QVERIFY(st.wire_bytes > 0 && st.wire_bytes < st.body_bytes);
            QCOMPARE(st.events_per_s, 75.0 * 1000 / ClickHouseSink::kRateWindowMs);  // acknowledged in the window
            QVERIFY(st.wire_bytes_per_s > 0);
            sink->stop();
            QCOMPARE(sink->status().phase, SinkPhase::Stopped);
        }
        QCOMPARE(ch.count(), size_t(75));
        QCOMPARE(ch.distinctIds(), size_t(75));
        QCOMPARE(ch.statements.size(), size_t(4));  // database, events, sightings, one insert
        QVERIFY(ch.statements[0].rfind("CREATE DATABASE", 0) == 0);
        auto saved = loadSinkState(ClickHouseSink::stateFile(sinkOptions(a, ch.url())));
        QCOMPARE((*saved)->events.position, end);
        QCOMPARE((*saved)->events.rows_before, uint64_t(75));
        QVERIFY(!(*saved)->events.pending);

        // Restarted: nothing to send; new frames made durable later follow.
        auto sink = makeSink(sinkOptions(a, ch.url()));
        sink->start(end, 75);
        QTRY_VERIFY_WITH_TIMEOUT(caughtUp(*sink, end), 10000);
        const SourcePosition more = a.eventsFrame(s, {3}, 5, 500);
        sink->notifyDurable(more, 80);
        QTRY_VERIFY_WITH_TIMEOUT(caughtUp(*sink, more), 10000);
        QCOMPARE(ch.count(), size_t(80));
        QCOMPARE(ch.inserts, 2);
    }

    // The server committed the batch but the answer was lost: the check finds every partition,
    // nothing is sent twice.
    void lostAnswerIsSettledByTheCheck() {
        Archive a;
        testing::EventSigner s(4);
        const SourcePosition end = a.eventsFrame(s, {0, 1, 2}, 10);
        FakeClickHouse ch;
        ch.insertMode = [](int n) { return n == 1 ? FakeClickHouse::InsertMode::CommitThenDrop : FakeClickHouse::InsertMode::Commit; };
        auto sink = makeSink(sinkOptions(a, ch.url()));
        sink->start(end, 30);
        QTRY_VERIFY_WITH_TIMEOUT(caughtUp(*sink, end), 10000);
        const SinkStatus st = sink->status();
        QCOMPARE(ch.inserts, 1);
        QCOMPARE(ch.checks, 1);
        QCOMPARE(ch.count(), size_t(30));
        QCOMPARE(st.ambiguous, uint64_t(1));
        QCOMPARE(st.parts_confirmed, uint64_t(3));
        QCOMPARE(st.parts_resent, uint64_t(0));
        QCOMPARE(st.shipped_events, uint64_t(30));
    }

    // Only one partition arrived: only the other partitions are sent again.
    void partialCommitResendsOnlyTheMissingPartitions() {
        Archive a;
        testing::EventSigner s(5);
        const SourcePosition end = a.eventsFrame(s, {0, 1, 2}, 10);
        FakeClickHouse ch;
        ch.insertMode = [](int n) {
            return n == 1 ? FakeClickHouse::InsertMode::CommitFirstPartitionThenDrop : FakeClickHouse::InsertMode::Commit;
        };
        auto sink = makeSink(sinkOptions(a, ch.url()));
        sink->start(end, 30);
        QTRY_VERIFY_WITH_TIMEOUT(caughtUp(*sink, end), 10000);
        QCOMPARE(ch.inserts, 2);
        QCOMPARE(ch.statements.back(), std::string("INSERT 20"));
        QCOMPARE(ch.count(), size_t(30));
        QCOMPARE(ch.distinctIds(), size_t(30));
        QCOMPARE(sink->status().parts_confirmed, uint64_t(1));
        QCOMPARE(sink->status().parts_resent, uint64_t(2));
    }

    // A crash after the batch was recorded as pending: the next start asks the server before
    // sending, here finds it complete, and moves on without an insert.
    void pendingBatchIsCheckedAfterARestart() {
        Archive a;
        testing::EventSigner s(6);
        const SourcePosition end = a.eventsFrame(s, {1, 2}, 8);
        FakeClickHouse ch;
        const auto options = sinkOptions(a, ch.url());
        ArchiveBatcher b(a.dir, options.node);
        auto batch = b.build({}, end, BatchLimits{});
        ch.load(batch->rows);  // it arrived before the crash
        SinkState state;
        state.target = ClickHouseSink::targetIdentity(options);
        state.node = options.node;
        state.events.pending = PendingBatch{batch->end, batch->id, batch->row_count};
        QVERIFY(saveSinkState(ClickHouseSink::stateFile(options), state));
        auto sink = makeSink(options);
        QVERIFY(sink->status().pending);
        sink->start(end, 16);
        QTRY_VERIFY_WITH_TIMEOUT(caughtUp(*sink, end), 10000);
        QCOMPARE(ch.inserts, 0);
        QCOMPARE(ch.checks, 1);
        QCOMPARE(ch.count(), size_t(16));
        auto saved = loadSinkState(ClickHouseSink::stateFile(options));
        QCOMPARE((*saved)->events.position, end);
        QCOMPARE((*saved)->events.rows_before, uint64_t(16));
    }

    // Server errors and a failing check are retried; nothing is lost or doubled.
    void serverErrorsAreRetried() {
        Archive a;
        testing::EventSigner s(7);
        const SourcePosition end = a.eventsFrame(s, {0, 3}, 6);
        FakeClickHouse ch;
        ch.insertMode = [](int n) { return n <= 2 ? FakeClickHouse::InsertMode::Refuse : FakeClickHouse::InsertMode::Commit; };
        ch.refuseChecks = true;
        auto sink = makeSink(sinkOptions(a, ch.url()));
        sink->start(end, 12);
        QTRY_VERIFY_WITH_TIMEOUT(sink->status().consecutive_failures >= 3, 10000);
        QVERIFY(sink->status().last_error.find("check: HTTP 500") != std::string::npos);
        QCOMPARE(sink->status().position, SourcePosition{});
        ch.refuseChecks = false;
        QTRY_VERIFY_WITH_TIMEOUT(caughtUp(*sink, end), 10000);
        QCOMPARE(ch.count(), size_t(12));
        QCOMPARE(sink->status().consecutive_failures, uint64_t(0));
        QVERIFY(sink->status().errors >= 4);
    }

    void deadAddressLagsAndSaysWhy() {
        Archive a;
        testing::EventSigner s(8);
        const SourcePosition end = a.eventsFrame(s, {0}, 5);
        quint16 port = 0;
        {
            QTcpServer probe;
            QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
            port = probe.serverPort();
        }
        auto sink = makeSink(sinkOptions(a, QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port))));
        sink->start(end, 5);
        QTRY_VERIFY_WITH_TIMEOUT(sink->status().consecutive_failures >= 3, 10000);
        const SinkStatus st = sink->status();
        QCOMPARE(st.phase, SinkPhase::Retrying);
        QVERIFY2(st.last_error.find("connect_failed") != std::string::npos, st.last_error.c_str());
        QCOMPARE(st.ambiguous, uint64_t(0));
        QCOMPARE(st.lag_events, uint64_t(5));
        QCOMPARE(st.lag_archive_bytes, end.offset - 40);
        QVERIFY(st.lag_seconds > 0);  // counted from the segment's creation: it predates this run

        // Without an allow rule the loopback address is refused by the policy.
        auto o = sinkOptions(a, QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)), "n2");
        o.policy = std::make_shared<net::AddressPolicy>();
        auto refused = makeSink(o);
        refused->start(end, 5);
        QTRY_VERIFY_WITH_TIMEOUT(refused->status().errors >= 1, 10000);
        QVERIFY2(refused->status().last_error.find("address_refused") != std::string::npos,
                 refused->status().last_error.c_str());
    }

    void replayGoesBackAndComesForward() {
        Archive a;
        testing::EventSigner s(9);
        const SourcePosition f1 = a.eventsFrame(s, {0}, 4);
        const SourcePosition end = a.eventsFrame(s, {1}, 6);
        FakeClickHouse ch;
        {
            auto sink = makeSink(sinkOptions(a, ch.url()));
            sink->start(end, 10);
            QTRY_VERIFY_WITH_TIMEOUT(caughtUp(*sink, end), 10000);
        }
        auto o = sinkOptions(a, ch.url());
        o.replay_from = f1;
        auto sink = makeSink(o);
        sink->start(end, 10);
        QTRY_VERIFY_WITH_TIMEOUT(caughtUp(*sink, end), 10000);
        QCOMPARE(sink->status().shipped_events, uint64_t(6));
        QCOMPARE(ch.count(), size_t(16));  // the second frame twice: identical copies the table merges
        QCOMPARE(ch.distinctIds(), size_t(10));
        auto saved = loadSinkState(ClickHouseSink::stateFile(o));
        QCOMPARE((*saved)->events.rows_before, uint64_t(10));
    }

    void configSection() {
        QTemporaryDir tmp;
        const auto file = std::filesystem::path(tmp.path().toStdString()) / "config.json";
        std::ofstream(file) << R"({"clickhouse": {"url": "https://ch.example:8443", "database": "nostr", "user": "a",
                                   "password_file": "/etc/pw", "table_prefix": "x_", "node": "n-1", "batch_bytes": 1048576}})";
        auto cfg = engine::loadConfig(file);
        QVERIFY2(cfg, cfg ? "" : cfg.error().message.c_str());
        QCOMPARE(cfg->clickhouse.url, std::string("https://ch.example:8443"));
        QCOMPARE(cfg->clickhouse.database, std::string("nostr"));
        QCOMPARE(cfg->clickhouse.table_prefix, std::string("x_"));
        QCOMPARE(cfg->clickhouse.batch_bytes, uint64_t(1048576));
        QVERIFY(engine::saveConfig(file, *cfg));  // the settings dialog's round trip keeps the section
        QCOMPARE(*engine::loadConfig(file), *cfg);
        for (const char* bad : {R"({"clickhouse": {"url": "ftp://h"}})", R"({"clickhouse": {"url": "http://u:p@h"}})",
                                R"({"clickhouse": {"database": "a b"}})", R"({"clickhouse": {"nope": 1}})",
                                R"({"clickhouse": {"batch_bytes": 10}})", R"({"clickhouse": "http://h"})"}) {
            std::ofstream(file) << bad;
            auto r = engine::loadConfig(file);
            QVERIFY2(!r && r.error().code == "config", bad);
        }
        // The password comes from its file, never from config.json; a default node name is made.
        const auto pw = std::filesystem::path(tmp.path().toStdString()) / "pw";
        std::ofstream(pw) << "s3cret\nignored\n";
        engine::ClickHouseConfig c;
        c.url = "http://127.0.0.1:8123";
        c.user = "u";
        c.password_file = pw.string();
        auto o = engine::clickHouseSinkOptions(c, tmp.path().toStdString(), std::make_shared<net::AddressPolicy>());
        QVERIFY(o);
        QCOMPARE(o->password, std::string("s3cret"));
        QVERIFY(!o->node.empty());
        QCOMPARE(o->state_dir, std::filesystem::path(tmp.path().toStdString()) / "sinks");
        c.password_file = (std::filesystem::path(tmp.path().toStdString()) / "missing").string();
        QCOMPARE(engine::clickHouseSinkOptions(c, tmp.path().toStdString(), nullptr).error().code, std::string("config"));
    }

    void invalidOptionsAreRefused() {
        Archive a;
        auto bad = [&](auto edit) {
            auto o = sinkOptions(a, QUrl("http://127.0.0.1:8123"));
            edit(o);
            auto s = ClickHouseSink::create(o);
            return !s && s.error().code == "config";
        };
        QVERIFY(bad([](ClickHouseSinkOptions& o) { o.url = QUrl("ftp://h/"); }));
        QVERIFY(bad([](ClickHouseSinkOptions& o) { o.url = QUrl("http://u:p@h:8123"); }));
        QVERIFY(bad([](ClickHouseSinkOptions& o) { o.database = "a;DROP"; }));
        QVERIFY(bad([](ClickHouseSinkOptions& o) { o.table_prefix = "x y"; }));
        QVERIFY(bad([](ClickHouseSinkOptions& o) { o.node.clear(); }));
        QVERIFY(ClickHouseSink::stateFile(sinkOptions(a, QUrl("http://h:1"))) !=
                ClickHouseSink::stateFile(sinkOptions(a, QUrl("http://h:2"))));
    }
};

QTEST_GUILESS_MAIN(TestClickHouseSink)
#include "tst_clickhouse_sink.moc"
