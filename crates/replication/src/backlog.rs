//! The replication backlog: the newest commits' WAL frames, in commit order, bounded in bytes
//! (as Redis's `repl-backlog`). Replica clients stream from it; a replica that falls further
//! behind than it reaches is served from the WAL files, then from a snapshot, so a slow
//! replica never makes the MAIN's memory grow.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

struct Inner {
    entries: VecDeque<(u64, Arc<[u8]>)>,
    bytes: usize,
    /// Every commit after this one is in `entries` (those not lost by a failed WAL flush).
    floor_ts: u64,
    /// Bumped on every push and every publish, so waiters notice news.
    version: u64,
}

pub struct Backlog {
    inner: Mutex<Inner>,
    news: Condvar,
    max_bytes: usize,
}

impl Backlog {
    /// A backlog holding about `max_bytes` of frames, starting after commit `floor_ts`.
    pub fn new(max_bytes: usize, floor_ts: u64) -> Backlog {
        Backlog {
            inner: Mutex::new(Inner {
                entries: VecDeque::new(),
                bytes: 0,
                floor_ts,
                version: 0,
            }),
            news: Condvar::new(),
            max_bytes,
        }
    }

    /// Appends the frame of commit `ts` (called in commit order, under the storage's commit
    /// lock), dropping the oldest frames beyond the size bound.
    pub fn push(&self, ts: u64, frame: Arc<[u8]>) {
        let mut inner = self.inner.lock();
        inner.bytes += frame.len();
        inner.entries.push_back((ts, frame));
        while inner.bytes > self.max_bytes && inner.entries.len() > 1 {
            let (old_ts, old) = inner.entries.pop_front().expect("not empty");
            inner.bytes -= old.len();
            inner.floor_ts = old_ts;
        }
        inner.version += 1;
    }

    /// Commit `ts` was not pushed (no replica was registered when it committed): everything
    /// up to it must come from elsewhere.
    pub fn skip(&self, ts: u64) {
        let mut inner = self.inner.lock();
        if ts > inner.floor_ts {
            inner.entries.clear();
            inner.bytes = 0;
            inner.floor_ts = ts;
        }
    }

    /// Forgets everything up to `ts` (no replica needs it: none is registered).
    pub fn reset(&self, ts: u64) {
        let mut inner = self.inner.lock();
        inner.entries.clear();
        inner.bytes = 0;
        inner.floor_ts = inner.floor_ts.max(ts);
        inner.version += 1;
    }

    /// Wakes the clients waiting for news (a commit became visible).
    pub fn notify(&self) {
        self.inner.lock().version += 1;
        self.news.notify_all();
    }

    /// The current version, to wait for news after it.
    pub fn version(&self) -> u64 {
        self.inner.lock().version
    }

    /// Waits until the version moves past `seen` or `timeout` passes.
    pub fn wait(&self, seen: u64, timeout: Duration) {
        let mut inner = self.inner.lock();
        if inner.version == seen {
            self.news.wait_for(&mut inner, timeout);
        }
    }

    /// Copies into `out` the frames of commits after `after_ts` and up to `upto_ts` (at least
    /// one if there is one, then while they fit in `max_bytes`), skipping those `lost` says
    /// were lost. Returns the timestamp of the last frame copied (or `after_ts`), or `None`
    /// if the backlog no longer reaches back to `after_ts`.
    pub fn collect(
        &self,
        after_ts: u64,
        upto_ts: u64,
        max_bytes: usize,
        lost: impl Fn(u64) -> bool,
        out: &mut Vec<u8>,
    ) -> Option<u64> {
        let inner = self.inner.lock();
        if after_ts < inner.floor_ts {
            return None;
        }
        let start = inner.entries.partition_point(|(ts, _)| *ts <= after_ts);
        let mut last = after_ts;
        for (ts, frame) in inner.entries.range(start..) {
            if *ts > upto_ts || (!out.is_empty() && out.len() + frame.len() > max_bytes) {
                break;
            }
            last = *ts;
            if !lost(*ts) {
                out.extend_from_slice(frame);
            }
        }
        Some(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: usize) -> Arc<[u8]> {
        vec![n as u8; n].into()
    }

    #[test]
    fn serves_what_it_holds_and_says_when_it_does_not() {
        let backlog = Backlog::new(10, 1);
        backlog.push(2, frame(4));
        backlog.push(3, frame(4));
        let mut out = Vec::new();
        assert_eq!(backlog.collect(1, 3, 100, |_| false, &mut out), Some(3));
        assert_eq!(out.len(), 8);
        out.clear();
        // Only what is visible yet.
        assert_eq!(backlog.collect(1, 2, 100, |_| false, &mut out), Some(2));
        out.clear();
        // Lost commits are skipped but passed.
        assert_eq!(backlog.collect(1, 3, 100, |ts| ts == 2, &mut out), Some(3));
        assert_eq!(out.len(), 4);
        // Bounded: the oldest frame goes, and a reader before it is told.
        backlog.push(4, frame(4));
        out.clear();
        assert_eq!(backlog.collect(1, 4, 100, |_| false, &mut out), None);
        assert_eq!(backlog.collect(2, 4, 100, |_| false, &mut out), Some(4));
        // At least one frame even when it is larger than asked.
        out.clear();
        assert_eq!(backlog.collect(2, 4, 1, |_| false, &mut out), Some(3));
    }
}
