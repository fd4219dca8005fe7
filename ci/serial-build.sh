#!/usr/bin/env bash
# The baseline for BENCHMARKS.md: the curl stack for one target, built by hand the way a
# user would script it — one package after another, `make -j$(nproc)` inside each — with the
# same sources, zig wrappers, flags and configure shell crossroot uses. Usage:
#   ci/serial-build.sh TARGET DOWNLOADS_DIR WORK_DIR
set -euo pipefail
T=$1 DL=$2 W=$3
case $T in
  aarch64-linux-musl) OSSL=linux-aarch64 P=aarch64 ;;
  riscv64-linux-musl) OSSL=linux64-riscv64 P=riscv64 ;;
  x86_64-linux-musl) OSSL=linux-x86_64 P=x86_64 ;;
  *) echo "unknown target $T" >&2; exit 2 ;;
esac
ZIG=${ZIG:-$(python3 -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')}
J=$(nproc)
rm -rf "$W"; mkdir -p "$W/bin" "$W/sysroot" "$W/src"
S=$W/sysroot
for t in cc c++; do
  printf '#!/bin/sh\nexport ZIG_GLOBAL_CACHE_DIR=%s ZIG_LOCAL_CACHE_DIR=%s\nexec %s %s -target %s "$@"\n' \
    "$W/zig-cache" "$W/zig-cache" "$ZIG" "$t" "$T" > "$W/bin/$T-$t"
done
for t in ar ranlib; do printf '#!/bin/sh\nexec %s %s "$@"\n' "$ZIG" "$t" > "$W/bin/$T-$t"; done
chmod +x "$W/bin/"*
export CC=$W/bin/$T-cc AR=$W/bin/$T-ar RANLIB=$W/bin/$T-ranlib
export CFLAGS="-O2 -g0" CPPFLAGS="-I$S/include" LDFLAGS="-L$S/lib" PKG_CONFIG_LIBDIR=$S/lib/pkgconfig PKG_CONFIG_PATH=
src() { find "$DL" -name "$1" | head -1; }
cd "$W/src"
tar xf "$(src 'zlib*1.3.1*.tar.gz')"
(cd zlib-1.3.1 && ./configure --static --prefix="$S" && make -j"$J" && make install) >"$W/zlib.log" 2>&1
CM=(-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=$P -DCMAKE_C_COMPILER=$CC -DCMAKE_AR=$AR
    -DCMAKE_RANLIB=$RANLIB -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -g0 -DNDEBUG"
    -DCMAKE_INSTALL_PREFIX=$S -DCMAKE_INSTALL_LIBDIR=lib -DBUILD_SHARED_LIBS=OFF)
tar xf "$(src 'c-ares*1.34.5*.tar.gz')"
(cmake -S c-ares-1.34.5 -B ca "${CM[@]}" -DCARES_STATIC=ON -DCARES_SHARED=OFF -DCARES_STATIC_PIC=ON \
   -DCARES_BUILD_TOOLS=OFF -DCARES_BUILD_TESTS=OFF && cmake --build ca -j"$J" && cmake --install ca) >"$W/c-ares.log" 2>&1
tar xf "$(src 'nghttp2*1.64.0*.tar.*')"
(cmake -S nghttp2-1.64.0 -B ng "${CM[@]}" -DENABLE_LIB_ONLY=ON -DBUILD_STATIC_LIBS=ON -DENABLE_DOC=OFF \
   -DBUILD_TESTING=OFF && cmake --build ng -j"$J" && cmake --install ng) >"$W/nghttp2.log" 2>&1
tar xf "$(src 'openssl*3.5.7*.tar.gz')"
(mkdir ob && cd ob && perl ../openssl-3.5.7/Configure "$OSSL" no-shared no-tests no-docs no-apps \
   --prefix="$S" --libdir=lib --openssldir=/etc/ssl -O2 -g0 && make -j"$J" build_libs && make install_dev) >"$W/openssl.log" 2>&1
tar xf "$(src 'curl*8.14.1*.tar.gz')"
(mkdir cb && cd cb && CONFIG_SHELL=/bin/sh ../curl-8.14.1/configure --host="$T" --build="$(uname -m)-pc-linux-gnu" --prefix="$S" \
   --disable-shared --enable-static --with-openssl="$S" --with-nghttp2="$S" --enable-ares="$S" --with-zlib="$S" \
   --without-libpsl --without-brotli --without-zstd --without-libidn2 --without-librtmp --without-libssh2 \
   --without-libssh --without-ngtcp2 --without-nghttp3 --without-quiche --without-gssapi --without-ca-bundle \
   --without-ca-path --with-ca-fallback --disable-ldap --disable-ldaps --disable-docs --disable-manual \
   --disable-dependency-tracking \
   && make -j"$J" -C lib libcurl.la && make -C lib install-libLTLIBRARIES && make -C include install && make install-pkgconfigDATA) >"$W/curl.log" 2>&1
ls "$S/lib"/*.a >/dev/null
