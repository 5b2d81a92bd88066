//! The agent's only unsafe code: the Windows API calls it needs, each wrapped in a safe
//! function that closes every handle it opens on every path.
//!
//! - [`tcp_table`]: the machine's TCP connections with their owning processes
//!   (`GetExtendedTcpTable`, TCP_TABLE_OWNER_PID_ALL), for the same-user check
//!   ([`crate::server::same_user`] parses it);
//! - [`process_user_sid`], [`own_user_sid`]: the user a process runs as (its token's
//!   `TokenUser` SID);
//! - [`SingleInstance`]: one agent per user session (a named mutex in the session's
//!   `Local\` namespace);
//! - [`user_locale`]: the user's language (`GetUserDefaultLocaleName`), for the texts;
//! - [`notify`]: a notification (a balloon, shown by Windows 10/11 as a toast);
//! - [`open_file`]: the common Open dialog, for the tray's document signing;
//! - [`is_wine`]: whether this Windows is wine (the tests' Windows).

use std::io;
use std::ptr::{null, null_mut};

use windows_sys::Win32::Foundation::{
    CloseHandle, GetLastError, ERROR_ALREADY_EXISTS, ERROR_INSUFFICIENT_BUFFER, HANDLE, NO_ERROR,
};
use windows_sys::Win32::Globalization::GetUserDefaultLocaleName;
use windows_sys::Win32::NetworkManagement::IpHelper::{GetExtendedTcpTable, TCP_TABLE_OWNER_PID_ALL};
use windows_sys::Win32::Security::{GetLengthSid, GetTokenInformation, TokenUser, TOKEN_QUERY, TOKEN_USER};
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
use windows_sys::Win32::System::Threading::{
    CreateMutexW, GetCurrentProcess, OpenProcess, OpenProcessToken, PROCESS_QUERY_LIMITED_INFORMATION,
};
use windows_sys::Win32::UI::Controls::Dialogs::{
    CommDlgExtendedError, GetOpenFileNameW, OFN_EXPLORER, OFN_FILEMUSTEXIST, OFN_NOCHANGEDIR, OFN_PATHMUSTEXIST,
    OPENFILENAMEW,
};
use windows_sys::Win32::UI::Shell::{
    Shell_NotifyIconW, NIF_ICON, NIF_INFO, NIF_TIP, NIIF_INFO, NIIF_WARNING, NIM_ADD, NIM_DELETE, NOTIFYICONDATAW,
};
use windows_sys::Win32::UI::WindowsAndMessaging::{
    CreateWindowExW, DestroyWindow, LoadIconW, HWND_MESSAGE, IDI_INFORMATION, IDI_WARNING,
};

/// `AF_INET` and `AF_INET6` (ws2def.h).
const AF_INET: u32 = 2;
const AF_INET6: u32 = 23;

/// A handle closed on drop.
struct Handle(HANDLE);

impl Drop for Handle {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the handle was opened by this module and is closed once.
            unsafe { CloseHandle(self.0) };
        }
    }
}

fn last_error() -> io::Error {
    io::Error::last_os_error()
}

/// The TCP table of one address family, as `GetExtendedTcpTable` writes it
/// (`MIB_TCPTABLE_OWNER_PID` for IPv4, `MIB_TCP6TABLE_OWNER_PID` for IPv6: a row count,
/// then the rows).
pub fn tcp_table(ipv6: bool) -> io::Result<Vec<u8>> {
    let family = if ipv6 { AF_INET6 } else { AF_INET };
    let mut size = 0u32;
    for _ in 0..4 {
        // u32 elements: the table is read as u32 words.
        let mut buf = vec![0u32; (size as usize).div_ceil(4).max(1)];
        let mut len = (buf.len() * 4) as u32;
        // SAFETY: `buf` holds `len` writable bytes, 4-aligned as the table's u32 fields
        // need; the call writes at most `len` bytes and says how many it needs otherwise.
        let rc =
            unsafe { GetExtendedTcpTable(buf.as_mut_ptr().cast(), &mut len, 0, family, TCP_TABLE_OWNER_PID_ALL, 0) };
        if rc == NO_ERROR {
            let bytes: Vec<u8> = buf.iter().flat_map(|w| w.to_ne_bytes()).take(len as usize).collect();
            return Ok(bytes);
        }
        if rc != ERROR_INSUFFICIENT_BUFFER {
            return Err(io::Error::from_raw_os_error(rc as i32));
        }
        // Connections come and go between the calls: ask again with room to spare.
        size = len + 4096;
    }
    Err(io::Error::other("the TCP table kept growing"))
}

/// The SID of the user `token` belongs to, as bytes.
fn token_user_sid(token: &Handle) -> io::Result<Vec<u8>> {
    let mut len = 0u32;
    // SAFETY: a size query: no buffer, the needed length goes to `len`.
    unsafe { GetTokenInformation(token.0, TokenUser, null_mut(), 0, &mut len) };
    if len == 0 {
        return Err(last_error());
    }
    // u64 elements: TOKEN_USER holds pointers and must be 8-aligned.
    let mut buf = vec![0u64; (len as usize).div_ceil(8)];
    // SAFETY: `buf` holds `len` writable, aligned bytes.
    if unsafe { GetTokenInformation(token.0, TokenUser, buf.as_mut_ptr().cast(), len, &mut len) } == 0 {
        return Err(last_error());
    }
    // SAFETY: the call filled `buf` with a TOKEN_USER whose SID points into `buf`,
    // which outlives these reads; GetLengthSid gives the SID's own length.
    unsafe {
        let user = &*(buf.as_ptr() as *const TOKEN_USER);
        let sid = user.User.Sid;
        let n = GetLengthSid(sid) as usize;
        Ok(std::slice::from_raw_parts(sid as *const u8, n).to_vec())
    }
}

fn process_token(process: HANDLE) -> io::Result<Handle> {
    let mut token: HANDLE = null_mut();
    // SAFETY: `process` is a live process handle; `token` receives a new handle.
    if unsafe { OpenProcessToken(process, TOKEN_QUERY, &mut token) } == 0 {
        return Err(last_error());
    }
    Ok(Handle(token))
}

/// The SID of the user process `pid` runs as. Fails for a process this user may not
/// query (another user's, or one that has exited).
pub fn process_user_sid(pid: u32) -> io::Result<Vec<u8>> {
    // SAFETY: OpenProcess returns a new handle or null.
    let process = Handle(unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) });
    if process.0.is_null() {
        return Err(last_error());
    }
    token_user_sid(&process_token(process.0)?)
}

/// The SID of the user this process runs as.
pub fn own_user_sid() -> io::Result<Vec<u8>> {
    // SAFETY: the pseudo-handle of the current process needs no closing.
    let me = unsafe { GetCurrentProcess() };
    token_user_sid(&process_token(me)?)
}

/// Holds the session's agent mutex: while it lives, [`SingleInstance::acquire`] in
/// another process of this session says another agent runs.
pub struct SingleInstance(#[allow(dead_code)] Handle);

impl SingleInstance {
    /// The mutex `Local\<name>` (per session: another user's session has its own), or
    /// `Ok(None)` when another process of this session holds it.
    pub fn acquire(name: &str) -> io::Result<Option<SingleInstance>> {
        let wide: Vec<u16> = format!("Local\\{name}").encode_utf16().chain([0]).collect();
        // SAFETY: `wide` is NUL-terminated; no security attributes (the session's default).
        let handle = unsafe { CreateMutexW(null(), 1, wide.as_ptr()) };
        // SAFETY: reads the calling thread's last error, set by CreateMutexW.
        let existed = unsafe { GetLastError() } == ERROR_ALREADY_EXISTS;
        if handle.is_null() {
            return Err(last_error());
        }
        let handle = Handle(handle);
        Ok((!existed).then_some(SingleInstance(handle)))
    }
}

/// True under wine (ntdll exports `wine_get_version`): its TCP table names no owning
/// processes (every row says process 0), so the same-user check cannot be made there.
pub fn is_wine() -> bool {
    let ntdll: Vec<u16> = "ntdll.dll".encode_utf16().chain([0]).collect();
    // SAFETY: `ntdll` is NUL-terminated; ntdll is loaded in every process, and the
    // module handle is not reference-counted by GetModuleHandleW.
    unsafe {
        let module = GetModuleHandleW(ntdll.as_ptr());
        !module.is_null() && GetProcAddress(module, c"wine_get_version".as_ptr().cast()).is_some()
    }
}

/// Shows a notification: a balloon from a notification-area icon of its own, which
/// Windows 10 and 11 show as a toast attributed to mohur (no AppUserModelID needed).
/// The icon goes away after `visible`. Returns once the notification was handed to the
/// shell (or refused).
pub fn notify(title: &str, body: &str, warning: bool, visible: std::time::Duration) -> io::Result<()> {
    let (title, body) = (title.to_owned(), body.to_owned());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new().name("mohur-notify".into()).spawn(move || {
        let fill = |dst: &mut [u16], text: &str| {
            let room = dst.len() - 1;
            for (d, c) in dst.iter_mut().zip(text.encode_utf16().take(room)) {
                *d = c;
            }
        };
        let class: Vec<u16> = "STATIC".encode_utf16().chain([0]).collect();
        // SAFETY: a message-only window of a system class, destroyed on this thread
        // below; `data` is a zeroed NOTIFYICONDATAW with its size set, its strings
        // NUL-terminated by `fill`'s length limit.
        unsafe {
            let hwnd =
                CreateWindowExW(0, class.as_ptr(), null(), 0, 0, 0, 0, 0, HWND_MESSAGE, null_mut(), null_mut(), null());
            if hwnd.is_null() {
                let _ = tx.send(Err(last_error()));
                return;
            }
            let mut data: NOTIFYICONDATAW = std::mem::zeroed();
            data.cbSize = std::mem::size_of::<NOTIFYICONDATAW>() as u32;
            data.hWnd = hwnd;
            data.uID = 1;
            data.uFlags = NIF_ICON | NIF_TIP | NIF_INFO;
            data.hIcon = LoadIconW(null_mut(), if warning { IDI_WARNING } else { IDI_INFORMATION });
            fill(&mut data.szTip, "mohur");
            fill(&mut data.szInfoTitle, &title);
            fill(&mut data.szInfo, &body);
            data.dwInfoFlags = if warning { NIIF_WARNING } else { NIIF_INFO };
            let added = Shell_NotifyIconW(NIM_ADD, &data) != 0;
            let _ = tx.send(if added { Ok(()) } else { Err(io::Error::other("Shell_NotifyIconW refused the icon")) });
            if added {
                std::thread::sleep(visible);
                Shell_NotifyIconW(NIM_DELETE, &data);
            }
            DestroyWindow(hwnd);
        }
    })?;
    rx.recv().unwrap_or_else(|_| Err(io::Error::other("the notification thread ended")))
}

/// The common Open dialog titled `title`: the chosen file, `None` if it was closed.
pub fn open_file(title: &str) -> io::Result<Option<std::path::PathBuf>> {
    use std::os::windows::ffi::OsStringExt;
    let title: Vec<u16> = title.encode_utf16().chain([0]).collect();
    // Long paths: 32 767 UTF-16 units is the longest a Windows path can be.
    let mut file = vec![0u16; 32_768];
    let mut ofn = OPENFILENAMEW {
        lStructSize: std::mem::size_of::<OPENFILENAMEW>() as u32,
        lpstrFile: file.as_mut_ptr(),
        nMaxFile: file.len() as u32,
        lpstrTitle: title.as_ptr(),
        Flags: OFN_EXPLORER | OFN_FILEMUSTEXIST | OFN_PATHMUSTEXIST | OFN_NOCHANGEDIR,
        ..Default::default()
    };
    // SAFETY: `ofn` is sized and zeroed but for the fields set above; `file` and `title`
    // outlive the call, `file` is writable for `nMaxFile` units and starts empty.
    let chosen = unsafe { GetOpenFileNameW(&mut ofn) } != 0;
    if !chosen {
        // SAFETY: no arguments; reads this thread's last dialog error.
        let code = unsafe { CommDlgExtendedError() };
        return if code == 0 { Ok(None) } else { Err(io::Error::other(format!("the Open dialog failed ({code:#x})"))) };
    }
    let len = file.iter().position(|&c| c == 0).unwrap_or(file.len());
    Ok(Some(std::ffi::OsString::from_wide(&file[..len]).into()))
}

/// The user's locale name, e.g. `az-Latn-AZ`, `hy-AM`, `en-US`.
pub fn user_locale() -> Option<String> {
    let mut buf = [0u16; 85]; // LOCALE_NAME_MAX_LENGTH
                              // SAFETY: `buf` holds 85 writable UTF-16 units, as passed.
    let n = unsafe { GetUserDefaultLocaleName(buf.as_mut_ptr(), buf.len() as i32) };
    (n > 1).then(|| String::from_utf16_lossy(&buf[..n as usize - 1]))
}

#[cfg(test)]
mod tests {
    //! Run under wine by `scripts/windows.sh`.
    use super::*;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn a_connection_of_this_process_is_in_the_table_with_our_pid_and_user() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let peer = client.local_addr().unwrap();
        let table = tcp_table(false).unwrap();
        let pid = crate::server::same_user::find_pid_v4(&table, peer, port).expect("our connection is listed");
        // wine names no owners (process 0); Windows names us.
        assert_eq!(pid, if is_wine() { 0 } else { std::process::id() });
        let me = own_user_sid().unwrap();
        assert!(me.len() >= 12, "a SID is at least 12 bytes: {me:?}");
        assert_eq!(process_user_sid(std::process::id()).unwrap(), me);
        assert!(crate::server::same_user::is_own_user(Some(peer), port));
        // A connection nobody has is nobody's.
        let nobody = "127.0.0.1:9".parse().unwrap();
        assert!(!crate::server::same_user::is_own_user(Some(nobody), port));
        drop(listener);
    }

    #[test]
    fn a_second_instance_is_refused_while_the_first_lives() {
        let name = format!("mohur-test-{}", std::process::id());
        let first = SingleInstance::acquire(&name).unwrap();
        assert!(first.is_some());
        // The same process asking again is another holder too: the mutex exists.
        assert!(SingleInstance::acquire(&name).unwrap().is_none());
        drop(first);
    }

    #[test]
    fn a_notification_is_handed_to_the_shell() {
        notify("mohur", "Certificate read: TEST HOLDER", false, std::time::Duration::from_millis(100)).unwrap();
        notify("mohur", "1 PIN try left", true, std::time::Duration::from_millis(100)).unwrap();
    }

    #[test]
    fn the_locale_is_a_name() {
        let l = user_locale().expect("a locale");
        assert!(l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{l}");
    }
}
