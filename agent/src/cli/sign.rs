//! `mohur sign` (being written).

use std::process::ExitCode;

/// Arguments of `mohur sign`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mohur sign`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("mohur sign: not there yet");
    ExitCode::from(super::exit::FAILURE)
}
