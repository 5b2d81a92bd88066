# The agent's own dialogs (pinentry or the terminal): what the citizen reads before
# typing a PIN or allowing a web site. Variables: $holder (name on the card), $origin
# (the web site), $n (a count), $min/$max (PIN lengths), $context (what is asked).

dialog-title = mohur
# The buttons of mohur's own dialog window (Windows) and of pinentry's PIN dialog.
button-ok = OK
button-cancel = Cancel
secret-pin = PIN
secret-sign = signing PIN (PIN2)
secret-puk = PUK
prompt-pin = PIN:
prompt-puk = PUK:
secret-enter = Enter the { $secret } of the card of { $holder }.
tries-left = { $n ->
    [one] 1 try left
   *[other] { $n } tries left
}
last-try-warning = WARNING: this is the last try. A wrong entry blocks it; then only the PUK can unblock it.
blocked-title = mohur: blocked
blocked-pin = The { $secret } of the card of { $holder } is blocked after too many wrong entries. Unblock it with the PUK from your PIN envelope: choose "Unblock PIN with PUK" in the mohur menu, or run `mohur pin unblock`.
blocked-puk = The PUK of the card of { $holder } is blocked. The card cannot be unblocked any more: contact the issuer of your card for a new one.
not-activated-title = mohur: card not activated
not-activated = The card of { $holder } is not activated yet. Activate it with the PUK from the sealed PIN envelope: choose "Activate card" in the mohur menu, or run `mohur pin activate`.
new-secret = Choose a new { $secret } for the card of { $holder } ({ $min }–{ $max } digits).
repeat-secret = Enter the new { $secret } again.
secrets-differ = The two entries differ.
wrong-length = The PIN must have { $min } to { $max } digits.
digits-only = The PIN may contain digits only.
origin-consent = The web site { $origin } wants to use your ID card or token through mohur (to read your certificate, log you in and ask for signatures, each confirmed here with your PIN). Allow { $origin }?
button-allow = Allow
button-deny = Deny
login-context = Log in to { $origin } with your ID card.
sign-one = { $origin } asks you to sign this document:
sign-many = { $origin } asks you to sign these { $n } documents:
sign-hash = { $origin } asks you to sign a value that the site computed itself. mohur cannot show you what it stands for: sign only if you are signing a document on { $origin } right now.
pin-management = { $origin } asks you to manage your card's PIN.
unnamed-document = (unnamed)
login-title = mohur: log in
sign-title = mohur: sign
button-login = Log in
button-sign = Sign
names-from-site = The names are as the site gives them; mohur computed each SHA-256 from the document itself.
digest-from-site = (computed by the site: mohur has not seen this document)
pdf-pages = PDF, pages: { $n }
name-from-site = The site calls it: «{ $name }»
# A second agent started without a console (mohurw.exe: the Start menu, a second login).
already-running = mohur is already running. Its icon is in the notification area, next to the clock.

# The Web eID host (mohur web-eid).
pin-wrong-try-again = Wrong PIN. Try again.
webeid-insert-card-title = mohur: insert your card
webeid-insert-card = { $origin } asks for your ID card or USB token. Insert it now: this window closes by itself when the card is found. OK stops the request.

# A visible PDF signature's box (the document keeps these words).
pdf-visible-signer = Signed electronically by { $name }
pdf-visible-time = Date: { $what }
pdf-visible-reason = Reason: { $what }
