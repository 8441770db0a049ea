//! Patterns: `p = shortestPath((a:L {k: v})-[r:T|U *1..3]->(b))` and friends.
//!
//! A pattern element is a node followed by any number of relationship/node steps,
//! built in a loop (long chains cost no stack). A parenthesized element
//! `((a)-->(b))` is accepted and unwrapped; it takes a depth level.

use nom::combinator::{cut, opt};
use nom::multi::separated_list1;
use nom::Parser;

use super::expr::parse_map;
use super::lexer::{
    keyword, parse_labels, parse_parameter, parse_schema_name, parse_unsigned, parse_variable,
    peek_keyword, peek_symbol, skip_ws, sym, symbol,
};
use super::{Cx, Expectation, Fail, PResult};
use crate::ast::*;

/// `part, part, ...`
pub(crate) fn parse_pattern_list<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Vec<PatternPart>> {
    separated_list1(sym(cx, ","), |i| parse_pattern_part(cx, i)).parse(i)
}

/// `[var =] element`, `[var =] shortestPath(element)`, `[var =] allShortestPaths(element)`.
pub(crate) fn parse_pattern_part<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, PatternPart> {
    let named = |i| {
        let (i, var) = parse_variable(cx, i)?;
        let (i, ()) = symbol(cx, i, "=")?;
        Ok((i, var))
    };
    let (i, var) = opt(named).parse(i)?;
    for (word, kind) in [
        ("shortestPath", PatternKind::ShortestPath),
        ("allShortestPaths", PatternKind::AllShortestPaths),
    ] {
        if peek_keyword(cx, i, word) {
            let (i, ()) = keyword(cx, i, word)?;
            let (i, ()) = cut(sym(cx, "(")).parse(i)?;
            let (i, element) = cut(|i| parse_pattern_element(cx, i)).parse(i)?;
            let (i, ()) = cut(sym(cx, ")")).parse(i)?;
            return Ok((i, PatternPart { var, kind, element }));
        }
    }
    let (i, element) = parse_pattern_element(cx, i)?;
    Ok((
        i,
        PatternPart {
            var,
            kind: PatternKind::Normal,
            element,
        },
    ))
}

/// `(node) (-[rel]- (node))*`, or the same in parentheses.
pub(crate) fn parse_pattern_element<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, PatternElement> {
    let _guard = cx.enter(i)?;
    let at = skip_ws(cx, i)?;
    if let Some(inside) = at.strip_prefix('(') {
        if peek_symbol(cx, inside, "(") {
            let (i, element) = parse_pattern_element(cx, inside)?;
            let (i, ()) = symbol(cx, i, ")")?;
            return Ok((i, element));
        }
    }
    let (mut i, start) = parse_node(cx, at)?;
    let mut chain = Vec::new();
    loop {
        let step = |i| {
            let (i, relationship) = parse_relationship(cx, i)?;
            let (i, node) = parse_node(cx, i)?;
            Ok((i, (relationship, node)))
        };
        match step(i) {
            Ok((rest, step)) => {
                chain.push(step);
                i = rest;
            }
            Err(nom::Err::Error(_)) => break,
            Err(e) => return Err(e),
        }
    }
    Ok((i, PatternElement { start, chain }))
}

/// `(var:Label {props})`
fn parse_node<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, NodePattern> {
    let (i, ()) = symbol(cx, i, "(")?;
    let (i, var) = opt(|i| parse_variable(cx, i)).parse(i)?;
    let (i, labels) = opt(|i| parse_labels(cx, i)).parse(i)?;
    let (i, properties) = opt(|i| parse_properties(cx, i)).parse(i)?;
    let (i, ()) = symbol(cx, i, ")")?;
    Ok((
        i,
        NodePattern {
            var,
            labels: labels.unwrap_or_default(),
            properties,
        },
    ))
}

/// A property map in a pattern: a map literal or a parameter.
fn parse_properties<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Expr> {
    let at = skip_ws(cx, i)?;
    if at.starts_with('$') {
        return parse_parameter(cx, at).map(|(rest, name)| (rest, Expr::Parameter(name)));
    }
    if at.starts_with('{') {
        return parse_map(cx, at).map(|(rest, entries)| (rest, Expr::Map(entries)));
    }
    cx.fail(at, Expectation::Description("a property map"))
}

/// `-[detail]->`, `<-[detail]-`, `-[detail]-`, `<-[detail]->`, detail optional.
fn parse_relationship<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, RelationshipPattern> {
    let (i, left) = opt(sym(cx, "<")).parse(i)?;
    let (i, ()) = symbol(cx, i, "-")?;
    let (i, detail) = opt(|i| parse_relationship_detail(cx, i)).parse(i)?;
    let (i, ()) = symbol(cx, i, "-")?;
    let (i, right) = opt(sym(cx, ">")).parse(i)?;
    let direction = match (left.is_some(), right.is_some()) {
        (true, false) => Direction::Left,
        (false, true) => Direction::Right,
        _ => Direction::Both,
    };
    let mut relationship = detail.unwrap_or(RelationshipPattern {
        var: None,
        direction,
        types: Vec::new(),
        var_length: None,
        properties: None,
    });
    relationship.direction = direction;
    Ok((i, relationship))
}

/// `[var:T1|T2 *min..max {props}]`
fn parse_relationship_detail<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, RelationshipPattern> {
    let (i, ()) = symbol(cx, i, "[")?;
    let (i, var) = opt(|i| parse_variable(cx, i)).parse(i)?;
    let (i, types) = opt(|i| parse_types(cx, i)).parse(i)?;
    let (i, var_length) = opt(|i| parse_var_length(cx, i)).parse(i)?;
    let (i, properties) = opt(|i| parse_properties(cx, i)).parse(i)?;
    let (i, ()) = symbol(cx, i, "]")?;
    Ok((
        i,
        RelationshipPattern {
            var,
            direction: Direction::Both,
            types: types.unwrap_or_default(),
            var_length,
            properties,
        },
    ))
}

/// `:A|B` or `:A|:B`
fn parse_types<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Vec<String>> {
    let (mut i, ()) = symbol(cx, i, ":")?;
    let mut types = Vec::new();
    loop {
        let (rest, name) = parse_schema_name(cx, i)?;
        types.push(name);
        i = rest;
        match symbol(cx, i, "|") {
            Ok((rest, ())) => {
                let (rest, _) = opt(sym(cx, ":")).parse(rest)?;
                i = rest;
            }
            Err(nom::Err::Error(Fail)) => return Ok((i, types)),
            Err(e) => return Err(e),
        }
    }
}

/// `*`, `*n`, `*n..`, `*..m`, `*n..m`
fn parse_var_length<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, VarLength> {
    let (i, ()) = symbol(cx, i, "*")?;
    let (i, min) = opt(|i| parse_unsigned(cx, i)).parse(i)?;
    let (i, range) = opt(sym(cx, "..")).parse(i)?;
    if range.is_none() {
        return Ok((i, VarLength { min, max: min }));
    }
    let (i, max) = opt(|i| parse_unsigned(cx, i)).parse(i)?;
    Ok((i, VarLength { min, max }))
}
