//! `crossroot exec`: run a command in a sysroot's environment.

use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::cli::ExecArgs;
use crate::env::{EnvInput, variables};
use crate::report::Reporter;
use crate::settings::Settings;

pub fn run(settings: &Settings, _reporter: Arc<dyn Reporter>, args: ExecArgs) -> Result<i32> {
    let s = super::env::find_sysroot(settings, &args.selection)?;
    let vars = variables(&EnvInput {
        target: s.target,
        sysroot: &s.dir,
    });
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let status = Command::new(program)
        .args(rest)
        .envs(vars)
        .status()
        .with_context(|| format!("could not run `{}`", program.to_string_lossy()))?;
    Ok(status.code().unwrap_or(128))
}
