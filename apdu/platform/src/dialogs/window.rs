//! mohur's own dialog on Windows: the PIN, PUK, consent and signing dialogs drawn with
//! user32 (Win32), so that a citizen needs no pinentry program there.
//!
//! Win32 and not a GUI toolkit: the dialog is a handful of standard controls (a text,
//! a masked edit field, two buttons), which user32 draws in the system's own look and
//! language-neutral way, it runs under wine for the tests, and `windows-sys` is the
//! raw binding the workspace already builds for the installer. This file is the only
//! unsafe code of the crate.
//!
//! Each dialog is a top-level window with a modal message loop on the calling thread:
//! - it comes to the front over the browser that asked (topmost, centred on the
//!   browser's monitor, foreground taken with the foreground thread's input attached,
//!   the taskbar button flashing where Windows refuses);
//! - Enter is the OK button and Escape the cancel button (`IsDialogMessageW`);
//! - a 100 ms timer ends it when the [`Canceller`] fires ([`Error::Cancelled`]) or the
//!   timeout passes ([`Error::Timeout`]);
//! - the secret is read from the edit field into [`Zeroizing`] memory, and the field
//!   is emptied before the window goes.

use super::{Canceller, Dialog, Error, Result};
use std::cell::RefCell;
use std::ptr::{null, null_mut};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{HWND, LPARAM, LRESULT, RECT, WPARAM};
use windows_sys::Win32::Graphics::Gdi::{
    CreateFontIndirectW, DeleteObject, DrawTextW, GetDC, GetDeviceCaps, GetMonitorInfoW, GetSysColorBrush,
    MonitorFromWindow, ReleaseDC, SelectObject, SetBkMode, SetTextColor, COLOR_BTNFACE, DT_CALCRECT, DT_EDITCONTROL,
    DT_NOPREFIX, DT_WORDBREAK, HDC, HFONT, LOGPIXELSY, MONITORINFO, MONITOR_DEFAULTTOPRIMARY, TRANSPARENT,
};
use windows_sys::Win32::System::LibraryLoader::{
    GetModuleHandleExW, GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
};
use windows_sys::Win32::System::Threading::{AttachThreadInput, GetCurrentThreadId};
use windows_sys::Win32::UI::Controls::EM_LIMITTEXT;
use windows_sys::Win32::UI::Input::KeyboardAndMouse::{SetFocus, VK_ESCAPE, VK_RETURN};
use windows_sys::Win32::UI::WindowsAndMessaging::{
    AdjustWindowRectEx, BringWindowToTop, CreateWindowExW, DefWindowProcW, DestroyWindow, DispatchMessageW,
    FlashWindowEx, GetForegroundWindow, GetMessageW, GetWindowTextLengthW, GetWindowTextW, GetWindowThreadProcessId,
    IsChild, IsDialogMessageW, KillTimer, LoadCursorW, PostQuitMessage, RegisterClassExW, SendMessageW,
    SetForegroundWindow, SetTimer, SetWindowPos, SetWindowTextW, ShowWindow, SystemParametersInfoW, TranslateMessage,
    UnregisterClassW, BS_DEFPUSHBUTTON, BS_PUSHBUTTON, ES_AUTOHSCROLL, ES_AUTOVSCROLL, ES_MULTILINE, ES_PASSWORD,
    ES_READONLY, FLASHWINFO, FLASHW_ALL, FLASHW_TIMERNOFG, HMENU, HWND_TOPMOST, IDCANCEL, IDC_ARROW, IDOK, MSG,
    NONCLIENTMETRICSW, SPI_GETNONCLIENTMETRICS, SWP_NOMOVE, SWP_NOSIZE, SWP_SHOWWINDOW, SW_SHOWNORMAL, WM_CLOSE,
    WM_COMMAND, WM_CTLCOLORSTATIC, WM_DESTROY, WM_KEYDOWN, WM_SETFONT, WM_TIMER, WNDCLASSEXW, WS_BORDER, WS_CAPTION,
    WS_CHILD, WS_EX_APPWINDOW, WS_EX_CLIENTEDGE, WS_EX_CONTROLPARENT, WS_EX_DLGMODALFRAME, WS_EX_TOPMOST, WS_POPUP,
    WS_SYSMENU, WS_TABSTOP, WS_VISIBLE, WS_VSCROLL,
};
use zeroize::{Zeroize, Zeroizing};

/// The window class of mohur's dialogs.
const CLASS: &str = "mohur.dialog";
/// The longest secret the field accepts (PINs and PUKs are at most 12 characters).
const MAX_SECRET: usize = 64;
/// How often the dialog looks at its canceller and its deadline.
const TICK_MS: u32 = 100;
/// `SS_NOPREFIX` (winuser.h): an `&` in a text is shown, not taken as a mnemonic.
const SS_NOPREFIX: u32 = 0x80;
/// `SS_EDITCONTROL` (winuser.h): lines wrap as in an edit field, breaking a word longer
/// than a line (as the measurement with `DT_EDITCONTROL` assumes).
const SS_EDITCONTROL: u32 = 0x2000;

/// mohur's dialogs in a window of its own. Build one per dialog or keep one around.
#[derive(Clone, Default)]
pub struct Window {
    timeout: Option<Duration>,
    canceller: Canceller,
}

/// What the dialog asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// An entry field, OK and Cancel.
    Secret,
    /// OK and Cancel.
    Confirm,
    /// One button.
    Message,
}

/// How a dialog ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ended {
    Ok,
    /// The cancel button, Escape or the window's close box.
    Refused,
    Cancelled,
    Timeout,
}

impl Window {
    /// A dialog without a timeout that only the citizen ends.
    pub fn new() -> Window {
        Window::default()
    }

    /// A dialog nobody answers within `timeout` closes: [`Error::Timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Window {
        self.timeout = Some(timeout);
        self
    }

    /// Dialogs close when `canceller` fires: [`Error::Cancelled`].
    pub fn canceller(mut self, canceller: Canceller) -> Window {
        self.canceller = canceller;
        self
    }

    /// Asks for a secret, masked. Cancel, Escape and the close box are
    /// [`Error::Cancelled`]; an empty field is an empty secret.
    pub fn get_pin(&self, dialog: &Dialog) -> Result<Zeroizing<Vec<u8>>> {
        let (ended, secret) = self.show(dialog, Kind::Secret)?;
        match ended {
            Ended::Ok => Ok(secret.unwrap_or_default()),
            other => Err(error(other)),
        }
    }

    /// Asks yes or no: `true` for OK; `false` for Cancel, Escape or the close box (as
    /// pinentry reports them).
    pub fn confirm(&self, dialog: &Dialog) -> Result<bool> {
        match self.show(dialog, Kind::Confirm)?.0 {
            Ended::Ok => Ok(true),
            Ended::Refused => Ok(false),
            other => Err(error(other)),
        }
    }

    /// Shows a message with one button; Escape and the close box are
    /// [`Error::Cancelled`].
    pub fn message(&self, dialog: &Dialog) -> Result<()> {
        match self.show(dialog, Kind::Message)?.0 {
            Ended::Ok => Ok(()),
            other => Err(error(other)),
        }
    }

    fn show(&self, dialog: &Dialog, kind: Kind) -> Result<(Ended, Option<Zeroizing<Vec<u8>>>)> {
        if self.canceller.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let deadline = self.timeout.map(|t| Instant::now() + t);
        if RUNNING.with(|r| r.borrow().is_some()) {
            // One thread asks one thing at a time; a second dialog from inside the
            // first one's message loop would be a bug of the caller.
            return Err(Error::Failed("a dialog is already open on this thread".into()));
        }
        // SAFETY: `run` is called on this thread only, with the thread's dialog state
        // cleared; it destroys every handle it creates before it returns.
        unsafe { run(dialog, kind, deadline, self.canceller.clone()) }
    }
}

fn error(ended: Ended) -> Error {
    match ended {
        Ended::Timeout => Error::Timeout,
        _ => Error::Cancelled,
    }
}

/// The state of the dialog running on this thread, read by [`window_proc`].
struct Running {
    kind: Kind,
    edit: HWND,
    error_label: HWND,
    deadline: Option<Instant>,
    canceller: Canceller,
    ended: Option<Ended>,
    secret: Option<Zeroizing<Vec<u8>>>,
}

thread_local! {
    static RUNNING: RefCell<Option<Running>> = const { RefCell::new(None) };
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// `\n` as `\r\n`, which multi-line edit fields need.
fn crlf(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// The module (exe or DLL) this code is in: a DLL's class must name its own module,
/// or the PKCS#11 module's dialogs would outlive an unloaded DLL in a class of the
/// host.
unsafe fn this_module() -> *mut core::ffi::c_void {
    let mut module = null_mut();
    // SAFETY: the address is a function of this module; the flags take no reference.
    unsafe {
        GetModuleHandleExW(
            GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
            window_proc as *const () as *const u16,
            &mut module,
        )
    };
    module
}

/// The system's message font (what dialogs use), or `null` for the stock font.
unsafe fn message_font() -> HFONT {
    // SAFETY: `metrics` is a zeroed NONCLIENTMETRICSW with its size set, as
    // SPI_GETNONCLIENTMETRICS requires.
    unsafe {
        let mut metrics: NONCLIENTMETRICSW = std::mem::zeroed();
        metrics.cbSize = std::mem::size_of::<NONCLIENTMETRICSW>() as u32;
        if SystemParametersInfoW(SPI_GETNONCLIENTMETRICS, metrics.cbSize, (&raw mut metrics).cast(), 0) == 0 {
            return null_mut();
        }
        CreateFontIndirectW(&metrics.lfMessageFont)
    }
}

/// The height of `text` in `font` wrapped at `width` pixels, and its width unwrapped.
unsafe fn measure(font: HFONT, text: &str, width: i32, wrap: bool) -> (i32, i32) {
    let text = wide(text);
    let mut rect = RECT { left: 0, top: 0, right: width, bottom: 0 };
    // SAFETY: the screen DC is released on the same path; `text` is NUL-terminated.
    unsafe {
        let dc = GetDC(null_mut());
        let old = SelectObject(dc, font);
        let wrap = if wrap { DT_WORDBREAK | DT_EDITCONTROL } else { 0 };
        DrawTextW(dc, text.as_ptr(), -1, &mut rect, DT_CALCRECT | DT_NOPREFIX | wrap);
        SelectObject(dc, old);
        ReleaseDC(null_mut(), dc);
    }
    (rect.right - rect.left, rect.bottom - rect.top)
}

/// Screen pixels per 96 logical ones, in percent.
unsafe fn dpi_percent() -> i32 {
    // SAFETY: the screen DC is released right away.
    unsafe {
        let dc = GetDC(null_mut());
        let dpi = GetDeviceCaps(dc, LOGPIXELSY as _);
        ReleaseDC(null_mut(), dc);
        if dpi > 0 {
            dpi * 100 / 96
        } else {
            100
        }
    }
}

/// The dialog window and its font, to add controls to.
struct Parent {
    hwnd: HWND,
    font: HFONT,
}

impl Parent {
    /// One child control at `(x, y, width, height)`.
    unsafe fn child(
        &self,
        class: &str,
        text: &str,
        style: u32,
        ex_style: u32,
        at: (i32, i32, i32, i32),
        id: i32,
    ) -> HWND {
        let (x, y, w, h) = at;
        let class = wide(class);
        let text = wide(text);
        // SAFETY: both strings are NUL-terminated and outlive the call; the parent is a
        // live window of this thread; a child's menu handle is its control id.
        unsafe {
            let hwnd = CreateWindowExW(
                ex_style,
                class.as_ptr(),
                text.as_ptr(),
                WS_CHILD | WS_VISIBLE | style,
                x,
                y,
                w,
                h,
                self.hwnd,
                id as isize as HMENU,
                this_module(),
                null(),
            );
            if !self.font.is_null() {
                SendMessageW(hwnd, WM_SETFONT, self.font as WPARAM, 0);
            }
            hwnd
        }
    }
}

/// Shows the dialog and runs its message loop until it ends.
///
/// # Safety
/// Call on a thread with no dialog of this module running.
unsafe fn run(
    dialog: &Dialog,
    kind: Kind,
    deadline: Option<Instant>,
    canceller: Canceller,
) -> Result<(Ended, Option<Zeroizing<Vec<u8>>>)> {
    // SAFETY (whole function): every handle created here is destroyed here; the
    // strings passed to user32 are NUL-terminated locals that outlive the calls; the
    // thread-local state is set before the window exists and taken after it is gone.
    unsafe {
        let module = this_module();
        let class = wide(CLASS);
        let wc = WNDCLASSEXW {
            cbSize: std::mem::size_of::<WNDCLASSEXW>() as u32,
            style: 0,
            lpfnWndProc: Some(window_proc),
            cbClsExtra: 0,
            cbWndExtra: 0,
            hInstance: module,
            hIcon: null_mut(),
            hCursor: LoadCursorW(null_mut(), IDC_ARROW),
            hbrBackground: GetSysColorBrush(COLOR_BTNFACE),
            lpszMenuName: null(),
            lpszClassName: class.as_ptr(),
            hIconSm: null_mut(),
        };
        // Fails harmlessly when another thread's dialog registered it already.
        RegisterClassExW(&wc);

        let font = message_font();
        let scale = dpi_percent();
        let px = |v: i32| v * scale / 100;
        // Wide enough for a SHA-256 in hex on one line (the signing dialog lists them).
        let (margin, gap, width) = (px(16), px(10), px(540));
        let inner = width - 2 * margin;
        let (button_w, button_h, field_h) = (px(100), px(28), px(24));

        // Lay out from the top: description, error line, prompt and field, buttons.
        let (_, text_h) = measure(font, &dialog.description, inner, true);
        let scroll = text_h > px(360);
        let text_h = text_h.min(px(360));
        let mut y = margin;
        let description_at = (margin, y, inner, text_h);
        y += text_h + gap;
        let error_at = dialog.error.as_deref().filter(|e| !e.is_empty()).map(|e| {
            let (_, h) = measure(font, e, inner, true);
            let at = (margin, y, inner, h);
            y += h + gap;
            at
        });
        let prompt = dialog.prompt.as_deref().unwrap_or("");
        let field_at = (kind == Kind::Secret).then(|| {
            let (label_w, label_h) = measure(font, prompt, inner, false);
            let label_w = if prompt.is_empty() { 0 } else { label_w.min(inner / 2) + gap };
            let at = (
                (margin, y + (field_h - label_h) / 2, label_w, label_h),
                (margin + label_w, y, inner - label_w, field_h),
            );
            y += field_h + gap;
            at
        });
        y += gap;
        let buttons_y = y;
        let client_h = buttons_y + button_h + margin;

        let style = WS_POPUP | WS_CAPTION | WS_SYSMENU;
        let ex_style = WS_EX_DLGMODALFRAME | WS_EX_TOPMOST | WS_EX_CONTROLPARENT | WS_EX_APPWINDOW;
        let mut frame = RECT { left: 0, top: 0, right: width, bottom: client_h };
        AdjustWindowRectEx(&mut frame, style, 0, ex_style);
        let (outer_w, outer_h) = (frame.right - frame.left, frame.bottom - frame.top);

        // Centred on the monitor of the window in front (the browser that asked).
        let foreground = GetForegroundWindow();
        let mut monitor: MONITORINFO = std::mem::zeroed();
        monitor.cbSize = std::mem::size_of::<MONITORINFO>() as u32;
        GetMonitorInfoW(MonitorFromWindow(foreground, MONITOR_DEFAULTTOPRIMARY), &mut monitor);
        let work = monitor.rcWork;
        let x = work.left + ((work.right - work.left) - outer_w).max(0) / 2;
        let top = work.top + ((work.bottom - work.top) - outer_h).max(0) / 3;

        let title = wide(&dialog.title);
        let hwnd = CreateWindowExW(
            ex_style,
            class.as_ptr(),
            title.as_ptr(),
            style,
            x,
            top,
            outer_w,
            outer_h,
            null_mut(),
            null_mut(),
            module,
            null(),
        );
        if hwnd.is_null() {
            if !font.is_null() {
                DeleteObject(font);
            }
            return Err(Error::Failed(format!("CreateWindowExW failed ({})", std::io::Error::last_os_error())));
        }

        let parent = Parent { hwnd, font };
        if scroll {
            let text = crlf(&dialog.description);
            let style = (ES_MULTILINE | ES_READONLY | ES_AUTOVSCROLL) as u32 | WS_VSCROLL | WS_TABSTOP;
            parent.child("EDIT", &text, style, 0, description_at, 0);
        } else {
            parent.child("STATIC", &dialog.description, SS_NOPREFIX | SS_EDITCONTROL, 0, description_at, 0);
        }
        let error_label = match (error_at, dialog.error.as_deref()) {
            (Some(at), Some(text)) => parent.child("STATIC", text, SS_NOPREFIX, 0, at, 0),
            _ => null_mut(),
        };
        let edit = match field_at {
            Some((label_at, edit_at)) => {
                if !prompt.is_empty() {
                    parent.child("STATIC", prompt, SS_NOPREFIX, 0, label_at, 0);
                }
                let style = (ES_PASSWORD | ES_AUTOHSCROLL) as u32 | WS_TABSTOP | WS_BORDER;
                let edit = parent.child("EDIT", "", style, WS_EX_CLIENTEDGE, edit_at, 0);
                SendMessageW(edit, EM_LIMITTEXT, MAX_SECRET, 0);
                edit
            }
            None => null_mut(),
        };
        let ok_text = dialog.ok.as_deref().filter(|s| !s.is_empty()).unwrap_or("OK");
        let cancel_text = dialog.cancel.as_deref().filter(|s| !s.is_empty()).unwrap_or("Cancel");
        let ok_x = if kind == Kind::Message { width - margin - button_w } else { width - margin - 2 * button_w - gap };
        let ok_at = (ok_x, buttons_y, button_w, button_h);
        let ok = parent.child("BUTTON", ok_text, BS_DEFPUSHBUTTON as u32 | WS_TABSTOP, 0, ok_at, IDOK);
        let cancel = if kind == Kind::Message {
            null_mut()
        } else {
            let cancel_at = (width - margin - button_w, buttons_y, button_w, button_h);
            parent.child("BUTTON", cancel_text, BS_PUSHBUTTON as u32 | WS_TABSTOP, 0, cancel_at, IDCANCEL)
        };

        RUNNING.with(|r| {
            *r.borrow_mut() = Some(Running { kind, edit, error_label, deadline, canceller, ended: None, secret: None })
        });
        SetTimer(hwnd, 1, TICK_MS, None);
        bring_to_front(hwnd, foreground);
        SetFocus(if edit.is_null() { ok } else { edit });

        let mut msg: MSG = std::mem::zeroed();
        loop {
            let got = GetMessageW(&mut msg, null_mut(), 0, 0);
            if got == 0 || got == -1 {
                break;
            }
            // Enter and Escape are handled here rather than left to the dialog manager,
            // whose handling differs between Windows and wine: Enter is OK (Cancel when
            // the Cancel button has the focus), Escape is Cancel.
            if msg.message == WM_KEYDOWN && (msg.hwnd == hwnd || IsChild(hwnd, msg.hwnd) != 0) {
                let key = msg.wParam as u16;
                if key == VK_RETURN || key == VK_ESCAPE {
                    let id = if key == VK_ESCAPE || msg.hwnd == cancel { IDCANCEL } else { IDOK };
                    SendMessageW(hwnd, WM_COMMAND, id as WPARAM, 0);
                    continue;
                }
            }
            if IsDialogMessageW(hwnd, &msg) == 0 {
                TranslateMessage(&msg);
                DispatchMessageW(&msg);
            }
        }

        let running = RUNNING.with(|r| r.borrow_mut().take());
        if !font.is_null() {
            DeleteObject(font);
        }
        // Fails harmlessly while another thread's dialog is open.
        UnregisterClassW(class.as_ptr(), module);
        let running = running.ok_or_else(|| Error::Failed("the dialog's state went missing".into()))?;
        Ok((running.ended.unwrap_or(Ended::Refused), running.secret))
    }
}

/// Puts the dialog in front of the window that had the foreground (a process may only
/// take the foreground in some cases: with the foreground thread's input attached it
/// may; where it still may not, the taskbar button flashes).
unsafe fn bring_to_front(hwnd: HWND, foreground: HWND) {
    // SAFETY: `hwnd` is our live window; the input attachment is undone on the same path.
    unsafe {
        let me = GetCurrentThreadId();
        let theirs = if foreground.is_null() { 0 } else { GetWindowThreadProcessId(foreground, null_mut()) };
        let attached = theirs != 0 && theirs != me && AttachThreadInput(me, theirs, 1) != 0;
        ShowWindow(hwnd, SW_SHOWNORMAL);
        SetWindowPos(hwnd, HWND_TOPMOST, 0, 0, 0, 0, SWP_NOMOVE | SWP_NOSIZE | SWP_SHOWWINDOW);
        BringWindowToTop(hwnd);
        let in_front = SetForegroundWindow(hwnd) != 0;
        if attached {
            AttachThreadInput(me, theirs, 0);
        }
        if !in_front {
            let flash = FLASHWINFO {
                cbSize: std::mem::size_of::<FLASHWINFO>() as u32,
                hwnd,
                dwFlags: FLASHW_ALL | FLASHW_TIMERNOFG,
                uCount: 0,
                dwTimeout: 0,
            };
            FlashWindowEx(&flash);
        }
    }
}

/// Reads the edit field into zeroizing memory (UTF-8), then empties the field.
unsafe fn take_secret(edit: HWND) -> Zeroizing<Vec<u8>> {
    // SAFETY: `edit` is a live edit control of this thread; the buffer is as long as
    // the count passed.
    unsafe {
        let len = GetWindowTextLengthW(edit).max(0) as usize;
        let mut units = Zeroizing::new(vec![0u16; len + 1]);
        let n = GetWindowTextW(edit, units.as_mut_ptr(), units.len() as i32).max(0) as usize;
        // Sized for the worst case up front: a growing Vec would leave copies behind.
        let mut secret = Zeroizing::new(Vec::with_capacity(n * 4));
        let mut utf8 = [0u8; 4];
        for c in char::decode_utf16(units[..n.min(len)].iter().copied()) {
            let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
            secret.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
        utf8.zeroize();
        let empty = wide("");
        SetWindowTextW(edit, empty.as_ptr());
        secret
    }
}

/// Ends the dialog with `ended` (the first reason wins).
unsafe fn finish(hwnd: HWND, ended: Ended) {
    let edit = RUNNING.with(|r| {
        let mut r = r.borrow_mut();
        match r.as_mut() {
            Some(running) if running.ended.is_none() => {
                running.ended = Some(ended);
                Some((running.kind == Kind::Secret && ended == Ended::Ok).then_some(running.edit))
            }
            _ => None,
        }
    });
    let Some(edit) = edit else { return };
    // SAFETY: `hwnd` is our live window and `edit` its child.
    unsafe {
        if let Some(edit) = edit.filter(|e| !e.is_null()) {
            let secret = take_secret(edit);
            RUNNING.with(|r| {
                if let Some(running) = r.borrow_mut().as_mut() {
                    running.secret = Some(secret);
                }
            });
        } else if let Some(edit) = RUNNING.with(|r| r.borrow().as_ref().map(|r| r.edit)).filter(|e| !e.is_null()) {
            // Not used: wiped all the same.
            drop(take_secret(edit));
        }
        KillTimer(hwnd, 1);
        DestroyWindow(hwnd);
    }
}

/// The dialog window's procedure.
unsafe extern "system" fn window_proc(hwnd: HWND, msg: u32, wparam: WPARAM, lparam: LPARAM) -> LRESULT {
    // SAFETY: called by user32 on this thread with a live `hwnd`; no RefCell borrow
    // is held across a call that can re-enter this procedure.
    unsafe {
        match msg {
            WM_COMMAND => {
                let id = (wparam & 0xffff) as i32;
                if id == IDOK {
                    finish(hwnd, Ended::Ok);
                    return 0;
                }
                if id == IDCANCEL {
                    finish(hwnd, Ended::Refused);
                    return 0;
                }
            }
            WM_CLOSE => {
                finish(hwnd, Ended::Refused);
                return 0;
            }
            WM_TIMER => {
                let due = RUNNING.with(|r| {
                    r.borrow().as_ref().and_then(|r| {
                        if r.canceller.is_cancelled() {
                            Some(Ended::Cancelled)
                        } else if r.deadline.is_some_and(|d| Instant::now() >= d) {
                            Some(Ended::Timeout)
                        } else {
                            None
                        }
                    })
                });
                if let Some(ended) = due {
                    finish(hwnd, ended);
                }
                return 0;
            }
            WM_CTLCOLORSTATIC => {
                let dc = wparam as HDC;
                let error_label = RUNNING.with(|r| r.borrow().as_ref().map(|r| r.error_label));
                if error_label.is_some_and(|e| !e.is_null() && e == lparam as HWND) {
                    SetTextColor(dc, 0x0000_00b0); // dark red (COLORREF is 0x00bbggrr)
                }
                SetBkMode(dc, TRANSPARENT as _);
                return GetSysColorBrush(COLOR_BTNFACE) as LRESULT;
            }
            WM_DESTROY => {
                PostQuitMessage(0);
                return 0;
            }
            _ => {}
        }
        DefWindowProcW(hwnd, msg, wparam, lparam)
    }
}

#[cfg(test)]
mod tests {
    //! Run under wine (`scripts/test.sh` cross-builds and runs them with wine as the
    //! runner): the dialog is driven through user32 from a second thread, as a
    //! person's keys would.
    use super::*;
    use windows_sys::Win32::UI::WindowsAndMessaging::{FindWindowW, IsWindowVisible, PostMessageW, WM_CHAR};

    fn dialog(title: &str) -> Dialog {
        Dialog {
            title: title.into(),
            description: "Enter the PIN of the card of TEST HOLDER.\n3 tries left".into(),
            prompt: Some("PIN:".into()),
            ..Dialog::default()
        }
    }

    /// Waits for the window titled `title` to be shown (it is shown once its controls
    /// are in place). Generous: wine's first window in a process on a busy 2-core CI
    /// machine has taken over 10 s.
    fn find(title: &str) -> HWND {
        let (class, t) = (wide(CLASS), wide(title));
        for _ in 0..2400 {
            // SAFETY: both strings are NUL-terminated; a gone window is not visible.
            let hwnd = unsafe { FindWindowW(class.as_ptr(), t.as_ptr()) };
            if !hwnd.is_null() && unsafe { IsWindowVisible(hwnd) } != 0 {
                return hwnd;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("no dialog titled {title}");
    }

    /// Posts keys to the focused control of the dialog's thread, as typing would.
    fn type_into(hwnd: HWND, text: &str, then: u32) {
        let hwnd = hwnd as usize;
        for c in text.encode_utf16() {
            // SAFETY: posting to a window of this process; a gone window fails the post.
            unsafe { PostMessageW(focused_edit(hwnd as HWND), WM_CHAR, c as WPARAM, 0) };
        }
        // SAFETY: as above.
        unsafe { PostMessageW(focused_edit(hwnd as HWND), WM_KEYDOWN, then as WPARAM, 0) };
    }

    fn focused_edit(dialog: HWND) -> HWND {
        use windows_sys::Win32::UI::WindowsAndMessaging::FindWindowExW;
        let edit = wide("EDIT");
        // SAFETY: `edit` is NUL-terminated; `dialog` is our window.
        unsafe { FindWindowExW(dialog, null_mut(), edit.as_ptr(), null()) }
    }

    #[test]
    fn a_typed_pin_and_enter_give_the_pin() {
        let t = std::thread::spawn(|| Window::new().timeout(Duration::from_secs(20)).get_pin(&dialog("typed")));
        let hwnd = find("typed");
        type_into(hwnd, "123456", 0x0d);
        let pin = t.join().unwrap().unwrap();
        assert_eq!(&pin[..], b"123456");
    }

    #[test]
    fn escape_is_cancelled() {
        let t = std::thread::spawn(|| Window::new().timeout(Duration::from_secs(20)).get_pin(&dialog("escaped")));
        let hwnd = find("escaped");
        type_into(hwnd, "99", 0x1b);
        assert!(matches!(t.join().unwrap(), Err(Error::Cancelled)));
    }

    #[test]
    fn an_unanswered_dialog_times_out() {
        let started = Instant::now();
        let r = Window::new().timeout(Duration::from_millis(600)).get_pin(&dialog("ignored"));
        assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
        // Not before its time. No upper bound: returning at all proves the timer ended it
        // (nobody answers this dialog), and a slow wine start can take seconds.
        assert!(started.elapsed() >= Duration::from_millis(600));
    }

    #[test]
    fn the_canceller_closes_it() {
        let c = Canceller::new();
        let window = Window::new().timeout(Duration::from_secs(20)).canceller(c.clone());
        let t = std::thread::spawn(move || window.confirm(&dialog("cancelled")));
        find("cancelled");
        c.cancel();
        assert!(matches!(t.join().unwrap(), Err(Error::Cancelled)));
        // Cancelled stays cancelled: the next dialog is not shown.
        let r = Window::new().canceller(c).message(&dialog("never"));
        assert!(matches!(r, Err(Error::Cancelled)));
    }

    #[test]
    fn confirm_says_yes_on_enter_and_no_on_escape() {
        for (key, want) in [(0x0d, true), (0x1b, false)] {
            let title = format!("confirm {key}");
            let t2 = title.clone();
            let t = std::thread::spawn(move || Window::new().timeout(Duration::from_secs(20)).confirm(&dialog(&t2)));
            let hwnd = find(&title);
            // SAFETY: posting to a window of this process.
            unsafe { PostMessageW(hwnd, WM_KEYDOWN, key as WPARAM, 0) };
            assert_eq!(t.join().unwrap().unwrap(), want);
        }
    }
}
