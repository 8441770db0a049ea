//! Bulk restore: rebuilding an empty storage from a snapshot, object by object, with no
//! transactions, no undo deltas and no redo ops.
//!
//! [`Storage::restore`] takes the engine lock (the clock) and keeps it in the [`Restorer`] until
//! [`Restorer::finish`], so nothing can begin or commit while the graph is half loaded. Objects
//! are written as committed data with empty delta chains (visible to every view, as GC would
//! leave them), at exactly the gids the snapshot names, so WAL records after the snapshot apply
//! to the same gids; gaps stay placeholders. `finish` sets the clock to the snapshot's
//! timestamp and the vertex and edge counts, then creates the constraints (which validate the
//! data and build their entries).
//!
//! Edges come one of two ways. [`Restorer::create_edge`] adds one edge at both ends (random
//! access to two vertices per edge). [`Restorer::create_vertex_with_edges`] takes a vertex with
//! its whole adjacency, outgoing and incoming lists as a snapshot stores them, and builds it in
//! one allocation, so a load touches each vertex once, in gid order; each edge is then given
//! twice, once at each end, and `finish` checks that the two sides describe the same edges (an
//! order-independent sum of a hash keyed at random per restore over both sides, plus the
//! counts), so a file whose ends disagree cannot leave the storage inconsistent.
//!
//! Nothing of a restore goes through the commit sink, and read-only mode (a replica loading its
//! main's snapshot) does not affect it: indexes and constraints are created directly, as replay
//! creates them.
//!
//! Indexes are created as soon as they are declared: on an empty
//! storage that is instant, and every vertex restored afterwards goes through the same index
//! hook a writer uses (`Indexes::on_label_added`), so declaring indexes before the vertices (what
//! a snapshot does) fills them without a second walk over the graph; declared later, the usual
//! build walks what is there.

use std::hash::BuildHasher;
use std::sync::atomic::Ordering;

use parking_lot::MutexGuard;

use crate::adjacency::{AdjEntry, Adjacency, EDGE_TYPE_LIMIT, GID_LIMIT};
use crate::attrs::Attrs;
use crate::edge::EdgeData;
use crate::mvcc::TXN_ID_BASE;
use crate::storage::Clock;
use crate::{ConstraintInfo, EdgeTypeId, Gid, LabelId, PropertyId, PropertyValue};
use crate::{Storage, StorageError};

/// What a finished restore put into the storage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestoreStats {
    /// The timestamp the storage now stands at ([`Storage::last_commit_ts`]).
    pub commit_ts: u64,
    /// Vertices created.
    pub vertices: u64,
    /// Edges created.
    pub edges: u64,
}

/// A bulk load in progress; see the module doc. Holds the engine lock until
/// [`finish`](Restorer::finish): call it from the thread that began the restore, and do not use
/// the storage otherwise meanwhile (a `begin` on another thread waits; on this one it
/// deadlocks).
///
/// Dropped without `finish` (a failed load), the storage keeps what was restored so far at
/// timestamp 0: discard it and start from a new one.
pub struct Restorer<'a> {
    storage: &'a Storage,
    clock: MutexGuard<'a, Clock>,
    commit_ts: u64,
    vertices: u64,
    edges: u64,
    constraints: Vec<ConstraintInfo>,
    /// The two sides of the edges given as adjacency lists (see the module doc).
    outgoing: EndSum,
    incoming: EndSum,
    /// The random key of the ends' hash.
    key: [u64; 2],
}

/// An order-independent digest of a multiset of edge ends `(edge, from, to, type)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct EndSum {
    count: u64,
    sum: u64,
}

impl EndSum {
    fn add(&mut self, key: [u64; 2], edge: Gid, from: Gid, to: Gid, ty: EdgeTypeId) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(end_hash(key, edge, from, to, ty));
    }
}

/// The SplitMix64 finaliser.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A keyed hash of one edge end (gids below 2^40, types below 2^16).
fn end_hash(key: [u64; 2], edge: Gid, from: Gid, to: Gid, ty: EdgeTypeId) -> u64 {
    let a = mix(edge ^ (u64::from(ty.0) << 40) ^ key[0]);
    let b = mix(a ^ from);
    mix(b ^ to.rotate_left(24) ^ key[1])
}

fn refuse(reason: String) -> StorageError {
    StorageError::Restore(reason)
}

impl Storage {
    /// Starts restoring a snapshot taken at `commit_ts` into this storage, which must be empty:
    /// no vertex or edge gid ever allocated, no commit, no running transaction, no constraint.
    pub fn restore(&self, commit_ts: u64) -> Result<Restorer<'_>, StorageError> {
        if commit_ts >= TXN_ID_BASE {
            return Err(refuse(format!(
                "snapshot timestamp {commit_ts} is not below 2^63"
            )));
        }
        let clock = self.clock.lock();
        if clock.last_commit_ts != 0
            || !clock.active.is_empty()
            || clock.replaying.is_some()
            || self.vertex_gid_bound() != 0
            || self.edge_gid_bound() != 0
        {
            return Err(refuse(format!(
                "the storage is not empty (last commit {}, {} running transactions, replicated \
                 record in flight {:?}, vertex gid bound {}, edge gid bound {})",
                clock.last_commit_ts,
                clock.active.len(),
                clock.replaying,
                self.vertex_gid_bound(),
                self.edge_gid_bound()
            )));
        }
        if !self.constraint_info().is_empty() {
            return Err(refuse(
                "the storage already has constraints (restore creates its own)".into(),
            ));
        }
        let random = std::hash::RandomState::new();
        Ok(Restorer {
            storage: self,
            clock,
            commit_ts,
            vertices: 0,
            edges: 0,
            constraints: Vec::new(),
            outgoing: EndSum::default(),
            incoming: EndSum::default(),
            key: [random.hash_one(1u8), random.hash_one(2u8)],
        })
    }
}

impl Restorer<'_> {
    /// The storage being restored (for interning names).
    pub fn storage(&self) -> &Storage {
        self.storage
    }

    /// Creates vertex `gid` with `labels` and `props` (`Null` values are skipped; neither list
    /// needs to be sorted, but a label or key may appear only once). Its edges come later, by
    /// [`create_edge`](Restorer::create_edge).
    pub fn create_vertex(
        &mut self,
        gid: Gid,
        labels: &[LabelId],
        props: &[(PropertyId, PropertyValue)],
    ) -> Result<(), StorageError> {
        self.create_vertex_with_edges(gid, labels, props, &[], &[])
    }

    /// Creates vertex `gid` with its adjacency: `out` lists its outgoing edges as
    /// `(edge, target, type)`, `ins` its incoming ones as `(edge, source, type)`, each strictly
    /// ascending by edge gid. Every edge must appear in the `out` list of its source and the
    /// `ins` list of its target (a self-loop in both lists of its vertex); `finish` checks that
    /// the two sides agree.
    pub fn create_vertex_with_edges(
        &mut self,
        gid: Gid,
        labels: &[LabelId],
        props: &[(PropertyId, PropertyValue)],
        out: &[(Gid, Gid, EdgeTypeId)],
        ins: &[(Gid, Gid, EdgeTypeId)],
    ) -> Result<(), StorageError> {
        if gid >= GID_LIMIT {
            return Err(refuse(format!("vertex gid {gid} is not below 2^40 - 1")));
        }
        let what = |what: String| refuse(format!("vertex {gid}: {what}"));
        let attrs = attrs_of(labels, props).map_err(what)?;
        let mut buf = Vec::with_capacity(out.len() + ins.len());
        for list in [out, ins] {
            for (i, &(edge, other, ty)) in list.iter().enumerate() {
                if edge >= GID_LIMIT || other >= GID_LIMIT {
                    return Err(what(format!(
                        "edge {edge} to or from {other}: gids must be below 2^40 - 1"
                    )));
                }
                if ty.0 >= EDGE_TYPE_LIMIT {
                    return Err(StorageError::Limit(format!(
                        "edge {edge}: a storage holds at most {EDGE_TYPE_LIMIT} relationship types"
                    )));
                }
                if i > 0 && list[i - 1].0 >= edge {
                    return Err(what(format!("its edges are not ascending at edge {edge}")));
                }
            }
        }
        let slot = self.storage.vertices.place(gid);
        let mut data = slot.write();
        if !data.deleted || !data.chain.is_empty() {
            return Err(refuse(format!("vertex gid {gid} appears twice")));
        }
        for &(edge, to, ty) in out {
            if !self.storage.edges.place(edge, gid) {
                // Undo this vertex's claims: nothing of it was restored.
                for &(placed, ..) in out.iter().take_while(|e| e.0 != edge) {
                    self.storage.edges.clear(placed);
                }
                return Err(refuse(format!("edge gid {edge} appears twice")));
            }
            buf.push(AdjEntry::new(edge, to, ty));
        }
        buf.extend(
            ins.iter()
                .rev()
                .map(|&(edge, from, ty)| AdjEntry::new(edge, from, ty)),
        );
        for &(edge, to, ty) in out {
            self.outgoing.add(self.key, edge, gid, to, ty);
        }
        for &(edge, from, ty) in ins {
            self.incoming.add(self.key, edge, from, gid, ty);
        }
        data.deleted = false;
        // Restored into an empty storage: the entries added below are the only ones.
        data.index_exact = true;
        data.attrs = attrs;
        data.adj = Adjacency::from_parts(buf.into_boxed_slice(), out.len());
        for label in data.attrs.labels() {
            self.storage.indexes.on_label_added(gid, label, &data);
        }
        self.vertices += 1;
        self.edges += out.len() as u64;
        Ok(())
    }

    /// Creates edge `gid` from `from` to `to` (both restored already) with `props`.
    pub fn create_edge(
        &mut self,
        gid: Gid,
        from: Gid,
        to: Gid,
        ty: EdgeTypeId,
        props: &[(PropertyId, PropertyValue)],
    ) -> Result<(), StorageError> {
        if ty.0 >= EDGE_TYPE_LIMIT {
            return Err(StorageError::Limit(format!(
                "edge {gid}: a storage holds at most {EDGE_TYPE_LIMIT} relationship types"
            )));
        }
        if gid >= GID_LIMIT {
            return Err(refuse(format!("edge gid {gid} is not below 2^40 - 1")));
        }
        let storage = self.storage;
        let missing = |end: Gid| {
            refuse(format!(
                "edge {gid} ends at vertex {end}, which was not restored"
            ))
        };
        let (Some(source), Some(target)) = (storage.vertex_slot(from), storage.vertex_slot(to))
        else {
            return Err(missing(if storage.vertex_slot(from).is_none() {
                from
            } else {
                to
            }));
        };
        if !storage.edges.place(gid, from) {
            return Err(refuse(format!("edge gid {gid} appears twice")));
        }
        // No concurrency here (the engine lock is held): one vertex lock at a time will do, and
        // each end is checked under the lock that inserts its entry.
        {
            let mut data = source.write();
            if data.deleted {
                drop(data);
                storage.edges.clear(gid);
                return Err(missing(from));
            }
            data.adj.insert_out(AdjEntry::new(gid, to, ty));
        }
        {
            let mut data = target.write();
            if data.deleted {
                drop(data);
                source.write().adj.remove_out(gid);
                storage.edges.clear(gid);
                return Err(missing(to));
            }
            data.adj.insert_in(AdjEntry::new(gid, from, ty));
        }
        self.edges += 1;
        self.set_edge_properties(gid, props)
    }

    /// Gives edge `gid` (restored already, either way) its properties.
    pub fn set_edge_properties(
        &mut self,
        gid: Gid,
        props: &[(PropertyId, PropertyValue)],
    ) -> Result<(), StorageError> {
        let attrs = attrs_of(&[], props).map_err(|what| refuse(format!("edge {gid}: {what}")))?;
        if self.storage.edges.source(gid).is_none() {
            return Err(refuse(format!(
                "properties for edge {gid}, which was not restored"
            )));
        }
        let mut shard = self.storage.edge_props.shard(gid);
        if shard.contains_key(&gid) {
            return Err(refuse(format!("the properties of edge {gid} appear twice")));
        }
        if !attrs.is_empty() {
            shard.insert(
                gid,
                EdgeData {
                    props: attrs,
                    ..EdgeData::default()
                },
            );
        }
        Ok(())
    }

    /// Makes every vertex gid below `vertices` and every edge gid below `edges` count as used,
    /// restored or not, so new objects get gids after them (as in the storage the snapshot was
    /// taken from: gids of deleted objects are not handed out again). Allocates the tables up
    /// to there: bound it before calling with numbers read from a file.
    pub fn reserve_gids(&mut self, vertices: Gid, edges: Gid) -> Result<(), StorageError> {
        if vertices > GID_LIMIT || edges > GID_LIMIT {
            return Err(refuse(format!(
                "gid bounds {vertices} (vertices) and {edges} (edges) exceed 2^40 - 1"
            )));
        }
        if let Some(last) = vertices.checked_sub(1) {
            self.storage.vertices.place(last);
        }
        self.storage.edges.raise_bound(edges);
        Ok(())
    }

    /// Declares a label index (`property: None`) or a label+property index. It is created at
    /// once (see the module doc); `Ok(false)` if it existed.
    pub fn create_index(
        &mut self,
        label: LabelId,
        property: Option<PropertyId>,
    ) -> Result<bool, StorageError> {
        self.storage.build_index(label, property)
    }

    /// Declares a constraint; [`finish`](Restorer::finish) creates it over the restored data.
    pub fn create_constraint(&mut self, constraint: ConstraintInfo) {
        self.constraints.push(constraint);
    }

    /// Vertices and edges restored so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.vertices, self.edges)
    }

    /// Publishes the restored graph at the snapshot's timestamp: [`Storage::last_commit_ts`]
    /// becomes `commit_ts` and the next transaction starts after it. Then creates the declared
    /// constraints; one the data violates fails the restore (the storage is then unusable).
    pub fn finish(mut self) -> Result<RestoreStats, StorageError> {
        if self.outgoing != self.incoming {
            return Err(refuse(format!(
                "the vertices' adjacency lists disagree: {} outgoing and {} incoming edge ends, \
                 which do not describe the same edges",
                self.outgoing.count, self.incoming.count
            )));
        }
        let storage = self.storage;
        let commit_ts = self.commit_ts;
        self.clock.last_commit_ts = commit_ts;
        self.clock.next_ts = self.clock.next_ts.max(commit_ts + 1);
        storage.last_commit.store(commit_ts, Ordering::Release);
        storage
            .vertex_count
            .fetch_add(self.vertices, Ordering::Relaxed);
        storage.edge_count.fetch_add(self.edges, Ordering::Relaxed);
        let stats = RestoreStats {
            commit_ts,
            vertices: self.vertices,
            edges: self.edges,
        };
        let constraints = std::mem::take(&mut self.constraints);
        // Creating a constraint takes the engine lock.
        drop(self);
        for constraint in constraints {
            match constraint {
                ConstraintInfo::Exists { label, property } => {
                    storage.add_existence_constraint(label, property)?
                }
                ConstraintInfo::Unique { label, properties } => {
                    storage.add_unique_constraint(label, properties)?
                }
            };
        }
        Ok(stats)
    }
}

/// A property worth storing (not `Null`), borrowed.
fn live((key, value): &(PropertyId, PropertyValue)) -> Option<(PropertyId, &PropertyValue)> {
    (!value.is_null()).then_some((*key, value))
}

/// The encoded labels and properties of one restored object.
fn attrs_of(labels: &[LabelId], props: &[(PropertyId, PropertyValue)]) -> Result<Attrs, String> {
    let mut sorted_labels;
    let labels = if labels.windows(2).all(|w| w[0] < w[1]) {
        labels
    } else {
        sorted_labels = labels.to_vec();
        sorted_labels.sort_unstable();
        let before = sorted_labels.len();
        sorted_labels.dedup();
        if sorted_labels.len() != before {
            return Err("a label appears twice".into());
        }
        &sorted_labels
    };
    if props.windows(2).all(|w| w[0].0 < w[1].0) {
        return Ok(Attrs::from_parts(labels, props.iter().filter_map(live)));
    }
    let mut sorted: Vec<(PropertyId, &PropertyValue)> = props.iter().filter_map(live).collect();
    sorted.sort_unstable_by_key(|(k, _)| *k);
    if sorted.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err("a property key appears twice".into());
    }
    Ok(Attrs::from_parts(labels, sorted.into_iter()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::StorageConfig;

    #[test]
    fn read_only_mode_does_not_stop_a_restore() {
        let storage = Storage::new(StorageConfig::manual_gc());
        storage.set_read_only(true);
        let (person, id) = (storage.label("Person"), storage.property("id"));
        let mut r = storage.restore(5).unwrap();
        assert!(r.create_index(person, Some(id)).unwrap());
        r.create_vertex(0, &[person], &[(id, 1i64.into())]).unwrap();
        r.create_constraint(ConstraintInfo::Unique {
            label: person,
            properties: vec![id],
        });
        r.finish().unwrap();
        assert!(storage.has_label_property_index(person, id));
        assert_eq!(storage.constraint_info().len(), 1);
        assert_eq!(storage.last_commit_ts(), 5);
    }

    #[test]
    fn restores_gids_names_indexes_and_the_clock() {
        let storage = Storage::new(StorageConfig::manual_gc());
        let (person, city) = (storage.label("Person"), storage.label("City"));
        let (name, age) = (storage.property("name"), storage.property("age"));
        let knows = storage.edge_type("KNOWS");
        let mut r = storage.restore(41).unwrap();
        assert!(r.create_index(person, Some(name)).unwrap());
        r.create_vertex(
            3,
            &[person, city],
            &[(age, 7i64.into()), (name, "Ada".into())],
        )
        .unwrap();
        r.create_vertex(9000, &[person], &[(name, PropertyValue::Null)])
            .unwrap();
        r.create_edge(17, 3, 9000, knows, &[(age, 1.5.into())])
            .unwrap();
        r.create_edge(2, 3, 3, knows, &[]).unwrap();
        r.reserve_gids(9500, 30).unwrap();
        assert!(r.create_index(city, None).unwrap(), "declared after data");
        r.create_constraint(ConstraintInfo::Unique {
            label: person,
            properties: vec![name],
        });
        let stats = r.finish().unwrap();
        assert_eq!(
            stats,
            RestoreStats {
                commit_ts: 41,
                vertices: 2,
                edges: 2
            }
        );
        assert_eq!(storage.last_commit_ts(), 41);
        assert_eq!(
            (storage.vertex_count_approx(), storage.edge_count_approx()),
            (2, 2)
        );
        assert_eq!(storage.delta_count(), 0);

        let tx = storage.begin();
        assert_eq!(tx.snapshot_ts(), 41);
        assert!(tx.start_ts() > 41);
        assert_eq!(tx.vertices().collect::<Vec<_>>(), vec![3, 9000]);
        assert_eq!(tx.vertex_labels(3).unwrap(), {
            let mut l = vec![person, city];
            l.sort();
            l
        });
        assert_eq!(tx.vertex_property(3, name).unwrap(), "Ada".into());
        assert!(tx.vertex_properties(9000).unwrap().is_empty());
        let out: Vec<Gid> = tx.out_edges(3).unwrap().iter().map(|e| e.gid).collect();
        assert_eq!(out, vec![2, 17]);
        assert_eq!(tx.in_edges(9000).unwrap()[0].from, 3);
        assert_eq!(tx.edge_property(17, age).unwrap(), 1.5.into());
        assert!(storage.has_label_property_index(person, name));
        assert!(storage.has_label_index(city));
        let ada = std::ops::Bound::Included(PropertyValue::from("Ada"));
        let found = tx.vertices_by_label_property(person, name, ada.clone(), ada);
        assert_eq!(found.expect("index is ready").collect::<Vec<_>>(), vec![3]);
        let infos = storage.index_info();
        assert_eq!(infos.iter().map(|i| i.count).collect::<Vec<_>>(), [1, 1]);
        drop(tx);

        // New objects get gids after the restored ones; the constraint holds.
        let mut tx = storage.begin();
        let v = tx.create_vertex();
        assert_eq!(v, 9500);
        tx.add_label(v, person).unwrap();
        tx.set_vertex_property(v, name, "Ada".into()).unwrap();
        assert!(matches!(tx.commit(), Err(StorageError::Constraint(_))));
        let mut tx = storage.begin();
        assert_eq!(tx.create_edge(3, 3, knows).unwrap(), 30);
        assert!(tx.commit().unwrap().commit_ts.unwrap() > 41);
    }

    #[test]
    fn refuses_a_storage_that_is_not_empty_and_bad_objects() {
        let storage = Storage::new(StorageConfig::manual_gc());
        let mut tx = storage.begin();
        tx.create_vertex();
        tx.commit().unwrap();
        assert!(matches!(storage.restore(5), Err(StorageError::Restore(_))));

        let storage = Storage::new(StorageConfig::manual_gc());
        let reader = storage.begin();
        assert!(storage.restore(5).is_err(), "a running transaction");
        drop(reader);
        let (l, p, t) = (
            storage.label("L"),
            storage.property("p"),
            storage.edge_type("T"),
        );
        let mut r = storage.restore(5).unwrap();
        r.create_vertex(0, &[l], &[]).unwrap();
        assert!(r.create_vertex(0, &[], &[]).is_err(), "twice");
        assert!(r.create_vertex(1, &[l, l], &[]).is_err());
        assert!(r
            .create_vertex(2, &[], &[(p, 1i64.into()), (p, 2i64.into())])
            .is_err());
        assert!(r.create_vertex(GID_LIMIT, &[], &[]).is_err());
        assert!(r.create_edge(0, 0, 7, t, &[]).is_err(), "missing end");
        r.create_edge(0, 0, 0, t, &[]).unwrap();
        assert!(r.create_edge(0, 0, 0, t, &[]).is_err(), "edge twice");
        assert!(r
            .create_edge(1, 0, 0, EdgeTypeId(EDGE_TYPE_LIMIT), &[])
            .is_err());
        r.create_constraint(ConstraintInfo::Exists {
            label: l,
            property: p,
        });
        assert!(
            matches!(r.finish(), Err(StorageError::Constraint(_))),
            "vertex 0 has no p"
        );
    }

    #[test]
    fn vertices_with_their_adjacency() {
        let storage = Storage::new(StorageConfig::manual_gc());
        let (t, u, w) = (
            storage.edge_type("T"),
            storage.edge_type("U"),
            storage.property("w"),
        );
        let mut r = storage.restore(9).unwrap();
        // 0 -[5:T]-> 1, 1 -[2:U]-> 0, 1 -[7:T]-> 1 (a self-loop).
        r.create_vertex_with_edges(0, &[], &[], &[(5, 1, t)], &[(2, 1, u)])
            .unwrap();
        r.create_vertex_with_edges(
            1,
            &[],
            &[],
            &[(2, 0, u), (7, 1, t)],
            &[(5, 0, t), (7, 1, t)],
        )
        .unwrap();
        r.set_edge_properties(7, &[(w, 3i64.into())]).unwrap();
        assert!(r.set_edge_properties(7, &[]).is_err(), "twice");
        assert!(r.set_edge_properties(8, &[]).is_err(), "no edge 8");
        r.create_edge(8, 0, 1, t, &[]).unwrap();
        let stats = r.finish().unwrap();
        assert_eq!((stats.vertices, stats.edges), (2, 4));
        let tx = storage.begin();
        let ends = |edges: Vec<crate::EdgeRef>| -> Vec<(Gid, Gid, Gid)> {
            edges.iter().map(|e| (e.gid, e.from, e.to)).collect()
        };
        assert_eq!(ends(tx.out_edges(0).unwrap()), [(5, 0, 1), (8, 0, 1)]);
        assert_eq!(ends(tx.in_edges(0).unwrap()), [(2, 1, 0)]);
        assert_eq!(ends(tx.out_edges(1).unwrap()), [(2, 1, 0), (7, 1, 1)]);
        assert_eq!(
            ends(tx.in_edges(1).unwrap()),
            [(5, 0, 1), (7, 1, 1), (8, 0, 1)]
        );
        assert_eq!(tx.edge(7).unwrap().ty, t);
        assert_eq!(tx.edge_property(7, w).unwrap(), 3i64.into());
        drop(tx);
        let mut tx = storage.begin();
        tx.delete_vertex(1, true).unwrap();
        tx.commit().unwrap();

        // Ends that disagree (edge 5 claims target 1, vertex 1 says its source is 0 with
        // another type), unsorted lists and reused edge gids are refused.
        let storage = Storage::new(StorageConfig::manual_gc());
        let mut r = storage.restore(9).unwrap();
        r.create_vertex_with_edges(0, &[], &[], &[(5, 1, t)], &[])
            .unwrap();
        r.create_vertex_with_edges(1, &[], &[], &[], &[(5, 0, u)])
            .unwrap();
        assert!(matches!(r.finish(), Err(StorageError::Restore(m)) if m.contains("disagree")));
        let storage = Storage::new(StorageConfig::manual_gc());
        let mut r = storage.restore(9).unwrap();
        r.create_vertex_with_edges(0, &[], &[], &[(5, 1, t)], &[])
            .unwrap();
        assert!(r.finish().is_err(), "an end is missing");
        let storage = Storage::new(StorageConfig::manual_gc());
        let mut r = storage.restore(9).unwrap();
        assert!(r
            .create_vertex_with_edges(0, &[], &[], &[(5, 1, t), (4, 1, t)], &[])
            .is_err());
        r.create_vertex_with_edges(0, &[], &[], &[(5, 0, t)], &[(5, 0, t)])
            .unwrap();
        assert!(r
            .create_vertex_with_edges(1, &[], &[], &[(3, 0, t), (5, 0, t)], &[])
            .is_err());
        assert!(
            storage.edges.source(3).is_none(),
            "a refused vertex claims no edge"
        );
        assert!(r
            .create_vertex_with_edges(2, &[], &[], &[(GID_LIMIT, 0, t)], &[])
            .is_err());
        assert!(r.finish().is_ok());
    }

    #[test]
    fn a_storage_with_only_finished_reads_can_be_restored() {
        let storage: Arc<Storage> = Storage::new(StorageConfig::manual_gc());
        for _ in 0..3 {
            storage.begin().commit().unwrap();
        }
        storage.restore(2).unwrap().finish().unwrap();
        assert_eq!(storage.last_commit_ts(), 2);
        assert!(storage.begin().start_ts() > 3);
    }
}
