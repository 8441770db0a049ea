//! Command-line flags, with mgconsole's names, defaults and spelling rules (gflags style:
//! `--flag=value`, `--flag value`, `--flag` for a true boolean, `--flag=false`, and underscores
//! in place of dashes: `--use_ssl`, `--output_format=csv`).

use std::path::PathBuf;

use clap::{ArgAction, Parser};

use crate::format::{CsvOptions, OutputFormat};

#[derive(Debug, Parser)]
#[command(
    name = "ferrograph-console",
    version,
    about = "ferrograph-console: a Cypher shell for ferrograph (and any Bolt server), \
             compatible with Memgraph's mgconsole",
    after_help = "Interactive when standard input is a terminal; otherwise it runs the \
                  ';'-terminated queries read from standard input and exits 1 at the first \
                  that fails."
)]
pub struct Args {
    /// Server address (a DNS name or an IP address).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// Server port.
    #[arg(long, default_value_t = 7687)]
    pub port: u16,

    /// Username; given without --password, the password is asked for (not echoed).
    #[arg(long, default_value = "")]
    pub username: String,

    /// Password.
    #[arg(long, default_value = "")]
    pub password: String,

    /// Encrypt the connection with TLS. The server's certificate is NOT verified (as
    /// mgconsole's --use-ssl / mgclient's MG_SSLMODE_REQUIRE).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
          default_value_t = false)]
    pub use_ssl: bool,

    /// Output format: tabular, csv or cypherl.
    #[arg(long, value_enum, ignore_case = true, default_value = "tabular")]
    pub output_format: OutputFormat,

    /// Shrink tables to the terminal's width (tabular only).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
          default_value_t = false)]
    pub fit_to_screen: bool,

    /// CSV field delimiter (one character).
    #[arg(long, default_value = ",")]
    pub csv_delimiter: String,

    /// CSV escape character (one character); required when --csv-doublequote=false.
    #[arg(long, default_value = "")]
    pub csv_escapechar: String,

    /// In CSV, write a `"` inside a field as `""` (false: as the escape character and `"`).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
          default_value_t = true)]
    pub csv_doublequote: bool,

    /// Directory of the history file `client_history` (MGCONSOLE_HISTORY_PATH, when set, is
    /// the history file itself).
    #[arg(long, default_value = "~/.memgraph")]
    pub history: String,

    /// Do not save the history of queries.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
          default_value_t = false)]
    pub no_history: bool,
}

impl Args {
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Args, clap::Error> {
        Args::try_parse_from(flags::normalize_args(args))
    }

    /// The CSV options, checked as mgconsole checks them.
    pub fn csv_options(&self) -> Result<CsvOptions, String> {
        let mut delimiter = self.csv_delimiter.chars();
        let (Some(delimiter), None) = (delimiter.next(), delimiter.next()) else {
            return Err("--csv-delimiter must be exactly one character".into());
        };
        let mut escape = self.csv_escapechar.chars();
        let escapechar = match (escape.next(), escape.next()) {
            (None, _) => None,
            (Some(c), None) => Some(c),
            _ => return Err("--csv-escapechar must be one character".into()),
        };
        if !self.csv_doublequote && escapechar.is_none() {
            return Err("--csv-escapechar is required when --csv-doublequote=false".into());
        }
        Ok(CsvOptions {
            delimiter,
            escapechar,
            doublequote: self.csv_doublequote,
        })
    }

    /// The history file: `$MGCONSOLE_HISTORY_PATH`, else `<--history>/client_history` with a
    /// leading `~` read as the home directory.
    pub fn history_file(&self, env_path: Option<String>, home: Option<PathBuf>) -> PathBuf {
        if let Some(p) = env_path.filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        let dir = match (self.history.strip_prefix('~'), home) {
            (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
                home.join(rest.trim_start_matches('/'))
            }
            _ => PathBuf::from(&self.history),
        };
        dir.join("client_history")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        let mut v = vec!["ferrograph-console".to_string()];
        v.extend(args.iter().map(|s| s.to_string()));
        Args::from_args(v)
    }

    #[test]
    fn defaults_are_mgconsoles() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.host, "127.0.0.1");
        assert_eq!(a.port, 7687);
        assert_eq!(a.username, "");
        assert_eq!(a.password, "");
        assert!(!a.use_ssl);
        assert_eq!(a.output_format, OutputFormat::Tabular);
        assert!(!a.fit_to_screen);
        assert_eq!(a.csv_options().unwrap(), CsvOptions::default());
        assert_eq!(a.history, "~/.memgraph");
        assert!(!a.no_history);
    }

    #[test]
    fn gflags_spellings() {
        let a = parse(&[
            "--use_ssl",
            "--output_format=csv",
            "--port",
            "7688",
            "--fit-to-screen=true",
            "--no_history=false",
            "--csv_delimiter=;",
        ])
        .unwrap();
        assert!(a.use_ssl);
        assert_eq!(a.output_format, OutputFormat::Csv);
        assert_eq!(a.port, 7688);
        assert!(a.fit_to_screen);
        assert!(!a.no_history);
        assert_eq!(a.csv_options().unwrap().delimiter, ';');
        let a = parse(&["--use-ssl=false", "--output-format", "CYPHERL"]).unwrap();
        assert!(!a.use_ssl);
        assert_eq!(a.output_format, OutputFormat::Cypherl);
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(parse(&["--output-format=json"]).is_err());
        assert!(parse(&["--port=70000"]).is_err());
        assert!(parse(&["--no-such-flag"]).is_err());
        assert!(parse(&["--use-ssl=maybe"]).is_err());
        let a = parse(&["--csv-delimiter=ab"]).unwrap();
        assert!(a.csv_options().is_err());
        let a = parse(&["--csv-doublequote=false"]).unwrap();
        assert!(a.csv_options().is_err());
        let a = parse(&["--csv-doublequote=false", "--csv-escapechar=\\"]).unwrap();
        assert_eq!(a.csv_options().unwrap().escapechar, Some('\\'));
    }

    #[test]
    fn history_location() {
        let a = parse(&[]).unwrap();
        let home = Some(PathBuf::from("/home/ann"));
        assert_eq!(
            a.history_file(None, home.clone()),
            PathBuf::from("/home/ann/.memgraph/client_history")
        );
        assert_eq!(
            a.history_file(Some("/tmp/h".into()), home.clone()),
            PathBuf::from("/tmp/h")
        );
        let a = parse(&["--history=/srv/hist"]).unwrap();
        assert_eq!(
            a.history_file(Some(String::new()), home),
            PathBuf::from("/srv/hist/client_history")
        );
    }
}
