//! The module graph of `src/` has no cycle (docs/ARCHITECTURE.md): every `crate::<module>`
//! named in a module's non-test code is an edge from that module, and the graph of
//! top-level modules must be a DAG (a cycle is printed with its edges).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn modules() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            if !rel.ends_with(".rs") || rel.ends_with("tests.rs") {
                continue;
            }
            let top = rel
                .split('/')
                .next()
                .unwrap()
                .trim_end_matches(".rs")
                .to_string();
            if top == "lib" || top == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            let deps = graph.entry(top.clone()).or_default();
            for (i, _) in code.match_indices("crate::") {
                let name: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() && name != top {
                    deps.insert(name);
                }
            }
        }
    }
    let known: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| known.contains(d));
    }
    graph
}

#[test]
fn the_modules_form_no_cycle() {
    let graph = modules();
    assert!(graph.len() > 20, "{graph:?}");
    // Depth-first search; a back edge is a cycle.
    fn visit(
        v: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) {
        state.insert(v.to_string(), 1);
        path.push(v.to_string());
        for w in &g[v] {
            match state.get(w.as_str()).copied().unwrap_or(0) {
                0 => visit(w, g, state, path),
                1 => {
                    let from = path.iter().position(|p| p == w).unwrap();
                    panic!("import cycle: {} -> {w}", path[from..].join(" -> "));
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(v.to_string(), 2);
    }
    let mut state = BTreeMap::new();
    for v in graph.keys() {
        if !state.contains_key(v.as_str()) {
            visit(v, &graph, &mut state, &mut Vec::new());
        }
    }
    // The pipeline's order holds: no stage reaches a later one.
    for (early, late) in [
        ("recipe", "plan"),
        ("plan", "fetch"),
        ("fetch", "build"),
        ("build", "sysroot"),
        ("store", "sysroot"),
        ("sysroot", "env"),
        ("store", "registry"),
    ] {
        assert!(
            !graph[early].contains(late),
            "{early} uses {late}, a later stage"
        );
    }
}
