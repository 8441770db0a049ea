//! [`ParseError`]: the one error type of this crate.
//!
//! A syntax error names where the parser got furthest (line, column, byte offset)
//! and what it would have accepted there, in the Neo4j spirit:
//!
//! ```text
//! Invalid input 'RETRUN': expected "MATCH", "RETURN", "WITH" or ... (line 1, column 11 (offset: 10))
//! ```
//!
//! The query layer maps every `ParseError` to `Neo.ClientError.Statement.SyntaxError`;
//! [`ParseErrorKind`] says which TCK error detail applies.

use std::fmt;

/// Why parsing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseErrorKind {
    /// Input that does not fit the grammar (including unexpected end of input).
    UnexpectedInput,
    /// An integer literal outside the `i64` range.
    IntegerOverflow,
    /// A float literal too large for `f64`.
    FloatingPointOverflow,
    /// A bad escape sequence in a string literal (`\q`, `\u12`, a lone surrogate).
    InvalidEscape,
    /// Nesting deeper than [`crate::MAX_NESTING_DEPTH`].
    TooDeeplyNested,
    /// The parser's work budget ran out (pathological backtracking).
    TooComplex,
    /// Grammatical but structurally invalid: a query that does not end in `RETURN`
    /// or an updating clause, `RETURN` before the last clause, a constraint property
    /// on another variable.
    InvalidStructure,
}

/// A syntax error with its position. `Display` prints [`ParseError::message`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// 1-based line of the offending input.
    pub line: usize,
    /// 1-based column (in characters) of the offending input.
    pub column: usize,
    /// 0-based byte offset of the offending input.
    pub offset: usize,
    /// What the parser would have accepted there (for [`ParseErrorKind::UnexpectedInput`];
    /// may be empty for the other kinds), sorted, e.g. `"\"RETURN\""`, `"an expression"`.
    pub expected: Vec<String>,
    /// The full human-readable message, position included.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl ParseError {
    /// An error of `kind` at byte `offset` of `src`. `detail` is the message body
    /// (without position), or `None` to build the `Invalid input ...: expected ...`
    /// text from `expected`.
    pub(crate) fn at(
        src: &str,
        offset: usize,
        kind: ParseErrorKind,
        expected: Vec<String>,
        detail: Option<String>,
    ) -> ParseError {
        let offset = floor_char_boundary(src, offset.min(src.len()));
        let before = &src[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let body = detail.unwrap_or_else(|| unexpected_input(&src[offset..], &expected));
        let message = format!("{body} (line {line}, column {column} (offset: {offset}))");
        ParseError {
            kind,
            line,
            column,
            offset,
            expected,
            message,
        }
    }
}

/// `Invalid input 'X': expected a, b or c`, where X is the word (or character) at
/// the error position.
fn unexpected_input(rest: &str, expected: &[String]) -> String {
    let mut text = match offending_token(rest) {
        None => "Unexpected end of input".to_string(),
        Some(token) => format!("Invalid input '{token}'"),
    };
    match expected {
        [] => {}
        [only] => text.push_str(&format!(": expected {only}")),
        [init @ .., last] => text.push_str(&format!(": expected {} or {last}", init.join(", "))),
    }
    text
}

/// The identifier-like word at the start of `rest`, else its first character;
/// `None` at the end of input. Capped so a huge token does not flood the message.
fn offending_token(rest: &str) -> Option<String> {
    const MAX_CHARS: usize = 40;
    let first = rest.chars().next()?;
    if first.is_alphanumeric() || first == '_' {
        let word: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .take(MAX_CHARS)
            .collect();
        Some(word)
    } else {
        Some(first.to_string())
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_and_message() {
        let src = "MATCH (n)\nRETRUN n";
        let err = ParseError::at(
            src,
            10,
            ParseErrorKind::UnexpectedInput,
            vec!["\"MATCH\"".into(), "\"RETURN\"".into(), "\"WITH\"".into()],
            None,
        );
        assert_eq!((err.line, err.column, err.offset), (2, 1, 10));
        assert_eq!(
            err.to_string(),
            "Invalid input 'RETRUN': expected \"MATCH\", \"RETURN\" or \"WITH\" (line 2, column 1 (offset: 10))"
        );
    }

    #[test]
    fn end_of_input_and_multibyte_columns() {
        let src = "RETURN 'é',";
        let err = ParseError::at(
            src,
            src.len(),
            ParseErrorKind::UnexpectedInput,
            vec!["an expression".into()],
            None,
        );
        assert_eq!((err.line, err.column), (1, 12));
        assert!(err
            .message
            .starts_with("Unexpected end of input: expected an expression"));
    }
}
