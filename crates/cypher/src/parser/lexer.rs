//! Token-level parsers: whitespace and comments, keywords, symbols, names and
//! literals.
//!
//! Every primitive skips leading whitespace (cached, so alternatives trying the
//! same offset do not rescan a long comment), spends fuel, and on failure records
//! its expectation in the [`Cx`]. None of them consume trailing whitespace, so the
//! text of an expression is exactly what its parser consumed.

use nom::bytes::complete::{tag, take_while, take_while1};
use nom::Parser;

use super::{Cx, Expectation, Fail, PResult};
use crate::ast::Expr;
use crate::error::ParseErrorKind;

/// openCypher's reserved words: not usable as unquoted variable names (labels,
/// types and property keys may still be reserved words).
const RESERVED_WORDS: &[&str] = &[
    "ALL",
    "AND",
    "AS",
    "ASC",
    "ASCENDING",
    "BY",
    "CALL",
    "CASE",
    "CONTAINS",
    "CREATE",
    "DELETE",
    "DESC",
    "DESCENDING",
    "DETACH",
    "DISTINCT",
    "ELSE",
    "END",
    "ENDS",
    "EXISTS",
    "FALSE",
    "IN",
    "IS",
    "LIMIT",
    "MATCH",
    "MERGE",
    "NOT",
    "NULL",
    "ON",
    "OPTIONAL",
    "OR",
    "ORDER",
    "REMOVE",
    "RETURN",
    "SET",
    "SKIP",
    "STARTS",
    "THEN",
    "TRUE",
    "UNION",
    "UNWIND",
    "WHEN",
    "WHERE",
    "WITH",
    "XOR",
    "YIELD",
];

/// True when `word` is a reserved word (case-insensitive).
pub(crate) fn is_reserved_word(word: &str) -> bool {
    RESERVED_WORDS
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(word))
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Skips whitespace, `// line` and `/* block */` comments, spending one unit of
/// fuel. An unterminated block comment is left in place (the next token fails on it).
pub(crate) fn skip_ws<'s>(cx: &Cx<'s>, i: &'s str) -> Result<&'s str, nom::Err<Fail>> {
    cx.tick(i)?;
    let start = cx.offset(i);
    let (cached_start, cached_end) = cx.ws_cache.get();
    if cached_start == start {
        return Ok(cx.rest_at(cached_end));
    }
    let mut rest = i;
    loop {
        rest = rest.trim_start();
        if let Some(comment) = rest.strip_prefix("//") {
            rest = comment.find('\n').map_or("", |end| &comment[end..]);
        } else if let Some(comment) = rest.strip_prefix("/*") {
            match comment.find("*/") {
                Some(end) => rest = &comment[end + 2..],
                None => break,
            }
        } else {
            break;
        }
    }
    cx.ws_cache.set((start, cx.offset(rest)));
    Ok(rest)
}

/// A case-insensitive keyword that is not the prefix of a longer word.
pub(crate) fn keyword<'s>(cx: &Cx<'s>, i: &'s str, word: &'static str) -> PResult<'s, ()> {
    let i = skip_ws(cx, i)?;
    // Keywords are ASCII, so a byte comparison is exact and cheaper than nom's
    // Unicode-aware `tag_no_case`.
    let matches = i
        .as_bytes()
        .get(..word.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(word.as_bytes()));
    if matches && !i[word.len()..].starts_with(is_name_char) {
        Ok((&i[word.len()..], ()))
    } else {
        cx.fail(i, Expectation::Token(word))
    }
}

/// A nom parser for [`keyword`].
pub(crate) fn kw<'c, 's>(
    cx: &'c Cx<'s>,
    word: &'static str,
) -> impl FnMut(&'s str) -> PResult<'s, ()> + 'c {
    move |i| keyword(cx, i, word)
}

/// Whether `word` comes next (no expectation recorded, no input consumed).
pub(crate) fn peek_keyword<'s>(cx: &Cx<'s>, i: &'s str, word: &'static str) -> bool {
    let Ok(i) = skip_ws(cx, i) else {
        return false;
    };
    i.as_bytes()
        .get(..word.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(word.as_bytes()))
        && !i[word.len()..].starts_with(is_name_char)
}

/// An exact punctuation token.
pub(crate) fn symbol<'s>(cx: &Cx<'s>, i: &'s str, token: &'static str) -> PResult<'s, ()> {
    let i = skip_ws(cx, i)?;
    match tag::<_, _, Fail>(token).parse(i) {
        Ok((rest, _)) => Ok((rest, ())),
        Err(_) => cx.fail(i, Expectation::Token(token)),
    }
}

/// A nom parser for [`symbol`].
pub(crate) fn sym<'c, 's>(
    cx: &'c Cx<'s>,
    token: &'static str,
) -> impl FnMut(&'s str) -> PResult<'s, ()> + 'c {
    move |i| symbol(cx, i, token)
}

/// Whether `token` comes next (no expectation recorded, no input consumed).
pub(crate) fn peek_symbol<'s>(cx: &Cx<'s>, i: &'s str, token: &'static str) -> bool {
    skip_ws(cx, i).is_ok_and(|i| i.starts_with(token))
}

/// End of input (after whitespace).
pub(crate) fn parse_end<'s>(cx: &Cx<'s>, i: &'s str) -> Result<&'s str, nom::Err<Fail>> {
    let i = skip_ws(cx, i)?;
    if i.is_empty() {
        Ok(i)
    } else {
        Err(cx.unexpected(i, Expectation::Description("end of input")))
    }
}

/// A name, plain or backtick-quoted. Returns the name and whether it was quoted.
fn parse_name<'s>(cx: &Cx<'s>, i: &'s str, what: &'static str) -> PResult<'s, (String, bool)> {
    let i = skip_ws(cx, i)?;
    if let Some(quoted) = i.strip_prefix('`') {
        // Inside backticks a doubled backtick stands for one.
        let mut name = String::new();
        let mut rest = quoted;
        loop {
            let Some(end) = rest.find('`') else {
                return cx.fail(cx.rest_at(cx.src.len()), Expectation::Token("`"));
            };
            name.push_str(&rest[..end]);
            if rest[end + 1..].starts_with('`') {
                name.push('`');
                rest = &rest[end + 2..];
            } else {
                rest = &rest[end + 1..];
                break;
            }
        }
        if name.is_empty() {
            return cx.fail(i, Expectation::Description(what));
        }
        return Ok((rest, (name, true)));
    }
    if !i.starts_with(is_name_start) {
        return cx.fail(i, Expectation::Description(what));
    }
    let (rest, word) = take_while1::<_, _, Fail>(is_name_char)
        .parse(i)
        .map_err(|_| nom::Err::Error(Fail))?;
    Ok((rest, (word.to_string(), false)))
}

/// A variable (or other symbolic name such as a user or replica name): plain and
/// not reserved, or quoted.
pub(crate) fn parse_variable<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, String> {
    let (rest, (name, quoted)) = parse_name(cx, i, "an identifier")?;
    if !quoted && is_reserved_word(&name) {
        let at = skip_ws(cx, i)?;
        return cx.fail(at, Expectation::Description("an identifier"));
    }
    Ok((rest, name))
}

/// A label, relationship type, property key or map key: any name, reserved words
/// included.
pub(crate) fn parse_schema_name<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, String> {
    parse_name(cx, i, "a name").map(|(rest, (name, _))| (rest, name))
}

/// Like [`parse_schema_name`] but also reports whether the name was backtick-quoted.
pub(crate) fn parse_name_quoted<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, (String, bool)> {
    parse_name(cx, i, "a name")
}

/// `:A:B` (one or more labels; whitespace allowed around the colons).
pub(crate) fn parse_labels<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Vec<String>> {
    let mut labels = Vec::new();
    let (mut i, _) = symbol(cx, i, ":")?;
    loop {
        let (rest, label) = parse_schema_name(cx, i)?;
        labels.push(label);
        i = rest;
        match symbol(cx, i, ":") {
            Ok((rest, ())) => i = rest,
            Err(nom::Err::Error(_)) => return Ok((i, labels)),
            Err(e) => return Err(e),
        }
    }
}

/// `$name` or `$0`.
pub(crate) fn parse_parameter<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, String> {
    let (i, ()) = symbol(cx, i, "$")?;
    if i.starts_with(|c: char| c.is_ascii_digit()) {
        let (rest, digits) = take_while::<_, _, Fail>(|c: char| c.is_ascii_digit())
            .parse(i)
            .map_err(|_| nom::Err::Error(Fail))?;
        return Ok((rest, digits.to_string()));
    }
    // No whitespace between `$` and the name.
    if i.starts_with(char::is_whitespace) || i.starts_with("/*") || i.starts_with("//") {
        return cx.fail(i, Expectation::Description("a parameter name"));
    }
    parse_name(cx, i, "a parameter name").map(|(rest, (name, _))| (rest, name))
}

/// A string literal in single or double quotes, escapes resolved.
pub(crate) fn parse_string<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, String> {
    let i = skip_ws(cx, i)?;
    let Some(quote) = i.chars().next().filter(|c| *c == '\'' || *c == '"') else {
        return cx.fail(i, Expectation::Description("a string"));
    };
    let mut rest = &i[1..];
    let mut value = String::new();
    loop {
        // Copy runs of plain characters in one go: a 10 MB literal is one scan.
        let Some(stop) = rest.find([quote, '\\']) else {
            let end = cx.rest_at(cx.src.len());
            return cx.fail(
                end,
                Expectation::Token(if quote == '\'' { "'" } else { "\"" }),
            );
        };
        value.push_str(&rest[..stop]);
        rest = &rest[stop..];
        if rest.starts_with(quote) {
            return Ok((&rest[1..], value));
        }
        let (after, c) = parse_escape(cx, rest)?;
        value.push(c);
        rest = after;
    }
}

/// One escape sequence starting at the backslash in `i`.
fn parse_escape<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, char> {
    let body = &i[1..];
    let Some(letter) = body.chars().next() else {
        return cx.fail(body, Expectation::Description("an escape sequence"));
    };
    let simple = match letter {
        '\\' => Some('\\'),
        '\'' => Some('\''),
        '"' => Some('"'),
        'b' | 'B' => Some('\u{8}'),
        'f' | 'F' => Some('\u{c}'),
        'n' | 'N' => Some('\n'),
        'r' | 'R' => Some('\r'),
        't' | 'T' => Some('\t'),
        _ => None,
    };
    if let Some(c) = simple {
        return Ok((&body[letter.len_utf8()..], c));
    }
    let width = match letter {
        'u' => 4,
        'U' => 8,
        _ => {
            return Err(cx.fatal(
                i,
                ParseErrorKind::InvalidEscape,
                format!("Invalid escape sequence '\\{letter}' in string literal"),
            ))
        }
    };
    let digits = &body[1..];
    let invalid = |cx: &Cx<'s>| {
        cx.fatal(
            i,
            ParseErrorKind::InvalidEscape,
            "Invalid unicode escape in string literal".to_string(),
        )
    };
    let Some(code) = hex_code(digits, width) else {
        return Err(invalid(cx));
    };
    let after = &digits[width..];
    if (0xD800..0xDC00).contains(&code) {
        // A UTF-16 high surrogate must be followed by an escaped low surrogate.
        let low = after
            .strip_prefix("\\u")
            .and_then(|d| hex_code(d, 4))
            .filter(|low| (0xDC00..0xE000).contains(low));
        let Some(low) = low else {
            return Err(invalid(cx));
        };
        let c = char::from_u32(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00));
        return match c {
            Some(c) => Ok((&after[6..], c)),
            None => Err(invalid(cx)),
        };
    }
    match char::from_u32(code) {
        Some(c) => Ok((after, c)),
        None => Err(invalid(cx)),
    }
}

/// `width` hex digits at the start of `s`.
fn hex_code(s: &str, width: usize) -> Option<u32> {
    let digits = s.get(..width)?;
    if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// A number literal: decimal, `0x` hex, `0o` or legacy leading-zero octal
/// integers, and floats (`1.5`, `.5`, `1e3`, `1.5E-3`). With `negative` the value
/// is negated before the range check, so `-9223372036854775808` is accepted.
pub(crate) fn parse_number<'s>(cx: &Cx<'s>, i: &'s str, negative: bool) -> PResult<'s, Expr> {
    let i = skip_ws(cx, i)?;
    let bytes = i.as_bytes();
    let digits_at = |from: usize| {
        bytes[from.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let int_len = digits_at(0);
    let fraction_len = if bytes.get(int_len) == Some(&b'.') {
        digits_at(int_len + 1)
    } else {
        0
    };
    if int_len == 0 && fraction_len == 0 {
        return cx.fail(i, Expectation::Description("a number"));
    }
    let mut end = int_len
        + if fraction_len > 0 {
            1 + fraction_len
        } else {
            0
        };
    let mut is_float = fraction_len > 0;
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
        let exponent_len = digits_at(end + 1 + sign);
        if exponent_len > 0 {
            end += 1 + sign + exponent_len;
            is_float = true;
        }
    }
    if is_float {
        let rest = &i[end..];
        if rest.starts_with(is_name_char) {
            return cx.fail(rest, Expectation::Description("a number"));
        }
        let value: f64 = i[..end].parse().map_err(|_| nom::Err::Error(Fail))?;
        if value.is_infinite() {
            return Err(cx.fatal(
                i,
                ParseErrorKind::FloatingPointOverflow,
                format!("Floating point number is too large: '{}'", &i[..end]),
            ));
        }
        return Ok((rest, Expr::Float(if negative { -value } else { value })));
    }
    let (radix, digits_start) = match bytes.get(..2) {
        Some(b"0x" | b"0X") => (16, 2),
        Some(b"0o" | b"0O") => (8, 2),
        _ if int_len > 1 && bytes[0] == b'0' => (8, 1),
        _ => (10, 0),
    };
    let digits_len = bytes[digits_start..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    let literal_end = if radix == 10 {
        int_len
    } else {
        digits_start + digits_len
    };
    let digits = &i[digits_start..literal_end];
    let rest = &i[literal_end..];
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_digit(radix))
        || rest.starts_with(is_name_char)
    {
        return cx.fail(i, Expectation::Description("a number"));
    }
    let magnitude = digits.bytes().try_fold(0u128, |acc, d| {
        let digit = (d as char).to_digit(radix)? as u128;
        acc.checked_mul(radix as u128)?
            .checked_add(digit)
            .filter(|v| *v <= 1u128 << 64)
    });
    let value = magnitude.and_then(|m| {
        let signed = if negative { -(m as i128) } else { m as i128 };
        i64::try_from(signed).ok()
    });
    match value {
        Some(value) => Ok((rest, Expr::Integer(value))),
        None => Err(cx.fatal(
            i,
            ParseErrorKind::IntegerOverflow,
            format!(
                "Integer is too large: '{}{}'",
                if negative { "-" } else { "" },
                &i[..literal_end]
            ),
        )),
    }
}

/// Whether a number literal starts here (a digit, or `.` then a digit).
pub(crate) fn peek_number<'s>(cx: &Cx<'s>, i: &'s str) -> bool {
    let Ok(i) = skip_ws(cx, i) else {
        return false;
    };
    let bytes = i.as_bytes();
    match bytes.first() {
        Some(b) if b.is_ascii_digit() => true,
        Some(b'.') => bytes.get(1).is_some_and(u8::is_ascii_digit),
        _ => false,
    }
}

/// An unsigned decimal integer (variable-length bounds).
pub(crate) fn parse_unsigned<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, u64> {
    let i = skip_ws(cx, i)?;
    let (rest, digits) = match take_while1::<_, _, Fail>(|c: char| c.is_ascii_digit()).parse(i) {
        Ok(ok) => ok,
        Err(_) => return cx.fail(i, Expectation::Description("an integer")),
    };
    match digits.parse::<u64>() {
        Ok(value) => Ok((rest, value)),
        Err(_) => Err(cx.fatal(
            i,
            ParseErrorKind::IntegerOverflow,
            format!("Integer is too large: '{digits}'"),
        )),
    }
}
