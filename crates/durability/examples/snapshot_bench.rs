//! Measures writing and loading a snapshot of the bench's graph shape.
//!
//! ```text
//! cargo run --release -p durability --example snapshot_bench -- [vertices] [edges] [dir]
//! ```
//!
//! Defaults: 1,000,000 `:Person {id, name, age}` vertices indexed on `:Person(id)` and 5,000,000
//! property-less `:KNOWS` edges between random vertices (a fixed xorshift seed), the snapshot
//! written into a temporary directory under `dir` (default: the system's temporary directory),
//! mimalloc as in the server. Prints the build, write and load times, the file size and the
//! loaded graph's counts, and checks that the loaded graph equals the source in counts, gid
//! bounds and a sample of vertices and edges. With `SNAPSHOT_BENCH_LOAD=<file>` it only loads
//! that snapshot and prints the time. `SNAPSHOT_BENCH_KEEP=1` keeps the written file.

use std::time::Instant;

use durability::{load_snapshot, write_snapshot};
use storage::{PropertyValue, Storage, StorageConfig};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(index: usize, default: u64) -> u64 {
    std::env::args()
        .nth(index)
        .map_or(default, |a| a.parse().expect("a number"))
}

fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmRSS:"));
    let kib = line.and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok());
    kib.unwrap_or(0) / 1024
}

fn main() {
    if let Some(path) = std::env::var_os("SNAPSHOT_BENCH_LOAD") {
        // Only load an existing snapshot (profiling the load alone).
        let loaded = Storage::new(StorageConfig::default());
        let info = load_snapshot(path.as_ref(), &loaded).expect("snapshot loads");
        println!(
            "load: {:.2?}, {} vertices, {} edges ({} MiB resident)",
            info.elapsed,
            info.vertices,
            info.edges,
            rss_mib()
        );
        return;
    }
    let (vertices, edges) = (arg(1, 1_000_000).max(1), arg(2, 5_000_000));
    let parent = std::env::args()
        .nth(3)
        .map_or_else(std::env::temp_dir, Into::into);
    let mut dir = tempfile::tempdir_in(parent).expect("a temporary directory");
    dir.disable_cleanup(std::env::var_os("SNAPSHOT_BENCH_KEEP").is_some());

    let started = Instant::now();
    let source = Storage::new(StorageConfig::default());
    let person = source.label("Person");
    let knows = source.edge_type("KNOWS");
    let (id, name, age) = (
        source.property("id"),
        source.property("name"),
        source.property("age"),
    );
    source.create_index(person, Some(id)).expect("fresh index");
    const NAMES: [&str; 4] = ["Ada Lovelace", "Alan Kay", "Grace Hopper", "Edsger Dijks"];
    let batch = 10_000;
    let mut tx = source.begin();
    for i in 0..vertices {
        let v = tx.create_vertex();
        tx.add_label(v, person).expect("fresh vertex");
        for (key, value) in [
            (id, PropertyValue::Int(v as i64)),
            (name, NAMES[(i % 4) as usize].into()),
            (age, PropertyValue::Int(18 + (i % 63) as i64)),
        ] {
            tx.set_vertex_property(v, key, value).expect("fresh vertex");
        }
        if i % batch == batch - 1 {
            tx.commit().expect("no sink, no conflicts");
            tx = source.begin();
        }
    }
    tx.commit().expect("no sink, no conflicts");
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut tx = source.begin();
    for i in 0..edges {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        tx.create_edge(x % vertices, (x >> 32) % vertices, knows)
            .expect("endpoints exist");
        if i % batch == batch - 1 {
            tx.commit().expect("no sink, no conflicts");
            tx = source.begin();
        }
    }
    tx.commit().expect("no sink, no conflicts");
    source.gc();
    println!(
        "built {vertices} vertices, {edges} edges in {:.2?} ({} MiB resident)",
        started.elapsed(),
        rss_mib()
    );

    let written = write_snapshot(&source, dir.path(), "bench").expect("snapshot written");
    println!(
        "write: {:.2?}, {:.1} MiB, {} vertices, {} edges -> {}",
        written.elapsed,
        written.bytes as f64 / (1 << 20) as f64,
        written.vertices,
        written.edges,
        written.path.display()
    );

    let before = rss_mib();
    let loaded = Storage::new(StorageConfig::default());
    let info = load_snapshot(&written.path, &loaded).expect("snapshot loads");
    println!(
        "load: {:.2?}, {} vertices, {} edges (+{} MiB resident)",
        info.elapsed,
        info.vertices,
        info.edges,
        rss_mib().saturating_sub(before)
    );

    assert_eq!(
        (info.vertices, info.edges),
        (written.vertices, written.edges)
    );
    assert_eq!(loaded.last_commit_ts(), source.last_commit_ts());
    assert_eq!(loaded.vertex_gid_bound(), source.vertex_gid_bound());
    assert_eq!(loaded.edge_gid_bound(), source.edge_gid_bound());
    let lid = loaded.find_property("id").expect("interned");
    assert!(loaded.has_label_property_index(loaded.find_label("Person").expect("interned"), lid));
    let (a, b) = (source.begin(), loaded.begin());
    for v in (0..vertices).step_by((vertices / 1000).max(1) as usize) {
        assert_eq!(
            a.vertex_property(v, id).expect("source vertex"),
            b.vertex_property(v, lid).expect("loaded vertex")
        );
        let gids =
            |edges: Vec<storage::EdgeRef>| edges.iter().map(|e| (e.gid, e.to)).collect::<Vec<_>>();
        assert_eq!(
            gids(a.out_edges(v).expect("source vertex")),
            gids(b.out_edges(v).expect("loaded vertex"))
        );
    }
    println!("checked: counts, gid bounds, index, a sample of vertices and their edges");
}
