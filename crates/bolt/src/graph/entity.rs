//! Nodes, relationships and paths, and the `Packer` helpers that stream them.

use super::{
    check_shape, expect_struct, int_field, invalid, list_field, map_field, str_field, tag,
};
use crate::handshake::Version;
use crate::packstream::{Packer, Structure, Value};
use crate::Error;

/// A node. On 4.x `element_id` is not sent (decoding a 4.x node sets it to the decimal id, as the
/// Python driver does).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: i64,
    pub labels: Vec<String>,
    pub properties: Vec<(String, Value)>,
    pub element_id: String,
}

/// A relationship with its endpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct Relationship {
    pub id: i64,
    pub start_id: i64,
    pub end_id: i64,
    pub rel_type: String,
    pub properties: Vec<(String, Value)>,
    pub element_id: String,
    pub start_element_id: String,
    pub end_element_id: String,
}

/// A relationship without endpoints (only inside a [`Path`]).
#[derive(Debug, Clone, PartialEq)]
pub struct UnboundRelationship {
    pub id: i64,
    pub rel_type: String,
    pub properties: Vec<(String, Value)>,
    pub element_id: String,
}

/// A path: `nodes[0]` is the start; `indices` holds (relationship, node) pairs where the
/// relationship index is 1-based into `rels` (negative = traversed end to start) and the node
/// index is 0-based into `nodes`. Each distinct node and relationship appears once.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub nodes: Vec<Node>,
    pub rels: Vec<UnboundRelationship>,
    pub indices: Vec<i64>,
}

/// The scalar parts of a relationship, for [`Packer::write_relationship_with`].
#[derive(Debug, Clone, Copy)]
pub struct RelationshipHeader<'a> {
    pub id: i64,
    pub start_id: i64,
    pub end_id: i64,
    pub rel_type: &'a str,
    /// Ignored on 4.x, like the two below.
    pub element_id: &'a str,
    pub start_element_id: &'a str,
    pub end_element_id: &'a str,
}

impl Packer<'_> {
    /// Writes a node whose properties the closure streams: it must write exactly
    /// `properties_len` (key string, value) pairs.
    pub fn write_node_with<L, S, F>(
        &mut self,
        version: Version,
        id: i64,
        element_id: &str,
        labels: L,
        properties_len: usize,
        write_properties: F,
    ) where
        L: IntoIterator<Item = S>,
        L::IntoIter: ExactSizeIterator,
        S: AsRef<str>,
        F: FnOnce(&mut Packer<'_>),
    {
        let v5 = version.has_element_ids();
        self.write_struct_header(tag::NODE, if v5 { 4 } else { 3 });
        self.write_int(id);
        let labels = labels.into_iter();
        self.write_list_header(labels.len());
        for label in labels {
            self.write_string(label.as_ref());
        }
        self.write_map_header(properties_len);
        write_properties(self);
        if v5 {
            self.write_string(element_id);
        }
    }

    /// Writes a relationship whose properties the closure streams (exactly `properties_len`
    /// pairs).
    pub fn write_relationship_with<F>(
        &mut self,
        version: Version,
        header: &RelationshipHeader<'_>,
        properties_len: usize,
        write_properties: F,
    ) where
        F: FnOnce(&mut Packer<'_>),
    {
        let v5 = version.has_element_ids();
        self.write_struct_header(tag::RELATIONSHIP, if v5 { 8 } else { 5 });
        self.write_int(header.id);
        self.write_int(header.start_id);
        self.write_int(header.end_id);
        self.write_string(header.rel_type);
        self.write_map_header(properties_len);
        write_properties(self);
        if v5 {
            self.write_string(header.element_id);
            self.write_string(header.start_element_id);
            self.write_string(header.end_element_id);
        }
    }

    /// Writes an unbound relationship (for paths) whose properties the closure streams.
    pub fn write_unbound_relationship_with<F>(
        &mut self,
        version: Version,
        id: i64,
        element_id: &str,
        rel_type: &str,
        properties_len: usize,
        write_properties: F,
    ) where
        F: FnOnce(&mut Packer<'_>),
    {
        let v5 = version.has_element_ids();
        self.write_struct_header(tag::UNBOUND_RELATIONSHIP, if v5 { 4 } else { 3 });
        self.write_int(id);
        self.write_string(rel_type);
        self.write_map_header(properties_len);
        write_properties(self);
        if v5 {
            self.write_string(element_id);
        }
    }

    pub fn write_node(&mut self, node: &Node, version: Version) {
        self.write_node_with(
            version,
            node.id,
            &node.element_id,
            &node.labels,
            node.properties.len(),
            |p| write_properties(p, &node.properties),
        );
    }

    pub fn write_relationship(&mut self, rel: &Relationship, version: Version) {
        let header = RelationshipHeader {
            id: rel.id,
            start_id: rel.start_id,
            end_id: rel.end_id,
            rel_type: &rel.rel_type,
            element_id: &rel.element_id,
            start_element_id: &rel.start_element_id,
            end_element_id: &rel.end_element_id,
        };
        self.write_relationship_with(version, &header, rel.properties.len(), |p| {
            write_properties(p, &rel.properties)
        });
    }

    pub fn write_unbound_relationship(&mut self, rel: &UnboundRelationship, version: Version) {
        self.write_unbound_relationship_with(
            version,
            rel.id,
            &rel.element_id,
            &rel.rel_type,
            rel.properties.len(),
            |p| write_properties(p, &rel.properties),
        );
    }

    pub fn write_path(&mut self, path: &Path, version: Version) {
        self.write_struct_header(tag::PATH, 3);
        self.write_list_header(path.nodes.len());
        for node in &path.nodes {
            self.write_node(node, version);
        }
        self.write_list_header(path.rels.len());
        for rel in &path.rels {
            self.write_unbound_relationship(rel, version);
        }
        self.write_list_header(path.indices.len());
        for index in &path.indices {
            self.write_int(*index);
        }
    }
}

fn write_properties(p: &mut Packer<'_>, properties: &[(String, Value)]) {
    for (key, value) in properties {
        p.write_string(key);
        p.write_value(value);
    }
}

fn strings(s: &Structure, values: &[Value], reason: &'static str) -> Result<Vec<String>, Error> {
    values
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(s, reason))
        })
        .collect()
}

/// Field `i` as a string in the 5.x form, or the decimal id when the 4.x form lacks it.
fn element_id(s: &Structure, i: usize, id: i64, reason: &'static str) -> Result<String, Error> {
    if s.fields.len() > i {
        str_field(s, i, reason).map(str::to_owned)
    } else {
        Ok(id.to_string())
    }
}

impl Node {
    pub fn to_value(&self, version: Version) -> Value {
        let mut fields = vec![
            Value::Int(self.id),
            Value::List(self.labels.iter().map(|l| l.as_str().into()).collect()),
            Value::Map(self.properties.clone()),
        ];
        if version.has_element_ids() {
            fields.push(self.element_id.as_str().into());
        }
        Value::Struct(Structure::new(tag::NODE, fields))
    }

    /// Accepts the 3-field (4.x) and 4-field (5.x) forms.
    pub fn from_structure(s: &Structure) -> Result<Self, Error> {
        check_shape(s, tag::NODE, &[3, 4])?;
        let id = int_field(s, 0, "node id must be an integer")?;
        let labels = list_field(s, 1, "node labels must be a list")?;
        Ok(Node {
            id,
            labels: strings(s, labels, "node labels must be strings")?,
            properties: map_field(s, 2, "node properties must be a map")?,
            element_id: element_id(s, 3, id, "node element_id must be a string")?,
        })
    }

    pub fn from_value(v: &Value) -> Result<Self, Error> {
        Self::from_structure(expect_struct(v)?)
    }
}

impl Relationship {
    pub fn to_value(&self, version: Version) -> Value {
        let mut fields = vec![
            Value::Int(self.id),
            Value::Int(self.start_id),
            Value::Int(self.end_id),
            self.rel_type.as_str().into(),
            Value::Map(self.properties.clone()),
        ];
        if version.has_element_ids() {
            fields.push(self.element_id.as_str().into());
            fields.push(self.start_element_id.as_str().into());
            fields.push(self.end_element_id.as_str().into());
        }
        Value::Struct(Structure::new(tag::RELATIONSHIP, fields))
    }

    /// Accepts the 5-field (4.x) and 8-field (5.x) forms.
    pub fn from_structure(s: &Structure) -> Result<Self, Error> {
        check_shape(s, tag::RELATIONSHIP, &[5, 8])?;
        let id = int_field(s, 0, "relationship id must be an integer")?;
        let start_id = int_field(s, 1, "relationship start id must be an integer")?;
        let end_id = int_field(s, 2, "relationship end id must be an integer")?;
        Ok(Relationship {
            id,
            start_id,
            end_id,
            rel_type: str_field(s, 3, "relationship type must be a string")?.to_owned(),
            properties: map_field(s, 4, "relationship properties must be a map")?,
            element_id: element_id(s, 5, id, "element ids must be strings")?,
            start_element_id: element_id(s, 6, start_id, "element ids must be strings")?,
            end_element_id: element_id(s, 7, end_id, "element ids must be strings")?,
        })
    }

    pub fn from_value(v: &Value) -> Result<Self, Error> {
        Self::from_structure(expect_struct(v)?)
    }
}

impl UnboundRelationship {
    pub fn to_value(&self, version: Version) -> Value {
        let mut fields = vec![
            Value::Int(self.id),
            self.rel_type.as_str().into(),
            Value::Map(self.properties.clone()),
        ];
        if version.has_element_ids() {
            fields.push(self.element_id.as_str().into());
        }
        Value::Struct(Structure::new(tag::UNBOUND_RELATIONSHIP, fields))
    }

    /// Accepts the 3-field (4.x) and 4-field (5.x) forms.
    pub fn from_structure(s: &Structure) -> Result<Self, Error> {
        check_shape(s, tag::UNBOUND_RELATIONSHIP, &[3, 4])?;
        let id = int_field(s, 0, "relationship id must be an integer")?;
        Ok(UnboundRelationship {
            id,
            rel_type: str_field(s, 1, "relationship type must be a string")?.to_owned(),
            properties: map_field(s, 2, "relationship properties must be a map")?,
            element_id: element_id(s, 3, id, "element ids must be strings")?,
        })
    }

    pub fn from_value(v: &Value) -> Result<Self, Error> {
        Self::from_structure(expect_struct(v)?)
    }
}

impl Path {
    pub fn to_value(&self, version: Version) -> Value {
        Value::Struct(Structure::new(
            tag::PATH,
            vec![
                Value::List(self.nodes.iter().map(|n| n.to_value(version)).collect()),
                Value::List(self.rels.iter().map(|r| r.to_value(version)).collect()),
                Value::List(self.indices.iter().map(|i| Value::Int(*i)).collect()),
            ],
        ))
    }

    /// Checks the element types and that `indices` come in pairs pointing inside the lists.
    pub fn from_structure(s: &Structure) -> Result<Self, Error> {
        check_shape(s, tag::PATH, &[3])?;
        let nodes = list_field(s, 0, "path nodes must be a list")?
            .iter()
            .map(Node::from_value)
            .collect::<Result<Vec<_>, _>>()?;
        let rels = list_field(s, 1, "path relationships must be a list")?
            .iter()
            .map(UnboundRelationship::from_value)
            .collect::<Result<Vec<_>, _>>()?;
        let indices = list_field(s, 2, "path indices must be a list")?
            .iter()
            .map(|v| {
                v.as_int()
                    .ok_or_else(|| invalid(s, "path indices must be integers"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if indices.len() % 2 != 0 {
            return Err(invalid(s, "path indices must come in pairs"));
        }
        let rel_count = i64::try_from(rels.len()).unwrap_or(i64::MAX);
        let node_count = i64::try_from(nodes.len()).unwrap_or(i64::MAX);
        for pair in indices.chunks_exact(2) {
            let (rel, node) = (pair[0], pair[1]);
            if rel == 0 || rel.unsigned_abs() > rel_count.unsigned_abs() {
                return Err(invalid(s, "path relationship index out of range"));
            }
            if node < 0 || node >= node_count {
                return Err(invalid(s, "path node index out of range"));
            }
        }
        Ok(Path {
            nodes,
            rels,
            indices,
        })
    }

    pub fn from_value(v: &Value) -> Result<Self, Error> {
        Self::from_structure(expect_struct(v)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packstream::to_bytes;

    fn ann() -> Node {
        Node {
            id: 1,
            labels: vec!["Person".into()],
            properties: vec![("name".into(), "Ann".into())],
            element_id: "1".into(),
        }
    }

    /// bolt.md §4: Node(id 1, ["Person"], {name:"Ann"}, element_id "1").
    #[test]
    fn node_golden_bytes_per_version() {
        let v5 = [
            0xB4, 0x4E, 0x01, 0x91, 0x86, b'P', b'e', b'r', b's', b'o', b'n', 0xA1, 0x84, b'n',
            b'a', b'm', b'e', 0x83, b'A', b'n', b'n', 0x81, b'1',
        ];
        assert_eq!(to_bytes(&ann().to_value(Version::V5_0)), v5);
        let mut v4 = v5[..v5.len() - 2].to_vec();
        v4[0] = 0xB3;
        assert_eq!(to_bytes(&ann().to_value(Version::V4_4)), v4);

        let mut streamed = Vec::new();
        Packer::new(&mut streamed).write_node(&ann(), Version::V5_8);
        assert_eq!(streamed, v5);
        assert_eq!(Node::from_value(&ann().to_value(Version::V4_1)), Ok(ann()));
    }

    #[test]
    fn relationship_forms() {
        let rel = Relationship {
            id: 7,
            start_id: 1,
            end_id: 2,
            rel_type: "KNOWS".into(),
            properties: vec![("since".into(), 1.into())],
            element_id: "7".into(),
            start_element_id: "1".into(),
            end_element_id: "2".into(),
        };
        let v4 = to_bytes(&rel.to_value(Version::V4_4));
        assert_eq!(&v4[..2], [0xB5, 0x52]);
        let v5 = to_bytes(&rel.to_value(Version::V5_2));
        assert_eq!(&v5[..2], [0xB8, 0x52]);
        let mut streamed = Vec::new();
        Packer::new(&mut streamed).write_relationship(&rel, Version::V5_2);
        assert_eq!(streamed, v5);
        for version in [Version::V4_4, Version::V5_2] {
            assert_eq!(
                Relationship::from_value(&rel.to_value(version)),
                Ok(rel.clone())
            );
        }
    }

    #[test]
    fn path_forms_and_validation() {
        let b = Node {
            id: 2,
            labels: vec!["Person".into(), "Admin".into()],
            properties: vec![],
            element_id: "2".into(),
        };
        let knows = UnboundRelationship {
            id: 7,
            rel_type: "KNOWS".into(),
            properties: vec![],
            element_id: "7".into(),
        };
        let path = Path {
            nodes: vec![b, ann()],
            rels: vec![knows],
            indices: vec![-1, 1],
        };
        for (version, node_marker, rel_marker) in
            [(Version::V4_4, 0xB3, 0xB3), (Version::V5_0, 0xB4, 0xB4)]
        {
            let value = path.to_value(version);
            let bytes = to_bytes(&value);
            assert_eq!(&bytes[..3], [0xB3, 0x50, 0x92]);
            assert_eq!(bytes[3], node_marker);
            let rel_at = bytes.windows(2).position(|w| w == [rel_marker, 0x72]);
            assert!(rel_at.is_some(), "{version}");
            let mut streamed = Vec::new();
            Packer::new(&mut streamed).write_path(&path, version);
            assert_eq!(streamed, bytes);
            assert_eq!(Path::from_value(&value), Ok(path.clone()));
        }
        let mut bad = path.clone();
        bad.indices = vec![2, 1];
        assert!(Path::from_value(&bad.to_value(Version::V5_0)).is_err());
        bad.indices = vec![1];
        assert!(Path::from_value(&bad.to_value(Version::V5_0)).is_err());
        bad.indices = vec![1, 5];
        assert!(Path::from_value(&bad.to_value(Version::V5_0)).is_err());
    }

    #[test]
    fn malformed_entities_are_errors() {
        let s = Structure::new(
            tag::NODE,
            vec![Value::Int(1), Value::Int(2), Value::Map(vec![])],
        );
        assert!(Node::from_structure(&s).is_err());
        let s = Structure::new(tag::NODE, vec![Value::Int(1)]);
        assert!(Node::from_structure(&s).is_err());
        let s = Structure::new(tag::RELATIONSHIP, vec![Value::Null; 5]);
        assert!(Relationship::from_structure(&s).is_err());
        assert!(Node::from_value(&Value::Null).is_err());
    }
}
