//! Replaying a [`CommitRecord`] at its own commit timestamp (WAL recovery, replicas): in one
//! step, [`Storage::apply_record`], or in two, [`Storage::prepare_record`] then
//! [`PreparedRecord::commit`] or [`PreparedRecord::abort`] (a STRICT_SYNC replica prepares when
//! the record arrives and commits once the main did).
//!
//! **Prepare** replays the record's data ops as one transaction: the changes are in place but
//! uncommitted, so every reader keeps seeing the old state (as with a local transaction that has
//! not committed). It checks everything that can fail: the timestamp order, that each op fits
//! (gid free, object present, no no-op), and that each schema op can be applied (a constraint
//! creation over the committed vertices). Schema ops are only checked here: they are applied at
//! commit, so an abort has nothing of them to undo and readers see no index or constraint early.
//!
//! **Commit** applies the schema ops (record order; main never mixes them with data ops), takes
//! the engine lock, re-checks the timestamp order, records the data ops' unique-constraint
//! entries, moves the clock past `commit_ts` and goes through the commit sink and publishes
//! exactly as a local commit does, then calls [`crate::CommitSink::after_commit`]. Replayed
//! records are not re-validated against constraints (the main did that when it committed them),
//! so the constraint step cannot fail. What commit can still fail on: the sink (a refusal or a lost
//! flush), and, only if local transactions commit meanwhile (the storage is not read-only), the
//! timestamp order (a local commit took a later timestamp) or a schema op (a local commit now
//! violates the constraint being created). On any failure the record is rolled back whole,
//! schema ops included.
//!
//! **One record at a time**: the engine lock's `replaying` slot holds the timestamp of the
//! record being applied, from the start of its prepare to the end of its commit or abort. A
//! prepare (or `apply_record`) while another record is prepared fails cleanly with
//! [`StorageError::InvalidRecord`], touching nothing; it never conflicts with or reorders the
//! prepared one.

use std::borrow::Cow;
use std::ops::Deref;
use std::sync::Arc;

use crate::mvcc::{View, TXN_ID_BASE};
use crate::schema::inverse_schema_op;
use crate::transaction::TxnState;
use crate::{CommitRecord, ObjectRef, RedoOp, Storage, StorageError};

/// A replicated record replayed by [`Storage::prepare_record`] but not committed: nobody sees
/// its changes until [`PreparedRecord::commit`]. Dropping it without commit aborts it.
///
/// Owns an `Arc<Storage>` and a copy of the record, so it is `'static` and `Send` (the commit
/// may come from another thread). While it exists no other record can be prepared or applied.
pub struct PreparedRecord {
    replay: Replay<'static, Arc<Storage>>,
}

impl PreparedRecord {
    /// The record's commit timestamp.
    pub fn commit_ts(&self) -> u64 {
        self.replay.record.commit_ts
    }

    /// Commits the record at exactly its `commit_ts` through the commit sink, as
    /// [`Storage::apply_record`] does; then [`CommitSink::after_commit`](crate::CommitSink)
    /// runs (its warnings are dropped). On failure the record is rolled back whole. See the
    /// module docs for what can still fail.
    pub fn commit(self) -> Result<(), StorageError> {
        self.replay.commit()
    }

    /// Rolls the record back: nothing of it was or will be visible.
    pub fn abort(self) {
        self.replay.abort();
    }
}

impl std::fmt::Debug for PreparedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedRecord")
            .field("commit_ts", &self.replay.record.commit_ts)
            .field("ops", &self.replay.record.ops.len())
            .finish()
    }
}

/// A prepared record and what ending it needs; aborts on drop unless finished. `S` is how it
/// holds the storage: an `Arc` in a [`PreparedRecord`], a borrow inside `apply_record`.
struct Replay<'a, S: Deref<Target = Storage>> {
    storage: S,
    record: Cow<'a, CommitRecord>,
    tx: TxnState,
    /// The inverses of the schema ops commit applied, oldest first (undone if it then fails).
    undo_schema: Vec<RedoOp>,
    finished: bool,
}

impl<S: Deref<Target = Storage>> Replay<'_, S> {
    fn commit(mut self) -> Result<(), StorageError> {
        let result =
            self.storage
                .commit_replayed(&mut self.tx, &self.record, &mut self.undo_schema);
        // Only now: if the sink panicked, `Drop` still rolls the record back.
        self.finished = true;
        result
    }

    fn abort(mut self) {
        self.end_aborted();
        self.finished = true;
    }

    fn end_aborted(&mut self) {
        let commit_ts = self.record.commit_ts;
        self.storage
            .abort_replayed(&mut self.tx, &mut self.undo_schema, commit_ts);
    }
}

impl<S: Deref<Target = Storage>> Drop for Replay<'_, S> {
    fn drop(&mut self) {
        if !self.finished {
            self.end_aborted();
        }
    }
}

impl Storage {
    /// Replays `record` as one transaction committing at exactly `record.commit_ts` (WAL recovery,
    /// replicas). Gids in the record become the same gids here; gaps are filled with placeholders.
    ///
    /// The record must be newer than [`Storage::last_commit_ts`]. Transactions already running
    /// here do not see it (they keep their snapshot), ones that begin afterwards do, and the clock
    /// moves past `commit_ts`. The commit sink is called with `record` itself, then
    /// [`CommitSink::after_commit`](crate::CommitSink::after_commit). On any error nothing is
    /// applied. Read-only mode does not affect it. Fails while a record is prepared (see
    /// [`Storage::prepare_record`]). Assumes no local transaction writes concurrently (a replica
    /// has none).
    ///
    /// The same as [`Storage::prepare_record`] followed by [`PreparedRecord::commit`], without
    /// copying the record.
    pub fn apply_record(&self, record: &CommitRecord) -> Result<(), StorageError> {
        let tx = self.prepare_replayed(record)?;
        Replay {
            storage: self,
            record: Cow::Borrowed(record),
            tx,
            undo_schema: Vec::new(),
            finished: false,
        }
        .commit()
    }

    /// The first phase of [`Storage::apply_record`] (a STRICT_SYNC replica): replays `record`
    /// without committing it. Readers keep seeing the old state until
    /// [`PreparedRecord::commit`]; [`PreparedRecord::abort`] (or dropping it) undoes it.
    ///
    /// Fails, leaving nothing behind, on everything `apply_record` checks before its commit: a
    /// timestamp not after [`Storage::last_commit_ts`], an op that does not fit, a schema op
    /// that cannot be applied ([`StorageError::InvalidRecord`]), a write conflict with a local
    /// transaction (retryable, as from `apply_record`). Also fails with
    /// [`StorageError::InvalidRecord`] while another record is prepared and not yet committed or
    /// aborted: records are applied one at a time. Read-only mode does not affect it.
    pub fn prepare_record(
        self: &Arc<Self>,
        record: &CommitRecord,
    ) -> Result<PreparedRecord, StorageError> {
        let tx = self.prepare_replayed(record)?;
        Ok(PreparedRecord {
            replay: Replay {
                storage: self.clone(),
                record: Cow::Owned(record.clone()),
                tx,
                undo_schema: Vec::new(),
                finished: false,
            },
        })
    }

    /// Takes the `replaying` slot and replays `record`'s ops (schema ops only checked). On error
    /// everything is undone and the slot released.
    fn prepare_replayed(&self, record: &CommitRecord) -> Result<TxnState, StorageError> {
        let commit_ts = record.commit_ts;
        let invalid = |reason: String| StorageError::InvalidRecord { commit_ts, reason };
        let snapshot_ts = {
            let mut clock = self.clock.lock();
            if let Some(other) = clock.replaying {
                return Err(invalid(format!(
                    "record {other} is still being applied (prepared, not committed or aborted)"
                )));
            }
            if commit_ts <= clock.last_commit_ts || commit_ts >= TXN_ID_BASE {
                let last = clock.last_commit_ts;
                return Err(invalid(format!("not after the last commit {last}")));
            }
            clock.replaying = Some(commit_ts);
            clock.last_commit_ts
        };
        let mut tx = TxnState::new(
            View {
                txn_id: self.new_txn_id(),
                snapshot_ts,
            },
            record.start_ts,
        );
        for (index, op) in record.ops.iter().enumerate() {
            if let Err(err) = self.replay_op(&mut tx, op) {
                self.abort_replayed(&mut tx, &mut Vec::new(), commit_ts);
                return Err(op_error(commit_ts, index, err));
            }
        }
        Ok(tx)
    }

    /// The second phase: applies the schema ops, then commits `tx` at `record.commit_ts`.
    /// On failure rolls everything back (and releases the slot).
    fn commit_replayed(
        &self,
        tx: &mut TxnState,
        record: &CommitRecord,
        undo_schema: &mut Vec<RedoOp>,
    ) -> Result<(), StorageError> {
        let commit_ts = record.commit_ts;
        for (index, op) in record.ops.iter().enumerate() {
            if !op.is_schema() {
                continue;
            }
            match self.apply_schema_op(op) {
                Ok(true) => undo_schema.extend(inverse_schema_op(op)),
                Ok(false) => {}
                Err(err) => {
                    self.abort_replayed(tx, undo_schema, commit_ts);
                    return Err(op_error(commit_ts, index, err));
                }
            }
        }
        let mut clock = self.clock.lock();
        if commit_ts <= clock.last_commit_ts {
            let last = clock.last_commit_ts;
            drop(clock);
            self.abort_replayed(tx, undo_schema, commit_ts);
            return Err(StorageError::InvalidRecord {
                commit_ts,
                reason: format!("not after the last commit {last}"),
            });
        }
        // Only records the unique entries (validation is the main's): cannot fail.
        if let Err(err) = self.check_constraints(tx, false) {
            drop(clock);
            self.abort_replayed(tx, undo_schema, commit_ts);
            return Err(err);
        }
        clock.next_ts = clock.next_ts.max(commit_ts + 1);
        let sink = self.commit_sink();
        match &sink {
            Some(sink) => {
                if let Err(err) = self.finish_commit(clock, tx, &**sink, record) {
                    // `tx` is rolled back already; the schema ops and the slot are left.
                    self.abort_replayed(tx, undo_schema, commit_ts);
                    return Err(err);
                }
            }
            None => {
                self.publish(&mut clock, tx, commit_ts);
                drop(clock);
            }
        }
        undo_schema.clear();
        self.release_replaying(commit_ts);
        if let Some(sink) = sink {
            // A replica has nobody to hand warnings to.
            sink.after_commit(commit_ts);
        }
        self.maybe_gc(tx.ops.len() as u64);
        Ok(())
    }

    /// Rolls back a replayed record: its data ops, the schema ops its commit applied (newest
    /// first), and releases the slot. Safe to repeat.
    fn abort_replayed(&self, tx: &mut TxnState, undo_schema: &mut Vec<RedoOp>, commit_ts: u64) {
        self.rollback(tx);
        while let Some(op) = undo_schema.pop() {
            if let Err(err) = self.apply_schema_op(&op) {
                tracing::warn!("could not undo a schema change of record {commit_ts}: {err}");
            }
        }
        self.release_replaying(commit_ts);
    }

    /// Frees the `replaying` slot if record `commit_ts` holds it.
    fn release_replaying(&self, commit_ts: u64) {
        let mut clock = self.clock.lock();
        if clock.replaying == Some(commit_ts) {
            clock.replaying = None;
        }
    }

    /// Applies one redo op (a schema op is only checked: commit applies it). A no-op (label
    /// already there, edge already gone) means the record does not match this storage, so it is
    /// an error.
    fn replay_op(&self, tx: &mut TxnState, op: &RedoOp) -> Result<(), StorageError> {
        let changed = match op {
            op if op.is_schema() => self.check_schema_op(op).map(|()| true)?,
            RedoOp::CreateVertex { gid } => self.create_vertex_at(tx, *gid).map(|()| true)?,
            RedoOp::DeleteVertex { gid } => self.delete_vertex(tx, *gid, false)?.deleted,
            RedoOp::AddLabel { gid, label } => self.set_label(tx, *gid, self.label(label), true)?,
            RedoOp::RemoveLabel { gid, label } => {
                self.set_label(tx, *gid, self.label(label), false)?
            }
            RedoOp::SetVertexProperty { gid, key, value } => {
                let object = ObjectRef::Vertex(*gid);
                self.set_property(tx, object, self.property(key), value.clone())
                    .map(|_| true)?
            }
            RedoOp::CreateEdge {
                gid,
                from,
                to,
                edge_type,
            } => {
                let ty = self.edge_type(edge_type);
                self.create_edge(tx, *from, *to, ty, Some(*gid))
                    .map(|_| true)?
            }
            RedoOp::DeleteEdge { gid } => self.delete_edge(tx, *gid)?,
            RedoOp::SetEdgeProperty { gid, key, value } => {
                let object = ObjectRef::Edge(*gid);
                self.set_property(tx, object, self.property(key), value.clone())
                    .map(|_| true)?
            }
            _ => unreachable!("schema ops are matched first"),
        };
        if changed {
            Ok(())
        } else {
            Err(crate::write::invalid(
                "the change is already in place".to_owned(),
            ))
        }
    }
}

/// The error of op `index` of record `commit_ts`: conflicts as they are (retryable), anything
/// else as an [`StorageError::InvalidRecord`] naming the op.
fn op_error(commit_ts: u64, index: usize, err: StorageError) -> StorageError {
    let invalid = |reason: String| StorageError::InvalidRecord { commit_ts, reason };
    match err {
        err if err.is_retryable() => err,
        StorageError::InvalidRecord { reason, .. } => invalid(format!("op {index}: {reason}")),
        err => invalid(format!("op {index}: {err}")),
    }
}
