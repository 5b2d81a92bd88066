//! `mohur doctor` (being written).

use std::process::ExitCode;

/// Arguments of `mohur doctor`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mohur doctor`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("mohur doctor: not there yet");
    ExitCode::from(super::exit::FAILURE)
}
