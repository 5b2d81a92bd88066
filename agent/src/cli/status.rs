//! `mohur status` (being written).

use std::process::ExitCode;

/// Arguments of `mohur status`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mohur status`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("mohur status: not there yet");
    ExitCode::from(super::exit::FAILURE)
}
