//! `--json` outputs against docs/json.md: every example there parses, and each command's
//! output has exactly the keys and value types of its example (arrays judged by their first
//! element, `dependencies` maps by their first value; `null` in an example allows null or a
//! string).

use std::process::Command;

use serde_json::Value;

fn examples() -> Vec<(String, Value)> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json.md")).unwrap();
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        if let Some(h) = line.strip_prefix("## ") {
            heading = h.trim_matches('`').to_string();
        } else if line == "```json" {
            let block: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
            let value: Value = serde_json::from_str(&block.join("\n"))
                .unwrap_or_else(|e| panic!("docs/json.md, {heading}: {e}"));
            out.push((heading.clone(), value));
        }
    }
    out
}

/// Same keys, same types, recursively; `path` names the place for the message.
fn same_shape(example: &Value, actual: &Value, path: &str) {
    match (example, actual) {
        // A map whose keys are data (recipe names): every value of the example's type.
        (Value::Object(e), Value::Object(a)) if path.ends_with(".dependencies") => {
            let first = e.values().next().expect("an example entry");
            for (k, v) in a {
                same_shape(first, v, &format!("{path}.{k}"));
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            let mut ek: Vec<&String> = e.keys().collect();
            let mut ak: Vec<&String> = a.keys().collect();
            ek.sort();
            ak.sort();
            assert_eq!(ek, ak, "{path}: keys differ from docs/json.md");
            for (k, v) in e {
                same_shape(v, &a[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            assert!(!a.is_empty(), "{path}: empty array");
            if let Some(first) = e.first() {
                for (i, item) in a.iter().enumerate() {
                    same_shape(first, item, &format!("{path}[{i}]"));
                }
            }
        }
        (Value::Null, Value::Null | Value::String(_)) => {}
        (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Number(_), Value::Number(_)) => {}
        _ => panic!("{path}: docs/json.md has {example}, the command printed {actual}"),
    }
}

#[test]
fn every_json_output_has_its_documented_shape() {
    let examples = examples();
    assert_eq!(examples.len(), 2, "{examples:?}");
    for (heading, example) in examples {
        let args: Vec<&str> = heading.split_whitespace().skip(1).collect();
        let out = Command::new(env!("CARGO_BIN_EXE_crossroot"))
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{heading}");
        let actual: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{heading}: not JSON: {e}"));
        assert_eq!(actual["format"], example["format"], "{heading}");
        assert_eq!(actual["version"], 1, "{heading}");
        same_shape(&example, &actual, &heading);
    }
}

#[test]
fn the_json_lists_what_the_tables_list() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_crossroot"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    };
    let list: Value = serde_json::from_slice(&run(&["list", "--json"])).unwrap();
    let table = String::from_utf8(run(&["list"])).unwrap();
    for p in list["packages"].as_array().unwrap() {
        let line = format!("  {} ", p["name"].as_str().unwrap());
        assert!(table.contains(&line), "{line}");
    }
    let names: Vec<&str> = list["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"curl") && names.contains(&"openssl"),
        "{names:?}"
    );
    let targets: Value = serde_json::from_slice(&run(&["targets", "--json"])).unwrap();
    let all = targets["targets"].as_array().unwrap();
    assert_eq!(all.len(), crossroot::target::TARGETS.len());
    for (t, want) in all.iter().zip(crossroot::target::TARGETS) {
        assert_eq!(t["triple"], want.triple);
        assert_eq!(t["verified"], want.verified);
        assert_eq!(
            crossroot::target::Target::parse(t["platform"].as_str().unwrap())
                .unwrap()
                .triple,
            want.triple
        );
    }
}
