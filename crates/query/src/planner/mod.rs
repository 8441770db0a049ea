//! The planner: turns a parsed [`cypher::ast::Statement`] into a [`Plan`].
//!
//! Variables are resolved to frame slots here (the executor never looks a name up), parameters
//! to positions, and labels / edge types / property keys are interned in the storage so the
//! operators compare small integers. Patterns become scans, expansions and filters; projections
//! become projection, aggregation, distinct, sort, skip and limit operators. Where a write clause
//! follows a read (or a read follows a write) an eager barrier keeps Cypher's clause-at-a-time
//! semantics.

mod expr;
mod index;
mod merge;
mod parallel;
mod paths;
mod pattern;
mod projection;
mod reads;
mod semantic;

use std::collections::HashMap;
use std::sync::Arc;

use cypher::ast::{self, Clause, Statement};
use storage::Storage;

use crate::error::{QueryError, Result};
use crate::ops::{RemoveItem, SetItem, UpdateItem};
use crate::plan::Op;

/// What the Bolt summary reports as `type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueryType {
    #[default]
    Read,
    Write,
    ReadWrite,
    Schema,
}

impl QueryType {
    pub fn code(self) -> &'static str {
        match self {
            QueryType::Read => "r",
            QueryType::Write => "w",
            QueryType::ReadWrite => "rw",
            QueryType::Schema => "s",
        }
    }
}

#[derive(Debug)]
pub struct QueryPlan {
    pub root: Op,
    pub columns: Vec<String>,
    pub out_slots: Arc<Vec<usize>>,
    pub frame_size: usize,
    /// Parameter names in slot order: the executor builds its parameter vector from these.
    pub params: Vec<String>,
    pub query_type: QueryType,
    /// `USING PERIODIC COMMIT n`: commit every `n` rows the query processes.
    pub periodic_commit: Option<u64>,
}

#[derive(Debug)]
pub enum Plan {
    Query(QueryPlan),
    Begin,
    Commit,
    Rollback,
    /// EXPLAIN: the operator tree as rows.
    Explain(Vec<String>),
    /// A schema or storage statement (`crate::admin`).
    Admin(crate::admin::Admin),
    /// PROFILE: run the query with counting cursors and return the operator table instead of
    /// its rows.
    Profile(QueryPlan),
}

/// What a variable holds, as far as the planner knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Node,
    Rel,
    Path,
    Any,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Sym {
    pub slot: usize,
    pub kind: Kind,
}

/// Variables visible at a point of the query.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    pub vars: HashMap<String, Sym>,
}

impl Scope {
    pub fn get(&self, name: &str) -> Option<Sym> {
        self.vars.get(name).copied()
    }
}

/// Planning state shared by all clauses (and UNION branches) of one statement.
pub(crate) struct Planner<'s> {
    pub storage: &'s Storage,
    pub next_slot: usize,
    pub params: Vec<String>,
    pub param_index: HashMap<String, usize>,
}

impl<'s> Planner<'s> {
    pub fn new_slot(&mut self) -> usize {
        self.next_slot += 1;
        self.next_slot - 1
    }

    pub fn param(&mut self, name: &str) -> usize {
        if let Some(i) = self.param_index.get(name) {
            return *i;
        }
        self.params.push(name.to_string());
        self.param_index
            .insert(name.to_string(), self.params.len() - 1);
        self.params.len() - 1
    }
}

/// Plans one statement.
pub fn plan(stmt: &Statement, storage: &Storage) -> Result<Plan> {
    match stmt {
        Statement::Begin => Ok(Plan::Begin),
        Statement::Commit => Ok(Plan::Commit),
        Statement::Rollback => Ok(Plan::Rollback),
        Statement::Explain(inner) => match plan(inner, storage)? {
            Plan::Query(q) => Ok(Plan::Explain(q.root.explain())),
            _ => Err(QueryError::semantic(
                "EXPLAIN can only be used with a regular query.",
            )),
        },
        Statement::Profile(inner) => match plan(inner, storage)? {
            Plan::Query(q) => Ok(Plan::Profile(q)),
            _ => Err(QueryError::semantic(
                "PROFILE can only be used with a regular query.",
            )),
        },
        Statement::PeriodicCommit { rows, inner } => match plan(inner, storage)? {
            Plan::Query(_) if *rows == 0 => Err(QueryError::semantic(
                "USING PERIODIC COMMIT needs a number of rows above 0.",
            )),
            Plan::Query(q) if !q.out_slots.is_empty() => Err(QueryError::semantic(
                "USING PERIODIC COMMIT can only be used with a query that returns no rows (it commits as it goes; there is no RETURN to stream).",
            )),
            Plan::Query(mut q) => {
                q.periodic_commit = Some(*rows);
                Ok(Plan::Query(q))
            }
            _ => Err(QueryError::semantic(
                "USING PERIODIC COMMIT can only be used with a regular query.",
            )),
        },
        Statement::Query(q) => {
            semantic::check_query(q)?;
            plan_query(q, storage)
                .map(Plan::Query)
                .map_err(compile_error)
        }
        other => match crate::admin::plan(other, storage) {
            Some(admin) => Ok(Plan::Admin(admin)),
            None => Err(QueryError::Unsupported(format!(
                "This statement is not supported by this version of ferrograph yet: {}",
                first_words(&other.to_string())
            ))),
        },
    }
}

/// Neo4j reports every semantic error found while compiling a query as a SyntaxError.
fn compile_error(e: QueryError) -> QueryError {
    match e {
        QueryError::Semantic(m) | QueryError::Type(m) => QueryError::Syntax(m),
        other => other,
    }
}

fn first_words(s: &str) -> String {
    s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

fn plan_query(q: &ast::Query, storage: &Storage) -> Result<QueryPlan> {
    let mut p = Planner {
        storage,
        next_slot: 0,
        params: Vec::new(),
        param_index: HashMap::new(),
    };
    let first = plan_single(&mut p, &q.first)?;
    let (mut root, columns, out_slots, mut writes) =
        (first.root, first.columns, first.out_slots, first.writes);
    let mut distinct = false;
    for u in &q.unions {
        let branch = plan_single(&mut p, &u.query)?;
        if branch.columns != columns {
            return Err(QueryError::semantic(
                "All sub queries in an UNION must have the same column names.",
            ));
        }
        writes |= branch.writes;
        // Move the branch's outputs into the first branch's output slots.
        let moves = branch
            .out_slots
            .iter()
            .zip(out_slots.iter())
            .map(|(from, to)| (crate::expr::PExpr::Slot(*from), *to))
            .collect();
        let right = Op::Project {
            input: Box::new(branch.root),
            items: Arc::new(moves),
        };
        root = Op::Union {
            left: Box::new(root),
            right: Box::new(right),
        };
        distinct |= !u.all;
    }
    if distinct {
        root = Op::Distinct {
            input: Box::new(root),
            slots: Arc::new(out_slots.clone()),
        };
    }
    let query_type = match (writes, columns.is_empty()) {
        (false, _) => QueryType::Read,
        (true, true) => QueryType::Write,
        (true, false) => QueryType::ReadWrite,
    };
    Ok(QueryPlan {
        root,
        columns,
        out_slots: Arc::new(out_slots),
        frame_size: p.next_slot,
        params: p.params,
        query_type,
        periodic_commit: None,
    })
}

struct SinglePlan {
    root: Op,
    columns: Vec<String>,
    out_slots: Vec<usize>,
    writes: bool,
}

fn is_write(c: &Clause) -> bool {
    matches!(
        c,
        Clause::Create(_)
            | Clause::Merge(_)
            | Clause::Set(_)
            | Clause::Remove(_)
            | Clause::Delete(_)
    )
}

fn limits_rows(c: &Clause) -> bool {
    let proj = match c {
        Clause::With(w) => &w.projection,
        Clause::Return(r) => &r.projection,
        _ => return false,
    };
    proj.skip.is_some() || proj.limit.is_some()
}

fn plan_single(p: &mut Planner<'_>, q: &ast::SingleQuery) -> Result<SinglePlan> {
    let mut op = Op::Once;
    let mut scope = Scope::default();
    let mut columns = Vec::new();
    let mut out_slots = Vec::new();
    let mut writes = false;
    // Reads / writes since the last eager barrier; whether those reads may see relationships.
    let (mut read_since, mut wrote_since) = (false, false);
    let mut rels_read_since = false;
    let last = q.clauses.len().saturating_sub(1);
    for (i, clause) in q.clauses.iter().enumerate() {
        if matches!(clause, Clause::Return(_)) && i != last {
            return Err(QueryError::semantic(
                "RETURN can only be used at the end of the query.",
            ));
        }
        let reads = matches!(
            clause,
            Clause::Match(_) | Clause::Merge(_) | Clause::Call(_)
        ) || reads::clause_reads_in_exprs(clause);
        // A CREATE of relationships only cannot change what node-only MATCHes find, so
        // `... MATCH (a {id: x}), (b {id: y}) CREATE (a)-[:R]->(b)` streams without a barrier
        // (which would hold every input row, e.g. of a LOAD CSV, in memory).
        let rels_only =
            matches!(clause, Clause::Create(c) if reads::creates_only_relationships(c, &scope));
        let write_conflicts = !rels_only || rels_read_since;
        if (is_write(clause) && read_since && write_conflicts) || (reads && wrote_since) {
            op = Op::Eager {
                input: Box::new(op),
            };
            read_since = false;
            wrote_since = false;
            rels_read_since = false;
        }
        // SKIP / LIMIT stop pulling early: pending writes must all happen first.
        if wrote_since && limits_rows(clause) {
            op = Op::Eager {
                input: Box::new(op),
            };
            read_since = false;
            wrote_since = false;
            rels_read_since = false;
        }
        read_since |= reads;
        rels_read_since |=
            reads && !matches!(clause, Clause::Match(m) if reads::match_sees_only_nodes(m));
        if is_write(clause) {
            wrote_since = true;
            writes = true;
        }
        op = match clause {
            Clause::Match(m) => pattern::plan_match(p, op, m, &mut scope)?,
            Clause::Unwind(u) => {
                let expr = expr::translate(p, &scope, &u.expr)?;
                let slot = p.new_slot();
                scope.vars.insert(
                    u.var.clone(),
                    Sym {
                        slot,
                        kind: Kind::Any,
                    },
                );
                Op::Unwind {
                    input: Box::new(op),
                    expr: Arc::new(expr),
                    slot,
                }
            }
            Clause::With(w) => {
                // WHERE after a plain WITH also sees the variables bound before it.
                let keep_old = !w.projection.distinct
                    && !w
                        .projection
                        .items
                        .iter()
                        .any(|i| expr::contains_aggregate(&i.expr));
                let before = if keep_old {
                    scope.clone()
                } else {
                    Scope::default()
                };
                let out = projection::plan_projection(p, op, &w.projection, &mut scope)?;
                let mut op = out.op;
                if let Some(pred) = &w.where_clause {
                    let mut where_scope = before;
                    where_scope
                        .vars
                        .extend(scope.vars.iter().map(|(k, v)| (k.clone(), *v)));
                    let pred = expr::translate(p, &where_scope, pred)?;
                    op = Op::Filter {
                        input: Box::new(op),
                        pred: Arc::new(pred),
                    };
                }
                op
            }
            Clause::Return(r) => {
                let out = projection::plan_projection(p, op, &r.projection, &mut scope)?;
                columns = out.columns;
                out_slots = out.slots;
                out.op
            }
            Clause::Create(c) => {
                let steps = pattern::plan_create(p, &c.patterns, &mut scope)?;
                Op::Create {
                    input: Box::new(op),
                    steps: Arc::new(steps),
                }
            }
            Clause::Set(s) => {
                let items = s
                    .items
                    .iter()
                    .map(|item| plan_set_item(p, &scope, item).map(UpdateItem::Set))
                    .collect::<Result<Vec<_>>>()?;
                Op::Update {
                    input: Box::new(op),
                    items: Arc::new(items),
                }
            }
            Clause::Remove(r) => {
                let items = r
                    .items
                    .iter()
                    .map(|item| plan_remove_item(p, &scope, item).map(UpdateItem::Remove))
                    .collect::<Result<Vec<_>>>()?;
                Op::Update {
                    input: Box::new(op),
                    items: Arc::new(items),
                }
            }
            Clause::Delete(d) => {
                let exprs = d
                    .exprs
                    .iter()
                    .map(|e| expr::translate(p, &scope, e))
                    .collect::<Result<Vec<_>>>()?;
                Op::Delete {
                    input: Box::new(op),
                    exprs: Arc::new(exprs),
                    detach: d.detach,
                }
            }
            Clause::Merge(m) => merge::plan_merge(p, op, m, &mut scope)?,
            Clause::Call(c) => {
                let standalone = q.clauses.len() == 1;
                let out = plan_call(p, op, c, &mut scope, standalone)?;
                if standalone {
                    columns = out.columns;
                    out_slots = out.slots;
                }
                out.op
            }
            Clause::LoadCsv(l) => plan_load_csv(p, op, l, &mut scope)?,
        };
    }
    match q.clauses.last() {
        Some(Clause::Return(_)) => {}
        Some(c) if is_write(c) => {}
        Some(Clause::Call(_)) if q.clauses.len() == 1 => {}
        Some(_) => {
            return Err(QueryError::semantic(
                "Query cannot conclude with MATCH, WITH or UNWIND (must be a RETURN clause or an update clause).",
            ))
        }
        None => return Err(QueryError::semantic("Empty query.")),
    }
    Ok(SinglePlan {
        root: op,
        columns,
        out_slots,
        writes,
    })
}

/// LOAD CSV binds its row variable to a new slot; the path and options are evaluated per row.
fn plan_load_csv(p: &mut Planner<'_>, op: Op, l: &ast::LoadCsv, scope: &mut Scope) -> Result<Op> {
    let mut option =
        |e: &Option<ast::Expr>| e.as_ref().map(|e| expr::translate(p, scope, e)).transpose();
    let delimiter = option(&l.delimiter)?;
    let quote = option(&l.quote)?;
    let nullif = option(&l.nullif)?;
    let path = expr::translate(p, scope, &l.path)?;
    let slot = p.new_slot();
    scope.vars.insert(
        l.var.clone(),
        Sym {
            slot,
            kind: Kind::Any,
        },
    );
    Ok(Op::LoadCsv {
        input: Box::new(op),
        spec: Arc::new(crate::ops::LoadCsvSpec {
            path,
            with_header: l.with_header,
            ignore_bad: l.ignore_bad,
            delimiter,
            quote,
            nullif,
            slot,
        }),
    })
}

/// What planning a CALL clause produces.
struct CallPlan {
    op: Op,
    /// The yielded names and their slots (the columns of a standalone CALL).
    columns: Vec<String>,
    slots: Vec<usize>,
}

/// `CALL proc(args) [YIELD ...] [WHERE ...]`: resolves the procedure, checks the arguments and
/// the yielded fields against its signature, and binds the yielded variables.
fn plan_call(
    p: &mut Planner<'_>,
    input: Op,
    c: &ast::Call,
    scope: &mut Scope,
    standalone: bool,
) -> Result<CallPlan> {
    let procedure = crate::procedures::resolve(&c.procedure)?;
    let no_args = Vec::new();
    let args = c.args.as_ref().unwrap_or(&no_args);
    crate::procedures::check_args(procedure, args.len())?;
    let args = args
        .iter()
        .map(|a| expr::translate(p, scope, a))
        .collect::<Result<Vec<_>>>()?;
    // (field index, variable name)
    let yielded: Vec<(usize, String)> = match &c.yields {
        None if !standalone => {
            return Err(QueryError::semantic(
                "Procedure call inside a query does not support naming results implicitly \
                 (name explicitly using `YIELD` instead).",
            ))
        }
        None | Some(ast::YieldSpec::All) => procedure
            .fields
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (i, name.to_string()))
            .collect(),
        Some(ast::YieldSpec::Items(items)) => items
            .iter()
            .map(|y| {
                let field = procedure.field(&y.field).ok_or_else(|| {
                    QueryError::semantic(format!(
                        "Unknown procedure output: `{}` (the outputs of {}).",
                        y.field,
                        procedure.signature()
                    ))
                })?;
                Ok((field, y.alias.clone().unwrap_or_else(|| y.field.clone())))
            })
            .collect::<Result<_>>()?,
    };
    let mut outputs = Vec::with_capacity(yielded.len());
    let mut columns = Vec::with_capacity(yielded.len());
    let mut slots = Vec::with_capacity(yielded.len());
    for (field, name) in yielded {
        if scope.get(&name).is_some() || columns.contains(&name) {
            return Err(QueryError::semantic(format!(
                "Variable `{name}` already declared."
            )));
        }
        let slot = p.new_slot();
        outputs.push((field, slot));
        columns.push(name);
        slots.push(slot);
    }
    for (name, slot) in columns.iter().zip(&slots) {
        scope.vars.insert(
            name.clone(),
            Sym {
                slot: *slot,
                kind: Kind::Any,
            },
        );
    }
    let mut op = Op::Call {
        input: Box::new(input),
        spec: Arc::new(crate::ops::CallSpec {
            procedure,
            args,
            outputs,
        }),
    };
    if let Some(pred) = &c.where_clause {
        op = Op::Filter {
            input: Box::new(op),
            pred: Arc::new(expr::translate(p, scope, pred)?),
        };
    }
    Ok(CallPlan { op, columns, slots })
}

fn var_slot(scope: &Scope, name: &str) -> Result<usize> {
    scope
        .get(name)
        .map(|s| s.slot)
        .ok_or_else(|| QueryError::semantic(format!("Variable `{name}` not defined.")))
}

pub(crate) fn plan_set_item(
    p: &mut Planner<'_>,
    scope: &Scope,
    item: &ast::SetItem,
) -> Result<SetItem> {
    Ok(match item {
        ast::SetItem::Property { entity, key, value } => SetItem::Property {
            target: expr::translate(p, scope, entity)?,
            key: p.storage.property(key),
            value: expr::translate(p, scope, value)?,
        },
        ast::SetItem::Replace { var, value } | ast::SetItem::Merge { var, value } => {
            SetItem::Properties {
                target: crate::expr::PExpr::Slot(var_slot(scope, var)?),
                value: expr::translate(p, scope, value)?,
                merge: matches!(item, ast::SetItem::Merge { .. }),
            }
        }
        ast::SetItem::Labels { var, labels } => SetItem::Labels {
            target: crate::expr::PExpr::Slot(var_slot(scope, var)?),
            labels: labels.iter().map(|l| p.storage.label(l)).collect(),
        },
    })
}

fn plan_remove_item(
    p: &mut Planner<'_>,
    scope: &Scope,
    item: &ast::RemoveItem,
) -> Result<RemoveItem> {
    Ok(match item {
        ast::RemoveItem::Property { entity, key } => RemoveItem::Property {
            target: expr::translate(p, scope, entity)?,
            key: p.storage.property(key),
        },
        ast::RemoveItem::Labels { var, labels } => RemoveItem::Labels {
            target: crate::expr::PExpr::Slot(var_slot(scope, var)?),
            labels: labels.iter().map(|l| p.storage.label(l)).collect(),
        },
    })
}
