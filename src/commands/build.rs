//! `crossroot build`: plan, fetch what is missing, build it, assemble the sysroots.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::build::{Builder, HostTools, SourceFile, human_duration};
use crate::cli::BuildArgs;
use crate::report::Reporter;
use crate::settings::Settings;
use crate::sysroot;

pub fn run(settings: &Settings, reporter: Arc<dyn Reporter>, args: BuildArgs) -> Result<i32> {
    let started = Instant::now();
    let selected = super::select(&args.selection, args.debug_info)?;
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
    let missing: Vec<_> = plan
        .targets
        .iter()
        .flat_map(|t| t.packages.iter())
        .filter(|p| !holds.holds(&p.key))
        .collect();
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
