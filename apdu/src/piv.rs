//! PIV card driver, NIST SP 800-73-4 part 2 (card command interface).

use crate::apdu::Command;
use crate::card::{CardProfile, HolderInfo, KeyInfo, KeyPurpose, PinKind, PinState, PinStatus, SmartCard};
use crate::error::{Error, Result};
use crate::pin::Pin;
use crate::signature::{ecdsa_der_to_raw, ecdsa_input, pkcs1_v15_pad, KeyAlgorithm, SignInput};
use crate::tlv;
use crate::transport::{transact, Channel, Transport};
use std::collections::HashMap;

/// The PIV application identifier without version (SP 800-73-4 part 2 §2.2).
pub const PIV_AID: [u8; 9] = [0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00];

/// PIN key reference `80` and PUK `81` (SP 800-73-4 part 1 §5.3.4, table 6).
const PIN_REF: u8 = 0x80;
const PUK_REF: u8 = 0x81;

/// PIN and PUK lengths (SP 800-73-4 part 2 §2.4.3: 6–8 characters, padded to 8).
/// The PIV PIN and PUK rules (the one table: [`crate::pin::rules`]).
fn pin_rules() -> crate::pin::PinRules {
    crate::pin::rules(CardProfile::Piv, PinKind::Auth)
}

/// The keys mohur uses: 9A PIV Authentication and 9C Digital Signature
/// (PIN Always, SP 800-73-4 part 1 §3.2.2).
const KEYS: [KeyInfo; 2] = [
    KeyInfo {
        id: 0x9A,
        purpose: KeyPurpose::Authentication,
        label: "PIV Authentication",
        pin: PinKind::Auth,
        always_authenticate: false,
    },
    KeyInfo {
        id: 0x9C,
        purpose: KeyPurpose::Signing,
        label: "Digital Signature",
        pin: PinKind::Signing,
        always_authenticate: true,
    },
];

/// BER-TLV tag of the data object holding the certificate of key `id` (part 1 table 3).
fn cert_object(id: u8) -> Result<u32> {
    match id {
        0x9A => Ok(0x5FC105),
        0x9C => Ok(0x5FC10A),
        0x9D => Ok(0x5FC10B),
        0x9E => Ok(0x5FC101),
        _ => Err(Error::KeyNotAvailable("no such PIV key")),
    }
}

/// Cryptographic algorithm identifier for GENERAL AUTHENTICATE (SP 800-78-4 table 6-2).
fn algorithm_id(alg: KeyAlgorithm) -> Result<u8> {
    match alg {
        KeyAlgorithm::Rsa { bits: 2048 } => Ok(0x07),
        KeyAlgorithm::Rsa { bits: 1024 } => Ok(0x06),
        KeyAlgorithm::EcP256 => Ok(0x11),
        KeyAlgorithm::EcP384 => Ok(0x14),
        _ => Err(Error::Unsupported("PIV key algorithm")),
    }
}

/// A PIV card.
pub struct Piv {
    transport: Box<dyn Transport>,
    state: State,
    apdus: u64,
}

#[derive(Default)]
struct State {
    /// Reset generation at which the PIV application was last selected.
    selected: Option<u64>,
    certs: HashMap<u8, Vec<u8>>,
    serial: Option<String>,
}

fn select(ch: &mut Channel<'_>) -> Result<Vec<u8>> {
    // SELECT, SP 800-73-4 part 2 §3.1.1: answer is the application property template.
    ch.call(&Command::new(0x00, 0xA4, 0x04, 0x00).with_data(PIV_AID.to_vec()).expect(256))
}

fn verify(ch: &mut Channel<'_>, reference: u8, pin: &Pin) -> Result<()> {
    // VERIFY, part 2 §3.2.1: PIN padded with FF to 8 bytes.
    pin_rules().check(pin)?;
    let cmd = Command::new(0x00, 0x20, 0x00, reference).with_data(pin.padded(8).to_vec());
    ch.transmit(&cmd)?.sw.check().map_err(|e| for_reference(e, reference))
}

/// Turns PIN errors into PUK errors when the PUK was the reference used.
fn for_reference(e: Error, reference: u8) -> Error {
    match (e, reference) {
        (Error::WrongPin { tries_left }, PUK_REF) => Error::WrongPuk { tries_left },
        (Error::PinBlocked, PUK_REF) => Error::PukBlocked,
        (e, _) => e,
    }
}

fn reference(kind: PinKind) -> u8 {
    match kind {
        PinKind::Auth | PinKind::Signing => PIN_REF,
        PinKind::Puk => PUK_REF,
    }
}

impl Piv {
    /// Selects the PIV application (1 APDU). `Some(generation)` if the card has
    /// it: the application stays selected for [`Piv::open_selected`].
    pub fn probe(transport: &mut dyn Transport) -> Result<Option<u64>> {
        transact(transport, |ch| match select(ch) {
            Ok(_) => Ok(Some(ch.reset_generation())),
            Err(e) if e.is_card_gone() || matches!(e, Error::NoService(_)) => Err(e),
            Err(_) => Ok(None),
        })
    }

    /// Opens a PIV card. The application is selected on first use.
    pub fn open(transport: Box<dyn Transport>) -> Result<Piv> {
        Ok(Piv { transport, state: State::default(), apdus: 0 })
    }

    /// Opens a card that [`Piv::probe`] just selected at `generation`, saving a SELECT.
    pub fn open_selected(transport: Box<dyn Transport>, generation: u64) -> Piv {
        Piv { transport, state: State { selected: Some(generation), ..State::default() }, apdus: 1 }
    }

    /// Runs `f` in one transaction, selecting the application first when this
    /// handle has not yet, or the card was reset since.
    fn run<R>(&mut self, f: impl FnOnce(&mut Channel<'_>, &mut State) -> Result<R>) -> Result<R> {
        let state = &mut self.state;
        let mut sent = 0;
        let result = transact(self.transport.as_mut(), |ch| {
            let r = (|| {
                if state.selected != Some(ch.reset_generation()) {
                    select(ch)?;
                    state.selected = Some(ch.reset_generation());
                }
                f(ch, state)
            })();
            sent = ch.apdu_count();
            r
        });
        self.apdus += sent as u64;
        if matches!(result, Err(Error::CardReset)) {
            self.state.selected = None;
        }
        result
    }

    /// Reads a data object with GET DATA (part 2 §3.1.2); returns the value of its `53` wrapper.
    pub fn read_object(&mut self, tag: u32) -> Result<Vec<u8>> {
        self.run(|ch, _| read_object(ch, tag))
    }
}

fn read_object(ch: &mut Channel<'_>, tag: u32) -> Result<Vec<u8>> {
    let mut tag_list = Vec::with_capacity(5);
    tlv::encode_into(0x5C, &tag.to_be_bytes()[1..], &mut tag_list);
    let ne = if ch.extended() { 65_536 } else { 256 };
    let data = ch.call(&Command::new(0x00, 0xCB, 0x3F, 0xFF).with_data(tag_list).expect(ne))?;
    let (obj, _) = tlv::parse_one(&data)?;
    if obj.tag != 0x53 {
        return Err(Error::UnexpectedResponse("data object not wrapped in tag 53"));
    }
    Ok(obj.value.to_vec())
}

impl SmartCard for Piv {
    fn profile(&self) -> crate::card::CardProfile {
        crate::card::CardProfile::Piv
    }

    fn atr(&self) -> Vec<u8> {
        self.transport.atr().to_vec()
    }

    fn keys(&self) -> &[KeyInfo] {
        &KEYS
    }

    /// The CHUID's GUID (tag `34`), or its FASC-N (tag `30`) when the GUID is zero.
    fn serial(&mut self) -> Result<String> {
        if let Some(s) = &self.state.serial {
            return Ok(s.clone());
        }
        let chuid = self.read_object(0x5FC102)?;
        let guid = tlv::find(&chuid, 0x34)?.filter(|g| g.iter().any(|b| *b != 0));
        let id = match guid {
            Some(g) => g.to_vec(),
            None => tlv::require(&chuid, 0x30, "CHUID without FASC-N or GUID")?.to_vec(),
        };
        let serial = crate::card::hex(&id);
        self.state.serial = Some(serial.clone());
        Ok(serial)
    }

    fn holder(&mut self) -> Result<HolderInfo> {
        let cert = self.certificate(0x9A)?;
        crate::x509::holder(&cert)
    }

    /// Certificate object: `53 { 70 cert, 71 certinfo, FE lrc }` (part 1 appendix A).
    fn certificate(&mut self, id: u8) -> Result<Vec<u8>> {
        if let Some(c) = self.state.certs.get(&id) {
            return Ok(c.clone());
        }
        let tag = cert_object(id)?;
        let object = self.read_object(tag)?;
        let cert = tlv::require(&object, 0x70, "certificate object without tag 70")?.to_vec();
        if tlv::find(&object, 0x71)?.is_some_and(|info| info.first().is_some_and(|b| b & 0x01 != 0)) {
            return Err(Error::Unsupported("compressed PIV certificate"));
        }
        self.state.certs.insert(id, cert.clone());
        Ok(cert)
    }

    /// Empty VERIFY (part 2 §3.2.1): `63 Cx` gives tries left without spending one.
    fn pin_status(&mut self, kind: PinKind) -> Result<PinStatus> {
        let reference = reference(kind);
        let sw = self.run(|ch, _| ch.status(&Command::new(0x00, 0x20, 0x00, reference)))?;
        let (state, tries_left) = match sw.0 {
            0x9000 => (PinState::Verified, None),
            0x6983 => (PinState::Blocked, Some(0)),
            0x6984 => (PinState::NotActivated, None),
            _ if sw.counter().is_some() => (PinState::Ready, sw.counter()),
            // Many cards cannot report the PUK counter this way.
            _ if kind == PinKind::Puk => (PinState::Ready, None),
            _ => return Err(sw.check().err().unwrap_or(Error::Status(sw))),
        };
        Ok(PinStatus { kind, state, tries_left, max_tries: None })
    }

    fn verify_pin(&mut self, kind: PinKind, pin: &Pin) -> Result<()> {
        self.run(|ch, _| verify(ch, reference(kind), pin))
    }

    /// GENERAL AUTHENTICATE (part 2 §3.2.4) with `7C { 82 00, 81 <challenge> }`.
    fn sign(&mut self, id: u8, input: &SignInput, pin: Option<&Pin>) -> Result<Vec<u8>> {
        let key = KEYS.iter().find(|k| k.id == id).ok_or(Error::KeyNotAvailable("no such PIV key"))?;
        let alg = self.key_algorithm(id)?;
        let p1 = algorithm_id(alg)?;
        let k = alg.field_len();
        let challenge = match (alg, input) {
            (KeyAlgorithm::Rsa { .. }, SignInput::Digest { alg: h, digest }) => {
                pkcs1_v15_pad(&h.digest_info(digest)?, k)?
            }
            (KeyAlgorithm::Rsa { .. }, SignInput::Raw(t)) => pkcs1_v15_pad(t, k)?,
            (KeyAlgorithm::Rsa { .. }, SignInput::RsaRawBlock(block)) if block.len() == k => block.clone(),
            (KeyAlgorithm::Rsa { .. }, SignInput::RsaRawBlock(_)) => {
                return Err(Error::Unsupported("raw RSA block of the wrong length"))
            }
            (_, SignInput::Digest { digest, .. } | SignInput::Raw(digest)) => ecdsa_input(digest, k),
            (_, SignInput::RsaRawBlock(_)) => return Err(Error::Unsupported("raw RSA on an EC key")),
            #[allow(unreachable_patterns)]
            _ => return Err(Error::Unsupported("sign input")),
        };
        if key.always_authenticate && pin.is_none() {
            return Err(Error::SecurityStatusNotSatisfied);
        }
        let mut inner = tlv::encode(0x82, &[]);
        tlv::encode_into(0x81, &challenge, &mut inner);
        let template = tlv::encode(0x7C, &inner);
        let answer = self.run(|ch, _| {
            if let Some(pin) = pin {
                verify(ch, PIN_REF, pin)?;
            }
            let ne = if ch.extended() { 65_536 } else { 256 };
            ch.call(&Command::new(0x00, 0x87, p1, id).with_data(template).expect(ne))
        })?;
        let (outer, _) = tlv::parse_one(&answer)?;
        if outer.tag != 0x7C {
            return Err(Error::UnexpectedResponse("GENERAL AUTHENTICATE answer without 7C"));
        }
        let sig = tlv::require(outer.value, 0x82, "GENERAL AUTHENTICATE answer without 82")?;
        if alg.is_ec() {
            ecdsa_der_to_raw(sig, k)
        } else {
            Ok(sig.to_vec())
        }
    }

    /// CHANGE REFERENCE DATA (part 2 §3.2.2): old and new, each padded to 8.
    fn change_pin(&mut self, kind: PinKind, old: &Pin, new: &Pin) -> Result<()> {
        pin_rules().check(old)?;
        pin_rules().check(new)?;
        let reference = reference(kind);
        let data = [old.padded(8).as_slice(), new.padded(8).as_slice()].concat();
        let cmd = Command::new(0x00, 0x24, 0x00, reference).with_data(data);
        self.run(|ch, _| ch.transmit(&cmd)?.sw.check().map_err(|e| for_reference(e, reference)))
    }

    /// RESET RETRY COUNTER (part 2 §3.2.3): PUK ‖ new PIN, each padded to 8.
    fn unblock_pin(&mut self, _kind: PinKind, puk: &Pin, new_pin: &Pin) -> Result<()> {
        crate::pin::rules(CardProfile::Piv, PinKind::Puk).check(puk)?;
        pin_rules().check(new_pin)?;
        let data = [puk.padded(8).as_slice(), new_pin.padded(8).as_slice()].concat();
        let cmd = Command::new(0x00, 0x2C, 0x00, PIN_REF).with_data(data);
        self.run(|ch, _| ch.transmit(&cmd)?.sw.check().map_err(|e| for_reference(e, PUK_REF)))
    }

    fn apdu_count(&self) -> u64 {
        self.apdus
    }

    /// VERIFY `00 20 FF 80` without data: resets the PIN's security status
    /// (part 2 §3.2.1).
    fn logout(&mut self) -> Result<()> {
        let cmd = Command::new(0x00, 0x20, 0xFF, PIN_REF);
        self.run(|ch, _| ch.transmit(&cmd)?.sw.check())
    }

    /// GENERAL AUTHENTICATE signs any block of the modulus length.
    fn supports_raw_rsa(&self) -> bool {
        true
    }

    /// VERIFY does not take the PUK reference `81` (part 2 §3.2.1).
    fn can_verify_puk(&self) -> bool {
        false
    }
}
