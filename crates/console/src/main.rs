//! `ferrograph-console`: Memgraph's mgconsole for ferrograph.
//!
//! Interactive when standard input is a terminal (banner, prompts, history, row counts,
//! errors that keep the session); otherwise a batch runner that prints only the results and
//! exits 1 at the first failing query. See docs/console.md.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use console::cli::Args;
use console::conn::{ConnectOptions, Connection, QueryError, QueryResult};
use console::format::{self, CsvOptions, OutputFormat};
use console::split::{self, Splitter, MAX_QUERY_BYTES};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor};

const PROMPT: &str = "memgraph> ";
const CONTINUATION_PROMPT: &str = "       -> ";
const RECONNECT_ATTEMPTS: u32 = 3;
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);
const MAX_HISTORY: usize = 1000;

const HELP: &str = "\
In interactive mode the user can enter Cypher queries and supported commands.

Cypher queries can span through multiple lines and conclude with a
semi-colon (;). Each query is executed in the database and the results
are printed out.

The following interactive commands are supported:

\t:help\t Print out usage for interactive mode
\t:quit\t Exit the shell
\t:docs\t Show where the documentation is";

const DOCS: &str = "\
ferrograph-console: docs/console.md in the ferrograph repository
The Cypher ferrograph runs: docs/cypher.md
mgconsole, which this shell imitates: https://memgraph.com/docs/getting-started/cli";

struct Settings {
    format: OutputFormat,
    csv: CsvOptions,
    fit_to_screen: bool,
}

fn main() -> ExitCode {
    let args = match Args::from_args(std::env::args()) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let csv = match args.csv_options() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let interactive = io::stdin().is_terminal();
    let settings = Settings {
        format: args.output_format,
        csv,
        fit_to_screen: args.fit_to_screen,
    };
    let mut password = args.password.clone();
    if !args.username.is_empty() && password.is_empty() {
        match ask_password("Password: ") {
            Ok(p) => password = p,
            Err(e) => {
                echo_failure(
                    interactive,
                    "Password not submitted",
                    &format!("Requested password for username {} ({e})", args.username),
                );
                return ExitCode::from(1);
            }
        }
    }
    let opts = ConnectOptions {
        host: args.host.clone(),
        port: args.port,
        username: args.username.clone(),
        password,
        use_ssl: args.use_ssl,
        user_agent: format!("ferrograph-console/{}", env!("CARGO_PKG_VERSION")),
    };
    let conn = match Connection::connect(&opts) {
        Ok(c) => c,
        Err(e) => {
            echo_failure(interactive, "Connection failure", &e);
            return ExitCode::from(1);
        }
    };
    let code = if interactive {
        let history = (!args.no_history)
            .then(|| args.history_file(std::env::var("MGCONSOLE_HISTORY_PATH").ok(), home_dir()));
        run_interactive(conn, &opts, &settings, history)
    } else {
        run_piped(conn, &settings)
    };
    ExitCode::from(code)
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// mgconsole's failure line: red on stdout in a terminal, plain on stderr otherwise.
/// Asks for the password on the terminal with its echo already off when the prompt appears.
/// `rpassword::prompt_password` prints the prompt first and turns echo off after it, so keys
/// typed (or pasted) as soon as the prompt shows could be echoed in the clear.
fn ask_password(prompt: &str) -> io::Result<String> {
    #[cfg(unix)]
    if let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    {
        use std::os::fd::AsRawFd;
        let fd = tty.as_raw_fd();
        // SAFETY: a zeroed termios is a valid out-parameter; `fd` is open for the calls.
        let mut term: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(fd, &mut term) } == 0 {
            let saved = term;
            term.c_lflag &= !libc::ECHO;
            term.c_lflag |= libc::ECHONL;
            // SAFETY: as above, with a termios read from this terminal.
            unsafe { libc::tcsetattr(fd, libc::TCSANOW, &term) };
            let mut out = &tty;
            let asked = out.write_all(prompt.as_bytes()).and_then(|()| out.flush());
            let result = asked.and_then(|()| rpassword::read_password());
            // SAFETY: restores the settings read above.
            unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
            return result;
        }
    }
    rpassword::prompt_password(prompt)
}

fn echo_failure(interactive: bool, what: &str, explanation: &str) {
    if interactive {
        emit(&format!("\x1b[1;31m{what}: \x1b[0m{explanation}\n"));
    } else {
        eprintln!("{what}: {explanation}");
    }
}

/// Writes to stdout; a closed stdout (`| head`) ends the program quietly.
fn emit(text: &str) {
    let mut out = io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .is_err()
    {
        std::process::exit(1);
    }
}

fn screen_columns() -> usize {
    // SAFETY: TIOCGWINSZ writes a `winsize` into the struct we own; any error leaves it zeroed.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    if rc == -1 || ws.ws_col == 0 {
        80
    } else {
        usize::from(ws.ws_col)
    }
}

/// The result in the chosen format (nothing for no rows, as mgconsole). An `Err` is the
/// cypherl error, which ends the program.
fn render(result: &QueryResult, s: &Settings) -> Result<String, String> {
    if result.rows.is_empty() {
        return Ok(String::new());
    }
    Ok(match s.format {
        OutputFormat::Tabular => format::tabular(
            &result.header,
            &result.rows,
            s.fit_to_screen.then(screen_columns),
        ),
        OutputFormat::Csv => format::csv(&result.header, &result.rows, &s.csv),
        OutputFormat::Cypherl => format::cypherl(&result.header, &result.rows)?,
    })
}

// ------------------------------------------------------------------------------------------
// Piped mode

/// One line of at most MAX_QUERY_BYTES from `input`, without its `\n`; `Ok(None)` at the end.
fn read_line(input: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut bytes = Vec::new();
    let limit = MAX_QUERY_BYTES as u64 + 1;
    let n = input.by_ref().take(limit).read_until(b'\n', &mut bytes)?;
    if n == 0 {
        return Ok(None);
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    } else if bytes.len() > MAX_QUERY_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("an input line is longer than {MAX_QUERY_BYTES} bytes"),
        ));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the input is not UTF-8"))
}

fn run_piped(mut conn: Connection, s: &Settings) -> u8 {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut splitter = Splitter::new();
    loop {
        let line = match read_line(&mut input) {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(e) => {
                eprintln!("Reading the input failed: {e}");
                return 1;
            }
        };
        let mut next = match splitter.push_line(&line) {
            Ok(q) => q,
            Err(split::Error::TooLong) => {
                eprintln!(
                    "Reading the input failed: a query is longer than {MAX_QUERY_BYTES} bytes"
                );
                return 1;
            }
        };
        while let Some(query) = next {
            if !query.trim().is_empty() {
                if let Err(code) = run_piped_query(&mut conn, &query, s) {
                    return code;
                }
            }
            next = splitter.next_carried();
        }
    }
    let carry = splitter.take_carry();
    if !carry.is_empty() {
        let _ = splitter.push_line(&carry);
    }
    if let Some(rest) = splitter.finish() {
        eprintln!("Warning: the input ended inside a query (no ';'); it was not run: {rest}");
    }
    conn.close();
    0
}

fn run_piped_query(conn: &mut Connection, query: &str, s: &Settings) -> Result<(), u8> {
    match conn.run(query) {
        Ok(result) => match render(&result, s) {
            Ok(text) => {
                emit(&text);
                Ok(())
            }
            Err(e) => {
                eprintln!("ERROR: {e}");
                Err(1)
            }
        },
        Err(QueryError::Query(msg)) => {
            eprintln!("Failed query: {query}");
            eprintln!("Client received query exception: {msg}");
            Err(1)
        }
        Err(QueryError::Fatal(msg)) => {
            eprintln!("Client received connection exception: {msg}");
            Err(1)
        }
    }
}

// ------------------------------------------------------------------------------------------
// Interactive mode

enum Input {
    Query(String),
    /// A command was handled, or the line was dropped: read again.
    Nothing,
    Quit,
}

fn make_editor(history: Option<&Path>) -> Result<Editor<(), FileHistory>, String> {
    let config = Config::builder()
        .max_history_size(MAX_HISTORY)
        .map_err(|e| e.to_string())?
        .history_ignore_dups(true)
        .map_err(|e| e.to_string())?
        .auto_add_history(false)
        .build();
    let mut editor = Editor::with_config(config).map_err(|e| e.to_string())?;
    if let Some(path) = history {
        if path.exists() {
            if let Err(e) = editor.load_history(path) {
                echo_failure(
                    true,
                    "Unable to read history file",
                    &format!("{} ({e})", path.display()),
                );
            }
        }
    }
    Ok(editor)
}

/// The history file's directory is created if missing; if that fails the session goes on
/// without saving history (mgconsole exits instead).
fn prepare_history(path: Option<PathBuf>) -> Option<PathBuf> {
    let path = path?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            echo_failure(
                true,
                "History directory doesn't exist",
                &format!("{} ({e}); history will not be saved", dir.display()),
            );
            return None;
        }
    }
    Some(path)
}

fn read_query(editor: &mut Editor<(), FileHistory>, splitter: &mut Splitter) -> Input {
    if let Some(q) = splitter.next_carried() {
        return Input::Query(q);
    }
    loop {
        let first_line = !splitter.in_query();
        let prompt = if first_line {
            PROMPT
        } else {
            CONTINUATION_PROMPT
        };
        let carry = splitter.take_carry();
        let line = match editor.readline_with_initial(prompt, (&carry, "")) {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => {
                // Ctrl-C drops the query being typed.
                splitter.reset();
                return Input::Nothing;
            }
            Err(ReadlineError::Eof) => return Input::Quit,
            Err(e) => {
                echo_failure(true, "Reading the input failed", &e.to_string());
                return Input::Quit;
            }
        };
        if first_line && line.starts_with(':') {
            match line.trim() {
                ":quit" => return Input::Quit,
                ":help" => emit(&format!("{HELP}\n")),
                ":docs" => emit(&format!("{DOCS}\n")),
                other => {
                    echo_failure(true, "Unsupported command", other);
                    emit(&format!("{HELP}\n"));
                }
            }
            return Input::Nothing;
        }
        if !line.trim().is_empty() {
            let _ = editor.add_history_entry(line.as_str());
        }
        match splitter.push_line(&line) {
            Ok(Some(q)) => return Input::Query(q),
            Ok(None) => {}
            Err(split::Error::TooLong) => {
                echo_failure(
                    true,
                    "Query too long",
                    &format!("queries are limited to {MAX_QUERY_BYTES} bytes; it was dropped"),
                );
                return Input::Nothing;
            }
        }
    }
}

fn print_summary(result: &QueryResult) {
    let count = match result.rows.len() {
        0 => "Empty set".to_string(),
        1 => "1 row in set".to_string(),
        n => format!("{n} rows in set"),
    };
    emit(&format!(
        "{count} (round trip in {:.3} sec)\n",
        result.elapsed.as_secs_f64()
    ));
}

fn print_notification(result: &QueryResult) {
    if let Some((severity, title)) = &result.notification {
        if severity == "WARNING" {
            emit(&format!("\x1b[1;33m{severity}: \x1b[0m{title}\n"));
        } else {
            emit(&format!("{severity}: {title}\n"));
        }
    }
}

/// mgconsole's wording, in the order of the stats' names.
fn print_stats(result: &QueryResult) {
    let mut stats = result.stats.clone();
    stats.sort();
    for (key, value) in stats {
        if value == 0 {
            continue;
        }
        let what = match key.as_str() {
            "nodes-created" => "nodes have been created.",
            "nodes-deleted" => "nodes have been deleted.",
            "relationships-created" => "relationships have been created.",
            "relationships-deleted" => "relationships have been deleted.",
            "labels-added" => "labels have been created.",
            "labels-removed" => "labels have been deleted.",
            "properties-set" => "properties have been updated.",
            _ => continue,
        };
        emit(&format!("{value} {what}\n"));
    }
}

fn connected_line(opts: &ConnectOptions) -> String {
    format!("Connected to 'memgraph://{}:{}'\n", opts.host, opts.port)
}

fn run_interactive(
    conn: Connection,
    opts: &ConnectOptions,
    s: &Settings,
    history: Option<PathBuf>,
) -> u8 {
    let history = prepare_history(history);
    let mut editor = match make_editor(history.as_deref()) {
        Ok(e) => e,
        Err(e) => {
            echo_failure(true, "Cannot start the line editor", &e);
            return 1;
        }
    };
    let mut conn = Some(conn);
    emit(&format!(
        "ferrograph-console {}\n",
        env!("CARGO_PKG_VERSION")
    ));
    emit(&connected_line(opts));
    emit("Type :help for shell usage\n");
    emit("Quit the shell by typing Ctrl-D(eof) or :quit\n");
    let mut splitter = Splitter::new();
    loop {
        let query = match read_query(&mut editor, &mut splitter) {
            Input::Query(q) => q,
            Input::Nothing => continue,
            Input::Quit => break,
        };
        if query.trim().is_empty() {
            continue;
        }
        let Some(c) = conn.as_mut() else { break };
        match c.run(&query) {
            Ok(result) => {
                match render(&result, s) {
                    Ok(text) => emit(&text),
                    Err(e) => {
                        eprintln!("ERROR: {e}");
                        return 1;
                    }
                }
                print_summary(&result);
                if let Some(path) = &history {
                    if let Err(e) = editor.save_history(path) {
                        echo_failure(
                            true,
                            "Unable to save history to file",
                            &format!("{} ({e})", path.display()),
                        );
                    }
                }
                print_notification(&result);
                print_stats(&result);
            }
            Err(QueryError::Query(msg)) => {
                echo_failure(true, "Client received query exception", &msg);
            }
            Err(QueryError::Fatal(msg)) => {
                echo_failure(true, "Client received connection exception", &msg);
                emit("Trying to reconnect...\n");
                conn = reconnect(opts);
                match &conn {
                    Some(_) => emit(&connected_line(opts)),
                    None => {
                        echo_failure(
                            true,
                            "Couldn't connect to",
                            &format!("'memgraph://{}:{}'", opts.host, opts.port),
                        );
                        return 1;
                    }
                }
            }
        }
    }
    emit("Bye\n");
    if let Some(c) = conn {
        c.close();
    }
    0
}

fn reconnect(opts: &ConnectOptions) -> Option<Connection> {
    for attempt in 0..RECONNECT_ATTEMPTS {
        match Connection::connect(opts) {
            Ok(c) => return Some(c),
            Err(e) => echo_failure(true, "Connection failure", &e),
        }
        if attempt + 1 < RECONNECT_ATTEMPTS {
            thread::sleep(RECONNECT_PAUSE);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_bounded() {
        let mut input = io::Cursor::new(b"RETURN 1;\nlast".to_vec());
        assert_eq!(read_line(&mut input).unwrap().as_deref(), Some("RETURN 1;"));
        assert_eq!(read_line(&mut input).unwrap().as_deref(), Some("last"));
        assert_eq!(read_line(&mut input).unwrap(), None);
        let mut huge = io::Cursor::new(vec![b'x'; MAX_QUERY_BYTES + 10]);
        assert!(read_line(&mut huge).is_err());
        let mut bad = io::Cursor::new(vec![0xff, b'\n']);
        assert!(read_line(&mut bad).is_err());
    }
}
