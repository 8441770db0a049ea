//! RETURN / WITH: projection, aggregation, DISTINCT, ORDER BY, SKIP, LIMIT.

use std::sync::Arc;

use cypher::ast::{self, Projection};

use super::expr::{contains_aggregate, translate, translate_aggregated, AggCtx};
use super::{Kind, Planner, Scope, Sym};
use crate::error::{QueryError, Result};
use crate::expr::PExpr;
use crate::plan::Op;

pub(crate) struct ProjectionPlan {
    pub op: Op,
    pub columns: Vec<String>,
    pub slots: Vec<usize>,
}

fn kind_of(e: &ast::Expr, scope: &Scope) -> Kind {
    match e {
        ast::Expr::Variable(v) => scope.get(v).map_or(Kind::Any, |s| s.kind),
        _ => Kind::Any,
    }
}

/// Plans a projection; on return `scope` holds exactly the projected names.
pub(crate) fn plan_projection(
    p: &mut Planner<'_>,
    input: Op,
    proj: &Projection,
    scope: &mut Scope,
) -> Result<ProjectionPlan> {
    // (column name, expression) pairs, `*` expanded to the named variables in name order.
    let mut items: Vec<(String, ast::Expr)> = Vec::new();
    if proj.star {
        let mut names: Vec<&String> = scope.vars.keys().collect();
        names.sort();
        for n in names {
            items.push((n.clone(), ast::Expr::Variable(n.clone())));
        }
        if items.is_empty() && proj.items.is_empty() {
            return Err(QueryError::semantic(
                "RETURN * is not allowed when there are no variables in scope.",
            ));
        }
    }
    for item in &proj.items {
        items.push((item.column_name().to_string(), item.expr.clone()));
    }
    for (i, (name, _)) in items.iter().enumerate() {
        if items[..i].iter().any(|(n, _)| n == name) {
            return Err(QueryError::semantic(format!(
                "Multiple result columns with the same name `{name}` are not supported."
            )));
        }
    }

    let aggregating = items.iter().any(|(_, e)| contains_aggregate(e));
    let slots: Vec<usize> = items.iter().map(|_| p.new_slot()).collect();
    let mut new_scope = Scope::default();
    for ((name, e), slot) in items.iter().zip(&slots) {
        new_scope.vars.insert(
            name.clone(),
            Sym {
                slot: *slot,
                kind: kind_of(e, scope),
            },
        );
    }

    let mut op;
    let mut agg_order = None;
    if aggregating {
        // Grouping keys: the items without aggregates; the rest is computed after aggregation.
        let mut key_exprs: Vec<(ast::Expr, usize)> = Vec::new();
        let mut keys = Vec::new();
        for ((_, e), slot) in items.iter().zip(&slots) {
            if !contains_aggregate(e) {
                keys.push((translate(p, scope, e)?, *slot));
                key_exprs.push((e.clone(), *slot));
            }
        }
        let mut agg = AggCtx {
            keys: &key_exprs,
            aggs: Vec::new(),
            locals: Vec::new(),
        };
        let mut post = Vec::new();
        for ((_, e), slot) in items.iter().zip(&slots) {
            if contains_aggregate(e) {
                let pe = translate_aggregated(p, scope, e, &mut agg)?;
                // An item that is exactly one aggregate: let Aggregate write its slot directly.
                match (&pe, agg.aggs.last_mut()) {
                    (PExpr::Slot(s), Some(last)) if *s == last.slot => last.slot = *slot,
                    _ => post.push((pe, *slot)),
                }
            }
        }
        // ORDER BY after aggregation: projected names, grouping keys and further aggregates.
        if !proj.order_by.is_empty() {
            agg_order = Some(plan_aggregated_order(
                p, scope, proj, &items, &slots, &mut agg,
            )?);
        }
        op = super::parallel::aggregate(p, input, keys, agg.aggs);
        // Items like `count(*) + 1` are computed from the aggregate slots.
        if !post.is_empty() {
            op = Op::Project {
                input: Box::new(op),
                items: Arc::new(post),
            };
        }
    } else {
        let exprs = items
            .iter()
            .zip(&slots)
            .map(|((_, e), slot)| Ok((translate(p, scope, e)?, *slot)))
            .collect::<Result<Vec<_>>>()?;
        op = Op::Project {
            input: Box::new(input),
            items: Arc::new(exprs),
        };
    }

    if proj.distinct {
        op = Op::Distinct {
            input: Box::new(op),
            slots: Arc::new(slots.clone()),
        };
    }
    if let Some(keys) = agg_order {
        op = Op::OrderBy {
            input: Box::new(op),
            keys: Arc::new(keys),
            keep: None,
        };
    } else if !proj.order_by.is_empty() {
        // ORDER BY sees the projected names and, for a plain projection, the old variables too.
        let mut order_scope = if aggregating || proj.distinct {
            Scope::default()
        } else {
            scope.clone()
        };
        for (name, sym) in &new_scope.vars {
            order_scope.vars.insert(name.clone(), *sym);
        }
        let keys = proj
            .order_by
            .iter()
            .map(|s| {
                Ok((
                    order_key(p, &order_scope, &items, &slots, &s.expr)?,
                    s.ascending,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        op = Op::OrderBy {
            input: Box::new(op),
            keys: Arc::new(keys),
            keep: None,
        };
    }
    // SKIP / LIMIT may only use parameters and literals.
    let empty = Scope::default();
    if let (Op::OrderBy { keep, .. }, Some(limit)) = (&mut op, &proj.limit) {
        let skip = proj
            .skip
            .as_ref()
            .map(|s| translate(p, &empty, s))
            .transpose()?;
        *keep = Some(Arc::new((skip, translate(p, &empty, limit)?)));
    }
    if let Some(skip) = &proj.skip {
        op = Op::Skip {
            input: Box::new(op),
            count: Arc::new(translate(p, &empty, skip)?),
        };
    }
    if let Some(limit) = &proj.limit {
        op = Op::Limit {
            input: Box::new(op),
            count: Arc::new(translate(p, &empty, limit)?),
        };
    }
    *scope = new_scope;
    Ok(ProjectionPlan {
        op,
        columns: items.into_iter().map(|(n, _)| n).collect(),
        slots,
    })
}

/// An ORDER BY key equal to a projected expression sorts by that item's slot.
fn order_key(
    p: &mut Planner<'_>,
    scope: &Scope,
    items: &[(String, ast::Expr)],
    slots: &[usize],
    e: &ast::Expr,
) -> Result<PExpr> {
    if let Some(i) = items.iter().position(|(_, ie)| ie == e) {
        return Ok(PExpr::Slot(slots[i]));
    }
    translate(p, scope, e)
}

/// ORDER BY keys of an aggregating projection, translated before the Aggregate operator is
/// built so that aggregates used only for sorting are computed with the others. Sub-expressions
/// equal to a projected expression, and the projected names, read the projected slots.
fn plan_aggregated_order(
    p: &mut Planner<'_>,
    scope: &Scope,
    proj: &Projection,
    items: &[(String, ast::Expr)],
    slots: &[usize],
    agg: &mut AggCtx<'_>,
) -> Result<Vec<(PExpr, bool)>> {
    let mut keys: Vec<(ast::Expr, usize)> = agg.keys.to_vec();
    for ((name, e), slot) in items.iter().zip(slots) {
        if !contains_aggregate(e) {
            keys.push((e.clone(), *slot));
        }
        keys.push((ast::Expr::Variable(name.clone()), *slot));
    }
    let mut ctx = AggCtx {
        keys: &keys,
        aggs: std::mem::take(&mut agg.aggs),
        locals: Vec::new(),
    };
    let mut out = Vec::new();
    for s in &proj.order_by {
        let key = match items.iter().position(|(_, ie)| *ie == s.expr) {
            Some(i) => PExpr::Slot(slots[i]),
            None => translate_aggregated(p, scope, &s.expr, &mut ctx)?,
        };
        out.push((key, s.ascending));
    }
    agg.aggs = ctx.aggs;
    Ok(out)
}
