use super::*;

const SHA: &str = "6766ada7101d292b42b8b15681120acd68effa4a9660935853cf6d61f0d984d4";

fn lib(extra: &str) -> String {
    format!(
        "[package]\nname = \"demo\"\nversion = \"1.2.3\"\nlicense = \"MIT\"\n\n[[source]]\nfile = \"demo-1.2.3.tar.gz\"\nsha256 = \"{SHA}\"\nurls = [\"https://example.org/demo-1.2.3.tar.gz\"]\n\n[build]\nsystem = \"autotools\"\n{extra}"
    )
}

fn err(text: &str) -> String {
    parse(Path::new("recipes/demo.toml"), text)
        .unwrap_err()
        .to_string()
}

#[test]
fn builtin_recipes_parse() {
    let set = RecipeSet::builtin().unwrap();
    let names: Vec<_> = set.libraries().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "c-ares", "curl", "libffi", "nghttp2", "openssl", "pcre2", "sqlite", "xz", "zlib",
            "zstd"
        ]
    );
    let curl = set.library("curl").unwrap();
    assert_eq!(curl.version.to_string(), "8.14.1");
    assert_eq!(curl.dependencies.len(), 4);
    assert_eq!(curl.build.system, BuildSystem::Autotools);
    let zlib = set.library("zlib").unwrap();
    assert_eq!(zlib.sources.len(), 2, "upstream and the Debian repack");
    assert_eq!(
        zlib.sources[1].debian.as_ref().unwrap().file,
        "zlib_1.3.dfsg+really1.3.1.orig.tar.gz"
    );
    let zig = set.toolchain("zig").unwrap();
    assert!(zig.version_req.matches(&semver::Version::new(0, 17, 1)));
    assert!(zig.releases.iter().any(|r| r.host == "x86_64-linux"));
}

#[test]
fn every_builtin_library_has_a_source_in_the_debian_archive() {
    // Upstream hosts may be unreachable (CI, firewalled builders); the Debian pool is the
    // fallback every built-in recipe keeps.
    let set = RecipeSet::builtin().unwrap();
    for r in set.libraries() {
        assert!(
            r.sources.iter().any(|s| s.debian.is_some()),
            "{} pins no source with a `debian` package",
            r.name
        );
    }
}

#[test]
fn every_recipe_file_in_the_repository_is_built_in() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let mut builtin: Vec<String> = BUILTIN_RECIPES.iter().map(|(f, _)| f.to_string()).collect();
    builtin.sort();
    assert_eq!(on_disk, builtin);
}

#[test]
fn minimal_recipe_gets_defaults() {
    let RecipeFile::Library(r) = parse(Path::new("demo.toml"), &lib("")).unwrap() else {
        panic!("library expected")
    };
    assert_eq!(r.build.languages, vec![Language::C]);
    assert_eq!(r.build.make_steps, vec![Vec::<String>::new()]);
    assert_eq!(r.build.install_steps, vec![vec!["install".to_string()]]);
    assert!(!r.uses_cxx());
}

#[test]
fn target_overrides_are_appended() {
    let text = lib(
        "args = [\"--a\"]\nenv = { X = \"1\" }\n\n[target.riscv64-linux-musl]\nargs = [\"--b\"]\nenv = { Y = \"2\" }\n",
    );
    let RecipeFile::Library(r) = parse(Path::new("demo.toml"), &text).unwrap() else {
        panic!()
    };
    assert_eq!(r.build_for("riscv64-linux-musl").args, ["--a", "--b"]);
    assert_eq!(r.build_for("riscv64-linux-musl").env.len(), 2);
    assert_eq!(r.build_for("aarch64-linux-musl").args, ["--a"]);
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let e = err(&lib("colour = \"blue\"\n"));
    assert!(e.starts_with("recipes/demo.toml:13:"), "{e}");
    assert!(e.contains("colour"), "{e}");
    let e = err(&lib("").replace("license = \"MIT\"", "license = \"MIT\"\nhomepag = \"x\""));
    assert!(e.starts_with("recipes/demo.toml:5:"), "{e}");
    assert!(e.contains("homepag"), "{e}");
}

#[test]
fn syntax_errors_and_wrong_types_name_the_line() {
    let e = err("[package]\nname = \"demo\"\nversion = 1.2.3\n");
    assert!(e.starts_with("recipes/demo.toml:3:"), "{e}");
    let e = err(&lib("").replace("urls = [", "urls = 5 # ["));
    assert!(e.starts_with("recipes/demo.toml:9:"), "{e}");
    let e = err(&lib("").replace("system = \"autotools\"", "system = \"scons\""));
    assert!(e.starts_with("recipes/demo.toml:12:"), "{e}");
    assert!(e.contains("scons"), "{e}");
}

#[test]
fn bad_checksums_are_refused() {
    let e = err(&lib("").replace(SHA, &SHA[..40]));
    assert!(e.contains("64 lower-case hex digits"), "{e}");
    assert!(e.contains("40 characters"), "{e}");
    assert!(e.starts_with("recipes/demo.toml:6:"), "{e}");
    let e = err(&lib("").replace(SHA, &SHA.to_uppercase()));
    assert!(e.contains("64 lower-case hex digits"), "{e}");
    let e = err(&lib("").replace(&format!("sha256 = \"{SHA}\"\n"), ""));
    assert!(e.contains("sha256"), "{e}");
}

#[test]
fn names_with_path_characters_are_refused() {
    for bad in ["../evil", "a/b", "Upper", "", ".hidden"] {
        let e = err(&lib("").replace("name = \"demo\"", &format!("name = \"{bad}\"")));
        assert!(e.contains("package name"), "{bad}: {e}");
        assert!(e.starts_with("recipes/demo.toml:2:"), "{e}");
    }
    let e = err(&lib("").replace("file = \"demo-1.2.3.tar.gz\"", "file = \"../demo.tar.gz\""));
    assert!(e.contains("plain file name"), "{e}");
}

#[test]
fn upstream_urls_must_be_https() {
    let e = err(&lib("").replace("https://example.org", "http://example.org"));
    assert!(e.contains("must use https://"), "{e}");
}

#[test]
fn versions_and_requirements_are_checked() {
    let e = err(&lib("").replace("1.2.3\"", "1.2\""));
    assert!(e.contains("not a semantic version"), "{e}");
    let e = err(&(lib("") + "\n[dependencies]\nzlib = \"~>1\"\n"));
    assert!(e.contains("version requirement `~>1` for `zlib`"), "{e}");
    let e = err(&(lib("") + "\n[dependencies]\ndemo = \"1\"\n"));
    assert!(e.contains("depends on itself"), "{e}");
}

#[test]
fn unknown_target_table_is_refused() {
    let e = err(&lib("\n[target.mips-linux-musl]\nargs = []\n"));
    assert!(e.contains("[target.mips-linux-musl]"), "{e}");
    // Aliases are not triples: a table must use the canonical name.
    let e = err(&lib("\n[target.\"linux/arm64\"]\nargs = []\n"));
    assert!(e.contains("names no known target triple"), "{e}");
}

#[test]
fn recipe_kind_must_be_clear() {
    assert!(err("").contains("needs a [package] table"));
    let both = lib("")
        + "\n[toolchain]\nname = \"zig\"\nversion = \"0.1.0\"\nversion-req = \"*\"\nlicense = \"MIT\"\n";
    assert!(err(&both).contains("not both"));
}

#[test]
fn overlay_replaces_builtin_and_checks_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let curl = BUILTIN_RECIPES
        .iter()
        .find(|(f, _)| *f == "curl.toml")
        .unwrap()
        .1;
    std::fs::write(
        dir.path().join("curl.toml"),
        curl.replace("version = \"8.14.1\"", "version = \"8.15.0\""),
    )
    .unwrap();
    let set = RecipeSet::load(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(set.library("curl").unwrap().version.to_string(), "8.15.0");
    assert_eq!(set.library("zlib").unwrap().version.to_string(), "1.3.1");

    std::fs::write(dir.path().join("other.toml"), lib("")).unwrap();
    let e = RecipeSet::load(&[dir.path().to_path_buf()])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("other.toml") && e.contains("name the file `demo.toml`"),
        "{e}"
    );
}

#[test]
fn toml_snippets_in_the_docs_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for doc in ["README.md", "docs/recipes.md"] {
        let Ok(text) = std::fs::read_to_string(root.join(doc)) else {
            continue;
        };
        let mut rest = text.as_str();
        while let Some(start) = rest.find("```toml\n") {
            let body = &rest[start + 8..];
            let end = body.find("```").expect("closed code block");
            let snippet = &body[..end];
            let path = Path::new(doc);
            if snippet.contains("[sysroot]") {
                profile::Profile::parse(path, snippet)
                    .unwrap_or_else(|e| panic!("{doc}: profile snippet fails: {e}\n{snippet}"));
            } else {
                parse(path, snippet)
                    .unwrap_or_else(|e| panic!("{doc}: recipe snippet fails: {e}\n{snippet}"));
            }
            checked += 1;
            rest = &body[end + 3..];
        }
    }
    assert!(checked >= 2, "the README shows a recipe and a profile");
}

#[test]
fn minisign_key_and_signature_names_are_checked() {
    let zig = BUILTIN_RECIPES
        .iter()
        .find(|(f, _)| *f == "zig.toml")
        .unwrap()
        .1;
    let e = err(&zig.replace(
        "RWSGOq2NVecA2UPNdBUZykf1CCb147pkmdtYxgb3Ti+JO/wCYvhbAb/U",
        "RWSnotakey",
    ));
    assert!(e.contains("is not a minisign public key"), "{e}");
    assert!(e.starts_with("recipes/demo.toml:11:"), "{e}");
    let e = err(&zig.replacen(
        "minisig = \"zig-x86_64-linux-0.16.0.tar.xz.minisig\"\n",
        "",
        1,
    ));
    assert!(e.contains("names no `minisig` file"), "{e}");
    let e = err(&zig.replace("zig-x86_64-linux-0.16.0.tar.xz.minisig", "../zig.minisig"));
    assert!(e.contains("plain file name"), "{e}");
    let e = err(&zig.replace("minisign-key = ", "# minisign-key = "));
    assert!(e.contains("has no minisign-key"), "{e}");
}

#[test]
fn toolchain_kinds_are_checked() {
    let set = RecipeSet::builtin().unwrap();
    let musl = set.toolchain("musl").unwrap();
    assert_eq!(musl.kind, ToolchainKind::GccMusl);
    assert_eq!(musl.sources.len(), 1);
    assert_eq!(
        musl.sources[0].debian.as_ref().unwrap().file,
        "musl_1.2.5.orig.tar.gz"
    );
    assert!(musl.version_req.matches(&semver::Version::new(1, 2, 5)));
    assert_eq!(set.toolchain("zig").unwrap().kind, ToolchainKind::Zig);

    let head = |kind: &str| {
        format!(
            "[toolchain]\nname = \"demo\"\nkind = \"{kind}\"\nversion = \"1.0.0\"\nlicense = \"MIT\"\n"
        )
    };
    let source = format!(
        "\n[[toolchain.source]]\nfile = \"musl-1.0.0.tar.gz\"\nsha256 = \"{SHA}\"\nurls = [\"https://example.org/musl-1.0.0.tar.gz\"]\n"
    );
    let release = |target: &str| {
        format!(
            "\n[[toolchain.release]]\nhost = \"x86_64-linux\"\n{target}file = \"t.tgz\"\nsha256 = \"{SHA}\"\nurls = [\"https://example.org/t.tgz\"]\n"
        )
    };
    // Good ones.
    let RecipeFile::Toolchain(t) = parse(
        Path::new("demo.toml"),
        &format!(
            "{}{}",
            head("prebuilt"),
            release("target = \"aarch64-linux-musl\"\n")
        ),
    )
    .unwrap() else {
        panic!("toolchain expected")
    };
    assert_eq!(t.kind, ToolchainKind::Prebuilt);
    assert_eq!(t.releases[0].target.as_deref(), Some("aarch64-linux-musl"));
    parse(
        Path::new("demo.toml"),
        &format!("{}{source}", head("gcc-musl")),
    )
    .unwrap();

    let e = err(&head("clang"));
    assert!(e.starts_with("recipes/demo.toml:3:"), "{e}");
    assert!(
        e.contains("toolchain kind `clang` is not one of: zig, gcc-musl, prebuilt"),
        "{e}"
    );
    let e = err(&head("gcc-musl"));
    assert!(e.contains("pins no [[toolchain.source]]"), "{e}");
    let e = err(&format!("{}{source}{}", head("gcc-musl"), release("")));
    assert!(e.contains("has no [[toolchain.release]]"), "{e}");
    let e = err(&format!("{}{}", head("prebuilt"), release("")));
    assert!(e.contains("names no `target`"), "{e}");
    let e = err(&format!(
        "{}{}",
        head("prebuilt"),
        release("target = \"linux/arm64\"\n")
    ));
    assert!(
        e.contains("release target `linux/arm64` names no known target triple"),
        "{e}"
    );
    let e = err(&format!("{}{source}", head("prebuilt")));
    assert!(
        e.contains("[[toolchain.source]] is for gcc-musl toolchains"),
        "{e}"
    );
    let e = err(&format!(
        "[toolchain]\nname = \"demo\"\nversion = \"1.0.0\"\nlicense = \"MIT\"\n{}",
        release("")
    ));
    assert!(e.contains("has no version-req"), "{e}");
    let e = err(&format!(
        "{}{}",
        head("gcc-musl"),
        source.replace("urls = [\"https://example.org/musl-1.0.0.tar.gz\"]\n", "")
    ));
    assert!(e.contains("neither urls nor a debian package"), "{e}");
}

const CURL_KEY: &str = "27EDEAF22F3ABCEB50DB9A125CC908FDB71E12C2";
const OPENSSL_KEY: &str = "BA5473A2B0587B07FB27CF2D216094DFD0CB81EF";

/// `lib("")` with `signature = <sig>` on line 10, in its [[source]].
fn signed(sig: &str) -> String {
    lib("").replace("\n\n[build]", &format!("\nsignature = {sig}\n\n[build]"))
}

#[test]
fn builtin_recipes_pin_the_curl_and_openssl_signing_keys() {
    let set = RecipeSet::builtin().unwrap();
    let curl = set.library("curl").unwrap().sources[0]
        .signature
        .clone()
        .unwrap();
    assert_eq!(curl.file, "curl-8.14.1.tar.gz.asc");
    assert_eq!(
        curl.urls,
        [
            "https://curl.se/download/curl-8.14.1.tar.gz.asc",
            "https://github.com/curl/curl/releases/download/curl-8_14_1/curl-8.14.1.tar.gz.asc"
        ]
    );
    assert_eq!(curl.fingerprints, [CURL_KEY]);
    assert_eq!(curl.key_data.origin, "built-in keys/curl.asc");
    // Debian's debian/upstream/signing-key.asc of curl 8.14.1-2+deb13u5, unchanged.
    assert_eq!(
        curl.key_data.sha256,
        "59423e0857753e64e6539660d9180dde98a16418df84a94f6a85d271f6bc6967"
    );
    let openssl = set.library("openssl").unwrap().sources[0]
        .signature
        .clone()
        .unwrap();
    assert_eq!(openssl.file, "openssl-3.5.7.tar.gz.asc");
    assert_eq!(openssl.fingerprints, [OPENSSL_KEY]);
    // Debian's debian/upstream/signing-key.asc of openssl 3.5.7-1~deb13u2, unchanged.
    assert_eq!(
        openssl.key_data.sha256,
        "a1f2a6326b83e68b24b29ffa019cd9178e2a267faad55b0df15e62671fb9b39e"
    );
    for name in ["zlib", "c-ares", "nghttp2"] {
        assert!(
            set.library(name)
                .unwrap()
                .sources
                .iter()
                .all(|s| s.signature.is_none())
        );
    }
}

#[test]
fn every_key_file_in_the_repository_is_built_in() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes/keys");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("keys/{}", path.file_name().unwrap().to_string_lossy());
        let (_, bytes) = BUILTIN_KEYS
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{name} is not in BUILTIN_KEYS"));
        assert_eq!(*bytes, std::fs::read(&path).unwrap().as_slice(), "{name}");
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), BUILTIN_KEYS.len());
}

#[test]
fn signature_keys_and_fingerprints_are_checked_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    let curl_key = BUILTIN_KEYS
        .iter()
        .find(|(n, _)| *n == "keys/curl.asc")
        .unwrap()
        .1;
    std::fs::write(dir.path().join("keys/mine.asc"), curl_key).unwrap();
    std::fs::write(dir.path().join("keys/bad.asc"), "not a key\n").unwrap();
    let path = dir.path().join("demo.toml");
    let parse_in = |sig: &str| parse(&path, &signed(sig));
    let err_in = |sig: &str| parse_in(sig).unwrap_err().to_string();
    let at = format!("{}:10: ", path.display());

    // Good: the key beside the recipe, the fingerprint in any case and spacing.
    let RecipeFile::Library(r) = parse_in(
        "{ key = \"keys/mine.asc\", fingerprints = [\"27ed eaf2 2f3a bceb 50db 9a12 5cc9 08fd b71e 12c2\"] }",
    )
    .unwrap() else {
        panic!("library expected")
    };
    let sig = r.sources[0].signature.as_ref().unwrap();
    assert_eq!(sig.fingerprints, [CURL_KEY]);
    assert_eq!(sig.file, "demo-1.2.3.tar.gz.asc");
    assert_eq!(sig.urls, ["https://example.org/demo-1.2.3.tar.gz.asc"]);
    assert_eq!(
        sig.key_data.origin,
        dir.path().join("keys/mine.asc").display().to_string()
    );
    // A named signature file replaces the URL's last segment.
    let RecipeFile::Library(r) = parse_in(&format!(
        "{{ file = \"demo-1.2.3.tar.gz.sig\", key = \"keys/mine.asc\", fingerprints = [\"{CURL_KEY}\"] }}"
    ))
    .unwrap() else {
        panic!("library expected")
    };
    let sig = r.sources[0].signature.as_ref().unwrap();
    assert_eq!(sig.urls, ["https://example.org/demo-1.2.3.tar.gz.sig"]);
    // A key that is not beside the recipe comes from the built-in ones.
    let RecipeFile::Library(r) = parse_in(&format!(
        "{{ key = \"keys/openssl.asc\", fingerprints = [\"{OPENSSL_KEY}\"] }}"
    ))
    .unwrap() else {
        panic!("library expected")
    };
    assert_eq!(
        r.sources[0].signature.as_ref().unwrap().key_data.origin,
        "built-in keys/openssl.asc"
    );

    let cases: &[(String, &[&str])] = &[
        (
            format!("{{ key = \"keys/missing.asc\", fingerprints = [\"{CURL_KEY}\"] }}"),
            &[
                "signature key `keys/missing.asc` not found",
                "keys/missing.asc does not exist",
                "built-in: keys/curl.asc, keys/openssl.asc",
            ],
        ),
        (
            format!("{{ key = \"../keys/mine.asc\", fingerprints = [\"{CURL_KEY}\"] }}"),
            &["must be a relative path below the recipe's directory"],
        ),
        (
            format!("{{ key = \"/etc/passwd\", fingerprints = [\"{CURL_KEY}\"] }}"),
            &["must be a relative path below the recipe's directory"],
        ),
        (
            format!("{{ key = \"keys/bad.asc\", fingerprints = [\"{CURL_KEY}\"] }}"),
            &["keys/bad.asc is not an OpenPGP public key file"],
        ),
        (
            format!("{{ key = \"keys/mine.asc\", fingerprints = [\"{OPENSSL_KEY}\"] }}"),
            &[
                &format!("holds no primary key with fingerprint {OPENSSL_KEY}"),
                &format!(
                    "it holds 914C533DF9B2ADA2204F586D78E11C6B279D5C91, 4461EAF0F8E9097F48AF0555F9FEAFF9D34A1BDB, {CURL_KEY}"
                ),
            ],
        ),
        (
            "{ key = \"keys/mine.asc\", fingerprints = [\"5CC908FDB71E12C2\"] }".into(),
            &["fingerprint `5CC908FDB71E12C2` is not a full key fingerprint"],
        ),
        (
            "{ key = \"keys/mine.asc\", fingerprints = [] }".into(),
            &["lists no fingerprints"],
        ),
        (
            "\"demo-1.2.3.tar.gz.asc\"".into(),
            &["signature = \"demo-1.2.3.tar.gz.asc\" names no key to check it with"],
        ),
        (
            format!(
                "{{ key = \"keys/mine.asc\", fingerprints = [\"{CURL_KEY}\"], keyserver = \"x\" }}"
            ),
            &["unknown field `keyserver`"],
        ),
        (
            format!(
                "{{ file = \"../x.asc\", key = \"keys/mine.asc\", fingerprints = [\"{CURL_KEY}\"] }}"
            ),
            &["signature file `../x.asc` must be a plain file name"],
        ),
    ];
    for (sig, needles) in cases {
        let e = err_in(sig);
        assert!(e.starts_with(&at), "{sig}: {e}");
        for n in *needles {
            assert!(e.contains(n), "{sig}: missing {n:?} in {e}");
        }
    }
}

#[test]
fn a_source_may_pin_its_size_in_bytes() {
    let with = |size: &str| lib("").replacen("\nurls = ", &format!("\nsize = {size}\nurls = "), 1);
    let size = |text: &str| match parse(Path::new("recipes/demo.toml"), text).unwrap() {
        RecipeFile::Library(r) => r.sources[0].size,
        RecipeFile::Toolchain(_) => panic!("library expected"),
    };
    assert_eq!(size(&with("4250332")), Some(4_250_332));
    assert_eq!(size(&lib("")), None);
    let e = err(&with("0"));
    assert!(
        e.contains("demo.toml:6:") && e.contains("size of `demo-1.2.3.tar.gz` is 0"),
        "{e}"
    );
    let e = err(&with("-5"));
    assert!(e.contains("demo.toml:9:"), "{e}");
    let e = err(&with("\"4 MB\""));
    assert!(e.contains("demo.toml:9:"), "{e}");
}

#[test]
fn every_builtin_source_that_could_be_measured_pins_its_size() {
    // These three are upstream files whose bytes no Debian mirror carries, so their sizes
    // could not be measured by fetching them where the others were (recipes say so).
    let unmeasured = [
        "zlib-1.3.1.tar.gz",
        "nghttp2-1.64.0.tar.xz",
        "zstd-1.5.7.tar.gz",
    ];
    let set = RecipeSet::builtin().unwrap();
    for r in set.libraries() {
        for s in &r.sources {
            assert_eq!(
                s.size.is_none(),
                unmeasured.contains(&s.file.as_str()),
                "{} {}",
                r.name,
                s.file
            );
        }
    }
    for t in set.toolchains() {
        for s in &t.sources {
            assert!(s.size.is_some(), "{} {}", t.name, s.file);
        }
        for rel in &t.releases {
            assert!(rel.size.is_some(), "{} {}", t.name, rel.file);
        }
    }
}
