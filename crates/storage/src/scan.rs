//! Range scans that look at each vertex once: visibility, label and any properties under one
//! lock. For readers that split a scan into gid ranges (parallel workers) or read a few
//! properties of every vertex they scan.

use std::ops::{ControlFlow, Range};

use crate::attrs::ValueRef;
use crate::mvcc::{Action, View};
use crate::object::{visibility, VertexData, Visibility};
use crate::read::has_label;
use crate::{Gid, LabelId, PropertyId, PropertyValue, Storage, Transaction};

/// The version of one vertex a scanning transaction sees, lent to the scan's visitor while the
/// vertex is locked.
pub struct ScannedVertex<'a> {
    data: &'a VertexData,
    view: View,
    /// Where the properties start in the encoded attributes.
    props_start: usize,
}

/// A property value of a scanned vertex, borrowed: numbers and booleans are decoded in place,
/// a string is a slice of the vertex's encoded attributes, an older version is borrowed from
/// the delta chain, and lists, maps and temporal values stay encoded until
/// [`PropertyRef::to_value`] decodes them.
#[derive(Clone, Copy, Debug)]
pub enum PropertyRef<'a> {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    /// A value of an older version, held by the vertex's delta chain.
    Value(&'a PropertyValue),
    /// A list, map or temporal value, still encoded.
    Encoded(&'a [u8]),
}

impl PropertyRef<'_> {
    /// The value as an owned `PropertyValue`.
    pub fn to_value(self) -> PropertyValue {
        match self {
            PropertyRef::Bool(b) => PropertyValue::Bool(b),
            PropertyRef::Int(i) => PropertyValue::Int(i),
            PropertyRef::Float(f) => PropertyValue::Float(f),
            PropertyRef::Str(s) => PropertyValue::String(s.to_owned()),
            PropertyRef::Value(v) => v.clone(),
            PropertyRef::Encoded(bytes) => ValueRef::Other(bytes).to_value(),
        }
    }
}

impl<'a> ScannedVertex<'a> {
    /// Property `key` of this version, `None` if absent, without copying a string or building
    /// a `PropertyValue` for a number (see [`PropertyRef`]). The same value as
    /// [`ScannedVertex::property`].
    #[inline]
    pub fn property_ref(&self, key: PropertyId) -> Option<PropertyRef<'a>> {
        // As in `property`: the oldest invisible change of `key` wins over the newest data.
        let data: &'a VertexData = self.data;
        let mut old = None;
        if !data.chain.is_empty() {
            for action in data.chain.invisible_to(self.view) {
                if let Action::SetProperty(k, value) = action {
                    if *k == key {
                        old = Some(value);
                    }
                }
            }
        }
        match old {
            Some(PropertyValue::Null) => None,
            Some(value) => Some(PropertyRef::Value(value)),
            None => data
                .attrs
                .get_ref_from(self.props_start, key)
                .map(|v| match v {
                    ValueRef::Bool(b) => PropertyRef::Bool(b),
                    ValueRef::Int(i) => PropertyRef::Int(i),
                    ValueRef::Float(f) => PropertyRef::Float(f),
                    ValueRef::Str(s) => PropertyRef::Str(s),
                    ValueRef::Other(bytes) => PropertyRef::Encoded(bytes),
                }),
        }
    }

    /// Property `key` of this version, `None` if absent.
    pub fn property(&self, key: PropertyId) -> Option<PropertyValue> {
        // Only the oldest invisible change of `key` matters (as in `read_property`), and only
        // when there is none is the newest (encoded) value decoded.
        let mut old = None;
        for action in self.data.chain.invisible_to(self.view) {
            if let Action::SetProperty(k, value) = action {
                if *k == key {
                    old = Some(value);
                }
            }
        }
        match old {
            Some(value) => Some(value.clone()),
            None => self.data.attrs.get(key),
        }
        .filter(|v| !v.is_null())
    }
}

/// Gids read from a label index per index lock.
const INDEX_BATCH: usize = 256;

impl Transaction {
    /// Calls `visit` for every vertex whose gid lies in `gids` and that this transaction sees
    /// (with `label`, if given), ascending by gid, until it breaks. Each vertex is locked once,
    /// for the check and the visit together, so the visit reads exactly the version checked.
    ///
    /// A ready label index serves a label scan (only its entries in `gids` are looked at). The
    /// range is not clamped: gids not allocated yet are simply absent. Splitting
    /// `0..vertex_gid_bound()` into ranges and scanning them (from any threads, with this one
    /// transaction) visits what [`Transaction::vertices_with_label`] returns.
    ///
    /// `visit` runs under the vertex's lock: it must not call into the storage (reading another
    /// object from there can deadlock against a writer). It should copy what it needs and return.
    pub fn scan_vertices<B>(
        &self,
        label: Option<LabelId>,
        gids: Range<Gid>,
        mut visit: impl FnMut(Gid, &ScannedVertex<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        let storage = &**self.storage();
        let view = self.view();
        let index = label.and_then(|l| storage.indexes.ready_label(l));
        match index {
            Some(index) => {
                let mut batch = Vec::with_capacity(INDEX_BATCH);
                let mut next = gids.start;
                while next < gids.end {
                    batch.clear();
                    index.gids_in(next..gids.end, INDEX_BATCH, &mut batch);
                    let Some(&last) = batch.last() else { break };
                    next = last + 1;
                    for &gid in &batch {
                        storage.visit_vertex(view, gid, label, &mut visit)?;
                    }
                }
            }
            None => {
                storage.vertices.scan_runs(gids, |first, slots, unlocked| {
                    for (gid, slot) in (first..).zip(slots) {
                        if unlocked {
                            // SAFETY: `scan_runs` holds the chunk's gate for this run.
                            let data = unsafe { slot.data_unlocked() };
                            visit_data(view, gid, data, label, &mut visit)?;
                        } else {
                            visit_data(view, gid, &slot.read(), label, &mut visit)?;
                        }
                    }
                    ControlFlow::Continue(())
                })?;
            }
        }
        ControlFlow::Continue(())
    }
}

impl Storage {
    /// Visits `v` if `view` sees it (with `label`, if given).
    fn visit_vertex<B>(
        &self,
        view: View,
        v: Gid,
        label: Option<LabelId>,
        visit: &mut impl FnMut(Gid, &ScannedVertex<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        match self.vertex_slot(v) {
            Some(slot) => visit_data(view, v, &slot.read(), label, visit),
            None => ControlFlow::Continue(()),
        }
    }
}

/// Visits vertex `v`, whose data is `data` (locked, or read inside its chunk's gate), if `view`
/// sees it (with `label`, if given).
#[inline]
fn visit_data<B>(
    view: View,
    v: Gid,
    data: &VertexData,
    label: Option<LabelId>,
    visit: &mut impl FnMut(Gid, &ScannedVertex<'_>) -> ControlFlow<B>,
) -> ControlFlow<B> {
    let props_start = if data.chain.is_empty() {
        // No versions to undo (the common case once GC ran): the newest data is everyone's.
        if data.deleted {
            return ControlFlow::Continue(());
        }
        data.attrs.props_start_if_label(label)
    } else if visibility(data, view) == Visibility::Visible
        && label.is_none_or(|l| has_label(&data.attrs, &data.chain, view, l))
    {
        data.attrs.props_start_if_label(None)
    } else {
        None
    };
    if let Some(props_start) = props_start {
        let vertex = ScannedVertex {
            data,
            view,
            props_start,
        };
        visit(v, &vertex)
    } else {
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::StorageConfig;

    /// `(gid, age)` of every vertex `tx` scans in `gids`.
    fn scan(tx: &Transaction, label: Option<LabelId>, gids: Range<Gid>) -> Vec<(Gid, i64)> {
        let age = tx.storage().property("age");
        let mut out = Vec::new();
        let _ = tx.scan_vertices::<()>(label, gids, |gid, v| {
            let a = match v.property(age) {
                Some(PropertyValue::Int(a)) => a,
                None => -1,
                other => panic!("unexpected {other:?}"),
            };
            out.push((gid, a));
            ControlFlow::Continue(())
        });
        out
    }

    #[test]
    fn scans_see_the_transactions_version_with_and_without_a_label_index() {
        let storage = Arc::new(Storage::new(StorageConfig::manual_gc()));
        let (person, age) = (storage.label("Person"), storage.property("age"));
        let mut tx = storage.begin();
        for i in 0..10i64 {
            let v = tx.create_vertex();
            if i % 2 == 0 {
                tx.add_label(v, person).unwrap();
            }
            tx.set_vertex_property(v, age, i.into()).unwrap();
        }
        tx.commit().unwrap();
        let old = storage.begin();
        // A later transaction changes vertex 2, deletes 4 and creates one more person.
        let mut w = storage.begin();
        w.set_vertex_property(2, age, 20i64.into()).unwrap();
        w.delete_vertex(4, true).unwrap();
        w.remove_label(6, person).unwrap();
        let v = w.create_vertex();
        w.add_label(v, person).unwrap();
        let persons_old = vec![(0, 0), (2, 2), (4, 4), (6, 6), (8, 8)];
        let persons_new = vec![(0, 0), (2, 20), (8, 8), (10, -1)];
        for indexed in [false, true] {
            if indexed {
                assert!(storage.create_index(person, None).unwrap());
            }
            assert_eq!(scan(&old, Some(person), 0..100), persons_old);
            assert_eq!(scan(&w, Some(person), 0..100), persons_new);
            // Split ranges cover the same vertices.
            let mut split = scan(&w, Some(person), 0..3);
            split.extend(scan(&w, Some(person), 3..9));
            split.extend(scan(&w, Some(person), 9..11));
            assert_eq!(split, persons_new);
            assert_eq!(scan(&old, None, 0..100).len(), 10);
            assert_eq!(scan(&w, None, 5..8), vec![(5, 5), (6, 6), (7, 7)]);
        }
        // Breaking stops the scan.
        let mut seen = 0;
        let stopped = w.scan_vertices(None, 0..100, |gid, _| {
            seen += 1;
            if gid == 3 {
                ControlFlow::Break(gid)
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!((stopped, seen), (ControlFlow::Break(3), 4));
    }

    /// Scans read whole chunks without locks between writers: whatever the interleaving, every
    /// scan sees one snapshot (transfers between vertices keep the total; creates happen in
    /// whole transactions).
    #[test]
    fn gated_scans_see_consistent_snapshots_while_writers_run() {
        const N: i64 = 3 * 4096 + 100; // several chunks and a partial one
        const TOTAL_PER_VERTEX: i64 = 10;
        let storage = Arc::new(Storage::new(StorageConfig::default()));
        let age = storage.property("age");
        let mut tx = storage.begin();
        for _ in 0..N {
            let v = tx.create_vertex();
            tx.set_vertex_property(v, age, TOTAL_PER_VERTEX.into())
                .unwrap();
        }
        tx.commit().unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = (0..2u64)
            .map(|seed| {
                let (storage, stop) = (storage.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut x = seed * 7919 + 1;
                    let mut next = || {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x
                    };
                    let mut commits = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) || commits < 50 {
                        let (a, b) = (next() % N as u64, next() % N as u64);
                        if a == b {
                            continue;
                        }
                        let mut tx = storage.begin();
                        let read = |tx: &Transaction, v| match tx.vertex_property(v, age) {
                            Ok(PropertyValue::Int(i)) => i,
                            other => panic!("{other:?}"),
                        };
                        let (va, vb) = (read(&tx, a), read(&tx, b));
                        let moved = (next() % 5) as i64;
                        if tx.set_vertex_property(a, age, (va - moved).into()).is_err()
                            || tx.set_vertex_property(b, age, (vb + moved).into()).is_err()
                        {
                            continue; // a conflict with the other writer: nothing applied
                        }
                        // Now and then a vertex created and deleted again in one transaction.
                        if next() % 8 == 0 {
                            let v = tx.create_vertex();
                            tx.set_vertex_property(v, age, 1000i64.into()).unwrap();
                            tx.delete_vertex(v, true).unwrap();
                        }
                        if tx.commit().is_ok() {
                            commits += 1;
                        }
                    }
                    commits
                })
            })
            .collect();
        for _ in 0..60 {
            let tx = storage.begin();
            let seen = scan(&tx, None, 0..u64::MAX);
            assert_eq!(seen.len() as i64, N, "a scan saw another vertex count");
            let total: i64 = seen.iter().map(|(_, a)| a).sum();
            assert_eq!(total, N * TOTAL_PER_VERTEX, "a scan saw a torn transfer");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for w in writers {
            assert!(w.join().unwrap() >= 50);
        }
        let tx = storage.begin();
        let total: i64 = scan(&tx, None, 0..u64::MAX).iter().map(|(_, a)| a).sum();
        assert_eq!(total, N * TOTAL_PER_VERTEX);
    }
}
