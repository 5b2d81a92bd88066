//! The tokens present right now: cards as PC/SC reports them (inserted, removed,
//! pcscd restarted), PKCS#11 tokens, and the demo's simulated card. Operations on one
//! token are serialised by its lock; different tokens work in parallel.

use crate::tokens::card::CardToken;
use crate::tokens::{Token, TokenInfo, TokenKind};
use crate::{Error, Result};
use mohur_apdu::events::{ReaderEvent, ReaderMonitor};
use mohur_apdu::pcsc_transport::PcscTransport;
use mohur_apdu::KeyPurpose;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// One token and its lock.
pub struct TokenSlot {
    /// Stable id for the protocol (`card:<profile>:<serial>`, `pkcs11:<serial>`).
    pub id: String,
    /// The reader it sits in (cards).
    pub reader: Option<String>,
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
    pub fn add(&self, mut token: Box<dyn Token>, reader: Option<String>) -> Result<Arc<TokenSlot>> {
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
        let slot =
            Arc::new(TokenSlot { id: id.clone(), reader, info: Mutex::new(info.clone()), token: Mutex::new(token) });
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

fn open_card(reader: &str) -> Result<CardToken> {
    let transport = PcscTransport::connect(reader)?;
    let card = mohur_apdu::open(Box::new(transport))?;
    Ok(CardToken::new(card, reader))
}
