//! `crossroot go build` and `crossroot run`, end to end: the seed's program (the Crossdev
//! article's `main.go`, printing `curl_version()` through `#cgo pkg-config`) built for
//! linux/amd64, linux/arm64 and linux/riscv64 in one command with Debian's Go 1.19 and a
//! current Go, each output verified and run through `crossroot run` (qemu for the foreign
//! ones); the program's exit status and a signal that kills it come back through `run`; and
//! `go test -exec 'crossroot run --target T --'` runs a cgo test package under qemu for arm64
//! and riscv64, where a failing test fails the run.
//!
//! Uses the sysroots of `sysroots/curl.toml` in the shared end-to-end home: after `tests/e2e.rs`
//! they are there and `go build` starts at once; alone, this file builds them (~6 min).

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::e2e_home;

/// The seed's program, with two ways to end that `crossroot run` must pass on.
const SEED_PROGRAM: &str = r#"package main

// #cgo pkg-config: libcurl libssl libcrypto libnghttp2 libcares zlib
// #include <curl/curl.h>
import "C"

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "exit" {
		fmt.Println("exiting with 3")
		os.Exit(3)
	}
	if len(os.Args) > 1 && os.Args[1] == "kill" {
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		select {}
	}
	fmt.Println(C.GoString(C.curl_version()))
}
"#;

/// A cgo package (cgo cannot be in `_test.go` files) and its tests: one needs libcurl and
/// zlib at run time; one fails on request.
const CGO_PACKAGE: &str = r#"package seed

// #cgo pkg-config: libcurl zlib
// #include <curl/curl.h>
// #include <zlib.h>
import "C"

func CurlVersion() string { return C.GoString(C.curl_version()) }
func ZlibVersion() string { return C.GoString(C.zlibVersion()) }
"#;

const TEST_PACKAGE: &str = r#"package seed

import (
	"os"
	"strings"
	"testing"
)

func TestLibrariesAtRunTime(t *testing.T) {
	v := CurlVersion()
	if !strings.HasPrefix(v, "libcurl/") {
		t.Fatalf("curl_version() = %q", v)
	}
	if ZlibVersion() == "" {
		t.Fatal("no zlib version")
	}
	t.Logf("%s", v)
}

func TestFailsOnRequest(t *testing.T) {
	if os.Getenv("SEED_FAIL") != "" {
		t.Fatal("failing as asked")
	}
}
"#;

const PLATFORMS: &[(&str, &str)] = &[
    ("linux/amd64", "x86_64-linux-musl"),
    ("linux/arm64", "aarch64-linux-musl"),
    ("linux/riscv64", "riscv64-linux-musl"),
];

fn profile() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sysroots/curl.toml")
        .display()
        .to_string()
}

fn crossroot(home: &Path, dir: &Path, args: &[&str]) -> Output {
    common::crossroot_with(home, args, |cmd| {
        cmd.current_dir(dir)
            .env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "-modcacherw");
    })
}

/// A Go module `example.com/<name>` in `parent/<name>` holding `files`; returns its directory.
fn go_module(parent: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("go.mod"),
        format!("module example.com/{name}\n\ngo 1.19\n"),
    )
    .unwrap();
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

#[test]
fn go_build_for_three_platforms_and_run_each() {
    let home = e2e_home();
    let work = tempfile::tempdir().unwrap();
    let app = go_module(work.path(), "seedapp", &[("main.go", SEED_PROGRAM)]);
    let platforms = PLATFORMS.iter().map(|p| p.0).collect::<Vec<_>>().join(",");
    for go in common::go_toolchains() {
        let dist = work.path().join(format!("dist-{}", go.version));
        let out = crossroot(
            &home,
            &app,
            &[
                "go",
                "build",
                "--platform",
                &platforms,
                "--profile",
                &profile(),
                "--go",
                go.bin.to_str().unwrap(),
                "-o",
                dist.to_str().unwrap(),
                "-trimpath",
                ".",
            ],
        );
        assert!(out.status.success(), "go build with {} failed", go.version);
        let table = String::from_utf8_lossy(&out.stdout);
        for (platform, triple) in PLATFORMS {
            let file = dist.join(format!("seedapp_{}", platform.replace('/', "_")));
            assert!(file.is_file(), "{}: no {}", go.version, file.display());
            let row = table
                .lines()
                .find(|l| l.starts_with(platform))
                .unwrap_or_else(|| panic!("no row for {platform}:\n{table}"));
            assert!(row.contains(" yes "), "{platform} not static: {row}");
            let out = crossroot(
                &home,
                &app,
                &["run", "--target", platform, "--", file.to_str().unwrap()],
            );
            assert!(out.status.success(), "{triple}: run failed");
            let line = String::from_utf8_lossy(&out.stdout);
            assert!(line.starts_with("libcurl/"), "{triple}: {line}");
            for lib in ["OpenSSL/", "zlib/", "c-ares/", "nghttp2/"] {
                assert!(line.contains(lib), "{triple}: no {lib} in {line}");
            }
        }
        if go.version.starts_with("go1.19") {
            continue;
        }
        // The program's exit status and the signal that ended it, through qemu and run.
        let arm = dist.join("seedapp_linux_arm64");
        let out = crossroot(
            &home,
            &app,
            &[
                "run",
                "-t",
                "linux/arm64",
                "--",
                arm.to_str().unwrap(),
                "exit",
            ],
        );
        assert_eq!(out.status.code(), Some(3), "exit status through run");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "exiting with 3\n");
        let out = crossroot(
            &home,
            &app,
            &[
                "run",
                "-t",
                "linux/riscv64",
                "--",
                dist.join("seedapp_linux_riscv64").to_str().unwrap(),
                "kill",
            ],
        );
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGTERM),
            "signal through run: {:?}",
            out.status
        );
    }
}

#[test]
fn go_test_exec_runs_a_cgo_test_package_under_qemu() {
    let home = e2e_home();
    let work = tempfile::tempdir().unwrap();
    let pkg = go_module(
        work.path(),
        "seed",
        &[("seed.go", CGO_PACKAGE), ("seed_test.go", TEST_PACKAGE)],
    );
    // The sysroots, if this file runs alone.
    let out = crossroot(&home, &pkg, &["build", "--profile", &profile()]);
    assert!(out.status.success());
    let me = env!("CARGO_BIN_EXE_crossroot");
    let go = common::go_toolchains().pop().expect("a current Go");
    for platform in ["linux/arm64", "linux/riscv64"] {
        for fail in [false, true] {
            let script = format!(
                "set -e\neval \"$('{me}' env --target {platform} --profile '{}')\"\n'{}' test -v -count=1 -exec '{me} run --target {platform} --' .\n",
                profile(),
                go.bin.display()
            );
            let mut cmd = Command::new("sh");
            cmd.arg("-c")
                .arg(&script)
                .current_dir(&pkg)
                .env("CROSSROOT_HOME", &home)
                .env("GOTOOLCHAIN", "local");
            if fail {
                cmd.env("SEED_FAIL", "1");
            }
            let out = cmd.output().unwrap();
            let log = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            eprintln!("{platform} (fail={fail}):\n{log}");
            if fail {
                assert!(!out.status.success(), "{platform}: a failing test passed");
                assert!(log.contains("failing as asked"), "{platform}: {log}");
            } else {
                assert!(out.status.success(), "{platform}: go test failed");
                assert!(log.contains("--- PASS: TestLibrariesAtRunTime"), "{log}");
                assert!(log.contains("libcurl/"), "{log}");
            }
        }
    }
}
