//! The executor against the storage, without Bolt: every clause of the first slice.

use std::collections::HashMap;
use std::sync::Arc;

use query::{Engine, EngineConfig, QueryError, QueryType, Value};
use storage::{Storage, StorageConfig};

fn engine() -> Arc<Engine> {
    Engine::new(
        Storage::new(StorageConfig::default()),
        EngineConfig::default(),
    )
}

fn run(e: &Arc<Engine>, q: &str) -> Vec<Vec<Value>> {
    run_p(e, q, &[])
}

fn run_p(e: &Arc<Engine>, q: &str, params: &[(&str, Value)]) -> Vec<Vec<Value>> {
    let params: HashMap<String, Value> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    match e.execute(q, &params) {
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

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn s(x: &str) -> Value {
    Value::String(x.into())
}

fn one(e: &Arc<Engine>, q: &str) -> Value {
    let rows = run(e, q);
    assert_eq!(rows.len(), 1, "{q}: {rows:?}");
    rows[0][0].clone()
}

#[test]
fn return_literals_and_expressions() {
    let e = engine();
    assert_eq!(one(&e, "RETURN 1 + 2 * 3"), int(7));
    assert_eq!(one(&e, "RETURN 7 / 2"), int(3));
    assert_eq!(one(&e, "RETURN 7.0 / 2"), Value::Float(3.5));
    assert_eq!(one(&e, "RETURN 'a' + 'b'"), s("ab"));
    assert_eq!(
        one(&e, "RETURN [1, 2] + 3"),
        Value::List(vec![int(1), int(2), int(3)])
    );
    assert_eq!(one(&e, "RETURN null = null"), Value::Null);
    assert_eq!(one(&e, "RETURN null OR true"), Value::Bool(true));
    assert_eq!(one(&e, "RETURN null AND false"), Value::Bool(false));
    assert_eq!(one(&e, "RETURN NOT null"), Value::Null);
    assert_eq!(one(&e, "RETURN 1 < 2 < 3"), Value::Bool(true));
    assert_eq!(one(&e, "RETURN 3 IN [1, 2, 3]"), Value::Bool(true));
    assert_eq!(one(&e, "RETURN 4 IN [1, null]"), Value::Null);
    assert_eq!(one(&e, "RETURN [1, 2, 3][-1]"), int(3));
    assert_eq!(
        one(&e, "RETURN [1, 2, 3][1..]"),
        Value::List(vec![int(2), int(3)])
    );
    assert_eq!(one(&e, "RETURN size(range(1, 10))"), int(10));
    assert_eq!(one(&e, "RETURN 'abc' STARTS WITH 'ab'"), Value::Bool(true));
    assert_eq!(one(&e, "RETURN 'abc' =~ 'a.c'"), Value::Bool(true));
    assert_eq!(
        one(&e, "RETURN CASE WHEN 1 > 2 THEN 'x' ELSE 'y' END"),
        s("y")
    );
    assert_eq!(
        one(&e, "RETURN [x IN range(1, 5) WHERE x % 2 = 1 | x * 10]"),
        Value::List(vec![int(10), int(30), int(50)])
    );
    assert_eq!(
        one(&e, "RETURN all(x IN [1, 2] WHERE x > 0)"),
        Value::Bool(true)
    );
    assert_eq!(
        one(&e, "RETURN reduce(acc = 0, x IN [1, 2, 3] | acc + x)"),
        int(6)
    );
    assert_eq!(one(&e, "RETURN toUpper('ab') + toString(1)"), s("AB1"));
    assert_eq!(one(&e, "RETURN coalesce(null, 2)"), int(2));
}

#[test]
fn long_expression_chains_do_not_overflow() {
    let e = engine();
    let q = format!("RETURN 0{}", " + 1".repeat(100_000));
    assert_eq!(one(&e, &q), int(100_000));
    let q = format!("RETURN true{}", " AND true".repeat(50_000));
    assert_eq!(one(&e, &q), Value::Bool(true));
}

#[test]
fn create_and_match_by_label_property_and_pattern() {
    let e = engine();
    run(&e, "CREATE (a:Person {name: 'Ann', age: 30})-[:KNOWS {since: 2020}]->(b:Person {name: 'Bob', age: 25}), (c:City {name: 'Oslo'})");
    run(
        &e,
        "MATCH (b:Person {name: 'Bob'}), (c:City) CREATE (b)-[:LIVES_IN]->(c)",
    );
    assert_eq!(one(&e, "MATCH (n) RETURN count(*)"), int(3));
    assert_eq!(one(&e, "MATCH (n:Person) RETURN count(n)"), int(2));
    assert_eq!(one(&e, "MATCH (n {name: 'Ann'}) RETURN n.age"), int(30));
    assert_eq!(one(&e, "MATCH (a)-[:KNOWS]->(b) RETURN b.name"), s("Bob"));
    assert_eq!(one(&e, "MATCH (b)<-[:KNOWS]-(a) RETURN a.name"), s("Ann"));
    assert_eq!(
        one(
            &e,
            "MATCH (a {name: 'Bob'})-[r]-(x) WHERE type(r) = 'KNOWS' RETURN x.name"
        ),
        s("Ann")
    );
    assert_eq!(
        one(&e, "MATCH (:Person)-[r:KNOWS]->(:Person) RETURN r.since"),
        int(2020)
    );
    assert_eq!(
        one(&e, "MATCH (a)-[:KNOWS|LIVES_IN]->(b) RETURN count(*)"),
        int(2)
    );
    assert_eq!(one(&e, "MATCH (a)-->(b)-->(c) RETURN c.name"), s("Oslo"));
    assert_eq!(
        run(&e, "MATCH (n:Person) WHERE n.age > 20 AND (n.name = 'Ann' OR NOT n.age < 26) RETURN n.name AS name ORDER BY name"),
        vec![vec![s("Ann")]]
    );
    assert_eq!(
        run(
            &e,
            "MATCH (n:Person) RETURN n.name AS name ORDER BY n.age LIMIT 1"
        ),
        vec![vec![s("Bob")]]
    );
    // Relationship uniqueness within one MATCH.
    assert_eq!(
        one(&e, "MATCH (a)-[r1]-(b)-[r2]-(c) RETURN count(*)"),
        int(2)
    );
}

#[test]
fn parameters_and_missing_parameters() {
    let e = engine();
    run_p(
        &e,
        "CREATE (:Node {id: $id, tags: $tags})",
        &[("id", int(7)), ("tags", Value::List(vec![s("a")]))],
    );
    let rows = run_p(
        &e,
        "MATCH (n:Node {id: $id}) RETURN n.tags",
        &[("id", int(7))],
    );
    assert_eq!(rows, vec![vec![Value::List(vec![s("a")])]]);
    assert!(matches!(err(&e, "RETURN $nope"), QueryError::ParameterMissing(p) if p == "nope"));
}

#[test]
fn set_remove_delete() {
    let e = engine();
    run(&e, "CREATE (:A {x: 1})-[:R]->(:B)");
    run(&e, "MATCH (a:A) SET a.y = 2, a:Extra");
    assert_eq!(one(&e, "MATCH (a:Extra) RETURN a.x + a.y"), int(3));
    run(&e, "MATCH (a:A) SET a += {z: 3}");
    assert_eq!(one(&e, "MATCH (a:A) RETURN a.z"), int(3));
    run(&e, "MATCH (a:A) SET a = {only: true}");
    assert_eq!(
        one(&e, "MATCH (a:A) RETURN keys(a)"),
        Value::List(vec![s("only")])
    );
    run(&e, "MATCH (a:A) REMOVE a.only, a:Extra");
    assert_eq!(
        one(&e, "MATCH (a:A) RETURN labels(a)"),
        Value::List(vec![s("A")])
    );
    assert_eq!(one(&e, "MATCH (a:A) RETURN a.only"), Value::Null);
    // A node with relationships cannot be deleted without DETACH.
    assert!(matches!(
        err(&e, "MATCH (a:A) DELETE a"),
        QueryError::Constraint(_)
    ));
    assert_eq!(one(&e, "MATCH (n) RETURN count(*)"), int(2));
    run(&e, "MATCH (a:A)-[r:R]->() DELETE r");
    assert_eq!(one(&e, "MATCH ()-[r]->() RETURN count(r)"), int(0));
    run(&e, "CREATE (:C)-[:R]->(:D)");
    run(&e, "MATCH (c:C) DETACH DELETE c");
    assert_eq!(one(&e, "MATCH (n) RETURN count(*)"), int(3));
    run(&e, "MATCH (n) DETACH DELETE n");
    assert_eq!(one(&e, "MATCH (n) RETURN count(*)"), int(0));
}

#[test]
fn write_then_read_sees_earlier_clauses_but_match_does_not_see_its_own_creates() {
    let e = engine();
    run(&e, "UNWIND range(1, 3) AS i CREATE (:N {i: i})");
    // Each matched row creates a node; the MATCH must not see them (no endless loop).
    run(&e, "MATCH (n:N) CREATE (:N {i: n.i + 10})");
    assert_eq!(one(&e, "MATCH (n:N) RETURN count(*)"), int(6));
    assert_eq!(
        one(&e, "CREATE (:M) WITH 1 AS x MATCH (m:M) RETURN count(m)"),
        int(1)
    );
}

#[test]
fn aggregation_grouping_distinct_order_skip_limit() {
    let e = engine();
    run(&e, "UNWIND range(1, 10) AS i CREATE (:P {g: i % 3, v: i})");
    let rows = run(&e, "MATCH (p:P) RETURN p.g AS g, count(*) AS c, sum(p.v) AS s, collect(p.v)[0] AS first ORDER BY g");
    assert_eq!(
        rows,
        vec![
            vec![int(0), int(3), int(18), int(3)],
            vec![int(1), int(4), int(22), int(1)],
            vec![int(2), int(3), int(15), int(2)],
        ]
    );
    assert_eq!(one(&e, "MATCH (p:P) RETURN count(DISTINCT p.g)"), int(3));
    assert_eq!(one(&e, "MATCH (p:P) RETURN avg(p.v)"), Value::Float(5.5));
    assert_eq!(one(&e, "MATCH (p:P) RETURN max(p.v) - min(p.v)"), int(9));
    assert_eq!(one(&e, "MATCH (p:Nothing) RETURN count(*)"), int(0));
    assert_eq!(
        run(&e, "MATCH (p:P) RETURN DISTINCT p.g AS g ORDER BY g DESC").len(),
        3
    );
    let rows = run(&e, "MATCH (p:P) RETURN p.v AS v ORDER BY v SKIP 2 LIMIT 3");
    assert_eq!(rows, vec![vec![int(3)], vec![int(4)], vec![int(5)]]);
    let rows = run(
        &e,
        "MATCH (p:P) WITH p.g AS g, count(*) AS c WHERE c > 3 RETURN g, c",
    );
    assert_eq!(rows, vec![vec![int(1), int(4)]]);
    assert_eq!(one(&e, "UNWIND [1, 2, 3] AS x RETURN sum(x) * 2"), int(12));
}

#[test]
fn optional_match_union_and_paths() {
    let e = engine();
    run(&e, "CREATE (:A {n: 1})-[:R]->(:B {n: 2}), (:A {n: 3})");
    let rows = run(
        &e,
        "MATCH (a:A) OPTIONAL MATCH (a)-[:R]->(b) RETURN a.n AS a, b.n AS b ORDER BY a",
    );
    assert_eq!(rows, vec![vec![int(1), int(2)], vec![int(3), Value::Null]]);
    let rows = run(&e, "RETURN 1 AS x UNION RETURN 1 AS x");
    assert_eq!(rows.len(), 1);
    let rows = run(&e, "RETURN 1 AS x UNION ALL RETURN 1 AS x");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        one(&e, "MATCH p = (a:A)-[:R]->(b) RETURN length(p)"),
        int(1)
    );
    assert_eq!(
        one(&e, "MATCH p = (b:B)<-[:R]-(a) RETURN size(nodes(p))"),
        int(2)
    );
}

#[test]
fn explicit_transactions_and_snapshot_isolation() {
    let e = engine();
    let mut writer = e.session();
    writer.begin().unwrap();
    let mut st = writer.run("CREATE (:T)", &HashMap::new(), true).unwrap();
    writer.pull(&mut st, -1, &mut |_, _| Ok(())).unwrap();
    // Another session does not see the uncommitted node.
    assert_eq!(one(&e, "MATCH (t:T) RETURN count(*)"), int(0));
    writer.rollback().unwrap();
    assert_eq!(one(&e, "MATCH (t:T) RETURN count(*)"), int(0));

    // Cypher-level BEGIN / COMMIT (what pymgclient sends).
    let mut s = e.session();
    let params = HashMap::new();
    for q in ["BEGIN", "CREATE (:T)", "COMMIT"] {
        let mut st = s.run(q, &params, false).unwrap();
        s.pull(&mut st, -1, &mut |_, _| Ok(())).unwrap();
    }
    assert_eq!(one(&e, "MATCH (t:T) RETURN count(*)"), int(1));

    // A reader's snapshot does not move while others commit.
    let mut reader = e.session();
    reader.begin().unwrap();
    let count = |sess: &mut query::Session| {
        let mut st = sess
            .run("MATCH (t:T) RETURN count(*)", &HashMap::new(), true)
            .unwrap();
        let mut got = Value::Null;
        sess.pull(&mut st, -1, &mut |row, _| {
            got = row[0].clone();
            Ok(())
        })
        .unwrap();
        got
    };
    assert_eq!(count(&mut reader), int(1));
    run(&e, "CREATE (:T)");
    assert_eq!(count(&mut reader), int(1));
    reader.commit().unwrap();
    assert_eq!(one(&e, "MATCH (t:T) RETURN count(*)"), int(2));
}

#[test]
fn semantic_errors_and_query_types() {
    let e = engine();
    assert!(matches!(err(&e, "RETURN x"), QueryError::Syntax(m) if m.contains("`x` not defined")));
    assert!(matches!(err(&e, "RETURN 1 +"), QueryError::Syntax(m) if m.contains("line 1")));
    assert!(matches!(
        err(&e, "MATCH (n) RETURN n.x + count(*) AS bad"),
        QueryError::Syntax(_)
    ));
    assert!(matches!(err(&e, "RETURN 1 / 0"), QueryError::Arithmetic(_)));
    assert!(matches!(
        err(&e, "UNWIND ['a'] AS s RETURN s - 1"),
        QueryError::Type(_)
    ));
    let types = |q: &str| e.execute(q, &HashMap::new()).unwrap().2.query_type;
    assert_eq!(types("RETURN 1"), QueryType::Read);
    assert_eq!(types("CREATE ()"), QueryType::Write);
    assert_eq!(types("CREATE (n) RETURN n"), QueryType::ReadWrite);
}

#[test]
fn streams_have_exact_has_more() {
    let e = engine();
    let mut s = e.session();
    let mut st = s
        .run("UNWIND range(1, 5) AS i RETURN i", &HashMap::new(), false)
        .unwrap();
    let mut seen = Vec::new();
    let out = s
        .pull(&mut st, 5, &mut |row, _| {
            seen.push(row[0].clone());
            Ok(())
        })
        .unwrap();
    // Exactly 5 rows: the stream knows it is finished without another PULL.
    assert!(!out.has_more);
    assert_eq!(seen.len(), 5);
    let mut st = s
        .run("UNWIND range(1, 5) AS i RETURN i", &HashMap::new(), false)
        .unwrap();
    let out = s.pull(&mut st, 2, &mut |_, _| Ok(())).unwrap();
    assert!(out.has_more);
}

#[test]
fn unwind_range_is_lazy_and_bounded_by_the_time_limit() {
    let unlimited = Engine::new(
        Storage::new(StorageConfig::default()),
        EngineConfig {
            query_timeout_sec: 0,
            ..EngineConfig::default()
        },
    );
    let e = Engine::new(
        Storage::new(StorageConfig::default()),
        EngineConfig {
            query_timeout_sec: 1,
            ..EngineConfig::default()
        },
    );
    // Counting lazily: no two-million-element list is built (however slow the machine is).
    assert_eq!(
        one(&unlimited, "UNWIND range(1, 2000000) AS i RETURN count(*)"),
        int(2_000_000)
    );
    assert_eq!(
        one(&e, "UNWIND range(10, 1, -3) AS i RETURN collect(i)"),
        Value::List(vec![int(10), int(7), int(4), int(1)])
    );
    let started = std::time::Instant::now();
    assert!(matches!(
        err(&e, "UNWIND range(1, 1000000000000) AS i RETURN count(*)"),
        QueryError::Timeout(1)
    ));
    // The timeout stops it: a loose bound (the guard checks every 1024 rows), not a timing.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    // A materialised range is capped with a clear error.
    assert!(matches!(
        err(&e, "RETURN size(range(1, 100000000))"),
        QueryError::Argument(_)
    ));
}

#[test]
fn delete_removes_relationships_before_nodes_across_rows_and_paths() {
    let e = engine();
    run(
        &e,
        "CREATE (a:U {n: 1}), (b:U {n: 2}), (a)-[:R]->(b), (b)-[:R]->(a)",
    );
    // Row by row, node a would still hold the other row's relationship: the clause deletes all
    // relationships first.
    run(&e, "MATCH (a:U)-[r]->(b:U) DELETE a, r, b");
    assert_eq!(one(&e, "MATCH (n) RETURN count(*)"), int(0));
    run(&e, "CREATE (a:U), (b:U), (a)-[:R]->(b), (b)-[:R]->(a)");
    run(
        &e,
        "MATCH p = (:U)-[]->(:U) WITH collect(p) AS ps DELETE ps[0], ps[1]",
    );
    assert_eq!(one(&e, "MATCH (n) RETURN count(*)"), int(0));
    // Still refused when a relationship would be left dangling.
    run(&e, "CREATE (:U)-[:R]->(:V)");
    assert!(matches!(
        err(&e, "MATCH (u:U) DELETE u"),
        QueryError::Constraint(_)
    ));
}

/// An equality seek from the pattern's own map decides that equality itself (no filter reads the
/// property again): what it finds must be exactly what Cypher's `=` finds without the index, for
/// every kind of value, including those the index cannot order (which fall back to a scan).
#[test]
fn pattern_equality_through_an_index_matches_cypher_equality() {
    let values = [
        "1",
        "1.0",
        "-0.0",
        "0",
        "2.5",
        "'1'",
        "true",
        "false",
        "[1, 2]",
        "[1, null]",
        "0.0/0.0",
        "null",
        "{a: 1}",
        "date('2020-01-01')",
    ];
    let with_index = engine();
    let without = engine();
    run(&with_index, "CREATE INDEX ON :P(v)");
    for e in [&with_index, &without] {
        for (i, v) in values.iter().enumerate() {
            if *v == "{a: 1}" {
                continue; // maps are not property values
            }
            run(e, &format!("CREATE (:P {{i: {i}, v: {v}}})"));
        }
        run(e, "CREATE (:Q {i: 100, v: 1})");
    }
    let plan = run(&with_index, "EXPLAIN MATCH (n:P {v: 1}) RETURN n.i");
    assert!(
        format!("{plan:?}").contains("ScanAllByLabelPropertyValue"),
        "{plan:?}"
    );
    for v in values {
        for q in [
            format!("MATCH (n:P {{v: {v}}}) RETURN n.i ORDER BY n.i"),
            format!("UNWIND [{v}] AS x MATCH (n:P {{v: x}}) RETURN n.i ORDER BY n.i"),
            format!("MATCH (n:P {{v: {v}, i: 0}}) RETURN n.i ORDER BY n.i"),
        ] {
            assert_eq!(run(&with_index, &q), run(&without, &q), "{q}");
        }
    }
    assert_eq!(
        run(&with_index, "MATCH (n:P {v: 1}) RETURN n.i ORDER BY n.i"),
        vec![vec![int(0)], vec![int(1)]]
    );
}
