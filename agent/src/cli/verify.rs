//! `mohur verify` (being written).

use std::process::ExitCode;

/// Arguments of `mohur verify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mohur verify`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("mohur verify: not there yet");
    ExitCode::from(super::exit::FAILURE)
}
