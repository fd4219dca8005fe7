//! The commands each build system runs, with their environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::plan::{BuildOptions, PlannedPackage};
use crate::recipe::{BuildSystem, Language};
use crate::shell;

/// Placeholders a recipe may use in `args` and `env`.
pub const PLACEHOLDERS: &[&str] = &[
    "prefix",
    "deps",
    "host",
    "build",
    "triple",
    "openssl-target",
    "cmake-processor",
    "cflags",
];

pub use crate::host::HostTools;

/// Directories of one package build.
#[derive(Debug, Clone)]
pub struct Layout {
    pub src: PathBuf,
    pub build: PathBuf,
    pub prefix: PathBuf,
    pub deps: PathBuf,
    pub bin: PathBuf,
}

/// One command of a build, with everything it runs with.
#[derive(Debug, Clone)]
pub struct BuildStep {
    /// Short name for logs and progress: `configure`, `make`, `install`.
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub env: BTreeMap<String, String>,
}

impl BuildStep {
    /// The command as a shell line a person can paste (with the step's variables).
    pub fn command_line(&self) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .map(|a| shell::word(&a).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The build machine as autotools names it; a `--build` different from `--host` keeps
/// configure in cross mode even where binfmt/qemu could run target programs.
pub fn build_triple() -> String {
    format!("{}-pc-linux-gnu", std::env::consts::ARCH)
}

fn substitute(s: &str, vars: &BTreeMap<&str, String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match vars.get(name) {
                    Some(v) => out.push_str(v),
                    None => return Err(name.to_string()),
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The steps for `pkg`, or the name of an unknown placeholder.
pub fn steps_for(
    pkg: &PlannedPackage,
    dirs: &Layout,
    tools: &HostTools,
    options: &BuildOptions,
) -> Result<Vec<BuildStep>, String> {
    let t = pkg.target;
    let p = |x: &Path| x.display().to_string();
    let cflags = options.cflags();
    let vars: BTreeMap<&str, String> = [
        ("prefix", p(&dirs.prefix)),
        ("deps", p(&dirs.deps)),
        ("host", t.autotools_host.to_string()),
        ("build", build_triple()),
        ("triple", t.triple.to_string()),
        ("openssl-target", t.openssl_target.to_string()),
        ("cmake-processor", t.cmake_processor.to_string()),
        // What crossroot puts in CFLAGS, for recipes that add to it rather than replace it.
        ("cflags", cflags.clone()),
    ]
    .into_iter()
    .collect();
    let args: Vec<String> = pkg
        .build
        .args
        .iter()
        .map(|a| substitute(a, &vars))
        .collect::<Result<_, _>>()?;
    let tool = |suffix: &str| p(&dirs.bin.join(format!("{}-{suffix}", t.triple)));
    let cxx = pkg.build.languages.contains(&Language::Cxx);

    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("PATH".into(), tools.path.to_string_lossy().into_owned());
    if let Some(h) = &tools.home {
        env.insert("HOME".into(), h.to_string_lossy().into_owned());
    }
    env.insert("LC_ALL".into(), "C".into());
    env.insert("CC".into(), tool("cc"));
    if cxx {
        env.insert("CXX".into(), tool("c++"));
        env.insert("CXXFLAGS".into(), cflags.clone());
    }
    env.insert("AR".into(), tool("ar"));
    env.insert("RANLIB".into(), tool("ranlib"));
    env.insert("CFLAGS".into(), cflags.clone());
    env.insert("CPPFLAGS".into(), format!("-I{}/include", p(&dirs.deps)));
    env.insert("LDFLAGS".into(), format!("-L{}/lib", p(&dirs.deps)));
    env.insert("PKG_CONFIG".into(), tool("pkg-config"));
    env.insert(
        "PKG_CONFIG_LIBDIR".into(),
        format!("{}/lib/pkgconfig", p(&dirs.deps)),
    );
    env.insert("PKG_CONFIG_PATH".into(), String::new());
    for (k, v) in &pkg.build.env {
        env.insert(k.clone(), substitute(v, &vars)?);
    }

    let substitute_all = |steps: &[Vec<String>]| -> Result<Vec<Vec<String>>, String> {
        steps
            .iter()
            .map(|s| s.iter().map(|a| substitute(a, &vars)).collect())
            .collect()
    };
    let make_args = substitute_all(&pkg.build.make_steps)?;
    let install_args = substitute_all(&pkg.build.install_steps)?;
    let make = |name: &str, cwd: &Path, extra: &[String]| BuildStep {
        name: name.into(),
        program: tools.make.clone(),
        args: extra.to_vec(),
        cwd: cwd.to_path_buf(),
        env: env.clone(),
    };
    let make_steps = |cwd: &Path| -> Vec<BuildStep> {
        let mut v = Vec::new();
        for (i, a) in make_args.iter().enumerate() {
            let name = if i == 0 {
                "make".to_string()
            } else {
                format!("make-{}", i + 1)
            };
            v.push(make(&name, cwd, a));
        }
        for (i, a) in install_args.iter().enumerate() {
            let name = if i == 0 {
                "install".to_string()
            } else {
                format!("install-{}", i + 1)
            };
            v.push(make(&name, cwd, a));
        }
        v
    };

    let steps = match pkg.build.system {
        BuildSystem::Autotools => {
            let mut a = vec![
                format!("--host={}", t.autotools_host),
                format!("--build={}", build_triple()),
                format!("--prefix={}", p(&dirs.prefix)),
                // Every build starts from a fresh tree and runs once, so automake's tracking of
                // header dependencies for rebuilds is pure cost: config.status spends seconds
                // writing `.deps` files (~6 s of curl's single-process configure) and every
                // compile goes through depcomp; the objects are the same without it. Package
                // builders (debhelper, Gentoo's econf) pass it too; configure scripts without
                // automake ignore it.
                "--disable-dependency-tracking".into(),
            ];
            a.extend(args);
            let mut v = vec![BuildStep {
                name: "configure".into(),
                program: dirs.src.join("configure"),
                args: a,
                cwd: dirs.build.clone(),
                env: env.clone(),
            }];
            // Autoconf prefers a shell with $LINENO (for its error messages) and so re-runs
            // itself under bash where /bin/sh is dash; it then writes bash into the Makefiles
            // and libtool too. Under dash, curl's configure and make take ~10 % less time
            // (configure is the one step of the curl stack that leaves a core idle), with the
            // same objects, headers and .pc files. A recipe's own CONFIG_SHELL wins.
            v[0].env
                .entry("CONFIG_SHELL".into())
                .or_insert_with(|| "/bin/sh".into());
            v.extend(make_steps(&dirs.build));
            v
        }
        BuildSystem::Configure => {
            let mut v = vec![BuildStep {
                name: "configure".into(),
                program: dirs.src.join("configure"),
                args,
                cwd: dirs.src.clone(),
                env: env.clone(),
            }];
            v.extend(make_steps(&dirs.src));
            v
        }
        BuildSystem::Make => make_steps(&dirs.src)
            .into_iter()
            .map(|mut s| {
                s.args.extend(args.iter().cloned());
                s
            })
            .collect(),
        BuildSystem::Openssl => {
            let mut a = vec![p(&dirs.src.join("Configure"))];
            a.extend(args);
            a.extend(cflags.split_whitespace().map(String::from));
            let mut v = vec![BuildStep {
                name: "configure".into(),
                program: tools.perl.clone(),
                args: a,
                cwd: dirs.build.clone(),
                env: env.clone(),
            }];
            v.extend(make_steps(&dirs.build));
            v
        }
        BuildSystem::Cmake => {
            let release = format!("{cflags} -DNDEBUG");
            let mut a = vec![
                "-S".into(),
                p(&dirs.src),
                "-B".into(),
                p(&dirs.build),
                "-G".into(),
                "Unix Makefiles".into(),
                "-DCMAKE_SYSTEM_NAME=Linux".into(),
                format!("-DCMAKE_SYSTEM_PROCESSOR={}", t.cmake_processor),
                format!("-DCMAKE_C_COMPILER={}", tool("cc")),
                format!("-DCMAKE_AR={}", tool("ar")),
                format!("-DCMAKE_RANLIB={}", tool("ranlib")),
                "-DCMAKE_BUILD_TYPE=Release".into(),
                format!("-DCMAKE_C_FLAGS_RELEASE={release}"),
                format!("-DCMAKE_INSTALL_PREFIX={}", p(&dirs.prefix)),
                "-DCMAKE_INSTALL_LIBDIR=lib".into(),
                "-DCMAKE_INSTALL_INCLUDEDIR=include".into(),
                format!("-DCMAKE_PREFIX_PATH={}", p(&dirs.deps)),
                format!("-DCMAKE_FIND_ROOT_PATH={}", p(&dirs.deps)),
                "-DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER".into(),
                "-DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY".into(),
                "-DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY".into(),
                "-DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY".into(),
                "-DBUILD_SHARED_LIBS=OFF".into(),
            ];
            if cxx {
                a.push(format!("-DCMAKE_CXX_COMPILER={}", tool("c++")));
                a.push(format!("-DCMAKE_CXX_FLAGS_RELEASE={release}"));
            }
            a.extend(args);
            let mut v = vec![BuildStep {
                name: "configure".into(),
                program: tools.cmake.clone(),
                args: a,
                cwd: dirs.build.clone(),
                env: env.clone(),
            }];
            for (i, extra) in make_args.iter().enumerate() {
                let mut a = vec!["--build".into(), p(&dirs.build)];
                a.extend(extra.iter().cloned());
                v.push(BuildStep {
                    name: if i == 0 {
                        "make".into()
                    } else {
                        format!("make-{}", i + 1)
                    },
                    program: tools.cmake.clone(),
                    args: a,
                    cwd: dirs.build.clone(),
                    env: env.clone(),
                });
            }
            v.push(BuildStep {
                name: "install".into(),
                program: tools.cmake.clone(),
                args: vec!["--install".into(), p(&dirs.build)],
                cwd: dirs.build.clone(),
                env: env.clone(),
            });
            v
        }
    };
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{BuildOptions, plan};
    use crate::recipe::RecipeSet;
    use crate::target::Target;
    use crate::toolchain::ToolchainId;

    fn layout() -> Layout {
        let r = PathBuf::from("/stage");
        Layout {
            src: r.join("src"),
            build: r.join("build"),
            prefix: r.join("prefix"),
            deps: r.join("deps"),
            bin: r.join("bin"),
        }
    }

    fn tools() -> HostTools {
        HostTools {
            make: "/usr/bin/make".into(),
            cmake: "/usr/bin/cmake".into(),
            perl: "/usr/bin/perl".into(),
            pkg_config: "/usr/bin/pkg-config".into(),
            path: "/usr/bin:/bin".into(),
            home: None,
        }
    }

    fn steps(name: &str, target: &str) -> Vec<BuildStep> {
        steps_for(
            &planned(name, target),
            &layout(),
            &tools(),
            &BuildOptions::default(),
        )
        .unwrap()
    }

    fn planned(name: &str, target: &str) -> PlannedPackage {
        let set = RecipeSet::builtin().unwrap();
        let tc = ToolchainId {
            name: "zig".into(),
            version: "0.17.1".into(),
            sha256: "0".repeat(64),
            flags: Vec::new(),
        };
        let p = plan(
            &set,
            &[name.into()],
            &[Target::parse(target).unwrap()],
            &tc,
            &BuildOptions::default(),
        )
        .unwrap();
        p.targets[0]
            .packages
            .iter()
            .find(|p| p.recipe.name == name)
            .unwrap()
            .clone()
    }

    #[test]
    fn openssl_gets_the_target_name_and_flags() {
        let s = steps("openssl", "riscv64-linux-musl");
        assert_eq!(s[0].program, PathBuf::from("/usr/bin/perl"));
        assert_eq!(s[0].args[0], "/stage/src/Configure");
        assert_eq!(s[0].args[1], "linux64-riscv64");
        assert!(s[0].args.contains(&"--prefix=/stage/prefix".to_string()));
        assert!(s[0].args.ends_with(&["-O2".to_string(), "-g0".to_string()]));
        assert_eq!(s[0].env["CC"], "/stage/bin/riscv64-linux-musl-cc");
        assert_eq!(s[1].args, vec!["build_libs"]);
        assert_eq!(s[2].args, vec!["install_dev"]);
        assert!(
            !s[0].env.contains_key("CXX"),
            "C-only builds get no C++ compiler"
        );
    }

    #[test]
    fn curl_is_cross_autotools_with_deps() {
        let s = steps("curl", "aarch64-linux-musl");
        let c = &s[0];
        assert_eq!(c.program, PathBuf::from("/stage/src/configure"));
        assert_eq!(c.cwd, PathBuf::from("/stage/build"));
        assert!(c.args.contains(&"--host=aarch64-linux-musl".to_string()));
        assert!(
            c.args
                .iter()
                .any(|a| a.starts_with("--build=") && a.ends_with("-pc-linux-gnu"))
        );
        assert!(c.args.contains(&"--with-openssl=/stage/deps".to_string()));
        assert!(
            c.args
                .contains(&"--disable-dependency-tracking".to_string())
        );
        assert_eq!(c.env["PKG_CONFIG_LIBDIR"], "/stage/deps/lib/pkgconfig");
        assert_eq!(c.env["CONFIG_SHELL"], "/bin/sh");
        assert!(
            !s[1].env.contains_key("CONFIG_SHELL"),
            "configure writes its shell into the Makefiles"
        );
        assert_eq!(
            c.env["PKG_CONFIG"],
            "/stage/bin/aarch64-linux-musl-pkg-config"
        );
        let names: Vec<_> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["configure", "make", "install", "install-2", "install-3"]
        );
    }

    #[test]
    fn a_recipes_config_shell_wins() {
        let mut curl = planned("curl", "aarch64-linux-musl");
        curl.build
            .env
            .insert("CONFIG_SHELL".into(), "/bin/bash".into());
        let s = steps_for(&curl, &layout(), &tools(), &BuildOptions::default()).unwrap();
        assert_eq!(s[0].env["CONFIG_SHELL"], "/bin/bash");
    }

    #[test]
    fn cmake_cross_settings() {
        let s = steps("nghttp2", "riscv64-linux-musl");
        let a = &s[0].args;
        assert!(a.contains(&"-DCMAKE_SYSTEM_PROCESSOR=riscv64".to_string()));
        assert!(a.contains(&"-DCMAKE_C_COMPILER=/stage/bin/riscv64-linux-musl-cc".to_string()));
        assert!(a.contains(&"-DENABLE_LIB_ONLY=ON".to_string()));
        assert!(!a.iter().any(|x| x.starts_with("-DCMAKE_CXX_COMPILER")));
        assert_eq!(s.last().unwrap().args, vec!["--install", "/stage/build"]);
    }

    #[test]
    fn cflags_placeholder_adds_to_crossroots_flags() {
        let s = steps("libffi", "aarch64-linux-musl");
        assert_eq!(
            s[0].env["CFLAGS"],
            "-O2 -g0 -Wno-error=implicit-function-declaration"
        );
        let set = RecipeSet::builtin().unwrap();
        let tc = ToolchainId {
            name: "zig".into(),
            version: "0.17.1".into(),
            sha256: "0".repeat(64),
            flags: Vec::new(),
        };
        let debug = BuildOptions {
            debug_info: true,
            ..BuildOptions::default()
        };
        let p = plan(
            &set,
            &["libffi".into()],
            &[Target::parse("riscv64-linux-musl").unwrap()],
            &tc,
            &debug,
        )
        .unwrap();
        let s = steps_for(&p.targets[0].packages[0], &layout(), &tools(), &debug).unwrap();
        assert_eq!(
            s[0].env["CFLAGS"],
            "-O2 -g -Wno-error=implicit-function-declaration"
        );
    }

    #[test]
    fn placeholders_are_checked() {
        let vars: BTreeMap<&str, String> = [("prefix", "/p".to_string())].into_iter().collect();
        assert_eq!(
            substitute("--prefix={prefix}/x", &vars).unwrap(),
            "--prefix=/p/x"
        );
        assert_eq!(substitute("no braces", &vars).unwrap(), "no braces");
        assert_eq!(substitute("{nope}", &vars).unwrap_err(), "nope");
        assert_eq!(substitute("open { only", &vars).unwrap(), "open { only");
    }

    #[test]
    fn command_line_quotes_what_needs_it() {
        let s = BuildStep {
            name: "x".into(),
            program: "/usr/bin/cmake".into(),
            args: vec!["-G".into(), "Unix Makefiles".into(), "-DX=a'b".into()],
            cwd: "/".into(),
            env: BTreeMap::new(),
        };
        assert_eq!(
            s.command_line(),
            r"/usr/bin/cmake -G 'Unix Makefiles' '-DX=a'\''b'"
        );
    }
}
