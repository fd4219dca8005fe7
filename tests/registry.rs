//! The registry cache against a real registry (Debian's distribution 2.8, started here on
//! 127.0.0.1) and a third-party client (`skopeo`), with the tiny recipe built by the real
//! builder: `cache push`, `cache pull`, `build --cache [--push]`; signatures, tampering,
//! a registry that is away, TLS with a private CA and htpasswd logins through Docker's
//! `config.json`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::registry::{TestRegistry, skopeo};
use common::{demo, stderr, stdout};

fn keygen(d: &common::Demo, dir: &Path) -> (PathBuf, PathBuf) {
    let out = d.run(
        &d.tmp.path().join("keygen-home"),
        &["cache", "keygen", "--out", dir.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    (dir.join("crossroot.key"), dir.join("crossroot.pub"))
}

/// The complete package entries of a home (directories with their marker).
fn complete_packages(home: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(home.join("packages-v1")) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .flatten()
        .filter(|e| e.path().join(".crossroot-ok").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn tags(repo: &str) -> Vec<String> {
    let out = skopeo(&[
        "list-tags",
        "--tls-verify=false",
        &format!("docker://{repo}"),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_pushed_selection_pulls_into_another_home_and_skopeo_reads_and_copies_it() {
    let d = demo();
    let reg = TestRegistry::plain(&d.tmp.path().join("registry"));
    let repo = reg.repo("team/crossroot-cache");
    let (sk, pk) = keygen(&d, &d.tmp.path().join("keys"));
    let profile = d.profile.to_str().unwrap();
    let home_a = d.tmp.path().join("machine-a/home");
    assert!(
        d.run(&home_a, &["build", "--profile", profile])
            .status
            .success()
    );
    let push = || {
        d.run(
            &home_a,
            &[
                "cache",
                "push",
                &repo,
                "--profile",
                profile,
                "--sign-key",
                sk.to_str().unwrap(),
            ],
        )
    };

    let out = push();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("2 packages pushed"),
        "{}",
        stdout(&out)
    );
    let key = stdout(&d.run(&home_a, &["cache", "key", "--profile", profile]));
    assert!(
        stdout(&out).contains(&format!("index {repo}:{}", key.trim())),
        "{}",
        stdout(&out)
    );
    // Again: nothing is sent.
    let out = push();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("0 packages pushed (0.0 MB), 2 already there"),
        "{}",
        stdout(&out)
    );

    // skopeo reads what was pushed: an image for arm64 whose labels carry the record.
    let all = tags(&repo);
    let arm_tag = all
        .iter()
        .find(|t| t.starts_with("demo-1.0.0-"))
        .expect("a package tag");
    assert!(all.iter().any(|t| t == key.trim()), "{all:?}");
    assert!(all.iter().any(|t| t.starts_with("sha256-")), "{all:?}");
    let inspected: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{repo}:{arm_tag}"),
    ]))
    .unwrap();
    assert_eq!(inspected["Os"], "linux");
    assert!(
        ["arm64", "riscv64"].contains(&inspected["Architecture"].as_str().unwrap()),
        "{inspected}"
    );
    assert_eq!(inspected["Labels"]["dev.crossroot.package.name"], "demo");
    let raw: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{repo}:{arm_tag}"),
    ]))
    .unwrap();
    assert_eq!(raw["artifactType"], "application/vnd.crossroot.package.v1");
    assert_eq!(
        raw["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+zstd"
    );
    assert_eq!(
        raw["annotations"]["org.opencontainers.image.licenses"],
        "MIT"
    );

    // Another machine, another path: pulled, checked, sysroots assembled; no source fetched.
    let fetched = d.server.requests();
    let home_b = d.tmp.path().join("elsewhere/machine-b");
    let started = Instant::now();
    let out = d.run(
        &home_b,
        &[
            "cache",
            "pull",
            &repo,
            "--profile",
            profile,
            "--trust",
            pk.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    eprintln!("pull of 2 packages: {:?}", started.elapsed());
    assert!(
        stderr(&out).contains("pulled demo 1.0.0"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("signed by"), "{}", stderr(&out));
    assert_eq!(complete_packages(&home_b), complete_packages(&home_a));
    assert_eq!(d.server.requests(), fetched);
    let out = d.run(
        &home_b,
        &[
            "exec",
            "--target",
            "linux/arm64",
            "demo",
            "--",
            "sh",
            "-c",
            "$PKG_CONFIG --libs demo",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("-ldemo"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(home_b.to_str().unwrap()),
        "{}",
        stdout(&out)
    );

    // A complete home contacts no registry: `build --cache` with the registry stopped is a
    // no-op without a warning.
    let mut reg = reg;
    reg.stop();
    let out = d.run(
        &home_b,
        &[
            "build",
            "--profile",
            profile,
            "--cache",
            &repo,
            "--trust",
            pk.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    reg.restart();

    // What skopeo copied to another repository (the package tags and their signature tags)
    // pulls from there.
    let mirror = reg.repo("mirror/cache");
    for t in all.iter().filter(|t| !t.starts_with("crossroot-v1-")) {
        skopeo(&[
            "copy",
            "--all",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            &format!("docker://{repo}:{t}"),
            &format!("docker://{mirror}:{t}"),
        ]);
    }
    // A profile's [cache] does the same for a plain `build` (keys relative to the profile).
    let conf = d.tmp.path().join("conf");
    std::fs::create_dir_all(conf.join("keys")).unwrap();
    std::fs::copy(&pk, conf.join("keys/team.pub")).unwrap();
    let with_cache = conf.join("crossroot.toml");
    std::fs::write(
        &with_cache,
        format!(
            "{}\n[cache]\nremote = \"{repo}\"\ntrusted-keys = [\"keys/team.pub\"]\n",
            std::fs::read_to_string(&d.profile).unwrap()
        ),
    )
    .unwrap();
    let home_d = d.tmp.path().join("machine-d");
    let out = d.run(
        &home_d,
        &["build", "--profile", with_cache.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).matches("pulled demo").count(),
        2,
        "{}",
        stderr(&out)
    );
    assert_eq!(d.server.requests(), fetched);

    let home_c = d.tmp.path().join("machine-c");
    let out = d.run(
        &home_c,
        &[
            "cache",
            "pull",
            &mirror,
            "--profile",
            profile,
            "--trust",
            pk.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(complete_packages(&home_c), complete_packages(&home_a));
}

#[test]
fn unsigned_wrongly_signed_and_changed_entries_install_nothing() {
    let d = demo();
    let reg = TestRegistry::plain(&d.tmp.path().join("registry"));
    let repo = reg.repo("crossroot/cache");
    let (sk, pk) = keygen(&d, &d.tmp.path().join("keys"));
    let (_, other_pk) = keygen(&d, &d.tmp.path().join("other"));
    let home_a = d.tmp.path().join("a");
    let sel = ["--target", "linux/arm64", "demo"];
    let mut args = vec!["build"];
    args.extend(sel);
    assert!(d.run(&home_a, &args).status.success());
    let mut args = vec!["cache", "push", repo.as_str()];
    args.extend(sel);
    args.extend(["--sign-key", sk.to_str().unwrap()]);
    assert!(d.run(&home_a, &args).status.success());
    let pull = |home: &Path, repo: &str, trust: &[&str]| {
        let mut args = vec!["cache", "pull", repo];
        args.extend(sel);
        args.extend(trust);
        d.run(home, &args)
    };

    // No --trust and no --trust-unsigned: the user must say.
    let h = d.tmp.path().join("h0");
    let out = pull(&h, &repo, &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--trust-unsigned"),
        "{}",
        stderr(&out)
    );

    // Signed by a key the user does not trust: both keys named.
    let h = d.tmp.path().join("h1");
    let out = pull(&h, &repo, &["--trust", other_pk.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("demo-1.0.0-"), "{err}");
    assert!(err.contains("sha256:"), "{err}");
    assert!(err.contains("is signed by key"), "{err}");
    assert!(err.contains("not among the trusted keys"), "{err}");
    assert!(err.contains(other_pk.to_str().unwrap()), "{err}");
    assert!(complete_packages(&h).is_empty());

    // Copied without its signature: unsigned, refused; accepted only with --trust-unsigned.
    let bare = reg.repo("bare/cache");
    for t in tags(&repo).iter().filter(|t| t.starts_with("demo-")) {
        skopeo(&[
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            &format!("docker://{repo}:{t}"),
            &format!("docker://{bare}:{t}"),
        ]);
    }
    let h = d.tmp.path().join("h2");
    let out = pull(&h, &bare, &["--trust", pk.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not signed by a trusted key"),
        "{}",
        stderr(&out)
    );
    assert!(complete_packages(&h).is_empty());
    let out = pull(&h, &bare, &["--trust-unsigned"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("not checked"), "{}", stderr(&out));
    assert_eq!(complete_packages(&h).len(), 1);

    // The layer's bytes changed in the registry's storage: refused before unpacking.
    let tag = tags(&repo)
        .into_iter()
        .find(|t| t.starts_with("demo-"))
        .unwrap();
    let raw: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{repo}:{tag}"),
    ]))
    .unwrap();
    let layer = reg.blob_file(raw["layers"][0]["digest"].as_str().unwrap());
    let mut bytes = std::fs::read(&layer).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&layer, &bytes).unwrap();
    let h = d.tmp.path().join("h3");
    let out = pull(&h, &repo, &["--trust", pk.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("other bytes than the signed manifest names"),
        "{err}"
    );
    assert!(complete_packages(&h).is_empty());
    // Nothing half-written stays behind in the store.
    let left: Vec<_> = std::fs::read_dir(h.join("packages-v1"))
        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.iter().all(|n| n.to_string_lossy().ends_with(".lock")),
        "{left:?}"
    );

    // `build --cache` with that entry: one warning naming it, then a local build.
    let h = d.tmp.path().join("h4");
    let out = d.run(
        &h,
        &[
            "build",
            "--target",
            "linux/arm64",
            "demo",
            "--cache",
            &repo,
            "--trust",
            pk.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("building demo 1.0.0"),
        "{}",
        stderr(&out)
    );
    assert_eq!(complete_packages(&h).len(), 1);
}

#[test]
fn a_registry_that_is_away_costs_one_warning_and_require_cache_makes_it_an_error() {
    let d = demo();
    let (_, pk) = keygen(&d, &d.tmp.path().join("keys"));
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let repo = format!("127.0.0.1:{dead}/crossroot/cache");
    let home = d.tmp.path().join("home");
    let base = [
        "build",
        "--profile",
        d.profile.to_str().unwrap(),
        "--cache",
        &repo,
        "--trust",
        pk.to_str().unwrap(),
    ];
    let mut strict = base.to_vec();
    strict.push("--require-cache");
    let out = d.run(&home, &strict);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!("registry 127.0.0.1:{dead} cannot be reached")),
        "{}",
        stderr(&out)
    );
    assert!(complete_packages(&home).is_empty());

    let out = d.run(&home, &base);
    assert!(out.status.success(), "{}", stderr(&out));
    let warnings = stderr(&out).matches("warning").count();
    assert_eq!(warnings, 1, "{}", stderr(&out));
    assert_eq!(complete_packages(&home).len(), 2);

    // --offline: no registry is tried (the build then needs its sources offline too), and
    // no warning about the registry; with --require-cache it is an error.
    let home2 = d.tmp.path().join("home2");
    let mut offline = vec!["--offline"];
    offline.extend(base);
    let out = d.run(&home2, &offline);
    assert!(
        stderr(&out).contains(&format!("--offline: not looking in {repo}")),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    offline.push("--require-cache");
    let out = d.run(&home2, &offline);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--offline contacts no registry"),
        "{}",
        stderr(&out)
    );

    // A bad reference is refused before anything is built.
    let out = d.run(
        &home,
        &[
            "build",
            "--profile",
            d.profile.to_str().unwrap(),
            "--cache",
            "cache:latest",
            "--trust",
            pk.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not a registry repository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn tls_and_htpasswd_with_docker_config_and_build_push_then_pull() {
    let d = demo();
    let reg = TestRegistry::tls_with_login(&d.tmp.path().join("registry"), "ci", "hunter2");
    let ca = reg.ca.clone().unwrap();
    let repo = reg.repo("org/cache");
    let (sk, pk) = keygen(&d, &d.tmp.path().join("keys"));
    let home = d.tmp.path().join("builder");
    let build_push = |home: &Path, docker: &Path, ca: Option<&Path>| {
        let mut c = d.cmd(home);
        c.env("DOCKER_CONFIG", docker).args([
            "build",
            "--profile",
            d.profile.to_str().unwrap(),
            "--cache",
            &repo,
            "--trust",
            pk.to_str().unwrap(),
            "--push",
            "--sign-key",
            sk.to_str().unwrap(),
            "--require-cache",
        ]);
        if let Some(ca) = ca {
            c.arg("--registry-ca").arg(ca);
        }
        let out = c.output().unwrap();
        common::show(&["build --push"], &out);
        out
    };
    let no_login = d.tmp.path().join("docker-empty");
    // Without the CA: the TLS failure is named.
    let out = build_push(&home, &no_login, None);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot be reached"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--registry-ca"), "{}", stderr(&out));
    // With the CA, without a login: not authorized, and how to log in.
    let out = build_push(&home, &no_login, Some(&ca));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not authorized"), "{}", stderr(&out));
    assert!(stderr(&out).contains("login"), "{}", stderr(&out));

    // config.json as `podman login` writes it.
    let docker = d.tmp.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode("ci:hunter2");
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#, reg.host()),
    )
    .unwrap();
    let out = build_push(&home, &docker, Some(&ca));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pushed 2 packages"),
        "{}",
        stderr(&out)
    );

    // Another machine builds nothing: everything comes from the registry.
    let fetched = d.server.requests();
    let other = d.tmp.path().join("other");
    let out = build_push(&other, &docker, Some(&ca));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).matches("pulled demo").count(),
        2,
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("building"), "{}", stderr(&out));
    assert_eq!(d.server.requests(), fetched);

    // A credential helper named by credHelpers gives the login (`docker-credential-<name> get`,
    // the host on stdin, JSON out), as desktop and cloud logins do.
    let bin = d.tmp.path().join("helper-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-crossroot-test");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread host\n[ \"$host\" = \"{}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\necho '{{\"ServerURL\":\"'$host'\",\"Username\":\"ci\",\"Secret\":\"hunter2\"}}'\n",
            reg.host()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let helped = d.tmp.path().join("docker-helper");
    std::fs::create_dir_all(&helped).unwrap();
    std::fs::write(
        helped.join("config.json"),
        format!(
            r#"{{"credHelpers": {{"{}": "crossroot-test"}}}}"#,
            reg.host()
        ),
    )
    .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let via_helper = d.tmp.path().join("via-helper");
    let out = d
        .cmd(&via_helper)
        .env("DOCKER_CONFIG", &helped)
        .env("PATH", &path)
        .args([
            "cache",
            "pull",
            &repo,
            "--profile",
            d.profile.to_str().unwrap(),
            "--trust",
            pk.to_str().unwrap(),
            "--registry-ca",
        ])
        .arg(&ca)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(complete_packages(&via_helper).len(), 2);

    // Two machines pushing the same keys at once both succeed.
    let h1 = d.tmp.path().join("p1");
    let h2 = d.tmp.path().join("p2");
    for h in [&h1, &h2] {
        assert!(
            d.run(h, &["build", "--profile", d.profile.to_str().unwrap()])
                .status
                .success()
        );
    }
    let push = |h: &Path| {
        let mut c = d.cmd(h);
        c.env("DOCKER_CONFIG", &docker)
            .args([
                "cache",
                "push",
                &repo,
                "--profile",
                d.profile.to_str().unwrap(),
                "--sign-key",
                sk.to_str().unwrap(),
                "--registry-ca",
            ])
            .arg(&ca);
        c.spawn().unwrap()
    };
    let (a, b) = (push(&h1), push(&h2));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success());
    let last = d.tmp.path().join("last");
    let mut c = d.cmd(&last);
    c.env("DOCKER_CONFIG", &docker)
        .args([
            "cache",
            "pull",
            &repo,
            "--profile",
            d.profile.to_str().unwrap(),
            "--trust",
            pk.to_str().unwrap(),
            "--registry-ca",
        ])
        .arg(&ca);
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(complete_packages(&last).len(), 2);
}

/// Faults between crossroot and the registry (a proxy in front of it): an upload whose
/// connection drops (the registry died mid-push), a download cut short (mid-pull), and rate
/// limiting with 429. Each run after a fault finds the registry and the home consistent.
#[test]
fn cut_transfers_and_rate_limits_leave_registry_and_home_consistent() {
    use common::registry::{Fault, FaultProxy};
    let d = demo();
    let reg = TestRegistry::plain(&d.tmp.path().join("registry"));
    let proxy = FaultProxy::start(reg.port);
    let repo = format!("127.0.0.1:{}/crossroot/cache", proxy.port);
    let (sk, pk) = keygen(&d, &d.tmp.path().join("keys"));
    let home_a = d.tmp.path().join("a");
    let sel = ["--target", "linux/arm64", "demo"];
    let mut build = vec!["build"];
    build.extend(sel);
    assert!(d.run(&home_a, &build).status.success());
    let mut push = vec!["cache", "push", repo.as_str()];
    push.extend(sel);
    push.extend(["--sign-key", sk.to_str().unwrap()]);

    // Every upload attempt dropped: the push fails and says what it could not send.
    proxy.set(Fault::DropUpload(100));
    let out = d.run(&home_a, &push);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("could not upload a blob to"),
        "{}",
        stderr(&out)
    );
    assert!(
        proxy.count("dropped") >= 4,
        "retried: {:?}",
        proxy.seen.lock().unwrap()
    );
    // One dropped upload is retried within the same push.
    proxy.set(Fault::DropUpload(1));
    let out = d.run(&home_a, &push);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1 package pushed"),
        "{}",
        stdout(&out)
    );

    let mut pull = vec!["cache", "pull", repo.as_str()];
    pull.extend(sel);
    pull.extend(["--trust", pk.to_str().unwrap()]);
    // The layer download cut short: nothing installed, no partial file left.
    let home_b = d.tmp.path().join("b");
    proxy.set(Fault::CutBlobGet { after: 100, n: 100 });
    let out = d.run(&home_b, &pull);
    assert!(!out.status.success());
    assert!(complete_packages(&home_b).is_empty());
    let left: Vec<_> = std::fs::read_dir(home_b.join("packages-v1"))
        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.iter().all(|n| n.to_string_lossy().ends_with(".lock")),
        "{left:?}"
    );
    // One cut download is fetched again within the same pull.
    let cut_before = proxy.seen.lock().unwrap().len();
    proxy.set(Fault::CutBlobGet { after: 100, n: 1 });
    let home_b1 = d.tmp.path().join("b1");
    let out = d.run(&home_b1, &pull);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(proxy.seen.lock().unwrap().len() > cut_before);
    // Again, unhindered: installed.
    proxy.set(Fault::None);
    let out = d.run(&home_b, &pull);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(complete_packages(&home_b), complete_packages(&home_a));

    // Rate limited: retried with backoff until the registry answers.
    let home_c = d.tmp.path().join("c");
    proxy.set(Fault::TooMany(3));
    let started = std::time::Instant::now();
    let out = d.run(&home_c, &pull);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(proxy.count("429"), 3);
    // The manifest request is answered 429 three times, retried after 0.5, 1 and 2 s.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(3400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(complete_packages(&home_c), complete_packages(&home_a));
}
