//! Label and label+property indexes.
//!
//! An index is a sorted set of entries that may match: `gid` for a label index, `(key, gid)` for
//! a label+property index. Entries are only ever *added* by writers, never changed in place, so
//! an index is a superset of what any transaction can see; every read re-checks the vertex in its
//! own view (visible, has the label, the property's value in that view orders equal to the
//! entry's key). That keeps the index free of versioning: old versions keep their entries until
//! GC sweeps the entries no version needs any more.
//!
//! Who adds entries:
//! - A writer that adds a label or sets a property of a vertex adds the entries of its new version,
//!   while it still holds the vertex's lock (so a concurrent sweep cannot remove them under it).
//! - `CREATE INDEX` registers the index (writers start adding entries to it at once), then walks
//!   every vertex adding entries for its newest data and every old version in its delta chain,
//!   then marks the index ready. Writes continue meanwhile; the planner uses ready indexes only.
//!
//! Who removes them: [`Storage::sweep_indexes`](crate::Storage), run by GC when writes may have
//! left stale entries. It removes an entry only while holding the vertex's lock and only if the
//! vertex has no deltas (every transaction sees its newest data) and that data does not match.
//!
//! Lock order: vertex lock, then an index's entry lock. Readers take only the entry lock, in
//! short batches, never while holding a vertex lock.
//!
//! Keys order property values totally: by class (booleans < numbers < strings < each temporal
//! kind < lists < maps), then by value; integers and floats compare by numeric value (so `1` and
//! `1.0` are one key), NaN sorts after every number.

use crate::sorted::{Numeric, SortedChunks};
use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::attrs::ValueRef;
use crate::mvcc::{Action, View};
use crate::object::{visibility, VertexData, Visibility};
use crate::{Gid, LabelId, PropertyId, PropertyValue, Storage, StorageError, Temporal};

/// How many entries a reader or the sweeper takes under one entry-lock acquisition.
const BATCH: usize = 256;

/// A property value as an index orders it (see the module doc), plus the class boundaries
/// `Start`/`End` that open-ended ranges use and that are never stored.
#[derive(Clone, Debug)]
pub(crate) enum IndexKey {
    Start(u8),
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Box<str>),
    Other(Box<PropertyValue>),
    End(u8),
}

/// A borrowed key: what comparisons work on, so a stored value needs no copy to be compared.
#[derive(Clone, Copy)]
enum KeyRef<'a> {
    Start(u8),
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    Other(&'a PropertyValue),
    End(u8),
}

const CLASS_BOOL: u8 = 1;
const CLASS_NUMBER: u8 = 2;
const CLASS_STRING: u8 = 3;
const CLASS_LIST: u8 = 10;
const CLASS_MAP: u8 = 11;

impl IndexKey {
    /// The key of a value; `None` for `Null` (absent properties are not indexed).
    pub(crate) fn of(value: &PropertyValue) -> Option<IndexKey> {
        Some(match value {
            PropertyValue::Null => return None,
            PropertyValue::Bool(b) => IndexKey::Bool(*b),
            PropertyValue::Int(i) => IndexKey::Int(*i),
            PropertyValue::Float(f) => IndexKey::Float(*f),
            PropertyValue::String(s) => IndexKey::Str(s.as_str().into()),
            other => IndexKey::Other(Box::new(other.clone())),
        })
    }

    /// The key of a stored (never null) value.
    pub(crate) fn of_stored(value: ValueRef<'_>) -> IndexKey {
        match value {
            ValueRef::Bool(b) => IndexKey::Bool(b),
            ValueRef::Int(i) => IndexKey::Int(i),
            ValueRef::Float(f) => IndexKey::Float(f),
            ValueRef::Str(s) => IndexKey::Str(s.into()),
            ValueRef::Other(_) => IndexKey::Other(Box::new(value.to_value())),
        }
    }

    /// Whether a stored value orders equal to this key (no copy unless it is a list, map or
    /// temporal).
    pub(crate) fn matches_stored(&self, value: ValueRef<'_>) -> bool {
        let stored = match value {
            ValueRef::Bool(b) => KeyRef::Bool(b),
            ValueRef::Int(i) => KeyRef::Int(i),
            ValueRef::Float(f) => KeyRef::Float(f),
            ValueRef::Str(s) => KeyRef::Str(s),
            ValueRef::Other(_) => return self.cmp_value(&value.to_value()) == Ordering::Equal,
        };
        cmp_refs(self.as_ref(), stored) == Ordering::Equal
    }

    fn as_ref(&self) -> KeyRef<'_> {
        match self {
            IndexKey::Start(c) => KeyRef::Start(*c),
            IndexKey::Bool(b) => KeyRef::Bool(*b),
            IndexKey::Int(i) => KeyRef::Int(*i),
            IndexKey::Float(f) => KeyRef::Float(*f),
            IndexKey::Str(s) => KeyRef::Str(s),
            IndexKey::Other(v) => KeyRef::Other(v),
            IndexKey::End(c) => KeyRef::End(*c),
        }
    }

    /// Compares this key with a value without building the value's key.
    pub(crate) fn cmp_value(&self, value: &PropertyValue) -> Ordering {
        match (self, value) {
            (IndexKey::Int(a), PropertyValue::Int(b)) => a.cmp(b),
            (IndexKey::Str(a), PropertyValue::String(b)) => (**a).cmp(b.as_str()),
            _ => cmp_refs(self.as_ref(), value_ref(value)),
        }
    }

    fn class(&self) -> u8 {
        class(self.as_ref())
    }
}

fn value_ref(value: &PropertyValue) -> KeyRef<'_> {
    match value {
        PropertyValue::Null => KeyRef::Null,
        PropertyValue::Bool(b) => KeyRef::Bool(*b),
        PropertyValue::Int(i) => KeyRef::Int(*i),
        PropertyValue::Float(f) => KeyRef::Float(*f),
        PropertyValue::String(s) => KeyRef::Str(s),
        other => KeyRef::Other(other),
    }
}

fn class(key: KeyRef<'_>) -> u8 {
    match key {
        KeyRef::Start(c) | KeyRef::End(c) => c,
        KeyRef::Null => 0,
        KeyRef::Bool(_) => CLASS_BOOL,
        KeyRef::Int(_) | KeyRef::Float(_) => CLASS_NUMBER,
        KeyRef::Str(_) => CLASS_STRING,
        KeyRef::Other(PropertyValue::Temporal(t)) => match t {
            Temporal::Date(_) => 4,
            Temporal::LocalTime(_) => 5,
            Temporal::Time(_) => 6,
            Temporal::LocalDateTime(_) => 7,
            Temporal::DateTime(_) => 8,
            Temporal::Duration(_) => 9,
        },
        KeyRef::Other(PropertyValue::List(_)) => CLASS_LIST,
        KeyRef::Other(PropertyValue::Map(_)) => CLASS_MAP,
        KeyRef::Other(other) => class(value_ref(other)),
    }
}

fn cmp_refs(a: KeyRef<'_>, b: KeyRef<'_>) -> Ordering {
    // Class boundaries first: Start(c) sorts before, End(c) after, everything of class c.
    let rank = |k: KeyRef<'_>| match k {
        KeyRef::Start(_) => 0u8,
        KeyRef::End(_) => 2,
        _ => 1,
    };
    class(a)
        .cmp(&class(b))
        .then_with(|| rank(a).cmp(&rank(b)))
        .then_with(|| match (a, b) {
            (KeyRef::Bool(x), KeyRef::Bool(y)) => x.cmp(&y),
            (KeyRef::Int(x), KeyRef::Int(y)) => x.cmp(&y),
            (KeyRef::Float(x), KeyRef::Float(y)) => cmp_floats(x, y),
            (KeyRef::Int(x), KeyRef::Float(y)) => cmp_int_float(x, y),
            (KeyRef::Float(x), KeyRef::Int(y)) => cmp_int_float(y, x).reverse(),
            (KeyRef::Str(x), KeyRef::Str(y)) => x.cmp(y),
            (KeyRef::Other(x), KeyRef::Other(y)) => cmp_others(x, y),
            _ => Ordering::Equal,
        })
}

/// Total order on floats: numeric, `-0.0 == 0.0`, NaN after everything and equal to itself.
fn cmp_floats(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Exact comparison of an integer with a float (no rounding of large integers).
fn cmp_int_float(i: i64, f: f64) -> Ordering {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || f >= TWO_63 {
        return Ordering::Less;
    }
    if f < -TWO_63 {
        return Ordering::Greater;
    }
    let whole = f.trunc();
    // In range, so the cast is exact.
    i.cmp(&(whole as i64)).then_with(|| cmp_floats(whole, f))
}

/// Values of one class that `IndexKey::Other` holds: temporals, lists, maps.
fn cmp_others(a: &PropertyValue, b: &PropertyValue) -> Ordering {
    match (a, b) {
        (PropertyValue::Temporal(x), PropertyValue::Temporal(y)) => x.cmp(y),
        (PropertyValue::List(x), PropertyValue::List(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = cmp_refs(value_ref(p), value_ref(q));
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (PropertyValue::Map(x), PropertyValue::Map(y)) => {
            for ((kp, p), (kq, q)) in x.iter().zip(y) {
                let o = kp
                    .cmp(kq)
                    .then_with(|| cmp_refs(value_ref(p), value_ref(q)));
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => cmp_refs(value_ref(a), value_ref(b)),
    }
}

impl PartialEq for IndexKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for IndexKey {}

impl PartialOrd for IndexKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Numeric keys guide the index's lookups (see [`crate::sorted::Numeric`]).
impl Numeric for IndexKey {
    fn number(&self) -> Option<f64> {
        match self {
            IndexKey::Int(i) => Some(*i as f64),
            IndexKey::Float(f) if f.is_finite() => Some(*f),
            _ => None,
        }
    }
}

impl Numeric for (IndexKey, Gid) {
    fn number(&self) -> Option<f64> {
        self.0.number()
    }
}

impl Ord for IndexKey {
    fn cmp(&self, other: &Self) -> Ordering {
        // Fast paths for the keys seeks compare most (same result as the general order).
        match (self, other) {
            (IndexKey::Int(a), IndexKey::Int(b)) => a.cmp(b),
            (IndexKey::Str(a), IndexKey::Str(b)) => a.cmp(b),
            _ => cmp_refs(self.as_ref(), other.as_ref()),
        }
    }
}

/// The vertices that have (or had, in a version someone may still read) one label.
pub(crate) struct LabelIndex {
    pub(crate) label: LabelId,
    entries: RwLock<SortedChunks<Gid>>,
    ready: AtomicBool,
}

impl LabelIndex {
    /// Appends up to `max` entries in `gids`, ascending, to `out` (under the index's read lock).
    pub(crate) fn gids_in(&self, gids: std::ops::Range<Gid>, max: usize, out: &mut Vec<Gid>) {
        out.extend(self.entries.read().range(
            std::ops::Bound::Included(&gids.start),
            std::ops::Bound::Excluded(&gids.end),
            max,
        ));
    }
}

/// `(value, vertex)` for the vertices with one label and a value for one property.
pub(crate) struct PropIndex {
    pub(crate) label: LabelId,
    pub(crate) property: PropertyId,
    entries: RwLock<SortedChunks<(IndexKey, Gid)>>,
    ready: AtomicBool,
}

/// The indexes that exist; replaced as a whole (copy on write) by CREATE / DROP INDEX.
#[derive(Default)]
pub(crate) struct IndexSet {
    pub(crate) labels: Vec<Arc<LabelIndex>>,
    pub(crate) props: Vec<Arc<PropIndex>>,
}

impl IndexSet {
    /// The label+property index on `label` and `property`, if it is ready.
    fn ready_prop(&self, label: LabelId, property: PropertyId) -> Option<&Arc<PropIndex>> {
        self.props.iter().find(|i| {
            i.label == label && i.property == property && i.ready.load(AtomicOrdering::Acquire)
        })
    }
}

/// The storage's index registry.
#[derive(Default)]
pub(crate) struct Indexes {
    set: RwLock<Arc<IndexSet>>,
    /// Whether any index exists: writers skip all index work while it is false.
    any: AtomicBool,
    /// Serialises CREATE / DROP INDEX.
    ddl: Mutex<()>,
    /// Changes since the last sweep that may have left entries no version matches.
    stale: AtomicU64,
    /// Bumped by every CREATE / DROP: plans that chose (or did not choose) an index depend on it.
    version: AtomicU64,
}

/// One row of `SHOW INDEX INFO`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexInfo {
    /// The indexed label.
    pub label: LabelId,
    /// The property of a label+property index, `None` for a label index.
    pub property: Option<PropertyId>,
    /// How many vertices it holds in the newest committed state.
    pub count: usize,
}

impl Indexes {
    fn current(&self) -> Arc<IndexSet> {
        self.set.read().clone()
    }

    /// Writer hook: `data` (whose lock the caller holds) just gained `label`.
    pub(crate) fn on_label_added(&self, gid: Gid, label: LabelId, data: &VertexData) {
        if !self.any.load(AtomicOrdering::Acquire) {
            return;
        }
        let set = self.set.read();
        for index in set.labels.iter().filter(|i| i.label == label) {
            index.entries.write().insert(gid);
        }
        for index in set.props.iter().filter(|i| i.label == label) {
            if let Some(key) = data.attrs.get_ref(index.property).map(IndexKey::of_stored) {
                index.entries.write().insert((key, gid));
            }
        }
    }

    /// Writer hook: `data` (whose lock the caller holds) just got a new value for `property`;
    /// `replaced` says whether it had one before (whose entry may now be stale).
    pub(crate) fn on_property_set(
        &self,
        gid: Gid,
        property: PropertyId,
        data: &VertexData,
        replaced: bool,
    ) {
        if !self.any.load(AtomicOrdering::Acquire) {
            return;
        }
        if replaced {
            // Setting a property that was unset leaves nothing stale: counting it would make
            // every GC during a bulk load sweep the whole index.
            self.note_stale();
        }
        let Some(key) = data.attrs.get_ref(property).map(IndexKey::of_stored) else {
            return;
        };
        let set = self.set.read();
        for index in set.props.iter().filter(|i| i.property == property) {
            if data.attrs.has_label(index.label) {
                index.entries.write().insert((key.clone(), gid));
            }
        }
    }

    /// Writer hook: a change that may leave entries nothing matches (label removed, vertex
    /// deleted, transaction aborted).
    pub(crate) fn note_stale(&self) {
        if self.any.load(AtomicOrdering::Relaxed) {
            self.stale.fetch_add(1, AtomicOrdering::Relaxed);
        }
    }

    pub(crate) fn version(&self) -> u64 {
        self.version.load(AtomicOrdering::Acquire)
    }

    pub(crate) fn ready_label(&self, label: LabelId) -> Option<Arc<LabelIndex>> {
        if !self.any.load(AtomicOrdering::Acquire) {
            return None;
        }
        let set = self.set.read();
        set.labels
            .iter()
            .find(|i| i.label == label && i.ready.load(AtomicOrdering::Acquire))
            .cloned()
    }

    pub(crate) fn ready_prop(
        &self,
        label: LabelId,
        property: PropertyId,
    ) -> Option<Arc<PropIndex>> {
        if !self.any.load(AtomicOrdering::Acquire) {
            return None;
        }
        self.set.read().ready_prop(label, property).cloned()
    }

    /// Installs a new index set (under the `ddl` lock).
    fn publish(&self, set: IndexSet) {
        let any = !set.labels.is_empty() || !set.props.is_empty();
        *self.set.write() = Arc::new(set);
        self.any.store(any, AtomicOrdering::Release);
        self.version.fetch_add(1, AtomicOrdering::AcqRel);
    }
}

/// What a vertex's versions (newest data and every delta) may hold, for building entries.
struct VersionsOf {
    labels: Vec<LabelId>,
    values: Vec<(PropertyId, PropertyValue)>,
}

fn versions_of(data: &VertexData, wanted: Option<PropertyId>) -> VersionsOf {
    let mut labels = data.attrs.label_vec();
    let mut values = Vec::new();
    if let Some(p) = wanted {
        if let Some(v) = data.attrs.get(p) {
            values.push((p, v));
        }
    }
    for action in data.chain.actions() {
        match action {
            Action::AddLabel(l) | Action::RemoveLabel(l) if !labels.contains(l) => labels.push(*l),
            Action::SetProperty(k, v) if Some(*k) == wanted && !v.is_null() => {
                values.push((*k, v.clone()))
            }
            _ => {}
        }
    }
    VersionsOf { labels, values }
}

impl Storage {
    /// `CREATE INDEX ON :label` / `CREATE INDEX ON :label(property)`: builds the index over the
    /// existing vertices while writes continue. `Ok(false)` if it already existed.
    pub(crate) fn build_index(
        &self,
        label: LabelId,
        property: Option<PropertyId>,
    ) -> Result<bool, StorageError> {
        let indexes = &self.indexes;
        let _ddl = indexes.ddl.lock();
        let current = indexes.current();
        let exists = match property {
            None => current.labels.iter().any(|i| i.label == label),
            Some(p) => current
                .props
                .iter()
                .any(|i| i.label == label && i.property == p),
        };
        if exists {
            return Ok(false);
        }
        let mut next = IndexSet {
            labels: current.labels.clone(),
            props: current.props.clone(),
        };
        match property {
            None => {
                let index = Arc::new(LabelIndex {
                    label,
                    entries: RwLock::new(SortedChunks::default()),
                    ready: AtomicBool::new(false),
                });
                next.labels.push(index.clone());
                indexes.publish(next);
                self.populate(Some(label), None, |batch| {
                    index
                        .entries
                        .write()
                        .extend(batch.iter().map(|(_, gid)| *gid))
                });
                index.ready.store(true, AtomicOrdering::Release);
            }
            Some(p) => {
                let index = Arc::new(PropIndex {
                    label,
                    property: p,
                    entries: RwLock::new(SortedChunks::default()),
                    ready: AtomicBool::new(false),
                });
                next.props.push(index.clone());
                indexes.publish(next);
                self.populate(Some(label), Some(p), |batch| {
                    index
                        .entries
                        .write()
                        .extend(batch.drain(..).filter_map(|(v, gid)| {
                            v.as_ref().and_then(IndexKey::of).map(|key| (key, gid))
                        }))
                });
                index.ready.store(true, AtomicOrdering::Release);
            }
        }
        indexes.version.fetch_add(1, AtomicOrdering::AcqRel);
        tracing::info!(
            label = %self.label_name(label),
            property = property.map(|p| self.property_name(p).to_string()),
            "index built"
        );
        Ok(true)
    }

    /// Walks every vertex, handing `sink` batches of `(value, gid)` for each version that has
    /// `label` (and, with `property`, each value it had).
    fn populate(
        &self,
        label: Option<LabelId>,
        property: Option<PropertyId>,
        mut sink: impl FnMut(&mut Vec<(Option<PropertyValue>, Gid)>),
    ) {
        let bound = self.vertex_gid_bound();
        let mut batch = Vec::with_capacity(BATCH * 4);
        for gid in 0..bound {
            let Some(slot) = self.vertex_slot(gid) else {
                continue;
            };
            {
                let data = slot.read();
                if data.deleted && data.chain.is_empty() {
                    continue;
                }
                let versions = versions_of(&data, property);
                if label.is_some_and(|l| !versions.labels.contains(&l)) {
                    continue;
                }
                match property {
                    None => batch.push((None, gid)),
                    Some(_) => {
                        batch.extend(versions.values.into_iter().map(|(_, v)| (Some(v), gid)))
                    }
                }
            }
            if batch.len() >= BATCH * 4 {
                sink(&mut batch);
                batch.clear();
            }
        }
        if !batch.is_empty() {
            sink(&mut batch);
        }
    }

    /// `DROP INDEX ON ...`: `Ok(false)` if there was no such index.
    pub(crate) fn remove_index(&self, label: LabelId, property: Option<PropertyId>) -> bool {
        let indexes = &self.indexes;
        let _ddl = indexes.ddl.lock();
        let current = indexes.current();
        let mut next = IndexSet {
            labels: current.labels.clone(),
            props: current.props.clone(),
        };
        let before = next.labels.len() + next.props.len();
        match property {
            None => next.labels.retain(|i| i.label != label),
            Some(p) => next
                .props
                .retain(|i| !(i.label == label && i.property == p)),
        }
        if next.labels.len() + next.props.len() == before {
            return false;
        }
        indexes.publish(next);
        true
    }

    /// The indexes without their counts (cheap: no entry is read), in [`Storage::index_info`]'s
    /// order: label indexes first, each group by label then property name.
    pub fn index_keys(&self) -> Vec<(LabelId, Option<PropertyId>)> {
        let set = self.indexes.current();
        let mut keys: Vec<(LabelId, Option<PropertyId>)> = set
            .labels
            .iter()
            .map(|index| (index.label, None))
            .chain(
                set.props
                    .iter()
                    .map(|index| (index.label, Some(index.property))),
            )
            .collect();
        keys.sort_by_key(|(label, property)| {
            (
                property.is_some(),
                self.label_name(*label),
                property.map(|p| self.property_name(p)),
            )
        });
        keys
    }

    /// The indexes, label indexes first, each group by label then property name, with how many
    /// vertices each holds in the newest committed state (entries are re-checked, so stale ones
    /// do not count).
    pub fn index_info(&self) -> Vec<IndexInfo> {
        let set = self.indexes.current();
        let latest = View {
            txn_id: u64::MAX,
            snapshot_ts: crate::mvcc::TXN_ID_BASE - 1,
        };
        let mut rows: Vec<IndexInfo> = Vec::new();
        for index in &set.labels {
            let gids: Vec<Gid> = index.entries.read().to_vec();
            rows.push(IndexInfo {
                label: index.label,
                property: None,
                count: gids
                    .into_iter()
                    .filter(|g| self.vertex_has_label_visible(latest, *g, index.label))
                    .count(),
            });
        }
        for index in &set.props {
            let entries: Vec<(IndexKey, Gid)> = index.entries.read().to_vec();
            rows.push(IndexInfo {
                label: index.label,
                property: Some(index.property),
                count: entries
                    .iter()
                    .filter(|(key, gid)| {
                        self.vertex_matches_entry(latest, *gid, index.label, index.property, key)
                    })
                    .count(),
            });
        }
        rows.sort_by_key(|r| {
            (
                r.property.is_some(),
                self.label_name(r.label),
                r.property.map(|p| self.property_name(p)),
            )
        });
        rows
    }

    /// Bumped by every index change; a cached plan made under another version may be stale.
    pub fn schema_version(&self) -> u64 {
        self.indexes.version()
    }

    /// Whether a ready label+property index exists (what the planner may seek on).
    pub fn has_label_property_index(&self, label: LabelId, property: PropertyId) -> bool {
        self.indexes.ready_prop(label, property).is_some()
    }

    /// Whether any ready label+property index on `label` exists (a cheap planner pre-check).
    pub fn has_any_property_index(&self, label: LabelId) -> bool {
        self.indexes.any.load(AtomicOrdering::Acquire)
            && self
                .indexes
                .current()
                .props
                .iter()
                .any(|i| i.label == label && i.ready.load(AtomicOrdering::Acquire))
    }

    /// Whether a ready label index exists.
    pub fn has_label_index(&self, label: LabelId) -> bool {
        self.indexes.ready_label(label).is_some()
    }

    /// Removes index entries no version of their vertex matches any more. With `force` false it
    /// runs only once enough writes may have left stale entries. Returns the entries removed.
    pub fn sweep_indexes(&self, force: bool) -> u64 {
        let indexes = &self.indexes;
        let stale = indexes.stale.load(AtomicOrdering::Relaxed);
        if stale == 0 || (!force && stale < 10_000) {
            return 0;
        }
        indexes.stale.store(0, AtomicOrdering::Relaxed);
        let set = indexes.current();
        let (mut removed, mut pending) = (0, 0);
        for index in set
            .labels
            .iter()
            .filter(|i| i.ready.load(AtomicOrdering::Acquire))
        {
            let (r, p) = self.sweep_label(index);
            (removed, pending) = (removed + r, pending + p);
        }
        for index in set
            .props
            .iter()
            .filter(|i| i.ready.load(AtomicOrdering::Acquire))
        {
            let (r, p) = self.sweep_prop(index);
            (removed, pending) = (removed + r, pending + p);
        }
        // Entries that only an old version still needs: a later sweep gets them.
        indexes.stale.fetch_add(pending, AtomicOrdering::Relaxed);
        removed
    }

    /// Returns (entries removed, entries kept only because an old version may need them).
    fn sweep_label(&self, index: &LabelIndex) -> (u64, u64) {
        let (mut removed, mut pending) = (0, 0);
        let mut after = None;
        loop {
            let lower = after.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
            let batch = index.entries.read().range(lower, Bound::Unbounded, BATCH);
            let Some(last) = batch.last() else {
                return (removed, pending);
            };
            after = Some(*last);
            for gid in batch {
                let Some(slot) = self.vertex_slot(gid) else {
                    continue;
                };
                let data = slot.read();
                let matches = !data.deleted && data.attrs.has_label(index.label);
                if !matches && data.chain.is_empty() {
                    index.entries.write().remove(&gid);
                    removed += 1;
                } else if !matches {
                    pending += 1;
                }
            }
        }
    }

    fn sweep_prop(&self, index: &PropIndex) -> (u64, u64) {
        let (mut removed, mut pending) = (0, 0);
        let mut after: Option<(IndexKey, Gid)> = None;
        loop {
            let lower = after.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
            let batch = index.entries.read().range(lower, Bound::Unbounded, BATCH);
            let Some(last) = batch.last() else {
                return (removed, pending);
            };
            after = Some(last.clone());
            for entry in batch {
                let Some(slot) = self.vertex_slot(entry.1) else {
                    continue;
                };
                let data = slot.read();
                let matches = !data.deleted
                    && data.attrs.has_label(index.label)
                    && data
                        .attrs
                        .get_ref(index.property)
                        .is_some_and(|v| entry.0.matches_stored(v));
                if !matches && data.chain.is_empty() {
                    index.entries.write().remove(&entry);
                    removed += 1;
                } else if !matches {
                    pending += 1;
                }
            }
        }
    }
}

/// The visible vertices with a label, from its label index, ascending by gid.
pub(crate) struct LabelIndexIter {
    storage: Arc<Storage>,
    view: View,
    index: Arc<LabelIndex>,
    buf: std::vec::IntoIter<Gid>,
    after: Option<Gid>,
    /// Gids from here on were allocated after the scan began (a scan never returns those).
    end: Gid,
    done: bool,
}

impl LabelIndexIter {
    pub(crate) fn new(storage: Arc<Storage>, view: View, index: Arc<LabelIndex>, end: Gid) -> Self {
        LabelIndexIter {
            storage,
            view,
            index,
            buf: Vec::new().into_iter(),
            after: None,
            end,
            done: false,
        }
    }

    fn refill(&mut self) -> bool {
        if self.done {
            return false;
        }
        let lower = self
            .after
            .as_ref()
            .map_or(Bound::Unbounded, Bound::Excluded);
        let upper = Bound::Excluded(&self.end);
        let batch = self.index.entries.read().range(lower, upper, BATCH);
        self.done = batch.len() < BATCH;
        self.after = batch.last().copied().or(self.after);
        self.buf = batch.into_iter();
        self.buf.len() > 0
    }
}

impl Iterator for LabelIndexIter {
    type Item = Gid;

    fn next(&mut self) -> Option<Gid> {
        loop {
            for gid in self.buf.by_ref() {
                if self
                    .storage
                    .vertex_has_label_visible(self.view, gid, self.index.label)
                {
                    return Some(gid);
                }
            }
            if !self.refill() {
                return None;
            }
        }
    }
}

/// The visible vertices with a label whose property's value lies in a range, from a
/// label+property index, ascending by value.
pub struct PropIndexIter {
    storage: Arc<Storage>,
    view: View,
    index: Arc<PropIndex>,
    buf: std::vec::IntoIter<(IndexKey, Gid)>,
    lower: Bound<(IndexKey, Gid)>,
    upper: Bound<(IndexKey, Gid)>,
    done: bool,
}

impl PropIndexIter {
    pub(crate) fn new(
        storage: Arc<Storage>,
        view: View,
        index: Arc<PropIndex>,
        lower: Bound<PropertyValue>,
        upper: Bound<PropertyValue>,
    ) -> PropIndexIter {
        let key = |b: &Bound<PropertyValue>| match b {
            Bound::Included(v) | Bound::Excluded(v) => IndexKey::of(v),
            Bound::Unbounded => None,
        };
        let (lo, hi) = (key(&lower), key(&upper));
        let null_bound = |b: &Bound<PropertyValue>| {
            matches!(
                b,
                Bound::Included(PropertyValue::Null) | Bound::Excluded(PropertyValue::Null)
            )
        };
        // A range is within one class: an open side ends at the other side's class boundary.
        let class = lo.as_ref().or(hi.as_ref()).map(IndexKey::class);
        let empty = null_bound(&lower)
            || null_bound(&upper)
            || class.is_none()
            || matches!((&lo, &hi), (Some(a), Some(b)) if a.class() != b.class());
        let class = class.unwrap_or(0);
        let lower = match (lower, lo) {
            (Bound::Included(_), Some(k)) => Bound::Included((k, 0)),
            (Bound::Excluded(_), Some(k)) => Bound::Excluded((k, Gid::MAX)),
            _ => Bound::Included((IndexKey::Start(class), 0)),
        };
        let upper = match (upper, hi) {
            (Bound::Included(_), Some(k)) => Bound::Included((k, Gid::MAX)),
            (Bound::Excluded(_), Some(k)) => Bound::Excluded((k, 0)),
            _ => Bound::Included((IndexKey::End(class), Gid::MAX)),
        };
        // An inverted range (lower above upper) is simply empty; BTreeSet::range would panic.
        let inverted = match (&lower, &upper) {
            (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
                a > b
                    || (a == b
                        && !matches!((&lower, &upper), (Bound::Included(_), Bound::Included(_))))
            }
            _ => false,
        };
        PropIndexIter {
            storage,
            view,
            index,
            buf: Vec::new().into_iter(),
            lower,
            upper,
            done: empty || inverted,
        }
    }

    fn refill(&mut self) -> bool {
        if self.done {
            return false;
        }
        let batch =
            (self.index.entries.read()).range(self.lower.as_ref(), self.upper.as_ref(), BATCH);
        self.done = batch.len() < BATCH;
        if let Some(last) = batch.last() {
            self.lower = Bound::Excluded(last.clone());
        }
        self.buf = batch.into_iter();
        self.buf.len() > 0
    }
}

impl Iterator for PropIndexIter {
    type Item = Gid;

    fn next(&mut self) -> Option<Gid> {
        loop {
            for (key, gid) in self.buf.by_ref() {
                if self.storage.vertex_matches_entry(
                    self.view,
                    gid,
                    self.index.label,
                    self.index.property,
                    &key,
                ) {
                    return Some(gid);
                }
            }
            if !self.refill() {
                return None;
            }
        }
    }
}

impl std::fmt::Debug for PropIndexIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PropIndexIter")
            .field("label", &self.index.label)
            .field("property", &self.index.property)
            .finish()
    }
}

/// Entries an equality seek collects under one lock at most; a value held by more goes through
/// [`PropIndexIter`], which reads them in batches.
const EQ_BATCH: usize = 64;

impl Storage {
    /// An equality seek without an iterator: the visible vertices with `label` whose `property`
    /// orders equal to `value` (as [`PropIndexIter`] over `[value, value]` returns them, in the
    /// same order), into `out`, which is cleared first. Nothing is allocated or reference
    /// counted per seek, and the index set's and entries' locks are let go before the vertices
    /// are checked. `None` (and `out` empty) when there is no ready index, or when more than
    /// [`EQ_BATCH`] entries hold the value: the caller then uses the iterator.
    pub(crate) fn seek_eq_into(
        &self,
        view: View,
        label: LabelId,
        property: PropertyId,
        value: &PropertyValue,
        out: &mut Vec<Gid>,
    ) -> Option<()> {
        out.clear();
        if !self.indexes.any.load(AtomicOrdering::Acquire) {
            return None;
        }
        let key = IndexKey::of(value);
        {
            let set = self.indexes.set.read();
            let index = set.ready_prop(label, property)?;
            // A null matches nothing (absent properties are not indexed).
            let Some(key) = &key else { return Some(()) };
            let mut overflow = false;
            index.entries.read().visit_from(
                key.number(),
                |(k, _)| k < key,
                |(k, gid)| {
                    if k != key {
                        return false;
                    }
                    if out.len() == EQ_BATCH {
                        overflow = true;
                        return false;
                    }
                    out.push(*gid);
                    true
                },
            );
            if overflow {
                out.clear();
                return None;
            }
        }
        let Some(key) = key else { return Some(()) };
        out.retain(|&gid| self.vertex_matches_entry(view, gid, label, property, &key));
        Some(())
    }

    /// Whether `v` is visible to `view` and has `label` in that view.
    pub(crate) fn vertex_has_label_visible(&self, view: View, v: Gid, label: LabelId) -> bool {
        let Some(slot) = self.vertex_slot(v) else {
            return false;
        };
        let data = slot.read();
        visibility(&*data, view) == Visibility::Visible
            && crate::read::has_label(&data.attrs, &data.chain, view, label)
    }

    /// The re-check of an index entry: `v` visible with `label`, and `property`'s value in the
    /// view orders equal to `key`.
    fn vertex_matches_entry(
        &self,
        view: View,
        v: Gid,
        label: LabelId,
        property: PropertyId,
        key: &IndexKey,
    ) -> bool {
        let Some(slot) = self.vertex_slot(v) else {
            return false;
        };
        let data = slot.read();
        if visibility(&*data, view) != Visibility::Visible {
            return false;
        }
        if data.index_exact && data.chain.is_empty() {
            // Every transaction sees the newest data, and every entry of this vertex names a
            // label it has and the value it holds (see `VertexData::index_exact`): no need to
            // read the attributes (a cache miss per seek in a large graph).
            return true;
        }
        if !crate::read::has_label(&data.attrs, &data.chain, view, label) {
            return false;
        }
        let mut old = None;
        for action in data.chain.invisible_to(view) {
            if let Action::SetProperty(k, value) = action {
                if *k == property {
                    old = Some(value);
                }
            }
        }
        match old {
            Some(value) => key.cmp_value(value) == Ordering::Equal,
            None => data
                .attrs
                .get_ref(property)
                .is_some_and(|v| key.matches_stored(v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(v: impl Into<PropertyValue>) -> IndexKey {
        IndexKey::of(&v.into()).unwrap()
    }

    #[test]
    fn numbers_compare_by_value_across_int_and_float() {
        assert_eq!(key(1), key(1.0));
        assert!(key(1) < key(1.5));
        assert!(key(2) > key(1.5));
        assert!(key(i64::MAX) < key(9.3e18));
        assert!(key(i64::MIN) > key(-9.3e18));
        assert!(key(f64::NAN) > key(i64::MAX));
        assert!(key(f64::INFINITY) < key(f64::NAN));
        assert_eq!(key(-0.0), key(0));
    }

    #[test]
    fn classes_are_ordered_and_bounded() {
        assert!(key(true) < key(0));
        assert!(key(i64::MAX) < key(""));
        assert!(IndexKey::Start(CLASS_NUMBER) < key(i64::MIN));
        assert!(IndexKey::End(CLASS_NUMBER) > key(f64::NAN));
        assert!(IndexKey::End(CLASS_NUMBER) < key(""));
        assert!(IndexKey::Start(CLASS_STRING) > key(f64::INFINITY));
        let list = |v: Vec<PropertyValue>| key(PropertyValue::List(v));
        assert!(list(vec![1.into()]) < list(vec![1.into(), 0.into()]));
        assert!(list(vec![2.into()]) > list(vec![1.into(), 5.into()]));
        assert!(key("zzz") < list(vec![]));
    }

    #[test]
    fn fast_paths_agree_with_the_general_order() {
        let keys = [
            key(-3),
            key(7),
            key(7.5),
            key(""),
            key("b"),
            key("ab"),
            key(true),
        ];
        for a in &keys {
            for b in &keys {
                assert_eq!(a.cmp(b), cmp_refs(a.as_ref(), b.as_ref()), "{a:?} {b:?}");
            }
        }
        assert_eq!(key(7).cmp_value(&PropertyValue::Int(8)), Ordering::Less);
        assert_eq!(key("b").cmp_value(&"ab".into()), Ordering::Greater);
    }

    #[test]
    fn key_compares_with_stored_values() {
        assert_eq!(
            key(3).cmp_value(&PropertyValue::Float(3.0)),
            Ordering::Equal
        );
        assert_eq!(key("a").cmp_value(&"b".into()), Ordering::Less);
        assert_eq!(
            key(false).cmp_value(&PropertyValue::Null),
            Ordering::Greater
        );
    }
}
