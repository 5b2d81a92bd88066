//! The tokens present right now: cards as PC/SC reports them (inserted, removed,
//! pcscd restarted), PKCS#11 tokens, and the demo's simulated card. Operations on one
//! token are serialised by its lock; different tokens work in parallel.

use crate::tokens::card::CardToken;
use crate::tokens::pkcs11::Pkcs11Module;
use crate::tokens::retry_counter::RetryCounter;
use crate::tokens::{Token, TokenInfo, TokenKind};
use crate::{Error, Result};
use mohur_apdu::events::{ReaderEvent, ReaderMonitor};
use mohur_apdu::pcsc_transport::PcscTransport;
use mohur_apdu::KeyPurpose;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often PKCS#11 slots are listed for tokens plugged in or pulled out.
pub const PKCS11_POLL: Duration = Duration::from_secs(2);
use tokio::sync::broadcast;

/// One token and its lock.
pub struct TokenSlot {
    /// Stable id for the protocol (`card:<profile>:<serial>`, `pkcs11:<serial>`).
    pub id: String,
    /// The reader it sits in (cards).
    pub reader: Option<String>,
    /// `module path|token serial` (PKCS#11 tokens).
    pub pkcs11: Option<String>,
    info: Mutex<TokenInfo>,
    token: Mutex<Box<dyn Token>>,
}

impl TokenSlot {
    /// Runs `f` with the token locked: one operation at a time per token.
    pub fn with<T>(&self, f: impl FnOnce(&mut dyn Token) -> Result<T>) -> Result<T> {
        let mut token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        f(token.as_mut())
    }

    /// The last info read (refreshed by [`TokenSlot::refresh`]).
    pub fn info(&self) -> TokenInfo {
        self.info.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Re-reads the token's info (PIN counters change with every PIN entry).
    pub fn refresh(&self) -> Result<TokenInfo> {
        let info = self.with(|t| t.info())?;
        *self.info.lock().unwrap_or_else(|e| e.into_inner()) = info.clone();
        Ok(info)
    }

    /// True if the token has a key for `purpose`.
    pub fn has(&self, purpose: KeyPurpose) -> bool {
        self.info().keys.iter().any(|k| k.purpose == purpose)
    }
}

/// A change in the set of tokens.
#[derive(Debug, Clone)]
pub enum TokenEvent {
    /// A token became available.
    Inserted(Arc<TokenInfo>, String),
    /// The token with this id went away.
    Removed(String),
}

/// The set of tokens.
pub struct TokenManager {
    tokens: Mutex<Vec<Arc<TokenSlot>>>,
    events: broadcast::Sender<TokenEvent>,
}

impl TokenManager {
    /// An empty manager.
    pub fn new() -> Arc<TokenManager> {
        let (events, _) = broadcast::channel(64);
        Arc::new(TokenManager { tokens: Mutex::new(Vec::new()), events })
    }

    /// Token events for a connection.
    pub fn subscribe(&self) -> broadcast::Receiver<TokenEvent> {
        self.events.subscribe()
    }

    /// Adds a token: reads its info (no PIN), gives it an id, announces it.
    pub fn add(&self, token: Box<dyn Token>, reader: Option<String>) -> Result<Arc<TokenSlot>> {
        self.insert(token, reader, None)
    }

    fn insert(
        &self,
        mut token: Box<dyn Token>,
        reader: Option<String>,
        pkcs11: Option<String>,
    ) -> Result<Arc<TokenSlot>> {
        let info = token.info()?;
        let base = match &info.kind {
            TokenKind::Card { profile, .. } => format!("card:{profile}:{}", info.serial),
            TokenKind::Pkcs11 { .. } => format!("pkcs11:{}", info.serial),
        };
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let mut id = base.clone();
        let mut n = 2;
        while tokens.iter().any(|t| t.id == id) {
            id = format!("{base}#{n}");
            n += 1;
        }
        let slot = Arc::new(TokenSlot {
            id: id.clone(),
            reader,
            pkcs11,
            info: Mutex::new(info.clone()),
            token: Mutex::new(token),
        });
        tokens.push(slot.clone());
        drop(tokens);
        tracing::info!(token = %id, holder = %info.holder, "token available");
        let _ = self.events.send(TokenEvent::Inserted(Arc::new(info), id));
        Ok(slot)
    }

    /// Removes the tokens for which `gone` is true, announcing each.
    pub fn remove_where(&self, gone: impl Fn(&TokenSlot) -> bool) {
        let removed: Vec<String> = {
            let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
            let (gone_now, keep): (Vec<_>, Vec<_>) = tokens.drain(..).partition(|t| gone(t));
            *tokens = keep;
            gone_now.into_iter().map(|t| t.id.clone()).collect()
        };
        for id in removed {
            tracing::info!(token = %id, "token removed");
            let _ = self.events.send(TokenEvent::Removed(id));
        }
    }

    /// All tokens, in the order they came.
    pub fn list(&self) -> Vec<Arc<TokenSlot>> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The token `id`, or the first one with a key for `purpose`.
    pub fn find(&self, id: Option<&str>, purpose: Option<KeyPurpose>) -> Result<Arc<TokenSlot>> {
        let tokens = self.list();
        let found = match id {
            Some(id) => tokens.into_iter().find(|t| t.id == id),
            None => tokens.into_iter().find(|t| purpose.is_none_or(|p| t.has(p))),
        };
        let slot = found.ok_or(Error::NoToken)?;
        if let Some(p) = purpose {
            if !slot.has(p) {
                return Err(Error::NoToken);
            }
        }
        Ok(slot)
    }

    /// Watches vendor PKCS#11 modules in a background thread: every module is loaded
    /// once, and its slots are listed every [`PKCS11_POLL`] (no module we know of
    /// wakes `C_WaitForSlotEvent` reliably for hot-plugged USB tokens). A module that
    /// does not load is reported once and left alone.
    pub fn watch_pkcs11(self: &Arc<Self>, modules: Vec<PathBuf>, counter: RetryCounter) {
        let loaded: Vec<Pkcs11Module> = modules
            .iter()
            .filter_map(|p| match Pkcs11Module::open(p) {
                Ok(m) => Some(m),
                Err(e) => {
                    tracing::warn!(module = %p.display(), error = %e, "PKCS#11 module not loaded");
                    None
                }
            })
            .collect();
        if loaded.is_empty() {
            return;
        }
        // The first look is synchronous: tokens plugged in before the agent started are
        // there when it says it is ready.
        self.poll_pkcs11(&loaded, &counter);
        let manager = Arc::downgrade(self);
        let spawned = std::thread::Builder::new().name("mohur-pkcs11-watch".into()).spawn(move || loop {
            std::thread::sleep(PKCS11_POLL);
            let Some(m) = manager.upgrade() else { return };
            m.poll_pkcs11(&loaded, &counter);
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the PKCS#11 watcher");
        }
    }

    fn poll_pkcs11(&self, modules: &[Pkcs11Module], counter: &RetryCounter) {
        for module in modules {
            let path = module.path().display().to_string();
            let tokens = match module.tokens(counter) {
                Ok(t) => t,
                Err(e) => {
                    tracing::debug!(module = %path, error = %e, "listing tokens failed");
                    continue;
                }
            };
            let keys: Vec<String> = tokens.iter().map(|t| format!("{path}|{}", t.serial())).collect();
            self.remove_where(|slot| {
                slot.pkcs11
                    .as_deref()
                    .is_some_and(|k| k.starts_with(&format!("{path}|")) && !keys.contains(&k.to_owned()))
            });
            let known: Vec<String> = self.list().iter().filter_map(|s| s.pkcs11.clone()).collect();
            for (token, key) in tokens.into_iter().zip(keys) {
                if known.contains(&key) {
                    continue;
                }
                if let Err(e) = self.insert(Box::new(token), None, Some(key)) {
                    tracing::warn!(module = %path, error = %e, "token not usable");
                }
            }
        }
    }

    /// Watches PC/SC in a background thread: a card inserted in an allowed reader
    /// becomes a token, a card removed (or pcscd gone) takes it away. When pcscd is
    /// not running or restarts, the watcher retries every second.
    pub fn watch_pcsc(self: &Arc<Self>, allowed_readers: Vec<String>) {
        let manager = Arc::downgrade(self);
        let spawned = std::thread::Builder::new().name("mohur-pcsc-watch".into()).spawn(move || {
            let mut warned = false;
            loop {
                let Some(m) = manager.upgrade() else { return };
                match ReaderMonitor::start() {
                    Ok((monitor, rx)) => {
                        warned = false;
                        for event in rx.iter() {
                            m.on_reader_event(event, &allowed_readers);
                        }
                        monitor.stop();
                        m.remove_where(|t| t.reader.is_some());
                    }
                    Err(e) if !warned => {
                        tracing::warn!(error = %e, "PC/SC is not available; retrying");
                        warned = true;
                    }
                    Err(_) => {}
                }
                drop(m);
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the PC/SC watcher");
        }
    }

    fn on_reader_event(&self, event: ReaderEvent, allowed: &[String]) {
        match event {
            ReaderEvent::CardInserted { reader, .. } => {
                if !allowed.is_empty() && !allowed.contains(&reader) {
                    return;
                }
                match open_card(&reader) {
                    Ok(token) => {
                        if let Err(e) = self.add(Box::new(token), Some(reader.clone())) {
                            tracing::warn!(%reader, error = %e, "cannot read the card");
                        }
                    }
                    Err(e) => tracing::warn!(%reader, error = %e, "card not usable"),
                }
            }
            ReaderEvent::CardRemoved { reader } | ReaderEvent::ReaderRemoved(reader) => {
                self.remove_where(|t| t.reader.as_deref() == Some(reader.as_str()));
            }
            ReaderEvent::ServiceLost(why) => {
                tracing::warn!(%why, "PC/SC service lost");
                self.remove_where(|t| t.reader.is_some());
            }
            _ => {}
        }
    }
}

/// What one synchronous look at a PC/SC reader found ([`TokenManager::scan_pcsc`]).
#[derive(Clone)]
pub struct ScannedReader {
    /// The reader's name.
    pub name: String,
    /// The card's ATR, when a card answered.
    pub atr: Option<Vec<u8>>,
    /// The token made of the card, when mohur drives it.
    pub token: Option<Arc<TokenSlot>>,
    /// Why a card that is there is not a token (unsupported, mute), for the citizen.
    pub error: Option<String>,
}

impl TokenManager {
    /// Lists the PC/SC readers once (restricted to `allowed_readers` unless empty) and
    /// adds the cards present as tokens, without a watcher thread: the command-line
    /// tools need the tokens of this moment, not a stream of events. Reading a card
    /// sends no PIN. Fails only when PC/SC itself is unavailable
    /// (`mohur_apdu::Error::NoService`).
    pub fn scan_pcsc(&self, allowed_readers: &[String]) -> Result<Vec<ScannedReader>> {
        let readers = mohur_apdu::pcsc_transport::list_readers().map_err(Error::Card)?;
        let mut out = Vec::new();
        for name in readers {
            if !allowed_readers.is_empty() && !allowed_readers.contains(&name) {
                continue;
            }
            let mut scanned = ScannedReader { name: name.clone(), atr: None, token: None, error: None };
            match PcscTransport::connect(&name) {
                Ok(transport) => {
                    scanned.atr = Some(mohur_apdu::Transport::atr(&transport).to_vec());
                    match mohur_apdu::open(Box::new(transport)) {
                        Ok(card) => match self.add(Box::new(CardToken::new(card, &name)), Some(name.clone())) {
                            Ok(slot) => scanned.token = Some(slot),
                            Err(e) => scanned.error = Some(e.to_string()),
                        },
                        Err(e) => scanned.error = Some(e.to_string()),
                    }
                }
                Err(mohur_apdu::Error::NoCard) => {}
                Err(e @ mohur_apdu::Error::NoService(_)) => return Err(Error::Card(e)),
                Err(e) => scanned.error = Some(e.to_string()),
            }
            out.push(scanned);
        }
        Ok(out)
    }

    /// Loads `modules` and adds the PKCS#11 tokens present now, once (see
    /// [`TokenManager::scan_pcsc`] for why not a watcher). A module that does not
    /// load is skipped with a warning.
    pub fn scan_pkcs11(&self, modules: &[PathBuf], counter: &RetryCounter) {
        let loaded: Vec<Pkcs11Module> = modules
            .iter()
            .filter_map(|p| {
                Pkcs11Module::open(p)
                    .map_err(|e| tracing::warn!(module = %p.display(), error = %e, "PKCS#11 module not loaded"))
                    .ok()
            })
            .collect();
        self.poll_pkcs11(&loaded, counter);
    }
}

fn open_card(reader: &str) -> Result<CardToken> {
    let transport = PcscTransport::connect(reader)?;
    let card = mohur_apdu::open(Box::new(transport))?;
    Ok(CardToken::new(card, reader))
}
