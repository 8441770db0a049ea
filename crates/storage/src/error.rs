//! The storage crate's one error type.

use std::fmt;

use crate::Gid;

/// A vertex or an edge, as named in errors and in the transaction's bookkeeping.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectRef {
    /// A vertex gid.
    Vertex(Gid),
    /// An edge gid.
    Edge(Gid),
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectRef::Vertex(gid) => write!(f, "vertex {gid}"),
            ObjectRef::Edge(gid) => write!(f, "edge {gid}"),
        }
    }
}

/// Everything a storage operation can fail with.
///
/// Callers branch on the variant or on [`StorageError::is_retryable`], never on the message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// Write-write conflict: `object` carries a change of a transaction that is still running or
    /// committed after this one started. First writer wins; the caller should abort and retry.
    #[error("serialization conflict on {object}: it was modified by a concurrent transaction")]
    SerializationConflict {
        /// The object whose newest version this transaction may not overwrite.
        object: ObjectRef,
    },
    /// No vertex with this gid is visible to the transaction.
    #[error("vertex {0} not found")]
    VertexNotFound(Gid),
    /// No edge with this gid is visible to the transaction.
    #[error("edge {0} not found")]
    EdgeNotFound(Gid),
    /// A non-detach delete of a vertex that still has edges.
    #[error("vertex {0} still has relationships; use DETACH DELETE")]
    VertexHasEdges(Gid),
    /// The object was deleted earlier in this same transaction.
    #[error("{object} was deleted in this transaction")]
    DeletedObject {
        /// The deleted object.
        object: ObjectRef,
    },
    /// The [`CommitSink`](crate::CommitSink) refused the commit; the transaction was aborted.
    #[error("commit sink failed: {0}")]
    CommitSink(String),
    /// The commit would break a constraint (or a constraint cannot be created over the existing
    /// data, or dropped because it does not exist). The message is the user-facing text.
    #[error("{0}")]
    Constraint(String),
    /// A fixed limit of the storage's layout was reached (more than
    /// [`EDGE_TYPE_LIMIT`](crate::EDGE_TYPE_LIMIT) relationship types). Nothing was changed.
    #[error("{0}")]
    Limit(String),
    /// [`Storage::apply_record`](crate::Storage::apply_record) or
    /// [`Storage::prepare_record`](crate::Storage::prepare_record) was given a record that does
    /// not fit this storage (stale timestamp, reused gid, missing object, ...), or came while
    /// another record was prepared and not yet committed or aborted. Nothing was applied.
    #[error("cannot apply commit record {commit_ts}: {reason}")]
    InvalidRecord {
        /// The record's commit timestamp.
        commit_ts: u64,
        /// What did not fit.
        reason: String,
    },
    /// [`Storage::restore`](crate::Storage::restore) refused the storage (not empty) or an
    /// object (a gid used twice, an edge whose end was not restored, ...).
    #[error("cannot restore the snapshot: {0}")]
    Restore(String),
    /// The storage is read-only (a replica, see
    /// [`Storage::set_read_only`](crate::Storage::set_read_only)): a local transaction that
    /// changed something, or a schema change, was refused. The transaction was rolled back; the
    /// schema was not changed. Not retryable here: the client must go to the main instance.
    #[error(
        "Write queries are forbidden on the replica instance. Replica instances accept only read \
         queries, while the main instance accepts read and write queries. Please retry your \
         query on the main instance."
    )]
    ReadOnly,
}

impl StorageError {
    /// Whether running the whole transaction again may succeed (Bolt's `TransientError`).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StorageError::SerializationConflict { .. })
    }

    pub(crate) fn not_found(object: ObjectRef) -> StorageError {
        match object {
            ObjectRef::Vertex(gid) => StorageError::VertexNotFound(gid),
            ObjectRef::Edge(gid) => StorageError::EdgeNotFound(gid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_conflicts_are_retryable() {
        let conflict = StorageError::SerializationConflict {
            object: ObjectRef::Vertex(1),
        };
        assert!(conflict.is_retryable());
        assert_eq!(
            conflict.to_string(),
            "serialization conflict on vertex 1: it was modified by a concurrent transaction"
        );
        assert!(!StorageError::VertexNotFound(1).is_retryable());
        assert!(!StorageError::CommitSink("disk full".into()).is_retryable());
        assert!(!StorageError::ReadOnly.is_retryable());
        assert_eq!(
            StorageError::ReadOnly.to_string(),
            "Write queries are forbidden on the replica instance. Replica instances accept only \
             read queries, while the main instance accepts read and write queries. Please retry \
             your query on the main instance."
        );
        assert_eq!(
            StorageError::not_found(ObjectRef::Edge(4)),
            StorageError::EdgeNotFound(4)
        );
    }
}
