//! Assembling a sysroot from built packages: one tree of headers, static libraries and
//! relocatable `.pc` files, with per-triple wrappers and a manifest, moved into place whole.

pub mod pc;

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::build::{HostTools, PACKAGE_RECORD, PackageRecord, merge_tree};
use crate::cache::{self, EntryLock, Home};
use crate::plan::{BuildOptions, TargetPlan};
use crate::report::Reporter;
use crate::target::Target;
use crate::toolchain::{self, Toolchain, ToolchainId};

/// Manifest file name in a sysroot's root.
pub const MANIFEST: &str = "manifest.json";

#[derive(Debug, thiserror::Error)]
pub enum SysrootError {
    #[error(
        "no sysroot is built for {target}{what}; run `crossroot build --target {target}{packages}` first"
    )]
    NotBuilt {
        target: String,
        what: String,
        packages: String,
    },
    #[error("package {name} for {target} is not in the store ({dir}); run `crossroot build` again")]
    MissingPackage {
        name: String,
        target: String,
        dir: PathBuf,
    },
    #[error("could not {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the manifest {path} is damaged; run `crossroot build` again")]
    Manifest {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} exists and is not a crossroot sysroot (no {MANIFEST}); not replacing it")]
    PrefixTaken { path: PathBuf },
    #[error(transparent)]
    Cache(#[from] cache::CacheError),
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SysrootError {
    let path = path.to_path_buf();
    move |source| SysrootError::Io {
        action,
        path,
        source,
    }
}

/// What a sysroot holds, written to `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub crossroot_version: String,
    pub target: String,
    pub key: String,
    pub toolchain: ToolchainId,
    pub toolchain_exe: PathBuf,
    pub options: BuildOptions,
    pub packages: Vec<PackageRecord>,
}

/// A finished sysroot.
#[derive(Debug, Clone)]
pub struct Sysroot {
    pub dir: PathBuf,
    pub target: &'static Target,
    pub key: String,
}

impl Sysroot {
    pub fn manifest(&self) -> Result<Manifest, SysrootError> {
        let path = self.dir.join(MANIFEST);
        let text = fs::read(&path).map_err(io_err("read", &path))?;
        serde_json::from_slice(&text).map_err(|source| SysrootError::Manifest { path, source })
    }
}

/// `<home>/sysroots-v1/<triple>/<first 16 hex digits of the key>`.
pub fn sysroot_dir(home: &Home, target: &Target, key: &str) -> PathBuf {
    home.sysroots()
        .join(target.triple)
        .join(&key[..16.min(key.len())])
}

/// The link to the sysroot built last for a target with zig.
pub fn current_link(home: &Home, target: &Target) -> PathBuf {
    home.sysroots().join(target.triple).join("current")
}

/// The link to the sysroot built last for a target with the toolchain `choice` (`zig`, `gcc`,
/// a prebuilt recipe's name): `current` for zig, `current-<choice>` for the others.
pub fn current_link_for(home: &Home, target: &Target, choice: &str) -> PathBuf {
    if choice == "zig" {
        current_link(home, target)
    } else {
        home.sysroots()
            .join(target.triple)
            .join(format!("current-{choice}"))
    }
}

/// The error that says which `build` makes the sysroot a command needs.
pub fn not_built(target: &Target, packages: &[String]) -> SysrootError {
    SysrootError::NotBuilt {
        target: target.triple.to_string(),
        what: if packages.is_empty() {
            String::new()
        } else {
            format!(" with {}", packages.join(", "))
        },
        packages: packages.iter().map(|p| format!(" {p}")).collect(),
    }
}

/// The sysroot for `key`, or for the one built last (with zig) when `key` is `None`.
pub fn find(
    home: &Home,
    target: &'static Target,
    key: Option<&str>,
    packages_hint: &[String],
) -> Result<Sysroot, SysrootError> {
    find_for(home, target, key, packages_hint, "zig")
}

/// The sysroot for `key`, or for the one built last with the toolchain `choice`.
pub fn find_for(
    home: &Home,
    target: &'static Target,
    key: Option<&str>,
    packages_hint: &[String],
    choice: &str,
) -> Result<Sysroot, SysrootError> {
    let not_built = || {
        let mut e = not_built(target, packages_hint);
        if choice != "zig"
            && let SysrootError::NotBuilt { what, packages, .. } = &mut e
        {
            *what = format!("{what} with the {choice} toolchain");
            *packages = format!(" --toolchain {choice}{packages}");
        }
        e
    };
    let (dir, key) = match key {
        Some(k) => (sysroot_dir(home, target, k), k.to_string()),
        None => {
            let link = current_link_for(home, target, choice);
            let dir = fs::canonicalize(&link).map_err(|_| not_built())?;
            let key = fs::read_to_string(dir.join(cache::MARKER))
                .ok()
                .and_then(|t| serde_json::from_str::<cache::Marker>(&t).ok())
                .map(|m| m.key)
                .ok_or_else(not_built)?;
            (dir, key)
        }
    };
    if !cache::is_complete(&dir, &key) {
        return Err(not_built());
    }
    Ok(Sysroot { dir, target, key })
}

/// Assembles (or finds, when it exists) the sysroot of one target plan. Every package must
/// be in the store already.
pub fn assemble(
    home: &Home,
    tp: &TargetPlan,
    toolchain: &Toolchain,
    tools: &HostTools,
    options: &BuildOptions,
    reporter: &dyn Reporter,
) -> Result<Sysroot, SysrootError> {
    let target = tp.target;
    let dir = sysroot_dir(home, target, &tp.sysroot_key);
    let parent = dir
        .parent()
        .expect("sysroot dir has a parent")
        .to_path_buf();
    fs::create_dir_all(&parent).map_err(io_err("create", &parent))?;
    let _lock = EntryLock::acquire(&dir.with_extension("lock"), reporter)?;
    if !cache::is_complete(&dir, &tp.sysroot_key) {
        cache::remove_incomplete(&dir)?;
        // Named after the entry, so a killed run's staging is found and removed under its lock.
        let name = dir
            .file_name()
            .expect("sysroot dir has a name")
            .to_string_lossy();
        let staging = cache::new_staging(&parent, &name)
            .map_err(io_err("create a staging directory in", &parent))?;
        let root = staging.path();
        let mut records = Vec::new();
        for pkg in &tp.packages {
            let pdir = home.packages().join(&pkg.key);
            if !cache::is_complete(&pdir, &pkg.key) {
                return Err(SysrootError::MissingPackage {
                    name: pkg.recipe.name.clone(),
                    target: target.triple.to_string(),
                    dir: pdir,
                });
            }
            merge_tree(&pdir, root).map_err(io_err("link files from", &pdir))?;
            let rec_path = pdir.join(PACKAGE_RECORD);
            let text = fs::read(&rec_path).map_err(io_err("read", &rec_path))?;
            let rec: PackageRecord =
                serde_json::from_slice(&text).map_err(|source| SysrootError::Manifest {
                    path: rec_path.clone(),
                    source,
                })?;
            records.push(rec);
        }
        write_wrappers(root, target, toolchain, tools, home)?;
        let manifest = Manifest {
            crossroot_version: env!("CARGO_PKG_VERSION").to_string(),
            target: target.triple.to_string(),
            key: tp.sysroot_key.clone(),
            toolchain: tp.toolchain.clone(),
            toolchain_exe: toolchain.exe(target),
            options: options.clone(),
            packages: records,
        };
        cache::write_atomic(
            &root.join(MANIFEST),
            &serde_json::to_vec_pretty(&manifest).expect("manifest serializes"),
        )?;
        let staged = staging.keep();
        fs::rename(&staged, &dir).map_err(io_err("move the sysroot to", &dir))?;
        cache::mark_complete(&dir, &tp.sysroot_key)?;
    }
    set_current(home, target, &toolchain.choice(), &dir)?;
    Ok(Sysroot {
        dir,
        target,
        key: tp.sysroot_key.clone(),
    })
}

/// Writes `bin/<triple>-{cc,c++,ar,ranlib,pkg-config}` into a sysroot.
pub fn write_wrappers(
    root: &Path,
    target: &Target,
    toolchain: &Toolchain,
    tools: &HostTools,
    home: &Home,
) -> Result<(), SysrootError> {
    let mut wrappers = toolchain.wrappers(target, home);
    wrappers.push((
        format!("{}-pkg-config", target.triple),
        toolchain::pkg_config_wrapper(&tools.pkg_config, target.triple, "lib/pkgconfig"),
    ));
    // An imported sysroot's `bin` came from a bundle: never write through a link there.
    let bin = cache::own_dir(root, Path::new("bin"))?;
    toolchain::write_wrappers(&bin, &wrappers)?;
    Ok(())
}

/// Points the toolchain's `current` link at `dir` with one rename, so readers never see it
/// missing.
pub fn set_current(
    home: &Home,
    target: &Target,
    choice: &str,
    dir: &Path,
) -> Result<(), SysrootError> {
    let link = current_link_for(home, target, choice);
    let name = dir.file_name().expect("sysroot dir has a name");
    if fs::read_link(&link).is_ok_and(|t| t == Path::new(name)) {
        return Ok(());
    }
    let tmp = link.with_extension(format!("tmp-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(name, &tmp).map_err(io_err("create link", &tmp))?;
    fs::rename(&tmp, &link).map_err(io_err("replace link", &link))?;
    Ok(())
}

/// Copies a sysroot to a fixed path (`--prefix`), for images that `COPY --from=` it. The copy
/// is staged beside `dest` and renamed in; a previous copy there is replaced, anything else
/// is refused. The wrappers keep working: pkg-config finds its root from `$0`, the compiler
/// wrappers name zig by absolute path. Returns whether it copied.
pub fn install_copy(s: &Sysroot, dest: &Path) -> Result<bool, SysrootError> {
    if cache::is_complete(dest, &s.key) {
        return Ok(false);
    }
    let occupied = fs::read_dir(dest).is_ok_and(|mut rd| rd.next().is_some());
    if occupied && !dest.join(MANIFEST).is_file() {
        return Err(SysrootError::PrefixTaken {
            path: dest.to_path_buf(),
        });
    }
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io_err("create", &parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".crossroot-")
        .tempdir_in(&parent)
        .map_err(io_err("create a staging directory in", &parent))?;
    let new = staging.path().join("new");
    copy_tree(&s.dir, &new).map_err(io_err("copy the sysroot to", &new))?;
    if fs::symlink_metadata(dest).is_ok() {
        fs::rename(dest, staging.path().join("old")).map_err(io_err("move aside", dest))?;
    }
    fs::rename(&new, dest).map_err(io_err("move the sysroot to", dest))?;
    cache::mark_complete(dest, &s.key)?;
    Ok(true)
}

/// Copies files (not hard links: the copy may go into another layer or file system), keeping
/// modes and symlinks; the completion marker is left for the caller to write last.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == cache::MARKER {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        let ty = entry.file_type()?;
        if ty.is_dir() {
            copy_tree(&src, &dst)?;
        } else if ty.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src)?, &dst)?;
        } else {
            fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_toolchain_has_its_current_link_and_says_how_to_build_it() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::new(tmp.path().to_path_buf());
        let t = Target::parse("linux/arm64").unwrap();
        assert_eq!(
            current_link_for(&home, t, "zig"),
            home.sysroots().join("aarch64-linux-musl/current")
        );
        assert_eq!(
            current_link_for(&home, t, "gcc"),
            home.sysroots().join("aarch64-linux-musl/current-gcc")
        );
        let err = find_for(&home, t, None, &["curl".into()], "gcc")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "no sysroot is built for aarch64-linux-musl with curl with the gcc toolchain; run `crossroot build --target aarch64-linux-musl --toolchain gcc curl` first"
        );
        let err = find(&home, t, None, &[]).unwrap_err().to_string();
        assert_eq!(
            err,
            "no sysroot is built for aarch64-linux-musl; run `crossroot build --target aarch64-linux-musl` first"
        );
    }
}
