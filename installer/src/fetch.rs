//! A plain-HTTP GET for the certificate URLs a card's certificates name
//! (authorityInfoAccess caIssuers, RFC 5280 §4.2.2.1: "http" URIs, a DER certificate or
//! a certs-only CMS message). HTTP/1.0, so that the answer is never chunked; a few
//! redirects; bounded in time and size. What comes back is never trusted for what it
//! says: [`crate::learn`] checks every signature.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Why a fetch failed, in words for the citizen.
pub type FetchError = String;

/// The most bytes read from one answer (a CA certificate is 1–3 KiB).
pub const MAX_ANSWER: usize = 256 * 1024;
/// How many redirects are followed.
const MAX_REDIRECTS: usize = 3;

/// `http://host[:port]/path` → `(host, port, path)`.
fn split_url(url: &str) -> Result<(String, u16, String), FetchError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// certificate URLs are followed (RFC 5280 §4.2.2.1)"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(format!("{url}: no host"));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
            (h.to_owned(), p.parse().map_err(|_| format!("{url}: bad port"))?)
        }
        _ => (authority.to_owned(), 80),
    };
    // Spaces in published CRL/AIA paths ("AZ Root Authority (RCA).crl") go out escaped.
    let path = path.replace(' ', "%20");
    Ok((host.trim_start_matches('[').trim_end_matches(']').to_owned(), port, path))
}

/// GETs `url`, following up to three redirects; `timeout` bounds each connection and
/// each read.
pub fn http_get(url: &str, timeout: Duration) -> Result<Vec<u8>, FetchError> {
    let mut url = url.to_owned();
    for _ in 0..=MAX_REDIRECTS {
        let (host, port, path) = split_url(&url)?;
        let addrs: Vec<_> = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| format!("{url}: cannot resolve {host}: {e}"))?
            .collect();
        let mut last = format!("{url}: no address for {host}");
        let mut stream = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = format!("{url}: cannot connect to {a}: {e}"),
            }
        }
        let mut stream = stream.ok_or(last)?;
        let io = |e: std::io::Error| format!("{url}: {e}");
        stream.set_read_timeout(Some(timeout)).map_err(io)?;
        stream.set_write_timeout(Some(timeout)).map_err(io)?;
        let host_header = if port == 80 { host.clone() } else { format!("{host}:{port}") };
        let req = format!(
            "GET {path} HTTP/1.0\r\nHost: {host_header}\r\nUser-Agent: mohur-install\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).map_err(io)?;
        let mut answer = Vec::new();
        stream.take((MAX_ANSWER + 16 * 1024) as u64).read_to_end(&mut answer).map_err(io)?;
        let head_end =
            answer.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| format!("{url}: not an HTTP answer"))?;
        let head = String::from_utf8_lossy(&answer[..head_end]).into_owned();
        let body = &answer[head_end + 4..];
        let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let header = |name: &str| {
            head.lines().skip(1).find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
        };
        match status {
            200 => {
                if body.len() > MAX_ANSWER {
                    return Err(format!("{url}: more than {MAX_ANSWER} bytes: not a certificate"));
                }
                if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
                    if n != body.len() {
                        return Err(format!("{url}: the answer was cut short ({} of {n} bytes)", body.len()));
                    }
                }
                return Ok(body.to_vec());
            }
            301 | 302 | 303 | 307 | 308 => {
                let to = header("location").ok_or_else(|| format!("{url}: redirect without Location"))?;
                url = if to.starts_with("http://") || to.starts_with("https://") {
                    to
                } else {
                    format!("http://{host_header}{}", if to.starts_with('/') { to } else { format!("/{to}") })
                };
            }
            other => return Err(format!("{url}: HTTP {other}")),
        }
    }
    Err(format!("{url}: too many redirects"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_path() {
        assert_eq!(
            split_url("http://asxm.e-imza.az/cdp/AZ Root Authority (RCA).crt").unwrap(),
            ("asxm.e-imza.az".into(), 80, "/cdp/AZ%20Root%20Authority%20(RCA).crt".into())
        );
        assert_eq!(split_url("http://127.0.0.1:8080").unwrap(), ("127.0.0.1".into(), 8080, "/".into()));
        assert_eq!(split_url("http://[::1]:81/a").unwrap(), ("::1".into(), 81, "/a".into()));
        for bad in ["https://x/a", "ldap://x/a", "http://", "http://u@x/", "http://x:y/"] {
            assert!(split_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_server_that_is_not_there_is_an_error_not_a_hang() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let e = http_get(&format!("http://127.0.0.1:{port}/ica.der"), Duration::from_secs(2)).unwrap_err();
        assert!(e.contains("cannot connect"), "{e}");
        // One that accepts and says nothing times out.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t = std::time::Instant::now();
        assert!(http_get(&format!("http://127.0.0.1:{port}/x"), Duration::from_millis(300)).is_err());
        assert!(t.elapsed() < Duration::from_secs(5));
        drop(l);
    }
}
