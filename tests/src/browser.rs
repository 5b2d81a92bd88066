//! The headless Chromium drivers of `tests/browser/*.mjs` (Playwright over Debian's
//! Chromium): each prints one JSON line, which the caller asserts on.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the repository").to_path_buf()
}

/// `scripts/browser-deps.sh` once per process (npm ci only when needed).
fn browser_deps() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let out =
            Command::new("bash").arg(repo().join("scripts/browser-deps.sh")).output().expect("run browser-deps.sh");
        assert!(out.status.success(), "browser deps: {}", String::from_utf8_lossy(&out.stderr));
    });
}

fn command(home: Option<&Path>, script: &str, args: &[&str]) -> Command {
    browser_deps();
    let mut cmd = Command::new("node");
    cmd.arg(repo().join("tests/browser").join(script)).args(args);
    if let Some(home) = home {
        cmd.env("HOME", home);
    }
    cmd
}

/// The driver's one JSON line from its output.
fn json(script: &str, out: std::process::Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or_else(|| {
        panic!("{script}: no JSON (exit {:?}); stderr:\n{}", out.status, String::from_utf8_lossy(&out.stderr))
    });
    serde_json::from_str(line).expect("the driver prints JSON")
}

/// Runs a driver and returns its one JSON line.
pub fn driver(script: &str, args: &[&str]) -> Value {
    driver_as(None, script, args)
}

/// [`driver`] with Chromium's HOME (and so its NSS database, `~/.pki/nssdb`) in `home`.
pub fn driver_as(home: Option<&Path>, script: &str, args: &[&str]) -> Value {
    let out = command(home, script, args).output().expect("run node");
    json(script, out)
}

/// [`driver_as`] with more environment for the browser (which passes it on to what it
/// starts: the Web eID host).
pub fn driver_with_env(home: &Path, env: &[(&str, &std::ffi::OsStr)], script: &str, args: &[&str]) -> Value {
    let mut cmd = command(Some(home), script, args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    json(script, cmd.output().expect("run node"))
}

/// A driver running in the background (while the test answers the dialogs it causes).
pub struct Running {
    script: String,
    child: Child,
}

impl Running {
    /// Starts `script` with `args`.
    pub fn start(script: &str, args: &[&str]) -> Running {
        let child =
            command(None, script, args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run node");
        Running { script: script.to_owned(), child }
    }

    /// Waits for the driver and returns its JSON line.
    pub fn finish(self) -> Value {
        let out = self.child.wait_with_output().expect("wait for node");
        json(&self.script, out)
    }
}
