//! Where each piece goes, per OS and per scope (`--system` or the current user).
//!
//! Linux, `--system` (prefix `--root`, `/` normally):
//! - CAs: `/usr/local/share/ca-certificates/mohur/*.crt` + `update-ca-certificates`
//!   (Debian), or `/etc/pki/ca-trust/source/anchors/*.pem` + `update-ca-trust` (Fedora);
//! - p11-kit: `/etc/pkcs11/modules/mohur.module` (pkcs11.conf(5));
//! - Firefox: `SecurityDevices` in `/etc/firefox/policies/policies.json`;
//! - autostart: `/etc/xdg/autostart/mohur.desktop` (XDG Autostart spec) and the user unit
//!   `/etc/systemd/user/mohur.service`, enabled for every user through
//!   `/etc/systemd/user/default.target.wants/` (what `systemctl --global enable` does).
//!
//! Linux, per user (`$HOME`): `~/.config/pkcs11/modules/mohur.module`,
//! `~/.config/autostart/mohur.desktop`, `~/.config/systemd/user/mohur.service`, and the
//! NSS databases `~/.pki/nssdb` (Chromium) and every Firefox profile's, with certutil and
//! modutil (the system store needs root).
//!
//! Everywhere: the Web eID native messaging host `eu.webeid` ([`crate::web_eid`]).
//!
//! Windows: CurrentUser or LocalMachine `ROOT` (the root) and `CA` (the intermediates)
//! stores, the agent under `Software\Microsoft\Windows\CurrentVersion\Run`, and the
//! module under Firefox's policy key `Software\Policies\Mozilla\Firefox\SecurityDevices`.

use std::path::{Path, PathBuf};

use crate::actions::CaStoreTool;
use crate::ca::CaCert;
use crate::Action;
use mohur_platform::loopback::KeyInTransit;

/// Name under which the module is registered everywhere.
pub const MODULE_NAME: &str = "mohur";

/// Everything `plan` needs to know.
#[derive(Debug, Clone)]
pub struct Options {
    /// Machine-wide (root / administrator) rather than the current user.
    pub system: bool,
    /// Prefix for every system path (tests use a temporary directory).
    pub root: PathBuf,
    /// The user's home directory.
    pub home: PathBuf,
    /// The PKCS#11 module to register.
    pub module: PathBuf,
    /// The program that starts the agent as `PROGRAM agent`: `mohur` on Linux,
    /// `mohurw.exe` on Windows (no console window).
    pub agent: PathBuf,
    /// NSS databases to use instead of the defaults.
    pub nssdbs: Option<Vec<PathBuf>>,
    /// Directory holding Firefox profiles, instead of the defaults.
    pub firefox_profiles: Option<PathBuf>,
    /// Skip the autostart entries.
    pub no_autostart: bool,
    /// The OS keyring service of the loopback CA's key ([`mohur_platform::secrets::mohur_service`]).
    pub keyring_service: String,
    /// Also trust the roots for TLS server authentication (web sites): off by default,
    /// `--trust-tls-server`. See [`Trust`].
    pub trust_tls_servers: bool,
    /// Whether mohur registers as the Web eID host `eu.webeid` ([`crate::web_eid`]).
    pub web_eid: crate::web_eid::Registration,
    /// Extensions allowed to start the Web eID host besides the official Web eID
    /// extension (`chrome-extension://ID/` for the Chromium family, an add-on id for
    /// Firefox): a portal's own build, or a test's unpacked one.
    pub web_eid_extensions: Vec<String>,
}

/// What the national roots are trusted for. Citizens need two things: chains for their
/// card's TLS client certificate (a login to e-citizen.am) and for signatures on
/// documents. Neither needs the root to vouch for web servers, and a root that may vouch
/// for web servers can, in the wrong hands, impersonate any web site to every machine
/// that trusts it. So by default each store gets the narrowest trust it can express;
/// TLS server authentication only when asked for (`--trust-tls-server`).
///
/// | store | default | `--trust-tls-server` |
/// | --- | --- | --- |
/// | NSS (Chromium, Firefox) | root `T,C,`: issues client certificates and S/MIME / document signers, not servers | `CT,C,` |
/// | Windows ROOT | the root with `CERT_ENHKEY_USAGE_PROP_ID` = client authentication, e-mail protection, document signing, time stamping | + server authentication |
/// | Debian's system bundle (`update-ca-certificates`) | not added: it cannot express purposes, every root in it is trusted for web sites by OpenSSL, curl and the rest | added |
///
/// Intermediates go in without trust of their own (NSS `,,`, Windows `CA` store), for
/// building chains only; they are never put into Debian's bundle, whose every entry is
/// an anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Client authentication and document signatures.
    ClientAndDocuments,
    /// The same, and TLS server authentication.
    AlsoTlsServers,
}

impl Trust {
    /// From the options.
    pub fn of(opts: &Options) -> Trust {
        if opts.trust_tls_servers {
            Trust::AlsoTlsServers
        } else {
            Trust::ClientAndDocuments
        }
    }

    /// NSS trust flags (certutil(1) `-t`, SSL,S/MIME,JAR) of a root.
    pub fn nss_root_flags(self) -> &'static str {
        match self {
            Trust::ClientAndDocuments => "T,C,",
            Trust::AlsoTlsServers => "CT,C,",
        }
    }

    /// Extended key usage OIDs a Windows root is restricted to.
    pub fn windows_root_purposes(self) -> Vec<String> {
        use x509_cert::der::oid::db::rfc5280::{
            ID_KP_CLIENT_AUTH, ID_KP_EMAIL_PROTECTION, ID_KP_SERVER_AUTH, ID_KP_TIME_STAMPING,
        };
        let mut v = vec![
            ID_KP_CLIENT_AUTH.to_string(),      // RFC 5280 §4.2.1.12
            ID_KP_EMAIL_PROTECTION.to_string(), // S/MIME, many document tools
            // id-kp-documentSigning (RFC 9336) and Microsoft Document Signing (Office):
            // not in const-oid's database.
            "1.3.6.1.5.5.7.3.36".to_owned(),
            "1.3.6.1.4.1.311.10.3.12".to_owned(),
            ID_KP_TIME_STAMPING.to_string(), // time-stamps on signatures
        ];
        if self == Trust::AlsoTlsServers {
            v.insert(0, ID_KP_SERVER_AUTH.to_string());
        }
        v
    }

    /// What a root will be trusted for, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Trust::ClientAndDocuments => {
                "TLS client authentication (logging in with your card) and document signatures; not web sites"
            }
            Trust::AlsoTlsServers => "TLS client authentication, document signatures, and web sites (TLS servers)",
        }
    }
}

impl Options {
    /// A system path under [`root`](Self::root).
    pub fn sys(&self, p: &str) -> PathBuf {
        self.root.join(p.trim_start_matches('/'))
    }

    /// Default manifest location: `/var/lib/mohur` for the system, the XDG data
    /// directory (`~/.local/share/mohur`) for a user.
    pub fn default_manifest(&self) -> PathBuf {
        if cfg!(windows) {
            let base = if self.system {
                std::env::var_os("ProgramData")
                    .map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from)
                    .join("mohur")
            } else {
                user_data_dir(&self.home)
            };
            base.join("install-manifest.json")
        } else if self.system {
            self.sys("/var/lib/mohur/install-manifest.json")
        } else {
            user_data_dir(&self.home).join("install-manifest.json")
        }
    }

    /// NSS databases: the explicit ones, else Chromium's (per user) or the shared system
    /// database `/etc/pki/nssdb` where it exists (Fedora); then every Firefox profile under
    /// `--firefox-profiles`, or by default (per user, no explicit `--nssdb`) under
    /// `~/.mozilla/firefox` and the snap's. The flag says the first one is Chromium's default.
    pub fn nss_databases(&self) -> (Vec<PathBuf>, bool) {
        let mut dbs = Vec::new();
        let mut chromium_default = false;
        match &self.nssdbs {
            Some(explicit) => dbs.extend(explicit.iter().cloned()),
            None if self.system => {
                let shared = self.sys("/etc/pki/nssdb");
                if shared.join("cert9.db").is_file() {
                    dbs.push(shared);
                }
            }
            None => {
                dbs.push(self.home.join(".pki/nssdb"));
                chromium_default = true;
            }
        }
        let profile_dirs = match &self.firefox_profiles {
            Some(d) => vec![d.clone()],
            None if self.system || self.nssdbs.is_some() => Vec::new(),
            None => vec![self.home.join(".mozilla/firefox"), self.home.join("snap/firefox/common/.mozilla/firefox")],
        };
        dbs.extend(firefox_profiles(&profile_dirs));
        (dbs, chromium_default)
    }
}

use mohur_platform::dirs::user_data_dir;

/// Every Firefox profile (a directory with an SQL NSS database) under these directories.
pub fn firefox_profiles(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        let mut found: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.join("cert9.db").is_file()).collect();
        found.sort();
        out.extend(found);
    }
    out
}

/// The XDG autostart entry. `X-systemd-skip` keeps systemd's XDG generator from starting
/// a second agent where the user unit already does (systemd-xdg-autostart-generator(8)).
fn desktop_entry(agent: &Path) -> String {
    format!(
        "[Desktop Entry]\nType=Application\nName=mohur agent\n\
         Comment=Signs for e-government portals with your ID card\n\
         Exec=\"{}\" agent\nTerminal=false\nNoDisplay=true\nX-systemd-skip=true\n",
        agent.display()
    )
}

fn systemd_unit(agent: &Path) -> String {
    format!(
        "[Unit]\nDescription=mohur signing agent\nPartOf=graphical-session.target\n\n\
         [Service]\nExecStart=\"{}\" agent\nRestart=on-failure\n\n[Install]\nWantedBy=default.target\n",
        agent.display()
    )
}

/// The actions for this machine, in the order they are applied.
pub fn plan(opts: &Options, certs: &[CaCert]) -> Vec<Action> {
    let mut actions = if cfg!(windows) { plan_windows(opts, certs) } else { plan_linux(opts, certs) };
    actions.extend(crate::web_eid::plan(opts));
    actions
}

fn plan_linux(opts: &Options, certs: &[CaCert]) -> Vec<Action> {
    let mut a = Vec::new();
    let user_config = opts.home.join(".config");
    let trust = Trust::of(opts);

    // The system bundle only for roots trusted for web sites too: see [`Trust`].
    if opts.system && trust == Trust::AlsoTlsServers && !certs.is_empty() {
        let certs: Vec<&CaCert> = certs.iter().filter(|c| c.is_root).collect();
        let fedora = opts.sys("/etc/pki/ca-trust/source/anchors").is_dir()
            && !opts.sys("/usr/local/share/ca-certificates").is_dir();
        let (tool, dir, ext) = if fedora {
            (CaStoreTool::Fedora, opts.sys("/etc/pki/ca-trust/source/anchors"), "pem")
        } else {
            (CaStoreTool::Debian, opts.sys("/usr/local/share/ca-certificates/mohur"), "crt")
        };
        for c in &certs {
            a.push(Action::File {
                what: format!("system CA {}", c.common_name),
                path: dir.join(format!("{}.{ext}", c.slug())),
                contents: c.pem(),
            });
        }
        a.push(Action::SystemCaStore {
            tool,
            root: opts.root.clone(),
            certs_hex: certs.iter().map(|c| crate::actions::hex(&c.der)).collect(),
        });
    }

    let p11_dir = if opts.system { opts.sys("/etc/pkcs11/modules") } else { user_config.join("pkcs11/modules") };
    a.push(Action::File {
        what: "p11-kit module".into(),
        path: p11_dir.join(format!("{MODULE_NAME}.module")),
        contents: format!(
            "# mohur's PKCS#11 module, written by mohur-install (see pkcs11.conf(5))\nmodule: {}\n",
            opts.module.display()
        ),
    });

    let (dbs, chromium_default) = opts.nss_databases();
    for (i, db) in dbs.iter().enumerate() {
        if i == 0 && chromium_default {
            a.push(Action::NssDb { db: db.clone() });
        }
        for c in certs {
            a.push(Action::NssCert {
                db: db.clone(),
                nickname: c.nickname(),
                der_hex: crate::actions::hex(&c.der),
                trust: if c.is_root { trust.nss_root_flags().into() } else { ",,".into() },
            });
        }
        a.push(Action::NssModule { db: db.clone(), name: MODULE_NAME.into(), library: opts.module.clone() });
    }

    if opts.system {
        a.push(Action::FirefoxPolicy {
            file: opts.sys("/etc/firefox/policies/policies.json"),
            name: MODULE_NAME.into(),
            library: opts.module.clone(),
        });
    }

    if !opts.no_autostart {
        let (autostart, units) = if opts.system {
            (opts.sys("/etc/xdg/autostart"), opts.sys("/etc/systemd/user"))
        } else {
            (user_config.join("autostart"), user_config.join("systemd/user"))
        };
        a.push(Action::File {
            what: "XDG autostart entry".into(),
            path: autostart.join("mohur.desktop"),
            contents: desktop_entry(&opts.agent),
        });
        a.push(Action::File {
            what: "systemd user unit".into(),
            path: units.join("mohur.service"),
            contents: systemd_unit(&opts.agent),
        });
        a.push(Action::Symlink {
            what: "systemd user unit enabled".into(),
            link: units.join("default.target.wants/mohur.service"),
            target: PathBuf::from("../mohur.service"),
        });
    }
    a
}

/// The actions of `--loopback-tls` (per user only): the loopback CA itself (its
/// certificate for the agent, its key in the OS keyring), then its certificate as a
/// trust anchor for TLS servers: NSS trust `C,,` in every NSS database (Chromium,
/// Firefox), the CurrentUser `ROOT` store on Windows. Its name constraints limit it to
/// loopback names wherever it is trusted ([`mohur_platform::loopback`]).
pub fn loopback_plan(opts: &Options, cert_der: &[u8], key: KeyInTransit) -> Vec<Action> {
    let mut a = vec![Action::LoopbackCa {
        cert_file: mohur_platform::loopback::cert_path(&opts.home),
        cert_hex: crate::actions::hex(cert_der),
        keyring_service: opts.keyring_service.clone(),
        key,
    }];
    if cfg!(windows) {
        let name = format!("mohur loopback CA {}", mohur_platform::loopback::tag_of(cert_der));
        a.push(Action::WinCert {
            machine: false,
            store: "ROOT".into(),
            subject: name.clone(),
            der_hex: crate::actions::hex(cert_der),
            // Its name constraints already hold it to loopback names.
            purposes: vec![x509_cert::der::oid::db::rfc5280::ID_KP_SERVER_AUTH.to_string()],
            friendly_name: name,
        });
        return a;
    }
    let (dbs, _) = opts.nss_databases();
    for db in dbs {
        a.push(Action::NssCert {
            db,
            nickname: format!("mohur loopback CA {}", mohur_platform::loopback::tag_of(cert_der)),
            der_hex: crate::actions::hex(cert_der),
            trust: "C,,".into(),
        });
    }
    a
}

fn plan_windows(opts: &Options, certs: &[CaCert]) -> Vec<Action> {
    let trust = Trust::of(opts);
    let mut a: Vec<Action> = certs
        .iter()
        .map(|c| Action::WinCert {
            machine: opts.system,
            store: if c.is_root { "ROOT".into() } else { "CA".into() },
            subject: c.subject.clone(),
            der_hex: crate::actions::hex(&c.der),
            purposes: if c.is_root { trust.windows_root_purposes() } else { Vec::new() },
            friendly_name: c.nickname(),
        })
        .collect();
    a.push(Action::WinRegValue {
        machine: opts.system,
        key: r"Software\Policies\Mozilla\Firefox\SecurityDevices".into(),
        name: MODULE_NAME.into(),
        value: opts.module.display().to_string(),
    });
    if !opts.no_autostart {
        a.push(Action::WinRegValue {
            machine: opts.system,
            key: r"Software\Microsoft\Windows\CurrentVersion\Run".into(),
            name: "mohur".into(),
            value: format!("\"{}\" agent", opts.agent.display()),
        });
    }
    a
}
