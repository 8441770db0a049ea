//! Vertices as stored: newest data plus delta chain, behind one mutex per vertex; adjacency
//! entries, which are also all there is of an edge (see `edge.rs`).
//!
//! Vertices live in an append-only table indexed by gid (see `storage.rs`), so they are never
//! moved or freed while the storage lives: a deleted vertex stays as a tombstone whose contents
//! GC drops once no transaction can see it.
//!
//! Lock order (no deadlocks): vertices in ascending gid, then one edge-property shard. No
//! operation holds two shard locks at once.
//!
//! **Scan gates.** Every chunk of 4,096 vertex slots has a [`ScanGate`]. A writer passes its
//! chunk's gate before it locks a vertex to change it ([`Slot::write`]), and leaves it after
//! unlocking. A scan that finds no writer inside a chunk closes the gate to writers for a run of
//! [`SCAN_RUN`] slots and reads them without their mutexes (one pair of atomic operations per
//! run instead of one lock and unlock per vertex: the lock's fences were a third of a full
//! scan's time); a scan that finds a writer inside locks each vertex as before, so neither side
//! starves. Writers wait for at most one run of a scan (a few microseconds); scanners never
//! wait. Readers that lock a vertex ([`Vertex::read`]) need no gate: they only read.

use std::ops::{Deref, DerefMut, Range};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, MutexGuard};

use crate::adjacency::{AdjEntry, Adjacency};
use crate::attrs::Attrs;
use crate::mvcc::{Action, Chain, View};
use crate::{Gid, ObjectRef, StorageError};

/// What every versioned object offers to the visibility checks.
pub(crate) trait Versioned {
    /// Whether the newest version is deleted.
    fn deleted(&self) -> bool;
    fn chain(&self) -> &Chain;
}

/// How an object looks to one transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Visibility {
    Visible,
    /// Never existed, or deleted before the snapshot, or created by someone it cannot see.
    Missing,
    /// Deleted by the viewing transaction itself.
    DeletedByMe,
}

pub(crate) fn visibility<T: Versioned>(object: &T, view: View) -> Visibility {
    let mut deleted = object.deleted();
    for action in object.chain().invisible_to(view) {
        match action {
            Action::Delete => deleted = true,
            Action::Recreate => deleted = false,
            _ => {}
        }
    }
    if !deleted {
        Visibility::Visible
    } else if object.chain().head_owned_by(view) {
        // Only the owner can have put a delta on top of a version it sees as deleted.
        Visibility::DeletedByMe
    } else {
        Visibility::Missing
    }
}

/// Turns a non-visible result into the error a read or write reports.
pub(crate) fn require_visible<T: Versioned>(
    object: &T,
    view: View,
    object_ref: ObjectRef,
) -> Result<(), StorageError> {
    match visibility(object, view) {
        Visibility::Visible => Ok(()),
        Visibility::Missing => Err(StorageError::not_found(object_ref)),
        Visibility::DeletedByMe => Err(StorageError::DeletedObject { object: object_ref }),
    }
}

/// Checks that `view`'s transaction may change `object`: it must exist in its view, and its newest
/// version must be one the transaction sees (else another writer got there first).
///
/// On `Ok` the newest data *is* the transaction's version, so writers work on it directly.
pub(crate) fn check_writable<T: Versioned>(
    object: &T,
    view: View,
    object_ref: ObjectRef,
) -> Result<(), StorageError> {
    require_visible(object, view, object_ref)?;
    check_head(object.chain(), view, object_ref)
}

/// Fails with a serialization conflict unless `view` sees the newest delta of `chain` (so the
/// newest data is its own version).
pub(crate) fn check_head(
    chain: &Chain,
    view: View,
    object_ref: ObjectRef,
) -> Result<(), StorageError> {
    match chain.head() {
        Some(head) if !view.sees(&head.cell) => {
            Err(StorageError::SerializationConflict { object: object_ref })
        }
        _ => Ok(()),
    }
}

/// Vertex slots per chunk of the vertex table (256 KiB).
const VERTEX_CHUNK_BITS: u32 = 12;
const VERTEX_CHUNK_MASK: u64 = (1 << VERTEX_CHUNK_BITS) - 1;

/// Slots a scan reads per passage through a chunk's gate: bounds how long a writer waits.
pub(crate) const SCAN_RUN: usize = 256;

/// Writers and scanners of one chunk, in one word: the low 32 bits count scans reading the
/// chunk without locks, the high 32 bits count writers inside it (see the module doc).
#[derive(Default)]
pub(crate) struct ScanGate(AtomicU64);

const GATE_WRITER: u64 = 1 << 32;
const GATE_SCANNERS: u64 = GATE_WRITER - 1;

impl ScanGate {
    /// Lets a scan in unless a writer is inside (or waiting); never waits.
    fn try_enter_scan(&self) -> bool {
        let mut gate = self.0.load(Ordering::Relaxed);
        loop {
            if gate >= GATE_WRITER || gate & GATE_SCANNERS == GATE_SCANNERS {
                return false;
            }
            // Acquire: the changes of every writer that left before are visible to the scan.
            match self
                .0
                .compare_exchange_weak(gate, gate + 1, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => gate = now,
            }
        }
    }

    fn leave_scan(&self) {
        // Release: the scan's reads happen before the next writer's changes.
        self.0.fetch_sub(1, Ordering::Release);
    }

    /// Enters as a writer: from now on no scan enters, and this waits until the scans inside
    /// (each within one run of [`SCAN_RUN`] slots) have left.
    fn enter_write(&self) {
        let before = self.0.fetch_add(GATE_WRITER, Ordering::Acquire);
        if before & GATE_SCANNERS == 0 {
            return;
        }
        let mut spins = 0u32;
        while self.0.load(Ordering::Acquire) & GATE_SCANNERS != 0 {
            if spins < 64 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }

    fn leave_write(&self) {
        self.0.fetch_sub(GATE_WRITER, Ordering::Release);
    }
}

/// One chunk of the vertex table.
struct VertexChunk {
    gate: ScanGate,
    slots: Box<[Vertex]>,
}

/// gid -> [`Vertex`]: an append-only table of fixed-size chunks, each filled with placeholders
/// (deleted, no deltas: invisible to everyone) when allocated, so a slot is 64 bytes with no
/// per-entry flag (`boxcar`'s entries carried one more word) and references stay valid for the
/// storage's life. Lock-free reads.
#[derive(Default)]
pub(crate) struct VertexTable {
    chunks: boxcar::Vec<VertexChunk>,
    /// Serialises appending chunks.
    grow: parking_lot::Mutex<()>,
    /// One past the highest gid ever allocated or placed.
    bound: AtomicU64,
}

impl VertexTable {
    /// Allocates the next gid; its slot holds a placeholder until the caller fills it in.
    pub(crate) fn allocate(&self) -> (Gid, Slot<'_>) {
        let gid = self.bound.fetch_add(1, Ordering::AcqRel);
        (gid, self.slot_or_grow(gid))
    }

    /// The slot of `gid` (replay), created with everything below it if need be.
    pub(crate) fn place(&self, gid: Gid) -> Slot<'_> {
        let slot = self.slot_or_grow(gid);
        self.bound.fetch_max(gid + 1, Ordering::AcqRel);
        slot
    }

    pub(crate) fn get(&self, gid: Gid) -> Option<Slot<'_>> {
        let chunk = self
            .chunks
            .get(usize::try_from(gid >> VERTEX_CHUNK_BITS).ok()?)?;
        Some(Slot {
            vertex: &chunk.slots[(gid & VERTEX_CHUNK_MASK) as usize],
            gate: &chunk.gate,
        })
    }

    /// Calls `run` for the runs of at most [`SCAN_RUN`] slots covering the gids in `gids` that
    /// exist, ascending: with the first gid of the run, its slots, and whether the run may be
    /// read without the vertices' mutexes (the chunk's gate is held for it). Stops at `Break`.
    pub(crate) fn scan_runs<B>(
        &self,
        gids: Range<Gid>,
        mut run: impl FnMut(Gid, &[Vertex], bool) -> std::ops::ControlFlow<B>,
    ) -> std::ops::ControlFlow<B> {
        /// Leaves the gate however the run ends (a break or a panic in the visitor).
        struct Inside<'a>(&'a ScanGate);
        impl Drop for Inside<'_> {
            fn drop(&mut self) {
                self.0.leave_scan();
            }
        }
        let mut next = gids.start;
        while next < gids.end {
            let Some(chunk) = usize::try_from(next >> VERTEX_CHUNK_BITS)
                .ok()
                .and_then(|index| self.chunks.get(index))
            else {
                break;
            };
            let chunk_start = next & !VERTEX_CHUNK_MASK;
            let from = (next - chunk_start) as usize;
            let to = (gids.end - chunk_start).min(chunk.slots.len() as u64) as usize;
            let to = to.min(from + SCAN_RUN);
            let slots = &chunk.slots[from..to];
            if chunk.gate.try_enter_scan() {
                let _inside = Inside(&chunk.gate);
                run(next, slots, true)?;
            } else {
                run(next, slots, false)?;
            }
            next = chunk_start + to as u64;
        }
        std::ops::ControlFlow::Continue(())
    }

    /// One past the highest gid ever handed out.
    pub(crate) fn bound(&self) -> Gid {
        self.bound.load(Ordering::Acquire)
    }

    fn slot_or_grow(&self, gid: Gid) -> Slot<'_> {
        if let Some(slot) = self.get(gid) {
            return slot;
        }
        let chunk =
            usize::try_from(gid >> VERTEX_CHUNK_BITS).expect("gid beyond the address space");
        {
            let _grow = self.grow.lock();
            // Chunks are only pushed under `grow`, so `count` is exact here.
            while self.chunks.count() <= chunk {
                self.chunks.push(VertexChunk {
                    gate: ScanGate::default(),
                    slots: (0..=VERTEX_CHUNK_MASK)
                        .map(|_| Vertex::placeholder())
                        .collect(),
                });
            }
        }
        self.get(gid).expect("chunk just allocated")
    }
}

/// A vertex slot with its chunk's gate: how a vertex is locked, to read or to change it.
#[derive(Clone, Copy)]
pub(crate) struct Slot<'a> {
    vertex: &'a Vertex,
    gate: &'a ScanGate,
}

impl<'a> Slot<'a> {
    /// Locks the vertex to read it.
    pub(crate) fn read(self) -> VertexRead<'a> {
        self.vertex.read()
    }

    /// Passes the chunk's gate and locks the vertex to change it.
    pub(crate) fn write(self) -> VertexWrite<'a> {
        self.gate.enter_write();
        VertexWrite {
            guard: std::mem::ManuallyDrop::new(self.vertex.data.lock()),
            gate: self.gate,
        }
    }
}

/// A vertex locked for reading.
pub(crate) struct VertexRead<'a>(MutexGuard<'a, VertexData>);

impl Deref for VertexRead<'_> {
    type Target = VertexData;

    fn deref(&self) -> &VertexData {
        &self.0
    }
}

/// A vertex locked for changing, inside its chunk's gate.
pub(crate) struct VertexWrite<'a> {
    guard: std::mem::ManuallyDrop<MutexGuard<'a, VertexData>>,
    gate: &'a ScanGate,
}

impl Deref for VertexWrite<'_> {
    type Target = VertexData;

    fn deref(&self) -> &VertexData {
        &self.guard
    }
}

impl DerefMut for VertexWrite<'_> {
    fn deref_mut(&mut self) -> &mut VertexData {
        &mut self.guard
    }
}

impl Drop for VertexWrite<'_> {
    fn drop(&mut self) {
        // Unlock first, then leave the gate: a scan let in afterwards sees the change.
        // SAFETY: `guard` is dropped exactly once, here.
        unsafe { std::mem::ManuallyDrop::drop(&mut self.guard) };
        self.gate.leave_write();
    }
}

/// A vertex slot in the vertex table. Its data is changed only through [`Slot::write`], which
/// is what lets a gated scan read it without the mutex.
#[derive(Default)]
pub(crate) struct Vertex {
    data: Mutex<VertexData>,
}

#[derive(Default)]
pub(crate) struct VertexData {
    pub(crate) deleted: bool,
    /// No label+property index entry of this vertex can be stale: since the vertex was created
    /// (or restored from a snapshot) no label came off it and no property value was replaced
    /// or removed, not even by a transaction that aborted. Every entry then names a label the
    /// vertex has and the value it holds, so an index seek that finds the vertex visible with
    /// no versions to undo need not read its attributes again. A slot that never held a vertex
    /// starts `true`; a deleted vertex or an undone creation makes it `false` for good (replay
    /// may create a vertex in such a slot again), and so does anything else in doubt.
    pub(crate) index_exact: bool,
    /// Labels and properties, encoded.
    pub(crate) attrs: Attrs,
    /// Outgoing and incoming edges.
    pub(crate) adj: Adjacency,
    pub(crate) chain: Chain,
}

impl Vertex {
    /// A slot that holds no vertex (a gap filled by replay, before the vertex arrives).
    pub(crate) fn placeholder() -> Vertex {
        Vertex {
            data: Mutex::new(VertexData {
                deleted: true,
                // Never held a vertex: no index has an entry for it.
                index_exact: true,
                ..VertexData::default()
            }),
        }
    }

    /// Locks the vertex to read it.
    pub(crate) fn read(&self) -> VertexRead<'_> {
        VertexRead(self.data.lock())
    }

    /// The data without the mutex, for a scan run that holds its chunk's gate.
    ///
    /// # Safety
    /// The caller is inside the gate of this slot's chunk ([`VertexTable::scan_runs`] said the
    /// run may be read unlocked) for as long as it uses the reference: no writer changes the
    /// data meanwhile, and everything written before it entered is visible.
    pub(crate) unsafe fn data_unlocked(&self) -> &VertexData {
        // SAFETY: by the caller's contract no `VertexWrite` of this slot exists meanwhile, and
        // the data is only ever changed through one.
        unsafe { &*self.data.data_ptr() }
    }
}

impl Versioned for VertexData {
    fn deleted(&self) -> bool {
        self.deleted
    }

    fn chain(&self) -> &Chain {
        &self.chain
    }
}

impl VertexData {
    /// Applies one undo action to the newest data (abort).
    pub(crate) fn undo(&mut self, action: Action) {
        match action {
            Action::Delete => {
                // Undoes a creation: the entries of what it held stay behind until swept, and
                // replay may create a vertex in this slot again.
                self.deleted = true;
                self.index_exact = false;
            }
            Action::Recreate => self.deleted = false,
            Action::AddLabel(label) => {
                self.attrs.add_label(label);
            }
            Action::RemoveLabel(label) => {
                // Undoes an added label: its entries stay behind until swept.
                self.index_exact = false;
                self.attrs.remove_label(label);
            }
            Action::SetProperty(key, value) => {
                // Undoes a set value: its entry stays behind until swept.
                self.index_exact = false;
                self.attrs.set(key, value);
            }
            Action::AddOutEdge(entry) => self.adj.insert_out(entry),
            Action::RemoveOutEdge(entry) => {
                self.adj.remove_out(entry.edge());
            }
            Action::AddInEdge(entry) => self.adj.insert_in(entry),
            Action::RemoveInEdge(entry) => {
                self.adj.remove_in(entry.edge());
            }
        }
    }

    /// Drops the contents of a deleted vertex nobody can see any more (GC).
    pub(crate) fn free_contents(&mut self) {
        debug_assert!(self.deleted && self.chain.is_empty());
        self.attrs.clear();
        self.adj = Adjacency::default();
    }
}

/// How an edge looks to one transaction, judged from its source vertex's adjacency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EdgeVisibility {
    /// The edge's entry in its source's outgoing list.
    Visible(AdjEntry),
    /// Never existed, or deleted before the snapshot, or created by someone it cannot see.
    Missing,
    /// Deleted by the viewing transaction itself.
    DeletedByMe,
}

/// How edge `e`, leaving the vertex whose data is `source`, looks to `view`.
pub(crate) fn out_edge_visibility(source: &VertexData, e: Gid, view: View) -> EdgeVisibility {
    let mut entry = source.adj.find_out(e);
    for action in source.chain.invisible_to(view) {
        match action {
            Action::AddOutEdge(x) if x.edge() == e => entry = Some(*x),
            Action::RemoveOutEdge(x) if x.edge() == e => entry = None,
            _ => {}
        }
    }
    let deleted_by_me = || {
        source
            .chain
            .owned_by(view)
            .any(|action| matches!(action, Action::AddOutEdge(x) if x.edge() == e))
    };
    match entry {
        Some(entry) => EdgeVisibility::Visible(entry),
        None if deleted_by_me() => EdgeVisibility::DeletedByMe,
        None => EdgeVisibility::Missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vertex_slots_are_small() {
        // Mutex byte (padded) + deleted flag (padded) + attrs 16 + adjacency 24 + chain 8.
        assert_eq!(std::mem::size_of::<VertexData>(), 56);
        assert_eq!(std::mem::size_of::<Vertex>(), 64);
    }

    #[test]
    fn a_scan_gate_lets_scans_in_only_while_no_writer_is_inside_or_waiting() {
        let gate = std::sync::Arc::new(ScanGate::default());
        assert!(gate.try_enter_scan());
        assert!(gate.try_enter_scan(), "scans share the gate");
        // A writer announces itself at once, then waits for both scans to leave.
        let writer = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                gate.enter_write();
                let inside = gate.0.load(Ordering::Acquire);
                gate.leave_write();
                inside
            })
        };
        while gate.0.load(Ordering::Acquire) < GATE_WRITER {
            std::thread::yield_now();
        }
        assert!(
            !gate.try_enter_scan(),
            "a waiting writer keeps new scans out"
        );
        gate.leave_scan();
        gate.leave_scan();
        assert_eq!(
            writer.join().unwrap(),
            GATE_WRITER,
            "the writer was alone inside"
        );
        assert!(gate.try_enter_scan(), "open again once the writer left");
        gate.leave_scan();
        assert_eq!(gate.0.load(Ordering::Acquire), 0);
    }

    #[test]
    fn vertex_table_allocates_and_places() {
        let table = VertexTable::default();
        assert!(table.get(0).is_none());
        assert_eq!(table.allocate().0, 0);
        let far = 2 * (VERTEX_CHUNK_MASK + 1) + 3;
        assert!(table.place(far).read().deleted, "a placeholder");
        assert_eq!(table.bound(), far + 1);
        assert!(table.get(far - 1).is_some_and(|v| v.read().deleted));
        assert!(table.get(3 * (VERTEX_CHUNK_MASK + 1)).is_none());
        assert_eq!(table.allocate().0, far + 1);
    }
}
