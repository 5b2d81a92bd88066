//! `mohur-install verify --json`: what is in place, as findings for `mohur doctor`
//! ([`mohur_platform::install_report`]). Judged with the installer's own plan and
//! [`Action::is_done`], as `verify` judges, so that doctor and `verify` cannot disagree
//! about where things belong; doctor no longer links the installer to know.

use std::path::{Path, PathBuf};

use mohur_platform::install_report::{
    self as report, Audit, CaCertificate, InstallReport, Loopback, NssDatabase, NssModules, SystemStore, WebEidPlace,
};

use crate::actions::{hex, parse_modutil_list, system_bundle, CaStoreTool};
use crate::ca::{self, CaCert};
use crate::plan::{self, Trust, MODULE_NAME};
use crate::{web_eid, Action, Manifest, Options};

/// The report for `opts` (the user's, or the machine's with `--system`), with the CA
/// bundle at `bundle` (`Err`: where it was looked for, none there).
pub fn report(opts: &Options, bundle: Result<PathBuf, Vec<PathBuf>>) -> InstallReport {
    let (bundle, loaded) = load_bundle(bundle);
    let certs: Option<&[CaCert]> = loaded.as_ref().map(|b| b.certs.as_slice()).filter(|c| !c.is_empty());
    let recorded = recorded(opts);
    let pinned = loaded.as_ref().map(|b| b.manifest.clone()).unwrap_or_default();
    let audit = match crate::audit::audit(opts, &pinned, &recorded) {
        Ok(flags) => Audit { flags, error: None },
        Err(e) => Audit { flags: Vec::new(), error: Some(e.to_string()) },
    };
    let module = if cfg!(windows) {
        std::env::current_exe().map(|e| e.with_file_name("mohur_pkcs11.dll")).unwrap_or_default()
    } else {
        opts.module.clone()
    };
    InstallReport {
        format: report::FORMAT,
        system_store: certs.map(|c| system_store(opts, c)),
        nss_cas: certs.map(|c| nss_cas(opts, c)),
        audit,
        nss_modules: nss_modules(opts),
        module_name: MODULE_NAME.to_owned(),
        firefox_policy: firefox_policy(&module),
        module,
        web_eid: web_eid_places(opts),
        loopback: loopback(opts),
        bundle,
    }
}

fn load_bundle(bundle: Result<PathBuf, Vec<PathBuf>>) -> (report::Bundle, Option<ca::Bundle>) {
    let path = match bundle {
        Ok(p) => p,
        Err(tried) => return (report::Bundle { tried, ..Default::default() }, None),
    };
    match ca::load(&path) {
        Ok(b) => {
            let certificates = b
                .certs
                .iter()
                .map(|c| CaCertificate {
                    subject: c.subject.clone(),
                    common_name: c.common_name.clone(),
                    sha256: c.fingerprint_hex(),
                    root: c.is_root,
                    pinned: c.origin_text(),
                    der: c.der.clone(),
                })
                .collect();
            (report::Bundle { tried: vec![path.clone()], path: Some(path), error: None, certificates }, Some(b))
        }
        Err(e) => {
            let error = Some(e.to_string());
            (report::Bundle { tried: vec![path.clone()], path: Some(path), error, certificates: Vec::new() }, None)
        }
    }
}

/// What mohur-install recorded for this user and for the machine (learned CAs are
/// known only from there).
fn recorded(opts: &Options) -> Manifest {
    let mut all = Manifest::default();
    for system in [false, true] {
        let scope = Options { system, ..opts.clone() };
        if let Ok(m) = Manifest::load(&scope.default_manifest()) {
            all.entries.extend(m.entries);
        }
    }
    all
}

/// The NSS databases that exist (browsers that never ran have none).
fn existing_nss_databases(opts: &Options) -> Vec<PathBuf> {
    opts.nss_databases().0.into_iter().filter(|d| d.join("cert9.db").is_file()).collect()
}

/// On Windows the roots must be in ROOT (restricted to the uses mohur trusts them for)
/// and the intermediates in CA, for the user or the machine, with either trust. On
/// Linux the system bundle cannot restrict a root to client authentication and
/// signatures, so roots are there only with `--trust-tls-server` ([`Trust`]).
fn system_store(opts: &Options, certs: &[CaCert]) -> SystemStore {
    if cfg!(windows) {
        let missing = certs
            .iter()
            .filter(|c| {
                let purposes = |t: Trust| if c.is_root { t.windows_root_purposes() } else { Vec::new() };
                ![false, true].into_iter().any(|machine| {
                    [Trust::ClientAndDocuments, Trust::AlsoTlsServers].into_iter().any(|t| {
                        Action::WinCert {
                            machine,
                            store: if c.is_root { "ROOT".into() } else { "CA".into() },
                            subject: c.subject.clone(),
                            der_hex: hex(&c.der),
                            purposes: purposes(t),
                            friendly_name: c.nickname(),
                        }
                        .is_done()
                        .unwrap_or(false)
                    })
                })
            })
            .map(|c| c.subject.clone())
            .collect();
        return SystemStore::Windows { missing };
    }
    // Debian's, else Fedora's where only that exists.
    let debian = system_bundle(CaStoreTool::Debian, &opts.root);
    let fedora = system_bundle(CaStoreTool::Fedora, &opts.root);
    let path = if !debian.exists() && fedora.exists() { fedora } else { debian };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let have = mohur_platform::pem::pem_blocks(&text);
            let roots: Vec<&CaCert> = certs.iter().filter(|c| c.is_root).collect();
            let roots_present = !roots.is_empty() && roots.iter().all(|c| have.contains(&c.der));
            SystemStore::Bundle { path, error: None, roots_present }
        }
        Err(e) => SystemStore::Bundle { path, error: Some(e.to_string()), roots_present: false },
    }
}

/// Which CA each browser database lacks. The plan says which certificate goes into
/// which database; `is_done` finds a certificate by its DER under any nickname. Either
/// trust counts: with or without `--trust-tls-server` the CA is in place.
fn nss_cas(opts: &Options, certs: &[CaCert]) -> Vec<NssDatabase> {
    if cfg!(windows) {
        // Chrome and Edge take their CAs from the Windows store.
        return Vec::new();
    }
    let dbs = existing_nss_databases(opts);
    let narrow = Options { system: false, ..opts.clone() };
    let wide = Options { trust_tls_servers: true, ..narrow.clone() };
    let mut out: Vec<NssDatabase> = dbs.iter().map(|db| NssDatabase { db: db.clone(), ..Default::default() }).collect();
    for (a, w) in plan::plan(&narrow, certs).into_iter().zip(plan::plan(&wide, certs)) {
        let Action::NssCert { db, der_hex, .. } = &a else { continue };
        let Some(entry) = out.iter_mut().find(|d| &d.db == db) else { continue };
        let done = match a.is_done() {
            Ok(false) => w.is_done(),
            other => other,
        };
        let subject = || certs.iter().find(|c| hex(&c.der) == *der_hex).map(|c| c.subject.clone()).unwrap_or_default();
        match done {
            Ok(true) => {}
            Ok(false) => entry.missing.push(subject()),
            Err(e) => {
                entry.error.get_or_insert(e.to_string());
                entry.missing.push(subject());
            }
        }
    }
    out
}

/// The modules each existing NSS database loads.
fn nss_modules(opts: &Options) -> Vec<NssModules> {
    if cfg!(windows) {
        return Vec::new();
    }
    existing_nss_databases(opts)
        .into_iter()
        .map(|db| {
            let listed = std::process::Command::new("modutil")
                .arg("-dbdir")
                .arg(format!("sql:{}", db.display()))
                .arg("-list")
                .stdin(std::process::Stdio::null())
                .output();
            match listed {
                Ok(o) if o.status.success() => {
                    NssModules { modules: parse_modutil_list(&String::from_utf8_lossy(&o.stdout)), db, error: None }
                }
                Ok(o) => {
                    let error = Some(format!("{}: {}", o.status, String::from_utf8_lossy(&o.stderr).trim()));
                    NssModules { db, modules: Vec::new(), error }
                }
                Err(e) => NssModules { db, modules: Vec::new(), error: Some(format!("cannot start modutil: {e}")) },
            }
        })
        .collect()
}

/// Windows: the hives whose Firefox enterprise policy (`SecurityDevices`, which the MSI
/// writes for the machine) loads `module`.
fn firefox_policy(module: &Path) -> Vec<String> {
    if !cfg!(windows) {
        return Vec::new();
    }
    [(true, "HKLM"), (false, "HKCU")]
        .into_iter()
        .filter(|(machine, _)| {
            Action::WinRegValue {
                machine: *machine,
                key: r"Software\Policies\Mozilla\Firefox\SecurityDevices".into(),
                name: MODULE_NAME.into(),
                value: module.display().to_string(),
            }
            .is_done()
            .unwrap_or(false)
        })
        .map(|(_, hive)| hive.to_owned())
        .collect()
}

/// Who answers `eu.webeid` in each browser's place, the user's and the machine's.
fn web_eid_places(opts: &Options) -> Vec<WebEidPlace> {
    let mut out = Vec::new();
    for system in [false, true] {
        for place in web_eid::places(&Options { system, ..opts.clone() }) {
            let program = web_eid::registered(&place).map(|text| web_eid::program_of(&text).unwrap_or_default());
            out.push(WebEidPlace { browser: place.browser.to_owned(), place: place.describe(), program });
        }
    }
    out
}

/// The loopback CA's certificate, and where the plan puts it that it is not (the CA's
/// own entry aside: its key is the agent's business, and databases no browser made).
fn loopback(opts: &Options) -> Option<Loopback> {
    use mohur_platform::loopback::{cert_path, KeyInTransit};
    let certificate = cert_path(&opts.home);
    let pem = std::fs::read_to_string(&certificate).ok()?;
    let Some(der) = mohur_platform::pem::pem_blocks(&pem).into_iter().next() else {
        return Some(Loopback { certificate, untrusted: vec!["no certificate in the file".into()] });
    };
    let dbs = existing_nss_databases(opts);
    let untrusted = plan::loopback_plan(&Options { system: false, ..opts.clone() }, &der, KeyInTransit::default())
        .into_iter()
        .filter(|a| match a {
            Action::NssCert { db, .. } => dbs.contains(db),
            Action::LoopbackCa { .. } => false,
            _ => true,
        })
        .filter(|a| !a.is_done().unwrap_or(false))
        .map(|a| match a {
            Action::NssCert { db, .. } => db.display().to_string(),
            other => other.describe(),
        })
        .collect();
    Some(Loopback { certificate, untrusted })
}
