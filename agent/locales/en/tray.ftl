# The tray icon of the agent: its tooltip, its menu and the desktop notifications.
# Variables: $holder (name on the card), $secret (a PIN's name, e.g. "PIN1 (log in)"),
# $n (a count), $origin (a web site), $what (a card type, the PUK's name, or an error).

tray-tooltip-no-reader = mohur: no card reader
tray-tooltip-no-card = mohur: insert your ID card
tray-tooltip-ready = { $n ->
    [one] mohur: card ready
   *[other] mohur: { $n } cards ready
}
tray-tooltip-blocked = mohur: a PIN is blocked
tray-tooltip-error = mohur: error: { $what }
tray-token = { $holder } ({ $what })
tray-usb-token = USB token
tray-unknown-holder = unknown holder
tray-secret-pin = PIN
tray-secret-pin1 = PIN1 (log in)
tray-secret-pin2 = PIN2 (signing)
tray-secret-puk = PUK
tray-secret-so-pin = security officer PIN
tray-pin-tries = { $secret }: { $n ->
    [one] 1 try left
   *[other] { $n } tries left
}
tray-pin-last-try = { $secret }: 1 try left, a wrong entry blocks it
tray-pin-ready = { $secret }: ready
tray-pin-blocked = { $secret }: blocked
tray-pin-not-activated = { $secret }: not activated
tray-change-pin = Change { $secret }…
tray-unblock-pin = Unblock { $secret } with the { $what }…
tray-activate = Activate card…
tray-activate-pin = Activate card: set { $secret }…
tray-allowed-sites = Allowed sites
tray-revoke-site = Revoke { $origin }
tray-configured-site = { $origin } (set by the administrator)
tray-no-sites = No sites allowed yet
tray-diagnostics = Diagnostics…
tray-sign-document = Sign a document…
tray-check-signature = Check a signature…
tray-choose-to-sign = mohur: choose a document to sign
tray-choose-to-check = mohur: choose a signed file to check
tray-no-file-chooser = there is no file chooser on this desktop (install zenity or kdialog), or sign from a terminal: mohur sign FILE
tray-autostart = Start at login
tray-autostart-machine = mohur is started at login for every user of this computer by its installation. To turn that off for you, use the Startup tab of Task Manager.
tray-quit = Quit
tray-context = You asked for this in the mohur menu.
tray-notify-inserted-title = Card ready
tray-notify-inserted = The certificate of { $holder } was read: the card is ready.
tray-notify-last-try-title = PIN about to block
tray-notify-last-try = The { $secret } of the card of { $holder } has 1 try left. One more wrong entry blocks it.
tray-diagnostics-title = mohur: diagnostics
tray-done-title = mohur
tray-pin-changed = The { $secret } was changed.
tray-pin-unblocked = The { $secret } was set and can be used again.
tray-site-revoked = { $origin } may no longer use your card; it will have to ask again.
tray-action-failed = That did not work: { $what }
tray-install-cas = Install your card's certificate authorities…
tray-cas-title = mohur: certificate authorities
tray-cas-confirm = { $n } certificate authorities were fetched from the addresses your card's certificates name and checked signature by signature up to a root. Trust them for logging in with your card and for document signatures (not for web sites)?
tray-cas-install = Install
tray-cas-cancel = Cancel
tray-cas-installed = { $n } certificate authorities of your card are installed.
