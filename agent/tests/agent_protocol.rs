//! The agent's WebSocket protocol end to end: the real `mohur` binary (`mohur demo`
//! with its in-process simulated card), a WebSocket client sending a browser's
//! headers, the scripted pinentry answering the agent's dialogs, and OpenSSL checking
//! what comes out.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::*;
use futures_util::SinkExt;
use mohur_agent::demo::relying_party::{verify_auth_token, TrustStore};
use mohur_agent::signing::webeid::AuthToken;
use serde_json::json;
use std::process::Command;
use tokio_tungstenite::tungstenite::Message;

fn origin(agent: &AgentProc) -> String {
    format!("http://localhost:{}", agent.portal_port.unwrap())
}

fn trust(agent: &AgentProc) -> TrustStore {
    let pki = pki(&agent.dir);
    TrustStore::from_pem_files(&pki.join("root-ca.pem"), &pki.join("chain.pem")).unwrap()
}

#[tokio::test]
async fn hello_version_and_status_from_the_allowed_origin() {
    let dir = temp_dir("agent-status");
    let agent = AgentProc::demo(&dir, &[]);
    let mut ws = agent.connect(&origin(&agent)).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["event"], "hello");
    assert_eq!(hello["protocol"], 1);
    assert_eq!(hello["originAllowed"], true);
    let v = call(&mut ws, 1, "version", json!({})).await;
    assert_eq!(v["result"]["protocol"], 1);
    let s = call(&mut ws, 2, "status", json!({})).await;
    let tokens = s["result"]["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{s}");
    let t = &tokens[0];
    assert_eq!(t["type"], "card");
    assert_eq!(t["profile"], "AzeDIT");
    assert_eq!(t["holder"], "ALIYEVA LEYLA");
    assert_eq!(t["keys"][0]["algorithm"], "P-384");
    let pins = t["pins"].as_array().unwrap();
    assert_eq!(pins.len(), 3);
    assert!(pins.iter().all(|p| p["triesLeft"] == 10 && p["state"] == "ready"), "{pins:?}");
    // Reading the status asked nothing of the citizen.
    assert_eq!(agent.pinentry_log(), "");
}

#[tokio::test]
async fn authenticate_gives_a_web_eid_token_for_the_connections_origin() {
    let dir = temp_dir("agent-auth");
    let agent = AgentProc::demo(&dir, &[]);
    let origin = origin(&agent);
    let mut ws = agent.connect(&origin).await;
    let nonce = B64.encode([7u8; 32]);
    agent.queue(&["pin 1234"]);
    let r = call(&mut ws, 1, "authenticate", json!({"challengeNonce": nonce})).await;
    let token: AuthToken = serde_json::from_value(r["result"].clone()).unwrap_or_else(|e| panic!("{e}: {r}"));
    assert_eq!(token.format, "web-eid:1.0");
    assert_eq!(token.algorithm, "ES384");
    let who = verify_auth_token(&token, &origin, &nonce, &trust(&agent)).unwrap();
    assert_eq!(who.subject_cn, "ALIYEVA LEYLA");
    // Signed over the connection's origin: it does not verify for another one.
    assert!(verify_auth_token(&token, "https://e-gov.az", &nonce, &trust(&agent)).is_err());
    // The dialog named the origin and the holder, and said how many tries are left.
    let log = agent.pinentry_log();
    assert!(log.contains(&format!("Log in to {origin}")), "{log}");
    assert!(log.contains("ALIYEVA LEYLA") && log.contains("10 tries left"), "{log}");
    // A bad nonce is refused before any dialog.
    let r = call(&mut ws, 2, "authenticate", json!({"challengeNonce": "short"})).await;
    assert_eq!(code(&r), "BAD_REQUEST");
}

#[tokio::test]
async fn sign_document_batch_verifies_with_openssl_cades() {
    let dir = temp_dir("agent-sign");
    let agent = AgentProc::demo(&dir, &[]);
    let origin = origin(&agent);
    let mut ws = agent.connect(&origin).await;
    let docs = [("contract.txt", b"first document".as_slice()), ("annex.txt", b"second document".as_slice())];
    agent.queue(&["pin 12345"]);
    let params = json!({
        "documents": docs.iter().map(|(n, d)| json!({"name": n, "document": B64.encode(d)})).collect::<Vec<_>>(),
        "format": "cms",
        "detached": true,
    });
    let r = call(&mut ws, 1, "sign-document", params).await;
    let sigs = r["result"]["signatures"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(sigs.len(), 2);
    // One dialog listed both documents with their SHA-256, and the origin.
    let log = agent.pinentry_log();
    assert_eq!(log.matches("GETPIN").count(), 1, "{log}");
    for (name, data) in docs {
        let sha = openssl::sha::sha256(data).iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert!(log.contains(name) && log.contains(&sha), "{log}");
    }
    assert!(log.contains(&origin) && log.contains("signing PIN"), "{log}");
    // The agent embeds the intermediates: the root alone verifies.
    let pki = pki(&agent.dir);
    for ((name, data), sig) in docs.iter().zip(sigs) {
        assert_eq!(sig["name"], *name);
        let p7s = dir.join(format!("{name}.p7s"));
        let content = dir.join(name);
        std::fs::write(&p7s, B64.decode(sig["cms"].as_str().unwrap()).unwrap()).unwrap();
        std::fs::write(&content, data).unwrap();
        let verify = |content: &std::path::Path| {
            Command::new("openssl")
                .args(["cms", "-verify", "-cades", "-binary", "-inform", "DER", "-purpose", "any", "-in"])
                .arg(&p7s)
                .arg("-content")
                .arg(content)
                .arg("-CAfile")
                .arg(pki.join("root-ca.pem"))
                .args(["-out", "/dev/null"])
                .output()
                .unwrap()
        };
        let out = verify(&content);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::write(&content, b"tampered").unwrap();
        assert!(!verify(&content).status.success());
    }
    // B-T asked of an agent without a time-stamping authority: refused before any dialog.
    let r =
        call(&mut ws, 2, "sign-document", json!({"name": "a.txt", "document": B64.encode(b"a"), "level": "T"})).await;
    assert_eq!(code(&r), "TIMESTAMP_FAILED", "{r}");
    assert_eq!(agent.pinentry_log().matches("GETPIN").count(), 1);
}

#[tokio::test]
async fn wrong_pins_count_down_then_blocked_is_not_asked_then_puk_unblocks() {
    let dir = temp_dir("agent-pins");
    let agent = AgentProc::demo(&dir, &[]);
    let mut ws = agent.connect(&origin(&agent)).await;
    let nonce = B64.encode([1u8; 32]);
    for (i, expected) in (0..10u8).rev().enumerate() {
        agent.queue(&["pin 9999"]);
        let r = call(&mut ws, i as u64, "authenticate", json!({"challengeNonce": nonce})).await;
        if expected == 0 {
            // The tenth wrong PIN blocks it.
            assert!(matches!(code(&r), "PIN_BLOCKED" | "PIN_INCORRECT"), "{r}");
        } else {
            assert_eq!(code(&r), "PIN_INCORRECT", "{r}");
            assert_eq!(r["error"]["triesLeft"], expected, "{r}");
        }
    }
    let log = agent.pinentry_log();
    assert!(log.contains("1 try left") && log.contains("last try"), "{log}");
    let getpins = log.matches("GETPIN").count();
    assert_eq!(getpins, 10);
    // Blocked: no PIN dialog, an explanation instead.
    let r = call(&mut ws, 100, "authenticate", json!({"challengeNonce": nonce})).await;
    assert_eq!(code(&r), "PIN_BLOCKED", "{r}");
    let log = agent.pinentry_log();
    assert_eq!(log.matches("GETPIN").count(), getpins, "asked for a blocked PIN: {log}");
    assert!(log.contains("is blocked") && log.contains("PUK"), "{log}");
    let s = call(&mut ws, 101, "status", json!({})).await;
    assert_eq!(s["result"]["tokens"][0]["pins"][0]["state"], "blocked", "{s}");
    // Unblock with the PUK through the agent, new PIN twice.
    agent.queue(&["pin 12345678", "pin 4321", "pin 4321"]);
    let r = call(&mut ws, 102, "unblock-pin", json!({"pin": "auth"})).await;
    assert_eq!(r["result"]["done"], true, "{r}");
    agent.queue(&["pin 4321"]);
    let r = call(&mut ws, 103, "authenticate", json!({"challengeNonce": nonce})).await;
    assert_eq!(r["result"]["format"], "web-eid:1.0", "{r}");
}

#[tokio::test]
async fn rebinding_host_and_foreign_origins_are_refused_before_the_upgrade() {
    let dir = temp_dir("agent-host");
    let agent = AgentProc::demo(&dir, &[]);
    let port = agent.port;
    let ok_origin = origin(&agent);
    let status = |e: tokio_tungstenite::tungstenite::Error| match e {
        tokio_tungstenite::tungstenite::Error::Http(r) => r.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    };
    for host in [format!("evil.example:{port}"), format!("127.0.0.1:{}", port.wrapping_add(1)), "localhost".into()] {
        let e = connect_with(port, &host, Some(&ok_origin)).await.expect_err("upgrade with a rebinding Host");
        assert_eq!(status(e), 403, "{host}");
    }
    for origin in [None, Some("http://evil.example"), Some("null"), Some("https://x/path")] {
        let e = connect_with(port, &format!("localhost:{port}"), origin).await.expect_err("upgrade");
        assert_eq!(status(e), 403, "{origin:?}");
    }
    assert!(connect_with(port, &format!("localhost:{port}"), Some(&ok_origin)).await.is_ok());
}

#[tokio::test]
async fn unknown_origin_gets_nothing_until_the_citizen_allows_it() {
    let dir = temp_dir("agent-consent");
    let agent = AgentProc::demo(&dir, &[]);
    let stranger = "https://bank.example";
    let mut ws = agent.connect(stranger).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["originAllowed"], false);
    // `version` is free; `status` asks the citizen, who says no.
    assert_eq!(call(&mut ws, 1, "version", json!({})).await["result"]["protocol"], 1);
    agent.queue(&["no"]);
    let r = call(&mut ws, 2, "status", json!({})).await;
    assert_eq!(code(&r), "ORIGIN_NOT_ALLOWED", "{r}");
    assert!(agent.pinentry_log().contains("bank.example wants to use your ID card"));
    // Refused for the rest of the run, without asking again.
    let before = agent.pinentry_log().len();
    assert_eq!(code(&call(&mut ws, 3, "get-certificate", json!({"purpose": "auth"})).await), "ORIGIN_NOT_ALLOWED");
    assert_eq!(agent.pinentry_log().len(), before);
    // Another origin, allowed: remembered on disk, and revocable with the CLI.
    let friend = "https://e-gov.az";
    let mut ws2 = agent.connect(friend).await;
    agent.queue(&["ok"]);
    let r = call(&mut ws2, 1, "request-access", json!({})).await;
    assert_eq!(r["result"]["allowed"], true, "{r}");
    let cert = call(&mut ws2, 2, "get-certificate", json!({"purpose": "sign"})).await;
    assert!(cert["result"]["certificate"].as_str().is_some_and(|c| !c.is_empty()), "{cert}");
    // The demo keeps its data in `--dir`/data: the CLI is pointed there with a
    // configuration file. The list is signed with the key in the OS keyring, which the
    // CLI shares with the agent (the same user's session keyring).
    let config = dir.join("origins-cli.toml");
    std::fs::write(&config, format!("data_dir = {:?}\n", dir.join("data"))).unwrap();
    let origins = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mohur"))
            .arg("origins")
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("HOME", &dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "mohur origins {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = origins(&["list"]);
    assert!(listed.contains(&format!("{friend}\t(allowed by you)")), "{listed}");
    assert!(origins(&["revoke", friend]).contains(&format!("revoked {friend}")));
    assert!(!origins(&["list"]).contains(friend));
    // Revoked: the running agent reads the list afresh. The site was asked moments ago,
    // so it may not show another consent dialog yet (site.rs): no access either way.
    let r = call(&mut ws2, 3, "status", json!({})).await;
    assert_eq!(code(&r), "RATE_LIMITED", "{r}");
    assert!(r.get("result").is_none());
}

#[tokio::test]
async fn hostile_clients_get_errors_and_others_keep_being_served() {
    let dir = temp_dir("agent-hostile");
    let agent = AgentProc::demo(&dir, &[]);
    let origin = origin(&agent);
    let mut bystander = agent.connect(&origin).await;
    let mut ws = agent.connect(&origin).await;
    let _ = next_json(&mut ws).await;
    for (bad, expected) in [
        ("{not json", "BAD_REQUEST"),
        ("[1,2]", "BAD_REQUEST"),
        (r#"{"id": 1, "method": "launch-missiles"}"#, "UNKNOWN_METHOD"),
        (
            r#"{"id": 2, "method": "sign", "params": {"hash": "!!", "hashFunction": "SHA-256", "certificate": ""}}"#,
            "BAD_REQUEST",
        ),
        (r#"{"id": 3, "method": "authenticate", "params": {"challengeNonce": 5}}"#, "BAD_REQUEST"),
        (r#"{"id": 4, "method": "sign-document", "params": {"documents": []}}"#, "BAD_REQUEST"),
    ] {
        ws.send(Message::text(bad)).await.unwrap();
        let r = next_json(&mut ws).await;
        assert_eq!(code(&r), expected, "{bad} -> {r}");
    }
    // 1,000 requests as fast as possible: each answered or rate limited, until cut off.
    for i in 0..1000u64 {
        if ws.send(Message::text(json!({"id": i, "method": "version"}).to_string())).await.is_err() {
            break;
        }
    }
    let (mut answered, mut limited, mut cut_off) = (0, 0, false);
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(5), futures_util::StreamExt::next(&mut ws)).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                if v["result"]["protocol"] == 1 {
                    answered += 1;
                } else {
                    assert_eq!(code(&v), "RATE_LIMITED", "{v}");
                    limited += 1;
                }
            }
            Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) => {
                cut_off = true;
                break;
            }
            Ok(Some(Ok(_))) => {}
            Err(_) => break,
        }
    }
    // The burst is served; the flood gets RATE_LIMITED and, if it goes on, the door.
    assert!(answered >= 50 && (limited > 0 || cut_off), "answered {answered}, limited {limited}, cut off {cut_off}");
    assert!(answered + limited <= 1000);
    // An oversized frame cuts that client off.
    let mut big = agent.connect(&origin).await;
    let _ = next_json(&mut big).await;
    let huge = "x".repeat(11 * 1024 * 1024);
    let _ = big.send(Message::text(huge)).await;
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match futures_util::StreamExt::next(&mut big).await {
                None | Some(Err(_)) => return true,
                Some(Ok(Message::Close(_))) => return true,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(closed, "an oversized frame must close the connection");
    // A client that disconnects while its PIN dialog is open: the dialog goes away
    // and the next client can use the card.
    let mut leaver = agent.connect(&origin).await;
    let _ = next_json(&mut leaver).await;
    agent.queue(&["hang"]);
    leaver
        .send(Message::text(
            json!({"id": 1, "method": "authenticate", "params": {"challengeNonce": B64.encode([3u8; 32])}}).to_string(),
        ))
        .await
        .unwrap();
    wait_for(|| agent.pinentry_log().contains("GETPIN"));
    drop(leaver);
    let _ = next_json(&mut bystander).await;
    agent.queue(&["pin 1234"]);
    let mut r = serde_json::Value::Null;
    for attempt in 0..50 {
        r = call(&mut bystander, 10 + attempt, "authenticate", json!({"challengeNonce": B64.encode([4u8; 32])})).await;
        if code(&r) != "BUSY" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(r["result"]["format"], "web-eid:1.0", "{r}");
}

#[tokio::test]
async fn cancel_closes_the_dialog_with_user_cancelled() {
    let dir = temp_dir("agent-cancel");
    let agent = AgentProc::demo(&dir, &[]);
    let mut ws = agent.connect(&origin(&agent)).await;
    let _ = next_json(&mut ws).await;
    agent.queue(&["hang"]);
    ws.send(Message::text(
        json!({"id": 5, "method": "authenticate", "params": {"challengeNonce": B64.encode([5u8; 32])}}).to_string(),
    ))
    .await
    .unwrap();
    wait_for(|| agent.pinentry_log().contains("GETPIN"));
    ws.send(Message::text(json!({"id": 6, "method": "cancel", "params": {"requestId": 5}}).to_string())).await.unwrap();
    // The two answers come in either order: the cancelled request may end before the
    // agent has answered `cancel` itself.
    let (mut cancelled, mut answer) = (None, None);
    while cancelled.is_none() || answer.is_none() {
        let m = next_json(&mut ws).await;
        match m["id"].as_u64() {
            Some(6) => cancelled = Some(m),
            Some(5) => answer = Some(m),
            _ => {}
        }
    }
    let (c, r) = (cancelled.unwrap(), answer.unwrap());
    assert_eq!(c["result"]["cancelled"], true, "{c}");
    assert_eq!(code(&r), "USER_CANCELLED", "{r}");
    // The citizen cancelling the dialog gives the same code.
    agent.queue(&["cancel"]);
    let r = call(&mut ws, 7, "authenticate", json!({"challengeNonce": B64.encode([5u8; 32])})).await;
    assert_eq!(code(&r), "USER_CANCELLED", "{r}");
}

fn wait_for(cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "condition not met in time");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The upgrade request a browser sends, over a raw socket, by `user` (`None`: us);
/// returns the HTTP status line.
fn raw_upgrade_as(user: Option<u32>, port: u16, origin: &str) -> String {
    let script = format!(
        "import socket\ns=socket.create_connection(('127.0.0.1',{port}))\n\
         s.sendall(b'GET /v1 HTTP/1.1\\r\\nHost: 127.0.0.1:{port}\\r\\nOrigin: {origin}\\r\\nUpgrade: websocket\\r\\n\
         Connection: Upgrade\\r\\nSec-WebSocket-Version: 13\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n\\r\\n')\n\
         print(s.recv(200).split(b'\\r\\n')[0].decode())\n"
    );
    let mut cmd = match user {
        Some(uid) => {
            let mut c = Command::new("setpriv");
            c.args([
                format!("--reuid={uid}"),
                format!("--regid={uid}"),
                "--clear-groups".into(),
                "/usr/bin/python3".into(),
            ]);
            c
        }
        None => Command::new("/usr/bin/python3"),
    };
    let out = cmd.arg("-c").arg(script).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test]
async fn another_local_user_is_refused_before_the_upgrade() {
    // Switching users needs root (CI runs as root); `nobody` stands in for another
    // account on a shared machine.
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    assert!(root, "this test switches users with setpriv and must run as root (as scripts/test.sh in CI does)");
    let dir = temp_dir("agent-peer");
    let agent = AgentProc::demo(&dir, &[]);
    let origin = origin(&agent);
    assert!(raw_upgrade_as(None, agent.port, &origin).contains(" 101 "));
    let other = raw_upgrade_as(Some(65534), agent.port, &origin);
    assert!(other.contains(" 403 "), "{other}");
    assert!(agent.log().contains("belongs to another user"));
}

#[tokio::test]
async fn silent_garbage_and_tls_without_a_loopback_ca_are_dropped_and_others_served() {
    use std::io::{Read, Write};
    let dir = temp_dir("agent-first-bytes");
    let agent = AgentProc::demo(&dir, &[]);
    assert!(!agent.wss, "{}", agent.log());
    let addr = format!("127.0.0.1:{}", agent.port);
    // Clients that connect and say nothing hold no one up.
    let silent: Vec<_> = (0..20).map(|_| std::net::TcpStream::connect(&addr).unwrap()).collect();
    // Bytes that are neither HTTP nor TLS: an HTTP error or a closed connection.
    let mut garbage = std::net::TcpStream::connect(&addr).unwrap();
    garbage.write_all(b"\x00\xff\x13\x37 not a request\r\n\r\n").unwrap();
    garbage.set_read_timeout(Some(std::time::Duration::from_secs(15))).unwrap();
    let mut reply = Vec::new();
    let _ = garbage.read_to_end(&mut reply);
    assert!(reply.is_empty() || String::from_utf8_lossy(&reply).starts_with("HTTP/1.1 400"), "{reply:?}");
    // A TLS handshake where no loopback CA is set up: closed, nothing served.
    let o = Command::new("openssl")
        .args(["s_client", "-connect", &addr, "-servername", "localhost"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && !text.contains("BEGIN CERTIFICATE"), "{text}");
    // Meanwhile ws:// works as ever.
    let mut ws = agent.connect(&origin(&agent)).await;
    let _ = next_json(&mut ws).await;
    assert_eq!(call(&mut ws, 1, "version", json!({})).await["result"]["protocol"], 1);
    // The silent ones are dropped after a while (10 s without a first byte).
    for mut s in silent.into_iter().take(2) {
        s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(s.read(&mut buf).unwrap(), 0, "a silent client was not dropped");
    }
}

#[test]
fn a_second_agent_on_the_same_port_says_so_and_exits() {
    let dir = temp_dir("second-agent");
    let first =
        AgentProc::spawn(&dir, &["agent", "--port", "0", "--no-pcsc", "--no-well-known-modules", "--no-tray"], &[]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mohur"))
        .args(["agent", "--port", &first.port.to_string(), "--no-pcsc", "--no-well-known-modules", "--no-tray"])
        .env("HOME", &dir)
        .env("MOHUR_LANG", "en")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another mohur agent is already running"), "{stderr}");
    // The first one still serves.
    let stream = std::net::TcpStream::connect(("127.0.0.1", first.port));
    assert!(stream.is_ok());
}
