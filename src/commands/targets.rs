//! `crossroot targets`: per target, the toolchain that builds for it and what CI proves.

use std::fmt::Write;

use anyhow::Result;

use crate::target::{TARGETS, Target};

pub fn run(json: bool) -> Result<i32> {
    if json {
        let targets: Vec<serde_json::Value> = TARGETS
            .iter()
            .map(|t| {
                serde_json::json!({
                    "triple": t.triple,
                    "platform": t.docker_platform,
                    "rust_triple": t.rust_triple,
                    "goos": "linux",
                    "goarch": t.goarch,
                    "goarm": t.goarm,
                    "toolchains": toolchains(t),
                    "verified": t.verified,
                    "why": t.verification(),
                })
            })
            .collect();
        super::print_json(
            "crossroot-targets",
            serde_json::json!({ "targets": targets }),
        )?;
    } else {
        print!("{}", table(TARGETS));
    }
    Ok(0)
}

/// The toolchains that compile for a target, as they are invoked: zig for every target, and
/// `--toolchain gcc` (the host's GNU cross gcc with musl) where Debian has a matching cross gcc.
pub fn toolchains(target: &Target) -> Vec<String> {
    let cpu: String = target.zig_flags().iter().map(|f| format!(" {f}")).collect();
    let mut v = vec![format!("zig cc -target {}{cpu}", target.zig_target)];
    if let Some(gnu) = target.gnu_triple {
        let tested = if GCC_TESTED.contains(&target.triple) {
            " (tested)"
        } else {
            ""
        };
        v.push(format!("gcc: {gnu}-gcc + musl{tested}"));
    }
    v
}

/// The targets `tests/gcc_toolchain.rs` builds the curl stack for with `--toolchain gcc` and
/// runs a static cgo program on.
pub const GCC_TESTED: &[&str] = &["aarch64-linux-musl", "riscv64-linux-musl"];

/// One row per target: triple, platform, toolchains, verified, and what that rests on.
pub fn table(targets: &[Target]) -> String {
    let header = ["target", "platform", "toolchains", "verified", "why"];
    let rows: Vec<[String; 5]> = targets
        .iter()
        .map(|t| {
            [
                t.triple.to_string(),
                t.docker_platform.to_string(),
                toolchains(t).join(", "),
                if t.verified { "yes" } else { "no" }.to_string(),
                t.verification().to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
            }
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_target_with_toolchain_and_verification() {
        let text = table(TARGETS);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), TARGETS.len() + 1, "{text}");
        assert!(lines[0].starts_with("target "), "{text}");
        let verified_column = lines[0].find("verified").unwrap();
        for (target, line) in TARGETS.iter().zip(&lines[1..]) {
            assert!(line.starts_with(&format!("{} ", target.triple)), "{line}");
            assert!(
                line.contains(&format!("zig cc -target {}", target.zig_target)),
                "{line}"
            );
            let verified = &line[verified_column..];
            if target.verified {
                assert!(verified.starts_with("yes "), "{line}");
                assert!(line.contains("CI end to end"), "{line}");
            } else {
                assert!(verified.starts_with("no "), "{line}");
                assert!(line.ends_with(target.verification()), "{line}");
            }
        }
        let v6 = TARGETS.iter().find(|t| t.triple == "arm-linux-musleabihf");
        assert_eq!(
            toolchains(v6.unwrap()),
            ["zig cc -target arm-linux-musleabihf -mcpu=arm1176jzf_s"]
        );
        let a64 = TARGETS.iter().find(|t| t.triple == "aarch64-linux-musl");
        assert_eq!(
            toolchains(a64.unwrap()),
            [
                "zig cc -target aarch64-linux-musl",
                "gcc: aarch64-linux-gnu-gcc + musl (tested)"
            ]
        );
        let x86 = TARGETS.iter().find(|t| t.triple == "x86_64-linux-musl");
        assert_eq!(
            toolchains(x86.unwrap())[1],
            "gcc: x86_64-linux-gnu-gcc + musl"
        );
    }

    /// "(tested)" means exactly the targets the gcc end-to-end test builds and runs.
    #[test]
    fn gcc_tested_targets_are_the_gcc_test_targets() {
        let test = include_str!("../../tests/gcc_toolchain.rs");
        let tested = crate::target::listed_in(test, "TARGETS");
        assert_eq!(tested, GCC_TESTED);
    }
}
