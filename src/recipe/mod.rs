//! Recipes: what to build, parsed strictly from TOML.
//!
//! A file with a `[package]` table describes a static C library; a file with a `[toolchain]`
//! table describes a cross compiler. Unknown keys are errors; every error names the file and,
//! where the value came from the file, its line.

mod load;
pub mod profile;

pub use load::{BUILTIN_KEYS, BUILTIN_RECIPES, RecipeSet};

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// A recipe failed to load or validate.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    #[error("could not read recipe {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("unknown package `{name}`; known packages: {known}")]
    UnknownPackage { name: String, known: String },
    #[error(
        "{path} and {other} both define `{name}`; one recipe directory holds one recipe per name"
    )]
    Duplicate {
        name: String,
        path: PathBuf,
        other: PathBuf,
    },
}

/// Where a recipe came from, for error messages and the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// File name or path (`recipes/curl.toml (built-in)` for the embedded ones).
    pub path: PathBuf,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())
    }
}

/// One pinned file of upstream source. A recipe may pin several for one version (the upstream
/// release and a distribution's repack, say); any one of them builds the package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SourceArtifact {
    /// File name in caches and mirrors.
    pub file: String,
    /// Lower-case hex sha256 of the file.
    pub sha256: String,
    /// Upstream URLs, tried in order.
    #[serde(default)]
    pub urls: Vec<String>,
    /// The Debian source package that carries this exact file in the archive's pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debian: Option<DebianSource>,
    /// Detached OpenPGP signature file next to the upstream file (`<url>.asc`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// Where the Debian archive keeps a source file: `pool/<component>/<prefix>/<package>/<file>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DebianSource {
    pub package: String,
    pub file: String,
    #[serde(default = "default_component")]
    pub component: String,
}

fn default_component() -> String {
    "main".to_string()
}

/// How a package is configured, compiled and installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BuildSystem {
    /// GNU autoconf `configure --host=…`, out of tree, then make.
    Autotools,
    /// A hand-written `configure` that takes no `--host` (zlib's), run in the source tree.
    Configure,
    /// CMake with the Makefile generator, out of tree.
    Cmake,
    /// OpenSSL's perl `Configure <target>`, out of tree.
    Openssl,
    /// A plain Makefile: `make` and `make install PREFIX=…`, in the source tree.
    Make,
}

impl BuildSystem {
    pub const ALL: &'static [&'static str] =
        &["autotools", "configure", "cmake", "openssl", "make"];
}

/// Languages a package compiles. Only `c++` makes crossroot hand a C++ compiler to the build,
/// which in turn makes zig build libc++ for the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Language {
    #[serde(rename = "c")]
    C,
    #[serde(rename = "c++")]
    Cxx,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BuildSpec {
    pub system: BuildSystem,
    #[serde(default = "default_languages")]
    pub languages: Vec<Language>,
    /// Arguments for configure / cmake / Configure. Placeholders: `{prefix}`, `{deps}`,
    /// `{host}`, `{build}`, `{openssl-target}`, `{cmake-processor}`, `{triple}`, `{cflags}`.
    #[serde(default)]
    pub args: Vec<String>,
    /// `make` invocations of the compile step, each a list of arguments (`[["-C", "lib"]]`);
    /// for CMake, extra arguments to `cmake --build`. Default: one plain `make`.
    #[serde(default = "default_make_steps")]
    pub make_steps: Vec<Vec<String>>,
    /// `make` invocations of the install step. Default: `make install`.
    #[serde(default = "default_install_steps")]
    pub install_steps: Vec<Vec<String>>,
    /// Extra environment for every step.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

fn default_languages() -> Vec<Language> {
    vec![Language::C]
}

fn default_make_steps() -> Vec<Vec<String>> {
    vec![vec![]]
}

fn default_install_steps() -> Vec<Vec<String>> {
    vec![vec!["install".to_string()]]
}

/// Per-target additions, appended to the `[build]` table's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TargetOverride {
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// What a package must leave in its prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct InstallSpec {
    /// pkg-config module names installed under `lib/pkgconfig`.
    #[serde(default)]
    pub pkg_config: Vec<String>,
    /// Static libraries installed under `lib/`.
    #[serde(default)]
    pub libs: Vec<String>,
}

/// A static library recipe, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recipe {
    pub name: String,
    pub version: semver::Version,
    pub license: String,
    pub description: String,
    pub homepage: String,
    pub sources: Vec<SourceArtifact>,
    pub dependencies: BTreeMap<String, semver::VersionReq>,
    pub build: BuildSpec,
    pub targets: BTreeMap<String, TargetOverride>,
    pub install: InstallSpec,
    #[serde(skip)]
    pub origin: Origin,
    /// The recipe's text, hashed into cache keys.
    #[serde(skip)]
    pub text: String,
}

impl Recipe {
    /// The `[build]` table with the target's overrides applied.
    pub fn build_for(&self, triple: &str) -> BuildSpec {
        let mut build = self.build.clone();
        if let Some(o) = self.targets.get(triple) {
            build.args.extend(o.args.iter().cloned());
            build.env.extend(o.env.clone());
        }
        build
    }

    pub fn uses_cxx(&self) -> bool {
        self.build.languages.contains(&Language::Cxx)
    }
}

/// A pinned release archive of a toolchain, for one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ToolchainRelease {
    /// Host the archive runs on, as `<arch>-<os>` (`x86_64-linux`).
    pub host: String,
    /// The target it compiles for (`prebuilt` toolchains: one archive per host and target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub file: String,
    pub sha256: String,
    pub urls: Vec<String>,
    /// minisign signature file name beside each URL (`<url>.minisig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minisig: Option<String>,
}

/// How a toolchain recipe gives crossroot a C compiler for a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToolchainKind {
    /// `zig cc -target …`: one zig for every target, installed or fetched.
    Zig,
    /// The host's GNU cross gcc (Debian's `gcc-<arch>-linux-gnu`) with musl, which crossroot
    /// builds per target from the recipe's `[[toolchain.source]]`.
    GccMusl,
    /// A pinned tarball per target in the musl-cross-make layout
    /// (`<triple>-cross/bin/<triple>-gcc`).
    Prebuilt,
}

impl ToolchainKind {
    pub const ALL: &'static [&'static str] = &["zig", "gcc-musl", "prebuilt"];

    pub fn as_str(self) -> &'static str {
        match self {
            ToolchainKind::Zig => "zig",
            ToolchainKind::GccMusl => "gcc-musl",
            ToolchainKind::Prebuilt => "prebuilt",
        }
    }
}

/// A cross-compiler recipe, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolchainRecipe {
    pub name: String,
    pub kind: ToolchainKind,
    /// Versions of an already-installed toolchain that crossroot accepts.
    pub version_req: semver::VersionReq,
    /// The version of the pinned releases below.
    pub version: semver::Version,
    pub license: String,
    pub homepage: String,
    /// minisign public key that signs the releases (base64), if the project signs them.
    pub minisign_key: Option<String>,
    pub releases: Vec<ToolchainRelease>,
    /// Sources built into the toolchain (`gcc-musl`: the C library).
    pub sources: Vec<SourceArtifact>,
    #[serde(skip)]
    pub origin: Origin,
    #[serde(skip)]
    pub text: String,
}

// ---- raw file layout -------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    package: Option<RawPackage>,
    toolchain: Option<RawToolchain>,
    #[serde(default)]
    source: Vec<Spanned<SourceArtifact>>,
    #[serde(default)]
    dependencies: BTreeMap<Spanned<String>, Spanned<String>>,
    build: Option<BuildSpec>,
    #[serde(default)]
    target: BTreeMap<Spanned<String>, TargetOverride>,
    install: Option<InstallSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPackage {
    name: Spanned<String>,
    version: Spanned<String>,
    license: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    homepage: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawToolchain {
    name: Spanned<String>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
    version: Spanned<String>,
    #[serde(default)]
    version_req: Option<Spanned<String>>,
    license: String,
    #[serde(default)]
    homepage: String,
    #[serde(default)]
    minisign_key: Option<Spanned<String>>,
    #[serde(default)]
    release: Vec<Spanned<ToolchainRelease>>,
    #[serde(default)]
    source: Vec<Spanned<SourceArtifact>>,
}

/// A parsed recipe file: a library or a toolchain.
#[derive(Debug, Clone, PartialEq)]
pub enum RecipeFile {
    Library(Box<Recipe>),
    Toolchain(Box<ToolchainRecipe>),
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn line_of(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text[..end].bytes().filter(|&b| b == b'\n').count() + 1
    }

    fn at(&self, span: Range<usize>, message: impl Into<String>) -> RecipeError {
        RecipeError::Invalid {
            path: self.path.to_path_buf(),
            line: self.line_of(span),
            message: message.into(),
        }
    }

    fn file(&self, message: impl Into<String>) -> RecipeError {
        RecipeError::File {
            path: self.path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// Checks a package name: lower-case letters, digits, `-`, `_`, `.`; no path characters.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.+".contains(&b))
        && !name.starts_with('.')
        && name.as_bytes()[0].is_ascii_alphanumeric()
}

/// Checks a file name for caches and mirrors: one path component, no `..`.
fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains('\\')
        && !name.contains('\0')
}

fn valid_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn check_artifact(
    ctx: &Ctx,
    span: Range<usize>,
    file: &str,
    sha256: &str,
    urls: &[String],
) -> Result<(), RecipeError> {
    if !valid_file_name(file) {
        return Err(ctx.at(
            span,
            format!("source file name `{file}` must be a plain file name without `/` or `..`"),
        ));
    }
    if !valid_sha256(sha256) {
        return Err(ctx.at(
            span,
            format!(
                "sha256 of `{file}` must be 64 lower-case hex digits, found `{sha256}` ({} characters)",
                sha256.len()
            ),
        ));
    }
    for url in urls {
        if !url.starts_with("https://") {
            return Err(ctx.at(
                span,
                format!("upstream URL `{url}` must use https:// (mirrors you name may use http)"),
            ));
        }
    }
    Ok(())
}

/// Checks one `[[source]]` (or `[[toolchain.source]]`): names, checksum, where to fetch it.
fn check_source(ctx: &Ctx, s: &Spanned<SourceArtifact>) -> Result<(), RecipeError> {
    let a = s.get_ref();
    check_artifact(ctx, s.span(), &a.file, &a.sha256, &a.urls)?;
    if a.urls.is_empty() && a.debian.is_none() {
        return Err(ctx.at(
            s.span(),
            format!(
                "source `{}` has neither urls nor a debian package to fetch it from",
                a.file
            ),
        ));
    }
    if let Some(d) = &a.debian
        && (!valid_name(&d.package) || !valid_file_name(&d.file) || !valid_name(&d.component))
    {
        return Err(ctx.at(
            s.span(),
            format!(
                "debian source `{}`/`{}` is not a valid package and file name",
                d.package, d.file
            ),
        ));
    }
    Ok(())
}

/// Parses and validates one recipe file.
pub fn parse(path: &Path, text: &str) -> Result<RecipeFile, RecipeError> {
    let ctx = Ctx { path, text };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| ctx.line_of(s)).unwrap_or(1);
        RecipeError::Invalid {
            path: path.to_path_buf(),
            line,
            message: e.message().trim().to_string(),
        }
    })?;
    match (raw.package, raw.toolchain) {
        (Some(pkg), None) => parse_library(
            &ctx,
            pkg,
            raw.source,
            raw.dependencies,
            raw.build,
            raw.target,
            raw.install,
        )
        .map(|r| RecipeFile::Library(Box::new(r))),
        (None, Some(tc)) => {
            if !raw.source.is_empty() || raw.build.is_some() || !raw.dependencies.is_empty() {
                return Err(ctx.file(
                    "a [toolchain] recipe pins [[toolchain.release]] archives or [[toolchain.source]] files and has no [[source]], [build] or [dependencies]",
                ));
            }
            parse_toolchain(&ctx, tc).map(|r| RecipeFile::Toolchain(Box::new(r)))
        }
        (Some(_), Some(_)) => {
            Err(ctx.file("a recipe has either [package] or [toolchain], not both"))
        }
        (None, None) => {
            Err(ctx.file("a recipe needs a [package] table (library) or a [toolchain] table"))
        }
    }
}

fn parse_version(ctx: &Ctx, v: &Spanned<String>) -> Result<semver::Version, RecipeError> {
    semver::Version::parse(v.get_ref()).map_err(|e| {
        ctx.at(
            v.span(),
            format!(
                "version `{}` is not a semantic version (x.y.z): {e}",
                v.get_ref()
            ),
        )
    })
}

fn parse_library(
    ctx: &Ctx,
    pkg: RawPackage,
    sources: Vec<Spanned<SourceArtifact>>,
    deps: BTreeMap<Spanned<String>, Spanned<String>>,
    build: Option<BuildSpec>,
    target: BTreeMap<Spanned<String>, TargetOverride>,
    install: Option<InstallSpec>,
) -> Result<Recipe, RecipeError> {
    let name = pkg.name.get_ref().clone();
    if !valid_name(&name) {
        return Err(ctx.at(
            pkg.name.span(),
            format!("package name `{name}` may hold only a-z, 0-9, `-`, `_`, `.` and `+`"),
        ));
    }
    let version = parse_version(ctx, &pkg.version)?;
    if sources.is_empty() {
        return Err(ctx.file(format!(
            "package `{name}` pins no [[source]]; add one with file, sha256 and urls"
        )));
    }
    for s in &sources {
        check_source(ctx, s)?;
    }
    let mut dependencies = BTreeMap::new();
    for (dep, req) in deps {
        if !valid_name(dep.get_ref()) {
            return Err(ctx.at(
                dep.span(),
                format!("dependency name `{}` is not a package name", dep.get_ref()),
            ));
        }
        if dep.get_ref() == &name {
            return Err(ctx.at(dep.span(), format!("package `{name}` depends on itself")));
        }
        let parsed = semver::VersionReq::parse(req.get_ref()).map_err(|e| {
            ctx.at(
                req.span(),
                format!(
                    "version requirement `{}` for `{}` is invalid: {e}",
                    req.get_ref(),
                    dep.get_ref()
                ),
            )
        })?;
        dependencies.insert(dep.into_inner(), parsed);
    }
    let build = build.ok_or_else(|| ctx.file(format!("package `{name}` has no [build] table")))?;
    let mut targets = BTreeMap::new();
    for (triple, o) in target {
        let known = crate::target::Target::parse(triple.get_ref()).map(|t| t.triple);
        if known.ok() != Some(triple.get_ref().as_str()) {
            return Err(ctx.at(
                triple.span(),
                format!(
                    "[target.{}] names no known target triple (see `crossroot list`)",
                    triple.get_ref()
                ),
            ));
        }
        targets.insert(triple.into_inner(), o);
    }
    Ok(Recipe {
        name,
        version,
        license: pkg.license,
        description: pkg.description,
        homepage: pkg.homepage,
        sources: sources.into_iter().map(Spanned::into_inner).collect(),
        dependencies,
        build,
        targets,
        install: install.unwrap_or_default(),
        origin: Origin {
            path: ctx.path.to_path_buf(),
        },
        text: ctx.text.to_string(),
    })
}

fn parse_toolchain(ctx: &Ctx, tc: RawToolchain) -> Result<ToolchainRecipe, RecipeError> {
    let name = tc.name.get_ref().clone();
    if !valid_name(&name) {
        return Err(ctx.at(
            tc.name.span(),
            format!("toolchain name `{name}` is not a valid name"),
        ));
    }
    let version = parse_version(ctx, &tc.version)?;
    let kind = match &tc.kind {
        None => ToolchainKind::Zig,
        Some(k) => match k.get_ref().as_str() {
            "zig" => ToolchainKind::Zig,
            "gcc-musl" => ToolchainKind::GccMusl,
            "prebuilt" => ToolchainKind::Prebuilt,
            other => {
                return Err(ctx.at(
                    k.span(),
                    format!(
                        "toolchain kind `{other}` is not one of: {}",
                        ToolchainKind::ALL.join(", ")
                    ),
                ));
            }
        },
    };
    // Only zig is looked for among installed programs; the others are exactly what is pinned.
    let version_req = match (&tc.version_req, kind) {
        (Some(req), _) => semver::VersionReq::parse(req.get_ref()).map_err(|e| {
            ctx.at(
                req.span(),
                format!("version-req `{}` is invalid: {e}", req.get_ref()),
            )
        })?,
        (None, ToolchainKind::Zig) => {
            return Err(ctx.file(format!(
                "zig toolchain `{name}` has no version-req (the installed zig versions it accepts)"
            )));
        }
        (None, _) => semver::VersionReq::parse(&format!("={version}"))
            .expect("a version makes an exact requirement"),
    };
    let whole = |span: Option<Range<usize>>, message: String| match span {
        Some(span) => ctx.at(span, message),
        None => ctx.file(message),
    };
    let kind_span = tc.kind.as_ref().map(|k| k.span());
    match kind {
        ToolchainKind::GccMusl => {
            if tc.source.is_empty() {
                return Err(whole(
                    kind_span,
                    format!(
                        "gcc-musl toolchain `{name}` pins no [[toolchain.source]] (musl's release tarball)"
                    ),
                ));
            }
            if let Some(r) = tc.release.first() {
                return Err(ctx.at(
                    r.span(),
                    "a gcc-musl toolchain builds its C library from [[toolchain.source]]; it has no [[toolchain.release]]",
                ));
            }
        }
        ToolchainKind::Zig | ToolchainKind::Prebuilt => {
            if let Some(s) = tc.source.first() {
                return Err(ctx.at(
                    s.span(),
                    format!(
                        "[[toolchain.source]] is for gcc-musl toolchains; a {} toolchain pins [[toolchain.release]] archives",
                        kind.as_str()
                    ),
                ));
            }
        }
    }
    for s in &tc.source {
        check_source(ctx, s)?;
    }
    for r in &tc.release {
        let target = r.get_ref().target.as_deref();
        match (kind, target) {
            (ToolchainKind::Prebuilt, None) => {
                return Err(ctx.at(
                    r.span(),
                    format!(
                        "prebuilt release `{}` names no `target` (the triple it compiles for)",
                        r.get_ref().file
                    ),
                ));
            }
            (ToolchainKind::Prebuilt, Some(t)) => {
                let known = crate::target::Target::parse(t).map(|k| k.triple);
                if known.ok() != Some(t) {
                    return Err(ctx.at(
                        r.span(),
                        format!("release target `{t}` names no known target triple (see `crossroot list`)"),
                    ));
                }
            }
            (_, Some(t)) => {
                return Err(ctx.at(
                    r.span(),
                    format!(
                        "release target `{t}`: only prebuilt toolchains pin one archive per target"
                    ),
                ));
            }
            (_, None) => {}
        }
    }
    if !version_req.matches(&version) {
        return Err(ctx.at(
            tc.version.span(),
            format!("the pinned version {version} does not satisfy the recipe's own version-req `{version_req}`"),
        ));
    }
    if let Some(key) = &tc.minisign_key
        && let Err(e) = minisign_verify::PublicKey::from_base64(key.get_ref())
    {
        return Err(ctx.at(
            key.span(),
            format!(
                "minisign-key `{}` is not a minisign public key: {e}",
                key.get_ref()
            ),
        ));
    }
    for r in &tc.release {
        let a = r.get_ref();
        check_artifact(ctx, r.span(), &a.file, &a.sha256, &a.urls)?;
        match (&tc.minisign_key, &a.minisig) {
            (Some(_), None) => {
                return Err(ctx.at(
                    r.span(),
                    format!(
                        "release `{}` names no `minisig` file, but the recipe has a minisign-key",
                        a.file
                    ),
                ));
            }
            (None, Some(sig)) => {
                return Err(ctx.at(
                    r.span(),
                    format!(
                        "release `{}` names minisig `{sig}` but the recipe has no minisign-key",
                        a.file
                    ),
                ));
            }
            (Some(_), Some(sig)) if !valid_file_name(sig) || sig.starts_with('.') => {
                return Err(ctx.at(
                    r.span(),
                    format!("minisig `{sig}` must be a plain file name without `/` or `..`"),
                ));
            }
            _ => {}
        }
    }
    Ok(ToolchainRecipe {
        name,
        kind,
        version_req,
        version,
        license: tc.license,
        homepage: tc.homepage,
        minisign_key: tc.minisign_key.map(Spanned::into_inner),
        releases: tc.release.into_iter().map(Spanned::into_inner).collect(),
        sources: tc.source.into_iter().map(Spanned::into_inner).collect(),
        origin: Origin {
            path: ctx.path.to_path_buf(),
        },
        text: ctx.text.to_string(),
    })
}

#[cfg(test)]
mod tests;
