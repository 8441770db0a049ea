//! Planned expressions: the AST's expressions with variables resolved to frame slots, parameters
//! resolved to positions and property keys / labels interned, evaluated row by row without any
//! name lookups.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use storage::{LabelId, PropertyId, Transaction};

use crate::error::{QueryError, Result};
use crate::functions::{self, Function};
use crate::plan::Op;
use crate::value::Value;

/// One row of the executor: a value per symbol slot.
pub type Frame = Vec<Value>;

/// What an expression may read while it is evaluated.
pub struct EvalCtx<'a> {
    pub tx: &'a Transaction,
    pub params: &'a [Value],
    /// `--memory-limit` in bytes (0 = none): list comprehensions and `reduce` check it per
    /// element, as they can build large values inside one expression.
    pub memory_limit: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrOp {
    StartsWith,
    EndsWith,
    Contains,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quant {
    All,
    Any,
    None,
    Single,
}

#[derive(Clone, Debug)]
pub enum PExpr {
    Const(Value),
    Param(usize),
    Slot(usize),
    Property(Box<PExpr>, PropertyId, String),
    HasLabels(Box<PExpr>, Vec<LabelId>),
    List(Vec<PExpr>),
    Map(Vec<(String, PExpr)>),
    /// A left-to-right chain of operators of one precedence level (kept flat, never deep).
    Arith(Box<PExpr>, Vec<(BinOp, PExpr)>),
    Neg(Box<PExpr>),
    /// A chain `a < b <= c`: every adjacent pair must hold (three-valued AND).
    Compare(Box<PExpr>, Vec<(CmpOp, PExpr)>),
    /// Flat n-ary logic (the parser keeps `a AND b AND ...` flat; so do we).
    And(Vec<PExpr>),
    Or(Vec<PExpr>),
    Xor(Vec<PExpr>),
    Not(Box<PExpr>),
    IsNull(Box<PExpr>, bool),
    In(Box<PExpr>, Box<PExpr>),
    Str(StrOp, Box<PExpr>, Box<PExpr>),
    Regex(Box<PExpr>, Box<PExpr>),
    Index(Box<PExpr>, Box<PExpr>),
    Slice(Box<PExpr>, Option<Box<PExpr>>, Option<Box<PExpr>>),
    Call(Function, Vec<PExpr>),
    Case {
        operand: Option<Box<PExpr>>,
        whens: Vec<(PExpr, PExpr)>,
        otherwise: Option<Box<PExpr>>,
    },
    /// `[x IN list WHERE pred | map]`; `slot` is x's slot in the same frame.
    ListComp {
        slot: usize,
        list: Box<PExpr>,
        pred: Option<Box<PExpr>>,
        map: Option<Box<PExpr>>,
    },
    Quantifier {
        kind: Quant,
        slot: usize,
        list: Box<PExpr>,
        pred: Box<PExpr>,
    },
    /// `reduce(acc = init, x IN list | expr)`
    Reduce {
        acc: usize,
        init: Box<PExpr>,
        slot: usize,
        list: Box<PExpr>,
        expr: Box<PExpr>,
    },
    /// A pattern predicate or `EXISTS { ... }`: whether the read-only sub-plan has a row
    /// (see [`crate::subplan`]).
    Exists(Arc<Op>),
    /// `[(a)-->(b) WHERE pred | map]`: `map` for every row of the read-only sub-plan.
    PatternComp(Arc<Op>, Box<PExpr>),
    /// `base {.key, .*, key: expr}`: the selectors in order, later keys overriding earlier.
    MapProjection(Box<PExpr>, Vec<MapProjItem>),
}

#[derive(Clone, Debug)]
pub enum MapProjItem {
    /// `.key`
    Property(PropertyId, String),
    /// `.*`
    All,
    /// `key: expr`, and `var` as `var: var`.
    Entry(String, PExpr),
}

impl PExpr {
    pub fn eval(&self, frame: &mut Frame, ctx: &EvalCtx<'_>) -> Result<Value> {
        Ok(match self {
            PExpr::Const(v) => v.clone(),
            PExpr::Param(i) => ctx.params[*i].clone(),
            PExpr::Slot(s) => frame[*s].clone(),
            PExpr::MapProjection(base, items) => {
                let base = base.eval(frame, ctx)?;
                if base.is_null() {
                    return Ok(Value::Null);
                }
                let mut m = BTreeMap::new();
                for item in items {
                    match item {
                        MapProjItem::Property(key, name) => {
                            m.insert(name.clone(), property_of(&base, *key, name, ctx)?);
                        }
                        MapProjItem::All => {
                            if let Value::Map(all) =
                                functions::call(Function::Properties, vec![base.clone()], ctx)?
                            {
                                m.extend(all);
                            }
                        }
                        MapProjItem::Entry(k, e) => {
                            m.insert(k.clone(), e.eval(frame, ctx)?);
                        }
                    }
                }
                Value::Map(m)
            }
            PExpr::Exists(plan) => Value::Bool(crate::subplan::exists(plan, frame, ctx)?),
            PExpr::PatternComp(plan, map) => {
                let mut out = Vec::new();
                crate::subplan::for_each(plan, frame, ctx, &mut |frame| {
                    out.push(map.eval(frame, ctx)?);
                    Ok(true)
                })?;
                Value::List(out)
            }
            // `var.key` reads the slot in place: a map (e.g. a LOAD CSV row) is not cloned.
            PExpr::Property(e, key, name) => match **e {
                PExpr::Slot(s) => property_of(&frame[s], *key, name, ctx)?,
                _ => property_of(&e.eval(frame, ctx)?, *key, name, ctx)?,
            },
            PExpr::HasLabels(e, labels) => match e.eval(frame, ctx)? {
                Value::Null => Value::Null,
                Value::Node(g) => {
                    for l in labels {
                        if !ctx.tx.vertex_has_label(g, *l)? {
                            return Ok(Value::Bool(false));
                        }
                    }
                    Value::Bool(true)
                }
                other => {
                    return Err(QueryError::type_error(format!(
                        "Expected a node for a label check, got {}",
                        other.type_name()
                    )))
                }
            },
            PExpr::List(items) => Value::List(
                items
                    .iter()
                    .map(|e| e.eval(frame, ctx))
                    .collect::<Result<_>>()?,
            ),
            PExpr::Map(entries) => {
                let mut m = BTreeMap::new();
                for (k, e) in entries {
                    m.insert(k.clone(), e.eval(frame, ctx)?);
                }
                Value::Map(m)
            }
            PExpr::Arith(first, rest) => {
                let mut acc = first.eval(frame, ctx)?;
                for (op, e) in rest {
                    acc = arith(*op, acc, e.eval(frame, ctx)?)?;
                }
                acc
            }
            PExpr::Neg(e) => match e.eval(frame, ctx)? {
                Value::Null => Value::Null,
                Value::Int(i) => Value::Int(
                    i.checked_neg()
                        .ok_or_else(|| QueryError::Arithmetic("integer overflow".into()))?,
                ),
                Value::Float(f) => Value::Float(-f),
                other => {
                    return Err(QueryError::type_error(format!(
                        "Cannot negate {}",
                        other.type_name()
                    )))
                }
            },
            PExpr::Compare(first, rest) => {
                let mut left = first.eval(frame, ctx)?;
                let mut acc = Some(true);
                for (op, e) in rest {
                    let right = e.eval(frame, ctx)?;
                    acc = and3(acc, compare(*op, &left, &right));
                    if acc == Some(false) {
                        return Ok(Value::Bool(false));
                    }
                    left = right;
                }
                tri(acc)
            }
            PExpr::And(items) => {
                let mut acc = Some(true);
                for e in items {
                    acc = and3(acc, truth(&e.eval(frame, ctx)?)?);
                    if acc == Some(false) {
                        return Ok(Value::Bool(false));
                    }
                }
                tri(acc)
            }
            PExpr::Or(items) => {
                let mut acc = Some(false);
                for e in items {
                    match truth(&e.eval(frame, ctx)?)? {
                        Some(true) => return Ok(Value::Bool(true)),
                        None => acc = None,
                        Some(false) => {}
                    }
                }
                tri(acc)
            }
            PExpr::Xor(items) => {
                let mut acc = Some(false);
                for e in items {
                    acc = match (acc, truth(&e.eval(frame, ctx)?)?) {
                        (Some(x), Some(y)) => Some(x != y),
                        _ => None,
                    };
                }
                tri(acc)
            }
            PExpr::Not(e) => tri(truth(&e.eval(frame, ctx)?)?.map(|b| !b)),
            PExpr::IsNull(e, negated) => Value::Bool(e.eval(frame, ctx)?.is_null() != *negated),
            PExpr::In(e, list) => {
                let v = e.eval(frame, ctx)?;
                match list.eval(frame, ctx)? {
                    Value::Null => Value::Null,
                    Value::List(items) => tri(in_list(&v, &items)),
                    other => {
                        return Err(QueryError::type_error(format!(
                            "IN expects a list, got {}",
                            other.type_name()
                        )))
                    }
                }
            }
            PExpr::Str(op, a, b) => match (a.eval(frame, ctx)?, b.eval(frame, ctx)?) {
                (Value::String(a), Value::String(b)) => Value::Bool(match op {
                    StrOp::StartsWith => a.starts_with(&b),
                    StrOp::EndsWith => a.ends_with(&b),
                    StrOp::Contains => a.contains(&b),
                }),
                _ => Value::Null,
            },
            PExpr::Regex(a, b) => match (a.eval(frame, ctx)?, b.eval(frame, ctx)?) {
                (Value::String(s), Value::String(p)) => {
                    Value::Bool(functions::regex_full_match(&s, &p)?)
                }
                _ => Value::Null,
            },
            PExpr::Index(a, i) => index(a.eval(frame, ctx)?, i.eval(frame, ctx)?, ctx)?,
            PExpr::Slice(a, from, to) => {
                let v = a.eval(frame, ctx)?;
                let from = from.as_ref().map(|e| e.eval(frame, ctx)).transpose()?;
                let to = to.as_ref().map(|e| e.eval(frame, ctx)).transpose()?;
                slice(v, from, to)?
            }
            PExpr::Call(f, args) => {
                let args = args
                    .iter()
                    .map(|e| e.eval(frame, ctx))
                    .collect::<Result<Vec<_>>>()?;
                functions::call(*f, args, ctx)?
            }
            PExpr::Case {
                operand,
                whens,
                otherwise,
            } => {
                let subject = operand.as_ref().map(|e| e.eval(frame, ctx)).transpose()?;
                for (w, then) in whens {
                    let w = w.eval(frame, ctx)?;
                    let hit = match &subject {
                        Some(s) => s.cypher_eq(&w) == Some(true),
                        None => truth(&w)? == Some(true),
                    };
                    if hit {
                        return then.eval(frame, ctx);
                    }
                }
                match otherwise {
                    Some(e) => e.eval(frame, ctx)?,
                    None => Value::Null,
                }
            }
            PExpr::ListComp {
                slot,
                list,
                pred,
                map,
            } => {
                let Some(items) = list_operand(list, frame, ctx)? else {
                    return Ok(Value::Null);
                };
                let saved = std::mem::replace(&mut frame[*slot], Value::Null);
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    crate::memory::check(ctx.memory_limit)?;
                    frame[*slot] = item;
                    if let Some(p) = pred {
                        if truth(&p.eval(frame, ctx)?)? != Some(true) {
                            continue;
                        }
                    }
                    out.push(match map {
                        Some(m) => m.eval(frame, ctx)?,
                        None => frame[*slot].clone(),
                    });
                }
                frame[*slot] = saved;
                Value::List(out)
            }
            PExpr::Quantifier {
                kind,
                slot,
                list,
                pred,
            } => {
                let Some(items) = list_operand(list, frame, ctx)? else {
                    return Ok(Value::Null);
                };
                let saved = std::mem::replace(&mut frame[*slot], Value::Null);
                let (mut trues, mut nulls) = (0usize, 0usize);
                let total = items.len();
                for item in items {
                    frame[*slot] = item;
                    match truth(&pred.eval(frame, ctx)?)? {
                        Some(true) => trues += 1,
                        None => nulls += 1,
                        Some(false) => {}
                    }
                }
                frame[*slot] = saved;
                let falses = total - trues - nulls;
                tri(match kind {
                    Quant::All => {
                        if falses > 0 {
                            Some(false)
                        } else if nulls > 0 {
                            None
                        } else {
                            Some(true)
                        }
                    }
                    Quant::Any => {
                        if trues > 0 {
                            Some(true)
                        } else if nulls > 0 {
                            None
                        } else {
                            Some(false)
                        }
                    }
                    Quant::None => {
                        if trues > 0 {
                            Some(false)
                        } else if nulls > 0 {
                            None
                        } else {
                            Some(true)
                        }
                    }
                    Quant::Single => {
                        if trues > 1 {
                            Some(false)
                        } else if nulls > 0 {
                            None
                        } else {
                            Some(trues == 1)
                        }
                    }
                })
            }
            PExpr::Reduce {
                acc,
                init,
                slot,
                list,
                expr,
            } => {
                let Some(items) = list_operand(list, frame, ctx)? else {
                    return Ok(Value::Null);
                };
                let start = init.eval(frame, ctx)?;
                let saved_acc = std::mem::replace(&mut frame[*acc], start);
                let saved = std::mem::replace(&mut frame[*slot], Value::Null);
                for item in items {
                    crate::memory::check(ctx.memory_limit)?;
                    frame[*slot] = item;
                    let next = expr.eval(frame, ctx)?;
                    frame[*acc] = next;
                }
                let out = std::mem::replace(&mut frame[*acc], saved_acc);
                frame[*slot] = saved;
                out
            }
        })
    }

    /// Calls `f` on each direct sub-expression (not those inside sub-plans: their operators
    /// hold their own).
    pub fn for_each_child_mut(&mut self, f: &mut dyn FnMut(&mut PExpr)) {
        match self {
            PExpr::Const(_) | PExpr::Param(_) | PExpr::Slot(_) | PExpr::Exists(_) => {}
            PExpr::Property(e, ..)
            | PExpr::HasLabels(e, _)
            | PExpr::Neg(e)
            | PExpr::Not(e)
            | PExpr::IsNull(e, _)
            | PExpr::PatternComp(_, e) => f(e),
            PExpr::List(items)
            | PExpr::And(items)
            | PExpr::Or(items)
            | PExpr::Xor(items)
            | PExpr::Call(_, items) => items.iter_mut().for_each(f),
            PExpr::Map(entries) => entries.iter_mut().for_each(|(_, e)| f(e)),
            PExpr::Arith(first, rest) => {
                f(first);
                rest.iter_mut().for_each(|(_, e)| f(e));
            }
            PExpr::Compare(first, rest) => {
                f(first);
                rest.iter_mut().for_each(|(_, e)| f(e));
            }
            PExpr::In(a, b) | PExpr::Str(_, a, b) | PExpr::Regex(a, b) | PExpr::Index(a, b) => {
                f(a);
                f(b);
            }
            PExpr::Slice(a, from, to) => {
                f(a);
                from.iter_mut().chain(to.iter_mut()).for_each(|e| f(e));
            }
            PExpr::Case {
                operand,
                whens,
                otherwise,
            } => {
                operand.iter_mut().for_each(|e| f(e));
                for (w, t) in whens {
                    f(w);
                    f(t);
                }
                otherwise.iter_mut().for_each(|e| f(e));
            }
            PExpr::ListComp {
                list, pred, map, ..
            } => {
                f(list);
                pred.iter_mut().chain(map.iter_mut()).for_each(|e| f(e));
            }
            PExpr::Quantifier { list, pred, .. } => {
                f(list);
                f(pred);
            }
            PExpr::Reduce {
                init, list, expr, ..
            } => {
                f(init);
                f(list);
                f(expr);
            }
            PExpr::MapProjection(base, items) => {
                f(base);
                for item in items {
                    if let MapProjItem::Entry(_, e) = item {
                        f(e);
                    }
                }
            }
        }
    }

    /// Evaluates a predicate: only `true` passes (null and false filter the row out).
    pub fn eval_predicate(&self, frame: &mut Frame, ctx: &EvalCtx<'_>) -> Result<bool> {
        Ok(truth(&self.eval(frame, ctx)?)? == Some(true))
    }
}

/// The list a comprehension, quantifier or `reduce` iterates; `None` when it is null (the
/// whole expression is then null).
fn list_operand(list: &PExpr, frame: &mut Frame, ctx: &EvalCtx<'_>) -> Result<Option<Vec<Value>>> {
    match list.eval(frame, ctx)? {
        Value::Null => Ok(None),
        Value::List(items) => Ok(Some(items)),
        other => Err(QueryError::type_error(format!(
            "Expected a list, got {}",
            other.type_name()
        ))),
    }
}

/// Reads a property from a node, relationship or map; null propagates.
pub fn property_of(base: &Value, key: PropertyId, name: &str, ctx: &EvalCtx<'_>) -> Result<Value> {
    Ok(match base {
        Value::Null => Value::Null,
        Value::Node(g) => Value::from(ctx.tx.vertex_property(*g, key)?),
        Value::Relationship(r) => Value::from(ctx.tx.edge_property(r.gid, key)?),
        Value::Map(m) => m.get(name).cloned().unwrap_or(Value::Null),
        Value::Temporal(t) => crate::temporal::component::component(t, name)?,
        other => {
            return Err(QueryError::type_error(format!(
                "Cannot read property '{name}' of {}",
                other.type_name()
            )))
        }
    })
}

/// Interprets a value as a boolean for logic: null is unknown, other types are a type error.
pub fn truth(v: &Value) -> Result<Option<bool>> {
    match v {
        Value::Bool(b) => Ok(Some(*b)),
        Value::Null => Ok(None),
        other => Err(QueryError::type_error(format!(
            "Expected a boolean, got {}",
            other.type_name()
        ))),
    }
}

fn tri(v: Option<bool>) -> Value {
    v.map_or(Value::Null, Value::Bool)
}

pub(crate) fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

pub fn compare(op: CmpOp, a: &Value, b: &Value) -> Option<bool> {
    match op {
        CmpOp::Eq => a.cypher_eq(b),
        CmpOp::Ne => a.cypher_eq(b).map(|x| !x),
        _ => {
            if a.is_null() || b.is_null() {
                return None;
            }
            // NaN compares false with everything.
            if let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) {
                if x.is_nan() || y.is_nan() {
                    return Some(false);
                }
            }
            let o = a.cypher_cmp(b)?;
            Some(match op {
                CmpOp::Lt => o == Ordering::Less,
                CmpOp::Gt => o == Ordering::Greater,
                CmpOp::Le => o != Ordering::Greater,
                CmpOp::Ge => o != Ordering::Less,
                CmpOp::Eq | CmpOp::Ne => unreachable!("handled above"),
            })
        }
    }
}

fn in_list(v: &Value, items: &[Value]) -> Option<bool> {
    let mut unknown = false;
    for item in items {
        match v.cypher_eq(item) {
            Some(true) => return Some(true),
            None => unknown = true,
            Some(false) => {}
        }
    }
    if unknown {
        None
    } else {
        Some(false)
    }
}

pub fn arith(op: BinOp, a: Value, b: Value) -> Result<Value> {
    use Value::*;
    if let (Int(x), Int(y)) = (&a, &b) {
        return int_arith(op, *x, *y);
    }
    Ok(match (op, a, b) {
        (_, Null, _) | (_, _, Null) => Null,
        (op, x, y) if matches!(x, Temporal(_)) || matches!(y, Temporal(_)) => {
            crate::temporal::duration::arith(op, x, y)?
        }
        (op, x @ (Int(_) | Float(_)), y @ (Int(_) | Float(_))) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            Float(match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                BinOp::Mod => x % y,
                BinOp::Pow => x.powf(y),
            })
        }
        (BinOp::Add, String(x), String(y)) => String(x + &y),
        (BinOp::Add, String(x), y @ (Int(_) | Float(_) | Bool(_))) => String(x + &y.to_string()),
        (BinOp::Add, x @ (Int(_) | Float(_) | Bool(_)), String(y)) => String(x.to_string() + &y),
        (BinOp::Add, List(mut x), List(y)) => {
            x.extend(y);
            List(x)
        }
        (BinOp::Add, List(mut x), y) => {
            x.push(y);
            List(x)
        }
        (BinOp::Add, x, List(y)) => {
            let mut out = Vec::with_capacity(y.len() + 1);
            out.push(x);
            out.extend(y);
            List(out)
        }
        (op, x, y) => {
            return Err(QueryError::type_error(format!(
                "Cannot apply {op:?} to {} and {}",
                x.type_name(),
                y.type_name()
            )))
        }
    })
}

/// Integer arithmetic: overflow and division by zero are errors; `^` is a float.
fn int_arith(op: BinOp, x: i64, y: i64) -> Result<Value> {
    let overflow = || QueryError::Arithmetic("integer overflow".into());
    Ok(Value::Int(match op {
        BinOp::Add => x.checked_add(y).ok_or_else(overflow)?,
        BinOp::Sub => x.checked_sub(y).ok_or_else(overflow)?,
        BinOp::Mul => x.checked_mul(y).ok_or_else(overflow)?,
        BinOp::Div => {
            if y == 0 {
                return Err(QueryError::Arithmetic("/ by zero".into()));
            }
            x.checked_div(y).ok_or_else(overflow)?
        }
        BinOp::Mod => {
            if y == 0 {
                return Err(QueryError::Arithmetic("% by zero".into()));
            }
            x.checked_rem(y).ok_or_else(overflow)?
        }
        BinOp::Pow => return Ok(Value::Float((x as f64).powf(y as f64))),
    }))
}

fn index(base: Value, idx: Value, ctx: &EvalCtx<'_>) -> Result<Value> {
    Ok(match (base, idx) {
        (Value::Null, _) | (_, Value::Null) => Value::Null,
        (Value::List(items), Value::Int(i)) => {
            let len = items.len() as i64;
            let i = if i < 0 { len + i } else { i };
            if i < 0 || i >= len {
                Value::Null
            } else {
                items.into_iter().nth(i as usize).unwrap_or(Value::Null)
            }
        }
        (Value::Map(m), Value::String(k)) => m.get(&k).cloned().unwrap_or(Value::Null),
        (base @ (Value::Node(_) | Value::Relationship(_)), Value::String(k)) => {
            match ctx.tx.storage().find_property(&k) {
                Some(id) => property_of(&base, id, &k, ctx)?,
                None => Value::Null,
            }
        }
        (b, i) => {
            return Err(QueryError::type_error(format!(
                "Cannot index {} with {}",
                b.type_name(),
                i.type_name()
            )))
        }
    })
}

fn slice(base: Value, from: Option<Value>, to: Option<Value>) -> Result<Value> {
    let items = match base {
        Value::Null => return Ok(Value::Null),
        Value::List(items) => items,
        other => {
            return Err(QueryError::type_error(format!(
                "Cannot slice {}",
                other.type_name()
            )))
        }
    };
    let len = items.len() as i64;
    let bound = |v: Option<Value>, default: i64| -> Result<Option<i64>> {
        match v {
            None => Ok(Some(default)),
            Some(Value::Null) => Ok(None),
            Some(Value::Int(i)) => Ok(Some(if i < 0 { (len + i).max(0) } else { i.min(len) })),
            Some(other) => Err(QueryError::type_error(format!(
                "List slice bounds must be integers, got {}",
                other.type_name()
            ))),
        }
    };
    let (Some(from), Some(to)) = (bound(from, 0)?, bound(to, len)?) else {
        return Ok(Value::Null);
    };
    if from >= to {
        return Ok(Value::List(Vec::new()));
    }
    Ok(Value::List(
        items
            .into_iter()
            .skip(from as usize)
            .take((to - from) as usize)
            .collect(),
    ))
}
