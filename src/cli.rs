//! Command-line types only; behaviour lives in `commands/`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::target::Target;

#[derive(Debug, Parser)]
#[command(
    name = "crossroot",
    version,
    long_version = long_version(),
    about = "Static musl cross sysroots for C libraries (curl, OpenSSL, nghttp2, c-ares, zlib, SQLite, zstd, xz, libffi, PCRE2, or your own recipes), and the environment that builds static CGO binaries with them",
    after_help = "Example:\n  crossroot build --target aarch64-linux-musl curl\n  eval \"$(crossroot env --target aarch64-linux-musl)\"\n  go build -ldflags '-extldflags \"-static\"'"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Where crossroot keeps downloads, built packages, sysroots and logs.
    #[arg(long, global = true, env = "CROSSROOT_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// An extra recipe directory, searched before the built-in recipes (repeatable).
    #[arg(long = "recipes", global = true, value_name = "DIR")]
    pub recipes: Vec<PathBuf>,
    /// A mirror to try before upstream: a directory or an http(s) base URL (repeatable; also
    /// CROSSROOT_MIRRORS, separated by spaces or commas).
    #[arg(long = "mirror", global = true, value_name = "DIR|URL")]
    pub mirrors: Vec<String>,
    /// Use only the download cache and directory mirrors; never the network.
    #[arg(long, global = true)]
    pub offline: bool,
    /// Parallel jobs for all builds together [default: number of CPUs].
    #[arg(
        short = 'j',
        long,
        global = true,
        env = "CROSSROOT_JOBS",
        value_name = "N"
    )]
    pub jobs: Option<usize>,
    /// The most bytes a download without a pinned `size` may have, and a bundle may unpack
    /// to (K, M, G suffixes are powers of 1024) [default: 2G].
    #[arg(
        long,
        global = true,
        env = "CROSSROOT_MAX_DOWNLOAD",
        value_name = "BYTES"
    )]
    pub max_download: Option<String>,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more (each command a build runs).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
}

/// `crossroot --version`: the version, the commit and its date (as cargo and rustup print
/// them), and the zig it works with.
fn long_version() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let zig = crate::recipe::RecipeSet::builtin()
            .ok()
            .and_then(|r| {
                r.toolchain("zig").ok().map(|z| {
                    format!(
                        "zig {} (fetches {} when none is installed)",
                        z.version_req, z.version
                    )
                })
            })
            .unwrap_or_else(|| "zig: the built-in recipe does not parse".into());
        format!(
            "{} ({} {})
{zig}",
            env!("CARGO_PKG_VERSION"),
            env!("CROSSROOT_COMMIT"),
            env!("CROSSROOT_COMMIT_DATE")
        )
    })
}

fn parse_target(s: &str) -> Result<&'static Target, String> {
    Target::parse(s).map_err(|e| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build packages and their dependencies into a sysroot for each target.
    #[command(
        after_help = "Examples:\n  crossroot build --target linux/arm64 curl\n  crossroot build --profile sysroots/curl.toml          # the targets and packages of a profile\n  crossroot build --platform linux/riscv64 curl --prefix /opt/sysroot"
    )]
    Build(BuildArgs),
    /// Print the environment (CC, PKG_CONFIG, GOARCH, …) for a built sysroot.
    #[command(
        after_help = "Examples:\n  eval \"$(crossroot env --target linux/arm64)\" && go build ./cmd/app\n  crossroot env --target linux/riscv64 --format cmake > riscv64.cmake\n  crossroot env --target linux/arm64 --format cargo --update .cargo/config.toml\n  crossroot env --target linux/arm64 --format fish | source"
    )]
    Env(EnvArgs),
    /// Run a command in a sysroot's environment.
    #[command(
        after_help = "Examples:\n  crossroot exec --target linux/arm64 -- make\n  crossroot exec --target linux/riscv64 -- go build -o app-riscv64 ./cmd/app"
    )]
    Exec(ExecArgs),
    /// Run a program built for a target: natively where this host can, else under qemu-user.
    #[command(
        after_help = "Examples:\n  crossroot run --target linux/arm64 -- ./app_linux_arm64 --version\n  go test -exec 'crossroot run --target linux/riscv64 --' ./...   # after eval \"$(crossroot env …)\""
    )]
    Run(RunArgs),
    /// Go programs with cgo for several platforms at once.
    #[command(subcommand)]
    Go(GoCommand),
    /// Check that an ELF file is a static executable for a target.
    #[command(after_help = "Example:\n  crossroot verify --target linux/arm64 ./app")]
    Verify(VerifyArgs),
    /// Print a software bill of materials (CycloneDX or SPDX JSON) for a built sysroot.
    #[command(
        after_help = "Examples:\n  crossroot sbom --target linux/arm64 > sbom.cdx.json\n  crossroot sbom --target linux/arm64 --format spdx > sbom.spdx.json"
    )]
    Sbom(SbomArgs),
    /// Download and verify sources (and the toolchain) without building.
    #[command(
        after_help = "Examples:\n  crossroot fetch curl\n  crossroot fetch --profile sysroots/curl.toml && crossroot build --offline --profile sysroots/curl.toml"
    )]
    Fetch(FetchArgs),
    /// List recipes, their versions, and the known targets.
    #[command(
        after_help = "Examples:\n  crossroot list --recipes ./my-recipes       # with your own recipes\n  crossroot list --json | jq -r '.packages[].name'"
    )]
    List(JsonArgs),
    /// Show each target: the toolchain that builds for it, and whether CI proves it.
    #[command(
        after_help = "Examples:\n  crossroot targets\n  crossroot targets --json | jq -r '.targets[] | select(.verified) | .platform'"
    )]
    Targets(JsonArgs),
    /// Check the host for the programs builds need.
    #[command(after_help = "Example:\n  crossroot doctor")]
    Doctor,
    /// Inspect and tidy the crossroot home.
    #[command(
        subcommand,
        after_help = "Examples:\n  crossroot cache list\n  key=$(crossroot cache key --target linux/arm64 curl)\n  crossroot cache export sysroots.tar.zst --target linux/arm64 curl"
    )]
    Cache(CacheCommand),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  source <(crossroot completions bash)          # in ~/.bashrc\n  crossroot completions fish > ~/.config/fish/completions/crossroot.fish\n  crossroot completions zsh > \"${fpath[1]}/_crossroot\""
    )]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print crossroot's manual page (roff).
    #[command(after_help = "Example:\n  crossroot man > crossroot.1 && man -l crossroot.1")]
    Man,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Print the crossroot home.
    Dir,
    /// List built packages and sysroots with their sizes.
    List,
    /// Print a key that changes exactly when the build inputs of a selection change (for CI caches).
    #[command(
        after_help = "Example:\n  crossroot cache key --target linux/arm64 --target linux/riscv64 curl"
    )]
    Key(KeyArgs),
    /// Remove sysroots no `current` link points at, and packages no remaining sysroot uses.
    Prune,
    /// Remove everything under the home.
    Clean,
    /// Write sysroots (default: every `current` one) and their packages to a bundle (.tar.zst).
    #[command(
        after_help = "Example:\n  crossroot cache export sysroots.tar.zst --profile sysroots/curl.toml"
    )]
    Export(ExportArgs),
    /// Install a bundle from `cache export` after checking every file in it.
    #[command(
        after_help = "Examples:\n  crossroot cache import sysroots.tar.zst\n  crossroot cache import sysroots.tar.zst --trust keys/crossroot.pub"
    )]
    Import(ImportArgs),
    /// Push the packages of a selection's sysroots to an OCI registry, signed, and one index for the selection.
    #[command(
        after_help = "Examples:\n  crossroot cache push ghcr.io/org/crossroot-cache --profile sysroots/curl.toml --sign-key keys/crossroot.key\n  crossroot cache push 127.0.0.1:5000/crossroot/cache --target linux/arm64 curl --sign-key keys/crossroot.key\n\nCredentials come from Docker's config.json ($DOCKER_CONFIG, `podman login`, `docker login`)."
    )]
    Push(PushArgs),
    /// Install a selection's packages from an OCI registry after checking their signatures, and assemble its sysroots.
    #[command(
        after_help = "Examples:\n  crossroot cache pull ghcr.io/org/crossroot-cache --profile sysroots/curl.toml --trust keys/crossroot.pub\n  crossroot build --cache ghcr.io/org/crossroot-cache --trust keys/crossroot.pub   # pull what is there, build the rest"
    )]
    Pull(PullArgs),
    /// Write a signing key pair (crossroot.key, secret; crossroot.pub) for signed bundles.
    #[command(
        after_help = "Examples:\n  crossroot cache keygen --out ~/.config/crossroot/keys\n  crossroot cache export sysroots.tar.zst --sign-key ~/.config/crossroot/keys/crossroot.key\n  minisign -Vm sysroots.tar.zst -p ~/.config/crossroot/keys/crossroot.pub"
    )]
    Keygen(KeygenArgs),
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The directory to write crossroot.key and crossroot.pub into (created; existing keys
    /// are never overwritten).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Output for scripts: JSON of the shape `docs/json.md` documents.
#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print JSON (versioned shape, see docs/json.md) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The bundle to write.
    #[arg(value_name = "FILE.tar.zst")]
    pub file: PathBuf,
    #[command(flatten)]
    pub selection: Selection,
    /// Sign the bundle with this secret key (from `cache keygen`): writes FILE.tar.zst.minisig
    /// beside it, which `cache import --trust` and `minisign -V` check.
    #[arg(long, value_name = "FILE", env = "CROSSROOT_SIGN_KEY")]
    pub sign_key: Option<PathBuf>,
}

/// How registries are reached.
#[derive(Debug, Args, Clone, Default)]
pub struct RegistryArgs {
    /// Speak plain http to this registry (HOST:PORT; repeatable). Loopback registries may be
    /// plain http anyway; credentials are never sent over http.
    #[arg(
        long = "insecure-registry",
        value_name = "HOST",
        env = "CROSSROOT_INSECURE_REGISTRY",
        value_delimiter = ','
    )]
    pub insecure: Vec<String>,
    /// Trust this CA certificate (PEM) for registries' TLS, besides the system's (repeatable).
    #[arg(
        long = "registry-ca",
        value_name = "FILE",
        env = "CROSSROOT_REGISTRY_CA",
        value_delimiter = ','
    )]
    pub ca: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The registry repository (HOST[:PORT]/PATH); tags are derived from package keys.
    #[arg(value_name = "REF")]
    pub remote: String,
    #[command(flatten)]
    pub selection: Selection,
    /// The secret key (from `cache keygen`) every pushed manifest is signed with.
    #[arg(long, value_name = "FILE", env = "CROSSROOT_SIGN_KEY")]
    pub sign_key: PathBuf,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// The registry repository (HOST[:PORT]/PATH).
    #[arg(value_name = "REF")]
    pub remote: String,
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Whose signatures a registry entry needs.
#[derive(Debug, Args, Clone, Default)]
pub struct TrustArgs {
    /// Install only entries signed by this public key (a crossroot.pub; repeatable, or
    /// comma-separated in the variable).
    #[arg(
        long,
        value_name = "FILE",
        env = "CROSSROOT_TRUST",
        value_delimiter = ','
    )]
    pub trust: Vec<PathBuf>,
    /// Install entries of this registry without checking who signed them.
    #[arg(long, conflicts_with = "trust")]
    pub trust_unsigned: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The bundle to read.
    #[arg(value_name = "FILE.tar.zst")]
    pub file: PathBuf,
    /// Import only a bundle signed by this public key (a crossroot.pub; repeatable, or
    /// comma-separated in the variable): FILE.tar.zst.minisig must be there and verify.
    #[arg(
        long,
        value_name = "FILE",
        env = "CROSSROOT_TRUST",
        value_delimiter = ','
    )]
    pub trust: Vec<PathBuf>,
    /// Import even when this machine's zig is not the one the bundle was built with.
    #[arg(long)]
    pub any_zig: bool,
}

#[derive(Debug, Args)]
pub struct KeyArgs {
    #[command(flatten)]
    pub selection: Selection,
}

#[derive(Debug, Args)]
pub struct Selection {
    /// Target triple, or a Go/Docker/Rust name for it (linux/arm64, aarch64-unknown-linux-musl).
    #[arg(short, long = "target", visible_alias = "platform", value_name = "TARGET", value_parser = parse_target)]
    pub targets: Vec<&'static Target>,
    /// A sysroot profile [default: ./crossroot.toml when no packages are named].
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// The compiler: `zig`, `gcc` (the host's GNU cross gcc with musl), or a prebuilt
    /// toolchain recipe's name [default: the profile's `toolchain`, else zig].
    #[arg(long, value_name = "zig|gcc|NAME")]
    pub toolchain: Option<String>,
    /// Packages (with their dependencies).
    #[arg(value_name = "PACKAGE")]
    pub packages: Vec<String>,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Keep debug information in the libraries (default: -g0).
    #[arg(long)]
    pub debug_info: bool,
    /// Also copy each sysroot to DIR (one target) or DIR/<triple> (several), e.g. for `COPY --from=`.
    #[arg(long, value_name = "DIR")]
    pub prefix: Option<PathBuf>,
    /// A registry repository to look every missing package up in before building it
    /// (HOST[:PORT]/PATH); a registry that is away costs one warning, not the build.
    #[arg(long, value_name = "REF", env = "CROSSROOT_CACHE")]
    pub cache: Option<String>,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Push what this build made to the --cache registry, signed with --sign-key.
    #[arg(long, requires = "cache", requires = "sign_key")]
    pub push: bool,
    /// The secret key pushed packages are signed with.
    #[arg(long, value_name = "FILE", env = "CROSSROOT_SIGN_KEY")]
    pub sign_key: Option<PathBuf>,
    /// Fail instead of building locally when the --cache registry cannot be used.
    #[arg(long, requires = "cache")]
    pub require_cache: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Output format: variables (sh … dockerfile) or a toolchain file (cmake, meson, cargo).
    #[arg(long, default_value = "sh", value_parser = ["sh", "fish", "json", "github", "dockerfile", "cmake", "meson", "cargo"])]
    pub format: String,
    /// With `--format cargo`: write this target's keys into a cargo configuration file
    /// (created if missing; other keys, targets and comments kept) instead of printing them.
    #[arg(long, value_name = "FILE", requires = "format")]
    pub update: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SbomArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Output format: CycloneDX 1.5 or SPDX 2.3, both JSON.
    #[arg(long, default_value = "cyclonedx", value_parser = ["cyclonedx", "spdx"])]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The target the program was built for.
    #[arg(short, long, visible_alias = "platform", value_name = "TARGET", value_parser = parse_target)]
    pub target: &'static Target,
    /// The program and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "PROGRAM")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Subcommand)]
pub enum GoCommand {
    /// Build one cgo program for each platform: sysroots built or pulled, `go build` with a
    /// static link, each result verified.
    #[command(
        after_help = "Examples:\n  crossroot go build --platform linux/amd64,linux/arm64,linux/riscv64 -o dist ./cmd/app\n  crossroot go build --platform linux/arm64 --with curl -- -trimpath -tags netgo ./cmd/app\n\nGo's own flags pass through (put them after `--` when they could be read as crossroot's,\ne.g. -v); -ldflags '-extldflags \"-static\"' is added unless you pass -ldflags yourself.\nOutputs are DIR/<name>_<os>_<arch>[_<variant>]."
    )]
    Build(GoBuildArgs),
}

#[derive(Debug, Args)]
pub struct GoBuildArgs {
    /// The platforms (comma-separated or repeated): linux/amd64, linux/arm64, a triple …
    #[arg(long = "platform", visible_alias = "target", required = true, value_delimiter = ',', value_name = "PLATFORM", value_parser = parse_target)]
    pub platforms: Vec<&'static Target>,
    /// Where the programs go, as DIR/<name>_<os>_<arch>[_<variant>].
    #[arg(short = 'o', long = "output", value_name = "DIR", default_value = ".")]
    pub output: PathBuf,
    /// The sysroot profile [default: ./crossroot.toml].
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// The C libraries (recipes) to link, instead of a profile's packages.
    #[arg(long = "with", value_name = "PACKAGE", value_delimiter = ',')]
    pub with: Vec<String>,
    /// The go command.
    #[arg(long, value_name = "FILE", env = "CROSSROOT_GO", default_value = "go")]
    pub go: PathBuf,
    /// A registry repository to pull missing packages from (as `build --cache`).
    #[arg(long, value_name = "REF", env = "CROSSROOT_CACHE")]
    pub cache: Option<String>,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// go build's flags and the package to build, as `go build` takes them.
    #[arg(
        value_name = "GO BUILD ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub go_args: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The target the files must run on.
    #[arg(short, long, visible_alias = "platform", value_name = "TARGET", value_parser = parse_target)]
    pub target: &'static Target,
    /// ELF files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub selection: Selection,
}
