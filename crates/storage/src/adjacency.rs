//! Adjacency: a vertex's outgoing and incoming edges, which are also all there is of an edge
//! without properties (see `edge.rs`).
//!
//! There are two [`AdjEntry`]s per edge, one at each end, so with millions of edges the entry
//! size and the lists' unused capacity are most of the graph's memory. Hence:
//! - an entry is 12 bytes: 40-bit edge and vertex gids and a 16-bit type (see [`GID_LIMIT`] and
//!   [`EDGE_TYPE_LIMIT`]);
//! - both lists share one allocation ([`Adjacency`]): outgoing entries ascending from the front,
//!   incoming ones descending from the back, free slots between. New edges have the highest gid,
//!   so adding one is a write next to the gap on either side, never a shift of the other list;
//! - capacity grows 1, 2, then by two slots up to 8, then by a quarter at most (four steps per
//!   doubling, the spacing of the allocator's size classes), so little of it is unused.

use crate::{EdgeTypeId, Gid};

/// Vertex and edge gids must stay below this to fit an adjacency entry (40 bits) and an edge
/// table slot (`source + 1` in 40 bits): about 10^12, far more objects than memory can hold.
/// Replay refuses records beyond it.
pub(crate) const GID_LIMIT: Gid = (1 << 40) - 1;

/// Edge type ids must stay below this to fit an adjacency entry: at most 65,536 distinct
/// relationship types per storage (the limit of Neo4j's standard record format, too). Creating
/// an edge of a type beyond it fails with [`StorageError::Limit`](crate::StorageError::Limit).
pub const EDGE_TYPE_LIMIT: u32 = 1 << 16;

/// One adjacency entry: the edge, the vertex at its other end, its type.
///
/// Three `u32`s (12 bytes, alignment 4): the low 32 bits of both gids, then a word holding gid
/// bits 32..40 of the edge (bits 0..8) and of the other vertex (bits 8..16) and the type (bits
/// 16..32). Fields are read by value through the accessors.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct AdjEntry {
    edge_low: u32,
    other_low: u32,
    packed: u32,
}

impl AdjEntry {
    /// # Panics
    /// If a gid or the type is beyond its limit (writers check before they get here).
    pub(crate) fn new(edge: Gid, other: Gid, ty: EdgeTypeId) -> AdjEntry {
        assert!(
            edge < GID_LIMIT && other < GID_LIMIT && ty.0 < EDGE_TYPE_LIMIT,
            "adjacency entry out of range: edge {edge}, other {other}, {ty:?}"
        );
        AdjEntry {
            edge_low: edge as u32,
            other_low: other as u32,
            packed: ((edge >> 32) as u32) | (((other >> 32) as u32) << 8) | (ty.0 << 16),
        }
    }

    pub(crate) fn edge(self) -> Gid {
        u64::from(self.edge_low) | (u64::from(self.packed & 0xFF) << 32)
    }

    pub(crate) fn other(self) -> Gid {
        u64::from(self.other_low) | (u64::from((self.packed >> 8) & 0xFF) << 32)
    }

    pub(crate) fn ty(self) -> EdgeTypeId {
        EdgeTypeId(self.packed >> 16)
    }
}

/// Inserts `entry` into a list kept sorted by edge gid (new edges have the highest gid, so this
/// is usually a push). For copies readers rebuild old versions in.
pub(crate) fn adj_insert(list: &mut Vec<AdjEntry>, entry: AdjEntry) {
    match list.last() {
        Some(last) if last.edge() > entry.edge() => {
            let index = list.partition_point(|e| e.edge() < entry.edge());
            debug_assert!(list.get(index).is_none_or(|e| e.edge() != entry.edge()));
            list.insert(index, entry);
        }
        _ => list.push(entry),
    }
}

/// Removes the entry of `edge` from a sorted list.
pub(crate) fn adj_remove(list: &mut Vec<AdjEntry>, edge: Gid) -> Option<AdjEntry> {
    let index = list.binary_search_by_key(&edge, |e| e.edge()).ok()?;
    Some(list.remove(index))
}

/// A vertex's outgoing and incoming entries in one allocation (see the module doc).
///
/// `buf[..out_len]` is outgoing, ascending by edge gid (`other` is the target);
/// `buf[len - in_len..]` is incoming, *descending* by edge gid (`other` is the source).
#[derive(Default, Debug)]
pub(crate) struct Adjacency {
    buf: Box<[AdjEntry]>,
    out_len: u32,
    in_len: u32,
}

impl Adjacency {
    /// Outgoing entries, ascending by edge gid.
    pub(crate) fn out(&self) -> &[AdjEntry] {
        &self.buf[..self.out_len as usize]
    }

    /// Incoming entries, ascending by edge gid.
    pub(crate) fn ins(&self) -> impl DoubleEndedIterator<Item = AdjEntry> + '_ {
        self.in_desc().iter().rev().copied()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.out_len == 0 && self.in_len == 0
    }

    /// The outgoing entry of `edge`.
    pub(crate) fn find_out(&self, edge: Gid) -> Option<AdjEntry> {
        let out = self.out();
        let index = out.binary_search_by_key(&edge, |e| e.edge()).ok()?;
        Some(out[index])
    }

    pub(crate) fn insert_out(&mut self, entry: AdjEntry) {
        self.reserve_one();
        let len = self.out_len as usize;
        let index = match self.out().last() {
            Some(last) if last.edge() > entry.edge() => {
                self.out().partition_point(|e| e.edge() < entry.edge())
            }
            _ => len,
        };
        self.buf.copy_within(index..len, index + 1);
        self.buf[index] = entry;
        self.out_len += 1;
    }

    pub(crate) fn remove_out(&mut self, edge: Gid) -> Option<AdjEntry> {
        let index = self.out().binary_search_by_key(&edge, |e| e.edge()).ok()?;
        let entry = self.buf[index];
        self.buf
            .copy_within(index + 1..self.out_len as usize, index);
        self.out_len -= 1;
        Some(entry)
    }

    pub(crate) fn insert_in(&mut self, entry: AdjEntry) {
        self.reserve_one();
        let start = self.in_start();
        // Within the descending run, the first position whose edge is below the new one.
        let offset = match self.in_desc().first() {
            Some(first) if first.edge() > entry.edge() => {
                self.in_desc().partition_point(|e| e.edge() > entry.edge())
            }
            _ => 0,
        };
        self.buf.copy_within(start..start + offset, start - 1);
        self.buf[start + offset - 1] = entry;
        self.in_len += 1;
    }

    pub(crate) fn remove_in(&mut self, edge: Gid) -> Option<AdjEntry> {
        let start = self.in_start();
        let offset = self
            .in_desc()
            .binary_search_by(|e| edge.cmp(&e.edge()))
            .ok()?;
        let entry = self.buf[start + offset];
        self.buf.copy_within(start..start + offset, start + 1);
        self.in_len -= 1;
        Some(entry)
    }

    /// The adjacency whose outgoing entries are `buf[..out_len]` (ascending by edge gid) and
    /// incoming ones the rest (descending by edge gid), exactly sized (bulk loads).
    pub(crate) fn from_parts(buf: Box<[AdjEntry]>, out_len: usize) -> Adjacency {
        debug_assert!(buf[..out_len].windows(2).all(|w| w[0].edge() < w[1].edge()));
        debug_assert!(buf[out_len..].windows(2).all(|w| w[0].edge() > w[1].edge()));
        let in_len = buf.len() - out_len;
        assert!(
            buf.len() < u32::MAX as usize,
            "more than 2^32 edges at one vertex"
        );
        Adjacency {
            buf,
            out_len: out_len as u32,
            in_len: in_len as u32,
        }
    }

    /// Slots allocated (tests).
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.buf.len()
    }

    fn in_start(&self) -> usize {
        self.buf.len() - self.in_len as usize
    }

    fn in_desc(&self) -> &[AdjEntry] {
        &self.buf[self.in_start()..]
    }

    /// Makes room for one more entry (see the module doc for the growth steps).
    fn reserve_one(&mut self) {
        let cap = self.buf.len();
        let used = self.out_len as usize + self.in_len as usize;
        assert!(
            used < u32::MAX as usize,
            "more than 2^32 edges at one vertex"
        );
        if used < cap {
            return;
        }
        let new_cap = if cap < 2 {
            cap + 1
        } else if cap < 8 {
            // Two at a time: a third fewer moves while a bulk load grows the lists, and with
            // 12-byte entries the odd sizes would mostly round up to the next size class anyway.
            cap + 2
        } else {
            let step = 1 << (cap.ilog2() - 2);
            (cap + step) / step * step
        };
        let in_len = self.in_len as usize;
        let mut buf = std::mem::take(&mut self.buf).into_vec();
        // Exactly `new_cap`, so turning it back into a box does not reallocate.
        buf.reserve_exact(new_cap - cap);
        buf.resize(new_cap, AdjEntry::default());
        buf.copy_within(cap - in_len..cap, new_cap - in_len);
        self.buf = buf.into_boxed_slice();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjacency_entries_are_small() {
        assert_eq!(std::mem::size_of::<AdjEntry>(), 12);
        assert_eq!(std::mem::size_of::<Adjacency>(), 24);
    }

    #[test]
    fn entries_round_trip_40_bit_gids_and_16_bit_types() {
        let top = GID_LIMIT - 1;
        for (edge, other) in [(0, 0), (top, 1), (5, top), (1 << 39, (1 << 32) + 7)] {
            for ty in [0, 1, EDGE_TYPE_LIMIT - 1] {
                let entry = AdjEntry::new(edge, other, EdgeTypeId(ty));
                assert_eq!((entry.edge(), entry.other()), (edge, other));
                assert_eq!(entry.ty(), EdgeTypeId(ty));
            }
        }
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn entries_refuse_types_beyond_the_limit() {
        AdjEntry::new(0, 0, EdgeTypeId(EDGE_TYPE_LIMIT));
    }

    #[test]
    fn sorted_vec_helpers() {
        let ty = EdgeTypeId(1);
        let mut list = Vec::new();
        for edge in [5, 9, 2, 7] {
            adj_insert(&mut list, AdjEntry::new(edge, 100 + edge, ty));
        }
        let gids: Vec<_> = list.iter().map(|e| e.edge()).collect();
        assert_eq!(gids, [2, 5, 7, 9]);
        assert_eq!(adj_remove(&mut list, 7).map(|e| e.other()), Some(107));
        assert_eq!(adj_remove(&mut list, 7), None);
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].ty(), ty);
    }

    /// Random inserts and removes on both sides against two sorted vectors.
    #[test]
    fn both_lists_stay_sorted_and_apart() {
        let ty = EdgeTypeId(3);
        let mut adj = Adjacency::default();
        let (mut out, mut ins): (Vec<AdjEntry>, Vec<AdjEntry>) = (Vec::new(), Vec::new());
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut most = 0;
        for step in 0..4000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Mostly ascending gids (the common case), some out of order, some removals.
            let edge = if x.is_multiple_of(4) {
                x % (step + 1)
            } else {
                step * 2
            };
            match x % 7 {
                0..=2 if adj.find_out(edge).is_none() => {
                    let entry = AdjEntry::new(edge, x % 1000, ty);
                    adj.insert_out(entry);
                    adj_insert(&mut out, entry);
                }
                3 | 4 if !ins.iter().any(|e| e.edge() == edge) => {
                    let entry = AdjEntry::new(edge, x % 999, ty);
                    adj.insert_in(entry);
                    adj_insert(&mut ins, entry);
                }
                5 => {
                    let victim = out
                        .get((x / 7) as usize % out.len().max(1))
                        .map(|e| e.edge());
                    if let Some(edge) = victim {
                        assert_eq!(adj.remove_out(edge), adj_remove(&mut out, edge));
                    }
                    assert_eq!(adj.remove_out(GID_LIMIT - 1), None);
                }
                6 => {
                    let victim = ins
                        .get((x / 7) as usize % ins.len().max(1))
                        .map(|e| e.edge());
                    if let Some(edge) = victim {
                        assert_eq!(adj.remove_in(edge), adj_remove(&mut ins, edge));
                    }
                    assert_eq!(adj.remove_in(GID_LIMIT - 1), None);
                }
                _ => {}
            }
            assert_eq!(adj.out(), &out[..]);
            assert!(adj.ins().eq(ins.iter().copied()));
            assert_eq!(adj.is_empty(), out.is_empty() && ins.is_empty());
            most = most.max(out.len() + ins.len());
            assert!(adj.capacity() >= out.len() + ins.len());
            assert!(adj.capacity() <= most.max(8) * 5 / 4);
        }
    }

    #[test]
    fn growth_follows_size_class_steps() {
        let mut adj = Adjacency::default();
        let mut caps = Vec::new();
        for edge in 0..40 {
            adj.insert_out(AdjEntry::new(edge, 0, EdgeTypeId(0)));
            if caps.last() != Some(&adj.capacity()) {
                caps.push(adj.capacity());
            }
        }
        assert_eq!(caps, [1, 2, 4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40]);
    }
}
