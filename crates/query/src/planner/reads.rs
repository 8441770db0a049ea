//! Which clauses read the graph through expressions (pattern predicates, EXISTS, pattern
//! comprehensions): for the eager rules such a clause after a write is a read like MATCH, so
//! its sub-plans see every earlier row's writes (clause-at-a-time semantics).

use cypher::ast::{Clause, Expr, MapProjectionItem, Projection, SetItem};

/// Whether a clause other than MATCH / MERGE evaluates a graph-reading expression.
pub(crate) fn clause_reads_in_exprs(c: &Clause) -> bool {
    match c {
        Clause::Unwind(u) => reads(&u.expr),
        Clause::With(w) => projection(&w.projection) || w.where_clause.as_ref().is_some_and(reads),
        Clause::Return(r) => projection(&r.projection),
        Clause::Set(s) => s.items.iter().any(|i| match i {
            SetItem::Property { entity, value, .. } => reads(entity) || reads(value),
            SetItem::Replace { value, .. } | SetItem::Merge { value, .. } => reads(value),
            SetItem::Labels { .. } => false,
        }),
        Clause::Delete(d) => d.exprs.iter().any(reads),
        Clause::Create(c) => c.patterns.iter().any(|p| {
            let element = &p.element;
            element.start.properties.as_ref().is_some_and(reads)
                || element.chain.iter().any(|(r, n)| {
                    r.properties.as_ref().is_some_and(reads)
                        || n.properties.as_ref().is_some_and(reads)
                })
        }),
        _ => false,
    }
}

fn projection(p: &Projection) -> bool {
    p.items.iter().any(|i| reads(&i.expr))
        || p.order_by.iter().any(|s| reads(&s.expr))
        || p.skip.as_ref().is_some_and(reads)
        || p.limit.as_ref().is_some_and(reads)
}

fn reads(e: &Expr) -> bool {
    let opt = |e: &Option<Box<Expr>>| e.as_deref().is_some_and(reads);
    match e {
        Expr::PatternComprehension { .. } | Expr::Exists(_) | Expr::PatternPredicate(_) => true,
        Expr::Integer(_)
        | Expr::Float(_)
        | Expr::String(_)
        | Expr::Bool(_)
        | Expr::Null
        | Expr::Parameter(_)
        | Expr::Variable(_)
        | Expr::CountStar => false,
        Expr::List(items) | Expr::Or(items) | Expr::Xor(items) | Expr::And(items) => {
            items.iter().any(reads)
        }
        Expr::FunctionCall { args, .. } => args.iter().any(reads),
        Expr::Map(entries) => entries.iter().any(|(_, v)| reads(v)),
        Expr::Property { expr, .. }
        | Expr::HasLabels { expr, .. }
        | Expr::Not(expr)
        | Expr::Unary { expr, .. }
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr) => reads(expr),
        Expr::Index { expr, index } => reads(expr) || reads(index),
        Expr::Slice { expr, from, to } => reads(expr) || opt(from) || opt(to),
        Expr::Comparison { first, rest } => reads(first) || rest.iter().any(|(_, e)| reads(e)),
        Expr::Arithmetic { first, rest } => reads(first) || rest.iter().any(|(_, e)| reads(e)),
        Expr::In { lhs, rhs } | Expr::StringMatch { lhs, rhs, .. } => reads(lhs) || reads(rhs),
        Expr::Case {
            operand,
            whens,
            else_expr,
        } => opt(operand) || whens.iter().any(|(w, t)| reads(w) || reads(t)) || opt(else_expr),
        Expr::ListComprehension {
            list,
            where_clause,
            map,
            ..
        } => reads(list) || opt(where_clause) || opt(map),
        Expr::Quantifier {
            list, where_clause, ..
        } => reads(list) || opt(where_clause),
        Expr::Reduce {
            init, list, expr, ..
        } => reads(init) || reads(list) || reads(expr),
        Expr::MapProjection { items, .. } => items.iter().any(|i| match i {
            MapProjectionItem::Literal(_, e) => reads(e),
            _ => false,
        }),
    }
}
