use super::download::{backoff, show_duration};
use super::*;

fn artifact(file: &str) -> SourceArtifact {
    SourceArtifact {
        file: file.to_string(),
        sha256: "ab".repeat(32),
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
