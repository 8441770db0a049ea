//! Existence and uniqueness constraints, checked when a transaction commits.
//!
//! Checks run under the engine lock (the `clock`), after the commit timestamp is taken and before
//! the commit sink: commits are checked one at a time against everything committed before them,
//! so two concurrent transactions that both create `:Person {id: 1}` cannot both commit. A
//! failing check aborts the transaction; nothing of it reaches the WAL or a replica.
//!
//! - Existence `(label, property)`: every vertex the transaction touched that has `label` has a
//!   non-null `property`.
//! - Uniqueness `(label, [properties])`: no two vertices with `label` and all the properties have
//!   equal values (integers and floats compare by value, as in indexes). Each constraint keeps a
//!   set of `(key, gid)` entries, added at commit for the vertices a commit touched (so they
//!   cover every committed version); a check looks up the entries with the touched vertex's key
//!   and re-reads each candidate's newest committed version. Stale entries are harmless (the
//!   re-read rejects them) and are left for a later pass to drop.
//!
//! Creating a constraint holds the engine lock while it validates every vertex (no commit can
//! slip in between the check and the registration); dropping one is immediate.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::index::IndexKey;
use crate::mvcc::{Action, View, TXN_ID_BASE};
use crate::object::{visibility, VertexData, Visibility};
use crate::transaction::TxnState;
use crate::{Gid, LabelId, ObjectRef, PropertyId, PropertyValue, Storage, StorageError};

/// One uniqueness constraint and its entries.
pub(crate) struct Unique {
    pub(crate) label: LabelId,
    /// In the order they were declared.
    pub(crate) properties: Vec<PropertyId>,
    entries: Mutex<BTreeSet<(IndexKey, Gid)>>,
}

#[derive(Default, Clone)]
pub(crate) struct ConstraintSet {
    pub(crate) exists: Vec<(LabelId, PropertyId)>,
    pub(crate) unique: Vec<Arc<Unique>>,
}

impl ConstraintSet {
    fn is_empty(&self) -> bool {
        self.exists.is_empty() && self.unique.is_empty()
    }

    /// Whether a unique constraint on `label` over the same set of properties exists.
    fn has_unique(&self, label: LabelId, properties: &[PropertyId]) -> bool {
        self.unique
            .iter()
            .any(|u| u.label == label && same_set(&u.properties, properties))
    }
}

/// The storage's constraint registry.
#[derive(Default)]
pub(crate) struct Constraints {
    set: RwLock<Arc<ConstraintSet>>,
    ddl: Mutex<()>,
}

/// What a constraint asserts (one row of `SHOW CONSTRAINT INFO`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConstraintInfo {
    /// `ASSERT EXISTS (n.property)`
    Exists {
        /// The label.
        label: LabelId,
        /// The property that must be present.
        property: PropertyId,
    },
    /// `ASSERT n.a, n.b IS UNIQUE`
    Unique {
        /// The label.
        label: LabelId,
        /// The properties whose values, together, must be unique.
        properties: Vec<PropertyId>,
    },
}

/// The view that sees every committed change and the own changes of `txn_id`.
fn latest_view(txn_id: u64) -> View {
    View {
        txn_id,
        snapshot_ts: TXN_ID_BASE - 1,
    }
}

/// The labels and the given properties of the version `view` sees, if it is visible.
fn version_of(
    data: &VertexData,
    view: View,
    properties: &[PropertyId],
) -> Option<(Vec<LabelId>, Vec<Option<PropertyValue>>)> {
    if visibility(data, view) != Visibility::Visible {
        return None;
    }
    let mut labels = data.attrs.label_vec();
    let mut values: Vec<Option<PropertyValue>> =
        properties.iter().map(|p| data.attrs.get(*p)).collect();
    for action in data.chain.invisible_to(view) {
        match action {
            Action::AddLabel(l) => {
                if let Err(i) = labels.binary_search(l) {
                    labels.insert(i, *l);
                }
            }
            Action::RemoveLabel(l) => labels.retain(|x| x != l),
            Action::SetProperty(k, old) => {
                if let Some(i) = properties.iter().position(|p| p == k) {
                    values[i] = (!old.is_null()).then(|| old.clone());
                }
            }
            _ => {}
        }
    }
    Some((labels, values))
}

/// The entry key of a value tuple: the value itself for one property, a list for several.
fn unique_key(values: Vec<Option<PropertyValue>>) -> Option<IndexKey> {
    let values: Option<Vec<PropertyValue>> = values.into_iter().collect();
    let mut values = values?;
    if values.len() == 1 {
        IndexKey::of(&values.pop()?)
    } else {
        IndexKey::of(&PropertyValue::List(values))
    }
}

impl Storage {
    fn constraint_set(&self) -> Arc<ConstraintSet> {
        self.constraints.set.read().clone()
    }

    fn describe(&self, label: LabelId, properties: &[PropertyId]) -> String {
        let props: Vec<String> = properties
            .iter()
            .map(|p| self.property_name(*p).to_string())
            .collect();
        format!(":{}({})", self.label_name(label), props.join(", "))
    }

    /// Validates the vertices `tx` touched against every constraint, then records their unique
    /// entries. Runs under the engine lock. `validate` is false for replayed records (already
    /// checked where they were committed): they only get their entries.
    pub(crate) fn check_constraints(
        &self,
        tx: &TxnState,
        validate: bool,
    ) -> Result<(), StorageError> {
        let set = self.constraint_set();
        if set.is_empty() {
            return Ok(());
        }
        let view = latest_view(tx.view.txn_id);
        let mut pending: Vec<(&Unique, IndexKey, Gid)> = Vec::new();
        for object in &tx.touched {
            let ObjectRef::Vertex(gid) = *object else {
                continue;
            };
            let Some(slot) = self.vertex_slot(gid) else {
                continue;
            };
            let data = slot.read();
            if data.deleted {
                continue;
            }
            for (label, property) in &set.exists {
                if validate
                    && data.attrs.has_label(*label)
                    && data.attrs.get_ref(*property).is_none()
                {
                    return Err(StorageError::Constraint(format!(
                        "Unable to commit due to existence constraint violation on {}",
                        self.describe(*label, &[*property])
                    )));
                }
            }
            for unique in &set.unique {
                if !data.attrs.has_label(unique.label) {
                    continue;
                }
                let values = unique
                    .properties
                    .iter()
                    .map(|p| data.attrs.get(*p))
                    .collect();
                if let Some(key) = unique_key(values) {
                    pending.push((unique, key, gid));
                }
            }
        }
        if validate {
            for (unique, key, gid) in &pending {
                if self.unique_conflict(unique, key, *gid, view) {
                    return Err(StorageError::Constraint(format!(
                        "Unable to commit due to unique constraint violation on {}",
                        self.describe(unique.label, &unique.properties)
                    )));
                }
            }
            // Two vertices of this same transaction with one key.
            let mut seen: Vec<(*const Unique, &IndexKey)> = Vec::new();
            for (unique, key, _) in &pending {
                let me: *const Unique = *unique;
                if seen.iter().any(|(u, k)| *u == me && *k == key) {
                    return Err(StorageError::Constraint(format!(
                        "Unable to commit due to unique constraint violation on {}",
                        self.describe(unique.label, &unique.properties)
                    )));
                }
                seen.push((me, key));
            }
        }
        for (unique, key, gid) in pending {
            unique.entries.lock().insert((key, gid));
        }
        Ok(())
    }

    /// Whether a vertex other than `gid` has `unique.label` and values equal to `key` in its
    /// newest committed version (or in `view`'s own version).
    fn unique_conflict(&self, unique: &Unique, key: &IndexKey, gid: Gid, view: View) -> bool {
        let candidates: Vec<Gid> = unique
            .entries
            .lock()
            .range((
                Bound::Included((key.clone(), 0)),
                Bound::Included((key.clone(), Gid::MAX)),
            ))
            .map(|(_, g)| *g)
            .filter(|g| *g != gid)
            .collect();
        candidates.into_iter().any(|other| {
            let Some(slot) = self.vertex_slot(other) else {
                return false;
            };
            let data = slot.read();
            match version_of(&data, view, &unique.properties) {
                Some((labels, values)) => {
                    labels.binary_search(&unique.label).is_ok()
                        && unique_key(values).is_some_and(|k| k.cmp(key) == Ordering::Equal)
                }
                None => false,
            }
        })
    }

    /// `CREATE CONSTRAINT ON (n:L) ASSERT EXISTS (n.p)`. `Ok(false)` if it already exists; an
    /// error naming the constraint if an existing vertex violates it.
    pub(crate) fn add_existence_constraint(
        &self,
        label: LabelId,
        property: PropertyId,
    ) -> Result<bool, StorageError> {
        let _ddl = self.constraints.ddl.lock();
        let mut set = (*self.constraint_set()).clone();
        if set.exists.contains(&(label, property)) {
            return Ok(false);
        }
        let _clock = self.clock.lock();
        self.check_existing_exist(label, property)?;
        set.exists.push((label, property));
        *self.constraints.set.write() = Arc::new(set);
        Ok(true)
    }

    /// `CREATE CONSTRAINT ON (n:L) ASSERT n.a, ... IS UNIQUE`. `Ok(false)` if it already exists;
    /// an error if existing vertices share values.
    pub(crate) fn add_unique_constraint(
        &self,
        label: LabelId,
        properties: Vec<PropertyId>,
    ) -> Result<bool, StorageError> {
        let _ddl = self.constraints.ddl.lock();
        let mut set = (*self.constraint_set()).clone();
        if set.has_unique(label, &properties) {
            return Ok(false);
        }
        let _clock = self.clock.lock();
        let entries = self.existing_unique_entries(label, &properties)?;
        set.unique.push(Arc::new(Unique {
            label,
            properties,
            entries: Mutex::new(entries),
        }));
        *self.constraints.set.write() = Arc::new(set);
        Ok(true)
    }

    /// Whether creating `constraint` now would succeed (without creating it): `Ok` if it exists
    /// already or the committed vertices satisfy it, else the error creating it would return.
    /// Replicated schema records are checked so when prepared and applied when committed.
    pub(crate) fn check_new_constraint(
        &self,
        constraint: &ConstraintInfo,
    ) -> Result<(), StorageError> {
        let _ddl = self.constraints.ddl.lock();
        let set = self.constraint_set();
        match constraint {
            ConstraintInfo::Exists { label, property } => {
                if set.exists.contains(&(*label, *property)) {
                    return Ok(());
                }
                let _clock = self.clock.lock();
                self.check_existing_exist(*label, *property)
            }
            ConstraintInfo::Unique { label, properties } => {
                if set.has_unique(*label, properties) {
                    return Ok(());
                }
                let _clock = self.clock.lock();
                self.existing_unique_entries(*label, properties).map(|_| ())
            }
        }
    }

    /// An error naming the constraint if a committed vertex has `label` but not `property`.
    /// The caller holds the engine lock (no commit slips in between the check and its use).
    fn check_existing_exist(
        &self,
        label: LabelId,
        property: PropertyId,
    ) -> Result<(), StorageError> {
        let view = latest_view(u64::MAX);
        for gid in 0..self.vertex_gid_bound() {
            let Some(slot) = self.vertex_slot(gid) else {
                continue;
            };
            let data = slot.read();
            if let Some((labels, values)) = version_of(&data, view, &[property]) {
                if labels.binary_search(&label).is_ok() && values[0].is_none() {
                    return Err(StorageError::Constraint(format!(
                        "Unable to create existence constraint {}, because an existing node violates it.",
                        self.describe(label, &[property])
                    )));
                }
            }
        }
        Ok(())
    }

    /// The entries of a new unique constraint over the committed vertices, or an error if two of
    /// them share values (or `properties` is empty). The caller holds the engine lock.
    fn existing_unique_entries(
        &self,
        label: LabelId,
        properties: &[PropertyId],
    ) -> Result<BTreeSet<(IndexKey, Gid)>, StorageError> {
        if properties.is_empty() {
            return Err(StorageError::Constraint(
                "A unique constraint needs at least one property.".into(),
            ));
        }
        let view = latest_view(u64::MAX);
        let mut entries = BTreeSet::new();
        for gid in 0..self.vertex_gid_bound() {
            let Some(slot) = self.vertex_slot(gid) else {
                continue;
            };
            let data = slot.read();
            let Some((labels, values)) = version_of(&data, view, properties) else {
                continue;
            };
            if labels.binary_search(&label).is_err() {
                continue;
            }
            if let Some(key) = unique_key(values) {
                let duplicate = entries
                    .range((
                        Bound::Included((key.clone(), 0)),
                        Bound::Included((key.clone(), Gid::MAX)),
                    ))
                    .next()
                    .is_some();
                if duplicate {
                    return Err(StorageError::Constraint(format!(
                        "Unable to create unique constraint {}, because an existing node violates it.",
                        self.describe(label, properties)
                    )));
                }
                entries.insert((key, gid));
            }
        }
        Ok(entries)
    }

    /// `DROP CONSTRAINT ...`: an error naming it if there is no such constraint.
    pub(crate) fn remove_constraint(
        &self,
        constraint: &ConstraintInfo,
    ) -> Result<(), StorageError> {
        let _ddl = self.constraints.ddl.lock();
        let mut set = (*self.constraint_set()).clone();
        let (before, what) = (set.exists.len() + set.unique.len(), constraint);
        match what {
            ConstraintInfo::Exists { label, property } => {
                set.exists.retain(|c| *c != (*label, *property))
            }
            ConstraintInfo::Unique { label, properties } => set
                .unique
                .retain(|u| !(u.label == *label && same_set(&u.properties, properties))),
        }
        if set.exists.len() + set.unique.len() == before {
            let (kind, label, props) = match constraint {
                ConstraintInfo::Exists { label, property } => {
                    ("existence", *label, vec![*property])
                }
                ConstraintInfo::Unique { label, properties } => {
                    ("unique", *label, properties.clone())
                }
            };
            return Err(StorageError::Constraint(format!(
                "Constraint {kind} on {} doesn't exist.",
                self.describe(label, &props)
            )));
        }
        *self.constraints.set.write() = Arc::new(set);
        Ok(())
    }

    /// Every constraint: existence ones first, then unique ones, each in creation order.
    pub fn constraint_info(&self) -> Vec<ConstraintInfo> {
        let set = self.constraint_set();
        set.exists
            .iter()
            .map(|(label, property)| ConstraintInfo::Exists {
                label: *label,
                property: *property,
            })
            .chain(set.unique.iter().map(|u| ConstraintInfo::Unique {
                label: u.label,
                properties: u.properties.clone(),
            }))
            .collect()
    }
}

fn same_set(a: &[PropertyId], b: &[PropertyId]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    a == b
}
