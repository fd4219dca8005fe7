//! `crossroot sbom`: a software bill of materials for a built sysroot.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;

use crate::cli::SbomArgs;
use crate::sbom::{SbomFormat, UnknownSbomFormat, document, timestamp};
use crate::settings::Settings;

pub fn run(settings: &Settings, args: SbomArgs) -> Result<i32> {
    let format: SbomFormat = args
        .format
        .parse()
        .map_err(|e: UnknownSbomFormat| super::UsageError(e.to_string()))?;
    let sysroot = super::env::find_sysroot(settings, &args.selection)?;
    let manifest = sysroot.manifest()?;
    let doc = document(&manifest, format, &timestamp(creation_time()?));
    println!(
        "{}",
        serde_json::to_string_pretty(&doc).expect("a JSON value serializes")
    );
    Ok(0)
}

/// `SOURCE_DATE_EPOCH` when set (reproducible documents), else now.
fn creation_time() -> Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) if !value.is_empty() => value.trim().parse().map_err(|_| {
            super::UsageError(format!(
                "SOURCE_DATE_EPOCH must be whole seconds since 1970, got `{value}`"
            ))
            .into()
        }),
        _ => Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)),
    }
}
