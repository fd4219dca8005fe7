//! A faster C compiler wrapper for crossroot's own build steps with zig.
//!
//! `zig cc -c x.c -o x.o` starts zig's driver, looks the object up in zig's cache, runs
//! `zig clang` as a child, then runs `zig ld.lld -r` over the one object it produced to write
//! `x.o`. That bookkeeping costs ~20-40 ms per object (8 % of compiling curl's `http.c`, a third
//! of a configure check's compile); over a cold curl-stack build it came to ~6 % of the CPU
//! (BENCHMARKS.md). The clang command zig runs depends only on the
//! target and on the flags zig interprets (optimization, debug info, CPU), so crossroot asks zig
//! once, per target and build flags, which arguments it gives clang (`ZIG_VERBOSE_CC`), and the
//! build steps' `<triple>-cc` runs `zig clang` with those arguments directly for compile-only
//! calls whose every option is one zig passes through unchanged. Any other call, and every
//! link, goes through `zig cc` as before.
//!
//! The objects differ from zig cc's only in what its `ld.lld -r` pass does to the container
//! (section order, merged string tables); the code, data and symbols are clang's in both.
//! `CROSSROOT_ZIG_DIRECT=0` turns this off.

use std::path::Path;
use std::process::Command;

use super::{Zig, sh_quote, zig_driver, zig_head};
use crate::target::Target;

/// Environment variable that turns the direct path off when set to `0`.
pub const ENV: &str = "CROSSROOT_ZIG_DIRECT";

/// File name of the captured clang arguments, beside the wrappers.
pub const ARGS_FILE: &str = "zig-clang.args";

/// Whether build steps may use the direct path (`CROSSROOT_ZIG_DIRECT` is not `0`).
pub fn enabled() -> bool {
    std::env::var_os(ENV).is_none_or(|v| v != "0")
}

/// The arguments zig cc gives clang for a compile-only call with `cflags` for `target`, with
/// the input, output and zig's own dependency-file arguments taken out; `Err` says why the
/// direct path cannot be used (the build then uses zig cc for everything).
pub fn capture(
    zig: &Zig,
    target: &Target,
    cflags: &str,
    scratch: &Path,
) -> Result<Vec<String>, String> {
    let unsafe_path = |p: &Path| p.to_string_lossy().chars().any(char::is_whitespace);
    if unsafe_path(&zig.exe) || unsafe_path(scratch) {
        return Err("a path contains whitespace".into());
    }
    std::fs::create_dir_all(scratch).map_err(|e| format!("create {}: {e}", scratch.display()))?;
    let probe = scratch.join("probe.c");
    std::fs::write(&probe, "int crossroot_probe(int x) { return x * 3 + 1; }\n")
        .map_err(|e| format!("write {}: {e}", probe.display()))?;
    let cache = scratch.join("cache");
    let flags: Vec<&str> = cflags.split_whitespace().collect();
    let out = Command::new(&zig.exe)
        .arg("cc")
        .args(["-target", target.zig_target])
        .args(target.zig_flags())
        .args(&flags)
        .args(["-c", "probe.c", "-o", "zig-cc.o"])
        .current_dir(scratch)
        // A private cache, so zig compiles (and prints) instead of finding the object.
        .env("ZIG_GLOBAL_CACHE_DIR", &cache)
        .env("ZIG_LOCAL_CACHE_DIR", &cache)
        .env("ZIG_VERBOSE_CC", "1")
        .output()
        .map_err(|e| format!("run {}: {e}", zig.exe.display()))?;
    if !out.status.success() {
        return Err(format!(
            "zig cc failed on a probe: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let args = parse_verbose(&stderr, &zig.exe.to_string_lossy(), "probe.c")?;
    let scratch_str = scratch.to_string_lossy();
    if args.iter().any(|a| a.contains(scratch_str.as_ref())) {
        return Err("zig's clang arguments name the probe's directory".into());
    }
    // The captured arguments must compile the probe by themselves.
    let args_file = scratch.join(ARGS_FILE);
    std::fs::write(&args_file, args_file_text(&args))
        .map_err(|e| format!("write {}: {e}", args_file.display()))?;
    let direct = Command::new(&zig.exe)
        .arg("clang")
        .arg(format!("@{}", args_file.display()))
        .args(["-c", "probe.c", "-o", "direct.o"])
        .current_dir(scratch)
        .output()
        .map_err(|e| format!("run {}: {e}", zig.exe.display()))?;
    let object = std::fs::read(scratch.join("direct.o")).unwrap_or_default();
    if !direct.status.success() || !object.starts_with(b"\x7fELF") {
        return Err(format!(
            "zig clang with zig cc's arguments failed on the probe: {}",
            String::from_utf8_lossy(&direct.stderr).trim()
        ));
    }
    Ok(args)
}

/// Picks zig's `<zig> clang <input> …` line out of `ZIG_VERBOSE_CC` output and drops the
/// input, `-c`, `-o FILE` and zig's `-MD -MV -MF FILE`.
fn parse_verbose(stderr: &str, zig_exe: &str, input: &str) -> Result<Vec<String>, String> {
    let prefix = format!("{zig_exe} clang ");
    let line = stderr
        .lines()
        .find(|l| l.starts_with(&prefix))
        .ok_or("zig cc printed no clang command (ZIG_VERBOSE_CC)")?;
    let mut words = line[prefix.len()..].split_whitespace();
    if words.next() != Some(input) {
        return Err(format!("unexpected clang command from zig cc: {line}"));
    }
    let mut args = Vec::new();
    while let Some(w) = words.next() {
        match w {
            "-MD" | "-MV" | "-c" => {}
            "-MF" | "-o" => {
                words.next();
            }
            _ => args.push(w.to_string()),
        }
    }
    if !args.iter().any(|a| a == "-target") {
        return Err(format!("zig cc's clang command has no -target: {line}"));
    }
    Ok(args)
}

/// A clang response file: one argument per line (none contains whitespace).
pub fn args_file_text(args: &[String]) -> String {
    let mut s = args.join("\n");
    s.push('\n');
    s
}

/// The build steps' `<triple>-cc`: compile-only calls whose options are all in a list zig
/// passes through to clang unchanged run `zig clang @ARGS`; anything else runs `zig cc`.
/// `cflags` are the build's flags the arguments were captured with (the only `-O`/`-g` forms
/// accepted).
pub fn cc_wrapper(
    zig: &Zig,
    target: &Target,
    zig_cache: &Path,
    args_file: &Path,
    cflags: &str,
) -> String {
    let head = zig_head(zig, target, zig_cache, "C compiler");
    let exe = sh_quote(&zig.exe.display().to_string());
    let own: String = cflags
        .split_whitespace()
        .map(|f| format!("|{}", sh_quote(f)))
        .collect();
    format!(
        r#"{head}# Compile-only calls (-c) whose options are all listed below run zig's clang with the
# arguments zig cc gives it (captured by crossroot in {ARGS_FILE}); everything else runs zig cc.
direct=
skip=
for a in "$@"; do
  if [ -n "$skip" ]; then skip=; continue; fi
  case $a in
    -c) direct=1 ;;
    -o|-MF|-MT|-MQ|-I|-D|-U|-include|-isystem|-iquote|-idirafter) skip=1 ;;
    -Wa,--noexecstack) ;;
    -Wl,*|-Wa,*|-Wp,*|-Xclang|-Xassembler|-Xpreprocessor|-Xlinker) direct=; break ;;
    -I?*|-D?*|-U?*|-isystem?*|-iquote?*|-idirafter?*|-W*|-w|-MD|-MMD|-MP|-std=*|-pedantic|-pthread|-fPIC|-fpic|-fvisibility=*|-Qunused-arguments{own}) ;;
    -*) direct=; break ;;
    *.c) ;;
    *) direct=; break ;;
  esac
done
if [ -n "$direct" ]; then
  exec {exe} clang @{args} "$@"
fi
exec {zig_cc} "$@"
"#,
        args = sh_quote(&args_file.display().to_string()),
        zig_cc = zig_driver(zig, target, "cc"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    /// Runs the wrapper with a stand-in zig that prints which way it was called.
    #[test]
    fn wrapper_sends_plain_compiles_to_clang_and_the_rest_to_zig_cc() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("zig");
        std::fs::write(&fake, "#!/bin/sh\necho \"$1 $2\"\n").unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let zig = Zig {
            exe: fake,
            version: "0.17.1".into(),
            sha256: "0".repeat(64),
            origin: "PATH".into(),
        };
        let target = Target::parse("riscv64-linux-musl").unwrap();
        let args_file = PathBuf::from("/b/zig-clang.args");
        let script = cc_wrapper(
            &zig,
            target,
            &dir.path().join("cache"),
            &args_file,
            "-O2 -g0",
        );
        let cc = dir.path().join("cc");
        std::fs::write(&cc, script).unwrap();
        std::fs::set_permissions(&cc, std::fs::Permissions::from_mode(0o755)).unwrap();
        let way = |args: &[&str]| {
            let out = Command::new(&cc).args(args).output().unwrap();
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        let clang = "clang @/b/zig-clang.args";
        let zig_cc = "cc -target";
        let plain = [
            "-O2", "-g0", "-DX=1", "-I", "inc", "-Iinc2", "-c", "a.c", "-o", "a.o",
        ];
        assert_eq!(way(&plain), clang);
        assert_eq!(
            way(&[
                "-fPIC",
                "-pthread",
                "-Wa,--noexecstack",
                "-MMD",
                "-MF",
                "a.d",
                "-c",
                "a.c"
            ]),
            clang
        );
        assert_eq!(
            way(&["-O2", "a.c", "-o", "a"]),
            zig_cc,
            "links go through zig cc"
        );
        assert_eq!(way(&["-c", "a.S"]), zig_cc, "only C sources");
        assert_eq!(
            way(&["-O3", "-c", "a.c"]),
            zig_cc,
            "other optimization levels"
        );
        assert_eq!(way(&["-g", "-c", "a.c"]), zig_cc, "other debug info");
        assert_eq!(way(&["-march=rv64gc", "-c", "a.c"]), zig_cc, "CPU flags");
        assert_eq!(way(&["-Wl,-z,now", "-c", "a.c"]), zig_cc);
        assert_eq!(way(&["-E", "a.c"]), zig_cc);
        assert_eq!(way(&["--version"]), zig_cc);
    }

    #[test]
    fn parses_zigs_clang_line() {
        let out = "noise\n/z/zig clang probe.c --no-default-config -target aarch64-unknown-linux5.10.0-musl -MD -MV -MF /c/tmp/x.o.d -nostdinc -isystem /z/lib/include -O2 -g0 -c -o /c/tmp/x.o\n";
        let args = parse_verbose(out, "/z/zig", "probe.c").unwrap();
        assert_eq!(
            args,
            [
                "--no-default-config",
                "-target",
                "aarch64-unknown-linux5.10.0-musl",
                "-nostdinc",
                "-isystem",
                "/z/lib/include",
                "-O2",
                "-g0"
            ]
        );
        assert!(parse_verbose("nothing here", "/z/zig", "probe.c").is_err());
        assert!(parse_verbose("/z/zig clang other.c -target x", "/z/zig", "probe.c").is_err());
    }
}
