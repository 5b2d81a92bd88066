//! Slots, tokens, sessions, login and signing: the state behind the entry points,
//! in safe Rust. Each function documents the PKCS#11 v2.40 section it implements.
//!
//! Locking: the module state is one [`Mutex`] held only to look things up; each
//! session and each slot's card has its own [`Mutex`] (order: session, then slot), so
//! card I/O on one reader never blocks another.

use crate::backend::{Backend, PcscBackend};
use crate::error::{Ck, Result};
use crate::objects::{key_objects, Kind, Object};
use cryptoki_sys::*;
use mohur_apdu::{HashAlg, KeyAlgorithm, Pin, PinKind, PinState, SignInput, SmartCard};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The mechanisms this module signs with.
pub const MECHANISMS: [CK_MECHANISM_TYPE; 4] = [CKM_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_ECDSA, CKM_ECDSA_SHA256];

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
            let token = load_token(self.backend.open(&self.reader).map_err(|e| match e {
                mohur_apdu::Error::UnsupportedCard { .. } => Ck(CKR_TOKEN_NOT_RECOGNIZED),
                e => Ck::from(e),
            })?)?;
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

fn load_token(mut card: Box<dyn SmartCard>) -> Result<Token> {
    let profile = card.profile();
    let serial = card.serial()?;
    let holder = card.holder()?;
    let label = holder.common_name.unwrap_or_else(|| format!("mohur {profile}"));
    let mut objects = Vec::new();
    for key in card.keys().to_vec() {
        let der = match card.certificate(key.id) {
            Ok(der) => der,
            Err(mohur_apdu::Error::FileNotFound) => continue,
            Err(e) => return Err(e.into()),
        };
        let alg = card.key_algorithm(key.id)?;
        objects.extend(key_objects(profile, &key, alg, &der)?);
    }
    tracing::debug!(%label, %serial, objects = objects.len(), "token loaded");
    Ok(Token { card, label, serial, objects, user_logged_in: false })
}

struct SignOp {
    mechanism: CK_MECHANISM_TYPE,
    key_id: u8,
    alg: KeyAlgorithm,
    always_authenticate: bool,
    /// PIN of C_Login(CKU_CONTEXT_SPECIFIC), for the next signature only.
    context_pin: Option<Pin>,
}

struct Session {
    slot: Arc<Slot>,
    generation: u64,
    flags: CK_FLAGS,
    find: Option<Vec<CK_OBJECT_HANDLE>>,
    sign: Option<SignOp>,
}

struct Module {
    backend: Arc<dyn Backend>,
    slots: HashMap<CK_SLOT_ID, Arc<Slot>>,
    sessions: HashMap<CK_SESSION_HANDLE, Arc<Mutex<Session>>>,
    next_session: CK_SESSION_HANDLE,
}

static STATE: Mutex<Option<Module>> = Mutex::new(None);

/// Slot ids by reader name: kept across C_Finalize so a reader keeps its id for the
/// life of the process.
static SLOT_IDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn slot_id(reader: &str) -> CK_SLOT_ID {
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

/// C_Finalize (PKCS#11 v2.40 §5.4): closes every session and forgets every token.
pub fn finalize() -> Result<()> {
    lock(&STATE).take().map(|_| ()).ok_or(Ck(CKR_CRYPTOKI_NOT_INITIALIZED))
}

/// C_GetSlotList (PKCS#11 v2.40 §5.5): one slot per PC/SC reader; with
/// `token_present`, only readers holding a card.
pub fn slot_list(token_present: bool) -> Result<Vec<CK_SLOT_ID>> {
    let backend = with_module(|m| Ok(m.backend.clone()))?;
    let readers = backend.readers()?;
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

/// Token flags from the user PIN's retry counter (PKCS#11 v2.40 §5.5, CK_TOKEN_INFO).
fn pin_flags(card: &mut dyn SmartCard) -> Result<CK_FLAGS> {
    let status = card.pin_status(PinKind::Auth)?;
    let mut flags = 0;
    match status.state {
        PinState::Blocked => flags |= CKF_USER_PIN_LOCKED,
        PinState::NotActivated => flags |= CKF_USER_PIN_TO_BE_CHANGED,
        _ => {}
    }
    if let Some(left) = status.tries_left.filter(|_| status.state != PinState::Blocked) {
        if left < status.max_tries.unwrap_or(10) {
            flags |= CKF_USER_PIN_COUNT_LOW;
        }
        if left == 1 {
            flags |= CKF_USER_PIN_FINAL_TRY;
        }
    }
    Ok(flags)
}

/// C_GetTokenInfo (PKCS#11 v2.40 §5.5): label = holder's common name, serial from
/// the card, PIN flags read live from the card.
pub fn token_info(id: CK_SLOT_ID) -> Result<CK_TOKEN_INFO> {
    let slot = slot(id)?;
    let sessions = with_module(|m| {
        Ok(m.sessions.values().map(|s| lock(s)).filter(|s| s.slot.id == id).map(|s| s.flags).collect::<Vec<_>>())
    })?;
    let mut st = lock(&slot.state);
    let r = (|| {
        let token = slot.token(&mut st)?;
        let pin = pin_flags(token.card.as_mut())?;
        let profile = token.card.profile();
        Ok(CK_TOKEN_INFO {
            label: padded(&token.label),
            manufacturerID: padded("mohur"),
            model: padded(&profile.to_string()),
            serialNumber: padded(&token.serial[token.serial.len().saturating_sub(16)..]),
            flags: CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED | CKF_WRITE_PROTECTED | pin,
            ulMaxSessionCount: CK_EFFECTIVELY_INFINITE,
            ulSessionCount: sessions.len() as CK_ULONG,
            ulMaxRwSessionCount: CK_EFFECTIVELY_INFINITE,
            ulRwSessionCount: sessions.iter().filter(|f| *f & CKF_RW_SESSION != 0).count() as CK_ULONG,
            ulMaxPinLen: 12,
            ulMinPinLen: 4,
            ulTotalPublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulTotalPrivateMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePrivateMemory: CK_UNAVAILABLE_INFORMATION,
            hardwareVersion: CK_VERSION { major: 0, minor: 0 },
            firmwareVersion: CK_VERSION { major: 0, minor: 0 },
            utcTime: [b' '; 16],
        })
    })();
    slot.check(&mut st, r)
}

/// C_GetMechanismList (PKCS#11 v2.40 §5.5).
pub fn mechanism_list(id: CK_SLOT_ID) -> Result<Vec<CK_MECHANISM_TYPE>> {
    slot(id)?;
    Ok(MECHANISMS.to_vec())
}

/// C_GetMechanismInfo (PKCS#11 v2.40 §5.5): key sizes in bits (RSA modulus, EC field).
pub fn mechanism_info(id: CK_SLOT_ID, mechanism: CK_MECHANISM_TYPE) -> Result<CK_MECHANISM_INFO> {
    slot(id)?;
    let (min, max) = match mechanism {
        CKM_RSA_PKCS | CKM_SHA256_RSA_PKCS => (1024, 4096),
        CKM_ECDSA | CKM_ECDSA_SHA256 => (256, 384),
        _ => return Err(Ck(CKR_MECHANISM_INVALID)),
    };
    Ok(CK_MECHANISM_INFO { ulMinKeySize: min, ulMaxKeySize: max, flags: CKF_HW | CKF_SIGN })
}

/// C_OpenSession (PKCS#11 v2.40 §5.6): no callbacks.
pub fn open_session(id: CK_SLOT_ID, flags: CK_FLAGS) -> Result<CK_SESSION_HANDLE> {
    if flags & CKF_SERIAL_SESSION == 0 {
        return Err(Ck(CKR_SESSION_PARALLEL_NOT_SUPPORTED));
    }
    let slot = slot(id)?;
    let generation = {
        let mut st = lock(&slot.state);
        let r = slot.token(&mut st).map(|_| ());
        slot.check(&mut st, r)?;
        st.generation
    };
    with_module(|m| {
        let h = m.next_session;
        m.next_session += 1;
        let session = Session { slot, generation, flags, find: None, sign: None };
        m.sessions.insert(h, Arc::new(Mutex::new(session)));
        Ok(h)
    })
}

/// Logs out of a token whose last session closed (PKCS#11 v2.40 §5.6, C_CloseSession).
fn logout_if_unused(m: &Module, slot: &Slot) {
    if !m.sessions.values().any(|s| lock(s).slot.id == slot.id) {
        if let Some(t) = lock(&slot.state).token.as_mut() {
            t.user_logged_in = false;
        }
    }
}

/// C_CloseSession (PKCS#11 v2.40 §5.6).
pub fn close_session(h: CK_SESSION_HANDLE) -> Result<()> {
    with_module(|m| {
        let s = m.sessions.remove(&h).ok_or(Ck(CKR_SESSION_HANDLE_INVALID))?;
        let slot = lock(&s).slot.clone();
        logout_if_unused(m, &slot);
        Ok(())
    })
}

/// C_CloseAllSessions (PKCS#11 v2.40 §5.6).
pub fn close_all_sessions(id: CK_SLOT_ID) -> Result<()> {
    let slot = slot(id)?;
    with_module(|m| {
        m.sessions.retain(|_, s| lock(s).slot.id != id);
        logout_if_unused(m, &slot);
        Ok(())
    })
}

/// Runs `f` on a live session and its slot's state.
fn with_session<R>(h: CK_SESSION_HANDLE, f: impl FnOnce(&mut Session, &mut SlotState) -> Result<R>) -> Result<R> {
    let session = with_module(|m| m.sessions.get(&h).cloned().ok_or(Ck(CKR_SESSION_HANDLE_INVALID)))?;
    let mut s = lock(&session);
    let slot = s.slot.clone();
    let mut st = lock(&slot.state);
    if st.generation != s.generation || st.token.is_none() {
        drop(st);
        drop(s);
        with_module(|m| Ok(m.sessions.remove(&h)))?;
        return Err(Ck(CKR_SESSION_HANDLE_INVALID));
    }
    let r = f(&mut s, &mut st);
    slot.check(&mut st, r)
}

fn token(st: &mut SlotState) -> &mut Token {
    st.token.as_mut().expect("with_session checked the token")
}

/// C_GetSessionInfo (PKCS#11 v2.40 §5.6).
pub fn session_info(h: CK_SESSION_HANDLE) -> Result<CK_SESSION_INFO> {
    with_session(h, |s, st| {
        let rw = s.flags & CKF_RW_SESSION != 0;
        let state = match (token(st).user_logged_in, rw) {
            (false, false) => CKS_RO_PUBLIC_SESSION,
            (false, true) => CKS_RW_PUBLIC_SESSION,
            (true, false) => CKS_RO_USER_FUNCTIONS,
            (true, true) => CKS_RW_USER_FUNCTIONS,
        };
        Ok(CK_SESSION_INFO { slotID: s.slot.id, state, flags: s.flags, ulDeviceError: 0 })
    })
}

/// C_Login (PKCS#11 v2.40 §5.6). `CKU_USER` verifies the PIN once on the card (never
/// retried); `CKU_CONTEXT_SPECIFIC` keeps the PIN for the next signature of an
/// always-authenticate key, which verifies it right before signing.
pub fn login(h: CK_SESSION_HANDLE, user: CK_USER_TYPE, pin: Pin) -> Result<()> {
    with_session(h, |s, st| match user {
        CKU_USER => {
            let t = token(st);
            if t.user_logged_in {
                return Err(Ck(CKR_USER_ALREADY_LOGGED_IN));
            }
            t.card.verify_pin(PinKind::Auth, &pin)?;
            t.user_logged_in = true;
            Ok(())
        }
        CKU_CONTEXT_SPECIFIC => {
            let op = s.sign.as_mut().ok_or(Ck(CKR_OPERATION_NOT_INITIALIZED))?;
            if pin.is_empty() {
                return Err(Ck(CKR_PIN_LEN_RANGE));
            }
            op.context_pin = Some(pin);
            Ok(())
        }
        CKU_SO => Err(Ck(CKR_USER_TYPE_INVALID)),
        _ => Err(Ck(CKR_USER_TYPE_INVALID)),
    })
}

/// C_Logout (PKCS#11 v2.40 §5.6).
pub fn logout(h: CK_SESSION_HANDLE) -> Result<()> {
    with_session(h, |s, st| {
        let t = token(st);
        if !t.user_logged_in {
            return Err(Ck(CKR_USER_NOT_LOGGED_IN));
        }
        t.user_logged_in = false;
        s.sign = None;
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
    with_session(h, |_, st| {
        let o = object(token(st), handle)?;
        Ok(types.iter().map(|t| o.attr(*t).map(<[u8]>::to_vec)).collect())
    })
}

/// C_FindObjectsInit (PKCS#11 v2.40 §5.7).
pub fn find_init(h: CK_SESSION_HANDLE, template: &[(CK_ATTRIBUTE_TYPE, Vec<u8>)]) -> Result<()> {
    with_session(h, |s, st| {
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
    with_session(h, |s, _| {
        let left = s.find.as_mut().ok_or(Ck(CKR_OPERATION_NOT_INITIALIZED))?;
        let n = max.min(left.len());
        Ok((0..n).filter_map(|_| left.pop()).collect())
    })
}

/// C_FindObjectsFinal (PKCS#11 v2.40 §5.7).
pub fn find_final(h: CK_SESSION_HANDLE) -> Result<()> {
    with_session(h, |s, _| s.find.take().map(|_| ()).ok_or(Ck(CKR_OPERATION_NOT_INITIALIZED)))
}

/// C_SignInit (PKCS#11 v2.40 §5.11) for the mechanisms of [`MECHANISMS`].
pub fn sign_init(h: CK_SESSION_HANDLE, mechanism: CK_MECHANISM_TYPE, key: CK_OBJECT_HANDLE) -> Result<()> {
    with_session(h, |s, st| {
        if s.sign.is_some() {
            return Err(Ck(CKR_OPERATION_ACTIVE));
        }
        let t = token(st);
        if !t.user_logged_in {
            return Err(Ck(CKR_USER_NOT_LOGGED_IN));
        }
        let o = object(t, key)?;
        if o.kind != Kind::PrivateKey {
            return Err(Ck(CKR_KEY_TYPE_INCONSISTENT));
        }
        let fits = match mechanism {
            CKM_RSA_PKCS | CKM_SHA256_RSA_PKCS => !o.alg.is_ec(),
            CKM_ECDSA | CKM_ECDSA_SHA256 => o.alg.is_ec(),
            _ => return Err(Ck(CKR_MECHANISM_INVALID)),
        };
        if !fits {
            return Err(Ck(CKR_KEY_TYPE_INCONSISTENT));
        }
        s.sign = Some(SignOp {
            mechanism,
            key_id: o.key_id,
            alg: o.alg,
            always_authenticate: o.always_authenticate,
            context_pin: None,
        });
        Ok(())
    })
}

/// Length of the signature of the active operation (RSA: modulus; ECDSA: `r ‖ s`).
pub fn sign_len(h: CK_SESSION_HANDLE) -> Result<usize> {
    with_session(h, |s, _| {
        let op = s.sign.as_ref().ok_or(Ck(CKR_OPERATION_NOT_INITIALIZED))?;
        Ok(if op.alg.is_ec() { 2 * op.alg.field_len() } else { op.alg.field_len() })
    })
}

/// C_Sign (PKCS#11 v2.40 §5.11), single part: ends the operation, successful or not.
pub fn sign(h: CK_SESSION_HANDLE, data: &[u8]) -> Result<Vec<u8>> {
    with_session(h, |s, st| {
        let op = s.sign.take().ok_or(Ck(CKR_OPERATION_NOT_INITIALIZED))?;
        let input = match op.mechanism {
            CKM_SHA256_RSA_PKCS | CKM_ECDSA_SHA256 => {
                SignInput::Digest { alg: HashAlg::Sha256, digest: Sha256::digest(data).to_vec() }
            }
            CKM_ECDSA if data.is_empty() => return Err(Ck(CKR_DATA_LEN_RANGE)),
            _ => SignInput::Raw(data.to_vec()),
        };
        if op.always_authenticate && op.context_pin.is_none() {
            return Err(Ck(CKR_USER_NOT_LOGGED_IN));
        }
        // The context PIN is dropped (and wiped) with `op` at the end of this call.
        Ok(token(st).card.sign(op.key_id, &input, op.context_pin.as_ref())?)
    })
}
