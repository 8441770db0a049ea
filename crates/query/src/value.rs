//! The runtime value of the executor.
//!
//! Graph elements are carried by reference (`Node(gid)`, `Relationship(EdgeRef)`): their labels and
//! properties are read from the transaction only when needed (a predicate, a property access, or
//! the Bolt encoder at the very end), so a pipeline never copies a node's properties around.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use storage::{EdgeRef, Gid, PropertyValue, Temporal};

/// A path: `nodes.len() == rels.len() + 1`; `rels[i]` joins `nodes[i]` and `nodes[i + 1]`
/// (in either direction, which the Bolt encoder works out from the edge's endpoints).
#[derive(Clone, Debug, PartialEq)]
pub struct PathValue {
    pub nodes: Vec<Gid>,
    pub rels: Vec<EdgeRef>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Node(Gid),
    Relationship(EdgeRef),
    Path(Box<PathValue>),
    /// A date, time, date-time or duration (see [`crate::temporal`]).
    Temporal(Temporal),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The Cypher type name, used in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Bool(_) => "BOOLEAN",
            Value::Int(_) => "INTEGER",
            Value::Float(_) => "FLOAT",
            Value::String(_) => "STRING",
            Value::Bytes(_) => "BYTES",
            Value::List(_) => "LIST",
            Value::Map(_) => "MAP",
            Value::Node(_) => "NODE",
            Value::Relationship(_) => "RELATIONSHIP",
            Value::Path(_) => "PATH",
            Value::Temporal(t) => crate::temporal::Kind::of(t).type_name(),
        }
    }

    /// Converts to a storable property value; graph elements and bytes cannot be stored.
    pub fn to_property(&self) -> Option<PropertyValue> {
        Some(match self {
            Value::Null => PropertyValue::Null,
            Value::Bool(b) => PropertyValue::Bool(*b),
            Value::Int(i) => PropertyValue::Int(*i),
            Value::Float(f) => PropertyValue::Float(*f),
            Value::String(s) => PropertyValue::String(s.clone()),
            Value::List(items) => PropertyValue::List(
                items
                    .iter()
                    .map(|v| v.to_property())
                    .collect::<Option<Vec<_>>>()?,
            ),
            Value::Map(m) => PropertyValue::Map(
                m.iter()
                    .map(|(k, v)| Some((k.clone(), v.to_property()?)))
                    .collect::<Option<BTreeMap<_, _>>>()?,
            ),
            Value::Temporal(t) => PropertyValue::Temporal(*t),
            Value::Bytes(_) | Value::Node(_) | Value::Relationship(_) | Value::Path(_) => {
                return None
            }
        })
    }

    /// Cypher equality with three-valued logic: `None` means null (unknown).
    pub fn cypher_eq(&self, other: &Value) -> Option<bool> {
        use Value::*;
        match (self, other) {
            (Null, _) | (_, Null) => None,
            (Int(a), Float(b)) | (Float(b), Int(a)) => Some((*a as f64) == *b),
            (Float(a), Float(b)) => Some(a == b),
            (List(a), List(b)) => {
                if a.len() != b.len() {
                    return Some(false);
                }
                let mut unknown = false;
                for (x, y) in a.iter().zip(b) {
                    match x.cypher_eq(y) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                if unknown {
                    None
                } else {
                    Some(true)
                }
            }
            (Map(a), Map(b)) => {
                if a.len() != b.len() || a.keys().ne(b.keys()) {
                    return Some(false);
                }
                let mut unknown = false;
                for (x, y) in a.values().zip(b.values()) {
                    match x.cypher_eq(y) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                if unknown {
                    None
                } else {
                    Some(true)
                }
            }
            (a, b) if std::mem::discriminant(a) == std::mem::discriminant(b) => Some(a == b),
            _ => Some(false),
        }
    }

    /// Cypher ordering comparison (`<`, `>` ...): `None` when the values are not comparable
    /// (different types, or null), which makes the comparison null.
    pub fn cypher_cmp(&self, other: &Value) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Int(a), Float(b)) => (*a as f64).partial_cmp(b),
            (Float(a), Int(b)) => a.partial_cmp(&(*b as f64)),
            (Float(a), Float(b)) => a.partial_cmp(b),
            (String(a), String(b)) => Some(a.cmp(b)),
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (Temporal(a), Temporal(b)) => crate::temporal::compare(a, b),
            (List(a), List(b)) => {
                for (x, y) in a.iter().zip(b) {
                    match x.cypher_cmp(y)? {
                        Ordering::Equal => {}
                        o => return Some(o),
                    }
                }
                Some(a.len().cmp(&b.len()))
            }
            _ => None,
        }
    }

    /// The total order used by ORDER BY (openCypher "orderability"): maps < nodes < relationships
    /// < lists < paths < strings < booleans < numbers, and null sorts last.
    pub fn order_cmp(&self, other: &Value) -> Ordering {
        fn rank(v: &Value) -> u8 {
            match v {
                Value::Map(_) => 0,
                Value::Node(_) => 1,
                Value::Relationship(_) => 2,
                Value::List(_) => 3,
                Value::Path(_) => 4,
                Value::Temporal(_) => 5,
                Value::Bytes(_) => 6,
                Value::String(_) => 7,
                Value::Bool(_) => 8,
                Value::Int(_) | Value::Float(_) => 9,
                Value::Null => 10,
            }
        }
        use Value::*;
        let (ra, rb) = (rank(self), rank(other));
        if ra != rb {
            return ra.cmp(&rb);
        }
        match (self, other) {
            (Int(a), Int(b)) => a.cmp(b),
            (Int(_), Float(_)) | (Float(_), Int(_)) | (Float(_), Float(_)) => {
                let a = self.as_f64().unwrap_or(f64::NAN);
                let b = other.as_f64().unwrap_or(f64::NAN);
                // NaN sorts after every other number.
                match (a.is_nan(), b.is_nan()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
                }
            }
            (String(a), String(b)) => a.cmp(b),
            (Bool(a), Bool(b)) => a.cmp(b),
            (Bytes(a), Bytes(b)) => a.cmp(b),
            (Temporal(a), Temporal(b)) => crate::temporal::order(a, b),
            (Node(a), Node(b)) => a.cmp(b),
            (Relationship(a), Relationship(b)) => a.gid.cmp(&b.gid),
            (List(a), List(b)) => {
                for (x, y) in a.iter().zip(b) {
                    match x.order_cmp(y) {
                        Ordering::Equal => {}
                        o => return o,
                    }
                }
                a.len().cmp(&b.len())
            }
            (Path(a), Path(b)) => a.nodes.cmp(&b.nodes).then_with(|| {
                a.rels
                    .iter()
                    .map(|r| r.gid)
                    .cmp(b.rels.iter().map(|r| r.gid))
            }),
            (Map(a), Map(b)) => {
                for ((ka, va), (kb, vb)) in a.iter().zip(b) {
                    match ka.cmp(kb).then_with(|| va.order_cmp(vb)) {
                        Ordering::Equal => {}
                        o => return o,
                    }
                }
                a.len().cmp(&b.len())
            }
            _ => Ordering::Equal,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }
}

impl From<&PropertyValue> for Value {
    fn from(p: &PropertyValue) -> Self {
        match p {
            PropertyValue::Null => Value::Null,
            PropertyValue::Bool(b) => Value::Bool(*b),
            PropertyValue::Int(i) => Value::Int(*i),
            PropertyValue::Float(f) => Value::Float(*f),
            PropertyValue::String(s) => Value::String(s.clone()),
            PropertyValue::List(items) => Value::List(items.iter().map(Value::from).collect()),
            PropertyValue::Map(m) => {
                Value::Map(m.iter().map(|(k, v)| (k.clone(), Value::from(v))).collect())
            }
            PropertyValue::Temporal(t) => Value::Temporal(*t),
        }
    }
}

impl From<PropertyValue> for Value {
    fn from(p: PropertyValue) -> Self {
        match p {
            PropertyValue::String(s) => Value::String(s),
            other => Value::from(&other),
        }
    }
}

/// Hashable key for DISTINCT and grouping: equal keys iff the values are equivalent in the sense
/// of openCypher grouping (null groups with null, 1 and 1.0 group together).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupKey {
    Null,
    Bool(bool),
    Int(i64),
    /// Floats that are not whole numbers, by bit pattern (NaN is one group).
    Float(u64),
    String(String),
    Bytes(Vec<u8>),
    List(Vec<GroupKey>),
    Map(Vec<(String, GroupKey)>),
    Node(Gid),
    Relationship(Gid),
    Path(Vec<Gid>, Vec<Gid>),
    Temporal(Temporal),
}

/// The integer a float groups with (`1.0` with `1`), if it is a whole number of moderate size.
#[inline]
pub(crate) fn whole_float_key(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && f.is_finite() && f.abs() < 9.0e15).then_some(f as i64)
}

/// The integer of `GroupKey::from(v)` when that is `GroupKey::Int`, without building the key.
#[inline]
pub(crate) fn int_group_key(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Float(f) => whole_float_key(*f),
        _ => None,
    }
}

impl From<&Value> for GroupKey {
    fn from(v: &Value) -> Self {
        match v {
            Value::Null => GroupKey::Null,
            Value::Bool(b) => GroupKey::Bool(*b),
            Value::Int(i) => GroupKey::Int(*i),
            Value::Float(f) => {
                if let Some(i) = whole_float_key(*f) {
                    GroupKey::Int(i)
                } else if f.is_nan() {
                    GroupKey::Float(f64::NAN.to_bits())
                } else {
                    GroupKey::Float(f.to_bits())
                }
            }
            Value::String(s) => GroupKey::String(s.clone()),
            Value::Bytes(b) => GroupKey::Bytes(b.clone()),
            Value::List(items) => GroupKey::List(items.iter().map(GroupKey::from).collect()),
            Value::Map(m) => GroupKey::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), GroupKey::from(v)))
                    .collect(),
            ),
            Value::Node(g) => GroupKey::Node(*g),
            Value::Relationship(r) => GroupKey::Relationship(r.gid),
            Value::Path(p) => {
                GroupKey::Path(p.nodes.clone(), p.rels.iter().map(|r| r.gid).collect())
            }
            Value::Temporal(t) => GroupKey::Temporal(*t),
        }
    }
}

impl fmt::Display for Value {
    /// A debugging/`toString`-style rendering (not Bolt).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{}", format_float(*x)),
            Value::String(s) => write!(f, "{s}"),
            Value::Bytes(b) => write!(f, "<{} bytes>", b.len()),
            Value::List(items) => {
                write!(f, "[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Value::Map(m) => {
                write!(f, "{{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                write!(f, "}}")
            }
            Value::Node(g) => write!(f, "({g})"),
            Value::Relationship(r) => write!(f, "[{}]", r.gid),
            Value::Path(p) => write!(f, "<path of {} relationships>", p.rels.len()),
            Value::Temporal(t) => write!(f, "{}", crate::temporal::format::format(t)),
        }
    }
}

/// Formats a float as Cypher's `toString` does: always with a fractional part or exponent.
pub fn format_float(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}
