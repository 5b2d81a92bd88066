//! The agent's one error type, and the stable protocol error codes it maps to
//! (`agent/PROTOCOL.md` § Errors).

/// Result with the agent's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong in the agent. Each variant has a stable protocol
/// code ([`Error::code`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The citizen cancelled a prompt or a confirmation, or the page cancelled.
    #[error("cancelled by the user")]
    UserCancelled,
    /// Wrong PIN; the card or mohur's counter says how many tries are left.
    #[error("wrong PIN ({tries_left:?} tries left)")]
    PinIncorrect {
        /// Tries left, when known.
        tries_left: Option<u8>,
    },
    /// The PIN is blocked: it must be unblocked with the PUK.
    #[error("the PIN is blocked")]
    PinBlocked,
    /// Wrong PUK (or SO PIN for PKCS#11 tokens).
    #[error("wrong PUK ({tries_left:?} tries left)")]
    PukIncorrect {
        /// Tries left, when known.
        tries_left: Option<u8>,
    },
    /// The PUK is blocked: the card cannot be unblocked any more.
    #[error("the PUK is blocked")]
    PukBlocked,
    /// The PIN was never set: activate the card with the PUK first.
    #[error("the PIN is not activated")]
    PinNotActivated,
    /// The PIN typed does not fit the card's rules (length, digits).
    #[error("the PIN does not fit the card's rules: {0}")]
    PinFormat(String),
    /// No card or token (with the key asked for) is present.
    #[error("no token present")]
    NoToken,
    /// The token was removed during the operation.
    #[error("the token was removed")]
    TokenRemoved,
    /// The key asked for may not sign what the page sent: the authentication key signs
    /// only values mohur builds itself (PROTOCOL.md § Security).
    #[error("this key may not sign what the page sent: {0}")]
    KeyNotAllowed(&'static str),
    /// The page's origin is not (yet) allowed by the citizen.
    #[error("origin not allowed")]
    OriginNotAllowed,
    /// The request is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A signature, certificate, time-stamp or token that does not hold, and why
    /// ([`crate::signing::rejection`]). `BAD_REQUEST`, as any input refused.
    #[error("bad request: {0}")]
    Rejected(crate::signing::rejection::Rejection),
    /// The method does not exist in this protocol version.
    #[error("unknown method {0:?}")]
    UnknownMethod(String),
    /// The operation took too long (a prompt nobody answered).
    #[error("timed out")]
    Timeout,
    /// Another prompt or operation is in progress.
    #[error("busy with another request")]
    Busy,
    /// The agent has too many bytes of requests in flight to take this one: it was not
    /// read into memory (`BUSY`).
    #[error("busy: too much data in flight; send the document's digest, or try again")]
    OverBudget,
    /// Too many requests on this connection.
    #[error("too many requests")]
    RateLimited,
    /// The agent has no way to ask the citizen (no pinentry, no terminal).
    #[error("no way to ask the user: {0}")]
    NoPrompter(String),
    /// A card error that has no protocol code of its own.
    #[error("card error: {0}")]
    Card(mohur_apdu::Error),
    /// A PKCS#11 token error.
    #[error("token error: {0}")]
    Token(String),
    /// Another mohur agent already serves this user session (on this port): the second
    /// one started says so and exits.
    #[error("another mohur agent is already running (127.0.0.1:{0} is taken); this one exits")]
    AlreadyRunning(u16),
    /// Anything else (I/O, encoding): a bug or the environment.
    #[error("internal error: {0}")]
    Internal(String),
    /// No time-stamp could be had for a signature that should carry one (B-T).
    #[error("{0}")]
    Timestamp(#[from] crate::documents::timestamp::TimestampError),
    /// A PDF that cannot be signed as asked.
    #[error("{0}")]
    Pdf(#[from] crate::documents::pdf::PdfError),
    /// The validation data of a B-LT signature could not be gathered (a CRL that cannot
    /// be had, a revoked certificate).
    #[error("{0}")]
    Ltv(#[from] crate::documents::ltv::LtvError),
    /// An ASiC-E container that cannot be made or read.
    #[error("{0}")]
    Asic(#[from] crate::documents::asic::AsicError),
}

impl Error {
    /// The stable protocol code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UserCancelled => "USER_CANCELLED",
            Error::PinIncorrect { .. } => "PIN_INCORRECT",
            Error::PinBlocked => "PIN_BLOCKED",
            Error::PukIncorrect { .. } => "PUK_INCORRECT",
            Error::PukBlocked => "PUK_BLOCKED",
            Error::PinNotActivated => "PIN_NOT_ACTIVATED",
            Error::PinFormat(_) => "PIN_FORMAT",
            Error::NoToken => "NO_TOKEN",
            Error::TokenRemoved => "TOKEN_REMOVED",
            Error::KeyNotAllowed(_) => "KEY_NOT_ALLOWED",
            Error::OriginNotAllowed => "ORIGIN_NOT_ALLOWED",
            Error::BadRequest(_) | Error::Rejected(_) => "BAD_REQUEST",
            Error::UnknownMethod(_) => "UNKNOWN_METHOD",
            Error::Timeout => "TIMEOUT",
            Error::Busy | Error::OverBudget => "BUSY",
            Error::RateLimited => "RATE_LIMITED",
            Error::NoPrompter(_) => "NO_PROMPTER",
            Error::Card(_) | Error::Token(_) => "TOKEN_ERROR",
            Error::AlreadyRunning(_) | Error::Internal(_) => "INTERNAL",
            Error::Timestamp(_) => "TIMESTAMP_FAILED",
            Error::Pdf(_) | Error::Asic(_) => "BAD_DOCUMENT",
            Error::Ltv(_) => "VALIDATION_DATA_FAILED",
        }
    }

    /// Tries left, for `PIN_INCORRECT` / `PUK_INCORRECT`.
    pub fn tries_left(&self) -> Option<u8> {
        match self {
            Error::PinIncorrect { tries_left } | Error::PukIncorrect { tries_left } => *tries_left,
            _ => None,
        }
    }

    /// Maps a card error for a PIN (`puk = false`) or PUK (`puk = true`) operation.
    pub fn from_card(e: mohur_apdu::Error, puk: bool) -> Error {
        use mohur_apdu::Error as E;
        match e {
            E::WrongPin { tries_left } if puk => Error::PukIncorrect { tries_left: Some(tries_left) },
            E::WrongPin { tries_left } => Error::PinIncorrect { tries_left: Some(tries_left) },
            E::WrongPuk { tries_left } => Error::PukIncorrect { tries_left: Some(tries_left) },
            E::PinBlocked if puk => Error::PukBlocked,
            E::PinBlocked => Error::PinBlocked,
            E::PukBlocked => Error::PukBlocked,
            E::NotActivated => Error::PinNotActivated,
            E::InvalidPinFormat(m) => Error::PinFormat(m.to_string()),
            E::NoCard | E::ReaderNotFound(_) => Error::NoToken,
            e if e.is_card_gone() => Error::TokenRemoved,
            e => Error::Card(e),
        }
    }
}

impl From<mohur_apdu::Error> for Error {
    fn from(e: mohur_apdu::Error) -> Error {
        Error::from_card(e, false)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Internal(e.to_string())
    }
}
