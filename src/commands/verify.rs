//! `crossroot verify`: is this file a static executable for the target?

use anyhow::Result;

use crate::cli::VerifyArgs;

pub fn run(args: VerifyArgs) -> Result<i32> {
    let mut all_ok = true;
    for file in &args.files {
        let verdict = crate::verify::verify(file, args.target)?;
        println!("{}", verdict.line());
        all_ok &= verdict.ok;
    }
    Ok(if all_ok { 0 } else { 1 })
}
