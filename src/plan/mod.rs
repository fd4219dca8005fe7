//! The plan: which packages to build for which targets, in which order, under which keys.
//!
//! A package's key is the sha256 of a canonical JSON encoding of everything that decides its
//! bytes: the recipe after the target's overrides, its pinned sources, the toolchain's
//! identity, the target, the build options and its dependencies' keys. Two sysroots that share
//! a package share the stored build; a changed recipe changes its key and its dependents'.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::recipe::{BuildSpec, InstallSpec, Recipe, RecipeError, RecipeSet, SourceArtifact};
use crate::target::Target;
use crate::toolchain::ToolchainId;

/// Bumped whenever crossroot changes how it builds, so old packages are not reused.
/// 2: zig builds compile through zig's clang directly ([`crate::toolchain::direct`]).
pub const BUILDER_VERSION: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Recipe(#[from] RecipeError),
    #[error(
        "{path}: `{package}` needs `{dependency} {requirement}`, but the recipe for `{dependency}` has version {found}"
    )]
    Unsatisfied {
        path: String,
        package: String,
        dependency: String,
        requirement: String,
        found: String,
    },
    #[error("dependency cycle: {cycle}")]
    Cycle { cycle: String },
    #[error("nothing to build: name packages (see `crossroot list`) or a profile with `packages`")]
    NoPackages,
    #[error(
        "no target given: pass --target (e.g. --target aarch64-linux-musl) or list targets in the profile"
    )]
    NoTargets,
}

/// Options that change the bytes of every package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BuildOptions {
    /// `-O` level handed to the compiler.
    pub opt_level: String,
    /// Keep debug information (`-g`) instead of `-g0`.
    pub debug_info: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            opt_level: "2".into(),
            debug_info: false,
        }
    }
}

impl BuildOptions {
    pub fn cflags(&self) -> String {
        let g = if self.debug_info { "-g" } else { "-g0" };
        format!("-O{} {g}", self.opt_level)
    }
}

/// One package to build for one target.
#[derive(Debug, Clone)]
pub struct PlannedPackage {
    pub recipe: Recipe,
    pub target: &'static Target,
    /// Hex sha256 cache key.
    pub key: String,
    /// Indices (into the target plan's packages) of direct dependencies.
    pub deps: Vec<usize>,
    /// Indices of all transitive dependencies, dependencies first.
    pub all_deps: Vec<usize>,
    /// The recipe's `[build]` after the target's overrides.
    pub build: BuildSpec,
}

impl PlannedPackage {
    pub fn label(&self) -> String {
        format!(
            "{} {} ({})",
            self.recipe.name, self.recipe.version, self.target.triple
        )
    }
}

/// Everything for one target: packages in dependency order and the sysroot key.
#[derive(Debug, Clone)]
pub struct TargetPlan {
    pub target: &'static Target,
    /// The compiler's identity for this target (in every package key).
    pub toolchain: ToolchainId,
    pub packages: Vec<PlannedPackage>,
    pub sysroot_key: String,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub options: BuildOptions,
    pub targets: Vec<TargetPlan>,
}

impl Plan {
    /// `crossroot-v1-<hex>`: changes exactly when a target's sysroot key does (the CI cache key
    /// `cache key` prints, and the tag of a selection's index in a registry).
    pub fn selection_key(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for t in &self.targets {
            h.update(t.target.triple.as_bytes());
            h.update(b"=");
            h.update(t.sysroot_key.as_bytes());
            h.update(b"\n");
        }
        format!("crossroot-v1-{}", &hex::encode(h.finalize())[..32])
    }
}

#[derive(Serialize)]
struct PackageKeyInput<'a> {
    crossroot_builder: u32,
    name: &'a str,
    version: String,
    sources: Vec<(&'a str, &'a str)>,
    /// Per source file, the fingerprints of the keys that must have signed it (left out when
    /// none does, so unsigned packages keep their keys).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    signed_by: BTreeMap<&'a str, &'a [String]>,
    build: &'a BuildSpec,
    install: &'a InstallSpec,
    toolchain: &'a ToolchainId,
    target: &'a str,
    options: &'a BuildOptions,
    dependencies: BTreeMap<&'a str, &'a str>,
}

#[derive(Serialize)]
struct SysrootKeyInput<'a> {
    crossroot_builder: u32,
    target: &'a str,
    packages: BTreeMap<&'a str, &'a str>,
}

fn sha256_json<T: Serialize>(value: &T) -> String {
    let bytes = serde_json::to_vec(value).expect("key input serializes");
    hex::encode(Sha256::digest(&bytes))
}

/// Orders `roots` and their dependencies so that every package comes after its dependencies.
pub fn resolve(recipes: &RecipeSet, roots: &[String]) -> Result<Vec<Recipe>, PlanError> {
    if roots.is_empty() {
        return Err(PlanError::NoPackages);
    }
    let mut order: Vec<Recipe> = Vec::new();
    let mut done = BTreeSet::new();
    let mut stack: Vec<String> = Vec::new();
    fn visit(
        recipes: &RecipeSet,
        name: &str,
        order: &mut Vec<Recipe>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Result<(), PlanError> {
        if done.contains(name) {
            return Ok(());
        }
        if let Some(pos) = stack.iter().position(|n| n == name) {
            let mut cycle = stack[pos..].to_vec();
            cycle.push(name.to_string());
            return Err(PlanError::Cycle {
                cycle: cycle.join(" -> "),
            });
        }
        let recipe = recipes.library(name)?;
        stack.push(name.to_string());
        for (dep, req) in &recipe.dependencies {
            let found = recipes.library(dep)?;
            if !req.matches(&found.version) {
                return Err(PlanError::Unsatisfied {
                    path: recipe.origin.to_string(),
                    package: name.to_string(),
                    dependency: dep.clone(),
                    requirement: req.to_string(),
                    found: found.version.to_string(),
                });
            }
            visit(recipes, dep, order, done, stack)?;
        }
        stack.pop();
        done.insert(name.to_string());
        order.push(recipe.clone());
        Ok(())
    }
    for root in roots {
        visit(recipes, root, &mut order, &mut done, &mut stack)?;
    }
    Ok(order)
}

/// Builds the plan for `roots` on every target, with one toolchain for all of them.
pub fn plan(
    recipes: &RecipeSet,
    roots: &[String],
    targets: &[&'static Target],
    toolchain: &ToolchainId,
    options: &BuildOptions,
) -> Result<Plan, PlanError> {
    plan_with(recipes, roots, targets, &|_| toolchain.clone(), options)
}

/// Builds the plan for `roots` on every target, with the toolchain `toolchain(target)`
/// names for each (the gcc toolchains differ per target).
pub fn plan_with(
    recipes: &RecipeSet,
    roots: &[String],
    targets: &[&'static Target],
    toolchain_for: &dyn Fn(&Target) -> ToolchainId,
    options: &BuildOptions,
) -> Result<Plan, PlanError> {
    if targets.is_empty() {
        return Err(PlanError::NoTargets);
    }
    let order = resolve(recipes, roots)?;
    let index: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    let mut target_plans = Vec::new();
    let mut seen_targets = BTreeSet::new();
    for &target in targets {
        if !seen_targets.insert(target.triple) {
            continue;
        }
        let toolchain = &toolchain_for(target);
        let mut packages: Vec<PlannedPackage> = Vec::with_capacity(order.len());
        for recipe in &order {
            let deps: Vec<usize> = recipe
                .dependencies
                .keys()
                .map(|d| index[d.as_str()])
                .collect();
            let mut all: BTreeSet<usize> = BTreeSet::new();
            for &d in &deps {
                all.insert(d);
                all.extend(packages[d].all_deps.iter().copied());
            }
            let build = recipe.build_for(target.triple);
            let key = sha256_json(&PackageKeyInput {
                crossroot_builder: BUILDER_VERSION,
                name: &recipe.name,
                version: recipe.version.to_string(),
                sources: recipe
                    .sources
                    .iter()
                    .map(|s: &SourceArtifact| (s.file.as_str(), s.sha256.as_str()))
                    .collect(),
                signed_by: recipe
                    .sources
                    .iter()
                    .filter_map(|s| {
                        let sig = s.signature.as_ref()?;
                        Some((s.file.as_str(), sig.fingerprints.as_slice()))
                    })
                    .collect(),
                build: &build,
                install: &recipe.install,
                toolchain,
                target: target.triple,
                options,
                dependencies: deps
                    .iter()
                    .map(|&d| (packages[d].recipe.name.as_str(), packages[d].key.as_str()))
                    .collect(),
            });
            packages.push(PlannedPackage {
                recipe: recipe.clone(),
                target,
                key,
                deps,
                // Indices grow in dependency order, so sorted is dependencies-first.
                all_deps: all.into_iter().collect(),
                build,
            });
        }
        let sysroot_key = sha256_json(&SysrootKeyInput {
            crossroot_builder: BUILDER_VERSION,
            target: target.triple,
            packages: packages
                .iter()
                .map(|p| (p.recipe.name.as_str(), p.key.as_str()))
                .collect(),
        });
        target_plans.push(TargetPlan {
            target,
            toolchain: toolchain.clone(),
            packages,
            sysroot_key,
        });
    }
    Ok(Plan {
        options: options.clone(),
        targets: target_plans,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tc() -> ToolchainId {
        ToolchainId {
            name: "zig".into(),
            version: "0.17.1".into(),
            sha256: "ab".repeat(32),
            flags: Vec::new(),
        }
    }

    fn t(name: &str) -> &'static Target {
        Target::parse(name).unwrap()
    }

    #[test]
    fn builtin_curl_plan_orders_dependencies_first() {
        let set = RecipeSet::builtin().unwrap();
        let p = plan(
            &set,
            &["curl".into()],
            &[t("aarch64-linux-musl"), t("riscv64-linux-musl")],
            &tc(),
            &BuildOptions::default(),
        )
        .unwrap();
        assert_eq!(p.targets.len(), 2);
        let names: Vec<_> = p.targets[0]
            .packages
            .iter()
            .map(|p| p.recipe.name.as_str())
            .collect();
        assert_eq!(names.last(), Some(&"curl"));
        assert_eq!(names.len(), 5);
        let curl = p.targets[0].packages.last().unwrap();
        assert_eq!(curl.all_deps.len(), 4);
        // Different targets, different keys; same inputs, same keys.
        assert_ne!(curl.key, p.targets[1].packages.last().unwrap().key);
        let again = plan(
            &set,
            &["curl".into()],
            &[t("linux/arm64")],
            &tc(),
            &BuildOptions::default(),
        )
        .unwrap();
        assert_eq!(again.targets[0].packages.last().unwrap().key, curl.key);
        assert_eq!(again.targets[0].sysroot_key, p.targets[0].sysroot_key);
    }

    #[test]
    fn keys_change_with_inputs_and_propagate_to_dependents_only() {
        let set = RecipeSet::builtin().unwrap();
        // The key of each package of curl for x86_64, planned with these inputs.
        let keys = |set: &RecipeSet, tc: &ToolchainId, options: &BuildOptions| {
            let p = plan(
                set,
                &["curl".into()],
                &[t("x86_64-linux-musl")],
                tc,
                options,
            )
            .unwrap();
            p.targets[0]
                .packages
                .iter()
                .map(|x| (x.recipe.name.clone(), x.key.clone()))
                .collect::<BTreeMap<String, String>>()
        };
        let k0 = keys(&set, &tc(), &BuildOptions::default());
        let debug = BuildOptions {
            debug_info: true,
            ..Default::default()
        };
        let k1 = keys(&set, &tc(), &debug);
        assert!(k0.iter().all(|(n, k)| k1[n] != *k));
        let mut other_tc = tc();
        other_tc.version = "0.17.2".into();
        let k2 = keys(&set, &other_tc, &BuildOptions::default());
        assert!(k0.iter().all(|(n, k)| k2[n] != *k));
        // A CPU baseline the wrappers pass (`-mcpu=…`) is part of the toolchain's identity.
        let mut with_flags = tc();
        with_flags.flags = vec!["-mcpu=baseline".into()];
        let k3 = keys(&set, &with_flags, &BuildOptions::default());
        assert!(k0.iter().all(|(n, k)| k3[n] != *k));

        // An overlay that changes only zlib changes zlib and curl, not openssl.
        let dir = tempfile::tempdir().unwrap();
        let zlib = crate::recipe::BUILTIN_RECIPES
            .iter()
            .find(|(f, _)| *f == "zlib.toml")
            .unwrap()
            .1;
        fs::write(
            dir.path().join("zlib.toml"),
            zlib.replace("\"--static\"", "\"--static\", \"--const\""),
        )
        .unwrap();
        let set2 = RecipeSet::load(&[dir.path().to_path_buf()]).unwrap();
        let k4 = keys(&set2, &tc(), &BuildOptions::default());
        assert_ne!(k4["zlib"], k0["zlib"]);
        assert_ne!(k4["curl"], k0["curl"]);
        assert_eq!(k4["openssl"], k0["openssl"]);
        assert_eq!(k4["nghttp2"], k0["nghttp2"]);
    }

    #[test]
    fn the_signing_fingerprints_are_part_of_the_package_key() {
        let set = RecipeSet::builtin().unwrap();
        let keys = |set: &RecipeSet| -> BTreeMap<String, String> {
            plan(
                set,
                &["curl".into()],
                &[t("x86_64-linux-musl")],
                &tc(),
                &BuildOptions::default(),
            )
            .unwrap()
            .targets[0]
                .packages
                .iter()
                .map(|x| (x.recipe.name.clone(), x.key.clone()))
                .collect()
        };
        let k0 = keys(&set);
        let curl = crate::recipe::BUILTIN_RECIPES
            .iter()
            .find(|(f, _)| *f == "curl.toml")
            .unwrap()
            .1;
        // Another key of the same key file pinned instead: same sources, another package.
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("curl.toml"),
            curl.replace(
                "27EDEAF22F3ABCEB50DB9A125CC908FDB71E12C2",
                "4461EAF0F8E9097F48AF0555F9FEAFF9D34A1BDB",
            ),
        )
        .unwrap();
        let k1 = keys(&RecipeSet::load(&[dir.path().to_path_buf()]).unwrap());
        assert_ne!(k1["curl"], k0["curl"]);
        assert_eq!(k1["openssl"], k0["openssl"]);
        // No signature at all: another package again.
        let unsigned: String = curl
            .lines()
            .filter(|l| !l.starts_with("signature = "))
            .map(|l| format!("{l}\n"))
            .collect();
        fs::write(dir.path().join("curl.toml"), unsigned).unwrap();
        let k2 = keys(&RecipeSet::load(&[dir.path().to_path_buf()]).unwrap());
        assert_ne!(k2["curl"], k0["curl"]);
        assert_ne!(k2["curl"], k1["curl"]);
        assert_eq!(k2["zlib"], k0["zlib"]);
    }

    fn lib(name: &str, version: &str, deps: &str) -> String {
        format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\nlicense = \"MIT\"\n\n[[source]]\nfile = \"{name}.tar.gz\"\nsha256 = \"{}\"\nurls = [\"https://example.org/{name}.tar.gz\"]\n\n[dependencies]\n{deps}\n\n[build]\nsystem = \"make\"\n",
            "0".repeat(64)
        )
    }

    #[test]
    fn cycles_and_unsatisfied_requirements_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.toml"), lib("a", "1.0.0", "b = \"1\"")).unwrap();
        fs::write(dir.path().join("b.toml"), lib("b", "1.2.0", "c = \"1\"")).unwrap();
        fs::write(dir.path().join("c.toml"), lib("c", "1.0.0", "a = \"1\"")).unwrap();
        fs::write(dir.path().join("d.toml"), lib("d", "1.0.0", "b = \">=2\"")).unwrap();
        let set = RecipeSet::load(&[dir.path().to_path_buf()]).unwrap();
        let err = plan(
            &set,
            &["a".into()],
            &[t("aarch64-linux-musl")],
            &tc(),
            &BuildOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(err, "dependency cycle: a -> b -> c -> a");
        let err = plan(
            &set,
            &["d".into()],
            &[t("aarch64-linux-musl")],
            &tc(),
            &BuildOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`d` needs `b >=2`"), "{err}");
        assert!(err.contains("has version 1.2.0"), "{err}");
        let err = plan(
            &set,
            &["nope".into()],
            &[t("aarch64-linux-musl")],
            &tc(),
            &BuildOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown package `nope`"), "{err}");
        assert!(err.contains("curl"), "{err}");
        assert!(matches!(
            plan(
                &set,
                &[],
                &[t("aarch64-linux-musl")],
                &tc(),
                &BuildOptions::default()
            ),
            Err(PlanError::NoPackages)
        ));
        assert!(matches!(
            plan(&set, &["curl".into()], &[], &tc(), &BuildOptions::default()),
            Err(PlanError::NoTargets)
        ));
    }

    #[test]
    fn per_target_toolchains_key_each_target_by_its_own_compiler() {
        let set = RecipeSet::builtin().unwrap();
        let gcc = |t: &Target| ToolchainId {
            name: "gcc-musl".into(),
            version: "gcc 12.2.0 + musl 1.2.5".into(),
            sha256: hex::encode(Sha256::digest(t.triple.as_bytes())),
            flags: Vec::new(),
        };
        let targets = [t("aarch64-linux-musl"), t("riscv64-linux-musl")];
        let p = plan_with(
            &set,
            &["zlib".into()],
            &targets,
            &gcc,
            &BuildOptions::default(),
        )
        .unwrap();
        let z = plan(
            &set,
            &["zlib".into()],
            &targets,
            &tc(),
            &BuildOptions::default(),
        )
        .unwrap();
        for (g, z) in p.targets.iter().zip(&z.targets) {
            assert_eq!(g.toolchain, gcc(g.target));
            assert_eq!(z.toolchain, tc());
            // Two toolchains in one home: different package keys, different sysroots.
            assert_ne!(g.packages[0].key, z.packages[0].key);
            assert_ne!(g.sysroot_key, z.sysroot_key);
        }
    }
}
