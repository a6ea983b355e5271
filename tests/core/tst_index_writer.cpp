// IndexWriter over the partitioned index: commit groups, dedupe, sightings, the watermark of the
// lanes, refusal of duplicates, 64-bit created_at, schema version guard, read-only opening, FTS
// on/off with the backfill from the archive.
#include <sqlite3.h>

#include <QTemporaryDir>
#include <QtTest>
#include <cstring>
#include <limits>
#include <algorithm>
#include <map>

#include "core/index/index_reader.h"
#include "core/index/index_writer.h"
#include "core/index/tag_key.h"
#include "core/protocol/event_codec.h"

using namespace archivist;
using namespace archivist::index;

namespace {

protocol::Bytes32 bytesFor(uint32_t n, uint8_t salt) {
    protocol::Bytes32 b{};
    b[0] = salt;
    std::memcpy(b.data() + 28, &n, 4);
    return b;
}

NewEvent makeEvent(uint32_t n, int64_t created_at = 1700000000, std::string content = "hello world",
                   uint16_t kind = 1) {
    NewEvent ne;
    ne.event.id = bytesFor(n, 0xee);
    ne.event.pubkey = bytesFor(n % 3, 0xaa);
    ne.event.created_at = created_at;
    ne.event.kind = kind;
    ne.event.content = std::move(content);
    ne.event.tags = {{"e", "ref" + std::to_string(n)}, {"p", "someone"}, {"client", "x"}};
    ne.line = n;
    ne.first_seen_at_ms = 1000 + n;
    return ne;
}

archive::AppendedFrame makeFrame(uint32_t segment, uint64_t offset, uint32_t length, uint32_t events) {
    archive::AppendedFrame f;
    f.ref = {segment, offset, length};
    f.events = events;
    f.raw_bytes = length * 3;
    f.checksum = 0x0123456789abcdefULL;
    return f;
}

protocol::Filter searchFilter(const std::string& text) {
    protocol::Filter f;
    f.search = text;
    return f;
}

}  // namespace

class TestIndexWriter : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    int m_n = 0;
    std::filesystem::path freshDb() {
        return std::filesystem::path(m_dir.path().toStdString()) / ("index" + std::to_string(++m_n));
    }
    std::unique_ptr<IndexWriter> openWriter(const std::filesystem::path& p, IndexOptions o = {},
                                            const FrameTextFn& frames = {}) {
        auto w = IndexWriter::open(p, o, nullptr, frames);
        if (!w) qWarning() << "open:" << w.error().message.c_str();
        return w ? std::move(*w) : nullptr;
    }
    std::unique_ptr<IndexReader> openReader(const std::filesystem::path& p) {
        auto r = IndexReader::open(p);
        if (!r) qWarning() << "open reader:" << r.error().message.c_str();
        return r ? std::move(*r) : nullptr;
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void commitGroups() {
        const auto db = freshDb();
        auto w = openWriter(db);
        QVERIFY(w);
        QCOMPARE(w->eventCount(), 0u);
        QCOMPARE(w->watermark(), (archive::Watermark{0, 0}));
        const auto src = w->sourceId("wss://relay.example");
        QVERIFY(src);
        QCOMPARE(*w->sourceId("wss://relay.example"), *src);  // get, not insert again

        std::vector<NewEvent> group1{makeEvent(0), makeEvent(1), makeEvent(2, 1700000000, "", 7)};
        for (auto& e : group1) e.source = *src;
        const auto f1 = makeFrame(1, 16, 1000, 3);
        auto r1 = w->commit(&f1, group1, {});
        QVERIFY2(r1, r1 ? "" : r1.error().message.c_str());
        QCOMPARE(r1->size(), 3u);
        QVERIFY((*r1)[0] < (*r1)[1] && (*r1)[1] < (*r1)[2]);
        QCOMPARE(w->eventCount(), 3u);
        QCOMPARE(w->watermark(), (archive::Watermark{1, 1016}));

        std::vector<NewEvent> group2{makeEvent(3)};
        const auto f2 = makeFrame(1, 1016, 500, 1);
        auto r2 = w->commit(&f2, group2, {});
        QVERIFY(r2);
        QCOMPARE(w->eventCount(), 4u);
        QCOMPARE(w->watermark(), (archive::Watermark{1, 1516}));

        // A commit without a frame (sightings only) keeps the watermark.
        auto r3 = w->commit(nullptr, {}, {});
        QVERIFY(r3);
        QCOMPARE(w->watermark(), (archive::Watermark{1, 1516}));

        auto rd = openReader(db);
        QVERIFY(rd);
        auto row = rd->findById(group1[1].event.id);
        QVERIFY(row && row->has_value());
        const EventRow& er = **row;
        QCOMPARE(er.rowid, (*r1)[1]);
        QCOMPARE(er.frame, f1.ref);
        QCOMPARE(er.line, 1u);
        QCOMPARE(er.pubkey, group1[1].event.pubkey);
        QCOMPARE(er.first_seen_at_ms, group1[1].first_seen_at_ms);
        auto st = rd->stats();
        QVERIFY(st);
        QCOMPARE(st->events, 4u);
        QCOMPARE(st->frames, 2u);
        QCOMPARE(st->segments, 1u);
        QCOMPARE(st->watermark, (archive::Watermark{1, 1516}));
        QVERIFY(st->index_bytes > 0);
        QCOMPARE(st->kinds, (std::vector<std::pair<uint16_t, uint64_t>>{{1, 3}, {7, 1}}));
        std::vector<FrameRow> frames;
        QVERIFY(rd->forEachFrame([&](const FrameRow& f) { frames.push_back(f); return true; }));
        QCOMPARE(frames.size(), 2u);
        QCOMPARE(frames[0].frame.ref, f1.ref);
        QCOMPARE(frames[0].frame.checksum, f1.checksum);
        QCOMPARE(frames[0].frame.raw_bytes, f1.raw_bytes);
        std::vector<uint32_t> lines;
        QVERIFY(rd->forEachEvent([&](const EventRow& e) { lines.push_back(e.line); return true; }));
        std::sort(lines.begin(), lines.end());
        QCOMPARE(lines, (std::vector<uint32_t>{0, 1, 2, 3}));
        auto sightings = rd->sightings((*r1)[0]);
        QVERIFY(sightings);
        QCOMPARE(sightings->size(), 1u);
        QCOMPARE((*sightings)[0].source, std::string("wss://relay.example"));
        QCOMPARE((*sightings)[0].seen_at_ms, group1[0].first_seen_at_ms);
    }

    void dedupeViaFindEvent() {
        auto w = openWriter(freshDb());
        QVERIFY(w);
        const auto e = makeEvent(42);
        QVERIFY(!w->findEvent(e.event.id, e.event.created_at).has_value());
        const auto f = makeFrame(1, 16, 10, 1);
        auto r = w->commit(&f, std::vector<NewEvent>{e}, {});
        QVERIFY(r);
        const auto found = w->findEvent(e.event.id, e.event.created_at);
        QVERIFY(found.has_value());
        QCOMPARE(found->rk, r->front());
        QCOMPARE(found->sighash, sigHash(e.event.sig));
        QVERIFY(!w->findEvent(makeEvent(43).event.id, 1700000000).has_value());
    }

    void sightingsKeepEarliest() {
        const auto db = freshDb();
        auto w = openWriter(db);
        QVERIFY(w);
        const uint32_t a = *w->sourceId("wss://a.example");
        const uint32_t b = *w->sourceId("wss://b.example");
        QVERIFY(a != b);
        auto e = makeEvent(1);
        e.source = a;
        e.first_seen_at_ms = 1000;
        const auto f = makeFrame(1, 16, 10, 1);
        const int64_t t = e.event.created_at;
        auto r = w->commit(&f, std::vector<NewEvent>{e}, std::vector<Sighting>{{e.event.id, b, 3000, 0, t}});
        QVERIFY(r);
        // Later, then earlier sightings; and one for an id that is not stored (ignored).
        QVERIFY(w->commit(nullptr, {}, std::vector<Sighting>{{e.event.id, b, 2000, 0, t}, {e.event.id, b, 2500, 0, t},
                                                               {e.event.id, a, 500, 0, t}, {bytesFor(7, 1), a, 1, 0, t}}));
        QVERIFY(w->commit(nullptr, {}, std::vector<Sighting>{{e.event.id, a, 900, 0, t}}));
        auto rd = openReader(db);
        auto s = rd->sightings(r->front());
        QVERIFY(s);
        QCOMPARE(s->size(), 2u);
        QCOMPARE((*s)[0].source, std::string("wss://a.example"));
        QCOMPARE((*s)[0].seen_at_ms, 500);
        QCOMPARE((*s)[1].source, std::string("wss://b.example"));
        QCOMPARE((*s)[1].seen_at_ms, 2000);
    }

    void watermarkPersistsAcrossReopen() {
        const auto db = freshDb();
        {
            auto w = openWriter(db);
            QVERIFY(w);
            const auto f = makeFrame(3, 4096, 777, 2);
            QVERIFY(w->commit(&f, std::vector<NewEvent>{makeEvent(1), makeEvent(2)}, {}));
            QVERIFY(w->markSegmentSealed(2, 123456, 1700000500));
            QVERIFY(w->checkpoint());
        }
        auto w = openWriter(db);
        QVERIFY(w);
        QCOMPARE(w->watermark(), (archive::Watermark{3, 4873}));
        QCOMPARE(w->eventCount(), 2u);
        QVERIFY(w->findEvent(makeEvent(2).event.id, 1700000000).has_value());
        auto st = openReader(db)->stats();
        QVERIFY(st);
        QCOMPARE(st->sealed_segments, 1u);
        QCOMPARE(st->watermark, (archive::Watermark{3, 4873}));
    }

    void duplicatesAreRefusedBeforeAnythingIsWritten_data() {
        QTest::addColumn<bool>("duplicateInsideCommit");
        QTest::newRow("same id twice in one commit") << true;
        QTest::newRow("id already stored") << false;
    }
    void duplicatesAreRefusedBeforeAnythingIsWritten() {
        QFETCH(bool, duplicateInsideCommit);
        const auto db = freshDb();
        auto w = openWriter(db);
        QVERIFY(w);
        const uint32_t src = *w->sourceId("import:x.jsonl");
        const auto f1 = makeFrame(1, 16, 100, 1);
        auto first = makeEvent(1);
        first.source = src;
        QVERIFY(w->commit(&f1, std::vector<NewEvent>{first}, {}));
        const archive::Watermark before = w->watermark();

        std::vector<NewEvent> bad{makeEvent(10, 1700000000, "unique words zebra", 30023), makeEvent(11)};
        bad.push_back(duplicateInsideCommit ? makeEvent(10) : makeEvent(1));
        for (auto& e : bad) e.source = src;
        const auto f2 = makeFrame(1, 116, 100, 3);
        auto r = w->commit(&f2, bad, std::vector<Sighting>{{first.event.id, src, 1, 0, 1700000000}});
        QVERIFY(!r);
        QCOMPARE(r.error().code, std::string("duplicate"));
        QCOMPARE(w->watermark(), before);
        QCOMPARE(w->eventCount(), 1u);
        QVERIFY(!w->findEvent(bad[0].event.id, 1700000000).has_value());
        QVERIFY(!w->findEvent(bad[1].event.id, 1700000000).has_value());

        auto rd = openReader(db);
        QCOMPARE(*rd->count({}), 1u);
        auto st = rd->stats();
        QCOMPARE(st->frames, 1u);
        QCOMPARE(st->watermark, before);
        QCOMPARE(st->kinds, (std::vector<std::pair<uint16_t, uint64_t>>{{1, 1}}));
        QCOMPARE(*rd->count({searchFilter("zebra")}), 0u);
        protocol::Filter tag;
        tag.tags['e'] = {"ref10"};
        QCOMPARE(*rd->count({tag}), 0u);
        auto s = rd->sightings(w->findEvent(first.event.id, 1700000000)->rk);
        QCOMPARE(s->front().seen_at_ms, first.first_seen_at_ms);  // the extra sighting was not written

        // The writer is usable afterwards.
        const auto f3 = makeFrame(1, 116, 100, 1);
        QVERIFY(w->commit(&f3, std::vector<NewEvent>{bad[0]}, {}));
        QCOMPARE(w->eventCount(), 2u);
        QCOMPARE(w->watermark(), (archive::Watermark{1, 216}));
    }

    void createdAtStoredExactly_data() {
        QTest::addColumn<qint64>("createdAt");
        QTest::newRow("zero") << qint64(0);
        QTest::newRow("2^32") << (qint64(1) << 32);
        QTest::newRow("2^62") << (qint64(1) << 62);
        QTest::newRow("2^63-1") << std::numeric_limits<qint64>::max();
    }
    void createdAtStoredExactly() {
        QFETCH(qint64, createdAt);
        const auto db = freshDb();
        auto w = openWriter(db);
        const auto e = makeEvent(9, createdAt);
        const auto f = makeFrame(1, 16, 10, 1);
        QVERIFY(w->commit(&f, std::vector<NewEvent>{e}, {}));
        auto rd = openReader(db);
        auto row = rd->findById(e.event.id);
        QVERIFY(row && row->has_value());
        QCOMPARE((*row)->created_at, int64_t(createdAt));
        protocol::Filter exact;
        exact.since = createdAt;
        exact.until = createdAt;
        QCOMPARE(*rd->count({exact}), 1u);
        auto page = rd->query({}, Cursor{createdAt, {}}, 10, Order::NewestFirst);
        QVERIFY(page);
        QCOMPARE(page->size(), 1u);  // same second, id greater than the all-zero cursor id
    }

    void newerSchemaRefused() {
        const auto db = freshDb();
        { QVERIFY(openWriter(db)); }
        sqlite3* raw = nullptr;
        QCOMPARE(sqlite3_open((db / "g1" / "catalog.sqlite").c_str(), &raw), SQLITE_OK);
        QCOMPARE(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(raw);
        auto w = IndexWriter::open(db);
        QVERIFY(!w);
        QCOMPARE(w.error().code, std::string("schema"));
        QVERIFY2(w.error().message.find("newer Archivist") != std::string::npos, w.error().message.c_str());
        auto r = IndexReader::open(db);
        QVERIFY(!r);
        QCOMPARE(r.error().code, std::string("schema"));
    }

    void readOnlyWriterRefusesWrites() {
        const auto db = freshDb();
        {
            auto w = openWriter(db);
            const auto f = makeFrame(1, 16, 10, 1);
            QVERIFY(w->commit(&f, std::vector<NewEvent>{makeEvent(1)}, {}));
        }
        IndexOptions o;
        o.read_only = true;
        auto w = openWriter(db, o);
        QVERIFY(w);
        QCOMPARE(w->eventCount(), 1u);
        QVERIFY(w->findEvent(makeEvent(1).event.id, 1700000000).has_value());
        const auto f = makeFrame(1, 26, 10, 1);
        auto r = w->commit(&f, std::vector<NewEvent>{makeEvent(2)}, {});
        QVERIFY(!r);
        QCOMPARE(r.error().code, std::string("read_only"));
        QCOMPARE(w->watermark(), (archive::Watermark{1, 26}));
    }

    void tagsIndexed() {
        const auto db = freshDb();
        auto w = openWriter(db);
        auto e = makeEvent(1);
        e.event.tags = {{"t", std::string(512, 'a')}, {"t", std::string(513, 'b')}, {"client", "c"}, {"x"}};
        const auto f = makeFrame(1, 16, 10, 1);
        QVERIFY(w->commit(&f, std::vector<NewEvent>{e}, {}));
        auto rd = openReader(db);
        auto countTag = [&](char name, const std::string& v) {
            protocol::Filter fl;
            fl.tags[name] = {v};
            return *rd->count({fl});
        };
        QCOMPARE(countTag('t', std::string(512, 'a')), 1u);
        QCOMPARE(countTag('t', std::string(513, 'b')), 0u);  // too long: not indexed
        QCOMPARE(countTag('c', "c"), 0u);                    // multi-letter names are not indexed
    }

    void tagKeysAreStableAndDistinct() {
        // The key is part of the file format: a changed function would orphan every stored tag.
        // Expected values from an independent implementation (Python hashlib):
        // SHA-256(b"e\0abc") starts 9f19900ddc3193b7, read little-endian as a signed 64-bit integer.
        QCOMPARE(tagKey('e', "abc"), int64_t(-5218772722002159201));
        QCOMPARE(tagKey('p', ""), int64_t(4231305812835838600));
        QVERIFY(tagKey('e', "abc") != tagKey('p', "abc"));
        QVERIFY(tagKey('e', "abc") != tagKey('e', "abd"));
        QVERIFY(tagKey('e', "") != tagKey('p', ""));
    }

    void ftsOffThenOn() {
        const auto db = freshDb();
        std::map<uint64_t, std::string> frameText;  // offset → uncompressed frame (the "archive")
        auto commitFrame = [&](IndexWriter& w, uint64_t offset, std::vector<NewEvent> events) {
            std::string text;
            for (size_t i = 0; i < events.size(); ++i) {
                events[i].line = uint32_t(i);
                protocol::appendEventJson(text, events[i].event);
                text += '\n';
            }
            frameText[offset] = text;
            const auto f = makeFrame(1, offset, 10, uint32_t(events.size()));
            return bool(w.commit(&f, events, {}));
        };
        IndexOptions off;
        off.fts = false;
        {
            auto w = openWriter(db, off);
            QVERIFY(w);
            QVERIFY(!w->fts());
            QVERIFY(commitFrame(*w, 16, {makeEvent(1, 1, "the quick brown fox"), makeEvent(2, 2, "lazy dog")}));
            QVERIFY(commitFrame(*w, 26, {makeEvent(3, 3, "Fox hunting in Zürich")}));
            auto rd = openReader(db);
            QVERIFY(!rd->stats()->fts);
            auto q = rd->query({searchFilter("fox")}, std::nullopt, 10);
            QVERIFY(!q);
            QCOMPARE(q.error().code, std::string("fts_off"));
        }
        {
            {
                auto kept = openWriter(db);  // no choice given: the stored "off" is kept
                QVERIFY(kept);
                QVERIFY(!kept->fts());
            }
            IndexOptions on;
            on.fts = true;
            // Turning it on over stored events fills it from the archive at open.
            int reads = 0;
            auto w = openWriter(db, on, [&](const archive::FrameRef& ref) -> Expected<std::string> {
                ++reads;
                return frameText.at(ref.offset);
            });
            QVERIFY(w);
            QVERIFY(w->fts());
            QCOMPARE(reads, 2);
            QVERIFY(!w->index()->ftsBackfillPending());
            QVERIFY(commitFrame(*w, 36, {makeEvent(4, 4, "a fox again")}));
            QCOMPARE(*openReader(db)->count({searchFilter("fox")}), 3u);
        }
        {
            auto w = openWriter(db);
            QVERIFY(!w->index()->ftsBackfillPending());
            auto rd = openReader(db);
            QVERIFY(rd->stats()->fts);
            QCOMPARE(*rd->count({searchFilter("fox")}), 3u);
            QCOMPARE(*rd->count({searchFilter("zurich")}), 1u);  // diacritics folded
            QCOMPARE(*rd->count({searchFilter("QUICK fo")}), 1u);  // words ANDed, prefix match
            QCOMPARE(*rd->count({searchFilter("\"fox\" OR dog")}), 0u);  // no FTS syntax interpreted
            QCOMPARE(*rd->count({searchFilter("dog")}), 1u);
        }
        {
            auto w = openWriter(db, off);
            QVERIFY(!w->fts());
            auto q = openReader(db)->count({searchFilter("fox")});
            QVERIFY(!q);
            QCOMPARE(q.error().code, std::string("fts_off"));
        }
    }
};

QTEST_GUILESS_MAIN(TestIndexWriter)
#include "tst_index_writer.moc"
