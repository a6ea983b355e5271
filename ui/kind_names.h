#pragma once
// Names of Nostr event kinds, from the NIP registry's "Event Kinds" table (nostr-protocol/nips
// README), plus its kind ranges for kinds without a name of their own. Names are English, as in
// the registry (they are protocol terms, like "kind 1").
// Thread: any (a constant table).
#include <QString>

namespace archivist::ui {

// "Short Text Note" for 1; a range's name ("Job Request", "Replaceable event", …) for kinds
// without a registry entry; "" when nothing is known.
QString kindName(int kind);
// "1 · Short Text Note", or just the number.
QString kindLabel(int kind);

}  // namespace archivist::ui
