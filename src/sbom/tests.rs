use super::*;

/// A manifest as an older crossroot wrote it (no `source_urls`, no `dependencies`) for `zlib`,
/// and a current record for `curl`, which needs zlib and has an unusual license string.
fn manifest() -> Manifest {
    let zig = r#"{"name": "zig", "version": "0.16.0", "sha256": "aaaa"}"#;
    let options = r#"{"opt_level": "2", "debug_info": false}"#;
    let text = format!(
        r#"{{
  "crossroot_version": "0.1.0",
  "target": "aarch64-linux-musl",
  "key": "0123456789abcdef0123456789abcdef",
  "toolchain": {zig},
  "toolchain_exe": "/opt/zig/zig",
  "options": {options},
  "packages": [
    {{"name": "zlib", "version": "1.3.1", "license": "Zlib", "homepage": "https://zlib.invalid/",
      "target": "aarch64-linux-musl", "key": "k1", "source_file": "zlib-1.3.1.tar.gz",
      "source_sha256": "1111", "source_origin": "https://mirror.invalid/zlib-1.3.1.tar.gz",
      "toolchain": {zig}, "options": {options}, "build_system": "configure",
      "build_args": [], "seconds": 1.0}},
    {{"name": "curl", "version": "8.14.1", "license": "curl & friends", "homepage": "",
      "target": "aarch64-linux-musl", "key": "k2", "source_file": "curl-8.14.1.tar.xz",
      "source_sha256": "2222", "source_origin": "cache",
      "source_urls": ["https://curl.invalid/download/curl 8.14.1.tar.xz", "https://b.invalid/c"],
      "dependencies": ["zlib", "not-in-this-sysroot"],
      "toolchain": {zig}, "options": {options}, "build_system": "autotools",
      "build_args": [], "seconds": 2.0}}
  ]
}}"#
    );
    serde_json::from_str(&text).expect("old and new records parse")
}

#[test]
fn old_records_parse_with_empty_urls_and_dependencies() {
    let m = manifest();
    assert!(m.packages[0].source_urls.is_empty());
    assert!(m.packages[0].dependencies.is_empty());
    assert_eq!(m.packages[1].dependencies, ["zlib", "not-in-this-sysroot"]);
}

#[test]
fn purls_are_generic_with_sorted_encoded_qualifiers() {
    assert_eq!(purl("zlib", "1.3.1", None, None), "pkg:generic/zlib@1.3.1");
    assert_eq!(
        purl(
            "c-ares",
            "1.34.5",
            Some("abcd"),
            Some("https://h.invalid/a b?x=1&y=2")
        ),
        "pkg:generic/c-ares@1.34.5?checksum=sha256:abcd&download_url=https://h.invalid/a%20b%3Fx%3D1%26y%3D2"
    );
    assert_eq!(purl("a@b", "1+2", None, None), "pkg:generic/a%40b@1%2B2");
}

#[test]
fn timestamps_are_rfc3339_utc() {
    assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
    assert_eq!(timestamp(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(timestamp(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(timestamp(4_102_444_799), "2099-12-31T23:59:59Z");
}

#[test]
fn cyclonedx_lists_libraries_sources_and_the_toolchain() {
    let bom = document(&manifest(), SbomFormat::CycloneDx, "2024-01-02T03:04:05Z");
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.5");
    assert_eq!(bom["version"], 1);
    let serial = bom["serialNumber"].as_str().unwrap();
    let uuid = serial.strip_prefix("urn:uuid:").unwrap();
    let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "{uuid}");
    assert!(uuid.as_bytes()[14] == b'5' && b"89ab".contains(&uuid.as_bytes()[19]));
    assert_eq!(bom["metadata"]["timestamp"], "2024-01-02T03:04:05Z");
    assert_eq!(
        bom["metadata"]["component"]["name"],
        "crossroot-sysroot-aarch64-linux-musl"
    );

    let components = bom["components"].as_array().unwrap();
    assert_eq!(components.len(), 3);
    let zlib = &components[0];
    assert_eq!(zlib["name"], "zlib");
    assert_eq!(zlib["licenses"][0]["expression"], "Zlib");
    // An old record: the URL it was fetched from stands in for the recipe's.
    assert_eq!(
        zlib["purl"],
        "pkg:generic/zlib@1.3.1?checksum=sha256:1111&download_url=https://mirror.invalid/zlib-1.3.1.tar.gz"
    );
    assert_eq!(zlib["hashes"][0]["content"], "1111");
    let curl = &components[1];
    assert_eq!(curl["licenses"][0]["license"]["name"], "curl & friends");
    assert_eq!(
        curl["externalReferences"][0]["url"],
        "https://curl.invalid/download/curl 8.14.1.tar.xz"
    );
    assert_eq!(curl["externalReferences"][0]["type"], "distribution");
    assert_eq!(
        curl["externalReferences"].as_array().unwrap().len(),
        1,
        "no website"
    );
    let zig = &components[2];
    assert_eq!(
        (&zig["name"], &zig["version"], &zig["scope"]),
        (&json!("zig"), &json!("0.16.0"), &json!("excluded"))
    );
    assert_eq!(zig["hashes"][0]["content"], "aaaa");

    let deps = bom["dependencies"].as_array().unwrap();
    assert_eq!(deps[0]["ref"], "sysroot");
    assert_eq!(
        deps[0]["dependsOn"],
        json!(["pkg:generic/zlib@1.3.1", "pkg:generic/curl@8.14.1"])
    );
    assert_eq!(
        deps[2],
        json!({"ref": "pkg:generic/curl@8.14.1", "dependsOn": ["pkg:generic/zlib@1.3.1"]})
    );
    // Every reference resolves to a component or the sysroot.
    let mut known: Vec<&str> = components
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    known.push("sysroot");
    for dep in deps {
        for r in std::iter::once(&dep["ref"]).chain(dep["dependsOn"].as_array().unwrap()) {
            assert!(known.contains(&r.as_str().unwrap()), "{r}");
        }
    }
}

#[test]
fn spdx_lists_libraries_sources_and_the_toolchain() {
    let doc = document(&manifest(), SbomFormat::Spdx, "2024-01-02T03:04:05Z");
    for key in [
        "spdxVersion",
        "dataLicense",
        "SPDXID",
        "name",
        "documentNamespace",
        "creationInfo",
    ] {
        assert!(doc.get(key).is_some(), "{key}");
    }
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["dataLicense"], "CC0-1.0");
    assert_eq!(doc["creationInfo"]["creators"][0], "Tool: crossroot-0.1.0");
    let packages = doc["packages"].as_array().unwrap();
    let names: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "crossroot-sysroot-aarch64-linux-musl",
            "zlib",
            "curl",
            "zig"
        ]
    );
    let curl = &packages[2];
    assert_eq!(curl["SPDXID"], "SPDXRef-Package-curl");
    assert_eq!(
        curl["downloadLocation"],
        "https://curl.invalid/download/curl 8.14.1.tar.xz"
    );
    assert_eq!(
        curl["licenseDeclared"], "NOASSERTION",
        "not an SPDX expression"
    );
    assert_eq!(curl["checksums"][0]["checksumValue"], "2222");
    assert_eq!(curl["packageFileName"], "curl-8.14.1.tar.xz");
    assert!(curl.get("homepage").is_none());
    assert_eq!(packages[1]["licenseDeclared"], "Zlib");
    assert_eq!(packages[3]["checksums"][0]["checksumValue"], "aaaa");
    let relations: Vec<(String, String, String)> = doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["spdxElementId"].as_str().unwrap().to_string(),
                r["relationshipType"].as_str().unwrap().to_string(),
                r["relatedSpdxElement"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let rel = |a: &str, t: &str, b: &str| (a.to_string(), t.to_string(), b.to_string());
    for want in [
        rel("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Sysroot"),
        rel("SPDXRef-Sysroot", "CONTAINS", "SPDXRef-Package-zlib"),
        rel("SPDXRef-Package-curl", "DEPENDS_ON", "SPDXRef-Package-zlib"),
        rel("SPDXRef-Toolchain-zig", "BUILD_TOOL_OF", "SPDXRef-Sysroot"),
    ] {
        assert!(relations.contains(&want), "{want:?} in {relations:?}");
    }
    assert_eq!(relations.len(), 5, "{relations:?}");
    assert_eq!(spdx_id("Package", "c_ares+x"), "SPDXRef-Package-c-ares-x");
}

#[test]
fn the_same_sysroot_gets_the_same_identity() {
    let a = document(&manifest(), SbomFormat::Spdx, "t");
    let b = document(&manifest(), SbomFormat::Spdx, "t");
    assert_eq!(a, b);
    let mut other = manifest();
    other.key = "fedcba9876543210".into();
    let c = document(&other, SbomFormat::Spdx, "t");
    assert_ne!(a["documentNamespace"], c["documentNamespace"]);
    assert_eq!("spdx".parse::<SbomFormat>().unwrap(), SbomFormat::Spdx);
    assert!("swid".parse::<SbomFormat>().is_err());
}
