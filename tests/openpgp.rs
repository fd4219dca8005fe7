//! OpenPGP signatures of upstream sources: keys made in the test with chosen creation, expiry
//! and revocation times, a tarball signed with them, both served by a real HTTP server on
//! 127.0.0.1 to `crossroot fetch` (and `build`) with a recipe that pins the key. Nothing is
//! compiled: a source is verified before anything is built from it.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Server, serve, show, tarball, walk};
use pgp::composed::{
    ArmorOptions, DetachedSignature, KeyType, SecretKeyParamsBuilder, SignedPublicKey,
    SignedSecretKey, SubkeyParamsBuilder,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{
    KeyFlags, RevocationCode, SignatureConfig, SignatureType, Subpacket, SubpacketData,
};
use pgp::types::{Duration as KeyDuration, KeyDetails, Password, Tag, Timestamp};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use sha2::{Digest, Sha256};

use crossroot::openpgp;

/// 2020-01-01T00:00:00Z: the test keys are made then.
const T0: u32 = 1_577_836_800;
const DAY: u32 = 86_400;
const YEAR: u32 = 365 * DAY;

// ---- keys made in the test ----------------------------------------------------------------

struct TestKey {
    secret: SignedSecretKey,
    public: SignedPublicKey,
}

impl TestKey {
    fn fingerprint(&self) -> String {
        format!("{:X}", self.public.fingerprint())
    }

    fn armored(&self) -> String {
        self.public
            .to_armored_string(ArmorOptions::default())
            .unwrap()
    }
}

fn subpacket(data: SubpacketData) -> Subpacket {
    Subpacket::regular(data).unwrap()
}

fn flags(certify: bool, sign: bool) -> KeyFlags {
    let mut f = KeyFlags::default();
    f.set_certify(certify);
    f.set_sign(sign);
    f
}

/// An Ed25519 key made at `created` whose only self-signature is made then too, with the key
/// expiring `expires_after` seconds after its creation when given. `signs` says whether the
/// primary key may sign; otherwise a signing subkey is added (with its back-signature when
/// `backsig`).
fn make_key(
    seed: u64,
    created: u32,
    expires_after: Option<u32>,
    signs: bool,
    backsig: bool,
) -> TestKey {
    make_key_of(
        KeyType::Ed25519Legacy,
        seed,
        created,
        expires_after,
        signs,
        backsig,
    )
}

fn make_key_of(
    key_type: KeyType,
    seed: u64,
    created: u32,
    expires_after: Option<u32>,
    signs: bool,
    backsig: bool,
) -> TestKey {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut params = SecretKeyParamsBuilder::default();
    params
        .key_type(key_type)
        .can_certify(true)
        .can_sign(signs)
        .created_at(Timestamp::from_secs(created))
        .primary_user_id(format!("Test signer {seed} <signer{seed}@example.invalid>"));
    if !signs {
        params.subkey(
            SubkeyParamsBuilder::default()
                .key_type(KeyType::Ed25519Legacy)
                .can_sign(true)
                .created_at(Timestamp::from_secs(created))
                .build()
                .unwrap(),
        );
    }
    let secret = params.build().unwrap().generate(&mut rng).unwrap();
    let mut public = secret.to_public_key();
    let primary = &secret.primary_key;
    let pw = Password::empty();

    // The generated self-signatures are dated now; these are dated when the key was made.
    let mut hashed = vec![
        subpacket(SubpacketData::SignatureCreationTime(Timestamp::from_secs(
            created,
        ))),
        subpacket(SubpacketData::IssuerFingerprint(primary.fingerprint())),
        subpacket(SubpacketData::KeyFlags(flags(true, signs))),
    ];
    if let Some(d) = expires_after {
        hashed.push(subpacket(SubpacketData::KeyExpirationTime(
            KeyDuration::from_secs(d),
        )));
    }
    let mut config = SignatureConfig::v4(
        SignatureType::CertPositive,
        primary.algorithm(),
        HashAlgorithm::Sha256,
    );
    config.hashed_subpackets = hashed;
    config.unhashed_subpackets = vec![subpacket(SubpacketData::IssuerKeyId(
        primary.legacy_key_id(),
    ))];
    let uid = public.details.users[0].id.clone();
    let selfsig = config
        .sign_certification(primary, primary.public_key(), &pw, Tag::UserId, &uid)
        .unwrap();
    public.details.users[0].signatures = vec![selfsig];

    if !signs {
        let sub = &secret.secret_subkeys[0].key;
        let mut hashed = vec![
            subpacket(SubpacketData::SignatureCreationTime(Timestamp::from_secs(
                created,
            ))),
            subpacket(SubpacketData::IssuerFingerprint(primary.fingerprint())),
            subpacket(SubpacketData::KeyFlags(flags(false, true))),
        ];
        if backsig {
            let back = sub
                .sign_primary_key_binding(&mut rng, primary.public_key(), &pw)
                .unwrap();
            hashed.push(subpacket(SubpacketData::EmbeddedSignature(Box::new(back))));
        }
        let mut config = SignatureConfig::v4(
            SignatureType::SubkeyBinding,
            primary.algorithm(),
            HashAlgorithm::Sha256,
        );
        config.hashed_subpackets = hashed;
        let binding = config
            .sign_subkey_binding(primary, primary.public_key(), &pw, sub.public_key())
            .unwrap();
        public.public_subkeys[0].signatures = vec![binding];
    }
    TestKey { secret, public }
}

/// A key that signs with its primary key and never expires.
fn signing_key(seed: u64) -> TestKey {
    make_key(seed, T0, None, true, false)
}

/// Adds a revocation of the primary key made at `at` for `reason`.
fn revoke(key: &mut TestKey, at: u32, reason: RevocationCode) {
    let primary = &key.secret.primary_key;
    let mut config = SignatureConfig::v4(
        SignatureType::KeyRevocation,
        primary.algorithm(),
        HashAlgorithm::Sha256,
    );
    config.hashed_subpackets = vec![
        subpacket(SubpacketData::SignatureCreationTime(Timestamp::from_secs(
            at,
        ))),
        subpacket(SubpacketData::IssuerFingerprint(primary.fingerprint())),
        subpacket(SubpacketData::RevocationReason(
            reason,
            pgp::bytes::Bytes::from_static(b"test revocation"),
        )),
    ];
    let rev = config
        .sign_key(primary, &Password::empty(), primary.public_key())
        .unwrap();
    key.public.details.revocation_signatures.push(rev);
}

/// A detached, armored signature of `data` made at `at` (by the signing subkey, if the key
/// has one) with `hash`, of `typ`.
fn sign_as(
    key: &TestKey,
    data: &[u8],
    at: u32,
    hash: HashAlgorithm,
    typ: SignatureType,
) -> Vec<u8> {
    let pw = Password::empty();
    let make = |signer: &dyn Fn(SignatureConfig) -> pgp::packet::Signature, fp, id, alg| {
        let mut config = SignatureConfig::v4(typ, alg, hash);
        config.hashed_subpackets = vec![
            subpacket(SubpacketData::SignatureCreationTime(Timestamp::from_secs(
                at,
            ))),
            subpacket(SubpacketData::IssuerFingerprint(fp)),
        ];
        config.unhashed_subpackets = vec![subpacket(SubpacketData::IssuerKeyId(id))];
        DetachedSignature::new(signer(config))
            .to_armored_bytes(ArmorOptions::default())
            .unwrap()
    };
    match key.secret.secret_subkeys.first() {
        Some(sub) => {
            let k = &sub.key;
            make(
                &|c: SignatureConfig| c.sign(k, &pw, data).unwrap(),
                k.fingerprint(),
                k.legacy_key_id(),
                k.algorithm(),
            )
        }
        None => {
            let k = &key.secret.primary_key;
            make(
                &|c: SignatureConfig| c.sign(k, &pw, data).unwrap(),
                k.fingerprint(),
                k.legacy_key_id(),
                k.algorithm(),
            )
        }
    }
}

fn sign(key: &TestKey, data: &[u8], at: u32) -> Vec<u8> {
    sign_as(key, data, at, HashAlgorithm::Sha256, SignatureType::Binary)
}

// ---- a recipe directory, a server and crossroot ---------------------------------------------

const FILE: &str = "demo-1.0.0.tar.gz";
const DEBIAN_FILE: &str = "demo_1.0.0.orig.tar.gz";

fn demo_tarball(text: &str) -> Vec<u8> {
    tarball(
        "demo-1.0.0",
        &[("Makefile", &format!("all:\n\t@echo {text}\n"), 0o644)],
    )
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

struct World {
    _tmp: tempfile::TempDir,
    recipes: PathBuf,
    home: PathBuf,
    server: Server,
}

/// A recipe `demo` pinning `pinned_sha` for demo-1.0.0.tar.gz (with a Debian pool name too),
/// signed by `fingerprints` of `key` (written to keys/demo.asc beside it), and a server with
/// `files`.
fn world(key: &str, fingerprints: &[String], pinned_sha: &str, files: &[(&str, Vec<u8>)]) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let recipes = tmp.path().join("recipes");
    std::fs::create_dir_all(recipes.join("keys")).unwrap();
    std::fs::write(recipes.join("keys/demo.asc"), key).unwrap();
    let fps = fingerprints
        .iter()
        .map(|f| format!("\"{f}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let recipe = format!(
        "[package]\nname = \"demo\"\nversion = \"1.0.0\"\nlicense = \"MIT\"\n\n\
         [[source]]\nfile = \"{FILE}\"\nsha256 = \"{pinned_sha}\"\n\
         urls = [\"https://demo.invalid/{FILE}\"]\n\
         debian = {{ package = \"demo\", file = \"{DEBIAN_FILE}\" }}\n\
         signature = {{ key = \"keys/demo.asc\", fingerprints = [{fps}] }}\n\n\
         [build]\nsystem = \"make\"\ninstall-steps = [[\"install\", \"PREFIX={{prefix}}\"]]\n\n\
         [install]\nlibs = [\"libdemo.a\"]\n"
    );
    std::fs::write(recipes.join("demo.toml"), recipe).unwrap();
    let files: BTreeMap<String, Vec<u8>> = files
        .iter()
        .map(|(n, b)| (n.to_string(), b.clone()))
        .collect();
    World {
        recipes,
        home: tmp.path().join("home"),
        server: serve(files),
        _tmp: tmp,
    }
}

impl World {
    /// crossroot with the server as its only mirror.
    fn run(&self, args: &[&str]) -> Output {
        let out = common::crossroot(&self.recipes, &self.server.base, &self.home)
            .args(args)
            .output()
            .unwrap();
        show(args, &out);
        out
    }

    /// crossroot with no mirror and the server as its Debian archive.
    fn run_debian(&self, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_crossroot"))
            .arg("--recipes")
            .arg(&self.recipes)
            .args(args)
            .env("CROSSROOT_HOME", &self.home)
            .env("CROSSROOT_DEBIAN_MIRRORS", &self.server.base)
            .env_remove("CROSSROOT_MIRRORS")
            .output()
            .unwrap();
        show(args, &out);
        out
    }

    fn entry(&self, sha256: &str) -> PathBuf {
        self.home.join("downloads-v1").join(sha256)
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn refused(out: &Output, needles: &[&str]) -> String {
    let t = text(out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    for n in needles {
        assert!(t.contains(n), "missing {n:?} in:\n{t}");
    }
    // Our words, not the OpenPGP library's (its assertions print the bytes they compared).
    for n in ["assertion failed", "left == right", "Invalid Packet"] {
        assert!(!t.contains(n), "library text {n:?} in:\n{t}");
    }
    t
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = walk(dir)
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .collect();
    names.sort();
    names
}

// ---- the tests ------------------------------------------------------------------------------

#[test]
fn a_good_signature_is_verified_kept_and_not_checked_again() {
    let key = signing_key(1);
    let demo = demo_tarball("good");
    let asc = sign(&key, &demo, T0 + DAY);
    let w = world(
        &key.armored(),
        &[key.fingerprint()],
        &sha(&demo),
        &[(FILE, demo.clone()), (&format!("{FILE}.asc"), asc.clone())],
    );
    let out = w.run(&["fetch", "demo"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains(&format!(
            "OpenPGP signature by {fp} (key {fp}), made 2020-01-02T00:00:00Z: good (from {}/{FILE}.asc)",
            w.server.base,
            fp = key.fingerprint()
        )),
        "{t}"
    );
    let entry = w.entry(&sha(&demo));
    assert_eq!(
        files_under(&entry),
        [
            ".lock",
            FILE,
            &format!("{FILE}.asc"),
            &format!("{FILE}.asc.verified")
        ]
    );
    assert_eq!(
        std::fs::read(entry.join(format!("{FILE}.asc"))).unwrap(),
        asc
    );
    let marker: serde_json::Value =
        serde_json::from_slice(&std::fs::read(entry.join(format!("{FILE}.asc.verified"))).unwrap())
            .unwrap();
    assert_eq!(marker["primary"], key.fingerprint().as_str());
    assert_eq!(marker["created"], T0 + DAY);
    assert_eq!(w.server.requests(), 2, "the file and its signature");

    // Warm: the marker answers; nothing is downloaded or read again from the network.
    let out = w.run(&["fetch", "demo"]);
    assert!(out.status.success());
    assert!(text(&out).contains("made 2020-01-02T00:00:00Z: good (from cache)"));
    assert_eq!(w.server.requests(), 2);

    // Without the marker the cached signature is verified again, still without a request.
    std::fs::remove_file(entry.join(format!("{FILE}.asc.verified"))).unwrap();
    let out = w.run(&["fetch", "demo"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(entry.join(format!("{FILE}.asc.verified")).is_file());
    assert_eq!(w.server.requests(), 2);

    // A marker for other signature bytes is not believed: the altered cached signature is
    // refused, dropped, and the server's good one fetched again.
    std::fs::write(
        entry.join(format!("{FILE}.asc")),
        sign(&key, b"other bytes", T0 + DAY),
    )
    .unwrap();
    let out = w.run(&["fetch", "demo"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read(entry.join(format!("{FILE}.asc"))).unwrap(),
        asc
    );
    assert_eq!(w.server.requests(), 3);
}

#[test]
fn a_tampered_file_pinned_by_its_own_sha256_is_refused_by_the_signature() {
    let key = signing_key(2);
    let demo = demo_tarball("released");
    let tampered = demo_tarball("tampered");
    let asc = sign(&key, &demo, T0 + DAY);
    // The recipe pins the tampered bytes, so only the signature can tell.
    let w = world(
        &key.armored(),
        &[key.fingerprint()],
        &sha(&tampered),
        &[(FILE, tampered.clone()), (&format!("{FILE}.asc"), asc)],
    );
    let cached = w.entry(&sha(&tampered)).join(FILE);
    for cmd in [
        &["fetch", "demo"][..],
        &["build", "--target", "x86_64-linux-musl", "demo"],
    ] {
        let out = w.run(cmd);
        refused(
            &out,
            &[
                &format!(
                    "refusing demo 1.0.0: {} has no valid OpenPGP signature by key {}",
                    cached.display(),
                    key.fingerprint()
                ),
                "keys/demo.asc",
                &format!(
                    "{}/{FILE}.asc: refused: the signature by {}",
                    w.server.base,
                    key.fingerprint()
                ),
                "made on 2020-01-02T00:00:00Z does not match the file's bytes",
                "hint: the file matches the recipe's sha256",
                "crossroot never uses a file it cannot verify",
            ],
        );
    }
    // Nothing was built, nor is a signature kept for the file.
    assert!(
        !w.home.join("packages-v1").exists() || files_under(&w.home.join("packages-v1")).is_empty()
    );
    assert!(
        !w.home
            .join("sysroots-v1")
            .join("x86_64-linux-musl")
            .exists()
    );
    let entry = files_under(&w.entry(&sha(&tampered)));
    assert_eq!(
        entry,
        [".lock", FILE],
        "no signature or marker kept: {entry:?}"
    );
}

#[test]
fn an_unsigned_alternative_is_not_a_way_around_a_bad_signature() {
    let key = signing_key(3);
    let demo = demo_tarball("released");
    let tampered = demo_tarball("tampered");
    let asc = sign(&key, &demo, T0 + DAY);
    let w = world(
        &key.armored(),
        &[key.fingerprint()],
        &sha(&tampered),
        &[
            (FILE, tampered.clone()),
            (&format!("{FILE}.asc"), asc),
            ("demo-unsigned.tar.gz", demo.clone()),
        ],
    );
    // A second, unsigned alternative that the server has: never used instead.
    let path = w.recipes.join("demo.toml");
    let recipe = std::fs::read_to_string(&path).unwrap().replace(
        "\n[build]",
        &format!(
            "\n[[source]]\nfile = \"demo-unsigned.tar.gz\"\nsha256 = \"{}\"\nurls = [\"https://demo.invalid/demo-unsigned.tar.gz\"]\n\n[build]",
            sha(&demo)
        ),
    );
    std::fs::write(&path, recipe).unwrap();
    let out = w.run(&["fetch", "demo"]);
    refused(
        &out,
        &[
            "has no valid OpenPGP signature",
            "does not match the file's bytes",
        ],
    );
    assert!(
        !w.server
            .paths()
            .iter()
            .any(|p| p.ends_with("demo-unsigned.tar.gz")),
        "{:?}",
        w.server.paths()
    );
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let pinned = signing_key(4);
    let other = signing_key(5);
    let demo = demo_tarball("demo");
    let w = world(
        &pinned.armored(),
        &[pinned.fingerprint()],
        &sha(&demo),
        &[
            (FILE, demo.clone()),
            (&format!("{FILE}.asc"), sign(&other, &demo, T0 + DAY)),
        ],
    );
    let out = w.run(&["fetch", "demo"]);
    refused(
        &out,
        &[
            &format!("no valid OpenPGP signature by key {}", pinned.fingerprint()),
            &format!(
                "it was made on 2020-01-02T00:00:00Z by key {}, which is not a pinned key ({})",
                other.fingerprint(),
                pinned.fingerprint()
            ),
        ],
    );

    // Both keys in the key file, only one pinned: still refused.
    let both = format!("{}{}", pinned.armored(), other.armored());
    std::fs::write(w.recipes.join("keys/demo.asc"), both).unwrap();
    let out = w.run(&["fetch", "demo"]);
    refused(&out, &["which is not a pinned key"]);

    // Pinning the other one too accepts it.
    let path = w.recipes.join("demo.toml");
    let recipe = std::fs::read_to_string(&path).unwrap().replace(
        &format!("[\"{}\"]", pinned.fingerprint()),
        &format!(
            "[\"{}\", \"{}\"]",
            pinned.fingerprint(),
            other.fingerprint()
        ),
    );
    std::fs::write(&path, recipe).unwrap();
    let out = w.run(&["fetch", "demo"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_missing_signature_is_refused_naming_every_place_looked() {
    let key = signing_key(6);
    let demo = demo_tarball("demo");
    let w = world(
        &key.armored(),
        &[key.fingerprint()],
        &sha(&demo),
        &[(FILE, demo.clone())],
    );
    let out = w.run(&["fetch", "demo"]);
    let t = refused(
        &out,
        &[
            &format!(
                "refusing demo 1.0.0: the OpenPGP signature {FILE}.asc of {} could not be fetched from any source (3 tried), and the recipe pins key {}",
                w.entry(&sha(&demo)).join(FILE).display(),
                key.fingerprint()
            ),
            // Where the file came from first, then the others in order.
            &format!("\n  {}/{FILE}.asc: HTTP 404 Not Found", w.server.base),
            &format!("\n  https://demo.invalid/{FILE}.asc: "),
            &format!("\n  http://127.0.0.1:9/none/pool/main/d/demo/{DEBIAN_FILE}.asc: "),
            "hint: put the signature beside the file in a directory given with --mirror",
        ],
    );
    assert!(!t.contains("refused:"), "{t}");
    // The file itself is cached (its sha256 matched) but nothing else.
    assert_eq!(files_under(&w.entry(&sha(&demo))), [".lock", FILE]);

    // Offline, with the file cached: the same refusal and a hint to fetch while online.
    let out = w.run(&["--offline", "fetch", "demo"]);
    refused(
        &out,
        &[
            &format!("the OpenPGP signature {FILE}.asc of "),
            "is not in the download cache and --offline allows no downloads",
            "hint: run `crossroot fetch` while online",
        ],
    );
}

#[test]
fn an_expired_key_verifies_what_it_signed_before_expiry_only() {
    // Made 2020-01-01, expiring after one year.
    let key = make_key(7, T0, Some(YEAR), true, false);
    let demo = demo_tarball("demo");
    let before = sign(&key, &demo, T0 + 200 * DAY);
    let after = sign(&key, &demo, T0 + 400 * DAY);
    let w = world(
        &key.armored(),
        &[key.fingerprint()],
        &sha(&demo),
        &[(FILE, demo.clone()), (&format!("{FILE}.asc"), before)],
    );
    // Today the key has long expired; the signature was made while it was valid.
    let out = w.run(&["fetch", "demo"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("made 2020-07-19T00:00:00Z: good"),
        "{}",
        text(&out)
    );

    let w = world(
        &key.armored(),
        &[key.fingerprint()],
        &sha(&demo),
        &[(FILE, demo.clone()), (&format!("{FILE}.asc"), after)],
    );
    let out = w.run(&["fetch", "demo"]);
    refused(
        &out,
        &[&format!(
            "key {} expired on 2020-12-31T00:00:00Z, before the signature was made on 2021-02-04T00:00:00Z",
            key.fingerprint()
        )],
    );

    // Signed before the key existed.
    let w = world(
        &key.armored(),
        &[key.fingerprint()],
        &sha(&demo),
        &[
            (FILE, demo.clone()),
            (&format!("{FILE}.asc"), sign(&key, &demo, T0 - DAY)),
        ],
    );
    refused(&w.run(&["fetch", "demo"]), &["is older than key"]);
}

#[test]
fn a_revoked_key_is_refused_and_a_retired_one_only_for_later_signatures() {
    let demo = demo_tarball("demo");
    let signed_at = T0 + 100 * DAY;
    let fetch = |key: &TestKey| {
        let w = world(
            &key.armored(),
            &[key.fingerprint()],
            &sha(&demo),
            &[
                (FILE, demo.clone()),
                (&format!("{FILE}.asc"), sign(key, &demo, signed_at)),
            ],
        );
        let out = w.run(&["fetch", "demo"]);
        (out, w)
    };

    // Compromised, revoked after the signature: that signature is refused too.
    let mut key = signing_key(8);
    revoke(&mut key, T0 + 200 * DAY, RevocationCode::KeyCompromised);
    let (out, _w) = fetch(&key);
    refused(
        &out,
        &[&format!(
            "key {} was revoked on 2020-07-19T00:00:00Z (KeyCompromised: \"test revocation\"), which invalidates every signature it made",
            key.fingerprint()
        )],
    );

    // Retired after the signature: the signature stands.
    let mut key = signing_key(9);
    revoke(&mut key, T0 + 200 * DAY, RevocationCode::KeyRetired);
    let (out, _w) = fetch(&key);
    assert!(out.status.success(), "{}", text(&out));

    // Retired before the signature: refused.
    let mut key = signing_key(10);
    revoke(&mut key, T0 + 50 * DAY, RevocationCode::KeyRetired);
    let (out, _w) = fetch(&key);
    refused(
        &out,
        &[
            "was revoked on 2020-02-20T00:00:00Z (KeyRetired",
            "before the signature was made",
        ],
    );
}

#[test]
fn the_debian_route_takes_the_signature_from_beside_the_orig_file_in_the_pool() {
    let key = signing_key(11);
    let demo = demo_tarball("demo");
    let w = world(
        &key.armored(),
        &[key.fingerprint()],
        &sha(&demo),
        &[
            (DEBIAN_FILE, demo.clone()),
            (&format!("{DEBIAN_FILE}.asc"), sign(&key, &demo, T0 + DAY)),
        ],
    );
    let out = w.run_debian(&["fetch", "demo"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let pool = format!("/pool/main/d/demo/{DEBIAN_FILE}");
    assert!(
        t.contains(&format!("good (from {}{pool}.asc)", w.server.base)),
        "{t}"
    );
    // The file, then straight its signature beside it: the place the file came from first.
    assert_eq!(w.server.paths(), [pool.clone(), format!("{pool}.asc")]);
    // Cached under the recipe's names.
    assert_eq!(
        files_under(&w.entry(&sha(&demo))),
        [
            ".lock",
            FILE,
            &format!("{FILE}.asc"),
            &format!("{FILE}.asc.verified")
        ]
    );
}

// ---- the verifier on its own ----------------------------------------------------------------

fn verify(key: &TestKey, signature: &[u8], data: &[u8]) -> Result<openpgp::Verified, String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data");
    std::fs::write(&file, data).unwrap();
    let keys = openpgp::Keyring::parse(key.armored().as_bytes()).unwrap();
    openpgp::verify_file(
        &keys,
        &[key.fingerprint()],
        signature,
        &file,
        openpgp::now(),
    )
    .map_err(|e| e.to_string())
}

#[test]
fn a_signing_subkey_is_accepted_only_with_its_back_signature() {
    let data = b"release bytes";
    let key = make_key(12, T0, None, false, true);
    let v = verify(&key, &sign(&key, data, T0 + DAY), data).unwrap();
    assert_eq!(v.primary, key.fingerprint());
    let sub = format!("{:X}", key.public.public_subkeys[0].key.fingerprint());
    assert_eq!(v.signer, sub);
    assert_ne!(v.signer, v.primary);
    let e = verify(&key, &sign(&key, b"other bytes", T0 + DAY), data).unwrap_err();
    assert!(e.contains("does not match the file's bytes"), "{e}");

    // Without the subkey's signature over the primary, anyone could bind any key.
    let key = make_key(13, T0, None, false, false);
    let e = verify(&key, &sign(&key, data, T0 + DAY), data).unwrap_err();
    assert!(
        e.contains("lacks the primary key binding (back-)signature"),
        "{e}"
    );

    // A primary key whose self-signature does not allow signing.
    let key = make_key(14, T0, None, false, true);
    let primary_only = TestKey {
        secret: SignedSecretKey {
            secret_subkeys: vec![],
            ..key.secret.clone()
        },
        public: key.public.clone(),
    };
    let e = verify(&key, &sign(&primary_only, data, T0 + DAY), data).unwrap_err();
    assert!(e.contains("is not marked for signing"), "{e}");
}

#[test]
fn weak_hashes_text_signatures_and_garbage_are_refused() {
    let data = b"release bytes";
    // RSA, because rPGP will not make an Ed25519 signature with SHA-1 at all.
    let key = make_key_of(KeyType::Rsa(2048), 15, T0, None, true, false);
    assert!(verify(&key, &sign(&key, data, T0 + DAY), data).is_ok());
    let e = verify(
        &key,
        &sign_as(
            &key,
            data,
            T0 + DAY,
            HashAlgorithm::Sha1,
            SignatureType::Binary,
        ),
        data,
    )
    .unwrap_err();
    assert!(e.contains("SHA1 hash, which is too weak"), "{e}");
    let e = verify(
        &key,
        &sign_as(
            &key,
            data,
            T0 + DAY,
            HashAlgorithm::Sha256,
            SignatureType::Text,
        ),
        data,
    )
    .unwrap_err();
    assert!(e.contains("not a signature of a binary file"), "{e}");
    let e = verify(&key, b"-----BEGIN PGP SIGNATURE-----\n\nnot base64\n", data).unwrap_err();
    assert!(e.contains("not an OpenPGP signature"), "{e}");
    let e = verify(&key, key.armored().as_bytes(), data).unwrap_err();
    assert!(e.contains("not an OpenPGP signature"), "{e}");
}

#[test]
fn a_key_without_a_valid_self_signature_verifies_nothing() {
    let data = b"release bytes";
    let mut key = signing_key(16);
    let signature = sign(&key, data, T0 + DAY);
    assert!(verify(&key, &signature, data).is_ok());
    // The user ID certified by another key only: no self-signature binds the key.
    key.public.details.users[0].signatures =
        signing_key(17).public.details.users[0].signatures.clone();
    let e = verify(&key, &signature, data).unwrap_err();
    assert!(
        e.contains(&format!(
            "key {} has no valid self-signature made before the signature (2020-01-02T00:00:00Z)",
            key.fingerprint()
        )),
        "{e}"
    );
}
