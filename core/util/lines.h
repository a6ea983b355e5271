#pragma once
// The lines of a text (an archive frame's JSONL), without their '\n'; a last line without one
// counts too. The views point into `text`.
#include <string_view>
#include <vector>

namespace archivist::util {

inline std::vector<std::string_view> splitLines(std::string_view text) {
    std::vector<std::string_view> lines;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        lines.push_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    return lines;
}

}  // namespace archivist::util
