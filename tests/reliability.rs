//! Faults and hostile input, each tried for real: `crossroot build` killed with SIGKILL at each
//! stage and run again, several builds at once on one home, a full disk, hostile recipes, and
//! an offline build with no route out. Recipes are made here and built by the real builder;
//! their Makefiles do not compile, so every build takes a fraction of a second.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

// ---- a local mirror ----------------------------------------------------------------------

/// A mirror on 127.0.0.1 that answers `Range` requests and can hold a body half-way.
struct Server {
    base: String,
    requests: Arc<AtomicUsize>,
    /// The `Range` header of every request, or "" when there was none.
    ranges: Arc<Mutex<Vec<String>>>,
    /// While true, bodies stop after `HOLD_AFTER` bytes and wait.
    hold: Arc<AtomicBool>,
}

const HOLD_AFTER: usize = 256 * 1024;

fn serve(files: BTreeMap<String, Vec<u8>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let hold = Arc::new(AtomicBool::new(false));
    let (count, seen, held) = (requests.clone(), ranges.clone(), hold.clone());
    let files = Arc::new(files);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            let (files, seen, held) = (files.clone(), seen.clone(), held.clone());
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
                let text = String::from_utf8_lossy(&req).into_owned();
                let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
                let name = path.rsplit('/').next().unwrap_or("").to_string();
                let range = text
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("range")
                            .then(|| v.trim().to_string())
                    })
                    .unwrap_or_default();
                seen.lock().unwrap().push(range.clone());
                let Some(body) = files.get(&name) else {
                    let _ = s.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    return;
                };
                let from = range
                    .strip_prefix("bytes=")
                    .and_then(|r| r.strip_suffix('-'))
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|&n| n < body.len());
                let head = match from {
                    Some(n) => format!(
                        "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {n}-{}/{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len() - 1,
                        body.len(),
                        body.len() - n
                    ),
                    None => format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    ),
                };
                let body = &body[from.unwrap_or(0)..];
                if s.write_all(head.as_bytes()).is_err() {
                    return;
                }
                if held.load(Ordering::SeqCst) && body.len() > HOLD_AFTER {
                    if s.write_all(&body[..HOLD_AFTER]).is_err() {
                        return;
                    }
                    let _ = s.flush();
                    // Bounded: the test kills the client long before this ends.
                    let until = Instant::now() + Duration::from_secs(30);
                    while held.load(Ordering::SeqCst) && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    let _ = s.write_all(&body[HOLD_AFTER..]);
                } else {
                    let _ = s.write_all(body);
                }
            });
        }
    });
    Server {
        base,
        requests,
        ranges,
        hold,
    }
}

// ---- recipes made here -------------------------------------------------------------------

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A gzipped tarball with everything under `top/`.
fn tarball(top: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    {
        let mut tar = tar::Builder::new(&mut gz);
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(1_700_000_000);
            h.set_cksum();
            tar.append_data(&mut h, format!("{top}/{name}"), data.as_slice())
                .unwrap();
        }
        tar.finish().unwrap();
    }
    gz.finish().unwrap()
}

/// Bytes that do not compress, so a tarball is as big on the wire as on disk.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A Makefile that makes `lib<name>.a` without a compiler; `hook` runs first in `all`, and
/// `install_extra` at the end of `install`. `TRIPLE`, `DEPS` and `PREFIX` come from the recipe.
fn makefile(name: &str, hook: &str, install_extra: &str) -> String {
    let mut m = String::from("all:\n");
    for line in hook.lines() {
        m.push_str(&format!("\t{line}\n"));
    }
    m.push_str(&format!(
        "\techo '{name} for $(TRIPLE)' > lib{name}.a\n\ninstall:\n\tmkdir -p $(PREFIX)/lib/pkgconfig $(PREFIX)/include\n\tcp lib{name}.a $(PREFIX)/lib/\n\techo 'int {name}(void);' > $(PREFIX)/include/{name}.h\n\tprintf 'prefix=$(PREFIX)\\nlibdir=$${{prefix}}/lib\\n\\nName: {name}\\nDescription: {name}\\nVersion: 1.0.0\\nLibs: -L$${{libdir}} -l{name}\\n' > $(PREFIX)/lib/pkgconfig/{name}.pc\n"
    ));
    for line in install_extra.lines() {
        m.push_str(&format!("\t{line}\n"));
    }
    m
}

fn recipe(name: &str, file: &str, sha: &str, deps: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"1.0.0\"\nlicense = \"MIT\"\n\n[[source]]\nfile = \"{file}\"\nsha256 = \"{sha}\"\n# .invalid never resolves: upstream fails at once and the mirror serves.\nurls = [\"https://{name}.invalid/{file}\"]\n\n[dependencies]\n{deps}\n[build]\nsystem = \"make\"\nmake-steps = [[\"TRIPLE={{triple}}\", \"DEPS={{deps}}\"]]\ninstall-steps = [[\"install\", \"PREFIX={{prefix}}\"]]\n\n[install]\nlibs = [\"lib{name}.a\"]\npkg-config = [\"{name}\"]\n"
    )
}

/// A package to put into a test's recipe directory.
struct Pkg {
    name: &'static str,
    deps: &'static str,
    hook: String,
    install_extra: String,
    /// Extra files in the source tree.
    extra: Vec<(String, Vec<u8>)>,
}

impl Pkg {
    fn new(name: &'static str) -> Self {
        Pkg {
            name,
            deps: "",
            hook: String::new(),
            install_extra: String::new(),
            extra: Vec::new(),
        }
    }
}

struct Fixture {
    tmp: tempfile::TempDir,
    home: PathBuf,
    recipes: PathBuf,
    /// The test's own scratch directory, where Makefiles leave marks.
    marks: PathBuf,
    /// A directory mirror with every tarball.
    mirror_dir: PathBuf,
    server: Server,
    /// name → (file, sha256)
    sources: BTreeMap<String, (String, String)>,
}

fn fixture(pkgs: Vec<Pkg>) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let recipes = tmp.path().join("recipes");
    let marks = tmp.path().join("marks");
    let mirror_dir = tmp.path().join("mirror");
    for d in [&recipes, &marks, &mirror_dir] {
        std::fs::create_dir(d).unwrap();
    }
    let mut files = BTreeMap::new();
    let mut sources = BTreeMap::new();
    for p in pkgs {
        let mk = makefile(
            p.name,
            &p.hook.replace("MARKS", &marks.display().to_string()),
            &p.install_extra,
        );
        let mut tree = vec![("Makefile".to_string(), mk.into_bytes())];
        tree.extend(p.extra);
        let file = format!("{}-1.0.0.tar.gz", p.name);
        let bytes = tarball(&format!("{}-1.0.0", p.name), &tree);
        let sha = sha256(&bytes);
        std::fs::write(
            recipes.join(format!("{}.toml", p.name)),
            recipe(p.name, &file, &sha, p.deps),
        )
        .unwrap();
        std::fs::write(mirror_dir.join(&file), &bytes).unwrap();
        sources.insert(p.name.to_string(), (file.clone(), sha));
        files.insert(file, bytes);
    }
    Fixture {
        home: tmp.path().join("home"),
        recipes,
        marks,
        mirror_dir,
        server: serve(files),
        sources,
        tmp,
    }
}

impl Fixture {
    /// `crossroot` with this fixture's home, recipes and URL mirror, in its own process group
    /// (so the test can end the build steps a killed crossroot leaves behind).
    fn command(&self, args: &[&str]) -> Command {
        use std::os::unix::process::CommandExt;
        let mut c = common::crossroot(&self.recipes, &self.server.base, &self.home);
        c.args(args).process_group(0);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().unwrap();
        show(args, &out);
        out
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn partial(&self, name: &str) -> PathBuf {
        let (file, sha) = &self.sources[name];
        self.home
            .join("downloads-v1")
            .join(sha)
            .join(format!("{file}.partial"))
    }

    fn cached(&self, name: &str) -> PathBuf {
        let (file, sha) = &self.sources[name];
        self.home.join("downloads-v1").join(sha).join(file)
    }
}

fn show(args: &[&str], out: &Output) {
    eprintln!(
        "$ crossroot {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Polls `cond` every 2 ms for at most `limit`.
fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    cond()
}

/// SIGKILL to crossroot alone (its build steps live on, as after `kill -9 <pid>`); returns
/// its output so far.
fn kill9(mut child: Child) -> Output {
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(9),
        "crossroot ended before it was killed: {}",
        stderr(&out)
    );
    show(&["(killed)"], &out);
    out
}

/// Ends whatever is left of a killed run's process group.
struct Group(u32);
impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0)])
            .stderr(Stdio::null())
            .status();
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn staging(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.starts_with(".tmp"))
        .collect()
}

fn marker_key(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(".crossroot-ok")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(v["key"].as_str()?.to_string())
}

/// The store is consistent: every download sits under its own hash, every package and
/// sysroot entry has the marker for its key, and no staging directory is left.
fn assert_store_consistent(home: &Path) {
    for sha in names(&home.join("downloads-v1")) {
        for file in names(&home.join("downloads-v1").join(&sha)) {
            if file == ".lock" || file.ends_with(".partial") {
                continue;
            }
            let bytes = std::fs::read(home.join("downloads-v1").join(&sha).join(&file)).unwrap();
            assert_eq!(sha256(&bytes), sha, "downloads-v1/{sha}/{file}");
        }
    }
    let packages = home.join("packages-v1");
    assert_eq!(staging(&packages), Vec::<String>::new(), "packages-v1");
    for entry in names(&packages) {
        if entry.ends_with(".lock") {
            continue;
        }
        assert_eq!(
            marker_key(&packages.join(&entry)).as_deref(),
            Some(entry.as_str()),
            "packages-v1/{entry} has no valid marker"
        );
    }
    for triple in names(&home.join("sysroots-v1")) {
        let dir = home.join("sysroots-v1").join(&triple);
        assert_eq!(staging(&dir), Vec::<String>::new(), "sysroots-v1/{triple}");
        for entry in names(&dir) {
            let p = dir.join(&entry);
            if entry.ends_with(".lock") || entry.starts_with("current") {
                continue;
            }
            let key = marker_key(&p).unwrap_or_else(|| panic!("{} has no marker", p.display()));
            assert!(key.starts_with(&entry), "{}: {key}", p.display());
        }
    }
}

/// The sysroot `env` reports for `triple` holds every package of `names`, built for it.
fn assert_sysroot(f: &Fixture, triple: &str, pkgs: &[&str]) -> PathBuf {
    let out = f.run(&["env", "--target", triple, "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let vars: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let root = PathBuf::from(vars["CROSSROOT_SYSROOT"].as_str().unwrap());
    for name in pkgs {
        let lib = std::fs::read_to_string(root.join(format!("lib/lib{name}.a"))).unwrap();
        assert_eq!(lib, format!("{name} for {triple}\n"));
        assert!(root.join(format!("include/{name}.h")).is_file());
        let pc = std::fs::read_to_string(root.join(format!("lib/pkgconfig/{name}.pc"))).unwrap();
        assert!(pc.starts_with("prefix=${pcfiledir}/../.."), "{pc}");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("manifest.json")).unwrap()).unwrap();
    let mut listed: Vec<&str> = manifest["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    listed.sort();
    let mut want = pkgs.to_vec();
    want.sort();
    assert_eq!(listed, want);
    assert!(marker_key(&root).is_some());
    root
}

const X86: &str = "x86_64-linux-musl";

// ---- 1. kill -9 ----------------------------------------------------------------------------

#[test]
fn kill_9_during_download_leaves_a_partial_that_the_rerun_resumes() {
    let mut big = Pkg::new("big");
    big.extra.push(("blob.bin".to_string(), noise(2 << 20, 7)));
    let f = fixture(vec![big]);
    f.server.hold.store(true, Ordering::SeqCst);

    let child = f.spawn(&["build", "--target", X86, "big"]);
    let _group = Group(child.id());
    let partial = f.partial("big");
    let got_bytes = wait_for(Duration::from_secs(20), || {
        std::fs::metadata(&partial).is_ok_and(|m| m.len() > 0)
    });
    assert!(
        got_bytes,
        "no partial download appeared at {}",
        partial.display()
    );
    kill9(child);

    let kept = std::fs::metadata(&partial).unwrap().len();
    assert!(kept > 0 && kept <= HOLD_AFTER as u64, "{kept}");
    assert!(
        !f.cached("big").exists(),
        "a partial download was installed"
    );
    assert_eq!(names(&f.home.join("packages-v1")), Vec::<String>::new());
    assert!(!f.home.join("sysroots-v1").join(X86).exists());

    f.server.hold.store(false, Ordering::SeqCst);
    let out = f.run(&["build", "--target", X86, "big"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ranges = f.server.ranges.lock().unwrap().clone();
    assert_eq!(
        ranges.last().map(String::as_str),
        Some(format!("bytes={kept}-").as_str()),
        "the rerun resumes where the killed run stopped: {ranges:?}"
    );
    assert!(!partial.exists());
    assert_store_consistent(&f.home);
    assert_sysroot(&f, X86, &["big"]);
}

/// Enough small files to make extraction and sysroot assembly last long enough to be hit.
const FILES: usize = 2_000;

fn many_files_pkg() -> Pkg {
    let mut p = Pkg::new("many");
    for i in 0..FILES {
        p.extra.push((
            format!("many/f{i:05}.h"),
            format!("#define F{i} {i}\n").into_bytes(),
        ));
    }
    p.install_extra = "cp -R many $(PREFIX)/include/many".to_string();
    p
}

#[test]
fn kill_9_during_extraction_and_during_sysroot_assembly_then_rerun() {
    let f = fixture(vec![many_files_pkg()]);
    let packages = f.home.join("packages-v1");
    let logs = f.home.join("logs").join(X86).join("many-1.0.0");

    // (b) Killed while the source unpacks into the package's staging directory.
    let child = f.spawn(&["build", "--target", X86, "many"]);
    let _group = Group(child.id());
    let hit = wait_for(Duration::from_secs(20), || {
        staging(&packages)
            .iter()
            .any(|s| packages.join(s).join("src").exists())
    });
    assert!(hit, "extraction never started");
    kill9(child);
    let left = staging(&packages);
    assert_eq!(left.len(), 1, "{left:?}");
    let unpacked = walk_count(&packages.join(&left[0]).join("src"));
    assert!(
        unpacked < FILES + 1 && !logs.exists(),
        "killed after extraction ({unpacked} files, logs: {})",
        logs.exists()
    );
    assert!(!f.home.join("sysroots-v1").join(X86).exists());

    // (d) Killed while the sysroot is assembled from the built package.
    let sysroots = f.home.join("sysroots-v1").join(X86);
    let child = f.spawn(&["build", "--target", X86, "many"]);
    let _group2 = Group(child.id());
    let hit = wait_for(Duration::from_secs(30), || !staging(&sysroots).is_empty());
    assert!(hit, "sysroot assembly never started");
    kill9(child);
    assert_eq!(
        staging(&packages),
        Vec::<String>::new(),
        "the rerun cleared the killed run's staging directory"
    );
    let entries: Vec<String> = names(&sysroots)
        .into_iter()
        .filter(|n| !n.starts_with(".tmp") && !n.ends_with(".lock"))
        .collect();
    assert!(
        entries
            .iter()
            .all(|e| marker_key(&sysroots.join(e)).is_none() || e == "current"),
        "killed before the sysroot was finished: {entries:?}"
    );
    assert!(
        !sysroots.join("current").exists(),
        "`current` points at nothing unfinished"
    );

    let out = f.run(&["build", "--target", X86, "many"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("building 1 package"),
        "the package built before the second kill is reused: {}",
        stderr(&out)
    );
    assert_store_consistent(&f.home);
    let root = assert_sysroot(&f, X86, &["many"]);
    assert_eq!(walk_count(&root.join("include/many")), FILES);
    assert_eq!(f.server.requests.load(Ordering::SeqCst), 1);
}

fn walk_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        walk_count(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn kill_9_during_a_build_step_stops_its_make_too_and_the_rerun_redoes_it() {
    let mut slow = Pkg::new("slow");
    // The first run's `make` says it started, then sleeps until the test ends it.
    slow.hook =
        "touch MARKS/started-$(TRIPLE)\nif [ -f MARKS/slow ]; then sleep 30; fi".to_string();
    let mut base = Pkg::new("base");
    base.hook = "touch MARKS/base-$(TRIPLE)".to_string();
    slow.deps = "base = \"1\"\n";
    let f = fixture(vec![base, slow]);
    std::fs::write(f.marks.join("slow"), "").unwrap();

    let child = f.spawn(&["build", "--target", X86, "slow"]);
    let group = Group(child.id());
    let started = f.marks.join(format!("started-{X86}"));
    assert!(wait_for(Duration::from_secs(20), || started.exists()));
    kill9(child);
    let packages = f.home.join("packages-v1");
    let left = staging(&packages);
    assert_eq!(left.len(), 1, "one package is half-built: {left:?}");
    let built: Vec<String> = names(&packages)
        .into_iter()
        .filter(|n| !n.starts_with(".tmp") && !n.ends_with(".lock"))
        .collect();
    assert_eq!(built.len(), 1, "only the dependency is finished: {built:?}");
    assert!(marker_key(&packages.join(&built[0])).is_some());

    // The step's make dies with crossroot (parent-death signal), so no new job starts; a
    // command already running in a recipe line (here the sleep) may still run to its end.
    let pgid = group.0.to_string();
    assert!(
        wait_for(Duration::from_secs(10), || {
            let out = Command::new("pgrep")
                .args(["-g", &pgid, "-x", "make"])
                .output()
                .unwrap();
            out.stdout.is_empty()
        }),
        "the build step's make outlived the killed crossroot"
    );
    std::fs::remove_file(f.marks.join("slow")).unwrap();
    std::fs::remove_file(f.marks.join(format!("base-{X86}"))).unwrap();
    let out = f.run(&["build", "--target", X86, "slow"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !f.marks.join(format!("base-{X86}")).exists(),
        "the finished dependency is not built again"
    );
    assert!(!packages.join(&left[0]).exists(), "stale staging removed");
    assert_store_consistent(&f.home);
    assert_sysroot(&f, X86, &["base", "slow"]);
    drop(group);
}

// ---- 2. concurrency ------------------------------------------------------------------------

/// Each package's Makefile takes a per-(package, target) sentinel directory with `mkdir`, which
/// fails when another build of the same package for the same target is running, and counts
/// its builds.
fn counted(name: &'static str) -> Pkg {
    let mut p = Pkg::new(name);
    p.hook = format!(
        "mkdir MARKS/building-{name}-$(TRIPLE)\necho $(TRIPLE) >> MARKS/count-{name}\nsleep 0.3\nrmdir MARKS/building-{name}-$(TRIPLE)"
    );
    p
}

fn concurrent(f: &Fixture, targets: &[&str]) {
    let children: Vec<(String, Child)> = targets
        .iter()
        .map(|t| (t.to_string(), f.spawn(&["build", "--target", t, "app"])))
        .collect();
    let _groups: Vec<Group> = children.iter().map(|(_, c)| Group(c.id())).collect();
    let mut dirs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (t, c) in children {
        let out = c.wait_with_output().unwrap();
        show(&["build", "--target", &t, "app"], &out);
        assert!(out.status.success(), "{t}: {}", stderr(&out));
        let line = stderr(&out)
            .lines()
            .find_map(|l| {
                l.split_once(&format!("{t}: "))
                    .map(|(_, rest)| rest.split(" (").next().unwrap().to_string())
            })
            .unwrap_or_default();
        dirs.entry(t).or_default().push(line);
    }
    for (t, d) in &dirs {
        assert!(
            d.iter().all(|x| x == &d[0] && !x.is_empty()),
            "{t}: every run reports the same sysroot: {d:?}"
        );
    }
    let mut distinct: Vec<&str> = targets.to_vec();
    distinct.sort();
    distinct.dedup();
    for name in ["base", "app"] {
        let count = std::fs::read_to_string(f.marks.join(format!("count-{name}"))).unwrap();
        let mut lines: Vec<&str> = count.lines().collect();
        lines.sort();
        assert_eq!(lines, distinct, "{name} is built once per target");
    }
    assert_eq!(
        f.server.requests.load(Ordering::SeqCst),
        2,
        "each source is downloaded once"
    );
    assert_store_consistent(&f.home);
    for t in distinct {
        assert_sysroot(f, t, &["base", "app"]);
    }
}

fn app_and_base() -> Vec<Pkg> {
    let mut app = counted("app");
    app.deps = "base = \"1\"\n";
    // The dependency is installed before the dependent starts.
    app.hook = format!("test -f $(DEPS)/lib/libbase.a\n{}", app.hook);
    vec![counted("base"), app]
}

#[test]
fn two_builds_of_one_target_at_once_build_each_package_once() {
    let f = fixture(app_and_base());
    concurrent(&f, &[X86, X86]);
}

#[test]
fn four_builds_for_two_targets_at_once_share_downloads_and_build_each_package_once() {
    let f = fixture(app_and_base());
    concurrent(&f, &[X86, "aarch64-linux-musl", X86, "aarch64-linux-musl"]);
}

// ---- 3. disk full --------------------------------------------------------------------------

/// A 4 MiB tmpfs, unmounted on drop.
struct SmallFs(PathBuf);

impl SmallFs {
    fn mount(at: &Path) -> Result<SmallFs, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(SmallFs(at.to_path_buf()))
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_clearly_and_leaves_nothing_half_installed() {
    let mut huge = Pkg::new("huge");
    huge.extra.push(("blob.bin".to_string(), noise(6 << 20, 3)));
    let mut bloat = Pkg::new("bloat");
    bloat.install_extra = "head -c 6000000 /dev/zero > $(PREFIX)/lib/bloat.bin".to_string();
    let f = fixture(vec![huge, bloat, Pkg::new("fine")]);
    let fs = match SmallFs::mount(&f.home) {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("SKIPPED: cannot mount a small tmpfs here: {why}");
            return;
        }
    };

    // A download larger than the disk.
    let out = f.run(&["build", "--target", X86, "huge"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("No space left on device"), "{err}");
    assert!(
        err.contains(&f.partial("huge").display().to_string()),
        "{err}"
    );
    assert!(!f.cached("huge").exists());
    assert!(
        !f.partial("huge").exists(),
        "the bytes that filled the disk are gone"
    );
    assert!(!f.home.join("sysroots-v1").join(X86).exists());

    // The same from a directory mirror.
    let out = Command::new(env!("CARGO_BIN_EXE_crossroot"))
        .arg("--recipes")
        .arg(&f.recipes)
        .arg("--mirror")
        .arg(&f.mirror_dir)
        .args(["--offline", "build", "--target", X86, "huge"])
        .env("CROSSROOT_HOME", &f.home)
        .output()
        .unwrap();
    show(&["--offline", "build", "huge"], &out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("No space left on device"),
        "{}",
        stderr(&out)
    );
    assert!(!f.cached("huge").exists());
    assert!(!f.partial("huge").exists());

    // An install step that fills the disk.
    let out = f.run(&["build", "--target", X86, "bloat"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("bloat 1.0.0 (x86_64-linux-musl)"), "{err}");
    assert!(err.contains("failed"), "{err}");
    assert_eq!(
        names(&f.home.join("packages-v1"))
            .into_iter()
            .filter(|n| !n.ends_with(".lock"))
            .collect::<Vec<_>>(),
        Vec::<String>::new(),
        "no package entry and no staging directory"
    );
    assert!(!f.home.join("sysroots-v1").join(X86).exists());

    // What the failures left does not keep a small package from building on the same disk.
    let out = f.run(&["build", "--target", X86, "fine"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_store_consistent(&f.home);
    assert_sysroot(&f, X86, &["fine"]);
    drop(fs);
}

// ---- 4. hostile recipes --------------------------------------------------------------------

#[test]
fn hostile_recipes_are_refused_before_anything_is_fetched_or_built() {
    let sha = "6766ada7101d292b42b8b15681120acd68effa4a9660935853cf6d61f0d984d4";
    let good = |name: &str, deps: &str| recipe(name, &format!("{name}-1.0.0.tar.gz"), sha, deps);
    let demo = good("demo", "");
    // (what, recipe files, expected fragments of the error)
    type Case<'a> = (&'a str, Vec<(String, String)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "unknown key",
            vec![(
                "demo.toml".into(),
                demo.replace("[build]\n", "[build]\nflavour = \"x\"\n"),
            )],
            vec!["demo.toml:15:", "flavour"],
        ),
        (
            "wrong type",
            vec![(
                "demo.toml".into(),
                demo.replace("version = \"1.0.0\"", "version = 1"),
            )],
            vec!["demo.toml:3:"],
        ),
        (
            "missing sha256",
            vec![(
                "demo.toml".into(),
                demo.replace(&format!("sha256 = \"{sha}\"\n"), ""),
            )],
            vec!["demo.toml:", "sha256"],
        ),
        (
            "short sha256",
            vec![("demo.toml".into(), demo.replace(sha, &sha[..40]))],
            vec!["demo.toml:6:", "64 lower-case hex digits", "40 characters"],
        ),
        (
            "dependency cycle",
            vec![
                ("demo.toml".into(), good("demo", "other = \"1\"\n")),
                ("other.toml".into(), good("other", "demo = \"1\"\n")),
            ],
            vec!["dependency cycle", "demo", "other"],
        ),
        (
            "unsatisfiable requirement",
            vec![
                ("demo.toml".into(), good("demo", "other = \">=2\"\n")),
                ("other.toml".into(), good("other", "")),
            ],
            vec!["demo.toml", "needs `other >=2`", "has version 1.0.0"],
        ),
        (
            "name with path characters",
            vec![(
                "demo.toml".into(),
                demo.replace("name = \"demo\"", "name = \"../demo\""),
            )],
            vec!["demo.toml:2:", "`../demo`"],
        ),
        (
            "dependency name with path characters",
            vec![("demo.toml".into(), good("demo", "\"../../etc\" = \"1\"\n"))],
            vec!["demo.toml:13:", "`../../etc`"],
        ),
        (
            "source file name with path characters",
            vec![(
                "demo.toml".into(),
                demo.replace(
                    "file = \"demo-1.0.0.tar.gz\"",
                    "file = \"../../demo.tar.gz\"",
                ),
            )],
            vec!["demo.toml:6:", "`../../demo.tar.gz`"],
        ),
        (
            "plain-http upstream",
            vec![(
                "demo.toml".into(),
                demo.replace("https://demo.invalid", "http://demo.invalid"),
            )],
            vec!["demo.toml:6:", "must use https://"],
        ),
        (
            "not TOML",
            vec![("demo.toml".into(), format!("{demo}\n[build\n"))],
            vec!["demo.toml:"],
        ),
        (
            "file named after another package",
            vec![("evil.toml".into(), demo.clone())],
            vec!["evil.toml", "name the file `demo.toml`"],
        ),
    ];
    let server = serve(BTreeMap::new());
    for (what, files, wants) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let recipes = tmp.path().join("recipes");
        std::fs::create_dir(&recipes).unwrap();
        for (name, text) in &files {
            std::fs::write(recipes.join(name), text).unwrap();
        }
        let home = tmp.path().join("home");
        let out = Command::new(env!("CARGO_BIN_EXE_crossroot"))
            .arg("--recipes")
            .arg(&recipes)
            .arg("--mirror")
            .arg(&server.base)
            .args(["build", "--target", X86, "demo"])
            .env("CROSSROOT_HOME", &home)
            .env("CROSSROOT_DEBIAN_MIRRORS", "http://127.0.0.1:9/none")
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(!out.status.success(), "{what}: accepted\n{err}");
        for want in wants {
            assert!(err.contains(want), "{what}: missing `{want}` in:\n{err}");
        }
        for bucket in ["downloads-v1", "packages-v1", "sysroots-v1"] {
            let left: Vec<String> = names(&home.join(bucket))
                .into_iter()
                .filter(|n| !n.ends_with(".lock"))
                .collect();
            assert!(left.is_empty(), "{what}: {bucket} holds {left:?}");
        }
    }
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
}

// ---- 7. offline with no route out --------------------------------------------------------

#[test]
fn offline_build_from_a_directory_mirror_needs_no_network_at_all() {
    let f = fixture(vec![Pkg::new("demo")]);
    let netns = Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success());
    let mut c = if netns {
        let mut c = Command::new("unshare");
        c.args(["-n", "--"]).arg(env!("CARGO_BIN_EXE_crossroot"));
        c
    } else {
        eprintln!("no network namespace here (unshare -n failed); relying on dead proxies only");
        Command::new(env!("CARGO_BIN_EXE_crossroot"))
    };
    c.arg("--recipes")
        .arg(&f.recipes)
        .arg("--mirror")
        .arg(&f.mirror_dir)
        .args(["--offline", "build", "--target", X86, "demo"])
        .env("CROSSROOT_HOME", &f.home)
        .env_remove("CROSSROOT_DEBIAN_MIRRORS")
        .env_remove("CROSSROOT_MIRRORS");
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        c.env(var, "http://127.0.0.1:9");
    }
    let out = c.output().unwrap();
    show(&["--offline", "build", "demo", "(no network)"], &out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(f.server.requests.load(Ordering::SeqCst), 0);
    assert_store_consistent(&f.home);
    let out = f.run(&["--offline", "env", "--target", X86]);
    assert!(out.status.success());
    assert_sysroot(&f, X86, &["demo"]);
    let _ = &f.tmp;
}

// ---- 5. zig release signatures -------------------------------------------------------------

#[test]
fn the_zig_release_is_unpacked_only_with_a_good_minisign_signature() {
    let f = fixture(vec![Pkg::new("demo")]);
    let version = "0.16.0";
    let host = format!("{}-linux", std::env::consts::ARCH);
    let file = format!("zig-{host}-{version}.tar");
    let sig_file = format!("{file}.minisig");
    // A release in the official layout whose `zig` only answers `zig version`.
    let release = {
        let script = format!("#!/bin/sh\necho {version}\n");
        let mut tar = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(script.len() as u64);
        h.set_mode(0o755);
        h.set_cksum();
        tar.append_data(
            &mut h,
            format!("zig-{host}-{version}/zig"),
            script.as_bytes(),
        )
        .unwrap();
        tar.into_inner().unwrap()
    };
    let pair = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let other = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let sign = |pair: &minisign::KeyPair, bytes: &[u8]| {
        minisign::sign(
            Some(&pair.pk),
            &pair.sk,
            std::io::Cursor::new(bytes),
            Some(&format!("file:{file}")),
            None,
        )
        .unwrap()
        .into_string()
    };
    let key = pair.pk.to_base64();
    std::fs::write(
        f.recipes.join("zig.toml"),
        format!(
            "[toolchain]\nname = \"zig\"\nversion = \"{version}\"\nversion-req = \">=0.14.1, <0.18.0\"\nlicense = \"MIT\"\nminisign-key = \"{key}\"\n\n[[toolchain.release]]\nhost = \"{host}\"\nfile = \"{file}\"\nsha256 = \"{}\"\nurls = [\"https://ziglang.invalid/{file}\"]\nminisig = \"{sig_file}\"\n",
            sha256(&release)
        ),
    )
    .unwrap();
    let unpacked = f
        .home
        .join(format!("toolchains-v1/zig-{version}-{host}/zig"));
    let fetch = |signature: Option<String>| {
        let mirror = tempfile::tempdir().unwrap();
        std::fs::write(mirror.path().join(&file), &release).unwrap();
        if let Some(s) = signature {
            std::fs::write(mirror.path().join(&sig_file), s).unwrap();
        }
        let out = Command::new(env!("CARGO_BIN_EXE_crossroot"))
            .arg("--recipes")
            .arg(&f.recipes)
            .arg("--mirror")
            .arg(mirror.path())
            .arg("--mirror")
            .arg(&f.server.base)
            .args(["fetch", "demo"])
            .env("CROSSROOT_HOME", &f.home)
            .env("CROSSROOT_DEBIAN_MIRRORS", "http://127.0.0.1:9/none")
            .env("PATH", "/usr/bin:/bin")
            .env("CROSSROOT_PYTHON", "/nonexistent/python3")
            .env_remove("ZIG")
            .output()
            .unwrap();
        show(&["fetch", "demo"], &out);
        out
    };
    let refused = |out: &Output, why: &str| {
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(out);
        for want in [sig_file.as_str(), key.as_str(), why] {
            assert!(err.contains(want), "missing `{want}` in:\n{err}");
        }
        assert!(!unpacked.exists(), "unpacked without a good signature");
        let toolchains = f.home.join("toolchains-v1");
        assert_eq!(staging(&toolchains), Vec::<String>::new());
    };

    refused(&fetch(None), "could not be fetched");
    let mut tampered = release.clone();
    tampered[600] ^= 1;
    refused(
        &fetch(Some(sign(&pair, &tampered))),
        "does not verify with minisign key",
    );
    refused(
        &fetch(Some(sign(&other, &release))),
        "does not verify with minisign key",
    );
    refused(&fetch(Some("garbage\n".into())), "not a minisign signature");

    let out = fetch(Some(sign(&pair, &release)));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(unpacked.is_file());
    assert!(stderr(&out).contains(&unpacked.display().to_string()));
}
