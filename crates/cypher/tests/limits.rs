//! Hostile input: deep nesting, huge chains, huge literals, pathological
//! backtracking. Every case must return quickly, and never overflow the stack.
//!
//! The depth cases run in a thread with a 2 MiB stack (the default for spawned
//! threads and for the server's worker threads) in debug builds, so the depth
//! limit is known to fit.

use std::time::{Duration, Instant};

use cypher::{parse, Expr, ParseErrorKind, Statement, MAX_NESTING_DEPTH};

const STACK_BYTES: usize = 2 * 1024 * 1024;

/// Runs `f` on a thread with a small stack and checks it finishes within a
/// generous time bound (debug build on a slow machine).
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let start = Instant::now();
    let result = std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("parser thread panicked or overflowed");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    result
}

fn parse_kind(text: String) -> Result<Statement, ParseErrorKind> {
    bounded(move || parse(&text).map_err(|e| e.kind))
}

fn nested(open: &str, middle: &str, close: &str, depth: usize) -> String {
    format!(
        "RETURN {}{middle}{}",
        open.repeat(depth),
        close.repeat(depth)
    )
}

#[test]
fn hundred_thousand_nested_parentheses_is_an_error() {
    let kind = parse_kind(nested("(", "1", ")", 100_000)).unwrap_err();
    assert_eq!(kind, ParseErrorKind::TooDeeplyNested);
}

#[test]
fn unbalanced_deep_input_is_an_error() {
    for open in ["(", "[", "{a: ", "-", "NOT ", "[x IN ", "f(", "CASE WHEN "] {
        let text = format!("RETURN {}", open.repeat(100_000));
        let result = parse_kind(text);
        assert!(result.is_err(), "{open}");
    }
}

#[test]
fn nesting_below_the_limit_parses_for_every_recursive_form() {
    let depth = MAX_NESTING_DEPTH / 2 - 5;
    let cases = [
        nested("(", "1", ")", depth),
        nested("[", "1", "]", depth),
        nested("{a: ", "1", "}", depth),
        nested("f(", "1", ")", depth),
        nested("-(", "1", ")", depth),
        nested("NOT (", "true", ")", depth),
        nested("[x IN ", "[1]", "]", depth),
        // A list literal holding `x IN [...]`: the IN takes a level too.
        nested("[x IN ", "[1]", ", 2]", MAX_NESTING_DEPTH / 3 - 5),
        nested("CASE WHEN true THEN ", "1", " END", depth),
        // A node pattern attempt, its property map and the value: three levels.
        nested("(a {x: ", "1", "})", MAX_NESTING_DEPTH / 3 - 5),
        nested("all(x IN ", "[1]", " WHERE x)", depth),
        format!(
            "MATCH {}(a)-->(b){} RETURN a",
            "(".repeat(depth),
            ")".repeat(depth)
        ),
        format!(
            "MATCH (a) WHERE {}true{} RETURN a",
            "EXISTS { MATCH (a) WHERE ".repeat(depth / 4),
            " }".repeat(depth / 4)
        ),
        format!(
            "RETURN {}1{}",
            "[(a)-->(b) WHERE ".repeat(depth / 2),
            " | 1]".repeat(depth / 2)
        ),
    ];
    for text in cases {
        let shown = text.chars().take(60).collect::<String>();
        assert!(parse_kind(text).is_ok(), "{shown}...");
    }
}

#[test]
fn nesting_above_the_limit_is_too_deep_for_every_recursive_form() {
    let depth = MAX_NESTING_DEPTH + 1;
    let cases = [
        nested("(", "1", ")", depth),
        nested("[", "1", "]", depth),
        nested("{a: ", "1", "}", depth),
        nested("f(", "1", ")", depth),
        nested("- ", "x", "", depth),
        nested("NOT ", "true", "", depth),
        nested("", "x", ".a", depth),
        nested("", "x", "[0]", depth),
        nested("", "x", " IS NULL", depth),
        nested("[x IN ", "[1]", "]", depth),
        format!(
            "MATCH {}(a)-->(b){} RETURN a",
            "(".repeat(depth),
            ")".repeat(depth)
        ),
        format!(
            "MATCH (a) WHERE {}true{} RETURN a",
            "EXISTS { MATCH (a) WHERE ".repeat(depth),
            " }".repeat(depth)
        ),
    ];
    for text in cases {
        let shown = text.chars().take(60).collect::<String>();
        assert_eq!(
            parse_kind(text),
            Err(ParseErrorKind::TooDeeplyNested),
            "{shown}..."
        );
    }
}

#[test]
fn hundred_thousand_term_sum_parses_flat() {
    let text = format!("RETURN 1{}", "+1".repeat(99_999));
    let statement = parse_kind(text).expect("parses");
    let Statement::Query(query) = &statement else {
        panic!("not a query")
    };
    let cypher::Clause::Return(ret) = &query.first.clauses[0] else {
        panic!("not RETURN")
    };
    match &ret.projection.items[0].expr {
        Expr::Arithmetic { rest, .. } => assert_eq!(rest.len(), 99_999),
        other => panic!("unexpected {other:?}"),
    }
    // Printing and dropping a flat chain is iterative too.
    let printed = bounded(move || statement.to_string());
    assert!(printed.starts_with("RETURN 1 + 1 + 1"));
}

#[test]
fn long_flat_chains_of_every_kind_parse() {
    let n = 20_000;
    let cases = [
        format!("RETURN true{}", " AND true".repeat(n)),
        format!("RETURN true{}", " OR false".repeat(n)),
        format!("RETURN true{}", " XOR false".repeat(n)),
        format!("RETURN 1{}", " < 2".repeat(n)),
        format!("RETURN 2{}", " * 1 / 1".repeat(n)),
        format!("RETURN 2{}", "^1".repeat(n)),
        format!("RETURN 'a'{}", " + 'a'".repeat(n)),
        format!("RETURN [{}1]", "1, ".repeat(n)),
        format!("RETURN {{{}z: 1}}", "a: 1, ".repeat(n)),
        format!("MATCH (a){} RETURN a", "-->()".repeat(n)),
        format!("RETURN 1 AS x{}", " UNION RETURN 1 AS x".repeat(n / 10)),
        format!("MATCH (n) RETURN n{}", ", n".repeat(n)),
    ];
    for text in cases {
        let shown = text.chars().take(40).collect::<String>();
        assert!(parse_kind(text).is_ok(), "{shown}...");
    }
}

#[test]
fn ten_megabyte_string_literal() {
    let body = "x".repeat(10 * 1024 * 1024);
    let text = format!("RETURN '{body}' AS s");
    let statement = parse_kind(text).expect("parses");
    let Statement::Query(query) = statement else {
        panic!("not a query")
    };
    let cypher::Clause::Return(ret) = &query.first.clauses[0] else {
        panic!("not RETURN")
    };
    assert_eq!(ret.projection.items[0].expr, Expr::String(body));
}

#[test]
fn ten_megabyte_unterminated_string_and_comment() {
    let body = "x".repeat(10 * 1024 * 1024);
    assert!(parse_kind(format!("RETURN '{body}")).is_err());
    assert!(parse_kind(format!("RETURN 1 /* {body}")).is_err());
    assert!(parse_kind(format!("RETURN 1 // {body}")).is_ok());
}

#[test]
fn nested_speculation_stays_linear() {
    // Each level is a list comprehension attempt that fails (`, 2`), then a list
    // literal; each level of `(a {x: ...})` is a pattern attempt that fails, then a
    // map projection. Without memoization both are exponential.
    let depth = MAX_NESTING_DEPTH / 6;
    let cases = [
        nested("[x IN ", "[1]", ", 2]", depth),
        nested("(a {x: ", "1", "})", depth),
        nested("[(a {x: ", "1", "})]", depth),
        format!(
            "MATCH (a) WHERE {}true{} RETURN a",
            "EXISTS { MATCH (a) WHERE ".repeat(depth / 3),
            " RETURN 1 }".repeat(depth / 3)
        ),
    ];
    for text in cases {
        let shown = text.chars().take(40).collect::<String>();
        assert!(parse_kind(text).is_ok(), "{shown}...");
    }
}

#[test]
fn random_garbage_never_panics() {
    // A cheap deterministic fuzz: byte soup from Cypher's alphabet.
    let alphabet: Vec<&str> = vec![
        "(", ")", "[", "]", "{", "}", "-", ">", "<", ":", ",", ".", "..", "*", "'", "\"", "`", "$",
        "|", "=", "+", "/", "\\", "1", "0x", "a", " ", "\n", "MATCH ", "RETURN ", "WHERE ", "NOT ",
        "IN ", "CASE ", "END ", "EXISTS ", "{", "/*", "//", "e", "é",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    bounded(move || {
        for _ in 0..3_000 {
            let len = (next() % 40) as usize;
            let text: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let _ = parse(&text);
            let _ = parse(&format!("RETURN {text}"));
            let _ = parse(&format!("MATCH {text} RETURN 1"));
        }
    });
}
