//! `shortestPath(...)` and `allShortestPaths(...)`: a breadth-first search over the storage
//! transaction, seen through petgraph's visit traits ([`TxGraph`]) rather than copied into a
//! petgraph graph.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use petgraph::visit::{
    Data, EdgeRef as PgEdgeRef, GraphBase, GraphRef, IntoEdgeReferences, IntoEdges, IntoNeighbors,
    VisitMap, Visitable,
};
use storage::{EdgeRef, EdgeTypeId, Gid, PropertyId, Transaction};

use super::varlen::{edge_matches, eval_props, step_edges};
use super::{BoxCursor, Cursor, Direction, ExecCtx, GUARD_EVERY};
use crate::error::Result;
use crate::expr::{Frame, PExpr};
use crate::value::{PathValue, Value};

/// A read view of a transaction as a petgraph graph: vertices are gids, the edges of a vertex
/// are those a pattern step may take (direction, types and property map applied).
#[derive(Clone, Copy)]
pub struct TxGraph<'a> {
    pub tx: &'a Transaction,
    pub dir: Direction,
    pub types: &'a [EdgeTypeId],
    pub props: &'a [(PropertyId, String, Value)],
}

/// One step of a [`TxGraph`]: the edge and the direction it is walked in.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub source: Gid,
    pub target: Gid,
    pub edge: EdgeRef,
}

impl PgEdgeRef for Step {
    type NodeId = Gid;
    type EdgeId = Gid;
    type Weight = EdgeRef;
    fn source(&self) -> Gid {
        self.source
    }
    fn target(&self) -> Gid {
        self.target
    }
    fn weight(&self) -> &EdgeRef {
        &self.edge
    }
    fn id(&self) -> Gid {
        self.edge.gid
    }
}

impl TxGraph<'_> {
    /// The steps out of `v`; a vertex this transaction cannot see has none.
    fn steps(&self, v: Gid) -> Vec<Step> {
        let (tx, props) = (self.tx, self.props);
        step_edges(tx, v, self.dir, self.types, &|e| edge_matches(tx, e, props))
            .unwrap_or_default()
            .into_iter()
            .map(|(edge, target)| Step {
                source: v,
                target,
                edge,
            })
            .collect()
    }
}

impl GraphBase for TxGraph<'_> {
    type NodeId = Gid;
    type EdgeId = Gid;
}

impl GraphRef for TxGraph<'_> {}

impl Data for TxGraph<'_> {
    type NodeWeight = ();
    type EdgeWeight = EdgeRef;
}

impl IntoNeighbors for TxGraph<'_> {
    type Neighbors = std::vec::IntoIter<Gid>;
    fn neighbors(self, a: Gid) -> Self::Neighbors {
        self.steps(a)
            .into_iter()
            .map(|s| s.target)
            .collect::<Vec<_>>()
            .into_iter()
    }
}

impl IntoEdgeReferences for TxGraph<'_> {
    type EdgeRef = Step;
    type EdgeReferences = std::vec::IntoIter<Step>;
    /// Every step of every visible vertex (a full scan; the searches here never need it).
    fn edge_references(self) -> Self::EdgeReferences {
        self.tx
            .vertices()
            .flat_map(|v| self.steps(v))
            .collect::<Vec<_>>()
            .into_iter()
    }
}

impl IntoEdges for TxGraph<'_> {
    type Edges = std::vec::IntoIter<Step>;
    fn edges(self, a: Gid) -> Self::Edges {
        self.steps(a).into_iter()
    }
}

impl Visitable for TxGraph<'_> {
    type Map = HashSet<Gid>;
    fn visit_map(&self) -> HashSet<Gid> {
        HashSet::new()
    }
    fn reset_map(&self, map: &mut HashSet<Gid>) {
        map.clear();
    }
}

/// The shortest paths from `start` to `goal` of at most `max` steps (one, or all of them), as
/// edge lists. A layered BFS: every vertex records the steps that reached it in the layer it
/// was discovered in, and the paths are read back from `goal`. `check` is called once per edge
/// looked at (guard checks).
pub fn shortest_paths<G>(
    g: G,
    start: Gid,
    goal: Gid,
    max: Option<u64>,
    all: bool,
    check: &mut dyn FnMut() -> Result<()>,
) -> Result<Vec<Vec<EdgeRef>>>
where
    G: IntoEdges<NodeId = Gid, EdgeWeight = EdgeRef> + Visitable,
{
    let mut visited = g.visit_map();
    visited.visit(start);
    let mut parents: HashMap<Gid, Vec<(Gid, EdgeRef)>> = HashMap::new();
    let mut frontier = vec![start];
    let mut depth = 0u64;
    let mut found = false;
    while !frontier.is_empty() && !found && max.is_none_or(|m| depth < m) {
        depth += 1;
        let mut next = Vec::new();
        let mut layer = HashSet::new();
        for &u in &frontier {
            for step in g.edges(u) {
                check()?;
                let v = step.target();
                let new = visited.visit(v);
                if new {
                    next.push(v);
                    layer.insert(v);
                } else if !layer.contains(&v) {
                    continue;
                }
                parents.entry(v).or_default().push((u, *step.weight()));
                found |= v == goal;
            }
        }
        frontier = next;
    }
    if !found {
        return Ok(Vec::new());
    }
    // Walk back from the goal; every vertex on a shortest path has parents one layer closer.
    let mut out = Vec::new();
    let mut stack = vec![(goal, Vec::new())];
    while let Some((v, suffix)) = stack.pop() {
        if v == start {
            let mut path: Vec<EdgeRef> = suffix;
            path.reverse();
            out.push(path);
            if !all {
                break;
            }
            continue;
        }
        for (u, e) in parents.get(&v).into_iter().flatten().rev() {
            let mut s = suffix.clone();
            s.push(*e);
            stack.push((*u, s));
        }
    }
    Ok(out)
}

#[derive(Debug)]
pub struct ShortestSpec {
    pub from: usize,
    pub to: usize,
    /// The relationship variable: receives the list of edges.
    pub rel: Option<usize>,
    /// The path variable.
    pub path: Option<usize>,
    pub dir: Direction,
    pub types: Vec<EdgeTypeId>,
    pub props: Vec<(PropertyId, String, PExpr)>,
    pub min: u64,
    pub max: Option<u64>,
    pub all: bool,
}

pub struct ShortestPath {
    input: BoxCursor,
    spec: Arc<ShortestSpec>,
    /// Paths of the current input row, consumed from the back.
    pending: Vec<PathValue>,
}

impl ShortestPath {
    pub fn new(input: BoxCursor, spec: Arc<ShortestSpec>) -> ShortestPath {
        ShortestPath {
            input,
            spec,
            pending: Vec::new(),
        }
    }

    fn load(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<()> {
        let spec = self.spec.clone();
        let (Value::Node(a), Value::Node(b)) = (&frame[spec.from], &frame[spec.to]) else {
            return Ok(());
        };
        let (a, b) = (*a, *b);
        if a == b {
            if spec.min == 0 {
                self.pending.push(PathValue {
                    nodes: vec![a],
                    rels: Vec::new(),
                });
            }
            return Ok(());
        }
        let props = eval_props(&spec.props, frame, ctx)?;
        let tx: &Transaction = ctx.tx();
        let guard = ctx.guard;
        let mut ticks = 0u32;
        let mut check = || {
            ticks = ticks.wrapping_add(1);
            if ticks.is_multiple_of(GUARD_EVERY) {
                guard.check_with_probe()?;
            }
            Ok(())
        };
        let g = TxGraph {
            tx,
            dir: spec.dir,
            types: &spec.types,
            props: &props,
        };
        let paths = shortest_paths(g, a, b, spec.max, spec.all, &mut check)?;
        for rels in paths.into_iter().rev() {
            if (rels.len() as u64) < spec.min {
                continue;
            }
            let mut nodes = vec![a];
            let mut cur = a;
            for e in &rels {
                cur = if e.from == cur { e.to } else { e.from };
                nodes.push(cur);
            }
            self.pending.push(PathValue { nodes, rels });
        }
        Ok(())
    }
}

impl Cursor for ShortestPath {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        loop {
            if let Some(path) = self.pending.pop() {
                if let Some(rel) = self.spec.rel {
                    frame[rel] =
                        Value::List(path.rels.iter().map(|r| Value::Relationship(*r)).collect());
                }
                if let Some(slot) = self.spec.path {
                    frame[slot] = Value::Path(Box::new(path));
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
