use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Output into a closed pipe (`crossroot list | head -1`) ends the process quietly, as it
    // does `ls` or `cat`, instead of failing every later write (Rust ignores SIGPIPE).
    // SAFETY: called before any thread starts; SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = crossroot::cli::Cli::parse();
    match crossroot::commands::run(cli) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(err) => {
            let usage = err
                .downcast_ref::<crossroot::commands::UsageError>()
                .is_some();
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}
