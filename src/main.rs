use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
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
