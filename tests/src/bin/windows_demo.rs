//! The Windows build end to end, under wine + Xvfb (run by `scripts/windows.sh`, which
//! makes the wine prefix and the display):
//!
//! `mohur.exe demo` (the agent with its in-process simulated AzeDIT card, since wine's
//! WinSCard is a stub, and the demo portal) runs in a wine virtual desktop; headless
//! Chromium on the Linux side logs in and signs through the portal; mohur's own Windows
//! dialogs appear on the Xvfb display, are read with `dialog-text.exe` (GetWindowTextW,
//! as Windows' accessibility would), photographed (ImageMagick `import`) and typed into
//! with `xdotool`; the relying party verifies the login and `openssl cms -verify -cades`
//! the signature. Then the same dialogs in Azerbaijani and Armenian. Last, `mohur.exe` as
//! the Web eID host, started as a browser starts it: the version message, the status
//! probe, a malformed message, and a login with no card (wine has no PC/SC), whose
//! "insert your card" window is read, photographed and closed.
//!
//! ```text
//! mohur-tests-windows-demo --exe mohur.exe --dialog-text dialog-text.exe --out DIR
//! ```
//! Exits non-zero at the first failed check; screenshots and logs in DIR.

use mohur_tests::browser::Running;
use mohur_tests::free_local_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the demo's dialogs wait for an answer (the TIMEOUT check waits this long).
const PROMPT_TIMEOUT_SECONDS: u64 = 8;
/// The wine virtual desktop the demo runs in (its windows get title bars there).
const DESKTOP: &str = "mohur";

struct Paths {
    exe: PathBuf,
    dialog_text: PathBuf,
    out: PathBuf,
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("windows-demo: FAIL: {msg}");
    // Leave nothing running in the prefix.
    let _ = Command::new("wineserver").arg("-k").status();
    std::process::exit(1)
}

fn check(ok: bool, msg: impl std::fmt::Display) {
    if !ok {
        fail(msg);
    }
}

fn say(msg: impl std::fmt::Display) {
    println!("windows-demo: {msg}");
}

/// `Z:\…`, the path of a Linux file as wine's programs see it.
fn wine_path(p: &Path) -> String {
    format!("Z:{}", p.display()).replace('/', "\\")
}

/// Runs `cmd` to its end. Its output goes through files, not pipes: wine starts its
/// services (winedevice.exe) from the first program that needs them, they inherit that
/// program's handles and live on, and a pipe would never reach its end.
fn run(cmd: &mut Command) -> std::process::Output {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let base = std::env::temp_dir().join(format!("mohur-windows-demo-{}-{n}", std::process::id()));
    let (out, err) = (base.with_extension("out"), base.with_extension("err"));
    let status = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .status()
        .unwrap_or_else(|e| fail(format!("{cmd:?}: {e}")));
    let output = std::process::Output {
        status,
        stdout: std::fs::read(&out).unwrap_or_default(),
        stderr: std::fs::read(&err).unwrap_or_default(),
    };
    let _ = std::fs::remove_file(out);
    let _ = std::fs::remove_file(err);
    output
}

/// One run of `mohur.exe demo` in the virtual desktop.
struct Demo {
    child: Child,
    log: PathBuf,
    portal: String,
    agent: String,
}

impl Demo {
    fn start(paths: &Paths, lang: &str, fresh: bool) -> Demo {
        let dir = paths.out.join("demo");
        std::fs::create_dir_all(&dir).unwrap();
        let config = paths.out.join("agent.toml");
        std::fs::write(&config, format!("prompt_timeout_seconds = {PROMPT_TIMEOUT_SECONDS}\n")).unwrap();
        let (portal_port, agent_port) = (free_local_port(), free_local_port());
        let log = paths.out.join(format!("demo-{lang}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new("wine");
        cmd.arg("explorer")
            .arg(format!("/desktop={DESKTOP},1280x800"))
            .arg(&paths.exe)
            .args(["demo", "--portal-port", &portal_port.to_string(), "--port", &agent_port.to_string()])
            .args(["--dir", &wine_path(&dir), "--config", &wine_path(&config)])
            .env("MOHUR_LANG", lang)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        if fresh {
            cmd.arg("--fresh");
        }
        let child = cmd.spawn().unwrap_or_else(|e| fail(format!("wine: {e}")));
        let demo = Demo {
            child,
            log,
            portal: format!("http://localhost:{portal_port}/"),
            agent: format!("ws://127.0.0.1:{agent_port}/v1"),
        };
        let deadline = Instant::now() + Duration::from_secs(180);
        while !demo.log_text().contains("agent ready") {
            check(Instant::now() < deadline, format!("mohur.exe demo did not start:\n{}", demo.log_text()));
            std::thread::sleep(Duration::from_millis(200));
        }
        say(format!("mohur.exe demo ({lang}) serves {}", demo.portal));
        demo
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = Command::new("wineserver").arg("-k").status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// mohur's dialog as `dialog-text.exe` reads it: its title, then its controls' texts.
fn dialog(paths: &Paths) -> Option<Vec<String>> {
    let out = run(Command::new("wine").arg(&paths.dialog_text));
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect())
}

/// Waits for a dialog to be shown with its texts: the window is listed as soon as it
/// exists, its controls (the description, the buttons) a moment later; on a busy machine
/// a reading between the two gives the title alone, so it is read again until it has
/// more, then once more after the window has had time to paint.
fn wait_dialog(paths: &Paths, what: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(d) = dialog(paths).filter(|d| d.len() > 1) {
            std::thread::sleep(Duration::from_millis(400));
            return dialog(paths).filter(|again| again.len() >= d.len()).unwrap_or(d);
        }
        check(Instant::now() < deadline, format!("no dialog for {what}"));
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn wait_no_dialog(paths: &Paths, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while dialog(paths).is_some() {
        check(Instant::now() < deadline, format!("the dialog stayed open after {what}"));
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn xdotool(args: &[&str]) -> String {
    let out = run(Command::new("xdotool").args(args));
    check(out.status.success(), format!("xdotool {args:?}: {}", String::from_utf8_lossy(&out.stderr)));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The X window of the dialog titled `title` (wine gives every top-level window one).
fn dialog_window(title: &str) -> String {
    let out = run(Command::new("xdotool").args(["search", "--name", &format!("^{}$", regex_escape(title))]));
    String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_else(|| fail(format!("no X window {title:?}"))).into()
}

fn regex_escape(s: &str) -> String {
    s.chars().flat_map(|c| if "\\^$.|?*+()[]{}".contains(c) { vec!['\\', c] } else { vec![c] }).collect()
}

/// Types into the dialog as a person would: a click on its title bar, the keys, Enter.
fn type_into(title: &str, text: &str, then: &str) {
    let window = dialog_window(title);
    let geometry = xdotool(&["getwindowgeometry", "--shell", &window]);
    let width: i32 =
        geometry.lines().find_map(|l| l.strip_prefix("WIDTH=")).and_then(|w| w.parse().ok()).unwrap_or(400);
    xdotool(&["mousemove", "--window", &window, &(width / 2).to_string(), "5", "click", "1"]);
    std::thread::sleep(Duration::from_millis(200));
    if !text.is_empty() {
        xdotool(&["type", "--delay", "60", text]);
    }
    xdotool(&["key", then]);
}

/// A picture of the dialog titled `title`, checked to be a real picture.
fn screenshot(paths: &Paths, title: &str, name: &str) -> PathBuf {
    let file = paths.out.join(format!("{name}.png"));
    let window = dialog_window(title);
    let out = run(Command::new("import").args(["-window", &window]).arg(&file));
    check(out.status.success(), format!("import: {}", String::from_utf8_lossy(&out.stderr)));
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    check(size > 800, format!("{name}.png is {size} bytes: an empty picture"));
    // More than one colour: not a blank window.
    let colours = run(Command::new("identify").args(["-format", "%k"]).arg(&file));
    let colours: u32 = String::from_utf8_lossy(&colours.stdout).trim().parse().unwrap_or(0);
    check(colours > 8, format!("{name}.png has {colours} colours: nothing drawn"));
    file
}

fn portal(demo: &Demo, steps: &str, extra: &[&str]) -> Running {
    let mut args = vec!["--url", &demo.portal, "--steps", steps, "--step-timeout", "90000"];
    args.extend_from_slice(extra);
    Running::start("portal.mjs", &args)
}

fn text_of(d: &[String]) -> String {
    d.join("\n")
}

fn frame(v: &serde_json::Value) -> Vec<u8> {
    let body = v.to_string().into_bytes();
    let mut out = (body.len() as u32).to_le_bytes().to_vec();
    out.extend(body);
    out
}

/// `mohur.exe chrome-extension://ID/` under wine: writes `input`, reads the messages it
/// answers until `answers` came (closing its stdin after them), or until it ends.
struct Host {
    child: Child,
    stdout: std::process::ChildStdout,
    stdin: Option<std::process::ChildStdin>,
}

impl Host {
    fn start(paths: &Paths, config: &Path, input: &[u8]) -> Host {
        use std::io::Write;
        let mut child = Command::new("wine")
            .arg(&paths.exe)
            .arg("chrome-extension://ncibgoaomkmdpilpocfeponihegamlic/")
            .arg("--parent-window=0")
            .env("MOHUR_CONFIG", wine_path(config))
            .env("MOHUR_LANG", "en")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| fail(format!("wine: {e}")));
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input).unwrap_or_else(|e| fail(format!("writing to the host: {e}")));
        let stdout = child.stdout.take().unwrap();
        Host { child, stdout, stdin: Some(stdin) }
    }

    fn read(&mut self) -> serde_json::Value {
        use std::io::Read;
        let mut len = [0u8; 4];
        self.stdout.read_exact(&mut len).unwrap_or_else(|e| fail(format!("the host wrote no message: {e}")));
        let mut body = vec![0u8; u32::from_le_bytes(len) as usize];
        self.stdout.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap_or_else(|e| fail(format!("the host wrote no JSON: {e}")))
    }

    fn finish(mut self) {
        self.stdin.take();
        let _ = self.child.wait();
    }
}

/// The Web eID host of the Windows build.
fn web_eid(paths: &Paths) -> Vec<(String, PathBuf)> {
    let config = paths.out.join("web-eid.toml");
    std::fs::write(
        &config,
        format!("allowed_origins = [\"https://portal.test\"]\nprompt_timeout_seconds = {PROMPT_TIMEOUT_SECONDS}\n"),
    )
    .unwrap();
    let started = Instant::now();
    let mut host = Host::start(paths, &config, &frame(&serde_json::json!({"command": "quit", "arguments": {}})));
    let version = host.read();
    let took = started.elapsed();
    check(version["version"].as_str().is_some_and(|v| v.starts_with("2.5.0+mohur.")), format!("version: {version}"));
    check(host.read() == serde_json::json!({}), "quit is not answered {}");
    host.finish();
    say(format!("Web eID host: version message ({} ms under wine), quit answered", took.as_millis()));

    let mut host = Host::start(paths, &config, &9000u32.to_le_bytes());
    host.read();
    let r = host.read();
    check(r["error"]["code"] == "ERR_WEBEID_NATIVE_INVALID_ARGUMENT", format!("a 9000-byte length gave {r}"));
    host.finish();

    let nonce = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";
    let login = serde_json::json!({"command": "authenticate",
        "arguments": {"challengeNonce": nonce, "origin": "https://portal.test", "lang": "en"}});
    let mut host = Host::start(paths, &config, &frame(&login));
    host.read();
    let d = wait_dialog(paths, "the Web eID host's card request");
    let text = text_of(&d);
    check(d[0] == "mohur: insert your card", format!("no card: dialog title {:?}", d[0]));
    check(text.contains("https://portal.test") && text.contains("Insert it now"), format!("no card:\n{text}"));
    let shot = screenshot(paths, &d[0], "en-web-eid-insert-card");
    type_into(&d[0], "", "Escape");
    let r = host.read();
    check(r["error"]["code"] == "ERR_WEBEID_USER_CANCELLED", format!("closing the card request gave {r}"));
    host.finish();
    wait_no_dialog(paths, "the card request was closed");
    say("Web eID host: no card → the \"insert your card\" window, closed → ERR_WEBEID_USER_CANCELLED");
    vec![("web-eid insert card".into(), shot)]
}

/// English: every behaviour; returns the dialogs' texts for the other languages to
/// differ from.
fn english(paths: &Paths) -> Vec<(String, PathBuf)> {
    let demo = Demo::start(paths, "en", true);
    let mut shots = Vec::new();

    // A wrong PIN: refused by the card, and the next dialog says so.
    let login = portal(&demo, "login", &[]);
    let d = wait_dialog(paths, "the login");
    let title = d[0].clone();
    let text = text_of(&d);
    check(title == "mohur: log in", format!("login dialog title {title:?}"));
    check(text.contains("Log in to http://localhost:"), format!("the login dialog names no origin:\n{text}"));
    check(text.contains("ALIYEVA LEYLA") && text.contains("10 tries left"), format!("login dialog:\n{text}"));
    shots.push(("login".into(), screenshot(paths, &title, "en-login")));
    type_into(&title, "9999", "Return");
    let r = login.finish();
    check(r["errorCode"] == "PIN_INCORRECT", format!("a wrong PIN gave {r}"));
    wait_no_dialog(paths, "a wrong PIN");
    say("a wrong PIN: PIN_INCORRECT");

    let login = portal(&demo, "login", &[]);
    let d = wait_dialog(paths, "the second login");
    check(text_of(&d).contains("9 tries left"), format!("after a wrong PIN the dialog says:\n{}", text_of(&d)));
    type_into(&d[0], "1234", "Return");
    let r = login.finish();
    check(r["steps"]["login"] == "ok", format!("login: {r}"));
    check(r["login"].as_str().unwrap_or("").contains("ALIYEVA LEYLA"), format!("login: {r}"));
    check(demo.log_text().contains("login verified"), "the relying party did not verify the login");
    say("login: 9 tries left shown, the relying party verified the token");

    // A signature: the dialog names the site and the document; OpenSSL checks it.
    let p7s = paths.out.join("agreement.txt.p7s");
    let sign = portal(
        &demo,
        "sign",
        &["--document-name", "agreement.txt", "--document-text", "I agree.", "--save-cms", p7s.to_str().unwrap()],
    );
    let d = wait_dialog(paths, "the signature");
    let text = text_of(&d);
    check(d[0] == "mohur: sign", format!("signing dialog title {:?}", d[0]));
    check(text.contains("agreement.txt"), format!("the signing dialog does not list the document:\n{text}"));
    check(text.contains("http://localhost:"), format!("the signing dialog names no site:\n{text}"));
    shots.push(("sign".into(), screenshot(paths, &d[0], "en-sign")));
    type_into(&d[0], "12345", "Return");
    let r = sign.finish();
    check(r["steps"]["sign"] == "ok", format!("sign: {r}"));
    // The CMS the page saved (content embedded, the chain inside) against the test root alone.
    let root = paths.out.join("demo/pki/root-ca.pem");
    let out = run(Command::new("openssl")
        .args(["cms", "-verify", "-cades", "-binary", "-inform", "DER", "-purpose", "any", "-in"])
        .arg(&p7s)
        .arg("-CAfile")
        .arg(&root));
    check(
        out.status.success() && out.stdout == b"I agree.",
        format!("openssl cms -verify -cades refuses the signature: {}", String::from_utf8_lossy(&out.stderr)),
    );
    say("sign: openssl cms -verify -cades accepts the signature");

    // Escape, and a dialog left alone.
    let login = portal(&demo, "login", &[]);
    let d = wait_dialog(paths, "the login to cancel");
    type_into(&d[0], "", "Escape");
    let r = login.finish();
    check(r["errorCode"] == "USER_CANCELLED", format!("Escape gave {r}"));
    say("Escape: USER_CANCELLED");

    let started = Instant::now();
    let login = portal(&demo, "login", &[]);
    wait_dialog(paths, "the login left alone");
    let r = login.finish();
    check(r["errorCode"] == "TIMEOUT", format!("a dialog left alone gave {r}"));
    check(dialog(paths).is_none(), "the dialog stayed after its timeout");
    say(format!("a dialog left alone: TIMEOUT after {:.1} s", started.elapsed().as_secs_f64()));

    // A site nobody allowed: the consent dialog, answered yes.
    let other = consent(&demo);
    let d = wait_dialog(paths, "the consent");
    let text = text_of(&d);
    check(text.contains("http://localhost:") && text.contains("Allow"), format!("consent dialog:\n{text}"));
    shots.push(("consent".into(), screenshot(paths, &d[0], "en-consent")));
    type_into(&d[0], "", "Return");
    let r = other.finish();
    check(r["ok"] == true, format!("after consent: {r}"));
    say("consent: asked for a new origin, allowed with Enter");
    shots
}

/// The tray icon in the notification area of wine's taskbar, one agent per session
/// (mohurw.exe's second start says so in a dialog, mohur.exe's on the console), and
/// `mohur.exe status` printing on the console.
fn tray_and_process_model(paths: &Paths) {
    let mohurw = paths.exe.with_file_name("mohurw.exe");
    let port = free_local_port().to_string();
    // The virtual desktop with wine's taskbar (its notification area shows tray icons).
    let shell = run(Command::new("wine").args([
        "reg",
        "add",
        &format!("HKCU\\Software\\Wine\\Explorer\\Desktops\\{DESKTOP}"),
        "/v",
        "EnableShell",
        "/t",
        "REG_DWORD",
        "/d",
        "1",
        "/f",
    ]));
    check(shell.status.success(), "wine reg add EnableShell");
    let desktop = Command::new("wine")
        .args(["explorer", &format!("/desktop={DESKTOP},1024x600")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| fail(format!("wine explorer: {e}")));
    let desktop = Desktop(desktop);
    let window = {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = run(Command::new("xdotool").args(["search", "--name", &format!("^{DESKTOP} - Wine desktop$")]));
            if let Some(w) = String::from_utf8_lossy(&out.stdout).lines().next() {
                break w.to_owned();
            }
            check(Instant::now() < deadline, "wine's virtual desktop did not appear");
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    std::thread::sleep(Duration::from_secs(3));
    let tray_area = |name: &str| -> Vec<u8> {
        let file = paths.out.join(format!("{name}.png"));
        let out = run(Command::new("import").args(["-window", &window, "-crop", "120x24+904+576"]).arg(&file));
        check(out.status.success(), format!("import: {}", String::from_utf8_lossy(&out.stderr)));
        let out = run(Command::new("convert").arg(&file).args(["-depth", "8", "rgb:-"]));
        out.stdout
    };
    let before = tray_area("tray-before");
    let log = paths.out.join("tray-agent.log");
    let agent = Command::new("wine")
        .args(["explorer", &format!("/desktop={DESKTOP},1024x600")])
        .arg(&mohurw)
        .args(["agent", "--port", &port, "--no-pcsc", "--no-well-known-modules"])
        .env("MOHUR_LANG", "en")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| fail(format!("wine mohurw.exe: {e}")));
    let _agent = Desktop(agent);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).is_err() {
        check(Instant::now() < deadline, "mohurw.exe agent did not start");
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_secs(3));
    let after = tray_area("tray-icon");
    let full = paths.out.join("tray-desktop.png");
    run(Command::new("import").args(["-window", &window]).arg(&full));
    check(before != after, "no tray icon appeared in wine's notification area (tray-before.png = tray-icon.png)");
    say("the tray icon is in wine's notification area (tray-icon.png)");

    // A second agent from the console: a clear message, a failure exit.
    let second = run(Command::new("wine").arg(&paths.exe).args(["agent", "--port", &port, "--no-pcsc"]));
    let stderr = String::from_utf8_lossy(&second.stderr);
    check(!second.status.success(), "a second mohur.exe agent did not exit");
    check(stderr.contains("another mohur agent is already running"), format!("a second agent said: {stderr}"));
    // A second one from the Start menu (no console): the message in mohur's dialog.
    let started = Command::new("wine")
        .args(["explorer", &format!("/desktop={DESKTOP},1024x600")])
        .arg(&mohurw)
        .args(["agent", "--port", &port, "--no-pcsc"])
        .env("MOHUR_LANG", "en")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| fail(format!("wine mohurw.exe: {e}")));
    let _second = Desktop(started);
    let d = wait_dialog(paths, "a second agent started without a console");
    check(text_of(&d).contains("mohur is already running"), format!("the second agent's dialog:\n{}", text_of(&d)));
    screenshot(paths, &d[0], "en-already-running");
    type_into(&d[0], "", "Return");
    wait_no_dialog(paths, "the already-running message");
    say("one agent per session: a second start says so (console and dialog) and exits");

    // The CLI prints on the console (wine's WinSCard is a stub: status reports its error,
    // as JSON, on stdout all the same).
    let version = run(Command::new("wine").arg(&paths.exe).arg("--version"));
    check(String::from_utf8_lossy(&version.stdout).starts_with("mohur "), "mohur.exe --version printed nothing");
    let status = run(Command::new("wine").arg(&paths.exe).args(["status", "--json"]));
    let printed: Result<serde_json::Value, _> = serde_json::from_slice(&status.stdout);
    check(
        printed.is_ok_and(|v| v.is_object()),
        format!("mohur.exe status --json printed: {}", String::from_utf8_lossy(&status.stdout)),
    );
    say("mohur.exe --version and status print on the console");

    // doctor speaks Windows: the Smart Card service, the Windows store for Chrome and
    // Edge, Firefox's policy, the Run key; each ✗ with a Windows fix.
    let doctor = run(Command::new("wine").arg(&paths.exe).args(["doctor", "--json", "--port", &port]));
    let report: serde_json::Value = serde_json::from_slice(&doctor.stdout)
        .unwrap_or_else(|e| fail(format!("mohur.exe doctor --json: {e}: {}", String::from_utf8_lossy(&doctor.stdout))));
    std::fs::write(paths.out.join("doctor.json"), &doctor.stdout).unwrap();
    let checks = report.as_array().cloned().unwrap_or_default();
    let find = |id: &str| {
        checks
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| fail(format!("doctor has no {id} check: {report}")))
    };
    let text = |id: &str, field: &str| find(id)[field].as_str().unwrap_or("").to_owned();
    check(
        text("pcscd", "message").contains("Smart Card service (SCardSvr)"),
        format!("doctor pcscd: {}", find("pcscd")),
    );
    check(
        text("pcscd", "fix").contains("SCardSvr") && !text("pcscd", "fix").contains("systemctl"),
        format!("doctor pcscd fix: {}", find("pcscd")),
    );
    check(!text("ca-bundle", "fix").contains("apt"), format!("doctor ca-bundle fix: {}", find("ca-bundle")));
    // What is installed comes from mohur-install.exe next to it (`verify --json`).
    check(
        find("ca-bundle")["details"].get("installer_error").is_none(),
        format!("doctor could not ask mohur-install.exe: {}", find("ca-bundle")),
    );
    check(
        text("pkcs11-registered", "message").contains("Firefox"),
        format!("doctor pkcs11-registered: {}", find("pkcs11-registered")),
    );
    check(find("agent")["status"] == "pass", format!("doctor does not see the running agent: {}", find("agent")));
    check(find("autostart")["status"] != "skip", format!("doctor autostart: {}", find("autostart")));
    say("mohur.exe doctor (with mohur-install.exe's findings): Smart Card service, Firefox policy, Run key, Windows fixes");
    let _ = Command::new("wineserver").arg("-k").status();
    drop(desktop);
}

/// A wine process, stopped with the whole prefix when dropped.
struct Desktop(Child);

impl Drop for Desktop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn consent(demo: &Demo) -> Running {
    Running::start(
        "origin.mjs",
        &["--serve", "0", "--agent", &demo.agent, "--method", "status", "--connect-timeout", "60000"],
    )
}

/// Azerbaijani or Armenian: the same three dialogs, photographed, then cancelled.
fn other_language(paths: &Paths, lang: &str) -> Vec<(String, PathBuf)> {
    let demo = Demo::start(paths, lang, false);
    let mut shots = Vec::new();
    for (what, run) in [("login", "login"), ("sign", "sign"), ("consent", "")] {
        let driver = if run.is_empty() { consent(&demo) } else { portal(&demo, run, &[]) };
        let d = wait_dialog(paths, what);
        let text = text_of(&d);
        check(text.contains("http://localhost:"), format!("{lang} {what} dialog names no site:\n{text}"));
        check(
            !text.contains("Log in to") && !text.contains("tries left"),
            format!("{lang} {what} dialog is English:\n{text}"),
        );
        shots.push((what.to_owned(), screenshot(paths, &d[0], &format!("{lang}-{what}"))));
        type_into(&d[0], "", "Escape");
        let _ = driver.finish();
        wait_no_dialog(paths, &format!("Escape in the {lang} {what} dialog"));
    }
    say(format!("{lang}: login, signing and consent dialogs photographed"));
    shots
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut exe, mut dialog_text, mut out) = (None, None, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--exe" => exe = args.next().map(PathBuf::from),
            "--dialog-text" => dialog_text = args.next().map(PathBuf::from),
            "--out" => out = args.next().map(PathBuf::from),
            other => fail(format!("unknown argument {other}")),
        }
    }
    let usage = "usage: mohur-tests-windows-demo --exe mohur.exe --dialog-text dialog-text.exe --out DIR";
    let paths = Paths {
        exe: exe.unwrap_or_else(|| fail(usage)),
        dialog_text: dialog_text.unwrap_or_else(|| fail(usage)),
        out: out.unwrap_or_else(|| fail(usage)),
    };
    check(std::env::var_os("DISPLAY").is_some(), "no DISPLAY (scripts/windows.sh starts Xvfb)");
    std::fs::create_dir_all(&paths.out).unwrap_or_else(|e| fail(format!("{}: {e}", paths.out.display())));

    tray_and_process_model(&paths);
    let mut shots = english(&paths);
    for lang in ["az", "hy"] {
        shots.extend(other_language(&paths, lang));
    }
    shots.extend(web_eid(&paths));
    // Every picture differs from every other: three dialogs in three languages.
    let digests: Vec<(String, Vec<u8>)> =
        shots.iter().map(|(what, file)| (format!("{what} {}", file.display()), std::fs::read(file).unwrap())).collect();
    for (i, (a, da)) in digests.iter().enumerate() {
        for (b, db) in &digests[i + 1..] {
            check(da != db, format!("{a} and {b} are the same picture"));
        }
    }
    say(format!("{} screenshots, all different, in {}", shots.len(), paths.out.display()));
}
