//! USB tokens through vendor PKCS#11 modules (cryptoki). (being written)
