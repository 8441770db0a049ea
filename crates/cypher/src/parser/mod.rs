//! The parser: nom 8 combinators over `&str`, threaded through a [`Cx`] context.
//!
//! # Layout
//!
//! * `lexer`: whitespace and comments, keywords, symbols, names, literals. Every
//!   token primitive skips leading whitespace, spends one unit of fuel, and on
//!   failure records what it expected at that offset.
//! * `expr`: expressions by precedence climbing; chains are built iteratively.
//! * `pattern`: node/relationship patterns and pattern parts.
//! * `clause`: clauses, projections, single queries and `UNION`.
//! * `admin`: schema, replication, storage, auth and transaction statements.
//!
//! # Errors
//!
//! Like a PEG parser, the context remembers the furthest offset at which any token
//! failed and the set of tokens expected there; that becomes the [`ParseError`].
//! Errors that must stop all backtracking (integer overflow, nesting too deep, fuel
//! exhausted, a committed construct that fails) are `nom::Err::Failure`; the fatal
//! ones store their kind and message in the context.
//!
//! # Limits
//!
//! * Depth: every recursive entry (expressions, nested patterns, subqueries) and
//!   every iterative wrap (`NOT NOT ...`, `- - ...`, `a.b.c...`) takes one level of
//!   [`MAX_NESTING_DEPTH`]. This bounds both the parser's stack and the AST's depth.
//! * Fuel: a work budget proportional to the input length. Speculative branches are
//!   memoized where they can nest (see [`Speculation`]), so real inputs never come
//!   near it; it exists so that no input can make the parser run for long.

mod admin;
mod clause;
mod expr;
pub(crate) mod lexer;
mod pattern;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;

use crate::ast::{Expr, Statement};
use crate::error::{ParseError, ParseErrorKind};

/// Maximum nesting of parentheses, lists, maps, subqueries and prefix/postfix
/// operators. Deeper input is a [`ParseErrorKind::TooDeeplyNested`] error.
pub const MAX_NESTING_DEPTH: usize = 200;

/// Fuel units per input byte, plus a fixed allowance.
const FUEL_PER_BYTE: u64 = 400;
const FUEL_BASE: u64 = 1_000_000;

/// Parses one statement (an optional trailing `;` is allowed).
pub fn parse(text: &str) -> Result<Statement, ParseError> {
    let cx = Cx::new(text);
    let result = clause::parse_statement(&cx, text);
    cx.finish(result)
}

/// Parses a standalone expression (handy for tests and tools).
pub fn parse_expression(text: &str) -> Result<Expr, ParseError> {
    let cx = Cx::new(text);
    let result = expr::parse_expr(&cx, text).and_then(|(rest, expr)| {
        let rest = lexer::parse_end(&cx, rest)?;
        Ok((rest, expr))
    });
    cx.finish(result)
}

/// The nom error type. Positions and expectations live in [`Cx`], so it carries
/// nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fail;

impl<I> nom::error::ParseError<I> for Fail {
    fn from_error_kind(_: I, _: nom::error::ErrorKind) -> Self {
        Fail
    }

    fn append(_: I, _: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

pub(crate) type PResult<'s, T> = nom::IResult<&'s str, T, Fail>;

/// What a failed token primitive expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Expectation {
    /// A literal token, printed in double quotes: `"MATCH"`, `"("`.
    Token(&'static str),
    /// A class of input, printed as is: `an expression`.
    Description(&'static str),
}

/// Speculative parses that can nest inside one another; a failure is remembered
/// by `(kind, offset)` so the alternative that follows does not redo it, which
/// keeps nested speculation linear instead of exponential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Speculation {
    ListComprehension,
    PatternComprehension,
    PatternPredicate,
    ExistsPattern,
}

struct Furthest {
    offset: usize,
    expected: Vec<Expectation>,
}

struct Fatal {
    offset: usize,
    kind: ParseErrorKind,
    message: String,
}

/// Parse state shared by all parse functions for one input: the source (for
/// offsets), the depth counter, the fuel, the furthest failure and memo tables.
/// Interior mutability lets every closure borrow it shared.
pub(crate) struct Cx<'s> {
    src: &'s str,
    depth: Cell<usize>,
    fuel: Cell<u64>,
    furthest: RefCell<Furthest>,
    fatal: RefCell<Option<Fatal>>,
    failed: RefCell<HashSet<(Speculation, usize)>>,
    /// The last whitespace skip: (offset before, offset after).
    ws_cache: Cell<(usize, usize)>,
}

/// Holds `levels` of depth; gives them back on drop.
pub(crate) struct DepthGuard<'c, 's> {
    cx: &'c Cx<'s>,
    levels: usize,
}

impl DepthGuard<'_, '_> {
    /// Takes one more level (for an iterative wrap such as a repeated `NOT`).
    pub(crate) fn deepen(&mut self, at: &str) -> Result<(), nom::Err<Fail>> {
        self.cx.take_level(at)?;
        self.levels += 1;
        Ok(())
    }
}

impl Drop for DepthGuard<'_, '_> {
    fn drop(&mut self) {
        self.cx.depth.set(self.cx.depth.get() - self.levels);
    }
}

impl<'s> Cx<'s> {
    fn new(src: &'s str) -> Self {
        Cx {
            src,
            depth: Cell::new(0),
            fuel: Cell::new(
                FUEL_BASE.saturating_add(FUEL_PER_BYTE.saturating_mul(src.len() as u64)),
            ),
            furthest: RefCell::new(Furthest {
                offset: 0,
                expected: Vec::new(),
            }),
            fatal: RefCell::new(None),
            failed: RefCell::new(HashSet::new()),
            ws_cache: Cell::new((usize::MAX, 0)),
        }
    }

    /// The byte offset of `at` (a suffix of the source).
    pub(crate) fn offset(&self, at: &str) -> usize {
        debug_assert!(at.len() <= self.src.len());
        self.src.len() - at.len()
    }

    /// The rest of the source from byte `offset`.
    pub(crate) fn rest_at(&self, offset: usize) -> &'s str {
        &self.src[offset..]
    }

    /// The source text between two suffixes `from` and `to` (`to` after `from`).
    pub(crate) fn text_between(&self, from: &str, to: &str) -> &'s str {
        &self.src[self.offset(from)..self.offset(to)]
    }

    /// Records that `what` was expected at `at`.
    pub(crate) fn expect(&self, at: &str, what: Expectation) {
        let offset = self.offset(at);
        let mut furthest = self.furthest.borrow_mut();
        if offset > furthest.offset {
            furthest.offset = offset;
            furthest.expected.clear();
        }
        // Duplicates are removed when the error is built; the list is cleared
        // whenever parsing gets further, so it stays short.
        if offset == furthest.offset {
            furthest.expected.push(what);
        }
    }

    /// Records `what` as expected at `at` and returns a recoverable error.
    pub(crate) fn fail<T>(&self, at: &'s str, what: Expectation) -> PResult<'s, T> {
        Err(self.unexpected(at, what))
    }

    /// Records `what` as expected at `at`; the recoverable error to return.
    pub(crate) fn unexpected(&self, at: &str, what: Expectation) -> nom::Err<Fail> {
        self.expect(at, what);
        nom::Err::Error(Fail)
    }

    /// Records a fatal error at `at` (the first one wins) and returns the
    /// `Failure` that stops all backtracking.
    pub(crate) fn fatal(&self, at: &str, kind: ParseErrorKind, message: String) -> nom::Err<Fail> {
        let mut fatal = self.fatal.borrow_mut();
        if fatal.is_none() {
            *fatal = Some(Fatal {
                offset: self.offset(at),
                kind,
                message,
            });
        }
        nom::Err::Failure(Fail)
    }

    /// Spends one unit of fuel.
    pub(crate) fn tick(&self, at: &str) -> Result<(), nom::Err<Fail>> {
        let fuel = self.fuel.get();
        if fuel == 0 {
            return Err(self.fatal(
                at,
                ParseErrorKind::TooComplex,
                "Query is too complex to parse".to_string(),
            ));
        }
        self.fuel.set(fuel - 1);
        Ok(())
    }

    fn take_level(&self, at: &str) -> Result<(), nom::Err<Fail>> {
        let depth = self.depth.get() + 1;
        if depth > MAX_NESTING_DEPTH {
            return Err(self.fatal(
                at,
                ParseErrorKind::TooDeeplyNested,
                format!("Query is nested too deeply (more than {MAX_NESTING_DEPTH} levels)"),
            ));
        }
        self.depth.set(depth);
        Ok(())
    }

    /// A guard holding no levels yet, for iterative wraps ([`DepthGuard::deepen`]).
    pub(crate) fn guard<'c>(&'c self) -> DepthGuard<'c, 's> {
        DepthGuard {
            cx: self,
            levels: 0,
        }
    }

    /// Takes one nesting level for a recursive parse; released when the guard drops.
    pub(crate) fn enter<'c>(&'c self, at: &str) -> Result<DepthGuard<'c, 's>, nom::Err<Fail>> {
        self.take_level(at)?;
        Ok(DepthGuard {
            cx: self,
            levels: 1,
        })
    }

    /// Runs `parser`; if it fails without getting past `at`, the expectations it
    /// recorded at `at` are replaced by the single description `label`
    /// ("an expression" instead of every token an expression may start with).
    pub(crate) fn labeled<T>(
        &self,
        at: &'s str,
        label: &'static str,
        parser: impl FnOnce(&'s str) -> PResult<'s, T>,
    ) -> PResult<'s, T> {
        let at = lexer::skip_ws(self, at)?;
        let offset = self.offset(at);
        let (before_offset, before_len) = {
            let furthest = self.furthest.borrow();
            (furthest.offset, furthest.expected.len())
        };
        let result = parser(at);
        if let Err(nom::Err::Error(_)) = &result {
            let mut furthest = self.furthest.borrow_mut();
            if furthest.offset == offset {
                let keep = if before_offset == offset {
                    before_len
                } else {
                    0
                };
                furthest.expected.truncate(keep);
                furthest.expected.push(Expectation::Description(label));
            }
        }
        result
    }

    /// Runs a speculative `parser` at `at` unless it already failed there.
    pub(crate) fn speculate<T>(
        &self,
        kind: Speculation,
        at: &'s str,
        parser: impl FnOnce(&'s str) -> PResult<'s, T>,
    ) -> PResult<'s, T> {
        let key = (kind, self.offset(at));
        if self.failed.borrow().contains(&key) {
            return Err(nom::Err::Error(Fail));
        }
        let result = parser(at);
        if let Err(nom::Err::Error(_)) = &result {
            self.failed.borrow_mut().insert(key);
        }
        result
    }

    /// Turns the top-level result into the public one.
    fn finish<T>(&self, result: PResult<'s, T>) -> Result<T, ParseError> {
        match result {
            Ok((_, value)) => Ok(value),
            Err(_) => Err(self.error()),
        }
    }

    /// Builds a [`ParseError`], preferring a recorded fatal error.
    pub(crate) fn error(&self) -> ParseError {
        if let Some(fatal) = self.fatal.borrow().as_ref() {
            return ParseError::at(
                self.src,
                fatal.offset,
                fatal.kind,
                Vec::new(),
                Some(fatal.message.clone()),
            );
        }
        let furthest = self.furthest.borrow();
        let mut expected = furthest.expected.clone();
        expected.sort();
        expected.dedup();
        let expected = expected
            .into_iter()
            .map(|what| match what {
                Expectation::Token(token) if token.contains('"') => format!("'{token}'"),
                Expectation::Token(token) => format!("\"{token}\""),
                Expectation::Description(text) => text.to_string(),
            })
            .collect();
        ParseError::at(
            self.src,
            furthest.offset,
            ParseErrorKind::UnexpectedInput,
            expected,
            None,
        )
    }
}
