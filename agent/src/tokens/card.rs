//! Smart cards through mohur's own drivers (`mohur_apdu`): PIV and AzeDIT.

use super::{PinRules, Token, TokenInfo, TokenKey, TokenKind};
use crate::{Error, Result};
use mohur_apdu::{HashAlg, KeyInfo, KeyPurpose, Pin, PinKind, PinStatus, SignInput, SmartCard};

/// A card in a reader (or the demo's in-process simulated card).
pub struct CardToken {
    card: Box<dyn SmartCard>,
    reader: String,
    serial: Option<String>,
}

impl CardToken {
    /// Wraps an opened card; `reader` names where it is (`simulated` for the demo).
    pub fn new(card: Box<dyn SmartCard>, reader: impl Into<String>) -> CardToken {
        CardToken { card, reader: reader.into(), serial: None }
    }

    fn key(&self, purpose: KeyPurpose) -> Result<KeyInfo> {
        self.card.keys().iter().find(|k| k.purpose == purpose).copied().ok_or(Error::NoToken)
    }

    /// The driver's APDU count (benchmarks).
    pub fn apdu_count(&self) -> u64 {
        self.card.apdu_count()
    }

    /// The kinds of secret the card has: the PINs of its keys, then the PUK.
    fn pin_kinds(&self) -> Vec<PinKind> {
        let mut kinds: Vec<PinKind> = Vec::new();
        for k in self.card.keys() {
            if !kinds.contains(&k.pin) {
                kinds.push(k.pin);
            }
        }
        kinds.push(PinKind::Puk);
        kinds
    }
}

impl Token for CardToken {
    fn info(&mut self) -> Result<TokenInfo> {
        let serial = match &self.serial {
            Some(s) => s.clone(),
            None => {
                let s = self.card.serial()?;
                self.serial = Some(s.clone());
                s
            }
        };
        let mut keys = Vec::new();
        let mut holder = String::new();
        for k in self.card.keys().to_vec() {
            let cert = self.card.certificate(k.id)?;
            if holder.is_empty() {
                holder = mohur_apdu::x509::holder(&cert).ok().and_then(|h| h.common_name).unwrap_or_default();
            }
            keys.push(TokenKey { purpose: k.purpose, algorithm: self.card.key_algorithm(k.id)?, pin: k.pin });
        }
        // All counters in one go (AzeDIT: one SELECT for the three records).
        let pins = self.card.pin_statuses(&self.pin_kinds())?;
        Ok(TokenInfo {
            kind: TokenKind::Card { profile: self.card.profile().to_string(), reader: self.reader.clone() },
            serial,
            holder,
            keys,
            pins,
        })
    }

    fn certificate(&mut self, purpose: KeyPurpose) -> Result<Vec<u8>> {
        let key = self.key(purpose)?;
        Ok(self.card.certificate(key.id)?)
    }

    fn pin_for(&self, purpose: KeyPurpose) -> PinKind {
        self.key(purpose).map(|k| k.pin).unwrap_or(PinKind::Auth)
    }

    fn pin_rules(&self, kind: PinKind) -> PinRules {
        // The one table the drivers and the PKCS#11 module check against too.
        mohur_apdu::pin::rules(self.card.profile(), kind)
    }

    fn pin_status(&mut self, kind: PinKind) -> Result<PinStatus> {
        Ok(self.card.pin_status(kind)?)
    }

    fn sign(&mut self, purpose: KeyPurpose, alg: HashAlg, digest: &[u8], pin: &Pin) -> Result<Vec<u8>> {
        let key = self.key(purpose)?;
        let input = SignInput::Digest { alg, digest: digest.to_vec() };
        let result = self.card.sign(key.id, &input, Some(pin)).map_err(|e| Error::from_card(e, false));
        // The citizen typed the PIN for this operation only: end its security status so
        // the card does not stay unlocked for the next program (PIV; a no-op on AzeDIT,
        // which has no such command).
        if let Err(e) = self.card.logout() {
            tracing::debug!(error = %e, "logout after signing failed");
        }
        result
    }

    fn change_pin(&mut self, kind: PinKind, old: &Pin, new: &Pin) -> Result<()> {
        self.card.change_pin(kind, old, new).map_err(|e| Error::from_card(e, kind == PinKind::Puk))
    }

    fn unblock_pin(&mut self, kind: PinKind, puk: &Pin, new_pin: &Pin) -> Result<()> {
        self.card.unblock_pin(kind, puk, new_pin).map_err(|e| Error::from_card(e, true))
    }
}
