//! Bolt message framing (chunking).
//!
//! ```text
//! [u16 BE size][size bytes] ... [u16 BE size][size bytes] 00 00
//! ```
//!
//! A message is one or more chunks of at most 65 535 bytes followed by the end marker `00 00`.
//! An empty chunk between messages is a NOOP (keep-alive, Bolt 4.1+).
//!
//! * [`ChunkDecoder`] reassembles messages from arbitrary byte fragments, skips NOOPs and refuses
//!   a message larger than its limit *before* buffering the chunk that would exceed it.
//! * [`write_message`] frames a finished payload; [`begin_message`] / [`finish_message`] frame a
//!   payload encoded in place at the end of an output buffer (no intermediate copy for messages
//!   up to one chunk). Neither ever emits an empty chunk: mgclient reads one as an empty message
//!   and breaks.

use std::collections::VecDeque;

use crate::Error;

/// Largest payload of one chunk.
pub const MAX_CHUNK_BYTES: usize = 0xFFFF;

/// Default cap on one reassembled message.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Incremental de-chunker: bytes in, complete message payloads out.
///
/// Feed whatever the socket returned with [`feed`](Self::feed), then drain
/// [`poll_message`](Self::poll_message) until it returns `Ok(None)`. Messages come out in order;
/// after an error (an oversized message) every earlier message is still delivered first, then the
/// error is returned on every poll and further input is ignored: the stream cannot be
/// resynchronised.
#[derive(Debug)]
pub struct ChunkDecoder {
    max_message_bytes: usize,
    state: ReadState,
    /// The message being reassembled.
    current: Vec<u8>,
    ready: VecDeque<Vec<u8>>,
    error: Option<Error>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadState {
    /// Expecting a chunk header; holds its first byte once that arrived.
    Header(Option<u8>),
    /// Inside a chunk with this many bytes left.
    Body(usize),
}

impl Default for ChunkDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkDecoder {
    pub fn new() -> Self {
        Self::with_max_message_bytes(DEFAULT_MAX_MESSAGE_BYTES)
    }

    pub fn with_max_message_bytes(max_message_bytes: usize) -> Self {
        ChunkDecoder {
            max_message_bytes,
            state: ReadState::Header(None),
            current: Vec::new(),
            ready: VecDeque::new(),
            error: None,
        }
    }

    /// Consumes `bytes`; complete messages become available to [`poll_message`](Self::poll_message).
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && self.error.is_none() {
            match self.state {
                ReadState::Header(None) => {
                    if let [high, low, rest @ ..] = bytes {
                        self.on_header(u16::from_be_bytes([*high, *low]));
                        bytes = rest;
                    } else {
                        self.state = ReadState::Header(Some(bytes[0]));
                        bytes = &[];
                    }
                }
                ReadState::Header(Some(high)) => {
                    self.on_header(u16::from_be_bytes([high, bytes[0]]));
                    bytes = &bytes[1..];
                }
                ReadState::Body(left) => {
                    let take = left.min(bytes.len());
                    self.current.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    self.state = if take == left {
                        ReadState::Header(None)
                    } else {
                        ReadState::Body(left - take)
                    };
                }
            }
        }
    }

    fn on_header(&mut self, size: u16) {
        let size = usize::from(size);
        self.state = ReadState::Header(None);
        if size == 0 {
            // End of message, or a NOOP when no message is in progress.
            if !self.current.is_empty() {
                self.ready.push_back(std::mem::take(&mut self.current));
            }
            return;
        }
        let total = self.current.len() + size;
        if total > self.max_message_bytes {
            self.current = Vec::new();
            self.error = Some(Error::MessageTooLarge {
                size_bytes: total,
                max_bytes: self.max_message_bytes,
            });
            return;
        }
        self.state = ReadState::Body(size);
    }

    /// The next complete message payload, `Ok(None)` if more bytes are needed.
    pub fn poll_message(&mut self) -> Result<Option<Vec<u8>>, Error> {
        if let Some(message) = self.ready.pop_front() {
            return Ok(Some(message));
        }
        match &self.error {
            Some(error) => Err(error.clone()),
            None => Ok(None),
        }
    }

    /// Whether a message is partially received (useful to tell a clean EOF from a cut one).
    pub fn is_mid_message(&self) -> bool {
        !self.current.is_empty() || self.state != ReadState::Header(None)
    }
}

/// Appends `payload` framed as one message. An empty payload writes nothing (it would be a NOOP,
/// not a message).
pub fn write_message(out: &mut Vec<u8>, payload: &[u8]) {
    if payload.is_empty() {
        return;
    }
    out.reserve(payload.len() + 2 * (payload.len() / MAX_CHUNK_BYTES + 2));
    for chunk in payload.chunks(MAX_CHUNK_BYTES) {
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&[0, 0]);
}

/// Where an in-place message started in the output buffer (see [`begin_message`]).
#[derive(Debug)]
#[must_use = "pass it to finish_message"]
pub struct MessageStart(usize);

/// Starts a message at the end of `out`: reserves a chunk header. Encode the payload by appending
/// to `out`, then call [`finish_message`].
pub fn begin_message(out: &mut Vec<u8>) -> MessageStart {
    let start = out.len();
    out.extend_from_slice(&[0, 0]);
    MessageStart(start)
}

/// Frames everything appended since `start`. Payloads up to one chunk are framed in place;
/// larger ones are re-chunked. An empty payload is removed (no NOOP is emitted).
pub fn finish_message(out: &mut Vec<u8>, start: MessageStart) {
    let MessageStart(start) = start;
    let payload_len = out.len() - start - 2;
    if payload_len == 0 {
        out.truncate(start);
    } else if payload_len <= MAX_CHUNK_BYTES {
        out[start..start + 2].copy_from_slice(&(payload_len as u16).to_be_bytes());
        out.extend_from_slice(&[0, 0]);
    } else {
        let payload = out.split_off(start + 2);
        out.truncate(start);
        write_message(out, &payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(decoder: &mut ChunkDecoder) -> Vec<Vec<u8>> {
        let mut messages = Vec::new();
        while let Some(m) = decoder.poll_message().unwrap() {
            messages.push(m);
        }
        messages
    }

    #[test]
    fn reassembles_split_input_and_skips_noops() {
        let wire = [
            0x00, 0x00, // NOOP before
            0x00, 0x02, 0xB0, 0x0F, 0x00, 0x00, // RESET
            0x00, 0x00, 0x00, 0x00, // two NOOPs
            0x00, 0x01, 0xB1, 0x00, 0x02, 0x70, 0xA0, 0x00, 0x00, // two chunks
        ];
        for split in 0..wire.len() {
            let mut decoder = ChunkDecoder::new();
            decoder.feed(&wire[..split]);
            let mut messages = decode_all(&mut decoder);
            decoder.feed(&wire[split..]);
            messages.extend(decode_all(&mut decoder));
            assert_eq!(messages, vec![vec![0xB0, 0x0F], vec![0xB1, 0x70, 0xA0]]);
            assert!(!decoder.is_mid_message());
        }
        let mut decoder = ChunkDecoder::new();
        for byte in wire {
            decoder.feed(&[byte]);
        }
        assert_eq!(decode_all(&mut decoder).len(), 2);
    }

    #[test]
    fn oversized_message_fails_after_earlier_ones() {
        let mut decoder = ChunkDecoder::with_max_message_bytes(4);
        decoder.feed(&[0x00, 0x02, 0xB0, 0x0F, 0x00, 0x00]);
        decoder.feed(&[0x00, 0x03, 1, 2, 3, 0x00, 0x02]);
        assert_eq!(decoder.poll_message(), Ok(Some(vec![0xB0, 0x0F])));
        assert_eq!(
            decoder.poll_message(),
            Err(Error::MessageTooLarge {
                size_bytes: 5,
                max_bytes: 4
            })
        );
        decoder.feed(&[0x00, 0x00]);
        assert!(decoder.poll_message().is_err());
    }

    #[test]
    fn writes_chunks_of_at_most_65535_bytes() {
        let payload: Vec<u8> = (0..150_000u32).map(|i| i as u8).collect();
        let mut out = Vec::new();
        write_message(&mut out, &payload);
        assert_eq!(&out[..2], [0xFF, 0xFF]);
        assert_eq!(&out[2 + 65_535..2 + 65_535 + 2], [0xFF, 0xFF]);
        let last = 150_000 - 2 * 65_535;
        assert_eq!(
            &out[4 + 2 * 65_535..6 + 2 * 65_535],
            (last as u16).to_be_bytes()
        );
        assert_eq!(&out[out.len() - 2..], [0, 0]);
        let mut decoder = ChunkDecoder::new();
        decoder.feed(&out);
        assert_eq!(decoder.poll_message(), Ok(Some(payload)));
    }

    #[test]
    fn exact_chunk_multiple_has_no_empty_chunk() {
        let payload = vec![7u8; MAX_CHUNK_BYTES];
        let mut out = Vec::new();
        write_message(&mut out, &payload);
        assert_eq!(out.len(), 2 + MAX_CHUNK_BYTES + 2);
        let mut out = Vec::new();
        write_message(&mut out, &[]);
        assert!(out.is_empty());
    }

    #[test]
    fn in_place_framing_small_large_and_empty() {
        let mut out = vec![0xAA];
        let start = begin_message(&mut out);
        out.extend_from_slice(&[0xB0, 0x7E]);
        finish_message(&mut out, start);
        assert_eq!(out, [0xAA, 0x00, 0x02, 0xB0, 0x7E, 0x00, 0x00]);

        let start = begin_message(&mut out);
        finish_message(&mut out, start);
        assert_eq!(out.len(), 7);

        let mut big = Vec::new();
        let start = begin_message(&mut big);
        big.extend(std::iter::repeat_n(1u8, 70_000));
        finish_message(&mut big, start);
        let mut expected = Vec::new();
        write_message(&mut expected, &vec![1u8; 70_000]);
        assert_eq!(big, expected);
    }
}
