/* dialog-text.exe [TITLE]: prints the texts of mohur's dialog window (class
 * "mohur.dialog"; the one titled TITLE if given), its title first, then its child controls, one per line, UTF-8, as Windows' own accessibility would read
 * them (GetWindowTextW). The Windows end-to-end test (tests/src/bin/windows_demo.rs)
 * reads mohur's dialogs with it under wine, where the Linux side cannot look inside a
 * window. Test machines only. Exit 1 when there is no such window. */
#include <windows.h>
#include <stdio.h>

static void put(HWND h) {
    WCHAR text[4096];
    char utf8[16384];
    int n = GetWindowTextW(h, text, 4096);
    int m = WideCharToMultiByte(CP_UTF8, 0, text, n, utf8, sizeof utf8 - 1, NULL, NULL);
    utf8[m] = 0;
    printf("%s\n", utf8);
}

static BOOL CALLBACK child(HWND h, LPARAM unused) {
    (void)unused;
    put(h);
    return TRUE;
}

int wmain(int argc, WCHAR **argv) {
    if (argc > 2) {
        fprintf(stderr, "usage: dialog-text.exe [TITLE]\n");
        return 2;
    }
    /* Under `wine explorer /desktop=mohur,…` the dialogs live on the desktop "mohur":
     * look there when it exists. */
    HDESK desk = OpenDesktopW(L"mohur", 0, FALSE, GENERIC_ALL);
    if (desk) SetThreadDesktop(desk);
    HWND w = FindWindowW(L"mohur.dialog", argc == 2 ? argv[1] : NULL);
    if (!w) return 1;
    put(w);
    EnumChildWindows(w, child, 0);
    return 0;
}
