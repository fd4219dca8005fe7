//! The package store: every built package by its key, in the home's `packages-v1/`.
//!
//! Build writes into it, sysroot assembly reads from it, bundles and the registry cache fill it,
//! and `cache` commands manage it. An entry is `<key>/` with the package's tree, its
//! [`PackageRecord`] and the completion marker (written last); `<key>.lock` guards it.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cache::{self, CacheError, EntryLock, Home};
use crate::plan::BuildOptions;
use crate::report::Reporter;

/// What the package store keeps beside each built package.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PackageRecord {
    pub name: String,
    pub version: String,
    pub license: String,
    pub homepage: String,
    pub target: String,
    pub key: String,
    pub source_file: String,
    pub source_sha256: String,
    pub source_origin: String,
    /// The recipe's upstream URLs for the source file (absent in records before SBOMs).
    #[serde(default)]
    pub source_urls: Vec<String>,
    /// Names of the packages this one was built against (absent in older records).
    #[serde(default)]
    pub dependencies: Vec<String>,
    pub toolchain: crate::toolchain::ToolchainId,
    pub options: BuildOptions,
    pub build_system: crate::recipe::BuildSystem,
    pub build_args: Vec<String>,
    pub seconds: f64,
}

/// File name of the record inside a package directory.
pub const PACKAGE_RECORD: &str = ".crossroot-package.json";

/// Links (or copies) every file under `from` into `to`, creating directories.
pub fn merge_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(".crossroot") {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        let ty = entry.file_type()?;
        if ty.is_dir() {
            fs::create_dir_all(&dst)?;
            merge_tree(&src, &dst)?;
        } else if ty.is_symlink() {
            let target = fs::read_link(&src)?;
            let _ = fs::remove_file(&dst);
            std::os::unix::fs::symlink(target, &dst)?;
        } else {
            let _ = fs::remove_file(&dst);
            if fs::hard_link(&src, &dst).is_err() {
                fs::copy(&src, &dst)?;
            }
        }
    }
    Ok(())
}

/// The home's packages, by key.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// What [`Store::install`] did with a staged package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    /// The staged tree is now the entry.
    New,
    /// A complete entry was already there (another run put it in); the staged tree is left.
    Kept,
}

impl Store {
    pub fn new(home: &Home) -> Self {
        Store {
            dir: home.packages(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn package_dir(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    pub fn lock_path(&self, key: &str) -> PathBuf {
        cache::lock_path(&self.package_dir(key))
    }

    /// True when the entry for `key` is there with its marker.
    pub fn is_complete(&self, key: &str) -> bool {
        cache::is_complete(&self.package_dir(key), key)
    }

    /// The entry's exclusive lock (says so while it waits).
    pub fn lock(&self, key: &str, reporter: &dyn Reporter) -> Result<EntryLock, CacheError> {
        fs::create_dir_all(&self.dir).map_err(cache::io_err("create", &self.dir))?;
        EntryLock::acquire(&self.lock_path(key), reporter)
    }

    /// The record beside a package, if it is there and readable.
    pub fn record(&self, key: &str) -> Option<PackageRecord> {
        let text = cache::read_nofollow(&self.package_dir(key).join(PACKAGE_RECORD)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// A staging directory for `key` beside the entries (same file system, so the install is
    /// one rename); stale ones of killed runs are removed first. Call it holding the lock.
    pub fn staging(&self, key: &str) -> std::io::Result<tempfile::TempDir> {
        fs::create_dir_all(&self.dir)?;
        cache::new_staging(&self.dir, key)
    }

    /// Moves a checked, staged package tree into place, marker last. Call it holding the
    /// entry's lock (see [`Store::lock`]): a complete entry is kept, an incomplete one replaced.
    pub fn install(&self, staged: &Path, key: &str) -> Result<Installed, CacheError> {
        let dest = self.package_dir(key);
        if cache::is_complete(&dest, key) {
            return Ok(Installed::Kept);
        }
        cache::remove_incomplete(&dest)?;
        fs::rename(staged, &dest).map_err(cache::io_err("move the package to", &dest))?;
        cache::mark_complete(&dest, key)?;
        Ok(Installed::New)
    }
}
