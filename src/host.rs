//! The host: what crossroot reads from its environment once (`HostEnv`) and the host
//! programs the builds run (`HostTools`). Below `toolchain`, `build` and `sysroot`, which all
//! use it.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

/// What crossroot needs from the host environment, read once (tests pass their own).
#[derive(Debug, Clone, Default)]
pub struct HostEnv {
    /// `$ZIG`: a zig executable to use.
    pub zig: Option<PathBuf>,
    /// `$PATH`.
    pub path: Option<OsString>,
    /// Python interpreter to ask for the `ziglang` package; `None` skips that search.
    pub python: Option<String>,
}

impl HostEnv {
    /// Finds an executable on `PATH`.
    pub fn which(&self, name: &str) -> Option<PathBuf> {
        let path = self.path.as_ref()?;
        std::env::split_paths(path)
            .map(|d| d.join(name))
            .find(|p| is_executable(p))
    }
}

pub(crate) fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Host programs the builds run.
#[derive(Debug, Clone)]
pub struct HostTools {
    pub make: PathBuf,
    pub cmake: PathBuf,
    pub perl: PathBuf,
    pub pkg_config: PathBuf,
    /// `PATH` handed to build steps.
    pub path: std::ffi::OsString,
    /// `HOME`, which some configure scripts read.
    pub home: Option<std::ffi::OsString>,
}

impl HostTools {
    /// Resolves each tool on `PATH`; a missing one is left as its bare name, so the step that
    /// needs it fails with "could not start" and `crossroot doctor` names the package.
    pub fn find(host: &HostEnv) -> Self {
        let find = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| host.which(n))
                .unwrap_or_else(|| PathBuf::from(names[0]))
        };
        HostTools {
            make: find(&["make", "gmake"]),
            cmake: find(&["cmake"]),
            perl: find(&["perl"]),
            pkg_config: find(&["pkg-config", "pkgconf"]),
            path: host.path.clone().unwrap_or_else(|| "/usr/bin:/bin".into()),
            home: std::env::var_os("HOME"),
        }
    }
}
