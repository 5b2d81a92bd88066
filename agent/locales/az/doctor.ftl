# `mohur doctor` (və nişandakı "Diaqnostika…"): hər yoxlama üçün bir sətir, ✓ olmayan
# hər sətrin altında isə düzəliş yolu. Dəyişənlər: $what (təfərrüat), $name (oxuyucu,
# fayl, port və ya sertifikat), $holder (kartdakı ad), $count və $n (rəqəmlər).

doctor-no-answer = { $n } san. ərzində cavab yoxdur
doctor-none = yoxdur
doctor-not-on-this-system = Bu sistemdə lazım deyil
doctor-pcsc-off = PC/SC konfiqurasiyada söndürülüb (pcsc = false)
doctor-skip-no-pcscd = Yoxlanmadı: smart-kart xidmətinə qoşulmaq mümkün olmadı
doctor-skip-no-token = Yoxlanmadı: kart və ya token yoxdur
doctor-skip-no-bundle = Yoxlanmadı: mohur-un CA sertifikatları tapılmadı
doctor-skip-no-installer = Yoxlanmadı: mohur-install-dan nəyin quraşdırıldığını soruşmaq mümkün olmadı
doctor-installer-failed = mohur-install-dan nəyin quraşdırıldığını soruşmaq mümkün olmadı: { $what }
doctor-installer-other-version = { $name } mohur-un başqa versiyasına aiddir: mohur-u yenidən quraşdırın
doctor-tool-failed = { $name } alınmadı: { $what }
doctor-summary-ok = mohur üçün lazım olan hər şey yerindədir.
doctor-summary-problems = { $count ->
    [one] 1 problem tapıldı: ✗ sətrinin altındakı düzəlişə baxın.
   *[other] { $count } problem tapıldı: ✗ sətirlərinin altındakı düzəlişlərə baxın.
}

doctor-pcscd-ok = Smart-kart xidməti (pcscd) işləyir
doctor-pcscd-fail = Smart-kart xidməti pcscd əlçatan deyil (pcscd not reachable): { $what }
doctor-pcscd-fix = onu işə salın: sudo systemctl start pcscd.socket (quraşdırılmayıbsa: sudo apt install pcscd)
doctor-pcscd-fix-windows = kart oxuyucunu qoşun (oxuyucu qoşulanda Windows "Smart Card" xidmətini özü başladır) və ya onu işə salın: sc start SCardSvr (administrator kimi)

doctor-readers-ok = { $count ->
    [one] 1 kart oxuyucu
   *[other] { $count } kart oxuyucu
}: { $what }
doctor-no-readers = Kart oxuyucu tapılmadı
doctor-no-readers-fix = kart oxuyucunu (və ya USB tokeni) qoşun; yenə görünmürsə, istehsalçının drayverini quraşdırın
doctor-reader-missing = { $name } kart oxuyucusu tapılmadı (görünən oxuyucular: { $what })
doctor-reader-missing-fix = onu qoşun və ya oxuyucunun adını düzəldin (~/.config/mohur/agent.toml faylında readers = … və ya --reader)

doctor-token-card = { $name } oxuyucusunda { $holder } adına { $what } kartı
doctor-token-pkcs11 = { $holder } adına token ({ $name })
doctor-no-token = Şəxsiyyət vəsiqəsi və ya token tapılmadı
doctor-no-token-fix = şəxsiyyət vəsiqəsini çipi qabağa və yuxarı baxmaqla oxuyucuya taxın və ya USB tokeni qoşun
doctor-card-unsupported = { $name } oxuyucusundakı kartı mohur tanımır (ATR { $what })
doctor-card-unsupported-fix = şəxsiyyət vəsiqənizdən və ya PIV kartından istifadə edin; bank kartı işləməyəcək
doctor-card-unreadable = { $name } oxuyucusundakı kart oxunmur: { $what }
doctor-card-unreadable-fix = kartı çıxarıb yenidən taxın; kömək etməsə, çipi təmizləyin və başqa oxuyucu yoxlayın

doctor-driver-builtin = Kart drayverləri hazırdır (daxili: PIV, AzeDIT)
doctor-driver-modules = Kart drayverləri hazırdır (daxili: PIV, AzeDIT; istehsalçı modulları: { $what })
doctor-module-fail = { $name } istehsalçı modulu yüklənmir: { $what }
doctor-module-fail-fix = tokenin proqram təminatını istehsalçıdan yenidən quraşdırın və ya modulu ~/.config/mohur/agent.toml faylında pkcs11_modules siyahısından silin

doctor-bundle-ok = mohur-un CA sertifikatları: { $what } ({ $name })
doctor-bundle-missing = mohur-un CA sertifikatları tapılmadı (axtarılan yerlər: { $what })
doctor-bundle-bad = { $name } içindəki mohur CA sertifikatları yararsızdır: { $what }
doctor-bundle-fix = mohur-u yenidən quraşdırın (sudo apt install --reinstall mohur) və ya onları --ca-bundle ilə göstərin

doctor-ca-system-ok = { $count ->
    [one] CA sertifikatı
   *[other] Bütün { $count } CA sertifikatı
} sistem anbarındadır ({ $name })
doctor-ca-system-missing = Sistem anbarında ({ $name }) çatışmır: { $what }
doctor-ca-system-unreadable = { $name } sistem anbarı oxunmur: { $what }
doctor-ca-system-fix = onları quraşdırın: sudo mohur-install install --system

doctor-ca-nss-ok = { $count ->
    [one] CA sertifikatları brauzerin bazasındadır
   *[other] CA sertifikatları bütün { $count } brauzer bazasındadır
}
doctor-ca-nss-missing = { $name } brauzer bazasında çatışmır: { $what }
doctor-ca-nss-fix = onları quraşdırın: mohur-install install (sonra brauzeri yenidən başladın)
doctor-no-nssdb = Brauzerin sertifikat bazası tapılmadı (Chrome, Chromium və ya Firefox)
doctor-certutil-fix = NSS alətlərini quraşdırın: sudo apt install libnss3-tools

doctor-cert-auth = autentifikasiya sertifikatı
doctor-cert-sign = imza sertifikatı
doctor-cert-chain = { $name }, verən: { $what }
doctor-cert-foreign = { $name } mohur-un CA-ları tərəfindən verilməyib (verən: { $what })
doctor-cert-chain-fix = bu kartın sertifikatları mohur-un tanımadığı CA-dandır: milli PKI kartından istifadə edin və ya kartı verən quruma müraciət edin
doctor-chain-loop = verənlər dövrə əmələ gətirir
doctor-cert-unreadable = { $name } oxunmur: { $what }
doctor-cert-days-left = daha { $n } gün etibarlıdır
doctor-cert-expires-soon = { $n } gündən sonra müddəti bitir
doctor-cert-expired = { $n ->
    [0] müddəti bu gün bitib
   *[other] müddəti { $n } gün əvvəl bitib
}
doctor-cert-not-yet = hələ qüvvədə deyil
doctor-cert-renew-fix = müddəti bitməzdən əvvəl sertifikatları kartı verən qurumda yeniləyin
doctor-cert-expired-fix = müddəti bitmiş sertifikatdan artıq istifadə etmək olmaz: kartı verən qurumdan yeni sertifikatlar (və ya yeni kart) alın
doctor-clock-fix = kompüterin tarixini və saatını yoxlayın

doctor-pkcs11-ok = { $count ->
    [0] mohur-un PKCS#11 modulu p11-kit-də qeydiyyatdadır
    [one] mohur-un PKCS#11 modulu p11-kit-də və brauzerin bazasında qeydiyyatdadır
   *[other] mohur-un PKCS#11 modulu p11-kit-də və bütün { $count } brauzer bazasında qeydiyyatdadır
}
doctor-p11kit-missing = mohur-un PKCS#11 modulu p11-kit-də qeydiyyatda deyil (axtarılan yerlər: { $what })
doctor-nss-module-missing = mohur-un PKCS#11 modulu { $name } brauzer bazasında qeydiyyatda deyil
doctor-module-library-missing = qeydiyyatdakı { $name } PKCS#11 modulu mövcud deyil
doctor-pkcs11-fix = onu qeydiyyata alın: mohur-install install (sonra brauzeri yenidən başladın)

doctor-agent-ok = mohur agenti { $name } portunda işləyir ({ $what })
doctor-agent-down = { $name } portunda heç nə cavab vermir: mohur agenti işləmir
doctor-agent-fix = onu işə salın: systemctl --user start mohur (və ya: mohur agent); mohur-install install onu hər girişdə işə salır
doctor-agent-fix-windows = onu Start menyusundan (mohur) işə salın və ya: mohur agent
doctor-agent-other = { $name } portunda başqa proqram cavab verir ({ $what })
doctor-agent-other-fix = həmin proqramı dayandırın və ya mohur-a başqa port verin (~/.config/mohur/agent.toml faylında port = …)

doctor-pin-ready = hazırdır
doctor-pin-blocked = { $name } bloklanıb
doctor-pin-blocked-fix = PIN zərfindəki PUK ilə blokdan çıxarın: mohur pin unblock
doctor-puk-blocked-fix = PUK da bloklanıb: yalnız kartı verən qurum kömək edə bilər (yeni kart)
doctor-pin-not-activated = { $name } hələ aktivləşdirilməyib
doctor-pin-activate-fix = möhürlü PIN zərfindəki PUK ilə aktivləşdirin: mohur pin activate
doctor-pin-last-try-fix = bir səhv daxiletmə onu bloklayacaq: PIN-dən əmin deyilsinizsə, PUK ilə yenisini təyin edin (mohur pin unblock)

doctor-tls-off = wss:// konfiqurasiyada söndürülüb (loopback_tls = false)
doctor-tls-none = wss:// (loopback üzərində TLS) qurulmayıb: yalnız onu tələb edən saytlar üçün lazımdır (mohur-install install --loopback-tls)
doctor-tls-ok = wss:// hazırdır: loopback CA { $name }, açarı ƏS-in açar anbarında, brauzerlər ona etibar edir
doctor-tls-serving = wss:// hazırdır: agent { $what } ünvanında loopback CA { $name } sertifikatı ilə cavab verir
doctor-tls-key-missing = Loopback CA-nın açarı artıq ƏS-in açar anbarında deyil (kompüterin yenidən başladılması nüvə açar anbarını təmizləyir): agent yalnız ws:// xidmət edir
doctor-tls-bad = Loopback CA istifadə oluna bilməz: { $what }
doctor-tls-untrusted = Loopback CA { $name } bu yerlərdə etibarlı deyil: { $what }
doctor-tls-fix = onu yenidən qurun: mohur-install install --loopback-tls (sonra agenti və brauzeri yenidən başladın)
doctor-tls-not-serving = { $name } portundakı agent wss:// ilə cavab vermir ({ $what })
doctor-tls-restart-fix = agenti yenidən başladın ki, loopback CA-nı oxusun: systemctl --user restart mohur (və ya mohur agent-i bağlayıb yenidən işə salın)
doctor-bundle-empty = mohur-un bu yığımında milli CA sertifikatları yoxdur ({ $name } heç birini sabitləmir): onlar yoxlana biləcək yerdə dərc olunmayıb
doctor-bundle-empty-fix = onları kök sertifikatına qədər yoxlanılmaqla öz kartınızdan öyrənin: mohur-install install --from-card (və ya mohur menyusunda "Kartınızın sertifikat mərkəzlərini quraşdırın…")
doctor-ca-system-narrow = Sistem anbarında { $name } deyil: CA-lara yalnız kartla giriş və sənəd imzaları üçün etibar edilir (sistem anbarı onları buna məhdudlaşdıra bilmir)
doctor-ca-system-wide = Sistem anbarında { $name }: köklərə veb saytlar üçün də etibar edilir (--trust-tls-server ilə quraşdırılıb)
doctor-ca-audit-ok = Etibar anbarlarında test sertifikatı və yığımın artıq sadalamadığı CA yoxdur
doctor-ca-audit-flags = Etibar anbarlarında: { $what }
doctor-ca-audit-fix = orada olmamalı olanı silin: mohur-install uninstall, sonra mohur-install install; test sertifikatını əl ilə (certutil -D -n AD -d sql:$HOME/.pki/nssdb)
doctor-card-install-module = { $software } quraşdırın: mohur sonra bu kart üçün onun modulundan istifadə edəcək
# Windows, and the autostart check.
doctor-scardsvr-ok = Smart-kart xidməti (SCardSvr) işləyir
doctor-scardsvr-fail = Smart-kart xidmətinə (SCardSvr) qoşulmaq mümkün deyil: { $what }
doctor-browsers-windows = Chrome və Edge CA-ları Windows sertifikat anbarından götürür (yuxarıda yoxlanıb)
doctor-firefox-policy-ok = Firefox mohur modulunu yükləyir (SecurityDevices siyasəti); Chrome və Edge-ə lazım deyil
doctor-firefox-policy-missing = Firefox siyasəti mohur modulunu { $name } yükləmir (Chrome və Edge-ə lazım deyil)
doctor-repair-windows = mohur-u bərpa edin: Parametrlər → Tətbiqlər → mohur → Dəyişdir, və ya onun .msi faylını yenidən işə salın
doctor-autostart-ok = Agent sistemə girişdə başlayır
doctor-autostart-off = Agent sistemə girişdə başlamır: onu başladana qədər saytlar kartınıza müraciət edə bilməz
doctor-autostart-fix = mohur-un tray menyusunda "Sistemə girişdə başlat" seçin, və ya: mohur-install install
doctor-autostart-fix-windows = bildiriş sahəsindəki mohur menyusunda "Sistemə girişdə başlat" seçin, və ya mohur-u bərpa edin (Parametrlər → Tətbiqlər)
doctor-webeid-mohur = Web eID portalları kartınıza mohur vasitəsilə çatır: { $what }
doctor-webeid-other = Web eID portallarına başqa proqram cavab verir: { $what }
doctor-webeid-other-fix = orada da mohur istifadə etmək üçün: mohur-install install --web-eid (mohur-install uninstall digər proqramı geri qaytarır)
doctor-webeid-none = Buradakı heç bir brauzer Web eID portalları üçün mohur-u işə salmır
doctor-webeid-none-fix = mohur-install install
