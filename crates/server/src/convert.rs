//! Conversions at the Bolt boundary: PackStream parameters -> query values, and query values ->
//! PackStream (nodes and relationships are read from the transaction while they are encoded, so
//! nothing is copied into an intermediate tree).

use std::collections::{BTreeMap, HashMap};

use bolt::graph::RelationshipHeader;
use bolt::packstream::{Packer, Value as BoltValue};
use bolt::Version;
use query::{PathValue, QueryError, Value};
use storage::{EdgeRef, Gid, PropertyValue, StorageError, Transaction};

/// Converts RUN parameters. Temporal structures are supported; spatial ones not yet.
pub fn params_from_bolt(
    params: Vec<(String, BoltValue)>,
) -> Result<HashMap<String, Value>, QueryError> {
    params
        .into_iter()
        .map(|(k, v)| Ok((k, value_from_bolt(v)?)))
        .collect()
}

fn value_from_bolt(v: BoltValue) -> Result<Value, QueryError> {
    Ok(match v {
        BoltValue::Null => Value::Null,
        BoltValue::Bool(b) => Value::Bool(b),
        BoltValue::Int(i) => Value::Int(i),
        BoltValue::Float(f) => Value::Float(f),
        BoltValue::Bytes(b) => Value::Bytes(b),
        BoltValue::String(s) => Value::String(s),
        BoltValue::List(items) => Value::List(
            items
                .into_iter()
                .map(value_from_bolt)
                .collect::<Result<_, _>>()?,
        ),
        BoltValue::Map(entries) => {
            let mut m = BTreeMap::new();
            for (k, v) in entries {
                m.insert(k, value_from_bolt(v)?);
            }
            Value::Map(m)
        }
        BoltValue::Struct(s) => {
            if let Some(t) = crate::convert_temporal::from_bolt(&s)? {
                return Ok(Value::Temporal(t));
            }
            return Err(QueryError::Type(format!(
                "Parameters of structure type 0x{:02X} (spatial values) are not supported yet.",
                s.tag
            )));
        }
    })
}

pub fn write_property(p: &mut Packer<'_>, v: &PropertyValue, version: Version) {
    match v {
        PropertyValue::Null => p.write_null(),
        PropertyValue::Bool(b) => p.write_bool(*b),
        PropertyValue::Int(i) => p.write_int(*i),
        PropertyValue::Float(f) => p.write_float(*f),
        PropertyValue::String(s) => p.write_string(s),
        PropertyValue::List(items) => {
            p.write_list_header(items.len());
            for i in items {
                write_property(p, i, version);
            }
        }
        PropertyValue::Map(m) => {
            p.write_map_header(m.len());
            for (k, v) in m {
                p.write_string(k);
                write_property(p, v, version);
            }
        }
        PropertyValue::Temporal(t) => p.write_value(&crate::convert_temporal::to_bolt(t, version)),
    }
}

/// Encodes one result value for the negotiated Bolt version. Graph elements are read from
/// `tx`; rows produced without a transaction hold none.
pub fn write_value(
    p: &mut Packer<'_>,
    v: &Value,
    tx: Option<&Transaction>,
    version: Version,
) -> Result<(), QueryError> {
    match v {
        Value::Null => p.write_null(),
        Value::Bool(b) => p.write_bool(*b),
        Value::Int(i) => p.write_int(*i),
        Value::Float(f) => p.write_float(*f),
        Value::String(s) => p.write_string(s),
        Value::Bytes(b) => p.write_bytes(b),
        Value::List(items) => {
            p.write_list_header(items.len());
            for i in items {
                write_value(p, i, tx, version)?;
            }
        }
        Value::Map(m) => {
            p.write_map_header(m.len());
            for (k, v) in m {
                p.write_string(k);
                write_value(p, v, tx, version)?;
            }
        }
        Value::Node(g) => write_node(p, *g, need_tx(tx)?, version)?,
        Value::Relationship(r) => write_relationship(p, r, need_tx(tx)?, version)?,
        Value::Path(path) => write_path(p, path, need_tx(tx)?, version)?,
        Value::Temporal(t) => p.write_value(&crate::convert_temporal::to_bolt(t, version)),
    }
    Ok(())
}

fn need_tx(tx: Option<&Transaction>) -> Result<&Transaction, QueryError> {
    tx.ok_or_else(|| QueryError::Transaction("A graph element outlived its transaction.".into()))
}

fn write_props(
    p: &mut Packer<'_>,
    props: &[(storage::PropertyId, PropertyValue)],
    tx: &Transaction,
    version: Version,
) {
    let storage = tx.storage();
    for (k, v) in props {
        p.write_string(&storage.property_name(*k));
        write_property(p, v, version);
    }
}

fn write_node(
    p: &mut Packer<'_>,
    g: Gid,
    tx: &Transaction,
    version: Version,
) -> Result<(), StorageError> {
    let storage = tx.storage();
    let labels: Vec<_> = tx
        .vertex_labels(g)?
        .into_iter()
        .map(|l| storage.label_name(l))
        .collect();
    let props = tx.vertex_properties(g)?;
    let element_id = g.to_string();
    p.write_node_with(
        version,
        g as i64,
        &element_id,
        labels.iter().map(|l| &**l),
        props.len(),
        |p| write_props(p, &props, tx, version),
    );
    Ok(())
}

fn write_relationship(
    p: &mut Packer<'_>,
    r: &EdgeRef,
    tx: &Transaction,
    version: Version,
) -> Result<(), StorageError> {
    let props = tx.edge_properties(r.gid)?;
    let ty = tx.storage().edge_type_name(r.ty);
    let (id, from, to) = (r.gid.to_string(), r.from.to_string(), r.to.to_string());
    let header = RelationshipHeader {
        id: r.gid as i64,
        start_id: r.from as i64,
        end_id: r.to as i64,
        rel_type: &ty,
        element_id: &id,
        start_element_id: &from,
        end_element_id: &to,
    };
    p.write_relationship_with(version, &header, props.len(), |p| {
        write_props(p, &props, tx, version)
    });
    Ok(())
}

/// Bolt paths list each distinct node and relationship once, plus an index sequence: for every
/// hop, the 1-based relationship index (negative when traversed against its direction) and the
/// 0-based index of the node reached.
fn write_path(
    p: &mut Packer<'_>,
    path: &PathValue,
    tx: &Transaction,
    version: Version,
) -> Result<(), StorageError> {
    let mut nodes: Vec<Gid> = Vec::new();
    let mut rels: Vec<EdgeRef> = Vec::new();
    let node_index = |nodes: &mut Vec<Gid>, g: Gid| match nodes.iter().position(|n| *n == g) {
        Some(i) => i,
        None => {
            nodes.push(g);
            nodes.len() - 1
        }
    };
    if let Some(first) = path.nodes.first() {
        node_index(&mut nodes, *first);
    }
    let mut indices = Vec::with_capacity(path.rels.len() * 2);
    for (i, r) in path.rels.iter().enumerate() {
        let ri = match rels.iter().position(|x| x.gid == r.gid) {
            Some(i) => i,
            None => {
                rels.push(*r);
                rels.len() - 1
            }
        } as i64
            + 1;
        let here = path.nodes.get(i).copied().unwrap_or(r.from);
        indices.push(if r.from == here { ri } else { -ri });
        let next = path.nodes.get(i + 1).copied().unwrap_or(r.to);
        indices.push(node_index(&mut nodes, next) as i64);
    }
    p.write_struct_header(bolt::graph::tag::PATH, 3);
    p.write_list_header(nodes.len());
    for g in &nodes {
        write_node(p, *g, tx, version)?;
    }
    p.write_list_header(rels.len());
    let storage = tx.storage();
    for r in &rels {
        let props = tx.edge_properties(r.gid)?;
        let ty = storage.edge_type_name(r.ty);
        p.write_unbound_relationship_with(
            version,
            r.gid as i64,
            &r.gid.to_string(),
            &ty,
            props.len(),
            |p| write_props(p, &props, tx, version),
        );
    }
    p.write_list_header(indices.len());
    for i in indices {
        p.write_int(i);
    }
    Ok(())
}
