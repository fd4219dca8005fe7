//! The cache commands against running builds, and the small promises every Unix tool keeps:
//! `cache prune` in a loop during a two-target build, `cache list` and `cache prune` with the
//! staging a killed build left, output into a closed pipe, and `exec`'s exit codes. Each runs
//! the real binary on the tiny `make` recipe of `tests/common`, served from 127.0.0.1.

mod common;

use std::collections::BTreeMap;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const ARM64: &str = "aarch64-linux-musl";
const RISCV: &str = "riscv64-linux-musl";

/// The `demo` recipe of `tests/common` with `before` run first in its `make` step (`@MARKS@`
/// in it names the directory `marks()`), served from 127.0.0.1, and a home of its own.
struct Fixture {
    tmp: tempfile::TempDir,
    recipes: PathBuf,
    server: common::Server,
    home: PathBuf,
}

fn fixture(before: &str) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let recipes = tmp.path().join("recipes");
    std::fs::create_dir(&recipes).unwrap();
    let marks = tmp.path().join("marks");
    std::fs::create_dir(&marks).unwrap();
    let before = before.replace("@MARKS@", &marks.display().to_string());
    let makefile = common::MAKEFILE.replacen("all:\n", &format!("all:\n{before}"), 1);
    let tarball = common::tarball("demo-1.0.0", &[("Makefile", &makefile, 0o644)]);
    let sha = hex::encode(Sha256::digest(&tarball));
    std::fs::write(
        recipes.join("demo.toml"),
        format!(
            "[package]\nname = \"demo\"\nversion = \"1.0.0\"\nlicense = \"MIT\"\n\n[[source]]\nfile = \"demo-1.0.0.tar.gz\"\nsha256 = \"{sha}\"\nurls = [\"https://demo.invalid/demo-1.0.0.tar.gz\"]\n\n[build]\nsystem = \"make\"\ninstall-steps = [[\"install\", \"PREFIX={{prefix}}\"]]\n\n[install]\nlibs = [\"libdemo.a\"]\npkg-config = [\"demo\"]\n"
        ),
    )
    .unwrap();
    let server = common::serve(BTreeMap::from([("demo-1.0.0.tar.gz".to_string(), tarball)]));
    let home = tmp.path().join("home");
    Fixture {
        tmp,
        recipes,
        server,
        home,
    }
}

impl Fixture {
    fn marks(&self) -> PathBuf {
        self.tmp.path().join("marks")
    }

    fn cmd(&self, home: &Path) -> Command {
        common::crossroot(&self.recipes, &self.server.base, home)
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.cmd(&self.home).args(args).output().unwrap();
        common::show(args, &out);
        out
    }

    /// crossroot in a process group of its own, output kept for `wait_with_output`.
    fn spawn(&self, home: &Path, args: &[&str]) -> Child {
        self.cmd(home)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap()
    }
}

/// Ends what is left of a run's process group (a build step's `sleep`).
struct Group(u32);
impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0)])
            .stderr(Stdio::null())
            .status();
    }
}

fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

/// `cache prune` run over and over while `crossroot build` of two targets runs: each target's
/// package sleeps in its `make` step, so the first one lies finished but not yet assembled for
/// a second or more. Prune must leave it (and the second, being built) alone; the build must
/// succeed, every round, with a fresh home. Before the fix prune removed the finished package
/// and the build failed with "package demo for aarch64-linux-musl is not in the store".
#[test]
fn prune_in_a_loop_during_a_two_target_build_never_breaks_it() {
    let f = fixture("\tsleep 1\n");
    let mut kept_busy = 0;
    for round in 0..3 {
        let home = f.tmp.path().join(format!("home-{round}"));
        let build = f.spawn(
            &home,
            &[
                "-j", "1", "build", "--target", ARM64, "--target", RISCV, "demo",
            ],
        );
        let group = Group(build.id());
        let mut build = Some(build);
        let mut prunes = 0;
        let output = loop {
            if let Some(status) = build.as_mut().unwrap().try_wait().unwrap() {
                let mut out = build.take().unwrap().wait_with_output().unwrap();
                out.status = status;
                break out;
            }
            let prune = f.cmd(&home).args(["cache", "prune"]).output().unwrap();
            prunes += 1;
            let text = common::stdout(&prune);
            assert!(
                prune.status.success(),
                "round {round}: cache prune failed: {}",
                common::stderr(&prune)
            );
            assert!(
                !text.contains("removed package"),
                "round {round}: prune removed a package the build needs:\n{text}"
            );
            kept_busy += text.matches("kept package").count();
        };
        drop(group);
        common::show(&["build (round)"], &output);
        assert!(
            output.status.success(),
            "round {round}, after {prunes} prunes: the build failed:\n{}",
            common::stderr(&output)
        );
        for t in [ARM64, RISCV] {
            let lib = home.join(format!("sysroots-v1/{t}/current/lib/libdemo.a"));
            assert!(lib.is_file(), "round {round}: {} is missing", lib.display());
        }
        // Once the build is over nothing holds the packages, but the current sysroots use them.
        let prune = f.cmd(&home).args(["cache", "prune"]).output().unwrap();
        common::show(&["cache", "prune"], &prune);
        assert!(prune.status.success());
        assert!(!common::stdout(&prune).contains("removed package"));
    }
    // The loop did run into held packages (else it proved nothing).
    assert!(
        kept_busy > 0,
        "no prune met a package the build held: the test window is too small"
    );
}

fn sizes_and_paths(text: &str, needle: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// A build killed with SIGKILL in its `make` step leaves its staging (source, build tree,
/// prefix). `cache list` names it with its size while the build runs ("in use") and after the
/// kill ("left by a killed run"), beside an import's staging; `cache prune` leaves the live
/// one and removes the dead one, naming it and its size. Before the fix `cache list` showed
/// no staging at all and prune skipped every name starting with a dot.
#[test]
fn cache_list_shows_leftovers_and_prune_sweeps_the_stale_ones() {
    let f = fixture("\ttouch @MARKS@/started\n\tsleep 60\n");
    let child = f.spawn(&f.home, &["build", "--target", ARM64, "demo"]);
    let group = Group(child.id());
    let started = f.marks().join("started");
    if !wait_for(Duration::from_secs(60), || started.exists()) {
        let out = child.wait_with_output().unwrap();
        common::show(&["build"], &out);
        panic!("the build step never started");
    }
    let packages = f.home.join("packages-v1");
    let staging: Vec<PathBuf> = std::fs::read_dir(&packages)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".tmp-")
        })
        .collect();
    assert_eq!(staging.len(), 1, "{staging:?}");
    let staging = &staging[0];
    // What a `cache import` killed while it unpacked leaves.
    let import = f.home.join(".import-Xq3v9k");
    std::fs::create_dir_all(import.join("packages")).unwrap();
    std::fs::write(import.join("packages/blob"), vec![7u8; 300_000]).unwrap();

    let out = f.run(&["cache", "list"]);
    assert!(out.status.success());
    let text = common::stdout(&out);
    let line = sizes_and_paths(&text, &staging.display().to_string());
    assert_eq!(
        line.len(),
        1,
        "cache list does not show the build's staging:\n{text}"
    );
    assert!(line[0].contains("in use"), "{}", line[0]);
    let line = sizes_and_paths(&text, &import.display().to_string());
    assert_eq!(
        line.len(),
        1,
        "cache list does not show the import staging:\n{text}"
    );
    assert!(line[0].contains("300.0 kB"), "{}", line[0]);
    assert!(text.contains("swept by the next run"), "{text}");

    // Prune leaves the live build alone.
    let out = f.run(&["cache", "prune"]);
    assert!(out.status.success());
    assert!(staging.is_dir(), "prune removed a running build's staging");
    assert!(
        common::stdout(&out).contains("kept"),
        "prune does not say what it kept"
    );

    let mut child = child;
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.signal(), Some(9), "{}", common::stderr(&out));
    drop(group);
    assert!(staging.is_dir(), "the killed run left no staging to sweep");
    let size = common::walk(staging)
        .iter()
        .map(|p| std::fs::symlink_metadata(p).unwrap().len())
        .sum::<u64>();
    assert!(size > 0);

    let out = f.run(&["cache", "list"]);
    let text = common::stdout(&out);
    let line = sizes_and_paths(&text, &staging.display().to_string());
    assert_eq!(line.len(), 1, "{text}");
    assert!(line[0].contains("killed run"), "{}", line[0]);

    let out = f.run(&["cache", "prune"]);
    assert!(out.status.success());
    let text = common::stdout(&out);
    assert!(!staging.exists(), "prune left the killed run's staging");
    let line = sizes_and_paths(&text, &staging.display().to_string());
    assert_eq!(
        line.len(),
        1,
        "prune does not name what it removed:\n{text}"
    );
    assert!(line[0].starts_with("removed "), "{}", line[0]);
    assert!(
        line[0].contains(" MB") || line[0].contains(" kB"),
        "{}",
        line[0]
    );
    let out = f.run(&["cache", "list"]);
    assert!(!common::stdout(&out).contains(&staging.display().to_string()));
}

/// Output into a pipe nobody reads (`crossroot list | true`, with the reader gone before
/// crossroot writes) ends quietly: status 0 or death by SIGPIPE, as `ls`, `cat` and `grep` do,
/// never a panic (exit 101 and "failed printing to stdout: Broken pipe" before the fix).
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let f = fixture("");
    let out = f.run(&["build", "--target", ARM64, "demo"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    for args in [
        &["list"][..],
        &["targets"],
        &["env", "--target", ARM64],
        &["cache", "list"],
        &["cache", "dir"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = f
            .cmd(&f.home)
            .args(args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = common::stderr(&out);
        assert!(
            out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
            "crossroot {}: {} {err}",
            args.join(" "),
            out.status
        );
        assert!(
            !err.contains("panicked"),
            "crossroot {}: {err}",
            args.join(" ")
        );
    }

    // `| head -1` as a user types it, with pipefail: the first line and 0 or 141.
    let script = format!(
        "set -o pipefail; '{}' --recipes '{}' list | head -1",
        env!("CARGO_BIN_EXE_crossroot"),
        f.recipes.display()
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .env("CROSSROOT_HOME", &f.home)
        .output()
        .unwrap();
    assert_eq!(common::stdout(&out), "Packages:\n");
    assert!(
        matches!(out.status.code(), Some(0 | 141)),
        "{} {}",
        out.status,
        common::stderr(&out)
    );
    assert!(!common::stderr(&out).contains("panicked"));
}

/// `exec` ends as a shell would: the command's own code, 127 when it does not exist, 126 when
/// it cannot be run, 128+N when signal N killed it (before the fix: 1, 1 and 128).
#[test]
fn exec_exit_codes_follow_the_shell() {
    let f = fixture("");
    let out = f.run(&["build", "--target", ARM64, "demo"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let exec = |command: &[&str]| {
        let mut args = vec!["exec", "--target", ARM64, "--"];
        args.extend_from_slice(command);
        f.run(&args)
    };

    assert_eq!(exec(&["sh", "-c", "exit 7"]).status.code(), Some(7));

    let out = exec(&["crossroot-no-such-command"]);
    assert_eq!(out.status.code(), Some(127));
    let err = common::stderr(&out);
    assert!(err.contains("crossroot-no-such-command"), "{err}");
    assert!(err.contains("not found"), "{err}");

    let plain = f.tmp.path().join("not-executable.sh");
    std::fs::write(&plain, "#!/bin/sh\nexit 0\n").unwrap();
    let out = exec(&[plain.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(126));
    assert!(common::stderr(&out).contains("not-executable.sh"));

    assert_eq!(
        exec(&["sh", "-c", "kill -TERM $$"]).status.code(),
        Some(128 + libc::SIGTERM)
    );
    assert_eq!(
        exec(&["sh", "-c", "kill -KILL $$"]).status.code(),
        Some(128 + libc::SIGKILL)
    );
}
