//! The CI examples in ci/: the steps of ci/steps.sh run for real with a tiny recipe from a
//! local mirror (build, --prefix, export to a keyed bundle, import in another home, a static
//! Go binary per target, verify, $GITHUB_ENV); the YAML parses, and the workflows and the
//! Dockerfile run nothing but those steps.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{demo, stderr, stdout};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn steps() -> PathBuf {
    repo().join("ci/steps.sh")
}

/// Runs `ci/steps.sh ARGS` with `env` on top of a clean crossroot environment.
fn step(env: &BTreeMap<&str, String>, args: &[&str]) -> Output {
    let mut c = Command::new("bash");
    c.arg(steps()).args(args).current_dir(repo());
    for k in [
        "CROSSROOT_SYSROOT",
        "CROSSROOT_PROFILE",
        "CROSSROOT_PREFIX",
        "GITHUB_ENV",
        "ZIG",
        "CROSSROOT_TRUST",
        "CROSSROOT_SIGN_KEY",
        "CROSSROOT_SIGN_KEY_SECRET",
        "CROSSROOT_CACHE",
        "CROSSROOT_REGISTRY_CA",
        "CROSSROOT_INSECURE_REGISTRY",
        "DOCKER_CONFIG",
    ] {
        c.env_remove(k);
    }
    c.envs(env);
    let out = c.output().unwrap();
    eprintln!(
        "$ ci/steps.sh {} -> {}\n{}{}",
        args.join(" "),
        out.status,
        stdout(&out),
        stderr(&out)
    );
    out
}

fn ok(out: &Output) {
    assert!(out.status.success(), "{}", stderr(out));
}

/// The steps' configuration for the demo's tiny recipe (standing in for the curl stack) from
/// its local mirror, for `targets` and the home `home`.
fn steps_env(d: &common::Demo, targets: &str, home: &Path) -> BTreeMap<&'static str, String> {
    let mut env: BTreeMap<&str, String> = BTreeMap::new();
    env.insert("CROSSROOT", env!("CARGO_BIN_EXE_crossroot").into());
    env.insert("CROSSROOT_RECIPES", d.recipes.display().to_string());
    env.insert("CROSSROOT_MIRRORS", d.server.base.clone());
    env.insert("CROSSROOT_DEBIAN_MIRRORS", "http://127.0.0.1:9/none".into());
    env.insert("CROSSROOT_PACKAGES", "demo".into());
    env.insert("CROSSROOT_TARGETS", targets.into());
    env.insert("CROSSROOT_HOME", home.display().to_string());
    env
}

const GO_MAIN: &str = "package main\n\nfunc main() { println(\"hello from crossroot ci\") }\n";

#[test]
fn the_steps_build_cache_import_and_make_static_go_binaries() {
    let d = demo();
    let tmp = d.tmp.path();
    let go_dir = tmp.join("app");
    std::fs::create_dir(&go_dir).unwrap();
    std::fs::write(go_dir.join("main.go"), GO_MAIN).unwrap();
    std::fs::write(go_dir.join("go.mod"), "module example.com/app\n\ngo 1.19\n").unwrap();
    let mut env = steps_env(&d, "linux/arm64 linux/riscv64", &tmp.join("runner-1/home"));
    env.insert("GO_DIR", go_dir.display().to_string());

    // The bundle is named by the cache key.
    let cache = tmp.join("cache");
    let key = stdout(&step(&env, &["key"])).trim().to_string();
    assert!(key.starts_with("crossroot-v1-"), "{key}");
    let bundle = stdout(&step(&env, &["keyed-bundle", cache.to_str().unwrap()]))
        .trim()
        .to_string();
    assert_eq!(bundle, format!("{}/{key}.tar.zst", cache.display()));

    // First run: nothing cached, build, copy to the prefix, save.
    let out = step(&env, &["restore", &bundle]);
    ok(&out);
    assert!(stdout(&out).contains("building from source"));
    let mut with_prefix = env.clone();
    let prefix = tmp.join("opt/crossroot");
    with_prefix.insert("CROSSROOT_PREFIX", prefix.display().to_string());
    ok(&step(&with_prefix, &["sysroots"]));
    assert!(prefix.join("aarch64-linux-musl/lib/libdemo.a").is_file());
    assert!(prefix.join("riscv64-linux-musl/lib/libdemo.a").is_file());
    std::fs::create_dir_all(&cache).unwrap();
    let stale = cache.join("crossroot-v1-0000.tar.zst");
    std::fs::write(&stale, "old").unwrap();
    ok(&step(&env, &["save", &bundle]));
    assert!(Path::new(&bundle).is_file());
    assert!(
        !stale.exists(),
        "a bundle of an older key stays in the cache"
    );
    assert_eq!(d.server.requests(), 1);

    // Second run, another runner (another home path): import, and `sysroots` builds nothing.
    let mut env2 = env.clone();
    env2.insert(
        "CROSSROOT_HOME",
        tmp.join("runner-2/work/home").display().to_string(),
    );
    let out = step(&env2, &["restore", &bundle]);
    ok(&out);
    assert!(
        stdout(&out).contains("imported 2 sysroots"),
        "{}",
        stdout(&out)
    );
    let out = step(&env2, &["sysroots"]);
    ok(&out);
    assert!(!stderr(&out).contains("building"), "{}", stderr(&out));
    assert_eq!(d.server.requests(), 1);

    // A static Go binary per target, verified.
    let dist = tmp.join("dist");
    for (platform, machine) in [("linux/arm64", "aarch64"), ("linux/riscv64", "riscv64")] {
        let out_file = dist.join(format!("app-{}", &platform[6..]));
        let out = step(&env2, &["go-build", platform, out_file.to_str().unwrap()]);
        ok(&out);
        assert!(out_file.is_file());
        let said = stdout(&out);
        assert!(
            said.contains("static") && said.to_lowercase().contains(machine),
            "{said}"
        );
    }
    // verify fails for the wrong target, and so does the step.
    let out = step(
        &env2,
        &[
            "verify",
            "linux/arm64",
            dist.join("app-riscv64").to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());

    // GitHub: the variables go to $GITHUB_ENV, and go-build uses them as they are (here the
    // home is gone, so loading them again would fail).
    let github_env = tmp.join("github_env");
    let mut gh = env2.clone();
    gh.insert("GITHUB_ENV", github_env.display().to_string());
    ok(&step(&gh, &["github-env", "linux/riscv64"]));
    let mut later = env2.clone();
    for line in std::fs::read_to_string(&github_env).unwrap().lines() {
        let (k, v) = line.split_once('=').expect("KEY=value lines");
        later.insert(Box::leak(k.to_string().into_boxed_str()), v.to_string());
    }
    assert_eq!(later["GOARCH"], "riscv64");
    later.insert("CROSSROOT_HOME", tmp.join("no-home").display().to_string());
    let out_file = dist.join("gh-riscv64");
    ok(&step(
        &later,
        &["go-build", "linux/riscv64", out_file.to_str().unwrap()],
    ));
    let mut no_gh = env2.clone();
    no_gh.remove("GITHUB_ENV");
    assert_eq!(
        step(&no_gh, &["github-env", "linux/riscv64"]).status.code(),
        Some(2)
    );

    // A damaged cached bundle does not fail the job: it warns and the build goes on.
    let damaged = tmp.join("damaged.tar.zst");
    std::fs::write(&damaged, b"not a bundle").unwrap();
    let mut env3 = env.clone();
    env3.insert(
        "CROSSROOT_HOME",
        tmp.join("runner-3/home").display().to_string(),
    );
    let out = step(&env3, &["restore", damaged.to_str().unwrap()]);
    ok(&out);
    assert!(
        stderr(&out).contains("could not import"),
        "{}",
        stderr(&out)
    );

    // `all`, as GitLab would run it, in a fresh home from the bundle.
    let out = step(&env3, &["all", &bundle, tmp.join("all").to_str().unwrap()]);
    ok(&out);
    assert!(tmp.join("all/app-linux-arm64").is_file());
    assert!(tmp.join("all/app-linux-riscv64").is_file());
    assert_eq!(d.server.requests(), 1);

    // An unknown step prints the usage and fails.
    let out = step(&env, &["deploy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Usage: ci/steps.sh STEP"));
}

#[test]
fn prerequisites_and_install_run_the_expected_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = tmp.path().join("log");
    for name in ["apt-get", "python3", "sudo"] {
        let p = bin.join(name);
        std::fs::write(
            &p,
            format!("#!/bin/sh\necho \"{name} $*\" >> '{}'\n", log.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut env = BTreeMap::new();
    env.insert(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    ok(&step(&env, &["prerequisites"]));
    let ran = std::fs::read_to_string(&log).unwrap();
    for want in [
        "apt-get update",
        "install -y -qq --no-install-recommends make cmake perl pkgconf python3-pip",
        "python3 -m pip install",
        "ziglang>=0.14.1,<0.18",
        "python3 -m ziglang version",
    ] {
        assert!(ran.contains(want), "missing `{want}` in:\n{ran}");
    }

    let mut env = BTreeMap::new();
    env.insert("CROSSROOT_BIN", env!("CARGO_BIN_EXE_crossroot").to_string());
    env.insert(
        "CROSSROOT_INSTALL_ROOT",
        tmp.path().join("root").display().to_string(),
    );
    let out = step(&env, &["install-crossroot"]);
    ok(&out);
    assert!(stdout(&out).starts_with("crossroot "), "{}", stdout(&out));
    assert!(tmp.path().join("root/bin/crossroot").is_file());
}

/// The steps the test above runs; the CI files may call only these (and `prerequisites`
/// and `install-crossroot`, checked with stand-ins above).
const TESTED_STEPS: &[&str] = &[
    "prerequisites",
    "install-crossroot",
    "key",
    "keyed-bundle",
    "restore",
    "login",
    "sysroots",
    "pull",
    "save",
    "github-env",
    "go-build",
    "verify",
    "all",
];

/// The step named by a shell line that calls ci/steps.sh, if it does.
fn called_step(line: &str) -> Option<String> {
    let at = line.find("ci/steps.sh ")?;
    Some(
        line[at + "ci/steps.sh ".len()..]
            .split(|c: char| c.is_whitespace() || c == ')')
            .next()?
            .to_string(),
    )
}

fn yaml(path: &Path) -> serde_json::Value {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} does not parse: {}",
        path.display(),
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_ci_files_parse_and_run_only_the_tested_steps() {
    // The script's own list of steps is the tested one.
    let script = std::fs::read_to_string(steps()).unwrap();
    let case = script
        .lines()
        .find(|l| l.starts_with("prerequisites |"))
        .unwrap();
    let listed: Vec<&str> = case
        .trim_end_matches(')')
        .split('|')
        .map(str::trim)
        .collect();
    assert_eq!(listed, TESTED_STEPS);

    let check = |file: &str, line: &str| {
        let step = called_step(line)
            .unwrap_or_else(|| panic!("{file}: `{line}` does not call ci/steps.sh"));
        assert!(
            TESTED_STEPS.contains(&step.as_str()),
            "{file}: `{line}` calls an untested step `{step}`"
        );
    };

    let gh = yaml(&repo().join("ci/github-actions.yml"));
    let mut runs = 0;
    for job in ["sysroots", "binaries"] {
        for s in gh["jobs"][job]["steps"].as_array().unwrap() {
            if let Some(run) = s["run"].as_str() {
                for line in run.lines().filter(|l| !l.trim().is_empty()) {
                    check("github-actions.yml", line);
                    runs += 1;
                }
            }
        }
    }
    assert!(runs >= 9, "{runs}");
    // One registry cache for every job: a matrix job per target pushes, the last pulls all.
    assert_eq!(
        gh["env"]["CROSSROOT_CACHE"],
        "ghcr.io/${{ github.repository_owner }}/crossroot-cache"
    );
    assert!(gh["env"]["CROSSROOT_TRUST"].is_string());
    assert_eq!(
        gh["jobs"]["sysroots"]["strategy"]["matrix"]["platform"],
        serde_json::json!(["linux/arm64", "linux/riscv64"])
    );
    assert_eq!(
        gh["jobs"]["sysroots"]["env"]["CROSSROOT_SIGN_KEY_SECRET"],
        "${{ secrets.CROSSROOT_SIGN_KEY }}"
    );
    assert_eq!(gh["jobs"]["binaries"]["needs"], "sysroots");
    assert_eq!(gh["permissions"]["packages"], "write");

    let gl = yaml(&repo().join("ci/gitlab-ci.yml"));
    let mut runs = 0;
    for job in ["crossroot", "sysroots", "static-binaries"] {
        for part in ["before_script", "script"] {
            for line in gl[job][part].as_array().into_iter().flatten() {
                check("gitlab-ci.yml", line.as_str().unwrap());
                runs += 1;
            }
        }
    }
    assert!(runs >= 9, "{runs}");
    let matrix = &gl["sysroots"]["parallel"]["matrix"][0]["CROSSROOT_TARGETS"];
    assert_eq!(matrix, &serde_json::json!(["linux/arm64", "linux/riscv64"]));
    assert_eq!(
        gl["variables"]["CROSSROOT_CACHE"],
        "$CI_REGISTRY_IMAGE/crossroot-cache"
    );

    // The Dockerfile: every RUN calls a tested step; the compile stage uses $TARGETPLATFORM and
    // the last stage is scratch with only the binary.
    let dockerfile = std::fs::read_to_string(repo().join("ci/Dockerfile")).unwrap();
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        current.push_str(line.trim_end_matches('\\'));
        if !line.ends_with('\\') {
            instructions.push(std::mem::take(&mut current));
        }
    }
    let run_lines: Vec<&String> = instructions
        .iter()
        .filter(|i| i.starts_with("RUN "))
        .collect();
    assert_eq!(run_lines.len(), 4, "{run_lines:?}");
    for r in &run_lines {
        let cmd = r.trim_start_matches("RUN ").trim();
        assert!(
            cmd.starts_with("ci/steps.sh ") || cmd.starts_with("/ci/steps.sh "),
            "`{r}` runs more than ci/steps.sh"
        );
        assert!(!cmd.contains("&&") && !cmd.contains(';'), "{r}");
        check("Dockerfile", cmd);
    }
    assert!(
        run_lines
            .iter()
            .any(|r| r.contains("go-build \"$TARGETPLATFORM\""))
    );
    assert!(
        instructions
            .iter()
            .any(|i| i.contains("CROSSROOT_PREFIX=/opt/crossroot/sysroot"))
    );
    assert!(
        instructions
            .iter()
            .any(|i| i.starts_with("FROM --platform=$BUILDPLATFORM"))
    );
    let last_from = instructions
        .iter()
        .rposition(|i| i.starts_with("FROM "))
        .unwrap();
    assert_eq!(instructions[last_from], "FROM scratch");
    let after: Vec<&String> = instructions[last_from + 1..].iter().collect();
    assert!(
        after.iter().all(|i| i.starts_with("COPY --from=compile /out/hello")
            || i.starts_with("ENTRYPOINT")),
        "{after:?}"
    );
}

/// The Dockerfile in the README is ci/Dockerfile without its comments.
#[test]
fn the_readme_shows_the_tested_dockerfile() {
    let strip = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
            .map(|l| l.trim_end().to_string())
            .collect()
    };
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = &readme[readme.find("## In a Dockerfile").expect("README section")..];
    let start = section.find("```dockerfile\n").unwrap() + "```dockerfile\n".len();
    let block = &section[start..start + section[start..].find("```").unwrap()];
    let file = std::fs::read_to_string(repo().join("ci/Dockerfile")).unwrap();
    assert_eq!(strip(block), strip(&file));
    assert!(readme.contains("## In CI"));
}

/// `cargo e2e` (the alias in `.cargo/config.toml`) runs every test file that Cargo.toml puts
/// behind the `e2e` feature, and `.ci/run` runs both the fast loop and it.
#[test]
fn the_e2e_alias_runs_every_end_to_end_test_file() {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo().join("Cargo.toml")).unwrap()).unwrap();
    let gated: Vec<String> = manifest["test"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t.get("required-features")
                .and_then(|f| f.as_array())
                .is_some_and(|f| f.iter().any(|x| x.as_str() == Some("e2e")))
        })
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert!(gated.contains(&"e2e".to_string()), "{gated:?}");
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo().join(".cargo/config.toml")).unwrap())
            .unwrap();
    let alias: Vec<&str> = config["alias"]["e2e"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(&alias[..3], ["test", "--features", "e2e"]);
    let mut listed: Vec<String> = alias
        .windows(2)
        .filter(|w| w[0] == "--test")
        .map(|w| w[1].to_string())
        .collect();
    listed.sort();
    let mut gated = gated;
    gated.sort();
    assert_eq!(
        listed, gated,
        "the `cargo e2e` alias and Cargo.toml disagree"
    );
    for file in &gated {
        assert!(repo().join(format!("tests/{file}.rs")).is_file(), "{file}");
    }
    let ci = std::fs::read_to_string(repo().join(".ci/run")).unwrap();
    let commands: Vec<&str> = ci.lines().filter(|l| l.starts_with("cargo ")).collect();
    assert_eq!(commands, ["cargo test", "cargo e2e"], "{ci}");
}

/// A signed CI cache through the steps: the saving job signs with `CROSSROOT_SIGN_KEY`, a
/// restoring job with `CROSSROOT_TRUST` of that key imports; one trusting another key refuses
/// the bundle and builds from source instead (the job does not fail); `save` under a new key
/// removes an older bundle's signature with it.
#[test]
fn a_signed_ci_cache_is_imported_only_by_jobs_that_trust_its_key() {
    let d = demo();
    let tmp = d.tmp.path();
    let env = steps_env(&d, "linux/riscv64", &tmp.join("job-1/home"));
    let keys = tmp.join("keys");
    let other = tmp.join("other");
    for dir in [&keys, &other] {
        let out = Command::new(env!("CARGO_BIN_EXE_crossroot"))
            .args(["cache", "keygen", "--out"])
            .arg(dir)
            .output()
            .unwrap();
        ok(&out);
    }
    let cache = tmp.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let stale = cache.join("crossroot-v1-0000.tar.zst");
    std::fs::write(&stale, "old").unwrap();
    std::fs::write(cache.join("crossroot-v1-0000.tar.zst.minisig"), "old").unwrap();
    let bundle = stdout(&step(&env, &["keyed-bundle", cache.to_str().unwrap()]))
        .trim()
        .to_string();
    ok(&step(&env, &["sysroots"]));
    let mut saving = env.clone();
    saving.insert(
        "CROSSROOT_SIGN_KEY",
        keys.join("crossroot.key").display().to_string(),
    );
    ok(&step(&saving, &["save", &bundle]));
    assert!(Path::new(&format!("{bundle}.minisig")).is_file());
    assert!(!stale.exists());
    assert!(!cache.join("crossroot-v1-0000.tar.zst.minisig").exists());

    // A job that trusts another key: refused, rebuilt, the job goes on.
    let mut distrusting = env.clone();
    distrusting.insert(
        "CROSSROOT_HOME",
        tmp.join("job-2/home").display().to_string(),
    );
    distrusting.insert(
        "CROSSROOT_TRUST",
        other.join("crossroot.pub").display().to_string(),
    );
    let out = step(&distrusting, &["restore", &bundle]);
    ok(&out);
    assert!(
        stderr(&out).contains("not among the trusted keys")
            && stderr(&out).contains("building from source"),
        "{}",
        stderr(&out)
    );
    assert!(
        !tmp.join("job-2/home/sysroots-v1/riscv64-linux-musl")
            .exists()
    );

    // A job that trusts the signing key: imported, nothing to build.
    let mut trusting = env.clone();
    trusting.insert(
        "CROSSROOT_HOME",
        tmp.join("job-3/home").display().to_string(),
    );
    trusting.insert(
        "CROSSROOT_TRUST",
        format!(
            "{},{}",
            other.join("crossroot.pub").display(),
            keys.join("crossroot.pub").display()
        ),
    );
    let out = step(&trusting, &["restore", &bundle]);
    ok(&out);
    assert!(
        stdout(&out).contains("imported 1 sysroot"),
        "{}",
        stdout(&out)
    );
    let out = step(&trusting, &["sysroots"]);
    ok(&out);
    assert!(!stderr(&out).contains("building"), "{}", stderr(&out));
}

/// The CI files' registry flow, run against a real registry with TLS and a login: `login`
/// writes Docker's config.json from stdin; each matrix job's `sysroots` pushes its target
/// signed with the key from a secret's text; the last job's `pull` gets every target without
/// building anything, and a job that does not trust the key installs nothing.
#[test]
fn a_matrix_shares_one_signed_registry_cache() {
    let d = demo();
    let tmp = d.tmp.path();
    let reg = common::registry::TestRegistry::tls_with_login(&tmp.join("registry"), "ci", "s3cret");
    let keygen = |dir: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_crossroot"))
            .args(["cache", "keygen", "--out"])
            .arg(dir)
            .env("CROSSROOT_HOME", tmp.join("keygen"))
            .output()
            .unwrap();
        ok(&out);
    };
    let keys = tmp.join("keys");
    keygen(&keys);
    let secret = std::fs::read_to_string(keys.join("crossroot.key")).unwrap();
    let docker = tmp.join("docker");
    let job = |targets: &str, home: &str| {
        let mut env = steps_env(&d, targets, &tmp.join(home));
        env.insert("CROSSROOT_CACHE", reg.repo("team/crossroot-cache"));
        env.insert(
            "CROSSROOT_TRUST",
            keys.join("crossroot.pub").display().to_string(),
        );
        env.insert(
            "CROSSROOT_REGISTRY_CA",
            reg.ca.as_ref().unwrap().display().to_string(),
        );
        env.insert("DOCKER_CONFIG", docker.display().to_string());
        env.insert("TMPDIR", tmp.display().to_string());
        env
    };

    // login: the password from stdin, as `echo "$TOKEN" | ci/steps.sh login` passes it.
    let mut c = Command::new("bash");
    c.arg(steps())
        .args(["login", &reg.host(), "ci"])
        .current_dir(repo())
        .envs(job("linux/arm64", "job-arm64"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    {
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(b"s3cret\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    ok(&out);
    let config = std::fs::metadata(docker.join("config.json")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        config.permissions().mode() & 0o077,
        0,
        "config.json is readable by others"
    );

    for (target, home) in [
        ("linux/arm64", "job-arm64"),
        ("linux/riscv64", "job-riscv64"),
    ] {
        let mut env = job(target, home);
        env.insert("CROSSROOT_SIGN_KEY_SECRET", secret.clone());
        let out = step(&env, &["sysroots"]);
        ok(&out);
        assert!(
            stderr(&out).contains("pushed 1 package to"),
            "{}",
            stderr(&out)
        );
    }
    // The key file the secret became is gone with the step.
    let left: Vec<_> = std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("crossroot-key.")
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let fetched = d.server.requests();
    let out = step(&job("linux/arm64 linux/riscv64", "job-last"), &["pull"]);
    ok(&out);
    assert_eq!(
        stderr(&out).matches("pulled demo 1.0.0").count(),
        2,
        "{}",
        stderr(&out)
    );
    assert_eq!(d.server.requests(), fetched);

    // A job that trusts another key installs nothing.
    let other = tmp.join("other-keys");
    keygen(&other);
    let mut env = job("linux/arm64", "job-untrusting");
    env.insert(
        "CROSSROOT_TRUST",
        other.join("crossroot.pub").display().to_string(),
    );
    let out = step(&env, &["pull"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not among the trusted keys"),
        "{}",
        stderr(&out)
    );
}
