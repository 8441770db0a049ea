//! Bolt, Neo4j's wire protocol, for ferrograph: sans-IO, both sides.
//!
//! Bytes go in, bytes and typed values come out; there are no sockets, tasks, clocks or storage
//! here. The server's connection task owns the socket and drives a [`Session`] with a
//! [`Backend`]; the bench tool, console and tests use [`client`].
//!
//! # Layout
//!
//! | module | owns |
//! |---|---|
//! | [`packstream`] | [`Value`] / [`Structure`], the [`Packer`] encoder and the bounded, panic-free [`Unpacker`] |
//! | [`graph`] | typed Node / Relationship / Path, temporal and spatial structures, per-version forms |
//! | [`chunk`] | message framing: [`ChunkDecoder`] (reassembly, NOOPs, size cap), [`write_message`] |
//! | [`handshake`] | [`Version`], version negotiation, HTTP/TLS detection |
//! | [`message`] | [`Request`] decoding, [`Response`] encoding, [`Failure`] layouts per version |
//! | [`session`] | the server state machine ([`Session`]) and the [`Backend`] it drives |
//! | [`client`] | handshake bytes, request encoding, [`client::ResponseDecoder`] |
//! | [`error`] | [`Error`], the one error type; `bolt_code()` / `is_fatal()` |
//!
//! # Versions
//!
//! Bolt 4.0–4.4 (neo4rs, pymgclient/mgconsole) and 5.0–5.4, 5.6–5.8 (neo4j drivers); never 5.5.
//! The differences the code branches on are named methods of [`Version`] (`has_element_ids`,
//! `has_logon`, `has_telemetry`, `has_route`, `has_gql_failures`).
//!
//! # Guarantees
//!
//! * No decoder panics on any input; every declared length is checked against the input before
//!   allocating; nesting depth and message size are capped (property-tested).
//! * Empty chunks are never emitted (mgclient cannot read them).
//!
//! # Not done
//!
//! Bolt 6 (handshake manifest v1, Vector and UnsupportedType structures, PackStream v2) and
//! Bolt 1–3.

pub mod chunk;
pub mod client;
pub mod error;
pub mod graph;
pub mod handshake;
pub mod message;
pub mod packstream;
pub mod session;

pub use chunk::{write_message, ChunkDecoder};
pub use error::Error;
pub use handshake::{parse_handshake, HandshakeOutcome, Version};
pub use message::{decode_request, is_reset, Failure, Request, Response};
pub use packstream::{Packer, Structure, Unpacker, Value};
pub use session::{
    Backend, RecordWriter, RunSuccess, Session, SessionAction, SessionConfig, State, StreamEnd,
};
