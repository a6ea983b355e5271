#include "core/engine/frame_indexer.h"

#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/ingest/recent_id_cache.h"
#include "core/protocol/event_codec.h"

namespace archivist::engine {

Expected<FrameIndexResult> indexFrame(index::IndexWriter& index, const archive::Frame& frame,
                                      uint32_t index_source, int64_t seen_at_ms, const CarryOverFn& carry_over) {
    FrameIndexResult result;
    std::vector<index::NewEvent> events;
    std::vector<index::Sighting> sightings;
    std::unordered_set<protocol::Bytes32, ingest::IdHash> inFrame;
    std::string_view text(frame.text);
    uint32_t line = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view json = text.substr(pos, end - pos);
        pos = end + 1;
        const uint32_t thisLine = line++;
        index::NewEvent ne;
        if (protocol::parseEvent(json, ne.event) != protocol::Reject::None) {
            ++result.damaged_lines;
            continue;
        }
        const protocol::IdForm form = protocol::checkId(ne.event);
        if (form == protocol::IdForm::Mismatch) {
            ++result.damaged_lines;
            continue;
        }
        if (inFrame.count(ne.event.id) || index.findEvent(ne.event.id, ne.event.created_at)) {
            ++result.already_indexed;
            continue;
        }
        inFrame.insert(ne.event.id);
        ne.line = thisLine;
        ne.flags = form == protocol::IdForm::Nip01Text ? uint32_t(protocol::kFlagNip01TextId) : 0u;
        ne.first_seen_at_ms = seen_at_ms;
        ne.source = index_source;
        if (carry_over) carry_over(ne, sightings);
        events.push_back(std::move(ne));
    }
    archive::AppendedFrame appended;
    appended.ref = frame.ref;
    appended.events = line;
    appended.raw_bytes = frame.text.size();
    appended.checksum = frame.checksum;
    auto committed = index.commit(&appended, events, sightings);
    if (!committed) return committed.error();
    result.indexed = events.size();
    return result;
}

}  // namespace archivist::engine
