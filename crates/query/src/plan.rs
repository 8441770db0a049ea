//! The logical plan: an operator tree produced by the planner, cached per query text, and
//! instantiated into a fresh cursor tree for every execution.

use std::fmt::Write;
use std::sync::Arc;

use storage::LabelId;

use crate::expr::PExpr;
use crate::ops::{
    self, AggSpec, BoxCursor, CreateStep, ExpandSpec, ShortestSpec, UpdateItem, VarExpandSpec,
};

#[derive(Debug)]
pub enum Op {
    Once,
    Scan {
        input: Box<Op>,
        slot: usize,
        label: Option<LabelId>,
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
    Aggregate {
        input: Box<Op>,
        keys: Arc<Vec<(PExpr, usize)>>,
        aggs: Arc<Vec<AggSpec>>,
    },
    Distinct {
        input: Box<Op>,
        slots: Arc<Vec<usize>>,
    },
    OrderBy {
        input: Box<Op>,
        keys: Arc<Vec<(PExpr, bool)>>,
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
        match self {
            Op::Once => Box::<ops::Once>::default(),
            Op::Scan { input, slot, label } => {
                Box::new(ops::ScanAll::new(input.build(), *slot, *label))
            }
            Op::Expand { input, spec } => Box::new(ops::Expand::new(input.build(), spec.clone())),
            Op::VarExpand { input, spec } => {
                Box::new(ops::VarExpand::new(input.build(), spec.clone()))
            }
            Op::ShortestPath { input, spec } => {
                Box::new(ops::ShortestPath::new(input.build(), spec.clone()))
            }
            Op::EdgesDistinct {
                input,
                slot,
                others,
            } => Box::new(ops::EdgesDistinct::new(
                input.build(),
                *slot,
                others.clone(),
            )),
            Op::Filter { input, pred } => Box::new(ops::Filter::new(input.build(), pred.clone())),
            Op::Project { input, items } => {
                Box::new(ops::Project::new(input.build(), items.clone()))
            }
            Op::Unwind { input, expr, slot } => {
                Box::new(ops::Unwind::new(input.build(), expr.clone(), *slot))
            }
            Op::Aggregate { input, keys, aggs } => Box::new(ops::Aggregate::new(
                input.build(),
                keys.clone(),
                aggs.clone(),
            )),
            Op::Distinct { input, slots } => {
                Box::new(ops::Distinct::new(input.build(), slots.clone()))
            }
            Op::OrderBy { input, keys } => Box::new(ops::OrderBy::new(input.build(), keys.clone())),
            Op::Skip { input, count } => Box::new(ops::Skip::new(input.build(), count.clone())),
            Op::Limit { input, count } => {
                let limit = ops::Limit::new(input.build(), count.clone());
                Box::new(if input.ends_in_barrier() {
                    limit.draining()
                } else {
                    limit
                })
            }
            Op::Eager { input } => Box::new(ops::Eager::new(input.build())),
            Op::Optional {
                input,
                sub,
                nullable,
            } => Box::new(ops::Optional::new(
                input.build(),
                sub.build(),
                nullable.clone(),
            )),
            Op::ConstructPath {
                input,
                slot,
                nodes,
                rels,
            } => Box::new(ops::ConstructPath::new(
                input.build(),
                *slot,
                nodes.clone(),
                rels.clone(),
            )),
            Op::Union { left, right } => Box::new(ops::Union::new(left.build(), right.build())),
            Op::Create { input, steps } => Box::new(ops::Create::new(input.build(), steps.clone())),
            Op::Update { input, items } => Box::new(ops::Update::new(input.build(), items.clone())),
            Op::Delete {
                input,
                exprs,
                detach,
            } => Box::new(ops::Delete::new(input.build(), exprs.clone(), *detach)),
            Op::Merge { input, sub, spec } => {
                Box::new(ops::Merge::new(input.build(), sub.build(), spec.clone()))
            }
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Op::Once => "Once",
            Op::Scan { label: None, .. } => "ScanAll",
            Op::Scan { .. } => "ScanAllByLabel",
            Op::Expand { .. } => "Expand",
            Op::VarExpand { .. } => "ExpandVariable",
            Op::ShortestPath { .. } => "BFSExpand",
            Op::EdgesDistinct { .. } => "EdgeUniquenessFilter",
            Op::Filter { .. } => "Filter",
            Op::Project { .. } => "Produce",
            Op::Unwind { .. } => "Unwind",
            Op::Aggregate { .. } => "Aggregate",
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
        }
    }

    fn children(&self) -> Vec<&Op> {
        match self {
            Op::Once => vec![],
            Op::Optional { input, sub, .. } => vec![input, sub],
            Op::Union { left, right } => vec![left, right],
            Op::Merge { input, sub, .. } => vec![input, sub],
            Op::Scan { input, .. }
            | Op::Expand { input, .. }
            | Op::VarExpand { input, .. }
            | Op::ShortestPath { input, .. }
            | Op::EdgesDistinct { input, .. }
            | Op::Filter { input, .. }
            | Op::Project { input, .. }
            | Op::Unwind { input, .. }
            | Op::Aggregate { input, .. }
            | Op::Distinct { input, .. }
            | Op::OrderBy { input, .. }
            | Op::Skip { input, .. }
            | Op::Limit { input, .. }
            | Op::Eager { input, .. }
            | Op::ConstructPath { input, .. }
            | Op::Create { input, .. }
            | Op::Update { input, .. }
            | Op::Delete { input, .. } => vec![input],
        }
    }

    /// One line per operator, root first, in Memgraph's `* Operator` style.
    pub fn explain(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.explain_into(0, &mut out);
        out
    }

    fn explain_into(&self, depth: usize, out: &mut Vec<String>) {
        let mut line = String::new();
        for _ in 0..depth {
            line.push_str("|  ");
        }
        let _ = write!(line, "* {}", self.name());
        out.push(line);
        let children = self.children();
        let branch = children.len() > 1;
        for c in children {
            c.explain_into(depth + usize::from(branch), out);
        }
    }
}
