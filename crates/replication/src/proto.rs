//! The replication protocol: the messages a MAIN and a REPLICA exchange over one TCP
//! connection, and their framing.
//!
//! Every message is one frame of the durability crate's framing (`len: u32 | crc32: u32 |
//! bincode 2 payload`, [`durability::codec`]), so a message is checked before it is decoded
//! and never larger than [`MAX_MESSAGE_BYTES`]: a peer that sends a bigger length, a bad
//! checksum or bytes that do not decode gets its connection closed, nothing else.
//!
//! A connection starts with the mutual authentication of [`crate::auth`]
//! ([`Request::Challenge`], [`Response::Challenge`], [`Request::Proof`], `Ack`), then
//! [`Request::Hello`] from the MAIN; the replica answers with
//! [`Response::Hello`] (or [`Response::Fenced`] when it follows a newer MAIN). After that the
//! MAIN sends requests one at a time and reads one response to each. Commits travel as the
//! WAL's frames ([`Request::Append`]): the bytes a MAIN logs are the bytes a replica applies.

use std::io::{self, Read, Write};

use durability::codec::{
    begin_frame, check_frame, decode_prefix, encode_append, seal_frame, RawFrame,
    FRAME_HEADER_BYTES, MAX_RECORD_BYTES,
};

use crate::auth::{MessageAuth, TAG_BYTES};

/// Bumped whenever a message changes shape; both sides refuse a peer of another version.
/// 2: connections start with the challenge-response of [`crate::auth`].
pub const PROTOCOL_VERSION: u32 = 2;

/// The largest message: one commit record of the largest size plus room for its envelope.
pub const MAX_MESSAGE_BYTES: usize = MAX_RECORD_BYTES;

/// A MAIN's reign: a random id, and a term one above every term its instance had seen when it
/// was promoted. A replica obeys the MAIN with the highest term it has heard of (fencing).
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub struct Epoch {
    pub id: String,
    pub term: u64,
}

impl Epoch {
    /// A new random epoch with `term`.
    pub fn new(term: u64) -> Epoch {
        Epoch {
            id: uuid::Uuid::new_v4().simple().to_string(),
            term,
        }
    }
}

impl std::fmt::Display for Epoch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (term {})", self.id, self.term)
    }
}

/// An epoch an instance's data went through, with the last commit it holds from that epoch.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub struct EpochMark {
    pub epoch: Epoch,
    pub last_ts: u64,
}

/// MAIN -> REPLICA.
#[derive(Clone, Debug, PartialEq, bincode::Encode, bincode::Decode)]
pub enum Request {
    /// The first message of a connection: the MAIN's protocol version, a fresh nonce, and
    /// whether it has a replication secret.
    Challenge {
        version: u32,
        nonce: Vec<u8>,
        secret_set: bool,
    },
    /// The MAIN's proof that it knows the secret (after it checked the replica's).
    Proof {
        proof: Vec<u8>,
    },
    /// The first message of a connection: the MAIN's epoch, the epochs its data went through
    /// before, and its newest commit.
    Hello {
        version: u32,
        main: Epoch,
        history: Vec<EpochMark>,
        main_ts: u64,
        /// The MAIN's Bolt port (a replica's routing table names it as the writer).
        bolt_port: u16,
    },
    /// "Still here": answered with the replica's newest commit.
    Heartbeat {
        main_ts: u64,
    },
    /// Commits to apply and commit, oldest first: whole WAL frames, concatenated.
    Append {
        frames: Vec<u8>,
    },
    /// STRICT_SYNC phase one: apply the commit in `frame` and hold it, uncommitted.
    Prepare {
        frame: Vec<u8>,
    },
    /// STRICT_SYNC phase two: commit (or drop) the held commit `commit_ts`.
    Finalize {
        commit_ts: u64,
        commit: bool,
    },
    /// Full resync: a snapshot file of `bytes` bytes at commit `snapshot_ts` follows in chunks.
    SnapshotBegin {
        snapshot_ts: u64,
        bytes: u64,
    },
    SnapshotChunk {
        data: Vec<u8>,
    },
    /// The snapshot is complete: replace the replica's data with it.
    SnapshotEnd,
}

/// REPLICA -> MAIN.
#[derive(Clone, Debug, PartialEq, bincode::Encode, bincode::Decode)]
pub enum Response {
    /// The answer to [`Request::Challenge`]: the replica's version, its fresh nonce, its
    /// proof over both nonces, and whether it has a replication secret.
    Challenge {
        version: u32,
        nonce: Vec<u8>,
        proof: Vec<u8>,
        secret_set: bool,
    },
    /// The replica accepted the MAIN: its data's epoch and history, its newest commit, and
    /// the Bolt port it serves clients on (for routing tables).
    Hello {
        version: u32,
        epoch: Epoch,
        history: Vec<EpochMark>,
        ts: u64,
        bolt_port: u16,
    },
    /// The replica follows a MAIN of a newer term: the sender is not the MAIN any more.
    Fenced { newer: Epoch },
    /// Done; the replica's newest commit is now `ts`.
    Ack { ts: u64 },
    /// The request failed on the replica (nothing of it was applied); `ts` is its newest commit.
    Failed { reason: String, ts: u64 },
}

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("connection: {0}")]
    Io(#[from] io::Error),
    #[error("the peer closed the connection")]
    Closed,
    #[error("bad message: {0}")]
    Bad(String),
}

impl WireError {
    /// A read that ran into the socket's timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, WireError::Io(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
    }
}

/// Encodes `message` as one frame into `out` (cleared first).
pub fn encode<T: bincode::Encode>(message: &T, out: &mut Vec<u8>) -> Result<(), WireError> {
    out.clear();
    let start = begin_frame(out);
    encode_append(message, out).map_err(|e| WireError::Bad(e.to_string()))?;
    seal_frame(out, start).map_err(|e| WireError::Bad(e.to_string()))?;
    Ok(())
}

/// Writes `message` as one frame.
pub fn write_message<T: bincode::Encode>(
    w: &mut impl Write,
    message: &T,
    buf: &mut Vec<u8>,
) -> Result<(), WireError> {
    write_message_authed(w, message, buf, None)
}

/// Writes `message` as one frame, followed by its tag when `auth` is given.
pub fn write_message_authed<T: bincode::Encode>(
    w: &mut impl Write,
    message: &T,
    buf: &mut Vec<u8>,
    auth: Option<&mut MessageAuth>,
) -> Result<(), WireError> {
    encode(message, buf)?;
    if let Some(auth) = auth {
        let tag = auth.seal(buf);
        buf.extend_from_slice(&tag);
    }
    w.write_all(buf)?;
    w.flush()?;
    Ok(())
}

/// Reads one frame and decodes it; `buf` is reused between calls.
pub fn read_message<T: bincode::Decode<()>>(
    r: &mut impl Read,
    buf: &mut Vec<u8>,
) -> Result<T, WireError> {
    read_message_authed(r, buf, None)
}

/// Reads one frame, and its tag when `auth` is given (a wrong tag: [`WireError::Bad`]), and
/// decodes it.
pub fn read_message_authed<T: bincode::Decode<()>>(
    r: &mut impl Read,
    buf: &mut Vec<u8>,
    auth: Option<&mut MessageAuth>,
) -> Result<T, WireError> {
    buf.resize(FRAME_HEADER_BYTES, 0);
    read_exact_or_closed(r, &mut buf[..])?;
    let len = u32::from_le_bytes(buf[0..4].try_into().expect("4 bytes")) as usize;
    if len > MAX_MESSAGE_BYTES {
        return Err(WireError::Bad(format!(
            "a message of {len} bytes (at most {MAX_MESSAGE_BYTES})"
        )));
    }
    buf.resize(FRAME_HEADER_BYTES + len, 0);
    read_exact_or_closed(r, &mut buf[FRAME_HEADER_BYTES..])?;
    if let Some(auth) = auth {
        let mut tag = [0u8; TAG_BYTES];
        read_exact_or_closed(r, &mut tag)?;
        if !auth.check(buf, &tag) {
            return Err(WireError::Bad(
                "message authentication failed (altered, injected or replayed on the way)".into(),
            ));
        }
    }
    let payload = match check_frame(buf) {
        RawFrame::Whole { payload, .. } => payload,
        RawFrame::Invalid { reason, .. } => return Err(WireError::Bad(reason)),
        RawFrame::Incomplete { .. } => return Err(WireError::Bad("incomplete frame".into())),
    };
    match decode_prefix::<T>(payload) {
        Ok((message, used)) if used == payload.len() => Ok(message),
        Ok(_) => Err(WireError::Bad("trailing bytes after the message".into())),
        Err(e) => Err(WireError::Bad(e)),
    }
}

fn read_exact_or_closed(r: &mut impl Read, buf: &mut [u8]) -> Result<(), WireError> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => return Err(WireError::Closed),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(WireError::Io(e)),
        }
    }
    Ok(())
}

/// Splits concatenated WAL frames into their records, checking each.
pub fn decode_frames(mut frames: &[u8]) -> Result<Vec<storage::CommitRecord>, String> {
    let mut records = Vec::new();
    while !frames.is_empty() {
        match durability::codec::decode_frame(frames) {
            durability::codec::Frame::Record { record, len } => {
                records.push(record);
                frames = &frames[len..];
            }
            durability::codec::Frame::Incomplete { .. } => {
                return Err("a commit frame is cut short".into())
            }
            durability::codec::Frame::Invalid { reason, .. } => return Err(reason),
        }
    }
    Ok(records)
}

/// Polls `stream` for input for up to `spin` without sleeping, yielding the core between looks
/// (so another thread or process that is ready runs meanwhile); returns when input (or EOF, or
/// an error, which the caller's read reports) is there, or when `spin` has passed. Waking a
/// sleeping thread costs tens of microseconds on a virtual machine, about as long as a small
/// replication request takes to answer.
pub fn poll_readable(stream: &std::net::TcpStream, spin: std::time::Duration) {
    use std::os::fd::AsRawFd;
    if spin.is_zero() {
        return;
    }
    let until = std::time::Instant::now() + spin;
    let fd = stream.as_raw_fd();
    let mut byte = 0u8;
    loop {
        // SAFETY: a one-byte peek into a valid buffer on an open socket: it changes nothing
        // (MSG_PEEK) and never blocks (MSG_DONTWAIT).
        let n = unsafe {
            libc::recv(
                fd,
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        if n >= 0 || std::time::Instant::now() >= until {
            return;
        }
        let err = std::io::Error::last_os_error().kind();
        if err != std::io::ErrorKind::WouldBlock && err != std::io::ErrorKind::Interrupted {
            return;
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_for_input_returns_when_it_arrives_or_when_the_spin_is_over() {
        use std::io::Write;
        use std::time::{Duration, Instant};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        // Nothing to read: the poll gives up after its spin.
        let started = Instant::now();
        poll_readable(&server, Duration::from_millis(20));
        assert!(started.elapsed() >= Duration::from_millis(20));
        // Input already there: it returns at once, and the input is still unread.
        client.write_all(b"x").unwrap();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            poll_readable(&server, Duration::from_secs(10));
            let mut byte = [0u8; 1];
            if server.peek(&mut byte).unwrap_or(0) == 1 {
                break;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        let mut byte = [0u8; 1];
        assert_eq!(server.peek(&mut byte).unwrap(), 1);
        // The peer closing ends the poll too.
        let mut reader = &server;
        std::io::Read::read_exact(&mut reader, &mut byte).unwrap();
        drop(client);
        let started = Instant::now();
        poll_readable(&server, Duration::from_secs(10));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn messages_round_trip_and_damage_is_refused() {
        let hello = Request::Hello {
            version: PROTOCOL_VERSION,
            main: Epoch::new(3),
            history: vec![EpochMark {
                epoch: Epoch::new(1),
                last_ts: 9,
            }],
            main_ts: 12,
            bolt_port: 7687,
        };
        let mut wire = Vec::new();
        let mut buf = Vec::new();
        write_message(&mut wire, &hello, &mut buf).unwrap();
        let back: Request = read_message(&mut &wire[..], &mut buf).unwrap();
        assert_eq!(back, hello);

        let mut flipped = wire.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(
            read_message::<Request>(&mut &flipped[..], &mut buf),
            Err(WireError::Bad(_))
        ));
        assert!(matches!(
            read_message::<Request>(&mut &wire[..wire.len() - 1], &mut buf),
            Err(WireError::Closed)
        ));
        // With a secret: a tag follows each frame; a tampered or replayed message is refused.
        use crate::auth::{nonce, Secret, Side};
        let secret = Secret::new(Some("k"));
        let (m, r) = (nonce(), nonce());
        let mut main = MessageAuth::new(&secret, Side::Main, &m, &r).unwrap();
        let mut replica = MessageAuth::new(&secret, Side::Replica, &m, &r).unwrap();
        let mut tagged = Vec::new();
        write_message_authed(&mut tagged, &hello, &mut buf, Some(&mut main)).unwrap();
        assert_eq!(tagged.len(), wire.len() + TAG_BYTES);
        let back: Request =
            read_message_authed(&mut &tagged[..], &mut buf, Some(&mut replica)).unwrap();
        assert_eq!(back, hello);
        assert!(matches!(
            read_message_authed::<Request>(&mut &tagged[..], &mut buf, Some(&mut replica)),
            Err(WireError::Bad(_))
        ));
        let mut huge = wire.clone();
        huge[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            read_message::<Request>(&mut &huge[..], &mut buf),
            Err(WireError::Bad(_))
        ));
    }
}
