//! Compile-time semantic analysis: errors Neo4j reports as SyntaxError before running anything.

use std::collections::HashMap;
use std::sync::Arc;

use query::{Engine, EngineConfig};
use storage::{Storage, StorageConfig};

fn engine() -> Arc<Engine> {
    Engine::new(
        Storage::new(StorageConfig::default()),
        EngineConfig::default(),
    )
}

/// The query must fail to compile with a SyntaxError-coded error.
fn rejects(e: &Arc<Engine>, q: &str) {
    match e.execute(q, &HashMap::new()) {
        Ok(r) => panic!("{q} should fail, got {:?}", r.1),
        Err(err) => assert_eq!(
            err.code(),
            "Neo.ClientError.Statement.SyntaxError",
            "{q}: {err}"
        ),
    }
}

fn accepts(e: &Arc<Engine>, q: &str) {
    if let Err(err) = e.execute(q, &HashMap::new()) {
        panic!("{q}: {err}");
    }
}

#[test]
fn variables_keep_one_kind() {
    let e = engine();
    rejects(&e, "MATCH (a)-[r]->() MATCH (r) RETURN r");
    rejects(&e, "MATCH p = ()-->() MATCH (p) RETURN p");
    rejects(&e, "MATCH (a)-[a]->() RETURN a");
    rejects(&e, "WITH 1 AS n MATCH (n) RETURN n");
    rejects(&e, "WITH 'x' AS r MATCH ()-[r]->() RETURN r");
    accepts(&e, "MATCH (a)-[r]->(b) MATCH (a)-[r]->(b) RETURN a");
    accepts(&e, "UNWIND [1] AS x MATCH (n) RETURN n, x");
    rejects(&e, "MATCH ()-[r]->() MATCH ()-[r*]->() RETURN r");
    // A list of relationships may be re-matched as a variable-length relationship; the
    // planner may not support that yet, but it is not a type conflict.
    let q = "MATCH ()-[a]->()-[b]->() WITH [a, b] AS rs MATCH ()-[rs*]->() RETURN 1";
    if let Err(err) = e.execute(q, &HashMap::new()) {
        assert!(!err.to_string().contains("Type mismatch"), "{err}");
    }
}

#[test]
fn bound_variables_in_create() {
    let e = engine();
    rejects(&e, "MATCH (a) CREATE (a)");
    rejects(&e, "MATCH (a) CREATE (a:L)-[:R]->()");
    rejects(&e, "MATCH ()-[r]->() CREATE ()-[r:R]->()");
    accepts(&e, "MATCH (a) CREATE (a)-[:R]->(b)");
    rejects(&e, "CREATE ()-[:A|B]->()");
    rejects(&e, "CREATE ()-[:A]-()");
    rejects(&e, "CREATE (a {x: b.x})");
}

#[test]
fn relationship_uniqueness_and_union() {
    let e = engine();
    rejects(&e, "MATCH (a)-[r]->()-[r]->() RETURN a");
    rejects(
        &e,
        "RETURN 1 AS a UNION RETURN 2 AS a UNION ALL RETURN 3 AS a",
    );
    rejects(&e, "RETURN 1 AS a UNION RETURN 2 AS b");
}

#[test]
fn literal_types_are_checked() {
    let e = engine();
    rejects(&e, "RETURN 1 AND true");
    rejects(&e, "RETURN NOT 'x'");
    rejects(&e, "RETURN [null] OR false");
    rejects(&e, "RETURN 1 IN true");
    rejects(&e, "RETURN properties(1)");
    rejects(&e, "RETURN all(x IN ['a'] WHERE x % 2 = 0)");
    accepts(
        &e,
        "RETURN null AND true, 1 IN [1], all(x IN [1, 2] WHERE x % 2 = 0)",
    );
}

#[test]
fn aggregation_placement() {
    let e = engine();
    rejects(&e, "MATCH (n) WHERE count(n) > 1 RETURN n");
    rejects(&e, "RETURN count(count(*))");
    rejects(
        &e,
        "MATCH (n) WITH n.x AS x, count(*) AS c ORDER BY n.y RETURN x",
    );
    accepts(&e, "MATCH (n) RETURN n.x AS x, count(*) AS c ORDER BY c, x");
    accepts(&e, "MATCH (n) WITH n, n.x AS x ORDER BY n.y RETURN x");
}

#[test]
fn skip_and_limit_are_constant() {
    let e = engine();
    rejects(&e, "MATCH (n) RETURN n LIMIT n.x");
    rejects(&e, "RETURN 1 SKIP -1");
    rejects(&e, "RETURN 1 LIMIT 1.5");
    accepts(&e, "RETURN 1 SKIP 0 LIMIT 1");
}

#[test]
fn undefined_and_misplaced() {
    let e = engine();
    rejects(&e, "MATCH (a) DELETE x");
    rejects(&e, "MATCH (n) DELETE n:L");
    rejects(&e, "MATCH (n) DELETE 1 + 1");
    rejects(&e, "MATCH (n) SET x.a = 1");
    rejects(&e, "RETURN *");
    rejects(&e, "MATCH (n {x: 1}) WITH n.x AS x RETURN n");
}

fn rows(e: &Arc<Engine>, q: &str) -> Vec<Vec<query::Value>> {
    match e.execute(q, &HashMap::new()) {
        Ok((_, rows, _)) => rows,
        Err(err) => panic!("{q}: {err}"),
    }
}

#[test]
fn order_by_after_aggregation() {
    use query::Value::{Int, String as S};
    let e = engine();
    accepts(
        &e,
        "CREATE ({k: 'a', v: 1}), ({k: 'a', v: 2}), ({k: 'b', v: 5})",
    );
    // An aggregate used only for sorting, over a grouping key.
    assert_eq!(
        rows(
            &e,
            "MATCH (n) WITH n.k AS k, count(*) AS c ORDER BY k + 'x' DESC RETURN k, c"
        ),
        vec![vec![S("b".into()), Int(1)], vec![S("a".into()), Int(2)]]
    );
    assert_eq!(
        rows(
            &e,
            "MATCH (n) RETURN n.k AS k, sum(n.v) AS s ORDER BY k + sum(n.v) DESC, s"
        ),
        vec![vec![S("b".into()), Int(5)], vec![S("a".into()), Int(3)]]
    );
    // Aggregating only in ORDER BY is not an aggregating projection.
    rejects(&e, "MATCH (n) RETURN n.k AS k ORDER BY sum(n.v)");
    rejects(
        &e,
        "MATCH (n) WITH n, n.v AS s WITH n.k AS k, min(s) AS m ORDER BY sum(s) RETURN k",
    );
    rejects(&e, "MATCH (n) RETURN count(rand())");
}

#[test]
fn aggregates_inside_comprehensions_and_where_after_with() {
    use query::Value::{Int, String as S};
    let e = engine();
    accepts(&e, "CREATE ({k: 'a', v: 1}), ({k: 'b', v: 2})");
    assert_eq!(
        rows(
            &e,
            "MATCH (n) RETURN size([x IN collect(n.v) WHERE x > 1]) AS c"
        ),
        vec![vec![Int(1)]]
    );
    assert_eq!(
        rows(&e, "MATCH (n) WITH n.k AS k WHERE n.v = 2 RETURN k"),
        vec![vec![S("b".into())]]
    );
    rejects(
        &e,
        "MATCH (n) WITH DISTINCT n.k AS k WHERE n.v = 2 RETURN k",
    );
}

#[test]
fn writes_finish_before_limit() {
    use query::Value::Int;
    let e = engine();
    accepts(
        &e,
        "UNWIND range(1, 5) AS i CREATE (n {i: i}) RETURN n LIMIT 0",
    );
    assert_eq!(rows(&e, "MATCH (n) RETURN count(n)"), vec![vec![Int(5)]]);
    accepts(&e, "MATCH (n) SET n.j = 1 WITH n SKIP 2 LIMIT 1 RETURN n");
    assert_eq!(
        rows(&e, "MATCH (n) WHERE n.j = 1 RETURN count(n)"),
        vec![vec![Int(5)]]
    );
}
