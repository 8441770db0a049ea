//! [`Transaction`]: the handle a query holds; a thin owner of an `Arc<Storage>` and a
//! [`TxnState`]. The operations themselves live on `Storage` (`write.rs`, `read.rs`,
//! `commit.rs`) so that replay can run them without a `Transaction`.

use std::ops::Bound;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::index::PropIndexIter;
use crate::mvcc::{Action, Chain, CommitCell, View};
use crate::read::VertexIter;
use crate::record::Op;
use crate::{
    CommitInfo, CommitStats, DeleteOutcome, EdgeTypeId, Gid, LabelId, ObjectRef, PropertyId,
    PropertyValue, Storage, StorageError,
};

/// The bookkeeping of one running transaction.
pub(crate) struct TxnState {
    pub(crate) view: View,
    pub(crate) start_ts: u64,
    /// Shared by every delta this transaction creates.
    pub(crate) cell: Arc<CommitCell>,
    /// Objects carrying at least one of our deltas, in first-touch order (abort and GC walk it).
    pub(crate) touched: Vec<ObjectRef>,
    /// Redo log, in execution order.
    pub(crate) ops: Vec<Op>,
    pub(crate) stats: CommitStats,
}

impl TxnState {
    pub(crate) fn new(view: View, start_ts: u64) -> TxnState {
        TxnState {
            view,
            start_ts,
            cell: CommitCell::new(view.txn_id),
            touched: Vec::new(),
            ops: Vec::new(),
            stats: CommitStats::default(),
        }
    }

    /// Links an undo delta into `chain` (the object's lock is held by the caller) and remembers
    /// the object for abort and GC the first time.
    pub(crate) fn record_delta(
        &mut self,
        storage: &Storage,
        chain: &mut Chain,
        object: ObjectRef,
        action: Action,
    ) {
        if !chain.head_owned_by(self.view) {
            self.touched.push(object);
        }
        chain.push(self.cell.clone(), action);
        storage.live_deltas.fetch_add(1, Ordering::Relaxed);
    }
}

/// A snapshot-isolated transaction.
///
/// Reads see the commits made before [`Transaction::start_ts`] plus this transaction's own
/// writes. Writes fail with [`StorageError::SerializationConflict`] when another transaction
/// changed the object first; the transaction stays usable, but the caller normally aborts and
/// retries it. A failed write leaves no change, except that a detach delete may have removed some
/// edges before the failing one (abort to discard them).
///
/// Owns an `Arc<Storage>`, so it is `'static` and `Send`. Dropping it without
/// [`commit`](Transaction::commit) aborts it.
pub struct Transaction {
    storage: Arc<Storage>,
    state: TxnState,
    finished: bool,
}

/// An edge as seen from a read: its gid, endpoints and type.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct EdgeRef {
    /// The edge gid.
    pub gid: Gid,
    /// The source vertex.
    pub from: Gid,
    /// The target vertex.
    pub to: Gid,
    /// The edge type.
    pub ty: EdgeTypeId,
}

impl Transaction {
    pub(crate) fn new(storage: Arc<Storage>, state: TxnState) -> Transaction {
        Transaction {
            storage,
            state,
            finished: false,
        }
    }

    /// The timestamp taken by `begin`.
    pub fn start_ts(&self) -> u64 {
        self.state.start_ts
    }

    /// The last commit this transaction sees (every commit with `commit_ts < start_ts`).
    pub fn snapshot_ts(&self) -> u64 {
        self.state.view.snapshot_ts
    }

    /// This transaction's view (the visibility rules' input).
    pub(crate) fn view(&self) -> View {
        self.state.view
    }

    /// The storage this transaction runs on.
    pub fn storage(&self) -> &Arc<Storage> {
        &self.storage
    }

    /// What this transaction has changed so far.
    pub fn stats(&self) -> CommitStats {
        self.state.stats
    }

    /// Whether this transaction has changed nothing so far (its commit would take no tick).
    pub fn is_read_only(&self) -> bool {
        self.state.ops.is_empty()
    }

    /// Creates a vertex with no labels or properties.
    pub fn create_vertex(&mut self) -> Gid {
        self.storage.create_vertex(&mut self.state)
    }

    /// Creates an edge `from -[ty]-> to`.
    pub fn create_edge(&mut self, from: Gid, to: Gid, ty: EdgeTypeId) -> Result<Gid, StorageError> {
        self.storage
            .create_edge(&mut self.state, from, to, ty, None)
    }

    /// Adds label `l` to `v`; `false` if it already had it.
    pub fn add_label(&mut self, v: Gid, l: LabelId) -> Result<bool, StorageError> {
        self.storage.set_label(&mut self.state, v, l, true)
    }

    /// Removes label `l` from `v`; `false` if it did not have it.
    pub fn remove_label(&mut self, v: Gid, l: LabelId) -> Result<bool, StorageError> {
        self.storage.set_label(&mut self.state, v, l, false)
    }

    /// Sets property `k` of `v` (`Null` removes it); returns the old value (`Null` if none).
    pub fn set_vertex_property(
        &mut self,
        v: Gid,
        k: PropertyId,
        value: PropertyValue,
    ) -> Result<PropertyValue, StorageError> {
        self.storage
            .set_property(&mut self.state, ObjectRef::Vertex(v), k, value)
    }

    /// Sets property `k` of edge `e` (`Null` removes it); returns the old value.
    pub fn set_edge_property(
        &mut self,
        e: Gid,
        k: PropertyId,
        value: PropertyValue,
    ) -> Result<PropertyValue, StorageError> {
        self.storage
            .set_property(&mut self.state, ObjectRef::Edge(e), k, value)
    }

    /// Deletes `v`. With `detach` its visible edges go first (listed in the outcome); without,
    /// a vertex with edges is refused with [`StorageError::VertexHasEdges`].
    pub fn delete_vertex(&mut self, v: Gid, detach: bool) -> Result<DeleteOutcome, StorageError> {
        self.storage.delete_vertex(&mut self.state, v, detach)
    }

    /// Deletes edge `e`; `false` if this transaction had already deleted it.
    pub fn delete_edge(&mut self, e: Gid) -> Result<bool, StorageError> {
        self.storage.delete_edge(&mut self.state, e)
    }

    /// Whether `v` exists in this transaction's view.
    pub fn vertex_exists(&self, v: Gid) -> bool {
        self.storage.vertex_exists(self.state.view, v)
    }

    /// The labels of `v`, ascending by id.
    pub fn vertex_labels(&self, v: Gid) -> Result<Vec<LabelId>, StorageError> {
        self.storage.vertex_labels(self.state.view, v)
    }

    /// Whether `v` has label `l`.
    pub fn vertex_has_label(&self, v: Gid, l: LabelId) -> Result<bool, StorageError> {
        self.storage.vertex_has_label(self.state.view, v, l)
    }

    /// Property `k` of `v`, `Null` if absent.
    pub fn vertex_property(&self, v: Gid, k: PropertyId) -> Result<PropertyValue, StorageError> {
        self.storage
            .read_property(self.state.view, ObjectRef::Vertex(v), k)
    }

    /// All properties of `v`, ascending by key id.
    pub fn vertex_properties(
        &self,
        v: Gid,
    ) -> Result<Vec<(PropertyId, PropertyValue)>, StorageError> {
        self.storage
            .read_properties(self.state.view, ObjectRef::Vertex(v))
    }

    /// The outgoing edges of `v`, ascending by edge gid.
    pub fn out_edges(&self, v: Gid) -> Result<Vec<EdgeRef>, StorageError> {
        self.storage.adjacent_edges(self.state.view, v, true)
    }

    /// The incoming edges of `v`, ascending by edge gid.
    pub fn in_edges(&self, v: Gid) -> Result<Vec<EdgeRef>, StorageError> {
        self.storage.adjacent_edges(self.state.view, v, false)
    }

    /// Edge `e`, or `None` if it is not visible (or this transaction deleted it).
    pub fn edge(&self, e: Gid) -> Option<EdgeRef> {
        self.storage.edge_ref(self.state.view, e)
    }

    /// Property `k` of edge `e`, `Null` if absent.
    pub fn edge_property(&self, e: Gid, k: PropertyId) -> Result<PropertyValue, StorageError> {
        self.storage
            .read_property(self.state.view, ObjectRef::Edge(e), k)
    }

    /// All properties of edge `e`, ascending by key id.
    pub fn edge_properties(
        &self,
        e: Gid,
    ) -> Result<Vec<(PropertyId, PropertyValue)>, StorageError> {
        self.storage
            .read_properties(self.state.view, ObjectRef::Edge(e))
    }

    /// Every vertex gid is below this bound (a scan helper; see [`Transaction::vertices`]).
    pub fn vertex_gid_bound(&self) -> Gid {
        self.storage.vertex_gid_bound()
    }

    /// The visible vertices, ascending by gid.
    ///
    /// The iterator owns an `Arc<Storage>` and may be advanced while this transaction writes:
    /// it covers the gids allocated when it was made (so vertices created during the scan are
    /// not returned) and skips vertices this transaction deletes meanwhile. It must not be used
    /// after the transaction ends (it would read a snapshot GC no longer keeps).
    pub fn vertices(&self) -> VertexIter {
        VertexIter::new(self.storage.clone(), self.state.view, None)
    }

    /// The visible vertices with label `l`, ascending by gid: from the label index when one is
    /// ready, else a filtered full scan. Same coverage rules as [`Transaction::vertices`].
    pub fn vertices_with_label(&self, l: LabelId) -> VertexIter {
        VertexIter::new(self.storage.clone(), self.state.view, Some(l))
    }

    /// The visible vertices with label `l` whose property `k` lies between `lower` and `upper`
    /// (in the index's order: one class of values, integers and floats compared by value), from
    /// a ready label+property index; `None` if there is none. A `Null` bound matches nothing.
    /// Ascending by value. Vertices created after the call may or may not be returned.
    pub fn vertices_by_label_property(
        &self,
        l: LabelId,
        k: PropertyId,
        lower: Bound<PropertyValue>,
        upper: Bound<PropertyValue>,
    ) -> Option<PropIndexIter> {
        let index = self.storage.indexes.ready_prop(l, k)?;
        Some(PropIndexIter::new(
            self.storage.clone(),
            self.state.view,
            index,
            lower,
            upper,
        ))
    }

    /// [`Transaction::vertices_by_label_property`] for one value, `[value, value]`, into `out`
    /// (cleared first), without an iterator: for the many small equality seeks of a bulk load.
    /// `None` when the iterator is needed instead: no ready index, or more than a few dozen
    /// vertices hold the value.
    pub fn vertices_by_label_property_eq(
        &self,
        l: LabelId,
        k: PropertyId,
        value: &PropertyValue,
        out: &mut Vec<Gid>,
    ) -> Option<()> {
        self.storage.seek_eq_into(self.state.view, l, k, value, out)
    }

    /// Makes the changes visible to transactions that begin afterwards.
    ///
    /// A transaction that changed something takes a commit timestamp (one tick) and goes through
    /// the [`CommitSink`](crate::CommitSink) first; if the sink fails, the transaction is aborted
    /// and [`StorageError::CommitSink`] returned. A read-only transaction takes no tick.
    pub fn commit(mut self) -> Result<CommitInfo, StorageError> {
        let result = self.storage.commit(&mut self.state);
        // Only now: if the sink panicked, `Drop` still rolls the transaction back.
        self.finished = true;
        result
    }

    /// Undoes every change of this transaction.
    pub fn abort(mut self) {
        self.storage.abort(&mut self.state);
        self.finished = true;
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if !self.finished {
            self.storage.abort(&mut self.state);
        }
    }
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("start_ts", &self.state.start_ts)
            .field("snapshot_ts", &self.state.view.snapshot_ts)
            .field("ops", &self.state.ops.len())
            .finish()
    }
}
