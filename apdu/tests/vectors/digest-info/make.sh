#!/usr/bin/env bash
# Known answers for HashAlg::digest_info (RFC 8017 §9.2 step 2): the DigestInfo DER of
# the hash of "abc" as OpenSSL encodes it from an ASN.1 description (asn1parse -genconf),
# not as mohur does. Re-run to regenerate digest-info.txt; the output must not change.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
    echo "# name digest(hex) digest_info(hex): OpenSSL's DER of DigestInfo { AlgorithmIdentifier { oid, NULL }, OCTET STRING digest }"
    for h in sha1 sha224 sha256 sha384 sha512; do
        d=$(printf abc | openssl dgst -"$h" -binary | od -An -v -tx1 | tr -d ' \n')
        printf 'asn1=SEQUENCE:di\n[di]\nalg=SEQUENCE:alg\ndigest=FORMAT:HEX,OCTETSTRING:%s\n[alg]\noid=OID:%s\nnull=NULL\n' "$d" "$h" >"$tmp/$h.cnf"
        openssl asn1parse -genconf "$tmp/$h.cnf" -out "$tmp/$h.der" >/dev/null
        echo "$h $d $(od -An -v -tx1 "$tmp/$h.der" | tr -d ' \n')"
    done
} >digest-info.txt
