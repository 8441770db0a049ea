//! The AST each construct parses to (every case also round-trips).

mod common;

use common::{expr, int, prop, string, var, verified};
use cypher::*;

fn query(text: &str) -> Query {
    match verified(text) {
        Statement::Query(query) => query,
        other => panic!("not a query: {other:?}"),
    }
}

fn clauses(text: &str) -> Vec<Clause> {
    let query = query(text);
    assert!(query.unions.is_empty());
    query.first.clauses
}

fn arith(first: Expr, rest: Vec<(ArithmeticOp, Expr)>) -> Expr {
    Expr::Arithmetic {
        first: Box::new(first),
        rest,
    }
}

fn cmp(first: Expr, rest: Vec<(ComparisonOp, Expr)>) -> Expr {
    Expr::Comparison {
        first: Box::new(first),
        rest,
    }
}

fn node(v: Option<&str>, labels: &[&str]) -> NodePattern {
    NodePattern {
        var: v.map(str::to_string),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        properties: None,
    }
}

fn rel(direction: Direction) -> RelationshipPattern {
    RelationshipPattern {
        var: None,
        direction,
        types: vec![],
        var_length: None,
        properties: None,
    }
}

// ----- literals -----

#[test]
fn integer_literals() {
    assert_eq!(expr("42"), int(42));
    assert_eq!(expr("-42"), int(-42));
    assert_eq!(expr("- 42"), int(-42));
    assert_eq!(expr("0x2A"), int(42));
    assert_eq!(expr("-0x2a"), int(-42));
    assert_eq!(expr("0o52"), int(42));
    assert_eq!(expr("052"), int(42));
    assert_eq!(expr("0"), int(0));
    assert_eq!(expr("9223372036854775807"), int(i64::MAX));
    assert_eq!(expr("-9223372036854775808"), int(i64::MIN));
    assert_eq!(expr("-0x8000000000000000"), int(i64::MIN));
}

#[test]
fn float_literals() {
    assert_eq!(expr("1.5"), Expr::Float(1.5));
    assert_eq!(expr(".5"), Expr::Float(0.5));
    assert_eq!(expr("-.5"), Expr::Float(-0.5));
    assert_eq!(expr("1e3"), Expr::Float(1000.0));
    assert_eq!(expr("1E-3"), Expr::Float(0.001));
    assert_eq!(expr("2.5e+2"), Expr::Float(250.0));
}

#[test]
fn string_literals_and_escapes() {
    assert_eq!(expr("'a'"), string("a"));
    assert_eq!(expr("\"a'b\""), string("a'b"));
    assert_eq!(expr(r"'a\'b\\c\nd\te'"), string("a'b\\c\nd\te"));
    assert_eq!(expr(r"'\u00E9\U0001F600'"), string("é😀"));
    assert_eq!(expr(r"'\uD83D\uDE00'"), string("😀"));
    assert_eq!(expr(r"'\b\f\r\N\T'"), string("\u{8}\u{c}\r\n\t"));
    assert_eq!(expr("''"), string(""));
}

#[test]
fn other_atoms() {
    assert_eq!(expr("TRUE"), Expr::Bool(true));
    assert_eq!(expr("false"), Expr::Bool(false));
    assert_eq!(expr("NuLl"), Expr::Null);
    assert_eq!(expr("$p"), Expr::Parameter("p".into()));
    assert_eq!(expr("$0"), Expr::Parameter("0".into()));
    assert_eq!(expr("$`a b`"), Expr::Parameter("a b".into()));
    assert_eq!(expr("`a``b`"), var("a`b"));
    assert_eq!(expr("[1, 'a']"), Expr::List(vec![int(1), string("a")]));
    assert_eq!(
        expr("{a: 1, `b c`: null}"),
        Expr::Map(vec![("a".into(), int(1)), ("b c".into(), Expr::Null)])
    );
    assert_eq!(expr("count(*)"), Expr::CountStar);
    assert_eq!(expr("COUNT ( * )"), Expr::CountStar);
}

// ----- precedence -----

#[test]
fn arithmetic_precedence_and_flat_chains() {
    use ArithmeticOp::*;
    assert_eq!(
        expr("1 + 2 * 3 - 4"),
        arith(
            int(1),
            vec![(Add, arith(int(2), vec![(Mul, int(3))])), (Sub, int(4))]
        )
    );
    assert_eq!(
        expr("(1 + 2) * 3"),
        arith(arith(int(1), vec![(Add, int(2))]), vec![(Mul, int(3))])
    );
    // `^` is left-associative and binds tighter than `*`, looser than unary minus.
    assert_eq!(
        expr("2 ^ 3 ^ 2"),
        arith(int(2), vec![(Pow, int(3)), (Pow, int(2))])
    );
    assert_eq!(expr("-2 ^ 2"), arith(int(-2), vec![(Pow, int(2))]));
    assert_eq!(
        expr("-x ^ 2"),
        arith(
            Expr::Unary {
                op: UnaryOp::Minus,
                expr: Box::new(var("x"))
            },
            vec![(Pow, int(2))]
        )
    );
    assert_eq!(expr("1 - -1"), arith(int(1), vec![(Sub, int(-1))]));
    assert_eq!(expr("a-1"), arith(var("a"), vec![(Sub, int(1))]));
}

#[test]
fn boolean_precedence() {
    let (a, b, c, d) = (var("a"), var("b"), var("c"), var("d"));
    assert_eq!(
        expr("a OR b XOR c AND d"),
        Expr::Or(vec![
            a.clone(),
            Expr::Xor(vec![b.clone(), Expr::And(vec![c.clone(), d.clone()])])
        ])
    );
    assert_eq!(
        expr("NOT a AND b"),
        Expr::And(vec![Expr::Not(Box::new(a.clone())), b.clone()])
    );
    assert_eq!(
        expr("NOT a = b"),
        Expr::Not(Box::new(cmp(
            a.clone(),
            vec![(ComparisonOp::Eq, b.clone())]
        )))
    );
    assert_eq!(
        expr("a AND b AND c OR d"),
        Expr::Or(vec![Expr::And(vec![a, b, c]), d])
    );
    assert!(parse_expression("a = NOT b").is_err());
}

#[test]
fn chained_comparisons() {
    use ComparisonOp::*;
    assert_eq!(
        expr("a < b <= c <> d"),
        cmp(
            var("a"),
            vec![(Lt, var("b")), (Le, var("c")), (Ne, var("d"))]
        )
    );
    assert_eq!(expr("a != b"), cmp(var("a"), vec![(Ne, var("b"))]));
    assert_eq!(
        expr("a + 1 > b"),
        cmp(
            arith(var("a"), vec![(ArithmeticOp::Add, int(1))]),
            vec![(Gt, var("b"))]
        )
    );
}

#[test]
fn string_list_null_operators_bind_tighter_than_arithmetic() {
    // As in Memgraph's grammar: `1 + x IN l` is `1 + (x IN l)`.
    let in_l = Expr::In {
        lhs: Box::new(var("x")),
        rhs: Box::new(var("l")),
    };
    assert_eq!(
        expr("1 + x IN l"),
        arith(int(1), vec![(ArithmeticOp::Add, in_l.clone())])
    );
    assert_eq!(
        expr("-x IN l"),
        Expr::Unary {
            op: UnaryOp::Minus,
            expr: Box::new(in_l)
        }
    );
    assert_eq!(
        expr("s STARTS WITH 'a'"),
        Expr::StringMatch {
            op: StringOp::StartsWith,
            lhs: Box::new(var("s")),
            rhs: Box::new(string("a"))
        }
    );
    assert_eq!(
        expr("s =~ 'a.*' IS NULL"),
        Expr::IsNull(Box::new(Expr::StringMatch {
            op: StringOp::Regex,
            lhs: Box::new(var("s")),
            rhs: Box::new(string("a.*"))
        }))
    );
    assert_eq!(
        expr("n.x IS NOT NULL"),
        Expr::IsNotNull(Box::new(prop(var("n"), "x")))
    );
}

#[test]
fn postfix_operators() {
    assert_eq!(expr("n.a.b"), prop(prop(var("n"), "a"), "b"));
    assert_eq!(
        expr("l[0].x"),
        prop(
            Expr::Index {
                expr: Box::new(var("l")),
                index: Box::new(int(0))
            },
            "x"
        )
    );
    assert_eq!(
        expr("l[1..]"),
        Expr::Slice {
            expr: Box::new(var("l")),
            from: Some(Box::new(int(1))),
            to: None
        }
    );
    assert_eq!(
        expr("l[..-1]"),
        Expr::Slice {
            expr: Box::new(var("l")),
            from: None,
            to: Some(Box::new(int(-1)))
        }
    );
    assert_eq!(
        expr("n:A:B"),
        Expr::HasLabels {
            expr: Box::new(var("n")),
            labels: vec!["A".into(), "B".into()]
        }
    );
    assert_eq!(expr("n.`match`"), prop(var("n"), "match"));
    assert_eq!(expr("n.match"), prop(var("n"), "match"));
}

// ----- compound expressions -----

#[test]
fn function_calls() {
    assert_eq!(
        expr("count(DISTINCT n)"),
        Expr::FunctionCall {
            name: "count".into(),
            distinct: true,
            args: vec![var("n")]
        }
    );
    assert_eq!(
        expr("date.truncate('day', d)"),
        Expr::FunctionCall {
            name: "date.truncate".into(),
            distinct: false,
            args: vec![string("day"), var("d")]
        }
    );
    assert_eq!(
        expr("toUpper(x)"),
        Expr::FunctionCall {
            name: "toUpper".into(),
            distinct: false,
            args: vec![var("x")]
        }
    );
    assert_eq!(
        expr("exists(n.x)"),
        Expr::FunctionCall {
            name: "exists".into(),
            distinct: false,
            args: vec![prop(var("n"), "x")]
        }
    );
    // `any` is only special before `(x IN`.
    assert_eq!(expr("any"), var("any"));
}

#[test]
fn case_comprehensions_quantifiers_reduce() {
    assert_eq!(
        expr("CASE x WHEN 1 THEN 'a' ELSE 'b' END"),
        Expr::Case {
            operand: Some(Box::new(var("x"))),
            whens: vec![(int(1), string("a"))],
            else_expr: Some(Box::new(string("b")))
        }
    );
    assert_eq!(
        expr("[x IN l WHERE x > 1 | x * 2]"),
        Expr::ListComprehension {
            var: "x".into(),
            list: Box::new(var("l")),
            where_clause: Some(Box::new(cmp(var("x"), vec![(ComparisonOp::Gt, int(1))]))),
            map: Some(Box::new(arith(var("x"), vec![(ArithmeticOp::Mul, int(2))])))
        }
    );
    // Not a comprehension: a list whose first element is `x IN l`.
    assert_eq!(
        expr("[x IN l, 2]"),
        Expr::List(vec![
            Expr::In {
                lhs: Box::new(var("x")),
                rhs: Box::new(var("l"))
            },
            int(2)
        ])
    );
    assert_eq!(
        expr("none(x IN l WHERE x)"),
        Expr::Quantifier {
            kind: QuantifierKind::None,
            var: "x".into(),
            list: Box::new(var("l")),
            where_clause: Some(Box::new(var("x")))
        }
    );
    assert_eq!(
        expr("reduce(s = 0, x IN l | s + x)"),
        Expr::Reduce {
            accumulator: "s".into(),
            init: Box::new(int(0)),
            var: "x".into(),
            list: Box::new(var("l")),
            expr: Box::new(arith(var("s"), vec![(ArithmeticOp::Add, var("x"))]))
        }
    );
}

#[test]
fn patterns_in_expressions() {
    let element = PatternElement {
        start: node(Some("a"), &[]),
        chain: vec![(
            RelationshipPattern {
                types: vec!["KNOWS".into()],
                ..rel(Direction::Right)
            },
            node(None, &[]),
        )],
    };
    assert_eq!(
        expr("(a)-[:KNOWS]->()"),
        Expr::PatternPredicate(Box::new(element.clone()))
    );
    assert_eq!(
        expr("[p = (a)-[:KNOWS]->() | p]"),
        Expr::PatternComprehension {
            var: Some("p".into()),
            pattern: Box::new(element.clone()),
            where_clause: None,
            map: Box::new(var("p"))
        }
    );
    let exists = Expr::Exists(Box::new(ExistsSubquery::Pattern {
        patterns: vec![PatternPart {
            var: None,
            kind: PatternKind::Normal,
            element,
        }],
        where_clause: Some(Expr::Bool(true)),
    }));
    assert_eq!(expr("EXISTS { MATCH (a)-[:KNOWS]->() WHERE true }"), exists);
    assert_eq!(expr("exists { (a)-[:KNOWS]->() WHERE true }"), exists);
    // A parenthesized variable is not a pattern.
    assert_eq!(expr("(a)"), var("a"));
    assert_eq!(
        expr("(a) - (b)"),
        arith(var("a"), vec![(ArithmeticOp::Sub, var("b"))])
    );
    assert!(matches!(
        expr("EXISTS { MATCH (a) RETURN a }"),
        Expr::Exists(subquery) if matches!(*subquery, ExistsSubquery::Query(_))
    ));
}

#[test]
fn map_projection() {
    assert_eq!(
        expr("n {.name, .*, k: 1, v}"),
        Expr::MapProjection {
            var: "n".into(),
            items: vec![
                MapProjectionItem::Property("name".into()),
                MapProjectionItem::AllProperties,
                MapProjectionItem::Literal("k".into(), int(1)),
                MapProjectionItem::Variable("v".into()),
            ]
        }
    );
}

// ----- patterns -----

#[test]
fn pattern_parts() {
    let Clause::Match(m) =
        &clauses("MATCH p = (a:L1:L2 {x: 1})<-[r:T|U*2..5 $props]-(b) RETURN p")[0]
    else {
        panic!()
    };
    let part = &m.patterns[0];
    assert_eq!(part.var.as_deref(), Some("p"));
    assert_eq!(part.kind, PatternKind::Normal);
    assert_eq!(part.element.start.labels, vec!["L1", "L2"]);
    assert_eq!(
        part.element.start.properties,
        Some(Expr::Map(vec![("x".into(), int(1))]))
    );
    let (r, b) = &part.element.chain[0];
    assert_eq!(r.var.as_deref(), Some("r"));
    assert_eq!(r.direction, Direction::Left);
    assert_eq!(r.types, vec!["T", "U"]);
    assert_eq!(
        r.var_length,
        Some(VarLength {
            min: Some(2),
            max: Some(5)
        })
    );
    assert_eq!(r.properties, Some(Expr::Parameter("props".into())));
    assert_eq!(b, &node(Some("b"), &[]));
}

#[test]
fn relationship_directions_and_lengths() {
    let cases = [
        ("-->", Direction::Right, None),
        ("<--", Direction::Left, None),
        ("--", Direction::Both, None),
        ("<-->", Direction::Both, None),
        ("-[*]->", Direction::Right, Some((None, None))),
        ("-[*3]-", Direction::Both, Some((Some(3), Some(3)))),
        ("-[*..3]-", Direction::Both, Some((None, Some(3)))),
        ("-[*3..]-", Direction::Both, Some((Some(3), None))),
    ];
    for (arrow, direction, bounds) in cases {
        let text = format!("MATCH (a){arrow}(b) RETURN a");
        let Clause::Match(m) = &clauses(&text)[0] else {
            panic!()
        };
        let r = &m.patterns[0].element.chain[0].0;
        assert_eq!(r.direction, direction, "{arrow}");
        assert_eq!(
            r.var_length,
            bounds.map(|(min, max)| VarLength { min, max }),
            "{arrow}"
        );
    }
}

#[test]
fn shortest_paths() {
    let Clause::Match(m) = &clauses("MATCH p = allShortestPaths((a)-[*]-(b)) RETURN p")[0] else {
        panic!()
    };
    assert_eq!(m.patterns[0].kind, PatternKind::AllShortestPaths);
    let Clause::Match(m) = &clauses("MATCH p = shortestpath((a)-[*]-(b)) RETURN p")[0] else {
        panic!()
    };
    assert_eq!(m.patterns[0].kind, PatternKind::ShortestPath);
}

// ----- clauses -----

#[test]
fn projection_items_keep_their_text() {
    let Clause::Return(r) = &clauses("RETURN n.name+1 ,  count( * ), x AS y")[0] else {
        panic!()
    };
    let names: Vec<_> = r.projection.items.iter().map(|i| i.column_name()).collect();
    assert_eq!(names, vec!["n.name+1", "count( * )", "y"]);
}

#[test]
fn with_where_and_paging() {
    let Clause::With(w) =
        &clauses("MATCH (n) WITH DISTINCT n ORDER BY n.x DESC SKIP 1 LIMIT 2 WHERE n.y RETURN n")
            [1]
    else {
        panic!()
    };
    assert!(w.projection.distinct);
    assert!(!w.projection.order_by[0].ascending);
    assert_eq!(w.projection.skip, Some(int(1)));
    assert_eq!(w.projection.limit, Some(int(2)));
    assert_eq!(w.where_clause, Some(prop(var("n"), "y")));
}

#[test]
fn updating_clauses() {
    let c = clauses("MATCH (n) SET n.a = 1, n = {}, n += $m, n:L REMOVE n.a, n:L DETACH DELETE n");
    let Clause::Set(set) = &c[1] else { panic!() };
    assert_eq!(
        set.items,
        vec![
            SetItem::Property {
                entity: var("n"),
                key: "a".into(),
                value: int(1)
            },
            SetItem::Replace {
                var: "n".into(),
                value: Expr::Map(vec![])
            },
            SetItem::Merge {
                var: "n".into(),
                value: Expr::Parameter("m".into())
            },
            SetItem::Labels {
                var: "n".into(),
                labels: vec!["L".into()]
            },
        ]
    );
    let Clause::Remove(remove) = &c[2] else {
        panic!()
    };
    assert_eq!(
        remove.items,
        vec![
            RemoveItem::Property {
                entity: var("n"),
                key: "a".into()
            },
            RemoveItem::Labels {
                var: "n".into(),
                labels: vec!["L".into()]
            },
        ]
    );
    let Clause::Delete(delete) = &c[3] else {
        panic!()
    };
    assert!(delete.detach);
}

#[test]
fn merge_actions_accumulate() {
    let Clause::Merge(m) =
        &clauses("MERGE (n) ON CREATE SET n.a = 1 ON MATCH SET n.b = 2 ON CREATE SET n.c = 3")[0]
    else {
        panic!()
    };
    assert_eq!(m.on_create.len(), 2);
    assert_eq!(m.on_match.len(), 1);
}

#[test]
fn call_and_load_csv() {
    let Clause::Call(call) =
        &clauses("CALL db.labels() YIELD label AS l WHERE l <> '' RETURN l")[0]
    else {
        panic!()
    };
    assert_eq!(call.procedure, "db.labels");
    assert_eq!(call.args, Some(vec![]));
    assert_eq!(
        call.yields,
        Some(YieldSpec::Items(vec![YieldItem {
            field: "label".into(),
            alias: Some("l".into())
        }]))
    );
    assert!(call.where_clause.is_some());
    let Clause::Call(call) = &clauses("CALL db.labels")[0] else {
        panic!()
    };
    assert_eq!(call.args, None);

    let Clause::LoadCsv(load) =
        &clauses("LOAD CSV FROM 'f.csv' NO HEADER IGNORE BAD DELIMITER '|' AS row RETURN row")[0]
    else {
        panic!()
    };
    assert_eq!(load.path, string("f.csv"));
    assert!(!load.with_header);
    assert!(load.ignore_bad);
    assert_eq!(load.delimiter, Some(string("|")));
    assert_eq!(load.quote, None);
    assert_eq!(load.var, "row");
}

#[test]
fn unions() {
    let q = query("RETURN 1 AS x UNION ALL RETURN 2 AS x UNION RETURN 3 AS x");
    assert_eq!(q.unions.len(), 2);
    assert!(q.unions[0].all);
    assert!(!q.unions[1].all);
}

#[test]
fn explain_and_profile() {
    assert!(
        matches!(verified("EXPLAIN RETURN 1"), Statement::Explain(inner) if matches!(*inner, Statement::Query(_)))
    );
    assert!(matches!(
        verified("profile RETURN 1"),
        Statement::Profile(_)
    ));
}

#[test]
fn using_periodic_commit() {
    let statement = verified(
        "USING PERIODIC COMMIT 1000 LOAD CSV FROM $p WITH HEADER AS row CREATE (:N {id: row.id})",
    );
    match statement {
        Statement::PeriodicCommit { rows, inner } => {
            assert_eq!(rows, 1000);
            assert!(matches!(*inner, Statement::Query(_)));
        }
        other => panic!("not a periodic commit: {other:?}"),
    }
    assert!(matches!(
        verified("using periodic commit 2 UNWIND range(1, 3) AS x CREATE ()"),
        Statement::PeriodicCommit { rows: 2, .. }
    ));
}

// ----- admin -----

#[test]
fn admin_statements() {
    use Statement::*;
    assert_eq!(verified("begin"), Begin);
    assert_eq!(verified("Commit;"), Commit);
    assert_eq!(verified("ROLLBACK"), Rollback);
    assert_eq!(
        verified("CREATE INDEX ON :L(p)"),
        CreateIndex {
            label: "L".into(),
            property: Some("p".into())
        }
    );
    assert_eq!(
        verified("DROP INDEX ON :L"),
        DropIndex {
            label: "L".into(),
            property: None
        }
    );
    assert_eq!(
        verified("CREATE CONSTRAINT ON (n:L) ASSERT n.a, n.b IS UNIQUE"),
        CreateConstraint(Constraint {
            var: "n".into(),
            label: "L".into(),
            kind: ConstraintKind::Unique {
                properties: vec!["a".into(), "b".into()]
            }
        })
    );
    assert_eq!(
        verified("DROP CONSTRAINT ON (n:L) ASSERT EXISTS (n.a)"),
        DropConstraint(Constraint {
            var: "n".into(),
            label: "L".into(),
            kind: ConstraintKind::Exists {
                property: "a".into()
            }
        })
    );
    assert_eq!(verified("SHOW INDEX INFO"), ShowIndexInfo);
    assert_eq!(verified("SHOW CONSTRAINT INFO"), ShowConstraintInfo);
    assert_eq!(verified("SHOW STORAGE INFO"), ShowStorageInfo);
    assert_eq!(verified("FREE MEMORY"), FreeMemory);
    assert_eq!(verified("DUMP DATABASE"), DumpDatabase);
    assert_eq!(verified("dump database"), DumpDatabase);
    assert_eq!(verified("CREATE SNAPSHOT"), CreateSnapshot);
    assert_eq!(
        verified("STORAGE MODE in_memory_transactional"),
        StorageMode("IN_MEMORY_TRANSACTIONAL".into())
    );
    assert_eq!(
        verified("SET REPLICATION ROLE TO REPLICA WITH PORT 10000"),
        SetReplicationRole {
            role: ReplicationRole::Replica,
            port: Some(int(10000))
        }
    );
    // The port is kept raw so the executor can reject it with Memgraph's words.
    assert_eq!(
        verified("SET REPLICATION ROLE TO REPLICA WITH PORT '1'"),
        SetReplicationRole {
            role: ReplicationRole::Replica,
            port: Some(string("1"))
        }
    );
    assert_eq!(
        verified("SET REPLICATION ROLE TO MAIN"),
        SetReplicationRole {
            role: ReplicationRole::Main,
            port: None
        }
    );
    assert_eq!(verified("SHOW REPLICATION ROLE"), ShowReplicationRole);
    assert_eq!(
        verified("REGISTER REPLICA r1 STRICT_SYNC TO \"10.0.0.1:10000\""),
        RegisterReplica {
            name: "r1".into(),
            mode: ReplicationMode::StrictSync,
            socket_address: "10.0.0.1:10000".into()
        }
    );
    assert_eq!(
        verified("DROP REPLICA r1"),
        DropReplica { name: "r1".into() }
    );
    assert_eq!(verified("SHOW REPLICAS"), ShowReplicas);
    assert_eq!(
        verified("CREATE USER alice IDENTIFIED BY 'pw'"),
        CreateUser {
            name: "alice".into(),
            if_not_exists: false,
            password: Some(string("pw"))
        }
    );
    assert_eq!(
        verified("SET PASSWORD FOR alice TO 'pw2'"),
        SetPassword {
            name: "alice".into(),
            password: string("pw2")
        }
    );
    assert_eq!(
        verified("DROP USER alice"),
        DropUser {
            name: "alice".into()
        }
    );
    assert_eq!(verified("SHOW USERS"), ShowUsers);
}

#[test]
fn set_clause_is_not_mistaken_for_admin() {
    // A variable named `password` or `replication` is still a SET clause.
    let c = clauses("MATCH (password) SET password.x = 1");
    assert!(matches!(c[1], Clause::Set(_)));
    let c = clauses("MATCH (replication) SET replication += {}");
    assert!(matches!(c[1], Clause::Set(_)));
}
