//! mohur's own PIN failure counter for PKCS#11 tokens that never lock. (being written)
