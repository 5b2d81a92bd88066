/*
 * bcryptprimitives.dll for running mohur's Windows binaries under wine 8 (tests only,
 * never packaged). Rust's std (1.78+) gets its random numbers from ProcessPrng in
 * bcryptprimitives.dll, which wine 8 does not have: without it every .exe fails to
 * start. This stub answers ProcessPrng with bcrypt's system RNG, which wine has.
 * Built by scripts/package.sh:
 *   x86_64-w64-mingw32-gcc -shared -o bcryptprimitives.dll bcryptprimitives.c -lbcrypt
 */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* BCryptGenRandom takes a ULONG length: large requests in pieces. */
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
