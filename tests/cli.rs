//! The command line with real processes: a small recipe served by a real HTTP server on
//! 127.0.0.1, built by the real builder with zig, checked through `env` and the pkg-config
//! wrapper; and the errors a user meets (bad input, failed step, bad checksum, offline).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{Server, installed_zig, serve, show, stderr, tarball, walk};

use sha2::{Digest, Sha256};

const MAKEFILE: &str = "all:\n\tprintf 'int demo(void) { return 42; }\\n' > demo.c\n\t$(CC) $(CFLAGS) -c demo.c -o demo.o\n\t$(AR) rcs libdemo.a demo.o\n\ninstall:\n\tmkdir -p $(PREFIX)/lib/pkgconfig $(PREFIX)/include $(PREFIX)/share/doc\n\tcp libdemo.a $(PREFIX)/lib/\n\techo 'int demo(void);' > $(PREFIX)/include/demo.h\n\techo docs > $(PREFIX)/share/doc/demo.txt\n\tprintf 'prefix=$(PREFIX)\\nlibdir=$${prefix}/lib\\nincludedir=$${prefix}/include\\n\\nName: demo\\nDescription: demo\\nVersion: 1.0.0\\nLibs: -L$${libdir} -ldemo\\nCflags: -I$${includedir}\\n' > $(PREFIX)/lib/pkgconfig/demo.pc\n";

const BROKEN_MAKEFILE: &str = "all:\n\t@echo 'compiling the broken library'\n\t@echo 'this build is broken on purpose' >&2\n\t@exit 3\n";

fn recipe(name: &str, file: &str, sha256: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"1.0.0\"\nlicense = \"MIT\"\n\n[[source]]\nfile = \"{file}\"\nsha256 = \"{sha256}\"\n# .invalid never resolves: upstream fails at once and the mirror serves.\nurls = [\"https://{name}.invalid/{file}\"]\n\n[build]\nsystem = \"make\"\ninstall-steps = [[\"install\", \"PREFIX={{prefix}}\"]]\n\n[install]\nlibs = [\"lib{name}.a\"]\n"
    )
}

struct Fixture {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    recipes: PathBuf,
    server: Server,
}

fn fixture(serve_bad_bytes: bool) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let recipes = tmp.path().join("recipes");
    std::fs::create_dir(&recipes).unwrap();
    let demo = tarball("demo-1.0.0", &[("Makefile", MAKEFILE, 0o644)]);
    let broken = tarball("broken-1.0.0", &[("Makefile", BROKEN_MAKEFILE, 0o644)]);
    let sha = |b: &[u8]| hex::encode(Sha256::digest(b));
    let mut demo_recipe = recipe("demo", "demo-1.0.0.tar.gz", &sha(&demo));
    demo_recipe.push_str("pkg-config = [\"demo\"]\n");
    std::fs::write(recipes.join("demo.toml"), demo_recipe).unwrap();
    std::fs::write(
        recipes.join("broken.toml"),
        recipe("broken", "broken-1.0.0.tar.gz", &sha(&broken)),
    )
    .unwrap();
    let mut files = BTreeMap::new();
    let served_demo = if serve_bad_bytes {
        let mut d = demo.clone();
        d[100] ^= 0xff;
        d
    } else {
        demo
    };
    files.insert("demo-1.0.0.tar.gz".to_string(), served_demo);
    files.insert("broken-1.0.0.tar.gz".to_string(), broken);
    Fixture {
        home: tmp.path().join("home"),
        recipes,
        server: serve(files),
        _tmp: tmp,
    }
}

impl Fixture {
    fn run(&self, args: &[&str]) -> Output {
        let out = common::crossroot(&self.recipes, &self.server.base, &self.home)
            .args(args)
            .output()
            .unwrap();
        show(args, &out);
        out
    }
}

fn bare(args: &[&str], home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crossroot"))
        .args(args)
        .env("CROSSROOT_HOME", home)
        .output()
        .unwrap()
}

#[test]
fn builds_a_recipe_from_a_local_mirror_into_a_usable_sysroot() {
    let f = fixture(false);
    let out = f.run(&["build", "--target", "x86_64-linux-musl", "demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(f.server.requests.load(Ordering::SeqCst), 1);

    let out = f.run(&["env", "--target", "linux/amd64", "--format", "json"]);
    assert!(out.status.success());
    let vars: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(vars["GOARCH"], "amd64");
    assert_eq!(vars["CGO_ENABLED"], "1");
    let sysroot = PathBuf::from(vars["CROSSROOT_SYSROOT"].as_str().unwrap());
    assert!(sysroot.starts_with(&f.home));
    assert!(sysroot.join("lib/libdemo.a").is_file());
    assert!(sysroot.join("include/demo.h").is_file());
    assert!(
        !sysroot.join("share").exists(),
        "docs are not part of a sysroot"
    );
    let pc = std::fs::read_to_string(sysroot.join("lib/pkgconfig/demo.pc")).unwrap();
    assert!(pc.starts_with("prefix=${pcfiledir}/../.."), "{pc}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sysroot.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["packages"][0]["name"], "demo");
    assert_eq!(manifest["toolchain"]["name"], "zig");
    assert!(
        manifest["packages"][0]["source_origin"]
            .as_str()
            .unwrap()
            .starts_with(&f.server.base)
    );

    // The pkg-config wrapper sees only this sysroot, always static, from wherever it is.
    let wrapper = vars["PKG_CONFIG"].as_str().unwrap();
    let out = Command::new(wrapper)
        .args(["--libs", "--cflags", "demo"])
        .output()
        .unwrap();
    let flags = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        flags.contains(&format!("-L{}/lib", sysroot.display())),
        "{flags}"
    );
    assert!(flags.contains("-ldemo"), "{flags}");
    let out = Command::new(wrapper)
        .args(["--exists", "zlib"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "host .pc files must stay out");

    // The C compiler wrapper compiles for the target.
    let work = tempfile::tempdir().unwrap();
    let c = work.path().join("t.c");
    std::fs::write(&c, "#include <demo.h>\nint f(void) { return demo(); }\n").unwrap();
    let out = Command::new(vars["CC"].as_str().unwrap())
        .args(["-O2", "-c", "-I"])
        .arg(sysroot.join("include"))
        .arg(&c)
        .arg("-o")
        .arg(work.path().join("t.o"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    // Nothing changed: returns at once, fetches nothing.
    let started = Instant::now();
    let out = f.run(&["build", "--target", "x86_64-linux-musl", "demo"]);
    assert!(out.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(f.server.requests.load(Ordering::SeqCst), 1);

    // A second target reuses the download.
    let out = f.run(&["build", "--target", "linux/arm64", "demo"]);
    assert!(out.status.success());
    assert_eq!(f.server.requests.load(Ordering::SeqCst), 1);

    // exec passes the environment and the exit code.
    let out = f.run(&[
        "exec",
        "--target",
        "aarch64-linux-musl",
        "--",
        "sh",
        "-c",
        "test \"$GOARCH\" = arm64 && exit 7",
    ]);
    assert_eq!(out.status.code(), Some(7));

    // Offline, from the cache alone, a different option set still builds.
    let out = f.run(&[
        "--offline",
        "build",
        "--target",
        "riscv64-linux-musl",
        "demo",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(f.server.requests.load(Ordering::SeqCst), 1);
}

#[test]
fn a_failed_step_explains_itself_and_leaves_nothing_half_made() {
    let f = fixture(false);
    let out = f.run(&["build", "--target", "x86_64-linux-musl", "broken"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    for want in [
        "broken 1.0.0 (x86_64-linux-musl): step `make` failed (exit status: 2)",
        "Error 3",
        "command: ",
        "directory: ",
        "this build is broken on purpose",
        "compiling the broken library",
        "full log: ",
    ] {
        assert!(err.contains(want), "missing `{want}` in:\n{err}");
    }
    let log = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("full log: "))
        .unwrap();
    assert!(
        std::fs::read_to_string(log)
            .unwrap()
            .contains("broken on purpose")
    );
    // No package entry and no staging directory remain; no sysroot was made.
    let leftovers: Vec<_> = std::fs::read_dir(f.home.join("packages-v1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(!f.home.join("sysroots-v1/x86_64-linux-musl").exists());
    // A second run tries again (and fails the same way).
    let out = f.run(&["build", "--target", "x86_64-linux-musl", "broken"]);
    assert!(stderr(&out).contains("broken on purpose"));
}

#[test]
fn wrong_bytes_from_a_mirror_are_refused_and_never_installed() {
    let f = fixture(true);
    let out = f.run(&["build", "--target", "x86_64-linux-musl", "demo"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("sha256 mismatch"), "{err}");
    assert!(err.contains(&f.server.base), "{err}");
    assert!(
        err.contains("demo.invalid"),
        "upstream was tried too:\n{err}"
    );
    let downloads = f.home.join("downloads-v1");
    let files: Vec<_> = walk(&downloads)
        .into_iter()
        .filter(|p| !p.ends_with(".lock"))
        .collect();
    assert!(files.is_empty(), "{files:?}");
    assert!(!f.home.join("sysroots-v1/x86_64-linux-musl").exists());
}

#[test]
fn offline_without_a_cache_says_what_to_do() {
    let f = fixture(false);
    let out = f.run(&[
        "--offline",
        "build",
        "--target",
        "x86_64-linux-musl",
        "demo",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("crossroot fetch"), "{err}");
    assert_eq!(f.server.requests.load(Ordering::SeqCst), 0);
}

#[test]
fn usage_errors_exit_2_and_name_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let out = bare(&["env", "--target", "mips-linux-musl"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("unknown target `mips-linux-musl`"), "{err}");
    assert!(err.contains("aarch64-linux-musl (linux/arm64)"), "{err}");

    let out = bare(&["build", "--target", "linux/arm64", "libnope"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown package `libnope`"),
        "{}",
        stderr(&out)
    );

    let out = bare(&["-q", "-v", "list"], tmp.path());
    assert_eq!(out.status.code(), Some(2));

    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(
        bad.join("zlib.toml"),
        "[package]\nname = \"zlib\"\nversion = \"1.3.1\"\nlicense = \"Zlib\"\nflavour = \"x\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_crossroot"))
        .arg("--recipes")
        .arg(&bad)
        .arg("list")
        .env("CROSSROOT_HOME", tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("zlib.toml:5:"), "{err}");
    assert!(err.contains("flavour"), "{err}");

    // Not built yet: env says which build to run.
    let out = bare(&["env", "--target", "linux/arm64"], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("run `crossroot build --target aarch64-linux-musl"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn list_and_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let out = bare(&["list"], tmp.path());
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "curl",
        "8.14.1",
        "openssl",
        "3.5.7",
        "riscv64-linux-musl",
        "linux/riscv64",
        "linux64-riscv64",
        "sqlite",
        "3.46.1",
        "zstd",
        "xz",
        "libffi",
        "pcre2",
        "10.46.0",
    ] {
        assert!(text.contains(want), "{want}:\n{text}");
    }
    // A dynamic host binary is not static for any target.
    let out = bare(
        &["verify", "--target", "x86_64-linux-musl", "/bin/sh"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOT static"));
}

/// An ELF64 little-endian executable: the header, a PT_LOAD of the whole file at 0x400000, and
/// with `needed` a PT_DYNAMIC whose DT_NEEDED entries point into `strtab`.
fn elf64(machine: u16, needed: &[u64], strtab: &[u8]) -> Vec<u8> {
    let phnum: usize = if needed.is_empty() { 1 } else { 2 };
    let strtab_at = 64 + 56 * phnum;
    let dynamic_at = strtab_at + strtab.len();
    let mut entries: Vec<(u64, u64)> = needed.iter().map(|&at| (1, at)).collect(); // DT_NEEDED
    entries.extend([(5, 0x40_0000 + strtab_at as u64), (0, 0)]); // DT_STRTAB, DT_NULL
    let dynamic_len = if needed.is_empty() {
        0
    } else {
        16 * entries.len()
    };
    let len = dynamic_at + dynamic_len;
    let mut elf = vec![0u8; len];
    let mut put = |at: usize, bytes: &[u8]| elf[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, &[0x7f, b'E', b'L', b'F', 2, 1, 1]); // ELFCLASS64, ELFDATA2LSB, EV_CURRENT
    put(16, &2u16.to_le_bytes()); // ET_EXEC
    put(18, &machine.to_le_bytes());
    put(20, &1u32.to_le_bytes()); // e_version
    put(24, &0x40_0078u64.to_le_bytes()); // e_entry
    put(32, &64u64.to_le_bytes()); // e_phoff
    put(52, &64u16.to_le_bytes()); // e_ehsize
    put(54, &56u16.to_le_bytes()); // e_phentsize
    put(56, &(phnum as u16).to_le_bytes()); // e_phnum
    let segments = [(1u32, 0, len), (2, dynamic_at, dynamic_len)]; // PT_LOAD, PT_DYNAMIC
    for (i, (p_type, offset, size)) in segments.into_iter().take(phnum).enumerate() {
        let at = 64 + 56 * i;
        put(at, &p_type.to_le_bytes());
        put(at + 4, &5u32.to_le_bytes()); // R+X
        put(at + 8, &(offset as u64).to_le_bytes());
        put(at + 16, &(0x40_0000 + offset as u64).to_le_bytes()); // p_vaddr
        put(at + 24, &(0x40_0000 + offset as u64).to_le_bytes()); // p_paddr
        put(at + 32, &(size as u64).to_le_bytes()); // p_filesz
        put(at + 40, &(size as u64).to_le_bytes()); // p_memsz
        put(at + 48, &0x1000u64.to_le_bytes()); // p_align
    }
    put(strtab_at, strtab);
    for (i, (tag, value)) in entries.iter().enumerate().take(dynamic_len / 16) {
        put(dynamic_at + 16 * i, &tag.to_le_bytes());
        put(dynamic_at + 16 * i + 8, &value.to_le_bytes());
    }
    elf
}

/// Issue 20: a static aarch64 file checked for riscv64 is static; what is wrong is the machine.
#[test]
fn verify_says_a_static_file_for_another_machine_is_static_and_names_the_machine() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    std::fs::write(&app, elf64(183, &[], &[])).unwrap();
    let app_arg = app.to_str().unwrap();
    let out = bare(&["verify", "-t", "linux/riscv64", app_arg], tmp.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "{app_arg}: static ELF 64-bit aarch64 executable, but NOT for riscv64-linux-musl: machine is aarch64 (expected riscv64)\n"
        )
    );
    let out = bare(&["verify", "-t", "linux/arm64", app_arg], tmp.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "{app_arg}: static ELF 64-bit aarch64 executable, no interpreter, no shared libraries: OK for aarch64-linux-musl\n"
        )
    );
}

/// 16,384 DT_NEEDED entries all naming one 64 KiB string (a 330 KB file): verify used to copy
/// the name once per entry, 1 GiB in all, and under a 512 MiB address-space limit it aborted.
#[test]
fn verify_refuses_a_file_whose_needed_names_repeat_one_long_string_within_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    let mut strtab = vec![0u8];
    strtab.extend(std::iter::repeat_n(b'x', 64 << 10));
    strtab.push(0);
    std::fs::write(&app, elf64(183, &[1; 16 << 10], &strtab)).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 524288 && exec \"$0\" verify -t linux/arm64 \"$1\"")
        .arg(env!("CARGO_BIN_EXE_crossroot"))
        .arg(&app)
        .env("CROSSROOT_HOME", tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stderr(&out).trim_end(),
        format!(
            "error: {}: DT_NEEDED names add up to more than 1048576 bytes after 17 entries: not a real program's dynamic section",
            app.display()
        )
    );
}

#[test]
fn the_pinned_zig_release_is_fetched_when_none_is_installed() {
    let f = fixture(false);
    // A release archive in the official layout, made from the installed zig's binary.
    let zig = installed_zig();
    let version =
        String::from_utf8_lossy(&Command::new(&zig).arg("version").output().unwrap().stdout)
            .trim()
            .to_string();
    let host = format!("{}-linux", std::env::consts::ARCH);
    let file = format!("zig-{host}-{version}.tar");
    let mirror = tempfile::tempdir().unwrap();
    {
        let out = std::fs::File::create(mirror.path().join(&file)).unwrap();
        let mut tar = tar::Builder::new(out);
        tar.append_path_with_name(&zig, format!("zig-{host}-{version}/zig"))
            .unwrap();
        tar.finish().unwrap();
    }
    let bytes = std::fs::read(mirror.path().join(&file)).unwrap();
    let sha = hex::encode(Sha256::digest(&bytes));
    let recipe = format!(
        "[toolchain]\nname = \"zig\"\nversion = \"{version}\"\nversion-req = \">=0.14.1, <0.18.0\"\nlicense = \"MIT\"\n\n[[toolchain.release]]\nhost = \"{host}\"\nfile = \"{file}\"\nsha256 = \"{sha}\"\nurls = [\"https://ziglang.invalid/{file}\"]\n"
    );
    std::fs::write(f.recipes.join("zig.toml"), &recipe).unwrap();

    let fetch = |mirror_dir: &Path| {
        Command::new(env!("CARGO_BIN_EXE_crossroot"))
            .arg("--recipes")
            .arg(&f.recipes)
            .arg("--mirror")
            .arg(mirror_dir)
            .arg("--mirror")
            .arg(&f.server.base)
            .args(["fetch", "demo"])
            .env("CROSSROOT_HOME", &f.home)
            .env("PATH", "/usr/bin:/bin")
            .env("CROSSROOT_PYTHON", "/nonexistent/python3")
            .env_remove("ZIG")
            .output()
            .unwrap()
    };
    // A tampered archive is refused and nothing is unpacked.
    let tampered = tempfile::tempdir().unwrap();
    let mut bad = bytes.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0xff;
    std::fs::write(tampered.path().join(&file), &bad).unwrap();
    let out = fetch(tampered.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("sha256 mismatch"), "{}", stderr(&out));
    assert!(
        !f.home
            .join(format!("toolchains-v1/zig-{version}-{host}"))
            .exists()
    );

    let out = fetch(mirror.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("fetching zig {version}")), "{err}");
    let unpacked = f
        .home
        .join(format!("toolchains-v1/zig-{version}-{host}/zig"));
    assert!(unpacked.is_file(), "{}", unpacked.display());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&unpacked.display().to_string()),
        "{err}"
    );
    // Next time the unpacked release is found without fetching.
    let out = fetch(mirror.path());
    assert!(out.status.success());
    assert!(!stderr(&out).contains("fetching zig"), "{}", stderr(&out));
}

#[test]
fn run_passes_on_exit_status_and_signals_and_names_the_missing_qemu() {
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    if std::env::consts::ARCH == "x86_64" {
        // x86_64 programs run natively: crossroot becomes the program.
        let out = bare(
            &[
                "run",
                "--target",
                "linux/amd64",
                "--",
                "sh",
                "-c",
                "echo out; exit 7",
            ],
            &home,
        );
        assert_eq!(out.status.code(), Some(7));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
        let out = bare(
            &[
                "run",
                "-t",
                "linux/amd64",
                "--",
                "sh",
                "-c",
                "kill -TERM $$",
            ],
            &home,
        );
        assert_eq!(out.status.signal(), Some(libc::SIGTERM), "{:?}", out.status);
        let out = bare(
            &["run", "-t", "linux/amd64", "--", "/nonexistent/app"],
            &home,
        );
        assert_eq!(out.status.code(), Some(127));
        assert!(
            stderr(&out).contains("/nonexistent/app"),
            "{}",
            stderr(&out)
        );
    }
    // A foreign target with no qemu on PATH: what to install.
    let out = Command::new(env!("CARGO_BIN_EXE_crossroot"))
        .args(["run", "--target", "linux/riscv64", "--", "./app"])
        .env("CROSSROOT_HOME", &home)
        .env("PATH", tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("qemu-riscv64-static") && err.contains("qemu-user-static"),
        "{err}"
    );
}

#[test]
fn go_build_refuses_bad_platforms_flags_and_a_missing_profile_before_building() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_crossroot"))
            .args(args)
            .current_dir(tmp.path())
            .env("CROSSROOT_HOME", &home)
            .output()
            .unwrap();
        (out.status.code(), stderr(&out))
    };
    let (code, err) = run(&["go", "build", "--platform", "linux/sparc64", "."]);
    assert_eq!(code, Some(2));
    assert!(err.contains("linux/sparc64"), "{err}");
    let (code, err) = run(&[
        "go",
        "build",
        "--platform",
        "linux/arm64",
        "--",
        "-o",
        "x",
        ".",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("-o DIR"), "{err}");
    let (code, err) = run(&["go", "build", "--platform", "linux/arm64", "./a", "./b"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("one program at a time"), "{err}");
    // No ./crossroot.toml here, no --profile, no --with.
    let (code, err) = run(&["go", "build", "--platform", "linux/arm64", "."]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("crossroot.toml") && err.contains("--with curl"),
        "{err}"
    );
    // Nothing was built or created.
    assert!(!home.join("sysroots-v1").exists());
}
