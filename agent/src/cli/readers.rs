//! `mohur readers` (being written).

use std::process::ExitCode;

/// Arguments of `mohur readers`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mohur readers`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("mohur readers: not there yet");
    ExitCode::from(super::exit::FAILURE)
}
