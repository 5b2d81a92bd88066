//! Which key may sign what a page sends (PROTOCOL.md § Security).
//!
//! The authentication key logs its holder in: a Web eID token is a signature over
//! `hash(origin) ‖ hash(nonce)`, a TLS client login a signature over a hash of the
//! handshake. A page that could have that key sign a hash of its own choosing could
//! compute the login value of *another* site and receive the citizen's login to it, so
//! the authentication key signs only what mohur builds and binds to the connection's
//! origin (`authenticate`). A raw hash from a page (`sign`) is signed only by a key that
//! is for signatures alone; CMS signatures (`sign-document`) are signatures over
//! DER-encoded signed attributes, which cannot be made to equal a login value, and are
//! made with the signing key.
//!
//! Which key is the authentication key: on cards, the profile says (PIV 9A, the
//! AzeDIT PIN1 key — [`KeyPurpose::Authentication`]); for any key, its certificate says
//! ([`mohur_apdu::x509::key_uses`]: clientAuth, or digitalSignature without
//! nonRepudiation, or no keyUsage at all); and a key certified by the token's
//! authentication certificate too is one, whatever its other certificate says.

use crate::tokens::manager::TokenSlot;
use crate::{Error, Result};
use mohur_apdu::x509::{key_uses, public_key_info};
use mohur_apdu::KeyPurpose;

/// May the key of `cert` (the token's key for `purpose`) sign a hash a page computed?
/// `Err(KeyNotAllowed)` unless it is a signing key and nothing else: checked before any
/// dialog, so the citizen is never asked for a PIN that would unlock a forgery.
pub fn check_page_hash(slot: &TokenSlot, purpose: KeyPurpose, cert: &[u8]) -> Result<()> {
    if purpose != KeyPurpose::Signing {
        return Err(Error::KeyNotAllowed("the authentication key signs only the logins mohur builds (authenticate)"));
    }
    let uses = key_uses(cert)?;
    if uses.authentication {
        return Err(Error::KeyNotAllowed(
            "this certificate's key also logs in (clientAuth, digitalSignature without nonRepudiation, or no keyUsage)",
        ));
    }
    if !uses.non_repudiation {
        return Err(Error::KeyNotAllowed("this certificate is not for signatures (no nonRepudiation)"));
    }
    if slot.has(KeyPurpose::Authentication) {
        let auth = slot.with(|t| t.certificate(KeyPurpose::Authentication))?;
        if public_key_info(&auth)? == public_key_info(cert)? {
            return Err(Error::KeyNotAllowed("this key is also the token's authentication key"));
        }
    }
    Ok(())
}

/// May a document (CMS) signature from a page use the key for `purpose`? Only the
/// signing key: a document signature is a non-repudiation signature, and the
/// authentication key stays for logins.
pub fn check_document_key(purpose: KeyPurpose) -> Result<()> {
    if purpose == KeyPurpose::Signing {
        Ok(())
    } else {
        Err(Error::KeyNotAllowed("documents are signed with the signing key, not the authentication key"))
    }
}
