//! One file per subcommand. Each resolves what it needs, calls the stages, renders output.

pub mod build;
pub mod cache;
pub mod doctor;
pub mod env;
pub mod exec;
pub mod fetch;
pub mod go;
pub mod help;
pub mod list;
pub mod registry;
pub mod reporter;
pub mod run;
pub mod sbom;
pub mod targets;
pub mod verify;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::cli::{Cli, Command, GoCommand, Selection};
use crate::fetch::{FetchConfig, Fetcher};
use crate::plan::{self, BuildOptions, Plan};
use crate::recipe::RecipeSet;
use crate::recipe::profile::{PROFILE_FILE, Profile};
use crate::recipe::{ToolchainKind, ToolchainRecipe};
use crate::report::Reporter;
use crate::settings::{ProcessEnv, Settings};
use crate::target::Target;
use crate::toolchain::{self, Finder, GccMusl, Prebuilt, Toolchain, Zig};

/// Prints a JSON document with its format name and version, as docs/json.md shows.
pub fn print_json(format: &str, body: serde_json::Value) -> Result<()> {
    let mut doc = serde_json::json!({ "format": format, "version": 1 });
    if let (Some(doc), serde_json::Value::Object(body)) = (doc.as_object_mut(), body) {
        doc.extend(body);
    }
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

/// An error in what the user asked for (exit code 2), as opposed to a failure doing it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    // These describe crossroot itself and need no home or settings.
    match cli.command {
        Command::Completions { shell } => return help::completions(shell),
        Command::Man => return help::man(),
        _ => {}
    }
    let settings =
        Settings::resolve(&cli.global, &ProcessEnv).map_err(|e| UsageError(e.to_string()))?;
    let reporter: Arc<dyn Reporter> = Arc::new(reporter::TermReporter::new(settings.verbosity));
    match cli.command {
        Command::Build(args) => build::run(&settings, reporter, args),
        Command::Env(args) => env::run(&settings, reporter, args),
        Command::Exec(args) => exec::run(&settings, reporter, args),
        Command::Verify(args) => verify::run(args),
        Command::Run(args) => run::run(&settings, args),
        Command::Go(GoCommand::Build(args)) => go::build(&settings, reporter, args),
        Command::Sbom(args) => sbom::run(&settings, args),
        Command::Fetch(args) => fetch::run(&settings, reporter, args),
        Command::List(args) => list::run(&settings, args.json),
        Command::Targets(args) => targets::run(args.json),
        Command::Doctor => doctor::run(&settings),
        Command::Cache(c) => cache::run(&settings, reporter, c),
        Command::Completions { .. } | Command::Man => unreachable!("handled above"),
    }
}

/// What to build: packages, targets and options, from the command line or a profile.
#[derive(Debug, Clone)]
pub struct Selected {
    pub packages: Vec<String>,
    pub targets: Vec<&'static Target>,
    pub options: BuildOptions,
    /// `--toolchain`, else the profile's `toolchain`, else `zig`.
    pub toolchain: String,
    /// The profile read, if any.
    pub profile: Option<PathBuf>,
    /// The profile's `[cache]`, if any.
    pub cache: Option<crate::recipe::profile::ProfileCache>,
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
    let mut toolchain = sel.toolchain.clone();
    if let Some(p) = &profile {
        if toolchain.is_none() {
            toolchain = p.toolchain.clone();
        }
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
        toolchain: toolchain.unwrap_or_else(|| "zig".into()),
        profile: profile_path,
        cache: profile.as_ref().and_then(|p| p.cache.clone()),
    })
}

pub fn load_recipes(settings: &Settings) -> Result<RecipeSet> {
    RecipeSet::load(&settings.recipe_dirs).map_err(|e| UsageError(e.to_string()).into())
}

/// A plan error caused by the user's input (unknown package, no targets) is a usage error.
pub fn make_plan(recipes: &RecipeSet, selected: &Selected, toolchain: &Toolchain) -> Result<Plan> {
    plan::plan_with(
        recipes,
        &selected.packages,
        &selected.targets,
        &|t| toolchain.id(t),
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
            max_download: settings.max_download,
        },
        reporter,
    )
    .context("could not set up downloads")
}

/// The recipe behind a `--toolchain` value: `zig`, `gcc` (the gcc-musl recipe `musl`), or the
/// name of a prebuilt toolchain recipe.
pub fn toolchain_recipe<'a>(recipes: &'a RecipeSet, choice: &str) -> Result<&'a ToolchainRecipe> {
    let (name, kind) = match choice {
        "zig" => ("zig", ToolchainKind::Zig),
        "gcc" => ("musl", ToolchainKind::GccMusl),
        other => (other, ToolchainKind::Prebuilt),
    };
    let known = || {
        let mut names = vec!["zig".to_string(), "gcc".to_string()];
        names.extend(
            recipes
                .toolchains()
                .filter(|t| t.kind == ToolchainKind::Prebuilt)
                .map(|t| t.name.clone()),
        );
        names.join(", ")
    };
    match recipes.toolchain(name) {
        Ok(r) if r.kind == kind => Ok(r),
        Ok(r) => Err(UsageError(format!(
            "toolchain `{choice}`: the recipe {} is of kind {}, expected {}; known toolchains: {}",
            r.origin,
            r.kind.as_str(),
            kind.as_str(),
            known()
        ))
        .into()),
        Err(_) => Err(UsageError(format!(
            "unknown toolchain `{choice}`; known toolchains: {}",
            known()
        ))
        .into()),
    }
}

/// The selected toolchain as this host has it, without fetching or building anything:
/// `None` when zig is chosen and none is installed. The gcc toolchain needs the host's cross
/// gcc for every target (an error names the package otherwise).
pub fn find_toolchain(
    settings: &Settings,
    recipes: &RecipeSet,
    selected: &Selected,
) -> Result<Option<Toolchain>> {
    let recipe = toolchain_recipe(recipes, &selected.toolchain)?;
    match recipe.kind {
        ToolchainKind::Zig => Ok(installed_zig(settings, recipes)?.map(Toolchain::Zig)),
        ToolchainKind::GccMusl => {
            let mut per_target = Vec::new();
            for &t in &selected.targets {
                let gcc = toolchain::gcc::find_host_gcc(&settings.host, t)?;
                per_target.push(GccMusl::new(&settings.home, recipe, t, gcc));
            }
            Ok(Some(Toolchain::Gcc(per_target)))
        }
        ToolchainKind::Prebuilt => {
            let per_target = selected
                .targets
                .iter()
                .map(|&t| Prebuilt::find(&settings.home, recipe, t))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(Toolchain::Prebuilt(per_target)))
        }
    }
}

/// The selected toolchain ready to compile with: zig installed or fetched; for gcc, musl
/// built per target with the host's cross gcc; prebuilt archives fetched and unpacked.
pub fn provide_toolchain(
    settings: &Settings,
    recipes: &RecipeSet,
    selected: &Selected,
    tools: &crate::build::HostTools,
    reporter: Arc<dyn Reporter>,
) -> Result<Toolchain> {
    let found = find_toolchain(settings, recipes, selected)?;
    match found {
        None => {
            let rt = runtime()?;
            let fetcher = fetcher(settings, reporter.clone())?;
            let zig = rt.block_on(provide_zig(settings, recipes, &fetcher, &*reporter))?;
            Ok(Toolchain::Zig(zig))
        }
        Some(Toolchain::Zig(z)) => Ok(Toolchain::Zig(z)),
        Some(Toolchain::Gcc(per_target)) => {
            let todo: Vec<&GccMusl> = per_target.iter().filter(|g| !g.is_built()).collect();
            if !todo.is_empty() {
                let recipe = toolchain_recipe(recipes, &selected.toolchain)?;
                let rt = runtime()?;
                let fetcher = fetcher(settings, reporter.clone())?;
                let label = format!("{} {}", recipe.name, recipe.version);
                let source = rt.block_on(fetcher.fetch(&label, &recipe.sources))?;
                drop(rt);
                for g in todo {
                    let logs = settings
                        .home
                        .logs()
                        .join(g.target.triple)
                        .join(format!("{}-{}", recipe.name, recipe.version));
                    reporter.info(&format!(
                        "building musl {} for {} with {}",
                        recipe.version,
                        g.target.triple,
                        g.gcc.exe.display()
                    ));
                    g.build(
                        &source.path,
                        &tools.make,
                        &tools.path,
                        settings.jobs,
                        &logs,
                        &*reporter,
                    )?;
                }
            }
            Ok(Toolchain::Gcc(per_target))
        }
        Some(Toolchain::Prebuilt(per_target)) => {
            let todo: Vec<&Prebuilt> = per_target.iter().filter(|p| !p.is_installed()).collect();
            if !todo.is_empty() {
                let rt = runtime()?;
                let fetcher = fetcher(settings, reporter.clone())?;
                for p in todo {
                    let label = format!("{} {} ({})", p.recipe, p.version, p.target.triple);
                    let fetched = rt.block_on(fetcher.fetch(&label, &[p.artifact()]))?;
                    p.install(&fetched.path, &*reporter)?;
                }
            }
            Ok(Toolchain::Prebuilt(per_target))
        }
    }
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
