//! The tray icons, drawn in code: a card in the state's colour with a gold chip. No
//! image files to ship or decode, and the screenshot test knows the exact colours.

use super::model::IconState;

/// Width and height in pixels.
pub const SIZE: u32 = 32;

/// The chip's colour, the same in every state.
pub const CHIP: [u8; 3] = [0xe3, 0xb3, 0x41];

/// The card's colour in `state`: grey without a reader, blue waiting for a card,
/// green ready, red when the PUK is needed, orange when the agent is in trouble.
pub fn colour(state: IconState) -> [u8; 3] {
    match state {
        IconState::NoReader => [0x7a, 0x7f, 0x87],
        IconState::NoCard => [0x2f, 0x6f, 0xd6],
        IconState::Ready => [0x1f, 0x9d, 0x55],
        IconState::PinBlocked => [0xd6, 0x2f, 0x2f],
        IconState::Error => [0xe0, 0x7b, 0x00],
    }
}

/// The icon of `state` as RGBA rows (`SIZE` × `SIZE`).
pub fn rgba(state: IconState) -> Vec<u8> {
    let card = colour(state);
    let mut out = Vec::with_capacity((SIZE * SIZE * 4) as usize);
    for y in 0..SIZE as i32 {
        for x in 0..SIZE as i32 {
            // The card: 2..30 × 6..26 with corners rounded by 3 pixels.
            let (l, r, t, b) = (2, 29, 6, 25);
            let inside = x >= l && x <= r && y >= t && y <= b;
            let corner = |cx: i32, cy: i32| (x - cx).pow(2) + (y - cy).pow(2) > 9;
            let cut = (x < l + 3 && y < t + 3 && corner(l + 3, t + 3))
                || (x > r - 3 && y < t + 3 && corner(r - 3, t + 3))
                || (x < l + 3 && y > b - 3 && corner(l + 3, b - 3))
                || (x > r - 3 && y > b - 3 && corner(r - 3, b - 3));
            let chip = (6..=13).contains(&x) && (11..=18).contains(&y);
            let px = match (inside && !cut, chip) {
                (true, true) => [CHIP[0], CHIP[1], CHIP[2], 0xff],
                (true, false) => [card[0], card[1], card[2], 0xff],
                _ => [0, 0, 0, 0],
            };
            out.extend_from_slice(&px);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_its_own_colour_and_the_chip() {
        let mut seen = std::collections::BTreeSet::new();
        for state in IconState::ALL {
            let px = rgba(state);
            assert_eq!(px.len(), (SIZE * SIZE * 4) as usize);
            let count = |c: [u8; 3]| px.chunks(4).filter(|p| p[..3] == c && p[3] == 0xff).count();
            assert!(count(colour(state)) > 400, "{state:?}");
            assert_eq!(count(CHIP), 64, "{state:?}");
            assert!(px.chunks(4).any(|p| p[3] == 0), "transparent around the card");
            seen.insert(colour(state));
        }
        assert_eq!(seen.len(), IconState::ALL.len());
    }
}
