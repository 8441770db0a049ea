//! `DUMP DATABASE`: the graph and its schema as Cypher statements, one per row, in Memgraph's
//! format and order, produced lazily as the client pulls.
//!
//! The statements, in order (as Memgraph's `src/query/dump.cpp`):
//!
//! 1. `CREATE INDEX ON :`L`;` per label index, then `CREATE INDEX ON :`L`(`p`);` per
//!    label+property index;
//! 2. `CREATE CONSTRAINT ON (u:`L`) ASSERT EXISTS (u.`p`);` per existence constraint, then
//!    `CREATE CONSTRAINT ON (u:`L`) ASSERT u.`a`, u.`b` IS UNIQUE;` per unique constraint;
//! 3. when there is a vertex, `CREATE INDEX ON :__mg_vertex__(__mg_id__);`, one
//!    `CREATE (:__mg_vertex__:`L` {__mg_id__: gid, ...});` per vertex, one
//!    `MATCH (u:__mg_vertex__), (v:__mg_vertex__) WHERE u.__mg_id__ = a AND v.__mg_id__ = b
//!    CREATE (u)-[:`T` {...}]->(v);` per edge (by source vertex, then edge gid), and the
//!    clean-up `DROP INDEX ON :__mg_vertex__(__mg_id__);` and
//!    `MATCH (u) REMOVE u:__mg_vertex__, u.__mg_id__;`.
//!
//! The graph is read from one transaction (a snapshot: writers committing meanwhile are not
//! seen). Only the schema (a handful of statements) is listed up front; vertices and edges are
//! walked with gid-range iterators, so memory stays bounded by one vertex's adjacency.
//!
//! Values are written as literals our parser reads back to the same value: strings
//! double-quoted with escapes (control characters as `\uXXXX`, so a statement stays on one
//! line), floats in their shortest exact form with a `.0` or an exponent (NaN and infinities as
//! `0.0 / 0.0`, `1.0 / 0.0`, `-1.0 / 0.0`), temporals as `DATE("...")`, `LOCALTIME("...")`,
//! `TIME("...")`, `LOCALDATETIME("...")`, `DATETIME("...")`, `DURATION("...")`.

use std::fmt::Write;

use storage::{ConstraintInfo, EdgeRef, Gid, PropertyId, PropertyValue, Storage, Temporal};
use storage::{Transaction, VertexIter};

use crate::error::Result;
use crate::ops::{Guard, GUARD_EVERY};
use crate::temporal::format;

/// The column of the dump's rows (Memgraph's name).
pub const DUMP_COLUMN: &str = "QUERY";

const INTERNAL_LABEL: &str = "__mg_vertex__";
const INTERNAL_ID: &str = "__mg_id__";

/// Where the dump is.
enum Phase {
    /// Index and constraint statements, listed when the dump starts.
    Schema(std::vec::IntoIter<String>),
    /// Next: the internal index, if there is a vertex at all.
    InternalIndex,
    /// One `CREATE` per vertex; `first` is the vertex found while deciding on the index.
    Vertices {
        iter: VertexIter,
        first: Option<Gid>,
    },
    /// One `MATCH .. CREATE` per edge: the out-edges of each vertex in turn.
    Edges {
        iter: VertexIter,
        pending: std::vec::IntoIter<EdgeRef>,
    },
    DropIndex,
    Cleanup,
    Done,
}

/// The state of one `DUMP DATABASE` stream. It holds no borrow of the transaction: each call
/// of [`Dump::next`] is lent it, so the dump can wait between two Bolt PULLs.
pub struct Dump {
    phase: Phase,
    ticks: u32,
}

impl Dump {
    /// Starts a dump; the schema statements are listed now, the graph is read as it is pulled.
    pub fn new(storage: &Storage) -> Dump {
        let mut schema = Vec::new();
        for (label, property) in storage.index_keys() {
            let mut s = String::from("CREATE INDEX ON :");
            name(&mut s, &storage.label_name(label));
            if let Some(p) = property {
                s.push('(');
                name(&mut s, &storage.property_name(p));
                s.push(')');
            }
            s.push(';');
            schema.push(s);
        }
        // Existence constraints come first in `constraint_info`, as in Memgraph's dump.
        for c in storage.constraint_info() {
            let mut s = String::from("CREATE CONSTRAINT ON (u:");
            match c {
                ConstraintInfo::Exists { label, property } => {
                    name(&mut s, &storage.label_name(label));
                    s.push_str(") ASSERT EXISTS (u.");
                    name(&mut s, &storage.property_name(property));
                    s.push_str(");");
                }
                ConstraintInfo::Unique { label, properties } => {
                    name(&mut s, &storage.label_name(label));
                    s.push_str(") ASSERT ");
                    for (i, p) in properties.iter().enumerate() {
                        if i > 0 {
                            s.push_str(", ");
                        }
                        s.push_str("u.");
                        name(&mut s, &storage.property_name(*p));
                    }
                    s.push_str(" IS UNIQUE;");
                }
            }
            schema.push(s);
        }
        Dump {
            phase: Phase::Schema(schema.into_iter()),
            ticks: 0,
        }
    }

    /// The next statement, or `None` when the dump is complete. Checks `guard` (timeout,
    /// RESET) every [`GUARD_EVERY`] statements.
    pub fn next(&mut self, tx: &Transaction, guard: &Guard) -> Result<Option<String>> {
        self.ticks += 1;
        if self.ticks >= GUARD_EVERY {
            self.ticks = 0;
            guard.check_with_probe()?;
        }
        loop {
            match &mut self.phase {
                Phase::Schema(statements) => match statements.next() {
                    Some(s) => return Ok(Some(s)),
                    None => self.phase = Phase::InternalIndex,
                },
                Phase::InternalIndex => {
                    let mut iter = tx.vertices();
                    match iter.next() {
                        None => self.phase = Phase::Done,
                        first => {
                            self.phase = Phase::Vertices { iter, first };
                            return Ok(Some(format!(
                                "CREATE INDEX ON :{INTERNAL_LABEL}({INTERNAL_ID});"
                            )));
                        }
                    }
                }
                Phase::Vertices { iter, first } => match first.take().or_else(|| iter.next()) {
                    Some(v) => return vertex(tx, v).map(Some),
                    None => {
                        self.phase = Phase::Edges {
                            iter: tx.vertices(),
                            pending: Vec::new().into_iter(),
                        }
                    }
                },
                Phase::Edges { iter, pending } => match pending.next() {
                    Some(e) => return edge(tx, &e).map(Some),
                    None => match iter.next() {
                        Some(v) => *pending = tx.out_edges(v)?.into_iter(),
                        None => self.phase = Phase::DropIndex,
                    },
                },
                Phase::DropIndex => {
                    self.phase = Phase::Cleanup;
                    return Ok(Some(format!(
                        "DROP INDEX ON :{INTERNAL_LABEL}({INTERNAL_ID});"
                    )));
                }
                Phase::Cleanup => {
                    self.phase = Phase::Done;
                    return Ok(Some(format!(
                        "MATCH (u) REMOVE u:{INTERNAL_LABEL}, u.{INTERNAL_ID};"
                    )));
                }
                Phase::Done => return Ok(None),
            }
        }
    }
}

/// `CREATE (:__mg_vertex__:`A` {__mg_id__: v, `p`: value});`
fn vertex(tx: &Transaction, v: Gid) -> Result<String> {
    let storage = tx.storage();
    let mut s = format!("CREATE (:{INTERNAL_LABEL}");
    for label in tx.vertex_labels(v)? {
        s.push(':');
        name(&mut s, &storage.label_name(label));
    }
    let _ = write!(s, " {{{INTERNAL_ID}: {v}");
    let props = tx.vertex_properties(v)?;
    if !props.is_empty() {
        s.push_str(", ");
        properties(&mut s, storage, &props);
    }
    s.push_str("});");
    Ok(s)
}

/// `MATCH (u:__mg_vertex__), (v:__mg_vertex__) WHERE u.__mg_id__ = a AND v.__mg_id__ = b
/// CREATE (u)-[:`T` {..}]->(v);`
fn edge(tx: &Transaction, e: &EdgeRef) -> Result<String> {
    let storage = tx.storage();
    let mut s = format!(
        "MATCH (u:{INTERNAL_LABEL}), (v:{INTERNAL_LABEL}) WHERE u.{INTERNAL_ID} = {} AND v.{INTERNAL_ID} = {} CREATE (u)-[:",
        e.from, e.to
    );
    name(&mut s, &storage.edge_type_name(e.ty));
    let props = tx.edge_properties(e.gid)?;
    if !props.is_empty() {
        s.push_str(" {");
        properties(&mut s, storage, &props);
        s.push('}');
    }
    s.push_str("]->(v);");
    Ok(s)
}

/// `` `a`: 1, `b`: "x" `` (no braces).
fn properties(out: &mut String, storage: &Storage, props: &[(PropertyId, PropertyValue)]) {
    for (i, (key, value)) in props.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        name(out, &storage.property_name(*key));
        out.push_str(": ");
        literal(out, value);
    }
}

/// A backquoted name, backquotes doubled.
pub fn name(out: &mut String, n: &str) {
    out.push('`');
    for c in n.chars() {
        if c == '`' {
            out.push('`');
        }
        out.push(c);
    }
    out.push('`');
}

/// `value` as a Cypher expression that evaluates to it.
pub fn literal(out: &mut String, value: &PropertyValue) {
    match value {
        PropertyValue::Null => out.push_str("Null"),
        PropertyValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        PropertyValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        PropertyValue::Float(f) => float(out, *f),
        PropertyValue::String(s) => string(out, s),
        PropertyValue::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                literal(out, item);
            }
            out.push(']');
        }
        PropertyValue::Map(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                name(out, k);
                out.push_str(": ");
                literal(out, v);
            }
            out.push('}');
        }
        PropertyValue::Temporal(t) => temporal(out, t),
    }
}

/// The shortest text that reads back to exactly `f`, still a float (`1.0`, `1e100`); NaN and
/// the infinities, which have no literal, as divisions.
fn float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("0.0 / 0.0");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "1.0 / 0.0" } else { "-1.0 / 0.0" });
    } else {
        // `Debug` is Rust's shortest round-trip form and always has a `.` or an `e`.
        let _ = write!(out, "{f:?}");
    }
}

/// A double-quoted string literal; control characters escaped so the statement is one line.
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn temporal(out: &mut String, t: &Temporal) {
    let function = match t {
        Temporal::Date(_) => "DATE",
        Temporal::LocalTime(_) => "LOCALTIME",
        Temporal::Time(_) => "TIME",
        Temporal::LocalDateTime(_) => "LOCALDATETIME",
        Temporal::DateTime(_) => "DATETIME",
        Temporal::Duration(_) => "DURATION",
    };
    out.push_str(function);
    out.push('(');
    string(out, &format::format(t));
    out.push(')');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(v: PropertyValue) -> String {
        let mut s = String::new();
        literal(&mut s, &v);
        s
    }

    #[test]
    fn literals() {
        assert_eq!(lit(PropertyValue::Float(1.0)), "1.0");
        assert_eq!(lit(PropertyValue::Float(1e100)), "1e100");
        assert_eq!(lit(PropertyValue::Float(-0.0)), "-0.0");
        assert_eq!(lit(PropertyValue::Float(f64::NAN)), "0.0 / 0.0");
        assert_eq!(lit(PropertyValue::Int(i64::MIN)), "-9223372036854775808");
        assert_eq!(
            lit(PropertyValue::String("a\"b\\c\nd\u{1}".into())),
            "\"a\\\"b\\\\c\\nd\\u0001\""
        );
        let mut s = String::new();
        name(&mut s, "we`ird");
        assert_eq!(s, "`we``ird`");
    }
}
