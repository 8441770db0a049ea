//! Parse -> print -> re-parse for every construct, plus exact canonical prints.

mod common;

use common::{verified, verified_as};

/// Queries covering every clause, pattern form, expression form and admin
/// statement. Each must round-trip.
const QUERIES: &[&str] = &[
    // MATCH / OPTIONAL MATCH / WHERE / RETURN
    "MATCH (n) RETURN n",
    "match (n:Person:Employee {name: 'Ann', age: 30}) return n",
    "MATCH (a), (b) WHERE a.x = b.x RETURN a, b",
    "OPTIONAL MATCH (n)-[r]-(m) RETURN n, r, m",
    "MATCH (n) OPTIONAL MATCH (n)-->(m) RETURN n, m",
    "MATCH (n {name: $name}) RETURN n",
    "MATCH (n $props) RETURN n",
    // Relationship forms
    "MATCH (a)-->(b) RETURN a",
    "MATCH (a)<--(b) RETURN a",
    "MATCH (a)--(b) RETURN a",
    "MATCH (a)<-->(b) RETURN a",
    "MATCH (a)-[r]->(b) RETURN r",
    "MATCH (a)<-[r:KNOWS]-(b) RETURN r",
    "MATCH (a)-[:KNOWS|LIKES]-(b) RETURN a",
    "MATCH (a)-[:KNOWS|:LIKES]-(b) RETURN a",
    "MATCH (a)-[r:T {since: 2020}]->(b) RETURN r",
    "MATCH (a)-[r $p]->(b) RETURN r",
    "MATCH (a)-[*]->(b) RETURN a",
    "MATCH (a)-[*2]->(b) RETURN a",
    "MATCH (a)-[*1..3]->(b) RETURN a",
    "MATCH (a)-[*..3]->(b) RETURN a",
    "MATCH (a)-[*2..]->(b) RETURN a",
    "MATCH (a)-[*..]->(b) RETURN a",
    "MATCH (a)-[r:T*1..5 {x: 1}]->(b) RETURN r",
    "MATCH (a)-[ r : T * 1 .. 5 ]->(b) RETURN r",
    "MATCH (a)-->(b)<--(c)-[:X]-(d) RETURN d",
    "MATCH ((a)-->(b)) RETURN a",
    "MATCH p = (a)-->(b) RETURN p",
    "MATCH p = shortestPath((a)-[*]-(b)) RETURN p",
    "MATCH p = allShortestPaths((a)-[:T*..10]->(b)) RETURN p",
    "MATCH shortestPath((a)-[*]-(b)) RETURN a",
    "MATCH (`weird name`:`Label with spaces` {`key-1`: 1}) RETURN `weird name`",
    "MATCH (n:`Back``tick`) RETURN n",
    "MATCH (n:Match:Return) RETURN n.match, n.return",
    // WITH / UNWIND / ORDER BY / SKIP / LIMIT / DISTINCT
    "MATCH (n) WITH n, n.x AS x WHERE x > 1 RETURN x",
    "MATCH (n) WITH DISTINCT n.x AS x ORDER BY x DESC, n.y SKIP 1 LIMIT 2 WHERE x IS NOT NULL RETURN x",
    "UNWIND [1, 2, 3] AS x RETURN x",
    "UNWIND $list AS item WITH item RETURN item",
    "MATCH (n) RETURN n ORDER BY n.name ASC, n.age DESCENDING SKIP 10 LIMIT 5",
    "MATCH (n) RETURN DISTINCT n.name",
    "MATCH (n) RETURN *",
    "MATCH (n) RETURN *, n.x AS x",
    "WITH * RETURN 1",
    "RETURN 1 AS one, 'two' AS `two words`",
    "MATCH (n) RETURN n SKIP $s LIMIT $l",
    // CREATE / MERGE / SET / REMOVE / DELETE
    "CREATE (n)",
    "CREATE (n:Person {name: 'Ann'})-[:KNOWS {since: 1}]->(m:Person)",
    "CREATE (a), (b), (a)-[:R]->(b)",
    "CREATE p = (a)-[:R]->(b) RETURN p",
    "MERGE (n:Person {id: 1})",
    "MERGE (n:P {id: 1}) ON CREATE SET n.created = timestamp() ON MATCH SET n.seen = n.seen + 1",
    "MERGE (n) ON MATCH SET n.a = 1 ON CREATE SET n.b = 2 ON MATCH SET n.c = 3",
    "MATCH (a), (b) MERGE (a)-[r:KNOWS]->(b) RETURN r",
    "MATCH (n) SET n.x = 1, n.y = 'two'",
    "MATCH (n) SET n = {a: 1}",
    "MATCH (n) SET n += $props",
    "MATCH (n) SET n:Label:Other",
    "MATCH (n) SET n.a.b = 1",
    "MATCH (n) SET (n).x = 1",
    "MATCH (n) REMOVE n.x, n:Label",
    "MATCH (n) REMOVE n:A:B",
    "MATCH (n) DELETE n",
    "MATCH (n) DETACH DELETE n",
    "MATCH (n)-[r]->() DELETE r, n",
    "MATCH (n) DETACH DELETE n RETURN count(*)",
    // CALL
    "CALL db.labels()",
    "CALL db.labels",
    "CALL db.labels() YIELD label",
    "CALL db.labels() YIELD label AS l WHERE l STARTS WITH 'A' RETURN l",
    "CALL mg.procedures() YIELD *",
    "CALL my.proc(1, 'a', $p) YIELD x, y AS z RETURN x, z",
    "MATCH (n) CALL db.labels() YIELD label RETURN n, label",
    // LOAD CSV
    "LOAD CSV FROM '/tmp/a.csv' WITH HEADER AS row RETURN row",
    "LOAD CSV FROM \"/tmp/a.csv\" NO HEADER IGNORE BAD DELIMITER ';' QUOTE '\"' AS row CREATE (n {a: row[0]})",
    "LOAD CSV FROM $path WITH HEADER NULLIF '' AS row RETURN row.a",
    // UNION
    "RETURN 1 AS x UNION RETURN 2 AS x",
    "RETURN 1 AS x UNION ALL RETURN 1 AS x UNION RETURN 3 AS x",
    "MATCH (a) RETURN a.x AS x UNION ALL MATCH (b) RETURN b.x AS x",
    // EXPLAIN / PROFILE
    "EXPLAIN MATCH (n) RETURN n",
    "PROFILE MATCH (n) RETURN n",
    "USING PERIODIC COMMIT 10 UNWIND [1, 2] AS x CREATE (:N {x: x})",
    // Expressions
    "RETURN 1, -1, 0x1F, -0x1F, 0o17, 017, 1.5, -1.5, .5, 1e10, 1.5E-3, 6.02e+23",
    "RETURN 9223372036854775807, -9223372036854775808",
    "RETURN 'single', \"double\"",
    "RETURN 'esc \\n \\t \\\\ \\' \\\" \\u00e9 \\U0001F600 \\uD83D\\uDE00 \\b \\f \\r'",
    "RETURN true, false, null, TRUE, Null",
    "RETURN [], [1, [2, 3]], {}, {a: 1, b: {c: [true]}}",
    "RETURN $param, $0, $`odd param`",
    "RETURN 1 + 2 - 3 * 4 / 5 % 6 ^ 7",
    "RETURN (1 + 2) * 3, 1 + (2 + 3), (1 + 2) + 3, 2 ^ 3 ^ 2, 2 ^ (3 ^ 2)",
    "RETURN -x, +x, - -x, -(-1), -(1), +1, -(x + 1)",
    "RETURN a = b, a <> b, a != b, a < b, a > b, a <= b, a >= b",
    "RETURN a < b < c, 1 = 1 = true, (a < b) < c",
    "RETURN a AND b OR c XOR d, a OR (b AND c), (a OR b) AND c, NOT a, NOT NOT a, NOT (a AND b)",
    "RETURN a AND NOT b, NOT a = b, (NOT a) = b",
    "RETURN x IN [1, 2], 'abc' STARTS WITH 'a', s ENDS WITH 'c', s CONTAINS 'b', s =~ 'a.*'",
    "RETURN x IS NULL, x IS NOT NULL, x.y IS NULL, (x + 1) IS NULL",
    "RETURN -x IN y, (-x) IN y, x IN y IN z, x IN (y IN z)",
    "RETURN n.name, n.address.city, n['name'], list[0], list[1..2], list[..2], list[1..], list[-1]",
    "RETURN list[0][1], m.a[0].b, (a + b).c, [1, 2, 3][0]",
    "RETURN n:Person, n:A:B, (n:A) = true, NOT n:A",
    "RETURN count(*), count(n), count(DISTINCT n), collect(n.x), sum(x), avg(x), min(x), max(x)",
    "RETURN toUpper('a'), date.truncate('day', d), math.sin(1), `weird fn`(1)",
    "RETURN exists(n.prop), coalesce(a, b, null), size([1]), range(1, 10, 2)",
    "RETURN CASE WHEN a THEN 1 WHEN b THEN 2 ELSE 3 END, CASE x WHEN 1 THEN 'one' END",
    "RETURN CASE WHEN a THEN CASE WHEN b THEN 1 END END",
    "RETURN [x IN list], [x IN list WHERE x > 1], [x IN list | x * 2], [x IN list WHERE x > 1 | x * 2]",
    "RETURN [x IN [x IN [1, 2] | x] | x + 1]",
    "RETURN [x IN list, 2]",
    "MATCH (a) RETURN [(a)-->(b) | b.name], [p = (a)-[:T]->(b:L) WHERE b.x > 1 | p]",
    "RETURN all(x IN l WHERE x > 0), any(x IN l WHERE x), none(x IN l WHERE x = 0), single(x IN l WHERE x = 1)",
    "RETURN any(x IN l), any, none + 1",
    "RETURN reduce(acc = 0, x IN [1, 2, 3] | acc + x)",
    "MATCH (a) WHERE EXISTS { MATCH (a)-[:KNOWS]->(b) WHERE b.age > 30 } RETURN a",
    "MATCH (a) WHERE EXISTS { (a)-->() } RETURN a",
    "MATCH (a) WHERE EXISTS { MATCH (a)-->(b) WITH b WHERE b.x = 1 RETURN b } RETURN a",
    "MATCH (a) WHERE EXISTS { MATCH (a)-->(b) MATCH (b)-->(c) } RETURN a",
    "MATCH (a) WHERE (a)-[:KNOWS]->() AND NOT (a)<--(:Admin) RETURN a",
    "MATCH (a) WHERE (a)-[:KNOWS*1..2]->({name: 'x'}) RETURN a",
    "MATCH (n) RETURN n {.name, .age}, n {.*, extra: 1}, n {x, .y}, n {}",
    "RETURN (a), ((a)), (((1 + 2)))",
    "RETURN 1 // comment\n + /* block */ 2",
    "RETURN `a``b`, `match`, `null`",
    "RETURN a.`weird key`, {`a b`: 1}",
    "RETURN -1.5e300, 1.7976931348623157e308, 5e-324, -0.0",
    "RETURN 1 - -1, 1 - (-1), 2 ^ -1, - 2 ^ 2",
    "RETURN -n.x, -(1).x, (-1).x, -1.x",
    "RETURN -[1][0], -(1 IN l), -1 IN l",
    // Admin
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "CREATE INDEX ON :Person",
    "CREATE INDEX ON :Person(name)",
    "DROP INDEX ON :Person",
    "DROP INDEX ON :Person(name)",
    "CREATE CONSTRAINT ON (n:Person) ASSERT n.email IS UNIQUE",
    "CREATE CONSTRAINT ON (n:Person) ASSERT n.a, n.b IS UNIQUE",
    "CREATE CONSTRAINT ON (n:Person) ASSERT EXISTS (n.name)",
    "DROP CONSTRAINT ON (n:Person) ASSERT n.email IS UNIQUE",
    "DROP CONSTRAINT ON (n:Person) ASSERT EXISTS (n.name)",
    "SHOW INDEX INFO",
    "SHOW CONSTRAINT INFO",
    "SHOW STORAGE INFO",
    "FREE MEMORY",
    "DUMP DATABASE",
    "CREATE SNAPSHOT",
    "STORAGE MODE IN_MEMORY_TRANSACTIONAL",
    "SET REPLICATION ROLE TO MAIN",
    "SET REPLICATION ROLE TO REPLICA WITH PORT 10000",
    "SET REPLICATION ROLE TO REPLICA WITH PORT '10000'",
    "SET REPLICATION ROLE TO MAIN WITH PORT 10000",
    "SHOW REPLICATION ROLE",
    "REGISTER REPLICA replica1 SYNC TO \"127.0.0.1:10001\"",
    "REGISTER REPLICA r2 ASYNC TO 'host'",
    "REGISTER REPLICA r3 STRICT_SYNC TO 'host:1'",
    "DROP REPLICA replica1",
    "SHOW REPLICAS",
    "CREATE USER alice",
    "CREATE USER alice IDENTIFIED BY 'secret'",
    "CREATE USER IF NOT EXISTS alice IDENTIFIED BY $pw",
    "SET PASSWORD FOR alice TO 'new'",
    "SET PASSWORD FOR alice TO null",
    "DROP USER alice",
    "SHOW USERS",
];

#[test]
fn every_construct_round_trips() {
    for query in QUERIES {
        verified(query);
    }
}

#[test]
fn trailing_semicolon_and_whitespace() {
    verified_as("  MATCH (n) RETURN n ;  ", "MATCH (n) RETURN n");
    verified_as("SHOW USERS;", "SHOW USERS");
    verified_as("/* c */ RETURN 1 // end", "RETURN 1");
}

#[test]
fn canonical_prints() {
    let cases = [
        (
            "match (n:Person) where n.age>30 return n.name as name",
            "MATCH (n:Person) WHERE n.age > 30 RETURN n.name AS name",
        ),
        ("RETURN a<>b, a!=b", "RETURN a <> b, a <> b"),
        ("RETURN \"x\", 'it\\'s'", "RETURN 'x', 'it\\'s'"),
        ("RETURN 0x10, 0o10, 010", "RETURN 16, 8, 8"),
        ("RETURN 1.0, 1e3, .5", "RETURN 1.0, 1000.0, 0.5"),
        ("MATCH (a)<-->(b) RETURN a", "MATCH (a)--(b) RETURN a"),
        (
            "MATCH (a)-[:A|:B]->(b) RETURN a",
            "MATCH (a)-[:A|B]->(b) RETURN a",
        ),
        (
            "MATCH (a)-[*2..2]->(b) RETURN a",
            "MATCH (a)-[*2]->(b) RETURN a",
        ),
        (
            "MATCH (a)-[*..]->(b) RETURN a",
            "MATCH (a)-[*]->(b) RETURN a",
        ),
        ("MATCH ((a)-->(b)) RETURN a", "MATCH (a)-->(b) RETURN a"),
        ("RETURN x ORDER BY x ASCENDING", "RETURN x ORDER BY x"),
        ("RETURN - 1, -(1), - -1", "RETURN -1, -(1), -(-1)"),
        ("RETURN -1.x, -(1).x", "RETURN -1.x, -(1.x)"),
        ("RETURN ((a))", "RETURN a"),
        ("RETURN `abc`, `a b`, `MATCH`", "RETURN abc, `a b`, `MATCH`"),
        ("MATCH (n) SET (n).x = 1", "MATCH (n) SET n.x = 1"),
        ("RETURN NOT NOT a", "RETURN NOT NOT a"),
        (
            "RETURN 1 + 2 + 3, (1 + 2) + 3",
            "RETURN 1 + 2 + 3, (1 + 2) + 3",
        ),
        ("RETURN a AND (b AND c)", "RETURN a AND (b AND c)"),
        (
            "RETURN EXISTS { (a)-->() }",
            "RETURN EXISTS { MATCH (a)-->() }",
        ),
        (
            "storage mode in_memory_analytical",
            "STORAGE MODE IN_MEMORY_ANALYTICAL",
        ),
        (
            "CALL db.labels() YIELD label AS label",
            "CALL db.labels() YIELD label AS label",
        ),
        ("RETURN count ( * )", "RETURN count(*)"),
        ("RETURN COUNT(x)", "RETURN COUNT(x)"),
        ("RETURN 'é\u{1}'", "RETURN 'é\\u0001'"),
    ];
    for (input, canonical) in cases {
        verified_as(input, canonical);
    }
}
