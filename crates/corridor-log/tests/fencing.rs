//! Fencing under the store's integrator lease: a paused integrator that
//! wakes after another took over publishes nothing; a head recorded by an
//! integrator that died before its checkpoint is published by the next; a
//! recorded head the leaves do not reproduce stops integration. The lease
//! and head live in a `MemoryStore` (the same contract SQLite and
//! PostgreSQL keep, tested in corridor-store's conformance suite), the log
//! in a `MemoryLog`.

mod common;
use common::{leaves, reference_root};

use std::sync::Arc;
use std::time::Duration;

use corridor_log::{
    Fence, IntegrateError, LeaseFence, LogFault, LogReader, MemoryLeaves, MemoryLog, VerifyPolicy,
    integrate_fenced, verify_log,
};
use corridor_store::{LeaseState, LeaseStore, MemoryStore, StoreError, TreeHead};
use corridor_tlog::{KeyName, SignatureType, SignerKey};

const TTL: Duration = Duration::from_millis(150);

fn signer() -> SignerKey {
    let name = KeyName::new("test.example/fenced").expect("valid name");
    SignerKey::from_seed(name, SignatureType::Ed25519, &[9u8; 32])
}

fn take(store: &mut MemoryStore, holder: &str) -> corridor_store::Lease {
    match store.acquire_lease(holder, TTL).expect("asks") {
        LeaseState::Held(lease) => lease,
        other => panic!("{holder} could not take the lease: {other:?}"),
    }
}

fn published_size(log: &Arc<MemoryLog>) -> u64 {
    LogReader::new(log.clone())
        .latest()
        .expect("a checkpoint")
        .checkpoint
        .tree_size
}

fn assert_verifies(log: &MemoryLog, all: &[Vec<u8>], size: usize) {
    let key = signer().verifier_key();
    let verified = verify_log(
        log,
        &VerifyPolicy {
            log_key: &key,
            witnesses: &[],
            min_witnesses: 0,
            previous: None,
        },
    )
    .expect("the log verifies");
    assert_eq!(verified.checkpoint.tree_size, size as u64);
    assert_eq!(verified.checkpoint.root_hash, reference_root(&all[..size]));
}

/// A fence that runs `pause` just before it advances the head: the moment a
/// stopped process would sit between its durable tiles and its checkpoint.
struct Paused<'a, F: FnMut(), G: FnMut()> {
    inner: LeaseFence<'a>,
    pause: F,
    /// Runs once the head has moved.
    after: G,
}

impl<F: FnMut(), G: FnMut()> Fence for Paused<'_, F, G> {
    fn recorded(&mut self) -> Result<Option<TreeHead>, StoreError> {
        self.inner.recorded()
    }

    fn keep_alive(&mut self) -> Result<(), StoreError> {
        self.inner.keep_alive()
    }

    fn advance(&mut self, from: Option<&TreeHead>, to: &TreeHead) -> Result<(), StoreError> {
        (self.pause)();
        self.inner.advance(from, to)?;
        (self.after)();
        Ok(())
    }
}

#[test]
fn a_paused_integrator_that_wakes_after_a_takeover_publishes_nothing() {
    let all = leaves("fenced", 300);
    let log = Arc::new(MemoryLog::new());
    let mut store = MemoryStore::new();
    let mut other = store.connect();

    let a = take(&mut store, "a");
    let mut fence = LeaseFence::new(&mut store, a.clone(), TTL);
    integrate_fenced(
        &MemoryLeaves(all[..40].to_vec()),
        log.as_ref(),
        &signer(),
        &mut fence,
    )
    .expect("a publishes while it holds the lease");
    assert_eq!(published_size(&log), 40);

    // A integrates 100 leaves, and stops before its checkpoint; B takes
    // over and publishes 300 meanwhile.
    let b_log = log.as_ref();
    let inner = LeaseFence::new(&mut store, a, TTL);
    let mut paused = Paused {
        inner,
        pause: || {
            std::thread::sleep(TTL + Duration::from_millis(100));
            let b = take(&mut other, "b");
            let mut fence = LeaseFence::new(&mut other, b, TTL);
            integrate_fenced(&MemoryLeaves(all.clone()), b_log, &signer(), &mut fence)
                .expect("b publishes after the takeover");
        },
        after: || {},
    };
    let woke = integrate_fenced(
        &MemoryLeaves(all[..100].to_vec()),
        log.as_ref(),
        &signer(),
        &mut paused,
    );
    match woke {
        Err(error @ IntegrateError::Fenced { .. }) => {
            assert!(error.to_string().contains("taken over by b"), "{error}");
        }
        other => panic!("the woken integrator was not fenced: {other:?}"),
    }
    assert_eq!(published_size(&log), 300, "the log stays b's tree");
    assert_verifies(log.as_ref(), &all, 300);
}

#[test]
fn a_head_recorded_by_an_integrator_that_died_is_published_by_the_next() {
    let all = leaves("died", 70);
    let log = Arc::new(MemoryLog::new());
    let mut store = MemoryStore::new();
    let a = take(&mut store, "a");
    integrate_fenced(
        &MemoryLeaves(all[..20].to_vec()),
        log.as_ref(),
        &signer(),
        &mut LeaseFence::new(&mut store, a.clone(), TTL),
    )
    .expect("publishes 20");
    // A moves the head to 50 and dies before its checkpoint is written:
    // the two writes after the head moved (the checkpoint's copy and the
    // swap) fail.
    let died = integrate_fenced(
        &MemoryLeaves(all[..50].to_vec()),
        log.as_ref(),
        &signer(),
        &mut Paused {
            inner: LeaseFence::new(&mut store, a, TTL),
            pause: || {},
            after: || {
                log.inject(LogFault::FailWrite(log.writes()));
                log.inject(LogFault::FailWrite(log.writes() + 1));
            },
        },
    );
    assert!(died.is_err(), "{died:?}");
    log.crash();
    assert_eq!(published_size(&log), 20);

    std::thread::sleep(TTL + Duration::from_millis(50));
    let b = take(&mut store, "b");
    let published = integrate_fenced(
        &MemoryLeaves(all.clone()),
        log.as_ref(),
        &signer(),
        &mut LeaseFence::new(&mut store, b, TTL),
    )
    .expect("b publishes past the recorded head");
    assert_eq!(published.tree_size, 70);
    assert_eq!(
        store.tree_head().expect("reads"),
        Some(TreeHead {
            size: 70,
            root: reference_root(&all)
        })
    );
    assert_verifies(log.as_ref(), &all, 70);
}

#[test]
fn a_recorded_head_the_leaves_do_not_reproduce_stops_integration() {
    let all = leaves("replaced", 30);
    let log = Arc::new(MemoryLog::new());
    let mut store = MemoryStore::new();
    let a = take(&mut store, "a");
    store
        .advance_tree_head(
            &a,
            None,
            &TreeHead {
                size: 25,
                root: [7; 32],
            },
        )
        .expect("records a head");
    let refused = integrate_fenced(
        &MemoryLeaves(all.clone()),
        log.as_ref(),
        &signer(),
        &mut LeaseFence::new(&mut store, a.clone(), TTL),
    );
    match refused {
        Err(error @ IntegrateError::HeadMismatch(_)) => {
            assert!(error.to_string().contains("first 25 leaves"), "{error}");
        }
        other => panic!("integrated over a head it does not reproduce: {other:?}"),
    }
    let behind = integrate_fenced(
        &MemoryLeaves(all[..10].to_vec()),
        log.as_ref(),
        &signer(),
        &mut LeaseFence::new(&mut store, a, TTL),
    );
    assert!(
        matches!(behind, Err(IntegrateError::HeadMismatch(_))),
        "{behind:?}"
    );
    assert!(
        LogReader::new(log.clone()).latest().is_err(),
        "nothing was published"
    );
}
