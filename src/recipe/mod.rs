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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SourceArtifact {
    /// File name in caches and mirrors.
    pub file: String,
    /// Lower-case hex sha256 of the file.
    pub sha256: String,
    /// Its size in bytes, when pinned: a download is cut as soon as it passes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Upstream URLs, tried in order.
    pub urls: Vec<String>,
    /// The Debian source package that carries this exact file in the archive's pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debian: Option<DebianSource>,
    /// The detached OpenPGP signature that must verify the file before it is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureSpec>,
}

/// A detached OpenPGP signature of a source file and the keys that may have made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SignatureSpec {
    /// Its file name in mirrors and in the download cache (`<file>.asc` unless the recipe says).
    pub file: String,
    /// Where it is beside each upstream URL: `<url>.asc`, or the URL's last segment replaced
    /// by `file` when the recipe names one.
    pub urls: Vec<String>,
    /// The key file as the recipe names it, relative to the recipe's directory.
    pub key: String,
    /// Primary key fingerprints (upper-case hex) whose keys, or their signing subkeys, may sign.
    pub fingerprints: Vec<String>,
    /// The key file's contents, read when the recipe was loaded.
    #[serde(skip)]
    pub key_data: KeyData,
}

/// The bytes of a pinned key file and their sha256.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KeyData {
    pub bytes: std::sync::Arc<[u8]>,
    pub sha256: String,
    /// Where the bytes were read from (a path, or `built-in keys/<name>.asc`).
    pub origin: String,
}

impl fmt::Debug for KeyData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KeyData({}, {} bytes, sha256 {})",
            self.origin,
            self.bytes.len(),
            self.sha256
        )
    }
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
    #[serde(default, deserialize_with = "env_table")]
    pub env: BTreeMap<String, String>,
}

/// An `env` table: names a shell and `make` take, values without NUL. Checked while the TOML
/// is read, so the error names the line; without it a TOML date passed as a one-entry table.
fn env_table<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    use serde::de::Error;
    let map = BTreeMap::<String, String>::deserialize(d)?;
    for (name, value) in &map {
        if name.starts_with("$__toml_private") {
            return Err(D::Error::custom(
                "env must be a table { NAME = \"value\" }, not a date or time",
            ));
        }
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(D::Error::custom(format!(
                "env variable name `{name}` may hold only A-Z, a-z, 0-9 and `_`, and not start with a digit"
            )));
        }
        if value.contains('\0') {
            return Err(D::Error::custom(format!(
                "the value of env variable `{name}` holds a NUL byte"
            )));
        }
    }
    Ok(map)
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
    #[serde(default, deserialize_with = "env_table")]
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
    /// Its size in bytes, when pinned: a download is cut as soon as it passes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
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
    source: Vec<Spanned<RawSource>>,
    #[serde(default)]
    dependencies: BTreeMap<Spanned<String>, Spanned<String>>,
    build: Option<BuildSpec>,
    #[serde(default)]
    target: BTreeMap<Spanned<String>, TargetOverride>,
    install: Option<InstallSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSource {
    file: String,
    sha256: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default)]
    debian: Option<DebianSource>,
    #[serde(default)]
    signature: Option<Spanned<RawSignature>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSignatureTable {
    #[serde(default)]
    file: Option<String>,
    key: Spanned<String>,
    fingerprints: Vec<Spanned<String>>,
}

/// `signature = { key = …, fingerprints = […] }`. The bare file name that older recipes could
/// write names no key to check with, so it is an error that says what to write instead.
#[derive(Debug)]
struct RawSignature(RawSignatureTable);

impl<'de> Deserialize<'de> for RawSignature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = RawSignature;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table { key = \"keys/<name>.asc\", fingerprints = [\"<primary key fingerprint>\"] }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawSignature, E> {
                Err(E::custom(format!(
                    "signature = \"{v}\" names no key to check it with; write signature = {{ key = \"keys/<name>.asc\", fingerprints = [\"<primary key fingerprint>\"] }} (the signature file is then `<file>.asc`; add file = \"{v}\" if it is named otherwise)"
                )))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawSignature, A::Error> {
                RawSignatureTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawSignature)
            }
        }
        d.deserialize_any(Visit)
    }
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
    source: Vec<Spanned<RawSource>>,
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
    keys: KeyBase<'a>,
}

/// Where a recipe's signing keys are looked up.
#[derive(Debug, Clone, Copy)]
enum KeyBase<'a> {
    /// A recipe on disk: beside it (`<dir>/<key>`), then among the built-in keys.
    Dir(&'a Path),
    /// A built-in recipe: the built-in keys only.
    Builtin,
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
    size: Option<u64>,
    urls: &[String],
) -> Result<(), RecipeError> {
    if size == Some(0) {
        return Err(ctx.at(
            span,
            format!("size of `{file}` is 0: pin the file's size in bytes, or leave `size` out"),
        ));
    }
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

/// Checks one `[[source]]` (or `[[toolchain.source]]`): names, checksum, where to fetch it,
/// and the key of its signature.
fn check_source(ctx: &Ctx, s: Spanned<RawSource>) -> Result<SourceArtifact, RecipeError> {
    let span = s.span();
    let a = s.into_inner();
    check_artifact(ctx, span.clone(), &a.file, &a.sha256, a.size, &a.urls)?;
    if a.urls.is_empty() && a.debian.is_none() {
        return Err(ctx.at(
            span,
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
            span,
            format!(
                "debian source `{}`/`{}` is not a valid package and file name",
                d.package, d.file
            ),
        ));
    }
    let signature = match a.signature {
        Some(sig) => Some(parse_signature(ctx, &a.file, &a.urls, sig)?),
        None => None,
    };
    Ok(SourceArtifact {
        file: a.file,
        sha256: a.sha256,
        size: a.size,
        urls: a.urls,
        debian: a.debian,
        signature,
    })
}

/// Parses and validates one recipe file. Signing keys it names are read relative to the
/// file's directory, or else from the keys built into crossroot.
pub fn parse(path: &Path, text: &str) -> Result<RecipeFile, RecipeError> {
    let dir = path.parent().unwrap_or(Path::new(""));
    parse_with(path, text, KeyBase::Dir(dir))
}

/// Parses a recipe built into crossroot, whose keys are built in too.
fn parse_builtin(path: &Path, text: &str) -> Result<RecipeFile, RecipeError> {
    parse_with(path, text, KeyBase::Builtin)
}

fn parse_with(path: &Path, text: &str, keys: KeyBase) -> Result<RecipeFile, RecipeError> {
    let ctx = Ctx { path, text, keys };
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
    sources: Vec<Spanned<RawSource>>,
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
    let artifacts = sources
        .into_iter()
        .map(|s| check_source(ctx, s))
        .collect::<Result<Vec<_>, _>>()?;
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
        sources: artifacts,
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

/// Checks a `signature` table, reads its key file and checks the fingerprints against it.
fn parse_signature(
    ctx: &Ctx,
    file: &str,
    urls: &[String],
    raw: Spanned<RawSignature>,
) -> Result<SignatureSpec, RecipeError> {
    let span = raw.span();
    let RawSignature(t) = raw.into_inner();
    let named = t.file.is_some();
    let sig_file = t.file.unwrap_or_else(|| format!("{file}.asc"));
    if !valid_file_name(&sig_file) || sig_file.starts_with('.') {
        return Err(ctx.at(
            span,
            format!("signature file `{sig_file}` must be a plain file name without `/` or `..`"),
        ));
    }
    let sig_urls = urls
        .iter()
        .map(|u| match u.rsplit_once('/') {
            Some((dir, _)) if named => format!("{dir}/{sig_file}"),
            _ => format!("{u}.asc"),
        })
        .collect();
    if t.fingerprints.is_empty() {
        return Err(ctx.at(
            span,
            format!(
                "the signature of `{file}` lists no fingerprints: name the primary key(s) of {} that may sign it",
                t.key.get_ref()
            ),
        ));
    }
    let mut fingerprints = Vec::new();
    for fp in &t.fingerprints {
        let normal = crate::openpgp::normalize_fingerprint(fp.get_ref()).ok_or_else(|| {
            ctx.at(
                fp.span(),
                format!(
                    "fingerprint `{}` is not a full key fingerprint (40 hex digits, or 64 for a v6 key)",
                    fp.get_ref()
                ),
            )
        })?;
        if !fingerprints.contains(&normal) {
            fingerprints.push(normal);
        }
    }
    let key_data = read_key(ctx, &t.key)?;
    let keyring = crate::openpgp::Keyring::parse(&key_data.bytes).map_err(|e| {
        ctx.at(
            t.key.span(),
            format!("signature key {} {e}", key_data.origin),
        )
    })?;
    keyring.check_pinned(&fingerprints).map_err(|e| {
        let at = match &e {
            crate::openpgp::KeyError::NotInFile { fingerprint, .. } => t
                .fingerprints
                .iter()
                .find(|f| {
                    crate::openpgp::normalize_fingerprint(f.get_ref()).as_ref() == Some(fingerprint)
                })
                .map(|f| f.span())
                .unwrap_or(t.key.span()),
            _ => t.key.span(),
        };
        ctx.at(at, format!("signature key {} {e}", key_data.origin))
    })?;
    Ok(SignatureSpec {
        file: sig_file,
        urls: sig_urls,
        key: t.key.into_inner(),
        fingerprints,
        key_data,
    })
}

/// Reads the key file a recipe names: beside the recipe, else among the built-in keys.
fn read_key(ctx: &Ctx, key: &Spanned<String>) -> Result<KeyData, RecipeError> {
    let name = key.get_ref();
    let relative = Path::new(name);
    let plain = !name.is_empty()
        && !name.contains('\\')
        && relative
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !plain {
        return Err(ctx.at(
            key.span(),
            format!(
                "signature key `{name}` must be a relative path below the recipe's directory (like keys/<name>.asc)"
            ),
        ));
    }
    let data = |bytes: Vec<u8>, origin: String| {
        use sha2::Digest;
        KeyData {
            sha256: hex::encode(sha2::Sha256::digest(&bytes)),
            bytes: bytes.into(),
            origin,
        }
    };
    let builtin = load::BUILTIN_KEYS.iter().find(|(n, _)| *n == name.as_str());
    let looked_at = match ctx.keys {
        KeyBase::Dir(dir) => {
            let path = dir.join(relative);
            match std::fs::read(&path) {
                Ok(bytes) => return Ok(data(bytes, path.display().to_string())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    format!("{} does not exist", path.display())
                }
                Err(e) => {
                    return Err(ctx.at(
                        key.span(),
                        format!("could not read signature key {}: {e}", path.display()),
                    ));
                }
            }
        }
        KeyBase::Builtin => "it is not beside the built-in recipes".to_string(),
    };
    match builtin {
        Some((n, bytes)) => Ok(data(bytes.to_vec(), format!("built-in {n}"))),
        None => Err(ctx.at(
            key.span(),
            format!(
                "signature key `{name}` not found: {looked_at}, and crossroot has no built-in key of that name (built-in: {})",
                load::BUILTIN_KEYS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
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
    let sources = tc
        .source
        .into_iter()
        .map(|s| check_source(ctx, s))
        .collect::<Result<Vec<_>, _>>()?;
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
        check_artifact(ctx, r.span(), &a.file, &a.sha256, a.size, &a.urls)?;
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
        sources,
        origin: Origin {
            path: ctx.path.to_path_buf(),
        },
        text: ctx.text.to_string(),
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
