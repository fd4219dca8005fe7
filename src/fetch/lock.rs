//! An exclusive lock per download-cache entry, shared with other crossroot processes.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;
use std::sync::Arc;

use super::FetchError;
use crate::report::Reporter;

/// Holds `<downloads_dir>/<sha256>/.lock` until dropped.
pub(super) struct EntryLock {
    _file: File,
}

impl EntryLock {
    /// Takes the lock, saying "waiting for lock on …" when another holder makes us block.
    pub(super) async fn acquire(
        path: PathBuf,
        reporter: Arc<dyn Reporter>,
    ) -> Result<EntryLock, FetchError> {
        tokio::task::spawn_blocking(move || {
            let io_err = |source| FetchError::Lock {
                path: path.clone(),
                source,
            };
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io_err)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    reporter.info(&format!("waiting for lock on {}", path.display()));
                    file.lock().map_err(io_err)?;
                }
                Err(TryLockError::Error(e)) => return Err(io_err(e)),
            }
            Ok(EntryLock { _file: file })
        })
        .await
        .expect("lock task panicked")
    }
}
