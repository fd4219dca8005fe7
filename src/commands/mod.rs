//! One file per subcommand. Each resolves what it needs, calls the stages, renders output.

pub mod build;
pub mod cache;
pub mod doctor;
pub mod env;
pub mod exec;
pub mod fetch;
pub mod list;
pub mod reporter;
pub mod sbom;
pub mod targets;
pub mod verify;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::cli::{Cli, Command, Selection};
use crate::fetch::{FetchConfig, Fetcher};
use crate::plan::{self, BuildOptions, Plan};
use crate::recipe::RecipeSet;
use crate::recipe::profile::{PROFILE_FILE, Profile};
use crate::report::Reporter;
use crate::settings::{ProcessEnv, Settings};
use crate::target::Target;
use crate::toolchain::{self, Finder, Zig};

/// An error in what the user asked for (exit code 2), as opposed to a failure doing it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    let settings =
        Settings::resolve(&cli.global, &ProcessEnv).map_err(|e| UsageError(e.to_string()))?;
    let reporter: Arc<dyn Reporter> = Arc::new(reporter::TermReporter::new(settings.verbosity));
    match cli.command {
        Command::Build(args) => build::run(&settings, reporter, args),
        Command::Env(args) => env::run(&settings, reporter, args),
        Command::Exec(args) => exec::run(&settings, reporter, args),
        Command::Verify(args) => verify::run(args),
        Command::Sbom(args) => sbom::run(&settings, args),
        Command::Fetch(args) => fetch::run(&settings, reporter, args),
        Command::List => list::run(&settings),
        Command::Targets => targets::run(),
        Command::Doctor => doctor::run(&settings),
        Command::Cache(c) => cache::run(&settings, reporter, c),
    }
}

/// What to build: packages, targets and options, from the command line or a profile.
#[derive(Debug, Clone)]
pub struct Selected {
    pub packages: Vec<String>,
    pub targets: Vec<&'static Target>,
    pub options: BuildOptions,
    /// The profile read, if any.
    pub profile: Option<PathBuf>,
}

/// Packages named on the command line win; else `--profile`; else `./crossroot.toml`.
/// Targets named on the command line win over the profile's.
pub fn select(sel: &Selection, debug_info: bool) -> Result<Selected> {
    let profile_path = match (&sel.profile, sel.packages.is_empty()) {
        (Some(p), _) => Some(p.clone()),
        (None, true) if Path::new(PROFILE_FILE).is_file() => Some(PathBuf::from(PROFILE_FILE)),
        _ => None,
    };
    let profile = match &profile_path {
        Some(p) => Some(Profile::load(p).map_err(|e| UsageError(e.to_string()))?),
        None => None,
    };
    let mut options = BuildOptions::default();
    let mut packages = sel.packages.clone();
    let mut targets = sel.targets.clone();
    if let Some(p) = &profile {
        if packages.is_empty() {
            packages = p.packages.clone();
        }
        if targets.is_empty() {
            targets = p.targets.clone();
        }
        options.debug_info = p.debug_info;
        if let Some(o) = &p.opt_level {
            options.opt_level = o.clone();
        }
    }
    options.debug_info |= debug_info;
    Ok(Selected {
        packages,
        targets,
        options,
        profile: profile_path,
    })
}

pub fn load_recipes(settings: &Settings) -> Result<RecipeSet> {
    RecipeSet::load(&settings.recipe_dirs).map_err(|e| UsageError(e.to_string()).into())
}

/// A plan error caused by the user's input (unknown package, no targets) is a usage error.
pub fn make_plan(recipes: &RecipeSet, selected: &Selected, zig: &Zig) -> Result<Plan> {
    plan::plan(
        recipes,
        &selected.packages,
        &selected.targets,
        &zig.id(),
        &selected.options,
    )
    .map_err(|e| match e {
        plan::PlanError::Recipe(crate::recipe::RecipeError::UnknownPackage { .. })
        | plan::PlanError::NoPackages
        | plan::PlanError::NoTargets => UsageError(e.to_string()).into(),
        other => anyhow::Error::new(other),
    })
}

pub fn fetcher(settings: &Settings, reporter: Arc<dyn Reporter>) -> Result<Fetcher> {
    Fetcher::new(
        FetchConfig {
            downloads_dir: settings.home.downloads(),
            mirrors: settings.mirrors.clone(),
            debian_mirrors: settings.debian_mirrors.clone(),
            offline: settings.offline,
            concurrency: 4,
            timeout: Duration::from_secs(30),
            retries: 3,
        },
        reporter,
    )
    .context("could not set up downloads")
}

/// An installed zig, without fetching. `None` when there is none.
pub fn installed_zig(settings: &Settings, recipes: &RecipeSet) -> Result<Option<Zig>> {
    let recipe = recipes.toolchain("zig")?;
    let mut finder = Finder::new(&settings.home, &settings.host);
    Ok(finder.find_installed(recipe)?)
}

/// An installed zig, or the pinned release fetched and unpacked.
pub async fn provide_zig(
    settings: &Settings,
    recipes: &RecipeSet,
    fetcher: &Fetcher,
    reporter: &dyn Reporter,
) -> Result<Zig> {
    if let Some(z) = installed_zig(settings, recipes)? {
        reporter.debug(&format!(
            "using zig {} from {} ({})",
            z.version,
            z.exe.display(),
            z.origin
        ));
        return Ok(z);
    }
    let recipe = recipes.toolchain("zig")?;
    let artifact = toolchain::release_artifact(recipe)?;
    if settings.offline
        && !crate::fetch::cached_path(&settings.home.downloads(), &artifact).is_file()
        && !settings
            .mirrors
            .iter()
            .any(|m| matches!(m, crate::fetch::Mirror::Dir(_)))
    {
        return Err(toolchain::ToolchainError::Offline {
            version: recipe.version.to_string(),
        }
        .into());
    }
    reporter.info(&format!(
        "no zig installed; fetching zig {} for {}",
        recipe.version,
        toolchain::host_name()
    ));
    let fetched = fetcher
        .fetch(
            &format!("zig {}", recipe.version),
            std::slice::from_ref(&artifact),
        )
        .await?;
    // The minisign signature, on top of the sha256, before anything is unpacked.
    let signature = match toolchain::release_signature(recipe)? {
        Some((file, urls)) => {
            let what = format!("zig {} signature", recipe.version);
            let (bytes, origin) = fetcher
                .fetch_unpinned(&what, &file, &urls, 4096)
                .await
                .with_context(|| {
                    format!(
                        "refusing to install zig {}: its signature {file} (minisign key {}) could not be fetched",
                        recipe.version,
                        recipe.minisign_key.as_deref().unwrap_or_default()
                    )
                })?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            Some(toolchain::ReleaseSignature { file, origin, text })
        }
        None => None,
    };
    let mut finder = Finder::new(&settings.home, &settings.host);
    let (path, recipe) = (fetched.path.clone(), recipe.clone());
    Ok(finder.install_release(&recipe, &path, signature.as_ref(), reporter)?)
}

/// A tokio runtime for the commands that download.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")
}
