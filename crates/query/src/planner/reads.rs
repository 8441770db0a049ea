//! Which clauses read the graph through expressions (pattern predicates, EXISTS, pattern
//! comprehensions): for the eager rules such a clause after a write is a read like MATCH, so
//! its sub-plans see every earlier row's writes (clause-at-a-time semantics).

use cypher::ast::{
    Clause, Create, Expr, MapProjectionItem, Match, PatternKind, Projection, SetItem,
};

use super::Scope;

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
        Clause::LoadCsv(l) => [
            Some(&l.path),
            l.delimiter.as_ref(),
            l.quote.as_ref(),
            l.nullif.as_ref(),
        ]
        .into_iter()
        .flatten()
        .any(reads),
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

/// Whether a MATCH sees nothing but nodes: no relationship, path search or graph-reading
/// expression. Writes that only add relationships cannot change what such a MATCH finds.
pub(crate) fn match_sees_only_nodes(m: &Match) -> bool {
    m.patterns.iter().all(|p| {
        p.kind == PatternKind::Normal
            && p.element.chain.is_empty()
            && !p.element.start.properties.as_ref().is_some_and(reads)
    }) && !m.where_clause.as_ref().is_some_and(reads)
}

/// Whether a CREATE only adds relationships between nodes bound before it (`(a)-[:R]->(b)`):
/// it creates no node and sets no label or node property.
pub(crate) fn creates_only_relationships(c: &Create, scope: &Scope) -> bool {
    let bound = |n: &cypher::ast::NodePattern| {
        n.labels.is_empty()
            && n.properties.is_none()
            && n.var.as_ref().is_some_and(|v| scope.get(v).is_some())
    };
    c.patterns.iter().all(|p| {
        bound(&p.element.start)
            && p.element
                .chain
                .iter()
                .all(|(r, n)| bound(n) && !r.properties.as_ref().is_some_and(reads))
    })
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
