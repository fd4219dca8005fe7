//! `crossroot run`: run a program built for a target — natively where this host's CPU runs
//! it, else under the target's qemu user-mode emulator — as `go test -exec` and `cargo
//! runner` expect: crossroot becomes the program (or qemu), so its exit status, its signals
//! and its standard streams are the program's own.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

use crate::cli::RunArgs;
use crate::settings::Settings;
use crate::target::Target;

pub fn run(settings: &Settings, args: RunArgs) -> Result<i32> {
    let (program, rest) = args.command.split_first().expect("clap requires a program");
    let (exe, argv) = match how_to_run(settings, args.target, program)? {
        Runner::Native => (program.clone(), rest.to_vec()),
        Runner::Qemu(qemu) => {
            let mut argv = vec![program.clone()];
            argv.extend(rest.iter().cloned());
            (qemu.into_os_string(), argv)
        }
    };
    if args.target.triple == "loongarch64-linux-musl" {
        no_address_randomisation();
    }
    // exec only returns on failure.
    let e = Command::new(&exe).args(&argv).exec();
    let (code, why) = super::exec::not_started(&e);
    eprintln!(
        "error: could not run {} for {}: {why}",
        PathBuf::from(&exe).display(),
        args.target.triple
    );
    Ok(code)
}

/// How this host runs a program for `target`.
#[derive(Debug, PartialEq, Eq)]
pub enum Runner {
    Native,
    Qemu(PathBuf),
}

/// Natively when the host's CPU runs the target's code (x86_64 runs i686 too), else the
/// target's qemu-user from PATH (`qemu-aarch64-static`, then `qemu-aarch64`).
pub fn how_to_run(settings: &Settings, target: &Target, program: &OsString) -> Result<Runner> {
    if runs_natively(std::env::consts::ARCH, target) {
        return Ok(Runner::Native);
    }
    let names = [format!("{}-static", target.qemu), target.qemu.to_string()];
    match names.iter().find_map(|n| settings.host.which(n)) {
        Some(q) => Ok(Runner::Qemu(q)),
        None => Err(super::UsageError(format!(
            "cannot run {} for {}: this host is {} and neither {} nor {} is on PATH; install \
             the Debian package `qemu-user-static` (`crossroot doctor` checks it)",
            PathBuf::from(program).display(),
            target.triple,
            std::env::consts::ARCH,
            names[0],
            names[1]
        ))
        .into()),
    }
}

/// Whether a host of Rust's `std::env::consts::ARCH` name runs `target`'s programs itself.
fn runs_natively(host_arch: &str, target: &Target) -> bool {
    matches!(
        (host_arch, target.triple),
        ("x86_64", "x86_64-linux-musl" | "i686-linux-musl")
            | ("aarch64", "aarch64-linux-musl")
            | ("riscv64", "riscv64-linux-musl")
            | ("s390x", "s390x-linux-musl")
            | ("powerpc64", "powerpc64le-linux-musl")
            | ("loongarch64", "loongarch64-linux-musl")
    )
}

/// qemu-loongarch64 7.2 can hand out guest address 0 for an anonymous mapping (seen: Go's
/// cgo thread stack), after which musl's malloc fails (c-ares: ENOMEM, in ~5% of runs of the
/// end-to-end Go program). Without host address randomisation that layout does not occur (0
/// failures in 40 runs), so crossroot runs it the way `setarch -R` would. The personality is
/// inherited across exec.
fn no_address_randomisation() {
    const ADDR_NO_RANDOMIZE: libc::c_ulong = 0x0040000;
    // SAFETY: personality(0xffffffff) only queries; the second call sets a flag of this
    // process, which has no other threads yet that could depend on the layout.
    unsafe {
        let current = libc::personality(0xffff_ffff);
        if current != -1 {
            libc::personality(current as libc::c_ulong | ADDR_NO_RANDOMIZE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_64_hosts_run_x86_programs_and_nothing_else() {
        let t = |s| Target::parse(s).unwrap();
        assert!(runs_natively("x86_64", t("linux/amd64")));
        assert!(runs_natively("x86_64", t("linux/386")));
        assert!(!runs_natively("x86_64", t("linux/arm64")));
        assert!(!runs_natively("x86_64", t("linux/riscv64")));
        assert!(runs_natively("aarch64", t("linux/arm64")));
        assert!(!runs_natively("aarch64", t("linux/amd64")));
    }
}
