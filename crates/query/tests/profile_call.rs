//! PROFILE (the per-operator table, the query's writes) and CALL of the built-in procedures.

use std::collections::HashMap;
use std::sync::Arc;

use query::{Engine, EngineConfig, QueryError, Value};
use storage::{Storage, StorageConfig};

fn engine() -> Arc<Engine> {
    Engine::new(
        Storage::new(StorageConfig::default()),
        EngineConfig::default(),
    )
}

fn execute(e: &Arc<Engine>, q: &str) -> (Vec<String>, Vec<Vec<Value>>, query::Summary) {
    match e.execute(q, &HashMap::new()) {
        Ok(r) => r,
        Err(err) => panic!("{q}: {err}"),
    }
}

fn rows(e: &Arc<Engine>, q: &str) -> Vec<Vec<Value>> {
    execute(e, q).1
}

fn err(e: &Arc<Engine>, q: &str) -> QueryError {
    match e.execute(q, &HashMap::new()) {
        Ok(r) => panic!("{q} should fail, got {:?}", r.1),
        Err(err) => err,
    }
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn text(v: &Value) -> &str {
    match v {
        Value::String(s) => s,
        other => panic!("expected a string, got {other:?}"),
    }
}

fn hits(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        other => panic!("expected an integer, got {other:?}"),
    }
}

/// Parses " 12.345678 %" / " 0.012345 ms" back into the number, checking the format.
fn number(v: &str, unit: &str) -> f64 {
    let n = v
        .strip_suffix(unit)
        .unwrap_or_else(|| panic!("{v:?} does not end in {unit:?}"));
    let n = n.strip_suffix(' ').expect("a space before the unit");
    assert!(n.len() >= 10, "{v:?}: padded to ten characters");
    let digits = n.trim_start();
    assert_eq!(digits.split('.').nth(1).map(str::len), Some(6), "{v:?}");
    digits.parse().unwrap()
}

#[test]
fn profile_reports_every_operator_with_hits_and_times() {
    let e = engine();
    rows(&e, "UNWIND range(1, 10) AS i CREATE (:N {i: i})");
    let (columns, table, _) = execute(&e, "PROFILE MATCH (n:N) WHERE n.i > 3 RETURN n.i");
    assert_eq!(
        columns,
        ["OPERATOR", "ACTUAL HITS", "RELATIVE TIME", "ABSOLUTE TIME"]
    );
    let ops: Vec<&str> = table.iter().map(|r| text(&r[0])).collect();
    assert_eq!(ops, ["* Produce", "* Filter", "* ScanAllByLabel", "* Once"]);
    // Memgraph counts pull calls: the rows produced and the final empty pull.
    let h: Vec<i64> = table.iter().map(|r| hits(&r[1])).collect();
    assert_eq!(h, [8, 8, 11, 2]);
    let relative: f64 = table.iter().map(|r| number(text(&r[2]), "%")).sum();
    assert!(
        (relative - 100.0).abs() < 0.01,
        "relative times sum to 100: {relative}"
    );
    for r in &table {
        assert!(number(text(&r[3]), "ms") >= 0.0);
    }
}

#[test]
fn profile_executes_writes_and_reports_their_stats() {
    let e = engine();
    let (_, table, summary) = execute(&e, "PROFILE UNWIND range(1, 5) AS i CREATE (:P {i: i})");
    assert_eq!(text(&table[0][0]), "* Create");
    assert_eq!(summary.stats.nodes_created, 5);
    assert!(summary.commit_ts.is_some());
    assert_eq!(rows(&e, "MATCH (p:P) RETURN count(p)"), [[Value::Int(5)]]);
}

#[test]
fn profile_prints_branches_as_memgraph_does() {
    let e = engine();
    rows(&e, "CREATE (:A)-[:R]->(:B)");
    let (_, table, _) = execute(&e, "PROFILE MATCH (a:A) OPTIONAL MATCH (a)-->(b) RETURN b");
    let ops: Vec<&str> = table.iter().map(|r| text(&r[0])).collect();
    assert_eq!(
        ops,
        [
            "* Produce",
            "* Optional",
            "|\\",
            "| * Expand",
            "| * Once",
            "* ScanAllByLabel",
            "* Once"
        ]
    );
    assert_eq!(table[2][1], s(""));
    let explain: Vec<Value> = rows(&e, "EXPLAIN MATCH (a:A) OPTIONAL MATCH (a)-->(b) RETURN b")
        .into_iter()
        .map(|mut r| r.remove(0))
        .collect();
    assert_eq!(explain, ops.iter().map(|o| s(o)).collect::<Vec<_>>());
}

#[test]
fn profile_errors_roll_back_and_are_refused_in_transactions() {
    let e = engine();
    let failure = err(&e, "PROFILE CREATE (:X) WITH 1 AS one RETURN 1 / 0");
    assert!(matches!(failure, QueryError::Arithmetic(_)), "{failure:?}");
    assert_eq!(rows(&e, "MATCH (x:X) RETURN count(x)"), [[Value::Int(0)]]);

    let mut session = e.session();
    session.begin().unwrap();
    let refused = session
        .run("PROFILE RETURN 1", &HashMap::new(), true)
        .err()
        .expect("PROFILE inside a transaction fails");
    assert_eq!(
        refused.to_string(),
        "PROFILE not allowed in multicommand transactions."
    );
}

#[test]
fn standalone_call_returns_all_columns() {
    let e = engine();
    rows(
        &e,
        "CREATE (:Person {name: 'a'})-[:KNOWS {since: 1}]->(:Robot:Person {age: 2})",
    );
    // A name only a query mentioned is not in the graph.
    rows(&e, "MATCH (n:Ghost) WHERE n.ghostly RETURN n");
    let (columns, labels, _) = execute(&e, "CALL db.labels()");
    assert_eq!(columns, ["label"]);
    assert_eq!(labels, [[s("Person")], [s("Robot")]]);
    assert_eq!(rows(&e, "CALL db.relationshipTypes()"), [[s("KNOWS")]]);
    assert_eq!(
        rows(&e, "CALL db.propertyKeys"),
        [[s("age")], [s("name")], [s("since")]]
    );
    let (columns, components, _) = execute(&e, "CALL dbms.components()");
    assert_eq!(columns, ["name", "versions", "edition"]);
    assert_eq!(components.len(), 1);
    assert_eq!(components[0][0], s("ferrograph"));
}

#[test]
fn call_yield_feeds_later_clauses() {
    let e = engine();
    rows(&e, "CREATE (:Apple), (:Avocado), (:Banana)");
    assert_eq!(
        rows(
            &e,
            "CALL db.labels() YIELD label AS l WHERE l STARTS WITH 'A' RETURN collect(l) AS ls"
        ),
        [[Value::List(vec![s("Apple"), s("Avocado")])]]
    );
    assert_eq!(
        rows(
            &e,
            "MATCH (b:Banana) CALL db.labels() YIELD label RETURN count(*) AS n"
        ),
        [[Value::Int(3)]]
    );
    let (columns, yielded, _) = execute(&e, "CALL db.labels() YIELD *");
    assert_eq!(columns, ["label"]);
    assert_eq!(yielded.len(), 3);
    // CALL after a write in the same query sees the write.
    assert_eq!(
        rows(
            &e,
            "CREATE (:Cherry) WITH 1 AS x CALL db.labels() YIELD label RETURN count(label)"
        ),
        [[Value::Int(4)]]
    );
}

#[test]
fn mg_procedures_lists_the_registry() {
    let e = engine();
    let (columns, procs, _) = execute(
        &e,
        "CALL mg.procedures() YIELD name, signature, is_write RETURN * ORDER BY name",
    );
    assert_eq!(columns, ["is_write", "name", "signature"]);
    let names: Vec<&str> = procs.iter().map(|r| text(&r[1])).collect();
    assert!(
        names.contains(&"db.labels") && names.contains(&"mg.procedures"),
        "{names:?}"
    );
    let labels = procs.iter().find(|r| r[1] == s("db.labels")).unwrap();
    assert_eq!(labels[2], s("db.labels() :: (label :: STRING)"));
    assert_eq!(labels[0], Value::Bool(false));
}

#[test]
fn bad_calls_fail_clearly() {
    let e = engine();
    let missing = err(&e, "CALL db.nope()");
    assert_eq!(
        missing.code(),
        "Neo.ClientError.Procedure.ProcedureNotFound"
    );
    assert!(missing.to_string().contains("'db.nope'"), "{missing}");
    let args = err(&e, "CALL db.labels(1)");
    assert_eq!(args.code(), "Neo.ClientError.Statement.SyntaxError");
    assert!(args.to_string().contains("got 1 expected 0"), "{args}");
    let field = err(&e, "CALL db.labels() YIELD nope RETURN nope");
    assert!(
        field
            .to_string()
            .contains("Unknown procedure output: `nope`"),
        "{field}"
    );
    let implicit = err(&e, "MATCH (n) CALL db.labels() RETURN n");
    assert!(implicit.to_string().contains("YIELD"), "{implicit}");
    let clash = err(
        &e,
        "UNWIND [1] AS label CALL db.labels() YIELD label RETURN label",
    );
    assert!(clash.to_string().contains("already declared"), "{clash}");
}
