//! Only the desktop user who runs the agent is served (`portal-protocols.md`:
//! multi-user machines). Loopback TCP is reachable by every local user, and a local
//! program can send any `Origin` it likes, so on Linux the agent asks the kernel who
//! owns the other end of each connection and refuses other users: through the
//! `sock_diag` netlink interface (sock_diag(7)), which looks up that one socket, else
//! in `/proc/net/tcp{,6}` (proc(5)), which lists every socket of the machine — costly
//! when a page opens hundreds of them. On Windows (terminal servers have many users on
//! one machine) the owning process comes from `GetExtendedTcpTable` and its user from
//! its token ([`crate::windows`]); the tables are parsed here. Elsewhere the check is
//! not made (documented in PROTOCOL.md).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Who owns the client socket `peer` connected to our `port`: `Some(uid)` if the
/// kernel knows the connection, `None` if it cannot be found (or on other systems).
pub fn peer_uid(peer: SocketAddr, port: u16) -> Option<u32> {
    let local = match peer.ip() {
        IpAddr::V4(_) => SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        IpAddr::V6(_) => SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
    };
    #[cfg(target_os = "linux")]
    match sock_diag::uid(peer, local) {
        Ok(uid) => return Some(uid),
        Err(e) => tracing::debug!(error = %e, "sock_diag lookup failed; reading /proc/net/tcp"),
    }
    proc_net_tcp_uid(peer, local.port())
}

/// [`peer_uid`] from the `/proc/net/tcp{,6}` table.
fn proc_net_tcp_uid(peer: SocketAddr, port: u16) -> Option<u32> {
    let table = match peer.ip() {
        IpAddr::V4(_) => "/proc/net/tcp",
        IpAddr::V6(_) => "/proc/net/tcp6",
    };
    let text = std::fs::read_to_string(table).ok()?;
    find_uid(&text, peer, port)
}

/// The owner of one TCP socket, asked of the kernel by its addresses
/// (`SOCK_DIAG_BY_FAMILY` with an `inet_diag_req_v2` for exactly that socket:
/// linux/inet_diag.h, linux/sock_diag.h). Safe code only: an unbound, unconnected
/// netlink socket sends to the kernel.
#[cfg(target_os = "linux")]
mod sock_diag {
    use socket2::{Domain, Protocol, Socket, Type};
    use std::io::{Error, ErrorKind, Read};
    use std::net::{IpAddr, SocketAddr};
    use std::time::Duration;

    const AF_NETLINK: i32 = 16;
    const NETLINK_SOCK_DIAG: i32 = 4;
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLMSG_ERROR: u16 = 2;
    const NLM_F_REQUEST: u16 = 1;
    const AF_INET: u8 = 2;
    const AF_INET6: u8 = 10;
    const IPPROTO_TCP: u8 = 6;
    /// `nlmsghdr` (16) + `inet_diag_req_v2` (56).
    const REQUEST_LEN: usize = 16 + 56;
    /// Where `idiag_uid` is in the answer: `nlmsghdr` (16), then in `inet_diag_msg`
    /// family, state, timer, retrans (4), `inet_diag_sockid` (48), expires, rqueue,
    /// wqueue (12).
    const UID_AT: usize = 16 + 4 + 48 + 12;

    /// `inet_diag_sockid`: ports and addresses in network order, then the interface
    /// and `INET_DIAG_NOCOOKIE`.
    fn sockid(out: &mut Vec<u8>, local: SocketAddr, remote: SocketAddr) {
        out.extend_from_slice(&local.port().to_be_bytes());
        out.extend_from_slice(&remote.port().to_be_bytes());
        for ip in [local.ip(), remote.ip()] {
            let mut addr = [0u8; 16];
            match ip {
                IpAddr::V4(v4) => addr[..4].copy_from_slice(&v4.octets()),
                IpAddr::V6(v6) => addr.copy_from_slice(&v6.octets()),
            }
            out.extend_from_slice(&addr);
        }
        out.extend_from_slice(&0u32.to_ne_bytes());
        out.extend_from_slice(&[0xFF; 8]);
    }

    /// The request for the socket whose local address is `socket` and remote `remote`.
    pub(super) fn request(socket: SocketAddr, remote: SocketAddr) -> Vec<u8> {
        let mut r = Vec::with_capacity(REQUEST_LEN);
        r.extend_from_slice(&(REQUEST_LEN as u32).to_ne_bytes());
        r.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        r.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
        r.extend_from_slice(&1u32.to_ne_bytes()); // sequence
        r.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
        r.push(if socket.is_ipv4() { AF_INET } else { AF_INET6 });
        r.push(IPPROTO_TCP);
        r.push(0); // no extensions
        r.push(0);
        r.extend_from_slice(&u32::MAX.to_ne_bytes()); // any state
        sockid(&mut r, socket, remote);
        r
    }

    /// The uid in an answer to [`request`].
    pub(super) fn parse(answer: &[u8]) -> std::io::Result<u32> {
        let field = |at: usize| answer.get(at..at + 4).map(|b| [b[0], b[1], b[2], b[3]]);
        let kind = answer.get(4..6).map(|b| u16::from_ne_bytes([b[0], b[1]]));
        match kind {
            Some(SOCK_DIAG_BY_FAMILY) => field(UID_AT)
                .map(u32::from_ne_bytes)
                .ok_or_else(|| Error::new(ErrorKind::InvalidData, "short sock_diag answer")),
            Some(NLMSG_ERROR) => {
                let errno = field(16).map(i32::from_ne_bytes).unwrap_or(0);
                Err(Error::from_raw_os_error(-errno))
            }
            _ => Err(Error::new(ErrorKind::InvalidData, "unexpected netlink answer")),
        }
    }

    /// The owner of the client socket at `peer` connected to `local`.
    pub fn uid(peer: SocketAddr, local: SocketAddr) -> std::io::Result<u32> {
        let mut s = Socket::new(Domain::from(AF_NETLINK), Type::DGRAM, Some(Protocol::from(NETLINK_SOCK_DIAG)))?;
        s.set_read_timeout(Some(Duration::from_secs(1)))?;
        s.send(&request(peer, local))?;
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf)?;
        parse(&buf[..n])
    }
}

/// The real uid of this process (`/proc/self/status`, `Uid:` line).
pub fn own_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// True if the connection from `peer` to our `port` belongs to our user, or if this
/// system offers no way to tell (neither Linux nor Windows).
pub fn is_own_user(peer: Option<SocketAddr>, port: u16) -> bool {
    if cfg!(windows) {
        return peer.is_some_and(|peer| windows_peer_is_own(peer, port));
    }
    if !cfg!(target_os = "linux") {
        return true;
    }
    match (peer, own_uid()) {
        (Some(peer), Some(me)) => peer_uid(peer, port) == Some(me),
        // No peer address or no /proc: fail closed.
        _ => false,
    }
}

/// Windows: the process owning the client end of the connection (the TCP table), then
/// its user (its token) against ours. Fails closed: a connection not in the table, or a
/// process this user may not query, is not ours.
#[cfg(windows)]
fn windows_peer_is_own(peer: SocketAddr, port: u16) -> bool {
    let table = match crate::windows::tcp_table(peer.is_ipv6()) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "GetExtendedTcpTable");
            return false;
        }
    };
    let pid = if peer.is_ipv6() { find_pid_v6(&table, peer, port) } else { find_pid_v4(&table, peer, port) };
    let Some(pid) = pid else { return false };
    if pid == 0 && crate::windows::is_wine() {
        // wine's table names no owner for any connection (and a client on the Linux
        // side has no Windows process at all): the check cannot be made there. On
        // Windows an established connection always names its process.
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| tracing::warn!("wine names no owners of TCP connections: the same-user check is not made"));
        return true;
    }
    match (crate::windows::process_user_sid(pid), crate::windows::own_user_sid()) {
        (Ok(theirs), Ok(ours)) => theirs == ours,
        _ => false,
    }
}

#[cfg(not(windows))]
fn windows_peer_is_own(_: SocketAddr, _: u16) -> bool {
    false
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|w| u32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
}

/// A port as the TCP table stores it: network byte order in the low 16 bits.
fn table_port(field: u32) -> u16 {
    u16::from_be_bytes([field as u8, (field >> 8) as u8])
}

/// The owning process of the IPv4 connection whose local end is `peer` and whose remote
/// port is `port`, in a `MIB_TCPTABLE_OWNER_PID` (iphlpapi: a u32 count, then rows of
/// state, local address, local port, remote address, remote port, pid; addresses in
/// network order).
pub fn find_pid_v4(table: &[u8], peer: SocketAddr, port: u16) -> Option<u32> {
    const ROW: usize = 24;
    let SocketAddr::V4(peer) = peer else { return None };
    let count = u32_at(table, 0)? as usize;
    // A count larger than the rows there are reads only the rows there are.
    table.get(4..)?.chunks_exact(ROW).take(count).find_map(|row| {
        let local = Ipv4Addr::new(row[4], row[5], row[6], row[7]);
        let local_port = table_port(u32_at(row, 8)?);
        let remote_port = table_port(u32_at(row, 16)?);
        (local == *peer.ip() && local_port == peer.port() && remote_port == port).then(|| u32_at(row, 20)).flatten()
    })
}

/// [`find_pid_v4`] for IPv6, in a `MIB_TCP6TABLE_OWNER_PID` (rows of local address (16),
/// scope, local port, remote address (16), scope, remote port, state, pid).
pub fn find_pid_v6(table: &[u8], peer: SocketAddr, port: u16) -> Option<u32> {
    const ROW: usize = 56;
    let SocketAddr::V6(peer) = peer else { return None };
    let count = u32_at(table, 0)? as usize;
    table.get(4..)?.chunks_exact(ROW).take(count).find_map(|row| {
        let local = Ipv6Addr::from(<[u8; 16]>::try_from(&row[0..16]).ok()?);
        let local_port = table_port(u32_at(row, 20)?);
        let remote_port = table_port(u32_at(row, 44)?);
        (local == *peer.ip() && local_port == peer.port() && remote_port == port).then(|| u32_at(row, 52)).flatten()
    })
}

/// Parses a `/proc/net/tcp{,6}` table: the uid of the socket whose local address is
/// `peer` and whose remote port is `port`. Only the lines that contain the peer's port
/// in the table's hex form are parsed: with hundreds of sockets open (a page flooding
/// the agent) the table is long, and it is read once per connection.
fn find_uid(table: &str, peer: SocketAddr, port: u16) -> Option<u32> {
    let needle = format!(":{:04X} ", peer.port());
    for line in table.lines().skip(1).filter(|l| l.contains(&needle)) {
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

    /// A port as the Windows table stores it.
    fn port_field(p: u16) -> u32 {
        u32::from_ne_bytes([(p >> 8) as u8, p as u8, 0, 0])
    }

    #[test]
    fn parses_the_windows_tables() {
        // Two rows: the server's end (local 29170) and the client's (local 40000).
        let mut v4 = 2u32.to_ne_bytes().to_vec();
        for (local, remote, pid) in [(29170u16, 40000u16, 4u32), (40000, 29170, 777)] {
            v4.extend(5u32.to_ne_bytes()); // ESTABLISHED
            v4.extend([127, 0, 0, 1]);
            v4.extend(port_field(local).to_ne_bytes());
            v4.extend([127, 0, 0, 1]);
            v4.extend(port_field(remote).to_ne_bytes());
            v4.extend(pid.to_ne_bytes());
        }
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        assert_eq!(find_pid_v4(&v4, peer, 29170), Some(777));
        assert_eq!(find_pid_v4(&v4, peer, 29171), None);
        assert_eq!(find_pid_v4(&v4, "127.0.0.2:40000".parse().unwrap(), 29170), None);
        // A short or lying table is no answer, not a panic.
        assert_eq!(find_pid_v4(&v4[..30], peer, 29170), None);
        assert_eq!(find_pid_v4(&[0xff; 4], peer, 29170), None);

        let mut v6 = 1u32.to_ne_bytes().to_vec();
        v6.extend(Ipv6Addr::LOCALHOST.octets());
        v6.extend(0u32.to_ne_bytes());
        v6.extend(port_field(40001).to_ne_bytes());
        v6.extend(Ipv6Addr::LOCALHOST.octets());
        v6.extend(0u32.to_ne_bytes());
        v6.extend(port_field(29170).to_ne_bytes());
        v6.extend(5u32.to_ne_bytes());
        v6.extend(4242u32.to_ne_bytes());
        assert_eq!(find_pid_v6(&v6, "[::1]:40001".parse().unwrap(), 29170), Some(4242));
        assert_eq!(find_pid_v6(&v6, "[::1]:40002".parse().unwrap(), 29170), None);
        assert_eq!(find_pid_v4(&v6, peer, 29170), None);
    }

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
    #[cfg(target_os = "linux")]
    fn the_kernel_names_the_owner_of_one_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let local = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(local).unwrap();
        let peer = client.local_addr().unwrap();
        let by_netlink = sock_diag::uid(peer, local).unwrap();
        assert_eq!(Some(by_netlink), own_uid());
        assert_eq!(Some(by_netlink), proc_net_tcp_uid(peer, local.port()));
        // No such connection: an error, not a uid.
        let nobody: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert!(sock_diag::uid(nobody, local).is_err());
        assert!(sock_diag::parse(&[0u8; 8]).is_err());
        assert_eq!(sock_diag::request(peer, local).len(), 72);
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
