//! One file per method of protocol 1 (`agent/PROTOCOL.md` § Methods); `version`,
//! `cancel` and the dispatch are in [`super`].

pub mod access;
pub mod authenticate;
pub mod certificate;
pub mod pin;
pub mod sign;
pub mod sign_document;
pub mod status;
