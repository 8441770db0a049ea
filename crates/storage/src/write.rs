//! Write operations. Each one locks the objects it changes (vertices by ascending gid, then an
//! edge's property shard), checks that the transaction may change them (`check_writable`: visible, and no newer
//! version by someone else), changes the newest data in place, links an undo delta per change,
//! and appends a redo op.

use std::sync::atomic::Ordering;

use crate::object::VertexWrite;

use crate::adjacency::{AdjEntry, EDGE_TYPE_LIMIT, GID_LIMIT};
use crate::attrs::Attrs;
use crate::mvcc::{Action, Chain, View};
use crate::object::{check_head, check_writable, out_edge_visibility, EdgeVisibility, VertexData};
use crate::record::Op;
use crate::transaction::TxnState;
use crate::{DeleteOutcome, EdgeTypeId, Gid, LabelId, ObjectRef, PropertyId, PropertyValue};
use crate::{Storage, StorageError};

/// The one or two vertex locks an edge operation needs, taken in ascending gid order.
struct VertexPair<'a> {
    first: VertexWrite<'a>,
    /// `None` for a self-loop (`from == to`).
    second: Option<VertexWrite<'a>>,
    from_is_first: bool,
}

impl<'a> VertexPair<'a> {
    /// Locks `from` and `to` and checks that `view`'s transaction may change both, `from` first
    /// (so the error names the first endpoint that fails).
    fn lock_writable(
        storage: &'a Storage,
        view: View,
        from: Gid,
        to: Gid,
    ) -> Result<VertexPair<'a>, StorageError> {
        let from_slot = storage
            .vertex_slot(from)
            .ok_or(StorageError::VertexNotFound(from))?;
        let Some(to_slot) = storage.vertex_slot(to) else {
            check_writable(&*from_slot.read(), view, ObjectRef::Vertex(from))?;
            return Err(StorageError::VertexNotFound(to));
        };
        let mut pair = if from == to {
            VertexPair {
                first: from_slot.write(),
                second: None,
                from_is_first: true,
            }
        } else {
            let from_is_first = from < to;
            let (low, high) = if from_is_first {
                (from_slot, to_slot)
            } else {
                (to_slot, from_slot)
            };
            let first = low.write();
            VertexPair {
                first,
                second: Some(high.write()),
                from_is_first,
            }
        };
        check_writable(pair.from(), view, ObjectRef::Vertex(from))?;
        check_writable(pair.to(), view, ObjectRef::Vertex(to))?;
        Ok(pair)
    }

    fn from(&mut self) -> &mut VertexData {
        match &mut self.second {
            Some(second) if !self.from_is_first => second,
            _ => &mut self.first,
        }
    }

    fn to(&mut self) -> &mut VertexData {
        match &mut self.second {
            Some(second) if self.from_is_first => second,
            _ => &mut self.first,
        }
    }
}

/// Whether `tx` created the vertex whose chain this is: then its label and property changes
/// need no undo deltas. Nobody else can see the vertex before `tx` commits (its creation delta
/// hides it), no snapshot taken before the commit can see it afterwards, and an abort deletes it
/// whatever its labels and properties are (rollback then frees them). Without this a load of
/// a million nodes in one transaction (LOAD CSV) kept four undo deltas per node until commit.
fn created_here(chain: &Chain, tx: &TxnState) -> bool {
    // Bounded: a vertex with many changes in one transaction just keeps its deltas.
    chain.created_by(tx.view, 8)
}

impl Storage {
    pub(crate) fn create_vertex(&self, tx: &mut TxnState) -> Gid {
        let (gid, slot) = self.vertices.allocate();
        {
            let mut data = slot.write();
            debug_assert!(data.deleted && data.chain.is_empty(), "fresh slot");
            data.deleted = false;
            data.chain.push(tx.cell.clone(), Action::Delete);
        }
        self.note_vertex_created(tx, gid);
        gid
    }

    /// Creates vertex `gid` exactly (replay). The slot must be free: never used, or an aborted
    /// creation.
    pub(crate) fn create_vertex_at(&self, tx: &mut TxnState, gid: Gid) -> Result<(), StorageError> {
        let in_use = || invalid(format!("vertex gid {gid} is already in use"));
        if gid >= GID_LIMIT {
            return Err(invalid(format!("vertex gid {gid} is not below 2^40 - 1")));
        }
        {
            let mut data = self.vertices.place(gid).write();
            if !data.deleted || !data.chain.is_empty() {
                return Err(in_use());
            }
            data.free_contents();
            data.deleted = false;
            data.chain.push(tx.cell.clone(), Action::Delete);
        }
        self.note_vertex_created(tx, gid);
        Ok(())
    }

    fn note_vertex_created(&self, tx: &mut TxnState, gid: Gid) {
        self.live_deltas.fetch_add(1, Ordering::Relaxed);
        tx.touched.push(ObjectRef::Vertex(gid));
        tx.ops.push(Op::CreateVertex(gid));
        tx.stats.vertices_created += 1;
    }

    /// Creates an edge; with `at`, exactly that gid (replay).
    ///
    /// No edge object is made: the edge is its two adjacency entries (their undo deltas on the
    /// endpoints version its existence) and its slot in the edge table.
    pub(crate) fn create_edge(
        &self,
        tx: &mut TxnState,
        from: Gid,
        to: Gid,
        ty: EdgeTypeId,
        at: Option<Gid>,
    ) -> Result<Gid, StorageError> {
        if ty.0 >= EDGE_TYPE_LIMIT {
            return Err(StorageError::Limit(format!(
                "cannot create a relationship of type {}: a storage holds at most {EDGE_TYPE_LIMIT} relationship types",
                self.edge_type_name(ty)
            )));
        }
        let mut pair = VertexPair::lock_writable(self, tx.view, from, to)?;
        let gid = match at {
            None => self.edges.push(from),
            Some(gid) if gid < GID_LIMIT && self.edges.place(gid, from) => gid,
            Some(gid) => return Err(invalid(format!("edge gid {gid} is already in use"))),
        };

        let out = AdjEntry::new(gid, to, ty);
        let source = pair.from();
        source.adj.insert_out(out);
        tx.record_delta(
            self,
            &mut source.chain,
            ObjectRef::Vertex(from),
            Action::RemoveOutEdge(out),
        );
        let incoming = AdjEntry::new(gid, from, ty);
        let target = pair.to();
        target.adj.insert_in(incoming);
        tx.record_delta(
            self,
            &mut target.chain,
            ObjectRef::Vertex(to),
            Action::RemoveInEdge(incoming),
        );

        tx.ops.push(Op::CreateEdge { gid, from, to, ty });
        tx.stats.edges_created += 1;
        Ok(gid)
    }

    /// Adds (`add`) or removes a label; `Ok(false)` if there was nothing to do.
    pub(crate) fn set_label(
        &self,
        tx: &mut TxnState,
        v: Gid,
        label: LabelId,
        add: bool,
    ) -> Result<bool, StorageError> {
        let mut data = self
            .vertex_slot(v)
            .ok_or(StorageError::VertexNotFound(v))?
            .write();
        check_writable(&*data, tx.view, ObjectRef::Vertex(v))?;
        let object = ObjectRef::Vertex(v);
        if add && data.attrs.add_label(label) {
            if !created_here(&data.chain, tx) {
                tx.record_delta(self, &mut data.chain, object, Action::RemoveLabel(label));
            }
            self.indexes.on_label_added(v, label, &data);
            tx.ops.push(Op::AddLabel(v, label));
            tx.stats.labels_added += 1;
            Ok(true)
        } else if !add && data.attrs.remove_label(label) {
            data.index_exact = false;
            if !created_here(&data.chain, tx) {
                tx.record_delta(self, &mut data.chain, object, Action::AddLabel(label));
            }
            self.indexes.note_stale();
            tx.ops.push(Op::RemoveLabel(v, label));
            tx.stats.labels_removed += 1;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Sets a vertex or edge property; returns the old value. Writing the value already there
    /// counts in the stats but records no change.
    pub(crate) fn set_property(
        &self,
        tx: &mut TxnState,
        object: ObjectRef,
        key: PropertyId,
        value: PropertyValue,
    ) -> Result<PropertyValue, StorageError> {
        match object {
            ObjectRef::Vertex(gid) => {
                let slot = self
                    .vertex_slot(gid)
                    .ok_or(StorageError::VertexNotFound(gid))?;
                let mut data = slot.write();
                check_writable(&*data, tx.view, object)?;
                let VertexData { attrs, chain, .. } = &mut *data;
                let old = self.set_property_locked(tx, attrs, chain, object, key, value);
                if !old.is_null() {
                    // The old value's entry stays behind until swept.
                    data.index_exact = false;
                }
                self.indexes
                    .on_property_set(gid, key, &data, !old.is_null());
                Ok(old)
            }
            ObjectRef::Edge(gid) => {
                let not_found = StorageError::EdgeNotFound(gid);
                let source = self.edges.source(gid).ok_or(not_found.clone())?;
                // The source's lock is held throughout: it orders this write against deletes.
                let vertex = self.vertex_slot(source).ok_or(not_found)?.read();
                require_edge_visible(&vertex, gid, tx.view)?;
                if vertex.adj.find_out(gid).is_none() {
                    // Visible to us but gone from the newest version: someone else deleted it.
                    return Err(StorageError::SerializationConflict { object });
                }
                let mut shard = self.edge_props.shard(gid);
                let data = shard.entry(gid).or_default();
                check_head(&data.chain, tx.view, object)?;
                let old = self.set_property_locked(
                    tx,
                    &mut data.props,
                    &mut data.chain,
                    object,
                    key,
                    value,
                );
                if data.removable() {
                    shard.remove(&gid);
                }
                Ok(old)
            }
        }
    }

    fn set_property_locked(
        &self,
        tx: &mut TxnState,
        props: &mut Attrs,
        chain: &mut Chain,
        object: ObjectRef,
        key: PropertyId,
        value: PropertyValue,
    ) -> PropertyValue {
        tx.stats.properties_set += 1;
        if props.holds(key, &value) {
            return value;
        }
        tx.ops.push(match object {
            ObjectRef::Vertex(gid) => Op::SetVertexProperty(gid, key, value.clone()),
            ObjectRef::Edge(gid) => Op::SetEdgeProperty(gid, key, value.clone()),
        });
        let old = props.set(key, value);
        if !(matches!(object, ObjectRef::Vertex(_)) && created_here(chain, tx)) {
            tx.record_delta(self, chain, object, Action::SetProperty(key, old.clone()));
        }
        old
    }

    /// Deletes a vertex, first its edges if `detach`.
    pub(crate) fn delete_vertex(
        &self,
        tx: &mut TxnState,
        v: Gid,
        detach: bool,
    ) -> Result<DeleteOutcome, StorageError> {
        let slot = self.vertex_slot(v).ok_or(StorageError::VertexNotFound(v))?;
        let mut outcome = DeleteOutcome::default();
        loop {
            let incident = {
                let mut data = slot.write();
                match check_writable(&*data, tx.view, ObjectRef::Vertex(v)) {
                    Err(StorageError::DeletedObject { .. }) => return Ok(outcome),
                    result => result?,
                }
                if data.adj.is_empty() {
                    data.deleted = true;
                    // Its entries stay behind until swept; replay may reuse the slot.
                    data.index_exact = false;
                    self.indexes.note_stale();
                    tx.record_delta(
                        self,
                        &mut data.chain,
                        ObjectRef::Vertex(v),
                        Action::Recreate,
                    );
                    tx.ops.push(Op::DeleteVertex(v));
                    tx.stats.vertices_deleted += 1;
                    outcome.deleted = true;
                    outcome.edges_deleted.sort_unstable();
                    return Ok(outcome);
                }
                if !detach {
                    return Err(StorageError::VertexHasEdges(v));
                }
                let mut incident: Vec<Gid> = data
                    .adj
                    .out()
                    .iter()
                    .copied()
                    .chain(data.adj.ins())
                    .map(|e| e.edge())
                    .collect();
                incident.sort_unstable();
                incident.dedup();
                incident
            };
            // The vertex lock is released here: deleting an edge locks both endpoints in gid
            // order. Once the first edge is gone our delta heads the vertex's chain, so nobody
            // else can attach a new edge before the loop comes back.
            let before = outcome.edges_deleted.len();
            for e in incident {
                if self.delete_edge(tx, e)? {
                    outcome.edges_deleted.push(e);
                }
            }
            assert!(
                outcome.edges_deleted.len() > before,
                "adjacency of {v} lists deleted edges"
            );
        }
    }

    /// Deletes an edge; `Ok(false)` if this transaction already deleted it.
    pub(crate) fn delete_edge(&self, tx: &mut TxnState, e: Gid) -> Result<bool, StorageError> {
        let from = self.edges.source(e).ok_or(StorageError::EdgeNotFound(e))?;
        // The target first, from the source alone (the lock order is ascending gids).
        let to = {
            let source = self
                .vertex_slot(from)
                .ok_or(StorageError::EdgeNotFound(e))?
                .read();
            match out_edge_visibility(&source, e, tx.view) {
                EdgeVisibility::Visible(entry) => entry.other(),
                EdgeVisibility::Missing => return Err(StorageError::EdgeNotFound(e)),
                EdgeVisibility::DeletedByMe => return Ok(false),
            }
        };
        // Writable endpoints: their newest data is our version, which lists the edge (a delete
        // by someone else since the look above left a delta we do not see, so this fails).
        let mut pair = VertexPair::lock_writable(self, tx.view, from, to)?;
        let mut shard = self.edge_props.shard(e);
        let mut props = shard.get_mut(&e);
        if let Some(data) = &props {
            check_head(&data.chain, tx.view, ObjectRef::Edge(e))?;
        }

        let source = pair.from();
        let out = source.adj.remove_out(e);
        let out = out.expect("visible edge missing at its source");
        tx.record_delta(
            self,
            &mut source.chain,
            ObjectRef::Vertex(from),
            Action::AddOutEdge(out),
        );
        let target = pair.to();
        let incoming = target.adj.remove_in(e);
        let incoming = incoming.expect("visible edge missing at its target");
        tx.record_delta(
            self,
            &mut target.chain,
            ObjectRef::Vertex(to),
            Action::AddInEdge(incoming),
        );
        if let Some(data) = &mut props {
            // Marks the properties for GC, and makes a racing property write conflict here too.
            data.deleted = true;
            tx.record_delta(self, &mut data.chain, ObjectRef::Edge(e), Action::Recreate);
        }

        tx.ops.push(Op::DeleteEdge(e));
        tx.stats.edges_deleted += 1;
        Ok(true)
    }
}

/// Fails unless edge `e`, leaving the vertex whose data is `source`, is visible to `view`.
pub(crate) fn require_edge_visible(
    source: &VertexData,
    e: Gid,
    view: View,
) -> Result<AdjEntry, StorageError> {
    match out_edge_visibility(source, e, view) {
        EdgeVisibility::Visible(entry) => Ok(entry),
        EdgeVisibility::Missing => Err(StorageError::EdgeNotFound(e)),
        EdgeVisibility::DeletedByMe => Err(StorageError::DeletedObject {
            object: ObjectRef::Edge(e),
        }),
    }
}

/// A replay error; `apply_record` fills in the record's timestamp.
pub(crate) fn invalid(reason: String) -> StorageError {
    StorageError::InvalidRecord {
        commit_ts: 0,
        reason,
    }
}
