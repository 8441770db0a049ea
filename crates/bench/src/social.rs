//! The social-graph workloads run after a load: `queries` (one client, sequential, latency per
//! query) and `mixed` (many clients reading and creating at once, throughput and latency).
//!
//! Every answer is compared with the generator's in-memory graph; the first mismatch aborts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use bolt::Value;

use crate::client::Client;
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
pub fn mixed(addr: &str, g: &Arc<SocialGraph>, clients: usize, seconds: f64) -> Result<()> {
    ensure!(
        g.nodes > 0 && clients > 0,
        "mixed needs at least one person and one client"
    );
    let before = count_persons(&mut Client::connect(addr)?)?;
    let start_line = Arc::new(Barrier::new(clients + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..clients)
        .map(|k| {
            let (g, start_line, stop) = (Arc::clone(g), Arc::clone(&start_line), Arc::clone(&stop));
            let addr = addr.to_string();
            thread::spawn(move || -> Result<ClientRun> {
                let mut c = Client::connect(&addr);
                start_line.wait();
                let c = c.as_mut().map_err(|e| anyhow::anyhow!("{e:#}"))?;
                let r = mixed_client(c, &g, k, clients, &stop);
                if r.is_err() {
                    stop.store(true, Ordering::Relaxed);
                }
                r
            })
        })
        .collect();
    start_line.wait();
    let t = Instant::now();
    while t.elapsed().as_secs_f64() < seconds && !stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    let mut runs = Vec::new();
    for (k, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(r) => runs.push(r.with_context(|| format!("mixed client {k}"))?),
            Err(_) => bail!("mixed client {k} panicked"),
        }
    }
    let elapsed = t.elapsed().as_secs_f64();
    let (mut reads, mut creates) = (Vec::new(), Vec::new());
    for r in runs {
        reads.extend(r.reads);
        creates.extend(r.creates);
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

/// One client's loop: until `stop`, a read (80%) or a create (20%), each timed.
fn mixed_client(
    c: &mut Client,
    g: &SocialGraph,
    k: usize,
    clients: usize,
    stop: &AtomicBool,
) -> Result<ClientRun> {
    let mut rng = Rng::new(g.seed ^ 0x004D_4958_4544 ^ ((k as u64) << 40));
    let mut run = ClientRun::default();
    while !stop.load(Ordering::Relaxed) {
        if rng.percent(80) {
            let id = rng.below(g.nodes);
            let params = [("id".to_string(), Value::Int(id as i64))];
            let want = vec![vec![Value::String(g.name(id)), Value::Int(g.age(id))]];
            let t = Instant::now();
            let rows = c.query(POINT, &params)?;
            run.reads.push(t.elapsed());
            check(POINT, &params, &rows, &want)?;
        } else {
            let id = g.nodes + (run.creates.len() * clients + k) as u64;
            let params = [
                ("id".to_string(), Value::Int(id as i64)),
                ("name".to_string(), Value::String(person_name(g.seed, id))),
                ("age".to_string(), Value::Int(person_age(g.seed, id))),
            ];
            let t = Instant::now();
            let rows = c.query(CREATE, &params)?;
            run.creates.push(t.elapsed());
            ensure!(rows.is_empty(), "CREATE returned {rows:?}");
        }
    }
    Ok(run)
}
