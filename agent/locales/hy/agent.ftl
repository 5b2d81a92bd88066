# Գործակալի սեփական երկխոսությունները (pinentry կամ տերմինալ)։

dialog-title = mohur
# The buttons of mohur's own dialog window (Windows) and of pinentry's PIN dialog.
button-ok = Լավ
button-cancel = Չեղարկել
secret-pin = PIN
secret-sign = ստորագրման PIN (PIN2)
secret-puk = PUK
prompt-pin = PIN:
prompt-puk = PUK:
secret-enter = Մուտքագրեք { $holder }-ի քարտի { $secret } կոդը։
tries-left = Մնացել է { $n } փորձ
last-try-warning = ՈՒՇԱԴՐՈՒԹՅՈՒՆ. սա վերջին փորձն է։ Սխալ մուտքագրման դեպքում կոդը կարգելափակվի, և այն հնարավոր կլինի ապաարգելափակել միայն PUK-ով։
blocked-title = mohur: արգելափակված է
blocked-pin = { $holder }-ի քարտի { $secret } կոդը արգելափակվել է չափազանց շատ սխալ փորձերից հետո։ Ապաարգելափակեք այն PIN ծրարի PUK-ով՝ mohur-ի ընտրացանկում ընտրեք «Ապաարգելափակել PIN-ը PUK-ով» կամ գործարկեք `mohur pin unblock`։
blocked-puk = { $holder }-ի քարտի PUK կոդը արգելափակված է։ Քարտն այլևս հնարավոր չէ ապաարգելափակել. նոր քարտի համար դիմեք քարտը տրամադրողին։
not-activated-title = mohur: քարտը ակտիվացված չէ
not-activated = { $holder }-ի քարտը դեռ ակտիվացված չէ։ Ակտիվացրեք այն կնքված PIN ծրարի PUK-ով՝ mohur-ի ընտրացանկում ընտրեք «Ակտիվացնել քարտը» կամ գործարկեք `mohur pin activate`։
new-secret = Ընտրեք նոր { $secret } { $holder }-ի քարտի համար ({ $min }–{ $max } թվանշան)։
repeat-secret = Կրկին մուտքագրեք նոր { $secret } կոդը։
secrets-differ = Երկու մուտքագրումները տարբեր են։
wrong-length = PIN-ը պետք է ունենա { $min }-ից { $max } թվանշան։
digits-only = PIN-ը կարող է պարունակել միայն թվանշաններ։
origin-consent = { $origin } կայքը ցանկանում է mohur-ի միջոցով օգտագործել ձեր նույնականացման քարտը կամ թոքենը (կարդալ ձեր վկայականը, մուտք գործել և ստորագրություններ խնդրել, որոնցից յուրաքանչյուրը հաստատվում է այստեղ ձեր PIN-ով)։ Թույլատրե՞լ { $origin }-ին։
button-allow = Թույլատրել
button-deny = Մերժել
login-context = Մուտք գործեք { $origin } ձեր նույնականացման քարտով։
sign-one = { $origin }-ը խնդրում է ստորագրել այս փաստաթուղթը.
sign-many = { $origin }-ը խնդրում է ստորագրել այս { $n } փաստաթղթերը.
sign-hash = { $origin }-ը խնդրում է ստորագրել մի արժեք, որը կայքն ինքն է հաշվել։ mohur-ը չի կարող ցույց տալ, թե ինչ է այն ներկայացնում. ստորագրեք միայն, եթե հենց հիմա փաստաթուղթ եք ստորագրում { $origin }-ում։
pin-management = { $origin }-ը խնդրում է կառավարել ձեր քարտի PIN-ը։
unnamed-document = (անանուն)
login-title = mohur: մուտք
sign-title = mohur: ստորագրություն
button-login = Մուտք գործել
button-sign = Ստորագրել
names-from-site = Անունները կայքի տվածն են. mohur-ը յուրաքանչյուր SHA-256 հաշվել է հենց փաստաթղթից։
digest-from-site = (հաշվել է կայքը. mohur-ը այս փաստաթուղթը չի տեսել)
pdf-pages = PDF, էջեր՝ { $n }
name-from-site = Կայքն այն անվանում է՝ «{ $name }»
# A second agent started without a console (mohurw.exe: the Start menu, a second login).
already-running = mohur-ն արդեն աշխատում է։ Նրա պատկերակը ծանուցումների տարածքում է՝ ժամացույցի կողքին։

# The Web eID host (mohur web-eid).
pin-wrong-try-again = PIN-ը սխալ է։ Փորձեք կրկին։
webeid-insert-card-title = mohur: տեղադրեք քարտը
webeid-insert-card = { $origin }-ը խնդրում է ձեր նույնականացման քարտը կամ USB տոկենը։ Տեղադրեք այն հիմա․ քարտը գտնելուն պես այս պատուհանը ինքն իրեն կփակվի։ OK-ն դադարեցնում է հարցումը։

# PDF-ի տեսանելի ստորագրության շրջանակը (մնում է փաստաթղթում)։
pdf-visible-signer = Էլեկտրոնային ստորագրությամբ ստորագրել է՝ { $name }
pdf-visible-time = Ամսաթիվ՝ { $what }
pdf-visible-reason = Պատճառ՝ { $what }
