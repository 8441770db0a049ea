//! Vertices and edges as stored: newest data plus delta chain, behind one mutex per object.
//!
//! Objects live in append-only tables indexed by gid (see `storage.rs`), so they are never moved
//! or freed while the storage lives: a deleted object stays as a tombstone whose contents GC
//! drops once no transaction can see it.
//!
//! Lock order (no deadlocks): vertices in ascending gid, then edges. No operation holds two edge
//! locks at once.

use parking_lot::Mutex;

use crate::mvcc::{Action, Chain, View};
use crate::value::PropertyStore;
use crate::{EdgeTypeId, Gid, LabelId, ObjectRef, StorageError};

/// One adjacency entry: the edge, the vertex at its other end, its type.
///
/// Packed to 20 bytes: there are two per edge (one at each end), so with millions of edges every
/// byte here is megabytes. Fields are read by value through the accessors.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(C, packed(4))]
pub(crate) struct AdjEntry {
    edge: Gid,
    other: Gid,
    ty: u32,
}

impl AdjEntry {
    pub(crate) fn new(edge: Gid, other: Gid, ty: EdgeTypeId) -> AdjEntry {
        AdjEntry {
            edge,
            other,
            ty: ty.0,
        }
    }

    pub(crate) fn edge(self) -> Gid {
        self.edge
    }

    pub(crate) fn other(self) -> Gid {
        self.other
    }

    pub(crate) fn ty(self) -> EdgeTypeId {
        EdgeTypeId(self.ty)
    }
}

/// Inserts `entry` into a list kept sorted by edge gid (new edges have the highest gid, so this
/// is usually a push).
pub(crate) fn adj_insert(list: &mut Vec<AdjEntry>, entry: AdjEntry) {
    match list.last() {
        Some(last) if last.edge() > entry.edge() => {
            let index = list.partition_point(|e| e.edge() < entry.edge());
            debug_assert!(list.get(index).is_none_or(|e| e.edge() != entry.edge()));
            list.insert(index, entry);
        }
        _ => list.push(entry),
    }
}

/// Removes the entry of `edge` from a sorted list.
pub(crate) fn adj_remove(list: &mut Vec<AdjEntry>, edge: Gid) -> Option<AdjEntry> {
    let index = list.binary_search_by_key(&edge, |e| e.edge()).ok()?;
    Some(list.remove(index))
}

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
    match object.chain().head() {
        Some(head) if !view.sees(&head.cell) => {
            Err(StorageError::SerializationConflict { object: object_ref })
        }
        _ => Ok(()),
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
    /// Sorted by id.
    pub(crate) labels: Vec<LabelId>,
    pub(crate) props: PropertyStore,
    /// Outgoing edges, sorted by edge gid; `other` is the target.
    pub(crate) out_edges: Vec<AdjEntry>,
    /// Incoming edges, sorted by edge gid; `other` is the source.
    pub(crate) in_edges: Vec<AdjEntry>,
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

    pub(crate) fn new(chain: Chain) -> Vertex {
        Vertex {
            data: Mutex::new(VertexData {
                chain,
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
                if let Err(index) = self.labels.binary_search(&label) {
                    self.labels.insert(index, label);
                }
            }
            Action::RemoveLabel(label) => self.labels.retain(|l| *l != label),
            Action::SetProperty(key, value) => {
                self.props.set(key, value);
            }
            Action::AddOutEdge(entry) => adj_insert(&mut self.out_edges, entry),
            Action::RemoveOutEdge(entry) => {
                adj_remove(&mut self.out_edges, entry.edge());
            }
            Action::AddInEdge(entry) => adj_insert(&mut self.in_edges, entry),
            Action::RemoveInEdge(entry) => {
                adj_remove(&mut self.in_edges, entry.edge());
            }
        }
    }

    /// Drops the contents of a deleted vertex nobody can see any more (GC).
    pub(crate) fn free_contents(&mut self) {
        debug_assert!(self.deleted && self.chain.is_empty());
        self.labels = Vec::new();
        self.props.clear();
        self.out_edges = Vec::new();
        self.in_edges = Vec::new();
    }
}

/// An edge slot in the edge table.
pub(crate) struct Edge {
    pub(crate) data: Mutex<EdgeData>,
}

pub(crate) struct EdgeData {
    pub(crate) deleted: bool,
    /// Endpoints and type never change once the edge exists.
    pub(crate) ty: EdgeTypeId,
    pub(crate) from: Gid,
    pub(crate) to: Gid,
    pub(crate) props: PropertyStore,
    pub(crate) chain: Chain,
}

impl Edge {
    /// A slot that holds no edge (a gap filled by replay).
    pub(crate) fn placeholder() -> Edge {
        Edge::new(EdgeTypeId(0), 0, 0, Chain::default(), true)
    }

    pub(crate) fn new(ty: EdgeTypeId, from: Gid, to: Gid, chain: Chain, deleted: bool) -> Edge {
        let props = PropertyStore::default();
        Edge {
            data: Mutex::new(EdgeData {
                deleted,
                ty,
                from,
                to,
                props,
                chain,
            }),
        }
    }
}

impl Versioned for EdgeData {
    fn deleted(&self) -> bool {
        self.deleted
    }

    fn chain(&self) -> &Chain {
        &self.chain
    }
}

impl EdgeData {
    /// Applies one undo action to the newest data (abort).
    pub(crate) fn undo(&mut self, action: Action) {
        match action {
            Action::Delete => self.deleted = true,
            Action::Recreate => self.deleted = false,
            Action::SetProperty(key, value) => {
                self.props.set(key, value);
            }
            other => debug_assert!(false, "vertex-only undo action {other:?} on an edge"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjacency_entries_are_small() {
        assert_eq!(std::mem::size_of::<AdjEntry>(), 20);
    }

    #[test]
    fn adjacency_stays_sorted_by_edge_gid() {
        let ty = EdgeTypeId(1);
        let mut list = Vec::new();
        for edge in [5, 9, 2, 7] {
            adj_insert(&mut list, AdjEntry::new(edge, 100 + edge, ty));
        }
        let gids: Vec<_> = list.iter().map(|e| e.edge()).collect();
        assert_eq!(gids, [2, 5, 7, 9]);
        assert_eq!(adj_remove(&mut list, 7).map(|e| e.other()), Some(107));
        assert_eq!(adj_remove(&mut list, 7), None);
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].ty(), ty);
    }
}
