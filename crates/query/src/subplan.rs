//! Read-only sub-plans evaluated inside expressions: pattern predicates (`WHERE (a)-->(b)`),
//! `EXISTS { MATCH ... WHERE ... }` and pattern comprehensions (`[(a)-->(b) WHERE p | b.x]`).
//!
//! The patterns these expressions contain are pure reads, so the planner plans them with the
//! ordinary MATCH planner (`planner::pattern::plan_patterns`, starting from `Op::Once`, same
//! frame, same slots), and they run as an ordinary cursor tree over a *shared* transaction
//! ([`TxRef::Shared`]): an expression is evaluated with only a `&Transaction` at hand and may sit
//! anywhere (a projection, a CASE, a SET value). Every read operator (scans, expansions,
//! variable-length and shortest paths) therefore works inside expressions exactly as in MATCH;
//! a write operator would get an error from `ExecCtx::tx_mut`, and the planner never puts one
//! there. An existence check stops pulling at the first row.
//!
//! The sub-plan's own variables live in slots no outer operator reads, so writing them in the
//! shared frame is harmless.

use crate::error::Result;
use crate::expr::{EvalCtx, Frame};
use crate::ops::{ExecCtx, Guard, Stats, TxRef};
use crate::plan::Op;

/// Calls `each` for every row the read-only `op` produces over `frame` until it returns
/// `Ok(false)`; returns `Ok(false)` when stopped early.
pub fn for_each(
    op: &Op,
    frame: &mut Frame,
    ctx: &EvalCtx<'_>,
    each: &mut dyn FnMut(&mut Frame) -> Result<bool>,
) -> Result<bool> {
    let mut cursor = op.build();
    let mut stats = Stats::default();
    let guard = Guard {
        memory_limit: ctx.memory_limit,
        ..Guard::unlimited()
    };
    let mut exec = ExecCtx::new(TxRef::Shared(ctx.tx), ctx.params, &mut stats, &guard);
    while cursor.pull(frame, &mut exec)? {
        if !each(frame)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether `op` produces at least one row.
pub fn exists(op: &Op, frame: &mut Frame, ctx: &EvalCtx<'_>) -> Result<bool> {
    Ok(!for_each(op, frame, ctx, &mut |_| Ok(false))?)
}
