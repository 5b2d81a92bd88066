//! Cancelling what a request started (a prompt, a card operation) when its socket
//! closes or the page sends `cancel`.

use std::sync::{Arc, Mutex};

type Hook = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    cancelled: bool,
    hooks: Vec<Hook>,
}

/// A cancellation flag shared between a request and the work it started. Work that
/// blocks (a pinentry child process) registers a hook that ends it.
#[derive(Clone, Default)]
pub struct Cancel(Arc<Mutex<State>>);

impl Cancel {
    /// A fresh, not cancelled flag.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Cancels: runs every registered hook once.
    pub fn cancel(&self) {
        let hooks = {
            let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
            s.cancelled = true;
            std::mem::take(&mut s.hooks)
        };
        for hook in hooks {
            hook();
        }
    }

    /// True once [`Cancel::cancel`] ran.
    pub fn is_cancelled(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).cancelled
    }

    /// Runs `hook` on cancellation, or at once if already cancelled.
    pub fn on_cancel(&self, hook: impl FnOnce() + Send + 'static) {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if s.cancelled {
            drop(s);
            hook();
        } else {
            s.hooks.push(Box::new(hook));
        }
    }

    /// `Err(UserCancelled)` once cancelled.
    pub fn check(&self) -> crate::Result<()> {
        if self.is_cancelled() {
            Err(crate::Error::UserCancelled)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn hooks_run_once_and_late_hooks_run_at_once() {
        let n = Arc::new(AtomicUsize::new(0));
        let c = Cancel::new();
        let n1 = n.clone();
        c.on_cancel(move || {
            n1.fetch_add(1, Ordering::SeqCst);
        });
        assert!(!c.is_cancelled());
        c.cancel();
        c.cancel();
        assert_eq!(n.load(Ordering::SeqCst), 1);
        let n2 = n.clone();
        c.on_cancel(move || {
            n2.fetch_add(10, Ordering::SeqCst);
        });
        assert_eq!(n.load(Ordering::SeqCst), 11);
        assert!(c.check().is_err());
    }
}
