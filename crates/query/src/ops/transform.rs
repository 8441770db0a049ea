//! Operators that shape rows: filter, projection, unwind, aggregation, sort, skip/limit,
//! distinct, eager accumulation, optional, path construction, union.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::{BoxCursor, Cursor, ExecCtx};
use crate::error::{QueryError, Result};
use crate::expr::{EvalCtx, Frame, PExpr};
use crate::value::{int_group_key, GroupKey, PathValue, Value};

/// Yields one row (the frame as it is) per reset: the leaf of every pipeline.
#[derive(Default)]
pub struct Once {
    done: bool,
}

impl Cursor for Once {
    fn pull(&mut self, _frame: &mut Frame, _ctx: &mut ExecCtx<'_>) -> Result<bool> {
        Ok(!std::mem::replace(&mut self.done, true))
    }
    fn reset(&mut self) {
        self.done = false;
    }
}

pub struct Filter {
    input: BoxCursor,
    pred: Arc<PExpr>,
}

impl Filter {
    pub fn new(input: BoxCursor, pred: Arc<PExpr>) -> Filter {
        Filter { input, pred }
    }
}

impl Cursor for Filter {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        while self.input.pull(frame, ctx)? {
            if self.pred.eval_predicate(frame, &ctx.eval())? {
                return Ok(true);
            }
            ctx.tick()?;
        }
        Ok(false)
    }
    fn reset(&mut self) {
        self.input.reset();
    }
}

/// Evaluates expressions into slots (RETURN / WITH items).
pub struct Project {
    input: BoxCursor,
    items: Arc<Vec<(PExpr, usize)>>,
}

impl Project {
    pub fn new(input: BoxCursor, items: Arc<Vec<(PExpr, usize)>>) -> Project {
        Project { input, items }
    }
}

impl Cursor for Project {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        if !self.input.pull(frame, ctx)? {
            return Ok(false);
        }
        let ectx = ctx.eval();
        for (e, slot) in self.items.iter() {
            let v = e.eval(frame, &ectx)?;
            frame[*slot] = v;
        }
        Ok(true)
    }
    fn reset(&mut self) {
        self.input.reset();
    }
}

pub struct Unwind {
    input: BoxCursor,
    expr: Arc<PExpr>,
    slot: usize,
    pending: Pending,
}

/// What is left to unwind for the current input row.
enum Pending {
    List(std::vec::IntoIter<Value>),
    /// `UNWIND $param` of a list: walks the parameter in place, copying one element per row
    /// (copying the whole list first cost an extra allocation per element of a large batch).
    Param {
        index: usize,
        next: usize,
    },
    /// `UNWIND range(a, b, step)`: counted lazily, never materialised, so an enormous range is
    /// bounded by the query's time limit and interrupts rather than by memory.
    Range {
        next: i128,
        end: i128,
        step: i128,
    },
}

impl Pending {
    fn empty() -> Pending {
        Pending::List(Vec::new().into_iter())
    }

    fn next(&mut self, params: &[Value]) -> Option<Value> {
        match self {
            Pending::List(it) => it.next(),
            Pending::Param { index, next } => match params.get(*index) {
                Some(Value::List(items)) => {
                    let v = items.get(*next)?.clone();
                    *next += 1;
                    Some(v)
                }
                _ => None,
            },
            Pending::Range { next, end, step } => {
                let more = if *step > 0 {
                    *next <= *end
                } else {
                    *next >= *end
                };
                if !more {
                    return None;
                }
                let v = *next as i64;
                *next += *step;
                Some(Value::Int(v))
            }
        }
    }
}

impl Unwind {
    pub fn new(input: BoxCursor, expr: Arc<PExpr>, slot: usize) -> Unwind {
        Unwind {
            input,
            expr,
            slot,
            pending: Pending::empty(),
        }
    }

    fn load(&self, frame: &mut Frame, ctx: &ExecCtx<'_>) -> Result<Pending> {
        if let PExpr::Call(crate::functions::Function::Range, args) = &*self.expr {
            let ectx = ctx.eval();
            let vals = args
                .iter()
                .map(|a| a.eval(frame, &ectx))
                .collect::<Result<Vec<_>>>()?;
            let (start, end, step) = crate::functions::range_bounds(&vals)?;
            return Ok(Pending::Range {
                next: start as i128,
                end: end as i128,
                step: step as i128,
            });
        }
        if let PExpr::Param(index) = &*self.expr {
            if let Some(Value::List(_)) = ctx.params.get(*index) {
                return Ok(Pending::Param {
                    index: *index,
                    next: 0,
                });
            }
        }
        Ok(match self.expr.eval(frame, &ctx.eval())? {
            Value::List(items) => Pending::List(items.into_iter()),
            Value::Null => Pending::empty(),
            other => Pending::List(vec![other].into_iter()),
        })
    }
}

impl Cursor for Unwind {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        loop {
            if let Some(v) = self.pending.next(ctx.params) {
                ctx.tick()?;
                frame[self.slot] = v;
                return Ok(true);
            }
            if !self.input.pull(frame, ctx)? {
                return Ok(false);
            }
            self.pending = self.load(frame, ctx)?;
        }
    }
    fn reset(&mut self) {
        self.pending = Pending::empty();
        self.input.reset();
    }
}

/// Evaluates `count` once (a constant or parameter) at the first pull.
fn eval_count(e: &PExpr, frame: &mut Frame, ctx: &ExecCtx<'_>, what: &str) -> Result<u64> {
    match e.eval(frame, &ctx.eval())? {
        Value::Int(n) if n >= 0 => Ok(n as u64),
        // Neo4j reports a bad SKIP / LIMIT value (even from a parameter) as a SyntaxError.
        other => Err(QueryError::Syntax(format!(
            "Invalid input. {what} must be a non-negative integer, got {other}"
        ))),
    }
}

pub struct Skip {
    input: BoxCursor,
    count: Arc<PExpr>,
    skipped: bool,
}

impl Skip {
    pub fn new(input: BoxCursor, count: Arc<PExpr>) -> Skip {
        Skip {
            input,
            count,
            skipped: false,
        }
    }
}

impl Cursor for Skip {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        if !self.skipped {
            self.skipped = true;
            let n = eval_count(&self.count, frame, ctx, "SKIP")?;
            for _ in 0..n {
                if !self.input.pull(frame, ctx)? {
                    return Ok(false);
                }
            }
        }
        self.input.pull(frame, ctx)
    }
    fn reset(&mut self) {
        self.skipped = false;
        self.input.reset();
    }
}

pub struct Limit {
    input: BoxCursor,
    count: Arc<PExpr>,
    left: Option<u64>,
    /// Pull the input once even for LIMIT 0: it holds writes that must all happen.
    drain: bool,
}

impl Limit {
    pub fn new(input: BoxCursor, count: Arc<PExpr>) -> Limit {
        Limit {
            input,
            count,
            left: None,
            drain: false,
        }
    }

    pub fn draining(mut self) -> Limit {
        self.drain = true;
        self
    }
}

impl Cursor for Limit {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        let left = match self.left {
            Some(n) => n,
            None => eval_count(&self.count, frame, ctx, "LIMIT")?,
        };
        // Never pull the input once the limit is reached (it may be expensive or have effects).
        if left == 0 {
            if self.drain && self.left.is_none() {
                self.input.pull(frame, ctx)?;
            }
            self.left = Some(0);
            return Ok(false);
        }
        self.left = Some(left - 1);
        self.input.pull(frame, ctx)
    }
    fn reset(&mut self) {
        self.left = None;
        self.input.reset();
    }
}

/// Keeps the first row for every distinct combination of `slots`.
pub struct Distinct {
    input: BoxCursor,
    slots: Arc<Vec<usize>>,
    seen: HashSet<Vec<GroupKey>>,
}

impl Distinct {
    pub fn new(input: BoxCursor, slots: Arc<Vec<usize>>) -> Distinct {
        Distinct {
            input,
            slots,
            seen: HashSet::new(),
        }
    }
}

impl Cursor for Distinct {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        while self.input.pull(frame, ctx)? {
            let key: Vec<GroupKey> = self
                .slots
                .iter()
                .map(|s| GroupKey::from(&frame[*s]))
                .collect();
            if self.seen.insert(key) {
                return Ok(true);
            }
            ctx.tick_buffering()?;
        }
        Ok(false)
    }
    fn reset(&mut self) {
        self.seen.clear();
        self.input.reset();
    }
}

/// Pulls its whole input before yielding anything, so that the writes after it cannot be seen
/// by the reads before it (Cypher's clause-at-a-time semantics).
pub struct Eager {
    input: BoxCursor,
    rows: Option<std::vec::IntoIter<Frame>>,
}

impl Eager {
    pub fn new(input: BoxCursor) -> Eager {
        Eager { input, rows: None }
    }
}

impl Cursor for Eager {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        if self.rows.is_none() {
            let mut rows = Vec::new();
            while self.input.pull(frame, ctx)? {
                ctx.tick_buffering()?;
                rows.push(frame.clone());
            }
            self.rows = Some(rows.into_iter());
        }
        Ok(super::replay(&mut self.rows, frame))
    }
    fn reset(&mut self) {
        self.rows = None;
        self.input.reset();
    }
}

/// ORDER BY: sorts the whole input by the keys (stable), then yields.
pub struct OrderBy {
    input: BoxCursor,
    keys: Arc<Vec<(PExpr, bool)>>,
    /// `SKIP s LIMIT l` after the sort: only the first `s + l` rows can ever be returned, so
    /// only those are kept (top-k) instead of sorting everything.
    keep: Option<Arc<(Option<PExpr>, PExpr)>>,
    rows: Option<std::vec::IntoIter<Frame>>,
}

impl OrderBy {
    /// `keys`: (expression, ascending).
    pub fn new(input: BoxCursor, keys: Arc<Vec<(PExpr, bool)>>) -> OrderBy {
        OrderBy {
            input,
            keys,
            keep: None,
            rows: None,
        }
    }

    /// Keeps only the rows a following `SKIP skip LIMIT limit` can return.
    pub fn top_k(mut self, keep: Arc<(Option<PExpr>, PExpr)>) -> OrderBy {
        self.keep = Some(keep);
        self
    }

    /// How many sorted rows can be returned: `skip + limit`, or `None` (all) when either is not
    /// a valid count (the Skip / Limit operators above report that error).
    fn kept(&self, frame: &mut Frame, ctx: &ExecCtx<'_>) -> Option<usize> {
        let keep = self.keep.as_deref()?;
        let count = |e: &PExpr, frame: &mut Frame| match e.eval(frame, &ctx.eval()) {
            Ok(Value::Int(n)) if n >= 0 => usize::try_from(n).ok(),
            _ => None,
        };
        let skip = match &keep.0 {
            Some(e) => count(e, frame)?,
            None => 0,
        };
        skip.checked_add(count(&keep.1, frame)?)
    }
}

/// Rows with their sort keys and arrival order (the tie-breaker that keeps the sort stable).
type Keyed = (Vec<Value>, usize, Frame);

fn cmp_keyed(keys: &[(PExpr, bool)], a: &Keyed, b: &Keyed) -> std::cmp::Ordering {
    for (i, (x, y)) in a.0.iter().zip(&b.0).enumerate() {
        let o = x.order_cmp(y);
        let o = if keys[i].1 { o } else { o.reverse() };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    a.1.cmp(&b.1)
}

impl Cursor for OrderBy {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        if self.rows.is_none() {
            let kept = self.kept(frame, ctx);
            let keys = self.keys.clone();
            let mut keyed: Vec<Keyed> = Vec::new();
            let mut seq = 0;
            while self.input.pull(frame, ctx)? {
                ctx.tick_buffering()?;
                let ectx = ctx.eval();
                let key = keys
                    .iter()
                    .map(|(e, _)| e.eval(frame, &ectx))
                    .collect::<Result<Vec<_>>>()?;
                keyed.push((key, seq, frame.clone()));
                seq += 1;
                // Top-k: once twice the needed rows are buffered, keep the best half.
                if let Some(k) = kept {
                    if keyed.len() >= k.saturating_mul(2).max(1024) {
                        if k == 0 {
                            keyed.clear();
                        } else {
                            keyed.select_nth_unstable_by(k - 1, |a, b| cmp_keyed(&keys, a, b));
                            keyed.truncate(k);
                        }
                    }
                }
            }
            keyed.sort_by(|a, b| cmp_keyed(&keys, a, b));
            if let Some(k) = kept {
                keyed.truncate(k);
            }
            self.rows = Some(
                keyed
                    .into_iter()
                    .map(|(_, _, f)| f)
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
        }
        Ok(super::replay(&mut self.rows, frame))
    }
    fn reset(&mut self) {
        self.rows = None;
        self.input.reset();
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFunc {
    Count,
    CountStar,
    Sum,
    Avg,
    Min,
    Max,
    Collect,
    StDev,
    StDevP,
    PercentileCont,
    PercentileDisc,
}

impl AggFunc {
    pub fn resolve(name: &str) -> Option<AggFunc> {
        Some(match name.to_ascii_lowercase().as_str() {
            "count" => AggFunc::Count,
            "sum" => AggFunc::Sum,
            "avg" => AggFunc::Avg,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            "collect" => AggFunc::Collect,
            "stdev" => AggFunc::StDev,
            "stdevp" => AggFunc::StDevP,
            "percentilecont" => AggFunc::PercentileCont,
            "percentiledisc" => AggFunc::PercentileDisc,
            _ => return None,
        })
    }
}

#[derive(Debug)]
pub struct AggSpec {
    pub func: AggFunc,
    pub arg: Option<PExpr>,
    /// The percentile of percentileCont/Disc.
    pub extra: Option<PExpr>,
    pub distinct: bool,
    pub slot: usize,
}

#[derive(Clone, Debug)]
enum AggState {
    Count(i64),
    Sum(Value),
    Avg(f64, i64),
    MinMax(Option<Value>),
    Values(Vec<Value>),
}

impl AggState {
    fn new(f: AggFunc) -> AggState {
        match f {
            AggFunc::Count | AggFunc::CountStar => AggState::Count(0),
            AggFunc::Sum => AggState::Sum(Value::Int(0)),
            AggFunc::Avg => AggState::Avg(0.0, 0),
            AggFunc::Min | AggFunc::Max => AggState::MinMax(None),
            _ => AggState::Values(Vec::new()),
        }
    }

    #[inline]
    fn update(&mut self, f: AggFunc, v: Value) -> Result<()> {
        if let AggState::Count(n) = self {
            *n += 1;
            return Ok(());
        }
        self.update_slow(f, v)
    }

    fn update_slow(&mut self, f: AggFunc, v: Value) -> Result<()> {
        match self {
            AggState::Count(n) => *n += 1,
            AggState::Sum(acc) => match (&*acc, &v) {
                (_, Value::Int(_) | Value::Float(_)) => {
                    *acc = crate::expr::arith(crate::expr::BinOp::Add, acc.clone(), v)?
                }
                _ => {
                    return Err(QueryError::type_error(format!(
                        "sum() of {}",
                        v.type_name()
                    )))
                }
            },
            AggState::Avg(sum, n) => {
                *sum += v
                    .as_f64()
                    .ok_or_else(|| QueryError::type_error(format!("avg() of {}", v.type_name())))?;
                *n += 1;
            }
            AggState::MinMax(cur) => {
                let replace = match cur {
                    None => true,
                    Some(c) => {
                        let o = v.order_cmp(c);
                        if f == AggFunc::Min {
                            o.is_lt()
                        } else {
                            o.is_gt()
                        }
                    }
                };
                if replace {
                    *cur = Some(v);
                }
            }
            AggState::Values(vals) => vals.push(v),
        }
        Ok(())
    }

    /// Adds the state of a later part of the input (the same function's).
    fn merge(&mut self, f: AggFunc, later: AggState) -> Result<()> {
        match (self, later) {
            (AggState::Count(n), AggState::Count(m)) => *n += m,
            (AggState::Sum(acc), AggState::Sum(v)) => {
                *acc = crate::expr::arith(crate::expr::BinOp::Add, acc.clone(), v)?
            }
            (AggState::Avg(sum, n), AggState::Avg(s, m)) => {
                *sum += s;
                *n += m;
            }
            // The earlier part's value wins ties, as it would have come first.
            (AggState::MinMax(_), AggState::MinMax(None)) => {}
            (state @ AggState::MinMax(_), AggState::MinMax(Some(v))) => state.update(f, v)?,
            (AggState::Values(vals), AggState::Values(more)) => vals.extend(more),
            // Both states come from `AggState::new(f)` for the same `f`.
            (state, later) => unreachable!("aggregate states {state:?} and {later:?} differ"),
        }
        Ok(())
    }

    fn finish(self, f: AggFunc, extra: Option<f64>) -> Result<Value> {
        Ok(match self {
            AggState::Count(n) => Value::Int(n),
            AggState::Sum(v) => v,
            AggState::Avg(_, 0) => Value::Null,
            AggState::Avg(sum, n) => Value::Float(sum / n as f64),
            AggState::MinMax(v) => v.unwrap_or(Value::Null),
            AggState::Values(vals) => match f {
                AggFunc::Collect => Value::List(vals),
                AggFunc::StDev | AggFunc::StDevP => {
                    let xs: Vec<f64> = vals.iter().filter_map(Value::as_f64).collect();
                    let n = xs.len();
                    let denom = if f == AggFunc::StDev {
                        n.saturating_sub(1)
                    } else {
                        n
                    };
                    if denom == 0 {
                        Value::Float(0.0)
                    } else {
                        let mean = xs.iter().sum::<f64>() / n as f64;
                        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / denom as f64;
                        Value::Float(var.sqrt())
                    }
                }
                _ => percentile(f, vals, extra.unwrap_or(0.5))?,
            },
        })
    }
}

fn percentile(f: AggFunc, vals: Vec<Value>, p: f64) -> Result<Value> {
    if !(0.0..=1.0).contains(&p) {
        return Err(QueryError::Argument(format!(
            "Percentile must be between 0.0 and 1.0, got {p}"
        )));
    }
    let mut xs: Vec<Value> = vals.into_iter().filter(|v| v.as_f64().is_some()).collect();
    if xs.is_empty() {
        return Ok(Value::Null);
    }
    xs.sort_by(|a, b| a.order_cmp(b));
    if f == AggFunc::PercentileDisc {
        let idx = ((p * xs.len() as f64).ceil() as usize).saturating_sub(1);
        return Ok(xs.swap_remove(idx.min(xs.len() - 1)));
    }
    let pos = p * (xs.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let (a, b) = (
        xs[lo].as_f64().unwrap_or(0.0),
        xs[hi].as_f64().unwrap_or(0.0),
    );
    Ok(Value::Float(a + (b - a) * (pos - lo as f64)))
}

struct Group {
    keys: Vec<Value>,
    states: Vec<AggState>,
    seen: Vec<HashSet<GroupKey>>,
    /// In a partial table: each DISTINCT aggregate's values, first occurrences in row order,
    /// not yet aggregated (only the merge, which sees every part, can tell which are new).
    distinct: Vec<Vec<Value>>,
}

/// The hashable key of one row's grouping values: the value's own key when there is one (the
/// common case: no `Vec` per row), else a list key (equal iff every component is).
fn group_key(vals: &[Value]) -> GroupKey {
    match vals {
        [one] => GroupKey::from(one),
        many => GroupKey::List(many.iter().map(GroupKey::from).collect()),
    }
}

/// Small integer grouping keys with a dense index in a [`GroupTable`].
pub(crate) const DENSE_KEYS: usize = 4096;

/// The groups of an aggregation, in order of first appearance, and their aggregate states.
///
/// A *partial* table aggregates one part of the input (a range of a parallel scan); merging the
/// parts' tables in input order into a complete one gives the groups, their order and (for
/// integers, counts, min/max and lists) the values one table fed every row in that order gives.
pub(crate) struct GroupTable {
    /// Group keys are hashed once per row: a fast hasher (the keys come from the query's own
    /// data, and a table lives for one query only).
    index: HashMap<GroupKey, usize, foldhash::fast::RandomState>,
    /// A single grouping key whose group key is a small integer (`GroupKey::Int(k)` with
    /// `|k| < DENSE_KEYS / 2`) finds its group here, at `k + DENSE_KEYS / 2`, instead of in
    /// `index` (`u32::MAX`: no group yet). Allocated on the first such key.
    dense: Option<Box<[u32]>>,
    groups: Vec<Group>,
    /// The key values of the current row, reused from row to row.
    key_vals: Vec<Value>,
    partial: bool,
}

impl GroupTable {
    pub(crate) fn new(partial: bool) -> GroupTable {
        GroupTable {
            index: HashMap::default(),
            dense: None,
            groups: Vec::new(),
            key_vals: Vec::new(),
            partial,
        }
    }

    fn new_group(aggs: &[AggSpec], keys: Vec<Value>) -> Group {
        Group {
            keys,
            states: aggs.iter().map(|a| AggState::new(a.func)).collect(),
            seen: aggs.iter().map(|_| HashSet::new()).collect(),
            distinct: aggs.iter().map(|_| Vec::new()).collect(),
        }
    }

    /// The index of the group of `key_vals`, created if new.
    #[inline]
    fn group_of(&mut self, aggs: &[AggSpec], key_vals: &[Value]) -> usize {
        if key_vals.is_empty() {
            // No grouping keys: one group, nothing to hash.
            if self.groups.is_empty() {
                self.groups.push(Self::new_group(aggs, Vec::new()));
            }
            return 0;
        }
        if let [one] = key_vals {
            let half = DENSE_KEYS as i64 / 2;
            if let Some(k) = int_group_key(one).filter(|k| (-half..half).contains(k)) {
                let dense = self
                    .dense
                    .get_or_insert_with(|| vec![u32::MAX; DENSE_KEYS].into_boxed_slice());
                let at = &mut dense[(k + half) as usize];
                if *at == u32::MAX {
                    self.groups.push(Self::new_group(aggs, key_vals.to_vec()));
                    *at = u32::try_from(self.groups.len() - 1).expect("fewer groups than keys");
                }
                return *at as usize;
            }
        }
        match self.index.entry(group_key(key_vals)) {
            Entry::Occupied(o) => *o.get(),
            Entry::Vacant(v) => {
                self.groups.push(Self::new_group(aggs, key_vals.to_vec()));
                *v.insert(self.groups.len() - 1)
            }
        }
    }

    /// Evaluates the keys and aggregate arguments on the row in `frame` and aggregates it.
    pub(crate) fn add_row(
        &mut self,
        keys: &[(PExpr, usize)],
        aggs: &[AggSpec],
        frame: &mut Frame,
        ectx: &EvalCtx<'_>,
    ) -> Result<()> {
        self.add_row_with(keys, aggs, frame, &mut |e, _, frame| e.eval(frame, ectx))
    }

    /// [`GroupTable::add_row`] with the expressions evaluated by `eval(expr, n, frame)`, which
    /// must return what `expr.eval` would: `n` numbers the grouping keys from 0, then the
    /// aggregate arguments (of `aggs[i]`: `keys.len() + i`).
    #[inline]
    pub(crate) fn add_row_with(
        &mut self,
        keys: &[(PExpr, usize)],
        aggs: &[AggSpec],
        frame: &mut Frame,
        eval: &mut impl FnMut(&PExpr, usize, &mut Frame) -> Result<Value>,
    ) -> Result<()> {
        let mut key_vals = std::mem::take(&mut self.key_vals);
        key_vals.clear();
        for (n, (e, _)) in keys.iter().enumerate() {
            match eval(e, n, frame) {
                Ok(v) => key_vals.push(v),
                Err(err) => {
                    self.key_vals = key_vals;
                    return Err(err);
                }
            }
        }
        let gi = self.group_of(aggs, &key_vals);
        self.key_vals = key_vals;
        self.update_group(gi, aggs, &mut |i, e| eval(e, keys.len() + i, frame))
    }

    /// Adds a row whose grouping keys are `key_vals` and whose aggregate arguments are known:
    /// `arg(i)` is that of `aggs[i]` (asked for in order, never for `count(*)`).
    #[inline]
    pub(crate) fn add_computed(
        &mut self,
        aggs: &[AggSpec],
        key_vals: &[Value],
        arg: &mut impl FnMut(usize) -> Value,
    ) -> Result<()> {
        let gi = self.group_of(aggs, key_vals);
        self.update_group(gi, aggs, &mut |i, _| Ok(arg(i)))
    }

    /// Adds `count` rows whose one grouping key is the integer `key` to a table whose every
    /// aggregate is `count(*)` (the kernel's counting fast path, see `kernel::Counts`).
    pub(crate) fn add_counted(&mut self, aggs: &[AggSpec], key: i64, count: i64) {
        debug_assert!(aggs.iter().all(|a| a.func == AggFunc::CountStar));
        let gi = self.group_of(aggs, &[Value::Int(key)]);
        for state in &mut self.groups[gi].states {
            if let AggState::Count(n) = state {
                *n += count;
            }
        }
    }

    /// [`GroupTable::add_computed`] for one grouping key, `key()`, whose group key is
    /// `GroupKey::Int(k)` when `int_key` is `Some(k)`: a small `k` finds its group without
    /// building the key value.
    #[inline]
    pub(crate) fn add_computed_one(
        &mut self,
        aggs: &[AggSpec],
        int_key: Option<i64>,
        key: impl FnOnce() -> Value,
        arg: &mut impl FnMut(usize) -> Value,
    ) -> Result<()> {
        let half = DENSE_KEYS as i64 / 2;
        let gi = match (int_key.filter(|k| (-half..half).contains(k)), &self.dense) {
            (Some(k), Some(dense)) if dense[(k + half) as usize] != u32::MAX => {
                dense[(k + half) as usize] as usize
            }
            _ => self.group_of(aggs, std::slice::from_ref(&key())),
        };
        self.update_group(gi, aggs, &mut |i, _| Ok(arg(i)))
    }

    /// Aggregates one row into group `gi`; `arg(i, expr)` evaluates the argument of `aggs[i]`.
    #[inline]
    fn update_group(
        &mut self,
        gi: usize,
        aggs: &[AggSpec],
        arg: &mut impl FnMut(usize, &PExpr) -> Result<Value>,
    ) -> Result<()> {
        let partial = self.partial;
        let group = &mut self.groups[gi];
        for (i, spec) in aggs.iter().enumerate() {
            if spec.func == AggFunc::CountStar {
                group.states[i].update(spec.func, Value::Null)?;
                continue;
            }
            let v = match &spec.arg {
                Some(e) => arg(i, e)?,
                None => Value::Null,
            };
            if let (AggState::Count(n), false) = (&mut group.states[i], spec.distinct) {
                // count(x): only whether x is null matters.
                *n += i64::from(!v.is_null());
                continue;
            }
            if v.is_null() {
                continue;
            }
            if spec.distinct {
                if !group.seen[i].insert(GroupKey::from(&v)) {
                    continue;
                }
                if partial {
                    group.distinct[i].push(v);
                    continue;
                }
            }
            group.states[i].update(spec.func, v)?;
        }
        Ok(())
    }

    /// Adds a partial table of the input that follows everything merged so far.
    pub(crate) fn merge(&mut self, aggs: &[AggSpec], part: GroupTable) -> Result<()> {
        debug_assert!(part.partial && !self.partial);
        for group in part.groups {
            let gi = self.group_of(aggs, &group.keys);
            let into = &mut self.groups[gi];
            let parts = group.states.into_iter().zip(group.distinct);
            for (i, (spec, (state, distinct))) in aggs.iter().zip(parts).enumerate() {
                if spec.distinct {
                    for v in distinct {
                        if into.seen[i].insert(GroupKey::from(&v)) {
                            into.states[i].update(spec.func, v)?;
                        }
                    }
                } else {
                    into.states[i].merge(spec.func, state)?;
                }
            }
        }
        Ok(())
    }

    /// The groups; with no grouping keys always one (of empty aggregates if there were no rows).
    fn finish(mut self, aggs: &[AggSpec], no_keys: bool) -> Vec<Group> {
        if self.groups.is_empty() && no_keys {
            self.groups.push(Self::new_group(aggs, Vec::new()));
        }
        self.groups
    }
}

/// Groups by the key expressions and computes the aggregates (implicit grouping).
pub struct Aggregate {
    input: BoxCursor,
    keys: Arc<Vec<(PExpr, usize)>>,
    aggs: Arc<Vec<AggSpec>>,
    out: Option<std::vec::IntoIter<Group>>,
}

impl Aggregate {
    pub fn new(input: BoxCursor, keys: Arc<Vec<(PExpr, usize)>>, aggs: Arc<Vec<AggSpec>>) -> Self {
        Aggregate {
            input,
            keys,
            aggs,
            out: None,
        }
    }

    fn consume(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<Vec<Group>> {
        let mut table = GroupTable::new(false);
        while self.input.pull(frame, ctx)? {
            ctx.tick_buffering()?;
            table.add_row(&self.keys, &self.aggs, frame, &ctx.eval())?;
        }
        Ok(table.finish(&self.aggs, self.keys.is_empty()))
    }
}

/// Writes one finished group into `frame`: its keys, then its aggregates.
fn emit_group(
    group: Group,
    keys: &[(PExpr, usize)],
    aggs: &[AggSpec],
    frame: &mut Frame,
    ctx: &ExecCtx<'_>,
) -> Result<()> {
    for ((_, slot), v) in keys.iter().zip(group.keys) {
        frame[*slot] = v;
    }
    for (spec, state) in aggs.iter().zip(group.states) {
        let extra = match &spec.extra {
            Some(e) => e.eval(frame, &ctx.eval())?.as_f64(),
            None => None,
        };
        frame[spec.slot] = state.finish(spec.func, extra)?;
    }
    Ok(())
}

/// Aggregation over a pipeline that starts with a [`MorselScan`](super::MorselScan): the scan is
/// cut into gid ranges that worker threads (this one included) take in turn, each running its
/// own copy of the pipeline into a partial [`GroupTable`]; the tables merge in range order. The
/// planner only builds it over read-only row-by-row pipelines (filters, projections,
/// expansions), whose rows for one range do not depend on any other range.
pub struct ScanAggregate {
    input: Arc<crate::plan::Op>,
    keys: Arc<Vec<(PExpr, usize)>>,
    aggs: Arc<Vec<AggSpec>>,
    /// PROFILE: the counters of the input's operators, shared by every worker's copy.
    profile: Option<crate::plan::ProfileCounters>,
    out: Option<std::vec::IntoIter<Group>>,
}

impl ScanAggregate {
    pub fn new(
        input: Arc<crate::plan::Op>,
        keys: Arc<Vec<(PExpr, usize)>>,
        aggs: Arc<Vec<AggSpec>>,
        profile: Option<crate::plan::ProfileCounters>,
    ) -> Self {
        ScanAggregate {
            input,
            keys,
            aggs,
            profile,
            out: None,
        }
    }
}

impl Cursor for ScanAggregate {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        if self.out.is_none() {
            let table = super::parallel::aggregate(
                &self.input,
                &self.keys,
                &self.aggs,
                self.profile.as_ref(),
                frame,
                ctx,
            )?;
            self.out = Some(table.finish(&self.aggs, self.keys.is_empty()).into_iter());
        }
        let Some(group) = self.out.as_mut().and_then(Iterator::next) else {
            return Ok(false);
        };
        emit_group(group, &self.keys, &self.aggs, frame, ctx)?;
        Ok(true)
    }
    fn reset(&mut self) {
        self.out = None;
    }
}

impl Cursor for Aggregate {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        if self.out.is_none() {
            let groups = self.consume(frame, ctx)?;
            self.out = Some(groups.into_iter());
        }
        let Some(group) = self.out.as_mut().and_then(Iterator::next) else {
            return Ok(false);
        };
        emit_group(group, &self.keys, &self.aggs, frame, ctx)?;
        Ok(true)
    }
    fn reset(&mut self) {
        self.out = None;
        self.input.reset();
    }
}

/// OPTIONAL MATCH: for each input row, the rows of `sub` (whose leaf is a [`Once`] that yields
/// the input row); if it has none, the input row once with `nullable` slots set to null.
pub struct Optional {
    input: BoxCursor,
    sub: BoxCursor,
    nullable: Arc<Vec<usize>>,
    /// The current input row has produced at least one sub row.
    matched: bool,
    active: bool,
}

impl Optional {
    pub fn new(input: BoxCursor, sub: BoxCursor, nullable: Arc<Vec<usize>>) -> Optional {
        Optional {
            input,
            sub,
            nullable,
            matched: false,
            active: false,
        }
    }
}

impl Cursor for Optional {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        loop {
            if self.active {
                if self.sub.pull(frame, ctx)? {
                    self.matched = true;
                    return Ok(true);
                }
                self.active = false;
                if !self.matched {
                    for s in self.nullable.iter() {
                        frame[*s] = Value::Null;
                    }
                    return Ok(true);
                }
            }
            if !self.input.pull(frame, ctx)? {
                return Ok(false);
            }
            self.sub.reset();
            self.active = true;
            self.matched = false;
        }
    }
    fn reset(&mut self) {
        self.active = false;
        self.input.reset();
        self.sub.reset();
    }
}

/// Builds a path value from alternating node / relationship slots.
pub struct ConstructPath {
    input: BoxCursor,
    slot: usize,
    nodes: Arc<Vec<usize>>,
    rels: Arc<Vec<usize>>,
}

impl ConstructPath {
    pub fn new(
        input: BoxCursor,
        slot: usize,
        nodes: Arc<Vec<usize>>,
        rels: Arc<Vec<usize>>,
    ) -> Self {
        ConstructPath {
            input,
            slot,
            nodes,
            rels,
        }
    }
}

impl Cursor for ConstructPath {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        if !self.input.pull(frame, ctx)? {
            return Ok(false);
        }
        let mut path = PathValue {
            nodes: Vec::with_capacity(self.nodes.len()),
            rels: Vec::with_capacity(self.rels.len()),
        };
        let mut null = false;
        match self.nodes.first().map(|s| &frame[*s]) {
            Some(Value::Node(g)) => path.nodes.push(*g),
            _ => null = true,
        }
        // `rels[i]` joins `nodes[i]` and `nodes[i + 1]`; a var-length part holds a list of edges
        // whose inner vertices are found by walking it.
        for (i, s) in self.rels.iter().enumerate() {
            match (&frame[*s], self.nodes.get(i + 1).map(|n| &frame[*n])) {
                (Value::Relationship(r), Some(Value::Node(g))) => {
                    path.rels.push(*r);
                    path.nodes.push(*g);
                }
                (Value::List(items), Some(Value::Node(_))) if !null => {
                    for item in items {
                        let (Value::Relationship(r), Some(cur)) = (item, path.nodes.last()) else {
                            null = true;
                            break;
                        };
                        let next = if r.from == *cur { r.to } else { r.from };
                        path.rels.push(*r);
                        path.nodes.push(next);
                    }
                }
                _ => null = true,
            }
        }
        frame[self.slot] = if null {
            Value::Null
        } else {
            Value::Path(Box::new(path))
        };
        Ok(true)
    }
    fn reset(&mut self) {
        self.input.reset();
    }
}

/// UNION ALL of two branches that write the same output slots.
pub struct Union {
    left: BoxCursor,
    right: BoxCursor,
    on_right: bool,
}

impl Union {
    pub fn new(left: BoxCursor, right: BoxCursor) -> Union {
        Union {
            left,
            right,
            on_right: false,
        }
    }
}

impl Cursor for Union {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        if !self.on_right {
            if self.left.pull(frame, ctx)? {
                return Ok(true);
            }
            self.on_right = true;
        }
        self.right.pull(frame, ctx)
    }
    fn reset(&mut self) {
        self.on_right = false;
        self.left.reset();
        self.right.reset();
    }
}
