//! Limits on open WebSocket connections: in all, and per site ([`crate::access::site`]) for
//! sites the citizen has not allowed, so that one web page cannot hold thousands of
//! sockets (and their buffers) open. An allowed site is bounded by the total only (and,
//! like everyone, by the budget of bytes in flight). When a limit is reached, room is
//! made by closing the **oldest idle connection of a site the citizen has not allowed**
//! (idle: no request pending and no frame coming in); if there is none to close, the
//! new connection is refused before the upgrade.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::Notify;

/// The limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections in all.
    pub total: usize,
    /// Connections of one site the citizen has not allowed.
    pub per_site: usize,
}

/// One open connection, as the registry sees it.
#[derive(Debug)]
pub struct Entry {
    /// Its origin.
    pub origin: String,
    /// Its site.
    pub site: String,
    opened: Instant,
    allowed: AtomicBool,
    busy: AtomicUsize,
    closing: AtomicBool,
    close: Notify,
}

impl Entry {
    /// Marks the origin allowed (the citizen said yes during the connection): it is then
    /// never closed to make room.
    pub fn set_allowed(&self, allowed: bool) {
        self.allowed.store(allowed, Ordering::Release);
    }

    /// Something is in progress (a frame coming in, a request pending) until the guard
    /// is dropped: the connection is not idle.
    pub fn busy(self: &Arc<Self>) -> BusyGuard {
        self.busy.fetch_add(1, Ordering::AcqRel);
        BusyGuard(self.clone())
    }

    /// Resolves when the registry closes this connection to make room.
    pub async fn closed_for_room(&self) {
        loop {
            let notified = self.close.notified();
            if self.closing.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    fn idle(&self) -> bool {
        self.busy.load(Ordering::Acquire) == 0 && !self.closing.load(Ordering::Acquire)
    }

    fn evictable(&self) -> bool {
        self.idle() && !self.allowed.load(Ordering::Acquire)
    }
}

/// While held, its connection is not idle.
pub struct BusyGuard(Arc<Entry>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Too many connections in all, none of them closable.
    Total,
    /// Too many connections of this site, none of them closable.
    Site,
}

/// The open connections.
#[derive(Debug)]
pub struct Connections {
    limits: Limits,
    open: Mutex<Vec<Arc<Entry>>>,
}

/// A connection's place in the registry, given up when dropped.
pub struct Registered {
    registry: Arc<Connections>,
    /// The connection's entry.
    pub entry: Arc<Entry>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut open = self.registry.open.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|e| !Arc::ptr_eq(e, &self.entry));
    }
}

impl Connections {
    /// An empty registry with `limits`.
    pub fn new(limits: Limits) -> Arc<Connections> {
        Arc::new(Connections { limits, open: Mutex::new(Vec::new()) })
    }

    /// Open connections now.
    pub fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True if none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Admits a connection of `origin` (`site`), closing the oldest idle connection of
    /// a not-allowed site where a limit is reached: first of the same site when that
    /// site is at its limit, then of any site when all connections are.
    pub fn admit(self: &Arc<Self>, origin: &str, site: &str, allowed: bool) -> Result<Registered, Refused> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let live = |e: &&Arc<Entry>| !e.closing.load(Ordering::Acquire);
        if !allowed && open.iter().filter(live).filter(|e| e.site == site).count() >= self.limits.per_site {
            let victim = open.iter().filter(|e| e.site == site && e.evictable()).min_by_key(|e| e.opened);
            match victim {
                Some(v) => close(v),
                None => return Err(Refused::Site),
            }
        }
        if open.iter().filter(live).count() >= self.limits.total {
            match open.iter().filter(|e| e.evictable()).min_by_key(|e| e.opened) {
                Some(v) => close(v),
                None => return Err(Refused::Total),
            }
        }
        let entry = Arc::new(Entry {
            origin: origin.to_owned(),
            site: site.to_owned(),
            opened: Instant::now(),
            allowed: AtomicBool::new(allowed),
            busy: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
            close: Notify::new(),
        });
        open.push(entry.clone());
        Ok(Registered { registry: self.clone(), entry })
    }
}

fn close(e: &Arc<Entry>) {
    tracing::debug!(origin = %e.origin, "closing an idle connection of a site that is not allowed, to make room");
    e.closing.store(true, Ordering::Release);
    e.close.notify_waiters();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_idle_unknown_connection_makes_room() {
        let c = Connections::new(Limits { total: 4, per_site: 2 });
        let a1 = c.admit("https://a.evil.example", "evil.example", false).unwrap();
        let a2 = c.admit("https://b.evil.example", "evil.example", false).unwrap();
        // The site is full: its oldest idle connection is closed for the third.
        let a3 = c.admit("https://c.evil.example", "evil.example", false).unwrap();
        assert!(a1.entry.closing.load(Ordering::Acquire));
        assert!(!a2.entry.closing.load(Ordering::Acquire));
        // A busy connection is never closed: with both busy, the site is refused.
        let _b2 = a2.entry.busy();
        let _b3 = a3.entry.busy();
        assert_eq!(c.admit("https://d.evil.example", "evil.example", false).err(), Some(Refused::Site));
        drop(a1);
        // Allowed connections fill the rest and are never closed for room; the site limit
        // is not theirs.
        let g1 = c.admit("https://e-gov.az", "e-gov.az", true).unwrap();
        let g2 = c.admit("https://www.e-gov.az", "e-gov.az", true).unwrap();
        assert_eq!(c.len(), 4);
        drop(_b3);
        // All full: the idle unknown one (a3) goes, not the allowed ones.
        let o = c.admit("https://other.example", "other.example", false).unwrap();
        let _bo = o.entry.busy();
        assert!(a3.entry.closing.load(Ordering::Acquire));
        assert!(!g1.entry.closing.load(Ordering::Acquire) && !g2.entry.closing.load(Ordering::Acquire));
        drop(a3);
        // Now only allowed and busy ones are left: refused.
        assert_eq!(c.admit("https://x.example", "x.example", false).err(), Some(Refused::Total));
    }

    #[tokio::test]
    async fn a_closed_connection_is_told() {
        let c = Connections::new(Limits { total: 1, per_site: 1 });
        let a = c.admit("https://a.example", "a.example", false).unwrap();
        let entry = a.entry.clone();
        let waiter = tokio::spawn(async move { entry.closed_for_room().await });
        tokio::task::yield_now().await;
        let _b = c.admit("https://b.example", "b.example", false).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.unwrap().unwrap();
    }
}
