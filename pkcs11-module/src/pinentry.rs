//! The protected authentication path (PKCS#11 v2.40 §5.6, C_Login with a null
//! `pPin`): mohur asks for the PIN in its own dialog, a pinentry program spoken to in
//! Assuan over its stdin and stdout.
//!
//! Opt-in: `protected_authentication_path = true` in the configuration, or
//! `MOHUR_PKCS11_PROTECTED_AUTH=1`. The program is `$MOHUR_PINENTRY`
//! (default `pinentry` from `PATH`). The PIN is kept in zeroizing memory and never
//! logged; a wrong PIN is never asked for again by the module.

use crate::error::{Ck, Result};
use cryptoki_sys::*;
use mohur_apdu::{Pin, PinKind, PinState, PinStatus};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use zeroize::Zeroizing;

/// `GPG_ERR_CANCELED` (99) from the pinentry source (`GPG_ERR_SOURCE_PINENTRY` = 5):
/// the holder closed the dialog.
const ERR_CANCELED: u32 = 83_886_179;

/// True when the protected authentication path is enabled: by the configuration
/// (`protected_authentication_path`, [`crate::config`]) or by
/// `MOHUR_PKCS11_PROTECTED_AUTH=1`.
pub fn enabled() -> bool {
    crate::config::current().protected_auth_path
        || std::env::var("MOHUR_PKCS11_PROTECTED_AUTH").is_ok_and(|v| v.trim() == "1")
}

/// The pinentry program: `$MOHUR_PINENTRY`, else `pinentry`.
fn program() -> String {
    std::env::var("MOHUR_PINENTRY").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "pinentry".to_owned())
}

/// The dialog's description: whose card, which PIN, tries left (with a warning on
/// the last one).
pub fn description(holder: &str, kind: PinKind, status: &PinStatus) -> String {
    let which = match kind {
        PinKind::Signing => "signing PIN",
        PinKind::Puk => "PUK",
        _ => "PIN",
    };
    let mut desc = format!("Enter the {which} of the card of {holder}.");
    match status.tries_left {
        Some(1) => desc.push_str("\n1 try left.\nWarning: this is the last try. A wrong entry blocks the card's PIN."),
        Some(n) => desc.push_str(&format!("\n{n} tries left.")),
        None => {}
    }
    desc
}

/// Asks for the secret `kind` of the card of `holder` whose counter is `status`:
/// a blocked secret is not asked for (CKR_PIN_LOCKED); a dismissed dialog gives
/// CKR_FUNCTION_CANCELED.
pub fn ask(holder: &str, kind: PinKind, status: &PinStatus) -> Result<Pin> {
    if status.state == PinState::Blocked || status.tries_left == Some(0) {
        return Err(Ck(CKR_PIN_LOCKED));
    }
    get_pin(&description(holder, kind, status))
}

/// Runs the pinentry program and reads one PIN through `GETPIN`.
pub fn get_pin(desc: &str) -> Result<Pin> {
    let program = program();
    let mut child =
        Command::new(&program).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().map_err(
            |e| {
                tracing::warn!(%program, error = %e, "cannot start pinentry");
                Ck(CKR_FUNCTION_FAILED)
            },
        )?;
    let r = converse(&mut child, desc);
    // Our own child: make sure it goes away, whatever it answered.
    let _ = child.kill();
    let _ = child.wait();
    r
}

struct Assuan {
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Assuan {
    /// Reads up to the final `OK` or `ERR`; the `D` lines, percent-decoded, go to
    /// `data`.
    fn response(&mut self, data: &mut Zeroizing<Vec<u8>>) -> Result<()> {
        loop {
            let mut line = Zeroizing::new(Vec::new());
            let n = self.output.read_until(b'\n', &mut line).map_err(|_| Ck(CKR_FUNCTION_FAILED))?;
            if n == 0 {
                tracing::warn!("pinentry closed its output");
                return Err(Ck(CKR_FUNCTION_FAILED));
            }
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            if line.as_slice() == b"OK" || line.starts_with(b"OK ") {
                return Ok(());
            }
            if let Some(rest) = line.strip_prefix(b"ERR ") {
                let code: u32 = std::str::from_utf8(rest)
                    .ok()
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                if code == ERR_CANCELED || code & 0xFFFF == 99 {
                    return Err(Ck(CKR_FUNCTION_CANCELED));
                }
                tracing::warn!(code, "pinentry error");
                return Err(Ck(CKR_FUNCTION_FAILED));
            }
            if let Some(d) = line.strip_prefix(b"D ") {
                percent_decode_into(d, data);
                continue;
            }
            if line.starts_with(b"INQUIRE") {
                // Nothing to give: end the inquiry empty.
                self.send(b"END")?;
            }
            // Comments (`#`) and status lines (`S`) are skipped.
        }
    }

    fn send(&mut self, line: &[u8]) -> Result<()> {
        let mut buf = Zeroizing::new(Vec::with_capacity(line.len() + 1));
        buf.extend_from_slice(line);
        buf.push(b'\n');
        self.input.write_all(&buf).and_then(|_| self.input.flush()).map_err(|_| Ck(CKR_FUNCTION_FAILED))
    }

    fn command(&mut self, line: &str) -> Result<()> {
        self.send(line.as_bytes())?;
        self.response(&mut Zeroizing::new(Vec::new()))
    }
}

fn converse(child: &mut Child, desc: &str) -> Result<Pin> {
    let input = child.stdin.take().ok_or(Ck(CKR_FUNCTION_FAILED))?;
    let output = BufReader::new(child.stdout.take().ok_or(Ck(CKR_FUNCTION_FAILED))?);
    let mut a = Assuan { input, output };
    a.response(&mut Zeroizing::new(Vec::new()))?; // greeting
    a.command("SETTITLE mohur")?;
    a.command(&format!("SETDESC {}", percent_encode(desc)))?;
    a.command("SETPROMPT PIN:")?;
    a.send(b"GETPIN")?;
    let mut pin = Zeroizing::new(Vec::new());
    a.response(&mut pin)?;
    let _ = a.send(b"BYE");
    Ok(Pin::new(std::mem::take(&mut *pin)))
}

/// Assuan escaping of a command argument: `%`, CR, LF and other control bytes.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '%' || (c as u32) < 0x20 {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Appends the Assuan-decoded `d` (`%XX` escapes) to `out`.
fn percent_decode_into(d: &[u8], out: &mut Vec<u8>) {
    let hex = |b: u8| (b as char).to_digit(16).map(|v| v as u8);
    let mut i = 0;
    while i < d.len() {
        if d[i] == b'%' && i + 2 < d.len() {
            if let (Some(h), Some(l)) = (hex(d[i + 1]), hex(d[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(d[i]);
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_coding() {
        assert_eq!(percent_encode("a%b\nc"), "a%25b%0Ac");
        let mut out = Vec::new();
        percent_decode_into(b"12%2534%0A%4", &mut out);
        assert_eq!(out, b"12%34\n%4");
    }

    #[test]
    fn last_try_warns() {
        let status =
            |n| PinStatus { kind: PinKind::Auth, state: PinState::Ready, tries_left: Some(n), max_tries: None };
        assert!(description("X", PinKind::Auth, &status(9)).contains("9 tries left"));
        assert!(description("X", PinKind::Auth, &status(1)).contains("last try"));
        assert_eq!(ask("X", PinKind::Auth, &status(0)).err(), Some(Ck(CKR_PIN_LOCKED)));
    }
}
