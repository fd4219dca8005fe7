//! Assembling a sysroot from built packages: one tree of headers, static libraries and
//! relocatable `.pc` files, with per-triple wrappers and a manifest, moved into place whole.

pub use crate::pc;

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cache::{self, EntryLock, Home};
use crate::host::HostTools;
use crate::plan::{BuildOptions, TargetPlan};
use crate::report::Reporter;
use crate::store::{PACKAGE_RECORD, PackageRecord, merge_tree};
use crate::target::Target;
use crate::toolchain::{self, Toolchain, ToolchainId};

/// Manifest file name in a sysroot's root.
pub const MANIFEST: &str = "manifest.json";
/// The marker crossroot writes into every prefix it installs (`build --prefix`): only a
/// directory with a valid one of these is ever replaced.
pub const PREFIX_MARKER: &str = ".crossroot-prefix";
/// What a prefix marker's `written_by` says.
const PREFIX_WRITER: &str = "crossroot";
/// Bumped when the marker's meaning changes; a marker of another version is not replaced.
const PREFIX_VERSION: u32 = 1;

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
    #[error(
        "not installing into {path}: {why}; crossroot replaces only a prefix it wrote itself (one with its {PREFIX_MARKER}) or an empty directory: remove it (rm -r {path}) if nothing in it is needed, or choose another --prefix",
        path = path.display()
    )]
    PrefixTaken { path: PathBuf, why: String },
    #[error(
        "--prefix {path} {problem}, which the build tools cannot carry: pkg-config prints the sysroot's path and configure scripts and Makefiles paste it unquoted; choose a prefix whose path has only {rule}",
        path = path.display(),
        rule = crate::shell::path_rule()
    )]
    UnsafePrefix {
        path: PathBuf,
        problem: crate::shell::UnsafePath,
    },
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
            let pdir = crate::store::Store::new(home).package_dir(&pkg.key);
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

/// `build --prefix`'s marker: written into the staged copy, so it arrives with the copy in one
/// rename; it lists every file and link of the copy, so that a replacement removes only those.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixMarker {
    /// Always `crossroot`.
    pub written_by: String,
    pub version: u32,
    pub target: String,
    /// The sysroot's key.
    pub key: String,
    /// Every file and link of the copy, relative to it (directories are implied).
    pub files: Vec<String>,
}

/// What `build --prefix` will do at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixAction {
    /// Nothing is there, or an empty directory: the copy goes in.
    Install,
    /// A copy crossroot installed of another sysroot, holding only the files it wrote.
    Replace,
    /// A copy crossroot installed of this very sysroot (`key`): nothing to do.
    Keep,
}

/// Judges `dest` for `build --prefix` of the sysroot `key`, before anything is built: a path
/// the build tools can carry, and nothing there but an empty directory or a copy crossroot
/// installed (replaced only when every file in it is one crossroot wrote). Everything else is
/// refused, naming what was found.
pub fn check_prefix(dest: &Path, key: &str) -> Result<PrefixAction, SysrootError> {
    check_prefix_path(dest)?;
    let taken = |why: String| SysrootError::PrefixTaken {
        path: dest.to_path_buf(),
        why,
    };
    match fs::symlink_metadata(dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(PrefixAction::Install),
        Err(e) => return Err(io_err("inspect", dest)(e)),
        Ok(m) if m.file_type().is_symlink() => {
            return Err(taken(
                "it is a symbolic link, and crossroot does not replace or write through links it did not make".into(),
            ));
        }
        Ok(m) if !m.is_dir() => return Err(taken("it is a file, not a directory".into())),
        Ok(_) => {}
    }
    let marker_path = dest.join(PREFIX_MARKER);
    match fs::symlink_metadata(&marker_path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut names: Vec<String> = fs::read_dir(dest)
                .map_err(io_err("read", dest))?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            if names.is_empty() {
                return Ok(PrefixAction::Install);
            }
            names.sort();
            let older = if dest.join(MANIFEST).is_file() && dest.join(cache::MARKER).is_file() {
                " (it may be a copy made by a crossroot older than prefix markers)"
            } else {
                ""
            };
            Err(taken(format!(
                "it is a directory that crossroot did not write: it holds {} and has no {PREFIX_MARKER}{older}",
                cache::list_names(&names)
            )))
        }
        Err(e) => Err(io_err("inspect", &marker_path)(e)),
        Ok(m) if !m.is_file() => Err(taken(format!("its {PREFIX_MARKER} is not a regular file"))),
        Ok(_) => {
            let marker = read_prefix_marker(&marker_path).map_err(taken)?;
            if marker.key == key {
                return Ok(PrefixAction::Keep);
            }
            let listed: std::collections::BTreeSet<&str> =
                marker.files.iter().map(String::as_str).collect();
            let mut foreign = Vec::new();
            for file in tree_files(dest).map_err(io_err("read", dest))? {
                if file != PREFIX_MARKER && !listed.contains(file.as_str()) {
                    foreign.push(file);
                }
            }
            if !foreign.is_empty() {
                return Err(taken(format!(
                    "crossroot installed it, but {} crossroot did not write {} been added since ({}), and replacing it would remove them; move {} out first",
                    if foreign.len() == 1 {
                        "a file"
                    } else {
                        "files"
                    },
                    if foreign.len() == 1 { "has" } else { "have" },
                    cache::list_names(&foreign),
                    if foreign.len() == 1 { "it" } else { "them" },
                )));
            }
            Ok(PrefixAction::Replace)
        }
    }
}

/// Checks that the build tools can carry `dest` (see [`crate::shell::check_path`]).
pub fn check_prefix_path(dest: &Path) -> Result<(), SysrootError> {
    crate::shell::check_path(dest).map_err(|problem| SysrootError::UnsafePrefix {
        path: dest.to_path_buf(),
        problem,
    })
}

/// The prefix marker at `path`, or why it is not one this crossroot can trust.
fn read_prefix_marker(path: &Path) -> Result<PrefixMarker, String> {
    let text = fs::read(path).map_err(|e| format!("its {PREFIX_MARKER} cannot be read: {e}"))?;
    let marker: PrefixMarker = serde_json::from_slice(&text)
        .map_err(|e| format!("its {PREFIX_MARKER} is not crossroot's prefix marker ({e})"))?;
    if marker.written_by != PREFIX_WRITER {
        return Err(format!(
            "its {PREFIX_MARKER} says it was written by `{}`",
            marker.written_by
        ));
    }
    if marker.version != PREFIX_VERSION {
        return Err(format!(
            "its {PREFIX_MARKER} is of version {}, which this crossroot (version {PREFIX_VERSION}) does not know",
            marker.version
        ));
    }
    let bad_key = marker.key.len() != 64 || !marker.key.bytes().all(|b| b.is_ascii_hexdigit());
    let bad_file = marker.files.iter().any(|f| {
        let p = Path::new(f);
        f.is_empty()
            || !p
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
    });
    if bad_key || bad_file {
        return Err(format!("its {PREFIX_MARKER} is damaged"));
    }
    Ok(marker)
}

/// Copies a sysroot to a fixed path (`--prefix`), for images that `COPY --from=` it. The copy
/// is staged beside `dest`, marked, and renamed in; what was at `dest` must pass
/// [`check_prefix`] (checked again here). The wrappers keep working: pkg-config finds its root
/// from `$0`, the compiler wrappers name zig by absolute path. Returns whether it copied.
pub fn install_copy(s: &Sysroot, dest: &Path) -> Result<bool, SysrootError> {
    let action = check_prefix(dest, &s.key)?;
    if action == PrefixAction::Keep {
        return Ok(false);
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
    let marker = PrefixMarker {
        written_by: PREFIX_WRITER.into(),
        version: PREFIX_VERSION,
        target: s.target.triple.into(),
        key: s.key.clone(),
        files: tree_files(&new).map_err(io_err("read", &new))?,
    };
    cache::write_atomic(
        &new.join(PREFIX_MARKER),
        &serde_json::to_vec_pretty(&marker).expect("prefix marker serializes"),
    )?;
    // An empty directory is replaced by the rename itself; a copy of crossroot's, whose files
    // check_prefix found all listed in its marker, is moved aside and removed with the staging.
    if action == PrefixAction::Replace {
        fs::rename(dest, staging.path().join("old")).map_err(io_err("move aside", dest))?;
    }
    fs::rename(&new, dest).map_err(io_err("move the sysroot to", dest))?;
    Ok(true)
}

/// Every file and link under `dir`, relative to it, sorted; directories are walked, not listed.
fn tree_files(dir: &Path) -> std::io::Result<Vec<String>> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) -> std::io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if entry.file_type()?.is_dir() {
                walk(&entry.path(), &rel, out)?;
            } else {
                out.push(rel);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort();
    Ok(out)
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

    const KEY_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const KEY_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    /// A sysroot directory with `files` (relative path, text) and a link `lib/link.a`.
    fn fake_sysroot(dir: &Path, key: &str, files: &[(&str, &str)]) -> Sysroot {
        for (rel, text) in files {
            let p = dir.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        std::os::unix::fs::symlink("libx.a", dir.join("lib/link.a")).unwrap();
        cache::mark_complete(dir, key).unwrap();
        Sysroot {
            dir: dir.to_path_buf(),
            target: Target::parse("linux/arm64").unwrap(),
            key: key.into(),
        }
    }

    fn taken(dest: &Path, key: &str) -> String {
        match check_prefix(dest, key) {
            Err(e @ SysrootError::PrefixTaken { .. }) => e.to_string(),
            other => panic!("{}: {other:?}", dest.display()),
        }
    }

    #[test]
    fn a_prefix_is_installed_marked_kept_and_replaced_only_when_all_its_files_are_crossroots() {
        let tmp = tempfile::tempdir().unwrap();
        let a = fake_sysroot(
            &tmp.path().join("a"),
            KEY_A,
            &[("lib/libx.a", "a"), ("include/x.h", "a"), (MANIFEST, "{}")],
        );
        let b = fake_sysroot(&tmp.path().join("b"), KEY_B, &[("lib/libx.a", "b")]);
        let dest = tmp.path().join("opt/sys");
        assert_eq!(check_prefix(&dest, KEY_A).unwrap(), PrefixAction::Install);
        assert!(install_copy(&a, &dest).unwrap());
        let marker: PrefixMarker =
            serde_json::from_slice(&fs::read(dest.join(PREFIX_MARKER)).unwrap()).unwrap();
        assert_eq!(marker.written_by, "crossroot");
        assert_eq!(marker.key, KEY_A);
        assert_eq!(marker.target, "aarch64-linux-musl");
        assert_eq!(
            marker.files,
            ["include/x.h", "lib/libx.a", "lib/link.a", "manifest.json"]
        );
        // The home's completion marker is not copied: the prefix has its own.
        assert!(!dest.join(cache::MARKER).exists());
        assert!(
            fs::symlink_metadata(dest.join("lib/link.a"))
                .unwrap()
                .is_symlink()
        );
        assert!(!install_copy(&a, &dest).unwrap(), "same key: nothing to do");

        // A file of the user's in it: kept as it is for the same key, refused for another.
        fs::write(dest.join("include/mine.h"), "mine").unwrap();
        assert!(!install_copy(&a, &dest).unwrap());
        let err = install_copy(&b, &dest).unwrap_err().to_string();
        assert!(err.contains("include/mine.h"), "{err}");
        assert!(err.contains("move it out first"), "{err}");
        assert_eq!(
            fs::read_to_string(dest.join("include/mine.h")).unwrap(),
            "mine"
        );
        fs::remove_file(dest.join("include/mine.h")).unwrap();

        // Only crossroot's files: replaced by the other sysroot, and nothing of the old stays.
        assert_eq!(check_prefix(&dest, KEY_B).unwrap(), PrefixAction::Replace);
        assert!(install_copy(&b, &dest).unwrap());
        assert_eq!(fs::read_to_string(dest.join("lib/libx.a")).unwrap(), "b");
        assert!(!dest.join("include/x.h").exists());
        let left: Vec<_> = fs::read_dir(tmp.path().join("opt"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["sys"], "no staging left beside the prefix");
    }

    #[test]
    fn anything_else_at_the_prefix_is_refused_and_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let a = fake_sysroot(&tmp.path().join("a"), KEY_A, &[("lib/libx.a", "a")]);

        // An empty directory is taken.
        let empty = tmp.path().join("empty");
        fs::create_dir(&empty).unwrap();
        assert_eq!(check_prefix(&empty, KEY_A).unwrap(), PrefixAction::Install);
        assert!(install_copy(&a, &empty).unwrap());

        // The reviewer's case: a manifest.json is no longer enough.
        let w = tmp.path().join("w");
        fs::create_dir(&w).unwrap();
        fs::write(w.join(MANIFEST), "{}").unwrap();
        fs::write(w.join("important.txt"), "x").unwrap();
        let err = taken(&w, KEY_A);
        assert!(err.contains("it is a directory that crossroot did not write: it holds important.txt, manifest.json and has no .crossroot-prefix"), "{err}");
        assert!(err.contains("rm -r"), "{err}");
        assert!(install_copy(&a, &w).is_err());
        assert_eq!(fs::read_to_string(w.join("important.txt")).unwrap(), "x");

        let file = tmp.path().join("file");
        fs::write(&file, "data").unwrap();
        assert!(taken(&file, KEY_A).contains("it is a file, not a directory"));
        assert_eq!(fs::read_to_string(&file).unwrap(), "data");

        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&empty, &link).unwrap();
        assert!(taken(&link, KEY_A).contains("symbolic link"));

        // Markers that are not crossroot's, or not readable as one.
        for (text, why) in [
            ("garbage".to_string(), "is not crossroot's prefix marker"),
            ("{}".to_string(), "is not crossroot's prefix marker"),
            (
                format!(
                    r#"{{"written_by":"other","version":1,"target":"t","key":"{KEY_A}","files":[]}}"#
                ),
                "says it was written by `other`",
            ),
            (
                format!(
                    r#"{{"written_by":"crossroot","version":2,"target":"t","key":"{KEY_B}","files":[]}}"#
                ),
                "is of version 2",
            ),
            (
                r#"{"written_by":"crossroot","version":1,"target":"t","key":"short","files":[]}"#
                    .to_string(),
                "is damaged",
            ),
            (
                format!(
                    r#"{{"written_by":"crossroot","version":1,"target":"t","key":"{KEY_B}","files":["../x"]}}"#
                ),
                "is damaged",
            ),
        ] {
            let d = tmp.path().join("marked");
            let _ = fs::remove_dir_all(&d);
            fs::create_dir(&d).unwrap();
            fs::write(d.join(PREFIX_MARKER), &text).unwrap();
            fs::write(d.join("data"), "keep").unwrap();
            let err = taken(&d, KEY_A);
            assert!(err.contains(why), "{text}: {err}");
            assert!(d.join("data").is_file());
        }
        let d = tmp.path().join("marked");
        fs::remove_file(d.join(PREFIX_MARKER)).unwrap();
        fs::create_dir(d.join(PREFIX_MARKER)).unwrap();
        assert!(taken(&d, KEY_A).contains("is not a regular file"));

        let err = check_prefix(&tmp.path().join("my prefix"), KEY_A)
            .unwrap_err()
            .to_string();
        assert!(err.contains("contains a space"), "{err}");
    }

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
