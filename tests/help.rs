//! What crossroot says about itself: `--help` of every subcommand (snapshots: a change to a
//! flag or its text shows up in review), `--version`, shell completions that a real bash
//! loads, and a manual page that groff renders.

use std::process::{Command, Output};

fn crossroot(args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crossroot"));
    c.args(args);
    // Help shows `[env: NAME=value]` for variables that are set: none may leak in.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("CROSSROOT_") {
            c.env_remove(k);
        }
    }
    c.env("COLUMNS", "100").output().expect("crossroot runs")
}

fn text(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Every subcommand path, from the command tree itself, so a new one is snapshotted too.
fn subcommands() -> Vec<Vec<String>> {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            path.push(sub.get_name().to_string());
            out.push(path.clone());
            walk(sub, path, out);
            path.pop();
        }
    }
    let mut out = vec![vec![]];
    walk(&crossroot::cli::Cli::command(), &mut vec![], &mut out);
    out
}

#[test]
fn help_of_every_subcommand() {
    for path in subcommands() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let name = if path.is_empty() {
            "crossroot".to_string()
        } else {
            format!("crossroot-{}", path.join("-"))
        };
        insta::assert_snapshot!(name, text(&crossroot(&args)));
    }
}

#[test]
fn version_names_the_commit_and_the_zig() {
    let long = text(&crossroot(&["--version"]));
    let mut lines = long.lines();
    let first = lines.next().unwrap();
    let rest = first
        .strip_prefix(&format!("crossroot {} (", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{long}"));
    let (commit, date) = rest.trim_end_matches(')').split_once(' ').unwrap();
    assert!(
        commit == "unknown" || (commit.len() == 9 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{long}"
    );
    assert!(
        date == "unknown" || (date.len() == 10 && date.as_bytes()[4] == b'-'),
        "{long}"
    );
    let zig = lines.next().unwrap();
    assert!(
        zig.starts_with("zig >=") && zig.contains("when none is installed"),
        "{long}"
    );
    // -V stays one line, for scripts.
    let short = text(&crossroot(&["-V"]));
    assert_eq!(short, format!("crossroot {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn bash_loads_the_completions_and_completes_subcommands() {
    let script = format!(
        "source <('{}' completions bash) && complete -p crossroot && \
         COMP_WORDS=(crossroot ca) COMP_CWORD=1 COMP_LINE='crossroot ca' COMP_POINT=12 && \
         _crossroot crossroot ca crossroot && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        env!("CARGO_BIN_EXE_crossroot")
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("-F _crossroot crossroot"), "{stdout}");
    assert!(stdout.lines().any(|l| l == "cache"), "{stdout}");
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let script = text(&crossroot(&["completions", shell]));
        assert!(
            script.contains("build") && script.contains("target"),
            "{shell}"
        );
    }
    let out = crossroot(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_manual_page_renders() {
    let page = text(&crossroot(&["man"]));
    assert!(page.contains(".TH crossroot 1"), "{page}");
    for sub in ["build", "env", "verify", "cache", "completions"] {
        assert!(
            page.contains(&format!("crossroot\\-{sub}")) || page.contains(sub),
            "{sub}"
        );
    }
    // groff (Debian's groff-base, which man-db needs) renders it without warnings, with
    // preconv for the UTF-8 text (`-k`, as man runs it).
    if let Ok(out) = Command::new("groff")
        .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(page.as_bytes())?;
            child.wait_with_output()
        })
    {
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
