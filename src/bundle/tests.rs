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
        let mut h = header(tar::EntryType::Regular, 0o644, text.len() as u64);
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
