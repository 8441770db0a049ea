//! The write-ahead log of a data directory: segments `wal/0000000001.wal`, ... appended in
//! commit order, rotated by size, and read back by [`recover`].
//!
//! **When is a commit durable?** With `flush_every_n_tx = 1` (the default, as for
//! `--storage-wal-file-flush-every-n-tx`), [`Wal::append`] returns only after the record is
//! written and `fdatasync`ed, so a commit is on disk before its client hears SUCCESS. With
//! `n > 1` the log is synced every `n` records (Memgraph's trade-off: a crash can lose the last
//! `n - 1` acknowledged commits, never a part of one).
//!
//! **When the disk fails.** A failed write or sync fails the commit ([`storage::CommitSink`]
//! vetoes it), and the log is cut back to what was last synced, so a commit that failed can
//! never come back at recovery. Every later commit tries again: writes resume by themselves once
//! there is space.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use storage::{CommitRecord, CommitSink};
use tracing::{info, warn};

use crate::codec::encode_frame;
use crate::error::DurabilityError;
use crate::segment::{self, Scan, SegmentHeader, SegmentWriter, Tail};

/// Settings of a [`Wal`].
#[derive(Clone, Debug)]
pub struct WalConfig {
    /// The directory holding the segments (`<data-directory>/wal`).
    pub dir: PathBuf,
    /// A segment is closed and a new one started once it holds this many bytes.
    pub segment_bytes: u64,
    /// fsync after this many records (1 = every commit is durable when acknowledged).
    pub flush_every_n_tx: u64,
    /// The epoch written into new segment headers.
    pub epoch: String,
}

/// What [`recover`] read.
#[derive(Debug, Default)]
pub struct Recovery {
    pub segments: usize,
    pub records: u64,
    pub last_commit_ts: Option<u64>,
    /// The newest segment and its scan, to append to ([`Wal::open`] cuts its torn tail).
    pub last: Option<(PathBuf, Scan)>,
    pub elapsed: Duration,
}

/// The segments in `dir`, by sequence number.
fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, DurabilityError> {
    let mut found = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => {
            return Err(DurabilityError::File {
                path: dir.to_owned(),
                source: e,
            })
        }
    };
    for entry in entries {
        let entry = entry.map_err(DurabilityError::file(dir))?;
        if let Some(sequence) = entry
            .file_name()
            .to_str()
            .and_then(segment::parse_file_name)
        {
            found.push((sequence, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Reads every segment in `dir` in order and hands each record to `apply`.
///
/// Only the newest segment may end in a torn tail (it is logged with its file and offset, and
/// cut when the log is reopened); any other damage, a gap in the sequence numbers, or
/// timestamps that go backwards across segments stops recovery with an error naming the file.
pub fn recover(
    dir: &Path,
    mut apply: impl FnMut(CommitRecord) -> Result<(), DurabilityError>,
) -> Result<Recovery, DurabilityError> {
    let started = Instant::now();
    let found = segments(dir)?;
    let mut recovery = Recovery::default();
    let count = found.len();
    for (i, (sequence, path)) in found.into_iter().enumerate() {
        if let Some((previous, _)) = &recovery.last {
            let expected = recovery.last.as_ref().map(|(_, s)| s.header.sequence + 1);
            if Some(sequence) != expected {
                return Err(DurabilityError::Sequence {
                    path,
                    reason: format!(
                        "segment {sequence} follows {} (a segment is missing)",
                        previous.display()
                    ),
                });
            }
        }
        let floor = recovery.last_commit_ts;
        let scan = segment::scan(&path, |record| {
            if floor.is_some_and(|f| record.commit_ts <= f) {
                return Err(DurabilityError::Sequence {
                    path: path.clone(),
                    reason: format!(
                        "commit {} is not after the previous segment's last commit {}",
                        record.commit_ts,
                        floor.unwrap_or(0)
                    ),
                });
            }
            apply(record)
        })?;
        if scan.header.sequence != sequence {
            return Err(DurabilityError::Sequence {
                path,
                reason: format!(
                    "its header says segment {}, its name {sequence}",
                    scan.header.sequence
                ),
            });
        }
        if let Tail::Torn { offset, reason } = &scan.tail {
            if i + 1 < count {
                return Err(DurabilityError::Corrupt {
                    path,
                    offset: *offset,
                    reason: format!("{reason}, in a segment that newer ones follow"),
                });
            }
            warn!(
                file = %path.display(),
                offset,
                cut_bytes = scan.file_len - scan.valid_len,
                "WAL ends in a torn record ({reason}): recovering up to byte {offset} and cutting the rest"
            );
        }
        recovery.segments += 1;
        recovery.records += scan.records;
        if scan.last_commit_ts.is_some() {
            recovery.last_commit_ts = scan.last_commit_ts;
        }
        info!(
            file = %path.display(),
            records = scan.records,
            total_records = recovery.records,
            segment = i + 1,
            of = count,
            "recovered WAL segment"
        );
        recovery.last = Some((path, scan));
    }
    recovery.elapsed = started.elapsed();
    Ok(recovery)
}

struct Inner {
    config: WalConfig,
    current: Option<SegmentWriter>,
    next_sequence: u64,
    /// Records appended since the last sync.
    unsynced: u64,
    /// The length of the current segment at its last successful sync.
    synced_len: u64,
    buf: Vec<u8>,
}

/// The log a server appends every commit to (install it as the storage's commit sink).
pub struct Wal {
    inner: Mutex<Inner>,
}

impl Wal {
    /// Opens the log in `config.dir` for appending, after [`recover`] read it: the newest
    /// segment is reopened (its torn tail cut off) and later records go after its last valid one.
    pub fn open(config: WalConfig, recovered: Recovery) -> Result<Wal, DurabilityError> {
        fs::create_dir_all(&config.dir).map_err(DurabilityError::file(&config.dir))?;
        let (current, next_sequence) = match recovered.last {
            Some((path, scan)) => {
                let next = scan.header.sequence + 1;
                let writer = SegmentWriter::reopen(&path, &scan)?;
                (Some(writer), next)
            }
            None => (None, 1),
        };
        let synced_len = current.as_ref().map_or(0, SegmentWriter::len);
        Ok(Wal {
            inner: Mutex::new(Inner {
                config,
                current,
                next_sequence,
                unsynced: 0,
                synced_len,
                buf: Vec::with_capacity(64 * 1024),
            }),
        })
    }

    /// Appends `record` (and syncs, per the flush policy); see the module doc for failures.
    pub fn append(&self, record: &CommitRecord) -> Result<(), DurabilityError> {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        inner.buf.clear();
        encode_frame(record, &mut inner.buf)?;
        let rotate = inner
            .current
            .as_ref()
            .is_none_or(|w| w.len() + inner.buf.len() as u64 > inner.config.segment_bytes);
        if rotate {
            if let Some(mut old) = inner.current.take() {
                // The old segment must be complete on disk before the next one exists.
                if let Err(e) = old.sync() {
                    inner.current = Some(old);
                    return Err(e);
                }
            }
            let header = SegmentHeader {
                sequence: inner.next_sequence,
                first_commit_ts: record.commit_ts,
                epoch: inner.config.epoch.clone(),
            };
            let writer = SegmentWriter::create(&inner.config.dir, header)?;
            inner.next_sequence += 1;
            inner.synced_len = writer.len();
            inner.unsynced = 0;
            inner.current = Some(writer);
        }
        let writer = inner.current.as_mut().expect("a segment is open");
        writer.append(&inner.buf)?;
        inner.unsynced += 1;
        if inner.unsynced >= inner.config.flush_every_n_tx.max(1) {
            if let Err(e) = writer.sync() {
                // Nothing after the last good sync may survive: those commits failed (this one)
                // or were acknowledged under a policy that allowed losing them.
                cut_back(writer, inner.synced_len);
                inner.unsynced = 0;
                return Err(e);
            }
            inner.synced_len = writer.len();
            inner.unsynced = 0;
        }
        Ok(())
    }

    /// Syncs whatever is appended and not yet synced (at shutdown, or on a timer).
    pub fn sync(&self) -> Result<(), DurabilityError> {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        if let Some(writer) = inner.current.as_mut() {
            if inner.unsynced > 0 {
                writer.sync()?;
                inner.synced_len = writer.len();
                inner.unsynced = 0;
            }
        }
        Ok(())
    }

    /// The segment being appended to, if any.
    pub fn current_segment(&self) -> Option<PathBuf> {
        self.inner
            .lock()
            .current
            .as_ref()
            .map(|w| w.path().to_owned())
    }
}

fn cut_back(writer: &mut SegmentWriter, synced_len: u64) {
    if let Err(e) = writer.truncate(synced_len) {
        warn!(file = %writer.path().display(), "could not cut the WAL back after a failed sync: {e}");
    }
}

impl CommitSink for Wal {
    fn on_commit(&self, record: &CommitRecord) -> Result<(), String> {
        self.append(record)
            .map_err(|e| format!("the write-ahead log could not store the commit: {e}"))
    }
}
