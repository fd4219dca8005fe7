//! End to end, with real parts: the sqlite, zstd, xz, libffi and pcre2 recipes built from their
//! pinned sources by zig for aarch64 and riscv64; every `.a` member is an object for the
//! target's machine; one C program linked statically through `crossroot env` and
//! `pkg-config --static` uses all five (an SQL query with full-text search, zstd and xz round
//! trips, an `ffi_call` and a closure, a JIT-compiled regular expression), is verified static,
//! and runs under qemu-user.
//!
//! Needs what `tests/e2e.rs` needs (zig, make, cmake, pkg-config, qemu-user-static and a way
//! to the sources: upstream, `CROSSROOT_MIRRORS`, or the Debian archive mirrors of the host's
//! apt configuration), plus `tclsh` and a C compiler for the build machine, which sqlite's
//! build runs. `.ci/run` installs all of it. Set `CROSSROOT_E2E_HOME` to keep the crossroot
//! home between runs while developing.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{crossroot_in as crossroot, e2e_home as home_dir};
use crossroot::recipe::RecipeSet;

const TARGETS: &[&str] = &["aarch64-linux-musl", "riscv64-linux-musl"];
const PACKAGES: &[&str] = &["sqlite", "zstd", "xz", "libffi", "pcre2"];
const PKG_CONFIG_MODULES: &str = "sqlite3 libzstd liblzma libffi libpcre2-8";
const PROGRAM: &str = include_str!("programs/five_libraries.c");

/// The members of a System V / GNU `ar` archive, as (name, bytes).
fn ar_members(bytes: &[u8]) -> Vec<(String, &[u8])> {
    assert!(bytes.starts_with(b"!<arch>\n"), "not an ar archive");
    let mut members = Vec::new();
    let mut long_names: &[u8] = &[];
    let mut at = 8;
    while at + 60 <= bytes.len() {
        let header = &bytes[at..at + 60];
        assert_eq!(&header[58..60], b"`\n", "bad ar header at byte {at}");
        let field =
            |r: std::ops::Range<usize>| String::from_utf8_lossy(&header[r]).trim().to_string();
        let name = field(0..16);
        let size: usize = field(48..58).parse().expect("ar member size");
        let data = &bytes[at + 60..at + 60 + size];
        at += 60 + size + size % 2;
        match name.as_str() {
            // Symbol tables (System V and 64-bit).
            "/" | "/SYM64/" => continue,
            "//" => {
                long_names = data;
                continue;
            }
            _ => {}
        }
        let name = match name.strip_prefix('/') {
            Some(offset) => {
                let offset: usize = offset.parse().expect("long name offset");
                let rest = &long_names[offset..];
                let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                String::from_utf8_lossy(&rest[..end])
                    .trim_end_matches('/')
                    .to_string()
            }
            None => name.trim_end_matches('/').to_string(),
        };
        members.push((name, data));
    }
    members
}

#[test]
fn five_more_recipes_link_statically_and_run_on_arm64_and_riscv64() {
    for (tool, package) in [("make", "make"), ("cmake", "cmake"), ("pkgconf", "pkgconf")] {
        common::require_tool(tool, package);
    }
    for t in TARGETS {
        common::require_qemu(t);
    }
    let home = home_dir();
    let recipes = RecipeSet::builtin().unwrap();
    let version = |n: &str| recipes.library(n).unwrap().version.clone();

    let mut build: Vec<&str> = vec!["build"];
    for t in TARGETS {
        build.extend(["--target", t]);
    }
    build.extend(PACKAGES);
    let started = Instant::now();
    let out = crossroot(&home, &build);
    assert!(out.status.success(), "build failed");
    eprintln!(
        "cold build of {} packages for {} targets: {:.0}s",
        PACKAGES.len(),
        TARGETS.len(),
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    assert!(crossroot(&home, &build).status.success());
    let warm = started.elapsed();
    assert!(warm < Duration::from_secs(3), "warm build took {warm:?}");

    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("five_libraries.c");
    std::fs::write(&source, PROGRAM).unwrap();
    for &target in TARGETS {
        let mut args = vec!["env", "--target", target, "--format", "json"];
        args.extend(PACKAGES);
        let out = crossroot(&home, &args);
        assert!(out.status.success());
        let vars: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&out.stdout).expect("env --format json is a JSON object");
        let sysroot = PathBuf::from(vars["CROSSROOT_SYSROOT"].as_str().unwrap());
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(sysroot.join("manifest.json")).unwrap()).unwrap();
        let packages = manifest["packages"].as_array().unwrap();
        assert_eq!(packages.len(), PACKAGES.len(), "{target}: {manifest}");

        // Every library and .pc file the recipes promise, each .a holding only objects for
        // this target's machine.
        let machine = match target {
            "aarch64-linux-musl" => "aarch64",
            "riscv64-linux-musl" => "riscv64",
            other => panic!("no machine name for {other}"),
        };
        for name in PACKAGES {
            let recipe = recipes.library(name).unwrap();
            let record = packages
                .iter()
                .find(|p| p["name"] == *name)
                .unwrap_or_else(|| panic!("{target}: {name} not in the manifest"));
            assert_eq!(record["version"], recipe.version.to_string());
            assert!(
                recipe
                    .sources
                    .iter()
                    .any(|s| record["source_sha256"] == s.sha256.as_str()),
                "{target}: {name} was built from a source the recipe does not pin"
            );
            for pc in &recipe.install.pkg_config {
                let path = sysroot.join("lib/pkgconfig").join(format!("{pc}.pc"));
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{target}: {}: {e}", path.display()));
                assert!(
                    !text.contains(home.to_str().unwrap()),
                    "{target}: {pc}.pc holds a build path:\n{text}"
                );
            }
            for lib in &recipe.install.libs {
                let path = sysroot.join("lib").join(lib);
                let bytes = std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("{target}: {}: {e}", path.display()));
                let members = ar_members(&bytes);
                assert!(!members.is_empty(), "{target}: {lib} is empty");
                for (member, data) in members {
                    let elf = crossroot::elf::parse_elf(data).unwrap_or_else(|e| {
                        panic!("{target}: {lib}({member}) is not an ELF object: {e}")
                    });
                    assert_eq!(
                        elf.machine_name, machine,
                        "{target}: {lib}({member}) is for {}",
                        elf.machine_name
                    );
                }
            }
        }
        for entry in std::fs::read_dir(sysroot.join("lib")).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                !name.contains(".so") && !name.ends_with(".la"),
                "{target}: {name}"
            );
        }

        // `eval "$(crossroot env)"` and `pkg-config --static`, as a user would type them.
        let bin = work.path().join(format!("five-{target}"));
        let script = format!(
            "set -e\neval \"$('{exe}' env --target {target} {packages})\"\n\
             \"$CC\" -Wall -Werror -o '{bin}' '{src}' $(\"$PKG_CONFIG\" --static --cflags --libs {PKG_CONFIG_MODULES}) -static\n",
            exe = env!("CARGO_BIN_EXE_crossroot"),
            packages = PACKAGES.join(" "),
            bin = bin.display(),
            src = source.display(),
        );
        let out = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env("CROSSROOT_HOME", &home)
            .output()
            .expect("sh runs");
        assert!(
            out.status.success(),
            "{target}: compiling the program failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let out = crossroot(
            &home,
            &["verify", "--target", target, bin.to_str().unwrap()],
        );
        assert!(out.status.success(), "{target}: verify says not static");

        let qemu = format!("qemu-{machine}-static");
        let out = Command::new(&qemu)
            .arg(&bin)
            .output()
            .unwrap_or_else(|e| panic!("{qemu} runs (apt-get install qemu-user-static): {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        eprintln!("{target}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{target}: the program failed");
        let pcre2 = version("pcre2");
        for want in [
            format!(
                "sqlite {}: 42 from 3 rows, fts5 matches 2",
                version("sqlite")
            ),
            format!("zstd {}: 4096 -> ", version("zstd")),
            format!("xz {}: 4096 -> ", version("xz")),
            "libffi: ffi_call scale(6, 6.5, 3) = 42, closure add(40, 2) = 42".to_string(),
            format!("pcre2 {}.{} ", pcre2.major, pcre2.minor),
            "user=jane.doe host=example.org jit=yes".to_string(),
            "all five libraries work".to_string(),
        ] {
            assert!(
                stdout.contains(&want),
                "{target}: output lacks `{want}`:\n{stdout}"
            );
        }
        // Both round trips compressed the repetitive input.
        for line in stdout.lines().filter(|l| l.contains(" -> ")) {
            let sizes: Vec<usize> = line
                .rsplit(": ")
                .next()
                .unwrap()
                .trim_end_matches(" bytes")
                .split(" -> ")
                .map(|n| n.parse().unwrap())
                .collect();
            assert!(
                sizes[1] < sizes[0] / 4 && sizes[2] == sizes[0],
                "{target}: {line}"
            );
        }
    }
}
