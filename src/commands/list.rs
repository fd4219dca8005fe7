//! `crossroot list`: recipes, versions and targets.

use anyhow::Result;

use crate::settings::Settings;
use crate::target::TARGETS;

pub fn run(settings: &Settings, json: bool) -> Result<i32> {
    let recipes = super::load_recipes(settings)?;
    if json {
        super::print_json("crossroot-list", as_json(&recipes))?;
        return Ok(0);
    }
    println!("Packages:");
    // Columns as wide as their longest entry (licenses such as `BSD-3-Clause OR GPL-2.0-only`).
    let width = |f: &dyn Fn(&crate::recipe::Recipe) -> usize, min: usize| {
        recipes.libraries().map(f).max().unwrap_or(0).max(min)
    };
    let name_w = width(&|r| r.name.len(), 10);
    let version_w = width(&|r| r.version.to_string().len(), 9);
    let license_w = width(&|r| r.license.len(), 11);
    for r in recipes.libraries() {
        let deps: Vec<String> = r
            .dependencies
            .iter()
            .map(|(n, req)| format!("{n} {req}"))
            .collect();
        println!(
            "  {:<name_w$} {:<version_w$} {:<license_w$} {}{}",
            r.name,
            r.version.to_string(),
            r.license,
            r.description,
            if deps.is_empty() {
                String::new()
            } else {
                format!(" (needs {})", deps.join(", "))
            }
        );
    }
    println!("\nToolchains:");
    for t in recipes.toolchains() {
        let what = match t.kind {
            crate::recipe::ToolchainKind::Zig => format!(
                "accepts installed {}; release pinned for {}",
                t.version_req,
                t.releases
                    .iter()
                    .map(|r| r.host.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            crate::recipe::ToolchainKind::GccMusl => {
                "--toolchain gcc: the host's GNU cross gcc with this musl, built per target".into()
            }
            crate::recipe::ToolchainKind::Prebuilt => format!(
                "--toolchain {}: prebuilt for {}",
                t.name,
                t.releases
                    .iter()
                    .map(|r| format!("{} on {}", r.target.as_deref().unwrap_or("?"), r.host))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        println!("  {:<10} {:<9} {what}", t.name, t.version.to_string());
    }
    println!("\nTargets:");
    println!(
        "  {:<24} {:<14} {:<8} {:<16} {:<14} verified",
        "triple", "platform", "GOARCH", "OpenSSL", "qemu"
    );
    for t in TARGETS {
        let goarch = match t.goarm {
            Some(arm) => format!("{} v{arm}", t.goarch),
            None => t.goarch.to_string(),
        };
        println!(
            "  {:<24} {:<14} {:<8} {:<16} {:<14} {}",
            t.triple,
            t.docker_platform,
            goarch,
            t.openssl_target,
            t.qemu,
            if t.verified {
                "yes (CI end to end)"
            } else {
                "no"
            }
        );
    }
    Ok(0)
}

/// The packages, toolchains and targets as docs/json.md documents them.
fn as_json(recipes: &crate::recipe::RecipeSet) -> serde_json::Value {
    let packages: Vec<serde_json::Value> = recipes
        .libraries()
        .map(|r| {
            let deps: serde_json::Map<String, serde_json::Value> = r
                .dependencies
                .iter()
                .map(|(n, req)| (n.clone(), req.to_string().into()))
                .collect();
            serde_json::json!({
                "name": r.name,
                "version": r.version.to_string(),
                "license": r.license,
                "description": r.description,
                "dependencies": deps,
            })
        })
        .collect();
    let toolchains: Vec<serde_json::Value> = recipes
        .toolchains()
        .map(|t| {
            serde_json::json!({
                "name": t.name,
                "kind": t.kind.as_str(),
                "version": t.version.to_string(),
            })
        })
        .collect();
    let targets: Vec<serde_json::Value> = TARGETS
        .iter()
        .map(|t| {
            serde_json::json!({
                "triple": t.triple,
                "platform": t.docker_platform,
                "goarch": t.goarch,
                "goarm": t.goarm,
                "verified": t.verified,
            })
        })
        .collect();
    serde_json::json!({ "packages": packages, "toolchains": toolchains, "targets": targets })
}
