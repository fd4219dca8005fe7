//! The direct path of zig builds (src/toolchain/direct.rs), against the real zig: for each
//! target, zig's clang run with the captured arguments must see the same predefined macros as
//! `zig cc` with crossroot's flags (and with none), and emit the same machine code; the
//! generated `<triple>-cc` must link what zig cc links, to the byte, and its programs run.

mod common;

use std::path::Path;
use std::process::Command;

use common::installed_zig;
use crossroot::target::Target;
use crossroot::toolchain::Zig;
use crossroot::toolchain::{direct, zig_driver_args};

const TARGETS: &[&str] = &[
    "aarch64-linux-musl",
    "riscv64-linux-musl",
    "x86_64-linux-musl",
];
const CFLAGS: &str = "-O2 -g0";

const SOURCE: &str = r#"
#include <stdint.h>
#include <string.h>
#include <pthread.h>
uint64_t mix(uint64_t a, uint64_t b) {
    uint64_t x = a * 0x9E3779B97F4A7C15ull ^ (b >> 7);
    for (int i = 0; i < 5; i++) x = (x << 13 | x >> 51) + b;
    return x;
}
double scale(double v, int n) { return v * n + 0.5; }
size_t measure(const char *s) { return strlen(s) * sizeof(pthread_t); }
"#;

fn zig() -> Zig {
    Zig {
        exe: installed_zig(),
        version: "test".into(),
        sha256: "0".repeat(64),
        origin: "ziglang (python)".into(),
    }
}

/// `zig cc` as crossroot runs it for `target`, with `flags`, on the cache `cache`.
fn zig_cc_command(zig: &Zig, target: &Target, flags: &str, cache: &Path) -> Command {
    let mut c = Command::new(&zig.exe);
    c.args(zig_driver_args(target, "cc"))
        .args(flags.split_whitespace())
        .env("ZIG_GLOBAL_CACHE_DIR", cache)
        .env("ZIG_LOCAL_CACHE_DIR", cache);
    c
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("zig runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The bytes of the `.text` section of a little-endian ELF64 relocatable object.
fn text_section(path: &Path) -> Vec<u8> {
    let b = std::fs::read(path).unwrap();
    let u16_at = |o: usize| u16::from_le_bytes(b[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
    assert_eq!(&b[..5], b"\x7fELF\x02", "{} is not ELF64", path.display());
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let section = |i: usize| {
        let h = shoff + i * shentsize;
        (u32_at(h), u64_at(h + 0x18), u64_at(h + 0x20))
    };
    let (_, names_off, _) = section(shstrndx);
    (0..shnum)
        .map(section)
        .find(|&(name, _, _)| b[names_off + name..].starts_with(b".text\0"))
        .map(|(_, off, size)| b[off..off + size].to_vec())
        .unwrap_or_else(|| panic!("no .text in {}", path.display()))
}

#[test]
fn direct_clang_matches_zig_cc_for_every_target() {
    let zig = zig();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("mix.c");
    std::fs::write(&src, SOURCE).unwrap();
    let cache = dir.path().join("zig-cache");
    for name in TARGETS {
        let target = Target::parse(name).unwrap();
        let args = direct::capture(
            &zig,
            target,
            CFLAGS,
            &dir.path().join(format!("probe-{name}")),
        )
        .unwrap_or_else(|e| panic!("{name}: capture failed: {e}"));
        let args_file = dir.path().join(format!("{name}.args"));
        std::fs::write(&args_file, direct::args_file_text(&args)).unwrap();
        let zig_cc = || zig_cc_command(&zig, target, CFLAGS, &cache);
        let clang = || {
            let mut c = Command::new(&zig.exe);
            c.arg("clang").arg(format!("@{}", args_file.display()));
            c
        };

        // Preprocessor runs without -O/-g (configure's CPP) use what zig gives such a call.
        let plain = direct::capture(&zig, target, "", &dir.path().join(format!("plain-{name}")))
            .unwrap_or_else(|e| panic!("{name}: capture without flags failed: {e}"));
        let plain_file = dir.path().join(format!("{name}-plain.args"));
        std::fs::write(&plain_file, direct::args_file_text(&plain)).unwrap();
        let macros_cc = run(zig_cc_command(&zig, target, "", &cache)
            .args(["-dM", "-E"])
            .arg(&src));
        let macros_direct = run(Command::new(&zig.exe)
            .arg("clang")
            .arg(format!("@{}", plain_file.display()))
            .args(["-dM", "-E"])
            .arg(&src));
        assert!(
            macros_cc == macros_direct,
            "{name}: without flags, zig clang with the captured arguments predefines other macros than zig cc"
        );

        let macros_cc = run(zig_cc().args(["-dM", "-E"]).arg(&src));
        let macros_direct = run(clang().args(["-dM", "-E"]).arg(&src));
        assert!(
            macros_cc == macros_direct,
            "{name}: zig clang with the captured arguments predefines other macros than zig cc"
        );

        let (a, b) = (
            dir.path().join(format!("{name}-cc.o")),
            dir.path().join(format!("{name}-direct.o")),
        );
        // With options the wrapper passes straight to clang, as OpenSSL and curl use them.
        let extra = [
            "-fPIC",
            "-pthread",
            "-fvisibility=hidden",
            "-DMIX=1",
            "-std=gnu11",
        ];
        run(zig_cc().args(extra).arg("-c").arg(&src).arg("-o").arg(&a));
        run(clang().args(extra).arg("-c").arg(&src).arg("-o").arg(&b));
        assert_eq!(
            text_section(&a),
            text_section(&b),
            "{name}: machine code differs between zig cc and the direct path"
        );
    }
}

/// The generated wrapper's links, for riscv64 (one target: capturing the link command builds
/// musl in zig's cache, ~30 s): a program linked from the same objects and archive is the
/// same file both ways, and one built from source by the wrapper runs under qemu.
#[test]
fn direct_links_match_zig_cc() {
    let zig = zig();
    let name = "riscv64-linux-musl";
    let target = Target::parse(name).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cache = d.join("zig-cache");
    let args = direct::capture(&zig, target, CFLAGS, &d.join("probe")).unwrap();
    let plain = direct::capture(&zig, target, "", &d.join("probe-plain")).unwrap();
    // The first capture builds musl (~30-50 s); then a capture takes ~0.1 s.
    let limit = std::time::Duration::from_secs(600);
    let line = direct::capture_link(
        &zig,
        target,
        CFLAGS,
        &args,
        &cache,
        &d.join("probe-link"),
        limit,
    )
    .unwrap_or_else(|e| panic!("{name}: link capture failed: {e}"))
    .expect("zig links the probe within the limit");
    let files = direct::DirectFiles::write(d, &args, &plain, Some(&line)).unwrap();
    let cc = d.join("cc");
    std::fs::write(
        &cc,
        direct::cc_wrapper(&zig, target, &cache, &files, CFLAGS),
    )
    .unwrap();
    std::fs::set_permissions(&cc, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let zig_cc = || {
        let mut c = zig_cc_command(&zig, target, CFLAGS, &cache);
        c.current_dir(d);
        c
    };
    let wrapper = || {
        let mut c = Command::new(&cc);
        c.args(CFLAGS.split_whitespace()).current_dir(d);
        c
    };

    std::fs::create_dir(d.join("lib")).unwrap();
    std::fs::write(d.join("mix.c"), SOURCE).unwrap();
    std::fs::write(
        d.join("main.c"),
        "#include <stdio.h>\n#include <stdint.h>\n#include <math.h>\n\
         uint64_t mix(uint64_t, uint64_t);\n\
         int main(void) { printf(\"%llx %.3f\\n\", (unsigned long long)mix(7, 9), sqrt(2.0)); return 0; }\n",
    )
    .unwrap();
    run(zig_cc().args(["-c", "mix.c", "-o", "mix.o"]));
    run(Command::new(&zig.exe)
        .args(["ar", "rcs", "lib/libmix.a", "mix.o"])
        .current_dir(d));
    run(wrapper().args(["-c", "main.c", "-o", "main.o"]));

    // The same objects and archive, linked both ways.
    let link = ["main.o", "-L", "lib", "-lmix", "-lm", "-pthread", "-static"];
    run(zig_cc().args(link).args(["-o", "via-zig-cc"]));
    run(wrapper().args(link).args(["-o", "via-wrapper"]));
    assert!(
        std::fs::read(d.join("via-zig-cc")).unwrap()
            == std::fs::read(d.join("via-wrapper")).unwrap(),
        "{name}: the wrapper's link of the same inputs differs from zig cc's"
    );

    // From source, as configure's link checks do; it runs and prints what zig cc's build prints.
    run(zig_cc().args(["main.c", "-Llib", "-lmix", "-lm", "-o", "src-zig-cc"]));
    run(wrapper().args(["main.c", "-Llib", "-lmix", "-lm", "-o", "src-wrapper"]));
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".crossroot-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "the wrapper left its object: {leftovers:?}"
    );
    let qemu = common::require_tool(&format!("{}-static", target.qemu), "qemu-user-static");
    let output = |exe: &str| run(Command::new(&qemu).arg(d.join(exe)));
    assert_eq!(output("src-wrapper"), output("src-zig-cc"));
    assert!(!output("src-wrapper").is_empty());

    // A failing link check fails, and leaves no program.
    std::fs::write(
        d.join("undef.c"),
        "int nowhere(void);\nint main(void) { return nowhere(); }\n",
    )
    .unwrap();
    let failed = wrapper().args(["undef.c", "-o", "undef"]).output().unwrap();
    assert!(
        !failed.status.success(),
        "an undefined symbol must fail the link"
    );
    assert!(String::from_utf8_lossy(&failed.stderr).contains("nowhere"));
    assert!(!d.join("undef").exists());
}
