//! The tray's menu as data, computed from a [`Snapshot`] of the agent: which icon,
//! which items, which are enabled, what each does. Pure, so that every card state is
//! unit-tested without a display; [`super::ui`] only draws what this says.

use crate::tokens::{TokenInfo, TokenKind};
use crate::tr;
use mohur_apdu::{PinKind, PinState, PinStatus};

/// What PC/SC looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pcsc {
    /// The agent does not watch PC/SC (`--no-pcsc`).
    Off,
    /// No PC/SC service (pcscd not running, no smart-card service).
    Unavailable,
    /// The service is there with this many readers.
    Readers(usize),
}

/// What the tray shows, read from the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// PC/SC.
    pub pcsc: Pcsc,
    /// The tokens (`TokenSlot::id`, its info), in the order they came.
    pub tokens: Vec<(String, TokenInfo)>,
    /// Why the agent does not work, if it does not (e.g. its port is taken).
    pub error: Option<String>,
    /// Sites the citizen allowed (revocable).
    pub sites: Vec<String>,
    /// Sites the configuration allows (shown, not revocable here).
    pub configured_sites: Vec<String>,
    /// Whether the agent starts at login; `None` where the tray cannot change it.
    pub autostart: Option<bool>,
}

impl Snapshot {
    /// Nothing known yet.
    pub fn empty() -> Snapshot {
        Snapshot {
            pcsc: Pcsc::Off,
            tokens: Vec::new(),
            error: None,
            sites: Vec::new(),
            configured_sites: Vec::new(),
            autostart: None,
        }
    }
}

/// The icon's state; one picture each ([`super::icons`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IconState {
    /// No reader (or no PC/SC) and no token.
    NoReader,
    /// Readers, but no card in them and no token.
    NoCard,
    /// A token is ready to use.
    Ready,
    /// A token needs its PUK: a PIN is blocked, or the card was never activated.
    PinBlocked,
    /// The agent itself is in trouble.
    Error,
}

impl IconState {
    /// Every state.
    pub const ALL: [IconState; 5] =
        [IconState::NoReader, IconState::NoCard, IconState::Ready, IconState::PinBlocked, IconState::Error];
}

/// What a menu item does. The token is named by its `TokenSlot::id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `pin_policy::change_pin`.
    ChangePin {
        /// The token.
        token: String,
        /// Which PIN.
        kind: PinKind,
    },
    /// `pin_policy::unblock_pin` of a blocked (or forgotten) PIN.
    UnblockPin {
        /// The token.
        token: String,
        /// Which PIN.
        kind: PinKind,
    },
    /// `pin_policy::unblock_pin` of a never-activated PIN: the first use of a card.
    Activate {
        /// The token.
        token: String,
        /// Which PIN is set.
        kind: PinKind,
    },
    /// `mohur-install install --from-card` for the card in this reader: learn its CA
    /// chain, show it, install it once the citizen confirms.
    InstallCardCas {
        /// The PC/SC reader the card is in.
        reader: String,
    },
    /// `Origins::revoke`.
    RevokeSite(String),
    /// Choose a file and sign it as `mohur sign FILE` does (PAdES for a PDF, CAdES
    /// otherwise), with the first token that has a signing key.
    SignDocument,
    /// Choose a signed file (PDF, `.p7s`, `.asice`) and show what `mohur verify` finds.
    CheckSignature,
    /// The `mohur doctor` report.
    Diagnostics,
    /// Start at login on or off.
    ToggleAutostart,
    /// Stop the agent.
    Quit,
}

/// One menu entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// Text that does nothing (shown disabled).
    Label(String),
    /// An action.
    Button {
        /// Its text.
        text: String,
        /// Clickable.
        enabled: bool,
        /// What it does.
        action: Action,
    },
    /// An action with a check mark.
    Check {
        /// Its text.
        text: String,
        /// The mark.
        checked: bool,
        /// What it does.
        action: Action,
    },
    /// A submenu.
    Submenu {
        /// Its text.
        text: String,
        /// Its items.
        items: Vec<Item>,
    },
    /// A line.
    Separator,
}

/// The whole tray: icon, tooltip, menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    /// The icon.
    pub icon: IconState,
    /// The tooltip (also the first line of the menu where tooltips are not shown).
    pub tooltip: String,
    /// The items.
    pub items: Vec<Item>,
}

/// A desktop notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its title.
    pub title: String,
    /// Its text.
    pub body: String,
    /// A warning (a PIN about to block), not news.
    pub warning: bool,
}

fn is_blocked(p: &PinStatus) -> bool {
    p.state == PinState::Blocked || p.tries_left == Some(0)
}

/// True for AzeDIT, whose PIN1 and PIN2 are two secrets. PIV reports a signing PIN
/// too, but it is the same PIN as for logging in (one reference on the card).
fn two_pins(info: &TokenInfo) -> bool {
    matches!(&info.kind, TokenKind::Card { profile, .. } if profile == "AzeDIT")
}

/// The token's secrets as the citizen knows them: PIV's signing PIN, the same as its
/// PIN, is shown once.
fn shown_pins(info: &TokenInfo) -> impl Iterator<Item = &PinStatus> {
    let has_auth = info.pins.iter().any(|p| p.kind == PinKind::Auth);
    info.pins.iter().filter(move |p| two_pins(info) || !(p.kind == PinKind::Signing && has_auth))
}

/// The PINs a citizen types (not the PUK).
fn user_pins(info: &TokenInfo) -> impl Iterator<Item = &PinStatus> {
    shown_pins(info).filter(|p| p.kind != PinKind::Puk)
}

fn needs_puk(info: &TokenInfo) -> bool {
    user_pins(info).any(|p| is_blocked(p) || p.state == PinState::NotActivated)
}

/// The icon for `s`: an agent error first, then a token that needs its PUK (so that it
/// is not missed when another token is fine), then a token, then readers.
pub fn icon_state(s: &Snapshot) -> IconState {
    if s.error.is_some() {
        IconState::Error
    } else if s.tokens.iter().any(|(_, t)| needs_puk(t)) {
        IconState::PinBlocked
    } else if !s.tokens.is_empty() {
        IconState::Ready
    } else if matches!(s.pcsc, Pcsc::Readers(n) if n > 0) {
        IconState::NoCard
    } else {
        IconState::NoReader
    }
}

/// The name the citizen knows a PIN by on this token: AzeDIT has PIN1 and PIN2, PIV
/// one PIN, a PKCS#11 token a user PIN and a security officer PIN in place of the PUK.
pub fn secret_name(info: &TokenInfo, kind: PinKind) -> String {
    let pkcs11 = matches!(info.kind, TokenKind::Pkcs11 { .. });
    let two_pins = two_pins(info);
    match kind {
        PinKind::Puk if pkcs11 => tr!("tray-secret-so-pin"),
        PinKind::Puk => tr!("tray-secret-puk"),
        PinKind::Auth if two_pins => tr!("tray-secret-pin1"),
        PinKind::Signing if two_pins => tr!("tray-secret-pin2"),
        _ => tr!("tray-secret-pin"),
    }
}

fn pin_line(info: &TokenInfo, p: &PinStatus) -> String {
    let secret = secret_name(info, p.kind);
    if is_blocked(p) {
        tr!("tray-pin-blocked", secret = secret)
    } else if p.state == PinState::NotActivated {
        tr!("tray-pin-not-activated", secret = secret)
    } else if p.tries_left == Some(1) {
        tr!("tray-pin-last-try", secret = secret)
    } else if let Some(n) = p.tries_left {
        tr!("tray-pin-tries", secret = secret, n = n)
    } else {
        tr!("tray-pin-ready", secret = secret)
    }
}

fn token_title(info: &TokenInfo) -> String {
    let what = match &info.kind {
        TokenKind::Card { profile, .. } => profile.clone(),
        TokenKind::Pkcs11 { .. } => tr!("tray-usb-token"),
    };
    let holder = if info.holder.is_empty() { tr!("tray-unknown-holder") } else { info.holder.clone() };
    tr!("tray-token", holder = holder, what = what)
}

/// A token's lines: its PINs' counters, then what can be done with them.
fn token_items(id: &str, info: &TokenInfo) -> Vec<Item> {
    let mut items = pin_items(id, info);
    // A card in a real reader (not the demo's simulated one) can teach its CAs.
    if let TokenKind::Card { reader, .. } = &info.kind {
        if reader != "simulated" {
            items.push(Item::Button {
                text: tr!("tray-install-cas"),
                enabled: true,
                action: Action::InstallCardCas { reader: reader.clone() },
            });
        }
    }
    items
}

/// A token's PIN lines and PIN actions.
fn pin_items(id: &str, info: &TokenInfo) -> Vec<Item> {
    let mut items: Vec<Item> = shown_pins(info).map(|p| Item::Label(pin_line(info, p))).collect();
    let puk_usable = info.pins.iter().any(|p| p.kind == PinKind::Puk && !is_blocked(p));
    let puk = secret_name(info, PinKind::Puk);
    let several = user_pins(info).count() > 1;
    for p in user_pins(info) {
        let secret = secret_name(info, p.kind);
        let token = id.to_owned();
        if p.state == PinState::NotActivated {
            let text = if several { tr!("tray-activate-pin", secret = secret) } else { tr!("tray-activate") };
            items.push(Item::Button { text, enabled: puk_usable, action: Action::Activate { token, kind: p.kind } });
            continue;
        }
        items.push(Item::Button {
            text: tr!("tray-change-pin", secret = secret.clone()),
            enabled: !is_blocked(p),
            action: Action::ChangePin { token: token.clone(), kind: p.kind },
        });
        items.push(Item::Button {
            text: tr!("tray-unblock-pin", secret = secret, what = puk.clone()),
            enabled: puk_usable,
            action: Action::UnblockPin { token, kind: p.kind },
        });
    }
    items
}

/// The tooltip for `s`.
fn tooltip(s: &Snapshot, icon: IconState) -> String {
    match icon {
        IconState::Error => tr!("tray-tooltip-error", what = s.error.clone().unwrap_or_default()),
        IconState::PinBlocked => tr!("tray-tooltip-blocked"),
        IconState::Ready => tr!("tray-tooltip-ready", n = s.tokens.len()),
        IconState::NoCard => tr!("tray-tooltip-no-card"),
        IconState::NoReader => tr!("tray-tooltip-no-reader"),
    }
}

/// The tray for `s`.
pub fn menu(s: &Snapshot) -> Menu {
    let icon = icon_state(s);
    let tooltip = tooltip(s, icon);
    let mut items = vec![Item::Label(tooltip.clone())];
    match s.tokens.as_slice() {
        [] => {}
        [(id, info)] => {
            items.push(Item::Label(token_title(info)));
            items.extend(token_items(id, info));
        }
        several => {
            for (id, info) in several {
                items.push(Item::Submenu { text: token_title(info), items: token_items(id, info) });
            }
        }
    }
    items.push(Item::Separator);
    let mut sites: Vec<Item> = s
        .sites
        .iter()
        .map(|o| Item::Button {
            text: tr!("tray-revoke-site", origin = o.clone()),
            enabled: true,
            action: Action::RevokeSite(o.clone()),
        })
        .collect();
    sites.extend(s.configured_sites.iter().map(|o| Item::Label(tr!("tray-configured-site", origin = o.clone()))));
    if sites.is_empty() {
        sites.push(Item::Label(tr!("tray-no-sites")));
    }
    items.push(Item::Submenu { text: tr!("tray-allowed-sites"), items: sites });
    items.push(Item::Separator);
    items.push(Item::Button {
        text: tr!("tray-sign-document"),
        enabled: !s.tokens.is_empty(),
        action: Action::SignDocument,
    });
    items.push(Item::Button { text: tr!("tray-check-signature"), enabled: true, action: Action::CheckSignature });
    items.push(Item::Button { text: tr!("tray-diagnostics"), enabled: true, action: Action::Diagnostics });
    if let Some(on) = s.autostart {
        items.push(Item::Check { text: tr!("tray-autostart"), checked: on, action: Action::ToggleAutostart });
    }
    items.push(Item::Separator);
    items.push(Item::Button { text: tr!("tray-quit"), enabled: true, action: Action::Quit });
    Menu { icon, tooltip, items }
}

/// What to tell the citizen going from `before` to `after`: a token whose certificate
/// was just read, and a PIN that just came down to its last try.
pub fn notifications(before: &Snapshot, after: &Snapshot) -> Vec<Notification> {
    let mut out = Vec::new();
    for (id, info) in &after.tokens {
        let old = before.tokens.iter().find(|(i, _)| i == id).map(|(_, t)| t);
        if old.is_none() {
            out.push(Notification {
                title: tr!("tray-notify-inserted-title"),
                body: tr!("tray-notify-inserted", holder = info.holder.clone()),
                warning: false,
            });
        }
        for p in user_pins(info).filter(|p| p.tries_left == Some(1)) {
            let was_last = old.is_some_and(|o| o.pins.iter().any(|q| q.kind == p.kind && q.tries_left == Some(1)));
            if !was_last {
                out.push(Notification {
                    title: tr!("tray-notify-last-try-title"),
                    body: tr!("tray-notify-last-try", holder = info.holder.clone(), secret = secret_name(info, p.kind)),
                    warning: true,
                });
            }
        }
    }
    out
}

/// Every action in `items`, submenus included (what the UI maps its item ids to).
pub fn actions(items: &[Item]) -> Vec<&Action> {
    let mut out = Vec::new();
    for item in items {
        match item {
            Item::Button { action, .. } | Item::Check { action, .. } => out.push(action),
            Item::Submenu { items, .. } => out.extend(actions(items)),
            Item::Label(_) | Item::Separator => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{set_language, Lang};
    use mohur_apdu::{KeyAlgorithm, KeyPurpose};

    fn pin(kind: PinKind, state: PinState, tries: u8) -> PinStatus {
        PinStatus { kind, state, tries_left: Some(tries), max_tries: Some(10) }
    }

    fn azedit(holder: &str, pin1: PinStatus, pin2: PinStatus, puk: PinStatus) -> TokenInfo {
        TokenInfo {
            kind: TokenKind::Card { profile: "AzeDIT".into(), reader: "r".into() },
            serial: holder.to_owned(),
            holder: holder.to_owned(),
            keys: vec![crate::tokens::TokenKey {
                purpose: KeyPurpose::Authentication,
                algorithm: KeyAlgorithm::EcP384,
                pin: PinKind::Auth,
            }],
            pins: vec![pin1, pin2, puk],
        }
    }

    fn ready(holder: &str) -> TokenInfo {
        azedit(
            holder,
            pin(PinKind::Auth, PinState::Ready, 10),
            pin(PinKind::Signing, PinState::Ready, 10),
            pin(PinKind::Puk, PinState::Ready, 10),
        )
    }

    fn with(tokens: Vec<TokenInfo>) -> Snapshot {
        Snapshot {
            pcsc: Pcsc::Readers(1),
            tokens: tokens.into_iter().enumerate().map(|(i, t)| (format!("card:AzeDIT:{i}"), t)).collect(),
            ..Snapshot::empty()
        }
    }

    fn labels(items: &[Item]) -> Vec<String> {
        let mut out = Vec::new();
        for i in items {
            match i {
                Item::Label(t) => out.push(t.clone()),
                Item::Button { text, .. } | Item::Check { text, .. } => out.push(text.clone()),
                Item::Submenu { text, items } => {
                    out.push(text.clone());
                    out.extend(labels(items));
                }
                Item::Separator => {}
            }
        }
        out
    }

    fn button<'a>(items: &'a [Item], action: &Action) -> (&'a str, bool) {
        find(items, action).unwrap_or_else(|| panic!("no item for {action:?} in {:?}", labels(items)))
    }

    fn find<'a>(items: &'a [Item], action: &Action) -> Option<(&'a str, bool)> {
        items.iter().find_map(|i| match i {
            Item::Button { text, enabled, action: a } if a == action => Some((text.as_str(), *enabled)),
            Item::Submenu { items, .. } => find(items, action),
            _ => None,
        })
    }

    fn change(kind: PinKind) -> Action {
        Action::ChangePin { token: "card:AzeDIT:0".into(), kind }
    }

    fn unblock(kind: PinKind) -> Action {
        Action::UnblockPin { token: "card:AzeDIT:0".into(), kind }
    }

    fn english() {
        set_language(Some(Lang::En));
    }

    #[test]
    fn no_reader_and_no_card() {
        english();
        let m = menu(&Snapshot { pcsc: Pcsc::Unavailable, ..Snapshot::empty() });
        assert_eq!(m.icon, IconState::NoReader);
        assert_eq!(m.tooltip, "mohur: no card reader");
        let m = menu(&Snapshot { pcsc: Pcsc::Readers(0), ..Snapshot::empty() });
        assert_eq!(m.icon, IconState::NoReader);
        let m = menu(&Snapshot { pcsc: Pcsc::Readers(2), ..Snapshot::empty() });
        assert_eq!(m.icon, IconState::NoCard);
        assert_eq!(m.tooltip, "mohur: insert your ID card");
        // Nothing to do with PINs without a token; the rest is always there.
        assert!(!actions(&m.items).iter().any(|a| matches!(a, Action::ChangePin { .. } | Action::UnblockPin { .. })));
        assert_eq!(
            actions(&m.items),
            vec![&Action::SignDocument, &Action::CheckSignature, &Action::Diagnostics, &Action::Quit]
        );
        // Signing needs a token; checking a signature does not.
        assert_eq!(button(&m.items, &Action::SignDocument), ("Sign a document…", false));
        assert_eq!(button(&m.items, &Action::CheckSignature), ("Check a signature…", true));
    }

    #[test]
    fn card_ready() {
        english();
        let m = menu(&with(vec![ready("ALIYEVA LEYLA")]));
        assert_eq!(m.icon, IconState::Ready);
        let l = labels(&m.items);
        for want in [
            "ALIYEVA LEYLA (AzeDIT)",
            "PIN1 (log in): 10 tries left",
            "PIN2 (signing): 10 tries left",
            "PUK: 10 tries left",
            "Change PIN1 (log in)…",
            "Unblock PIN2 (signing) with the PUK…",
            "No sites allowed yet",
        ] {
            assert!(l.iter().any(|x| x == want), "{want:?} not in {l:?}");
        }
        assert!(button(&m.items, &change(PinKind::Auth)).1);
        assert!(button(&m.items, &change(PinKind::Signing)).1);
        assert!(button(&m.items, &unblock(PinKind::Auth)).1);
        assert!(!actions(&m.items).iter().any(|a| matches!(a, Action::Activate { .. })));
    }

    #[test]
    fn count_low_and_last_try() {
        english();
        let t = azedit(
            "X",
            pin(PinKind::Auth, PinState::Ready, 2),
            pin(PinKind::Signing, PinState::Ready, 1),
            pin(PinKind::Puk, PinState::Ready, 10),
        );
        let m = menu(&with(vec![t]));
        assert_eq!(m.icon, IconState::Ready, "low but not blocked");
        let l = labels(&m.items);
        assert!(l.contains(&"PIN1 (log in): 2 tries left".to_owned()), "{l:?}");
        assert!(l.contains(&"PIN2 (signing): 1 try left, a wrong entry blocks it".to_owned()), "{l:?}");
        assert!(button(&m.items, &change(PinKind::Signing)).1, "the last try can still be used");
    }

    #[test]
    fn pin_blocked() {
        english();
        let t = azedit(
            "X",
            pin(PinKind::Auth, PinState::Blocked, 0),
            pin(PinKind::Signing, PinState::Ready, 10),
            pin(PinKind::Puk, PinState::Ready, 3),
        );
        let m = menu(&with(vec![t.clone()]));
        assert_eq!(m.icon, IconState::PinBlocked);
        assert_eq!(m.tooltip, "mohur: a PIN is blocked");
        assert!(labels(&m.items).contains(&"PIN1 (log in): blocked".to_owned()));
        assert!(!button(&m.items, &change(PinKind::Auth)).1);
        assert!(button(&m.items, &unblock(PinKind::Auth)).1);
        // The PUK blocked too: nothing can unblock it here.
        let mut dead = t;
        dead.pins[2] = pin(PinKind::Puk, PinState::Blocked, 0);
        let m = menu(&with(vec![dead]));
        assert!(!button(&m.items, &unblock(PinKind::Auth)).1);
        assert!(!button(&m.items, &unblock(PinKind::Signing)).1);
    }

    #[test]
    fn not_activated() {
        english();
        let t = azedit(
            "X",
            pin(PinKind::Auth, PinState::NotActivated, 10),
            pin(PinKind::Signing, PinState::NotActivated, 10),
            pin(PinKind::Puk, PinState::Ready, 10),
        );
        let m = menu(&with(vec![t]));
        assert_eq!(m.icon, IconState::PinBlocked, "the card needs its PUK before anything");
        let act = Action::Activate { token: "card:AzeDIT:0".into(), kind: PinKind::Auth };
        assert_eq!(button(&m.items, &act), ("Activate card: set PIN1 (log in)…", true));
        assert!(find(&m.items, &change(PinKind::Auth)).is_none(), "no PIN to change yet");
        assert!(labels(&m.items).contains(&"PIN2 (signing): not activated".to_owned()));
    }

    #[test]
    fn several_tokens_get_a_submenu_each() {
        english();
        let blocked = azedit(
            "B",
            pin(PinKind::Auth, PinState::Blocked, 0),
            pin(PinKind::Signing, PinState::Ready, 10),
            pin(PinKind::Puk, PinState::Ready, 10),
        );
        let m = menu(&with(vec![ready("A"), blocked]));
        assert_eq!(m.icon, IconState::PinBlocked, "one blocked card is not hidden by a ready one");
        let subs: Vec<&str> = m
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Submenu { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(subs, vec!["A (AzeDIT)", "B (AzeDIT)", "Allowed sites"]);
        let second = Action::ChangePin { token: "card:AzeDIT:1".into(), kind: PinKind::Auth };
        assert!(!button(&m.items, &second).1);
        assert!(button(&m.items, &change(PinKind::Auth)).1);
    }

    #[test]
    fn piv_has_one_pin() {
        english();
        let t = TokenInfo {
            kind: TokenKind::Card { profile: "PIV".into(), reader: "r".into() },
            pins: vec![
                pin(PinKind::Auth, PinState::Ready, 3),
                pin(PinKind::Signing, PinState::Ready, 3),
                pin(PinKind::Puk, PinState::Ready, 10),
            ],
            ..ready("MAMMADOV ELVIN")
        };
        let m = menu(&with(vec![t]));
        let l = labels(&m.items);
        assert_eq!(
            l[1..6],
            [
                "MAMMADOV ELVIN (PIV)",
                "PIN: 3 tries left",
                "PUK: 10 tries left",
                "Change PIN…",
                "Unblock PIN with the PUK…"
            ]
        );
        assert!(find(&m.items, &change(PinKind::Signing)).is_none(), "{l:?}");
    }

    #[test]
    fn pkcs11_token() {
        english();
        let t = TokenInfo {
            kind: TokenKind::Pkcs11 { module: "/usr/lib/softhsm/libsofthsm2.so".into() },
            serial: "1".into(),
            holder: "MAMMADOV ELVIN".into(),
            keys: Vec::new(),
            pins: vec![
                PinStatus { kind: PinKind::Auth, state: PinState::Ready, tries_left: None, max_tries: None },
                PinStatus { kind: PinKind::Puk, state: PinState::Ready, tries_left: None, max_tries: None },
            ],
        };
        let s = Snapshot { pcsc: Pcsc::Off, tokens: vec![("pkcs11:1".into(), t)], ..Snapshot::empty() };
        let m = menu(&s);
        assert_eq!(m.icon, IconState::Ready);
        let l = labels(&m.items);
        for want in
            ["MAMMADOV ELVIN (USB token)", "PIN: ready", "Change PIN…", "Unblock PIN with the security officer PIN…"]
        {
            assert!(l.iter().any(|x| x == want), "{want:?} not in {l:?}");
        }
    }

    #[test]
    fn agent_error_sites_and_autostart() {
        english();
        let s = Snapshot {
            error: Some("port 29170 is taken".into()),
            sites: vec!["https://e-gov.az".into()],
            configured_sites: vec!["https://my.gov.az".into()],
            autostart: Some(true),
            ..with(vec![ready("A")])
        };
        let m = menu(&s);
        assert_eq!(m.icon, IconState::Error);
        assert_eq!(m.tooltip, "mohur: error: port 29170 is taken");
        assert_eq!(button(&m.items, &Action::RevokeSite("https://e-gov.az".into())).0, "Revoke https://e-gov.az");
        assert!(labels(&m.items).contains(&"https://my.gov.az (set by the administrator)".to_owned()));
        assert!(m.items.contains(&Item::Check {
            text: "Start at login".into(),
            checked: true,
            action: Action::ToggleAutostart
        }));
    }

    #[test]
    fn notifications_on_insertion_and_last_try() {
        english();
        let empty = Snapshot::empty();
        let one = with(vec![ready("ALIYEVA LEYLA")]);
        let n = notifications(&empty, &one);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].body, "The certificate of ALIYEVA LEYLA was read: the card is ready.");
        assert!(notifications(&one, &one).is_empty(), "nothing new, nothing said");
        let mut last = one.clone();
        last.tokens[0].1.pins[0] = pin(PinKind::Auth, PinState::Ready, 1);
        let n = notifications(&one, &last);
        assert_eq!(n.len(), 1, "{n:?}");
        assert_eq!(n[0].title, "PIN about to block");
        assert!(n[0].warning);
        assert!(n[0].body.contains("PIN1 (log in)"), "{}", n[0].body);
        assert!(notifications(&last, &last).is_empty(), "said once");
        // The PUK at its last try is not a PIN about to block.
        let mut puk = one.clone();
        puk.tokens[0].1.pins[2] = pin(PinKind::Puk, PinState::Ready, 1);
        assert!(notifications(&one, &puk).is_empty());
    }
}
