//! Two-phase replay (a STRICT_SYNC replica): `prepare_record` replays a record invisibly,
//! `PreparedRecord::commit` publishes it at its own timestamp, `abort` (or drop) leaves nothing.

use std::sync::{Arc, Mutex};

use storage::{
    CommitRecord, CommitSink, CommitWarning, ConstraintInfo, PreparedRecord, PropertyValue, RedoOp,
    Storage, StorageConfig, StorageError,
};

/// Logs what it accepts and every `after_commit`; refuses while `fail` is set.
#[derive(Default)]
struct Log {
    records: Mutex<Vec<u64>>,
    finished: Mutex<Vec<u64>>,
    fail: Mutex<bool>,
}

impl CommitSink for Log {
    fn on_commit(&self, record: &CommitRecord) -> Result<(), String> {
        if *self.fail.lock().unwrap() {
            return Err("replica disk full".into());
        }
        self.records.lock().unwrap().push(record.commit_ts);
        Ok(())
    }

    fn after_commit(&self, commit_ts: u64) -> Vec<CommitWarning> {
        self.finished.lock().unwrap().push(commit_ts);
        Vec::new()
    }
}

fn replica() -> (Arc<Storage>, Arc<Log>) {
    let storage = Storage::new(StorageConfig::manual_gc());
    let log = Arc::new(Log::default());
    storage.set_commit_sink(log.clone());
    (storage, log)
}

/// Creates `gid` with label `:Person` and `id = gid`.
fn person(commit_ts: u64, gid: u64) -> CommitRecord {
    CommitRecord {
        commit_ts,
        start_ts: commit_ts - 1,
        ops: vec![
            RedoOp::CreateVertex { gid },
            RedoOp::AddLabel {
                gid,
                label: "Person".into(),
            },
            RedoOp::SetVertexProperty {
                gid,
                key: "id".into(),
                value: PropertyValue::Int(gid as i64),
            },
        ],
    }
}

fn schema(commit_ts: u64, op: RedoOp) -> CommitRecord {
    CommitRecord {
        commit_ts,
        start_ts: commit_ts,
        ops: vec![op],
    }
}

fn invalid(result: Result<impl std::fmt::Debug, StorageError>) -> bool {
    matches!(result, Err(StorageError::InvalidRecord { .. }))
}

#[test]
fn prepared_records_are_send_and_static() {
    fn assert_send_static<T: Send + 'static>() {}
    assert_send_static::<PreparedRecord>();
}

#[test]
fn prepare_then_commit_publishes_at_the_record_timestamp() {
    let (s, log) = replica();
    let before = s.begin();
    let prepared = s.prepare_record(&person(7, 0)).unwrap();
    assert_eq!(prepared.commit_ts(), 7);
    // Prepared: in place, but nobody sees it, and nothing was logged yet.
    let during = s.begin();
    assert!(!during.vertex_exists(0));
    assert!(!before.vertex_exists(0));
    assert_eq!(s.last_commit_ts(), 0);
    assert_eq!(s.vertex_count_approx(), 0);
    assert!(log.records.lock().unwrap().is_empty());

    // The commit may come from another thread.
    std::thread::spawn(move || prepared.commit())
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(s.last_commit_ts(), 7);
    assert_eq!(*log.records.lock().unwrap(), vec![7]);
    assert_eq!(*log.finished.lock().unwrap(), vec![7]);
    assert!(!during.vertex_exists(0), "snapshots keep their view");
    let after = s.begin();
    assert!(after.start_ts() > 7, "the clock moved past the record");
    assert!(after.vertex_exists(0));
    assert_eq!(
        after.vertex_property(0, s.property("id")).unwrap(),
        PropertyValue::Int(0)
    );
    assert_eq!(s.vertex_count_approx(), 1);
}

#[test]
fn abort_and_drop_leave_nothing() {
    let (s, log) = replica();
    s.apply_record(&person(3, 0)).unwrap();
    let deltas = s.delta_count();

    let prepared = s.prepare_record(&person(5, 1)).unwrap();
    assert!(s.delta_count() > deltas);
    prepared.abort();
    assert_eq!(s.delta_count(), deltas);
    {
        let _dropped = s.prepare_record(&person(5, 1)).unwrap();
    }
    assert_eq!(s.delta_count(), deltas);
    assert_eq!(s.last_commit_ts(), 3);
    assert_eq!(*log.records.lock().unwrap(), vec![3]);
    assert_eq!(*log.finished.lock().unwrap(), vec![3]);
    assert_eq!(s.begin().vertices().collect::<Vec<_>>(), vec![0]);

    // The gid and the timestamp are free again: the same record applies.
    s.apply_record(&person(5, 1)).unwrap();
    assert_eq!(s.begin().vertices().collect::<Vec<_>>(), vec![0, 1]);
}

#[test]
fn a_bad_record_fails_at_prepare_and_leaves_nothing() {
    let (s, log) = replica();
    s.apply_record(&person(3, 0)).unwrap();
    let deltas = s.delta_count();

    assert!(invalid(s.prepare_record(&person(3, 1))), "stale timestamp");
    assert!(invalid(s.prepare_record(&person(4, 0))), "gid in use");
    let mut partial = person(4, 1);
    partial.ops.push(RedoOp::DeleteEdge { gid: 9 });
    let err = s.prepare_record(&partial).unwrap_err();
    assert!(
        matches!(&err, StorageError::InvalidRecord { commit_ts: 4, reason } if reason.contains("op 3")),
        "{err}"
    );
    assert_eq!(s.delta_count(), deltas);
    assert!(!s.begin().vertex_exists(1));
    assert_eq!(*log.records.lock().unwrap(), vec![3]);

    // A constraint the replica's data violates fails at prepare, not at commit.
    let violated = schema(
        4,
        RedoOp::CreateExistenceConstraint {
            label: "Person".into(),
            property: "name".into(),
        },
    );
    assert!(invalid(s.prepare_record(&violated)));
    assert!(s.constraint_info().is_empty());

    // Nothing is left prepared: the next good record goes through.
    s.prepare_record(&person(4, 1)).unwrap().commit().unwrap();
    assert_eq!(s.last_commit_ts(), 4);
}

#[test]
fn one_record_at_a_time() {
    let (s, _log) = replica();
    let first = s.prepare_record(&person(3, 0)).unwrap();
    let err = s.prepare_record(&person(4, 1)).unwrap_err();
    assert!(
        matches!(&err, StorageError::InvalidRecord { commit_ts: 4, reason } if reason.contains("record 3")),
        "{err}"
    );
    assert!(invalid(s.apply_record(&person(4, 1))));
    assert!(!s.begin().vertex_exists(1), "the refused one left nothing");
    first.commit().unwrap();
    s.prepare_record(&person(4, 1)).unwrap().commit().unwrap();
    let tx = s.begin();
    assert_eq!(tx.vertices().collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(s.last_commit_ts(), 4);
}

#[test]
fn schema_ops_take_effect_at_commit_and_vanish_on_abort() {
    let (s, log) = replica();
    s.apply_record(&person(3, 0)).unwrap();
    let (label, id) = (s.label("Person"), s.property("id"));
    let index = schema(
        4,
        RedoOp::CreateIndex {
            label: "Person".into(),
            property: Some("id".into()),
        },
    );
    s.prepare_record(&index).unwrap().abort();
    assert!(!s.has_label_property_index(label, id));

    let prepared = s.prepare_record(&index).unwrap();
    assert!(!s.has_label_property_index(label, id), "not before commit");
    prepared.commit().unwrap();
    assert!(s.has_label_property_index(label, id));

    let unique = schema(
        5,
        RedoOp::CreateUniqueConstraint {
            label: "Person".into(),
            properties: vec!["id".into()],
        },
    );
    drop(s.prepare_record(&unique).unwrap());
    assert!(s.constraint_info().is_empty());
    s.prepare_record(&unique).unwrap().commit().unwrap();
    assert_eq!(
        s.constraint_info(),
        vec![ConstraintInfo::Unique {
            label,
            properties: vec![id],
        }]
    );
    assert_eq!(*log.finished.lock().unwrap(), vec![3, 4, 5]);
}

#[test]
fn a_refused_commit_rolls_back_data_and_schema() {
    let (s, log) = replica();
    let (label, id) = (s.label("Person"), s.property("id"));
    let data = s.prepare_record(&person(3, 0)).unwrap();
    *log.fail.lock().unwrap() = true;
    assert_eq!(
        data.commit(),
        Err(StorageError::CommitSink("replica disk full".into()))
    );
    assert!(!s.begin().vertex_exists(0));
    let index = schema(
        4,
        RedoOp::CreateIndex {
            label: "Person".into(),
            property: Some("id".into()),
        },
    );
    assert!(s.prepare_record(&index).unwrap().commit().is_err());
    assert!(
        !s.has_label_property_index(label, id),
        "the index is undone"
    );
    assert!(log.finished.lock().unwrap().is_empty());
    assert_eq!(s.last_commit_ts(), 0);

    *log.fail.lock().unwrap() = false;
    s.prepare_record(&person(3, 0)).unwrap().commit().unwrap();
    s.apply_record(&index).unwrap();
    assert!(s.has_label_property_index(label, id));
    assert_eq!(*log.records.lock().unwrap(), vec![3, 4]);
}

#[test]
fn read_only_mode_does_not_block_replication() {
    let (s, _log) = replica();
    s.set_read_only(true);
    s.prepare_record(&person(3, 0)).unwrap().commit().unwrap();
    assert!(s.begin().vertex_exists(0));
}

#[test]
fn a_prepared_record_keeps_its_constraint_entries_when_a_constraint_comes_first() {
    // Not read-only: a local schema change lands between prepare and commit. The record's
    // vertex must still be covered by the new unique constraint once it commits.
    let (s, _log) = replica();
    s.apply_record(&person(3, 0)).unwrap();
    let prepared = s.prepare_record(&person(9, 1)).unwrap();
    let (label, id) = (s.label("Person"), s.property("id"));
    assert!(s.create_unique_constraint(label, vec![id]).unwrap());
    prepared.commit().unwrap();
    let mut tx = s.begin();
    let v = tx.create_vertex();
    tx.add_label(v, label).unwrap();
    tx.set_vertex_property(v, id, PropertyValue::Int(1))
        .unwrap();
    assert!(matches!(tx.commit(), Err(StorageError::Constraint(_))));
}
