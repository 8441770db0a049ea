//! MERGE -> a match sub-plan, creation steps, and the ON MATCH / ON CREATE items.
//!
//! The pattern is planned twice over copies of the scope: once as a MATCH (run per input row by
//! the Merge operator, see `ops/merge.rs`) and once as a CREATE for when that finds nothing.
//! The two sides give the pattern's new variables different slots; the operator moves the
//! created values into the match side's slots, which are the ones later clauses see.

use std::sync::Arc;

use cypher::ast::{self, PatternPart};

use super::{pattern, plan_set_item, Planner, Scope};
use crate::error::{QueryError, Result};
use crate::ops::MergeSpec;
use crate::plan::Op;

pub(crate) fn plan_merge(
    p: &mut Planner<'_>,
    input: Op,
    m: &ast::Merge,
    scope: &mut Scope,
) -> Result<Op> {
    let part = &m.pattern;
    check(part, scope)?;

    let mut matched = scope.clone();
    let sub = pattern::plan_patterns(p, Op::Once, std::slice::from_ref(part), &None, &mut matched)?;

    // An undirected MERGE matches either direction but creates left to right.
    let mut directed = part.clone();
    for (rel, _) in &mut directed.element.chain {
        if rel.direction == ast::Direction::Both {
            rel.direction = ast::Direction::Right;
        }
    }
    let mut created = scope.clone();
    let create = pattern::plan_create(p, std::slice::from_ref(&directed), &mut created)?;

    let mut moves: Vec<(usize, usize)> = matched
        .vars
        .iter()
        .filter(|(name, _)| scope.get(name).is_none())
        .filter_map(|(name, sym)| created.get(name).map(|c| (c.slot, sym.slot)))
        .collect();
    moves.sort_unstable();
    *scope = matched;

    let items = |p: &mut Planner<'_>, items: &[ast::SetItem]| {
        items
            .iter()
            .map(|item| plan_set_item(p, scope, item))
            .collect::<Result<Vec<_>>>()
    };
    let on_match = items(p, &m.on_match)?;
    let on_create = items(p, &m.on_create)?;
    Ok(Op::Merge {
        input: Box::new(input),
        sub: Box::new(sub),
        spec: Arc::new(MergeSpec {
            create,
            moves,
            on_match,
            on_create,
        }),
    })
}

/// The restrictions MERGE adds to a pattern that MATCH and CREATE would both accept.
fn check(part: &PatternPart, scope: &Scope) -> Result<()> {
    if part.kind != ast::PatternKind::Normal {
        return Err(QueryError::semantic(
            "shortestPath cannot be used in MERGE.",
        ));
    }
    let props_ok = |props: &Option<ast::Expr>| match props {
        None | Some(ast::Expr::Map(_)) => Ok(()),
        Some(_) => Err(QueryError::semantic(
            "Invalid parameter use: properties in a MERGE pattern must be a map literal.",
        )),
    };
    let start = &part.element.start;
    props_ok(&start.properties)?;
    if part.element.chain.is_empty() {
        if let Some(name) = &start.var {
            if scope.get(name).is_some() {
                return Err(QueryError::semantic(format!(
                    "Variable `{name}` already declared (variable already bound)."
                )));
            }
        }
    }
    for (rel, node) in &part.element.chain {
        props_ok(&rel.properties)?;
        props_ok(&node.properties)?;
        if rel.var_length.is_some() {
            return Err(QueryError::semantic(
                "Variable length relationships cannot be used in MERGE.",
            ));
        }
        if rel.types.len() != 1 {
            return Err(QueryError::semantic(
                "Exactly one relationship type must be specified for MERGE.",
            ));
        }
    }
    Ok(())
}
