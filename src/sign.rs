//! Signing keys and signatures for what crossroot shares: bundles now, registry entries next.
//!
//! The format is minisign's (Ed25519), so `minisign -Vm FILE -p crossroot.pub` checks what
//! crossroot signed without crossroot: a key pair is `crossroot.key` (secret, unencrypted so CI
//! can use it from a secret variable, mode 0600) and `crossroot.pub`; a signature is the text
//! of a `.minisig` file.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// File names `keygen` writes.
pub const SECRET_KEY_FILE: &str = "crossroot.key";
pub const PUBLIC_KEY_FILE: &str = "crossroot.pub";

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("could not {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path} exists already: crossroot never overwrites a key; move it away or pass another --out"
    )]
    KeyExists { path: PathBuf },
    #[error("could not make a key pair: {0}")]
    Generate(String),
    #[error(
        "{path} is not a crossroot (minisign) secret key ({why}); make one with `crossroot cache keygen --out DIR`"
    )]
    BadSecretKey { path: PathBuf, why: String },
    #[error(
        "{path} is not a minisign public key ({why}); pass the crossroot.pub that `crossroot cache keygen` wrote"
    )]
    BadPublicKey { path: PathBuf, why: String },
    #[error("could not sign {what}: {why}")]
    Sign { what: String, why: String },
    #[error(
        "{what} has no signature: expected {expected}; it was signed with `--sign-key`, or it is not trusted"
    )]
    Unsigned { what: String, expected: String },
    #[error("{what}: its signature is not a minisign signature ({why})")]
    BadSignature { what: String, why: String },
    #[error(
        "{what} is signed by key {found}, which is not among the trusted keys ({trusted}); pass that key's crossroot.pub with --trust if you trust it"
    )]
    UntrustedKey {
        what: String,
        found: String,
        trusted: String,
    },
    #[error(
        "{what}: the signature by trusted key {key} does not match its bytes: it was changed after it was signed, or the signature belongs to something else"
    )]
    Mismatch { what: String, key: String },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> SignError {
    let path = path.to_path_buf();
    move |source| SignError::Io {
        action,
        path,
        source,
    }
}

/// minisign's key id: the key number as a 16-digit hex number, as `minisign` prints it.
fn key_id(keynum: &[u8]) -> String {
    let mut n = [0u8; 8];
    n.copy_from_slice(&keynum[..8]);
    format!("{:016X}", u64::from_le_bytes(n))
}

/// Writes a new key pair into `dir` (created if needed); refuses to overwrite either file.
/// Returns the two paths and the key id.
pub fn keygen(dir: &Path) -> Result<(PathBuf, PathBuf, String), SignError> {
    fs::create_dir_all(dir).map_err(io_err("create", dir))?;
    let secret = dir.join(SECRET_KEY_FILE);
    let public = dir.join(PUBLIC_KEY_FILE);
    for p in [&secret, &public] {
        if fs::symlink_metadata(p).is_ok() {
            return Err(SignError::KeyExists { path: p.clone() });
        }
    }
    let pair = minisign::KeyPair::generate_unencrypted_keypair()
        .map_err(|e| SignError::Generate(e.to_string()))?;
    let sk_text = pair
        .sk
        .to_box(Some("crossroot secret key"))
        .map_err(|e| SignError::Generate(e.to_string()))?
        .to_string();
    let pk_text = pair
        .pk
        .to_box()
        .map_err(|e| SignError::Generate(e.to_string()))?
        .to_string();
    let id = key_id(pair.pk.keynum());
    write_new(&secret, sk_text.as_bytes(), 0o600)?;
    write_new(&public, pk_text.as_bytes(), 0o644)?;
    Ok((secret, public, id))
}

/// Creates `path` (never replacing anything, never through a link) with `mode`.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), SignError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                SignError::KeyExists {
                    path: path.to_path_buf(),
                }
            } else {
                io_err("create", path)(e)
            }
        })?;
    f.write_all(bytes).map_err(io_err("write", path))
}

/// A secret key read from a `crossroot.key`.
pub struct SigningKey {
    sk: minisign::SecretKey,
    pk: minisign::PublicKey,
    pub id: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.id)
    }
}

impl SigningKey {
    pub fn load(path: &Path) -> Result<SigningKey, SignError> {
        let text = fs::read_to_string(path).map_err(io_err("read the signing key", path))?;
        let bad = |why: String| SignError::BadSecretKey {
            path: path.to_path_buf(),
            why,
        };
        let sk = minisign::SecretKeyBox::from_string(&text)
            .and_then(|b| b.into_unencrypted_secret_key())
            .map_err(|e| bad(e.to_string()))?;
        let pk = minisign::PublicKey::from_secret_key(&sk).map_err(|e| bad(e.to_string()))?;
        let id = key_id(pk.keynum());
        Ok(SigningKey { sk, pk, id })
    }

    /// This key's public half, as a trusted key (to check what it signed before).
    pub fn trusted(&self) -> TrustedKey {
        let b64 = self.pk.to_base64();
        TrustedKey {
            key: minisign_verify::PublicKey::from_base64(&b64)
                .expect("a minisign public key decodes"),
            id: self.id.clone(),
            path: PathBuf::from("(the signing key)"),
        }
    }

    /// The text of a `.minisig` for the bytes `data` yields; `what` goes into the trusted
    /// comment (signed too) and into errors.
    pub fn sign(&self, data: impl Read, what: &str) -> Result<String, SignError> {
        let comment = format!("crossroot: {what}");
        let sig = minisign::sign(
            Some(&self.pk),
            &self.sk,
            data,
            Some(&comment),
            Some("signature from a crossroot secret key"),
        )
        .map_err(|e| SignError::Sign {
            what: what.to_string(),
            why: e.to_string(),
        })?;
        Ok(sig.to_string())
    }
}

/// A public key the user trusts, from a `crossroot.pub` given with `--trust`.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    key: minisign_verify::PublicKey,
    pub id: String,
    pub path: PathBuf,
}

impl TrustedKey {
    pub fn load(path: &Path) -> Result<TrustedKey, SignError> {
        let text = fs::read_to_string(path).map_err(io_err("read the trusted key", path))?;
        let bad = |why: String| SignError::BadPublicKey {
            path: path.to_path_buf(),
            why,
        };
        let key = minisign_verify::PublicKey::decode(text.trim())
            .or_else(|_| minisign_verify::PublicKey::from_base64(text.trim()))
            .map_err(|e| bad(e.to_string()))?;
        let id = public_key_id(text.trim()).ok_or_else(|| bad("no key id".into()))?;
        Ok(TrustedKey {
            key,
            id,
            path: path.to_path_buf(),
        })
    }
}

/// The key id of a public key's text (a `.pub` file or its base64 line).
fn public_key_id(text: &str) -> Option<String> {
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    let bytes = base64_decode(line.trim())?;
    (bytes.len() == 42).then(|| key_id(&bytes[2..10]))
}

/// The key id a signature names (its second line: algorithm, key number, signature).
fn signature_key_id(sig_text: &str) -> Option<String> {
    let line = sig_text.lines().nth(1)?;
    let bytes = base64_decode(line.trim())?;
    (bytes.len() == 74).then(|| key_id(&bytes[2..10]))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// Checks that `sig_text` (a `.minisig`) signs the bytes `data` yields with one of `trusted`;
/// returns the id of the key that signed. `what` names the thing in errors (a file, a
/// registry reference).
pub fn verify(
    trusted: &[TrustedKey],
    sig_text: &str,
    mut data: impl Read,
    what: &str,
) -> Result<String, SignError> {
    let sig =
        minisign_verify::Signature::decode(sig_text).map_err(|e| SignError::BadSignature {
            what: what.to_string(),
            why: e.to_string(),
        })?;
    let found = signature_key_id(sig_text).unwrap_or_else(|| "(unreadable)".into());
    let Some(key) = trusted.iter().find(|k| k.id == found) else {
        return Err(SignError::UntrustedKey {
            what: what.to_string(),
            found,
            trusted: trusted_list(trusted),
        });
    };
    let mismatch = || SignError::Mismatch {
        what: what.to_string(),
        key: key.id.clone(),
    };
    let mut verifier = key.key.verify_stream(&sig).map_err(|_| mismatch())?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = data.read(&mut buf).map_err(|source| SignError::Io {
            action: "read",
            path: PathBuf::from(what),
            source,
        })?;
        if n == 0 {
            break;
        }
        verifier.update(&buf[..n]);
    }
    verifier.finalize().map_err(|_| mismatch())?;
    Ok(key.id.clone())
}

/// The trusted keys as the messages name them: `ID (path)`, comma-separated.
pub fn trusted_list(trusted: &[TrustedKey]) -> String {
    if trusted.is_empty() {
        return "none given".into();
    }
    trusted
        .iter()
        .map(|k| format!("{} ({})", k.id, k.path.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_its_key_only_and_only_for_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (a_sk, a_pk, a_id) = keygen(&dir.path().join("a")).unwrap();
        let (_, b_pk, b_id) = keygen(&dir.path().join("b")).unwrap();
        assert_ne!(a_id, b_id);
        let key = SigningKey::load(&a_sk).unwrap();
        assert_eq!(key.id, a_id);
        let sig = key.sign(&b"the bytes"[..], "test data").unwrap();
        assert!(
            sig.contains("trusted comment: crossroot: test data"),
            "{sig}"
        );
        let a = TrustedKey::load(&a_pk).unwrap();
        let b = TrustedKey::load(&b_pk).unwrap();
        assert_eq!(a.id, a_id);
        assert_eq!(
            verify(&[b.clone(), a.clone()], &sig, &b"the bytes"[..], "x").unwrap(),
            a_id
        );
        let e = verify(std::slice::from_ref(&a), &sig, &b"other bytes"[..], "x").unwrap_err();
        assert!(matches!(e, SignError::Mismatch { .. }), "{e}");
        let e = verify(&[b], &sig, &b"the bytes"[..], "x").unwrap_err();
        assert!(e.to_string().contains(&a_id), "{e}");
        assert!(e.to_string().contains(&b_id), "{e}");
        let e = verify(&[a], "not a signature", &b"the bytes"[..], "x").unwrap_err();
        assert!(matches!(e, SignError::BadSignature { .. }), "{e}");
    }

    #[test]
    fn keygen_never_overwrites_and_keeps_the_secret_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (sk, _, _) = keygen(dir.path()).unwrap();
        let mode = fs::metadata(&sk).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let before = fs::read(&sk).unwrap();
        let e = keygen(dir.path()).unwrap_err();
        assert!(matches!(e, SignError::KeyExists { .. }), "{e}");
        assert_eq!(fs::read(&sk).unwrap(), before);
    }

    #[test]
    fn files_that_are_not_keys_are_refused_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("junk");
        fs::write(&f, "hello\n").unwrap();
        let e = SigningKey::load(&f).unwrap_err().to_string();
        assert!(e.contains("junk") && e.contains("cache keygen"), "{e}");
        let e = TrustedKey::load(&f).unwrap_err().to_string();
        assert!(e.contains("junk") && e.contains("public key"), "{e}");
    }
}
