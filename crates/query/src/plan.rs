//! The logical plan: an operator tree produced by the planner, cached per query text, and
//! instantiated into a fresh cursor tree for every execution.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use storage::LabelId;

use crate::error::Result;
use crate::expr::{Frame, PExpr};
use crate::ops::{
    self, AggSpec, BoxCursor, CreateStep, ExpandSpec, ShortestSpec, UpdateItem, VarExpandSpec,
};
use crate::value::Value;

#[derive(Debug)]
pub enum Op {
    Once,
    Scan {
        input: Box<Op>,
        slot: usize,
        label: Option<LabelId>,
    },
    /// A label+property index seek or range (see `planner/index.rs`).
    IndexSeek {
        input: Box<Op>,
        spec: Arc<ops::IndexSeekSpec>,
    },
    Expand {
        input: Box<Op>,
        spec: Arc<ExpandSpec>,
    },
    VarExpand {
        input: Box<Op>,
        spec: Arc<VarExpandSpec>,
    },
    ShortestPath {
        input: Box<Op>,
        spec: Arc<ShortestSpec>,
    },
    /// Relationship uniqueness where a var-length part holds a list of edges.
    EdgesDistinct {
        input: Box<Op>,
        slot: usize,
        others: Arc<Vec<usize>>,
    },
    Filter {
        input: Box<Op>,
        pred: Arc<PExpr>,
    },
    Project {
        input: Box<Op>,
        items: Arc<Vec<(PExpr, usize)>>,
    },
    Unwind {
        input: Box<Op>,
        expr: Arc<PExpr>,
        slot: usize,
    },
    /// LOAD CSV: every record of the file, for every input row.
    LoadCsv {
        input: Box<Op>,
        spec: Arc<ops::LoadCsvSpec>,
    },
    Aggregate {
        input: Box<Op>,
        keys: Arc<Vec<(PExpr, usize)>>,
        aggs: Arc<Vec<AggSpec>>,
    },
    /// An aggregation whose input starts with a [`Op::MorselScan`], run range by range on
    /// several threads (see `ops::parallel`).
    ScanAggregate {
        input: Arc<Op>,
        keys: Arc<Vec<(PExpr, usize)>>,
        aggs: Arc<Vec<AggSpec>>,
    },
    /// The scan at the start of a [`Op::ScanAggregate`]'s input: the vertices of the gid range
    /// its worker was handed, with some of their properties read in the same visit.
    MorselScan {
        spec: Arc<ops::MorselScanSpec>,
    },
    Distinct {
        input: Box<Op>,
        slots: Arc<Vec<usize>>,
    },
    OrderBy {
        input: Box<Op>,
        keys: Arc<Vec<(PExpr, bool)>>,
        /// Top-k: the `SKIP`/`LIMIT` that follow, when both counts are known up front.
        keep: Option<Arc<(Option<PExpr>, PExpr)>>,
    },
    Skip {
        input: Box<Op>,
        count: Arc<PExpr>,
    },
    Limit {
        input: Box<Op>,
        count: Arc<PExpr>,
    },
    Eager {
        input: Box<Op>,
    },
    Optional {
        input: Box<Op>,
        sub: Box<Op>,
        nullable: Arc<Vec<usize>>,
    },
    ConstructPath {
        input: Box<Op>,
        slot: usize,
        nodes: Arc<Vec<usize>>,
        rels: Arc<Vec<usize>>,
    },
    Union {
        left: Box<Op>,
        right: Box<Op>,
    },
    Create {
        input: Box<Op>,
        steps: Arc<Vec<CreateStep>>,
    },
    Update {
        input: Box<Op>,
        items: Arc<Vec<UpdateItem>>,
    },
    Delete {
        input: Box<Op>,
        exprs: Arc<Vec<PExpr>>,
        detach: bool,
    },
    /// CALL of a built-in procedure, once per input row.
    Call {
        input: Box<Op>,
        spec: Arc<ops::CallSpec>,
    },
    /// MERGE: `sub` matches the pattern per input row (over the same frame).
    Merge {
        input: Box<Op>,
        sub: Box<Op>,
        spec: Arc<ops::MergeSpec>,
    },
}

impl Op {
    /// Whether this projection pipeline sits on an eager barrier (pending writes): a LIMIT over
    /// it must pull at least once so the writes happen even when no row is wanted.
    fn ends_in_barrier(&self) -> bool {
        match self {
            Op::Eager { .. } => true,
            Op::Project { input, .. }
            | Op::Distinct { input, .. }
            | Op::OrderBy { input, .. }
            | Op::Skip { input, .. }
            | Op::Filter { input, .. } => input.ends_in_barrier(),
            _ => false,
        }
    }

    /// A fresh cursor tree for one execution.
    pub fn build(&self) -> BoxCursor {
        self.build_in(&mut None)
    }

    /// A fresh cursor tree for a PROFILE run: every operator's cursor is wrapped in a counting
    /// [`Profiled`] cursor, so plain executions pay nothing for profiling.
    pub fn build_profiled(&self) -> (BoxCursor, Profile) {
        let mut counters = Some(HashMap::new());
        let cursor = self.build_in(&mut counters);
        (cursor, Profile(counters.unwrap_or_default()))
    }

    /// A cursor tree; with `prof`, a counting one whose counters are registered in (or, for
    /// operators already there, shared through) the map.
    pub(crate) fn build_in(&self, prof: &mut Option<ProfileCounters>) -> BoxCursor {
        let cursor = self.build_cursor(prof);
        match prof {
            None => cursor,
            Some(counters) => {
                let c = counters.entry(self.key()).or_default().clone();
                Box::new(Profiled {
                    inner: cursor,
                    counters: c,
                })
            }
        }
    }

    /// Identifies this operator in a [`Profile`] (its address: the plan outlives the run).
    fn key(&self) -> usize {
        self as *const Op as usize
    }

    fn build_cursor(&self, prof: &mut Option<ProfileCounters>) -> BoxCursor {
        match self {
            Op::Once => Box::<ops::Once>::default(),
            Op::Scan { input, slot, label } => {
                Box::new(ops::ScanAll::new(input.build_in(prof), *slot, *label))
            }
            Op::Expand { input, spec } => {
                Box::new(ops::Expand::new(input.build_in(prof), spec.clone()))
            }
            Op::IndexSeek { input, spec } => {
                Box::new(ops::IndexSeek::new(input.build_in(prof), spec.clone()))
            }
            Op::VarExpand { input, spec } => {
                Box::new(ops::VarExpand::new(input.build_in(prof), spec.clone()))
            }
            Op::ShortestPath { input, spec } => {
                Box::new(ops::ShortestPath::new(input.build_in(prof), spec.clone()))
            }
            Op::EdgesDistinct {
                input,
                slot,
                others,
            } => Box::new(ops::EdgesDistinct::new(
                input.build_in(prof),
                *slot,
                others.clone(),
            )),
            Op::Filter { input, pred } => {
                Box::new(ops::Filter::new(input.build_in(prof), pred.clone()))
            }
            Op::Project { input, items } => {
                Box::new(ops::Project::new(input.build_in(prof), items.clone()))
            }
            Op::Unwind { input, expr, slot } => {
                Box::new(ops::Unwind::new(input.build_in(prof), expr.clone(), *slot))
            }
            Op::LoadCsv { input, spec } => {
                Box::new(ops::LoadCsv::new(input.build_in(prof), spec.clone()))
            }
            Op::Aggregate { input, keys, aggs } => Box::new(ops::Aggregate::new(
                input.build_in(prof),
                keys.clone(),
                aggs.clone(),
            )),
            Op::ScanAggregate { input, keys, aggs } => {
                // Workers build their own copies of the input; under PROFILE they count into
                // the counters registered here.
                let profile = prof.as_mut().map(|counters| {
                    let mut registered = Some(std::mem::take(counters));
                    input.build_in(&mut registered);
                    *counters = registered.unwrap_or_default();
                    counters.clone()
                });
                Box::new(ops::ScanAggregate::new(
                    input.clone(),
                    keys.clone(),
                    aggs.clone(),
                    profile,
                ))
            }
            Op::MorselScan { spec } => Box::new(ops::MorselScan::new(spec.clone())),
            Op::Distinct { input, slots } => {
                Box::new(ops::Distinct::new(input.build_in(prof), slots.clone()))
            }
            Op::OrderBy { input, keys, keep } => {
                let sort = ops::OrderBy::new(input.build_in(prof), keys.clone());
                Box::new(match keep {
                    Some(keep) => sort.top_k(keep.clone()),
                    None => sort,
                })
            }
            Op::Skip { input, count } => {
                Box::new(ops::Skip::new(input.build_in(prof), count.clone()))
            }
            Op::Limit { input, count } => {
                let limit = ops::Limit::new(input.build_in(prof), count.clone());
                Box::new(if input.ends_in_barrier() {
                    limit.draining()
                } else {
                    limit
                })
            }
            Op::Eager { input } => Box::new(ops::Eager::new(input.build_in(prof))),
            Op::Optional {
                input,
                sub,
                nullable,
            } => Box::new(ops::Optional::new(
                input.build_in(prof),
                sub.build_in(prof),
                nullable.clone(),
            )),
            Op::ConstructPath {
                input,
                slot,
                nodes,
                rels,
            } => Box::new(ops::ConstructPath::new(
                input.build_in(prof),
                *slot,
                nodes.clone(),
                rels.clone(),
            )),
            Op::Union { left, right } => {
                Box::new(ops::Union::new(left.build_in(prof), right.build_in(prof)))
            }
            Op::Create { input, steps } => {
                Box::new(ops::Create::new(input.build_in(prof), steps.clone()))
            }
            Op::Update { input, items } => {
                Box::new(ops::Update::new(input.build_in(prof), items.clone()))
            }
            Op::Delete {
                input,
                exprs,
                detach,
            } => Box::new(ops::Delete::new(
                input.build_in(prof),
                exprs.clone(),
                *detach,
            )),
            Op::Call { input, spec } => {
                Box::new(ops::Call::new(input.build_in(prof), spec.clone()))
            }
            Op::Merge { input, sub, spec } => Box::new(ops::Merge::new(
                input.build_in(prof),
                sub.build_in(prof),
                spec.clone(),
            )),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Op::Once => "Once",
            Op::Scan { label: None, .. } => "ScanAll",
            Op::Scan { .. } => "ScanAllByLabel",
            Op::IndexSeek { spec, .. } => match spec.seek {
                ops::Seek::Eq(_) => "ScanAllByLabelPropertyValue",
                ops::Seek::Range { .. } => "ScanAllByLabelPropertyRange",
            },
            Op::Expand { .. } => "Expand",
            Op::VarExpand { .. } => "ExpandVariable",
            Op::ShortestPath { .. } => "BFSExpand",
            Op::EdgesDistinct { .. } => "EdgeUniquenessFilter",
            Op::Filter { .. } => "Filter",
            Op::Project { .. } => "Produce",
            Op::Unwind { .. } => "Unwind",
            Op::LoadCsv { .. } => "LoadCsv",
            Op::Aggregate { .. } | Op::ScanAggregate { .. } => "Aggregate",
            Op::MorselScan { spec } if spec.label.is_none() => "ScanAll",
            Op::MorselScan { .. } => "ScanAllByLabel",
            Op::Distinct { .. } => "Distinct",
            Op::OrderBy { .. } => "OrderBy",
            Op::Skip { .. } => "Skip",
            Op::Limit { .. } => "Limit",
            Op::Eager { .. } => "Accumulate",
            Op::Optional { .. } => "Optional",
            Op::ConstructPath { .. } => "ConstructNamedPath",
            Op::Union { .. } => "Union",
            Op::Create { .. } => "Create",
            Op::Update { .. } => "SetProperties",
            Op::Delete { .. } => "Delete",
            Op::Merge { .. } => "Merge",
            Op::Call { .. } => "CallProcedure",
        }
    }

    fn children(&self) -> Vec<&Op> {
        match self {
            Op::Once | Op::MorselScan { .. } => vec![],
            Op::ScanAggregate { input, .. } => vec![input],
            Op::Optional { input, sub, .. } => vec![input, sub],
            Op::Union { left, right } => vec![left, right],
            Op::Merge { input, sub, .. } => vec![input, sub],
            Op::Scan { input, .. }
            | Op::IndexSeek { input, .. }
            | Op::Expand { input, .. }
            | Op::VarExpand { input, .. }
            | Op::ShortestPath { input, .. }
            | Op::EdgesDistinct { input, .. }
            | Op::Filter { input, .. }
            | Op::Project { input, .. }
            | Op::Unwind { input, .. }
            | Op::LoadCsv { input, .. }
            | Op::Aggregate { input, .. }
            | Op::Distinct { input, .. }
            | Op::OrderBy { input, .. }
            | Op::Skip { input, .. }
            | Op::Limit { input, .. }
            | Op::Eager { input, .. }
            | Op::ConstructPath { input, .. }
            | Op::Create { input, .. }
            | Op::Update { input, .. }
            | Op::Delete { input, .. }
            | Op::Call { input, .. } => vec![input],
        }
    }

    /// One line per operator, root first, in Memgraph's `* Operator` style.
    pub fn explain(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.walk(0, &mut |depth, op| {
            out.push(match op {
                Some(op) => indent(depth, &format!("* {}", op.name())),
                None => indent(depth, BRANCH),
            })
        });
        out
    }

    /// Visits the tree as Memgraph prints it: an operator, then each extra child (a branch:
    /// the optional part, a UNION's right side, MERGE's match) behind a `|\` line one level
    /// deeper, then the first child (the input) at the same level. `None` is a branch line.
    fn walk(&self, depth: usize, visit: &mut dyn FnMut(usize, Option<&Op>)) {
        visit(depth, Some(self));
        let children = self.children();
        for c in children.iter().skip(1) {
            visit(depth, None);
            c.walk(depth + 1, visit);
        }
        if let Some(first) = children.first() {
            first.walk(depth, visit);
        }
    }
}

/// The line that opens a branch in EXPLAIN and PROFILE output.
const BRANCH: &str = "|\\";

fn indent(depth: usize, text: &str) -> String {
    let mut line = String::with_capacity(depth * 2 + text.len());
    for _ in 0..depth {
        line.push_str("| ");
    }
    line.push_str(text);
    line
}

/// What a PROFILE run counts for one operator.
#[derive(Debug, Default)]
pub struct OpCounters {
    /// Calls of `pull` (as Memgraph counts hits: the rows produced plus the final empty pull).
    hits: AtomicU64,
    /// Time spent in `pull`, the operator's inputs included.
    nanos: AtomicU64,
}

/// The counters of a PROFILE run by operator (see [`Op::key`]).
pub type ProfileCounters = HashMap<usize, Arc<OpCounters>>;

/// Wraps one operator's cursor in a PROFILE run.
struct Profiled {
    inner: BoxCursor,
    counters: Arc<OpCounters>,
}

impl ops::Cursor for Profiled {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ops::ExecCtx<'_>) -> Result<bool> {
        let start = Instant::now();
        let out = self.inner.pull(frame, ctx);
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.counters.hits.fetch_add(1, Ordering::Relaxed);
        self.counters.nanos.fetch_add(nanos, Ordering::Relaxed);
        out
    }

    fn reset(&mut self) {
        self.inner.reset();
    }
}

/// The counters of one PROFILE run, by operator.
#[derive(Debug, Default)]
pub struct Profile(ProfileCounters);

impl Profile {
    fn get(&self, op: &Op) -> (u64, u64) {
        self.0.get(&op.key()).map_or((0, 0), |c| {
            (
                c.hits.load(Ordering::Relaxed),
                c.nanos.load(Ordering::Relaxed),
            )
        })
    }

    /// Memgraph's PROFILE table for a run of `root`: one row per operator (and one per branch
    /// line) with `OPERATOR`, `ACTUAL HITS`, `RELATIVE TIME`, `ABSOLUTE TIME`. Times are the
    /// operator's own (its inputs' time subtracted), relative to the whole run.
    pub fn table(&self, root: &Op) -> Vec<Vec<Value>> {
        let (_, total) = self.get(root);
        let mut rows = Vec::new();
        root.walk(0, &mut |depth, op| {
            let Some(op) = op else {
                rows.push(vec![
                    Value::String(BRANCH.into()),
                    Value::String(String::new()),
                    Value::String(String::new()),
                    Value::String(String::new()),
                ]);
                return;
            };
            let (hits, cumulative) = self.get(op);
            let inputs: u64 = op.children().iter().map(|c| self.get(c).1).sum();
            let own = cumulative.saturating_sub(inputs);
            let relative = if total == 0 {
                0.0
            } else {
                own as f64 / total as f64 * 100.0
            };
            rows.push(vec![
                Value::String(indent(depth, &format!("* {}", op.name()))),
                Value::Int(i64::try_from(hits).unwrap_or(i64::MAX)),
                Value::String(format!(" {relative:9.6} %")),
                Value::String(format!(" {:9.6} ms", own as f64 / 1e6)),
            ]);
        });
        rows
    }
}

/// PROFILE's column names.
pub const PROFILE_COLUMNS: [&str; 4] =
    ["OPERATOR", "ACTUAL HITS", "RELATIVE TIME", "ABSOLUTE TIME"];
