//! Expressions that run a read-only pattern per row: pattern predicates, EXISTS { ... } and
//! pattern comprehensions; and map projection.

use std::collections::HashMap;
use std::sync::Arc;

use query::{Engine, EngineConfig, Value};
use storage::{Storage, StorageConfig};

fn engine() -> Arc<Engine> {
    let e = Engine::new(
        Storage::new(StorageConfig::default()),
        EngineConfig::default(),
    );
    run(
        &e,
        "CREATE (a:P {name: 'a', age: 30})-[:KNOWS]->(b:P {name: 'b', age: 20}), \
         (b)-[:KNOWS]->(c:P {name: 'c', age: 40}), (d:P {name: 'd', age: 50})",
    );
    e
}

fn run(e: &Arc<Engine>, q: &str) -> Vec<Vec<Value>> {
    match e.execute(q, &HashMap::new()) {
        Ok((_, rows, _)) => rows,
        Err(err) => panic!("{q}: {err}"),
    }
}

fn names(e: &Arc<Engine>, q: &str) -> Vec<Value> {
    run(e, q).into_iter().map(|r| r[0].clone()).collect()
}

fn s(x: &str) -> Value {
    Value::String(x.into())
}

#[test]
fn pattern_predicates_in_where() {
    let e = engine();
    let q = "MATCH (n:P) WHERE (n)-[:KNOWS]->() RETURN n.name ORDER BY n.name";
    assert_eq!(names(&e, q), vec![s("a"), s("b")]);
    let q = "MATCH (n:P) WHERE NOT (n)--() RETURN n.name";
    assert_eq!(names(&e, q), vec![s("d")]);
    let q = "MATCH (n:P) WHERE exists((n)<-[:KNOWS]-()) RETURN n.name ORDER BY n.name";
    assert_eq!(names(&e, q), vec![s("b"), s("c")]);
    let q = "MATCH (x:P {name: 'a'}), (y:P) WHERE (x)-->(y) RETURN y.name";
    assert_eq!(names(&e, q), vec![s("b")]);
}

#[test]
fn exists_subqueries() {
    let e = engine();
    let q = "MATCH (n:P) WHERE EXISTS { MATCH (n)-[:KNOWS]->(m) WHERE m.age > 30 } \
             RETURN n.name";
    assert_eq!(names(&e, q), vec![s("b")]);
    let q = "MATCH (n:P) WHERE EXISTS { MATCH (n)-->(m) MATCH (m)-->(o) RETURN o.name } \
             RETURN n.name";
    assert_eq!(names(&e, q), vec![s("a")]);
    assert!(e
        .execute(
            "MATCH (n) WHERE EXISTS { MATCH (n)-->(m) RETURN count(m) } RETURN n",
            &HashMap::new()
        )
        .is_err());
    let q = "MATCH (n:P) RETURN n.name, EXISTS { (n)<--() } AS known ORDER BY n.name";
    let rows = run(&e, q);
    let known: Vec<Value> = rows.into_iter().map(|r| r[1].clone()).collect();
    assert_eq!(
        known,
        vec![
            Value::Bool(false),
            Value::Bool(true),
            Value::Bool(true),
            Value::Bool(false)
        ]
    );
}

#[test]
fn pattern_comprehensions() {
    let e = engine();
    let q = "MATCH (n:P {name: 'a'}) RETURN [(n)-->()-->(m) | m.name]";
    assert_eq!(names(&e, q), vec![Value::List(vec![s("c")])]);
    let q = "MATCH (n:P) RETURN n.name, [(n)-->(m) WHERE m.age > 25 | m.name] ORDER BY n.name";
    let rows = run(&e, q);
    assert_eq!(rows[0][1], Value::List(vec![]));
    assert_eq!(rows[1][1], Value::List(vec![s("c")]));
    let q = "MATCH (n:P {name: 'b'}) RETURN [p = (n)-[:KNOWS]-() | length(p)]";
    assert_eq!(
        names(&e, q),
        vec![Value::List(vec![Value::Int(1), Value::Int(1)])]
    );
}

fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

#[test]
fn map_projection() {
    let e = engine();
    let q = "MATCH (n:P {name: 'a'}) WITH n, 7 AS seven \
             RETURN n {.name, .missing, x: 1, seven}";
    assert_eq!(
        names(&e, q),
        vec![map(&[
            ("name", s("a")),
            ("missing", Value::Null),
            ("x", Value::Int(1)),
            ("seven", Value::Int(7)),
        ])]
    );
    let q = "MATCH (n:P {name: 'a'}) RETURN n {.*, age: n.age + 1}";
    assert_eq!(
        names(&e, q),
        vec![map(&[("name", s("a")), ("age", Value::Int(31))])]
    );
    let q = "WITH {a: 1, b: 2} AS m RETURN m {.a, c: 3}";
    assert_eq!(
        names(&e, q),
        vec![map(&[("a", Value::Int(1)), ("c", Value::Int(3))])]
    );
    assert_eq!(names(&e, "WITH null AS m RETURN m {.a}"), vec![Value::Null]);
}

#[test]
fn comprehensions_over_aggregates() {
    let e = engine();
    let q = "MATCH (n:P) RETURN [x IN collect(n.age) WHERE x > 25 | x * 2] AS l";
    let Value::List(mut l) = names(&e, q).remove(0) else {
        panic!("not a list")
    };
    l.sort_by_key(|v| match v {
        Value::Int(i) => *i,
        _ => 0,
    });
    assert_eq!(l, vec![Value::Int(60), Value::Int(80), Value::Int(100)]);
}

#[test]
fn sub_plans_after_a_write_see_all_of_its_rows() {
    let e = engine();
    let q = "MATCH (p:P {name: 'd'}) UNWIND [1, 2] AS x CREATE (p)-[:HAS]->(:I {x: x}) \
             WITH p, x RETURN x, size([(p)-[:HAS]->(i) | i]) AS n ORDER BY x";
    assert_eq!(
        run(&e, q),
        vec![
            vec![Value::Int(1), Value::Int(2)],
            vec![Value::Int(2), Value::Int(2)]
        ]
    );
}

#[test]
fn variable_length_and_shortest_paths_inside_expressions() {
    // An empty graph (not the shared fixture), so every node is accounted for below.
    let e = Engine::new(
        Storage::new(StorageConfig::default()),
        EngineConfig::default(),
    );
    run(
        &e,
        "CREATE (:S {n: 1})-[:T]->(:M)-[:T]->(:E {n: 3}), (:Lone {n: 4})",
    );
    // A pattern predicate over a variable-length pattern.
    let rows = run(&e, "MATCH (a) WHERE (a)-[:T*2]->() RETURN a.n");
    assert_eq!(rows, vec![vec![Value::Int(1)]]);
    // EXISTS with a variable-length body.
    let rows = run(
        &e,
        "MATCH (a) WHERE NOT EXISTS { (a)-[*1..3]-() } RETURN a.n",
    );
    assert_eq!(rows, vec![vec![Value::Int(4)]]);
    // A pattern comprehension collecting every reachable end.
    let rows = run(&e, "MATCH (a:S) RETURN size([(a)-[:T*]->(b) | b]) AS reach");
    assert_eq!(rows, vec![vec![Value::Int(2)]]);
    // shortestPath inside an EXISTS body.
    let q = "MATCH (a:S), (b) WHERE EXISTS { MATCH p = shortestPath((a)-[*]->(b)) WHERE length(p) = 2 } RETURN b.n";
    assert_eq!(run(&e, q), vec![vec![Value::Int(3)]]);
}
