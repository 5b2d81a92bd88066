//! `HashAlg::digest_info` (RFC 8017 §9.2 step 2) against DigestInfo DER that OpenSSL
//! encoded from an ASN.1 description (`tests/vectors/digest-info/make.sh`).

use mohur_apdu::HashAlg;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn digest_infos_match_openssls_der() {
    let vectors = include_str!("vectors/digest-info/digest-info.txt");
    let mut seen = 0;
    for line in vectors.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let [name, digest, der] = line.split_whitespace().collect::<Vec<_>>()[..] else { panic!("bad line {line}") };
        let alg = match name {
            "sha1" => HashAlg::Sha1,
            "sha224" => HashAlg::Sha224,
            "sha256" => HashAlg::Sha256,
            "sha384" => HashAlg::Sha384,
            "sha512" => HashAlg::Sha512,
            other => panic!("unknown hash {other}"),
        };
        assert_eq!(alg.digest_info(&hex(digest)).unwrap(), hex(der), "{name}");
        // A digest of another length is refused, not wrapped.
        assert!(alg.digest_info(&hex(digest)[1..]).is_err(), "{name}");
        seen += 1;
    }
    assert_eq!(seen, 5);
}
