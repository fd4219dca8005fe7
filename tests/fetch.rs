//! The fetcher against a real HTTP/1.1 server on 127.0.0.1, written here so that each test
//! decides what the server does: 404, 500, wrong bytes, a cut connection, a stall, ranges.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossroot::fetch::{FetchConfig, FetchError, Fetched, Fetcher, Mirror, cached_path};
use crossroot::recipe::{DebianSource, SourceArtifact};
use crossroot::report::{Recording, Reporter, Silent};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---- test server -----------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
struct Request {
    path: String,
    range: Option<String>,
}

/// What the server does with one request.
enum Reply {
    /// 200 with the body; with `ranges`, a `Range: bytes=N-` request gets 206 and the tail.
    Body {
        bytes: Vec<u8>,
        ranges: bool,
    },
    Status(u16),
    /// Announces the whole body, sends `sent` bytes of it, then closes the connection.
    Cut {
        bytes: Vec<u8>,
        sent: usize,
    },
    /// Announces the whole body, sends `sent` bytes of it, then says nothing more.
    Stall {
        bytes: Vec<u8>,
        sent: usize,
    },
}

type Handler = dyn Fn(&Request, usize) -> Reply + Send + Sync;

struct Server {
    base: String,
    log: Arc<Mutex<Vec<Request>>>,
    max_in_flight: Arc<AtomicUsize>,
}

#[derive(Default)]
struct Counters {
    in_flight: AtomicUsize,
}

impl Server {
    /// Starts a server; `handler(request, n)` gets `n` = how many earlier requests had this path.
    /// Every reply waits `delay` first.
    async fn start(
        delay: Duration,
        handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let counters = Arc::new(Counters::default());
        let handler: Arc<Handler> = Arc::new(handler);
        let (log2, max2) = (log.clone(), max_in_flight.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (log, max, counters, handler) = (
                    log2.clone(),
                    max2.clone(),
                    counters.clone(),
                    handler.clone(),
                );
                tokio::spawn(async move {
                    serve(stream, delay, &*handler, &log, &max, &counters).await;
                });
            }
        });
        Server {
            base,
            log,
            max_in_flight,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }
}

async fn serve(
    mut stream: TcpStream,
    delay: Duration,
    handler: &Handler,
    log: &Mutex<Vec<Request>>,
    max_in_flight: &AtomicUsize,
    counters: &Counters,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let mut lines = head.lines();
    let path = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("")
        .to_string();
    let range = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("range")
            .then(|| value.trim().to_string())
    });
    let request = Request { path, range };
    let nth = {
        let mut log = log.lock().unwrap();
        let nth = log.iter().filter(|r| r.path == request.path).count();
        log.push(request.clone());
        nth
    };
    let now = counters.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    max_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(delay).await;
    let done = || counters.in_flight.fetch_sub(1, Ordering::SeqCst);

    let header = |code: u16, len: usize, extra: &str| {
        format!("HTTP/1.1 {code} X\r\nContent-Length: {len}\r\nConnection: close\r\n{extra}\r\n")
    };
    match handler(&request, nth) {
        Reply::Status(code) => {
            done();
            let _ = stream.write_all(header(code, 0, "").as_bytes()).await;
        }
        Reply::Body { bytes, ranges } => {
            let from = request
                .range
                .as_deref()
                .filter(|_| ranges)
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|n| n.parse::<usize>().ok());
            let (head, body) = match from {
                Some(n) if n >= bytes.len() => (header(416, 0, ""), &[][..]),
                Some(n) => (
                    header(
                        206,
                        bytes.len() - n,
                        &format!(
                            "Content-Range: bytes {n}-{}/{}\r\n",
                            bytes.len() - 1,
                            bytes.len()
                        ),
                    ),
                    &bytes[n..],
                ),
                None => (header(200, bytes.len(), ""), &bytes[..]),
            };
            if stream.write_all(head.as_bytes()).await.is_err() {
                done();
                return;
            }
            // The client cannot finish before the last byte, so it never sees a stale count.
            let (most, last) = body.split_at(body.len().saturating_sub(1));
            let _ = stream.write_all(most).await;
            done();
            let _ = stream.write_all(last).await;
        }
        Reply::Cut { bytes, sent } => {
            let _ = stream
                .write_all(header(200, bytes.len(), "").as_bytes())
                .await;
            let _ = stream.write_all(&bytes[..sent]).await;
            let _ = stream.flush().await;
            done();
        }
        Reply::Stall { bytes, sent } => {
            let _ = stream
                .write_all(header(200, bytes.len(), "").as_bytes())
                .await;
            let _ = stream.write_all(&bytes[..sent]).await;
            done();
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    }
    let _ = stream.shutdown().await;
}

// ---- helpers ---------------------------------------------------------------------------

/// Tarball-sized noise, different per seed.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn artifact(file: &str, bytes: &[u8]) -> SourceArtifact {
    SourceArtifact {
        file: file.to_string(),
        sha256: sha256(bytes),
        size: None,
        urls: vec![],
        debian: None,
        signature: None,
    }
}

fn config(downloads: &Path) -> FetchConfig {
    FetchConfig {
        downloads_dir: downloads.to_path_buf(),
        mirrors: vec![],
        debian_mirrors: vec![],
        offline: false,
        concurrency: 4,
        timeout: Duration::from_secs(5),
        retries: 1,
        max_download: crossroot::fetch::DEFAULT_MAX_DOWNLOAD,
    }
}

fn fetcher(config: FetchConfig) -> Fetcher {
    Fetcher::new(config, Arc::new(Silent)).unwrap()
}

fn partial_of(downloads: &Path, a: &SourceArtifact) -> PathBuf {
    downloads
        .join(&a.sha256)
        .join(format!("{}.partial", a.file))
}

fn assert_fetched(f: &Fetched, downloads: &Path, a: &SourceArtifact, bytes: &[u8]) {
    assert_eq!(f.path, cached_path(downloads, a));
    assert_eq!(&f.artifact, a);
    assert!(
        std::fs::read(&f.path).unwrap() == bytes,
        "cached bytes differ"
    );
    assert!(
        !partial_of(downloads, a).exists(),
        "partial file left behind"
    );
}

/// A 127.0.0.1 port that refuses connections.
async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

// ---- tests -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_from_url_mirror_then_serves_from_cache() {
    let bytes = random_bytes(300_000, 1);
    let body = bytes.clone();
    let server = Server::start(Duration::ZERO, move |_, _| Reply::Body {
        bytes: body.clone(),
        ranges: true,
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let downloads = tmp.path().join("downloads-v1");
    let a = artifact("pkg-1.0.tar.gz", &bytes);
    let mut cfg = config(&downloads);
    cfg.mirrors = vec![Mirror::Url(server.url("/m/"))];
    let f = fetcher(cfg);

    let first = f.fetch("pkg 1.0", std::slice::from_ref(&a)).await.unwrap();
    assert_fetched(&first, &downloads, &a, &bytes);
    assert_eq!(first.origin, server.url("/m/pkg-1.0.tar.gz"));
    assert_eq!(server.count("/m/pkg-1.0.tar.gz"), 1);

    let second = f.fetch("pkg 1.0", std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(second.origin, "cache");
    assert_eq!(server.requests().len(), 1, "a cache hit must not download");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_cache_entry_is_rehashed_deleted_and_refetched() {
    let bytes = random_bytes(100_000, 2);
    let body = bytes.clone();
    let server = Server::start(Duration::ZERO, move |_, _| Reply::Body {
        bytes: body.clone(),
        ranges: false,
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let a = artifact("pkg-1.0.tar.gz", &bytes);
    let mut cfg = config(tmp.path());
    cfg.mirrors = vec![Mirror::Url(server.url("/m"))];
    let reporter = Arc::new(Recording::default());
    let f = Fetcher::new(cfg, reporter.clone()).unwrap();

    f.fetch("pkg 1.0", std::slice::from_ref(&a)).await.unwrap();
    let cached = cached_path(tmp.path(), &a);
    let mut corrupt = bytes.clone();
    corrupt[500] ^= 0xff;
    std::fs::write(&cached, &corrupt).unwrap();

    let again = f.fetch("pkg 1.0", std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(again.origin, server.url("/m/pkg-1.0.tar.gz"));
    assert_fetched(&again, tmp.path(), &a, &bytes);
    assert_eq!(server.requests().len(), 2);
    let warned = reporter
        .lines()
        .iter()
        .any(|l| l.starts_with("warn: cached") && l.contains(&sha256(&corrupt)));
    assert!(
        warned,
        "no warning about the corrupt entry: {:?}",
        reporter.lines()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_second_alternative_beats_downloading_the_first() {
    let first = random_bytes(10_000, 3);
    let second = random_bytes(10_000, 4);
    let body = first.clone();
    let server = Server::start(Duration::ZERO, move |_, _| Reply::Body {
        bytes: body.clone(),
        ranges: false,
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let (a1, a2) = (
        artifact("pkg-1.0.tar.xz", &first),
        artifact("pkg_1.0.orig.tar.gz", &second),
    );
    let cached = cached_path(tmp.path(), &a2);
    std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
    std::fs::write(&cached, &second).unwrap();
    let mut cfg = config(tmp.path());
    cfg.mirrors = vec![Mirror::Url(server.url("/m"))];

    let got = fetcher(cfg)
        .fetch("pkg 1.0", &[a1, a2.clone()])
        .await
        .unwrap();
    assert_eq!(got.artifact, a2);
    assert_eq!(got.origin, "cache");
    assert_eq!(server.requests(), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirrors_fail_over_past_404_500_and_wrong_bytes() {
    let bytes = random_bytes(50_000, 5);
    let body = bytes.clone();
    let server = Server::start(Duration::ZERO, move |r, _| {
        match r.path.split('/').nth(1).unwrap() {
            "a" => Reply::Status(404),
            "b" => Reply::Status(500),
            "c" => Reply::Body {
                bytes: random_bytes(50_000, 99),
                ranges: false,
            },
            _ => Reply::Body {
                bytes: body.clone(),
                ranges: false,
            },
        }
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let a = artifact("pkg-1.0.tar.gz", &bytes);
    let mut cfg = config(tmp.path());
    cfg.mirrors = ["/a", "/b", "/c", "/d"]
        .iter()
        .map(|p| Mirror::Url(server.url(p)))
        .collect();

    let got = fetcher(cfg)
        .fetch("pkg 1.0", std::slice::from_ref(&a))
        .await
        .unwrap();
    assert_eq!(got.origin, server.url("/d/pkg-1.0.tar.gz"));
    assert_fetched(&got, tmp.path(), &a, &bytes);
    // 5xx is retried (retries = 1); 404 and a wrong hash are not.
    let counts: Vec<usize> = ["/a", "/b", "/c", "/d"]
        .iter()
        .map(|p| server.count(&format!("{p}/pkg-1.0.tar.gz")))
        .collect();
    assert_eq!(counts, vec![1, 2, 1, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_sources_failing_lists_every_attempt() {
    let bytes = random_bytes(20_000, 6);
    let wrong = random_bytes(20_000, 7);
    let wrong2 = wrong.clone();
    let server = Server::start(Duration::ZERO, move |r, _| {
        match r.path.split('/').nth(1).unwrap() {
            "a" => Reply::Status(404),
            "b" => Reply::Status(500),
            _ => Reply::Body {
                bytes: wrong2.clone(),
                ranges: false,
            },
        }
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let empty_dir = tmp.path().join("dir-mirror");
    std::fs::create_dir(&empty_dir).unwrap();
    let port = closed_port().await;
    let mut a = artifact("pkg-1.0.tar.gz", &bytes);
    a.urls = vec![format!("https://127.0.0.1:{port}/pkg-1.0.tar.gz")];
    let downloads = tmp.path().join("downloads");
    let mut cfg = config(&downloads);
    cfg.mirrors = vec![
        Mirror::Dir(empty_dir.clone()),
        Mirror::Url(server.url("/a")),
        Mirror::Url(server.url("/b")),
        Mirror::Url(server.url("/c")),
    ];

    let err = fetcher(cfg)
        .fetch("pkg 1.0", std::slice::from_ref(&a))
        .await
        .unwrap_err();
    let FetchError::AllSourcesFailed { what, attempts } = &err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(what, "pkg 1.0");
    let sources: Vec<&str> = attempts.iter().map(|t| t.source.as_str()).collect();
    assert_eq!(
        sources,
        vec![
            empty_dir.join("pkg-1.0.tar.gz").to_str().unwrap(),
            &server.url("/a/pkg-1.0.tar.gz"),
            &server.url("/b/pkg-1.0.tar.gz"),
            &server.url("/c/pkg-1.0.tar.gz"),
            &format!("https://127.0.0.1:{port}/pkg-1.0.tar.gz"),
        ]
    );
    let outcomes: Vec<&str> = attempts.iter().map(|t| t.outcome.as_str()).collect();
    assert_eq!(outcomes[0], "not in mirror");
    assert_eq!(outcomes[1], "HTTP 404 Not Found");
    assert_eq!(outcomes[2], "HTTP 500 Internal Server Error");
    assert_eq!(
        outcomes[3],
        format!(
            "sha256 mismatch: expected {}, got {}",
            a.sha256,
            sha256(&wrong)
        )
    );
    assert!(
        outcomes[4].starts_with("could not connect: ") && outcomes[4].contains("refused"),
        "{}",
        outcomes[4]
    );
    let text = err.to_string();
    assert!(text.starts_with("could not fetch pkg 1.0 from any source (5 tried):"));
    for t in attempts {
        assert!(
            text.contains(&format!("\n  {}: {}", t.source, t.outcome)),
            "{text}"
        );
    }
    assert!(!cached_path(&downloads, &a).exists());
    assert!(!partial_of(&downloads, &a).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checksum_mismatch_names_url_expected_and_actual() {
    let bytes = random_bytes(20_000, 8);
    let wrong = random_bytes(20_000, 9);
    let wrong2 = wrong.clone();
    let server = Server::start(Duration::ZERO, move |_, _| Reply::Body {
        bytes: wrong2.clone(),
        ranges: true,
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let a = artifact("pkg-1.0.tar.gz", &bytes);
    let mut cfg = config(tmp.path());
    cfg.mirrors = vec![Mirror::Url(server.url("/m"))];

    let err = fetcher(cfg)
        .fetch("pkg 1.0", std::slice::from_ref(&a))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "{}: sha256 mismatch: expected {}, got {}",
            server.url("/m/pkg-1.0.tar.gz"),
            a.sha256,
            sha256(&wrong)
        )),
        "{text}"
    );
    // Nothing of the bad file remains to be used or resumed.
    let left: Vec<String> = std::fs::read_dir(tmp.path().join(&a.sha256))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec![".lock".to_string()]);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_recipe_url_is_refused_without_contacting_it() {
    let bytes = random_bytes(1_000, 10);
    let body = bytes.clone();
    let server = Server::start(Duration::ZERO, move |_, _| Reply::Body {
        bytes: body.clone(),
        ranges: false,
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let mut a = artifact("pkg-1.0.tar.gz", &bytes);
    a.urls = vec![server.url("/pkg-1.0.tar.gz")];

    let err = fetcher(config(tmp.path()))
        .fetch("pkg 1.0", &[a])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "{}: refused: upstream URLs from recipes must use https://",
            server.url("/pkg-1.0.tar.gz")
        )),
        "{text}"
    );
    assert_eq!(server.requests(), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_uses_cache_and_dir_mirrors_only() {
    let bytes = random_bytes(30_000, 11);
    let missing = random_bytes(30_000, 12);
    let body = bytes.clone();
    let server = Server::start(Duration::ZERO, move |_, _| Reply::Body {
        bytes: body.clone(),
        ranges: false,
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let dir_mirror = tmp.path().join("mirror");
    std::fs::create_dir(&dir_mirror).unwrap();
    std::fs::write(dir_mirror.join("pkg-1.0.tar.gz"), &bytes).unwrap();
    let downloads = tmp.path().join("downloads");
    let a = artifact("pkg-1.0.tar.gz", &bytes);
    let mut b = artifact("other-2.0.tar.gz", &missing);
    b.urls = vec!["https://127.0.0.1:9/other-2.0.tar.gz".to_string()];
    let mut cfg = config(&downloads);
    cfg.offline = true;
    // The network mirror comes first, to show that offline skips it.
    cfg.mirrors = vec![
        Mirror::Url(server.url("/m")),
        Mirror::Dir(dir_mirror.clone()),
    ];
    let f = fetcher(cfg);

    let got = f.fetch("pkg 1.0", std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(
        got.origin,
        dir_mirror.join("pkg-1.0.tar.gz").display().to_string()
    );
    assert_fetched(&got, &downloads, &a, &bytes);
    let again = f.fetch("pkg 1.0", std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(again.origin, "cache");

    let err = f
        .fetch("other 2.0", std::slice::from_ref(&b))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::NotCached { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "other 2.0: other-2.0.tar.gz is not in the download cache {} and --offline allows no downloads",
            downloads.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{}: not in mirror",
            dir_mirror.join("other-2.0.tar.gz").display()
        )),
        "{text}"
    );
    assert!(
        text.contains("run `crossroot fetch` while online"),
        "{text}"
    );
    assert!(text.contains(&server.url("/m/other-2.0.tar.gz")), "{text}");
    assert_eq!(
        server.requests(),
        vec![],
        "offline mode contacted the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debian_pool_is_used_when_upstream_urls_fail() {
    let bytes = random_bytes(40_000, 13);
    let body = bytes.clone();
    let server = Server::start(Duration::ZERO, move |r, _| {
        if r.path.starts_with("/debian/") {
            Reply::Body {
                bytes: body.clone(),
                ranges: false,
            }
        } else {
            Reply::Status(404)
        }
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let port = closed_port().await;
    let mut a = artifact("libfoo-1.0.tar.gz", &bytes);
    a.urls = vec![format!("https://127.0.0.1:{port}/libfoo-1.0.tar.gz")];
    a.debian = Some(DebianSource {
        package: "libfoo".into(),
        file: "libfoo_1.0.orig.tar.gz".into(),
        component: "main".into(),
    });
    let mut cfg = config(tmp.path());
    cfg.retries = 0;
    cfg.mirrors = vec![Mirror::Url(server.url("/m"))];
    cfg.debian_mirrors = vec![server.url("/debian/")];

    let got = fetcher(cfg)
        .fetch("libfoo 1.0", std::slice::from_ref(&a))
        .await
        .unwrap();
    let pool = "/debian/pool/main/libf/libfoo/libfoo_1.0.orig.tar.gz";
    assert_eq!(got.origin, server.url(pool));
    // Cached under the recipe's file name, not Debian's.
    assert_fetched(&got, tmp.path(), &a, &bytes);
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        vec!["/m/libfoo-1.0.tar.gz".to_string(), pool.to_string()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_resumes_with_range() {
    let bytes = random_bytes(200_000, 14);
    let body = bytes.clone();
    let server = Server::start(Duration::ZERO, move |_, nth| match nth {
        0 => Reply::Cut {
            bytes: body.clone(),
            sent: 80_000,
        },
        _ => Reply::Body {
            bytes: body.clone(),
            ranges: true,
        },
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let a = artifact("pkg-1.0.tar.gz", &bytes);
    let mut cfg = config(tmp.path());
    cfg.mirrors = vec![Mirror::Url(server.url("/m"))];

    let got = fetcher(cfg)
        .fetch("pkg 1.0", std::slice::from_ref(&a))
        .await
        .unwrap();
    assert_fetched(&got, tmp.path(), &a, &bytes);
    let ranges: Vec<Option<String>> = server.requests().into_iter().map(|r| r.range).collect();
    assert_eq!(ranges, vec![None, Some("bytes=80000-".to_string())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_ignoring_range_makes_the_download_restart() {
    let bytes = random_bytes(200_000, 15);
    let body = bytes.clone();
    let server = Server::start(Duration::ZERO, move |_, nth| match nth {
        0 => Reply::Cut {
            bytes: body.clone(),
            sent: 80_000,
        },
        _ => Reply::Body {
            bytes: body.clone(),
            ranges: false,
        },
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let a = artifact("pkg-1.0.tar.gz", &bytes);
    let mut cfg = config(tmp.path());
    cfg.mirrors = vec![Mirror::Url(server.url("/m"))];

    let got = fetcher(cfg)
        .fetch("pkg 1.0", std::slice::from_ref(&a))
        .await
        .unwrap();
    // Appending the full 200 answer to the kept bytes would fail the hash.
    assert_fetched(&got, tmp.path(), &a, &bytes);
    let ranges: Vec<Option<String>> = server.requests().into_iter().map(|r| r.range).collect();
    assert_eq!(ranges, vec![None, Some("bytes=80000-".to_string())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_file_of_an_interrupted_run_is_resumed() {
    let bytes = random_bytes(100_000, 16);
    let body = bytes.clone();
    let server = Server::start(Duration::ZERO, move |_, _| Reply::Body {
        bytes: body.clone(),
        ranges: true,
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let a = artifact("pkg-1.0.tar.gz", &bytes);
    let partial = partial_of(tmp.path(), &a);
    std::fs::create_dir_all(partial.parent().unwrap()).unwrap();
    std::fs::write(&partial, &bytes[..30_000]).unwrap();
    let mut cfg = config(tmp.path());
    cfg.mirrors = vec![Mirror::Url(server.url("/m"))];

    let got = fetcher(cfg)
        .fetch("pkg 1.0", std::slice::from_ref(&a))
        .await
        .unwrap();
    assert_fetched(&got, tmp.path(), &a, &bytes);
    let ranges: Vec<Option<String>> = server.requests().into_iter().map(|r| r.range).collect();
    assert_eq!(ranges, vec![Some("bytes=30000-".to_string())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_partial_file_is_discarded_and_the_url_tried_from_zero() {
    let bytes = random_bytes(100_000, 17);
    let body = bytes.clone();
    let server = Server::start(Duration::ZERO, move |_, _| Reply::Body {
        bytes: body.clone(),
        ranges: true,
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let a = artifact("pkg-1.0.tar.gz", &bytes);
    let partial = partial_of(tmp.path(), &a);
    std::fs::create_dir_all(partial.parent().unwrap()).unwrap();
    std::fs::write(&partial, random_bytes(30_000, 18)).unwrap();
    let mut cfg = config(tmp.path());
    cfg.retries = 0;
    cfg.mirrors = vec![Mirror::Url(server.url("/m"))];

    let got = fetcher(cfg)
        .fetch("pkg 1.0", std::slice::from_ref(&a))
        .await
        .unwrap();
    assert_fetched(&got, tmp.path(), &a, &bytes);
    let ranges: Vec<Option<String>> = server.requests().into_iter().map(|r| r.range).collect();
    assert_eq!(ranges, vec![Some("bytes=30000-".to_string()), None]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_transfer_fails_after_the_timeout_and_keeps_its_bytes() {
    let bytes = random_bytes(100_000, 19);
    let body = bytes.clone();
    let server = Server::start(Duration::ZERO, move |_, _| Reply::Stall {
        bytes: body.clone(),
        sent: 10_000,
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let a = artifact("pkg-1.0.tar.gz", &bytes);
    let mut cfg = config(tmp.path());
    cfg.timeout = Duration::from_millis(300);
    cfg.retries = 0;
    cfg.mirrors = vec![Mirror::Url(server.url("/m"))];

    let started = Instant::now();
    let err = fetcher(cfg)
        .fetch("pkg 1.0", std::slice::from_ref(&a))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "{}: no data for 300 ms",
            server.url("/m/pkg-1.0.tar.gz")
        )),
        "{text}"
    );
    // What arrived stays for the next run to resume.
    let partial = std::fs::read(partial_of(tmp.path(), &a)).unwrap();
    assert!(
        partial == bytes[..10_000],
        "partial holds {} bytes",
        partial.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_all_keeps_to_its_concurrency() {
    let items: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| (format!("pkg{i}-1.0.tar.gz"), random_bytes(20_000, 100 + i)))
        .collect();
    let served = items.clone();
    let server = Server::start(Duration::from_millis(150), move |r, _| {
        let (_, bytes) = served
            .iter()
            .find(|(f, _)| r.path.ends_with(f.as_str()))
            .unwrap();
        Reply::Body {
            bytes: bytes.clone(),
            ranges: false,
        }
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = config(tmp.path());
    cfg.concurrency = 2;
    cfg.mirrors = vec![Mirror::Url(server.url("/m"))];
    let artifacts: Vec<SourceArtifact> = items.iter().map(|(f, b)| artifact(f, b)).collect();

    let results = fetcher(cfg)
        .fetch_all(
            artifacts
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("pkg{i} 1.0"), vec![a.clone()]))
                .collect(),
        )
        .await;
    assert_eq!(results.len(), 6);
    for (r, (a, (_, bytes))) in results.iter().zip(artifacts.iter().zip(&items)) {
        assert_fetched(r.as_ref().unwrap(), tmp.path(), a, bytes);
    }
    assert_eq!(server.requests().len(), 6);
    // Two at a time: never more, and the parallelism was used.
    assert_eq!(server.max_in_flight.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_fetchers_on_one_artifact_download_it_once() {
    let bytes = random_bytes(100_000, 20);
    let body = bytes.clone();
    let server = Server::start(Duration::from_millis(400), move |_, _| Reply::Body {
        bytes: body.clone(),
        ranges: false,
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let a = artifact("pkg-1.0.tar.gz", &bytes);
    let mut cfg = config(tmp.path());
    cfg.mirrors = vec![Mirror::Url(server.url("/m"))];
    let (r1, r2) = (
        Arc::new(Recording::default()),
        Arc::new(Recording::default()),
    );
    let f1 = Fetcher::new(cfg.clone(), r1.clone() as Arc<dyn Reporter>).unwrap();
    let f2 = Fetcher::new(cfg, r2.clone() as Arc<dyn Reporter>).unwrap();

    let wanted = [a.clone()];
    let (g1, g2) = tokio::join!(f1.fetch("pkg 1.0", &wanted), async {
        // Let the first one take the lock.
        tokio::time::sleep(Duration::from_millis(100)).await;
        f2.fetch("pkg 1.0", &wanted).await
    });
    let (g1, g2) = (g1.unwrap(), g2.unwrap());
    assert_fetched(&g1, tmp.path(), &a, &bytes);
    assert_eq!(g2.path, g1.path);
    assert_eq!(server.requests().len(), 1);
    // Whichever got the lock first downloaded; the other waited, then found the cache entry.
    let url = server.url("/m/pkg-1.0.tar.gz");
    let (waiter, other) = match (g1.origin.as_str(), g2.origin.as_str()) {
        (u, "cache") if u == url => (&r2, &r1),
        ("cache", u) if u == url => (&r1, &r2),
        (o1, o2) => panic!("origins {o1} and {o2}: want one download and one cache hit"),
    };
    let waiting = format!(
        "info: waiting for lock on {}",
        tmp.path().join(&a.sha256).join(".lock").display()
    );
    let waited = |r: &Recording| r.lines().iter().any(|l| l.starts_with(&waiting));
    assert!(waited(waiter), "{:?}", waiter.lines());
    assert!(!waited(other), "{:?}", other.lines());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpinned_small_files_keep_the_https_rule_the_size_limit_and_offline() {
    let server = Server::start(Duration::ZERO, move |_, _| Reply::Body {
        bytes: b"signature".to_vec(),
        ranges: false,
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let http = vec![server.url("/x.minisig")];
    let err = fetcher(config(tmp.path()))
        .fetch_unpinned("zig", "x.minisig", &http, 100)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("refused: upstream URLs from recipes must use https://"),
        "{err}"
    );
    assert_eq!(server.requests(), vec![]);

    let mut cfg = config(tmp.path());
    cfg.mirrors = vec![Mirror::Url(server.url(""))];
    let (bytes, origin) = fetcher(cfg.clone())
        .fetch_unpinned("zig", "x.minisig", &[], 100)
        .await
        .unwrap();
    assert_eq!(
        (bytes.as_slice(), origin),
        (&b"signature"[..], server.url("/x.minisig"))
    );
    let err = fetcher(cfg.clone())
        .fetch_unpinned("zig", "x.minisig", &[], 4)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than 4 bytes"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.minisig"), "from dir").unwrap();
    cfg.offline = true;
    cfg.mirrors.push(Mirror::Dir(dir.path().to_path_buf()));
    let before = server.requests().len();
    let (bytes, _) = fetcher(cfg)
        .fetch_unpinned("zig", "x.minisig", &[], 100)
        .await
        .unwrap();
    assert_eq!(bytes, b"from dir");
    assert_eq!(server.requests().len(), before, "offline makes no request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_size_refuses_longer_and_shorter_files_and_keeps_no_partial() {
    let bytes = random_bytes(20_000, 21);
    let longer = [bytes.clone(), random_bytes(5_000, 22)].concat();
    let shorter = bytes[..15_000].to_vec();
    let (l, s) = (longer.clone(), shorter.clone());
    let server = Server::start(Duration::ZERO, move |r, _| Reply::Body {
        bytes: if r.path.starts_with("/long") {
            l.clone()
        } else {
            s.clone()
        },
        ranges: false,
    })
    .await;
    let mirror = tempfile::tempdir().unwrap();
    std::fs::write(mirror.path().join("pkg-1.0.tar.gz"), &longer).unwrap();
    let mut a = artifact("pkg-1.0.tar.gz", &bytes);
    a.size = Some(bytes.len() as u64);
    let cases = [
        (
            Mirror::Url(server.url("/long")),
            "more than 20000 bytes (the recipe pins 20000)",
        ),
        (
            Mirror::Url(server.url("/short")),
            "15000 bytes, but the recipe pins 20000",
        ),
        (
            Mirror::Dir(mirror.path().to_path_buf()),
            "more than 20000 bytes (the recipe pins 20000)",
        ),
    ];
    for (m, want) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let mut cfg = config(tmp.path());
        cfg.mirrors = vec![m.clone()];
        let err = fetcher(cfg)
            .fetch("pkg 1.0", std::slice::from_ref(&a))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{m}: {err}");
        assert!(!partial_of(tmp.path(), &a).exists(), "{m}: partial kept");
        assert!(!cached_path(tmp.path(), &a).exists(), "{m}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpinned_file_stops_at_the_cap_and_a_kept_partial_past_it_is_dropped() {
    let bytes = random_bytes(50_000, 23);
    let body = bytes.clone();
    let server = Server::start(Duration::ZERO, move |_, _| Reply::Body {
        bytes: body.clone(),
        ranges: true,
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let a = artifact("pkg-1.0.tar.gz", &bytes);
    let mut cfg = config(tmp.path());
    cfg.mirrors = vec![Mirror::Url(server.url("/m"))];
    cfg.max_download = 10_000;
    let err = fetcher(cfg.clone())
        .fetch("pkg 1.0", std::slice::from_ref(&a))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than 10000 bytes, the limit"), "{err}");
    assert!(!partial_of(tmp.path(), &a).exists());

    // A partial larger than the cap (kept by a run with a larger one) is not resumed.
    std::fs::create_dir_all(tmp.path().join(&a.sha256)).unwrap();
    std::fs::write(partial_of(tmp.path(), &a), &bytes[..20_000]).unwrap();
    let before = server.requests().len();
    let err = fetcher(cfg.clone())
        .fetch("pkg 1.0", std::slice::from_ref(&a))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than 10000 bytes"), "{err}");
    assert_eq!(server.requests()[before].range, None, "asked from byte 0");
    assert!(!partial_of(tmp.path(), &a).exists());

    cfg.max_download = 50_000;
    let f = fetcher(cfg)
        .fetch("pkg 1.0", std::slice::from_ref(&a))
        .await
        .unwrap();
    assert_fetched(&f, tmp.path(), &a, &bytes);
}
