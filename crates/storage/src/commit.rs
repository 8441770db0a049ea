//! Ending transactions: commit (timestamp, sink, publish), abort (undo in place), and the
//! logging of schema changes. Replay of a [`CommitRecord`] ends its transaction through the same
//! functions (`replay.rs`).

use std::sync::atomic::Ordering;

use crate::mvcc::{Action, View};
use crate::record::Op;
use crate::storage::{Clock, GcEntry, PendingCommit};
use crate::transaction::TxnState;
use crate::{CommitInfo, CommitRecord, CommitSink, ObjectRef, RedoOp, Storage, StorageError};

impl Storage {
    pub(crate) fn commit(&self, tx: &mut TxnState) -> Result<CommitInfo, StorageError> {
        let stats = tx.stats;
        if tx.ops.is_empty() {
            debug_assert!(tx.touched.is_empty(), "deltas without redo ops");
            self.clock.lock().active.remove(&tx.start_ts);
            return Ok(CommitInfo {
                commit_ts: None,
                stats,
                warnings: Vec::new(),
            });
        }
        if self.is_read_only() {
            // Checked again under the engine lock; this spares building the record.
            self.abort(tx);
            return Err(StorageError::ReadOnly);
        }
        // Resolve names before taking the engine lock; re-check the sink under it.
        let mut record = self.commit_sink().map(|_| self.redo_record(tx));
        let mut clock = self.clock.lock();
        if self.is_read_only() {
            clock.active.remove(&tx.start_ts);
            drop(clock);
            self.rollback(tx);
            return Err(StorageError::ReadOnly);
        }
        let commit_ts = clock.next_ts;
        clock.next_ts += 1;
        clock.active.remove(&tx.start_ts);
        if let Err(err) = self.check_constraints(tx, true) {
            drop(clock);
            self.rollback(tx);
            return Err(err);
        }
        let sink = self.commit_sink();
        match &sink {
            Some(sink) => {
                let record = record.get_or_insert_with(|| self.redo_record(tx));
                record.commit_ts = commit_ts;
                self.finish_commit(clock, tx, &**sink, record)?;
            }
            None => {
                self.publish(&mut clock, tx, commit_ts);
                drop(clock);
            }
        }
        // Visible, and no lock held: the sink's hook, then GC (which the hook need not wait for).
        let warnings = sink.map_or_else(Vec::new, |sink| sink.after_commit(commit_ts));
        self.maybe_gc(tx.ops.len() as u64);
        Ok(CommitInfo {
            commit_ts: Some(commit_ts),
            stats,
            warnings,
        })
    }

    /// Hands `record` (of `tx`, at `record.commit_ts`, taken under `clock`) to `sink` and
    /// publishes it; on failure rolls `tx` back. Consumes the engine lock: with a sink that
    /// defers durability it is released while the flush runs (group commit), and the commit is
    /// published only once the flush covered it; a lost flush is reported to
    /// [`CommitSink::on_lost`] after the rollback. The caller calls [`CommitSink::after_commit`]
    /// on success (after releasing whatever else it holds).
    pub(crate) fn finish_commit(
        &self,
        mut clock: parking_lot::MutexGuard<'_, Clock>,
        tx: &mut TxnState,
        sink: &dyn CommitSink,
        record: &CommitRecord,
    ) -> Result<(), StorageError> {
        let commit_ts = record.commit_ts;
        if let Err(reason) = sink.on_commit(record) {
            // The timestamp is burnt, never published; the clock just moves on.
            drop(clock);
            self.rollback(tx);
            return Err(StorageError::CommitSink(reason));
        }
        if !sink.defers_durability() {
            self.publish(&mut clock, tx, commit_ts);
            return Ok(());
        }
        clock.pending.insert(
            commit_ts,
            PendingCommit {
                cell: tx.cell.clone(),
                objects: std::mem::take(&mut tx.touched),
                stats: tx.stats,
                lost: false,
            },
        );
        drop(clock);
        let outcome = sink.wait_durable(commit_ts);
        let mut clock = self.clock.lock();
        match outcome {
            Ok(()) => {
                self.publish_durable(&mut clock, sink, commit_ts);
                Ok(())
            }
            Err(reason) => {
                let pending = clock
                    .pending
                    .remove(&commit_ts)
                    .expect("a lost commit is never published");
                drop(clock);
                tx.touched = pending.objects;
                self.rollback(tx);
                sink.on_lost(commit_ts);
                Err(StorageError::CommitSink(reason))
            }
        }
    }

    /// After a flush made everything up to `durable_ts` durable: publishes every pending commit
    /// at or below it, oldest first (some may belong to committers still asleep), except the
    /// ones the sink lost. Runs under the engine lock.
    fn publish_durable(&self, clock: &mut Clock, sink: &dyn CommitSink, durable_ts: u64) {
        let ready: Vec<u64> = clock
            .pending
            .range(..=durable_ts)
            .filter(|(_, p)| !p.lost)
            .map(|(ts, _)| *ts)
            .collect();
        for ts in ready {
            if sink.is_lost(ts) {
                if let Some(p) = clock.pending.get_mut(&ts) {
                    p.lost = true;
                }
                continue;
            }
            let p = clock.pending.remove(&ts).expect("listed above");
            p.cell.publish(ts);
            self.made_visible(clock, ts, p.objects, p.stats);
        }
    }

    pub(crate) fn abort(&self, tx: &mut TxnState) {
        self.rollback(tx);
        self.clock.lock().active.remove(&tx.start_ts);
    }

    /// Makes `tx` visible at `commit_ts`. Runs under the engine lock (`clock`).
    pub(crate) fn publish(&self, clock: &mut Clock, tx: &mut TxnState, commit_ts: u64) {
        tx.cell.publish(commit_ts);
        let objects = std::mem::take(&mut tx.touched);
        self.made_visible(clock, commit_ts, objects, tx.stats);
    }

    /// The bookkeeping of a commit whose cell now holds `commit_ts`: the clock, GC, counters.
    fn made_visible(
        &self,
        clock: &mut Clock,
        commit_ts: u64,
        objects: Vec<ObjectRef>,
        stats: crate::CommitStats,
    ) {
        assert!(
            commit_ts > clock.last_commit_ts,
            "commit timestamps must increase"
        );
        clock.last_commit_ts = commit_ts;
        self.last_commit.store(commit_ts, Ordering::Release);
        if !objects.is_empty() {
            self.gc_queue
                .lock()
                .push_back(GcEntry { commit_ts, objects });
        }
        self.vertex_count
            .fetch_add(stats.vertices_created, Ordering::Relaxed);
        self.vertex_count
            .fetch_sub(stats.vertices_deleted, Ordering::Relaxed);
        self.edge_count
            .fetch_add(stats.edges_created, Ordering::Relaxed);
        self.edge_count
            .fetch_sub(stats.edges_deleted, Ordering::Relaxed);
    }

    /// Runs GC when the configured number of commits or changes has accumulated.
    pub(crate) fn maybe_gc(&self, changes: u64) {
        let config = &self.config;
        let commits = self.commits_since_gc.fetch_add(1, Ordering::Relaxed) + 1;
        let changes = self.changes_since_gc.fetch_add(changes, Ordering::Relaxed) + changes;
        let due = (config.gc_every_commits > 0 && commits >= config.gc_every_commits)
            || (config.gc_every_changes > 0 && changes >= config.gc_every_changes);
        if due {
            // Racing committers may both see `due`; a second pass is merely cheap.
            self.commits_since_gc.store(0, Ordering::Relaxed);
            self.changes_since_gc.store(0, Ordering::Relaxed);
            self.gc();
        }
    }

    /// Removes `tx`'s deltas from every object it touched, restoring the data they changed.
    /// Its deltas head each chain (nobody writes on top of an uncommitted delta), so this only
    /// pops.
    pub(crate) fn rollback(&self, tx: &mut TxnState) {
        if !tx.ops.is_empty() {
            self.indexes.note_stale();
        }
        let mut freed = 0;
        for object in tx.touched.drain(..).rev() {
            match object {
                ObjectRef::Vertex(gid) => {
                    let mut data = self.vertex_slot(gid).expect("touched vertex").write();
                    while let Some(action) = data.chain.pop_owned(tx.view) {
                        if let Action::RemoveOutEdge(entry) = &action {
                            // Undoing an edge's creation: its gid becomes a hole.
                            self.edges.clear(entry.edge());
                        }
                        data.undo(action);
                        freed += 1;
                    }
                    if data.deleted && data.chain.is_empty() {
                        // A creation undone: nobody can see the vertex, and its labels and
                        // properties had no undo deltas (see `write::created_here`).
                        data.free_contents();
                    }
                }
                ObjectRef::Edge(gid) => {
                    let mut shard = self.edge_props.shard(gid);
                    if let Some(data) = shard.get_mut(&gid) {
                        while let Some(action) = data.chain.pop_owned(tx.view) {
                            data.undo(action);
                            freed += 1;
                        }
                        if data.removable() {
                            shard.remove(&gid);
                        }
                    }
                }
            }
        }
        self.live_deltas.fetch_sub(freed, Ordering::Relaxed);
        tx.ops.clear();
    }

    /// The self-contained redo record of `tx` (commit_ts filled in by the caller).
    fn redo_record(&self, tx: &TxnState) -> CommitRecord {
        let ops = tx.ops.iter().map(|op| self.redo_op(op)).collect();
        CommitRecord {
            commit_ts: 0,
            start_ts: tx.start_ts,
            ops,
        }
    }

    fn redo_op(&self, op: &Op) -> RedoOp {
        match op {
            Op::CreateVertex(gid) => RedoOp::CreateVertex { gid: *gid },
            Op::DeleteVertex(gid) => RedoOp::DeleteVertex { gid: *gid },
            Op::AddLabel(gid, label) => RedoOp::AddLabel {
                gid: *gid,
                label: self.label_name(*label).to_string(),
            },
            Op::RemoveLabel(gid, label) => RedoOp::RemoveLabel {
                gid: *gid,
                label: self.label_name(*label).to_string(),
            },
            Op::SetVertexProperty(gid, key, value) => RedoOp::SetVertexProperty {
                gid: *gid,
                key: self.property_name(*key).to_string(),
                value: value.clone(),
            },
            Op::CreateEdge { gid, from, to, ty } => RedoOp::CreateEdge {
                gid: *gid,
                from: *from,
                to: *to,
                edge_type: self.edge_type_name(*ty).to_string(),
            },
            Op::DeleteEdge(gid) => RedoOp::DeleteEdge { gid: *gid },
            Op::SetEdgeProperty(gid, key, value) => RedoOp::SetEdgeProperty {
                gid: *gid,
                key: self.property_name(*key).to_string(),
                value: value.clone(),
            },
        }
    }

    /// Logs a schema change (index or constraint, already made in memory) as a record of its
    /// own with the next commit timestamp, so the WAL and replicas see it in commit order.
    /// Calls [`CommitSink::after_commit`] (replication finishes its two-phase commit there) but
    /// drops its warnings: schema changes report none. Fails with [`StorageError::ReadOnly`] if
    /// read-only mode was turned on since the caller checked (it then undoes its change).
    pub(crate) fn log_schema(&self, op: RedoOp) -> Result<(), StorageError> {
        let sink = self.commit_sink();
        let mut clock = self.clock.lock();
        self.check_not_read_only()?;
        let Some(sink) = sink else {
            return Ok(());
        };
        let commit_ts = clock.next_ts;
        clock.next_ts += 1;
        let mut tx = TxnState::new(
            View {
                txn_id: self.new_txn_id(),
                snapshot_ts: clock.last_commit_ts,
            },
            commit_ts,
        );
        let record = CommitRecord {
            commit_ts,
            start_ts: commit_ts,
            ops: vec![op],
        };
        self.finish_commit(clock, &mut tx, &*sink, &record)?;
        sink.after_commit(commit_ts);
        Ok(())
    }
}
