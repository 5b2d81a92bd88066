//! mohur's PKCS#11 module against OpenSC 0.23's `opensc-pkcs11.so`, both loaded with
//! the `cryptoki` crate in this process, on the same simulated card behind the same
//! pcscd, in one run. Prints a table; never fails on speed.
//!
//! (a) dlopen + C_Initialize + C_GetTokenInfo of the card's slot (cold start of a
//!     program that uses the module), then C_Finalize; median of `LOAD_RUNS`.
//! (b) C_Login + C_SignInit + C_Sign on an open session (C_Logout after, not timed);
//!     median time and APDUs (the simulator's own count) of `SIGN_RUNS`.
//!
//! OpenSC sees only the card's reader (`Reader::opensc_conf`); our module sees all 12
//! readers. Slots are found by slot description = reader name.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use mohur_card_sim::Profile;
use mohur_tests::*;
use std::path::Path;
use std::time::Instant;

const LOAD_RUNS: usize = 10;
const SIGN_RUNS: usize = 20;
const DATA: &[u8] = b"benchmark document";

struct Case {
    name: &'static str,
    profile: Profile,
    key_id: u8,
    pin: &'static str,
    /// RSA: CKM_SHA256_RSA_PKCS over DATA; EC: CKM_ECDSA over SHA-256(DATA).
    rsa: bool,
}

/// The slot of `reader` whose token is not OpenSC's PIN2 token of an AzeDIT card.
fn slot_of(p11: &Pkcs11, reader: &str) -> Slot {
    p11.get_slots_with_token()
        .expect("C_GetSlotList")
        .into_iter()
        .find(|s| {
            p11.get_slot_info(*s).map(|i| i.slot_description().trim_end() == reader).unwrap_or(false)
                && p11.get_token_info(*s).map(|t| !t.label().trim_end().ends_with("(PIN2)")).unwrap_or(false)
        })
        .unwrap_or_else(|| panic!("no slot with a token for {reader}"))
}

fn init(path: &Path) -> Pkcs11 {
    let p11 = Pkcs11::new(path).expect("load module");
    p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)).expect("C_Initialize");
    p11
}

/// (a): median ms and APDUs of load + C_Initialize + first C_GetTokenInfo.
fn load(card: &PluggedCard, path: &Path) -> (f64, f64) {
    let (mut ms, mut n) = (vec![], vec![]);
    for _ in 0..LOAD_RUNS {
        card.reset_apdu_count();
        let t = Instant::now();
        let p11 = init(path);
        let slot = slot_of(&p11, &card.reader.name);
        let token = p11.get_token_info(slot).expect("C_GetTokenInfo");
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        n.push(card.apdu_count() as f64);
        assert!(!token.label().is_empty());
        p11.finalize().expect("C_Finalize");
    }
    (median(ms), median(n))
}

/// (b): median ms and APDUs of C_Login + C_SignInit + C_Sign.
fn login_sign(card: &PluggedCard, path: &Path, case: &Case) -> (f64, f64) {
    let p11 = init(path);
    let slot = slot_of(&p11, &card.reader.name);
    let session = p11.open_ro_session(slot).expect("C_OpenSession");
    let pin = AuthPin::from(case.pin);
    session.login(UserType::User, Some(&pin)).expect("C_Login");
    let key = session
        .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(vec![case.key_id])])
        .expect("C_FindObjects")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no private key with id {:02x}", case.key_id));
    session.logout().expect("C_Logout");
    let digest = openssl::sha::sha256(DATA);
    let (mech, input) = if case.rsa { (Mechanism::Sha256RsaPkcs, DATA) } else { (Mechanism::Ecdsa, &digest[..]) };
    let (mut ms, mut n) = (vec![], vec![]);
    for _ in 0..SIGN_RUNS {
        card.reset_apdu_count();
        let t = Instant::now();
        session.login(UserType::User, Some(&pin)).expect("C_Login");
        let sig = session.sign(&mech, key, input).expect("C_Sign");
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        n.push(card.apdu_count() as f64);
        assert!(!sig.is_empty());
        session.logout().expect("C_Logout");
    }
    drop(session);
    p11.finalize().expect("C_Finalize");
    (median(ms), median(n))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    require_pcscd();
    let ours = mohur_pkcs11_path();
    let opensc = Path::new(OPENSC_PKCS11);
    let cases = [
        Case { name: "PIV 9A RSA-2048", profile: Profile::Piv, key_id: 1, pin: "123456", rsa: true },
        Case { name: "AzeDIT auth P-384", profile: Profile::Azedit, key_id: 1, pin: "1234", rsa: false },
    ];
    println!("mohur PKCS#11 module vs OpenSC 0.23 opensc-pkcs11.so, in-process through cryptoki,");
    println!(
        "same simulated card behind pcscd + vpcd, back to back; medians ({LOAD_RUNS} loads, {SIGN_RUNS} signatures)"
    );
    println!("{}", ours.display());
    println!(
        "{:<20} {:<32} {:>10} {:>7} {:>11} {:>7} {:>9} {:>10}",
        "case", "measure", "mohur ms", "APDUs", "OpenSC ms", "APDUs", "ms ratio", "APDU ratio"
    );
    for case in &cases {
        let card = PluggedCard::profile(case.profile);
        // OpenSC reads OPENSC_CONF at C_Initialize: only this card's reader, PIV-II/mcrd.
        std::env::set_var("OPENSC_CONF", card.reader.opensc_conf());
        let rows = [
            ("(a) load+C_Initialize+token info", load(&card, &ours), load(&card, opensc)),
            ("(b) C_Login+C_Sign", login_sign(&card, &ours, case), login_sign(&card, opensc, case)),
        ];
        for (what, (om, oa), (sm, sa)) in rows {
            println!(
                "{:<20} {:<32} {:>10.1} {:>7} {:>11.1} {:>7} {:>8.2}x {:>9.2}x",
                case.name,
                what,
                om,
                oa,
                sm,
                sa,
                sm / om,
                if oa > 0.0 { sa / oa } else { f64::NAN }
            );
        }
    }
    println!("ratios are OpenSC / mohur: above 1 means mohur is faster or sends fewer APDUs.");
}
