//! Shared test helpers (the `verified_stmt` idea from sqlparser-rs).

#![allow(dead_code)]

use cypher::{parse, parse_expression, Expr, Statement};

/// Parses `text`, prints it, re-parses the print and checks both ASTs are equal
/// and that the canonical print is a fixed point. Returns the AST.
pub fn verified(text: &str) -> Statement {
    let ast = parse(text).unwrap_or_else(|e| panic!("parse {text:?}: {e}"));
    let printed = ast.to_string();
    let again =
        parse(&printed).unwrap_or_else(|e| panic!("re-parse {printed:?} (from {text:?}): {e}"));
    assert_eq!(
        ast, again,
        "round trip changed the AST\n  input:   {text}\n  printed: {printed}"
    );
    assert_eq!(
        printed,
        again.to_string(),
        "canonical print is not a fixed point"
    );
    ast
}

/// [`verified`] for a query whose canonical print is exactly `canonical`.
pub fn verified_as(text: &str, canonical: &str) -> Statement {
    let ast = verified(text);
    assert_eq!(ast.to_string(), canonical, "canonical print of {text:?}");
    ast
}

/// Parses a standalone expression and checks its round trip.
pub fn verified_expr(text: &str) -> Expr {
    let ast = parse_expression(text).unwrap_or_else(|e| panic!("parse {text:?}: {e}"));
    let printed = ast.to_string();
    let again = parse_expression(&printed)
        .unwrap_or_else(|e| panic!("re-parse {printed:?} (from {text:?}): {e}"));
    assert_eq!(
        ast, again,
        "round trip changed the AST\n  input:   {text}\n  printed: {printed}"
    );
    ast
}

/// The expression of `RETURN <text>`.
pub fn expr(text: &str) -> Expr {
    verified_expr(text)
}

pub fn var(name: &str) -> Expr {
    Expr::Variable(name.to_string())
}

pub fn int(value: i64) -> Expr {
    Expr::Integer(value)
}

pub fn string(value: &str) -> Expr {
    Expr::String(value.to_string())
}

pub fn prop(expr: Expr, key: &str) -> Expr {
    Expr::Property {
        expr: Box::new(expr),
        key: key.to_string(),
    }
}
