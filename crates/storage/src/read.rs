//! Read operations: lock one object, start from its newest data, and undo only the deltas the
//! reader cannot see (usually none: the walk stops at the first visible delta), looking only at
//! the actions that matter for what is being read.

use std::sync::Arc;

use crate::mvcc::{Action, Chain, View};
use crate::object::{adj_insert, adj_remove, require_visible, visibility, Visibility};
use crate::value::{set_in_sorted, PropertyStore};
use crate::{EdgeRef, Gid, LabelId, ObjectRef, PropertyId, PropertyValue, Storage, StorageError};

impl Storage {
    pub(crate) fn vertex_exists(&self, view: View, v: Gid) -> bool {
        self.vertex_slot(v)
            .is_some_and(|slot| visibility(&*slot.data.lock(), view) == Visibility::Visible)
    }

    pub(crate) fn vertex_labels(&self, view: View, v: Gid) -> Result<Vec<LabelId>, StorageError> {
        let data = self
            .vertex_slot(v)
            .ok_or(StorageError::VertexNotFound(v))?
            .data
            .lock();
        require_visible(&*data, view, ObjectRef::Vertex(v))?;
        let mut labels = data.labels.clone();
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
            .data
            .lock();
        require_visible(&*data, view, ObjectRef::Vertex(v))?;
        Ok(has_label(&data.labels, &data.chain, view, label))
    }

    /// Runs `read` on the properties and chain of a visible vertex or edge.
    fn read_props<R>(
        &self,
        view: View,
        object: ObjectRef,
        read: impl FnOnce(&PropertyStore, &Chain) -> R,
    ) -> Result<R, StorageError> {
        match object {
            ObjectRef::Vertex(gid) => {
                let data = self
                    .vertex_slot(gid)
                    .ok_or(StorageError::VertexNotFound(gid))?
                    .data
                    .lock();
                require_visible(&*data, view, object)?;
                Ok(read(&data.props, &data.chain))
            }
            ObjectRef::Edge(gid) => {
                let data = self
                    .edge_slot(gid)
                    .ok_or(StorageError::EdgeNotFound(gid))?
                    .data
                    .lock();
                require_visible(&*data, view, object)?;
                Ok(read(&data.props, &data.chain))
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
            let mut value = props.get(key);
            for action in chain.invisible_to(view) {
                if let Action::SetProperty(k, old) = action {
                    if *k == key {
                        value = Some(old);
                    }
                }
            }
            value.cloned().unwrap_or_default()
        })
    }

    pub(crate) fn read_properties(
        &self,
        view: View,
        object: ObjectRef,
    ) -> Result<Vec<(PropertyId, PropertyValue)>, StorageError> {
        self.read_props(view, object, |props, chain| {
            let mut pairs = props.pairs().to_vec();
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
            .data
            .lock();
        require_visible(&*data, view, ObjectRef::Vertex(v))?;
        let mut entries = if out {
            data.out_edges.clone()
        } else {
            data.in_edges.clone()
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
        let data = self.edge_slot(e)?.data.lock();
        (visibility(&*data, view) == Visibility::Visible).then_some(EdgeRef {
            gid: e,
            from: data.from,
            to: data.to,
            ty: data.ty,
        })
    }

    /// Whether `v` is visible (and has `label`, if given): the scan predicate.
    fn vertex_matches(&self, view: View, v: Gid, label: Option<LabelId>) -> bool {
        let Some(slot) = self.vertex_slot(v) else {
            return false;
        };
        let data = slot.data.lock();
        visibility(&*data, view) == Visibility::Visible
            && label.is_none_or(|label| has_label(&data.labels, &data.chain, view, label))
    }
}

/// Whether the version `view` sees has `label`.
fn has_label(labels: &[LabelId], chain: &Chain, view: View, label: LabelId) -> bool {
    let mut has = labels.binary_search(&label).is_ok();
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
    storage: Arc<Storage>,
    view: View,
    label: Option<LabelId>,
    next: Gid,
    end: Gid,
}

impl VertexIter {
    pub(crate) fn new(storage: Arc<Storage>, view: View, label: Option<LabelId>) -> VertexIter {
        let end = storage.vertex_gid_bound();
        VertexIter {
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
