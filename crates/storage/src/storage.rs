//! [`Storage`]: the object tables, the name tables, the clock and the commit sink.
//!
//! Who owns what:
//! - `vertices` is an append-only table of fixed-size chunks indexed by gid (`object.rs`). A
//!   lookup is two indexes, references stay valid for the storage's life, and creation is an
//!   atomic increment (plus a chunk every 4,096 vertices). Slots are never removed; GC empties
//!   deleted ones.
//! - `edges` maps an edge gid to its source vertex (one word per edge); the edge itself is its
//!   adjacency entries, and `edge_props` holds properties for the edges that have some
//!   (`edge.rs`).
//! - `clock` is the engine lock: it hands out start and commit timestamps from one counter and
//!   tracks running transactions. A commit holds it from taking its timestamp, through the
//!   [`CommitSink`], to publishing, so a transaction that begins afterwards sees the commit and one
//!   that began before does not (as Memgraph's engine lock). With a sink that defers durability
//!   (the WAL's group commit) the commit releases it while the flush runs and takes it again to
//!   publish; until then the commit is invisible and `last_commit_ts` stays below it.
//! - Transactions own an `Arc<Storage>`; the storage never points back at them.
//! - `read_only` (a replica) is set under the engine lock and checked under it by every local
//!   commit and schema change, so once [`Storage::set_read_only`] returns no local write takes a
//!   commit timestamp. Replay ([`Storage::apply_record`]) ignores it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::constraint::Constraints;
use crate::edge::{EdgeProps, EdgeTable};
use crate::ids::NameTable;
use crate::index::Indexes;
use crate::mvcc::{View, TXN_ID_BASE};
use crate::object::{Slot, VertexTable};
use crate::transaction::TxnState;
use crate::{
    CommitSink, EdgeTypeId, Gid, LabelId, ObjectRef, PropertyId, StorageError, Transaction,
};

/// Tuning knobs. `StorageConfig::default()` is what the server uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageConfig {
    /// Run [`Storage::gc`] inline after this many write commits (on the committing thread, after
    /// its locks are released). `0`: never by count.
    pub gc_every_commits: u64,
    /// Also run it once commits since the last run made this many changes (redo ops), so a few
    /// large transactions do not pile up deltas. `0`: never by volume.
    pub gc_every_changes: u64,
}

impl StorageConfig {
    /// No automatic GC: only explicit [`Storage::gc`] calls collect (tests, tools).
    pub fn manual_gc() -> StorageConfig {
        StorageConfig {
            gc_every_commits: 0,
            gc_every_changes: 0,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            gc_every_commits: 1024,
            gc_every_changes: 10_000,
        }
    }
}

/// The timestamp counter and the set of running transactions (the engine lock's contents).
pub(crate) struct Clock {
    /// The next timestamp to hand out; starts at 1.
    pub(crate) next_ts: u64,
    /// The newest published commit.
    pub(crate) last_commit_ts: u64,
    /// Running transactions: start_ts -> snapshot_ts. Snapshots grow with start timestamps, so
    /// the first entry has the oldest snapshot (what GC must keep).
    pub(crate) active: BTreeMap<u64, u64>,
    /// Group commit: commits the sink accepted but has not made durable yet, by commit
    /// timestamp. They are invisible (their cell still holds the transaction id) until a flush
    /// covers them; then whoever learns of it publishes every one up to its own, in order.
    pub(crate) pending: BTreeMap<u64, PendingCommit>,
    /// The commit timestamp of the replicated record being applied (from the start of its
    /// prepare to the end of its commit or abort): one at a time (`replay.rs`).
    pub(crate) replaying: Option<u64>,
}

/// A commit waiting for its sink's flush (see [`Clock::pending`]).
pub(crate) struct PendingCommit {
    pub(crate) cell: Arc<crate::mvcc::CommitCell>,
    pub(crate) objects: Vec<ObjectRef>,
    pub(crate) stats: crate::CommitStats,
    /// The flush failed: never publish; the committer takes it out and rolls back.
    pub(crate) lost: bool,
}

/// The objects one commit touched, kept until GC can drop that commit's deltas.
pub(crate) struct GcEntry {
    pub(crate) commit_ts: u64,
    pub(crate) objects: Vec<ObjectRef>,
}

/// An in-memory MVCC property graph. Shared as `Arc<Storage>`; every method takes `&self`.
pub struct Storage {
    pub(crate) config: StorageConfig,
    pub(crate) vertices: VertexTable,
    /// Edge gid -> source vertex (`edge.rs`); the rest of an edge is in its endpoints' adjacency.
    pub(crate) edges: EdgeTable,
    /// The properties of the edges that have some.
    pub(crate) edge_props: EdgeProps,
    labels: NameTable,
    edge_types: NameTable,
    properties: NameTable,
    pub(crate) clock: Mutex<Clock>,
    /// Mirror of `clock.last_commit_ts` for lock-free reads.
    pub(crate) last_commit: AtomicU64,
    next_txn_id: AtomicU64,
    sink: RwLock<Option<Arc<dyn CommitSink>>>,
    /// Committed transactions whose deltas GC has not dropped yet, in commit order.
    pub(crate) gc_queue: Mutex<VecDeque<GcEntry>>,
    /// Deltas currently linked into chains (uncommitted ones included).
    pub(crate) live_deltas: AtomicU64,
    /// Automatic GC trigger counters (see [`StorageConfig`]).
    pub(crate) commits_since_gc: AtomicU64,
    pub(crate) changes_since_gc: AtomicU64,
    pub(crate) vertex_count: AtomicU64,
    pub(crate) edge_count: AtomicU64,
    /// Label and label+property indexes (`index.rs`).
    pub(crate) indexes: Indexes,
    /// Existence and uniqueness constraints (`constraint.rs`).
    pub(crate) constraints: Constraints,
    /// Local writes are refused (a replica). Written under `clock`.
    pub(crate) read_only: AtomicBool,
}

impl Storage {
    /// An empty storage.
    pub fn new(config: StorageConfig) -> Arc<Storage> {
        Arc::new(Storage {
            config,
            vertices: VertexTable::default(),
            edges: EdgeTable::default(),
            edge_props: EdgeProps::default(),
            labels: NameTable::default(),
            edge_types: NameTable::default(),
            properties: NameTable::default(),
            clock: Mutex::new(Clock {
                next_ts: 1,
                last_commit_ts: 0,
                active: BTreeMap::new(),
                pending: BTreeMap::new(),
                replaying: None,
            }),
            last_commit: AtomicU64::new(0),
            next_txn_id: AtomicU64::new(TXN_ID_BASE),
            sink: RwLock::new(None),
            gc_queue: Mutex::new(VecDeque::new()),
            live_deltas: AtomicU64::new(0),
            commits_since_gc: AtomicU64::new(0),
            changes_since_gc: AtomicU64::new(0),
            vertex_count: AtomicU64::new(0),
            edge_count: AtomicU64::new(0),
            indexes: Indexes::default(),
            constraints: Constraints::default(),
            read_only: AtomicBool::new(false),
        })
    }

    /// Starts a snapshot-isolated transaction. Takes a start timestamp from the clock (one tick).
    ///
    /// Waits while another transaction is inside its commit sink.
    pub fn begin(self: &Arc<Self>) -> Transaction {
        let (start_ts, snapshot_ts) = {
            let mut clock = self.clock.lock();
            let start_ts = clock.next_ts;
            clock.next_ts += 1;
            let snapshot_ts = clock.last_commit_ts;
            clock.active.insert(start_ts, snapshot_ts);
            (start_ts, snapshot_ts)
        };
        let view = View {
            txn_id: self.new_txn_id(),
            snapshot_ts,
        };
        Transaction::new(self.clone(), TxnState::new(view, start_ts))
    }

    pub(crate) fn new_txn_id(&self) -> u64 {
        self.next_txn_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The id of label `name`, interning it if new.
    pub fn label(&self, name: &str) -> LabelId {
        LabelId(self.labels.intern(name))
    }

    /// The id of edge type `name`, interning it if new.
    pub fn edge_type(&self, name: &str) -> EdgeTypeId {
        EdgeTypeId(self.edge_types.intern(name))
    }

    /// The id of property key `name`, interning it if new.
    pub fn property(&self, name: &str) -> PropertyId {
        PropertyId(self.properties.intern(name))
    }

    /// The id of label `name` if it was ever interned.
    pub fn find_label(&self, name: &str) -> Option<LabelId> {
        self.labels.find(name).map(LabelId)
    }

    /// The id of edge type `name` if it was ever interned.
    pub fn find_edge_type(&self, name: &str) -> Option<EdgeTypeId> {
        self.edge_types.find(name).map(EdgeTypeId)
    }

    /// The id of property key `name` if it was ever interned.
    pub fn find_property(&self, name: &str) -> Option<PropertyId> {
        self.properties.find(name).map(PropertyId)
    }

    /// The name of a label id this storage handed out.
    ///
    /// # Panics
    /// If `id` did not come from this storage (a bug in the caller).
    pub fn label_name(&self, id: LabelId) -> Arc<str> {
        self.labels
            .name(id.0)
            .unwrap_or_else(|| panic!("{id:?} is not from this storage"))
    }

    /// The name of an edge type id this storage handed out. Panics like [`Storage::label_name`].
    pub fn edge_type_name(&self, id: EdgeTypeId) -> Arc<str> {
        self.edge_types
            .name(id.0)
            .unwrap_or_else(|| panic!("{id:?} is not from this storage"))
    }

    /// The name of a property id this storage handed out. Panics like [`Storage::label_name`].
    pub fn property_name(&self, id: PropertyId) -> Arc<str> {
        self.properties
            .name(id.0)
            .unwrap_or_else(|| panic!("{id:?} is not from this storage"))
    }

    /// How many labels, edge types and property keys are interned.
    pub fn name_counts(&self) -> (usize, usize, usize) {
        (
            self.labels.len(),
            self.edge_types.len(),
            self.properties.len(),
        )
    }

    /// The newest commit timestamp (0 before the first commit).
    pub fn last_commit_ts(&self) -> u64 {
        self.last_commit.load(Ordering::Acquire)
    }

    /// Installs the sink every later commit goes through (replacing any previous one).
    pub fn set_commit_sink(&self, sink: Arc<dyn CommitSink>) {
        *self.sink.write() = Some(sink);
    }

    pub(crate) fn commit_sink(&self) -> Option<Arc<dyn CommitSink>> {
        self.sink.read().clone()
    }

    /// Turns read-only mode on or off (a replica turns it on). While on, committing a local
    /// transaction that changed something fails with [`StorageError::ReadOnly`] (and rolls it
    /// back), and so do index and constraint changes, before changing anything. Reads,
    /// commits of transactions that changed nothing, and replication's
    /// [`Storage::apply_record`], [`Storage::prepare_record`] and [`Storage::restore`] are not
    /// affected.
    ///
    /// Once `set_read_only(true)` returns, no local commit takes a commit timestamp; one that
    /// took it earlier (waiting for its flush) still completes.
    pub fn set_read_only(&self, on: bool) {
        let _clock = self.clock.lock();
        self.read_only.store(on, Ordering::Release);
    }

    /// Whether local writes are refused (see [`Storage::set_read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.read_only.load(Ordering::Acquire)
    }

    /// `Err(ReadOnly)` in read-only mode (schema changes check it before changing anything).
    pub(crate) fn check_not_read_only(&self) -> Result<(), StorageError> {
        if self.is_read_only() {
            return Err(StorageError::ReadOnly);
        }
        Ok(())
    }

    /// Committed vertices minus committed vertex deletions (exact when no commit is in flight).
    pub fn vertex_count_approx(&self) -> u64 {
        self.vertex_count.load(Ordering::Relaxed)
    }

    /// Committed edges minus committed edge deletions (exact when no commit is in flight).
    pub fn edge_count_approx(&self) -> u64 {
        self.edge_count.load(Ordering::Relaxed)
    }

    /// Deltas still linked into chains: uncommitted ones, and committed ones some running
    /// transaction may need or GC has not reached yet.
    pub fn delta_count(&self) -> u64 {
        self.live_deltas.load(Ordering::Relaxed)
    }

    /// How many transactions are running (begun, neither committed nor aborted).
    pub fn active_transactions(&self) -> usize {
        self.clock.lock().active.len()
    }

    /// One past the highest vertex gid ever allocated: every vertex has a gid below it.
    pub fn vertex_gid_bound(&self) -> Gid {
        self.vertices.bound()
    }

    /// One past the highest edge gid ever allocated.
    pub fn edge_gid_bound(&self) -> Gid {
        self.edges.bound()
    }

    pub(crate) fn vertex_slot(&self, gid: Gid) -> Option<Slot<'_>> {
        self.vertices.get(gid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PropertyValue;

    #[test]
    fn a_vertex_created_in_the_transaction_keeps_no_label_or_property_deltas() {
        let s = Storage::new(StorageConfig::default());
        let (person, id, name) = (s.label("Person"), s.property("id"), s.property("name"));
        let before = s.begin();
        let mut tx = s.begin();
        let v = tx.create_vertex();
        tx.add_label(v, person).unwrap();
        tx.set_vertex_property(v, id, PropertyValue::Int(7))
            .unwrap();
        tx.set_vertex_property(v, name, PropertyValue::String("Ann".into()))
            .unwrap();
        // Only the creation is undoable: labels and properties ride on it.
        assert_eq!(s.delta_count(), 1);
        assert_eq!(tx.vertex_labels(v).unwrap(), vec![person]);
        assert!(
            !before.vertex_exists(v),
            "uncommitted creations are invisible"
        );
        tx.commit().unwrap();
        assert!(
            !before.vertex_exists(v),
            "a snapshot from before the commit never sees it"
        );
        let after = s.begin();
        assert_eq!(after.vertex_property(v, id).unwrap(), PropertyValue::Int(7));

        // A vertex that existed before still gets its deltas: an old snapshot reads the old value.
        let mut tx = s.begin();
        let deltas = s.delta_count();
        tx.set_vertex_property(v, id, PropertyValue::Int(8))
            .unwrap();
        assert_eq!(s.delta_count(), deltas + 1);
        tx.commit().unwrap();
        assert_eq!(after.vertex_property(v, id).unwrap(), PropertyValue::Int(7));

        // An aborted creation leaves nothing visible and no deltas.
        let mut tx = s.begin();
        let deltas = s.delta_count();
        let w = tx.create_vertex();
        tx.add_label(w, person).unwrap();
        tx.set_vertex_property(w, id, PropertyValue::Int(9))
            .unwrap();
        tx.abort();
        assert_eq!(s.delta_count(), deltas);
        assert!(!s.begin().vertex_exists(w));
    }

    #[test]
    fn names_round_trip() {
        let storage = Storage::new(StorageConfig::default());
        let person = storage.label("Person");
        assert_eq!(storage.label("Person"), person);
        assert_eq!(storage.find_label("Person"), Some(person));
        assert_eq!(storage.find_label("Nope"), None);
        assert_eq!(&*storage.label_name(person), "Person");
        let knows = storage.edge_type("KNOWS");
        assert_eq!(storage.find_edge_type("KNOWS"), Some(knows));
        assert_eq!(&*storage.edge_type_name(knows), "KNOWS");
        let name = storage.property("name");
        assert_eq!(storage.find_property("name"), Some(name));
        assert_eq!(&*storage.property_name(name), "name");
        assert_eq!(storage.name_counts(), (1, 1, 1));
    }
}
