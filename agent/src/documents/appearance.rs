//! The look of a visible PDF signature: a framed box on a page with the signer's name,
//! the signing time and the reason (ISO 32000-1 §12.7.4.5 signature fields, §12.5.5
//! appearance streams), drawn in DejaVu Sans (`agent/assets/fonts`, cut down to Latin
//! with Azerbaijani's letters, Cyrillic and Armenian) embedded as a subset of the glyphs
//! used: a Type 0 font with a CIDFontType2 descendant, Identity-H, and a ToUnicode CMap so
//! that the text can be copied and searched (§9.7.4, §9.7.6, §9.10.3).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The font could not be read or cut down (a broken build: it is compiled in).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("its font: {0}")]
pub struct FontError(String);

/// DejaVu Sans for the box (agent/assets/fonts/make.sh says how it was made; its
/// licence is beside it).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-mohur.ttf");

/// The box: width, padding, font size and line height, in points.
const WIDTH: f32 = 240.0;
const PADDING: f32 = 6.0;
const FONT_SIZE: f32 = 9.0;
const LINE: f32 = 1.25;
/// The smallest font size a long name is shrunk to.
const MIN_FONT_SIZE: f32 = 5.0;
/// From the page's lower left corner, as the page is shown.
const MARGIN: f32 = 36.0;

/// The part of a page a reader sees: its box (the `/CropBox` within the `/MediaBox`,
/// ISO 32000-1 §14.11.2) and how it is turned when shown (`/Rotate`, §7.7.3.3: degrees
/// clockwise, a multiple of 90).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageView {
    /// `[x0, y0, x1, y1]` in the page's space, x0 < x1 and y0 < y1.
    pub area: [f32; 4],
    /// 0, 90, 180 or 270.
    pub rotate: u16,
}

impl PageView {
    /// An upright page of `area`.
    pub fn upright(area: [f32; 4]) -> PageView {
        PageView { area, rotate: 0 }
    }

    /// Where a box `width` × `height` (as shown) goes at the lower left of the page as
    /// shown, `MARGIN` from its edges, in the page's space; and the `/Matrix` that turns
    /// the box's drawing with the page's rotation undone, so that it reads upright
    /// (§12.5.5: the viewer maps the box turned by `/Matrix` onto `/Rect`).
    fn place(&self, width: f32, height: f32) -> ([f32; 4], [f32; 4]) {
        let [x0, y0, x1, y1] = self.area;
        let m = MARGIN;
        // Shown turned clockwise by `rotate`, the lower left corner is the page's
        // lower left (0), lower right (90), upper right (180) or upper left (270); the
        // box lies across the page (height × width) when it is turned a quarter.
        match self.rotate {
            90 => ([x1 - m - height, y0 + m, x1 - m, y0 + m + width], [0.0, 1.0, -1.0, 0.0]),
            180 => ([x1 - m - width, y1 - m - height, x1 - m, y1 - m], [-1.0, 0.0, 0.0, -1.0]),
            270 => ([x0 + m, y1 - m - width, x0 + m + height, y1 - m], [0.0, -1.0, 1.0, 0.0]),
            _ => ([x0 + m, y0 + m, x0 + m + width, y0 + m + height], [1.0, 0.0, 0.0, 1.0]),
        }
    }
}

/// A visible signature: on which page (1-based), and its lines of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visible {
    /// The page, counted from 1.
    pub page: u32,
    /// What the box says, one line each (name, time, reason).
    pub lines: Vec<String>,
}

/// The new objects of an appearance, numbered from the first free number the caller
/// gave: each as `N 0 obj … endobj` bytes.
pub struct Appearance {
    /// `(object number, bytes)`, in order.
    pub objects: Vec<(u32, Vec<u8>)>,
    /// The form XObject the widget's `/AP /N` names.
    pub form: u32,
    /// The widget's `/Rect` in the page's space.
    pub rect: [f32; 4],
}

/// A glyph of the subset: its number in the subset font (= its CID, the CIDFont mapping
/// CIDs to glyphs one to one), its advance (1/1000 em) and the text it shows.
struct Glyph {
    cid: u16,
    advance: f32,
}

/// The box's lines in the language of mohur's messages: who signed, when (UTC), and why
/// when a reason was given.
pub fn lines(signer: &str, at: std::time::SystemTime, reason: Option<&str>) -> Vec<String> {
    let when = der::DateTime::from_system_time(at).map_or_else(
        |_| String::new(),
        |t| format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), t.month(), t.day(), t.hour(), t.minutes()),
    );
    let mut out = vec![crate::tr!("pdf-visible-signer", name = signer), crate::tr!("pdf-visible-time", what = when)];
    if let Some(reason) = reason.filter(|r| !r.trim().is_empty()) {
        out.push(crate::tr!("pdf-visible-reason", what = reason));
    }
    out
}

fn font_error(what: impl std::fmt::Display) -> FontError {
    FontError(what.to_string())
}

fn number(x: f32) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The appearance of `lines` in a box at the lower left of `page` as it is shown, upright,
/// as objects numbered from `first`.
pub fn build(lines: &[String], page: PageView, first: u32) -> Result<Appearance, FontError> {
    let face = ttf_parser::Face::parse(FONT, 0).map_err(font_error)?;
    let em = f32::from(face.units_per_em());
    let scale = |v: f32| v * 1000.0 / em;

    // The glyphs of the text, numbered anew in the subset (.notdef stays 0).
    let mut remapper = subsetter::GlyphRemapper::new();
    let mut glyphs: BTreeMap<char, Glyph> = BTreeMap::new();
    let mut encoded: Vec<(String, f32)> = Vec::with_capacity(lines.len());
    for line in lines {
        let mut hex = String::new();
        let mut width = 0.0;
        for c in line.chars().filter(|c| !c.is_control()) {
            let glyph = glyphs.entry(c).or_insert_with(|| {
                let id = face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
                let advance = scale(f32::from(face.glyph_hor_advance(id).unwrap_or(0)));
                Glyph { cid: remapper.remap(id.0), advance }
            });
            let _ = write!(hex, "{:04X}", glyph.cid);
            width += glyph.advance;
        }
        encoded.push((hex, width));
    }
    let subset = subsetter::subset(FONT, 0, &remapper).map_err(|e| font_error(format!("{e:?}")))?;

    // The box: as wide as WIDTH, the font shrunk for a line that would not fit.
    let widest = encoded.iter().map(|(_, w)| *w).fold(0.0, f32::max);
    let room = WIDTH - 2.0 * PADDING;
    let size = if widest * FONT_SIZE / 1000.0 > room { (room * 1000.0 / widest).max(MIN_FONT_SIZE) } else { FONT_SIZE };
    let line_height = size * LINE;
    let height = 2.0 * PADDING + line_height * lines.len().max(1) as f32;
    let (rect, [a, b, c, d]) = page.place(WIDTH, height);

    // The form's content: a light box with a frame, then the lines.
    let mut content = format!(
        "q 0.95 0.96 1 rg 0 0 {w} {h} re f 0.18 0.29 0.55 RG 0.8 w 0.4 0.4 {w1} {h1} re S Q\nBT /F1 {s} Tf 0.08 0.08 0.12 rg\n",
        w = number(WIDTH),
        h = number(height),
        w1 = number(WIDTH - 0.8),
        h1 = number(height - 0.8),
        s = number(size),
    );
    let ascent = scale(f32::from(face.ascender())) * size / 1000.0;
    let _ = writeln!(content, "{} {} Td", number(PADDING), number(height - PADDING - ascent));
    for (i, (hex, _)) in encoded.iter().enumerate() {
        if i > 0 {
            let _ = writeln!(content, "0 {} Td", number(-line_height));
        }
        let _ = writeln!(content, "<{hex}> Tj");
    }
    content.push_str("ET\n");

    // Object numbers.
    let (form, font, cid_font, descriptor, file, to_unicode) =
        (first, first + 1, first + 2, first + 3, first + 4, first + 5);
    // A subset's name starts with six capital letters of its own (§9.6.4).
    let tag: String = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&subset);
        digest.iter().take(6).map(|b| char::from(b'A' + b % 26)).collect()
    };
    let base_font = format!("{tag}+DejaVuSans");

    let mut widths = String::new();
    let mut by_cid: Vec<&Glyph> = glyphs.values().collect();
    by_cid.sort_by_key(|g| g.cid);
    by_cid.dedup_by_key(|g| g.cid);
    for g in &by_cid {
        let _ = write!(widths, "{} [{}] ", g.cid, number(g.advance));
    }
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let mapped: Vec<(u16, char)> = glyphs.iter().map(|(c, g)| (g.cid, *c)).filter(|(cid, _)| *cid != 0).collect();
    for chunk in mapped.chunks(100) {
        let _ = writeln!(cmap, "{} beginbfchar", chunk.len());
        for (cid, c) in chunk {
            let utf16: String = c.encode_utf16(&mut [0; 2]).iter().map(|u| format!("{u:04X}")).collect();
            let _ = writeln!(cmap, "<{cid:04X}> <{utf16}>");
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMapResource defineresource pop\nend\nend\n");

    let bbox = face.global_bounding_box();
    let descriptor_dict = format!(
        "<</Type/FontDescriptor/FontName/{base_font}/Flags 32/FontBBox[{} {} {} {}]/ItalicAngle 0/Ascent {}/Descent {}/CapHeight {}/StemV 80/FontFile2 {file} 0 R>>",
        number(scale(f32::from(bbox.x_min))),
        number(scale(f32::from(bbox.y_min))),
        number(scale(f32::from(bbox.x_max))),
        number(scale(f32::from(bbox.y_max))),
        number(scale(f32::from(face.ascender()))),
        number(scale(f32::from(face.descender()))),
        number(scale(f32::from(face.capital_height().unwrap_or(face.ascender())))),
    );

    let object = |n: u32, dict: String| (n, format!("{n} 0 obj\n{dict}\nendobj\n").into_bytes());
    let stream = |n: u32, dict: &str, data: &[u8]| {
        let mut bytes = format!("{n} 0 obj\n<<{dict}/Length {}>>\nstream\n", data.len()).into_bytes();
        bytes.extend_from_slice(data);
        bytes.extend_from_slice(b"\nendstream\nendobj\n");
        (n, bytes)
    };
    let objects = vec![
        stream(
            form,
            &format!(
                "/Type/XObject/Subtype/Form/BBox[0 0 {} {}]/Matrix[{} {} {} {} 0 0]/Resources<</Font<</F1 {font} 0 R>>>>",
                number(WIDTH),
                number(height),
                number(a),
                number(b),
                number(c),
                number(d),
            ),
            content.as_bytes(),
        ),
        object(
            font,
            format!(
                "<</Type/Font/Subtype/Type0/BaseFont/{base_font}/Encoding/Identity-H/DescendantFonts[{cid_font} 0 R]/ToUnicode {to_unicode} 0 R>>"
            ),
        ),
        object(
            cid_font,
            format!(
                "<</Type/Font/Subtype/CIDFontType2/BaseFont/{base_font}/CIDSystemInfo<</Registry(Adobe)/Ordering(Identity)/Supplement 0>>/FontDescriptor {descriptor} 0 R/DW 1000/W[{}]/CIDToGIDMap/Identity>>",
                widths.trim_end()
            ),
        ),
        object(descriptor, descriptor_dict),
        stream(file, &format!("/Length1 {}", subset.len()), &subset),
        stream(to_unicode, "", cmap.as_bytes()),
    ];
    Ok(Appearance { objects, form, rect })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_box_holds_every_letter_of_azerbaijani_and_armenian_in_a_subset_of_the_font() {
        let lines = ["Elektron imza: ƏLİYEVA GÜLŞƏN ÇİNGİZ QIZI".to_owned(), "Հայաստան 2026-12-07".to_owned()];
        let a = build(&lines, PageView::upright([0.0, 0.0, 595.0, 842.0]), 10).unwrap();
        assert_eq!(a.form, 10);
        assert_eq!(a.objects.iter().map(|(n, _)| *n).collect::<Vec<_>>(), (10..16).collect::<Vec<_>>());
        assert_eq!(a.rect[0], MARGIN);
        let all: Vec<u8> = a.objects.iter().flat_map(|(_, b)| b.clone()).collect();
        let text = String::from_utf8_lossy(&all);
        // Every character found a glyph: none is drawn as .notdef (CID 0).
        let content = String::from_utf8_lossy(&a.objects[0].1).into_owned();
        for hex in content.split('<').skip(1).map(|s| s.split('>').next().unwrap()) {
            assert!(!hex.as_bytes().chunks(4).any(|c| c == b"0000"), "a character without a glyph: {content}");
        }
        // The ToUnicode CMap maps back to Ə (U+018F) and Հ (U+0540).
        assert!(text.contains("<018F>") && text.contains("<0540>"), "{text}");
        // A subset: far smaller than the font.
        let font_file = &a.objects[4].1;
        assert!(font_file.len() < FONT.len() / 4, "{} of {}", font_file.len(), FONT.len());
    }

    #[test]
    fn a_long_name_shrinks_the_font_to_fit_the_box() {
        let long = "Ə".repeat(200);
        let a = build(&[long], PageView::upright([0.0, 0.0, 612.0, 792.0]), 1).unwrap();
        let content = String::from_utf8_lossy(&a.objects[0].1).into_owned();
        assert!(content.contains(&format!("/F1 {} Tf", number(MIN_FONT_SIZE))), "{content}");
        assert!(a.rect[2] - a.rect[0] <= WIDTH + 0.01);
    }

    /// The box's corners as shown: the page's space turned clockwise by `rotate` and moved
    /// so that the shown page starts at (0, 0).
    fn shown(view: PageView, [x0, y0, x1, y1]: [f32; 4]) -> [f32; 4] {
        let [a0, b0, a1, b1] = view.area;
        let turn = |x: f32, y: f32| match view.rotate {
            90 => (y - b0, a1 - x),
            180 => (a1 - x, b1 - y),
            270 => (b1 - y, x - a0),
            _ => (x - a0, y - b0),
        };
        let (p, q) = (turn(x0, y0), turn(x1, y1));
        [p.0.min(q.0), p.1.min(q.1), p.0.max(q.0), p.1.max(q.1)]
    }

    #[test]
    fn on_a_turned_page_the_box_is_at_the_lower_left_as_shown_and_reads_upright() {
        let lines = ["Elektron imza: ƏLİYEVA LEYLA".to_owned()];
        // A cropped A4 page, not at the origin.
        let area = [10.0, 20.0, 605.0, 862.0];
        let upright = build(&lines, PageView::upright(area), 1).unwrap();
        let height = upright.rect[3] - upright.rect[1];
        for rotate in [0, 90, 180, 270] {
            let view = PageView { area, rotate };
            let a = build(&lines, view, 1).unwrap();
            // As shown: MARGIN from the left and the bottom, WIDTH wide and as high as upright.
            let [x0, y0, x1, y1] = shown(view, a.rect);
            assert!((x0 - MARGIN).abs() < 0.01 && (y0 - MARGIN).abs() < 0.01, "{rotate}: {:?}", [x0, y0, x1, y1]);
            assert!(
                (x1 - x0 - WIDTH).abs() < 0.01 && (y1 - y0 - height).abs() < 0.01,
                "{rotate}: {:?}",
                [x0, y0, x1, y1]
            );
            // The form is turned back by the page's rotation (counter-clockwise).
            let form = String::from_utf8_lossy(&a.objects[0].1).into_owned();
            let matrix = match rotate {
                90 => "/Matrix[0 1 -1 0 0 0]",
                180 => "/Matrix[-1 0 0 -1 0 0]",
                270 => "/Matrix[0 -1 1 0 0 0]",
                _ => "/Matrix[1 0 0 1 0 0]",
            };
            assert!(form.contains(matrix), "{rotate}: {form}");
        }
    }
}
