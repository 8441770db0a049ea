//! ferrograph's storage: an in-memory, multi-version (MVCC) property graph.
//!
//! Synchronous and lock-based: no async, no I/O. Durability and replication plug in through
//! [`CommitSink`] (every commit, in order, as a self-contained [`CommitRecord`]) and
//! [`Storage::apply_record`] (replay at the record's own timestamp, or in two phases with
//! [`Storage::prepare_record`]). A replica sets [`Storage::set_read_only`].
//!
//! ```
//! use storage::{PropertyValue, Storage, StorageConfig};
//!
//! let storage = Storage::new(StorageConfig::default());
//! let (person, name) = (storage.label("Person"), storage.property("name"));
//! let mut tx = storage.begin();
//! let ada = tx.create_vertex();
//! tx.add_label(ada, person)?;
//! tx.set_vertex_property(ada, name, "Ada".into())?;
//! assert_eq!(tx.commit()?.commit_ts, Some(2));
//!
//! let reader = storage.begin();
//! assert_eq!(reader.vertices_with_label(person).collect::<Vec<_>>(), vec![ada]);
//! assert_eq!(reader.vertex_property(ada, name)?, PropertyValue::from("Ada"));
//! # Ok::<(), storage::StorageError>(())
//! ```
//!
//! # Layout
//!
//! | module | owns |
//! |---|---|
//! | `storage.rs` | [`Storage`]: object tables, name tables, the clock (engine lock), the sink |
//! | `transaction.rs` | [`Transaction`], the per-transaction state (redo log, touched objects) |
//! | `write.rs` / `read.rs` | the write and read operations a transaction delegates to |
//! | `scan.rs` | [`Transaction::scan_vertices`]: gid-range scans: runs of 256 vertices read behind their chunk's scan gate, or one lock per vertex while a writer is in the chunk |
//! | `commit.rs` | commit, abort, logging schema changes |
//! | `replay.rs` | [`Storage::apply_record`], [`Storage::prepare_record`] and [`PreparedRecord`] |
//! | `restore.rs` | [`Storage::restore`]: bulk-loading a snapshot into an empty storage |
//! | `gc.rs` | [`Storage::gc`]: unlinking old deltas, freeing deleted objects |
//! | `index.rs` | label and label+property indexes: entries, builds, seeks, sweeps |
//! | `constraint.rs` | existence and uniqueness constraints, checked at commit |
//! | `schema.rs` | index and constraint changes as users make them: in memory, then logged |
//! | `mvcc.rs` | commit cells, views, undo deltas and chains: the visibility rules |
//! | `object.rs` | the vertex table and vertex layout, edge visibility, the write checks |
//! | `adjacency.rs` | 12-byte adjacency entries, both lists of a vertex in one allocation |
//! | `edge.rs` | the edge table (gid -> source, 5 bytes) and edge properties |
//! | `attrs.rs` | labels and properties encoded in one byte buffer per object |
//! | `sorted.rs` | the chunked sorted set index entries live in |
//! | `record.rs` | [`CommitRecord`], [`RedoOp`], [`CommitSink`], [`CommitInfo`] |
//! | `value.rs` / `ids.rs` | [`PropertyValue`] (and its bounded decoder), ids and interning |
//! | `error.rs` | [`StorageError`] |
//!
//! # Model
//!
//! Vertices live in an append-only table indexed by their [`Gid`]. Each holds its newest data
//! (labels and properties encoded in one buffer, adjacency sorted by edge gid) and a chain of undo
//! deltas, newest first, behind one mutex. A delta points at its transaction's commit cell, which
//! holds the transaction id until commit and the commit timestamp after; publishing the timestamp
//! makes all of a transaction's changes visible at once.
//!
//! An edge has no object of its own: it is its two adjacency entries, and its existence is
//! versioned by the adjacency deltas on its endpoints (a transaction sees an edge exactly when the
//! version of its source it sees lists it). The edge table maps an edge gid to its source, and
//! edges that have properties keep them, with their own undo deltas, in a sharded map
//! (`edge.rs`).
//!
//! Limits of the layout: gids below 2^40 - 1, at most [`EDGE_TYPE_LIMIT`] (65,536) relationship
//! types (more fail with [`StorageError::Limit`]).
//!
//! Footprint (the bench's 1M `:Person {id, name, age}` indexed on `id`, 5M property-less edges):
//! a vertex slot is 64 bytes plus about 24 of encoded attributes and 32 of index entry; an edge
//! is two 12-byte adjacency entries plus a 5-byte table slot. `cargo run --release -p storage
//! --example load_probe` loads such a graph directly and reports allocated and resident memory.
//!
//! One clock serves starts and commits (as in Memgraph): it starts at 1, [`Storage::begin`] takes
//! one tick for the start timestamp, a commit that wrote something takes one tick for the commit
//! timestamp, a read-only commit takes none. On a fresh storage "write, read, write" commits at
//! 2 and 5.
//!
//! # Isolation: snapshot isolation
//!
//! A transaction sees exactly the commits with `commit_ts < start_ts` plus its own writes.
//! Prevented: dirty reads (uncommitted changes are invisible), non-repeatable and phantom reads
//! (the snapshot never moves, whatever commits meanwhile), lost updates (a write to an object
//! whose newest version belongs to a transaction still running, or committed after this one
//! started, fails with [`StorageError::SerializationConflict`]: first writer wins; retry the
//! whole transaction). Conflicts are detected per object at write time, never at commit.
//!
//! Not prevented: **write skew**. Two transactions may each read what the other writes and write
//! disjoint objects (both check "at least one doctor on call", each takes a different one off).
//! Both commit. Memgraph behaves the same; constraints that span objects need a write to a shared
//! object (which then conflicts).
//!
//! Granularity: creating or deleting an edge writes both endpoint vertices, so it conflicts with
//! any concurrent change to either endpoint (including another edge on the same vertex).
//!
//! # Indexes and constraints
//!
//! Label and label+property indexes (`index.rs`) hold entries that *may* match; every read
//! re-checks the vertex in its own view, so an index needs no versions of its own and is built
//! while writes continue. Existence and uniqueness constraints (`constraint.rs`) are checked at
//! commit, one commit at a time under the engine lock; a violation aborts the transaction with
//! [`StorageError::Constraint`].
//!
//! # Not done yet
//!
//! Reclaiming the table slots of deleted objects, and sweeping stale entries of unique
//! constraints (they are only re-checked and skipped).
//!
mod adjacency;
mod attrs;
mod commit;
mod constraint;
mod edge;
mod error;
mod gc;
mod ids;
mod index;
mod mvcc;
mod object;
mod read;
mod record;
mod replay;
mod restore;
mod scan;
mod schema;
mod sorted;
mod storage;
pub mod temporal;
mod transaction;
mod value;
mod write;

pub use adjacency::EDGE_TYPE_LIMIT;
pub use constraint::ConstraintInfo;
pub use error::{ObjectRef, StorageError};
pub use gc::GcStats;
pub use ids::{EdgeTypeId, Gid, LabelId, PropertyId};
pub use index::{IndexInfo, PropIndexIter};
pub use read::VertexIter;
pub use record::{
    CommitInfo, CommitRecord, CommitSink, CommitStats, CommitWarning, DeleteOutcome, RedoOp,
};
pub use replay::PreparedRecord;
pub use restore::{RestoreStats, Restorer};
pub use scan::{PropertyRef, ScannedVertex};
pub use storage::{Storage, StorageConfig};
pub use temporal::Temporal;
pub use transaction::{EdgeRef, Transaction};
pub use value::{PropertyValue, MAX_VALUE_DEPTH};
