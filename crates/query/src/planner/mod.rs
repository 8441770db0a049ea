//! The planner: turns a parsed [`cypher::ast::Statement`] into a [`Plan`].
//!
//! Variables are resolved to frame slots here (the executor never looks a name up), parameters
//! to positions, and labels / edge types / property keys are interned in the storage so the
//! operators compare small integers. Patterns become scans, expansions and filters; projections
//! become projection, aggregation, distinct, sort, skip and limit operators. Where a write clause
//! follows a read (or a read follows a write) an eager barrier keeps Cypher's clause-at-a-time
//! semantics.

mod expr;
mod merge;
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
}

#[derive(Debug)]
pub enum Plan {
    Query(QueryPlan),
    Begin,
    Commit,
    Rollback,
    /// EXPLAIN: the operator tree as rows.
    Explain(Vec<String>),
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
        Statement::Query(q) => {
            semantic::check_query(q)?;
            plan_query(q, storage)
                .map(Plan::Query)
                .map_err(compile_error)
        }
        other => Err(QueryError::Unsupported(format!(
            "This statement is not supported by this version of ferrograph yet: {}",
            first_words(&other.to_string())
        ))),
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
    // Reads / writes since the last eager barrier.
    let (mut read_since, mut wrote_since) = (false, false);
    let last = q.clauses.len().saturating_sub(1);
    for (i, clause) in q.clauses.iter().enumerate() {
        if matches!(clause, Clause::Return(_)) && i != last {
            return Err(QueryError::semantic(
                "RETURN can only be used at the end of the query.",
            ));
        }
        let reads = matches!(clause, Clause::Match(_) | Clause::Merge(_))
            || reads::clause_reads_in_exprs(clause);
        if (is_write(clause) && read_since) || (reads && wrote_since) {
            op = Op::Eager {
                input: Box::new(op),
            };
            read_since = false;
            wrote_since = false;
        }
        // SKIP / LIMIT stop pulling early: pending writes must all happen first.
        if wrote_since && limits_rows(clause) {
            op = Op::Eager {
                input: Box::new(op),
            };
            read_since = false;
            wrote_since = false;
        }
        read_since |= reads;
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
            Clause::Call(_) => return Err(unsupported("CALL")),
            Clause::LoadCsv(_) => return Err(unsupported("LOAD CSV")),
        };
    }
    match q.clauses.last() {
        Some(Clause::Return(_)) => {}
        Some(c) if is_write(c) => {}
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

fn unsupported(what: &str) -> QueryError {
    QueryError::Unsupported(format!(
        "{what} is not supported by this version of ferrograph yet."
    ))
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
