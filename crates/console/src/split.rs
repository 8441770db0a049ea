//! Cutting input lines into queries, as mgconsole does.
//!
//! * A query ends at a `;` outside quotes; the `;` is not part of it.
//! * Inside `'...'` or `"..."` a backslash escapes the next character, so `'it\'s;'` is one
//!   string.
//! * A query may span lines: the lines are joined with `\n`. Empty lines are skipped.
//! * Text after a `;` (trimmed) is carried over and the next line is appended to it directly,
//!   so several queries on one line run one after another.
//! * A query over [`MAX_QUERY_BYTES`] is refused (the pending text is dropped).

/// The longest query (and the longest line) the console accepts.
pub const MAX_QUERY_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Default)]
pub struct Splitter {
    /// Text after the last `;` of the last line, not yet started as a query.
    carry: String,
    /// The query being assembled over several lines (without its last `\n`).
    query: String,
    /// Lines in `query` so far.
    lines: usize,
    quote: Option<char>,
    escaped: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    TooLong,
}

impl Splitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// True while a query has been started on an earlier line (the continuation prompt).
    pub fn in_query(&self) -> bool {
        self.lines > 0
    }

    /// Text carried over from the last line, which the next line is appended to (the REPL
    /// puts it in the edit buffer, as mgconsole does).
    pub fn take_carry(&mut self) -> String {
        std::mem::take(&mut self.carry)
    }

    /// A query complete within the carried-over text alone, if there is one (mgconsole runs
    /// every query of a line before reading the next one).
    pub fn next_carried(&mut self) -> Option<String> {
        if self.lines > 0 || self.carry.is_empty() {
            return None;
        }
        let (part, done) = scan(&self.carry, &mut None, &mut false);
        if !done {
            return None;
        }
        let rest = self.carry[part.len() + 1..].trim().to_string();
        self.carry = rest;
        Some(part)
    }

    /// Adds one line (without its newline). Returns the query it completes, if any; what
    /// follows that query's `;` is kept for [`Splitter::next_carried`] / the next line.
    pub fn push_line(&mut self, line: &str) -> Result<Option<String>, Error> {
        let line = if self.carry.is_empty() {
            line.to_string()
        } else {
            let mut l = std::mem::take(&mut self.carry);
            l.push_str(line);
            l
        };
        if line.is_empty() {
            return Ok(None);
        }
        if self.query.len() + line.len() > MAX_QUERY_BYTES {
            self.reset();
            return Err(Error::TooLong);
        }
        let (part, done) = scan(&line, &mut self.quote, &mut self.escaped);
        self.query.push_str(&part);
        self.lines += 1;
        let used = part.len() + usize::from(done);
        if used < line.len() {
            self.carry = line[used..].trim().to_string();
        }
        if done {
            let query = std::mem::take(&mut self.query);
            self.reset_query();
            Ok(Some(query))
        } else {
            self.query.push('\n');
            Ok(None)
        }
    }

    /// The unfinished query at the end of the input, if any text was given.
    pub fn finish(&mut self) -> Option<String> {
        let q = std::mem::take(&mut self.query);
        self.reset();
        let q = q.trim_end_matches('\n');
        (!q.trim().is_empty()).then(|| q.to_string())
    }

    fn reset_query(&mut self) {
        self.query.clear();
        self.lines = 0;
        self.quote = None;
        self.escaped = false;
    }

    /// Forgets everything pending (after an error, or Ctrl-C at the prompt).
    pub fn reset(&mut self) {
        self.reset_query();
        self.carry.clear();
    }
}

/// The text of `line` up to its first `;` outside quotes, and whether one was found.
fn scan(line: &str, quote: &mut Option<char>, escaped: &mut bool) -> (String, bool) {
    for (i, c) in line.char_indices() {
        if quote.is_some() && c == '\\' {
            *escaped = !*escaped;
            continue;
        }
        match *quote {
            None if c == '"' || c == '\'' => *quote = Some(c),
            Some(q) if c == q && !*escaped => *quote = None,
            None if c == ';' => return (line[..i].to_string(), true),
            _ => {}
        }
        *escaped = false;
    }
    (line.to_string(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every query the lines make, in order, with what was left unfinished.
    fn split(lines: &[&str]) -> (Vec<String>, Option<String>) {
        let mut s = Splitter::new();
        let mut out = Vec::new();
        for line in lines {
            if let Some(q) = s.push_line(line).unwrap() {
                out.push(q);
            }
            while let Some(q) = s.next_carried() {
                out.push(q);
            }
        }
        let carry = s.take_carry();
        if !carry.is_empty() {
            s.push_line(&carry).unwrap();
        }
        (out, s.finish())
    }

    #[test]
    fn one_query_per_line() {
        assert_eq!(
            split(&["MATCH (n) RETURN n;", "RETURN 1;"]),
            (vec!["MATCH (n) RETURN n".into(), "RETURN 1".into()], None)
        );
    }

    #[test]
    fn a_query_over_several_lines_keeps_its_newlines() {
        let (q, rest) = split(&["MATCH (n)", "", "WHERE n.x > 1", "RETURN n;"]);
        assert_eq!(q, vec!["MATCH (n)\nWHERE n.x > 1\nRETURN n"]);
        assert_eq!(rest, None);
    }

    #[test]
    fn several_queries_on_one_line_and_carried_text() {
        let (q, rest) = split(&["RETURN 1; RETURN 2;RETURN", " 3;  "]);
        assert_eq!(q, vec!["RETURN 1", "RETURN 2", "RETURN 3"]);
        assert_eq!(rest, None);
    }

    #[test]
    fn semicolons_inside_quotes_do_not_end_a_query() {
        let (q, _) = split(&[r#"RETURN "a;b", 'c;d';"#]);
        assert_eq!(q, vec![r#"RETURN "a;b", 'c;d'"#]);
        let (q, _) = split(&[r#"RETURN "it's; fine";"#]);
        assert_eq!(q, vec![r#"RETURN "it's; fine""#]);
    }

    #[test]
    fn backslashes_escape_inside_quotes() {
        let (q, _) = split(&[r"RETURN 'it\'s;' AS s;"]);
        assert_eq!(q, vec![r"RETURN 'it\'s;' AS s"]);
        let (q, _) = split(&[r"RETURN 'ends with \\';"]);
        assert_eq!(q, vec![r"RETURN 'ends with \\'"]);
        // Outside quotes a backslash is an ordinary character.
        let (q, _) = split(&[r"RETURN \;", "x;"]);
        assert_eq!(q, vec![r"RETURN \", "x"]);
    }

    #[test]
    fn a_quote_left_open_spans_lines() {
        let (q, rest) = split(&["RETURN 'first;", "second';"]);
        assert_eq!(q, vec!["RETURN 'first;\nsecond'"]);
        assert_eq!(rest, None);
    }

    #[test]
    fn unfinished_input_is_reported() {
        let (q, rest) = split(&["RETURN 1;", "MATCH (n)", "RETURN n"]);
        assert_eq!(q, vec!["RETURN 1"]);
        assert_eq!(rest.as_deref(), Some("MATCH (n)\nRETURN n"));
        let mut s = Splitter::new();
        assert!(!s.in_query());
        s.push_line("MATCH (n)").unwrap();
        assert!(s.in_query());
    }

    #[test]
    fn empty_queries_come_back_empty() {
        let (q, _) = split(&[";;"]);
        assert_eq!(q, vec!["", ""]);
    }

    #[test]
    fn too_long_input_is_refused_and_forgotten() {
        let mut s = Splitter::new();
        let big = "x".repeat(MAX_QUERY_BYTES / 2 + 1);
        assert_eq!(s.push_line(&big), Ok(None));
        assert_eq!(s.push_line(&big), Err(Error::TooLong));
        assert!(!s.in_query());
        assert_eq!(s.push_line("RETURN 1;"), Ok(Some("RETURN 1".into())));
    }
}
