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
        "{path} is {found}, not a directory crossroot made: it writes only into its own directories, never through a link"
    )]
    NotOwnDir { path: PathBuf, found: &'static str },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> CacheError {
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

    /// Creates the buckets and the `CACHEDIR.TAG` that tells backup tools to skip the home.
    pub fn init(&self) -> Result<(), CacheError> {
        for dir in [
            self.root.clone(),
            self.downloads(),
            self.packages(),
            self.sysroots(),
            self.toolchains(),
            self.logs(),
        ] {
            fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        }
        let tag = self.root.join("CACHEDIR.TAG");
        if !tag.exists() {
            write_atomic(
                &tag,
                b"Signature: 8a477f597d28d172789f06886806bc55\n# This directory is a cache of crossroot (static musl cross sysroots).\n",
            )?;
        }
        Ok(())
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

/// An exclusive lock on one cache entry, across processes; released on drop.
#[derive(Debug)]
pub struct EntryLock {
    _file: File,
    path: PathBuf,
}

impl EntryLock {
    /// Takes the lock at `path` (a `.lock` file beside the entry), saying so when it must wait.
    pub fn acquire(path: &Path, reporter: &dyn Reporter) -> Result<EntryLock, CacheError> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io_err("open lock file", path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                reporter.info(&format!(
                    "waiting for lock on {} (another crossroot is working on it)",
                    path.display()
                ));
                file.lock().map_err(io_err("lock", path))?;
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_err("lock", path)(e)),
        }
        Ok(EntryLock {
            _file: file,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

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
