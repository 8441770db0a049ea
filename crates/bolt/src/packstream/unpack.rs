//! [`Unpacker`]: the PackStream decoder.
//!
//! Guarantees, for any input: no panic, no allocation larger than the input can justify (every
//! declared length is checked against the bytes left first: a string or byte array needs its
//! length, a list one byte per item, a map two bytes per entry), recursion bounded by
//! `max_depth`.

use std::collections::HashMap;

use super::marker::*;
use super::{Structure, Value};
use crate::Error;

/// Default cap on how deeply lists, maps and structures may nest.
pub const DEFAULT_MAX_DEPTH: usize = 64;

/// Maps with more entries than this get a hash index while decoding, so duplicate-key resolution
/// stays linear instead of quadratic on hostile input.
const LINEAR_DEDUP_MAX: usize = 16;

/// Reads PackStream values from a byte slice.
#[derive(Debug, Clone)]
pub struct Unpacker<'a> {
    buf: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl<'a> Unpacker<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self::with_max_depth(buf, DEFAULT_MAX_DEPTH)
    }

    /// `max_depth` bounds the number of nested containers inside one `read_value` call.
    pub fn with_max_depth(buf: &'a [u8], max_depth: usize) -> Self {
        Unpacker {
            buf,
            pos: 0,
            max_depth,
        }
    }

    /// Offset of the next unread byte.
    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_at_end(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// Fails with [`Error::TrailingBytes`] unless every byte has been consumed.
    pub fn expect_end(&self) -> Result<(), Error> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(Error::TrailingBytes { count }),
        }
    }

    /// The next marker byte, without consuming it.
    pub fn peek_marker(&self) -> Result<u8, Error> {
        self.buf
            .get(self.pos)
            .copied()
            .ok_or(Error::Truncated { needed: 1, have: 0 })
    }

    /// Reads a structure header: `(tag, field count)`. Used for top-level messages, whose
    /// fields the caller then reads one by one.
    pub fn read_struct_header(&mut self) -> Result<(u8, usize), Error> {
        let marker = self.peek_marker()?;
        if marker & 0xF0 != TINY_STRUCT {
            return Err(Error::NotAMessage { marker });
        }
        self.pos += 1;
        let tag = self.read_u8()?;
        Ok((tag, usize::from(marker & 0x0F)))
    }

    /// Reads one complete value.
    pub fn read_value(&mut self) -> Result<Value, Error> {
        self.read_value_at(0)
    }

    /// Skips one complete value, validating it exactly as [`read_value`](Self::read_value) does
    /// but without allocating.
    pub fn skip_value(&mut self) -> Result<(), Error> {
        self.skip_value_at(0)
    }

    fn read_value_at(&mut self, depth: usize) -> Result<Value, Error> {
        let offset = self.pos;
        let marker = self.read_u8()?;
        let value = match marker {
            0x00..=0x7F | 0xF0..=0xFF => Value::Int(i64::from(marker as i8)),
            NULL => Value::Null,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            INT_8..=INT_64 => Value::Int(self.read_int_body(marker)?),
            FLOAT_64 => Value::Float(f64::from_bits(u64::from_be_bytes(self.read_array()?))),
            BYTES_8..=BYTES_32 => {
                let len = self.read_len(marker - BYTES_8)?;
                Value::Bytes(self.take(len)?.to_vec())
            }
            0x80..=0x8F | STRING_8..=STRING_32 => {
                let len = self.string_len(marker)?;
                Value::String(self.read_str_body(len, offset)?)
            }
            0x90..=0x9F | LIST_8..=LIST_32 => {
                let len = match marker {
                    0x90..=0x9F => usize::from(marker & 0x0F),
                    _ => self.read_len(marker - LIST_8)?,
                };
                self.check_depth(depth)?;
                self.check_room(len, 1)?;
                let mut items = Vec::with_capacity(len);
                for _ in 0..len {
                    items.push(self.read_value_at(depth + 1)?);
                }
                Value::List(items)
            }
            0xA0..=0xAF | MAP_8..=MAP_32 => {
                let len = match marker {
                    0xA0..=0xAF => usize::from(marker & 0x0F),
                    _ => self.read_len(marker - MAP_8)?,
                };
                self.check_depth(depth)?;
                self.check_room(len, 2)?;
                Value::Map(self.read_map_body(len, depth)?)
            }
            0xB0..=0xBF => {
                let len = usize::from(marker & 0x0F);
                self.check_depth(depth)?;
                let tag = self.read_u8()?;
                self.check_room(len, 1)?;
                let mut fields = Vec::with_capacity(len);
                for _ in 0..len {
                    fields.push(self.read_value_at(depth + 1)?);
                }
                Value::Struct(Structure { tag, fields })
            }
            _ => return Err(Error::InvalidMarker { marker, offset }),
        };
        Ok(value)
    }

    fn read_map_body(&mut self, len: usize, depth: usize) -> Result<Vec<(String, Value)>, Error> {
        let mut entries: Vec<(String, Value)> = Vec::with_capacity(len);
        // Built only once a map grows past LINEAR_DEDUP_MAX distinct keys.
        let mut index: Option<HashMap<String, usize>> = None;
        for _ in 0..len {
            let key = self.read_key()?;
            let value = self.read_value_at(depth + 1)?;
            let existing = match &index {
                Some(index) => index.get(&key).copied(),
                None => entries.iter().position(|(k, _)| *k == key),
            };
            match existing {
                // Duplicate key: the last value wins, at the first key's position.
                Some(i) => entries[i].1 = value,
                None => {
                    if let Some(index) = &mut index {
                        index.insert(key.clone(), entries.len());
                    }
                    entries.push((key, value));
                    if index.is_none() && entries.len() > LINEAR_DEDUP_MAX {
                        index = Some(
                            entries
                                .iter()
                                .enumerate()
                                .map(|(i, (k, _))| (k.clone(), i))
                                .collect(),
                        );
                    }
                }
            }
        }
        Ok(entries)
    }

    fn read_key(&mut self) -> Result<String, Error> {
        let offset = self.pos;
        let marker = self.read_u8()?;
        match marker {
            0x80..=0x8F | STRING_8..=STRING_32 => {
                let len = self.string_len(marker)?;
                self.read_str_body(len, offset)
            }
            _ => Err(Error::NonStringKey { offset }),
        }
    }

    fn skip_value_at(&mut self, depth: usize) -> Result<(), Error> {
        let offset = self.pos;
        let marker = self.read_u8()?;
        match marker {
            0x00..=0x7F | 0xF0..=0xFF | NULL | FALSE | TRUE => {}
            INT_8..=INT_64 => {
                self.read_int_body(marker)?;
            }
            FLOAT_64 => {
                self.take(8)?;
            }
            BYTES_8..=BYTES_32 => {
                let len = self.read_len(marker - BYTES_8)?;
                self.take(len)?;
            }
            0x80..=0x8F | STRING_8..=STRING_32 => {
                let len = self.string_len(marker)?;
                let bytes = self.take(len)?;
                if std::str::from_utf8(bytes).is_err() {
                    return Err(Error::InvalidUtf8 { offset });
                }
            }
            0x90..=0x9F | LIST_8..=LIST_32 | 0xB0..=0xBF => {
                let len = match marker {
                    0x90..=0x9F | 0xB0..=0xBF => usize::from(marker & 0x0F),
                    _ => self.read_len(marker - LIST_8)?,
                };
                self.check_depth(depth)?;
                if marker & 0xF0 == TINY_STRUCT {
                    self.read_u8()?;
                }
                for _ in 0..len {
                    self.skip_value_at(depth + 1)?;
                }
            }
            0xA0..=0xAF | MAP_8..=MAP_32 => {
                let len = match marker {
                    0xA0..=0xAF => usize::from(marker & 0x0F),
                    _ => self.read_len(marker - MAP_8)?,
                };
                self.check_depth(depth)?;
                for _ in 0..len {
                    self.read_key_skip()?;
                    self.skip_value_at(depth + 1)?;
                }
            }
            _ => return Err(Error::InvalidMarker { marker, offset }),
        }
        Ok(())
    }

    fn read_key_skip(&mut self) -> Result<(), Error> {
        let offset = self.pos;
        let marker = self.peek_marker()?;
        if !matches!(marker, 0x80..=0x8F | STRING_8..=STRING_32) {
            return Err(Error::NonStringKey { offset });
        }
        self.skip_value_at(0)
    }

    fn check_depth(&self, depth: usize) -> Result<(), Error> {
        if depth >= self.max_depth {
            Err(Error::TooDeep {
                max_depth: self.max_depth,
            })
        } else {
            Ok(())
        }
    }

    /// Each of `len` items needs at least `min_bytes` bytes; refuse counts the input cannot hold
    /// before reserving memory for them.
    fn check_room(&self, len: usize, min_bytes: usize) -> Result<(), Error> {
        let needed = len.saturating_mul(min_bytes);
        let have = self.remaining();
        if needed > have {
            Err(Error::Truncated { needed, have })
        } else {
            Ok(())
        }
    }

    fn string_len(&mut self, marker: u8) -> Result<usize, Error> {
        match marker {
            0x80..=0x8F => Ok(usize::from(marker & 0x0F)),
            _ => self.read_len(marker - STRING_8),
        }
    }

    /// Reads a u8/u16/u32 length (`width_code` 0/1/2).
    fn read_len(&mut self, width_code: u8) -> Result<usize, Error> {
        Ok(match width_code {
            0 => usize::from(self.read_u8()?),
            1 => usize::from(u16::from_be_bytes(self.read_array()?)),
            _ => u32::from_be_bytes(self.read_array()?) as usize,
        })
    }

    fn read_int_body(&mut self, marker: u8) -> Result<i64, Error> {
        Ok(match marker {
            INT_8 => i64::from(self.read_u8()? as i8),
            INT_16 => i64::from(i16::from_be_bytes(self.read_array()?)),
            INT_32 => i64::from(i32::from_be_bytes(self.read_array()?)),
            _ => i64::from_be_bytes(self.read_array()?),
        })
    }

    fn read_str_body(&mut self, len: usize, offset: usize) -> Result<String, Error> {
        let bytes = self.take(len)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(Error::InvalidUtf8 { offset }),
        }
    }

    fn read_u8(&mut self) -> Result<u8, Error> {
        let byte = self.peek_marker()?;
        self.pos += 1;
        Ok(byte)
    }

    fn read_array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let bytes = self.take(N)?;
        let mut array = [0; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], Error> {
        let have = self.remaining();
        if len > have {
            return Err(Error::Truncated { needed: len, have });
        }
        let bytes = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packstream::{from_bytes, to_bytes};

    #[test]
    fn accepts_every_int_width() {
        assert_eq!(from_bytes(&[0xC8, 0x01]), Ok(Value::Int(1)));
        assert_eq!(from_bytes(&[0xC9, 0x00, 0x01]), Ok(Value::Int(1)));
        assert_eq!(
            from_bytes(&[0xCA, 0xFF, 0xFF, 0xFF, 0xFF]),
            Ok(Value::Int(-1))
        );
        assert_eq!(
            from_bytes(&[0xCB, 0, 0, 0, 0, 0, 0, 0, 0x2A]),
            Ok(Value::Int(42))
        );
        assert_eq!(from_bytes(&[0xF0]), Ok(Value::Int(-16)));
    }

    #[test]
    fn accepts_wide_containers() {
        assert_eq!(
            from_bytes(&[0xD0, 0x01, b'a']),
            Ok(Value::String("a".into()))
        );
        assert_eq!(
            from_bytes(&[0xD5, 0x00, 0x01, 0x01]),
            Ok(Value::List(vec![1.into()]))
        );
        assert_eq!(
            from_bytes(&[0xDA, 0, 0, 0, 1, 0x81, b'k', 0xC0]),
            Ok(Value::map([("k", Value::Null)]))
        );
        assert_eq!(
            from_bytes(&[0xCE, 0, 0, 0, 2, 9, 8]),
            Ok(Value::Bytes(vec![9, 8]))
        );
    }

    #[test]
    fn rejects_reserved_markers() {
        for marker in [
            0xC4, 0xC5, 0xC6, 0xC7, 0xCF, 0xD3, 0xD7, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF,
        ]
        .into_iter()
        .chain(0xE0..=0xEF)
        {
            assert_eq!(
                from_bytes(&[marker, 0, 0, 0, 0, 0, 0, 0, 0]),
                Err(Error::InvalidMarker { marker, offset: 0 }),
                "{marker:02X}"
            );
        }
    }

    #[test]
    fn checks_lengths_before_allocating() {
        // A list claiming 4 billion items in a 5-byte input.
        assert_eq!(
            from_bytes(&[0xD6, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(Error::Truncated {
                needed: 0xFFFF_FFFF,
                have: 0
            })
        );
        assert!(matches!(
            from_bytes(&[0xDA, 0xFF, 0xFF, 0xFF, 0xFF, 0x80]),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(
            from_bytes(&[0xD2, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(
            from_bytes(&[0xC1, 0, 0]),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(from_bytes(&[]), Err(Error::Truncated { .. })));
    }

    #[test]
    fn rejects_bad_utf8_and_non_string_keys() {
        assert_eq!(
            from_bytes(&[0x82, 0xC3, 0x28]),
            Err(Error::InvalidUtf8 { offset: 0 })
        );
        assert_eq!(
            from_bytes(&[0xA1, 0x01, 0x01]),
            Err(Error::NonStringKey { offset: 1 })
        );
        assert_eq!(
            from_bytes(&[0x01, 0x02]),
            Err(Error::TrailingBytes { count: 1 })
        );
    }

    #[test]
    fn caps_nesting_depth() {
        // 64 nested containers are fine, the 65th is refused.
        let mut deep = vec![0x91; 65];
        deep.push(0xC0);
        assert_eq!(from_bytes(&deep), Err(Error::TooDeep { max_depth: 64 }));
        let ok = vec![0x91; 64].into_iter().chain([0xC0]).collect::<Vec<_>>();
        assert!(from_bytes(&ok).is_ok());
        let mut skipper = Unpacker::new(&deep);
        assert_eq!(skipper.skip_value(), Err(Error::TooDeep { max_depth: 64 }));
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let bytes = [0xA3, 0x81, b'a', 1, 0x81, b'b', 2, 0x81, b'a', 3];
        assert_eq!(
            from_bytes(&bytes),
            Ok(Value::map([("a", 3.into()), ("b", 2.into())]))
        );
        // Past the linear threshold the hash index takes over.
        let mut big = vec![0xD8, 40];
        for i in 0..40u8 {
            big.extend_from_slice(&[0x81, b'A' + (i % 20), i]);
        }
        let value = from_bytes(&big).unwrap();
        let map = value.as_map().unwrap();
        assert_eq!(map.len(), 20);
        assert_eq!(map[0], ("A".to_owned(), Value::Int(20)));
        assert_eq!(map[19], ("T".to_owned(), Value::Int(39)));
    }

    #[test]
    fn skip_matches_read() {
        let value = Value::List(vec![
            Value::map([("x", Value::Float(1.5)), ("y", Value::Bytes(vec![1, 2]))]),
            Value::Struct(Structure::new(0x44, vec![Value::Int(-300)])),
            Value::String("Größe".into()),
        ]);
        let bytes = to_bytes(&value);
        let mut skipper = Unpacker::new(&bytes);
        skipper.skip_value().unwrap();
        assert!(skipper.is_at_end());
    }

    #[test]
    fn struct_header_for_messages() {
        let mut u = Unpacker::new(&[0xB1, 0x70, 0xA0]);
        assert_eq!(u.read_struct_header(), Ok((0x70, 1)));
        assert_eq!(u.read_value(), Ok(Value::Map(vec![])));
        assert_eq!(
            Unpacker::new(&[0x91]).read_struct_header(),
            Err(Error::NotAMessage { marker: 0x91 })
        );
        assert!(Unpacker::new(&[0xB1]).read_struct_header().is_err());
    }
}
