//! What a commit produces: the [`CommitRecord`] handed to the [`CommitSink`] (WAL, replicas), and
//! the [`CommitInfo`] returned to the committer.
//!
//! A record names labels, edge types and property keys by string, not by interned id, so it is
//! self-contained: a WAL file or a replica can replay it into a storage whose ids differ.
//! It is the only encoding of a transaction's changes in the system (DESIGN.md: one type for one
//! idea); the WAL and replication crates encode it with bincode 2.

use serde::{Deserialize, Serialize};

use crate::{EdgeTypeId, Gid, LabelId, PropertyId, PropertyValue};

/// The redo log of one committed transaction, in the order the changes were made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct CommitRecord {
    /// The commit timestamp; strictly increasing across the records of one storage.
    pub commit_ts: u64,
    /// The start timestamp of the transaction (informational on replay).
    pub start_ts: u64,
    /// The changes, oldest first. A detach delete appears as its `DeleteEdge`s, then the
    /// `DeleteVertex`.
    pub ops: Vec<RedoOp>,
}

/// One change in a [`CommitRecord`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub enum RedoOp {
    /// A vertex was created with this gid.
    CreateVertex {
        /// The new vertex.
        gid: Gid,
    },
    /// A vertex (with no remaining edges) was deleted.
    DeleteVertex {
        /// The deleted vertex.
        gid: Gid,
    },
    /// A label was added to a vertex that did not have it.
    AddLabel {
        /// The vertex.
        gid: Gid,
        /// The label name.
        label: String,
    },
    /// A label was removed from a vertex that had it.
    RemoveLabel {
        /// The vertex.
        gid: Gid,
        /// The label name.
        label: String,
    },
    /// A vertex property was set (`Null` = removed).
    SetVertexProperty {
        /// The vertex.
        gid: Gid,
        /// The property key name.
        key: String,
        /// The new value.
        value: PropertyValue,
    },
    /// An edge was created with this gid.
    CreateEdge {
        /// The new edge.
        gid: Gid,
        /// Its source vertex.
        from: Gid,
        /// Its target vertex.
        to: Gid,
        /// The edge type name.
        edge_type: String,
    },
    /// An edge was deleted.
    DeleteEdge {
        /// The deleted edge.
        gid: Gid,
    },
    /// An edge property was set (`Null` = removed).
    SetEdgeProperty {
        /// The edge.
        gid: Gid,
        /// The property key name.
        key: String,
        /// The new value.
        value: PropertyValue,
    },
    /// `CREATE INDEX ON :label[(property)]` (alone in its record).
    CreateIndex {
        /// The label name.
        label: String,
        /// The property key name, for a label+property index.
        property: Option<String>,
    },
    /// `DROP INDEX ON :label[(property)]` (alone in its record).
    DropIndex {
        /// The label name.
        label: String,
        /// The property key name, for a label+property index.
        property: Option<String>,
    },
    /// `CREATE CONSTRAINT ON (n:label) ASSERT EXISTS (n.property)` (alone in its record).
    CreateExistenceConstraint {
        /// The label name.
        label: String,
        /// The property key name.
        property: String,
    },
    /// `CREATE CONSTRAINT ON (n:label) ASSERT n.p, ... IS UNIQUE` (alone in its record).
    CreateUniqueConstraint {
        /// The label name.
        label: String,
        /// The property key names.
        properties: Vec<String>,
    },
    /// `DROP CONSTRAINT ... EXISTS` (alone in its record).
    DropExistenceConstraint {
        /// The label name.
        label: String,
        /// The property key name.
        property: String,
    },
    /// `DROP CONSTRAINT ... IS UNIQUE` (alone in its record).
    DropUniqueConstraint {
        /// The label name.
        label: String,
        /// The property key names.
        properties: Vec<String>,
    },
}

impl RedoOp {
    /// Whether this op changes the schema (indexes, constraints) rather than data.
    pub fn is_schema(&self) -> bool {
        matches!(
            self,
            RedoOp::CreateIndex { .. }
                | RedoOp::DropIndex { .. }
                | RedoOp::CreateExistenceConstraint { .. }
                | RedoOp::CreateUniqueConstraint { .. }
                | RedoOp::DropExistenceConstraint { .. }
                | RedoOp::DropUniqueConstraint { .. }
        )
    }
}

/// Receives every commit, in commit order, before it becomes visible.
///
/// # Correctness requirements
///
/// - `on_commit` is called under the storage's commit lock: while it runs no other transaction
///   can commit or begin. It must therefore not call back into the storage (`begin`, `commit`,
///   `apply_record`) from the same thread, or it deadlocks; and it should be quick (hand the
///   bytes to a writer thread, or wait for SYNC replicas with a bound).
/// - Returning `Err` aborts the transaction: nothing of it becomes visible, and the committer gets
///   [`StorageError::CommitSink`](crate::StorageError::CommitSink). The sink must then not have
///   made the record durable or sent it on (or must be able to discard it).
/// - [`Storage::apply_record`](crate::Storage::apply_record) and
///   [`PreparedRecord::commit`](crate::PreparedRecord::commit) call the sink too (a replica logs
///   what it applies), so install the sink after WAL recovery, not before.
/// - [`CommitSink::after_commit`] and [`CommitSink::on_lost`] are called with no storage lock
///   held, on the committing thread: they may read the storage, but the committer waits for
///   them.
pub trait CommitSink: Send + Sync {
    /// Persist or forward `record`. `Err(reason)` vetoes the commit.
    fn on_commit(&self, record: &CommitRecord) -> Result<(), String>;

    /// Group commit: `true` if a record `on_commit` accepted is not durable yet, so the storage
    /// must call [`CommitSink::wait_durable`] (after releasing its commit lock, so that other
    /// transactions can commit and share one flush) before the commit becomes visible.
    fn defers_durability(&self) -> bool {
        false
    }

    /// Blocks until the record committed at `commit_ts` is durable (`Ok`), or was lost because
    /// a flush failed (`Err(reason)`: the commit fails and is rolled back). Records become
    /// durable in commit order: when one is durable, so is every earlier one that was not lost.
    fn wait_durable(&self, commit_ts: u64) -> Result<(), String> {
        let _ = commit_ts;
        Ok(())
    }

    /// Whether the accepted record at `commit_ts` was lost by a failed flush (its committer will
    /// get `Err` from [`CommitSink::wait_durable`]). Called under the commit lock.
    fn is_lost(&self, commit_ts: u64) -> bool {
        let _ = commit_ts;
        false
    }

    /// The commit at `commit_ts` (a record [`CommitSink::on_commit`] accepted) is now visible.
    /// Called once per such commit, after every storage lock is released, on the committing
    /// thread: by local commits, schema changes, [`Storage::apply_record`] and
    /// [`PreparedRecord::commit`]. What it returns reaches the committer in
    /// [`CommitInfo::warnings`] (local commits only; the other paths drop it). The commit stands
    /// whatever happens here; replication uses it to finish two-phase commits on replicas.
    ///
    /// [`Storage::apply_record`]: crate::Storage::apply_record
    /// [`PreparedRecord::commit`]: crate::PreparedRecord::commit
    fn after_commit(&self, commit_ts: u64) -> Vec<CommitWarning> {
        let _ = commit_ts;
        Vec::new()
    }

    /// The record at `commit_ts`, which [`CommitSink::on_commit`] accepted, was rolled back
    /// because [`CommitSink::wait_durable`] failed: it never became visible and never will (a
    /// replicating sink tells its replicas to drop it). Called once, after the rollback, with no
    /// storage lock held, on the committing thread.
    fn on_lost(&self, commit_ts: u64) {
        let _ = commit_ts;
    }
}

/// Something a commit's caller should hear about although the commit succeeded (a replica
/// that did not confirm it, ...), from [`CommitSink::after_commit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitWarning {
    /// A machine-readable code (the sink defines them).
    pub code: String,
    /// The message for the user.
    pub title: String,
}

/// Counters of what a transaction changed (what Bolt reports as query statistics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Vertices created.
    pub vertices_created: u64,
    /// Vertices deleted.
    pub vertices_deleted: u64,
    /// Edges created.
    pub edges_created: u64,
    /// Edges deleted (including by detach deletes).
    pub edges_deleted: u64,
    /// Labels added to vertices that lacked them.
    pub labels_added: u64,
    /// Labels removed from vertices that had them.
    pub labels_removed: u64,
    /// Property writes, including ones that wrote the value already there.
    pub properties_set: u64,
}

/// The result of a successful commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitInfo {
    /// The commit timestamp, or `None` for a transaction that changed nothing (it takes no tick).
    pub commit_ts: Option<u64>,
    /// What the transaction changed.
    pub stats: CommitStats,
    /// What the sink's [`CommitSink::after_commit`] reported (empty without a sink, or for a
    /// transaction that changed nothing).
    pub warnings: Vec<CommitWarning>,
}

/// What [`Transaction::delete_vertex`](crate::Transaction::delete_vertex) did.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DeleteOutcome {
    /// `false` if this transaction had already deleted the vertex.
    pub deleted: bool,
    /// The edges a detach delete removed, ascending by gid.
    pub edges_deleted: Vec<Gid>,
}

/// A transaction's redo log entry before commit: ids, not names, so recording a write costs no
/// string lookup. Turned into [`RedoOp`]s only when a sink is installed.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    CreateVertex(Gid),
    DeleteVertex(Gid),
    AddLabel(Gid, LabelId),
    RemoveLabel(Gid, LabelId),
    SetVertexProperty(Gid, PropertyId, PropertyValue),
    CreateEdge {
        gid: Gid,
        from: Gid,
        to: Gid,
        ty: EdgeTypeId,
    },
    DeleteEdge(Gid),
    SetEdgeProperty(Gid, PropertyId, PropertyValue),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_through_bincode() {
        let record = CommitRecord {
            commit_ts: 9,
            start_ts: 4,
            ops: vec![
                RedoOp::CreateVertex { gid: 0 },
                RedoOp::AddLabel {
                    gid: 0,
                    label: "Person".into(),
                },
                RedoOp::SetVertexProperty {
                    gid: 0,
                    key: "name".into(),
                    value: "Ada".into(),
                },
                RedoOp::CreateEdge {
                    gid: 3,
                    from: 0,
                    to: 0,
                    edge_type: "SELF".into(),
                },
                RedoOp::SetEdgeProperty {
                    gid: 3,
                    key: "w".into(),
                    value: 0.5.into(),
                },
                RedoOp::DeleteEdge { gid: 3 },
                RedoOp::RemoveLabel {
                    gid: 0,
                    label: "Person".into(),
                },
                RedoOp::DeleteVertex { gid: 0 },
            ],
        };
        let config = bincode::config::standard();
        let bytes = bincode::encode_to_vec(&record, config).unwrap();
        let (decoded, read): (CommitRecord, usize) =
            bincode::decode_from_slice(&bytes, config).unwrap();
        assert_eq!(read, bytes.len());
        assert_eq!(decoded, record);
    }
}
