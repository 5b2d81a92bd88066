//! AzeDIT / EstEID 3.5 file system and commands, as the simulator answers them
//! (the forms OpenSC 0.23's `mcrd` driver and mohur's driver send).

use crate::card::{CardResult, SecretId, SimCard};
use crate::state::from_hex;
use mohur_apdu::azedit::ESTEID35_AID;
use mohur_apdu::{tlv, Command, StatusWord};

const MF: u16 = 0x3F00;
const DF: u16 = 0xEEEE;
const EF_AUTH_CERT: u16 = 0xAACE;
const EF_SIGN_CERT: u16 = 0xDDCE;
const EF_PERSONAL_DATA: u16 = 0x5044;
const EF_RETRY_COUNTERS: u16 = 0x0016;

/// What lives at a file identifier, given its parent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Node {
    Df(u16),
    Ef(u16),
}

fn lookup(parent: u16, fid: u16) -> Option<Node> {
    match (parent, fid) {
        (_, MF) => Some(Node::Df(MF)),
        (MF, DF) => Some(Node::Df(DF)),
        (MF, EF_RETRY_COUNTERS) => Some(Node::Ef(EF_RETRY_COUNTERS)),
        (DF, EF_AUTH_CERT | EF_SIGN_CERT | EF_PERSONAL_DATA) => Some(Node::Ef(fid)),
        _ => None,
    }
}

fn secret_for(reference: u8) -> Result<SecretId, StatusWord> {
    match reference {
        0x01 => Ok(SecretId::Pin),
        0x02 => Ok(SecretId::Pin2),
        0x00 => Ok(SecretId::Puk),
        _ => Err(StatusWord::REFERENCED_DATA_NOT_FOUND),
    }
}

fn transparent(card: &SimCard, ef: u16) -> Option<Vec<u8>> {
    let id = match ef {
        EF_AUTH_CERT => 1,
        EF_SIGN_CERT => 2,
        _ => return None,
    };
    from_hex(&card.state.keys.iter().find(|k| k.id == id)?.cert_hex)
}

/// Retry counter record: `80 01 <max> 90 01 <left>`.
fn counter_record(card: &SimCard, n: u8) -> Option<Vec<u8>> {
    let id = match n {
        1 => SecretId::Pin,
        2 => SecretId::Pin2,
        3 => SecretId::Puk,
        _ => return None,
    };
    let s = card.secret(id)?;
    Some([tlv::encode(0x80, &[s.max]), tlv::encode(0x90, &[s.left])].concat())
}

fn record(card: &SimCard, ef: u16, n: u8) -> Option<Vec<u8>> {
    match ef {
        EF_RETRY_COUNTERS => counter_record(card, n),
        EF_PERSONAL_DATA => card.state.personal_data.get((n as usize).checked_sub(1)?).map(|s| s.as_bytes().to_vec()),
        _ => None,
    }
}

/// File control parameters (ISO 7816-4 §5.3.3).
fn fcp(card: &SimCard, node: Node) -> Vec<u8> {
    let mut v = Vec::new();
    match node {
        Node::Df(fid) => {
            tlv::encode_into(0x82, &[0x38], &mut v);
            tlv::encode_into(0x83, &fid.to_be_bytes(), &mut v);
        }
        Node::Ef(fid) => {
            if let Some(body) = transparent(card, fid) {
                tlv::encode_into(0x80, &(body.len() as u16).to_be_bytes(), &mut v);
                tlv::encode_into(0x82, &[0x01], &mut v);
            } else {
                tlv::encode_into(0x82, &[0x04], &mut v);
            }
            tlv::encode_into(0x83, &fid.to_be_bytes(), &mut v);
        }
    }
    tlv::encode(0x62, &v)
}

pub(crate) fn handle(card: &mut SimCard, cmd: &Command) -> CardResult {
    match cmd.ins {
        0xA4 => select(card, cmd),
        0xB0 => read_binary(card, cmd),
        0xB2 => read_record(card, cmd),
        0x20 => verify(card, cmd),
        0x24 => change_reference_data(card, cmd),
        0x2C => reset_retry_counter(card, cmd),
        0x22 => Ok(Vec::new()), // MANAGE SECURITY ENVIRONMENT: accepted, nothing to set
        0x88 => sign(card, cmd, 1, SecretId::Pin),
        0x2A if (cmd.p1, cmd.p2) == (0x9E, 0x9A) => sign(card, cmd, 2, SecretId::Pin2),
        0x2A => Err(StatusWord::INCORRECT_P1P2),
        _ => Err(StatusWord::INS_NOT_SUPPORTED),
    }
}

fn select(card: &mut SimCard, cmd: &Command) -> CardResult {
    let fid = |d: &[u8]| -> Result<u16, StatusWord> {
        match d {
            [a, b] => Ok(u16::from_be_bytes([*a, *b])),
            _ => Err(StatusWord::WRONG_LENGTH),
        }
    };
    let s = &card.session;
    let node = match cmd.p1 {
        // MF: no data or 3F00.
        0x00 if cmd.data.is_empty() => Some(Node::Df(MF)),
        0x00 => lookup(s.current_df.unwrap_or(MF), fid(&cmd.data)?),
        // DF under the current DF.
        0x01 => lookup(s.current_df.unwrap_or(MF), fid(&cmd.data)?).filter(|n| matches!(n, Node::Df(_))),
        // EF under the current DF.
        0x02 => lookup(s.current_df.unwrap_or(MF), fid(&cmd.data)?).filter(|n| matches!(n, Node::Ef(_))),
        // Application by name.
        0x04 if cmd.data[..] == ESTEID35_AID => Some(Node::Df(DF)),
        0x04 => None,
        // Path from MF.
        0x08 | 0x09 => {
            let mut parent = if cmd.p1 == 0x08 { MF } else { s.current_df.unwrap_or(MF) };
            let mut node = None;
            if cmd.data.is_empty() || !cmd.data.len().is_multiple_of(2) {
                return Err(StatusWord::WRONG_LENGTH);
            }
            for pair in cmd.data.chunks(2) {
                node = lookup(parent, fid(pair)?);
                match node {
                    Some(Node::Df(d)) => parent = d,
                    Some(Node::Ef(_)) | None => break,
                }
            }
            node
        }
        _ => return Err(StatusWord::INCORRECT_P1P2),
    }
    .ok_or(StatusWord::FILE_NOT_FOUND)?;
    match node {
        Node::Df(d) => {
            card.session.current_df = Some(d);
            card.session.current_ef = None;
        }
        Node::Ef(e) => {
            if e == EF_RETRY_COUNTERS {
                card.session.current_df = Some(MF);
            }
            card.session.current_ef = Some(e);
        }
    }
    // P2 = 0C: no response data; 00/04: FCI/FCP.
    if cmd.p2 & 0x0C == 0x0C {
        Ok(Vec::new())
    } else {
        Ok(fcp(card, node))
    }
}

fn read_binary(card: &mut SimCard, cmd: &Command) -> CardResult {
    if cmd.p1 & 0x80 != 0 {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    let ef = card.session.current_ef.ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    let body = transparent(card, ef).ok_or(StatusWord(0x6981))?; // not a transparent EF
    let offset = u16::from_be_bytes([cmd.p1, cmd.p2]) as usize;
    if offset >= body.len() {
        return Err(StatusWord::WRONG_P1P2);
    }
    let ne = cmd.ne.unwrap_or(256);
    let end = (offset + ne).min(body.len());
    Ok(body[offset..end].to_vec())
}

fn read_record(card: &mut SimCard, cmd: &Command) -> CardResult {
    if cmd.p2 != 0x04 || cmd.p1 == 0 {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    let ef = card.session.current_ef.ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    let mut rec = record(card, ef, cmd.p1).ok_or(StatusWord(0x6A83))?;
    rec.truncate(cmd.ne.unwrap_or(256));
    Ok(rec)
}

/// PINs and the PUK are ASCII digits without padding.
fn digits(d: &[u8]) -> Result<(), StatusWord> {
    if d.iter().all(u8::is_ascii_digit) {
        Ok(())
    } else {
        Err(StatusWord::WRONG_DATA)
    }
}

fn verify(card: &mut SimCard, cmd: &Command) -> CardResult {
    if cmd.p1 != 0x00 {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    let id = secret_for(cmd.p2)?;
    if cmd.data.is_empty() {
        return card.query(id);
    }
    digits(&cmd.data)?;
    card.verify(id, &cmd.data).map(|_| Vec::new())
}

/// Splits `current ‖ new`: the card knows the length of the value it holds.
fn split_old_new(card: &SimCard, id: SecretId, data: &[u8]) -> Result<(Vec<u8>, Vec<u8>), StatusWord> {
    let len = card.secret(id).ok_or(StatusWord::REFERENCED_DATA_NOT_FOUND)?.value.len();
    if data.len() <= len {
        return Err(StatusWord::WRONG_LENGTH);
    }
    Ok((data[..len].to_vec(), data[len..].to_vec()))
}

fn length_ok(id: SecretId, value: &[u8]) -> Result<(), StatusWord> {
    let (min, max) = match id {
        SecretId::Pin => (4, 12),
        SecretId::Pin2 => (5, 12),
        SecretId::Puk => (8, 12),
    };
    if (min..=max).contains(&value.len()) {
        Ok(())
    } else {
        Err(StatusWord::WRONG_LENGTH)
    }
}

fn change_reference_data(card: &mut SimCard, cmd: &Command) -> CardResult {
    if cmd.p1 != 0x00 {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    let id = secret_for(cmd.p2)?;
    digits(&cmd.data)?;
    let (old, new) = split_old_new(card, id, &cmd.data)?;
    length_ok(id, &new)?;
    card.check_secret(id, &old)?;
    card.set_secret(id, &new)?;
    card.session.verified.remove(&id);
    Ok(Vec::new())
}

fn reset_retry_counter(card: &mut SimCard, cmd: &Command) -> CardResult {
    if cmd.p1 != 0x00 {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    let id = secret_for(cmd.p2)?;
    if id == SecretId::Puk {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    digits(&cmd.data)?;
    let (puk, new) = split_old_new(card, SecretId::Puk, &cmd.data)?;
    length_ok(id, &new)?;
    card.check_secret(SecretId::Puk, &puk)?;
    card.set_secret(id, &new)?;
    Ok(Vec::new())
}

/// INTERNAL AUTHENTICATE (key 1, PIN1) and PSO: COMPUTE DIGITAL SIGNATURE (key 2,
/// PIN2; a qualified-signature card drops PIN2 after each signature, so every
/// signature needs its own PIN2 entry). Input: the hash (EC) or a DigestInfo (RSA).
fn sign(card: &mut SimCard, cmd: &Command, key_id: u8, pin: SecretId) -> CardResult {
    let allowed = card.session.verified.contains(&pin);
    if key_id == 2 {
        card.session.verified.remove(&pin);
    }
    if !allowed {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    }
    let key = card.key(key_id).ok_or(StatusWord::REFERENCED_DATA_NOT_FOUND)?;
    if cmd.data.is_empty() || cmd.data.len() > 64 + 19 {
        return Err(StatusWord::WRONG_LENGTH);
    }
    if key.is_rsa() {
        key.rsa_pkcs1(&cmd.data).ok_or(StatusWord::WRONG_DATA)
    } else {
        Ok(key.ecdsa(&cmd.data).ok_or(StatusWord::UNKNOWN)?.1)
    }
}
