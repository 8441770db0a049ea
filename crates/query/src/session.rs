//! Sessions, transactions and result streams: what the Bolt layer drives.
//!
//! A [`Session`] belongs to one client connection. It holds at most one explicit transaction
//! (opened by Bolt BEGIN or by the Cypher statement `BEGIN`, which pymgclient sends) and hands out
//! [`Stream`]s, one per RUN. An autocommit stream owns its own transaction and commits it when
//! the last row has been pulled; a stream inside an explicit transaction borrows the session's
//! transaction for each pull, so several streams can be open in one transaction (Bolt `qid`).

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use storage::Transaction;

use crate::admin::Admin;
use crate::dump::{Dump, DUMP_COLUMN};
use crate::error::{QueryError, Result};
use crate::expr::Frame;
use crate::ops::{BoxCursor, ExecCtx, Guard, InterruptProbe, Stats, TxRef};
use crate::plan::PROFILE_COLUMNS;
use crate::planner::{Plan, QueryPlan, QueryType};
use crate::value::Value;
use crate::Engine;

/// What a finished stream reports in the Bolt summary.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub stats: Stats,
    pub query_type: QueryType,
    /// The commit timestamp of an autocommit write (the bookmark).
    pub commit_ts: Option<u64>,
    /// Extra rows of EXPLAIN / PROFILE are returned as rows; nothing here yet.
    pub notifications: Vec<Notification>,
}

#[derive(Clone, Debug)]
pub struct Notification {
    pub severity: String,
    pub code: String,
    pub title: String,
    pub description: String,
}

/// Where a stream's rows come from.
/// The parameters of a run, lent or given.
enum Params<'a> {
    Borrowed(&'a HashMap<String, Value>),
    Owned(HashMap<String, Value>),
}

enum Source {
    /// A cursor tree over the graph.
    Cursor {
        cursor: BoxCursor,
        frame: Frame,
        out_slots: Arc<Vec<usize>>,
        params: Vec<Value>,
        /// Values of a row pulled ahead to answer `has_more` exactly.
        peeked: Option<Vec<Value>>,
    },
    /// Rows computed up front (EXPLAIN, transaction control, admin statements).
    Rows(std::vec::IntoIter<Vec<Value>>),
    /// `DUMP DATABASE`: statements made as they are pulled.
    Dump {
        dump: Box<Dump>,
        /// A statement made ahead to answer `has_more` exactly.
        peeked: Option<String>,
    },
}

pub struct Stream {
    columns: Vec<String>,
    source: Source,
    /// Some: an autocommit stream with its own transaction.
    own_tx: Option<Transaction>,
    stats: Stats,
    query_type: QueryType,
    guard: Guard,
    done: bool,
    /// The commit timestamp of work done before the rows were ready (PROFILE).
    committed: Option<u64>,
    /// Notifications known before the rows (admin statements, PROFILE's commit).
    notifications: Vec<Notification>,
    /// `USING PERIODIC COMMIT n`: the autocommit transaction is committed, and a new one
    /// begun, after every `n` rows of the query's plan.
    periodic: Option<u64>,
}

/// What one pull reports.
#[derive(Debug)]
pub struct PullOutcome {
    pub has_more: bool,
    /// Present when the stream finished (and, for autocommit, committed).
    pub summary: Option<Summary>,
}

impl Stream {
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    pub fn query_type(&self) -> QueryType {
        self.query_type
    }

    fn rows(columns: Vec<String>, rows: Vec<Vec<Value>>, query_type: QueryType) -> Stream {
        Stream {
            columns,
            source: Source::Rows(rows.into_iter()),
            own_tx: None,
            stats: Stats::default(),
            query_type,
            guard: Guard::unlimited(),
            done: false,
            committed: None,
            notifications: Vec::new(),
            periodic: None,
        }
    }
}

impl Notification {
    /// A WARNING for what a commit reported (e.g. `SyncReplicationFailure`).
    pub fn warning(code: &str, title: &str) -> Notification {
        Notification {
            severity: "WARNING".into(),
            code: code.into(),
            title: title.into(),
            description: title.into(),
        }
    }
}

/// The notifications of a commit's warnings.
fn commit_notifications(info: &storage::CommitInfo) -> Vec<Notification> {
    info.warnings
        .iter()
        .map(|w| Notification::warning(&w.code, &w.title))
        .collect()
}

/// A row sink: gets each row's values and the transaction to read graph elements from (`None`
/// for rows computed without one, e.g. EXPLAIN's, which hold no graph elements).
pub type RowSink<'a> = dyn FnMut(&[Value], Option<&Transaction>) -> Result<()> + 'a;

pub struct Session {
    engine: Arc<Engine>,
    tx: Option<Transaction>,
    interrupt: Arc<AtomicBool>,
    probe: Option<InterruptProbe>,
}

impl Session {
    pub(crate) fn new(engine: Arc<Engine>) -> Session {
        Session {
            engine,
            tx: None,
            interrupt: Arc::new(AtomicBool::new(false)),
            probe: None,
        }
    }

    /// Installs the check running queries make to notice an interrupt from outside (the Bolt
    /// connection peeks its socket for a RESET).
    pub fn set_interrupt_probe(&mut self, probe: InterruptProbe) {
        self.probe = Some(probe);
    }

    /// Set by the I/O layer to cancel the running query (a RESET arrived).
    pub fn interrupt_flag(&self) -> Arc<AtomicBool> {
        self.interrupt.clone()
    }

    pub fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }

    /// Bolt BEGIN or Cypher `BEGIN`.
    pub fn begin(&mut self) -> Result<()> {
        if self.tx.is_some() {
            return Err(QueryError::Transaction(
                "Transaction already open: nested transactions are not supported.".into(),
            ));
        }
        self.tx = Some(self.engine.storage().begin());
        Ok(())
    }

    /// Bolt COMMIT or Cypher `COMMIT`; returns the commit timestamp of a write transaction
    /// and what the commit reported (replication warnings).
    pub fn commit(&mut self) -> Result<(Option<u64>, Vec<Notification>)> {
        let tx = self.tx.take().ok_or_else(|| {
            QueryError::Transaction("There is no open transaction to commit.".into())
        })?;
        let info = tx.commit()?;
        Ok((info.commit_ts, commit_notifications(&info)))
    }

    /// Bolt ROLLBACK or Cypher `ROLLBACK`.
    pub fn rollback(&mut self) -> Result<()> {
        match self.tx.take() {
            Some(tx) => {
                tx.abort();
                Ok(())
            }
            None => Err(QueryError::Transaction(
                "There is no open transaction to roll back.".into(),
            )),
        }
    }

    /// RESET / disconnect: roll back whatever is open and clear the interrupt flag.
    pub fn reset(&mut self) {
        if let Some(tx) = self.tx.take() {
            tx.abort();
        }
        self.interrupt
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    fn guard(&self) -> Guard {
        let secs = self.engine.config().query_timeout_sec;
        Guard {
            interrupt: self.interrupt.clone(),
            deadline: (secs > 0).then(|| (Instant::now() + Duration::from_secs(secs), secs)),
            probe: self.probe.clone(),
            memory_limit: self.engine.config().memory_limit_bytes,
        }
    }

    /// Plans (or fetches from the cache) and starts a query. `explicit` says whether the client
    /// is inside a Bolt explicit transaction (then the Cypher statements BEGIN/COMMIT/ROLLBACK
    /// are refused, as they would nest).
    pub fn run(
        &mut self,
        text: &str,
        params: &HashMap<String, Value>,
        explicit: bool,
    ) -> Result<Stream> {
        self.run_params(text, Params::Borrowed(params), explicit)
    }

    /// [`run`](Self::run) taking the parameters by value: they move into the query instead of
    /// being copied (a large batch parameter is then never duplicated).
    pub fn run_owned(
        &mut self,
        text: &str,
        params: HashMap<String, Value>,
        explicit: bool,
    ) -> Result<Stream> {
        self.run_params(text, Params::Owned(params), explicit)
    }

    fn run_params(&mut self, text: &str, params: Params<'_>, explicit: bool) -> Result<Stream> {
        let plan = self.engine.plan(text)?;
        match &*plan {
            Plan::Begin | Plan::Commit | Plan::Rollback if explicit => Err(QueryError::Transaction(
                "Transaction control statements are not allowed inside an explicit Bolt transaction."
                    .into(),
            )),
            Plan::Begin => {
                self.begin()?;
                Ok(Stream::rows(vec![], vec![], QueryType::Read))
            }
            Plan::Commit => {
                let (_, notifications) = self.commit()?;
                let mut stream = Stream::rows(vec![], vec![], QueryType::Write);
                stream.notifications = notifications;
                Ok(stream)
            }
            Plan::Rollback => {
                self.rollback()?;
                Ok(Stream::rows(vec![], vec![], QueryType::Read))
            }
            Plan::Explain(lines) => Ok(Stream::rows(
                vec!["QUERY PLAN".into()],
                lines.iter().map(|l| vec![Value::String(l.clone())]).collect(),
                QueryType::Read,
            )),
            Plan::Admin(Admin::DumpDatabase) => Ok(self.dump()),
            Plan::Admin(admin) => {
                if let Some(message) = admin.refused_in_transaction() {
                    if explicit || self.tx.is_some() {
                        return Err(QueryError::Transaction(message.into()));
                    }
                }
                let lookup = |name: &str| match &params {
                    Params::Borrowed(m) => m.get(name).cloned(),
                    Params::Owned(m) => m.get(name).cloned(),
                };
                let result = admin.run(&self.engine, &lookup)?;
                let mut stream = Stream::rows(result.columns, result.rows, result.query_type);
                stream.notifications = result.notifications;
                Ok(stream)
            }
            Plan::Query(q) => self.start(q, params),
            Plan::Profile(q) => self.profile(q, params, explicit),
        }
    }

    /// `DUMP DATABASE`: a lazy stream over the session's transaction, or its own one (a
    /// snapshot, committed, read-only, when the last row is pulled).
    fn dump(&mut self) -> Stream {
        let own_tx = match self.tx {
            Some(_) => None,
            None => Some(self.engine.storage().begin()),
        };
        self.interrupt
            .store(false, std::sync::atomic::Ordering::Relaxed);
        Stream {
            columns: vec![DUMP_COLUMN.to_string()],
            source: Source::Dump {
                dump: Box::new(Dump::new(&self.engine.storage())),
                peeked: None,
            },
            own_tx,
            stats: Stats::default(),
            query_type: QueryType::Read,
            guard: self.guard(),
            done: false,
            committed: None,
            notifications: Vec::new(),
            periodic: None,
        }
    }

    /// PROFILE: runs the query to the end in its own transaction (its writes commit, its rows
    /// are dropped) through counting cursors, then streams the per-operator table.
    fn profile(&mut self, q: &QueryPlan, params: Params<'_>, explicit: bool) -> Result<Stream> {
        if explicit || self.tx.is_some() {
            // The run commits on its own: it cannot be part of the open transaction.
            return Err(QueryError::Admin(
                "PROFILE not allowed in multicommand transactions.".into(),
            ));
        }
        let params = Self::bind_params(q, params)?;
        self.refuse_write(q)?;
        self.interrupt
            .store(false, std::sync::atomic::Ordering::Relaxed);
        let guard = self.guard();
        let mut tx = self.engine.storage().begin();
        let mut stats = Stats::default();
        let (mut cursor, profile) = q.root.build_profiled();
        let mut frame = vec![Value::Null; q.frame_size];
        let run = {
            let mut ctx = ExecCtx::new(TxRef::Exclusive(&mut tx), &params, &mut stats, &guard);
            guard.check().and_then(|()| {
                while cursor.pull(&mut frame, &mut ctx)? {}
                Ok(())
            })
        };
        drop(cursor);
        drop(frame);
        if let Err(e) = run {
            tx.abort();
            return Err(e);
        }
        let info = tx.commit()?;
        let mut stream = Stream::rows(
            PROFILE_COLUMNS.iter().map(|c| c.to_string()).collect(),
            profile.table(&q.root),
            q.query_type,
        );
        stream.stats = stats;
        stream.committed = info.commit_ts;
        stream.notifications = commit_notifications(&info);
        Ok(stream)
    }

    fn bind_params(q: &QueryPlan, params: Params<'_>) -> Result<Vec<Value>> {
        let missing = |name: &String| QueryError::ParameterMissing(name.clone());
        match params {
            Params::Borrowed(params) => q
                .params
                .iter()
                .map(|name| params.get(name).cloned().ok_or_else(|| missing(name)))
                .collect(),
            // The plan's parameter names are distinct, so each can be moved out.
            Params::Owned(mut params) => q
                .params
                .iter()
                .map(|name| params.remove(name).ok_or_else(|| missing(name)))
                .collect(),
        }
    }

    /// A write where writes are refused (a replica, a fenced MAIN) fails before it runs.
    fn refuse_write(&self, q: &QueryPlan) -> Result<()> {
        if q.query_type != QueryType::Read {
            if let Some(refusal) = self.engine.write_refusal() {
                return Err(QueryError::Admin(refusal));
            }
        }
        Ok(())
    }

    fn start(&mut self, q: &QueryPlan, params: Params<'_>) -> Result<Stream> {
        let params = Self::bind_params(q, params)?;
        self.refuse_write(q)?;
        if q.periodic_commit.is_some() && self.tx.is_some() {
            // Neo4j's words (and class) for the same refusal.
            return Err(QueryError::semantic(
                "Executing queries that use periodic commit in an open transaction is not possible.",
            ));
        }
        let own_tx = match self.tx {
            Some(_) => None,
            None => Some(self.engine.storage().begin()),
        };
        self.interrupt
            .store(false, std::sync::atomic::Ordering::Relaxed);
        Ok(Stream {
            columns: q.columns.clone(),
            source: Source::Cursor {
                cursor: q.root.build(),
                frame: vec![Value::Null; q.frame_size],
                out_slots: q.out_slots.clone(),
                params,
                peeked: None,
            },
            own_tx,
            stats: Stats::default(),
            query_type: q.query_type,
            guard: self.guard(),
            done: false,
            committed: None,
            notifications: Vec::new(),
            periodic: q.periodic_commit,
        })
    }

    /// Pulls up to `n` rows (`n < 0`: all) into `sink`. When the stream ends, an autocommit
    /// stream commits and the summary is returned. On error the stream is finished and an
    /// autocommit transaction is rolled back (dropped).
    pub fn pull(
        &mut self,
        stream: &mut Stream,
        n: i64,
        sink: &mut RowSink<'_>,
    ) -> Result<PullOutcome> {
        if stream.done {
            return Ok(PullOutcome {
                has_more: false,
                summary: Some(Summary::default()),
            });
        }
        let result = self.pull_rows(stream, n, sink);
        match result {
            Ok(true) => Ok(PullOutcome {
                has_more: true,
                summary: None,
            }),
            Ok(false) => {
                stream.done = true;
                let mut notifications = std::mem::take(&mut stream.notifications);
                let commit_ts = match stream.own_tx.take() {
                    Some(tx) => {
                        let info = tx.commit()?;
                        notifications.extend(commit_notifications(&info));
                        info.commit_ts
                    }
                    None => stream.committed.take(),
                };
                Ok(PullOutcome {
                    has_more: false,
                    summary: Some(Summary {
                        stats: std::mem::take(&mut stream.stats),
                        query_type: stream.query_type,
                        commit_ts,
                        notifications,
                    }),
                })
            }
            Err(e) => {
                stream.done = true;
                if let Some(tx) = stream.own_tx.take() {
                    tx.abort();
                }
                Err(e)
            }
        }
    }

    /// Discards the rest of a stream (still executing it, so writes happen) and finishes it.
    pub fn discard(&mut self, stream: &mut Stream) -> Result<PullOutcome> {
        self.pull(stream, -1, &mut |_, _| Ok(()))
    }

    /// `USING PERIODIC COMMIT every`: runs the query (which returns no rows) to the end,
    /// committing its own transaction after every `every` rows of the plan and going on in a
    /// new one, so each batch's writes are visible to the next and no transaction grows beyond
    /// a batch. The last batch commits as any autocommit does (in [`Session::pull`]); a failure
    /// rolls back only the batch it happened in.
    fn pull_periodic(&mut self, stream: &mut Stream, every: u64) -> Result<bool> {
        let Source::Cursor {
            cursor,
            frame,
            params,
            ..
        } = &mut stream.source
        else {
            unreachable!("only query plans commit periodically")
        };
        loop {
            let tx = stream.own_tx.as_mut().ok_or_else(|| {
                QueryError::Transaction("The transaction of this result has ended.".into())
            })?;
            stream.guard.check()?;
            let mut ctx = ExecCtx::new(
                TxRef::Exclusive(tx),
                params,
                &mut stream.stats,
                &stream.guard,
            );
            let mut rows = 0;
            while rows < every {
                if !cursor.pull(frame, &mut ctx)? {
                    return Ok(false);
                }
                rows += 1;
            }
            let batch = stream.own_tx.take().expect("checked above");
            let info = batch.commit()?;
            stream.notifications.extend(commit_notifications(&info));
            stream.own_tx = Some(self.engine.storage().begin());
        }
    }

    /// Returns whether rows remain.
    fn pull_rows(&mut self, stream: &mut Stream, n: i64, sink: &mut RowSink<'_>) -> Result<bool> {
        if let (Some(every), Source::Cursor { out_slots, .. }) = (stream.periodic, &stream.source) {
            if out_slots.is_empty() && stream.own_tx.is_some() {
                return self.pull_periodic(stream, every);
            }
        }
        let mut left = if n < 0 { u64::MAX } else { n as u64 };
        let tx: Option<&mut Transaction> = match (&mut stream.own_tx, &mut self.tx) {
            (Some(tx), _) => Some(tx),
            (None, Some(tx)) => Some(tx),
            (None, None) => None,
        };
        match &mut stream.source {
            Source::Rows(rows) => {
                let tx = tx.map(|t| &*t);
                while left > 0 {
                    let Some(row) = rows.next() else {
                        return Ok(false);
                    };
                    sink(&row, tx)?;
                    left -= 1;
                }
                Ok(rows.len() > 0)
            }
            Source::Dump { dump, peeked } => {
                let tx = tx.ok_or_else(|| {
                    QueryError::Transaction("The transaction of this result has ended.".into())
                })?;
                stream.guard.check()?;
                loop {
                    let next = match peeked.take() {
                        Some(s) => s,
                        None => match dump.next(tx, &stream.guard)? {
                            Some(s) => s,
                            None => return Ok(false),
                        },
                    };
                    if left == 0 {
                        *peeked = Some(next);
                        return Ok(true);
                    }
                    sink(&[Value::String(next)], Some(tx))?;
                    left -= 1;
                }
            }
            Source::Cursor {
                cursor,
                frame,
                out_slots,
                params,
                peeked,
            } => {
                let tx = tx.ok_or_else(|| {
                    QueryError::Transaction("The transaction of this result has ended.".into())
                })?;
                let mut ctx = ExecCtx::new(
                    TxRef::Exclusive(tx),
                    params,
                    &mut stream.stats,
                    &stream.guard,
                );
                stream.guard.check()?;
                if out_slots.is_empty() {
                    // No RETURN (a pure update): run it to the end, there are no records.
                    while cursor.pull(frame, &mut ctx)? {}
                    return Ok(false);
                }
                let mut row: Vec<Value> = Vec::with_capacity(out_slots.len());
                if let Some(p) = peeked.take() {
                    if left == 0 {
                        *peeked = Some(p);
                        return Ok(true);
                    }
                    sink(&p, Some(ctx.tx()))?;
                    left -= 1;
                }
                loop {
                    if !cursor.pull(frame, &mut ctx)? {
                        return Ok(false);
                    }
                    row.clear();
                    row.extend(
                        out_slots
                            .iter()
                            .map(|s| std::mem::replace(&mut frame[*s], Value::Null)),
                    );
                    if left == 0 {
                        *peeked = Some(std::mem::take(&mut row));
                        return Ok(true);
                    }
                    sink(&row, Some(ctx.tx()))?;
                    left -= 1;
                }
            }
        }
    }
}
