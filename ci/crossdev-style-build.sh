#!/usr/bin/env bash
# The Crossdev-style baseline for BENCHMARKS.md: the curl stack for one target built the way
# the Gentoo Crossdev recipe has a user do it by hand — every package by its autotools (or its
# own) configure with default flags, `make -j$(nproc) && make install` one package after
# another, nothing trimmed beyond a static library. The compiler is the same zig crossroot
# uses (a Crossdev user would have a musl cross gcc), so the comparison is about the steps.
#   ci/crossdev-style-build.sh TARGET DOWNLOADS_DIR WORK_DIR prepare   (not timed)
#   ci/crossdev-style-build.sh TARGET DOWNLOADS_DIR WORK_DIR build     (timed)
# `prepare` only makes up for one source: Debian's nghttp2 orig tarball is the git tag archive
# without `configure`, which the upstream release tarball a Crossdev user downloads has; it
# runs autoreconf once and repacks the tree into WORK_DIR/dl.
set -euo pipefail
T=$1 DL=$2 W=$3 PHASE=$4
case $T in
  aarch64-linux-musl) OSSL=linux-aarch64 ;;
  riscv64-linux-musl) OSSL=linux64-riscv64 ;;
  x86_64-linux-musl) OSSL=linux-x86_64 ;;
  *) echo "unknown target $T" >&2; exit 2 ;;
esac
src() { find "$DL" "$W/dl" -name "$1" 2>/dev/null | head -1; }

if [ "$PHASE" = prepare ]; then
  mkdir -p "$W/dl" && tmp=$(mktemp -d)
  tar -C "$tmp" -xf "$(src 'nghttp2*1.64.0*.tar.*')"
  d=$(ls "$tmp")
  if [ ! -x "$tmp/$d/configure" ]; then
    (cd "$tmp/$d" && autoreconf -i) >"$W/autoreconf.log" 2>&1
  fi
  [ "$d" = nghttp2-1.64.0 ] || mv "$tmp/$d" "$tmp/nghttp2-1.64.0"
  tar -C "$tmp" -czf "$W/dl/nghttp2-1.64.0-with-configure.tar.gz" nghttp2-1.64.0
  rm -rf "$tmp"
  exit 0
fi

ZIG=${ZIG:-$(python3 -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')}
J=$(nproc)
B=$W/build
rm -rf "$B"; mkdir -p "$B/bin" "$B/sysroot" "$B/src"
S=$B/sysroot
for t in cc c++; do
  printf '#!/bin/sh\nexport ZIG_GLOBAL_CACHE_DIR=%s ZIG_LOCAL_CACHE_DIR=%s\nexec %s %s -target %s "$@"\n' \
    "$B/zig-cache" "$B/zig-cache" "$ZIG" "$t" "$T" > "$B/bin/$T-$t"
done
for t in ar ranlib; do printf '#!/bin/sh\nexec %s %s "$@"\n' "$ZIG" "$t" > "$B/bin/$T-$t"; done
chmod +x "$B/bin/"*
# What a Crossdev user's environment holds: the cross tools and a pkg-config for the sysroot.
export CC=$B/bin/$T-cc CXX=$B/bin/$T-c++ AR=$B/bin/$T-ar RANLIB=$B/bin/$T-ranlib
export CPPFLAGS="-I$S/include" LDFLAGS="-L$S/lib" PKG_CONFIG_LIBDIR=$S/lib/pkgconfig PKG_CONFIG_PATH=
unset CFLAGS CXXFLAGS
H=(--host="$T" --build="$(uname -m)-pc-linux-gnu" --prefix="$S" --disable-shared)
cd "$B/src"
tar xf "$(src 'zlib*1.3.1*.tar.gz')"
(cd zlib-1.3.1 && ./configure --static --prefix="$S" && make -j"$J" && make install) >"$B/zlib.log" 2>&1
tar xf "$(src 'c-ares*1.34.5*.tar.gz')"
(cd c-ares-1.34.5 && ./configure "${H[@]}" && make -j"$J" && make install) >"$B/c-ares.log" 2>&1
tar xf "$(src 'nghttp2-1.64.0-with-configure.tar.gz')"
(cd nghttp2-1.64.0 && ./configure "${H[@]}" --enable-lib-only && make -j"$J" && make install) >"$B/nghttp2.log" 2>&1
tar xf "$(src 'openssl*3.5.7*.tar.gz')"
(cd openssl-3.5.7 && ./Configure "$OSSL" no-shared no-tests --prefix="$S" --libdir=lib \
   && make -j"$J" build_sw && make install_sw) >"$B/openssl.log" 2>&1
tar xf "$(src 'curl*8.14.1*.tar.gz')"
(cd curl-8.14.1 && ./configure "${H[@]}" --with-openssl="$S" --with-nghttp2="$S" --enable-ares="$S" \
   --with-zlib="$S" --without-libpsl && make -j"$J" && make install) >"$B/curl.log" 2>&1
ls "$S/lib"/libcurl.a "$S/lib"/libssl.a "$S/lib"/libnghttp2.a "$S/lib"/libcares.a "$S/lib"/libz.a >/dev/null
