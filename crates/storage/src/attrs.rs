//! [`Attrs`]: the labels and properties of one vertex (or the properties of one edge), encoded
//! into a single exactly-sized byte buffer.
//!
//! A `PropertyValue` is 40 bytes and a `(key, value)` pair 48, so three small properties in a
//! slice of pairs took 160 bytes plus a heap string, and a label `Vec` another 40. Encoded, the
//! bench's `:Person {id, name, age}` takes about 20 bytes in one allocation. Reads decode on
//! demand: objects have few properties, and a read clones the value it returns anyway.
//!
//! Layout (an empty buffer means no labels and no properties):
//!
//! ```text
//! label count (varint), label ids ascending (varints),
//! then per property, ascending by key id:
//!   key id * 8 + tag (varint), payload by tag:
//!     FALSE, TRUE:  nothing
//!     INT:          zigzag varint
//!     FLOAT:        8 bytes, little-endian bits
//!     STRING:       byte length (varint), UTF-8 bytes
//!     OTHER:        byte length (varint), the value's bincode encoding (lists, maps, temporals)
//! ```
//!
//! Every change re-encodes the buffer (a copy of a few dozen bytes), so a property write costs an
//! allocation, which the old slice of pairs also paid for new keys.

use crate::value::{decode_value_bytes, encode_value_bytes};
use crate::{LabelId, PropertyId, PropertyValue};

const FALSE: u64 = 0;
const TRUE: u64 = 1;
const INT: u64 = 2;
const FLOAT: u64 = 3;
const STRING: u64 = 4;
const OTHER: u64 = 5;

/// Labels and properties, encoded (see the module doc). Never holds a `Null` property.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attrs(Box<[u8]>);

/// A property value as stored, borrowed from the buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ValueRef<'a> {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    /// The bincode encoding of a list, map or temporal value.
    Other(&'a [u8]),
}

impl ValueRef<'_> {
    pub(crate) fn to_value(self) -> PropertyValue {
        match self {
            ValueRef::Bool(b) => PropertyValue::Bool(b),
            ValueRef::Int(i) => PropertyValue::Int(i),
            ValueRef::Float(f) => PropertyValue::Float(f),
            ValueRef::Str(s) => PropertyValue::String(s.to_owned()),
            ValueRef::Other(bytes) => decode_value_bytes(bytes),
        }
    }

    /// Whether this is exactly `value` (what `PropertyValue`'s `==` says).
    fn equals(self, value: &PropertyValue) -> bool {
        match (self, value) {
            (ValueRef::Bool(a), PropertyValue::Bool(b)) => a == *b,
            (ValueRef::Int(a), PropertyValue::Int(b)) => a == *b,
            (ValueRef::Float(a), PropertyValue::Float(b)) => a == *b,
            (ValueRef::Str(a), PropertyValue::String(b)) => a == b,
            (ValueRef::Other(_), _) => self.to_value() == *value,
            _ => false,
        }
    }
}

/// Reads varints and values from a buffer this module wrote (so malformed input is a bug).
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    #[inline(always)]
    fn varint(&mut self) -> u64 {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let byte = self.bytes[self.pos];
            self.pos += 1;
            value |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return value;
            }
            shift += 7;
        }
    }

    fn take(&mut self, len: usize) -> &'a [u8] {
        let bytes = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        bytes
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// Skips the label header; returns the label count.
    fn skip_labels(&mut self) -> usize {
        if self.at_end() {
            return 0;
        }
        let count = self.varint() as usize;
        for _ in 0..count {
            self.varint();
        }
        count
    }

    /// The next property.
    fn property(&mut self) -> (PropertyId, ValueRef<'a>) {
        let head = self.varint();
        let key = PropertyId(u32::try_from(head >> 3).expect("encoded key id"));
        (key, self.value(head & 7))
    }

    /// The payload of a property whose head had tag `tag`.
    #[inline(always)]
    fn value(&mut self, tag: u64) -> ValueRef<'a> {
        match tag {
            FALSE => ValueRef::Bool(false),
            TRUE => ValueRef::Bool(true),
            INT => {
                let z = self.varint();
                ValueRef::Int(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            FLOAT => {
                let bits = self.take(8).try_into().expect("8 bytes");
                ValueRef::Float(f64::from_le_bytes(bits))
            }
            STRING => {
                let len = self.varint() as usize;
                ValueRef::Str(std::str::from_utf8(self.take(len)).expect("encoded from a str"))
            }
            OTHER => {
                let len = self.varint() as usize;
                ValueRef::Other(self.take(len))
            }
            tag => unreachable!("property tag {tag}"),
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends the encoding of one (non-null) property.
fn put_property(out: &mut Vec<u8>, key: PropertyId, value: &PropertyValue) {
    let head = |tag: u64| (u64::from(key.0) << 3) | tag;
    match value {
        PropertyValue::Null => unreachable!("a stored property is never null"),
        PropertyValue::Bool(false) => put_varint(out, head(FALSE)),
        PropertyValue::Bool(true) => put_varint(out, head(TRUE)),
        PropertyValue::Int(i) => {
            put_varint(out, head(INT));
            put_varint(out, ((i << 1) ^ (i >> 63)) as u64);
        }
        PropertyValue::Float(f) => {
            put_varint(out, head(FLOAT));
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        PropertyValue::String(s) => {
            put_varint(out, head(STRING));
            put_varint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        other => {
            let bytes = encode_value_bytes(other);
            put_varint(out, head(OTHER));
            put_varint(out, bytes.len() as u64);
            out.extend_from_slice(&bytes);
        }
    }
}

impl Attrs {
    /// The label ids, ascending.
    pub(crate) fn labels(&self) -> impl Iterator<Item = LabelId> + '_ {
        let mut reader = Reader {
            bytes: &self.0,
            pos: 0,
        };
        let count = if reader.at_end() { 0 } else { reader.varint() };
        (0..count).map(move |_| LabelId(reader.varint() as u32))
    }

    pub(crate) fn label_vec(&self) -> Vec<LabelId> {
        self.labels().collect()
    }

    pub(crate) fn has_label(&self, label: LabelId) -> bool {
        self.labels()
            .take_while(|l| *l <= label)
            .any(|l| l == label)
    }

    /// Adds `label`; `false` if it was there.
    pub(crate) fn add_label(&mut self, label: LabelId) -> bool {
        let mut labels = self.label_vec();
        match labels.binary_search(&label) {
            Ok(_) => false,
            Err(index) => {
                labels.insert(index, label);
                self.rebuild_labels(&labels);
                true
            }
        }
    }

    /// Removes `label`; `false` if it was not there.
    pub(crate) fn remove_label(&mut self, label: LabelId) -> bool {
        let mut labels = self.label_vec();
        match labels.binary_search(&label) {
            Ok(index) => {
                labels.remove(index);
                self.rebuild_labels(&labels);
                true
            }
            Err(_) => false,
        }
    }

    fn rebuild_labels(&mut self, labels: &[LabelId]) {
        let props = &self.0[self.props_start()..];
        let mut out = Vec::new();
        if !labels.is_empty() || !props.is_empty() {
            let ids = labels.iter().map(|l| varint_len(u64::from(l.0)));
            out.reserve_exact(varint_len(labels.len() as u64) + ids.sum::<usize>() + props.len());
            put_varint(&mut out, labels.len() as u64);
            for label in labels {
                put_varint(&mut out, u64::from(label.0));
            }
            out.extend_from_slice(props);
        }
        self.0 = out.into_boxed_slice();
    }

    fn props_start(&self) -> usize {
        let mut reader = Reader {
            bytes: &self.0,
            pos: 0,
        };
        reader.skip_labels();
        reader.pos
    }

    /// The properties, ascending by key id.
    pub(crate) fn props(&self) -> impl Iterator<Item = (PropertyId, ValueRef<'_>)> + '_ {
        let mut reader = Reader {
            bytes: &self.0,
            pos: self.props_start(),
        };
        std::iter::from_fn(move || (!reader.at_end()).then(|| reader.property()))
    }

    /// The value of `key`, borrowed from the buffer.
    pub(crate) fn get_ref(&self, key: PropertyId) -> Option<ValueRef<'_>> {
        self.get_ref_from(self.props_start(), key)
    }

    /// Where the properties start if the vertex has `label` (any labels: `None`), else `None`:
    /// the label check and the start of property reads in one pass over the label header.
    #[inline]
    pub(crate) fn props_start_if_label(&self, label: Option<LabelId>) -> Option<usize> {
        let mut reader = Reader {
            bytes: &self.0,
            pos: 0,
        };
        if reader.at_end() {
            return label.is_none().then_some(0);
        }
        let count = reader.varint();
        let mut found = label.is_none();
        for _ in 0..count {
            let l = reader.varint();
            found |= label.is_some_and(|label| u64::from(label.0) == l);
        }
        found.then_some(reader.pos)
    }

    /// The value of `key`, reading the properties from `start` (what
    /// [`Attrs::props_start_if_label`] returned). Entries before it are skipped without being
    /// decoded.
    #[inline]
    pub(crate) fn get_ref_from(&self, start: usize, key: PropertyId) -> Option<ValueRef<'_>> {
        let mut reader = Reader {
            bytes: &self.0,
            pos: start,
        };
        let want = u64::from(key.0);
        while !reader.at_end() {
            let head = reader.varint();
            let k = head >> 3;
            if k == want {
                return Some(reader.value(head & 7));
            }
            if k > want {
                return None;
            }
            match head & 7 {
                FALSE | TRUE => {}
                INT => {
                    reader.varint();
                }
                FLOAT => reader.pos += 8,
                _ => {
                    let len = reader.varint() as usize;
                    reader.pos += len;
                }
            }
        }
        None
    }

    /// The value of `key`, if set.
    pub(crate) fn get(&self, key: PropertyId) -> Option<PropertyValue> {
        self.get_ref(key).map(ValueRef::to_value)
    }

    /// Whether `key` holds exactly `value` (`Null`: whether it is unset).
    pub(crate) fn holds(&self, key: PropertyId, value: &PropertyValue) -> bool {
        match self.get_ref(key) {
            Some(stored) => stored.equals(value),
            None => value.is_null(),
        }
    }

    /// All properties, ascending by key id.
    pub(crate) fn pairs(&self) -> Vec<(PropertyId, PropertyValue)> {
        self.props().map(|(k, v)| (k, v.to_value())).collect()
    }

    #[cfg(test)]
    fn has_props(&self) -> bool {
        self.props_start() < self.0.len()
    }

    /// Sets `key` to `value` (`Null` removes it) and returns the previous value (`Null` if none).
    pub(crate) fn set(&mut self, key: PropertyId, value: PropertyValue) -> PropertyValue {
        // The byte span of `key`'s entry, or the empty span where it would go.
        let start_of_props = self.props_start();
        let mut reader = Reader {
            bytes: &self.0,
            pos: start_of_props,
        };
        let (mut start, mut end, mut old) = (self.0.len(), self.0.len(), PropertyValue::Null);
        while !reader.at_end() {
            let before = reader.pos;
            let (k, v) = reader.property();
            if k >= key {
                start = before;
                end = before;
                if k == key {
                    end = reader.pos;
                    old = v.to_value();
                }
                break;
            }
        }
        if value.is_null() && old.is_null() {
            return old;
        }
        let mut entry = Vec::new();
        if !value.is_null() {
            put_property(&mut entry, key, &value);
        }
        let header = usize::from(start_of_props == 0);
        let mut out = Vec::with_capacity(header + self.0.len() - (end - start) + entry.len());
        if header == 1 {
            out.push(0); // no labels
        }
        out.extend_from_slice(&self.0[..start]);
        out.extend_from_slice(&entry);
        out.extend_from_slice(&self.0[end..]);
        if out == [0] {
            out.clear(); // no labels, no properties: no allocation at all
        }
        self.0 = out.into_boxed_slice();
        old
    }

    /// The encoding of `labels` (strictly ascending) and `props` (strictly ascending by key,
    /// none `Null`) in one allocation (bulk loads: no re-encoding per property).
    pub(crate) fn from_parts<'v>(
        labels: &[LabelId],
        props: impl Iterator<Item = (PropertyId, &'v PropertyValue)> + Clone,
    ) -> Attrs {
        debug_assert!(labels.windows(2).all(|w| w[0] < w[1]));
        let mut out = Vec::new();
        if labels.is_empty() && props.clone().next().is_none() {
            return Attrs::default();
        }
        put_varint(&mut out, labels.len() as u64);
        for label in labels {
            put_varint(&mut out, u64::from(label.0));
        }
        for (key, value) in props {
            put_property(&mut out, key, value);
        }
        Attrs(out.into_boxed_slice())
    }

    /// Drops every label and property.
    pub(crate) fn clear(&mut self) {
        self.0 = Box::default();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Bytes of encoding (tests).
    #[cfg(test)]
    pub(crate) fn encoded_len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::temporal::{Date, Temporal};

    #[test]
    fn attrs_are_one_thin_box() {
        assert_eq!(std::mem::size_of::<Attrs>(), 16);
    }

    #[test]
    fn bench_person_encodes_small() {
        let mut attrs = Attrs::default();
        assert!(attrs.add_label(LabelId(0)));
        attrs.set(PropertyId(0), PropertyValue::Int(999_999));
        attrs.set(PropertyId(1), "Grace Hopper".into());
        attrs.set(PropertyId(2), PropertyValue::Int(80));
        // 2 (labels) + 1+3 (id) + 1+1+12 (name) + 1+2 (age)
        assert_eq!(attrs.encoded_len(), 23);
        assert_eq!(attrs.get(PropertyId(1)), Some("Grace Hopper".into()));
    }

    #[test]
    fn labels_and_properties_round_trip() {
        let mut map = BTreeMap::new();
        map.insert("k".to_owned(), PropertyValue::List(vec![1i64.into()]));
        let values = [
            PropertyValue::Bool(false),
            PropertyValue::Bool(true),
            PropertyValue::Int(0),
            PropertyValue::Int(-1),
            PropertyValue::Int(i64::MIN),
            PropertyValue::Int(i64::MAX),
            PropertyValue::Float(-0.5),
            PropertyValue::Float(f64::NAN),
            "".into(),
            "héllo wörld".into(),
            PropertyValue::List(vec!["a".into(), PropertyValue::Null]),
            PropertyValue::Map(map),
            PropertyValue::Temporal(Temporal::Date(Date { days: -3 })),
        ];
        let mut attrs = Attrs::default();
        let mut model: BTreeMap<u32, PropertyValue> = BTreeMap::new();
        let mut labels = Vec::new();
        // Keys in a scrambled order, some big enough to need several varint bytes.
        for (i, value) in values.iter().enumerate() {
            let key = ((i as u32) * 7919) % 300_007;
            assert_eq!(
                attrs.set(PropertyId(key), value.clone()),
                PropertyValue::Null
            );
            model.insert(key, value.clone());
            let label = LabelId(((i as u32) * 104_729) % 1000);
            assert!(attrs.add_label(label));
            assert!(!attrs.add_label(label));
            labels.push(label);
            labels.sort();
            assert_eq!(attrs.label_vec(), labels);
            let pairs = attrs.pairs();
            let keys: Vec<u32> = pairs.iter().map(|(k, _)| k.0).collect();
            assert_eq!(keys, model.keys().copied().collect::<Vec<_>>());
        }
        for (key, value) in &model {
            let stored = attrs.get(PropertyId(*key)).unwrap();
            match value {
                PropertyValue::Float(f) if f.is_nan() => {
                    assert!(matches!(stored, PropertyValue::Float(s) if s.is_nan()))
                }
                value => {
                    assert_eq!(&stored, value);
                    assert!(attrs.holds(PropertyId(*key), value));
                }
            }
        }
        assert!(attrs.holds(PropertyId(1), &PropertyValue::Null));
        assert!(!attrs.holds(PropertyId(0), &PropertyValue::Int(1)));
        // Overwrite, remove, and removing what is absent.
        assert_eq!(
            attrs.set(PropertyId(0), 5i64.into()),
            PropertyValue::Bool(false)
        );
        assert_eq!(attrs.set(PropertyId(0), PropertyValue::Null), 5i64.into());
        assert_eq!(
            attrs.set(PropertyId(0), PropertyValue::Null),
            PropertyValue::Null
        );
        assert_eq!(attrs.get(PropertyId(0)), None);
        for label in labels.clone() {
            assert!(attrs.has_label(label));
            assert!(attrs.remove_label(label));
            assert!(!attrs.has_label(label));
            assert!(!attrs.remove_label(label));
        }
        assert_eq!(attrs.pairs().len(), model.len() - 1);
        for key in model.keys() {
            attrs.set(PropertyId(*key), PropertyValue::Null);
        }
        assert!(attrs.is_empty() && !attrs.has_props());
    }

    #[test]
    fn labels_without_properties_and_back() {
        let mut attrs = Attrs::default();
        attrs.set(PropertyId(3), 1i64.into());
        assert!(attrs.label_vec().is_empty() && attrs.has_props());
        attrs.add_label(LabelId(9));
        attrs.set(PropertyId(3), PropertyValue::Null);
        assert_eq!(attrs.label_vec(), [LabelId(9)]);
        assert!(!attrs.has_props());
        attrs.remove_label(LabelId(9));
        assert!(attrs.is_empty());
    }
}
