//! The one encoding of a [`CommitRecord`] on disk and on the wire: bincode 2 (standard config,
//! with a size limit) inside a frame of our own, so the encoder could be swapped behind the
//! format version without touching the framing.
//!
//! A frame is `len: u32 LE | crc32: u32 LE | payload[len]`, where the CRC-32 (IEEE) covers the
//! payload. The frame says nothing about where it sits; segment headers and the recovery scan
//! ([`crate::segment`]) give frames their place.

use std::io::{self, Write};

use storage::CommitRecord;

use crate::error::DurabilityError;

/// Bytes of a frame header: length and checksum.
pub const FRAME_HEADER_BYTES: usize = 8;

/// The largest payload a frame may claim. A larger claim is corruption (or a torn length), not
/// a record: it is refused before anything is allocated for it.
pub const MAX_RECORD_BYTES: usize = 256 << 20;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_RECORD_BYTES>()
}

/// Encodes `record` as one frame appended to `out`; returns the frame's length in bytes.
pub fn encode_frame(record: &CommitRecord, out: &mut Vec<u8>) -> Result<usize, DurabilityError> {
    encode_value_frame(record, out)
}

/// Encodes any bincode-2 value as one frame appended to `out` (snapshot chunks use the same
/// framing as WAL records); returns the frame's length in bytes. A payload over
/// [`MAX_RECORD_BYTES`] is [`DurabilityError::RecordTooLarge`] and leaves `out` as it was.
pub fn encode_value_frame<T: bincode::Encode>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<usize, DurabilityError> {
    let start = begin_frame(out);
    if let Err(e) = encode_append(value, out) {
        out.truncate(start);
        return Err(e);
    }
    seal_frame(out, start)
}

/// Starts a frame at the end of `out` (its header is filled in by [`seal_frame`]); returns
/// where it starts. Everything appended until then is its payload.
pub fn begin_frame(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
    start
}

/// Appends the bincode-2 encoding of `value` (standard config, as in every frame) to `out`.
pub fn encode_append<T: bincode::Encode>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), DurabilityError> {
    bincode::encode_into_std_write(value, out, config())
        .map(|_| ())
        .map_err(|e| DurabilityError::Encode(e.to_string()))
}

/// Finishes the frame [`begin_frame`] started at `start`: fills in the length and checksum of
/// the payload after it; returns the frame's length. Too large a payload is
/// [`DurabilityError::RecordTooLarge`] and removes the frame from `out`.
pub fn seal_frame(out: &mut Vec<u8>, start: usize) -> Result<usize, DurabilityError> {
    let payload_len = out.len() - start - FRAME_HEADER_BYTES;
    if payload_len > MAX_RECORD_BYTES {
        out.truncate(start);
        return Err(DurabilityError::RecordTooLarge(payload_len));
    }
    let crc = crc32fast::hash(&out[start + FRAME_HEADER_BYTES..]);
    out[start..start + 4].copy_from_slice(&(payload_len as u32).to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(out.len() - start)
}

/// Writes one frame for `record` to `w`; returns its length in bytes.
pub fn write_frame(record: &CommitRecord, w: &mut impl Write) -> Result<usize, DurabilityError> {
    let mut buf = Vec::new();
    let n = encode_frame(record, &mut buf)?;
    w.write_all(&buf).map_err(DurabilityError::Io)?;
    Ok(n)
}

/// What [`decode_frame`] found at the start of a byte slice.
#[derive(Debug)]
pub enum Frame {
    /// A whole, valid frame of `len` bytes holding `record`.
    Record { record: CommitRecord, len: usize },
    /// The slice ends inside the frame: `needed` bytes would complete it (`None` while even
    /// the header is incomplete).
    Incomplete { needed: Option<usize> },
    /// The frame is whole but not valid: a length beyond [`MAX_RECORD_BYTES`], a checksum that
    /// does not match, or a payload that does not decode as exactly one record.
    Invalid { reason: String, len: Option<usize> },
}

/// What [`check_frame`] found at the start of a byte slice: [`Frame`] before decoding.
#[derive(Debug)]
pub enum RawFrame<'a> {
    /// A whole frame of `len` bytes whose checksum matches `payload`.
    Whole { payload: &'a [u8], len: usize },
    /// As [`Frame::Incomplete`].
    Incomplete { needed: Option<usize> },
    /// A length beyond [`MAX_RECORD_BYTES`] (`len: None`) or a checksum that does not match.
    Invalid { reason: String, len: Option<usize> },
}

/// Checks the length and checksum of the frame at the start of `bytes`, without decoding its
/// payload. Never panics and never allocates.
pub fn check_frame(bytes: &[u8]) -> RawFrame<'_> {
    if bytes.len() < FRAME_HEADER_BYTES {
        return RawFrame::Incomplete { needed: None };
    }
    let payload_len = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if payload_len > MAX_RECORD_BYTES {
        return RawFrame::Invalid {
            reason: format!("a record length of {payload_len} bytes (at most {MAX_RECORD_BYTES})"),
            len: None,
        };
    }
    let len = FRAME_HEADER_BYTES + payload_len;
    if bytes.len() < len {
        return RawFrame::Incomplete {
            needed: Some(len - bytes.len()),
        };
    }
    let payload = &bytes[FRAME_HEADER_BYTES..len];
    let actual = crc32fast::hash(payload);
    if actual != crc {
        return RawFrame::Invalid {
            reason: format!("checksum {actual:08x} where the frame says {crc:08x}"),
            len: Some(len),
        };
    }
    RawFrame::Whole { payload, len }
}

/// Decodes one value from the start of `bytes` (with the frames' size limit); returns it and
/// the bytes it used. Several values may follow each other inside one payload.
pub fn decode_prefix<T: bincode::Decode<()>>(bytes: &[u8]) -> Result<(T, usize), String> {
    bincode::decode_from_slice::<T, _>(bytes, config()).map_err(|e| e.to_string())
}

/// Decodes the frame at the start of `bytes`. Never panics and never allocates more than the
/// payload it checked.
pub fn decode_frame(bytes: &[u8]) -> Frame {
    let (payload, len) = match check_frame(bytes) {
        RawFrame::Whole { payload, len } => (payload, len),
        RawFrame::Incomplete { needed } => return Frame::Incomplete { needed },
        RawFrame::Invalid { reason, len } => return Frame::Invalid { reason, len },
    };
    match decode_prefix::<CommitRecord>(payload) {
        Ok((record, used)) if used == payload.len() => Frame::Record { record, len },
        Ok((_, used)) => Frame::Invalid {
            reason: format!("{} bytes after the record", payload.len() - used),
            len: Some(len),
        },
        Err(e) => Frame::Invalid {
            reason: format!("a payload that does not decode: {e}"),
            len: Some(len),
        },
    }
}

/// Reads exactly `buf.len()` bytes, or fewer at end of file; returns how many were read.
pub(crate) fn read_full(r: &mut impl io::Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use storage::{PropertyValue, RedoOp};

    use super::*;

    fn record(ts: u64) -> CommitRecord {
        CommitRecord {
            commit_ts: ts,
            start_ts: ts - 1,
            ops: vec![
                RedoOp::CreateVertex { gid: ts },
                RedoOp::SetVertexProperty {
                    gid: ts,
                    key: "name".into(),
                    value: PropertyValue::from("Ada"),
                },
            ],
        }
    }

    #[test]
    fn a_frame_round_trips() {
        let mut buf = Vec::new();
        let n = encode_frame(&record(7), &mut buf).unwrap();
        assert_eq!(n, buf.len());
        match decode_frame(&buf) {
            Frame::Record { record: r, len } => {
                assert_eq!(r, record(7));
                assert_eq!(len, n);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_prefix_is_incomplete_and_every_bit_flip_is_caught() {
        let mut buf = Vec::new();
        encode_frame(&record(9), &mut buf).unwrap();
        for cut in 0..buf.len() {
            assert!(
                matches!(decode_frame(&buf[..cut]), Frame::Incomplete { .. }),
                "prefix of {cut} bytes"
            );
        }
        for byte in 0..buf.len() {
            for bit in 0..8 {
                let mut bad = buf.clone();
                bad[byte] ^= 1 << bit;
                // A flipped length bit may make the frame look longer (incomplete) or shorter
                // (its checksum then fails); it must never decode as a record.
                assert!(
                    !matches!(decode_frame(&bad), Frame::Record { .. }),
                    "bit {bit} of byte {byte}"
                );
            }
        }
    }

    #[test]
    fn a_huge_length_is_refused_without_allocating() {
        let mut bad = vec![0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0];
        bad.extend_from_slice(&[0; 16]);
        assert!(matches!(
            decode_frame(&bad),
            Frame::Invalid { len: None, .. }
        ));
    }
}
