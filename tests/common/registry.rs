//! A real OCI registry for the tests: Debian's `docker-registry` (distribution 2.8) on
//! 127.0.0.1 with its own configuration file and storage, plain or with TLS (a CA made here
//! with `openssl`) and htpasswd users; stopped when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::require_tool;

pub struct TestRegistry {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    pub config: PathBuf,
    /// The CA certificate a TLS registry's certificate is signed with.
    pub ca: Option<PathBuf>,
}

/// A CA and a server certificate for 127.0.0.1 signed by it, in `dir`; returns
/// (ca.pem, server.pem, server.key).
pub fn make_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = require_tool("openssl", "openssl");
    let run = |args: &[&str]| {
        let out = Command::new(&openssl)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("san.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=crossroot test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
        "-out",
        "server.pem",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// An htpasswd file (bcrypt, as distribution requires) with one user.
pub fn make_htpasswd(dir: &Path, user: &str, password: &str) -> PathBuf {
    let htpasswd = require_tool("htpasswd", "apache2-utils");
    let out = Command::new(htpasswd)
        .args(["-Bbn", user, password])
        .output()
        .unwrap();
    assert!(out.status.success());
    let p = dir.join("htpasswd");
    std::fs::write(&p, out.stdout).unwrap();
    p
}

fn spawn(bin: &Path, config: &Path) -> Child {
    Command::new(bin)
        .arg("serve")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TestRegistry {
    /// A plain-http registry.
    pub fn plain(dir: &Path) -> TestRegistry {
        Self::start(dir, None, None)
    }

    /// A registry over TLS (its CA in `.ca`) that wants `user`/`password`.
    pub fn tls_with_login(dir: &Path, user: &str, password: &str) -> TestRegistry {
        std::fs::create_dir_all(dir).unwrap();
        let certs = make_certificates(dir);
        let htpasswd = make_htpasswd(dir, user, password);
        Self::start(dir, Some(certs), Some(htpasswd))
    }

    fn start(
        dir: &Path,
        tls: Option<(PathBuf, PathBuf, PathBuf)>,
        htpasswd: Option<PathBuf>,
    ) -> TestRegistry {
        let bin = require_tool("docker-registry", "docker-registry");
        std::fs::create_dir_all(dir.join("storage")).unwrap();
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("storage").display()
        );
        if let Some((_, cert, key)) = &tls {
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
        }
        if let Some(h) = &htpasswd {
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: crossroot-test\n    path: {}\n",
                h.display()
            ));
        }
        let config_path = dir.join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let mut r = TestRegistry {
            child: None,
            port,
            dir: dir.to_path_buf(),
            config: config_path,
            ca: tls.map(|t| t.0),
        };
        r.child = Some(spawn(&bin, &r.config));
        r.wait_ready();
        r
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "docker-registry did not listen on 127.0.0.1:{}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:<port>/<repo>`.
    pub fn repo(&self, repo: &str) -> String {
        format!("{}/{repo}", self.host())
    }

    /// The file a blob's bytes are kept in.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir.join(format!(
            "storage/docker/registry/v2/blobs/sha256/{}/{hex}/data",
            &hex[..2]
        ))
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and storage.
    pub fn restart(&mut self) {
        self.stop();
        let bin = require_tool("docker-registry", "docker-registry");
        self.child = Some(spawn(&bin, &self.config));
        self.wait_ready();
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `skopeo` with the given arguments; its output, which must be a success.
pub fn skopeo(args: &[&str]) -> String {
    let bin = require_tool("skopeo", "skopeo");
    let out = Command::new(bin).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the [`FaultProxy`] does to the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Pass everything through.
    None,
    /// Answer the next `n` API requests (not the `/v2/` probes) with 429 Too Many Requests
    /// and `Retry-After: 1`.
    TooMany(usize),
    /// Cut the next `n` blob downloads after `after` bytes of the response.
    CutBlobGet { after: usize, n: usize },
    /// Drop the connection of the next `n` blob uploads after reading them, answering nothing
    /// (the registry died mid-push).
    DropUpload(usize),
}

/// An HTTP proxy on 127.0.0.1 in front of a test registry that injects [`Fault`]s; one request
/// per connection (it answers `Connection: close`), which is all a fault needs.
pub struct FaultProxy {
    pub port: u16,
    fault: std::sync::Arc<std::sync::Mutex<Fault>>,
    /// `METHOD path -> status` of every request, in order.
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

fn read_head(s: &mut std::net::TcpStream) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).ok()? == 0 {
            return None;
        }
        // A TLS ClientHello (a client trying https first): this proxy speaks plain http.
        if head.is_empty() && b[0] == 0x16 {
            return None;
        }
        head.push(b[0]);
    }
    Some(head)
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// `head` with its `Connection` header replaced by `Connection: close`.
fn closing(head: &str) -> String {
    let mut out: Vec<&str> = head
        .trim_end_matches("\r\n")
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    out.push("Connection: close");
    out.join("\r\n") + "\r\n\r\n"
}

impl FaultProxy {
    pub fn start(upstream: u16) -> FaultProxy {
        use std::io::{Read, Write};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let fault = std::sync::Arc::new(std::sync::Mutex::new(Fault::None));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (f, log) = (fault.clone(), seen.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut client) = conn else { continue };
                let (f, log) = (f.clone(), log.clone());
                std::thread::spawn(move || {
                    let Some(head) = read_head(&mut client) else {
                        return;
                    };
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let line = head.lines().next().unwrap_or_default().to_string();
                    let mut parts = line.split(' ');
                    let (method, path) = (
                        parts.next().unwrap_or_default().to_string(),
                        parts.next().unwrap_or_default().to_string(),
                    );
                    let len: usize = header(&head, "content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0u8; len];
                    if client.read_exact(&mut body).is_err() {
                        return;
                    }
                    let note = |status: &str| {
                        log.lock()
                            .unwrap()
                            .push(format!("{method} {path} -> {status}"));
                    };
                    let is_blob_get = method == "GET" && path.contains("/blobs/sha256:");
                    let is_upload =
                        path.contains("/blobs/uploads/") && (method == "PATCH" || method == "PUT");
                    let mut cut = None;
                    {
                        let mut fault = f.lock().unwrap();
                        match *fault {
                            Fault::TooMany(n) if n > 0 && path != "/v2/" => {
                                *fault = if n > 1 {
                                    Fault::TooMany(n - 1)
                                } else {
                                    Fault::None
                                };
                                drop(fault);
                                note("429");
                                let _ = client.write_all(
                                    b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                                );
                                return;
                            }
                            Fault::DropUpload(n) if n > 0 && is_upload => {
                                *fault = if n > 1 {
                                    Fault::DropUpload(n - 1)
                                } else {
                                    Fault::None
                                };
                                drop(fault);
                                note("dropped");
                                return;
                            }
                            Fault::CutBlobGet { after, n } if n > 0 && is_blob_get => {
                                *fault = if n > 1 {
                                    Fault::CutBlobGet { after, n: n - 1 }
                                } else {
                                    Fault::None
                                };
                                cut = Some(after);
                            }
                            _ => {}
                        }
                    }
                    let Ok(mut up) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                        note("upstream down");
                        return;
                    };
                    if up.write_all(closing(&head).as_bytes()).is_err()
                        || up.write_all(&body).is_err()
                    {
                        return;
                    }
                    let mut response = Vec::new();
                    let _ = up.read_to_end(&mut response);
                    let split = response
                        .windows(4)
                        .position(|w| w == b"\r\n\r\n")
                        .map(|p| p + 4)
                        .unwrap_or(response.len());
                    let rhead = String::from_utf8_lossy(&response[..split]).into_owned();
                    note(rhead.split(' ').nth(1).unwrap_or("?"));
                    let mut out = closing(&rhead).into_bytes();
                    out.extend_from_slice(&response[split..]);
                    if let Some(after) = cut {
                        out.truncate((closing(&rhead).len() + after).min(out.len()));
                    }
                    let _ = client.write_all(&out);
                });
            }
        });
        FaultProxy { port, fault, seen }
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    /// How many answers had this status (or `dropped`).
    pub fn count(&self, status: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.ends_with(&format!("-> {status}")))
            .count()
    }
}
