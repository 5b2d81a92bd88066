//! CAdES-BES (ETSI EN 319 122-1) signed data over a token key, RFC 5652. (being written)
