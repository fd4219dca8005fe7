//! `crossroot doctor`: what the host has, and what to install for what it lacks.

use anyhow::Result;

use crate::settings::Settings;

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
