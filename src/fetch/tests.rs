use super::download::{backoff, show_duration};
use super::*;

fn artifact(file: &str) -> SourceArtifact {
    SourceArtifact {
        file: file.to_string(),
        sha256: "ab".repeat(32),
        size: None,
        urls: vec![],
        debian: None,
        signature: None,
    }
}

#[test]
fn pool_url_uses_first_letter_or_lib_prefix() {
    assert_eq!(
        apt::pool_url(
            "http://127.0.0.1:9/debian",
            "main",
            "curl",
            "curl_8.14.1.orig.tar.gz"
        ),
        "http://127.0.0.1:9/debian/pool/main/c/curl/curl_8.14.1.orig.tar.gz"
    );
    assert_eq!(
        apt::pool_url("http://127.0.0.1:9/debian/", "main", "libzstd", "x.tar.gz"),
        "http://127.0.0.1:9/debian/pool/main/libz/libzstd/x.tar.gz"
    );
    // `lib` alone is not a `lib*` name.
    assert_eq!(
        apt::pool_url("http://127.0.0.1:9", "contrib", "lib", "f"),
        "http://127.0.0.1:9/pool/contrib/l/lib/f"
    );
}

#[test]
fn cache_layout_is_sha256_then_file() {
    let a = artifact("curl-8.14.1.tar.gz");
    let dir = Path::new("cache");
    assert_eq!(
        cached_path(dir, &a),
        dir.join("ab".repeat(32)).join("curl-8.14.1.tar.gz")
    );
    assert_eq!(
        partial_path(dir, &a),
        dir.join("ab".repeat(32)).join("curl-8.14.1.tar.gz.partial")
    );
    assert_eq!(lock_path(dir, &a), dir.join("ab".repeat(32)).join(".lock"));
}

#[test]
fn mirror_parse_and_url_join() {
    assert_eq!(
        Mirror::parse("http://127.0.0.1:9/m/"),
        Mirror::Url("http://127.0.0.1:9/m/".into())
    );
    assert_eq!(Mirror::parse("srv/m"), Mirror::Dir(PathBuf::from("srv/m")));
    assert_eq!(
        join_url("http://127.0.0.1:9/m/", "a.tar.gz"),
        "http://127.0.0.1:9/m/a.tar.gz"
    );
    assert_eq!(
        join_url("http://127.0.0.1:9/m", "a.tar.gz"),
        "http://127.0.0.1:9/m/a.tar.gz"
    );
}

#[test]
fn artifacts_that_could_escape_the_cache_are_invalid() {
    assert!(valid_artifact(&artifact("zlib-1.3.1.tar.gz")));
    for bad in ["", "..", "../x", "a/b", ".lock", "a\\b"] {
        assert!(!valid_artifact(&artifact(bad)), "{bad:?} passed");
    }
    let mut upper = artifact("x");
    upper.sha256 = "AB".repeat(32);
    assert!(!valid_artifact(&upper));
}

#[test]
fn backoff_doubles_and_is_capped() {
    assert_eq!(backoff(0), Duration::from_millis(200));
    assert_eq!(backoff(1), Duration::from_millis(400));
    assert_eq!(backoff(3), Duration::from_millis(1600));
    assert_eq!(backoff(10), Duration::from_secs(5));
    assert_eq!(backoff(u32::MAX), Duration::from_secs(5));
}

#[test]
fn durations_read_naturally() {
    assert_eq!(show_duration(Duration::from_secs(30)), "30 s");
    assert_eq!(show_duration(Duration::from_millis(300)), "300 ms");
}

#[test]
fn upstream_http_is_refused_but_mirror_http_is_not() {
    assert!(
        NetSource::Upstream("http://127.0.0.1:9/f".into())
            .refusal()
            .is_some()
    );
    assert!(
        NetSource::Upstream("https://127.0.0.1:9/f".into())
            .refusal()
            .is_none()
    );
    assert!(
        NetSource::Mirror("http://127.0.0.1:9/f".into())
            .refusal()
            .is_none()
    );
    assert!(
        NetSource::Debian("http://127.0.0.1:9/f".into())
            .refusal()
            .is_none()
    );
    assert!(
        NetSource::Mirror("ftp://127.0.0.1:9/f".into())
            .refusal()
            .is_some()
    );
}

#[test]
fn all_failed_lists_every_attempt() {
    let e = FetchError::AllSourcesFailed {
        what: "curl 8.14.1".into(),
        attempts: vec![
            Attempt {
                source: "http://127.0.0.1:9/x".into(),
                outcome: "HTTP 404 Not Found".into(),
            },
            Attempt {
                source: "/m/x".into(),
                outcome: "not in mirror".into(),
            },
        ],
    };
    assert_eq!(
        e.to_string(),
        "could not fetch curl 8.14.1 from any source (2 tried):\n  \
         http://127.0.0.1:9/x: HTTP 404 Not Found\n  /m/x: not in mirror"
    );
}

fn signed_artifact() -> SourceArtifact {
    SourceArtifact {
        file: "curl-8.14.1.tar.gz".into(),
        sha256: "ab".repeat(32),
        size: None,
        urls: vec![
            "https://curl.se/download/curl-8.14.1.tar.gz".into(),
            "https://github.com/curl/curl/releases/download/curl-8_14_1/curl-8.14.1.tar.gz".into(),
        ],
        debian: Some(DebianSource {
            package: "curl".into(),
            file: "curl_8.14.1.orig.tar.gz".into(),
            component: "main".into(),
        }),
        signature: Some(SignatureSpec {
            file: "curl-8.14.1.tar.gz.asc".into(),
            urls: vec![
                "https://curl.se/download/curl-8.14.1.tar.gz.asc".into(),
                "https://github.com/curl/curl/releases/download/curl-8_14_1/curl-8.14.1.tar.gz.asc"
                    .into(),
            ],
            key: "keys/curl.asc".into(),
            fingerprints: vec!["27EDEAF22F3ABCEB50DB9A125CC908FDB71E12C2".into()],
            key_data: Default::default(),
        }),
    }
}

#[test]
fn signature_sources_pair_with_file_sources_and_start_where_the_file_came_from() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = FetchConfig::new(tmp.path().join("downloads"));
    config.mirrors = vec![
        Mirror::Dir(PathBuf::from("/srv/mirror")),
        Mirror::Url("http://127.0.0.1:9/m".into()),
    ];
    config.debian_mirrors = vec![
        "http://127.0.0.1:9/debian".into(),
        "http://127.0.0.1:9/security".into(),
    ];
    let fetcher = Fetcher::new(config, Arc::new(crate::report::Silent)).unwrap();
    let artifact = signed_artifact();
    let spec = artifact.signature.clone().unwrap();
    let fetched = |origin: &str| Fetched {
        path: tmp.path().join("x"),
        artifact: artifact.clone(),
        origin: origin.into(),
        signature: None,
    };
    let labels = |origin: &str| -> Vec<String> {
        fetcher
            .signature_sources(&fetched(origin), &spec)
            .iter()
            .map(Source::label)
            .collect()
    };
    let in_order = [
        "/srv/mirror/curl-8.14.1.tar.gz.asc",
        "http://127.0.0.1:9/m/curl-8.14.1.tar.gz.asc",
        "https://curl.se/download/curl-8.14.1.tar.gz.asc",
        "https://github.com/curl/curl/releases/download/curl-8_14_1/curl-8.14.1.tar.gz.asc",
        "http://127.0.0.1:9/debian/pool/main/c/curl/curl_8.14.1.orig.tar.gz.asc",
        "http://127.0.0.1:9/security/pool/main/c/curl/curl_8.14.1.orig.tar.gz.asc",
    ];
    // From the cache: nothing says where the file came from, so the usual order.
    assert_eq!(labels("cache"), in_order);
    // Each file source's counterpart is at the same place in the list.
    let files: Vec<String> = fetcher
        .sources(&artifact)
        .iter()
        .map(Source::label)
        .collect();
    assert_eq!(files.len(), in_order.len());
    for (i, origin) in files.iter().enumerate() {
        let got = labels(origin);
        assert_eq!(got[0], in_order[i], "file from {origin}");
        let mut rest: Vec<&str> = in_order.to_vec();
        rest.remove(i);
        assert_eq!(&got[1..], rest.as_slice(), "file from {origin}");
    }
}

#[test]
fn unverified_errors_say_what_was_tried_and_what_to_do() {
    let attempts = vec![Attempt {
        source: "http://127.0.0.1:9/m/x.tar.gz.asc".into(),
        outcome: "HTTP 404 Not Found".into(),
    }];
    let e = |obtained, offline, attempts: Vec<Attempt>| {
        FetchError::Unverified(Box::new(Unverified {
            what: "demo 1.0".into(),
            file: PathBuf::from("/d/x.tar.gz"),
            signature: "x.tar.gz.asc".into(),
            key: "built-in keys/demo.asc".into(),
            fingerprints: vec!["AB".repeat(20)],
            attempts,
            obtained,
            offline,
        }))
        .to_string()
    };
    let fp = "AB".repeat(20);
    assert_eq!(
        e(false, false, attempts.clone()),
        format!(
            "refusing demo 1.0: the OpenPGP signature x.tar.gz.asc of /d/x.tar.gz could not be fetched from any source (1 tried), and the recipe pins key {fp} (built-in keys/demo.asc):\n  \
             http://127.0.0.1:9/m/x.tar.gz.asc: HTTP 404 Not Found\n\
             hint: put the signature beside the file in a directory given with --mirror. crossroot never uses a file it cannot verify"
        )
    );
    let refused = e(true, false, attempts.clone());
    assert!(
        refused.starts_with(&format!(
            "refusing demo 1.0: /d/x.tar.gz has no valid OpenPGP signature by key {fp} (built-in keys/demo.asc):\n"
        )),
        "{refused}"
    );
    assert!(
        refused.contains("if the project now signs with another key"),
        "{refused}"
    );
    let offline = e(false, true, vec![]);
    assert!(
        offline.contains("is not in the download cache and --offline allows no downloads"),
        "{offline}"
    );
    assert!(
        offline.contains("hint: run `crossroot fetch` while online"),
        "{offline}"
    );
}
