//! Bundles: sysroots and the packages they need in one `.tar.zst`, which another home (at
//! another path, on another machine) imports after checking every byte.
//!
//! ```text
//! crossroot-bundle.json                      first: format, toolchain, entries, every file's sha256
//! packages-v1/<key>/…                        the packages, as in the store (markers left out)
//! sysroots-v1/<triple>/<key16>/…             the sysroots; a file already in the bundle is a hard link
//! ```
//!
//! Import stages everything beside the store and checks it against the manifest (content,
//! extra or missing files, paths that leave their entry) before anything is installed; then
//! it rewrites the compiler wrappers for this machine's zig and this home, renames each entry
//! into place and writes its completion marker last.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::build::HostTools;
use crate::cache::{self, EntryLock, Home, MARKER};
use crate::report::Reporter;
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
    /// Bytes of distinct content (a file a package and a sysroot share counts once).
    pub fn bytes(&self) -> u64 {
        let mut seen = BTreeSet::new();
        self.files
            .iter()
            .map(|f| match f {
                BundledFile::File { sha256, size, .. } if seen.insert(sha256) => *size,
                _ => 0,
            })
            .sum()
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
/// completion marker stays out (import writes its own, last).
fn walk(
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
            let path = format!("{prefix}/{r}");
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
            let dir = home.packages().join(&p.key);
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
            let mut h = header(tar::EntryType::Regular, 0o644, text.len() as u64);
            tar.append_data(&mut h, BUNDLE_MANIFEST, text.as_slice())?;
            // The first path that carries each content; later ones are hard links to it.
            let mut first: BTreeMap<&str, &str> = BTreeMap::new();
            for (f, disk) in &files {
                match f {
                    BundledFile::File {
                        path,
                        sha256,
                        size,
                        executable,
                    } => {
                        let mode = if *executable { 0o755 } else { 0o644 };
                        if let Some(earlier) = first.get(sha256.as_str()) {
                            let mut h = header(tar::EntryType::Link, mode, 0);
                            tar.append_link(&mut h, path, earlier)?;
                        } else {
                            first.insert(sha256, path);
                            let mut h = header(tar::EntryType::Regular, mode, *size);
                            tar.append_data(&mut h, path, File::open(disk)?.take(*size))?;
                        }
                    }
                    BundledFile::Symlink { path, target } => {
                        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
                        tar.append_link(&mut h, path, target)?;
                    }
                }
            }
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

/// `zig 0.15.2 (sha256 0123456789ab…)`, for messages.
pub fn short_id(t: &ToolchainId) -> String {
    format!(
        "{} {} (sha256 {}…)",
        t.name,
        t.version,
        &t.sha256[..12.min(t.sha256.len())]
    )
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(MTIME);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn open(
    bundle: &Path,
) -> Result<tar::Archive<zstd::Decoder<'static, io::BufReader<File>>>, BundleError> {
    let f = File::open(bundle).map_err(io_err("open", bundle))?;
    let dec = zstd::Decoder::new(f).map_err(|e| BundleError::NotABundle {
        bundle: bundle.to_path_buf(),
        detail: format!("not zstd-compressed ({e})"),
    })?;
    Ok(tar::Archive::new(dec))
}

fn read_manifest_entry(
    bundle: &Path,
    entry: Option<io::Result<tar::Entry<'_, impl Read>>>,
) -> Result<BundleManifest, BundleError> {
    let not = |detail: String| BundleError::NotABundle {
        bundle: bundle.to_path_buf(),
        detail,
    };
    let mut e = entry
        .ok_or_else(|| not("it is empty".into()))?
        .map_err(|e| not(e.to_string()))?;
    if e.path_bytes().as_ref() != BUNDLE_MANIFEST.as_bytes()
        || e.header().entry_type() != tar::EntryType::Regular
    {
        return Err(not(format!("its first entry is not {BUNDLE_MANIFEST}")));
    }
    if e.size() > MAX_MANIFEST {
        return Err(not(format!("{BUNDLE_MANIFEST} is {} bytes", e.size())));
    }
    let mut text = Vec::new();
    e.read_to_end(&mut text).map_err(|e| not(e.to_string()))?;
    #[derive(Deserialize)]
    struct Version {
        format: u32,
    }
    let v: Version =
        serde_json::from_slice(&text).map_err(|e| not(format!("{BUNDLE_MANIFEST}: {e}")))?;
    if v.format != BUNDLE_FORMAT {
        return Err(BundleError::Format {
            bundle: bundle.to_path_buf(),
            found: v.format,
        });
    }
    serde_json::from_slice(&text).map_err(|e| not(format!("{BUNDLE_MANIFEST}: {e}")))
}

/// Reads only the manifest (the first entry), to decide about a bundle before unpacking it.
pub fn read_manifest(bundle: &Path) -> Result<BundleManifest, BundleError> {
    let mut ar = open(bundle)?;
    let mut entries = ar.entries().map_err(|e| BundleError::NotABundle {
        bundle: bundle.to_path_buf(),
        detail: e.to_string(),
    })?;
    read_manifest_entry(bundle, entries.next())
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
    dir: tempfile::TempDir,
    targets: Vec<&'static Target>,
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
        if let BundledFile::Symlink { target, .. } = f {
            // Resolve the link inside its entry; it may not climb out of it.
            let mut level = parts.len() - depth - 1;
            if target.starts_with('/') || target.is_empty() {
                return Err(format!("link `{path}` points outside its entry"));
            }
            for c in target.split('/') {
                match c {
                    ".." if level == 0 => {
                        return Err(format!("link `{path}` points outside its entry"));
                    }
                    ".." => level -= 1,
                    "" | "." => {}
                    _ => level += 1,
                }
            }
        }
    }
    Ok(targets)
}

/// Unpacks `bundle` into a staging directory in `home` and checks every entry against the
/// manifest: content hashes and sizes, no file missing, none added, no path or link leaving
/// its entry, no other entry types.
pub fn stage(home: &Home, bundle: &Path) -> Result<StagedBundle, BundleError> {
    home.init()?;
    let tampered = |problem: String| BundleError::Tampered {
        bundle: bundle.to_path_buf(),
        problem,
    };
    let mut ar = open(bundle)?;
    let mut entries = ar.entries().map_err(|e| BundleError::NotABundle {
        bundle: bundle.to_path_buf(),
        detail: e.to_string(),
    })?;
    let manifest = read_manifest_entry(bundle, entries.next())?;
    let targets = check_manifest(&manifest).map_err(tampered)?;
    let expected: BTreeMap<&str, &BundledFile> =
        manifest.files.iter().map(|f| (f.path(), f)).collect();
    let dir = tempfile::Builder::new()
        .prefix(".import-")
        .tempdir_in(home.root())
        .map_err(io_err("create a staging directory in", home.root()))?;
    let root = dir.path().to_path_buf();
    // Paths written so far, with their verified content hash (None for symlinks).
    let mut done: BTreeMap<String, Option<String>> = BTreeMap::new();
    for entry in entries {
        let mut e = entry.map_err(|e| tampered(format!("unreadable archive ({e})")))?;
        let path = String::from_utf8(e.path_bytes().into_owned())
            .map_err(|_| tampered("a path is not UTF-8".into()))?;
        let path = path.trim_end_matches('/').to_string();
        if normal_components(&path).is_none() {
            return Err(tampered(format!("path `{path}` leaves the bundle")));
        }
        let Some(want) = expected.get(path.as_str()) else {
            return Err(tampered(format!("`{path}` is not in the manifest")));
        };
        if done.contains_key(&path) {
            return Err(tampered(format!("`{path}` appears twice")));
        }
        let dest = root.join(&path);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        }
        let kind = e.header().entry_type();
        match (*want, kind) {
            (
                BundledFile::File {
                    sha256,
                    size,
                    executable,
                    ..
                },
                tar::EntryType::Regular | tar::EntryType::Continuous,
            ) => {
                let out = File::create(&dest).map_err(io_err("create", &dest))?;
                let mut w = io::BufWriter::new(out);
                // Read one byte past the declared size, so a longer entry is noticed.
                let (got, n) = sha256_reader((&mut e).take(size + 1), &mut w)
                    .map_err(|err| tampered(format!("`{path}` is unreadable ({err})")))?;
                w.flush().map_err(io_err("write", &dest))?;
                if n != *size || got != *sha256 {
                    return Err(tampered(format!(
                        "`{path}` has sha256 {got} ({n} bytes), the manifest says {sha256} ({size} bytes)"
                    )));
                }
                set_mode(&dest, *executable)?;
                done.insert(path, Some(got));
            }
            (BundledFile::File { sha256, .. }, tar::EntryType::Link) => {
                let link = e
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                match done.get(&link) {
                    Some(Some(h)) if h == sha256 => {}
                    _ => {
                        return Err(tampered(format!(
                            "`{path}` is a link to `{link}`, which is not an earlier file with sha256 {sha256}"
                        )));
                    }
                }
                let from = root.join(&link);
                if fs::hard_link(&from, &dest).is_err() {
                    fs::copy(&from, &dest).map_err(io_err("copy", &from))?;
                }
                done.insert(path, Some(sha256.clone()));
            }
            (BundledFile::Symlink { target, .. }, tar::EntryType::Symlink) => {
                let link = e
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                if link != *target {
                    return Err(tampered(format!(
                        "link `{path}` points to `{link}`, the manifest says `{target}`"
                    )));
                }
                std::os::unix::fs::symlink(target, &dest).map_err(io_err("create link", &dest))?;
                done.insert(path, None);
            }
            (_, kind) => {
                return Err(tampered(format!(
                    "`{path}` is a {kind:?} entry, the manifest says otherwise"
                )));
            }
        }
    }
    if let Some(missing) = expected.keys().find(|p| !done.contains_key(**p)) {
        return Err(tampered(format!(
            "`{missing}` is in the manifest but not in the archive"
        )));
    }
    // Each sysroot must say what the bundle says it is.
    for (s, t) in manifest.sysroots.iter().zip(&targets) {
        let path = root.join(sysroot_prefix(t, &s.key)).join(MANIFEST);
        let text = fs::read(&path)
            .map_err(|_| tampered(format!("the {} sysroot has no {MANIFEST}", s.target)))?;
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
        dir,
        targets,
    })
}

fn set_mode(path: &Path, executable: bool) -> Result<(), BundleError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if executable { 0o755 } else { 0o644 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_err("set mode of", path))
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
        for key in &self.manifest.packages {
            let dest = home.packages().join(key);
            let _lock = EntryLock::acquire(&home.packages().join(format!("{key}.lock")), reporter)?;
            if cache::is_complete(&dest, key) {
                summary.packages_kept += 1;
                continue;
            }
            cache::remove_incomplete(&dest)?;
            let staged = root.join(package_prefix(key));
            fs::rename(&staged, &dest).map_err(io_err("move the package to", &dest))?;
            cache::mark_complete(&dest, key)?;
            summary.packages_installed += 1;
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
                // The wrappers name the exporting machine's zig and home: write this one's.
                let toolchain = Toolchain::Zig(zig.clone());
                sysroot::write_wrappers(&staged, target, &toolchain, tools, home)?;
                let mpath = staged.join(MANIFEST);
                let text = fs::read(&mpath).map_err(io_err("read", &mpath))?;
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
