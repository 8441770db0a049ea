//! `commits`: single-node write transactions per second from N concurrent clients, each
//! committing `CREATE (:Commit {client: $c, i: $i})` in its own autocommit transaction, one
//! at a time. With the WAL's default policy (fsync per commit) this shows group commit: N
//! clients share flushes, so commits/s grows with N far beyond what one fsync each would allow.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Result};
use bolt::Value;

use crate::client::Client;

const CREATE: &str = "CREATE (:Commit {client: $c, i: $i})";

/// Runs `clients` writers for `seconds`, checks every acknowledged commit is there, prints the
/// figures.
pub fn commits(addr: &str, clients: usize, seconds: f64) -> Result<()> {
    ensure!(clients > 0, "commits needs at least one client");
    let before = count(&mut Client::connect(addr)?)?;
    let start_line = Arc::new(Barrier::new(clients + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..clients)
        .map(|k| {
            let (start_line, stop) = (Arc::clone(&start_line), Arc::clone(&stop));
            let addr = addr.to_string();
            thread::spawn(move || -> Result<Vec<Duration>> {
                let client = Client::connect(&addr);
                start_line.wait();
                let mut client = client?;
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let params = [
                        ("c".to_string(), Value::Int(k as i64)),
                        ("i".to_string(), Value::Int(latencies.len() as i64)),
                    ];
                    let t = Instant::now();
                    let rows = client.query(CREATE, &params)?;
                    latencies.push(t.elapsed());
                    ensure!(rows.is_empty(), "CREATE returned {rows:?}");
                }
                Ok(latencies)
            })
        })
        .collect();
    start_line.wait();
    let t = Instant::now();
    while t.elapsed().as_secs_f64() < seconds {
        thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for (k, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(r) => all.extend(r.map_err(|e| e.context(format!("writer {k}")))?),
            Err(_) => bail!("writer {k} panicked"),
        }
    }
    let elapsed = t.elapsed().as_secs_f64();
    let after = count(&mut Client::connect(addr)?)?;
    ensure!(
        after - before == all.len() as i64,
        "{} commits acknowledged but {} nodes found",
        all.len(),
        after - before
    );
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "commits: {clients} clients, {} commits in {elapsed:.2} s: {:.0} commits/s, p50 {:.0} us, p99 {:.0} us (all {} checked)",
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
        all.len()
    );
    Ok(())
}

fn count(client: &mut Client) -> Result<i64> {
    let rows = client.query("MATCH (c:Commit) RETURN count(c)", &[])?;
    match rows.as_slice() {
        [row] => match row.as_slice() {
            [Value::Int(n)] => Ok(*n),
            other => bail!("count returned {other:?}"),
        },
        other => bail!("count returned {other:?}"),
    }
}
