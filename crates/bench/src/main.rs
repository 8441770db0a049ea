//! `ferrograph-bench`: measures a Bolt server with a thin client of our own.
//!
//! Each subcommand connects to `--addr`, or with `--spawn <binary>` starts that server on a free
//! loopback port with a fresh data directory (stopping it afterwards), runs one measurement and
//! prints the figures. It is a benchmark, not a test: it asserts only that answers are right.
//!
//! The social-graph subcommands share one deterministic generator ([`graph`]): `generate`
//! writes it as CSV, `load` loads it over Bolt, `queries` and `mixed` load it and then measure
//! reads (and creates) whose answers are checked against the generator's graph; `suite` does
//! all three in one run.
//!
//! ```text
//! ferrograph-bench --spawn target/release/ferrograph roundtrip --count 200000
//! ferrograph-bench --spawn target/release/ferrograph create-pipelined --count 100000
//! ferrograph-bench --spawn target/release/ferrograph commits --clients 16 --seconds 10
//! ferrograph-bench generate --out /tmp/social --nodes 1000000 --edges 5000000
//! ferrograph-bench --spawn target/release/ferrograph load --nodes 10000 --edges 50000
//! ferrograph-bench --spawn target/release/ferrograph queries --nodes 10000 --edges 50000
//! ferrograph-bench --spawn target/release/ferrograph mixed --nodes 10000 --edges 50000
//! ferrograph-bench --spawn target/release/ferrograph replication --scenario async-pipelined
//! ```
//!
//! `replication` starts a MAIN and its replicas itself (all from `--spawn`); see [`replication`].

mod client;
mod commits;
mod graph;
mod load;
mod replication;
mod social;
mod spawn;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Result};
use bolt::client as wire;
use bolt::Value;
use clap::{Parser, Subcommand};

use crate::client::Client;
use crate::load::{GraphArgs, LoadArgs};

#[derive(Parser)]
#[command(
    name = "ferrograph-bench",
    about = "Measure a ferrograph (or any Bolt) server"
)]
struct Args {
    /// Address of a running server.
    #[arg(long, default_value = "127.0.0.1:7687")]
    addr: String,
    /// Start this server binary for the run instead of using --addr.
    #[arg(long)]
    spawn: Option<String>,
    /// Extra flag for the spawned server (repeatable), e.g. --server-arg=--log-level=INFO.
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
    /// Process id of the server at --addr, for memory figures (implied by --spawn).
    #[arg(long)]
    server_pid: Option<u32>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Single-node autocommit CREATEs from concurrent clients, one at a time each: commits/s
    /// and latency (with the WAL's fsync per commit this shows group commit).
    Commits {
        #[arg(long, default_value_t = 1)]
        clients: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Sequential `RETURN 1` round trips on one connection.
    Roundtrip {
        #[arg(long, default_value_t = 200_000)]
        count: u64,
    },
    /// `count` autocommit `CREATE (:Node {id: $i})`, all pipelined on one connection.
    CreatePipelined {
        #[arg(long, default_value_t = 100_000)]
        count: u64,
    },
    /// Write the social graph as persons.csv (id,name,age) and knows.csv (src,dst); no server.
    Generate {
        /// Directory to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        graph: GraphArgs,
    },
    /// Load the social graph, timing nodes and relationships and measuring the server's memory.
    Load {
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Load, then time the point, 1-hop, 2-hop and aggregation queries on one connection.
    Queries {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        queries: QueryArgs,
    },
    /// Load, then many clients doing 80% point reads / 20% creates at once.
    Mixed {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        mixed: MixedArgs,
    },
    /// Load, queries, then mixed, in one run.
    Suite {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        queries: QueryArgs,
        #[command(flatten)]
        mixed: MixedArgs,
    },
    /// A MAIN and replicas, all started from --spawn: ASYNC catch-up of pipelined creates,
    /// SYNC commit latency, or the full resync of a loaded graph to a new replica.
    Replication {
        #[command(flatten)]
        args: replication::ReplicationArgs,
    },
}

#[derive(clap::Args)]
struct QueryArgs {
    /// Timed runs of each id query (after a checked warm-up of a tenth, at most 100).
    #[arg(long, default_value_t = 1000)]
    iterations: usize,
    /// Timed runs of the aggregation over every person.
    #[arg(long, default_value_t = 20)]
    agg_iterations: usize,
}

#[derive(clap::Args)]
struct MixedArgs {
    /// Concurrent connections (all driven by one event loop, one request in flight each).
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Duration of the mixed run.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Cmd::Generate { out, graph } = &args.cmd {
        return generate(out, graph);
    }
    if let Cmd::Replication { args: repl } = &args.cmd {
        let Some(bin) = &args.spawn else {
            bail!("replication starts its own MAIN and replicas: pass --spawn <server binary>");
        };
        return replication::run(bin, &args.server_args, repl);
    }
    let spawned = match &args.spawn {
        Some(bin) => Some(spawn::Spawned::start(bin, &args.server_args)?),
        None => None,
    };
    let addr = spawned
        .as_ref()
        .map_or(args.addr.clone(), |s| s.addr.clone());
    let pid = spawned.as_ref().map(|s| s.pid()).or(args.server_pid);
    match args.cmd {
        Cmd::Commits { clients, seconds } => commits::commits(&addr, clients, seconds),
        Cmd::Roundtrip { count } => roundtrip(&addr, count),
        Cmd::CreatePipelined { count } => create_pipelined(&addr, count),
        Cmd::Generate { .. } | Cmd::Replication { .. } => {
            unreachable!("handled before starting a server")
        }
        Cmd::Load { load } => social(&addr, pid, &load, None, None),
        Cmd::Queries { load, queries } => social(&addr, pid, &load, Some(&queries), None),
        Cmd::Mixed { load, mixed } => social(&addr, pid, &load, None, Some(&mixed)),
        Cmd::Suite {
            load,
            queries,
            mixed,
        } => social(&addr, pid, &load, Some(&queries), Some(&mixed)),
    }
}

fn generate(out: &std::path::Path, args: &GraphArgs) -> Result<()> {
    let g = load::generate(args)?;
    let t = Instant::now();
    g.write_csv(out)?;
    println!(
        "wrote {}/persons.csv and knows.csv in {:.2} s",
        out.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Generates the graph, loads it (or checks it is loaded), then runs what was asked.
fn social(
    addr: &str,
    pid: Option<u32>,
    load_args: &LoadArgs,
    queries: Option<&QueryArgs>,
    mixed: Option<&MixedArgs>,
) -> Result<()> {
    let g = Arc::new(load::generate(&load_args.graph)?);
    let mut c = Client::connect(addr)?;
    load::load(&mut c, &g, load_args, pid)?;
    if let Some(q) = queries {
        social::queries(&mut c, &g, q.iterations, q.agg_iterations)?;
    }
    if let Some(m) = mixed {
        social::mixed(addr, &g, m.clients, m.seconds)?;
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn roundtrip(addr: &str, count: u64) -> Result<()> {
    let mut c = Client::connect(addr)?;
    // Warm up (plan cache, connection buffers).
    for _ in 0..1000 {
        c.query("RETURN 1", &[])?;
    }
    let mut lat = Vec::with_capacity(count as usize);
    let start = Instant::now();
    for _ in 0..count {
        let t = Instant::now();
        wire::write_run(&mut c.out, "RETURN 1", &[], &[]);
        wire::write_pull(&mut c.out, -1, None);
        c.flush()?;
        let (mut records, mut summaries) = (0, 0);
        while summaries < 2 {
            match c.next_signature()? {
                0x71 => records += 1,
                0x70 => summaries += 1,
                s => bail!("unexpected response 0x{s:02X}"),
            }
        }
        ensure!(records == 1, "RETURN 1 gave {records} records");
        lat.push(t.elapsed());
    }
    let total = start.elapsed();
    lat.sort();
    println!(
        "roundtrip: {count} sequential `RETURN 1` on one connection (Bolt {}): {:.3} s, {:.0} round trips/s, p50 {:.1} us, p99 {:.1} us",
        c.version,
        total.as_secs_f64(),
        count as f64 / total.as_secs_f64(),
        percentile(&lat, 0.50).as_secs_f64() * 1e6,
        percentile(&lat, 0.99).as_secs_f64() * 1e6,
    );
    Ok(())
}

fn create_pipelined(addr: &str, count: u64) -> Result<()> {
    let mut c = Client::connect(addr)?;
    let before = count_nodes(&mut c)?;
    let total = pipelined_creates(&mut c, count)?;
    let after = count_nodes(&mut c)?;
    ensure!(
        after - before == count as i64,
        "expected {count} new nodes, found {}",
        after - before
    );
    println!(
        "create-pipelined: {count} autocommit `CREATE (:Node {{id: $i}})` pipelined on one connection: {:.3} s ({:.0} creates/s), {} nodes verified",
        total.as_secs_f64(),
        count as f64 / total.as_secs_f64(),
        after - before
    );
    Ok(())
}

/// Sends `count` autocommit `CREATE (:Node {id: $i})` (i = 0..count) pipelined on `c` and
/// returns the time from the first send until the last acknowledgement.
fn pipelined_creates(c: &mut Client, count: u64) -> Result<Duration> {
    // One thread writes every request while this one reads the answers from the same socket
    // (writing everything first could deadlock once both socket buffers are full).
    let writer_stream = c.stream.try_clone()?;
    let start = Instant::now();
    let writer = std::thread::spawn(move || -> Result<()> {
        let mut s = writer_stream;
        let mut out = Vec::with_capacity(1 << 20);
        for i in 0..count {
            wire::write_run(
                &mut out,
                "CREATE (:Node {id: $i})",
                &[("i".to_string(), Value::Int(i as i64))],
                &[],
            );
            wire::write_pull(&mut out, -1, None);
            if out.len() > 256 * 1024 {
                s.write_all(&out)?;
                out.clear();
            }
        }
        s.write_all(&out)?;
        Ok(())
    });
    let mut successes = 0u64;
    while successes < 2 * count {
        match c.next_signature()? {
            0x70 => successes += 1,
            s => bail!("unexpected response 0x{s:02X} after {successes} successes"),
        }
    }
    let total = start.elapsed();
    match writer.join() {
        Ok(r) => r?,
        Err(_) => bail!("writer thread panicked"),
    }
    Ok(total)
}

fn count_nodes(c: &mut Client) -> Result<i64> {
    let rows = c.query("MATCH (n) RETURN count(*) AS c", &[])?;
    match rows.first().and_then(|r| r.first()) {
        Some(Value::Int(n)) => Ok(*n),
        other => bail!("count(*) returned {other:?}"),
    }
}
