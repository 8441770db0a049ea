//! Real threads against one storage, checked against exact expectations rather than "no crash".
//!
//! - Counters on a few shared vertices: no increment is lost, and readers (short ones, and one
//!   that keeps its snapshot while hundreds of commits and GC passes go by) always see a
//!   consistent, unchanging snapshot.
//! - Random graph churn (labels, properties, edges, detach deletes) with concurrent GC: every
//!   snapshot a reader took equals the state rebuilt by replaying the commit log up to that
//!   snapshot's timestamp, so each snapshot is exactly "all commits before it began".
//!
//! Every loop is bounded by an iteration count or a deadline; nothing sleeps.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::threads::{int, retry, Rng, SetOnDrop};
use common::{dump, Graph};
use storage::{
    CommitRecord, CommitSink, Gid, LabelId, PropertyId, PropertyValue, Storage, StorageConfig,
    StorageError, Transaction,
};

/// Widens a read-modify-write window so that threads really collide, even on few cores.
fn dawdle() {
    for _ in 0..2_000 {
        std::hint::spin_loop();
    }
    thread::yield_now();
}

/// Counters on a few shared vertices: each transaction increments one counter and a shared
/// total. No increment may be lost, and every snapshot must have `sum(counters) == total`.
#[test]
fn shared_counters_are_exact_and_every_snapshot_is_consistent() {
    const COUNTERS: usize = 3;
    const WRITERS: u64 = 4;
    const INCREMENTS: u64 = 300;
    // GC only from the dedicated thread below, so it runs while readers hold old snapshots.
    let storage = Storage::new(StorageConfig::manual_gc());
    let count = storage.property("count");
    let mut setup = storage.begin();
    let counters: Vec<Gid> = (0..COUNTERS).map(|_| setup.create_vertex()).collect();
    let total = setup.create_vertex();
    for v in counters.iter().chain([&total]) {
        setup.set_vertex_property(*v, count, 0i64.into()).unwrap();
    }
    setup.commit().unwrap();

    let read = |tx: &Transaction| -> (Vec<i64>, i64) {
        let values = counters
            .iter()
            .map(|v| int(tx.vertex_property(*v, count).unwrap()));
        (
            values.collect(),
            int(tx.vertex_property(total, count).unwrap()),
        )
    };

    let per_counter: Vec<AtomicU64> = (0..COUNTERS).map(|_| AtomicU64::new(0)).collect();
    let conflicts = AtomicU64::new(0);
    let writers_done = AtomicBool::new(false);
    let snapshots = AtomicU64::new(0);
    let gc_passes = AtomicU64::new(0);
    let start = Barrier::new(WRITERS as usize + 3);
    thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (storage, counters, per_counter) = (&storage, &counters, &per_counter);
                let (conflicts, start) = (&conflicts, &start);
                scope.spawn(move || {
                    let mut rng = Rng::new(w + 1);
                    start.wait();
                    for _ in 0..INCREMENTS {
                        let c = rng.below(COUNTERS as u64) as usize;
                        conflicts.fetch_add(
                            retry(storage, |tx| {
                                for v in [counters[c], total] {
                                    let current = int(tx.vertex_property(v, count)?);
                                    dawdle();
                                    tx.set_vertex_property(v, count, (current + 1).into())?;
                                }
                                Ok(())
                            }),
                            Ordering::Relaxed,
                        );
                        per_counter[c].fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();

        // Short readers: every snapshot is consistent and repeatable.
        scope.spawn(|| {
            start.wait();
            while snapshots.load(Ordering::Relaxed) < 50 || !writers_done.load(Ordering::Acquire) {
                let tx = storage.begin();
                let (values, sum) = read(&tx);
                assert_eq!(values.iter().sum::<i64>(), sum, "torn snapshot {values:?}");
                assert_eq!(read(&tx), (values, sum), "repeatable read");
                snapshots.fetch_add(1, Ordering::Relaxed);
                thread::yield_now();
            }
        });

        // GC as fast as it can, while the readers hold their snapshots.
        scope.spawn(|| {
            start.wait();
            while !writers_done.load(Ordering::Acquire) {
                storage.gc();
                gc_passes.fetch_add(1, Ordering::Relaxed);
                thread::yield_now();
            }
        });

        // One long reader: its snapshot must not move while many commits and GC passes go by.
        scope.spawn(|| {
            start.wait();
            let tx = storage.begin();
            let seen = read(&tx);
            assert_eq!(seen.0.iter().sum::<i64>(), seen.1);
            let deadline = Instant::now() + Duration::from_secs(60);
            let wanted = tx.snapshot_ts() + 200;
            while storage.last_commit_ts() < wanted && !writers_done.load(Ordering::Acquire) {
                assert_eq!(read(&tx), seen, "a long snapshot changed");
                assert!(Instant::now() < deadline, "writers made no progress");
                thread::yield_now();
            }
            assert_eq!(read(&tx), seen, "a long snapshot changed");
            // A fresh snapshot now sees the newer commits.
            let (_, now) = read(&storage.begin());
            assert!(now >= seen.1);
        });

        // Set when the joins end, also by a writer's panic (see SetOnDrop).

        let _done = SetOnDrop(&writers_done);

        for writer in writers {
            writer.join().unwrap();
        }
    });

    let (values, sum) = read(&storage.begin());
    let expected: Vec<i64> = per_counter
        .iter()
        .map(|n| n.load(Ordering::Relaxed) as i64)
        .collect();
    println!(
        "conflicts retried: {}, snapshots checked: {}, GC passes: {}",
        conflicts.load(Ordering::Relaxed),
        snapshots.load(Ordering::Relaxed),
        gc_passes.load(Ordering::Relaxed)
    );
    assert_eq!(values, expected, "per-counter totals");
    assert_eq!(sum, (WRITERS * INCREMENTS) as i64, "shared total");
    storage.gc();
    assert_eq!(storage.delta_count(), 0, "GC releases everything when idle");
}

/// The commit records, in the order the sink saw them (commit order).
#[derive(Default)]
struct Log(Mutex<Vec<CommitRecord>>);

impl CommitSink for Log {
    fn on_commit(&self, record: &CommitRecord) -> Result<(), String> {
        self.0.lock().unwrap().push(record.clone());
        Ok(())
    }
}

const LABELS: u32 = 3;
const KEYS: u32 = 2;
const TYPES: u32 = 2;

/// One random change through `tx`, on objects it sees. Conflicts propagate (the caller retries).
fn random_change(tx: &mut Transaction, rng: &mut Rng) -> Result<(), StorageError> {
    let storage = tx.storage().clone();
    let vertices: Vec<Gid> = tx.vertices().collect();
    let label = |rng: &mut Rng| storage.label(&format!("L{}", rng.below(LABELS.into())));
    let key = |rng: &mut Rng| storage.property(&format!("k{}", rng.below(KEYS.into())));
    let Some(v) = rng.pick(&vertices) else {
        tx.create_vertex();
        return Ok(());
    };
    match rng.below(10) {
        0 | 1 => {
            // Keep the graph small, so that writers collide.
            if vertices.len() < 16 {
                tx.create_vertex();
            }
        }
        2 => {
            tx.add_label(v, label(rng))?;
        }
        3 => {
            tx.remove_label(v, label(rng))?;
        }
        4 => {
            let value = PropertyValue::Int(rng.below(5) as i64);
            tx.set_vertex_property(v, key(rng), value)?;
        }
        5 | 6 => {
            let to = rng.pick(&vertices).unwrap();
            let ty = storage.edge_type(&format!("T{}", rng.below(TYPES.into())));
            tx.create_edge(v, to, ty)?;
        }
        7 => {
            if let Some(e) = rng.pick(&tx.out_edges(v)?) {
                let value = PropertyValue::Int(rng.below(5) as i64);
                tx.set_edge_property(e.gid, key(rng), value)?;
            }
        }
        8 => {
            if let Some(e) = rng.pick(&tx.in_edges(v)?) {
                assert!(tx.delete_edge(e.gid)?);
            }
        }
        _ => {
            let outcome = tx.delete_vertex(v, true)?;
            assert!(outcome.deleted);
        }
    }
    Ok(())
}

/// Writers churn a small graph while readers dump whole snapshots and GC runs after every few
/// commits. Afterwards the commit log is replayed into a fresh storage: at each reader's
/// `snapshot_ts` the replayed graph must equal what that reader saw.
#[test]
fn every_snapshot_equals_the_commit_log_prefix() {
    const WRITERS: u64 = 3;
    const READERS: u64 = 2;
    const TRANSACTIONS: u64 = 250;
    const SAMPLES_PER_READER: usize = 300;
    let storage = common::storage_with_gc_every(4);
    let log = Arc::new(Log::default());
    storage.set_commit_sink(log.clone());
    for i in 0..LABELS {
        assert_eq!(storage.label(&format!("L{i}")), LabelId(i));
    }
    for i in 0..KEYS {
        assert_eq!(storage.property(&format!("k{i}")), PropertyId(i));
    }
    let mut setup = storage.begin();
    for _ in 0..8 {
        setup.create_vertex();
    }
    setup.commit().unwrap();

    let writers_done = AtomicBool::new(false);
    let conflicts = AtomicU64::new(0);
    let samples: Mutex<Vec<(u64, Graph)>> = Mutex::new(Vec::new());
    let start = Barrier::new((WRITERS + READERS) as usize);
    thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (storage, conflicts, start) = (&storage, &conflicts, &start);
                scope.spawn(move || {
                    let mut rng = Rng::new(1000 + w);
                    start.wait();
                    for _ in 0..TRANSACTIONS {
                        let changes = 1 + rng.below(3);
                        let retried = retry(storage, |tx| {
                            (0..changes).try_for_each(|_| {
                                dawdle();
                                random_change(tx, &mut rng)
                            })
                        });
                        conflicts.fetch_add(retried, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for _ in 0..READERS {
            scope.spawn(|| {
                start.wait();
                let mut mine = Vec::new();
                while mine.len() < 10 || !writers_done.load(Ordering::Acquire) {
                    let tx = storage.begin();
                    let graph = dump(&tx);
                    assert_eq!(dump(&tx), graph, "repeatable read of a whole graph");
                    // Keep each distinct snapshot once (the replay check is the expensive part).
                    let new = mine.last().is_none_or(|(ts, _)| *ts != tx.snapshot_ts());
                    if new && mine.len() < SAMPLES_PER_READER {
                        mine.push((tx.snapshot_ts(), graph));
                    }
                }
                samples.lock().unwrap().extend(mine);
            });
        }
        // Set when the joins end, also by a writer's panic (see SetOnDrop).
        let _done = SetOnDrop(&writers_done);
        for writer in writers {
            writer.join().unwrap();
        }
    });

    let mut samples = samples.into_inner().unwrap();
    samples.sort_by_key(|(ts, _)| *ts);
    let records = log.0.lock().unwrap().clone();
    assert!(records.windows(2).all(|w| w[0].commit_ts < w[1].commit_ts));
    let replica = Storage::new(StorageConfig::default());
    let mut applied = 0;
    let mut distinct = 0;
    let mut last_checked = None;
    for (snapshot_ts, graph) in &samples {
        while applied < records.len() && records[applied].commit_ts <= *snapshot_ts {
            replica.apply_record(&records[applied]).unwrap();
            applied += 1;
        }
        assert_eq!(
            &dump(&replica.begin()),
            graph,
            "snapshot at {snapshot_ts} differs from the commit log up to it"
        );
        distinct += usize::from(last_checked != Some(*snapshot_ts));
        last_checked = Some(*snapshot_ts);
    }
    for record in &records[applied..] {
        replica.apply_record(record).unwrap();
    }
    let final_graph = dump(&storage.begin());
    assert_eq!(dump(&replica.begin()), final_graph);
    println!(
        "commits: {}, conflicts retried: {}, snapshots checked: {} ({distinct} distinct), \
         final graph: {} vertices, {} edges",
        records.len(),
        conflicts.load(Ordering::Relaxed),
        samples.len(),
        final_graph.vertices.len(),
        final_graph.edges.len()
    );
    assert!(distinct > 1, "the readers only ever saw one snapshot");
    storage.gc();
    assert_eq!(storage.delta_count(), 0, "GC releases everything when idle");
}
