// Full-text searches word by word (decision 0036): for each word, each lane's MATCH expression
// (built from the vocabulary) and the newest page of 100 rows of that lane's full-text file, as
// IndexReader asks for it. Reads the full-text files of a data directory's index read-only.
//
//   bench_search --data-dir DIR [--words gm,zap,a,the] [--repeat 5] [--expansion 64] [--phrases 128]
//
// Prints, per word, the phrases of the expression (summed over lanes), and the median over the
// repeats of the time to build the expressions and to read the pages (summed over lanes).
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/index/fts.h"

using namespace archivist;
using namespace archivist::index;
namespace fs = std::filesystem;

namespace {

double msSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

size_t phrasesOf(const std::string& expr) {
    if (expr.empty()) return 0;
    size_t n = 1, at = 0;
    while ((at = expr.find(" OR ", at)) != std::string::npos) ++n, at += 4;
    at = 0;
    while ((at = expr.find(" AND ", at)) != std::string::npos) ++n, at += 5;
    return n;
}

}  // namespace

int main(int argc, char** argv) {
    fs::path dataDir;
    std::string wordList = "gm,zap,the,of,nostr,a";
    int repeat = 5;
    size_t expansion = 64, phrases = 128;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--data-dir") dataDir = value();
        else if (a == "--words") wordList = value();
        else if (a == "--repeat") repeat = std::max(1, std::stoi(value()));
        else if (a == "--expansion") expansion = std::stoul(value());
        else if (a == "--phrases") phrases = std::stoul(value());
        else {
            std::fprintf(stderr,
                         "usage: bench_search --data-dir DIR [--words w1,w2] [--repeat N] [--expansion N] [--phrases N]\n");
            return 2;
        }
    }
    std::string generation;
    if (std::ifstream current(dataDir / "index" / "CURRENT"); !(current >> generation)) {
        std::fprintf(stderr, "no index in %s\n", dataDir.c_str());
        return 1;
    }
    std::vector<Db> lanes;
    for (uint32_t l = 0;; ++l) {
        const fs::path path = dataDir / "index" / generation / ("fts-" + std::to_string(l) + ".sqlite");
        if (!fs::exists(path)) break;
        auto db = Db::open(path, Db::Mode::ReadOnly);
        if (!db) {
            std::fprintf(stderr, "%s\n", db.error().message.c_str());
            return 1;
        }
        if (auto r = registerTokenizer(db->get()); !r) {
            std::fprintf(stderr, "%s\n", r.error().message.c_str());
            return 1;
        }
        lanes.push_back(std::move(*db));
    }
    if (lanes.empty()) {
        std::fprintf(stderr, "no full-text files in %s\n", (dataDir / "index" / generation).c_str());
        return 1;
    }
    std::vector<std::string> words;
    for (size_t at = 0; at <= wordList.size();) {
        const size_t comma = std::min(wordList.find(',', at), wordList.size());
        if (comma > at) words.push_back(wordList.substr(at, comma - at));
        at = comma + 1;
    }
    std::printf("%zu lanes, expansion %zu, at most %zu phrases; medians of %d\n", lanes.size(), expansion, phrases,
                repeat);
    std::printf("%-12s %8s %12s %10s %6s\n", "word", "phrases", "expression", "page", "rows");
    for (const std::string& word : words) {
        std::vector<double> exprMs, pageMs;
        size_t nPhrases = 0, rows = 0;
        for (int r = 0; r < repeat; ++r) {
            double e = 0, p = 0;
            nPhrases = rows = 0;
            for (Db& db : lanes) {
                auto t0 = std::chrono::steady_clock::now();
                auto parsed = parseSearch(db.get(), word);
                if (!parsed) return std::fprintf(stderr, "%s\n", parsed.error().message.c_str()), 1;
                auto expr = matchExpression(db.get(), *parsed, expansion, phrases);
                if (!expr) return std::fprintf(stderr, "%s\n", expr.error().message.c_str()), 1;
                e += msSince(t0);
                nPhrases += phrasesOf(*expr);
                if (expr->empty()) continue;
                t0 = std::chrono::steady_clock::now();
                auto st = db.prepare("SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY rowid DESC LIMIT 100");
                if (!st) return std::fprintf(stderr, "%s\n", st.error().message.c_str()), 1;
                st->bindText(1, *expr);
                int rc;
                while ((rc = st->step()) == SQLITE_ROW) ++rows;
                if (rc != SQLITE_DONE) return std::fprintf(stderr, "%s\n", sqlite3_errmsg(db.get())), 1;
                p += msSince(t0);
            }
            exprMs.push_back(e);
            pageMs.push_back(p);
        }
        std::printf("%-12s %8zu %9.2f ms %7.2f ms %6zu\n", word.c_str(), nPhrases, median(exprMs), median(pageMs), rows);
    }
    return 0;
}
