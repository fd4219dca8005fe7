//! Software bills of materials for a sysroot, from its manifest: every library with its
//! version, license, upstream source and checksum, and the compiler that built them.
//!
//! Two formats: CycloneDX 1.5 JSON and SPDX 2.3 JSON. Packages are named by purls
//! `pkg:generic/<name>@<version>?checksum=sha256:<hex>&download_url=<url>`: the libraries are
//! built from upstream tarballs, not taken from a package ecosystem.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::store::PackageRecord;
use crate::sysroot::Manifest;

/// An output format of `crossroot sbom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SbomFormat {
    /// CycloneDX 1.5, JSON.
    #[default]
    CycloneDx,
    /// SPDX 2.3, JSON.
    Spdx,
}

impl SbomFormat {
    pub const ALL: [SbomFormat; 2] = [SbomFormat::CycloneDx, SbomFormat::Spdx];

    pub fn as_str(self) -> &'static str {
        match self {
            SbomFormat::CycloneDx => "cyclonedx",
            SbomFormat::Spdx => "spdx",
        }
    }
}

impl fmt::Display for SbomFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `--format` value that names no SBOM format.
#[derive(Debug, thiserror::Error)]
#[error("unknown SBOM format `{given}`; expected cyclonedx or spdx")]
pub struct UnknownSbomFormat {
    pub given: String,
}

impl FromStr for SbomFormat {
    type Err = UnknownSbomFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SbomFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownSbomFormat {
                given: s.to_string(),
            })
    }
}

/// The document for a sysroot's manifest; `created` is an RFC 3339 UTC time (see [`timestamp`]).
pub fn document(manifest: &Manifest, format: SbomFormat, created: &str) -> Value {
    match format {
        SbomFormat::CycloneDx => cyclonedx(manifest, created),
        SbomFormat::Spdx => spdx(manifest, created),
    }
}

/// `pkg:generic/<name>@<version>` with the source's checksum and download URL as qualifiers
/// (in the spec's sorted order, values percent-encoded).
pub fn purl(name: &str, version: &str, sha256: Option<&str>, download_url: Option<&str>) -> String {
    let mut out = format!(
        "pkg:generic/{}@{}",
        percent_encode(name),
        percent_encode(version)
    );
    let mut qualifiers = Vec::new();
    if let Some(sha) = sha256 {
        qualifiers.push(format!("checksum=sha256:{sha}"));
    }
    if let Some(url) = download_url {
        qualifiers.push(format!("download_url={}", percent_encode(url)));
    }
    if !qualifiers.is_empty() {
        out.push('?');
        out.push_str(&qualifiers.join("&"));
    }
    out
}

/// Everything but unreserved characters and `:`/`/` (which purl leaves readable) escaped.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~:/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Where the source can be downloaded: the recipe's first upstream URL, else the URL it was
/// fetched from (records written before URLs were kept), else nothing known.
fn download_url(record: &PackageRecord) -> Option<&str> {
    record.source_urls.first().map(String::as_str).or_else(|| {
        let origin = record.source_origin.as_str();
        (origin.starts_with("https://") || origin.starts_with("http://")).then_some(origin)
    })
}

/// A reference for the package without qualifiers: unique within one sysroot.
fn package_ref(record: &PackageRecord) -> String {
    purl(&record.name, &record.version, None, None)
}

/// Whether a recipe's license reads as an SPDX license expression (ids, `AND`/`OR`/`WITH`,
/// parentheses); anything else is carried as a plain name.
fn is_spdx_expression(license: &str) -> bool {
    !license.trim().is_empty()
        && license
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " .-+:()".contains(c))
}

/// A name-based UUID from the sysroot's key (version nibble 5, RFC 4122 variant), so the same
/// sysroot always gets the same serial number and namespace.
fn uuid(manifest: &Manifest) -> String {
    let digest = Sha256::digest(format!(
        "crossroot-sbom\0{}\0{}",
        manifest.target, manifest.key
    ));
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn sysroot_name(manifest: &Manifest) -> String {
    format!("crossroot-sysroot-{}", manifest.target)
}

fn sysroot_version(manifest: &Manifest) -> &str {
    &manifest.key[..16.min(manifest.key.len())]
}

fn cyclonedx(manifest: &Manifest, created: &str) -> Value {
    let mut components = Vec::new();
    let refs: BTreeMap<&str, String> = manifest
        .packages
        .iter()
        .map(|p| (p.name.as_str(), package_ref(p)))
        .collect();
    for record in &manifest.packages {
        let url = download_url(record);
        let hashes = json!([{ "alg": "SHA-256", "content": record.source_sha256 }]);
        let mut references = Vec::new();
        if let Some(url) = url {
            references.push(json!({ "type": "distribution", "url": url, "hashes": hashes }));
        }
        if !record.homepage.is_empty() {
            references.push(json!({ "type": "website", "url": record.homepage }));
        }
        let license = if is_spdx_expression(&record.license) {
            json!({ "expression": record.license })
        } else {
            json!({ "license": { "name": record.license } })
        };
        components.push(json!({
            "type": "library",
            "bom-ref": refs[record.name.as_str()],
            "name": record.name,
            "version": record.version,
            "licenses": [license],
            "purl": purl(&record.name, &record.version, Some(&record.source_sha256), url),
            "hashes": hashes,
            "externalReferences": references,
            "properties": [
                { "name": "crossroot:source-file", "value": record.source_file },
                { "name": "crossroot:package-key", "value": record.key },
            ],
        }));
    }
    let toolchain = &manifest.toolchain;
    let toolchain_ref = format!("toolchain:{}@{}", toolchain.name, toolchain.version);
    components.push(json!({
        "type": "application",
        "bom-ref": toolchain_ref,
        "name": toolchain.name,
        "version": toolchain.version,
        "description": "the C compiler that built every library",
        // Used to build, not part of what is shipped.
        "scope": "excluded",
        "purl": purl(&toolchain.name, &toolchain.version, None, None),
        "hashes": [{ "alg": "SHA-256", "content": toolchain.sha256 }],
    }));
    let mut dependencies = vec![json!({
        "ref": "sysroot",
        "dependsOn": manifest.packages.iter().map(package_ref).collect::<Vec<_>>(),
    })];
    for record in &manifest.packages {
        let on: Vec<&String> = record
            .dependencies
            .iter()
            .filter_map(|d| refs.get(d.as_str()))
            .collect();
        dependencies.push(json!({ "ref": refs[record.name.as_str()], "dependsOn": on }));
    }
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{}", uuid(manifest)),
        "version": 1,
        "metadata": {
            "timestamp": created,
            "tools": { "components": [{
                "type": "application",
                "name": "crossroot",
                "version": manifest.crossroot_version,
            }] },
            "component": {
                "type": "library",
                "bom-ref": "sysroot",
                "name": sysroot_name(manifest),
                "version": sysroot_version(manifest),
                "description": format!("static musl sysroot for {}", manifest.target),
            },
            "properties": [
                { "name": "crossroot:target", "value": manifest.target },
                { "name": "crossroot:sysroot-key", "value": manifest.key },
            ],
        },
        "components": components,
        "dependencies": dependencies,
    })
}

/// An SPDX identifier: `SPDXRef-` and letters, digits, `.` and `-`.
fn spdx_id(kind: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("SPDXRef-{kind}-{clean}")
}

fn spdx(manifest: &Manifest, created: &str) -> Value {
    const SYSROOT: &str = "SPDXRef-Sysroot";
    let ids: BTreeMap<&str, String> = manifest
        .packages
        .iter()
        .map(|p| (p.name.as_str(), spdx_id("Package", &p.name)))
        .collect();
    let mut packages = vec![json!({
        "SPDXID": SYSROOT,
        "name": sysroot_name(manifest),
        "versionInfo": sysroot_version(manifest),
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "LIBRARY",
        "comment": format!("static musl sysroot for {}, key {}", manifest.target, manifest.key),
    })];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": SYSROOT,
    })];
    for record in &manifest.packages {
        let url = download_url(record);
        let id = &ids[record.name.as_str()];
        let mut package = json!({
            "SPDXID": id,
            "name": record.name,
            "versionInfo": record.version,
            "packageFileName": record.source_file,
            "downloadLocation": url.unwrap_or("NOASSERTION"),
            "filesAnalyzed": false,
            "checksums": [{ "algorithm": "SHA256", "checksumValue": record.source_sha256 }],
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": if is_spdx_expression(&record.license) {
                record.license.as_str()
            } else {
                "NOASSERTION"
            },
            "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "LIBRARY",
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": purl(&record.name, &record.version, Some(&record.source_sha256), url),
            }],
        });
        if !record.homepage.is_empty() {
            package["homepage"] = json!(record.homepage);
        }
        packages.push(package);
        relationships.push(json!({
            "spdxElementId": SYSROOT,
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id,
        }));
        for dependency in &record.dependencies {
            if let Some(dep_id) = ids.get(dependency.as_str()) {
                relationships.push(json!({
                    "spdxElementId": id,
                    "relationshipType": "DEPENDS_ON",
                    "relatedSpdxElement": dep_id,
                }));
            }
        }
    }
    let toolchain = &manifest.toolchain;
    let toolchain_id = spdx_id("Toolchain", &toolchain.name);
    packages.push(json!({
        "SPDXID": toolchain_id,
        "name": toolchain.name,
        "versionInfo": toolchain.version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "checksums": [{ "algorithm": "SHA256", "checksumValue": toolchain.sha256 }],
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "APPLICATION",
        "comment": "the C compiler that built every library; checksum of its executable",
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": purl(&toolchain.name, &toolchain.version, None, None),
        }],
    }));
    relationships.push(json!({
        "spdxElementId": toolchain_id,
        "relationshipType": "BUILD_TOOL_OF",
        "relatedSpdxElement": SYSROOT,
    }));
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("{} {}", sysroot_name(manifest), sysroot_version(manifest)),
        "documentNamespace": format!("urn:uuid:{}", uuid(manifest)),
        "creationInfo": {
            "created": created,
            "creators": [format!("Tool: crossroot-{}", manifest.crossroot_version)],
        },
        "documentDescribes": [SYSROOT],
        "packages": packages,
        "relationships": relationships,
    })
}

pub use crate::time::timestamp;

#[cfg(test)]
mod tests;
