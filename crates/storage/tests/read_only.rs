//! Read-only mode (a replica): local writes and schema changes are refused, replication's
//! `apply_record` is not.

use std::sync::{Arc, Mutex};

use storage::{
    CommitRecord, CommitSink, ConstraintInfo, RedoOp, Storage, StorageConfig, StorageError,
};

#[derive(Default)]
struct Collect {
    records: Mutex<Vec<CommitRecord>>,
}

impl CommitSink for Collect {
    fn on_commit(&self, record: &CommitRecord) -> Result<(), String> {
        self.records.lock().unwrap().push(record.clone());
        Ok(())
    }
}

fn read_only(result: Result<impl std::fmt::Debug, StorageError>) -> bool {
    matches!(result, Err(StorageError::ReadOnly))
}

#[test]
fn local_writes_are_refused_and_rolled_back() {
    let s = Storage::new(StorageConfig::manual_gc());
    let k = s.property("k");
    let mut setup = s.begin();
    let v = setup.create_vertex();
    setup.commit().unwrap();
    let sink = Arc::new(Collect::default());
    s.set_commit_sink(sink.clone());
    assert!(!s.is_read_only());
    s.set_read_only(true);
    assert!(s.is_read_only());

    let (last, deltas) = (s.last_commit_ts(), s.delta_count());
    let mut tx = s.begin();
    tx.set_vertex_property(v, k, 1i64.into()).unwrap();
    let w = tx.create_vertex();
    let err = tx.commit().unwrap_err();
    assert_eq!(err, StorageError::ReadOnly);
    assert!(
        !err.is_retryable(),
        "the client must go to the main instance"
    );
    assert!(err
        .to_string()
        .starts_with("Write queries are forbidden on the replica"));
    assert_eq!(s.last_commit_ts(), last);
    assert!(
        sink.records.lock().unwrap().is_empty(),
        "nothing was logged"
    );
    assert_eq!(s.active_transactions(), 0);
    assert_eq!(s.delta_count(), deltas, "rolled back");
    let reader = s.begin();
    assert!(!reader.vertex_exists(w));
    assert!(reader.vertex_property(v, k).unwrap().is_null());
    // Reads, and transactions that changed nothing, still commit.
    assert_eq!(reader.commit().unwrap().commit_ts, None);

    // The vertex is not locked by the refused transaction: once writable again, it commits.
    s.set_read_only(false);
    let mut tx = s.begin();
    tx.set_vertex_property(v, k, 2i64.into()).unwrap();
    assert!(tx.commit().unwrap().commit_ts.is_some());
}

#[test]
fn schema_changes_are_refused_before_changing_anything() {
    let s = Storage::new(StorageConfig::manual_gc());
    let sink = Arc::new(Collect::default());
    s.set_commit_sink(sink.clone());
    let (person, id, name) = (s.label("Person"), s.property("id"), s.property("name"));
    s.create_index(person, Some(id)).unwrap();
    s.create_existence_constraint(person, id).unwrap();
    let logged = sink.records.lock().unwrap().len();
    s.set_read_only(true);

    assert!(read_only(s.create_index(person, None)));
    assert!(read_only(s.create_index(person, Some(name))));
    assert!(read_only(s.drop_index(person, Some(id))));
    assert!(read_only(s.create_existence_constraint(person, name)));
    assert!(read_only(s.create_unique_constraint(person, vec![id])));
    assert!(read_only(s.drop_constraint(&ConstraintInfo::Exists {
        label: person,
        property: id,
    })));

    assert!(!s.has_label_index(person));
    assert!(!s.has_label_property_index(person, name));
    assert!(s.has_label_property_index(person, id));
    assert_eq!(
        s.constraint_info(),
        vec![ConstraintInfo::Exists {
            label: person,
            property: id,
        }]
    );
    assert_eq!(sink.records.lock().unwrap().len(), logged);
}

#[test]
fn replication_still_applies_records() {
    let s = Storage::new(StorageConfig::manual_gc());
    s.set_read_only(true);
    let data = CommitRecord {
        commit_ts: 5,
        start_ts: 4,
        ops: vec![
            RedoOp::CreateVertex { gid: 0 },
            RedoOp::AddLabel {
                gid: 0,
                label: "Person".into(),
            },
        ],
    };
    s.apply_record(&data).unwrap();
    let schema = CommitRecord {
        commit_ts: 6,
        start_ts: 6,
        ops: vec![RedoOp::CreateIndex {
            label: "Person".into(),
            property: None,
        }],
    };
    s.apply_record(&schema).unwrap();
    assert_eq!(s.last_commit_ts(), 6);
    let person = s.label("Person");
    assert!(s.has_label_index(person));
    let tx = s.begin();
    assert_eq!(tx.vertices_with_label(person).collect::<Vec<_>>(), vec![0]);
    assert!(s.is_read_only(), "applying does not turn the mode off");
}
