//! Certificates in PEM (RFC 7468 §5): what the trust stores, `openssl` and the loopback
//! CA's file hold.

use x509_cert::der::pem::LineEnding;

/// PEM text of one DER certificate.
pub fn pem_of(der: &[u8]) -> String {
    x509_cert::der::pem::encode_string("CERTIFICATE", LineEnding::LF, der).expect("PEM encoding of bytes cannot fail")
}

/// DER of every `CERTIFICATE` block in a PEM text; other blocks and garbage are skipped.
pub fn pem_blocks(text: &str) -> Vec<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else { break };
        let block = &rest[start..start + len + END.len()];
        if let Ok((_, der)) = x509_cert::der::pem::decode_vec(block.as_bytes()) {
            out.push(der);
        }
        rest = &rest[start + len + END.len()..];
    }
    out
}
