//! The `gcc` toolchain: the host's GNU cross gcc (Debian's `gcc-<arch>-linux-gnu`) compiling
//! against musl, which crossroot builds per target from the pinned tarball, the crossdev way.
//!
//! Per target, a directory in the musl-cross-make layout under the toolchains bucket:
//!
//! ```text
//! gcc-musl-<triple>-<key>/bin/<triple>-gcc, -cc     the GNU gcc with musl's headers, crt and libc
//!                         bin/<triple>-ar, -ranlib  the GNU binutils
//!                         bin/<triple>-g++, -c++    refuse: Debian's libstdc++ is glibc's
//!                         <triple>/include          musl's headers + the kernel's linux/ asm/ …
//!                         <triple>/lib              crt1.o crti.o crtn.o libc.a … + specs
//! ```
//!
//! The compiler scripts find the tree from their own path, so the directory can be moved or
//! packed as a prebuilt toolchain. The key covers the musl recipe, the gcc driver (version and
//! sha256), the kernel headers' version and the target.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{HostEnv, StepFailure, ToolchainError, ToolchainId, sha256_file};
use crate::cache::{self, Home};
use crate::recipe::ToolchainRecipe;
use crate::report::Reporter;
use crate::shell;
use crate::target::Target;

/// Bumped when the layout, the specs or the scripts of a built toolchain change.
const LAYOUT_VERSION: u32 = 1;

/// Kernel header directories copied next to musl's headers (those that exist on the host).
const KERNEL_DIRS: &[&str] = &[
    "linux",
    "asm",
    "asm-generic",
    "drm",
    "misc",
    "mtd",
    "rdma",
    "sound",
    "video",
    "xen",
];

/// The Debian packages the gcc route needs for `target`: `<gnu>-gcc` (it brings binutils)
/// and the kernel headers, which the cross gcc only recommends (`--no-install-recommends`
/// leaves them out). Space-separated, for `apt-get install`.
pub fn apt_packages(target: &Target) -> Option<String> {
    let gnu = target.gnu_triple?;
    let gcc = if host_is_native(gnu) {
        "gcc".to_string()
    } else {
        format!("gcc-{}", gnu.replace('_', "-"))
    };
    Some(format!("{gcc} {}", kernel_headers_package(target)))
}

/// The Debian package with the kernel headers for `target`'s cross gcc (the host's own for
/// the native one).
fn kernel_headers_package(target: &Target) -> String {
    match target.gnu_triple {
        Some(gnu) if host_is_native(gnu) => "linux-libc-dev".into(),
        _ => format!("linux-libc-dev-{}-cross", target.debian_arch),
    }
}

/// Whether `<gnu>-gcc` is this host's own compiler (x86_64-linux-gnu on an amd64 host).
fn host_is_native(gnu: &str) -> bool {
    gnu.split('-').next() == Some(std::env::consts::ARCH)
}

/// The host's cross gcc for one target, as found on `PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostGcc {
    pub gnu_triple: &'static str,
    /// `<gnu>-gcc` as found on PATH (the scripts run this path).
    pub exe: PathBuf,
    /// `-dumpfullversion`: `12.2.0`.
    pub version: String,
    /// sha256 of the driver the path resolves to.
    pub sha256: String,
    /// Where `linux/`, `asm-generic/` … are, and where `asm/` is.
    pub kernel_include: PathBuf,
    pub kernel_asm: PathBuf,
    /// sha256 of `linux/version.h`: which kernel's headers these are.
    pub kernel_headers: String,
}

/// Finds `<gnu>-gcc` for `target` and the kernel headers that come with it.
pub fn find_host_gcc(host: &HostEnv, target: &Target) -> Result<HostGcc, ToolchainError> {
    let Some(gnu) = target.gnu_triple else {
        return Err(ToolchainError::NoGccRoute {
            target: target.triple.to_string(),
        });
    };
    let name = format!("{gnu}-gcc");
    let exe = host.which(&name).ok_or_else(|| ToolchainError::NoHostGcc {
        target: target.triple.to_string(),
        program: name.clone(),
        package: apt_packages(target).unwrap_or_default(),
    })?;
    let version = super::probe_version(&exe, "-dumpfullversion")?;
    let driver = fs::canonicalize(&exe).unwrap_or_else(|_| exe.clone());
    let sha256 = sha256_file(&driver)?;
    // Debian's cross packages: /usr/<gnu>/include; the native compiler: /usr/include with
    // asm/ under the multiarch directory.
    let cross = PathBuf::from(format!("/usr/{gnu}/include"));
    let (kernel_include, kernel_asm) = if cross.join("linux/version.h").is_file() {
        (cross.clone(), cross.join("asm"))
    } else {
        let usr = PathBuf::from("/usr/include");
        let multiarch = usr.join(gnu).join("asm");
        let asm = if multiarch.is_dir() {
            multiarch
        } else {
            usr.join("asm")
        };
        (usr, asm)
    };
    let version_h = kernel_include.join("linux/version.h");
    if !version_h.is_file() || !kernel_asm.is_dir() {
        return Err(ToolchainError::NoKernelHeaders {
            target: target.triple.to_string(),
            looked: format!("{} and {}", cross.display(), kernel_include.display()),
            package: kernel_headers_package(target),
        });
    }
    let kernel_headers = sha256_file(&version_h)?;
    Ok(HostGcc {
        gnu_triple: gnu,
        exe,
        version,
        sha256,
        kernel_include,
        kernel_asm,
        kernel_headers,
    })
}

/// The gcc toolchain for one target: where it is (or will be) built, and its identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GccMusl {
    pub target: &'static Target,
    pub gcc: HostGcc,
    pub musl_version: String,
    /// Hex sha256 over everything that decides the toolchain's bytes.
    pub key: String,
    pub dir: PathBuf,
}

#[derive(Serialize)]
struct KeyInput<'a> {
    kind: &'a str,
    layout: u32,
    target: &'a str,
    gnu_triple: &'a str,
    gcc_version: &'a str,
    gcc_sha256: &'a str,
    kernel_headers: &'a str,
    libc: &'a str,
    libc_version: String,
    libc_sources: Vec<(&'a str, &'a str)>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    flags: &'a [&'a str],
}

/// Flags every compile for `target` needs with a Debian cross gcc, for musl's ABI: Debian's
/// ppc64el gcc gives `long double` 128 bits (IBM double-double), musl on powerpc64 supports
/// only 64 (as musl-cross-make's `--with-long-double-64` and clang on musl do).
pub fn abi_flags(target: &Target) -> &'static [&'static str] {
    match target.triple {
        "powerpc64le-linux-musl" => &["-mlong-double-64"],
        _ => &[],
    }
}

impl GccMusl {
    /// Where the toolchain for `gcc` and the `recipe`'s musl lives in `home`.
    pub fn new(
        home: &Home,
        recipe: &ToolchainRecipe,
        target: &'static Target,
        gcc: HostGcc,
    ) -> GccMusl {
        let input = KeyInput {
            kind: "gcc-musl",
            layout: LAYOUT_VERSION,
            target: target.triple,
            gnu_triple: gcc.gnu_triple,
            gcc_version: &gcc.version,
            gcc_sha256: &gcc.sha256,
            kernel_headers: &gcc.kernel_headers,
            libc: &recipe.name,
            libc_version: recipe.version.to_string(),
            libc_sources: recipe
                .sources
                .iter()
                .map(|s| (s.file.as_str(), s.sha256.as_str()))
                .collect(),
            flags: abi_flags(target),
        };
        let key = hex::encode(Sha256::digest(
            serde_json::to_vec(&input).expect("key input serializes"),
        ));
        let dir = home
            .toolchains()
            .join(format!("gcc-musl-{}-{}", target.triple, &key[..16]));
        GccMusl {
            target,
            gcc,
            musl_version: recipe.version.to_string(),
            key,
            dir,
        }
    }

    pub fn id(&self) -> ToolchainId {
        ToolchainId {
            name: "gcc-musl".into(),
            version: format!("gcc {} + musl {}", self.gcc.version, self.musl_version),
            sha256: self.key.clone(),
            flags: Vec::new(),
        }
    }

    pub fn is_built(&self) -> bool {
        cache::is_complete(&self.dir, &self.key)
    }

    /// Builds musl with the host gcc and lays the toolchain out, unless it is there already.
    /// `source` is the verified musl tarball; `make` runs with `jobs` jobs.
    pub fn build(
        &self,
        source: &Path,
        make: &Path,
        path_env: &std::ffi::OsStr,
        jobs: usize,
        logs: &Path,
        reporter: &dyn Reporter,
    ) -> Result<(), ToolchainError> {
        let (_lock, Some(stage)) =
            super::begin_toolchain_dir(&self.dir, || self.is_built(), reporter)?
        else {
            return Ok(());
        };
        let label = format!("musl {} ({})", self.musl_version, self.target.triple);
        let progress = reporter.start(&format!("build {label} with {}", self.gcc_name()), None);
        let (src, build, out) = (
            stage.path().join("src"),
            stage.path().join("build"),
            stage.path().join("out"),
        );
        fs::create_dir_all(&build).map_err(io(&build))?;
        progress.set_message("extract");
        crate::extract::extract(source, &src, &Default::default())?;
        fs::create_dir_all(logs).map_err(io(logs))?;
        let sys = out.join(self.target.triple);
        let gnu = self.gcc.gnu_triple;
        let mut configure = vec![
            format!("--target={}", self.target.triple),
            format!("--prefix={}", sys.display()),
            "--disable-shared".into(),
            "--disable-wrapper".into(),
            format!("CROSS_COMPILE={gnu}-"),
            format!("CC={}", self.gcc.exe.display()),
        ];
        let flags = abi_flags(self.target);
        if !flags.is_empty() {
            configure.push(format!("CFLAGS={}", flags.join(" ")));
        }
        let steps: Vec<(&str, PathBuf, Vec<String>)> = vec![
            ("configure", src.join("configure"), configure),
            (
                "make",
                make.to_path_buf(),
                vec![format!("-j{}", jobs.max(1))],
            ),
            ("install", make.to_path_buf(), vec!["install".into()]),
        ];
        for (n, (step, program, args)) in steps.iter().enumerate() {
            progress.set_message(step);
            let log = logs.join(format!("{:02}-{step}.log", n + 1));
            run_step(&label, step, program, args, &build, path_env, &log)?;
        }
        progress.set_message("lay out");
        copy_kernel_headers(&self.gcc, &sys.join("include"))?;
        let lib = sys.join("lib");
        cache::write_atomic(&lib.join(SPECS), specs().as_bytes())?;
        super::write_wrappers(&out.join("bin"), &self.scripts())?;
        fs::rename(&out, &self.dir).map_err(io(&self.dir))?;
        cache::mark_complete(&self.dir, &self.key)?;
        progress.finish(true, &format!("built {label}"));
        Ok(())
    }

    fn gcc_name(&self) -> String {
        format!("{}-gcc {}", self.gcc.gnu_triple, self.gcc.version)
    }

    /// The scripts of `bin/`: `(file name, text)`.
    pub fn scripts(&self) -> Vec<(String, String)> {
        let t = self.target.triple;
        let gnu = self.gcc.gnu_triple;
        let gcc = shell::quote(&self.gcc.exe.display().to_string());
        let tool = |name: &str| {
            let exe = self
                .gcc
                .exe
                .with_file_name(format!("{gnu}-{name}"))
                .display()
                .to_string();
            shell::quote(&exe)
        };
        let head = |what: &str| {
            format!(
                "#!/bin/sh\n# Generated by crossroot: {what} for {t}: {} with musl {}.\n",
                self.gcc_name(),
                self.musl_version
            )
        };
        // Relocatable: the musl tree is found from the script's own path. Static by default.
        let flags: String = abi_flags(self.target)
            .iter()
            .map(|f| format!(" {}", shell::quote(f)))
            .collect();
        let cc = format!(
            "{}root=$(cd \"$(dirname \"$(readlink -f \"$0\")\")/..\" && pwd -P)\nsys=\"$root/{t}\"\nexec {gcc} --sysroot=\"$sys\" -specs=\"$sys/lib/{SPECS}\" -static{flags} \"$@\"\n",
            head("C compiler")
        );
        let cxx = format!(
            "{}echo \"crossroot: the gcc toolchain has no C++ compiler for {t}: {gnu}-g++ links Debian's libstdc++, which is built for glibc and does not work with musl; build C++ with --toolchain zig\" >&2\nexit 1\n",
            head("no C++ compiler")
        );
        vec![
            (format!("{t}-gcc"), cc.clone()),
            (format!("{t}-cc"), cc),
            (format!("{t}-g++"), cxx.clone()),
            (format!("{t}-c++"), cxx),
            (
                format!("{t}-ar"),
                format!("{}exec {} \"$@\"\n", head("archiver"), tool("ar")),
            ),
            (
                format!("{t}-ranlib"),
                format!(
                    "{}exec {} \"$@\"\n",
                    head("archive indexer"),
                    tool("ranlib")
                ),
            ),
        ]
    }
}

/// The gcc specs file in `<triple>/lib/`; the C compiler script passes it with `--sysroot`
/// set to `<triple>`, which `%R` names, so the tree needs no absolute path.
pub const SPECS: &str = "crossroot-musl.specs";

/// musl's own `musl-gcc.specs`, with `%R` (the sysroot) in place of its install prefix, and
/// the target's link spec kept (its emulation and errata flags) with `-nostdlib` added.
pub fn specs() -> String {
    "%rename cpp_options old_cpp_options\n\
     %rename cc1 old_cc1\n\
     %rename link old_link\n\
     \n\
     *cpp_options:\n\
     -nostdinc -isystem %R/include -isystem include%s %(old_cpp_options)\n\
     \n\
     *cc1:\n\
     %(old_cc1) -nostdinc -isystem %R/include -isystem include%s\n\
     \n\
     *link_libgcc:\n\
     -L%R/lib -L .%s\n\
     \n\
     *libgcc:\n\
     libgcc.a%s %:if-exists(libgcc_eh.a%s)\n\
     \n\
     *startfile:\n\
     %{!shared: %R/lib/Scrt1.o} %R/lib/crti.o crtbeginS.o%s\n\
     \n\
     *endfile:\n\
     crtendS.o%s %R/lib/crtn.o\n\
     \n\
     *link:\n\
     %(old_link) -nostdlib\n\
     \n"
    .to_string()
}

fn copy_kernel_headers(gcc: &HostGcc, include: &Path) -> Result<(), ToolchainError> {
    for dir in KERNEL_DIRS {
        let from = if *dir == "asm" {
            gcc.kernel_asm.clone()
        } else {
            gcc.kernel_include.join(dir)
        };
        if from.is_dir() {
            let to = include.join(dir);
            copy_dir(&from, &to).map_err(io(&from))?;
        }
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for e in fs::read_dir(from)? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        // Follow links: the tree must stand on its own.
        if fs::metadata(&src)?.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ToolchainError + use<> {
    let path = path.to_path_buf();
    move |source| ToolchainError::Io { path, source }
}

fn run_step(
    label: &str,
    step: &str,
    program: &Path,
    args: &[String],
    cwd: &Path,
    path_env: &std::ffi::OsStr,
    log: &Path,
) -> Result<(), ToolchainError> {
    let out = fs::File::create(log).map_err(io(log))?;
    let err = out.try_clone().map_err(io(log))?;
    let command = std::iter::once(shell::word(&program.display().to_string()).into_owned())
        .chain(args.iter().map(|a| shell::quote(a)))
        .collect::<Vec<_>>()
        .join(" ");
    let status = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", path_env)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| {
            ToolchainError::Step(Box::new(StepFailure {
                label: label.into(),
                step: step.into(),
                command: command.clone(),
                cwd: cwd.to_path_buf(),
                status: format!("could not start: {e}"),
                tail: String::new(),
                log: log.to_path_buf(),
            }))
        })?;
    if status.success() {
        return Ok(());
    }
    Err(ToolchainError::Step(Box::new(StepFailure {
        label: label.into(),
        step: step.into(),
        command,
        cwd: cwd.to_path_buf(),
        status: status.to_string(),
        tail: crate::report::tail(log, 25),
        log: log.to_path_buf(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gcc(version: &str, sha: &str) -> HostGcc {
        HostGcc {
            gnu_triple: "aarch64-linux-gnu",
            exe: PathBuf::from("/usr/bin/aarch64-linux-gnu-gcc"),
            version: version.into(),
            sha256: sha.into(),
            kernel_include: PathBuf::from("/usr/aarch64-linux-gnu/include"),
            kernel_asm: PathBuf::from("/usr/aarch64-linux-gnu/include/asm"),
            kernel_headers: "k".repeat(64),
        }
    }

    fn musl() -> ToolchainRecipe {
        let set = crate::recipe::RecipeSet::builtin().unwrap();
        set.toolchain("musl").unwrap().clone()
    }

    #[test]
    fn key_covers_gcc_kernel_headers_musl_and_target() {
        let home = Home::new(PathBuf::from("/h"));
        let a64 = Target::parse("aarch64-linux-musl").unwrap();
        let rv = Target::parse("riscv64-linux-musl").unwrap();
        let base = GccMusl::new(&home, &musl(), a64, gcc("12.2.0", &"a".repeat(64)));
        assert_eq!(base.dir.parent(), Some(home.toolchains().as_path()));
        let name = base.dir.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            name,
            format!("gcc-musl-aarch64-linux-musl-{}", &base.key[..16])
        );
        assert_eq!(base.id().name, "gcc-musl");
        assert_eq!(base.id().version, "gcc 12.2.0 + musl 1.2.5");
        let same = GccMusl::new(&home, &musl(), a64, gcc("12.2.0", &"a".repeat(64)));
        assert_eq!(same.key, base.key);
        let mut other_headers = gcc("12.2.0", &"a".repeat(64));
        other_headers.kernel_headers = "j".repeat(64);
        let mut other_musl = musl();
        other_musl.sources[0].sha256 = "b".repeat(64);
        for other in [
            GccMusl::new(&home, &musl(), a64, gcc("12.3.0", &"a".repeat(64))),
            GccMusl::new(&home, &musl(), a64, gcc("12.2.0", &"c".repeat(64))),
            GccMusl::new(&home, &musl(), a64, other_headers),
            GccMusl::new(&home, &other_musl, a64, gcc("12.2.0", &"a".repeat(64))),
            GccMusl::new(&home, &musl(), rv, gcc("12.2.0", &"a".repeat(64))),
        ] {
            assert_ne!(other.key, base.key);
            assert_ne!(other.dir, base.dir);
        }
    }

    #[test]
    fn scripts_are_relocatable_static_and_refuse_cxx() {
        let home = Home::new(PathBuf::from("/h"));
        let a64 = Target::parse("aarch64-linux-musl").unwrap();
        let g = GccMusl::new(&home, &musl(), a64, gcc("12.2.0", &"a".repeat(64)));
        let scripts: std::collections::BTreeMap<_, _> = g.scripts().into_iter().collect();
        let names: Vec<&str> = scripts.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "aarch64-linux-musl-ar",
                "aarch64-linux-musl-c++",
                "aarch64-linux-musl-cc",
                "aarch64-linux-musl-g++",
                "aarch64-linux-musl-gcc",
                "aarch64-linux-musl-ranlib"
            ]
        );
        let cc = &scripts["aarch64-linux-musl-gcc"];
        assert!(!cc.contains("/h/"), "names no path of the home:\n{cc}");
        assert!(cc.contains("readlink -f \"$0\""), "{cc}");
        assert!(
            cc.contains("exec '/usr/bin/aarch64-linux-gnu-gcc' --sysroot=\"$sys\" -specs=\"$sys/lib/crossroot-musl.specs\" -static \"$@\""),
            "{cc}"
        );
        let cxx = &scripts["aarch64-linux-musl-c++"];
        assert!(cxx.contains("exit 1"), "{cxx}");
        assert!(
            cxx.contains("glibc") && cxx.contains("--toolchain zig"),
            "{cxx}"
        );
        assert!(scripts["aarch64-linux-musl-ar"].contains("'/usr/bin/aarch64-linux-gnu-ar'"));
        assert!(specs().contains("%R/lib/crti.o"));
        assert!(!specs().contains('/') || !specs().contains("/usr"));
    }

    #[test]
    fn powerpc64le_compiles_with_a_64_bit_long_double() {
        let home = Home::new(PathBuf::from("/h"));
        let ppc = Target::parse("powerpc64le-linux-musl").unwrap();
        let mut host = gcc("12.2.0", &"a".repeat(64));
        host.gnu_triple = "powerpc64le-linux-gnu";
        host.exe = PathBuf::from("/usr/bin/powerpc64le-linux-gnu-gcc");
        let g = GccMusl::new(&home, &musl(), ppc, host);
        let scripts: std::collections::BTreeMap<_, _> = g.scripts().into_iter().collect();
        let cc = &scripts["powerpc64le-linux-musl-cc"];
        assert!(cc.contains(" -static '-mlong-double-64' \"$@\""), "{cc}");
        let a64 = Target::parse("aarch64-linux-musl").unwrap();
        assert!(abi_flags(a64).is_empty());
    }

    #[test]
    fn apt_packages_follow_debian_names() {
        let t = |n| Target::parse(n).unwrap();
        assert_eq!(
            apt_packages(t("aarch64-linux-musl")).as_deref(),
            Some("gcc-aarch64-linux-gnu linux-libc-dev-arm64-cross")
        );
        assert_eq!(
            apt_packages(t("riscv64-linux-musl")).as_deref(),
            Some("gcc-riscv64-linux-gnu linux-libc-dev-riscv64-cross")
        );
        assert_eq!(
            apt_packages(t("powerpc64le-linux-musl")).as_deref(),
            Some("gcc-powerpc64le-linux-gnu linux-libc-dev-ppc64el-cross")
        );
        let x86 = apt_packages(t("x86_64-linux-musl")).unwrap();
        if std::env::consts::ARCH == "x86_64" {
            assert_eq!(x86, "gcc linux-libc-dev");
            assert_eq!(
                kernel_headers_package(t("x86_64-linux-musl")),
                "linux-libc-dev"
            );
        } else {
            assert_eq!(x86, "gcc-x86-64-linux-gnu linux-libc-dev-amd64-cross");
        }
        assert_eq!(apt_packages(t("arm-linux-musleabihf")), None);
    }
}
