//! (being written on the `extract` branch; this stub only fixes the interface)
use std::path::Path;

#[derive(Debug, Clone)]
pub struct ExtractOptions {
    pub max_total_bytes: u64,
    pub max_entries: u64,
}
impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            max_total_bytes: 2 << 30,
            max_entries: 200_000,
        }
    }
}
#[derive(Debug, thiserror::Error)]
#[error("extract failed")]
pub struct ExtractError;
pub struct ExtractReport {
    pub files: u64,
    pub bytes: u64,
}
pub fn extract(
    _archive: &Path,
    _dest: &Path,
    _opts: &ExtractOptions,
) -> Result<ExtractReport, ExtractError> {
    Err(ExtractError)
}
