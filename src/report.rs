//! How library code tells the user what it is doing, without knowing about terminals.
//!
//! The CLI implements [`Reporter`] with progress bars on a TTY and plain lines elsewhere;
//! tests use [`Silent`] or [`Recording`].

use std::sync::Mutex;

/// A handle for one long-running item (a download, a package build).
pub trait Progress: Send + Sync {
    /// Total size in bytes, when known.
    fn set_length(&self, _len: u64) {}
    /// Bytes (or units) done so far, added.
    fn advance(&self, _delta: u64) {}
    /// A short status line for the item ("configure", "make", …).
    fn set_message(&self, _msg: &str) {}
    /// The item has ended; `ok` says how.
    fn finish(&self, _ok: bool, _msg: &str) {}
}

/// Receives what the pipeline stages report.
pub trait Reporter: Send + Sync {
    /// A fact worth a line (`Building curl 8.14.1 for aarch64-linux-musl`).
    fn info(&self, msg: &str);
    /// A detail shown only with `-v`.
    fn debug(&self, _msg: &str) {}
    /// Something the user should look at, that did not stop the work.
    fn warn(&self, msg: &str);
    /// Starts a progress item, e.g. a download of `len` bytes.
    fn start(&self, what: &str, len: Option<u64>) -> Box<dyn Progress>;
}

struct NoProgress;
impl Progress for NoProgress {}

/// Reports nothing.
pub struct Silent;

impl Reporter for Silent {
    fn info(&self, _msg: &str) {}
    fn warn(&self, _msg: &str) {}
    fn start(&self, _what: &str, _len: Option<u64>) -> Box<dyn Progress> {
        Box::new(NoProgress)
    }
}

/// Keeps every line, for tests that assert on what was said.
#[derive(Default)]
pub struct Recording {
    pub lines: Mutex<Vec<String>>,
}

impl Recording {
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Reporter for Recording {
    fn info(&self, msg: &str) {
        self.lines.lock().unwrap().push(format!("info: {msg}"));
    }
    fn debug(&self, msg: &str) {
        self.lines.lock().unwrap().push(format!("debug: {msg}"));
    }
    fn warn(&self, msg: &str) {
        self.lines.lock().unwrap().push(format!("warn: {msg}"));
    }
    fn start(&self, what: &str, _len: Option<u64>) -> Box<dyn Progress> {
        self.lines.lock().unwrap().push(format!("start: {what}"));
        Box::new(NoProgress)
    }
}

/// The last `n` lines of a file, indented.
pub fn tail(path: &std::path::Path, n: usize) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return "    (no log)".into();
    };
    // The tail of a long log is in its last 64 KiB.
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = std::io::Seek::seek(
        &mut f,
        std::io::SeekFrom::Start(len.saturating_sub(64 * 1024)),
    );
    let lines: Vec<String> = std::io::BufRead::split(std::io::BufReader::new(f), b'\n')
        .map_while(Result::ok)
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
