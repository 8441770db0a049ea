//! Scalar functions. Aggregation functions live in `ops::aggregate`; this module only evaluates
//! functions of one row's values.

use storage::PropertyValue;

use crate::error::{QueryError, Result};
use crate::expr::EvalCtx;
use crate::temporal;
use crate::value::{format_float, PathValue, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    Id,
    Labels,
    Type,
    Properties,
    Keys,
    Size,
    Length,
    Head,
    Last,
    Tail,
    Range,
    Coalesce,
    StartNode,
    EndNode,
    Nodes,
    Relationships,
    ToInteger,
    ToFloat,
    ToString,
    ToBoolean,
    Abs,
    Ceil,
    Floor,
    Round,
    Sqrt,
    Sign,
    Rand,
    Timestamp,
    ToUpper,
    ToLower,
    Trim,
    LTrim,
    RTrim,
    Replace,
    Substring,
    Left,
    Right,
    Split,
    Reverse,
    Exp,
    Log,
    Log10,
    Pi,
    E,
    /// `date`, `datetime`, `duration.between` ...: see [`crate::temporal`].
    Temporal(temporal::TemporalFn),
}

impl Function {
    /// Resolves a (case-insensitive) function name and checks the argument count.
    pub fn resolve(name: &str, argc: usize) -> Result<Function> {
        use Function::*;
        let (f, min, max) = match name.to_ascii_lowercase().as_str() {
            "id" => (Id, 1, 1),
            "labels" => (Labels, 1, 1),
            "type" => (Type, 1, 1),
            "properties" => (Properties, 1, 1),
            "keys" => (Keys, 1, 1),
            "size" => (Size, 1, 1),
            "length" => (Length, 1, 1),
            "head" => (Head, 1, 1),
            "last" => (Last, 1, 1),
            "tail" => (Tail, 1, 1),
            "range" => (Range, 2, 3),
            "coalesce" => (Coalesce, 1, usize::MAX),
            "startnode" => (StartNode, 1, 1),
            "endnode" => (EndNode, 1, 1),
            "nodes" => (Nodes, 1, 1),
            "relationships" => (Relationships, 1, 1),
            "tointeger" => (ToInteger, 1, 1),
            "tofloat" => (ToFloat, 1, 1),
            "tostring" => (ToString, 1, 1),
            "toboolean" => (ToBoolean, 1, 1),
            "abs" => (Abs, 1, 1),
            "ceil" => (Ceil, 1, 1),
            "floor" => (Floor, 1, 1),
            "round" => (Round, 1, 1),
            "sqrt" => (Sqrt, 1, 1),
            "sign" => (Sign, 1, 1),
            "rand" => (Rand, 0, 0),
            "timestamp" => (Timestamp, 0, 0),
            "toupper" | "upper" => (ToUpper, 1, 1),
            "tolower" | "lower" => (ToLower, 1, 1),
            "trim" => (Trim, 1, 1),
            "ltrim" => (LTrim, 1, 1),
            "rtrim" => (RTrim, 1, 1),
            "replace" => (Replace, 3, 3),
            "substring" => (Substring, 2, 3),
            "left" => (Left, 2, 2),
            "right" => (Right, 2, 2),
            "split" => (Split, 2, 2),
            "reverse" => (Reverse, 1, 1),
            "exp" => (Exp, 1, 1),
            "log" => (Log, 1, 1),
            "log10" => (Log10, 1, 1),
            "pi" => (Pi, 0, 0),
            "e" => (E, 0, 0),
            lower => match temporal::resolve(lower) {
                Some((t, min, max)) => (Temporal(t), min, max),
                None => return Err(QueryError::semantic(format!("Unknown function '{name}'."))),
            },
        };
        if argc < min || argc > max {
            return Err(QueryError::semantic(format!(
                "Function '{name}' called with {argc} arguments."
            )));
        }
        Ok(f)
    }

    /// False for functions whose result varies between calls with the same arguments.
    pub fn is_deterministic(self) -> bool {
        // Temporal constructors read the clock when called without arguments.
        !matches!(
            self,
            Function::Rand | Function::Timestamp | Function::Temporal(_)
        )
    }
}

fn type_err(f: Function, v: &Value) -> QueryError {
    QueryError::type_error(format!(
        "Function {f:?} cannot take an argument of type {}",
        v.type_name()
    ))
}

pub fn call(f: Function, mut args: Vec<Value>, ctx: &EvalCtx<'_>) -> Result<Value> {
    use Function::*;
    if let Temporal(t) = f {
        return temporal::call(t, args);
    }
    let storage = ctx.tx.storage();
    // Null in, null out for every function but coalesce and the nullary ones.
    if !matches!(f, Coalesce | Rand | Timestamp | Pi | E)
        && args.first().is_some_and(Value::is_null)
    {
        return Ok(Value::Null);
    }
    // `a0` is the first argument, `args` the rest, in order.
    let rest = if args.is_empty() {
        Vec::new()
    } else {
        args.split_off(1)
    };
    let a0 = args.pop().unwrap_or(Value::Null);
    let args = rest;
    Ok(match f {
        Id => match &a0 {
            Value::Node(g) => Value::Int(*g as i64),
            Value::Relationship(r) => Value::Int(r.gid as i64),
            v => return Err(type_err(f, v)),
        },
        Labels => match &a0 {
            Value::Node(g) => Value::List(
                ctx.tx
                    .vertex_labels(*g)?
                    .into_iter()
                    .map(|l| Value::String(storage.label_name(l).to_string()))
                    .collect(),
            ),
            v => return Err(type_err(f, v)),
        },
        Type => match &a0 {
            Value::Relationship(r) => Value::String(storage.edge_type_name(r.ty).to_string()),
            v => return Err(type_err(f, v)),
        },
        Properties => match &a0 {
            Value::Node(g) => props_map(ctx.tx.vertex_properties(*g)?, ctx),
            Value::Relationship(r) => props_map(ctx.tx.edge_properties(r.gid)?, ctx),
            Value::Map(_) => a0,
            v => return Err(type_err(f, v)),
        },
        Keys => match &a0 {
            Value::Node(g) => keys_list(ctx.tx.vertex_properties(*g)?, ctx),
            Value::Relationship(r) => keys_list(ctx.tx.edge_properties(r.gid)?, ctx),
            Value::Map(m) => Value::List(m.keys().map(|k| Value::String(k.clone())).collect()),
            v => return Err(type_err(f, v)),
        },
        Size => match &a0 {
            Value::List(l) => Value::Int(l.len() as i64),
            Value::String(s) => Value::Int(s.chars().count() as i64),
            Value::Map(m) => Value::Int(m.len() as i64),
            v => return Err(type_err(f, v)),
        },
        Length => match &a0 {
            Value::Path(p) => Value::Int(p.rels.len() as i64),
            Value::List(l) => Value::Int(l.len() as i64),
            Value::String(s) => Value::Int(s.chars().count() as i64),
            v => return Err(type_err(f, v)),
        },
        Head => match a0 {
            Value::List(l) => l.into_iter().next().unwrap_or(Value::Null),
            v => return Err(type_err(f, &v)),
        },
        Last => match a0 {
            Value::List(l) => l.into_iter().last().unwrap_or(Value::Null),
            v => return Err(type_err(f, &v)),
        },
        Tail => match a0 {
            Value::List(l) => Value::List(l.into_iter().skip(1).collect()),
            v => return Err(type_err(f, &v)),
        },
        Range => range(a0, args)?,
        Coalesce => std::iter::once(a0)
            .chain(args)
            .find(|v| !v.is_null())
            .unwrap_or(Value::Null),
        StartNode | EndNode => match &a0 {
            Value::Relationship(r) => Value::Node(if f == StartNode { r.from } else { r.to }),
            v => return Err(type_err(f, v)),
        },
        Nodes => match a0 {
            Value::Path(p) => Value::List(p.nodes.iter().map(|g| Value::Node(*g)).collect()),
            v => return Err(type_err(f, &v)),
        },
        Relationships => match a0 {
            Value::Path(p) => Value::List(p.rels.iter().map(|r| Value::Relationship(*r)).collect()),
            v => return Err(type_err(f, &v)),
        },
        ToInteger => match &a0 {
            Value::Int(_) => a0,
            Value::Float(x) => {
                if x.is_finite() && x.abs() < 9.3e18 {
                    Value::Int(x.trunc() as i64)
                } else {
                    Value::Null
                }
            }
            Value::Bool(b) => Value::Int(*b as i64),
            Value::String(s) => parse_int(s.trim()).map_or(Value::Null, Value::Int),
            v => return Err(type_err(f, v)),
        },
        ToFloat => match &a0 {
            Value::Float(_) => a0,
            Value::Int(i) => Value::Float(*i as f64),
            Value::String(s) => s.trim().parse::<f64>().map_or(Value::Null, Value::Float),
            v => return Err(type_err(f, v)),
        },
        ToString => match &a0 {
            Value::String(_) => a0,
            Value::Int(i) => Value::String(i.to_string()),
            Value::Float(x) => Value::String(format_float(*x)),
            Value::Bool(b) => Value::String(b.to_string()),
            Value::Temporal(t) => Value::String(temporal::format::format(t)),
            v => return Err(type_err(f, v)),
        },
        ToBoolean => match &a0 {
            Value::Bool(_) => a0,
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::Null,
            },
            Value::Int(i) => Value::Bool(*i != 0),
            v => return Err(type_err(f, v)),
        },
        Abs => match a0 {
            Value::Int(i) => Value::Int(
                i.checked_abs()
                    .ok_or_else(|| QueryError::Arithmetic("integer overflow".into()))?,
            ),
            Value::Float(x) => Value::Float(x.abs()),
            v => return Err(type_err(f, &v)),
        },
        Ceil | Floor | Round | Sqrt | Exp | Log | Log10 => {
            let x = a0.as_f64().ok_or_else(|| type_err(f, &a0))?;
            Value::Float(match f {
                Ceil => x.ceil(),
                Floor => x.floor(),
                Round => round_half_up(x),
                Sqrt => x.sqrt(),
                Exp => x.exp(),
                Log => x.ln(),
                _ => x.log10(),
            })
        }
        Sign => match a0 {
            Value::Int(i) => Value::Int(i.signum()),
            Value::Float(x) => Value::Int(if x > 0.0 {
                1
            } else if x < 0.0 {
                -1
            } else {
                0
            }),
            v => return Err(type_err(f, &v)),
        },
        Rand => Value::Float(rand::random::<f64>()),
        Pi => Value::Float(std::f64::consts::PI),
        E => Value::Float(std::f64::consts::E),
        Timestamp => Value::Int(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
        ),
        ToUpper | ToLower | Trim | LTrim | RTrim | Reverse => match a0 {
            Value::String(s) => Value::String(match f {
                ToUpper => s.to_uppercase(),
                ToLower => s.to_lowercase(),
                Trim => s.trim().to_string(),
                LTrim => s.trim_start().to_string(),
                RTrim => s.trim_end().to_string(),
                _ => s.chars().rev().collect(),
            }),
            Value::List(mut l) if f == Reverse => {
                l.reverse();
                Value::List(l)
            }
            v => return Err(type_err(f, &v)),
        },
        Replace => match (a0, &args[0], &args[1]) {
            (Value::String(s), Value::String(from), Value::String(to)) => {
                Value::String(s.replace(from.as_str(), to))
            }
            (_, Value::Null, _) | (_, _, Value::Null) => Value::Null,
            (v, _, _) => return Err(type_err(f, &v)),
        },
        Substring => {
            let Value::String(s) = a0 else {
                return Err(type_err(f, &a0));
            };
            let start = int_arg(f, &args[0])?;
            let len = match args.get(1) {
                Some(v) => Some(int_arg(f, v)?),
                None => None,
            };
            if start < 0 || len.is_some_and(|l| l < 0) {
                return Err(QueryError::Argument(
                    "substring() start and length must be non-negative".into(),
                ));
            }
            let it = s.chars().skip(start as usize);
            Value::String(match len {
                Some(l) => it.take(l as usize).collect(),
                None => it.collect(),
            })
        }
        Left | Right => {
            let Value::String(s) = a0 else {
                return Err(type_err(f, &a0));
            };
            let n = int_arg(f, &args[0])?;
            if n < 0 {
                return Err(QueryError::Argument(format!(
                    "{f:?}() length must be non-negative"
                )));
            }
            let count = s.chars().count();
            let n = (n as usize).min(count);
            Value::String(if f == Left {
                s.chars().take(n).collect()
            } else {
                s.chars().skip(count - n).collect()
            })
        }
        Split => match (a0, &args[0]) {
            (Value::String(s), Value::String(sep)) => Value::List(
                s.split(sep.as_str())
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
            ),
            (_, Value::Null) => Value::Null,
            (v, _) => return Err(type_err(f, &v)),
        },
        Temporal(_) => unreachable!("temporal functions return before the null check"),
    })
}

fn int_arg(f: Function, v: &Value) -> Result<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(type_err(f, other)),
    }
}

fn parse_int(s: &str) -> Option<i64> {
    s.parse::<i64>().ok().or_else(|| {
        let x = s.parse::<f64>().ok()?;
        (x.is_finite() && x.abs() < 9.3e18).then(|| x.trunc() as i64)
    })
}

fn round_half_up(x: f64) -> f64 {
    (x + 0.5).floor()
}

/// The most elements a materialised `range()` may have (about 320 MiB of values); `UNWIND
/// range(...)` is lazy and has no such limit.
pub const MAX_RANGE_ELEMENTS: u128 = 10_000_000;

/// Checks `range(start, end[, step])` arguments: integers, a non-zero step.
pub fn range_bounds(args: &[Value]) -> Result<(i64, i64, i64)> {
    let get = |v: Option<&Value>, default: Option<i64>| match (v, default) {
        (Some(Value::Int(i)), _) => Ok(*i),
        (None, Some(d)) => Ok(d),
        (other, _) => Err(QueryError::Argument(format!(
            "range() expects integer arguments, got {}",
            other.map_or("nothing", Value::type_name)
        ))),
    };
    let step = get(args.get(2), Some(1))?;
    if step == 0 {
        return Err(QueryError::Argument("range() step cannot be zero".into()));
    }
    Ok((get(args.first(), None)?, get(args.get(1), None)?, step))
}

fn range(start: Value, rest: Vec<Value>) -> Result<Value> {
    let mut args = vec![start];
    args.extend(rest);
    let (start, end, step) = range_bounds(&args)?;
    let count = if (step > 0 && start > end) || (step < 0 && start < end) {
        0
    } else {
        ((end as i128 - start as i128) / step as i128 + 1) as u128
    };
    if count > MAX_RANGE_ELEMENTS {
        return Err(QueryError::Argument(format!(
            "range() would build a list of {count} elements; the limit is {MAX_RANGE_ELEMENTS} \
             (UNWIND range(...) has no limit: it counts without building the list)"
        )));
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut i = start as i128;
    for _ in 0..count {
        out.push(Value::Int(i as i64));
        i += step as i128;
    }
    Ok(Value::List(out))
}

fn props_map(props: Vec<(storage::PropertyId, PropertyValue)>, ctx: &EvalCtx<'_>) -> Value {
    let storage = ctx.tx.storage();
    Value::Map(
        props
            .into_iter()
            .map(|(k, v)| (storage.property_name(k).to_string(), Value::from(v)))
            .collect(),
    )
}

fn keys_list(props: Vec<(storage::PropertyId, PropertyValue)>, ctx: &EvalCtx<'_>) -> Value {
    let storage = ctx.tx.storage();
    let mut keys: Vec<String> = props
        .into_iter()
        .map(|(k, _)| storage.property_name(k).to_string())
        .collect();
    keys.sort();
    Value::List(keys.into_iter().map(Value::String).collect())
}

/// `=~`: the whole string must match (Java/Neo4j semantics).
pub fn regex_full_match(s: &str, pattern: &str) -> Result<bool> {
    let re = regex::Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|e| QueryError::Argument(format!("Invalid regular expression: {e}")))?;
    Ok(re.is_match(s))
}

/// Builds a path value, used by named paths.
pub fn path(nodes: Vec<storage::Gid>, rels: Vec<storage::EdgeRef>) -> Value {
    Value::Path(Box::new(PathValue { nodes, rels }))
}
