//! Shell words: the one quoting function for every script, command line and environment file
//! crossroot writes, and the rule for the paths that build tools carry unquoted.
//!
//! Build tools cannot quote: `make` pastes `$(CC)` and `$(PREFIX)` into shell lines, configure
//! scripts `eval` their compile commands, pkg-config output is split on spaces, and `PATH`-like
//! variables split on `:`. So the paths that end up there (the home, `--prefix`) are checked
//! with [`check_path`] before anything runs, and what crossroot writes itself is quoted with
//! [`quote`].

use std::borrow::Cow;
use std::path::Path;

/// What [`check_path`] accepts besides ASCII letters and digits.
pub const PATH_PUNCTUATION: &str = "/._-+@~";

/// Why a path cannot be carried by the build tools.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafePath {
    #[error("is not valid UTF-8")]
    NotUtf8,
    #[error("contains {what} (at byte {at})")]
    Char { what: String, at: usize },
}

/// Checks that `path` holds only ASCII letters, digits and [`PATH_PUNCTUATION`].
///
/// Everything else breaks a tool that pastes the path unquoted: whitespace, quotes, `\`, `$`,
/// `;`, `&`, `|`, `(`, backtick and `#` in shell lines and Makefiles (a home with `;touch X;`
/// ran `touch X`), `:` and `,` in search paths and `-Wl,` lists, and any non-ASCII byte, which
/// pkgconf prints with a backslash before it (for `/hé`: `/h`, `\`, 0xc3, `\`, 0xa9), so a
/// configure script or Makefile that splits its output keeps the backslashes and finds no headers.
pub fn check_path(path: &Path) -> Result<(), UnsafePath> {
    let text = path.to_str().ok_or(UnsafePath::NotUtf8)?;
    match text
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || PATH_PUNCTUATION.contains(c)))
    {
        None => Ok(()),
        Some((at, c)) => Err(UnsafePath::Char {
            what: describe(c),
            at,
        }),
    }
}

fn describe(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        '\t' => "a tab".into(),
        '\n' => "a newline".into(),
        '\r' => "a carriage return".into(),
        '`' => "a backtick".into(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c if c.is_whitespace() => format!("the space character U+{:04X}", c as u32),
        c if !c.is_ascii() => format!("the non-ASCII character `{c}` (U+{:04X})", c as u32),
        c => format!("`{c}`"),
    }
}

/// The rule of [`check_path`] in words, for messages.
pub fn path_rule() -> String {
    let marks: Vec<String> = PATH_PUNCTUATION.chars().map(String::from).collect();
    format!("ASCII letters, digits and {}", marks.join(" "))
}

/// `s` as one POSIX shell word: single quotes take everything literally; a quote inside is
/// closed, escaped and reopened.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `s` as one shell word, quoted only when it needs it: for command lines a person reads.
pub fn word(s: &str) -> Cow<'_, str> {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./:+,@%".contains(c))
    {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(quote(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// What `sh` makes of `text`: each word it sees, one per line.
    fn words(text: &str) -> Vec<String> {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("for w in {text}; do printf '%s\\n' \"$w\"; done"))
            .output()
            .unwrap();
        assert!(out.status.success(), "sh refused: {text}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    #[test]
    fn quoted_words_reach_the_shell_unchanged() {
        for s in [
            "plain",
            "a b",
            "it's",
            "''",
            "$(touch x)",
            "`id`",
            "a;b&c|d",
            "\\n\\",
            "$HOME",
            "*",
            "héllo",
            "-n",
            "",
        ] {
            assert_eq!(words(&quote(s)), vec![s.to_string()], "{s}");
            assert_eq!(words(&word(s)), vec![s.to_string()], "{s}");
        }
        // Two quoted words stay two.
        assert_eq!(
            words(&format!("{} {}", quote("a b"), quote("c"))),
            ["a b", "c"]
        );
    }

    #[test]
    fn word_leaves_plain_words_bare() {
        assert_eq!(word("--prefix=/opt/x-1.2"), "--prefix=/opt/x-1.2");
        assert_eq!(word("a b"), "'a b'");
        assert_eq!(word(""), "''");
    }

    #[test]
    fn paths_the_tools_can_carry_and_those_they_cannot() {
        for ok in [
            "/var/cache/crossroot",
            "/home/first.last/.cache/crossroot",
            "/tmp/.tmpAbC123/home",
            "/srv/ci+cache/user@host/~old/x_y-z",
            "relative/dir",
        ] {
            assert_eq!(check_path(Path::new(ok)), Ok(()), "{ok}");
        }
        for (bad, what, at) in [
            ("/tmp/my home", "a space", 7),
            ("/tmp/a\tb", "a tab", 6),
            ("/tmp/a\nb", "a newline", 6),
            ("/tmp/h;touch X;", "`;`", 6),
            ("/tmp/it's", "`'`", 7),
            ("/tmp/\"q\"", "`\"`", 5),
            ("/tmp/$HOME", "`$`", 5),
            ("/tmp/`id`", "a backtick", 5),
            ("/tmp/a\\b", "`\\`", 6),
            ("/tmp/a:b", "`:`", 6),
            ("/tmp/a,b", "`,`", 6),
            ("/tmp/a(b", "`(`", 6),
            ("/tmp/a#b", "`#`", 6),
            ("/tmp/a*b", "`*`", 6),
            ("/tmp/a%b", "`%`", 6),
            ("/tmp/a=b", "`=`", 6),
            ("/tmp/hé", "the non-ASCII character `é` (U+00E9)", 6),
            ("/tmp/a\u{a0}b", "the space character U+00A0", 6),
            ("/tmp/a\u{7}b", "the control character U+0007", 6),
        ] {
            assert_eq!(
                check_path(Path::new(bad)),
                Err(UnsafePath::Char {
                    what: what.to_string(),
                    at
                }),
                "{bad:?}"
            );
        }
        use std::os::unix::ffi::OsStrExt;
        let not_utf8 = std::ffi::OsStr::from_bytes(b"/tmp/\xff");
        assert_eq!(check_path(Path::new(not_utf8)), Err(UnsafePath::NotUtf8));
        assert_eq!(path_rule(), "ASCII letters, digits and / . _ - + @ ~");
    }

    /// The reason non-ASCII paths are refused: pkgconf escapes their bytes in what it prints,
    /// and a configure script or Makefile that splits its output keeps the backslashes.
    #[test]
    fn pkgconf_escapes_non_ascii_bytes_of_a_prefix() {
        let tmp = tempfile::tempdir().unwrap();
        let pc = tmp.path().join("hé/lib/pkgconfig");
        std::fs::create_dir_all(&pc).unwrap();
        std::fs::write(
            pc.join("demo.pc"),
            "prefix=${pcfiledir}/../..\nName: demo\nDescription: d\nVersion: 1\nCflags: -I${prefix}/include\n",
        )
        .unwrap();
        let out = Command::new("pkg-config")
            .args(["--cflags", "demo"])
            .env("PKG_CONFIG_LIBDIR", &pc)
            .output()
            .expect("pkg-config runs (apt-get install pkgconf)");
        assert!(out.status.success());
        let printed = out.stdout;
        let plain = format!("-I{}/include", pc.join("../..").display()).into_bytes();
        assert!(
            !printed.windows(plain.len()).any(|w| w == plain),
            "pkg-config now prints non-ASCII paths as they are: {}; check_path could accept them",
            String::from_utf8_lossy(&printed)
        );
        assert!(printed.windows(2).any(|w| w == b"h\\"));
    }
}
