//! `crossroot doctor`: what the host has, and what to install for what it lacks.

use anyhow::Result;

use crate::settings::Settings;
use crate::target::{TARGETS, Target};
use crate::toolchain::ToolchainError;
use crate::toolchain::gcc::HostGcc;

struct Check {
    program: &'static str,
    alternatives: &'static [&'static str],
    debian: &'static str,
    why: &'static str,
    required: bool,
}

const CHECKS: &[Check] = &[
    Check {
        program: "make",
        alternatives: &["gmake"],
        debian: "make",
        why: "runs every build",
        required: true,
    },
    Check {
        program: "cmake",
        alternatives: &[],
        debian: "cmake",
        why: "builds c-ares, nghttp2 and pcre2",
        required: true,
    },
    Check {
        program: "perl",
        alternatives: &[],
        debian: "perl",
        why: "runs OpenSSL's Configure",
        required: true,
    },
    Check {
        program: "pkg-config",
        alternatives: &["pkgconf"],
        debian: "pkgconf",
        why: "reads .pc files for builds and the pkg-config wrapper",
        required: true,
    },
    Check {
        program: "tclsh",
        alternatives: &["tclsh8.6", "tclsh8.7"],
        debian: "tcl",
        why: "builds sqlite (generates its amalgamation)",
        required: false,
    },
    Check {
        program: "cc",
        alternatives: &["gcc", "clang"],
        debian: "gcc",
        why: "builds sqlite (compiles its code generators for this machine)",
        required: false,
    },
    Check {
        program: "go",
        alternatives: &[],
        debian: "golang-go",
        why: "builds static CGO programs with `crossroot env`",
        required: false,
    },
    Check {
        program: "qemu-aarch64-static",
        alternatives: &["qemu-aarch64"],
        debian: "qemu-user-static",
        why: "runs foreign binaries to test them",
        required: false,
    },
];

pub fn run(settings: &Settings) -> Result<i32> {
    let mut missing_required = Vec::new();
    for c in CHECKS {
        let found = std::iter::once(c.program)
            .chain(c.alternatives.iter().copied())
            .find_map(|p| settings.host.which(p));
        match found {
            Some(path) => println!("ok       {:<20} {}", c.program, path.display()),
            None => {
                let tag = if c.required { "MISSING " } else { "optional" };
                println!(
                    "{tag} {:<20} {}; install the Debian package `{}`",
                    c.program, c.why, c.debian
                );
                if c.required {
                    missing_required.push(c.debian);
                }
            }
        }
    }
    let recipes = super::load_recipes(settings)?;
    let zig_recipe = recipes.toolchain("zig")?;
    match super::installed_zig(settings, &recipes) {
        Ok(Some(z)) => println!(
            "ok       {:<20} zig {} at {} ({})",
            "zig",
            z.version,
            z.exe.display(),
            z.origin
        ),
        Ok(None) => println!(
            "fetch    {:<20} no zig matching {} installed; `crossroot build` fetches zig {} (or: pip install ziglang)",
            "zig", zig_recipe.version_req, zig_recipe.version
        ),
        Err(e) => println!("MISSING  {:<20} {e}", "zig"),
    }
    for line in gcc_lines(&|t| crate::toolchain::gcc::find_host_gcc(&settings.host, t)) {
        println!("{line}");
    }
    for t in recipes
        .toolchains()
        .filter(|t| t.kind == crate::recipe::ToolchainKind::Prebuilt)
    {
        let host = crate::toolchain::host_name();
        let targets: Vec<&str> = t
            .releases
            .iter()
            .filter(|r| r.host == host)
            .filter_map(|r| r.target.as_deref())
            .collect();
        println!(
            "prebuilt {:<20} {} {} for {}: --toolchain {} ({})",
            t.name,
            t.name,
            t.version,
            if targets.is_empty() {
                format!("no target on this host ({host})")
            } else {
                targets.join(", ")
            },
            t.name,
            t.origin
        );
    }
    println!("home     {:<20} {}", "", settings.home.root().display());
    println!(
        "mirrors  {:<20} {} Debian archive mirror(s) from {}",
        "",
        settings.debian_mirrors.len(),
        if std::env::var_os("CROSSROOT_DEBIAN_MIRRORS").is_some() {
            "CROSSROOT_DEBIAN_MIRRORS"
        } else {
            "the apt configuration"
        }
    );
    if missing_required.is_empty() {
        println!("\nThis host can build sysroots.");
        Ok(0)
    } else {
        println!("\nMissing: apt-get install {}", missing_required.join(" "));
        Ok(1)
    }
}

/// One line per target for the gcc toolchain (`--toolchain gcc`): the host cross gcc that
/// serves it, or what to install, or that there is no gcc route.
fn gcc_lines(find: &dyn Fn(&'static Target) -> Result<HostGcc, ToolchainError>) -> Vec<String> {
    TARGETS
        .iter()
        .map(|t| {
            let name = format!("gcc {}", t.triple);
            match (t.gnu_triple, find(t)) {
                (None, _) => format!(
                    "no       {name:<20} --toolchain gcc has no route for {} (Debian has no matching cross gcc); use zig",
                    t.triple
                ),
                (Some(_), Ok(g)) => format!(
                    "ok       {name:<20} {} (gcc {}), kernel headers in {}",
                    g.exe.display(),
                    g.version,
                    g.kernel_include.display()
                ),
                (Some(gnu), Err(ToolchainError::NoHostGcc { package, .. })) => format!(
                    "optional {name:<20} --toolchain gcc needs {gnu}-gcc: apt-get install {package}"
                ),
                (Some(_), Err(e)) => format!("optional {name:<20} --toolchain gcc: {e}"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolchain::gcc::apt_packages;
    use std::path::PathBuf;

    #[test]
    fn gcc_lines_say_which_targets_have_a_cross_gcc_and_what_to_install() {
        let lines = gcc_lines(&|t| {
            if t.triple == "aarch64-linux-musl" {
                Ok(HostGcc {
                    gnu_triple: "aarch64-linux-gnu",
                    exe: PathBuf::from("/usr/bin/aarch64-linux-gnu-gcc"),
                    version: "12.2.0".into(),
                    sha256: "a".repeat(64),
                    kernel_include: PathBuf::from("/usr/aarch64-linux-gnu/include"),
                    kernel_asm: PathBuf::from("/usr/aarch64-linux-gnu/include/asm"),
                    kernel_headers: "b".repeat(64),
                })
            } else {
                Err(ToolchainError::NoHostGcc {
                    target: t.triple.into(),
                    program: format!("{}-gcc", t.gnu_triple.unwrap_or("?")),
                    package: apt_packages(t).unwrap_or_default(),
                })
            }
        });
        assert_eq!(lines.len(), TARGETS.len());
        let line = |triple: &str| {
            lines
                .iter()
                .find(|l| l.contains(&format!("gcc {triple} ")))
                .unwrap()
                .clone()
        };
        let a64 = line("aarch64-linux-musl");
        assert!(a64.starts_with("ok "), "{a64}");
        assert!(
            a64.contains("/usr/bin/aarch64-linux-gnu-gcc (gcc 12.2.0)"),
            "{a64}"
        );
        let rv = line("riscv64-linux-musl");
        assert!(rv.starts_with("optional "), "{rv}");
        assert!(
            rv.contains(
                "needs riscv64-linux-gnu-gcc: apt-get install gcc-riscv64-linux-gnu linux-libc-dev-riscv64-cross"
            ),
            "{rv}"
        );
        let v6 = line("arm-linux-musleabihf");
        assert!(v6.starts_with("no "), "{v6}");
        assert!(v6.contains("use zig"), "{v6}");
    }
}
