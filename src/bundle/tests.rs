use super::*;

fn manifest(files: Vec<BundledFile>) -> BundleManifest {
    BundleManifest {
        format: BUNDLE_FORMAT,
        crossroot_version: "0".into(),
        toolchain: ToolchainId {
            name: "zig".into(),
            version: "0.15.2".into(),
            sha256: "ab".repeat(32),
            flags: Vec::new(),
        },
        sysroots: vec![BundledSysroot {
            target: "aarch64-linux-musl".into(),
            key: "cd".repeat(32),
        }],
        packages: vec!["ef".repeat(32)],
        files,
    }
}

fn file(path: &str) -> BundledFile {
    BundledFile::File {
        path: path.into(),
        sha256: "00".repeat(32),
        size: 0,
        executable: false,
    }
}

fn link(path: &str, target: &str) -> BundledFile {
    BundledFile::Symlink {
        path: path.into(),
        target: target.into(),
    }
}

#[test]
fn paths_must_stay_inside_a_listed_entry() {
    let pkg = format!("packages-v1/{}", "ef".repeat(32));
    let sys = format!("sysroots-v1/aarch64-linux-musl/{}", "cd".repeat(8));
    assert!(
        check_manifest(&manifest(vec![
            file(&format!("{pkg}/lib/libz.a")),
            file(&format!("{sys}/lib/libz.a")),
            link(&format!("{sys}/lib/libz.so"), "libz.a"),
            link(&format!("{sys}/lib64"), "lib"),
            link(&format!("{sys}/lib/pkgconfig/x.pc"), "../../include/x.pc"),
        ]))
        .is_ok()
    );
    for (bad, why) in [
        (file(&format!("{pkg}/../x")), "leaves the bundle"),
        (file("/etc/passwd"), "leaves the bundle"),
        (file(&format!("{pkg}//x")), "leaves the bundle"),
        (file(&format!("{pkg}/./x")), "leaves the bundle"),
        (
            file(&format!("packages-v1/{}/x", "aa".repeat(32))),
            "not inside an entry",
        ),
        (
            file("sysroots-v1/aarch64-linux-musl/x"),
            "not inside an entry",
        ),
        (file(&pkg), "not inside an entry"),
        (file(&format!("{pkg}/{MARKER}")), "completion marker"),
        (
            link(&format!("{sys}/lib/x"), "../../../y"),
            "outside its entry",
        ),
        (link(&format!("{sys}/x"), "/etc"), "outside its entry"),
    ] {
        let err = check_manifest(&manifest(vec![bad.clone()])).unwrap_err();
        assert!(err.contains(why), "{bad:?}: {err}");
    }
    let err = check_manifest(&manifest(vec![
        link(&format!("{sys}/lib/up"), "."),
        file(&format!("{sys}/lib/up/libz.a")),
    ]))
    .unwrap_err();
    assert!(err.contains("goes through the link"), "{err}");
    let twice = file(&format!("{pkg}/a"));
    let err = check_manifest(&manifest(vec![twice.clone(), twice])).unwrap_err();
    assert!(err.contains("listed twice"), "{err}");
}

#[test]
fn entries_must_name_known_targets_and_keys() {
    let mut m = manifest(vec![]);
    m.sysroots[0].target = "linux/arm64".into();
    assert!(check_manifest(&m).unwrap_err().contains("unknown target"));
    let mut m = manifest(vec![]);
    m.packages[0] = "../x".into();
    assert!(check_manifest(&m).unwrap_err().contains("is not a key"));
}

#[test]
fn a_bundle_of_another_format_is_refused_before_unpacking() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("b.tar.zst");
    let mut m = serde_json::to_value(manifest(vec![])).unwrap();
    m["format"] = 99.into();
    let text = serde_json::to_vec(&m).unwrap();
    let f = File::create(&path).unwrap();
    let mut zst = zstd::Encoder::new(f, 1).unwrap();
    {
        let mut tar = tar::Builder::new(&mut zst);
        let mut h = header(tar::EntryType::Regular, 0o644, text.len() as u64, MTIME);
        tar.append_data(&mut h, BUNDLE_MANIFEST, text.as_slice())
            .unwrap();
        tar.finish().unwrap();
    }
    zst.finish().unwrap();
    let err = read_manifest(&path).unwrap_err().to_string();
    assert!(err.contains("bundle format 99"), "{err}");
    std::fs::write(&path, b"plain text").unwrap();
    let err = read_manifest(&path).unwrap_err().to_string();
    assert!(err.contains("is not a crossroot bundle"), "{err}");
}

#[test]
fn a_link_through_an_earlier_link_is_refused_from_the_manifest() {
    // `sub/s -> ..` is the entry itself; `sub/s/sub/s/../../..` is lexically inside the entry
    // and physically above it.
    let sys = format!("sysroots-v1/aarch64-linux-musl/{}", "cd".repeat(8));
    let err = check_manifest(&manifest(vec![
        link(&format!("{sys}/sub/s"), ".."),
        link(&format!("{sys}/bin"), "sub/s/sub/s/../../../outside"),
    ]))
    .unwrap_err();
    assert!(err.contains("`..` after a name"), "{err}");
    let err = check_manifest(&manifest(vec![
        file(&format!("{sys}/a")),
        BundledFile::File {
            path: format!("{sys}/b"),
            sha256: "00".repeat(32),
            size: 7,
            executable: false,
        },
    ]))
    .unwrap_err();
    assert!(err.contains("another file with that sha256"), "{err}");
}

// ---- properties (proptest: 256 cases each by default; PROPTEST_CASES=N for a long run) ----

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn hex_key() -> impl Strategy<Value = String> {
        prop_oneof![4 => "[0-9a-f]{64}", 1 => "[0-9a-f]{16}", 1 => ".{0,20}"]
    }

    fn rel_path() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                4 => "[a-z]{1,6}",
                1 => Just("..".to_string()),
                1 => Just(".".to_string()),
                1 => Just(String::new()),
                1 => Just(MARKER.to_string()),
            ],
            1..5,
        )
        .prop_map(|p| p.join("/"))
    }

    /// Manifests shaped like real ones, with hostile values mixed in.
    fn manifest_strategy() -> impl Strategy<Value = BundleManifest> {
        (
            prop::collection::vec(hex_key(), 0..3),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "aarch64-linux-musl",
                        "x86_64-linux-musl",
                        "linux/arm64",
                        "bogus",
                    ]),
                    hex_key(),
                ),
                0..3,
            ),
            prop::collection::vec(
                (
                    0usize..4,
                    rel_path(),
                    prop_oneof![
                        (any::<u64>(), any::<bool>(), "[0-9a-f]{64}")
                            .prop_map(|(size, x, sha)| (Some((size, x, sha)), String::new())),
                        prop_oneof![rel_path(), "/[a-z]{1,5}", "(\\.\\./){1,4}[a-z]{0,3}"]
                            .prop_map(|t| (None, t)),
                    ],
                ),
                0..8,
            ),
            prop_oneof!["[0-9a-f]{64}", ".{0,16}"],
        )
            .prop_map(|(packages, sysroots, files, zig_sha)| {
                let sysroots: Vec<BundledSysroot> = sysroots
                    .into_iter()
                    .map(|(t, key)| BundledSysroot {
                        target: t.to_string(),
                        key,
                    })
                    .collect();
                let roots: Vec<String> = packages
                    .iter()
                    .map(|k| format!("packages-v1/{k}"))
                    .chain(sysroots.iter().map(|s| {
                        let k: String = s.key.chars().take(16).collect();
                        format!("sysroots-v1/{}/{k}", s.target)
                    }))
                    .chain(std::iter::once("elsewhere".to_string()))
                    .collect();
                let files = files
                    .into_iter()
                    .map(|(root, path, kind)| {
                        let path = format!("{}/{path}", roots[root % roots.len()]);
                        match kind {
                            (Some((size, executable, sha256)), _) => BundledFile::File {
                                path,
                                sha256,
                                size,
                                executable,
                            },
                            (None, target) => BundledFile::Symlink { path, target },
                        }
                    })
                    .collect();
                BundleManifest {
                    format: BUNDLE_FORMAT,
                    crossroot_version: "0".into(),
                    toolchain: ToolchainId {
                        name: "zig".into(),
                        version: "0.16.0".into(),
                        sha256: zig_sha,
                        flags: Vec::new(),
                    },
                    sysroots,
                    packages,
                    files,
                }
            })
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            ".{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        prop::sample::select(vec![
                            "format",
                            "crossroot_version",
                            "toolchain",
                            "sysroots",
                            "packages",
                            "files",
                            "kind",
                            "path",
                            "sha256",
                            "size",
                            "target",
                            "key",
                            "executable",
                        ])
                        .prop_map(str::to_string),
                        ".{0,6}",
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// What a crossroot reads from a bundle's first entry: a manifest, or an error; never a
    /// panic, and an accepted one is the same after writing it again.
    fn parses_or_refuses(bytes: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(m) = parse_manifest(bytes) {
            let _ = check_manifest(&m);
            let _ = m.bytes();
            let _ = short_id(&m.toolchain);
            let again = parse_manifest(&serde_json::to_vec(&m).unwrap()).ok();
            prop_assert_eq!(again, Some(m));
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            parses_or_refuses(&bytes)?;
        }

        #[test]
        fn arbitrary_json_never_panics(value in json_value()) {
            parses_or_refuses(&serde_json::to_vec(&value).unwrap())?;
        }

        #[test]
        fn manifest_shaped_json_never_panics_and_round_trips(m in manifest_strategy(), drop in 0usize..8) {
            // Whole, and with one top-level field dropped.
            let mut value = serde_json::to_value(&m).unwrap();
            parses_or_refuses(&serde_json::to_vec(&value).unwrap())?;
            prop_assert_eq!(parse_manifest(&serde_json::to_vec(&value).unwrap()).ok(), Some(m.clone()));
            let keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
            if let Some(k) = keys.get(drop) {
                value.as_object_mut().unwrap().remove(k);
                parses_or_refuses(&serde_json::to_vec(&value).unwrap())?;
            }
        }

        /// A manifest written as a bundle's first entry reads back the same; the rest of the
        /// stream is left for the unpacker.
        #[test]
        fn accepted_manifests_round_trip_through_a_bundle(m in manifest_strategy()) {
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().join("b.tar.zst");
            let text = serde_json::to_vec_pretty(&m).unwrap();
            let f = File::create(&path).unwrap();
            let mut zst = zstd::Encoder::new(f, 1).unwrap();
            {
                let mut tar = tar::Builder::new(&mut zst);
                let mut h = header(tar::EntryType::Regular, 0o644, text.len() as u64, MTIME);
                tar.append_data(&mut h, BUNDLE_MANIFEST, text.as_slice()).unwrap();
                let mut h = header(tar::EntryType::Regular, 0o644, 3, MTIME);
                tar.append_data(&mut h, "next", &b"abc"[..]).unwrap();
                tar.finish().unwrap();
            }
            zst.finish().unwrap();
            let mut stream = open(&path).unwrap();
            let read = read_manifest_entry(&path, &mut stream).unwrap();
            prop_assert_eq!(&read, &m);
            let mut rest = tar::Archive::new(stream);
            let names: Vec<String> = rest
                .entries()
                .unwrap()
                .map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned())
                .collect();
            prop_assert_eq!(names, vec!["next".to_string()]);
            let _ = check_manifest(&read);
        }
    }
}
