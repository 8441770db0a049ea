//! The database side of a Bolt session: implements [`bolt::session::Backend`] over a
//! [`query::Session`]. One per connection; it lives on the connection's thread.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bolt::packstream::Value as BoltValue;
use bolt::session::{Backend, Failure, RecordWriter, RunSuccess, StreamEnd};
use query::{Engine, QueryError, Summary};

use crate::auth::{UserStore, LOGIN_REFUSED};

/// A `PULL {n: -1}` pauses once the connection's output holds this much (see
/// [`StreamEnd::paused`]); the connection sends it and comes back for the rest.
const PULL_PAUSE_BYTES: usize = 1 << 20;
/// Rows per step of a `PULL {n: -1}` between looks at the output's size.
const PULL_STEP_ROWS: i64 = 256;
use crate::convert;

pub struct DbBackend {
    session: query::Session,
    engine: Arc<Engine>,
    /// `ip:port` of this end of the connection (ROUTE's fallback for its own address).
    local_address: Option<String>,
    /// Open result streams by qid, with the time each RUN started (for `t_last`).
    streams: HashMap<i64, (query::Stream, Instant)>,
    /// The database name reported in summaries.
    db: &'static str,
    /// The last request failed because a RESET interrupted it (it is then answered IGNORED).
    interrupted: bool,
    /// The users HELLO/LOGON are checked against.
    users: Arc<UserStore>,
    /// The user this connection logged in as (`None`: not logged in, or no users exist).
    user: Option<String>,
}

pub fn failure(e: &QueryError) -> Failure {
    Failure::new(e.code(), e.to_string())
}

impl DbBackend {
    pub fn new(
        engine: &Arc<Engine>,
        local_address: Option<String>,
        users: Arc<UserStore>,
    ) -> DbBackend {
        DbBackend {
            users,
            user: None,
            session: engine.session(),
            engine: engine.clone(),
            local_address,
            streams: HashMap::new(),
            db: "memgraph",
            interrupted: false,
        }
    }

    /// Installs the connection's check for a RESET arriving while a query runs.
    pub fn set_interrupt_probe(&mut self, probe: query::ops::InterruptProbe) {
        self.session.set_interrupt_probe(probe);
    }

    fn summary_metadata(&self, s: &Summary) -> Vec<(String, BoltValue)> {
        let mut md = vec![
            (
                "type".to_string(),
                BoltValue::String(s.query_type.code().into()),
            ),
            ("db".to_string(), BoltValue::String(self.db.into())),
        ];
        let stats = s.stats.entries();
        if !stats.is_empty() {
            let mut m: Vec<(String, BoltValue)> = stats
                .into_iter()
                .map(|(k, v)| (k.to_string(), BoltValue::Int(v)))
                .collect();
            m.push(("contains-updates".into(), BoltValue::Bool(true)));
            md.push(("stats".to_string(), BoltValue::Map(m)));
        }
        if let Some(ts) = s.commit_ts {
            md.push(("bookmark".to_string(), BoltValue::String(bookmark(ts))));
        }
        if !s.notifications.is_empty() {
            let list = s
                .notifications
                .iter()
                .map(|n| {
                    BoltValue::Map(vec![
                        ("severity".into(), BoltValue::String(n.severity.clone())),
                        ("code".into(), BoltValue::String(n.code.clone())),
                        ("title".into(), BoltValue::String(n.title.clone())),
                        (
                            "description".into(),
                            BoltValue::String(n.description.clone()),
                        ),
                    ])
                })
                .collect();
            md.push(("notifications".to_string(), BoltValue::List(list)));
        }
        md
    }

    fn finish(&mut self, qid: i64, out: query::PullOutcome) -> StreamEnd {
        if out.has_more {
            return StreamEnd::more();
        }
        let started = self.streams.remove(&qid).map(|(_, t)| t);
        let t_last = started.map_or(0, |t| t.elapsed().as_millis() as i64);
        let md = self.summary_metadata(&out.summary.unwrap_or_default());
        StreamEnd::done(t_last, md)
    }

    /// Every failure leaves the connection FAILED (or INTERRUPTED) until a RESET, which rolls
    /// the explicit transaction back, so nothing can commit it any more. Roll it back now: until
    /// then its uncommitted writes would make other transactions conflict (Neo4j and Memgraph
    /// also end a transaction at its first error).
    fn fail(&mut self, e: &QueryError) -> Failure {
        self.interrupted = matches!(e, QueryError::Interrupted);
        if self.session.in_transaction() {
            self.streams.clear();
            // Cannot fail: there is a transaction to roll back.
            let _ = self.session.rollback();
        }
        failure(e)
    }

    /// Takes an open stream out of the map (put it back if it has more rows).
    fn take_stream(&mut self, qid: i64) -> Result<(query::Stream, Instant), Failure> {
        self.streams.remove(&qid).ok_or_else(|| {
            Failure::request_invalid(format!("There is no open result with qid {qid}."))
        })
    }
}

/// Bookmarks name the commit timestamp: `ferrograph:<ts>`.
fn bookmark(ts: u64) -> String {
    format!("ferrograph:{ts}")
}

impl Backend for DbBackend {
    /// With no users, anyone may connect with any scheme (as Memgraph). Once a user exists,
    /// the token must be `basic` with that user's name and password. The (slow) password check
    /// runs here, on the connection's worker, with no lock held.
    fn authenticate(&mut self, auth: &[(String, BoltValue)]) -> Result<(), Failure> {
        self.user = None;
        if !self.users.has_users() {
            return Ok(());
        }
        let field = |key: &str| {
            auth.iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| match v {
                    BoltValue::String(s) => Some(s.as_str()),
                    _ => None,
                })
        };
        let (principal, credentials) = match (field("scheme"), field("principal")) {
            (Some("basic"), Some(principal)) => (principal, field("credentials").unwrap_or("")),
            _ => {
                tracing::info!("login refused: users exist and no user name was given");
                return Err(Failure::unauthorized(LOGIN_REFUSED));
            }
        };
        if self.users.verify(principal, credentials) {
            tracing::debug!(user = principal, "logged in");
            self.user = Some(principal.to_lowercase());
            Ok(())
        } else {
            tracing::info!(
                user = principal,
                "login refused: wrong user name or password"
            );
            Err(Failure::unauthorized(LOGIN_REFUSED))
        }
    }

    fn logoff(&mut self) {
        self.user = None;
    }

    fn begin(&mut self, _extra: &[(String, BoltValue)]) -> Result<(), Failure> {
        self.session.begin().map_err(|e| self.fail(&e))
    }

    fn run(
        &mut self,
        query: &str,
        params: Vec<(String, BoltValue)>,
        _extra: &[(String, BoltValue)],
        explicit: bool,
        qid: i64,
    ) -> Result<RunSuccess, Failure> {
        let started = Instant::now();
        let params = convert::params_from_bolt(params).map_err(|e| self.fail(&e))?;
        let stream = self
            .session
            .run_owned(query, params, explicit)
            .map_err(|e| self.fail(&e))?;
        let fields = stream.columns().to_vec();
        self.streams.insert(qid, (stream, started));
        Ok(RunSuccess {
            fields,
            t_first_ms: started.elapsed().as_millis() as i64,
            metadata: Vec::new(),
        })
    }

    fn pull(
        &mut self,
        qid: i64,
        n: i64,
        records: &mut RecordWriter<'_>,
    ) -> Result<StreamEnd, Failure> {
        let version = records.version();
        let (mut stream, started) = self.take_stream(qid)?;
        // What the output buffer holds, as of the last record (read between pull steps).
        let buffered = std::cell::Cell::new(records.buffered_bytes());
        let mut sink = |row: &[query::Value], tx: Option<&storage::Transaction>| {
            let mut err = None;
            records.write_record_with(row.len(), |p| {
                for v in row {
                    if let Err(e) = convert::write_value(p, v, tx, version) {
                        // Keep the record well-formed; the error fails the PULL right after.
                        p.write_null();
                        err.get_or_insert(e);
                    }
                }
            });
            buffered.set(records.buffered_bytes());
            match err {
                Some(e) => Err(e),
                None => Ok(()),
            }
        };
        // `n == -1` (all of it): in steps, pausing once a buffer's worth is written, so a huge
        // result goes out as the client takes it instead of being encoded whole in memory.
        let result = if n == -1 {
            loop {
                match self.session.pull(&mut stream, PULL_STEP_ROWS, &mut sink) {
                    Ok(out) if out.has_more && buffered.get() >= PULL_PAUSE_BYTES => {
                        self.streams.insert(qid, (stream, started));
                        return Ok(StreamEnd::paused());
                    }
                    Ok(out) if out.has_more => continue,
                    other => break other,
                }
            }
        } else {
            self.session.pull(&mut stream, n, &mut sink)
        };
        self.streams.insert(qid, (stream, started));
        match result {
            Ok(out) => Ok(self.finish(qid, out)),
            Err(e) => {
                self.streams.remove(&qid);
                Err(self.fail(&e))
            }
        }
    }

    fn discard(&mut self, qid: i64, _n: i64) -> Result<StreamEnd, Failure> {
        let (mut stream, started) = self.take_stream(qid)?;
        let out = self
            .session
            .discard(&mut stream)
            .map_err(|e| self.fail(&e))?;
        self.streams.insert(qid, (stream, started));
        Ok(self.finish(qid, out))
    }

    fn commit(&mut self) -> Result<Vec<(String, BoltValue)>, Failure> {
        self.streams.clear();
        let (ts, notifications) = self.session.commit().map_err(|e| self.fail(&e))?;
        // COMMIT's SUCCESS carries what the commit reported (SYNC replication warnings).
        let summary = Summary {
            commit_ts: ts,
            notifications,
            ..Summary::default()
        };
        Ok(self
            .summary_metadata(&summary)
            .into_iter()
            .filter(|(k, _)| k == "bookmark" || k == "notifications")
            .collect())
    }

    fn rollback(&mut self) -> Result<(), Failure> {
        self.streams.clear();
        self.session.rollback().map_err(|e| self.fail(&e))
    }

    fn take_interrupt(&mut self) -> bool {
        std::mem::take(&mut self.interrupted)
    }

    fn reset(&mut self) {
        self.interrupted = false;
        self.streams.clear();
        self.session.reset();
    }

    /// ROUTE (beyond Memgraph Community, which refuses it): a MAIN names itself as the
    /// writer and its ready replicas (or itself, with none) as readers; a replica names its
    /// MAIN as the writer and itself as a reader. Every instance named is also a router, so a
    /// `neo4j://` driver pointed at any of them finds the others.
    fn route(
        &mut self,
        routing: &[(String, BoltValue)],
        _bookmarks: &[String],
        db: Option<&str>,
    ) -> Result<Vec<(String, BoltValue)>, Failure> {
        let me = routing
            .iter()
            .find(|(k, _)| k == "address")
            .and_then(|(_, v)| match v {
                BoltValue::String(s) => Some(s.clone()),
                _ => None,
            })
            .or_else(|| self.local_address.clone())
            .ok_or_else(|| {
                Failure::new(
                    "Neo.ClientError.Request.Invalid",
                    "ROUTE needs the address the client connected to (the routing context's `address`).",
                )
            })?;
        let info = self
            .engine
            .replication()
            .map(|c| c.routing())
            .unwrap_or_default();
        let (writers, readers) = if info.is_replica {
            (info.main.into_iter().collect::<Vec<_>>(), vec![me.clone()])
        } else if info.replicas.is_empty() {
            (vec![me.clone()], vec![me.clone()])
        } else {
            (vec![me.clone()], info.replicas.clone())
        };
        let mut routers = vec![me];
        for a in writers.iter().chain(readers.iter()) {
            if !routers.contains(a) {
                routers.push(a.clone());
            }
        }
        let group = |role: &str, addresses: Vec<String>| {
            BoltValue::Map(vec![
                (
                    "addresses".into(),
                    BoltValue::List(addresses.into_iter().map(BoltValue::String).collect()),
                ),
                ("role".into(), BoltValue::String(role.into())),
            ])
        };
        let mut servers = Vec::new();
        if !writers.is_empty() {
            servers.push(group("WRITE", writers));
        }
        servers.push(group("READ", readers));
        servers.push(group("ROUTE", routers));
        Ok(vec![(
            "rt".to_string(),
            BoltValue::Map(vec![
                // Short, so that clients notice a failover quickly.
                ("ttl".into(), BoltValue::Int(10)),
                (
                    "db".into(),
                    BoltValue::String(db.unwrap_or(self.db).to_string()),
                ),
                ("servers".into(), BoltValue::List(servers)),
            ]),
        )])
    }
}
