//! WAL segment files: a versioned header, then one frame ([`crate::codec`]) per committed
//! transaction, in commit order.
//!
//! Header (little endian):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `FGRAPHWL` |
//! | 4 | format version ([`FORMAT_VERSION`]) |
//! | 8 | sequence number of the segment (1, 2, ... in the directory) |
//! | 8 | commit timestamp of the segment's first record |
//! | 8 | commit timestamp of the last record before this segment (0: the log starts from an empty database); format 2 on |
//! | 2 | epoch length (at most [`MAX_EPOCH_BYTES`]) |
//! | n | epoch (UTF-8): the history this log belongs to (replication compares epochs) |
//! | 4 | CRC-32 of all the header bytes before it |
//!
//! **Scanning and the tail.** A crash can leave the newest segment with a last frame that was
//! only partly written, or written as zeros (the file grew, the data did not reach the disk).
//! [`scan`] reads frames until the first one that is incomplete or invalid. That frame is a
//! *torn tail*, and the segment is valid up to it, only if nothing valid follows it: the bytes
//! after it are all zero, or no position after it starts a valid frame. A bad frame with a valid
//! frame somewhere after it is a hole in the log ([`DurabilityError::Corrupt`]): recovery stops
//! rather than silently skip acknowledged commits.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use storage::CommitRecord;

use crate::codec::{
    check_frame, decode_frame, decode_prefix, read_full, Frame, RawFrame, FRAME_HEADER_BYTES,
    MAX_RECORD_BYTES,
};
use crate::error::DurabilityError;

/// The first bytes of every WAL segment.
pub const MAGIC: [u8; 8] = *b"FGRAPHWL";
/// The segment format this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest segment format this build still reads (it lacks `prev_commit_ts`).
pub const OLDEST_FORMAT_VERSION: u32 = 1;
/// The longest epoch a header may carry.
pub const MAX_EPOCH_BYTES: usize = 64;
/// How far past a bad frame [`scan`] looks for a valid one before calling the bad frame a
/// torn tail. A torn tail is at most one record, so this is generous; a hole followed by more
/// than this many bytes of garbage is still reported, as corruption of the garbage.
const RESYNC_WINDOW_BYTES: usize = 2 * MAX_RECORD_BYTES;

/// What a segment's header says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    pub sequence: u64,
    pub first_commit_ts: u64,
    /// The commit timestamp of the last record before this segment's first (in the previous
    /// segment, or the state the log started from): the segment and its successors hold every
    /// commit after it. Replication's catch-up reads the log from here.
    pub prev_commit_ts: u64,
    pub epoch: String,
}

impl SegmentHeader {
    fn encode(&self) -> Vec<u8> {
        let epoch = self.epoch.as_bytes();
        assert!(epoch.len() <= MAX_EPOCH_BYTES, "epoch too long");
        let mut out = Vec::with_capacity(42 + epoch.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&self.sequence.to_le_bytes());
        out.extend_from_slice(&self.first_commit_ts.to_le_bytes());
        out.extend_from_slice(&self.prev_commit_ts.to_le_bytes());
        out.extend_from_slice(&(epoch.len() as u16).to_le_bytes());
        out.extend_from_slice(epoch);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads and checks a header; returns it and its length in bytes.
    fn read(path: &Path, r: &mut impl Read) -> Result<(SegmentHeader, u64), DurabilityError> {
        let bad = |reason: &str| DurabilityError::BadHeader {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let mut fixed = [0u8; 20];
        if read_full(r, &mut fixed).map_err(DurabilityError::file(path))? < fixed.len() {
            return Err(bad("shorter than a header"));
        }
        if fixed[0..8] != MAGIC {
            return Err(bad("wrong magic bytes"));
        }
        let version = u32::from_le_bytes(fixed[8..12].try_into().expect("4 bytes"));
        if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(bad(&format!(
                "format version {version}; this build reads versions {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION}"
            )));
        }
        let sequence = u64::from_le_bytes(fixed[12..20].try_into().expect("8 bytes"));
        // Version 1 has no prev_commit_ts: 10 more fixed bytes instead of 18.
        let mut more = vec![0u8; if version == 1 { 10 } else { 18 }];
        if read_full(r, &mut more).map_err(DurabilityError::file(path))? < more.len() {
            return Err(bad("shorter than a header"));
        }
        let first_commit_ts = u64::from_le_bytes(more[0..8].try_into().expect("8 bytes"));
        let prev_commit_ts = if version == 1 {
            // Unknown: as much as format 1 promised (the first segment starts the log).
            if sequence == 1 {
                0
            } else {
                first_commit_ts.saturating_sub(1)
            }
        } else {
            u64::from_le_bytes(more[8..16].try_into().expect("8 bytes"))
        };
        let n = more.len();
        let epoch_len = u16::from_le_bytes(more[n - 2..n].try_into().expect("2 bytes")) as usize;
        if epoch_len > MAX_EPOCH_BYTES {
            return Err(bad("epoch longer than 64 bytes"));
        }
        let mut fixed = fixed.to_vec();
        fixed.extend_from_slice(&more);
        let mut rest = vec![0u8; epoch_len + 4];
        if read_full(r, &mut rest).map_err(DurabilityError::file(path))? < rest.len() {
            return Err(bad("shorter than its header"));
        }
        let mut all = fixed;
        all.extend_from_slice(&rest[..epoch_len]);
        let crc = u32::from_le_bytes(rest[epoch_len..].try_into().expect("4 bytes"));
        if crc32fast::hash(&all) != crc {
            return Err(bad("header checksum mismatch"));
        }
        let epoch =
            String::from_utf8(rest[..epoch_len].to_vec()).map_err(|_| bad("epoch is not UTF-8"))?;
        Ok((
            SegmentHeader {
                sequence,
                first_commit_ts,
                prev_commit_ts,
                epoch,
            },
            all.len() as u64 + 4,
        ))
    }
}

/// Reads and checks only the header of segment `path`.
pub fn read_header(path: &Path) -> Result<SegmentHeader, DurabilityError> {
    let file = File::open(path).map_err(DurabilityError::file(path))?;
    let mut r = BufReader::with_capacity(256, file);
    SegmentHeader::read(path, &mut r).map(|(header, _)| header)
}

/// The file name of segment `sequence`: sorting names sorts segments.
pub fn file_name(sequence: u64) -> String {
    format!("{sequence:010}.wal")
}

/// The sequence number in a segment's file name, if it is one.
pub fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".wal")?;
    (digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// How a scanned segment ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tail {
    /// The last frame ends exactly at the end of the file.
    Clean,
    /// The file goes on past the last valid frame with a torn one: `offset` is where it starts
    /// (the valid length of the segment).
    Torn { offset: u64, reason: String },
}

/// What [`scan`] found in a segment.
#[derive(Debug)]
pub struct Scan {
    pub header: SegmentHeader,
    /// Records read (and handed to the visitor).
    pub records: u64,
    /// Commit timestamp of the last valid record, if any.
    pub last_commit_ts: Option<u64>,
    /// Bytes up to the end of the last valid frame (the header included).
    pub valid_len: u64,
    pub file_len: u64,
    pub tail: Tail,
}

/// Reads segment `path`, handing every valid record to `visit` in order; see the module doc for
/// what counts as a torn tail. Records must have increasing commit timestamps, the first no
/// earlier than the header's `first_commit_ts`.
pub fn scan(
    path: &Path,
    mut visit: impl FnMut(CommitRecord) -> Result<(), DurabilityError>,
) -> Result<Scan, DurabilityError> {
    let file = File::open(path).map_err(DurabilityError::file(path))?;
    let file_len = file.metadata().map_err(DurabilityError::file(path))?.len();
    let mut r = BufReader::with_capacity(1 << 20, file);
    let (header, header_len) = SegmentHeader::read(path, &mut r)?;
    let mut offset = header_len;
    let mut records = 0;
    let mut last_ts: Option<u64> = None;
    // A buffer holding the unread bytes from `offset` on (at least one whole frame when there is
    // one).
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut eof = false;
    loop {
        if buf.len() < FRAME_HEADER_BYTES && !eof {
            eof = fill(&mut r, &mut buf, FRAME_HEADER_BYTES, path)?;
        }
        if buf.is_empty() && eof {
            return Ok(Scan {
                header,
                records,
                last_commit_ts: last_ts,
                valid_len: offset,
                file_len,
                tail: Tail::Clean,
            });
        }
        let frame = match decode_frame(&buf) {
            Frame::Incomplete { needed } if !eof => {
                let want =
                    buf.len() + needed.unwrap_or(FRAME_HEADER_BYTES.saturating_sub(buf.len()));
                eof = fill(&mut r, &mut buf, want, path)?;
                continue;
            }
            frame => frame,
        };
        let reason = match frame {
            Frame::Record { record, len } => {
                let ts = record.commit_ts;
                let in_order = match last_ts {
                    Some(last) => ts > last,
                    None => ts >= header.first_commit_ts,
                };
                if in_order {
                    visit(record)?;
                    records += 1;
                    last_ts = Some(ts);
                    offset += len as u64;
                    buf.drain(..len);
                    continue;
                }
                format!(
                    "commit timestamp {ts} after {}",
                    last_ts.unwrap_or(header.first_commit_ts)
                )
            }
            Frame::Incomplete { .. } => "the file ends inside this record".to_owned(),
            Frame::Invalid { reason, .. } => reason,
        };
        // A bad frame at `offset`: the torn tail, unless something valid follows it.
        let mut rest = std::mem::take(&mut buf);
        r.by_ref()
            .take(RESYNC_WINDOW_BYTES as u64)
            .read_to_end(&mut rest)
            .map_err(DurabilityError::file(path))?;
        if let Some(at) = valid_frame_after(&rest) {
            return Err(DurabilityError::Corrupt {
                path: path.to_owned(),
                offset,
                reason: format!(
                    "{reason}; a valid record follows at byte {}",
                    offset + at as u64
                ),
            });
        }
        return Ok(Scan {
            header,
            records,
            last_commit_ts: last_ts,
            valid_len: offset,
            file_len,
            tail: Tail::Torn { offset, reason },
        });
    }
}

/// Hands each whole, valid frame of segment `path` to `visit` with its commit timestamp, as
/// stored, until `visit` returns `false` or the valid frames end (a frame still being written
/// ends them). Returns `true` if every frame was visited.
pub fn read_raw_frames(
    path: &Path,
    mut visit: impl FnMut(u64, &[u8]) -> bool,
) -> Result<bool, DurabilityError> {
    let file = File::open(path).map_err(DurabilityError::file(path))?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    SegmentHeader::read(path, &mut r)?;
    let mut frame = Vec::with_capacity(1 << 16);
    loop {
        frame.resize(FRAME_HEADER_BYTES, 0);
        if read_full(&mut r, &mut frame).map_err(DurabilityError::file(path))? < FRAME_HEADER_BYTES
        {
            return Ok(true);
        }
        let len = u32::from_le_bytes(frame[0..4].try_into().expect("4 bytes")) as usize;
        if len > MAX_RECORD_BYTES {
            return Ok(true);
        }
        frame.resize(FRAME_HEADER_BYTES + len, 0);
        if read_full(&mut r, &mut frame[FRAME_HEADER_BYTES..])
            .map_err(DurabilityError::file(path))?
            < len
        {
            return Ok(true);
        }
        let RawFrame::Whole { payload, .. } = check_frame(&frame) else {
            return Ok(true);
        };
        // A record's commit timestamp is its first field.
        let Ok((ts, _)) = decode_prefix::<u64>(payload) else {
            return Ok(true);
        };
        if !visit(ts, &frame) {
            return Ok(false);
        }
    }
}

/// Reads until `buf` holds `want` bytes or the file ends; returns whether it ended.
fn fill(
    r: &mut impl Read,
    buf: &mut Vec<u8>,
    want: usize,
    path: &Path,
) -> Result<bool, DurabilityError> {
    let have = buf.len();
    if have >= want {
        return Ok(false);
    }
    let ask = (want - have).max(1 << 16);
    buf.resize(have + ask, 0);
    let n = read_full(r, &mut buf[have..]).map_err(DurabilityError::file(path))?;
    buf.truncate(have + n);
    Ok(buf.len() < want)
}

/// The first position after 0 in `bytes` where a whole valid frame starts, if any. All-zero
/// bytes hold none (a zero length with the CRC of nothing is not 0).
fn valid_frame_after(bytes: &[u8]) -> Option<usize> {
    (1..bytes.len().saturating_sub(FRAME_HEADER_BYTES - 1))
        .find(|&at| matches!(decode_frame(&bytes[at..]), Frame::Record { .. }))
}

/// Appends frames to one segment file.
#[derive(Debug)]
pub struct SegmentWriter {
    file: File,
    path: PathBuf,
    len: u64,
    header: SegmentHeader,
}

impl SegmentWriter {
    /// Creates segment `header.sequence` in `dir` (which must not have it yet), writes and
    /// fsyncs its header, and fsyncs the directory so the new name survives a crash.
    pub fn create(dir: &Path, header: SegmentHeader) -> Result<SegmentWriter, DurabilityError> {
        let path = dir.join(file_name(header.sequence));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(DurabilityError::file(&path))?;
        let bytes = header.encode();
        file.write_all(&bytes)
            .and_then(|_| file.sync_all())
            .map_err(DurabilityError::file(&path))?;
        sync_dir(dir)?;
        Ok(SegmentWriter {
            file,
            path,
            len: bytes.len() as u64,
            header,
        })
    }

    /// Reopens a scanned segment to append after its last valid frame, cutting off a torn tail
    /// first (and making the cut durable).
    pub fn reopen(path: &Path, scan: &Scan) -> Result<SegmentWriter, DurabilityError> {
        let mut file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(DurabilityError::file(path))?;
        if scan.file_len != scan.valid_len {
            file.set_len(scan.valid_len)
                .and_then(|_| file.sync_all())
                .map_err(DurabilityError::file(path))?;
        }
        file.seek(SeekFrom::Start(scan.valid_len))
            .map_err(DurabilityError::file(path))?;
        Ok(SegmentWriter {
            file,
            path: path.to_owned(),
            len: scan.valid_len,
            header: scan.header.clone(),
        })
    }

    /// Appends already encoded frames (not yet durable: see [`sync`](Self::sync)).
    pub fn append(&mut self, frames: &[u8]) -> Result<(), DurabilityError> {
        match self.file.write_all(frames) {
            Ok(()) => {
                self.len += frames.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Leave no partial frame behind: the next append must start on a boundary.
                let _ = self.file.set_len(self.len);
                let _ = self.file.seek(SeekFrom::Start(self.len));
                Err(DurabilityError::File {
                    path: self.path.clone(),
                    source: e,
                })
            }
        }
    }

    /// Cuts the segment back to `len` bytes (a frame boundary) and makes the cut durable.
    pub fn truncate(&mut self, len: u64) -> Result<(), DurabilityError> {
        self.file
            .set_len(len)
            .and_then(|_| self.file.seek(SeekFrom::Start(len)))
            .and_then(|_| self.file.sync_all())
            .map_err(DurabilityError::file(&self.path))?;
        self.len = len;
        Ok(())
    }

    /// A second handle on the file, to `fdatasync` it without holding the writer (group commit:
    /// appends go on while one committer flushes).
    pub fn flush_handle(&self) -> Result<File, DurabilityError> {
        self.file
            .try_clone()
            .map_err(DurabilityError::file(&self.path))
    }

    /// Makes everything appended so far durable (`fdatasync`).
    pub fn sync(&mut self) -> Result<(), DurabilityError> {
        self.file
            .sync_data()
            .map_err(DurabilityError::file(&self.path))
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn header(&self) -> &SegmentHeader {
        &self.header
    }
}

/// fsyncs a directory, so that names created or removed in it survive a crash.
pub fn sync_dir(dir: &Path) -> Result<(), DurabilityError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(DurabilityError::file(dir))
}
