//! Registry credentials the way Docker, podman and skopeo find them: `$DOCKER_CONFIG/config.json`
//! (else `~/.docker/config.json`): `credHelpers` for the host, else `auths` for the host, else
//! the `credsStore`, each helper run as `docker-credential-<name> get` with the host on stdin.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub secret: String,
    /// Where they came from, for messages (never the secret).
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("could not read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a Docker client configuration ({why}); fix or move it, or point DOCKER_CONFIG at another directory"
    )]
    Parse { path: PathBuf, why: String },
    #[error(
        "the credential helper `docker-credential-{helper}` (for {host}, from {path}) failed: {why}"
    )]
    Helper {
        helper: String,
        host: String,
        path: PathBuf,
        why: String,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// The configuration file: `<dir>/config.json` for `DOCKER_CONFIG=<dir>`, else
/// `~/.docker/config.json`.
pub fn config_path(docker_config: Option<&Path>) -> Option<PathBuf> {
    match docker_config {
        Some(d) => Some(d.join("config.json")),
        None => dirs::home_dir().map(|h| h.join(".docker/config.json")),
    }
}

/// The keys `auths` may use for `host`: the bare host, and the URL forms older clients wrote.
fn auth_keys(host: &str) -> [String; 4] {
    [
        host.to_string(),
        format!("https://{host}"),
        format!("https://{host}/v1/"),
        format!("http://{host}"),
    ]
}

/// The credentials for `host` (`ghcr.io`, `127.0.0.1:5000`) in the configuration at `path`,
/// or `None` when it has none (or there is no file).
pub fn credentials(path: &Path, host: &str) -> Result<Option<Credentials>, AuthError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(AuthError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let config: DockerConfig = serde_json::from_slice(&text).map_err(|e| AuthError::Parse {
        path: path.to_path_buf(),
        why: e.to_string(),
    })?;
    if let Some(helper) = config.cred_helpers.get(host) {
        return run_helper(helper, host, path);
    }
    for k in auth_keys(host) {
        if let Some(entry) = config.auths.get(&k)
            && let Some(c) = entry_credentials(entry, path, &k)?
        {
            return Ok(Some(c));
        }
    }
    match &config.creds_store {
        Some(store) if !store.is_empty() => run_helper(store, host, path),
        _ => Ok(None),
    }
}

fn entry_credentials(
    entry: &AuthEntry,
    path: &Path,
    key: &str,
) -> Result<Option<Credentials>, AuthError> {
    let source = format!("{} (auths.\"{key}\")", path.display());
    if let (Some(u), Some(p)) = (&entry.username, &entry.password) {
        return Ok(Some(Credentials {
            username: u.clone(),
            secret: p.clone(),
            source,
        }));
    }
    let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    use base64::Engine;
    let bad = |why: &str| AuthError::Parse {
        path: path.to_path_buf(),
        why: format!("auths.\"{key}\".auth {why}"),
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|_| bad("is not base64"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad("is not UTF-8"))?;
    let (u, p) = decoded
        .split_once(':')
        .ok_or_else(|| bad("is not base64 of `user:password`"))?;
    Ok(Some(Credentials {
        username: u.to_string(),
        secret: p.to_string(),
        source,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperAnswer {
    username: String,
    secret: String,
}

fn run_helper(helper: &str, host: &str, path: &Path) -> Result<Option<Credentials>, AuthError> {
    let err = |why: String| AuthError::Helper {
        helper: helper.to_string(),
        host: host.to_string(),
        path: path.to_path_buf(),
        why,
    };
    if helper.is_empty()
        || !helper
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(err(format!("`{helper}` is not a helper name")));
    }
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| err(format!("could not run {program}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(host.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| err(format!("could not run {program}: {e}")))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stdout).trim().to_string()
            + String::from_utf8_lossy(&out.stderr).trim();
        // The protocol's answer for a host the store has nothing for.
        if said.contains("credentials not found") {
            return Ok(None);
        }
        return Err(err(format!("{}: {said}", out.status)));
    }
    let answer: HelperAnswer = serde_json::from_slice(&out.stdout).map_err(|e| {
        err(format!(
            "its answer is not the helper protocol's JSON ({e})"
        ))
    })?;
    Ok(Some(Credentials {
        username: answer.username,
        secret: answer.secret,
        source: format!("{program} (from {})", path.display()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("config.json");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn auths_give_basic_credentials_in_both_spellings() {
        let d = tempfile::tempdir().unwrap();
        use base64::Engine;
        let auth = base64::engine::general_purpose::STANDARD.encode("ci:s3cret:with:colons");
        let p = write(
            d.path(),
            &format!(
                r#"{{"auths": {{"127.0.0.1:5000": {{"auth": "{auth}"}}, "https://reg.example": {{"username": "u", "password": "p"}}}}}}"#
            ),
        );
        let c = credentials(&p, "127.0.0.1:5000").unwrap().unwrap();
        assert_eq!(
            (c.username.as_str(), c.secret.as_str()),
            ("ci", "s3cret:with:colons")
        );
        let c = credentials(&p, "reg.example").unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.secret.as_str()), ("u", "p"));
        assert_eq!(credentials(&p, "other:1").unwrap(), None);
        assert_eq!(
            credentials(&d.path().join("missing.json"), "x").unwrap(),
            None
        );
    }

    #[test]
    fn a_broken_config_or_helper_is_an_error_that_names_it() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), r#"{"auths": {"h": {"auth": "%%%"}}}"#);
        let e = credentials(&p, "h").unwrap_err().to_string();
        assert!(e.contains("config.json") && e.contains("not base64"), "{e}");
        let p = write(d.path(), "not json");
        let e = credentials(&p, "h").unwrap_err().to_string();
        assert!(e.contains("is not a Docker client configuration"), "{e}");
        let p = write(d.path(), r#"{"credHelpers": {"h": "crossroot-test-none"}}"#);
        let e = credentials(&p, "h").unwrap_err().to_string();
        assert!(e.contains("docker-credential-crossroot-test-none"), "{e}");
        let p = write(d.path(), r#"{"credsStore": "../evil"}"#);
        let e = credentials(&p, "h").unwrap_err().to_string();
        assert!(e.contains("not a helper name"), "{e}");
    }
}
