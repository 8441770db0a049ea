//! ferrograph's durable files: the write-ahead log (and, later, snapshots).
//!
//! The WAL stores the storage engine's [`storage::CommitRecord`], one per committed transaction,
//! in commit order; it is encoded once ([`codec`]) and the same bytes are what replication ships.
//!
//! | module | owns |
//! |---|---|
//! | `codec.rs` | the frame of one record: length, CRC-32, bincode 2 payload, size limit |
//! | `segment.rs` | segment files: versioned header, scanning with torn-tail detection, appending |
//! | `wal.rs` | the log of a directory: rotation, flush policy, failure handling, [`recover`] |
//!
//! Not yet here (issue 5): snapshots, group commit across concurrent committers, the server's
//! flags and startup recovery, the directory lock.

pub mod codec;
pub mod error;
pub mod segment;
pub mod wal;

pub use error::DurabilityError;
pub use segment::{SegmentHeader, Tail};
pub use wal::{recover, Recovery, Wal, WalConfig};
