//! Building packages: extract, configure, make, install into a staging prefix, then move the
//! prefix into the package store under its key. Independent packages run at the same time
//! within one jobs budget, shared with every `make` through a jobserver.

mod steps;

pub use steps::{BuildStep, HostTools, steps_for};

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cache::{self, EntryLock, Home, LockMode};
use crate::plan::{BuildOptions, Plan, PlannedPackage};
use crate::recipe::SourceArtifact;
use crate::report::Reporter;
use crate::store::{PACKAGE_RECORD, PackageRecord, Store, merge_tree};
use crate::toolchain::{self, Toolchain};

/// Lines of a failed step's output shown in the error.
const TAIL_LINES: usize = 25;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Step(Box<StepFailure>),
    #[error(
        "{package}: could not start `{program}` for step `{step}`; is it installed? (`crossroot doctor` checks)"
    )]
    Spawn {
        package: String,
        step: String,
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{package}: the install step did not produce {what} (looked in {dir}); see the logs in {logs}"
    )]
    MissingOutput {
        package: String,
        what: String,
        dir: PathBuf,
        logs: PathBuf,
    },
    #[error("{package}: recipe {recipe} uses unknown placeholder `{{{name}}}`; known: {known}")]
    Placeholder {
        package: String,
        recipe: String,
        name: String,
        known: String,
    },
    #[error("{package}: could not {action} {path}")]
    Io {
        package: String,
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{package}: could not unpack {archive}")]
    Extract {
        package: String,
        archive: PathBuf,
        // Boxed: the extract error is large, and every build result carries this enum.
        #[source]
        source: Box<crate::extract::ExtractError>,
    },
    #[error("{package}: could not make its .pc files relocatable")]
    Pc {
        package: String,
        #[source]
        source: crate::pc::PcError,
    },
    #[error(transparent)]
    Cache(#[from] cache::CacheError),
    #[error("{package}: not built because `{dependency}` failed")]
    DependencyFailed { package: String, dependency: String },
    #[error("{count} packages failed:\n{list}")]
    Several { count: usize, list: String },
}

/// A build command that exited non-zero, with what a person needs to see why.
#[derive(Debug, thiserror::Error)]
#[error(
    "{package}: step `{step}` failed ({status})\n  command: {command}\n  directory: {cwd}\n  last lines of output:\n{tail}\n  full log: {log}"
)]
pub struct StepFailure {
    pub package: String,
    pub step: String,
    pub command: String,
    pub cwd: PathBuf,
    pub status: String,
    pub tail: String,
    pub log: PathBuf,
}

/// A verified source archive for one package.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub artifact: SourceArtifact,
    pub origin: String,
}

/// Shared locks on packages in the store, by key: while a build holds them, `cache prune`
/// leaves them alone. Held from when a package is found built, or finished, until the
/// sysroots made of it are assembled.
#[derive(Debug, Default)]
pub struct PackageHolds {
    locks: BTreeMap<String, EntryLock>,
}

impl PackageHolds {
    pub fn holds(&self, key: &str) -> bool {
        self.locks.contains_key(key)
    }
}

/// Builds packages into `<home>/packages-v1/<key>`.
pub struct Builder {
    pub home: Home,
    pub toolchain: Toolchain,
    pub tools: HostTools,
    pub jobs: usize,
    pub reporter: Arc<dyn Reporter>,
    jobserver: jobserver::Client,
    /// zig's clang arguments per (target, flags), with those flags and with none, captured
    /// once per run (see [`toolchain::direct`]); `None` when they could not be.
    direct_cc: Memo<(Vec<String>, Vec<String>)>,
    /// zig's link command per (target, flags), likewise.
    direct_link: Memo<toolchain::direct::LinkLine>,
    /// Targets a package was built for in this run (so zig's libc for it is in its cache).
    built_for: Mutex<BTreeSet<String>>,
    /// Deletions of finished packages' build trees, joined before `build_all` returns.
    cleanup: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

/// How long the capture of zig's link command may take before it is given up (it takes
/// ~0.1 s when zig's libc for the target is built; building libc takes ~50 s).
const LINK_CAPTURE_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// (target triple, build flags) for [`Builder::direct_cc`].
type DirectKey = (String, String);
type Memo<T> = Mutex<BTreeMap<DirectKey, Option<T>>>;

/// The value `memo` holds for `key`, or what `find` finds: `Some(found)` is kept (`found` may
/// be `None`: no way to find it), `None` means "not yet", to ask again next time. `find` runs
/// without the lock, so one package's probe does not hold up another's start; two finding the
/// same key at once both run it, and the first to finish is kept.
fn memo<T: Clone>(
    memo: &Memo<T>,
    key: &DirectKey,
    find: impl FnOnce() -> Option<Option<T>>,
) -> Option<T> {
    if let Some(found) = lock(memo).get(key) {
        return found.clone();
    }
    let found = find()?;
    lock(memo).entry(key.clone()).or_insert(found).clone()
}

impl Builder {
    pub fn new(
        home: Home,
        toolchain: Toolchain,
        tools: HostTools,
        jobs: usize,
        reporter: Arc<dyn Reporter>,
    ) -> std::io::Result<Self> {
        let jobs = jobs.max(1);
        Ok(Builder {
            home,
            toolchain,
            tools,
            jobs,
            reporter,
            jobserver: jobserver::Client::new(jobs)?,
            direct_cc: Mutex::new(BTreeMap::new()),
            direct_link: Mutex::new(BTreeMap::new()),
            built_for: Mutex::new(BTreeSet::new()),
            cleanup: Mutex::new(Vec::new()),
        })
    }

    pub fn package_dir(&self, key: &str) -> PathBuf {
        Store::new(&self.home).package_dir(key)
    }

    pub fn is_built(&self, key: &str) -> bool {
        cache::is_complete(&self.package_dir(key), key)
    }

    /// Builds every package of the plan that is not in the store yet, dependencies first,
    /// independent ones at the same time. `sources` maps package keys to their archives.
    /// Each package built, or found built by another crossroot, is added to `holds`; those
    /// already there count as built.
    pub fn build_all(
        &self,
        plan: &Plan,
        sources: &BTreeMap<String, SourceFile>,
        holds: &mut PackageHolds,
    ) -> Result<(), BuildError> {
        // Nodes are (target index, package index); a package waits for its direct deps.
        let nodes: Vec<(usize, usize)> = plan
            .targets
            .iter()
            .enumerate()
            .flat_map(|(t, tp)| (0..tp.packages.len()).map(move |p| (t, p)))
            .collect();
        // Nodes are laid out target by target, so a node's index is its target's offset + p.
        let offsets: Vec<usize> = plan
            .targets
            .iter()
            .scan(0, |next, tp| {
                let start = *next;
                *next += tp.packages.len();
                Some(start)
            })
            .collect();
        let id = |t: usize, p: usize| offsets[t] + p;
        #[derive(Clone, Copy, PartialEq)]
        enum State {
            Waiting,
            Running,
            Done,
            Failed,
        }
        sweep_finished_staging(&self.home.packages());
        let mut state: Vec<State> = nodes
            .iter()
            .map(|&(t, p)| {
                if holds.holds(&plan.targets[t].packages[p].key) {
                    State::Done
                } else {
                    State::Waiting
                }
            })
            .collect();
        let priority: Vec<(usize, u64)> = nodes
            .iter()
            .map(|&(t, p)| {
                let tp = &plan.targets[t];
                let dependents = tp
                    .packages
                    .iter()
                    .filter(|o| o.all_deps.contains(&p))
                    .count();
                let size = sources
                    .get(&tp.packages[p].key)
                    .and_then(|s| fs::metadata(&s.path).ok())
                    .map_or(0, |m| m.len());
                (dependents, size)
            })
            .collect();
        let mut errors: Vec<BuildError> = Vec::new();
        let (tx, rx) = mpsc::channel::<(usize, Result<EntryLock, BuildError>)>();
        std::thread::scope(|scope| {
            let mut running = 0usize;
            loop {
                if errors.is_empty() {
                    let mut ready: Vec<usize> = (0..nodes.len())
                        .filter(|&i| {
                            let (t, p) = nodes[i];
                            state[i] == State::Waiting
                                && plan.targets[t].packages[p]
                                    .deps
                                    .iter()
                                    .all(|&d| state[id(t, d)] == State::Done)
                        })
                        .collect();
                    // Long poles first: what others wait for, then the biggest sources.
                    ready.sort_by_key(|&i| std::cmp::Reverse(priority[i]));
                    for i in ready {
                        // One package per job slot; make's extra jobs come from the jobserver.
                        if running >= self.jobs {
                            break;
                        }
                        let (t, p) = nodes[i];
                        let pkg = &plan.targets[t].packages[p];
                        state[i] = State::Running;
                        running += 1;
                        let deps: Vec<PathBuf> = pkg
                            .all_deps
                            .iter()
                            .map(|&d| self.package_dir(&plan.targets[t].packages[d].key))
                            .collect();
                        let source = sources.get(&pkg.key).cloned();
                        let tx = tx.clone();
                        scope.spawn(move || {
                            let result = match source {
                                Some(src) => self.build_one(pkg, &src, &deps, &plan.options),
                                None => Err(BuildError::Io {
                                    package: pkg.label(),
                                    action: "find the source archive of",
                                    path: PathBuf::from(&pkg.recipe.name),
                                    source: std::io::Error::other("not fetched"),
                                }),
                            };
                            let _ = tx.send((i, result));
                        });
                    }
                }
                if running == 0 {
                    break;
                }
                let (i, result) = rx.recv().expect("a build thread reports");
                running -= 1;
                match result {
                    Ok(held) => {
                        let (t, p) = nodes[i];
                        holds
                            .locks
                            .insert(plan.targets[t].packages[p].key.clone(), held);
                        state[i] = State::Done;
                    }
                    Err(e) => {
                        state[i] = State::Failed;
                        errors.push(e);
                    }
                }
            }
        });
        for cleanup in std::mem::take(&mut *lock(&self.cleanup)) {
            let _ = cleanup.join();
        }
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.pop().unwrap()),
            n => Err(BuildError::Several {
                count: n,
                list: errors
                    .iter()
                    .map(|e| format!("- {e}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            }),
        }
    }

    /// The lock of a package in the store: exclusive to build it, shared to use it.
    fn package_lock(&self, key: &str) -> PathBuf {
        cache::lock_path(&self.package_dir(key))
    }

    /// A shared lock on the package `key` if it is in the store, taken after a build of it in
    /// progress elsewhere ends; `None` when it is not there (it is to be built).
    fn hold_if_built(&self, key: &str) -> Result<Option<EntryLock>, BuildError> {
        let lock = EntryLock::acquire_shared(&self.package_lock(key), &*self.reporter)?;
        Ok(self.is_built(key).then_some(lock))
    }

    /// Shared locks on the packages of `plan` that are in the store now, so that no `cache
    /// prune` removes them before their sysroots are assembled. Does not wait: a package that
    /// another crossroot is building now is left out, to be waited for by [`Self::build_all`].
    pub fn hold_built(&self, plan: &Plan) -> Result<PackageHolds, BuildError> {
        let mut holds = PackageHolds::default();
        for pkg in plan.targets.iter().flat_map(|t| t.packages.iter()) {
            // A missing package is left to `build_all` (and gets no lock file here).
            if holds.holds(&pkg.key) || !self.is_built(&pkg.key) {
                continue;
            }
            let lock = EntryLock::try_acquire(&self.package_lock(&pkg.key), LockMode::Shared)?;
            if let Some(lock) = lock
                && self.is_built(&pkg.key)
            {
                holds.locks.insert(pkg.key.clone(), lock);
            }
        }
        Ok(holds)
    }

    /// Builds one package, unless another process built it while we waited for its lock;
    /// returns a shared lock on the finished package, to hold until its sysroot is assembled.
    pub fn build_one(
        &self,
        pkg: &PlannedPackage,
        source: &SourceFile,
        dep_dirs: &[PathBuf],
        options: &BuildOptions,
    ) -> Result<EntryLock, BuildError> {
        // Users of a finished package hold it shared and never wait for an exclusive lock, and
        // builders wait only for shared ones: so two builds holding packages for each other's
        // sysroots cannot deadlock.
        loop {
            if let Some(held) = self.hold_if_built(&pkg.key)? {
                return Ok(held);
            }
            let lock = EntryLock::try_acquire(&self.package_lock(&pkg.key), LockMode::Exclusive)?;
            let Some(mut lock) = lock else {
                // Another crossroot took it after our look: wait for it with a shared lock.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            if !self.is_built(&pkg.key) {
                self.build_locked(pkg, source, dep_dirs, options)?;
            }
            lock.downgrade()?;
            // A prune may have taken the lock while it was being downgraded: look again.
            if self.is_built(&pkg.key) {
                return Ok(lock);
            }
        }
    }

    /// Builds one package into the store; the caller holds its lock exclusively and has
    /// found it missing.
    fn build_locked(
        &self,
        pkg: &PlannedPackage,
        source: &SourceFile,
        dep_dirs: &[PathBuf],
        options: &BuildOptions,
    ) -> Result<(), BuildError> {
        let label = pkg.label();
        let store = self.home.packages();
        let dest = self.package_dir(&pkg.key);
        let io = |action: &'static str, path: &Path| io_err(&label, action, path);
        // Whatever an interrupted run left for this key goes (its staging too, below); we hold
        // its lock.
        cache::remove_incomplete(&dest)?;

        // Hold a job token for the whole package; make's own first job runs on it.
        let token = self
            .jobserver
            .acquire()
            .map_err(io("take a job token for", &store))?;
        let started = Instant::now();
        let progress = self.reporter.start(&format!("build {label}"), None);
        let staging = cache::new_staging(&store, &pkg.key)
            .map_err(io("create a staging directory in", &store))?;
        let root = staging.path();
        let (src, build, prefix, deps, bin) = (
            root.join("src"),
            root.join("build"),
            root.join("prefix"),
            root.join("deps"),
            root.join("bin"),
        );
        for d in [&build, &prefix, &deps, &bin] {
            fs::create_dir_all(d).map_err(io("create", d))?;
        }
        progress.set_message("extract");
        crate::extract::extract(&source.path, &src, &Default::default()).map_err(|e| {
            BuildError::Extract {
                package: label.clone(),
                archive: source.path.clone(),
                source: Box::new(e),
            }
        })?;
        for dep in dep_dirs {
            merge_tree(dep, &deps).map_err(io("link dependency files from", dep))?;
        }
        // Dependents record the paths pkg-config prints; absolute ones rewrite cleanly later.
        pin_pc_prefix(&deps.join("lib/pkgconfig")).map_err(io("rewrite .pc files in", &deps))?;
        let mut wrappers = self.toolchain.wrappers(pkg.target, &self.home);
        wrappers.push((
            format!("{}-pkg-config", pkg.target.triple),
            toolchain::pkg_config_wrapper(
                &self.tools.pkg_config,
                pkg.target.triple,
                "deps/lib/pkgconfig",
            ),
        ));
        // Links may go direct once zig's libc for the target is likely in its cache: a
        // dependency or another package was built for it. (Capturing zig's link command would
        // build libc otherwise; it gives up after LINK_CAPTURE_LIMIT rather than wait for it.)
        let libc_built = !dep_dirs.is_empty() || lock(&self.built_for).contains(pkg.target.triple);
        self.use_direct_cc(pkg, options, libc_built, root, &bin, &mut wrappers)?;
        toolchain::write_wrappers(&bin, &wrappers)?;

        let log_dir = self
            .home
            .logs()
            .join(pkg.target.triple)
            .join(format!("{}-{}", pkg.recipe.name, pkg.recipe.version));
        fs::create_dir_all(&log_dir).map_err(io("create", &log_dir))?;
        let layout = steps::Layout {
            src: src.clone(),
            build: build.clone(),
            prefix: prefix.clone(),
            deps: deps.clone(),
            bin: bin.clone(),
        };
        let plan_steps = steps_for(pkg, &layout, &self.tools, options).map_err(|name| {
            BuildError::Placeholder {
                package: label.clone(),
                recipe: pkg.recipe.origin.to_string(),
                name,
                known: steps::PLACEHOLDERS.join(", "),
            }
        })?;
        for (n, step) in plan_steps.iter().enumerate() {
            progress.set_message(&step.name);
            let log = log_dir.join(format!("{:02}-{}.log", n + 1, step.name));
            self.run_step(&label, step, &log)?;
        }
        drop(token);

        progress.set_message("install");
        finish_prefix(pkg, &prefix, &log_dir, &label)?;
        let mut build_paths = [
            prefix.display().to_string(),
            deps.display().to_string(),
            root.display().to_string(),
        ];
        build_paths.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let paths: Vec<&str> = build_paths.iter().map(String::as_str).collect();
        let pc_dir = prefix.join("lib/pkgconfig");
        if pc_dir.is_dir() {
            crate::pc::relocate_pc_dir(&pc_dir, &paths).map_err(|e| BuildError::Pc {
                package: label.clone(),
                source: e,
            })?;
        }
        let record = PackageRecord {
            name: pkg.recipe.name.clone(),
            version: pkg.recipe.version.to_string(),
            license: pkg.recipe.license.clone(),
            homepage: pkg.recipe.homepage.clone(),
            target: pkg.target.triple.to_string(),
            key: pkg.key.clone(),
            source_file: source.artifact.file.clone(),
            source_sha256: source.artifact.sha256.clone(),
            source_origin: source.origin.clone(),
            source_urls: source.artifact.urls.clone(),
            dependencies: pkg.recipe.dependencies.keys().cloned().collect(),
            toolchain: self.toolchain.id(pkg.target),
            options: options.clone(),
            build_system: pkg.build.system,
            build_args: pkg.build.args.clone(),
            seconds: started.elapsed().as_secs_f64(),
        };
        cache::write_atomic(
            &prefix.join(PACKAGE_RECORD),
            &serde_json::to_vec_pretty(&record).expect("record serializes"),
        )?;
        fs::rename(&prefix, &dest).map_err(io("move the built package to", &dest))?;
        cache::mark_complete(&dest, &pkg.key)?;
        progress.finish(
            true,
            &format!("built {label} in {:.1}s", started.elapsed().as_secs_f64()),
        );
        // The build tree (OpenSSL's: ~0.6 s to delete) goes in the background, so the packages
        // waiting for this one start now; `build_all` waits for it before returning.
        let cleanup = std::thread::spawn(move || drop(staging));
        lock(&self.cleanup).push(cleanup);
        lock(&self.built_for).insert(pkg.target.triple.to_string());
        Ok(())
    }

    /// With zig, makes the build steps' `<triple>-cc` skip zig cc where it can (see
    /// [`toolchain::direct`]) and writes what it needs into `bin`. Leaves the wrappers alone
    /// for other toolchains, or when the direct path is off or its probe failed. Links go
    /// direct only when `libc_built`.
    fn use_direct_cc(
        &self,
        pkg: &PlannedPackage,
        options: &BuildOptions,
        libc_built: bool,
        scratch: &Path,
        bin: &Path,
        wrappers: &mut [(String, String)],
    ) -> Result<(), BuildError> {
        let Toolchain::Zig(zig) = &self.toolchain else {
            return Ok(());
        };
        if !toolchain::direct::enabled() {
            return Ok(());
        }
        let cflags = options.cflags();
        let key = (pkg.target.triple.to_string(), cflags.clone());
        let skip = |why: String| {
            self.reporter.debug(&format!(
                "{}: build steps use zig cc for {why}",
                pkg.target.triple
            ))
        };
        let compile = memo(&self.direct_cc, &key, || {
            let probe = scratch.join("zig-direct-probe");
            let found =
                toolchain::direct::capture(zig, pkg.target, &cflags, &probe).and_then(|args| {
                    // What zig gives clang with no -O/-g, for preprocessor runs without CFLAGS.
                    let plain = toolchain::direct::capture(zig, pkg.target, "", &probe)?;
                    Ok((args, plain))
                });
            let _ = fs::remove_dir_all(&probe);
            Some(found.map_err(|why| skip(format!("every call: {why}"))).ok())
        });
        let Some((args, plain)) = compile else {
            return Ok(());
        };
        let link = if libc_built {
            memo(&self.direct_link, &key, || {
                let probe = scratch.join("zig-direct-link-probe");
                let found = toolchain::direct::capture_link(
                    zig,
                    pkg.target,
                    &cflags,
                    &args,
                    &self.home.zig_cache(),
                    &probe,
                    LINK_CAPTURE_LIMIT,
                );
                let _ = fs::remove_dir_all(&probe);
                match found {
                    Ok(Some(line)) => Some(Some(line)),
                    Ok(None) => {
                        skip(
                            "links: zig is still building libc; the next package tries again"
                                .into(),
                        );
                        None
                    }
                    Err(why) => {
                        skip(format!("links: {why}"));
                        Some(None)
                    }
                }
            })
        } else {
            None
        };
        let files =
            toolchain::direct::DirectFiles::write(bin, &args, &plain, link.as_ref()).map_err(
                io_err(&pkg.label(), "write zig's captured arguments into", bin),
            )?;
        let cc = format!("{}-cc", pkg.target.triple);
        if let Some(w) = wrappers.iter_mut().find(|(n, _)| *n == cc) {
            w.1 = toolchain::direct::cc_wrapper(
                zig,
                pkg.target,
                &self.home.zig_cache(),
                &files,
                &cflags,
            );
        }
        Ok(())
    }

    fn run_step(&self, label: &str, step: &BuildStep, log: &Path) -> Result<(), BuildError> {
        let io = |action: &'static str, path: &Path| io_err(label, action, path);
        let out = File::create(log).map_err(io("create log", log))?;
        let err = out.try_clone().map_err(io("open log", log))?;
        let mut cmd = Command::new(&step.program);
        cmd.args(&step.args)
            .current_dir(&step.cwd)
            .env_clear()
            .envs(&step.env)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        self.jobserver.configure_make(&mut cmd);
        // A build step must not outlive a crossroot that was killed (even with SIGKILL).
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        self.reporter.debug(&format!(
            "{label}: {} (in {})",
            step.command_line(),
            step.cwd.display()
        ));
        let status = cmd.status().map_err(|source| BuildError::Spawn {
            package: label.to_string(),
            step: step.name.clone(),
            program: step.program.display().to_string(),
            source,
        })?;
        if status.success() {
            return Ok(());
        }
        Err(BuildError::Step(Box::new(StepFailure {
            package: label.to_string(),
            step: step.name.clone(),
            command: step.command_line(),
            cwd: step.cwd.clone(),
            status: status.to_string(),
            tail: tail(log, TAIL_LINES),
            log: log.to_path_buf(),
        })))
    }
}

/// Maps an I/O error to one that names the package, the action and the path.
fn io_err(
    package: &str,
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> BuildError + use<> {
    let package = package.to_string();
    let path = path.to_path_buf();
    move |source| BuildError::Io {
        package,
        action,
        path,
        source,
    }
}

pub use crate::report::tail;

/// Replaces the relocatable prefix of every `.pc` file in `dir` with the absolute one. The
/// files are hard links into the store, so each is replaced, never written through.
fn pin_pc_prefix(dir: &Path) -> std::io::Result<()> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Ok(());
    };
    let root = dir.parent().and_then(Path::parent).unwrap_or(dir);
    for e in rd {
        let path = e?.path();
        if path.extension().is_some_and(|x| x == "pc") {
            let text = fs::read_to_string(&path)?;
            let pinned = text.replace(crate::pc::RELOCATED_PREFIX, &root.display().to_string());
            fs::remove_file(&path)?;
            fs::write(&path, pinned)?;
        }
    }
    Ok(())
}

/// Removes build trees of packages that are complete: a run killed while deleting one in the
/// background (after the package was in place) leaves it, and no live build owns it then (a
/// second build of the key finds it complete and makes none).
fn sweep_finished_staging(store: &Path) {
    let Ok(rd) = fs::read_dir(store) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(key) = name
            .strip_prefix(cache::STAGING_PREFIX)
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !key.is_empty() && cache::is_complete(&store.join(key), key) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// Keeps what a static sysroot needs (headers, `.a`, `.pc`, CMake configs) and checks that
/// the recipe's promised libraries and `.pc` files are there.
fn finish_prefix(
    pkg: &PlannedPackage,
    prefix: &Path,
    logs: &Path,
    label: &str,
) -> Result<(), BuildError> {
    let io = |action: &'static str, path: &Path| io_err(label, action, path);
    for dir in ["bin", "share", "sbin", "libexec", "etc", "ssl"] {
        let d = prefix.join(dir);
        if d.exists() {
            fs::remove_dir_all(&d).map_err(io("remove", &d))?;
        }
    }
    let lib = prefix.join("lib");
    if lib.is_dir() {
        for e in fs::read_dir(&lib).map_err(io("read", &lib))?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let shared = name.ends_with(".so") || name.contains(".so.");
            if shared || name.ends_with(".la") || name == "engines-3" || name == "ossl-modules" {
                let p = e.path();
                if p.is_dir() {
                    fs::remove_dir_all(&p).map_err(io("remove", &p))?;
                } else {
                    fs::remove_file(&p).map_err(io("remove", &p))?;
                }
            }
        }
    }
    for l in &pkg.recipe.install.libs {
        if !lib.join(l).is_file() {
            return Err(BuildError::MissingOutput {
                package: label.to_string(),
                what: format!("lib/{l}"),
                dir: prefix.to_path_buf(),
                logs: logs.to_path_buf(),
            });
        }
    }
    for pc in &pkg.recipe.install.pkg_config {
        if !lib.join("pkgconfig").join(format!("{pc}.pc")).is_file() {
            return Err(BuildError::MissingOutput {
                package: label.to_string(),
                what: format!("lib/pkgconfig/{pc}.pc"),
                dir: prefix.to_path_buf(),
                logs: logs.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// How long ago, for messages.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{:.0}ms", s * 1000.0)
    } else if s < 120.0 {
        format!("{s:.1}s")
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_removes_the_build_trees_of_complete_packages_only() {
        let store = tempfile::tempdir().unwrap();
        let (done, busy) = ("a".repeat(64), "b".repeat(64));
        fs::create_dir(store.path().join(&done)).unwrap();
        cache::mark_complete(&store.path().join(&done), &done).unwrap();
        let stale = store.path().join(format!(".tmp-{done}-x1"));
        let live = store.path().join(format!(".tmp-{busy}-y2"));
        for d in [&stale, &live] {
            fs::create_dir_all(d.join("build")).unwrap();
        }
        sweep_finished_staging(store.path());
        assert!(!stale.exists(), "the finished package's tree stays");
        assert!(live.exists(), "a build in progress lost its tree");
        assert!(store.path().join(&done).exists());
    }
}
