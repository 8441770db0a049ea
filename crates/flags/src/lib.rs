//! Memgraph's tools spell their flags with underscores (`--bolt_port`, `--use_ssl`) and
//! ferrograph's with dashes (`--bolt-port`); both spellings must work for the server and the
//! console alike. clap matches exact names, so the arguments are rewritten before clap sees
//! them: [`normalize_args`] turns `--some_flag[=value]` into `--some-flag[=value]`.

/// Rewrites `--some_flag[=v]` to `--some-flag[=v]`. Values (after `=`), arguments that are not
/// long flags, and the bare `--` separator are kept as they are.
pub fn normalize_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .map(|a| match a.strip_prefix("--") {
            Some(rest) if !rest.is_empty() => {
                let (name, value) = match rest.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (rest, None),
                };
                let name = name.replace('_', "-");
                match value {
                    Some(v) => format!("--{name}={v}"),
                    None => format!("--{name}"),
                }
            }
            _ => a,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        normalize_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn underscores_in_flag_names_become_dashes_and_values_are_kept() {
        assert_eq!(
            norm(&[
                "prog",
                "--bolt_port=7688",
                "--use_ssl",
                "--data-directory=/a_b"
            ]),
            [
                "prog",
                "--bolt-port=7688",
                "--use-ssl",
                "--data-directory=/a_b"
            ]
        );
    }

    #[test]
    fn other_arguments_are_left_alone() {
        assert_eq!(
            norm(&["prog", "-p", "x_y", "--", "plain_word"]),
            ["prog", "-p", "x_y", "--", "plain_word"]
        );
        assert_eq!(norm(&["--flag=a=b_c"]), ["--flag=a=b_c"]);
    }
}
