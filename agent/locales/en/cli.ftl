# The card tools: mohur readers, status, certs, pin, sign, verify. Variables: $name (a
# reader or file), $what (a detail: a profile, a reason), $secret (which PIN), $holder
# (name on the card), $n (a count).

cli-readers-none = No smart card readers found. Plug in a card reader; if one is plugged in, check that its driver is installed.
cli-reader-empty = no card
cli-reader-card = { $what } card
cli-reader-unsupported = a card mohur does not know
cli-label-reader = Reader
cli-label-module = PKCS#11 module
cli-label-profile = Card type
cli-label-holder = Holder
cli-label-serial = Serial number
cli-label-subject = Subject
cli-label-issuer = Issuer
cli-label-valid = Valid
cli-label-key = Key
cli-label-exported = Saved
cli-label-signer = Signed by
cli-label-signing-time = Signing time
cli-purpose-auth = authentication
cli-purpose-sign = signing
cli-cert-heading = Certificate ({ $what })
cli-cert-days-left = { $n ->
    [one] 1 day left
   *[other] { $n } days left
}
cli-cert-expired = EXPIRED
cli-cert-not-yet-valid = not valid yet
cli-pin-auth = PIN1 (authentication)
cli-pin-sign = PIN2 (signing)
cli-pin-puk = PUK
cli-pin-piv = PIN
cli-state-blocked = BLOCKED
cli-state-not-activated = not activated
cli-state-ready = ready
cli-pin-change-context = Change the { $secret } of the card in { $name }.
cli-pin-unblock-context = Unblock the { $secret } of the card in { $name } with the PUK.
cli-pin-activate-context = Activate the card in { $name }: set its { $secret } with the PUK from the PIN envelope.
cli-pin-changed = The { $secret } was changed.
cli-pin-unblocked = The { $secret } was unblocked.
cli-pin-activated = The { $secret } is set: the card is ready to use.
cli-pin-already-active = The PINs of this card are already activated: nothing to do. To choose a new PIN, run `mohur pin change`.
cli-sign-context = Sign this file with your ID card:
cli-signed = Signed by { $holder }: { $name }
cli-sign-pdf-detached = A PDF is signed inside the file (PAdES): --detached is for other files. Use --format cades to sign the PDF as a separate .p7s.
cli-sign-not-over-original = mohur never writes over the file it signs: { $name } is the original. Choose another --out.
cli-sign-pdf-pages = PDF, pages: { $pages }
cli-sign-lta-pdf-only = --level LTA is made for PDFs (a document time-stamp over the file); for other files use --level LT.
cli-sign-one-file = Give one file, or several with --format asice to sign them together in a container.
cli-sign-bad-tsa = --tsa { $url }: a time-stamping authority is an http:// or https:// URL.
cli-error-timestamp = The time-stamp could not be obtained ({ $what }); nothing was written. --level B signs without a time-stamp.
cli-error-ltv = The validation data for --level LT could not be had ({ $what }); nothing was written. --level T signs without it.
cli-error-document = This file cannot be signed as a PDF ({ $what }); nothing was written.
cli-error-container = The container cannot be made or read ({ $what }); nothing was written.
cli-verify-valid = The signature is VALID.
cli-verify-invalid = The signature is NOT valid.
cli-label-timestamp = Time-stamp
cli-label-level = Level
cli-label-claimed-time = Time claimed by the signer's computer
cli-verify-pdf-count = Signatures in this PDF: { $n }
cli-verify-pdf-signature = Signature { $n } ({ $field }):
cli-verify-no-signature = This file carries no signature.
cli-verify-by-tsa = by { $tsa }
cli-verify-covers-whole = It covers the whole file.
cli-verify-certified = Certifies the document: { $n ->
    [1] no changes allowed after it
    [2] form filling and signing allowed after it
   *[other] form filling, signing and comments allowed after it
}
cli-verify-revocation-good = Not revoked: the CAs' revocation lists say so.
cli-verify-revocation-unknown = Whether these certificates were revoked is not known (no revocation list in the file; --online fetches them): { $who }
cli-verify-document-timestamp = A document time-stamp: it proves the file and the validation data before it existed at its time.
cli-verify-later-signatures = After it the file was changed only by signing or form filling.
cli-verify-changed-after = After it the file was CHANGED, by more than signing and filling in forms.
verify-why-unreadable = The signature cannot be read: the file is damaged, or this is not a signature.
verify-why-unsupported = The signature is of a kind, or made with an algorithm, that this version of mohur does not check.
verify-why-no-content = This signature is kept apart from the file it signs: give that file too (--content).
verify-why-altered = The signed data were CHANGED after signing, or the signature was not made over them.
verify-why-untrusted-issuer = The signer's certificate was not issued by a certification authority you trust.
verify-why-expired = The certificate issued to { $who } had expired at the time of signing (the time-stamp's, or now when there is none).
verify-why-not-yet-valid = The certificate issued to { $who } was not valid yet at the time of signing.
verify-why-revoked = The certificate issued to { $who } was REVOKED.
verify-why-not-for-signing = This certificate may not be used for this kind of signature.
verify-why-wrong-certificate = The signature names another certificate than the one it was made with.
verify-why-bad-timestamp = The time-stamp does not belong to this signature, or cannot be trusted.
verify-why-bad-trust-store = The list of trusted certification authorities cannot be used.
verify-why-unsigned = No signature covers this file.
verify-why-missing-file = A file the signature names is missing from the container.
cli-error-no-service = The smart card service (pcscd) is not running, so no card can be read. Start it with `sudo systemctl start pcscd.socket` (on Windows: the "Smart Card" service), then try again.
cli-error-no-token = No ID card or token found. Insert your card into the reader and try again.
cli-error-no-reader = No such card reader: { $name }. Run `mohur readers` to see the readers' names.
cli-error-token-removed = The card was removed during the operation.
cli-error-wrong-pin = Wrong PIN.
cli-error-wrong-puk = Wrong PUK.
cli-error-pin-format = { $what }
cli-error-pin-blocked = The PIN is blocked. Unblock it with the PUK: `mohur pin unblock`.
cli-error-puk-blocked = The PUK is blocked: the card cannot be unblocked any more. Contact the issuer of your card.
cli-error-not-activated = The card is not activated yet. Activate it with the PUK from the PIN envelope: `mohur pin activate`.
cli-error-cancelled = Cancelled.
cli-error-timeout = Nobody answered the PIN dialog in time.
cli-error-no-prompter = There is no way to ask for the PIN ({ $what }). Run the command in a terminal, or set MOHUR_PINENTRY.
cli-error-several-tokens = There are several cards or tokens: { $what }. Choose one with --reader NAME.
cli-error-read = Cannot read { $name }: { $what }
cli-error-write = Cannot write { $name }: { $what }
cli-error-ca-bundle = The CA certificates in { $name } are not usable: { $what }
cli-error-no-ca-bundle = mohur's CA certificates are not installed. Name them with --ca-bundle FILE.
cli-error-need-content = This signature is detached: the signed file is not inside it. Name the file with --content FILE.
cli-error-other = Error: { $what }
cli-card-module-installed = installed here
cli-card-module-missing = not installed
cli-card-needs-module = { $name }: mohur does not drive this card itself; { $software } does ({ $module }, { $state })
cli-card-no-module = { $name }: no program is known to drive this card yet ({ $note })
cli-card-unknown = A card mohur does not know. If it is an Armenian ID card, install { $software } ({ $module }): mohur then uses it.
