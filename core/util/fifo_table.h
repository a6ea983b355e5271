#pragma once
// FifoTable: a bounded map that forgets its oldest entry first, with no allocation after
// construction. Entries live in a ring in insertion order; an open-addressed table of ring
// positions (linear probing, at most half full, backward-shift deletion) finds them in one or two
// cache lines. H must spread keys over all bits it returns (keyed, where keys come from outside).
// Not thread-safe: the owner locks or confines it to one thread.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace archivist {

template <typename K, typename V, typename H>
class FifoTable {
public:
    explicit FifoTable(size_t capacity) : m_capacity(capacity) {
        size_t tableSize = 8;
        while (tableSize < 2 * m_capacity) tableSize *= 2;
        m_table = std::make_unique<uint32_t[]>(tableSize);  // zeroed: every slot empty
        m_mask = tableSize - 1;
        m_ring.reserve(m_capacity);
    }

    V* find(const K& key) {
        const size_t i = slotOf(key);
        return i > m_mask ? nullptr : &m_ring[m_table[i] - 1].value;
    }
    const V* find(const K& key) const { return const_cast<FifoTable*>(this)->find(key); }

    // Hints that `key` is looked up soon; neither changes anything. prefetchSlot touches no
    // memory of the table (safe without the owner's lock); prefetchEntry reads the slot (best once
    // prefetchSlot had time to bring it) and asks for the entry it points to.
    void prefetchSlot(const K& key) const { __builtin_prefetch(&m_table[H{}(key) & m_mask]); }
    void prefetchEntry(const K& key) const {
        if (const uint32_t at = m_table[H{}(key) & m_mask]) {
            const char* node = reinterpret_cast<const char*>(&m_ring[at - 1]);
            __builtin_prefetch(node);
            __builtin_prefetch(node + sizeof(Node) - 1);
        }
    }

    // Adds key → value unless the key is there (then nothing changes); at capacity the oldest
    // entry goes first. A table of capacity 0 holds nothing.
    void insert(const K& key, const V& value) {
        if (!m_capacity || slotOf(key) <= m_mask) return;
        size_t pos;
        if (m_ring.size() < m_capacity) {
            pos = m_ring.size();
            m_ring.push_back(Node{key, value});
        } else {
            pos = m_next;
            eraseSlot(slotOf(m_ring[pos].key));
            m_ring[pos] = Node{key, value};
            m_next = (pos + 1) % m_capacity;
        }
        size_t i = H{}(key) & m_mask;
        while (m_table[i]) i = (i + 1) & m_mask;
        m_table[i] = uint32_t(pos + 1);
    }

    void clear() {
        for (size_t i = 0; i <= m_mask; ++i) m_table[i] = 0;
        m_ring.clear();
        m_next = 0;
    }
    size_t size() const { return m_ring.size(); }
    size_t capacity() const { return m_capacity; }

private:
    struct Node {
        K key;
        V value;
    };
    size_t slotOf(const K& key) const {  // its slot, or m_mask + 1
        for (size_t i = H{}(key) & m_mask;; i = (i + 1) & m_mask) {
            const uint32_t at = m_table[i];
            if (!at) return m_mask + 1;
            if (m_ring[at - 1].key == key) return i;
        }
    }
    void eraseSlot(size_t i) {
        // Every later slot of the run whose home is not between the hole and itself moves into
        // the hole, so that no lookup stops early at it.
        for (size_t j = (i + 1) & m_mask; m_table[j]; j = (j + 1) & m_mask) {
            const size_t home = H{}(m_ring[m_table[j] - 1].key) & m_mask;
            const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (stays) continue;
            m_table[i] = m_table[j];
            i = j;
        }
        m_table[i] = 0;
    }

    size_t m_capacity;
    std::vector<Node> m_ring;  // insertion order; the oldest is at m_next once full
    size_t m_next = 0;
    std::unique_ptr<uint32_t[]> m_table;  // ring position + 1; 0: empty
    size_t m_mask = 0;
};

}  // namespace archivist
