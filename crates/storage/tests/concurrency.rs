//! Real threads against one storage. Every loop is bounded by an iteration count or a deadline;
//! nothing sleeps.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;
use std::thread;

use common::threads::{int, retry, Rng, SetOnDrop};
use storage::{Gid, PropertyId, PropertyValue, Storage, StorageConfig, Transaction};

#[test]
fn concurrent_increments_are_never_lost() {
    const THREADS: u64 = 4;
    const INCREMENTS: u64 = 500;
    let storage = Storage::new(StorageConfig::default());
    let count = storage.property("count");
    let mut setup = storage.begin();
    let v = setup.create_vertex();
    setup.set_vertex_property(v, count, 0i64.into()).unwrap();
    setup.commit().unwrap();

    let conflicts = AtomicU64::new(0);
    let start = Barrier::new(THREADS as usize);
    thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                start.wait();
                for _ in 0..INCREMENTS {
                    let retried = retry(&storage, |tx| {
                        let current = int(tx.vertex_property(v, count)?);
                        // Widen the read-modify-write window so the threads really collide.
                        for _ in 0..2_000 {
                            std::hint::spin_loop();
                        }
                        tx.set_vertex_property(v, count, (current + 1).into())
                            .map(|_| ())
                    });
                    conflicts.fetch_add(retried, Ordering::Relaxed);
                }
            });
        }
    });
    let total = storage.begin().vertex_property(v, count).unwrap();
    println!("conflicts retried: {}", conflicts.load(Ordering::Relaxed));
    assert_eq!(total, PropertyValue::Int((THREADS * INCREMENTS) as i64));
    storage.gc();
    assert_eq!(storage.delta_count(), 0);
}

/// Transfers between accounts while readers check that every snapshot sums to the same total
/// (no torn reads across objects) and GC runs concurrently.
#[test]
fn transfers_keep_every_snapshot_consistent() {
    const ACCOUNTS: u64 = 8;
    const WRITERS: u64 = 3;
    const TRANSFERS: u64 = 400;
    let storage = common::storage_with_gc_every(16);
    let balance = storage.property("balance");
    let mut setup = storage.begin();
    let accounts: Vec<Gid> = (0..ACCOUNTS).map(|_| setup.create_vertex()).collect();
    for a in &accounts {
        setup
            .set_vertex_property(*a, balance, 100i64.into())
            .unwrap();
    }
    setup.commit().unwrap();
    let total = 100 * ACCOUNTS as i64;
    let sum = |tx: &Transaction, balance: PropertyId| -> i64 {
        accounts
            .iter()
            .map(|a| int(tx.vertex_property(*a, balance).unwrap()))
            .sum()
    };

    let writers_done = AtomicBool::new(false);
    let snapshots_checked = AtomicU64::new(0);
    thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (storage, accounts) = (&storage, &accounts);
                scope.spawn(move || {
                    let mut rng = Rng::new(w + 1);
                    for _ in 0..TRANSFERS {
                        let from = accounts[rng.below(ACCOUNTS) as usize];
                        let to = accounts[rng.below(ACCOUNTS) as usize];
                        let amount = rng.below(10) as i64;
                        retry(storage, |tx| {
                            let a = int(tx.vertex_property(from, balance)?);
                            tx.set_vertex_property(from, balance, (a - amount).into())?;
                            let b = int(tx.vertex_property(to, balance)?);
                            tx.set_vertex_property(to, balance, (b + amount).into())?;
                            // Re-read inside the transaction: the snapshot plus own writes.
                            assert_eq!(sum(tx, balance), total);
                            Ok(())
                        });
                    }
                })
            })
            .collect();
        scope.spawn(|| {
            // At least a few snapshots even if the writers finish first; then until they do.
            while snapshots_checked.load(Ordering::Relaxed) < 20
                || !writers_done.load(Ordering::Acquire)
            {
                let tx = storage.begin();
                let first = sum(&tx, balance);
                assert_eq!(first, total, "a snapshot saw half a transfer");
                assert_eq!(sum(&tx, balance), first, "repeatable read");
                snapshots_checked.fetch_add(1, Ordering::Relaxed);
            }
        });
        // Set when the joins end, also by a writer's panic (see SetOnDrop).
        let _done = SetOnDrop(&writers_done);
        for writer in writers {
            writer.join().unwrap();
        }
    });
    assert!(snapshots_checked.load(Ordering::Relaxed) > 0);
    assert_eq!(sum(&storage.begin(), balance), total);
}

/// Threads create and delete edges among shared vertices; adjacency stays symmetric.
#[test]
fn concurrent_edge_churn_keeps_adjacency_consistent() {
    const VERTICES: u64 = 12;
    const THREADS: u64 = 3;
    const OPS: u64 = 300;
    let storage = common::storage_with_gc_every(8);
    let ty = storage.edge_type("T");
    let mut setup = storage.begin();
    let vertices: Vec<Gid> = (0..VERTICES).map(|_| setup.create_vertex()).collect();
    setup.commit().unwrap();
    let created = AtomicU64::new(0);
    let deleted = AtomicU64::new(0);
    thread::scope(|scope| {
        for t in 0..THREADS {
            let (storage, vertices, created, deleted) = (&storage, &vertices, &created, &deleted);
            scope.spawn(move || {
                let mut rng = Rng::new(100 + t);
                for _ in 0..OPS {
                    let from = vertices[rng.below(VERTICES) as usize];
                    let to = vertices[rng.below(VERTICES) as usize];
                    let delete = rng.below(3) == 0;
                    let mut did = false;
                    retry(storage, |tx| {
                        did = false;
                        if delete {
                            if let Some(e) = tx.out_edges(from)?.first() {
                                did = tx.delete_edge(e.gid)?;
                            }
                        } else {
                            tx.create_edge(from, to, ty)?;
                            did = true;
                        }
                        Ok(())
                    });
                    let counter = if delete { deleted } else { created };
                    counter.fetch_add(u64::from(did), Ordering::Relaxed);
                }
            });
        }
    });
    let tx = storage.begin();
    let mut out_total = 0;
    for v in &vertices {
        for edge in tx.out_edges(*v).unwrap() {
            assert_eq!(tx.edge(edge.gid), Some(edge));
            assert!(tx.in_edges(edge.to).unwrap().contains(&edge));
            out_total += 1;
        }
    }
    let in_total: usize = vertices
        .iter()
        .map(|v| tx.in_edges(*v).unwrap().len())
        .sum();
    let expected = created.load(Ordering::Relaxed) - deleted.load(Ordering::Relaxed);
    assert_eq!(
        (out_total, in_total),
        (expected as usize, expected as usize)
    );
    assert_eq!(storage.edge_count_approx(), expected);
}
