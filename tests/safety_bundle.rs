//! Hostile bundles and hostile mirrors, through the CLI: a bundle whose links lead out of its
//! home (through a link staged before them, or to a host path such as /etc), a bundle that
//! unpacks beyond its bounds, a `kill -9` during import, and a mirror that never stops sending.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{BundleEntry, Demo, demo, read_bundle, stderr, walk, write_bundle};
use sha2::{Digest, Sha256};

/// A demo sysroot (linux/arm64) exported from a home of its own, read back entry by entry.
struct Exported {
    d: Demo,
    entries: Vec<BundleEntry>,
    manifest: serde_json::Value,
    /// `sysroots-v1/aarch64-linux-musl/<key16>`.
    sysroot: String,
    /// `packages-v1/<key>`.
    package: String,
}

fn exported() -> Exported {
    let d = demo();
    let home = d.tmp.path().join("exporter");
    let out = d.run(&home, &["build", "--target", "linux/arm64", "demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let good = d.tmp.path().join("good.tar.zst");
    let out = d.run(&home, &["cache", "export", good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let entries = read_bundle(&good);
    let manifest: serde_json::Value = serde_json::from_slice(&entries[0].data).unwrap();
    let key = manifest["sysroots"][0]["key"].as_str().unwrap();
    let sysroot = format!("sysroots-v1/aarch64-linux-musl/{}", &key[..16]);
    let package = format!("packages-v1/{}", manifest["packages"][0].as_str().unwrap());
    Exported {
        d,
        entries,
        manifest,
        sysroot,
        package,
    }
}

fn header(kind: tar::EntryType, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_mtime(1_700_000_000);
    h
}

fn symlink(path: &str, target: &str) -> (serde_json::Value, BundleEntry) {
    (
        serde_json::json!({"kind": "symlink", "path": path, "target": target}),
        BundleEntry {
            header: header(tar::EntryType::Symlink, 0o777),
            path: path.to_string(),
            link: Some(target.to_string()),
            data: Vec::new(),
        },
    )
}

/// A regular file whose manifest entry says `size` and `sha256` (honest or not).
fn file(path: &str, data: Vec<u8>, size: u64, sha256: String) -> (serde_json::Value, BundleEntry) {
    (
        serde_json::json!({"kind": "file", "path": path, "sha256": sha256, "size": size, "executable": false}),
        BundleEntry {
            header: header(tar::EntryType::Regular, 0o644),
            path: path.to_string(),
            link: None,
            data,
        },
    )
}

fn honest_file(path: &str, data: Vec<u8>) -> (serde_json::Value, BundleEntry) {
    let sha = hex::encode(Sha256::digest(&data));
    let size = data.len() as u64;
    file(path, data, size, sha)
}

impl Exported {
    /// Writes a bundle: the exported one without the paths `drop` picks, with `add` appended
    /// (manifest and archive alike).
    fn variant(
        &self,
        name: &str,
        drop: impl Fn(&str) -> bool,
        add: Vec<(serde_json::Value, BundleEntry)>,
    ) -> PathBuf {
        let mut manifest = self.manifest.clone();
        let files = manifest["files"].as_array_mut().unwrap();
        files.retain(|f| !drop(f["path"].as_str().unwrap()));
        let mut entries: Vec<BundleEntry> = self
            .entries
            .iter()
            .filter(|e| !drop(&e.path))
            .cloned()
            .collect();
        for (m, e) in add {
            files.push(m);
            entries.push(e);
        }
        entries[0].data = serde_json::to_vec(&manifest).unwrap();
        let path = self.d.tmp.path().join(name);
        write_bundle(&path, &entries);
        path
    }

    fn import(&self, home: &Path, bundle: &Path, env: &[(&str, &str)]) -> Output {
        let mut c = self.d.cmd(home);
        c.args(["cache", "import", bundle.to_str().unwrap()]);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        common::show(&["cache", "import", bundle.to_str().unwrap()], &out);
        out
    }
}

/// Staging directories an import left in the home: the old `<home>/.import-*`, or the common
/// `.tmp-*` name in a bucket.
fn leftovers(home: &Path) -> Vec<PathBuf> {
    [
        home.to_path_buf(),
        home.join("packages-v1"),
        home.join("sysroots-v1"),
    ]
    .iter()
    .filter_map(|dir| std::fs::read_dir(dir).ok())
    .flat_map(|rd| rd.flatten().map(|e| e.path()))
    .filter(|p| {
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        n.starts_with(".import-") || n.starts_with(".tmp-")
    })
    .collect()
}

/// Nothing of a refused import is in the home: no package, no sysroot, no staging.
fn assert_nothing_installed(home: &Path, what: &str) {
    let left: Vec<_> = walk(home)
        .into_iter()
        .filter(|p| {
            let s = p.to_string_lossy();
            s.contains("packages-v1/") || s.contains("sysroots-v1/")
        })
        .filter(|p| !p.to_string_lossy().ends_with(".lock"))
        .collect();
    assert!(left.is_empty(), "{what}: {left:?}");
    assert!(leftovers(home).is_empty(), "{what}: {:?}", leftovers(home));
}

fn listing(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                String::from_utf8_lossy(&std::fs::read(e.path()).unwrap_or_default()).into_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_link_through_an_earlier_link_cannot_carry_the_import_out_of_the_home() {
    let x = exported();
    let s = &x.sysroot;
    // The wrappers' directory would lead to `<tmp>/outside`, where a file of the same name as
    // a wrapper waits.
    let outside = x.d.tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("aarch64-linux-musl-cc"), b"precious\n").unwrap();
    let before = listing(&outside);
    let in_bin = |p: &str| p.starts_with(&format!("{s}/bin/"));

    // `sub/s -> ..` is the entry itself; lexically `sub/s/..` stays in it, physically it is the
    // entry's parent: five of them climb from the staged entry to the home's parent.
    let escape = x.variant(
        "escape.tar.zst",
        in_bin,
        vec![
            symlink(&format!("{s}/sub/s"), ".."),
            symlink(
                &format!("{s}/bin"),
                "sub/s/sub/s/sub/s/../../../../../outside",
            ),
        ],
    );
    // A link that stays inside the sysroot: install must still not write through it.
    let inside = x.variant(
        "inside.tar.zst",
        in_bin,
        vec![symlink(&format!("{s}/bin"), "lib")],
    );
    for (bundle, want) in [(&escape, "bin"), (&inside, "bin")] {
        let home = x.d.tmp.path().join("b");
        let out = x.import(&home, bundle, &[]);
        let err = stderr(&out);
        assert_eq!(listing(&outside), before, "a file outside the home changed");
        assert_eq!(out.status.code(), Some(1), "{}: {err}", bundle.display());
        assert!(err.contains(want), "{err}");
        assert!(err.contains("nothing was installed"), "{err}");
        assert_nothing_installed(&home, &bundle.display().to_string());
        std::fs::remove_dir_all(&home).unwrap();
    }
}

#[test]
fn a_bundle_link_to_a_host_path_is_refused() {
    let x = exported();
    let s = &x.sysroot;
    // Forty `sub/s` steps down and eighty `..` up: lexically back at the entry, physically at
    // `/`, from any depth up to eighty.
    let to_etc = format!("{}{}etc", "sub/s/".repeat(40), "../".repeat(80));
    let cases = [
        (
            "via-link.tar.zst",
            vec![
                symlink(&format!("{s}/sub/s"), ".."),
                symlink(&format!("{s}/hostetc"), &to_etc),
            ],
        ),
        (
            "absolute.tar.zst",
            vec![symlink(&format!("{s}/hostetc"), "/etc")],
        ),
    ];
    for (name, add) in cases {
        let bundle = x.variant(name, |_| false, add);
        let home = x.d.tmp.path().join("b");
        let out = x.import(&home, &bundle, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains("hostetc"), "{name}: {err}");
        assert!(err.contains("nothing was installed"), "{name}: {err}");
        assert_nothing_installed(&home, name);
        std::fs::remove_dir_all(&home).unwrap();
    }
}

#[test]
fn a_bundle_that_would_unpack_beyond_its_bounds_is_refused_before_staging() {
    let x = exported();
    let zeros = format!("{}/share/zeros", x.package);
    let big = vec![0u8; 64 << 20];

    // Declared honestly, but more than the configured limit: refused from the manifest alone.
    let honest = x.variant(
        "honest.tar.zst",
        |_| false,
        vec![honest_file(&zeros, big.clone())],
    );
    assert!(std::fs::metadata(&honest).unwrap().len() < (1 << 20));
    let home = x.d.tmp.path().join("b");
    let out = x.import(&home, &honest, &[("CROSSROOT_MAX_DOWNLOAD", "16M")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("more than the limit of 16777216 bytes"),
        "{err}"
    );
    assert!(err.contains("CROSSROOT_MAX_DOWNLOAD"), "{err}");
    assert_nothing_installed(&home, "over the limit");
    std::fs::remove_dir_all(&home).unwrap();

    // A manifest that declares more than the disk holds.
    let huge = x.variant(
        "huge.tar.zst",
        |_| false,
        vec![file(&zeros, b"abc".to_vec(), 1 << 60, "00".repeat(32))],
    );
    let out = x.import(&home, &huge, &[("CROSSROOT_MAX_DOWNLOAD", "4194304T")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("bytes free"), "{err}");
    assert_nothing_installed(&home, "beyond the disk");
    std::fs::remove_dir_all(&home).unwrap();

    // Three bytes declared, 64 MiB in the archive: refused at the entry's header.
    let abc = hex::encode(Sha256::digest(b"abc"));
    let liar = x.variant("liar.tar.zst", |_| false, vec![file(&zeros, big, 3, abc)]);
    let out = x.import(&home, &liar, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("holds 67108864 bytes, the manifest declares 3"),
        "{err}"
    );
    assert_nothing_installed(&home, "bigger than declared");
}

#[test]
fn kill_9_during_import_leaves_staging_that_the_next_import_removes() {
    let x = exported();
    // Large enough that the unpacking takes a moment to catch.
    let big = x.variant(
        "big.tar.zst",
        |_| false,
        vec![honest_file(
            &format!("{}/share/big", x.package),
            vec![7u8; 256 << 20],
        )],
    );
    let good = x.d.tmp.path().join("good.tar.zst");
    let home = x.d.tmp.path().join("b");
    let mut child =
        x.d.cmd(&home)
            .args(["cache", "import", big.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while leftovers(&home).is_empty() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "no staging directory appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let left = leftovers(&home);
    assert_eq!(left.len(), 1, "{left:?}");

    let out = x.import(&home, &good, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(leftovers(&home).is_empty(), "{:?}", leftovers(&home));
    // Named like every other staging directory, so `cache list` counts it as a leftover.
    let name = left[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(".tmp-import-"), "{name}");
}

// ---- downloads -------------------------------------------------------------------------

/// The demo recipe (with `size = <its size>` when `pin`) and a mirror that sends its
/// tarball's bytes without end.
fn endless_mirror(pin: bool) -> (Demo, PathBuf, common::Server, u64) {
    let d = demo();
    let tarball = common::tarball("demo-1.0.0", &[("Makefile", common::MAKEFILE, 0o644)]);
    let text = std::fs::read_to_string(d.recipes.join("demo.toml")).unwrap();
    assert!(text.contains(&hex::encode(Sha256::digest(&tarball))));
    let len = tarball.len() as u64;
    let text = if pin {
        text.replacen("\nurls = ", &format!("\nsize = {len}\nurls = "), 1)
    } else {
        text
    };
    let recipes = d.tmp.path().join("endless-recipes");
    std::fs::create_dir(&recipes).unwrap();
    std::fs::write(recipes.join("demo.toml"), text).unwrap();
    let mut files = BTreeMap::new();
    files.insert("demo-1.0.0.tar.gz".to_string(), tarball);
    let server = common::serve_with_endless(files, &["demo-1.0.0.tar.gz"]);
    (d, recipes, server, len)
}

fn fetch(recipes: &Path, server: &common::Server, home: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = common::crossroot(recipes, &server.base, home);
    c.args(["fetch", "demo"]);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    common::show(&["fetch", "demo"], &out);
    out
}

/// What the download cache holds besides lock files.
fn cached(home: &Path) -> Vec<PathBuf> {
    walk(&home.join("downloads-v1"))
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with(".lock"))
        .collect()
}

#[test]
fn an_endless_body_is_cut_at_the_pinned_size_and_its_partial_deleted() {
    // The recipe pins the real size: the endless body passes it and is cut there.
    let (d, recipes, server, len) = endless_mirror(true);
    let home = d.tmp.path().join("h");
    let started = Instant::now();
    let out = fetch(&recipes, &server, &home, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("more than {len} bytes (the recipe pins {len})")),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(cached(&home).is_empty(), "{:?}", cached(&home));
}

#[test]
fn an_unpinned_download_stops_at_the_configured_cap() {
    let (d, recipes, server, _) = endless_mirror(false);
    let home = d.tmp.path().join("h");
    let out = fetch(
        &recipes,
        &server,
        &home,
        &[("CROSSROOT_MAX_DOWNLOAD", "1M")],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("more than 1048576 bytes"), "{err}");
    assert!(err.contains("CROSSROOT_MAX_DOWNLOAD"), "{err}");
    assert!(cached(&home).is_empty(), "{:?}", cached(&home));
}
