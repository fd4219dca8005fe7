//! Fetch: a verified local copy of a pinned source artifact.
//!
//! Sources, in order, for each artifact: the download cache (`<downloads_dir>/<sha256>/<file>`,
//! re-hashed on every hit), the user's mirrors, the recipe's upstream URLs, then the Debian
//! archive's pool. Every byte that lands in the cache went through sha256 first; a file whose
//! hash does not match is deleted and never used. When the recipe pins an OpenPGP key for a
//! file, its detached signature is fetched (from where the file came from first) and must
//! verify before the file is handed on; the signature and the fact that it verified are kept
//! beside the file.

pub mod apt;
mod download;
mod lock;

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::openpgp;
use crate::recipe::{DebianSource, SignatureSpec, SourceArtifact};
use crate::report::Reporter;

pub use download::SizeLimit;
use download::{DownloadError, Downloader, Job, Limit, too_large};

/// A place the user keeps copies of source files, looked up by file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mirror {
    /// A local directory: `<dir>/<file>`.
    Dir(PathBuf),
    /// A base URL (`http://` or `https://`): `<base>/<file>`.
    Url(String),
}

impl Mirror {
    /// Reads a `--mirror` / `CROSSROOT_MIRRORS` entry: a URL if it has an http(s) scheme, else a
    /// directory.
    pub fn parse(s: &str) -> Mirror {
        if s.starts_with("http://") || s.starts_with("https://") {
            Mirror::Url(s.to_string())
        } else {
            Mirror::Dir(PathBuf::from(s))
        }
    }
}

impl fmt::Display for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mirror::Dir(d) => write!(f, "{}", d.display()),
            Mirror::Url(u) => f.write_str(u),
        }
    }
}

/// How the fetcher works; resolved from settings by the caller.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// The download cache bucket, e.g. `<home>/downloads-v1`.
    pub downloads_dir: PathBuf,
    /// User mirrors, tried in order before the recipe's URLs.
    pub mirrors: Vec<Mirror>,
    /// Debian archive base URLs (the directory that holds `pool/`), tried last.
    pub debian_mirrors: Vec<String>,
    /// Use only the cache and [`Mirror::Dir`] mirrors.
    pub offline: bool,
    /// Downloads at once in [`Fetcher::fetch_all`].
    pub concurrency: usize,
    /// How long a connection may make no progress before it counts as failed.
    pub timeout: Duration,
    /// Retries per URL after connection errors, stalls and HTTP 5xx.
    pub retries: u32,
    /// The most bytes of a file whose size the recipe does not pin.
    pub max_download: u64,
}

/// The limit when none is set: larger than any source or toolchain archive crossroot pins.
pub const DEFAULT_MAX_DOWNLOAD: u64 = 2 << 30;

impl FetchConfig {
    /// Defaults for everything but the cache directory.
    pub fn new(downloads_dir: PathBuf) -> Self {
        FetchConfig {
            downloads_dir,
            mirrors: Vec::new(),
            debian_mirrors: Vec::new(),
            offline: false,
            concurrency: 4,
            timeout: Duration::from_secs(30),
            retries: 3,
            max_download: DEFAULT_MAX_DOWNLOAD,
        }
    }

    /// How large `artifact` may be: its pinned size, else the cap.
    fn limit(&self, artifact: &SourceArtifact) -> Limit {
        match artifact.size {
            Some(bytes) => Limit {
                bytes,
                why: SizeLimit::Pinned,
            },
            None => Limit {
                bytes: self.max_download,
                why: SizeLimit::Cap,
            },
        }
    }
}

/// A verified file in the download cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// `<downloads_dir>/<sha256>/<file>`.
    pub path: PathBuf,
    /// The alternative that was obtained.
    pub artifact: SourceArtifact,
    /// `cache`, the URL, or the mirror file's path.
    pub origin: String,
    /// The OpenPGP signature that verified the file, when the recipe pins a key for it.
    pub signature: Option<SignatureCheck>,
}

/// A detached signature that verified a fetched file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    /// `<downloads_dir>/<sha256>/<signature file>`.
    pub path: PathBuf,
    /// The URL or mirror path it came from; `cache` when it was verified by an earlier run.
    pub origin: String,
    pub verified: openpgp::Verified,
}

/// Detached signatures are a few hundred bytes; a key's worth of them is still small.
const MAX_SIGNATURE_BYTES: u64 = 64 * 1024;

/// One source tried, and what it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// URL or file path.
    pub source: String,
    /// `HTTP 404 Not Found`, `sha256 mismatch: expected …, got …`, `not in mirror`, …
    pub outcome: String,
}

/// Why an artifact could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("could not set up the HTTP client")]
    Client {
        #[source]
        source: reqwest::Error,
    },
    #[error("could not create the download directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{what}: no source artifact to fetch")]
    NoArtifacts { what: String },
    #[error(
        "{what}: source artifact `{file}` (sha256 `{sha256}`) has an invalid file name or hash"
    )]
    InvalidArtifact {
        what: String,
        file: String,
        sha256: String,
    },
    #[error("could not lock {path}")]
    Lock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not read or write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}", render_all_failed(what, attempts))]
    AllSourcesFailed {
        what: String,
        attempts: Vec<Attempt>,
    },
    #[error("{0}")]
    Unverified(Box<Unverified>),
    #[error(
        "{}",
        render_offline(what, files, downloads_dir, attempts, online_sources)
    )]
    NotCached {
        what: String,
        /// The alternatives' file names.
        files: Vec<String>,
        downloads_dir: PathBuf,
        /// Directory mirrors looked at.
        attempts: Vec<Attempt>,
        /// Where `crossroot fetch` would look when online, first ones first.
        online_sources: Vec<String>,
    },
}

fn render_attempts(out: &mut String, attempts: &[Attempt]) {
    for a in attempts {
        out.push_str(&format!("\n  {}: {}", a.source, a.outcome));
    }
}

fn render_all_failed(what: &str, attempts: &[Attempt]) -> String {
    let mut out = format!("could not fetch {what} from any source");
    if attempts.is_empty() {
        out.push_str(": the recipe names no URL and no mirror is configured");
    } else {
        out.push_str(&format!(" ({} tried):", attempts.len()));
        render_attempts(&mut out, attempts);
    }
    out
}

/// A source file whose recipe pins a signing key, and no signature that verifies it.
#[derive(Debug)]
pub struct Unverified {
    pub what: String,
    /// The source file, in the download cache.
    pub file: PathBuf,
    /// The signature's file name.
    pub signature: String,
    /// Where the pinned key file was read from.
    pub key: String,
    pub fingerprints: Vec<String>,
    /// Every place the signature was looked for, and what it gave or why it was refused.
    pub attempts: Vec<Attempt>,
    /// Whether any signature was obtained (and refused), as opposed to none found.
    pub obtained: bool,
    pub offline: bool,
}

impl fmt::Display for Unverified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render_unverified(self))
    }
}

fn render_unverified(u: &Unverified) -> String {
    let Unverified {
        what,
        file,
        signature,
        key,
        fingerprints,
        attempts,
        obtained,
        offline,
    } = u;
    let (obtained, offline) = (*obtained, *offline);
    let keys = format!("key {} ({key})", fingerprints.join(", "));
    let mut out = if obtained {
        format!(
            "refusing {what}: {} has no valid OpenPGP signature by {keys}:",
            file.display()
        )
    } else if attempts.is_empty() {
        format!(
            "refusing {what}: the OpenPGP signature {signature} of {} is not in the download cache{}, and the recipe pins {keys}",
            file.display(),
            if offline {
                " and --offline allows no downloads"
            } else {
                " and there is nowhere to fetch it from"
            }
        )
    } else {
        format!(
            "refusing {what}: the OpenPGP signature {signature} of {} could not be fetched from any source ({} tried), and the recipe pins {keys}:",
            file.display(),
            attempts.len()
        )
    };
    render_attempts(&mut out, attempts);
    out.push_str(if obtained {
        "\nhint: the file matches the recipe's sha256, so the recipe and the signature disagree: \
         check the file, its checksum and the signing key against the project's release \
         announcement; if the project now signs with another key, pin that key in the recipe \
         (docs/recipes.md). crossroot never uses a file it cannot verify"
    } else if offline {
        "\nhint: run `crossroot fetch` while online, or put the signature beside the file in a \
         directory given with --mirror. crossroot never uses a file it cannot verify"
    } else {
        "\nhint: put the signature beside the file in a directory given with --mirror. crossroot \
         never uses a file it cannot verify"
    });
    out
}

fn render_offline(
    what: &str,
    files: &[String],
    downloads_dir: &Path,
    attempts: &[Attempt],
    online_sources: &[String],
) -> String {
    let mut out = format!(
        "{what}: {} is not in the download cache {} and --offline allows no downloads",
        files.join(" or "),
        downloads_dir.display()
    );
    render_attempts(&mut out, attempts);
    match online_sources.first() {
        Some(first) => out.push_str(&format!(
            "\nhint: run `crossroot fetch` while online (it would download from {first}{}), \
             or put the file into a directory given with --mirror",
            match online_sources.len() - 1 {
                0 => String::new(),
                n => format!(" or {n} more"),
            }
        )),
        None => out.push_str(
            "\nhint: put the file into a directory given with --mirror; \
             the recipe names no URL to download it from",
        ),
    }
    out
}

/// Where the cache keeps an artifact: `<downloads_dir>/<sha256>/<file>`.
pub fn cached_path(downloads_dir: &Path, artifact: &SourceArtifact) -> PathBuf {
    downloads_dir.join(&artifact.sha256).join(&artifact.file)
}

fn partial_path(downloads_dir: &Path, artifact: &SourceArtifact) -> PathBuf {
    downloads_dir
        .join(&artifact.sha256)
        .join(format!("{}.partial", artifact.file))
}

fn lock_path(downloads_dir: &Path, artifact: &SourceArtifact) -> PathBuf {
    downloads_dir.join(&artifact.sha256).join(".lock")
}

fn join_url(base: &str, file: &str) -> String {
    format!("{}/{file}", base.trim_end_matches('/'))
}

fn valid_artifact(a: &SourceArtifact) -> bool {
    let file_ok = !a.file.is_empty()
        && a.file != "."
        && a.file != ".."
        && !a.file.starts_with('.')
        && !a.file.contains(['/', '\\', '\0']);
    let sha_ok = a.sha256.len() == 64
        && a.sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    file_ok && sha_ok
}

/// One source of an artifact, in the order tried.
enum Source {
    Dir(PathBuf),
    Net(NetSource),
}

impl Source {
    /// The path or URL, as attempts and origins name it.
    fn label(&self) -> String {
        match self {
            Source::Dir(p) => p.display().to_string(),
            Source::Net(n) => n.url().to_string(),
        }
    }
}

/// What one source gave for a small unpinned file.
enum Small {
    Got(Vec<u8>),
    Failed(Attempt),
    /// A network source while offline.
    Skipped,
}

/// A URL, and who named it: that decides which schemes are allowed.
enum NetSource {
    Mirror(String),
    Upstream(String),
    Debian(String),
}

impl NetSource {
    fn url(&self) -> &str {
        match self {
            NetSource::Mirror(u) | NetSource::Upstream(u) | NetSource::Debian(u) => u,
        }
    }

    /// Recipes must say https; mirrors the user or apt named may be plain http (the sha256 pin
    /// is the check there).
    fn refusal(&self) -> Option<&'static str> {
        let url = self.url();
        match self {
            NetSource::Upstream(_) if !url.starts_with("https://") => {
                Some("refused: upstream URLs from recipes must use https://")
            }
            NetSource::Mirror(_) | NetSource::Debian(_)
                if !url.starts_with("https://") && !url.starts_with("http://") =>
            {
                Some(
                    "refused: mirror URLs must use http:// or https:// (use a directory for local files)",
                )
            }
            _ => None,
        }
    }
}

/// Obtains verified local copies of source artifacts.
pub struct Fetcher {
    config: FetchConfig,
    downloader: Downloader,
    reporter: Arc<dyn Reporter>,
}

impl Fetcher {
    pub fn new(config: FetchConfig, reporter: Arc<dyn Reporter>) -> Result<Self, FetchError> {
        std::fs::create_dir_all(&config.downloads_dir).map_err(|source| FetchError::CreateDir {
            path: config.downloads_dir.clone(),
            source,
        })?;
        let downloader = Downloader::new(config.timeout, config.retries, reporter.clone())
            .map_err(|source| FetchError::Client { source })?;
        Ok(Fetcher {
            config,
            downloader,
            reporter,
        })
    }

    /// Fetches one of `artifacts` (alternatives for one package version, preferred first) and
    /// returns the first obtained. Any cached alternative wins over downloading another. When
    /// the recipe pins a signing key for the one obtained, its signature must verify it: a file
    /// that cannot be verified is an error, never a reason to use another alternative.
    pub async fn fetch(
        &self,
        what: &str,
        artifacts: &[SourceArtifact],
    ) -> Result<Fetched, FetchError> {
        let fetched = self.fetch_file(what, artifacts).await?;
        self.check_signature(what, fetched).await
    }

    async fn fetch_file(
        &self,
        what: &str,
        artifacts: &[SourceArtifact],
    ) -> Result<Fetched, FetchError> {
        if artifacts.is_empty() {
            return Err(FetchError::NoArtifacts {
                what: what.to_string(),
            });
        }
        if let Some(bad) = artifacts.iter().find(|a| !valid_artifact(a)) {
            return Err(FetchError::InvalidArtifact {
                what: what.to_string(),
                file: bad.file.clone(),
                sha256: bad.sha256.clone(),
            });
        }
        for artifact in artifacts {
            if let Some(found) = self.check_cache(artifact).await? {
                return Ok(found);
            }
        }
        let mut attempts = Vec::new();
        for artifact in artifacts {
            if let Some(found) = self.fetch_one(what, artifact, &mut attempts).await? {
                return Ok(found);
            }
        }
        if self.config.offline {
            return Err(FetchError::NotCached {
                what: what.to_string(),
                files: artifacts.iter().map(|a| a.file.clone()).collect(),
                downloads_dir: self.config.downloads_dir.clone(),
                attempts,
                online_sources: self.online_sources(artifacts),
            });
        }
        Err(FetchError::AllSourcesFailed {
            what: what.to_string(),
            attempts,
        })
    }

    /// A small file that no sha256 pins (a detached signature, checked by its caller), at most
    /// `max_bytes`: from the mirrors by `file`, then from `urls` (https only, as for pinned
    /// files). Offline, only directory mirrors. Returns the bytes and where they came from.
    pub async fn fetch_unpinned(
        &self,
        what: &str,
        file: &str,
        urls: &[String],
        max_bytes: u64,
    ) -> Result<(Vec<u8>, String), FetchError> {
        let probe = SourceArtifact {
            file: file.to_string(),
            sha256: "0".repeat(64),
            size: None,
            urls: urls.to_vec(),
            debian: None,
            signature: None,
        };
        if !valid_artifact(&probe) {
            return Err(FetchError::InvalidArtifact {
                what: what.to_string(),
                file: file.to_string(),
                sha256: String::new(),
            });
        }
        let mut attempts = Vec::new();
        for source in self.sources(&probe) {
            match self.get_small(&source, max_bytes).await {
                Small::Got(bytes) => return Ok((bytes, source.label())),
                Small::Failed(attempt) => attempts.push(attempt),
                Small::Skipped => {}
            }
        }
        Err(FetchError::AllSourcesFailed {
            what: format!("{what} {file}"),
            attempts,
        })
    }

    /// The whole of a small unpinned file from one source; offline, network sources are
    /// skipped.
    async fn get_small(&self, source: &Source, max_bytes: u64) -> Small {
        let attempt = match source {
            Source::Dir(path) => {
                let read = std::fs::File::open(path).and_then(|f| {
                    let mut bytes = Vec::new();
                    f.take(max_bytes + 1).read_to_end(&mut bytes).map(|_| bytes)
                });
                let outcome = match read {
                    Ok(bytes) if bytes.len() as u64 <= max_bytes => return Small::Got(bytes),
                    Ok(_) => format!("more than {max_bytes} bytes"),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => "not in mirror".into(),
                    Err(e) => format!("could not read: {e}"),
                };
                Attempt {
                    source: path.display().to_string(),
                    outcome,
                }
            }
            Source::Net(_) if self.config.offline => return Small::Skipped,
            Source::Net(net) if net.refusal().is_some() => Attempt {
                source: net.url().to_string(),
                outcome: net.refusal().unwrap_or_default().to_string(),
            },
            Source::Net(net) => match self.downloader.get_small(net.url(), max_bytes).await {
                Ok(bytes) => return Small::Got(bytes),
                Err(e) => Attempt {
                    source: net.url().to_string(),
                    outcome: e.outcome(),
                },
            },
        };
        self.reporter
            .debug(&format!("{}: {}", attempt.source, attempt.outcome));
        Small::Failed(attempt)
    }

    /// Verifies `fetched` with its recipe's pinned key, unless it has no signature spec. A
    /// signature verified before (same signature bytes, key file and fingerprints) is trusted
    /// from the marker beside it; otherwise the cached signature, then each source's, is
    /// checked until one verifies.
    async fn check_signature(
        &self,
        what: &str,
        mut fetched: Fetched,
    ) -> Result<Fetched, FetchError> {
        let Some(spec) = fetched.artifact.signature.clone() else {
            return Ok(fetched);
        };
        let dir = self.config.downloads_dir.join(&fetched.artifact.sha256);
        let cached = dir.join(&spec.file);
        let marker = dir.join(format!("{}.verified", spec.file));
        if let Some(verified) = read_marker(&marker, &cached, &spec) {
            self.reporter.debug(&format!(
                "{what}: signature {} verified before (key {})",
                cached.display(),
                verified.primary
            ));
            fetched.signature = Some(SignatureCheck {
                path: cached,
                origin: "cache".into(),
                verified,
            });
            return Ok(fetched);
        }
        let mut attempts = Vec::new();
        let mut obtained = false;
        // A signature kept by an earlier run is tried first, then each source's.
        let mut kept = None;
        match std::fs::read(&cached) {
            Ok(bytes) => kept = Some((bytes, cached.display().to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(FetchError::Io {
                    path: cached,
                    source,
                });
            }
        }
        let mut sources = self.signature_sources(&fetched, &spec).into_iter();
        loop {
            let (bytes, origin) = match kept.take() {
                Some(c) => c,
                None => match sources.next() {
                    None => break,
                    Some(source) => match self.get_small(&source, MAX_SIGNATURE_BYTES).await {
                        Small::Got(bytes) => (bytes, source.label()),
                        Small::Failed(attempt) => {
                            attempts.push(attempt);
                            continue;
                        }
                        Small::Skipped => continue,
                    },
                },
            };
            obtained = true;
            match verify_blocking(&spec, bytes.clone(), &fetched.path).await {
                Ok(verified) => {
                    if origin != cached.display().to_string() {
                        write_atomic(&cached, &bytes)?;
                    }
                    write_marker(&marker, &bytes, &spec, &verified, &origin)?;
                    self.reporter.debug(&format!(
                        "{what}: {} verified by {} (key {}), signed {}",
                        fetched.artifact.file,
                        origin,
                        verified.signer,
                        crate::time::timestamp(u64::from(verified.created))
                    ));
                    fetched.signature = Some(SignatureCheck {
                        path: cached,
                        origin,
                        verified,
                    });
                    return Ok(fetched);
                }
                Err(openpgp::VerifyError::Refused(why)) => {
                    if origin == cached.display().to_string() {
                        // Verified under another key file, or altered since: of no use now.
                        let _ = std::fs::remove_file(&cached);
                    }
                    self.reporter.debug(&format!("{origin}: refused: {why}"));
                    attempts.push(Attempt {
                        source: origin,
                        outcome: format!("refused: {why}"),
                    });
                }
                Err(openpgp::VerifyError::Io { path, source }) => {
                    return Err(FetchError::Io { path, source });
                }
            }
        }
        Err(FetchError::Unverified(Box::new(Unverified {
            what: what.to_string(),
            file: fetched.path.clone(),
            signature: spec.file.clone(),
            key: spec.key_data.origin.clone(),
            fingerprints: spec.fingerprints.clone(),
            attempts,
            obtained,
            offline: self.config.offline,
        })))
    }

    /// Where the signature of `fetched` may be, in the order of [`Fetcher::sources`] (mirrors
    /// by the signature's name, beside each upstream URL, beside the Debian pool file), except
    /// that the counterpart of the place the file came from goes first.
    fn signature_sources(&self, fetched: &Fetched, spec: &SignatureSpec) -> Vec<Source> {
        let artifact = &fetched.artifact;
        let debian = artifact.debian.as_ref();
        let mut out = self.places(
            &spec.file,
            &spec.urls,
            debian.map(|d| (d, apt::signature_file(&d.file))),
        );
        let paired = self.sources(artifact);
        debug_assert_eq!(
            paired.len(),
            out.len(),
            "one signature source per file source"
        );
        if let Some(i) = paired.iter().position(|s| s.label() == fetched.origin) {
            let first = out.remove(i);
            out.insert(0, first);
        }
        out
    }

    /// Fetches many items, at most `concurrency` at once. Results are in the order of `items`.
    pub async fn fetch_all(
        &self,
        items: Vec<(String, Vec<SourceArtifact>)>,
    ) -> Vec<Result<Fetched, FetchError>> {
        let mut results: Vec<(usize, Result<Fetched, FetchError>)> = futures_util::stream::iter(
            items.into_iter().enumerate(),
        )
        .map(|(i, (what, artifacts))| async move { (i, self.fetch(&what, &artifacts).await) })
        .buffer_unordered(self.config.concurrency.max(1))
        .collect()
        .await;
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, r)| r).collect()
    }

    /// The cached file, if present and its hash matches; a mismatching file is deleted.
    async fn check_cache(&self, artifact: &SourceArtifact) -> Result<Option<Fetched>, FetchError> {
        let path = cached_path(&self.config.downloads_dir, artifact);
        let p = path.clone();
        let hashed = tokio::task::spawn_blocking(move || hash_file(&p))
            .await
            .expect("hashing task panicked");
        match hashed {
            Ok(actual) if actual == artifact.sha256 => Ok(Some(Fetched {
                path,
                artifact: artifact.clone(),
                origin: "cache".to_string(),
                signature: None,
            })),
            Ok(actual) => {
                self.reporter.warn(&format!(
                    "cached {} has sha256 {actual}, expected {}; deleting it",
                    path.display(),
                    artifact.sha256
                ));
                match std::fs::remove_file(&path) {
                    Ok(()) => Ok(None),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(source) => Err(FetchError::Io { path, source }),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(FetchError::Io { path, source }),
        }
    }

    /// User mirrors in the order given, the recipe's URLs, then the Debian pool.
    fn sources(&self, artifact: &SourceArtifact) -> Vec<Source> {
        let debian = artifact.debian.as_ref();
        self.places(
            &artifact.file,
            &artifact.urls,
            debian.map(|d| (d, d.file.clone())),
        )
    }

    /// The places of one file, in order: each user mirror by `name`, the `urls`, then each
    /// Debian mirror's pool directory of the source package, by the pool's file name.
    fn places(
        &self,
        name: &str,
        urls: &[String],
        debian: Option<(&DebianSource, String)>,
    ) -> Vec<Source> {
        let mut out: Vec<Source> = self
            .config
            .mirrors
            .iter()
            .map(|m| match m {
                Mirror::Dir(d) => Source::Dir(d.join(name)),
                Mirror::Url(base) => Source::Net(NetSource::Mirror(join_url(base, name))),
            })
            .collect();
        out.extend(
            urls.iter()
                .map(|u| Source::Net(NetSource::Upstream(u.clone()))),
        );
        if let Some((source, pool_file)) = debian {
            for base in &self.config.debian_mirrors {
                out.push(Source::Net(NetSource::Debian(apt::pool_url(
                    base,
                    &source.component,
                    &source.package,
                    &pool_file,
                ))));
            }
        }
        out
    }

    /// The URLs an online run would try.
    fn online_sources(&self, artifacts: &[SourceArtifact]) -> Vec<String> {
        artifacts
            .iter()
            .flat_map(|a| self.sources(a))
            .filter_map(|s| match s {
                Source::Net(n) if n.refusal().is_none() => Some(n.url().to_string()),
                _ => None,
            })
            .collect()
    }

    /// Tries every source of one artifact under its entry lock; failures go to `attempts`.
    async fn fetch_one(
        &self,
        what: &str,
        artifact: &SourceArtifact,
        attempts: &mut Vec<Attempt>,
    ) -> Result<Option<Fetched>, FetchError> {
        let has_dir_mirror = self
            .config
            .mirrors
            .iter()
            .any(|m| matches!(m, Mirror::Dir(_)));
        if self.config.offline && !has_dir_mirror {
            return Ok(None);
        }
        let dir = self.config.downloads_dir.join(&artifact.sha256);
        std::fs::create_dir_all(&dir).map_err(|source| FetchError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        let lock_file = lock_path(&self.config.downloads_dir, artifact);
        let _lock = lock::acquire(lock_file, self.reporter.clone()).await?;
        // Another process may have finished it while we waited.
        if let Some(found) = self.check_cache(artifact).await? {
            return Ok(Some(found));
        }
        let dest = cached_path(&self.config.downloads_dir, artifact);
        let partial = partial_path(&self.config.downloads_dir, artifact);

        let label = format!("{what} {}", artifact.file);
        for source in self.sources(artifact) {
            let attempt = match source {
                Source::Dir(src) => match self.try_dir(&src, artifact, &partial, &dest).await? {
                    Ok(()) => {
                        return Ok(Some(Fetched {
                            path: dest,
                            artifact: artifact.clone(),
                            origin: src.display().to_string(),
                            signature: None,
                        }));
                    }
                    Err(outcome) => Attempt {
                        source: src.display().to_string(),
                        outcome,
                    },
                },
                Source::Net(_) if self.config.offline => continue,
                Source::Net(net) if net.refusal().is_some() => Attempt {
                    source: net.url().to_string(),
                    outcome: net.refusal().unwrap_or_default().to_string(),
                },
                Source::Net(net) => {
                    let url = net.url();
                    let job = Job {
                        url,
                        partial: &partial,
                        dest: &dest,
                        sha256: &artifact.sha256,
                        limit: self.config.limit(artifact),
                        label: &label,
                    };
                    match self.downloader.download(&job).await {
                        Ok(()) => {
                            return Ok(Some(Fetched {
                                path: dest,
                                artifact: artifact.clone(),
                                origin: url.to_string(),
                                signature: None,
                            }));
                        }
                        Err(DownloadError::Io { path, source }) => {
                            return Err(FetchError::Io { path, source });
                        }
                        Err(e) => Attempt {
                            source: url.to_string(),
                            outcome: e.outcome(),
                        },
                    }
                }
            };
            self.reporter
                .debug(&format!("{}: {}", attempt.source, attempt.outcome));
            attempts.push(attempt);
        }
        Ok(None)
    }

    /// Copies a file from a directory mirror into the cache; `Ok(Err(outcome))` when the mirror
    /// does not have it right.
    async fn try_dir(
        &self,
        src: &Path,
        artifact: &SourceArtifact,
        partial: &Path,
        dest: &Path,
    ) -> Result<Result<(), String>, FetchError> {
        let limit = self.config.limit(artifact);
        match copy_verified(src, partial, dest, &artifact.sha256, limit).await {
            Ok(CopyOutcome::Done) => Ok(Ok(())),
            Ok(CopyOutcome::Missing) => Ok(Err("not in mirror".to_string())),
            Ok(CopyOutcome::TooLarge) => Ok(Err(too_large(limit.bytes, limit.why))),
            Ok(CopyOutcome::Short { actual }) => Ok(Err(format!(
                "{actual} bytes, but the recipe pins {}",
                limit.bytes
            ))),
            Ok(CopyOutcome::Mismatch { actual }) => Ok(Err(format!(
                "sha256 mismatch: expected {}, got {actual}",
                artifact.sha256
            ))),
            Err(CopyError::Read(e)) => Ok(Err(format!("could not read: {e}"))),
            Err(CopyError::Write(source)) => Err(FetchError::Io {
                path: partial.to_path_buf(),
                source,
            }),
        }
    }
}

/// What `<signature>.verified` records: this signature verified the file beside it with this
/// key file and these fingerprints. The file's sha256 is the directory's name.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct VerifiedMarker {
    version: u32,
    signature_sha256: String,
    key_sha256: String,
    fingerprints: Vec<String>,
    primary: String,
    signer: String,
    created: u32,
    origin: String,
}

const MARKER_VERSION: u32 = 1;

/// The verification recorded beside `signature`, if it holds for these bytes and this key.
fn read_marker(marker: &Path, signature: &Path, spec: &SignatureSpec) -> Option<openpgp::Verified> {
    let m: VerifiedMarker = serde_json::from_slice(&std::fs::read(marker).ok()?).ok()?;
    let bytes = std::fs::read(signature).ok()?;
    let holds = m.version == MARKER_VERSION
        && m.signature_sha256 == hex::encode(Sha256::digest(&bytes))
        && m.key_sha256 == spec.key_data.sha256
        && m.fingerprints == spec.fingerprints
        && spec.fingerprints.contains(&m.primary);
    holds.then_some(openpgp::Verified {
        primary: m.primary,
        signer: m.signer,
        created: m.created,
    })
}

fn write_marker(
    marker: &Path,
    signature: &[u8],
    spec: &SignatureSpec,
    verified: &openpgp::Verified,
    origin: &str,
) -> Result<(), FetchError> {
    let m = VerifiedMarker {
        version: MARKER_VERSION,
        signature_sha256: hex::encode(Sha256::digest(signature)),
        key_sha256: spec.key_data.sha256.clone(),
        fingerprints: spec.fingerprints.clone(),
        primary: verified.primary.clone(),
        signer: verified.signer.clone(),
        created: verified.created,
        origin: origin.to_string(),
    };
    let text = serde_json::to_vec_pretty(&m).expect("marker serializes");
    write_atomic(marker, &text)
}

/// Writes a small file through a temporary file beside it and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FetchError> {
    crate::cache::write_atomic(path, bytes).map_err(|e| FetchError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })
}

/// [`openpgp::verify_file`] off the async threads: it reads the whole source file.
async fn verify_blocking(
    spec: &SignatureSpec,
    signature: Vec<u8>,
    file: &Path,
) -> Result<openpgp::Verified, openpgp::VerifyError> {
    let (key, fingerprints, file) = (
        spec.key_data.bytes.clone(),
        spec.fingerprints.clone(),
        file.to_path_buf(),
    );
    tokio::task::spawn_blocking(move || {
        let keys = openpgp::Keyring::parse(&key)
            .map_err(|e| openpgp::VerifyError::Refused(format!("the pinned key file {e}")))?;
        openpgp::verify_file(&keys, &fingerprints, &signature, &file, openpgp::now())
    })
    .await
    .expect("verification task panicked")
}

/// Lower-case hex sha256 of a file.
fn hash_file(path: &Path) -> io::Result<String> {
    download::hash_file(path).map(|h| hex::encode(h.finalize()))
}

enum CopyOutcome {
    Done,
    Missing,
    Mismatch {
        actual: String,
    },
    /// Longer than its limit: cut there.
    TooLarge,
    /// Shorter than its pinned size.
    Short {
        actual: u64,
    },
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

/// Copies a mirror file to `partial` while hashing it, at most `limit` bytes; renames into
/// `dest` only on a match.
async fn copy_verified(
    src: &Path,
    partial: &Path,
    dest: &Path,
    expected: &str,
    limit: Limit,
) -> Result<CopyOutcome, CopyError> {
    let (src, partial, dest, expected) = (
        src.to_path_buf(),
        partial.to_path_buf(),
        dest.to_path_buf(),
        expected.to_string(),
    );
    tokio::task::spawn_blocking(move || {
        let mut input = match std::fs::File::open(&src) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(CopyOutcome::Missing),
            Err(e) => return Err(CopyError::Read(e)),
        };
        let mut output = std::fs::File::create(&partial).map_err(CopyError::Write)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let _ = std::fs::remove_file(&partial);
                    return Err(CopyError::Read(e));
                }
            };
            total += n as u64;
            if total > limit.bytes {
                // A mirror file (or a link in the mirror to /dev/zero) past the bound.
                drop(output);
                std::fs::remove_file(&partial).map_err(CopyError::Write)?;
                return Ok(CopyOutcome::TooLarge);
            }
            hasher.update(&buf[..n]);
            if let Err(e) = output.write_all(&buf[..n]) {
                // A full disk: the copy restarts from byte 0 anyway, so free the space.
                drop(output);
                let _ = std::fs::remove_file(&partial);
                return Err(CopyError::Write(e));
            }
        }
        if limit.why == SizeLimit::Pinned && total != limit.bytes {
            drop(output);
            std::fs::remove_file(&partial).map_err(CopyError::Write)?;
            return Ok(CopyOutcome::Short { actual: total });
        }
        let actual = hex::encode(hasher.finalize());
        if actual != expected {
            drop(output);
            std::fs::remove_file(&partial).map_err(CopyError::Write)?;
            return Ok(CopyOutcome::Mismatch { actual });
        }
        output.sync_all().map_err(CopyError::Write)?;
        drop(output);
        download::commit(&partial, &dest).map_err(CopyError::Write)?;
        Ok(CopyOutcome::Done)
    })
    .await
    .expect("copy task panicked")
}

#[cfg(test)]
mod tests;
