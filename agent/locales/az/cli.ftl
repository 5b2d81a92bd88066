# Kart alətləri: mohur readers, status, certs, pin, sign, verify. Dəyişənlər: $name
# (oxuyucu və ya fayl), $what (təfərrüat), $secret (hansı PIN), $holder (kartın
# sahibi), $n (say).

cli-readers-none = Smart kart oxuyucusu tapılmadı. Kart oxuyucusunu qoşun; qoşulubsa, onun drayverinin quraşdırıldığını yoxlayın.
cli-reader-empty = kart yoxdur
cli-reader-card = { $what } kartı
cli-reader-unsupported = mohur-un tanımadığı kart
cli-label-reader = Oxuyucu
cli-label-module = PKCS#11 modulu
cli-label-profile = Kartın növü
cli-label-holder = Sahibi
cli-label-serial = Seriya nömrəsi
cli-label-subject = Subyekt
cli-label-issuer = Verən
cli-label-valid = Etibarlılıq
cli-label-key = Açar
cli-label-exported = Saxlanıldı
cli-label-signer = İmzalayan
cli-label-signing-time = İmzalanma vaxtı
cli-purpose-auth = autentifikasiya
cli-purpose-sign = imza
cli-cert-heading = Sertifikat ({ $what })
cli-cert-days-left = { $n ->
    [one] 1 gün qalıb
   *[other] { $n } gün qalıb
}
cli-cert-expired = MÜDDƏTİ BİTİB
cli-cert-not-yet-valid = hələ qüvvədə deyil
cli-pin-auth = PIN1 (autentifikasiya)
cli-pin-sign = PIN2 (imza)
cli-pin-puk = PUK
cli-pin-piv = PIN
cli-state-blocked = BLOKLANIB
cli-state-not-activated = aktivləşdirilməyib
cli-state-ready = hazırdır
cli-pin-change-context = { $name } oxuyucusundakı kartın { $secret } kodunu dəyişin.
cli-pin-unblock-context = { $name } oxuyucusundakı kartın { $secret } kodunu PUK ilə blokdan çıxarın.
cli-pin-activate-context = { $name } oxuyucusundakı kartı aktivləşdirin: PIN zərfindəki PUK ilə { $secret } kodunu təyin edin.
cli-pin-changed = { $secret } dəyişdirildi.
cli-pin-unblocked = { $secret } blokdan çıxarıldı.
cli-pin-activated = { $secret } təyin edildi: kart istifadəyə hazırdır.
cli-pin-already-active = Bu kartın PIN kodları artıq aktivləşdirilib: ediləcək bir şey yoxdur. Yeni PIN seçmək üçün `mohur pin change` əmrini işə salın.
cli-sign-context = Bu faylı şəxsiyyət vəsiqənizlə imzalayın:
cli-signed = { $holder } tərəfindən imzalandı: { $name }
cli-sign-pdf-detached = PDF faylın içində imzalanır (PAdES): --detached başqa fayllar üçündür. PDF-i ayrıca .p7s kimi imzalamaq üçün --format cades seçin.
cli-sign-not-over-original = mohur imzaladığı faylın üzərinə heç vaxt yazmır: { $name } orijinaldır. Başqa --out seçin.
cli-sign-pdf-pages = PDF, səhifə sayı: { $pages }
cli-sign-lta-pdf-only = --level LTA PDF faylları üçündür (bütün fayl üzərində sənəd zaman damğası); başqa fayllar üçün --level LT seçin.
cli-sign-one-file = Bir fayl verin, və ya bir neçəsini birlikdə konteynerdə imzalamaq üçün --format asice seçin.
cli-sign-bad-tsa = --tsa { $url }: zaman möhürü xidməti http:// və ya https:// ünvanıdır.
cli-error-timestamp = Zaman möhürü alına bilmədi ({ $what }); heç nə yazılmadı. --level B zaman möhürü olmadan imzalayır.
cli-error-ltv = --level LT üçün yoxlama məlumatları alına bilmədi ({ $what }); heç nə yazılmadı. --level T onlarsız imzalayır.
cli-error-document = Bu fayl PDF kimi imzalana bilməz ({ $what }); heç nə yazılmadı.
cli-error-container = Konteyner yaradıla və ya oxuna bilmədi ({ $what }); heç nə yazılmadı.
cli-verify-valid = İmza ETİBARLIDIR.
cli-verify-invalid = İmza etibarlı DEYİL.
cli-label-timestamp = Zaman möhürü
cli-label-level = Səviyyə
cli-label-claimed-time = İmzalayanın kompüterinin bildirdiyi vaxt
cli-verify-pdf-count = Bu PDF-də imza sayı: { $n }
cli-verify-pdf-signature = İmza { $n } ({ $field }):
cli-verify-no-signature = Bu faylda imza yoxdur.
cli-verify-by-tsa = verən: { $tsa }
cli-verify-covers-whole = İmza bütün faylı əhatə edir.
cli-verify-certified = Sənədi təsdiqləyir: { $n ->
    [1] ondan sonra heç bir dəyişikliyə icazə yoxdur
    [2] ondan sonra formaların doldurulmasına və imzalanmasına icazə var
   *[other] ondan sonra formaların doldurulmasına, imzalanmasına və şərhlərə icazə var
}
cli-verify-revocation-good = Ləğv edilməyib: sertifikat mərkəzlərinin ləğv siyahıları bunu təsdiq edir.
cli-verify-revocation-unknown = Bu sertifikatların ləğv edilib-edilmədiyi məlum deyil (faylda ləğv siyahısı yoxdur; --online onları yükləyir): { $who }
cli-verify-document-timestamp = Sənədin zaman möhürü: faylın və ondan əvvəlki yoxlama məlumatlarının həmin vaxt mövcud olduğunu sübut edir.
cli-verify-later-signatures = Ondan sonra fayl yalnız imzalama və ya forma doldurma ilə dəyişib.
cli-verify-changed-after = Ondan sonra fayl imzalama və forma doldurmadan başqa yolla DƏYİŞDİRİLİB.
verify-why-unreadable = İmza oxuna bilmir: fayl zədələnib və ya bu, imza deyil.
verify-why-unsupported = İmza mohur-un bu versiyasının yoxlamadığı növdəndir və ya elə alqoritmlə yaradılıb.
verify-why-no-content = Bu imza imzaladığı fayldan ayrı saxlanılır: həmin faylı da verin (--content).
verify-why-altered = İmzalanmış məlumatlar imzalandıqdan sonra DƏYİŞDİRİLİB və ya imza onlar üzərində yaradılmayıb.
verify-why-untrusted-issuer = İmzalayanın sertifikatı etibar etdiyiniz sertifikat mərkəzi tərəfindən verilməyib.
verify-why-expired = { $who } adına verilmiş sertifikatın müddəti imzalanma vaxtında (zaman möhürünün vaxtında, o olmadıqda isə indi) artıq bitmişdi.
verify-why-not-yet-valid = { $who } adına verilmiş sertifikat imzalanma vaxtında hələ qüvvədə deyildi.
verify-why-revoked = { $who } adına verilmiş sertifikat LƏĞV EDİLİB.
verify-why-not-for-signing = Bu sertifikatdan belə imza üçün istifadə etmək olmaz.
verify-why-wrong-certificate = İmza onu yaradan sertifikatdan başqa bir sertifikatı göstərir.
verify-why-bad-timestamp = Zaman möhürü bu imzaya aid deyil və ya ona etibar etmək olmaz.
verify-why-bad-trust-store = Etibarlı sertifikat mərkəzlərinin siyahısından istifadə etmək mümkün deyil.
verify-why-unsigned = Bu faylı heç bir imza əhatə etmir.
verify-why-missing-file = İmzada adı çəkilən fayl konteynerdə yoxdur.
cli-error-no-service = Smart kart xidməti (pcscd) işləmir, ona görə heç bir kart oxuna bilmir. Onu `sudo systemctl start pcscd.socket` ilə başladın (Windows-da: "Smart Card" xidməti) və yenidən cəhd edin.
cli-error-no-token = Şəxsiyyət vəsiqəsi və ya token tapılmadı. Kartı oxuyucuya taxın və yenidən cəhd edin.
cli-error-no-reader = Belə kart oxuyucusu yoxdur: { $name }. Oxuyucuların adlarını görmək üçün `mohur readers` əmrini işə salın.
cli-error-token-removed = Əməliyyat zamanı kart çıxarıldı.
cli-error-wrong-pin = PIN səhvdir.
cli-error-wrong-puk = PUK səhvdir.
cli-error-pin-format = { $what }
cli-error-pin-blocked = PIN bloklanıb. Onu PUK ilə blokdan çıxarın: `mohur pin unblock`.
cli-error-puk-blocked = PUK bloklanıb: kartı daha blokdan çıxarmaq mümkün deyil. Kartınızı verən quruma müraciət edin.
cli-error-not-activated = Kart hələ aktivləşdirilməyib. Onu PIN zərfindəki PUK ilə aktivləşdirin: `mohur pin activate`.
cli-error-cancelled = Ləğv edildi.
cli-error-timeout = PIN pəncərəsinə vaxtında cavab verilmədi.
cli-error-no-prompter = PIN-i soruşmaq üçün heç bir yol yoxdur ({ $what }). Əmri terminalda işə salın və ya MOHUR_PINENTRY təyin edin.
cli-error-several-tokens = Bir neçə kart və ya token var: { $what }. Birini --reader AD ilə seçin.
cli-error-read = { $name } oxuna bilmir: { $what }
cli-error-write = { $name } yazıla bilmir: { $what }
cli-error-ca-bundle = { $name } içindəki CA sertifikatları istifadəyə yararsızdır: { $what }
cli-error-no-ca-bundle = mohur-un CA sertifikatları quraşdırılmayıb. Onları --ca-bundle FAYL ilə göstərin.
cli-error-need-content = Bu imza ayrıdır: imzalanmış fayl onun içində deyil. Faylı --content FAYL ilə göstərin.
cli-error-other = Xəta: { $what }
cli-card-module-installed = burada quraşdırılıb
cli-card-module-missing = quraşdırılmayıb
cli-card-needs-module = { $name }: mohur bu kartla özü işləmir; { $software } işləyir ({ $module }, { $state })
cli-card-no-module = { $name }: bu kartla işləyən proqram hələ məlum deyil ({ $note })
cli-card-unknown = mohur-un tanımadığı kart. Əgər bu Ermənistan şəxsiyyət vəsiqəsidirsə, { $software } quraşdırın ({ $module }): mohur sonra ondan istifadə edəcək.
