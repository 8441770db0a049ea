//! ferrograph's durable files: the write-ahead log and snapshots.
//!
//! The WAL stores the storage engine's [`storage::CommitRecord`], one per committed transaction,
//! in commit order; it is encoded once ([`codec`]) and the same bytes are what replication ships.
//!
//! | module | owns |
//! |---|---|
//! | `codec.rs` | the frame of one record: length, CRC-32, bincode 2 payload, size limit |
//! | `segment.rs` | segment files: versioned header, scanning with torn-tail detection, appending |
//! | `wal.rs` | the log of a directory: rotation, flush policy, failure handling, [`recover`] |
//! | `snapshot.rs` | snapshot files: written from one read transaction, loaded by bulk restore, retention |
//!
//! The server (`crates/server/src/durable.rs`) puts them together: the directory lock, recovery
//! from the newest valid snapshot plus the WAL after it, periodic snapshots and retention.

pub mod codec;
pub mod error;
pub mod segment;
pub mod snapshot;
pub mod wal;

pub use error::DurabilityError;
pub use segment::{SegmentHeader, Tail};
pub use snapshot::{
    apply_retention, list_snapshots, load_snapshot, newest_valid_snapshot, write_snapshot,
    SnapshotInfo,
};
pub use wal::{
    read_frames_after, recover, segment_headers, FrameBatch, ReadBackError, Recovery, Wal,
    WalConfig,
};
