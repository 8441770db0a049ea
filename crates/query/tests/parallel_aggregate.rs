//! Aggregations over scans run morsel by morsel on several threads (`ops::parallel`): their
//! answers must be the sequential ones. Tiny morsels make a small graph many morsels, so the
//! merge and the helper thread (on a machine with more than one core) are exercised.

use std::collections::HashMap;
use std::sync::Arc;

use query::ops::set_morsel_size;
use query::{Engine, EngineConfig, QueryError, Value};
use storage::{Storage, StorageConfig};

fn engine() -> Arc<Engine> {
    set_morsel_size(3);
    let e = Engine::new(
        Storage::new(StorageConfig::default()),
        EngineConfig::default(),
    );
    // 60 persons with ages 0..59 in a shuffled order, some without an age, a few other
    // vertices, and a ring of KNOWS.
    run(
        &e,
        "UNWIND range(0, 59) AS i \
         CREATE (:P {i: i, age: CASE WHEN i % 7 = 3 THEN null ELSE (i * 37) % 60 END, \
                 name: 'n' + toString(i % 5), w: toFloat(i) / 4})",
    );
    run(&e, "UNWIND range(1, 5) AS i CREATE (:Other {age: i})");
    run(
        &e,
        "MATCH (a:P), (b:P) WHERE b.i = (a.i + 1) % 60 OR b.i = (a.i + 7) % 60 \
         CREATE (a)-[:KNOWS]->(b)",
    );
    e
}

fn run(e: &Arc<Engine>, q: &str) -> Vec<Vec<Value>> {
    match e.execute(q, &HashMap::new()) {
        Ok((_, rows, _)) => rows,
        Err(err) => panic!("{q}: {err}"),
    }
}

fn err(e: &Arc<Engine>, q: &str) -> QueryError {
    match e.execute(q, &HashMap::new()) {
        Ok(r) => panic!("{q} should fail, got {:?}", r.1),
        Err(err) => err,
    }
}

/// `WITH DISTINCT p` between the scan and the aggregation keeps the plan sequential (DISTINCT
/// is not a row-by-row operator), so it gives the reference answer.
fn sequential(q: &str) -> String {
    q.replacen("MATCH (p:P)", "MATCH (p:P) WITH DISTINCT p", 1)
}

#[test]
fn parallel_aggregations_answer_as_sequential_ones() {
    let e = engine();
    let plan = run(&e, "EXPLAIN MATCH (p:P) RETURN p.age / 10 AS b, count(*)");
    assert_eq!(
        plan,
        [
            vec![Value::String("* Aggregate".into())],
            vec![Value::String("* ScanAllByLabel".into())]
        ]
    );
    let queries = [
        "MATCH (p:P) RETURN p.age / 10 AS b, count(*) ORDER BY b",
        // Groups in order of first appearance, without a sort.
        "MATCH (p:P) RETURN p.name AS n, count(p.age) AS c",
        "MATCH (p:P) RETURN count(*), count(p), count(p.age), sum(p.age), avg(p.age)",
        "MATCH (p:P) RETURN min(p.age), max(p.age), min(p.name), max(p.name)",
        "MATCH (p:P) RETURN p.name AS n, collect(p.i) AS ids",
        "MATCH (p:P) RETURN p.name AS n, count(DISTINCT p.age % 10) AS c, \
         collect(DISTINCT p.age % 4) AS d",
        "MATCH (p:P) RETURN stDev(p.age), percentileDisc(p.age, 0.5), \
         percentileCont(p.age, 0.25)",
        "MATCH (p:P) WHERE p.age > 20 RETURN p.age % 3 AS m, count(*), sum(p.i)",
        "MATCH (p:P) WITH p, p.age * 2 AS a WHERE a > 10 RETURN a % 4 AS k, count(p)",
        // Expansions in the pipeline, and properties of other variables.
        "MATCH (p:P) MATCH (p)-[:KNOWS]->(f) RETURN p.age % 2 AS k, count(f), sum(f.age)",
        "MATCH (p:P) MATCH (p)-[:KNOWS]->(f) WHERE f.age < p.age RETURN count(*)",
        // The scanned vertex used whole, and in a map projection.
        "MATCH (p:P) RETURN count(DISTINCT p), size(collect(p {.age, .name}))",
        // Sums of floats: exact here (quarters add exactly).
        "MATCH (p:P) RETURN sum(p.w), avg(p.w)",
        // A grouping key that is a list, and several keys.
        "MATCH (p:P) RETURN [p.age % 2, p.name] AS k, count(*)",
        "MATCH (p:P) RETURN p.age % 2 AS a, p.name AS n, count(*)",
        // Nothing matches.
        "MATCH (p:P) WHERE p.age > 1000 RETURN count(*), sum(p.age), collect(p.age)",
        "MATCH (p:P) WHERE p.age > 1000 RETURN p.name, count(*)",
    ];
    let explain = run(
        &e,
        "EXPLAIN MATCH (p:P) MATCH (p)-[:KNOWS]->(f) RETURN count(f)",
    );
    assert_eq!(explain.len(), 3, "{explain:?}");
    for q in queries {
        assert_eq!(run(&e, q), run(&e, &sequential(q)), "{q}");
    }
    assert_eq!(
        run(&e, "MATCH (n) RETURN count(*), sum(n.age)"),
        [vec![Value::Int(65), Value::Int(1527 + 15)]]
    );
}

#[test]
fn the_first_failing_row_decides_the_error() {
    let e = engine();
    // The first person by gid (i = 0) divides by zero; so do later ones.
    let q = "MATCH (p:P) RETURN sum(10 / (p.i % 9))";
    let first = err(&e, q).to_string();
    assert_eq!(first, err(&e, &sequential(q)).to_string());
    // Adjacent morsels (gid = i, three per morsel) fail differently: whichever worker fails
    // first, the lower morsel's error is the answer.
    for _ in 0..20 {
        let q =
            "MATCH (p:P) RETURN sum(CASE p.i WHEN 31 THEN 1 / 0 WHEN 33 THEN p.name ELSE 1 END)";
        assert_eq!(err(&e, q).to_string(), "/ by zero");
        let q =
            "MATCH (p:P) RETURN sum(CASE p.i WHEN 33 THEN 1 / 0 WHEN 31 THEN p.name ELSE 1 END)";
        assert!(matches!(err(&e, q), QueryError::Type(_)));
    }
}

#[test]
fn a_transaction_aggregates_its_own_writes() {
    let e = engine();
    let mut session = e.session();
    let params = HashMap::new();
    let pull_all = |session: &mut query::Session, q: &str| {
        let mut stream = session.run(q, &params, true).expect(q);
        let mut rows = Vec::new();
        session
            .pull(&mut stream, -1, &mut |row, _| {
                rows.push(row.to_vec());
                Ok(())
            })
            .expect(q);
        rows
    };
    session.begin().expect("begin");
    pull_all(&mut session, "MATCH (p:P) WHERE p.i < 10 DETACH DELETE p");
    pull_all(&mut session, "MATCH (p:P) WHERE p.i = 59 SET p.age = 1000");
    pull_all(&mut session, "CREATE (:P {age: 2000})");
    let rows = pull_all(&mut session, "MATCH (p:P) RETURN count(*), max(p.age)");
    assert_eq!(rows, [vec![Value::Int(51), Value::Int(2000)]]);
    let rows = pull_all(
        &mut session,
        "MATCH (p:P) WHERE p.age >= 1000 RETURN p.age, count(*)",
    );
    assert_eq!(
        rows,
        [
            vec![Value::Int(1000), Value::Int(1)],
            vec![Value::Int(2000), Value::Int(1)]
        ]
    );
    session.rollback().expect("rollback");
    assert_eq!(
        run(&e, "MATCH (p:P) RETURN count(*), max(p.age)"),
        [vec![Value::Int(60), Value::Int(59)]]
    );
}
