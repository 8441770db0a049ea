//! `replication`: a MAIN and its replicas, every one a process of the `--spawn` binary with its
//! own data directory and ports, driven through Cypher as a Memgraph user would (`SET
//! REPLICATION ROLE TO REPLICA WITH PORT`, `REGISTER REPLICA`, `SHOW REPLICAS`). Three
//! scenarios:
//!
//! - `async-pipelined`: 2 ASYNC replicas; `--count` autocommit creates pipelined on one
//!   connection to the MAIN, timed from the first send until the MAIN acknowledged them all and
//!   until `SHOW REPLICAS` says both replicas are ready and `behind: 0`.
//! - `sync-latency`: one client, `--count` sequential autocommit creates; latency percentiles
//!   with a MAIN alone and with a MAIN of 2 SYNC replicas.
//! - `full-resync`: the social graph loaded into the MAIN, then a fresh replica registered
//!   ASYNC and timed until ready and `behind: 0`. The MAIN keeps one snapshot and 1 MiB WAL
//!   segments and takes two snapshots after the load, so the WAL no longer reaches back to
//!   the start and the replica gets a snapshot (its log says which path it took).
//!
//! `--server-arg` flags go to every process. Catch-up is polled (`SHOW REPLICAS` every
//! [`POLL`]); nothing sleeps a fixed time otherwise. Every replica's data is counted at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use bolt::client as wire;
use bolt::{Response, Value};

use crate::client::{failure_text, Client};
use crate::load::{self, LoadArgs};
use crate::spawn::{self, Spawned};

/// How often `SHOW REPLICAS` is asked while waiting for the replicas.
const POLL: Duration = Duration::from_millis(2);
const CREATE: &str = "CREATE (:Node {id: $i})";

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// 2 ASYNC replicas, pipelined creates until both report behind 0.
    AsyncPipelined,
    /// Sequential create latency with 2 SYNC replicas and with none.
    SyncLatency,
    /// A fresh replica of a loaded MAIN, until it is ready and behind 0.
    FullResync,
}

#[derive(clap::Args)]
pub struct ReplicationArgs {
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// Creates to run (default 100,000 for async-pipelined, 10,000 for sync-latency).
    #[arg(long)]
    pub count: Option<u64>,
    /// Longest wait, in seconds, for the replicas to become ready and catch up.
    #[arg(long, default_value_t = 600.0)]
    pub timeout: f64,
    /// full-resync: the graph loaded into the MAIN (--persons/--nodes, --edges, ...).
    #[command(flatten)]
    pub load: LoadArgs,
}

/// Runs the scenario with servers started from `bin`.
pub fn run(bin: &str, server_args: &[String], args: &ReplicationArgs) -> Result<()> {
    println!("load average before: {}", loadavg());
    let timeout = Duration::from_secs_f64(args.timeout);
    match args.scenario {
        Scenario::AsyncPipelined => {
            async_pipelined(bin, server_args, args.count.unwrap_or(100_000), timeout)?
        }
        Scenario::SyncLatency => {
            sync_latency(bin, server_args, args.count.unwrap_or(10_000), timeout)?
        }
        Scenario::FullResync => full_resync(bin, server_args, &args.load, timeout)?,
    }
    println!("load average after: {}", loadavg());
    Ok(())
}

/// The first three fields of `/proc/loadavg`.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// `flags` plus `flag=value` unless `flags` already sets that flag (the server refuses a flag
/// given twice).
fn with_default(flags: &[String], flag: &str, value: &str) -> Vec<String> {
    let mut out = flags.to_vec();
    let norm = |f: &str| f.replace('_', "-");
    let given = flags
        .iter()
        .any(|f| norm(f.split('=').next().unwrap_or("")) == norm(flag));
    if !given {
        out.push(format!("{flag}={value}"));
    }
    out
}

/// Every spawned server: no snapshot at exit (a large graph's would only slow the teardown).
fn base_flags(server_args: &[String]) -> Vec<String> {
    with_default(server_args, "--storage-snapshot-on-exit", "false")
}

/// A spawned replica: demoted, listening for its MAIN on `port`.
struct Replica {
    name: String,
    port: u16,
    server: Spawned,
}

impl Replica {
    fn start(bin: &str, name: &str, flags: &[String]) -> Result<Replica> {
        let server = Spawned::start_named(bin, &name.to_lowercase(), flags)?;
        let port = spawn::free_port()?;
        Client::connect(&server.addr)?
            .query(
                &format!("SET REPLICATION ROLE TO REPLICA WITH PORT {port}"),
                &[],
            )
            .with_context(|| format!("demoting {name}"))?;
        Ok(Replica {
            name: name.to_string(),
            port,
            server,
        })
    }

    fn register(&self, main: &mut Client, mode: &str) -> Result<()> {
        main.query(
            &format!(
                "REGISTER REPLICA {} {mode} TO \"127.0.0.1:{}\"",
                self.name, self.port
            ),
            &[],
        )
        .with_context(|| format!("registering {}", self.name))?;
        Ok(())
    }
}

/// A MAIN with REP1 and REP2 registered in `mode`, both caught up; and a client on the MAIN.
fn start_cluster(
    bin: &str,
    flags: &[String],
    mode: &str,
    timeout: Duration,
) -> Result<(Spawned, [Replica; 2], Client)> {
    let main = Spawned::start_named(bin, "main", flags)?;
    let replicas = [
        Replica::start(bin, "REP1", flags)?,
        Replica::start(bin, "REP2", flags)?,
    ];
    let mut admin = Client::connect(&main.addr)?;
    for r in &replicas {
        r.register(&mut admin, mode)?;
    }
    let names: Vec<&str> = replicas.iter().map(|r| r.name.as_str()).collect();
    wait_caught_up(&mut admin, &names, timeout).context("before the run")?;
    Ok((main, replicas, admin))
}

/// One row of `SHOW REPLICAS`.
#[derive(Debug)]
struct ReplicaRow {
    name: String,
    status: String,
    behind: i64,
}

impl ReplicaRow {
    fn caught_up(&self) -> bool {
        self.status == "ready" && self.behind == 0
    }
}

fn show_replicas(main: &mut Client) -> Result<Vec<ReplicaRow>> {
    let field = |map: &[(String, Value)], key: &str| {
        map.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null)
    };
    main.query("SHOW REPLICAS", &[])?
        .into_iter()
        .map(|row| {
            let (Some(Value::String(name)), Some(Value::Map(data))) = (row.first(), row.get(4))
            else {
                bail!("SHOW REPLICAS gave {row:?}");
            };
            let Value::Map(info) = field(data, "memgraph") else {
                bail!("SHOW REPLICAS gave data_info {data:?}");
            };
            match (field(&info, "status"), field(&info, "behind")) {
                (Value::String(status), Value::Int(behind)) => Ok(ReplicaRow {
                    name: name.clone(),
                    status,
                    behind,
                }),
                _ => bail!("SHOW REPLICAS gave data_info {data:?}"),
            }
        })
        .collect()
}

/// Polls `SHOW REPLICAS` until every replica in `names` is ready with `behind: 0`; returns when
/// each one first was (same order as `names`).
fn wait_caught_up(main: &mut Client, names: &[&str], timeout: Duration) -> Result<Vec<Instant>> {
    let deadline = Instant::now() + timeout;
    let mut first: Vec<Option<Instant>> = vec![None; names.len()];
    loop {
        let rows = show_replicas(main)?;
        let now = Instant::now();
        for (name, at) in names.iter().zip(first.iter_mut()) {
            if at.is_none() && rows.iter().any(|r| r.name == *name && r.caught_up()) {
                *at = Some(now);
            }
        }
        if first.iter().all(Option::is_some) {
            return Ok(first.into_iter().flatten().collect());
        }
        if now > deadline {
            bail!("the replicas did not all catch up within {timeout:?}: {rows:?}");
        }
        std::thread::sleep(POLL);
    }
}

fn count_nodes(c: &mut Client) -> Result<i64> {
    load::single_int(c, "MATCH (n:Node) RETURN count(n)")
}

fn async_pipelined(bin: &str, server_args: &[String], count: u64, timeout: Duration) -> Result<()> {
    let flags = base_flags(server_args);
    let (main, replicas, mut admin) = start_cluster(bin, &flags, "ASYNC", timeout)?;
    let names: Vec<&str> = replicas.iter().map(|r| r.name.as_str()).collect();
    let mut c = Client::connect(&main.addr)?;
    let start = Instant::now();
    crate::pipelined_creates(&mut c, count)?;
    let acked = start.elapsed();
    let caught_up = wait_caught_up(&mut admin, &names, timeout)?;
    let each: Vec<Duration> = caught_up.iter().map(|t| *t - start).collect();
    let total = each.iter().copied().max().unwrap_or_default();
    ensure!(
        count_nodes(&mut c)? == count as i64,
        "the MAIN does not hold {count} nodes"
    );
    for r in &replicas {
        let n = count_nodes(&mut Client::connect(&r.server.addr)?)?;
        ensure!(
            n == count as i64,
            "{} holds {n} :Node, expected {count}",
            r.name
        );
    }
    println!(
        "replication async-pipelined: {count} autocommit `{CREATE}` pipelined on one connection to a MAIN with 2 ASYNC replicas: total {:.3} s until both reported ready and behind 0 ({:.0} creates/s); the MAIN acknowledged all in {:.3} s; {} caught up at {:.3} s, {} at {:.3} s (polling SHOW REPLICAS every {} ms); {count} nodes verified on the MAIN and on each replica",
        total.as_secs_f64(),
        count as f64 / total.as_secs_f64(),
        acked.as_secs_f64(),
        names[0],
        each[0].as_secs_f64(),
        names[1],
        each[1].as_secs_f64(),
        POLL.as_millis(),
    );
    Ok(())
}

/// Latencies of sequential autocommit creates of ids `ids`, and how many came back with a
/// notification (a SYNC replica that did not confirm).
fn sequential_creates(
    c: &mut Client,
    ids: impl Iterator<Item = i64>,
) -> Result<(Vec<Duration>, usize)> {
    let mut latencies = Vec::new();
    let mut warned = 0;
    for i in ids {
        let t = Instant::now();
        wire::write_run(&mut c.out, CREATE, &[("i".to_string(), Value::Int(i))], &[]);
        wire::write_pull(&mut c.out, -1, None);
        c.flush()?;
        for _ in 0..2 {
            match c.next()? {
                Response::Success(meta) => {
                    if meta.iter().any(|(k, _)| k == "notifications") {
                        warned += 1;
                    }
                }
                Response::Failure(f) => bail!("create {i} failed: {}", failure_text(&f)),
                other => bail!("create {i}: unexpected response {other:?}"),
            }
        }
        latencies.push(t.elapsed());
    }
    Ok((latencies, warned))
}

/// "p50 .. us, p99 .. us, p99.9 .. us, mean .. us (.. creates/s)" of sorted `lat`.
fn latency_summary(lat: &mut [Duration]) -> String {
    lat.sort_unstable();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let sum: Duration = lat.iter().sum();
    let mean = sum / lat.len().max(1) as u32;
    format!(
        "p50 {:.1} us, p99 {:.1} us, p99.9 {:.1} us, mean {:.1} us ({:.0} creates/s)",
        us(crate::percentile(lat, 0.50)),
        us(crate::percentile(lat, 0.99)),
        us(crate::percentile(lat, 0.999)),
        us(mean),
        lat.len() as f64 / sum.as_secs_f64()
    )
}

/// `count` timed creates (after a warm-up of a tenth, at most 1,000, with negative ids) on one
/// connection to `addr`; returns the summary and the nodes created.
fn measure(addr: &str, count: u64) -> Result<(String, u64, usize)> {
    let warmup = (count / 10).min(1000);
    let mut c = Client::connect(addr)?;
    sequential_creates(&mut c, (1..=warmup as i64).map(|i| -i))?;
    let (mut lat, warned) = sequential_creates(&mut c, 0..count as i64)?;
    ensure!(
        count_nodes(&mut c)? == (count + warmup) as i64,
        "the MAIN does not hold {} nodes",
        count + warmup
    );
    Ok((latency_summary(&mut lat), count + warmup, warned))
}

fn sync_latency(bin: &str, server_args: &[String], count: u64, timeout: Duration) -> Result<()> {
    ensure!(count > 0, "sync-latency needs --count > 0");
    let flags = base_flags(server_args);
    let (alone, _, _) = {
        let main = Spawned::start_named(bin, "alone", &flags)?;
        measure(&main.addr, count)?
    };
    let (main, replicas, mut admin) = start_cluster(bin, &flags, "SYNC", timeout)?;
    let (synced, created, warned) = measure(&main.addr, count)?;
    // SYNC: every create returned after both replicas applied it.
    for r in &replicas {
        let n = count_nodes(&mut Client::connect(&r.server.addr)?)?;
        ensure!(
            n == created as i64,
            "{} holds {n} :Node right after the run, expected {created}",
            r.name
        );
    }
    let rows = show_replicas(&mut admin)?;
    ensure!(
        rows.iter().all(ReplicaRow::caught_up),
        "after the run: {rows:?}"
    );
    println!(
        "replication sync-latency: {count} sequential autocommit `{CREATE}` on one connection (after {} warm-up creates):",
        created - count
    );
    println!("  MAIN alone:             {alone}");
    println!(
        "  MAIN + 2 SYNC replicas: {synced}; {warned} commits warned of a SYNC failure; {created} nodes on each replica right after, both still ready"
    );
    Ok(())
}

fn full_resync(
    bin: &str,
    server_args: &[String],
    load_args: &LoadArgs,
    timeout: Duration,
) -> Result<()> {
    let g = Arc::new(load::generate(&load_args.graph)?);
    // One snapshot kept and small WAL segments: after two snapshots, the segments before the
    // first are gone and a fresh replica cannot be served from the WAL. INFO logs on stderr
    // say which path the MAIN took.
    let mut main_flags = base_flags(server_args);
    for (flag, value) in [
        ("--storage-snapshot-retention-count", "1"),
        ("--storage-wal-file-size-kib", "1024"),
        ("--log-level", "INFO"),
        ("--also-log-to-stderr", "true"),
    ] {
        main_flags = with_default(&main_flags, flag, value);
    }
    let main = Spawned::start_named(bin, "main", &main_flags)?;
    let mut c = Client::connect(&main.addr)?;
    load::load(&mut c, &g, load_args, Some(main.pid()))?;
    let mut snapshots = Vec::new();
    for _ in 0..2 {
        let t = Instant::now();
        c.query("CREATE SNAPSHOT", &[])?;
        snapshots.push(format!("{:.2} s", t.elapsed().as_secs_f64()));
    }
    let pruned = main.log_lines("deleted a WAL segment").len();
    let segments = std::fs::read_dir(main.dir.join("wal"))
        .map(|d| d.count())
        .unwrap_or(0);
    println!(
        "two CREATE SNAPSHOT after the load: {}; the MAIN deleted {pruned} WAL segments, {segments} files left in its wal/",
        snapshots.join(", ")
    );
    let replica = Replica::start(bin, "REP1", &base_flags(server_args))?;
    let start = Instant::now();
    replica.register(&mut c, "ASYNC")?;
    let registered = start.elapsed();
    wait_caught_up(&mut c, &[replica.name.as_str()], timeout)?;
    let took = start.elapsed();
    let mut r = Client::connect(&replica.server.addr)?;
    let (persons, knows) = (load::count_persons(&mut r)?, load::count_knows(&mut r)?);
    ensure!(
        persons == g.nodes as i64 && knows == g.edges.len() as i64,
        "the replica holds {persons} :Person and {knows} :KNOWS, expected {} and {}",
        g.nodes,
        g.edges.len()
    );
    let sent = main.log_lines("full resync: sending a snapshot");
    let loaded = main.log_lines("full resync: the replica loaded the snapshot");
    let path = match (sent.first(), loaded.first()) {
        (Some(_), Some(line)) => format!(
            "full resync with a snapshot (MAIN: snapshot sent and loaded in {} ms)",
            line.split("elapsed_ms=")
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .unwrap_or("?")
        ),
        (Some(_), None) => "full resync with a snapshot".to_string(),
        _ => "no snapshot sent: caught up from the WAL files".to_string(),
    };
    println!(
        "replication full-resync: {} persons / {} KNOWS to a fresh ASYNC replica: {:.2} s from REGISTER REPLICA until ready and behind 0 (REGISTER returned after {:.3} s); {path}; counts verified on the replica",
        g.nodes,
        g.edges.len(),
        took.as_secs_f64(),
        registered.as_secs_f64(),
    );
    Ok(())
}
