//! `crossroot build`: plan, fetch what is missing, build it, assemble the sysroots.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::build::{Builder, HostTools, SourceFile, human_duration};
use crate::cli::BuildArgs;
use crate::extract::ExtractOptions;
use crate::plan::PlannedPackage;
use crate::registry::{Pulled, Registry, Remote, Trust};
use crate::report::Reporter;
use crate::settings::Settings;
use crate::sign::SigningKey;
use crate::store::Store;
use crate::sysroot;

/// What `run_with` does with packages that are not in the home.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Pull what the `--cache` registry has, build the rest.
    Build,
    /// `cache pull`: install from the registry only; what it lacks is an error.
    PullOnly,
}

pub fn run(settings: &Settings, reporter: Arc<dyn Reporter>, args: BuildArgs) -> Result<i32> {
    run_with(settings, reporter, args, Mode::Build)
}

pub fn run_with(
    settings: &Settings,
    reporter: Arc<dyn Reporter>,
    args: BuildArgs,
    mode: Mode,
) -> Result<i32> {
    let started = Instant::now();
    let selected = super::select(&args.selection, args.debug_info)?;
    // Flags that name files and registries are judged before anything is built; flags and
    // CROSSROOT_* win over the profile's `[cache]`.
    let mut args = args;
    if let Some(c) = &selected.cache {
        if args.cache.is_none() {
            args.cache = Some(c.remote.clone());
        }
        if args.trust.trust.is_empty() && !args.trust.trust_unsigned {
            args.trust.trust = c.trusted_keys.clone();
        }
        if c.push && mode == Mode::Build && args.cache.as_deref() == Some(c.remote.as_str()) {
            args.push = true;
        }
    }
    let remote = args.cache.as_deref().map(Remote::parse).transpose()?;
    let trust = match &remote {
        Some(r) => Some(super::registry::trust(&args.trust, r)?),
        None => None,
    };
    let sign_key = match (&args.sign_key, args.push) {
        (Some(p), true) => Some(SigningKey::load(p)?),
        (None, true) => {
            return Err(super::UsageError(format!(
                "pushing to {} needs a key to sign with: --sign-key crossroot.key or CROSSROOT_SIGN_KEY (or set push = false in the profile's [cache])",
                args.cache.as_deref().unwrap_or("the cache")
            ))
            .into());
        }
        _ => None,
    };
    let recipes = super::load_recipes(settings)?;
    // Judged as an absolute path: that is what pkg-config prints from the copy.
    let prefix = match &args.prefix {
        Some(p) => {
            let p = std::path::absolute(p)
                .with_context(|| format!("could not resolve --prefix {}", p.display()))?;
            sysroot::check_prefix_path(&p).map_err(|e| super::UsageError(e.to_string()))?;
            Some(p)
        }
        None => None,
    };
    settings.home.init()?;
    let tools = HostTools::find(&settings.host);

    // Fast path: an installed zig (or built gcc toolchains) and everything already built
    // needs no runtime at all.
    let toolchain =
        super::provide_toolchain(settings, &recipes, &selected, &tools, reporter.clone())?;
    let plan = super::make_plan(&recipes, &selected, &toolchain)?;
    // `--prefix DIR`: the sysroot itself for one target, `DIR/<triple>` for several. Judged
    // before anything is built, and again when the copy goes in.
    let prefixes: Vec<Option<std::path::PathBuf>> = plan
        .targets
        .iter()
        .map(|tp| {
            prefix.as_ref().map(|p| {
                if plan.targets.len() == 1 {
                    p.clone()
                } else {
                    p.join(tp.target.triple)
                }
            })
        })
        .collect();
    for (tp, dest) in plan.targets.iter().zip(&prefixes) {
        if let Some(dest) = dest {
            sysroot::check_prefix(dest, &tp.sysroot_key)?;
        }
    }
    let builder = Builder::new(
        settings.home.clone(),
        toolchain.clone(),
        tools.clone(),
        settings.jobs,
        reporter.clone(),
    )
    .context("could not create the jobserver")?;

    // Held until every sysroot is assembled, so that `cache prune` leaves them alone.
    let mut holds = builder.hold_built(&plan)?;
    let mut missing: Vec<_> = plan
        .targets
        .iter()
        .flat_map(|t| t.packages.iter())
        .filter(|p| !holds.holds(&p.key))
        .collect();
    // The registry is asked only for what is missing: a no-op build contacts none.
    let mut registry = None;
    if let (Some(remote), Some(trust)) = (&remote, &trust)
        && !missing.is_empty()
    {
        registry = from_cache(settings, &reporter, &args, remote, trust, &missing, mode)?;
        drop(holds);
        holds = builder.hold_built(&plan)?;
        missing.retain(|p| !holds.holds(&p.key));
    }
    if mode == Mode::PullOnly && !missing.is_empty() {
        let remote = remote.expect("cache pull names a registry");
        anyhow::bail!(
            "{remote} does not have {} package{} of this selection: {}\nhint: build and push them from a machine that has them: `crossroot build … --cache {remote} --push --sign-key crossroot.key` (or `crossroot cache push {remote} …`)",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" },
            missing
                .iter()
                .map(|p| p.label())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !missing.is_empty() {
        // One download per recipe, whatever the number of targets.
        let mut wanted: BTreeMap<String, Vec<crate::recipe::SourceArtifact>> = BTreeMap::new();
        for p in &missing {
            wanted
                .entry(format!("{} {}", p.recipe.name, p.recipe.version))
                .or_insert_with(|| p.recipe.sources.clone());
        }
        let rt = super::runtime()?;
        let fetcher = super::fetcher(settings, reporter.clone())?;
        let items: Vec<(String, Vec<_>)> = wanted.into_iter().collect();
        let results = rt.block_on(fetcher.fetch_all(items.clone()));
        let mut by_label = BTreeMap::new();
        let mut failures = Vec::new();
        for ((label, _), r) in items.into_iter().zip(results) {
            match r {
                Ok(f) => {
                    by_label.insert(label, f);
                }
                // With its causes: "could not write X" alone hides "No space left on device".
                Err(e) => failures.push(format!("{:#}", anyhow::Error::from(e))),
            }
        }
        if !failures.is_empty() {
            anyhow::bail!("could not fetch sources:\n{}", failures.join("\n"));
        }
        let mut sources = BTreeMap::new();
        for p in &missing {
            let f = &by_label[&format!("{} {}", p.recipe.name, p.recipe.version)];
            sources.insert(
                p.key.clone(),
                SourceFile {
                    path: f.path.clone(),
                    artifact: f.artifact.clone(),
                    origin: f.origin.clone(),
                },
            );
        }
        drop(rt);
        reporter.info(&format!(
            "building {} package{} with {} ({} jobs)",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" },
            toolchain.describe(),
            settings.jobs
        ));
        builder.build_all(&plan, &sources, &mut holds)?;
        if let Some(key) = &sign_key {
            let remote = remote.clone().expect("--push requires --cache");
            push_built(
                settings,
                &*reporter,
                &args,
                remote,
                registry.take(),
                &missing,
                key,
            )?;
        }
    }

    for (tp, dest) in plan.targets.iter().zip(&prefixes) {
        let s = sysroot::assemble(
            &settings.home,
            tp,
            &toolchain,
            &tools,
            &plan.options,
            &*reporter,
        )?;
        reporter.info(&format!(
            "{}: {} ({} package{})",
            tp.target.triple,
            s.dir.display(),
            tp.packages.len(),
            if tp.packages.len() == 1 { "" } else { "s" }
        ));
        if let Some(dest) = dest {
            let copied = sysroot::install_copy(&s, dest)?;
            reporter.info(&format!(
                "{}: {} {}",
                tp.target.triple,
                if copied { "copied to" } else { "already at" },
                dest.display()
            ));
        }
    }
    drop(holds);
    if !missing.is_empty() {
        reporter.info(&format!(
            "finished in {}; use it with: eval \"$(crossroot env --target {}{})\"",
            human_duration(started.elapsed()),
            plan.targets[0].target.triple,
            match toolchain.choice().as_str() {
                "zig" => String::new(),
                other => format!(" --toolchain {other}"),
            }
        ));
    }
    Ok(0)
}

/// Looks `missing` up in the `--cache` registry and installs what verifies. A registry that
/// is away or refuses costs a warning and the packages are built here, unless
/// `--require-cache` (or `cache pull`) makes it an error. Returns the connection for a push.
fn from_cache(
    settings: &Settings,
    reporter: &Arc<dyn Reporter>,
    args: &BuildArgs,
    remote: &Remote,
    trust: &Trust,
    missing: &[&PlannedPackage],
    mode: Mode,
) -> Result<Option<(tokio::runtime::Runtime, Registry)>> {
    let strict = args.require_cache || mode == Mode::PullOnly;
    if settings.offline && !strict {
        reporter.info(&format!("--offline: not looking in {remote}"));
        return Ok(None);
    }
    let rt = super::runtime()?;
    let registry = match super::registry::connect(&rt, settings, remote.clone(), &args.registry) {
        Ok(r) => r,
        Err(e) if !strict => {
            // The first line: the hints under it are for when the cache is required.
            let said = e.to_string();
            reporter.warn(&format!(
                "{}; building the {} missing package{} here (--require-cache makes this an error)",
                said.lines().next().unwrap_or_default(),
                missing.len(),
                if missing.len() == 1 { "" } else { "s" }
            ));
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let limits = ExtractOptions {
        max_total_bytes: settings.max_download,
        ..ExtractOptions::default()
    };
    let results = super::registry::pull_missing(
        &rt,
        &registry,
        &Store::new(&settings.home),
        missing,
        trust,
        limits,
        reporter.clone(),
    );
    let mut away = 0;
    let mut absent = 0;
    for (p, r) in missing.iter().zip(results) {
        match r {
            Ok(Pulled::Absent) => absent += 1,
            Ok(_) => {}
            Err(e) if strict => {
                return Err(anyhow::Error::from(e).context(format!("could not pull {}", p.label())));
            }
            Err(e) if e.is_unavailable() => {
                if away == 0 {
                    reporter.warn(&format!("{e}; building what it did not give here"));
                }
                away += 1;
            }
            Err(e) => reporter.warn(&format!("{e}; building {} here instead", p.label())),
        }
    }
    if absent > 0 && mode == Mode::Build {
        reporter.info(&format!(
            "{absent} package{} not in {remote}",
            if absent == 1 { " is" } else { "s are" }
        ));
    }
    Ok(Some((rt, registry)))
}

/// `--push`: the packages this build made go to the `--cache` registry, signed. A failed push
/// is a warning (the build itself succeeded) unless `--require-cache`.
fn push_built(
    settings: &Settings,
    reporter: &dyn Reporter,
    args: &BuildArgs,
    remote: Remote,
    connected: Option<(tokio::runtime::Runtime, Registry)>,
    built: &[&PlannedPackage],
    key: &SigningKey,
) -> Result<()> {
    let attempt = || -> Result<super::registry::PushSummary> {
        let (rt, registry) = match connected {
            Some(c) => c,
            None => {
                let rt = super::runtime()?;
                let r = super::registry::connect(&rt, settings, remote.clone(), &args.registry)?;
                (rt, r)
            }
        };
        super::registry::push_packages(
            &rt,
            &registry,
            &Store::new(&settings.home),
            built,
            key,
            reporter,
        )
    };
    match attempt() {
        Ok(s) => {
            reporter.info(&format!(
                "pushed {} package{} to {remote} ({:.1} MB), signed by {}",
                s.uploaded + s.signed,
                if s.uploaded + s.signed == 1 { "" } else { "s" },
                s.bytes as f64 / 1e6,
                key.id
            ));
            Ok(())
        }
        Err(e) if !args.require_cache => {
            reporter.warn(&format!("could not push to {remote}: {e:#}"));
            Ok(())
        }
        Err(e) => Err(e.context(format!("could not push to {remote}"))),
    }
}
