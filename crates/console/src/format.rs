//! The three output formats, laid out byte for byte as mgconsole lays them out.
//!
//! * **tabular**: every column has the same width, the widest cell (header included) plus a
//!   one-space margin on each side plus the `|` that opens it, at least 5. With
//!   `--fit-to-screen` a smaller width is chosen so the table fits the terminal, long cells are
//!   cut with `...`, and columns that still do not fit are dropped and marked `...`.
//! * **csv**: every field (header too) double-quoted, `"` doubled or escaped with the escape
//!   character, fields joined by the delimiter.
//! * **cypherl**: exactly one column of strings, each printed as it is on its own line (the
//!   output of `DUMP DATABASE` becomes a script the console can run again).
//!
//! Widths count bytes, as mgconsole does.

use bolt::Value;

use crate::render::value_to_string;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Tabular,
    Csv,
    Cypherl,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    pub delimiter: char,
    /// Used (before `"`) when `doublequote` is false.
    pub escapechar: Option<char>,
    pub doublequote: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: ',',
            escapechar: None,
            doublequote: true,
        }
    }
}

const MARGIN: usize = 1;
const MIN_COLUMN_WIDTH: usize = 5;

/// The table for `header` and `rows`; `screen_columns` is the terminal's width when
/// `--fit-to-screen` is on (`None`: never shrink). Ends with a newline.
pub fn tabular(header: &[String], rows: &[Vec<Value>], screen_columns: Option<usize>) -> String {
    let rendered: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(value_to_string).collect())
        .collect();
    let cell_width = |s: &String| s.len() + 2 * MARGIN + 1;
    let mut column_width = header
        .iter()
        .chain(rendered.iter().flatten())
        .map(cell_width)
        .max()
        .unwrap_or(0)
        .max(MIN_COLUMN_WIDTH);
    let mut num_columns = header.len();
    let mut total_width = column_width * num_columns + 1;
    let mut all_columns_fit = true;

    if let Some(window) = screen_columns {
        if total_width > window {
            // The widest column width (at least 5) with which all columns fit.
            let (mut lo, mut hi, mut last) = (MIN_COLUMN_WIDTH, column_width, MIN_COLUMN_WIDTH);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if mid * num_columns < window {
                    last = mid;
                    lo = mid + 1;
                } else {
                    hi = mid - 1;
                }
            }
            column_width = last;
            total_width = column_width * num_columns + 1;
            while total_width > window && num_columns > 1 {
                num_columns -= 1;
                total_width = column_width * num_columns + 1;
                all_columns_fit = false;
            }
        }
    }

    let mut border = vec![b'-'; total_width];
    for i in (0..total_width).step_by(column_width) {
        border[i] = b'+';
    }
    border[total_width - 1] = b'+';
    let border = String::from_utf8(border).unwrap_or_default();

    let layout = Layout {
        total_width,
        column_width,
        shown: if all_columns_fit {
            num_columns
        } else {
            num_columns - 1
        },
        all_columns_fit,
    };
    let mut out = String::new();
    out.push_str(&border);
    out.push('\n');
    layout.row(&mut out, header);
    out.push_str(&border);
    out.push('\n');
    for row in &rendered {
        layout.row(&mut out, row);
    }
    out.push_str(&border);
    out.push('\n');
    out
}

struct Layout {
    total_width: usize,
    column_width: usize,
    /// Columns printed with their values (the last one is `...` when not all fit).
    shown: usize,
    all_columns_fit: bool,
}

impl Layout {
    fn row(&self, out: &mut String, cells: &[String]) {
        let mut line = vec![b' '; self.total_width];
        let room = self.column_width - 2 * MARGIN - 1;
        for i in (0..self.total_width).step_by(self.column_width) {
            line[i] = b'|';
            let idx = i / self.column_width;
            if idx >= self.shown {
                continue;
            }
            let Some(cell) = cells.get(idx) else { continue };
            let text = fit(cell, room);
            let at = i + 1 + MARGIN;
            line[at..at + text.len()].copy_from_slice(text.as_bytes());
        }
        if !self.all_columns_fit {
            let at = self.total_width - self.column_width;
            let end = (at + 3).min(self.total_width);
            line[at..end].copy_from_slice(&b"..."[..end - at]);
        }
        line[self.total_width - 1] = b'|';
        // Only whole characters were copied in, so the line is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(&line));
        out.push('\n');
    }
}

/// `cell` cut to at most `room` bytes, its last three replaced by `...` when it was cut. A cut
/// never splits a character (mgconsole cuts bytes): the cell may come out a little shorter.
fn fit(cell: &str, room: usize) -> String {
    if cell.len() <= room {
        return cell.to_string();
    }
    let keep = room.saturating_sub(3);
    let mut end = keep;
    while !cell.is_char_boundary(end) {
        end -= 1;
    }
    let mut text = cell[..end].to_string();
    text.push_str(&"..."[..room.min(3)]);
    text
}

fn csv_field(text: &str, opts: &CsvOptions) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' {
            match (opts.doublequote, opts.escapechar) {
                (true, _) | (false, None) => out.push('"'),
                (false, Some(e)) => out.push(e),
            }
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn csv_line(out: &mut String, fields: impl Iterator<Item = String>, opts: &CsvOptions) {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.push(opts.delimiter);
        }
        out.push_str(&csv_field(&field, opts));
    }
    out.push('\n');
}

/// The header line and one line per row.
pub fn csv(header: &[String], rows: &[Vec<Value>], opts: &CsvOptions) -> String {
    let mut out = String::new();
    csv_line(&mut out, header.iter().cloned(), opts);
    for row in rows {
        csv_line(&mut out, row.iter().map(value_to_string), opts);
    }
    out
}

/// Each row's one string, raw, on its own line; anything but one column of strings is an
/// error saying what was found.
pub fn cypherl(header: &[String], rows: &[Vec<Value>]) -> Result<String, String> {
    if header.len() != 1 {
        return Err(format!(
            "cypherl output format requires exactly one column, the query returned {}",
            header.len()
        ));
    }
    let mut out = String::new();
    for row in rows {
        match row.as_slice() {
            [Value::String(s)] => {
                out.push_str(s);
                out.push('\n');
            }
            [other] => {
                return Err(format!(
                    "cypherl output format requires string values, got {}",
                    other.type_name()
                ))
            }
            cells => {
                return Err(format!(
                    "cypherl output format requires exactly one column, a row has {}",
                    cells.len()
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bolt::graph::Node;
    use bolt::Version;

    fn h(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn labelled(label: &str) -> Value {
        Node {
            id: 1,
            labels: vec![label.into()],
            properties: vec![],
            element_id: "1".into(),
        }
        .to_value(Version::V4_4)
    }

    #[test]
    fn tabular_gives_every_column_the_widest_cells_width() {
        let rows = vec![vec![labelled("Stop"), 12.into(), Value::Null]];
        let got = tabular(&h(&["s", "minutes", "x"]), &rows, None);
        // The widest cells, "minutes" and "(:Stop)", are 7 bytes: every column is 7 + 3.
        let want = "\
+---------+---------+---------+
| s       | minutes | x       |
+---------+---------+---------+
| (:Stop) | 12      | Null    |
+---------+---------+---------+
";
        assert_eq!(got, want);
    }

    #[test]
    fn tabular_minimum_width_and_empty_strings() {
        let rows = vec![vec![1.into()], vec!["".into()]];
        // Nothing is wider than 2 bytes: the minimum width, 5, applies.
        let want = "\
+----+
| a  |
+----+
| 1  |
| \"\" |
+----+
";
        assert_eq!(tabular(&h(&["a"]), &rows, None), want);
    }

    #[test]
    fn tabular_counts_bytes_like_mgconsole() {
        let rows = vec![vec!["čć".into()]];
        // "\"čć\"" is 6 bytes: width 6 + 2 + 1 = 9.
        let want = "\
+--------+
| x      |
+--------+
| \"čć\" |
+--------+
";
        assert_eq!(tabular(&h(&["x"]), &rows, None), want);
    }

    #[test]
    fn fit_to_screen_cuts_cells_and_drops_columns() {
        let long = "a".repeat(40);
        let rows = vec![vec![long.as_str().into(), 7.into()]];
        // Width 2 * 45 + 1 = 91 > 30: columns shrink to 14, cells to 11 bytes.
        let got = tabular(&h(&["first", "second"]), &rows, Some(30));
        let want = "\
+-------------+-------------+
| first       | second      |
+-------------+-------------+
| \"aaaaaaa... | 7           |
+-------------+-------------+
";
        assert_eq!(got, want);
        // Fits already: unchanged.
        assert_eq!(
            tabular(&h(&["first", "second"]), &rows, Some(200)),
            tabular(&h(&["first", "second"]), &rows, None)
        );
        // Ten columns on a 20-wide screen: width 5, three columns, the last one "...".
        let header: Vec<String> = (0..10).map(|i| format!("column{i}")).collect();
        let row: Vec<Value> = (0..10).map(Value::Int).collect();
        let got = tabular(&header, &[row], Some(20));
        // Width 5 (mgconsole would throw cutting a header to 2 bytes; this prints "..").
        let want = "\
+----+----+----+
| .. | .. |... |
+----+----+----+
| 0  | 1  |... |
+----+----+----+
";
        assert_eq!(got, want);
    }

    #[test]
    fn csv_quotes_every_field() {
        let rows = vec![vec![labelled("Stop"), "say \"hi\"".into(), 1.5.into()]];
        let got = csv(&h(&["n", "s", "f"]), &rows, &CsvOptions::default());
        assert_eq!(
            got,
            "\"n\",\"s\",\"f\"\n\"(:Stop)\",\"\"\"say \\\"\"hi\\\"\"\"\"\",\"1.5\"\n"
        );
        let opts = CsvOptions {
            delimiter: ';',
            escapechar: Some('\\'),
            doublequote: false,
        };
        let got = csv(&h(&["s"]), &[vec!["q".into()]], &opts);
        assert_eq!(got, "\"s\"\n\"\\\"q\\\"\"\n");
    }

    #[test]
    fn cypherl_needs_one_string_column() {
        let rows = vec![vec!["CREATE (:A);".into()], vec!["CREATE (:B);".into()]];
        assert_eq!(
            cypherl(&h(&["QUERY"]), &rows).unwrap(),
            "CREATE (:A);\nCREATE (:B);\n"
        );
        assert!(cypherl(&h(&["a", "b"]), &[]).is_err());
        let err = cypherl(&h(&["n"]), &[vec![1.into()]]).unwrap_err();
        assert!(err.contains("string"), "{err}");
    }
}
