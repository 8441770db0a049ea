//! `CommitSink::after_commit`: called once per commit the sink accepted, once the commit is
//! visible and the storage holds no lock; its warnings reach the local committer's `CommitInfo`.

use std::sync::{Arc, Mutex, OnceLock, Weak};

use storage::{
    CommitRecord, CommitSink, CommitWarning, RedoOp, Storage, StorageConfig, StorageError,
};

/// Records what it is told; warns about every commit; refuses commits while `refuse` is set.
/// Inside `after_commit` it begins a transaction (which would deadlock if the engine lock were
/// held) and notes what that transaction sees.
#[derive(Default)]
struct Hooked {
    storage: OnceLock<Weak<Storage>>,
    accepted: Mutex<Vec<u64>>,
    /// (commit_ts, the last commit a transaction begun inside the hook sees)
    after: Mutex<Vec<(u64, u64)>>,
    refuse: Mutex<bool>,
}

impl CommitSink for Hooked {
    fn on_commit(&self, record: &CommitRecord) -> Result<(), String> {
        if *self.refuse.lock().unwrap() {
            return Err("refused".into());
        }
        self.accepted.lock().unwrap().push(record.commit_ts);
        Ok(())
    }

    fn after_commit(&self, commit_ts: u64) -> Vec<CommitWarning> {
        let storage = self.storage.get().and_then(Weak::upgrade).expect("storage");
        let seen = storage.begin().snapshot_ts();
        self.after.lock().unwrap().push((commit_ts, seen));
        vec![CommitWarning {
            code: "TestWarning".into(),
            title: format!("commit {commit_ts} noticed"),
        }]
    }
}

fn setup() -> (Arc<Storage>, Arc<Hooked>) {
    let storage = Storage::new(StorageConfig::manual_gc());
    let sink = Arc::new(Hooked::default());
    sink.storage.set(Arc::downgrade(&storage)).unwrap();
    storage.set_commit_sink(sink.clone());
    (storage, sink)
}

fn hook_calls(sink: &Hooked) -> Vec<u64> {
    sink.after
        .lock()
        .unwrap()
        .iter()
        .map(|(ts, _)| *ts)
        .collect()
}

#[test]
fn a_local_commit_calls_the_hook_once_after_it_is_visible() {
    let (storage, sink) = setup();
    let mut tx = storage.begin();
    tx.create_vertex();
    let info = tx.commit().unwrap();
    let ts = info.commit_ts.unwrap();
    assert_eq!(
        info.warnings,
        vec![CommitWarning {
            code: "TestWarning".into(),
            title: format!("commit {ts} noticed"),
        }]
    );
    let after = sink.after.lock().unwrap().clone();
    assert_eq!(after.len(), 1);
    let (hooked_ts, seen) = after[0];
    assert_eq!(hooked_ts, ts);
    assert!(seen >= ts, "the hook runs once the commit is visible");
}

#[test]
fn no_hook_for_read_only_or_refused_commits() {
    let (storage, sink) = setup();
    let info = storage.begin().commit().unwrap();
    assert_eq!(info.commit_ts, None);
    assert!(info.warnings.is_empty());
    *sink.refuse.lock().unwrap() = true;
    let mut tx = storage.begin();
    tx.create_vertex();
    assert!(matches!(tx.commit(), Err(StorageError::CommitSink(_))));
    assert!(hook_calls(&sink).is_empty());
}

#[test]
fn without_a_sink_there_are_no_warnings() {
    let storage = Storage::new(StorageConfig::manual_gc());
    let mut tx = storage.begin();
    tx.create_vertex();
    let info = tx.commit().unwrap();
    assert!(info.commit_ts.is_some());
    assert!(info.warnings.is_empty());
}

#[test]
fn schema_changes_and_replayed_records_call_the_hook() {
    let (storage, sink) = setup();
    let person = storage.label("Person");
    assert!(storage.create_index(person, None).unwrap());
    let index_ts = storage.last_commit_ts();
    let record = CommitRecord {
        commit_ts: index_ts + 10,
        start_ts: index_ts + 9,
        ops: vec![RedoOp::CreateVertex { gid: 0 }],
    };
    storage.apply_record(&record).unwrap();
    assert_eq!(hook_calls(&sink), vec![index_ts, index_ts + 10]);
    assert_eq!(*sink.accepted.lock().unwrap(), hook_calls(&sink));
    for (ts, seen) in sink.after.lock().unwrap().iter() {
        assert!(seen >= ts, "commit {ts} was not visible in its hook");
    }
}

#[test]
fn many_commits_one_call_each() {
    let (storage, sink) = setup();
    let mut expected = Vec::new();
    for _ in 0..20 {
        let mut tx = storage.begin();
        tx.create_vertex();
        expected.push(tx.commit().unwrap().commit_ts.unwrap());
    }
    assert_eq!(hook_calls(&sink), expected);
}
