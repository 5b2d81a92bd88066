//! Small PDFs for the document tests, written byte by byte as ISO 32000-1 §7.5 lays a
//! file out, so that the tests do not depend on the PDF code they check: one with a
//! classic cross-reference table (§7.5.4) and one with a cross-reference stream
//! (§7.5.8), as PDF 1.5+ writers (Word, LibreOffice, most scanners) make them.

/// A PDF of `pages` empty A4 pages with a text line each and `title` in its Info
/// dictionary (UTF-16BE when not ASCII); `xref_stream` picks the cross-reference form.
pub fn document(pages: usize, title: &str, xref_stream: bool) -> Vec<u8> {
    build(pages, title, xref_stream, 0, "")
}

/// A PDF of `objects`, given whole (numbered from 1, the first the catalogue), with a
/// classic cross-reference table: for tests of PDF syntax itself.
pub fn of_objects(objects: &[&[u8]]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    let n = objects.len() + 1;
    out.extend_from_slice(format!("trailer\n<< /Size {n} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    out
}

/// A one-page PDF whose page is shown turned clockwise by `rotate` degrees (`/Rotate`,
/// ISO 32000-1 §7.7.3.3).
pub fn turned_document(rotate: u16) -> Vec<u8> {
    build(1, "Turned", false, 0, &format!("/Rotate {rotate} "))
}

/// A one-page PDF of about `size` bytes: its page's content stream carries comment
/// lines of pseudo-random hex after the text (a stand-in for scanned pages).
pub fn document_of_size(size: usize) -> Vec<u8> {
    build(1, "Large", false, size, "")
}

/// A PDF of `pages` pages and about `size` bytes, shared among its pages' content streams
/// as [`document_of_size`] fills its one (a scanned document: a stream per page).
pub fn document_of_pages_and_size(pages: usize, size: usize) -> Vec<u8> {
    build(pages, "Scanned", false, size / pages.max(1), "")
}

/// `padding`: the size each page's content stream is filled up to (0: not filled);
/// `page_entries`: more entries of each page's dictionary.
fn build(pages: usize, title: &str, xref_stream: bool, padding: usize, page_entries: &str) -> Vec<u8> {
    let mut objects: Vec<String> = Vec::new();
    // 1: catalog, 2: pages, 3: info, 4: font, then a page and its contents per page.
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 5 + 2 * i)).collect();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {pages} >>", kids.join(" ")));
    objects.push(format!("<< /Title {} /Producer (mohur tests) >>", text_string(title)));
    objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into());
    for i in 0..pages {
        let mut text = format!("BT /F1 18 Tf 72 720 Td (Page {} of {pages}) Tj ET", i + 1);
        if padding > 0 {
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            while text.len() < padding {
                text.push_str("\n%");
                for _ in 0..32 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    text.push_str(&format!("{:02x}", x as u8));
                }
            }
        }
        objects.push(format!(
            "<< /Type /Page {page_entries}/Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents {} 0 R >>",
            6 + 2 * i
        ));
        objects.push(format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()));
    }

    let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let size = objects.len() + 1;
    let id = "<6D6F687572207465737420646F63756D>";
    if xref_stream {
        // One more object: the stream itself (type 1 entries, /W [1 4 2], uncompressed).
        let xref_number = size;
        let xref_offset = out.len();
        let mut rows = vec![0u8, 0, 0, 0, 0, 0xFF, 0xFF];
        for off in offsets.iter().chain(std::iter::once(&xref_offset)) {
            rows.push(1);
            rows.extend_from_slice(&(*off as u32).to_be_bytes());
            rows.extend_from_slice(&[0, 0]);
        }
        out.extend_from_slice(
            format!(
                "{xref_number} 0 obj\n<< /Type /XRef /Size {} /W [1 4 2] /Root 1 0 R /Info 3 0 R /ID [{id} {id}] /Length {} >>\nstream\n",
                size + 1,
                rows.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&rows);
        out.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{xref_offset}\n%%EOF\n").as_bytes());
    } else {
        let xref_offset = out.len();
        out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
        for off in &offsets {
            out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<< /Size {size} /Root 1 0 R /Info 3 0 R /ID [{id} {id}] >>\nstartxref\n{xref_offset}\n%%EOF\n")
                .as_bytes(),
        );
    }
    out
}

/// A PDF text string (§7.9.2.2): literal for ASCII, else UTF-16BE with a byte order mark
/// as a hex string.
fn text_string(s: &str) -> String {
    if s.is_ascii() && !s.contains(['(', ')', '\\']) {
        return format!("({s})");
    }
    let mut hex = String::from("<FEFF");
    for unit in s.encode_utf16() {
        hex.push_str(&format!("{unit:04X}"));
    }
    hex.push('>');
    hex
}
