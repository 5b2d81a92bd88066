//! The simulated card: APDU in, APDU out, never a panic.
//!
//! Common ISO 7816-4 mechanics live here (parsing, GET RESPONSE §7.6.1, command
//! chaining §5.4.1, retry counters §7.5); [`crate::piv`] and [`crate::azedit`] hold the
//! profile commands.

use crate::crypto::LoadedKey;
use crate::state::{CardState, Profile, Secret, StateStore};
use crate::Result;
use mohur_apdu::{Command, StatusWord};
use std::collections::{BTreeMap, BTreeSet};

/// Which secret of the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecretId {
    /// PIV PIN / AzeDIT PIN1.
    Pin,
    /// AzeDIT PIN2.
    Pin2,
    /// PUK.
    Puk,
}

/// Counts of APDUs the card has answered, for benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// All APDUs.
    pub total: u64,
    /// By INS byte.
    pub by_ins: BTreeMap<u8, u64>,
}

/// Volatile card state: lost at power-off or reset.
#[derive(Default)]
pub(crate) struct Session {
    pub verified: BTreeSet<SecretId>,
    /// The secret verified by the command just before this one (PIV "PIN Always").
    pub just_verified: Option<SecretId>,
    pub piv_selected: bool,
    /// AzeDIT: current DF and EF (file identifiers).
    pub current_df: Option<u16>,
    pub current_ef: Option<u16>,
    /// Response bytes waiting for GET RESPONSE.
    pending: Vec<u8>,
    /// Command chain being assembled: (INS, P1, P2, data so far).
    chain: Option<(u8, u8, u8, Vec<u8>)>,
}

/// A simulated card.
pub struct SimCard {
    pub(crate) state: CardState,
    store: StateStore,
    pub(crate) keys: Vec<LoadedKey>,
    pub(crate) session: Session,
    atr: Vec<u8>,
    stats: Stats,
    /// A card of another kind: its own ATR, and no application mohur knows.
    foreign: bool,
}

/// The PIV simulator's ATR: T=1, historical bytes `80 73 C0 21 C0` (card
/// capabilities with command chaining and extended Lc/Le, ISO 7816-4 §8.1.1.2.7).
pub const PIV_ATR: [u8; 10] = [0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0xD6];

pub(crate) type CardResult = std::result::Result<Vec<u8>, StatusWord>;

impl SimCard {
    /// A card from its state, saving changes to `store`.
    pub fn new(state: CardState, store: StateStore) -> Result<SimCard> {
        let keys = state.keys.iter().map(LoadedKey::load).collect::<Result<Vec<_>>>()?;
        let atr = match state.profile {
            Profile::Piv => PIV_ATR.to_vec(),
            Profile::Azedit => mohur_apdu::azedit::AZEDIT_ATR.to_vec(),
        };
        Ok(SimCard { state, store, keys, session: Session::default(), atr, stats: Stats::default(), foreign: false })
    }

    /// A card of another kind (a national eID mohur has no driver for, a vendor token):
    /// it answers to reset with `atr` and has none of the applications mohur selects
    /// (every SELECT is `6A 82`, anything else `6D 00`). For tests of how mohur names
    /// cards it cannot drive.
    pub fn foreign(mut self, atr: Vec<u8>) -> SimCard {
        self.atr = atr;
        self.foreign = true;
        self
    }

    /// The answer to reset.
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// The persistent state.
    pub fn state(&self) -> &CardState {
        &self.state
    }

    /// APDU counts so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Clears the APDU counts.
    pub fn reset_stats(&mut self) {
        self.stats = Stats::default();
    }

    /// Power off, power on or warm reset: volatile state is gone (ISO 7816-3 §6).
    pub fn reset(&mut self) {
        self.session = Session::default();
    }

    /// Answers one command APDU; malformed input gets an error status word.
    pub fn process(&mut self, capdu: &[u8]) -> Vec<u8> {
        self.stats.total += 1;
        if let Some(ins) = capdu.get(1) {
            *self.stats.by_ins.entry(*ins).or_default() += 1;
        }
        let (data, sw) = match self.process_inner(capdu) {
            Ok((data, sw)) => (data, sw),
            Err(sw) => (Vec::new(), sw),
        };
        tracing::debug!(
            cla_ins = %capdu.iter().take(4).map(|b| format!("{b:02X}")).collect::<String>(),
            len = capdu.len(),
            resp = data.len(),
            %sw,
            "APDU"
        );
        let mut out = data;
        out.extend_from_slice(&[sw.sw1(), sw.sw2()]);
        out
    }

    fn process_inner(&mut self, capdu: &[u8]) -> std::result::Result<(Vec<u8>, StatusWord), StatusWord> {
        let cmd = Command::parse(capdu).map_err(|_| StatusWord::WRONG_LENGTH)?;
        if self.foreign {
            return Err(if cmd.ins == 0xA4 { StatusWord(0x6A82) } else { StatusWord(0x6D00) });
        }
        if cmd.cla & !0x13 != 0 {
            return Err(StatusWord::CLA_NOT_SUPPORTED);
        }
        if cmd.ins == 0xC0 {
            let pending = std::mem::take(&mut self.session.pending);
            if pending.is_empty() {
                return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
            }
            return Ok(self.respond(pending, cmd.ne));
        }
        self.session.pending.clear();
        // Command chaining: collect the blocks, act on the last one.
        let mut data = cmd.data.to_vec();
        if let Some((ins, p1, p2, mut so_far)) = self.session.chain.take() {
            if (ins, p1, p2) == (cmd.ins, cmd.p1, cmd.p2) {
                so_far.extend_from_slice(&data);
                data = so_far;
            }
        }
        if cmd.is_chained() {
            if data.len() > 65_536 {
                return Err(StatusWord::WRONG_LENGTH);
            }
            self.session.chain = Some((cmd.ins, cmd.p1, cmd.p2, data));
            return Ok((Vec::new(), StatusWord::OK));
        }
        let full = Command { cla: cmd.cla, ins: cmd.ins, p1: cmd.p1, p2: cmd.p2, data: data.into(), ne: cmd.ne };
        let answer = match self.state.profile {
            Profile::Piv => crate::piv::handle(self, &full),
            Profile::Azedit => crate::azedit::handle(self, &full),
        }?;
        Ok(self.respond(answer, full.ne))
    }

    /// Sends at most Ne bytes; the rest waits for GET RESPONSE behind `61 xx`.
    fn respond(&mut self, mut data: Vec<u8>, ne: Option<usize>) -> (Vec<u8>, StatusWord) {
        // Like most T=1 cards (YubiKeys among them), answer a command without Le as
        // if Le were 00: yubico-piv-tool selects PIV that way and wants 90 00.
        let ne = ne.unwrap_or(256);
        if data.len() <= ne {
            return (data, StatusWord::OK);
        }
        let rest = data.split_off(ne.min(data.len()));
        let announce = rest.len().min(256) as u8; // 256 is announced as 00
        self.session.pending = rest;
        (data, StatusWord::new(0x61, announce))
    }

    pub(crate) fn secret(&self, id: SecretId) -> Option<&Secret> {
        match id {
            SecretId::Pin => Some(&self.state.pin),
            SecretId::Pin2 => self.state.pin2.as_ref(),
            SecretId::Puk => Some(&self.state.puk),
        }
    }

    fn secret_mut(&mut self, id: SecretId) -> Option<&mut Secret> {
        match id {
            SecretId::Pin => Some(&mut self.state.pin),
            SecretId::Pin2 => self.state.pin2.as_mut(),
            SecretId::Puk => Some(&mut self.state.puk),
        }
    }

    fn persist(&self) -> std::result::Result<(), StatusWord> {
        self.store.save(&self.state).map_err(|e| {
            tracing::error!(error = %e, "could not persist card state");
            StatusWord(0x6581) // memory failure
        })
    }

    /// Status of a secret without spending a try (ISO 7816-4 §7.5.6, VERIFY with no
    /// data): `90 00` when verified, else `63 Cx`, `69 83` or `69 84`.
    pub(crate) fn query(&self, id: SecretId) -> CardResult {
        let s = self.secret(id).ok_or(StatusWord::REFERENCED_DATA_NOT_FOUND)?;
        Err(if !s.activated {
            StatusWord::REFERENCE_DATA_NOT_USABLE
        } else if s.left == 0 {
            StatusWord::AUTH_METHOD_BLOCKED
        } else if self.session.verified.contains(&id) {
            return Ok(Vec::new());
        } else {
            StatusWord::new(0x63, 0xC0 | s.left.min(15))
        })
    }

    /// Checks a candidate. A wrong one costs a try, persisted before the answer;
    /// the right one restores the counter.
    pub(crate) fn check_secret(&mut self, id: SecretId, candidate: &[u8]) -> std::result::Result<(), StatusWord> {
        let s = self.secret_mut(id).ok_or(StatusWord::REFERENCED_DATA_NOT_FOUND)?;
        if !s.activated && id != SecretId::Puk {
            return Err(StatusWord::REFERENCE_DATA_NOT_USABLE);
        }
        if s.left == 0 {
            return Err(StatusWord::AUTH_METHOD_BLOCKED);
        }
        if s.value.as_bytes() == candidate {
            if s.left != s.max {
                s.left = s.max;
                self.persist()?;
            }
            Ok(())
        } else {
            s.left -= 1;
            let left = s.left;
            self.session.verified.remove(&id);
            self.persist()?;
            Err(StatusWord::new(0x63, 0xC0 | left.min(15)))
        }
    }

    /// Verifies and records the security state.
    pub(crate) fn verify(&mut self, id: SecretId, candidate: &[u8]) -> std::result::Result<(), StatusWord> {
        self.session.just_verified = None;
        self.check_secret(id, candidate)?;
        self.session.verified.insert(id);
        self.session.just_verified = Some(id);
        Ok(())
    }

    /// Sets a new value with a full counter (and activates it).
    pub(crate) fn set_secret(&mut self, id: SecretId, value: &[u8]) -> std::result::Result<(), StatusWord> {
        let value = String::from_utf8(value.to_vec()).map_err(|_| StatusWord::WRONG_DATA)?;
        let s = self.secret_mut(id).ok_or(StatusWord::REFERENCED_DATA_NOT_FOUND)?;
        s.value = value;
        s.left = s.max;
        s.activated = true;
        self.persist()
    }

    pub(crate) fn key(&self, id: u8) -> Option<&LoadedKey> {
        self.keys.iter().find(|k| k.id == id)
    }
}
