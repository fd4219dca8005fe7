//! `crossroot cache`: where things are, how big they are, what can go, and a key for CI.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::build::{HostTools, human_duration};
use crate::bundle;
use crate::cache::{self, EntryLock, Home, LeftoverState, LockMode, disk_usage};
use crate::cli::{CacheCommand, ExportArgs, ImportArgs, KeygenArgs, Selection};
use crate::report::Reporter;
use crate::settings::Settings;
use crate::sign::{self, SigningKey, TrustedKey};
use crate::store::{PACKAGE_RECORD, PackageRecord};
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
        CacheCommand::Keygen(args) => keygen(&args)?,
        CacheCommand::Push(args) => super::registry::push(settings, reporter, args)?,
        CacheCommand::Pull(args) => return super::registry::pull(settings, reporter, args),
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
            list_leftovers(home);
        }
        CacheCommand::Key(args) => {
            let selected = super::select(&args.selection, false)?;
            let recipes = super::load_recipes(settings)?;
            let toolchain = super::find_toolchain(settings, &recipes, &selected)?.context(
                "no zig installed: the key names the compiler; install zig (pip install ziglang) or run `crossroot build` once",
            )?;
            let plan = super::make_plan(&recipes, &selected, &toolchain)?;
            println!("{}", plan.selection_key());
        }
        CacheCommand::Prune => prune(home)?,
        CacheCommand::Clean => {
            let root = home.root().display();
            match home.clean()? {
                None => println!("nothing to remove: {root} does not exist"),
                Some(c) if c.removed_root => println!("removed {root} ({})", mb(c.freed)),
                Some(c) if c.kept.is_empty() => {
                    println!("removed crossroot's files from {root} ({})", mb(c.freed));
                }
                Some(c) => {
                    println!("removed crossroot's files from {root} ({})", mb(c.freed));
                    reporter.warn(&format!(
                        "kept {root} and what crossroot did not write there: {}",
                        c.kept.join(", ")
                    ));
                }
            }
        }
    }
    Ok(0)
}

/// A size for people: kB below a megabyte, else MB.
fn size(bytes: u64) -> String {
    if bytes < 1_000_000 {
        format!("{:.1} kB", bytes as f64 / 1e3)
    } else {
        mb(bytes)
    }
}

fn state_words(state: LeftoverState) -> &'static str {
    match state {
        LeftoverState::InUse => "in use by a running crossroot",
        LeftoverState::Stale => "left by a killed run",
        LeftoverState::Unknown => "no lock tells whether a run still uses it",
    }
}

/// The staging directories in the home, with their sizes and whether their run is alive.
fn list_leftovers(home: &Home) {
    let leftovers = cache::leftovers(home);
    if leftovers.is_empty() {
        return;
    }
    let total: u64 = leftovers.iter().map(|l| l.bytes).sum();
    println!(
        "leftovers   {:>10}  staging directories; each is swept by the next run under its lock, or by `crossroot cache prune`",
        mb(total)
    );
    for l in &leftovers {
        println!(
            "  {:<13} {:>9}  {}  ({})",
            l.kind,
            size(l.bytes),
            l.path.display(),
            state_words(l.state())
        );
    }
}

/// The current sysroots (what a `current` or `current-<toolchain>` link of `triple_dir`
/// points at), resolved.
fn current_sysroots(triple_dir: &Path) -> BTreeSet<PathBuf> {
    let mut current = BTreeSet::new();
    for link in fs::read_dir(triple_dir).into_iter().flatten().flatten() {
        let name = link.file_name().to_string_lossy().into_owned();
        if (name == "current" || name.starts_with("current-"))
            && let Ok(p) = fs::canonicalize(link.path())
        {
            current.insert(p);
        }
    }
    current
}

/// `name version (target)` of a package directory, from its record.
fn package_label(dir: &Path) -> String {
    fs::read(dir.join(PACKAGE_RECORD))
        .ok()
        .and_then(|t| serde_json::from_slice::<PackageRecord>(&t).ok())
        .map(|r| format!("{} {} ({})", r.name, r.version, r.target))
        .unwrap_or_else(|| "(unreadable record)".into())
}

/// Removes the sysroots no `current` link points at, the packages none of the remaining ones
/// was made of, and the staging of killed runs; each under its entry's lock, taken without
/// waiting: what a running crossroot holds (a package it built or reuses and has not yet
/// assembled, a sysroot being assembled, a live staging directory) is kept and named.
fn prune(home: &Home) -> Result<()> {
    let mut freed = 0u64;
    let mut used = BTreeSet::new();
    for (dir, m) in sysroots(home.root())? {
        let parent = dir.parent().expect("a sysroot has a parent").to_path_buf();
        let canon = fs::canonicalize(&dir).unwrap_or(dir.clone());
        let label = format!("sysroot {}/{}", m.target, &m.key[..16.min(m.key.len())]);
        if current_sysroots(&parent).contains(&canon) {
            used.extend(m.packages.iter().map(|p| p.key.clone()));
            continue;
        }
        let Some(_lock) = EntryLock::try_acquire(&cache::lock_path(&dir), LockMode::Exclusive)?
        else {
            println!(
                "kept {label}: a running crossroot holds it ({})",
                dir.display()
            );
            used.extend(m.packages.iter().map(|p| p.key.clone()));
            continue;
        };
        // A build may have made it current between the first look and the lock.
        if current_sysroots(&parent).contains(&canon) {
            used.extend(m.packages.iter().map(|p| p.key.clone()));
            continue;
        }
        let bytes = disk_usage(&dir);
        cache::remove_incomplete(&dir)?;
        freed += bytes;
        println!("removed {label}, {}: {}", size(bytes), dir.display());
    }
    let mut packages: Vec<PathBuf> = fs::read_dir(home.packages())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            // Staging and lock files are not packages (staging is swept below).
            !name.starts_with('.') && !name.ends_with(".lock") && !used.contains(&name)
        })
        .map(|e| e.path())
        .collect();
    packages.sort();
    for dir in packages {
        let label = format!("package {}", package_label(&dir));
        let Some(_lock) = EntryLock::try_acquire(&cache::lock_path(&dir), LockMode::Exclusive)?
        else {
            println!(
                "kept {label}: a running crossroot holds it ({})",
                dir.display()
            );
            continue;
        };
        let bytes = disk_usage(&dir);
        cache::remove_incomplete(&dir)?;
        freed += bytes;
        println!("removed {label}, {}: {}", size(bytes), dir.display());
    }
    for l in cache::leftovers(home) {
        let what = format!("{} staging", l.kind);
        if l.sweep()? {
            freed += l.bytes;
            println!(
                "removed {what} of a killed run, {}: {}",
                size(l.bytes),
                l.path.display()
            );
        } else {
            println!(
                "kept {what}, {}: {} ({})",
                size(l.bytes),
                l.path.display(),
                state_words(l.state())
            );
        }
    }
    println!("pruned {}", mb(freed));
    Ok(())
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

fn keygen(args: &KeygenArgs) -> Result<()> {
    let (secret, public, id) = sign::keygen(&args.out)?;
    println!(
        "wrote {} (secret: keep it out of the repository; in CI, a secret variable)",
        secret.display()
    );
    println!(
        "wrote {} (key {id}: give it to those who import what you sign, with --trust)",
        public.display()
    );
    Ok(())
}

/// Where a bundle's signature lives: beside it, as `minisign -V` looks for it.
fn signature_path(bundle: &Path) -> std::path::PathBuf {
    let mut name = bundle.as_os_str().to_owned();
    name.push(".minisig");
    name.into()
}

fn export(settings: &Settings, args: ExportArgs) -> Result<()> {
    // Read before anything is written, so a bad key costs nothing.
    let key = args.sign_key.as_deref().map(SigningKey::load).transpose()?;
    let sysroots = export_selection(settings, &args.selection)?;
    let started = Instant::now();
    let summary = bundle::export(&settings.home, &sysroots, &args.file)?;
    if let Some(key) = &key {
        let sig_path = signature_path(&args.file);
        let file = fs::File::open(&args.file)
            .with_context(|| format!("could not read {} to sign it", args.file.display()))?;
        let name = args.file.file_name().unwrap_or_default().to_string_lossy();
        let sig = key.sign(std::io::BufReader::new(file), &format!("bundle {name}"))?;
        crate::cache::write_atomic(&sig_path, sig.as_bytes())?;
        println!("signed with key {}: {}", key.id, sig_path.display());
    }
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
    if args.trust.is_empty() {
        reporter.warn(&format!(
            "importing {} without checking who made it: pass --trust crossroot.pub (the exporter's key) to import only a bundle signed with `cache export --sign-key`",
            args.file.display()
        ));
    } else {
        let trusted = args
            .trust
            .iter()
            .map(|p| TrustedKey::load(p))
            .collect::<Result<Vec<_>, _>>()?;
        let sig_path = signature_path(&args.file);
        let what = args.file.display().to_string();
        let sig = match fs::read_to_string(&sig_path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(sign::SignError::Unsigned {
                    what,
                    expected: format!("{} by {}", sig_path.display(), sign::trusted_list(&trusted)),
                }
                .into());
            }
            Err(e) => {
                return Err(anyhow::Error::from(e)
                    .context(format!("could not read {}", sig_path.display())));
            }
        };
        let file = fs::File::open(&args.file)
            .with_context(|| format!("could not read {}", args.file.display()))?;
        let id = sign::verify(&trusted, &sig, std::io::BufReader::new(file), &what)?;
        reporter.info(&format!("{what}: signed by trusted key {id}"));
    }
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
