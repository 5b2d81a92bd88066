# Գործակալի պատկերակը համակարգային սկուտեղում՝ հուշում, ընտրացանկ և ծանուցումներ։
# Փոփոխականներ՝ $holder (քարտի անունը), $secret (PIN-ի անունը), $n (քանակ),
# $origin (կայք), $what (քարտի տեսակը, PUK-ի անունը կամ սխալը)։

tray-tooltip-no-reader = mohur: քարտի ընթերցիչ չկա
tray-tooltip-no-card = mohur: տեղադրեք ձեր նույնականացման քարտը
tray-tooltip-ready = { $n ->
    [one] mohur: քարտը պատրաստ է
   *[other] mohur: { $n } քարտ պատրաստ է
}
tray-tooltip-blocked = mohur: PIN-ը արգելափակված է
tray-tooltip-error = mohur: սխալ՝ { $what }
tray-token = { $holder } ({ $what })
tray-usb-token = USB բանալի
tray-unknown-holder = անհայտ տնօրինող
tray-secret-pin = PIN
tray-secret-pin1 = PIN1 (մուտք)
tray-secret-pin2 = PIN2 (ստորագրություն)
tray-secret-puk = PUK
tray-secret-so-pin = անվտանգության ադմինիստրատորի PIN
tray-pin-tries = { $secret }՝ { $n ->
    [one] մնացել է 1 փորձ
   *[other] մնացել է { $n } փորձ
}
tray-pin-last-try = { $secret }՝ մնացել է 1 փորձ, սխալ մուտքագրումը այն կարգելափակի
tray-pin-ready = { $secret }՝ պատրաստ է
tray-pin-blocked = { $secret }՝ արգելափակված է
tray-pin-not-activated = { $secret }՝ ակտիվացված չէ
tray-change-pin = Փոխել { $secret }…
tray-unblock-pin = Ապաարգելափակել { $secret }՝ { $what }-ով…
tray-activate = Ակտիվացնել քարտը…
tray-activate-pin = Ակտիվացնել քարտը՝ սահմանել { $secret }…
tray-allowed-sites = Թույլատրված կայքեր
tray-revoke-site = Չեղարկել { $origin }
tray-configured-site = { $origin } (սահմանված է ադմինիստրատորի կողմից)
tray-no-sites = Դեռ ոչ մի կայք թույլատրված չէ
tray-diagnostics = Ախտորոշում…
tray-sign-document = Ստորագրել փաստաթուղթ…
tray-check-signature = Ստուգել ստորագրությունը…
tray-choose-to-sign = mohur. ընտրեք ստորագրվող փաստաթուղթը
tray-choose-to-check = mohur. ընտրեք ստուգվող ստորագրված ֆայլը
tray-no-file-chooser = այս աշխատասեղանին ֆայլ ընտրելու պատուհան չկա (տեղադրեք zenity կամ kdialog), կամ ստորագրեք տերմինալից. mohur sign ՖԱՅԼ
tray-autostart = Գործարկել մուտքի ժամանակ
tray-autostart-machine = mohur-ը մեկնարկում է այս համակարգչի բոլոր օգտատերերի մուտքի ժամանակ՝ տեղադրման կողմից։ Ձեզ համար անջատելու համար օգտագործեք Առաջադրանքների կառավարչի «Մեկնարկ» ներդիրը։
tray-quit = Ելք
tray-context = Դուք սա խնդրեցիք mohur-ի ընտրացանկում։
tray-notify-inserted-title = Քարտը պատրաստ է
tray-notify-inserted = { $holder }-ի վկայականը կարդացվեց՝ քարտը պատրաստ է։
tray-notify-last-try-title = PIN-ը շուտով կարգելափակվի
tray-notify-last-try = { $holder }-ի քարտի { $secret }-ին մնացել է 1 փորձ։ Եվս մեկ սխալ՝ և այն կարգելափակվի։
tray-diagnostics-title = mohur: ախտորոշում
tray-done-title = mohur
tray-pin-changed = { $secret }-ը փոխվեց։
tray-pin-unblocked = { $secret }-ը սահմանվեց և կրկին կարելի է օգտագործել։
tray-site-revoked = { $origin }-ն այլևս չի կարող օգտագործել ձեր քարտը. այն պետք է նորից թույլտվություն խնդրի։
tray-action-failed = Չստացվեց՝ { $what }
tray-install-cas = Տեղադրել ձեր քարտի վկայագրման կենտրոնները…
tray-cas-title = mohur: վկայագրման կենտրոններ
tray-cas-confirm = { $n } վկայագրման կենտրոն ստացվել է ձեր քարտի վկայականներում նշված հասցեներից և ստուգվել ստորագրություն առ ստորագրություն մինչև արմատը։ Վստահե՞լ դրանց քարտով մուտքի և փաստաթղթերի ստորագրությունների համար (ոչ կայքերի համար)։
tray-cas-install = Տեղադրել
tray-cas-cancel = Չեղարկել
tray-cas-installed = Ձեր քարտի { $n } վկայագրման կենտրոնները տեղադրված են։
