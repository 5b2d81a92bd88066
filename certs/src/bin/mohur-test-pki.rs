//! `mohur-test-pki --out DIR [--force]`: writes the mohur test PKI into DIR.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Generate the mohur test PKI (Root CA, Policy CA, E-Government CA and card holders).
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Overwrite an existing PKI in DIR.
    #[arg(long)]
    force: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let root = args.out.join("root-ca.pem");
    if root.exists() && !args.force {
        eprintln!("mohur-test-pki: {} already exists; pass --force to overwrite", root.display());
        return ExitCode::from(2);
    }
    match mohur_certs::generate(&args.out) {
        Ok(pki) => {
            for f in &pki.files {
                println!("{}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mohur-test-pki: {e}");
            ExitCode::FAILURE
        }
    }
}
