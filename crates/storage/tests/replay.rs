//! `Storage::apply_record`: replaying commit records (WAL recovery, replicas).

mod common;

use std::sync::{Arc, Mutex};

use common::dump;
use storage::{
    CommitRecord, CommitSink, PropertyValue, RedoOp, Storage, StorageConfig, StorageError,
};

#[derive(Default)]
struct Collect {
    records: Mutex<Vec<CommitRecord>>,
    fail: Mutex<bool>,
}

impl CommitSink for Collect {
    fn on_commit(&self, record: &CommitRecord) -> Result<(), String> {
        if *self.fail.lock().unwrap() {
            return Err("replica disk full".into());
        }
        self.records.lock().unwrap().push(record.clone());
        Ok(())
    }
}

fn main_with_sink() -> (Arc<Storage>, Arc<Collect>) {
    let storage = Storage::new(StorageConfig::default());
    let sink = Arc::new(Collect::default());
    storage.set_commit_sink(sink.clone());
    (storage, sink)
}

fn invalid(result: Result<(), StorageError>) -> bool {
    matches!(result, Err(StorageError::InvalidRecord { .. }))
}

#[test]
fn replica_gets_the_same_gids_and_timestamps() {
    let (main, sink) = main_with_sink();
    let (l0, k0, t0) = (main.label("L0"), main.property("k0"), main.edge_type("T0"));
    let mut t1 = main.begin();
    let mut t2 = main.begin();
    let mut t3 = main.begin();
    let a = t1.create_vertex();
    let (b, c) = (t2.create_vertex(), t2.create_vertex());
    let aborted = t3.create_vertex();
    t2.add_label(c, l0).unwrap();
    t2.create_edge(b, c, t0).unwrap();
    t3.abort();
    t2.commit().unwrap(); // commits gids 1, 2 before gid 0 exists anywhere
    t1.set_vertex_property(a, k0, "x".into()).unwrap();
    t1.commit().unwrap();
    let mut t4 = main.begin();
    let e = t4.create_edge(a, b, t0).unwrap();
    t4.set_edge_property(e, k0, PropertyValue::List(vec![1i64.into()]))
        .unwrap();
    t4.delete_vertex(c, true).unwrap();
    t4.commit().unwrap();

    let replica = Storage::new(StorageConfig::default());
    // Names interned in another order must not matter.
    replica.property("k0");
    for record in sink.records.lock().unwrap().iter() {
        let bytes = bincode::encode_to_vec(record, bincode::config::standard()).unwrap();
        let (decoded, _): (CommitRecord, _) =
            bincode::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
        replica.apply_record(&decoded).unwrap();
    }
    assert_eq!(replica.last_commit_ts(), main.last_commit_ts());
    assert_eq!(dump(&replica.begin()), dump(&main.begin()));
    assert_eq!(replica.vertex_count_approx(), 2);
    assert_eq!(replica.edge_count_approx(), 1);
    // The aborted gid was never committed; a promoted replica may use it, never an older one.
    assert!(replica.vertex_gid_bound() >= aborted);
    let mut local = replica.begin();
    assert!(local.create_vertex() > c);
    assert!(
        local.start_ts() > main.last_commit_ts(),
        "the replica clock moved past the records"
    );
}

#[test]
fn running_replica_readers_keep_their_snapshot() {
    let (main, sink) = main_with_sink();
    let replica = Storage::new(StorageConfig::default());
    let early = replica.begin();
    // Local read transactions push the replica's clock past the main's timestamps.
    let later: Vec<_> = (0..10).map(|_| replica.begin()).collect();
    let mut tx = main.begin();
    let v = tx.create_vertex();
    assert_eq!(tx.commit().unwrap().commit_ts, Some(2));
    let record = sink.records.lock().unwrap()[0].clone();
    replica.apply_record(&record).unwrap();
    assert!(!early.vertex_exists(v));
    assert_eq!(later.last().unwrap().start_ts(), 11);
    for tx in &later {
        assert!(
            !tx.vertex_exists(v),
            "began before the record arrived, even if after ts 2"
        );
    }
    let fresh = replica.begin();
    assert!(fresh.vertex_exists(v));
    assert_eq!(fresh.start_ts(), 12);
    assert_eq!(replica.last_commit_ts(), 2);
}

#[test]
fn bad_records_are_refused_whole() {
    let replica = Storage::new(StorageConfig::default());
    let create = |ts, gid| CommitRecord {
        commit_ts: ts,
        start_ts: ts - 1,
        ops: vec![RedoOp::CreateVertex { gid }],
    };
    replica.apply_record(&create(2, 0)).unwrap();
    assert!(
        invalid(replica.apply_record(&create(2, 1))),
        "stale timestamp"
    );
    assert!(
        invalid(replica.apply_record(&create(3, 0))),
        "gid already in use"
    );

    let label = |gid: u64| RedoOp::AddLabel {
        gid,
        label: "L0".into(),
    };
    let partial = CommitRecord {
        commit_ts: 4,
        start_ts: 3,
        ops: vec![RedoOp::CreateVertex { gid: 5 }, label(5), label(99)],
    };
    let err = replica.apply_record(&partial).unwrap_err();
    assert!(
        matches!(&err, StorageError::InvalidRecord { commit_ts: 4, reason } if reason.contains("op 2")),
        "{err}"
    );
    assert!(
        !replica.begin().vertex_exists(5),
        "earlier ops of a refused record are undone"
    );
    assert_eq!(replica.delta_count(), 1, "only the first record's delta");

    let twice = CommitRecord {
        commit_ts: 5,
        start_ts: 4,
        ops: vec![label(0), label(0)],
    };
    assert!(
        invalid(replica.apply_record(&twice)),
        "a no-op means the record does not fit"
    );
    let edge = RedoOp::CreateEdge {
        gid: 0,
        from: 0,
        to: 0,
        edge_type: "T0".into(),
    };
    let has_edges = CommitRecord {
        commit_ts: 6,
        start_ts: 5,
        ops: vec![edge, RedoOp::DeleteVertex { gid: 0 }],
    };
    assert!(invalid(replica.apply_record(&has_edges)));
    let gone = CommitRecord {
        commit_ts: 7,
        start_ts: 6,
        ops: vec![RedoOp::DeleteEdge { gid: 3 }],
    };
    assert!(invalid(replica.apply_record(&gone)));
    assert_eq!(replica.last_commit_ts(), 2);

    // The slot of the refused gid 5 is still free for the real record.
    let late = CommitRecord {
        commit_ts: 9,
        start_ts: 8,
        ops: vec![RedoOp::CreateVertex { gid: 5 }, label(5)],
    };
    replica.apply_record(&late).unwrap();
    let tx = replica.begin();
    assert_eq!(tx.vertices().collect::<Vec<_>>(), vec![0, 5]);
    assert_eq!(tx.vertex_labels(5).unwrap().len(), 1);
}

#[test]
fn replay_goes_through_the_sink() {
    let replica = Storage::new(StorageConfig::default());
    let sink = Arc::new(Collect::default());
    replica.set_commit_sink(sink.clone());
    let record = CommitRecord {
        commit_ts: 7,
        start_ts: 3,
        ops: vec![RedoOp::CreateVertex { gid: 0 }],
    };
    *sink.fail.lock().unwrap() = true;
    assert_eq!(
        replica.apply_record(&record),
        Err(StorageError::CommitSink("replica disk full".into()))
    );
    assert!(!replica.begin().vertex_exists(0));
    *sink.fail.lock().unwrap() = false;
    replica.apply_record(&record).unwrap();
    assert_eq!(sink.records.lock().unwrap().as_slice(), &[record]);
    assert_eq!(replica.last_commit_ts(), 7);
}

#[test]
fn replay_of_detach_delete_and_property_removal() {
    let (main, sink) = main_with_sink();
    let (t, k) = (main.edge_type("T0"), main.property("k0"));
    let mut tx = main.begin();
    let hub = tx.create_vertex();
    let spokes: Vec<_> = (0..5).map(|_| tx.create_vertex()).collect();
    for s in &spokes {
        tx.create_edge(hub, *s, t).unwrap();
        tx.create_edge(*s, hub, t).unwrap();
    }
    tx.set_vertex_property(spokes[0], k, 1i64.into()).unwrap();
    tx.commit().unwrap();
    let mut tx = main.begin();
    tx.set_vertex_property(spokes[0], k, PropertyValue::Null)
        .unwrap();
    assert_eq!(tx.delete_vertex(hub, true).unwrap().edges_deleted.len(), 10);
    tx.commit().unwrap();

    let replica = Storage::new(StorageConfig::default());
    for record in sink.records.lock().unwrap().iter() {
        replica.apply_record(record).unwrap();
    }
    assert_eq!(dump(&replica.begin()), dump(&main.begin()));
    assert_eq!(replica.edge_count_approx(), 0);
}
