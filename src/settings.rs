//! Settings resolved from flags and environment, checked once before any command runs.

use std::path::{Path, PathBuf};

use crate::cache::Home;
use crate::cli::GlobalArgs;
use crate::fetch::Mirror;
use crate::toolchain::HostEnv;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("no home directory: set CROSSROOT_HOME or pass --home")]
    NoHome,
    #[error("mirror `{0}` is neither an http(s) URL nor an existing directory")]
    BadMirror(String),
    #[error("--jobs must be at least 1")]
    ZeroJobs,
    #[error(
        "the home {path} {problem}, which the build tools cannot carry: they paste its path unquoted into shell lines, Makefiles and pkg-config output; choose a home whose path has only {rule} (--home or CROSSROOT_HOME, e.g. /var/cache/crossroot)",
        path = path.display(),
        rule = crate::shell::path_rule()
    )]
    UnsafeHome {
        path: PathBuf,
        problem: crate::shell::UnsafePath,
    },
    #[error(
        "--max-download (CROSSROOT_MAX_DOWNLOAD) `{0}` is not a size: expected bytes, or a number with K, M, G or T (powers of 1024), e.g. 512M"
    )]
    BadSize(String),
}

/// Reads environment variables; tests pass a map instead of the process environment.
pub trait EnvSource {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl EnvSource for std::collections::BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned().filter(|v| !v.is_empty())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub home: Home,
    pub recipe_dirs: Vec<PathBuf>,
    pub mirrors: Vec<Mirror>,
    /// Debian archive mirrors: `CROSSROOT_DEBIAN_MIRRORS`, else the host's apt configuration.
    pub debian_mirrors: Vec<String>,
    pub offline: bool,
    /// The most bytes of a download without a pinned size, and of what a bundle unpacks to.
    pub max_download: u64,
    pub jobs: usize,
    pub verbosity: Verbosity,
    pub host: HostEnv,
    /// `DOCKER_CONFIG`: where registry credentials are (`config.json`), else `~/.docker`.
    pub docker_config: Option<PathBuf>,
}

fn parse_mirror(s: &str) -> Result<Mirror, SettingsError> {
    if s.starts_with("http://") || s.starts_with("https://") {
        Ok(Mirror::Url(s.trim_end_matches('/').to_string()))
    } else {
        let p = Path::new(s.strip_prefix("file://").unwrap_or(s));
        if p.is_dir() {
            Ok(Mirror::Dir(p.to_path_buf()))
        } else {
            Err(SettingsError::BadMirror(s.to_string()))
        }
    }
}

/// `1048576`, `512K`, `16M`, `2G`, `1T` (also `16MiB`, `16MB`: powers of 1024 all).
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(digits);
    let n: u64 = n.parse().ok()?;
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|x| !x.is_empty())
}

impl Settings {
    pub fn resolve(args: &GlobalArgs, env: &dyn EnvSource) -> Result<Settings, SettingsError> {
        let home = args
            .home
            .clone()
            .or_else(Home::default_root)
            .ok_or(SettingsError::NoHome)?;
        let mut mirrors = Vec::new();
        for m in &args.mirrors {
            mirrors.push(parse_mirror(m)?);
        }
        if let Some(list) = env.var("CROSSROOT_MIRRORS") {
            for m in split_list(&list) {
                mirrors.push(parse_mirror(m)?);
            }
        }
        let debian_mirrors = match env.var("CROSSROOT_DEBIAN_MIRRORS") {
            Some(list) => split_list(&list)
                .map(|s| s.trim_end_matches('/').to_string())
                .collect(),
            None => {
                let apt = env
                    .var("CROSSROOT_APT_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("/etc/apt"));
                crate::fetch::apt::read_apt_mirrors(&apt)
                    .map(|ms| ms.into_iter().map(|m| m.base).collect())
                    .unwrap_or_default()
            }
        };
        let jobs = match args.jobs {
            Some(0) => return Err(SettingsError::ZeroJobs),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let max_download = match &args.max_download {
            Some(s) => parse_size(s).ok_or_else(|| SettingsError::BadSize(s.clone()))?,
            None => crate::fetch::DEFAULT_MAX_DOWNLOAD,
        };
        let offline = args.offline
            || env
                .var("CROSSROOT_OFFLINE")
                .is_some_and(|v| !matches!(v.as_str(), "0" | "false" | "no"));
        let verbosity = if args.quiet {
            Verbosity::Quiet
        } else if args.verbose > 0 {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        };
        let home = absolute(&home);
        crate::shell::check_path(&home).map_err(|problem| SettingsError::UnsafeHome {
            path: home.clone(),
            problem,
        })?;
        Ok(Settings {
            home: Home::new(home),
            recipe_dirs: args.recipes.clone(),
            mirrors,
            debian_mirrors,
            offline,
            max_download,
            jobs,
            verbosity,
            host: HostEnv {
                zig: env.var("ZIG").map(PathBuf::from),
                path: env.var("PATH").map(Into::into),
                python: Some(
                    env.var("CROSSROOT_PYTHON")
                        .unwrap_or_else(|| "python3".into()),
                ),
            },
            docker_config: env.var("DOCKER_CONFIG").map(PathBuf::from),
        })
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::collections::BTreeMap;

    fn args(a: &[&str]) -> GlobalArgs {
        let mut v = vec!["crossroot"];
        v.extend_from_slice(a);
        v.push("list");
        crate::cli::Cli::parse_from(v).global
    }

    #[test]
    fn mirrors_from_flags_and_env_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let mut env = BTreeMap::new();
        env.insert(
            "CROSSROOT_MIRRORS".to_string(),
            format!("http://127.0.0.1:1/m/, {d}"),
        );
        env.insert(
            "CROSSROOT_DEBIAN_MIRRORS".to_string(),
            "http://deb.example/debian/".to_string(),
        );
        let s = Settings::resolve(
            &args(&["--home", &d, "--mirror", "https://m.example/x"]),
            &env,
        )
        .unwrap();
        assert_eq!(
            s.mirrors,
            vec![
                Mirror::Url("https://m.example/x".into()),
                Mirror::Url("http://127.0.0.1:1/m".into()),
                Mirror::Dir(dir.path().to_path_buf()),
            ]
        );
        assert_eq!(
            s.debian_mirrors,
            vec!["http://deb.example/debian".to_string()]
        );
        assert_eq!(s.home.root(), dir.path());
    }

    #[test]
    fn bad_mirror_and_zero_jobs_are_errors() {
        let env = BTreeMap::new();
        let err = Settings::resolve(
            &args(&["--home", "/tmp/x", "--mirror", "/no/such/dir"]),
            &env,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "mirror `/no/such/dir` is neither an http(s) URL nor an existing directory"
        );
        let err = Settings::resolve(&args(&["--home", "/tmp/x", "-j", "0"]), &env).unwrap_err();
        assert!(matches!(err, SettingsError::ZeroJobs));
    }

    #[test]
    fn max_download_takes_sizes_with_binary_suffixes() {
        let env = BTreeMap::new();
        let s = Settings::resolve(&args(&["--home", "/tmp/x"]), &env).unwrap();
        assert_eq!(s.max_download, 2 << 30);
        for (text, bytes) in [
            ("1048576", 1 << 20),
            ("512K", 512 << 10),
            ("16M", 16 << 20),
            ("2g", 2 << 30),
            ("1TiB", 1 << 40),
        ] {
            let s = Settings::resolve(&args(&["--home", "/tmp/x", "--max-download", text]), &env)
                .unwrap();
            assert_eq!(s.max_download, bytes, "{text}");
        }
        for bad in ["", "12X", "-1", "M", "99999999999999999999G"] {
            let flag = format!("--max-download={bad}");
            let err = Settings::resolve(&args(&["--home", "/tmp/x", &flag]), &env).unwrap_err();
            assert!(matches!(err, SettingsError::BadSize(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn offline_from_env() {
        let mut env = BTreeMap::new();
        env.insert("CROSSROOT_OFFLINE".to_string(), "1".to_string());
        assert!(
            Settings::resolve(&args(&["--home", "/tmp/x"]), &env)
                .unwrap()
                .offline
        );
        env.insert("CROSSROOT_OFFLINE".to_string(), "0".to_string());
        assert!(
            !Settings::resolve(&args(&["--home", "/tmp/x"]), &env)
                .unwrap()
                .offline
        );
    }

    #[test]
    fn a_home_the_build_tools_cannot_carry_is_refused_naming_the_character() {
        let env = BTreeMap::new();
        let err = Settings::resolve(&args(&["--home", "/tmp/h;touch X;"]), &env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the home /tmp/h;touch X; contains `;` (at byte 6), which the build tools cannot carry: they paste its path unquoted into shell lines, Makefiles and pkg-config output; choose a home whose path has only ASCII letters, digits and / . _ - + @ ~ (--home or CROSSROOT_HOME, e.g. /var/cache/crossroot)"
        );
        for (home, what) in [
            ("/tmp/my home", "contains a space"),
            ("/tmp/it's", "contains `'`"),
            ("/tmp/h\u{e9}", "contains the non-ASCII character"),
        ] {
            let err = Settings::resolve(&args(&["--home", home]), &env).unwrap_err();
            assert!(err.to_string().contains(what), "{home}: {err}");
        }
        // Relative homes are judged by their absolute path, which is what the tools see.
        let s = Settings::resolve(&args(&["--home", "rel/home"]), &env).unwrap();
        assert!(s.home.root().is_absolute());
    }
}
