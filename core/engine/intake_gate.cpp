#include "core/engine/intake_gate.h"

namespace archivist::engine {

bool IntakeGate::trySubmit(ingest::RawBatch& batch) {
    if (held()) {
        m_refused.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    return m_inner.trySubmit(batch);
}

}  // namespace archivist::engine
