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
    let q = "MATCH (x:P {name: 'a'}), (y:P) WHERE (x)-->(y) RETURN y.name";
    assert_eq!(names(&e, q), vec![s("b")]);
}

#[test]
fn exists_subqueries() {
    let e = engine();
    let q = "MATCH (n:P) WHERE EXISTS { MATCH (n)-[:KNOWS]->(m) WHERE m.age > 30 } \
             RETURN n.name";
    assert_eq!(names(&e, q), vec![s("b")]);
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
