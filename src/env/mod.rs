//! The environment that points compilers, pkg-config and Go at a sysroot.
//!
//! [`variables`] decides what is set; [`render`] writes it for a shell, a CI system or a
//! Dockerfile; [`toolchain_file`] writes CMake, meson and cargo configuration for the same
//! sysroot; [`render_for`] picks one by format.

mod format;
pub mod toolchain_file;

use std::path::{Path, PathBuf};

pub use format::{Format, UnknownFormat, render};

use crate::target::Target;

/// What the environment is computed from.
#[derive(Debug, Clone, Copy)]
pub struct EnvInput<'a> {
    pub target: &'a Target,
    /// The merged sysroot: `bin/<triple>-{cc,c++,ar,ranlib,pkg-config}`, `include/`, `lib/`.
    pub sysroot: &'a Path,
}

/// The variables for a target's sysroot, in the order they are printed.
///
/// Deliberately not set: `CGO_CFLAGS`/`CGO_LDFLAGS` (Go's `-O2 -g` defaults are right and
/// the `.pc` files bring `-I`/`-L`); `GOFLAGS` (a `-ldflags` on the command line would
/// silently replace one set there, so `-extldflags "-static"` stays the user's); the
/// `netgo`/`osusergo` tags (musl's resolver and `getpwnam` link statically, unlike glibc's
/// NSS); cargo's `CC_<triple>` (the `cargo` format writes those into a config snippet).
pub fn variables(input: &EnvInput) -> Vec<(String, String)> {
    // Printed paths must work from any directory the user evaluates them in.
    let sysroot = std::path::absolute(input.sysroot).unwrap_or_else(|_| input.sysroot.into());
    let target = input.target;
    let tool = |name: &str| path_value(&wrapper_path(&sysroot, target, name));

    let mut vars: Vec<(&str, String)> = vec![
        // Sysroot-specific: Go's build cache keys on CC, so no stale objects from another sysroot.
        ("CC", tool("cc")),
        ("CXX", tool("c++")),
        // For make and autotools builds run in the same shell; cgo itself does not use them.
        ("AR", tool("ar")),
        ("RANLIB", tool("ranlib")),
        // The wrapper always adds --static, which Go never passes, and searches only the sysroot.
        ("PKG_CONFIG", tool("pkg-config")),
        // Tools that run a bare `pkg-config` (meson, CMake's FindPkgConfig) see only the sysroot.
        (
            "PKG_CONFIG_LIBDIR",
            path_value(&sysroot.join("lib").join("pkgconfig")),
        ),
        // Empty, so the caller's host .pc directories are not searched as well.
        ("PKG_CONFIG_PATH", String::new()),
        // Empty overrides an inherited value, which would be prepended to the relocated paths.
        ("PKG_CONFIG_SYSROOT_DIR", String::new()),
        // cgo is off by default when cross-compiling.
        ("CGO_ENABLED", "1".into()),
        ("GOOS", "linux".into()),
        ("GOARCH", target.goarch.into()),
    ];
    if let Some(goarm) = target.goarm {
        // Go assumes ARMv7 when cross-compiling; say so explicitly, and ARMv6 for the v6 target.
        vars.push(("GOARM", goarm.into()));
    }
    // Let scripts and wrappers see which sysroot is active without parsing CC.
    vars.push(("CROSSROOT_TARGET", target.triple.into()));
    vars.push(("CROSSROOT_SYSROOT", path_value(&sysroot)));

    vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The output of `crossroot env` for a sysroot in `format`.
pub fn render_for(input: &EnvInput, format: Format) -> String {
    match format {
        Format::Cmake => toolchain_file::cmake(input),
        Format::Meson => toolchain_file::meson(input),
        Format::Cargo => toolchain_file::cargo(input),
        variables_format => render(&variables(input), variables_format),
    }
}

/// A path as an environment value; sysroots live under the (UTF-8) cache directory.
fn path_value(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The sysroot's `bin/<triple>-<tool>` wrapper path.
pub fn wrapper_path(sysroot: &Path, target: &Target, tool: &str) -> PathBuf {
    sysroot
        .join("bin")
        .join(format!("{}-{tool}", target.triple))
}

#[cfg(test)]
mod tests;
