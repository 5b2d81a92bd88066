//! The platform's file chooser for the tray's "Sign a document…" and "Check a
//! signature…", called from the tray's worker thread (never the event loop).
//!
//! - Linux: the desktop's own dialog through `zenity` (GNOME, and most desktops that
//!   ship it) or `kdialog` (KDE), as separate processes, so the agent needs no GTK call
//!   off the main thread; neither installed is said plainly.
//! - Windows: the common Open dialog (`GetOpenFileNameW`, [`crate::windows::open_file`]).

use std::path::PathBuf;

/// Shows an Open dialog titled `title`: the chosen file, `None` if the citizen closed it.
pub fn choose(title: &str) -> Result<Option<PathBuf>, String> {
    #[cfg(windows)]
    {
        crate::windows::open_file(title).map_err(|e| e.to_string())
    }
    #[cfg(not(windows))]
    {
        let candidates: [(&str, Vec<String>); 2] = [
            ("zenity", vec!["--file-selection".into(), format!("--title={title}")]),
            ("kdialog", vec!["--title".into(), title.into(), "--getopenfilename".into(), ".".into()]),
        ];
        for (program, args) in candidates {
            let run = std::process::Command::new(program).args(&args).stdin(std::process::Stdio::null()).output();
            match run {
                // Not installed: try the next one.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(format!("{program}: {e}")),
                // Both exit 1 when the dialog is closed without a choice.
                Ok(out) if !out.status.success() => return Ok(None),
                Ok(out) => {
                    let path = String::from_utf8_lossy(&out.stdout).trim_end_matches(['\n', '\r']).to_owned();
                    return Ok(Some(PathBuf::from(path)).filter(|p| !p.as_os_str().is_empty()));
                }
            }
        }
        Err(crate::tr!("tray-no-file-chooser"))
    }
}
