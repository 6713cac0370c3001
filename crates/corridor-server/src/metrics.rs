//! Prometheus metrics, rendered by hand in the text exposition format
//! (version 0.0.4). Labels are route templates and status codes, never
//! record ids or values, so no private value can reach a metric.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::connections::ConnectionStats;

/// Upper bounds (seconds) of the ack → checkpoint histogram buckets.
const LATENCY_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0, 10.0];

/// Every counter and gauge the server exports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// `(method, route, status)` → requests.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    pub records_stored: AtomicU64,
    pub records_already_stored: AtomicU64,
    pub records_rejected: AtomicU64,
    pub tree_size: AtomicU64,
    pub stored_leaves: AtomicU64,
    pub checkpoints_published: AtomicU64,
    pub integration_failures: AtomicU64,
    /// 1 while this server holds the integrator lease, else 0.
    pub integrating: AtomicU64,
    /// Times this server became the integrator.
    pub integrator_takeovers: AtomicU64,
    /// Submissions refused because the backlog was over its limit.
    pub backpressure_refusals: AtomicU64,
    /// Failed authentications answered `429`.
    pub auth_failures_limited: AtomicU64,
    /// The accept loop's counters.
    pub connections: Arc<ConnectionStats>,
    ack_latency: Histogram,
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Metrics {
    pub fn count_request(&self, method: &str, route: &str, status: u16) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((method.to_string(), route.to_string(), status))
                .or_insert(0) += 1;
        }
    }

    /// Records the time from acknowledging `records` records to the signed
    /// checkpoint that includes them.
    pub fn observe_ack_to_checkpoint(&self, latency: Duration, records: u64) {
        let seconds = latency.as_secs_f64();
        for (bucket, bound) in self.ack_latency.buckets.iter().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(records, Ordering::Relaxed);
            }
        }
        self.ack_latency.count.fetch_add(records, Ordering::Relaxed);
        self.ack_latency
            .sum_micros
            .fetch_add(latency.as_micros() as u64 * records, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP corridor_http_requests_total HTTP requests answered, by route template and status.\n");
        out.push_str("# TYPE corridor_http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "corridor_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {count}",
                    escape_label(method),
                    escape_label(route)
                );
            }
        }
        let counters = [
            (
                "corridor_records_stored_total",
                "Records acknowledged as newly stored.",
                &self.records_stored,
            ),
            (
                "corridor_records_already_stored_total",
                "Submitted records that were already stored (retries).",
                &self.records_already_stored,
            ),
            (
                "corridor_records_rejected_total",
                "Submitted records rejected by validation.",
                &self.records_rejected,
            ),
            (
                "corridor_checkpoints_published_total",
                "Signed checkpoints published by this process.",
                &self.checkpoints_published,
            ),
            (
                "corridor_integration_failures_total",
                "Failed attempts to publish a checkpoint.",
                &self.integration_failures,
            ),
            (
                "corridor_integrator_takeovers_total",
                "Times this server took the integrator lease (at its first round, or after another holder stopped renewing it).",
                &self.integrator_takeovers,
            ),
            (
                "corridor_backpressure_refusals_total",
                "Submissions refused with 503 because too many acknowledged records were not yet in a signed checkpoint.",
                &self.backpressure_refusals,
            ),
            (
                "corridor_auth_failures_limited_total",
                "Failed authentications answered 429 because their client address failed too often.",
                &self.auth_failures_limited,
            ),
            (
                "corridor_connections_displaced_total",
                "Idle or slow connections closed to make room for a new one at the connection cap.",
                &self.connections.displaced,
            ),
            (
                "corridor_connections_refused_total",
                "Connections answered 503 at the cap because every open connection was busy.",
                &self.connections.refused,
            ),
            (
                "corridor_connections_timed_out_total",
                "Connections closed by the idle or the header-read timeout.",
                &self.connections.timed_out,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        let gauges = [
            (
                "corridor_log_tree_size",
                "Leaves in the latest signed checkpoint.",
                &self.tree_size,
            ),
            (
                "corridor_integrating",
                "1 while this server holds the integrator lease and signs checkpoints, 0 while it follows another.",
                &self.integrating,
            ),
            (
                "corridor_store_leaves",
                "Records stored (acknowledged), published or not.",
                &self.stored_leaves,
            ),
            (
                "corridor_http_connections",
                "Connections open now.",
                &self.connections.open,
            ),
            (
                "corridor_http_connections_cap",
                "The most connections open at once: min(--max-connections, RLIMIT_NOFILE - --reserved-fds).",
                &self.connections.cap,
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        let name = "corridor_unpublished_records";
        let _ = writeln!(
            out,
            "# HELP {name} Records acknowledged and not yet in a signed checkpoint (the backlog --max-unpublished bounds).\n# TYPE {name} gauge"
        );
        let _ = writeln!(
            out,
            "{name} {}",
            self.stored_leaves
                .load(Ordering::Relaxed)
                .saturating_sub(self.tree_size.load(Ordering::Relaxed))
        );
        let name = "corridor_ack_to_checkpoint_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from acknowledging a record to publishing a signed checkpoint that includes it.\n# TYPE {name} histogram"
        );
        for (bucket, bound) in self.ack_latency.buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.ack_latency.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.ack_latency.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
        out
    }
}

fn escape_label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_is_cumulative() {
        let metrics = Metrics::default();
        metrics.observe_ack_to_checkpoint(Duration::from_millis(300), 2);
        metrics.observe_ack_to_checkpoint(Duration::from_millis(1200), 1);
        let text = metrics.render();
        assert!(text.contains("corridor_ack_to_checkpoint_seconds_bucket{le=\"0.25\"} 0\n"));
        assert!(text.contains("corridor_ack_to_checkpoint_seconds_bucket{le=\"0.5\"} 2\n"));
        assert!(text.contains("corridor_ack_to_checkpoint_seconds_bucket{le=\"1.5\"} 3\n"));
        assert!(text.contains("corridor_ack_to_checkpoint_seconds_count 3\n"));
    }
}
