//! Operation-by-operation tests of the public API: visibility, timestamps, conflicts, abort,
//! deletes, the commit sink and garbage collection. Replay has its own file (`replay.rs`).

use std::sync::{Arc, Mutex};

use storage::{
    CommitRecord, CommitSink, EdgeRef, ObjectRef, PropertyValue, RedoOp, Storage, StorageConfig,
    StorageError, EDGE_TYPE_LIMIT,
};

fn storage() -> Arc<Storage> {
    Storage::new(StorageConfig::manual_gc())
}

fn conflict(result: Result<impl std::fmt::Debug, StorageError>) -> bool {
    matches!(result, Err(StorageError::SerializationConflict { .. }))
}

/// Collects every record it is handed; fails while `fail` holds a message.
#[derive(Default)]
struct RecordingSink {
    records: Mutex<Vec<CommitRecord>>,
    fail: Mutex<Option<String>>,
}

impl CommitSink for RecordingSink {
    fn on_commit(&self, record: &CommitRecord) -> Result<(), String> {
        if let Some(reason) = self.fail.lock().unwrap().clone() {
            return Err(reason);
        }
        self.records.lock().unwrap().push(record.clone());
        Ok(())
    }
}

#[test]
fn transaction_is_static_and_send() {
    fn assert_send_static<T: Send + 'static>() {}
    assert_send_static::<storage::Transaction>();
    assert_send_static::<storage::VertexIter>();
    fn assert_sync<T: Send + Sync>() {}
    assert_sync::<Storage>();
}

#[test]
fn one_clock_for_starts_and_commits() {
    let s = storage();
    assert_eq!(s.last_commit_ts(), 0);
    let mut w1 = s.begin();
    assert_eq!(w1.start_ts(), 1);
    w1.create_vertex();
    assert_eq!(w1.commit().unwrap().commit_ts, Some(2));
    let r = s.begin();
    assert_eq!(r.start_ts(), 3);
    assert_eq!(r.commit().unwrap().commit_ts, None);
    let mut w2 = s.begin();
    assert_eq!(w2.start_ts(), 4);
    w2.create_vertex();
    assert_eq!(w2.commit().unwrap().commit_ts, Some(5));
    assert_eq!(s.last_commit_ts(), 5);
    // A read-only commit takes no tick: the next start is 6.
    let r = s.begin();
    assert_eq!(r.start_ts(), 6);
    assert_eq!(r.snapshot_ts(), 5);
}

#[test]
fn create_vertex_visibility() {
    let s = storage();
    let mut writer = s.begin();
    let before = s.begin();
    let v = writer.create_vertex();
    assert_eq!(v, 0);
    assert!(writer.vertex_exists(v));
    assert!(!before.vertex_exists(v), "no dirty reads");
    assert_eq!(
        before.vertex_labels(v),
        Err(StorageError::VertexNotFound(v))
    );
    let during = s.begin();
    writer.commit().unwrap();
    assert!(!before.vertex_exists(v), "a running snapshot does not move");
    assert!(!during.vertex_exists(v), "began before the commit");
    assert!(s.begin().vertex_exists(v));
    assert!(!s.begin().vertex_exists(99));
    assert_eq!(s.vertex_count_approx(), 1);
}

#[test]
fn labels() {
    let s = storage();
    let (a, b) = (s.label("A"), s.label("B"));
    let mut tx = s.begin();
    let v = tx.create_vertex();
    assert_eq!(tx.add_label(v, b), Ok(true));
    assert_eq!(tx.add_label(v, a), Ok(true));
    assert_eq!(tx.add_label(v, a), Ok(false));
    assert_eq!(tx.vertex_labels(v), Ok(vec![a, b]));
    assert_eq!(tx.remove_label(v, b), Ok(true));
    assert_eq!(tx.remove_label(v, b), Ok(false));
    assert_eq!(tx.vertex_has_label(v, a), Ok(true));
    assert_eq!(tx.vertex_has_label(v, b), Ok(false));
    let stats = tx.commit().unwrap().stats;
    assert_eq!((stats.labels_added, stats.labels_removed), (2, 1));

    let reader = s.begin();
    let mut writer = s.begin();
    writer.add_label(v, b).unwrap();
    writer.remove_label(v, a).unwrap();
    assert_eq!(writer.vertex_labels(v), Ok(vec![b]));
    assert_eq!(reader.vertex_labels(v), Ok(vec![a]));
    writer.commit().unwrap();
    assert_eq!(reader.vertex_labels(v), Ok(vec![a]), "repeatable read");
    assert_eq!(reader.vertex_has_label(v, b), Ok(false));
    assert_eq!(s.begin().vertex_labels(v), Ok(vec![b]));
    assert_eq!(
        s.begin().add_label(42, a),
        Err(StorageError::VertexNotFound(42))
    );
}

#[test]
fn vertex_properties() {
    let s = storage();
    let (name, age) = (s.property("name"), s.property("age"));
    let mut tx = s.begin();
    let v = tx.create_vertex();
    assert_eq!(
        tx.set_vertex_property(v, name, "Ada".into()),
        Ok(PropertyValue::Null)
    );
    assert_eq!(
        tx.set_vertex_property(v, age, 36i64.into()),
        Ok(PropertyValue::Null)
    );
    assert_eq!(
        tx.set_vertex_property(v, name, "Grace".into()),
        Ok("Ada".into())
    );
    assert_eq!(
        tx.vertex_properties(v),
        Ok(vec![(name, "Grace".into()), (age, PropertyValue::Int(36))])
    );
    assert_eq!(
        tx.set_vertex_property(v, age, PropertyValue::Null),
        Ok(36i64.into())
    );
    assert_eq!(tx.vertex_property(v, age), Ok(PropertyValue::Null));
    assert_eq!(tx.vertex_properties(v), Ok(vec![(name, "Grace".into())]));
    assert_eq!(tx.stats().properties_set, 4);
    tx.commit().unwrap();

    let reader = s.begin();
    let mut writer = s.begin();
    writer.set_vertex_property(v, name, "Lin".into()).unwrap();
    writer.set_vertex_property(v, age, 1i64.into()).unwrap();
    writer.commit().unwrap();
    assert_eq!(
        reader.vertex_property(v, name),
        Ok("Grace".into()),
        "repeatable read"
    );
    assert_eq!(
        reader.vertex_properties(v),
        Ok(vec![(name, "Grace".into())])
    );
    let after = s.begin();
    assert_eq!(after.vertex_property(v, name), Ok("Lin".into()));
    assert_eq!(after.vertex_property(v, age), Ok(1i64.into()));
}

#[test]
fn writing_the_same_value_records_no_change() {
    let s = storage();
    let k = s.property("k");
    let mut tx = s.begin();
    let v = tx.create_vertex();
    tx.set_vertex_property(v, k, 1i64.into()).unwrap();
    tx.commit().unwrap();
    let mut tx = s.begin();
    assert_eq!(tx.set_vertex_property(v, k, 1i64.into()), Ok(1i64.into()));
    assert_eq!(
        tx.set_vertex_property(v, s.property("absent"), PropertyValue::Null),
        Ok(PropertyValue::Null)
    );
    assert!(tx.is_read_only());
    assert_eq!(tx.commit().unwrap().commit_ts, None);
}

#[test]
fn edges_and_adjacency() {
    let s = storage();
    let (knows, likes, w) = (s.edge_type("KNOWS"), s.edge_type("LIKES"), s.property("w"));
    let mut tx = s.begin();
    let (a, b) = (tx.create_vertex(), tx.create_vertex());
    let e0 = tx.create_edge(a, b, knows).unwrap();
    let e1 = tx.create_edge(b, a, likes).unwrap();
    let lp = tx.create_edge(a, a, likes).unwrap();
    assert_eq!((e0, e1, lp), (0, 1, 2));
    let ab = EdgeRef {
        gid: e0,
        from: a,
        to: b,
        ty: knows,
    };
    let ba = EdgeRef {
        gid: e1,
        from: b,
        to: a,
        ty: likes,
    };
    let aa = EdgeRef {
        gid: lp,
        from: a,
        to: a,
        ty: likes,
    };
    assert_eq!(tx.out_edges(a), Ok(vec![ab, aa]));
    assert_eq!(tx.in_edges(a), Ok(vec![ba, aa]));
    assert_eq!(tx.out_edges(b), Ok(vec![ba]));
    assert_eq!(tx.edge(e0), Some(ab));
    assert_eq!(
        tx.set_edge_property(e0, w, 0.5.into()),
        Ok(PropertyValue::Null)
    );
    assert_eq!(tx.edge_property(e0, w), Ok(0.5.into()));
    assert_eq!(tx.edge_properties(e0), Ok(vec![(w, 0.5.into())]));
    assert_eq!(
        tx.create_edge(a, 77, knows),
        Err(StorageError::VertexNotFound(77))
    );
    tx.commit().unwrap();
    assert_eq!(s.edge_count_approx(), 3);

    let reader = s.begin();
    let mut tx = s.begin();
    assert_eq!(tx.delete_edge(lp), Ok(true));
    assert_eq!(tx.delete_edge(lp), Ok(false));
    assert_eq!(tx.edge(lp), None);
    assert_eq!(tx.out_edges(a), Ok(vec![ab]));
    assert_eq!(
        tx.edge_property(lp, w),
        Err(StorageError::DeletedObject {
            object: ObjectRef::Edge(lp)
        })
    );
    assert_eq!(
        tx.set_edge_property(lp, w, 1i64.into()),
        Err(StorageError::DeletedObject {
            object: ObjectRef::Edge(lp)
        })
    );
    assert_eq!(tx.set_edge_property(e0, w, 2.5.into()), Ok(0.5.into()));
    tx.commit().unwrap();
    assert_eq!(reader.out_edges(a), Ok(vec![ab, aa]), "repeatable read");
    assert_eq!(reader.edge(lp), Some(aa));
    assert_eq!(reader.edge_property(e0, w), Ok(0.5.into()));
    let mut after = s.begin();
    assert_eq!(after.edge(lp), None);
    assert_eq!(
        after.edge_property(lp, w),
        Err(StorageError::EdgeNotFound(lp))
    );
    assert_eq!(after.delete_edge(lp), Err(StorageError::EdgeNotFound(lp)));
    assert_eq!(after.delete_edge(99), Err(StorageError::EdgeNotFound(99)));
    assert_eq!(s.edge_count_approx(), 2);
}

#[test]
fn delete_vertex_with_and_without_detach() {
    let s = storage();
    let t = s.edge_type("T");
    let k = s.property("k");
    let mut tx = s.begin();
    let (a, b, c) = (tx.create_vertex(), tx.create_vertex(), tx.create_vertex());
    let e0 = tx.create_edge(a, b, t).unwrap();
    let e1 = tx.create_edge(c, a, t).unwrap();
    let e2 = tx.create_edge(a, a, t).unwrap();
    tx.commit().unwrap();

    let mut tx = s.begin();
    assert_eq!(
        tx.delete_vertex(a, false),
        Err(StorageError::VertexHasEdges(a))
    );
    assert!(tx.is_read_only(), "a refused delete changes nothing");
    let outcome = tx.delete_vertex(a, true).unwrap();
    assert!(outcome.deleted);
    assert_eq!(outcome.edges_deleted, vec![e0, e1, e2]);
    assert_eq!(tx.delete_vertex(a, true).map(|o| o.deleted), Ok(false));
    assert!(!tx.vertex_exists(a));
    let deleted = StorageError::DeletedObject {
        object: ObjectRef::Vertex(a),
    };
    assert_eq!(tx.vertex_labels(a), Err(deleted.clone()));
    assert_eq!(
        tx.set_vertex_property(a, k, 1i64.into()),
        Err(deleted.clone())
    );
    assert_eq!(tx.create_edge(b, a, t), Err(deleted));
    assert_eq!(tx.in_edges(b), Ok(vec![]));
    assert_eq!(tx.out_edges(c), Ok(vec![]));
    assert_eq!(tx.delete_vertex(b, false).map(|o| o.deleted), Ok(true));
    let stats = tx.commit().unwrap().stats;
    assert_eq!((stats.vertices_deleted, stats.edges_deleted), (2, 3));
    let after = s.begin();
    assert_eq!(after.vertices().collect::<Vec<_>>(), vec![c]);
    assert_eq!(after.edge(e1), None);
    assert_eq!(s.vertex_count_approx(), 1);
    assert_eq!(s.edge_count_approx(), 0);
}

#[test]
fn first_writer_wins() {
    let s = storage();
    let k = s.property("k");
    let mut setup = s.begin();
    let v = setup.create_vertex();
    setup.commit().unwrap();

    let mut t1 = s.begin();
    let mut t2 = s.begin();
    t1.set_vertex_property(v, k, 1i64.into()).unwrap();
    let err = t2.set_vertex_property(v, k, 2i64.into()).unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(
        err,
        StorageError::SerializationConflict {
            object: ObjectRef::Vertex(v)
        }
    );
    t1.commit().unwrap();
    // Committed after t2 started: still a conflict (no lost update).
    assert!(conflict(t2.set_vertex_property(v, k, 2i64.into())));
    assert!(conflict(t2.add_label(v, s.label("L"))));
    assert!(conflict(t2.delete_vertex(v, true)));
    t2.abort();
    let mut t3 = s.begin();
    assert_eq!(t3.set_vertex_property(v, k, 3i64.into()), Ok(1i64.into()));
    t3.commit().unwrap();
}

#[test]
fn edge_writes_conflict_on_endpoints_and_edge() {
    let s = storage();
    let (t, k) = (s.edge_type("T"), s.property("k"));
    let mut setup = s.begin();
    let (a, b, c) = (
        setup.create_vertex(),
        setup.create_vertex(),
        setup.create_vertex(),
    );
    let e = setup.create_edge(a, b, t).unwrap();
    setup.commit().unwrap();

    let mut t1 = s.begin();
    let mut t2 = s.begin();
    t1.add_label(b, s.label("L")).unwrap();
    assert!(
        conflict(t2.create_edge(c, b, t)),
        "an edge writes both endpoints"
    );
    assert!(conflict(t2.delete_edge(e)));
    assert!(
        t2.create_edge(c, a, t).is_ok(),
        "untouched endpoints are fine"
    );
    t2.set_edge_property(e, k, 1i64.into()).unwrap();
    let mut t3 = s.begin();
    assert!(
        conflict(t3.delete_edge(e)),
        "the edge itself carries t2's change"
    );
    assert!(conflict(t3.delete_vertex(c, true)));
    t1.commit().unwrap();
    t2.commit().unwrap();
    t3.abort();
}

#[test]
fn conflicts_are_reported_only_for_visible_objects() {
    let s = storage();
    let mut creator = s.begin();
    let mut other = s.begin();
    let v = creator.create_vertex();
    assert_eq!(
        other.add_label(v, s.label("L")),
        Err(StorageError::VertexNotFound(v))
    );
    assert_eq!(
        other.delete_vertex(v, false),
        Err(StorageError::VertexNotFound(v))
    );
    creator.commit().unwrap();
    assert_eq!(
        other.add_label(v, s.label("L")),
        Err(StorageError::VertexNotFound(v))
    );
}

#[test]
fn abort_restores_everything() {
    let s = storage();
    let (t, k, l) = (s.edge_type("T"), s.property("k"), s.label("L"));
    let mut setup = s.begin();
    let (a, b) = (setup.create_vertex(), setup.create_vertex());
    setup.set_vertex_property(a, k, "old".into()).unwrap();
    setup.add_label(a, l).unwrap();
    let e = setup.create_edge(a, b, t).unwrap();
    setup.commit().unwrap();
    s.gc();
    assert_eq!(s.delta_count(), 0);

    let mut tx = s.begin();
    let c = tx.create_vertex();
    tx.set_vertex_property(a, k, "new".into()).unwrap();
    tx.remove_label(a, l).unwrap();
    tx.create_edge(b, c, t).unwrap();
    tx.delete_vertex(a, true).unwrap();
    assert!(s.delta_count() > 0);
    tx.abort();
    assert_eq!(s.delta_count(), 0);

    let check = s.begin();
    assert!(!check.vertex_exists(c));
    assert_eq!(check.vertex_property(a, k), Ok("old".into()));
    assert_eq!(check.vertex_labels(a), Ok(vec![l]));
    assert_eq!(
        check.out_edges(a),
        Ok(vec![EdgeRef {
            gid: e,
            from: a,
            to: b,
            ty: t
        }])
    );
    assert_eq!(check.out_edges(b), Ok(vec![]));
    drop(check);

    // Dropping aborts too; gids are not reused.
    {
        let mut tx = s.begin();
        tx.set_vertex_property(b, k, 1i64.into()).unwrap();
        assert_eq!(tx.create_vertex(), 3);
    }
    assert_eq!(s.delta_count(), 0);
    assert_eq!(s.active_transactions(), 0);
    let mut tx = s.begin();
    assert_eq!(tx.vertex_property(b, k), Ok(PropertyValue::Null));
    assert_eq!(tx.create_vertex(), 4);
    // An aborted writer does not block the next one.
    tx.set_vertex_property(b, k, 2i64.into()).unwrap();
    tx.commit().unwrap();
}

#[test]
fn write_skew_is_allowed() {
    let s = storage();
    let on_call = s.property("on_call");
    let mut setup = s.begin();
    let (alice, bob) = (setup.create_vertex(), setup.create_vertex());
    for v in [alice, bob] {
        setup.set_vertex_property(v, on_call, true.into()).unwrap();
    }
    setup.commit().unwrap();
    let mut t1 = s.begin();
    let mut t2 = s.begin();
    let count = |tx: &storage::Transaction| {
        [alice, bob]
            .iter()
            .filter(|v| tx.vertex_property(**v, on_call) == Ok(true.into()))
            .count()
    };
    assert_eq!((count(&t1), count(&t2)), (2, 2));
    t1.set_vertex_property(alice, on_call, false.into())
        .unwrap();
    t2.set_vertex_property(bob, on_call, false.into()).unwrap();
    t1.commit().unwrap();
    t2.commit().unwrap();
    assert_eq!(
        count(&s.begin()),
        0,
        "both committed: snapshot isolation permits write skew"
    );
}

#[test]
fn vertex_scans() {
    let s = storage();
    let l = s.label("L");
    let mut tx = s.begin();
    let vs: Vec<_> = (0..6).map(|_| tx.create_vertex()).collect();
    for v in [vs[1], vs[4]] {
        tx.add_label(v, l).unwrap();
    }
    tx.commit().unwrap();
    let mut tx = s.begin();
    tx.delete_vertex(vs[2], false).unwrap();
    let mut scan = tx.vertices();
    assert_eq!(scan.next(), Some(vs[0]));
    // The scan runs while the transaction writes: deletions show, creations do not.
    tx.create_vertex();
    tx.delete_vertex(vs[3], false).unwrap();
    assert_eq!(scan.collect::<Vec<_>>(), vec![vs[1], vs[4], vs[5]]);
    assert_eq!(
        tx.vertices_with_label(l).collect::<Vec<_>>(),
        vec![vs[1], vs[4]]
    );
    assert_eq!(tx.vertex_gid_bound(), 7);
    assert_eq!(
        s.begin().vertices().count(),
        6,
        "uncommitted changes are invisible"
    );
}

#[test]
fn sink_sees_each_commit_in_order_with_names() {
    let s = storage();
    let sink = Arc::new(RecordingSink::default());
    s.set_commit_sink(sink.clone());
    let mut tx = s.begin();
    let v = tx.create_vertex();
    tx.add_label(v, s.label("Person")).unwrap();
    tx.set_vertex_property(v, s.property("name"), "Ada".into())
        .unwrap();
    let e = tx.create_edge(v, v, s.edge_type("SELF")).unwrap();
    tx.commit().unwrap();
    s.begin().commit().unwrap();
    let mut tx = s.begin();
    tx.delete_vertex(v, true).unwrap();
    tx.commit().unwrap();

    let records = sink.records.lock().unwrap().clone();
    assert_eq!(records.len(), 2, "read-only commits produce no record");
    assert_eq!((records[0].start_ts, records[0].commit_ts), (1, 2));
    assert_eq!(
        records[0].ops,
        vec![
            RedoOp::CreateVertex { gid: v },
            RedoOp::AddLabel {
                gid: v,
                label: "Person".into()
            },
            RedoOp::SetVertexProperty {
                gid: v,
                key: "name".into(),
                value: "Ada".into()
            },
            RedoOp::CreateEdge {
                gid: e,
                from: v,
                to: v,
                edge_type: "SELF".into()
            },
        ]
    );
    assert_eq!(records[1].commit_ts, 5);
    assert_eq!(
        records[1].ops,
        vec![
            RedoOp::DeleteEdge { gid: e },
            RedoOp::DeleteVertex { gid: v }
        ]
    );
}

#[test]
fn failing_sink_aborts_the_commit() {
    let s = storage();
    let sink = Arc::new(RecordingSink::default());
    s.set_commit_sink(sink.clone());
    *sink.fail.lock().unwrap() = Some("disk full".into());
    let mut tx = s.begin();
    let v = tx.create_vertex();
    assert_eq!(
        tx.commit(),
        Err(StorageError::CommitSink("disk full".into()))
    );
    assert!(!s.begin().vertex_exists(v));
    assert_eq!(s.last_commit_ts(), 0);
    assert_eq!(s.delta_count(), 0);
    assert_eq!(s.active_transactions(), 0);
    *sink.fail.lock().unwrap() = None;
    let mut tx = s.begin();
    tx.create_vertex();
    let ts = tx.commit().unwrap().commit_ts.unwrap();
    assert!(ts > 2, "the failed commit's timestamp is not reused");
    assert_eq!(sink.records.lock().unwrap().len(), 1);
}

#[test]
fn gc_keeps_what_running_transactions_need() {
    let s = storage();
    let k = s.property("k");
    let mut tx = s.begin();
    let v = tx.create_vertex();
    tx.set_vertex_property(v, k, 0i64.into()).unwrap();
    tx.commit().unwrap();
    let old_reader = s.begin();
    for i in 1..=3i64 {
        let mut tx = s.begin();
        tx.set_vertex_property(v, k, i.into()).unwrap();
        tx.commit().unwrap();
    }
    let stats = s.gc();
    assert_eq!(
        stats.commits_collected, 1,
        "only the commit before the old reader"
    );
    assert_eq!(s.delta_count(), 3);
    assert_eq!(old_reader.vertex_property(v, k), Ok(0i64.into()));
    drop(old_reader);
    let stats = s.gc();
    assert_eq!((stats.commits_collected, stats.deltas_freed), (3, 3));
    assert_eq!(s.delta_count(), 0);
    assert_eq!(s.begin().vertex_property(v, k), Ok(3i64.into()));

    let mut tx = s.begin();
    tx.delete_vertex(v, false).unwrap();
    tx.commit().unwrap();
    let stats = s.gc();
    assert_eq!(stats.objects_freed, 1);
    assert!(!s.begin().vertex_exists(v));
    assert_eq!(
        s.gc(),
        storage::GcStats {
            oldest_snapshot_ts: s.last_commit_ts(),
            ..Default::default()
        }
    );
}

#[test]
fn automatic_gc_runs_every_n_commits() {
    let s = Storage::new(StorageConfig {
        gc_every_commits: 4,
        gc_every_changes: 0,
    });
    for _ in 0..8 {
        let mut tx = s.begin();
        tx.create_vertex();
        tx.commit().unwrap();
    }
    assert_eq!(s.delta_count(), 0);
    assert_eq!(StorageConfig::default().gc_every_commits, 1024);
}

#[test]
fn automatic_gc_runs_after_enough_changes() {
    let s = Storage::new(StorageConfig {
        gc_every_commits: 0,
        gc_every_changes: 100,
    });
    let mut tx = s.begin();
    for _ in 0..99 {
        tx.create_vertex();
    }
    tx.commit().unwrap();
    assert_eq!(s.delta_count(), 99, "below the threshold");
    let mut tx = s.begin();
    tx.create_vertex();
    tx.commit().unwrap();
    assert_eq!(s.delta_count(), 0);
}

#[test]
fn many_small_transactions_commit() {
    let s = Storage::new(StorageConfig::default());
    let started = std::time::Instant::now();
    for _ in 0..100_000 {
        let mut tx = s.begin();
        tx.create_vertex();
        tx.commit().unwrap();
    }
    let elapsed = started.elapsed();
    println!("100k single-vertex transactions: {elapsed:?}");
    // Printed, not asserted: a timing is a benchmark's business, not a test's.
    assert_eq!(s.vertex_count_approx(), 100_000);
    assert_eq!(s.begin().vertices().count(), 100_000);
}

#[test]
fn a_panicking_sink_leaves_nothing_behind() {
    struct Panics;
    impl CommitSink for Panics {
        fn on_commit(&self, _: &CommitRecord) -> Result<(), String> {
            panic!("sink bug");
        }
    }
    let s = storage();
    s.set_commit_sink(Arc::new(Panics));
    let k = s.property("k");
    let mut setup = s.begin();
    let v = setup.create_vertex();
    let storage = s.clone();
    let outcome = std::thread::spawn(move || {
        let mut tx = storage.begin();
        tx.create_vertex();
        tx.commit()
    })
    .join();
    assert!(outcome.is_err(), "the panic reaches the committer");
    assert_eq!(s.active_transactions(), 1, "only `setup` is left");
    assert_eq!(s.delta_count(), 1, "only `setup`'s delta");
    setup.set_vertex_property(v, k, 1i64.into()).unwrap();
    setup.abort();
    assert_eq!(s.delta_count(), 0);
}

#[test]
fn relationship_types_beyond_the_limit_are_refused() {
    let s = storage();
    for i in 0..EDGE_TYPE_LIMIT {
        s.edge_type(&format!("T{i}"));
    }
    let last = s.edge_type(&format!("T{}", EDGE_TYPE_LIMIT - 1));
    let beyond = s.edge_type("ONE_TOO_MANY");
    assert_eq!(last.0, EDGE_TYPE_LIMIT - 1);
    let mut tx = s.begin();
    let (a, b) = (tx.create_vertex(), tx.create_vertex());
    let e = tx.create_edge(a, b, last).unwrap();
    assert!(matches!(
        tx.create_edge(a, b, beyond),
        Err(StorageError::Limit(message)) if message.contains("ONE_TOO_MANY")
    ));
    assert_eq!(tx.out_edges(a).unwrap().len(), 1);
    assert_eq!(tx.edge(e).map(|r| r.ty), Some(last));
    tx.commit().unwrap();
}
