//! [`SortedChunks`]: the ordered set index entries live in.
//!
//! A `BTreeSet` fills its nodes about half when keys arrive in ascending order (each split of the
//! rightmost leaf leaves 6 of 11 slots used), which is how indexes are mostly fed: gids are
//! ascending, and so are ids in a bulk load. That made a `:Person(id)` entry cost about 70
//! bytes for 32 of payload. Here the set is a sorted list of sorted chunks of up to [`CHUNK`]
//! elements: a full chunk splits in half when something lands inside it, but a value past the
//! end of the last chunk starts a new chunk, so ascending loads fill chunks completely.
//!
//! Lookups binary-search the chunks by their last element, then the chunk. The last elements are
//! kept in their own contiguous array (`lasts`): searching them through the chunk list cost one
//! cache miss per step (each chunk is its own allocation), which was most of an index seek's
//! time in a 1M-entry index. Inserting shifts at most one chunk; a split also shifts the chunk
//! list and `lasts` (24 bytes plus one element per `CHUNK` elements).

use std::ops::Bound;

/// Elements ordered like a number (integer gids, numeric index keys): lookups then guess a
/// position by interpolation before bisecting. Seeks of random ids in a 1M-entry index spent
/// most of their time in cache misses, one per bisection step; a guess lands within a few
/// elements for evenly spread keys, and a wrong guess only costs a probe or two.
pub(crate) trait Numeric {
    /// The number the element orders by, if it orders like one (`None`: bisect only).
    fn number(&self) -> Option<f64>;
}

impl Numeric for u64 {
    fn number(&self) -> Option<f64> {
        Some(*self as f64)
    }
}

/// The first index of `s` whose element is not `before` (`s` is partitioned by `before`), for
/// a search whose boundary is at the number `target`. Exact whatever the guesses: every step
/// narrows `lo..hi` by probing `before`, the guesses only choose where to probe.
fn partition_point_near<T: Numeric>(
    s: &[T],
    target: Option<f64>,
    before: impl Fn(&T) -> bool,
) -> usize {
    // The answer is in lo..=hi.
    let (mut lo, mut hi) = (0, s.len());
    if let Some(t) = target {
        for _ in 0..3 {
            if hi - lo <= 16 {
                break;
            }
            let (Some(a), Some(b)) = (s[lo].number(), s[hi - 1].number()) else {
                break;
            };
            // Also stops on NaN: only a strictly increasing, finite span can be interpolated.
            if b.partial_cmp(&a) != Some(std::cmp::Ordering::Greater) || !t.is_finite() {
                break;
            }
            let span = (hi - 1 - lo) as f64;
            let guess = lo + (span * ((t - a) / (b - a)).clamp(0.0, 1.0)) as usize;
            let guess = guess.min(hi - 1);
            // Bracket the answer with a small window beside the guess.
            let window = 4 + (hi - lo) / 256;
            // The guess's neighbour first: for evenly spread keys (dense ids) the guess is
            // exact, and the neighbour is on the same or the next cache line, where the
            // window's far end would be another miss.
            if before(&s[guess]) {
                lo = guess + 1;
                if lo < hi {
                    if !before(&s[lo]) {
                        return lo;
                    }
                    lo += 1;
                }
                let probe = (guess + window).min(hi - 1);
                if probe >= lo && !before(&s[probe]) {
                    hi = probe;
                } else {
                    lo = lo.max(probe + 1);
                }
            } else {
                hi = guess;
                if hi > lo {
                    if before(&s[hi - 1]) {
                        return hi;
                    }
                    hi -= 1;
                }
                let probe = guess.saturating_sub(window).max(lo);
                if probe < hi && before(&s[probe]) {
                    lo = probe + 1;
                } else {
                    hi = hi.min(probe);
                }
            }
        }
    }
    lo + s[lo..hi].partition_point(before)
}

/// Most elements per chunk.
const CHUNK: usize = 256;

/// An ordered set of `T` (see the module doc).
#[derive(Debug)]
pub(crate) struct SortedChunks<T> {
    /// Never holds an empty chunk.
    chunks: Vec<Vec<T>>,
    /// `lasts[i]` is the last element of `chunks[i]`.
    lasts: Vec<T>,
}

impl<T> Default for SortedChunks<T> {
    fn default() -> Self {
        SortedChunks {
            chunks: Vec::new(),
            lasts: Vec::new(),
        }
    }
}

impl<T: Ord + Clone + Numeric> SortedChunks<T> {
    /// Adds `value`; `false` if it was there.
    pub(crate) fn insert(&mut self, value: T) -> bool {
        let Some(last) = self.chunks.len().checked_sub(1) else {
            self.lasts.push(value.clone());
            self.chunks.push(new_chunk(value));
            return true;
        };
        // The chunk holding the first element >= value; past the end, the last chunk.
        let target = value.number();
        let index = partition_point_near(&self.lasts, target, |l| *l < value).min(last);
        let chunk = &mut self.chunks[index];
        let at = partition_point_near(chunk, target, |e| *e < value);
        if chunk.get(at) == Some(&value) {
            return false;
        }
        if chunk.len() < CHUNK {
            chunk.insert(at, value);
            if at + 1 == chunk.len() {
                self.lasts[index] = chunk[at].clone();
            }
        } else if index == last && at == chunk.len() {
            self.lasts.push(value.clone());
            self.chunks.push(new_chunk(value));
        } else {
            // `at < CHUNK` here, so the tail keeps the chunk's last element.
            let mut tail = chunk.split_off(CHUNK / 2);
            tail.reserve_exact(CHUNK - tail.len());
            match at.checked_sub(CHUNK / 2) {
                Some(at) => tail.insert(at, value),
                None => chunk.insert(at, value),
            }
            self.lasts[index] = chunk.last().expect("half a chunk").clone();
            let tail_last = tail.last().expect("half a chunk").clone();
            self.chunks.insert(index + 1, tail);
            self.lasts.insert(index + 1, tail_last);
        }
        true
    }

    /// Removes `value`; `false` if it was not there.
    pub(crate) fn remove(&mut self, value: &T) -> bool {
        let target = value.number();
        let index = partition_point_near(&self.lasts, target, |l| l < value);
        let Some(chunk) = self.chunks.get_mut(index) else {
            return false;
        };
        let at = partition_point_near(chunk, target, |e| e < value);
        if chunk.get(at) != Some(value) {
            return false;
        }
        chunk.remove(at);
        if at == chunk.len() {
            if let Some(l) = chunk.last() {
                self.lasts[index] = l.clone();
            }
        }
        // Keep chunks from thinning out after mass removals: a quarter-full chunk merges into a
        // neighbour that has room.
        if chunk.len() <= CHUNK / 4 {
            let into = if index > 0 { index - 1 } else { index + 1 };
            let fits = self
                .chunks
                .get(into)
                .is_some_and(|c| c.len() + self.chunks[index].len() <= CHUNK);
            if self.chunks[index].is_empty() || fits {
                let mut taken = self.chunks.remove(index);
                self.lasts.remove(index);
                if !taken.is_empty() {
                    if into < index {
                        self.chunks[into].append(&mut taken);
                        self.lasts[into] = self.chunks[into].last().expect("merged").clone();
                    } else {
                        // The merged chunk ends where `chunks[index]` ended: `lasts` is right.
                        // `into` shifted down onto `index` by the removal.
                        taken.append(&mut self.chunks[index]);
                        self.chunks[index] = taken;
                    }
                }
            }
        }
        true
    }

    pub(crate) fn extend(&mut self, values: impl IntoIterator<Item = T>) {
        for value in values {
            self.insert(value);
        }
    }

    /// Up to `limit` elements from `lower` to `upper`, ascending (copies, so the caller can let
    /// go of the lock the set is behind).
    pub(crate) fn range(&self, lower: Bound<&T>, upper: Bound<&T>, limit: usize) -> Vec<T> {
        let (mut index, mut at) = match lower {
            Bound::Unbounded => (0, 0),
            Bound::Included(x) => self.position(x.number(), |e| e < x),
            Bound::Excluded(x) => self.position(x.number(), |e| e <= x),
        };
        let below_upper = |e: &T| match upper {
            Bound::Unbounded => true,
            Bound::Included(x) => e <= x,
            Bound::Excluded(x) => e < x,
        };
        let mut out = Vec::new();
        while let Some(chunk) = self.chunks.get(index) {
            for value in &chunk[at..] {
                if out.len() == limit || !below_upper(value) {
                    return out;
                }
                out.push(value.clone());
            }
            (index, at) = (index + 1, 0);
        }
        out
    }

    /// Calls `visit` on the elements from the first for which `before` is false (the set is
    /// partitioned by it; `target` is the boundary's number, see [`partition_point_near`]),
    /// ascending, until `visit` returns `false`. Copies nothing.
    pub(crate) fn visit_from(
        &self,
        target: Option<f64>,
        before: impl Fn(&T) -> bool,
        mut visit: impl FnMut(&T) -> bool,
    ) {
        let (mut index, mut at) = self.position(target, before);
        while let Some(chunk) = self.chunks.get(index) {
            for value in &chunk[at..] {
                if !visit(value) {
                    return;
                }
            }
            (index, at) = (index + 1, 0);
        }
    }

    /// Every element, ascending.
    pub(crate) fn to_vec(&self) -> Vec<T> {
        self.chunks.iter().flatten().cloned().collect()
    }

    /// (chunk, offset) of the first element for which `before` is false.
    fn position(&self, target: Option<f64>, before: impl Fn(&T) -> bool) -> (usize, usize) {
        let index = partition_point_near(&self.lasts, target, &before);
        let at = self
            .chunks
            .get(index)
            .map_or(0, |c| partition_point_near(c, target, &before));
        (index, at)
    }
}

fn new_chunk<T>(value: T) -> Vec<T> {
    let mut chunk = Vec::with_capacity(CHUNK);
    chunk.push(value);
    chunk
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn interpolated_search_is_exact_for_any_spread_and_any_guess() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for len in [0usize, 1, 5, 17, 100, 256, 4000] {
            for shape in 0..4 {
                let mut s: Vec<u64> = (0..len as u64)
                    .map(|i| match shape {
                        0 => i * 3,     // even
                        1 => i * i * i, // skewed
                        2 => {
                            if i < len as u64 / 2 {
                                i
                            } else {
                                1 << 40 | i
                            }
                        } // two clusters
                        _ => next() % 1_000_000, // random (with duplicates)
                    })
                    .collect();
                s.sort();
                for _ in 0..200 {
                    let v = match next() % 3 {
                        0 => s.get(next() as usize % len.max(1)).copied().unwrap_or(0),
                        1 => next() % (s.last().copied().unwrap_or(0) + 2),
                        _ => next(),
                    };
                    let want_lt = s.partition_point(|e| *e < v);
                    let want_le = s.partition_point(|e| *e <= v);
                    // The right guess, a wrong one, and none: always the same answer.
                    for target in [Some(v as f64), Some((next() % 5000) as f64), None] {
                        assert_eq!(partition_point_near(&s, target, |e| *e < v), want_lt);
                        assert_eq!(partition_point_near(&s, target, |e| *e <= v), want_le);
                    }
                }
            }
        }
    }

    #[test]
    fn ascending_loads_fill_chunks() {
        let mut set = SortedChunks::default();
        set.extend(0..10 * CHUNK as u64);
        assert_eq!(set.chunks.len(), 10);
        assert!(set.chunks.iter().all(|c| c.len() == CHUNK));
        assert_eq!(set.to_vec().len(), 10 * CHUNK);
        for value in 0..10 * CHUNK as u64 - 1 {
            assert!(set.remove(&value));
        }
        assert_eq!(set.chunks.len(), 1);
        assert_eq!(set.to_vec(), [10 * CHUNK as u64 - 1]);
    }

    #[test]
    fn behaves_like_a_btreeset() {
        let mut set = SortedChunks::default();
        let mut model = BTreeSet::new();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for step in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let value = if x.is_multiple_of(3) { step } else { x % 5000 };
            if x.is_multiple_of(5) {
                assert_eq!(set.remove(&value), model.remove(&value));
            } else {
                assert_eq!(set.insert(value), model.insert(value));
            }
            if step % 97 == 0 {
                assert_eq!(set.to_vec(), model.iter().copied().collect::<Vec<_>>());
                let lasts: Vec<_> = set.chunks.iter().map(|c| *c.last().unwrap()).collect();
                assert_eq!(set.lasts, lasts, "lasts must be each chunk's last element");
                let (lo, hi) = (x % 6000, x % 6000 + x % 700);
                for (lower, upper) in [
                    (Bound::Included(&lo), Bound::Excluded(&hi)),
                    (Bound::Excluded(&lo), Bound::Included(&hi)),
                    (Bound::Unbounded, Bound::Included(&hi)),
                    (Bound::Excluded(&lo), Bound::Unbounded),
                ] {
                    let expected: Vec<u64> =
                        model.range((lower, upper)).take(300).copied().collect();
                    assert_eq!(set.range(lower, upper, 300), expected);
                }
            }
        }
        assert!(set.chunks.iter().all(|c| !c.is_empty() && c.len() <= CHUNK));
        let lasts: Vec<_> = set.chunks.iter().map(|c| *c.last().unwrap()).collect();
        assert_eq!(set.lasts, lasts, "lasts must be each chunk's last element");
    }
}
