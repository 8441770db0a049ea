//! Bolt messages: requests (client to server) and responses (server to client).
//!
//! A message is one PackStream structure whose tag is the message signature; its fields are
//! values (nested structures are value structures, never messages).
//!
//! * [`Request`] / [`decode_request`] — the server side's view of client messages, version-aware
//!   (LOGON/LOGOFF only on 5.1+, TELEMETRY on 5.4+, ROUTE on 4.3+). [`is_reset`] recognises a
//!   RESET payload without decoding it, for the reader that must let RESET jump the queue.
//! * [`Response`] — SUCCESS / RECORD / IGNORED / FAILURE, encoded with [`Response::encode`] or
//!   the `write_*` functions (which frame straight into the output buffer) and decoded with
//!   [`Response::decode`] (client side).
//! * [`Failure`] — a Neo4j status code plus message, laid out per version by [`write_failure`]
//!   (`{code, message}` before 5.7, the GQL layout from 5.7).
//!
//! Client-side request encoding lives in [`crate::client`].

mod failure;
mod request;
mod response;

pub use failure::{Classification, Failure};
pub use request::{decode_request, is_reset, Request};
pub use response::{write_failure, write_ignored, write_success, Response};

/// Message signatures (the structure tag of a message).
pub mod signature {
    pub const HELLO: u8 = 0x01;
    pub const GOODBYE: u8 = 0x02;
    pub const RESET: u8 = 0x0F;
    pub const RUN: u8 = 0x10;
    pub const BEGIN: u8 = 0x11;
    pub const COMMIT: u8 = 0x12;
    pub const ROLLBACK: u8 = 0x13;
    pub const DISCARD: u8 = 0x2F;
    pub const PULL: u8 = 0x3F;
    pub const TELEMETRY: u8 = 0x54;
    pub const ROUTE: u8 = 0x66;
    pub const LOGON: u8 = 0x6A;
    pub const LOGOFF: u8 = 0x6B;
    pub const SUCCESS: u8 = 0x70;
    pub const RECORD: u8 = 0x71;
    pub const IGNORED: u8 = 0x7E;
    pub const FAILURE: u8 = 0x7F;
}
