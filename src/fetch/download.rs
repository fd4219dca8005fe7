//! One URL to one cache entry: stream to `<file>.partial` while hashing, resume with `Range`,
//! retry with backoff, rename into place only when the sha256 matches.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, RANGE};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::report::{Progress, Reporter};

/// First retry delay; doubled for each further retry.
const BASE_DELAY: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(5);
const MAX_REDIRECTS: usize = 10;

/// Why one URL did not give the artifact.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: StatusCode },
    #[error("request to {url} failed")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("no data for {} from {url}", show_duration(*.stalled_for))]
    Stalled { url: String, stalled_for: Duration },
    #[error("sha256 mismatch for {url}: expected {expected}, got {actual}")]
    Mismatch {
        url: String,
        expected: String,
        actual: String,
    },
    #[error("{url} sent {}", too_large(*.limit, *.why))]
    TooLarge {
        url: String,
        limit: u64,
        why: SizeLimit,
    },
    #[error("{url} sent {actual} bytes, but the recipe pins {expected}")]
    SizeMismatch {
        url: String,
        expected: u64,
        actual: u64,
    },
    #[error("{url} answered a range request with {answer}")]
    BadRange { url: String, answer: String },
    #[error("could not write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl DownloadError {
    /// Worth asking the same URL again: the network or the server may do better next time.
    fn is_retryable(&self) -> bool {
        match self {
            DownloadError::Status { status, .. } => {
                status.is_server_error()
                    || *status == StatusCode::REQUEST_TIMEOUT
                    || *status == StatusCode::TOO_MANY_REQUESTS
            }
            DownloadError::Request { .. } | DownloadError::Stalled { .. } => true,
            DownloadError::Mismatch { .. }
            | DownloadError::TooLarge { .. }
            | DownloadError::SizeMismatch { .. }
            | DownloadError::BadRange { .. }
            | DownloadError::Io { .. } => false,
        }
    }

    /// What the URL gave, in a few words and without the URL, for a list of attempts.
    pub fn outcome(&self) -> String {
        match self {
            DownloadError::Status { status, .. } => format!("HTTP {status}"),
            DownloadError::Request { source, .. } => {
                let what = if source.is_connect() {
                    "could not connect"
                } else if source.is_body() || source.is_decode() {
                    "connection broken"
                } else {
                    "request failed"
                };
                // reqwest's own text ("error sending request") adds nothing to `what`.
                match std::error::Error::source(source) {
                    Some(cause) => format!("{what}: {}", error_chain(cause)),
                    None => format!("{what}: {source}"),
                }
            }
            DownloadError::Stalled { stalled_for, .. } => {
                format!("no data for {}", show_duration(*stalled_for))
            }
            DownloadError::Mismatch {
                expected, actual, ..
            } => format!("sha256 mismatch: expected {expected}, got {actual}"),
            DownloadError::TooLarge { limit, why, .. } => too_large(*limit, *why),
            DownloadError::SizeMismatch {
                expected, actual, ..
            } => format!("{actual} bytes, but the recipe pins {expected}"),
            DownloadError::BadRange { answer, .. } => {
                format!("bad answer to a range request: {answer}")
            }
            DownloadError::Io { path, source } => {
                format!("could not write {}: {source}", path.display())
            }
        }
    }
}

/// What bounds a download's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeLimit {
    /// The recipe's `size`: the stream may be neither longer nor shorter.
    Pinned,
    /// `--max-download`, for a file whose size no recipe pins.
    Cap,
    /// A signature's own small cap.
    Small,
}

/// The most bytes `job` may have, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Limit {
    pub bytes: u64,
    pub why: SizeLimit,
}

/// `more than 1048576 bytes, …`: what passing `limit` means.
pub(super) fn too_large(limit: u64, why: SizeLimit) -> String {
    match why {
        SizeLimit::Pinned => format!("more than {limit} bytes (the recipe pins {limit})"),
        SizeLimit::Cap => format!(
            "more than {limit} bytes, the limit for a file whose size the recipe does not pin (--max-download, CROSSROOT_MAX_DOWNLOAD)"
        ),
        SizeLimit::Small => format!("more than {limit} bytes"),
    }
}

/// `30 s`, or `300 ms` for durations that are not whole seconds.
pub(super) fn show_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// An error and its causes, one after another.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// Delay before retry number `retry` (0-based).
pub(super) fn backoff(retry: u32) -> Duration {
    BASE_DELAY
        .saturating_mul(2u32.saturating_pow(retry.min(16)))
        .min(MAX_DELAY)
}

/// One download: from `url` via `partial` into `dest`.
pub(super) struct Job<'a> {
    pub url: &'a str,
    pub partial: &'a Path,
    pub dest: &'a Path,
    pub sha256: &'a str,
    /// The stream is cut as soon as it passes this.
    pub limit: Limit,
    /// Progress label, `curl 8.14.1 curl-8.14.1.tar.gz`.
    pub label: &'a str,
}

pub(super) struct Downloader {
    client: reqwest::Client,
    timeout: Duration,
    retries: u32,
    reporter: Arc<dyn Reporter>,
}

impl Downloader {
    pub(super) fn new(
        timeout: Duration,
        retries: u32,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Self, reqwest::Error> {
        let redirects = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if attempt.url().scheme() != "https"
                && attempt.previous().iter().any(|u| u.scheme() == "https")
            {
                attempt.error("refused a redirect from https to a plain-http URL")
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .user_agent(concat!("crossroot/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout)
            .redirect(redirects)
            .build()?;
        Ok(Downloader {
            client,
            timeout,
            retries,
            reporter,
        })
    }

    /// Downloads `job.url` into `job.dest`, resuming a partial file that is already there.
    pub(super) async fn download(&self, job: &Job<'_>) -> Result<(), DownloadError> {
        let mut failures = 0;
        let mut restarted = false;
        loop {
            let mut resumed = false;
            let err = match self.try_once(job, &mut resumed).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            // The kept bytes came from an earlier run or another source and were bad (the
            // partial is gone now): this URL deserves one fresh start.
            if resumed
                && !restarted
                && matches!(
                    err,
                    DownloadError::Mismatch { .. }
                        | DownloadError::SizeMismatch { .. }
                        | DownloadError::BadRange { .. }
                )
            {
                restarted = true;
                self.reporter.debug(&format!(
                    "{}: {}; starting over from byte 0",
                    job.url,
                    err.outcome()
                ));
                continue;
            }
            if err.is_retryable() && failures < self.retries {
                let delay = backoff(failures);
                failures += 1;
                self.reporter.debug(&format!(
                    "{}: {}; retry {failures} of {} in {}",
                    job.url,
                    err.outcome(),
                    self.retries,
                    show_duration(delay)
                ));
                tokio::time::sleep(delay).await;
                continue;
            }
            return Err(err);
        }
    }

    /// The whole body of a small file that no hash pins (a signature), at most `max_bytes`,
    /// with the retries and timeouts of [`Downloader::download`].
    pub(super) async fn get_small(
        &self,
        url: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, DownloadError> {
        let mut failures = 0;
        loop {
            let err = match self.get_small_once(url, max_bytes).await {
                Ok(body) => return Ok(body),
                Err(e) => e,
            };
            if err.is_retryable() && failures < self.retries {
                tokio::time::sleep(backoff(failures)).await;
                failures += 1;
                continue;
            }
            return Err(err);
        }
    }

    async fn get_small_once(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, DownloadError> {
        let request = |source: reqwest::Error| DownloadError::Request {
            url: url.to_string(),
            source: source.without_url(),
        };
        let stalled = || DownloadError::Stalled {
            url: url.to_string(),
            stalled_for: self.timeout,
        };
        let response = tokio::time::timeout(self.timeout, self.client.get(url).send())
            .await
            .map_err(|_| stalled())?
            .map_err(request)?;
        if response.status() != StatusCode::OK {
            return Err(DownloadError::Status {
                url: url.to_string(),
                status: response.status(),
            });
        }
        let mut body = response.bytes_stream();
        let mut out = Vec::new();
        loop {
            match tokio::time::timeout(self.timeout, body.next()).await {
                Err(_) => return Err(stalled()),
                Ok(None) => return Ok(out),
                Ok(Some(Err(e))) => return Err(request(e)),
                Ok(Some(Ok(chunk))) => {
                    out.extend_from_slice(&chunk);
                    if out.len() as u64 > max_bytes {
                        return Err(DownloadError::TooLarge {
                            url: url.to_string(),
                            limit: max_bytes,
                            why: SizeLimit::Small,
                        });
                    }
                }
            }
        }
    }

    async fn try_once(&self, job: &Job<'_>, resumed: &mut bool) -> Result<(), DownloadError> {
        let io_err = |source| DownloadError::Io {
            path: job.partial.to_path_buf(),
            source,
        };
        let mut offset = match tokio::fs::metadata(job.partial).await {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io_err(e)),
        };
        if offset > job.limit.bytes {
            // Kept by a run without this bound: nothing in it is worth resuming.
            remove_if_exists(job.partial).map_err(io_err)?;
            offset = 0;
        }
        let mut request = self.client.get(job.url);
        if offset > 0 {
            request = request.header(RANGE, format!("bytes={offset}-"));
        }
        let response = match tokio::time::timeout(self.timeout, request.send()).await {
            Err(_) => return Err(self.stalled(job)),
            Ok(Err(e)) => {
                return Err(DownloadError::Request {
                    url: job.url.to_string(),
                    source: e.without_url(),
                });
            }
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        let (mut file, hasher, start) = if offset > 0 && status == StatusCode::PARTIAL_CONTENT {
            *resumed = true;
            let content_range = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !content_range.starts_with(&format!("bytes {offset}-")) {
                remove_if_exists(job.partial).map_err(io_err)?;
                return Err(DownloadError::BadRange {
                    url: job.url.to_string(),
                    answer: format!(
                        "Content-Range `{content_range}` for a request from byte {offset}"
                    ),
                });
            }
            // The final hash must cover the kept bytes too.
            let hasher = hash_prefix(job.partial).await.map_err(io_err)?;
            let file = tokio::fs::OpenOptions::new()
                .append(true)
                .open(job.partial)
                .await
                .map_err(io_err)?;
            self.reporter
                .debug(&format!("{}: resuming at byte {offset}", job.url));
            (file, hasher, offset)
        } else if status == StatusCode::OK {
            let file = tokio::fs::File::create(job.partial).await.map_err(io_err)?;
            (file, Sha256::new(), 0)
        } else if offset > 0 && status == StatusCode::RANGE_NOT_SATISFIABLE {
            // An earlier run may have got every byte and stopped short of the rename.
            *resumed = true;
            let actual = hex::encode(hash_prefix(job.partial).await.map_err(io_err)?.finalize());
            if actual == job.sha256 {
                return commit(job.partial, job.dest).map_err(io_err);
            }
            remove_if_exists(job.partial).map_err(io_err)?;
            return Err(DownloadError::BadRange {
                url: job.url.to_string(),
                answer: format!("HTTP {status} for a request from byte {offset}"),
            });
        } else {
            return Err(DownloadError::Status {
                url: job.url.to_string(),
                status,
            });
        };

        let too_large = || DownloadError::TooLarge {
            url: job.url.to_string(),
            limit: job.limit.bytes,
            why: job.limit.why,
        };
        // A server that announces more than the bound is not read at all.
        if response
            .content_length()
            .is_some_and(|n| n.saturating_add(start) > job.limit.bytes)
        {
            drop(file);
            remove_if_exists(job.partial).map_err(io_err)?;
            return Err(too_large());
        }
        let progress = self
            .reporter
            .start(job.label, response.content_length().map(|n| n + start));
        if start > 0 {
            progress.advance(start);
        }
        let streamed = self
            .stream_body(job, start, response, &mut file, hasher, progress.as_ref())
            .await;
        // Keep what arrived, whatever happened, so that the next attempt can resume.
        let flushed = file.flush().await.map_err(io_err);
        let (hasher, total) = match streamed.and_then(|h| flushed.map(|()| h)) {
            Ok(h) => h,
            Err(e) => {
                // Bytes that could not be written (a full disk) are not worth resuming, and
                // keeping them keeps the disk full; nor are those of a stream past its bound.
                if matches!(e, DownloadError::Io { .. } | DownloadError::TooLarge { .. }) {
                    drop(file);
                    let _ = remove_if_exists(job.partial);
                }
                progress.finish(false, &e.outcome());
                return Err(e);
            }
        };
        if job.limit.why == SizeLimit::Pinned && total != job.limit.bytes {
            // A complete stream shorter than the pin is as wrong as a longer one.
            drop(file);
            remove_if_exists(job.partial).map_err(io_err)?;
            let e = DownloadError::SizeMismatch {
                url: job.url.to_string(),
                expected: job.limit.bytes,
                actual: total,
            };
            progress.finish(false, &e.outcome());
            return Err(e);
        }
        let actual = hex::encode(hasher.finalize());
        if actual != job.sha256 {
            drop(file);
            remove_if_exists(job.partial).map_err(io_err)?;
            let e = DownloadError::Mismatch {
                url: job.url.to_string(),
                expected: job.sha256.to_string(),
                actual,
            };
            progress.finish(false, &e.outcome());
            return Err(e);
        }
        let committed = async {
            file.sync_all().await?;
            drop(file);
            commit(job.partial, job.dest)
        }
        .await
        .map_err(io_err);
        progress.finish(committed.is_ok(), "done");
        committed
    }

    /// Streams the body after the `start` bytes kept, hashing it; returns the hasher and the
    /// file's length. Cut with `TooLarge` as soon as the file would pass `job.limit`.
    async fn stream_body(
        &self,
        job: &Job<'_>,
        start: u64,
        response: reqwest::Response,
        file: &mut tokio::fs::File,
        mut hasher: Sha256,
        progress: &dyn Progress,
    ) -> Result<(Sha256, u64), DownloadError> {
        let mut body = response.bytes_stream();
        let mut total = start;
        loop {
            match tokio::time::timeout(self.timeout, body.next()).await {
                Err(_) => return Err(self.stalled(job)),
                Ok(None) => return Ok((hasher, total)),
                Ok(Some(Err(e))) => {
                    return Err(DownloadError::Request {
                        url: job.url.to_string(),
                        source: e.without_url(),
                    });
                }
                Ok(Some(Ok(chunk))) => {
                    total = total.saturating_add(chunk.len() as u64);
                    if total > job.limit.bytes {
                        return Err(DownloadError::TooLarge {
                            url: job.url.to_string(),
                            limit: job.limit.bytes,
                            why: job.limit.why,
                        });
                    }
                    file.write_all(&chunk)
                        .await
                        .map_err(|source| DownloadError::Io {
                            path: job.partial.to_path_buf(),
                            source,
                        })?;
                    hasher.update(&chunk);
                    progress.advance(chunk.len() as u64);
                }
            }
        }
    }

    fn stalled(&self, job: &Job<'_>) -> DownloadError {
        DownloadError::Stalled {
            url: job.url.to_string(),
            stalled_for: self.timeout,
        }
    }
}

/// A hasher fed with the whole of `path`.
pub(super) fn hash_file(path: &Path) -> io::Result<Sha256> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hasher);
        }
        hasher.update(&buf[..n]);
    }
}

async fn hash_prefix(path: &Path) -> io::Result<Sha256> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || hash_file(&path))
        .await
        .expect("hashing task panicked")
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Renames a verified, synced partial file into place, then syncs the directory so the new
/// name survives a crash.
pub(super) fn commit(partial: &Path, dest: &Path) -> io::Result<()> {
    std::fs::rename(partial, dest)?;
    if let Some(dir) = dest.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
