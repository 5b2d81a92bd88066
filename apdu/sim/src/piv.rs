//! PIV card application, NIST SP 800-73-4 part 2, as the simulator answers it.

use crate::card::{CardResult, SecretId, SimCard};
use crate::state::from_hex;
use mohur_apdu::piv::PIV_AID;
use mohur_apdu::{tlv, Command, StatusWord};

/// Key references and the tags of their certificate objects (part 1 table 3).
const CERT_OBJECTS: [(u8, u32); 4] = [(0x9A, 0x5FC105), (0x9C, 0x5FC10A), (0x9D, 0x5FC10B), (0x9E, 0x5FC101)];

/// Application property template answered to SELECT (part 2 §3.1.1).
fn property_template() -> Vec<u8> {
    let mut apt = Vec::new();
    tlv::encode_into(0x4F, &[0x00, 0x00, 0x10, 0x00, 0x01, 0x00], &mut apt);
    tlv::encode_into(0x79, &tlv::encode(0x4F, &PIV_AID[..5]), &mut apt);
    tlv::encode_into(0x50, b"mohur simulated PIV", &mut apt);
    let algs = [0x07u8, 0x11, 0x14].iter().flat_map(|a| tlv::encode(0x80, &[*a])).collect::<Vec<_>>();
    let mut ac = algs;
    tlv::encode_into(0x06, &[], &mut ac);
    tlv::encode_into(0xAC, &ac, &mut apt);
    tlv::encode(0x61, &apt)
}

/// FASC-N (SP 800-73-4 part 1 §3.1.2) of a test card: agency 9999, system 9999,
/// credential number from the serial; encoded as the 25-byte BCD placeholder.
fn chuid(serial: &str) -> Vec<u8> {
    let mut fascn =
        vec![0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68, 0x58, 0x21, 0x08];
    fascn.resize(25, 0x42);
    let mut guid = [0u8; 16];
    for (i, b) in serial.bytes().enumerate() {
        guid[i % 16] ^= b.wrapping_add(i as u8);
    }
    let mut v = Vec::new();
    tlv::encode_into(0x30, &fascn, &mut v);
    tlv::encode_into(0x34, &guid, &mut v);
    tlv::encode_into(0x35, b"20351231", &mut v);
    tlv::encode_into(0x3E, &[], &mut v);
    tlv::encode_into(0xFE, &[], &mut v);
    tlv::encode(0x53, &v)
}

/// Card Capability Container (part 1 §3.1.1), minimal.
fn ccc() -> Vec<u8> {
    let mut v = Vec::new();
    tlv::encode_into(
        0xF0,
        &[0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &mut v,
    );
    for (tag, val) in [(0xF1u32, &[0x21u8][..]), (0xF2, &[0x21]), (0xF3, &[]), (0xF4, &[0x00]), (0xF5, &[0x10])] {
        tlv::encode_into(tag, val, &mut v);
    }
    for tag in [0xF6u32, 0xF7, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE] {
        tlv::encode_into(tag, &[], &mut v);
    }
    tlv::encode(0x53, &v)
}

/// Discovery object (part 1 §3.3.2): PIV AID, PIN usage policy "PIN only".
fn discovery() -> Vec<u8> {
    let mut v = tlv::encode(0x4F, &[PIV_AID.as_slice(), &[0x01, 0x00]].concat());
    tlv::encode_into(0x5F2F, &[0x40, 0x00], &mut v);
    tlv::encode(0x7E, &v)
}

fn data_object(card: &SimCard, tag: u32) -> Option<Vec<u8>> {
    match tag {
        0x7E => Some(discovery()),
        0x5FC107 => Some(ccc()),
        0x5FC102 => Some(chuid(&card.state.serial)),
        _ => {
            let (id, _) = CERT_OBJECTS.iter().find(|(_, t)| *t == tag)?;
            let key = card.state.keys.iter().find(|k| k.id == *id)?;
            let cert = from_hex(&key.cert_hex)?;
            let mut v = tlv::encode(0x70, &cert);
            tlv::encode_into(0x71, &[0x00], &mut v);
            tlv::encode_into(0xFE, &[], &mut v);
            Some(tlv::encode(0x53, &v))
        }
    }
}

/// The PIN or PUK in a PIV VERIFY-style field: 8 bytes, right-padded with FF.
fn unpad(field: &[u8]) -> Result<&[u8], StatusWord> {
    if field.len() != 8 {
        return Err(StatusWord::WRONG_DATA);
    }
    let n = field.iter().position(|b| *b == 0xFF).unwrap_or(8);
    if field[n..].iter().any(|b| *b != 0xFF) || n < 6 {
        return Err(StatusWord::WRONG_DATA);
    }
    Ok(&field[..n])
}

fn secret_for(p2: u8) -> Result<SecretId, StatusWord> {
    match p2 {
        0x80 => Ok(SecretId::Pin),
        0x81 => Ok(SecretId::Puk),
        _ => Err(StatusWord::REFERENCED_DATA_NOT_FOUND),
    }
}

pub(crate) fn handle(card: &mut SimCard, cmd: &Command) -> CardResult {
    if cmd.ins == 0xA4 {
        return select(card, cmd);
    }
    if !card.session.piv_selected {
        return Err(StatusWord::INS_NOT_SUPPORTED);
    }
    let pin_always_ok = card.session.just_verified.take() == Some(SecretId::Pin);
    match cmd.ins {
        0xCB => get_data(card, cmd),
        0x20 => verify(card, cmd),
        0x24 => change_reference_data(card, cmd),
        0x2C => reset_retry_counter(card, cmd),
        0x87 => general_authenticate(card, cmd, pin_always_ok),
        // YubiKey-only commands (GET VERSION, GET SERIAL, GET METADATA…): not a YubiKey.
        _ => Err(StatusWord::INS_NOT_SUPPORTED),
    }
}

fn select(card: &mut SimCard, cmd: &Command) -> CardResult {
    if cmd.p1 != 0x04 {
        return Err(StatusWord::FILE_NOT_FOUND);
    }
    let aid = &cmd.data[..];
    // Selection by a right-truncated AID is allowed (part 2 §3.1.1).
    if aid.len() >= 5 && aid.len() <= PIV_AID.len() + 2 && PIV_AID.starts_with(&aid[..aid.len().min(9)]) {
        card.session.piv_selected = true;
        card.session.just_verified = None;
        Ok(property_template())
    } else {
        // A failed SELECT leaves the current application selected (ISO 7816-4 §7.1.1).
        Err(StatusWord::FILE_NOT_FOUND)
    }
}

fn get_data(card: &mut SimCard, cmd: &Command) -> CardResult {
    if (cmd.p1, cmd.p2) != (0x3F, 0xFF) {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    let (tag_list, _) = tlv::parse_one(&cmd.data).map_err(|_| StatusWord::WRONG_DATA)?;
    if tag_list.tag != 0x5C || tag_list.value.is_empty() || tag_list.value.len() > 3 {
        return Err(StatusWord::WRONG_DATA);
    }
    let tag = tag_list.value.iter().fold(0u32, |a, b| (a << 8) | *b as u32);
    data_object(card, tag).ok_or(StatusWord::FILE_NOT_FOUND)
}

fn verify(card: &mut SimCard, cmd: &Command) -> CardResult {
    // P1 = FF: reset the security status of the reference (part 2 §3.2.1).
    if cmd.p1 == 0xFF && cmd.data.is_empty() {
        let id = secret_for(cmd.p2)?;
        card.session.verified.remove(&id);
        return Ok(Vec::new());
    }
    if cmd.p1 != 0x00 {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    let id = secret_for(cmd.p2)?;
    if cmd.data.is_empty() {
        return card.query(id);
    }
    if id == SecretId::Puk {
        // The PUK is checked only by RESET RETRY COUNTER and CHANGE REFERENCE DATA.
        return Err(StatusWord::INCORRECT_P1P2);
    }
    let pin = unpad(&cmd.data)?.to_vec();
    card.verify(id, &pin).map(|_| Vec::new())
}

fn change_reference_data(card: &mut SimCard, cmd: &Command) -> CardResult {
    let id = secret_for(cmd.p2)?;
    if cmd.p1 != 0x00 || cmd.data.len() != 16 {
        return Err(if cmd.p1 != 0 { StatusWord::INCORRECT_P1P2 } else { StatusWord::WRONG_DATA });
    }
    let old = unpad(&cmd.data[..8])?.to_vec();
    let new = unpad(&cmd.data[8..])?.to_vec();
    card.check_secret(id, &old)?;
    card.set_secret(id, &new)?;
    card.session.verified.remove(&id);
    Ok(Vec::new())
}

fn reset_retry_counter(card: &mut SimCard, cmd: &Command) -> CardResult {
    if cmd.p1 != 0x00 || cmd.p2 != 0x80 {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    if cmd.data.len() != 16 {
        return Err(StatusWord::WRONG_DATA);
    }
    let puk = unpad(&cmd.data[..8])?.to_vec();
    let new = unpad(&cmd.data[8..])?.to_vec();
    card.check_secret(SecretId::Puk, &puk)?;
    card.set_secret(SecretId::Pin, &new)?;
    Ok(Vec::new())
}

/// GENERAL AUTHENTICATE for a signature: `7C { 82 00, 81 <challenge> }` →
/// `7C { 82 <response> }` (part 2 §3.2.4, appendix A.3).
fn general_authenticate(card: &mut SimCard, cmd: &Command, pin_always_ok: bool) -> CardResult {
    let key_id = cmd.p2;
    let (template, _) = tlv::parse_one(&cmd.data).map_err(|_| StatusWord::WRONG_DATA)?;
    if template.tag != 0x7C {
        return Err(StatusWord::WRONG_DATA);
    }
    let inner = template.children().map_err(|_| StatusWord::WRONG_DATA)?;
    let wants_response = inner.iter().any(|t| t.tag == 0x82 && t.value.is_empty());
    let challenge = inner.iter().find(|t| t.tag == 0x81).map(|t| t.value).ok_or(StatusWord::WRONG_DATA)?;
    if !wants_response {
        return Err(StatusWord::WRONG_DATA);
    }
    let key = card.key(key_id).ok_or(StatusWord::FILE_NOT_FOUND)?;
    let alg_ok = match cmd.p1 {
        0x07 => key.is_rsa() && key.bits() == 2048,
        0x06 => key.is_rsa() && key.bits() == 1024,
        0x11 => !key.is_rsa() && key.bits() == 256,
        0x14 => !key.is_rsa() && key.bits() == 384,
        _ => false,
    };
    if !alg_ok {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    // 9E needs no PIN; 9C needs it right before each use; the others once.
    let allowed = match key_id {
        0x9E => true,
        0x9C => pin_always_ok,
        _ => card.session.verified.contains(&SecretId::Pin),
    };
    if !allowed {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    }
    let signature = if key.is_rsa() {
        key.rsa_raw(challenge).ok_or(StatusWord::WRONG_DATA)?
    } else {
        if challenge.len() != key.field_len() {
            return Err(StatusWord::WRONG_DATA);
        }
        key.ecdsa(challenge).ok_or(StatusWord::UNKNOWN)?.0
    };
    Ok(tlv::encode(0x7C, &tlv::encode(0x82, &signature)))
}
