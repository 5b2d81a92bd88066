//! `mohurw.exe`: how Windows starts the agent at login and from the Start menu without a
//! console window.
//!
//! `mohur.exe` is a console program, so that `mohur status`, `doctor` and `pin …` print
//! in cmd and PowerShell (a GUI-subsystem program gets no console there, and cmd would
//! not wait for it). Started from the Run key it would open a console window of its
//! own. This small GUI-subsystem program starts `mohur.exe` next to it with the same
//! arguments (`agent` when given none) and `CREATE_NO_WINDOW`, so the agent, its tray
//! and its dialogs run with no console at all, as `pythonw.exe` does for Python.
#![cfg_attr(windows, windows_subsystem = "windows")]
#![forbid(unsafe_code)]

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let Some(agent) = std::env::current_exe().ok().map(|exe| exe.with_file_name(agent_name())) else {
        return ExitCode::FAILURE;
    };
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.is_empty() {
        args.push("agent".into());
    }
    let mut cmd = Command::new(agent);
    // The agent then tells what it would print (e.g. that it runs already) in a dialog.
    cmd.args(args).env("MOHUR_NO_CONSOLE", "1");
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        /// `CREATE_NO_WINDOW` (winbase.h): a console program without a console window.
        const CREATE_NO_WINDOW: u32 = 0x0800_0000;
        cmd.creation_flags(CREATE_NO_WINDOW);
    }
    // The agent's exit code is ours: a second agent's "already running" reaches the
    // Run key's logs and the tests.
    match cmd.status() {
        Ok(status) => ExitCode::from(status.code().unwrap_or(1).clamp(0, 255) as u8),
        Err(_) => ExitCode::FAILURE,
    }
}

fn agent_name() -> &'static str {
    if cfg!(windows) {
        "mohur.exe"
    } else {
        "mohur"
    }
}
