//! Builds a card's state from a holder of the test PKI (`mohur-test-pki`).

use crate::state::{to_hex, CardState, KeySlot, Profile, Secret};
use crate::Result;
use std::path::Path;

/// How to personalise a fresh card.
#[derive(Debug, Clone)]
pub struct ProvisionOptions {
    /// PIV or AzeDIT.
    pub profile: Profile,
    /// PIV PIN / AzeDIT PIN1 (defaults: `123456` / `1234`).
    pub pin: Option<String>,
    /// AzeDIT PIN2 (default `12345`).
    pub pin2: Option<String>,
    /// PUK (default `12345678`).
    pub puk: Option<String>,
    /// Wrong PIN entries before the PIN blocks (default 10, as the e-imza guides say).
    pub pin_tries: u8,
    /// Wrong PUK entries before the PUK blocks for good (default 10).
    pub puk_tries: u8,
    /// A fresh card whose PIN must first be set with the PUK (`69 84` until then).
    pub not_activated: bool,
}

impl ProvisionOptions {
    /// Defaults for `profile`.
    pub fn new(profile: Profile) -> Self {
        ProvisionOptions {
            profile,
            pin: None,
            pin2: None,
            puk: None,
            pin_tries: 10,
            puk_tries: 10,
            not_activated: false,
        }
    }
}

/// Default secrets of a simulated card, per profile: (PIN / PIN1, PIN2, PUK).
pub fn default_secrets(profile: Profile) -> (&'static str, Option<&'static str>, &'static str) {
    match profile {
        Profile::Piv => ("123456", None, "12345678"),
        Profile::Azedit => ("1234", Some("12345"), "12345678"),
    }
}

/// Personalises a card for the holder in `holder_dir` (written by `mohur-test-pki`).
pub fn provision(holder_dir: &Path, opts: &ProvisionOptions) -> Result<CardState> {
    let m = mohur_certs::load_holder(holder_dir)?;
    let (pin, pin2, puk) = default_secrets(opts.profile);
    let tries = opts.pin_tries.clamp(1, 15);
    let mut pin = Secret::new(opts.pin.as_deref().unwrap_or(pin), tries);
    let mut pin2 = pin2.map(|p| Secret::new(opts.pin2.as_deref().unwrap_or(p), tries));
    if opts.not_activated {
        pin.activated = false;
        if let Some(p2) = pin2.as_mut() {
            p2.activated = false;
        }
    }
    let puk = Secret::new(opts.puk.as_deref().unwrap_or(puk), opts.puk_tries.clamp(1, 15));
    let (auth_id, sign_id) = match opts.profile {
        Profile::Piv => (0x9A, 0x9C),
        Profile::Azedit => (0x01, 0x02),
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let keys = vec![
        KeySlot { id: auth_id, key_pem: text(&m.auth_key_pem), cert_hex: to_hex(&m.auth_cert_der) },
        KeySlot { id: sign_id, key_pem: text(&m.sign_key_pem), cert_hex: to_hex(&m.sign_cert_der) },
    ];
    let h = &m.holder;
    let citizenship = match h.country.as_str() {
        "AZ" => "AZE",
        "AM" => "ARM",
        other => other,
    };
    // EF 5044 records 1..=16 in the EstEID layout.
    let personal_data = vec![
        h.surname.clone(),
        h.given_name.clone(),
        String::new(),
        "M".into(),
        citizenship.into(),
        "01.01.1990".into(),
        h.personal_code.clone(),
        h.document_number.clone(),
        "31.12.2034".into(),
        String::new(),
        "01.01.2025".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ];
    Ok(CardState {
        profile: opts.profile,
        serial: h.document_number.clone(),
        pin,
        pin2,
        puk,
        keys,
        personal_data: if opts.profile == Profile::Azedit { personal_data } else { Vec::new() },
    })
}
