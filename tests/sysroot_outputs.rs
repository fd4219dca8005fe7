//! What a built sysroot gives other tools: CMake, meson and cargo configuration that link a
//! library from it statically, and software bills of materials. A tiny C library recipe is
//! served by a real HTTP server on 127.0.0.1 and built for aarch64 by the real builder; the
//! programs linked against it run under qemu.
//!
//! Every test uses aarch64, no -O flag and the zig cache of the shared end-to-end home
//! (`common::shared_zig_cache`), so zig builds compiler-rt and musl for aarch64 once for the
//! whole end-to-end suite (about 140 s on 2 cores when this file runs first) and later runs
//! reuse it (the file then takes under 10 s).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{MAKEFILE, serve, show, tarball};

use sha2::{Digest, Sha256};

const TARGET: &str = "aarch64-linux-musl";
const QEMU: &str = "qemu-aarch64-static";

/// A second library that needs the first, so SBOMs have a dependency to record.
const USER_MAKEFILE: &str = "all:\n\tprintf 'int user(void) { return 1; }\\n' > user.c\n\t$(CC) $(CFLAGS) -c user.c -o user.o\n\t$(AR) rcs libuser.a user.o\n\ninstall:\n\tmkdir -p $(PREFIX)/lib\n\tcp libuser.a $(PREFIX)/lib/\n";

const MAIN_C: &str = "#include <stdio.h>\n#include <demo.h>\nint main(void) { printf(\"demo says %d\\n\", demo()); return 0; }\n";

struct Fixture {
    tmp: tempfile::TempDir,
    home: PathBuf,
    recipes: PathBuf,
    base: String,
    demo_sha256: String,
}

/// Recipes `demo` (MIT) and `user` (Apache-2.0, needs demo) on a local server; `demo` built
/// for aarch64 unless `packages` says otherwise.
fn fixture(packages: &[&str]) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let recipes = tmp.path().join("recipes");
    std::fs::create_dir(&recipes).unwrap();
    let demo = tarball("demo-1.0.0", &[("Makefile", MAKEFILE, 0o644)]);
    let user = tarball("user-2.1.0", &[("Makefile", USER_MAKEFILE, 0o644)]);
    let sha = |b: &[u8]| hex::encode(Sha256::digest(b));
    let demo_sha256 = sha(&demo);
    std::fs::write(
        recipes.join("demo.toml"),
        format!(
            "[package]\nname = \"demo\"\nversion = \"1.0.0\"\nlicense = \"MIT\"\nhomepage = \"https://demo.invalid/\"\n\n[[source]]\nfile = \"demo-1.0.0.tar.gz\"\nsha256 = \"{demo_sha256}\"\n# .invalid never resolves: upstream fails at once and the mirror serves.\nurls = [\"https://demo.invalid/releases/demo-1.0.0.tar.gz\"]\n\n[build]\nsystem = \"make\"\ninstall-steps = [[\"install\", \"PREFIX={{prefix}}\"]]\n\n[install]\nlibs = [\"libdemo.a\"]\npkg-config = [\"demo\"]\n"
        ),
    )
    .unwrap();
    std::fs::write(
        recipes.join("user.toml"),
        format!(
            "[package]\nname = \"user\"\nversion = \"2.1.0\"\nlicense = \"Apache-2.0\"\n\n[[source]]\nfile = \"user-2.1.0.tar.gz\"\nsha256 = \"{}\"\nurls = [\"https://user.invalid/dl/user-2.1.0.tar.gz\"]\n\n[dependencies]\ndemo = \">=1\"\n\n[build]\nsystem = \"make\"\ninstall-steps = [[\"install\", \"PREFIX={{prefix}}\"]]\n\n[install]\nlibs = [\"libuser.a\"]\n",
            sha(&user)
        ),
    )
    .unwrap();
    let mut files = BTreeMap::new();
    files.insert("demo-1.0.0.tar.gz".to_string(), demo);
    files.insert("user-2.1.0.tar.gz".to_string(), user);
    let home = tmp.path().join("home");
    // One zig cache for every test and run: zig builds musl for aarch64 once.
    let shared = common::shared_zig_cache();
    // A home crossroot made (its tag and buckets), so the shared zig cache can go in first.
    crossroot::cache::Home::new(&home).init().unwrap();
    std::os::unix::fs::symlink(&shared, home.join("toolchains-v1/zig-cache")).unwrap();
    let f = Fixture {
        tmp,
        home,
        recipes,
        base: serve(files).base,
        demo_sha256,
    };
    let mut args = vec!["build", "--target", TARGET];
    args.extend(if packages.is_empty() {
        &["demo"][..]
    } else {
        packages
    });
    let out = f.run(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    f
}

impl Fixture {
    fn run(&self, args: &[&str]) -> Output {
        let out = common::crossroot(&self.recipes, &self.base, &self.home)
            .args(args)
            .output()
            .unwrap();
        show(args, &out);
        out
    }

    /// `crossroot env --format <format>` written to a file in the work directory.
    fn toolchain_file(&self, format: &str, name: &str) -> PathBuf {
        let out = self.run(&["env", "--target", TARGET, "--format", format]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let path = self.tmp.path().join(name);
        std::fs::write(&path, &out.stdout).unwrap();
        path
    }

    fn sysroot(&self) -> PathBuf {
        std::fs::canonicalize(self.home.join("sysroots-v1").join(TARGET).join("current")).unwrap()
    }

    /// The program is a static aarch64 executable by `crossroot verify`, and prints 42 under qemu.
    fn check_program(&self, program: &Path) {
        let out = self.run(&["verify", "--target", TARGET, program.to_str().unwrap()]);
        let verdict = text(&out.stdout);
        assert!(out.status.success(), "{verdict}");
        assert!(verdict.contains(": static"), "{verdict}");
        assert!(verdict.contains("OK for aarch64-linux-musl"), "{verdict}");
        let out = Command::new(common::require_tool(QEMU, "qemu-user-static"))
            .arg(program)
            .output()
            .unwrap_or_else(|e| panic!("{QEMU} runs (ci/install-prerequisites.sh): {e}"));
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "demo says 42\n");
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run_tool(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} runs (ci/install-prerequisites.sh): {e}"));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    eprintln!("$ {cmd:?}\n{all}");
    assert!(out.status.success(), "{cmd:?} failed:\n{all}");
    all
}

/// A line `crossroot-test: <key>=<value>` the test projects print while configuring.
fn reported(output: &str, key: &str) -> String {
    let prefix = format!("crossroot-test: {key}=");
    output
        .lines()
        .find_map(|l| l.split_once(&prefix).map(|(_, v)| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no {key} in:\n{output}"))
}

#[test]
fn cmake_links_the_library_statically_through_the_toolchain_file() {
    let f = fixture(&[]);
    let toolchain = f.toolchain_file("cmake", "toolchain.cmake");
    let src = f.tmp.path().join("cmake-src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("main.c"), MAIN_C).unwrap();
    std::fs::write(
        src.join("CMakeLists.txt"),
        r#"cmake_minimum_required(VERSION 3.18)
project(hello C)
find_package(PkgConfig REQUIRED)
pkg_check_modules(DEMO REQUIRED IMPORTED_TARGET demo)
find_library(DEMO_LIBRARY demo REQUIRED)
find_path(DEMO_INCLUDE demo.h REQUIRED)
find_program(HOST_SH sh REQUIRED)
message(STATUS "crossroot-test: library=${DEMO_LIBRARY}")
message(STATUS "crossroot-test: include=${DEMO_INCLUDE}")
message(STATUS "crossroot-test: sh=${HOST_SH}")
message(STATUS "crossroot-test: suffixes=${CMAKE_FIND_LIBRARY_SUFFIXES}")
message(STATUS "crossroot-test: shared=${BUILD_SHARED_LIBS}")
add_executable(hello main.c)
target_link_libraries(hello PRIVATE PkgConfig::DEMO)
"#,
    )
    .unwrap();
    let build = f.tmp.path().join("cmake-build");
    let configured = run_tool(
        Command::new(common::require_tool("cmake", "cmake"))
            .arg("-S")
            .arg(&src)
            .arg("-B")
            .arg(&build)
            // No build type, like meson's default and the direct links: no -O flag, so zig
            // builds musl for aarch64 in one optimization mode only, once for all tests.
            .arg(format!("-DCMAKE_TOOLCHAIN_FILE={}", toolchain.display())),
    );
    let sysroot = f.sysroot();
    // Libraries and headers come from the sysroot, programs from the host.
    assert_eq!(
        reported(&configured, "library"),
        sysroot.join("lib/libdemo.a").display().to_string()
    );
    assert_eq!(
        reported(&configured, "include"),
        sysroot.join("include").display().to_string()
    );
    let sh = reported(&configured, "sh");
    assert!(
        !sh.starts_with(&sysroot.display().to_string()) && Path::new(&sh).is_file(),
        "{sh}"
    );
    assert_eq!(reported(&configured, "suffixes"), ".a");
    assert_eq!(reported(&configured, "shared"), "OFF");
    run_tool(Command::new("cmake").arg("--build").arg(&build));
    f.check_program(&build.join("hello"));
}

/// A meson that knows zig's linker (1.6 or later): `meson` on PATH, else the Python module
/// (`pip install meson` puts it there; ci/install-prerequisites.sh does).
fn meson() -> Command {
    let candidates: [&[&str]; 2] = [&["meson"], &["python3", "-m", "mesonbuild.mesonmain"]];
    let mut seen = Vec::new();
    for argv in candidates {
        let version = Command::new(argv[0])
            .args(&argv[1..])
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| text(&o.stdout).trim().to_string());
        let Some(version) = version else { continue };
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        if (major, minor) >= (1, 6) {
            let mut cmd = Command::new(argv[0]);
            cmd.args(&argv[1..]);
            return cmd;
        }
        seen.push(format!("{} {version}", argv.join(" ")));
    }
    panic!("the meson test needs meson >= 1.6 (pip install 'meson>=1.6'); found: {seen:?}");
}

#[test]
fn meson_links_the_library_statically_through_the_cross_file() {
    let f = fixture(&[]);
    let cross = f.toolchain_file("meson", "cross.ini");
    let src = f.tmp.path().join("meson-src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("main.c"), MAIN_C).unwrap();
    std::fs::write(
        src.join("meson.build"),
        r#"project('hello', 'c')
demo = dependency('demo')
message('crossroot-test: demo=' + demo.get_variable(pkgconfig: 'libdir'))
message('crossroot-test: default_library=' + get_option('default_library'))
message('crossroot-test: prefer_static=' + get_option('prefer_static').to_string())
message('crossroot-test: cpu_family=' + host_machine.cpu_family())
message('crossroot-test: cross=' + meson.is_cross_build().to_string())
executable('hello', 'main.c', dependencies: demo)
"#,
    )
    .unwrap();
    let build = f.tmp.path().join("meson-build");
    let configured = run_tool(
        meson()
            .arg("setup")
            .arg("--cross-file")
            .arg(&cross)
            .arg(&build)
            .arg(&src),
    );
    // The relocatable .pc file says `${pcfiledir}/../..`; where it leads is what counts.
    assert_eq!(
        std::fs::canonicalize(reported(&configured, "demo")).unwrap(),
        f.sysroot().join("lib")
    );
    assert_eq!(reported(&configured, "default_library"), "static");
    assert_eq!(reported(&configured, "prefer_static"), "true");
    assert_eq!(reported(&configured, "cpu_family"), "aarch64");
    assert_eq!(reported(&configured, "cross"), "true");
    run_tool(
        Command::new(common::require_tool("ninja", "ninja-build"))
            .arg("-C")
            .arg(&build),
    );
    f.check_program(&build.join("hello"));
}

/// Without the Rust standard library for aarch64-unknown-linux-musl (rustup cannot download
/// it here), cargo itself is not run: the snippet is parsed, and what it names is used the way
/// cargo and the cc and pkg-config crates would: the linker links a static aarch64 program
/// against the library with the flags the pkg-config wrapper gives.
#[test]
fn cargo_snippet_names_a_working_linker_and_pkg_config() {
    let f = fixture(&[]);
    let path = f.toolchain_file("cargo", "config.toml");
    let config: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    let linker = config["target"]["aarch64-unknown-linux-musl"]["linker"]
        .as_str()
        .unwrap();
    let env = config["env"].as_table().unwrap();
    let sysroot = f.sysroot();
    assert_eq!(Path::new(linker), sysroot.join("bin/aarch64-linux-musl-cc"));
    assert_eq!(env["CC_aarch64_unknown_linux_musl"].as_str(), Some(linker));
    assert_eq!(env["PKG_CONFIG_ALLOW_CROSS"].as_str(), Some("1"));
    assert_eq!(env["PKG_CONFIG_ALL_STATIC"].as_str(), Some("1"));
    let ar = env["AR_aarch64_unknown_linux_musl"].as_str().unwrap();
    assert!(Path::new(ar).is_file(), "{ar}");

    let pkg_config = env["PKG_CONFIG_aarch64_unknown_linux_musl"]
        .as_str()
        .unwrap();
    let flags = run_tool(Command::new(pkg_config).args(["--cflags", "--libs", "demo"]));
    assert!(flags.contains("-ldemo"), "{flags}");
    let main = f.tmp.path().join("main.c");
    std::fs::write(&main, MAIN_C).unwrap();
    let program = f.tmp.path().join("hello-cargo-linker");
    run_tool(
        Command::new(linker)
            .arg(&main)
            .args(flags.split_whitespace())
            .arg("-o")
            .arg(&program),
    );
    f.check_program(&program);
}

/// Splits `pkg:generic/<name>@<version>?k=v&…` and percent-decodes the qualifier values.
fn parse_purl(purl: &str) -> (String, String, BTreeMap<String, String>) {
    let rest = purl.strip_prefix("pkg:generic/").expect("a generic purl");
    let (coordinates, qualifiers) = rest.split_once('?').unwrap_or((rest, ""));
    let (name, version) = coordinates.split_once('@').expect("name@version");
    let decode = |s: &str| {
        let mut out = Vec::new();
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    let mut map = BTreeMap::new();
    let mut keys = Vec::new();
    for pair in qualifiers.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').expect("key=value");
        keys.push(k.to_string());
        map.insert(k.to_string(), decode(v));
    }
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "purl qualifiers are sorted: {purl}");
    (decode(name), decode(version), map)
}

fn zig_version() -> String {
    let out = Command::new("python3")
        .args(["-m", "ziglang", "version"])
        .output()
        .unwrap();
    text(&out.stdout).trim().to_string()
}

fn sbom(f: &Fixture, format: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_crossroot"))
        .args(["sbom", "--target", "linux/arm64", "--format", format])
        .env("CROSSROOT_HOME", &f.home)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the SBOM is JSON")
}

#[test]
fn sboms_list_every_library_with_its_source_and_the_toolchain() {
    let f = fixture(&["user"]);
    let zig = zig_version();
    let demo_url = "https://demo.invalid/releases/demo-1.0.0.tar.gz";

    let bom = sbom(&f, "cyclonedx");
    for key in [
        "bomFormat",
        "specVersion",
        "serialNumber",
        "version",
        "metadata",
    ] {
        assert!(bom.get(key).is_some(), "CycloneDX needs {key}");
    }
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.5");
    assert_eq!(bom["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    let components = bom["components"].as_array().unwrap();
    let by_name = |name: &str| {
        components
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {components:?}"))
    };
    let demo = by_name("demo");
    assert_eq!(demo["version"], "1.0.0");
    assert_eq!(demo["licenses"][0]["expression"], "MIT");
    let (name, version, q) = parse_purl(demo["purl"].as_str().unwrap());
    assert_eq!((name.as_str(), version.as_str()), ("demo", "1.0.0"));
    assert_eq!(q["checksum"], format!("sha256:{}", f.demo_sha256));
    assert_eq!(q["download_url"], demo_url);
    assert_eq!(demo["hashes"][0]["alg"], "SHA-256");
    assert_eq!(demo["hashes"][0]["content"], f.demo_sha256.as_str());
    let user = by_name("user");
    assert_eq!(user["licenses"][0]["expression"], "Apache-2.0");
    let (_, _, q) = parse_purl(user["purl"].as_str().unwrap());
    assert_eq!(
        q["download_url"],
        "https://user.invalid/dl/user-2.1.0.tar.gz"
    );
    let toolchain = by_name("zig");
    assert_eq!(toolchain["version"], zig.as_str());
    assert_eq!(
        toolchain["hashes"][0]["content"].as_str().unwrap().len(),
        64
    );
    let user_deps = bom["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["ref"] == user["bom-ref"])
        .unwrap();
    assert_eq!(user_deps["dependsOn"], serde_json::json!([demo["bom-ref"]]));

    let doc = sbom(&f, "spdx");
    for key in [
        "spdxVersion",
        "dataLicense",
        "SPDXID",
        "name",
        "documentNamespace",
        "creationInfo",
        "packages",
    ] {
        assert!(doc.get(key).is_some(), "SPDX needs {key}");
    }
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    let packages = doc["packages"].as_array().unwrap();
    let mut ids = Vec::new();
    for p in packages {
        for key in [
            "SPDXID",
            "name",
            "downloadLocation",
            "licenseConcluded",
            "copyrightText",
        ] {
            assert!(p.get(key).is_some(), "SPDX package needs {key}: {p}");
        }
        let id = p["SPDXID"].as_str().unwrap();
        assert!(
            id.strip_prefix("SPDXRef-").is_some_and(|rest| rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')),
            "{id}"
        );
        ids.push(id);
    }
    let demo = packages.iter().find(|p| p["name"] == "demo").unwrap();
    assert_eq!(demo["downloadLocation"], demo_url);
    assert_eq!(demo["licenseDeclared"], "MIT");
    assert_eq!(demo["homepage"], "https://demo.invalid/");
    assert_eq!(demo["checksums"][0]["algorithm"], "SHA256");
    assert_eq!(
        demo["checksums"][0]["checksumValue"],
        f.demo_sha256.as_str()
    );
    let (_, _, q) = parse_purl(
        demo["externalRefs"][0]["referenceLocator"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(q["download_url"], demo_url);
    let zig_package = packages.iter().find(|p| p["name"] == "zig").unwrap();
    assert_eq!(zig_package["versionInfo"], zig.as_str());
    // Every relationship joins two elements of this document.
    ids.push("SPDXRef-DOCUMENT");
    let relationships = doc["relationships"].as_array().unwrap();
    for r in relationships {
        for end in ["spdxElementId", "relatedSpdxElement"] {
            assert!(ids.contains(&r[end].as_str().unwrap()), "{r}");
        }
    }
    assert!(
        relationships
            .iter()
            .any(|r| r["relationshipType"] == "DEPENDS_ON"
                && r["spdxElementId"] == "SPDXRef-Package-user"
                && r["relatedSpdxElement"] == "SPDXRef-Package-demo")
    );

    // Same sysroot, same SOURCE_DATE_EPOCH: the same document.
    assert_eq!(sbom(&f, "spdx"), doc);
}

#[test]
fn targets_shows_toolchain_and_verification_per_target() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_crossroot"))
        .arg("targets")
        .env("CROSSROOT_HOME", home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let row = |triple: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{triple} ")))
            .unwrap_or_else(|| panic!("no {triple} in:\n{table}"))
            .to_string()
    };
    let aarch64 = row("aarch64-linux-musl");
    assert!(
        aarch64.contains("zig cc -target aarch64-linux-musl"),
        "{aarch64}"
    );
    assert!(aarch64.contains(" yes "), "{aarch64}");
    let s390x = row("s390x-linux-musl");
    assert!(s390x.contains(" yes "), "{s390x}");
    assert!(s390x.contains("C++ program"), "{s390x}");
    // A target the table calls verified is one the end-to-end tests build and run.
    let e2e = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e.rs"))
        .unwrap();
    for line in table.lines().skip(1) {
        let triple = line.split_whitespace().next().unwrap();
        if line.contains(" yes ") {
            assert!(
                e2e.contains(&format!("\"{triple}\",")),
                "{triple} is marked verified but tests/e2e.rs does not build it"
            );
        }
    }
}
