//! Expressions, by precedence climbing.
//!
//! Binary levels (`OR` 1, `XOR` 2, `AND` 3, comparison 5, `+ -` 6, `* / %` 7,
//! `^` 8) are handled by one function, [`parse_binary`], which collects each
//! same-level run into one flat chain in a loop: `1 + 1 + ... + 1` costs no stack
//! per term and yields a shallow AST. `NOT` (level 4) and unary signs are prefix
//! loops; property lookups, indexing and the string/list/null operators are
//! postfix loops. Each prefix or postfix application takes a depth level, so the
//! AST depth stays bounded.
//!
//! Atoms dispatch on their first character or keyword. Ambiguous brackets are
//! resolved speculatively, with failures memoized in the [`Cx`]:
//! `(` tries a pattern predicate before a parenthesized expression, `[` tries a
//! list comprehension (only after `[name IN`), then a pattern comprehension, then a
//! list literal.

use nom::combinator::{cut, opt};
use nom::multi::separated_list0;
use nom::sequence::preceded;
use nom::Parser;

use super::lexer::{
    keyword, kw, parse_labels, parse_name_quoted, parse_number, parse_parameter, parse_schema_name,
    parse_string, parse_variable, peek_keyword, peek_number, peek_symbol, skip_ws, sym, symbol,
};
use super::pattern::{parse_pattern_element, parse_pattern_list};
use super::{clause, Cx, DepthGuard, Expectation, Fail, PResult, Speculation};
use crate::ast::*;

const OR: u8 = 1;
const XOR: u8 = 2;
const AND: u8 = 3;
const NOT: u8 = 4;
/// Arithmetic levels follow: `+ -` 6, `* / %` 7, `^` 8 (see [`BinaryOp::level`]).
const COMPARISON: u8 = 5;

/// A binary operator token.
#[derive(Clone, Copy)]
enum BinaryOp {
    Or,
    Xor,
    And,
    Comparison(ComparisonOp),
    Arithmetic(ArithmeticOp),
}

impl BinaryOp {
    fn level(self) -> u8 {
        match self {
            BinaryOp::Or => OR,
            BinaryOp::Xor => XOR,
            BinaryOp::And => AND,
            BinaryOp::Comparison(_) => COMPARISON,
            BinaryOp::Arithmetic(op) => COMPARISON + op.precedence(),
        }
    }
}

/// Turns a recoverable error into `None`, keeping fatal ones.
fn optional<'s, T>(result: PResult<'s, T>) -> Result<Option<(&'s str, T)>, nom::Err<Fail>> {
    match result {
        Ok(ok) => Ok(Some(ok)),
        Err(nom::Err::Error(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A full expression (one depth level).
pub(crate) fn parse_expr<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Expr> {
    let _guard = cx.enter(i)?;
    parse_binary(cx, i, OR)
}

/// A nom parser for [`parse_expr`].
pub(crate) fn expr<'c, 's>(cx: &'c Cx<'s>) -> impl FnMut(&'s str) -> PResult<'s, Expr> + 'c {
    move |i| parse_expr(cx, i)
}

/// The next binary operator, if any.
fn parse_binary_op<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, BinaryOp> {
    use ArithmeticOp::*;
    use ComparisonOp::*;
    let i = skip_ws(cx, i)?;
    let symbols: [(&'static str, BinaryOp); 13] = [
        ("<>", BinaryOp::Comparison(Ne)),
        ("!=", BinaryOp::Comparison(Ne)),
        ("<=", BinaryOp::Comparison(Le)),
        (">=", BinaryOp::Comparison(Ge)),
        ("<", BinaryOp::Comparison(Lt)),
        (">", BinaryOp::Comparison(Gt)),
        ("=", BinaryOp::Comparison(Eq)),
        ("+", BinaryOp::Arithmetic(Add)),
        ("-", BinaryOp::Arithmetic(Sub)),
        ("*", BinaryOp::Arithmetic(Mul)),
        ("/", BinaryOp::Arithmetic(Div)),
        ("%", BinaryOp::Arithmetic(Mod)),
        ("^", BinaryOp::Arithmetic(Pow)),
    ];
    for (token, op) in symbols {
        if let Some(rest) = i.strip_prefix(token) {
            // `=~` is a string operator and `+=` belongs to SET.
            if (token == "=" && rest.starts_with('~')) || (token == "+" && rest.starts_with('=')) {
                continue;
            }
            return Ok((rest, op));
        }
        cx.expect(i, Expectation::Token(token));
    }
    for (word, op) in [
        ("OR", BinaryOp::Or),
        ("XOR", BinaryOp::Xor),
        ("AND", BinaryOp::And),
    ] {
        if let Some((rest, ())) = optional(keyword(cx, i, word))? {
            return Ok((rest, op));
        }
    }
    Err(nom::Err::Error(Fail))
}

/// Operators of level `min` and above, with their operands.
///
/// Stack note: this function and the operand functions below sit on the stack
/// once per nesting level (`((((1))))`), so they are kept small; the bulky work
/// (operator runs, postfix loops, speculation) lives in helpers that return
/// before the parser recurses into a nested level.
fn parse_binary<'s>(cx: &Cx<'s>, i: &'s str, min: u8) -> PResult<'s, Expr> {
    let (i, lhs) = if min <= NOT && peek_keyword(cx, i, "NOT") {
        parse_not(cx, i)?
    } else {
        parse_unary(cx, i)?
    };
    parse_binary_runs(cx, i, lhs, min)
}

/// The operator runs after a first operand, for levels `min` and above.
fn parse_binary_runs<'s>(cx: &Cx<'s>, mut i: &'s str, mut lhs: Expr, min: u8) -> PResult<'s, Expr> {
    while let Some((mut after_op, mut op)) = optional(parse_binary_op(cx, i))? {
        let level = op.level();
        if level < min {
            break;
        }
        // Collect the whole run at this level; operands bind tighter.
        let mut rest = Vec::new();
        loop {
            let (next, rhs) = parse_binary(cx, after_op, level + 1)?;
            rest.push((op, rhs));
            i = next;
            match optional(parse_binary_op(cx, i))? {
                Some((after, next_op)) if next_op.level() == level => {
                    after_op = after;
                    op = next_op;
                }
                _ => break,
            }
        }
        lhs = build_chain(lhs, rest);
    }
    Ok((i, lhs))
}

fn build_chain(first: Expr, rest: Vec<(BinaryOp, Expr)>) -> Expr {
    let first_op = rest[0].0;
    match first_op {
        BinaryOp::Or | BinaryOp::Xor | BinaryOp::And => {
            let mut operands = Vec::with_capacity(rest.len() + 1);
            operands.push(first);
            operands.extend(rest.into_iter().map(|(_, e)| e));
            match first_op {
                BinaryOp::Or => Expr::Or(operands),
                BinaryOp::Xor => Expr::Xor(operands),
                _ => Expr::And(operands),
            }
        }
        BinaryOp::Comparison(_) => Expr::Comparison {
            first: Box::new(first),
            rest: rest
                .into_iter()
                .map(|(op, e)| match op {
                    BinaryOp::Comparison(op) => (op, e),
                    _ => unreachable!("a chain holds one precedence level"),
                })
                .collect(),
        },
        BinaryOp::Arithmetic(_) => Expr::Arithmetic {
            first: Box::new(first),
            rest: rest
                .into_iter()
                .map(|(op, e)| match op {
                    BinaryOp::Arithmetic(op) => (op, e),
                    _ => unreachable!("a chain holds one precedence level"),
                })
                .collect(),
        },
    }
}

/// `NOT NOT ... <comparison>`.
fn parse_not<'s>(cx: &Cx<'s>, mut i: &'s str) -> PResult<'s, Expr> {
    let mut guard = cx.guard();
    let mut count = 0;
    while let Some((rest, ())) = optional(keyword(cx, i, "NOT"))? {
        guard.deepen(i)?;
        count += 1;
        i = rest;
    }
    let (i, mut expr) = parse_binary(cx, i, COMPARISON)?;
    for _ in 0..count {
        expr = Expr::Not(Box::new(expr));
    }
    Ok((i, expr))
}

/// Signs, then an operand with its string/list/null operators.
fn parse_unary<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Expr> {
    let mut guard = cx.guard();
    let (i, signs) = parse_signs(cx, i, &mut guard)?;
    let (i, operand) = parse_operand(cx, i, &mut guard)?;
    let (i, expr) = parse_string_list_null(cx, i, operand, &mut guard)?;
    Ok((i, wrap_signs(expr, signs)))
}

/// Leading `-`/`+` signs (not one that belongs to a number literal).
fn parse_signs<'s>(
    cx: &Cx<'s>,
    mut i: &'s str,
    guard: &mut DepthGuard<'_, 's>,
) -> PResult<'s, Vec<UnaryOp>> {
    let mut signs = Vec::new();
    loop {
        let at = skip_ws(cx, i)?;
        let (rest, op) = if let Some(rest) = at.strip_prefix('-') {
            if peek_number(cx, rest) {
                break; // `-1`: the sign belongs to the literal.
            }
            (rest, UnaryOp::Minus)
        } else if let Some(rest) = at.strip_prefix('+').filter(|r| !r.starts_with('=')) {
            (rest, UnaryOp::Plus)
        } else {
            break;
        };
        guard.deepen(at)?;
        signs.push(op);
        i = rest;
    }
    Ok((i, signs))
}

fn wrap_signs(mut expr: Expr, signs: Vec<UnaryOp>) -> Expr {
    for op in signs.into_iter().rev() {
        expr = Expr::Unary {
            op,
            expr: Box::new(expr),
        };
    }
    expr
}

/// `IN`, `STARTS WITH`, `ENDS WITH`, `CONTAINS`, `=~`, `IS [NOT] NULL` after `lhs`.
fn parse_string_list_null<'s>(
    cx: &Cx<'s>,
    mut i: &'s str,
    mut lhs: Expr,
    guard: &mut DepthGuard<'_, 's>,
) -> PResult<'s, Expr> {
    loop {
        let at = skip_ws(cx, i)?;
        if let Some((rest, ())) = optional(keyword(cx, at, "IS"))? {
            let (rest, not) = opt(kw(cx, "NOT")).parse(rest)?;
            let (rest, ()) = keyword(cx, rest, "NULL")?;
            guard.deepen(at)?;
            lhs = match not {
                Some(()) => Expr::IsNotNull(Box::new(lhs)),
                None => Expr::IsNull(Box::new(lhs)),
            };
            i = rest;
            continue;
        }
        let op = if let Some((rest, ())) = optional(keyword(cx, at, "IN"))? {
            Some((rest, None))
        } else if let Some((rest, ())) = optional(keyword(cx, at, "STARTS"))? {
            let (rest, ()) = keyword(cx, rest, "WITH")?;
            Some((rest, Some(StringOp::StartsWith)))
        } else if let Some((rest, ())) = optional(keyword(cx, at, "ENDS"))? {
            let (rest, ()) = keyword(cx, rest, "WITH")?;
            Some((rest, Some(StringOp::EndsWith)))
        } else if let Some((rest, ())) = optional(keyword(cx, at, "CONTAINS"))? {
            Some((rest, Some(StringOp::Contains)))
        } else if let Some((rest, ())) = optional(symbol(cx, at, "=~"))? {
            Some((rest, Some(StringOp::Regex)))
        } else {
            None
        };
        let Some((rest, op)) = op else {
            return Ok((i, lhs));
        };
        guard.deepen(at)?;
        let (rest, rhs) = cx.labeled(rest, "an expression", |r| {
            let mut rhs_guard = cx.guard();
            parse_operand(cx, r, &mut rhs_guard)
        })?;
        let (lhs_box, rhs_box) = (Box::new(lhs), Box::new(rhs));
        lhs = match op {
            None => Expr::In {
                lhs: lhs_box,
                rhs: rhs_box,
            },
            Some(op) => Expr::StringMatch {
                op,
                lhs: lhs_box,
                rhs: rhs_box,
            },
        };
        i = rest;
    }
}

/// An atom (or a negative number literal) with property lookups, indexing and
/// slicing, then an optional label predicate.
fn parse_operand<'s>(cx: &Cx<'s>, i: &'s str, guard: &mut DepthGuard<'_, 's>) -> PResult<'s, Expr> {
    let (i, atom) = parse_labeled_atom(cx, i)?;
    parse_postfix_ops(cx, i, atom, guard)
}

fn parse_labeled_atom<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Expr> {
    cx.labeled(i, "an expression", |at| match at.strip_prefix('-') {
        Some(rest) if peek_number(cx, rest) => parse_number(cx, rest, true),
        _ => parse_atom(cx, at),
    })
}

/// `.key`, `[index]`, `[from..to]` repeatedly, then an optional `:Label`.
fn parse_postfix_ops<'s>(
    cx: &Cx<'s>,
    mut i: &'s str,
    mut expr: Expr,
    guard: &mut DepthGuard<'_, 's>,
) -> PResult<'s, Expr> {
    loop {
        let at = skip_ws(cx, i)?;
        if at.starts_with('.') && !at.starts_with("..") {
            let (rest, key) =
                preceded(|r| symbol(cx, r, "."), |r| parse_schema_name(cx, r)).parse(at)?;
            guard.deepen(at)?;
            expr = Expr::Property {
                expr: Box::new(expr),
                key,
            };
            i = rest;
        } else if at.starts_with('[') {
            guard.deepen(at)?;
            let (rest, indexed) = parse_subscript(cx, at, expr)?;
            expr = indexed;
            i = rest;
        } else {
            break;
        }
    }
    if peek_symbol(cx, i, ":") {
        if let Some((rest, labels)) = optional(parse_labels(cx, i))? {
            guard.deepen(i)?;
            return Ok((
                rest,
                Expr::HasLabels {
                    expr: Box::new(expr),
                    labels,
                },
            ));
        }
    }
    Ok((i, expr))
}

/// `[index]` or `[from..to]` after `expr`.
fn parse_subscript<'s>(cx: &Cx<'s>, i: &'s str, expr: Expr) -> PResult<'s, Expr> {
    let (i, ()) = symbol(cx, i, "[")?;
    let (i, from) = if peek_symbol(cx, i, "..") {
        (i, None)
    } else {
        let (i, from) = parse_expr(cx, i)?;
        (i, Some(from))
    };
    if let Some((i, ())) = optional(symbol(cx, i, ".."))? {
        let (i, to) = if peek_symbol(cx, i, "]") {
            (i, None)
        } else {
            let (i, to) = parse_expr(cx, i)?;
            (i, Some(to))
        };
        let (i, ()) = symbol(cx, i, "]")?;
        return Ok((
            i,
            Expr::Slice {
                expr: Box::new(expr),
                from: from.map(Box::new),
                to: to.map(Box::new),
            },
        ));
    }
    let (i, ()) = symbol(cx, i, "]")?;
    match from {
        Some(index) => Ok((
            i,
            Expr::Index {
                expr: Box::new(expr),
                index: Box::new(index),
            },
        )),
        // `[]` after an expression: neither an index nor a slice.
        None => cx.fail(i, Expectation::Description("an expression")),
    }
}

/// An atom: literal, parameter, bracketed form, keyword form, function call,
/// map projection or variable.
fn parse_atom<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Expr> {
    let i = skip_ws(cx, i)?;
    match i.as_bytes().first() {
        Some(b'0'..=b'9' | b'.') => parse_number(cx, i, false),
        Some(b'\'' | b'"') => parse_string_atom(cx, i),
        Some(b'$') => parse_parameter_atom(cx, i),
        Some(b'[') => parse_bracket(cx, i),
        Some(b'{') => parse_map_atom(cx, i),
        Some(b'(') => parse_paren(cx, i),
        _ => parse_word_atom(cx, i),
    }
}

fn parse_string_atom<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Expr> {
    let (rest, value) = parse_string(cx, i)?;
    Ok((rest, Expr::String(value)))
}

fn parse_parameter_atom<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Expr> {
    let (rest, name) = parse_parameter(cx, i)?;
    Ok((rest, Expr::Parameter(name)))
}

fn parse_map_atom<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Expr> {
    let (rest, entries) = parse_map(cx, i)?;
    Ok((rest, Expr::Map(entries)))
}

/// `{key: value, ...}`
pub(crate) fn parse_map<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Vec<(String, Expr)>> {
    let _guard = cx.enter(i)?;
    let entry = |i| {
        let (i, key) = parse_schema_name(cx, i)?;
        let (i, ()) = symbol(cx, i, ":")?;
        let (i, value) = parse_expr(cx, i)?;
        Ok((i, (key, value)))
    };
    let (i, ()) = symbol(cx, i, "{")?;
    let (i, entries) = separated_list0(sym(cx, ","), entry).parse(i)?;
    let (i, ()) = symbol(cx, i, "}")?;
    Ok((i, entries))
}

/// `(`: a pattern predicate `(a)-->(b)`, else a parenthesized expression.
fn parse_paren<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Expr> {
    if let Some(ok) = try_pattern_predicate(cx, i)? {
        return Ok(ok);
    }
    let (i, ()) = symbol(cx, i, "(")?;
    let (i, inner) = parse_expr(cx, i)?;
    let (i, ()) = symbol(cx, i, ")")?;
    Ok((i, inner))
}

type Attempt<'s, T> = Result<Option<(&'s str, T)>, nom::Err<Fail>>;

/// A relationship pattern used as an expression (at least one relationship).
fn try_pattern_predicate<'s>(cx: &Cx<'s>, i: &'s str) -> Attempt<'s, Expr> {
    optional(cx.speculate(Speculation::PatternPredicate, i, |i| {
        let (rest, element) = parse_pattern_element(cx, i)?;
        if element.chain.is_empty() {
            return cx.fail(rest, Expectation::Token("-"));
        }
        Ok((rest, Expr::PatternPredicate(Box::new(element))))
    }))
}

/// `[`: list comprehension, pattern comprehension or list literal.
fn parse_bracket<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Expr> {
    let _guard = cx.enter(i)?;
    if let Some(ok) = try_list_comprehension(cx, i)? {
        return Ok(ok);
    }
    if let Some(ok) = try_pattern_comprehension(cx, i)? {
        return Ok(ok);
    }
    let (r, ()) = symbol(cx, i, "[")?;
    let (r, items) = separated_list0(sym(cx, ","), expr(cx)).parse(r)?;
    let (r, ()) = symbol(cx, r, "]")?;
    Ok((r, Expr::List(items)))
}

/// `[var IN list [WHERE ..] [| ..]]`, tried only after the head `[var IN`.
/// `[x IN list, 2]` is a list literal, so failure later on is recoverable.
fn try_list_comprehension<'s>(cx: &Cx<'s>, i: &'s str) -> Attempt<'s, Expr> {
    let head = (sym(cx, "["), |r| parse_variable(cx, r), kw(cx, "IN"));
    let Some((_, (_, var, ()))) = optional(nom::combinator::peek(head).parse(i))? else {
        return Ok(None);
    };
    optional(cx.speculate(Speculation::ListComprehension, i, |i| {
        let (r, _) = (sym(cx, "["), |r| parse_variable(cx, r), kw(cx, "IN")).parse(i)?;
        let (r, list) = parse_expr(cx, r)?;
        let (r, where_clause) = opt(preceded(kw(cx, "WHERE"), expr(cx))).parse(r)?;
        let (r, map) = opt(preceded(sym(cx, "|"), expr(cx))).parse(r)?;
        let (r, ()) = symbol(cx, r, "]")?;
        Ok((
            r,
            Expr::ListComprehension {
                var,
                list: Box::new(list),
                where_clause: where_clause.map(Box::new),
                map: map.map(Box::new),
            },
        ))
    }))
}

/// `[[p =] pattern [WHERE ..] | map]`
fn try_pattern_comprehension<'s>(cx: &Cx<'s>, i: &'s str) -> Attempt<'s, Expr> {
    optional(cx.speculate(Speculation::PatternComprehension, i, |i| {
        let (r, ()) = symbol(cx, i, "[")?;
        let named = |r| {
            let (r, var) = parse_variable(cx, r)?;
            let (r, ()) = symbol(cx, r, "=")?;
            Ok((r, var))
        };
        let (r, var) = opt(named).parse(r)?;
        let (r, pattern) = parse_pattern_element(cx, r)?;
        if pattern.chain.is_empty() {
            return cx.fail(r, Expectation::Token("-"));
        }
        let (r, where_clause) = opt(preceded(kw(cx, "WHERE"), expr(cx))).parse(r)?;
        let (r, ()) = symbol(cx, r, "|")?;
        let (r, map) = parse_expr(cx, r)?;
        let (r, ()) = symbol(cx, r, "]")?;
        Ok((
            r,
            Expr::PatternComprehension {
                var,
                pattern: Box::new(pattern),
                where_clause: where_clause.map(Box::new),
                map: Box::new(map),
            },
        ))
    }))
}

/// What a word at atom position starts, decided by bounded lookahead.
enum WordForm<'s> {
    /// Already complete: `true`, `false`, `null`, `count(*)`, a variable.
    Done(&'s str, Expr),
    Case,
    /// `EXISTS {`; the input is at `{`.
    Exists(&'s str),
    Quantifier(&'static str, QuantifierKind),
    Reduce,
    /// A function call; the input is at `(`.
    Call(&'s str, String),
    /// A map projection; the input is at `{`.
    MapProjection(&'s str, String),
}

/// Atoms that start with a word: `true`/`false`/`null`, `CASE`, `count(*)`,
/// quantifiers, `reduce`, `EXISTS { }`, function calls, map projections, variables.
fn parse_word_atom<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Expr> {
    match classify_word(cx, i)? {
        WordForm::Done(rest, expr) => Ok((rest, expr)),
        WordForm::Case => parse_case(cx, i),
        WordForm::Exists(rest) => parse_exists(cx, rest),
        WordForm::Quantifier(word, kind) => parse_quantifier(cx, i, word, kind),
        WordForm::Reduce => parse_reduce(cx, i),
        WordForm::Call(rest, name) => parse_call_args(cx, rest, name),
        WordForm::MapProjection(rest, var) => parse_map_projection(cx, rest, var),
    }
}

/// Decides which word form starts at `i`. Kept out of [`parse_word_atom`] so the
/// lookahead's locals are not on the stack while the form's body recurses.
#[inline(never)]
fn classify_word<'s>(cx: &Cx<'s>, i: &'s str) -> Result<WordForm<'s>, nom::Err<Fail>> {
    for (word, value) in [
        ("TRUE", Expr::Bool(true)),
        ("FALSE", Expr::Bool(false)),
        ("NULL", Expr::Null),
    ] {
        if let Some((rest, ())) = optional(keyword(cx, i, word))? {
            return Ok(WordForm::Done(rest, value));
        }
    }
    if peek_keyword(cx, i, "CASE") {
        return Ok(WordForm::Case);
    }
    if peek_keyword(cx, i, "EXISTS") {
        let (rest, ()) = keyword(cx, i, "EXISTS")?;
        if peek_symbol(cx, rest, "{") {
            return Ok(WordForm::Exists(rest));
        }
    }
    // `all(x IN`, `reduce(acc =`: the special forms; otherwise these words are
    // ordinary names (`any` may be a variable or a function).
    let head = |word: &'static str, follow: &'static str| -> Result<bool, nom::Err<Fail>> {
        let mut form = (kw(cx, word), sym(cx, "("), |r| parse_variable(cx, r));
        Ok(
            optional(form.parse(i))?.is_some_and(|(rest, _)| match follow {
                "IN" => peek_keyword(cx, rest, "IN"),
                _ => peek_symbol(cx, rest, follow) && !peek_symbol(cx, rest, "=~"),
            }),
        )
    };
    for (word, kind) in [
        ("ALL", QuantifierKind::All),
        ("ANY", QuantifierKind::Any),
        ("NONE", QuantifierKind::None),
        ("SINGLE", QuantifierKind::Single),
    ] {
        if peek_keyword(cx, i, word) && head(word, "IN")? {
            return Ok(WordForm::Quantifier(word, kind));
        }
    }
    if peek_keyword(cx, i, "REDUCE") && head("REDUCE", "=")? {
        return Ok(WordForm::Reduce);
    }
    if peek_keyword(cx, i, "COUNT") {
        let mut count_star = (
            kw(cx, "COUNT"),
            sym(cx, "("),
            sym(cx, "*"),
            cut(sym(cx, ")")),
        );
        if let Some((rest, _)) = optional(count_star.parse(i))? {
            return Ok(WordForm::Done(rest, Expr::CountStar));
        }
    }
    let at = skip_ws(cx, i)?;
    let (rest, (name, quoted)) = parse_name_quoted(cx, at)?;
    let reserved = !quoted && super::lexer::is_reserved_word(&name);
    if reserved && !name.eq_ignore_ascii_case("EXISTS") {
        return Err(cx.unexpected(at, Expectation::Description("an expression")));
    }
    // A function call: `name(`, `ns.name(`, ...
    let mut full_name = name.clone();
    let mut j = rest;
    loop {
        if peek_symbol(cx, j, "(") {
            return Ok(WordForm::Call(j, full_name));
        }
        let part = preceded(sym(cx, "."), |r| parse_schema_name(cx, r)).parse(j);
        match optional(part)? {
            Some((after, part)) => {
                full_name.push('.');
                full_name.push_str(&part);
                j = after;
            }
            None => break,
        }
    }
    if reserved {
        return Err(cx.unexpected(at, Expectation::Description("an expression")));
    }
    if peek_symbol(cx, rest, "{") {
        return Ok(WordForm::MapProjection(rest, name));
    }
    Ok(WordForm::Done(rest, Expr::Variable(name)))
}

/// `(` [DISTINCT] args `)` after a function name.
fn parse_call_args<'s>(cx: &Cx<'s>, i: &'s str, name: String) -> PResult<'s, Expr> {
    let _guard = cx.enter(i)?;
    let (i, ()) = symbol(cx, i, "(")?;
    let (i, distinct) = opt(kw(cx, "DISTINCT")).parse(i)?;
    let (i, args) = separated_list0(sym(cx, ","), expr(cx)).parse(i)?;
    let (i, ()) = cut(sym(cx, ")")).parse(i)?;
    Ok((
        i,
        Expr::FunctionCall {
            name,
            distinct: distinct.is_some(),
            args,
        },
    ))
}

/// `CASE [operand] WHEN .. THEN .. [ELSE ..] END`
fn parse_case<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Expr> {
    let _guard = cx.enter(i)?;
    let (mut i, ()) = keyword(cx, i, "CASE")?;
    let mut operand = None;
    if !peek_keyword(cx, i, "WHEN") {
        let (rest, value) = cut(expr(cx)).parse(i)?;
        operand = Some(Box::new(value));
        i = rest;
    }
    let mut whens = Vec::new();
    while let Some((rest, ())) = optional(keyword(cx, i, "WHEN"))? {
        let (rest, when) = cut(expr(cx)).parse(rest)?;
        let (rest, ()) = cut(kw(cx, "THEN")).parse(rest)?;
        let (rest, then) = cut(expr(cx)).parse(rest)?;
        whens.push((when, then));
        i = rest;
    }
    if whens.is_empty() {
        return Err(cut_err(cx.unexpected(i, Expectation::Token("WHEN"))));
    }
    let mut else_expr = None;
    if let Some((rest, ())) = optional(keyword(cx, i, "ELSE"))? {
        let (rest, value) = cut(expr(cx)).parse(rest)?;
        else_expr = Some(Box::new(value));
        i = rest;
    }
    let (i, ()) = cut(kw(cx, "END")).parse(i)?;
    Ok((
        i,
        Expr::Case {
            operand,
            whens,
            else_expr,
        },
    ))
}

/// Makes an error unrecoverable (like nom's `cut`).
fn cut_err(e: nom::Err<Fail>) -> nom::Err<Fail> {
    match e {
        nom::Err::Error(f) => nom::Err::Failure(f),
        other => other,
    }
}

/// `all|any|none|single(var IN list [WHERE predicate])`; committed after `IN`.
fn parse_quantifier<'s>(
    cx: &Cx<'s>,
    i: &'s str,
    word: &'static str,
    kind: QuantifierKind,
) -> PResult<'s, Expr> {
    let _guard = cx.enter(i)?;
    // The head `word(var IN` was checked by `classify_word`.
    let (i, ()) = keyword(cx, i, word)?;
    let (i, ()) = symbol(cx, i, "(")?;
    let (i, var) = parse_variable(cx, i)?;
    let (i, ()) = keyword(cx, i, "IN")?;
    let (i, list) = cut(expr(cx)).parse(i)?;
    let (i, where_clause) = opt(preceded(kw(cx, "WHERE"), cut(expr(cx)))).parse(i)?;
    let (i, ()) = cut(sym(cx, ")")).parse(i)?;
    Ok((
        i,
        Expr::Quantifier {
            kind,
            var,
            list: Box::new(list),
            where_clause: where_clause.map(Box::new),
        },
    ))
}

/// `reduce(acc = init, var IN list | expr)`; committed after `acc =`.
fn parse_reduce<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Expr> {
    let _guard = cx.enter(i)?;
    let (i, ()) = keyword(cx, i, "REDUCE")?;
    let (i, ()) = symbol(cx, i, "(")?;
    let (i, accumulator) = parse_variable(cx, i)?;
    let (i, ()) = symbol(cx, i, "=")?;
    let body = |i| {
        let (i, init) = parse_expr(cx, i)?;
        let (i, ()) = symbol(cx, i, ",")?;
        let (i, var) = parse_variable(cx, i)?;
        let (i, ()) = keyword(cx, i, "IN")?;
        let (i, list) = parse_expr(cx, i)?;
        let (i, ()) = symbol(cx, i, "|")?;
        let (i, expr) = parse_expr(cx, i)?;
        let (i, ()) = symbol(cx, i, ")")?;
        Ok((i, (init, var, list, expr)))
    };
    let (i, (init, var, list, expr)) = cut(body).parse(i)?;
    Ok((
        i,
        Expr::Reduce {
            accumulator,
            init: Box::new(init),
            var,
            list: Box::new(list),
            expr: Box::new(expr),
        },
    ))
}

/// `{ [MATCH] pattern [WHERE ..] }` or `{ query }` after `EXISTS`.
fn parse_exists<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Expr> {
    let _guard = cx.enter(i)?;
    let (i, ()) = symbol(cx, i, "{")?;
    let pattern_form = cx.speculate(Speculation::ExistsPattern, i, |i| {
        let (i, _) = opt(kw(cx, "MATCH")).parse(i)?;
        let (i, patterns) = parse_pattern_list(cx, i)?;
        let (i, where_clause) = opt(preceded(kw(cx, "WHERE"), expr(cx))).parse(i)?;
        let (i, ()) = symbol(cx, i, "}")?;
        Ok((
            i,
            ExistsSubquery::Pattern {
                patterns,
                where_clause,
            },
        ))
    });
    if let Some((rest, subquery)) = optional(pattern_form)? {
        return Ok((rest, Expr::Exists(Box::new(subquery))));
    }
    let (i, query) = clause::parse_query(cx, i, false)?;
    let (i, ()) = symbol(cx, i, "}")?;
    Ok((i, Expr::Exists(Box::new(ExistsSubquery::Query(query)))))
}

/// `{.key, .*, key: expr, var}` after a variable.
fn parse_map_projection<'s>(cx: &Cx<'s>, i: &'s str, var: String) -> PResult<'s, Expr> {
    let _guard = cx.enter(i)?;
    let item = |i: &'s str| -> PResult<'s, MapProjectionItem> {
        if let Some((rest, ())) = optional(symbol(cx, i, "."))? {
            if let Some((rest, ())) = optional(symbol(cx, rest, "*"))? {
                return Ok((rest, MapProjectionItem::AllProperties));
            }
            let (rest, key) = parse_schema_name(cx, rest)?;
            return Ok((rest, MapProjectionItem::Property(key)));
        }
        let (rest, (name, quoted)) = parse_name_quoted(cx, i)?;
        if let Some((rest, ())) = optional(symbol(cx, rest, ":"))? {
            let (rest, value) = parse_expr(cx, rest)?;
            return Ok((rest, MapProjectionItem::Literal(name, value)));
        }
        if !quoted && super::lexer::is_reserved_word(&name) {
            return cx.fail(skip_ws(cx, i)?, Expectation::Description("an identifier"));
        }
        Ok((rest, MapProjectionItem::Variable(name)))
    };
    let (i, ()) = symbol(cx, i, "{")?;
    let (i, items) = separated_list0(sym(cx, ","), item).parse(i)?;
    let (i, ()) = cut(sym(cx, "}")).parse(i)?;
    Ok((i, Expr::MapProjection { var, items }))
}

/// An operand with its postfix operators (the target of `SET n.k = ..`).
pub(crate) fn parse_postfix<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Expr> {
    let mut guard = cx.guard();
    parse_operand(cx, i, &mut guard)
}
