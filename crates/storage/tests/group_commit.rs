//! Group commit through a sink that defers durability: a commit is invisible until its flush,
//! one flush publishes every earlier commit too, and a lost flush rolls the commit back without
//! ever making it visible, even after later commits are published.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use storage::{CommitRecord, CommitSink, PropertyValue, Storage, StorageConfig, StorageError};

/// A sink whose "flush" the test controls: `wait_durable(ts)` returns once `release(ts)` was
/// called with a timestamp at or above `ts`, or fails if `ts` was marked lost.
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Default)]
struct GateState {
    appended: Vec<u64>,
    durable: u64,
    lost: BTreeSet<u64>,
    waiting: usize,
    /// What `on_lost` and `after_commit` were called with, in call order.
    reported_lost: Vec<u64>,
    finished: Vec<u64>,
}

impl Gate {
    fn release(&self, up_to: u64) {
        let mut s = self.state.lock();
        s.durable = s.durable.max(up_to);
        self.changed.notify_all();
    }

    fn lose(&self, ts: u64) {
        self.state.lock().lost.insert(ts);
        self.changed.notify_all();
    }

    /// Waits until `n` committers are blocked in `wait_durable`; returns what was appended.
    fn await_waiters(&self, n: usize) -> Vec<u64> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut s = self.state.lock();
        while s.waiting < n {
            assert!(
                Instant::now() < deadline,
                "committers never reached the flush"
            );
            self.changed.wait_for(&mut s, Duration::from_millis(50));
        }
        s.appended.clone()
    }
}

impl CommitSink for Gate {
    fn on_commit(&self, record: &CommitRecord) -> Result<(), String> {
        self.state.lock().appended.push(record.commit_ts);
        Ok(())
    }

    fn defers_durability(&self) -> bool {
        true
    }

    fn wait_durable(&self, commit_ts: u64) -> Result<(), String> {
        let mut s = self.state.lock();
        s.waiting += 1;
        self.changed.notify_all();
        let outcome = loop {
            if s.lost.contains(&commit_ts) {
                break Err(format!("flush of {commit_ts} failed"));
            }
            if s.durable >= commit_ts {
                break Ok(());
            }
            self.changed.wait(&mut s);
        };
        s.waiting -= 1;
        outcome
    }

    fn is_lost(&self, commit_ts: u64) -> bool {
        self.state.lock().lost.contains(&commit_ts)
    }

    fn on_lost(&self, commit_ts: u64) {
        self.state.lock().reported_lost.push(commit_ts);
    }

    fn after_commit(&self, commit_ts: u64) -> Vec<storage::CommitWarning> {
        self.state.lock().finished.push(commit_ts);
        Vec::new()
    }
}

fn setup() -> (Arc<Storage>, Arc<Gate>) {
    let storage = Storage::new(StorageConfig::manual_gc());
    let gate = Arc::new(Gate::default());
    storage.set_commit_sink(gate.clone());
    (storage, gate)
}

/// Commits one vertex with property k = `value` on a new thread.
fn commit_vertex(
    storage: &Arc<Storage>,
    value: i64,
) -> thread::JoinHandle<Result<Option<u64>, StorageError>> {
    let storage = storage.clone();
    thread::spawn(move || {
        let k = storage.property("k");
        let mut tx = storage.begin();
        let v = tx.create_vertex();
        tx.set_vertex_property(v, k, PropertyValue::Int(value))?;
        tx.commit().map(|info| info.commit_ts)
    })
}

fn visible_values(storage: &Arc<Storage>) -> Vec<i64> {
    let k = storage.property("k");
    let tx = storage.begin();
    let mut values: Vec<i64> = tx
        .vertices()
        .map(|v| match tx.vertex_property(v, k).unwrap() {
            PropertyValue::Int(i) => i,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    values.sort_unstable();
    values
}

#[test]
fn a_commit_is_invisible_until_its_flush() {
    let (storage, gate) = setup();
    let committer = commit_vertex(&storage, 1);
    let appended = gate.await_waiters(1);
    assert_eq!(visible_values(&storage), Vec::<i64>::new());
    assert!(storage.last_commit_ts() < appended[0]);
    gate.release(appended[0]);
    assert_eq!(committer.join().unwrap().unwrap(), Some(appended[0]));
    assert_eq!(visible_values(&storage), vec![1]);
    assert_eq!(storage.last_commit_ts(), appended[0]);
}

#[test]
fn one_flush_publishes_every_earlier_commit() {
    let (storage, gate) = setup();
    let first = commit_vertex(&storage, 1);
    gate.await_waiters(1);
    let second = commit_vertex(&storage, 2);
    let appended = gate.await_waiters(2);
    assert_eq!(visible_values(&storage), Vec::<i64>::new());
    // Releasing only the newer one covers the older (records are durable in order).
    gate.release(appended[1]);
    let second = second.join().unwrap().unwrap();
    assert_eq!(second, Some(appended[1]));
    // The moment the second committer returns, both are visible, whichever thread woke first.
    assert_eq!(visible_values(&storage), vec![1, 2]);
    assert_eq!(first.join().unwrap().unwrap(), Some(appended[0]));
}

#[test]
fn a_lost_flush_rolls_back_and_never_becomes_visible() {
    let (storage, gate) = setup();
    let doomed = commit_vertex(&storage, 1);
    let appended = gate.await_waiters(1);
    let lost_ts = appended[0];
    gate.lose(lost_ts);
    match doomed.join().unwrap() {
        Err(StorageError::CommitSink(reason)) => assert!(reason.contains("failed"), "{reason}"),
        other => panic!("expected the commit to fail, got {other:?}"),
    }
    assert_eq!(gate.state.lock().reported_lost, vec![lost_ts]);
    assert!(gate.state.lock().finished.is_empty());
    // A later commit is published past the lost timestamp; the lost one stays absent.
    let later = commit_vertex(&storage, 2);
    let appended = gate.await_waiters(1);
    gate.release(*appended.last().unwrap());
    let later_ts = later.join().unwrap().unwrap().unwrap();
    assert!(later_ts > lost_ts);
    assert_eq!(visible_values(&storage), vec![2]);
    let s = gate.state.lock();
    assert_eq!(s.reported_lost, vec![lost_ts], "reported once");
    assert_eq!(s.finished, vec![later_ts]);
}

#[test]
fn a_lost_commit_is_skipped_by_a_later_flush_that_covers_it() {
    // The failed committer is still asleep when a later flush covers its timestamp: the later
    // committer must publish itself but not the lost one.
    let (storage, gate) = setup();
    let doomed = commit_vertex(&storage, 1);
    gate.await_waiters(1);
    let later = commit_vertex(&storage, 2);
    let appended = gate.await_waiters(2);
    {
        // Mark lost and release in one step, so either thread may run first.
        let mut s = gate.state.lock();
        s.lost.insert(appended[0]);
        s.durable = appended[1];
        gate.changed.notify_all();
    }
    assert_eq!(later.join().unwrap().unwrap(), Some(appended[1]));
    assert!(matches!(
        doomed.join().unwrap(),
        Err(StorageError::CommitSink(_))
    ));
    assert_eq!(visible_values(&storage), vec![2]);
    assert_eq!(gate.state.lock().reported_lost, vec![appended[0]]);
    assert_eq!(gate.state.lock().finished, vec![appended[1]]);
    // The rolled-back vertex's object is free for new writers: nothing of it is left.
    let k = storage.property("k");
    let tx = storage.begin();
    assert_eq!(tx.vertices().count(), 1);
    for v in tx.vertices() {
        assert_eq!(tx.vertex_property(v, k).unwrap(), PropertyValue::Int(2));
    }
}

#[test]
fn schema_changes_go_through_the_sink_in_commit_order() {
    let (storage, gate) = setup();
    let person = storage.label("Person");
    let id = storage.property("id");
    let creator = {
        let storage = storage.clone();
        thread::spawn(move || storage.create_index(person, Some(id)))
    };
    let appended = gate.await_waiters(1);
    gate.release(appended[0]);
    assert!(creator.join().unwrap().unwrap());
    assert_eq!(storage.last_commit_ts(), appended[0]);
    let created_ts = appended[0];

    // A refused log entry undoes the index.
    let dropper = {
        let storage = storage.clone();
        thread::spawn(move || storage.drop_index(person, Some(id)))
    };
    let appended = gate.await_waiters(1);
    gate.lose(*appended.last().unwrap());
    assert!(matches!(
        dropper.join().unwrap(),
        Err(StorageError::CommitSink(_))
    ));
    assert!(storage.has_label_property_index(person, id));
    // The created index finished (the hook ran); the refused drop was reported lost.
    let s = gate.state.lock();
    assert_eq!(s.finished, vec![created_ts]);
    assert_eq!(s.reported_lost, vec![*appended.last().unwrap()]);
}
