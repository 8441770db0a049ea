//! Model-based test: random interleavings of up to three transactions run against the engine and
//! against a trivially correct model of snapshot isolation, step by step.
//!
//! The model keeps the committed graph as a plain value; a transaction copies it at begin (its
//! snapshot), applies its own writes to the copy, and on commit replays them onto the committed
//! graph. A write conflicts when another running transaction has changed the object, or one that
//! committed after this one began did (first writer wins). Every read, write result, error,
//! gid, start and commit timestamp must agree. At the end, the committed state must agree, GC
//! must release every delta, and replaying the commit sink's records into a fresh storage must
//! rebuild the same graph.
//!
//! GC runs at random points (explicitly, and after every commit or every few with
//! `gc_every_commits`); after an explicit pass every open transaction must still see exactly its
//! snapshot plus its own writes, and with nothing open every delta must be gone. A write that
//! conflicts either aborts its transaction or, as the engine allows, leaves it running: the failed
//! write must have changed nothing. Scans may be advanced one step at a time while their
//! transaction (and others) keep writing.
//!
//! A replica follows along: at random points it applies the next commit record
//! (`Storage::apply_record`) while its own readers are open; each replica reader must keep seeing
//! exactly the commits applied before it began, through later applies and GC passes, although
//! the replica's clock runs ahead of the records' timestamps.
//!
//! Running it:
//!
//! - `cargo test -p storage --release --test model` runs 4096 cases (a few seconds).
//! - `PROPTEST_CASES=100000 cargo test -p storage --release --test model` soaks longer.
//! - A failure is shrunk to a minimal step list, printed, and its seed appended to
//!   `crates/storage/tests/model.proptest-regressions`, which proptest replays first on every
//!   later run (commit the file to keep the case). To replay a seed by hand, put its `cc <hex>`
//!   line into that file.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use common::{dump, EdgeModel, Graph, VertexModel};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use storage::{
    CommitRecord, CommitSink, EdgeTypeId, LabelId, ObjectRef, PropertyId, PropertyValue, Storage,
    StorageConfig, StorageError, Transaction, VertexIter,
};

const SLOTS: usize = 4;
const LABELS: u32 = 3;
const KEYS: u32 = 2;
const TYPES: u32 = 2;

#[derive(Clone, Debug)]
enum Write {
    CreateVertex,
    AddLabel(u64, u32),
    RemoveLabel(u64, u32),
    SetVertexProperty(u64, u32, Option<i64>),
    CreateEdge(u64, u64, u32),
    SetEdgeProperty(u64, u32, Option<i64>),
    DeleteEdge(u64),
    DeleteVertex(u64, bool),
}

#[derive(Clone, Debug)]
enum Read {
    Vertex(u64),
    Edge(u64),
    Scan(Option<u32>),
}

#[derive(Clone, Debug)]
enum Step {
    Begin(usize),
    Commit(usize),
    /// Commit while the sink refuses everything.
    CommitSinkFails(usize),
    Abort(usize),
    Gc,
    /// A write; on a conflict, abort the transaction if the flag is set, else keep using it.
    Write(usize, Write, bool),
    Read(usize, Read),
    /// Advance slot `i`'s open scan by one (opening one over the label, or all, if none is open).
    ScanNext(usize, Option<u32>),
    /// The replica applies the next commit record it has not applied yet, if any.
    ReplicaApply,
    /// Replica reader `i` (begun now if none is open) compares its whole snapshot.
    ReplicaRead(usize),
    /// Replica reader `i` ends (commits, read-only).
    ReplicaEnd(usize),
}

const REPLICA_SLOTS: usize = 2;

/// What a write returned, comparable between engine and model.
#[derive(Clone, Debug, PartialEq)]
enum Ret {
    Gid(u64),
    Bool(bool),
    Value(PropertyValue),
    Deleted { deleted: bool, edges: Vec<u64> },
}

/// Errors, with conflicts compared by kind only.
#[derive(Clone, Debug, PartialEq)]
enum Err {
    Conflict,
    VertexNotFound(u64),
    EdgeNotFound(u64),
    HasEdges(u64),
    Deleted(ObjectRef),
}

fn kind(err: StorageError) -> Err {
    match err {
        StorageError::SerializationConflict { .. } => Err::Conflict,
        StorageError::VertexNotFound(v) => Err::VertexNotFound(v),
        StorageError::EdgeNotFound(e) => Err::EdgeNotFound(e),
        StorageError::VertexHasEdges(v) => Err::HasEdges(v),
        StorageError::DeletedObject { object } => Err::Deleted(object),
        other => panic!("unexpected error {other:?}"),
    }
}

fn value(v: Option<i64>) -> PropertyValue {
    v.map_or(PropertyValue::Null, PropertyValue::Int)
}

/// A change, as the model records and replays it.
#[derive(Clone, Debug)]
enum Change {
    CreateVertex(u64),
    SetLabel(u64, u32, bool),
    SetVertexProperty(u64, u32, PropertyValue),
    CreateEdge(u64, u64, u64, u32),
    SetEdgeProperty(u64, u32, PropertyValue),
    DeleteEdge(u64),
    DeleteVertex(u64),
}

fn apply(graph: &mut Graph, change: &Change) {
    let set =
        |props: &mut std::collections::BTreeMap<u32, PropertyValue>, k: u32, v: &PropertyValue| {
            if v.is_null() {
                props.remove(&k);
            } else {
                props.insert(k, v.clone());
            }
        };
    match change {
        Change::CreateVertex(v) => {
            assert!(graph.vertices.insert(*v, VertexModel::default()).is_none())
        }
        Change::SetLabel(v, l, true) => {
            assert!(graph.vertices.get_mut(v).unwrap().labels.insert(*l))
        }
        Change::SetLabel(v, l, false) => {
            assert!(graph.vertices.get_mut(v).unwrap().labels.remove(l))
        }
        Change::SetVertexProperty(v, k, value) => {
            set(&mut graph.vertices.get_mut(v).unwrap().props, *k, value)
        }
        Change::CreateEdge(e, from, to, ty) => {
            let edge = EdgeModel {
                from: *from,
                to: *to,
                ty: *ty,
                props: Default::default(),
            };
            assert!(graph.edges.insert(*e, edge).is_none());
        }
        Change::SetEdgeProperty(e, k, value) => {
            set(&mut graph.edges.get_mut(e).unwrap().props, *k, value)
        }
        Change::DeleteEdge(e) => assert!(graph.edges.remove(e).is_some()),
        Change::DeleteVertex(v) => assert!(graph.vertices.remove(v).is_some()),
    }
}

/// A vertex scan left open between steps, and what the model expects of it.
struct OpenScan {
    iter: VertexIter,
    label: Option<u32>,
    /// The next gid it may return.
    cursor: u64,
    /// The gid bound when it was made: it never returns vertices created later.
    end: u64,
}

struct Slot {
    tx: Transaction,
    /// How many commits the snapshot includes.
    snapshot: usize,
    scan: Option<OpenScan>,
    view: Graph,
    deleted_by_me: BTreeSet<ObjectRef>,
    writes: BTreeSet<ObjectRef>,
    changes: Vec<Change>,
}

#[derive(Default)]
struct Sink {
    records: Mutex<Vec<CommitRecord>>,
    failing: Mutex<bool>,
}

impl CommitSink for Sink {
    fn on_commit(&self, record: &CommitRecord) -> Result<(), String> {
        if *self.failing.lock().unwrap() {
            return Err("injected sink failure".into());
        }
        let mut records = self.records.lock().unwrap();
        if let Some(last) = records.last() {
            assert!(
                record.commit_ts > last.commit_ts,
                "records arrive in commit order"
            );
        }
        records.push(record.clone());
        Ok(())
    }
}

struct Harness {
    storage: Arc<Storage>,
    sink: Arc<Sink>,
    committed: Graph,
    /// Write sets of the committed transactions, in commit order.
    commits: Vec<BTreeSet<ObjectRef>>,
    clock: u64,
    last_commit_ts: u64,
    next_vertex: u64,
    next_edge: u64,
    slots: Vec<Option<Slot>>,
    /// The committed graph after each commit (`history[0]` is the empty graph).
    history: Vec<Graph>,
    replica: Arc<Storage>,
    /// How many commit records the replica has applied.
    applied: usize,
    /// Open replica readers and how many records had been applied when each began.
    replica_slots: Vec<Option<(Transaction, usize)>>,
}

impl Harness {
    fn new(gc_every_commits: u64) -> Harness {
        let storage = Storage::new(StorageConfig {
            gc_every_commits,
            gc_every_changes: 0,
        });
        for i in 0..LABELS {
            assert_eq!(storage.label(&format!("L{i}")), LabelId(i));
        }
        for i in 0..KEYS {
            assert_eq!(storage.property(&format!("k{i}")), PropertyId(i));
        }
        for i in 0..TYPES {
            assert_eq!(storage.edge_type(&format!("T{i}")), EdgeTypeId(i));
        }
        let sink = Arc::new(Sink::default());
        storage.set_commit_sink(sink.clone());
        Harness {
            storage,
            sink,
            committed: Graph::default(),
            commits: Vec::new(),
            clock: 1,
            last_commit_ts: 0,
            next_vertex: 0,
            next_edge: 0,
            slots: (0..SLOTS).map(|_| None).collect(),
            history: vec![Graph::default()],
            replica: Storage::new(StorageConfig {
                gc_every_commits,
                gc_every_changes: 0,
            }),
            applied: 0,
            replica_slots: (0..REPLICA_SLOTS).map(|_| None).collect(),
        }
    }

    fn begin(&mut self, i: usize) {
        if self.slots[i].is_some() {
            return;
        }
        let tx = self.storage.begin();
        assert_eq!(tx.start_ts(), self.clock);
        assert_eq!(tx.snapshot_ts(), self.last_commit_ts);
        self.clock += 1;
        self.slots[i] = Some(Slot {
            tx,
            snapshot: self.commits.len(),
            scan: None,
            view: self.committed.clone(),
            deleted_by_me: BTreeSet::new(),
            writes: BTreeSet::new(),
            changes: Vec::new(),
        });
    }

    fn run(&mut self, step: &Step) {
        match step {
            Step::Begin(i) => self.begin(*i),
            Step::Commit(i) => self.commit(*i, false),
            Step::CommitSinkFails(i) => self.commit(*i, true),
            Step::Abort(i) => {
                if let Some(slot) = self.slots[*i].take() {
                    slot.tx.abort();
                }
            }
            Step::Gc => self.gc(),
            Step::Write(i, write, abort_on_conflict) => {
                self.begin(*i);
                let expected = self.model_write(*i, write);
                let actual = self.engine_write(*i, write);
                assert_eq!(actual, expected, "{write:?} in slot {i}");
                if actual == Err(Err::Conflict) && *abort_on_conflict {
                    self.slots[*i].take().unwrap().tx.abort();
                }
            }
            Step::ScanNext(i, label) => {
                self.begin(*i);
                self.scan_step(*i, *label);
            }
            Step::ReplicaApply => self.replica_apply(),
            Step::ReplicaRead(i) => {
                let (applied, replica) = (self.applied, &self.replica);
                let (tx, seen) =
                    self.replica_slots[*i].get_or_insert_with(|| (replica.begin(), applied));
                assert_eq!(dump(tx), self.history[*seen], "replica reader {i}");
            }
            Step::ReplicaEnd(i) => {
                if let Some((tx, _)) = self.replica_slots[*i].take() {
                    assert_eq!(tx.commit().map(|info| info.commit_ts), Ok(None));
                }
            }
            Step::Read(i, read) => {
                self.begin(*i);
                self.check_read(*i, read);
            }
        }
    }

    fn commit(&mut self, i: usize, sink_fails: bool) {
        let Some(slot) = self.slots[i].take() else {
            return;
        };
        *self.sink.failing.lock().unwrap() = sink_fails;
        let result = slot.tx.commit();
        *self.sink.failing.lock().unwrap() = false;
        if slot.changes.is_empty() {
            assert_eq!(result.map(|info| info.commit_ts), Ok(None));
            return;
        }
        let commit_ts = self.clock;
        self.clock += 1;
        if sink_fails {
            assert_eq!(
                result,
                Err(StorageError::CommitSink("injected sink failure".into()))
            );
            return;
        }
        assert_eq!(result.map(|info| info.commit_ts), Ok(Some(commit_ts)));
        self.last_commit_ts = commit_ts;
        for change in &slot.changes {
            apply(&mut self.committed, change);
        }
        self.history.push(self.committed.clone());
        self.commits.push(slot.writes);
    }

    /// An explicit GC pass must not change what any open transaction sees, must keep exactly
    /// what the oldest open snapshot needs, and with nothing open must free every delta.
    fn gc(&mut self) {
        let stats = self.storage.gc();
        let open = self.slots.iter().flatten();
        let oldest = open.map(|slot| slot.tx.snapshot_ts()).min();
        assert_eq!(
            stats.oldest_snapshot_ts,
            oldest.unwrap_or(self.last_commit_ts)
        );
        if oldest.is_none() {
            assert_eq!(self.storage.delta_count(), 0, "GC left deltas behind");
        }
        for (i, slot) in self.slots.iter().enumerate() {
            if let Some(slot) = slot {
                assert_eq!(dump(&slot.tx), slot.view, "slot {i} after GC");
            }
        }
        self.replica.gc();
        self.check_replica_readers("after GC");
    }

    fn replica_apply(&mut self) {
        let Some(record) = self.sink.records.lock().unwrap().get(self.applied).cloned() else {
            return;
        };
        self.replica.apply_record(&record).unwrap();
        self.applied += 1;
        assert_eq!(self.replica.last_commit_ts(), record.commit_ts);
        self.check_replica_readers("after an apply");
    }

    /// Every open replica reader still sees exactly the records applied before it began.
    fn check_replica_readers(&self, when: &str) {
        for (i, slot) in self.replica_slots.iter().enumerate() {
            if let Some((tx, seen)) = slot {
                assert_eq!(dump(tx), self.history[*seen], "replica reader {i} {when}");
            }
        }
    }

    /// Advances (or opens) slot `i`'s scan. It returns the next gid at or after its cursor, below
    /// the bound taken when it opened, that the transaction sees *now* (with the label, now).
    fn scan_step(&mut self, i: usize, label: Option<u32>) {
        let next_vertex = self.next_vertex;
        let slot = self.slots[i].as_mut().unwrap();
        let scan = slot.scan.get_or_insert_with(|| OpenScan {
            iter: match label {
                None => slot.tx.vertices(),
                Some(l) => slot.tx.vertices_with_label(LabelId(l)),
            },
            label,
            cursor: 0,
            end: next_vertex,
        });
        let expected = (slot.view.vertices.range(scan.cursor..scan.end))
            .find(|(_, v)| scan.label.is_none_or(|l| v.labels.contains(&l)))
            .map(|(gid, _)| *gid);
        assert_eq!(scan.iter.next(), expected, "scan step in slot {i}");
        match expected {
            Some(gid) => scan.cursor = gid + 1,
            None => slot.scan = None,
        }
    }

    fn slot(&self, i: usize) -> &Slot {
        self.slots[i].as_ref().unwrap()
    }

    fn exists(&self, i: usize, object: ObjectRef) -> Result<(), Err> {
        let slot = self.slot(i);
        let present = match object {
            ObjectRef::Vertex(v) => slot.view.vertices.contains_key(&v),
            ObjectRef::Edge(e) => slot.view.edges.contains_key(&e),
        };
        match object {
            _ if present => Ok(()),
            _ if slot.deleted_by_me.contains(&object) => Err(Err::Deleted(object)),
            ObjectRef::Vertex(v) => Err(Err::VertexNotFound(v)),
            ObjectRef::Edge(e) => Err(Err::EdgeNotFound(e)),
        }
    }

    fn conflicts(&self, i: usize, object: ObjectRef) -> bool {
        let running = self.slots.iter().enumerate().any(|(j, other)| {
            j != i
                && other
                    .as_ref()
                    .is_some_and(|other| other.writes.contains(&object))
        });
        running
            || self.commits[self.slot(i).snapshot..]
                .iter()
                .any(|w| w.contains(&object))
    }

    fn check_write(&self, i: usize, object: ObjectRef) -> Result<(), Err> {
        self.exists(i, object)?;
        if self.conflicts(i, object) {
            return Err(Err::Conflict);
        }
        Ok(())
    }

    /// Records a change in slot `i`'s view and redo list.
    fn change(&mut self, i: usize, change: Change, touched: &[ObjectRef]) {
        let slot = self.slots[i].as_mut().unwrap();
        apply(&mut slot.view, &change);
        slot.changes.push(change);
        slot.writes.extend(touched.iter().copied());
    }

    fn model_write(&mut self, i: usize, write: &Write) -> Result<Ret, Err> {
        use ObjectRef::{Edge, Vertex};
        match *write {
            Write::CreateVertex => {
                let v = self.next_vertex;
                self.next_vertex += 1;
                self.change(i, Change::CreateVertex(v), &[Vertex(v)]);
                Ok(Ret::Gid(v))
            }
            Write::AddLabel(v, l) | Write::RemoveLabel(v, l) => {
                self.check_write(i, Vertex(v))?;
                let add = matches!(write, Write::AddLabel(..));
                let has = self.slot(i).view.vertices[&v].labels.contains(&l);
                if has == add {
                    return Ok(Ret::Bool(false));
                }
                self.change(i, Change::SetLabel(v, l, add), &[Vertex(v)]);
                Ok(Ret::Bool(true))
            }
            Write::SetVertexProperty(v, k, new) => {
                self.check_write(i, Vertex(v))?;
                let old = self.slot(i).view.vertices[&v]
                    .props
                    .get(&k)
                    .cloned()
                    .unwrap_or_default();
                if old != value(new) {
                    self.change(i, Change::SetVertexProperty(v, k, value(new)), &[Vertex(v)]);
                }
                Ok(Ret::Value(old))
            }
            Write::CreateEdge(from, to, ty) => {
                self.check_write(i, Vertex(from))?;
                self.check_write(i, Vertex(to))?;
                let e = self.next_edge;
                self.next_edge += 1;
                self.change(
                    i,
                    Change::CreateEdge(e, from, to, ty),
                    &[Vertex(from), Vertex(to), Edge(e)],
                );
                Ok(Ret::Gid(e))
            }
            Write::SetEdgeProperty(e, k, new) => {
                self.check_write(i, Edge(e))?;
                let old = self.slot(i).view.edges[&e]
                    .props
                    .get(&k)
                    .cloned()
                    .unwrap_or_default();
                if old != value(new) {
                    self.change(i, Change::SetEdgeProperty(e, k, value(new)), &[Edge(e)]);
                }
                Ok(Ret::Value(old))
            }
            Write::DeleteEdge(e) => self.model_delete_edge(i, e).map(Ret::Bool),
            Write::DeleteVertex(v, detach) => self.model_delete_vertex(i, v, detach),
        }
    }

    fn model_delete_edge(&mut self, i: usize, e: u64) -> Result<bool, Err> {
        match self.exists(i, ObjectRef::Edge(e)) {
            Err(Err::Deleted(_)) => return Ok(false),
            other => other?,
        }
        if self.conflicts(i, ObjectRef::Edge(e)) {
            return Err(Err::Conflict);
        }
        let EdgeModel { from, to, .. } = self.slot(i).view.edges[&e];
        self.check_write(i, ObjectRef::Vertex(from))?;
        self.check_write(i, ObjectRef::Vertex(to))?;
        let touched = [
            ObjectRef::Edge(e),
            ObjectRef::Vertex(from),
            ObjectRef::Vertex(to),
        ];
        self.change(i, Change::DeleteEdge(e), &touched);
        self.slots[i]
            .as_mut()
            .unwrap()
            .deleted_by_me
            .insert(ObjectRef::Edge(e));
        Ok(true)
    }

    fn model_delete_vertex(&mut self, i: usize, v: u64, detach: bool) -> Result<Ret, Err> {
        match self.exists(i, ObjectRef::Vertex(v)) {
            Err(Err::Deleted(_)) => {
                return Ok(Ret::Deleted {
                    deleted: false,
                    edges: vec![],
                })
            }
            other => other?,
        }
        if self.conflicts(i, ObjectRef::Vertex(v)) {
            return Err(Err::Conflict);
        }
        let incident: Vec<u64> = (self.slot(i).view.edges.iter())
            .filter(|(_, edge)| edge.from == v || edge.to == v)
            .map(|(e, _)| *e)
            .collect();
        if !incident.is_empty() && !detach {
            return Err(Err::HasEdges(v));
        }
        for e in &incident {
            assert!(self.model_delete_edge(i, *e)?);
        }
        self.change(i, Change::DeleteVertex(v), &[ObjectRef::Vertex(v)]);
        self.slots[i]
            .as_mut()
            .unwrap()
            .deleted_by_me
            .insert(ObjectRef::Vertex(v));
        Ok(Ret::Deleted {
            deleted: true,
            edges: incident,
        })
    }

    fn engine_write(&mut self, i: usize, write: &Write) -> Result<Ret, Err> {
        let tx = &mut self.slots[i].as_mut().unwrap().tx;
        let result = match *write {
            Write::CreateVertex => Ok(Ret::Gid(tx.create_vertex())),
            Write::AddLabel(v, l) => tx.add_label(v, LabelId(l)).map(Ret::Bool),
            Write::RemoveLabel(v, l) => tx.remove_label(v, LabelId(l)).map(Ret::Bool),
            Write::SetVertexProperty(v, k, new) => tx
                .set_vertex_property(v, PropertyId(k), value(new))
                .map(Ret::Value),
            Write::CreateEdge(from, to, ty) => {
                tx.create_edge(from, to, EdgeTypeId(ty)).map(Ret::Gid)
            }
            Write::SetEdgeProperty(e, k, new) => tx
                .set_edge_property(e, PropertyId(k), value(new))
                .map(Ret::Value),
            Write::DeleteEdge(e) => tx.delete_edge(e).map(Ret::Bool),
            Write::DeleteVertex(v, detach) => tx.delete_vertex(v, detach).map(|o| Ret::Deleted {
                deleted: o.deleted,
                edges: o.edges_deleted,
            }),
        };
        result.map_err(kind)
    }

    fn check_read(&self, i: usize, read: &Read) {
        let slot = self.slot(i);
        let (tx, view) = (&slot.tx, &slot.view);
        match *read {
            Read::Vertex(v) => {
                let expected = self.exists(i, ObjectRef::Vertex(v));
                assert_eq!(tx.vertex_exists(v), expected.is_ok());
                let labels = tx.vertex_labels(v).map_err(kind);
                let props = tx.vertex_properties(v).map_err(kind);
                let out = tx.out_edges(v).map_err(kind);
                let incoming = tx.in_edges(v).map_err(kind);
                let Some(model) = view.vertices.get(&v) else {
                    let err = expected.unwrap_err();
                    assert_eq!(
                        (labels.unwrap_err(), props.unwrap_err()),
                        (err.clone(), err.clone())
                    );
                    assert_eq!(
                        (out.unwrap_err(), incoming.unwrap_err()),
                        (err.clone(), err)
                    );
                    return;
                };
                let labels: BTreeSet<u32> = labels.unwrap().iter().map(|l| l.0).collect();
                assert_eq!(labels, model.labels);
                let props: Vec<_> = props.unwrap().into_iter().map(|(k, v)| (k.0, v)).collect();
                assert_eq!(props, model.props.clone().into_iter().collect::<Vec<_>>());
                for l in 0..LABELS {
                    assert_eq!(
                        tx.vertex_has_label(v, LabelId(l)),
                        Ok(model.labels.contains(&l))
                    );
                }
                for k in 0..KEYS {
                    let expected = model.props.get(&k).cloned().unwrap_or_default();
                    assert_eq!(tx.vertex_property(v, PropertyId(k)), Ok(expected));
                }
                let edges = |pick: &dyn Fn(&EdgeModel) -> bool| -> Vec<(u64, u64, u64, u32)> {
                    let edges = view.edges.iter().filter(|(_, e)| pick(e));
                    edges.map(|(gid, e)| (*gid, e.from, e.to, e.ty)).collect()
                };
                let flat = |list: Vec<storage::EdgeRef>| -> Vec<(u64, u64, u64, u32)> {
                    list.into_iter()
                        .map(|e| (e.gid, e.from, e.to, e.ty.0))
                        .collect()
                };
                assert_eq!(flat(out.unwrap()), edges(&|e| e.from == v));
                assert_eq!(flat(incoming.unwrap()), edges(&|e| e.to == v));
            }
            Read::Edge(e) => {
                let model = view.edges.get(&e);
                let edge = tx.edge(e);
                assert_eq!(
                    edge.map(|x| (x.from, x.to, x.ty.0)),
                    model.map(|m| (m.from, m.to, m.ty))
                );
                let props = tx.edge_properties(e).map_err(kind);
                match model {
                    Some(model) => {
                        let props: Vec<_> =
                            props.unwrap().into_iter().map(|(k, v)| (k.0, v)).collect();
                        assert_eq!(props, model.props.clone().into_iter().collect::<Vec<_>>());
                        for k in 0..KEYS {
                            let expected = model.props.get(&k).cloned().unwrap_or_default();
                            assert_eq!(tx.edge_property(e, PropertyId(k)), Ok(expected));
                        }
                    }
                    None => assert_eq!(
                        props.unwrap_err(),
                        self.exists(i, ObjectRef::Edge(e)).unwrap_err()
                    ),
                }
            }
            Read::Scan(label) => {
                let actual: Vec<u64> = match label {
                    None => tx.vertices().collect(),
                    Some(l) => tx.vertices_with_label(LabelId(l)).collect(),
                };
                let expected: Vec<u64> = (view.vertices.iter())
                    .filter(|(_, v)| label.is_none_or(|l| v.labels.contains(&l)))
                    .map(|(gid, _)| *gid)
                    .collect();
                assert_eq!(actual, expected);
            }
        }
    }

    /// Ends every transaction and checks the final state, GC and replay.
    fn finish(mut self) {
        for i in 0..SLOTS {
            self.commit(i, false);
        }
        assert_eq!(self.storage.active_transactions(), 0);
        let tx = self.storage.begin();
        assert_eq!(dump(&tx), self.committed);
        drop(tx);
        self.storage.gc();
        assert_eq!(
            self.storage.delta_count(),
            0,
            "GC releases everything when nothing runs"
        );
        assert_eq!(
            self.storage.vertex_count_approx(),
            self.committed.vertices.len() as u64
        );
        assert_eq!(
            self.storage.edge_count_approx(),
            self.committed.edges.len() as u64
        );

        let replica = Storage::new(StorageConfig::default());
        for record in self.sink.records.lock().unwrap().iter() {
            replica.apply_record(record).unwrap();
        }
        assert_eq!(replica.last_commit_ts(), self.storage.last_commit_ts());
        assert_eq!(dump(&replica.begin()), self.committed);

        // The replica that followed along, with its readers still open, catches up too.
        let records = self.sink.records.lock().unwrap().len();
        assert_eq!(records, self.history.len() - 1, "one record per commit");
        while self.applied < records {
            self.replica_apply();
        }
        assert_eq!(self.replica.last_commit_ts(), self.storage.last_commit_ts());
        assert_eq!(dump(&self.replica.begin()), self.committed);
        self.replica_slots.clear();
        self.replica.gc();
        assert_eq!(self.replica.delta_count(), 0);
    }
}

fn write_strategy() -> impl Strategy<Value = Write> {
    let v = || 0..12u64;
    let e = || 0..10u64;
    let value = || prop::option::weighted(0.8, 0..3i64);
    prop_oneof![
        4 => Just(Write::CreateVertex),
        2 => (v(), 0..LABELS).prop_map(|(v, l)| Write::AddLabel(v, l)),
        1 => (v(), 0..LABELS).prop_map(|(v, l)| Write::RemoveLabel(v, l)),
        3 => (v(), 0..KEYS, value()).prop_map(|(v, k, x)| Write::SetVertexProperty(v, k, x)),
        3 => (v(), v(), 0..TYPES).prop_map(|(a, b, t)| Write::CreateEdge(a, b, t)),
        2 => (e(), 0..KEYS, value()).prop_map(|(e, k, x)| Write::SetEdgeProperty(e, k, x)),
        1 => e().prop_map(Write::DeleteEdge),
        2 => (v(), any::<bool>()).prop_map(|(v, d)| Write::DeleteVertex(v, d)),
    ]
}

fn read_strategy() -> impl Strategy<Value = Read> {
    prop_oneof![
        3 => (0..12u64).prop_map(Read::Vertex),
        1 => (0..10u64).prop_map(Read::Edge),
        1 => prop::option::of(0..LABELS).prop_map(Read::Scan),
    ]
}

fn step_strategy() -> impl Strategy<Value = Step> {
    let slot = || 0..SLOTS;
    prop_oneof![
        2 => slot().prop_map(Step::Begin),
        3 => slot().prop_map(Step::Commit),
        1 => slot().prop_map(Step::CommitSinkFails),
        1 => slot().prop_map(Step::Abort),
        1 => Just(Step::Gc),
        12 => (slot(), write_strategy(), any::<bool>()).prop_map(|(i, w, a)| Step::Write(i, w, a)),
        6 => (slot(), read_strategy()).prop_map(|(i, r)| Step::Read(i, r)),
        2 => (slot(), prop::option::of(0..LABELS)).prop_map(|(i, l)| Step::ScanNext(i, l)),
        2 => Just(Step::ReplicaApply),
        1 => (0..REPLICA_SLOTS).prop_map(Step::ReplicaRead),
        1 => (0..REPLICA_SLOTS).prop_map(Step::ReplicaEnd),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        // PROPTEST_CASES overrides the default for a soak.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(4096),
        // tests/model.proptest-regressions: failing seeds, replayed first on every run.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn engine_agrees_with_snapshot_isolation_model(
        gc_every_commits in prop::sample::select(vec![0u64, 1, 3]),
        steps in prop::collection::vec(step_strategy(), 1..200),
    ) {
        let mut harness = Harness::new(gc_every_commits);
        for step in &steps {
            harness.run(step);
        }
        harness.finish();
    }
}
