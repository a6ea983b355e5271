#include "ui/kind_names.h"

#include <algorithm>
#include <iterator>

namespace archivist::ui {

namespace {

struct KindName {
    int kind;
    const char* name;
};

// Sorted by kind (binary search).
constexpr KindName kKinds[] = {
    {0, "User Metadata"},
    {1, "Short Text Note"},
    {2, "Recommend Relay (deprecated)"},
    {3, "Follows"},
    {4, "Encrypted Direct Message"},
    {5, "Event Deletion Request"},
    {6, "Repost"},
    {7, "Reaction"},
    {8, "Badge Award"},
    {9, "Chat Message"},
    {10, "Group Chat Threaded Reply (deprecated)"},
    {11, "Thread"},
    {12, "Group Thread Reply (deprecated)"},
    {13, "Seal"},
    {14, "Direct Message"},
    {15, "File Message"},
    {16, "Generic Repost"},
    {17, "Reaction to a website"},
    {20, "Picture"},
    {21, "Video Event"},
    {22, "Short-form Portrait Video Event"},
    {40, "Channel Creation"},
    {41, "Channel Metadata"},
    {42, "Channel Message"},
    {43, "Channel Hide Message"},
    {44, "Channel Mute User"},
    {62, "Request to Vanish"},
    {64, "Chess (PGN)"},
    {818, "Merge Requests"},
    {1018, "Poll Response"},
    {1021, "Bid"},
    {1022, "Bid confirmation"},
    {1040, "OpenTimestamps"},
    {1059, "Gift Wrap"},
    {1063, "File Metadata"},
    {1068, "Poll"},
    {1111, "Comment"},
    {1311, "Live Chat Message"},
    {1617, "Patches"},
    {1621, "Issues"},
    {1622, "Git Replies (deprecated)"},
    {1630, "Status: Open"},
    {1631, "Status: Applied / Merged / Resolved"},
    {1632, "Status: Closed"},
    {1633, "Status: Draft"},
    {1971, "Problem Tracker"},
    {1984, "Reporting"},
    {1985, "Label"},
    {1986, "Relay reviews"},
    {1987, "AI Embeddings / Vector lists"},
    {2003, "Torrent"},
    {2004, "Torrent Comment"},
    {2022, "Coinjoin Pool"},
    {4550, "Community Post Approval"},
    {7000, "Job Feedback"},
    {7374, "Reserved Cashu Wallet Tokens"},
    {7375, "Cashu Wallet Tokens"},
    {7376, "Cashu Wallet History"},
    {9041, "Zap Goal"},
    {9321, "Nutzap"},
    {9467, "Tidal login"},
    {9734, "Zap Request"},
    {9735, "Zap"},
    {9802, "Highlights"},
    {10000, "Mute list"},
    {10001, "Pin list"},
    {10002, "Relay List Metadata"},
    {10003, "Bookmark list"},
    {10004, "Communities list"},
    {10005, "Public chats list"},
    {10006, "Blocked relays list"},
    {10007, "Search relays list"},
    {10009, "User groups"},
    {10015, "Interests list"},
    {10019, "Nutzap Mint Recommendation"},
    {10030, "User emoji list"},
    {10050, "Relay list to receive DMs"},
    {10063, "User server list"},
    {10096, "File storage server list"},
    {10166, "Relay Monitor Announcement"},
    {13194, "Wallet Info"},
    {21000, "Lightning Pub RPC"},
    {22242, "Client Authentication"},
    {23194, "Wallet Request"},
    {23195, "Wallet Response"},
    {24133, "Nostr Connect"},
    {24242, "Blobs stored on mediaservers"},
    {27235, "HTTP Auth"},
    {30000, "Follow sets"},
    {30001, "Generic lists (deprecated)"},
    {30002, "Relay sets"},
    {30003, "Bookmark sets"},
    {30004, "Curation sets"},
    {30005, "Video sets"},
    {30007, "Kind mute sets"},
    {30008, "Profile Badges"},
    {30009, "Badge Definition"},
    {30015, "Interest sets"},
    {30017, "Create or update a stall"},
    {30018, "Create or update a product"},
    {30019, "Marketplace UI/UX"},
    {30020, "Product sold as an auction"},
    {30023, "Long-form Content"},
    {30024, "Draft Long-form Content"},
    {30030, "Emoji sets"},
    {30063, "Release artifact sets"},
    {30078, "Application-specific Data"},
    {30166, "Relay Discovery"},
    {30267, "App curation sets"},
    {30311, "Live Event"},
    {30315, "User Statuses"},
    {30388, "Slide Set"},
    {30402, "Classified Listing"},
    {30403, "Draft Classified Listing"},
    {30617, "Repository announcements"},
    {30618, "Repository state announcements"},
    {30818, "Wiki article"},
    {30819, "Redirects"},
    {31234, "Draft Event"},
    {31388, "Link Set"},
    {31890, "Feed"},
    {31922, "Date-Based Calendar Event"},
    {31923, "Time-Based Calendar Event"},
    {31924, "Calendar"},
    {31925, "Calendar Event RSVP"},
    {31989, "Handler recommendation"},
    {31990, "Handler information"},
    {34550, "Community Definition"},
    {38383, "Peer-to-peer Order events"},
};

}  // namespace

QString kindName(int kind) {
    const auto* it = std::lower_bound(std::begin(kKinds), std::end(kKinds), kind,
                                      [](const KindName& k, int v) { return k.kind < v; });
    if (it != std::end(kKinds) && it->kind == kind) return QString::fromLatin1(it->name);
    // The registry's ranges.
    if (kind >= 5000 && kind <= 5999) return QStringLiteral("Job Request");
    if (kind >= 6000 && kind <= 6999) return QStringLiteral("Job Result");
    if (kind >= 9000 && kind <= 9030) return QStringLiteral("Group Control Event");
    if (kind >= 39000 && kind <= 39009) return QStringLiteral("Group metadata");
    if (kind >= 10000 && kind < 20000) return QStringLiteral("Replaceable event");
    if (kind >= 20000 && kind < 30000) return QStringLiteral("Ephemeral event");
    if (kind >= 30000 && kind < 40000) return QStringLiteral("Addressable event");
    return {};
}

QString kindLabel(int kind) {
    const QString name = kindName(kind);
    return name.isEmpty() ? QString::number(kind) : QStringLiteral("%1 · %2").arg(kind).arg(name);
}

}  // namespace archivist::ui
