//! Loads a random graph straight into the storage and reports time and resident memory.
//!
//! ```text
//! cargo run --release -p storage --example load_probe -- [vertices] [edges] [batch]
//! ```
//!
//! Defaults: 1,000,000 vertices, 5,000,000 edges, 10,000 changes per transaction. Uses the
//! default `StorageConfig` (automatic GC), a fixed xorshift seed, and Linux's `/proc` for RSS.

use std::time::Instant;

use storage::{Storage, StorageConfig};

fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmRSS:"));
    let kib = line.and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok());
    kib.unwrap_or(0) / 1024
}

fn arg(index: usize, default: u64) -> u64 {
    std::env::args()
        .nth(index)
        .map_or(default, |a| a.parse().expect("a number"))
}

fn main() {
    let (vertices, edges, batch) = (arg(1, 1_000_000), arg(2, 5_000_000), arg(3, 10_000).max(1));
    let base_mib = rss_mib();
    let storage = Storage::new(StorageConfig::default());
    let ty = storage.edge_type("T");

    let started = Instant::now();
    let mut tx = storage.begin();
    for i in 1..=vertices {
        tx.create_vertex();
        if i % batch == 0 {
            tx.commit().expect("no sink, no conflicts");
            tx = storage.begin();
        }
    }
    tx.commit().expect("no sink, no conflicts");
    println!(
        "{vertices} vertices: {:?}, +{} MiB",
        started.elapsed(),
        rss_mib() - base_mib
    );

    let started = Instant::now();
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut tx = storage.begin();
    for i in 1..=edges {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        tx.create_edge(x % vertices, (x >> 32) % vertices, ty)
            .expect("endpoints exist");
        if i % batch == 0 {
            tx.commit().expect("no sink, no conflicts");
            tx = storage.begin();
        }
    }
    tx.commit().expect("no sink, no conflicts");
    let gc = storage.gc();
    println!(
        "{edges} edges: {:?}, +{} MiB total, {} deltas left, last gc {gc:?}",
        started.elapsed(),
        rss_mib() - base_mib,
        storage.delta_count()
    );

    let started = Instant::now();
    let tx = storage.begin();
    let degree: usize = tx
        .vertices()
        .map(|v| tx.out_edges(v).map_or(0, |e| e.len()))
        .sum();
    println!("scan + expand {degree} edges: {:?}", started.elapsed());
}
