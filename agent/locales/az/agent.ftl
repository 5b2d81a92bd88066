# Agentin öz dialoqları (pinentry və ya terminal).

dialog-title = mohur
# The buttons of mohur's own dialog window (Windows) and of pinentry's PIN dialog.
button-ok = OK
button-cancel = Ləğv et
secret-pin = PIN
secret-sign = imza PIN-i (PIN2)
secret-puk = PUK
prompt-pin = PIN:
prompt-puk = PUK:
secret-enter = { $holder } adına kartın { $secret } kodunu daxil edin.
tries-left = { $n } cəhd qalıb
last-try-warning = DİQQƏT: bu, son cəhddir. Səhv daxil etsəniz, kod bloklanacaq və onu yalnız PUK ilə açmaq olacaq.
blocked-title = mohur: bloklanıb
blocked-pin = { $holder } adına kartın { $secret } kodu çoxlu səhv cəhddən sonra bloklanıb. Onu PIN zərfindəki PUK ilə açın: mohur menyusunda "PIN-i PUK ilə blokdan çıxar" seçin və ya `mohur pin unblock` əmrini işə salın.
blocked-puk = { $holder } adına kartın PUK kodu bloklanıb. Kartı artıq blokdan çıxarmaq mümkün deyil: yeni kart üçün kartı verən quruma müraciət edin.
not-activated-title = mohur: kart aktivləşdirilməyib
not-activated = { $holder } adına kart hələ aktivləşdirilməyib. Onu möhürlü PIN zərfindəki PUK ilə aktivləşdirin: mohur menyusunda "Kartı aktivləşdir" seçin və ya `mohur pin activate` əmrini işə salın.
new-secret = { $holder } adına kart üçün yeni { $secret } seçin ({ $min }–{ $max } rəqəm).
repeat-secret = Yeni { $secret } kodunu yenidən daxil edin.
secrets-differ = İki daxiletmə fərqlidir.
wrong-length = PIN { $min }–{ $max } rəqəmdən ibarət olmalıdır.
digits-only = PIN yalnız rəqəmlərdən ibarət ola bilər.
origin-consent = { $origin } saytı mohur vasitəsilə şəxsiyyət vəsiqənizdən və ya tokeninizdən istifadə etmək istəyir (sertifikatınızı oxumaq, sizi sistemə daxil etmək və imza istəmək üçün; hər biri burada PIN ilə təsdiqlənir). { $origin } saytına icazə verilsin?
button-allow = İcazə ver
button-deny = Rədd et
login-context = Şəxsiyyət vəsiqəniz ilə { $origin } saytına daxil olun.
sign-one = { $origin } bu sənədi imzalamağınızı xahiş edir:
sign-many = { $origin } bu { $n } sənədi imzalamağınızı xahiş edir:
sign-hash = { $origin } saytın özünün hesabladığı bir dəyəri imzalamağınızı xahiş edir. mohur onun nəyi ifadə etdiyini sizə göstərə bilməz: yalnız indi { $origin } saytında sənəd imzalayırsınızsa imzalayın.
pin-management = { $origin } kartınızın PIN kodunu idarə etməyinizi xahiş edir.
unnamed-document = (adsız)
login-title = mohur: giriş
sign-title = mohur: imza
button-login = Daxil ol
button-sign = İmzala
names-from-site = Adlar saytın verdiyi kimidir; hər SHA-256 dəyərini mohur sənədin özündən hesablayıb.
digest-from-site = (sayt tərəfindən hesablanıb: mohur bu sənədi görməyib)
pdf-pages = PDF, səhifə sayı: { $n }
name-from-site = Saytın verdiyi ad: «{ $name }»
# A second agent started without a console (mohurw.exe: the Start menu, a second login).
already-running = mohur artıq işləyir. Onun nişanı bildiriş sahəsində, saatın yanındadır.

# The Web eID host (mohur web-eid).
pin-wrong-try-again = PIN kodu səhvdir. Yenidən cəhd edin.
webeid-insert-card-title = mohur: kartı taxın
webeid-insert-card = { $origin } şəxsiyyət vəsiqənizi və ya USB tokeninizi istəyir. İndi onu taxın: kart tapılan kimi bu pəncərə özü bağlanacaq. OK sorğunu dayandırır.

# Görünən PDF imzasının qutusu (sənəddə qalır).
pdf-visible-signer = Elektron imza ilə imzalayıb: { $name }
pdf-visible-time = Tarix: { $what }
pdf-visible-reason = Səbəb: { $what }
