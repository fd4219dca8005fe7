//! `crossroot exec`: run a command in a sysroot's environment.

use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::sync::Arc;

use anyhow::Result;

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
    let status = match Command::new(program).args(rest).envs(vars).status() {
        Ok(status) => status,
        Err(e) => {
            let (code, why) = not_started(&e);
            eprintln!(
                "error: could not run `{}`: {why}",
                program.to_string_lossy()
            );
            return Ok(code);
        }
    };
    Ok(exit_code(status))
}

/// Why a command could not be started, as a shell says it, and with its codes: 127 not
/// found, 126 found but not runnable.
pub(crate) fn not_started(e: &std::io::Error) -> (i32, String) {
    match e.kind() {
        ErrorKind::NotFound => (127, "command not found".to_string()),
        ErrorKind::PermissionDenied => (126, "permission denied (is it executable?)".into()),
        _ => (126, e.to_string()),
    }
}

/// The exit code a shell gives a command that ended with `status`: its own, or 128 + the
/// number of the signal that ended it.
fn exit_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 128,
    }
}
