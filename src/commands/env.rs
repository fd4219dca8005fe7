//! `crossroot env`: the variables that make a build use a sysroot.

use std::sync::Arc;

use anyhow::Result;

use crate::cli::EnvArgs;
use crate::env::{EnvInput, Format, render_for};
use crate::report::Reporter;
use crate::settings::Settings;
use crate::sysroot::{self, Sysroot};

/// The sysroot a `--target` and selection name: by key when packages or a profile say what it
/// holds, else the one built last for the target.
pub fn find_sysroot(settings: &Settings, selection: &crate::cli::Selection) -> Result<Sysroot> {
    let selected = super::select(selection, false)?;
    let target = match selected.targets.as_slice() {
        [t] => *t,
        [] => {
            return Err(super::UsageError(
                "pass --target (e.g. --target aarch64-linux-musl or --target linux/arm64)".into(),
            )
            .into());
        }
        many => {
            return Err(super::UsageError(format!(
                "one --target at a time, got {}",
                many.iter().map(|t| t.triple).collect::<Vec<_>>().join(", ")
            ))
            .into());
        }
    };
    if selected.packages.is_empty() {
        return Ok(sysroot::find_for(
            &settings.home,
            target,
            None,
            &[],
            &selected.toolchain,
        )?);
    }
    let recipes = super::load_recipes(settings)?;
    let one = super::Selected {
        targets: vec![target],
        ..selected.clone()
    };
    let Some(toolchain) = super::find_toolchain(settings, &recipes, &one)? else {
        // No compiler, so nothing can have been built for these packages.
        return Err(sysroot::not_built(target, &selected.packages).into());
    };
    let plan = super::make_plan(&recipes, &one, &toolchain)?;
    Ok(sysroot::find(
        &settings.home,
        target,
        Some(&plan.targets[0].sysroot_key),
        &selected.packages,
    )?)
}

pub fn run(settings: &Settings, _reporter: Arc<dyn Reporter>, args: EnvArgs) -> Result<i32> {
    let format: Format = args
        .format
        .parse()
        .map_err(|e: crate::env::UnknownFormat| super::UsageError(e.to_string()))?;
    let s = find_sysroot(settings, &args.selection)?;
    let input = EnvInput {
        target: s.target,
        sysroot: &s.dir,
    };
    match (&args.update, format) {
        (None, _) => print!("{}", render_for(&input, format)),
        (Some(file), Format::Cargo) => {
            crate::env::toolchain_file::update_cargo_config(file, &input)?;
            eprintln!(
                "updated {} for {} (cargo build --target {})",
                file.display(),
                s.target.triple,
                s.target.rust_triple
            );
        }
        (Some(_), _) => {
            return Err(super::UsageError(
                "--update writes cargo configuration only: use it with --format cargo".into(),
            )
            .into());
        }
    }
    Ok(0)
}
