//! What can go wrong reading or writing durable files.

use std::io;
use std::path::PathBuf;

/// A durability failure. I/O errors keep their `io::Error` so callers can tell a full disk
/// (`StorageFull`) from a failing one.
#[derive(Debug, thiserror::Error)]
pub enum DurabilityError {
    #[error("I/O error: {0}")]
    Io(#[source] io::Error),
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not encode a commit record: {0}")]
    Encode(String),
    #[error("a commit record of {0} bytes is larger than a WAL record may be")]
    RecordTooLarge(usize),
    #[error("{path}: not a ferrograph WAL segment ({reason})")]
    BadHeader { path: PathBuf, reason: String },
    #[error(
        "{path}: corrupt at byte {offset} ({reason}), before the end of the log; refusing to \
         start on a log with a hole in it (move the file away to start without its records)"
    )]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("{path}: {reason}")]
    Sequence { path: PathBuf, reason: String },
    #[error("replaying the record of commit {commit_ts} from {path}: {reason}")]
    Replay {
        path: PathBuf,
        commit_ts: u64,
        reason: String,
    },
    /// A snapshot file that is not one, is damaged, or does not fit the storage it is loaded
    /// into; `offset` is where in the file the problem is.
    #[error("{path}: snapshot unusable at byte {offset}: {reason}")]
    Snapshot {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    /// Writing a snapshot failed for a reason other than I/O (an object too large to frame,
    /// a storage read that failed); no snapshot file was left behind.
    #[error("could not write a snapshot into {dir}: {reason}")]
    SnapshotWrite { dir: PathBuf, reason: String },
    /// Snapshots exist but none of them loads (each failure was logged).
    #[error("{dir}: none of the {count} snapshots is usable; the newest failed with: {newest}")]
    NoValidSnapshot {
        dir: PathBuf,
        count: usize,
        newest: Box<DurabilityError>,
    },
}

impl DurabilityError {
    pub(crate) fn file(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> DurabilityError {
        let path = path.into();
        move |source| DurabilityError::File { path, source }
    }

    /// The underlying I/O error, if this is one.
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            DurabilityError::Io(e) | DurabilityError::File { source: e, .. } => Some(e),
            _ => None,
        }
    }
}
