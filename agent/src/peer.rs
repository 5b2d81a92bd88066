//! Only the desktop user who runs the agent is served (`portal-protocols.md`:
//! multi-user machines). Loopback TCP is reachable by every local user, and a local
//! program can send any `Origin` it likes, so on Linux the agent looks up who owns
//! the other end of each connection in `/proc/net/tcp{,6}` (proc(5)) and refuses
//! other users. Elsewhere the check is not made (documented in PROTOCOL.md).

use std::net::{IpAddr, SocketAddr};

/// Who owns the client socket `peer` connected to our `port`: `Some(uid)` if the
/// kernel lists the connection, `None` if it cannot be found (or on other systems).
pub fn peer_uid(peer: SocketAddr, port: u16) -> Option<u32> {
    let table = match peer.ip() {
        IpAddr::V4(_) => "/proc/net/tcp",
        IpAddr::V6(_) => "/proc/net/tcp6",
    };
    let text = std::fs::read_to_string(table).ok()?;
    find_uid(&text, peer, port)
}

/// The real uid of this process (`/proc/self/status`, `Uid:` line).
pub fn own_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// True if the connection from `peer` to our `port` belongs to our user, or if this
/// system offers no way to tell (not Linux).
pub fn is_own_user(peer: Option<SocketAddr>, port: u16) -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    match (peer, own_uid()) {
        (Some(peer), Some(me)) => peer_uid(peer, port) == Some(me),
        // No peer address or no /proc: fail closed.
        _ => false,
    }
}

/// Parses a `/proc/net/tcp{,6}` table: the uid of the socket whose local address is
/// `peer` and whose remote port is `port`.
fn find_uid(table: &str, peer: SocketAddr, port: u16) -> Option<u32> {
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 8 {
            continue;
        }
        let (Some(local), Some(remote)) = (parse_addr(fields[1]), parse_addr(fields[2])) else { continue };
        if local == peer && remote.port() == port {
            return fields[7].parse().ok();
        }
    }
    None
}

/// `0100007F:8C7F` (IPv4, each 32-bit word in host order) or 32 hex digits + port.
fn parse_addr(s: &str) -> Option<SocketAddr> {
    let (ip, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |h: &str| u32::from_str_radix(h, 16).ok().map(u32::to_ne_bytes);
    let ip = match ip.len() {
        8 => IpAddr::from(word(ip)?),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(&ip[i * 8..i * 8 + 8])?);
            }
            IpAddr::from(bytes)
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_endian = "little")]
    fn parses_the_kernel_table() {
        let table =
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:9C40 0100007F:71F2 01 00000000:00000000 00:00000000 00000000  1000        0 1 1 0 20 4 30 10 -1\n\
   1: 0100007F:71F2 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1\n";
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        assert_eq!(find_uid(table, peer, 29170), Some(1000));
        assert_eq!(find_uid(table, peer, 1), None);
    }

    #[test]
    fn finds_our_own_connections() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let peer = client.local_addr().unwrap();
        assert_eq!(peer_uid(peer, port), own_uid());
        assert!(is_own_user(Some(peer), port));
        assert!(!is_own_user(None, port));
    }
}
