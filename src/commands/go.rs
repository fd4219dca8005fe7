//! `crossroot go build`: one cgo program for several platforms — each platform's sysroot
//! built (or pulled) first, `go build` in its environment with a static external link, the
//! result checked by `verify`, named as goreleaser users know (`app_linux_arm64`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::build::human_duration;
use crate::cli::{BuildArgs, GoBuildArgs, Selection};
use crate::env::{EnvInput, variables};
use crate::report::Reporter;
use crate::settings::Settings;
use crate::target::Target;

/// go build's flags that take a value as the next argument (`-tags x`; `-tags=x` is one).
const VALUE_FLAGS: &[&str] = &[
    "C",
    "p",
    "asmflags",
    "buildmode",
    "buildvcs",
    "compiler",
    "covermode",
    "coverpkg",
    "gccgoflags",
    "gcflags",
    "installsuffix",
    "ldflags",
    "mod",
    "modfile",
    "overlay",
    "pgo",
    "pkgdir",
    "tags",
    "toolexec",
];

/// The link flags added unless the user passes `-ldflags`: an external link that is static.
pub const STATIC_LDFLAGS: &str = "-ldflags=-extldflags \"-static\"";

/// What one platform's `go build` made.
#[derive(Debug)]
pub struct Built {
    pub target: &'static Target,
    pub file: PathBuf,
    pub size: u64,
    pub static_ok: bool,
    pub took: Duration,
}

pub fn build(settings: &Settings, reporter: Arc<dyn Reporter>, args: GoBuildArgs) -> Result<i32> {
    let started = Instant::now();
    let go_args = GoArgs::parse(&args.go_args)?;
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    let name = go_args.program_name(&cwd)?;
    let selection = |targets: Vec<&'static Target>| Selection {
        targets,
        profile: args.profile.clone(),
        toolchain: None,
        packages: args.with.clone(),
    };
    if args.profile.is_none() && args.with.is_empty() && !Path::new(super::PROFILE_FILE).is_file() {
        return Err(super::UsageError(format!(
            "crossroot go build needs to know which C libraries the program links: write a \
             ./{} (a profile: packages = [\"curl\"] and a [sysroot] table, see the README), \
             pass --profile FILE, or name the recipes with --with curl",
            super::PROFILE_FILE
        ))
        .into());
    }
    // The sysroots that are there already; when one is missing, one build for every platform
    // (the scheduler shares the jobs budget across them; what is there costs nothing).
    let found = |settings| -> Result<Vec<_>> {
        args.platforms
            .iter()
            .map(|&t| {
                Ok((
                    t,
                    super::env::find_sysroot(settings, &selection(vec![t]))?.dir,
                ))
            })
            .collect()
    };
    let jobs = match found(settings) {
        Ok(jobs) => jobs,
        Err(_) => {
            let code = super::build::run(
                settings,
                reporter.clone(),
                BuildArgs {
                    selection: selection(args.platforms.clone()),
                    debug_info: false,
                    prefix: None,
                    cache: args.cache.clone(),
                    trust: args.trust.clone(),
                    push: false,
                    sign_key: None,
                    require_cache: false,
                    registry: args.registry.clone(),
                },
            )?;
            if code != 0 {
                return Ok(code);
            }
            found(settings)?
        }
    };
    std::fs::create_dir_all(&args.output).with_context(|| {
        format!(
            "could not create the output directory {}",
            args.output.display()
        )
    })?;

    // Every platform at once, the jobs budget split between them through go's own `-p` (the
    // compiles and links one go build runs at a time): with Go's cache warm a build is mostly
    // one link, much of it waiting, so one platform per core leaves cores idle (measured in
    // BENCHMARKS.md: three platforms on 2 cores in 0.58 of the serial time, 0.76 two at a time).
    let per_build = (settings.jobs / args.platforms.len()).max(1);
    let go_args = go_args.with_parallelism(per_build);
    let results: Vec<Result<Built>> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(target, sysroot)| {
                let (go, go_args, name) = (&args.go, &go_args, &name);
                let file = args.output.join(output_name(name, target));
                scope.spawn(move || build_one(go, go_args, target, sysroot, &file))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a go build thread panicked"))
            .collect()
    });

    let mut rows = Vec::new();
    for r in results {
        match r {
            Ok(b) => rows.push(b),
            Err(e) => eprintln!("error: {e:#}"),
        }
    }
    let ok = rows.iter().filter(|b| b.static_ok).count();
    print_table(&rows);
    eprintln!(
        "{ok} of {} platforms built in {}",
        args.platforms.len(),
        human_duration(started.elapsed())
    );
    Ok(if ok == args.platforms.len() { 0 } else { 1 })
}

/// `go build` for one platform in its sysroot's environment, then `verify`.
fn build_one(
    go: &Path,
    go_args: &GoArgs,
    target: &'static Target,
    sysroot: &Path,
    file: &Path,
) -> Result<Built> {
    let started = Instant::now();
    let mut cmd = Command::new(go);
    cmd.arg("build").arg("-o").arg(file);
    if !go_args.has_ldflags {
        cmd.arg(STATIC_LDFLAGS);
    }
    cmd.args(&go_args.all)
        .envs(variables(&EnvInput { target, sysroot }));
    let shown = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| crate::shell::word(&a.to_string_lossy()).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let out = cmd.output().with_context(|| {
        format!(
            "{}: could not run {} (install Go, or pass --go FILE / set CROSSROOT_GO)",
            target.docker_platform,
            go.display()
        )
    })?;
    if !out.status.success() {
        anyhow::bail!(
            "{} ({}): `{shown}` failed ({}):\n{}{}",
            target.docker_platform,
            target.triple,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    let verdict = crate::verify::verify(file, target)?;
    if !verdict.ok {
        eprintln!(
            "error: {} ({}): {verdict}",
            target.docker_platform, target.triple
        );
    }
    Ok(Built {
        target,
        file: file.to_path_buf(),
        size: std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
        static_ok: verdict.ok,
        took: started.elapsed(),
    })
}

fn print_table(rows: &[Built]) {
    let file_w = rows
        .iter()
        .map(|b| b.file.display().to_string().len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:<16} {:<file_w$} {:>9}  {:<6} time",
        "platform", "file", "size", "static"
    );
    for b in rows {
        println!(
            "{:<16} {:<file_w$} {:>9}  {:<6} {}",
            b.target.docker_platform,
            b.file.display().to_string(),
            format!("{:.1} MB", b.size as f64 / 1e6),
            if b.static_ok { "yes" } else { "NO" },
            human_duration(b.took)
        );
    }
}

/// `<name>_<os>_<arch>[_<variant>]`, e.g. `app_linux_arm_v7`.
pub fn output_name(name: &str, target: &Target) -> String {
    format!("{name}_{}", target.docker_platform.replace('/', "_"))
}

/// The arguments after crossroot's own: go build's flags (passed through) and its packages.
#[derive(Debug, Default)]
pub struct GoArgs {
    pub all: Vec<OsString>,
    pub packages: Vec<String>,
    pub has_ldflags: bool,
    pub has_p: bool,
}

impl GoArgs {
    pub fn parse(args: &[OsString]) -> Result<Self> {
        let mut parsed = GoArgs {
            all: args.to_vec(),
            ..Default::default()
        };
        let mut i = 0;
        while i < args.len() {
            let a = args[i].to_string_lossy();
            if let Some(flag) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')) {
                let (name, inline) = match flag.split_once('=') {
                    Some((n, _)) => (n, true),
                    None => (flag, false),
                };
                if name == "o" {
                    return Err(super::UsageError(
                        "crossroot go build names each platform's file itself (DIR/<name>_<os>_<arch>); pass the directory with crossroot's -o DIR before go's own flags".into(),
                    )
                    .into());
                }
                parsed.has_ldflags |= name == "ldflags";
                parsed.has_p |= name == "p";
                if VALUE_FLAGS.contains(&name) && !inline {
                    i += 1;
                }
            } else {
                parsed.packages.push(a.into_owned());
            }
            i += 1;
        }
        Ok(parsed)
    }

    /// With `-p N` first unless the user gave go's `-p`.
    fn with_parallelism(&self, n: usize) -> GoArgs {
        let mut all = Vec::with_capacity(self.all.len() + 2);
        if !self.has_p {
            all.extend([OsString::from("-p"), OsString::from(n.to_string())]);
        }
        all.extend(self.all.iter().cloned());
        GoArgs {
            all,
            packages: self.packages.clone(),
            has_ldflags: self.has_ldflags,
            has_p: true,
        }
    }

    /// The name go build would give the program: the package's last path element (before a
    /// `/vN` major version), the first file's stem for `.go` files, the directory's name for
    /// `.` or no package.
    pub fn program_name(&self, cwd: &Path) -> Result<String> {
        let dir_name = |p: &Path| {
            let p = if p == cwd {
                Some(p.to_path_buf())
            } else {
                std::fs::canonicalize(p).ok()
            };
            p.and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        };
        let name = match self.packages.as_slice() {
            [] => dir_name(cwd),
            files if files.iter().all(|p| p.ends_with(".go")) => Path::new(&files[0])
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned()),
            [one] => {
                let trimmed = one.trim_end_matches('/');
                let mut parts: Vec<&str> = trimmed.split('/').filter(|p| !p.is_empty()).collect();
                if parts.len() > 1
                    && parts.last().is_some_and(|l| {
                        l.len() > 1
                            && l.starts_with('v')
                            && l[1..].bytes().all(|b| b.is_ascii_digit())
                    })
                {
                    parts.pop();
                }
                match parts.last() {
                    Some(&".") if parts.len() == 1 => dir_name(cwd),
                    Some(&".") | Some(&"..") | None => dir_name(&cwd.join(trimmed)),
                    Some(last) => Some(last.to_string()),
                }
            }
            many => {
                return Err(super::UsageError(format!(
                    "crossroot go build builds one program at a time, got the packages {}; run it once per program",
                    many.join(", ")
                ))
                .into());
            }
        };
        name.filter(|n| !n.is_empty()).ok_or_else(|| {
            super::UsageError("could not name the program: pass its package (./cmd/app)".into())
                .into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> GoArgs {
        GoArgs::parse(&s.iter().map(OsString::from).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn flags_pass_through_and_packages_are_found() {
        let a = args(&[
            "-tags",
            "netgo osusergo",
            "-trimpath",
            "-ldflags=-s",
            "./cmd/app",
        ]);
        assert_eq!(a.packages, ["./cmd/app"]);
        assert!(a.has_ldflags);
        assert_eq!(a.all.len(), 5);
        let a = args(&["--ldflags", "-s -w", "."]);
        assert!(a.has_ldflags);
        assert_eq!(a.packages, ["."]);
        assert!(!args(&["-v", "-x", "./cmd/app"]).has_ldflags);
        let split = args(&["-trimpath", "."]).with_parallelism(1);
        assert_eq!(split.all, ["-p", "1", "-trimpath", "."]);
        assert_eq!(args(&["-p=4", "."]).with_parallelism(1).all, ["-p=4", "."]);
        let e = GoArgs::parse(&[OsString::from("-o"), OsString::from("x")]).unwrap_err();
        assert!(e.to_string().contains("-o DIR"), "{e}");
    }

    #[test]
    fn programs_are_named_as_go_build_names_them() {
        let cwd = Path::new("/src/hello");
        let name = |s: &[&str]| args(s).program_name(cwd).unwrap();
        assert_eq!(name(&[]), "hello");
        assert_eq!(name(&["."]), "hello");
        assert_eq!(name(&["./cmd/app"]), "app");
        assert_eq!(name(&["./cmd/app/"]), "app");
        assert_eq!(name(&["example.com/tool/v2"]), "tool");
        assert_eq!(name(&["main.go", "util.go"]), "main");
        assert_eq!(name(&["-tags", "x", "./cmd/srv"]), "srv");
        let e = args(&["./a", "./b"]).program_name(cwd).unwrap_err();
        assert!(e.to_string().contains("one program at a time"), "{e}");
    }

    #[test]
    fn outputs_are_named_as_goreleaser_names_them() {
        let t = |s| Target::parse(s).unwrap();
        assert_eq!(output_name("app", t("linux/arm64")), "app_linux_arm64");
        assert_eq!(output_name("app", t("linux/arm/v7")), "app_linux_arm_v7");
        assert_eq!(
            output_name("app", t("riscv64-linux-musl")),
            "app_linux_riscv64"
        );
    }
}
