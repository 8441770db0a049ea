//! `--memory-limit`: with the counting allocator installed, a query that allocates past the
//! limit fails with a memory-limit error, releases its memory, and the engine keeps working.

use std::collections::HashMap;
use std::sync::Arc;

use query::memory::{allocated_bytes, Counting};
use query::{Engine, EngineConfig, QueryError, Value};
use storage::{Storage, StorageConfig};

#[global_allocator]
static GLOBAL: Counting<std::alloc::System> = Counting(std::alloc::System);

fn engine(limit_mib: u64) -> Arc<Engine> {
    Engine::new(
        Storage::new(StorageConfig::default()),
        EngineConfig {
            memory_limit_bytes: limit_mib << 20,
            ..EngineConfig::default()
        },
    )
}

// One test: the counter is process-wide, so parallel tests would disturb each other's numbers.
#[test]
fn queries_over_the_limit_fail_and_release_their_memory() {
    the_counter_follows_allocations();
    let e = engine(allocated_bytes() / (1 << 20) + 64);
    let before = allocated_bytes();
    for q in [
        "UNWIND range(1, 50000000) AS x RETURN collect(x)",
        "UNWIND range(1, 50000000) AS x WITH x ORDER BY x DESC RETURN count(x)",
        "UNWIND range(1, 200) AS x RETURN collect(range(1, 100000 + x))",
        // Inside one expression: no operator buffers anything here.
        "RETURN size([x IN range(1, 5000000) | [x, x, x, x]])",
        "RETURN size(reduce(acc = [], x IN range(1, 100) | acc + [range(1, 1000000)]))",
    ] {
        let failure = e
            .execute(q, &HashMap::new())
            .err()
            .unwrap_or_else(|| panic!("{q} should exceed the limit"));
        assert!(
            matches!(failure, QueryError::MemoryLimit(_)),
            "{q}: {failure:?}"
        );
        assert_eq!(
            failure.code(),
            "Neo.TransientError.General.MemoryPoolOutOfMemoryError"
        );
        assert!(
            failure.to_string().starts_with("Memory limit exceeded!"),
            "{failure}"
        );
        // Freed again (within the per-thread batching slack).
        let after = allocated_bytes();
        assert!(after < before + (8 << 20), "{before} -> {after}");
        let (_, rows, _) = e.execute("RETURN 1", &HashMap::new()).unwrap();
        assert_eq!(rows, [[Value::Int(1)]]);
    }
    // Below the limit, the same shape of query answers.
    let (_, rows, _) = e
        .execute(
            "UNWIND range(1, 1000) AS x RETURN size(collect(x))",
            &HashMap::new(),
        )
        .unwrap();
    assert_eq!(rows, [[Value::Int(1000)]]);
    // ORDER BY ... LIMIT keeps only the rows it returns (top-k), so it fits where a full sort
    // of the same input does not.
    let (_, rows, _) = e
        .execute(
            "UNWIND range(1, 50000000) AS x RETURN x ORDER BY x DESC LIMIT 2",
            &HashMap::new(),
        )
        .unwrap();
    assert_eq!(rows, [[Value::Int(50_000_000)], [Value::Int(49_999_999)]]);
}

fn the_counter_follows_allocations() {
    let before = allocated_bytes();
    let block = vec![0u8; 32 << 20];
    let during = allocated_bytes();
    assert!(during >= before + (31 << 20), "{before} -> {during}");
    drop(block);
    assert!(allocated_bytes() < during - (31 << 20));
}
