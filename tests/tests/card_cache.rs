//! The certificate cache across processes (issue 17, `mohur_apdu::cert_cache`): a
//! fresh driver on an AzeDIT card seen before reads only the card's identity (the first
//! chunk of its authentication certificate) and takes the certificates and serial from
//! the cache; a card with other certificates behind the same reader is read afresh; a
//! corrupt entry is harmless. A test process of its own: it sets `MOHUR_CARD_CACHE`.

use mohur_card_sim::{provision, Profile, ProvisionOptions};
use mohur_tests::*;

#[test]
fn a_card_seen_before_is_read_with_four_apdus_and_a_changed_card_afresh() {
    let cache = temp_dir("card-cache");
    std::env::set_var("MOHUR_CARD_CACHE", &cache);
    let card = PluggedCard::profile(Profile::Azedit);
    // First: every certificate read from the card, and remembered.
    let mut first = card.open();
    let auth = first.certificate(0x01).unwrap();
    let sign = first.certificate(0x02).unwrap();
    let serial = first.serial().unwrap();
    let cold = first.apdu_count();
    drop(first);
    assert!(cold >= 12, "{cold} APDUs for two certificates and the serial");
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);
    // A fresh driver, as in a new process: identity only, same answers.
    let mut again = card.open();
    assert_eq!(again.certificate(0x01).unwrap(), auth);
    assert_eq!(again.certificate(0x02).unwrap(), sign);
    assert_eq!(again.serial().unwrap(), serial);
    assert_eq!(again.apdu_count(), 4, "SELECT MF, SELECT EEEE, SELECT AACE, READ BINARY");
    drop(again);
    verify_chain(&auth).unwrap();

    // A corrupt entry: not used, and replaced.
    for f in std::fs::read_dir(&cache).unwrap() {
        std::fs::write(f.unwrap().path(), "cert.1=not hex\n").unwrap();
    }
    let mut c = card.open();
    assert_eq!(c.certificate(0x02).unwrap(), sign);
    assert!(c.apdu_count() > 4);
    drop(c);
    drop(card);

    // Another card (the same holder's data, new keys and certificates) in the reader:
    // its identity differs, so nothing of the first card is shown for it.
    let dir = temp_dir("card-cache-pki");
    let pki = mohur_certs::generate(&dir).unwrap();
    let other = PluggedCard::new(provision(&pki.dir.join("azedit"), &ProvisionOptions::new(Profile::Azedit)).unwrap());
    let mut c = other.open();
    let new_auth = c.certificate(0x01).unwrap();
    assert_ne!(new_auth, auth);
    assert_eq!(
        new_auth,
        openssl::x509::X509::from_pem(&std::fs::read(pki.dir.join("azedit/auth.pem")).unwrap())
            .unwrap()
            .to_der()
            .unwrap()
    );
    assert!(c.apdu_count() > 4);
}
