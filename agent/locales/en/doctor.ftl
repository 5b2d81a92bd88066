# `mohur doctor` (and the tray's Diagnostics…): one line per check, and the fix under
# every line that is not ✓. Variables: $what (a detail: names, paths, an error),
# $name (a reader, file, port or certificate), $holder (name on the card),
# $count and $n (numbers: days, tries, databases).

doctor-no-answer = no answer within { $n } s
doctor-none = none
doctor-not-on-this-system = Not needed on this system
doctor-pcsc-off = PC/SC is switched off in the configuration (pcsc = false)
doctor-skip-no-pcscd = Not checked: the smart-card service is not reachable
doctor-skip-no-token = Not checked: no card or token
doctor-skip-no-bundle = Not checked: mohur's CA certificates were not found
doctor-skip-no-installer = Not checked: mohur-install could not be asked what is installed
doctor-installer-failed = mohur-install could not be asked what is installed: { $what }
doctor-installer-other-version = { $name } belongs to another version of mohur: reinstall mohur
doctor-tool-failed = { $name } failed: { $what }
doctor-summary-ok = Everything mohur needs is in place.
doctor-summary-problems = { $count ->
    [one] 1 problem found: see the fix under the ✗ line.
   *[other] { $count } problems found: see the fixes under the ✗ lines.
}

doctor-pcscd-ok = The smart-card service (pcscd) is running
doctor-pcscd-fail = Smart-card service pcscd not reachable: { $what }
doctor-pcscd-fix = start it: sudo systemctl start pcscd.socket (if it is missing: sudo apt install pcscd)
doctor-pcscd-fix-windows = plug in the card reader (Windows starts the Smart Card service when a reader is connected), or start it: sc start SCardSvr (as administrator)

doctor-readers-ok = { $count ->
    [one] 1 card reader
   *[other] { $count } card readers
}: { $what }
doctor-no-readers = No card reader found
doctor-no-readers-fix = plug in the card reader (or the USB token); if it still does not show, install its driver from the vendor
doctor-reader-missing = Card reader { $name } not found (readers seen: { $what })
doctor-reader-missing-fix = plug it in, or correct the reader name (readers = … in ~/.config/mohur/agent.toml, or --reader)

doctor-token-card = { $what } card of { $holder } in { $name }
doctor-token-pkcs11 = token of { $holder } ({ $name })
doctor-no-token = No ID card or token found
doctor-no-token-fix = insert the ID card into the reader, chip first and facing up, or plug in the USB token
doctor-card-unsupported = The card in { $name } is not a card mohur knows (ATR { $what })
doctor-card-unsupported-fix = use your ID card or a PIV card; a bank card will not work
doctor-card-unreadable = The card in { $name } cannot be read: { $what }
doctor-card-unreadable-fix = take the card out and insert it again; if that does not help, clean the chip and try another reader

doctor-driver-builtin = Card drivers ready (built in: PIV, AzeDIT)
doctor-driver-modules = Card drivers ready (built in: PIV, AzeDIT; vendor modules: { $what })
doctor-module-fail = Vendor module { $name } does not load: { $what }
doctor-module-fail-fix = reinstall the token's software from its vendor, or remove the module from pkcs11_modules in ~/.config/mohur/agent.toml

doctor-bundle-ok = mohur's CA certificates: { $what } ({ $name })
doctor-bundle-missing = mohur's CA certificates were not found (looked in { $what })
doctor-bundle-bad = mohur's CA certificates in { $name } cannot be used: { $what }
doctor-bundle-fix = reinstall mohur (sudo apt install --reinstall mohur), or name them with --ca-bundle

doctor-ca-system-ok = { $count ->
    [one] The CA certificate is
   *[other] All { $count } CA certificates are
} in the system store ({ $name })
doctor-ca-system-missing = Missing from the system store ({ $name }): { $what }
doctor-ca-system-unreadable = The system store { $name } cannot be read: { $what }
doctor-ca-system-fix = install them: sudo mohur-install install --system

doctor-ca-nss-ok = { $count ->
    [one] The CA certificates are in the browser database
   *[other] The CA certificates are in all { $count } browser databases
}
doctor-ca-nss-missing = Missing from the browser database { $name }: { $what }
doctor-ca-nss-fix = install them: mohur-install install (then restart the browser)
doctor-no-nssdb = No browser certificate database found (Chrome, Chromium or Firefox)
doctor-certutil-fix = install the NSS tools: sudo apt install libnss3-tools

doctor-cert-auth = authentication certificate
doctor-cert-sign = signing certificate
doctor-cert-chain = { $name } issued by { $what }
doctor-cert-foreign = { $name } is not issued by mohur's CAs (issuer { $what })
doctor-cert-chain-fix = this card's certificates come from a CA mohur does not carry: use a card of the national PKI, or ask the issuer
doctor-chain-loop = the issuers form a loop
doctor-cert-unreadable = { $name } cannot be read: { $what }
doctor-cert-days-left = valid for { $n ->
    [one] 1 more day
   *[other] { $n } more days
}
doctor-cert-expires-soon = expires in { $n ->
    [one] 1 day
   *[other] { $n } days
}
doctor-cert-expired = expired { $n ->
    [0] today
    [one] 1 day ago
   *[other] { $n } days ago
}
doctor-cert-not-yet = not valid yet
doctor-cert-renew-fix = renew the certificates with the card's issuer before they expire
doctor-cert-expired-fix = the expired certificate cannot be used any more: get new certificates (or a new card) from the card's issuer
doctor-clock-fix = check the computer's date and time

doctor-pkcs11-ok = { $count ->
    [0] mohur's PKCS#11 module is registered with p11-kit
    [one] mohur's PKCS#11 module is registered with p11-kit and the browser database
   *[other] mohur's PKCS#11 module is registered with p11-kit and all { $count } browser databases
}
doctor-p11kit-missing = mohur's PKCS#11 module is not registered with p11-kit (looked in { $what })
doctor-nss-module-missing = mohur's PKCS#11 module is not registered in the browser database { $name }
doctor-module-library-missing = the registered PKCS#11 module { $name } does not exist
doctor-pkcs11-fix = register it: mohur-install install (then restart the browser)

doctor-agent-ok = The mohur agent is running on port { $name } ({ $what })
doctor-agent-down = Nothing answers on port { $name }: the mohur agent is not running
doctor-agent-fix = start it: systemctl --user start mohur (or run: mohur agent); mohur-install install starts it at every login
doctor-agent-fix-windows = start it from the Start menu (mohur), or run: mohur agent
doctor-agent-other = Port { $name } is answered by another program ({ $what })
doctor-agent-other-fix = stop that program, or give mohur another port (port = … in ~/.config/mohur/agent.toml)

doctor-pin-ready = ready
doctor-pin-blocked = { $name } is blocked
doctor-pin-blocked-fix = unblock it with the PUK from your PIN envelope: mohur pin unblock
doctor-puk-blocked-fix = the PUK is blocked too: only the card's issuer can help (a new card)
doctor-pin-not-activated = { $name } is not activated yet
doctor-pin-activate-fix = activate it with the PUK from the sealed PIN envelope: mohur pin activate
doctor-pin-last-try-fix = one wrong entry blocks it: if you are not sure of the PIN, set a new one with the PUK (mohur pin unblock)

doctor-tls-off = wss:// is switched off in the configuration (loopback_tls = false)
doctor-tls-none = wss:// (TLS on loopback) is not set up: only sites that need it want it (mohur-install install --loopback-tls)
doctor-tls-ok = wss:// ready: loopback CA { $name }, its key in the OS keyring, trusted by the browsers
doctor-tls-serving = wss:// ready: the agent answers { $what } with a certificate of loopback CA { $name }
doctor-tls-key-missing = The loopback CA's key is no longer in the OS keyring (a restart of the computer clears the kernel keyring): the agent serves ws:// only
doctor-tls-bad = The loopback CA cannot be used: { $what }
doctor-tls-untrusted = Loopback CA { $name } is not trusted in: { $what }
doctor-tls-fix = set it up again: mohur-install install --loopback-tls (then restart the agent and the browser)
doctor-tls-not-serving = The agent on port { $name } does not answer wss:// ({ $what })
doctor-tls-restart-fix = restart the agent so that it reads the loopback CA: systemctl --user restart mohur (or quit and start mohur agent)
doctor-bundle-empty = This build of mohur carries no national CA certificates ({ $name } pins none): they have not been published where they can be checked
doctor-bundle-empty-fix = learn them from your own card, checked up to its root: mohur-install install --from-card (or "Install your card's certificate authorities…" in the mohur menu)
doctor-ca-system-narrow = Not in the system store { $name }: the CAs are trusted only for logging in with the card and for document signatures (the system store cannot limit them to that)
doctor-ca-system-wide = In the system store { $name }: the roots are trusted for web sites too (installed with --trust-tls-server)
doctor-ca-audit-ok = No test certificate and no CA that the bundle no longer lists in the trust stores
doctor-ca-audit-flags = In the trust stores: { $what }
doctor-ca-audit-fix = remove what does not belong there: mohur-install uninstall, then mohur-install install; a test certificate by hand (certutil -D -n NAME -d sql:$HOME/.pki/nssdb)
doctor-card-install-module = install { $software }: mohur then uses its module for this card
# Windows, and the autostart check.
doctor-scardsvr-ok = The Smart Card service (SCardSvr) is running
doctor-scardsvr-fail = The Smart Card service (SCardSvr) is not reachable: { $what }
doctor-browsers-windows = Chrome and Edge take the CAs from the Windows certificate store (checked above)
doctor-firefox-policy-ok = Firefox loads mohur's module (its SecurityDevices policy); Chrome and Edge need none
doctor-firefox-policy-missing = Firefox's policy does not load mohur's module { $name } (Chrome and Edge need none)
doctor-repair-windows = repair mohur: Settings → Apps → mohur → Modify, or run its .msi again
doctor-autostart-ok = The agent starts when you log in
doctor-autostart-off = The agent does not start when you log in: web sites cannot reach your card until you start it
doctor-autostart-fix = turn on "Start at login" in mohur's tray menu, or: mohur-install install
doctor-autostart-fix-windows = turn on "Start at login" in mohur's menu in the notification area, or repair mohur (Settings → Apps)
doctor-webeid-mohur = Web eID portals reach your card through mohur in: { $what }
doctor-webeid-other = another program answers Web eID portals in: { $what }
doctor-webeid-other-fix = to use mohur there too: mohur-install install --web-eid (mohur-install uninstall puts the other program back)
doctor-webeid-none = No browser here starts mohur for Web eID portals
doctor-webeid-none-fix = mohur-install install
