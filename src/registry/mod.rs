//! The registry cache: the package store's entries as signed OCI artifacts in a registry
//! (ghcr, GitLab, Harbor, ECR, a local `registry:2`), so that a CI matrix builds each package
//! once and every other machine installs it after checking it.
//!
//! Transfers go through `oci-client` (the distribution protocol, the bearer-token and Basic
//! flows); crossroot adds what it lacks for a cache: the scheme choice (https, plain http only
//! for loopback or `--insecure-registry` hosts, and never with credentials), Docker's
//! credential lookup ([`auth`]), retries with backoff, digests computed here rather than taken
//! from the registry's headers, size bounds from the signed manifest, minisign signatures
//! stored as OCI referrers with the spec's `sha256-<hex>` tag fallback, and installation
//! through the store (lock, staging, the extraction policy, marker last). [`layout`] is the
//! shape of what is pushed.

pub mod auth;
pub mod layout;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};

use crate::cache::{self, CacheError, EntryLock};
use crate::extract::{self, AnyEntry, ExtractError, ExtractOptions, Layout, UnpackSpec};
use crate::report::Reporter;
use crate::sign::{self, SignError, SigningKey, TrustedKey};
use crate::store::{Installed, PACKAGE_RECORD, PackageRecord, Store};
use layout::{Descriptor, Index, Manifest, PackedPackage};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "`{reference}` is not a registry repository ({why}); expected HOST[:PORT]/PATH, e.g. ghcr.io/org/crossroot-cache or 127.0.0.1:5000/crossroot/cache"
    )]
    BadReference { reference: String, why: String },
    #[error("registry {registry} cannot be reached: {why}")]
    Unreachable { registry: String, why: String },
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    #[error("registry {reference} refused the request ({action}): not authorized{hint}")]
    Unauthorized {
        reference: String,
        action: &'static str,
        hint: String,
    },
    #[error("could not {action} {reference}: {why}")]
    Transfer {
        reference: String,
        action: &'static str,
        why: String,
        /// A 5xx, a 429 or a dropped connection: worth trying again later.
        transient: bool,
    },
    #[error(
        "{reference} ({digest}) is not the crossroot package it should be: {why}; nothing was installed"
    )]
    NotAPackage {
        reference: String,
        digest: String,
        why: String,
    },
    #[error(
        "{reference} ({digest}) is not signed by a trusted key (expected a signature by {expected}); nothing was installed\nhint: push it with `crossroot cache push … --sign-key`, trust its signer's key with --trust, or pass --trust-unsigned for this registry"
    )]
    Unsigned {
        reference: String,
        digest: String,
        expected: String,
    },
    #[error("{problem}; nothing was installed")]
    Signature {
        reference: String,
        digest: String,
        problem: SignError,
    },
    #[error(
        "{reference}: the registry sent other bytes than the signed manifest names ({why}); nothing was installed"
    )]
    Tampered { reference: String, why: String },
    #[error("could not {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not unpack {reference}; nothing was installed")]
    Unpack {
        reference: String,
        #[source]
        source: ExtractError,
    },
    #[error(transparent)]
    Store(#[from] CacheError),
    #[error(transparent)]
    Sign(#[from] SignError),
}

impl RegistryError {
    /// True when the registry is away or overloaded rather than wrong: `build` then builds
    /// locally after one warning.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            RegistryError::Unreachable { .. }
                | RegistryError::Transfer {
                    transient: true,
                    ..
                }
        )
    }
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> RegistryError {
    let path = path.to_path_buf();
    move |source| RegistryError::Io {
        action,
        path,
        source,
    }
}

/// Where a blob download goes: written to, and emptied for another attempt.
trait Sink: Write + Send {
    fn reset(&mut self) -> std::io::Result<()>;
}

impl Sink for Vec<u8> {
    fn reset(&mut self) -> std::io::Result<()> {
        self.clear();
        Ok(())
    }
}

impl Sink for std::fs::File {
    fn reset(&mut self) -> std::io::Result<()> {
        use std::io::Seek;
        self.set_len(0)?;
        self.rewind()
    }
}

/// How to reach registries: from flags and the environment.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Hosts (`host:port`) that may be spoken to over plain http (loopback ones always may).
    pub insecure: Vec<String>,
    /// Extra CA certificates (PEM) for TLS.
    pub ca_files: Vec<PathBuf>,
    /// `DOCKER_CONFIG`: the directory of `config.json` (else `~/.docker`).
    pub docker_config: Option<PathBuf>,
}

/// A repository in a registry: `HOST[:PORT]/PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub registry: String,
    pub repository: String,
}

impl std::fmt::Display for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)
    }
}

impl Remote {
    /// `ghcr.io/org/cache`, `127.0.0.1:5000/crossroot/cache` (a `docker://` or `oci://` prefix
    /// is allowed); a tag or digest is refused: crossroot derives the tags.
    pub fn parse(s: &str) -> Result<Remote, RegistryError> {
        let bad = |why: &str| RegistryError::BadReference {
            reference: s.to_string(),
            why: why.to_string(),
        };
        let bare = s
            .strip_prefix("docker://")
            .or_else(|| s.strip_prefix("oci://"))
            .unwrap_or(s)
            .trim_end_matches('/');
        if bare.contains('@') {
            return Err(bad("it names a digest; give the repository only"));
        }
        let (host, path) = bare
            .split_once('/')
            .ok_or_else(|| bad("no repository path after the host"))?;
        if !(host.contains('.') || host.contains(':') || host == "localhost") {
            return Err(bad(
                "the first part is not a registry host (it has no `.` or `:`); Docker Hub is docker.io/NAME",
            ));
        }
        if path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':'))
        {
            return Err(bad(
                "it names a tag; give the repository only (tags are derived from package keys)",
            ));
        }
        let parsed: Reference = format!("{bare}:probe")
            .parse()
            .map_err(|e: oci_client::ParseError| bad(&e.to_string()))?;
        Ok(Remote {
            registry: parsed.registry().to_string(),
            repository: parsed.repository().to_string(),
        })
    }

    pub fn tagged(&self, tag: &str) -> Reference {
        Reference::with_tag(
            self.registry.clone(),
            self.repository.clone(),
            tag.to_string(),
        )
    }

    pub fn by_digest(&self, digest: &str) -> Reference {
        Reference::with_digest(
            self.registry.clone(),
            self.repository.clone(),
            digest.to_string(),
        )
    }

    fn host_without_port(&self) -> &str {
        let h = &self.registry;
        if let Some(rest) = h.strip_prefix('[') {
            return rest.split(']').next().unwrap_or(rest);
        }
        h.rsplit_once(':').map(|(a, _)| a).unwrap_or(h)
    }

    /// Loopback registries may be plain http, as Docker allows.
    pub fn is_loopback(&self) -> bool {
        let h = self.host_without_port();
        h == "localhost"
            || h.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// Which signatures an install accepts.
#[derive(Debug, Clone)]
pub enum Trust {
    /// One by any of these keys.
    Keys(Vec<TrustedKey>),
    /// None needed (`--trust-unsigned`); signatures are not looked at.
    Unsigned,
}

/// A package a pull looks for, by the key this machine computed.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub key: String,
    pub name: String,
    pub version: String,
    pub target: String,
}

impl Wanted {
    pub fn tag(&self) -> String {
        layout::package_tag(&self.name, &self.version, &self.key)
    }
}

/// What a pull did for one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pulled {
    /// Fetched, verified and installed: (layer bytes, signer key id when signatures count).
    Installed { bytes: u64, signer: Option<String> },
    /// Another process installed it meanwhile.
    AlreadyHere,
    /// The registry has no entry for the key.
    Absent,
}

/// What a push did for one package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Blobs, manifest and signature uploaded.
    Uploaded,
    /// The same manifest was there already; only this key's signature was added.
    Signed,
    /// The same manifest was there, signed by this key: nothing sent.
    UpToDate,
}

/// One registry repository, connected.
pub struct Registry {
    client: Client,
    pub remote: Remote,
    auth: RegistryAuth,
    pub scheme: &'static str,
    /// Credentials the configuration has for this host but that plain http would expose.
    withheld: Option<String>,
}

const ATTEMPTS: u32 = 4;

/// The wait after failed attempt `attempt` (from 1): 0.5 s, 1 s, 2 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500 << (attempt - 1))
}

/// Runs `op` until it succeeds, a permanent error, or the attempts run out; backs off
/// between transient failures (5xx, 429, dropped connections).
async fn retry<T, F, Fut>(mut op: F) -> Result<T, OciDistributionError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, OciDistributionError>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < ATTEMPTS && is_transient(&e) => {
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

fn is_transient(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ServerError { code, .. } => *code >= 500 || *code == 429,
        OciDistributionError::RequestError(r) => {
            r.is_connect() || r.is_timeout() || r.is_request() || r.is_body()
        }
        OciDistributionError::IoError(_) => true,
        _ => false,
    }
}

fn is_absent(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::ServerError { code, .. } => *code == 404,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown | OciErrorCode::NotFound
            )
        }),
        _ => false,
    }
}

fn is_unauthorized(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => true,
        OciDistributionError::ServerError { code, .. } => *code == 401 || *code == 403,
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied)),
        _ => false,
    }
}

/// The error's text with its causes (reqwest's "error sending request" alone says nothing).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// The scheme `remote` speaks: https when its `/v2/` answers over TLS (any status: 401 is
/// the start of a login), else plain http where that is allowed and answers.
async fn probe(
    remote: &Remote,
    certs: &[Certificate],
    plain_allowed: bool,
) -> Result<&'static str, RegistryError> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30));
    for c in certs {
        let cert =
            reqwest::Certificate::from_pem(&c.data).map_err(|e| RegistryError::Unreachable {
                registry: remote.registry.clone(),
                why: format!(
                    "a --registry-ca file is not a PEM certificate ({})",
                    chain(&e)
                ),
            })?;
        b = b.add_root_certificate(cert);
    }
    let http = b.build().map_err(|e| RegistryError::Unreachable {
        registry: remote.registry.clone(),
        why: chain(&e),
    })?;
    let tls = match http
        .get(format!("https://{}/v2/", remote.registry))
        .send()
        .await
    {
        Ok(_) => return Ok("https"),
        Err(e) => chain(&e),
    };
    let hint = "hint: a registry with a private CA needs --registry-ca FILE; plain http is used only for loopback registries and hosts given with --insecure-registry";
    if !plain_allowed {
        return Err(RegistryError::Unreachable {
            registry: remote.registry.clone(),
            why: format!("https: {tls}\n{hint}"),
        });
    }
    // A TLS server answers plain http with 400; any other answer is the registry's (429 and
    // 5xx too: the requests that follow retry those).
    let plain = match http
        .get(format!("http://{}/v2/", remote.registry))
        .send()
        .await
    {
        Ok(r) if r.status() != reqwest::StatusCode::BAD_REQUEST => return Ok("http"),
        Ok(r) => format!("answered {} (a server that speaks https)", r.status()),
        Err(e) => chain(&e),
    };
    Err(RegistryError::Unreachable {
        registry: remote.registry.clone(),
        why: format!("https: {tls}; http: {plain}\n{hint}"),
    })
}

impl Registry {
    /// Connects to `remote`: https (with the extra CAs), or plain http where that is allowed
    /// and https is not spoken; credentials from Docker's configuration.
    pub async fn connect(
        remote: Remote,
        opts: &RegistryOptions,
    ) -> Result<Registry, RegistryError> {
        let mut certs = Vec::new();
        for path in &opts.ca_files {
            let data = std::fs::read(path).map_err(io_err("read the CA certificate", path))?;
            certs.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data,
            });
        }
        let plain_allowed = remote.is_loopback() || opts.insecure.contains(&remote.registry);
        let scheme = probe(&remote, &certs, plain_allowed).await?;
        let creds = match auth::config_path(opts.docker_config.as_deref()) {
            Some(p) => auth::credentials(&p, &remote.registry)?,
            None => None,
        };
        let (auth, withheld) = match creds {
            Some(c) if scheme == "http" => (RegistryAuth::Anonymous, Some(c.source)),
            Some(c) => (RegistryAuth::Basic(c.username, c.secret), None),
            None => (RegistryAuth::Anonymous, None),
        };
        let config = ClientConfig {
            protocol: if scheme == "http" {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            extra_root_certificates: certs,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(60)),
            max_concurrent_upload: 4,
            max_concurrent_download: 4,
            user_agent: concat!("crossroot/", env!("CARGO_PKG_VERSION")),
            ..Default::default()
        };
        let client = Client::try_from(config).map_err(|e| RegistryError::Unreachable {
            registry: remote.registry.clone(),
            why: chain(&e),
        })?;
        Ok(Registry {
            client,
            remote,
            auth,
            scheme,
            withheld,
        })
    }

    fn transfer(
        &self,
        reference: &Reference,
        action: &'static str,
        e: OciDistributionError,
    ) -> RegistryError {
        let reference = reference.whole();
        if is_unauthorized(&e) {
            let hint = match &self.withheld {
                Some(src) => format!(
                    "; credentials from {src} are never sent over plain http: serve the registry over TLS (--registry-ca for a private CA)"
                ),
                None => format!(
                    "; log in first (`podman login {}` or `docker login`, which write the credentials to $DOCKER_CONFIG/config.json), or give CI a token with {} rights",
                    self.remote.registry,
                    if action.starts_with("push") || action.starts_with("upload") {
                        "write"
                    } else {
                        "read"
                    }
                ),
            };
            return RegistryError::Unauthorized {
                reference,
                action,
                hint,
            };
        }
        RegistryError::Transfer {
            reference,
            action,
            transient: is_transient(&e),
            why: chain(&e),
        }
    }

    /// The manifest or index at `r`, or `None` when the registry has none; the digest is
    /// computed here, not taken from the registry's header.
    async fn get_manifest(
        &self,
        r: &Reference,
        accept: &[&str],
    ) -> Result<Option<(Vec<u8>, String)>, RegistryError> {
        let got = retry(|| self.client.pull_manifest_raw(r, &self.auth, accept)).await;
        match got {
            Ok((body, _)) => {
                if body.len() > layout::MAX_MANIFEST {
                    return Err(RegistryError::Tampered {
                        reference: r.whole(),
                        why: format!("a manifest of {} bytes", body.len()),
                    });
                }
                let d = layout::digest(&body);
                if let Some(want) = r.digest()
                    && want != d
                {
                    return Err(RegistryError::Tampered {
                        reference: r.whole(),
                        why: format!("its manifest has digest {d}"),
                    });
                }
                Ok(Some((body, d)))
            }
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(self.transfer(r, "fetch the manifest of", e)),
        }
    }

    /// A blob named by a descriptor, into `out`, checked against its size (no byte past it is
    /// accepted) and digest as it streams; returns the bytes written. A download cut short
    /// starts again from the first byte, as a failed request is retried.
    async fn get_blob(
        &self,
        r: &Reference,
        desc: &Descriptor,
        out: &mut dyn Sink,
        max: u64,
    ) -> Result<u64, RegistryError> {
        let mut attempt = 1;
        loop {
            out.reset().map_err(|e| RegistryError::Io {
                action: "rewind the download of",
                path: PathBuf::from(r.whole()),
                source: e,
            })?;
            match self.get_blob_once(r, desc, out, max).await {
                Err(e) if e.is_unavailable() && attempt < ATTEMPTS => {
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn get_blob_once(
        &self,
        r: &Reference,
        desc: &Descriptor,
        out: &mut dyn Sink,
        max: u64,
    ) -> Result<u64, RegistryError> {
        if desc.size > max {
            return Err(RegistryError::Tampered {
                reference: r.whole(),
                why: format!("a blob of {} bytes, more than the {max} allowed", desc.size),
            });
        }
        let oci_desc = oci_client::manifest::OciDescriptor {
            media_type: desc.media_type.clone(),
            digest: desc.digest.clone(),
            size: desc.size as i64,
            ..Default::default()
        };
        let mut stream = retry(|| self.client.pull_blob_stream(r, &oci_desc))
            .await
            .map_err(|e| self.transfer(r, "fetch a blob of", e))?
            .stream;
        let mut hasher = Sha256::new();
        let mut n = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                let why = chain(&e);
                // oci-client checks the digest at the end of the stream too.
                if why.to_ascii_lowercase().contains("digest") {
                    RegistryError::Tampered {
                        reference: r.whole(),
                        why: format!("blob {}: {why}", desc.digest),
                    }
                } else {
                    RegistryError::Transfer {
                        reference: r.whole(),
                        action: "fetch a blob of",
                        why,
                        transient: true,
                    }
                }
            })?;
            n += chunk.len() as u64;
            if n > desc.size {
                return Err(RegistryError::Tampered {
                    reference: r.whole(),
                    why: format!(
                        "blob {} is longer than its {} bytes",
                        desc.digest, desc.size
                    ),
                });
            }
            hasher.update(&chunk);
            out.write_all(&chunk).map_err(|e| RegistryError::Io {
                action: "write a blob of",
                path: PathBuf::from(r.whole()),
                source: e,
            })?;
        }
        let got = format!("sha256:{}", hex::encode(hasher.finalize()));
        if n != desc.size || got != desc.digest {
            return Err(RegistryError::Tampered {
                reference: r.whole(),
                why: format!(
                    "blob {} arrived as {n} bytes with digest {got}",
                    desc.digest
                ),
            });
        }
        Ok(n)
    }

    async fn put_blob(&self, r: &Reference, bytes: &[u8]) -> Result<(), RegistryError> {
        let d = layout::digest(bytes);
        retry(|| self.client.push_blob(r, bytes, &d))
            .await
            .map(|_| ())
            .map_err(|e| self.transfer(r, "upload a blob to", e))
    }

    async fn put_manifest(
        &self,
        r: &Reference,
        bytes: &[u8],
        media_type: &'static str,
    ) -> Result<(), RegistryError> {
        retry(|| {
            self.client.push_manifest_raw(
                r,
                bytes.to_vec(),
                reqwest::header::HeaderValue::from_static(media_type),
            )
        })
        .await
        .map(|_| ())
        .map_err(|e| self.transfer(r, "push the manifest of", e))
    }

    /// The `.minisig` texts attached to `digest`: through the referrers API where the registry
    /// has one, else its `sha256-<hex>` fallback tag.
    pub async fn signatures(&self, digest: &str) -> Result<Vec<String>, RegistryError> {
        let subject = self.remote.by_digest(digest);
        let listed: Vec<Descriptor> = match self
            .client
            .pull_referrers(&subject, Some(layout::SIGNATURE_ARTIFACT))
            .await
        {
            Ok(index) if !index.manifests.is_empty() => {
                serde_json::from_value::<Index>(serde_json::to_value(&index).unwrap_or_default())
                    .map(|i| i.manifests)
                    .unwrap_or_default()
            }
            _ => {
                let tag = self.remote.tagged(&layout::fallback_tag(digest));
                match self.get_manifest(&tag, &[layout::INDEX]).await? {
                    Some((body, _)) => serde_json::from_slice::<Index>(&body)
                        .map(|i| i.manifests)
                        .unwrap_or_default(),
                    None => Vec::new(),
                }
            }
        };
        let mut out = Vec::new();
        for d in listed.iter().filter(|d| {
            d.artifact_type
                .as_deref()
                .is_none_or(|t| t == layout::SIGNATURE_ARTIFACT)
        }) {
            let r = self.remote.by_digest(&d.digest);
            let Some((body, _)) = self.get_manifest(&r, &[layout::MANIFEST]).await? else {
                continue;
            };
            let Ok(m) = serde_json::from_slice::<Manifest>(&body) else {
                continue;
            };
            if m.subject.as_ref().map(|s| s.digest.as_str()) != Some(digest) {
                continue;
            }
            let [layer] = m.layers.as_slice() else {
                continue;
            };
            let mut text = Vec::new();
            match self
                .get_blob(&r, layer, &mut text, layout::MAX_SIGNATURE)
                .await
            {
                Ok(_) => out.push(String::from_utf8_lossy(&text).into_owned()),
                // A changed signature would not verify anyway; another one may.
                Err(RegistryError::Tampered { .. }) => {}
                // The registry failing mid-way is not "unsigned".
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Signs the manifest `bytes` (named by `subject`) with `key` and attaches the signature:
    /// pushed by digest with `subject`, and listed in the fallback tag's index.
    async fn attach_signature(
        &self,
        subject: &Descriptor,
        bytes: &[u8],
        key: &SigningKey,
        what: &str,
    ) -> Result<(), RegistryError> {
        let sig = key.sign(bytes, what)?;
        let any = self.remote.tagged("crossroot");
        self.put_blob(&any, layout::EMPTY_JSON).await?;
        self.put_blob(&any, sig.as_bytes()).await?;
        let (_, sig_manifest) = layout::signature_manifest(subject, sig.as_bytes(), &key.id);
        let sig_digest = layout::digest(&sig_manifest);
        self.put_manifest(
            &self.remote.by_digest(&sig_digest),
            &sig_manifest,
            layout::MANIFEST,
        )
        .await?;
        let tag = self.remote.tagged(&layout::fallback_tag(&subject.digest));
        let mut index = match self.get_manifest(&tag, &[layout::INDEX]).await? {
            Some((body, _)) => serde_json::from_slice::<Index>(&body)
                .unwrap_or_else(|_| Index::new(None, Vec::new())),
            None => Index::new(None, Vec::new()),
        };
        if !index.manifests.iter().any(|m| m.digest == sig_digest) {
            let mut d = Descriptor::of(layout::MANIFEST, &sig_manifest);
            d.artifact_type = Some(layout::SIGNATURE_ARTIFACT.into());
            d.annotations
                .insert(layout::ANN_SIGNER.into(), key.id.clone());
            index.manifests.push(d);
            self.put_manifest(&tag, &layout::to_bytes(&index), layout::INDEX)
                .await?;
        }
        Ok(())
    }

    /// True when one of the signatures on `digest` is by `key` and verifies `bytes`.
    async fn signed_by(
        &self,
        digest: &str,
        bytes: &[u8],
        key: &SigningKey,
    ) -> Result<bool, RegistryError> {
        let trusted = [key.trusted()];
        Ok(self
            .signatures(digest)
            .await?
            .iter()
            .any(|s| sign::verify(&trusted, s, bytes, digest).is_ok()))
    }

    /// Pushes one packed package under `tag`, signed with `key`; nothing is sent for what the
    /// registry already holds (the same manifest, signed by this key).
    pub async fn push_package(
        &self,
        packed: &PackedPackage,
        tag: &str,
        key: &SigningKey,
        what: &str,
    ) -> Result<Pushed, RegistryError> {
        let r = self.remote.tagged(tag);
        let subject = Descriptor::of(layout::MANIFEST, &packed.manifest);
        if let Some((_, d)) = self.get_manifest(&r, &[layout::MANIFEST]).await?
            && d == packed.manifest_digest
        {
            if self.signed_by(&d, &packed.manifest, key).await? {
                return Ok(Pushed::UpToDate);
            }
            self.attach_signature(&subject, &packed.manifest, key, what)
                .await?;
            return Ok(Pushed::Signed);
        }
        self.put_blob(&r, &packed.layer).await?;
        self.put_blob(&r, &packed.config).await?;
        self.put_manifest(&r, &packed.manifest, layout::MANIFEST)
            .await?;
        self.attach_signature(&subject, &packed.manifest, key, what)
            .await?;
        Ok(Pushed::Uploaded)
    }

    /// Pushes the index of a selection under `tag` (its `cache key`), signed with `key`.
    pub async fn push_index(
        &self,
        tag: &str,
        entries: Vec<Descriptor>,
        key: &SigningKey,
    ) -> Result<String, RegistryError> {
        let index = Index::new(Some(layout::INDEX_ARTIFACT), entries);
        let bytes = layout::to_bytes(&index);
        let r = self.remote.tagged(tag);
        self.put_manifest(&r, &bytes, layout::INDEX).await?;
        let subject = Descriptor::of(layout::INDEX, &bytes);
        self.attach_signature(&subject, &bytes, key, &format!("selection {tag}"))
            .await?;
        Ok(subject.digest)
    }

    /// Looks up `want` by its tag, checks its manifest and signature, streams the layer into a
    /// file in the store (digest and size checked) and installs it under the entry's lock.
    pub async fn pull_package(
        &self,
        store: &Store,
        want: &Wanted,
        trust: &Trust,
        limits: ExtractOptions,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Pulled, RegistryError> {
        let r = self.remote.tagged(&want.tag());
        let reference = r.whole();
        let Some((body, digest)) = self.get_manifest(&r, &[layout::MANIFEST]).await? else {
            return Ok(Pulled::Absent);
        };
        let not = |why: String| RegistryError::NotAPackage {
            reference: reference.clone(),
            digest: digest.clone(),
            why,
        };
        let m: Manifest = serde_json::from_slice(&body)
            .map_err(|e| not(format!("its manifest does not parse ({e})")))?;
        layout::check_package_manifest(&m, &want.key, &want.target).map_err(not)?;
        let signer = match trust {
            Trust::Unsigned => None,
            Trust::Keys(keys) => {
                let sigs = self.signatures(&digest).await?;
                let what = format!("{reference} ({digest})");
                let mut last = None;
                let mut ok = None;
                for s in &sigs {
                    match sign::verify(keys, s, body.as_slice(), &what) {
                        Ok(id) => {
                            ok = Some(id);
                            break;
                        }
                        Err(e) => last = Some(e),
                    }
                }
                match (ok, last) {
                    (Some(id), _) => Some(id),
                    (None, Some(problem)) => {
                        return Err(RegistryError::Signature {
                            reference,
                            digest,
                            problem,
                        });
                    }
                    (None, None) => {
                        return Err(RegistryError::Unsigned {
                            reference,
                            digest,
                            expected: sign::trusted_list(keys),
                        });
                    }
                }
            }
        };
        let layer = &m.layers[0];
        let declared: Option<u64> = m
            .annotations
            .get(layout::ANN_BYTES)
            .and_then(|b| b.parse().ok());
        if store.is_complete(&want.key) {
            return Ok(Pulled::AlreadyHere);
        }
        std::fs::create_dir_all(store.dir()).map_err(io_err("create", store.dir()))?;
        let mut file = tempfile::Builder::new()
            .prefix(".pull-")
            .tempfile_in(store.dir())
            .map_err(io_err("create a file in", store.dir()))?;
        let max_layer = limits.max_total_bytes;
        let bytes = self
            .get_blob(&r, layer, file.as_file_mut(), max_layer)
            .await?;
        let store = store.clone();
        let want = want.clone();
        let installed = tokio::task::spawn_blocking(move || {
            install_layer(
                &store,
                &want,
                file.path(),
                declared,
                limits,
                &reference,
                &*reporter,
            )
        })
        .await
        .expect("the install task does not panic")?;
        Ok(match installed {
            Installed::New => Pulled::Installed { bytes, signer },
            Installed::Kept => Pulled::AlreadyHere,
        })
    }
}

/// Unpacks a verified layer into staging under the entry's lock, checks the record inside it
/// is the wanted package's, and installs it, marker last.
fn install_layer(
    store: &Store,
    want: &Wanted,
    layer: &Path,
    declared: Option<u64>,
    limits: ExtractOptions,
    reference: &str,
    reporter: &dyn Reporter,
) -> Result<Installed, RegistryError> {
    let _lock: EntryLock = store.lock(&want.key, reporter)?;
    if store.is_complete(&want.key) {
        return Ok(Installed::Kept);
    }
    let staging = store
        .staging(&want.key)
        .map_err(io_err("create a staging directory in", store.dir()))?;
    let tree = staging.path().join("tree");
    let f = std::fs::File::open(layer).map_err(io_err("read", layer))?;
    let decoder = zstd::Decoder::new(f).map_err(io_err("decompress", layer))?;
    let label = PathBuf::from(reference);
    let spec = UnpackSpec {
        label: &label,
        layout: Layout::AsIs,
        limits,
        declared_bytes: declared,
    };
    extract::unpack(decoder, &tree, &spec, &mut AnyEntry).map_err(|source| {
        RegistryError::Unpack {
            reference: reference.to_string(),
            source,
        }
    })?;
    let not = |why: String| RegistryError::NotAPackage {
        reference: reference.to_string(),
        digest: String::new(),
        why,
    };
    let text = cache::read_nofollow(&tree.join(PACKAGE_RECORD))
        .map_err(|e| not(format!("its layer has no readable {PACKAGE_RECORD} ({e})")))?;
    let record: PackageRecord = serde_json::from_slice(&text)
        .map_err(|e| not(format!("its {PACKAGE_RECORD} does not parse ({e})")))?;
    if record.key != want.key || record.target != want.target || record.name != want.name {
        return Err(not(format!(
            "its layer holds {} for {} with key {} (expected {} for {} with key {})",
            record.name, record.target, record.key, want.name, want.target, want.key
        )));
    }
    Ok(store.install(&tree, &want.key)?)
}
