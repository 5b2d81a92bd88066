//! `mohur doctor`: runs [`crate::doctor::run_checks`] and prints one line per check
//! (✓ / ✗ / ! / –) with the fix under every line that is not ✓, or the checks as JSON.
//! Exit code [`exit::OK`](super::exit::OK) when nothing failed (warnings included),
//! [`exit::PROBLEMS_FOUND`](super::exit::PROBLEMS_FOUND) otherwise: doctor reports a
//! stopped pcscd as a failed check rather than exiting with `NO_SERVICE`.

use crate::config::Config;
use crate::doctor::{self, DoctorEnv, Status};
use crate::tr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `mohur doctor`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON instead of text: an array of checks {id, status, message, fix, details}.
    #[arg(long)]
    pub json: bool,
    /// Configuration file (default: $MOHUR_CONFIG or ~/.config/mohur/agent.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The agent's port to check (default: from the configuration, 29170).
    #[arg(long)]
    pub port: Option<u16>,
    /// Look only at this PC/SC reader (exact name; repeatable).
    #[arg(long = "reader", value_name = "NAME")]
    pub readers: Vec<String>,
    /// Also load this vendor PKCS#11 module (repeatable).
    #[arg(long = "pkcs11-module", value_name = "PATH")]
    pub pkcs11_modules: Vec<PathBuf>,
    /// The CA bundle to expect (directory or PEM file; default: the one mohur ships).
    #[arg(long, value_name = "PATH")]
    pub ca_bundle: Option<PathBuf>,
    /// Prefix for every system path, as `mohur-install --root`.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Check this NSS database (repeatable) instead of ~/.pki/nssdb and the Firefox profiles.
    #[arg(long = "nssdb", value_name = "DIR")]
    pub nssdbs: Vec<PathBuf>,
    /// Directory holding Firefox profiles (default ~/.mozilla/firefox and the snap's).
    #[arg(long, value_name = "DIR")]
    pub firefox_profiles: Option<PathBuf>,
    /// p11-kit module directory to look in (repeatable; default the user's and the system's).
    #[arg(long = "p11kit-dir", value_name = "DIR")]
    pub p11kit_dirs: Vec<PathBuf>,
    /// Seconds PC/SC, a vendor module or an NSS tool may take before it counts as hung.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: u64,
}

impl Args {
    /// The environment the checks look at: the configuration with the flags on top.
    pub fn env(&self) -> crate::Result<DoctorEnv> {
        let mut config = Config::load(self.config.as_deref())?;
        if let Some(p) = self.port {
            config.port = p;
        }
        config.readers.extend(self.readers.iter().cloned());
        config.pkcs11_modules.extend(self.pkcs11_modules.iter().cloned());
        let mut env = DoctorEnv::new(config);
        if let Some(r) = &self.root {
            env.root = r.clone();
        }
        env.ca_bundle = self.ca_bundle.clone();
        env.nssdbs = (!self.nssdbs.is_empty()).then(|| self.nssdbs.clone());
        env.firefox_profiles = self.firefox_profiles.clone();
        env.p11kit_dirs = (!self.p11kit_dirs.is_empty()).then(|| self.p11kit_dirs.clone());
        env.timeout = Duration::from_secs(self.timeout.max(1));
        Ok(env)
    }
}

/// Runs `mohur doctor`.
pub fn run(args: Args) -> ExitCode {
    let env = match args.env() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("mohur doctor: {e}");
            return ExitCode::from(super::exit::USAGE);
        }
    };
    let checks = doctor::run_checks(&env);
    if args.json {
        match serde_json::to_string_pretty(&checks) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("mohur doctor: {e}");
                return ExitCode::from(super::exit::FAILURE);
            }
        }
    } else {
        for c in &checks {
            println!("{} {}", c.status.mark(), c.message);
            if let Some(fix) = c.fix.as_deref().filter(|_| c.status != Status::Pass) {
                println!("    → {fix}");
            }
        }
        let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
        println!();
        if failed == 0 {
            println!("{}", tr!("doctor-summary-ok"));
        } else {
            println!("{}", tr!("doctor-summary-problems", count = failed));
        }
    }
    ExitCode::from(if doctor::all_good(&checks) { super::exit::OK } else { super::exit::PROBLEMS_FOUND })
}
