//! Nothing of the user's is lost, nothing gets in (issue 13, defects 1, 3 and 4), through the
//! command line as the outside review met them: a `--prefix` that is not crossroot's, a home
//! whose path the build tools would run as shell code, and a home crossroot did not create.
//! Each builds the tiny `make` recipe of `tests/common` from a mirror on 127.0.0.1.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Demo, demo, stderr, stdout};

/// The CACHEDIR.TAG every crossroot so far has written.
const OLD_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n# This directory is a cache of crossroot (static musl cross sysroots).\n";

fn build(d: &Demo, home: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["build", "--target", "linux/arm64"];
    args.extend_from_slice(extra);
    d.run(home, &args)
}

/// Every path under `dir` (directories too), relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
        let Ok(rd) = fs::read_dir(dir) else {
            out.push(format!("({} is gone)", dir.display()));
            return;
        };
        let mut entries: Vec<_> = rd.map(|e| e.unwrap()).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let rel = format!("{rel}{}", e.file_name().to_string_lossy());
            out.push(rel.clone());
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &format!("{rel}/"), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out
}

fn marker_key(prefix: &Path) -> String {
    let text = fs::read(prefix.join(".crossroot-prefix")).expect("the prefix has a marker");
    let v: serde_json::Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(v["written_by"], "crossroot");
    v["key"].as_str().unwrap().to_string()
}

/// A second recipe, `other`, built from the same served source: another package set.
fn add_other_recipe(d: &Demo) {
    let text = fs::read_to_string(d.recipes.join("demo.toml")).unwrap();
    fs::write(
        d.recipes.join("other.toml"),
        text.replace("name = \"demo\"", "name = \"other\""),
    )
    .unwrap();
}

// ---- defect 1: `build --prefix` ----------------------------------------------------------

#[test]
fn a_prefix_with_a_bare_manifest_is_refused_and_its_files_are_kept() {
    let d = demo();
    let home = d.tmp.path().join("home");
    let w = d.tmp.path().join("P/w");
    fs::create_dir_all(&w).unwrap();
    fs::write(w.join("manifest.json"), "{}\n").unwrap();
    fs::write(w.join("important.txt"), "x\n").unwrap();
    let out = build(&d, &home, &["--prefix", w.to_str().unwrap(), "demo"]);
    assert!(
        w.join("important.txt").is_file(),
        "build --prefix deleted the user's file"
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "not installing into {}: it is a directory that crossroot did not write: it holds important.txt, manifest.json and has no .crossroot-prefix",
            w.display()
        )),
        "{err}"
    );
    assert!(err.contains("choose another --prefix"), "{err}");
    assert_eq!(fs::read_to_string(w.join("important.txt")).unwrap(), "x\n");
    assert_eq!(tree(&w), ["important.txt", "manifest.json"]);
    // Refused before anything was fetched or built.
    assert_eq!(d.server.requests(), 0);
    let staging: Vec<_> = fs::read_dir(d.tmp.path().join("P"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(staging, ["w"]);
}

#[test]
fn a_regular_file_or_a_link_as_the_prefix_is_refused_and_left_alone() {
    let d = demo();
    let home = d.tmp.path().join("home");
    let file = d.tmp.path().join("sysroot.img");
    fs::write(&file, "data").unwrap();
    let out = build(&d, &home, &["--prefix", file.to_str().unwrap(), "demo"]);
    assert!(file.is_file(), "build --prefix replaced the user's file");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("it is a file, not a directory"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), "data");

    let target = d.tmp.path().join("elsewhere");
    fs::create_dir(&target).unwrap();
    let link = d.tmp.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = build(&d, &home, &["--prefix", link.to_str().unwrap(), "demo"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(tree(&target), Vec::<String>::new());
    assert_eq!(d.server.requests(), 0);
}

#[test]
fn a_prefix_crossroot_wrote_is_replaced_by_another_package_set_unless_a_file_was_added() {
    let d = demo();
    add_other_recipe(&d);
    let home = d.tmp.path().join("home");
    let prefix = d.tmp.path().join("opt/sysroot");
    // An empty directory is taken.
    fs::create_dir_all(&prefix).unwrap();
    let out = build(&d, &home, &["--prefix", prefix.to_str().unwrap(), "demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let first = marker_key(&prefix);
    let manifest = fs::read_to_string(prefix.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"name\": \"demo\""), "{manifest}");

    let out = build(&d, &home, &["--prefix", prefix.to_str().unwrap(), "other"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("copied to"), "{}", stderr(&out));
    let second = marker_key(&prefix);
    assert_ne!(first, second);
    let manifest = fs::read_to_string(prefix.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"name\": \"other\""), "{manifest}");
    assert!(!manifest.contains("\"name\": \"demo\""), "{manifest}");
    let beside: Vec<_> = fs::read_dir(d.tmp.path().join("opt"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["sysroot"], "staging left beside the prefix");

    // A file of the user's in the copy: kept, and the copy is not replaced.
    fs::write(prefix.join("include/mine.h"), "int mine;\n").unwrap();
    let out = build(&d, &home, &["--prefix", prefix.to_str().unwrap(), "demo"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("include/mine.h"), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(prefix.join("include/mine.h")).unwrap(),
        "int mine;\n"
    );
    assert_eq!(marker_key(&prefix), second);
    // The same package set again: nothing to replace, so nothing to refuse.
    let out = build(&d, &home, &["--prefix", prefix.to_str().unwrap(), "other"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("already at"), "{}", stderr(&out));
    assert!(prefix.join("include/mine.h").is_file());
}

// ---- defect 3: the home's path in build commands --------------------------------------------

#[test]
fn a_home_with_shell_syntax_is_refused_before_anything_runs() {
    let d = demo();
    let pwned = d.tmp.path().join("pwned");
    let home = PathBuf::from(format!(
        "{}/h;touch {};",
        d.tmp.path().display(),
        pwned.display()
    ));
    let out = build(&d, &home, &["demo"]);
    assert!(!pwned.exists(), "the home's path ran as a command");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("the home {} contains `;`", home.display())),
        "{err}"
    );
    assert!(err.contains("--home or CROSSROOT_HOME"), "{err}");
    assert!(!d.tmp.path().join("h;touch ").exists(), "the home was made");
    assert_eq!(d.server.requests(), 0);
}

#[test]
fn a_home_with_a_space_a_quote_or_non_ascii_is_refused_up_front_naming_the_character() {
    let d = demo();
    for (name, what) in [
        ("my home", "contains a space"),
        ("it's", "contains `'`"),
        ("h\u{e9}", "contains the non-ASCII character `\u{e9}`"),
        ("a$b", "contains `$`"),
    ] {
        let home = d.tmp.path().join(name);
        let out = build(&d, &home, &["demo"]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains(what), "{name}: {}", stderr(&out));
        assert!(!home.exists(), "{name}: the home was made");
    }
    assert_eq!(d.server.requests(), 0);
}

// ---- defect 4: a home crossroot did not create ------------------------------------------------

#[test]
fn a_project_directory_given_as_home_is_neither_taken_by_build_nor_removed_by_clean() {
    let d = demo();
    let project = d.tmp.path().join("project");
    fs::create_dir_all(project.join("src")).unwrap();
    fs::write(project.join("Cargo.toml"), "[package]\nname = \"app\"\n").unwrap();
    fs::write(project.join("src/main.rs"), "fn main() {}\n").unwrap();
    let before = tree(&project);

    let out = build(&d, &project, &["demo"]);
    let after_build = tree(&project);
    let out_clean = d.run(&project, &["cache", "clean"]);
    assert_eq!(
        tree(&project),
        before,
        "build and clean changed the project"
    );
    assert_eq!(after_build, before, "build wrote into the project");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "{} is not a crossroot home: it is not empty (it holds Cargo.toml, src), and it has no CACHEDIR.TAG",
            project.display()
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(d.server.requests(), 0);
    let out = out_clean;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("not cleaning {}", project.display())),
        "{}",
        stderr(&out)
    );

    // Another program's cache directory, with its own CACHEDIR.TAG: not crossroot's either.
    let target = project.join("target");
    fs::create_dir_all(target.join("debug")).unwrap();
    fs::write(
        target.join("CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by cargo.\n",
    )
    .unwrap();
    let before = tree(&target);
    let out = d.run(&target, &["cache", "clean"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("written by another program"),
        "{}",
        stderr(&out)
    );
    assert_eq!(tree(&target), before);
    let out = build(&d, &target, &["demo"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(tree(&target), before);
}

#[test]
fn a_home_of_an_earlier_crossroot_still_works_and_clean_keeps_what_is_not_crossroots() {
    let d = demo();
    let home = d.tmp.path().join("home");
    fs::create_dir_all(home.join("logs")).unwrap();
    fs::write(home.join("CACHEDIR.TAG"), OLD_TAG).unwrap();
    let out = build(&d, &home, &["demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        home.join("sysroots-v1/aarch64-linux-musl/current/lib/libdemo.a")
            .is_file()
    );

    // The user keeps a note in the home: clean removes crossroot's files and leaves it.
    fs::write(home.join("notes.txt"), "mine\n").unwrap();
    let out = d.run(&home, &["cache", "clean"]);
    assert!(
        home.join("notes.txt").is_file(),
        "cache clean removed the user's note"
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "removed crossroot's files from {}",
            home.display()
        )),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("notes.txt"), "{}", stderr(&out));
    assert_eq!(tree(&home), ["notes.txt"]);
    assert_eq!(
        fs::read_to_string(home.join("notes.txt")).unwrap(),
        "mine\n"
    );

    // A home of crossroot's alone goes whole.
    fs::remove_file(home.join("notes.txt")).unwrap();
    let out = build(&d, &home, &["demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = d.run(&home, &["cache", "clean"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(&format!("removed {} (", home.display())),
        "{}",
        stdout(&out)
    );
    assert!(!home.exists());
}
