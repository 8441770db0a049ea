//! Operators that read the graph: scans and expansion.

use std::sync::Arc;

use storage::{EdgeRef, EdgeTypeId, Gid, LabelId, VertexIter};

use super::{BoxCursor, Cursor, ExecCtx};
use crate::error::Result;
use crate::expr::Frame;
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
                for gid in iter.by_ref() {
                    ctx.tick()?;
                    // The iterator was made before later clauses wrote: re-check that the vertex
                    // is still visible to this transaction (it may have deleted it since).
                    if !ctx.tx().vertex_exists(gid) {
                        continue;
                    }
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
