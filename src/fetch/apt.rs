//! (being written on the `elf` branch; stub)
use std::path::Path;
pub struct AptMirror {
    pub uri: String,
}
#[derive(Debug, thiserror::Error)]
#[error("apt")]
pub struct AptError;
pub fn read_apt_mirrors(_apt_root: &Path) -> Result<Vec<AptMirror>, AptError> {
    Ok(vec![])
}
