//! Helpers for the tests that run real threads against one storage.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use storage::{PropertyValue, Storage, StorageError, Transaction};

/// A tiny deterministic PRNG (xorshift64*), one per thread.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[self.below(items.len() as u64) as usize])
    }
}

/// How long one `retry` may keep conflicting before the test fails. Generous: on 2 busy cores a
/// writer holding the contended objects can be descheduled for a long time, and that is
/// starvation of the test's threads, not a lost wake-up in the engine.
const RETRY_DEADLINE: Duration = Duration::from_secs(60);

/// Runs `body` in fresh transactions until it commits; returns how many attempts conflicted.
/// Any error other than a serialization conflict fails the test, and so does a minute without
/// a commit. After a conflict the thread yields, so the transaction it lost to can finish.
pub fn retry(
    storage: &Arc<Storage>,
    mut body: impl FnMut(&mut Transaction) -> Result<(), StorageError>,
) -> u64 {
    let deadline = Instant::now() + RETRY_DEADLINE;
    let mut conflicts = 0;
    loop {
        let mut tx = storage.begin();
        match body(&mut tx).and_then(|()| tx.commit().map(|_| ())) {
            Ok(()) => return conflicts,
            Err(StorageError::SerializationConflict { .. }) => conflicts += 1,
            Err(err) => panic!("unexpected error {err}"),
        }
        assert!(
            Instant::now() < deadline,
            "no commit in {RETRY_DEADLINE:?} ({conflicts} conflicts)"
        );
        thread::yield_now();
    }
}

pub fn int(value: PropertyValue) -> i64 {
    match value {
        PropertyValue::Int(i) => i,
        other => panic!("expected an integer, got {other:?}"),
    }
}

/// Sets its flag when dropped, also while a panic unwinds: readers that loop until the writers
/// are done then stop, and the panic reaches the test instead of a reader spinning forever.
pub struct SetOnDrop<'a>(pub &'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}
