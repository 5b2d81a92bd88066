#!/usr/bin/env python3
"""An independent relying party for Web eID: checks what mohur's Web eID host returned,
with pyca/cryptography, written from the Web eID specifications (web-eid-system-
architecture-doc § "Authentication token format", and the checks of the
web-eid-authtoken-validation libraries: AuthTokenVersion1Validator,
AuthTokenVersion11Validator, SubjectCertificatePurposeValidator). No mohur code.

  webeid_check.py token FILE --origin O --nonce N --trust ROOT.pem [--ca CA.pem ...]
  webeid_check.py signature --cert B64 --hash B64 --hash-function SHA-256 --signature B64 \
      --algorithm ALG.json

Prints one JSON object: {"valid": bool, "errors": [...], ...}; exit 0 when valid.
"""
import argparse
import base64
import datetime
import json
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.x509.oid import ExtendedKeyUsageOID

HASHES = {
    "SHA-224": hashes.SHA224, "SHA-256": hashes.SHA256,
    "SHA-384": hashes.SHA384, "SHA-512": hashes.SHA512,
}
# JWS algorithm names (RFC 7518 § 3.1) of the token's `algorithm`.
TOKEN_ALGORITHMS = {
    "ES256": ("EC", hashes.SHA256), "ES384": ("EC", hashes.SHA384), "ES512": ("EC", hashes.SHA512),
    "RS256": ("RSA", hashes.SHA256), "RS384": ("RSA", hashes.SHA384), "RS512": ("RSA", hashes.SHA512),
    "PS256": ("PSS", hashes.SHA256), "PS384": ("PSS", hashes.SHA384), "PS512": ("PSS", hashes.SHA512),
}


def b64(s):
    return base64.b64decode(s, validate=True)


def load_pems(paths):
    out = []
    for p in paths:
        with open(p, "rb") as f:
            out.extend(x509.load_pem_x509_certificates(f.read()))
    return out


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def valid_now(cert):
    return cert.not_valid_before_utc <= now() <= cert.not_valid_after_utc


def chains_to(cert, trust, cas):
    """True if cert chains through `cas` to one of `trust`, every signature checked."""
    current, seen = cert, 0
    while seen < 8:
        for t in trust:
            if current.issuer == t.subject:
                try:
                    current.verify_directly_issued_by(t)
                    return True
                except (ValueError, TypeError, InvalidSignature):
                    pass
        issuer = None
        for c in cas:
            if current.issuer == c.subject and c != current:
                try:
                    current.verify_directly_issued_by(c)
                    issuer = c
                    break
                except (ValueError, TypeError, InvalidSignature):
                    pass
        if issuer is None or not valid_now(issuer):
            return False
        current, seen = issuer, seen + 1
    return False


def verify(public_key, kind, hash_cls, signature, data=None, digest=None):
    """Verifies over `data` (hashed here) or a precomputed `digest`."""
    algo = hash_cls() if digest is None else utils.Prehashed(hash_cls())
    message = data if digest is None else digest
    if kind == "EC":
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise InvalidSignature("not an EC key")
        n = (public_key.curve.key_size + 7) // 8
        if len(signature) != 2 * n:
            raise InvalidSignature("an ECDSA signature must be r || s of %d bytes" % (2 * n))
        der = utils.encode_dss_signature(int.from_bytes(signature[:n], "big"), int.from_bytes(signature[n:], "big"))
        public_key.verify(der, message, ec.ECDSA(algo))
    elif kind == "RSA":
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise InvalidSignature("not an RSA key")
        public_key.verify(signature, message, padding.PKCS1v15(), algo)
    else:
        public_key.verify(signature, message, padding.PSS(padding.PSS.MGF1(hash_cls()), padding.PSS.DIGEST_LENGTH), algo)


def key_usage(cert):
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def aki(cert):
    try:
        return cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        return None


def check_token(args):
    errors = []
    with open(args.file) as f:
        token = json.load(f)
    fmt = token.get("format", "")
    if not isinstance(fmt, str) or not fmt.startswith("web-eid:1"):
        errors.append("format %r is not web-eid:1" % fmt)
    for field in ("unverifiedCertificate", "algorithm", "signature", "appVersion"):
        if not token.get(field):
            errors.append("%s is missing" % field)
    if errors:
        return {"valid": False, "errors": errors}
    cert = x509.load_der_x509_certificate(b64(token["unverifiedCertificate"]))
    if not valid_now(cert):
        errors.append("the certificate is not valid now")
    # SubjectCertificatePurposeValidator: an authentication certificate.
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.CLIENT_AUTH not in eku:
            errors.append("the certificate is not for client authentication")
    except x509.ExtensionNotFound:
        errors.append("the certificate has no extended key usage")
    ku = key_usage(cert)
    if ku is None or not ku.digital_signature:
        errors.append("the certificate's key usage has no digitalSignature")
    trust = load_pems(args.trust)
    if not chains_to(cert, trust, load_pems(args.ca or []) + trust):
        errors.append("the certificate does not chain to a trusted CA")
    alg = TOKEN_ALGORITHMS.get(token["algorithm"])
    if alg is None:
        errors.append("unsupported algorithm %r" % token["algorithm"])
    else:
        kind, hash_cls = alg
        # The signed value: hash(origin) || hash(nonce), hashed again by the algorithm.
        def h(text):
            d = hashes.Hash(hash_cls())
            d.update(text.encode())
            return d.finalize()
        try:
            verify(cert.public_key(), kind, hash_cls, b64(token["signature"]), data=h(args.origin) + h(args.nonce))
        except (InvalidSignature, ValueError) as e:
            errors.append("the signature does not verify for this origin and nonce (%s)" % (e or "mismatch"))
    if fmt.startswith("web-eid:1.1"):
        sign_b64 = token.get("unverifiedSigningCertificate")
        algs = token.get("supportedSignatureAlgorithms")
        if not sign_b64 or not algs:
            errors.append("web-eid:1.1 without the signing certificate or its algorithms")
        else:
            sign = x509.load_der_x509_certificate(b64(sign_b64))
            if sign.subject != cert.subject:
                errors.append("the signing certificate has another subject")
            if aki(sign) is None or aki(sign) != aki(cert):
                errors.append("the signing certificate has another issuer key")
            if not valid_now(sign):
                errors.append("the signing certificate is not valid now")
            sku = key_usage(sign)
            if sku is None or not sku.content_commitment:
                errors.append("the signing certificate has no nonRepudiation")
            for a in algs:
                if (a.get("cryptoAlgorithm") not in ("ECC", "RSA") or a.get("hashFunction") not in HASHES
                        or a.get("paddingScheme") not in ("NONE", "PKCS1.5", "PSS")):
                    errors.append("unsupported signature algorithm %r" % a)
    return {"valid": not errors, "errors": errors, "format": fmt, "subject": cert.subject.rfc4514_string()}


def check_signature(args):
    errors = []
    cert = x509.load_der_x509_certificate(b64(args.cert))
    alg = json.loads(args.algorithm)
    hash_cls = HASHES.get(args.hash_function)
    digest = b64(args.hash)
    if hash_cls is None or alg.get("hashFunction") != args.hash_function:
        errors.append("hash function mismatch: %r" % alg)
    kind = {"ECC": "EC", "RSA": "RSA"}.get(alg.get("cryptoAlgorithm"))
    if alg.get("paddingScheme") == "PSS":
        kind = "PSS"
    if kind is None:
        errors.append("unknown crypto algorithm %r" % alg)
    if not errors:
        try:
            verify(cert.public_key(), kind, hash_cls, b64(args.signature), digest=digest)
        except (InvalidSignature, ValueError) as e:
            errors.append("the signature does not verify (%s)" % (e or "mismatch"))
    ku = key_usage(cert)
    if ku is None or not ku.content_commitment:
        errors.append("the certificate has no nonRepudiation")
    return {"valid": not errors, "errors": errors}


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="what", required=True)
    t = sub.add_parser("token")
    t.add_argument("file")
    t.add_argument("--origin", required=True)
    t.add_argument("--nonce", required=True)
    t.add_argument("--trust", action="append", required=True)
    t.add_argument("--ca", action="append")
    s = sub.add_parser("signature")
    s.add_argument("--cert", required=True)
    s.add_argument("--hash", required=True)
    s.add_argument("--hash-function", required=True)
    s.add_argument("--signature", required=True)
    s.add_argument("--algorithm", required=True)
    args = p.parse_args()
    result = check_token(args) if args.what == "token" else check_signature(args)
    print(json.dumps(result))
    sys.exit(0 if result["valid"] else 1)


if __name__ == "__main__":
    main()
