//! Aggregations over a scan become parallel [`Op::ScanAggregate`]s (see `ops::parallel` for how
//! they run and why their answers are the sequential ones).
//!
//! Applies when the aggregation's input is a chain of filters, projections and expansions over a
//! scan of all vertices or of a label, fed by `Once` (the start of a query part, or of a
//! subquery run once per outer row): those operators only read, and each one's rows come from
//! one input row at a time. The scan becomes a [`Op::MorselScan`], and every `var.key` of the
//! scanned variable in the chain, the grouping keys and the aggregate arguments reads a slot the
//! scan fills in the same visit as its visibility check, instead of locking the vertex again.
//! That is exact: nothing between the scan and the aggregation writes, and the aggregation
//! consumes its whole input within one pull, so the value is the one the property read would
//! have returned.

use std::sync::Arc;

use storage::PropertyId;

use super::Planner;
use crate::expr::PExpr;
use crate::ops::{AggSpec, MorselScanSpec};
use crate::plan::Op;

/// The aggregation of `input`: parallel when it can be.
pub(crate) fn aggregate(
    p: &mut Planner<'_>,
    mut input: Op,
    mut keys: Vec<(PExpr, usize)>,
    mut aggs: Vec<AggSpec>,
) -> Op {
    let Some(slot) = scanned_slot(&input) else {
        return Op::Aggregate {
            input: Box::new(input),
            keys: Arc::new(keys),
            aggs: Arc::new(aggs),
        };
    };
    // The properties of the scanned vertex anything reads, each given a slot.
    let mut wanted: Vec<PropertyId> = Vec::new();
    let mut note = |e: &mut PExpr| visit(e, &mut |e| note_property(e, slot, &mut wanted));
    for_each_expr(&mut input, &mut keys, &mut aggs, &mut note);
    let prefetch: Vec<(PropertyId, usize)> = wanted.iter().map(|k| (*k, p.new_slot())).collect();
    let mut rewrite = |e: &mut PExpr| visit(e, &mut |e| read_prefetched(e, slot, &prefetch));
    for_each_expr(&mut input, &mut keys, &mut aggs, &mut rewrite);
    Op::ScanAggregate {
        input: Arc::new(with_morsel_leaf(input, prefetch)),
        keys: Arc::new(keys),
        aggs: Arc::new(aggs),
    }
}

/// The slot of the scan at the bottom of a chain this applies to, if `op` is one.
fn scanned_slot(op: &Op) -> Option<usize> {
    let slot = match op {
        Op::Scan { input, slot, .. } => matches!(**input, Op::Once).then_some(*slot)?,
        Op::Filter { input, .. } | Op::Project { input, .. } | Op::Expand { input, .. } => {
            scanned_slot(input)?
        }
        _ => return None,
    };
    // Nothing in the chain may overwrite the scanned variable (the planner gives every new
    // variable a new slot, so this is a safety net).
    let overwrites = match op {
        Op::Project { items, .. } => items.iter().any(|(_, s)| *s == slot),
        Op::Expand { spec, .. } => spec.rel == slot || (!spec.to_bound && spec.to == slot),
        _ => false,
    };
    (!overwrites).then_some(slot)
}

/// Calls `f` on every expression evaluated per input row: the chain's filters and projections,
/// the grouping keys and the aggregate arguments (a percentile's fraction is evaluated after
/// the aggregation, so it is left alone).
fn for_each_expr(
    op: &mut Op,
    keys: &mut [(PExpr, usize)],
    aggs: &mut [AggSpec],
    f: &mut dyn FnMut(&mut PExpr),
) {
    chain_exprs(op, f);
    keys.iter_mut().for_each(|(e, _)| f(e));
    aggs.iter_mut().filter_map(|a| a.arg.as_mut()).for_each(f);
}

fn chain_exprs(op: &mut Op, f: &mut dyn FnMut(&mut PExpr)) {
    match op {
        Op::Filter { input, pred } => {
            f(Arc::make_mut(pred));
            chain_exprs(input, f);
        }
        Op::Project { input, items } => {
            Arc::make_mut(items).iter_mut().for_each(|(e, _)| f(e));
            chain_exprs(input, f);
        }
        Op::Expand { input, .. } => chain_exprs(input, f),
        _ => {}
    }
}

/// Calls `f` on `e` and, unless `f` replaced it, on all its sub-expressions.
fn visit(e: &mut PExpr, f: &mut dyn FnMut(&mut PExpr) -> bool) {
    if !f(e) {
        e.for_each_child_mut(&mut |child| visit(child, f));
    }
}

/// Notes the key of a `var.key` on the scanned variable.
fn note_property(e: &mut PExpr, slot: usize, wanted: &mut Vec<PropertyId>) -> bool {
    if let PExpr::Property(base, key, _) = e {
        if matches!(**base, PExpr::Slot(s) if s == slot) && !wanted.contains(key) {
            wanted.push(*key);
        }
    }
    false
}

/// Replaces a `var.key` on the scanned variable with a read of its prefetched slot.
fn read_prefetched(e: &mut PExpr, slot: usize, prefetch: &[(PropertyId, usize)]) -> bool {
    let PExpr::Property(base, key, _) = e else {
        return false;
    };
    if !matches!(**base, PExpr::Slot(s) if s == slot) {
        return false;
    }
    match prefetch.iter().find(|(k, _)| k == key) {
        Some((_, into)) => {
            *e = PExpr::Slot(*into);
            true
        }
        None => false,
    }
}

/// The chain with its scan replaced by a morsel scan that also reads `prefetch`.
fn with_morsel_leaf(op: Op, prefetch: Vec<(PropertyId, usize)>) -> Op {
    match op {
        Op::Scan { slot, label, .. } => Op::MorselScan {
            spec: Arc::new(MorselScanSpec {
                slot,
                label,
                prefetch,
            }),
        },
        Op::Filter { input, pred } => Op::Filter {
            input: Box::new(with_morsel_leaf(*input, prefetch)),
            pred,
        },
        Op::Project { input, items } => Op::Project {
            input: Box::new(with_morsel_leaf(*input, prefetch)),
            items,
        },
        Op::Expand { input, spec } => Op::Expand {
            input: Box::new(with_morsel_leaf(*input, prefetch)),
            spec,
        },
        other => unreachable!("not a scan chain: {}", other.explain().join("\n")),
    }
}
