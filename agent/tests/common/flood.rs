//! A WebSocket client that floods as an attacker's page would, without holding the
//! flood in its own memory: the upgrade written by hand, and frames whose payload is
//! streamed from one small buffer (mask key 0, so the payload goes out as it is).
//! Also the agent's memory as the kernel counts it (`/proc/PID/status`).

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A raw client connection after the upgrade.
pub struct RawClient {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// How a flood connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Refused before the upgrade with this HTTP status.
    Refused(u16),
    /// Closed by the agent with this close code.
    Closed(u16),
    /// The socket was reset or closed without a close frame.
    Dropped,
    /// A text message (a response) came back.
    Answered(String),
}

impl RawClient {
    /// Opens a connection and upgrades it as a browser page of `origin` would; `Err` with
    /// the HTTP status (0 when the connection failed) when refused.
    pub async fn connect(port: u16, origin: &str) -> Result<RawClient, u16> {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.map_err(|_| 0u16)?;
        let _ = stream.set_nodelay(true);
        let req = format!(
            "GET /v1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {origin}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).await.map_err(|_| 0u16)?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut chunk).await.map_err(|_| 0u16)?;
            if n == 0 {
                return Err(0);
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        if status != 101 {
            return Err(status);
        }
        buf.drain(..head_end);
        Ok(RawClient { stream, buf })
    }

    /// Sends one text frame of `total` payload bytes: `prefix`, then `filler` bytes,
    /// then `suffix` — streamed, never built in memory.
    pub async fn send_text(&mut self, prefix: &[u8], filler: u8, total: usize, suffix: &[u8]) -> std::io::Result<()> {
        let mut header = vec![0x81u8];
        match total {
            n if n < 126 => header.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                header.push(0x80 | 126);
                header.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                header.push(0x80 | 127);
                header.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        header.extend_from_slice(&[0, 0, 0, 0]);
        self.stream.write_all(&header).await?;
        self.stream.write_all(prefix).await?;
        let block = vec![filler; 256 * 1024];
        let mut left = total - prefix.len() - suffix.len();
        while left > 0 {
            let n = left.min(block.len());
            self.stream.write_all(&block[..n]).await?;
            left -= n;
        }
        self.stream.write_all(suffix).await?;
        self.stream.flush().await
    }

    /// Sends a small JSON request.
    pub async fn send_json(&mut self, v: &serde_json::Value) -> std::io::Result<()> {
        let text = v.to_string();
        self.send_text(text.as_bytes(), b' ', text.len(), b"").await
    }

    /// The next server frame: `(opcode, payload)`, `None` when the socket ends.
    pub async fn next_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if self.buf.len() >= 2 {
                let (op, len7) = (self.buf[0] & 0x0F, (self.buf[1] & 0x7F) as usize);
                let (len, at) = match len7 {
                    126 if self.buf.len() >= 4 => (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4),
                    127 if self.buf.len() >= 10 => {
                        (u64::from_be_bytes(self.buf[2..10].try_into().unwrap()) as usize, 10)
                    }
                    n if n < 126 => (n, 2),
                    _ => (usize::MAX, 0),
                };
                if len != usize::MAX && self.buf.len() >= at + len {
                    let payload = self.buf[at..at + len].to_vec();
                    self.buf.drain(..at + len);
                    return Some((op, payload));
                }
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// The next text message (skipping events such as `hello` when `skip_events`).
    pub async fn next_text(&mut self, skip_events: bool) -> Result<String, Ending> {
        loop {
            match self.next_frame().await {
                None => return Err(Ending::Dropped),
                Some((0x8, p)) => {
                    return Err(Ending::Closed(if p.len() >= 2 { u16::from_be_bytes([p[0], p[1]]) } else { 1005 }))
                }
                Some((0x1, p)) => {
                    let t = String::from_utf8_lossy(&p).into_owned();
                    if skip_events && t.contains("\"event\"") {
                        continue;
                    }
                    return Ok(t);
                }
                Some(_) => {}
            }
        }
    }

    /// How the connection ends within `wait`, after what was sent: the first response,
    /// or the close.
    pub async fn ending(&mut self, wait: Duration) -> Ending {
        match tokio::time::timeout(wait, self.next_text(true)).await {
            Ok(Ok(text)) => Ending::Answered(text),
            Ok(Err(e)) => e,
            Err(_) => Ending::Answered("(nothing within the wait)".into()),
        }
    }
}

/// Sends one frame of `total` bytes from `origin` and reports how the agent ended it.
pub async fn flood_one(port: u16, origin: &str, prefix: &[u8], total: usize, suffix: &[u8]) -> Ending {
    let mut c = match RawClient::connect(port, origin).await {
        Ok(c) => c,
        Err(status) => return Ending::Refused(status),
    };
    // The agent may close before the whole frame is written: that is an answer too.
    let _ = c.send_text(prefix, b'A', total, suffix).await;
    c.ending(Duration::from_secs(60)).await
}

/// A field of `/proc/PID/status` in MB (`VmRSS`, `VmHWM`: the peak).
pub fn proc_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Resets the kernel's peak RSS of `pid` to its RSS now (proc(5), `clear_refs` 5).
pub fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}
