//! `cache export` / `cache import` and `build --prefix`, with a tiny recipe built by the real
//! builder: a bundle made in one home works in another home at another path (env, the
//! pkg-config wrapper, the cc wrapper, a warm `build`); a changed bundle installs nothing.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{
    BundleEntry as Entry, demo, installed_zig, read_bundle as read_entries, stderr, stdout, walk,
    write_bundle as write_entries,
};

fn json(out: &std::process::Output) -> serde_json::Map<String, serde_json::Value> {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn an_exported_bundle_works_in_another_home_at_another_path() {
    let d = demo();
    let home_a = d.tmp.path().join("machine-a/home");
    let out = d.run(
        &home_a,
        &[
            "build",
            "--target",
            "x86_64-linux-musl",
            "--target",
            "linux/arm64",
            "demo",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(d.server.requests(), 1);
    let key_a = stdout(&d.run(
        &home_a,
        &["cache", "key", "--profile", d.profile.to_str().unwrap()],
    ));

    let bundle = d.tmp.path().join("sysroots.tar.zst");
    let out = d.run(&home_a, &["cache", "export", bundle.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(
        said.contains("2 sysroots (aarch64-linux-musl, x86_64-linux-musl), 2 packages"),
        "{said}"
    );

    // A selection by packages picks sysroots by key; one not built is an error.
    let one = d.tmp.path().join("one.tar.zst");
    let out = d.run(
        &home_a,
        &[
            "cache",
            "export",
            one.to_str().unwrap(),
            "--target",
            "linux/arm64",
            "demo",
        ],
    );
    assert!(
        stdout(&out).contains("1 sysroot (aarch64-linux-musl), 1 package"),
        "{}",
        stdout(&out)
    );
    let out = d.run(
        &home_a,
        &[
            "cache",
            "export",
            one.to_str().unwrap(),
            "--profile",
            d.profile.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no sysroot is built for riscv64-linux-musl"),
        "{}",
        stderr(&out)
    );

    // Another machine: the first home is gone, the new one is somewhere else.
    let moved = d.tmp.path().join("moved.tar.zst");
    std::fs::rename(&bundle, &moved).unwrap();
    std::fs::remove_dir_all(d.tmp.path().join("machine-a")).unwrap();
    let home_b = d.tmp.path().join("machine-b/other/place/home");
    let started = Instant::now();
    let out = d.run(&home_b, &["cache", "import", moved.to_str().unwrap()]);
    let took = started.elapsed();
    eprintln!(
        "MEASURE import of {} bytes: {took:?}",
        std::fs::metadata(&moved).unwrap().len()
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("imported 2 sysroots (0 already here) and 2 packages"),
        "{}",
        stdout(&out)
    );

    for (platform, triple) in [
        ("linux/arm64", "aarch64-linux-musl"),
        ("linux/amd64", "x86_64-linux-musl"),
    ] {
        let vars = json(&d.run(&home_b, &["env", "--target", platform, "--format", "json"]));
        let sysroot = PathBuf::from(vars["CROSSROOT_SYSROOT"].as_str().unwrap());
        assert!(sysroot.starts_with(&home_b), "{}", sysroot.display());
        assert!(sysroot.join("lib/libdemo.a").is_file());
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(sysroot.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["target"], triple);
        assert_eq!(
            Path::new(manifest["toolchain_exe"].as_str().unwrap()),
            std::fs::canonicalize(installed_zig()).unwrap()
        );
        // No file of the sysroot names the first home.
        for f in walk(&sysroot) {
            let text = std::fs::read(&f).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&text).contains("machine-a"),
                "{} names the exporting home",
                f.display()
            );
        }
        let cc_text = std::fs::read_to_string(vars["CC"].as_str().unwrap()).unwrap();
        assert!(
            cc_text.contains(&home_b.join("toolchains-v1/zig-cache").display().to_string()),
            "{cc_text}"
        );

        let out = std::process::Command::new(vars["PKG_CONFIG"].as_str().unwrap())
            .args(["--libs", "--cflags", "demo"])
            .output()
            .unwrap();
        let flags = stdout(&out);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            flags.contains(&format!("-L{}/lib", sysroot.display())),
            "{flags}"
        );

        let work = tempfile::tempdir().unwrap();
        let c = work.path().join("t.c");
        std::fs::write(&c, "#include <demo.h>\nint f(void) { return demo(); }\n").unwrap();
        let out = std::process::Command::new(vars["CC"].as_str().unwrap())
            .args(flags.split_whitespace())
            .arg("-c")
            .arg(&c)
            .arg("-o")
            .arg(work.path().join("t.o"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(work.path().join("t.o").is_file());
    }

    // The import is a cache hit: building the same thing fetches and builds nothing.
    let out = d.run(
        &home_b,
        &[
            "build",
            "--target",
            "x86_64-linux-musl",
            "--target",
            "linux/arm64",
            "demo",
        ],
    );
    assert!(out.status.success());
    assert!(!stderr(&out).contains("building"), "{}", stderr(&out));
    assert_eq!(d.server.requests(), 1);
    // Same inputs, same CI key on both machines (profile targets are not built: key only).
    let key_b = stdout(&d.run(
        &home_b,
        &["cache", "key", "--profile", d.profile.to_str().unwrap()],
    ));
    assert_eq!(key_a, key_b);

    // Importing again keeps what is there.
    let out = d.run(&home_b, &["cache", "import", moved.to_str().unwrap()]);
    assert!(
        stdout(&out).contains("(2 already here)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_changed_bundle_is_refused_and_nothing_is_installed() {
    let d = demo();
    let home_a = d.tmp.path().join("a");
    assert!(
        d.run(&home_a, &["build", "--target", "linux/riscv64", "demo"])
            .status
            .success()
    );
    let good = d.tmp.path().join("good.tar.zst");
    assert!(
        d.run(
            &home_a,
            &[
                "cache",
                "export",
                good.to_str().unwrap(),
                "--target",
                "linux/riscv64"
            ]
        )
        .status
        .success()
    );
    let entries = read_entries(&good);
    let manifest: serde_json::Value = serde_json::from_slice(&entries[0].data).unwrap();
    let lib = entries
        .iter()
        .position(|e| e.path.starts_with("packages-v1/") && e.path.ends_with("lib/libdemo.a"))
        .expect("the package's library is a regular entry");
    let pkg_key = manifest["packages"][0].as_str().unwrap().to_string();

    let mut cases: Vec<(&str, Vec<Entry>, &str)> = Vec::new();
    let mut flipped = entries.clone();
    let mid = flipped[lib].data.len() / 2;
    flipped[lib].data[mid] ^= 0x01;
    cases.push(("a flipped byte", flipped, "lib/libdemo.a` has sha256"));

    let mut added = entries.clone();
    added.push(Entry {
        path: format!("packages-v1/{pkg_key}/lib/extra.a"),
        data: b"extra".to_vec(),
        ..entries[lib].clone()
    });
    cases.push(("an added file", added, "is not in the manifest"));

    let mut dotdot = entries.clone();
    dotdot.insert(
        1,
        Entry {
            path: format!("packages-v1/{}/../../../escaped.txt", &pkg_key[..8]),
            data: b"escaped".to_vec(),
            ..entries[lib].clone()
        },
    );
    cases.push(("a path with ..", dotdot, "leaves the bundle"));

    let mut removed = entries.clone();
    removed.retain(|e| !e.path.ends_with("bin/riscv64-linux-musl-cc"));
    assert_eq!(removed.len(), entries.len() - 1);
    cases.push((
        "a removed file",
        removed,
        "is in the manifest but not in the archive",
    ));

    // A manifest edited to list a path outside the entries.
    let mut bad_manifest = entries.clone();
    let mut m = manifest.clone();
    m["files"][0]["path"] = serde_json::Value::String("packages-v1/../../outside".into());
    bad_manifest[0].data = serde_json::to_vec(&m).unwrap();
    cases.push(("a manifest path with ..", bad_manifest, "leaves the bundle"));

    for (what, entries, want) in cases {
        let bad = d.tmp.path().join("bad.tar.zst");
        write_entries(&bad, &entries);
        let home_b = d.tmp.path().join("b");
        let out = d.run(&home_b, &["cache", "import", bad.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("is damaged or was changed"), "{what}: {err}");
        assert!(err.contains(want), "{what}: missing `{want}` in {err}");
        assert!(err.contains("nothing was installed"), "{what}: {err}");
        let left: Vec<_> = walk(&home_b)
            .into_iter()
            .filter(|p| {
                let s = p.to_string_lossy();
                s.contains("packages-v1/") || s.contains("sysroots-v1/") || s.contains(".tmp-")
            })
            .filter(|p| !p.to_string_lossy().ends_with(".lock"))
            .collect();
        assert!(left.is_empty(), "{what}: {left:?}");
        assert!(
            walk(d.tmp.path())
                .iter()
                .all(|p| !p.ends_with("escaped.txt")),
            "{what}"
        );
        std::fs::remove_dir_all(&home_b).unwrap();
    }

    // The untouched bundle, rewritten by the same code, still imports: the checks above
    // failed for the change, not for the rewriting.
    let same = d.tmp.path().join("same.tar.zst");
    write_entries(&same, &entries);
    let out = d.run(
        &d.tmp.path().join("c"),
        &["cache", "import", same.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn another_zig_is_refused_unless_asked() {
    let d = demo();
    let home_a = d.tmp.path().join("a");
    assert!(
        d.run(&home_a, &["build", "--target", "linux/arm64", "demo"])
            .status
            .success()
    );
    let bundle = d.tmp.path().join("b.tar.zst");
    assert!(
        d.run(&home_a, &["cache", "export", bundle.to_str().unwrap()])
            .status
            .success()
    );

    // Same version, other bytes: another zig for the keys.
    let zig = installed_zig();
    let version = String::from_utf8_lossy(
        &std::process::Command::new(&zig)
            .arg("version")
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_string();
    let fake = d.tmp.path().join("zig");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\n# another build\nexec '{}' \"$@\"\n",
            zig.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    let home_b = d.tmp.path().join("b");
    let import = |extra: &[&str]| {
        let mut c = d.cmd(&home_b);
        c.env("ZIG", &fake)
            .args(["cache", "import", bundle.to_str().unwrap()])
            .args(extra);
        let out = c.output().unwrap();
        common::show(&["cache", "import", "(ZIG=fake)"], &out);
        out
    };
    let out = import(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("was built with zig {version}")),
        "{err}"
    );
    assert!(err.contains("--any-zig"), "{err}");
    assert!(!home_b.join("sysroots-v1/aarch64-linux-musl").exists());

    let out = import(&["--any-zig"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("importing anyway"),
        "{}",
        stderr(&out)
    );
    let cc = home_b.join("sysroots-v1/aarch64-linux-musl/current/bin/aarch64-linux-musl-cc");
    assert!(
        std::fs::read_to_string(cc)
            .unwrap()
            .contains(&fake.display().to_string())
    );
}

#[test]
fn build_prefix_copies_usable_sysroots_to_a_fixed_path() {
    let d = demo();
    let home = d.tmp.path().join("home");
    let prefix = d.tmp.path().join("opt/crossroot");
    let out = d.run(
        &home,
        &[
            "build",
            "--platform",
            "linux/arm64",
            "--platform",
            "linux/riscv64",
            "--prefix",
            prefix.to_str().unwrap(),
            "demo",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    for triple in ["aarch64-linux-musl", "riscv64-linux-musl"] {
        let root = prefix.join(triple);
        assert!(root.join("lib/libdemo.a").is_file());
        assert!(root.join("manifest.json").is_file());
        assert!(root.join(".crossroot-prefix").is_file());
        // A copy, not links into the home that a `COPY --from=` would not follow.
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            std::fs::metadata(root.join("lib/libdemo.a"))
                .unwrap()
                .nlink(),
            1
        );
        let out = std::process::Command::new(root.join(format!("bin/{triple}-pkg-config")))
            .args(["--libs", "demo"])
            .output()
            .unwrap();
        let flags = stdout(&out);
        assert!(
            flags.contains(&format!("-L{}/lib", root.display())),
            "{flags}"
        );
        let work = tempfile::tempdir().unwrap();
        std::fs::write(
            work.path().join("t.c"),
            "#include <demo.h>\nint f(void) { return demo(); }\n",
        )
        .unwrap();
        let out = std::process::Command::new(root.join(format!("bin/{triple}-cc")))
            .arg(format!("-I{}/include", root.display()))
            .args(["-c", "t.c", "-o", "t.o"])
            .current_dir(work.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    // Again: nothing to copy.
    let out = d.run(
        &home,
        &[
            "build",
            "--platform",
            "linux/arm64",
            "--platform",
            "linux/riscv64",
            "--prefix",
            prefix.to_str().unwrap(),
            "demo",
        ],
    );
    assert!(stderr(&out).contains("already at"), "{}", stderr(&out));

    // One target: the prefix is the sysroot itself.
    let one = d.tmp.path().join("opt/aarch64-linux-musl");
    let out = d.run(
        &home,
        &[
            "build",
            "--target",
            "linux/arm64",
            "--prefix",
            one.to_str().unwrap(),
            "demo",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(one.join("lib/libdemo.a").is_file());

    // A directory that is not a sysroot is never replaced.
    let taken = d.tmp.path().join("taken");
    std::fs::create_dir_all(&taken).unwrap();
    std::fs::write(taken.join("precious.txt"), "keep").unwrap();
    let out = d.run(
        &home,
        &[
            "build",
            "--target",
            "linux/arm64",
            "--prefix",
            taken.to_str().unwrap(),
            "demo",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("it is a directory that crossroot did not write"),
        "{}",
        stderr(&out)
    );
    assert!(taken.join("precious.txt").is_file());
}

/// `cache keygen`, `cache export --sign-key` and `cache import --trust`: a signed bundle
/// installs into another home; the same bundle changed after signing, without its signature,
/// or signed by a key not trusted installs nothing, and each refusal names what it expected.
/// Debian's `minisign` verifies the signature too.
#[test]
fn a_signed_bundle_imports_only_with_its_trusted_key() {
    let d = demo();
    let home_a = d.tmp.path().join("a");
    assert!(
        d.run(&home_a, &["build", "--target", "linux/riscv64", "demo"])
            .status
            .success()
    );
    let keys = d.tmp.path().join("keys");
    let other = d.tmp.path().join("other-keys");
    for dir in [&keys, &other] {
        let out = d.run(
            &home_a,
            &["cache", "keygen", "--out", dir.to_str().unwrap()],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).contains("crossroot.pub (key "),
            "{}",
            stdout(&out)
        );
    }
    // A second keygen into the same place keeps the first key.
    let before = std::fs::read(keys.join("crossroot.key")).unwrap();
    let out = d.run(
        &home_a,
        &["cache", "keygen", "--out", keys.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("never overwrites a key"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(keys.join("crossroot.key")).unwrap(), before);

    let bundle = d.tmp.path().join("signed.tar.zst");
    let sk = keys.join("crossroot.key");
    let out = d.run(
        &home_a,
        &[
            "cache",
            "export",
            bundle.to_str().unwrap(),
            "--sign-key",
            sk.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let sig = d.tmp.path().join("signed.tar.zst.minisig");
    assert!(stdout(&out).contains("signed with key"), "{}", stdout(&out));
    assert!(sig.is_file());
    let minisign = common::require_tool("minisign", "minisign");
    let out = std::process::Command::new(minisign)
        .args(["-V", "-m", bundle.to_str().unwrap(), "-p"])
        .arg(keys.join("crossroot.pub"))
        .output()
        .unwrap();
    assert!(out.status.success(), "minisign -V: {}", stderr(&out));

    let pk = keys.join("crossroot.pub");
    let other_pk = other.join("crossroot.pub");
    let import = |home: &Path, file: &Path, trust: &Path| {
        d.run(
            home,
            &[
                "cache",
                "import",
                file.to_str().unwrap(),
                "--trust",
                trust.to_str().unwrap(),
            ],
        )
    };
    let nothing_installed = |home: &Path| {
        !home.join("packages-v1").is_dir()
            || std::fs::read_dir(home.join("packages-v1"))
                .unwrap()
                .flatten()
                .all(|e| !e.file_type().unwrap().is_dir())
    };

    // Signed by a key not trusted: refused, naming both keys.
    let home_b = d.tmp.path().join("b");
    let out = import(&home_b, &bundle, &other_pk);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("not among the trusted keys"), "{err}");
    assert!(err.contains(&*other_pk.to_string_lossy()), "{err}");
    assert!(nothing_installed(&home_b), "{err}");

    // Changed after signing (one byte of the compressed stream): refused.
    let changed = d.tmp.path().join("changed.tar.zst");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&changed, bytes).unwrap();
    std::fs::copy(&sig, d.tmp.path().join("changed.tar.zst.minisig")).unwrap();
    let out = import(&home_b, &changed, &pk);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("does not match its bytes"),
        "{}",
        stderr(&out)
    );
    assert!(nothing_installed(&home_b));

    // No signature beside it: refused, saying where it was looked for.
    let unsigned = d.tmp.path().join("unsigned.tar.zst");
    std::fs::copy(&bundle, &unsigned).unwrap();
    let out = import(&home_b, &unsigned, &pk);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("has no signature") && err.contains("unsigned.tar.zst.minisig"),
        "{err}"
    );
    assert!(nothing_installed(&home_b));

    // Signed by the trusted key: installed, and env works from it.
    let out = import(&home_b, &bundle, &pk);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("signed by trusted key"),
        "{}",
        stderr(&out)
    );
    let out = d.run(&home_b, &["env", "--target", "linux/riscv64"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Without --trust the import still works, and says it checked no signature.
    let home_c = d.tmp.path().join("c");
    let out = d.run(&home_c, &["cache", "import", unsigned.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("without checking who made it"),
        "{}",
        stderr(&out)
    );
}
