//! Operators that write: CREATE, SET / REMOVE, DELETE.

use std::sync::Arc;

use storage::{EdgeTypeId, Gid, LabelId, PropertyId, PropertyValue, Transaction};

use super::{BoxCursor, Cursor, ExecCtx, Stats};
use crate::error::{QueryError, Result};
use crate::expr::{Frame, PExpr};
use crate::value::Value;

#[derive(Debug)]
pub enum CreateStep {
    Node {
        slot: usize,
        labels: Vec<LabelId>,
        props: Option<PExpr>,
    },
    Edge {
        slot: usize,
        from: usize,
        to: usize,
        ty: EdgeTypeId,
        props: Option<PExpr>,
    },
    /// A named path over slots written by the steps before it.
    Path {
        slot: usize,
        nodes: Vec<usize>,
        rels: Vec<usize>,
    },
}

/// CREATE: runs its steps once per input row.
pub struct Create {
    input: BoxCursor,
    steps: Arc<Vec<CreateStep>>,
}

impl Create {
    pub fn new(input: BoxCursor, steps: Arc<Vec<CreateStep>>) -> Create {
        Create { input, steps }
    }
}

/// Evaluates a properties expression to (key, value) pairs; null values are skipped.
pub(crate) fn eval_props(
    e: &PExpr,
    frame: &mut Frame,
    ctx: &ExecCtx<'_>,
) -> Result<Vec<(PropertyId, PropertyValue)>> {
    if let PExpr::Map(entries) = e {
        return eval_map_literal(entries, frame, ctx);
    }
    let m = match e.eval(frame, &ctx.eval())? {
        Value::Map(m) => m,
        Value::Null => return Ok(Vec::new()),
        other => {
            return Err(QueryError::type_error(format!(
                "Properties must be a map, got {}",
                other.type_name()
            )))
        }
    };
    let storage = ctx.tx().storage().clone();
    let mut out = Vec::with_capacity(m.len());
    for (k, v) in m {
        if v.is_null() {
            continue;
        }
        out.push((storage.property(&k), to_property(&v)?));
    }
    Ok(out)
}

/// A map literal's entries straight to pairs, with no intermediate map and no copy of the
/// values (the hot path of `CREATE (:L {k: expr, ...})` per input row, e.g. from LOAD CSV).
/// A key written twice takes its last value, as in the map the literal evaluates to.
fn eval_map_literal(
    entries: &[(String, PExpr)],
    frame: &mut Frame,
    ctx: &ExecCtx<'_>,
) -> Result<Vec<(PropertyId, PropertyValue)>> {
    let ectx = ctx.eval();
    let storage = ctx.tx().storage();
    let mut out: Vec<(PropertyId, PropertyValue)> = Vec::with_capacity(entries.len());
    for (name, e) in entries {
        let v = e.eval(frame, &ectx)?;
        let key = storage.property(name);
        out.retain(|(k, _)| *k != key);
        if !v.is_null() {
            out.push((key, into_property(v)?));
        }
    }
    Ok(out)
}

/// As [`to_property`], moving a string instead of copying it.
fn into_property(v: Value) -> Result<PropertyValue> {
    match v {
        Value::String(s) => Ok(PropertyValue::String(s)),
        other => to_property(&other),
    }
}

fn to_property(v: &Value) -> Result<PropertyValue> {
    v.to_property().ok_or_else(|| {
        QueryError::type_error(format!(
            "A property value cannot be of type {}",
            v.type_name()
        ))
    })
}

impl Cursor for Create {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        if !self.input.pull(frame, ctx)? {
            return Ok(false);
        }
        run_create_steps(&self.steps, frame, ctx)?;
        Ok(true)
    }
    fn reset(&mut self) {
        self.input.reset();
    }
}

/// Runs creation steps on one row (CREATE, and MERGE when it found no match).
pub(crate) fn run_create_steps(
    steps: &[CreateStep],
    frame: &mut Frame,
    ctx: &mut ExecCtx<'_>,
) -> Result<()> {
    for step in steps.iter() {
        match step {
            CreateStep::Node {
                slot,
                labels,
                props,
            } => {
                let props = match props {
                    Some(e) => eval_props(e, frame, ctx)?,
                    None => Vec::new(),
                };
                let v = ctx.tx_mut()?.create_vertex();
                for l in labels {
                    ctx.tx_mut()?.add_label(v, *l)?;
                }
                ctx.stats.nodes_created += 1;
                ctx.stats.labels_added += labels.len() as u64;
                ctx.stats.properties_set += props.len() as u64;
                for (k, val) in props {
                    ctx.tx_mut()?.set_vertex_property(v, k, val)?;
                }
                frame[*slot] = Value::Node(v);
            }
            CreateStep::Edge {
                slot,
                from,
                to,
                ty,
                props,
            } => {
                let (Value::Node(a), Value::Node(b)) = (&frame[*from], &frame[*to]) else {
                    return Err(QueryError::semantic(
                        "Cannot create a relationship from or to a null node",
                    ));
                };
                let (a, b) = (*a, *b);
                let props = match props {
                    Some(e) => eval_props(e, frame, ctx)?,
                    None => Vec::new(),
                };
                let e = ctx.tx_mut()?.create_edge(a, b, *ty)?;
                ctx.stats.relationships_created += 1;
                ctx.stats.properties_set += props.len() as u64;
                for (k, val) in props {
                    ctx.tx_mut()?.set_edge_property(e, k, val)?;
                }
                frame[*slot] = Value::Relationship(storage::EdgeRef {
                    gid: e,
                    from: a,
                    to: b,
                    ty: *ty,
                });
            }
            CreateStep::Path { slot, nodes, rels } => {
                let mut path = crate::value::PathValue {
                    nodes: Vec::with_capacity(nodes.len()),
                    rels: Vec::with_capacity(rels.len()),
                };
                for s in nodes {
                    if let Value::Node(g) = frame[*s] {
                        path.nodes.push(g);
                    }
                }
                for s in rels {
                    if let Value::Relationship(r) = frame[*s] {
                        path.rels.push(r);
                    }
                }
                frame[*slot] = Value::Path(Box::new(path));
            }
        }
    }
    Ok(())
}

#[derive(Debug)]
pub enum SetItem {
    /// `target.key = value`
    Property {
        target: PExpr,
        key: PropertyId,
        value: PExpr,
    },
    /// `target = value` (replace all properties) or `target += value` (merge) when `merge`.
    Properties {
        target: PExpr,
        value: PExpr,
        merge: bool,
    },
    /// `target:A:B`
    Labels { target: PExpr, labels: Vec<LabelId> },
}

#[derive(Debug)]
pub enum RemoveItem {
    Property { target: PExpr, key: PropertyId },
    Labels { target: PExpr, labels: Vec<LabelId> },
}

#[derive(Debug)]
pub enum UpdateItem {
    Set(SetItem),
    Remove(RemoveItem),
}

/// SET and REMOVE clauses: applies the items in order, once per input row.
pub struct Update {
    input: BoxCursor,
    items: Arc<Vec<UpdateItem>>,
}

impl Update {
    pub fn new(input: BoxCursor, items: Arc<Vec<UpdateItem>>) -> Update {
        Update { input, items }
    }
}

/// A node or relationship whose properties can be written.
#[derive(Clone, Copy)]
enum Entity {
    Vertex(Gid),
    Edge(Gid),
}

fn entity(v: &Value) -> Result<Option<Entity>> {
    Ok(match v {
        Value::Null => None,
        Value::Node(g) => Some(Entity::Vertex(*g)),
        Value::Relationship(r) => Some(Entity::Edge(r.gid)),
        other => {
            return Err(QueryError::type_error(format!(
                "Properties can only be set on nodes and relationships, not on {}",
                other.type_name()
            )))
        }
    })
}

fn set_prop(tx: &mut Transaction, e: Entity, k: PropertyId, v: PropertyValue) -> Result<()> {
    match e {
        Entity::Vertex(g) => tx.set_vertex_property(g, k, v)?,
        Entity::Edge(g) => tx.set_edge_property(g, k, v)?,
    };
    Ok(())
}

fn props_of(tx: &Transaction, e: Entity) -> Result<Vec<(PropertyId, PropertyValue)>> {
    Ok(match e {
        Entity::Vertex(g) => tx.vertex_properties(g)?,
        Entity::Edge(g) => tx.edge_properties(g)?,
    })
}

pub(crate) fn apply_set(item: &SetItem, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<()> {
    match item {
        SetItem::Property { target, key, value } => {
            let Some(ent) = entity(&target.eval(frame, &ctx.eval())?)? else {
                return Ok(());
            };
            let v = to_property(&value.eval(frame, &ctx.eval())?)?;
            set_prop(ctx.tx_mut()?, ent, *key, v)?;
            ctx.stats.properties_set += 1;
        }
        SetItem::Properties {
            target,
            value,
            merge,
        } => {
            let Some(ent) = entity(&target.eval(frame, &ctx.eval())?)? else {
                return Ok(());
            };
            let new: Vec<(PropertyId, PropertyValue)> = match value.eval(frame, &ctx.eval())? {
                Value::Node(g) => ctx.tx().vertex_properties(g)?,
                Value::Relationship(r) => ctx.tx().edge_properties(r.gid)?,
                Value::Map(m) => {
                    let storage = ctx.tx().storage().clone();
                    m.iter()
                        .map(|(k, v)| Ok((storage.property(k), to_property(v)?)))
                        .collect::<Result<_>>()?
                }
                Value::Null if !*merge => Vec::new(),
                other => {
                    return Err(QueryError::type_error(format!(
                        "SET needs a map, got {}",
                        other.type_name()
                    )))
                }
            };
            if !*merge {
                for (k, _) in props_of(ctx.tx(), ent)? {
                    if !new.iter().any(|(nk, _)| *nk == k) {
                        set_prop(ctx.tx_mut()?, ent, k, PropertyValue::Null)?;
                        ctx.stats.properties_set += 1;
                    }
                }
            }
            for (k, v) in new {
                set_prop(ctx.tx_mut()?, ent, k, v)?;
                ctx.stats.properties_set += 1;
            }
        }
        SetItem::Labels { target, labels } => match target.eval(frame, &ctx.eval())? {
            Value::Null => {}
            Value::Node(g) => {
                for l in labels {
                    if ctx.tx_mut()?.add_label(g, *l)? {
                        ctx.stats.labels_added += 1;
                    }
                }
            }
            other => {
                return Err(QueryError::type_error(format!(
                    "Labels can only be set on nodes, not on {}",
                    other.type_name()
                )))
            }
        },
    }
    Ok(())
}

pub(crate) fn apply_remove(
    item: &RemoveItem,
    frame: &mut Frame,
    ctx: &mut ExecCtx<'_>,
) -> Result<()> {
    match item {
        RemoveItem::Property { target, key } => {
            if let Some(ent) = entity(&target.eval(frame, &ctx.eval())?)? {
                set_prop(ctx.tx_mut()?, ent, *key, PropertyValue::Null)?;
                ctx.stats.properties_set += 1;
            }
        }
        RemoveItem::Labels { target, labels } => match target.eval(frame, &ctx.eval())? {
            Value::Null => {}
            Value::Node(g) => {
                for l in labels {
                    if ctx.tx_mut()?.remove_label(g, *l)? {
                        ctx.stats.labels_removed += 1;
                    }
                }
            }
            other => {
                return Err(QueryError::type_error(format!(
                    "Labels can only be removed from nodes, not from {}",
                    other.type_name()
                )))
            }
        },
    }
    Ok(())
}

impl Cursor for Update {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        if !self.input.pull(frame, ctx)? {
            return Ok(false);
        }
        for item in self.items.iter() {
            match item {
                UpdateItem::Set(s) => apply_set(s, frame, ctx)?,
                UpdateItem::Remove(r) => apply_remove(r, frame, ctx)?,
            }
        }
        Ok(true)
    }
    fn reset(&mut self) {
        self.input.reset();
    }
}

/// DELETE / DETACH DELETE of the values of `exprs` (nodes, relationships, paths; null is a no-op).
pub struct Delete {
    input: BoxCursor,
    exprs: Arc<Vec<PExpr>>,
    detach: bool,
    /// The input rows, kept once everything was deleted, to pass on.
    rows: Option<std::vec::IntoIter<Frame>>,
}

impl Delete {
    pub fn new(input: BoxCursor, exprs: Arc<Vec<PExpr>>, detach: bool) -> Delete {
        Delete {
            input,
            exprs,
            detach,
            rows: None,
        }
    }
}

/// What one DELETE clause removes, gathered from all its rows before anything is deleted.
#[derive(Default)]
struct Doomed {
    edges: Vec<storage::Gid>,
    nodes: Vec<storage::Gid>,
}

impl Doomed {
    fn add(&mut self, v: &Value) -> Result<()> {
        match v {
            Value::Null => {}
            Value::Node(g) => self.nodes.push(*g),
            Value::Relationship(r) => self.edges.push(r.gid),
            Value::Path(p) => {
                self.edges.extend(p.rels.iter().map(|r| r.gid));
                self.nodes.extend(&p.nodes);
            }
            other => {
                return Err(QueryError::type_error(format!(
                    "Only nodes, relationships and paths can be deleted, not {}",
                    other.type_name()
                )))
            }
        }
        Ok(())
    }

    /// Relationships first, then nodes: like Neo4j, a node only has to be free of relationships
    /// once everything the clause deletes is gone (`DELETE a, r, b` over several rows, or two
    /// paths that share their nodes).
    fn delete(self, detach: bool, tx: &mut Transaction, stats: &mut Stats) -> Result<()> {
        for e in self.edges {
            if tx.delete_edge(e)? {
                stats.relationships_deleted += 1;
            }
        }
        for n in self.nodes {
            let out = tx.delete_vertex(n, detach).map_err(|e| match e {
                storage::StorageError::VertexHasEdges(_) => QueryError::Constraint(
                    "Cannot delete node, because it still has relationships. \
                     To delete this node, you must first delete its relationships, \
                     or use DETACH DELETE."
                        .into(),
                ),
                other => QueryError::from(other),
            })?;
            if out.deleted {
                stats.nodes_deleted += 1;
            }
            stats.relationships_deleted += out.edges_deleted.len() as u64;
        }
        Ok(())
    }
}

impl Cursor for Delete {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        if self.rows.is_none() {
            // Evaluate every row first, then delete: the clause acts as one step.
            let mut doomed = Doomed::default();
            let mut rows = Vec::new();
            while self.input.pull(frame, ctx)? {
                ctx.tick_buffering()?;
                for e in self.exprs.iter() {
                    doomed.add(&e.eval(frame, &ctx.eval())?)?;
                }
                rows.push(frame.clone());
            }
            let (tx, stats) = ctx.tx_mut_and_stats()?;
            doomed.delete(self.detach, tx, stats)?;
            self.rows = Some(rows.into_iter());
        }
        Ok(super::replay(&mut self.rows, frame))
    }
    fn reset(&mut self) {
        self.rows = None;
        self.input.reset();
    }
}
