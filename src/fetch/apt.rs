//! Debian-style archive mirrors, read from the host's apt configuration, and `pool/` paths.
//!
//! Upstream tarballs (`<srcpkg>_<ver>.orig.tar.*`) also live in a Debian archive's `pool/`.
//! crossroot never names an archive host itself: it uses whatever mirrors apt is configured
//! with, tries them in order, and relies on the recipe's sha256 pin for integrity.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Reading the apt configuration failed.
#[derive(Debug, thiserror::Error)]
pub enum AptError {
    #[error("cannot read apt sources file {path}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot list apt sources directory {path}")]
    ReadDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// One archive base URI and the components apt uses from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptMirror {
    /// Base URI without a trailing slash, e.g. `http://mirror.example/debian`.
    pub base: String,
    /// Components (`main`, `contrib`, …) in first-seen order, across every entry for `base`.
    pub components: Vec<String>,
    /// The sources file that first named this base.
    pub origin: PathBuf,
}

impl AptMirror {
    /// Pool URLs for `file` of `source_package`, one per component (`main` when none is known).
    pub fn pool_urls(&self, source_package: &str, file: &str) -> Vec<String> {
        if self.components.is_empty() {
            return vec![pool_url(&self.base, "main", source_package, file)];
        }
        self.components
            .iter()
            .map(|c| pool_url(&self.base, c, source_package, file))
            .collect()
    }
}

/// Every pool URL for `file` across `mirrors`, in mirror order, then component order.
pub fn pool_candidates(mirrors: &[AptMirror], source_package: &str, file: &str) -> Vec<String> {
    mirrors
        .iter()
        .flat_map(|m| m.pool_urls(source_package, file))
        .collect()
}

/// `pool/<component>/<prefix>/<srcpkg>/<file>`, where the prefix is the first letter of the
/// source package, or its first four letters when it starts with `lib`.
pub fn pool_path(component: &str, source_package: &str, file: &str) -> String {
    let prefix_len = if source_package.starts_with("lib") && source_package.len() > 3 {
        4
    } else {
        1
    };
    let prefix: String = source_package.chars().take(prefix_len).collect();
    format!("pool/{component}/{prefix}/{source_package}/{file}")
}

/// The full URL of a pool file on one mirror.
pub fn pool_url(mirror_base: &str, component: &str, source_package: &str, file: &str) -> String {
    format!(
        "{}/{}",
        mirror_base.trim_end_matches('/'),
        pool_path(component, source_package, file)
    )
}

/// The name of an upstream signature in the pool: dpkg-source keeps it beside the orig
/// tarball as `<orig file>.asc`, whatever the upstream file was called.
pub fn signature_file(orig_file: &str) -> String {
    format!("{orig_file}.asc")
}

/// Reads `<apt_root>/sources.list` and `<apt_root>/sources.list.d/*.{list,sources}`.
///
/// Missing files and directories mean "no mirrors"; only files that exist but cannot be read
/// are errors. Only `http`, `https` and `file` URIs are kept.
pub fn read_apt_mirrors(apt_root: &Path) -> Result<Vec<AptMirror>, AptError> {
    let mut files = vec![apt_root.join("sources.list")];
    let dir = apt_root.join("sources.list.d");
    match fs::read_dir(&dir) {
        Ok(entries) => {
            let mut found = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|source| AptError::ReadDir {
                    path: dir.clone(),
                    source,
                })?;
                let path = entry.path();
                if matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("list" | "sources")
                ) {
                    found.push(path);
                }
            }
            // apt reads the parts in alphanumeric order; the first-seen order follows it.
            found.sort();
            files.extend(found);
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(AptError::ReadDir { path: dir, source }),
    }

    let mut mirrors = Mirrors::default();
    for path in files {
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(AptError::ReadFile { path, source }),
        };
        let text = String::from_utf8_lossy(&bytes);
        let entries = if path.extension().is_some_and(|e| e == "sources") {
            parse_deb822(&text)
        } else {
            parse_one_line(&text)
        };
        for entry in entries {
            mirrors.add(entry, &path);
        }
    }
    Ok(mirrors.list)
}

/// One usable `deb`/`deb-src` entry: a URI and its components.
#[derive(Debug, PartialEq, Eq)]
struct SourceEntry {
    uri: String,
    components: Vec<String>,
}

#[derive(Default)]
struct Mirrors {
    list: Vec<AptMirror>,
}

impl Mirrors {
    fn add(&mut self, entry: SourceEntry, origin: &Path) {
        let Some(base) = usable_base(&entry.uri) else {
            return;
        };
        let index = match self.list.iter().position(|m| m.base == base) {
            Some(i) => i,
            None => {
                self.list.push(AptMirror {
                    base,
                    components: Vec::new(),
                    origin: origin.to_path_buf(),
                });
                self.list.len() - 1
            }
        };
        let mirror = &mut self.list[index];
        for component in entry.components {
            if !mirror.components.contains(&component) {
                mirror.components.push(component);
            }
        }
    }
}

/// The URI without trailing slashes, if its scheme is one the fetcher can use directly.
fn usable_base(uri: &str) -> Option<String> {
    let (scheme, _) = uri.split_once(':')?;
    // `mirror+http` names a mirror list, `tor+http` needs a proxy, `cdrom:` a disc: all skipped.
    if !["http", "https", "file"]
        .iter()
        .any(|s| scheme.eq_ignore_ascii_case(s))
    {
        return None;
    }
    let trimmed = uri.trim_end_matches('/');
    // Keep `file:/` meaningful rather than trimming it to a bare scheme.
    if trimmed.ends_with(':') {
        return Some(uri.to_string());
    }
    Some(trimmed.to_string())
}

fn is_archive_type(t: &str) -> bool {
    t == "deb" || t == "deb-src"
}

/// The one-line format: `deb [opts] URI suite [component...]`.
fn parse_one_line(text: &str) -> Vec<SourceEntry> {
    let mut entries = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let Some((kind, rest)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        if !is_archive_type(kind) {
            continue;
        }
        let mut rest = rest.trim_start();
        // Options may contain spaces: `[ arch=amd64 signed-by=/path ]`.
        if let Some(opts) = rest.strip_prefix('[') {
            let Some((_, after)) = opts.split_once(']') else {
                continue;
            };
            rest = after.trim_start();
        }
        // `cdrom:[Label with spaces]/` would split wrongly, and is never fetchable anyway.
        if rest.starts_with("cdrom:") {
            continue;
        }
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(_suite)) = (words.next(), words.next()) else {
            continue;
        };
        entries.push(SourceEntry {
            uri: uri.to_string(),
            components: words.map(str::to_string).collect(),
        });
    }
    entries
}

/// The deb822 format: stanzas of `Field: value` lines, separated by blank lines.
fn parse_deb822(text: &str) -> Vec<SourceEntry> {
    let mut entries = Vec::new();
    let mut stanza: Vec<(String, String)> = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            entries.extend(stanza_entries(&stanza));
            stanza.clear();
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // Continuation of the previous field; a bare ` .` stands for an empty line.
            if let Some((_, value)) = stanza.last_mut() {
                let more = line.trim();
                if more != "." {
                    value.push(' ');
                    value.push_str(more);
                }
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            stanza.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    entries
}

fn stanza_entries(stanza: &[(String, String)]) -> Vec<SourceEntry> {
    let field = |name: &str| {
        stanza
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    if field("enabled").is_some_and(|v| v.eq_ignore_ascii_case("no")) {
        return Vec::new();
    }
    if !field("types")
        .unwrap_or_default()
        .split_whitespace()
        .any(is_archive_type)
    {
        return Vec::new();
    }
    if field("suites").is_none_or(|s| s.trim().is_empty()) {
        return Vec::new();
    }
    let components: Vec<String> = field("components")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    field("uris")
        .unwrap_or_default()
        .split_whitespace()
        .map(|uri| SourceEntry {
            uri: uri.to_string(),
            components: components.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn bases(mirrors: &[AptMirror]) -> Vec<&str> {
        mirrors.iter().map(|m| m.base.as_str()).collect()
    }

    #[test]
    fn the_upstream_signature_is_beside_the_orig_file_in_the_pool() {
        assert_eq!(
            signature_file("curl_8.14.1.orig.tar.gz"),
            "curl_8.14.1.orig.tar.gz.asc"
        );
        assert_eq!(
            pool_url(
                "http://127.0.0.1:9/debian/",
                "main",
                "openssl",
                &signature_file("openssl_3.5.7.orig.tar.gz")
            ),
            "http://127.0.0.1:9/debian/pool/main/o/openssl/openssl_3.5.7.orig.tar.gz.asc"
        );
        let mirror = AptMirror {
            base: "http://127.0.0.1:9/debian".into(),
            components: vec!["main".into(), "contrib".into()],
            origin: PathBuf::from("debian.sources"),
        };
        assert_eq!(
            mirror.pool_urls("libssh2", &signature_file("libssh2_1.11.1.orig.tar.gz")),
            [
                "http://127.0.0.1:9/debian/pool/main/libs/libssh2/libssh2_1.11.1.orig.tar.gz.asc",
                "http://127.0.0.1:9/debian/pool/contrib/libs/libssh2/libssh2_1.11.1.orig.tar.gz.asc"
            ]
        );
    }

    #[test]
    fn pool_paths_use_debian_prefixes() {
        assert_eq!(
            pool_path("main", "curl", "curl_8.14.1.orig.tar.gz"),
            "pool/main/c/curl/curl_8.14.1.orig.tar.gz"
        );
        assert_eq!(
            pool_path("main", "c-ares", "c-ares_1.34.5.orig.tar.gz"),
            "pool/main/c/c-ares/c-ares_1.34.5.orig.tar.gz"
        );
        assert_eq!(
            pool_path("main", "libzstd", "libzstd_1.5.7+dfsg.orig.tar.xz"),
            "pool/main/libz/libzstd/libzstd_1.5.7+dfsg.orig.tar.xz"
        );
        assert_eq!(
            pool_path("non-free", "lib", "lib_1.orig.tar.gz"),
            "pool/non-free/l/lib/lib_1.orig.tar.gz"
        );
        assert_eq!(
            pool_url(
                "http://mirror.example/debian/",
                "main",
                "nghttp2",
                "nghttp2_1.64.0.orig.tar.xz"
            ),
            "http://mirror.example/debian/pool/main/n/nghttp2/nghttp2_1.64.0.orig.tar.xz"
        );
    }

    #[test]
    fn missing_configuration_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_apt_mirrors(dir.path()).unwrap().is_empty());
        assert!(
            read_apt_mirrors(&dir.path().join("absent"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn one_line_format() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "sources.list",
            "# a comment line\n\
             deb http://mirror.example/debian stable main contrib # trailing comment\n\
             deb-src [arch=amd64 signed-by=/usr/share/keyrings/example.gpg] https://other.example/debian/ stable main\n\
             deb [ arch=amd64,arm64 trusted=yes ] http://mirror.example/debian/ stable-updates main non-free\n\
             deb cdrom:[Example Disc 12.0 _Codename_ - Official amd64 DVD]/ stable main\n\
             deb mirror+file:/etc/apt/mirrors.txt stable main\n\
             deb tor+http://onion.example/debian stable main\n\
             deb ftp://ftp.example/debian stable main\n\
             rpm http://rpm.example/repo stable main\n\
             deb http://flat.example/repo ./\n\
             deb http://incomplete.example/debian\n\
             deb [arch=amd64 http://unclosed.example/debian stable main\n\
             \n   \n",
        );
        let mirrors = read_apt_mirrors(dir.path()).unwrap();
        assert_eq!(
            bases(&mirrors),
            [
                "http://mirror.example/debian",
                "https://other.example/debian",
                "http://flat.example/repo"
            ]
        );
        assert_eq!(
            mirrors[0].components,
            ["main", "contrib", "non-free"],
            "duplicates merge their components"
        );
        assert_eq!(mirrors[1].components, ["main"]);
        assert!(mirrors[2].components.is_empty());
        assert_eq!(mirrors[0].origin, dir.path().join("sources.list"));
    }

    #[test]
    fn deb822_format() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "sources.list.d/archive.sources",
            "# leading comment\n\
             Types: deb deb-src\n\
             URIs: http://mirror.example/debian https://second.example/debian/\n\
             Suites: stable stable-updates\n\
             Components: main contrib\n\
             Signed-By: -----BEGIN PGP PUBLIC KEY BLOCK-----\n \
             .\n \
             mQINBGExample\n \
             -----END PGP PUBLIC KEY BLOCK-----\n\
             \n\
             \n\
             types: deb\n\
             # comment inside a stanza\n\
             uris: http://security.example/debian-security\n\
             suites: stable-security\n\
             components: main\n \
             non-free-firmware\n\
             \n\
             Enabled: no\n\
             Types: deb\n\
             URIs: http://disabled.example/debian\n\
             Suites: stable\n\
             Components: main\n\
             \n\
             Types: deb-src\n\
             URIs: http://mirror.example/debian/\n\
             Suites: testing\n\
             Components: non-free\n\
             \n\
             Types: rpm\n\
             URIs: http://rpm.example/repo\n\
             Suites: stable\n\
             \n\
             Types: deb\n\
             URIs: http://nosuite.example/debian\n\
             \n\
             Types: deb\n\
             URIs: file:///srv/local-mirror/\n\
             Suites: stable\n\
             Components: main\n\
             Enabled: yes",
        );
        let mirrors = read_apt_mirrors(dir.path()).unwrap();
        assert_eq!(
            bases(&mirrors),
            [
                "http://mirror.example/debian",
                "https://second.example/debian",
                "http://security.example/debian-security",
                "file:///srv/local-mirror"
            ]
        );
        assert_eq!(mirrors[0].components, ["main", "contrib", "non-free"]);
        assert_eq!(mirrors[1].components, ["main", "contrib"]);
        assert_eq!(mirrors[2].components, ["main", "non-free-firmware"]);
    }

    #[test]
    fn files_are_read_in_order_and_other_extensions_ignored() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "sources.list",
            "deb http://first.example/debian stable main\n",
        );
        write(
            dir.path(),
            "sources.list.d/20-b.list",
            "deb http://third.example/debian stable main\n",
        );
        write(
            dir.path(),
            "sources.list.d/10-a.sources",
            "Types: deb\nURIs: http://second.example/debian\nSuites: stable\nComponents: main\n",
        );
        write(
            dir.path(),
            "sources.list.d/vendor.list.disabled-by-farm",
            "deb http://ignored.example/debian stable main\n",
        );
        write(
            dir.path(),
            "sources.list.d/old.sources.save",
            "Types: deb\nURIs: http://ignored2.example/debian\nSuites: stable\n",
        );
        write(
            dir.path(),
            "sources.list.d/30-dup.list",
            "deb http://first.example/debian/ stable non-free\n",
        );
        let mirrors = read_apt_mirrors(dir.path()).unwrap();
        assert_eq!(
            bases(&mirrors),
            [
                "http://first.example/debian",
                "http://second.example/debian",
                "http://third.example/debian"
            ]
        );
        assert_eq!(mirrors[0].components, ["main", "non-free"]);
        assert_eq!(
            mirrors[1].origin,
            dir.path().join("sources.list.d/10-a.sources")
        );
        assert_eq!(
            pool_candidates(&mirrors[..2], "zlib", "zlib_1.3.1.orig.tar.gz"),
            [
                "http://first.example/debian/pool/main/z/zlib/zlib_1.3.1.orig.tar.gz",
                "http://first.example/debian/pool/non-free/z/zlib/zlib_1.3.1.orig.tar.gz",
                "http://second.example/debian/pool/main/z/zlib/zlib_1.3.1.orig.tar.gz",
            ]
        );
    }

    #[test]
    fn unreadable_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where a file should be cannot be read, even by root.
        fs::create_dir_all(dir.path().join("sources.list.d/broken.list")).unwrap();
        let err = read_apt_mirrors(dir.path()).unwrap_err();
        assert!(matches!(err, AptError::ReadFile { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "cannot read apt sources file {}",
                dir.path().join("sources.list.d/broken.list").display()
            )
        );
    }

    #[test]
    fn no_components_falls_back_to_main() {
        let mirror = AptMirror {
            base: "file:/srv/archive".into(),
            components: Vec::new(),
            origin: PathBuf::from("sources.list"),
        };
        assert_eq!(
            mirror.pool_urls("openssl", "openssl_3.5.1.orig.tar.gz"),
            ["file:/srv/archive/pool/main/o/openssl/openssl_3.5.1.orig.tar.gz"]
        );
    }

    /// The host's own apt configuration parses; what it names is the host's business.
    #[test]
    fn host_configuration_parses() {
        let root = Path::new("/etc/apt");
        if !root.is_dir() {
            return;
        }
        let mirrors = read_apt_mirrors(root).unwrap();
        for m in &mirrors {
            assert!(!m.base.ends_with('/'), "{}", m.base);
            assert!(m.base.contains(':'), "{}", m.base);
        }
    }
}
