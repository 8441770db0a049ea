//! Error kinds, positions (line/column/offset) and expectations.

use cypher::{parse, ParseError, ParseErrorKind};

fn error(text: &str) -> ParseError {
    match parse(text) {
        Ok(ast) => panic!("{text:?} parsed as {ast}"),
        Err(e) => e,
    }
}

fn position(text: &str) -> (usize, usize) {
    let e = error(text);
    (e.line, e.column)
}

#[test]
fn misspelled_clause_points_at_the_word() {
    let e = error("MATCH (n) RETRUN n");
    assert_eq!(e.kind, ParseErrorKind::UnexpectedInput);
    assert_eq!((e.line, e.column, e.offset), (1, 11, 10));
    assert!(
        e.expected.contains(&"\"RETURN\"".to_string()),
        "{:?}",
        e.expected
    );
    assert!(e.expected.contains(&"\"WHERE\"".to_string()));
    assert!(
        e.message.starts_with("Invalid input 'RETRUN': expected "),
        "{}",
        e.message
    );
    assert!(
        e.message.ends_with("(line 1, column 11 (offset: 10))"),
        "{}",
        e.message
    );
}

#[test]
fn positions_on_multi_line_input() {
    assert_eq!(position("MATCH (n)\nWHERE n.x = \nRETURN n"), (3, 1));
    assert_eq!(
        position("MATCH (n)\n  WHERE n.x >\n  AND true\nRETURN n"),
        (3, 3)
    );
    assert_eq!(position("MATCH (n)\r\nRETURN n,"), (2, 10));
    assert_eq!(position("RETURN 1\n\n\n   +"), (4, 5));
    assert_eq!(
        position("// comment\nMATCH (n {name: 'é'}) RETRUN n"),
        (2, 23)
    );
}

#[test]
fn missing_expression_is_described() {
    let e = error("MATCH (n)\nWHERE n.x = \nRETURN n");
    assert_eq!(e.expected, vec!["an expression".to_string()]);
    assert!(e
        .message
        .starts_with("Invalid input 'RETURN': expected an expression"));
}

#[test]
fn end_of_input() {
    let e = error("RETURN 1 +");
    assert_eq!((e.line, e.column), (1, 11));
    assert!(
        e.message
            .starts_with("Unexpected end of input: expected an expression"),
        "{}",
        e.message
    );
    let e = error("MATCH (n");
    assert!(
        e.expected.contains(&"\")\"".to_string()),
        "{:?}",
        e.expected
    );
    assert_eq!(error("").kind, ParseErrorKind::UnexpectedInput);
    assert_eq!(error("   ;").kind, ParseErrorKind::UnexpectedInput);
}

#[test]
fn unterminated_tokens() {
    assert_eq!(position("RETURN 'abc"), (1, 12));
    assert_eq!(position("RETURN `abc"), (1, 12));
    assert_eq!(error("RETURN \"abc").expected, vec!["'\"'".to_string()]);
    assert!(parse("RETURN 1 /* never closed").is_err());
}

#[test]
fn numeric_overflow() {
    let e = error("RETURN 9223372036854775808");
    assert_eq!(e.kind, ParseErrorKind::IntegerOverflow);
    assert_eq!((e.line, e.column), (1, 8));
    assert_eq!(
        error("RETURN -9223372036854775809").kind,
        ParseErrorKind::IntegerOverflow
    );
    assert_eq!(
        error("RETURN 0xFFFFFFFFFFFFFFFFFF").kind,
        ParseErrorKind::IntegerOverflow
    );
    assert_eq!(
        error("RETURN 99999999999999999999999999999999999999999999").kind,
        ParseErrorKind::IntegerOverflow
    );
    assert_eq!(
        error("RETURN 1e400").kind,
        ParseErrorKind::FloatingPointOverflow
    );
    assert_eq!(
        error("MATCH (a)-[*99999999999999999999]->(b) RETURN a").kind,
        ParseErrorKind::IntegerOverflow
    );
}

#[test]
fn malformed_numbers() {
    for text in [
        "RETURN 0x",
        "RETURN 0xZ",
        "RETURN 09",
        "RETURN 0o8",
        "RETURN 12abc",
        "RETURN 1.5x",
    ] {
        assert_eq!(error(text).kind, ParseErrorKind::UnexpectedInput, "{text}");
    }
}

#[test]
fn bad_escapes() {
    for text in [
        r"RETURN '\q'",
        r"RETURN '\u12'",
        r"RETURN '\uD800'",
        r"RETURN '\uDE00'",
        r"RETURN '\UFFFFFFFF'",
    ] {
        let e = error(text);
        assert_eq!(e.kind, ParseErrorKind::InvalidEscape, "{text}");
        assert_eq!(e.column, 9, "{text}");
    }
}

#[test]
fn structure_errors() {
    let e = error("MATCH (n)");
    assert_eq!(e.kind, ParseErrorKind::InvalidStructure);
    assert!(e.message.starts_with("Query cannot conclude with MATCH"));
    let e = error("MATCH (n)\nWITH n");
    assert_eq!(
        (e.kind, e.line, e.column),
        (ParseErrorKind::InvalidStructure, 2, 1)
    );
    let e = error("RETURN 1 RETURN 2");
    assert_eq!(e.kind, ParseErrorKind::InvalidStructure);
    assert_eq!(e.column, 10);
    let e = error("RETURN 1 AS x UNION MATCH (n)");
    assert_eq!(e.kind, ParseErrorKind::InvalidStructure);
    let e = error("CREATE CONSTRAINT ON (n:L) ASSERT m.x IS UNIQUE");
    assert_eq!((e.kind, e.column), (ParseErrorKind::InvalidStructure, 35));
    // A typo mid-query is a syntax error at the typo, not a structure error.
    assert_eq!(
        error("MATCH (n) RETRUN n").kind,
        ParseErrorKind::UnexpectedInput
    );
}

#[test]
fn syntax_errors_in_every_area() {
    let cases = [
        ("MATCH (n RETURN n", 10),
        ("MATCH (n)-[r->(m) RETURN n", 13),
        ("MATCH (n)-[*1..x]->(m) RETURN n", 16),
        ("RETURN [1, 2", 13),
        ("RETURN {a 1}", 11),
        ("RETURN f(1,)", 12),
        ("RETURN CASE WHEN true 1 END", 23),
        ("RETURN CASE END", 13),
        ("RETURN n.", 10),
        ("RETURN x IS 1", 13),
        ("RETURN 'a' STARTS 'b'", 19),
        ("UNWIND [1] x RETURN x", 12),
        ("MATCH (n) SET n.x RETURN n", 19),
        ("MATCH (n) ORDER n", 11),
        ("MATCH (n) RETURN n ORDER n", 26),
        ("RETURN null AS null", 16),
        ("MATCH (match) RETURN 1", 8),
        ("CREATE INDEX ON Person", 17),
        ("CREATE INDEX ON :Person(", 25),
        ("SET REPLICATION ROLE TO LEADER", 25),
        ("REGISTER REPLICA r SOMETIMES TO 'x'", 20),
        ("REGISTER REPLICA r SYNC TO x", 28),
        ("SHOW THINGS", 6),
        ("LOAD CSV FROM 'x' AS row RETURN row", 19),
        ("CALL {} RETURN 1", 6),
        ("EXPLAIN SHOW USERS", 9),
        ("USING PERIODIC 10 CREATE ()", 16),
        ("USING PERIODIC COMMIT CREATE ()", 23),
        ("USING PERIODIC COMMIT 10 SHOW USERS", 26),
        ("RETURN 1 2", 10),
        ("RETURN 1;;", 10),
    ];
    for (text, column) in cases {
        let e = error(text);
        assert_eq!(e.kind, ParseErrorKind::UnexpectedInput, "{text}: {e}");
        assert_eq!(e.column, column, "{text}: {e}");
    }
}

#[test]
fn display_is_the_message() {
    let e = error("RETURN");
    assert_eq!(e.to_string(), e.message);
    assert!(
        e.message.contains("(line 1, column 7 (offset: 6))"),
        "{}",
        e.message
    );
}
