//! Read-only sub-plans evaluated inside expressions: pattern predicates (`WHERE (a)-->(b)`),
//! `EXISTS { MATCH ... WHERE ... }` and pattern comprehensions (`[(a)-->(b) WHERE p | b.x]`).
//!
//! Why not the cursor tree: cursors need an [`ExecCtx`](crate::ops::ExecCtx) holding the
//! transaction mutably (writers share the trait), while an expression is evaluated with a shared
//! [`EvalCtx`] and may sit anywhere (a projection, a CASE, a SET value). The patterns these
//! expressions contain are pure reads, so the planner plans them with the ordinary MATCH planner
//! (`planner::pattern::plan_patterns`, starting from `Op::Once`, same frame, same slots) and this
//! module walks that operator tree push-style over `&Transaction`: each operator calls the rest
//! of the pipeline for each row it produces and stops as soon as the consumer says so (an
//! existence check stops at the first match). Only the operators a MATCH pattern plans to are
//! accepted; anything else is a planner bug reported as an error, not a silent miss.
//!
//! The sub-plan's own variables live in slots no outer operator reads, so writing them in the
//! shared frame is harmless.

use storage::{EdgeRef, Gid};

use crate::error::{QueryError, Result};
use crate::expr::{truth, EvalCtx, Frame};
use crate::ops::{Direction, ExpandSpec};
use crate::plan::Op;
use crate::value::{PathValue, Value};

/// Calls `each` for every row the read-only `op` produces over `frame` until it returns
/// `Ok(false)`; returns `Ok(false)` when stopped early.
pub fn for_each(
    op: &Op,
    frame: &mut Frame,
    ctx: &EvalCtx<'_>,
    each: &mut dyn FnMut(&mut Frame) -> Result<bool>,
) -> Result<bool> {
    match op {
        Op::Once => each(frame),
        Op::Scan { input, slot, label } => for_each(input, frame, ctx, &mut |frame| {
            let iter = match label {
                Some(l) => ctx.tx.vertices_with_label(*l),
                None => ctx.tx.vertices(),
            };
            for gid in iter {
                frame[*slot] = Value::Node(gid);
                if !each(frame)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }),
        Op::Expand { input, spec } => for_each(input, frame, ctx, &mut |frame| {
            for (e, other) in edges(spec, frame, ctx)? {
                frame[spec.rel] = Value::Relationship(e);
                if !spec.to_bound {
                    frame[spec.to] = Value::Node(other);
                }
                if !each(frame)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }),
        Op::Filter { input, pred } => for_each(input, frame, ctx, &mut |frame| {
            if truth(&pred.eval(frame, ctx)?)? == Some(true) {
                each(frame)
            } else {
                Ok(true)
            }
        }),
        Op::ConstructPath {
            input,
            slot,
            nodes,
            rels,
        } => for_each(input, frame, ctx, &mut |frame| {
            let mut path = PathValue {
                nodes: Vec::with_capacity(nodes.len()),
                rels: Vec::with_capacity(rels.len()),
            };
            for s in nodes.iter() {
                if let Value::Node(g) = frame[*s] {
                    path.nodes.push(g);
                }
            }
            for s in rels.iter() {
                if let Value::Relationship(r) = frame[*s] {
                    path.rels.push(r);
                }
            }
            frame[*slot] = Value::Path(Box::new(path));
            each(frame)
        }),
        other => Err(QueryError::Unsupported(format!(
            "{} cannot be evaluated inside an expression.",
            other.explain().first().cloned().unwrap_or_default()
        ))),
    }
}

/// Whether `op` produces at least one row.
pub fn exists(op: &Op, frame: &mut Frame, ctx: &EvalCtx<'_>) -> Result<bool> {
    Ok(!for_each(op, frame, ctx, &mut |_| Ok(false))?)
}

/// The edges an expansion yields from the current row, as the Expand cursor finds them.
fn edges(spec: &ExpandSpec, frame: &Frame, ctx: &EvalCtx<'_>) -> Result<Vec<(EdgeRef, Gid)>> {
    let mut out = Vec::new();
    let Value::Node(v) = frame[spec.from] else {
        return Ok(out);
    };
    let want_to = match (&frame[spec.to], spec.to_bound) {
        (Value::Node(g), true) => Some(*g),
        (_, true) => return Ok(out),
        _ => None,
    };
    let want_rel = match (&frame[spec.rel], spec.rel_bound) {
        (Value::Relationship(r), true) => Some(r.gid),
        (_, true) => return Ok(out),
        _ => None,
    };
    let accept = |e: &EdgeRef, other: Gid| {
        (spec.types.is_empty() || spec.types.contains(&e.ty))
            && want_to.is_none_or(|t| t == other)
            && want_rel.is_none_or(|r| r == e.gid)
    };
    if matches!(spec.dir, Direction::Out | Direction::Both) {
        for e in ctx.tx.out_edges(v)? {
            if accept(&e, e.to) {
                out.push((e, e.to));
            }
        }
    }
    if matches!(spec.dir, Direction::In | Direction::Both) {
        for e in ctx.tx.in_edges(v)? {
            if spec.dir == Direction::Both && e.from == e.to {
                continue;
            }
            if accept(&e, e.from) {
                out.push((e, e.from));
            }
        }
    }
    Ok(out)
}
