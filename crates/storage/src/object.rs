//! Vertices as stored: newest data plus delta chain, behind one mutex per vertex; adjacency
//! entries, which are also all there is of an edge (see `edge.rs`).
//!
//! Vertices live in an append-only table indexed by gid (see `storage.rs`), so they are never
//! moved or freed while the storage lives: a deleted vertex stays as a tombstone whose contents
//! GC drops once no transaction can see it.
//!
//! Lock order (no deadlocks): vertices in ascending gid, then one edge-property shard. No
//! operation holds two shard locks at once.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

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

/// gid -> [`Vertex`]: an append-only table of fixed-size chunks, each filled with placeholders
/// (deleted, no deltas: invisible to everyone) when allocated, so a slot is 64 bytes with no
/// per-entry flag (`boxcar`'s entries carried one more word) and references stay valid for the
/// storage's life. Lock-free reads.
#[derive(Default)]
pub(crate) struct VertexTable {
    chunks: boxcar::Vec<Box<[Vertex]>>,
    /// Serialises appending chunks.
    grow: parking_lot::Mutex<()>,
    /// One past the highest gid ever allocated or placed.
    bound: AtomicU64,
}

impl VertexTable {
    /// Allocates the next gid; its slot holds a placeholder until the caller fills it in.
    pub(crate) fn allocate(&self) -> (Gid, &Vertex) {
        let gid = self.bound.fetch_add(1, Ordering::AcqRel);
        (gid, self.slot_or_grow(gid))
    }

    /// The slot of `gid` (replay), created with everything below it if need be.
    pub(crate) fn place(&self, gid: Gid) -> &Vertex {
        let slot = self.slot_or_grow(gid);
        self.bound.fetch_max(gid + 1, Ordering::AcqRel);
        slot
    }

    pub(crate) fn get(&self, gid: Gid) -> Option<&Vertex> {
        let chunk = self
            .chunks
            .get(usize::try_from(gid >> VERTEX_CHUNK_BITS).ok()?)?;
        Some(&chunk[(gid & VERTEX_CHUNK_MASK) as usize])
    }

    /// The slots of the gids in `gids` that exist, ascending, each chunk looked up once.
    pub(crate) fn slots(&self, gids: Range<Gid>) -> impl Iterator<Item = (Gid, &Vertex)> + '_ {
        let mut next = gids.start;
        let end = gids.end;
        let mut chunk: &[Vertex] = &[];
        let mut chunk_start = 0;
        std::iter::from_fn(move || {
            if next >= end {
                return None;
            }
            let offset = next.wrapping_sub(chunk_start);
            if offset >= chunk.len() as u64 {
                let index = usize::try_from(next >> VERTEX_CHUNK_BITS).ok()?;
                chunk = &**self.chunks.get(index)?;
                chunk_start = next & !VERTEX_CHUNK_MASK;
            }
            let gid = next;
            next += 1;
            Some((gid, &chunk[(gid - chunk_start) as usize]))
        })
    }

    /// One past the highest gid ever handed out.
    pub(crate) fn bound(&self) -> Gid {
        self.bound.load(Ordering::Acquire)
    }

    fn slot_or_grow(&self, gid: Gid) -> &Vertex {
        if let Some(slot) = self.get(gid) {
            return slot;
        }
        let chunk =
            usize::try_from(gid >> VERTEX_CHUNK_BITS).expect("gid beyond the address space");
        {
            let _grow = self.grow.lock();
            // Chunks are only pushed under `grow`, so `count` is exact here.
            while self.chunks.count() <= chunk {
                self.chunks.push(
                    (0..=VERTEX_CHUNK_MASK)
                        .map(|_| Vertex::placeholder())
                        .collect(),
                );
            }
        }
        self.get(gid).expect("chunk just allocated")
    }
}

/// A vertex slot in the vertex table.
#[derive(Default)]
pub(crate) struct Vertex {
    pub(crate) data: Mutex<VertexData>,
}

#[derive(Default)]
pub(crate) struct VertexData {
    pub(crate) deleted: bool,
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
                ..VertexData::default()
            }),
        }
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
            Action::Delete => self.deleted = true,
            Action::Recreate => self.deleted = false,
            Action::AddLabel(label) => {
                self.attrs.add_label(label);
            }
            Action::RemoveLabel(label) => {
                self.attrs.remove_label(label);
            }
            Action::SetProperty(key, value) => {
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
    fn vertex_table_allocates_and_places() {
        let table = VertexTable::default();
        assert!(table.get(0).is_none());
        assert_eq!(table.allocate().0, 0);
        let far = 2 * (VERTEX_CHUNK_MASK + 1) + 3;
        assert!(table.place(far).data.lock().deleted, "a placeholder");
        assert_eq!(table.bound(), far + 1);
        assert!(table.get(far - 1).is_some_and(|v| v.data.lock().deleted));
        assert!(table.get(3 * (VERTEX_CHUNK_MASK + 1)).is_none());
        assert_eq!(table.allocate().0, far + 1);
    }
}
