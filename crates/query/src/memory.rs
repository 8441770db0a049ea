//! Memory accounting for `--memory-limit`.
//!
//! [`Counting`] wraps the process's global allocator and keeps a running total of the bytes
//! allocated and not yet freed. To stay cheap on the hot path each thread adds its allocations
//! to a thread-local counter and moves it to the shared atomic only when it passes
//! [`FLUSH_BYTES`] either way, so the total is exact to within that much per thread. The
//! allocator never fails or panics because of the limit: queries compare the total with the
//! limit at their periodic guard checks and while buffering rows ([`check`]), and fail with
//! [`QueryError::MemoryLimit`]; the memory is released when the failed query is dropped.
//!
//! Without the wrapper installed (unit tests, other binaries) the total stays 0 and no limit
//! ever triggers.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::error::{QueryError, Result};

/// How far a thread's own count may drift before it is added to the shared total.
pub const FLUSH_BYTES: isize = 64 << 10;

static ALLOCATED: AtomicI64 = AtomicI64::new(0);

thread_local! {
    /// Not yet flushed bytes of this thread (const-initialised, no destructor: accessing it
    /// never allocates, so the allocator may use it).
    static PENDING: Cell<isize> = const { Cell::new(0) };
}

#[inline]
fn record(delta: isize) {
    let flushed = PENDING.try_with(|pending| {
        let n = pending.get() + delta;
        if (-FLUSH_BYTES..FLUSH_BYTES).contains(&n) {
            pending.set(n);
        } else {
            ALLOCATED.fetch_add(n as i64, Ordering::Relaxed);
            pending.set(0);
        }
    });
    if flushed.is_err() {
        // The thread is being torn down: count directly.
        ALLOCATED.fetch_add(delta as i64, Ordering::Relaxed);
    }
}

/// A global allocator that counts the bytes `A` has handed out.
pub struct Counting<A>(pub A);

// SAFETY: every call is forwarded to `A` unchanged; the counting touches no allocation.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on.
        let p = unsafe { self.0.alloc(layout) };
        if !p.is_null() {
            record(layout.size() as isize);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on.
        let p = unsafe { self.0.alloc_zeroed(layout) };
        if !p.is_null() {
            record(layout.size() as isize);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on.
        unsafe { self.0.dealloc(ptr, layout) };
        record(-(layout.size() as isize));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract is passed on.
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            record(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// The bytes allocated through [`Counting`] and not freed (0 when it is not installed).
pub fn allocated_bytes() -> u64 {
    ALLOCATED.load(Ordering::Relaxed).max(0) as u64
}

/// Fails when the process has more than `limit` bytes allocated (`limit` 0: no limit).
#[inline]
pub fn check(limit: u64) -> Result<()> {
    if limit == 0 {
        return Ok(());
    }
    let used = allocated_bytes();
    if used <= limit {
        return Ok(());
    }
    Err(QueryError::MemoryLimit(format!(
        "Memory limit exceeded! The server has {} allocated, more than the {} allowed by \
         --memory-limit; the query was stopped and its memory released.",
        readable(used),
        readable(limit)
    )))
}

fn readable(bytes: u64) -> String {
    format!("{:.2}MiB", bytes as f64 / f64::from(1 << 20))
}
