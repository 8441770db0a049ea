//! `cypher`: the typed AST and parser for ferrograph's Cypher subset and
//! Memgraph's admin statements. No storage, no execution.
//!
//! # Layout
//!
//! * [`ast`]: the types. [`Statement`] is the root: a regular [`Query`] (clauses,
//!   `UNION`) or an admin statement (schema, replication, storage, auth,
//!   transaction control). Expressions are [`Expr`]; patterns are [`PatternPart`].
//! * [`parse`] (module `parser`): nom 8 combinators over `&str`, split into
//!   `lexer` (whitespace, comments, keywords, names, literals), `expr`
//!   (precedence climbing), `pattern`, `clause` and `admin`. Errors are
//!   [`ParseError`] with line, column and the expected tokens at the furthest
//!   point reached.
//! * `display`: `Display` for every AST type, printing canonical Cypher that
//!   re-parses to an equal AST (the tests check this for every construct and for
//!   random expressions).
//!
//! # Guarantees
//!
//! * `parse` never panics and never overflows the stack: nesting beyond
//!   [`MAX_NESTING_DEPTH`] is an error, operator chains are parsed iteratively and
//!   stored flat, and a work budget stops pathological backtracking.
//! * Every returned AST has depth bounded by a small multiple of
//!   [`MAX_NESTING_DEPTH`], so recursive consumers are safe.
//! * Stack: input at the depth limit needs about 1.3 MiB of stack in an
//!   unoptimized build (much less optimized); the tests run it on 2 MiB threads,
//!   the size Rust and Tokio give spawned threads.
//! * [`precedence`] exposes the printer's precedence levels for tools that build
//!   expressions by hand.
//!
//! # Not done here
//!
//! Semantic analysis (scoping, aggregation rules, type checks, `UNION` column
//! agreement) belongs to the query crate. Not parsed: `FOREACH`, `CALL { subquery }`,
//! `COUNT { }`, type predicates (`IS :: INTEGER`), Memgraph's `*BFS`/`*WSHORTEST`
//! expansions and other admin statements (roles, privileges, triggers, streams),
//! and multi-statement texts.

pub mod ast;
mod display;
mod error;
mod parser;

pub use ast::*;
pub use display::precedence;
pub use error::{ParseError, ParseErrorKind};
pub use parser::{parse, parse_expression, MAX_NESTING_DEPTH};
