//! Patterns: MATCH -> scans, expansions and filters; CREATE -> creation steps.

use std::sync::Arc;

use cypher::ast::{self, NodePattern, PatternKind, PatternPart, RelationshipPattern};

use super::{expr::translate, Kind, Planner, Scope, Sym};
use crate::error::{QueryError, Result};
use crate::expr::{CmpOp, PExpr};
use crate::ops::{CreateStep, Direction, ExpandSpec};
use crate::plan::Op;

pub(super) fn filter(op: Op, preds: Vec<PExpr>) -> Op {
    if preds.is_empty() {
        return op;
    }
    let pred = if preds.len() == 1 {
        preds
            .into_iter()
            .next()
            .unwrap_or(PExpr::Const(crate::value::Value::Bool(true)))
    } else {
        PExpr::And(preds)
    };
    Op::Filter {
        input: Box::new(op),
        pred: Arc::new(pred),
    }
}

/// `{k: v, ...}` on a pattern element -> `slot.k = v` predicates.
fn property_preds(
    p: &mut Planner<'_>,
    scope: &Scope,
    slot: usize,
    props: &Option<ast::Expr>,
    decided: Option<usize>,
    preds: &mut Vec<PExpr>,
) -> Result<()> {
    match props {
        None => Ok(()),
        Some(ast::Expr::Map(entries)) => {
            for (i, (k, v)) in entries.iter().enumerate() {
                if decided == Some(i) {
                    // The index seek decides it (see `IndexSeekSpec::residual`).
                    continue;
                }
                let value = translate(p, scope, v)?;
                let key = p.storage.property(k);
                preds.push(PExpr::Compare(
                    Box::new(PExpr::Property(Box::new(PExpr::Slot(slot)), key, k.clone())),
                    vec![(CmpOp::Eq, value)],
                ));
            }
            Ok(())
        }
        Some(_) => Err(QueryError::semantic(
            "Properties in a MATCH pattern must be a map literal.",
        )),
    }
}

/// Binds (or reuses) a node variable; returns its slot and whether it was bound before.
pub(super) fn bind(
    p: &mut Planner<'_>,
    scope: &mut Scope,
    var: &Option<String>,
    kind: Kind,
) -> Result<(usize, bool)> {
    if let Some(name) = var {
        if let Some(sym) = scope.get(name) {
            if sym.kind != kind && sym.kind != Kind::Any {
                return Err(QueryError::type_error(format!(
                    "Variable `{name}` already declared as {:?}, used as {kind:?}.",
                    sym.kind
                )));
            }
            return Ok((sym.slot, true));
        }
        let slot = p.new_slot();
        scope.vars.insert(name.clone(), Sym { slot, kind });
        return Ok((slot, false));
    }
    Ok((p.new_slot(), false))
}

/// The first node of a pattern: a scan (or an index seek, with `where_clause` offering
/// predicates on it) unless it is bound already, plus its label and property filters.
pub(super) fn node_step(
    p: &mut Planner<'_>,
    mut op: Op,
    scope: &mut Scope,
    node: &NodePattern,
    where_clause: Option<&ast::Expr>,
    preds: &mut Vec<PExpr>,
) -> Result<(Op, usize)> {
    let before = scope.clone();
    let (slot, bound) = bind(p, scope, &node.var, Kind::Node)?;
    let mut labels: Vec<_> = node.labels.iter().map(|l| p.storage.label(l)).collect();
    let mut decided_entry = None;
    if !bound {
        let seek = super::index::choose_seek(
            p,
            &before,
            node.var.as_deref(),
            slot,
            &node.labels,
            node.properties.as_ref(),
            where_clause,
        );
        op = match seek {
            Some((spec, decided)) => {
                labels.retain(|l| *l != spec.label);
                decided_entry = decided;
                Op::IndexSeek {
                    input: Box::new(op),
                    spec: Arc::new(spec),
                }
            }
            None => Op::Scan {
                input: Box::new(op),
                slot,
                label: (!labels.is_empty()).then(|| labels.remove(0)),
            },
        };
    }
    let rest = labels;
    if !rest.is_empty() {
        preds.push(PExpr::HasLabels(Box::new(PExpr::Slot(slot)), rest));
    }
    property_preds(p, scope, slot, &node.properties, decided_entry, preds)?;
    Ok((op, slot))
}

pub(crate) fn plan_match(
    p: &mut Planner<'_>,
    input: Op,
    m: &ast::Match,
    scope: &mut Scope,
) -> Result<Op> {
    if m.optional {
        // The optional part runs per input row over a copy of the scope; variables it introduces
        // become null when it finds nothing.
        let mut inner = scope.clone();
        let sub = plan_patterns(p, Op::Once, &m.patterns, &m.where_clause, &mut inner)?;
        let nullable: Vec<usize> = inner
            .vars
            .iter()
            .filter(|(name, _)| scope.get(name).is_none())
            .map(|(_, sym)| sym.slot)
            .collect();
        *scope = inner;
        return Ok(Op::Optional {
            input: Box::new(input),
            sub: Box::new(sub),
            nullable: Arc::new(nullable),
        });
    }
    plan_patterns(p, input, &m.patterns, &m.where_clause, scope)
}

pub(crate) fn plan_patterns(
    p: &mut Planner<'_>,
    mut op: Op,
    patterns: &[PatternPart],
    where_clause: &Option<ast::Expr>,
    scope: &mut Scope,
) -> Result<Op> {
    // Relationship slots matched by this clause: no two may hold the same edge.
    let mut rel_slots: Vec<usize> = Vec::new();
    let mut list_slots: Vec<usize> = Vec::new();
    for part in patterns {
        if part.kind != PatternKind::Normal {
            op = super::paths::plan_shortest(p, op, scope, part)?;
            continue;
        }
        let mut preds = Vec::new();
        let (next, start) = node_step(
            p,
            op,
            scope,
            &part.element.start,
            where_clause.as_ref(),
            &mut preds,
        )?;
        op = filter(next, std::mem::take(&mut preds));
        let mut node_slots = vec![start];
        let mut path_rels = Vec::new();
        let mut from = start;
        for (rel, node) in &part.element.chain {
            let (next, rel_slot, to) = expand_step(p, op, scope, from, rel, node, &mut preds)?;
            // Edge lists of var-length parts are kept apart by an EdgesDistinct operator.
            let varlen = rel.var_length.is_some();
            let mut distinct_from = Vec::new();
            for other in &rel_slots {
                if varlen || list_slots.contains(other) {
                    distinct_from.push(*other);
                    continue;
                }
                preds.push(PExpr::Compare(
                    Box::new(PExpr::Slot(*other)),
                    vec![(CmpOp::Ne, PExpr::Slot(rel_slot))],
                ));
            }
            rel_slots.push(rel_slot);
            op = filter(next, std::mem::take(&mut preds));
            if !distinct_from.is_empty() {
                op = Op::EdgesDistinct {
                    input: Box::new(op),
                    slot: rel_slot,
                    others: Arc::new(distinct_from),
                };
            }
            if varlen {
                list_slots.push(rel_slot);
            }
            node_slots.push(to);
            path_rels.push(rel_slot);
            from = to;
        }
        if let Some(name) = &part.var {
            let (slot, bound) = bind(p, scope, &Some(name.clone()), Kind::Path)?;
            if bound {
                return Err(QueryError::semantic(format!(
                    "Variable `{name}` already declared."
                )));
            }
            op = Op::ConstructPath {
                input: Box::new(op),
                slot,
                nodes: Arc::new(node_slots),
                rels: Arc::new(path_rels),
            };
        }
    }
    if let Some(w) = where_clause {
        let pred = translate(p, scope, w)?;
        op = filter(op, vec![pred]);
    }
    Ok(op)
}

#[allow(clippy::too_many_arguments)]
fn expand_step(
    p: &mut Planner<'_>,
    op: Op,
    scope: &mut Scope,
    from: usize,
    rel: &RelationshipPattern,
    node: &NodePattern,
    preds: &mut Vec<PExpr>,
) -> Result<(Op, usize, usize)> {
    if let Some(len) = &rel.var_length {
        return super::paths::var_expand_step(p, op, scope, from, rel, len, node, preds);
    }
    let (rel_slot, rel_bound) = bind(p, scope, &rel.var, Kind::Rel)?;
    let (to, to_bound) = bind(p, scope, &node.var, Kind::Node)?;
    let spec = ExpandSpec {
        from,
        rel: rel_slot,
        to,
        dir: match rel.direction {
            ast::Direction::Right => Direction::Out,
            ast::Direction::Left => Direction::In,
            ast::Direction::Both => Direction::Both,
        },
        types: rel.types.iter().map(|t| p.storage.edge_type(t)).collect(),
        to_bound,
        rel_bound,
    };
    let op = Op::Expand {
        input: Box::new(op),
        spec: Arc::new(spec),
    };
    property_preds(p, scope, rel_slot, &rel.properties, None, preds)?;
    if !node.labels.is_empty() {
        let labels = node.labels.iter().map(|l| p.storage.label(l)).collect();
        preds.push(PExpr::HasLabels(Box::new(PExpr::Slot(to)), labels));
    }
    property_preds(p, scope, to, &node.properties, None, preds)?;
    Ok((op, rel_slot, to))
}

/// CREATE patterns -> creation steps, binding new variables in `scope`.
pub(crate) fn plan_create(
    p: &mut Planner<'_>,
    patterns: &[PatternPart],
    scope: &mut Scope,
) -> Result<Vec<CreateStep>> {
    let mut steps = Vec::new();
    for part in patterns {
        if part.kind != PatternKind::Normal {
            return Err(QueryError::semantic(
                "shortestPath cannot be used in CREATE.",
            ));
        }
        let mut nodes = vec![create_node(p, scope, &part.element.start, &mut steps)?];
        let mut rels = Vec::new();
        for (rel, node) in &part.element.chain {
            let from = *nodes.last().unwrap_or(&0);
            let to = create_node(p, scope, node, &mut steps)?;
            if rel.types.len() != 1 {
                return Err(QueryError::semantic(
                    "Exactly one relationship type must be specified for CREATE.",
                ));
            }
            if rel.var_length.is_some() {
                return Err(QueryError::semantic(
                    "Variable length relationships cannot be used in CREATE.",
                ));
            }
            let (from, to) = match rel.direction {
                ast::Direction::Right => (from, to),
                ast::Direction::Left => (to, from),
                ast::Direction::Both => {
                    return Err(QueryError::semantic(
                        "Only directed relationships are supported in CREATE.",
                    ))
                }
            };
            let slot = match &rel.var {
                Some(name) if scope.get(name).is_some() => {
                    return Err(QueryError::semantic(format!(
                        "Variable `{name}` already declared."
                    )))
                }
                var => bind(p, scope, var, Kind::Rel)?.0,
            };
            let props = rel
                .properties
                .as_ref()
                .map(|e| translate(p, scope, e))
                .transpose()?;
            steps.push(CreateStep::Edge {
                slot,
                from,
                to,
                ty: p.storage.edge_type(&rel.types[0]),
                props,
            });
            rels.push(slot);
            nodes.push(if rel.direction == ast::Direction::Left {
                from
            } else {
                to
            });
        }
        if let Some(name) = &part.var {
            let (slot, bound) = bind(p, scope, &Some(name.clone()), Kind::Path)?;
            if bound {
                return Err(QueryError::semantic(format!(
                    "Variable `{name}` already declared."
                )));
            }
            steps.push(CreateStep::Path { slot, nodes, rels });
        }
    }
    Ok(steps)
}

fn create_node(
    p: &mut Planner<'_>,
    scope: &mut Scope,
    node: &NodePattern,
    steps: &mut Vec<CreateStep>,
) -> Result<usize> {
    if let Some(name) = &node.var {
        if let Some(sym) = scope.get(name) {
            if !node.labels.is_empty() || node.properties.is_some() {
                return Err(QueryError::semantic(format!(
                    "Variable `{name}` already declared."
                )));
            }
            return Ok(sym.slot);
        }
    }
    let props = node
        .properties
        .as_ref()
        .map(|e| translate(p, scope, e))
        .transpose()?;
    let (slot, _) = bind(p, scope, &node.var, Kind::Node)?;
    steps.push(CreateStep::Node {
        slot,
        labels: node.labels.iter().map(|l| p.storage.label(l)).collect(),
        props,
    });
    Ok(slot)
}
