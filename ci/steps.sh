#!/usr/bin/env bash
# The shell half of crossroot's CI examples: ci/github-actions.yml, ci/gitlab-ci.yml and
# ci/Dockerfile call these steps, and tests/ci.rs runs them with a tiny recipe.
#
# Usage: ci/steps.sh STEP [ARGS]
#   prerequisites             install make, cmake, perl, pkgconf (apt) and zig (pip ziglang)
#   install-crossroot         install crossroot into $CROSSROOT_INSTALL_ROOT/bin: copy $CROSSROOT_BIN,
#                             or `cargo install --path $CROSSROOT_SRC`
#   key                       print the cache key of the selection (crossroot cache key)
#   keyed-bundle DIR          print DIR/<key>.tar.zst, for caches that cannot be keyed by a command
#   restore BUNDLE            import BUNDLE if it exists (a CI cache restored it); never fails the job
#   login REGISTRY USER       write USER's password (read from stdin) for REGISTRY into
#                             $DOCKER_CONFIG/config.json (as `docker login` does; mode 0600)
#   sysroots                  build the selection (and copy it to $CROSSROOT_PREFIX when set);
#                             with CROSSROOT_CACHE, pull what the registry has first, and push
#                             what was built when a signing key is given
#   pull                      install the selection from the CROSSROOT_CACHE registry only
#   save BUNDLE               export the selection's sysroots and packages to BUNDLE
#   github-env TARGET         append TARGET's environment to $GITHUB_ENV
#   go-build TARGET OUTPUT    build $GO_DIR as a static binary for TARGET, then verify it
#   verify TARGET FILE...     check that each FILE is a static executable for TARGET
#   all BUNDLE OUTDIR         restore, sysroots, save, and go-build for every target
#
# Settings (environment):
#   CROSSROOT           the crossroot executable                       [crossroot]
#   CROSSROOT_PACKAGES  packages to build, space-separated             [curl]
#   CROSSROOT_TARGETS   targets, space-separated                       [linux/arm64 linux/riscv64]
#   CROSSROOT_PROFILE   a profile file instead of CROSSROOT_PACKAGES (and its targets, unless
#                       CROSSROOT_TARGETS is set)
#   CROSSROOT_RECIPES   an extra recipe directory (--recipes)
#   CROSSROOT_PREFIX    where `sysroots` copies the sysroots (--prefix)
#   GO_DIR              the Go main package's directory                [ci/hello]
#   CROSSROOT_CACHE     a registry repository shared by the jobs (HOST/PATH)
#   CROSSROOT_TRUST     the public key(s) its entries must be signed with (files, comma-separated)
#   CROSSROOT_SIGN_KEY  the secret key file pushes are signed with, or
#   CROSSROOT_SIGN_KEY_SECRET  the secret key's text (a CI secret), written to a 0600 file
#   CROSSROOT_HOME, CROSSROOT_MIRRORS, CROSSROOT_OFFLINE, CROSSROOT_JOBS: read by crossroot itself.
set -euo pipefail

die() {
    echo "ci/steps.sh: $*" >&2
    exit 2
}

cr() {
    "${CROSSROOT:-crossroot}" ${CROSSROOT_RECIPES:+--recipes "$CROSSROOT_RECIPES"} "$@"
}

# The selection as crossroot arguments, in the array `sel`.
selection() {
    sel=()
    local t
    if [ -n "${CROSSROOT_PROFILE:-}" ]; then
        sel+=(--profile "$CROSSROOT_PROFILE")
        for t in ${CROSSROOT_TARGETS:-}; do sel+=(--target "$t"); done
    else
        for t in ${CROSSROOT_TARGETS:-linux/arm64 linux/riscv64}; do sel+=(--target "$t"); done
        # shellcheck disable=SC2206 # word splitting is the point
        sel+=(${CROSSROOT_PACKAGES:-curl})
    fi
}

step_prerequisites() {
    local sudo=
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo=sudo; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends \
        make cmake perl pkgconf python3-pip ca-certificates
    # Debian 12 marks its Python as externally managed; ziglang is one self-contained wheel.
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages \
        'ziglang>=0.14.1,<0.18'
    python3 -m ziglang version
}

step_install_crossroot() {
    local root=${CROSSROOT_INSTALL_ROOT:-/usr/local}
    if [ -n "${CROSSROOT_BIN:-}" ]; then
        install -D -m 0755 "$CROSSROOT_BIN" "$root/bin/crossroot"
    else
        cargo install --locked --root "$root" --path "${CROSSROOT_SRC:-.}"
    fi
    "$root/bin/crossroot" --version
}

step_key() {
    selection
    cr cache key "${sel[@]}"
}

step_keyed_bundle() {
    local dir=${1:?usage: keyed-bundle DIR}
    echo "$dir/$(step_key).tar.zst"
}

step_restore() {
    local bundle=${1:?usage: restore BUNDLE}
    if [ ! -f "$bundle" ]; then
        echo "no cached bundle at $bundle; building from source"
        return 0
    fi
    # A bundle for another zig, or a damaged one, is not worth failing the job: build instead.
    if ! cr cache import "$bundle"; then
        echo "::warning::could not import $bundle; building from source" >&2
    fi
}

step_login() {
    local registry=${1:?usage: login REGISTRY USER} user=${2:?usage: login REGISTRY USER} password
    password=$(cat)
    [ -n "$password" ] || die "login: no password on stdin"
    local dir=${DOCKER_CONFIG:-$HOME/.docker}
    mkdir -p "$dir"
    (
        umask 077
        REGISTRY=$registry AUTH=$(printf '%s:%s' "$user" "$password" | base64 -w0) python3 - "$dir/config.json" <<'PY'
import json, os, sys
path = sys.argv[1]
try:
    with open(path) as f:
        config = json.load(f)
except FileNotFoundError:
    config = {}
config.setdefault("auths", {})[os.environ["REGISTRY"]] = {"auth": os.environ["AUTH"]}
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(config, f, indent=2)
os.replace(tmp, path)
PY
    )
    echo "logged in to $registry as $user ($dir/config.json)"
}

# A CI secret holding the key's text becomes a file only this job's user can read.
sign_key_file() {
    if [ -n "${CROSSROOT_SIGN_KEY_SECRET:-}" ] && [ -z "${CROSSROOT_SIGN_KEY:-}" ]; then
        local f
        f=$(umask 077 && mktemp "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/crossroot-key.XXXXXX")
        # shellcheck disable=SC2064 # the name is fixed now
        trap "rm -f '$f'" EXIT
        printf '%s\n' "$CROSSROOT_SIGN_KEY_SECRET" >"$f"
        export CROSSROOT_SIGN_KEY=$f
    fi
}

step_sysroots() {
    selection
    local push=()
    if [ -n "${CROSSROOT_CACHE:-}" ]; then
        sign_key_file
        if [ -n "${CROSSROOT_SIGN_KEY:-}" ]; then push=(--push); fi
    fi
    cr build "${sel[@]}" "${push[@]}" ${CROSSROOT_PREFIX:+--prefix "$CROSSROOT_PREFIX"}
}

step_pull() {
    [ -n "${CROSSROOT_CACHE:-}" ] || die "pull: set CROSSROOT_CACHE to the registry repository"
    selection
    cr cache pull "$CROSSROOT_CACHE" "${sel[@]}"
}

step_save() {
    local bundle=${1:?usage: save BUNDLE}
    selection
    mkdir -p "$(dirname "$bundle")"
    cr cache export "$bundle" "${sel[@]}"
    # Bundles named by older keys are dead weight in the cache.
    local old
    for old in "$(dirname "$bundle")"/crossroot-v1-*.tar.zst; do
        if [ -f "$old" ] && [ "$old" != "$bundle" ]; then rm -f "$old" "$old.minisig"; fi
    done
}

step_github_env() {
    local target=${1:?usage: github-env TARGET}
    [ -n "${GITHUB_ENV:-}" ] || die "GITHUB_ENV is not set (not in GitHub Actions?)"
    cr env --target "$target" --format github >>"$GITHUB_ENV"
}

step_go_build() {
    local target=${1:?usage: go-build TARGET OUTPUT} out=${2:?usage: go-build TARGET OUTPUT}
    mkdir -p "$(dirname "$out")"
    out=$(cd "$(dirname "$out")" && pwd -P)/$(basename "$out")
    # After `github-env` the variables are already in the environment; elsewhere, load them.
    if [ -z "${CROSSROOT_SYSROOT:-}" ]; then
        eval "$(cr env --platform "$target")"
    fi
    (cd "${GO_DIR:-ci/hello}" && go build -trimpath -ldflags '-s -w -extldflags "-static"' -o "$out" .)
    step_verify "$target" "$out"
}

step_verify() {
    local target=${1:?usage: verify TARGET FILE...}
    shift
    [ $# -gt 0 ] || die "usage: verify TARGET FILE..."
    cr verify --target "$target" "$@"
}

step_all() {
    local bundle=${1:?usage: all BUNDLE OUTDIR} outdir=${2:?usage: all BUNDLE OUTDIR} t
    step_restore "$bundle"
    step_sysroots
    step_save "$bundle"
    for t in ${CROSSROOT_TARGETS:-linux/arm64 linux/riscv64}; do
        (unset CROSSROOT_SYSROOT && step_go_build "$t" "$outdir/app-${t//\//-}")
    done
}

step=${1:-}
[ $# -gt 0 ] && shift
case "$step" in
prerequisites | install-crossroot | key | keyed-bundle | restore | login | sysroots | pull | save | github-env | go-build | verify | all)
    "step_${step//-/_}" "$@"
    ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
