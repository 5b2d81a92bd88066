//! `mohur pin` (being written).

use std::process::ExitCode;

/// Arguments of `mohur pin`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mohur pin`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("mohur pin: not there yet");
    ExitCode::from(super::exit::FAILURE)
}
