//! Variable-length expansion: `(a)-[r*min..max]->(b)`.
//!
//! A depth-first search with an explicit stack, so a pull returns after every path found and the
//! cursor can wait between two Bolt PULLs half-way through a search. No edge appears twice in
//! one path (openCypher's relationship isomorphism); `r` is bound to the list of edges.

use std::sync::Arc;

use storage::{EdgeRef, EdgeTypeId, Gid, PropertyId, Transaction};

use super::{BoxCursor, Cursor, Direction, ExecCtx};
use crate::error::Result;
use crate::expr::{property_of, EvalCtx, Frame, PExpr};
use crate::value::Value;

#[derive(Debug)]
pub struct VarExpandSpec {
    pub from: usize,
    /// Receives the list of edges of the path.
    pub rel: usize,
    pub to: usize,
    pub dir: Direction,
    /// Empty: any type.
    pub types: Vec<EdgeTypeId>,
    pub min: u64,
    /// `None`: unbounded.
    pub max: Option<u64>,
    /// `{k: v}` on the relationship pattern: every edge of the path must match.
    pub props: Vec<(PropertyId, String, PExpr)>,
    /// `to` was bound before: only paths ending there qualify.
    pub to_bound: bool,
    /// `rel` was bound before to a list of edges: only that exact walk qualifies.
    pub rel_bound: bool,
}

/// The edges of `v` that a step of `spec` may take, with the vertex each leads to, in storage
/// order. Shared with the shortest-path search.
pub(crate) fn step_edges(
    tx: &Transaction,
    v: Gid,
    dir: Direction,
    types: &[EdgeTypeId],
    accept: &dyn Fn(&EdgeRef) -> Result<bool>,
) -> Result<Vec<(EdgeRef, Gid)>> {
    let mut out = Vec::new();
    if matches!(dir, Direction::Out | Direction::Both) {
        for e in tx.out_edges(v)? {
            if (types.is_empty() || types.contains(&e.ty)) && accept(&e)? {
                out.push((e, e.to));
            }
        }
    }
    if matches!(dir, Direction::In | Direction::Both) {
        for e in tx.in_edges(v)? {
            // An undirected step finds a self-loop once, among the out-edges.
            if dir == Direction::Both && e.from == e.to {
                continue;
            }
            if (types.is_empty() || types.contains(&e.ty)) && accept(&e)? {
                out.push((e, e.from));
            }
        }
    }
    Ok(out)
}

/// Whether every `(key, value)` pair matches the edge's property (Cypher equality).
pub(crate) fn edge_matches(
    tx: &Transaction,
    e: &EdgeRef,
    props: &[(PropertyId, String, Value)],
) -> Result<bool> {
    if props.is_empty() {
        return Ok(true);
    }
    let eval = EvalCtx {
        tx,
        params: &[],
        memory_limit: 0,
    };
    let rel = Value::Relationship(*e);
    for (key, name, want) in props {
        let have = property_of(&rel, *key, name, &eval)?;
        if have.cypher_eq(want) != Some(true) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Evaluates the property map of a relationship pattern for the current row.
pub(crate) fn eval_props(
    props: &[(PropertyId, String, PExpr)],
    frame: &mut Frame,
    ctx: &ExecCtx<'_>,
) -> Result<Vec<(PropertyId, String, Value)>> {
    let eval = ctx.eval();
    props
        .iter()
        .map(|(k, n, e)| Ok((*k, n.clone(), e.eval(frame, &eval)?)))
        .collect()
}

pub struct VarExpand {
    input: BoxCursor,
    spec: Arc<VarExpandSpec>,
    /// Candidate steps per depth, consumed from the back; `stack.len() == path.len() + 1`
    /// while a search is running.
    stack: Vec<Vec<(EdgeRef, Gid)>>,
    path: Vec<EdgeRef>,
    /// The property values of the current input row.
    props: Vec<(PropertyId, String, Value)>,
    /// The end vertex required by a bound `to`.
    target: Option<Gid>,
    /// A result found without a search (a zero-length path, a bound edge list) to emit next.
    ready: Option<(Vec<EdgeRef>, Gid)>,
}

impl VarExpand {
    pub fn new(input: BoxCursor, spec: Arc<VarExpandSpec>) -> VarExpand {
        VarExpand {
            input,
            spec,
            stack: Vec::new(),
            path: Vec::new(),
            props: Vec::new(),
            target: None,
            ready: None,
        }
    }

    fn candidates(&self, ctx: &ExecCtx<'_>, v: Gid) -> Result<Vec<(EdgeRef, Gid)>> {
        let props = &self.props;
        let tx: &Transaction = ctx.tx();
        let mut c = step_edges(tx, v, self.spec.dir, &self.spec.types, &|e| {
            edge_matches(tx, e, props)
        })?;
        c.reverse();
        Ok(c)
    }

    /// Sets up the search for a new input row.
    fn start(&mut self, frame: &mut Frame, ctx: &ExecCtx<'_>) -> Result<()> {
        self.stack.clear();
        self.path.clear();
        self.ready = None;
        let spec = self.spec.clone();
        let Value::Node(v) = frame[spec.from] else {
            return Ok(());
        };
        self.target = match (&frame[spec.to], spec.to_bound) {
            (Value::Node(g), true) => Some(*g),
            (_, true) => return Ok(()),
            _ => None,
        };
        self.props = eval_props(&spec.props, frame, ctx)?;
        if spec.rel_bound {
            self.ready = self.follow(frame, ctx, v)?;
            return Ok(());
        }
        if spec.min == 0 && self.target.is_none_or(|t| t == v) {
            self.ready = Some((Vec::new(), v));
        }
        if spec.max != Some(0) {
            self.stack.push(self.candidates(ctx, v)?);
        }
        Ok(())
    }

    /// A bound relationship list: the walk it describes from `v`, if it is one.
    fn follow(
        &self,
        frame: &Frame,
        ctx: &ExecCtx<'_>,
        v: Gid,
    ) -> Result<Option<(Vec<EdgeRef>, Gid)>> {
        let Value::List(items) = &frame[self.spec.rel] else {
            return Ok(None);
        };
        let len = items.len() as u64;
        if len < self.spec.min || self.spec.max.is_some_and(|m| len > m) {
            return Ok(None);
        }
        let mut cur = v;
        let mut edges = Vec::with_capacity(items.len());
        for item in items {
            let Value::Relationship(r) = item else {
                return Ok(None);
            };
            let Some((e, next)) = self
                .candidates(ctx, cur)?
                .into_iter()
                .find(|(e, _)| e.gid == r.gid)
            else {
                return Ok(None);
            };
            if edges.iter().any(|x: &EdgeRef| x.gid == e.gid) {
                return Ok(None);
            }
            edges.push(e);
            cur = next;
        }
        if self.target.is_some_and(|t| t != cur) {
            return Ok(None);
        }
        Ok(Some((edges, cur)))
    }

    fn emit(&self, frame: &mut Frame, edges: &[EdgeRef], end: Gid) {
        if !self.spec.rel_bound {
            frame[self.spec.rel] =
                Value::List(edges.iter().map(|e| Value::Relationship(*e)).collect());
        }
        if !self.spec.to_bound {
            frame[self.spec.to] = Value::Node(end);
        }
    }
}

impl Cursor for VarExpand {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        loop {
            if let Some((edges, end)) = self.ready.take() {
                self.emit(frame, &edges, end);
                return Ok(true);
            }
            while let Some(top) = self.stack.last_mut() {
                ctx.tick()?;
                let Some((e, next)) = top.pop() else {
                    self.stack.pop();
                    self.path.pop();
                    continue;
                };
                if self.path.iter().any(|p| p.gid == e.gid) {
                    continue;
                }
                self.path.push(e);
                let depth = self.path.len() as u64;
                let deeper = if self.spec.max.is_none_or(|m| depth < m) {
                    self.candidates(ctx, next)?
                } else {
                    Vec::new()
                };
                self.stack.push(deeper);
                if depth >= self.spec.min && self.target.is_none_or(|t| t == next) {
                    let path = std::mem::take(&mut self.path);
                    self.emit(frame, &path, next);
                    self.path = path;
                    return Ok(true);
                }
            }
            if !self.input.pull(frame, ctx)? {
                return Ok(false);
            }
            self.start(frame, ctx)?;
        }
    }

    fn reset(&mut self) {
        self.stack.clear();
        self.path.clear();
        self.ready = None;
        self.input.reset();
    }
}

/// Keeps the rows where the edges in `slot` (a relationship or a list of them) are distinct from
/// those in each of `others`: relationship uniqueness across a MATCH pattern with var-length parts.
pub struct EdgesDistinct {
    input: BoxCursor,
    slot: usize,
    others: Arc<Vec<usize>>,
}

impl EdgesDistinct {
    pub fn new(input: BoxCursor, slot: usize, others: Arc<Vec<usize>>) -> EdgesDistinct {
        EdgesDistinct {
            input,
            slot,
            others,
        }
    }
}

fn edge_gids(v: &Value, out: &mut Vec<Gid>) {
    match v {
        Value::Relationship(r) => out.push(r.gid),
        Value::List(items) => items.iter().for_each(|i| edge_gids(i, out)),
        _ => {}
    }
}

impl Cursor for EdgesDistinct {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        let mut mine = Vec::new();
        let mut theirs = Vec::new();
        while self.input.pull(frame, ctx)? {
            mine.clear();
            theirs.clear();
            edge_gids(&frame[self.slot], &mut mine);
            for s in self.others.iter() {
                edge_gids(&frame[*s], &mut theirs);
            }
            if !mine.iter().any(|g| theirs.contains(g)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn reset(&mut self) {
        self.input.reset();
    }
}
