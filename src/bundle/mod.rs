//! Bundles: sysroots and the packages they need in one `.tar.zst`, which another home (at
//! another path, on another machine) imports after checking every byte.
//!
//! ```text
//! crossroot-bundle.json                      first: format, toolchain, entries, every file's sha256
//! packages-v1/<key>/…                        the packages, as in the store (markers left out)
//! sysroots-v1/<triple>/<key16>/…             the sysroots; a file already in the bundle is a hard link
//! ```
//!
//! Import reads the manifest, refuses a bundle that declares more than the size limit or the
//! free disk space, then unpacks the rest under the extraction policy of [`crate::extract`]
//! (the one every archive crossroot unpacks goes through), in a staging directory of the home
//! taken under the import lock, checking each entry against the manifest (declared size
//! before any byte, content hash, no extra or missing files, no link out of its entry) before
//! anything is installed. Then it rewrites the compiler wrappers for this machine's zig and
//! this home, never through a link, renames each entry into place and writes its completion
//! marker last.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cache::{self, EntryLock, Home, MARKER};
use crate::extract::{self, Admission, EntryKind, EntryView, ExtractError};
use crate::host::HostTools;
use crate::report::Reporter;
use crate::store::{Installed, Store};
use crate::sysroot::{self, MANIFEST, Manifest, Sysroot};
use crate::target::Target;
use crate::toolchain::{Toolchain, ToolchainId, Zig};

/// Name of the bundle manifest, the archive's first entry.
pub const BUNDLE_MANIFEST: &str = "crossroot-bundle.json";
/// Bumped when the bundle layout changes; an unknown format is refused.
pub const BUNDLE_FORMAT: u32 = 1;
/// Bundles are reproducible: every entry gets this mtime.
const MTIME: u64 = 1_700_000_000;
/// A manifest larger than this is not one crossroot wrote.
const MAX_MANIFEST: u64 = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("could not {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{bundle} is not a crossroot bundle: {detail}")]
    NotABundle { bundle: PathBuf, detail: String },
    #[error(
        "{bundle} was made by a newer crossroot (bundle format {found}, this one reads {BUNDLE_FORMAT})"
    )]
    Format { bundle: PathBuf, found: u32 },
    #[error("bundle {bundle} is damaged or was changed: {problem}; nothing was installed")]
    Tampered { bundle: PathBuf, problem: String },
    #[error(
        "bundle {bundle} unpacks to {declared} bytes, more than the limit of {limit} bytes; nothing was installed\nhint: raise the limit with --max-download or CROSSROOT_MAX_DOWNLOAD if you trust this bundle"
    )]
    TooLarge {
        bundle: PathBuf,
        declared: u64,
        limit: u64,
    },
    #[error("could not unpack bundle {bundle}; nothing was installed")]
    Unpack {
        bundle: PathBuf,
        #[source]
        source: ExtractError,
    },
    #[error(
        "the sysroots to export were built with different compilers ({a} and {b}); export them separately"
    )]
    MixedToolchains { a: String, b: String },
    #[error(
        "package {key} of the {target} sysroot is not in the store; run `crossroot build` again before exporting"
    )]
    MissingPackage { key: String, target: String },
    #[error(transparent)]
    Sysroot(#[from] sysroot::SysrootError),
    #[error(transparent)]
    Cache(#[from] cache::CacheError),
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> BundleError {
    let path = path.to_path_buf();
    move |source| BundleError::Io {
        action,
        path,
        source,
    }
}

/// What a bundle holds; the archive's first entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    pub format: u32,
    pub crossroot_version: String,
    /// The zig every sysroot in the bundle was built with.
    pub toolchain: ToolchainId,
    pub sysroots: Vec<BundledSysroot>,
    /// Package keys (`packages-v1/<key>`).
    pub packages: Vec<String>,
    pub files: Vec<BundledFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundledSysroot {
    pub target: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum BundledFile {
    File {
        path: String,
        sha256: String,
        size: u64,
        executable: bool,
    },
    Symlink {
        path: String,
        target: String,
    },
}

impl BundledFile {
    pub fn path(&self) -> &str {
        match self {
            BundledFile::File { path, .. } | BundledFile::Symlink { path, .. } => path,
        }
    }
}

impl BundleManifest {
    /// Bytes of distinct content (a file a package and a sysroot share counts once); sizes
    /// a hostile manifest makes overflow saturate, so they stay over every limit.
    pub fn bytes(&self) -> u64 {
        let mut seen = BTreeSet::new();
        self.files
            .iter()
            .map(|f| match f {
                BundledFile::File { sha256, size, .. } if seen.insert(sha256) => *size,
                _ => 0,
            })
            .fold(0u64, u64::saturating_add)
    }
}

/// The bundle path of a sysroot: `sysroots-v1/<triple>/<dir name>`.
fn sysroot_prefix(target: &Target, key: &str) -> String {
    format!(
        "sysroots-v1/{}/{}",
        target.triple,
        &key[..16.min(key.len())]
    )
}

fn package_prefix(key: &str) -> String {
    format!("packages-v1/{key}")
}

fn sha256_reader(mut r: impl Read, mut sink: impl Write) -> io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 << 10];
    let mut n_total = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        sink.write_all(&buf[..n])?;
        n_total += n as u64;
    }
    Ok((hex::encode(h.finalize()), n_total))
}

/// Every file and symlink under `dir`, sorted, as (bundle path, disk path, entry); the
/// completion marker stays out (import writes its own, last). An empty `prefix` gives paths
/// relative to `dir` (a registry layer).
pub(crate) fn walk(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<(BundledFile, PathBuf)>,
) -> Result<(), BundleError> {
    fn go(
        dir: &Path,
        rel: &str,
        prefix: &str,
        out: &mut Vec<(BundledFile, PathBuf)>,
    ) -> Result<(), BundleError> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .map_err(io_err("read", dir))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(io_err("read", dir))?;
        names.sort();
        for name in names {
            let name = name.to_string_lossy().into_owned();
            if rel.is_empty() && name == MARKER {
                continue;
            }
            let p = dir.join(&name);
            let r = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let meta = fs::symlink_metadata(&p).map_err(io_err("inspect", &p))?;
            let path = if prefix.is_empty() {
                r.clone()
            } else {
                format!("{prefix}/{r}")
            };
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&p).map_err(io_err("read link", &p))?;
                out.push((
                    BundledFile::Symlink {
                        path,
                        target: target.to_string_lossy().into_owned(),
                    },
                    p,
                ));
            } else if meta.is_dir() {
                go(&p, &r, prefix, out)?;
            } else if meta.is_file() {
                use std::os::unix::fs::PermissionsExt;
                let f = File::open(&p).map_err(io_err("read", &p))?;
                let (sha256, size) = sha256_reader(f, io::sink()).map_err(io_err("read", &p))?;
                out.push((
                    BundledFile::File {
                        path,
                        sha256,
                        size,
                        executable: meta.permissions().mode() & 0o111 != 0,
                    },
                    p,
                ));
            }
        }
        Ok(())
    }
    go(dir, "", prefix, out)
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    pub manifest: BundleManifest,
    /// Size of the bundle file.
    pub compressed: u64,
}

/// Writes `sysroots` and their packages into `out` (a `.tar.zst`), by way of a temporary file
/// beside it.
pub fn export(home: &Home, sysroots: &[Sysroot], out: &Path) -> Result<ExportSummary, BundleError> {
    let mut toolchain: Option<ToolchainId> = None;
    let mut packages = BTreeSet::new();
    let mut bundled = Vec::new();
    let mut files = Vec::new();
    let mut chosen: Vec<&Sysroot> = Vec::new();
    for s in sysroots {
        if chosen
            .iter()
            .any(|c| c.target.triple == s.target.triple && c.key == s.key)
        {
            continue;
        }
        chosen.push(s);
        let m = s.manifest()?;
        match &toolchain {
            Some(t) if *t != m.toolchain => {
                return Err(BundleError::MixedToolchains {
                    a: short_id(t),
                    b: short_id(&m.toolchain),
                });
            }
            Some(_) => {}
            None => toolchain = Some(m.toolchain.clone()),
        }
        for p in &m.packages {
            let dir = Store::new(home).package_dir(&p.key);
            if !cache::is_complete(&dir, &p.key) {
                return Err(BundleError::MissingPackage {
                    key: p.key.clone(),
                    target: s.target.triple.to_string(),
                });
            }
            if packages.insert(p.key.clone()) {
                walk(&dir, &package_prefix(&p.key), &mut files)?;
            }
        }
        bundled.push(BundledSysroot {
            target: s.target.triple.to_string(),
            key: s.key.clone(),
        });
    }
    // Sysroots after all packages, so their (hard-linked) files become links to package files.
    for s in &chosen {
        walk(&s.dir, &sysroot_prefix(s.target, &s.key), &mut files)?;
    }
    let manifest = BundleManifest {
        format: BUNDLE_FORMAT,
        crossroot_version: env!("CARGO_PKG_VERSION").to_string(),
        toolchain: toolchain.unwrap_or(ToolchainId {
            name: "zig".into(),
            version: String::new(),
            sha256: String::new(),
            flags: Vec::new(),
        }),
        sysroots: bundled,
        packages: packages.into_iter().collect(),
        files: files.iter().map(|(f, _)| f.clone()).collect(),
    };

    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".crossroot-bundle-")
        .tempfile_in(&parent)
        .map_err(io_err("create a file in", &parent))?;
    let write = |tmp: &File| -> io::Result<()> {
        let mut zst = zstd::Encoder::new(io::BufWriter::new(tmp), 3)?;
        {
            let mut tar = tar::Builder::new(&mut zst);
            let text = serde_json::to_vec_pretty(&manifest).expect("bundle manifest serializes");
            let mut h = header(tar::EntryType::Regular, 0o644, text.len() as u64, MTIME);
            tar.append_data(&mut h, BUNDLE_MANIFEST, text.as_slice())?;
            append_files(&mut tar, &files, MTIME)?;
            tar.finish()?;
        }
        zst.finish()?.flush()?;
        tmp.sync_all()
    };
    write(tmp.as_file()).map_err(io_err("write", out))?;
    // A bundle is meant to be shared (a CI cache, another machine); temp files are 0600.
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644))
            .map_err(io_err("set mode of", tmp.path()))?;
    }
    tmp.persist(out)
        .map_err(|e| io_err("write", out)(e.error))?;
    let compressed = fs::metadata(out).map_err(io_err("inspect", out))?.len();
    Ok(ExportSummary {
        manifest,
        compressed,
    })
}

/// Appends `files` (from [`walk`]) to `tar` with `mtime`, owner root: the first path that
/// carries each content is a regular file, later ones are hard links to it.
pub(crate) fn append_files<W: Write>(
    tar: &mut tar::Builder<W>,
    files: &[(BundledFile, PathBuf)],
    mtime: u64,
) -> io::Result<()> {
    let mut first: BTreeMap<&str, &str> = BTreeMap::new();
    for (f, disk) in files {
        match f {
            BundledFile::File {
                path,
                sha256,
                size,
                executable,
            } => {
                let mode = if *executable { 0o755 } else { 0o644 };
                if let Some(earlier) = first.get(sha256.as_str()) {
                    let mut h = header(tar::EntryType::Link, mode, 0, mtime);
                    tar.append_link(&mut h, path, earlier)?;
                } else {
                    first.insert(sha256, path);
                    let mut h = header(tar::EntryType::Regular, mode, *size, mtime);
                    tar.append_data(&mut h, path, File::open(disk)?.take(*size))?;
                }
            }
            BundledFile::Symlink { path, target } => {
                let mut h = header(tar::EntryType::Symlink, 0o777, 0, mtime);
                tar.append_link(&mut h, path, target)?;
            }
        }
    }
    Ok(())
}

/// `zig 0.15.2 (sha256 0123456789ab…)`, for messages (of a bundle's manifest too, whose
/// sha256 may be any text).
pub fn short_id(t: &ToolchainId) -> String {
    let sha: String = t.sha256.chars().take(12).collect();
    format!("{} {} (sha256 {sha}…)", t.name, t.version)
}

fn header(kind: tar::EntryType, mode: u32, size: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// The bundle's tar stream, decompressed.
fn open(bundle: &Path) -> Result<impl Read, BundleError> {
    let f = File::open(bundle).map_err(io_err("open", bundle))?;
    zstd::Decoder::new(f).map_err(|e| BundleError::NotABundle {
        bundle: bundle.to_path_buf(),
        detail: format!("not zstd-compressed ({e})"),
    })
}

/// Reads the first tar entry, the manifest, from `stream` and leaves the stream at the next
/// entry's header, so the rest is a tar stream of its own for [`extract::unpack`].
fn read_manifest_entry(
    bundle: &Path,
    stream: &mut impl Read,
) -> Result<BundleManifest, BundleError> {
    let not = |detail: String| BundleError::NotABundle {
        bundle: bundle.to_path_buf(),
        detail,
    };
    let mut block = [0u8; 512];
    stream
        .read_exact(&mut block)
        .map_err(|e| not(format!("it does not start with a tar header ({e})")))?;
    let header = tar::Header::from_byte_slice(&block);
    let computed: u32 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(*b)
            }
        })
        .sum();
    if header.cksum().ok() != Some(computed) {
        return Err(not("its first block is not a tar header".into()));
    }
    if header.path_bytes().as_ref() != BUNDLE_MANIFEST.as_bytes()
        || header.entry_type() != tar::EntryType::Regular
    {
        return Err(not(format!("its first entry is not {BUNDLE_MANIFEST}")));
    }
    let size = header
        .entry_size()
        .map_err(|e| not(format!("{BUNDLE_MANIFEST}: {e}")))?;
    if size > MAX_MANIFEST {
        return Err(not(format!("{BUNDLE_MANIFEST} is {size} bytes")));
    }
    let mut text = Vec::new();
    stream
        .take(size)
        .read_to_end(&mut text)
        .map_err(|e| not(e.to_string()))?;
    if text.len() as u64 != size {
        return Err(not(format!("{BUNDLE_MANIFEST} is cut short")));
    }
    let padding = (512 - size % 512) % 512;
    io::copy(&mut stream.take(padding), &mut io::sink()).map_err(|e| not(e.to_string()))?;
    parse_manifest(&text).map_err(|e| match e {
        ManifestError::Format(found) => BundleError::Format {
            bundle: bundle.to_path_buf(),
            found,
        },
        ManifestError::Json(e) => not(format!("{BUNDLE_MANIFEST}: {e}")),
    })
}

/// Why manifest bytes are not a manifest this crossroot reads.
#[derive(Debug)]
pub enum ManifestError {
    /// Another bundle format.
    Format(u32),
    Json(serde_json::Error),
}

/// Parses the manifest's bytes: the format first, so a newer bundle says so.
pub fn parse_manifest(text: &[u8]) -> Result<BundleManifest, ManifestError> {
    #[derive(Deserialize)]
    struct Version {
        format: u32,
    }
    let v: Version = serde_json::from_slice(text).map_err(ManifestError::Json)?;
    if v.format != BUNDLE_FORMAT {
        return Err(ManifestError::Format(v.format));
    }
    serde_json::from_slice(text).map_err(ManifestError::Json)
}

/// Reads only the manifest (the first entry), to decide about a bundle before unpacking it.
pub fn read_manifest(bundle: &Path) -> Result<BundleManifest, BundleError> {
    let mut stream = open(bundle)?;
    read_manifest_entry(bundle, &mut stream)
}

/// Splits a bundle path into normal components; `None` for `..`, `.`, absolute or empty parts.
fn normal_components(path: &str) -> Option<Vec<&str>> {
    if path.is_empty() || path.starts_with('/') {
        return None;
    }
    let parts: Vec<&str> = path.split('/').collect();
    let ok = parts.iter().all(|p| {
        !p.is_empty()
            && *p != "."
            && *p != ".."
            && matches!(Path::new(p).components().next(), Some(Component::Normal(_)))
    });
    ok.then_some(parts)
}

fn is_key(s: &str, min: usize) -> bool {
    s.len() >= min && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A bundle unpacked and checked in a staging directory inside the home; dropping it
/// removes what was not installed.
pub struct StagedBundle {
    pub manifest: BundleManifest,
    bundle: PathBuf,
    dir: tempfile::TempDir,
    targets: Vec<&'static Target>,
    _lock: EntryLock,
}

/// Checks the manifest's own sanity: known targets, hex keys, every path inside a listed
/// entry, no duplicates, symlinks that stay inside their entry.
fn check_manifest(m: &BundleManifest) -> Result<Vec<&'static Target>, String> {
    let mut targets = Vec::new();
    let mut roots = BTreeSet::new();
    for p in &m.packages {
        if !is_key(p, 16) {
            return Err(format!("package key `{p}` is not a key"));
        }
        roots.insert(package_prefix(p));
    }
    for s in &m.sysroots {
        let t = Target::parse(&s.target)
            .ok()
            .filter(|t| t.triple == s.target)
            .ok_or_else(|| format!("unknown target `{}`", s.target))?;
        if !is_key(&s.key, 16) {
            return Err(format!("sysroot key `{}` is not a key", s.key));
        }
        targets.push(t);
        roots.insert(sysroot_prefix(t, &s.key));
    }
    let links: BTreeSet<&str> = m
        .files
        .iter()
        .filter(|f| matches!(f, BundledFile::Symlink { .. }))
        .map(|f| f.path())
        .collect();
    let mut seen = BTreeSet::new();
    let mut sizes: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &m.files {
        let path = f.path();
        let parts =
            normal_components(path).ok_or_else(|| format!("path `{path}` leaves the bundle"))?;
        let depth = if parts[0] == "packages-v1" { 2 } else { 3 };
        if parts.len() <= depth || !roots.contains(&parts[..depth].join("/")) {
            return Err(format!(
                "path `{path}` is not inside an entry the bundle lists"
            ));
        }
        if parts.len() == depth + 1 && parts[depth] == MARKER {
            return Err(format!("path `{path}` is a completion marker"));
        }
        // Nothing is written through a link: it could land on a file already checked.
        if let Some(l) = (depth + 1..parts.len())
            .map(|n| parts[..n].join("/"))
            .find(|p| links.contains(p.as_str()))
        {
            return Err(format!("path `{path}` goes through the link `{l}`"));
        }
        if !seen.insert(path) {
            return Err(format!("path `{path}` is listed twice"));
        }
        match f {
            // The rule of every archive crossroot unpacks, confined to the link's entry.
            BundledFile::Symlink { target, .. }
                if !extract::symlink_stays_within(Path::new(path), Path::new(target), depth) =>
            {
                return Err(format!(
                    "link `{path}` -> `{target}` points outside its entry (absolute, too many `..`, or `..` after a name, which the kernel resolves through links)"
                ));
            }
            BundledFile::File { sha256, size, .. } => match sizes.insert(sha256, *size) {
                Some(other) if other != *size => {
                    return Err(format!(
                        "`{path}` has sha256 {sha256} and {size} bytes, another file with that sha256 {other} bytes"
                    ));
                }
                _ => {}
            },
            BundledFile::Symlink { .. } => {}
        }
    }
    Ok(targets)
}

/// The manifest's rules for [`extract::unpack`]: each entry must be listed, once, as what it
/// is, with the declared size (checked before any byte is written) and sha256, and a link
/// must stay inside its entry.
struct ManifestAdmission<'a> {
    expected: BTreeMap<&'a str, &'a BundledFile>,
    done: BTreeSet<String>,
}

impl Admission for ManifestAdmission<'_> {
    fn admit(&mut self, entry: &EntryView<'_>) -> Result<Option<String>, String> {
        let path = entry
            .path
            .to_str()
            .ok_or_else(|| format!("path `{}` is not UTF-8", entry.path.display()))?;
        let Some(want) = self.expected.get(path) else {
            return Err(format!("`{path}` is not in the manifest"));
        };
        if !self.done.insert(path.to_string()) {
            return Err(format!("`{path}` appears twice"));
        }
        match (*want, entry.kind) {
            (
                BundledFile::File {
                    sha256,
                    size,
                    executable,
                    ..
                },
                EntryKind::File {
                    size: found,
                    executable: x,
                },
            ) => {
                if found != *size {
                    return Err(format!(
                        "`{path}` holds {found} bytes, the manifest declares {size}"
                    ));
                }
                if x != *executable {
                    return Err(format!(
                        "`{path}` is {}executable, the manifest says otherwise",
                        if x { "" } else { "not " }
                    ));
                }
                Ok(Some(sha256.clone()))
            }
            (BundledFile::File { sha256, .. }, EntryKind::Hardlink { target, sha256: h }) => {
                if h != Some(sha256.as_str()) {
                    return Err(format!(
                        "`{path}` is a link to `{}`, which is not an earlier file with sha256 {sha256}",
                        target.display()
                    ));
                }
                Ok(None)
            }
            (BundledFile::Symlink { target, .. }, EntryKind::Symlink { target: found }) => {
                if found != Path::new(target) {
                    return Err(format!(
                        "link `{path}` points to `{}`, the manifest says `{target}`",
                        found.display()
                    ));
                }
                let depth = if path.starts_with("packages-v1/") {
                    2
                } else {
                    3
                };
                if !extract::symlink_stays_within(entry.path, found, depth) {
                    return Err(format!(
                        "link `{path}` -> `{target}` points outside its entry"
                    ));
                }
                Ok(None)
            }
            (_, kind) => Err(format!(
                "`{path}` is {}, the manifest says otherwise",
                match kind {
                    EntryKind::Directory => "a directory",
                    EntryKind::File { .. } => "a file",
                    EntryKind::Symlink { .. } => "a symbolic link",
                    EntryKind::Hardlink { .. } => "a hard link",
                }
            )),
        }
    }
}

/// What an unpacking error means for a bundle: a change to it, or a failure here.
fn unpack_error(bundle: &Path, e: ExtractError) -> BundleError {
    let tampered = |problem: String| BundleError::Tampered {
        bundle: bundle.to_path_buf(),
        problem,
    };
    match e {
        ExtractError::Refused { reason, .. } => tampered(reason),
        ExtractError::ContentMismatch {
            entry,
            expected,
            actual,
            ..
        } => tampered(format!(
            "`{entry}` has sha256 {actual}, the manifest says {expected}"
        )),
        ExtractError::UnsafePath { entry, found, .. } => {
            tampered(format!("path `{entry}` leaves the bundle ({found})"))
        }
        ExtractError::SymlinkEscapes { entry, target, .. } => tampered(format!(
            "link `{entry}` -> `{target}` points outside its entry"
        )),
        ExtractError::ThroughSymlink { entry, symlink, .. } => tampered(format!(
            "`{entry}` goes through the link `{}`",
            symlink.display()
        )),
        ExtractError::HardlinkTarget { entry, target, .. } => tampered(format!(
            "`{entry}` is a link to `{target}`, which is not an earlier file of the bundle"
        )),
        ExtractError::UnsupportedEntry { entry, kind, .. } => {
            tampered(format!("`{entry}` is {kind}"))
        }
        ExtractError::DeclaredTooLarge {
            declared, limit, ..
        } => BundleError::TooLarge {
            bundle: bundle.to_path_buf(),
            declared,
            limit,
        },
        e @ (ExtractError::NoSpace { .. }
        | ExtractError::Write { .. }
        | ExtractError::Dest { .. }
        | ExtractError::DestNotEmpty { .. }
        | ExtractError::Open { .. }) => BundleError::Unpack {
            bundle: bundle.to_path_buf(),
            source: e,
        },
        other => tampered(other.to_string()),
    }
}

/// Unpacks `bundle` into a staging directory in `home` and checks every entry against the
/// manifest: declared sizes within `max_bytes` and the free disk space before anything is
/// written, each entry's size before its bytes, content hashes, no file missing, none added,
/// no path or link leaving its entry, no other entry types. Staging is named and swept like
/// every other (`.tmp-import-*`), under the import lock, which the returned bundle holds
/// until it is installed or dropped.
pub fn stage(
    home: &Home,
    bundle: &Path,
    max_bytes: u64,
    reporter: &dyn Reporter,
) -> Result<StagedBundle, BundleError> {
    home.init()?;
    let tampered = |problem: String| BundleError::Tampered {
        bundle: bundle.to_path_buf(),
        problem,
    };
    let mut stream = open(bundle)?;
    let manifest = read_manifest_entry(bundle, &mut stream)?;
    let targets = check_manifest(&manifest).map_err(tampered)?;
    let declared = manifest.bytes();
    if declared > max_bytes {
        return Err(BundleError::TooLarge {
            bundle: bundle.to_path_buf(),
            declared,
            limit: max_bytes,
        });
    }
    let parent = home.packages();
    let lock = EntryLock::acquire(&parent.join("import.lock"), reporter)?;
    // Killed imports left their staging here; this import holds the lock, so no live one.
    let dir = cache::new_staging(&parent, "import")
        .map_err(io_err("create a staging directory in", &parent))?;
    let root = dir.path().to_path_buf();
    let mut admission = ManifestAdmission {
        expected: manifest.files.iter().map(|f| (f.path(), f)).collect(),
        done: BTreeSet::new(),
    };
    let spec = extract::UnpackSpec {
        label: bundle,
        layout: extract::Layout::AsIs,
        limits: extract::ExtractOptions {
            max_total_bytes: max_bytes,
            // Bundles hold no directory entries: one entry per listed file, and a few headers.
            max_entries: manifest.files.len() as u64 + 16,
        },
        declared_bytes: Some(declared),
    };
    // `root` exists and is empty: unpack takes it as its destination.
    extract::unpack(stream, &root, &spec, &mut admission).map_err(|e| unpack_error(bundle, e))?;
    if let Some(missing) = admission
        .expected
        .keys()
        .find(|p| !admission.done.contains(**p))
    {
        return Err(tampered(format!(
            "`{missing}` is in the manifest but not in the archive"
        )));
    }
    // Each sysroot must say what the bundle says it is.
    for (s, t) in manifest.sysroots.iter().zip(&targets) {
        let path = root.join(sysroot_prefix(t, &s.key)).join(MANIFEST);
        let text = cache::read_nofollow(&path).map_err(|_| {
            tampered(format!(
                "the {} sysroot has no {MANIFEST} (a regular file)",
                s.target
            ))
        })?;
        let m: Manifest = serde_json::from_slice(&text)
            .map_err(|e| tampered(format!("the {} sysroot's {MANIFEST}: {e}", s.target)))?;
        if m.key != s.key || m.target != s.target || m.toolchain != manifest.toolchain {
            return Err(tampered(format!(
                "the {} sysroot's {MANIFEST} names another key, target or compiler",
                s.target
            )));
        }
        if let Some(p) = m
            .packages
            .iter()
            .find(|p| !manifest.packages.contains(&p.key))
        {
            return Err(tampered(format!(
                "the {} sysroot needs package {} ({}), which the bundle lacks",
                s.target, p.name, p.key
            )));
        }
    }
    Ok(StagedBundle {
        manifest,
        bundle: bundle.to_path_buf(),
        dir,
        targets,
        _lock: lock,
    })
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    pub packages_installed: usize,
    pub packages_kept: usize,
    pub sysroots: Vec<Sysroot>,
    pub sysroots_kept: usize,
}

impl StagedBundle {
    /// Moves the checked entries into the store: packages first, then sysroots with wrappers
    /// rewritten for `zig` and this home. Complete entries already there are kept. Each
    /// sysroot becomes its target's `current`.
    pub fn install(
        self,
        home: &Home,
        zig: &Zig,
        tools: &HostTools,
        reporter: &dyn Reporter,
    ) -> Result<ImportSummary, BundleError> {
        let root = self.dir.path();
        let mut summary = ImportSummary::default();
        // The wrappers name the exporting machine's zig and home: write this one's, in the
        // staging, for every sysroot before anything is installed.
        let toolchain = Toolchain::Zig(zig.clone());
        for (s, target) in self.manifest.sysroots.iter().zip(&self.targets) {
            let prefix = sysroot_prefix(target, &s.key);
            let staged = root.join(&prefix);
            sysroot::write_wrappers(&staged, target, &toolchain, tools, home).map_err(|e| {
                match e {
                    sysroot::SysrootError::Cache(cache::CacheError::NotOwnDir { found, .. }) => {
                        BundleError::Tampered {
                            bundle: self.bundle.clone(),
                            problem: format!(
                                "`{prefix}/bin` is {found}: crossroot writes the wrappers only into a directory it made, never through a link"
                            ),
                        }
                    }
                    other => other.into(),
                }
            })?;
            let mpath = staged.join(MANIFEST);
            let text = cache::read_nofollow(&mpath).map_err(io_err("read", &mpath))?;
            let mut m: Manifest = serde_json::from_slice(&text).map_err(|source| {
                sysroot::SysrootError::Manifest {
                    path: mpath.clone(),
                    source,
                }
            })?;
            m.toolchain_exe = zig.exe.clone();
            cache::write_atomic(
                &mpath,
                &serde_json::to_vec_pretty(&m).expect("manifest serializes"),
            )?;
        }
        let store = Store::new(home);
        for key in &self.manifest.packages {
            let _lock = store.lock(key, reporter)?;
            match store.install(&root.join(package_prefix(key)), key)? {
                Installed::New => summary.packages_installed += 1,
                Installed::Kept => summary.packages_kept += 1,
            }
        }
        for (s, target) in self.manifest.sysroots.iter().zip(&self.targets) {
            let dest = sysroot::sysroot_dir(home, target, &s.key);
            let parent = dest.parent().expect("sysroot dir has a parent");
            fs::create_dir_all(parent).map_err(io_err("create", parent))?;
            let _lock = EntryLock::acquire(&dest.with_extension("lock"), reporter)?;
            if cache::is_complete(&dest, &s.key) {
                summary.sysroots_kept += 1;
            } else {
                cache::remove_incomplete(&dest)?;
                let staged = root.join(sysroot_prefix(target, &s.key));
                fs::rename(&staged, &dest).map_err(io_err("move the sysroot to", &dest))?;
                cache::mark_complete(&dest, &s.key)?;
            }
            sysroot::set_current(home, target, "zig", &dest)?;
            summary.sysroots.push(Sysroot {
                dir: dest,
                target,
                key: s.key.clone(),
            });
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests;
