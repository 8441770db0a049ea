//! The WAL against real files: round trips across segments, torn tails at every byte, bit flips,
//! holes, and replay into a storage.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use durability::segment::Tail;
use durability::{recover, DurabilityError, Recovery, Wal, WalConfig};
use storage::{CommitRecord, PropertyValue, RedoOp, Storage, StorageConfig};

fn config(dir: &Path, segment_bytes: u64) -> WalConfig {
    WalConfig {
        dir: dir.to_owned(),
        segment_bytes,
        flush_every_n_tx: 1,
        epoch: "test-epoch".into(),
        base_ts: 0,
    }
}

fn record(ts: u64) -> CommitRecord {
    CommitRecord {
        commit_ts: ts,
        start_ts: ts - 1,
        ops: vec![
            RedoOp::CreateVertex { gid: ts },
            RedoOp::AddLabel {
                gid: ts,
                label: "Tagged".into(),
            },
            RedoOp::SetVertexProperty {
                gid: ts,
                key: "n".into(),
                value: PropertyValue::Int(ts as i64),
            },
        ],
    }
}

fn recover_all(dir: &Path) -> Result<(Vec<CommitRecord>, Recovery), DurabilityError> {
    let mut records = Vec::new();
    let recovery = recover(dir, |r| {
        records.push(r);
        Ok(())
    })?;
    Ok((records, recovery))
}

/// Writes records with commit timestamps `2..2 + n` into a fresh log; returns the segments.
fn write_log(dir: &Path, n: u64, segment_bytes: u64) -> Vec<PathBuf> {
    let wal = Wal::open(config(dir, segment_bytes), Recovery::default()).unwrap();
    for ts in 2..2 + n {
        wal.append(&record(ts)).unwrap();
    }
    segment_files(dir)
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    files.sort();
    files
}

/// Replays the log in `dir` into a new storage.
fn replay(dir: &Path) -> (Arc<Storage>, Recovery) {
    let replica = Storage::new(StorageConfig::default());
    let recovery = recover(dir, |record| {
        replica
            .apply_record(&record)
            .map_err(|e| DurabilityError::Replay {
                path: dir.to_owned(),
                commit_ts: record.commit_ts,
                reason: e.to_string(),
            })
    })
    .unwrap();
    (replica, recovery)
}

fn expected(n: u64) -> Vec<CommitRecord> {
    (2..2 + n).map(record).collect()
}

#[test]
fn records_round_trip_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_log(dir.path(), 200, 1024);
    assert!(files.len() > 5, "rotation made {} segments", files.len());
    let (records, recovery) = recover_all(dir.path()).unwrap();
    assert_eq!(records, expected(200));
    assert_eq!(recovery.segments, files.len());
    assert_eq!(recovery.last_commit_ts, Some(201));
    assert_eq!(recovery.last.unwrap().1.tail, Tail::Clean);
}

#[test]
fn appending_after_recovery_continues_the_log() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 30, 512);
    let (_, recovery) = recover_all(dir.path()).unwrap();
    let wal = Wal::open(config(dir.path(), 512), recovery).unwrap();
    for ts in 32..40 {
        wal.append(&record(ts)).unwrap();
    }
    drop(wal);
    let (records, _) = recover_all(dir.path()).unwrap();
    assert_eq!(records, expected(38));
}

#[test]
fn a_torn_last_record_is_cut_at_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_log(dir.path(), 5, 1 << 20);
    assert_eq!(files.len(), 1);
    let path = &files[0];
    let whole = fs::read(path).unwrap();
    let start = frame_starts(&whole).pop().unwrap();
    for cut in start..whole.len() {
        fs::write(path, &whole[..cut]).unwrap();
        let (records, recovery) = recover_all(dir.path()).unwrap();
        assert_eq!(records, expected(4), "cut at {cut}");
        let (_, scan) = recovery.last.as_ref().unwrap();
        if cut == start {
            assert_eq!(scan.tail, Tail::Clean);
        } else {
            assert!(matches!(scan.tail, Tail::Torn { offset, .. } if offset == start as u64));
        }
        // Reopening cuts the tail, and the next record follows the fourth.
        let wal = Wal::open(config(dir.path(), 1 << 20), recovery).unwrap();
        wal.append(&record(6)).unwrap();
        drop(wal);
        let (records, _) = recover_all(dir.path()).unwrap();
        let mut want = expected(4);
        want.push(record(6));
        assert_eq!(records, want, "cut at {cut}, then appended");
    }
}

/// Where each frame starts in a segment file's bytes.
fn frame_starts(bytes: &[u8]) -> Vec<usize> {
    // Format 2: magic, version, sequence, first and previous commit ts, epoch length.
    let epoch_len = u16::from_le_bytes(bytes[36..38].try_into().unwrap()) as usize;
    let mut at = 38 + epoch_len + 4;
    let mut starts = Vec::new();
    while at < bytes.len() {
        starts.push(at);
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += 8 + len;
    }
    assert_eq!(at, bytes.len(), "whole frames only");
    starts
}

#[test]
fn a_bit_flip_in_the_last_record_loses_only_that_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 5, 1 << 20).remove(0);
    let whole = fs::read(&path).unwrap();
    let start = frame_starts(&whole).pop().unwrap();
    for byte in start..whole.len() {
        for bit in [0, 3, 7] {
            let mut bad = whole.clone();
            bad[byte] ^= 1 << bit;
            fs::write(&path, &bad).unwrap();
            let (records, recovery) = recover_all(dir.path()).unwrap();
            assert_eq!(records, expected(4), "bit {bit} of byte {byte}");
            assert!(matches!(recovery.last.unwrap().1.tail, Tail::Torn { .. }));
        }
    }
}

#[test]
fn a_bit_flip_before_the_last_record_stops_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 5, 1 << 20).remove(0);
    let whole = fs::read(&path).unwrap();
    let starts = frame_starts(&whole);
    for &start in &starts[..starts.len() - 1] {
        for byte in [start, start + 5, start + 12] {
            let mut bad = whole.clone();
            bad[byte] ^= 0x10;
            fs::write(&path, &bad).unwrap();
            match recover_all(dir.path()) {
                Err(DurabilityError::Corrupt { offset, .. }) => {
                    assert_eq!(offset, start as u64, "flip at byte {byte}")
                }
                other => panic!("flip at byte {byte}: {:?}", other.map(|(r, _)| r.len())),
            }
        }
    }
}

#[test]
fn a_zero_filled_tail_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 3, 1 << 20).remove(0);
    let mut bytes = fs::read(&path).unwrap();
    let clean_len = bytes.len() as u64;
    bytes.extend_from_slice(&[0; 4096]);
    fs::write(&path, &bytes).unwrap();
    let (records, recovery) = recover_all(dir.path()).unwrap();
    assert_eq!(records, expected(3));
    assert!(
        matches!(recovery.last.unwrap().1.tail, Tail::Torn { offset, .. } if offset == clean_len)
    );
}

#[test]
fn damage_in_an_older_segment_or_a_missing_segment_stops_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_log(dir.path(), 60, 512);
    assert!(files.len() >= 3);
    // Torn end of the first segment: newer segments follow, so it is not a tail.
    let first = fs::read(&files[0]).unwrap();
    fs::write(&files[0], &first[..first.len() - 3]).unwrap();
    assert!(matches!(
        recover_all(dir.path()),
        Err(DurabilityError::Corrupt { .. })
    ));
    fs::write(&files[0], &first).unwrap();
    recover_all(dir.path()).unwrap();
    // A missing middle segment.
    fs::remove_file(&files[1]).unwrap();
    assert!(matches!(
        recover_all(dir.path()),
        Err(DurabilityError::Sequence { .. })
    ));
}

#[test]
fn a_bad_header_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 2, 1 << 20).remove(0);
    let whole = fs::read(&path).unwrap();
    for byte in 0..30 {
        let mut bad = whole.clone();
        bad[byte] ^= 1;
        fs::write(&path, &bad).unwrap();
        assert!(
            matches!(
                recover_all(dir.path()),
                Err(DurabilityError::BadHeader { .. })
            ),
            "flip in header byte {byte}"
        );
    }
}

#[test]
fn commits_through_the_sink_replay_into_an_equal_storage() {
    let dir = tempfile::tempdir().unwrap();
    let main = Storage::new(StorageConfig::default());
    let wal = Arc::new(Wal::open(config(dir.path(), 4096), Recovery::default()).unwrap());
    main.set_commit_sink(wal.clone());
    let (tagged, n) = (main.label("Tagged"), main.property("n"));
    let mut gids = Vec::new();
    for i in 0..100 {
        let mut tx = main.begin();
        let v = tx.create_vertex();
        tx.add_label(v, tagged).unwrap();
        tx.set_vertex_property(v, n, PropertyValue::Int(i)).unwrap();
        if let Some(&prev) = gids.last() {
            tx.create_edge(prev, v, main.edge_type("NEXT")).unwrap();
        }
        tx.commit().unwrap();
        gids.push(v);
    }
    // An aborted transaction leaves nothing in the log.
    let mut tx = main.begin();
    tx.create_vertex();
    tx.abort();
    drop(wal);

    let (replica, recovery) = replay(dir.path());
    assert_eq!(recovery.records, 100);
    assert_eq!(replica.last_commit_ts(), main.last_commit_ts());
    let (a, b) = (main.begin(), replica.begin());
    let n2 = replica.property("n");
    for (i, &v) in gids.iter().enumerate() {
        assert_eq!(
            a.vertex_property(v, n).unwrap(),
            PropertyValue::Int(i as i64)
        );
        assert_eq!(
            b.vertex_property(v, n2).unwrap(),
            PropertyValue::Int(i as i64)
        );
    }
    assert_eq!(b.vertices_with_label(replica.label("Tagged")).count(), 100);
}

#[test]
fn concurrent_committers_share_flushes_and_recover_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let main = Storage::new(StorageConfig::default());
    let wal = Arc::new(Wal::open(config(dir.path(), 64 * 1024), Recovery::default()).unwrap());
    main.set_commit_sink(wal.clone());
    let (tagged, n) = (main.label("Tagged"), main.property("n"));
    assert!(main.create_index(tagged, Some(n)).unwrap());
    assert!(main.create_unique_constraint(tagged, vec![n]).unwrap());
    let (threads, per_thread) = (8u64, 40u64);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let main = main.clone();
            scope.spawn(move || {
                for i in 0..per_thread {
                    let mut tx = main.begin();
                    let v = tx.create_vertex();
                    tx.add_label(v, tagged).unwrap();
                    let value = (t * per_thread + i) as i64;
                    tx.set_vertex_property(v, n, PropertyValue::Int(value))
                        .unwrap();
                    tx.commit().unwrap();
                }
            });
        }
    });
    let commits = threads * per_thread + 2;
    assert!(
        wal.flushes() <= commits,
        "{} flushes for {commits} commits",
        wal.flushes()
    );
    assert_eq!(wal.durable_ts(), main.last_commit_ts());
    drop(wal);

    let (replica, recovery) = replay(dir.path());
    assert_eq!(recovery.records, commits);
    assert_eq!(replica.last_commit_ts(), main.last_commit_ts());
    let names = |s: &Storage| {
        s.index_info()
            .iter()
            .map(|i| {
                (
                    s.label_name(i.label).to_string(),
                    i.property.map(|p| s.property_name(p).to_string()),
                    i.count,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&replica), names(&main));
    assert_eq!(replica.constraint_info().len(), 1);
    let (a, b) = (main.begin(), replica.begin());
    let n2 = replica.property("n");
    let values = |tx: &storage::Transaction, key| {
        let mut v: Vec<PropertyValue> = tx
            .vertices()
            .map(|g| tx.vertex_property(g, key).unwrap())
            .collect();
        v.sort_by_key(|p| format!("{p:?}"));
        v
    };
    assert_eq!(values(&a, n), values(&b, n2));
    assert_eq!(values(&b, n2).len() as u64, threads * per_thread);
}

#[test]
fn frames_read_back_after_any_commit_are_the_logged_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let segments = write_log(dir.path(), 40, 400);
    assert!(segments.len() > 3, "several segments");
    let mut want = Vec::new();
    for r in expected(40) {
        durability::codec::encode_frame(&r, &mut want).unwrap();
    }
    // From the start, in small batches, continuing after each batch's last commit.
    let mut got = Vec::new();
    let mut after = 0;
    loop {
        let batch = durability::read_frames_after(dir.path(), after, 41, 300).unwrap();
        if batch.count == 0 {
            break;
        }
        assert!(batch.last_ts > after);
        got.extend_from_slice(&batch.frames);
        after = batch.last_ts;
    }
    assert_eq!(got, want);
    // Only what is visible: nothing after `upto`.
    let batch = durability::read_frames_after(dir.path(), 10, 12, usize::MAX).unwrap();
    assert_eq!((batch.count, batch.last_ts), (2, 12));
}

#[test]
fn read_back_says_when_pruned_segments_held_the_commits() {
    let dir = tempfile::tempdir().unwrap();
    let segments = write_log(dir.path(), 40, 400);
    // Delete the first two segments: commits before the third one's are gone.
    fs::remove_file(&segments[0]).unwrap();
    fs::remove_file(&segments[1]).unwrap();
    let third = durability::segment::read_header(&segments[2]).unwrap();
    assert!(third.prev_commit_ts >= 2);
    assert!(matches!(
        durability::read_frames_after(dir.path(), 0, 41, usize::MAX),
        Err(durability::ReadBackError::NotCovered { .. })
    ));
    let batch =
        durability::read_frames_after(dir.path(), third.prev_commit_ts, 41, usize::MAX).unwrap();
    assert_eq!(batch.last_ts, 41);
}

#[test]
fn a_restarted_log_continues_after_the_snapshot_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let aside = tempfile::tempdir().unwrap();
    write_log(dir.path(), 5, 1 << 20);
    let (_, recovery) = recover_all(dir.path()).unwrap();
    let wal = Wal::open(config(dir.path(), 1 << 20), recovery).unwrap();
    let moved = wal.restart(aside.path(), 100).unwrap();
    assert_eq!(moved.len(), 1);
    wal.append(&record(101)).unwrap();
    wal.sync().unwrap();
    let files = segment_files(dir.path());
    assert_eq!(files.len(), 1);
    let header = durability::segment::read_header(&files[0]).unwrap();
    assert_eq!((header.sequence, header.prev_commit_ts), (1, 100));
    assert!(matches!(
        durability::read_frames_after(dir.path(), 50, 200, usize::MAX),
        Err(durability::ReadBackError::NotCovered { .. })
    ));
}

#[test]
fn under_flush_every_n_records_reach_the_file_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(
        WalConfig {
            flush_every_n_tx: 5,
            ..config(dir.path(), 1 << 20)
        },
        Recovery::default(),
    )
    .unwrap();
    for ts in 2..14 {
        wal.append(&record(ts)).unwrap();
    }
    // Synced (and so written) at the 5th and 10th record; the last two are still buffered.
    let (records, _) = recover_all(dir.path()).unwrap();
    assert_eq!(records, expected(10));
    assert_eq!(wal.durable_ts(), 11);
    wal.write_out().unwrap();
    let (records, _) = recover_all(dir.path()).unwrap();
    assert_eq!(records, expected(12));
    let batch = durability::read_frames_after(dir.path(), 0, 13, usize::MAX).unwrap();
    assert_eq!((batch.count, batch.last_ts), (12, 13));
    // A clean sync writes and syncs everything.
    wal.append(&record(14)).unwrap();
    wal.sync().unwrap();
    let (records, _) = recover_all(dir.path()).unwrap();
    assert_eq!(records, expected(13));
}
