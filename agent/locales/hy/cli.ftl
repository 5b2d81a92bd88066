# Քարտի գործիքները՝ mohur readers, status, certs, pin, sign, verify. Փոփոխականներ՝
# $name (ընթերցիչ կամ ֆայլ), $what (մանրամասն), $secret (որ PIN-ը), $holder (քարտի
# տերը), $n (քանակ).

cli-readers-none = Սմարթ քարտի ընթերցիչ չի գտնվել։ Միացրեք քարտի ընթերցիչը. եթե այն միացված է, ստուգեք, որ դրա դրայվերը տեղադրված է։
cli-reader-empty = քարտ չկա
cli-reader-card = { $what } քարտ
cli-reader-unsupported = քարտ, որը mohur-ը չի ճանաչում
cli-label-reader = Ընթերցիչ
cli-label-module = PKCS#11 մոդուլ
cli-label-profile = Քարտի տեսակ
cli-label-holder = Տեր
cli-label-serial = Սերիական համար
cli-label-subject = Սուբյեկտ
cli-label-issuer = Թողարկող
cli-label-valid = Վավեր է
cli-label-key = Բանալի
cli-label-exported = Պահպանված է
cli-label-signer = Ստորագրող
cli-label-signing-time = Ստորագրման ժամանակ
cli-purpose-auth = նույնականացում
cli-purpose-sign = ստորագրություն
cli-cert-heading = Վկայական ({ $what })
cli-cert-days-left = { $n ->
    [one] մնացել է { $n } օր
   *[other] մնացել է { $n } օր
}
cli-cert-expired = ԺԱՄԿԵՏԸ ԼՐԱՑԵԼ Է
cli-cert-not-yet-valid = դեռ վավեր չէ
cli-pin-auth = PIN1 (նույնականացում)
cli-pin-sign = PIN2 (ստորագրություն)
cli-pin-puk = PUK
cli-pin-piv = PIN
cli-state-blocked = ԱՐԳԵԼԱՓԱԿՎԱԾ Է
cli-state-not-activated = ակտիվացված չէ
cli-state-ready = պատրաստ է
cli-pin-change-context = Փոխեք { $name } ընթերցիչի քարտի { $secret }-ը։
cli-pin-unblock-context = Ապաարգելափակեք { $name } ընթերցիչի քարտի { $secret }-ը PUK-ով։
cli-pin-activate-context = Ակտիվացրեք { $name } ընթերցիչի քարտը՝ սահմանեք դրա { $secret }-ը PIN ծրարի PUK-ով։
cli-pin-changed = { $secret }-ը փոխված է։
cli-pin-unblocked = { $secret }-ը ապաարգելափակված է։
cli-pin-activated = { $secret }-ը սահմանված է. քարտը պատրաստ է օգտագործման։
cli-pin-already-active = Այս քարտի PIN-երն արդեն ակտիվացված են. անելու բան չկա։ Նոր PIN ընտրելու համար գործարկեք `mohur pin change`։
cli-sign-context = Ստորագրեք այս ֆայլը ձեր նույնականացման քարտով՝
cli-signed = Ստորագրել է { $holder }-ը՝ { $name }
cli-sign-pdf-detached = PDF-ը ստորագրվում է ֆայլի ներսում (PAdES). --detached-ը այլ ֆայլերի համար է։ PDF-ը առանձին .p7s-ով ստորագրելու համար ընտրեք --format cades։
cli-sign-not-over-original = mohur-ը երբեք չի գրում իր ստորագրած ֆայլի վրա. { $name }-ը բնօրինակն է։ Ընտրեք այլ --out։
cli-sign-pdf-pages = PDF, էջեր՝ { $pages }
cli-sign-lta-pdf-only = --level LTA-ն PDF-ների համար է (փաստաթղթի ժամանակադրոշմ ամբողջ ֆայլի վրա). այլ ֆայլերի համար ընտրեք --level LT։
cli-sign-one-file = Տվեք մեկ ֆայլ, կամ մի քանիսը՝ --format asice-ով դրանք միասին կոնտեյներում ստորագրելու համար։
cli-sign-bad-tsa = --tsa { $url }. ժամանակի դրոշմի ծառայությունը http:// կամ https:// հասցե է։
cli-error-timestamp = Ժամանակի դրոշմը ստանալ չհաջողվեց ({ $what }). ոչինչ չի գրվել։ --level B-ն ստորագրում է առանց ժամանակի դրոշմի։
cli-error-ltv = --level LT-ի ստուգման տվյալները ստանալ չհաջողվեց ({ $what }). ոչինչ չի գրվել։ --level T-ն ստորագրում է առանց դրանց։
cli-error-document = Այս ֆայլը չի կարող ստորագրվել որպես PDF ({ $what }). ոչինչ չի գրվել։
cli-error-container = Կոնտեյները չի ստեղծվում կամ չի կարդացվում ({ $what }). ոչինչ չի գրվել։
cli-verify-valid = Ստորագրությունը ՎԱՎԵՐ է։
cli-verify-invalid = Ստորագրությունը ՎԱՎԵՐ ՉԷ։
cli-label-timestamp = Ժամանակի դրոշմ
cli-label-level = Մակարդակ
cli-label-claimed-time = Ստորագրողի համակարգչի նշած ժամանակը
cli-verify-pdf-count = Այս PDF-ի ստորագրությունները՝ { $n }
cli-verify-pdf-signature = Ստորագրություն { $n } ({ $field }).
cli-verify-no-signature = Այս ֆայլը ստորագրություն չունի։
cli-verify-by-tsa = տվել է՝ { $tsa }
cli-verify-covers-whole = Այն ընդգրկում է ամբողջ ֆայլը։
cli-verify-certified = Հավաստում է փաստաթուղթը՝ { $n ->
    [1] դրանից հետո ոչ մի փոփոխություն չի թույլատրվում
    [2] դրանից հետո թույլատրվում են ձևերի լրացումը և ստորագրումը
   *[other] դրանից հետո թույլատրվում են ձևերի լրացումը, ստորագրումը և մեկնաբանությունները
}
cli-verify-revocation-good = Չեղարկված չէ. հավաստագրման կենտրոնների չեղարկման ցուցակներն այդպես են ասում։
cli-verify-revocation-unknown = Հայտնի չէ՝ արդյոք այս հավաստագրերը չեղարկվել են (ֆայլում չեղարկման ցուցակ չկա. --online-ը դրանք ներբեռնում է)՝ { $who }
cli-verify-document-timestamp = Փաստաթղթի ժամանակի դրոշմ. այն ապացուցում է, որ ֆայլը և դրանից առաջ եղած ստուգման տվյալները գոյություն են ունեցել այդ պահին։
cli-verify-later-signatures = Դրանից հետո ֆայլը փոխվել է միայն ստորագրմամբ կամ ձևի լրացմամբ։
cli-verify-changed-after = Դրանից հետո ֆայլը ՓՈԽՎԵԼ Է, և ոչ միայն ստորագրմամբ կամ ձևերի լրացմամբ։
verify-why-unreadable = Ստորագրությունը հնարավոր չէ կարդալ. ֆայլը վնասված է, կամ սա ստորագրություն չէ։
verify-why-unsupported = Ստորագրությունն այնպիսի տեսակի է կամ այնպիսի ալգորիթմով է ստեղծված, որը mohur-ի այս տարբերակը չի ստուգում։
verify-why-no-content = Այս ստորագրությունը պահվում է իր ստորագրած ֆայլից առանձին. տվեք նաև այդ ֆայլը (--content)։
verify-why-altered = Ստորագրված տվյալները ստորագրելուց հետո ՓՈԽՎԵԼ ԵՆ, կամ ստորագրությունը դրանց վրա չի ստեղծվել։
verify-why-untrusted-issuer = Ստորագրողի հավաստագիրը տրված չէ ձեր վստահած հավաստագրման կենտրոնի կողմից։
verify-why-expired = { $who } անունով տրված հավաստագրի ժամկետը ստորագրման պահին (ժամանակի դրոշմի պահին, իսկ դրա բացակայության դեպքում՝ հիմա) արդեն լրացել էր։
verify-why-not-yet-valid = { $who } անունով տրված հավաստագիրը ստորագրման պահին դեռ ուժի մեջ չէր։
verify-why-revoked = { $who } անունով տրված հավաստագիրը ՉԵՂԱՐԿՎԵԼ Է։
verify-why-not-for-signing = Այս հավաստագիրը չի կարող օգտագործվել այս տեսակի ստորագրության համար։
verify-why-wrong-certificate = Ստորագրությունը նշում է այլ հավաստագիր, քան այն, որով այն ստեղծվել է։
verify-why-bad-timestamp = Ժամանակի դրոշմը չի պատկանում այս ստորագրությանը, կամ դրան հնարավոր չէ վստահել։
verify-why-bad-trust-store = Վստահելի հավաստագրման կենտրոնների ցուցակը հնարավոր չէ օգտագործել։
verify-why-unsigned = Ոչ մի ստորագրություն չի ընդգրկում այս ֆայլը։
verify-why-missing-file = Ստորագրության մեջ նշված ֆայլը կոնտեյներում չկա։
cli-error-no-service = Սմարթ քարտերի ծառայությունը (pcscd) աշխատում չէ, ուստի ոչ մի քարտ հնարավոր չէ կարդալ։ Գործարկեք այն `sudo systemctl start pcscd.socket` հրամանով (Windows-ում՝ «Smart Card» ծառայությունը) և կրկին փորձեք։
cli-error-no-token = Նույնականացման քարտ կամ թոքեն չի գտնվել։ Տեղադրեք քարտը ընթերցիչի մեջ և կրկին փորձեք։
cli-error-no-reader = Այդպիսի քարտի ընթերցիչ չկա՝ { $name }։ Ընթերցիչների անունները տեսնելու համար գործարկեք `mohur readers`։
cli-error-token-removed = Գործողության ընթացքում քարտը հանվել է։
cli-error-wrong-pin = Սխալ PIN։
cli-error-wrong-puk = Սխալ PUK։
cli-error-pin-format = { $what }
cli-error-pin-blocked = PIN-ը արգելափակված է։ Ապաարգելափակեք այն PUK-ով՝ `mohur pin unblock`։
cli-error-puk-blocked = PUK-ը արգելափակված է. քարտն այլևս հնարավոր չէ ապաարգելափակել։ Դիմեք ձեր քարտը թողարկողին։
cli-error-not-activated = Քարտը դեռ ակտիվացված չէ։ Ակտիվացրեք այն PIN ծրարի PUK-ով՝ `mohur pin activate`։
cli-error-cancelled = Չեղարկված է։
cli-error-timeout = PIN-ի պատուհանին ժամանակին ոչ ոք չպատասխանեց։
cli-error-no-prompter = PIN-ը հարցնելու ոչ մի միջոց չկա ({ $what })։ Գործարկեք հրամանը տերմինալում կամ սահմանեք MOHUR_PINENTRY։
cli-error-several-tokens = Կան մի քանի քարտեր կամ թոքեններ՝ { $what }։ Ընտրեք մեկը --reader ԱՆՈՒՆ-ով։
cli-error-read = Հնարավոր չէ կարդալ { $name }-ը՝ { $what }
cli-error-write = Հնարավոր չէ գրել { $name }-ը՝ { $what }
cli-error-ca-bundle = { $name }-ի CA վկայականներն օգտագործելի չեն՝ { $what }
cli-error-no-ca-bundle = mohur-ի CA վկայականները տեղադրված չեն։ Նշեք դրանք --ca-bundle ՖԱՅԼ-ով։
cli-error-need-content = Այս ստորագրությունն անջատ է. ստորագրված ֆայլը դրա մեջ չէ։ Նշեք ֆայլը --content ՖԱՅԼ-ով։
cli-error-other = Սխալ՝ { $what }
cli-card-module-installed = տեղադրված է այստեղ
cli-card-module-missing = տեղադրված չէ
cli-card-needs-module = { $name }. mohur-ն ինքը չի աշխատում այս քարտի հետ, { $software }-ն է աշխատում ({ $module }, { $state })
cli-card-no-module = { $name }. այս քարտի հետ աշխատող ծրագիր դեռ հայտնի չէ ({ $note })
cli-card-unknown = mohur-ին անծանոթ քարտ։ Եթե սա Հայաստանի նույնականացման քարտ է, տեղադրեք { $software }-ը ({ $module }). mohur-ն այն կօգտագործի։
