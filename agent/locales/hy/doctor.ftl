# `mohur doctor` (և պատկերակի «Ախտորոշում…»)՝ մեկ տող յուրաքանչյուր ստուգման համար,
# իսկ ✓ չունեցող տողի տակ՝ ուղղելու եղանակը։ Փոփոխականներ՝ $what (մանրամասն), $name
# (ընթերցիչ, ֆայլ, պորտ կամ վկայական), $holder (անունը քարտի վրա), $count և $n (թվեր)։

doctor-no-answer = { $n } վ ընթացքում պատասխան չկա
doctor-none = չկան
doctor-not-on-this-system = Այս համակարգում պետք չէ
doctor-pcsc-off = PC/SC-ն անջատված է կարգավորումներում (pcsc = false)
doctor-skip-no-pcscd = Չստուգվեց՝ սմարթ-քարտերի ծառայությունը հասանելի չէ
doctor-skip-no-token = Չստուգվեց՝ քարտ կամ տոկեն չկա
doctor-skip-no-bundle = Չստուգվեց՝ mohur-ի CA վկայականները չգտնվեցին
doctor-skip-no-installer = Չստուգվեց՝ չհաջողվեց mohur-install-ին հարցնել, թե ինչ է տեղադրված
doctor-installer-failed = Չհաջողվեց mohur-install-ին հարցնել, թե ինչ է տեղադրված՝ { $what }
doctor-installer-other-version = { $name }-ը mohur-ի այլ տարբերակից է՝ վերատեղադրեք mohur-ը
doctor-tool-failed = { $name }-ը ձախողվեց՝ { $what }
doctor-summary-ok = Այն ամենը, ինչ պետք է mohur-ին, տեղում է։
doctor-summary-problems = { $count ->
    [one] Գտնվեց 1 խնդիր՝ տե՛ս ուղղումը ✗ տողի տակ։
   *[other] Գտնվեց { $count } խնդիր՝ տե՛ս ուղղումները ✗ տողերի տակ։
}

doctor-pcscd-ok = Սմարթ-քարտերի ծառայությունը (pcscd) աշխատում է
doctor-pcscd-fail = Սմարթ-քարտերի ծառայությունը՝ pcscd, հասանելի չէ (pcscd not reachable)՝ { $what }
doctor-pcscd-fix = գործարկեք այն՝ sudo systemctl start pcscd.socket (եթե տեղադրված չէ՝ sudo apt install pcscd)
doctor-pcscd-fix-windows = միացրեք քարտի ընթերցիչը (Windows-ը «Smart Card» ծառայությունը գործարկում է, երբ ընթերցիչ է միացվում), կամ գործարկեք այն՝ sc start SCardSvr (որպես ադմինիստրատոր)

doctor-readers-ok = { $count ->
    [one] 1 քարտի ընթերցիչ
   *[other] { $count } քարտի ընթերցիչ
}՝ { $what }
doctor-no-readers = Քարտի ընթերցիչ չգտնվեց
doctor-no-readers-fix = միացրեք քարտի ընթերցիչը (կամ USB տոկենը). եթե այն դեռ չի երևում, տեղադրեք արտադրողի դրայվերը
doctor-reader-missing = { $name } քարտի ընթերցիչը չգտնվեց (տեսանելի ընթերցիչներ՝ { $what })
doctor-reader-missing-fix = միացրեք այն կամ ուղղեք ընթերցիչի անունը (readers = … ~/.config/mohur/agent.toml ֆայլում, կամ --reader)

doctor-token-card = { $holder }-ի { $what } քարտը { $name } ընթերցիչում
doctor-token-pkcs11 = { $holder }-ի տոկենը ({ $name })
doctor-no-token = Նույնականացման քարտ կամ տոկեն չգտնվեց
doctor-no-token-fix = տեղադրեք նույնականացման քարտը ընթերցիչի մեջ՝ չիպով առաջ և դեպի վեր, կամ միացրեք USB տոկենը
doctor-card-unsupported = { $name } ընթերցիչի քարտը mohur-ին անծանոթ է (ATR { $what })
doctor-card-unsupported-fix = օգտագործեք ձեր նույնականացման քարտը կամ PIV քարտ. բանկային քարտը չի աշխատի
doctor-card-unreadable = { $name } ընթերցիչի քարտը չի կարդացվում՝ { $what }
doctor-card-unreadable-fix = հանեք քարտը և նորից տեղադրեք. եթե չօգնի, մաքրեք չիպը և փորձեք այլ ընթերցիչ

doctor-driver-builtin = Քարտերի դրայվերները պատրաստ են (ներկառուցված՝ PIV, AzeDIT)
doctor-driver-modules = Քարտերի դրայվերները պատրաստ են (ներկառուցված՝ PIV, AzeDIT. արտադրողի մոդուլներ՝ { $what })
doctor-module-fail = Արտադրողի { $name } մոդուլը չի բեռնվում՝ { $what }
doctor-module-fail-fix = վերատեղադրեք տոկենի ծրագիրը արտադրողից, կամ հեռացրեք մոդուլը pkcs11_modules-ից ~/.config/mohur/agent.toml ֆայլում

doctor-bundle-ok = mohur-ի CA վկայականները՝ { $what } ({ $name })
doctor-bundle-missing = mohur-ի CA վկայականները չգտնվեցին (փնտրվել է՝ { $what })
doctor-bundle-bad = mohur-ի CA վկայականները { $name }-ում պիտանի չեն՝ { $what }
doctor-bundle-fix = վերատեղադրեք mohur-ը (sudo apt install --reinstall mohur) կամ նշեք դրանք --ca-bundle-ով

doctor-ca-system-ok = { $count ->
    [one] CA վկայականը համակարգի պահոցում է
   *[other] Բոլոր { $count } CA վկայականները համակարգի պահոցում են
} ({ $name })
doctor-ca-system-missing = Համակարգի պահոցում ({ $name }) բացակայում են՝ { $what }
doctor-ca-system-unreadable = Համակարգի { $name } պահոցը չի կարդացվում՝ { $what }
doctor-ca-system-fix = տեղադրեք դրանք՝ sudo mohur-install install --system

doctor-ca-nss-ok = { $count ->
    [one] CA վկայականները դիտարկիչի տվյալների բազայում են
   *[other] CA վկայականները դիտարկիչների բոլոր { $count } տվյալների բազաներում են
}
doctor-ca-nss-missing = Դիտարկիչի { $name } տվյալների բազայում բացակայում են՝ { $what }
doctor-ca-nss-fix = տեղադրեք դրանք՝ mohur-install install (հետո վերագործարկեք դիտարկիչը)
doctor-no-nssdb = Դիտարկիչի վկայականների բազա չգտնվեց (Chrome, Chromium կամ Firefox)
doctor-certutil-fix = տեղադրեք NSS գործիքները՝ sudo apt install libnss3-tools

doctor-cert-auth = նույնականացման վկայական
doctor-cert-sign = ստորագրման վկայական
doctor-cert-chain = { $name }, թողարկող՝ { $what }
doctor-cert-foreign = { $name }-ը թողարկված չէ mohur-ի CA-ների կողմից (թողարկող՝ { $what })
doctor-cert-chain-fix = այս քարտի վկայականները mohur-ին անծանոթ CA-ից են. օգտագործեք ազգային PKI-ի քարտ կամ դիմեք թողարկողին
doctor-chain-loop = թողարկողները կազմում են օղակ
doctor-cert-unreadable = { $name }-ը չի կարդացվում՝ { $what }
doctor-cert-days-left = վավեր է ևս { $n } օր
doctor-cert-expires-soon = ժամկետը լրանում է { $n } օրից
doctor-cert-expired = { $n ->
    [0] ժամկետը լրացել է այսօր
   *[other] ժամկետը լրացել է { $n } օր առաջ
}
doctor-cert-not-yet = դեռ վավեր չէ
doctor-cert-renew-fix = թարմացրեք վկայականները քարտի թողարկողի մոտ՝ նախքան ժամկետի լրանալը
doctor-cert-expired-fix = ժամկետանց վկայականն այլևս չի կարող օգտագործվել. ստացեք նոր վկայականներ (կամ նոր քարտ) թողարկողից
doctor-clock-fix = ստուգեք համակարգչի ամսաթիվը և ժամը

doctor-pkcs11-ok = { $count ->
    [0] mohur-ի PKCS#11 մոդուլը գրանցված է p11-kit-ում
    [one] mohur-ի PKCS#11 մոդուլը գրանցված է p11-kit-ում և դիտարկիչի տվյալների բազայում
   *[other] mohur-ի PKCS#11 մոդուլը գրանցված է p11-kit-ում և դիտարկիչների բոլոր { $count } բազաներում
}
doctor-p11kit-missing = mohur-ի PKCS#11 մոդուլը գրանցված չէ p11-kit-ում (փնտրվել է՝ { $what })
doctor-nss-module-missing = mohur-ի PKCS#11 մոդուլը գրանցված չէ դիտարկիչի { $name } բազայում
doctor-module-library-missing = գրանցված { $name } PKCS#11 մոդուլը գոյություն չունի
doctor-pkcs11-fix = գրանցեք այն՝ mohur-install install (հետո վերագործարկեք դիտարկիչը)

doctor-agent-ok = mohur գործակալը աշխատում է { $name } պորտում ({ $what })
doctor-agent-down = { $name } պորտում ոչինչ չի պատասխանում՝ mohur գործակալը չի աշխատում
doctor-agent-fix = գործարկեք այն՝ systemctl --user start mohur (կամ՝ mohur agent). mohur-install install-ը այն գործարկում է ամեն մուտքի ժամանակ
doctor-agent-fix-windows = գործարկեք այն Start ցանկից (mohur) կամ՝ mohur agent
doctor-agent-other = { $name } պորտում պատասխանում է այլ ծրագիր ({ $what })
doctor-agent-other-fix = կանգնեցրեք այդ ծրագիրը կամ տվեք mohur-ին այլ պորտ (port = … ~/.config/mohur/agent.toml ֆայլում)

doctor-pin-ready = պատրաստ է
doctor-pin-blocked = { $name }-ը արգելափակված է
doctor-pin-blocked-fix = ապաարգելափակեք այն PIN ծրարի PUK-ով՝ mohur pin unblock
doctor-puk-blocked-fix = PUK-ն էլ է արգելափակված. կարող է օգնել միայն քարտի թողարկողը (նոր քարտ)
doctor-pin-not-activated = { $name }-ը դեռ ակտիվացված չէ
doctor-pin-activate-fix = ակտիվացրեք այն կնքված PIN ծրարի PUK-ով՝ mohur pin activate
doctor-pin-last-try-fix = մեկ սխալ մուտքագրումը այն կարգելափակի. եթե վստահ չեք PIN-ի մեջ, սահմանեք նորը PUK-ով (mohur pin unblock)

doctor-tls-off = wss://-ն անջատված է կարգավորումներում (loopback_tls = false)
doctor-tls-none = wss://-ն (TLS loopback-ի վրա) կարգավորված չէ. այն պետք է միայն այն կայքերին, որոնք դա պահանջում են (mohur-install install --loopback-tls)
doctor-tls-ok = wss://-ն պատրաստ է. loopback CA { $name }, դրա բանալին ՕՀ-ի բանալիների պահոցում է, դիտարկիչները վստահում են դրան
doctor-tls-serving = wss://-ն պատրաստ է. գործակալը { $what } հասցեում պատասխանում է loopback CA { $name }-ի վկայականով
doctor-tls-key-missing = Loopback CA-ի բանալին այլևս ՕՀ-ի բանալիների պահոցում չէ (համակարգչի վերագործարկումը մաքրում է միջուկի պահոցը). գործակալը սպասարկում է միայն ws://
doctor-tls-bad = Loopback CA-ն հնարավոր չէ օգտագործել. { $what }
doctor-tls-untrusted = Loopback CA { $name }-ին չեն վստահում այստեղ՝ { $what }
doctor-tls-fix = կարգավորեք այն կրկին՝ mohur-install install --loopback-tls (ապա վերագործարկեք գործակալը և դիտարկիչը)
doctor-tls-not-serving = { $name } պորտի գործակալը չի պատասխանում wss://-ով ({ $what })
doctor-tls-restart-fix = վերագործարկեք գործակալը, որպեսզի այն կարդա loopback CA-ն՝ systemctl --user restart mohur (կամ փակեք և նորից գործարկեք mohur agent-ը)
doctor-bundle-empty = mohur-ի այս կառուցվածքը ազգային CA վկայականներ չունի ({ $name }-ը ոչ մեկը չի ամրագրում). դրանք հրապարակված չեն այնտեղ, որտեղ հնարավոր է ստուգել
doctor-bundle-empty-fix = սովորեք դրանք ձեր սեփական քարտից՝ ստուգված մինչև արմատը. mohur-install install --from-card (կամ mohur-ի ընտրացանկում «Տեղադրել ձեր քարտի վկայագրման կենտրոնները…»)
doctor-ca-system-narrow = Համակարգային պահոցում { $name } չեն. CA-ներին վստահում են միայն քարտով մուտքի և փաստաթղթերի ստորագրությունների համար (համակարգային պահոցը չի կարող դրանք սահմանափակել դրանով)
doctor-ca-system-wide = Համակարգային պահոցում { $name }. արմատներին վստահում են նաև կայքերի համար (տեղադրված է --trust-tls-server-ով)
doctor-ca-audit-ok = Վստահության պահոցներում չկան թեստային վկայականներ և CA-ներ, որոնք փաթեթն այլևս չի նշում
doctor-ca-audit-flags = Վստահության պահոցներում՝ { $what }
doctor-ca-audit-fix = հեռացրեք այն, ինչ այնտեղ տեղ չունի. mohur-install uninstall, ապա mohur-install install. թեստային վկայականը՝ ձեռքով (certutil -D -n ԱՆՈՒՆ -d sql:$HOME/.pki/nssdb)
doctor-card-install-module = տեղադրեք { $software }-ը. mohur-ն այս քարտի համար կօգտագործի դրա մոդուլը
# Windows, and the autostart check.
doctor-scardsvr-ok = Սմարթ-քարտի ծառայությունը (SCardSvr) աշխատում է
doctor-scardsvr-fail = Սմարթ-քարտի ծառայությունը (SCardSvr) հասանելի չէ: { $what }
doctor-browsers-windows = Chrome-ը և Edge-ը CA-ները վերցնում են Windows-ի վկայագրերի պահոցից (ստուգված է վերևում)
doctor-firefox-policy-ok = Firefox-ը բեռնում է mohur-ի մոդուլը (SecurityDevices քաղաքականություն); Chrome-ին և Edge-ին այն պետք չէ
doctor-firefox-policy-missing = Firefox-ի քաղաքականությունը չի բեռնում mohur-ի { $name } մոդուլը (Chrome-ին և Edge-ին այն պետք չէ)
doctor-repair-windows = վերականգնեք mohur-ը. Կարգավորումներ → Հավելվածներ → mohur → Փոփոխել, կամ կրկին գործարկեք դրա .msi ֆայլը
doctor-autostart-ok = Գործակալը մեկնարկում է մուտքի ժամանակ
doctor-autostart-off = Գործակալը չի մեկնարկում մուտքի ժամանակ. կայքերը չեն կարող հասնել ձեր քարտին, մինչև այն չգործարկեք
doctor-autostart-fix = միացրեք «Գործարկել մուտքի ժամանակ» mohur-ի ընտրացանկում, կամ՝ mohur-install install
doctor-autostart-fix-windows = միացրեք «Գործարկել մուտքի ժամանակ» ծանուցումների տարածքի mohur-ի ընտրացանկում, կամ վերականգնեք mohur-ը (Կարգավորումներ → Հավելվածներ)
doctor-webeid-mohur = Web eID պորտալները ձեր քարտին հասնում են mohur-ի միջոցով՝ { $what }
doctor-webeid-other = Web eID պորտալներին պատասխանում է այլ ծրագիր՝ { $what }
doctor-webeid-other-fix = այնտեղ ևս mohur օգտագործելու համար՝ mohur-install install --web-eid (mohur-install uninstall-ը վերադարձնում է մյուս ծրագիրը)
doctor-webeid-none = Այստեղ ոչ մի դիտարկիչ չի գործարկում mohur-ը Web eID պորտալների համար
doctor-webeid-none-fix = mohur-install install
