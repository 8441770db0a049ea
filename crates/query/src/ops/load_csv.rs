//! LOAD CSV (Memgraph's form): streams the records of a file on the server into a row variable.
//!
//! For every input row the operator evaluates the path and the options, opens the file and
//! yields one output row per CSV record: a map column name -> string `WITH HEADER`, a list of
//! strings `NO HEADER`. Records are read one at a time into a reused buffer (the `csv` crate's
//! [`ByteRecord`]); the file is never held in memory, and a single record is bounded by
//! [`MAX_RECORD_BYTES`] so one giant line cannot exhaust memory. The row value itself is reused
//! too: when the slot still holds the previous row's map (or list), its keys and string buffers
//! are overwritten in place instead of allocated afresh.
//!
//! A file that starts with gzip's magic bytes is decompressed on the fly (`flate2`), as in
//! Memgraph; the record bound then applies to the decompressed data.
//!
//! A bad record (wrong number of columns with a header, invalid UTF-8) is an error naming the
//! file and line, or is skipped with `IGNORE BAD`. Unreadable files, I/O errors and oversized
//! records always fail the query.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::Path;
use std::sync::Arc;

use csv::ByteRecord;

use super::{BoxCursor, Cursor, ExecCtx};
use crate::error::{QueryError, Result};
use crate::expr::{Frame, PExpr};
use crate::value::Value;

/// The largest record (one CSV row, possibly spanning lines) the operator accepts.
pub const MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

/// The `csv` reader's buffer: large enough that reading is a few big system calls.
const READ_BUFFER_BYTES: usize = 256 * 1024;

/// The planned clause: expressions over the input row, and the slot the row variable binds.
#[derive(Debug)]
pub struct LoadCsvSpec {
    pub path: PExpr,
    pub with_header: bool,
    pub ignore_bad: bool,
    pub delimiter: Option<PExpr>,
    pub quote: Option<PExpr>,
    pub nullif: Option<PExpr>,
    pub slot: usize,
}

pub struct LoadCsv {
    input: BoxCursor,
    spec: Arc<LoadCsvSpec>,
    /// The file being read for the current input row.
    source: Option<Source>,
    max_record: u64,
}

impl LoadCsv {
    pub fn new(input: BoxCursor, spec: Arc<LoadCsvSpec>) -> LoadCsv {
        LoadCsv::with_record_limit(input, spec, MAX_RECORD_BYTES)
    }

    /// As [`LoadCsv::new`] with another bound on a record's size (tests use a small one).
    pub fn with_record_limit(input: BoxCursor, spec: Arc<LoadCsvSpec>, max: u64) -> LoadCsv {
        LoadCsv {
            input,
            spec,
            source: None,
            max_record: max,
        }
    }
}

impl Cursor for LoadCsv {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        loop {
            if let Some(source) = &mut self.source {
                if source.next(&mut frame[self.spec.slot], ctx)? {
                    return Ok(true);
                }
                source.finish();
                self.source = None;
            }
            if !self.input.pull(frame, ctx)? {
                return Ok(false);
            }
            let options = Options::eval(&self.spec, frame, ctx)?;
            self.source = Some(Source::open(options, self.max_record)?);
        }
    }

    fn reset(&mut self) {
        self.source = None;
        self.input.reset();
    }
}

/// The clause's options, evaluated for one input row.
struct Options {
    path: String,
    with_header: bool,
    ignore_bad: bool,
    delimiter: u8,
    quote: u8,
    nullif: Option<String>,
}

impl Options {
    fn eval(spec: &LoadCsvSpec, frame: &mut Frame, ctx: &ExecCtx<'_>) -> Result<Options> {
        let ectx = ctx.eval();
        let path = match spec.path.eval(frame, &ectx)? {
            Value::String(s) => s,
            other => {
                return Err(QueryError::type_error(format!(
                    "LOAD CSV expects the file path to be a string, got {}",
                    other.type_name()
                )))
            }
        };
        let mut string_option = |e: &Option<PExpr>, what: &str| -> Result<Option<String>> {
            let Some(e) = e else { return Ok(None) };
            match e.eval(frame, &ectx)? {
                Value::String(s) => Ok(Some(s)),
                other => Err(QueryError::type_error(format!(
                    "LOAD CSV expects {what} to be a string, got {}",
                    other.type_name()
                ))),
            }
        };
        let delimiter = string_option(&spec.delimiter, "DELIMITER")?;
        let quote = string_option(&spec.quote, "QUOTE")?;
        let nullif = string_option(&spec.nullif, "NULLIF")?;
        let delimiter = single_byte(delimiter.as_deref(), b',', "DELIMITER")?;
        let quote = single_byte(quote.as_deref(), b'"', "QUOTE")?;
        if delimiter == quote {
            return Err(QueryError::Argument(
                "LOAD CSV: DELIMITER and QUOTE must be different characters.".into(),
            ));
        }
        Ok(Options {
            path,
            with_header: spec.with_header,
            ignore_bad: spec.ignore_bad,
            delimiter,
            quote,
            nullif,
        })
    }
}

/// A DELIMITER / QUOTE option: exactly one ASCII character other than a line break.
fn single_byte(s: Option<&str>, default: u8, what: &str) -> Result<u8> {
    let Some(s) = s else { return Ok(default) };
    match s.as_bytes() {
        [b] if b.is_ascii() && *b != b'\n' && *b != b'\r' => Ok(*b),
        _ => Err(QueryError::Argument(format!(
            "LOAD CSV: {what} must be a single ASCII character other than a line break, got {s:?}."
        ))),
    }
}

/// The error an I/O read returns when a record outgrows its budget.
#[derive(Debug)]
struct RecordTooLong;

impl std::fmt::Display for RecordTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("record too long")
    }
}

impl std::error::Error for RecordTooLong {}

/// The file's bytes, decompressed when it is gzip.
type Input = Box<dyn Read + Send>;

/// A reader that fails once `left` bytes were read since the budget was last set: the budget is
/// renewed before every record, so one record (plus at most one read buffer) is bounded, also
/// when a small compressed file inflates to a giant line. It also notes where the data ends.
struct Bounded {
    inner: Input,
    left: u64,
    /// Bytes read so far.
    total: u64,
    /// Whether the end of the data was reached.
    eof: bool,
}

impl Read for Bounded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::other(RecordTooLong));
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..want])?;
        self.left -= got as u64;
        self.total += got as u64;
        self.eof |= got == 0 && want > 0;
        Ok(got)
    }
}

/// The header: map keys in the map's (sorted) order with the column each one takes.
struct Header {
    /// Key order matches `BTreeMap` iteration; a repeated column name takes its last column.
    keys: Vec<(String, usize)>,
    width: usize,
}

impl Header {
    fn new(names: Vec<String>) -> Header {
        let width = names.len();
        let by_name: std::collections::BTreeMap<String, usize> =
            names.into_iter().enumerate().map(|(i, n)| (n, i)).collect();
        Header {
            keys: by_name.into_iter().collect(),
            width,
        }
    }

    /// Whether `m` is a previous row of this header (same keys), so it can be overwritten.
    fn fits(&self, m: &std::collections::BTreeMap<String, Value>) -> bool {
        m.len() == self.keys.len() && m.keys().zip(&self.keys).all(|(a, (b, _))| a == b)
    }
}

/// One open file of one input row.
struct Source {
    options: Options,
    reader: csv::Reader<Bounded>,
    record: ByteRecord,
    header: Option<Header>,
    max_record: u64,
    rows: u64,
    skipped: u64,
}

impl Source {
    fn open(options: Options, max_record: u64) -> Result<Source> {
        let input = open_input(&options.path)?;
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(options.delimiter)
            .quote(options.quote)
            .buffer_capacity(READ_BUFFER_BYTES)
            .from_reader(Bounded {
                inner: input,
                left: 0,
                total: 0,
                eof: false,
            });
        tracing::debug!(path = %options.path, "LOAD CSV: reading");
        let mut source = Source {
            options,
            reader,
            record: ByteRecord::new(),
            header: None,
            max_record,
            rows: 0,
            skipped: 0,
        };
        if source.options.with_header {
            source.header = Some(source.read_header()?);
        }
        Ok(source)
    }

    /// The first record as column names; an empty file has no header, which is an error.
    fn read_header(&mut self) -> Result<Header> {
        if !self.read_record()? {
            return Err(QueryError::Csv(format!(
                "CSV file {} is empty: WITH HEADER needs a header line.",
                self.options.path
            )));
        }
        let names = self
            .record
            .iter()
            .map(|f| std::str::from_utf8(f).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| self.bad_row("the header is not valid UTF-8"))?;
        if let Err(why) = self.check_closed()? {
            return Err(self.bad_row(&why));
        }
        Ok(Header::new(names))
    }

    /// Reads the next record into the buffer; `false` at the end of the file.
    fn read_record(&mut self) -> Result<bool> {
        // Renewed per record; the reader's buffer may already hold part of the next record.
        self.reader.get_mut().left = self.max_record + READ_BUFFER_BYTES as u64;
        match self.reader.read_byte_record(&mut self.record) {
            Ok(more) => Ok(more),
            Err(e) => Err(self.read_error(e)),
        }
    }

    fn read_error(&self, e: csv::Error) -> QueryError {
        let path = &self.options.path;
        // A failed read leaves the record's position at the line the record starts on.
        let line = self.record.position().map_or(1, |p| p.line());
        match e.kind() {
            csv::ErrorKind::Io(io) if io.get_ref().is_some_and(|r| r.is::<RecordTooLong>()) => {
                QueryError::Csv(format!(
                    "CSV file {path}: the record at line {line} is longer than {} bytes.",
                    self.max_record
                ))
            }
            csv::ErrorKind::Io(io) => {
                QueryError::Csv(format!("CSV file {path} couldn't be read: {io}"))
            }
            // Not expected with flexible byte records; reported as a bad row all the same.
            _ => QueryError::Csv(format!("CSV file {path}: bad row at line {line}: {e}")),
        }
    }

    /// The error for the record in the buffer.
    fn bad_row(&self, why: &str) -> QueryError {
        let line = self.record.position().map_or(0, |p| p.line());
        QueryError::Csv(format!(
            "CSV file {}: bad row at line {line}: {why}",
            self.options.path
        ))
    }

    /// Binds the next good record to `out`; `false` at the end of the file.
    fn next(&mut self, out: &mut Value, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        loop {
            ctx.tick()?;
            if !self.read_record()? {
                return Ok(false);
            }
            match self.check_closed()?.and_then(|()| self.bind(out)) {
                Ok(()) => {
                    self.rows += 1;
                    return Ok(true);
                }
                Err(why) if self.options.ignore_bad => {
                    self.skipped += 1;
                    let line = self.record.position().map_or(0, |p| p.line());
                    tracing::debug!(path = %self.options.path, line, why, "LOAD CSV: skipped a bad row");
                }
                Err(why) => return Err(self.bad_row(&why)),
            }
        }
    }

    /// The `csv` crate reads a quoted field that is never closed up to the end of the file, as
    /// if it had been closed there; such a record (necessarily the last one) is a bad row, as in
    /// Memgraph. Only a record that ends where the data ends can be one; its raw bytes are then
    /// read again (the file reopened) to tell.
    fn check_closed(&self) -> Result<Result<(), String>> {
        let start = self.record.position().map_or(0, |p| p.byte());
        let input = self.reader.get_ref();
        if !input.eof || self.reader.position().byte() != input.total || start >= input.total {
            return Ok(Ok(()));
        }
        let reread = |e: io::Error| {
            QueryError::Csv(format!(
                "CSV file {} couldn't be read: {e}",
                self.options.path
            ))
        };
        let raw = open_input_at(&self.options.path, start)?;
        let raw = io::BufReader::new(raw.take(input.total - start));
        if ends_in_quotes(raw, self.options.delimiter, self.options.quote).map_err(reread)? {
            return Ok(Err(
                "a quoted field is never closed (the file ends inside quotes)".to_string(),
            ));
        }
        Ok(Ok(()))
    }

    /// Writes the record in the buffer into `out`, reusing its map or list when it can.
    fn bind(&self, out: &mut Value) -> Result<(), String> {
        let nullif = self.options.nullif.as_deref();
        let record = &self.record;
        match &self.header {
            Some(header) => {
                if record.len() != header.width {
                    return Err(format!(
                        "expected {} columns, got {}",
                        header.width,
                        record.len()
                    ));
                }
                if !matches!(out, Value::Map(m) if header.fits(m)) {
                    *out = Value::Map(
                        header
                            .keys
                            .iter()
                            .map(|(k, _)| (k.clone(), Value::Null))
                            .collect(),
                    );
                }
                if let Value::Map(m) = out {
                    for (v, (_, col)) in m.values_mut().zip(&header.keys) {
                        set_field(v, &record[*col], nullif, *col)?;
                    }
                }
            }
            None => {
                if !matches!(out, Value::List(_)) {
                    *out = Value::List(Vec::with_capacity(record.len()));
                }
                if let Value::List(items) = out {
                    items.truncate(record.len());
                    for (col, field) in record.iter().enumerate() {
                        match items.get_mut(col) {
                            Some(v) => set_field(v, field, nullif, col)?,
                            None => {
                                let mut v = Value::Null;
                                set_field(&mut v, field, nullif, col)?;
                                items.push(v);
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(&self) {
        if self.skipped > 0 {
            tracing::info!(
                path = %self.options.path,
                rows = self.rows,
                skipped = self.skipped,
                "LOAD CSV: skipped bad rows (IGNORE BAD)"
            );
        } else {
            tracing::debug!(path = %self.options.path, rows = self.rows, "LOAD CSV: done");
        }
    }
}

/// Sets `v` to the field as a string (reusing `v`'s buffer), or null when it equals NULLIF.
fn set_field(v: &mut Value, field: &[u8], nullif: Option<&str>, col: usize) -> Result<(), String> {
    let s =
        std::str::from_utf8(field).map_err(|_| format!("column {} is not valid UTF-8", col + 1))?;
    if nullif == Some(s) {
        *v = Value::Null;
    } else if let Value::String(old) = v {
        old.clear();
        old.push_str(s);
    } else {
        *v = Value::String(s.to_owned());
    }
    Ok(())
}

/// Whether `raw`, read from the start of a record, ends inside a quoted field (the `csv`
/// crate's reading: a quote opens a quoted field only at the start of a field, a doubled quote
/// inside one is a literal quote).
fn ends_in_quotes(raw: impl io::BufRead, delimiter: u8, quote: u8) -> io::Result<bool> {
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        /// A quote inside a quoted field: it closes the field unless another quote follows.
        QuoteInQuoted,
    }
    let ends_field = |b: u8| b == delimiter || b == b'\n' || b == b'\r';
    let mut state = State::FieldStart;
    for b in raw.bytes() {
        let b = b?;
        state = match state {
            State::FieldStart if b == quote => State::Quoted,
            State::Quoted if b == quote => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if b == quote => State::Quoted,
            _ if ends_field(b) => State::FieldStart,
            _ => State::Unquoted,
        };
    }
    Ok(state == State::Quoted)
}

/// Opens a regular file (a relative path resolves against the server's working directory),
/// decompressing it when it starts with gzip's magic bytes (as Memgraph does).
fn open_input(path: &str) -> Result<Input> {
    open_input_at(path, 0)
}

/// As [`open_input`], from byte `start` of the (decompressed) data.
fn open_input_at(path: &str, start: u64) -> Result<Input> {
    let shown = || match std::path::absolute(path) {
        Ok(abs) if abs != Path::new(path) => format!("{path} (resolved to {})", abs.display()),
        _ => path.to_string(),
    };
    let file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => QueryError::Csv(format!("CSV file not found: {}", shown())),
        _ => QueryError::Csv(format!("CSV file {} couldn't be opened: {e}", shown())),
    })?;
    let meta = file
        .metadata()
        .map_err(|e| QueryError::Csv(format!("CSV file {} couldn't be opened: {e}", shown())))?;
    if meta.is_dir() {
        return Err(QueryError::Csv(format!(
            "CSV file {} couldn't be opened: it is a directory",
            shown()
        )));
    }
    let unreadable =
        |e: io::Error| QueryError::Csv(format!("CSV file {} couldn't be read: {e}", shown()));
    let mut file = file;
    if is_gzip(&mut file).map_err(unreadable)? {
        let mut data = flate2::read::MultiGzDecoder::new(io::BufReader::new(file));
        io::copy(&mut (&mut data).take(start), &mut io::sink()).map_err(unreadable)?;
        Ok(Box::new(data))
    } else {
        file.seek(io::SeekFrom::Start(start)).map_err(unreadable)?;
        Ok(Box::new(file))
    }
}

/// Whether the file starts with gzip's magic bytes; leaves it at its start.
fn is_gzip(file: &mut File) -> io::Result<bool> {
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < magic.len() {
        match file.read(&mut magic[got..])? {
            0 => break,
            n => got += n,
        }
    }
    file.seek(io::SeekFrom::Start(0))?;
    Ok(got == 2 && magic == [0x1f, 0x8b])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{Guard, Once, Stats, TxRef};
    use std::sync::atomic::Ordering;
    use storage::{Storage, StorageConfig};

    fn spec(path: &Path, with_header: bool) -> Arc<LoadCsvSpec> {
        Arc::new(LoadCsvSpec {
            path: PExpr::Const(Value::String(path.to_str().unwrap().into())),
            with_header,
            ignore_bad: false,
            delimiter: None,
            quote: None,
            nullif: None,
            slot: 0,
        })
    }

    /// Pulls `cursor` to the end (or the first error) and returns the rows it bound.
    fn drain(cursor: &mut LoadCsv, guard: &Guard) -> Result<Vec<Value>> {
        let storage = Storage::new(StorageConfig::default());
        let mut tx = storage.begin();
        let mut stats = Stats::default();
        let mut ctx = ExecCtx::new(TxRef::Exclusive(&mut tx), &[], &mut stats, guard);
        let mut frame = vec![Value::Null];
        let mut out = Vec::new();
        while cursor.pull(&mut frame, &mut ctx)? {
            out.push(frame[0].clone());
        }
        Ok(out)
    }

    #[test]
    fn a_record_over_the_limit_fails_without_reading_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let giant = "x".repeat(4 * READ_BUFFER_BYTES);
        std::fs::write(&path, format!("a\nsmall\n{giant}\nafter\n")).unwrap();
        let mut cursor =
            LoadCsv::with_record_limit(Box::<Once>::default(), spec(&path, true), 1024);
        let err = drain(&mut cursor, &Guard::unlimited()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("line 3") && msg.contains("longer than 1024 bytes"),
            "{msg}"
        );
        // Under the limit the same file loads.
        let mut cursor = LoadCsv::new(Box::<Once>::default(), spec(&path, true));
        assert_eq!(drain(&mut cursor, &Guard::unlimited()).unwrap().len(), 3);
        // The bound holds for what a small gzip file inflates to.
        let gz = dir.path().join("big.csv.gz");
        let mut enc =
            flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::best());
        std::io::Write::write_all(&mut enc, format!("a\n{giant}\n").as_bytes()).unwrap();
        enc.finish().unwrap();
        assert!(std::fs::metadata(&gz).unwrap().len() < 10_000);
        let mut cursor = LoadCsv::with_record_limit(Box::<Once>::default(), spec(&gz, true), 1024);
        let msg = drain(&mut cursor, &Guard::unlimited())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("line 2") && msg.contains("longer than"),
            "{msg}"
        );
    }

    #[test]
    fn the_guard_interrupts_a_long_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.csv");
        std::fs::write(&path, "1\n".repeat(10_000)).unwrap();
        let guard = Guard::unlimited();
        guard.interrupt.store(true, Ordering::Relaxed);
        let mut cursor = LoadCsv::new(Box::<Once>::default(), spec(&path, false));
        assert!(matches!(
            drain(&mut cursor, &guard),
            Err(QueryError::Interrupted)
        ));
    }

    #[test]
    fn reset_reads_the_file_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, "a\nb\n").unwrap();
        let mut cursor = LoadCsv::new(Box::<Once>::default(), spec(&path, false));
        assert_eq!(drain(&mut cursor, &Guard::unlimited()).unwrap().len(), 2);
        cursor.reset();
        assert_eq!(drain(&mut cursor, &Guard::unlimited()).unwrap().len(), 2);
    }
}
