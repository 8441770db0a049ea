//! Semantic analysis: the checks Neo4j (and the openCypher TCK) make at compile time.
//!
//! A pass over the AST with scopes, run before planning so that a query using a feature the
//! planner does not support yet still gets its semantic error first. Every error here is a
//! compile-time error, which Neo4j reports as `Neo.ClientError.Statement.SyntaxError`.
//! Types are inferred only as far as literals and pattern variables tell; anything else is
//! [`Ty::Any`] and passes every check.

use std::collections::HashMap;

use cypher::ast::{
    self, ArithmeticOp, Clause, Expr, NodePattern, PatternElement, PatternPart, Projection,
    RelationshipPattern, SetItem,
};

use crate::error::{QueryError, Result};
use crate::ops::AggFunc;

/// What a variable or expression is known to hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Node,
    Rel,
    /// A variable-length relationship variable.
    RelList,
    Path,
    Bool,
    Int,
    Float,
    Str,
    List,
    Map,
    Null,
    Any,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Node => "Node",
            Ty::Rel => "Relationship",
            Ty::RelList => "List<Relationship>",
            Ty::Path => "Path",
            Ty::Bool => "Boolean",
            Ty::Int => "Integer",
            Ty::Float => "Float",
            Ty::Str => "String",
            Ty::List => "List",
            Ty::Map => "Map",
            Ty::Null => "Null",
            Ty::Any => "Any",
        }
    }

    /// Values that can never be a boolean operand.
    fn not_boolean(self) -> bool {
        !matches!(self, Ty::Bool | Ty::Null | Ty::Any)
    }

    fn is_entity(self) -> bool {
        matches!(self, Ty::Node | Ty::Rel | Ty::Path | Ty::RelList)
    }
}

type Scope = HashMap<String, Ty>;

fn syntax(msg: impl Into<String>) -> QueryError {
    QueryError::Syntax(msg.into())
}

fn conflict(name: &str, was: Ty, now: Ty) -> QueryError {
    syntax(format!(
        "Type mismatch: `{name}` defined with conflicting type {} (expected {}).",
        was.name(),
        now.name()
    ))
}

fn invalid_arg(what: &str, ty: Ty) -> QueryError {
    syntax(format!(
        "Type mismatch: {what} cannot be applied to a value of type {}.",
        ty.name()
    ))
}

/// Checks a whole regular query (the statement's UNION branches).
pub(crate) fn check_query(q: &ast::Query) -> Result<()> {
    if let Some(first) = q.unions.first() {
        if q.unions.iter().any(|u| u.all != first.all) {
            return Err(syntax(
                "Invalid combination of UNION and UNION ALL: use one or the other.",
            ));
        }
    }
    check_single(&q.first, &Scope::new())?;
    for u in &q.unions {
        check_single(&u.query, &Scope::new())?;
    }
    Ok(())
}

fn check_single(q: &ast::SingleQuery, outer: &Scope) -> Result<()> {
    let mut scope = outer.clone();
    for clause in &q.clauses {
        match clause {
            Clause::Match(m) => {
                check_patterns(&mut scope, &m.patterns, PatternCtx::Match)?;
                if let Some(w) = &m.where_clause {
                    check_expr(&scope, w, false)?;
                }
            }
            Clause::Unwind(u) => {
                check_expr(&scope, &u.expr, false)?;
                scope.insert(u.var.clone(), Ty::Any);
            }
            Clause::With(w) => {
                let keep_old = !w.projection.distinct
                    && !w.projection.items.iter().any(|i| has_aggregate(&i.expr));
                let before = scope.clone();
                scope = check_projection(&scope, &w.projection)?;
                if let Some(pred) = &w.where_clause {
                    // WHERE after a plain WITH also sees the variables bound before it.
                    let mut where_scope = if keep_old { before } else { Scope::new() };
                    where_scope.extend(scope.iter().map(|(k, v)| (k.clone(), *v)));
                    check_expr(&where_scope, pred, false)?;
                }
            }
            Clause::Return(r) => {
                scope = check_projection(&scope, &r.projection)?;
            }
            Clause::Create(c) => check_patterns(&mut scope, &c.patterns, PatternCtx::Create)?,
            Clause::Merge(m) => {
                check_patterns(
                    &mut scope,
                    std::slice::from_ref(&m.pattern),
                    PatternCtx::Merge,
                )?;
                for item in m.on_create.iter().chain(&m.on_match) {
                    check_set_item(&scope, item)?;
                }
            }
            Clause::Set(s) => {
                for item in &s.items {
                    check_set_item(&scope, item)?;
                }
            }
            Clause::Remove(r) => {
                for item in &r.items {
                    match item {
                        ast::RemoveItem::Property { entity, .. } => {
                            check_expr(&scope, entity, false)?;
                        }
                        ast::RemoveItem::Labels { var, .. } => {
                            lookup(&scope, var)?;
                        }
                    }
                }
            }
            Clause::Delete(d) => {
                for e in &d.exprs {
                    let ty = check_expr(&scope, e, false)?;
                    if matches!(e, Expr::HasLabels { .. }) {
                        return Err(syntax(
                            "DELETE does not support removing labels from a node. Use REMOVE.",
                        ));
                    }
                    if !ty.is_entity() && !matches!(ty, Ty::Any | Ty::Null) {
                        return Err(invalid_arg("DELETE", ty));
                    }
                }
            }
            Clause::Call(c) => {
                for a in c.args.iter().flatten() {
                    check_expr(&scope, a, false)?;
                }
                match &c.yields {
                    Some(ast::YieldSpec::Items(items)) => {
                        for y in items {
                            scope.insert(
                                y.alias.clone().unwrap_or_else(|| y.field.clone()),
                                Ty::Any,
                            );
                        }
                    }
                    // `YIELD *` binds every output of the signature (the planner reports an
                    // unknown procedure).
                    _ => {
                        if let Ok(p) = crate::procedures::resolve(&c.procedure) {
                            for (name, _) in p.fields {
                                scope.insert(name.to_string(), Ty::Any);
                            }
                        }
                    }
                }
                if let Some(w) = &c.where_clause {
                    check_expr(&scope, w, false)?;
                }
            }
            Clause::LoadCsv(l) => {
                check_expr(&scope, &l.path, false)?;
                for option in [&l.delimiter, &l.quote, &l.nullif].into_iter().flatten() {
                    check_expr(&scope, option, false)?;
                }
                scope.insert(l.var.clone(), Ty::Any);
            }
        }
    }
    Ok(())
}

fn lookup(scope: &Scope, name: &str) -> Result<Ty> {
    scope
        .get(name)
        .copied()
        .ok_or_else(|| syntax(format!("Variable `{name}` not defined.")))
}

fn check_set_item(scope: &Scope, item: &SetItem) -> Result<()> {
    match item {
        SetItem::Property { entity, value, .. } => {
            check_expr(scope, entity, false)?;
            check_expr(scope, value, false)?;
        }
        SetItem::Replace { var, value } | SetItem::Merge { var, value } => {
            lookup(scope, var)?;
            check_expr(scope, value, false)?;
        }
        SetItem::Labels { var, .. } => {
            lookup(scope, var)?;
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PatternCtx {
    Match,
    Create,
    Merge,
}

/// Binds the variables of the patterns of one clause, checking kinds and reuse.
fn check_patterns(scope: &mut Scope, parts: &[PatternPart], ctx: PatternCtx) -> Result<()> {
    // Variables introduced by this clause, with their kind.
    let mut new: Scope = Scope::new();
    // Relationship variables seen in this clause (uniqueness).
    let mut rels: Vec<&str> = Vec::new();
    for part in parts {
        if let Some(path) = &part.var {
            bind(scope, &mut new, path, Ty::Path, ctx, false)?;
        }
        check_element(scope, &mut new, &mut rels, &part.element, ctx)?;
    }
    // Property maps may refer to variables bound earlier in the same clause.
    for part in parts {
        check_element_props(scope, &new, &part.element, ctx)?;
    }
    scope.extend(new);
    Ok(())
}

fn check_element<'a>(
    scope: &Scope,
    new: &mut Scope,
    rels: &mut Vec<&'a str>,
    el: &'a PatternElement,
    ctx: PatternCtx,
) -> Result<()> {
    let single_node = el.chain.is_empty();
    check_node(scope, new, &el.start, ctx, single_node)?;
    for (rel, node) in &el.chain {
        check_rel(scope, new, rels, rel, ctx)?;
        check_node(scope, new, node, ctx, false)?;
    }
    Ok(())
}

fn check_node(
    scope: &Scope,
    new: &mut Scope,
    n: &NodePattern,
    ctx: PatternCtx,
    single: bool,
) -> Result<()> {
    if let Some(v) = &n.var {
        // In CREATE / MERGE a bound node may only be referred to, plainly, inside a longer pattern.
        let restate = single || !n.labels.is_empty() || n.properties.is_some();
        bind(scope, new, v, Ty::Node, ctx, restate)?;
    }
    Ok(())
}

fn check_rel<'a>(
    scope: &Scope,
    new: &mut Scope,
    rels: &mut Vec<&'a str>,
    r: &'a RelationshipPattern,
    ctx: PatternCtx,
) -> Result<()> {
    let ty = if r.var_length.is_some() {
        Ty::RelList
    } else {
        Ty::Rel
    };
    if let Some(v) = &r.var {
        if rels.contains(&v.as_str()) {
            return Err(syntax(format!(
                "Cannot use the same relationship variable '{v}' for multiple relationships."
            )));
        }
        rels.push(v);
        bind(scope, new, v, ty, ctx, true)?;
    }
    if ctx != PatternCtx::Match {
        if r.var_length.is_some() {
            return Err(syntax(
                "Variable length relationships cannot be used in CREATE or MERGE.",
            ));
        }
        if r.types.len() != 1 {
            return Err(syntax(
                "A single relationship type must be specified for CREATE and MERGE.",
            ));
        }
        if ctx == PatternCtx::Create && r.direction == ast::Direction::Both {
            return Err(syntax(
                "Only directed relationships are supported in CREATE.",
            ));
        }
    }
    Ok(())
}

/// Binds `name` as `ty` in the clause being checked.
fn bind(
    scope: &Scope,
    new: &mut Scope,
    name: &str,
    ty: Ty,
    ctx: PatternCtx,
    restate_is_error: bool,
) -> Result<()> {
    if let Some(&was) = new.get(name) {
        if was != ty || ty == Ty::Path || was == Ty::RelList {
            return Err(if was == ty {
                syntax(format!("Variable `{name}` already declared."))
            } else {
                conflict(name, was, ty)
            });
        }
        return Ok(());
    }
    if let Some(&was) = scope.get(name) {
        // A bound list of relationships may be matched again as a variable-length relationship.
        let compatible = ty != Ty::Path
            && (was == ty
                || matches!(was, Ty::Any | Ty::Null)
                || (ty == Ty::RelList && was == Ty::List));
        if !compatible {
            return Err(if ty == Ty::Path {
                syntax(format!("Variable `{name}` already declared."))
            } else {
                conflict(name, was, ty)
            });
        }
        if ctx != PatternCtx::Match && (restate_is_error || ty != Ty::Node) {
            return Err(syntax(format!("Variable `{name}` already declared.")));
        }
        return Ok(());
    }
    new.insert(name.to_string(), ty);
    Ok(())
}

fn check_element_props(
    scope: &Scope,
    new: &Scope,
    el: &PatternElement,
    ctx: PatternCtx,
) -> Result<()> {
    let mut all = scope.clone();
    all.extend(new.iter().map(|(k, v)| (k.clone(), *v)));
    let props = std::iter::once(&el.start.properties).chain(
        el.chain
            .iter()
            .flat_map(|(r, n)| [&r.properties, &n.properties]),
    );
    for p in props.flatten() {
        if matches!(p, Expr::Parameter(_)) && ctx != PatternCtx::Create {
            return Err(syntax(
                "Parameter maps cannot be used in MATCH or MERGE patterns (use a literal map, e.g. `{id: $param.id}`).",
            ));
        }
        check_expr(&all, p, false)?;
    }
    Ok(())
}

/// Checks a RETURN / WITH projection; returns the scope after it.
fn check_projection(scope: &Scope, proj: &Projection) -> Result<Scope> {
    let mut out = Scope::new();
    if proj.star {
        if scope.is_empty() && proj.items.is_empty() {
            return Err(syntax(
                "RETURN * is not allowed when there are no variables in scope.",
            ));
        }
        out = scope.clone();
    }
    let mut aggregating = false;
    for item in &proj.items {
        let ty = check_expr(scope, &item.expr, true)?;
        aggregating |= has_aggregate(&item.expr);
        out.insert(item.column_name().to_string(), ty);
    }
    if !proj.order_by.is_empty() {
        let mut order_scope = if aggregating || proj.distinct {
            // After aggregation or DISTINCT only the projected names and the projected
            // expressions themselves are available.
            Scope::new()
        } else {
            scope.clone()
        };
        order_scope.extend(out.iter().map(|(k, v)| (k.clone(), *v)));
        for s in &proj.order_by {
            if proj.items.iter().any(|i| i.expr == s.expr) {
                continue;
            }
            if aggregating || proj.distinct {
                // An expression over the grouping keys / projected expressions is fine.
                let keys: Vec<&Expr> = proj.items.iter().map(|i| &i.expr).collect();
                check_over_keys(&order_scope, scope, &keys, &s.expr, aggregating)?;
            } else {
                check_expr(&order_scope, &s.expr, aggregating)?;
            }
        }
    }
    for e in proj.skip.iter().chain(&proj.limit) {
        check_row_count(e)?;
    }
    Ok(out)
}

/// ORDER BY after an aggregating or DISTINCT projection: sub-expressions equal to a projected
/// expression are keys; other variables must be projected names.
fn check_over_keys(
    order_scope: &Scope,
    input: &Scope,
    keys: &[&Expr],
    e: &Expr,
    aggregating: bool,
) -> Result<()> {
    if keys.contains(&e) {
        return Ok(());
    }
    match e {
        Expr::Variable(v) => {
            if order_scope.contains_key(v) {
                Ok(())
            } else if input.contains_key(v) && aggregating {
                Err(syntax(format!(
                    "Variable `{v}` in ORDER BY is not a grouping key of the aggregation."
                )))
            } else {
                Err(syntax(format!("Variable `{v}` not defined.")))
            }
        }
        e if is_aggregate_call(e) => {
            if !aggregating {
                return Err(syntax(
                    "Aggregation functions in ORDER BY need an aggregating projection.",
                ));
            }
            // An aggregate that is not projected may only use the projected names.
            check_expr(order_scope, e, true).map(|_| ())
        }
        Expr::ListComprehension { .. }
        | Expr::Quantifier { .. }
        | Expr::Reduce { .. }
        | Expr::PatternComprehension { .. }
        | Expr::Exists(_)
        | Expr::PatternPredicate(_) => check_expr(order_scope, e, false).map(|_| ()),
        _ => {
            let mut res = Ok(());
            for_children(e, &mut |c| {
                if res.is_ok() {
                    res = check_over_keys(order_scope, input, keys, c, aggregating);
                }
            });
            res
        }
    }
}

/// SKIP / LIMIT: a constant, non-negative integer.
fn check_row_count(e: &Expr) -> Result<()> {
    let mut vars = false;
    walk(e, &mut |x| vars |= matches!(x, Expr::Variable(_)));
    if vars {
        return Err(syntax(
            "It is not allowed to refer to variables in SKIP or LIMIT.",
        ));
    }
    match e {
        Expr::Integer(i) if *i < 0 => Err(syntax(format!(
            "Invalid input. '{i}' is not a valid value. Must be a non-negative integer."
        ))),
        Expr::Unary {
            op: ast::UnaryOp::Minus,
            expr,
        } if matches!(**expr, Expr::Integer(i) if i > 0) => {
            Err(syntax("Invalid input. Must be a non-negative integer."))
        }
        Expr::Float(f) => Err(syntax(format!(
            "Invalid input. '{f}' is not a valid value. Must be a non-negative integer."
        ))),
        _ => Ok(()),
    }
}

fn is_aggregate_call(e: &Expr) -> bool {
    match e {
        Expr::CountStar => true,
        Expr::FunctionCall { name, .. } => AggFunc::resolve(name).is_some(),
        _ => false,
    }
}

fn has_aggregate(e: &Expr) -> bool {
    let mut found = false;
    walk_shallow(e, &mut |x| found |= is_aggregate_call(x));
    found
}

/// Visits `e` and its sub-expressions, not entering nested scopes' bodies (comprehensions,
/// subqueries): aggregates there belong to no projection.
fn walk_shallow(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match e {
        Expr::ListComprehension { list, .. }
        | Expr::Quantifier { list, .. }
        | Expr::Reduce { list, .. } => walk_shallow(list, f),
        Expr::PatternComprehension { .. } | Expr::Exists(_) | Expr::PatternPredicate(_) => {}
        _ => for_children(e, &mut |c| walk_shallow(c, f)),
    }
}

pub(crate) fn walk(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    for_children(e, &mut |c| walk(c, f));
}

/// The direct sub-expressions of `e` (pattern and subquery contents excluded).
fn for_children(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    match e {
        Expr::Integer(_)
        | Expr::Float(_)
        | Expr::String(_)
        | Expr::Bool(_)
        | Expr::Null
        | Expr::Parameter(_)
        | Expr::Variable(_)
        | Expr::CountStar
        | Expr::Exists(_)
        | Expr::PatternPredicate(_)
        | Expr::MapProjection { .. } => {}
        Expr::List(items) | Expr::Or(items) | Expr::Xor(items) | Expr::And(items) => {
            items.iter().for_each(f)
        }
        Expr::Map(items) => items.iter().for_each(|(_, v)| f(v)),
        Expr::Property { expr, .. }
        | Expr::HasLabels { expr, .. }
        | Expr::Not(expr)
        | Expr::Unary { expr, .. }
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr) => f(expr),
        Expr::Index { expr, index } => {
            f(expr);
            f(index);
        }
        Expr::Slice { expr, from, to } => {
            f(expr);
            from.iter().for_each(|x| f(x));
            to.iter().for_each(|x| f(x));
        }
        Expr::Comparison { first, rest } => {
            f(first);
            rest.iter().for_each(|(_, x)| f(x));
        }
        Expr::Arithmetic { first, rest } => {
            f(first);
            rest.iter().for_each(|(_, x)| f(x));
        }
        Expr::In { lhs, rhs } | Expr::StringMatch { lhs, rhs, .. } => {
            f(lhs);
            f(rhs);
        }
        Expr::FunctionCall { args, .. } => args.iter().for_each(f),
        Expr::Case {
            operand,
            whens,
            else_expr,
        } => {
            operand.iter().for_each(|x| f(x));
            for (w, t) in whens {
                f(w);
                f(t);
            }
            else_expr.iter().for_each(|x| f(x));
        }
        Expr::ListComprehension {
            list,
            where_clause,
            map,
            ..
        } => {
            f(list);
            where_clause.iter().for_each(|x| f(x));
            map.iter().for_each(|x| f(x));
        }
        Expr::Quantifier {
            list, where_clause, ..
        } => {
            f(list);
            where_clause.iter().for_each(|x| f(x));
        }
        Expr::Reduce {
            init, list, expr, ..
        } => {
            f(init);
            f(list);
            f(expr);
        }
        Expr::PatternComprehension {
            where_clause, map, ..
        } => {
            where_clause.iter().for_each(|x| f(x));
            f(map);
        }
    }
}

/// The element type of a list literal when all its items agree.
fn element_ty(scope: &Scope, list: &Expr) -> Ty {
    match list {
        Expr::List(items) if !items.is_empty() => {
            let tys: Vec<Ty> = items.iter().map(|i| infer(scope, i)).collect();
            if tys.iter().all(|t| *t == tys[0]) {
                tys[0]
            } else {
                Ty::Any
            }
        }
        _ => Ty::Any,
    }
}

/// The statically known type of `e` (no checks).
fn infer(scope: &Scope, e: &Expr) -> Ty {
    match e {
        Expr::Integer(_) => Ty::Int,
        Expr::Float(_) => Ty::Float,
        Expr::String(_) => Ty::Str,
        Expr::Bool(_) => Ty::Bool,
        Expr::Null => Ty::Null,
        Expr::List(_) | Expr::ListComprehension { .. } | Expr::PatternComprehension { .. } => {
            Ty::List
        }
        Expr::Map(_) | Expr::MapProjection { .. } => Ty::Map,
        Expr::Variable(v) => scope.get(v).copied().unwrap_or(Ty::Any),
        Expr::Or(_)
        | Expr::Xor(_)
        | Expr::And(_)
        | Expr::Not(_)
        | Expr::Comparison { .. }
        | Expr::In { .. }
        | Expr::StringMatch { .. }
        | Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::HasLabels { .. }
        | Expr::Quantifier { .. }
        | Expr::Exists(_)
        | Expr::PatternPredicate(_) => Ty::Bool,
        _ => Ty::Any,
    }
}

/// Checks an expression in `scope`; `agg_ok` says whether aggregates may appear (RETURN / WITH
/// items). Returns its inferred type.
fn check_expr(scope: &Scope, e: &Expr, agg_ok: bool) -> Result<Ty> {
    match e {
        Expr::Variable(v) => return lookup(scope, v),
        Expr::CountStar if !agg_ok => {
            return Err(syntax(
                "Invalid use of aggregating function count(...) in this context.",
            ));
        }
        Expr::FunctionCall { name, args, .. } => {
            let agg = AggFunc::resolve(name).is_some();
            if agg && !agg_ok {
                return Err(syntax(format!(
                    "Invalid use of aggregating function {name}(...) in this context."
                )));
            }
            if agg && args.iter().any(calls_rand) {
                return Err(syntax(
                    "Can't use non-deterministic (random) functions inside of aggregate functions.",
                ));
            }
            if agg && args.iter().any(has_aggregate) {
                return Err(syntax(
                    "Can't use aggregate functions inside of aggregate functions.",
                ));
            }
            let mut tys = Vec::new();
            for a in args {
                tys.push(check_expr(scope, a, agg_ok && !agg)?);
            }
            check_function_args(name, &tys)?;
            return Ok(infer(scope, e));
        }
        Expr::Or(items) | Expr::Xor(items) | Expr::And(items) => {
            for i in items {
                let t = check_expr(scope, i, agg_ok)?;
                if t.not_boolean() {
                    return Err(invalid_arg("a boolean operator", t));
                }
            }
            return Ok(Ty::Bool);
        }
        Expr::Not(x) => {
            let t = check_expr(scope, x, agg_ok)?;
            if t.not_boolean() {
                return Err(invalid_arg("NOT", t));
            }
            return Ok(Ty::Bool);
        }
        Expr::Arithmetic { first, rest } => {
            let mut tys = vec![check_expr(scope, first, agg_ok)?];
            for (_, x) in rest {
                tys.push(check_expr(scope, x, agg_ok)?);
            }
            for (i, (op, _)) in rest.iter().enumerate() {
                if *op != ArithmeticOp::Add {
                    for t in [tys[i], tys[i + 1]] {
                        if matches!(t, Ty::Str | Ty::Bool | Ty::List | Ty::Map) || t.is_entity() {
                            return Err(invalid_arg("an arithmetic operator", t));
                        }
                    }
                }
            }
            // Literal numbers stay numbers: `1 + 1` is an Integer.
            return Ok(if tys.iter().all(|t| *t == Ty::Int) {
                Ty::Int
            } else if tys.iter().all(|t| matches!(t, Ty::Int | Ty::Float)) {
                Ty::Float
            } else {
                Ty::Any
            });
        }
        Expr::In { lhs, rhs } => {
            check_expr(scope, lhs, agg_ok)?;
            let t = check_expr(scope, rhs, agg_ok)?;
            if !matches!(t, Ty::List | Ty::Null | Ty::Any | Ty::RelList) {
                return Err(invalid_arg("IN", t));
            }
            return Ok(Ty::Bool);
        }
        Expr::Property { expr, .. } => {
            let t = check_expr(scope, expr, agg_ok)?;
            if matches!(
                t,
                Ty::Int | Ty::Float | Ty::Str | Ty::Bool | Ty::List | Ty::Path | Ty::RelList
            ) {
                return Err(invalid_arg("property access", t));
            }
            return Ok(Ty::Any);
        }
        Expr::ListComprehension {
            var,
            list,
            where_clause,
            map,
        } => {
            check_expr(scope, list, agg_ok)?;
            let mut inner = scope.clone();
            inner.insert(var.clone(), element_ty(scope, list));
            if let Some(w) = where_clause {
                check_expr(&inner, w, false)?;
            }
            if let Some(m) = map {
                check_expr(&inner, m, false)?;
            }
            return Ok(Ty::List);
        }
        Expr::Quantifier {
            var,
            list,
            where_clause,
            ..
        } => {
            check_expr(scope, list, agg_ok)?;
            let mut inner = scope.clone();
            inner.insert(var.clone(), element_ty(scope, list));
            if let Some(w) = where_clause {
                let t = check_expr(&inner, w, false)?;
                if t.not_boolean() {
                    return Err(invalid_arg("a quantifier predicate", t));
                }
            }
            return Ok(Ty::Bool);
        }
        Expr::Reduce {
            accumulator,
            init,
            var,
            list,
            expr,
        } => {
            check_expr(scope, init, agg_ok)?;
            check_expr(scope, list, agg_ok)?;
            let mut inner = scope.clone();
            inner.insert(accumulator.clone(), Ty::Any);
            inner.insert(var.clone(), element_ty(scope, list));
            check_expr(&inner, expr, false)?;
            return Ok(Ty::Any);
        }
        Expr::MapProjection { var, items } => {
            lookup(scope, var)?;
            for item in items {
                match item {
                    ast::MapProjectionItem::Literal(_, x) => {
                        check_expr(scope, x, agg_ok)?;
                    }
                    ast::MapProjectionItem::Variable(v) => {
                        lookup(scope, v)?;
                    }
                    _ => {}
                }
            }
            return Ok(Ty::Map);
        }
        Expr::PatternComprehension {
            var,
            pattern,
            where_clause,
            map,
        } => {
            let mut inner = scope.clone();
            pattern_vars(&mut inner, pattern);
            if let Some(v) = var {
                inner.insert(v.clone(), Ty::Path);
            }
            if let Some(w) = where_clause {
                check_expr(&inner, w, false)?;
            }
            check_expr(&inner, map, false)?;
            return Ok(Ty::List);
        }
        Expr::PatternPredicate(pattern) => {
            // A pattern predicate may not introduce variables; unknown ones are reported by the
            // planner, which knows which it supports.
            let mut inner = scope.clone();
            pattern_vars(&mut inner, pattern);
            return Ok(Ty::Bool);
        }
        Expr::Exists(sub) => {
            match &**sub {
                ast::ExistsSubquery::Pattern {
                    patterns,
                    where_clause,
                } => {
                    let mut inner = scope.clone();
                    for p in patterns {
                        if let Some(v) = &p.var {
                            inner.insert(v.clone(), Ty::Path);
                        }
                        pattern_vars(&mut inner, &p.element);
                    }
                    if let Some(w) = where_clause {
                        check_expr(&inner, w, false)?;
                    }
                }
                ast::ExistsSubquery::Query(_) => {}
            }
            return Ok(Ty::Bool);
        }
        _ => {}
    }
    let mut res = Ok(());
    for_children(e, &mut |c| {
        if res.is_ok() {
            res = check_expr(scope, c, agg_ok).map(|_| ());
        }
    });
    res?;
    Ok(infer(scope, e))
}

/// Adds the variables a pattern introduces (nested scopes: comprehensions, EXISTS).
fn pattern_vars(scope: &mut Scope, el: &PatternElement) {
    if let Some(v) = &el.start.var {
        scope.entry(v.clone()).or_insert(Ty::Node);
    }
    for (r, n) in &el.chain {
        if let Some(v) = &r.var {
            let ty = if r.var_length.is_some() {
                Ty::RelList
            } else {
                Ty::Rel
            };
            scope.entry(v.clone()).or_insert(ty);
        }
        if let Some(v) = &n.var {
            scope.entry(v.clone()).or_insert(Ty::Node);
        }
    }
}

/// Argument kinds of the graph functions, where a literal of the wrong kind is a compile error.
fn check_function_args(name: &str, tys: &[Ty]) -> Result<()> {
    let Some(&t) = tys.first() else {
        return Ok(());
    };
    let lower = name.to_ascii_lowercase();
    let bad = match lower.as_str() {
        "properties" => matches!(
            t,
            Ty::Int | Ty::Float | Ty::Str | Ty::Bool | Ty::List | Ty::Path | Ty::RelList
        ),
        "labels" => !matches!(t, Ty::Node | Ty::Null | Ty::Any),
        "type" => !matches!(t, Ty::Rel | Ty::Null | Ty::Any),
        "nodes" | "relationships" | "length" if t == Ty::Node || t == Ty::Rel => true,
        _ => false,
    };
    if bad {
        return Err(invalid_arg(&format!("{name}()"), t));
    }
    Ok(())
}

fn calls_rand(e: &Expr) -> bool {
    let mut found = false;
    walk(
        e,
        &mut |x| {
            found |=
                matches!(x, Expr::FunctionCall { name, .. } if name.eq_ignore_ascii_case("rand"))
        },
    );
    found
}
