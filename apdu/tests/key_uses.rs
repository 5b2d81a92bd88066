//! `x509::key_uses` on certificates that differ only in keyUsage / extKeyUsage
//! (vectors/key-uses/README.md says how they were made).

use mohur_apdu::x509::{key_uses, public_key_info, KeyUses};

fn vector(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/vectors/key-uses/{name}.der", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn authentication_keys_are_told_from_signing_keys() {
    let uses = |name| key_uses(&vector(name)).unwrap();
    // clientAuth makes it a login key even with nonRepudiation: both.
    assert_eq!(uses("client-auth-eku"), KeyUses { authentication: true, non_repudiation: true });
    assert_eq!(uses("digital-signature-only"), KeyUses { authentication: true, non_repudiation: false });
    assert_eq!(uses("non-repudiation-only"), KeyUses { authentication: false, non_repudiation: true });
    assert_eq!(uses("signing-with-digital-signature"), KeyUses { authentication: false, non_repudiation: true });
    // No keyUsage: every use.
    assert_eq!(uses("no-key-usage"), KeyUses { authentication: true, non_repudiation: true });
}

#[test]
fn garbage_is_a_typed_error_and_keys_compare_by_public_key() {
    assert!(matches!(key_uses(b"\x30\x03\x02\x01\x00"), Err(mohur_apdu::Error::BadCertificate(_))));
    // All vectors certify one key.
    let a = public_key_info(&vector("client-auth-eku")).unwrap();
    assert_eq!(a, public_key_info(&vector("non-repudiation-only")).unwrap());
    assert_eq!(a[0], 0x30);
}
