//! Certificates of cards, kept across processes, so that a fresh process (a browser
//! loading the PKCS#11 module, `pkcs11-tool`) does not read them from the card again:
//! a certificate on an AzeDIT card is 8 APDUs, and real readers cost 5–30 ms each.
//!
//! An entry is keyed by the card's identity, found with one cheap read the driver
//! makes anyway (AzeDIT: the first 256 bytes of the authentication certificate, which
//! hold its serial number, issuer and validity: a renewed certificate is a new key). An
//! entry holds the certificates and the card's serial. Files are written atomically
//! (a temporary file renamed) in a directory only the user can read; an entry that is
//! missing, unreadable or corrupt is simply not used, and overwritten.
//!
//! Where: `$MOHUR_CARD_CACHE` (`off` turns the cache off), else
//! `$XDG_CACHE_HOME/mohur/cards` or `~/.cache/mohur/cards`, `%LOCALAPPDATA%\mohur\cache\cards`
//! on Windows.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// What is kept of one card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The card's serial (AzeDIT: the document number).
    pub serial: Option<String>,
    /// Certificates (DER) by the driver's key id.
    pub certificates: BTreeMap<u8, Vec<u8>>,
}

/// The cache directory, or `None` when off or when there is no home.
pub fn dir() -> Option<PathBuf> {
    if let Some(v) = std::env::var_os("MOHUR_CARD_CACHE") {
        return (v != "off" && !v.is_empty()).then(|| PathBuf::from(v));
    }
    Some(mohur_platform::dirs::user_dir(mohur_platform::dirs::Kind::Cache)?.join("cards"))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len() / 2).map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

/// The file of the card `kind` (`azedit`) whose identity is `identity`.
fn file(kind: &str, identity: &[u8]) -> Option<PathBuf> {
    use sha2::Digest;
    let key = sha2::Sha256::digest([kind.as_bytes(), b"\0", identity].concat());
    Some(dir()?.join(format!("{kind}-{}.txt", hex(&key[..16]))))
}

/// `serial=…` and `cert.<id>=<hex DER>` lines.
fn parse(text: &str) -> Option<Entry> {
    let mut e = Entry::default();
    for line in text.lines() {
        let (k, v) = line.split_once('=')?;
        match k {
            "serial" => e.serial = Some(v.to_owned()),
            k if k.starts_with("cert.") => {
                let id: u8 = k[5..].parse().ok()?;
                e.certificates.insert(id, unhex(v)?);
            }
            "format" if v == "1" => {}
            _ => return None,
        }
    }
    Some(e)
}

/// The entry for `identity`, if there is a usable one.
pub fn load(kind: &str, identity: &[u8]) -> Option<Entry> {
    let text = std::fs::read_to_string(file(kind, identity)?).ok()?;
    let e = parse(&text);
    if e.is_none() {
        tracing::debug!(kind, "ignoring a corrupt card cache entry");
    }
    e
}

/// Writes the entry for `identity` (best effort: a cache that cannot be written is no
/// cache, not an error).
pub fn store(kind: &str, identity: &[u8], entry: &Entry) {
    let Some(path) = file(kind, identity) else { return };
    let mut text = String::from("format=1\n");
    if let Some(s) = &entry.serial {
        if !s.contains('\n') {
            text.push_str(&format!("serial={s}\n"));
        }
    }
    for (id, der) in &entry.certificates {
        text.push_str(&format!("cert.{id}={}\n", hex(der)));
    }
    if let Err(e) = write_private(&path, text.as_bytes()) {
        tracing::debug!(error = %e, path = %path.display(), "card cache not written");
    }
}

/// Writes `data` to `path` atomically, readable by the user only.
fn write_private(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().ok_or(std::io::ErrorKind::InvalidInput)?;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    let tmp =
        dir.join(format!(".{}.{}", std::process::id(), path.file_name().and_then(|n| n.to_str()).unwrap_or("tmp")));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_garbage_is_ignored() {
        let dir = std::env::temp_dir().join(format!("mohur-card-cache-{}", std::process::id()));
        std::env::set_var("MOHUR_CARD_CACHE", &dir);
        let mut e = Entry { serial: Some("AA7654321".into()), ..Entry::default() };
        e.certificates.insert(1, vec![0x30, 0x03, 1, 2, 3]);
        e.certificates.insert(2, vec![0x30, 0x00]);
        assert_eq!(load("azedit", b"id"), None);
        store("azedit", b"id", &e);
        assert_eq!(load("azedit", b"id"), Some(e.clone()));
        assert_eq!(load("azedit", b"other"), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let f = file("azedit", b"id").unwrap();
            assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(f.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        }
        std::fs::write(file("azedit", b"id").unwrap(), "cert.1=zz\n").unwrap();
        assert_eq!(load("azedit", b"id"), None);
        std::fs::write(file("azedit", b"id").unwrap(), "\u{0}\u{1}garbage").unwrap();
        assert_eq!(load("azedit", b"id"), None);
        std::env::set_var("MOHUR_CARD_CACHE", "off");
        assert!(dir_is_off());
        let _ = std::fs::remove_dir_all(dir);
    }

    fn dir_is_off() -> bool {
        super::dir().is_none()
    }
}
