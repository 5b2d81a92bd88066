#!/usr/bin/env bash
# Known answers for mechanisms::pss_encode (EMSA-PSS-ENCODE, RFC 8017 §9.1.1), made by
# OpenSSL: it signs a message hash with RSASSA-PSS (its own salt), the signature is
# opened with the public key and no padding (pkeyutl -verifyrecover), which gives the
# encoded message EM; the salt is read back out of EM by plain RFC 8017 §9.1.2 steps
# (Python's hashlib for MGF1). The test then encodes the same hash and salt and must
# produce OpenSSL's EM byte for byte. Re-running makes new keys and salts (new vectors,
# equally valid); emsa-pss.txt is committed so the test reads fixed ones.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
    echo "# mod_bits hash mgf1 salt_len mhash(hex) salt(hex) em(hex): EM from OpenSSL's RSASSA-PSS signature"
    for spec in "2048 sha256 32" "2049 sha256 32" "3072 sha384 48" "2048 sha512 64" "2048 sha256 0" "4096 sha256 20"; do
        read -r bits hash salt_len <<<"$spec"
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:"$bits" -out "$tmp/key.pem" 2>/dev/null
        printf 'message %s %s' "$bits" "$hash" | openssl dgst -"$hash" -binary >"$tmp/mhash"
        openssl pkeyutl -sign -inkey "$tmp/key.pem" -in "$tmp/mhash" -out "$tmp/sig" \
            -pkeyopt digest:"$hash" -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:"$salt_len" \
            -pkeyopt rsa_mgf1_md:"$hash"
        openssl pkeyutl -verifyrecover -inkey "$tmp/key.pem" -in "$tmp/sig" -out "$tmp/em" -pkeyopt rsa_padding_mode:none
        python3 - "$bits" "$hash" "$salt_len" "$tmp/mhash" "$tmp/em" <<'PY'
import hashlib, sys
bits, name, salt_len = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
mhash, em = open(sys.argv[4], "rb").read(), open(sys.argv[5], "rb").read()
k = (bits + 7) // 8
em = em.rjust(k, b"\0")                    # the block as the card computes it
em_len = (bits - 1 + 7) // 8
body = em[k - em_len:]
h_len = hashlib.new(name).digest_size
masked, h = body[: em_len - h_len - 1], body[em_len - h_len - 1 : -1]
mask, counter = b"", 0
while len(mask) < len(masked):
    mask += hashlib.new(name, h + counter.to_bytes(4, "big")).digest()
    counter += 1
db = bytes(a ^ b for a, b in zip(masked, mask))
salt = db[len(db) - salt_len :] if salt_len else b""
assert body[-1] == 0xBC and db[len(db) - salt_len - 1] == 1
print(bits, name.replace("sha", "SHA-"), name.replace("sha", "SHA-"), salt_len, mhash.hex(), salt.hex() or "-", em.hex())
PY
    done
} >emsa-pss.txt
