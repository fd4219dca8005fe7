//! `crossroot cache`: where things are, how big they are, what can go, and a key for CI.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::cache::{self, disk_usage};
use crate::cli::CacheCommand;
use crate::settings::Settings;
use crate::sysroot::{MANIFEST, Manifest};

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

pub fn run(settings: &Settings, cmd: CacheCommand) -> Result<i32> {
    let home = &settings.home;
    match cmd {
        CacheCommand::Dir => println!("{}", home.root().display()),
        CacheCommand::List => {
            for (name, dir) in [
                ("downloads", home.downloads()),
                ("packages", home.packages()),
                ("sysroots", home.sysroots()),
                ("toolchains", home.toolchains()),
                ("logs", home.logs()),
            ] {
                println!("{name:<11} {:>10}  {}", mb(disk_usage(&dir)), dir.display());
            }
            for s in sysroots(home.root())? {
                let m = &s.1;
                let names: Vec<String> = m
                    .packages
                    .iter()
                    .map(|p| format!("{} {}", p.name, p.version))
                    .collect();
                println!(
                    "  {} {}  {}  ({})",
                    m.target,
                    &m.key[..16],
                    mb(disk_usage(&s.0)),
                    names.join(", ")
                );
            }
        }
        CacheCommand::Key(args) => {
            let selected = super::select(&args.selection, false)?;
            let recipes = super::load_recipes(settings)?;
            let zig = super::installed_zig(settings, &recipes)?.context(
                "no zig installed: the key names the compiler; install zig (pip install ziglang) or run `crossroot build` once",
            )?;
            let plan = super::make_plan(&recipes, &selected, &zig)?;
            let mut h = Sha256::new();
            for t in &plan.targets {
                h.update(t.target.triple.as_bytes());
                h.update(b"=");
                h.update(t.sysroot_key.as_bytes());
                h.update(b"\n");
            }
            println!("crossroot-v1-{}", &hex::encode(h.finalize())[..32]);
        }
        CacheCommand::Prune => {
            let mut used = BTreeSet::new();
            let mut freed = 0u64;
            let all = sysroots(home.root())?;
            // Keep every sysroot that a `current` link points at; others go.
            let mut current = BTreeSet::new();
            if let Ok(rd) = fs::read_dir(home.sysroots()) {
                for t in rd.flatten() {
                    if let Ok(p) = fs::canonicalize(t.path().join("current")) {
                        current.insert(p);
                    }
                }
            }
            for (dir, m) in &all {
                let canon = fs::canonicalize(dir).unwrap_or(dir.clone());
                if current.contains(&canon) {
                    used.extend(m.packages.iter().map(|p| p.key.clone()));
                } else {
                    freed += disk_usage(dir);
                    cache::remove_incomplete(dir)?;
                }
            }
            if let Ok(rd) = fs::read_dir(home.packages()) {
                for e in rd.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    // Staging and lock files may belong to a build running now.
                    if name.starts_with('.') || name.ends_with(".lock") {
                        continue;
                    }
                    if !used.contains(&name) {
                        freed += disk_usage(&e.path());
                        cache::remove_incomplete(&e.path())?;
                    }
                }
            }
            println!("pruned {}", mb(freed));
        }
        CacheCommand::Clean => {
            let size = disk_usage(home.root());
            if home.root().join("CACHEDIR.TAG").is_file() {
                fs::remove_dir_all(home.root())
                    .with_context(|| format!("could not remove {}", home.root().display()))?;
                println!("removed {} ({})", home.root().display(), mb(size));
            } else if home.root().exists() {
                anyhow::bail!(
                    "{} has no CACHEDIR.TAG, so it is not a crossroot home; not removing it",
                    home.root().display()
                );
            }
        }
    }
    Ok(0)
}

/// Every complete sysroot under the home, with its manifest.
fn sysroots(root: &Path) -> Result<Vec<(std::path::PathBuf, Manifest)>> {
    let mut out = Vec::new();
    let Ok(targets) = fs::read_dir(root.join("sysroots-v1")) else {
        return Ok(out);
    };
    for t in targets.flatten() {
        let Ok(entries) = fs::read_dir(t.path()) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().map(|ft| ft.is_symlink()).unwrap_or(true) || !p.is_dir() {
                continue;
            }
            let Ok(text) = fs::read(p.join(MANIFEST)) else {
                continue;
            };
            if let Ok(m) = serde_json::from_slice::<Manifest>(&text)
                && cache::is_complete(&p, &m.key)
            {
                out.push((p, m));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
