//! AzeDIT driver: the Azerbaijani ID card, a MICARDO card laid out like the
//! Estonian EstEID 3.5 (file system per ISO 7816-4 §5.3, PINs per §7.5).
//!
//! Files: MF `3F00` → DF `EEEE` → EF `AACE` (authentication certificate), EF `DDCE`
//! (signing certificate), EF `5044` (personal data records); EF `0016` under MF
//! holds the retry counters. PIN1 (ref `01`) guards the authentication key, PIN2
//! (ref `02`) the qualified-signature key, the PUK (ref `00`) unblocks both.

use crate::apdu::Command;
use crate::card::{HolderInfo, KeyInfo, KeyPurpose, PinKind, PinState, PinStatus, SmartCard};
use crate::error::{Error, Result};
use crate::pin::Pin;
use crate::signature::{ecdsa_input, KeyAlgorithm, SignInput};
use crate::tlv;
use crate::transport::{transact, Channel, Transport};
use std::collections::HashMap;

/// The AzeDIT ATR (historical bytes `FE` "AZE DIT").
pub const AZEDIT_ATR: [u8; 18] =
    [0x3B, 0xF8, 0x18, 0x00, 0x00, 0x80, 0x31, 0xFE, 0x45, 0xFE, 0x41, 0x5A, 0x45, 0x20, 0x44, 0x49, 0x54, 0x33];

/// The EstEID 3.5 application identifier, the fallback when the ATR is unknown.
pub const ESTEID35_AID: [u8; 15] =
    [0xD2, 0x33, 0x00, 0x00, 0x00, 0x45, 0x73, 0x74, 0x45, 0x49, 0x44, 0x20, 0x76, 0x33, 0x35];

const DF: [u8; 2] = [0xEE, 0xEE];
const EF_AUTH_CERT: [u8; 2] = [0xAA, 0xCE];
const EF_SIGN_CERT: [u8; 2] = [0xDD, 0xCE];
const EF_PERSONAL_DATA: [u8; 2] = [0x50, 0x44];
const EF_RETRY_COUNTERS: [u8; 2] = [0x00, 0x16];

/// Key 1: authentication (PIN1). Key 2: qualified signature (PIN2, before every use).
const KEYS: [KeyInfo; 2] = [
    KeyInfo {
        id: 0x01,
        purpose: KeyPurpose::Authentication,
        label: "Authentication",
        pin: PinKind::Auth,
        always_authenticate: false,
    },
    KeyInfo {
        id: 0x02,
        purpose: KeyPurpose::Signing,
        label: "Signature",
        pin: PinKind::Signing,
        always_authenticate: true,
    },
];

/// True for the AzeDIT cold ATR.
pub fn matches_atr(atr: &[u8]) -> bool {
    atr == AZEDIT_ATR
}

/// PIN references and EF 0016 record numbers; lengths from the one table
/// ([`crate::pin::rules`]).
struct PinRule {
    reference: u8,
    record: u8,
    rules: crate::pin::PinRules,
}

fn rule(kind: PinKind) -> PinRule {
    let rules = crate::pin::rules(crate::card::CardProfile::AzeDit, kind);
    match kind {
        PinKind::Auth => PinRule { reference: 0x01, record: 1, rules },
        PinKind::Signing => PinRule { reference: 0x02, record: 2, rules },
        PinKind::Puk => PinRule { reference: 0x00, record: 3, rules },
    }
}

/// Personal data records of EF 5044 (EstEID layout).
const REC_SURNAME: u8 = 1;
const REC_GIVEN_NAME: u8 = 2;
const REC_CITIZENSHIP: u8 = 5;
const REC_PERSONAL_CODE: u8 = 7;
const REC_DOCUMENT_NUMBER: u8 = 8;

/// An AzeDIT (or EstEID 3.5) card.
pub struct AzeDit {
    transport: Box<dyn Transport>,
    state: State,
    apdus: u64,
}

#[derive(Default)]
struct State {
    /// Reset generation at which DF EEEE was last made current.
    in_df: Option<u64>,
    certs: HashMap<u8, Vec<u8>>,
    records: HashMap<u8, String>,
    /// The card's identity for the certificate cache: the first bytes of EF AACE.
    identity: Option<Vec<u8>>,
}

fn select_mf(ch: &mut Channel<'_>) -> Result<()> {
    ch.call(&Command::new(0x00, 0xA4, 0x00, 0x0C)).map(drop)
}

fn select_child(ch: &mut Channel<'_>, p1: u8, fid: [u8; 2]) -> Result<()> {
    ch.call(&Command::new(0x00, 0xA4, p1, 0x0C).with_data(fid.to_vec())).map(drop)
}

/// Makes DF EEEE current unless it already is in this card session.
fn enter_df(ch: &mut Channel<'_>, state: &mut State) -> Result<()> {
    if state.in_df != Some(ch.reset_generation()) {
        select_mf(ch)?;
        select_child(ch, 0x01, DF)?;
        state.in_df = Some(ch.reset_generation());
    }
    Ok(())
}

/// Selects an EF of the current DF and returns its size from the FCP (ISO 7816-4
/// §5.3.3, tags `80`/`81` data bytes, `85` proprietary), if the card tells.
fn select_ef_size(ch: &mut Channel<'_>, fid: [u8; 2]) -> Result<Option<usize>> {
    let fcp = ch.call(&Command::new(0x00, 0xA4, 0x02, 0x04).with_data(fid.to_vec()).expect(256))?;
    let Ok((tmpl, _)) = tlv::parse_one(&fcp) else { return Ok(None) };
    if tmpl.tag != 0x62 {
        return Ok(None);
    }
    for tag in [0x81, 0x80, 0x85] {
        if let Some(v) = tlv::find(tmpl.value, tag)? {
            if (1..=4).contains(&v.len()) {
                return Ok(Some(v.iter().fold(0usize, |a, b| (a << 8) | *b as usize)));
            }
        }
    }
    Ok(None)
}

/// READ BINARY (ISO 7816-4 §7.2.3) of a whole transparent EF, 256 bytes at a time.
fn read_binary(ch: &mut Channel<'_>, size: Option<usize>) -> Result<Vec<u8>> {
    read_binary_from(ch, 0, size)
}

/// The first chunk (up to 256 bytes) of the selected EF.
fn read_chunk(ch: &mut Channel<'_>, offset: usize, size: Option<usize>) -> Result<Vec<u8>> {
    let want = size.map_or(256, |s| s.saturating_sub(offset).min(256));
    let r = ch.transmit(&Command::new(0x00, 0xB0, (offset >> 8) as u8, offset as u8).expect(want))?;
    match r.sw.0 {
        0x9000 | 0x6282 => Ok(r.data),
        _ => Err(r.sw.check().err().unwrap_or(Error::Status(r.sw))),
    }
}

/// READ BINARY of the selected EF from `start` to its end.
fn read_binary_from(ch: &mut Channel<'_>, start: usize, size: Option<usize>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let offset = start + out.len();
        if size.is_some_and(|s| offset >= s) || offset > 0x7FFF {
            break;
        }
        let want = size.map_or(256, |s| (s - offset).min(256));
        let cmd = Command::new(0x00, 0xB0, (offset >> 8) as u8, offset as u8).expect(want);
        let r = ch.transmit(&cmd)?;
        match r.sw.0 {
            0x9000 | 0x6282 => {
                let end = r.data.is_empty() || r.sw.0 == 0x6282;
                out.extend_from_slice(&r.data);
                if end {
                    break;
                }
            }
            // Offset beyond the end of the file: we have it all.
            0x6B00 if size.is_none() && offset > 0 => break,
            _ => return Err(r.sw.check().err().unwrap_or(Error::Status(r.sw))),
        }
    }
    Ok(out)
}

fn read_record(ch: &mut Channel<'_>, n: u8) -> Result<Vec<u8>> {
    ch.call(&Command::new(0x00, 0xB2, n, 0x04).expect(256))
}

/// A retry counter record of EF 0016: `80 01 <max> 90 01 <left>`.
fn counter(kind: PinKind, record: &[u8]) -> Result<PinStatus> {
    let objects = tlv::parse_all(record)?;
    let byte = |tag| objects.iter().find(|t| t.tag == tag).and_then(|t| t.value.first().copied());
    let left = byte(0x90).ok_or(Error::UnexpectedResponse("retry counter record without tag 90"))?;
    let state = if left == 0 { PinState::Blocked } else { PinState::Ready };
    Ok(PinStatus { kind, state, tries_left: Some(left), max_tries: byte(0x80) })
}

/// Turns PIN errors into PUK errors for commands that check the PUK.
fn puk_errors(e: Error) -> Error {
    match e {
        Error::WrongPin { tries_left } => Error::WrongPuk { tries_left },
        Error::PinBlocked => Error::PukBlocked,
        e => e,
    }
}

impl AzeDit {
    /// True if the card selects the EstEID 3.5 application (1 APDU).
    pub fn probe(transport: &mut dyn Transport) -> Result<bool> {
        transact(transport, |ch| {
            let cmd = Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(ESTEID35_AID.to_vec());
            Ok(ch.status(&cmd)?.is_ok())
        })
    }

    /// Opens the card (found by its ATR or by [`AzeDit::probe`]).
    pub fn open(transport: Box<dyn Transport>) -> AzeDit {
        AzeDit { transport, state: State::default(), apdus: 0 }
    }

    fn run<R>(&mut self, f: impl FnOnce(&mut Channel<'_>, &mut State) -> Result<R>) -> Result<R> {
        let state = &mut self.state;
        let mut sent = 0;
        let result = transact(self.transport.as_mut(), |ch| {
            let r = f(ch, state);
            sent = ch.apdu_count();
            r
        });
        self.apdus += sent as u64;
        if matches!(result, Err(Error::CardReset)) {
            self.state.in_df = None;
        }
        result
    }

    /// A personal-data record of EF 5044, trimmed (read once per handle).
    pub fn personal_data(&mut self, record: u8) -> Result<String> {
        Ok(self.personal_records(&[record])?.remove(0))
    }

    /// Several records of EF 5044 with one SELECT, in one transaction; records
    /// already read are not read again.
    pub fn personal_records(&mut self, records: &[u8]) -> Result<Vec<String>> {
        let missing: Vec<u8> = records.iter().copied().filter(|r| !self.state.records.contains_key(r)).collect();
        if !missing.is_empty() {
            let values = self.run(|ch, state| {
                enter_df(ch, state)?;
                select_child(ch, 0x02, EF_PERSONAL_DATA)?;
                missing.iter().map(|r| read_record(ch, *r)).collect::<Result<Vec<_>>>()
            })?;
            for (r, v) in missing.iter().zip(values) {
                self.state.records.insert(*r, String::from_utf8_lossy(&v).trim().to_owned());
            }
        }
        Ok(records.iter().map(|r| self.state.records.get(r).cloned().unwrap_or_default()).collect())
    }

    fn key(&self, id: u8) -> Result<&'static KeyInfo> {
        KEYS.iter().find(|k| k.id == id).ok_or(Error::KeyNotAvailable("no such AzeDIT key"))
    }

    /// Reads the first chunk of EF AACE (the identity); on a cache hit takes the
    /// certificates (and serial) from the cache, else reads both certificates whole —
    /// all in one transaction, so that no other program moves the card's selection.
    fn load_certificates(&mut self) -> Result<()> {
        let (identity, found) = self.run(|ch, state| {
            enter_df(ch, state)?;
            let size = select_ef_size(ch, EF_AUTH_CERT)?;
            let first = read_chunk(ch, 0, size)?;
            if let Some(entry) = crate::cert_cache::load("azedit", &first) {
                if entry.certificates.contains_key(&0x01) && entry.certificates.contains_key(&0x02) {
                    return Ok((first, Ok(entry)));
                }
            }
            let mut auth = first.clone();
            if first.len() >= 256 && size.is_none_or(|s| auth.len() < s) {
                auth.extend(read_binary_from(ch, auth.len(), size)?);
            }
            let sign_size = select_ef_size(ch, EF_SIGN_CERT)?;
            Ok((first, Err((auth, read_binary(ch, sign_size)?))))
        })?;
        match found {
            Ok(entry) => {
                tracing::debug!("AzeDIT certificates from the cache");
                self.state.certs = entry.certificates.into_iter().collect();
                if let Some(serial) = entry.serial {
                    self.state.records.insert(REC_DOCUMENT_NUMBER, serial);
                }
                self.state.identity = Some(identity);
            }
            Err((auth, sign)) => {
                for (id, raw) in [(0x01, auth), (0x02, sign)] {
                    self.state.certs.insert(id, certificate_in(&raw)?);
                }
                self.state.identity = Some(identity);
                self.remember();
            }
        }
        Ok(())
    }

    /// Writes what is known of the card to the certificate cache.
    fn remember(&self) {
        let Some(identity) = &self.state.identity else { return };
        if self.state.certs.len() < 2 {
            return;
        }
        let entry = crate::cert_cache::Entry {
            serial: self.state.records.get(&REC_DOCUMENT_NUMBER).cloned(),
            certificates: self.state.certs.iter().map(|(k, v)| (*k, v.clone())).collect(),
        };
        crate::cert_cache::store("azedit", identity, &entry);
    }
}

/// The DER certificate at the start of an EF, which may be longer than it.
fn certificate_in(raw: &[u8]) -> Result<Vec<u8>> {
    let (seq, rest) = tlv::parse_one(raw).map_err(|_| Error::BadCertificate("EF holds no DER".into()))?;
    if seq.tag != 0x30 {
        return Err(Error::BadCertificate("EF holds no certificate".into()));
    }
    Ok(raw[..raw.len() - rest.len()].to_vec())
}

impl SmartCard for AzeDit {
    fn profile(&self) -> crate::card::CardProfile {
        crate::card::CardProfile::AzeDit
    }

    fn atr(&self) -> Vec<u8> {
        self.transport.atr().to_vec()
    }

    fn keys(&self) -> &[KeyInfo] {
        &KEYS
    }

    /// The document number (EF 5044 record 8), from the certificate cache when the card
    /// was seen before; the other holder records are read only when asked for
    /// ([`SmartCard::holder`]).
    fn serial(&mut self) -> Result<String> {
        if let Some(s) = self.state.records.get(&REC_DOCUMENT_NUMBER) {
            return Ok(s.clone());
        }
        let serial = self.personal_records(&[REC_DOCUMENT_NUMBER])?.remove(0);
        self.remember();
        Ok(serial)
    }

    fn holder(&mut self) -> Result<HolderInfo> {
        let mut h = crate::x509::holder(&self.certificate(0x01)?)?;
        let wanted = [REC_SURNAME, REC_GIVEN_NAME, REC_CITIZENSHIP, REC_PERSONAL_CODE, REC_DOCUMENT_NUMBER];
        let mut values = self.personal_records(&wanted)?.into_iter().map(|s| if s.is_empty() { None } else { Some(s) });
        let mut next = || values.next().flatten();
        h.surname = next().or(h.surname);
        h.given_name = next().or(h.given_name);
        h.country = next().or(h.country);
        h.personal_code = next().or(h.personal_code);
        h.document_number = next();
        Ok(h)
    }

    /// Both certificates, read on the first call: the first 256 bytes of the
    /// authentication certificate are the card's identity; a card seen before gets the
    /// rest from [`crate::cert_cache`], others are read whole and remembered.
    fn certificate(&mut self, id: u8) -> Result<Vec<u8>> {
        self.key(id)?;
        if self.state.certs.is_empty() {
            self.load_certificates()?;
        }
        self.state.certs.get(&id).cloned().ok_or(Error::FileNotFound)
    }

    /// Reads record 1 (PIN1), 2 (PIN2) or 3 (PUK) of EF 0016: `80 01 <max> 90 01 <left>`.
    fn pin_status(&mut self, kind: PinKind) -> Result<PinStatus> {
        Ok(self.pin_statuses(&[kind])?.remove(0))
    }

    /// The records of EF 0016 under one SELECT, in one transaction.
    fn pin_statuses(&mut self, kinds: &[PinKind]) -> Result<Vec<PinStatus>> {
        let records = self.run(|ch, state| {
            state.in_df = None;
            select_mf(ch)?;
            select_child(ch, 0x02, EF_RETRY_COUNTERS)?;
            kinds.iter().map(|k| read_record(ch, rule(*k).record)).collect::<Result<Vec<_>>>()
        })?;
        kinds.iter().zip(records).map(|(kind, record)| counter(*kind, &record)).collect()
    }

    fn verify_pin(&mut self, kind: PinKind, pin: &Pin) -> Result<()> {
        let r = rule(kind);
        r.rules.check(pin)?;
        let cmd = Command::new(0x00, 0x20, 0x00, r.reference).with_data(pin.as_bytes().to_vec());
        let result = self.run(|ch, _| ch.call(&cmd).map(drop));
        if kind == PinKind::Puk {
            result.map_err(puk_errors)
        } else {
            result
        }
    }

    /// INTERNAL AUTHENTICATE (key 1) or PSO: COMPUTE DIGITAL SIGNATURE (key 2, ISO
    /// 7816-8 §5.4), the hash unpadded; EC keys answer raw `r ‖ s`.
    fn sign(&mut self, id: u8, input: &SignInput, pin: Option<&Pin>) -> Result<Vec<u8>> {
        let key = self.key(id)?;
        let alg = self.key_algorithm(id)?;
        let data = match (alg, input) {
            (KeyAlgorithm::Rsa { .. }, SignInput::Digest { alg, digest }) => alg.digest_info(digest)?,
            (KeyAlgorithm::Rsa { .. }, SignInput::Raw(t)) => t.clone(),
            (_, SignInput::Digest { digest, .. } | SignInput::Raw(digest)) => ecdsa_input(digest, alg.field_len()),
            _ => return Err(Error::Unsupported("this card signs hashes only")),
        };
        if key.always_authenticate && pin.is_none() {
            return Err(Error::SecurityStatusNotSatisfied);
        }
        if let Some(pin) = pin {
            let r = rule(key.pin);
            r.rules.check(pin)?;
        }
        let cmd = match key.purpose {
            KeyPurpose::Authentication => Command::new(0x00, 0x88, 0x00, 0x00),
            _ => Command::new(0x00, 0x2A, 0x9E, 0x9A),
        }
        .with_data(data)
        .expect(256);
        let sig = self.run(|ch, state| {
            enter_df(ch, state)?;
            if let Some(pin) = pin {
                let verify = Command::new(0x00, 0x20, 0x00, rule(key.pin).reference).with_data(pin.as_bytes().to_vec());
                ch.call(&verify)?;
            }
            ch.call(&cmd)
        })?;
        if alg.is_ec() && sig.len() != 2 * alg.field_len() {
            return Err(Error::UnexpectedResponse("ECDSA signature of the wrong length"));
        }
        Ok(sig)
    }

    /// CHANGE REFERENCE DATA `00 24 00 <ref>` with old ‖ new.
    fn change_pin(&mut self, kind: PinKind, old: &Pin, new: &Pin) -> Result<()> {
        let r = rule(kind);
        r.rules.check(old)?;
        r.rules.check(new)?;
        let data = [old.as_bytes(), new.as_bytes()].concat();
        let cmd = Command::new(0x00, 0x24, 0x00, r.reference).with_data(data);
        let result = self.run(|ch, _| ch.call(&cmd).map(drop));
        if kind == PinKind::Puk {
            result.map_err(puk_errors)
        } else {
            result
        }
    }

    /// RESET RETRY COUNTER `00 2C 00 <ref>` with PUK ‖ new PIN, in one command.
    fn unblock_pin(&mut self, kind: PinKind, puk: &Pin, new_pin: &Pin) -> Result<()> {
        let r = rule(kind);
        let p = rule(PinKind::Puk);
        p.rules.check(puk)?;
        r.rules.check(new_pin)?;
        let data = [puk.as_bytes(), new_pin.as_bytes()].concat();
        let cmd = Command::new(0x00, 0x2C, 0x00, r.reference).with_data(data);
        self.run(|ch, _| ch.call(&cmd).map(drop)).map_err(puk_errors)
    }

    fn apdu_count(&self) -> u64 {
        self.apdus
    }

    /// EstEID 3.5 has no command that ends a PIN's security status: a verified PIN1
    /// or PIN2 stays valid until the card is reset, for any program that talks to it.
    /// So logging out is a warm reset of the card (ISO 7816-3 §6.2.2).
    fn logout(&mut self) -> Result<()> {
        self.transport.reset()?;
        self.state.in_df = None;
        Ok(())
    }
}
