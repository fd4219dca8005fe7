//! `crossroot fetch`: download and verify sources (and zig when none is installed, musl's
//! source for the gcc toolchain, a prebuilt toolchain's archives).

use std::sync::Arc;

use anyhow::Result;

use crate::cli::FetchArgs;
use crate::report::Reporter;
use crate::settings::Settings;

pub fn run(settings: &Settings, reporter: Arc<dyn Reporter>, args: FetchArgs) -> Result<i32> {
    let selected = super::select(&args.selection, false)?;
    let recipes = super::load_recipes(settings)?;
    settings.home.init()?;
    let order = crate::plan::resolve(&recipes, &selected.packages)
        .map_err(|e| super::UsageError(e.to_string()))?;
    let rt = super::runtime()?;
    let fetcher = super::fetcher(settings, reporter.clone())?;
    rt.block_on(async {
        let recipe = super::toolchain_recipe(&recipes, &selected.toolchain)?;
        let mut items: Vec<_> = Vec::new();
        match recipe.kind {
            crate::recipe::ToolchainKind::Zig => {
                let zig = super::provide_zig(settings, &recipes, &fetcher, &*reporter).await?;
                reporter.info(&format!("zig {}: {}", zig.version, zig.exe.display()));
            }
            crate::recipe::ToolchainKind::GccMusl => items.push((
                format!("{} {}", recipe.name, recipe.version),
                recipe.sources.clone(),
            )),
            crate::recipe::ToolchainKind::Prebuilt => {
                for &t in &selected.targets {
                    let p = crate::toolchain::Prebuilt::find(&settings.home, recipe, t)?;
                    items.push((
                        format!("{} {} ({})", p.recipe, p.version, t.triple),
                        vec![p.artifact()],
                    ));
                }
            }
        }
        items.extend(
            order
                .iter()
                .map(|r| (format!("{} {}", r.name, r.version), r.sources.clone())),
        );
        let results = fetcher.fetch_all(items.clone()).await;
        let mut failed = Vec::new();
        for ((label, _), r) in items.iter().zip(results) {
            match r {
                Ok(f) => {
                    reporter.info(&format!(
                        "{label}: {} (from {})",
                        f.path.display(),
                        f.origin
                    ));
                    if let Some(sig) = &f.signature {
                        reporter.info(&format!(
                            "{label}: OpenPGP signature by {} (key {}), made {}: good (from {})",
                            sig.verified.signer,
                            sig.verified.primary,
                            crate::sbom::timestamp(u64::from(sig.verified.created)),
                            sig.origin
                        ));
                    }
                }
                Err(e) => failed.push(format!("{e}")),
            }
        }
        if failed.is_empty() {
            Ok(0)
        } else {
            anyhow::bail!("could not fetch sources:\n{}", failed.join("\n"))
        }
    })
}
