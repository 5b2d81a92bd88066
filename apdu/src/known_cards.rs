//! Cards mohur cannot drive itself, named rather than hidden: a table from ATR to what
//! the card is and which vendor PKCS#11 module drives it, and where that module's
//! installer puts it (the pattern of chrome-token-signing's ATR → module map). `mohur
//! status` and `mohur doctor` show the verdict for a card no driver of ours opens, and
//! the agent loads an installed module the table names for a card it sees.
//!
//! Only ATRs from public sources (pcsc-tools' `smartcard_list.txt`, the sources of
//! `ecosystem.md`); where a card's ATR is not known (the Armenian ID card) it is not
//! guessed.

/// Who drives a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// mohur's own drivers ([`crate::open`]).
    Mohur,
    /// A vendor PKCS#11 module.
    Pkcs11 {
        /// The software to install, as the vendor names it.
        software: &'static str,
        /// Where its installers put the module on Linux.
        linux: &'static [&'static str],
        /// And on Windows.
        windows: &'static [&'static str],
    },
    /// No module is known to drive it.
    Unknown,
}

/// One card of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownCard {
    /// What it is.
    pub name: &'static str,
    /// Its ATR as hex bytes, `..` for a byte that varies (pcsc-tools' notation).
    pub atr: &'static str,
    /// Who drives it.
    pub driver: Driver,
    /// How sure the facts are (`ecosystem.md`: confirmed, or inferred).
    pub note: &'static str,
}

const SAFENET: Driver = Driver::Pkcs11 {
    software: "SafeNet Authentication Client (Thales)",
    linux: &["/usr/lib/libeTPkcs11.so", "/usr/lib64/libeTPkcs11.so"],
    windows: &[r"C:\Windows\System32\eTPKCS11.dll"],
};

const IDPRIME: Driver = Driver::Pkcs11 {
    software: "SafeNet Authentication Client / Thales IDPrime middleware",
    linux: &["/usr/lib/libIDPrimePKCS11.so", "/usr/lib64/libIDPrimePKCS11.so"],
    windows: &[r"C:\Windows\System32\IDPrimePKCS11.dll"],
};

/// The table.
pub const KNOWN_CARDS: &[KnownCard] = &[
    KnownCard {
        name: "Azerbaijani ID card (AzeDIT, e-imza)",
        atr: "3B F8 18 00 00 80 31 FE 45 FE 41 5A 45 20 44 49 54 33",
        driver: Driver::Mohur,
        note: "confirmed (OpenSC 0.23 card list)",
    },
    KnownCard {
        name: "Azerbaijani national ID card (eID, since 2018)",
        atr: "3B FF 96 00 00 81 31 80 43 80 31 80 65 B0 85 03 01 0F 12 0F FF 82 90 00 86",
        driver: Driver::Unknown,
        note: "ATR confirmed (pcsc-tools); inferred to be a Thales MultiApp card, whose applet no open driver \
               knows: the issuer's signer software is needed",
    },
    KnownCard {
        name: "SafeNet eToken 5300 (e-imza USB token)",
        atr: "3B FF 96 00 00 81 31 FE 43 80 31 80 65 B0 84 56 51 10 12 01 78 82 90 00 6A",
        driver: SAFENET,
        note: "confirmed (pcsc-tools)",
    },
    KnownCard {
        name: "Thales SafeNet IDPrime 3940",
        atr: "3B FF 96 00 00 81 31 FE 43 80 31 80 65 B0 85 59 56 FB 12 0F FC 82 90 00 02",
        driver: IDPRIME,
        note: "confirmed (pcsc-tools)",
    },
    KnownCard {
        name: "Thales IDPrime MD 8840, 3840, 3810, 840, 830 (T=1)",
        atr: "3B FF .. 00 00 81 31 .. 43 80 31 80 65 B0 .. .. .. .. 12 0F FE 82 90 00 ..",
        driver: IDPRIME,
        note: "confirmed (pcsc-tools)",
    },
    KnownCard {
        name: "Thales IDPrime MD 8840, 3840, 3810, 840, 830 (T=0)",
        atr: "3B 7F .. 00 00 80 31 80 65 B0 .. .. .. .. 12 0F FE 82 90 00",
        driver: IDPRIME,
        note: "confirmed (pcsc-tools)",
    },
];

/// Armenian ID cards (2012–2023, PWPW): their ATR is not known, so no entry above can
/// match them; their module, for the citizen to install, is CryptoTech's.
pub const ARMENIAN_ID_CARD: Driver = Driver::Pkcs11 {
    software: "CryptoCard Suite (CryptoTech), from EKENG",
    linux: &["/usr/lib/ccs/libccpkip11.so", "/usr/lib/pwpw-card-pkcs11.so"],
    windows: &[
        r"C:\Program Files (x86)\CryptoTech\CryptoCard\CCPkiP11.dll",
        r"C:\Program Files\PWPW\pwpw-card-pkcs11.dll",
    ],
};

/// True if `atr` matches the pattern `pattern` (hex bytes, `..` for any byte).
fn matches(pattern: &str, atr: &[u8]) -> bool {
    let parts: Vec<&str> = pattern.split_whitespace().collect();
    parts.len() == atr.len()
        && parts.iter().zip(atr).all(|(p, b)| *p == ".." || u8::from_str_radix(p, 16).is_ok_and(|v| v == *b))
}

/// The table's entry for a card with `atr`, if any.
pub fn identify(atr: &[u8]) -> Option<&'static KnownCard> {
    KNOWN_CARDS.iter().find(|c| matches(c.atr, atr))
}

impl Driver {
    /// The module paths of this platform, installed or not.
    pub fn module_paths(&self) -> &'static [&'static str] {
        match self {
            Driver::Pkcs11 { linux, windows, .. } => {
                if cfg!(windows) {
                    windows
                } else {
                    linux
                }
            }
            _ => &[],
        }
    }

    /// The first of [`Driver::module_paths`] that is installed here.
    pub fn installed_module(&self) -> Option<&'static str> {
        self.module_paths().iter().copied().find(|p| std::path::Path::new(p).is_file())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atr(hex: &str) -> Vec<u8> {
        hex.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
    }

    #[test]
    fn the_table_names_what_it_knows_and_nothing_else() {
        let az_eid = atr("3B FF 96 00 00 81 31 80 43 80 31 80 65 B0 85 03 01 0F 12 0F FF 82 90 00 86");
        assert_eq!(identify(&az_eid).unwrap().driver, Driver::Unknown);
        let azedit = atr("3B F8 18 00 00 80 31 FE 45 FE 41 5A 45 20 44 49 54 33");
        assert_eq!(identify(&azedit).unwrap().driver, Driver::Mohur);
        // An IDPrime MD 840 (T=1) by the pattern.
        let md = atr("3B FF 96 00 00 81 31 FE 43 80 31 80 65 B0 85 04 01 20 12 0F FE 82 90 00 1A");
        assert!(matches!(identify(&md).unwrap().driver, Driver::Pkcs11 { .. }));
        // The AZ eID differs from the IDPrime mask in one byte (0F FF, not 0F FE).
        assert_ne!(identify(&az_eid).unwrap().name, identify(&md).unwrap().name);
        assert!(identify(&atr("3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 03 00 00 00 00 68")).is_none());
        assert!(identify(&[]).is_none());
        for c in KNOWN_CARDS {
            assert!(c.atr.split_whitespace().all(|p| p == ".." || u8::from_str_radix(p, 16).is_ok()), "{}", c.name);
        }
    }
}
