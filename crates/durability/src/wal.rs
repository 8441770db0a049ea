//! The write-ahead log of a data directory: segments `wal/0000000001.wal`, ... appended in
//! commit order, rotated by size, and read back by [`recover`].
//!
//! **When is a commit durable?** With `flush_every_n_tx = 1` (the default, as for
//! `--storage-wal-file-flush-every-n-tx`), a commit is visible and acknowledged only after its
//! record is written and `fdatasync`ed ([`Wal::append`], then [`Wal::wait_durable`] outside the
//! storage's commit lock, where concurrent committers share one flush: group commit), so a
//! commit is on disk before its client hears SUCCESS. With
//! `n > 1` the log is synced every `n` records (Memgraph's trade-off: a crash can lose the last
//! `n - 1` acknowledged commits, never a part of one).
//!
//! **When the disk fails.** A failed write or sync fails the commit ([`storage::CommitSink`]
//! vetoes it), and the log is cut back to what was last synced, so a commit that failed can
//! never come back at recovery. Every later commit tries again: writes resume by themselves once
//! there is space.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// The commit timestamp of the state the log continues from when it has no segment yet
    /// (a recovered snapshot's, or 0 for an empty database): the first segment's
    /// `prev_commit_ts`.
    pub base_ts: u64,
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

/// The headers of the segments in `dir`, oldest first.
pub fn segment_headers(dir: &Path) -> Result<Vec<(PathBuf, SegmentHeader)>, DurabilityError> {
    segments(dir)?
        .into_iter()
        .map(|(_, path)| segment::read_header(&path).map(|h| (path, h)))
        .collect()
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
    /// The commit timestamp of the newest appended record (0: none yet).
    last_appended_ts: u64,
    /// With `flush_every_n_tx > 1`: frames appended but not yet written to the segment file
    /// (one `write` per [`WRITE_BUFFER_BYTES`] instead of one per commit).
    buffer: Vec<u8>,
}

/// With `flush_every_n_tx > 1`, frames are written to the file in batches of about this size
/// (and at every sync, rotation, [`Wal::write_out`] and shutdown). A process crash may then lose
/// the buffered commits as an OS crash may lose the unsynced ones: that policy accepts losing
/// the newest commits, never a part of one.
pub const WRITE_BUFFER_BYTES: usize = 256 << 10;

/// The log a server appends every commit to (install it as the storage's commit sink).
///
/// **Group commit.** With `flush_every_n_tx = 1`, [`Wal::append`] only writes (under the
/// storage's commit lock) and the committer then calls [`Wal::wait_durable`] without that lock:
/// the first waiter becomes the flusher and `fdatasync`s everything appended so far, and the
/// committers that appended meanwhile find their record covered by that one flush. One writer
/// alone still pays one fsync per commit; sixteen share them.
pub struct Wal {
    inner: Mutex<Inner>,
    /// Held by the one committer flushing; the others queue here.
    flush: Mutex<()>,
    /// Every record with a commit timestamp up to this one is on disk.
    durable_ts: AtomicU64,
    /// Commit timestamps (inclusive ranges) whose records a failed write or sync cut off.
    lost: Mutex<Vec<(u64, u64)>>,
    /// `flush_every_n_tx == 1`: commits wait for a (shared) flush before they are visible.
    group: bool,
    /// fsyncs of segment data so far (group commit shows as fewer flushes than commits).
    flushes: AtomicU64,
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
        let last = recovered.last_commit_ts.unwrap_or(0).max(config.base_ts);
        let group = config.flush_every_n_tx <= 1;
        Ok(Wal {
            inner: Mutex::new(Inner {
                config,
                current,
                next_sequence,
                unsynced: 0,
                synced_len,
                last_appended_ts: last,
                buffer: Vec::new(),
            }),
            flush: Mutex::new(()),
            durable_ts: AtomicU64::new(last),
            lost: Mutex::new(Vec::new()),
            group,
            flushes: AtomicU64::new(0),
        })
    }

    /// Appends `record`. With `flush_every_n_tx > 1` it also syncs every n records; with 1 the
    /// record is durable only after [`Wal::wait_durable`] (or [`Wal::sync`]). See the module doc
    /// for failures.
    pub fn append(&self, record: &CommitRecord) -> Result<(), DurabilityError> {
        let mut frame = Vec::new();
        encode_frame(record, &mut frame)?;
        self.append_frame(record.commit_ts, &frame)
    }

    /// [`append`](Self::append) of a record already encoded as one frame
    /// ([`crate::codec::encode_frame`]) with commit timestamp `commit_ts`: replication encodes
    /// each record once and ships the bytes the log stores.
    pub fn append_frame(&self, commit_ts: u64, frame: &[u8]) -> Result<(), DurabilityError> {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        let buffered = inner.buffer.len() as u64;
        let rotate = inner
            .current
            .as_ref()
            .is_none_or(|w| w.len() + buffered + frame.len() as u64 > inner.config.segment_bytes);
        if rotate {
            self.write_buffer(inner)?;
            if let Some(mut old) = inner.current.take() {
                // The old segment must be complete on disk before the next one exists.
                if let Err(e) = old.sync() {
                    inner.current = Some(old);
                    self.fail_unsynced(inner);
                    return Err(e);
                }
                self.durable_ts
                    .fetch_max(inner.last_appended_ts, Ordering::AcqRel);
            }
            let header = SegmentHeader {
                sequence: inner.next_sequence,
                first_commit_ts: commit_ts,
                prev_commit_ts: inner.last_appended_ts,
                epoch: inner.config.epoch.clone(),
            };
            let writer = SegmentWriter::create(&inner.config.dir, header)?;
            inner.next_sequence += 1;
            inner.synced_len = writer.len();
            inner.unsynced = 0;
            inner.current = Some(writer);
        }
        if self.group {
            let writer = inner.current.as_mut().expect("a segment is open");
            // A failed write leaves no partial frame (the writer cuts it); earlier unsynced
            // records are intact and still to be flushed.
            writer.append(frame)?;
            inner.last_appended_ts = commit_ts;
            inner.unsynced += 1;
            return Ok(());
        }
        inner.buffer.extend_from_slice(frame);
        inner.last_appended_ts = commit_ts;
        inner.unsynced += 1;
        if inner.unsynced >= inner.config.flush_every_n_tx {
            self.sync_current(inner)?;
        } else if inner.buffer.len() >= WRITE_BUFFER_BYTES {
            self.write_buffer(inner)?;
        }
        Ok(())
    }

    /// Writes the buffered frames to the segment file (not synced). On failure everything
    /// after the last sync is cut off, as for a failed sync.
    fn write_buffer(&self, inner: &mut Inner) -> Result<(), DurabilityError> {
        if inner.buffer.is_empty() {
            return Ok(());
        }
        let Some(writer) = inner.current.as_mut() else {
            inner.buffer.clear();
            return Ok(());
        };
        let written = writer.append(&inner.buffer);
        inner.buffer.clear();
        if let Err(e) = written {
            self.fail_unsynced(inner);
            return Err(e);
        }
        Ok(())
    }

    /// Writes what is buffered to the segment file, so that readers of the files (replication's
    /// catch-up) see every appended commit. Does not sync.
    pub fn write_out(&self) -> Result<(), DurabilityError> {
        let mut guard = self.inner.lock();
        self.write_buffer(&mut guard)
    }

    /// Syncs the open segment if it holds unsynced records; on failure cuts them off.
    fn sync_current(&self, inner: &mut Inner) -> Result<(), DurabilityError> {
        if inner.unsynced == 0 {
            return Ok(());
        }
        self.write_buffer(inner)?;
        let Some(writer) = inner.current.as_mut() else {
            return Ok(());
        };
        if let Err(e) = writer.sync() {
            self.fail_unsynced(inner);
            return Err(e);
        }
        inner.synced_len = writer.len();
        inner.unsynced = 0;
        self.durable_ts
            .fetch_max(inner.last_appended_ts, Ordering::AcqRel);
        Ok(())
    }

    /// Waits until the record of `commit_ts` (appended earlier) is on disk, flushing it and
    /// everything appended before it unless another committer's flush already did.
    pub fn wait_durable(&self, commit_ts: u64) -> Result<(), DurabilityError> {
        if self.durable_ts.load(Ordering::Acquire) >= commit_ts {
            return Ok(());
        }
        let _flusher = self.flush.lock();
        if let Some(err) = self.lost_error(commit_ts) {
            return Err(err);
        }
        if self.durable_ts.load(Ordering::Acquire) >= commit_ts {
            return Ok(());
        }
        let (handle, target_ts, target_len, sequence) = {
            let inner = self.inner.lock();
            if inner.last_appended_ts < commit_ts {
                return Err(DurabilityError::Io(std::io::Error::other(format!(
                    "commit {commit_ts} was never appended to the write-ahead log"
                ))));
            }
            let Some(writer) = inner.current.as_ref() else {
                return Err(DurabilityError::Io(std::io::Error::other(
                    "the write-ahead log has no open segment",
                )));
            };
            (
                writer.flush_handle()?,
                inner.last_appended_ts,
                writer.len(),
                writer.header().sequence,
            )
        };
        // Appends go on while this runs; they wait for the next flush.
        let synced = handle.sync_data();
        self.flushes.fetch_add(1, Ordering::Relaxed);
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        match synced {
            Ok(()) => {
                if let Some(writer) = inner.current.as_ref() {
                    if writer.header().sequence == sequence && target_len > inner.synced_len {
                        inner.synced_len = target_len;
                        if inner.last_appended_ts == target_ts {
                            inner.unsynced = 0;
                        }
                    }
                }
                self.durable_ts.fetch_max(target_ts, Ordering::AcqRel);
                Ok(())
            }
            Err(e) => {
                let path = inner
                    .current
                    .as_ref()
                    .map(|w| w.path().to_owned())
                    .unwrap_or_default();
                self.fail_unsynced(inner);
                Err(DurabilityError::File { path, source: e })
            }
        }
    }

    /// Whether the record of `commit_ts` was cut off after a failed write or sync.
    pub fn is_lost(&self, commit_ts: u64) -> bool {
        self.lost
            .lock()
            .iter()
            .any(|(from, to)| (*from..=*to).contains(&commit_ts))
    }

    fn lost_error(&self, commit_ts: u64) -> Option<DurabilityError> {
        self.is_lost(commit_ts).then(|| {
            DurabilityError::Io(std::io::Error::other(format!(
                "the write-ahead log could not flush commit {commit_ts} (an earlier flush failed)"
            )))
        })
    }

    /// After a failed write or sync: nothing after the last good sync may survive (those commits
    /// fail, or were acknowledged under a policy that allowed losing them), so the segment is cut
    /// back and their timestamps are remembered as lost.
    fn fail_unsynced(&self, inner: &mut Inner) {
        let durable = self.durable_ts.load(Ordering::Acquire);
        if inner.last_appended_ts > durable {
            self.lost.lock().push((durable + 1, inner.last_appended_ts));
        }
        if let Some(writer) = inner.current.as_mut() {
            cut_back(writer, inner.synced_len);
        }
        inner.unsynced = 0;
        inner.buffer.clear();
        inner.last_appended_ts = durable;
    }

    /// Syncs whatever is appended and not yet synced (at shutdown, or on a timer).
    pub fn sync(&self) -> Result<(), DurabilityError> {
        let _flusher = self.flush.lock();
        let mut guard = self.inner.lock();
        self.sync_current(&mut guard)
    }

    /// Starts the log over after the data was replaced by a snapshot at `base_ts` (a replica's
    /// full resync): the current segment is closed and every segment moved into `move_to`;
    /// the next commit opens segment 1 again.
    pub fn restart(&self, move_to: &Path, base_ts: u64) -> Result<Vec<PathBuf>, DurabilityError> {
        let _flusher = self.flush.lock();
        let mut inner = self.inner.lock();
        self.write_buffer(&mut inner)?;
        if let Some(mut writer) = inner.current.take() {
            writer.sync()?;
        }
        let dir = inner.config.dir.clone();
        let mut moved = Vec::new();
        let found = segments(&dir)?;
        if !found.is_empty() {
            fs::create_dir_all(move_to).map_err(DurabilityError::file(move_to))?;
        }
        for (_, path) in found {
            let target = move_to.join(path.file_name().expect("a segment file"));
            fs::rename(&path, &target).map_err(DurabilityError::file(&path))?;
            moved.push(target);
        }
        segment::sync_dir(&dir)?;
        inner.next_sequence = 1;
        inner.unsynced = 0;
        inner.synced_len = 0;
        inner.last_appended_ts = base_ts;
        self.durable_ts.store(base_ts, Ordering::Release);
        self.lost.lock().clear();
        Ok(moved)
    }

    /// The directory of the segments.
    pub fn dir(&self) -> PathBuf {
        self.inner.lock().config.dir.clone()
    }

    /// The segment being appended to, if any.
    pub fn current_segment(&self) -> Option<PathBuf> {
        self.inner
            .lock()
            .current
            .as_ref()
            .map(|w| w.path().to_owned())
    }

    /// Deletes the segments a snapshot made unnecessary: those whose every record is at or
    /// before `covered_ts` (the oldest snapshot kept), except the newest of them, so at least
    /// one segment older than the snapshot stays (catch-up of a replica that is slightly behind
    /// needs it). The segment being appended to is never deleted. Returns the deleted files.
    pub fn prune(&self, covered_ts: u64) -> Result<Vec<PathBuf>, DurabilityError> {
        let inner = self.inner.lock();
        let current = inner.current.as_ref().map(|w| w.header().sequence);
        let headers = segment_headers(&inner.config.dir)?;
        // Segment i holds records before segment i + 1's first commit.
        let mut covered: Vec<&PathBuf> = headers
            .windows(2)
            .filter(|pair| {
                Some(pair[0].1.sequence) != current
                    && pair[1].1.first_commit_ts.saturating_sub(1) <= covered_ts
            })
            .map(|pair| &pair[0].0)
            .collect();
        covered.pop();
        let mut deleted = Vec::new();
        for path in covered {
            fs::remove_file(path).map_err(DurabilityError::file(path))?;
            deleted.push(path.clone());
        }
        if !deleted.is_empty() {
            segment::sync_dir(&inner.config.dir)?;
        }
        Ok(deleted)
    }

    /// How many times the log was flushed by committers waiting for durability.
    pub fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// The commit timestamp up to which every record is on disk.
    pub fn durable_ts(&self) -> u64 {
        self.durable_ts.load(Ordering::Acquire)
    }
}

fn cut_back(writer: &mut SegmentWriter, synced_len: u64) {
    if let Err(e) = writer.truncate(synced_len) {
        warn!(file = %writer.path().display(), "could not cut the WAL back after a failed sync: {e}");
    }
}

/// Frames read back from the log by [`read_frames_after`].
#[derive(Debug, Default)]
pub struct FrameBatch {
    /// Whole frames, concatenated, in commit order.
    pub frames: Vec<u8>,
    /// How many frames `frames` holds.
    pub count: usize,
    /// The commit timestamp of the last frame (the `after_ts` asked for when there is none).
    pub last_ts: u64,
}

/// Why [`read_frames_after`] could not serve a read.
#[derive(Debug, thiserror::Error)]
pub enum ReadBackError {
    /// The segments that held commits just after the requested timestamp were deleted (pruned
    /// after a snapshot): the reader needs a snapshot instead.
    #[error("the write-ahead log no longer holds the commits after {after_ts} (it starts after {oldest_prev_ts})")]
    NotCovered { after_ts: u64, oldest_prev_ts: u64 },
    #[error(transparent)]
    Durability(#[from] DurabilityError),
}

/// Reads the frames of the commits after `after_ts` and at most `upto_ts` from the log in
/// `dir`, as stored (for replication's catch-up: the bytes shipped are the bytes logged), until
/// about `max_bytes` are collected (always at least one frame if there is one). A segment
/// being appended to is read up to its last whole frame; a segment deleted meanwhile is
/// [`ReadBackError::NotCovered`].
pub fn read_frames_after(
    dir: &Path,
    after_ts: u64,
    upto_ts: u64,
    max_bytes: usize,
) -> Result<FrameBatch, ReadBackError> {
    let headers = segment_headers(dir).map_err(|e| pruned_meanwhile(e, after_ts))?;
    let mut batch = FrameBatch {
        last_ts: after_ts,
        ..FrameBatch::default()
    };
    if after_ts >= upto_ts {
        return Ok(batch);
    }
    let Some(start) = headers
        .iter()
        .rposition(|(_, h)| h.prev_commit_ts <= after_ts)
    else {
        return Err(ReadBackError::NotCovered {
            after_ts,
            oldest_prev_ts: headers.first().map_or(u64::MAX, |(_, h)| h.prev_commit_ts),
        });
    };
    for (path, _) in &headers[start..] {
        let done = segment::read_raw_frames(path, |ts, frame| {
            if ts <= after_ts {
                return true;
            }
            if ts > upto_ts || (batch.count > 0 && batch.frames.len() + frame.len() > max_bytes) {
                return false;
            }
            batch.frames.extend_from_slice(frame);
            batch.count += 1;
            batch.last_ts = ts;
            true
        })
        .map_err(|e| pruned_meanwhile(e, after_ts))?;
        if !done {
            break;
        }
    }
    Ok(batch)
}

/// A segment that vanished while it was read was pruned meanwhile: the reader needs a snapshot.
fn pruned_meanwhile(e: DurabilityError, after_ts: u64) -> ReadBackError {
    match e {
        DurabilityError::File { ref source, .. }
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            ReadBackError::NotCovered {
                after_ts,
                oldest_prev_ts: u64::MAX,
            }
        }
        e => e.into(),
    }
}

impl CommitSink for Wal {
    fn on_commit(&self, record: &CommitRecord) -> Result<(), String> {
        self.append(record)
            .map_err(|e| format!("the write-ahead log could not store the commit: {e}"))
    }

    fn defers_durability(&self) -> bool {
        self.group
    }

    fn wait_durable(&self, commit_ts: u64) -> Result<(), String> {
        Wal::wait_durable(self, commit_ts)
            .map_err(|e| format!("the write-ahead log could not store the commit: {e}"))
    }

    fn is_lost(&self, commit_ts: u64) -> bool {
        Wal::is_lost(self, commit_ts)
    }
}
