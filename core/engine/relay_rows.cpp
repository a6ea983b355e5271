#include "core/engine/relay_rows.h"

namespace archivist::engine {

RelayRow relayRow(const net::RelayStatusView& s, const ingest::SourceSnapshot* pipeline) {
    RelayRow r;
    r.url = s.url;
    r.source = s.source;
    r.state = s.state;
    r.state_since_ms = s.state_since_ms;
    r.connected_since_ms = s.connected_since_ms;
    r.consecutive_failures = s.consecutive_failures;
    r.next_attempt_ms = s.next_attempt_ms;
    r.last_error = s.last_error;
    r.last_notice = s.last_notice;
    r.rtt_ms = s.rtt_ms;
    r.connects = s.connects;
    r.messages = s.messages;
    r.bytes_received = s.bytes_received;
    r.bytes_sent = s.bytes_sent;
    r.events_received = s.events_received;
    r.notices = s.notices;
    r.closed_by_relay = s.closed_by_relay;
    r.auth_attempts = s.auth_attempts;
    r.auth_failures = s.auth_failures;
    r.rate_limited = s.rate_limited;
    r.flood_pauses = s.flood_pauses;
    r.bad_messages = s.bad_messages;
    r.read_pauses = s.read_pauses;
    r.paused_ms_total = s.paused_ms_total;
    r.reading_paused = s.reading_paused;
    r.buffered_bytes = s.buffered_bytes;
    r.refused_by_reason = s.refused_by_reason;
    r.live_cursor = s.sync.live_cursor;
    r.backfill = s.sync.backfill;
    r.backfill_fraction = s.sync.backfill_fraction;
    r.backfill_cursor = s.sync.backfill_cursor;
    r.backfill_queries = s.sync.backfill_queries;
    r.backfill_gaps = s.sync.backfill_gaps;
    r.catching_up = s.sync.catching_up;
    r.method = s.sync.method;
    r.negentropy = s.sync.negentropy;
    r.negentropy_reason = s.sync.negentropy_reason;
    r.negentropy_retry_after_ms = s.sync.negentropy_retry_after_ms;
    r.reconciling = s.sync.reconciling;
    r.reconcile_periodic = s.sync.reconcile_periodic;
    r.reconcile_fraction = s.sync.reconcile_fraction;
    r.reconciled_ms = s.sync.reconciled_ms;
    r.reconcile_windows = s.sync.reconcile_windows;
    r.reconcile_splits = s.sync.reconcile_splits;
    r.reconcile_missing = s.sync.reconcile_missing;
    r.late_events = s.sync.late_events;
    r.info_name = s.info_name;
    r.info_software = s.info_software;
    r.max_limit = s.max_limit;
    r.auth_required = s.auth_required;
    r.payment_required = s.payment_required;
    r.supports_negentropy = s.supports_negentropy;
    if (pipeline) {
        r.stored = pipeline->stored;
        r.duplicate = pipeline->duplicate;
        r.invalid = pipeline->invalid;
        r.invalid_by_reason = pipeline->invalid_by_reason;
    }
    return r;
}

}  // namespace archivist::engine
