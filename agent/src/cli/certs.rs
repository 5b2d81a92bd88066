//! `mohur certs` (being written).

use std::process::ExitCode;

/// Arguments of `mohur certs`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mohur certs`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("mohur certs: not there yet");
    ExitCode::from(super::exit::FAILURE)
}
