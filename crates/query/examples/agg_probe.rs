//! Times `MATCH (p:Person) RETURN p.age / 10 AS b, count(*) ORDER BY b` through the query engine
//! on a graph of persons loaded straight into storage (no Bolt), to iterate on scan
//! aggregations quickly:
//!
//! `cargo run --release -p query --example agg_probe -- [nodes] [runs] [query]`

use std::collections::HashMap;
use std::time::Instant;

use query::{Engine, EngineConfig};
use storage::{PropertyValue, Storage, StorageConfig};

/// The server's allocator, so allocation costs match.
#[global_allocator]
static GLOBAL: query::memory::Counting<mimalloc::MiMalloc> =
    query::memory::Counting(mimalloc::MiMalloc);

fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let nodes: u64 = args.get(1).map_or(1_000_000, |a| a.parse().expect("nodes"));
    let runs: usize = args.get(2).map_or(20, |a| a.parse().expect("runs"));
    let query = args.get(3).map_or(
        "MATCH (p:Person) RETURN p.age / 10 AS b, count(*) ORDER BY b",
        String::as_str,
    );
    let storage = Storage::new(StorageConfig::default());
    let (person, id, name, age) = (
        storage.label("Person"),
        storage.property("id"),
        storage.property("name"),
        storage.property("age"),
    );
    let names = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken"];
    let started = Instant::now();
    let mut next = 0;
    while next < nodes {
        let mut tx = storage.begin();
        for i in next..(next + 10_000).min(nodes) {
            let v = tx.create_vertex();
            tx.add_label(v, person).expect("label");
            let h = mix(i);
            tx.set_vertex_property(v, id, PropertyValue::Int(i as i64))
                .expect("id");
            let n = format!(
                "{} {}",
                names[(h % 6) as usize],
                names[((h >> 8) % 6) as usize]
            );
            tx.set_vertex_property(v, name, n.into()).expect("name");
            tx.set_vertex_property(v, age, PropertyValue::Int(18 + (h >> 16) as i64 % 63))
                .expect("age");
        }
        tx.commit().expect("commit");
        next += 10_000;
    }
    storage.gc();
    eprintln!("loaded {nodes} persons in {:?}", started.elapsed());
    let engine = Engine::new(storage, EngineConfig::default());
    let cpu_before = cpu_seconds();
    let mut times = Vec::new();
    let mut answer = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let (_, rows, _) = engine.execute(query, &HashMap::new()).expect("query");
        times.push(t.elapsed());
        answer = rows;
    }
    let cpu = (cpu_seconds() - cpu_before) / runs as f64;
    eprintln!("{answer:?}");
    eprintln!(
        "CPU per query {:.1} ms ({:.0} ns per vertex)",
        cpu * 1e3,
        cpu * 1e9 / nodes as f64
    );
    times.sort();
    eprintln!(
        "{query}: min {:?} p50 {:?} max {:?}",
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );
}

/// User plus system CPU time of the whole process (all threads), from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}
