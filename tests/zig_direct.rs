//! The direct compile path of zig builds (src/toolchain/direct.rs), against the real zig: for
//! each target, zig's clang run with the captured arguments must see the same predefined macros
//! as `zig cc` with crossroot's flags, and emit the same machine code.

mod common;

use std::path::Path;
use std::process::Command;

use common::installed_zig;
use crossroot::target::Target;
use crossroot::toolchain::Zig;
use crossroot::toolchain::direct;

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
        let zig_cc = || {
            let mut c = Command::new(&zig.exe);
            c.arg("cc")
                .args(["-target", target.zig_target])
                .args(target.zig_flags())
                .args(CFLAGS.split_whitespace())
                .env("ZIG_GLOBAL_CACHE_DIR", &cache)
                .env("ZIG_LOCAL_CACHE_DIR", &cache);
            c
        };
        let clang = || {
            let mut c = Command::new(&zig.exe);
            c.arg("clang").arg(format!("@{}", args_file.display()));
            c
        };

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
