//! `mohur-install`: see the crate documentation of `mohur_installer` and installer/README.md.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::sync::Arc;
use std::time::SystemTime;

use clap::{Parser, Subcommand};
use mohur_installer::loopback::{self, KeyInTransit, LoopbackCa, LoopbackError};
use mohur_installer::secrets::OsKeyring;
use mohur_installer::{ca, plan, Error, Options};

/// Installs mohur's CA certificates, PKCS#11 module and agent autostart, or removes them.
#[derive(Parser, Debug)]
#[command(name = "mohur-install", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
    /// Machine-wide (needs root / administrator); default: the current user only.
    #[arg(long, global = true)]
    system: bool,
    /// Print each action without changing anything.
    #[arg(long, global = true)]
    dry_run: bool,
    /// Prefix for every system path (for tests and image builds).
    #[arg(long, global = true, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    /// Directory (or PEM file) with the root, Policy CA and E-Government CA certificates.
    #[arg(long, global = true, value_name = "DIR")]
    ca_bundle: Option<PathBuf>,
    /// The PKCS#11 module to register.
    #[arg(long, global = true, value_name = "PATH")]
    module: Option<PathBuf>,
    /// The agent binary started at login.
    #[arg(long, global = true, value_name = "PATH")]
    agent: Option<PathBuf>,
    /// Use this NSS database (repeatable) instead of ~/.pki/nssdb and the Firefox profiles.
    #[arg(long = "nssdb", global = true, value_name = "DIR")]
    nssdbs: Vec<PathBuf>,
    /// Directory holding Firefox profiles (default ~/.mozilla/firefox and the snap's).
    #[arg(long, global = true, value_name = "DIR")]
    firefox_profiles: Option<PathBuf>,
    /// Manifest file (default /var/lib/mohur or ~/.local/share/mohur install-manifest.json).
    #[arg(long, global = true, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Do not add the login autostart entries.
    #[arg(long, global = true)]
    no_autostart: bool,
    /// Also the TLS on loopback (per user): a CA for 127.0.0.1 only, its key in the OS
    /// keyring, trusted by the browsers, so that the agent serves wss:// too. With
    /// `uninstall`: take away only that.
    #[arg(long, global = true)]
    loopback_tls: bool,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Check the CA bundle, then add everything that is not there yet.
    Install,
    /// Remove what the manifest says install added, and nothing else.
    Uninstall,
    /// Report ✓ or ✗ for every piece.
    Verify,
}

fn exe_dir() -> PathBuf {
    std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf)).unwrap_or_default()
}

fn first_existing(candidates: Vec<PathBuf>) -> PathBuf {
    candidates.iter().find(|p| p.exists()).unwrap_or(&candidates[candidates.len() - 1]).clone()
}

fn options(cli: &Cli) -> Options {
    let dir = exe_dir();
    let home =
        std::env::var_os(if cfg!(windows) { "USERPROFILE" } else { "HOME" }).map(PathBuf::from).unwrap_or_default();
    let (module, agent) = if cfg!(windows) {
        (dir.join("mohur_pkcs11.dll"), dir.join("mohur.exe"))
    } else {
        // Next to mohur-install (a build tree), else where the Debian package puts it:
        // p11-kit's module directory.
        (
            first_existing(vec![
                dir.join("libmohur_pkcs11.so"),
                "/usr/lib/x86_64-linux-gnu/pkcs11/libmohur_pkcs11.so".into(),
            ]),
            first_existing(vec![dir.join("mohur"), "/usr/bin/mohur".into()]),
        )
    };
    Options {
        system: cli.system,
        root: cli.root.clone(),
        home,
        module: cli.module.clone().unwrap_or(module),
        agent: cli.agent.clone().unwrap_or(agent),
        nssdbs: (!cli.nssdbs.is_empty()).then(|| cli.nssdbs.clone()),
        firefox_profiles: cli.firefox_profiles.clone(),
        no_autostart: cli.no_autostart,
        keyring_service: mohur_installer::secrets::mohur_service(),
    }
}

fn ca_bundle(cli: &Cli) -> PathBuf {
    cli.ca_bundle.clone().unwrap_or_else(|| {
        let dir = exe_dir();
        if cfg!(windows) {
            dir.join("ca")
        } else {
            first_existing(vec![dir.join("../share/mohur/ca"), "/usr/share/mohur/ca".into()])
        }
    })
}

fn load_bundle(cli: &Cli) -> Result<Vec<ca::CaCert>, Error> {
    let path = ca_bundle(cli);
    println!("CA bundle {}:", path.display());
    let bundle = ca::load(&path)?;
    for n in &bundle.notes {
        println!("  note: {n}");
    }
    for c in &bundle.certs {
        let role = if c.is_root { "root" } else { "CA" };
        println!("  {role:4} {}\n       SHA-256 {}", c.subject, c.fingerprint_hex());
    }
    println!("  ✓ {} CA certificate(s), chain checked up to the root", bundle.certs.len());
    Ok(bundle.certs)
}

/// The loopback CA for `install --loopback-tls`: this user's, when its certificate is
/// in place and its key in the keyring; else a new one (made in memory: its key reaches
/// the keyring when the install applies it, never a file).
fn loopback_for_install(opts: &Options, dry_run: bool) -> Result<(Vec<u8>, KeyInTransit), Error> {
    let file = loopback::cert_path(&opts.home);
    let ca = match LoopbackCa::load(&OsKeyring::with_service(&opts.keyring_service), &file) {
        Ok(ca) => {
            println!("loopback CA {}: in place", ca.subject());
            ca
        }
        Err(LoopbackError::Keyring(e)) => {
            return Err(Error::Usage(format!(
                "--loopback-tls keeps the CA's private key in the OS keyring, never on disk, and there is none: {e}"
            )))
        }
        Err(why) => {
            println!("loopback CA: {why}");
            let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_default();
            let ca = LoopbackCa::create(SystemTime::now(), &user).map_err(|e| Error::Usage(e.to_string()))?;
            println!("  {} a new one: {}", if dry_run { "would make" } else { "making" }, ca.subject());
            ca
        }
    };
    println!("  SHA-256 {}; valid for 127.0.0.1, ::1 and localhost only", ca::fingerprint_hex(ca.cert_der()));
    println!("  its private key is kept in {}", OsKeyring::with_service(&opts.keyring_service).describe());
    Ok((ca.cert_der().to_vec(), KeyInTransit(Some(Arc::new(ca)))))
}

/// The loopback CA's certificate for `verify --loopback-tls`, if there is one.
fn loopback_for_verify(opts: &Options) -> Option<Vec<u8>> {
    let pem = std::fs::read_to_string(loopback::cert_path(&opts.home)).ok()?;
    mohur_installer::pem_blocks(&pem).into_iter().next()
}

fn run(cli: &Cli) -> Result<bool, Error> {
    let opts = options(cli);
    if cli.system && !cli.dry_run && cli.root == Path::new("/") && !is_admin() {
        return Err(Error::Usage("--system needs root (administrator); try --dry-run, or drop --system".into()));
    }
    if cli.system && cli.loopback_tls {
        return Err(Error::Usage(
            "--loopback-tls is per user (the CA's key goes into your own keyring): drop --system".into(),
        ));
    }
    let manifest = cli.manifest.clone().unwrap_or_else(|| opts.default_manifest());
    let mut out = std::io::stdout();
    match cli.command {
        Cmd::Install => {
            let certs = load_bundle(cli)?;
            let mut actions = plan(&opts, &certs);
            if cli.loopback_tls {
                let (cert, key) = loopback_for_install(&opts, cli.dry_run)?;
                actions.extend(plan::loopback_plan(&opts, &cert, key));
            }
            println!("{}install ({}):", if cli.dry_run { "dry run: " } else { "" }, scope(cli));
            let n = mohur_installer::install(&actions, &manifest, cli.dry_run, &mut out)?;
            println!("{n} change(s)");
            Ok(true)
        }
        Cmd::Uninstall => {
            println!(
                "{}uninstall ({}), manifest {}:",
                if cli.dry_run { "dry run: " } else { "" },
                scope(cli),
                manifest.display()
            );
            let n = if cli.loopback_tls {
                mohur_installer::uninstall_where(&manifest, &|a| a.loopback_ca_der().is_some(), cli.dry_run, &mut out)?
            } else {
                mohur_installer::uninstall(&manifest, cli.dry_run, &mut out)?
            };
            println!("{n} removal(s)");
            Ok(true)
        }
        Cmd::Verify => {
            let certs = load_bundle(cli)?;
            let mut actions = plan(&opts, &certs);
            println!("verify ({}):", scope(cli));
            let mut ok = true;
            if cli.loopback_tls {
                match loopback_for_verify(&opts) {
                    Some(cert) => actions.extend(plan::loopback_plan(&opts, &cert, KeyInTransit::default())),
                    None => {
                        println!("  ✗ loopback CA: {} is missing", loopback::cert_path(&opts.home).display());
                        ok = false;
                    }
                }
            }
            ok &= mohur_installer::verify(&actions, &mut out)?;
            println!("{}", if ok { "all ✓" } else { "some pieces are missing (✗)" });
            Ok(ok)
        }
    }
}

fn scope(cli: &Cli) -> &'static str {
    if cli.system {
        "system"
    } else {
        "current user"
    }
}

#[cfg(unix)]
fn is_admin() -> bool {
    // The effective uid without libc: /proc/self/status "Uid: real effective …".
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:").map(|v| v.split_whitespace().nth(1) == Some("0"))))
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_admin() -> bool {
    // The Windows calls themselves fail with ERROR_ACCESS_DENIED when not elevated.
    true
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("mohur-install: {e}");
            ExitCode::from(if matches!(e, Error::Usage(_)) { 2 } else { 1 })
        }
    }
}
