//! Sites: the registrable domain of an origin ("eTLD+1" of the Public Suffix List, as
//! browsers group origins into sites), so that `a.evil.example`, `b.evil.example` and
//! a thousand more subdomains of one registrable domain count as one site for the
//! connection limits and for how often a consent dialog may be shown
//! ([`ConsentLimiter`]). The list is compiled in (`psl`).

use crate::{Error, Result};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The site of a normalised origin (`scheme://host[:port]`): the host's registrable
/// domain; an IP address, a single-label name (`localhost`) or a host that is itself a
/// public suffix is its own site. Scheme and port do not matter.
pub fn site_of(origin: &str) -> String {
    let rest = origin.split_once("://").map_or(origin, |(_, r)| r);
    let host = if let Some(v6) = rest.strip_prefix('[') {
        return format!("[{}]", v6.split(']').next().unwrap_or(""));
    } else {
        rest.rsplit_once(':').map_or(rest, |(h, p)| if p.bytes().all(|b| b.is_ascii_digit()) { h } else { rest })
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<std::net::Ipv4Addr>().is_ok() || !host.contains('.') {
        return host;
    }
    match psl::domain_str(&host) {
        Some(d) => d.to_owned(),
        None => host,
    }
}

/// The least time between two consent dialogs of one site.
pub const CONSENT_INTERVAL: Duration = Duration::from_secs(30);
/// How long a site stays quiet after the citizen said no to it, or closed its dialog
/// unanswered.
pub const CONSENT_QUIET_AFTER_NO: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Default)]
struct SiteConsent {
    asking: bool,
    next_allowed: Option<Instant>,
}

/// How often a site may put a consent dialog in front of the citizen: one at a time,
/// [`CONSENT_INTERVAL`] apart, none for [`CONSENT_QUIET_AFTER_NO`] after a "no".
/// Without this, a page could open connections from many subdomains and fill the
/// screen with "Allow …?" dialogs until the citizen clicks the wrong button.
#[derive(Debug, Default)]
pub struct ConsentLimiter {
    sites: Mutex<HashMap<String, SiteConsent>>,
}

/// A consent dialog that may be shown; [`ConsentTicket::answered`] records how it ended.
#[must_use]
pub struct ConsentTicket<'a> {
    limiter: &'a ConsentLimiter,
    site: String,
    yes: bool,
}

impl ConsentLimiter {
    /// May a consent dialog for `origin` be shown now? `Err(RateLimited)` if its site is
    /// asking already, or asked too recently.
    pub fn begin(&self, origin: &str) -> Result<ConsentTicket<'_>> {
        self.begin_at(origin, Instant::now())
    }

    fn begin_at(&self, origin: &str, now: Instant) -> Result<ConsentTicket<'_>> {
        let site = site_of(origin);
        let mut sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        let s = sites.entry(site.clone()).or_default();
        if s.asking || s.next_allowed.is_some_and(|t| now < t) {
            return Err(Error::RateLimited);
        }
        s.asking = true;
        Ok(ConsentTicket { limiter: self, site, yes: false })
    }
}

impl ConsentTicket<'_> {
    /// The citizen said yes (a "no", a cancel or a timeout is the default).
    pub fn answered(mut self, yes: bool) {
        self.yes = yes;
    }
}

impl Drop for ConsentTicket<'_> {
    fn drop(&mut self) {
        let wait = if self.yes { CONSENT_INTERVAL } else { CONSENT_QUIET_AFTER_NO };
        let mut sites = self.limiter.sites.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = sites.get_mut(&self.site) {
            s.asking = false;
            s.next_allowed = Some(Instant::now() + wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_share_their_registrable_domain() {
        assert_eq!(site_of("https://a.b.evil.example"), "evil.example");
        assert_eq!(site_of("https://evil.example:8443"), "evil.example");
        assert_eq!(site_of("https://e-gov.az"), "e-gov.az");
        // gov.az and github.io are public suffixes: their subdomains are different sites.
        assert_eq!(site_of("https://my.gov.az"), "my.gov.az");
        assert_eq!(site_of("https://x.my.gov.az"), "my.gov.az");
        assert_ne!(site_of("https://alice.github.io"), site_of("https://bob.github.io"));
        assert_eq!(site_of("https://www.bank.co.uk"), "bank.co.uk");
        assert_eq!(site_of("http://localhost:8080"), "localhost");
        assert_eq!(site_of("http://127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(site_of("http://[::1]:8080"), "[::1]");
    }

    #[test]
    fn one_dialog_per_site_at_a_time_and_a_pause_after_each() {
        let l = ConsentLimiter::default();
        let t = l.begin("https://a.evil.example").unwrap();
        // Every other subdomain waits while the first asks; other sites do not.
        for i in 0..50 {
            assert!(matches!(l.begin(&format!("https://s{i}.evil.example")), Err(Error::RateLimited)));
        }
        let other = l.begin("https://e-gov.az").unwrap();
        other.answered(true);
        t.answered(false);
        // After a "no" the site is quiet.
        assert!(matches!(l.begin("https://c.evil.example"), Err(Error::RateLimited)));
        let later = Instant::now() + CONSENT_QUIET_AFTER_NO + Duration::from_secs(1);
        assert!(l.begin_at("https://c.evil.example", later).is_ok());
        // After a "yes", the next dialog of that site waits the interval.
        assert!(matches!(l.begin("https://e-gov.az"), Err(Error::RateLimited)));
        let later = Instant::now() + CONSENT_INTERVAL + Duration::from_secs(1);
        assert!(l.begin_at("https://www.e-gov.az", later).is_ok());
    }
}
