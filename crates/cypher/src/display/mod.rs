//! `Display` for every AST type: canonical Cypher that re-parses to an equal AST.
//!
//! Canonical means: keywords upper-case, single spaces, single-quoted strings,
//! names backtick-quoted only where needed, and parentheses exactly where the
//! precedence of a sub-expression would otherwise change the parse (see
//! [`precedence`]). Printing is recursive, which is safe because the parser bounds
//! AST depth (see the `ast` module doc).
//!
//! This file holds names, literals and expressions; `statement` holds patterns,
//! clauses, queries and statements.

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::*;
use crate::parser::lexer::is_reserved_word;

mod statement;

// Precedence levels, loosest first. A child printed where a level `min` is required
// gets parentheses when its own level is lower.
const OR: u8 = 1;
const XOR: u8 = 2;
const AND: u8 = 3;
const NOT: u8 = 4;
const COMPARISON: u8 = 5;
/// `+ -` is 6, `* / %` is 7, `^` is 8 (`ARITHMETIC + ArithmeticOp::precedence`).
const ARITHMETIC: u8 = 5;
const UNARY: u8 = 9;
const STRING_LIST_NULL: u8 = 10;
const LABELS: u8 = 11;
const POSTFIX: u8 = 12;
const ATOM: u8 = 13;

/// The precedence level of the construct at the root of `expr` (higher binds
/// tighter; atoms are the highest).
pub fn precedence(expr: &Expr) -> u8 {
    match expr {
        Expr::Or(_) => OR,
        Expr::Xor(_) => XOR,
        Expr::And(_) => AND,
        Expr::Not(_) => NOT,
        Expr::Comparison { .. } => COMPARISON,
        Expr::Arithmetic { rest, .. } => {
            ARITHMETIC + rest.first().map_or(1, |(op, _)| op.precedence())
        }
        Expr::Unary { .. } => UNARY,
        Expr::In { .. } | Expr::StringMatch { .. } | Expr::IsNull(_) | Expr::IsNotNull(_) => {
            STRING_LIST_NULL
        }
        Expr::HasLabels { .. } => LABELS,
        Expr::Property { .. } | Expr::Index { .. } | Expr::Slice { .. } => POSTFIX,
        _ => ATOM,
    }
}

/// Writes `expr`, parenthesized when its precedence is below `min`.
fn write_expr(f: &mut Formatter<'_>, expr: &Expr, min: u8) -> fmt::Result {
    if precedence(expr) < min {
        write!(f, "({expr})")
    } else {
        write!(f, "{expr}")
    }
}

/// Writes `items` separated by `sep`.
fn join<T: Display>(f: &mut Formatter<'_>, items: &[T], sep: &str) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// A name that can be written bare: an ASCII identifier.
fn is_plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn write_quoted_name(f: &mut Formatter<'_>, name: &str) -> fmt::Result {
    f.write_char('`')?;
    f.write_str(&name.replace('`', "``"))?;
    f.write_char('`')
}

/// A variable (or other symbolic name): quoted when not plain or a reserved word.
struct Var<'a>(&'a str);

impl Display for Var<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if is_plain_name(self.0) && !is_reserved_word(self.0) {
            f.write_str(self.0)
        } else {
            write_quoted_name(f, self.0)
        }
    }
}

/// A label, relationship type or property key: reserved words are fine bare.
struct SchemaName<'a>(&'a str);

impl Display for SchemaName<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if is_plain_name(self.0) {
            f.write_str(self.0)
        } else {
            write_quoted_name(f, self.0)
        }
    }
}

/// A dotted function or procedure name; each part quoted as needed. Names that
/// would read as special forms (`any(x IN l)`, `reduce(...)`) are quoted too.
struct DottedName<'a>(&'a str);

impl Display for DottedName<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        const SPECIAL: [&str; 7] = [
            "all",
            "any",
            "none",
            "single",
            "reduce",
            "shortestpath",
            "allshortestpaths",
        ];
        let single_part = !self.0.contains('.');
        for (i, part) in self.0.split('.').enumerate() {
            if i > 0 {
                f.write_char('.')?;
            }
            let lower = part.to_ascii_lowercase();
            let special = single_part && SPECIAL.contains(&lower.as_str());
            let reserved = is_reserved_word(part) && !(single_part && lower == "exists");
            if is_plain_name(part) && !special && !reserved {
                f.write_str(part)?;
            } else {
                write_quoted_name(f, part)?;
            }
        }
        Ok(())
    }
}

/// A string literal in single quotes with escapes.
pub(crate) struct StringLiteral<'a>(pub(crate) &'a str);

impl Display for StringLiteral<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('\'')?;
        for c in self.0.chars() {
            match c {
                '\'' => f.write_str("\\'")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                '\u{8}' => f.write_str("\\b")?,
                '\u{c}' => f.write_str("\\f")?,
                c if c.is_control() => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        write!(f, "\\u{unit:04X}")?;
                    }
                }
                c => f.write_char(c)?,
            }
        }
        f.write_char('\'')
    }
}

/// Floats print in Rust's shortest round-trip form, always with a `.` or exponent
/// so they re-read as floats. Non-finite values have no literal form; they print as
/// divisions that evaluate to them (and re-parse to that division, not a literal).
fn write_float(f: &mut Formatter<'_>, x: f64) -> fmt::Result {
    if x.is_nan() {
        f.write_str("(0.0 / 0.0)")
    } else if x.is_infinite() {
        f.write_str(if x > 0.0 {
            "(1.0 / 0.0)"
        } else {
            "(-1.0 / 0.0)"
        })
    } else {
        let text = format!("{x:?}");
        f.write_str(&text)?;
        if !text.contains(['.', 'e', 'E']) {
            f.write_str(".0")?;
        }
        Ok(())
    }
}

/// True when `expr` would print starting with a number literal, so a sign written
/// in front of it would fold into the literal.
fn starts_with_number(expr: &Expr) -> bool {
    match expr {
        Expr::Integer(_) | Expr::Float(_) => true,
        Expr::Property { expr, .. }
        | Expr::Index { expr, .. }
        | Expr::Slice { expr, .. }
        | Expr::HasLabels { expr, .. } => precedence(expr) >= POSTFIX && starts_with_number(expr),
        Expr::In { lhs, .. } | Expr::StringMatch { lhs, .. } => {
            precedence(lhs) >= STRING_LIST_NULL && starts_with_number(lhs)
        }
        Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
            precedence(inner) >= STRING_LIST_NULL && starts_with_number(inner)
        }
        _ => false,
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Integer(i) => write!(f, "{i}"),
            Expr::Float(x) => write_float(f, *x),
            Expr::String(s) => write!(f, "{}", StringLiteral(s)),
            Expr::Bool(b) => f.write_str(if *b { "true" } else { "false" }),
            Expr::Null => f.write_str("null"),
            Expr::List(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    // `[x IN list]` reads as a list comprehension; a list literal
                    // whose first element is `x IN list` needs parentheses.
                    let reads_as_comprehension = i == 0
                        && matches!(item, Expr::In { lhs, .. } if matches!(**lhs, Expr::Variable(_)));
                    if reads_as_comprehension {
                        write!(f, "({item})")?;
                    } else {
                        write!(f, "{item}")?;
                    }
                }
                f.write_char(']')
            }
            Expr::Map(entries) => write_map(f, entries),
            Expr::Parameter(name) => {
                f.write_char('$')?;
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_digit()) {
                    f.write_str(name)
                } else {
                    write!(f, "{}", SchemaName(name))
                }
            }
            Expr::Variable(name) => write!(f, "{}", Var(name)),
            Expr::Property { expr, key } => {
                write_expr(f, expr, POSTFIX)?;
                write!(f, ".{}", SchemaName(key))
            }
            Expr::Index { expr, index } => {
                write_expr(f, expr, POSTFIX)?;
                write!(f, "[{index}]")
            }
            Expr::Slice { expr, from, to } => {
                write_expr(f, expr, POSTFIX)?;
                f.write_char('[')?;
                if let Some(from) = from {
                    write!(f, "{from}")?;
                }
                f.write_str("..")?;
                if let Some(to) = to {
                    write!(f, "{to}")?;
                }
                f.write_char(']')
            }
            Expr::HasLabels { expr, labels } => {
                write_expr(f, expr, POSTFIX)?;
                write_labels(f, labels)
            }
            Expr::Or(operands) => write_operands(f, operands, " OR ", XOR),
            Expr::Xor(operands) => write_operands(f, operands, " XOR ", AND),
            Expr::And(operands) => write_operands(f, operands, " AND ", NOT),
            Expr::Not(expr) => {
                f.write_str("NOT ")?;
                write_expr(f, expr, NOT)
            }
            Expr::Comparison { first, rest } => {
                write_expr(f, first, COMPARISON + 1)?;
                for (op, operand) in rest {
                    write!(f, " {op} ")?;
                    write_expr(f, operand, COMPARISON + 1)?;
                }
                Ok(())
            }
            Expr::Arithmetic { first, rest } => {
                // Operands bind strictly tighter than the chain's own level, so a nested
                // same-level chain keeps its parentheses and stays nested on re-parse.
                let min = precedence(self) + 1;
                write_expr(f, first, min)?;
                for (op, operand) in rest {
                    write!(f, " {op} ")?;
                    write_expr(f, operand, min)?;
                }
                Ok(())
            }
            Expr::Unary { op, expr } => {
                write!(f, "{op}")?;
                if matches!(**expr, Expr::Unary { .. }) || starts_with_number(expr) {
                    write!(f, "({expr})")
                } else {
                    write_expr(f, expr, STRING_LIST_NULL)
                }
            }
            Expr::In { lhs, rhs } => {
                write_expr(f, lhs, STRING_LIST_NULL)?;
                f.write_str(" IN ")?;
                write_expr(f, rhs, LABELS)
            }
            Expr::StringMatch { op, lhs, rhs } => {
                write_expr(f, lhs, STRING_LIST_NULL)?;
                write!(f, " {op} ")?;
                write_expr(f, rhs, LABELS)
            }
            Expr::IsNull(expr) => {
                write_expr(f, expr, STRING_LIST_NULL)?;
                f.write_str(" IS NULL")
            }
            Expr::IsNotNull(expr) => {
                write_expr(f, expr, STRING_LIST_NULL)?;
                f.write_str(" IS NOT NULL")
            }
            Expr::FunctionCall {
                name,
                distinct,
                args,
            } => {
                write!(f, "{}(", DottedName(name))?;
                if *distinct {
                    f.write_str("DISTINCT ")?;
                }
                join(f, args, ", ")?;
                f.write_char(')')
            }
            Expr::CountStar => f.write_str("count(*)"),
            Expr::Case {
                operand,
                whens,
                else_expr,
            } => {
                f.write_str("CASE")?;
                if let Some(operand) = operand {
                    write!(f, " {operand}")?;
                }
                for (when, then) in whens {
                    write!(f, " WHEN {when} THEN {then}")?;
                }
                if let Some(else_expr) = else_expr {
                    write!(f, " ELSE {else_expr}")?;
                }
                f.write_str(" END")
            }
            Expr::ListComprehension {
                var,
                list,
                where_clause,
                map,
            } => {
                write!(f, "[{} IN {list}", Var(var))?;
                if let Some(predicate) = where_clause {
                    write!(f, " WHERE {predicate}")?;
                }
                if let Some(map) = map {
                    write!(f, " | {map}")?;
                }
                f.write_char(']')
            }
            Expr::PatternComprehension {
                var,
                pattern,
                where_clause,
                map,
            } => {
                f.write_char('[')?;
                if let Some(var) = var {
                    write!(f, "{} = ", Var(var))?;
                }
                write!(f, "{pattern}")?;
                if let Some(predicate) = where_clause {
                    write!(f, " WHERE {predicate}")?;
                }
                write!(f, " | {map}]")
            }
            Expr::Quantifier {
                kind,
                var,
                list,
                where_clause,
            } => {
                write!(f, "{kind}({} IN {list}", Var(var))?;
                if let Some(predicate) = where_clause {
                    write!(f, " WHERE {predicate}")?;
                }
                f.write_char(')')
            }
            Expr::Reduce {
                accumulator,
                init,
                var,
                list,
                expr,
            } => write!(
                f,
                "reduce({} = {init}, {} IN {list} | {expr})",
                Var(accumulator),
                Var(var)
            ),
            Expr::Exists(subquery) => write!(f, "EXISTS {{ {subquery} }}"),
            Expr::PatternPredicate(pattern) => write!(f, "{pattern}"),
            Expr::MapProjection { var, items } => {
                write!(f, "{} {{", Var(var))?;
                join(f, items, ", ")?;
                f.write_char('}')
            }
        }
    }
}

fn write_operands(f: &mut Formatter<'_>, operands: &[Expr], sep: &str, min: u8) -> fmt::Result {
    for (i, operand) in operands.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write_expr(f, operand, min)?;
    }
    Ok(())
}

fn write_map(f: &mut Formatter<'_>, entries: &[(String, Expr)]) -> fmt::Result {
    f.write_char('{')?;
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{}: {value}", SchemaName(key))?;
    }
    f.write_char('}')
}

fn write_labels(f: &mut Formatter<'_>, labels: &[String]) -> fmt::Result {
    for label in labels {
        write!(f, ":{}", SchemaName(label))?;
    }
    Ok(())
}

impl Display for ExistsSubquery {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ExistsSubquery::Pattern {
                patterns,
                where_clause,
            } => {
                f.write_str("MATCH ")?;
                join(f, patterns, ", ")?;
                if let Some(predicate) = where_clause {
                    write!(f, " WHERE {predicate}")?;
                }
                Ok(())
            }
            ExistsSubquery::Query(query) => write!(f, "{query}"),
        }
    }
}

impl Display for MapProjectionItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            MapProjectionItem::Property(key) => write!(f, ".{}", SchemaName(key)),
            MapProjectionItem::AllProperties => f.write_str(".*"),
            MapProjectionItem::Literal(key, value) => write!(f, "{}: {value}", SchemaName(key)),
            MapProjectionItem::Variable(var) => write!(f, "{}", Var(var)),
        }
    }
}

impl Display for ComparisonOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ComparisonOp::Eq => "=",
            ComparisonOp::Ne => "<>",
            ComparisonOp::Lt => "<",
            ComparisonOp::Gt => ">",
            ComparisonOp::Le => "<=",
            ComparisonOp::Ge => ">=",
        })
    }
}

impl Display for ArithmeticOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArithmeticOp::Add => "+",
            ArithmeticOp::Sub => "-",
            ArithmeticOp::Mul => "*",
            ArithmeticOp::Div => "/",
            ArithmeticOp::Mod => "%",
            ArithmeticOp::Pow => "^",
        })
    }
}

impl Display for UnaryOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnaryOp::Minus => "-",
            UnaryOp::Plus => "+",
        })
    }
}

impl Display for StringOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StringOp::StartsWith => "STARTS WITH",
            StringOp::EndsWith => "ENDS WITH",
            StringOp::Contains => "CONTAINS",
            StringOp::Regex => "=~",
        })
    }
}

impl Display for QuantifierKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuantifierKind::All => "all",
            QuantifierKind::Any => "any",
            QuantifierKind::None => "none",
            QuantifierKind::Single => "single",
        })
    }
}
