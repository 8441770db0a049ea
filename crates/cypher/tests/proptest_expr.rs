//! Random expression ASTs: print, re-parse, compare.
//!
//! The generator builds only ASTs the parser could produce (chains of one
//! precedence level, at least two `AND` operands, non-empty names, ...); within
//! that space it is unconstrained: any names (reserved words, spaces, backticks),
//! any strings, any finite floats, any nesting of operators. So the printer's
//! quoting and parenthesization are checked against the parser's precedence.

use cypher::*;
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z_][a-zA-Z0-9_]{0,6}",
        1 => Just("match".to_string()),
        1 => Just("NULL".to_string()),
        1 => Just("count".to_string()),
        1 => Just("any".to_string()),
        1 => Just("exists".to_string()),
        1 => "[a-z `é.:-]{1,5}",
    ]
}

fn parameter_name() -> impl Strategy<Value = String> {
    prop_oneof![name(), "[0-9]{1,3}"]
}

/// Function names are stored dotted, so their parts cannot contain dots.
fn function_name() -> impl Strategy<Value = String> {
    let part = || name().prop_filter("no dots", |n| !n.contains('.'));
    prop_oneof![
        3 => part(),
        1 => (part(), part()).prop_map(|(a, b)| format!("{a}.{b}")),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        any::<i64>().prop_map(Expr::Integer),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Expr::Float),
        any::<String>().prop_map(Expr::String),
        any::<bool>().prop_map(Expr::Bool),
        Just(Expr::Null),
        Just(Expr::CountStar),
        parameter_name().prop_map(Expr::Parameter),
        name().prop_map(Expr::Variable),
    ]
}

fn arithmetic_ops() -> impl Strategy<Value = Vec<ArithmeticOp>> {
    use ArithmeticOp::*;
    prop_oneof![
        prop::collection::vec(prop_oneof![Just(Add), Just(Sub)], 1..3),
        prop::collection::vec(prop_oneof![Just(Mul), Just(Div), Just(Mod)], 1..3),
        prop::collection::vec(Just(Pow), 1..3),
    ]
}

fn comparison_op() -> impl Strategy<Value = ComparisonOp> {
    use ComparisonOp::*;
    prop_oneof![Just(Eq), Just(Ne), Just(Lt), Just(Gt), Just(Le), Just(Ge)]
}

fn boxed(e: Expr) -> Box<Expr> {
    Box::new(e)
}

fn node(inner: BoxedStrategy<Expr>) -> impl Strategy<Value = NodePattern> {
    (
        prop::option::of(name()),
        prop::collection::vec(name(), 0..2),
        prop::option::of(prop::collection::vec((name(), inner), 0..2).prop_map(Expr::Map)),
    )
        .prop_map(|(var, labels, properties)| NodePattern {
            var,
            labels,
            properties,
        })
}

fn relationship() -> impl Strategy<Value = RelationshipPattern> {
    let direction = prop_oneof![
        Just(Direction::Left),
        Just(Direction::Right),
        Just(Direction::Both)
    ];
    let var_length = prop::option::of(
        (prop::option::of(0u64..5), prop::option::of(0u64..9))
            .prop_map(|(min, max)| VarLength { min, max }),
    );
    (
        prop::option::of(name()),
        direction,
        prop::collection::vec(name(), 0..3),
        var_length,
    )
        .prop_map(|(var, direction, types, var_length)| RelationshipPattern {
            var,
            direction,
            types,
            var_length,
            properties: None,
        })
}

/// A pattern element with at least one relationship.
fn pattern(inner: BoxedStrategy<Expr>) -> impl Strategy<Value = PatternElement> {
    (
        node(inner.clone()),
        prop::collection::vec((relationship(), node(inner)), 1..3),
    )
        .prop_map(|(start, chain)| PatternElement { start, chain })
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(5, 48, 4, |inner| {
        let list = prop::collection::vec(inner.clone(), 0..4);
        let two_plus = prop::collection::vec(inner.clone(), 2..4);
        prop_oneof![
            list.clone().prop_map(Expr::List),
            prop::collection::vec((name(), inner.clone()), 0..3).prop_map(Expr::Map),
            (inner.clone(), name()).prop_map(|(e, key)| Expr::Property {
                expr: boxed(e),
                key
            }),
            (inner.clone(), inner.clone()).prop_map(|(e, i)| Expr::Index {
                expr: boxed(e),
                index: boxed(i)
            }),
            (
                inner.clone(),
                prop::option::of(inner.clone()),
                prop::option::of(inner.clone())
            )
                .prop_map(|(e, from, to)| Expr::Slice {
                    expr: boxed(e),
                    from: from.map(boxed),
                    to: to.map(boxed),
                }),
            (inner.clone(), prop::collection::vec(name(), 1..3)).prop_map(|(e, labels)| {
                Expr::HasLabels {
                    expr: boxed(e),
                    labels,
                }
            }),
            two_plus.clone().prop_map(Expr::Or),
            two_plus.clone().prop_map(Expr::Xor),
            two_plus.prop_map(Expr::And),
            inner.clone().prop_map(|e| Expr::Not(boxed(e))),
            (
                inner.clone(),
                prop::collection::vec((comparison_op(), inner.clone()), 1..3)
            )
                .prop_map(|(first, rest)| Expr::Comparison {
                    first: boxed(first),
                    rest
                }),
            (inner.clone(), arithmetic_ops(), list.clone()).prop_filter_map(
                "one operand per operator",
                |(first, ops, operands)| {
                    let rest: Vec<_> = ops.into_iter().zip(operands).collect();
                    (!rest.is_empty()).then(|| Expr::Arithmetic {
                        first: boxed(first),
                        rest,
                    })
                }
            ),
            (
                prop_oneof![Just(UnaryOp::Minus), Just(UnaryOp::Plus)],
                inner.clone()
            )
                .prop_map(|(op, e)| Expr::Unary { op, expr: boxed(e) }),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Expr::In {
                lhs: boxed(l),
                rhs: boxed(r)
            }),
            (
                prop_oneof![
                    Just(StringOp::StartsWith),
                    Just(StringOp::EndsWith),
                    Just(StringOp::Contains),
                    Just(StringOp::Regex)
                ],
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, l, r)| Expr::StringMatch {
                    op,
                    lhs: boxed(l),
                    rhs: boxed(r)
                }),
            inner.clone().prop_map(|e| Expr::IsNull(boxed(e))),
            inner.clone().prop_map(|e| Expr::IsNotNull(boxed(e))),
            (function_name(), any::<bool>(), list.clone()).prop_map(|(name, distinct, args)| {
                Expr::FunctionCall {
                    name,
                    distinct,
                    args,
                }
            }),
            (
                prop::option::of(inner.clone()),
                prop::collection::vec((inner.clone(), inner.clone()), 1..3),
                prop::option::of(inner.clone())
            )
                .prop_map(|(operand, whens, else_expr)| Expr::Case {
                    operand: operand.map(boxed),
                    whens,
                    else_expr: else_expr.map(boxed),
                }),
            (
                name(),
                inner.clone(),
                prop::option::of(inner.clone()),
                prop::option::of(inner.clone())
            )
                .prop_map(|(var, list, where_clause, map)| Expr::ListComprehension {
                    var,
                    list: boxed(list),
                    where_clause: where_clause.map(boxed),
                    map: map.map(boxed),
                }),
            (
                prop_oneof![
                    Just(QuantifierKind::All),
                    Just(QuantifierKind::Any),
                    Just(QuantifierKind::None),
                    Just(QuantifierKind::Single)
                ],
                name(),
                inner.clone(),
                prop::option::of(inner.clone())
            )
                .prop_map(|(kind, var, list, where_clause)| Expr::Quantifier {
                    kind,
                    var,
                    list: boxed(list),
                    where_clause: where_clause.map(boxed),
                }),
            (name(), inner.clone(), name(), inner.clone(), inner.clone()).prop_map(
                |(accumulator, init, var, list, expr)| Expr::Reduce {
                    accumulator,
                    init: boxed(init),
                    var,
                    list: boxed(list),
                    expr: boxed(expr),
                }
            ),
            (
                name(),
                prop::collection::vec(
                    prop_oneof![
                        name().prop_map(MapProjectionItem::Property),
                        Just(MapProjectionItem::AllProperties),
                        (name(), inner.clone()).prop_map(|(k, v)| MapProjectionItem::Literal(k, v)),
                        name().prop_map(MapProjectionItem::Variable),
                    ],
                    0..3
                )
            )
                .prop_map(|(var, items)| Expr::MapProjection { var, items }),
            pattern(inner.clone()).prop_map(|p| Expr::PatternPredicate(Box::new(p))),
            (
                prop::option::of(name()),
                pattern(inner.clone()),
                prop::option::of(inner.clone()),
                inner.clone()
            )
                .prop_map(|(var, pattern, where_clause, map)| {
                    Expr::PatternComprehension {
                        var,
                        pattern: Box::new(pattern),
                        where_clause: where_clause.map(boxed),
                        map: boxed(map),
                    }
                }),
            (pattern(inner.clone()), prop::option::of(inner)).prop_map(
                |(element, where_clause)| {
                    Expr::Exists(Box::new(ExistsSubquery::Pattern {
                        patterns: vec![PatternPart {
                            var: None,
                            kind: PatternKind::Normal,
                            element,
                        }],
                        where_clause,
                    }))
                }
            ),
        ]
    })
}

proptest! {
    // Failures print their minimal input; nothing is written into the source tree.
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn printed_expressions_reparse_equal(e in expr()) {
        let printed = e.to_string();
        let parsed = parse_expression(&printed)
            .map_err(|err| TestCaseError::fail(format!("{printed}\n{err}")))?;
        prop_assert_eq!(&parsed, &e, "printed: {}", printed);
        // And the same inside a full statement.
        let statement = format!("RETURN {printed} AS x");
        let parsed = parse(&statement)
            .map_err(|err| TestCaseError::fail(format!("{statement}\n{err}")))?;
        prop_assert_eq!(parsed.to_string(), statement);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,60}") {
        let _ = parse(&text);
        let _ = parse_expression(&text);
    }
}
