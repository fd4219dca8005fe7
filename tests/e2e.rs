//! End to end, with real parts: the curl stack built from pinned sources by zig for aarch64,
//! riscv64 and x86_64 (the profile in `sysroots/curl.toml`), and in a second test for every
//! other target crossroot knows; a Go program with cgo built through `crossroot env`;
//! `crossroot verify` says static; the program runs (under qemu-user for the foreign ones) and
//! fetches from a local server through libcurl, c-ares and zlib; a C++ program using the
//! standard library (containers, streams, a thread, an exception) and libcurl links statically
//! through `$CXX` and runs; for aarch64, a Rust crate finds libcurl through the `pkg-config`
//! crate with `crossroot env --format cargo` as its cargo configuration, links statically and
//! runs.
//!
//! Needs: zig (`pip install ziglang`), make, cmake, perl, pkg-config, go, qemu-user-static,
//! a cargo and rustc with the standard library's source (see [`rust_with_source`]),
//! and a way to the sources (upstream, `CROSSROOT_MIRRORS`, or the Debian archive mirrors of
//! the host's apt configuration). `.ci/run` installs all of it. Set `CROSSROOT_E2E_HOME` to
//! keep the crossroot home between runs while developing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{crossroot_in as crossroot, e2e_home as home_dir};
use crossroot::recipe::RecipeSet;

const TARGETS: &[&str] = &[
    "aarch64-linux-musl",
    "riscv64-linux-musl",
    "x86_64-linux-musl",
];

/// The other targets, built by one `crossroot build` in their own test.
const MORE_TARGETS: &[&str] = &[
    "armv7-linux-musleabihf",
    "arm-linux-musleabihf",
    "i686-linux-musl",
    "powerpc64le-linux-musl",
    "s390x-linux-musl",
    "loongarch64-linux-musl",
];

const CXX_PROGRAM: &str = r#"#include <curl/curl.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

int main() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> h(curl_easy_init(), curl_easy_cleanup);
    if (!h) return 1;
    std::vector<std::string> words{"static", "libcurl", "cxx"};
    std::sort(words.begin(), words.end());
    std::map<std::string, std::size_t> lengths;
    for (const auto &w : words) lengths[w] = w.size();
    std::ostringstream out;
    for (const auto &[w, n] : lengths) out << w << '=' << n << ' ';
    std::string from_thread;
    std::thread t([&] { from_thread = "thread joined"; });
    t.join();
    try {
        throw std::runtime_error("exception caught");
    } catch (const std::exception &e) {
        std::cout << e.what() << '\n';
    }
    std::cout << out.str() << '\n' << from_thread << '\n' << curl_version() << std::endl;
    return 0;
}
"#;

/// A Rust crate whose build script finds libcurl (and through it zlib, OpenSSL, nghttp2 and
/// c-ares) with the `pkg-config` crate, the way `curl-sys` or `libz-sys` do.
const RUST_MANIFEST: &str = r#"[package]
name = "hello-rust"
version = "0.1.0"
edition = "2021"

[build-dependencies]
pkg-config = "0.3"
"#;

const RUST_BUILD_SCRIPT: &str = r#"fn main() {
    pkg_config::Config::new().probe("libcurl").expect("libcurl through pkg-config");
}
"#;

const RUST_PROGRAM: &str = r#"use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_ulong};

extern "C" {
    fn curl_version() -> *const c_char;
    fn zlibVersion() -> *const c_char;
    fn compress(dest: *mut u8, dest_len: *mut c_ulong, src: *const u8, len: c_ulong) -> c_int;
    fn uncompress(dest: *mut u8, dest_len: *mut c_ulong, src: *const u8, len: c_ulong) -> c_int;
}

fn main() {
    let curl = unsafe { CStr::from_ptr(curl_version()) }.to_string_lossy();
    let zlib = unsafe { CStr::from_ptr(zlibVersion()) }.to_string_lossy();
    let text = b"static static static static ".repeat(16);
    let (mut packed, mut packed_len) = (vec![0u8; 1024], 1024 as c_ulong);
    let rc = unsafe { compress(packed.as_mut_ptr(), &mut packed_len, text.as_ptr(), text.len() as c_ulong) };
    assert_eq!(rc, 0);
    let (mut back, mut back_len) = (vec![0u8; text.len()], text.len() as c_ulong);
    let rc = unsafe { uncompress(back.as_mut_ptr(), &mut back_len, packed.as_ptr(), packed_len) };
    assert_eq!((rc, &back[..back_len as usize]), (0, &text[..]));
    let joined = std::thread::spawn(|| 6 * 7).join().unwrap();
    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(|| panic!("unwound")).unwrap_err();
    println!("{curl}");
    println!("zlib {zlib}: {} bytes to {packed_len} and back", text.len());
    println!("thread {joined}, panic {}", caught.downcast_ref::<&str>().unwrap());
}
"#;

#[test]
fn curl_stack_to_static_go_and_cxx_binaries_on_three_targets() {
    needs_prerequisites();
    let home = home_dir();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let profile = repo.join("sysroots/curl.toml");

    // Before anything is built, env says what to run, and fails.
    {
        let empty = tempfile::tempdir().unwrap();
        let out = crossroot(empty.path(), &["env", "--target", "linux/riscv64"]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("crossroot build --target riscv64-linux-musl"),
            "{err}"
        );
    }

    let started = Instant::now();
    let out = crossroot(&home, &["build", "--profile", profile.to_str().unwrap()]);
    assert!(out.status.success(), "build failed");
    eprintln!(
        "cold build of 3 targets: {:.0}s",
        started.elapsed().as_secs_f64()
    );

    // Nothing changed: the second build returns at once.
    let started = Instant::now();
    let out = crossroot(&home, &["build", "--profile", profile.to_str().unwrap()]);
    assert!(out.status.success());
    let warm = started.elapsed();
    assert!(warm < Duration::from_secs(3), "warm build took {warm:?}");

    let port = common::serve_gzip(2 * TARGETS.len());
    let work = tempfile::tempdir().unwrap();
    for &target in TARGETS {
        check_target(&home, target, work.path(), port);
    }
    check_rust_crate(&home, "aarch64-linux-musl", work.path());

    // exec runs a command with the same environment.
    let out = crossroot(
        &home,
        &[
            "exec",
            "--target",
            "linux/arm64",
            "--",
            "sh",
            "-c",
            "echo $GOARCH $CC",
        ],
    );
    assert!(out.status.success());
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(line.starts_with("arm64 /"), "{line}");
    assert!(line.trim_end().ends_with("aarch64-linux-musl-cc"), "{line}");
}

/// Everything a user does with one built sysroot: inspect it, `eval "$(crossroot env)"; go
/// build`, `crossroot verify`, run the program, then the same with a C++ program and `$CXX`.
fn check_target(home: &Path, target: &str, work: &Path, port: u16) {
    let recipes = RecipeSet::builtin().unwrap();
    std::fs::write(work.join("main.go"), common::GO_PROGRAM).unwrap();
    std::fs::write(work.join("main.cpp"), CXX_PROGRAM).unwrap();
    // Each sysroot holds static libraries and relocatable .pc files only.
    let out = crossroot(home, &["env", "--target", target, "--format", "json"]);
    assert!(out.status.success());
    common::curl_stack_sysroot(home, target, &out.stdout);

    // `eval "$(crossroot env)"; go build` as a user would type it, with Debian's Go and a
    // current one.
    for go in common::go_toolchains() {
        let bin = work.join(format!("hello-{target}-{}", go.version));
        let out = common::go_build(home, &format!("--target {target}"), &go, work, &bin);
        let go_log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if target == "loongarch64-linux-musl" && !go.links_loong64() {
            // Go 1.19's loong64 linker writes the old stack-based relocations lld rejects.
            assert!(
                !out.status.success() && go_log.contains("unknown relocation"),
                "{target}: {} was expected to fail on lld's unknown relocations:\n{go_log}",
                go.version
            );
            continue;
        }
        assert!(
            out.status.success(),
            "{target}: go build with {} failed:\n{go_log}",
            go.version
        );
        eprintln!("{target}: built with {}", go.version);
        common::check_go_program(home, target, &bin, port, &recipes);
    }
    check_cxx_program(home, target, work);
}

/// C++: the standard library (zig's libc++) and libcurl, linked statically through $CXX.
fn check_cxx_program(home: &Path, target: &str, work: &Path) {
    let recipes = RecipeSet::builtin().unwrap();
    let v = |n: &str| recipes.library(n).unwrap().version.to_string();
    let bin = work.join(format!("hello-cxx-{target}"));
    let script = format!(
        "set -e\neval \"$('{}' env --target {target})\"\ncd '{}'\n$CXX -O2 -static -o '{}' main.cpp $($PKG_CONFIG --cflags --libs libcurl)\n",
        env!("CARGO_BIN_EXE_crossroot"),
        work.display(),
        bin.display()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("CROSSROOT_HOME", home)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "{target}: $CXX failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    verify_and_run(
        home,
        target,
        &bin,
        "C++",
        &[
            "exception caught".to_string(),
            "cxx=3 libcurl=7 static=6".to_string(),
            "thread joined".to_string(),
            format!("libcurl/{}", v("curl")),
        ],
    );
}

/// `crossroot verify` says the program is static and for `target`; it runs and prints `wants`.
fn verify_and_run(home: &Path, target: &str, bin: &Path, what: &str, wants: &[String]) {
    let out = crossroot(home, &["verify", "--target", target, bin.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{target}: verify says the {what} program is not static"
    );
    let out = common::run_for(target, bin, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "{target} ({what}): {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{target}: the {what} program failed");
    for want in wants {
        assert!(
            stdout.contains(want.as_str()),
            "{target}: {what} output lacks `{want}`:\n{stdout}"
        );
    }
}

/// Rust: `crossroot env --format cargo --update` writes the crate's `.cargo/config.toml`, then a
/// plain `cargo build --target`. The Rust standard library for the musl target comes from
/// source (`-Z build-std`, Debian's rustc-web and rust-web-src: `rustup target add` cannot
/// reach its server here); with `link-self-contained=no` from the snippet, the link is the
/// one a rustup user's prebuilt std gets.
fn check_rust_crate(home: &Path, target: &str, work: &Path) {
    let t = crossroot::target::Target::parse(target).unwrap();
    let (cargo, rustc) = rust_with_source();
    let krate = work.join("hello-rust");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::create_dir_all(krate.join(".cargo")).unwrap();
    std::fs::write(krate.join("Cargo.toml"), RUST_MANIFEST).unwrap();
    std::fs::write(krate.join("build.rs"), RUST_BUILD_SCRIPT).unwrap();
    std::fs::write(krate.join("src/main.rs"), RUST_PROGRAM).unwrap();
    let config = krate.join(".cargo/config.toml");
    let out = crossroot(
        home,
        &[
            "env",
            "--target",
            target,
            "--format",
            "cargo",
            "--update",
            config.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{target}: env --format cargo --update failed"
    );

    let out = Command::new(&cargo)
        .current_dir(&krate)
        .args([
            "build",
            "-Zbuild-std=std,panic_abort",
            "--target",
            t.rust_triple,
        ])
        .env("RUSTC", &rustc)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CROSSROOT_HOME", home)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTUP_TOOLCHAIN")
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "{target}: cargo build with the crossroot snippet failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = krate.join(format!("target/{}/debug/hello-rust", t.rust_triple));
    let recipes = RecipeSet::builtin().unwrap();
    let v = |n: &str| recipes.library(n).unwrap().version.to_string();
    verify_and_run(
        home,
        target,
        &bin,
        "Rust",
        &[
            format!("libcurl/{}", v("curl")),
            format!("zlib {}: 448 bytes to", v("zlib")),
            "thread 42, panic unwound".to_string(),
        ],
    );
}

/// The host tools these tests run, each failing with its install command when missing.
fn needs_prerequisites() {
    for (tool, package) in [
        ("make", "make"),
        ("cmake", "cmake"),
        ("perl", "perl"),
        ("pkgconf", "pkgconf"),
    ] {
        common::require_tool(tool, package);
    }
    common::go_toolchains();
    for t in TARGETS.iter().chain(MORE_TARGETS) {
        if !t.starts_with("x86_64") && !t.starts_with("i686") {
            common::require_qemu(t);
        }
    }
}

/// A cargo and rustc whose sysroot holds the standard library's source, for `-Z build-std`:
/// `CROSSROOT_TEST_CARGO` and `CROSSROOT_TEST_RUSTC`, or Debian's (`apt install rustc-web
/// cargo-web rust-web-src`, which `ci/install-prerequisites.sh` does).
fn rust_with_source() -> (PathBuf, PathBuf) {
    let pick = |var: &str, default: &str| {
        std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
    };
    let (cargo, rustc) = (
        pick("CROSSROOT_TEST_CARGO", "/usr/bin/cargo"),
        pick("CROSSROOT_TEST_RUSTC", "/usr/bin/rustc"),
    );
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    let library = sysroot.map(|s| s.join("lib/rustlib/src/rust/library/std"));
    assert!(
        cargo.is_file() && library.as_deref().is_some_and(Path::is_dir),
        "the Rust check needs a cargo and rustc with the standard library's source \
         ({} and {}): run ci/install-prerequisites.sh (Debian's rustc-web, cargo-web, \
         rust-web-src) or set CROSSROOT_TEST_CARGO and CROSSROOT_TEST_RUSTC",
        cargo.display(),
        rustc.display()
    );
    (cargo, rustc)
}

#[test]
fn curl_stack_to_static_go_and_cxx_binaries_on_more_targets() {
    needs_prerequisites();
    let home = home_dir();
    let mut args = vec!["build"];
    for t in MORE_TARGETS {
        args.extend(["--target", t]);
    }
    args.push("curl");
    let started = Instant::now();
    let out = crossroot(&home, &args);
    assert!(out.status.success(), "build failed");
    eprintln!(
        "cold build of {} targets: {:.0}s",
        MORE_TARGETS.len(),
        started.elapsed().as_secs_f64()
    );
    let port = common::serve_gzip(2 * MORE_TARGETS.len());
    let work = tempfile::tempdir().unwrap();
    for &target in MORE_TARGETS {
        check_target(&home, target, work.path(), port);
    }
}
