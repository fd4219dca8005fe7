//! Sysroot profiles (`crossroot.toml`): which packages, for which targets, with which options.
//!
//! ```toml
//! [sysroot]
//! packages = ["curl"]
//! targets = ["aarch64-linux-musl", "riscv64-linux-musl", "x86_64-linux-musl"]
//! debug-info = false
//! opt-level = "2"
//! toolchain = "zig"        # or "gcc", or a prebuilt toolchain recipe's name
//!
//! [cache]                   # optional: a shared registry cache (flags and CROSSROOT_* win)
//! remote = "ghcr.io/org/crossroot-cache"
//! trusted-keys = ["keys/crossroot.pub"]   # relative to this file
//! push = false              # `build` pushes what it built (needs --sign-key)
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::RecipeError;
use crate::target::Target;

/// The file `build` and `env` read from the current directory when no packages are named.
pub const PROFILE_FILE: &str = "crossroot.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    sysroot: RawSysroot,
    #[serde(default)]
    cache: Option<RawCache>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCache {
    remote: Spanned<String>,
    #[serde(default)]
    trusted_keys: Vec<String>,
    #[serde(default)]
    push: bool,
}

/// A profile's `[cache]`: the registry its `build` uses unless flags say otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileCache {
    pub remote: String,
    /// Resolved against the profile's directory.
    pub trusted_keys: Vec<PathBuf>,
    pub push: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSysroot {
    packages: Vec<String>,
    #[serde(default)]
    targets: Vec<Spanned<String>>,
    #[serde(default)]
    debug_info: bool,
    #[serde(default)]
    opt_level: Option<Spanned<String>>,
    #[serde(default)]
    toolchain: Option<Spanned<String>>,
}

/// A validated profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub path: PathBuf,
    pub packages: Vec<String>,
    pub targets: Vec<&'static Target>,
    pub debug_info: bool,
    pub opt_level: Option<String>,
    /// `zig`, `gcc` or a prebuilt toolchain recipe's name; `None`: zig unless `--toolchain`.
    pub toolchain: Option<String>,
    pub cache: Option<ProfileCache>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Profile {
    pub fn parse(path: &Path, text: &str) -> Result<Profile, RecipeError> {
        let invalid = |offset: usize, message: String| RecipeError::Invalid {
            path: path.to_path_buf(),
            line: line_of(text, offset),
            message,
        };
        let raw: RawProfile = toml::from_str(text).map_err(|e| {
            invalid(
                e.span().map(|s| s.start).unwrap_or(0),
                e.message().trim().to_string(),
            )
        })?;
        let s = raw.sysroot;
        let mut targets = Vec::new();
        for t in &s.targets {
            let target =
                Target::parse(t.get_ref()).map_err(|e| invalid(t.span().start, e.to_string()))?;
            targets.push(target);
        }
        if let Some(o) = &s.opt_level
            && !matches!(o.get_ref().as_str(), "0" | "1" | "2" | "3" | "s" | "z")
        {
            return Err(invalid(
                o.span().start,
                format!(
                    "opt-level `{}` must be one of 0, 1, 2, 3, s, z",
                    o.get_ref()
                ),
            ));
        }
        if let Some(t) = &s.toolchain
            && !crate::recipe::valid_name(t.get_ref())
        {
            return Err(invalid(
                t.span().start,
                format!(
                    "toolchain `{}` must be `zig`, `gcc` or a toolchain recipe's name",
                    t.get_ref()
                ),
            ));
        }
        let cache = match raw.cache {
            None => None,
            Some(c) => {
                if !c.remote.get_ref().contains('/') {
                    return Err(invalid(
                        c.remote.span().start,
                        format!(
                            "remote `{}` is not a registry repository; expected HOST[:PORT]/PATH, e.g. ghcr.io/org/crossroot-cache",
                            c.remote.get_ref()
                        ),
                    ));
                }
                let base = path.parent().unwrap_or(Path::new("."));
                Some(ProfileCache {
                    remote: c.remote.into_inner(),
                    trusted_keys: c.trusted_keys.iter().map(|k| base.join(k)).collect(),
                    push: c.push,
                })
            }
        };
        Ok(Profile {
            path: path.to_path_buf(),
            cache,
            packages: s.packages,
            targets,
            debug_info: s.debug_info,
            opt_level: s.opt_level.map(Spanned::into_inner),
            toolchain: s.toolchain.map(Spanned::into_inner),
        })
    }

    pub fn load(path: &Path) -> Result<Profile, RecipeError> {
        let text = std::fs::read_to_string(path).map_err(|source| RecipeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Profile::parse(path, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_section_names_a_registry_and_keys_beside_the_profile() {
        let text = "[sysroot]\npackages = [\"curl\"]\n\n[cache]\nremote = \"127.0.0.1:5000/team/cache\"\ntrusted-keys = [\"keys/a.pub\"]\npush = true\n";
        let p = Profile::parse(Path::new("conf/p.toml"), text).unwrap();
        let c = p.cache.unwrap();
        assert_eq!(c.remote, "127.0.0.1:5000/team/cache");
        assert_eq!(c.trusted_keys, [PathBuf::from("conf/keys/a.pub")]);
        assert!(c.push);
        let bad = "[sysroot]\npackages = [\"curl\"]\n\n[cache]\nremote = \"cache:latest\"\n";
        let e = Profile::parse(Path::new("p.toml"), bad)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("p.toml:5") && e.contains("not a registry repository"),
            "{e}"
        );
    }

    #[test]
    fn parses_the_shipped_curl_profile() {
        let text = include_str!("../../sysroots/curl.toml");
        let p = Profile::parse(Path::new("sysroots/curl.toml"), text).unwrap();
        assert_eq!(p.packages, vec!["curl"]);
        let triples: Vec<_> = p.targets.iter().map(|t| t.triple).collect();
        assert_eq!(
            triples,
            [
                "aarch64-linux-musl",
                "riscv64-linux-musl",
                "x86_64-linux-musl"
            ]
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let text =
            "[sysroot]\npackages = [\"curl\"]\ntargets = [\"linux/arm64\", \"mips-linux-gnu\"]\n";
        let err = Profile::parse(Path::new("crossroot.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("crossroot.toml:3: unknown target `mips-linux-gnu`"),
            "{err}"
        );
        let text = "[sysroot]\npackages = [\"curl\"]\ncolour = \"blue\"\n";
        let err = Profile::parse(Path::new("crossroot.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("crossroot.toml:3:"), "{err}");
        assert!(err.contains("colour"), "{err}");
        let text = "[sysroot]\npackages = [\"curl\"]\nopt-level = \"fast\"\n";
        let err = Profile::parse(Path::new("p.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("p.toml:3: opt-level `fast`"), "{err}");
    }

    #[test]
    fn toolchain_is_read_and_checked() {
        let text = "[sysroot]\npackages = [\"curl\"]\ntoolchain = \"gcc\"\n";
        let p = Profile::parse(Path::new("crossroot.toml"), text).unwrap();
        assert_eq!(p.toolchain.as_deref(), Some("gcc"));
        let p = Profile::parse(Path::new("p.toml"), "[sysroot]\npackages = [\"curl\"]\n").unwrap();
        assert_eq!(p.toolchain, None);
        let text = "[sysroot]\npackages = [\"curl\"]\ntoolchain = \"../gcc\"\n";
        let err = Profile::parse(Path::new("p.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.toml:3: toolchain `../gcc`"), "{err}");
    }
}
