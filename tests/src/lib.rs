//! Fixtures for mohur's end-to-end tests: the test PKI, vpcd readers of the
//! pcscd that `scripts/test.sh` starts, simulated cards plugged into them, and
//! OpenSSL as the independent judge of certificates and signatures.
#![forbid(unsafe_code)]

pub mod browser;
pub mod http;
pub mod ocsp;
pub mod pdf;
pub mod tsa;

use mohur_apdu::pcsc_transport::PcscTransport;
use mohur_apdu::{HashAlg, SignInput, SmartCard};
use mohur_card_sim::{provision, Profile, ProvisionOptions, SimCard, SimHandle, StateStore};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Verifier;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509StoreContext, X509};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A scratch directory for this test process.
pub fn scratch_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("mohur-tests-{}", std::process::id()));
        fs::create_dir_all(&d).expect("create scratch dir");
        d
    })
    .clone()
}

/// A fresh directory under the scratch dir.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = scratch_dir().join(format!("{name}-{n}"));
    fs::create_dir_all(&d).expect("create temp dir");
    d
}

/// The test PKI, generated once per test process.
pub fn pki() -> &'static mohur_certs::TestPki {
    static PKI: OnceLock<mohur_certs::TestPki> = OnceLock::new();
    PKI.get_or_init(|| mohur_certs::generate(&scratch_dir().join("pki")).expect("generate test PKI"))
}

/// Holder directory of the test PKI (`piv`, `azedit`, `am`).
pub fn holder_dir(name: &str) -> PathBuf {
    pki().dir.join(name)
}

/// A fresh card state for `profile` with the holder of the same name.
pub fn card_state(profile: Profile, opts: impl FnOnce(&mut ProvisionOptions)) -> mohur_card_sim::CardState {
    let mut o = ProvisionOptions::new(profile);
    opts(&mut o);
    let holder = match profile {
        Profile::Piv => "piv",
        Profile::Azedit => "azedit",
    };
    provision(&holder_dir(holder), &o).expect("provision card")
}

/// Checks with OpenSSL that `cert_der` chains to the test root through the PCA and ICA.
pub fn verify_chain(cert_der: &[u8]) -> Result<(), String> {
    let pki = pki();
    let root = X509::from_pem(&fs::read(&pki.root_cert_pem).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let mut store = X509StoreBuilder::new().map_err(|e| e.to_string())?;
    store.add_cert(root).map_err(|e| e.to_string())?;
    let store = store.build();
    let mut chain = Stack::new().map_err(|e| e.to_string())?;
    for c in X509::stack_from_pem(&fs::read(&pki.chain_pem).map_err(|e| e.to_string())?).map_err(|e| e.to_string())? {
        chain.push(c).map_err(|e| e.to_string())?;
    }
    let cert = X509::from_der(cert_der).map_err(|e| e.to_string())?;
    let mut ctx = X509StoreContext::new().map_err(|e| e.to_string())?;
    let ok = ctx
        .init(&store, &cert, &chain, |c| {
            let ok = c.verify_cert()?;
            Ok(if ok { Ok(c.chain().map(|s| s.len()).unwrap_or(0)) } else { Err(c.error().to_string()) })
        })
        .map_err(|e| e.to_string())??;
    if ok == 4 {
        Ok(())
    } else {
        Err(format!("chain of {ok} certificates, expected 4 (holder, ICA, PCA, root)"))
    }
}

/// Verifies with OpenSSL a signature over `data` (SHA-256) made by the key of
/// `cert_der`. ECDSA signatures come raw (`r ‖ s`) from the drivers.
pub fn verify_signature(cert_der: &[u8], data: &[u8], signature: &[u8]) -> Result<(), String> {
    verify_signature_with(cert_der, MessageDigest::sha256(), data, signature, false)
}

/// Verifies with OpenSSL a signature over `data` hashed with `md`: PKCS#1 v1.5, or
/// PSS with MGF1(`md`) and a salt as long as the hash when `pss`, for RSA keys;
/// ECDSA (raw `r ‖ s`, as drivers and PKCS#11 give it) for EC keys.
pub fn verify_signature_with(
    cert_der: &[u8],
    md: MessageDigest,
    data: &[u8],
    signature: &[u8],
    pss: bool,
) -> Result<(), String> {
    let cert = X509::from_der(cert_der).map_err(|e| e.to_string())?;
    let key = cert.public_key().map_err(|e| e.to_string())?;
    let der;
    let sig = if key.id() == openssl::pkey::Id::EC {
        der = mohur_apdu::signature::ecdsa_raw_to_der(signature).map_err(|e| e.to_string())?;
        &der[..]
    } else {
        signature
    };
    let mut v = Verifier::new(md, &key).map_err(|e| e.to_string())?;
    if pss {
        v.set_rsa_padding(openssl::rsa::Padding::PKCS1_PSS).map_err(|e| e.to_string())?;
        v.set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH).map_err(|e| e.to_string())?;
        v.set_rsa_mgf1_md(md).map_err(|e| e.to_string())?;
    }
    v.update(data).map_err(|e| e.to_string())?;
    match v.verify(sig) {
        Ok(true) => Ok(()),
        Ok(false) => Err("signature does not verify".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// The median of `v` (benchmarks).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// SHA-256 of `data` as the drivers' sign input.
pub fn sha256_input(data: &[u8]) -> SignInput {
    let digest = openssl::sha::sha256(data).to_vec();
    SignInput::Digest { alg: HashAlg::Sha256, digest }
}

/// Loads a PEM private key (for tests that compare key material).
pub fn private_key(path: &Path) -> PKey<openssl::pkey::Private> {
    PKey::private_key_from_pem(&fs::read(path).expect("read key")).expect("parse key")
}

/// Fails the test with a clear message unless the pcscd of `scripts/test.sh` runs.
pub fn require_pcscd() {
    if !Path::new("/run/pcscd/pcscd.comm").exists() {
        panic!(
            "pcscd is not running. These tests need the real pcscd with vpcd readers that \
             scripts/test.sh starts (scripts/pcscd.sh start)."
        );
    }
}

/// A vpcd reader claimed by this test (a lock file keeps parallel tests apart).
pub struct Reader {
    /// TCP port the card side connects to.
    pub port: u16,
    /// PC/SC reader name.
    pub name: String,
    _lock: File,
}

/// Base port and number of vpcd entries (each gives two readers) of our pcscd.
fn vpcd_ports() -> Vec<u16> {
    let base: u16 = std::env::var("MOHUR_VPCD_BASE_PORT").ok().and_then(|v| v.parse().ok()).unwrap_or(35963);
    let entries: u16 = std::env::var("MOHUR_VPCD_ENTRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    (0..entries * 2).map(|i| base + i).collect()
}

/// The PC/SC name of the reader whose card side listens on `port`.
pub fn reader_name(port: u16) -> String {
    let base: u16 = std::env::var("MOHUR_VPCD_BASE_PORT").ok().and_then(|v| v.parse().ok()).unwrap_or(35963);
    let entry_port = base + (port - base) / 2 * 2;
    format!("mohur vpcd {entry_port} 00 {:02}", (port - base) % 2)
}

impl Reader {
    /// Claims a free vpcd reader, waiting up to a minute for one.
    pub fn claim() -> Reader {
        require_pcscd();
        let dir = std::env::temp_dir().join("mohur-vpcd-locks");
        fs::create_dir_all(&dir).expect("lock dir");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            for port in vpcd_ports() {
                let f = File::create(dir.join(format!("{port}.lock"))).expect("lock file");
                if f.try_lock().is_ok() {
                    let reader = Reader { port, name: reader_name(port), _lock: f };
                    // A card a previous user left (or pcscd has not yet seen leave) must be
                    // gone before a test plugs in its own.
                    assert!(reader.wait_card(false, Duration::from_secs(20)), "{} stays occupied", reader.name);
                    return reader;
                }
            }
            assert!(Instant::now() < deadline, "no free vpcd reader for a minute");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until PC/SC reports a card in this reader (or none, with `present = false`).
    pub fn wait_card(&self, present: bool, timeout: Duration) -> bool {
        let ctx = pcsc::Context::establish(pcsc::Scope::User).expect("PC/SC context");
        let name = std::ffi::CString::new(self.name.clone()).expect("reader name");
        let deadline = Instant::now() + timeout;
        let mut states = [pcsc::ReaderState::new(name, pcsc::State::UNAWARE)];
        loop {
            if ctx.get_status_change(Duration::from_millis(200), &mut states).is_ok() {
                let ev = states[0].event_state();
                // Present means usable (not mute); gone means pcscd saw it leave: a
                // mute card is neither.
                let done = if present {
                    ev.contains(pcsc::State::PRESENT) && !ev.contains(pcsc::State::MUTE)
                } else {
                    ev.contains(pcsc::State::EMPTY)
                };
                if done {
                    return true;
                }
                states[0].sync_current_state();
            }
            if Instant::now() >= deadline {
                return false;
            }
        }
    }

    /// Opens the card in this reader with our drivers, through pcscd.
    pub fn open(&self) -> mohur_apdu::Result<Box<dyn SmartCard>> {
        mohur_apdu::open(Box::new(PcscTransport::connect(&self.name)?))
    }
}

/// A simulated card plugged into a claimed vpcd reader, in this process.
pub struct PluggedCard {
    /// The reader.
    pub reader: Reader,
    /// The simulator.
    pub sim: SimHandle,
    /// Its state file.
    pub state_path: PathBuf,
}

impl PluggedCard {
    /// Personalises a card, saves its state to a file and plugs it in.
    pub fn new(state: mohur_card_sim::CardState) -> PluggedCard {
        PluggedCard::plug(state, |c| c)
    }

    /// A card of another kind, answering to reset with `atr` and knowing none of the
    /// applications mohur selects ([`SimCard::foreign`]).
    pub fn foreign(atr: &[u8]) -> PluggedCard {
        let atr = atr.to_vec();
        PluggedCard::plug(card_state(Profile::Piv, |_| {}), move |c| c.foreign(atr))
    }

    fn plug(state: mohur_card_sim::CardState, make: impl FnOnce(SimCard) -> SimCard) -> PluggedCard {
        let reader = Reader::claim();
        let state_path = temp_dir("card").join("state.json");
        let store = StateStore::File(state_path.clone());
        store.save(&state).expect("save state");
        let sim = SimHandle::spawn(make(SimCard::new(state, store).expect("card")), reader.port);
        assert!(sim.wait_connected(Duration::from_secs(10)), "vpcd on port {} did not accept the card", reader.port);
        assert!(reader.wait_card(true, Duration::from_secs(20)), "pcscd did not see the card in {}", reader.name);
        PluggedCard { reader, sim, state_path }
    }

    /// A PIV or AzeDIT card with default secrets.
    pub fn profile(profile: Profile) -> PluggedCard {
        PluggedCard::new(card_state(profile, |_| {}))
    }

    /// APDUs the simulated card has answered since the last [`PluggedCard::reset_apdu_count`].
    pub fn apdu_count(&self) -> u64 {
        self.sim.card().lock().map(|c| c.stats().total).unwrap_or(0)
    }

    /// Starts the APDU count again.
    pub fn reset_apdu_count(&self) {
        if let Ok(mut c) = self.sim.card().lock() {
            c.reset_stats();
        }
    }

    /// Opens it with our drivers through pcscd.
    pub fn open(&self) -> Box<dyn SmartCard> {
        self.reader.open().expect("open card through pcscd")
    }
}

impl Drop for PluggedCard {
    fn drop(&mut self) {
        self.sim.stop();
        // Keep the reader claimed until pcscd has seen the card leave.
        self.reader.wait_card(false, Duration::from_secs(10));
    }
}

/// OpenSC's PKCS#11 module (Debian path).
pub const OPENSC_PKCS11: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";

/// An `opensc.conf` that only tries the PIV and EstEID (`mcrd`) drivers, so OpenSC
/// does not probe ~300 APDUs of other card types.
pub fn opensc_conf() -> PathBuf {
    static CONF: OnceLock<PathBuf> = OnceLock::new();
    CONF.get_or_init(|| {
        let p = scratch_dir().join("opensc.conf");
        // 12 test readers with up to 4 slots each: raise OpenSC's default of 16 slots.
        let conf = "app default {\n  card_drivers = PIV-II, mcrd;\n  framework pkcs15 { use_file_caching = no; }\n}\n\
                    app opensc-pkcs11 {\n  pkcs11 { max_virtual_slots = 64; }\n}\n";
        fs::write(&p, conf).expect("write opensc.conf");
        p
    })
    .clone()
}

impl Reader {
    /// An `opensc.conf` that makes OpenSC see this reader only, so parallel tests
    /// on other readers cannot shift its slot numbers.
    pub fn opensc_conf(&self) -> PathBuf {
        let others: Vec<String> =
            vpcd_ports().into_iter().filter(|p| *p != self.port).map(|p| format!("\"{}\"", reader_name(p))).collect();
        let p = temp_dir("opensc").join("opensc.conf");
        let conf = format!(
            "app default {{\n  card_drivers = PIV-II, mcrd;\n  ignored_readers = {};\n}}\n\
             app opensc-pkcs11 {{\n  pkcs11 {{ max_virtual_slots = 64; }}\n}}\n",
            others.join(", ")
        );
        fs::write(&p, conf).expect("write opensc.conf");
        p
    }
}

/// Runs a command with OpenSC's config; returns (success, stdout + stderr).
pub fn run_tool(program: &str, args: &[&str]) -> (bool, String) {
    run_tool_with(&opensc_conf(), program, args)
}

/// Runs a command with the given `OPENSC_CONF`; returns (success, stdout + stderr).
pub fn run_tool_with(conf: &Path, program: &str, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(program)
        .args(args)
        .env("OPENSC_CONF", conf)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e} (scripts/deps.sh installs it)"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// mohur's PKCS#11 module (`libmohur_pkcs11.so`): cargo builds it as a dev-dependency
/// of this crate, next to the test or bench binary (`target/<profile>/deps`) or one
/// level up (`target/<profile>`). The newest candidate wins.
pub fn mohur_pkcs11_path() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps dir").to_path_buf();
    let candidates = [
        deps.join("libmohur_pkcs11.so"),
        deps.parent().map(|d| d.join("libmohur_pkcs11.so")).unwrap_or_default(),
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/debug/libmohur_pkcs11.so")),
    ];
    candidates
        .iter()
        .filter(|p| p.is_file())
        .max_by_key(|p| fs::metadata(p).and_then(|m| m.modified()).ok())
        .cloned()
        .unwrap_or_else(|| {
            panic!("libmohur_pkcs11.so not found in {candidates:?}: build it with `cargo build -p mohur-pkcs11`")
        })
}

/// `mohur-install` of this build, next to the test binaries (`cargo build --workspace`
/// and `cargo test --workspace` build it), for tests that set a machine up the way a
/// citizen does.
pub fn mohur_install_path() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe.parent().and_then(Path::parent).expect("target dir").to_path_buf();
    let candidates = [
        target.join("mohur-install"),
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/debug/mohur-install")),
    ];
    candidates.iter().find(|p| p.is_file()).cloned().unwrap_or_else(|| {
        panic!("mohur-install not found in {candidates:?}: build it with `cargo build -p mohur-installer`")
    })
}

/// How many pixels differ between two PNGs of one size (ImageMagick's `compare -metric
/// AE`, scripts/deps.sh): how the tests tell that something was drawn.
pub fn pixels_differing(a: &Path, b: &Path) -> u64 {
    let out = std::process::Command::new("compare")
        .args(["-metric", "AE"])
        .arg(a)
        .arg(b)
        .arg("null:")
        .output()
        .expect("compare");
    let said = String::from_utf8_lossy(&out.stderr);
    said.split_whitespace().next().and_then(|n| n.parse::<f64>().ok()).unwrap_or_else(|| panic!("compare: {said}"))
        as u64
}

/// A free TCP port on 127.0.0.1 (bound once, then released for a server to take).
pub fn free_local_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind 127.0.0.1:0").port()
}

/// Percent-encodes `s` for a PKCS#11 URI path attribute (RFC 7512 §2.3).
pub fn pkcs11_uri_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Signs `data` with `pkcs11-tool` and checks the signature with the `openssl`
/// command against the public key of `cert_pem`. `tool_args` pick the module and the
/// slot (`--module M --slot-description R`); `conf` is the `OPENSC_CONF` it runs
/// with. RSA keys use SHA256-RSA-PKCS; EC keys ECDSA over a SHA-256 hash made here.
pub fn pkcs11_tool_signs_and_openssl_verifies(
    conf: &Path,
    tool_args: &[&str],
    data: &[u8],
    (id, pin): (&str, &str),
    cert_pem: &Path,
    rsa: bool,
) {
    let dir = temp_dir("pkcs11-tool-sign");
    let data_file = dir.join("data");
    fs::write(&data_file, data).expect("write data");
    let (input, mech) = if rsa {
        (data_file.clone(), "SHA256-RSA-PKCS")
    } else {
        let hash = dir.join("hash");
        fs::write(&hash, openssl::sha::sha256(data)).expect("write hash");
        (hash, "ECDSA")
    };
    let (input, sig, data_s) =
        (input.display().to_string(), dir.join("sig").display().to_string(), data_file.display().to_string());
    let mut args = tool_args.to_vec();
    args.extend_from_slice(&["--login", "--pin", pin, "--sign", "--id", id, "-m", mech, "-i", &input, "-o", &sig]);
    if !rsa {
        args.extend_from_slice(&["--signature-format", "openssl"]);
    }
    let (ok, out) = run_tool_with(conf, "pkcs11-tool", &args);
    assert!(ok, "pkcs11-tool --sign {tool_args:?} failed:\n{out}");
    let pubkey = dir.join("pub.pem").display().to_string();
    let cert = cert_pem.display().to_string();
    let (ok, out) = run_tool("openssl", &["x509", "-in", &cert, "-pubkey", "-noout", "-out", &pubkey]);
    assert!(ok, "{out}");
    let (ok, out) = run_tool("openssl", &["dgst", "-sha256", "-verify", &pubkey, "-signature", &sig, &data_s]);
    assert!(ok && out.contains("Verified OK"), "openssl rejects the signature made through {tool_args:?}:\n{out}");
}

/// The Python of the virtual environment `scripts/python-deps.sh` makes (with
/// pyca/cryptography).
pub fn python() -> PathBuf {
    let p = pyhanko().with_file_name("python");
    assert!(p.is_file(), "{} is missing: run scripts/python-deps.sh (scripts/test.sh does)", p.display());
    p
}

/// `tests/python/webeid_check.py ARGS` (an independent Web eID relying party, with
/// pyca/cryptography): its verdict, `{"valid": bool, "errors": [...]}`.
pub fn webeid_check(args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = std::process::Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("python/webeid_check.py"))
        .args(args)
        .output()
        .expect("run webeid_check.py");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("webeid_check.py: {e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

/// The `pyhanko` command of the virtual environment `scripts/python-deps.sh` makes
/// (`target/python`, or `$MOHUR_PYTHON_ENV`): the independent PAdES validator.
pub fn pyhanko() -> PathBuf {
    let venv = std::env::var_os("MOHUR_PYTHON_ENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/python"));
    let p = venv.join("bin/pyhanko");
    assert!(p.is_file(), "{} is missing: run scripts/python-deps.sh (scripts/test.sh does)", p.display());
    p
}
