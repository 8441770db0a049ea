//! Operators that shape rows: filter, projection, unwind, aggregation, sort, skip/limit,
//! distinct, eager accumulation, optional, path construction, union.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::{BoxCursor, Cursor, ExecCtx};
use crate::error::{QueryError, Result};
use crate::expr::{Frame, PExpr};
use crate::value::{GroupKey, PathValue, Value};

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

    fn next(&mut self) -> Option<Value> {
        match self {
            Pending::List(it) => it.next(),
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
            if let Some(v) = self.pending.next() {
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
            ctx.tick()?;
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
                ctx.tick()?;
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
    rows: Option<std::vec::IntoIter<Frame>>,
}

impl OrderBy {
    /// `keys`: (expression, ascending).
    pub fn new(input: BoxCursor, keys: Arc<Vec<(PExpr, bool)>>) -> OrderBy {
        OrderBy {
            input,
            keys,
            rows: None,
        }
    }
}

impl Cursor for OrderBy {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        if self.rows.is_none() {
            let mut keyed: Vec<(Vec<Value>, Frame)> = Vec::new();
            while self.input.pull(frame, ctx)? {
                ctx.tick()?;
                let ectx = ctx.eval();
                let key = self
                    .keys
                    .iter()
                    .map(|(e, _)| e.eval(frame, &ectx))
                    .collect::<Result<Vec<_>>>()?;
                keyed.push((key, frame.clone()));
            }
            let keys = &self.keys;
            keyed.sort_by(|(a, _), (b, _)| {
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    let o = x.order_cmp(y);
                    let o = if keys[i].1 { o } else { o.reverse() };
                    if o != std::cmp::Ordering::Equal {
                        return o;
                    }
                }
                std::cmp::Ordering::Equal
            });
            self.rows = Some(
                keyed
                    .into_iter()
                    .map(|(_, f)| f)
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

    fn update(&mut self, f: AggFunc, v: Value) -> Result<()> {
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

    fn new_group(&self, keys: Vec<Value>) -> Group {
        Group {
            keys,
            states: self.aggs.iter().map(|a| AggState::new(a.func)).collect(),
            seen: self.aggs.iter().map(|_| HashSet::new()).collect(),
        }
    }

    fn consume(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<Vec<Group>> {
        let mut index: HashMap<Vec<GroupKey>, usize> = HashMap::new();
        let mut groups: Vec<Group> = Vec::new();
        while self.input.pull(frame, ctx)? {
            ctx.tick()?;
            let ectx = ctx.eval();
            let key_vals = self
                .keys
                .iter()
                .map(|(e, _)| e.eval(frame, &ectx))
                .collect::<Result<Vec<_>>>()?;
            let gk: Vec<GroupKey> = key_vals.iter().map(GroupKey::from).collect();
            let gi = match index.entry(gk) {
                Entry::Occupied(o) => *o.get(),
                Entry::Vacant(v) => {
                    groups.push(self.new_group(key_vals));
                    *v.insert(groups.len() - 1)
                }
            };
            let group = &mut groups[gi];
            for (i, spec) in self.aggs.iter().enumerate() {
                if spec.func == AggFunc::CountStar {
                    group.states[i].update(spec.func, Value::Null)?;
                    continue;
                }
                let v = match &spec.arg {
                    Some(e) => e.eval(frame, &ectx)?,
                    None => Value::Null,
                };
                if v.is_null() {
                    continue;
                }
                if spec.distinct && !group.seen[i].insert(GroupKey::from(&v)) {
                    continue;
                }
                group.states[i].update(spec.func, v)?;
            }
        }
        // No input rows and no grouping keys: one row of empty aggregates.
        if groups.is_empty() && self.keys.is_empty() {
            groups.push(self.new_group(Vec::new()));
        }
        Ok(groups)
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
        for ((_, slot), v) in self.keys.iter().zip(group.keys) {
            frame[*slot] = v;
        }
        for (spec, state) in self.aggs.iter().zip(group.states) {
            let extra = match &spec.extra {
                Some(e) => e.eval(frame, &ctx.eval())?.as_f64(),
                None => None,
            };
            frame[spec.slot] = state.finish(spec.func, extra)?;
        }
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
