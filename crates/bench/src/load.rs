//! `load`: puts the generated social graph into a server over Bolt, timing the nodes and the
//! relationships apart and, when the server's process id is known, measuring its resident memory
//! before, between and after (`VmRSS` from `/proc/PID/status`).
//!
//! Two ways in: batched `UNWIND $rows ... CREATE` autocommit transactions pipelined on one
//! connection (the default), or with `--csv DIR` the CSV files written into `DIR` and read by
//! the server's `LOAD CSV`, one transaction per file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bolt::client as wire;
use bolt::Value;

use crate::client::Client;
use crate::graph::SocialGraph;

/// The generator's parameters, shared by every social subcommand.
#[derive(clap::Args, Clone, Debug)]
pub struct GraphArgs {
    /// Number of :Person nodes (ids 0..nodes).
    #[arg(long, visible_alias = "persons", default_value_t = 1_000_000)]
    pub nodes: u64,
    /// Number of :KNOWS relationships.
    #[arg(long, default_value_t = 5_000_000)]
    pub edges: u64,
    /// Seed of the generator (same seed, same graph).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// How to load the graph.
#[derive(clap::Args, Clone, Debug)]
pub struct LoadArgs {
    #[command(flatten)]
    pub graph: GraphArgs,
    /// Rows per UNWIND transaction.
    #[arg(long, default_value_t = 10_000)]
    pub batch: usize,
    /// Run `CREATE INDEX ON :Person(id)` before loading.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub index: bool,
    /// Write the CSV files into DIR and load them with LOAD CSV instead of UNWIND batches.
    #[arg(long, value_name = "DIR")]
    pub csv: Option<PathBuf>,
    /// With --csv: prefix each LOAD CSV with `USING PERIODIC COMMIT N` (a transaction per N
    /// rows instead of one per file).
    #[arg(long, value_name = "N", requires = "csv")]
    pub periodic_commit: Option<u64>,
    /// Do not load: the server already holds this graph (checked by counting).
    #[arg(long)]
    pub skip_load: bool,
}

const CREATE_INDEX: &str = "CREATE INDEX ON :Person(id)";
const CREATE_PERSONS: &str =
    "UNWIND $rows AS r CREATE (:Person {id: r.id, name: r.name, age: r.age})";
const CREATE_KNOWS: &str = "UNWIND $pairs AS p MATCH (a:Person {id: p[0]}), (b:Person {id: p[1]}) CREATE (a)-[:KNOWS]->(b)";

/// Generates the graph in memory, timing it.
pub fn generate(args: &GraphArgs) -> Result<SocialGraph> {
    let t = Instant::now();
    let g = SocialGraph::generate(args.nodes, args.edges, args.seed)?;
    println!(
        "generated {} persons and {} KNOWS (seed {}) in {:.2} s",
        args.nodes,
        args.edges,
        args.seed,
        t.elapsed().as_secs_f64()
    );
    Ok(g)
}

/// Loads `g` as `args` says (or checks it is already there with `--skip-load`).
pub fn load(c: &mut Client, g: &Arc<SocialGraph>, args: &LoadArgs, pid: Option<u32>) -> Result<()> {
    let (persons, knows) = (count_persons(c)?, count_knows(c)?);
    if args.skip_load {
        if persons != g.nodes as i64 || knows != g.edges.len() as i64 {
            bail!(
                "--skip-load: the server holds {persons} :Person and {knows} :KNOWS, expected {} and {}",
                g.nodes,
                g.edges.len()
            );
        }
        println!("skip-load: the server already holds {persons} persons and {knows} KNOWS");
        return Ok(());
    }
    if persons != 0 || knows != 0 {
        bail!("the server already holds {persons} :Person and {knows} :KNOWS; start a fresh one (--spawn) or pass --skip-load");
    }
    if let Some(dir) = &args.csv {
        let t = Instant::now();
        g.write_csv(dir)?;
        println!(
            "wrote {} (not part of the load time) in {:.2} s",
            dir.display(),
            t.elapsed().as_secs_f64()
        );
    }
    let rss0 = rss(pid)?;
    let index = match args.index {
        false => "no index",
        true => match c.query(CREATE_INDEX, &[]) {
            Ok(_) => "index on :Person(id)",
            Err(e) => {
                println!(
                    "{CREATE_INDEX} FAILED ({e:#}); loading without an index, so every id lookup scans"
                );
                "no index (CREATE INDEX failed)"
            }
        },
    };
    let t = Instant::now();
    match &args.csv {
        Some(dir) => load_csv(c, dir, Part::Persons, args.periodic_commit)?,
        None => load_persons(c, g, args.batch)?,
    }
    let node_time = t.elapsed();
    let rss1 = rss(pid)?;
    let t = Instant::now();
    match &args.csv {
        Some(dir) => load_csv(c, dir, Part::Knows, args.periodic_commit)?,
        None => load_knows(c, g, args.batch)?,
    }
    let edge_time = t.elapsed();
    let rss2 = rss(pid)?;
    let (persons, knows) = (count_persons(c)?, count_knows(c)?);
    if persons != g.nodes as i64 || knows != g.edges.len() as i64 {
        bail!(
            "after the load the server holds {persons} :Person and {knows} :KNOWS, expected {} and {}",
            g.nodes,
            g.edges.len()
        );
    }
    report(g, args, index, [node_time, edge_time], [rss0, rss1, rss2]);
    Ok(())
}

/// Prints the load's times and, when measured, the server's memory growth.
fn report(
    g: &SocialGraph,
    args: &LoadArgs,
    index: &str,
    [nodes, edges]: [Duration; 2],
    rss: [Option<u64>; 3],
) {
    let how = match &args.csv {
        Some(_) => match args.periodic_commit {
            Some(n) => format!("LOAD CSV, USING PERIODIC COMMIT {n}"),
            None => "LOAD CSV, one transaction per file".to_string(),
        },
        None => format!("UNWIND batches of {}, pipelined", args.batch),
    };
    let (n, m) = (g.nodes, g.edges.len() as u64);
    println!(
        "load ({how}, {index}): nodes {}, edges {}, total {:.2} s; counts verified ({n} persons, {m} KNOWS)",
        timing(n, nodes),
        timing(m, edges),
        (nodes + edges).as_secs_f64()
    );
    let [Some(r0), Some(r1), Some(r2)] = rss else {
        println!("memory: not measured (no --spawn and no --server-pid)");
        return;
    };
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let per = |a: u64, b: u64, k: u64| b.saturating_sub(a) as f64 / k.max(1) as f64;
    println!(
        "server RSS: {:.1} MiB empty, {:.1} MiB after nodes, {:.1} MiB after edges: growth {:.1} MiB; {:.0} bytes/vertex (growth during the node load / {n}), {:.0} bytes/edge (growth during the edge load / {m})",
        mib(r0),
        mib(r1),
        mib(r2),
        mib(r2.saturating_sub(r0)),
        per(r0, r1, n),
        per(r1, r2, m),
    );
}

/// "1.23 s (45678/s)", or "-" when there was nothing to load.
fn timing(count: u64, took: Duration) -> String {
    match count {
        0 => "-".to_string(),
        _ => format!(
            "{:.2} s ({:.0}/s)",
            took.as_secs_f64(),
            count as f64 / took.as_secs_f64()
        ),
    }
}

/// The resident set size of process `pid` in bytes, if a pid is known.
fn rss(pid: Option<u32>) -> Result<Option<u64>> {
    let Some(pid) = pid else { return Ok(None) };
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .with_context(|| format!("no VmRSS in {path}"))?;
    Ok(Some(kib * 1024))
}

fn load_persons(c: &mut Client, g: &Arc<SocialGraph>, batch: usize) -> Result<()> {
    let g = Arc::clone(g);
    let batch = batch.max(1) as u64;
    let batches = g.nodes.div_ceil(batch) as usize;
    c.pipeline(batches, move |i, out| {
        let ids = i as u64 * batch..((i as u64 + 1) * batch).min(g.nodes);
        let rows = ids
            .map(|id| {
                Value::Map(vec![
                    ("id".to_string(), Value::Int(id as i64)),
                    ("name".to_string(), Value::String(g.name(id))),
                    ("age".to_string(), Value::Int(g.age(id))),
                ])
            })
            .collect();
        wire::write_run(
            out,
            CREATE_PERSONS,
            &[("rows".to_string(), Value::List(rows))],
            &[],
        );
        wire::write_pull(out, -1, None);
    })
    .context("loading persons")?;
    Ok(())
}

fn load_knows(c: &mut Client, g: &Arc<SocialGraph>, batch: usize) -> Result<()> {
    let g = Arc::clone(g);
    let batch = batch.max(1);
    let batches = g.edges.len().div_ceil(batch);
    c.pipeline(batches, move |i, out| {
        let end = ((i + 1) * batch).min(g.edges.len());
        let pairs = g.edges[i * batch..end]
            .iter()
            .map(|&(s, d)| Value::List(vec![Value::Int(s.into()), Value::Int(d.into())]))
            .collect();
        wire::write_run(
            out,
            CREATE_KNOWS,
            &[("pairs".to_string(), Value::List(pairs))],
            &[],
        );
        wire::write_pull(out, -1, None);
    })
    .context("loading KNOWS")?;
    Ok(())
}

#[derive(Clone, Copy)]
enum Part {
    Persons,
    Knows,
}

/// Loads one of the CSV files (written before the load) with LOAD CSV.
fn load_csv(c: &mut Client, dir: &Path, part: Part, periodic: Option<u64>) -> Result<()> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    let (file, body) = match part {
        Part::Persons => (
            "persons.csv",
            "CREATE (:Person {id: toInteger(row.id), name: row.name, age: toInteger(row.age)})",
        ),
        Part::Knows => (
            "knows.csv",
            "MATCH (a:Person {id: toInteger(row.src)}), (b:Person {id: toInteger(row.dst)}) CREATE (a)-[:KNOWS]->(b)",
        ),
    };
    let path = dir.join(file);
    let prefix = periodic.map_or(String::new(), |n| format!("USING PERIODIC COMMIT {n} "));
    let text = format!(
        "{prefix}LOAD CSV FROM {} WITH HEADER AS row {body}",
        cypher_string(&path.to_string_lossy())
    );
    match c.query(&text, &[]) {
        Ok(_) => Ok(()),
        Err(e) => bail!(
            "LOAD CSV of {} failed: {e:#}\n  query: {text}",
            path.display()
        ),
    }
}

/// A Cypher string literal.
fn cypher_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

pub fn count_persons(c: &mut Client) -> Result<i64> {
    single_int(c, "MATCH (p:Person) RETURN count(p)")
}

pub fn count_knows(c: &mut Client) -> Result<i64> {
    single_int(c, "MATCH ()-[r:KNOWS]->() RETURN count(r)")
}

pub fn single_int(c: &mut Client, text: &str) -> Result<i64> {
    let rows = c.query(text, &[])?;
    match rows.as_slice() {
        [row] => match row.as_slice() {
            [Value::Int(n)] => Ok(*n),
            other => bail!("{text} returned {other:?}"),
        },
        other => bail!("{text} returned {} rows", other.len()),
    }
}
