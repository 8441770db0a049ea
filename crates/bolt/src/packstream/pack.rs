//! [`Packer`]: the PackStream encoder.

use super::marker::*;
use super::{Structure, Value};

/// Writes PackStream into a caller-owned buffer, always choosing the smallest encoding.
///
/// Headers (`write_list_header`, `write_map_header`, `write_struct_header`) let callers stream
/// containers without building a [`Value`] tree: after a header declaring `n` items the caller
/// writes exactly `n` values (`2n` for a map: key string, value, key string, value ...). The
/// packer does not track that count; a wrong count produces bytes a peer cannot decode.
///
/// # Panics
///
/// Lengths above `u32::MAX` (strings, byte arrays, lists, maps) and structures with more than 15
/// fields cannot be represented in PackStream; asking for them is a caller bug and panics.
#[derive(Debug)]
pub struct Packer<'a> {
    buf: &'a mut Vec<u8>,
    /// Write -16..-1 as INT_8 instead of TINY_INT (see [`Packer::with_wide_negative_tiny_ints`]).
    wide_negative_tiny: bool,
}

impl<'a> Packer<'a> {
    pub fn new(buf: &'a mut Vec<u8>) -> Self {
        Packer {
            buf,
            wide_negative_tiny: false,
        }
    }

    /// A packer that writes -16..-1 as INT_8 (`C8 xx`) instead of the one-byte TINY_INT form.
    /// Both are legal PackStream; neo4rs 0.8 (Bolt 4.0/4.1) decodes the tiny negative form as
    /// unsigned (-1 arrives as 255), so records on those versions use the wider form.
    pub fn with_wide_negative_tiny_ints(buf: &'a mut Vec<u8>) -> Self {
        Packer {
            buf,
            wide_negative_tiny: true,
        }
    }

    /// The buffer written so far (including whatever it held before this packer).
    pub fn buffer(&self) -> &[u8] {
        self.buf
    }

    pub fn write_null(&mut self) {
        self.buf.push(NULL);
    }

    pub fn write_bool(&mut self, value: bool) {
        self.buf.push(if value { TRUE } else { FALSE });
    }

    pub fn write_int(&mut self, value: i64) {
        if (0..=127).contains(&value) || ((-16..0).contains(&value) && !self.wide_negative_tiny) {
            // Tiny int: the two's-complement low byte is the marker itself.
            self.buf.push(value as i8 as u8);
        } else if let Ok(v) = i8::try_from(value) {
            self.buf.push(INT_8);
            self.buf.push(v as u8);
        } else if let Ok(v) = i16::try_from(value) {
            self.buf.push(INT_16);
            self.buf.extend_from_slice(&v.to_be_bytes());
        } else if let Ok(v) = i32::try_from(value) {
            self.buf.push(INT_32);
            self.buf.extend_from_slice(&v.to_be_bytes());
        } else {
            self.buf.push(INT_64);
            self.buf.extend_from_slice(&value.to_be_bytes());
        }
    }

    pub fn write_float(&mut self, value: f64) {
        self.buf.push(FLOAT_64);
        self.buf.extend_from_slice(&value.to_bits().to_be_bytes());
    }

    pub fn write_bytes(&mut self, value: &[u8]) {
        let len = value.len();
        if len <= 0xFF {
            self.buf.push(BYTES_8);
            self.buf.push(len as u8);
        } else if len <= 0xFFFF {
            self.buf.push(BYTES_16);
            self.buf.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            self.buf.push(BYTES_32);
            self.buf.extend_from_slice(&len_u32(len).to_be_bytes());
        }
        self.buf.extend_from_slice(value);
    }

    pub fn write_string(&mut self, value: &str) {
        self.write_sized_header(TINY_STRING, [STRING_8, STRING_16, STRING_32], value.len());
        self.buf.extend_from_slice(value.as_bytes());
    }

    /// Declares a list of `len` items; write them next.
    pub fn write_list_header(&mut self, len: usize) {
        self.write_sized_header(TINY_LIST, [LIST_8, LIST_16, LIST_32], len);
    }

    /// Declares a map of `len` entries; write `len` (key string, value) pairs next.
    pub fn write_map_header(&mut self, len: usize) {
        self.write_sized_header(TINY_MAP, [MAP_8, MAP_16, MAP_32], len);
    }

    /// Declares a structure with `fields` fields (at most 15); write them next.
    pub fn write_struct_header(&mut self, tag: u8, fields: usize) {
        assert!(
            fields <= 15,
            "a PackStream structure has at most 15 fields, got {fields}"
        );
        self.buf.push(TINY_STRUCT | fields as u8);
        self.buf.push(tag);
    }

    /// Writes a whole map of borrowed entries.
    pub fn write_map<'v, K: AsRef<str> + 'v>(
        &mut self,
        entries: impl ExactSizeIterator<Item = (K, &'v Value)>,
    ) {
        self.write_map_header(entries.len());
        for (key, value) in entries {
            self.write_string(key.as_ref());
            self.write_value(value);
        }
    }

    pub fn write_structure(&mut self, structure: &Structure) {
        self.write_struct_header(structure.tag, structure.fields.len());
        for field in &structure.fields {
            self.write_value(field);
        }
    }

    pub fn write_value(&mut self, value: &Value) {
        match value {
            Value::Null => self.write_null(),
            Value::Bool(b) => self.write_bool(*b),
            Value::Int(i) => self.write_int(*i),
            Value::Float(f) => self.write_float(*f),
            Value::Bytes(b) => self.write_bytes(b),
            Value::String(s) => self.write_string(s),
            Value::List(items) => {
                self.write_list_header(items.len());
                for item in items {
                    self.write_value(item);
                }
            }
            Value::Map(entries) => self.write_map(entries.iter().map(|(k, v)| (k, v))),
            Value::Struct(s) => self.write_structure(s),
        }
    }

    fn write_sized_header(&mut self, tiny: u8, wide: [u8; 3], len: usize) {
        if len <= 0x0F {
            self.buf.push(tiny | len as u8);
        } else if len <= 0xFF {
            self.buf.push(wide[0]);
            self.buf.push(len as u8);
        } else if len <= 0xFFFF {
            self.buf.push(wide[1]);
            self.buf.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            self.buf.push(wide[2]);
            self.buf.extend_from_slice(&len_u32(len).to_be_bytes());
        }
    }
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).expect("PackStream lengths are limited to u32::MAX")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(f: impl FnOnce(&mut Packer<'_>)) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut Packer::new(&mut out));
        out
    }

    #[test]
    fn ints_use_minimal_width() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (127, &[0x7F]),
            (-1, &[0xFF]),
            (-16, &[0xF0]),
            (-17, &[0xC8, 0xEF]),
            (-128, &[0xC8, 0x80]),
            (128, &[0xC9, 0x00, 0x80]),
            (-129, &[0xC9, 0xFF, 0x7F]),
            (32_767, &[0xC9, 0x7F, 0xFF]),
            (32_768, &[0xCA, 0x00, 0x00, 0x80, 0x00]),
            (-32_769, &[0xCA, 0xFF, 0xFF, 0x7F, 0xFF]),
            (i64::from(i32::MAX), &[0xCA, 0x7F, 0xFF, 0xFF, 0xFF]),
            (i64::from(i32::MAX) + 1, &[0xCB, 0, 0, 0, 0, 0x80, 0, 0, 0]),
            (i64::MIN, &[0xCB, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            (
                i64::MAX,
                &[0xCB, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            ),
        ];
        for (value, bytes) in cases {
            assert_eq!(&packed(|p| p.write_int(*value)), bytes, "{value}");
        }
    }

    #[test]
    fn golden_scalars_and_containers() {
        assert_eq!(
            packed(|p| p.write_float(1.23)),
            [0xC1, 0x3F, 0xF3, 0xAE, 0x14, 0x7A, 0xE1, 0x47, 0xAE]
        );
        assert_eq!(packed(|p| p.write_string("")), [0x80]);
        assert_eq!(packed(|p| p.write_string("A")), [0x81, 0x41]);
        assert_eq!(packed(|p| p.write_bytes(&[])), [0xCC, 0x00]);
        assert_eq!(packed(|p| p.write_null()), [0xC0]);
        assert_eq!(packed(|p| p.write_bool(true)), [0xC3]);
        let list = Value::List(vec![1.into(), 2.into(), 3.into()]);
        assert_eq!(packed(|p| p.write_value(&list)), [0x93, 1, 2, 3]);
        let map = Value::map([("one", "eins".into())]);
        assert_eq!(
            packed(|p| p.write_value(&map)),
            [0xA1, 0x83, b'o', b'n', b'e', 0x84, b'e', b'i', b'n', b's']
        );
    }

    #[test]
    fn size_boundaries_pick_the_right_marker() {
        let s16 = "x".repeat(16);
        assert_eq!(&packed(|p| p.write_string(&s16))[..2], [0xD0, 16]);
        let s256 = "x".repeat(256);
        assert_eq!(&packed(|p| p.write_string(&s256))[..3], [0xD1, 1, 0]);
        let s65536 = "x".repeat(65_536);
        assert_eq!(
            &packed(|p| p.write_string(&s65536))[..5],
            [0xD2, 0, 1, 0, 0]
        );
        assert_eq!(packed(|p| p.write_list_header(15)), [0x9F]);
        assert_eq!(packed(|p| p.write_list_header(16)), [0xD4, 16]);
        assert_eq!(packed(|p| p.write_map_header(65_535)), [0xD9, 0xFF, 0xFF]);
        assert_eq!(packed(|p| p.write_bytes(&[0; 256]))[..3], [0xCD, 1, 0]);
        assert_eq!(
            packed(|p| p.write_bytes(&vec![0; 65_536]))[..5],
            [0xCE, 0, 1, 0, 0]
        );
        assert_eq!(packed(|p| p.write_struct_header(0x4E, 3)), [0xB3, 0x4E]);
    }

    #[test]
    #[should_panic(expected = "at most 15 fields")]
    fn oversized_structures_are_a_caller_bug() {
        packed(|p| p.write_struct_header(0x01, 16));
    }
}
