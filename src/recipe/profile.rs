//! Sysroot profiles (`crossroot.toml`): which packages, for which targets, with which options.
//!
//! ```toml
//! [sysroot]
//! packages = ["curl"]
//! targets = ["aarch64-linux-musl", "riscv64-linux-musl", "x86_64-linux-musl"]
//! debug-info = false
//! opt-level = "2"
//! toolchain = "zig"        # or "gcc", or a prebuilt toolchain recipe's name
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
        Ok(Profile {
            path: path.to_path_buf(),
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
