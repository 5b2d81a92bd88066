//! Shared by the cms_* and webeid_* tests: one test PKI per test binary (mohur-certs) and a
//! software "token" that signs a digest exactly like a card does (PKCS#1 v1.5 over DigestInfo
//! for RSA, raw `r ‖ s` for EC), with the openssl crate.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use mohur_apdu::HashAlg;
use openssl::ecdsa::EcdsaSig;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Padding;

/// The test PKI, generated once per test binary under cargo's per-target temp dir.
pub fn pki() -> &'static mohur_certs::TestPki {
    static PKI: OnceLock<mohur_certs::TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let name = exe.file_stem().unwrap().to_string_lossy().into_owned();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
        mohur_certs::generate(&dir).expect("generate test PKI")
    })
}

/// Holder material of `piv`, `azedit` or `am`.
pub fn holder(name: &str) -> mohur_certs::HolderMaterial {
    mohur_certs::load_holder(&pki().dir.join(name)).unwrap()
}

/// DER of the E-Government CA and the Policy CA (the signer's chain, without the root).
pub fn chain_der() -> Vec<Vec<u8>> {
    let pem = std::fs::read(&pki().chain_pem).unwrap();
    openssl::x509::X509::stack_from_pem(&pem).unwrap().iter().map(|c| c.to_der().unwrap()).collect()
}

/// Signs `digest` with the private key like a card: PKCS#1 v1.5 over DigestInfo (RSA) or raw
/// `r ‖ s`, each half left-padded to the field length (EC).
pub fn card_sign(key: &PKey<Private>, alg: HashAlg, digest: &[u8]) -> Vec<u8> {
    assert_eq!(digest.len(), alg.output_len(), "the token got a digest of the wrong length");
    match key.id() {
        Id::RSA => {
            let rsa = key.rsa().unwrap();
            let mut out = vec![0; rsa.size() as usize];
            let n = rsa.private_encrypt(&alg.digest_info(digest).unwrap(), &mut out, Padding::PKCS1).unwrap();
            out.truncate(n);
            out
        }
        Id::EC => {
            let ec = key.ec_key().unwrap();
            let field = (ec.group().degree() as usize).div_ceil(8);
            let sig = EcdsaSig::sign(digest, &ec).unwrap();
            let mut raw = sig.r().to_vec_padded(field as i32).unwrap();
            raw.extend(sig.s().to_vec_padded(field as i32).unwrap());
            raw
        }
        other => panic!("unexpected key type {other:?}"),
    }
}

/// A token closure over a PKCS#8 PEM key.
pub fn token(key_pem: &[u8]) -> impl FnMut(HashAlg, &[u8]) -> mohur_agent::Result<Vec<u8>> {
    let key = PKey::private_key_from_pem(key_pem).unwrap();
    move |alg, digest| Ok(card_sign(&key, alg, digest))
}

/// A fresh scratch directory for one test.
pub fn scratch(test: &str) -> PathBuf {
    let dir = pki().dir.join("scratch").join(test);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `openssl cms -verify -cades -binary -inform DER -purpose any`, trusting the test root.
///
/// With `intermediates`, the CA certificates are also offered to OpenSSL: OpenSSL 3.0's
/// `cms -verify` searches `-certfile` only for the signer's certificate and builds the path
/// from the certificates embedded in the message and the `-CAfile` store, so the
/// intermediates go into `-CAfile` too (bundle.pem; without `-partial_chain` the path must
/// still end at the self-signed root).
pub fn openssl_cms_verify(cms: &Path, content: Option<&Path>, intermediates: bool) -> Output {
    let p = pki();
    let mut cmd = Command::new("openssl");
    cmd.args(["cms", "-verify", "-cades", "-binary", "-inform", "DER", "-purpose", "any", "-in"])
        .arg(cms)
        .arg("-out")
        .arg(cms.with_extension("out"))
        .arg("-CAfile");
    if intermediates {
        cmd.arg(&p.bundle_pem).arg("-certfile").arg(&p.chain_pem);
    } else {
        cmd.arg(&p.root_cert_pem);
    }
    if let Some(c) = content {
        cmd.arg("-content").arg(c);
    }
    cmd.output().expect("run openssl")
}

/// Issues a test certificate with the openssl crate: `issuer` is `None` for a self-signed CA.
/// Validity runs from `from_days` to `to_days` relative to now; the key usage is
/// digitalSignature (`auth`) or nonRepudiation.
pub fn issue_cert(
    cn: &str,
    key: &PKey<Private>,
    issuer: Option<(&openssl::x509::X509, &PKey<Private>)>,
    from_days: i64,
    to_days: i64,
    auth: bool,
) -> openssl::x509::X509 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    issue_cert_between(cn, key, issuer, now + from_days * 86_400, now + to_days * 86_400, auth)
}

/// [`issue_cert`], valid from `not_before` to `not_after` (seconds since 1970).
pub fn issue_cert_between(
    cn: &str,
    key: &PKey<Private>,
    issuer: Option<(&openssl::x509::X509, &PKey<Private>)>,
    not_before: i64,
    not_after: i64,
    auth: bool,
) -> openssl::x509::X509 {
    use openssl::asn1::{Asn1Integer, Asn1Time};
    use openssl::bn::{BigNum, MsbOption};
    use openssl::hash::MessageDigest;
    use openssl::x509::extension::{BasicConstraints, KeyUsage};
    use openssl::x509::{X509Builder, X509NameBuilder};

    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("C", "AZ").unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::ONE, false).unwrap();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&Asn1Integer::from_bn(&serial).unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map_or(&*name, |(c, _)| c.subject_name())).unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(not_before).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::from_unix(not_after).unwrap()).unwrap();
    if issuer.is_none() {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap()).unwrap();
        b.append_extension(KeyUsage::new().critical().key_cert_sign().digital_signature().build().unwrap()).unwrap();
    } else if auth {
        b.append_extension(KeyUsage::new().critical().digital_signature().build().unwrap()).unwrap();
    } else {
        b.append_extension(KeyUsage::new().critical().non_repudiation().build().unwrap()).unwrap();
    }
    let signer = issuer.map_or(key, |(_, k)| k);
    b.sign(signer, MessageDigest::sha384()).unwrap();
    b.build()
}

/// The E-Government CA's certificate and key, to issue extra test certificates.
pub fn ica() -> (openssl::x509::X509, PKey<Private>) {
    let dir = &pki().dir;
    let cert = openssl::x509::X509::from_pem(&std::fs::read(dir.join("ica.pem")).unwrap()).unwrap();
    let key = PKey::private_key_from_pem(&std::fs::read(dir.join("ica.key.pem")).unwrap()).unwrap();
    (cert, key)
}

/// A fresh EC key on `nid`.
pub fn ec_key(nid: openssl::nid::Nid) -> PKey<Private> {
    let group = openssl::ec::EcGroup::from_curve_name(nid).unwrap();
    PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap()).unwrap()
}

/// The relying party's trust store for the test PKI.
pub fn trust() -> mohur_agent::signing::verify::TrustStore {
    mohur_agent::demo::relying_party::TrustStore::from_pem_files(&pki().root_cert_pem, &pki().chain_pem).unwrap()
}
