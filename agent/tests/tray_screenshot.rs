//! Acceptance test of the tray: `scripts/tray-screenshot.sh` runs `mohur agent` on a
//! virtual X display with trayer as the system tray and takes a screenshot; the
//! icon's colours (the grey card of "no reader" with its gold chip, `tray::icons`)
//! must be in it, and must not be with `--no-tray`.
//!
//! Skipped, saying so, only when the X tools are missing (Debian: xvfb xauth trayer
//! imagemagick, in scripts/deps.sh).

use mohur_agent::tray::icons;
use mohur_agent::tray::model::IconState;
use std::path::Path;
use std::process::Command;

/// One X session at a time: the two tests would otherwise share the machine's cores
/// with two displays, two trays and two agents.
static X: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs the script; `None` when it says an X tool is missing.
fn screenshot(name: &str, extra: &[&str]) -> Option<Vec<(u32, [u8; 3])>> {
    let _x = X.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tray-{name}-{}.png", std::process::id()));
    let run = Command::new(root.join("scripts/tray-screenshot.sh"))
        .arg(&out)
        .arg(env!("CARGO_BIN_EXE_mohur"))
        .args(extra)
        .output()
        .expect("run scripts/tray-screenshot.sh");
    let stderr = String::from_utf8_lossy(&run.stderr);
    if run.status.code() == Some(2) {
        eprintln!("SKIPPED: the tray screenshot needs the X tools: {stderr}");
        return None;
    }
    assert!(run.status.success(), "tray-screenshot.sh failed: {stderr}");
    Some(histogram(&out))
}

/// The colours of a PNG and how many pixels have each (ImageMagick's histogram).
fn histogram(png: &Path) -> Vec<(u32, [u8; 3])> {
    let out = Command::new("convert").arg(png).args(["-format", "%c", "histogram:info:-"]).output().unwrap();
    assert!(out.status.success(), "convert: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            // "     476: (122,127,135) #7A7F87 srgb(122,127,135)"
            let (count, rest) = l.trim().split_once(':')?;
            let hex = rest.split_whitespace().find(|w| w.starts_with('#') && w.len() >= 7)?;
            let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
            Some((count.trim().parse().ok()?, [byte(1)?, byte(3)?, byte(5)?]))
        })
        .collect()
}

fn pixels(h: &[(u32, [u8; 3])], colour: [u8; 3]) -> u32 {
    h.iter().filter(|(_, c)| *c == colour).map(|(n, _)| n).sum()
}

#[test]
fn the_icon_shows_in_an_x_tray_and_not_with_no_tray() {
    let Some(shown) = screenshot("shown", &[]) else { return };
    let card = icons::colour(IconState::NoReader);
    // The card is 28 × 20 less its corners, the chip 8 × 8; trayer may scale a little.
    assert!(pixels(&shown, card) >= 300, "no icon in the screenshot: {shown:?}");
    assert!(pixels(&shown, icons::CHIP) >= 30, "no chip in the screenshot: {shown:?}");
    let Some(hidden) = screenshot("hidden", &["--no-tray"]) else { return };
    assert_eq!(pixels(&hidden, card), 0, "{hidden:?}");
    assert_eq!(pixels(&hidden, icons::CHIP), 0, "{hidden:?}");
}

#[test]
fn a_right_click_on_the_icon_opens_the_menu_in_the_citizens_language() {
    let _x = X.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut menus = Vec::new();
    for lang in ["en", "az", "hy"] {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tray-menu-{lang}-{}.png", std::process::id()));
        let run = Command::new(root.join("scripts/tray-screenshot.sh"))
            .arg(&out)
            .arg(env!("CARGO_BIN_EXE_mohur"))
            .env("TRAY_MENU", "1")
            .env("MOHUR_LANG", lang)
            .output()
            .expect("run scripts/tray-screenshot.sh");
        let stderr = String::from_utf8_lossy(&run.stderr);
        if run.status.code() == Some(2) {
            eprintln!("SKIPPED: the tray menu screenshot needs the X tools: {stderr}");
            return;
        }
        assert!(run.status.success(), "tray-screenshot.sh failed: {stderr}");
        // The menu is open below the icon: a large part of the screen changed. The
        // pictures stay in the tests' directory for a person to look at.
        let before = out.with_file_name(format!("tray-menu-{lang}-{}-before.png", std::process::id()));
        let opened = mohur_tests::pixels_differing(&before, &out);
        assert!(opened > 20_000, "{lang}: the right click opened no menu ({opened} pixels changed): {}", out.display());
        menus.push((lang, out));
    }
    // Its words are the language's: each menu looks different from the others.
    for (i, (a, pa)) in menus.iter().enumerate() {
        for (b, pb) in &menus[i + 1..] {
            let differ = mohur_tests::pixels_differing(pa, pb);
            assert!(differ > 1_000, "the {a} and {b} menus look the same ({differ} pixels differ)");
        }
    }
}
