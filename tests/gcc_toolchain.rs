//! The gcc toolchain end to end, with real parts: musl built by crossroot with Debian's cross
//! gcc, the curl stack built with it for aarch64 and riscv64 from pinned sources, the Go
//! program (the end-to-end test's) linked statically through `crossroot env --toolchain gcc`,
//! verified and run under qemu-user. Then the prebuilt kind: a musl-cross-make style tarball
//! assembled from the gcc route's output, served from 127.0.0.1, pinned by sha256, unpacked
//! elsewhere and used.
//!
//! Needs what `tests/e2e.rs` needs (without zig for the builds) plus `gcc-aarch64-linux-gnu`
//! and `gcc-riscv64-linux-gnu` (`ci/install-prerequisites.sh`). Sources come from upstream or
//! the Debian archive mirrors of the host's apt configuration. Set `CROSSROOT_GCC_TEST_HOME`
//! to keep the crossroot home between runs while developing.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crossroot::recipe::RecipeSet;
use sha2::{Digest, Sha256};

/// The targets CI builds for (`crossroot targets` marks exactly these "tested").
const TARGETS: &[&str] = &["aarch64-linux-musl", "riscv64-linux-musl"];

/// [`TARGETS`], or the comma-separated list in `CROSSROOT_GCC_TEST_TARGETS` (to check the
/// other targets with a gcc route by hand).
fn targets() -> &'static [String] {
    static LIST: OnceLock<Vec<String>> = OnceLock::new();
    LIST.get_or_init(|| match std::env::var("CROSSROOT_GCC_TEST_TARGETS") {
        Ok(list) => list.split(',').map(|t| t.trim().to_string()).collect(),
        Err(_) => TARGETS.iter().map(|t| t.to_string()).collect(),
    })
}

/// One home for both tests, so the musl toolchain of aarch64 is built once (crossroot's entry
/// locks make the two tests' builds of it wait for each other).
fn home() -> &'static Path {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| match std::env::var_os("CROSSROOT_GCC_TEST_HOME") {
        Some(h) => PathBuf::from(h),
        None => {
            let h = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gcc-toolchain-home");
            let _ = std::fs::remove_dir_all(&h);
            std::fs::create_dir_all(&h).unwrap();
            h
        }
    })
}

fn needs_cross_gcc() {
    for t in targets() {
        let target = crossroot::target::Target::parse(t).unwrap();
        let gnu = target.gnu_triple.expect("a target with a gcc route");
        let gcc = format!("{gnu}-gcc");
        let found = Command::new(&gcc).arg("-dumpversion").output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "this test needs {gcc}: apt-get install {} (ci/install-prerequisites.sh)",
            crossroot::toolchain::gcc::apt_packages(target).unwrap()
        );
    }
}

/// crossroot with the test's home, the built-in recipes and the host's Debian mirrors.
fn crossroot(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_crossroot"))
        .args(args)
        .env("CROSSROOT_HOME", home())
        .output()
        .expect("crossroot runs");
    common::show(args, &out);
    out
}

fn stdout(out: &Output) -> String {
    common::stdout(out).trim().to_string()
}

#[test]
fn curl_stack_with_gcc_and_musl_to_static_go_binaries() {
    needs_cross_gcc();
    let recipes = RecipeSet::builtin().unwrap();
    let mut build = vec!["build", "--toolchain", "gcc"];
    for t in targets() {
        build.extend(["--target", t]);
    }
    build.push("curl");

    let started = Instant::now();
    let out = crossroot(&build);
    assert!(out.status.success(), "build with --toolchain gcc failed");
    eprintln!(
        "cold build of musl and the curl stack with gcc for {} targets: {:.0}s",
        targets().len(),
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let out = crossroot(&build);
    assert!(out.status.success());
    let warm = started.elapsed();
    assert!(warm < Duration::from_secs(5), "warm build took {warm:?}");

    // The toolchain is part of every key: zig's key for the same selection differs, and
    // `env` without --toolchain (zig) finds no sysroot, since none was built with zig.
    let key = |tc: &str| {
        let out = crossroot(&[
            "cache",
            "key",
            "--toolchain",
            tc,
            "--target",
            &targets()[0],
            "curl",
        ]);
        assert!(out.status.success(), "cache key --toolchain {tc}");
        stdout(&out)
    };
    let gcc_key = key("gcc");
    assert!(gcc_key.starts_with("crossroot-v1-"), "{gcc_key}");
    assert_ne!(gcc_key, key("zig"));
    let out = crossroot(&["env", "--target", &targets()[0]]);
    assert!(!out.status.success(), "a zig sysroot was found");

    let port = common::serve_gzip(2 * targets().len());
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("main.go"), common::GO_PROGRAM).unwrap();
    for target in targets() {
        let target = target.as_str();
        let out = crossroot(&[
            "env",
            "--toolchain",
            "gcc",
            "--target",
            target,
            "--format",
            "json",
        ]);
        assert!(out.status.success());
        let (sysroot, manifest) = common::curl_stack_sysroot(home(), target, &out.stdout);
        assert_eq!(manifest["toolchain"]["name"], "gcc-musl", "{target}");
        let version = manifest["toolchain"]["version"].as_str().unwrap();
        assert!(version.ends_with("+ musl 1.2.5"), "{version}");

        // C++ is refused with a reason, not linked against glibc's libstdc++.
        let cxx = sysroot.join("bin").join(format!("{target}-c++"));
        let out = Command::new(&cxx).arg("--version").output().unwrap();
        assert!(!out.status.success(), "{target}: c++ wrapper succeeded");
        assert!(common::stderr(&out).contains("glibc"), "{target}");

        // `eval "$(crossroot env --toolchain gcc)"; go build` as a user would type it, with
        // Debian's Go and a current one.
        for go in common::go_toolchains() {
            let bin = work.path().join(format!("hello-{target}-{}", go.version));
            let env_args = format!("--toolchain gcc --target {target}");
            let out = common::go_build(home(), &env_args, &go, work.path(), &bin);
            assert!(
                out.status.success(),
                "{target}: go build with {} failed:\n{}{}",
                go.version,
                common::stdout(&out),
                common::stderr(&out)
            );
            common::check_go_program(home(), target, &bin, port, &recipes);
        }
    }
}

/// `tar czf` of `dir` under the top folder `top`, keeping modes.
fn tar_dir(dir: &Path, top: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    {
        let mut tar = tar::Builder::new(&mut gz);
        tar.follow_symlinks(false);
        tar.append_dir_all(top, dir).unwrap();
        tar.finish().unwrap();
    }
    gz.finish().unwrap()
}

#[test]
fn prebuilt_tarball_in_the_musl_cross_make_layout() {
    needs_cross_gcc();
    let target = "aarch64-linux-musl";
    let demo = common::demo();
    // The gcc route's toolchain for aarch64 (musl from the Debian mirror or upstream).
    let out = Command::new(env!("CARGO_BIN_EXE_crossroot"))
        .args(["--recipes", demo.recipes.to_str().unwrap()])
        .args(["--mirror", &demo.server.base])
        .args(["build", "--toolchain", "gcc", "--target", target, "demo"])
        .env("CROSSROOT_HOME", home())
        .output()
        .unwrap();
    common::show(&["build", "--toolchain", "gcc", "demo"], &out);
    assert!(out.status.success());
    let tc_dir = std::fs::read_dir(home().join("toolchains-v1"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(&format!("gcc-musl-{target}-")) && p.is_dir()
        })
        .expect("the gcc route left its toolchain directory");
    assert!(tc_dir.join("bin").join(format!("{target}-gcc")).is_file());

    // Packed as musl-cross-make does: <triple>-cross/bin/<triple>-gcc, …
    let archive = tar_dir(&tc_dir, &format!("{target}-cross"));
    let sha = hex::encode(Sha256::digest(&archive));
    let file = format!("{target}-cross.tgz");
    let host = format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS);
    std::fs::write(
        demo.recipes.join("my-cross.toml"),
        format!(
            "[toolchain]\nname = \"my-cross\"\nkind = \"prebuilt\"\nversion = \"1.0.0\"\nlicense = \"MIT\"\n\n[[toolchain.release]]\nhost = \"{host}\"\ntarget = \"{target}\"\nfile = \"{file}\"\nsha256 = \"{sha}\"\nurls = [\"https://toolchains.invalid/{file}\"]\n"
        ),
    )
    .unwrap();
    let server = common::serve(BTreeMap::from([(file.clone(), archive)]));

    // A fresh home: the tarball is fetched, checked, unpacked at another path and used there.
    let fresh = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = demo
            .cmd(fresh.path())
            .args(["--mirror", &server.base])
            .args(args)
            .output()
            .unwrap();
        common::show(args, &out);
        out
    };
    let out = run(&[
        "build",
        "--toolchain",
        "my-cross",
        "--target",
        target,
        "demo",
    ]);
    assert!(out.status.success(), "build with the prebuilt toolchain");
    assert_eq!(server.requests(), 1, "one download of the tarball");
    let out = run(&[
        "env",
        "--toolchain",
        "my-cross",
        "--target",
        target,
        "--format",
        "json",
    ]);
    assert!(out.status.success());
    let vars: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sysroot = PathBuf::from(vars["CROSSROOT_SYSROOT"].as_str().unwrap());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sysroot.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["toolchain"]["name"], "my-cross");
    assert_eq!(manifest["toolchain"]["sha256"], sha.as_str());
    let exe = manifest["toolchain_exe"].as_str().unwrap();
    assert!(exe.starts_with(fresh.path().to_str().unwrap()), "{exe}");

    // A C program against the sysroot's libdemo, linked with the unpacked toolchain, runs.
    let work = tempfile::tempdir().unwrap();
    let main_c = work.path().join("main.c");
    std::fs::write(
        &main_c,
        "#include <stdio.h>\n#include <demo.h>\nint main(void) { printf(\"demo says %d\\n\", demo()); return 0; }\n",
    )
    .unwrap();
    let bin = work.path().join("main");
    let cc = sysroot.join("bin").join(format!("{target}-cc"));
    let out = Command::new(&cc)
        .arg(&main_c)
        .arg(format!("-I{}", sysroot.join("include").display()))
        .arg(format!("-L{}", sysroot.join("lib").display()))
        .args(["-ldemo", "-o"])
        .arg(&bin)
        .output()
        .unwrap();
    assert!(out.status.success(), "cc: {}", common::stderr(&out));
    let out = run(&["verify", "--target", target, bin.to_str().unwrap()]);
    assert!(out.status.success(), "not a static aarch64 executable");
    let out = Command::new(common::require_tool(
        "qemu-aarch64-static",
        "qemu-user-static",
    ))
    .arg(&bin)
    .output()
    .unwrap();
    assert_eq!(common::stdout(&out), "demo says 42\n");

    // A tarball that does not hold <triple>-cross/bin/<triple>-gcc is refused by name.
    let bad = common::tarball(&format!("{target}-cross"), &[("README", "empty\n", 0o644)]);
    let bad_sha = hex::encode(Sha256::digest(&bad));
    std::fs::write(
        demo.recipes.join("my-cross.toml"),
        format!(
            "[toolchain]\nname = \"my-cross\"\nkind = \"prebuilt\"\nversion = \"1.0.1\"\nlicense = \"MIT\"\n\n[[toolchain.release]]\nhost = \"{host}\"\ntarget = \"{target}\"\nfile = \"bad.tgz\"\nsha256 = \"{bad_sha}\"\nurls = [\"https://toolchains.invalid/bad.tgz\"]\n"
        ),
    )
    .unwrap();
    let bad_server = common::serve(BTreeMap::from([("bad.tgz".to_string(), bad)]));
    let out = demo
        .cmd(fresh.path())
        .args(["--mirror", &bad_server.base])
        .args([
            "build",
            "--toolchain",
            "my-cross",
            "--target",
            target,
            "demo",
        ])
        .output()
        .unwrap();
    let err = common::stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("{target}-cross/bin/{target}-gcc")),
        "{err}"
    );
}
