//! What `verify` and `mohur doctor` flag in the trust stores (issue 13): any certificate
//! whose subject says it is a test certificate — a test root trusted on a real machine
//! lets whoever holds its key impersonate — and any CA that mohur-install added as
//! pinned but the bundle's manifest no longer lists (it was removed from the bundle for
//! a reason). CAs learned from a card are told apart by their nickname and are not
//! flagged for being absent from the manifest.

use std::collections::BTreeSet;

use x509_cert::der::Decode;
use x509_cert::Certificate;

use crate::actions::{bundle_ders, nss_certs, system_bundle, CaStoreTool};
use crate::ca::{fingerprint_hex, subject_says_test};
use crate::pinned::PinnedManifest;
use crate::{Error, Manifest, Options};

fn subject_of(der: &[u8]) -> Option<String> {
    Certificate::from_der(der).ok().map(|c| c.tbs_certificate.subject.to_string())
}

/// One line per problem found; empty when there is none.
pub fn audit(opts: &Options, pinned: &PinnedManifest, recorded: &Manifest) -> Result<Vec<String>, Error> {
    let mut flags = Vec::new();
    let mut seen = BTreeSet::new();
    let unlisted = |der: &[u8]| pinned.by_fingerprint(&fingerprint_hex(der)).is_none();
    // What mohur-install recorded.
    for a in &recorded.entries {
        let Some(der) = a.ca_der() else { continue };
        if a.loopback_ca_der().is_some() {
            continue;
        }
        let subject = subject_of(&der).unwrap_or_default();
        if subject_says_test(&subject) {
            flags.push(format!(
                "{subject} (SHA-256 {}): added by mohur-install, and its subject says test; {}",
                fingerprint_hex(&der),
                a.describe()
            ));
            seen.insert(der);
        } else if !a.is_learned_ca() && unlisted(&der) {
            flags.push(format!(
                "{subject} (SHA-256 {}): added by mohur-install, but the CA bundle's manifest no longer lists it; {}",
                fingerprint_hex(&der),
                a.describe()
            ));
            seen.insert(der);
        }
    }
    // Every certificate in the stores mohur looks at.
    if !cfg!(windows) {
        let (dbs, _) = opts.nss_databases();
        for db in dbs.iter().filter(|d| d.join("cert9.db").is_file()) {
            for (nick, trust, der) in nss_certs(db)? {
                if seen.contains(&der) {
                    continue;
                }
                let subject = subject_of(&der).unwrap_or_default();
                if subject_says_test(&subject) {
                    flags.push(format!(
                        "NSS sql:{}: {nick:?} ({subject}, trust {trust:?}): its subject says test",
                        db.display()
                    ));
                    seen.insert(der);
                }
            }
        }
        for tool in [CaStoreTool::Debian, CaStoreTool::Fedora] {
            let path = system_bundle(tool, &opts.root);
            for der in bundle_ders(&path) {
                let subject = subject_of(&der).unwrap_or_default();
                if !seen.contains(&der) && subject_says_test(&subject) {
                    flags.push(format!("system bundle {}: {subject}: its subject says test", path.display()));
                    seen.insert(der);
                }
            }
        }
    }
    Ok(flags)
}
