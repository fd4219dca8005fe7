//! The download cache's entry locks: the home's one lock ([`crate::cache::EntryLock`]), taken
//! off the async threads.

use std::path::PathBuf;
use std::sync::Arc;

use super::FetchError;
use crate::cache::EntryLock;
use crate::report::Reporter;

/// Takes the exclusive lock at `path` (`<downloads_dir>/<sha256>/.lock`), saying "waiting for
/// lock on …" when another holder makes us block.
pub(super) async fn acquire(
    path: PathBuf,
    reporter: Arc<dyn Reporter>,
) -> Result<EntryLock, FetchError> {
    tokio::task::spawn_blocking(move || {
        EntryLock::acquire(&path, &*reporter).map_err(|e| FetchError::Lock {
            path: path.clone(),
            source: std::io::Error::other(e),
        })
    })
    .await
    .expect("lock task panicked")
}
