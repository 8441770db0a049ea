//! LOAD CSV through the engine: header / no header, options, bad rows, and what follows it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use query::{Engine, EngineConfig, QueryError, Value};
use storage::{Storage, StorageConfig};

fn engine() -> Arc<Engine> {
    Engine::new(
        Storage::new(StorageConfig::default()),
        EngineConfig::default(),
    )
}

/// Runs `q` with `$path` bound to `path`.
fn exec(
    e: &Arc<Engine>,
    q: &str,
    path: &Path,
) -> Result<(Vec<String>, Vec<Vec<Value>>), QueryError> {
    let params = HashMap::from([(
        "path".to_string(),
        Value::String(path.to_str().unwrap().to_string()),
    )]);
    e.execute(q, &params).map(|(cols, rows, _)| (cols, rows))
}

fn rows(e: &Arc<Engine>, q: &str, path: &Path) -> Vec<Vec<Value>> {
    match exec(e, q, path) {
        Ok((_, rows)) => rows,
        Err(err) => panic!("{q}: {err}"),
    }
}

fn fail(e: &Arc<Engine>, q: &str, path: &Path) -> QueryError {
    match exec(e, q, path) {
        Ok((_, rows)) => panic!("{q} should fail, got {rows:?}"),
        Err(err) => err,
    }
}

fn s(x: &str) -> Value {
    Value::String(x.into())
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|x| s(x)).collect())
}

fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

/// A file with `text` in a fresh temporary directory (kept alive by the returned guard).
fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.csv");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn with_header_binds_a_map_of_strings() {
    let (_d, path) = file("id,name\n1,Ann\n2,\"Bob, Jr.\"\n");
    let e = engine();
    let got = rows(
        &e,
        "LOAD CSV FROM $path WITH HEADER AS row RETURN row",
        &path,
    );
    assert_eq!(
        got,
        vec![
            vec![map(&[("id", s("1")), ("name", s("Ann"))])],
            vec![map(&[("id", s("2")), ("name", s("Bob, Jr."))])],
        ]
    );
}

#[test]
fn no_header_binds_a_list_of_any_length() {
    // Memgraph: without a header the rows are not required to have one width.
    let (_d, path) = file("a,b,c\r\nd\r\n\"e\"\"f\",\r\n");
    let e = engine();
    let got = rows(&e, "LOAD CSV FROM $path NO HEADER AS row RETURN row", &path);
    assert_eq!(
        got,
        vec![
            vec![list(&["a", "b", "c"])],
            vec![list(&["d"])],
            vec![list(&["e\"f", ""])],
        ]
    );
}

#[test]
fn delimiter_quote_and_nullif() {
    let (_d, path) = file("id;name;note\n1;'x;y';-\n2;'it''s';ok\n");
    let e = engine();
    let q = "LOAD CSV FROM $path WITH HEADER DELIMITER ';' QUOTE \"'\" NULLIF '-' AS row \
             RETURN row.id, row.name, row.note";
    assert_eq!(
        rows(&e, q, &path),
        vec![
            vec![s("1"), s("x;y"), Value::Null],
            vec![s("2"), s("it's"), s("ok")],
        ]
    );
}

#[test]
fn bad_row_fails_with_file_and_line() {
    let (_d, path) = file("id,name\n1,Ann\n2\n3,Cid\n");
    let e = engine();
    let err = fail(
        &e,
        "LOAD CSV FROM $path WITH HEADER AS row RETURN row",
        &path,
    );
    let msg = err.to_string();
    assert_eq!(
        err.code(),
        "Neo.ClientError.Statement.ExternalResourceFailed"
    );
    assert!(msg.contains(path.to_str().unwrap()), "{msg}");
    assert!(msg.contains("line 3"), "{msg}");
    assert!(msg.contains("expected 2 columns, got 1"), "{msg}");
    // Nothing of a failed load is committed.
    let e2 = engine();
    let _ = exec(
        &e2,
        "LOAD CSV FROM $path WITH HEADER AS row CREATE (:P {id: row.id})",
        &path,
    );
    assert_eq!(
        rows(&e2, "MATCH (n) RETURN count(n)", &path),
        vec![vec![Value::Int(0)]]
    );
}

#[test]
fn ignore_bad_skips_bad_rows() {
    let (_d, path) = file("id,name\n1,Ann\n2\n3,Cid,extra\n4,Dee\n");
    let e = engine();
    let q = "LOAD CSV FROM $path WITH HEADER IGNORE BAD AS row RETURN row.id";
    assert_eq!(rows(&e, q, &path), vec![vec![s("1")], vec![s("4")]]);
}

#[test]
fn invalid_utf8_is_a_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bin.csv");
    std::fs::write(&path, b"a\nok\n\xff\xfe\nfine\n").unwrap();
    let e = engine();
    let msg = fail(&e, "LOAD CSV FROM $path WITH HEADER AS r RETURN r.a", &path).to_string();
    assert!(msg.contains("line 3") && msg.contains("UTF-8"), "{msg}");
    let q = "LOAD CSV FROM $path WITH HEADER IGNORE BAD AS r RETURN r.a";
    assert_eq!(rows(&e, q, &path), vec![vec![s("ok")], vec![s("fine")]]);
}

#[test]
fn empty_file_and_header_only() {
    let e = engine();
    let (_d, empty) = file("");
    assert!(rows(&e, "LOAD CSV FROM $path NO HEADER AS r RETURN r", &empty).is_empty());
    let msg = fail(&e, "LOAD CSV FROM $path WITH HEADER AS r RETURN r", &empty).to_string();
    assert!(msg.contains("is empty"), "{msg}");
    let (_d2, header_only) = file("a,b\n");
    assert!(rows(
        &e,
        "LOAD CSV FROM $path WITH HEADER AS r RETURN r",
        &header_only
    )
    .is_empty());
}

#[test]
fn missing_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.csv");
    let e = engine();
    let err = fail(&e, "LOAD CSV FROM $path NO HEADER AS r RETURN r", &path);
    assert_eq!(
        err.code(),
        "Neo.ClientError.Statement.ExternalResourceFailed"
    );
    assert_eq!(
        err.to_string(),
        format!("CSV file not found: {}", path.display())
    );
    let err = fail(
        &e,
        "LOAD CSV FROM $path NO HEADER AS r RETURN r",
        dir.path(),
    );
    assert!(err.to_string().contains("is a directory"), "{err}");
}

#[test]
fn bad_options_are_argument_errors() {
    let (_d, path) = file("a\n");
    let e = engine();
    for q in [
        "LOAD CSV FROM $path NO HEADER DELIMITER ';;' AS r RETURN r",
        "LOAD CSV FROM $path NO HEADER QUOTE '' AS r RETURN r",
        "LOAD CSV FROM $path NO HEADER DELIMITER ',' QUOTE ',' AS r RETURN r",
    ] {
        let err = fail(&e, q, &path);
        assert_eq!(err.code(), "Neo.ClientError.Statement.ArgumentError", "{q}");
    }
    let err = fail(&e, "LOAD CSV FROM 42 NO HEADER AS r RETURN r", &path);
    assert_eq!(err.code(), "Neo.ClientError.Statement.TypeError");
}

#[test]
fn creates_nodes_and_relationships() {
    let (_d, people) = file("id,name,age\n1,Ann,30\n2,Bob,41\n3,Cid,\n");
    let e = engine();
    rows(
        &e,
        "LOAD CSV FROM $path WITH HEADER AS row \
         CREATE (:Person {id: toInteger(row.id), name: row.name, age: toInteger(row.age)})",
        &people,
    );
    let (_d2, knows) = file("src,dst\n1,2\n2,3\n3,1\n");
    rows(
        &e,
        "LOAD CSV FROM $path WITH HEADER AS row \
         MATCH (a:Person {id: toInteger(row.src)}), (b:Person {id: toInteger(row.dst)}) \
         CREATE (a)-[:KNOWS]->(b)",
        &knows,
    );
    assert_eq!(
        rows(
            &e,
            "MATCH (a:Person)-[:KNOWS]->(b) RETURN a.name, b.name, a.age ORDER BY a.name",
            &knows
        ),
        vec![
            vec![s("Ann"), s("Bob"), Value::Int(30)],
            vec![s("Bob"), s("Cid"), Value::Int(41)],
            vec![s("Cid"), s("Ann"), Value::Null],
        ]
    );
}

#[test]
fn follows_other_clauses_once_per_input_row() {
    let (_d, path) = file("x\n1\n2\n");
    let e = engine();
    let q = "UNWIND [10, 20] AS k LOAD CSV FROM $path WITH HEADER AS row \
             RETURN k + toInteger(row.x) AS v ORDER BY v";
    let got: Vec<Value> = rows(&e, q, &path)
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(got, [11, 12, 21, 22].map(Value::Int).to_vec(),);
    // WITH / aggregation after it, and the row variable passed on.
    let q = "LOAD CSV FROM $path WITH HEADER AS row WITH row WHERE row.x <> '1' \
             RETURN collect(row.x) AS xs, count(*) AS n";
    assert_eq!(rows(&e, q, &path), vec![vec![list(&["2"]), Value::Int(1)]]);
}

#[test]
fn explain_names_the_operator() {
    let (_d, path) = file("x\n");
    let e = engine();
    let got = rows(
        &e,
        "EXPLAIN LOAD CSV FROM $path WITH HEADER AS row RETURN row",
        &path,
    );
    let lines: Vec<Value> = got.into_iter().map(|r| r[0].clone()).collect();
    assert!(lines.contains(&s("* LoadCsv")), "{lines:?}");
}

#[test]
fn duplicate_header_names_take_the_last_column() {
    let (_d, path) = file("a,b,a\n1,2,3\n4,5,6\n");
    let e = engine();
    let q = "LOAD CSV FROM $path WITH HEADER AS row RETURN row.a, row.b";
    assert_eq!(
        rows(&e, q, &path),
        vec![vec![s("3"), s("2")], vec![s("6"), s("5")]]
    );
}

#[test]
fn blank_lines_are_skipped() {
    let (_d, path) = file("a\n\n1\n\n2\n");
    let e = engine();
    let q = "LOAD CSV FROM $path WITH HEADER AS row RETURN row.a";
    assert_eq!(rows(&e, q, &path), vec![vec![s("1")], vec![s("2")]]);
}

#[test]
fn an_unclosed_quote_is_a_bad_row() {
    // The csv crate would read the rest of the file into the open field.
    let (_d, path) = file("id,name\n1,Ann\n2,\"Bob\n3,Cid\n");
    let e = engine();
    let msg = fail(
        &e,
        "LOAD CSV FROM $path WITH HEADER AS r RETURN r.name",
        &path,
    )
    .to_string();
    assert!(
        msg.contains("line 3") && msg.contains("never closed"),
        "{msg}"
    );
    let q = "LOAD CSV FROM $path WITH HEADER IGNORE BAD AS r RETURN r.name";
    assert_eq!(rows(&e, q, &path), vec![vec![s("Ann")]]);
    // Closed quotes at the end of a file, with line breaks and doubled quotes inside, are fine.
    let (_d2, good) = file("a,b\n1,\"x\ny\"\"\"\n\"2\",\"\"");
    let q = "LOAD CSV FROM $path WITH HEADER AS r RETURN r.a, r.b";
    assert_eq!(
        rows(&e, q, &good),
        vec![vec![s("1"), s("x\ny\"")], vec![s("2"), s("")]]
    );
    let (_d3, header) = file("a,\"b\n");
    let msg = fail(&e, "LOAD CSV FROM $path WITH HEADER AS r RETURN r", &header).to_string();
    assert!(
        msg.contains("line 1") && msg.contains("never closed"),
        "{msg}"
    );
}

#[test]
fn relationship_load_streams_without_a_barrier() {
    // Creating relationships only cannot change what node-only MATCHes find: no Accumulate
    // holds the rows of the file.
    let (_d, path) = file("src,dst\n");
    let e = engine();
    let explain = |q: &str| -> Vec<Value> {
        rows(&e, q, &path)
            .into_iter()
            .map(|r| r[0].clone())
            .collect()
    };
    let lines = explain(
        "EXPLAIN LOAD CSV FROM $path WITH HEADER AS row \
         MATCH (a:Person {id: toInteger(row.src)}), (b:Person {id: toInteger(row.dst)}) \
         CREATE (a)-[:KNOWS]->(b)",
    );
    assert!(!lines.contains(&s("* Accumulate")), "{lines:?}");
    // A MATCH that expands relationships, or a CREATE of nodes, still gets its barrier.
    for q in [
        "EXPLAIN LOAD CSV FROM $path WITH HEADER AS row \
         MATCH (a:Person)-[:KNOWS]->(b) CREATE (a)-[:KNOWS]->(b)",
        "EXPLAIN LOAD CSV FROM $path WITH HEADER AS row \
         MATCH (a:Person {id: toInteger(row.src)}) CREATE (a)-[:KNOWS]->(:Person)",
    ] {
        assert!(explain(q).contains(&s("* Accumulate")), "{q}");
    }
}

#[test]
fn gzip_files_are_decompressed() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let gz = |name: &str, text: &str| {
        let path = dir.path().join(name);
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        enc.write_all(text.as_bytes()).unwrap();
        enc.finish().unwrap();
        path
    };
    let e = engine();
    let path = gz("a.csv.gz", "id,name\n1,Ann\n2,\"B\nob\"");
    let q = "LOAD CSV FROM $path WITH HEADER AS row RETURN row.id, row.name";
    assert_eq!(
        rows(&e, q, &path),
        vec![vec![s("1"), s("Ann")], vec![s("2"), s("B\nob")]]
    );
    let path = gz("b.csv.gz", "id,name\n1,Ann\n2,\"Bob\n3,Cid\n");
    let msg = fail(&e, q, &path).to_string();
    assert!(
        msg.contains("line 3") && msg.contains("never closed"),
        "{msg}"
    );
}

#[test]
fn a_last_line_without_a_line_break_is_read() {
    let (_d, path) = file("a,b\n1,\"x\"\n2,y");
    let e = engine();
    let q = "LOAD CSV FROM $path WITH HEADER AS row RETURN row.a, row.b";
    assert_eq!(
        rows(&e, q, &path),
        vec![vec![s("1"), s("x")], vec![s("2"), s("y")]]
    );
    let (_d2, path) = file("a,b\n1,x\n2,\"y");
    let msg = fail(&e, q, &path).to_string();
    assert!(
        msg.contains("line 3") && msg.contains("never closed"),
        "{msg}"
    );
}

/// The number of commits `e`'s storage made while `f` ran (a commit advances the clock by the
/// same amount each time; that amount is measured first with one plain commit).
fn commits_during(e: &Arc<Engine>, f: impl FnOnce()) -> u64 {
    let storage = e.storage();
    let before = storage.last_commit_ts();
    e.execute("CREATE (:Tick)", &HashMap::new()).unwrap();
    let step = storage.last_commit_ts() - before;
    assert!(step > 0);
    let start = storage.last_commit_ts();
    f();
    let spent = storage.last_commit_ts() - start;
    assert_eq!(
        spent % step,
        0,
        "the clock moved by {spent}, not a multiple of {step}"
    );
    spent / step
}

fn count(e: &Arc<Engine>, q: &str) -> Value {
    let (_, rows, _) = e.execute(q, &HashMap::new()).unwrap();
    rows[0][0].clone()
}

#[test]
fn using_periodic_commit_commits_every_n_rows_and_each_batch_sees_the_last() {
    let (_d, path) = file("id,boss\n1,\n2,1\n3,2\n4,3\n5,4\n");
    let e = engine();
    let commits = commits_during(&e, || {
        rows(
            &e,
            "USING PERIODIC COMMIT 2 LOAD CSV FROM $path WITH HEADER AS row \
             CREATE (:P {id: toInteger(row.id)})",
            &path,
        );
    });
    assert_eq!(commits, 3, "batches of 2, 2 and 1 rows");
    assert_eq!(count(&e, "MATCH (p:P) RETURN count(p)"), Value::Int(5));
    // A later batch matches what earlier batches created (committed, so visible to the next
    // batch's transaction).
    rows(
        &e,
        "USING PERIODIC COMMIT 1 LOAD CSV FROM $path WITH HEADER AS row \
         MATCH (a:P {id: toInteger(row.id)}), (b:P {id: toInteger(row.boss)}) \
         CREATE (a)-[:REPORTS_TO]->(b)",
        &path,
    );
    assert_eq!(
        count(&e, "MATCH ()-[r:REPORTS_TO]->() RETURN count(r)"),
        Value::Int(4)
    );
}

#[test]
fn a_failing_batch_rolls_back_alone() {
    // The fifth row divides by zero: the batches of rows 1-2 and 3-4 stay committed.
    let (_d, path) = file("d\n1\n2\n3\n4\n0\n6\n");
    let e = engine();
    let err = fail(
        &e,
        "USING PERIODIC COMMIT 2 LOAD CSV FROM $path WITH HEADER AS row \
         CREATE (:Q {v: 12 / toInteger(row.d)})",
        &path,
    );
    assert!(matches!(err, QueryError::Arithmetic(_)), "{err:?}");
    assert_eq!(count(&e, "MATCH (q:Q) RETURN count(q)"), Value::Int(4));
}

#[test]
fn using_periodic_commit_is_refused_where_it_cannot_commit_as_it_goes() {
    let (_d, path) = file("a\n1\n");
    let e = engine();
    let with_return = fail(
        &e,
        "USING PERIODIC COMMIT 10 LOAD CSV FROM $path WITH HEADER AS row CREATE (n:R) RETURN n",
        &path,
    );
    assert!(
        with_return.to_string().contains("returns no rows"),
        "{with_return}"
    );
    let zero = fail(
        &e,
        "USING PERIODIC COMMIT 0 LOAD CSV FROM $path WITH HEADER AS row CREATE (:R)",
        &path,
    );
    assert!(zero.to_string().contains("above 0"), "{zero}");
    // Inside an explicit transaction.
    let mut s = e.session();
    s.begin().unwrap();
    let params = HashMap::from([(
        "path".to_string(),
        Value::String(path.to_str().unwrap().to_string()),
    )]);
    let err = s
        .run(
            "USING PERIODIC COMMIT 10 LOAD CSV FROM $path WITH HEADER AS row CREATE (:R)",
            &params,
            true,
        )
        .map(|_| ())
        .unwrap_err();
    assert!(err.to_string().contains("open transaction"), "{err}");
    assert!(matches!(err, QueryError::Semantic(_)), "{err:?}");
    s.rollback().unwrap();
    assert_eq!(count(&e, "MATCH (r:R) RETURN count(r)"), Value::Int(0));
}
