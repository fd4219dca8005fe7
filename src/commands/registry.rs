//! `cache push`, `cache pull` and `build --cache`: the registry cache from the command line.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use futures_util::StreamExt;

use crate::build::human_duration;
use crate::cli::{PullArgs, PushArgs, RegistryArgs, TrustArgs};
use crate::extract::ExtractOptions;
use crate::plan::{Plan, PlannedPackage};
use crate::registry::{
    Pulled, Pushed, Registry, RegistryError, RegistryOptions, Remote, Trust, Wanted, layout,
};
use crate::report::Reporter;
use crate::settings::Settings;
use crate::sign::{SigningKey, TrustedKey};
use crate::store::Store;

/// Transfers at once: enough to fill a link, few enough for a registry's rate limits.
const PARALLEL: usize = 4;

pub fn options(settings: &Settings, args: &RegistryArgs) -> RegistryOptions {
    RegistryOptions {
        insecure: args.insecure.clone(),
        ca_files: args.ca.clone(),
        docker_config: settings.docker_config.clone(),
    }
}

/// The signatures an install needs: `--trust` keys, or none with `--trust-unsigned`; neither
/// is an error (a cache entry is a program that will be linked into yours).
pub fn trust(args: &TrustArgs, remote: &Remote) -> Result<Trust> {
    if args.trust_unsigned {
        return Ok(Trust::Unsigned);
    }
    if args.trust.is_empty() {
        return Err(super::UsageError(format!(
            "say whose signatures to accept from {remote}: --trust crossroot.pub (the key `cache push --sign-key` used; or CROSSROOT_TRUST), or --trust-unsigned to install its entries unchecked"
        ))
        .into());
    }
    let keys = args
        .trust
        .iter()
        .map(|p| TrustedKey::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Trust::Keys(keys))
}

pub fn connect(
    rt: &tokio::runtime::Runtime,
    settings: &Settings,
    remote: Remote,
    args: &RegistryArgs,
) -> Result<Registry, RegistryError> {
    if settings.offline {
        return Err(RegistryError::Unreachable {
            registry: remote.registry.clone(),
            why: "--offline contacts no registry".into(),
        });
    }
    rt.block_on(Registry::connect(remote, &options(settings, args)))
}

fn wanted(p: &PlannedPackage) -> Wanted {
    Wanted {
        key: p.key.clone(),
        name: p.recipe.name.clone(),
        version: p.recipe.version.to_string(),
        target: p.target.triple.to_string(),
    }
}

/// Pulls what the registry has of `missing` into the store, a few at a time; each package's
/// outcome, in order.
pub fn pull_missing(
    rt: &tokio::runtime::Runtime,
    registry: &Registry,
    store: &Store,
    missing: &[&PlannedPackage],
    trust: &Trust,
    limits: ExtractOptions,
    reporter: Arc<dyn Reporter>,
) -> Vec<Result<Pulled, RegistryError>> {
    rt.block_on(async {
        futures_util::stream::iter(missing.iter().map(|p| {
            let reporter = reporter.clone();
            async move {
                let want = wanted(p);
                let r = registry
                    .pull_package(store, &want, trust, limits, reporter.clone())
                    .await;
                if let Ok(Pulled::Installed { bytes, signer }) = &r {
                    reporter.info(&format!(
                        "pulled {} from {} ({:.1} MB{})",
                        p.label(),
                        registry.remote,
                        *bytes as f64 / 1e6,
                        match signer {
                            Some(id) => format!(", signed by {id}"),
                            None => ", signature not checked (--trust-unsigned)".into(),
                        }
                    ));
                }
                r
            }
        }))
        .buffered(PARALLEL)
        .collect()
        .await
    })
}

/// What a push did.
#[derive(Debug, Default)]
pub struct PushSummary {
    pub uploaded: usize,
    pub signed: usize,
    pub up_to_date: usize,
    pub bytes: u64,
    /// (descriptor of each package manifest, for the selection's index)
    pub entries: Vec<layout::Descriptor>,
}

/// Packs and pushes `packages` (all in the store), a few at a time, signed with `key`.
pub fn push_packages(
    rt: &tokio::runtime::Runtime,
    registry: &Registry,
    store: &Store,
    packages: &[&PlannedPackage],
    key: &SigningKey,
    reporter: &dyn Reporter,
) -> Result<PushSummary> {
    for p in packages {
        if !store.is_complete(&p.key) {
            anyhow::bail!(
                "{} is not built in this home (package {}); run `crossroot build` with the same selection first",
                p.label(),
                p.key
            );
        }
    }
    let results: Vec<Result<(Pushed, u64, layout::Descriptor)>> = rt.block_on(async {
        futures_util::stream::iter(packages.iter().map(|p| async move {
            let dir = store.package_dir(&p.key);
            let record = store.record(&p.key).with_context(|| {
                format!("{} has no readable record in {}", p.label(), dir.display())
            })?;
            let target = p.target;
            let packed = tokio::task::spawn_blocking(move || layout::pack(&dir, &record, target))
                .await
                .expect("packing does not panic")
                .with_context(|| format!("could not pack {}", p.label()))?;
            let tag = wanted(p).tag();
            let outcome = registry
                .push_package(&packed, &tag, key, &format!("package {}", p.label()))
                .await?;
            let mut d = layout::Descriptor::of(layout::MANIFEST, &packed.manifest);
            d.artifact_type = Some(layout::PACKAGE_ARTIFACT.into());
            d.platform = Some(layout::platform(p.target));
            d.annotations.insert(layout::ANN_KEY.into(), p.key.clone());
            d.annotations
                .insert(layout::ANN_NAME.into(), p.recipe.name.clone());
            d.annotations
                .insert(layout::ANN_TARGET.into(), p.target.triple.to_string());
            Ok((outcome, packed.layer.len() as u64, d))
        }))
        .buffered(PARALLEL)
        .collect()
        .await
    });
    let mut s = PushSummary::default();
    for (p, r) in packages.iter().zip(results) {
        let (outcome, bytes, d) = r?;
        match outcome {
            Pushed::Uploaded => {
                s.uploaded += 1;
                s.bytes += bytes;
                reporter.info(&format!(
                    "pushed {} ({:.1} MB)",
                    p.label(),
                    bytes as f64 / 1e6
                ));
            }
            Pushed::Signed => {
                s.signed += 1;
                reporter.info(&format!("{}: already there, signature added", p.label()));
            }
            Pushed::UpToDate => s.up_to_date += 1,
        }
        s.entries.push(d);
    }
    Ok(s)
}

fn all_packages(plan: &Plan) -> Vec<&PlannedPackage> {
    plan.targets
        .iter()
        .flat_map(|t| t.packages.iter())
        .collect()
}

pub fn push(settings: &Settings, reporter: Arc<dyn Reporter>, args: PushArgs) -> Result<()> {
    let started = Instant::now();
    let remote = Remote::parse(&args.remote)?;
    let key = SigningKey::load(&args.sign_key)?;
    let selected = super::select(&args.selection, false)?;
    let recipes = super::load_recipes(settings)?;
    let toolchain = super::find_toolchain(settings, &recipes, &selected)?.context(
        "no zig installed: package keys name the compiler; run `crossroot build` with this selection first",
    )?;
    let plan = super::make_plan(&recipes, &selected, &toolchain)?;
    let store = Store::new(&settings.home);
    let rt = super::runtime()?;
    let registry = connect(&rt, settings, remote, &args.registry)?;
    let packages = all_packages(&plan);
    let s = push_packages(&rt, &registry, &store, &packages, &key, &*reporter)?;
    let tag = plan.selection_key();
    let digest = rt.block_on(registry.push_index(&tag, s.entries, &key))?;
    println!(
        "{}: {} package{} pushed ({:.1} MB), {} already there{}, signed by {}; index {}:{tag} ({digest}) in {}",
        registry.remote,
        s.uploaded,
        if s.uploaded == 1 { "" } else { "s" },
        s.bytes as f64 / 1e6,
        s.up_to_date + s.signed,
        if s.signed > 0 {
            format!(" ({} newly signed)", s.signed)
        } else {
            String::new()
        },
        key.id,
        registry.remote,
        human_duration(started.elapsed()),
    );
    Ok(())
}

pub fn pull(settings: &Settings, reporter: Arc<dyn Reporter>, args: PullArgs) -> Result<i32> {
    let build = crate::cli::BuildArgs {
        selection: args.selection,
        debug_info: false,
        prefix: None,
        cache: Some(args.remote),
        trust: args.trust,
        push: false,
        sign_key: None,
        require_cache: true,
        registry: args.registry,
    };
    super::build::run_with(settings, reporter, build, super::build::Mode::PullOnly)
}
