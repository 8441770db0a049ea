//! Write operations. Each one locks the objects it changes (vertices by ascending gid, then the
//! edge), checks that the transaction may change them (`check_writable`: visible, and no newer
//! version by someone else), changes the newest data in place, links an undo delta per change,
//! and appends a redo op.

use std::sync::atomic::Ordering;

use parking_lot::MutexGuard;

use crate::mvcc::{Action, Chain, View};
use crate::object::{
    adj_insert, adj_remove, check_writable, require_visible, AdjEntry, Edge, Vertex, VertexData,
};
use crate::record::Op;
use crate::storage::{push_object, push_object_at};
use crate::transaction::TxnState;
use crate::value::PropertyStore;
use crate::{DeleteOutcome, EdgeTypeId, Gid, LabelId, ObjectRef, PropertyId, PropertyValue};
use crate::{Storage, StorageError};

/// The one or two vertex locks an edge operation needs, taken in ascending gid order.
struct VertexPair<'a> {
    first: MutexGuard<'a, VertexData>,
    /// `None` for a self-loop (`from == to`).
    second: Option<MutexGuard<'a, VertexData>>,
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
            check_writable(&*from_slot.data.lock(), view, ObjectRef::Vertex(from))?;
            return Err(StorageError::VertexNotFound(to));
        };
        let mut pair = if from == to {
            VertexPair {
                first: from_slot.data.lock(),
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
            let first = low.data.lock();
            VertexPair {
                first,
                second: Some(high.data.lock()),
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

impl Storage {
    pub(crate) fn create_vertex(&self, tx: &mut TxnState) -> Gid {
        let vertex = Vertex::new(Chain::with(tx.cell.clone(), Action::Delete));
        let gid = push_object(&self.vertices, &self.vertex_bound, vertex);
        self.note_vertex_created(tx, gid);
        gid
    }

    /// Creates vertex `gid` exactly (replay). The slot must be free: beyond the table, or a
    /// placeholder / aborted creation.
    pub(crate) fn create_vertex_at(&self, tx: &mut TxnState, gid: Gid) -> Result<(), StorageError> {
        let in_use = || invalid(format!("vertex gid {gid} is already in use"));
        let cell = tx.cell.clone();
        let make = || Vertex::new(Chain::with(cell, Action::Delete));
        match push_object_at(
            &self.vertices,
            &self.vertex_bound,
            gid,
            make,
            Vertex::placeholder,
        ) {
            Ok(true) => {}
            Ok(false) => {
                let mut data = self.vertex_slot(gid).ok_or_else(in_use)?.data.lock();
                if !data.deleted || !data.chain.is_empty() {
                    return Err(in_use());
                }
                data.free_contents();
                data.deleted = false;
                data.chain.push(tx.cell.clone(), Action::Delete);
            }
            Err(()) => return Err(in_use()),
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
    pub(crate) fn create_edge(
        &self,
        tx: &mut TxnState,
        from: Gid,
        to: Gid,
        ty: EdgeTypeId,
        at: Option<Gid>,
    ) -> Result<Gid, StorageError> {
        let mut pair = VertexPair::lock_writable(self, tx.view, from, to)?;
        let gid = match at {
            None => {
                let chain = Chain::with(tx.cell.clone(), Action::Delete);
                push_object(
                    &self.edges,
                    &self.edge_bound,
                    Edge::new(ty, from, to, chain, false),
                )
            }
            Some(gid) => self.place_edge_at(tx, gid, from, to, ty)?,
        };
        self.live_deltas.fetch_add(1, Ordering::Relaxed);
        tx.touched.push(ObjectRef::Edge(gid));

        let out = AdjEntry::new(gid, to, ty);
        let source = pair.from();
        adj_insert(&mut source.out_edges, out);
        tx.record_delta(
            self,
            &mut source.chain,
            ObjectRef::Vertex(from),
            Action::RemoveOutEdge(out),
        );
        let incoming = AdjEntry::new(gid, from, ty);
        let target = pair.to();
        adj_insert(&mut target.in_edges, incoming);
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

    /// Puts a new edge in slot `gid` (replay); like [`Storage::create_vertex_at`].
    fn place_edge_at(
        &self,
        tx: &TxnState,
        gid: Gid,
        from: Gid,
        to: Gid,
        ty: EdgeTypeId,
    ) -> Result<Gid, StorageError> {
        let in_use = || invalid(format!("edge gid {gid} is already in use"));
        let cell = tx.cell.clone();
        let make = || Edge::new(ty, from, to, Chain::with(cell, Action::Delete), false);
        match push_object_at(&self.edges, &self.edge_bound, gid, make, Edge::placeholder) {
            Ok(true) => Ok(gid),
            Ok(false) => {
                let mut data = self.edge_slot(gid).ok_or_else(in_use)?.data.lock();
                if !data.deleted || !data.chain.is_empty() {
                    return Err(in_use());
                }
                data.props.clear();
                (data.deleted, data.ty, data.from, data.to) = (false, ty, from, to);
                data.chain.push(tx.cell.clone(), Action::Delete);
                Ok(gid)
            }
            Err(()) => Err(in_use()),
        }
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
            .data
            .lock();
        check_writable(&*data, tx.view, ObjectRef::Vertex(v))?;
        let object = ObjectRef::Vertex(v);
        match (add, data.labels.binary_search(&label)) {
            (true, Err(index)) => {
                data.labels.insert(index, label);
                tx.record_delta(self, &mut data.chain, object, Action::RemoveLabel(label));
                tx.ops.push(Op::AddLabel(v, label));
                tx.stats.labels_added += 1;
                Ok(true)
            }
            (false, Ok(index)) => {
                data.labels.remove(index);
                tx.record_delta(self, &mut data.chain, object, Action::AddLabel(label));
                tx.ops.push(Op::RemoveLabel(v, label));
                tx.stats.labels_removed += 1;
                Ok(true)
            }
            _ => Ok(false),
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
                let mut data = slot.data.lock();
                check_writable(&*data, tx.view, object)?;
                let VertexData { props, chain, .. } = &mut *data;
                Ok(self.set_property_locked(tx, props, chain, object, key, value))
            }
            ObjectRef::Edge(gid) => {
                let slot = self.edge_slot(gid).ok_or(StorageError::EdgeNotFound(gid))?;
                let mut data = slot.data.lock();
                check_writable(&*data, tx.view, object)?;
                let data = &mut *data;
                Ok(self.set_property_locked(
                    tx,
                    &mut data.props,
                    &mut data.chain,
                    object,
                    key,
                    value,
                ))
            }
        }
    }

    fn set_property_locked(
        &self,
        tx: &mut TxnState,
        props: &mut PropertyStore,
        chain: &mut Chain,
        object: ObjectRef,
        key: PropertyId,
        value: PropertyValue,
    ) -> PropertyValue {
        tx.stats.properties_set += 1;
        let unchanged = match props.get(key) {
            Some(old) => *old == value,
            None => value.is_null(),
        };
        if unchanged {
            return value;
        }
        tx.ops.push(match object {
            ObjectRef::Vertex(gid) => Op::SetVertexProperty(gid, key, value.clone()),
            ObjectRef::Edge(gid) => Op::SetEdgeProperty(gid, key, value.clone()),
        });
        let old = props.set(key, value);
        tx.record_delta(self, chain, object, Action::SetProperty(key, old.clone()));
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
                let mut data = slot.data.lock();
                match check_writable(&*data, tx.view, ObjectRef::Vertex(v)) {
                    Err(StorageError::DeletedObject { .. }) => return Ok(outcome),
                    result => result?,
                }
                if data.out_edges.is_empty() && data.in_edges.is_empty() {
                    data.deleted = true;
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
                    .out_edges
                    .iter()
                    .chain(&data.in_edges)
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
        let slot = self.edge_slot(e).ok_or(StorageError::EdgeNotFound(e))?;
        // Endpoints first, without vertex locks (the lock order is vertices, then edge). They
        // never change, and a placeholder slot must report "edge not found", not its dummy ends.
        let (from, to) = {
            let data = slot.data.lock();
            match require_visible(&*data, tx.view, ObjectRef::Edge(e)) {
                Err(StorageError::DeletedObject { .. }) => return Ok(false),
                result => result?,
            }
            (data.from, data.to)
        };
        let mut pair = VertexPair::lock_writable(self, tx.view, from, to)?;
        let mut edge = slot.data.lock();
        check_writable(&*edge, tx.view, ObjectRef::Edge(e))?;

        let source = pair.from();
        let out = adj_remove(&mut source.out_edges, e).expect("visible edge missing at its source");
        tx.record_delta(
            self,
            &mut source.chain,
            ObjectRef::Vertex(from),
            Action::AddOutEdge(out),
        );
        let target = pair.to();
        let incoming =
            adj_remove(&mut target.in_edges, e).expect("visible edge missing at its target");
        tx.record_delta(
            self,
            &mut target.chain,
            ObjectRef::Vertex(to),
            Action::AddInEdge(incoming),
        );
        edge.deleted = true;
        tx.record_delta(self, &mut edge.chain, ObjectRef::Edge(e), Action::Recreate);

        tx.ops.push(Op::DeleteEdge(e));
        tx.stats.edges_deleted += 1;
        Ok(true)
    }
}

/// A replay error; `apply_record` fills in the record's timestamp.
pub(crate) fn invalid(reason: String) -> StorageError {
    StorageError::InvalidRecord {
        commit_ts: 0,
        reason,
    }
}
