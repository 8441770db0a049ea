//! The social-graph workloads run after a load: `queries` (one client, sequential, latency per
//! query) and `mixed` (many clients reading and creating at once, throughput and latency).
//!
//! Every answer is compared with the generator's in-memory graph; the first mismatch aborts.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use bolt::client::ResponseDecoder;
use bolt::{Response, Value};
use mio::{Events, Interest, Poll, Token};

use crate::client::{failure_text, Client};
use crate::graph::{person_age, person_name, Rng, SocialGraph};
use crate::load::count_persons;
use crate::percentile;

const POINT: &str = "MATCH (p:Person {id: $id}) RETURN p.name, p.age";
const ONE_HOP: &str = "MATCH (:Person {id: $id})-[:KNOWS]->(f) RETURN count(f)";
const TWO_HOP: &str =
    "MATCH (:Person {id: $id})-[:KNOWS]->()-[:KNOWS]->(f) RETURN count(DISTINCT f)";
const AGGREGATE: &str = "MATCH (p:Person) RETURN p.age / 10 AS b, count(*) ORDER BY b";
const CREATE: &str = "CREATE (:Person {id: $id, name: $name, age: $age})";

/// What one query must return for one id.
type Expected = Vec<Vec<Value>>;

/// The timed queries of the `queries` run, in the order they run.
#[derive(Clone, Copy)]
enum Query {
    Point,
    OneHop,
    TwoHop,
    Histogram,
}

impl Query {
    const ALL: [Query; 4] = [Query::Point, Query::OneHop, Query::TwoHop, Query::Histogram];

    fn label(self) -> &'static str {
        match self {
            Query::Point => "point lookup",
            Query::OneHop => "1-hop count",
            Query::TwoHop => "2-hop distinct",
            Query::Histogram => "age histogram",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Query::Point => POINT,
            Query::OneHop => ONE_HOP,
            Query::TwoHop => TWO_HOP,
            Query::Histogram => AGGREGATE,
        }
    }

    /// The p50 target in microseconds.
    fn target_us(self) -> f64 {
        match self {
            Query::Point => 45.0,
            Query::OneHop => 85.0,
            Query::TwoHop => 150.0,
            Query::Histogram => 20_000.0,
        }
    }

    /// The query's parameters for a start person `id`.
    fn params(self, id: u64) -> Vec<(String, Value)> {
        match self {
            Query::Histogram => Vec::new(),
            _ => vec![("id".to_string(), Value::Int(id as i64))],
        }
    }

    /// What the query must return for `id`, from the generator's graph.
    fn expected(self, g: &SocialGraph, id: u64, seen: &mut Vec<bool>) -> Expected {
        match self {
            Query::Point => vec![vec![Value::String(g.name(id)), Value::Int(g.age(id))]],
            Query::OneHop => vec![vec![Value::Int(g.out(id).len() as i64)]],
            Query::TwoHop => vec![vec![Value::Int(g.two_hop_distinct(id, seen))]],
            Query::Histogram => g
                .age_histogram()
                .into_iter()
                .map(|(b, n)| vec![Value::Int(b), Value::Int(n)])
                .collect(),
        }
    }
}

/// Runs the four read queries sequentially on `c`, each `iterations` times (the aggregation
/// `agg_iterations` times) after a short checked warm-up, and prints their latencies.
pub fn queries(
    c: &mut Client,
    g: &SocialGraph,
    iterations: usize,
    agg_iterations: usize,
) -> Result<()> {
    ensure!(g.nodes > 0, "queries need at least one person");
    let mut seen = Vec::new();
    let mut rng = Rng::new(g.seed ^ 0x0051_5545_5249_4553);
    println!(
        "queries: one connection, sequential, random ids from a seeded RNG, every answer checked ({} persons, {} KNOWS)",
        g.nodes,
        g.edges.len()
    );
    for q in Query::ALL {
        let iterations = match q {
            Query::Histogram => agg_iterations,
            _ => iterations,
        };
        let histogram = q.expected(g, 0, &mut seen);
        let warmup = (iterations / 10).clamp(1, 100);
        let mut lat = Vec::with_capacity(iterations);
        for i in 0..warmup + iterations {
            let id = rng.below(g.nodes);
            let params = q.params(id);
            let want = match q {
                Query::Histogram => histogram.clone(),
                _ => q.expected(g, id, &mut seen),
            };
            let t = Instant::now();
            let rows = c.query(q.text(), &params)?;
            let took = t.elapsed();
            check(q.text(), &params, &rows, &want)?;
            if i >= warmup {
                lat.push(took);
            }
        }
        print_latencies(q, &mut lat);
    }
    Ok(())
}

fn check(text: &str, params: &[(String, Value)], got: &Expected, want: &Expected) -> Result<()> {
    ensure!(
        got == want,
        "WRONG ANSWER to `{text}` with {params:?}:\n  got      {got:?}\n  expected {want:?}"
    );
    Ok(())
}

fn print_latencies(q: Query, lat: &mut [Duration]) {
    lat.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mean = lat.iter().sum::<Duration>() / lat.len().max(1) as u32;
    let p50 = us(percentile(lat, 0.50));
    let verdict = if p50 <= q.target_us() {
        "met"
    } else {
        "MISSED"
    };
    println!(
        "  {:<15} x{:<6} p50 {:>10.1} us  p90 {:>10.1} us  p99 {:>10.1} us  mean {:>10.1} us   target p50 <= {} us: {verdict}",
        q.label(),
        lat.len(),
        p50,
        us(percentile(lat, 0.90)),
        us(percentile(lat, 0.99)),
        us(mean),
        q.target_us(),
    );
}

/// What one `mixed` client did.
#[derive(Default)]
struct ClientRun {
    reads: Vec<Duration>,
    creates: Vec<Duration>,
}

/// `clients` connections for `seconds`, each doing 80% point reads of loaded persons (checked)
/// and 20% creates of fresh persons (ids from `nodes` up, disjoint per client).
///
/// One thread drives all connections from one event loop (non-blocking sockets, `mio`): each
/// connection has one request (RUN + PULL) in flight at a time, like a driver session, and
/// sends the next as soon as the answer is checked. A thread per client would measure mostly
/// the kernel switching between the client's own threads on a small machine.
pub fn mixed(addr: &str, g: &Arc<SocialGraph>, clients: usize, seconds: f64) -> Result<()> {
    ensure!(
        g.nodes > 0 && clients > 0,
        "mixed needs at least one person and one client"
    );
    let before = count_persons(&mut Client::connect(addr)?)?;
    let mut conns = Vec::with_capacity(clients);
    for k in 0..clients {
        conns.push(MixedConn::connect(addr, g, k).with_context(|| format!("mixed client {k}"))?);
    }
    let mut poll = Poll::new()?;
    for (k, c) in conns.iter_mut().enumerate() {
        poll.registry().register(
            &mut c.stream,
            Token(k),
            Interest::READABLE | Interest::WRITABLE,
        )?;
    }
    let t = Instant::now();
    for (k, c) in conns.iter_mut().enumerate() {
        c.start(g, k, clients)
            .with_context(|| format!("mixed client {k}"))?;
    }
    let mut events = Events::with_capacity(clients.max(16));
    let mut buf = vec![0u8; 256 * 1024];
    let mut elapsed = None;
    // After the time is up no new requests start; the ones in flight are finished (their
    // creates are counted), for at most 30 s.
    while conns.iter().any(|c| c.op.is_some()) {
        let stopping = t.elapsed().as_secs_f64() >= seconds;
        if stopping && elapsed.is_none() {
            elapsed = Some(t.elapsed().as_secs_f64());
        }
        ensure!(
            t.elapsed().as_secs_f64() < seconds + 30.0,
            "mixed: requests still unanswered 30 s after the end"
        );
        poll.poll(&mut events, Some(Duration::from_millis(10)))?;
        for ev in events.iter() {
            let k = ev.token().0;
            let c = &mut conns[k];
            let r = (|| -> Result<()> {
                if ev.is_writable() {
                    c.flush()?;
                }
                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                    c.read_all(&mut buf)?;
                    c.progress(g, k, clients, !stopping)?;
                }
                Ok(())
            })();
            r.with_context(|| format!("mixed client {k}"))?;
        }
    }
    let elapsed = elapsed.unwrap_or_else(|| t.elapsed().as_secs_f64());
    let (mut reads, mut creates) = (Vec::new(), Vec::new());
    for c in conns {
        reads.extend(c.run.reads);
        creates.extend(c.run.creates);
    }
    let mut lat: Vec<Duration> = reads.iter().chain(&creates).copied().collect();
    lat.sort();
    reads.sort();
    creates.sort();
    let us = |lat: &[Duration], p| percentile(lat, p).as_secs_f64() * 1e6;
    let after = count_persons(&mut Client::connect(addr)?)?;
    ensure!(
        after - before == creates.len() as i64,
        "mixed: {} creates answered SUCCESS but the :Person count grew by {}",
        creates.len(),
        after - before
    );
    let ops = lat.len() as f64 / elapsed;
    let p99 = us(&lat, 0.99);
    println!(
        "mixed: {clients} clients for {elapsed:.1} s: {} point reads (checked) + {} creates (count verified) = {ops:.0} ops/s, p50 {:.1} us, p99 {p99:.1} us   targets >= 60000 ops/s: {}, p99 <= 2000 us: {}",
        reads.len(),
        creates.len(),
        us(&lat, 0.50),
        if ops >= 60_000.0 { "met" } else { "MISSED" },
        if p99 <= 2000.0 { "met" } else { "MISSED" },
    );
    println!(
        "  reads p50 {:.1} us, p99 {:.1} us; creates p50 {:.1} us, p99 {:.1} us",
        us(&reads, 0.50),
        us(&reads, 0.99),
        us(&creates, 0.50),
        us(&creates, 0.99),
    );
    Ok(())
}

/// The request a `mixed` connection has in flight.
struct MixedOp {
    started: Instant,
    params: Vec<(String, Value)>,
    /// `Some`: a point read with its expected rows; `None`: a create.
    want: Option<Expected>,
    /// The RUN's SUCCESS has arrived.
    run_done: bool,
    rows: Expected,
}

/// One `mixed` client: a non-blocking connection with at most one request in flight.
struct MixedConn {
    stream: mio::net::TcpStream,
    decoder: ResponseDecoder,
    out: Vec<u8>,
    sent: usize,
    rng: Rng,
    op: Option<MixedOp>,
    run: ClientRun,
}

impl MixedConn {
    fn connect(addr: &str, g: &SocialGraph, k: usize) -> Result<MixedConn> {
        // Handshake and HELLO blocking, then the socket goes non-blocking (nothing is pending).
        let c = Client::connect(addr)?;
        c.stream.set_nonblocking(true)?;
        Ok(MixedConn {
            stream: mio::net::TcpStream::from_std(c.stream),
            decoder: ResponseDecoder::new(),
            out: Vec::with_capacity(4096),
            sent: 0,
            rng: Rng::new(g.seed ^ 0x004D_4958_4544 ^ ((k as u64) << 40)),
            op: None,
            run: ClientRun::default(),
        })
    }

    /// Sends the next request: a read (80%) or a create (20%).
    fn start(&mut self, g: &SocialGraph, k: usize, clients: usize) -> Result<()> {
        let (text, params, want) = if self.rng.percent(80) {
            let id = self.rng.below(g.nodes);
            let params = vec![("id".to_string(), Value::Int(id as i64))];
            let want = vec![vec![Value::String(g.name(id)), Value::Int(g.age(id))]];
            (POINT, params, Some(want))
        } else {
            let id = g.nodes + (self.run.creates.len() * clients + k) as u64;
            let params = vec![
                ("id".to_string(), Value::Int(id as i64)),
                ("name".to_string(), Value::String(person_name(g.seed, id))),
                ("age".to_string(), Value::Int(person_age(g.seed, id))),
            ];
            (CREATE, params, None)
        };
        bolt::client::write_run(&mut self.out, text, &params, &[]);
        bolt::client::write_pull(&mut self.out, -1, None);
        self.op = Some(MixedOp {
            started: Instant::now(),
            params,
            want,
            run_done: false,
            rows: Vec::new(),
        });
        self.flush()
    }

    /// Writes what the socket takes (the rest goes when it reports writable).
    fn flush(&mut self) -> Result<()> {
        while self.sent < self.out.len() {
            match self.stream.write(&self.out[self.sent..]) {
                Ok(0) => bail!("the server stopped taking requests"),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.out.clear();
        self.sent = 0;
        Ok(())
    }

    /// Reads everything available (the registration is edge-triggered).
    fn read_all(&mut self, buf: &mut [u8]) -> Result<()> {
        loop {
            match self.stream.read(buf) {
                Ok(0) => bail!("the server closed the connection"),
                Ok(n) => self.decoder.feed(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Consumes the decoded responses; a finished request is checked, timed and followed by
    /// the next one when `go_on`.
    fn progress(&mut self, g: &SocialGraph, k: usize, clients: usize, go_on: bool) -> Result<()> {
        while let Some(resp) = self.decoder.poll_response()? {
            let Some(op) = self.op.as_mut() else {
                bail!("a response with no request in flight: {resp:?}")
            };
            match resp {
                Response::Success(_) if !op.run_done => op.run_done = true,
                Response::Record(r) if op.run_done => op.rows.push(r),
                Response::Success(_) => {
                    let op = self.op.take().expect("checked above");
                    let took = op.started.elapsed();
                    match &op.want {
                        Some(want) => {
                            self.run.reads.push(took);
                            check(POINT, &op.params, &op.rows, want)?;
                        }
                        None => {
                            self.run.creates.push(took);
                            ensure!(op.rows.is_empty(), "CREATE returned {:?}", op.rows);
                        }
                    }
                    if go_on {
                        self.start(g, k, clients)?;
                    }
                }
                Response::Failure(f) => bail!(
                    "query failed: {} (parameters {:?})",
                    failure_text(&f),
                    op.params
                ),
                other => bail!("unexpected response {other:?}"),
            }
        }
        Ok(())
    }
}
