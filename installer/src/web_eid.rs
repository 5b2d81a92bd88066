//! mohur as the Web eID native application: the native messaging host `eu.webeid`
//! registered for the browsers (Chrome "Native messaging" § Native messaging host
//! location; MDN "Native manifests" § Manifest location), so that the official Web eID
//! extension starts `mohur` (the host itself is `mohur_agent::web_eid`).
//!
//! | | per user | `--system` |
//! |---|---|---|
//! | Chromium | `~/.config/chromium/NativeMessagingHosts/` | `/etc/chromium/native-messaging-hosts/` |
//! | Chrome | `~/.config/google-chrome/NativeMessagingHosts/` | `/etc/opt/chrome/native-messaging-hosts/` |
//! | Edge | `~/.config/microsoft-edge/NativeMessagingHosts/` | `/etc/opt/edge/native-messaging-hosts/` |
//! | Firefox | `~/.mozilla/native-messaging-hosts/` | `/usr/lib/mozilla/native-messaging-hosts/` |
//! | Windows | `HKCU\Software\{Google\Chrome, Microsoft\Edge, Mozilla}\NativeMessagingHosts\eu.webeid` | the same under `HKLM` |
//!
//! Per user, a browser is registered when its configuration directory exists (it has
//! run); `--system` registers all of them, as the Web eID packages do. On Windows the
//! registry values name a manifest file mohur-install writes next to its own manifest.
//!
//! **Another program's host is never replaced unasked.** Where `eu.webeid` already
//! names another program (web-eid-app, another middleware), it is left alone and
//! reported unless `--web-eid` asks for mohur; then what was there is kept in the
//! install manifest and `uninstall` puts it back.

use std::path::{Path, PathBuf};

use crate::{Action, Options};

/// The host name the extension asks for.
pub const HOST_NAME: &str = "eu.webeid";
/// The official extension in the Chrome Web Store (web-eid-app's own host manifest).
pub const CHROME_STORE_EXTENSION: &str = "chrome-extension://ncibgoaomkmdpilpocfeponihegamlic/";
/// The official extension in Microsoft's Edge Add-ons store.
pub const EDGE_STORE_EXTENSION: &str = "chrome-extension://gnmckgbandlkacikdndelhfghdejfido/";
/// The official Firefox extension's id (addons.mozilla.org).
pub const FIREFOX_EXTENSION: &str = "{e68418bc-f2b0-4459-a9ea-3e72b6751b07}";

/// Whether and how `install` registers mohur as `eu.webeid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Registration {
    /// Where no other program is registered (the default).
    #[default]
    WhereFree,
    /// Everywhere, replacing another program's registration (`--web-eid`); uninstall
    /// restores it.
    Replace,
    /// Not at all (`--no-web-eid`).
    Off,
}

/// One place a browser looks for `eu.webeid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// `Chromium`, `Chrome`, `Edge`, `Firefox`.
    pub browser: &'static str,
    /// The manifest file (Linux) or the registry key (Windows, under HKCU/HKLM).
    pub location: Location,
    /// Firefox's manifest format (`allowed_extensions`), else Chromium's (`allowed_origins`).
    pub firefox: bool,
}

/// Where a browser reads the registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A manifest file.
    File(PathBuf),
    /// A registry key whose default value is the manifest's path.
    Registry {
        /// HKLM rather than HKCU.
        machine: bool,
        /// The key under the hive.
        key: String,
    },
}

impl Place {
    /// Where, for people.
    pub fn describe(&self) -> String {
        match &self.location {
            Location::File(p) => format!("{} {}", self.browser, p.display()),
            Location::Registry { machine, key } => {
                format!("{} {}\\{key}", self.browser, if *machine { "HKLM" } else { "HKCU" })
            }
        }
    }
}

/// The places for `opts` (see the module's table); per user on Linux only those of
/// browsers that have run.
pub fn places(opts: &Options) -> Vec<Place> {
    let file = |browser, dir: PathBuf, firefox| Place {
        browser,
        location: Location::File(dir.join(format!("{HOST_NAME}.json"))),
        firefox,
    };
    if cfg!(windows) {
        let key = |browser, vendor: &str, firefox| Place {
            browser,
            location: Location::Registry {
                machine: opts.system,
                key: format!("Software\\{vendor}\\NativeMessagingHosts\\{HOST_NAME}"),
            },
            firefox,
        };
        return vec![
            key("Chrome", "Google\\Chrome", false),
            key("Edge", "Microsoft\\Edge", false),
            key("Firefox", "Mozilla", true),
        ];
    }
    if opts.system {
        return vec![
            file("Chromium", opts.sys("/etc/chromium/native-messaging-hosts"), false),
            file("Chrome", opts.sys("/etc/opt/chrome/native-messaging-hosts"), false),
            file("Edge", opts.sys("/etc/opt/edge/native-messaging-hosts"), false),
            file("Firefox", opts.sys("/usr/lib/mozilla/native-messaging-hosts"), true),
        ];
    }
    let config = opts.home.join(".config");
    [
        ("Chromium", config.join("chromium"), config.join("chromium/NativeMessagingHosts"), false),
        ("Chrome", config.join("google-chrome"), config.join("google-chrome/NativeMessagingHosts"), false),
        ("Edge", config.join("microsoft-edge"), config.join("microsoft-edge/NativeMessagingHosts"), false),
        ("Firefox", opts.home.join(".mozilla"), opts.home.join(".mozilla/native-messaging-hosts"), true),
    ]
    .into_iter()
    .filter(|(_, browser_dir, _, _)| browser_dir.is_dir())
    .map(|(browser, _, dir, firefox)| file(browser, dir, firefox))
    .collect()
}

/// The program the browser starts: the `mohur` binary itself (it knows from its
/// arguments that a browser started it); on Windows the console `mohur.exe` next to
/// `mohurw.exe`, since a host speaks on stdin/stdout.
pub fn host_program(opts: &Options) -> PathBuf {
    if cfg!(windows) {
        opts.agent.with_file_name("mohur.exe")
    } else {
        opts.agent.clone()
    }
}

/// The host manifest for a browser family.
pub fn manifest_json(host: &Path, firefox: bool, extra_extensions: &[String]) -> String {
    let mut allowed: Vec<String> = if firefox {
        vec![FIREFOX_EXTENSION.to_owned()]
    } else {
        vec![CHROME_STORE_EXTENSION.to_owned(), EDGE_STORE_EXTENSION.to_owned()]
    };
    // Chromium-family ids are origins, Firefox ids are not: each extra goes where it fits.
    allowed.extend(extra_extensions.iter().filter(|e| e.starts_with("chrome-extension://") != firefox).cloned());
    let key = if firefox { "allowed_extensions" } else { "allowed_origins" };
    let json = serde_json::json!({
        "name": HOST_NAME,
        "description": "mohur: ID cards and USB tokens for Web eID portals",
        "path": host,
        "type": "stdio",
        key: allowed,
    });
    serde_json::to_string_pretty(&json).expect("a Value serialises") + "\n"
}

/// The program a manifest text names (`path`), if it is one.
pub fn program_of(manifest: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(manifest).ok()?;
    v.get("path")?.as_str().map(str::to_owned)
}

/// Who answers `eu.webeid` at `place` now: the manifest text there (`None`: nobody).
pub fn registered(place: &Place) -> Option<String> {
    match &place.location {
        Location::File(p) => std::fs::read_to_string(p).ok(),
        Location::Registry { machine, key } => {
            let manifest = registry_default(*machine, key)?;
            std::fs::read_to_string(manifest).ok()
        }
    }
}

#[cfg(windows)]
fn registry_default(machine: bool, key: &str) -> Option<String> {
    mohur_platform::registry::reg_get(machine, key, "").ok().flatten()
}

#[cfg(not(windows))]
fn registry_default(_: bool, _: &str) -> Option<String> {
    None
}

/// True if a manifest text is mohur's (names `host`).
fn is_ours(manifest: &str, host: &Path) -> bool {
    program_of(manifest).is_some_and(|p| Path::new(&p) == host)
}

/// A place where another program answers `eu.webeid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The place.
    pub place: Place,
    /// The program it names, or the manifest text if it names none.
    pub program: String,
}

/// The places another program holds: left alone unless [`Registration::Replace`].
pub fn conflicts(opts: &Options) -> Vec<Conflict> {
    let host = host_program(opts);
    places(opts)
        .into_iter()
        .filter_map(|place| {
            let text = registered(&place)?;
            (!is_ours(&text, &host)).then(|| Conflict { program: program_of(&text).unwrap_or(text), place })
        })
        .collect()
}

/// Where the Windows registry values point: one manifest per browser family.
fn windows_manifest(opts: &Options, firefox: bool) -> PathBuf {
    let dir = opts.default_manifest().parent().map(Path::to_path_buf).unwrap_or_default();
    dir.join(if firefox { "eu.webeid.firefox.json" } else { "eu.webeid.json" })
}

/// The actions that register mohur as `eu.webeid` ([`Registration`]).
pub fn plan(opts: &Options) -> Vec<Action> {
    let host = host_program(opts);
    // A package built without the agent has no host to register.
    if opts.web_eid == Registration::Off || !host.is_file() {
        return Vec::new();
    }
    let mut actions = Vec::new();
    for place in places(opts) {
        let existing = registered(&place);
        let previous = match existing {
            Some(text) if !is_ours(&text, &host) => {
                if opts.web_eid != Registration::Replace {
                    continue;
                }
                Some(text)
            }
            _ => None,
        };
        let contents = manifest_json(&host, place.firefox, &opts.web_eid_extensions);
        match place.location {
            Location::File(path) => {
                actions.push(Action::NativeHost { browser: place.browser.to_owned(), path, contents, previous })
            }
            Location::Registry { machine, key } => {
                let manifest = windows_manifest(opts, place.firefox);
                // The manifest file is ours alone (mohur's data directory).
                if !actions.iter().any(|a| matches!(a, Action::File { path, .. } if *path == manifest)) {
                    actions.push(Action::File {
                        what: format!("Web eID host manifest ({})", if place.firefox { "Firefox" } else { "Chromium" }),
                        path: manifest.clone(),
                        contents,
                    });
                }
                let previous_value = previous.and(registry_default(machine, &key));
                actions.push(Action::WinNativeHost {
                    browser: place.browser.to_owned(),
                    machine,
                    key,
                    manifest: manifest.to_string_lossy().into_owned(),
                    previous: previous_value,
                });
            }
        }
    }
    actions
}

#[cfg(all(test, not(windows)))]
mod tests {
    use super::*;

    fn opts(home: &Path, web_eid: Registration) -> Options {
        let host = home.join("bin/mohur");
        std::fs::create_dir_all(home.join("bin")).unwrap();
        std::fs::write(&host, "").unwrap();
        Options {
            system: false,
            root: "/".into(),
            home: home.to_path_buf(),
            module: "/usr/lib/libmohur_pkcs11.so".into(),
            agent: host,
            nssdbs: Some(Vec::new()),
            firefox_profiles: None,
            no_autostart: true,
            keyring_service: "mohur-test".into(),
            trust_tls_servers: false,
            web_eid,
            web_eid_extensions: vec!["chrome-extension://abcdefghijklmnopabcdefghijklmnop/".into()],
        }
    }

    #[test]
    fn manifests_name_mohur_and_the_official_extensions() {
        let chromium =
            manifest_json(Path::new("/usr/bin/mohur"), false, &["chrome-extension://x/".into(), "a@b".into()]);
        let v: serde_json::Value = serde_json::from_str(&chromium).unwrap();
        assert_eq!(v["name"], "eu.webeid");
        assert_eq!(v["type"], "stdio");
        assert_eq!(v["path"], "/usr/bin/mohur");
        assert_eq!(
            v["allowed_origins"],
            serde_json::json!([CHROME_STORE_EXTENSION, EDGE_STORE_EXTENSION, "chrome-extension://x/"])
        );
        let firefox: serde_json::Value =
            serde_json::from_str(&manifest_json(Path::new("/usr/bin/mohur"), true, &["a@b".into()])).unwrap();
        assert_eq!(firefox["allowed_extensions"], serde_json::json!([FIREFOX_EXTENSION, "a@b"]));
        assert!(firefox.get("allowed_origins").is_none());
    }

    #[test]
    fn another_programs_host_is_left_alone_unless_asked_and_restored_on_uninstall() {
        let home = std::env::temp_dir().join(format!("mohur-webeid-plan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(home.join(".config/chromium/NativeMessagingHosts")).unwrap();
        std::fs::create_dir_all(home.join(".mozilla")).unwrap();
        // Chrome never ran: not registered per user.
        let o = opts(&home, Registration::WhereFree);
        let browsers: Vec<&str> = places(&o).iter().map(|p| p.browser).collect();
        assert_eq!(browsers, ["Chromium", "Firefox"]);

        let theirs = home.join(".config/chromium/NativeMessagingHosts/eu.webeid.json");
        let their_text = "{\"name\":\"eu.webeid\",\"path\":\"/usr/bin/web-eid\",\"type\":\"stdio\"}\n";
        std::fs::write(&theirs, their_text).unwrap();
        let actions = plan(&o);
        assert_eq!(actions.len(), 1, "only Firefox's place is free: {actions:?}");
        assert_eq!(conflicts(&o)[0].program, "/usr/bin/web-eid");

        let manifest = home.join("install-manifest.json");
        let replace = opts(&home, Registration::Replace);
        let mut log = Vec::new();
        crate::install(&plan(&replace), &manifest, false, &mut log).unwrap();
        assert!(is_ours(&std::fs::read_to_string(&theirs).unwrap(), &home.join("bin/mohur")));
        assert!(conflicts(&replace).is_empty());
        // Installing again changes nothing.
        assert_eq!(crate::install(&plan(&replace), &manifest, false, &mut log).unwrap(), 0);
        crate::uninstall(&manifest, false, &mut log).unwrap();
        assert_eq!(std::fs::read_to_string(&theirs).unwrap(), their_text, "what was there is back");
        assert!(!home.join(".mozilla/native-messaging-hosts/eu.webeid.json").exists());
        assert!(plan(&opts(&home, Registration::Off)).is_empty());
        let _ = std::fs::remove_dir_all(&home);
    }
}
