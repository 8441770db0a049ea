//! Loads a random graph straight into the storage and reports time and resident memory.
//!
//! ```text
//! cargo run --release -p storage --example load_probe -- [vertices] [edges] [batch]
//! ```
//!
//! Defaults: 1,000,000 vertices, 5,000,000 edges, 10,000 vertices or edges per transaction. Uses
//! the default `StorageConfig` (automatic GC), a fixed xorshift seed, mimalloc (as the server
//! does), and Linux's `/proc` for RSS. Vertices look like the bench's social graph: `:Person`
//! with `id` (int), `name` (string of 9-13 chars) and `age` (int), indexed on `:Person(id)`.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use storage::{PropertyValue, Storage, StorageConfig};

/// mimalloc, counting the bytes currently allocated (requested sizes), so the report can tell
/// what the graph holds from what the allocator keeps resident.
struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: every call is passed on to mimalloc unchanged; only a counter is updated besides.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live_mib() -> i64 {
    LIVE.load(Ordering::Relaxed) >> 20
}

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
    let person = storage.label("Person");
    let (id, name, age) = (
        storage.property("id"),
        storage.property("name"),
        storage.property("age"),
    );
    if std::env::var_os("PROBE_NO_INDEX").is_none() {
        storage.create_index(person, Some(id)).expect("fresh index");
    }
    const NAMES: [&str; 4] = ["Ada Lovelace", "Alan Kay", "Grace Hopper", "Edsger Dijks"];

    let started = Instant::now();
    let mut tx = storage.begin();
    for i in 1..=vertices {
        let v = tx.create_vertex();
        tx.add_label(v, person).expect("fresh vertex");
        let props = [
            (id, PropertyValue::Int(v as i64)),
            (name, NAMES[(i % 4) as usize].into()),
            (age, PropertyValue::Int(18 + (i % 63) as i64)),
        ];
        for (key, value) in props {
            tx.set_vertex_property(v, key, value).expect("fresh vertex");
        }
        if i % batch == 0 {
            tx.commit().expect("no sink, no conflicts");
            tx = storage.begin();
        }
    }
    tx.commit().expect("no sink, no conflicts");
    println!(
        "{vertices} vertices: {:?}, +{} MiB resident, {} MiB allocated",
        started.elapsed(),
        rss_mib() - base_mib,
        live_mib()
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
        "{edges} edges: {:?}, +{} MiB resident in all, {} MiB allocated, {} deltas left, last gc {gc:?}",
        started.elapsed(),
        rss_mib() - base_mib,
        live_mib(),
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
