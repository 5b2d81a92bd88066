//! Slots, tokens, sessions, login and signing: the state behind the entry points,
//! in safe Rust. Each function documents the PKCS#11 v2.40 section it implements.
//!
//! Locking: the module state is one [`Mutex`] held only to look things up, never
//! across card I/O or a dialog; each session's operations and each slot's card have a
//! [`Mutex`] of their own (order: session, then slot), so card I/O on one reader never
//! blocks another, and what a session is (its slot, its flags) is read without any
//! lock. A PIN dialog holds no lock at all: C_GetTokenInfo, C_OpenSession and the
//! other sessions go on while the holder types (or does not: dialogs time out).

use crate::backend::{Backend, PcscBackend};
use crate::error::{Ck, Result};
use crate::mechanisms::{self, Hasher, Mech, Pss};
use crate::objects::{key_objects, Kind, Object};
use cryptoki_sys::*;
use mohur_apdu::{KeyAlgorithm, Pin, PinKind, PinState, PinStatus, SignInput, SmartCard};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Largest input of a mechanism without hashing (`CKM_RSA_PKCS`, `CKM_ECDSA`,
/// `CKM_RSA_PKCS_PSS`) that C_SignUpdate collects.
const MAX_UNHASHED: usize = 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Panics are caught at the entry points; the state stays usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `s` as a blank-padded, unterminated PKCS#11 string of `N` bytes, cut on a
/// character boundary (PKCS#11 v2.40 §3.2, CK_UTF8CHAR arrays).
pub fn padded<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [b' '; N];
    let mut end = s.len().min(N);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out[..end].copy_from_slice(&s.as_bytes()[..end]);
    out
}

struct Token {
    card: Box<dyn SmartCard>,
    label: String,
    serial: String,
    objects: Vec<Object>,
    user_logged_in: bool,
    /// The PUK of C_Login(CKU_SO): the SO is logged in while it is kept.
    so_puk: Option<Pin>,
    /// Highest user / SO tries-left seen, standing in for the maximum on cards that
    /// do not report it (PIV), so a 3-try card is not "count low" from the start.
    most_tries_seen: [u8; 2],
    /// PIN flags last read for C_GetTokenInfo, and when ([`pin_flags`]).
    pin_flags: Option<(std::time::Instant, CK_FLAGS)>,
    /// The PUK's counter as the card last reported it in a command that used the PUK,
    /// for cards that cannot report it otherwise (PIV).
    puk_seen: Option<PinStatus>,
}

#[derive(Default)]
struct SlotState {
    token: Option<Token>,
    /// Bumped whenever a token goes away: sessions of older generations are closed.
    generation: u64,
}

struct Slot {
    id: CK_SLOT_ID,
    reader: String,
    backend: Arc<dyn Backend>,
    state: Mutex<SlotState>,
}

impl Slot {
    /// The token in this slot, opening the card if needed.
    fn token<'a>(&self, st: &'a mut SlotState) -> Result<&'a mut Token> {
        if st.token.is_none() {
            if !self.backend.card_present(&self.reader)? {
                return Err(Ck(CKR_TOKEN_NOT_PRESENT));
            }
            // A card that leaves while we read it was never a token for the caller.
            let gone = |e: Ck| if e == Ck(CKR_DEVICE_REMOVED) { Ck(CKR_TOKEN_NOT_PRESENT) } else { e };
            let card = self.backend.open(&self.reader).map_err(|e| match e {
                mohur_apdu::Error::UnsupportedCard { .. } => Ck(CKR_TOKEN_NOT_RECOGNIZED),
                e => gone(Ck::from(e)),
            })?;
            let token = load_token(card).map_err(gone)?;
            st.token = Some(token);
        }
        Ok(st.token.as_mut().expect("token just loaded"))
    }

    /// Forgets the token when the card is gone, so its sessions close.
    fn check<T>(&self, st: &mut SlotState, r: Result<T>) -> Result<T> {
        if let Err(Ck(CKR_DEVICE_REMOVED)) = r {
            st.token = None;
            st.generation += 1;
        }
        r
    }
}

/// Reads what a token is: its certificates first (a card seen before answers them from
/// the certificate cache, with its serial), then its serial; the label is the
/// holder's name from a certificate, so the holder records are not read at all.
fn load_token(mut card: Box<dyn SmartCard>) -> Result<Token> {
    let profile = card.profile();
    let mut objects = Vec::new();
    let mut label = None;
    for key in card.keys().to_vec() {
        let der = match card.certificate(key.id) {
            Ok(der) => der,
            Err(mohur_apdu::Error::FileNotFound) => continue,
            Err(e) => return Err(e.into()),
        };
        if label.is_none() {
            label = mohur_apdu::x509::holder(&der).ok().and_then(|h| h.common_name);
        }
        let alg = mohur_apdu::x509::key_algorithm(&der)?;
        objects.extend(key_objects(profile, &key, alg, &der)?);
    }
    let serial = card.serial()?;
    let label = label.unwrap_or_else(|| format!("mohur {profile}"));
    tracing::debug!(%label, %serial, objects = objects.len(), "token loaded");
    Ok(Token {
        card,
        label,
        serial,
        objects,
        user_logged_in: false,
        so_puk: None,
        most_tries_seen: [0; 2],
        pin_flags: None,
        puk_seen: None,
    })
}

/// What C_SignUpdate has collected.
enum Input {
    /// Hashing mechanisms: the running hash.
    Hash(Box<Hasher>),
    /// The others: the data itself (at most [`MAX_UNHASHED`] bytes).
    Data(Vec<u8>),
}

struct SignOp {
    mech: Mech,
    key_id: u8,
    alg: KeyAlgorithm,
    mod_bits: usize,
    pss: Option<Pss>,
    always_authenticate: bool,
    /// PIN of C_Login(CKU_CONTEXT_SPECIFIC), for the next signature only.
    context_pin: Option<Pin>,
    input: Input,
    /// True once C_SignUpdate was called: C_Sign is then refused.
    multi_part: bool,
}

/// What a session does: its search and its signature operation.
#[derive(Default)]
struct SessionOps {
    find: Option<Vec<CK_OBJECT_HANDLE>>,
    sign: Option<SignOp>,
}

/// A session: what it is never changes (read without a lock), what it does is
/// behind its own lock.
struct Session {
    slot: Arc<Slot>,
    generation: u64,
    flags: CK_FLAGS,
    ops: Mutex<SessionOps>,
}

struct Module {
    backend: Arc<dyn Backend>,
    slots: HashMap<CK_SLOT_ID, Arc<Slot>>,
    sessions: HashMap<CK_SESSION_HANDLE, Arc<Session>>,
    next_session: CK_SESSION_HANDLE,
}

static STATE: Mutex<Option<Module>> = Mutex::new(None);

/// Slot ids by reader name: kept across C_Finalize so a reader keeps its id for the
/// life of the process.
static SLOT_IDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The slot id of `reader`, stable for the life of the process.
pub fn slot_id(reader: &str) -> CK_SLOT_ID {
    let mut ids = lock(&SLOT_IDS);
    let index = match ids.iter().position(|r| r == reader) {
        Some(i) => i,
        None => {
            ids.push(reader.to_owned());
            ids.len() - 1
        }
    };
    index as CK_SLOT_ID + 1
}

fn with_module<R>(f: impl FnOnce(&mut Module) -> Result<R>) -> Result<R> {
    let mut st = lock(&STATE);
    let m = st.as_mut().ok_or(Ck(CKR_CRYPTOKI_NOT_INITIALIZED))?;
    f(m)
}

/// True between C_Initialize and C_Finalize.
pub fn is_initialized() -> bool {
    lock(&STATE).is_some()
}

/// C_Initialize with the PC/SC backend (PKCS#11 v2.40 §5.4).
pub fn initialize() -> Result<()> {
    initialize_with(Arc::new(PcscBackend))
}

/// C_Initialize with any backend (PKCS#11 v2.40 §5.4).
pub fn initialize_with(backend: Arc<dyn Backend>) -> Result<()> {
    let mut st = lock(&STATE);
    if st.is_some() {
        return Err(Ck(CKR_CRYPTOKI_ALREADY_INITIALIZED));
    }
    *st = Some(Module { backend, slots: HashMap::new(), sessions: HashMap::new(), next_session: 1 });
    Ok(())
}

/// C_Finalize (PKCS#11 v2.40 §5.4): closes open PIN dialogs, wakes blocked
/// C_WaitForSlotEvent calls, closes every session, logs out of the cards and forgets
/// every token.
pub fn finalize() -> Result<()> {
    let module = lock(&STATE).take().ok_or(Ck(CKR_CRYPTOKI_NOT_INITIALIZED))?;
    crate::pinentry::cancel_all();
    crate::slot_events::finalize();
    for slot in module.slots.values() {
        if let Some(t) = lock(&slot.state).token.as_mut() {
            if t.user_logged_in {
                // Best effort: the module is going away whatever the card says.
                let _ = t.card.logout();
            }
        }
    }
    Ok(())
}

/// C_GetSlotList (PKCS#11 v2.40 §5.5): one slot per PC/SC reader; with
/// `token_present`, only readers holding a card.
pub fn slot_list(token_present: bool) -> Result<Vec<CK_SLOT_ID>> {
    let backend = with_module(|m| Ok(m.backend.clone()))?;
    // No PC/SC service (pcscd not running; Windows stops its Smart Card service when
    // no reader is plugged in) is no reader: no slots, not an error. Slots appear once
    // the service and a reader do.
    let readers = match backend.readers() {
        Ok(r) => r,
        Err(mohur_apdu::Error::NoService(why)) => {
            tracing::debug!(%why, "no PC/SC service: no slots");
            Vec::new()
        }
        Err(e) => return Err(e.into()),
    };
    let slots: Vec<Arc<Slot>> = with_module(|m| {
        Ok(readers
            .iter()
            .map(|r| {
                let id = slot_id(r);
                m.slots
                    .entry(id)
                    .or_insert_with(|| {
                        Arc::new(Slot {
                            id,
                            reader: r.clone(),
                            backend: backend.clone(),
                            state: Mutex::new(SlotState::default()),
                        })
                    })
                    .clone()
            })
            .collect())
    })?;
    let mut ids = Vec::with_capacity(slots.len());
    for slot in slots {
        if !token_present || backend.card_present(&slot.reader).unwrap_or(false) {
            ids.push(slot.id);
        }
    }
    Ok(ids)
}

fn slot(id: CK_SLOT_ID) -> Result<Arc<Slot>> {
    if let Some(s) = with_module(|m| Ok(m.slots.get(&id).cloned()))? {
        return Ok(s);
    }
    // A slot id from an earlier C_Initialize, or a reader that appeared since.
    slot_list(false)?;
    with_module(|m| m.slots.get(&id).cloned().ok_or(Ck(CKR_SLOT_ID_INVALID)))
}

/// C_GetSlotInfo (PKCS#11 v2.40 §5.5). The token is present when PC/SC sees a card;
/// the card is opened only when a token function needs it.
pub fn slot_info(id: CK_SLOT_ID) -> Result<CK_SLOT_INFO> {
    let slot = slot(id)?;
    let present = slot.backend.card_present(&slot.reader).unwrap_or(false);
    if !present {
        let mut st = lock(&slot.state);
        if st.token.take().is_some() {
            st.generation += 1;
        }
    }
    let mut flags = CKF_REMOVABLE_DEVICE | CKF_HW_SLOT;
    if present {
        flags |= CKF_TOKEN_PRESENT;
    }
    Ok(CK_SLOT_INFO {
        slotDescription: padded(&slot.reader),
        manufacturerID: padded("mohur"),
        flags,
        hardwareVersion: CK_VERSION { major: 0, minor: 0 },
        firmwareVersion: CK_VERSION { major: 0, minor: 0 },
    })
}

/// The `[count low, final try, locked, to be changed]` flags of one secret.
type PinFlagSet = [CK_FLAGS; 4];
const USER_FLAGS: PinFlagSet =
    [CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED, CKF_USER_PIN_TO_BE_CHANGED];
const SO_FLAGS: PinFlagSet = [CKF_SO_PIN_COUNT_LOW, CKF_SO_PIN_FINAL_TRY, CKF_SO_PIN_LOCKED, CKF_SO_PIN_TO_BE_CHANGED];

/// Token flags from a retry counter (PKCS#11 v2.40 §5.5, CK_TOKEN_INFO): count low
/// after a wrong entry, final try at 1 left, locked when blocked, to be changed
/// when never activated.
fn status_flags(status: &PinStatus, most_seen: &mut u8, [low, final_try, locked, to_change]: PinFlagSet) -> CK_FLAGS {
    let mut flags = 0;
    *most_seen = (*most_seen).max(status.tries_left.unwrap_or(0));
    match status.state {
        PinState::Blocked => flags |= locked,
        PinState::NotActivated => flags |= to_change,
        _ => {}
    }
    if let Some(left) = status.tries_left.filter(|_| status.state != PinState::Blocked) {
        if left < status.max_tries.unwrap_or(*most_seen) {
            flags |= low;
        }
        if left == 1 {
            flags |= final_try;
        }
    }
    flags
}

/// How long PIN counters read for C_GetTokenInfo are kept: an application asks for
/// the token's info several times in a row (pkcs11-tool: three times per process), and
/// each read costs APDUs; another application may spend a try meanwhile, so not for
/// long. Our own logins, logouts and PIN changes forget them at once.
const PIN_FLAGS_KEPT: std::time::Duration = std::time::Duration::from_secs(2);

/// User PIN flags and SO (PUK) flags, read without spending a try (and kept for
/// [`PIN_FLAGS_KEPT`]). A card that cannot report the PUK gives no SO flags.
fn pin_flags(token: &mut Token) -> Result<CK_FLAGS> {
    if let Some((at, flags)) = token.pin_flags {
        if at.elapsed() < PIN_FLAGS_KEPT {
            return Ok(flags);
        }
    }
    let flags = read_pin_flags(token)?;
    token.pin_flags = Some((std::time::Instant::now(), flags));
    Ok(flags)
}

fn read_pin_flags(token: &mut Token) -> Result<CK_FLAGS> {
    // A card that checks its PUK only inside the commands that use it (PIV) has no
    // standard way to report its counter: no SO flags, and no APDU spent asking.
    let with_puk = token.card.can_verify_puk();
    let statuses = if with_puk {
        match token.card.pin_statuses(&[PinKind::Auth, PinKind::Puk]) {
            Ok(s) => s,
            Err(e) if e.is_card_gone() => return Err(e.into()),
            Err(_) => vec![token.card.pin_status(PinKind::Auth)?],
        }
    } else {
        vec![token.card.pin_status(PinKind::Auth)?]
    };
    let puk = statuses.get(1).or(token.puk_seen.as_ref()).cloned();
    let [user_seen, so_seen] = &mut token.most_tries_seen;
    let user = status_flags(&statuses[0], user_seen, USER_FLAGS);
    let so = puk.map_or(0, |s| status_flags(&s, so_seen, SO_FLAGS));
    Ok(user | so)
}

/// C_GetTokenInfo (PKCS#11 v2.40 §5.5): label = holder's common name, serial from
/// the card, PIN flags read live from the card.
pub fn token_info(id: CK_SLOT_ID) -> Result<CK_TOKEN_INFO> {
    let slot = slot(id)?;
    let sessions =
        with_module(|m| Ok(m.sessions.values().filter(|s| s.slot.id == id).map(|s| s.flags).collect::<Vec<_>>()))?;
    let rules = |t: &Token, kind| mohur_apdu::pin::rules(t.card.profile(), kind);
    let mut st = lock(&slot.state);
    let r = (|| {
        let token = slot.token(&mut st)?;
        let pin = pin_flags(token)?;
        let user_rules = rules(token, PinKind::Auth);
        let profile = token.card.profile();
        let protected = if crate::pinentry::enabled() { CKF_PROTECTED_AUTHENTICATION_PATH } else { 0 };
        Ok(CK_TOKEN_INFO {
            label: padded(&token.label),
            manufacturerID: padded("mohur"),
            model: padded(&profile.to_string()),
            serialNumber: padded(&token.serial[token.serial.len().saturating_sub(16)..]),
            // Not write-protected: C_SetPIN and C_InitPIN change the card.
            flags: CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED | pin | protected,
            ulMaxSessionCount: CK_EFFECTIVELY_INFINITE,
            ulSessionCount: sessions.len() as CK_ULONG,
            ulMaxRwSessionCount: CK_EFFECTIVELY_INFINITE,
            ulRwSessionCount: sessions.iter().filter(|f| *f & CKF_RW_SESSION != 0).count() as CK_ULONG,
            // The one table of PIN rules (mohur_apdu::pin::rules), as the agent checks them.
            ulMaxPinLen: user_rules.max as CK_ULONG,
            ulMinPinLen: user_rules.min as CK_ULONG,
            ulTotalPublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulTotalPrivateMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePrivateMemory: CK_UNAVAILABLE_INFORMATION,
            hardwareVersion: CK_VERSION { major: 0, minor: 0 },
            firmwareVersion: CK_VERSION { major: 0, minor: 0 },
            utcTime: [b' '; 16],
        })
    })();
    // §5.5: a slot whose card has just gone has no token (callers such as libp11
    // give up enumerating all slots on CKR_DEVICE_REMOVED).
    slot.check(&mut st, r).map_err(|e| if e == Ck(CKR_DEVICE_REMOVED) { Ck(CKR_TOKEN_NOT_PRESENT) } else { e })
}

/// The token's private keys as (is RSA, size in bits), and whether its card signs
/// raw RSA blocks.
fn key_kinds(id: CK_SLOT_ID) -> Result<(Vec<(bool, CK_ULONG)>, bool)> {
    let slot = slot(id)?;
    let mut st = lock(&slot.state);
    let r = slot.token(&mut st).map(|t| {
        let keys = t.objects.iter().filter(|o| o.kind == Kind::PrivateKey);
        let bits = |a: KeyAlgorithm| (a.field_len() * 8) as CK_ULONG;
        (keys.map(|o| (!o.alg.is_ec(), bits(o.alg))).collect(), t.card.supports_raw_rsa())
    });
    slot.check(&mut st, r)
}

/// C_GetMechanismList (PKCS#11 v2.40 §5.5): the mechanisms of the token's key
/// types; RSA-PSS only where the card signs raw RSA blocks.
pub fn mechanism_list(id: CK_SLOT_ID) -> Result<Vec<CK_MECHANISM_TYPE>> {
    let (keys, raw_rsa) = key_kinds(id)?;
    let has = |rsa: bool| keys.iter().any(|(r, _)| *r == rsa);
    Ok(mechanisms::ALL
        .into_iter()
        .filter(|m| mechanisms::describe(*m).is_some_and(|d| has(d.rsa) && (!d.pss || raw_rsa)))
        .collect())
}

/// C_GetMechanismInfo (PKCS#11 v2.40 §5.5): key sizes in bits (RSA modulus, EC
/// field) of the token's keys of that type.
pub fn mechanism_info(id: CK_SLOT_ID, mechanism: CK_MECHANISM_TYPE) -> Result<CK_MECHANISM_INFO> {
    if !mechanism_list(id)?.contains(&mechanism) {
        return Err(Ck(CKR_MECHANISM_INVALID));
    }
    let rsa = mechanisms::describe(mechanism).is_some_and(|d| d.rsa);
    let sizes: Vec<CK_ULONG> = key_kinds(id)?.0.into_iter().filter(|(r, _)| *r == rsa).map(|(_, b)| b).collect();
    let mut flags = CKF_HW | CKF_SIGN;
    if !rsa {
        flags |= CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS;
    }
    Ok(CK_MECHANISM_INFO {
        ulMinKeySize: sizes.iter().copied().min().unwrap_or(0),
        ulMaxKeySize: sizes.iter().copied().max().unwrap_or(0),
        flags,
    })
}

/// C_OpenSession (PKCS#11 v2.40 §5.6): no callbacks.
pub fn open_session(id: CK_SLOT_ID, flags: CK_FLAGS) -> Result<CK_SESSION_HANDLE> {
    if flags & CKF_SERIAL_SESSION == 0 {
        return Err(Ck(CKR_SESSION_PARALLEL_NOT_SUPPORTED));
    }
    let slot = slot(id)?;
    let generation = {
        let mut st = lock(&slot.state);
        let r = slot.token(&mut st).map(|t| t.so_puk.is_some());
        if slot.check(&mut st, r)? && flags & CKF_RW_SESSION == 0 {
            return Err(Ck(CKR_SESSION_READ_WRITE_SO_EXISTS));
        }
        st.generation
    };
    with_module(|m| {
        let h = m.next_session;
        m.next_session += 1;
        let session = Session { slot, generation, flags, ops: Mutex::default() };
        m.sessions.insert(h, Arc::new(session));
        Ok(h)
    })
}

/// Logs out of a token whose last session closed (PKCS#11 v2.40 §5.6, C_CloseSession),
/// on the card too. Called without the module lock: the logout is card I/O.
fn logout_if_unused(slot: &Slot) {
    let unused = with_module(|m| Ok(!m.sessions.values().any(|s| s.slot.id == slot.id))).unwrap_or(true);
    if unused {
        if let Some(t) = lock(&slot.state).token.as_mut() {
            t.so_puk = None;
            t.pin_flags = None;
            if std::mem::take(&mut t.user_logged_in) {
                // A card that is gone has forgotten the PIN anyway.
                let _ = t.card.logout();
            }
        }
    }
}

/// C_CloseSession (PKCS#11 v2.40 §5.6).
pub fn close_session(h: CK_SESSION_HANDLE) -> Result<()> {
    let s = with_module(|m| m.sessions.remove(&h).ok_or(Ck(CKR_SESSION_HANDLE_INVALID)))?;
    logout_if_unused(&s.slot);
    Ok(())
}

/// C_CloseAllSessions (PKCS#11 v2.40 §5.6).
pub fn close_all_sessions(id: CK_SLOT_ID) -> Result<()> {
    let slot = slot(id)?;
    with_module(|m| {
        m.sessions.retain(|_, s| s.slot.id != id);
        Ok(())
    })?;
    logout_if_unused(&slot);
    Ok(())
}

/// Runs `f` on a live session, its operations and its slot's state (locks taken in
/// that order, the module lock not held).
fn with_session<R>(
    h: CK_SESSION_HANDLE,
    f: impl FnOnce(&Session, &mut SessionOps, &mut SlotState) -> Result<R>,
) -> Result<R> {
    let session = with_module(|m| m.sessions.get(&h).cloned().ok_or(Ck(CKR_SESSION_HANDLE_INVALID)))?;
    let mut ops = lock(&session.ops);
    let slot = session.slot.clone();
    let mut st = lock(&slot.state);
    if st.generation != session.generation || st.token.is_none() {
        drop(st);
        drop(ops);
        with_module(|m| Ok(m.sessions.remove(&h)))?;
        return Err(Ck(CKR_SESSION_HANDLE_INVALID));
    }
    let r = f(&session, &mut ops, &mut st);
    slot.check(&mut st, r)
}

fn token(st: &mut SlotState) -> &mut Token {
    st.token.as_mut().expect("with_session checked the token")
}

/// C_GetSessionInfo (PKCS#11 v2.40 §5.6).
pub fn session_info(h: CK_SESSION_HANDLE) -> Result<CK_SESSION_INFO> {
    with_session(h, |s, _, st| {
        let rw = s.flags & CKF_RW_SESSION != 0;
        let t = token(st);
        let state = match (t.user_logged_in, rw) {
            _ if t.so_puk.is_some() => CKS_RW_SO_FUNCTIONS,
            (false, false) => CKS_RO_PUBLIC_SESSION,
            (false, true) => CKS_RW_PUBLIC_SESSION,
            (true, false) => CKS_RO_USER_FUNCTIONS,
            (true, true) => CKS_RW_USER_FUNCTIONS,
        };
        Ok(CK_SESSION_INFO { slotID: s.slot.id, state, flags: s.flags, ulDeviceError: 0 })
    })
}

/// The slot of session `h`.
fn session_slot(h: CK_SESSION_HANDLE) -> Result<CK_SLOT_ID> {
    with_module(|m| m.sessions.get(&h).map(|s| s.slot.id).ok_or(Ck(CKR_SESSION_HANDLE_INVALID)))
}

/// True if slot `id` has a read-only session.
fn ro_session_exists(id: CK_SLOT_ID) -> Result<bool> {
    with_module(|m| Ok(m.sessions.values().any(|s| s.slot.id == id && s.flags & CKF_RW_SESSION == 0)))
}

/// C_Login (PKCS#11 v2.40 §5.6). `CKU_USER` verifies the PIN once on the card (never
/// retried); `CKU_SO` logs in with the PUK; `CKU_CONTEXT_SPECIFIC` keeps the PIN for
/// the next signature of an always-authenticate key, which verifies it right before
/// signing.
///
/// `pin` is `None` for a null `pPin`: with the protected authentication path
/// ([`crate::pinentry`]) the user's PIN is then asked for in mohur's dialog (not for a
/// blocked PIN) and goes the same way as one the caller gave; without it, or for
/// `CKU_SO`, that is CKR_ARGUMENTS_BAD.
pub fn login(h: CK_SESSION_HANDLE, user: CK_USER_TYPE, pin: Option<Pin>) -> Result<()> {
    if pin.is_none() && (user == CKU_SO || !crate::pinentry::enabled()) {
        return Err(Ck(CKR_ARGUMENTS_BAD));
    }
    let ro_exists = user == CKU_SO && ro_session_exists(session_slot(h)?)?;
    match user {
        CKU_USER => {
            let pin = match pin {
                Some(pin) => pin,
                // The dialog runs with no lock held; what it needs is read first.
                None => {
                    let (label, status) = with_session(h, |_, _, st| {
                        let t = token(st);
                        login_allowed(t)?;
                        Ok((t.label.clone(), t.card.pin_status(PinKind::Auth)?))
                    })?;
                    crate::pinentry::ask(&label, PinKind::Auth, &status)?
                }
            };
            with_session(h, |_, _, st| login_user(token(st), &pin))
        }
        CKU_SO => with_session(h, |_, _, st| login_so(token(st), pin.ok_or(Ck(CKR_ARGUMENTS_BAD))?, ro_exists)),
        CKU_CONTEXT_SPECIFIC => {
            let (pin, key_id) = match pin {
                Some(pin) => (pin, None),
                None => {
                    let (label, kind, status, key_id) = with_session(h, |_, ops, st| {
                        let op = ops.sign.as_ref().ok_or(Ck(CKR_OPERATION_NOT_INITIALIZED))?;
                        let t = token(st);
                        let kind = t.card.keys().iter().find(|k| k.id == op.key_id).map_or(PinKind::Auth, |k| k.pin);
                        Ok((t.label.clone(), kind, t.card.pin_status(kind)?, op.key_id))
                    })?;
                    (crate::pinentry::ask(&label, kind, &status)?, Some(key_id))
                }
            };
            if pin.is_empty() {
                return Err(Ck(CKR_PIN_LEN_RANGE));
            }
            with_session(h, |_, ops, _| {
                let op = ops.sign.as_mut().ok_or(Ck(CKR_OPERATION_NOT_INITIALIZED))?;
                // The operation the PIN was asked for, not one begun during the dialog.
                if key_id.is_some_and(|k| k != op.key_id) {
                    return Err(Ck(CKR_OPERATION_NOT_INITIALIZED));
                }
                op.context_pin = Some(pin);
                Ok(())
            })
        }
        _ => Err(Ck(CKR_USER_TYPE_INVALID)),
    }
}

/// The checks of [`login_user`] that come before the PIN.
fn login_allowed(t: &Token) -> Result<()> {
    if t.so_puk.is_some() {
        return Err(Ck(CKR_USER_ANOTHER_ALREADY_LOGGED_IN));
    }
    if t.user_logged_in {
        return Err(Ck(CKR_USER_ALREADY_LOGGED_IN));
    }
    Ok(())
}

fn login_user(t: &mut Token, pin: &Pin) -> Result<()> {
    login_allowed(t)?;
    if let Err(e) = t.card.verify_pin(PinKind::Auth, pin) {
        t.pin_flags = None;
        if let mohur_apdu::Error::WrongPin { tries_left } = e {
            // The card had at least one more try before this wrong PIN.
            t.most_tries_seen[0] = t.most_tries_seen[0].max(tries_left.saturating_add(1));
        }
        return Err(e.into());
    }
    t.user_logged_in = true;
    // A PIN the card just accepted has every try back: no need to ask it again.
    t.pin_flags = t
        .pin_flags
        .map(|(_, flags)| (std::time::Instant::now(), flags & !(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY)));
    Ok(())
}

/// SO login (PKCS#11 v2.40 §5.6: only without read-only sessions). The PUK is
/// verified on the card where the card can; a PIV card checks it only in the
/// C_InitPIN or C_SetPIN that uses it.
fn login_so(t: &mut Token, puk: Pin, ro_exists: bool) -> Result<()> {
    if t.user_logged_in {
        return Err(Ck(CKR_USER_ANOTHER_ALREADY_LOGGED_IN));
    }
    if t.so_puk.is_some() {
        return Err(Ck(CKR_USER_ALREADY_LOGGED_IN));
    }
    if ro_exists {
        return Err(Ck(CKR_SESSION_READ_ONLY_EXISTS));
    }
    if puk.is_empty() {
        return Err(Ck(CKR_PIN_LEN_RANGE));
    }
    if t.card.can_verify_puk() {
        t.pin_flags = None;
        t.card.verify_pin(PinKind::Puk, &puk)?;
    }
    t.so_puk = Some(puk);
    Ok(())
}

/// C_Logout (PKCS#11 v2.40 §5.6): the user's PIN is also logged out on the card
/// ([`SmartCard::logout`]); the SO's PUK is forgotten.
pub fn logout(h: CK_SESSION_HANDLE) -> Result<()> {
    with_session(h, |_, ops, st| {
        let t = token(st);
        t.pin_flags = None;
        ops.sign = None;
        if t.so_puk.take().is_some() {
            return Ok(());
        }
        if !t.user_logged_in {
            return Err(Ck(CKR_USER_NOT_LOGGED_IN));
        }
        t.user_logged_in = false;
        Ok(t.card.logout()?)
    })
}

/// Forgets a PUK the card did not check at login once the card rejects it, so the
/// module never sends a wrong PUK twice by itself.
fn drop_rejected_puk<T>(t: &mut Token, r: mohur_apdu::Result<T>) -> Result<T> {
    let seen = |state, left| PinStatus { kind: PinKind::Puk, state, tries_left: Some(left), max_tries: None };
    match &r {
        Err(mohur_apdu::Error::WrongPuk { tries_left } | mohur_apdu::Error::WrongPin { tries_left }) => {
            t.so_puk = None;
            t.puk_seen = Some(seen(PinState::Ready, *tries_left));
            // The card had at least one more try before this wrong PUK.
            t.most_tries_seen[1] = t.most_tries_seen[1].max(tries_left.saturating_add(1));
        }
        Err(mohur_apdu::Error::PukBlocked | mohur_apdu::Error::PinBlocked) => {
            t.so_puk = None;
            t.puk_seen = Some(seen(PinState::Blocked, 0));
        }
        Err(_) => {}
        // The card took the PUK: its tries are back.
        Ok(_) => t.puk_seen = None,
    }
    t.pin_flags = None;
    Ok(r?)
}

/// C_InitPIN (PKCS#11 v2.40 §5.5) in an SO session: sets the user PIN with the PUK
/// (RESET RETRY COUNTER), which also unblocks or activates it. The PUK is sent once.
pub fn init_pin(h: CK_SESSION_HANDLE, new_pin: Pin) -> Result<()> {
    with_session(h, |s, _, st| {
        if s.flags & CKF_RW_SESSION == 0 {
            return Err(Ck(CKR_SESSION_READ_ONLY));
        }
        let t = token(st);
        t.pin_flags = None;
        let puk = t.so_puk.clone().ok_or(Ck(CKR_USER_NOT_LOGGED_IN))?;
        let r = t.card.unblock_pin(PinKind::Auth, &puk, &new_pin);
        drop_rejected_puk(t, r)
    })
}

/// C_SetPIN (PKCS#11 v2.40 §5.5), in read/write sessions only: the SO changes the
/// PUK, anyone else the user PIN (CHANGE REFERENCE DATA, the old value sent once).
pub fn set_pin(h: CK_SESSION_HANDLE, old: Pin, new: Pin) -> Result<()> {
    with_session(h, |s, _, st| {
        if s.flags & CKF_RW_SESSION == 0 {
            return Err(Ck(CKR_SESSION_READ_ONLY));
        }
        let t = token(st);
        t.pin_flags = None;
        if t.so_puk.is_none() {
            // OpenSC's convention (`pkcs11-tool --unlock-pin`): C_SetPIN(PUK, new PIN)
            // while the user PIN is blocked unblocks it with the PUK — one RESET
            // RETRY COUNTER, so a wrong PUK costs exactly one PUK try.
            if !t.user_logged_in && t.card.pin_status(PinKind::Auth)?.state == mohur_apdu::PinState::Blocked {
                return Ok(t.card.unblock_pin(PinKind::Auth, &old, &new)?);
            }
            return Ok(t.card.change_pin(PinKind::Auth, &old, &new)?);
        }
        let r = t.card.change_pin(PinKind::Puk, &old, &new);
        drop_rejected_puk(t, r)?;
        t.so_puk = Some(new);
        Ok(())
    })
}

fn object(t: &Token, handle: CK_OBJECT_HANDLE) -> Result<&Object> {
    let o = (handle as usize).checked_sub(1).and_then(|i| t.objects.get(i)).ok_or(Ck(CKR_OBJECT_HANDLE_INVALID))?;
    if o.is_private() && !t.user_logged_in {
        return Err(Ck(CKR_OBJECT_HANDLE_INVALID));
    }
    Ok(o)
}

/// C_GetAttributeValue (PKCS#11 v2.40 §5.7): the values of `types`, `None` for
/// attributes the object does not have.
pub fn attributes(
    h: CK_SESSION_HANDLE,
    handle: CK_OBJECT_HANDLE,
    types: &[CK_ATTRIBUTE_TYPE],
) -> Result<Vec<Option<Vec<u8>>>> {
    with_session(h, |_, _, st| {
        let o = object(token(st), handle)?;
        Ok(types.iter().map(|t| o.attr(*t).map(<[u8]>::to_vec)).collect())
    })
}

/// C_FindObjectsInit (PKCS#11 v2.40 §5.7).
pub fn find_init(h: CK_SESSION_HANDLE, template: &[(CK_ATTRIBUTE_TYPE, Vec<u8>)]) -> Result<()> {
    with_session(h, |_, s, st| {
        if s.find.is_some() {
            return Err(Ck(CKR_OPERATION_ACTIVE));
        }
        let t = token(st);
        let found = (1..=t.objects.len() as CK_OBJECT_HANDLE)
            .filter(|h| object(t, *h).is_ok_and(|o| o.matches(template)))
            .rev()
            .collect();
        s.find = Some(found);
        Ok(())
    })
}

/// C_FindObjects (PKCS#11 v2.40 §5.7): up to `max` more handles.
pub fn find(h: CK_SESSION_HANDLE, max: usize) -> Result<Vec<CK_OBJECT_HANDLE>> {
    with_session(h, |_, s, _| {
        let left = s.find.as_mut().ok_or(Ck(CKR_OPERATION_NOT_INITIALIZED))?;
        let n = max.min(left.len());
        Ok((0..n).filter_map(|_| left.pop()).collect())
    })
}

/// C_FindObjectsFinal (PKCS#11 v2.40 §5.7).
pub fn find_final(h: CK_SESSION_HANDLE) -> Result<()> {
    with_session(h, |_, s, _| s.find.take().map(|_| ()).ok_or(Ck(CKR_OPERATION_NOT_INITIALIZED)))
}

/// Modulus length in bits from `CKA_MODULUS` (0 for EC keys).
fn modulus_bits(o: &Object) -> usize {
    let n = o.attr(CKA_MODULUS).unwrap_or_default();
    let n = &n[n.iter().take_while(|b| **b == 0).count()..];
    n.first().map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize)
}

/// C_SignInit (PKCS#11 v2.40 §5.11) for the mechanisms of [`mechanisms::ALL`]; the
/// RSA-PSS ones need `pss` (their `CK_RSA_PKCS_PSS_PARAMS`) and a card that signs
/// raw RSA blocks.
pub fn sign_init(
    h: CK_SESSION_HANDLE,
    mechanism: CK_MECHANISM_TYPE,
    pss: Option<CK_RSA_PKCS_PSS_PARAMS>,
    key: CK_OBJECT_HANDLE,
) -> Result<()> {
    with_session(h, |_, s, st| {
        if s.sign.is_some() {
            return Err(Ck(CKR_OPERATION_ACTIVE));
        }
        let t = token(st);
        if !t.user_logged_in {
            return Err(Ck(CKR_USER_NOT_LOGGED_IN));
        }
        let mech = mechanisms::describe(mechanism).ok_or(Ck(CKR_MECHANISM_INVALID))?;
        if mech.pss && !t.card.supports_raw_rsa() {
            return Err(Ck(CKR_MECHANISM_INVALID));
        }
        let o = object(t, key)?;
        if o.kind != Kind::PrivateKey || mech.rsa == o.alg.is_ec() {
            return Err(Ck(CKR_KEY_TYPE_INCONSISTENT));
        }
        let mod_bits = modulus_bits(o);
        let pss = match (mech.pss, pss) {
            (false, _) => None,
            (true, None) => return Err(Ck(CKR_MECHANISM_PARAM_INVALID)),
            (true, Some(p)) => Some(Pss::new(&p, &mech, mod_bits)?),
        };
        let input = match mech.hash {
            Some(alg) => Input::Hash(Box::new(Hasher::new(alg)?)),
            None => Input::Data(Vec::new()),
        };
        s.sign = Some(SignOp {
            mech,
            key_id: o.key_id,
            alg: o.alg,
            mod_bits,
            pss,
            always_authenticate: o.always_authenticate,
            context_pin: None,
            input,
            multi_part: false,
        });
        Ok(())
    })
}

/// Length of the signature of the active operation (RSA: modulus; ECDSA: `r ‖ s`).
pub fn sign_len(h: CK_SESSION_HANDLE) -> Result<usize> {
    with_session(h, |_, s, _| {
        let op = s.sign.as_ref().ok_or(Ck(CKR_OPERATION_NOT_INITIALIZED))?;
        Ok(if op.alg.is_ec() { 2 * op.alg.field_len() } else { op.alg.field_len() })
    })
}

/// Adds `data` to the operation's input.
fn absorb(op: &mut SignOp, data: &[u8]) -> Result<()> {
    match &mut op.input {
        Input::Hash(h) => h.update(data),
        Input::Data(d) if d.len() + data.len() > MAX_UNHASHED => return Err(Ck(CKR_DATA_LEN_RANGE)),
        Input::Data(d) => d.extend_from_slice(data),
    }
    Ok(())
}

/// What the card signs for `op`: a digest (PKCS#1 v1.5 DigestInfo or ECDSA hash),
/// the collected data, or an EMSA-PSS block (RFC 8017 §9.1.1) with a fresh salt.
fn sign_input(op: &mut SignOp) -> Result<SignInput> {
    let (value, hashed) = match std::mem::replace(&mut op.input, Input::Data(Vec::new())) {
        Input::Hash(h) => ((*h).finish(), true),
        Input::Data(d) => (d, false),
    };
    if let Some(pss) = &op.pss {
        let salt = mechanisms::random(pss.salt_len)?;
        return Ok(SignInput::RsaRawBlock(mechanisms::pss_encode(pss, &value, &salt, op.mod_bits)?));
    }
    Ok(match op.mech.hash {
        Some(alg) if hashed => SignInput::Digest { alg, digest: value },
        _ if !op.mech.rsa && value.is_empty() => return Err(Ck(CKR_DATA_LEN_RANGE)),
        _ => SignInput::Raw(value),
    })
}

/// Signs on the card. The context PIN is dropped (and wiped) with `op` at the end.
fn finish(mut op: SignOp, card: &mut dyn SmartCard) -> Result<Vec<u8>> {
    if op.always_authenticate && op.context_pin.is_none() {
        return Err(Ck(CKR_USER_NOT_LOGGED_IN));
    }
    let input = sign_input(&mut op)?;
    Ok(card.sign(op.key_id, &input, op.context_pin.as_ref())?)
}

/// C_Sign (PKCS#11 v2.40 §5.11), single part: ends the operation, successful or not
/// (refused without ending it after C_SignUpdate).
pub fn sign(h: CK_SESSION_HANDLE, data: &[u8]) -> Result<Vec<u8>> {
    with_session(h, |_, s, st| {
        if s.sign.as_ref().ok_or(Ck(CKR_OPERATION_NOT_INITIALIZED))?.multi_part {
            return Err(Ck(CKR_OPERATION_ACTIVE));
        }
        let mut op = s.sign.take().ok_or(Ck(CKR_OPERATION_NOT_INITIALIZED))?;
        absorb(&mut op, data)?;
        finish(op, token(st).card.as_mut())
    })
}

/// C_SignUpdate (PKCS#11 v2.40 §5.11): hashes the part, or collects it for the
/// mechanisms without hashing; an error ends the operation.
pub fn sign_update(h: CK_SESSION_HANDLE, part: &[u8]) -> Result<()> {
    with_session(h, |_, s, _| {
        let op = s.sign.as_mut().ok_or(Ck(CKR_OPERATION_NOT_INITIALIZED))?;
        op.multi_part = true;
        let r = absorb(op, part);
        if r.is_err() {
            s.sign = None;
        }
        r
    })
}

/// C_SignFinal (PKCS#11 v2.40 §5.11): signs what C_SignUpdate collected and ends
/// the operation.
pub fn sign_final(h: CK_SESSION_HANDLE) -> Result<Vec<u8>> {
    with_session(h, |_, s, st| {
        let op = s.sign.take().ok_or(Ck(CKR_OPERATION_NOT_INITIALIZED))?;
        finish(op, token(st).card.as_mut())
    })
}
