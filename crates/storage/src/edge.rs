//! Edges as stored: no object per edge.
//!
//! An edge *is* its two adjacency entries (one in its source's outgoing list, one in its target's
//! incoming list, see `object.rs`). Its existence is versioned by the adjacency deltas on those
//! two vertices (`RemoveOutEdge` / `AddOutEdge` ...), which creating or deleting it writes anyway,
//! so a transaction sees an edge exactly when the version of the source vertex it sees lists it.
//!
//! What an edge needs beyond that:
//! - [`EdgeTable`]: one 5-byte slot per edge gid naming its source vertex, so a lookup by gid
//!   (`tx.edge(e)`, edge properties, `DELETE r`) finds the vertex whose adjacency holds the rest.
//! - [`EdgeProps`]: properties and their undo deltas, only for edges that ever had a property set
//!   (a sharded gid -> [`EdgeData`] map). An edge without an entry has no properties.
//!
//! Concurrency: a slot is written once when the edge is created (before its adjacency entries
//! are published under the vertex locks) and cleared only when that creation is rolled back, so
//! readers load it without locks (see [`EdgeTable`] on racing reads). An edge's [`EdgeData`] is protected by its shard's mutex.
//! Lock order: vertices (ascending gid), then one edge shard.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

use parking_lot::{Mutex, MutexGuard};

use crate::attrs::Attrs;
use crate::mvcc::{Action, Chain};
use crate::Gid;

/// Slots per chunk of the edge table (80 KiB of slots).
const CHUNK_BITS: u32 = 14;
const CHUNK_MASK: u64 = (1 << CHUNK_BITS) - 1;

/// gid -> source vertex, for every edge gid handed out. Append-only; lock-free reads.
///
/// A slot is 5 bytes (vertex gids have 40 bits, see [`GID_LIMIT`](crate::adjacency::GID_LIMIT)), split into a low `u32` and
/// a high `u8` array per chunk. Fixed-size chunks (rather than one growable array, or `boxcar`,
/// whose entries carry an extra flag word) keep the unused tail below one chunk.
///
/// The two halves are separate atomics, so a read racing the slot's write (an edge being created,
/// or its creation rolled back) may see a mix of old and new. That is harmless because nothing
/// trusts the slot alone: every reader then looks the edge up in the adjacency of the vertex it
/// names, and only the edge's true source lists it. A torn value names some other vertex (or
/// none), which reads as "no such edge" — what the racing reader must see of an uncommitted edge
/// anyway. Readers that got the gid from an adjacency list see the complete slot: it is written
/// before the entries are published under the vertex locks.
#[derive(Default)]
pub(crate) struct EdgeTable {
    chunks: boxcar::Vec<EdgeChunk>,
    /// Serialises appending chunks (once per 16,384 edges).
    grow: Mutex<()>,
    /// One past the highest gid ever allocated or placed.
    bound: AtomicU64,
}

struct EdgeChunk {
    low: Box<[AtomicU32]>,
    high: Box<[AtomicU8]>,
}

/// A slot holds `source + 1` (at most 2^40 - 1, as vertex gids are below `GID_LIMIT`); 0 means
/// no edge (never used, or its creation was rolled back).
const EMPTY: u64 = 0;

/// A reference to one slot.
#[derive(Clone, Copy)]
struct Slot<'a> {
    low: &'a AtomicU32,
    high: &'a AtomicU8,
}

impl Slot<'_> {
    fn load(self) -> u64 {
        let low = self.low.load(Ordering::Acquire);
        u64::from(low) | (u64::from(self.high.load(Ordering::Acquire)) << 32)
    }

    fn store(self, value: u64) {
        debug_assert!(value < 1 << 40);
        self.high.store((value >> 32) as u8, Ordering::Release);
        self.low.store(value as u32, Ordering::Release);
    }
}

impl EdgeTable {
    /// Allocates the next gid for an edge leaving `source`.
    pub(crate) fn push(&self, source: Gid) -> Gid {
        let gid = self.bound.fetch_add(1, Ordering::AcqRel);
        self.slot_or_grow(gid).store(source + 1);
        gid
    }

    /// Claims `gid` exactly for an edge leaving `source` (replay, which runs without concurrent
    /// writers). `false` if the slot holds an edge (or a deleted one: gids are not reused).
    pub(crate) fn place(&self, gid: Gid, source: Gid) -> bool {
        let slot = self.slot_or_grow(gid);
        self.bound.fetch_max(gid + 1, Ordering::AcqRel);
        if slot.load() != EMPTY {
            return false;
        }
        slot.store(source + 1);
        true
    }

    /// Makes every gid below `bound` count as handed out (a restore keeps the gids the
    /// snapshot's storage had used, so none is handed out twice); their slots stay empty.
    pub(crate) fn raise_bound(&self, bound: Gid) {
        if let Some(last) = bound.checked_sub(1) {
            self.slot_or_grow(last);
            self.bound.fetch_max(bound, Ordering::AcqRel);
        }
    }

    /// Frees the slot of an edge whose creation is rolled back (the gid becomes a hole that
    /// replay may fill).
    pub(crate) fn clear(&self, gid: Gid) {
        if let Some(slot) = self.slot(gid) {
            slot.store(EMPTY);
        }
    }

    /// The source vertex of edge `gid`, if the gid was handed out (the edge may since have been
    /// deleted, or not be visible to a given transaction: its source's adjacency says).
    pub(crate) fn source(&self, gid: Gid) -> Option<Gid> {
        match self.slot(gid)?.load() {
            EMPTY => None,
            v => Some(v - 1),
        }
    }

    /// One past the highest gid ever handed out.
    pub(crate) fn bound(&self) -> Gid {
        self.bound.load(Ordering::Acquire)
    }

    fn slot(&self, gid: Gid) -> Option<Slot<'_>> {
        let chunk = self.chunks.get(usize::try_from(gid >> CHUNK_BITS).ok()?)?;
        let index = (gid & CHUNK_MASK) as usize;
        Some(Slot {
            low: &chunk.low[index],
            high: &chunk.high[index],
        })
    }

    fn slot_or_grow(&self, gid: Gid) -> Slot<'_> {
        if let Some(slot) = self.slot(gid) {
            return slot;
        }
        let chunk = usize::try_from(gid >> CHUNK_BITS).expect("edge gid beyond the address space");
        {
            let _grow = self.grow.lock();
            // Chunks are only pushed under `grow`, so `count` is exact here.
            while self.chunks.count() <= chunk {
                self.chunks.push(EdgeChunk {
                    low: (0..=CHUNK_MASK).map(|_| AtomicU32::new(0)).collect(),
                    high: (0..=CHUNK_MASK).map(|_| AtomicU8::new(0)).collect(),
                });
            }
        }
        self.slot(gid).expect("chunk just allocated")
    }
}

/// The properties of one edge and their undo deltas.
#[derive(Default)]
pub(crate) struct EdgeData {
    /// Set when the edge is deleted, so GC knows it may drop the entry once its chain is empty.
    /// (Whether a transaction sees the edge is decided by its source's adjacency, not by this.)
    pub(crate) deleted: bool,
    /// Properties only: an edge has no labels.
    pub(crate) props: Attrs,
    /// `SetProperty` undo deltas, and a `Recreate` when the edge is deleted (so a property write
    /// racing the delete conflicts on this chain too).
    pub(crate) chain: Chain,
}

impl EdgeData {
    /// Applies one undo action to the newest data (abort).
    pub(crate) fn undo(&mut self, action: Action) {
        match action {
            Action::Recreate => self.deleted = false,
            Action::SetProperty(key, value) => {
                self.props.set(key, value);
            }
            other => debug_assert!(false, "undo action {other:?} on an edge"),
        }
    }

    /// Whether the entry says nothing an absent entry would not (no properties, no deltas), or
    /// belongs to a deleted edge nobody can read any more: either way it can go.
    pub(crate) fn removable(&self) -> bool {
        self.chain.is_empty() && (self.deleted || self.props.is_empty())
    }
}

const SHARDS: usize = 64;

/// gid -> [`EdgeData`] for the edges that have (or had) properties, in 64 mutex-protected shards.
pub(crate) struct EdgeProps {
    shards: Box<[Mutex<EdgeShard>]>,
}

pub(crate) type EdgeShard = HashMap<Gid, EdgeData, BuildHasherDefault<GidHasher>>;

impl Default for EdgeProps {
    fn default() -> Self {
        EdgeProps {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

impl EdgeProps {
    /// The shard holding edge `gid`'s entry (lock it after any vertex locks).
    pub(crate) fn shard(&self, gid: Gid) -> MutexGuard<'_, EdgeShard> {
        self.shards[(gid % SHARDS as u64) as usize].lock()
    }
}

/// A cheap, well-mixed hash for gids (server-assigned, so no flooding concern): the SplitMix64
/// finaliser, whose low bits (the bucket index) depend on every input bit.
#[derive(Default)]
pub(crate) struct GidHasher(u64);

impl Hasher for GidHasher {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(*byte));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let mut x = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        self.0 = x ^ (x >> 31);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_slots_are_five_bytes() {
        assert_eq!(
            std::mem::size_of::<AtomicU32>() + std::mem::size_of::<AtomicU8>(),
            5
        );
        assert!(std::mem::size_of::<EdgeData>() <= 32);
    }

    #[test]
    fn table_push_place_and_clear() {
        let table = EdgeTable::default();
        assert_eq!(table.push(7), 0);
        assert_eq!(table.push(0), 1);
        assert_eq!(table.source(0), Some(7));
        assert_eq!(table.source(1), Some(0));
        assert_eq!(table.source(2), None);
        let far = 3 * (CHUNK_MASK + 1) + 5;
        assert!(
            table.place(far, (1 << 40) - 2),
            "the highest vertex gid fits"
        );
        assert_eq!(table.source(far), Some((1 << 40) - 2));
        table.clear(far);
        assert!(table.place(far, 9));
        assert!(!table.place(far, 9));
        assert_eq!(table.bound(), far + 1);
        assert_eq!(table.source(far), Some(9));
        assert_eq!(table.source(far - 1), None);
        assert_eq!(table.push(1), far + 1);
        table.clear(far);
        assert_eq!(table.source(far), None);
        assert!(table.place(far, 2));
        assert_eq!(table.source(far + 10 * (CHUNK_MASK + 1)), None);
    }
}
