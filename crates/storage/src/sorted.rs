//! [`SortedChunks`]: the ordered set index entries live in.
//!
//! A `BTreeSet` fills its nodes about half when keys arrive in ascending order (each split of the
//! rightmost leaf leaves 6 of 11 slots used), which is how indexes are mostly fed: gids are
//! ascending, and so are ids in a bulk load. That made a `:Person(id)` entry cost about 70
//! bytes for 32 of payload. Here the set is a sorted list of sorted chunks of up to [`CHUNK`]
//! elements: a full chunk splits in half when something lands inside it, but a value past the
//! end of the last chunk starts a new chunk, so ascending loads fill chunks completely.
//!
//! Lookups binary-search the chunks by their last element, then the chunk. Inserting shifts at
//! most one chunk; a split also shifts the chunk list (24 bytes per `CHUNK` elements).

use std::ops::Bound;

/// Most elements per chunk.
const CHUNK: usize = 256;

/// An ordered set of `T` (see the module doc).
#[derive(Debug)]
pub(crate) struct SortedChunks<T> {
    /// Never holds an empty chunk.
    chunks: Vec<Vec<T>>,
}

impl<T> Default for SortedChunks<T> {
    fn default() -> Self {
        SortedChunks { chunks: Vec::new() }
    }
}

impl<T: Ord + Clone> SortedChunks<T> {
    /// Adds `value`; `false` if it was there.
    pub(crate) fn insert(&mut self, value: T) -> bool {
        let Some(last) = self.chunks.len().checked_sub(1) else {
            self.chunks.push(new_chunk(value));
            return true;
        };
        // The chunk holding the first element >= value; past the end, the last chunk.
        let index = self
            .chunks
            .partition_point(|c| *c.last().expect("no empty chunks") < value)
            .min(last);
        let chunk = &mut self.chunks[index];
        let Err(at) = chunk.binary_search(&value) else {
            return false;
        };
        if chunk.len() < CHUNK {
            chunk.insert(at, value);
        } else if index == last && at == chunk.len() {
            self.chunks.push(new_chunk(value));
        } else {
            let mut tail = chunk.split_off(CHUNK / 2);
            tail.reserve_exact(CHUNK - tail.len());
            match at.checked_sub(CHUNK / 2) {
                Some(at) => tail.insert(at, value),
                None => chunk.insert(at, value),
            }
            self.chunks.insert(index + 1, tail);
        }
        true
    }

    /// Removes `value`; `false` if it was not there.
    pub(crate) fn remove(&mut self, value: &T) -> bool {
        let index = self
            .chunks
            .partition_point(|c| c.last().expect("no empty chunks") < value);
        let Some(chunk) = self.chunks.get_mut(index) else {
            return false;
        };
        let Ok(at) = chunk.binary_search(value) else {
            return false;
        };
        chunk.remove(at);
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
                if !taken.is_empty() {
                    if into < index {
                        self.chunks[into].append(&mut taken);
                    } else {
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
            Bound::Included(x) => self.position(|e| e < x),
            Bound::Excluded(x) => self.position(|e| e <= x),
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

    /// Every element, ascending.
    pub(crate) fn to_vec(&self) -> Vec<T> {
        self.chunks.iter().flatten().cloned().collect()
    }

    /// (chunk, offset) of the first element for which `before` is false.
    fn position(&self, before: impl Fn(&T) -> bool) -> (usize, usize) {
        let index = self
            .chunks
            .partition_point(|c| before(c.last().expect("no empty chunks")));
        let at = self
            .chunks
            .get(index)
            .map_or(0, |c| c.partition_point(|e| before(e)));
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
    }
}
