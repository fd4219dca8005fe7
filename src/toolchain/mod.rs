//! The cross compiler. Three kinds share everything after "here are the wrappers and the
//! identity" ([`Toolchain`]): zig ([`Zig`], below), the host's GNU cross gcc with musl built by
//! crossroot ([`gcc`]), and prebuilt musl-cross-make tarballs ([`prebuilt`]).
//!
//! Finding zig: an installed one, or the pinned release fetched.
//!
//! Order: `$ZIG`, `zig` on `PATH`, the `ziglang` Python package, a release crossroot fetched
//! before, then the recipe's release for this host. An installed zig must satisfy the
//! recipe's `version-req`. What was found is remembered (by path, size and mtime) so that
//! `env` and a warm `build` don't start Python or hash 180 MB each time.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cache::{self, Home};
use crate::recipe::{SourceArtifact, ToolchainRecipe};
use crate::shell;
use crate::target::Target;

pub mod direct;
pub mod gcc;
pub mod prebuilt;

pub use gcc::GccMusl;
pub use prebuilt::Prebuilt;

#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    #[error(
        "zig {found} at {path} does not satisfy the zig recipe's version-req `{req}` ({origin})"
    )]
    WrongVersion {
        path: PathBuf,
        found: String,
        req: String,
        origin: String,
    },
    #[error("`{path} version` failed: {detail}")]
    Probe { path: PathBuf, detail: String },
    #[error(
        "no zig found ($ZIG, PATH, python3 -m ziglang) and the zig recipe pins no release for host `{host}`; install one with `pip install ziglang`"
    )]
    NoRelease { host: String },
    #[error(
        "no usable zig found ($ZIG, PATH, python3 -m ziglang) and --offline forbids fetching zig {version}; install one with `pip install ziglang`, or run `crossroot fetch` first"
    )]
    Offline { version: String },
    #[error(
        "refusing the zig release archive {archive}: signature {signature} (from {origin}) does not verify with minisign key {key}: {reason}"
    )]
    BadSignature {
        archive: PathBuf,
        signature: String,
        origin: String,
        key: String,
        reason: String,
    },
    #[error(
        "refusing the zig release archive {archive}: the recipe {recipe} pins minisign key {key} but no signature was given"
    )]
    NoSignature {
        archive: PathBuf,
        recipe: String,
        key: String,
    },
    #[error("the zig release archive {archive} holds no `zig` executable at its top")]
    BadArchive { archive: PathBuf },
    #[error(
        "the gcc toolchain needs `{program}` for {target}, which is not on PATH; install it with `apt-get install {package}` (`crossroot doctor` lists what each target needs)"
    )]
    NoHostGcc {
        target: String,
        program: String,
        package: String,
    },
    #[error("crossroot has no gcc route for {target}; use --toolchain zig")]
    NoGccRoute { target: String },
    #[error(
        "the gcc toolchain for {target} needs the Linux kernel headers (linux/version.h, asm/); looked in {looked}; install `{package}`"
    )]
    NoKernelHeaders {
        target: String,
        looked: String,
        package: String,
    },
    #[error(transparent)]
    Step(Box<StepFailure>),
    #[error(
        "the toolchain recipe {recipe} pins no archive for host `{host}` and target {target}; add a [[toolchain.release]] with host = \"{host}\" and target = \"{target}\""
    )]
    NoPrebuilt {
        recipe: String,
        host: String,
        target: String,
    },
    #[error("the prebuilt toolchain archive {archive} does not hold {want}")]
    BadPrebuilt { archive: PathBuf, want: String },
    #[error(transparent)]
    Cache(#[from] cache::CacheError),
    #[error(transparent)]
    Extract(#[from] crate::extract::ExtractError),
    #[error("could not read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A step of building a toolchain (musl's configure, make, install) that failed.
#[derive(Debug, thiserror::Error)]
#[error(
    "{label}: step `{step}` failed ({status})\n  command: {command}\n  directory: {cwd}\n  last lines of output:\n{tail}\n  full log: {log}"
)]
pub struct StepFailure {
    pub label: String,
    pub step: String,
    pub command: String,
    pub cwd: PathBuf,
    pub status: String,
    pub tail: String,
    pub log: PathBuf,
}

pub use crate::host::HostEnv;
pub(crate) use crate::host::is_executable;

/// Starts filling the toolchain directory `dir`: takes its entry lock (waiting for another
/// process that holds it) and returns it, with no staging when `done()` says the directory is
/// complete by then; otherwise clears what an interrupted run left (the incomplete entry,
/// stale staging) and adds a fresh staging directory beside `dir`, to be renamed into place.
fn begin_toolchain_dir(
    dir: &Path,
    done: impl Fn() -> bool,
    reporter: &dyn crate::report::Reporter,
) -> Result<(cache::EntryLock, Option<tempfile::TempDir>), ToolchainError> {
    let parent = dir.parent().expect("toolchain dir has a parent");
    let io = |source| ToolchainError::Io {
        path: parent.to_path_buf(),
        source,
    };
    fs::create_dir_all(parent).map_err(io)?;
    let lock = cache::EntryLock::acquire(&dir.with_extension("lock"), reporter)?;
    if done() {
        return Ok((lock, None));
    }
    cache::remove_incomplete(dir)?;
    let name = dir
        .file_name()
        .expect("toolchain dir has a name")
        .to_string_lossy();
    let stage = cache::new_staging(parent, &name).map_err(io)?;
    Ok((lock, Some(stage)))
}

/// The identity of a compiler, hashed into every package's cache key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolchainId {
    pub name: String,
    pub version: String,
    /// sha256 of the compiler executable.
    pub sha256: String,
    /// Flags the wrappers always pass for this target (zig's CPU baseline, `-mcpu=…`): they
    /// change the code, so they are part of the key. Left out when empty, so the keys of
    /// targets without any stay as they were.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

/// The compiler a plan builds with: zig for every target, or one directory-based toolchain
/// (the gcc route or a prebuilt tarball) per target. Everything after it (keys, wrappers,
/// builds, sysroots, env) asks it only for [`Toolchain::id`] and [`Toolchain::wrappers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Toolchain {
    Zig(Zig),
    Gcc(Vec<GccMusl>),
    Prebuilt(Vec<Prebuilt>),
}

/// A per-target toolchain missing for a target the plan asks for (a bug in the caller).
fn missing(kind: &str, target: &Target) -> ! {
    panic!(
        "the {kind} toolchain was resolved without {}",
        target.triple
    )
}

impl Toolchain {
    /// What `--toolchain` calls it: `zig`, `gcc`, or the prebuilt recipe's name.
    pub fn choice(&self) -> String {
        match self {
            Toolchain::Zig(_) => "zig".into(),
            Toolchain::Gcc(_) => "gcc".into(),
            Toolchain::Prebuilt(p) => p.first().map_or_else(String::new, |p| p.recipe.clone()),
        }
    }

    /// For messages: `zig 0.17.1`, `gcc 12.2.0 + musl 1.2.5`, `my-cross 1.0.0 (prebuilt)`.
    pub fn describe(&self) -> String {
        match self {
            Toolchain::Zig(z) => format!("zig {}", z.version),
            Toolchain::Gcc(g) => g.first().map_or_else(|| "gcc".into(), |g| g.id().version),
            Toolchain::Prebuilt(p) => p.first().map_or_else(String::new, |p| {
                format!("{} {} (prebuilt)", p.recipe, p.version)
            }),
        }
    }

    /// The identity hashed into every package key for `target`.
    pub fn id(&self, target: &Target) -> ToolchainId {
        match self {
            Toolchain::Zig(z) => ToolchainId {
                flags: target.zig_flags().iter().map(|f| f.to_string()).collect(),
                ..z.id()
            },
            Toolchain::Gcc(g) => g
                .iter()
                .find(|g| g.target == target)
                .unwrap_or_else(|| missing("gcc", target))
                .id(),
            Toolchain::Prebuilt(p) => p
                .iter()
                .find(|p| p.target == target)
                .unwrap_or_else(|| missing("prebuilt", target))
                .id(),
        }
    }

    /// The program the C compiler wrapper runs (the manifest records it).
    pub fn exe(&self, target: &Target) -> PathBuf {
        match self {
            Toolchain::Zig(z) => z.exe.clone(),
            Toolchain::Gcc(_) | Toolchain::Prebuilt(_) => {
                self.bin_dir(target).join(format!("{}-gcc", target.triple))
            }
        }
    }

    fn bin_dir(&self, target: &Target) -> PathBuf {
        match self {
            Toolchain::Zig(z) => z.exe.parent().map(Path::to_path_buf).unwrap_or_default(),
            Toolchain::Gcc(g) => g
                .iter()
                .find(|g| g.target == target)
                .unwrap_or_else(|| missing("gcc", target))
                .dir
                .join("bin"),
            Toolchain::Prebuilt(p) => p
                .iter()
                .find(|p| p.target == target)
                .unwrap_or_else(|| missing("prebuilt", target))
                .dir
                .join("bin"),
        }
    }

    /// `<triple>-cc`, `-c++`, `-ar` and `-ranlib` for `target`: see [`compiler_wrappers`] and
    /// [`dir_wrappers`].
    pub fn wrappers(&self, target: &Target, home: &Home) -> Vec<(String, String)> {
        match self {
            Toolchain::Zig(z) => compiler_wrappers(z, target, &home.zig_cache()),
            _ => dir_wrappers(&self.bin_dir(target), target, &self.describe()),
        }
    }
}

/// Wrappers that run a musl-cross-make style `bin/` by absolute path: `<triple>-gcc` as the
/// C compiler, `-g++` as the C++ one, and its `-ar` and `-ranlib`.
pub fn dir_wrappers(bin: &Path, target: &Target, what: &str) -> Vec<(String, String)> {
    let t = target.triple;
    let run = |role: &str, tool: &str| {
        format!(
            "#!/bin/sh\n# Generated by crossroot: {role} for {t} ({what}).\nexec {} \"$@\"\n",
            shell::quote(&bin.join(format!("{t}-{tool}")).display().to_string())
        )
    };
    vec![
        (format!("{t}-cc"), run("C compiler", "gcc")),
        (format!("{t}-c++"), run("C++ compiler", "g++")),
        (format!("{t}-ar"), run("archiver", "ar")),
        (format!("{t}-ranlib"), run("archive indexer", "ranlib")),
    ]
}

/// A zig that crossroot will compile with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zig {
    pub exe: PathBuf,
    pub version: String,
    pub sha256: String,
    /// Where it came from: `$ZIG`, `PATH`, `ziglang (python)`, `release`.
    pub origin: String,
}

impl Zig {
    pub fn id(&self) -> ToolchainId {
        ToolchainId {
            name: "zig".into(),
            version: self.version.clone(),
            sha256: self.sha256.clone(),
            flags: Vec::new(),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Remembered {
    /// Probes by executable path.
    probes: BTreeMap<PathBuf, Probe>,
    /// Where the `ziglang` package's zig was last seen.
    python_zig: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Probe {
    size: u64,
    mtime_ns: u128,
    version: String,
    sha256: String,
}

fn stamp(exe: &Path) -> Option<(u64, u128)> {
    let m = fs::metadata(exe).ok()?;
    let mtime = m
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some((m.len(), mtime))
}

pub(crate) fn sha256_file(path: &Path) -> Result<String, ToolchainError> {
    let io = |source| ToolchainError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Finds zig, remembering what it learnt under `home`.
pub struct Finder<'a> {
    home: &'a Home,
    host: &'a HostEnv,
    memo_path: PathBuf,
    memo: Remembered,
}

impl<'a> Finder<'a> {
    pub fn new(home: &'a Home, host: &'a HostEnv) -> Self {
        let memo_path = home.toolchains().join("zig-found.json");
        let memo = fs::read_to_string(&memo_path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        Finder {
            home,
            host,
            memo_path,
            memo,
        }
    }

    fn save(&self) {
        // Best effort: losing the memo only costs a re-probe. Only into a home that is
        // crossroot's (made so now if new or empty): never a bucket in someone else's directory.
        if let Ok(text) = serde_json::to_vec_pretty(&self.memo)
            && self.home.init().is_ok()
        {
            let _ = cache::write_atomic(&self.memo_path, &text);
        }
    }

    fn probe(&mut self, exe: &Path, origin: &str) -> Result<Zig, ToolchainError> {
        let exe = fs::canonicalize(exe).unwrap_or_else(|_| exe.to_path_buf());
        let st = stamp(&exe);
        if let (Some((size, mtime_ns)), Some(p)) = (st, self.memo.probes.get(&exe))
            && p.size == size
            && p.mtime_ns == mtime_ns
        {
            return Ok(Zig {
                exe,
                version: p.version.clone(),
                sha256: p.sha256.clone(),
                origin: origin.into(),
            });
        }
        let version = probe_version(&exe, "version")?;
        let sha256 = sha256_file(&exe)?;
        if let Some((size, mtime_ns)) = st {
            self.memo.probes.insert(
                exe.clone(),
                Probe {
                    size,
                    mtime_ns,
                    version: version.clone(),
                    sha256: sha256.clone(),
                },
            );
            self.save();
        }
        Ok(Zig {
            exe,
            version,
            sha256,
            origin: origin.into(),
        })
    }

    fn python_zig(&mut self) -> Option<PathBuf> {
        if let Some(p) = &self.memo.python_zig
            && is_executable(p)
        {
            return Some(p.clone());
        }
        let python = self.host.python.as_ref()?;
        let out = Command::new(python)
            .args([
                "-c",
                "import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), 'zig'))",
            ])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if !is_executable(&p) {
            return None;
        }
        self.memo.python_zig = Some(p.clone());
        self.save();
        Some(p)
    }

    /// The installed zig to use, if any satisfies `recipe.version_req`. A zig named by `$ZIG`
    /// that does not is an error (the user asked for it); others are passed over.
    pub fn find_installed(
        &mut self,
        recipe: &ToolchainRecipe,
    ) -> Result<Option<Zig>, ToolchainError> {
        if let Some(zig) = self.host.zig.clone() {
            let z = self.probe(&zig, "$ZIG")?;
            check_version(&z, recipe)?;
            return Ok(Some(z));
        }
        let mut candidates: Vec<(PathBuf, &str)> = Vec::new();
        if let Some(p) = self.host.which("zig") {
            candidates.push((p, "PATH"));
        }
        if let Some(p) = self.python_zig() {
            candidates.push((p, "ziglang (python)"));
        }
        let fetched = self.release_dir(recipe).join("zig");
        if is_executable(&fetched) && cache::is_complete(&self.release_dir(recipe), "zig") {
            candidates.push((fetched, "release"));
        }
        for (exe, origin) in candidates {
            match self.probe(&exe, origin) {
                Ok(z) if check_version(&z, recipe).is_ok() => return Ok(Some(z)),
                _ => continue,
            }
        }
        Ok(None)
    }

    /// Where the pinned release is unpacked.
    pub fn release_dir(&self, recipe: &ToolchainRecipe) -> PathBuf {
        self.home
            .toolchains()
            .join(format!("zig-{}-{}", recipe.version, host_name()))
    }

    /// Unpacks a release archive whose sha256 was checked and returns its zig. When the
    /// recipe pins a minisign key, `signature` must verify the archive with it first.
    pub fn install_release(
        &mut self,
        recipe: &ToolchainRecipe,
        archive: &Path,
        signature: Option<&ReleaseSignature>,
        reporter: &dyn crate::report::Reporter,
    ) -> Result<Zig, ToolchainError> {
        let dir = self.release_dir(recipe);
        let (_lock, stage) =
            begin_toolchain_dir(&dir, || cache::is_complete(&dir, "zig"), reporter)?;
        if let Some(stage) = stage {
            if let Some(key) = &recipe.minisign_key {
                let sig = signature.ok_or_else(|| ToolchainError::NoSignature {
                    archive: archive.to_path_buf(),
                    recipe: recipe.origin.to_string(),
                    key: key.clone(),
                })?;
                verify_minisign(archive, sig, key)?;
            }
            let out = stage.path().join("zig");
            crate::extract::extract(archive, &out, &crate::extract::ExtractOptions::default())?;
            if !is_executable(&out.join("zig")) {
                return Err(ToolchainError::BadArchive {
                    archive: archive.to_path_buf(),
                });
            }
            fs::rename(&out, &dir).map_err(|source| ToolchainError::Io {
                path: dir.clone(),
                source,
            })?;
            cache::mark_complete(&dir, "zig")?;
        }
        let z = self.probe(&dir.join("zig"), "release")?;
        check_version(&z, recipe)?;
        Ok(z)
    }
}

fn check_version(z: &Zig, recipe: &ToolchainRecipe) -> Result<(), ToolchainError> {
    let ok = semver::Version::parse(&z.version)
        .map(|v| {
            // A dev build (0.16.0-dev.123+abc) is judged by its release numbers.
            let plain = semver::Version::new(v.major, v.minor, v.patch);
            recipe.version_req.matches(&plain)
        })
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(ToolchainError::WrongVersion {
            path: z.exe.clone(),
            found: z.version.clone(),
            req: recipe.version_req.to_string(),
            origin: z.origin.clone(),
        })
    }
}

/// This host as zig names its release archives: `x86_64-linux`, `aarch64-linux`.
pub fn host_name() -> String {
    format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
}

/// The pinned release archive for this host, as a source artifact the fetcher understands.
pub fn release_artifact(recipe: &ToolchainRecipe) -> Result<SourceArtifact, ToolchainError> {
    let host = host_name();
    let r = recipe
        .releases
        .iter()
        .find(|r| r.host == host)
        .ok_or(ToolchainError::NoRelease { host })?;
    Ok(SourceArtifact {
        file: r.file.clone(),
        sha256: r.sha256.clone(),
        size: r.size,
        urls: r.urls.clone(),
        debian: None,
        signature: None,
    })
}

/// A detached minisign signature of a release archive, as fetched.
#[derive(Debug, Clone)]
pub struct ReleaseSignature {
    /// File name (`zig-x86_64-linux-0.16.0.tar.xz.minisig`).
    pub file: String,
    /// Where it came from, for messages.
    pub origin: String,
    pub text: String,
}

/// The signature file of this host's release and the URLs beside the archive's, when the
/// recipe pins a minisign key.
pub fn release_signature(
    recipe: &ToolchainRecipe,
) -> Result<Option<(String, Vec<String>)>, ToolchainError> {
    let artifact = release_artifact(recipe)?;
    let release = recipe
        .releases
        .iter()
        .find(|r| r.file == artifact.file)
        .expect("release_artifact found it");
    let (Some(_), Some(sig)) = (&recipe.minisign_key, &release.minisig) else {
        return Ok(None);
    };
    let urls = release
        .urls
        .iter()
        .map(|u| match u.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/{sig}"),
            None => sig.clone(),
        })
        .collect();
    Ok(Some((sig.clone(), urls)))
}

/// Checks `archive` against a minisign signature made with `key` (base64), reading it once.
pub fn verify_minisign(
    archive: &Path,
    signature: &ReleaseSignature,
    key: &str,
) -> Result<(), ToolchainError> {
    let refuse = |reason: String| ToolchainError::BadSignature {
        archive: archive.to_path_buf(),
        signature: signature.file.clone(),
        origin: signature.origin.clone(),
        key: key.to_string(),
        reason,
    };
    let public = minisign_verify::PublicKey::from_base64(key)
        .map_err(|e| refuse(format!("bad key: {e}")))?;
    let sig = minisign_verify::Signature::decode(&signature.text)
        .map_err(|e| refuse(format!("not a minisign signature: {e}")))?;
    let mut verifier = public
        .verify_stream(&sig)
        .map_err(|e| refuse(e.to_string()))?;
    let io = |source| ToolchainError::Io {
        path: archive.to_path_buf(),
        source,
    };
    let mut f = fs::File::open(archive).map_err(io)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        verifier.update(&buf[..n]);
    }
    verifier.finalize().map_err(|e| refuse(e.to_string()))
}

/// The start of a zig wrapper script: what it is, and zig's cache in crossroot's home.
pub fn zig_head(zig: &Zig, target: &crate::target::Target, zig_cache: &Path, what: &str) -> String {
    let cache = shell::quote(&zig_cache.display().to_string());
    format!(
        "#!/bin/sh\n# Generated by crossroot: {what} for {} (zig {}).\nZIG_GLOBAL_CACHE_DIR={cache}\nZIG_LOCAL_CACHE_DIR={cache}\nexport ZIG_GLOBAL_CACHE_DIR ZIG_LOCAL_CACHE_DIR\n",
        target.triple, zig.version
    )
}

/// `<driver> -target <zig target> <CPU flags>`: the arguments after zig's executable with which
/// crossroot runs `zig cc`/`zig c++`.
pub fn zig_driver_args(target: &crate::target::Target, driver: &str) -> Vec<String> {
    let mut args = vec![
        driver.to_string(),
        "-target".into(),
        target.zig_target.into(),
    ];
    args.extend(target.zig_flags().iter().map(|f| f.to_string()));
    args
}

/// `'<zig>' <driver> -target <zig target> <CPU flags>`: [`zig_driver_args`] as shell text.
pub fn zig_driver(zig: &Zig, target: &crate::target::Target, driver: &str) -> String {
    let words: Vec<String> = std::iter::once(zig.exe.display().to_string())
        .chain(zig_driver_args(target, driver))
        .map(|w| shell::quote(&w))
        .collect();
    words.join(" ")
}

/// The compiler wrappers for one target: `(file name, script)` pairs for `<triple>-cc`,
/// `-c++`, `-ar` and `-ranlib`. Configure scripts want one word in `CC`, and zig must find
/// its caches under the crossroot home, not `~/.cache/zig`.
pub fn compiler_wrappers(
    zig: &Zig,
    target: &crate::target::Target,
    zig_cache: &Path,
) -> Vec<(String, String)> {
    let exe = shell::quote(&zig.exe.display().to_string());
    let head = |what: &str| zig_head(zig, target, zig_cache, what);
    let t = target.triple;
    vec![
        (
            format!("{t}-cc"),
            format!(
                "{}exec {} \"$@\"\n",
                head("C compiler"),
                zig_driver(zig, target, "cc")
            ),
        ),
        (
            format!("{t}-c++"),
            format!(
                "{}exec {} \"$@\"\n",
                head("C++ compiler"),
                zig_driver(zig, target, "c++")
            ),
        ),
        (
            format!("{t}-ar"),
            format!("{}exec {exe} ar \"$@\"\n", head("archiver")),
        ),
        (
            format!("{t}-ranlib"),
            format!("{}exec {exe} ranlib \"$@\"\n", head("archive indexer")),
        ),
    ]
}

/// The pkg-config wrapper: always `--static`, and only the `.pc` files under
/// `<root>/<pc_dir>`, where root is the wrapper's `bin/..`, found from the wrapper's own
/// location so that a moved sysroot keeps working.
pub fn pkg_config_wrapper(pkg_config: &Path, target: &str, pc_dir: &str) -> String {
    format!(
        "#!/bin/sh\n# Generated by crossroot: pkg-config for {target}; static flags from this sysroot only.\nroot=$(cd \"$(dirname \"$(readlink -f \"$0\")\")/..\" && pwd -P)\nPKG_CONFIG_LIBDIR=\"$root/{pc_dir}\"\nPKG_CONFIG_PATH=\nPKG_CONFIG_SYSROOT_DIR=\nexport PKG_CONFIG_LIBDIR PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR\nexec {} --static \"$@\"\n",
        shell::quote(&pkg_config.display().to_string())
    )
}

/// Writes wrapper scripts into `dir` (only those whose text changed), executable.
pub fn write_wrappers(dir: &Path, wrappers: &[(String, String)]) -> Result<(), cache::CacheError> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir).map_err(|source| cache::CacheError::Io {
        action: "create",
        path: dir.to_path_buf(),
        source,
    })?;
    for (name, text) in wrappers {
        let path = dir.join(name);
        cache::write_if_changed(&path, text.as_bytes())?;
        let mode = fs::metadata(&path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
        if mode & 0o777 != 0o755 {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).map_err(|source| {
                cache::CacheError::Io {
                    action: "make executable",
                    path: path.clone(),
                    source,
                }
            })?;
        }
    }
    Ok(())
}

/// Runs `exe arg` (`zig version`, `gcc -dumpfullversion`) and returns what it printed,
/// trimmed; a failure to start or a failing exit is a [`ToolchainError::Probe`] naming both.
pub(crate) fn probe_version(exe: &Path, arg: &str) -> Result<String, ToolchainError> {
    let probe_error = |detail: String| ToolchainError::Probe {
        path: exe.to_path_buf(),
        detail,
    };
    let out = Command::new(exe)
        .arg(arg)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| probe_error(e.to_string()))?;
    if !out.status.success() {
        return Err(probe_error(format!(
            "{arg}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn recipe(req: &str) -> ToolchainRecipe {
        let text = format!(
            "[toolchain]\nname = \"zig\"\nversion = \"0.17.1\"\nversion-req = \"{req}\"\nlicense = \"MIT\"\n"
        );
        match crate::recipe::parse(Path::new("zig.toml"), &text).unwrap() {
            crate::recipe::RecipeFile::Toolchain(t) => *t,
            _ => unreachable!(),
        }
    }

    fn fake_zig(dir: &Path, version: &str) -> PathBuf {
        let p = dir.join("zig");
        fs::write(&p, format!("#!/bin/sh\necho {version}\n")).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn finds_zig_on_path_and_checks_version() {
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("bin");
        fs::create_dir(&bin).unwrap();
        fake_zig(&bin, "0.15.2");
        let home = Home::new(tmp.path().join("home"));
        let host = HostEnv {
            zig: None,
            path: Some(bin.clone().into_os_string()),
            python: None,
        };
        let mut f = Finder::new(&home, &host);
        let z = f
            .find_installed(&recipe(">=0.14.0, <0.18.0"))
            .unwrap()
            .unwrap();
        assert_eq!(z.version, "0.15.2");
        assert_eq!(z.origin, "PATH");
        assert_eq!(z.sha256.len(), 64);
        // Too old for the requirement: passed over.
        let mut f = Finder::new(&home, &host);
        assert!(f.find_installed(&recipe(">=0.16.0")).unwrap().is_none());
    }

    #[test]
    fn zig_env_var_with_wrong_version_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let exe = fake_zig(tmp.path(), "0.11.0");
        let home = Home::new(tmp.path().join("home"));
        let host = HostEnv {
            zig: Some(exe),
            path: None,
            python: None,
        };
        let err = Finder::new(&home, &host)
            .find_installed(&recipe(">=0.14.0"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("zig 0.11.0"), "{err}");
        assert!(err.contains(">=0.14.0"), "{err}");
        assert!(err.contains("$ZIG"), "{err}");
    }

    #[test]
    fn dev_versions_are_judged_by_release_numbers() {
        let tmp = tempfile::tempdir().unwrap();
        let exe = fake_zig(tmp.path(), "0.16.0-dev.1234+abcdef");
        let home = Home::new(tmp.path().join("home"));
        let host = HostEnv {
            zig: Some(exe),
            path: None,
            python: None,
        };
        let z = Finder::new(&home, &host)
            .find_installed(&recipe(">=0.14.0, <0.18.0"))
            .unwrap()
            .unwrap();
        assert_eq!(z.version, "0.16.0-dev.1234+abcdef");
    }

    #[test]
    fn probe_is_remembered_until_the_file_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let exe = fake_zig(tmp.path(), "0.15.2");
        let home = Home::new(tmp.path().join("home"));
        let host = HostEnv {
            zig: Some(exe.clone()),
            path: None,
            python: None,
        };
        let r = recipe(">=0.14.0");
        let first = Finder::new(&home, &host)
            .find_installed(&r)
            .unwrap()
            .unwrap();
        assert!(home.toolchains().join("zig-found.json").exists());
        // Same size and mtime: the remembered probe answers, not the file.
        let again = Finder::new(&home, &host)
            .find_installed(&r)
            .unwrap()
            .unwrap();
        assert_eq!(first, again);
        std::thread::sleep(std::time::Duration::from_millis(10));
        fake_zig(tmp.path(), "0.15.3");
        let changed = Finder::new(&home, &host)
            .find_installed(&r)
            .unwrap()
            .unwrap();
        assert_eq!(changed.version, "0.15.3");
        assert_ne!(changed.sha256, first.sha256);
    }

    /// zig 0.17.1 at `/z/zig`, found on PATH, with this sha256.
    fn zig_at_path(sha256: &str) -> Zig {
        Zig {
            exe: PathBuf::from("/z/zig"),
            version: "0.17.1".into(),
            sha256: sha256.into(),
            origin: "PATH".into(),
        }
    }

    #[test]
    fn zig_id_carries_the_target_cpu_baseline() {
        let z = zig_at_path(&"ab".repeat(32));
        let tc = Toolchain::Zig(z.clone());
        let a64 = Target::parse("aarch64-linux-musl").unwrap();
        assert_eq!(
            tc.id(a64),
            z.id(),
            "no baseline flags: the key input is zig's id as is"
        );
        let v6 = Target::parse("arm-linux-musleabihf").unwrap();
        assert_eq!(tc.id(v6).flags, ["-mcpu=arm1176jzf_s"]);
        assert_ne!(tc.id(v6), z.id());
    }

    /// The generated scripts carry tool paths the home's rule does not cover (zig from `$ZIG`,
    /// pkg-config from `PATH`) through `sh` intact, and pkg-config's root from its own path.
    #[test]
    fn wrappers_carry_hostile_tool_paths_intact() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let odd = tmp.path().join("it's a $HOME;`x` dir");
        fs::create_dir_all(&odd).unwrap();
        let echo = |name: &str| {
            let p = odd.join(name);
            fs::write(
                &p,
                "#!/bin/sh\nprintf '%s|' \"$@\" \"$ZIG_GLOBAL_CACHE_DIR\" \"$PKG_CONFIG_LIBDIR\"\n",
            )
            .unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
            p
        };
        let zig = Zig {
            exe: echo("zig"),
            version: "0.14.1".into(),
            sha256: "a".repeat(64),
            origin: "test".into(),
        };
        let t = Target::parse("aarch64-linux-musl").unwrap();
        let cache = odd.join("cache");
        let mut wrappers = compiler_wrappers(&zig, t, &cache);
        wrappers.push((
            "aarch64-linux-musl-pkg-config".into(),
            pkg_config_wrapper(&echo("pkg-config"), t.triple, "lib/pkgconfig"),
        ));
        let bin = odd.join("sys root/bin");
        write_wrappers(&bin, &wrappers).unwrap();
        let run = |name: &str| {
            let out = Command::new(bin.join(name))
                .args(["a b", "-c"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{name}: {out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        let cc = run("aarch64-linux-musl-cc");
        assert!(
            cc.starts_with("cc|-target|aarch64-linux-musl|") && cc.contains("|a b|-c|"),
            "{cc}"
        );
        assert!(cc.ends_with(&format!("|{}||", cache.display())), "{cc}");
        let ar = run("aarch64-linux-musl-ar");
        assert_eq!(ar, format!("ar|a b|-c|{}||", cache.display()));
        let pc = run("aarch64-linux-musl-pkg-config");
        let root = fs::canonicalize(odd.join("sys root")).unwrap();
        assert_eq!(
            pc,
            format!("--static|a b|-c||{}/lib/pkgconfig|", root.display())
        );
    }

    #[test]
    fn directory_toolchains_share_one_wrapper_shape() {
        let home = Home::new(PathBuf::from("/h"));
        let a64 = Target::parse("aarch64-linux-musl").unwrap();
        let rv = Target::parse("riscv64-linux-musl").unwrap();
        let set = crate::recipe::RecipeSet::builtin().unwrap();
        let gcc = |t: &'static Target| {
            let host = gcc::HostGcc {
                gnu_triple: t.gnu_triple.unwrap(),
                exe: PathBuf::from(format!("/usr/bin/{}-gcc", t.gnu_triple.unwrap())),
                version: "12.2.0".into(),
                sha256: "a".repeat(64),
                kernel_include: PathBuf::from("/inc"),
                kernel_asm: PathBuf::from("/inc/asm"),
                kernel_headers: "b".repeat(64),
            };
            GccMusl::new(&home, set.toolchain("musl").unwrap(), t, host)
        };
        let tc = Toolchain::Gcc(vec![gcc(a64), gcc(rv)]);
        assert_eq!(tc.choice(), "gcc");
        assert_eq!(tc.describe(), "gcc 12.2.0 + musl 1.2.5");
        assert_ne!(tc.id(a64), tc.id(rv));
        let dir = gcc(a64).dir;
        assert_eq!(tc.exe(a64), dir.join("bin/aarch64-linux-musl-gcc"));
        let w: BTreeMap<String, String> = tc.wrappers(a64, &home).into_iter().collect();
        assert_eq!(
            w.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "aarch64-linux-musl-ar",
                "aarch64-linux-musl-c++",
                "aarch64-linux-musl-cc",
                "aarch64-linux-musl-ranlib"
            ]
        );
        let cc = &w["aarch64-linux-musl-cc"];
        assert!(
            cc.ends_with(&format!(
                "exec '{}' \"$@\"\n",
                dir.join("bin/aarch64-linux-musl-gcc").display()
            )),
            "{cc}"
        );
        assert!(w["aarch64-linux-musl-c++"].contains("aarch64-linux-musl-g++"));
        // zig keeps its own wrappers.
        let zig = zig_at_path(&"c".repeat(64));
        let z = Toolchain::Zig(zig.clone());
        assert_eq!(
            z.wrappers(a64, &home),
            compiler_wrappers(&zig, a64, &home.zig_cache())
        );
        assert_eq!(z.id(rv), zig.id());
        assert_eq!(z.choice(), "zig");
    }
}
