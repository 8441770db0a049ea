//! Delta chains: the undo records that make old versions readable.
//!
//! Every vertex and edge keeps its newest data in place plus a chain of [`Delta`]s, newest first.
//! Each delta says how to undo one change, and points at the [`CommitCell`] of the transaction
//! that made it. A cell holds the transaction id (`>= TXN_ID_BASE`) while the transaction runs and
//! its commit timestamp (`< TXN_ID_BASE`) once committed; storing the timestamp publishes all of
//! a transaction's deltas at once.
//!
//! Chain invariants (the object's mutex protects the chain and the data together):
//! - The deltas of one transaction on one object are contiguous at the head: a writer refuses an
//!   object whose head delta belongs to another running transaction (first writer wins).
//! - Below an uncommitted head, committed deltas have strictly decreasing commit timestamps
//!   (a writer only writes on top of deltas committed before it started, and commits later).
//!
//! So a reader undoes deltas from the head until the first one it can see; every older delta is
//! visible to it too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::adjacency::AdjEntry;
use crate::{LabelId, PropertyId, PropertyValue};

/// Transaction ids start here; timestamps stay below, so a cell's value says which it holds.
pub(crate) const TXN_ID_BASE: u64 = 1 << 63;

/// Shared by all deltas of one transaction (one `Arc` per transaction, cloned into each delta).
pub(crate) struct CommitCell(AtomicU64);

impl CommitCell {
    pub(crate) fn new(txn_id: u64) -> Arc<CommitCell> {
        debug_assert!(txn_id >= TXN_ID_BASE);
        Arc::new(CommitCell(AtomicU64::new(txn_id)))
    }

    /// Makes every delta of the transaction committed at `commit_ts`. Called once, under the
    /// storage's clock lock, so a transaction that begins afterwards sees it.
    pub(crate) fn publish(&self, commit_ts: u64) {
        debug_assert!(commit_ts < TXN_ID_BASE);
        debug_assert!(
            self.0.load(Ordering::Relaxed) >= TXN_ID_BASE,
            "published twice"
        );
        self.0.store(commit_ts, Ordering::Release);
    }

    fn load(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Whether the owner committed at or before `ts` (so every snapshot from `ts` on sees it).
    pub(crate) fn committed_at_or_before(&self, ts: u64) -> bool {
        self.load() <= ts
    }
}

/// What a transaction may see: commits up to and including `snapshot_ts`, and its own changes.
///
/// `snapshot_ts` is the last commit timestamp when the transaction began. Because commits publish
/// under the same lock `begin` takes, that is exactly "every commit with `commit_ts < start_ts`",
/// and it stays right on a replica whose clock runs ahead of the applied records.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View {
    pub(crate) txn_id: u64,
    pub(crate) snapshot_ts: u64,
}

impl View {
    /// Whether a change made by `cell`'s transaction is part of this view.
    pub(crate) fn sees(&self, cell: &CommitCell) -> bool {
        let value = cell.load();
        value == self.txn_id || value <= self.snapshot_ts
    }

    /// Whether `cell` belongs to this view's own transaction.
    pub(crate) fn owns(&self, cell: &CommitCell) -> bool {
        cell.load() == self.txn_id
    }
}

/// How to undo one change.
#[derive(Debug)]
pub(crate) enum Action {
    /// The object did not exist before (undoes a create).
    Delete,
    /// The object existed before (undoes a delete).
    Recreate,
    /// The vertex had this label (undoes a remove).
    AddLabel(LabelId),
    /// The vertex lacked this label (undoes an add).
    RemoveLabel(LabelId),
    /// The property had this value (`Null` = absent).
    SetProperty(PropertyId, PropertyValue),
    /// The vertex had this outgoing edge (undoes an edge delete).
    AddOutEdge(AdjEntry),
    /// The vertex lacked this outgoing edge (undoes an edge create).
    RemoveOutEdge(AdjEntry),
    /// The vertex had this incoming edge.
    AddInEdge(AdjEntry),
    /// The vertex lacked this incoming edge.
    RemoveInEdge(AdjEntry),
}

pub(crate) struct Delta {
    pub(crate) cell: Arc<CommitCell>,
    pub(crate) action: Action,
    next: Option<Box<Delta>>,
}

/// An object's delta chain, newest first. Freed iteratively, so a long chain cannot overflow the
/// stack when it is dropped.
#[derive(Default)]
pub(crate) struct Chain {
    head: Option<Box<Delta>>,
}

impl Chain {
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    pub(crate) fn head(&self) -> Option<&Delta> {
        self.head.as_deref()
    }

    /// Whether the newest delta belongs to `view`'s transaction.
    pub(crate) fn head_owned_by(&self, view: View) -> bool {
        self.head().is_some_and(|delta| view.owns(&delta.cell))
    }

    pub(crate) fn push(&mut self, cell: Arc<CommitCell>, action: Action) {
        let next = self.head.take();
        self.head = Some(Box::new(Delta { cell, action, next }));
    }

    /// Removes the head delta if it belongs to `view`'s transaction (abort).
    pub(crate) fn pop_owned(&mut self, view: View) -> Option<Action> {
        if !self.head_owned_by(view) {
            return None;
        }
        let mut delta = self.head.take()?;
        self.head = delta.next.take();
        Some(delta.action)
    }

    /// The deltas of `view`'s own transaction, newest first (they head the chain).
    pub(crate) fn owned_by(&self, view: View) -> impl Iterator<Item = &Action> {
        std::iter::successors(self.head(), |delta| delta.next.as_deref())
            .take_while(move |delta| view.owns(&delta.cell))
            .map(|delta| &delta.action)
    }

    /// Whether `view`'s own transaction created the object (its creation, a `Delete` delta, is
    /// among the transaction's deltas at the head). Looks at `limit` deltas at most and then
    /// answers `false`, which is always safe: the caller records an undo delta it could have
    /// skipped.
    pub(crate) fn created_by(&self, view: View, limit: usize) -> bool {
        self.owned_by(view)
            .take(limit)
            .any(|action| matches!(action, Action::Delete))
    }

    /// The deltas `view` must undo to see its version, newest first.
    pub(crate) fn invisible_to(&self, view: View) -> impl Iterator<Item = &Action> {
        let mut next = self.head.as_deref();
        std::iter::from_fn(move || {
            let delta = next.filter(|delta| !view.sees(&delta.cell))?;
            next = delta.next.as_deref();
            Some(&delta.action)
        })
    }

    /// Unlinks and frees every delta committed at or before `oldest_snapshot_ts` (no running or
    /// future transaction undoes them). Returns how many were freed.
    pub(crate) fn truncate_visible_to_all(&mut self, oldest_snapshot_ts: u64) -> u64 {
        let mut link = &mut self.head;
        while link
            .as_ref()
            .is_some_and(|delta| !delta.cell.committed_at_or_before(oldest_snapshot_ts))
        {
            link = &mut link.as_mut().expect("checked by the loop condition").next;
        }
        free_list(link.take())
    }

    /// Every delta's action, newest first (index builds look at all old versions).
    pub(crate) fn actions(&self) -> impl Iterator<Item = &Action> {
        std::iter::successors(self.head(), |delta| delta.next.as_deref()).map(|d| &d.action)
    }

    /// Number of deltas (tests and assertions).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        std::iter::successors(self.head(), |delta| delta.next.as_deref()).count()
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        free_list(self.head.take());
    }
}

/// Frees a detached list one node at a time; returns its length.
fn free_list(mut list: Option<Box<Delta>>) -> u64 {
    let mut freed = 0;
    while let Some(mut delta) = list {
        list = delta.next.take();
        freed += 1;
    }
    freed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(txn_id: u64, snapshot_ts: u64) -> View {
        View {
            txn_id,
            snapshot_ts,
        }
    }

    #[test]
    fn visibility_of_own_committed_and_foreign_changes() {
        let mine = CommitCell::new(TXN_ID_BASE + 1);
        let theirs = CommitCell::new(TXN_ID_BASE + 2);
        let v = view(TXN_ID_BASE + 1, 5);
        assert!(v.sees(&mine) && v.owns(&mine));
        assert!(!v.sees(&theirs));
        theirs.publish(5);
        assert!(v.sees(&theirs) && !v.owns(&theirs));
        let later = CommitCell::new(TXN_ID_BASE + 3);
        later.publish(6);
        assert!(!v.sees(&later));
        assert!(later.committed_at_or_before(6) && !later.committed_at_or_before(5));
        assert!(!mine.committed_at_or_before(u64::MAX >> 1));
    }

    #[test]
    fn reader_stops_at_first_visible_delta_and_gc_truncates() {
        let old = CommitCell::new(TXN_ID_BASE + 1);
        old.publish(2);
        let newer = CommitCell::new(TXN_ID_BASE + 2);
        newer.publish(4);
        let running = CommitCell::new(TXN_ID_BASE + 3);
        let mut chain = Chain::default();
        chain.push(old.clone(), Action::Delete);
        chain.push(newer, Action::RemoveLabel(LabelId(0)));
        chain.push(running.clone(), Action::AddLabel(LabelId(1)));
        assert_eq!(chain.invisible_to(view(TXN_ID_BASE + 9, 3)).count(), 2);
        assert_eq!(chain.invisible_to(view(TXN_ID_BASE + 9, 1)).count(), 3);
        assert_eq!(chain.invisible_to(view(TXN_ID_BASE + 3, 4)).count(), 0);
        assert_eq!(chain.truncate_visible_to_all(3), 1);
        assert_eq!(chain.len(), 2);
        assert!(chain.pop_owned(view(TXN_ID_BASE + 9, 9)).is_none());
        assert!(matches!(
            chain.pop_owned(view(TXN_ID_BASE + 3, 9)),
            Some(Action::AddLabel(LabelId(1)))
        ));
        assert_eq!(chain.truncate_visible_to_all(4), 1);
        assert!(chain.is_empty());
    }

    #[test]
    fn dropping_a_very_long_chain_does_not_recurse() {
        let cell = CommitCell::new(TXN_ID_BASE);
        let mut chain = Chain::default();
        for _ in 0..1_000_000 {
            chain.push(cell.clone(), Action::Delete);
        }
        drop(chain);
        assert_eq!(Arc::strong_count(&cell), 1);
    }
}
