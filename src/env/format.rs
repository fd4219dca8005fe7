//! Writing variables for shells, CI systems and Dockerfiles; naming the toolchain-file formats.

use std::fmt::{self, Write};
use std::str::FromStr;

use crate::shell;

/// An output format of `crossroot env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// `export KEY='value'`, for `eval "$(crossroot env …)"` in POSIX shells.
    #[default]
    Sh,
    /// `set -gx KEY 'value';`, for `crossroot env --format fish | source`.
    Fish,
    /// One JSON object, keys in order.
    Json,
    /// `KEY=value` lines (heredoc form for multi-line values) to append to `$GITHUB_ENV`.
    Github,
    /// `ENV KEY="value"` lines, for the default `\` escape character.
    Dockerfile,
    /// A CMake toolchain file (written from the sysroot, not from variables).
    Cmake,
    /// A meson cross file (written from the sysroot, not from variables).
    Meson,
    /// A `.cargo/config.toml` snippet (written from the sysroot, not from variables).
    Cargo,
}

impl Format {
    /// Every format, in the order help texts list them.
    pub const ALL: [Format; 8] = [
        Format::Sh,
        Format::Fish,
        Format::Json,
        Format::Github,
        Format::Dockerfile,
        Format::Cmake,
        Format::Meson,
        Format::Cargo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Sh => "sh",
            Format::Fish => "fish",
            Format::Json => "json",
            Format::Github => "github",
            Format::Dockerfile => "dockerfile",
            Format::Cmake => "cmake",
            Format::Meson => "meson",
            Format::Cargo => "cargo",
        }
    }

    /// A build system's configuration file rather than a list of variables.
    pub fn is_toolchain_file(self) -> bool {
        matches!(self, Format::Cmake | Format::Meson | Format::Cargo)
    }
}

/// A `--format` value that names no format.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown format `{given}`; expected one of: sh, fish, json, github, dockerfile, cmake, meson, cargo"
)]
pub struct UnknownFormat {
    pub given: String,
}

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|format| format.as_str() == s)
            .ok_or_else(|| UnknownFormat {
                given: s.to_string(),
            })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Writes `vars` in `format`, one variable per line (JSON: one member per line), in order.
///
/// Keys are expected to be environment variable names (`[A-Z_][A-Z0-9_]*`); values may hold
/// anything but NUL. The one thing a format cannot carry is a newline in a Dockerfile `ENV`
/// value: such a variable is replaced by a comment saying so, never written half-way.
///
/// # Panics
///
/// For a toolchain-file format ([`Format::is_toolchain_file`]): those are written from the
/// sysroot by [`crate::env::render_for`], not from variables.
pub fn render(vars: &[(String, String)], format: Format) -> String {
    let mut out = String::new();
    match format {
        Format::Cmake | Format::Meson | Format::Cargo => {
            panic!("{format} is a toolchain file; use env::render_for")
        }
        Format::Sh => {
            for (key, value) in vars {
                let _ = writeln!(out, "export {key}={}", shell::quote(value));
            }
        }
        Format::Fish => {
            for (key, value) in vars {
                let _ = writeln!(out, "set -gx {key} {};", fish_quote(value));
            }
        }
        Format::Json => render_json(vars, &mut out),
        Format::Github => {
            for (key, value) in vars {
                if value.contains('\n') {
                    let delimiter = heredoc_delimiter(key, value);
                    let _ = writeln!(out, "{key}<<{delimiter}\n{value}\n{delimiter}");
                } else {
                    let _ = writeln!(out, "{key}={value}");
                }
            }
        }
        Format::Dockerfile => {
            for (key, value) in vars {
                if value.contains(['\n', '\r']) {
                    // A raw newline would end the instruction; the rest would parse as new ones.
                    let _ = writeln!(
                        out,
                        "# crossroot: {key} left out: a Dockerfile ENV value cannot hold a line break"
                    );
                } else {
                    let _ = writeln!(out, "ENV {key}=\"{}\"", dockerfile_escape(value));
                }
            }
        }
    }
    out
}

/// fish single quotes know two escapes: `\\` and `\'`.
fn fish_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
}

/// Dockerfile double quotes: `\` escapes `"`, `$` and itself; other characters are literal.
fn dockerfile_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '"' | '$' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Written by hand: serde_json's map is key-sorted without the `preserve_order` feature.
fn render_json(vars: &[(String, String)], out: &mut String) {
    if vars.is_empty() {
        out.push_str("{}\n");
        return;
    }
    out.push_str("{\n");
    for (index, (key, value)) in vars.iter().enumerate() {
        let separator = if index + 1 == vars.len() { "" } else { "," };
        let _ = writeln!(
            out,
            "  {}: {}{separator}",
            json_string(key),
            json_string(value)
        );
    }
    out.push_str("}\n");
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serializes")
}

/// A delimiter for GitHub's `KEY<<DELIMITER` form that does not occur in the value.
///
/// Derived from the key, so output is stable (rewrite-on-change files stay unchanged);
/// the next candidate is taken while the value contains it.
fn heredoc_delimiter(key: &str, value: &str) -> String {
    (0u64..)
        .map(|attempt| heredoc_candidate(key, attempt))
        .find(|delimiter| !value.contains(delimiter.as_str()))
        .expect("a value cannot contain every candidate")
}

fn heredoc_candidate(key: &str, attempt: u64) -> String {
    // FNV-1a: a stable, dependency-free hash; collisions only cost another attempt.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes().chain(attempt.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("EOF_CROSSROOT_{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Values that break naive quoting in at least one format.
    const AWKWARD: &[&str] = &[
        "",
        "plain",
        "with spaces  and\ttabs",
        "it's",
        "''",
        "'\\''",
        "\"double\" quotes",
        "$HOME ${HOME} $(touch pwned) `touch pwned`",
        "back\\slash\\",
        "\\n is not a newline",
        "line one\nline two",
        "trailing newline\n",
        "\n\nleading newlines",
        "carriage\r\nreturn",
        "semi; colon & amp | pipe > redirect",
        "-dash",
        "#hash",
        "ünïcødé ✓",
        "EOF\nEOF_CROSSROOT_\n",
    ];

    fn awkward_vars() -> Vec<(String, String)> {
        AWKWARD
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("VAR_{i}"), v.to_string()))
            .collect()
    }

    #[test]
    fn format_names_round_trip() {
        for format in Format::ALL {
            assert_eq!(format.to_string().parse::<Format>().unwrap(), format);
        }
        assert_eq!("dockerfile".parse::<Format>().unwrap(), Format::Dockerfile);
        assert_eq!(Format::default(), Format::Sh);
        let err = "bash".parse::<Format>().unwrap_err();
        assert_eq!(err.given, "bash");
        assert_eq!(
            err.to_string(),
            "unknown format `bash`; expected one of: sh, fish, json, github, dockerfile, cmake, meson, cargo"
        );
        for format in Format::ALL {
            assert!(err.to_string().contains(format.as_str()), "{format}");
        }
        assert!("SH".parse::<Format>().is_err());
    }

    #[test]
    fn sh_quoting() {
        let vars = [("K".to_string(), "it's $x".to_string())];
        assert_eq!(render(&vars, Format::Sh), "export K='it'\\''s $x'\n");
    }

    /// Evaluates the rendered text in a real `sh` and reads each value back, exported.
    #[test]
    fn sh_eval_round_trips_awkward_values() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("env.sh");
        std::fs::write(&script, render(&awkward_vars(), Format::Sh)).unwrap();
        for (key, value) in awkward_vars() {
            // The inner sh proves the variable is exported, not just set.
            let output = Command::new("sh")
                .arg("-c")
                .arg(r#"eval "$(cat "$1")"; exec sh -c 'printf %s "$'"$2"'"'"#)
                .arg("sh")
                .arg(&script)
                .arg(&key)
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(output.status.success(), "{key}: {output:?}");
            assert_eq!(String::from_utf8(output.stdout).unwrap(), value, "{key}");
        }
        assert!(!dir.path().join("pwned").exists());
    }

    #[test]
    fn fish_quoting() {
        let vars = [
            ("A".to_string(), r"it's a \ backslash".to_string()),
            ("B".to_string(), "two\nlines $x".to_string()),
            ("C".to_string(), r"\'".to_string()),
        ];
        assert_eq!(
            render(&vars, Format::Fish),
            "set -gx A 'it\\'s a \\\\ backslash';\n\
             set -gx B 'two\nlines $x';\n\
             set -gx C '\\\\\\'';\n"
        );
    }

    #[test]
    fn json_round_trips_in_order() {
        let vars = awkward_vars();
        let json = render(&vars, Format::Json);
        let keys: Vec<&str> = json
            .lines()
            .filter_map(|line| line.trim_start().strip_prefix('"'))
            .map(|rest| rest.split('"').next().unwrap())
            .collect();
        let expected_keys: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, expected_keys);
        let parsed: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&json).unwrap();
        for (key, value) in &vars {
            assert_eq!(parsed[key], value.as_str(), "{key}");
        }
        assert_eq!(render(&[], Format::Json), "{}\n");
        let one = [("K".to_string(), "a\"b\\c\n".to_string())];
        assert_eq!(
            render(&one, Format::Json),
            "{\n  \"K\": \"a\\\"b\\\\c\\n\"\n}\n"
        );
    }

    /// Reads a `$GITHUB_ENV` file the way the Actions runner does on Linux
    /// (`SetEnvFileCommand`: split on `\n`, `NAME=VALUE` or `NAME<<DELIMITER`).
    fn parse_github_env(text: &str) -> Vec<(String, String)> {
        let mut vars = Vec::new();
        let mut lines = text.split_inclusive('\n');
        while let Some(line) = lines.next() {
            let line = line.strip_suffix('\n').unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let equals = line.find('=');
            let heredoc = line.find("<<");
            match (equals, heredoc) {
                (Some(e), h) if h.is_none_or(|h| e < h) => {
                    vars.push((line[..e].to_string(), line[e + 1..].to_string()));
                }
                (_, Some(h)) => {
                    let (name, delimiter) = (&line[..h], &line[h + 2..]);
                    let mut value = String::new();
                    loop {
                        let next = lines.next().expect("matching delimiter");
                        let body = next.strip_suffix('\n').unwrap_or(next);
                        if body == delimiter {
                            break;
                        }
                        value.push_str(next);
                    }
                    let value = value.strip_suffix('\n').unwrap_or(&value).to_string();
                    vars.push((name.to_string(), value));
                }
                _ => panic!("invalid line {line:?}"),
            }
        }
        vars
    }

    #[test]
    fn github_round_trips_awkward_values() {
        let vars = awkward_vars();
        let text = render(&vars, Format::Github);
        assert_eq!(parse_github_env(&text), vars);
    }

    #[test]
    fn github_multiline_uses_heredoc() {
        let vars = [("K".to_string(), "a\nb".to_string())];
        let delimiter = heredoc_candidate("K", 0);
        assert_eq!(
            render(&vars, Format::Github),
            format!("K<<{delimiter}\na\nb\n{delimiter}\n")
        );
        assert!(delimiter.starts_with("EOF_CROSSROOT_"));
    }

    #[test]
    fn github_delimiter_avoids_the_value() {
        let first = heredoc_candidate("K", 0);
        let value = format!("x\n{first}\ny");
        let delimiter = heredoc_delimiter("K", &value);
        assert_eq!(delimiter, heredoc_candidate("K", 1));
        assert_ne!(delimiter, first);
        let vars = [("K".to_string(), value)];
        assert_eq!(parse_github_env(&render(&vars, Format::Github)), vars);
    }

    #[test]
    fn dockerfile_escaping() {
        let vars = [
            ("A".to_string(), r#"say "hi" to $USER \ ${X}"#.to_string()),
            ("B".to_string(), "it's # not a comment".to_string()),
            ("C".to_string(), "two\nlines".to_string()),
            ("D".to_string(), "cr\r".to_string()),
            ("E".to_string(), String::new()),
        ];
        assert_eq!(
            render(&vars, Format::Dockerfile),
            r#"ENV A="say \"hi\" to \$USER \\ \${X}"
ENV B="it's # not a comment"
# crossroot: C left out: a Dockerfile ENV value cannot hold a line break
# crossroot: D left out: a Dockerfile ENV value cannot hold a line break
ENV E=""
"#
        );
    }
}
