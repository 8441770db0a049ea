//! Statements, queries and clauses.
//!
//! A statement is `[EXPLAIN|PROFILE|USING PERIODIC COMMIT n] query`, or an admin statement (see `admin`),
//! then an optional `;` and the end of input. A query is single queries joined by
//! `UNION [ALL]`; a single query is a run of clauses, checked for structure
//! (`RETURN` only last; the last clause returns or updates) once the run is known
//! to be complete, so a typo mid-query is reported as a syntax error at the typo.

use nom::branch::alt;
use nom::combinator::{cut, opt};
use nom::multi::{many0, separated_list0, separated_list1};
use nom::sequence::preceded;
use nom::Parser;

use super::admin::parse_admin;
use super::expr::{expr, parse_expr, parse_postfix};
use super::lexer::{
    keyword, kw, parse_end, parse_labels, parse_schema_name, parse_unsigned, parse_variable,
    peek_keyword, peek_symbol, skip_ws, sym, symbol,
};
use super::pattern::{parse_pattern_list, parse_pattern_part};
use super::{Cx, Expectation, Fail, PResult};
use crate::ast::*;
use crate::error::ParseErrorKind;

/// A whole statement through the end of input.
pub(crate) fn parse_statement<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Statement> {
    let (i, statement) = if let Some((i, ())) = optional(keyword(cx, i, "USING"))? {
        let (i, _) = cut(kw(cx, "PERIODIC")).parse(i)?;
        let (i, _) = cut(kw(cx, "COMMIT")).parse(i)?;
        let (i, rows) = cut(|i| parse_unsigned(cx, i)).parse(i)?;
        let (i, query) = cut(|i| parse_query(cx, i, true)).parse(i)?;
        let inner = Box::new(Statement::Query(query));
        (i, Statement::PeriodicCommit { rows, inner })
    } else if let Some((i, ())) = optional(keyword(cx, i, "EXPLAIN"))? {
        let (i, query) = cut(|i| parse_query(cx, i, true)).parse(i)?;
        (i, Statement::Explain(Box::new(Statement::Query(query))))
    } else if let Some((i, ())) = optional(keyword(cx, i, "PROFILE"))? {
        let (i, query) = cut(|i| parse_query(cx, i, true)).parse(i)?;
        (i, Statement::Profile(Box::new(Statement::Query(query))))
    } else if let Some(admin) = optional(parse_admin(cx, i))? {
        admin
    } else {
        let (i, query) = parse_query(cx, i, true)?;
        (i, Statement::Query(query))
    };
    let (i, _) = opt(sym(cx, ";")).parse(i)?;
    let i = parse_end(cx, i)?;
    Ok((i, statement))
}

/// Turns a recoverable error into `None`, keeping fatal ones.
fn optional<'s, T>(result: PResult<'s, T>) -> Result<Option<(&'s str, T)>, nom::Err<Fail>> {
    match result {
        Ok(ok) => Ok(Some(ok)),
        Err(nom::Err::Error(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `single [UNION [ALL] single]...`. With `complete`, each single query must end
/// in `RETURN`, an updating clause or `CALL` (not required inside `EXISTS { }`).
pub(crate) fn parse_query<'s>(cx: &Cx<'s>, i: &'s str, complete: bool) -> PResult<'s, Query> {
    let _guard = cx.enter(i)?;
    let (mut i, first) = parse_single_query(cx, i, complete)?;
    let mut unions = Vec::new();
    while let Some((rest, ())) = optional(keyword(cx, i, "UNION"))? {
        let (rest, all) = opt(kw(cx, "ALL")).parse(rest)?;
        let (rest, query) = cut(|i| parse_single_query(cx, i, complete)).parse(rest)?;
        unions.push(Union {
            all: all.is_some(),
            query,
        });
        i = rest;
    }
    Ok((i, Query { first, unions }))
}

fn parse_single_query<'s>(cx: &Cx<'s>, i: &'s str, complete: bool) -> PResult<'s, SingleQuery> {
    let mut clauses = Vec::new();
    let mut starts = Vec::new();
    let mut i = i;
    loop {
        let at = skip_ws(cx, i)?;
        match optional(parse_clause(cx, at))? {
            Some((rest, clause)) => {
                starts.push(at);
                clauses.push(clause);
                i = rest;
            }
            None => break,
        }
    }
    let at = skip_ws(cx, i)?;
    if clauses.is_empty() {
        return Err(nom::Err::Error(Fail));
    }
    // Only judge the structure of a run that ends where a query may end; anything
    // else is a syntax error at `at`, already recorded by the clause attempts.
    let ends = at.is_empty()
        || at.starts_with(';')
        || at.starts_with('}')
        || peek_keyword(cx, at, "UNION");
    if !ends {
        return Err(nom::Err::Error(Fail));
    }
    let last = clauses.len() - 1;
    if let Some(index) = clauses[..last]
        .iter()
        .position(|c| matches!(c, Clause::Return(_)))
    {
        return Err(cx.fatal(
            starts[index + 1],
            ParseErrorKind::InvalidStructure,
            "RETURN can only be used at the end of the query".to_string(),
        ));
    }
    let concluding = matches!(
        clauses[last],
        Clause::Return(_)
            | Clause::Create(_)
            | Clause::Merge(_)
            | Clause::Set(_)
            | Clause::Remove(_)
            | Clause::Delete(_)
            | Clause::Call(_)
    );
    if complete && !concluding {
        let name = clause_name(&clauses[last]);
        return Err(cx.fatal(
            starts[last],
            ParseErrorKind::InvalidStructure,
            format!("Query cannot conclude with {name} (must be RETURN or an update clause)"),
        ));
    }
    Ok((i, SingleQuery { clauses }))
}

fn clause_name(clause: &Clause) -> &'static str {
    match clause {
        Clause::Match(m) if m.optional => "OPTIONAL MATCH",
        Clause::Match(_) => "MATCH",
        Clause::Unwind(_) => "UNWIND",
        Clause::With(_) => "WITH",
        Clause::Return(_) => "RETURN",
        Clause::Create(_) => "CREATE",
        Clause::Merge(_) => "MERGE",
        Clause::Set(_) => "SET",
        Clause::Remove(_) => "REMOVE",
        Clause::Delete(_) => "DELETE",
        Clause::Call(_) => "CALL",
        Clause::LoadCsv(_) => "LOAD CSV",
    }
}

fn parse_clause<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Clause> {
    alt((
        |i| parse_match(cx, i).map(|(r, c)| (r, Clause::Match(c))),
        |i| parse_unwind(cx, i).map(|(r, c)| (r, Clause::Unwind(c))),
        |i| parse_with(cx, i).map(|(r, c)| (r, Clause::With(c))),
        |i| parse_return(cx, i).map(|(r, c)| (r, Clause::Return(c))),
        |i| parse_create(cx, i).map(|(r, c)| (r, Clause::Create(c))),
        |i| parse_merge(cx, i).map(|(r, c)| (r, Clause::Merge(c))),
        |i| parse_set(cx, i).map(|(r, c)| (r, Clause::Set(c))),
        |i| parse_remove(cx, i).map(|(r, c)| (r, Clause::Remove(c))),
        |i| parse_delete(cx, i).map(|(r, c)| (r, Clause::Delete(c))),
        |i| parse_call(cx, i).map(|(r, c)| (r, Clause::Call(c))),
        |i| parse_load_csv(cx, i).map(|(r, c)| (r, Clause::LoadCsv(c))),
    ))
    .parse(i)
}

fn parse_where<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Option<Expr>> {
    opt(preceded(kw(cx, "WHERE"), cut(expr(cx)))).parse(i)
}

fn parse_match<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Match> {
    let (i, optional) = opt(kw(cx, "OPTIONAL")).parse(i)?;
    let (i, ()) = keyword(cx, i, "MATCH")?;
    let (i, patterns) = cut(|i| parse_pattern_list(cx, i)).parse(i)?;
    let (i, where_clause) = parse_where(cx, i)?;
    Ok((
        i,
        Match {
            optional: optional.is_some(),
            patterns,
            where_clause,
        },
    ))
}

fn parse_unwind<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Unwind> {
    let (i, ()) = keyword(cx, i, "UNWIND")?;
    let (i, expr) = cut(expr(cx)).parse(i)?;
    let (i, ()) = cut(kw(cx, "AS")).parse(i)?;
    let (i, var) = cut(|i| parse_variable(cx, i)).parse(i)?;
    Ok((i, Unwind { expr, var }))
}

fn parse_with<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, With> {
    let (i, ()) = keyword(cx, i, "WITH")?;
    let (i, projection) = cut(|i| parse_projection(cx, i)).parse(i)?;
    let (i, where_clause) = parse_where(cx, i)?;
    Ok((
        i,
        With {
            projection,
            where_clause,
        },
    ))
}

fn parse_return<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Return> {
    let (i, ()) = keyword(cx, i, "RETURN")?;
    let (i, projection) = cut(|i| parse_projection(cx, i)).parse(i)?;
    Ok((i, Return { projection }))
}

/// `[DISTINCT] (* [, items] | items) [ORDER BY ..] [SKIP ..] [LIMIT ..]`
fn parse_projection<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Projection> {
    let item_list = |i| separated_list1(sym(cx, ","), |i| parse_projection_item(cx, i)).parse(i);
    let (i, distinct) = opt(kw(cx, "DISTINCT")).parse(i)?;
    let (i, star) = opt(sym(cx, "*")).parse(i)?;
    let (i, items) = if star.is_some() {
        let (i, items) = opt(preceded(sym(cx, ","), item_list)).parse(i)?;
        (i, items.unwrap_or_default())
    } else {
        item_list(i)?
    };
    let order_by = preceded(
        (kw(cx, "ORDER"), cut(kw(cx, "BY"))),
        cut(separated_list1(sym(cx, ","), |i| parse_sort_item(cx, i))),
    );
    let (i, order_by) = opt(order_by).parse(i)?;
    let (i, skip) = opt(preceded(kw(cx, "SKIP"), cut(expr(cx)))).parse(i)?;
    let (i, limit) = opt(preceded(kw(cx, "LIMIT"), cut(expr(cx)))).parse(i)?;
    Ok((
        i,
        Projection {
            distinct: distinct.is_some(),
            star: star.is_some(),
            items,
            order_by: order_by.unwrap_or_default(),
            skip,
            limit,
        },
    ))
}

fn parse_projection_item<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, ProjectionItem> {
    let at = skip_ws(cx, i)?;
    let (i, expr) = parse_expr(cx, at)?;
    let text = cx.text_between(at, i).to_string();
    let (i, alias) = opt(preceded(kw(cx, "AS"), cut(|i| parse_variable(cx, i)))).parse(i)?;
    Ok((i, ProjectionItem { expr, alias, text }))
}

fn parse_sort_item<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, SortItem> {
    let (i, expr) = parse_expr(cx, i)?;
    let direction = alt((
        kw(cx, "ASCENDING").map(|()| true),
        kw(cx, "ASC").map(|()| true),
        kw(cx, "DESCENDING").map(|()| false),
        kw(cx, "DESC").map(|()| false),
    ));
    let (i, ascending) = opt(direction).parse(i)?;
    Ok((
        i,
        SortItem {
            expr,
            ascending: ascending.unwrap_or(true),
        },
    ))
}

fn parse_create<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Create> {
    let (i, ()) = keyword(cx, i, "CREATE")?;
    let (i, patterns) = cut(|i| parse_pattern_list(cx, i)).parse(i)?;
    Ok((i, Create { patterns }))
}

fn parse_merge<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Merge> {
    let (i, ()) = keyword(cx, i, "MERGE")?;
    let (i, pattern) = cut(|i| parse_pattern_part(cx, i)).parse(i)?;
    let action = |i| {
        let (i, ()) = keyword(cx, i, "ON")?;
        let (i, on_create) = cut(alt((
            kw(cx, "CREATE").map(|()| true),
            kw(cx, "MATCH").map(|()| false),
        )))
        .parse(i)?;
        let (i, ()) = cut(kw(cx, "SET")).parse(i)?;
        let (i, items) = cut(|i| parse_set_items(cx, i)).parse(i)?;
        Ok((i, (on_create, items)))
    };
    let (i, actions) = many0(action).parse(i)?;
    let mut merge = Merge {
        pattern,
        on_create: Vec::new(),
        on_match: Vec::new(),
    };
    for (on_create, items) in actions {
        if on_create {
            merge.on_create.extend(items);
        } else {
            merge.on_match.extend(items);
        }
    }
    Ok((i, merge))
}

fn parse_set<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Set> {
    let (i, ()) = keyword(cx, i, "SET")?;
    let (i, items) = cut(|i| parse_set_items(cx, i)).parse(i)?;
    Ok((i, Set { items }))
}

fn parse_set_items<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Vec<SetItem>> {
    separated_list1(sym(cx, ","), |i| parse_set_item(cx, i)).parse(i)
}

/// `var += map`, `var = map`, `var:L`, or `entity.key = value`.
fn parse_set_item<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, SetItem> {
    if let Some((rest, var)) = optional(parse_variable(cx, i))? {
        if let Some((rest, ())) = optional(symbol(cx, rest, "+="))? {
            let (rest, value) = cut(expr(cx)).parse(rest)?;
            return Ok((rest, SetItem::Merge { var, value }));
        }
        if !peek_symbol(cx, rest, "=~") {
            if let Some((rest, ())) = optional(symbol(cx, rest, "="))? {
                let (rest, value) = cut(expr(cx)).parse(rest)?;
                return Ok((rest, SetItem::Replace { var, value }));
            }
        }
        if peek_symbol(cx, rest, ":") {
            let (rest, labels) = cut(|i| parse_labels(cx, i)).parse(rest)?;
            return Ok((rest, SetItem::Labels { var, labels }));
        }
    }
    let (i, (entity, key)) = parse_property_target(cx, i)?;
    let (i, ()) = cut(sym(cx, "=")).parse(i)?;
    let (i, value) = cut(expr(cx)).parse(i)?;
    Ok((i, SetItem::Property { entity, key, value }))
}

/// `entity.key`: a postfix expression whose last step is a property lookup.
fn parse_property_target<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, (Expr, String)> {
    let (i, target) = parse_postfix(cx, i)?;
    match target {
        Expr::Property { expr, key } => Ok((i, (*expr, key))),
        _ => cx.fail(skip_ws(cx, i)?, Expectation::Token(".")),
    }
}

fn parse_remove<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Remove> {
    let (i, ()) = keyword(cx, i, "REMOVE")?;
    let item = |i| {
        if let Some((rest, var)) = optional(parse_variable(cx, i))? {
            if peek_symbol(cx, rest, ":") {
                let (rest, labels) = cut(|i| parse_labels(cx, i)).parse(rest)?;
                return Ok((rest, RemoveItem::Labels { var, labels }));
            }
        }
        let (i, (entity, key)) = parse_property_target(cx, i)?;
        Ok((i, RemoveItem::Property { entity, key }))
    };
    let (i, items) = cut(separated_list1(sym(cx, ","), item)).parse(i)?;
    Ok((i, Remove { items }))
}

fn parse_delete<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Delete> {
    let (i, detach) = opt(kw(cx, "DETACH")).parse(i)?;
    let (i, ()) = keyword(cx, i, "DELETE")?;
    let (i, exprs) = cut(separated_list1(sym(cx, ","), expr(cx))).parse(i)?;
    Ok((
        i,
        Delete {
            detach: detach.is_some(),
            exprs,
        },
    ))
}

/// `CALL name[(args)] [YIELD * | YIELD items [WHERE ..]]`
fn parse_call<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Call> {
    let (i, ()) = keyword(cx, i, "CALL")?;
    let (i, parts) = cut(separated_list1(sym(cx, "."), |i| parse_schema_name(cx, i))).parse(i)?;
    let args = preceded(
        sym(cx, "("),
        cut((separated_list0(sym(cx, ","), expr(cx)), sym(cx, ")"))),
    );
    let (i, args) = opt(args.map(|(args, ())| args)).parse(i)?;
    let (i, yields) = opt(preceded(kw(cx, "YIELD"), cut(|i| parse_yield(cx, i)))).parse(i)?;
    let (i, where_clause) = match yields {
        Some(YieldSpec::Items(_)) => parse_where(cx, i)?,
        _ => (i, None),
    };
    Ok((
        i,
        Call {
            procedure: parts.join("."),
            args,
            yields,
            where_clause,
        },
    ))
}

fn parse_yield<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, YieldSpec> {
    if let Some((i, ())) = optional(symbol(cx, i, "*"))? {
        return Ok((i, YieldSpec::All));
    }
    let item = |i| {
        let (i, field) = parse_variable(cx, i)?;
        let (i, alias) = opt(preceded(kw(cx, "AS"), cut(|i| parse_variable(cx, i)))).parse(i)?;
        Ok((i, YieldItem { field, alias }))
    };
    let (i, items) = separated_list1(sym(cx, ","), item).parse(i)?;
    Ok((i, YieldSpec::Items(items)))
}

/// `LOAD CSV FROM path WITH HEADER|NO HEADER [IGNORE BAD] [DELIMITER d] [QUOTE q]
/// [NULLIF n] AS var`
fn parse_load_csv<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, LoadCsv> {
    let (i, ()) = keyword(cx, i, "LOAD")?;
    let (i, ()) = cut(kw(cx, "CSV")).parse(i)?;
    let (i, ()) = cut(kw(cx, "FROM")).parse(i)?;
    let (i, path) = cut(expr(cx)).parse(i)?;
    let header = alt((
        (kw(cx, "WITH"), kw(cx, "HEADER")).map(|_| true),
        (kw(cx, "NO"), kw(cx, "HEADER")).map(|_| false),
    ));
    let (i, with_header) = cut(header).parse(i)?;
    let (i, ignore_bad) = opt((kw(cx, "IGNORE"), cut(kw(cx, "BAD")))).parse(i)?;
    let (i, delimiter) = opt(preceded(kw(cx, "DELIMITER"), cut(expr(cx)))).parse(i)?;
    let (i, quote) = opt(preceded(kw(cx, "QUOTE"), cut(expr(cx)))).parse(i)?;
    let (i, nullif) = opt(preceded(kw(cx, "NULLIF"), cut(expr(cx)))).parse(i)?;
    let (i, ()) = cut(kw(cx, "AS")).parse(i)?;
    let (i, var) = cut(|i| parse_variable(cx, i)).parse(i)?;
    Ok((
        i,
        LoadCsv {
            path,
            with_header,
            ignore_bad: ignore_bad.is_some(),
            delimiter,
            quote,
            nullif,
            var,
        },
    ))
}
