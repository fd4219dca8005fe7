//! Property tests of the recipe parser: any text is parsed or refused, never a panic, and a
//! refusal names the file (and the line, where one line is at fault). `cargo test` runs each
//! property over 256 cases; `PROPTEST_CASES=100000 cargo test --lib recipe::proptests` runs
//! them long.

use proptest::prelude::*;

use super::*;

const PATH: &str = "/nowhere/recipes/demo.toml";

/// A valid library recipe that uses every table, one key per line.
const BASE: &str = r#"[package]
name = "demo"
version = "1.2.3"
license = "MIT"
description = "a demo"
homepage = "https://example.org/demo"

[dependencies]
zlib = ">=1.2"

[[source]]
file = "demo-1.2.3.tar.gz"
sha256 = "6766ada7101d292b42b8b15681120acd68effa4a9660935853cf6d61f0d984d4"
urls = ["https://example.org/demo-1.2.3.tar.gz"]
debian = { package = "demo", file = "demo_1.2.3.orig.tar.gz" }

[build]
system = "autotools"
languages = ["c"]
args = ["--disable-shared", "--host={host}"]
make-steps = [["-C", "lib"]]
install-steps = [["install", "PREFIX={prefix}"]]
env = { X = "1" }

[target.riscv64-linux-musl]
args = ["--b"]

[install]
libs = ["libdemo.a"]
pkg-config = ["demo"]
"#;

fn parse_text(text: &str) -> Result<RecipeFile, RecipeError> {
    parse(Path::new(PATH), text)
}

fn lines() -> Vec<&'static str> {
    BASE.lines().collect()
}

/// Indexes of the `key = value` lines of [`BASE`].
fn key_lines() -> Vec<usize> {
    lines()
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains(" = "))
        .map(|(i, _)| i)
        .collect()
}

/// Indexes of the lines inside a table (after the first header).
fn table_lines() -> Vec<usize> {
    (1..=lines().len()).collect()
}

/// Checks what every refusal must say: the file first; and for a line-level error, a line
/// the text has.
fn check_refusal(text: &str, e: &RecipeError) -> Result<(), TestCaseError> {
    let msg = e.to_string();
    prop_assert!(msg.starts_with(PATH), "does not name the file: {msg}");
    match e {
        RecipeError::Invalid { line, .. } => {
            let last = text.split('\n').count();
            prop_assert!(
                (1..=last).contains(line),
                "line {line} of a {last}-line text: {msg}"
            );
            prop_assert!(msg.starts_with(&format!("{PATH}:{line}: ")), "{msg}");
        }
        RecipeError::File { .. } => {}
        other => prop_assert!(false, "parse cannot give {other:?}"),
    }
    Ok(())
}

/// A TOML value: of every type, some of them what the keys expect.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"demo\"".to_string()),
        Just("\"1.2.3\"".to_string()),
        Just("1".to_string()),
        Just("-7".to_string()),
        Just("1.5".to_string()),
        Just("true".to_string()),
        Just("[]".to_string()),
        Just("[\"a\", \"b\"]".to_string()),
        Just("[[\"install\"]]".to_string()),
        Just("[1, 2]".to_string()),
        Just("{}".to_string()),
        Just("{ X = \"1\" }".to_string()),
        Just("{ package = \"p\", file = \"f\" }".to_string()),
        Just("1979-05-27T07:32:00Z".to_string()),
        any::<String>().prop_map(|s| toml_string(&s)),
        "[ -~]{0,12}".prop_map(|s| s.to_string()),
    ]
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// TOML-shaped text from the recipe's own tables and keys and some others.
fn toml_like() -> impl Strategy<Value = String> {
    let header = prop_oneof![
        Just("[package]"),
        Just("[toolchain]"),
        Just("[[source]]"),
        Just("[[toolchain.release]]"),
        Just("[[toolchain.source]]"),
        Just("[build]"),
        Just("[install]"),
        Just("[dependencies]"),
        Just("[target.riscv64-linux-musl]"),
        Just("[target.mips-linux-musl]"),
        Just("[source]"),
        Just("[[build]]"),
    ]
    .prop_map(str::to_string);
    let key = prop_oneof![
        Just("name"),
        Just("version"),
        Just("license"),
        Just("kind"),
        Just("version-req"),
        Just("minisign-key"),
        Just("file"),
        Just("sha256"),
        Just("urls"),
        Just("debian"),
        Just("signature"),
        Just("system"),
        Just("languages"),
        Just("args"),
        Just("make-steps"),
        Just("install-steps"),
        Just("env"),
        Just("libs"),
        Just("pkg-config"),
        Just("host"),
        Just("target"),
        Just("minisig"),
        Just("zlib"),
        Just("colour"),
        Just("\"quoted key\""),
        Just("a.b"),
    ];
    let pair = (key, value()).prop_map(|(k, v)| format!("{k} = {v}"));
    let line = prop_oneof![
        3 => pair,
        1 => header,
        1 => Just(String::new()),
        1 => Just("# comment".to_string()),
        1 => "[ -~]{0,20}".prop_map(|s| s.to_string()),
    ];
    prop::collection::vec(line, 0..24).prop_map(|ls| ls.join("\n"))
}

/// One change to [`BASE`] that a careless or hostile hand might make.
#[derive(Debug, Clone)]
enum Edit {
    /// An unknown key on a line of its own, inserted before line `at` (0-based).
    UnknownKey { at: usize },
    /// The value of key line `at` replaced with a value of a type no key there takes.
    WrongType { at: usize, value: &'static str },
    /// The value of key line `at` replaced with any value.
    AnyValue { at: usize, value: String },
    /// Key line `at` written twice.
    Duplicate { at: usize },
    /// Line `at` deleted.
    Delete { at: usize },
    /// The text cut after `at` characters.
    Truncate { at: usize },
    /// `junk` inserted at character `at`.
    Insert { at: usize, junk: String },
}

fn edit() -> impl Strategy<Value = Edit> {
    let keys = key_lines();
    let n = lines().len();
    let chars = BASE.chars().count();
    let key_at = prop::sample::select(keys);
    prop_oneof![
        prop::sample::select(table_lines()).prop_map(|at| Edit::UnknownKey { at }),
        (
            key_at.clone(),
            prop::sample::select(vec!["1", "true", "1.5", "1979-05-27"])
        )
            .prop_map(|(at, value)| Edit::WrongType { at, value }),
        (key_at.clone(), value()).prop_map(|(at, value)| Edit::AnyValue { at, value }),
        key_at.prop_map(|at| Edit::Duplicate { at }),
        (0..n).prop_map(|at| Edit::Delete { at }),
        (0..=chars).prop_map(|at| Edit::Truncate { at }),
        (0..=chars, "[\\[\\]{}=\"#\n, a-z0-9.]{1,6}")
            .prop_map(|(at, junk)| Edit::Insert { at, junk }),
    ]
}

/// The edited text, and the 1-based line the edit makes wrong when one line alone must be
/// named.
fn apply(e: &Edit) -> (String, Option<usize>) {
    let mut ls: Vec<String> = lines().iter().map(|l| l.to_string()).collect();
    let key_of = |l: &str| l.split(" = ").next().unwrap().to_string();
    let line = match e {
        Edit::UnknownKey { at } => {
            // In [dependencies] a dependency: its requirement must be a string.
            ls.insert(*at, "zz-unknown = 1".into());
            Some(at + 1)
        }
        Edit::WrongType { at, value } => {
            ls[*at] = format!("{} = {value}", key_of(&ls[*at]));
            Some(at + 1)
        }
        Edit::AnyValue { at, value } => {
            ls[*at] = format!("{} = {value}", key_of(&ls[*at]));
            None
        }
        Edit::Duplicate { at } => {
            ls.insert(at + 1, ls[*at].clone());
            Some(at + 2)
        }
        Edit::Delete { at } => {
            ls.remove(*at);
            None
        }
        Edit::Truncate { at } => return (BASE.chars().take(*at).collect(), None),
        Edit::Insert { at, junk } => {
            let mut s: String = BASE.chars().take(*at).collect();
            s.push_str(junk);
            s.extend(BASE.chars().skip(*at));
            return (s, None);
        }
    };
    (ls.join("\n") + "\n", line)
}

/// Long runs by hand: `PROPTEST_CASES=100000`; otherwise proptest's 256.
fn config() -> ProptestConfig {
    ProptestConfig {
        // A failure is printed with its minimal case; no files are written into the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[test]
fn the_base_recipe_is_valid() {
    let RecipeFile::Library(r) = parse_text(BASE).unwrap() else {
        panic!("a library")
    };
    assert_eq!(r.name, "demo");
    assert_eq!(r.targets.len(), 1);
    assert!(!key_lines().is_empty());
}

/// Found by `an_edited_recipe_is_refused_at_the_edited_line`: `env = 1979-05-27` was taken as
/// a table with one variable, `$__toml_private_datetime`.
#[test]
fn an_env_table_holds_variable_names_and_strings_only() {
    let with_env = |env: &str| BASE.replace("env = { X = \"1\" }", env);
    let line = lines()
        .iter()
        .position(|l| l.starts_with("env = "))
        .unwrap()
        + 1;
    for (env, says) in [
        ("env = 1979-05-27", "not a date or time"),
        ("env = 07:32:00", "not a date or time"),
        ("env = { \"A=B\" = \"1\" }", "env variable name `A=B`"),
        ("env = { 1X = \"1\" }", "env variable name `1X`"),
        ("env = { X = \"a\\u0000b\" }", "holds a NUL byte"),
    ] {
        let e = parse_text(&with_env(env)).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{PATH}:{line}: ")), "{env}: {e}");
        assert!(e.contains(says), "{env}: {e}");
    }
    let text = BASE.replace("args = [\"--b\"]", "args = [\"--b\"]\nenv = 1979-05-27");
    let e = parse_text(&text).unwrap_err().to_string();
    assert!(e.contains("not a date or time"), "{e}");
    assert!(parse_text(&with_env("env = { _Y2 = \"\" }")).is_ok());
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_parsed_or_refused_naming_the_file(text in any::<String>()) {
        if let Err(e) = parse_text(&text) {
            check_refusal(&text, &e)?;
        }
    }

    #[test]
    fn toml_shaped_text_is_parsed_or_refused_naming_the_file(text in toml_like()) {
        if let Err(e) = parse_text(&text) {
            check_refusal(&text, &e)?;
        }
    }

    /// An unknown key, a value of the wrong type or a key written twice is refused at its
    /// line; any other edit is parsed or refused naming the file.
    #[test]
    fn an_edited_recipe_is_refused_at_the_edited_line(e in edit()) {
        let (text, line) = apply(&e);
        match (parse_text(&text), line) {
            (Err(err), Some(line)) => {
                check_refusal(&text, &err)?;
                let msg = err.to_string();
                prop_assert!(
                    msg.starts_with(&format!("{PATH}:{line}: ")),
                    "{e:?}: expected line {line}: {msg}\n{text}"
                );
            }
            (Ok(_), Some(_)) => prop_assert!(false, "{e:?} accepted:\n{text}"),
            (Err(err), None) => check_refusal(&text, &err)?,
            (Ok(_), None) => {}
        }
    }
}
