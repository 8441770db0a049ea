//! Operators that read the graph: scans and expansion.

use std::ops::Bound;
use std::sync::Arc;

use storage::{
    EdgeRef, EdgeTypeId, Gid, LabelId, PropIndexIter, PropertyId, PropertyValue, VertexIter,
};

use super::{BoxCursor, Cursor, ExecCtx};
use crate::error::Result;
use crate::expr::{Frame, PExpr};
use crate::value::Value;

/// For each input row, every visible vertex into `slot`.
pub struct ScanAll {
    input: BoxCursor,
    slot: usize,
    label: Option<LabelId>,
    iter: Option<VertexIter>,
}

/// A label scan is a scan with a label filter applied by the storage.
pub type ScanLabel = ScanAll;

impl ScanAll {
    pub fn new(input: BoxCursor, slot: usize, label: Option<LabelId>) -> ScanAll {
        ScanAll {
            input,
            slot,
            label,
            iter: None,
        }
    }
}

impl Cursor for ScanAll {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        loop {
            if let Some(iter) = &mut self.iter {
                // The iterator checks each vertex (visible, with the label) in this
                // transaction's view when it reaches it, so vertices the transaction deleted
                // since the scan began are already skipped: no second look is needed here.
                if let Some(gid) = iter.next() {
                    ctx.tick()?;
                    frame[self.slot] = Value::Node(gid);
                    return Ok(true);
                }
                self.iter = None;
            }
            if !self.input.pull(frame, ctx)? {
                return Ok(false);
            }
            self.iter = Some(match self.label {
                Some(l) => ctx.tx().vertices_with_label(l),
                None => ctx.tx().vertices(),
            });
        }
    }

    fn reset(&mut self) {
        self.iter = None;
        self.input.reset();
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `(a)-[r]->(b)`
    Out,
    /// `(a)<-[r]-(b)`
    In,
    /// `(a)-[r]-(b)`
    Both,
}

#[derive(Debug)]
pub struct ExpandSpec {
    pub from: usize,
    pub rel: usize,
    pub to: usize,
    pub dir: Direction,
    /// Empty: any type.
    pub types: Vec<EdgeTypeId>,
    /// `to` was bound before this expansion: only edges reaching that vertex qualify.
    pub to_bound: bool,
    /// `rel` was bound before (a relationship variable reused): only that edge qualifies.
    pub rel_bound: bool,
}

/// For each input row, every edge of the `from` vertex in the given direction and types.
pub struct Expand {
    input: BoxCursor,
    spec: Arc<ExpandSpec>,
    /// Pending (edge, other endpoint) pairs for the current input row, consumed from the back.
    pending: Vec<(EdgeRef, Gid)>,
}

impl Expand {
    pub fn new(input: BoxCursor, spec: Arc<ExpandSpec>) -> Expand {
        Expand {
            input,
            spec,
            pending: Vec::new(),
        }
    }

    fn load(&mut self, frame: &Frame, ctx: &ExecCtx<'_>) -> Result<()> {
        let spec = &*self.spec;
        let Value::Node(v) = frame[spec.from] else {
            return Ok(());
        };
        let want_to = match (&frame[spec.to], spec.to_bound) {
            (Value::Node(g), true) => Some(*g),
            (_, true) => return Ok(()),
            _ => None,
        };
        let want_rel = match (&frame[spec.rel], spec.rel_bound) {
            (Value::Relationship(r), true) => Some(r.gid),
            (_, true) => return Ok(()),
            _ => None,
        };
        let accept = |e: &EdgeRef, other: Gid| {
            (spec.types.is_empty() || spec.types.contains(&e.ty))
                && want_to.is_none_or(|t| t == other)
                && want_rel.is_none_or(|r| r == e.gid)
        };
        if matches!(spec.dir, Direction::Out | Direction::Both) {
            for e in ctx.tx().out_edges(v)? {
                if accept(&e, e.to) {
                    self.pending.push((e, e.to));
                }
            }
        }
        if matches!(spec.dir, Direction::In | Direction::Both) {
            for e in ctx.tx().in_edges(v)? {
                // A self-loop was already found among the out-edges of an undirected expand.
                if spec.dir == Direction::Both && e.from == e.to {
                    continue;
                }
                if accept(&e, e.from) {
                    self.pending.push((e, e.from));
                }
            }
        }
        // Consumed from the back: reverse so edges come out in storage order.
        self.pending.reverse();
        Ok(())
    }
}

impl Cursor for Expand {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        loop {
            if let Some((e, other)) = self.pending.pop() {
                ctx.tick()?;
                frame[self.spec.rel] = Value::Relationship(e);
                if !self.spec.to_bound {
                    frame[self.spec.to] = Value::Node(other);
                }
                return Ok(true);
            }
            if !self.input.pull(frame, ctx)? {
                return Ok(false);
            }
            self.load(frame, ctx)?;
        }
    }

    fn reset(&mut self) {
        self.pending.clear();
        self.input.reset();
    }
}

/// One side of an index range: the bound's expression and whether it is inclusive.
#[derive(Debug)]
pub struct SeekBound {
    pub expr: PExpr,
    pub inclusive: bool,
}

/// What an index seek looks for.
#[derive(Debug)]
pub enum Seek {
    /// `n.p = expr`
    Eq(PExpr),
    /// `lower < / <= n.p < / <= upper`, either side optional (not both absent).
    Range {
        lower: Option<SeekBound>,
        upper: Option<SeekBound>,
    },
}

#[derive(Debug)]
pub struct IndexSeekSpec {
    pub slot: usize,
    pub label: LabelId,
    pub property: PropertyId,
    pub seek: Seek,
    /// The pattern's own `n.p = value` (from `(n:L {p: value})`) when this seek decides it
    /// instead of a filter above: a vertex an equality seek of a scalar finds holds a value that
    /// orders equal to it, which for booleans, strings and non-NaN numbers is Cypher's `=`. So
    /// the predicate runs only on the label-scan fallback (lists, maps, temporal values, NaN).
    pub residual: Option<PExpr>,
}

/// For each input row, the vertices with a label whose property matches a seek, from a
/// label+property index. The planner keeps the predicate as a filter above (except the one the
/// seek decides itself, see [`IndexSeekSpec::residual`]), so the seek only has to return every
/// match; values an index cannot order like Cypher (lists, maps, temporal values) fall back to
/// the label scan and let that filter (or the residual) decide.
pub struct IndexSeek {
    input: BoxCursor,
    spec: Arc<IndexSeekSpec>,
    iter: Option<Candidates>,
    /// The matches of an equality seek ([`Candidates::Found`]), reused from row to row, and
    /// how many of them were returned.
    found: Vec<Gid>,
    next_found: usize,
}

enum Candidates {
    /// In `IndexSeek::found` (an equality seek: no iterator, nothing allocated per row).
    Found,
    Index(PropIndexIter),
    Scan(VertexIter),
}

/// A seek value as the index orders it, or `None` when the index cannot order it like Cypher.
fn seek_value(v: Value) -> Option<PropertyValue> {
    match v {
        Value::Null => Some(PropertyValue::Null),
        Value::Bool(b) => Some(PropertyValue::Bool(b)),
        Value::Int(i) => Some(PropertyValue::Int(i)),
        Value::Float(f) if !f.is_nan() => Some(PropertyValue::Float(f)),
        Value::String(s) => Some(PropertyValue::String(s)),
        _ => None,
    }
}

impl IndexSeek {
    pub fn new(input: BoxCursor, spec: Arc<IndexSeekSpec>) -> IndexSeek {
        IndexSeek {
            input,
            spec,
            iter: None,
            found: Vec::new(),
            next_found: 0,
        }
    }

    fn candidates(&mut self, frame: &mut Frame, ctx: &ExecCtx<'_>) -> Result<Candidates> {
        let spec = &*self.spec;
        let eval = ctx.eval();
        let bound = |b: &Option<SeekBound>, frame: &mut Frame| -> Result<Option<Bound<_>>> {
            Ok(match b {
                None => Some(Bound::Unbounded),
                Some(b) => seek_value(b.expr.eval(frame, &eval)?).map(|v| {
                    if b.inclusive {
                        Bound::Included(v)
                    } else {
                        Bound::Excluded(v)
                    }
                }),
            })
        };
        let bounds = match &spec.seek {
            Seek::Eq(e) => seek_value(e.eval(frame, &eval)?)
                .map(|v| (Bound::Included(v.clone()), Bound::Included(v))),
            Seek::Range { lower, upper } => match (bound(lower, frame)?, bound(upper, frame)?) {
                (Some(lo), Some(hi)) => Some((lo, hi)),
                _ => None,
            },
        };
        let tx = ctx.tx();
        if let (Seek::Eq(_), Some((Bound::Included(v), _))) = (&spec.seek, &bounds) {
            if tx
                .vertices_by_label_property_eq(spec.label, spec.property, v, &mut self.found)
                .is_some()
            {
                self.next_found = 0;
                return Ok(Candidates::Found);
            }
        }
        if let Some((lo, hi)) = bounds {
            if let Some(iter) = tx.vertices_by_label_property(spec.label, spec.property, lo, hi) {
                return Ok(Candidates::Index(iter));
            }
        }
        Ok(Candidates::Scan(tx.vertices_with_label(spec.label)))
    }
}

impl Cursor for IndexSeek {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        loop {
            if let Some(iter) = &mut self.iter {
                let next = match iter {
                    Candidates::Found => {
                        let gid = self.found.get(self.next_found).copied();
                        self.next_found += 1;
                        gid
                    }
                    Candidates::Index(i) => i.next(),
                    Candidates::Scan(i) => i.next(),
                };
                if let Some(gid) = next {
                    ctx.tick()?;
                    frame[self.spec.slot] = Value::Node(gid);
                    if let (Candidates::Scan(_), Some(residual)) = (&*iter, &self.spec.residual) {
                        if residual.eval(frame, &ctx.eval())? != Value::Bool(true) {
                            continue;
                        }
                    }
                    return Ok(true);
                }
                self.iter = None;
            }
            if !self.input.pull(frame, ctx)? {
                return Ok(false);
            }
            self.iter = Some(self.candidates(frame, ctx)?);
        }
    }

    fn reset(&mut self) {
        self.iter = None;
        self.input.reset();
    }
}
