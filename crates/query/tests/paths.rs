//! Variable-length relationship patterns, named paths over them, and shortest paths.

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

/// The rows of a query returning strings and integers, sorted, as compact text.
fn sorted(e: &Arc<Engine>, q: &str) -> Vec<String> {
    let mut out: Vec<String> = run(e, q)
        .into_iter()
        .map(|row| {
            row.iter()
                .map(|v| match v {
                    Value::String(x) => x.clone(),
                    Value::Int(i) => i.to_string(),
                    Value::Null => "null".into(),
                    Value::List(items) => format!("{items:?}"),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    out.sort();
    out
}

/// a -> b -> c -> d, plus a shortcut a -> d and a typed side edge c -[:Y]-> e.
fn chain() -> Arc<Engine> {
    let e = engine();
    run(
        &e,
        "CREATE (a {n: 'a'})-[:X {w: 1}]->(b {n: 'b'})-[:X {w: 1}]->(c {n: 'c'})-[:X {w: 2}]->(d {n: 'd'}), \
         (a)-[:Z {w: 1}]->(d), (c)-[:Y {w: 1}]->(x {n: 'e'})",
    );
    e
}

#[test]
fn unbounded_and_fixed_lengths() {
    let e = chain();
    assert_eq!(
        sorted(&e, "MATCH ({n: 'a'})-[*]->(m) RETURN m.n"),
        ["b", "c", "d", "d", "e"]
    );
    assert_eq!(sorted(&e, "MATCH ({n: 'a'})-[*2]->(m) RETURN m.n"), ["c"]);
    assert_eq!(
        sorted(&e, "MATCH ({n: 'a'})-[*1..2]->(m) RETURN m.n"),
        ["b", "c", "d"]
    );
    assert_eq!(
        sorted(&e, "MATCH ({n: 'a'})-[*..2]->(m) RETURN m.n"),
        ["b", "c", "d"]
    );
    assert_eq!(
        sorted(&e, "MATCH ({n: 'a'})-[*3..]->(m) RETURN m.n"),
        ["d", "e"]
    );
}

#[test]
fn zero_length_binds_the_same_node() {
    let e = chain();
    assert_eq!(
        sorted(&e, "MATCH (a {n: 'c'})-[r*0..]->(m) RETURN m.n, size(r)"),
        ["c 0", "d 1", "e 1"]
    );
    assert_eq!(
        sorted(&e, "MATCH (a {n: 'b'})-[*0]->(m) RETURN m.n, a = m"),
        ["b Bool(true)"]
    );
}

#[test]
fn types_and_property_maps_apply_to_every_edge() {
    let e = chain();
    assert_eq!(
        sorted(&e, "MATCH ({n: 'a'})-[:X|Y*1..3]->(m) RETURN m.n"),
        ["b", "c", "d", "e"]
    );
    assert_eq!(
        sorted(&e, "MATCH ({n: 'a'})-[:X*]->(m) RETURN m.n"),
        ["b", "c", "d"]
    );
    assert_eq!(
        sorted(&e, "MATCH ({n: 'a'})-[*{w: 1}]->(m) RETURN m.n"),
        ["b", "c", "d", "e"]
    );
    assert_eq!(
        sorted(&e, "MATCH ({n: 'a'})-[:X*{w: 1}]->(m) RETURN m.n"),
        ["b", "c"]
    );
}

#[test]
fn directions() {
    let e = chain();
    assert_eq!(
        sorted(&e, "MATCH ({n: 'd'})<-[*1..2]-(m) RETURN m.n"),
        ["a", "b", "c"]
    );
    // Undirected: every walk without a repeated edge, including back round the a-d cycle.
    assert_eq!(
        sorted(&e, "MATCH ({n: 'b'})-[*1..2]-(m) RETURN m.n"),
        ["a", "c", "d", "d", "e"]
    );
}

#[test]
fn r_is_a_list_of_relationships() {
    let e = chain();
    let rows = run(&e, "MATCH ({n: 'a'})-[r:X*2]->() RETURN r");
    assert_eq!(rows.len(), 1);
    let Value::List(items) = &rows[0][0] else {
        panic!("{rows:?}")
    };
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|v| matches!(v, Value::Relationship(_))));
    assert_eq!(
        sorted(
            &e,
            "MATCH ({n: 'a'})-[r:X*]->(m) RETURN m.n, [x IN r | x.w]"
        ),
        [
            "b [Int(1)]",
            "c [Int(1), Int(1)]",
            "d [Int(1), Int(1), Int(2)]"
        ]
    );
}

#[test]
fn bound_end_nodes() {
    let e = chain();
    assert_eq!(
        sorted(
            &e,
            "MATCH (a {n: 'a'}), (d {n: 'd'}) MATCH (a)-[r*]->(d) RETURN size(r)"
        ),
        ["1", "3"]
    );
    assert_eq!(
        sorted(
            &e,
            "MATCH (a {n: 'a'}), (d {n: 'd'}) MATCH (a)-[r*2]->(d) RETURN size(r)"
        ),
        Vec::<String>::new()
    );
}

#[test]
fn named_paths_over_var_length_parts() {
    let e = chain();
    assert_eq!(
        sorted(
            &e,
            "MATCH p = ({n: 'a'})-[:X*1..3]->(m) \
             RETURN length(p), [x IN nodes(p) | x.n], size(relationships(p))"
        ),
        [
            "1 [String(\"a\"), String(\"b\")] 1",
            "2 [String(\"a\"), String(\"b\"), String(\"c\")] 2",
            "3 [String(\"a\"), String(\"b\"), String(\"c\"), String(\"d\")] 3",
        ]
    );
    // A var-length part between fixed ones, walked backwards.
    assert_eq!(
        sorted(
            &e,
            "MATCH p = (x {n: 'e'})<-[:Y]-()<-[*2]-(y) RETURN [v IN nodes(p) | v.n]"
        ),
        ["[String(\"e\"), String(\"c\"), String(\"b\"), String(\"a\")]"]
    );
    // Zero length: a path of one node.
    assert_eq!(
        sorted(
            &e,
            "MATCH p = ({n: 'c'})-[*0]->() RETURN length(p), size(nodes(p))"
        ),
        ["0 1"]
    );
}

#[test]
fn edges_are_unique_within_a_path_and_across_the_pattern() {
    let e = engine();
    // A two-node cycle: undirected walks may not reuse an edge.
    run(&e, "CREATE (a {n: 'a'})-[:T]->(b {n: 'b'})-[:T]->(a)");
    assert_eq!(
        sorted(&e, "MATCH ({n: 'a'})-[r*]-(m) RETURN m.n, size(r)"),
        ["a 2", "a 2", "b 1", "b 1"]
    );
    // The single edge may not also be part of the var-length list, and the other way round.
    assert_eq!(
        sorted(&e, "MATCH ({n: 'a'})-[s]->()-[r*]->(m) RETURN m.n, size(r)"),
        ["a 1"]
    );
    assert_eq!(
        sorted(&e, "MATCH ({n: 'a'})-[r*]->()-[s]->(m) RETURN m.n, size(r)"),
        ["a 1"]
    );
    // Two var-length parts of one MATCH share no edge: only the single-edge walks pair up.
    assert_eq!(
        sorted(
            &e,
            "MATCH (x)-[r*1..2]->(), (y)-[q*1..2]->() RETURN size(r) + size(q)"
        ),
        ["2", "2"]
    );
}

#[test]
fn optional_var_length() {
    let e = chain();
    assert_eq!(
        sorted(
            &e,
            "MATCH (x {n: 'e'}) OPTIONAL MATCH (x)-[r*]->(m) RETURN x.n, m"
        ),
        ["e null"]
    );
}

/// A grid-ish graph: two shortest a-d paths of length 2, one longer.
fn diamond() -> Arc<Engine> {
    let e = engine();
    run(
        &e,
        "CREATE (a {n: 'a'})-[:R]->(b {n: 'b'})-[:R]->(d {n: 'd'}), \
         (a)-[:R]->(c {n: 'c'})-[:R]->(d), (a)-[:S]->(x {n: 'x'})-[:S]->(y {n: 'y'})-[:S]->(d)",
    );
    e
}

#[test]
fn shortest_path() {
    let e = diamond();
    assert_eq!(
        sorted(
            &e,
            "MATCH p = shortestPath(({n: 'a'})-[*]->({n: 'd'})) RETURN length(p)"
        ),
        ["2"]
    );
    assert_eq!(
        sorted(
            &e,
            "MATCH p = shortestPath(({n: 'a'})-[:S*]->({n: 'd'})) \
             RETURN [v IN nodes(p) | v.n]"
        ),
        ["[String(\"a\"), String(\"x\"), String(\"y\"), String(\"d\")]"]
    );
    // Against the direction there is no path; undirected there is.
    assert_eq!(
        sorted(
            &e,
            "MATCH p = shortestPath(({n: 'd'})-[*]->({n: 'a'})) RETURN length(p)"
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        sorted(
            &e,
            "MATCH (d {n: 'd'}), (a {n: 'a'}) MATCH p = shortestPath((d)-[r*]-(a)) \
             RETURN length(p), size(r)"
        ),
        ["2 2"]
    );
    // The maximum length is a hard limit.
    assert_eq!(
        sorted(
            &e,
            "MATCH p = shortestPath(({n: 'a'})-[:S*..2]->({n: 'd'})) RETURN length(p)"
        ),
        Vec::<String>::new()
    );
}

#[test]
fn all_shortest_paths() {
    let e = diamond();
    assert_eq!(
        sorted(
            &e,
            "MATCH p = allShortestPaths(({n: 'a'})-[*]->({n: 'd'})) \
             RETURN [v IN nodes(p) | v.n]"
        ),
        [
            "[String(\"a\"), String(\"b\"), String(\"d\")]",
            "[String(\"a\"), String(\"c\"), String(\"d\")]",
        ]
    );
    assert_eq!(
        sorted(
            &e,
            "MATCH (a {n: 'a'}) MATCH p = allShortestPaths((a)-[*0..]->(a)) RETURN length(p)"
        ),
        ["0"]
    );
    let rows = run(
        &e,
        "MATCH p = allShortestPaths(({n: 'a'})-[*]->(m {n: 'y'})) RETURN relationships(p)",
    );
    assert_eq!(rows.len(), 1);
    assert!(matches!(&rows[0][0], Value::List(l) if l.len() == 2));
}

#[test]
fn a_runaway_search_hits_the_time_limit() {
    let e = Engine::new(
        Storage::new(StorageConfig::default()),
        EngineConfig {
            query_timeout_sec: 1,
            ..EngineConfig::default()
        },
    );
    // K9: the number of trails is astronomical.
    run(
        &e,
        "UNWIND range(1, 9) AS i CREATE ({i: i}) WITH count(*) AS c \
         MATCH (a), (b) WHERE a.i < b.i CREATE (a)-[:T]->(b)",
    );
    let started = std::time::Instant::now();
    let out = e.execute("MATCH ()-[*]-() RETURN count(*)", &HashMap::new());
    assert!(matches!(out, Err(query::QueryError::Timeout(1))), "{out:?}");
    assert!(started.elapsed().as_secs() < 10);
}
