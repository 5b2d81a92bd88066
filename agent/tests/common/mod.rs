//! Fixtures for tests that run the real `mohur` binary: a private HOME, the scripted
//! pinentry answering dialogs from a queue file, and a WebSocket client that sends
//! the headers a browser would.
#![allow(dead_code)]

pub mod flood;
pub mod softhsm;
pub mod webeid;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The scripted pinentry (tests/fixtures), a test fixture that speaks Assuan.
pub fn scripted_pinentry() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/scripted-pinentry")
}

/// A pinentry of /bin/sh built-ins that answers GETPIN with the demo card's
/// PIN1, or PIN2 when the dialog asks for the signing PIN (the benchmarks' dialogs: the
/// same Assuan exchange as the scripted pinentry, without Python's start-up).
pub fn quick_pinentry(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("quick-pinentry");
    std::fs::write(
        &path,
        "#!/bin/sh\npin=1234\necho 'OK Pleased to meet you'\nwhile IFS= read -r line; do\n  case \"$line\" in\n    \
         SETDESC*PIN2*) pin=12345; echo OK ;;\n    GETPIN*) echo \"D $pin\"; echo OK ;;\n    \
         BYE*) echo 'OK closing connection'; exit 0 ;;\n    *) echo OK ;;\n  esac\ndone\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A fresh directory under target/.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running `mohur` process.
pub struct AgentProc {
    pub child: Child,
    pub dir: PathBuf,
    pub port: u16,
    pub portal_port: Option<u16>,
    pub stderr_log: PathBuf,
    /// It serves `wss://` too (the loopback TLS).
    pub wss: bool,
}

impl AgentProc {
    /// `mohur demo` with the in-process simulated card, private dirs, and the scripted
    /// pinentry. `extra` goes to the command line.
    pub fn demo(dir: &Path, extra: &[&str]) -> AgentProc {
        let mut args = vec!["demo", "--portal-port", "0", "--port", "0", "--dir"];
        let d = dir.to_str().unwrap().to_owned();
        args.push(&d);
        args.extend_from_slice(extra);
        AgentProc::spawn(dir, &args, &[])
    }

    /// `mohur ARGS` with HOME in `dir`, the scripted pinentry and `env`.
    pub fn spawn(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> AgentProc {
        let log = dir.join("agent.log");
        let mut cmd = mohur_command(dir);
        cmd.args(args)
            .env("MOHUR_LOG", "info,mohur_agent=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start mohur");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut port = None;
        let mut portal_port = None;
        let mut wss = false;
        let deadline = Instant::now() + Duration::from_secs(30);
        let is_demo = args.first() == Some(&"demo");
        while port.is_none() || (is_demo && portal_port.is_none()) {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                let status = child.try_wait();
                panic!("mohur did not start ({status:?}); log:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
            };
            if let Some(rest) = line.strip_prefix("mohur agent: listening on ws://127.0.0.1:") {
                port = rest.split('/').next().and_then(|p| p.parse().ok());
                wss = rest.contains(" and wss://");
            }
            if let Some(rest) = line.strip_prefix("mohur demo: portal at http://localhost:") {
                portal_port = rest.split('/').next().and_then(|p| p.parse().ok());
            }
        }
        AgentProc { child, dir: dir.to_path_buf(), port: port.unwrap(), portal_port, stderr_log: log, wss }
    }

    /// Queues answers for the next dialogs (`pin 1234`, `ok`, `no`, `cancel`, `hang`).
    pub fn queue(&self, lines: &[&str]) {
        let mut text = std::fs::read_to_string(self.dir.join("queue")).unwrap_or_default();
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        std::fs::write(self.dir.join("queue"), text).unwrap();
    }

    /// What the scripted pinentry was shown so far.
    pub fn pinentry_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pinentry.log")).unwrap_or_default()
    }

    /// The agent's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// Connects as a page of `origin` would.
    pub async fn connect(&self, origin: &str) -> Ws {
        connect_with(self.port, &format!("127.0.0.1:{}", self.port), Some(origin)).await.expect("connect")
    }
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Opens a WebSocket to the agent with the given `Host` and `Origin` headers.
pub async fn connect_with(
    port: u16,
    host: &str,
    origin: Option<&str>,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut req = format!("ws://127.0.0.1:{port}/v1").into_client_request().unwrap();
    req.headers_mut().insert("host", host.parse().unwrap());
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    let (ws, _) = tokio_tungstenite::connect_async(req).await?;
    Ok(ws)
}

/// Reads the next JSON message (15 s at most).
pub async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("timed out waiting for a message")
            .expect("socket closed")
            .expect("socket error");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

/// Sends a request and waits for its response, skipping events.
pub async fn call(ws: &mut Ws, id: u64, method: &str, params: Value) -> Value {
    ws.send(Message::text(json!({"id": id, "method": method, "params": params}).to_string())).await.unwrap();
    loop {
        let m = next_json(ws).await;
        if m.get("id") == Some(&json!(id)) {
            return m;
        }
    }
}

/// The error code of a response, or "" for a result.
pub fn code(resp: &Value) -> &str {
    resp["error"]["code"].as_str().unwrap_or("")
}

/// The test PKI the demo generated in `dir`.
pub fn pki(dir: &Path) -> PathBuf {
    dir.join("pki")
}

/// The CA bundle mohur ships (it pins no certificate yet): installs add no CA.
pub fn shipped_ca_bundle() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../installer/ca"))
}

/// `mohur-install ARGS` (the real binary, [`mohur_tests::mohur_install_path`]) for the
/// user whose home is `home`, with keys under the keyring service `service`: its
/// output, or a panic with it when it fails.
pub fn mohur_install(home: &Path, args: &[&OsStr], service: &str) -> String {
    let out = Command::new(mohur_tests::mohur_install_path())
        .args(args)
        .env("HOME", home)
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .env("MOHUR_KEYRING_SERVICE", service)
        .stdin(Stdio::null())
        .output()
        .expect("run mohur-install");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "mohur-install {args:?}: {text}");
    text
}

/// `mohur-install install --loopback-tls` for the user in `home`, as a citizen runs it:
/// a loopback CA whose key goes into the keyring under `service` (deleted again when the
/// returned guard is dropped), trusted in the NSS databases `nssdbs` (created when
/// missing; Chromium's is `home/.pki/nssdb`), which also get mohur's module.
pub fn install_loopback_tls(home: &Path, service: &str, nssdbs: &[PathBuf]) -> impl Drop {
    use mohur_platform::secrets::{OsKeyring, SecretStore};
    struct Forget(String);
    impl Drop for Forget {
        fn drop(&mut self) {
            let _ = OsKeyring::with_service(&self.0).delete(mohur_platform::loopback::KEY_NAME);
        }
    }
    let module = mohur_tests::mohur_pkcs11_path();
    let bundle = shipped_ca_bundle();
    let mut args: Vec<&OsStr> =
        ["install", "--loopback-tls", "--no-autostart", "--no-web-eid", "--agent", "/usr/bin/mohur"]
            .map(OsStr::new)
            .to_vec();
    args.extend([OsStr::new("--module"), module.as_os_str(), OsStr::new("--ca-bundle"), bundle.as_os_str()]);
    for db in nssdbs {
        if !db.join("cert9.db").is_file() {
            std::fs::create_dir_all(db).unwrap();
            let made = Command::new("certutil")
                .args(["-N", "--empty-password", "-d"])
                .arg(format!("sql:{}", db.display()))
                .output()
                .expect("certutil (scripts/deps.sh)");
            assert!(made.status.success(), "certutil -N: {}", String::from_utf8_lossy(&made.stderr));
        }
        args.extend([OsStr::new("--nssdb"), db.as_os_str()]);
    }
    mohur_install(home, &args, service);
    Forget(service.to_owned())
}

/// `mohur` as every test runs it: HOME in `dir`, none of the developer's configuration,
/// display or desktop keyring (the kernel keyring, as in CI), the dialogs in English
/// through the scripted pinentry reading `dir/queue` and logging to `dir/pinentry.log`.
pub fn mohur_command(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mohur"));
    cmd.env("HOME", dir)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_STATE_HOME")
        .env_remove("MOHUR_CONFIG")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("MOHUR_LANG", "en")
        .env("MOHUR_PINENTRY", scripted_pinentry())
        .env("SCRIPTED_PINENTRY_QUEUE", dir.join("queue"))
        .env("SCRIPTED_PINENTRY_LOG", dir.join("pinentry.log"));
    cmd
}

/// `mohur ARGS` with HOME in `dir`, English, the scripted pinentry reading `dir/queue`.
pub fn cli(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = mohur_command(dir);
    cmd.args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run mohur")
}

pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), stderr(out)))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
