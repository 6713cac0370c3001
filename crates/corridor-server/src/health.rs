//! Whether the server is degraded, and why: the one place that decides what
//! `/healthz` says and when submissions are refused for backpressure.
//!
//! [`Health`] is fed by the threads that own the writing side, whatever the
//! store and log backends are: the writer reports each commit (stored, or
//! failed, for lack of space or otherwise), the integrator each attempt to
//! publish a checkpoint, and both the sizes that make the backlog (records
//! acknowledged and not yet in a signed checkpoint). A backend only has to
//! fail the way its trait says for the server to report it here.
//!
//! `/healthz` answers `200` while degraded, with `"status": "degraded"` and
//! the reasons: reads (statistics, proofs, the log) still work, so a load
//! balancer should keep routing them; writes that cannot be taken are
//! refused one by one with `503` and `Retry-After`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;

/// One reason the server is degraded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DegradedReason {
    /// Every attempt to publish a checkpoint has failed since `since`.
    PublishingFails {
        attempts: u64,
        since: jiff::Timestamp,
    },
    /// More acknowledged records wait for a checkpoint than the limit.
    BacklogOverLimit { unpublished: u64, limit: u64 },
    /// The latest commit failed because the store is out of space.
    StoreFull { since: jiff::Timestamp },
    /// The latest commit failed for another reason.
    StoreFailing { since: jiff::Timestamp },
}

impl DegradedReason {
    /// Every [`DegradedReason::code`], for the OpenAPI document.
    pub const CODES: &'static [&'static str] = &[
        "publishing_fails",
        "backlog_over_limit",
        "store_full",
        "store_failing",
    ];

    /// A stable name for machines.
    pub fn code(&self) -> &'static str {
        match self {
            DegradedReason::PublishingFails { .. } => "publishing_fails",
            DegradedReason::BacklogOverLimit { .. } => "backlog_over_limit",
            DegradedReason::StoreFull { .. } => "store_full",
            DegradedReason::StoreFailing { .. } => "store_failing",
        }
    }
}

fn second(timestamp: jiff::Timestamp) -> String {
    timestamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl std::fmt::Display for DegradedReason {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DegradedReason::PublishingFails { attempts, since } => write!(
                formatter,
                "publishing a signed checkpoint has failed {attempts} time(s) in a row since {}; records are stored but not yet in the log (the operator's log has the error)",
                second(*since)
            ),
            DegradedReason::BacklogOverLimit { unpublished, limit } => write!(
                formatter,
                "{unpublished} acknowledged records are not yet in a signed checkpoint (limit {limit}); submissions are refused until publishing catches up"
            ),
            DegradedReason::StoreFull { since } => write!(
                formatter,
                "the store is out of disk space since {}; submissions store nothing until space is freed",
                second(*since)
            ),
            DegradedReason::StoreFailing { since } => write!(
                formatter,
                "committing records has failed since {} (the operator's log has the error)",
                second(*since)
            ),
        }
    }
}

/// A reason as `/healthz` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReasonJson {
    pub code: &'static str,
    pub message: String,
}

impl From<&DegradedReason> for ReasonJson {
    fn from(reason: &DegradedReason) -> Self {
        ReasonJson {
            code: reason.code(),
            message: reason.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreProblem {
    Full,
    Failing,
}

/// What the writing side last reported; see the module documentation.
#[derive(Debug)]
pub struct Health {
    max_unpublished: u64,
    stored_leaves: AtomicU64,
    published_size: AtomicU64,
    integrating: AtomicBool,
    publishing: Mutex<Option<(u64, jiff::Timestamp)>>,
    storing: Mutex<Option<(StoreProblem, jiff::Timestamp)>>,
}

impl Health {
    /// A healthy server whose backlog may reach `max_unpublished` records.
    pub fn new(max_unpublished: u64) -> Health {
        Health {
            max_unpublished,
            stored_leaves: AtomicU64::new(0),
            published_size: AtomicU64::new(0),
            integrating: AtomicBool::new(false),
            publishing: Mutex::new(None),
            storing: Mutex::new(None),
        }
    }

    /// The store holds at least `leaves` records (acknowledged).
    pub fn stored(&self, leaves: u64) {
        self.stored_leaves.fetch_max(leaves, Ordering::Relaxed);
    }

    /// A signed checkpoint covers `tree_size` leaves.
    pub fn published(&self, tree_size: u64) {
        self.published_size.fetch_max(tree_size, Ordering::Relaxed);
        self.stored(tree_size);
    }

    /// Whether this server holds the integrator lease (it integrates and
    /// signs) or follows the checkpoints another server publishes.
    pub fn set_integrating(&self, integrating: bool) {
        self.integrating.store(integrating, Ordering::Relaxed);
    }

    /// See [`Health::set_integrating`].
    pub fn integrating(&self) -> bool {
        self.integrating.load(Ordering::Relaxed)
    }

    /// Acknowledged records not yet in a signed checkpoint.
    pub fn unpublished(&self) -> u64 {
        self.stored_leaves
            .load(Ordering::Relaxed)
            .saturating_sub(self.published_size.load(Ordering::Relaxed))
    }

    /// The backlog limit.
    pub fn max_unpublished(&self) -> u64 {
        self.max_unpublished
    }

    /// An attempt to publish a checkpoint failed.
    pub fn publishing_failed(&self) {
        if let Ok(mut publishing) = self.publishing.lock() {
            let (attempts, since) = publishing.unwrap_or((0, jiff::Timestamp::now()));
            *publishing = Some((attempts + 1, since));
        }
    }

    /// A checkpoint was published (or there was nothing new to publish).
    pub fn publishing_succeeded(&self) {
        if let Ok(mut publishing) = self.publishing.lock() {
            *publishing = None;
        }
    }

    /// A commit failed; `full` when the store is out of space.
    pub fn storing_failed(&self, full: bool) {
        let problem = if full {
            StoreProblem::Full
        } else {
            StoreProblem::Failing
        };
        if let Ok(mut storing) = self.storing.lock() {
            match *storing {
                Some((known, _)) if known == problem => {}
                _ => *storing = Some((problem, jiff::Timestamp::now())),
            }
        }
    }

    /// A commit succeeded.
    pub fn storing_succeeded(&self) {
        if let Ok(mut storing) = self.storing.lock() {
            *storing = None;
        }
    }

    /// Why submissions are refused now, if they are: the backlog is over its limit.
    pub fn refuses_writes(&self) -> Option<DegradedReason> {
        let unpublished = self.unpublished();
        (unpublished > self.max_unpublished).then_some(DegradedReason::BacklogOverLimit {
            unpublished,
            limit: self.max_unpublished,
        })
    }

    /// Every reason the server is degraded now; empty when it is healthy.
    pub fn reasons(&self) -> Vec<DegradedReason> {
        let mut reasons = Vec::new();
        if let Ok(storing) = self.storing.lock()
            && let Some((problem, since)) = *storing
        {
            reasons.push(match problem {
                StoreProblem::Full => DegradedReason::StoreFull { since },
                StoreProblem::Failing => DegradedReason::StoreFailing { since },
            });
        }
        if let Ok(publishing) = self.publishing.lock()
            && let Some((attempts, since)) = *publishing
        {
            reasons.push(DegradedReason::PublishingFails { attempts, since });
        }
        reasons.extend(self.refuses_writes());
        reasons
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(health: &Health) -> Vec<&'static str> {
        health.reasons().iter().map(DegradedReason::code).collect()
    }

    #[test]
    fn the_documented_codes_are_exactly_those_of_the_reasons() {
        let since = jiff::Timestamp::UNIX_EPOCH;
        let reasons = [
            DegradedReason::PublishingFails { attempts: 1, since },
            DegradedReason::BacklogOverLimit {
                unpublished: 2,
                limit: 1,
            },
            DegradedReason::StoreFull { since },
            DegradedReason::StoreFailing { since },
        ];
        let codes: Vec<&str> = reasons.iter().map(DegradedReason::code).collect();
        assert_eq!(codes, DegradedReason::CODES);
    }

    #[test]
    fn the_backlog_over_its_limit_degrades_and_refuses_writes_until_published() {
        let health = Health::new(10);
        health.stored(10);
        assert_eq!(health.refuses_writes(), None, "at the limit is still fine");
        health.stored(11);
        assert_eq!(
            health.refuses_writes(),
            Some(DegradedReason::BacklogOverLimit {
                unpublished: 11,
                limit: 10
            })
        );
        assert_eq!(codes(&health), ["backlog_over_limit"]);
        health.published(5);
        assert_eq!(health.unpublished(), 6);
        assert!(codes(&health).is_empty());
    }

    #[test]
    fn failures_count_until_the_next_success() {
        let health = Health::new(100);
        health.publishing_failed();
        health.publishing_failed();
        let reasons = health.reasons();
        assert!(
            matches!(
                reasons.as_slice(),
                [DegradedReason::PublishingFails { attempts: 2, .. }]
            ),
            "{reasons:?}"
        );
        assert!(
            reasons[0]
                .to_string()
                .starts_with("publishing a signed checkpoint has failed 2 time(s) in a row since "),
            "{}",
            reasons[0]
        );
        health.storing_failed(true);
        assert_eq!(codes(&health), ["store_full", "publishing_fails"]);
        health.publishing_succeeded();
        health.storing_succeeded();
        assert!(codes(&health).is_empty());
    }
}
