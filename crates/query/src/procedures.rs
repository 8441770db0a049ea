//! Built-in procedures for `CALL name(args) [YIELD ...]`: a small static registry.
//!
//! Every procedure is read-only and returns its rows as a whole (they are small: the names in
//! the graph, the server's components, the registry itself). The planner resolves the name and
//! checks the argument count and the yielded fields against the signature here, so a bad call
//! fails before anything runs.

use std::collections::BTreeSet;

use storage::Transaction;

use crate::error::{QueryError, Result};
use crate::ops::ExecCtx;
use crate::value::Value;

/// How a procedure computes its rows: from the transaction and the evaluated arguments.
type Run = fn(&mut ExecCtx<'_>, &[Value]) -> Result<Vec<Vec<Value>>>;

/// One registered procedure.
pub struct Procedure {
    pub name: &'static str,
    /// Parameters: name and Cypher type.
    pub params: &'static [(&'static str, &'static str)],
    /// Result fields in column order: name and Cypher type.
    pub fields: &'static [(&'static str, &'static str)],
    run: Run,
}

impl std::fmt::Debug for Procedure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Procedure {
    /// `name(param :: TYPE, ...) :: (field :: TYPE, ...)`, as Memgraph's `mg.procedures()` and
    /// Neo4j's error messages print it.
    pub fn signature(&self) -> String {
        let list = |items: &[(&str, &str)]| {
            items
                .iter()
                .map(|(n, t)| format!("{n} :: {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "{}({}) :: ({})",
            self.name,
            list(self.params),
            list(self.fields)
        )
    }

    /// The index of result field `name`.
    pub fn field(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|(n, _)| *n == name)
    }

    pub fn run(&self, ctx: &mut ExecCtx<'_>, args: &[Value]) -> Result<Vec<Vec<Value>>> {
        (self.run)(ctx, args)
    }
}

static PROCEDURES: &[Procedure] = &[
    Procedure {
        name: "db.labels",
        params: &[],
        fields: &[("label", "STRING")],
        run: labels,
    },
    Procedure {
        name: "db.relationshipTypes",
        params: &[],
        fields: &[("relationshipType", "STRING")],
        run: relationship_types,
    },
    Procedure {
        name: "db.propertyKeys",
        params: &[],
        fields: &[("propertyKey", "STRING")],
        run: property_keys,
    },
    Procedure {
        name: "dbms.components",
        params: &[],
        fields: &[
            ("name", "STRING"),
            ("versions", "LIST OF STRING"),
            ("edition", "STRING"),
        ],
        run: components,
    },
    Procedure {
        name: "mg.procedures",
        params: &[],
        fields: &[
            ("name", "STRING"),
            ("signature", "STRING"),
            ("is_write", "BOOLEAN"),
            ("path", "STRING"),
            ("is_editable", "BOOLEAN"),
        ],
        run: procedures,
    },
];

/// The procedure called `name` (case-sensitive, as in Neo4j and Memgraph).
pub fn resolve(name: &str) -> Result<&'static Procedure> {
    PROCEDURES.iter().find(|p| p.name == name).ok_or_else(|| {
        QueryError::ProcedureNotFound(format!(
            "There is no procedure named '{name}'. Please ensure you've spelled the procedure \
             name correctly (names are case-sensitive); CALL mg.procedures() lists them."
        ))
    })
}

/// Checks the argument count of a call against the signature.
pub fn check_args(proc: &Procedure, argc: usize) -> Result<()> {
    if argc == proc.params.len() {
        return Ok(());
    }
    Err(QueryError::Syntax(format!(
        "Procedure call does not provide the required number of arguments: got {argc} expected {} for: {}.",
        proc.params.len(),
        proc.signature()
    )))
}

fn strings(names: BTreeSet<String>) -> Vec<Vec<Value>> {
    names.into_iter().map(|n| vec![Value::String(n)]).collect()
}

/// Visits every vertex visible to the transaction (with the guard's periodic check).
fn each_vertex(
    ctx: &mut ExecCtx<'_>,
    mut f: impl FnMut(&Transaction, storage::Gid) -> Result<()>,
) -> Result<()> {
    let vertices = ctx.tx().vertices();
    for v in vertices {
        f(ctx.tx(), v)?;
        ctx.tick()?;
    }
    Ok(())
}

/// The labels some node has.
fn labels(ctx: &mut ExecCtx<'_>, _: &[Value]) -> Result<Vec<Vec<Value>>> {
    let mut ids = BTreeSet::new();
    each_vertex(ctx, |tx, v| {
        ids.extend(tx.vertex_labels(v)?);
        Ok(())
    })?;
    let storage = ctx.tx().storage();
    Ok(strings(
        ids.into_iter()
            .map(|l| storage.label_name(l).to_string())
            .collect(),
    ))
}

/// The types some relationship has.
fn relationship_types(ctx: &mut ExecCtx<'_>, _: &[Value]) -> Result<Vec<Vec<Value>>> {
    let mut ids = BTreeSet::new();
    each_vertex(ctx, |tx, v| {
        ids.extend(tx.out_edges(v)?.into_iter().map(|e| e.ty));
        Ok(())
    })?;
    let storage = ctx.tx().storage();
    Ok(strings(
        ids.into_iter()
            .map(|t| storage.edge_type_name(t).to_string())
            .collect(),
    ))
}

/// The property keys some node or relationship has.
fn property_keys(ctx: &mut ExecCtx<'_>, _: &[Value]) -> Result<Vec<Vec<Value>>> {
    let mut ids = BTreeSet::new();
    each_vertex(ctx, |tx, v| {
        ids.extend(tx.vertex_properties(v)?.into_iter().map(|(k, _)| k));
        for e in tx.out_edges(v)? {
            ids.extend(tx.edge_properties(e.gid)?.into_iter().map(|(k, _)| k));
        }
        Ok(())
    })?;
    let storage = ctx.tx().storage();
    Ok(strings(
        ids.into_iter()
            .map(|k| storage.property_name(k).to_string())
            .collect(),
    ))
}

fn components(_: &mut ExecCtx<'_>, _: &[Value]) -> Result<Vec<Vec<Value>>> {
    Ok(vec![vec![
        Value::String("ferrograph".into()),
        Value::List(vec![Value::String(env!("CARGO_PKG_VERSION").into())]),
        Value::String("community".into()),
    ]])
}

/// The registry itself, in Memgraph's `mg.procedures()` shape.
fn procedures(_: &mut ExecCtx<'_>, _: &[Value]) -> Result<Vec<Vec<Value>>> {
    Ok(PROCEDURES
        .iter()
        .map(|p| {
            vec![
                Value::String(p.name.into()),
                Value::String(p.signature()),
                Value::Bool(false),
                Value::String(String::new()),
                Value::Bool(false),
            ]
        })
        .collect())
}
