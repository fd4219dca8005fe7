//! The crossroot home: versioned cache buckets, per-entry locks and completion markers.
//!
//! ```text
//! <home>/CACHEDIR.TAG
//! <home>/downloads-v1/<sha256>/<file>        verified source and toolchain archives
//! <home>/downloads-v1/<sha256>/<file>.asc    its OpenPGP signature, and `.asc.verified` once checked
//! <home>/packages-v1/<key>/                  one built package (include/, lib/), .crossroot-ok last
//! <home>/sysroots-v1/<triple>/<key>/         merged sysroot + wrappers + manifest, .crossroot-ok last
//! <home>/sysroots-v1/<triple>/current        link to the sysroot built last for the triple
//! <home>/toolchains-v1/                      fetched toolchains and zig's own caches
//! <home>/logs/<triple>/<package>-<version>/  one log per build step
//! ```
//!
//! A home is crossroot's only when its `CACHEDIR.TAG` holds crossroot's text: [`Home::init`]
//! makes one only in a new or empty directory, and [`Home::clean`] removes only what crossroot
//! writes there.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::report::Reporter;

/// Name of the completion marker written last into every finished entry.
pub const MARKER: &str = ".crossroot-ok";
/// Bumped when the layout of an entry changes; entries with another version are redone.
pub const MARKER_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("could not {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path} is not a crossroot home: it is not empty (it holds {found}), and {why}; crossroot keeps its files only in a directory of its own (new, empty, or made by crossroot), so that `cache clean` can never remove anything else: pass --home (or set CROSSROOT_HOME) to a new directory, e.g. {suggest}",
        path = path.display(),
        suggest = path.join("crossroot").display()
    )]
    ForeignHome {
        path: PathBuf,
        found: String,
        why: String,
    },
    #[error(
        "{path} is not a directory, so it cannot be crossroot's home: pass --home (or set CROSSROOT_HOME) to a new directory",
        path = path.display()
    )]
    HomeNotDir { path: PathBuf },
    #[error(
        "not cleaning {path}: crossroot did not create it ({why}), so nothing was removed; to clean crossroot's home, pass --home (or set CROSSROOT_HOME) to that directory",
        path = path.display()
    )]
    CleanRefused { path: PathBuf, why: String },
    #[error(
        "{path} is {found}, not a directory crossroot made: it writes only into its own directories, never through a link"
    )]
    NotOwnDir { path: PathBuf, found: &'static str },
}

pub(crate) fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> CacheError {
    let path = path.to_path_buf();
    move |source| CacheError::Io {
        action,
        path,
        source,
    }
}

/// The root of everything crossroot stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Home { root: root.into() }
    }

    /// The default home: `$XDG_CACHE_HOME/crossroot` (or the platform's cache directory).
    pub fn default_root() -> Option<PathBuf> {
        dirs::cache_dir().map(|d| d.join("crossroot"))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn downloads(&self) -> PathBuf {
        self.root.join("downloads-v1")
    }
    pub fn packages(&self) -> PathBuf {
        self.root.join("packages-v1")
    }
    pub fn sysroots(&self) -> PathBuf {
        self.root.join("sysroots-v1")
    }
    pub fn toolchains(&self) -> PathBuf {
        self.root.join("toolchains-v1")
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }
    /// zig's global and local caches, kept with crossroot's so CI caches them together.
    pub fn zig_cache(&self) -> PathBuf {
        self.toolchains().join("zig-cache")
    }

    /// Makes the home crossroot's and creates its buckets. The root must be new, empty, or
    /// tagged by crossroot already: any other directory is refused, untouched.
    pub fn init(&self) -> Result<(), CacheError> {
        let root = &self.root;
        let state = match RootState::of(root)? {
            RootState::Missing => {
                fs::create_dir_all(root).map_err(io_err("create", root))?;
                // Another crossroot may have made and tagged it meanwhile: judge it again.
                RootState::of(root)?
            }
            s => s,
        };
        match state {
            RootState::Ours => {}
            // The tag goes first, so a crossroot starting at the same time sees a tagged home.
            RootState::Unclaimed => write_tag(root)?,
            RootState::Missing => {
                return Err(io_err("create", root)(io::ErrorKind::NotFound.into()));
            }
            RootState::NotDir => return Err(CacheError::HomeNotDir { path: root.clone() }),
            RootState::Foreign { why, entries } => {
                return Err(CacheError::ForeignHome {
                    path: root.clone(),
                    found: list_names(&entries),
                    why,
                });
            }
        }
        for dir in BUCKETS.map(|b| root.join(b)) {
            fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        }
        Ok(())
    }

    /// `cache clean`: removes crossroot's buckets, its staging and its tag, never anything
    /// else, and the root itself when nothing else is left. A root crossroot did not create is
    /// refused untouched. `None` when there is no home at all.
    pub fn clean(&self) -> Result<Option<Cleaned>, CacheError> {
        let root = &self.root;
        match RootState::of(root)? {
            RootState::Missing => return Ok(None),
            RootState::Ours => {}
            RootState::Unclaimed => {
                return Ok(Some(Cleaned {
                    freed: 0,
                    removed_root: false,
                    kept: Vec::new(),
                }));
            }
            RootState::NotDir => {
                return Err(CacheError::CleanRefused {
                    path: root.clone(),
                    why: "it is not a directory".into(),
                });
            }
            RootState::Foreign { why, .. } => {
                return Err(CacheError::CleanRefused {
                    path: root.clone(),
                    why,
                });
            }
        }
        let mut freed = 0;
        let mut kept = Vec::new();
        for entry in fs::read_dir(root).map_err(io_err("read", root))? {
            let entry = entry.map_err(io_err("read", root))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == TAG {
                continue;
            }
            if is_own_root_entry(&name) {
                freed += disk_usage(&entry.path());
                remove_incomplete(&entry.path())?;
            } else {
                kept.push(name);
            }
        }
        // The tag goes last: a clean cut short leaves a home crossroot still knows as its own.
        let tag = root.join(TAG);
        freed += disk_usage(&tag);
        fs::remove_file(&tag).map_err(io_err("remove", &tag))?;
        kept.sort();
        // A mount point cannot be removed; it is left empty.
        let removed_root = kept.is_empty() && fs::remove_dir(root).is_ok();
        Ok(Some(Cleaned {
            freed,
            removed_root,
            kept,
        }))
    }
}

/// What [`Home::clean`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleaned {
    /// Bytes removed.
    pub freed: u64,
    /// Whether the root itself went (it stays when other files are in it, or is a mount point).
    pub removed_root: bool,
    /// Names in the root that crossroot did not write, left as they were.
    pub kept: Vec<String>,
}

/// The file that marks a home as crossroot's, and tells backup tools to skip it.
pub const TAG: &str = "CACHEDIR.TAG";
/// The tag's text. Every crossroot has written exactly this, so homes of earlier versions are
/// recognised as crossroot's; another program's `CACHEDIR.TAG` is not.
const TAG_TEXT: &[u8] = b"Signature: 8a477f597d28d172789f06886806bc55\n# This directory is a cache of crossroot (static musl cross sysroots).\n";
/// The tag's temporary file while it is written.
const TAG_STAGING: &str = "CACHEDIR.TAG.crossroot-";

/// The buckets crossroot makes in a home's root.
pub const BUCKETS: [&str; 5] = [
    "downloads-v1",
    "packages-v1",
    "sysroots-v1",
    "toolchains-v1",
    "logs",
];

/// How the staging entries crossroot makes in a home's root begin (bundle imports, the tag).
pub const ROOT_STAGING_PREFIXES: [&str; 2] = [".import-", TAG_STAGING];

/// Whether `name`, directly in a home's root, is something crossroot writes there.
pub fn is_own_root_entry(name: &str) -> bool {
    name == TAG
        || BUCKETS.contains(&name)
        || ROOT_STAGING_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Who a home's root belongs to.
enum RootState {
    Missing,
    NotDir,
    /// Tagged by crossroot.
    Ours,
    /// Empty (but for a tag another crossroot is writing now).
    Unclaimed,
    /// Not empty and not tagged by crossroot: `why` says what its tag is.
    Foreign {
        why: String,
        entries: Vec<String>,
    },
}

impl RootState {
    fn of(root: &Path) -> Result<RootState, CacheError> {
        // Followed: a home given as a link to a directory is that directory.
        match fs::metadata(root) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(RootState::Missing),
            Err(e) => return Err(io_err("inspect", root)(e)),
            Ok(m) if !m.is_dir() => return Ok(RootState::NotDir),
            Ok(_) => {}
        }
        let tag = root.join(TAG);
        let why = match fs::symlink_metadata(&tag) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => format!("it has no {TAG}"),
            Err(e) => format!("its {TAG} cannot be read: {e}"),
            Ok(m) if !m.is_file() => format!("its {TAG} is not a regular file"),
            Ok(_) => match fs::read(&tag) {
                Ok(text) if text == TAG_TEXT => return Ok(RootState::Ours),
                Ok(_) => format!("its {TAG} was written by another program"),
                Err(e) => format!("its {TAG} cannot be read: {e}"),
            },
        };
        let mut entries = Vec::new();
        for entry in fs::read_dir(root).map_err(io_err("read", root))? {
            let name = entry.map_err(io_err("read", root))?.file_name();
            let name = name.to_string_lossy().into_owned();
            if !name.starts_with(TAG_STAGING) {
                entries.push(name);
            }
        }
        if entries.is_empty() {
            return Ok(RootState::Unclaimed);
        }
        entries.sort();
        Ok(RootState::Foreign { why, entries })
    }
}

/// Writes crossroot's tag into `root` by way of a temporary file and one rename.
fn write_tag(root: &Path) -> Result<(), CacheError> {
    let tag = root.join(TAG);
    let mut tmp = tempfile::Builder::new()
        .prefix(TAG_STAGING)
        .tempfile_in(root)
        .map_err(io_err("create a file in", root))?;
    tmp.write_all(TAG_TEXT).map_err(io_err("write", &tag))?;
    tmp.as_file().sync_all().map_err(io_err("write", &tag))?;
    tmp.persist(&tag)
        .map_err(|e| io_err("write", &tag)(e.error))?;
    Ok(())
}

/// `a, b, c and 4 more`, for messages.
pub fn list_names(names: &[String]) -> String {
    const SHOWN: usize = 3;
    let shown: Vec<&str> = names.iter().take(SHOWN).map(String::as_str).collect();
    match names.len().saturating_sub(SHOWN) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// Contents of the completion marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub version: u32,
    pub key: String,
}

/// True when `dir` holds a marker of this crossroot's version for `key`.
pub fn is_complete(dir: &Path, key: &str) -> bool {
    let Ok(text) = fs::read_to_string(dir.join(MARKER)) else {
        return false;
    };
    matches!(serde_json::from_str::<Marker>(&text), Ok(m) if m.version == MARKER_VERSION && m.key == key)
}

/// Writes the marker; call it last, when everything else in `dir` is in place.
pub fn mark_complete(dir: &Path, key: &str) -> Result<(), CacheError> {
    let marker = Marker {
        version: MARKER_VERSION,
        key: key.to_string(),
    };
    let text = serde_json::to_string(&marker).expect("marker serializes");
    write_atomic(&dir.join(MARKER), text.as_bytes())
}

/// Removes an entry that has no valid marker (an interrupted or older build).
pub fn remove_incomplete(dir: &Path) -> Result<(), CacheError> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(dir).map_err(io_err("remove", dir)),
        Ok(_) => fs::remove_file(dir).map_err(io_err("remove", dir)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("inspect", dir)(e)),
    }
}

/// How staging directories begin: `<parent>/.tmp-<entry name>-<random>`.
pub const STAGING_PREFIX: &str = ".tmp-";

/// A fresh staging directory for the entry `name` in `parent`, after removing the ones killed
/// runs left for it. Call it holding the entry's lock, so no live run's staging is touched.
pub fn new_staging(parent: &Path, name: &str) -> std::io::Result<tempfile::TempDir> {
    let prefix = format!("{STAGING_PREFIX}{name}-");
    remove_stale_staging(parent, &prefix);
    tempfile::Builder::new().prefix(&prefix).tempdir_in(parent)
}

/// Removes the staging directories `<parent>/<prefix>*` that killed runs left behind. Call it
/// holding the lock of the entry the prefix belongs to, so no live run's staging is touched.
fn remove_stale_staging(parent: &Path, prefix: &str) {
    if let Ok(rd) = fs::read_dir(parent) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(prefix) {
                // Best effort: what cannot be removed now is tried again next time.
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Writes a file by way of a temporary file beside it and one rename.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), CacheError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err("create a file in", dir))?;
    tmp.write_all(contents).map_err(io_err("write", path))?;
    tmp.as_file().sync_all().map_err(io_err("write", path))?;
    tmp.persist(path)
        .map_err(|e| io_err("write", path)(e.error))?;
    Ok(())
}

/// Writes a file only when its contents differ, so mtime-sensitive tools (make, ccache) see
/// no change when there is none. Returns whether it wrote. A symlink at `path` is replaced,
/// never read or written through.
pub fn write_if_changed(path: &Path, contents: &[u8]) -> Result<bool, CacheError> {
    let regular = fs::symlink_metadata(path).is_ok_and(|m| m.is_file());
    if regular && read_nofollow(path).is_ok_and(|old| old == contents) {
        return Ok(false);
    }
    write_atomic(path, contents)?;
    Ok(true)
}

/// Reads a file, refusing (ELOOP) when `path` itself is a symlink.
pub fn read_nofollow(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let mut out = Vec::new();
    file.read_to_end(&mut out)?;
    Ok(out)
}

/// Makes `root/rel` a chain of real directories, creating what is missing and following no
/// symlink: for writing into a tree that came from outside (an imported sysroot's `bin/`).
/// `root` itself must be a directory crossroot made.
pub fn own_dir(root: &Path, rel: &Path) -> Result<PathBuf, CacheError> {
    let mut path = root.to_path_buf();
    for part in std::iter::once(None).chain(rel.components().map(Some)) {
        if let Some(part) = part {
            path.push(part);
        }
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {}
            Ok(m) => {
                return Err(CacheError::NotOwnDir {
                    path,
                    found: if m.file_type().is_symlink() {
                        "a symbolic link"
                    } else {
                        "a file"
                    },
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&path).map_err(io_err("create", &path))?;
            }
            Err(e) => return Err(io_err("inspect", &path)(e)),
        }
    }
    Ok(path)
}

/// How an [`EntryLock`] holds its entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// One holder, who may create, fill or remove the entry (and its staging).
    Exclusive,
    /// Any number of holders, who need the entry to stay as it is: a build holds each package
    /// it built or reused this way until its sysroots are assembled.
    Shared,
}

/// The lock of one cache entry, across processes (`flock` on a `.lock` file beside the entry);
/// released on drop. Lock files are never removed: a process may have one open to lock it.
#[derive(Debug)]
pub struct EntryLock {
    file: File,
    path: PathBuf,
    mode: LockMode,
}

/// The lock file of the entry at `dir`: `<dir>.lock` (a name with a dot loses what follows
/// its last dot, as with [`Path::with_extension`]).
pub fn lock_path(dir: &Path) -> PathBuf {
    dir.with_extension("lock")
}

impl EntryLock {
    /// Takes the lock at `path` exclusively, saying so when it must wait.
    pub fn acquire(path: &Path, reporter: &dyn Reporter) -> Result<EntryLock, CacheError> {
        Self::acquire_as(path, LockMode::Exclusive, reporter)
    }

    /// Takes the lock at `path` shared, saying so when it must wait (for an exclusive holder).
    pub fn acquire_shared(path: &Path, reporter: &dyn Reporter) -> Result<EntryLock, CacheError> {
        Self::acquire_as(path, LockMode::Shared, reporter)
    }

    fn acquire_as(
        path: &Path,
        mode: LockMode,
        reporter: &dyn Reporter,
    ) -> Result<EntryLock, CacheError> {
        if let Some(lock) = Self::try_acquire(path, mode)? {
            return Ok(lock);
        }
        reporter.info(&format!(
            "waiting for lock on {} (another crossroot is working on it)",
            path.display()
        ));
        let file = open_lock_file(path)?;
        match mode {
            LockMode::Exclusive => file.lock(),
            LockMode::Shared => file.lock_shared(),
        }
        .map_err(io_err("lock", path))?;
        Ok(EntryLock {
            file,
            path: path.to_path_buf(),
            mode,
        })
    }

    /// Takes the lock at `path` if no one holds it in a conflicting mode; never waits.
    pub fn try_acquire(path: &Path, mode: LockMode) -> Result<Option<EntryLock>, CacheError> {
        let file = open_lock_file(path)?;
        let taken = match mode {
            LockMode::Exclusive => file.try_lock(),
            LockMode::Shared => file.try_lock_shared(),
        };
        match taken {
            Ok(()) => Ok(Some(EntryLock {
                file,
                path: path.to_path_buf(),
                mode,
            })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(io_err("lock", path)(e)),
        }
    }

    /// Turns an exclusive lock into a shared one. The kernel does not promise to do that in
    /// one step, so another process may take the lock in between: check the entry again.
    pub fn downgrade(&mut self) -> Result<(), CacheError> {
        if self.mode == LockMode::Exclusive {
            self.file
                .lock_shared()
                .map_err(io_err("lock", &self.path))?;
            self.mode = LockMode::Shared;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn mode(&self) -> LockMode {
        self.mode
    }
}

fn open_lock_file(path: &Path) -> Result<File, CacheError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err("create", parent))?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_err("open lock file", path))
}

/// A staging directory in the home: of a run in progress, or left by one that was killed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub path: PathBuf,
    /// What it stages: "package build", "sysroot", "toolchain", "import" ("staging" when the
    /// home itself holds it).
    pub kind: &'static str,
    pub bytes: u64,
    /// The lock its owner holds while it lives; `None` when crossroot cannot tell its owner.
    pub lock: Option<PathBuf>,
}

/// Whether a staging directory's owner is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftoverState {
    /// Its lock is held: a running crossroot is using it.
    InUse,
    /// Its lock is free: the run that made it was killed.
    Stale,
    /// It has no lock crossroot knows of.
    Unknown,
}

impl Leftover {
    /// Looks at the lock without taking it for longer than the look, and without creating it.
    pub fn state(&self) -> LeftoverState {
        let Some(lock) = &self.lock else {
            return LeftoverState::Unknown;
        };
        let Ok(file) = File::open(lock) else {
            // A lock file is made before the staging it guards: without one, no one holds it.
            return if lock.symlink_metadata().is_err() {
                LeftoverState::Stale
            } else {
                LeftoverState::Unknown
            };
        };
        match file.try_lock_shared() {
            Ok(()) => LeftoverState::Stale,
            Err(_) => LeftoverState::InUse,
        }
    }

    /// Removes the directory if its lock can be taken now; returns whether it did. A held lock
    /// or an unknown owner leaves it.
    pub fn sweep(&self) -> Result<bool, CacheError> {
        let Some(lock) = &self.lock else {
            return Ok(false);
        };
        let Some(_held) = EntryLock::try_acquire(lock, LockMode::Exclusive)? else {
            return Ok(false);
        };
        match fs::remove_dir_all(&self.path) {
            Ok(()) => Ok(true),
            // The run whose lock it was may have removed it in the meantime.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
            Err(e) => Err(io_err("remove", &self.path)(e)),
        }
    }
}

/// Every staging directory in the home, sorted by path:
///
/// - `.tmp-<entry>-<random>` beside the entry it stages (in `packages-v1/`,
///   `sysroots-v1/<triple>/`, `toolchains-v1/` or the home itself), guarded by that entry's
///   lock ([`new_staging`] is called holding it);
/// - `.import-<random>` in the home (`cache import`), guarded by `<dir>.lock` when it has one.
pub fn leftovers(home: &Home) -> Vec<Leftover> {
    let mut places = vec![
        (home.root().to_path_buf(), "staging"),
        (home.packages(), "package build"),
        (home.toolchains(), "toolchain"),
    ];
    if let Ok(rd) = fs::read_dir(home.sysroots()) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                places.push((e.path(), "sysroot"));
            }
        }
    }
    let mut out = Vec::new();
    for (dir, kind) in places {
        let Ok(rd) = fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            let mut kind = kind;
            let lock = if let Some(rest) = name.strip_prefix(STAGING_PREFIX) {
                // `<entry>-<random>`: tempfile's random part has no `-`.
                let Some((entry, _)) = rest.rsplit_once('-') else {
                    continue;
                };
                Some(lock_path(&dir.join(entry)))
            } else if name.starts_with(IMPORT_STAGING_PREFIX) && dir == home.root() {
                kind = "import";
                let own = lock_path(&path);
                own.exists().then_some(own)
            } else {
                continue;
            };
            out.push(Leftover {
                bytes: disk_usage(&path),
                path,
                kind,
                lock,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// How `cache import` names its staging directory in the home.
pub const IMPORT_STAGING_PREFIX: &str = ".import-";

/// Size of a file or a directory tree in bytes (not following links).
pub fn disk_usage(path: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    fs::read_dir(path)
        .map(|rd| rd.flatten().map(|e| disk_usage(&e.path())).sum())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Recording, Silent};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn init_creates_buckets_and_tag() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::new(tmp.path().join("h"));
        home.init().unwrap();
        for b in [
            "downloads-v1",
            "packages-v1",
            "sysroots-v1",
            "toolchains-v1",
            "logs",
        ] {
            assert!(home.root().join(b).is_dir(), "{b}");
        }
        let tag = fs::read_to_string(home.root().join("CACHEDIR.TAG")).unwrap();
        assert!(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55"));
        home.init().unwrap();
    }

    const OLD_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n# This directory is a cache of crossroot (static musl cross sysroots).\n";

    #[test]
    fn a_home_is_made_only_in_a_new_empty_or_crossroot_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let empty = tmp.path().join("empty");
        fs::create_dir(&empty).unwrap();
        Home::new(&empty).init().unwrap();
        assert_eq!(fs::read(empty.join(TAG)).unwrap(), OLD_TAG.as_bytes());

        // A home of an earlier crossroot, tagged with the same text.
        let old = tmp.path().join("old");
        fs::create_dir_all(old.join("downloads-v1/abc")).unwrap();
        fs::write(old.join(TAG), OLD_TAG).unwrap();
        Home::new(&old).init().unwrap();
        assert!(old.join("packages-v1").is_dir());

        // A tag another crossroot is writing right now does not make a directory foreign.
        let racing = tmp.path().join("racing");
        fs::create_dir(&racing).unwrap();
        fs::write(racing.join(format!("{TAG_STAGING}x1")), "").unwrap();
        Home::new(&racing).init().unwrap();

        let project = tmp.path().join("project");
        fs::create_dir_all(project.join("src")).unwrap();
        fs::write(project.join("Cargo.toml"), "[package]").unwrap();
        let err = Home::new(&project).init().unwrap_err().to_string();
        assert!(
            err.contains("is not a crossroot home: it is not empty (it holds Cargo.toml, src), and it has no CACHEDIR.TAG"),
            "{err}"
        );
        assert!(err.contains("pass --home"), "{err}");
        let names: Vec<_> = fs::read_dir(&project)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "nothing added: {names:?}");

        // Another program's cache (cargo's target directory has its own CACHEDIR.TAG).
        let target = tmp.path().join("target");
        fs::create_dir(&target).unwrap();
        fs::write(
            target.join(TAG),
            "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by cargo.\n",
        )
        .unwrap();
        let err = Home::new(&target).init().unwrap_err().to_string();
        assert!(err.contains("written by another program"), "{err}");

        let file = tmp.path().join("file");
        fs::write(&file, "x").unwrap();
        assert!(matches!(
            Home::new(&file).init(),
            Err(CacheError::HomeNotDir { .. })
        ));
    }

    #[test]
    fn clean_removes_crossroots_files_only_and_refuses_other_directories() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(Home::new(tmp.path().join("none")).clean().unwrap(), None);

        let home = Home::new(tmp.path().join("h"));
        home.init().unwrap();
        fs::write(home.downloads().join("f"), "12345").unwrap();
        fs::create_dir(home.root().join(".import-abc")).unwrap();
        let c = home.clean().unwrap().unwrap();
        assert!(c.removed_root && c.kept.is_empty(), "{c:?}");
        assert!(c.freed >= 5);
        assert!(!home.root().exists());

        // Files crossroot did not write stay, with the directory.
        home.init().unwrap();
        fs::write(home.root().join("notes.txt"), "mine").unwrap();
        fs::create_dir(home.root().join("work")).unwrap();
        let c = home.clean().unwrap().unwrap();
        assert_eq!(c.kept, ["notes.txt", "work"]);
        assert!(!c.removed_root);
        let mut left: Vec<_> = fs::read_dir(home.root())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["notes.txt", "work"]);

        // Now untagged and not empty: refused, nothing removed.
        let err = home.clean().unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "not cleaning {}: crossroot did not create it (it has no CACHEDIR.TAG)",
                home.root().display()
            )),
            "{err}"
        );
        fs::create_dir(home.root().join("downloads-v1")).unwrap();
        assert!(home.clean().is_err());
        assert!(home.root().join("downloads-v1").is_dir());
        assert!(home.root().join("notes.txt").is_file());
    }

    #[test]
    fn marker_must_match_key_and_version() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(!is_complete(tmp.path(), "k1"));
        mark_complete(tmp.path(), "k1").unwrap();
        assert!(is_complete(tmp.path(), "k1"));
        assert!(!is_complete(tmp.path(), "k2"));
        fs::write(tmp.path().join(MARKER), r#"{"version":999,"key":"k1"}"#).unwrap();
        assert!(!is_complete(tmp.path(), "k1"));
        fs::write(tmp.path().join(MARKER), "garbage").unwrap();
        assert!(!is_complete(tmp.path(), "k1"));
    }

    #[test]
    fn write_if_changed_keeps_mtime() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("w");
        assert!(write_if_changed(&p, b"a").unwrap());
        let m1 = fs::metadata(&p).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert!(!write_if_changed(&p, b"a").unwrap());
        assert_eq!(fs::metadata(&p).unwrap().modified().unwrap(), m1);
        assert!(write_if_changed(&p, b"b").unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"b");
    }

    #[test]
    fn lock_is_exclusive_and_says_it_waits() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("entry.lock");
        let first = EntryLock::acquire(&path, &Silent).unwrap();
        let rec = Arc::new(Recording::default());
        let (p2, r2) = (path.clone(), rec.clone());
        let waiter = std::thread::spawn(move || {
            let _l = EntryLock::acquire(&p2, r2.as_ref()).unwrap();
            std::time::Instant::now()
        });
        std::thread::sleep(Duration::from_millis(200));
        let released = std::time::Instant::now();
        drop(first);
        let acquired = waiter.join().unwrap();
        assert!(
            acquired >= released,
            "second lock taken while the first was held"
        );
        assert!(
            rec.lines()
                .iter()
                .any(|l| l.contains("waiting for lock on")),
            "{:?}",
            rec.lines()
        );
    }

    #[test]
    fn shared_locks_share_keep_out_an_exclusive_one_and_downgrade() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("k.lock");
        let try_as = |mode| EntryLock::try_acquire(&path, mode).unwrap();
        let a = try_as(LockMode::Shared).unwrap();
        let b = try_as(LockMode::Shared).unwrap();
        assert_eq!(a.mode(), LockMode::Shared);
        assert!(
            try_as(LockMode::Exclusive).is_none(),
            "exclusive beside readers"
        );
        drop((a, b));
        let mut writer = try_as(LockMode::Exclusive).unwrap();
        assert!(try_as(LockMode::Shared).is_none(), "reader beside a writer");
        writer.downgrade().unwrap();
        assert_eq!(writer.mode(), LockMode::Shared);
        assert!(try_as(LockMode::Shared).is_some());
        assert!(try_as(LockMode::Exclusive).is_none());
        drop(writer);
        assert!(try_as(LockMode::Exclusive).is_some());
    }

    #[test]
    fn leftovers_are_found_with_their_locks_and_swept_only_when_free() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::new(tmp.path().join("h"));
        home.init().unwrap();
        let key = "ab".repeat(32);
        let build = home.packages().join(format!(".tmp-{key}-Xy12Zq"));
        let sysroot = home
            .sysroots()
            .join("aarch64-linux-musl/.tmp-0123456789abcdef-Ab3dEf");
        let toolchain = home
            .toolchains()
            .join(".tmp-zig-0.14.1-x86_64-linux-Qw9eRt");
        let import = home.root().join(".import-Zx8cVb");
        for d in [&build, &sysroot, &toolchain, &import] {
            fs::create_dir_all(d.join("sub")).unwrap();
            fs::write(d.join("sub/f"), b"12345").unwrap();
        }
        // Not staging: finished entries, lock files, other dot-files.
        fs::create_dir_all(home.packages().join(&key)).unwrap();
        fs::write(home.packages().join(format!("{key}.lock")), b"").unwrap();
        fs::create_dir_all(home.packages().join(".hidden")).unwrap();

        let found = leftovers(&home);
        let paths: Vec<&Path> = found.iter().map(|l| l.path.as_path()).collect();
        let mut want = vec![
            import.as_path(),
            build.as_path(),
            sysroot.as_path(),
            toolchain.as_path(),
        ];
        want.sort();
        assert_eq!(paths, want);
        let of = |p: &Path| found.iter().find(|l| l.path == p).unwrap().clone();
        assert_eq!(
            of(&build).lock,
            Some(home.packages().join(format!("{key}.lock")))
        );
        assert_eq!(of(&build).kind, "package build");
        assert_eq!(of(&build).bytes, 5);
        assert_eq!(
            of(&sysroot).lock,
            Some(
                home.sysroots()
                    .join("aarch64-linux-musl/0123456789abcdef.lock")
            )
        );
        // The toolchain's lock is where `begin_toolchain_dir` takes it.
        let entry = home.toolchains().join("zig-0.14.1-x86_64-linux");
        assert_eq!(of(&toolchain).lock, Some(entry.with_extension("lock")));
        assert_eq!(of(&import).kind, "import");
        assert_eq!(of(&import).state(), LeftoverState::Unknown);
        assert!(
            !of(&import).sweep().unwrap(),
            "an import nobody can vouch for"
        );

        let held =
            EntryLock::acquire(&home.packages().join(format!("{key}.lock")), &Silent).unwrap();
        assert_eq!(of(&build).state(), LeftoverState::InUse);
        assert!(!of(&build).sweep().unwrap());
        assert!(build.is_dir(), "a live build's staging was removed");
        drop(held);
        assert_eq!(of(&build).state(), LeftoverState::Stale);
        assert!(of(&build).sweep().unwrap());
        assert!(!build.exists());
        // No lock file at all: no run ever held it.
        assert_eq!(of(&sysroot).state(), LeftoverState::Stale);
        assert!(of(&sysroot).sweep().unwrap());
        assert!(!sysroot.exists());
        // Once an import's staging has its own lock, it is judged by it.
        fs::write(lock_path(&import), b"").unwrap();
        let import_left = leftovers(&home)
            .into_iter()
            .find(|l| l.path == import)
            .unwrap();
        assert_eq!(import_left.lock, Some(lock_path(&import)));
        assert!(import_left.sweep().unwrap());
        assert!(home.packages().join(&key).is_dir());
    }

    #[test]
    fn remove_incomplete_handles_missing_and_present() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("entry");
        remove_incomplete(&d).unwrap();
        fs::create_dir_all(d.join("lib")).unwrap();
        fs::write(d.join("lib/x.a"), b"x").unwrap();
        assert_eq!(disk_usage(&d), 1);
        remove_incomplete(&d).unwrap();
        assert!(!d.exists());
    }
}
