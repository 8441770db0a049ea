//! Snapshot files against real files: round trips of random graphs compared object by object,
//! snapshots taken while another thread commits, damaged and hostile files, fallback to an
//! older snapshot, retention.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use durability::codec::{begin_frame, encode_append, seal_frame};
use durability::snapshot::{file_name, MAGIC};
use durability::{
    apply_retention, list_snapshots, load_snapshot, newest_valid_snapshot, write_snapshot,
    DurabilityError,
};
use parking_lot::Mutex;
use storage::temporal::{Date, DateTime, Duration, LocalDateTime, LocalTime, Time};
use storage::{
    CommitRecord, CommitSink, ConstraintInfo, Gid, PropertyValue, Storage, StorageConfig, Temporal,
    Transaction,
};

const EPOCH: &str = "test-epoch";

/// xorshift64: seeded, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A random non-null value of any kind (lists and maps nest up to `depth`).
fn value(rng: &mut Rng, depth: u32) -> PropertyValue {
    let kinds = if depth == 0 { 11 } else { 13 };
    match rng.below(kinds) {
        0 => PropertyValue::Bool(rng.chance(50)),
        1 => PropertyValue::Int(rng.next() as i64),
        2 => PropertyValue::Int([i64::MIN, i64::MAX, 0, -1][rng.below(4) as usize]),
        3 => PropertyValue::Float((rng.next() as i64 as f64) / 1e6),
        4 => PropertyValue::String(
            ["", "Ada", "Grüße, 世界 🚀", "a\0b"][rng.below(4) as usize].to_owned()
                + &rng.below(1000).to_string(),
        ),
        5 => PropertyValue::Temporal(Temporal::Date(Date {
            days: rng.below(100_000) as i64 - 50_000,
        })),
        6 => PropertyValue::Temporal(Temporal::LocalTime(LocalTime {
            nanos: rng.below(86_400_000_000_000) as i64,
        })),
        7 => PropertyValue::Temporal(Temporal::Time(Time {
            nanos: rng.below(86_400_000_000_000) as i64,
            offset_seconds: rng.below(36_000) as i32 - 18_000,
        })),
        8 => PropertyValue::Temporal(Temporal::LocalDateTime(LocalDateTime {
            seconds: rng.next() as i32 as i64,
            nanos: rng.below(1_000_000_000) as u32,
        })),
        9 => PropertyValue::Temporal(Temporal::DateTime(DateTime {
            seconds: rng.next() as i32 as i64,
            nanos: rng.below(1_000_000_000) as u32,
            offset_seconds: -3600,
        })),
        10 => PropertyValue::Temporal(Temporal::Duration(Duration {
            months: rng.below(100) as i64 - 50,
            days: rng.below(100) as i64,
            seconds: rng.next() as i32 as i64,
            nanos: rng.below(1_000_000_000) as i64,
        })),
        11 => PropertyValue::List(
            (0..rng.below(4))
                .map(|_| {
                    if rng.chance(10) {
                        PropertyValue::Null
                    } else {
                        value(rng, depth - 1)
                    }
                })
                .collect(),
        ),
        _ => PropertyValue::Map(
            (0..rng.below(4))
                .map(|i| (format!("k{i}"), value(rng, depth - 1)))
                .collect(),
        ),
    }
}

type Props = BTreeMap<String, PropertyValue>;

/// A graph by names, not ids, so storages that interned differently compare equal.
#[derive(Debug, PartialEq)]
struct Graph {
    vertices: BTreeMap<Gid, (Vec<String>, Props)>,
    edges: BTreeMap<Gid, (Gid, Gid, String, Props)>,
}

fn props_by_name(storage: &Storage, props: Vec<(storage::PropertyId, PropertyValue)>) -> Props {
    props
        .into_iter()
        .map(|(k, v)| (storage.property_name(k).to_string(), v))
        .collect()
}

fn dump_tx(tx: &Transaction) -> Graph {
    let storage = tx.storage();
    let mut graph = Graph {
        vertices: BTreeMap::new(),
        edges: BTreeMap::new(),
    };
    for v in tx.vertices() {
        let mut labels: Vec<String> = tx
            .vertex_labels(v)
            .unwrap()
            .into_iter()
            .map(|l| storage.label_name(l).to_string())
            .collect();
        labels.sort();
        let props = props_by_name(storage, tx.vertex_properties(v).unwrap());
        graph.vertices.insert(v, (labels, props));
        for e in tx.out_edges(v).unwrap() {
            let props = props_by_name(storage, tx.edge_properties(e.gid).unwrap());
            let ty = storage.edge_type_name(e.ty).to_string();
            graph.edges.insert(e.gid, (e.from, e.to, ty, props));
        }
        // Both ends agree.
        for e in tx.in_edges(v).unwrap() {
            assert_eq!(tx.edge(e.gid), Some(e));
        }
    }
    graph
}

fn dump(storage: &Arc<Storage>) -> Graph {
    dump_tx(&storage.begin())
}

/// Indexes (with their counts) and constraints, by name.
fn schema(storage: &Storage) -> (Vec<String>, Vec<String>) {
    let indexes = storage
        .index_info()
        .into_iter()
        .map(|i| {
            format!(
                "{}({:?}) {}",
                storage.label_name(i.label),
                i.property.map(|p| storage.property_name(p).to_string()),
                i.count
            )
        })
        .collect();
    let mut constraints: Vec<String> = storage
        .constraint_info()
        .into_iter()
        .map(|c| match c {
            ConstraintInfo::Exists { label, property } => format!(
                "exists {}.{}",
                storage.label_name(label),
                storage.property_name(property)
            ),
            ConstraintInfo::Unique { label, properties } => format!(
                "unique {}{:?}",
                storage.label_name(label),
                properties
                    .iter()
                    .map(|p| storage.property_name(*p).to_string())
                    .collect::<Vec<_>>()
            ),
        })
        .collect();
    constraints.sort();
    (indexes, constraints)
}

fn fresh() -> Arc<Storage> {
    Storage::new(StorageConfig::manual_gc())
}

/// A random graph with every value type, edges with and without properties, deleted objects
/// and aborted creations (gid gaps), indexes and constraints.
fn random_graph(seed: u64, vertices: u64, edges: u64) -> Arc<Storage> {
    let mut rng = Rng(seed);
    let storage = fresh();
    let labels: Vec<_> = ["A", "B", "C", "D"]
        .iter()
        .map(|l| storage.label(l))
        .collect();
    let keys: Vec<_> = ["name", "k1", "k2", "k3", "k4"]
        .iter()
        .map(|k| storage.property(k))
        .collect();
    let (uid, must) = (storage.property("uid"), storage.property("must"));
    let types: Vec<_> = ["KNOWS", "LIKES", "SELF"]
        .iter()
        .map(|t| storage.edge_type(t))
        .collect();
    storage.create_index(labels[0], None).unwrap();
    storage.create_index(labels[1], Some(keys[0])).unwrap();
    storage
        .create_unique_constraint(labels[0], vec![uid])
        .unwrap();
    storage
        .create_existence_constraint(labels[2], must)
        .unwrap();
    storage.property("never-used");
    storage.label("NeverUsed");

    let mut live: Vec<Gid> = Vec::new();
    let mut tx = storage.begin();
    for i in 0..vertices {
        let v = tx.create_vertex();
        for (n, label) in labels.iter().enumerate() {
            if rng.chance(if n == 0 { 50 } else { 30 }) {
                tx.add_label(v, *label).unwrap();
            }
        }
        tx.set_vertex_property(v, uid, PropertyValue::Int(i as i64))
            .unwrap();
        tx.set_vertex_property(v, must, value(&mut rng, 2)).unwrap();
        for key in &keys {
            if rng.chance(40) {
                tx.set_vertex_property(v, *key, value(&mut rng, 2)).unwrap();
            }
        }
        live.push(v);
        if i % 97 == 96 {
            tx.commit().unwrap();
            tx = storage.begin();
        }
    }
    tx.commit().unwrap();

    // An aborted transaction leaves holes in both gid spaces.
    let mut aborted = storage.begin();
    let hole = aborted.create_vertex();
    aborted.create_edge(hole, live[0], types[0]).unwrap();
    aborted.abort();

    let mut edge_gids = Vec::new();
    let mut tx = storage.begin();
    for i in 0..edges {
        let from = live[rng.below(live.len() as u64) as usize];
        let self_loop = rng.chance(5);
        let to = if self_loop {
            from
        } else {
            live[rng.below(live.len() as u64) as usize]
        };
        let ty = types[if self_loop { 2 } else { rng.below(2) as usize }];
        let e = tx.create_edge(from, to, ty).unwrap();
        if rng.chance(50) {
            for key in &keys[1..] {
                if rng.chance(50) {
                    tx.set_edge_property(e, *key, value(&mut rng, 1)).unwrap();
                }
            }
        }
        edge_gids.push(e);
        if i % 211 == 210 {
            tx.commit().unwrap();
            tx = storage.begin();
        }
    }
    tx.commit().unwrap();

    // Deletes (gid gaps) and later changes.
    let mut tx = storage.begin();
    for _ in 0..vertices / 10 {
        let v = live.swap_remove(rng.below(live.len() as u64) as usize);
        tx.delete_vertex(v, true).unwrap();
    }
    for _ in 0..edges / 10 {
        let e = edge_gids[rng.below(edge_gids.len() as u64) as usize];
        if tx.edge(e).is_some() {
            tx.delete_edge(e).unwrap();
        }
    }
    for _ in 0..vertices / 10 {
        let v = live[rng.below(live.len() as u64) as usize];
        tx.set_vertex_property(v, keys[1], PropertyValue::Null)
            .unwrap();
        tx.set_vertex_property(v, keys[0], value(&mut rng, 0))
            .unwrap();
    }
    tx.commit().unwrap();
    storage.gc();
    storage
}

fn damaged(err: &DurabilityError, path: &Path) -> bool {
    matches!(err, DurabilityError::Snapshot { path: p, .. } if p == path)
        && err.to_string().contains(&*path.to_string_lossy())
}

#[test]
fn a_random_graph_round_trips_object_by_object() {
    for seed in [1, 0x9E37_79B9_7F4A_7C15] {
        let source = random_graph(seed, 600, 2500);
        let dir = tempfile::tempdir().unwrap();
        let info = write_snapshot(&source, dir.path(), EPOCH).unwrap();
        assert_eq!(info.commit_ts, source.last_commit_ts());
        assert_eq!(info.path, dir.path().join(file_name(info.commit_ts)));
        assert_eq!(info.bytes, fs::metadata(&info.path).unwrap().len());
        assert_eq!(info.epoch, EPOCH);

        let restored = fresh();
        // Interning differently must not matter: ids are resolved by name.
        restored.property("interned-first");
        restored.edge_type("LIKES");
        let loaded = load_snapshot(&info.path, &restored).unwrap();
        assert_eq!(
            (
                loaded.commit_ts,
                loaded.vertices,
                loaded.edges,
                loaded.bytes
            ),
            (info.commit_ts, info.vertices, info.edges, info.bytes)
        );
        let (want, got) = (dump(&source), dump(&restored));
        assert_eq!(want.vertices.len() as u64, info.vertices);
        assert_eq!(want.edges.len() as u64, info.edges);
        assert!(want.edges.values().any(|e| e.3.is_empty()));
        assert!(want.edges.values().any(|e| !e.3.is_empty()));
        assert_eq!(got, want);
        assert_eq!(schema(&restored), schema(&source));
        assert_eq!(restored.last_commit_ts(), source.last_commit_ts());
        assert_eq!(restored.vertex_count_approx(), source.vertex_count_approx());
        assert_eq!(restored.edge_count_approx(), source.edge_count_approx());
        assert_eq!(restored.vertex_gid_bound(), source.vertex_gid_bound());
        assert_eq!(restored.edge_gid_bound(), source.edge_gid_bound());
        assert_eq!(restored.delta_count(), 0);

        // Both go on the same way: the same next gids, and constraints hold.
        let (next_vertex, next_edge) = (source.vertex_gid_bound(), source.edge_gid_bound());
        let taken = want
            .vertices
            .values()
            .find(|(labels, _)| labels.iter().any(|l| l == "A"))
            .map(|(_, props)| props["uid"].clone())
            .expect("a vertex with label A");
        for storage in [&source, &restored] {
            let a = storage.find_label("A").unwrap();
            let uid = storage.find_property("uid").unwrap();
            let mut tx = storage.begin();
            let v = tx.create_vertex();
            assert_eq!(v, next_vertex);
            let e = tx.create_edge(v, v, storage.edge_type("T")).unwrap();
            assert_eq!(e, next_edge);
            tx.add_label(v, a).unwrap();
            tx.set_vertex_property(v, uid, taken.clone()).unwrap();
            assert!(tx.commit().is_err(), "uid {taken:?} is taken");
        }
    }
}

#[test]
fn an_empty_storage_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let source = fresh();
    let info = write_snapshot(&source, dir.path(), "").unwrap();
    assert_eq!((info.commit_ts, info.vertices, info.edges), (0, 0, 0));
    let restored = fresh();
    load_snapshot(&info.path, &restored).unwrap();
    assert_eq!(dump(&restored), dump(&source));
    let mut tx = restored.begin();
    assert_eq!(tx.create_vertex(), 0);
    // The dump's read took one tick.
    assert_eq!(tx.commit().unwrap().commit_ts, Some(3));
}

/// Keeps every record it is handed (the WAL's view of the commits).
#[derive(Default)]
struct Collect(Mutex<Vec<CommitRecord>>);

impl CommitSink for Collect {
    fn on_commit(&self, record: &CommitRecord) -> Result<(), String> {
        self.0.lock().push(record.clone());
        Ok(())
    }
}

#[test]
fn a_snapshot_taken_while_another_thread_commits_is_exactly_the_state_at_its_timestamp() {
    let source = random_graph(7, 3000, 12_000);
    let log = Arc::new(Collect::default());
    source.set_commit_sink(log.clone());
    let before = source.last_commit_ts();
    let stop = Arc::new(AtomicBool::new(false));
    let commits = Arc::new(AtomicU64::new(0));
    let writer = {
        let (storage, stop, commits) = (source.clone(), stop.clone(), commits.clone());
        std::thread::spawn(move || {
            let mut rng = Rng(99);
            let label = storage.label("B");
            let name = storage.property("name");
            let ty = storage.edge_type("KNOWS");
            while !stop.load(Ordering::Acquire) {
                let mut tx = storage.begin();
                let bound = tx.vertex_gid_bound();
                let v = tx.create_vertex();
                tx.add_label(v, label).unwrap();
                tx.set_vertex_property(v, name, value(&mut rng, 1)).unwrap();
                for _ in 0..3 {
                    let other = rng.below(bound);
                    if tx.vertex_exists(other) {
                        tx.create_edge(v, other, ty).unwrap();
                        tx.set_vertex_property(other, name, value(&mut rng, 0))
                            .unwrap();
                    }
                }
                let victim = rng.below(bound);
                if rng.chance(30) && tx.vertex_exists(victim) {
                    tx.delete_vertex(victim, true).unwrap();
                }
                tx.commit().unwrap();
                commits.fetch_add(1, Ordering::Release);
            }
        })
    };
    let wait_for = |n: u64| {
        while commits.load(Ordering::Acquire) < n {
            std::thread::yield_now();
        }
    };
    wait_for(50);
    let dir = tempfile::tempdir().unwrap();
    let info = write_snapshot(&source, dir.path(), EPOCH).unwrap();
    let at_snapshot = commits.load(Ordering::Acquire);
    wait_for(at_snapshot + 50);
    stop.store(true, Ordering::Release);
    writer.join().unwrap();
    assert!(
        info.commit_ts > before,
        "the writer committed before the snapshot"
    );
    assert!(
        source.last_commit_ts() > info.commit_ts,
        "the writer committed after the snapshot"
    );

    // The state at the snapshot's timestamp: the graph before the writer (built again, the
    // same way) plus the writer's records up to that timestamp.
    let records = log.0.lock().clone();
    let base = random_graph(7, 3000, 12_000);
    assert_eq!(base.last_commit_ts(), before);
    for record in records.iter().filter(|r| r.commit_ts <= info.commit_ts) {
        base.apply_record(record).unwrap();
    }
    let loaded = fresh();
    load_snapshot(&info.path, &loaded).unwrap();
    assert_eq!(loaded.last_commit_ts(), info.commit_ts);
    assert_eq!(dump(&loaded), dump(&base));

    // Snapshot + the records after it = the final state (recovery).
    for record in records.iter().filter(|r| r.commit_ts > info.commit_ts) {
        loaded.apply_record(record).unwrap();
    }
    assert_eq!(dump(&loaded), dump(&source));
    assert_eq!(schema(&loaded), schema(&source));
}

/// A small snapshot with all the sections (several chunks of names, vertices and edges).
fn small_snapshot(dir: &Path) -> PathBuf {
    let source = random_graph(3, 40, 120);
    write_snapshot(&source, dir, EPOCH).unwrap().path
}

#[test]
fn truncated_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_snapshot(dir.path());
    let bytes = fs::read(&path).unwrap();
    let cut_path = dir.path().join("cut.snapshot");
    for cut in 0..bytes.len() {
        fs::write(&cut_path, &bytes[..cut]).unwrap();
        let err = load_snapshot(&cut_path, &fresh()).unwrap_err();
        assert!(damaged(&err, &cut_path), "cut at {cut}: {err}");
        if let DurabilityError::Snapshot { offset, .. } = err {
            assert!(offset <= cut as u64, "cut at {cut}: offset {offset}");
        }
    }
    // Extra bytes after the trailer are damage too.
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 9]);
    fs::write(&cut_path, &longer).unwrap();
    let err = load_snapshot(&cut_path, &fresh()).unwrap_err();
    assert!(damaged(&err, &cut_path), "{err}");
}

#[test]
fn every_flipped_bit_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_snapshot(dir.path());
    let bytes = fs::read(&path).unwrap();
    let bad_path = dir.path().join("flipped.snapshot");
    for byte in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[byte] ^= 1 << (byte % 8);
        fs::write(&bad_path, &bad).unwrap();
        let err = load_snapshot(&bad_path, &fresh()).unwrap_err();
        assert!(damaged(&err, &bad_path), "flip in byte {byte}: {err}");
    }
}

/// A header as the format documents it.
fn header(vertices: u64, edges: u64, vertex_bound: u64, edge_bound: u64) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&1u32.to_le_bytes());
    for field in [5u64, vertices, edges, vertex_bound, edge_bound] {
        out.extend_from_slice(&field.to_le_bytes());
    }
    out.extend_from_slice(&(EPOCH.len() as u16).to_le_bytes());
    out.extend_from_slice(EPOCH.as_bytes());
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// One frame: a tag byte and `parts` encoded one after another.
/// Appends part of a frame's payload.
type Part<'a> = &'a dyn Fn(&mut Vec<u8>);

fn frame(out: &mut Vec<u8>, tag: u8, parts: &[Part<'_>]) {
    let start = begin_frame(out);
    out.push(tag);
    for part in parts {
        part(out);
    }
    seal_frame(out, start).unwrap();
}

fn put<T: bincode::Encode>(value: T) -> impl Fn(&mut Vec<u8>) {
    move |out: &mut Vec<u8>| encode_append(&value, out).unwrap()
}

/// Files whose checksums are all valid but whose content is not a graph: each an error naming
/// the frame's offset, none a panic or a huge allocation.
#[test]
fn hostile_files_with_valid_checksums_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.snapshot");
    // Indexes, existence and unique constraints: none.
    type Schema = (
        Vec<(u32, Option<u32>)>,
        Vec<(u32, u32)>,
        Vec<(u32, Vec<u32>)>,
    );
    let no_schema: Schema = (vec![], vec![], vec![]);
    let names = |out: &mut Vec<u8>| {
        frame(out, 1, &[&put(0u8), &put(0u32), &put("L")]);
        frame(out, 2, &[&put(no_schema.clone())]);
    };
    let no_props: Vec<(u32, PropertyValue)> = Vec::new();
    let none: Vec<(u64, u64, u32)> = Vec::new();
    let vertex = |gid: u64, labels: Vec<u32>, out: Vec<(u64, u64, u32)>| {
        put((gid, labels, no_props.clone(), out, none.clone()))
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("label id 7", {
            let mut f = header(1, 0, 10, 0);
            names(&mut f);
            frame(&mut f, 3, &[&vertex(1, vec![7], vec![])]);
            f
        }),
        ("beyond the header's bound", {
            let mut f = header(1, 0, 10, 0);
            names(&mut f);
            frame(&mut f, 3, &[&vertex(10, vec![0], vec![])]);
            f
        }),
        ("edge type id 0", {
            let mut f = header(1, 1, 10, 10);
            names(&mut f);
            frame(&mut f, 3, &[&vertex(1, vec![0], vec![(0, 2, 0)])]);
            f
        }),
        ("disagree", {
            let mut f = header(1, 1, 10, 10);
            frame(&mut f, 1, &[&put(0u8), &put(0u32), &put("L")]);
            frame(&mut f, 1, &[&put(1u8), &put(0u32), &put("T")]);
            frame(&mut f, 2, &[&put(no_schema.clone())]);
            frame(&mut f, 3, &[&vertex(1, vec![0], vec![(0, 2, 0)])]);
            frame(&mut f, 5, &[&put((1u64, 1u64, 4u64))]);
            f
        }),
        ("not restored", {
            let mut f = header(1, 0, 10, 10);
            names(&mut f);
            frame(&mut f, 3, &[&vertex(1, vec![0], vec![])]);
            frame(&mut f, 4, &[&put((3u64, no_props.clone()))]);
            f
        }),
        ("vertex 1 after vertex", {
            let mut f = header(2, 0, 10, 0);
            names(&mut f);
            frame(
                &mut f,
                3,
                &[&vertex(1, vec![0], vec![]), &vertex(1, vec![0], vec![])],
            );
            f
        }),
        ("a file of", {
            let mut f = header(1 << 40, 0, 10, 0);
            names(&mut f);
            f
        }),
        ("needs", {
            let mut f = header(0, 0, (1 << 40) - 2, (1 << 40) - 2);
            names(&mut f);
            f
        }),
        ("only", {
            let mut f = header(0, 0, 0, 0);
            f.extend_from_slice(&(200u32 << 20).to_le_bytes());
            f.extend_from_slice(&[0; 64]);
            f
        }),
        ("after the", {
            let mut f = header(0, 0, 10, 0);
            names(&mut f);
            frame(&mut f, 2, &[&put(no_schema.clone())]);
            f
        }),
        ("does not decode", {
            let mut f = header(0, 0, 10, 0);
            names(&mut f);
            frame(&mut f, 3, &[&put(1u64)]);
            f
        }),
        ("trailer counts", {
            let mut f = header(0, 0, 10, 0);
            names(&mut f);
            frame(&mut f, 5, &[&put((3u64, 0u64, 2u64))]);
            f
        }),
        ("unknown kind", {
            let mut f = header(0, 0, 10, 0);
            frame(&mut f, 9, &[]);
            f
        }),
    ];
    for (expected, bytes) in cases {
        fs::write(&path, &bytes).unwrap();
        let err = load_snapshot(&path, &fresh()).unwrap_err();
        assert!(damaged(&err, &path), "{expected}: {err}");
        assert!(err.to_string().contains(expected), "{expected}: {err}");
    }
    // Sanity: the same pieces, well formed, load.
    let mut f = header(1, 0, 10, 0);
    names(&mut f);
    frame(&mut f, 3, &[&vertex(1, vec![0], vec![])]);
    frame(&mut f, 5, &[&put((1u64, 0u64, 3u64))]);
    fs::write(&path, &f).unwrap();
    let storage = fresh();
    let info = load_snapshot(&path, &storage).unwrap();
    assert_eq!((info.commit_ts, info.vertices), (5, 1));
    let tx = storage.begin();
    assert_eq!(tx.vertices().collect::<Vec<_>>(), vec![1]);
    assert_eq!(tx.vertex_gid_bound(), 10);
}

#[test]
fn loading_refuses_a_storage_that_is_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_snapshot(dir.path());
    let storage = fresh();
    load_snapshot(&path, &storage).unwrap();
    let err = load_snapshot(&path, &storage).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
}

/// Commits one vertex, so the next snapshot gets a new timestamp.
fn commit_one(storage: &Arc<Storage>) {
    let mut tx = storage.begin();
    tx.create_vertex();
    tx.commit().unwrap();
}

#[test]
fn a_damaged_newest_snapshot_falls_back_to_an_older_one() {
    let dir = tempfile::tempdir().unwrap();
    assert!(newest_valid_snapshot(dir.path(), fresh).unwrap().is_none());
    let source = random_graph(5, 50, 100);
    let older = write_snapshot(&source, dir.path(), EPOCH).unwrap();
    let expected = dump(&source);
    commit_one(&source);
    let newer = write_snapshot(&source, dir.path(), EPOCH).unwrap();
    assert!(newer.commit_ts > older.commit_ts);

    let (storage, info) = newest_valid_snapshot(dir.path(), fresh).unwrap().unwrap();
    assert_eq!(info.commit_ts, newer.commit_ts);
    assert_eq!(dump(&storage), dump(&source));

    let mut bytes = fs::read(&newer.path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    fs::write(&newer.path, &bytes).unwrap();
    let (storage, info) = newest_valid_snapshot(dir.path(), fresh).unwrap().unwrap();
    assert_eq!(info.commit_ts, older.commit_ts);
    assert_eq!(dump(&storage), expected);

    fs::write(&older.path, b"FGRAPHSN").unwrap();
    match newest_valid_snapshot(dir.path(), fresh) {
        Err(DurabilityError::NoValidSnapshot {
            count: 2, newest, ..
        }) => {
            assert!(damaged(&newest, &newer.path), "{newest}")
        }
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("no snapshot is valid"),
    }
}

#[test]
fn retention_keeps_the_newest_and_leftovers_are_ignored_then_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let source = fresh();
    let mut written = Vec::new();
    for _ in 0..4 {
        commit_one(&source);
        written.push(write_snapshot(&source, dir.path(), EPOCH).unwrap());
    }
    let leftover = dir.path().join(format!("{}.tmp", file_name(999)));
    fs::write(&leftover, b"half a snapshot").unwrap();
    fs::write(dir.path().join("notes.txt"), b"not a snapshot").unwrap();
    let listed = list_snapshots(dir.path()).unwrap();
    let expected: Vec<(u64, PathBuf)> = written
        .iter()
        .rev()
        .map(|i| (i.commit_ts, i.path.clone()))
        .collect();
    assert_eq!(listed, expected, "newest first, no leftovers");

    let deleted = apply_retention(dir.path(), 2).unwrap();
    assert_eq!(
        deleted,
        vec![written[1].path.clone(), written[0].path.clone()]
    );
    assert_eq!(list_snapshots(dir.path()).unwrap(), expected[..2].to_vec());
    assert!(leftover.exists(), "retention leaves files it does not own");

    commit_one(&source);
    let newest = write_snapshot(&source, dir.path(), EPOCH).unwrap();
    assert!(!leftover.exists(), "a write deletes leftovers");
    assert_eq!(apply_retention(dir.path(), 0).unwrap().len(), 2);
    assert_eq!(
        list_snapshots(dir.path()).unwrap(),
        vec![(newest.commit_ts, newest.path.clone())],
        "at least one is kept"
    );
    assert!(dir.path().join("notes.txt").exists());
    assert!(list_snapshots(&dir.path().join("missing"))
        .unwrap()
        .is_empty());
}
