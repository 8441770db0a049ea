//! The interface between the session state machine and the database: [`Backend`], its result
//! types, and [`RecordWriter`], through which the backend streams RECORDs.

use crate::chunk::{begin_message, finish_message};
use crate::handshake::Version;
use crate::message::signature;
use crate::packstream::{Packer, Value};

pub use crate::message::Failure;

/// What a successful RUN reports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunSuccess {
    /// Column names, in record order.
    pub fields: Vec<String>,
    /// Milliseconds until the first record was available (`t_first`, Python's
    /// `result_available_after`). Measured by the backend; the session has no clock.
    pub t_first_ms: i64,
    /// Extra SUCCESS entries (e.g. `db` on 5.8). The session itself writes `fields`, `t_first`
    /// and (inside an explicit transaction) `qid`; entries with those keys here are dropped.
    pub metadata: Vec<(String, Value)>,
}

/// What a PULL or DISCARD reports after its records.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamEnd {
    /// True if the stream has more records (the client will PULL or DISCARD again). Only claim it
    /// when a record is really left (peek one ahead), or the client sends a useless extra PULL.
    pub has_more: bool,
    /// A `PULL {n: -1}` stopped early to let its output reach the client first: nothing is
    /// answered yet, and the session asks to get the same PULL again
    /// ([`SessionAction::Again`](super::SessionAction::Again)), which goes on with the stream.
    /// Bounds what one PULL of a huge result buffers. Only for `n == -1`.
    pub paused: bool,
    /// Milliseconds the stream took to be consumed (`t_last`); used only when `has_more` is false.
    pub t_last_ms: i64,
    /// Summary entries for the final SUCCESS (`type`, `stats`, `bookmark`, `db`,
    /// `notifications`, ...); ignored while `has_more`. The session writes `has_more` and
    /// `t_last` itself; entries with those keys here are dropped.
    pub metadata: Vec<(String, Value)>,
}

impl StreamEnd {
    /// A non-final batch.
    pub fn more() -> Self {
        StreamEnd {
            has_more: true,
            ..StreamEnd::default()
        }
    }

    /// A `PULL {n: -1}` that wrote a buffer's worth and goes on once the client took it.
    pub fn paused() -> Self {
        StreamEnd {
            has_more: true,
            paused: true,
            ..StreamEnd::default()
        }
    }

    /// The end of the stream with its summary.
    pub fn done(t_last_ms: i64, metadata: Vec<(String, Value)>) -> Self {
        StreamEnd {
            has_more: false,
            paused: false,
            t_last_ms,
            metadata,
        }
    }
}

/// The database as the session sees it. All methods are called from the session's thread, one at
/// a time, in request order.
///
/// Streams: the session assigns a `qid` to every RUN (0 for an autocommit RUN; 0, 1, 2, ... per
/// explicit transaction) and only PULLs/DISCARDs a qid it knows is open. A stream is open from a
/// successful `run` until a `pull`/`discard` returns `has_more: false`, or until `commit`,
/// `rollback` or `reset`.
///
/// Correctness requirements:
/// * an autocommit stream commits its transaction when it finishes (the final `pull`/`discard`);
///   if it fails, the backend rolls that transaction back itself;
/// * `rollback` and `reset` drop every open stream without producing records;
/// * after any `Err` the session answers everything with IGNORED until RESET and then calls
///   `reset`, so the backend may keep broken state until then, but must not commit it.
pub trait Backend {
    /// Called with the HELLO `extra` map before authentication (user_agent, routing context,
    /// ...). On 5.0 and older the same map also goes to `authenticate`.
    fn hello(&mut self, _extra: &[(String, Value)]) {}

    /// HELLO (up to 5.0, credentials inside the HELLO map) or LOGON (5.1+): check the auth token
    /// (`scheme`: missing or "none", "basic" with `principal`/`credentials`, ...). On `Err` the
    /// session sends FAILURE and closes the connection (use `Failure::unauthorized`).
    fn authenticate(&mut self, auth: &[(String, Value)]) -> Result<(), Failure>;

    /// LOGOFF (5.1+): forget the authenticated user. The session is back to needing LOGON.
    fn logoff(&mut self) {}

    /// BEGIN an explicit transaction with `extra` (bookmarks, tx_timeout, tx_metadata, mode, db,
    /// imp_user, ...).
    fn begin(&mut self, extra: &[(String, Value)]) -> Result<(), Failure>;

    /// RUN a query. `explicit` is true inside BEGIN..COMMIT (then `extra` should be ignored;
    /// neo4rs sends `{mode}` there); false for autocommit, where `extra` carries the transaction
    /// settings. `qid` is the stream id the session assigned.
    fn run(
        &mut self,
        query: &str,
        params: Vec<(String, Value)>,
        extra: &[(String, Value)],
        explicit: bool,
        qid: i64,
    ) -> Result<RunSuccess, Failure>;

    /// Writes up to `n` records of stream `qid` (`n == -1`: all of them) with `records`.
    /// Records written before an `Err` are still sent, followed by the FAILURE.
    fn pull(
        &mut self,
        qid: i64,
        n: i64,
        records: &mut RecordWriter<'_>,
    ) -> Result<StreamEnd, Failure>;

    /// Consumes up to `n` records of stream `qid` (`-1`: all) without sending them.
    fn discard(&mut self, qid: i64, n: i64) -> Result<StreamEnd, Failure>;

    /// COMMIT the explicit transaction (every stream has been consumed). Returns the SUCCESS
    /// metadata, typically `bookmark`.
    fn commit(&mut self) -> Result<Vec<(String, Value)>, Failure>;

    /// ROLLBACK the explicit transaction, dropping any open streams.
    fn rollback(&mut self) -> Result<(), Failure>;

    /// RESET, GOODBYE, end of input or a fatal protocol error: drop all streams and roll back
    /// any transaction (including one opened by a Cypher `BEGIN` statement). Must not fail.
    fn reset(&mut self);

    /// Whether the call that just failed was stopped because a RESET arrived while it ran (the
    /// server's interrupt check fired); clears the flag. The session then answers that request
    /// with IGNORED instead of FAILURE, as Neo4j does for requests a RESET overtook. Called only
    /// after a `run`/`pull`/`discard`/`begin`/`commit`/`rollback`/`route` error.
    fn take_interrupt(&mut self) -> bool {
        false
    }

    /// ROUTE (4.3+): return the SUCCESS metadata, i.e. `[("rt", {ttl, db, servers})]`.
    fn route(
        &mut self,
        routing: &[(String, Value)],
        bookmarks: &[String],
        db: Option<&str>,
    ) -> Result<Vec<(String, Value)>, Failure>;
}

/// Writes framed RECORD messages into the session's output buffer.
///
/// Graph values must use the negotiated [`version`](Self::version)'s structures
/// (`Node::to_value(records.version())`, `Packer::write_node_with(records.version(), ...)`).
#[derive(Debug)]
pub struct RecordWriter<'a> {
    out: &'a mut Vec<u8>,
    version: Version,
    records: u64,
}

impl<'a> RecordWriter<'a> {
    pub fn new(out: &'a mut Vec<u8>, version: Version) -> Self {
        RecordWriter {
            out,
            version,
            records: 0,
        }
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// Records written so far by this writer.
    pub fn records_written(&self) -> u64 {
        self.records
    }

    /// Size of the whole output buffer, so a backend can stop a batch early and report
    /// `has_more` instead of buffering an unbounded amount.
    pub fn buffered_bytes(&self) -> usize {
        self.out.len()
    }

    /// Writes one RECORD from values.
    pub fn write_record(&mut self, values: &[Value]) {
        self.write_record_with(values.len(), |p| {
            for v in values {
                p.write_value(v);
            }
        });
    }

    /// Writes one RECORD of `len` values that `write_values` packs directly: it must write
    /// exactly `len` complete values (checked in debug builds).
    pub fn write_record_with(&mut self, len: usize, write_values: impl FnOnce(&mut Packer<'_>)) {
        let start = begin_message(self.out);
        let payload_start = self.out.len();
        // neo4rs 0.8 (the Bolt 4.0/4.1 client besides mgclient, which reads either form) misreads
        // tiny negative ints: give it the wide form.
        let mut p = if self.version <= Version::V4_1 {
            Packer::with_wide_negative_tiny_ints(self.out)
        } else {
            Packer::new(self.out)
        };
        p.write_struct_header(signature::RECORD, 1);
        p.write_list_header(len);
        write_values(&mut p);
        debug_assert!(
            is_single_value(&self.out[payload_start + 2..]),
            "write_record_with: the closure did not write exactly {len} values"
        );
        finish_message(self.out, start);
        self.records += 1;
    }
}

/// Whether `bytes` is exactly one well-formed PackStream value (the debug check of
/// [`RecordWriter::write_record_with`]).
fn is_single_value(bytes: &[u8]) -> bool {
    let mut u = crate::packstream::Unpacker::new(bytes);
    match u.skip_value() {
        Ok(()) => u.is_at_end(),
        // Deeper than a decoder accepts: legal to send, just not checkable here.
        Err(crate::Error::TooDeep { .. }) => true,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_framed() {
        let mut out = Vec::new();
        let mut w = RecordWriter::new(&mut out, Version::V5_0);
        w.write_record(&[1.into()]);
        w.write_record_with(2, |p| {
            p.write_int(2);
            p.write_string("a");
        });
        assert_eq!(w.records_written(), 2);
        assert_eq!(
            out,
            [
                0x00, 0x04, 0xB1, 0x71, 0x91, 0x01, 0x00, 0x00, //
                0x00, 0x06, 0xB1, 0x71, 0x92, 0x02, 0x81, b'a', 0x00, 0x00
            ]
        );
    }

    #[test]
    fn tiny_negative_ints_are_wide_on_4_1_and_tiny_on_4_4() {
        let mut out = Vec::new();
        RecordWriter::new(&mut out, Version::V4_1).write_record(&[(-1).into()]);
        assert_eq!(out, [0x00, 0x05, 0xB1, 0x71, 0x91, 0xC8, 0xFF, 0x00, 0x00]);
        let mut out = Vec::new();
        RecordWriter::new(&mut out, Version::V4_4).write_record(&[(-1).into()]);
        assert_eq!(out, [0x00, 0x04, 0xB1, 0x71, 0x91, 0xFF, 0x00, 0x00]);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "did not write exactly 2 values")]
    fn wrong_value_count_is_caught_in_debug() {
        let mut out = Vec::new();
        RecordWriter::new(&mut out, Version::V5_0).write_record_with(2, |p| p.write_int(1));
    }
}
