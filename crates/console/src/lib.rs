//! ferrograph-console: a Cypher shell compatible with Memgraph's mgconsole.
//!
//! | module | owns |
//! |---|---|
//! | [`cli`] | the flags (mgconsole's names and defaults, gflags spellings) |
//! | [`split`] | cutting input lines into `;`-terminated queries |
//! | [`render`] | one Bolt value in mgconsole's notation |
//! | [`format`] | the tabular, CSV and cypherl outputs |
//! | [`conn`] | a blocking Bolt connection over `bolt::client` |
//! | [`tls`] | `--use-ssl`: rustls without certificate verification |
//!
//! The binary (`src/main.rs`) puts them together into the interactive and the piped mode.

pub mod cli;
pub mod conn;
pub mod format;
pub mod render;
pub mod split;
pub mod tls;
