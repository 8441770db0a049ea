//! Garbage collection of deltas and deleted objects.
//!
//! Every write commit leaves a [`GcEntry`](crate::storage::GcEntry) naming the objects it
//! touched. Once the commit is at or before the oldest snapshot any running transaction reads
//! (every commit before the oldest running transaction's start), nobody will undo its deltas
//! again, so GC unlinks them, and everything older on the same chains. A deleted object whose
//! chain becomes empty is invisible to everyone: GC drops its labels, properties and adjacency,
//! leaving an empty tombstone in its table slot (gids are never reused).

use std::sync::atomic::Ordering;

use crate::{ObjectRef, Storage};

/// What one [`Storage::gc`] pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcStats {
    /// The snapshot every running transaction sees: deltas committed at or before it were freed.
    pub oldest_snapshot_ts: u64,
    /// Committed transactions whose deltas this pass released.
    pub commits_collected: u64,
    /// Deltas unlinked and freed.
    pub deltas_freed: u64,
    /// Deleted vertices and edges whose contents were freed.
    pub objects_freed: u64,
    /// Index entries no version matched any more, removed.
    pub index_entries_freed: u64,
}

impl Storage {
    /// Unlinks the deltas no running or future transaction needs and frees deleted objects.
    /// Cheap when there is nothing to do; safe to call from any thread at any time.
    pub fn gc(&self) -> GcStats {
        let oldest_snapshot_ts = {
            let clock = self.clock.lock();
            // `active` is keyed by start_ts and snapshots grow with it: the first is the oldest.
            let oldest = clock.active.values().next().copied();
            oldest.unwrap_or(clock.last_commit_ts)
        };
        let mut stats = GcStats {
            oldest_snapshot_ts,
            ..GcStats::default()
        };
        let mut objects: Vec<ObjectRef> = Vec::new();
        {
            let mut queue = self.gc_queue.lock();
            while let Some(entry) = queue.front().filter(|e| e.commit_ts <= oldest_snapshot_ts) {
                objects.extend_from_slice(&entry.objects);
                queue.pop_front();
                stats.commits_collected += 1;
            }
        }
        // One visit per object, in table order: an object touched by several commits is
        // truncated once, and ascending gids are far kinder to caches and TLBs than commit order.
        objects.sort_unstable();
        objects.dedup();
        for object in objects {
            let (freed, emptied) = self.collect_object(object, oldest_snapshot_ts);
            stats.deltas_freed += freed;
            stats.objects_freed += u64::from(emptied);
        }
        self.live_deltas
            .fetch_sub(stats.deltas_freed, Ordering::Relaxed);
        stats.index_entries_freed = self.sweep_indexes(false);
        stats
    }

    /// A full pass on demand (`FREE MEMORY`, the periodic GC timer): [`Storage::gc`], plus a
    /// sweep of every index that writes may have left stale entries in, however few.
    pub fn free_memory(&self) -> GcStats {
        let mut stats = self.gc();
        stats.index_entries_freed += self.sweep_indexes(true);
        stats
    }

    /// Truncates one object's chain; returns (deltas freed, whether a deleted object was emptied).
    fn collect_object(&self, object: ObjectRef, oldest_snapshot_ts: u64) -> (u64, bool) {
        match object {
            ObjectRef::Vertex(gid) => {
                let mut data = self.vertex_slot(gid).expect("committed vertex").write();
                let freed = data.chain.truncate_visible_to_all(oldest_snapshot_ts);
                let emptied = freed > 0 && data.deleted && data.chain.is_empty();
                if emptied {
                    data.free_contents();
                }
                (freed, emptied)
            }
            ObjectRef::Edge(gid) => {
                let mut shard = self.edge_props.shard(gid);
                let Some(data) = shard.get_mut(&gid) else {
                    return (0, false);
                };
                let freed = data.chain.truncate_visible_to_all(oldest_snapshot_ts);
                let emptied = freed > 0 && data.deleted && data.chain.is_empty();
                if data.removable() {
                    shard.remove(&gid);
                }
                (freed, emptied)
            }
        }
    }
}
