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
