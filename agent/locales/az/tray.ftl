# Agentin sistem tepsisindəki nişanı: ipucu, menyu və masaüstü bildirişləri.
# Dəyişənlər: $holder (kartdakı ad), $secret (PIN-in adı), $n (say), $origin (sayt),
# $what (kartın növü, PUK-un adı və ya xəta).

tray-tooltip-no-reader = mohur: kart oxuyucusu yoxdur
tray-tooltip-no-card = mohur: şəxsiyyət vəsiqənizi daxil edin
tray-tooltip-ready = { $n ->
    [one] mohur: kart hazırdır
   *[other] mohur: { $n } kart hazırdır
}
tray-tooltip-blocked = mohur: PIN bloklanıb
tray-tooltip-error = mohur: xəta: { $what }
tray-token = { $holder } ({ $what })
tray-usb-token = USB açar
tray-unknown-holder = sahibi məlum deyil
tray-secret-pin = PIN
tray-secret-pin1 = PIN1 (giriş)
tray-secret-pin2 = PIN2 (imza)
tray-secret-puk = PUK
tray-secret-so-pin = təhlükəsizlik inzibatçısının PIN-i
tray-pin-tries = { $secret }: { $n ->
    [one] 1 cəhd qalıb
   *[other] { $n } cəhd qalıb
}
tray-pin-last-try = { $secret }: 1 cəhd qalıb, səhv daxil etmə onu bloklayar
tray-pin-ready = { $secret }: hazırdır
tray-pin-blocked = { $secret }: bloklanıb
tray-pin-not-activated = { $secret }: aktivləşdirilməyib
tray-change-pin = { $secret } dəyişdir…
tray-unblock-pin = { $secret } blokunu { $what } ilə aç…
tray-activate = Kartı aktivləşdir…
tray-activate-pin = Kartı aktivləşdir: { $secret } təyin et…
tray-allowed-sites = İcazə verilmiş saytlar
tray-revoke-site = { $origin } icazəsini ləğv et
tray-configured-site = { $origin } (inzibatçı tərəfindən təyin edilib)
tray-no-sites = Hələ heç bir sayta icazə verilməyib
tray-diagnostics = Diaqnostika…
tray-sign-document = Sənədi imzala…
tray-check-signature = İmzanı yoxla…
tray-choose-to-sign = mohur: imzalanacaq sənədi seçin
tray-choose-to-check = mohur: yoxlanacaq imzalı faylı seçin
tray-no-file-chooser = bu iş masasında fayl seçmə pəncərəsi yoxdur (zenity və ya kdialog quraşdırın), və ya terminaldan imzalayın: mohur sign FAYL
tray-autostart = Sistemə girişdə başlat
tray-autostart-machine = mohur bu kompüterin bütün istifadəçiləri üçün quraşdırma tərəfindən sistemə girişdə başladılır. Bunu özünüz üçün söndürmək üçün Tapşırıq menecerinin «Başlanğıc» bölməsindən istifadə edin.
tray-quit = Çıxış
tray-context = Bunu mohur menyusunda istədiniz.
tray-notify-inserted-title = Kart hazırdır
tray-notify-inserted = { $holder } sertifikatı oxundu: kart hazırdır.
tray-notify-last-try-title = PIN bloklanmaq üzrədir
tray-notify-last-try = { $holder } kartının { $secret } üçün 1 cəhd qalıb. Daha bir səhv onu bloklayar.
tray-diagnostics-title = mohur: diaqnostika
tray-done-title = mohur
tray-pin-changed = { $secret } dəyişdirildi.
tray-pin-unblocked = { $secret } təyin edildi və yenidən istifadə oluna bilər.
tray-site-revoked = { $origin } artıq kartınızdan istifadə edə bilməz; yenidən icazə istəməli olacaq.
tray-action-failed = Alınmadı: { $what }
tray-install-cas = Kartınızın sertifikat mərkəzlərini quraşdırın…
tray-cas-title = mohur: sertifikat mərkəzləri
tray-cas-confirm = { $n } sertifikat mərkəzi kartınızın sertifikatlarında göstərilən ünvanlardan alındı və kök sertifikatına qədər imza-imza yoxlanıldı. Onlara kartla giriş və sənəd imzaları üçün (veb saytlar üçün deyil) etibar edilsin?
tray-cas-install = Quraşdır
tray-cas-cancel = İmtina
tray-cas-installed = Kartınızın { $n } sertifikat mərkəzi quraşdırıldı.
