//! `mohur-install`: puts mohur's CA certificates (root, Policy CA, E-Government CA),
//! its PKCS#11 module and the agent's autostart where the OS and the browsers look for
//! them, and takes away exactly that again.
//!
//! The work is a list of [`Action`]s built by [`plan`] from the [`Options`]. An action
//! that is already in place is left alone and not recorded; every action that was
//! applied goes into the [`Manifest`], and `uninstall` undoes those and nothing else.
//! Hence installing twice changes nothing the second time, and what a user had before
//! (the same root under another name, another PKCS#11 module) survives an uninstall.
#![cfg_attr(not(windows), forbid(unsafe_code))]
#![cfg_attr(windows, deny(unsafe_code))]

pub mod actions;
pub mod audit;
pub mod ca;
mod error;
pub mod fetch;
pub mod learn;
pub mod manifest;
pub mod pinned;
pub mod plan;
pub mod report;
pub mod web_eid;
#[cfg(windows)]
#[allow(unsafe_code)]
mod win;

pub use actions::Action;
pub use error::Error;
pub use manifest::Manifest;
pub use plan::{plan, Options};

use std::io::Write;

/// Applies every action not yet in place and records it. Stops at the first failure,
/// after saving what was applied so far, so that `uninstall` can still take it away.
pub fn install(
    actions: &[Action],
    manifest_path: &std::path::Path,
    dry_run: bool,
    out: &mut dyn Write,
) -> Result<usize, Error> {
    retire_old_loopback_cas(actions, manifest_path, dry_run, out)?;
    let mut manifest = Manifest::load(manifest_path)?;
    let before = manifest.clone();
    let mut applied = 0;
    let mut result = Ok(());
    for a in actions {
        match a.is_done() {
            Ok(true) => {
                let _ = writeln!(out, "  = {} (already there)", a.describe());
                continue;
            }
            Ok(false) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
        if dry_run {
            let _ = writeln!(out, "  would add {}", a.describe());
            continue;
        }
        if let Err(e) = a.apply() {
            let _ = writeln!(out, "  ✗ {}: {e}", a.describe());
            result = Err(e);
            break;
        }
        let _ = writeln!(out, "  + {}", a.describe());
        manifest.record(a.clone());
        applied += 1;
    }
    if !dry_run && manifest != before {
        manifest.save(manifest_path)?;
        let _ = writeln!(out, "  manifest: {}", manifest_path.display());
    }
    result.map(|()| applied)
}

/// Undoes what the manifest records, newest first; the system CA bundle is rebuilt last,
/// after its files are gone. Entries that fail stay in the manifest.
pub fn uninstall(manifest_path: &std::path::Path, dry_run: bool, out: &mut dyn Write) -> Result<usize, Error> {
    uninstall_where(manifest_path, &|_| true, dry_run, out)
}

/// [`uninstall`] of the entries `which` picks (`uninstall --loopback-tls`: the loopback
/// CA only); the others stay recorded, in their order.
pub fn uninstall_where(
    manifest_path: &std::path::Path,
    which: &dyn Fn(&Action) -> bool,
    dry_run: bool,
    out: &mut dyn Write,
) -> Result<usize, Error> {
    let manifest = Manifest::load(manifest_path)?;
    let chosen: Vec<usize> = (0..manifest.entries.len()).filter(|&i| which(&manifest.entries[i])).collect();
    if chosen.is_empty() {
        let _ = writeln!(out, "  nothing recorded in {}: nothing to remove", manifest_path.display());
        return Ok(0);
    }
    let is_store = |i: &&usize| matches!(manifest.entries[**i], Action::SystemCaStore { .. });
    let order = chosen.iter().rev().filter(|i| !is_store(i)).chain(chosen.iter().rev().filter(is_store));
    let mut failed = Vec::new();
    let mut first_err = None;
    let mut removed = 0;
    for &i in order {
        let a = &manifest.entries[i];
        if dry_run {
            let _ = writeln!(out, "  would remove {}", a.describe());
            continue;
        }
        match a.undo() {
            Ok(note) => {
                let _ = writeln!(out, "  - {}", a.describe());
                if let Some(n) = note {
                    let _ = writeln!(out, "    note: {n}");
                }
                removed += 1;
            }
            Err(e) => {
                let _ = writeln!(out, "  ✗ {}: {e}", a.describe());
                failed.push(i);
                first_err.get_or_insert(e);
            }
        }
    }
    if !dry_run {
        let entries = manifest
            .entries
            .iter()
            .enumerate()
            .filter(|(i, _)| !chosen.contains(i) || failed.contains(i))
            .map(|(_, a)| a.clone())
            .collect();
        let rest = Manifest { entries, ..manifest };
        if rest.entries.is_empty() {
            Manifest::remove(manifest_path)?;
        } else {
            rest.save(manifest_path)?;
        }
    }
    first_err.map_or(Ok(removed), Err)
}

/// Before a new loopback CA goes in (its key was lost, `install --loopback-tls` made
/// another), the older ones the manifest records are taken out of the trust stores:
/// nobody holds their keys any more, and one loopback anchor is enough.
fn retire_old_loopback_cas(
    actions: &[Action],
    manifest_path: &std::path::Path,
    dry_run: bool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let Some(new) = actions.iter().find(|a| matches!(a, Action::LoopbackCa { .. })).and_then(Action::loopback_ca_der)
    else {
        return Ok(());
    };
    let old = |a: &Action| a.loopback_ca_der().is_some_and(|d| d != new);
    if Manifest::load(manifest_path)?.entries.iter().any(old) {
        let _ = writeln!(out, "  older loopback CA (its key is gone):");
        uninstall_where(manifest_path, &old, dry_run, out)?;
    }
    Ok(())
}

/// Checks each action: ✓ in place, ✗ missing. True when all are in place.
pub fn verify(actions: &[Action], out: &mut dyn Write) -> Result<bool, Error> {
    let mut all = true;
    for a in actions {
        let ok = a.is_done()?;
        all &= ok;
        let _ = writeln!(out, "  {} {}", if ok { "✓" } else { "✗" }, a.describe());
    }
    Ok(all)
}
