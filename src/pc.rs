//! Makes installed pkg-config files relocatable.
//!
//! A package is installed into a temporary prefix and built against its dependencies in
//! another temporary directory; both paths end up inside the `.pc` files it installs
//! (`prefix=`, CMake's absolute `libdir=`, curl's `Libs.private: -L…`). After the merge into
//! one sysroot those paths are gone, so every one of them is rewritten to `${prefix}`, and
//! `prefix` itself to `${pcfiledir}/../..` (the `.pc` files live in `<sysroot>/lib/pkgconfig`).

use std::borrow::Cow;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The value `prefix` gets: the sysroot, found from the `.pc` file's own location.
pub const RELOCATED_PREFIX: &str = "${pcfiledir}/../..";

/// What replaces a build path once `prefix` is defined.
const PREFIX_REFERENCE: &str = "${prefix}";

#[derive(Debug, thiserror::Error)]
pub enum PcError {
    #[error("build path `{path}` is still referenced on line {line} after relocation")]
    LeftoverPath { path: String, line: usize },
    #[error("build path `{path}` cannot be relocated: {reason}")]
    BadBuildPath { path: String, reason: &'static str },
    #[error("cannot list pkg-config directory {dir}")]
    ReadDir {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read {file}")]
    Read {
        file: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {file}")]
    Write {
        file: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("in {file}")]
    InFile {
        file: PathBuf,
        #[source]
        source: Box<PcError>,
    },
}

/// Rewrites one `.pc` file's text so that it refers to no build path.
///
/// `prefix=` becomes [`RELOCATED_PREFIX`] (a `prefix=` line is added at the top if the
/// file has none); every other occurrence of a build path (a path component boundary must
/// follow it) becomes `${prefix}`; repeated identical `-L…` flags within one field are
/// dropped. All other bytes are kept. Rewriting an already relocated file changes nothing.
pub fn relocate_pc(text: &str, build_paths: &[&str]) -> Result<String, PcError> {
    let paths = normalize_build_paths(build_paths)?;
    relocate_with(text, &paths)
}

/// Relocates every `*.pc` file directly inside `dir` and returns the files whose content
/// changed (sorted). Nothing is written unless every file relocates cleanly; each changed
/// file is replaced through a temporary file and a rename, keeping its permissions.
pub fn relocate_pc_dir(dir: &Path, build_paths: &[&str]) -> Result<Vec<PathBuf>, PcError> {
    let paths = normalize_build_paths(build_paths)?;
    let read_dir_error = |source| PcError::ReadDir {
        dir: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_dir_error)? {
        let path = entry.map_err(read_dir_error)?.path();
        if path.extension().is_some_and(|ext| ext == "pc") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();

    let mut changed = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).map_err(|source| PcError::Read {
            file: file.clone(),
            source,
        })?;
        let relocated = relocate_with(&text, &paths).map_err(|source| PcError::InFile {
            file: file.clone(),
            source: Box::new(source),
        })?;
        if relocated != text {
            changed.push((file, relocated));
        }
    }
    for (file, text) in &changed {
        replace_file(file, text).map_err(|source| PcError::Write {
            file: file.clone(),
            source,
        })?;
    }
    Ok(changed.into_iter().map(|(file, _)| file).collect())
}

/// Checks build paths and orders them longest first, so a nested path wins over its parent.
fn normalize_build_paths<'a>(build_paths: &[&'a str]) -> Result<Vec<&'a str>, PcError> {
    let mut paths = Vec::with_capacity(build_paths.len());
    for &given in build_paths {
        let bad = |reason| PcError::BadBuildPath {
            path: given.to_string(),
            reason,
        };
        let path = given.trim_end_matches('/');
        if !given.starts_with('/') {
            return Err(bad("it is not absolute"));
        }
        if path.is_empty() {
            return Err(bad("it is the root directory"));
        }
        if path.split('/').any(|part| part == "." || part == "..") {
            return Err(bad("it has `.` or `..` components"));
        }
        if path.chars().any(|c| c.is_whitespace() || c == '$') {
            // pkg-config splits on whitespace and expands `$`: such a path is never verbatim.
            return Err(bad("it contains whitespace or `$`"));
        }
        paths.push(path);
    }
    paths.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    paths.dedup();
    Ok(paths)
}

fn relocate_with(text: &str, paths: &[&str]) -> Result<String, PcError> {
    let has_prefix = text.split_inclusive('\n').any(|line| {
        let (body, _) = split_line_ending(line);
        matches!(classify(body), Line::Variable("prefix"))
    });
    let mut out = String::with_capacity(text.len() + 32);
    if !has_prefix {
        let ending =
            text.split_inclusive('\n').next().map_or("\n", |line| {
                match split_line_ending(line).1 {
                    "\r\n" => "\r\n",
                    _ => "\n",
                }
            });
        out.push_str("prefix=");
        out.push_str(RELOCATED_PREFIX);
        out.push_str(ending);
    }

    // Lines above a late `prefix=` cannot use `${prefix}`: pkg-config expands variables in order.
    let mut prefix_defined = !has_prefix;
    for line in text.split_inclusive('\n') {
        let (body, ending) = split_line_ending(line);
        match classify(body) {
            Line::Variable("prefix") => {
                prefix_defined = true;
                out.push_str("prefix=");
                out.push_str(RELOCATED_PREFIX);
            }
            kind => {
                let replacement = if prefix_defined {
                    PREFIX_REFERENCE
                } else {
                    RELOCATED_PREFIX
                };
                let replaced = replace_build_paths(body, paths, replacement);
                match kind {
                    Line::Field(name_len) => {
                        let (name, value) = replaced.split_at(name_len);
                        out.push_str(name);
                        out.push_str(&dedup_lib_dirs(value));
                    }
                    _ => out.push_str(&replaced),
                }
            }
        }
        out.push_str(ending);
    }

    for (index, line) in out.lines().enumerate() {
        if let Some(path) = paths.iter().find(|path| line.contains(**path)) {
            return Err(PcError::LeftoverPath {
                path: path.to_string(),
                line: index + 1,
            });
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line<'a> {
    /// `name=value`.
    Variable(&'a str),
    /// `Name: value`; the length of everything up to and including the colon.
    Field(usize),
    /// Comments, blank lines, anything else.
    Other,
}

fn classify(body: &str) -> Line<'_> {
    let start = body.len() - body.trim_start().len();
    let rest = &body[start..];
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'))
        .unwrap_or(rest.len());
    if name_len == 0 {
        return Line::Other;
    }
    let name = &rest[..name_len];
    let after = rest[name_len..].trim_start_matches([' ', '\t']);
    match after.chars().next() {
        Some('=') => Line::Variable(name),
        Some(':') => Line::Field(body.len() - after.len() + 1),
        _ => Line::Other,
    }
}

fn split_line_ending(line: &str) -> (&str, &str) {
    if let Some(body) = line.strip_suffix("\r\n") {
        (body, "\r\n")
    } else if let Some(body) = line.strip_suffix('\n') {
        (body, "\n")
    } else {
        (line, "")
    }
}

/// Replaces each build path that ends at a path component boundary.
fn replace_build_paths<'t>(text: &'t str, paths: &[&str], replacement: &str) -> Cow<'t, str> {
    if !paths.iter().any(|path| text.contains(path)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while let Some(c) = rest.chars().next() {
        for path in paths {
            if let Some(after) = rest.strip_prefix(path)
                && ends_component(after.chars().next())
            {
                out.push_str(replacement);
                rest = after;
                continue 'scan;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// Whether a build path followed by `next` names that directory rather than a longer sibling.
fn ends_component(next: Option<char>) -> bool {
    match next {
        None => true,
        Some(c) => c == '/' || c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | ':'),
    }
}

/// Drops `-L<dir>` flags that repeat an earlier one in the same field, with the space before them.
fn dedup_lib_dirs(value: &str) -> Cow<'_, str> {
    // Quoted or escaped flags would need pkg-config's own tokenizer; leave such fields alone.
    if value.contains(['"', '\'', '\\']) {
        return Cow::Borrowed(value);
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut out = String::with_capacity(value.len());
    let mut changed = false;
    let mut rest = value;
    while !rest.is_empty() {
        let space_len = rest.len() - rest.trim_start().len();
        let (space, after) = rest.split_at(space_len);
        let token_len = after.find(char::is_whitespace).unwrap_or(after.len());
        let (token, tail) = after.split_at(token_len);
        rest = tail;
        if token.len() > 2 && token.starts_with("-L") {
            if seen.contains(&token) {
                changed = true;
                continue;
            }
            seen.push(token);
        }
        out.push_str(space);
        out.push_str(token);
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(value)
    }
}

/// Writes beside the file and renames over it, so readers never see half a file.
fn replace_file(file: &Path, text: &str) -> io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let permissions = fs::metadata(file)?.permissions();
    let mut temp = tempfile::Builder::new()
        .prefix(".crossroot-pc-")
        .tempfile_in(dir)?;
    temp.write_all(text.as_bytes())?;
    temp.as_file().set_permissions(permissions)?;
    temp.as_file().sync_all()?;
    temp.persist(file).map_err(|err| err.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    const CURL_PREFIX: &str = "/build/crossroot/packages-v1/.tmp-c8Yq/prefix";
    const CURL_DEPS: &str = "/build/crossroot/packages-v1/.tmp-c8Yq/deps";
    const OPENSSL_PREFIX: &str = "/build/crossroot/packages-v1/.tmp-o5Lk/prefix";
    const ZLIB_PREFIX: &str = "/build/crossroot/packages-v1/.tmp-z1Rb/prefix";
    const NGHTTP2_PREFIX: &str = "/build/crossroot/packages-v1/.tmp-n2Hd/prefix";
    const CARES_PREFIX: &str = "/build/crossroot/packages-v1/.tmp-aR3s/prefix";

    /// curl 8.14.1 `configure --disable-shared` with every dependency in one deps dir.
    const CURL_PC: &str = r#"#***************************************************************************
#                                  _   _ ____  _
#  Project                     ___| | | |  _ \| |
#                             / __| | | | |_) | |
#                            | (__| |_| |  _ <| |___
#                             \___|\___/|_| \_\_____|
#
# Copyright (C) Daniel Stenberg, <daniel@haxx.se>, et al.
#
# SPDX-License-Identifier: curl
#
###########################################################################

prefix=/build/crossroot/packages-v1/.tmp-c8Yq/prefix
exec_prefix=${prefix}
libdir=${exec_prefix}/lib
includedir=${prefix}/include
supported_protocols="DICT FILE FTP FTPS GOPHER GOPHERS HTTP HTTPS IMAP IMAPS IPFS IPNS MQTT POP3 POP3S RTSP SMB SMBS SMTP SMTPS TELNET TFTP WS WSS"
supported_features="alt-svc AsynchDNS HSTS HTTP2 HTTPS-proxy IPv6 Largefile libz NTLM SSL threadsafe TLS-SRP UnixSockets"

Name: libcurl
URL: https://curl.se/
Description: Library to transfer files with HTTP, FTP, etc.
Version: 8.14.1
Requires: libcares,libnghttp2,libssl,libcrypto,zlib
Requires.private: libcares,libnghttp2,libssl,libcrypto,zlib
Libs: -L${libdir} -lcurl -lnghttp2 -lssl -lcrypto -lssl -lcrypto -lz -lcares -pthread
Libs.private: -L/build/crossroot/packages-v1/.tmp-c8Yq/deps/lib -L/build/crossroot/packages-v1/.tmp-c8Yq/deps/lib -L/build/crossroot/packages-v1/.tmp-c8Yq/deps/lib -lnghttp2 -lssl -lcrypto -lssl -lcrypto -lz -lcares -pthread
Cflags: -I${includedir} -DCURL_STATICLIB
Cflags.private: -DCURL_STATICLIB
"#;

    const CURL_PC_RELOCATED: &str = r#"#***************************************************************************
#                                  _   _ ____  _
#  Project                     ___| | | |  _ \| |
#                             / __| | | | |_) | |
#                            | (__| |_| |  _ <| |___
#                             \___|\___/|_| \_\_____|
#
# Copyright (C) Daniel Stenberg, <daniel@haxx.se>, et al.
#
# SPDX-License-Identifier: curl
#
###########################################################################

prefix=${pcfiledir}/../..
exec_prefix=${prefix}
libdir=${exec_prefix}/lib
includedir=${prefix}/include
supported_protocols="DICT FILE FTP FTPS GOPHER GOPHERS HTTP HTTPS IMAP IMAPS IPFS IPNS MQTT POP3 POP3S RTSP SMB SMBS SMTP SMTPS TELNET TFTP WS WSS"
supported_features="alt-svc AsynchDNS HSTS HTTP2 HTTPS-proxy IPv6 Largefile libz NTLM SSL threadsafe TLS-SRP UnixSockets"

Name: libcurl
URL: https://curl.se/
Description: Library to transfer files with HTTP, FTP, etc.
Version: 8.14.1
Requires: libcares,libnghttp2,libssl,libcrypto,zlib
Requires.private: libcares,libnghttp2,libssl,libcrypto,zlib
Libs: -L${libdir} -lcurl -lnghttp2 -lssl -lcrypto -lssl -lcrypto -lz -lcares -pthread
Libs.private: -L${prefix}/lib -lnghttp2 -lssl -lcrypto -lssl -lcrypto -lz -lcares -pthread
Cflags: -I${includedir} -DCURL_STATICLIB
Cflags.private: -DCURL_STATICLIB
"#;

    /// OpenSSL 3.5 `Configure --prefix=… --libdir=lib no-shared`.
    const LIBCRYPTO_PC: &str = "prefix=/build/crossroot/packages-v1/.tmp-o5Lk/prefix
exec_prefix=${prefix}
libdir=${exec_prefix}/lib
includedir=${prefix}/include
enginesdir=${libdir}/engines-3
modulesdir=${libdir}/ossl-modules

Name: OpenSSL-libcrypto
Description: OpenSSL cryptography library
Version: 3.5.0
Libs: -L${libdir} -lcrypto
Libs.private: -ldl -pthread
Cflags: -I${includedir}
";

    const LIBSSL_PC: &str = "prefix=/build/crossroot/packages-v1/.tmp-o5Lk/prefix
exec_prefix=${prefix}
libdir=${exec_prefix}/lib
includedir=${prefix}/include

Name: OpenSSL-libssl
Description: Secure Sockets Layer and cryptography libraries
Version: 3.5.0
Requires.private: libcrypto
Libs: -L${libdir} -lssl
Cflags: -I${includedir}
";

    const OPENSSL_PC: &str = "prefix=/build/crossroot/packages-v1/.tmp-o5Lk/prefix
exec_prefix=${prefix}
libdir=${exec_prefix}/lib
includedir=${prefix}/include

Name: OpenSSL
Description: Secure Sockets Layer and cryptography libraries and tools
Version: 3.5.0
Requires: libssl libcrypto
";

    /// zlib 1.3.1's own `configure`.
    const ZLIB_PC: &str = "prefix=/build/crossroot/packages-v1/.tmp-z1Rb/prefix
exec_prefix=${prefix}
libdir=${exec_prefix}/lib
sharedlibdir=${libdir}
includedir=${prefix}/include

Name: zlib
Description: zlib compression library
Version: 1.3.1

Requires:
Libs: -L${libdir} -L${sharedlibdir} -lz
Cflags: -I${includedir}
";

    /// nghttp2 1.64.0 with CMake: every directory absolute (`CMAKE_INSTALL_FULL_LIBDIR`).
    const LIBNGHTTP2_PC: &str = "# nghttp2 - HTTP/2.0 C Library

# Copyright (c) 2012 Tatsuhiro Tsujikawa

# THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND.
prefix=/build/crossroot/packages-v1/.tmp-n2Hd/prefix
exec_prefix=/build/crossroot/packages-v1/.tmp-n2Hd/prefix
libdir=/build/crossroot/packages-v1/.tmp-n2Hd/prefix/lib
includedir=/build/crossroot/packages-v1/.tmp-n2Hd/prefix/include

Name: libnghttp2
Description: HTTP/2 C library
URL: https://github.com/tatsuhiro-t/nghttp2
Version: 1.64.0
Libs: -L${libdir} -lnghttp2
Cflags: -I${includedir}
";

    const CARES_HEADER: &str = r"#***************************************************************************
# Project        ___       __ _ _ __ ___  ___ 
#               / __|____ / _` | '__/ _ \/ __|
#              | (_|_____| (_| | | |  __/\__ \
#               \___|     \__,_|_|  \___||___/
#
# Copyright (C) The c-ares project and its contributors
# SPDX-License-Identifier: MIT
";

    /// c-ares 1.34.5 with CMake: directories under `${prefix}`, empty `Libs.private: `.
    const LIBCARES_1_34_BODY: &str = "prefix=/build/crossroot/packages-v1/.tmp-aR3s/prefix
exec_prefix=${prefix}/bin
libdir=${prefix}/lib
includedir=${prefix}/include

Name: c-ares
URL: https://c-ares.org/
Description: asynchronous DNS lookup library
Version: 1.34.5
Requires: 
Requires.private: 
Cflags: -I${includedir}
Cflags.private: -DCARES_STATICLIB
Libs: -L${libdir} -lcares
Libs.private: 
";

    /// c-ares 1.30 with CMake: `CMAKE_INSTALL_FULL_*`, `exec_prefix` is the bin directory.
    const LIBCARES_1_30_BODY: &str = "prefix=/build/crossroot/packages-v1/.tmp-aR3s/prefix
exec_prefix=/build/crossroot/packages-v1/.tmp-aR3s/prefix/bin
libdir=/build/crossroot/packages-v1/.tmp-aR3s/prefix/lib
includedir=/build/crossroot/packages-v1/.tmp-aR3s/prefix/include

Name: c-ares
URL: https://c-ares.org/
Description: asynchronous DNS lookup library
Version: 1.30.0
Requires: 
Requires.private: 
Cflags: -I${includedir}
Libs: -L${libdir} -lcares
Libs.private: 
";

    /// c-ares 1.19.1 with CMake: no `prefix=` at all.
    const LIBCARES_1_19_BODY: &str = "exec_prefix=/build/crossroot/packages-v1/.tmp-aR3s/prefix/bin
libdir=/build/crossroot/packages-v1/.tmp-aR3s/prefix/lib
includedir=/build/crossroot/packages-v1/.tmp-aR3s/prefix/include

Name: c-ares
URL: https://c-ares.org/
Description: asynchronous DNS lookup library
Version: 1.19.1
Requires: 
Requires.private: 
Cflags: -I${includedir} -DCARES_STATICLIB
Libs: -L${libdir} -lcares
Libs.private: 
";

    fn cares(body: &str) -> String {
        format!("{CARES_HEADER}{body}")
    }

    /// Every sample with the build paths its package saw.
    fn samples() -> Vec<(&'static str, String, Vec<&'static str>)> {
        vec![
            ("libcurl.pc", CURL_PC.into(), vec![CURL_PREFIX, CURL_DEPS]),
            ("libcrypto.pc", LIBCRYPTO_PC.into(), vec![OPENSSL_PREFIX]),
            ("libssl.pc", LIBSSL_PC.into(), vec![OPENSSL_PREFIX]),
            ("openssl.pc", OPENSSL_PC.into(), vec![OPENSSL_PREFIX]),
            ("zlib.pc", ZLIB_PC.into(), vec![ZLIB_PREFIX]),
            ("libnghttp2.pc", LIBNGHTTP2_PC.into(), vec![NGHTTP2_PREFIX]),
            ("libcares.pc", cares(LIBCARES_1_34_BODY), vec![CARES_PREFIX]),
            (
                "libcares-1.30.pc",
                cares(LIBCARES_1_30_BODY),
                vec![CARES_PREFIX],
            ),
            (
                "libcares-1.19.pc",
                cares(LIBCARES_1_19_BODY),
                vec![CARES_PREFIX],
            ),
        ]
    }

    /// Lines that differ between two texts with the same number of lines.
    fn changed_lines(before: &str, after: &str) -> Vec<(String, String)> {
        assert_eq!(before.lines().count(), after.lines().count());
        before
            .lines()
            .zip(after.lines())
            .filter(|(a, b)| a != b)
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn curl_pc_loses_build_paths_and_repeated_lib_dirs() {
        let relocated = relocate_pc(CURL_PC, &[CURL_PREFIX, CURL_DEPS]).unwrap();
        assert_eq!(relocated, CURL_PC_RELOCATED);
    }

    #[test]
    fn openssl_and_zlib_pcs_change_only_prefix() {
        for (sample, prefix) in [
            (LIBCRYPTO_PC, OPENSSL_PREFIX),
            (LIBSSL_PC, OPENSSL_PREFIX),
            (OPENSSL_PC, OPENSSL_PREFIX),
            (ZLIB_PC, ZLIB_PREFIX),
        ] {
            let relocated = relocate_pc(sample, &[prefix]).unwrap();
            assert_eq!(
                changed_lines(sample, &relocated),
                [(
                    format!("prefix={prefix}"),
                    "prefix=${pcfiledir}/../..".into()
                )],
            );
        }
        // zlib's two spellings of one directory are different text: both stay.
        let zlib = relocate_pc(ZLIB_PC, &[ZLIB_PREFIX]).unwrap();
        assert!(zlib.contains("Libs: -L${libdir} -L${sharedlibdir} -lz\n"));
    }

    #[test]
    fn cmake_absolute_directories_become_prefix_relative() {
        let relocated = relocate_pc(LIBNGHTTP2_PC, &[NGHTTP2_PREFIX]).unwrap();
        let expected = "# nghttp2 - HTTP/2.0 C Library

# Copyright (c) 2012 Tatsuhiro Tsujikawa

# THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND.
prefix=${pcfiledir}/../..
exec_prefix=${prefix}
libdir=${prefix}/lib
includedir=${prefix}/include

Name: libnghttp2
Description: HTTP/2 C library
URL: https://github.com/tatsuhiro-t/nghttp2
Version: 1.64.0
Libs: -L${libdir} -lnghttp2
Cflags: -I${includedir}
";
        assert_eq!(relocated, expected);

        let cares_1_30 = relocate_pc(&cares(LIBCARES_1_30_BODY), &[CARES_PREFIX]).unwrap();
        assert!(cares_1_30.starts_with(CARES_HEADER));
        assert!(cares_1_30.contains(
            "\nprefix=${pcfiledir}/../..\nexec_prefix=${prefix}/bin\n\
             libdir=${prefix}/lib\nincludedir=${prefix}/include\n"
        ));
    }

    #[test]
    fn cares_pc_keeps_trailing_spaces() {
        let sample = cares(LIBCARES_1_34_BODY);
        let relocated = relocate_pc(&sample, &[CARES_PREFIX]).unwrap();
        assert_eq!(
            changed_lines(&sample, &relocated),
            [(
                format!("prefix={CARES_PREFIX}"),
                "prefix=${pcfiledir}/../..".into()
            )],
        );
        assert!(relocated.ends_with("Libs.private: \n"));
        assert!(relocated.contains("Requires: \n"));
    }

    #[test]
    fn missing_prefix_is_added_at_the_top() {
        let relocated = relocate_pc(&cares(LIBCARES_1_19_BODY), &[CARES_PREFIX]).unwrap();
        let expected = format!(
            "prefix=${{pcfiledir}}/../..\n{CARES_HEADER}exec_prefix=${{prefix}}/bin\n\
             libdir=${{prefix}}/lib\nincludedir=${{prefix}}/include\n"
        );
        assert!(relocated.starts_with(&expected), "{relocated}");
        assert!(relocated.ends_with("Libs: -L${libdir} -lcares\nLibs.private: \n"));
    }

    #[test]
    fn relocation_is_idempotent() {
        for (name, sample, paths) in samples() {
            let once = relocate_pc(&sample, &paths).unwrap();
            let twice = relocate_pc(&once, &paths).unwrap();
            assert_eq!(once, twice, "{name}");
            assert!(once.contains("prefix=${pcfiledir}/../..\n"), "{name}");
            assert!(!once.contains("/build/"), "{name}");
        }
    }

    #[test]
    fn longest_build_path_wins() {
        let text = "prefix=/b/tmp\nLibs: -L/b/tmp/deps/lib -L/b/tmp/lib -lfoo\n";
        let relocated = relocate_pc(text, &["/b/tmp", "/b/tmp/deps"]).unwrap();
        assert_eq!(
            relocated,
            "prefix=${pcfiledir}/../..\nLibs: -L${prefix}/lib -lfoo\n"
        );
    }

    #[test]
    fn build_paths_match_at_component_boundaries() {
        let text = "prefix=/b/p\nbindir=/b/p/bin\nCflags: -I/b/p/include -Wl,-rpath,/b/p,-z\n\
                    flags=\"/b/p\" '/b/p':/b/p;x\nLibs: -L/b/p\n";
        let relocated = relocate_pc(text, &["/b/p/"]).unwrap();
        assert_eq!(
            relocated,
            "prefix=${pcfiledir}/../..\nbindir=${prefix}/bin\n\
             Cflags: -I${prefix}/include -Wl,-rpath,${prefix},-z\n\
             flags=\"${prefix}\" '${prefix}':${prefix};x\nLibs: -L${prefix}\n"
        );
    }

    #[test]
    fn sibling_of_a_build_path_is_reported() {
        let text = "prefix=/b/p\n\nLibs: -L/b/p/lib -L/b/p2/lib\n";
        let err = relocate_pc(text, &["/b/p"]).unwrap_err();
        assert!(
            matches!(&err, PcError::LeftoverPath { path, line: 3 } if path == "/b/p"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "build path `/b/p` is still referenced on line 3 after relocation"
        );
    }

    #[test]
    fn line_numbers_count_an_added_prefix_line() {
        let err = relocate_pc("libdir=/b/p/lib\nx=/b/px\n", &["/b/p"]).unwrap_err();
        assert!(
            matches!(err, PcError::LeftoverPath { line: 3, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn lines_above_a_late_prefix_use_pcfiledir() {
        let text = "libdir=/b/p/lib\nprefix=/b/p\nincludedir=/b/p/include\n";
        assert_eq!(
            relocate_pc(text, &["/b/p"]).unwrap(),
            "libdir=${pcfiledir}/../../lib\nprefix=${pcfiledir}/../..\nincludedir=${prefix}/include\n"
        );
    }

    #[test]
    fn line_endings_are_kept() {
        let crlf = "prefix=/b/p\r\nLibs: -L/b/p/lib -L/b/p/lib -lz\r\nCflags: -I/b/p/include";
        assert_eq!(
            relocate_pc(crlf, &["/b/p"]).unwrap(),
            "prefix=${pcfiledir}/../..\r\nLibs: -L${prefix}/lib -lz\r\nCflags: -I${prefix}/include"
        );
        assert_eq!(
            relocate_pc("libdir=/b/p/lib\r\n", &["/b/p"]).unwrap(),
            "prefix=${pcfiledir}/../..\r\nlibdir=${prefix}/lib\r\n"
        );
        assert_eq!(
            relocate_pc("", &["/b/p"]).unwrap(),
            "prefix=${pcfiledir}/../..\n"
        );
    }

    #[test]
    fn only_repeated_lib_dirs_within_a_field_are_dropped() {
        let text = "prefix=/b/p\nlibs=-L/b/p/lib -L/b/p/lib\n\
                    Libs: -L/b/p/lib  -lssl -L/o/lib -lcrypto -L/b/p/lib\t-lssl -L/o/lib -L -L \n\
                    Libs.private: -L/b/d/lib -L\"/b/d/lib\" -L/b/d/lib\n\
                    Cflags: -I/x -I/x\n";
        assert_eq!(
            relocate_pc(text, &["/b/p", "/b/d"]).unwrap(),
            "prefix=${pcfiledir}/../..\nlibs=-L${prefix}/lib -L${prefix}/lib\n\
             Libs: -L${prefix}/lib  -lssl -L/o/lib -lcrypto\t-lssl -L -L \n\
             Libs.private: -L${prefix}/lib -L\"${prefix}/lib\" -L${prefix}/lib\n\
             Cflags: -I/x -I/x\n"
        );
    }

    #[test]
    fn prefix_and_deps_collapse_into_one_lib_dir() {
        let text = "prefix=/b/p\nLibs.private: -L/b/p/lib -L/b/d/lib -lz\n";
        assert_eq!(
            relocate_pc(text, &["/b/p", "/b/d"]).unwrap(),
            "prefix=${pcfiledir}/../..\nLibs.private: -L${prefix}/lib -lz\n"
        );
    }

    #[test]
    fn unusable_build_paths_are_refused() {
        for (path, reason) in [
            ("", "it is not absolute"),
            ("build/prefix", "it is not absolute"),
            ("/", "it is the root directory"),
            ("//", "it is the root directory"),
            ("/b/../p", "it has `.` or `..` components"),
            ("/b/./p", "it has `.` or `..` components"),
            ("/b/my prefix", "it contains whitespace or `$`"),
            ("/b/$HOME", "it contains whitespace or `$`"),
        ] {
            let err = relocate_pc("prefix=/b\n", &[path]).unwrap_err();
            assert!(
                matches!(&err, PcError::BadBuildPath { path: p, reason: r } if p == path && *r == reason),
                "{path}: {err:?}"
            );
        }
    }

    #[test]
    fn relocate_dir_rewrites_changed_files_once() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let pc_dir = dir.path();
        fs::write(pc_dir.join("libcurl.pc"), CURL_PC).unwrap();
        fs::write(pc_dir.join("done.pc"), CURL_PC_RELOCATED).unwrap();
        fs::write(pc_dir.join("notes.txt"), CURL_PC).unwrap();
        fs::create_dir(pc_dir.join("sub.pc")).unwrap();
        fs::set_permissions(pc_dir.join("libcurl.pc"), fs::Permissions::from_mode(0o640)).unwrap();

        let changed = relocate_pc_dir(pc_dir, &[CURL_PREFIX, CURL_DEPS]).unwrap();
        assert_eq!(changed, [pc_dir.join("libcurl.pc")]);
        let read = |name: &str| fs::read_to_string(pc_dir.join(name)).unwrap();
        assert_eq!(read("libcurl.pc"), CURL_PC_RELOCATED);
        assert_eq!(read("done.pc"), CURL_PC_RELOCATED);
        assert_eq!(read("notes.txt"), CURL_PC);
        let mode = fs::metadata(pc_dir.join("libcurl.pc"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);

        let again = relocate_pc_dir(pc_dir, &[CURL_PREFIX, CURL_DEPS]).unwrap();
        assert!(again.is_empty(), "{again:?}");
        let mut names: Vec<_> = fs::read_dir(pc_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["done.pc", "libcurl.pc", "notes.txt", "sub.pc"]);
    }

    #[test]
    fn relocate_dir_writes_nothing_when_a_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.pc"), "prefix=/b/p\n").unwrap();
        fs::write(
            dir.path().join("b.pc"),
            "prefix=/b/p\nLibs: -L/b/p-old/lib\n",
        )
        .unwrap();

        let err = relocate_pc_dir(dir.path(), &["/b/p"]).unwrap_err();
        let PcError::InFile { file, source } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(file, &dir.path().join("b.pc"));
        assert!(
            matches!(**source, PcError::LeftoverPath { line: 2, .. }),
            "{source:?}"
        );
        assert_eq!(err.to_string(), format!("in {}", file.display()));
        assert_eq!(
            fs::read_to_string(dir.path().join("a.pc")).unwrap(),
            "prefix=/b/p\n"
        );
    }

    #[test]
    fn relocate_dir_reports_a_missing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("lib/pkgconfig");
        let err = relocate_pc_dir(&missing, &["/b/p"]).unwrap_err();
        assert!(
            matches!(&err, PcError::ReadDir { dir, .. } if *dir == missing),
            "{err:?}"
        );
    }

    /// Relocates each package's files on their own, merges them, moves the merged
    /// sysroot, and asks the real pkg-config for curl's static flags.
    #[test]
    fn moved_sysroot_works_with_real_pkg_config() {
        let root = tempfile::tempdir().unwrap();
        // Each package is relocated on its own with its own build paths, as the build stage does.
        let packages: Vec<(&str, &[&str])> = vec![
            ("libcurl.pc", &[CURL_PREFIX, CURL_DEPS]),
            ("libcrypto.pc", &[OPENSSL_PREFIX]),
            ("libssl.pc", &[OPENSSL_PREFIX]),
            ("openssl.pc", &[OPENSSL_PREFIX]),
            ("zlib.pc", &[ZLIB_PREFIX]),
            ("libnghttp2.pc", &[NGHTTP2_PREFIX]),
            // The variant without `prefix=`, to prove the added line works.
            ("libcares-1.19.pc", &[CARES_PREFIX]),
        ];
        let texts: Vec<(&str, String)> = samples()
            .into_iter()
            .map(|(name, text, _)| (name, text))
            .collect();
        let sysroot = root.path().join("sysroot");
        let merged = sysroot.join("lib/pkgconfig");
        fs::create_dir_all(&merged).unwrap();
        fs::create_dir_all(sysroot.join("include")).unwrap();
        for (name, build_paths) in packages {
            let text = &texts.iter().find(|(n, _)| *n == name).unwrap().1;
            let installed_as = if name == "libcares-1.19.pc" {
                "libcares.pc"
            } else {
                name
            };
            let pc_dir = root.path().join(name).join("lib/pkgconfig");
            fs::create_dir_all(&pc_dir).unwrap();
            fs::write(pc_dir.join(installed_as), text).unwrap();
            let changed = relocate_pc_dir(&pc_dir, build_paths).unwrap();
            assert_eq!(changed, [pc_dir.join(installed_as)], "{name}");
            fs::copy(pc_dir.join(installed_as), merged.join(installed_as)).unwrap();
        }

        let moved = root.path().join("elsewhere/moved-sysroot");
        fs::create_dir_all(moved.parent().unwrap()).unwrap();
        fs::rename(&sysroot, &moved).unwrap();

        let output = match Command::new("pkg-config")
            .args(["--static", "--libs", "--cflags", "libcurl"])
            .env("PKG_CONFIG_LIBDIR", moved.join("lib/pkgconfig"))
            .env("PKG_CONFIG_PATH", "")
            .env_remove("PKG_CONFIG_SYSROOT_DIR")
            .output()
        {
            Ok(output) => output,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                eprintln!("skipped: pkg-config is not installed");
                return;
            }
            Err(err) => panic!("cannot run pkg-config: {err}"),
        };
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );

        let flags: Vec<&str> = stdout.split_whitespace().collect();
        for lib in ["-lcurl", "-lnghttp2", "-lcares", "-lssl", "-lcrypto", "-lz"] {
            assert!(flags.contains(&lib), "{lib} missing from {stdout}");
        }
        let moved_real = moved.canonicalize().unwrap();
        let dirs: Vec<&str> = flags
            .iter()
            .filter_map(|f| f.strip_prefix("-L").or_else(|| f.strip_prefix("-I")))
            .collect();
        assert!(dirs.len() >= 2, "{stdout}");
        for dir in dirs {
            assert!(
                dir.starts_with(moved.to_str().unwrap()),
                "{dir} in {stdout}"
            );
            let real = Path::new(dir).canonicalize().unwrap();
            assert!(
                real == moved_real.join("lib") || real == moved_real.join("include"),
                "{dir} resolves to {}",
                real.display()
            );
        }
        assert!(!stdout.contains("/build/"), "{stdout}");
        assert!(!stdout.contains(sysroot.to_str().unwrap()), "{stdout}");
    }
}

/// Property tests: any text and any build paths are relocated or refused, never a panic, and
/// relocating again changes nothing; a generated well-formed `.pc` keeps every variable, and
/// each expands after relocation (with the sysroot where the build path was) to what it did
/// before. `cargo test` runs 256 cases each; `PROPTEST_CASES=100000 cargo test --lib
/// sysroot::pc::proptests` runs them long.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn config() -> ProptestConfig {
        ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// An absolute path crossroot could build in: no `.`/`..` component, no whitespace or `$`.
    fn build_path() -> impl Strategy<Value = String> {
        prop::collection::vec("[a-z][a-zA-Z0-9_.+-]{0,6}", 1..5)
            .prop_map(|parts| format!("/{}", parts.join("/")))
    }

    /// A piece of a value: text, a reference to an earlier variable, or the build path.
    #[derive(Debug, Clone)]
    enum Piece {
        /// No `/`, `$` or braces: it can neither form the build path nor reference a variable.
        Text(String),
        /// `${<the n-th variable defined before>}` (modulo how many there are).
        Ref(usize),
        /// The build path and a subdirectory (`/` follows it: a component boundary).
        Under(&'static str),
        /// The build path alone; only last in a value.
        Path,
    }

    fn piece() -> impl Strategy<Value = Piece> {
        prop_oneof![
            "[a-zA-Z0-9 _=:,.+-]{1,8}".prop_map(Piece::Text),
            any::<usize>().prop_map(Piece::Ref),
            prop::sample::select(vec!["/lib", "/include", "/lib/pkgconfig", "/share/a b"])
                .prop_map(Piece::Under),
        ]
    }

    fn value() -> impl Strategy<Value = Vec<Piece>> {
        (prop::collection::vec(piece(), 0..5), any::<bool>()).prop_map(|(mut pieces, end)| {
            if end {
                pieces.push(Piece::Path);
            }
            pieces
        })
    }

    /// A `.pc` file: variables (maybe with `prefix=<build path>` among them), comments, blank
    /// lines and fields, with one kind of line ending.
    #[derive(Debug, Clone)]
    struct Generated {
        path: String,
        /// Variable values; `prefix` is defined before variable `prefix_at`, if at all.
        vars: Vec<Vec<Piece>>,
        prefix_at: Option<usize>,
        fields: Vec<(&'static str, Vec<Vec<Piece>>)>,
        comment: bool,
        crlf: bool,
    }

    /// A build path that none of the generated text can contain by chance: replacement is
    /// textual, so `/a` would also be found inside `/share/a` (harmless for the long unique
    /// temporary paths crossroot builds in, and not what this property is about).
    fn distinct_build_path() -> impl Strategy<Value = String> {
        build_path().prop_map(|p| format!("/bld{p}"))
    }

    fn generated() -> impl Strategy<Value = Generated> {
        let field = (
            prop::sample::select(vec![
                "Name",
                "Description",
                "Version",
                "Libs",
                "Libs.private",
                "Cflags",
                "Requires",
            ]),
            prop::collection::vec(value(), 0..4),
        );
        (
            distinct_build_path(),
            prop::collection::vec(value(), 0..7),
            any::<prop::sample::Index>(),
            any::<bool>(),
            prop::collection::vec(field, 0..4),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(path, vars, at, has_prefix, fields, comment, crlf)| {
                let prefix_at = has_prefix.then(|| at.index(vars.len() + 1));
                Generated {
                    path,
                    vars,
                    prefix_at,
                    fields,
                    comment,
                    crlf,
                }
            })
    }

    impl Generated {
        fn render_value(&self, pieces: &[Piece], defined: &[String]) -> String {
            let mut out = String::new();
            for p in pieces {
                match p {
                    Piece::Text(t) => out.push_str(t),
                    Piece::Ref(n) if !defined.is_empty() => {
                        out.push_str(&format!("${{{}}}", defined[n % defined.len()]))
                    }
                    Piece::Ref(_) => {}
                    Piece::Under(sub) => {
                        out.push_str(&self.path);
                        out.push_str(sub);
                    }
                    Piece::Path => out.push_str(&self.path),
                }
            }
            out
        }

        fn text(&self) -> String {
            let nl = if self.crlf { "\r\n" } else { "\n" };
            let mut lines = Vec::new();
            if self.comment {
                lines.push(format!("# installed into {}/lib", self.path));
            }
            let mut defined: Vec<String> = Vec::new();
            for (i, v) in self.vars.iter().enumerate() {
                if self.prefix_at == Some(i) {
                    lines.push(format!("prefix={}", self.path));
                    defined.push("prefix".into());
                }
                let value = self.render_value(v, &defined);
                let name = format!("v{i}");
                lines.push(format!("{name}={value}"));
                defined.push(name);
            }
            if self.prefix_at == Some(self.vars.len()) {
                lines.push(format!("prefix={}", self.path));
                defined.push("prefix".into());
            }
            lines.push(String::new());
            for (name, tokens) in &self.fields {
                let value: Vec<String> = tokens
                    .iter()
                    .map(|t| format!("-L{}", self.render_value(t, &defined)))
                    .collect();
                lines.push(format!("{name}: {}", value.join(" ")));
            }
            lines.join(nl) + nl
        }
    }

    /// A variable or a field: its name (a field's with its colon) and expanded value.
    type Named = (String, String);

    /// Variables in order with their values expanded as pkg-config does (`${name}` of one
    /// defined above), and fields expanded; `pcfiledir` is `<root>/lib/pkgconfig`.
    fn expand(text: &str, root: &str) -> (Vec<Named>, Vec<Named>) {
        let mut known: BTreeMap<String, String> = BTreeMap::new();
        known.insert("pcfiledir".into(), format!("{root}/lib/pkgconfig"));
        let subst = |value: &str, known: &BTreeMap<String, String>| {
            let mut out = value.to_string();
            // Longest names first, so `${v1}` is not taken for a part of `${v10}`.
            let mut names: Vec<&String> = known.keys().collect();
            names.sort_by_key(|n| std::cmp::Reverse(n.len()));
            for name in names {
                out = out.replace(&format!("${{{name}}}"), &known[name]);
            }
            out.replace(&format!("{root}/lib/pkgconfig/../.."), root)
        };
        let (mut vars, mut fields) = (Vec::new(), Vec::new());
        for line in text.lines() {
            match classify(line) {
                Line::Variable(name) => {
                    let value = subst(&line[line.find('=').unwrap() + 1..], &known);
                    known.insert(name.to_string(), value.clone());
                    vars.push((name.to_string(), value));
                }
                Line::Field(len) => {
                    let value = subst(&line[len..], &known);
                    fields.push((line[..len].to_string(), value));
                }
                Line::Other => {}
            }
        }
        (vars, fields)
    }

    /// The words of a field, each once, in the order they first appear: relocation may drop
    /// a repeated `-L` flag, and nothing else (a variable's value may hold spaces, so one flag
    /// of the file may be several words).
    fn flags(value: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for token in value.split_whitespace() {
            if !out.iter().any(|t| t == token) {
                out.push(token.to_string());
            }
        }
        out
    }

    /// A `.pc`-like line: variables, fields, comments, the paths, anything.
    fn pc_line(paths: Vec<String>) -> impl Strategy<Value = String> {
        let path = prop::sample::select(paths);
        prop_oneof![
            ("[a-zA-Z_.-]{1,8}", "[ \t]{0,2}", path.clone(), "[ -~]{0,6}")
                .prop_map(|(n, s, p, rest)| format!("{n}{s}={p}{rest}")),
            ("[A-Za-z.]{1,10}", path.clone(), path.clone())
                .prop_map(|(n, a, b)| format!("{n}: -L{a}/lib -L{b}/lib -L{a}/lib -I{b}")),
            path.prop_map(|p| format!("prefix={p}")),
            "[ -~]{0,20}",
            any::<String>(),
        ]
    }

    fn pc_like() -> impl Strategy<Value = (Vec<String>, String)> {
        prop::collection::vec(build_path(), 1..4).prop_flat_map(|paths| {
            let lines = prop::collection::vec(pc_line(paths.clone()), 0..12);
            (Just(paths), lines, any::<bool>()).prop_map(|(paths, lines, crlf)| {
                (paths, lines.join(if crlf { "\r\n" } else { "\n" }))
            })
        })
    }

    /// What must hold of any result: no build path left, and a second pass changes nothing.
    fn check_result(text: &str, paths: &[&str]) -> Result<(), TestCaseError> {
        match relocate_pc(text, paths) {
            Ok(out) => {
                let normalized = normalize_build_paths(paths).unwrap();
                for p in &normalized {
                    prop_assert!(!out.contains(p), "`{p}` left in:\n{out}");
                }
                let again =
                    relocate_pc(&out, paths).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(&again, &out, "a second pass changed it");
            }
            Err(PcError::LeftoverPath { path, line }) => {
                prop_assert!(
                    text.contains(&path),
                    "{path} (line {line}) is not in the text"
                );
            }
            Err(PcError::BadBuildPath { path, .. }) => {
                prop_assert!(paths.contains(&path.as_str()));
            }
            Err(other) => prop_assert!(false, "relocate_pc cannot give {other:?}"),
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_text_and_paths_are_relocated_or_refused(
            text in any::<String>(),
            paths in prop::collection::vec(prop_oneof![build_path(), any::<String>()], 0..3),
        ) {
            let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
            check_result(&text, &paths)?;
        }

        #[test]
        fn pc_like_text_is_relocated_or_refused((paths, text) in pc_like()) {
            let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
            check_result(&text, &paths)?;
        }

        #[test]
        fn a_well_formed_pc_keeps_its_variables_and_their_meaning(pc in generated()) {
            let text = pc.text();
            let out = relocate_pc(&text, &[&pc.path])
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert!(!out.contains(&pc.path), "{out}");
            prop_assert_eq!(relocate_pc(&out, &[&pc.path]).unwrap(), out.clone());

            let (before, before_fields) = expand(&text, &pc.path);
            let (after, after_fields) = expand(&out, &pc.path);
            let mut want: Vec<&str> = before.iter().map(|(n, _)| n.as_str()).collect();
            if pc.prefix_at.is_none() {
                want.insert(0, "prefix");
            }
            let got: Vec<&str> = after.iter().map(|(n, _)| n.as_str()).collect();
            prop_assert_eq!(got, want, "variables:\n{}\n---\n{}", text, out);
            let after: BTreeMap<_, _> = after.into_iter().collect();
            for (name, value) in &before {
                prop_assert_eq!(&after[name], value, "`{}`:\n{}\n---\n{}", name, text, out);
            }
            prop_assert_eq!(before_fields.len(), after_fields.len());
            for ((name, b), (name2, a)) in before_fields.iter().zip(&after_fields) {
                prop_assert_eq!(name, name2);
                prop_assert_eq!(flags(a), flags(b), "{}:\n{}\n---\n{}", name, text, out);
            }
        }
    }
}
