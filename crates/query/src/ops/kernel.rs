//! The fused scan-aggregation kernel: a parallel aggregation whose input is a
//! [`MorselScan`](super::MorselScan) under filters and projections runs here as one loop per
//! gid range instead of a cursor pipeline.
//!
//! For each batch of [`BATCH`] gids the scan visits the vertices (one lock each, see
//! `storage::scan`), copying the prefetched properties out of the encoded attributes
//! ([`storage::PropertyRef`]: numbers and booleans without building a `PropertyValue`); then,
//! with no vertex locked, every row of the batch goes through the filters and projections and
//! into the partial [`GroupTable`], whose single integer keys index a dense array instead of
//! being hashed. Expressions are the planner's own ([`PExpr::eval`] over the same frame), so the
//! rows, the values and the errors are the cursor pipeline's, in the same order: only the
//! per-row cursor calls, the per-row guard ticks (the interrupt flag and the deadline are
//! checked per batch; the memory limit still per row) and the intermediate `PropertyValue`s
//! are gone.

use std::ops::{ControlFlow, Range};

use storage::{Gid, PropertyRef, Transaction};

use super::transform::{AggSpec, GroupTable};
use super::{ExecCtx, MorselScanSpec};
use crate::error::Result;
use crate::expr::{and3, compare, BinOp, CmpOp, EvalCtx, Frame, PExpr};
use crate::plan::Op;
use crate::value::Value;

/// Gids visited per batch: the batch's values stay in the first cache levels between the visit
/// and the evaluation, and the guard is checked once per batch.
const BATCH: u64 = 512;

/// A row-by-row step above the scan, with the compiled forms of its expressions.
enum Step<'a> {
    Filter(&'a PExpr, Option<Prog>),
    Project(&'a [(PExpr, usize)], Vec<Option<Prog>>),
}

/// An aggregation input the kernel runs: a morsel scan, then filters and projections.
pub(crate) struct Pipeline<'a> {
    scan: &'a MorselScanSpec,
    /// Bottom-up (the order rows go through them).
    steps: Vec<Step<'a>>,
    /// The compiled grouping keys, then the aggregates' arguments (numbered as
    /// [`GroupTable::add_row_with`] numbers them).
    exprs: Vec<Option<Prog>>,
}

/// `e`'s value: the compiled program's when it has one, else the expression's own.
#[inline]
fn eval(prog: Option<&Prog>, e: &PExpr, frame: &mut Frame, ectx: &EvalCtx<'_>) -> Result<Value> {
    match prog.and_then(|p| p.eval(frame)) {
        Some(v) => Ok(v.value()),
        None => e.eval(frame, ectx),
    }
}

/// The values one batch visit copied out, reused from batch to batch.
#[derive(Default)]
pub(crate) struct Batch {
    gids: Vec<Gid>,
    /// `prefetch.len()` values per gid.
    values: Vec<Value>,
}

fn to_value(p: PropertyRef<'_>) -> Value {
    match p {
        PropertyRef::Bool(b) => Value::Bool(b),
        PropertyRef::Int(i) => Value::Int(i),
        PropertyRef::Float(f) => Value::Float(f),
        PropertyRef::Str(s) => Value::String(s.to_owned()),
        PropertyRef::Value(v) => Value::from(v),
        encoded @ PropertyRef::Encoded(_) => Value::from(encoded.to_value()),
    }
}

impl<'a> Pipeline<'a> {
    /// The pipeline of `input` if it is one the kernel runs: only filters and projections over
    /// the morsel scan (an expansion reads other vertices per row, and stays a cursor).
    pub(crate) fn of(
        mut input: &'a Op,
        keys: &[(PExpr, usize)],
        aggs: &[AggSpec],
        params: &[Value],
    ) -> Option<Pipeline<'a>> {
        let mut steps = Vec::new();
        loop {
            match input {
                Op::MorselScan { spec } => {
                    steps.reverse();
                    let args = aggs.iter().map(|a| a.arg.as_ref());
                    let exprs = keys
                        .iter()
                        .map(|(e, _)| Some(e))
                        .chain(args)
                        .map(|e| e.and_then(|e| Prog::compile(e, params)))
                        .collect();
                    return Some(Pipeline {
                        scan: spec,
                        steps,
                        exprs,
                    });
                }
                Op::Filter { input: below, pred } => {
                    steps.push(Step::Filter(pred, Prog::compile(pred, params)));
                    input = below;
                }
                Op::Project { input: below, items } => {
                    let progs = items.iter().map(|(e, _)| Prog::compile(e, params));
                    steps.push(Step::Project(items, progs.collect()));
                    input = below;
                }
                _ => return None,
            }
        }
    }

    fn fill(&self, tx: &Transaction, gids: Range<Gid>, batch: &mut Batch) {
        batch.gids.clear();
        batch.values.clear();
        let Batch { gids: out, values } = batch;
        let prefetch = &self.scan.prefetch;
        let _ = tx.scan_vertices::<()>(self.scan.label, gids, |gid, vertex| {
            out.push(gid);
            for (key, _) in prefetch {
                values.push(vertex.property_ref(*key).map_or(Value::Null, to_value));
            }
            ControlFlow::Continue(())
        });
    }

    /// Whether the row in `frame` passes the steps (projections write their slots).
    fn passes(&self, frame: &mut Frame, ectx: &EvalCtx<'_>) -> Result<bool> {
        for step in &self.steps {
            match step {
                Step::Filter(pred, prog) => {
                    let pass = match prog.as_ref().and_then(|p| p.eval(frame)?.truth()) {
                        Some(truth) => truth == Some(true),
                        None => pred.eval_predicate(frame, ectx)?,
                    };
                    if !pass {
                        return Ok(false);
                    }
                }
                Step::Project(items, progs) => {
                    for ((e, slot), prog) in items.iter().zip(progs) {
                        let v = eval(prog.as_ref(), e, frame, ectx)?;
                        frame[*slot] = v;
                    }
                }
            }
        }
        Ok(true)
    }

    /// Aggregates the rows of the vertices in `gids` into a partial table.
    pub(crate) fn aggregate(
        &self,
        gids: Range<Gid>,
        keys: &[(PExpr, usize)],
        aggs: &[AggSpec],
        frame: &mut Frame,
        ctx: &mut ExecCtx<'_>,
        batch: &mut Batch,
    ) -> Result<GroupTable> {
        let mut table = GroupTable::new(true);
        let width = self.scan.prefetch.len();
        let limit = ctx.guard.memory_limit;
        let mut start = gids.start;
        while start < gids.end {
            let end = gids.end.min(start.saturating_add(BATCH));
            ctx.guard.check_with_probe()?;
            self.fill(ctx.tx(), start..end, batch);
            start = end;
            let ectx = ctx.eval();
            let mut values = batch.values.chunks_exact_mut(width.max(1));
            for &gid in &batch.gids {
                if width > 0 {
                    let row = values.next().expect("one chunk of values per gid");
                    for ((_, slot), v) in self.scan.prefetch.iter().zip(row) {
                        frame[*slot] = std::mem::replace(v, Value::Null);
                    }
                }
                frame[self.scan.slot] = Value::Node(gid);
                if self.passes(frame, &ectx)? {
                    // As the cursor path: every buffered row checks the memory limit.
                    crate::memory::check(limit)?;
                    let exprs = &self.exprs;
                    table.add_row_with(keys, aggs, frame, &mut |e, n, frame| {
                        eval(exprs[n].as_ref(), e, frame, &ectx)
                    })?;
                }
            }
        }
        Ok(table)
    }
}

/// A value the compiled expressions compute with: what a property read or arithmetic yields in
/// the common case, in 16 bytes and without drop glue.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
}

impl Scalar {
    fn of(v: &Value) -> Option<Scalar> {
        Some(match v {
            Value::Null => Scalar::Null,
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Int(i) => Scalar::Int(*i),
            Value::Float(f) => Scalar::Float(*f),
            _ => return None,
        })
    }

    fn value(self) -> Value {
        match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => Value::Int(i),
            Scalar::Float(f) => Value::Float(f),
        }
    }

    /// [`truth`](crate::expr::truth) without its error: `None` for a non-boolean.
    fn truth(self) -> Option<Option<bool>> {
        match self {
            Scalar::Bool(b) => Some(Some(b)),
            Scalar::Null => Some(None),
            _ => None,
        }
    }
}

/// An expression compiled for the kernel's fast path. [`Prog::eval`] returns the value the
/// expression's [`PExpr::eval`] would return, or `None` ("not here") whenever that is not a
/// plain scalar computed without an error: an operand that is a string, list or other
/// non-scalar, an integer overflow, a division by zero, a type error. The caller then
/// evaluates the `PExpr` itself, which gives the exact value or error: expressions have no side
/// effects, so evaluating one again after a partial attempt changes nothing.
#[derive(Debug)]
pub(crate) enum Prog {
    Slot(usize),
    Const(Scalar),
    Arith(Box<Prog>, Vec<(BinOp, Prog)>),
    Neg(Box<Prog>),
    Compare(Box<Prog>, Vec<(CmpOp, Prog)>),
    And(Vec<Prog>),
    Or(Vec<Prog>),
    Not(Box<Prog>),
    IsNull(Box<Prog>, bool),
}

impl Prog {
    /// The compiled form of `e`, if every part of it has one (parameters are constants).
    pub(crate) fn compile(e: &PExpr, params: &[Value]) -> Option<Prog> {
        let all = |items: &[PExpr]| {
            items
                .iter()
                .map(|e| Prog::compile(e, params))
                .collect::<Option<Vec<_>>>()
        };
        Some(match e {
            PExpr::Slot(s) => Prog::Slot(*s),
            PExpr::Const(v) => Prog::Const(Scalar::of(v)?),
            PExpr::Param(i) => Prog::Const(Scalar::of(params.get(*i)?)?),
            PExpr::Arith(first, rest) => Prog::Arith(
                Box::new(Prog::compile(first, params)?),
                rest.iter()
                    .map(|(op, e)| Some((*op, Prog::compile(e, params)?)))
                    .collect::<Option<_>>()?,
            ),
            PExpr::Neg(e) => Prog::Neg(Box::new(Prog::compile(e, params)?)),
            PExpr::Compare(first, rest) => Prog::Compare(
                Box::new(Prog::compile(first, params)?),
                rest.iter()
                    .map(|(op, e)| Some((*op, Prog::compile(e, params)?)))
                    .collect::<Option<_>>()?,
            ),
            PExpr::And(items) => Prog::And(all(items)?),
            PExpr::Or(items) => Prog::Or(all(items)?),
            PExpr::Not(e) => Prog::Not(Box::new(Prog::compile(e, params)?)),
            PExpr::IsNull(e, negated) => {
                Prog::IsNull(Box::new(Prog::compile(e, params)?), *negated)
            }
            _ => return None,
        })
    }

    #[inline]
    pub(crate) fn eval(&self, frame: &Frame) -> Option<Scalar> {
        Some(match self {
            Prog::Slot(s) => Scalar::of(&frame[*s])?,
            Prog::Const(c) => *c,
            Prog::Arith(first, rest) => {
                let mut acc = first.eval(frame)?;
                for (op, e) in rest {
                    acc = arith(*op, acc, e.eval(frame)?)?;
                }
                acc
            }
            Prog::Neg(e) => match e.eval(frame)? {
                Scalar::Null => Scalar::Null,
                Scalar::Int(i) => Scalar::Int(i.checked_neg()?),
                Scalar::Float(f) => Scalar::Float(-f),
                Scalar::Bool(_) => return None,
            },
            Prog::Compare(first, rest) => {
                // As `PExpr::Compare`, through the same comparison of values.
                let mut left = first.eval(frame)?;
                let mut acc = Some(true);
                for (op, e) in rest {
                    let right = e.eval(frame)?;
                    acc = and3(acc, compare(*op, &left.value(), &right.value()));
                    if acc == Some(false) {
                        return Some(Scalar::Bool(false));
                    }
                    left = right;
                }
                tri(acc)
            }
            Prog::And(items) => {
                let mut acc = Some(true);
                for e in items {
                    acc = and3(acc, e.eval(frame)?.truth()?);
                    if acc == Some(false) {
                        return Some(Scalar::Bool(false));
                    }
                }
                tri(acc)
            }
            Prog::Or(items) => {
                let mut acc = Some(false);
                for e in items {
                    match e.eval(frame)?.truth()? {
                        Some(true) => return Some(Scalar::Bool(true)),
                        None => acc = None,
                        Some(false) => {}
                    }
                }
                tri(acc)
            }
            Prog::Not(e) => tri(e.eval(frame)?.truth()?.map(|b| !b)),
            Prog::IsNull(e, negated) => {
                Scalar::Bool(matches!(e.eval(frame)?, Scalar::Null) != *negated)
            }
        })
    }
}

fn tri(v: Option<bool>) -> Scalar {
    v.map_or(Scalar::Null, Scalar::Bool)
}

/// [`crate::expr::arith`] on scalars, `None` where that fails or leaves the scalars (a boolean
/// operand, overflow, division by zero).
#[inline]
fn arith(op: BinOp, a: Scalar, b: Scalar) -> Option<Scalar> {
    Some(match (a, b) {
        (Scalar::Int(x), Scalar::Int(y)) => match op {
            BinOp::Add => Scalar::Int(x.checked_add(y)?),
            BinOp::Sub => Scalar::Int(x.checked_sub(y)?),
            BinOp::Mul => Scalar::Int(x.checked_mul(y)?),
            BinOp::Div => Scalar::Int(if y == 0 { return None } else { x.checked_div(y)? }),
            BinOp::Mod => Scalar::Int(if y == 0 { return None } else { x.checked_rem(y)? }),
            BinOp::Pow => Scalar::Float((x as f64).powf(y as f64)),
        },
        (Scalar::Null, _) | (_, Scalar::Null) => Scalar::Null,
        (Scalar::Int(_) | Scalar::Float(_), Scalar::Int(_) | Scalar::Float(_)) => {
            let (x, y) = (as_f64(a), as_f64(b));
            Scalar::Float(match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                BinOp::Mod => x % y,
                BinOp::Pow => x.powf(y),
            })
        }
        _ => return None,
    })
}

fn as_f64(s: Scalar) -> f64 {
    match s {
        Scalar::Int(i) => i as f64,
        Scalar::Float(f) => f,
        _ => 0.0,
    }
}
