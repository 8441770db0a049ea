//! MERGE at the engine level: match-or-create, ON MATCH / ON CREATE, rows seeing earlier rows'
//! creations, and the patterns MERGE refuses.

use std::collections::HashMap;
use std::sync::Arc;

use query::{Engine, EngineConfig, Value};
use storage::{Storage, StorageConfig};

fn engine() -> Arc<Engine> {
    Engine::new(
        Storage::new(StorageConfig::default()),
        EngineConfig::default(),
    )
}

fn run(e: &Arc<Engine>, q: &str) -> Vec<Vec<Value>> {
    match e.execute(q, &HashMap::new()) {
        Ok((_, rows, _)) => rows,
        Err(err) => panic!("{q}: {err}"),
    }
}

fn one(e: &Arc<Engine>, q: &str) -> Value {
    let rows = run(e, q);
    assert_eq!(rows.len(), 1, "{q}: {rows:?}");
    rows[0][0].clone()
}

fn fails(e: &Arc<Engine>, q: &str) {
    assert!(e.execute(q, &HashMap::new()).is_err(), "{q} should fail");
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

#[test]
fn merge_node_creates_once_then_matches() {
    let e = engine();
    let (_, _, summary) = e
        .execute("MERGE (n:A {v: 1}) RETURN n.v", &HashMap::new())
        .unwrap();
    assert_eq!(summary.stats.nodes_created, 1);
    run(&e, "MERGE (n:A {v: 1})");
    assert_eq!(one(&e, "MATCH (n:A) RETURN count(n)"), int(1));
}

#[test]
fn later_rows_see_what_earlier_rows_created() {
    let e = engine();
    run(&e, "UNWIND [1, 2, 1, 2, 3] AS x MERGE (:N {v: x})");
    assert_eq!(one(&e, "MATCH (n:N) RETURN count(n)"), int(3));
}

#[test]
fn on_create_and_on_match() {
    let e = engine();
    let q = "UNWIND [1, 1] AS x MERGE (n:C) ON CREATE SET n.created = true \
             ON MATCH SET n.matched = coalesce(n.matched, 0) + 1 \
             RETURN n.created, n.matched";
    let rows = run(&e, q);
    assert_eq!(rows[0], vec![Value::Bool(true), Value::Null]);
    assert_eq!(rows[1], vec![Value::Bool(true), int(1)]);
}

#[test]
fn merge_relationship_between_bound_nodes() {
    let e = engine();
    run(&e, "CREATE (:P {n: 'a'}), (:P {n: 'b'})");
    let q = "MATCH (a:P {n: 'a'}), (b:P {n: 'b'}) MERGE (a)-[r:KNOWS]->(b) RETURN type(r)";
    assert_eq!(run(&e, q).len(), 1);
    assert_eq!(run(&e, q).len(), 1);
    assert_eq!(one(&e, "MATCH ()-[r:KNOWS]->() RETURN count(r)"), int(1));
    // Undirected: matches the existing edge in either direction.
    run(
        &e,
        "MATCH (a:P {n: 'a'}), (b:P {n: 'b'}) MERGE (b)-[:KNOWS]-(a)",
    );
    assert_eq!(one(&e, "MATCH ()-[r:KNOWS]->() RETURN count(r)"), int(1));
}

#[test]
fn merge_creates_unbound_parts_and_binds_a_path() {
    let e = engine();
    run(&e, "CREATE (:S)");
    let rows = run(
        &e,
        "MATCH (s:S) MERGE p = (s)-[:R]->(t:T {k: 1}) RETURN length(p), t.k",
    );
    assert_eq!(rows, vec![vec![int(1), int(1)]]);
    assert_eq!(one(&e, "MATCH (t:T) RETURN count(t)"), int(1));
    assert_eq!(one(&e, "MATCH (s:S) RETURN count(s)"), int(1));
}

#[test]
fn merge_rejects_what_it_cannot_create() {
    let e = engine();
    fails(&e, "CREATE (a), (b) MERGE (a)-->(b)");
    fails(&e, "CREATE (a), (b) MERGE (a)-[:A|B]->(b)");
    fails(&e, "MERGE (a) MERGE (b) MERGE (a)-[:R*2]->(b)");
    fails(&e, "MERGE (a) MERGE (b) MERGE (a)-[:R $p]->(b)");
    fails(&e, "CREATE (a) MERGE (a)");
    fails(&e, "MERGE (n {v: null})");
    fails(&e, "CREATE (a), (b) MERGE (a)-[:X {v: null}]->(b)");
}
