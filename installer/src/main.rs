//! `mohur-install`: see the crate documentation of `mohur_installer` and installer/README.md.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::sync::Arc;
use std::time::SystemTime;

use clap::{Parser, Subcommand};
use mohur_installer::web_eid::{self, Registration};
use mohur_installer::{ca, plan, Error, Options};
use mohur_platform::loopback::{self, KeyInTransit, LoopbackCa, LoopbackError};
use mohur_platform::secrets::OsKeyring;

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
    /// The CA bundle: a directory with `manifest.toml` pinning every certificate in it
    /// (installer/ca/README.md). Default: the one installed with mohur.
    #[arg(long, global = true, value_name = "DIR")]
    ca_bundle: Option<PathBuf>,
    /// Also trust the national roots for TLS server authentication (web sites). Not
    /// needed for logging in with the card or for document signatures; off by default.
    #[arg(long, global = true)]
    trust_tls_server: bool,
    /// Learn the CA chain from the card in a reader: fetch the certificates its
    /// certificates name (authorityInfoAccess), check every signature up to a root, show
    /// them, and install them with the same narrow trust once you confirm.
    #[arg(long, global = true)]
    from_card: bool,
    /// With --from-card: only the card in this reader.
    #[arg(long, global = true, value_name = "NAME")]
    reader: Option<String>,
    /// Learn the CA chain of this certificate file (PEM or DER; e.g. from `mohur certs
    /// --export`, for a USB token), as --from-card does. Repeatable.
    #[arg(long = "from-cert", global = true, value_name = "FILE")]
    from_certs: Vec<PathBuf>,
    /// Do not ask before installing learned CAs (the tray asks in its own dialog).
    #[arg(long, global = true)]
    yes: bool,
    /// With --from-card / --from-cert: install only if the learned CAs are exactly these
    /// SHA-256 fingerprints (what the citizen confirmed). Repeatable.
    #[arg(long = "expect-sha256", global = true, value_name = "FINGERPRINT")]
    expect_sha256: Vec<String>,
    /// Print what was learned as JSON (with --dry-run: and change nothing); with
    /// `verify`: the findings as JSON.
    #[arg(long, global = true)]
    json: bool,
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
    /// Make mohur the Web eID application (`eu.webeid`) even where another program is
    /// registered; `uninstall` puts that program back. Without it mohur registers only
    /// where no other program is.
    #[arg(long, global = true, conflicts_with = "no_web_eid")]
    web_eid: bool,
    /// Do not register mohur as the Web eID application.
    #[arg(long, global = true)]
    no_web_eid: bool,
    /// Also let this extension start mohur's Web eID host (`chrome-extension://ID/`, or
    /// a Firefox add-on id). Repeatable.
    #[arg(long = "web-eid-extension", global = true, value_name = "ID")]
    web_eid_extensions: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Check the CA bundle, then add everything that is not there yet.
    Install,
    /// Remove what the manifest says install added, and nothing else.
    Uninstall,
    /// Report ✓ or ✗ for every piece, each CA by fingerprint against the manifest, and
    /// flag test certificates and CAs the manifest no longer lists. With --json: the
    /// findings as one JSON object, for `mohur doctor` (exit 0 whatever they are).
    Verify,
    /// Check a CA bundle against its manifest and print it (the package build runs this).
    CheckBundle,
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
        // The Run key starts mohurw.exe, which starts mohur.exe without a console window.
        (dir.join("mohur_pkcs11.dll"), dir.join("mohurw.exe"))
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
        keyring_service: mohur_platform::secrets::mohur_service(),
        trust_tls_servers: cli.trust_tls_server,
        web_eid: if cli.no_web_eid {
            Registration::Off
        } else if cli.web_eid {
            Registration::Replace
        } else {
            Registration::WhereFree
        },
        web_eid_extensions: cli.web_eid_extensions.clone(),
    }
}

/// Where the CA bundle is looked for: `--ca-bundle`, else next to the binary (a build
/// tree, Windows) or where the Debian package puts it.
fn ca_bundle_candidates(cli: &Cli) -> Vec<PathBuf> {
    if let Some(p) = &cli.ca_bundle {
        return vec![p.clone()];
    }
    let dir = exe_dir();
    if cfg!(windows) {
        vec![dir.join("ca")]
    } else {
        vec![dir.join("../share/mohur/ca"), "/usr/share/mohur/ca".into()]
    }
}

fn ca_bundle(cli: &Cli) -> PathBuf {
    first_existing(ca_bundle_candidates(cli))
}

fn load_bundle(cli: &Cli) -> Result<ca::Bundle, Error> {
    let path = ca_bundle(cli);
    println!("CA bundle {} (pinned in {}):", path.display(), mohur_installer::pinned::MANIFEST);
    let bundle = ca::load(&path)?;
    for n in &bundle.notes {
        println!("  note: {n}");
    }
    for c in &bundle.certs {
        print_ca(c);
    }
    if !bundle.certs.is_empty() {
        println!("  ✓ {} CA certificate(s), each pinned by SHA-256, chain checked up to the root", bundle.certs.len());
    }
    Ok(bundle)
}

fn print_ca(c: &ca::CaCert) {
    let role = if c.is_root { "root" } else { "CA" };
    println!("  {role:4} {}\n       SHA-256 {}\n       {}", c.subject, c.fingerprint_hex(), c.origin_text());
    if c.looks_like_test() {
        println!("       ⚠ its subject says \"test\": a test certificate, never for a real machine");
    }
}

/// Before anything changes: what will be trusted, and for what.
fn print_trust(opts: &Options, certs: &[ca::CaCert]) {
    if certs.is_empty() {
        return;
    }
    let trust = plan::Trust::of(opts);
    println!("will be trusted:");
    for c in certs.iter().filter(|c| c.is_root) {
        println!("  {} — for {}", c.common_name, trust.describe());
    }
    for c in certs.iter().filter(|c| !c.is_root) {
        println!("  {} — an intermediate: for building chains only, no trust of its own", c.common_name);
    }
    if trust == plan::Trust::ClientAndDocuments && cfg!(target_os = "linux") && opts.system {
        println!(
            "  (not added to the system bundle: it cannot limit a root to these uses; --trust-tls-server adds it)"
        );
    }
}

/// Certificates (DER) to learn the CAs of, and where they came from ("the card in …").
type Source = (String, Vec<Vec<u8>>);

/// The certificates of the card (or of the given files) to learn from, and a name for
/// where they came from.
fn learning_sources(cli: &Cli) -> Result<Vec<Source>, Error> {
    let mut sources = Vec::new();
    for f in &cli.from_certs {
        let bytes = std::fs::read(f).map_err(Error::io(f))?;
        let ders = mohur_installer::learn::certificates_in(&bytes);
        if ders.is_empty() {
            return Err(Error::NotACertificate { path: f.clone(), reason: "no certificate in it".into() });
        }
        sources.push((f.display().to_string(), ders));
    }
    if cli.from_card {
        sources.push(card_certificates(cli.reader.as_deref())?);
    }
    Ok(sources)
}

/// The certificates on the first card mohur can read (in `reader`, if given).
fn card_certificates(reader: Option<&str>) -> Result<Source, Error> {
    let pcsc = |e: mohur_apdu::Error| Error::Learn(format!("reading the card: {e}"));
    let readers = mohur_apdu::pcsc_transport::list_readers().map_err(pcsc)?;
    let mut why = Vec::new();
    for name in readers.iter().filter(|n| reader.is_none_or(|r| r == n.as_str())) {
        let opened =
            mohur_apdu::pcsc_transport::PcscTransport::connect(name).and_then(|t| mohur_apdu::open(Box::new(t)));
        let mut card = match opened {
            Ok(c) => c,
            Err(e) => {
                why.push(format!("{name}: {e}"));
                continue;
            }
        };
        let mut certs = Vec::new();
        for k in card.keys().to_vec() {
            certs.push(card.certificate(k.id).map_err(pcsc)?);
        }
        return Ok((format!("the card in {name}"), certs));
    }
    Err(Error::Learn(if why.is_empty() {
        "no card in any reader".into()
    } else {
        format!("no card mohur can read: {}", why.join("; "))
    }))
}

/// Learns the CA chains of `sources` over plain HTTP, checks them, shows them, and asks
/// (unless --yes); `Ok(None)` when the citizen says no.
fn learn(cli: &Cli, sources: &[Source]) -> Result<Option<Vec<ca::CaCert>>, Error> {
    let mut learned: Vec<ca::CaCert> = Vec::new();
    for (from, leaves) in sources {
        println!("learning the certificate authorities of {from}:");
        let mut fetch = |url: &str| {
            println!("  fetching {url}");
            mohur_installer::fetch::http_get(url, std::time::Duration::from_secs(10))
        };
        for c in mohur_installer::learn::chain_of(leaves, from, &mut fetch)? {
            if !learned.iter().any(|l| l.der == c.der) {
                learned.push(c);
            }
        }
    }
    learned.sort_by_key(|c| c.depth);
    if cli.json {
        let list: Vec<serde_json::Value> = learned
            .iter()
            .map(|c| serde_json::json!({"subject": c.subject, "sha256": c.fingerprint_hex(), "root": c.is_root}))
            .collect();
        println!("{}", serde_json::json!({ "learned": list }));
    }
    println!("checked, signature by signature, up to a self-signed root:");
    for c in &learned {
        print_ca(c);
    }
    if !cli.expect_sha256.is_empty() {
        let norm = |s: &str| s.chars().filter(char::is_ascii_hexdigit).collect::<String>().to_ascii_uppercase();
        let mut want: Vec<String> = cli.expect_sha256.iter().map(|s| norm(s)).collect();
        let mut have: Vec<String> = learned.iter().map(|c| norm(&c.fingerprint_hex())).collect();
        want.sort();
        have.sort();
        if want != have {
            return Err(Error::Learn(
                "the learned CAs are not the ones confirmed (--expect-sha256): nothing installed".into(),
            ));
        }
    }
    if cli.dry_run || cli.yes || !cli.expect_sha256.is_empty() {
        return Ok(Some(learned));
    }
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "learned CAs are installed only when you confirm: run in a terminal, or pass --yes".into(),
        ));
    }
    print!("install these {} certificate authorities? [y/N] ", learned.len());
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    Ok(matches!(answer.trim(), "y" | "Y" | "yes").then_some(learned))
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
    mohur_platform::pem::pem_blocks(&pem).into_iter().next()
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
        Cmd::CheckBundle => {
            let bundle = load_bundle(cli)?;
            if bundle.certs.is_empty() {
                println!("  ✓ the manifest pins no certificate and the bundle holds none");
            }
            Ok(true)
        }
        Cmd::Install => {
            let bundle = load_bundle(cli)?;
            let mut certs = bundle.certs;
            let sources = learning_sources(cli)?;
            if !sources.is_empty() {
                let Some(learned) = learn(cli, &sources)? else {
                    println!("nothing installed");
                    return Ok(true);
                };
                for c in learned {
                    // A learned CA the bundle pins is the pinned one.
                    if !certs.iter().any(|p| p.der == c.der) {
                        certs.push(c);
                    }
                }
            }
            print_trust(&opts, &certs);
            let mut actions = plan(&opts, &certs);
            if cli.loopback_tls {
                let (cert, key) = loopback_for_install(&opts, cli.dry_run)?;
                actions.extend(plan::loopback_plan(&opts, &cert, key));
            }
            println!("{}install ({}):", if cli.dry_run { "dry run: " } else { "" }, scope(cli));
            let n = mohur_installer::install(&actions, &manifest, cli.dry_run, &mut out)?;
            println!("{n} change(s)");
            if opts.web_eid == Registration::WhereFree {
                for c in web_eid::conflicts(&opts) {
                    println!(
                        "  note: {} answers Web eID ({}); left as it is: --web-eid makes mohur answer there",
                        c.program,
                        c.place.describe()
                    );
                }
            }
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
        Cmd::Verify if cli.json => {
            // Findings for `mohur doctor`, one JSON object and nothing else on stdout.
            let candidates = ca_bundle_candidates(cli);
            let bundle = candidates.iter().find(|p| p.exists()).cloned().ok_or(candidates);
            let report = mohur_installer::report::report(&opts, bundle);
            println!("{}", serde_json::to_string(&report).map_err(|e| Error::Usage(e.to_string()))?);
            Ok(true)
        }
        Cmd::Verify => {
            let bundle = load_bundle(cli)?;
            let mut actions = plan(&opts, &bundle.certs);
            println!("verify ({}):", scope(cli));
            // Learned CAs are verified where the manifest recorded them.
            let recorded = mohur_installer::Manifest::load(&manifest)?;
            actions.extend(recorded.entries.iter().filter(|a| a.is_learned_ca()).cloned());
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
            print_web_eid(&opts);
            let flags = mohur_installer::audit::audit(&opts, &bundle.manifest, &recorded)?;
            if !flags.is_empty() {
                println!("in the trust stores:");
                for f in &flags {
                    println!("  ⚠ {f}");
                }
            }
            println!("{}", if ok { "all ✓" } else { "some pieces are missing (✗)" });
            Ok(ok)
        }
    }
}

/// Which program answers `eu.webeid` for each browser.
fn print_web_eid(opts: &Options) {
    let host = web_eid::host_program(opts);
    println!("Web eID (eu.webeid):");
    let places = web_eid::places(opts);
    if places.is_empty() {
        println!("  no browser that has run here");
    }
    for place in places {
        let who = match web_eid::registered(&place) {
            None => "nobody".to_owned(),
            Some(text) => match web_eid::program_of(&text) {
                Some(p) if std::path::Path::new(&p) == host => format!("mohur ({p})"),
                Some(p) => format!("another program: {p}"),
                None => "an unreadable manifest".to_owned(),
            },
        };
        println!("  {}: {who}", place.describe());
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
