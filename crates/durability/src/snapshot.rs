//! Snapshot files: the whole graph as one MVCC read transaction sees it, so recovery is the
//! newest valid snapshot plus the WAL records committed after its timestamp.
//!
//! [`write_snapshot`] begins one read transaction (writers keep going: it only reads the
//! version its snapshot sees) and streams the graph into `<commit_ts:020>.snapshot.tmp`, a
//! chunk at a time; then it fsyncs the file, renames it to `<commit_ts:020>.snapshot` and
//! fsyncs the directory, so a crash leaves either the old set of snapshots or the new one, and
//! at worst a `.tmp` leftover (ignored by readers, deleted by the next write).
//!
//! # Format (little endian)
//!
//! Header, with its own checksum:
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `FGRAPHSN` |
//! | 4 | format version ([`FORMAT_VERSION`]) |
//! | 8 | commit timestamp: the snapshot holds exactly the commits up to it |
//! | 8 | vertices |
//! | 8 | edges |
//! | 8 | vertex gid bound (every vertex gid is below it) |
//! | 8 | edge gid bound |
//! | 2 | epoch length (at most [`MAX_EPOCH_BYTES`]), then the epoch (UTF-8) |
//! | 4 | CRC-32 of all the header bytes before it |
//!
//! Then frames of the WAL's codec (`len: u32 | crc32: u32 | payload`, [`crate::codec`]), each
//! payload a tag byte and a body in bincode 2, in this order:
//!
//! | tag | body |
//! |---|---|
//! | 1 names | kind (0 labels, 1 edge types, 2 property keys), first id, then names until the end |
//! | 2 schema | once: label and label+property indexes, existence and unique constraints |
//! | 3 vertices | records until the end: gid, label ids, (key id, value)s, outgoing edges as (edge gid, target, type id), incoming ones as (edge gid, source, type id) |
//! | 4 edge properties | records until the end, for the edges that have some: gid, (key id, value)s |
//! | 5 trailer | once, last, then end of file: vertex, edge and frame totals |
//!
//! Ids are the writing storage's, resolved through the name chunks, so the loading storage may
//! intern differently. Vertices come ascending by gid, each with its whole adjacency (both
//! lists ascending by edge gid), so an edge is written at both of its ends: loading then builds
//! each vertex completely in one visit, in gid order, instead of reaching two random vertices per
//! edge ([`Storage::restore`] checks that the two ends of every edge agree). A chunk is closed at
//! about [`CHUNK_BYTES`]: memory use does not grow with the graph on either side.
//!
//! # Loading
//!
//! [`load_snapshot`] checks everything before it is used: the header's magic, version and
//! checksum, each frame's length (against the format's limit and the bytes left in the file)
//! and checksum, the chunk order, every id against its table, every gid against the header's
//! bounds, and the totals against the trailer. A failure is [`DurabilityError::Snapshot`] with
//! the file and the byte offset of the frame at fault. What it reads goes through
//! [`Storage::restore`] (no transactions, no undo deltas), and it logs progress every few
//! seconds.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bincode::de::Decoder;
use bincode::error::DecodeError;
use bincode::{Decode, Encode};
use parking_lot::Mutex;
use storage::{
    ConstraintInfo, EdgeTypeId, Gid, LabelId, PropertyId, PropertyValue, Restorer, Storage,
};
use tracing::{info, warn};

use crate::codec::{
    begin_frame, check_frame, decode_prefix, encode_append, read_full, seal_frame, RawFrame,
    FRAME_HEADER_BYTES,
};
use crate::error::DurabilityError;
use crate::segment::sync_dir;

/// The first bytes of every snapshot file.
pub const MAGIC: [u8; 8] = *b"FGRAPHSN";
/// The snapshot format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The longest epoch a header may carry (as for WAL segments).
pub const MAX_EPOCH_BYTES: usize = crate::segment::MAX_EPOCH_BYTES;
/// A chunk is closed once its payload reaches this many bytes.
pub const CHUNK_BYTES: usize = 1 << 20;
/// How often loading and writing log their progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(3);
/// Fixed header bytes before the epoch.
const HEADER_FIXED_BYTES: usize = 8 + 4 + 8 * 5 + 2;
/// Gid bounds a header may claim: the limit of the storage's layout.
const GID_LIMIT: u64 = (1 << 40) - 1;
/// Bytes of table memory one vertex gid and one edge gid cost when restored (their slots).
const VERTEX_SLOT_BYTES: u64 = 64;
const EDGE_SLOT_BYTES: u64 = 5;

const TAG_NAMES: u8 = 1;
const TAG_SCHEMA: u8 = 2;
const TAG_VERTICES: u8 = 3;
const TAG_EDGE_PROPS: u8 = 4;
const TAG_TRAILER: u8 = 5;

const NAMES_LABELS: u8 = 0;
const NAMES_EDGE_TYPES: u8 = 1;
const NAMES_PROPERTIES: u8 = 2;

/// Snapshot writes and retention in this process take turns (so one never deletes the other's
/// temporary file, nor a snapshot being listed).
static DIRECTORY_LOCK: Mutex<()> = Mutex::new(());

/// One snapshot file, written or loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub path: PathBuf,
    /// The snapshot holds exactly the commits with timestamps up to this one.
    pub commit_ts: u64,
    pub vertices: u64,
    pub edges: u64,
    /// The file's size.
    pub bytes: u64,
    /// The history the snapshot belongs to (as in WAL segment headers).
    pub epoch: String,
    /// How long writing or loading took.
    pub elapsed: Duration,
}

/// The file name of the snapshot at `commit_ts`: sorting names sorts snapshots.
pub fn file_name(commit_ts: u64) -> String {
    format!("{commit_ts:020}.snapshot")
}

/// The commit timestamp in a snapshot's file name, if it is one (`.tmp` leftovers are not).
pub fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".snapshot")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

fn tmp_name(commit_ts: u64) -> String {
    format!("{}.tmp", file_name(commit_ts))
}

// ---------------------------------------------------------------------------------------------
// Header and records
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
struct Header {
    commit_ts: u64,
    vertices: u64,
    edges: u64,
    vertex_gid_bound: u64,
    edge_gid_bound: u64,
    epoch: String,
}

impl Header {
    fn encode(&self) -> Vec<u8> {
        let epoch = self.epoch.as_bytes();
        let mut out = Vec::with_capacity(HEADER_FIXED_BYTES + epoch.len() + 4);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        for field in [
            self.commit_ts,
            self.vertices,
            self.edges,
            self.vertex_gid_bound,
            self.edge_gid_bound,
        ] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(&(epoch.len() as u16).to_le_bytes());
        out.extend_from_slice(epoch);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads and checks the header; returns it and its length.
    fn read(r: &mut impl Read) -> Result<(Header, u64), AtOffset> {
        let io = |e: io::Error| (0, format!("reading the header: {e}"));
        let mut fixed = [0u8; HEADER_FIXED_BYTES];
        if read_full(r, &mut fixed).map_err(io)? < fixed.len() {
            return Err((0, "shorter than a snapshot header".into()));
        }
        if fixed[0..8] != MAGIC {
            return Err((0, "not a ferrograph snapshot (wrong magic bytes)".into()));
        }
        let version = u32::from_le_bytes(fixed[8..12].try_into().expect("4 bytes"));
        if version != FORMAT_VERSION {
            return Err((
                8,
                format!("format version {version}; this build reads version {FORMAT_VERSION}"),
            ));
        }
        let field = |i: usize| {
            let at = 12 + 8 * i;
            u64::from_le_bytes(fixed[at..at + 8].try_into().expect("8 bytes"))
        };
        let epoch_len =
            u16::from_le_bytes(fixed[HEADER_FIXED_BYTES - 2..].try_into().expect("2 bytes"))
                as usize;
        if epoch_len > MAX_EPOCH_BYTES {
            return Err((
                HEADER_FIXED_BYTES as u64 - 2,
                format!("an epoch of {epoch_len} bytes (at most {MAX_EPOCH_BYTES})"),
            ));
        }
        let mut rest = vec![0u8; epoch_len + 4];
        if read_full(r, &mut rest).map_err(io)? < rest.len() {
            return Err((0, "shorter than its header".into()));
        }
        let mut all = fixed.to_vec();
        all.extend_from_slice(&rest[..epoch_len]);
        let crc = u32::from_le_bytes(rest[epoch_len..].try_into().expect("4 bytes"));
        if crc32fast::hash(&all) != crc {
            return Err((0, "header checksum mismatch".into()));
        }
        let epoch = String::from_utf8(rest[..epoch_len].to_vec())
            .map_err(|_| (0, "the epoch is not UTF-8".to_owned()))?;
        let header = Header {
            commit_ts: field(0),
            vertices: field(1),
            edges: field(2),
            vertex_gid_bound: field(3),
            edge_gid_bound: field(4),
            epoch,
        };
        Ok((header, all.len() as u64 + 4))
    }
}

/// Indexes and constraints, by the file's name ids.
#[derive(Debug, Default, Encode, Decode)]
struct Schema {
    /// `(label, property)`; no property for a label index.
    indexes: Vec<(u32, Option<u32>)>,
    exists: Vec<(u32, u32)>,
    unique: Vec<(u32, Vec<u32>)>,
}

#[derive(Debug, Encode, Decode)]
struct Trailer {
    vertices: u64,
    edges: u64,
    /// Frames before the trailer's own.
    frames: u64,
}

/// An edge at one of its ends: edge gid, the vertex at the other end, type id.
type End = (u64, u64, u32);

#[derive(Debug, Default, Encode)]
struct VertexRecord {
    gid: u64,
    labels: Vec<u32>,
    props: Vec<(u32, PropertyValue)>,
    out: Vec<End>,
    ins: Vec<End>,
}

#[derive(Debug, Default, Encode)]
struct EdgePropsRecord {
    gid: u64,
    props: Vec<(u32, PropertyValue)>,
}

/// Decodes a vector in the layout the derived `Encode` writes, growing it as elements arrive
/// (a length read from a file never sizes an allocation).
fn decode_vec<D: Decoder, T>(
    decoder: &mut D,
    mut element: impl FnMut(&mut D) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let len = u64::decode(decoder)?;
    let len = usize::try_from(len).map_err(|_| DecodeError::Other("a length beyond usize"))?;
    decoder.claim_container_read::<T>(len)?;
    let mut out = Vec::with_capacity(len.min(16));
    for _ in 0..len {
        decoder.unclaim_bytes_read(std::mem::size_of::<T>());
        out.push(element(decoder)?);
    }
    Ok(out)
}

fn decode_props<D: Decoder>(decoder: &mut D) -> Result<Vec<(u32, PropertyValue)>, DecodeError> {
    decode_vec(decoder, |d| {
        Ok((u32::decode(d)?, PropertyValue::decode(d)?))
    })
}

fn decode_ends<D: Decoder>(decoder: &mut D) -> Result<Vec<End>, DecodeError> {
    decode_vec(decoder, |d| {
        Ok((u64::decode(d)?, u64::decode(d)?, u32::decode(d)?))
    })
}

impl<C> Decode<C> for VertexRecord {
    fn decode<D: Decoder<Context = C>>(decoder: &mut D) -> Result<Self, DecodeError> {
        Ok(VertexRecord {
            gid: u64::decode(decoder)?,
            labels: decode_vec(decoder, |d| u32::decode(d))?,
            props: decode_props(decoder)?,
            out: decode_ends(decoder)?,
            ins: decode_ends(decoder)?,
        })
    }
}

impl<C> Decode<C> for EdgePropsRecord {
    fn decode<D: Decoder<Context = C>>(decoder: &mut D) -> Result<Self, DecodeError> {
        Ok(EdgePropsRecord {
            gid: u64::decode(decoder)?,
            props: decode_props(decoder)?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// Frames chunks into one buffer and writes each when it closes.
struct ChunkWriter {
    file: File,
    path: PathBuf,
    buf: Vec<u8>,
    /// Where the open chunk's frame starts in `buf`, and its tag.
    open: Option<(usize, u8)>,
    bytes: u64,
    frames: u64,
}

impl ChunkWriter {
    fn io(&self) -> impl FnOnce(io::Error) -> DurabilityError + '_ {
        DurabilityError::file(&self.path)
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<(), DurabilityError> {
        self.file.write_all(bytes).map_err(self.io())?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Makes sure a chunk with `tag` is open (closing another one first).
    fn open(&mut self, tag: u8) -> Result<(), DurabilityError> {
        match self.open {
            Some((_, open)) if open == tag => return Ok(()),
            Some(_) => self.close()?,
            None => {}
        }
        let start = begin_frame(&mut self.buf);
        self.buf.push(tag);
        self.open = Some((start, tag));
        Ok(())
    }

    /// Appends one value to the open chunk, closing it once it is large enough.
    fn push<T: Encode>(&mut self, value: &T) -> Result<(), DurabilityError> {
        encode_append(value, &mut self.buf)?;
        if self.buf.len() >= CHUNK_BYTES {
            self.close()?;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), DurabilityError> {
        let Some((start, _)) = self.open.take() else {
            return Ok(());
        };
        seal_frame(&mut self.buf, start)?;
        let buf = std::mem::take(&mut self.buf);
        let written = self.write_raw(&buf);
        self.buf = buf;
        self.buf.clear();
        self.frames += 1;
        written
    }

    /// One complete chunk holding `value` after `tag`.
    fn chunk<T: Encode>(&mut self, tag: u8, value: &T) -> Result<(), DurabilityError> {
        self.close()?;
        self.open(tag)?;
        encode_append(value, &mut self.buf)?;
        self.close()
    }
}

/// Logs progress every [`PROGRESS_EVERY`].
struct Progress {
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new() -> Progress {
        let now = Instant::now();
        Progress {
            started: now,
            last: now,
        }
    }

    fn due(&mut self) -> bool {
        let now = Instant::now();
        if now.duration_since(self.last) >= PROGRESS_EVERY {
            self.last = now;
            true
        } else {
            false
        }
    }
}

/// Writes a snapshot of `storage` into `dir` (created if missing) and returns what it wrote.
///
/// Reads through one transaction, so commits continue meanwhile and the file holds exactly the
/// commits up to the transaction's snapshot timestamp. Leftover `.tmp` files from interrupted
/// writes are deleted first. On failure no new snapshot file is left behind.
pub fn write_snapshot(
    storage: &Arc<Storage>,
    dir: &Path,
    epoch: &str,
) -> Result<SnapshotInfo, DurabilityError> {
    if epoch.len() > MAX_EPOCH_BYTES {
        return Err(DurabilityError::SnapshotWrite {
            dir: dir.to_owned(),
            reason: format!(
                "an epoch of {} bytes (at most {MAX_EPOCH_BYTES})",
                epoch.len()
            ),
        });
    }
    let _turn = DIRECTORY_LOCK.lock();
    fs::create_dir_all(dir).map_err(DurabilityError::file(dir))?;
    remove_leftovers(dir)?;
    let started = Instant::now();
    let tx = storage.begin();
    let commit_ts = tx.snapshot_ts();
    let path = dir.join(file_name(commit_ts));
    let tmp = dir.join(tmp_name(commit_ts));
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(DurabilityError::file(&tmp))?;
    let mut header = Header {
        commit_ts,
        vertices: 0,
        edges: 0,
        vertex_gid_bound: storage.vertex_gid_bound(),
        edge_gid_bound: storage.edge_gid_bound(),
        epoch: epoch.to_owned(),
    };
    let mut out = ChunkWriter {
        file,
        path: tmp.clone(),
        buf: Vec::with_capacity(CHUNK_BYTES + (64 << 10)),
        open: None,
        bytes: 0,
        frames: 0,
    };
    let written = write_body(&tx, &mut out, &mut header).and_then(|()| {
        drop(tx);
        // The counts are known now: the header is rewritten in place (same length).
        out.file.seek(SeekFrom::Start(0)).map_err(out.io())?;
        out.file.write_all(&header.encode()).map_err(out.io())?;
        out.file.sync_all().map_err(out.io())?;
        fs::rename(&tmp, &path).map_err(DurabilityError::file(&path))?;
        sync_dir(dir)
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(match e {
            DurabilityError::RecordTooLarge(n) => DurabilityError::SnapshotWrite {
                dir: dir.to_owned(),
                reason: format!("one object takes {n} bytes, more than a snapshot chunk may hold"),
            },
            e => e,
        });
    }
    let info = SnapshotInfo {
        path,
        commit_ts,
        vertices: header.vertices,
        edges: header.edges,
        bytes: out.bytes,
        epoch: header.epoch,
        elapsed: started.elapsed(),
    };
    info!(
        file = %info.path.display(),
        commit_ts,
        vertices = info.vertices,
        edges = info.edges,
        bytes = info.bytes,
        elapsed_ms = info.elapsed.as_millis() as u64,
        "snapshot written"
    );
    Ok(info)
}

/// Everything after the header: names, schema, vertices, edges, trailer. Fills in the header's
/// counts.
fn write_body(
    tx: &storage::Transaction,
    out: &mut ChunkWriter,
    header: &mut Header,
) -> Result<(), DurabilityError> {
    let storage = tx.storage();
    let dir = out_dir(&out.path);
    let failed = |e: storage::StorageError| DurabilityError::SnapshotWrite {
        dir: dir.clone(),
        reason: format!("reading the graph: {e}"),
    };
    out.write_raw(&header.encode())?;

    // Names: every id a version this transaction sees can use was interned before it began.
    let (labels, edge_types, properties) = storage.name_counts();
    let tables: [(u8, usize, &NameOf); 3] = [
        (NAMES_LABELS, labels, &|i| storage.label_name(LabelId(i))),
        (NAMES_EDGE_TYPES, edge_types, &|i| {
            storage.edge_type_name(EdgeTypeId(i))
        }),
        (NAMES_PROPERTIES, properties, &|i| {
            storage.property_name(PropertyId(i))
        }),
    ];
    for (kind, count, name) in tables {
        let mut id = 0u32;
        while (id as usize) < count {
            out.close()?;
            out.open(TAG_NAMES)?;
            out.push(&kind)?;
            out.push(&id)?;
            // `push` closes a full chunk: a new one starts with its own kind and first id.
            while (id as usize) < count && out.open.is_some() {
                out.push(&name(id).as_ref())?;
                id += 1;
            }
        }
    }

    // Schema. Indexes and constraints are not versioned: these are the current ones.
    let mut schema = Schema::default();
    for index in storage.index_info() {
        schema
            .indexes
            .push((index.label.0, index.property.map(|p| p.0)));
    }
    for constraint in storage.constraint_info() {
        match constraint {
            ConstraintInfo::Exists { label, property } => schema.exists.push((label.0, property.0)),
            ConstraintInfo::Unique { label, properties } => schema
                .unique
                .push((label.0, properties.iter().map(|p| p.0).collect())),
        }
    }
    out.chunk(TAG_SCHEMA, &schema)?;

    let mut progress = Progress::new();
    let mut vertex = VertexRecord::default();
    let ends = |edges: Vec<storage::EdgeRef>, out: bool, into: &mut Vec<End>| {
        into.clear();
        into.extend(
            edges
                .iter()
                .map(|e| (e.gid, if out { e.to } else { e.from }, e.ty.0)),
        );
    };
    for gid in tx.vertices() {
        vertex.gid = gid;
        vertex.labels.clear();
        vertex
            .labels
            .extend(tx.vertex_labels(gid).map_err(failed)?.iter().map(|l| l.0));
        vertex.props = own_ids(tx.vertex_properties(gid).map_err(failed)?);
        let out_edges = tx.out_edges(gid).map_err(failed)?;
        header.edges += out_edges.len() as u64;
        ends(out_edges, true, &mut vertex.out);
        ends(tx.in_edges(gid).map_err(failed)?, false, &mut vertex.ins);
        out.open(TAG_VERTICES)?;
        out.push(&vertex)?;
        header.vertices += 1;
        if progress.due() {
            info!(
                vertices = header.vertices,
                edges = header.edges,
                bytes = out.bytes,
                "writing snapshot"
            );
        }
    }

    // Edge properties, for the edges that have some.
    let mut edge = EdgePropsRecord::default();
    for from in tx.vertices() {
        for e in tx.out_edges(from).map_err(failed)? {
            let props = tx.edge_properties(e.gid).map_err(failed)?;
            if props.is_empty() {
                continue;
            }
            edge.gid = e.gid;
            edge.props = own_ids(props);
            out.open(TAG_EDGE_PROPS)?;
            out.push(&edge)?;
        }
    }

    let frames = out.frames + u64::from(out.open.is_some());
    out.chunk(
        TAG_TRAILER,
        &Trailer {
            vertices: header.vertices,
            edges: header.edges,
            frames,
        },
    )
}

/// The name of one id in one of the storage's name tables.
type NameOf<'a> = dyn Fn(u32) -> Arc<str> + 'a;

fn own_ids(props: Vec<(PropertyId, PropertyValue)>) -> Vec<(u32, PropertyValue)> {
    props.into_iter().map(|(k, v)| (k.0, v)).collect()
}

fn out_dir(file: &Path) -> PathBuf {
    file.parent().map(Path::to_owned).unwrap_or_default()
}

/// Deletes `.snapshot.tmp` files (writes a crash interrupted). Call under [`DIRECTORY_LOCK`].
fn remove_leftovers(dir: &Path) -> Result<(), DurabilityError> {
    for entry in fs::read_dir(dir).map_err(DurabilityError::file(dir))? {
        let entry = entry.map_err(DurabilityError::file(dir))?;
        let name = entry.file_name();
        let leftover = name
            .to_str()
            .and_then(|n| n.strip_suffix(".tmp"))
            .and_then(parse_file_name)
            .is_some();
        if leftover {
            let path = entry.path();
            warn!(file = %path.display(), "deleting an unfinished snapshot left by an earlier write");
            fs::remove_file(&path).map_err(DurabilityError::file(&path))?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// The file's name ids, resolved in the loading storage.
#[derive(Default)]
struct Names {
    labels: Vec<LabelId>,
    edge_types: Vec<EdgeTypeId>,
    properties: Vec<PropertyId>,
}

fn lookup<T: Copy>(table: &[T], id: u32, what: &str) -> Result<T, String> {
    table
        .get(id as usize)
        .copied()
        .ok_or_else(|| format!("{what} id {id}, but the file names only {}", table.len()))
}

/// What went wrong where: a byte offset in the file and the reason.
type AtOffset = (u64, String);

/// Reads frames one at a time, tracking the offset of each.
struct ChunkReader<R> {
    r: R,
    file_len: u64,
    /// Where the next frame starts.
    offset: u64,
    buf: Vec<u8>,
}

impl<R: Read> ChunkReader<R> {
    /// The next frame's payload and the offset it starts at; `None` at the end of the file.
    fn next(&mut self) -> Result<Option<(u64, &[u8])>, AtOffset> {
        let at = self.offset;
        let left = self.file_len.saturating_sub(at);
        if left == 0 {
            return Ok(None);
        }
        let io = |e: io::Error| (at, format!("reading: {e}"));
        self.buf.resize(FRAME_HEADER_BYTES, 0);
        if read_full(&mut self.r, &mut self.buf).map_err(io)? < FRAME_HEADER_BYTES {
            return Err((at, "the file ends inside a frame header (truncated)".into()));
        }
        let payload_len = match check_frame(&self.buf) {
            RawFrame::Incomplete {
                needed: Some(needed),
            } => needed,
            RawFrame::Invalid { reason, .. } => return Err((at, reason)),
            // An empty payload is whole already; the format never writes one.
            RawFrame::Whole { .. } | RawFrame::Incomplete { needed: None } => {
                return Err((at, "an empty frame".into()))
            }
        };
        let len = (FRAME_HEADER_BYTES + payload_len) as u64;
        if len > left {
            return Err((
                at,
                format!("a frame of {len} bytes, but only {left} are left in the file (truncated)"),
            ));
        }
        self.buf.resize(FRAME_HEADER_BYTES + payload_len, 0);
        if read_full(&mut self.r, &mut self.buf[FRAME_HEADER_BYTES..]).map_err(io)? < payload_len {
            return Err((at, "the file ends inside a frame (truncated)".into()));
        }
        self.offset += len;
        match check_frame(&self.buf) {
            RawFrame::Whole { payload, .. } => Ok(Some((at, payload))),
            RawFrame::Invalid { reason, .. } => Err((at, reason)),
            RawFrame::Incomplete { .. } => Err((at, "a frame shorter than it says".into())),
        }
    }
}

/// Decodes values one after another from a chunk's body.
struct Body<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Body<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn next<T: Decode<()>>(&mut self, what: &str) -> Result<T, String> {
        let (value, used) = decode_prefix::<T>(&self.bytes[self.pos..])
            .map_err(|e| format!("a {what} that does not decode: {e}"))?;
        self.pos += used;
        Ok(value)
    }
}

/// Where loading is: the sections come in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Names,
    Schema,
    Vertices,
    EdgeProps,
    Done,
}

/// Loads the snapshot at `path` into `storage`, which must be empty (see [`Storage::restore`]),
/// and returns what it held. On an error the storage holds part of the snapshot: discard it.
pub fn load_snapshot(path: &Path, storage: &Storage) -> Result<SnapshotInfo, DurabilityError> {
    let started = Instant::now();
    let at = |offset: u64, reason: String| DurabilityError::Snapshot {
        path: path.to_owned(),
        offset,
        reason,
    };
    let file = File::open(path).map_err(DurabilityError::file(path))?;
    let file_len = file.metadata().map_err(DurabilityError::file(path))?.len();
    let mut r = BufReader::with_capacity(1 << 20, file);
    let (header, header_len) = Header::read(&mut r).map_err(|(o, reason)| at(o, reason))?;
    check_header(&header, file_len).map_err(|reason| at(0, reason))?;
    let mut restorer = storage
        .restore(header.commit_ts)
        .map_err(|e| at(0, e.to_string()))?;
    restorer
        .reserve_gids(header.vertex_gid_bound, header.edge_gid_bound)
        .map_err(|e| at(0, e.to_string()))?;
    let mut chunks = ChunkReader {
        r,
        file_len,
        offset: header_len,
        buf: Vec::new(),
    };
    let mut load = Load {
        header: &header,
        names: Names::default(),
        phase: Phase::Names,
        vertices: 0,
        edges: 0,
        frames: 0,
        last_vertex: None,
        labels: Vec::new(),
        props: Vec::new(),
        out: Vec::new(),
        ins: Vec::new(),
    };
    let mut progress = Progress::new();
    info!(
        file = %path.display(),
        commit_ts = header.commit_ts,
        vertices = header.vertices,
        edges = header.edges,
        bytes = file_len,
        "loading snapshot"
    );
    loop {
        let (offset, payload) = match chunks.next().map_err(|(o, reason)| at(o, reason))? {
            Some(frame) => frame,
            None if load.phase == Phase::Done => break,
            None => {
                return Err(at(
                    file_len,
                    "the file ends before its trailer (truncated)".into(),
                ))
            }
        };
        load.chunk(payload, &mut restorer)
            .map_err(|reason| at(offset, reason))?;
        if progress.due() {
            info!(
                file = %path.display(),
                phase = ?load.phase,
                vertices = load.vertices,
                of_vertices = header.vertices,
                edges = load.edges,
                of_edges = header.edges,
                bytes = chunks.offset,
                of_bytes = file_len,
                elapsed_ms = progress.started.elapsed().as_millis() as u64,
                "loading snapshot"
            );
        }
    }
    info!(
        file = %path.display(),
        vertices = load.vertices,
        edges = load.edges,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "snapshot data loaded; creating constraints"
    );
    restorer
        .finish()
        .map_err(|e| at(file_len, format!("the restored graph: {e}")))?;
    let info = SnapshotInfo {
        path: path.to_owned(),
        commit_ts: header.commit_ts,
        vertices: load.vertices,
        edges: load.edges,
        bytes: file_len,
        epoch: header.epoch.clone(),
        elapsed: started.elapsed(),
    };
    info!(
        file = %path.display(),
        commit_ts = info.commit_ts,
        vertices = info.vertices,
        edges = info.edges,
        elapsed_ms = info.elapsed.as_millis() as u64,
        "snapshot loaded"
    );
    Ok(info)
}

/// Bounds on what a header may claim, so that nothing sized by it can exhaust memory: counts
/// cannot exceed the bytes of the file (every record takes at least one), and the gid tables
/// the restore allocates must fit in this machine's memory.
fn check_header(header: &Header, file_len: u64) -> Result<(), String> {
    if header.vertices > file_len || header.edges > file_len {
        return Err(format!(
            "the header claims {} vertices and {} edges, more than a file of {file_len} bytes can hold",
            header.vertices, header.edges
        ));
    }
    if header.vertex_gid_bound > GID_LIMIT || header.edge_gid_bound > GID_LIMIT {
        return Err("the header's gid bounds exceed 2^40 - 1".into());
    }
    let tables =
        header.vertex_gid_bound * VERTEX_SLOT_BYTES + header.edge_gid_bound * EDGE_SLOT_BYTES;
    if let Some(memory) = physical_memory() {
        if tables > memory {
            return Err(format!(
                "restoring its gid ranges (vertices below {}, edges below {}) needs {} MiB of \
                 tables, more than this machine's {} MiB of memory",
                header.vertex_gid_bound,
                header.edge_gid_bound,
                tables >> 20,
                memory >> 20
            ));
        }
    }
    Ok(())
}

/// Total physical memory, where the platform says (Linux: `/proc/meminfo`).
fn physical_memory() -> Option<u64> {
    let info = fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The state of one load.
struct Load<'h> {
    header: &'h Header,
    names: Names,
    phase: Phase,
    vertices: u64,
    edges: u64,
    frames: u64,
    last_vertex: Option<Gid>,
    labels: Vec<LabelId>,
    props: Vec<(PropertyId, PropertyValue)>,
    out: Vec<(Gid, Gid, EdgeTypeId)>,
    ins: Vec<(Gid, Gid, EdgeTypeId)>,
}

impl Load<'_> {
    fn enter(&mut self, phase: Phase, what: &str) -> Result<(), String> {
        let repeatable = matches!(phase, Phase::Names | Phase::Vertices | Phase::EdgeProps);
        if self.phase > phase || (self.phase == phase && !repeatable) {
            return Err(format!("a {what} chunk after the {:?} section", self.phase));
        }
        self.phase = phase;
        Ok(())
    }

    fn chunk(&mut self, payload: &[u8], restorer: &mut Restorer<'_>) -> Result<(), String> {
        let Some((&tag, body)) = payload.split_first() else {
            return Err("an empty chunk".into());
        };
        let mut body = Body {
            bytes: body,
            pos: 0,
        };
        match tag {
            TAG_NAMES => {
                self.enter(Phase::Names, "names")?;
                self.names(&mut body, restorer)?
            }
            TAG_SCHEMA => {
                self.enter(Phase::Schema, "schema")?;
                self.schema(&mut body, restorer)?
            }
            TAG_VERTICES => {
                if self.phase < Phase::Schema {
                    return Err("vertices before the schema".into());
                }
                self.enter(Phase::Vertices, "vertices")?;
                while !body.at_end() {
                    self.vertex(body.next("vertex record")?, restorer)?;
                }
            }
            TAG_EDGE_PROPS => {
                if self.phase < Phase::Schema {
                    return Err("edge properties before the schema".into());
                }
                self.enter(Phase::EdgeProps, "edge properties")?;
                while !body.at_end() {
                    self.edge_props(body.next("edge properties record")?, restorer)?;
                }
            }
            TAG_TRAILER => {
                if self.phase < Phase::Schema {
                    return Err("a trailer before the schema".into());
                }
                self.enter(Phase::Done, "trailer")?;
                let trailer: Trailer = body.next("trailer")?;
                let expected = (self.vertices, self.edges, self.frames);
                let found = (trailer.vertices, trailer.edges, trailer.frames);
                if found != expected {
                    return Err(format!(
                        "the trailer counts (vertices, edges, frames) {found:?}, the file holds {expected:?}"
                    ));
                }
                let claimed = (self.header.vertices, self.header.edges);
                if claimed != (self.vertices, self.edges) {
                    return Err(format!(
                        "the header counts (vertices, edges) {claimed:?}, the file holds {:?}",
                        (self.vertices, self.edges)
                    ));
                }
            }
            tag => return Err(format!("a chunk of unknown kind {tag}")),
        }
        if !body.at_end() {
            return Err(format!(
                "{} bytes after the chunk's content",
                body.bytes.len() - body.pos
            ));
        }
        self.frames += 1;
        Ok(())
    }

    fn names(&mut self, body: &mut Body<'_>, restorer: &mut Restorer<'_>) -> Result<(), String> {
        let kind: u8 = body.next("name kind")?;
        let first: u32 = body.next("first name id")?;
        let storage = restorer.storage();
        let have = match kind {
            NAMES_LABELS => self.names.labels.len(),
            NAMES_EDGE_TYPES => self.names.edge_types.len(),
            NAMES_PROPERTIES => self.names.properties.len(),
            kind => return Err(format!("names of unknown kind {kind}")),
        };
        if first as usize != have {
            return Err(format!("names from id {first} where id {have} comes next"));
        }
        while !body.at_end() {
            let name: String = body.next("name")?;
            match kind {
                NAMES_LABELS => self.names.labels.push(storage.label(&name)),
                NAMES_EDGE_TYPES => self.names.edge_types.push(storage.edge_type(&name)),
                _ => self.names.properties.push(storage.property(&name)),
            }
        }
        Ok(())
    }

    fn schema(&mut self, body: &mut Body<'_>, restorer: &mut Restorer<'_>) -> Result<(), String> {
        let schema: Schema = body.next("schema")?;
        let names = &self.names;
        let label = |id| lookup(&names.labels, id, "label");
        let property = |id| lookup(&names.properties, id, "property key");
        for (l, p) in schema.indexes {
            let p = p.map(property).transpose()?;
            restorer
                .create_index(label(l)?, p)
                .map_err(|e| format!("creating an index: {e}"))?;
        }
        for (l, p) in schema.exists {
            restorer.create_constraint(ConstraintInfo::Exists {
                label: label(l)?,
                property: property(p)?,
            });
        }
        for (l, ps) in schema.unique {
            let properties = ps.into_iter().map(property).collect::<Result<_, _>>()?;
            restorer.create_constraint(ConstraintInfo::Unique {
                label: label(l)?,
                properties,
            });
        }
        Ok(())
    }

    fn props(&mut self, props: Vec<(u32, PropertyValue)>) -> Result<(), String> {
        self.props.clear();
        for (key, value) in props {
            let key = lookup(&self.names.properties, key, "property key")?;
            self.props.push((key, value));
        }
        Ok(())
    }

    /// Resolves the ends of one adjacency list into `into`, checking them against the header.
    fn ends(&self, ends: &[End], into: &mut Vec<(Gid, Gid, EdgeTypeId)>) -> Result<(), String> {
        into.clear();
        for &(edge, other, ty) in ends {
            if edge >= self.header.edge_gid_bound || other >= self.header.vertex_gid_bound {
                return Err(format!(
                    "edge {edge} to or from vertex {other} is beyond the header's bounds"
                ));
            }
            into.push((
                edge,
                other,
                lookup(&self.names.edge_types, ty, "edge type")?,
            ));
        }
        Ok(())
    }

    fn vertex(&mut self, v: VertexRecord, restorer: &mut Restorer<'_>) -> Result<(), String> {
        if v.gid >= self.header.vertex_gid_bound {
            return Err(format!(
                "vertex {} is beyond the header's bound {}",
                v.gid, self.header.vertex_gid_bound
            ));
        }
        if self.last_vertex.is_some_and(|last| v.gid <= last) {
            return Err(format!(
                "vertex {} after vertex {:?}",
                v.gid, self.last_vertex
            ));
        }
        self.last_vertex = Some(v.gid);
        self.labels.clear();
        for label in &v.labels {
            self.labels
                .push(lookup(&self.names.labels, *label, "label")?);
        }
        self.props(v.props)?;
        let (mut out, mut ins) = (std::mem::take(&mut self.out), std::mem::take(&mut self.ins));
        let resolved = self
            .ends(&v.out, &mut out)
            .and_then(|()| self.ends(&v.ins, &mut ins));
        let created = resolved.and_then(|()| {
            restorer
                .create_vertex_with_edges(v.gid, &self.labels, &self.props, &out, &ins)
                .map_err(|e| e.to_string())
        });
        (self.out, self.ins) = (out, ins);
        created?;
        self.vertices += 1;
        self.edges += v.out.len() as u64;
        Ok(())
    }

    fn edge_props(
        &mut self,
        e: EdgePropsRecord,
        restorer: &mut Restorer<'_>,
    ) -> Result<(), String> {
        self.props(e.props)?;
        restorer
            .set_edge_properties(e.gid, &self.props)
            .map_err(|e| e.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// The directory
// ---------------------------------------------------------------------------------------------

/// The snapshots in `dir`, newest first (`.tmp` leftovers are not snapshots). A missing
/// directory has none.
pub fn list_snapshots(dir: &Path) -> Result<Vec<(u64, PathBuf)>, DurabilityError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(DurabilityError::file(dir)(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(DurabilityError::file(dir))?;
        if let Some(ts) = entry.file_name().to_str().and_then(parse_file_name) {
            found.push((ts, entry.path()));
        }
    }
    found.sort_unstable_by(|a, b| b.cmp(a));
    Ok(found)
}

/// Loads the newest snapshot in `dir` that loads, each attempt into a fresh storage from
/// `new_storage`; a damaged one is logged and the next older one tried. `Ok(None)` if there is
/// no snapshot; [`DurabilityError::NoValidSnapshot`] if there are some and none loads.
///
/// The WAL must then be replayed from the returned snapshot's timestamp: falling back to an
/// older snapshot needs the WAL records after *its* timestamp.
pub fn newest_valid_snapshot(
    dir: &Path,
    mut new_storage: impl FnMut() -> Arc<Storage>,
) -> Result<Option<(Arc<Storage>, SnapshotInfo)>, DurabilityError> {
    let found = list_snapshots(dir)?;
    let count = found.len();
    let mut newest_error = None;
    for (i, (_, path)) in found.into_iter().enumerate() {
        let storage = new_storage();
        match load_snapshot(&path, &storage) {
            Ok(info) => {
                if i > 0 {
                    warn!(
                        file = %path.display(),
                        commit_ts = info.commit_ts,
                        skipped = i,
                        "recovered from an older snapshot because newer ones are damaged"
                    );
                }
                return Ok(Some((storage, info)));
            }
            Err(e) => {
                warn!(file = %path.display(), "snapshot cannot be loaded: {e}");
                newest_error.get_or_insert(e);
            }
        }
    }
    match newest_error {
        None => Ok(None),
        Some(newest) => Err(DurabilityError::NoValidSnapshot {
            dir: dir.to_owned(),
            count,
            newest: Box::new(newest),
        }),
    }
}

/// Deletes all but the newest `keep` snapshots in `dir` (at least one is always kept); returns
/// the deleted files.
pub fn apply_retention(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, DurabilityError> {
    let _turn = DIRECTORY_LOCK.lock();
    let mut deleted = Vec::new();
    for (ts, path) in list_snapshots(dir)?.into_iter().skip(keep.max(1)) {
        fs::remove_file(&path).map_err(DurabilityError::file(&path))?;
        info!(file = %path.display(), commit_ts = ts, "deleted an old snapshot (retention)");
        deleted.push(path);
    }
    if !deleted.is_empty() {
        sync_dir(dir)?;
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_sort_and_parse() {
        assert_eq!(file_name(42), "00000000000000000042.snapshot");
        assert_eq!(parse_file_name(&file_name(42)), Some(42));
        assert_eq!(parse_file_name(&file_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_file_name(&tmp_name(42)), None);
        assert_eq!(parse_file_name("42.snapshot"), None);
        assert_eq!(parse_file_name("0000000000000000004x.snapshot"), None);
        assert!(file_name(9) < file_name(10));
    }

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let header = Header {
            commit_ts: 7,
            vertices: 3,
            edges: 4,
            vertex_gid_bound: 10,
            edge_gid_bound: 11,
            epoch: "e".into(),
        };
        let bytes = header.encode();
        let (read, len) = Header::read(&mut &bytes[..]).unwrap();
        assert_eq!((read, len), (header, bytes.len() as u64));
        for cut in 0..bytes.len() {
            assert!(Header::read(&mut &bytes[..cut]).is_err(), "cut at {cut}");
        }
        for byte in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[byte] ^= 0x10;
            assert!(Header::read(&mut &bad[..]).is_err(), "flip in byte {byte}");
        }
    }

    #[test]
    fn records_round_trip_and_lengths_do_not_size_allocations() {
        let v = VertexRecord {
            gid: 5,
            labels: vec![0, 3],
            props: vec![(1, PropertyValue::List(vec![1i64.into(), "x".into()]))],
            out: vec![(7, 5, 0), (9, 1, 2)],
            ins: vec![(7, 5, 0)],
        };
        let mut buf = Vec::new();
        encode_append(&v, &mut buf).unwrap();
        let (back, used): (VertexRecord, usize) = decode_prefix(&buf).unwrap();
        assert_eq!(used, buf.len());
        assert_eq!((back.gid, back.labels), (5, vec![0, 3]));
        assert_eq!((back.props, back.out, back.ins), (v.props, v.out, v.ins));
        // A label count of 2^60 with nothing behind it fails without allocating for it.
        let mut huge = Vec::new();
        encode_append(&(1u64, 1u64 << 60), &mut huge).unwrap();
        assert!(decode_prefix::<VertexRecord>(&huge).is_err());
    }
}
