//! Read operations: lock one object, start from its newest data, and undo only the deltas the
//! reader cannot see (usually none: the walk stops at the first visible delta), looking only at
//! the actions that matter for what is being read.

use std::sync::Arc;

use crate::adjacency::{adj_insert, adj_remove, AdjEntry};
use crate::attrs::Attrs;
use crate::index::LabelIndexIter;
use crate::mvcc::{Action, Chain, View};
use crate::object::{out_edge_visibility, require_visible, visibility, EdgeVisibility, Visibility};
use crate::value::set_in_sorted;
use crate::write::require_edge_visible;
use crate::{EdgeRef, Gid, LabelId, ObjectRef, PropertyId, PropertyValue, Storage, StorageError};

impl Storage {
    pub(crate) fn vertex_exists(&self, view: View, v: Gid) -> bool {
        self.vertex_slot(v)
            .is_some_and(|slot| visibility(&*slot.read(), view) == Visibility::Visible)
    }

    pub(crate) fn vertex_labels(&self, view: View, v: Gid) -> Result<Vec<LabelId>, StorageError> {
        let data = self
            .vertex_slot(v)
            .ok_or(StorageError::VertexNotFound(v))?
            .read();
        require_visible(&*data, view, ObjectRef::Vertex(v))?;
        let mut labels = data.attrs.label_vec();
        for action in data.chain.invisible_to(view) {
            match action {
                Action::AddLabel(label) => {
                    if let Err(index) = labels.binary_search(label) {
                        labels.insert(index, *label);
                    }
                }
                Action::RemoveLabel(label) => labels.retain(|l| l != label),
                _ => {}
            }
        }
        Ok(labels)
    }

    pub(crate) fn vertex_has_label(
        &self,
        view: View,
        v: Gid,
        label: LabelId,
    ) -> Result<bool, StorageError> {
        let data = self
            .vertex_slot(v)
            .ok_or(StorageError::VertexNotFound(v))?
            .read();
        require_visible(&*data, view, ObjectRef::Vertex(v))?;
        Ok(has_label(&data.attrs, &data.chain, view, label))
    }

    /// Runs `read` on the properties and chain of a visible vertex or edge.
    fn read_props<R>(
        &self,
        view: View,
        object: ObjectRef,
        read: impl FnOnce(&Attrs, &Chain) -> R,
    ) -> Result<R, StorageError> {
        match object {
            ObjectRef::Vertex(gid) => {
                let data = self
                    .vertex_slot(gid)
                    .ok_or(StorageError::VertexNotFound(gid))?
                    .read();
                require_visible(&*data, view, object)?;
                Ok(read(&data.attrs, &data.chain))
            }
            ObjectRef::Edge(gid) => {
                let source = self
                    .edges
                    .source(gid)
                    .ok_or(StorageError::EdgeNotFound(gid))?;
                {
                    let vertex = self
                        .vertex_slot(source)
                        .ok_or(StorageError::EdgeNotFound(gid))?
                        .read();
                    require_edge_visible(&vertex, gid, view)?;
                }
                // Released before the shard: the entry cannot go away while the edge is visible
                // to a running transaction (GC drops it only once no snapshot sees the edge).
                let shard = self.edge_props.shard(gid);
                Ok(match shard.get(&gid) {
                    Some(data) => read(&data.props, &data.chain),
                    None => read(&Attrs::default(), &Chain::default()),
                })
            }
        }
    }

    pub(crate) fn read_property(
        &self,
        view: View,
        object: ObjectRef,
        key: PropertyId,
    ) -> Result<PropertyValue, StorageError> {
        self.read_props(view, object, |props, chain| {
            // Only the oldest invisible change of `key` matters; clone just that one value.
            let mut old = None;
            for action in chain.invisible_to(view) {
                if let Action::SetProperty(k, value) = action {
                    if *k == key {
                        old = Some(value);
                    }
                }
            }
            match old {
                Some(value) => value.clone(),
                None => props.get(key).unwrap_or_default(),
            }
        })
    }

    pub(crate) fn read_properties(
        &self,
        view: View,
        object: ObjectRef,
    ) -> Result<Vec<(PropertyId, PropertyValue)>, StorageError> {
        self.read_props(view, object, |props, chain| {
            let mut pairs = props.pairs();
            for action in chain.invisible_to(view) {
                if let Action::SetProperty(key, old) = action {
                    set_in_sorted(&mut pairs, *key, old.clone());
                }
            }
            pairs
        })
    }

    /// The outgoing (`out`) or incoming edges of `v`, ascending by edge gid.
    pub(crate) fn adjacent_edges(
        &self,
        view: View,
        v: Gid,
        out: bool,
    ) -> Result<Vec<EdgeRef>, StorageError> {
        let data = self
            .vertex_slot(v)
            .ok_or(StorageError::VertexNotFound(v))?
            .read();
        require_visible(&*data, view, ObjectRef::Vertex(v))?;
        let mut entries: Vec<AdjEntry> = if out {
            data.adj.out().to_vec()
        } else {
            data.adj.ins().collect()
        };
        for action in data.chain.invisible_to(view) {
            match (action, out) {
                (Action::AddOutEdge(entry), true) | (Action::AddInEdge(entry), false) => {
                    adj_insert(&mut entries, *entry)
                }
                (Action::RemoveOutEdge(entry), true) | (Action::RemoveInEdge(entry), false) => {
                    adj_remove(&mut entries, entry.edge());
                }
                _ => {}
            }
        }
        Ok(entries
            .into_iter()
            .map(|entry| {
                let (from, to) = if out {
                    (v, entry.other())
                } else {
                    (entry.other(), v)
                };
                EdgeRef {
                    gid: entry.edge(),
                    from,
                    to,
                    ty: entry.ty(),
                }
            })
            .collect())
    }

    pub(crate) fn edge_ref(&self, view: View, e: Gid) -> Option<EdgeRef> {
        let from = self.edges.source(e)?;
        let data = self.vertex_slot(from)?.read();
        match out_edge_visibility(&data, e, view) {
            EdgeVisibility::Visible(entry) => Some(EdgeRef {
                gid: e,
                from,
                to: entry.other(),
                ty: entry.ty(),
            }),
            EdgeVisibility::Missing | EdgeVisibility::DeletedByMe => None,
        }
    }

    /// Whether `v` is visible (and has `label`, if given): the scan predicate.
    fn vertex_matches(&self, view: View, v: Gid, label: Option<LabelId>) -> bool {
        let Some(slot) = self.vertex_slot(v) else {
            return false;
        };
        let data = slot.read();
        visibility(&*data, view) == Visibility::Visible
            && label.is_none_or(|label| has_label(&data.attrs, &data.chain, view, label))
    }
}

/// Whether the version `view` sees has `label`.
pub(crate) fn has_label(attrs: &Attrs, chain: &Chain, view: View, label: LabelId) -> bool {
    let mut has = attrs.has_label(label);
    for action in chain.invisible_to(view) {
        match action {
            Action::AddLabel(l) if *l == label => has = true,
            Action::RemoveLabel(l) if *l == label => has = false,
            _ => {}
        }
    }
    has
}

/// The visible vertex gids of one transaction, ascending (see
/// [`Transaction::vertices`](crate::Transaction::vertices) for what it covers).
pub struct VertexIter {
    /// Set when a ready label index serves the scan.
    indexed: Option<LabelIndexIter>,
    storage: Arc<Storage>,
    view: View,
    label: Option<LabelId>,
    next: Gid,
    end: Gid,
}

impl VertexIter {
    pub(crate) fn new(storage: Arc<Storage>, view: View, label: Option<LabelId>) -> VertexIter {
        let end = storage.vertex_gid_bound();
        let indexed = label
            .and_then(|l| storage.indexes.ready_label(l))
            .map(|index| LabelIndexIter::new(storage.clone(), view, index, end));
        VertexIter {
            indexed,
            storage,
            view,
            label,
            next: 0,
            end,
        }
    }
}

impl Iterator for VertexIter {
    type Item = Gid;

    fn next(&mut self) -> Option<Gid> {
        if let Some(indexed) = &mut self.indexed {
            return indexed.next();
        }
        while self.next < self.end {
            let gid = self.next;
            self.next += 1;
            if self.storage.vertex_matches(self.view, gid, self.label) {
                return Some(gid);
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, usize::try_from(self.end - self.next).ok())
    }
}

impl std::fmt::Debug for VertexIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VertexIter")
            .field("label", &self.label)
            .field("next", &self.next)
            .field("end", &self.end)
            .finish()
    }
}
