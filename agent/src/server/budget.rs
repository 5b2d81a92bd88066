//! The bytes in flight across all connections: frames being received, parsed, or
//! waiting for the citizen. A frame is admitted only if its reservation fits in what
//! is left; one that does not is never buffered (the session reads and drops it and
//! answers `BUSY`). The reservation lives as long as the request's data does, so a
//! hundred large requests waiting behind one dialog count against the budget too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// How many bytes of memory one admitted frame byte may come to while its request
/// lives: the frame itself, then the parsed JSON (its strings are a copy) while the
/// frame is dropped, then a document decoded from base64 (¾ of its text) while the JSON
/// is dropped. Two copies at a time at most.
pub const BYTES_PER_FRAME_BYTE: usize = 2;

/// A shared budget of bytes.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    used: AtomicUsize,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Arc<Budget> {
        Arc::new(Budget { limit, used: AtomicUsize::new(0) })
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes reserved now.
    pub fn in_use(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// Reserves `n` bytes, or `None` if they do not fit.
    pub fn try_reserve(self: &Arc<Self>, n: usize) -> Option<Reservation> {
        let mut r = Reservation { budget: self.clone(), bytes: 0 };
        r.try_grow(n).then_some(r)
    }

    fn take(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }
}

/// Bytes taken from a [`Budget`], given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Reservation {
    /// Takes `n` more bytes, if they fit: a message of several frames grows with each.
    pub fn try_grow(&mut self, n: usize) -> bool {
        let ok = self.budget.take(n);
        if ok {
            self.bytes += n;
        }
        ok
    }

    /// The bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_fit_or_fail_and_are_given_back() {
        let b = Budget::new(100);
        let mut a = b.try_reserve(60).unwrap();
        assert!(b.try_reserve(41).is_none());
        let c = b.try_reserve(40).unwrap();
        assert_eq!(b.in_use(), 100);
        assert!(!a.try_grow(1));
        drop(c);
        assert!(a.try_grow(30));
        assert_eq!((a.bytes(), b.in_use()), (90, 90));
        drop(a);
        assert_eq!(b.in_use(), 0);
        assert!(b.try_reserve(usize::MAX).is_none());
    }

    #[test]
    fn concurrent_reservations_never_exceed_the_limit() {
        let b = Budget::new(1000);
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let b = b.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        if let Some(r) = b.try_reserve(7) {
                            assert!(b.in_use() <= 1000);
                            drop(r);
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(b.in_use(), 0);
    }
}
