//! `crossroot cache`: where things are, how big they are, what can go, and a key for CI.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::build::{HostTools, human_duration};
use crate::bundle;
use crate::cache::{self, disk_usage};
use crate::cli::{CacheCommand, ExportArgs, ImportArgs, Selection};
use crate::report::Reporter;
use crate::settings::Settings;
use crate::sysroot::{self, MANIFEST, Manifest, Sysroot};
use crate::target::Target;

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

pub fn run(settings: &Settings, reporter: Arc<dyn Reporter>, cmd: CacheCommand) -> Result<i32> {
    let home = &settings.home;
    match cmd {
        CacheCommand::Export(args) => export(settings, args)?,
        CacheCommand::Import(args) => import(settings, reporter, args)?,
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
            let toolchain = super::find_toolchain(settings, &recipes, &selected)?.context(
                "no zig installed: the key names the compiler; install zig (pip install ziglang) or run `crossroot build` once",
            )?;
            let plan = super::make_plan(&recipes, &selected, &toolchain)?;
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
                // `current` (zig) and `current-<toolchain>` (gcc, prebuilt).
                for t in rd.flatten() {
                    for link in fs::read_dir(t.path()).into_iter().flatten().flatten() {
                        let name = link.file_name().to_string_lossy().into_owned();
                        if (name == "current" || name.starts_with("current-"))
                            && let Ok(p) = fs::canonicalize(link.path())
                        {
                            current.insert(p);
                        }
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

/// The sysroots an export names: by key for packages or a profile (`--profile`, else
/// `./crossroot.toml`, as for `build` and `cache key`), else the `current` ones (of the
/// `--target`s given, or of every target).
fn export_selection(settings: &Settings, sel: &Selection) -> Result<Vec<Sysroot>> {
    let home = &settings.home;
    if let Some(tc) = sel.toolchain.as_deref().filter(|t| *t != "zig") {
        // Their wrappers run a toolchain directory of this home, which a bundle does not carry.
        return Err(super::UsageError(format!(
            "cache export carries sysroots built with zig only, not with --toolchain {tc}; rebuild them with `crossroot build --toolchain {tc}` where they are needed"
        ))
        .into());
    }
    if sel.packages.is_empty()
        && sel.profile.is_none()
        && !Path::new(crate::recipe::profile::PROFILE_FILE).is_file()
    {
        let targets: Vec<&'static Target> = if sel.targets.is_empty() {
            let mut ts: Vec<_> = fs::read_dir(home.sysroots())
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| Target::parse(&e.file_name().to_string_lossy()).ok())
                .filter(|t| sysroot::current_link(home, t).exists())
                .collect();
            ts.sort_by_key(|t| t.triple);
            ts.dedup_by_key(|t| t.triple);
            ts
        } else {
            sel.targets.clone()
        };
        if targets.is_empty() {
            return Err(super::UsageError(format!(
                "nothing to export: no sysroot is built in {}; run `crossroot build` first",
                home.root().display()
            ))
            .into());
        }
        return targets
            .into_iter()
            .map(|t| Ok(sysroot::find(home, t, None, &[])?))
            .collect();
    }
    let selected = super::select(sel, false)?;
    let recipes = super::load_recipes(settings)?;
    let toolchain = super::find_toolchain(settings, &recipes, &selected)?.context(
        "no zig installed: the sysroot keys name the compiler; install zig (pip install ziglang)",
    )?;
    let plan = super::make_plan(&recipes, &selected, &toolchain)?;
    plan.targets
        .iter()
        .map(|tp| {
            Ok(sysroot::find(
                home,
                tp.target,
                Some(&tp.sysroot_key),
                &selected.packages,
            )?)
        })
        .collect()
}

fn export(settings: &Settings, args: ExportArgs) -> Result<()> {
    let sysroots = export_selection(settings, &args.selection)?;
    let started = Instant::now();
    let summary = bundle::export(&settings.home, &sysroots, &args.file)?;
    let m = &summary.manifest;
    println!(
        "wrote {}: {} sysroot{} ({}), {} package{}, {} files, {} ({} compressed) in {}",
        args.file.display(),
        m.sysroots.len(),
        if m.sysroots.len() == 1 { "" } else { "s" },
        m.sysroots
            .iter()
            .map(|s| s.target.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        m.packages.len(),
        if m.packages.len() == 1 { "" } else { "s" },
        m.files.len(),
        mb(m.bytes()),
        mb(summary.compressed),
        human_duration(started.elapsed()),
    );
    Ok(())
}

fn import(settings: &Settings, reporter: Arc<dyn Reporter>, args: ImportArgs) -> Result<()> {
    let started = Instant::now();
    let manifest = bundle::read_manifest(&args.file)?;
    let recipes = super::load_recipes(settings)?;
    settings.home.init()?;
    // The zig the wrappers will run, found (or fetched) the way `build` does.
    let zig = match super::installed_zig(settings, &recipes)? {
        Some(z) => z,
        None => {
            let rt = super::runtime()?;
            let fetcher = super::fetcher(settings, reporter.clone())?;
            rt.block_on(super::provide_zig(settings, &recipes, &fetcher, &*reporter))?
        }
    };
    if manifest.toolchain.name != "zig" {
        anyhow::bail!(
            "{} holds sysroots built with {}, not zig; bundles of other toolchains cannot be imported (their wrappers run a toolchain directory of the exporting home); build them here with `crossroot build --toolchain …`",
            args.file.display(),
            bundle::short_id(&manifest.toolchain)
        );
    }
    if manifest.toolchain != zig.id() {
        // Keys name the compiler: with another zig, `build` here would not find these
        // packages and would rebuild them all, and the wrappers would link the libraries
        // against another zig's musl. Refuse unless asked.
        let msg = format!(
            "{} was built with {}, but this machine's zig is {} at {}",
            args.file.display(),
            bundle::short_id(&manifest.toolchain),
            bundle::short_id(&zig.id()),
            zig.exe.display()
        );
        if !args.any_zig {
            anyhow::bail!(
                "{msg}\nhint: install zig {} (e.g. pip install ziglang=={}) or set $ZIG to it; --any-zig imports anyway, but `crossroot build` will then rebuild everything",
                manifest.toolchain.version,
                manifest.toolchain.version
            );
        }
        reporter.warn(&format!(
            "{msg}; importing anyway (--any-zig): `crossroot build` here will rebuild these packages"
        ));
    }
    let staged = bundle::stage(
        &settings.home,
        &args.file,
        settings.max_download,
        &*reporter,
    )?;
    let tools = HostTools::find(&settings.host);
    let summary = staged.install(&settings.home, &zig, &tools, &*reporter)?;
    for s in &summary.sysroots {
        println!("{}: {}", s.target.triple, s.dir.display());
    }
    println!(
        "imported {} sysroot{} ({} already here) and {} package{} ({} already here), {}, in {}",
        summary.sysroots.len(),
        if summary.sysroots.len() == 1 { "" } else { "s" },
        summary.sysroots_kept,
        summary.packages_installed + summary.packages_kept,
        if summary.packages_installed + summary.packages_kept == 1 {
            ""
        } else {
            "s"
        },
        summary.packages_kept,
        mb(manifest.bytes()),
        human_duration(started.elapsed()),
    );
    Ok(())
}
