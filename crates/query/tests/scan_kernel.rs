//! The fused scan-aggregation kernel (`ops::kernel`) against the sequential cursor pipeline, on
//! randomized graphs: integers, whole and fractional floats, strings, booleans, lists and
//! missing values; vertices deleted before the query, changed by a transaction still running
//! (invisible), and changed by the querying transaction itself (visible only to it).

use std::collections::HashMap;
use std::sync::Arc;

use query::ops::set_morsel_size;
use query::{Engine, EngineConfig, Session, Value};
use storage::{Storage, StorageConfig};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A value of property `n`: mostly numbers, sometimes missing.
fn number(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => Value::Null,
        1 | 2 => Value::Float(rng.below(400) as f64 / 4.0 - 20.0),
        3 => Value::Float(rng.below(30) as f64),
        4 => Value::Int(5000 + rng.below(20) as i64),
        _ => Value::Int(rng.below(100) as i64 - 20),
    }
}

/// A value of property `m`: any storable type.
fn anything(rng: &mut Rng) -> Value {
    match rng.below(7) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => Value::String(format!("s{}", rng.below(4))),
        3 => Value::List(vec![Value::Int(rng.below(3) as i64)]),
        4 => Value::Float(rng.below(8) as f64 / 2.0),
        _ => Value::Int(rng.below(5) as i64),
    }
}

fn rows(rng: &mut Rng, count: usize) -> Value {
    Value::List(
        (0..count)
            .map(|i| {
                let mut row = std::collections::BTreeMap::new();
                row.insert("i".to_owned(), Value::Int(i as i64));
                row.insert("n".to_owned(), number(rng));
                row.insert("m".to_owned(), anything(rng));
                row.insert("k".to_owned(), Value::Int(rng.below(6) as i64));
                row.insert("p".to_owned(), Value::Bool(rng.below(4) != 0));
                Value::Map(row)
            })
            .collect(),
    )
}

fn exec(
    s: &mut Session,
    q: &str,
    params: &HashMap<String, Value>,
) -> Result<Vec<Vec<Value>>, String> {
    let explicit = s.in_transaction();
    let mut st = s.run(q, params, explicit).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    s.pull(&mut st, -1, &mut |row, _| {
        out.push(row.to_vec());
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok(out)
}

/// `WITH DISTINCT p` keeps the plan sequential: the cursor pipeline's answer.
fn sequential(q: &str) -> String {
    let (head, tail) = q.split_once(')').expect("a MATCH");
    format!("{head}) WITH DISTINCT p{tail}")
}

const QUERIES: &[&str] = &[
    "MATCH (p:P) RETURN p.n / 10 AS b, count(*) ORDER BY b",
    "MATCH (p:P) RETURN p.n / 10 AS b, count(*)",
    "MATCH (p:P) RETURN p.n % 7 AS b, count(p.n), sum(p.n), min(p.n), max(p.n), avg(p.n)",
    "MATCH (p:P) RETURN p.k AS k, count(*), collect(p.n), collect(p.m)",
    "MATCH (p:P) WHERE p.n > 3 RETURN p.k * 2 AS k, count(*), sum(p.i)",
    "MATCH (p:P) WHERE p.p RETURN p.n AS n, count(*)",
    "MATCH (p:P) RETURN p.m AS m, count(*), min(p.m), max(p.m)",
    "MATCH (p) RETURN p.k AS k, count(DISTINCT p.n), collect(DISTINCT p.m)",
    "MATCH (p) RETURN labels(p) AS l, count(*)",
    "MATCH (p:P) WITH p, p.n AS x WHERE x IS NOT NULL RETURN toInteger(x) AS t, count(p)",
    "MATCH (p:P) RETURN p.n * 0.5 AS b, count(*)",
    "MATCH (p:P) RETURN p.n + p.k AS b, p.k AS k, count(*)",
    "MATCH (p:P) RETURN count(*), count(p.m), sum(p.k), max(p.n)",
    // count(*) alone by one integer key: counted per key, some keys beyond the counters.
    "MATCH (p:P) RETURN p.n * 100 AS b, count(*)",
    "MATCH (p:P) RETURN p.k AS k, count(*), count(*) AS again",
    // Division by a constant, by multiplication below 2^32 and by division above.
    "MATCH (p:P) RETURN (p.n * 10000000000) / 7 AS b, count(*)",
    "MATCH (p:P) RETURN p.n / 3 AS b, p.n / 4294967295 AS c, count(*)",
    "MATCH (p:P) WHERE p.n / 2 > 10 RETURN p.n / 7 AS b, count(*)",
    // Errors: the first failing row in gid order decides.
    "MATCH (p:P) RETURN p.m / 10 AS b, count(*)",
    "MATCH (p:P) RETURN 100 / (p.k - 3) AS b, count(*)",
    "MATCH (p:P) RETURN sum(p.m)",
];

fn check_all(s: &mut Session, label: &str) {
    let params = HashMap::new();
    for q in QUERIES {
        let fused = exec(s, q, &params);
        let reference = exec(s, &sequential(q), &params);
        assert_eq!(fused, reference, "{label}: {q}");
    }
}

#[test]
fn the_kernel_answers_as_the_cursor_pipeline() {
    for seed in 0..6u64 {
        let mut rng = Rng(seed);
        set_morsel_size(1 + rng.below(40));
        let e = Engine::new(
            Storage::new(StorageConfig::manual_gc()),
            EngineConfig::default(),
        );
        let mut s = e.session();
        let count = 150 + rng.below(150) as usize;
        let params = HashMap::from([("rows".to_owned(), rows(&mut rng, count))]);
        exec(&mut s, "UNWIND $rows AS r CREATE (p:P) SET p = r", &params).unwrap();
        // Other labels, and vertices without any, interleaved by gid.
        exec(
            &mut s,
            "MATCH (p:P) WHERE p.i % 9 = 4 REMOVE p:P SET p:Q",
            &HashMap::new(),
        )
        .unwrap();
        exec(
            &mut s,
            "MATCH (p:P) WHERE p.i % 13 = 6 REMOVE p:P",
            &HashMap::new(),
        )
        .unwrap();
        exec(
            &mut s,
            "MATCH (p:P) WHERE p.i % 11 = 7 DELETE p",
            &HashMap::new(),
        )
        .unwrap();
        check_all(&mut s, &format!("seed {seed}, committed"));

        // A writer that has not committed: its changes are deltas the readers must undo.
        let mut writer = e.session();
        writer.begin().unwrap();
        for q in [
            "MATCH (p:P) WHERE p.i % 5 = 1 SET p.n = 1000, p.m = 'w'",
            "MATCH (p:P) WHERE p.i % 7 = 2 DELETE p",
            "MATCH (p:P) WHERE p.i % 8 = 3 REMOVE p:P",
            "MATCH (p:Q) WHERE p.i % 2 = 0 SET p:P",
            "MATCH (p:P) WHERE p.i % 6 = 5 REMOVE p.n",
            "UNWIND range(1, 20) AS i CREATE (:P {n: i, k: 1})",
        ] {
            exec(&mut writer, q, &HashMap::new()).unwrap();
        }
        check_all(&mut s, &format!("seed {seed}, foreign uncommitted"));

        // The writer's own view: its changes are the newest data, with deltas on top.
        check_all(&mut writer, &format!("seed {seed}, own writes"));
        writer.rollback().unwrap();
        check_all(&mut s, &format!("seed {seed}, rolled back"));
    }
}

#[test]
fn the_kernel_sees_a_consistent_snapshot_while_others_commit() {
    set_morsel_size(7);
    let e: Arc<Engine> = Engine::new(
        Storage::new(StorageConfig::manual_gc()),
        EngineConfig::default(),
    );
    let mut s = e.session();
    exec(
        &mut s,
        "UNWIND range(0, 299) AS i CREATE (:P {n: i % 10})",
        &HashMap::new(),
    )
    .unwrap();
    let mut reader = e.session();
    reader.begin().unwrap();
    let q = "MATCH (p:P) RETURN p.n AS n, count(*) ORDER BY n";
    let before = exec(&mut reader, q, &HashMap::new()).unwrap();
    exec(
        &mut s,
        "MATCH (p:P) WHERE p.n = 3 SET p.n = 4",
        &HashMap::new(),
    )
    .unwrap();
    exec(
        &mut s,
        "MATCH (p:P) WHERE p.n = 5 DELETE p",
        &HashMap::new(),
    )
    .unwrap();
    assert_eq!(exec(&mut reader, q, &HashMap::new()).unwrap(), before);
    assert_eq!(before.len(), 10);
    let now = exec(&mut s, q, &HashMap::new()).unwrap();
    assert_eq!(now.len(), 8);
    assert_eq!(now, exec(&mut s, &sequential(q), &HashMap::new()).unwrap());
}
