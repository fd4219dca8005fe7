//! OpenPGP: the signing keys a recipe pins, and the detached signatures (`.asc`) of its sources.
//!
//! A signature is accepted when it is a binary-document signature with a strong hash, made by
//! the primary key or a signing subkey of a certificate whose primary fingerprint the recipe
//! lists, and when that key was valid *at the time the signature was made*: created before it,
//! not expired then (by the self-signature in force at that time), and not revoked. A revocation
//! that says "superseded" or "retired" counts from its date on; any other (compromised, no
//! reason) counts for every signature, earlier ones too. A key that expired after it signed a
//! release still verifies that release: OpenSSL's key signed 3.5.7 in June 2026 and expired in
//! September 2026.

use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey, SignedPublicSubKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{RevocationCode, Signature, SignatureType, SubpacketData};
use pgp::types::{KeyDetails, Tag, Timestamp};

/// The certificates (primary keys with their subkeys and self-signatures) of one key file.
#[derive(Debug, Clone)]
pub struct Keyring {
    certs: Vec<SignedPublicKey>,
}

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("is not an OpenPGP public key file: {0}")]
    Parse(String),
    #[error("holds no OpenPGP public key")]
    Empty,
    #[error("holds no primary key with fingerprint {fingerprint}; it holds {held}")]
    NotInFile { fingerprint: String, held: String },
}

/// A signature that cannot be accepted.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("could not read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Why no signature in the file was accepted, in words.
    #[error("{0}")]
    Refused(String),
}

/// A signature accepted over a file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The primary key fingerprint the recipe pins (upper-case hex).
    pub primary: String,
    /// The key that signed: the primary key or one of its subkeys (upper-case hex).
    pub signer: String,
    /// When the signature was made, in seconds since the Unix epoch.
    pub created: u32,
}

/// A signature made by a pinned key that was valid when the signature was made. Its bytes are
/// not checked against any file yet: [`verify_file`] does that.
#[derive(Debug, Clone)]
pub struct Vetted<'k> {
    signature: Signature,
    cert: &'k SignedPublicKey,
    subkey: Option<&'k SignedPublicSubKey>,
    pub verified: Verified,
}

/// Upper-case hex of a fingerprint, the way gpg and the recipes print it.
fn hex_upper(fp: &impl std::fmt::UpperHex) -> String {
    format!("{fp:X}")
}

/// `2026-06-09T11:57:19Z`.
fn date(secs: u32) -> String {
    crate::time::timestamp(u64::from(secs))
}

/// A recipe's fingerprint in canonical form (upper-case hex, no spaces), if it is one: 40 hex
/// digits (v4 keys) or 64 (v6 keys).
pub fn normalize_fingerprint(s: &str) -> Option<String> {
    let hex: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let ok = matches!(hex.len(), 40 | 64) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| hex.to_ascii_uppercase())
}

/// Parses every object in `bytes`: binary packets, or each ASCII-armored block in turn (key
/// files and signature files are often several armored blocks one after the other, which the
/// library reads only the first of).
fn parse_all<T: Deserializable>(bytes: &[u8]) -> pgp::errors::Result<Vec<T>> {
    const BEGIN: &[u8] = b"-----BEGIN PGP ";
    let starts: Vec<usize> = bytes
        .windows(BEGIN.len())
        .enumerate()
        .filter(|(i, w)| *w == BEGIN && (*i == 0 || bytes[i - 1] == b'\n'))
        .map(|(i, _)| i)
        .collect();
    if starts.is_empty() {
        let (items, _) = T::from_reader_many(bytes)?;
        return items.collect();
    }
    let mut out = Vec::new();
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(bytes.len());
        let (items, _) = T::from_armor_many(&bytes[start..end])?;
        for item in items {
            out.push(item?);
        }
    }
    Ok(out)
}

/// What is wrong with OpenPGP data the library refused, in our words: its messages are for
/// its developers (some are assertion texts with the bytes compared, some `Debug` dumps).
fn malformed(e: &pgp::errors::Error) -> &'static str {
    use pgp::errors::Error as E;
    match e {
        E::InvalidArmorWrappers | E::InvalidChecksum | E::Base64Decode { .. } => {
            "its ASCII armor is damaged"
        }
        E::PacketIncomplete { .. } | E::IO { .. } => "it is cut short",
        E::Unsupported { .. } | E::Unimplemented { .. } => {
            "it uses a version or algorithm of OpenPGP that crossroot does not read"
        }
        _ => "its packets are malformed",
    }
}

impl Keyring {
    /// Reads an ASCII-armored or binary key file with one or more certificates.
    pub fn parse(bytes: &[u8]) -> Result<Keyring, KeyError> {
        let certs: Vec<SignedPublicKey> =
            parse_all(bytes).map_err(|e| KeyError::Parse(malformed(&e).to_string()))?;
        if certs.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Keyring { certs })
    }

    /// The primary key fingerprints, in file order.
    pub fn fingerprints(&self) -> Vec<String> {
        self.certs
            .iter()
            .map(|c| hex_upper(&c.fingerprint()))
            .collect()
    }

    fn cert(&self, fingerprint: &str) -> Option<&SignedPublicKey> {
        self.certs
            .iter()
            .find(|c| hex_upper(&c.fingerprint()) == fingerprint)
    }

    /// Checks that every pinned fingerprint names a primary key here. (Its self-signatures are
    /// checked when it verifies a signature: that costs public-key operations, which every
    /// command that loads the recipes would pay otherwise.)
    pub fn check_pinned(&self, pinned: &[String]) -> Result<(), KeyError> {
        for fp in pinned {
            if self.cert(fp).is_none() {
                return Err(KeyError::NotInFile {
                    fingerprint: fp.clone(),
                    held: self.fingerprints().join(", "),
                });
            }
        }
        Ok(())
    }

    /// The expiry time of a primary key by its newest valid self-signature, if it has one.
    pub fn expiry(&self, fingerprint: &str) -> Option<u32> {
        let cert = self.cert(fingerprint)?;
        let newest = self_signatures(cert)
            .into_iter()
            .max_by_key(|s| created(s))?;
        expiry(cert.primary_key.created_at(), newest)
    }
}

/// Hashes strong enough to rely on for a signature (MD5, SHA-1 and RIPEMD-160 are not).
fn strong_hash(sig: &Signature) -> Result<(), String> {
    match sig.hash_alg() {
        Some(
            HashAlgorithm::Sha224
            | HashAlgorithm::Sha256
            | HashAlgorithm::Sha384
            | HashAlgorithm::Sha512
            | HashAlgorithm::Sha3_256
            | HashAlgorithm::Sha3_512,
        ) => Ok(()),
        Some(other) => Err(format!(
            "it uses the {other} hash, which is too weak to rely on"
        )),
        None => Err("its hash algorithm is unknown".into()),
    }
}

fn created(sig: &Signature) -> u32 {
    sig.created().map(Timestamp::as_secs).unwrap_or(0)
}

/// Whether `sig` names `key` as its issuer (or names no issuer at all).
fn issued_by(sig: &Signature, key: &impl KeyDetails) -> bool {
    let fps = sig.issuer_fingerprint();
    let ids = sig.issuer_key_id();
    (fps.is_empty() && ids.is_empty())
        || fps.iter().any(|f| **f == key.fingerprint())
        || ids.iter().any(|i| **i == key.legacy_key_id())
}

/// The signature itself has an expiry and it has passed at `t`.
fn sig_expired_at(sig: &Signature, t: u32) -> bool {
    match sig.signature_expiration_time().map(|d| d.as_secs()) {
        Some(d) if d > 0 => u64::from(created(sig)) + u64::from(d) <= u64::from(t),
        _ => false,
    }
}

/// When a key expires by a binding signature: its creation time plus the key expiration time.
fn expiry(key_created: Timestamp, binding: &Signature) -> Option<u32> {
    match binding.key_expiration_time().map(|d| d.as_secs()) {
        Some(d) if d > 0 => Some(key_created.as_secs().saturating_add(d)),
        _ => None,
    }
}

fn has_key_flags(sig: &Signature) -> bool {
    sig.config().is_some_and(|c| {
        c.hashed_subpackets()
            .any(|p| matches!(p.data, SubpacketData::KeyFlags(_)))
    })
}

/// The primary key's valid self-signatures: direct-key signatures and its certifications of
/// its own user IDs, with a strong hash. Third parties' certifications are not among them.
fn self_signatures(cert: &SignedPublicKey) -> Vec<&Signature> {
    let key = &cert.primary_key;
    let direct = cert.details.direct_signatures.iter().filter(|s| {
        s.typ() == Some(SignatureType::Key)
            && issued_by(s, key)
            && strong_hash(s).is_ok()
            && s.verify_key(key).is_ok()
    });
    let users = cert.details.users.iter().flat_map(|u| {
        u.signatures.iter().filter(move |s| {
            s.is_certification()
                && s.typ() != Some(SignatureType::CertRevocation)
                && issued_by(s, key)
                && strong_hash(s).is_ok()
                && s.verify_certification(key, Tag::UserId, &u.id).is_ok()
        })
    });
    direct.chain(users).collect()
}

/// The newest of `sigs` made at or before `t` and not expired then: the one in force at `t`.
fn in_force_at<'a>(sigs: impl IntoIterator<Item = &'a Signature>, t: u32) -> Option<&'a Signature> {
    sigs.into_iter()
        .filter(|s| created(s) <= t && !sig_expired_at(s, t))
        .max_by_key(|s| created(s))
}

/// Soft revocations (superseded, retired) apply from their date; all others always.
fn revocation_applies(rev: &Signature, t: u32) -> Option<String> {
    let soft = matches!(
        rev.revocation_reason_code(),
        Some(RevocationCode::KeySuperseded | RevocationCode::KeyRetired)
            | Some(RevocationCode::CertUserIdInvalid)
    );
    let reason = match rev.revocation_reason_code() {
        Some(code) => format!("{code:?}"),
        None => "no reason given".into(),
    };
    let text = rev
        .revocation_reason_string()
        .map(|b| String::from_utf8_lossy(b).trim().to_string())
        .filter(|s| !s.is_empty())
        .map(|s| format!(": \"{s}\""))
        .unwrap_or_default();
    if !soft {
        Some(format!(
            "was revoked on {} ({reason}{text}), which invalidates every signature it made",
            date(created(rev))
        ))
    } else if created(rev) <= t {
        Some(format!(
            "was revoked on {} ({reason}{text}), before the signature was made",
            date(created(rev))
        ))
    } else {
        None
    }
}

/// Checks that `cert`'s primary key, and `subkey` if it signed, were valid at `t` and may sign.
fn valid_at(
    cert: &SignedPublicKey,
    subkey: Option<&SignedPublicSubKey>,
    t: u32,
) -> Result<(), String> {
    let primary = &cert.primary_key;
    let pfp = hex_upper(&primary.fingerprint());
    if t < primary.created_at().as_secs() {
        return Err(format!(
            "the signature ({}) is older than key {pfp} ({})",
            date(t),
            date(primary.created_at().as_secs())
        ));
    }
    for rev in &cert.details.revocation_signatures {
        if rev.typ() == Some(SignatureType::KeyRevocation)
            && issued_by(rev, primary)
            && rev.verify_key(primary).is_ok()
            && let Some(why) = revocation_applies(rev, t)
        {
            return Err(format!("key {pfp} {why}"));
        }
    }
    let selfsigs = self_signatures(cert);
    let binding = in_force_at(selfsigs.iter().copied(), t).ok_or_else(|| {
        format!(
            "key {pfp} has no valid self-signature made before the signature ({})",
            date(t)
        )
    })?;
    if let Some(end) = expiry(primary.created_at(), binding)
        && t >= end
    {
        return Err(format!(
            "key {pfp} expired on {}, before the signature was made on {}",
            date(end),
            date(t)
        ));
    }
    let Some(sub) = subkey else {
        if has_key_flags(binding) && !binding.key_flags().sign() {
            return Err(format!("key {pfp} is not marked for signing"));
        }
        return Ok(());
    };
    let sfp = hex_upper(&sub.key.fingerprint());
    if t < sub.key.created_at().as_secs() {
        return Err(format!(
            "the signature ({}) is older than subkey {sfp} ({})",
            date(t),
            date(sub.key.created_at().as_secs())
        ));
    }
    let binds = |s: &&Signature| {
        issued_by(s, primary) && s.verify_subkey_binding(primary, &sub.key).is_ok()
    };
    for rev in sub
        .signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyRevocation))
        .filter(binds)
    {
        if let Some(why) = revocation_applies(rev, t) {
            return Err(format!("subkey {sfp} of {pfp} {why}"));
        }
    }
    let bindings = sub
        .signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding) && strong_hash(s).is_ok())
        .filter(binds);
    let binding = in_force_at(bindings, t).ok_or_else(|| {
        format!(
            "subkey {sfp} has no valid binding to {pfp} made before the signature ({})",
            date(t)
        )
    })?;
    if !binding.key_flags().sign() {
        return Err(format!("subkey {sfp} of {pfp} is not marked for signing"));
    }
    // A signing subkey must sign the primary back, or anyone could bind someone else's key.
    let back = binding.embedded_signature().ok_or_else(|| {
        format!("subkey {sfp} of {pfp} lacks the primary key binding (back-)signature")
    })?;
    if strong_hash(back).is_err() || back.verify_primary_key_binding(&sub.key, primary).is_err() {
        return Err(format!(
            "subkey {sfp} of {pfp} has an invalid primary key binding (back-)signature"
        ));
    }
    if let Some(end) = expiry(sub.key.created_at(), binding)
        && t >= end
    {
        return Err(format!(
            "subkey {sfp} of {pfp} expired on {}, before the signature was made on {}",
            date(end),
            date(t)
        ));
    }
    Ok(())
}

fn issuer_description(sig: &Signature) -> String {
    if let Some(fp) = sig.issuer_fingerprint().first() {
        format!("key {}", hex_upper(*fp))
    } else if let Some(id) = sig.issuer_key_id().first() {
        format!("key ID {}", id.to_string().to_ascii_uppercase())
    } else {
        "an unnamed key".into()
    }
}

fn vet_one<'k>(
    certs: &[&'k SignedPublicKey],
    pinned: &[String],
    sig: &Signature,
    now: u32,
) -> Result<Vetted<'k>, String> {
    if sig.typ() != Some(SignatureType::Binary) {
        return Err(format!(
            "it is a {:?} signature, not a signature of a binary file",
            sig.typ()
        ));
    }
    strong_hash(sig)?;
    let t = sig
        .created()
        .map(Timestamp::as_secs)
        .ok_or("it has no creation time")?;
    if sig_expired_at(sig, now) {
        return Err(format!("the signature made on {} has expired", date(t)));
    }
    let mut reasons = Vec::new();
    let mut candidates = 0;
    for &cert in certs {
        let keys = std::iter::once(None).chain(cert.public_subkeys.iter().map(Some));
        for subkey in keys {
            let matches = match subkey {
                None => issued_by(sig, &cert.primary_key),
                Some(s) => issued_by(sig, &s.key),
            };
            if !matches {
                continue;
            }
            candidates += 1;
            match valid_at(cert, subkey, t) {
                Ok(()) => {
                    let signer = match subkey {
                        None => cert.fingerprint(),
                        Some(s) => s.key.fingerprint(),
                    };
                    return Ok(Vetted {
                        signature: sig.clone(),
                        cert,
                        subkey,
                        verified: Verified {
                            primary: hex_upper(&cert.fingerprint()),
                            signer: hex_upper(&signer),
                            created: t,
                        },
                    });
                }
                Err(why) => reasons.push(why),
            }
        }
    }
    if candidates == 0 {
        return Err(format!(
            "it was made on {} by {}, which is not a pinned key ({}) nor one of their subkeys",
            date(t),
            issuer_description(sig),
            pinned.join(", ")
        ));
    }
    Err(reasons.join("; "))
}

/// The signatures in `signature` (one `.asc` may hold several) made by a key of `keys` whose
/// primary fingerprint is in `pinned`, valid when they were made. `now` (seconds since the
/// epoch) only decides whether a signature with its own expiry time has expired.
pub fn vet<'k>(
    keys: &'k Keyring,
    pinned: &[String],
    signature: &[u8],
    now: u32,
) -> Result<Vec<Vetted<'k>>, String> {
    let sigs: Vec<DetachedSignature> =
        parse_all(signature).map_err(|e| format!("not an OpenPGP signature: {}", malformed(&e)))?;
    if sigs.is_empty() {
        return Err("the file holds no OpenPGP signature".into());
    }
    let certs: Vec<&SignedPublicKey> = pinned.iter().filter_map(|fp| keys.cert(fp)).collect();
    let mut vetted = Vec::new();
    let mut reasons = Vec::new();
    for s in &sigs {
        match vet_one(&certs, pinned, &s.signature, now) {
            Ok(v) => vetted.push(v),
            Err(why) => reasons.push(why),
        }
    }
    if vetted.is_empty() {
        Err(reasons.join("; "))
    } else {
        Ok(vetted)
    }
}

/// Passes reads through and keeps the first I/O error, so that a read failure is reported as
/// one and not as a signature that does not match.
struct Tracked<R> {
    inner: R,
    error: Option<io::Error>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if self.error.is_none() {
                self.error = Some(io::Error::new(e.kind(), e.to_string()));
            }
        })
    }
}

/// Checks that `signature` holds a signature over the bytes of `path` by a pinned key that was
/// valid when it signed (see the module documentation). Reads the file once per candidate
/// signature (normally one).
pub fn verify_file(
    keys: &Keyring,
    pinned: &[String],
    signature: &[u8],
    path: &Path,
    now: u32,
) -> Result<Verified, VerifyError> {
    let vetted = vet(keys, pinned, signature, now).map_err(VerifyError::Refused)?;
    let mut reasons = Vec::new();
    for v in vetted {
        let io_err = |source| VerifyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io_err)?;
        let mut reader = Tracked {
            inner: BufReader::with_capacity(1 << 20, file),
            error: None,
        };
        let result = match v.subkey {
            Some(sub) => v.signature.verify(&sub.key, &mut reader),
            None => v.signature.verify(&v.cert.primary_key, &mut reader),
        };
        if let Some(e) = reader.error {
            return Err(io_err(e));
        }
        let what = format!(
            "the signature by {} made on {}",
            v.verified.signer,
            date(v.verified.created)
        );
        match result {
            Ok(()) => return Ok(v.verified),
            // The library's own text (an assertion on hash bytes) says no more than this.
            Err(
                pgp::errors::Error::Unsupported { .. } | pgp::errors::Error::Unimplemented { .. },
            ) => reasons.push(format!(
                "{what} could not be checked: it uses a version or algorithm of OpenPGP that crossroot does not read"
            )),
            Err(_) => reasons.push(format!("{what} does not match the file's bytes")),
        }
    }
    Err(VerifyError::Refused(reasons.join("; ")))
}

/// Seconds since the epoch now, for [`verify_file`].
pub fn now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe::BUILTIN_KEYS;

    const CURL: &str = "27EDEAF22F3ABCEB50DB9A125CC908FDB71E12C2";
    const OPENSSL: &str = "BA5473A2B0587B07FB27CF2D216094DFD0CB81EF";

    fn builtin(name: &str) -> Keyring {
        let (_, bytes) = BUILTIN_KEYS.iter().find(|(n, _)| *n == name).unwrap();
        Keyring::parse(bytes).unwrap()
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn fingerprints_are_normalized_or_refused() {
        assert_eq!(
            normalize_fingerprint("27ed eaf2 2f3a bceb 50db  9a12 5cc9 08fd b71e 12c2").as_deref(),
            Some(CURL)
        );
        assert_eq!(
            normalize_fingerprint(&"ab".repeat(32)).unwrap(),
            "AB".repeat(32)
        );
        for bad in [
            "",
            "5CC908FDB71E12C2",
            &format!("{CURL}0"),
            &CURL.replace('2', "g"),
        ] {
            assert_eq!(normalize_fingerprint(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_pinned_curl_and_openssl_keys_parse_and_hold_their_fingerprints() {
        let curl = builtin("keys/curl.asc");
        assert_eq!(
            curl.fingerprints(),
            [
                "914C533DF9B2ADA2204F586D78E11C6B279D5C91",
                "4461EAF0F8E9097F48AF0555F9FEAFF9D34A1BDB",
                CURL
            ]
        );
        curl.check_pinned(&[CURL.to_string()]).unwrap();
        assert_eq!(curl.expiry(CURL), None, "curl's key does not expire");
        let e = curl
            .check_pinned(&[OPENSSL.to_string()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("no primary key with fingerprint {OPENSSL}")),
            "{e}"
        );
        assert!(e.contains(CURL), "{e}");

        let openssl = builtin("keys/openssl.asc");
        assert_eq!(openssl.fingerprints(), [OPENSSL]);
        openssl.check_pinned(&[OPENSSL.to_string()]).unwrap();
        // By its newest self-signature (2026-06-10) the key expires on 2026-09-08.
        let expiry = openssl.expiry(OPENSSL).unwrap();
        assert!(date(expiry).starts_with("2026-09-08T"), "{}", date(expiry));
    }

    #[test]
    fn the_real_signatures_were_made_by_the_pinned_keys_while_they_were_valid() {
        // Today (2026-11-22) and long after: the answer does not depend on the clock.
        for now in [1_795_305_600, u32::MAX - 1] {
            let curl = builtin("keys/curl.asc");
            let v = vet(
                &curl,
                &[CURL.into()],
                &fixture("curl_8.14.1.orig.tar.gz.asc"),
                now,
            )
            .unwrap();
            assert_eq!(v.len(), 1);
            assert_eq!(v[0].verified.primary, CURL);
            assert_eq!(v[0].verified.signer, CURL);
            assert_eq!(date(v[0].verified.created), "2025-06-04T05:43:19Z");

            let openssl = builtin("keys/openssl.asc");
            let sig = fixture("openssl_3.5.7.orig.tar.gz.asc");
            let v = vet(&openssl, &[OPENSSL.into()], &sig, now).unwrap();
            assert_eq!(v[0].verified.signer, OPENSSL);
            assert_eq!(date(v[0].verified.created), "2026-06-09T11:57:19Z");
            // Made before the key expired, and the key has expired since.
            let expiry = openssl.expiry(OPENSSL).unwrap();
            assert!(v[0].verified.created < expiry && expiry < 1_795_305_600);
        }
    }

    #[test]
    fn a_real_signature_is_refused_under_the_wrong_key_or_an_unpinned_one() {
        let curl = builtin("keys/curl.asc");
        let openssl_sig = fixture("openssl_3.5.7.orig.tar.gz.asc");
        let e = vet(&curl, &[CURL.into()], &openssl_sig, now()).unwrap_err();
        assert!(
            e.contains(&format!(
                "by key {OPENSSL}, which is not a pinned key ({CURL})"
            )),
            "{e}"
        );
        // The right key file, but its fingerprint not pinned: another key of the same file is.
        let other = "4461EAF0F8E9097F48AF0555F9FEAFF9D34A1BDB".to_string();
        let e = vet(
            &curl,
            &[other],
            &fixture("curl_8.14.1.orig.tar.gz.asc"),
            now(),
        )
        .unwrap_err();
        assert!(
            e.contains(&format!("by key {CURL}, which is not a pinned key")),
            "{e}"
        );
    }

    #[test]
    fn every_armored_block_of_a_key_file_is_read() {
        let both: Vec<u8> = ["keys/curl.asc", "keys/openssl.asc"]
            .iter()
            .flat_map(|name| {
                BUILTIN_KEYS
                    .iter()
                    .find(|(n, _)| n == name)
                    .unwrap()
                    .1
                    .to_vec()
            })
            .collect();
        let keys = Keyring::parse(&both).unwrap();
        assert_eq!(keys.fingerprints().len(), 4);
        keys.check_pinned(&[CURL.into(), OPENSSL.into()]).unwrap();
        // And of a signature file: two signatures, one per block, of which one is pinned.
        let sigs: Vec<u8> = [
            fixture("curl_8.14.1.orig.tar.gz.asc"),
            fixture("openssl_3.5.7.orig.tar.gz.asc"),
        ]
        .concat();
        let v = vet(&keys, &[OPENSSL.into()], &sigs, now()).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].verified.signer, OPENSSL);
    }

    /// The library's own words (an assertion on the hash bytes it compared) stay out.
    #[test]
    fn a_signature_of_other_bytes_is_refused_in_our_words() {
        let curl = builtin("keys/curl.asc");
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("curl-8.14.1.tar.gz");
        std::fs::write(&other, b"not curl").unwrap();
        let sig = fixture("curl_8.14.1.orig.tar.gz.asc");
        let e = verify_file(&curl, &[CURL.into()], &sig, &other, now())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "the signature by {CURL} made on 2025-06-04T05:43:19Z does not match the file's bytes"
            )
        );
        let mut armor = String::from_utf8(sig).unwrap();
        armor.insert_str(armor.len() / 2, "!!");
        let e = vet(&curl, &[CURL.into()], armor.as_bytes(), now()).unwrap_err();
        assert!(e.starts_with("not an OpenPGP signature: it"), "{e}");
        assert!(!e.contains("assertion") && !e.contains("{"), "{e}");
    }

    #[test]
    fn key_files_that_are_not_keys_are_errors() {
        assert!(matches!(
            Keyring::parse(b""),
            Err(KeyError::Empty | KeyError::Parse(_))
        ));
        let e = Keyring::parse(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64!\n-----END PGP PUBLIC KEY BLOCK-----\n")
            .unwrap_err();
        assert!(matches!(e, KeyError::Parse(_) | KeyError::Empty), "{e}");
        // A signature is not a key.
        assert!(Keyring::parse(&fixture("curl_8.14.1.orig.tar.gz.asc")).is_err());
    }
}
