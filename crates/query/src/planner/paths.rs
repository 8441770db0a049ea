//! Variable-length relationship patterns and shortestPath / allShortestPaths in MATCH.

use std::sync::Arc;

use cypher::ast::{self, NodePattern, PatternKind, PatternPart, RelationshipPattern, VarLength};
use storage::PropertyId;

use super::pattern::{bind, filter, node_step};
use super::{expr::translate, Kind, Planner, Scope};
use crate::error::{QueryError, Result};
use crate::expr::PExpr;
use crate::ops::{Direction, ShortestSpec, VarExpandSpec};
use crate::plan::Op;

fn direction(d: ast::Direction) -> Direction {
    match d {
        ast::Direction::Right => Direction::Out,
        ast::Direction::Left => Direction::In,
        ast::Direction::Both => Direction::Both,
    }
}

/// `{k: v}` on a relationship pattern that every edge of a path must match.
fn edge_props(
    p: &mut Planner<'_>,
    scope: &Scope,
    props: &Option<ast::Expr>,
) -> Result<Vec<(PropertyId, String, PExpr)>> {
    match props {
        None => Ok(Vec::new()),
        Some(ast::Expr::Map(entries)) => entries
            .iter()
            .map(|(k, v)| Ok((p.storage.property(k), k.clone(), translate(p, scope, v)?)))
            .collect(),
        Some(_) => Err(QueryError::semantic(
            "Properties in a MATCH pattern must be a map literal.",
        )),
    }
}

/// Bounds of `*min..max`: the minimum defaults to one, the maximum to none.
fn bounds(len: &VarLength) -> (u64, Option<u64>) {
    (len.min.unwrap_or(1), len.max)
}

/// `(from)-[rel*min..max]-(node)`: a [`VarExpand`](crate::ops::VarExpand) binding the
/// relationship variable to the list of edges. Node predicates go to `preds`.
#[allow(clippy::too_many_arguments)]
pub(super) fn var_expand_step(
    p: &mut Planner<'_>,
    op: Op,
    scope: &mut Scope,
    from: usize,
    rel: &RelationshipPattern,
    len: &VarLength,
    node: &NodePattern,
    preds: &mut Vec<PExpr>,
) -> Result<(Op, usize, usize)> {
    let (rel_slot, rel_bound) = bind(p, scope, &rel.var, Kind::Any)?;
    let (to, to_bound) = bind(p, scope, &node.var, Kind::Node)?;
    let (min, max) = bounds(len);
    let spec = VarExpandSpec {
        from,
        rel: rel_slot,
        to,
        dir: direction(rel.direction),
        types: rel.types.iter().map(|t| p.storage.edge_type(t)).collect(),
        min,
        max,
        props: edge_props(p, scope, &rel.properties)?,
        to_bound,
        rel_bound,
    };
    let op = Op::VarExpand {
        input: Box::new(op),
        spec: Arc::new(spec),
    };
    if !node.labels.is_empty() {
        let labels = node.labels.iter().map(|l| p.storage.label(l)).collect();
        preds.push(PExpr::HasLabels(Box::new(PExpr::Slot(to)), labels));
    }
    if let Some(props) = &node.properties {
        for (key, name, value) in edge_props(p, scope, &Some(props.clone()))? {
            preds.push(PExpr::Compare(
                Box::new(PExpr::Property(Box::new(PExpr::Slot(to)), key, name)),
                vec![(crate::expr::CmpOp::Eq, value)],
            ));
        }
    }
    Ok((op, rel_slot, to))
}

/// `[p =] shortestPath((a)-[r*..max]->(b))` (or `allShortestPaths`): both end nodes are matched
/// (or taken from earlier clauses) first, then a breadth-first search joins them.
pub(super) fn plan_shortest(
    p: &mut Planner<'_>,
    op: Op,
    scope: &mut Scope,
    part: &PatternPart,
) -> Result<Op> {
    let name = if part.kind == PatternKind::AllShortestPaths {
        "allShortestPaths"
    } else {
        "shortestPath"
    };
    let [(rel, end)] = part.element.chain.as_slice() else {
        return Err(QueryError::semantic(format!(
            "{name}(...) requires a pattern containing a single relationship."
        )));
    };
    let (min, max) = match &rel.var_length {
        Some(len) => bounds(len),
        None => (1, Some(1)),
    };
    if min > 1 {
        return Err(QueryError::semantic(format!(
            "{name}(...) does not support a minimal length different from 0 or 1."
        )));
    }
    let mut preds = Vec::new();
    let (op, from) = node_step(p, op, scope, &part.element.start, None, &mut preds)?;
    let op = filter(op, std::mem::take(&mut preds));
    let (op, to) = node_step(p, op, scope, end, None, &mut preds)?;
    let op = filter(op, preds);
    let rel_slot = match &rel.var {
        Some(_) => {
            let (slot, bound) = bind(p, scope, &rel.var, Kind::Any)?;
            if bound {
                return Err(QueryError::semantic(format!(
                    "Variable `{}` already declared.",
                    rel.var.as_deref().unwrap_or_default()
                )));
            }
            Some(slot)
        }
        None => None,
    };
    let path = match &part.var {
        Some(v) => {
            let (slot, bound) = bind(p, scope, &Some(v.clone()), Kind::Path)?;
            if bound {
                return Err(QueryError::semantic(format!(
                    "Variable `{v}` already declared."
                )));
            }
            Some(slot)
        }
        None => None,
    };
    let spec = ShortestSpec {
        from,
        to,
        rel: rel_slot,
        path,
        dir: direction(rel.direction),
        types: rel.types.iter().map(|t| p.storage.edge_type(t)).collect(),
        props: edge_props(p, scope, &rel.properties)?,
        min,
        max,
        all: part.kind == PatternKind::AllShortestPaths,
    };
    Ok(Op::ShortestPath {
        input: Box::new(op),
        spec: Arc::new(spec),
    })
}
