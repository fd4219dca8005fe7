//! How packages look in a registry: media types, tags, and the manifests, configs and indexes
//! crossroot writes (OCI image spec 1.1; the same shape Spack's OCI build cache uses).
//!
//! ```text
//! <repo>:<name>-<version>-<key>          one image manifest per package key
//!     artifactType   application/vnd.crossroot.package.v1
//!     config         an OCI image config (os, architecture, rootfs) with the package record
//!     layers[0]      tar+zstd of the package tree, as in the store
//! <repo>:sha256-<manifest hex>           the referrers fallback tag: an index of signatures
//!     manifests[i]   artifactType application/vnd.crossroot.signature.v1+minisign,
//!                    subject = the package manifest, layer = its .minisig
//! <repo>:<crossroot cache key>           one index per selection, a manifest per package
//! ```

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::PackageRecord;
use crate::target::Target;

pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The empty descriptor's content, `{}`.
pub const EMPTY_JSON: &[u8] = b"{}";
pub const PACKAGE_ARTIFACT: &str = "application/vnd.crossroot.package.v1";
pub const SIGNATURE_ARTIFACT: &str = "application/vnd.crossroot.signature.v1+minisign";
pub const INDEX_ARTIFACT: &str = "application/vnd.crossroot.selection.v1";

/// Annotations crossroot reads back (the `org.opencontainers.image.*` ones are for people).
pub const ANN_KEY: &str = "dev.crossroot.package.key";
pub const ANN_TARGET: &str = "dev.crossroot.package.target";
pub const ANN_NAME: &str = "dev.crossroot.package.name";
pub const ANN_BYTES: &str = "dev.crossroot.package.unpacked-bytes";
pub const ANN_SIGNER: &str = "dev.crossroot.signature.key-id";

/// A manifest or index larger than this is not one crossroot wrote.
pub const MAX_MANIFEST: usize = 4 << 20;
/// A `.minisig` is a few hundred bytes.
pub const MAX_SIGNATURE: u64 = 16 << 10;

/// Layers are reproducible: every entry gets this mtime (as bundles do).
const MTIME: u64 = 1_700_000_000;

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The tag of a package: `<name>-<version>-<key>`, in the distribution spec's tag alphabet
/// (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`): other characters become `_`, and the name part is
/// cut so the whole stays within 128 characters with the full key.
pub fn package_tag(name: &str, version: &str, key: &str) -> String {
    let mut head: String = format!("{name}-{version}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let room = 127usize.saturating_sub(key.len() + 1);
    head.truncate(room);
    if head.starts_with(['.', '-']) {
        head.replace_range(..1, "_");
    }
    format!("{head}-{key}")
}

/// The referrers fallback tag of a manifest digest (`sha256:abc…` → `sha256-abc…`).
pub fn fallback_tag(digest: &str) -> String {
    digest.replacen(':', "-", 1)
}

/// True when `tag` is a valid tag of the distribution spec.
pub fn is_valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Descriptor {
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest: digest(bytes),
            size: bytes.len() as u64,
            artifact_type: None,
            platform: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// An OCI image manifest, as much of it as crossroot writes and reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Index {
    pub fn new(artifact_type: Option<&str>, manifests: Vec<Descriptor>) -> Index {
        Index {
            schema_version: 2,
            media_type: Some(INDEX.into()),
            artifact_type: artifact_type.map(str::to_string),
            manifests,
            annotations: BTreeMap::new(),
        }
    }
}

/// JSON bytes as pushed: compact, keys in struct order (the digest is of these bytes).
pub fn to_bytes<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("registry documents serialize")
}

/// A package as it goes to a registry.
#[derive(Debug, Clone)]
pub struct PackedPackage {
    /// The tar+zstd layer.
    pub layer: Vec<u8>,
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
    pub manifest_digest: String,
    /// Bytes of file content the layer unpacks to.
    pub unpacked: u64,
}

/// Go's and OCI's names for a target's architecture (`arm64`, `arm` + `v7`, …).
pub fn platform(target: &Target) -> Platform {
    let variant = match target.goarch {
        "arm" => target.goarm.map(|v| format!("v{v}")),
        "arm64" => Some("v8".to_string()),
        _ => None,
    };
    Platform {
        architecture: target.goarch.into(),
        os: "linux".into(),
        variant,
    }
}

/// Packs the store entry `dir` (the package tree and its record; the marker stays out) into
/// the layer, config and manifest of `record`'s package. Deterministic: the same tree gives
/// the same manifest digest.
pub fn pack(dir: &Path, record: &PackageRecord, target: &Target) -> io::Result<PackedPackage> {
    let mut files = Vec::new();
    crate::bundle::walk(dir, "", &mut files).map_err(io::Error::other)?;
    let unpacked: u64 = files
        .iter()
        .map(|(f, _)| match f {
            crate::bundle::BundledFile::File { size, .. } => *size,
            _ => 0,
        })
        .sum();
    let mut tar_bytes = Vec::new();
    {
        let mut tar = tar::Builder::new(&mut tar_bytes);
        crate::bundle::append_files(&mut tar, &files, MTIME)?;
        tar.finish()?;
    }
    let diff_id = digest(&tar_bytes);
    let layer = zstd::encode_all(tar_bytes.as_slice(), 3)?;
    drop(tar_bytes);

    let record_json = serde_json::to_string(record).expect("records serialize");
    let p = platform(target);
    let mut labels = BTreeMap::new();
    labels.insert(ANN_KEY.to_string(), record.key.clone());
    labels.insert(ANN_NAME.to_string(), record.name.clone());
    labels.insert(ANN_TARGET.to_string(), record.target.clone());
    labels.insert("dev.crossroot.package.record".to_string(), record_json);
    let mut config = serde_json::json!({
        "architecture": p.architecture,
        "os": p.os,
        "config": { "Labels": labels },
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
    });
    if let Some(v) = &p.variant {
        config["variant"] = serde_json::Value::String(v.clone());
    }
    let config = to_bytes(&config);

    let mut layer_desc = Descriptor::of(LAYER_ZSTD, &layer);
    layer_desc.annotations.insert(
        "org.opencontainers.image.title".into(),
        format!(
            "{}-{}-{}.tar.zst",
            record.name, record.version, record.target
        ),
    );
    let mut annotations = BTreeMap::new();
    for (k, v) in [
        ("org.opencontainers.image.title", record.name.as_str()),
        ("org.opencontainers.image.version", record.version.as_str()),
        ("org.opencontainers.image.source", record.homepage.as_str()),
        ("org.opencontainers.image.licenses", record.license.as_str()),
        ("org.opencontainers.image.revision", record.key.as_str()),
        (ANN_KEY, record.key.as_str()),
        (ANN_NAME, record.name.as_str()),
        (ANN_TARGET, record.target.as_str()),
    ] {
        annotations.insert(k.to_string(), v.to_string());
    }
    annotations.insert(ANN_BYTES.to_string(), unpacked.to_string());
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MANIFEST.into()),
        artifact_type: Some(PACKAGE_ARTIFACT.into()),
        config: Descriptor::of(IMAGE_CONFIG, &config),
        layers: vec![layer_desc],
        subject: None,
        annotations,
    };
    let manifest = to_bytes(&manifest);
    Ok(PackedPackage {
        manifest_digest: digest(&manifest),
        layer,
        config,
        manifest,
        unpacked,
    })
}

/// The manifest of a signature: an artifact whose one layer is the `.minisig` text and whose
/// subject is the signed manifest.
pub fn signature_manifest(
    subject: &Descriptor,
    signature: &[u8],
    key_id: &str,
) -> (Manifest, Vec<u8>) {
    let mut layer = Descriptor::of(SIGNATURE_ARTIFACT, signature);
    layer.annotations.insert(
        "org.opencontainers.image.title".into(),
        format!("{}.minisig", fallback_tag(&subject.digest)),
    );
    let mut annotations = BTreeMap::new();
    annotations.insert(ANN_SIGNER.to_string(), key_id.to_string());
    let m = Manifest {
        schema_version: 2,
        media_type: Some(MANIFEST.into()),
        artifact_type: Some(SIGNATURE_ARTIFACT.into()),
        config: Descriptor::of(EMPTY, EMPTY_JSON),
        layers: vec![layer],
        subject: Some(subject.clone()),
        annotations,
    };
    let bytes = to_bytes(&m);
    (m, bytes)
}

/// What a package manifest from a registry must say for the package `key`; the reason it is
/// not one otherwise.
pub fn check_package_manifest(m: &Manifest, key: &str, target: &str) -> Result<(), String> {
    if m.schema_version != 2 {
        return Err(format!("schemaVersion {} (expected 2)", m.schema_version));
    }
    if m.artifact_type.as_deref() != Some(PACKAGE_ARTIFACT) {
        return Err(format!(
            "artifactType {:?} (expected {PACKAGE_ARTIFACT})",
            m.artifact_type.as_deref().unwrap_or("none")
        ));
    }
    let ann = |k: &str| m.annotations.get(k).map(String::as_str).unwrap_or("none");
    if ann(ANN_KEY) != key {
        return Err(format!(
            "it is the package with key {} (expected {key})",
            ann(ANN_KEY)
        ));
    }
    if ann(ANN_TARGET) != target {
        return Err(format!(
            "it is for target {} (expected {target})",
            ann(ANN_TARGET)
        ));
    }
    match m.layers.as_slice() {
        [l] if l.media_type == LAYER_ZSTD => Ok(()),
        [l] => Err(format!(
            "its layer is {} (expected {LAYER_ZSTD})",
            l.media_type
        )),
        ls => Err(format!("it has {} layers (expected 1)", ls.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_tags_stay_in_the_tag_alphabet_and_length() {
        let key = "a".repeat(64);
        let t = package_tag("curl", "8.14.1", &key);
        assert_eq!(t, format!("curl-8.14.1-{key}"));
        assert!(is_valid_tag(&t));
        let odd = package_tag(".weird name+x", "1:2~rc", &key);
        assert!(is_valid_tag(&odd), "{odd}");
        assert!(odd.ends_with(&key));
        let long = package_tag(&"n".repeat(300), "1", &key);
        assert!(long.len() <= 128 && is_valid_tag(&long), "{long}");
        assert!(long.ends_with(&key));
        assert!(is_valid_tag(&fallback_tag(&digest(b"x"))));
        assert!(!is_valid_tag("-x") && !is_valid_tag("") && !is_valid_tag("a/b"));
    }

    #[test]
    fn a_package_manifest_is_checked_against_the_key_and_target_it_was_fetched_for() {
        let mut m = Manifest {
            schema_version: 2,
            media_type: Some(MANIFEST.into()),
            artifact_type: Some(PACKAGE_ARTIFACT.into()),
            config: Descriptor::of(IMAGE_CONFIG, b"{}"),
            layers: vec![Descriptor::of(LAYER_ZSTD, b"x")],
            subject: None,
            annotations: BTreeMap::from([
                (ANN_KEY.to_string(), "k1".to_string()),
                (ANN_TARGET.to_string(), "aarch64-linux-musl".to_string()),
            ]),
        };
        assert_eq!(
            check_package_manifest(&m, "k1", "aarch64-linux-musl"),
            Ok(())
        );
        let e = check_package_manifest(&m, "k2", "aarch64-linux-musl").unwrap_err();
        assert!(e.contains("key k1 (expected k2)"), "{e}");
        let e = check_package_manifest(&m, "k1", "riscv64-linux-musl").unwrap_err();
        assert!(e.contains("target aarch64-linux-musl"), "{e}");
        m.layers.push(Descriptor::of(LAYER_ZSTD, b"y"));
        let e = check_package_manifest(&m, "k1", "aarch64-linux-musl").unwrap_err();
        assert!(e.contains("2 layers"), "{e}");
        m.artifact_type = None;
        let e = check_package_manifest(&m, "k1", "aarch64-linux-musl").unwrap_err();
        assert!(e.contains("artifactType"), "{e}");
    }
}
