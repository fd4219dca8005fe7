//! A faster C compiler wrapper for crossroot's own build steps with zig.
//!
//! `zig cc -c x.c -o x.o` starts zig's driver, looks the object up in zig's cache, runs
//! `zig clang` as a child, then runs `zig ld.lld -r` over the one object it produced to write
//! `x.o`. That bookkeeping costs ~20-40 ms per object (8 % of compiling curl's `http.c`, a third
//! of a configure check's compile); over a cold curl-stack build it came to ~6 % of the CPU
//! (BENCHMARKS.md). A link (`zig cc conftest.c -o conftest -lssl`, configure's link checks)
//! pays it again, plus zig's lookup of libc and compiler-rt in its cache, and `zig cc -E` (a
//! configure's CPP) pays the driver for a preprocessor run.
//!
//! What zig runs depends only on the target and on the flags zig interprets (optimization,
//! debug info, CPU), so crossroot asks zig once, per target and build flags: which arguments
//! it gives clang (`ZIG_VERBOSE_CC`, [`capture`]; also with no flags, for `-E` without CFLAGS)
//! and which `ld.lld` command links a program ([`capture_link`], `ZIG_VERBOSE_LINK`, checked
//! to write the very bytes zig cc writes). The build steps' `<triple>-cc` ([`cc_wrapper`])
//! then runs `zig clang` and `zig ld.lld` with those for calls whose every option is one zig
//! passes through unchanged, with the build's own `-O`/`-g` flags (zig cc adds `-DNDEBUG` at
//! `-O2`, sanitizers without `-O`: a call with other flags is another compile). Any other
//! call goes through `zig cc` as before.
//!
//! The objects differ from zig cc's only in what its `ld.lld -r` pass does to the container
//! (section order, merged string tables); the code, data and symbols are clang's in both.
//! `CROSSROOT_ZIG_DIRECT=0` turns this off.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Zig, zig_driver, zig_driver_args, zig_head};
use crate::shell;
use crate::target::Target;

/// Environment variable that turns the direct path off when set to `0`.
pub const ENV: &str = "CROSSROOT_ZIG_DIRECT";

/// File name of the captured clang arguments, beside the wrappers.
pub const ARGS_FILE: &str = "zig-clang.args";
/// File name of the clang arguments zig gives a call with no `-O`/`-g` flags.
pub const PLAIN_ARGS_FILE: &str = "zig-clang-plain.args";

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
    let stderr = run_zig(
        Command::new(&zig.exe)
            .args(zig_driver_args(target, "cc"))
            .args(&flags)
            .args(["-c", "probe.c", "-o", "zig-cc.o"])
            // A private cache, so zig compiles (and prints) instead of finding the object.
            .env("ZIG_GLOBAL_CACHE_DIR", &cache)
            .env("ZIG_LOCAL_CACHE_DIR", &cache)
            .env("ZIG_VERBOSE_CC", "1"),
        scratch,
        "zig cc on a probe",
    )?;
    let args = parse_verbose(&stderr, &zig.exe.to_string_lossy(), "probe.c")?;
    let scratch_str = scratch.to_string_lossy();
    if args.iter().any(|a| a.contains(scratch_str.as_ref())) {
        return Err("zig's clang arguments name the probe's directory".into());
    }
    // The captured arguments must compile the probe by themselves.
    let args_file = scratch.join(ARGS_FILE);
    std::fs::write(&args_file, args_file_text(&args))
        .map_err(|e| format!("write {}: {e}", args_file.display()))?;
    run_zig(
        Command::new(&zig.exe)
            .arg("clang")
            .arg(format!("@{}", args_file.display()))
            .args(["-c", "probe.c", "-o", "direct.o"]),
        scratch,
        "zig clang with zig cc's arguments on the probe",
    )?;
    let object = std::fs::read(scratch.join("direct.o")).unwrap_or_default();
    if !object.starts_with(b"\x7fELF") {
        return Err("zig clang with zig cc's arguments wrote no object for the probe".into());
    }
    Ok(args)
}

/// Runs `cmd` (a zig command) in `dir` and returns what it printed to stderr, or `Err` naming
/// `what` with zig's message when it fails.
fn run_zig(cmd: &mut Command, dir: &Path, what: &str) -> Result<String, String> {
    let out = cmd
        .current_dir(dir)
        .output()
        .map_err(|e| format!("{what}: cannot run zig: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(format!("{what} failed: {}", stderr.trim()));
    }
    Ok(stderr)
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

/// zig's `ld.lld` command for a static executable with the build's flags, split where the
/// program's own objects and libraries go: `before` ends with the start files (`crt1.o`),
/// `after` holds libc, zig's C runtime and compiler-rt from zig's cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkLine {
    pub before: Vec<String>,
    pub after: Vec<String>,
}

/// File names of [`LinkLine`]'s two halves beside the wrappers (lld response files).
pub const LINK_BEFORE_FILE: &str = "zig-lld-before.args";
pub const LINK_AFTER_FILE: &str = "zig-lld-after.args";

/// The link command zig cc runs for a program built with `cflags` for `target`
/// (`ZIG_VERBOSE_LINK`), split around the program's inputs. It runs with zig's shared cache
/// `zig_cache`: with libc there, it takes ~0.1 s; when zig is not done within `limit`, it is
/// building libc, and the capture gives up rather than hold the build up: `Ok(None)` (the
/// package's own first link builds libc, and a later package can capture). The capture is
/// checked: lld with the two halves must write the very bytes zig cc wrote for the same
/// object, or `Err` says why not.
pub fn capture_link(
    zig: &Zig,
    target: &Target,
    cflags: &str,
    compile_args: &[String],
    zig_cache: &Path,
    scratch: &Path,
    limit: Duration,
) -> Result<Option<LinkLine>, String> {
    if zig_cache.to_string_lossy().chars().any(char::is_whitespace) {
        return Err("the zig cache path contains whitespace".into());
    }
    std::fs::create_dir_all(scratch).map_err(|e| format!("create {}: {e}", scratch.display()))?;
    let write = |name: &str, text: &str| {
        let path = scratch.join(name);
        std::fs::write(&path, text).map_err(|e| format!("write {}: {e}", path.display()))
    };
    write("crossroot-link-probe.c", "int main(void) { return 0; }\n")?;
    write(ARGS_FILE, &args_file_text(compile_args))?;
    run_zig(
        Command::new(&zig.exe)
            .arg("clang")
            .arg(format!("@{ARGS_FILE}"))
            .args(["-c", "crossroot-link-probe.c", "-o", PROBE_OBJECT]),
        scratch,
        "compiling the link probe",
    )?;
    // zig prints to stderr, into a file: building libc it prints much more than a pipe holds.
    let log_path = scratch.join("zig-cc-link.log");
    let log = std::fs::File::create(&log_path)
        .map_err(|e| format!("create {}: {e}", log_path.display()))?;
    let mut child = Command::new(&zig.exe)
        .args(zig_driver_args(target, "cc"))
        .args(cflags.split_whitespace())
        .args([PROBE_OBJECT, "-o", "via-zig-cc"])
        .current_dir(scratch)
        .env("ZIG_GLOBAL_CACHE_DIR", zig_cache)
        .env("ZIG_LOCAL_CACHE_DIR", zig_cache)
        .env("ZIG_VERBOSE_LINK", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("run {}: {e}", zig.exe.display()))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                // zig is building libc: the package's own first link will (zig's cache survives
                // a killed build).
                let _ = child.kill();
                let _ = child.wait();
                return Ok(None);
            }
            Err(e) => return Err(format!("wait for {}: {e}", zig.exe.display())),
        }
    };
    let verbose = std::fs::read_to_string(&log_path).unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "zig cc linking the probe failed: {}",
            verbose.trim()
        ));
    }
    let line = parse_verbose_link(&verbose, scratch)?;
    write(LINK_BEFORE_FILE, &args_file_text(&line.before))?;
    write(LINK_AFTER_FILE, &args_file_text(&line.after))?;
    run_zig(
        Command::new(&zig.exe)
            .arg("ld.lld")
            .arg(format!("@{LINK_BEFORE_FILE}"))
            .args(["-o", "direct", PROBE_OBJECT])
            .arg(format!("@{LINK_AFTER_FILE}")),
        scratch,
        "zig ld.lld with zig cc's link arguments",
    )?;
    let same = std::fs::read(scratch.join("direct")).ok()
        == std::fs::read(scratch.join("via-zig-cc")).ok();
    if !same {
        return Err("zig ld.lld with zig cc's link arguments wrote another program".into());
    }
    Ok(Some(line))
}

/// The link probe's object, as zig cc is given it (and prints it).
const PROBE_OBJECT: &str = "crossroot-link-probe.o";

/// Picks the `ld.lld …` line of the probe's link out of `ZIG_VERBOSE_LINK` output (zig prints
/// its own links too when it builds libc), drops `-o FILE`, splits it at the probe's object
/// and makes paths relative to `cwd` absolute.
fn parse_verbose_link(stderr: &str, cwd: &Path) -> Result<LinkLine, String> {
    let line = stderr
        .lines()
        .filter(|l| l.starts_with("ld.lld "))
        .find(|l| l.split_whitespace().any(|w| w == PROBE_OBJECT))
        .ok_or("zig cc printed no ld.lld command for the probe (ZIG_VERBOSE_LINK)")?;
    let mut words = line.split_whitespace().skip(1);
    let (mut before, mut after) = (Vec::new(), Vec::new());
    let mut seen_input = false;
    while let Some(w) = words.next() {
        if w == "-o" {
            words.next();
            continue;
        }
        if w == PROBE_OBJECT {
            if seen_input {
                return Err(format!("the probe's object appears twice in: {line}"));
            }
            seen_input = true;
            continue;
        }
        let resolved = if !w.starts_with(['-', '/']) && cwd.join(w).is_file() {
            cwd.join(w).to_string_lossy().into_owned()
        } else {
            w.to_string()
        };
        if resolved.starts_with('/') && !Path::new(&resolved).exists() {
            return Err(format!(
                "zig's link command names a missing file {resolved}"
            ));
        }
        if seen_input { &mut after } else { &mut before }.push(resolved);
    }
    if !seen_input || !before.iter().any(|w| w.ends_with("crt1.o")) {
        return Err(format!("unexpected link command from zig cc: {line}"));
    }
    Ok(LinkLine { before, after })
}

/// Where the build steps' `<triple>-cc` finds what [`capture`] and [`capture_link`] found.
pub struct DirectFiles {
    /// clang arguments with the build's flags ([`ARGS_FILE`]).
    pub args: PathBuf,
    /// clang arguments zig gives a call with no `-O`/`-g` flags, for preprocessor runs
    /// (`$CC -E` without CFLAGS, as configure's CPP).
    pub plain_args: PathBuf,
    /// The two halves of the link command, when links may go direct.
    pub link: Option<(PathBuf, PathBuf)>,
}

impl DirectFiles {
    /// Writes the captured arguments into `dir` as response files, under the names above.
    pub fn write(
        dir: &Path,
        args: &[String],
        plain_args: &[String],
        link: Option<&LinkLine>,
    ) -> std::io::Result<Self> {
        let write = |name: &str, words: &[String]| {
            let path = dir.join(name);
            std::fs::write(&path, args_file_text(words)).map(|()| path)
        };
        Ok(DirectFiles {
            args: write(ARGS_FILE, args)?,
            plain_args: write(PLAIN_ARGS_FILE, plain_args)?,
            link: match link {
                Some(line) => Some((
                    write(LINK_BEFORE_FILE, &line.before)?,
                    write(LINK_AFTER_FILE, &line.after)?,
                )),
                None => None,
            },
        })
    }
}

/// The build steps' `<triple>-cc`. Calls whose options are all in a list zig passes through to
/// clang unchanged, with the build's own `-O`/`-g` flags (`cflags`), take a short way:
/// compiles (`-c`) and preprocessor runs (`-E`, also with no `-O`/`-g` at all) run `zig clang`
/// with the captured arguments; links of one C source or of objects, with `-L`/`-l` libraries
/// found as static archives, compile the source that way and run `zig ld.lld` with zig's
/// captured link command. Anything else runs `zig cc`.
pub fn cc_wrapper(
    zig: &Zig,
    target: &Target,
    zig_cache: &Path,
    files: &DirectFiles,
    cflags: &str,
) -> String {
    let head = zig_head(zig, target, zig_cache, "C compiler");
    let exe = shell::quote(&zig.exe.display().to_string());
    let own: Vec<&str> = cflags.split_whitespace().collect();
    // One variable per flag of the build's own: set when the call has it.
    let own_cases: String = own
        .iter()
        .enumerate()
        .map(|(i, f)| format!("    {}) own{i}=1 ;;\n", shell::quote(f)))
        .collect();
    let own_init: String = (0..own.len()).map(|i| format!("own{i}= ")).collect();
    let own_all: String = (0..own.len())
        .map(|i| format!("[ -n \"$own{i}\" ] && "))
        .collect();
    let own_none: String = (0..own.len()).map(|i| format!("$own{i}")).collect();
    let quote = |p: &Path| shell::quote(&p.display().to_string());
    let link = match &files.link {
        Some((before, after)) => format!(
            r#"if [ "$mode" = link ] && [ -n "$out" ] && {own_all}{{ [ "$srcs" = 1 ] || {{ [ "$srcs" = 0 ] && [ -n "$objs" ]; }}; }}; then
  # zig's link: crt1.o, the inputs in order with -l resolved to archives, the compiled
  # source's object last, then libc, zig's C runtime and compiler-rt.
  set -f
  inputs=
  skip=
  for a in "$@"; do
    if [ -n "$skip" ]; then skip=; continue; fi
    case $a in
      -o|-L|-I|-D|-U|-include|-isystem|-iquote|-idirafter) skip=1 ;;
      # Parts of zig's libc.
      -lc|-lm|-lpthread|-ldl|-lrt|-lutil|-lresolv|-lcrypt|-lxnet) ;;
      -l?*)
        found=
        for d in $ldirs; do
          if [ -e "$d/lib${{a#-l}}.so" ]; then break; fi
          if [ -e "$d/lib${{a#-l}}.a" ]; then found="$d/lib${{a#-l}}.a"; break; fi
        done
        # A shared library, or none: zig cc decides (and words the error).
        [ -n "$found" ] || exec {zig_cc} "$@"
        inputs="$inputs $found" ;;
      -*) ;;
      *.o|*.a) inputs="$inputs $a" ;;
    esac
  done
  tmp=
  if [ "$srcs" = 1 ]; then
    # The source's object goes beside the program; where it can't (-o /dev/null), zig cc.
    case $out in */*) dir=${{out%/*}} ;; *) dir=. ;; esac
    [ -w "$dir" ] && [ ! -c "$out" ] || exec {zig_cc} "$@"
    # The source alone, with the compile options: drop the output, libraries and objects.
    tmp="$out.crossroot-$$.o"
    n=$#
    skip=
    for a in "$@"; do
      if [ -n "$skip" ]; then skip=; continue; fi
      case $a in
        -o|-L) skip=1 ;;
        -L?*|-l?*|-static|*.o|*.a) ;;
        *) set -- "$@" "$a" ;;
      esac
    done
    shift $n
    {exe} clang @{args} "$@" -c -o "$tmp" || {{ rm -f "$tmp"; exit 1; }}
  fi
  {exe} ld.lld @{before} -o "$out" $inputs $tmp @{after}
  status=$?
  [ -z "$tmp" ] || rm -f "$tmp"
  exit $status
fi
"#,
            args = quote(&files.args),
            before = quote(before),
            after = quote(after),
            zig_cc = zig_driver(zig, target, "cc"),
        ),
        None => String::new(),
    };
    format!(
        r#"{head}# Calls whose options are all listed below, with the build's own -O/-g flags, skip zig cc:
# compiles (-c) and preprocessor runs (-E) run zig's clang with the arguments zig cc gives it,
# links run zig's ld.lld with zig cc's link command (both captured by crossroot beside this
# script). Everything else runs zig cc.
mode=link out= srcs=0 objs= libs= ldirs= static= deps= pic= skip= {own_init}
for a in "$@"; do
  if [ -n "$skip" ]; then
    case $skip in
      o) out=$a ;;
      L) ldirs="$ldirs $a" ;;
    esac
    case $a in *[[:space:]]*) mode=; break ;; esac
    skip=; continue
  fi
  case $a in
    -c) [ "$mode" = link ] || {{ mode=; break; }}; mode=c ;;
    -E) [ "$mode" = link ] || {{ mode=; break; }}; mode=E ;;
    -o) skip=o ;;
    -L) skip=L ;;
    -L?*) ldirs="$ldirs ${{a#-L}}" ;;
    -l?*) libs=1 ;;
    -MD|-MMD|-MP) deps=1 ;;
    -MF|-MT|-MQ) deps=1; skip=1 ;;
    -I|-D|-U|-include|-isystem|-iquote|-idirafter) skip=1 ;;
{own_cases}    -O*|-g*) mode=; break ;;
    -Wa,--noexecstack) ;;
    -static) static=1 ;;
    -Wl,*|-Wa,*|-Wp,*|-Xclang|-Xassembler|-Xpreprocessor|-Xlinker) mode=; break ;;
    -I?*|-D?*|-U?*|-isystem?*|-iquote?*|-idirafter?*|-W*|-w|-std=*|-pedantic|-pthread|-Qunused-arguments) ;;
    -fPIC|-fpic|-fvisibility=*) pic=1 ;;
    -*) mode=; break ;;
    *[[:space:]]*) mode=; break ;;
    *.c) srcs=$((srcs + 1)) ;;
    *.o|*.a) objs=1 ;;
    *) mode=; break ;;
  esac
done
case $mode in
  c|E) [ -z "$ldirs$libs$objs$static" ] || mode= ;;
  link) [ -z "$deps$pic" ] || mode= ;;
esac
if [ "$mode" = c ] || [ "$mode" = E ]; then
  if {own_all}:; then
    exec {exe} clang @{args} "$@"
  fi
  if [ "$mode" = E ] && [ -z "{own_none}" ]; then
    exec {exe} clang @{plain} "$@"
  fi
fi
{link}exec {zig_cc} "$@"
"#,
        args = quote(&files.args),
        plain = quote(&files.plain_args),
        zig_cc = zig_driver(zig, target, "cc"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// Runs the wrapper with a stand-in zig that prints each way it was called.
    #[test]
    fn wrapper_sends_what_it_can_past_zig_cc() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("zig");
        std::fs::write(&fake, "#!/bin/sh\necho \"$*\"\n").unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let zig = Zig {
            exe: fake,
            version: "0.17.1".into(),
            sha256: "0".repeat(64),
            origin: "PATH".into(),
        };
        let target = Target::parse("riscv64-linux-musl").unwrap();
        let libs = dir.path().join("lib");
        std::fs::create_dir(&libs).unwrap();
        std::fs::write(libs.join("libfoo.a"), "").unwrap();
        std::fs::write(libs.join("libbar.so"), "").unwrap();
        let libs = libs.to_str().unwrap();
        let wrapper = |link: bool| {
            let files = DirectFiles {
                args: "/b/cc.args".into(),
                plain_args: "/b/plain.args".into(),
                link: link.then(|| ("/b/before".into(), "/b/after".into())),
            };
            let script = cc_wrapper(&zig, target, &dir.path().join("cache"), &files, "-O2 -g0");
            let cc = dir.path().join(if link { "cc" } else { "cc-no-link" });
            std::fs::write(&cc, script).unwrap();
            std::fs::set_permissions(&cc, std::fs::Permissions::from_mode(0o755)).unwrap();
            cc
        };
        let (cc, cc_no_link) = (wrapper(true), wrapper(false));
        let way = |cc: &Path, args: &[&str]| {
            let out = Command::new(cc).args(args).output().unwrap();
            assert!(out.status.success(), "{args:?}");
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        let zig_cc = |w: String| w.starts_with("cc -target riscv64-linux-musl");

        let compile = [
            "-O2", "-g0", "-DX=1", "-I", "inc", "-Iinc2", "-c", "a.c", "-o", "a.o",
        ];
        assert_eq!(
            way(&cc, &compile),
            format!("clang @/b/cc.args {}", compile.join(" "))
        );
        let w = way(
            &cc,
            &[
                "-O2",
                "-g0",
                "-fPIC",
                "-pthread",
                "-Wa,--noexecstack",
                "-MMD",
                "-MF",
                "a.d",
                "-c",
                "a.c",
            ],
        );
        assert!(w.starts_with("clang @/b/cc.args"), "{w}");
        // Preprocessor runs: with the build's flags, or with none (configure's CPP).
        assert_eq!(way(&cc, &["-E", "a.c"]), "clang @/b/plain.args -E a.c");
        assert!(way(&cc, &["-O2", "-g0", "-E", "a.c"]).starts_with("clang @/b/cc.args"));
        assert!(
            zig_cc(way(&cc, &["-O2", "-E", "a.c"])),
            "some of the build's flags"
        );

        // A link of one source: compile it, then lld with the inputs in order, the object last.
        let w = way(
            &cc,
            &[
                "-O2", "-g0", "-pthread", "-static", "-Iinc", "x.o", "a.c", "-o", "a", "-L", libs,
                "-lfoo", "-lm",
            ],
        );
        let lines: Vec<&str> = w.lines().collect();
        assert_eq!(lines.len(), 2, "{w}");
        assert!(
            lines[0].starts_with("clang @/b/cc.args -O2 -g0 -pthread -Iinc a.c -c -o a.crossroot-"),
            "{w}"
        );
        let tmp = lines[0].rsplit(' ').next().unwrap();
        assert_eq!(
            lines[1],
            format!("ld.lld @/b/before -o a x.o {libs}/libfoo.a {tmp} @/b/after")
        );
        assert_eq!(
            way(
                &cc,
                &[
                    "-O2",
                    "-g0",
                    "x.o",
                    "y.a",
                    "-o",
                    "prog",
                    &format!("-L{libs}"),
                    "-lfoo"
                ]
            ),
            format!("ld.lld @/b/before -o prog x.o y.a {libs}/libfoo.a @/b/after"),
            "a link of objects only"
        );

        let to_zig_cc: &[(&[&str], &str)] = &[
            (&["-c", "a.c"], "a compile without the build's -O/-g flags"),
            (&["-O3", "-c", "a.c"], "other optimization levels"),
            (&["-O2", "-g0", "-g", "-c", "a.c"], "other debug info"),
            (&["-O2", "-g0", "-march=rv64gc", "-c", "a.c"], "CPU flags"),
            (&["-O2", "-g0", "-c", "a.S"], "only C sources"),
            (
                &["-O2", "-g0", "-c", "-static", "a.c"],
                "a link option in a compile",
            ),
            (&["-O2", "-g0", "-Wl,-z,now", "-c", "a.c"], "-Wl"),
            (&["-O2", "-g0", "-c", "-E", "a.c"], "both -c and -E"),
            (&["a.c", "-o", "a"], "a link without the build's flags"),
            (
                &["-O2", "-g0", "a.c", "b.c", "-o", "a"],
                "a link of two sources",
            ),
            (&["-O2", "-g0", "a.c"], "a link without -o"),
            (
                &["-O2", "-g0", "a.c", "-o", "a", "-Wl,--as-needed"],
                "-Wl in a link",
            ),
            (
                &["-O2", "-g0", "-fPIC", "a.c", "-o", "a"],
                "-fPIC in a link",
            ),
            (
                &["-O2", "-g0", "-MD", "a.c", "-o", "a"],
                "dependency files in a link",
            ),
            (
                &["-O2", "-g0", "a.c", "-o", "a", "-L/nowhere", "-lfoo"],
                "a library not found",
            ),
            (
                &["-O2", "-g0", "a.c", "-o", "a", "-L", libs, "-lbar"],
                "a shared library",
            ),
            (
                &["-O2", "-g0", "a.c", "-o", "my prog"],
                "whitespace in a link's output",
            ),
            (&["--version"], "no input"),
        ];
        for (args, why) in to_zig_cc {
            assert!(
                zig_cc(way(&cc, args)),
                "{why}: {args:?} should go through zig cc"
            );
        }
        assert!(
            zig_cc(way(&cc_no_link, &["-O2", "-g0", "a.c", "-o", "a"])),
            "links without a captured link command"
        );
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
    }

    #[test]
    fn parses_zigs_link_line() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("c");
        std::fs::create_dir(&cache).unwrap();
        for f in ["crt1.o", "libc.a", "libcompiler_rt.a"] {
            std::fs::write(cache.join(f), "").unwrap();
        }
        // zig prints its own links (here one of libc's) before the program's; the cache
        // path is relative to the directory zig ran in.
        let out = "ld.lld -r -o c/crt1.o c/x/crt1.o\n\
            ld.lld --error-limit=0 -O3 -m aarch64linux -static -o via-zig-cc c/crt1.o crossroot-link-probe.o --as-needed -L/ c/libc.a c/libcompiler_rt.a\n";
        let line = parse_verbose_link(out, dir.path()).unwrap();
        let abs = |f: &str| cache.join(f).to_string_lossy().into_owned();
        assert_eq!(
            line.before,
            [
                "--error-limit=0",
                "-O3",
                "-m",
                "aarch64linux",
                "-static",
                &abs("crt1.o")
            ]
        );
        assert_eq!(
            line.after,
            [
                "--as-needed",
                "-L/",
                &abs("libc.a"),
                &abs("libcompiler_rt.a")
            ]
        );
        let missing = "ld.lld -o x c/crt1.o crossroot-link-probe.o /gone/libc.a\n";
        assert!(
            parse_verbose_link(missing, dir.path())
                .unwrap_err()
                .contains("/gone/libc.a")
        );
        assert!(parse_verbose_link("ld.lld -o x c/crt1.o other.o\n", dir.path()).is_err());
        assert!(parse_verbose("/z/zig clang other.c -target x", "/z/zig", "probe.c").is_err());
    }
}
