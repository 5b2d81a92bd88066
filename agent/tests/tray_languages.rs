//! The tray's menu and notifications in every language (a test binary of its own:
//! it switches the process's language).

use mohur_agent::i18n::{set_language, Lang};
use mohur_agent::tokens::{TokenInfo, TokenKind};
use mohur_agent::tray::model::{self, Item, Pcsc, Snapshot};
use mohur_apdu::{PinKind, PinState, PinStatus};

fn texts(items: &[Item], out: &mut Vec<String>) {
    for i in items {
        match i {
            Item::Label(t) | Item::Button { text: t, .. } | Item::Check { text: t, .. } => out.push(t.clone()),
            Item::Submenu { text, items } => {
                out.push(text.clone());
                texts(items, out);
            }
            Item::Separator => {}
        }
    }
}

#[test]
fn menu_and_notifications_in_every_language() {
    let pin = |kind, tries| PinStatus { kind, state: PinState::Ready, tries_left: Some(tries), max_tries: Some(10) };
    let card = TokenInfo {
        kind: TokenKind::Card { profile: "AzeDIT".into(), reader: "r".into() },
        serial: "1".into(),
        holder: "ALIYEVA LEYLA".into(),
        keys: Vec::new(),
        pins: vec![pin(PinKind::Auth, 1), pin(PinKind::Signing, 10), pin(PinKind::Puk, 10)],
    };
    let s = Snapshot {
        pcsc: Pcsc::Readers(1),
        tokens: vec![("card:AzeDIT:1".into(), card)],
        sites: vec!["https://e-gov.az".into()],
        autostart: Some(false),
        ..Snapshot::empty()
    };
    let mut all = std::collections::BTreeSet::new();
    for lang in Lang::ALL {
        set_language(Some(lang));
        let menu = model::menu(&s);
        let mut t = vec![menu.tooltip.clone()];
        texts(&menu.items, &mut t);
        for n in model::notifications(&Snapshot::empty(), &s) {
            t.push(n.title);
            t.push(n.body);
        }
        assert_eq!(t.len(), 22, "{lang:?}: {t:?}");
        for line in &t {
            assert!(!line.contains("tray-") && !line.trim().is_empty(), "{lang:?}: {line:?}");
        }
        assert!(t.iter().any(|l| l.contains("ALIYEVA LEYLA")), "{lang:?}");
        all.insert(t.join("\n"));
    }
    assert_eq!(all.len(), 3, "each language reads differently");
}
