//! The fused scan-aggregation kernel: a parallel aggregation whose input is a
//! [`MorselScan`](super::MorselScan) under filters and projections runs here as one loop per
//! gid range instead of a cursor pipeline.
//!
//! For each batch of [`BATCH`] gids the scan visits the vertices (one lock each, see
//! `storage::scan`), copying the prefetched properties out of the encoded attributes
//! ([`storage::PropertyRef`]) as 16-byte [`Scalar`]s (strings, lists and other non-scalars go
//! to a side list). Then, with no vertex locked, each row is decided one of two ways:
//!
//! - **Compiled**: when every step is a filter and the filters, grouping keys and aggregate
//!   arguments all compile to [`Prog`]s over the prefetched properties, a row of scalars runs
//!   through those programs; a single integer grouping key finds its group in a dense array
//!   (see `GroupTable::add_computed_one`). A program answers only when its result is certain
//!   to be the expression's (no string, overflow, division by zero or type error on the way);
//!   otherwise, or for a row with a non-scalar property, nothing has been aggregated yet and
//!   the row takes the general path.
//! - **General**: the row's values go into the frame and the planner's own expressions
//!   ([`PExpr::eval`]) run the steps and the aggregation, exactly as the cursors would.
//!
//! So the rows, the values and the errors are the cursor pipeline's, in the same order: only
//! the per-row cursor calls, the per-row guard ticks (the interrupt flag and the deadline are
//! checked per batch; the memory limit still per row) and the intermediate values are gone.

use std::ops::{ControlFlow, Range};

use storage::{Gid, PropertyRef, Transaction};

use super::transform::{AggFunc, AggSpec, GroupTable, DENSE_KEYS};
use super::{ExecCtx, MorselScanSpec};
use crate::error::Result;
use crate::expr::{and3, compare, BinOp, CmpOp, EvalCtx, Frame, PExpr};
use crate::plan::Op;
use crate::value::{whole_float_key, Value};

/// Gids visited per batch: the batch's values stay in the first cache levels between the visit
/// and the evaluation, and the guard is checked once per batch.
const BATCH: u64 = 512;

/// A row-by-row step above the scan.
enum Step<'a> {
    Filter(&'a PExpr),
    Project(&'a [(PExpr, usize)]),
}

/// An aggregation input the kernel runs: a morsel scan, then filters and projections.
pub(crate) struct Pipeline<'a> {
    scan: &'a MorselScanSpec,
    /// Bottom-up (the order rows go through them).
    steps: Vec<Step<'a>>,
    /// The compiled row, when every step is a filter and every filter, grouping key and
    /// aggregate argument compiles (see [`Compiled`]).
    compiled: Option<Compiled>,
}

/// The filters, grouping keys and aggregate arguments as programs over the row's prefetched
/// properties (register `i` is `scan.prefetch[i]`).
struct Compiled {
    filters: Vec<Prog>,
    keys: Vec<Prog>,
    /// `None` for `count(*)`.
    args: Vec<Option<Prog>>,
}

/// The values one batch visit copied out, reused from batch to batch.
#[derive(Default)]
pub(crate) struct Batch {
    gids: Vec<Gid>,
    /// `prefetch.len()` per gid: the property, or `Null` where `others` holds it.
    scalars: Vec<Scalar>,
    /// The properties that are not scalars (strings, lists, ...): row, column, value; by row.
    others: Vec<(usize, usize, Value)>,
    /// The compiled programs' results for one row: its grouping keys, and the arguments of
    /// the aggregates that have one.
    keys: Vec<Value>,
    args: Vec<Value>,
    /// The counting fast path's counters, reused from morsel to morsel.
    counts: Counts,
}

impl Batch {
    #[inline(always)]
    fn push(&mut self, p: Option<PropertyRef<'_>>, row: usize, column: usize) {
        let scalar = match p {
            None => Scalar::Null,
            Some(PropertyRef::Bool(b)) => Scalar::Bool(b),
            Some(PropertyRef::Int(i)) => Scalar::Int(i),
            Some(PropertyRef::Float(f)) => Scalar::Float(f),
            Some(other) => {
                let value = match other {
                    PropertyRef::Str(s) => Value::String(s.to_owned()),
                    PropertyRef::Value(v) => Value::from(v),
                    other => Value::from(other.to_value()),
                };
                match Scalar::of(&value) {
                    Some(scalar) => scalar,
                    None => {
                        self.others.push((row, column, value));
                        Scalar::Null
                    }
                }
            }
        };
        self.scalars.push(scalar);
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
        let scan = loop {
            match input {
                Op::MorselScan { spec } => break spec,
                Op::Filter { input: below, pred } => {
                    steps.push(Step::Filter(pred));
                    input = below;
                }
                Op::Project {
                    input: below,
                    items,
                } => {
                    steps.push(Step::Project(items));
                    input = below;
                }
                _ => return None,
            }
        };
        steps.reverse();
        let regs: Vec<usize> = scan.prefetch.iter().map(|(_, slot)| *slot).collect();
        let compile = |e: &PExpr| Prog::compile(e, &regs, params);
        let compiled = (|| {
            let filters = steps
                .iter()
                .map(|step| match step {
                    Step::Filter(pred) => compile(pred),
                    Step::Project(_) => None,
                })
                .collect::<Option<Vec<_>>>()?;
            let keys = keys
                .iter()
                .map(|(e, _)| compile(e))
                .collect::<Option<_>>()?;
            let args = aggs
                .iter()
                .map(|a| match &a.arg {
                    // What `GroupTable::add_computed` asks for: no argument for `count(*)`.
                    Some(e) if a.func != AggFunc::CountStar => compile(e).map(Some),
                    _ => Some(None),
                })
                .collect::<Option<_>>()?;
            Some(Compiled {
                filters,
                keys,
                args,
            })
        })();
        Some(Pipeline {
            scan,
            steps,
            compiled,
        })
    }

    fn fill(&self, tx: &Transaction, gids: Range<Gid>, batch: &mut Batch) {
        batch.gids.clear();
        batch.scalars.clear();
        batch.others.clear();
        let prefetch = &self.scan.prefetch;
        let _ = tx.scan_vertices::<()>(self.scan.label, gids, |gid, vertex| {
            let row = batch.gids.len();
            batch.gids.push(gid);
            for (column, (key, _)) in prefetch.iter().enumerate() {
                batch.push(vertex.property_ref(*key), row, column);
            }
            ControlFlow::Continue(())
        });
    }

    /// Whether the row in `frame` passes the steps (projections write their slots).
    fn passes(&self, frame: &mut Frame, ectx: &EvalCtx<'_>) -> Result<bool> {
        for step in &self.steps {
            match step {
                Step::Filter(pred) => {
                    if !pred.eval_predicate(frame, ectx)? {
                        return Ok(false);
                    }
                }
                Step::Project(items) => {
                    for (e, slot) in items.iter() {
                        let v = e.eval(frame, ectx)?;
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
        // `count(*)` alone, grouped by one compiled key: small integer keys are counted here.
        let mut counts = (self.compiled.as_ref().is_some_and(|c| c.keys.len() == 1)
            && !aggs.is_empty()
            && aggs.iter().all(|a| a.func == AggFunc::CountStar))
        .then(|| std::mem::take(&mut batch.counts));
        let mut start = gids.start;
        while start < gids.end {
            let end = gids.end.min(start.saturating_add(BATCH));
            ctx.guard.check_with_probe()?;
            self.fill(ctx.tx(), start..end, batch);
            start = end;
            let ectx = ctx.eval();
            let mut others = 0;
            for row in 0..batch.gids.len() {
                let regs = &batch.scalars[row * width..(row + 1) * width];
                let scalar_row = batch.others.get(others).is_none_or(|o| o.0 != row);
                if let Some(compiled) = self.compiled.as_ref().filter(|_| scalar_row) {
                    let row = compiled.run(regs, &mut batch.keys, &mut batch.args);
                    if let Some(row) = row {
                        if matches!(row, Row::Filtered) {
                            continue;
                        }
                        if let (Some(counts), Row::One(Scalar::Int(k))) = (&mut counts, &row) {
                            if counts.add(*k) {
                                continue;
                            }
                        }
                        if let Some(counts) = &mut counts {
                            // Keep the groups' first-appearance order: what was counted so
                            // far goes into the table before this row does.
                            counts.flush(&mut table, aggs, limit)?;
                        }
                        // As the cursor path: every buffered row checks the memory limit.
                        crate::memory::check(limit)?;
                        // `args` holds the arguments of the aggregates that have one, in
                        // order, and those are asked for in order.
                        let mut args = batch.args.drain(..);
                        let mut arg = |_| args.next().unwrap_or(Value::Null);
                        match row {
                            Row::One(key) => {
                                let int = match key {
                                    Scalar::Int(i) => Some(i),
                                    Scalar::Float(f) => whole_float_key(f),
                                    _ => None,
                                };
                                table.add_computed_one(aggs, int, || key.value(), &mut arg)?
                            }
                            _ => table.add_computed(aggs, &batch.keys, &mut arg)?,
                        }
                        continue;
                    }
                    // Not a plain scalar computation: the row takes the general path.
                }
                // The general path: the row's values in the frame, the planner's expressions.
                if let Some(counts) = &mut counts {
                    counts.flush(&mut table, aggs, limit)?;
                }
                for (column, (_, slot)) in self.scan.prefetch.iter().enumerate() {
                    frame[*slot] = regs[column].value();
                }
                while let Some((_, column, value)) =
                    batch.others.get_mut(others).filter(|o| o.0 == row)
                {
                    frame[self.scan.prefetch[*column].1] = std::mem::replace(value, Value::Null);
                    others += 1;
                }
                frame[self.scan.slot] = Value::Node(batch.gids[row]);
                if self.passes(frame, &ectx)? {
                    crate::memory::check(limit)?;
                    table.add_row(keys, aggs, frame, &ectx)?;
                }
            }
        }
        if let Some(mut counts) = counts {
            counts.flush(&mut table, aggs, limit)?;
            batch.counts = counts;
        }
        Ok(table)
    }
}

/// The counting fast path of an aggregation whose every aggregate is `count(*)` and whose one
/// grouping key compiles: a row with a small integer key adds one to its key's counter, with no
/// group lookup, no argument and no memory-limit check per row. The counts go into the table,
/// groups in first-appearance order, before any row the fast path does not take and at the end
/// (so the table is exactly what adding the rows one by one makes).
#[derive(Default)]
pub(crate) struct Counts {
    /// Per key `k`, at `k + DENSE_KEYS / 2`: rows counted since the last flush (allocated on
    /// first use).
    counts: Vec<i64>,
    /// The counted keys' positions in `counts`, in first-appearance order.
    order: Vec<usize>,
}

impl Counts {
    /// Counts a row with key `k`; `false` if `k` is not small enough to be counted here.
    #[inline]
    fn add(&mut self, k: i64) -> bool {
        let half = DENSE_KEYS as i64 / 2;
        if !(-half..half).contains(&k) {
            return false;
        }
        if self.counts.is_empty() {
            self.counts = vec![0; DENSE_KEYS];
        }
        let at = (k + half) as usize;
        let count = &mut self.counts[at];
        if *count == 0 {
            self.order.push(at);
        }
        *count += 1;
        true
    }

    fn flush(&mut self, table: &mut GroupTable, aggs: &[AggSpec], limit: u64) -> Result<()> {
        if self.order.is_empty() {
            return Ok(());
        }
        // Groups are what grows: the limit is checked as the rows that made them would have.
        crate::memory::check(limit)?;
        let half = DENSE_KEYS as i64 / 2;
        for at in self.order.drain(..) {
            table.add_counted(aggs, at as i64 - half, std::mem::take(&mut self.counts[at]));
        }
        Ok(())
    }
}

/// What the compiled programs made of a row.
enum Row {
    /// A filter dropped it.
    Filtered,
    /// Its one grouping key.
    One(Scalar),
    /// Its grouping keys are in `Batch::keys` (none, or several).
    Keys,
}

impl Compiled {
    /// Runs the row through the filters (`Some(false)`: filtered out) and computes its keys and
    /// arguments into `out`; `None` if some program could not (the row is then left to the
    /// general path, and nothing has been aggregated yet).
    #[inline]
    fn run(&self, regs: &[Scalar], keys: &mut Vec<Value>, args: &mut Vec<Value>) -> Option<Row> {
        for filter in &self.filters {
            if filter.run(regs)?.truth()? != Some(true) {
                return Some(Row::Filtered);
            }
        }
        args.clear();
        let row = match &self.keys[..] {
            [one] => Row::One(one.run(regs)?),
            many => {
                keys.clear();
                for key in many {
                    let v = key.run(regs)?;
                    keys.push(v.value());
                }
                Row::Keys
            }
        };
        for arg in self.args.iter().flatten() {
            let v = arg.run(regs)?;
            args.push(v.value());
        }
        Some(row)
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

/// An expression compiled for the kernel's fast path, over the row's prefetched properties.
/// [`Prog::eval`] returns the value the expression's [`PExpr::eval`] would return, or `None` ("not here") whenever that is not a
/// plain scalar computed without an error: an operand that is a string, list or other
/// non-scalar, an integer overflow, a division by zero, a type error. The caller then
/// evaluates the `PExpr` itself, which gives the exact value or error: expressions have no side
/// effects, so evaluating one again after a partial attempt changes nothing.
#[derive(Debug)]
pub(crate) enum Prog {
    /// A prefetched property (its register).
    Reg(usize),
    Const(Scalar),
    Arith(Box<Prog>, Vec<(BinOp, Prog)>),
    /// `e / d` for an integer constant `2 <= d < 2^32`, with `ceil(2^64 / d)`: an integer
    /// `|e| < 2^32` is divided by a multiplication (Lemire, Kaser and Kurz, "Faster remainder
    /// by direct computation", 2019) instead of a division instruction.
    DivConst(Box<Prog>, i64, u64),
    Neg(Box<Prog>),
    Compare(Box<Prog>, Vec<(CmpOp, Prog)>),
    And(Vec<Prog>),
    Or(Vec<Prog>),
    Not(Box<Prog>),
    IsNull(Box<Prog>, bool),
}

impl Prog {
    /// The compiled form of `e`, if every part of it has one: slots must be among `regs` (the
    /// program reads register `i` for slot `regs[i]`), parameters become constants.
    pub(crate) fn compile(e: &PExpr, regs: &[usize], params: &[Value]) -> Option<Prog> {
        let one = |e: &PExpr| Prog::compile(e, regs, params);
        let all = |items: &[PExpr]| items.iter().map(one).collect::<Option<Vec<_>>>();
        Some(match e {
            PExpr::Slot(s) => Prog::Reg(regs.iter().position(|r| r == s)?),
            PExpr::Const(v) => Prog::Const(Scalar::of(v)?),
            PExpr::Param(i) => Prog::Const(Scalar::of(params.get(*i)?)?),
            PExpr::Arith(first, rest) => match &rest[..] {
                [(BinOp::Div, PExpr::Const(Value::Int(d)))] if (2..1 << 32).contains(d) => {
                    Prog::DivConst(Box::new(one(first)?), *d, u64::MAX / *d as u64 + 1)
                }
                _ => Prog::Arith(
                    Box::new(one(first)?),
                    rest.iter()
                        .map(|(op, e)| Some((*op, one(e)?)))
                        .collect::<Option<_>>()?,
                ),
            },
            PExpr::Neg(e) => Prog::Neg(Box::new(one(e)?)),
            PExpr::Compare(first, rest) => Prog::Compare(
                Box::new(one(first)?),
                rest.iter()
                    .map(|(op, e)| Some((*op, one(e)?)))
                    .collect::<Option<_>>()?,
            ),
            PExpr::And(items) => Prog::And(all(items)?),
            PExpr::Or(items) => Prog::Or(all(items)?),
            PExpr::Not(e) => Prog::Not(Box::new(one(e)?)),
            PExpr::IsNull(e, negated) => Prog::IsNull(Box::new(one(e)?), *negated),
            _ => return None,
        })
    }

    /// [`Prog::eval`] with registers and constants read in place (no call for the leaves).
    #[inline(always)]
    fn operand(&self, regs: &[Scalar]) -> Option<Scalar> {
        match self {
            Prog::Reg(r) => Some(regs[*r]),
            Prog::Const(c) => Some(*c),
            other => other.eval(regs),
        }
    }

    /// [`Prog::eval`], inlined for the common shapes (a leaf, one operator between leaves), so
    /// that their results stay in registers instead of passing through memory.
    #[inline(always)]
    fn run(&self, regs: &[Scalar]) -> Option<Scalar> {
        match self {
            Prog::Arith(first, rest) if rest.len() == 1 => {
                let (op, second) = &rest[0];
                arith(*op, first.operand(regs)?, second.operand(regs)?)
            }
            Prog::DivConst(e, d, magic) => div_const(e.operand(regs)?, *d, *magic),
            other => other.operand(regs),
        }
    }

    #[inline]
    pub(crate) fn eval(&self, regs: &[Scalar]) -> Option<Scalar> {
        Some(match self {
            Prog::Reg(r) => regs[*r],
            Prog::Const(c) => *c,
            Prog::Arith(first, rest) => {
                let mut acc = first.operand(regs)?;
                for (op, e) in rest {
                    acc = arith(*op, acc, e.operand(regs)?)?;
                }
                acc
            }
            Prog::DivConst(e, d, magic) => div_const(e.operand(regs)?, *d, *magic)?,
            Prog::Neg(e) => match e.operand(regs)? {
                Scalar::Null => Scalar::Null,
                Scalar::Int(i) => Scalar::Int(i.checked_neg()?),
                Scalar::Float(f) => Scalar::Float(-f),
                Scalar::Bool(_) => return None,
            },
            Prog::Compare(first, rest) => {
                // As `PExpr::Compare`, through the same comparison of values.
                let mut left = first.operand(regs)?;
                let mut acc = Some(true);
                for (op, e) in rest {
                    let right = e.operand(regs)?;
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
                    acc = and3(acc, e.operand(regs)?.truth()?);
                    if acc == Some(false) {
                        return Some(Scalar::Bool(false));
                    }
                }
                tri(acc)
            }
            Prog::Or(items) => {
                let mut acc = Some(false);
                for e in items {
                    match e.operand(regs)?.truth()? {
                        Some(true) => return Some(Scalar::Bool(true)),
                        None => acc = None,
                        Some(false) => {}
                    }
                }
                tri(acc)
            }
            Prog::Not(e) => tri(e.operand(regs)?.truth()?.map(|b| !b)),
            Prog::IsNull(e, negated) => {
                Scalar::Bool(matches!(e.operand(regs)?, Scalar::Null) != *negated)
            }
        })
    }
}

/// `a / d` as [`arith`] computes it, for `Prog::DivConst`.
#[inline(always)]
fn div_const(a: Scalar, d: i64, magic: u64) -> Option<Scalar> {
    match a {
        Scalar::Int(x) if x.unsigned_abs() < 1 << 32 => {
            // Exact for every 32-bit dividend: floor(|x| / d), then the sign (Cypher's integer
            // division truncates toward zero, as Rust's).
            let q = ((u128::from(magic) * u128::from(x.unsigned_abs())) >> 64) as i64;
            Some(Scalar::Int(if x < 0 { -q } else { q }))
        }
        other => arith(BinOp::Div, other, Scalar::Int(d)),
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
            BinOp::Div => Scalar::Int(if y == 0 {
                return None;
            } else {
                x.checked_div(y)?
            }),
            BinOp::Mod => Scalar::Int(if y == 0 {
                return None;
            } else {
                x.checked_rem(y)?
            }),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `slot 0 / d`, compiled.
    fn divide_by(d: i64) -> Prog {
        let e = PExpr::Arith(
            Box::new(PExpr::Slot(0)),
            vec![(BinOp::Div, PExpr::Const(Value::Int(d)))],
        );
        Prog::compile(&e, &[0], &[]).expect("compiles")
    }

    #[test]
    fn division_by_a_constant_is_the_division() {
        let mut dividends: Vec<i64> = vec![0, 1, -1, i64::MIN, i64::MAX, i64::MIN + 1];
        for b in 0..63 {
            for delta in [-1i64, 0, 1] {
                dividends.push((1i64 << b) + delta);
                dividends.push(-(1i64 << b) - delta);
            }
        }
        dividends.extend((0..2000).map(|i| i * 7919 - 1_000_000));
        let mut divisors: Vec<i64> = vec![2, 3, 5, 7, 10, 11, 100, 641, 65537, 1 << 31];
        divisors.extend([(1i64 << 32) - 1, (1 << 32) - 2, 4_294_967_291, 99_999_989]);
        for &d in &divisors {
            let prog = divide_by(d);
            assert!(matches!(prog, Prog::DivConst(..)), "{prog:?}");
            for &x in &dividends {
                let regs = [Scalar::Int(x)];
                assert_eq!(prog.run(&regs), Some(Scalar::Int(x / d)), "{x} / {d}");
                assert_eq!(prog.eval(&regs), Some(Scalar::Int(x / d)), "{x} / {d}");
            }
            let half = [Scalar::Float(7.5)];
            assert_eq!(prog.run(&half), Some(Scalar::Float(7.5 / d as f64)));
            assert_eq!(prog.run(&[Scalar::Null]), Some(Scalar::Null));
            assert_eq!(prog.run(&[Scalar::Bool(true)]), None);
        }
        // 1, 0, negative and large divisors stay ordinary divisions.
        for d in [1, 0, -3, 1 << 32] {
            let prog = divide_by(d);
            assert!(matches!(prog, Prog::Arith(..)), "{d}: {prog:?}");
        }
    }
}
