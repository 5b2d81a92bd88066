//! A PDF's objects read without copying its streams' data (ISO 32000-1 §7.3 objects,
//! §7.5 file structure), for signing and checking, which never read a page's content.
//!
//! lopdf copies each stream's data out of the file while it parses the object, so a
//! 50 MB image is held twice for a moment. This reader follows the cross-reference
//! sections from the last (§7.5.4 tables, §7.5.8 streams, hybrid files' `/XRefStm`,
//! `/Prev` back to the first; the newest entry of an object wins), parses each object
//! where its entry says, and gives a stream the SHA-256 of its data instead of the data
//! (cross-reference and object streams keep theirs: lopdf's [`ObjectStream`] reads the
//! objects out of those). The result is a [`lopdf::Document`] like the one
//! [`super::pdf`]'s lopdf load gives, so everything after is the same code.
//!
//! Anything it does not expect (a header not at the start, an entry that points at
//! something else than the object, a `/Length` that does not end at `endstream`) is an
//! [`Unread`], and the caller reads the file with lopdf instead, which is lenient and
//! repairs what it can.

use std::collections::{BTreeMap, BTreeSet};

use lopdf::xref::{Xref, XrefEntry, XrefType};
use lopdf::{Dictionary, Document, Object, ObjectId, ObjectStream, Stream, StringFormat};

/// Why this reader gave no document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unread {
    /// Not what it expects: lopdf, which is lenient, reads the file instead.
    Unexpected(String),
    /// Written so that readers can see different documents in it: an object listed twice
    /// in one cross-reference section or object stream, or an object stream whose member
    /// is not the object its entry names. No reader should be trusted with it.
    Ambiguous(String),
}

fn unread<T>(why: impl Into<String>) -> Result<T, Unread> {
    Err(Unread::Unexpected(why.into()))
}

fn ambiguous<T>(why: impl Into<String>) -> Result<T, Unread> {
    Err(Unread::Ambiguous(why.into()))
}

/// Arrays and dictionaries nested deeper than this are refused (a file of `[[[[…` must
/// not overflow the stack).
const MAX_DEPTH: usize = 64;
/// The most cross-reference sections followed (updates of one file).
const MAX_SECTIONS: usize = 4096;
/// An object or cross-reference stream decompressed to more than this is refused.
const MAX_DECODED: usize = 64 << 20;

/// Reads `pdf`'s objects, streams holding the SHA-256 of their data (module docs).
pub(crate) fn read(pdf: &[u8]) -> Result<Document, Unread> {
    if !pdf.starts_with(b"%PDF-") {
        return unread("the header is not at the start");
    }
    let version = pdf[5..].iter().take(8).take_while(|b| b.is_ascii_digit() || **b == b'.').map(|&b| b as char);
    let version: String = version.collect();
    let xref_start = start_xref(pdf)?;
    let (reference_table, trailer) = cross_references(pdf, xref_start)?;

    // Each object is read within its place: up to the next object's offset (a file whose
    // objects run into each other is not read here, and cannot make this reader copy or
    // hash the same bytes once per object).
    let places = Places::of(pdf, &reference_table);

    let mut objects: BTreeMap<ObjectId, Object> = BTreeMap::new();
    let mut members: BTreeMap<u32, Vec<(u32, u16)>> = BTreeMap::new();
    for (&number, entry) in &reference_table.entries {
        match *entry {
            XrefEntry::Normal { offset, generation } => {
                let at = offset as usize;
                let (id, object) = indirect_object(&places, at, &reference_table)?;
                if id != (number, generation) {
                    return unread(format!("the entry of object {number} points at object {} {}", id.0, id.1));
                }
                objects.insert(id, object);
            }
            XrefEntry::Compressed { container, index } => members.entry(container).or_default().push((number, index)),
            XrefEntry::Free | XrefEntry::UnusableFree => {}
        }
    }
    for (container, wanted) in members {
        let Some(Object::Stream(stream)) = objects.get(&(container, 0)) else {
            return unread(format!("object stream {container} is not a stream"));
        };
        let listed = object_stream_numbers(stream, container)?;
        for &(number, index) in &wanted {
            // The member the entry points at must be the object it names (§7.5.8.3):
            // readers that go by the index and readers that go by the number then agree.
            if listed.get(usize::from(index)) != Some(&number) {
                return ambiguous(format!("object stream {container}: member {index} is not object {number}"));
            }
        }
        let inside = ObjectStream::new_with_limit(stream, Some(MAX_DECODED))
            .map_err(|e| Unread::Unexpected(format!("object stream {container}: {e}")))?;
        for (number, _) in wanted {
            match inside.objects.get(&(number, 0)) {
                Some(object) => objects.insert((number, 0), object.clone()),
                None => return unread(format!("object stream {container}: object {number} cannot be read")),
            };
        }
    }
    if !trailer.get(b"Root").and_then(Object::as_reference).is_ok_and(|root| objects.contains_key(&root)) {
        return unread("the trailer's /Root is not an object of the file");
    }

    let mut doc = Document::new();
    doc.version = version;
    doc.max_id = objects.keys().map(|id| id.0).max().unwrap_or(0);
    doc.objects = objects;
    doc.trailer = trailer;
    doc.reference_table = reference_table;
    doc.xref_start = xref_start;
    Ok(doc)
}

/// The object numbers an object stream's header lists, in order (§7.5.7: pairs of an
/// object number and an offset before `/First`); a number listed twice is ambiguous.
fn object_stream_numbers(stream: &Stream, container: u32) -> Result<Vec<u32>, Unread> {
    let content = stream
        .get_plain_content_with_limit(MAX_DECODED)
        .map_err(|e| Unread::Unexpected(format!("object stream {container}: {e}")))?;
    let first = stream.dict.get(b"First").and_then(Object::as_i64).ok().and_then(|f| usize::try_from(f).ok());
    let Some(header) = first.and_then(|f| content.get(..f)) else {
        return unread(format!("object stream {container}: no header before /First"));
    };
    let mut lexer = Lexer { bytes: header, at: 0 };
    let mut numbers = Vec::new();
    loop {
        lexer.skip_space();
        if lexer.at >= header.len() {
            break;
        }
        let (number, offset) = (lexer.token(), {
            lexer.skip_space();
            lexer.token()
        });
        let parse = |t: &[u8]| std::str::from_utf8(t).ok().and_then(|t| t.parse::<u32>().ok());
        match (parse(number), parse(offset)) {
            (Some(n), Some(_)) => numbers.push(n),
            _ => return unread(format!("object stream {container}: a header that is not pairs of numbers")),
        }
    }
    let mut seen = BTreeSet::new();
    if let Some(twice) = numbers.iter().find(|n| !seen.insert(**n)) {
        return ambiguous(format!("object stream {container} lists object {twice} twice"));
    }
    Ok(numbers)
}

/// The offset `startxref` gives at the file's end: `startxref`, the offset, `%%EOF`, and
/// nothing after it but white space (§7.5.5).
fn start_xref(pdf: &[u8]) -> Result<usize, Unread> {
    let tail_from = pdf.len().saturating_sub(1024);
    let tail = &pdf[tail_from..];
    let Some(at) = tail.windows(9).rposition(|w| w == b"startxref") else {
        return unread("no startxref");
    };
    let mut lexer = Lexer { bytes: pdf, at: tail_from + at + 9 };
    let Object::Integer(offset) = lexer.object(0)? else { return unread("startxref is not followed by an offset") };
    // White space only: `%%EOF` is itself a comment to the lexer.
    while lexer.peek().is_some_and(is_space) {
        lexer.at += 1;
    }
    let rest =
        lexer.rest().strip_prefix(b"%%EOF").ok_or_else(|| Unread::Unexpected("no %%EOF after startxref".into()))?;
    if !rest.iter().all(|&b| is_space(b)) {
        return unread("something after %%EOF");
    }
    usize::try_from(offset)
        .ok()
        .filter(|&o| o < pdf.len())
        .ok_or_else(|| Unread::Unexpected("startxref is not an offset in the file".into()))
}

/// Every cross-reference section from `start` back through `/Prev` (and hybrid files'
/// `/XRefStm`), merged newest first, and the newest trailer.
fn cross_references(pdf: &[u8], start: usize) -> Result<(Xref, Dictionary), Unread> {
    let mut merged: Option<Xref> = None;
    let mut newest_trailer = None;
    let mut seen = BTreeSet::new();
    // Every section's entries together may not outnumber what the file could hold (a
    // small file must not make this reader build a huge table).
    let mut budget = pdf.len() / 8 + 1024;
    let mut next = Some(start);
    while let Some(at) = next {
        if !seen.insert(at) || seen.len() > MAX_SECTIONS {
            return unread("the cross-reference sections loop");
        }
        let (mut section, trailer) = section_at(pdf, at)?;
        // A hybrid file (§7.5.8.4): the stream's entries for objects the table lacks or
        // lists as free (writers mark objects in object streams free for old readers).
        if let Some(stream_at) = trailer.get(b"XRefStm").ok().and_then(|o| o.as_i64().ok()) {
            let stream_at = usize::try_from(stream_at).map_err(|_| Unread::Unexpected("/XRefStm".into()))?;
            if !seen.insert(stream_at) {
                return unread("a cross-reference stream read twice");
            }
            let (hidden, _) = section_at(pdf, stream_at)?;
            for (number, entry) in hidden.entries {
                match section.entries.get(&number) {
                    None | Some(XrefEntry::Free | XrefEntry::UnusableFree) => {
                        section.entries.insert(number, entry);
                    }
                    Some(_) => {}
                }
            }
        }
        budget = budget
            .checked_sub(section.entries.len())
            .ok_or_else(|| Unread::Unexpected("more cross-reference entries than the file can hold".into()))?;
        next = match trailer.get(b"Prev") {
            Ok(Object::Integer(p)) => Some(usize::try_from(*p).map_err(|_| Unread::Unexpected("/Prev".into()))?),
            Ok(_) => return unread("/Prev is not an offset"),
            Err(_) => None,
        };
        match &mut merged {
            None => {
                let mut first = Xref::new(section.size, section.cross_reference_type);
                first.entries = section.entries;
                merged = Some(first);
                newest_trailer = Some(trailer);
            }
            Some(m) => {
                for (number, entry) in section.entries {
                    m.entries.entry(number).or_insert(entry);
                }
                m.size = m.size.max(section.size);
            }
        }
    }
    let (mut xref, trailer) =
        (merged.ok_or_else(|| Unread::Unexpected("no cross-reference section".into()))?, newest_trailer);
    let mut trailer = trailer.ok_or_else(|| Unread::Unexpected("no trailer".into()))?;
    // As lopdf: what links the sections is not the document's.
    trailer.remove(b"Prev");
    trailer.remove(b"XRefStm");
    if let Ok(size) = trailer.get(b"Size").and_then(Object::as_i64) {
        xref.size = xref.size.max(u32::try_from(size).unwrap_or(0));
    }
    Ok((xref, trailer))
}

/// One cross-reference section at `at`: a table and its trailer, or a stream and its
/// dictionary.
fn section_at(pdf: &[u8], at: usize) -> Result<(Xref, Dictionary), Unread> {
    let mut lexer = Lexer { bytes: pdf, at };
    lexer.skip_space();
    if lexer.rest().starts_with(b"xref") {
        lexer.at += 4;
        return table(&mut lexer);
    }
    let (_, object, data) = indirect_parts(pdf, at, None)?;
    let Object::Dictionary(dict) = object else { return unread("a cross-reference entry that is neither") };
    let Some(data) = data else { return unread("a cross-reference object without a stream") };
    if dict.get(b"Type").and_then(Object::as_name).ok() != Some(b"XRef") {
        return unread("a cross-reference stream without /Type /XRef");
    }
    // Its subsections (/Index: first number, count) may not overlap: an object listed
    // twice is read as one or the other depending on the reader.
    if let Ok(index) = dict.get(b"Index").and_then(Object::as_array) {
        let numbers: Vec<i64> = index.iter().filter_map(|n| n.as_i64().ok()).collect();
        let mut ranges: Vec<(i64, i64)> =
            numbers.chunks(2).filter(|c| c.len() == 2).map(|c| (c[0], c[0].saturating_add(c[1]))).collect();
        ranges.sort_unstable();
        if ranges.windows(2).any(|w| w[1].0 < w[0].1) {
            return ambiguous(format!("the cross-reference stream at {at} lists an object twice"));
        }
    }
    let stream = Stream::new(dict, data.to_vec());
    let (xref, dict) = lopdf::xref::decode_xref_stream_with_limit(stream, Some(MAX_DECODED))
        .map_err(|e| Unread::Unexpected(format!("cross-reference stream at {at}: {e}")))?;
    Ok((xref, dict))
}

/// A cross-reference table after its `xref` keyword (§7.5.4), and the trailer after it.
fn table(lexer: &mut Lexer) -> Result<(Xref, Dictionary), Unread> {
    let mut xref = Xref::new(0, XrefType::CrossReferenceTable);
    loop {
        lexer.skip_space();
        if lexer.rest().starts_with(b"trailer") {
            lexer.at += 7;
            let Object::Dictionary(trailer) = lexer.object(0)? else {
                return unread("the trailer is not a dictionary");
            };
            return Ok((xref, trailer));
        }
        let (Object::Integer(first), Object::Integer(count)) = (lexer.object(0)?, lexer.object(0)?) else {
            return unread("a cross-reference subsection without its numbers");
        };
        let (Ok(first), Ok(count)) = (u32::try_from(first), u32::try_from(count)) else {
            return unread("a cross-reference subsection with negative numbers");
        };
        if count as usize > lexer.bytes.len() / 20 {
            return unread("a cross-reference subsection longer than the file");
        }
        for i in 0..count {
            let (Object::Integer(offset), Object::Integer(generation)) = (lexer.object(0)?, lexer.object(0)?) else {
                return unread("a cross-reference entry without its numbers");
            };
            lexer.skip_space();
            let kind = lexer.rest().first().copied();
            lexer.at += 1;
            let number = first.checked_add(i).ok_or_else(|| Unread::Unexpected("object numbers overflow".into()))?;
            let entry = match kind {
                Some(b'n') => XrefEntry::Normal {
                    offset: u32::try_from(offset).map_err(|_| Unread::Unexpected("an offset out of range".into()))?,
                    generation: u16::try_from(generation)
                        .map_err(|_| Unread::Unexpected("a generation out of range".into()))?,
                },
                Some(b'f') => XrefEntry::Free,
                _ => return unread("a cross-reference entry neither in use nor free"),
            };
            // An object listed twice in one section is read as one or the other
            // depending on the reader (lopdf takes the last, others the first).
            if xref.entries.insert(number, entry).is_some() {
                return ambiguous(format!("a cross-reference table lists object {number} twice"));
            }
            xref.size = xref.size.max(number.saturating_add(1));
        }
    }
}

/// The dictionary and the data (as the file holds them) of stream `id`, read where
/// `xref` says and checked as [`read`] checks every stream; `None` if it is not one.
/// Any reader's table will do: this reads the file itself.
pub(super) fn stream_data<'a>(pdf: &'a [u8], xref: &Xref, id: ObjectId) -> Option<(Dictionary, &'a [u8])> {
    let XrefEntry::Normal { offset, generation } = *xref.get(id.0)? else { return None };
    let places = Places::of(pdf, xref);
    let at = offset as usize;
    let (found, object, data) = indirect_parts(places.up_to_next(at), at, Some((xref, &places))).ok()?;
    let Object::Dictionary(dict) = object else { return None };
    (found == id && generation == id.1).then_some((dict, data?))
}

/// Where each object of a file may be: from its offset up to the next object's.
struct Places<'a> {
    pdf: &'a [u8],
    /// The offsets of the objects in use, in order.
    starts: Vec<usize>,
}

impl<'a> Places<'a> {
    fn of(pdf: &'a [u8], xref: &Xref) -> Places<'a> {
        let mut starts: Vec<usize> = xref
            .entries
            .values()
            .filter_map(|e| match e {
                XrefEntry::Normal { offset, .. } => Some(*offset as usize),
                _ => None,
            })
            .collect();
        starts.sort_unstable();
        starts.dedup();
        Places { pdf, starts }
    }

    /// The file up to where the object at `at` must end.
    fn up_to_next(&self, at: usize) -> &'a [u8] {
        let next = self.starts.partition_point(|&s| s <= at);
        let end = self.starts.get(next).copied().unwrap_or(self.pdf.len()).min(self.pdf.len());
        &self.pdf[..end]
    }
}

/// The object at `at` (`N G obj …`), with a stream's data replaced by its digest.
fn indirect_object(places: &Places, at: usize, xref: &Xref) -> Result<(ObjectId, Object), Unread> {
    let (id, object, data) = indirect_parts(places.up_to_next(at), at, Some((xref, places)))?;
    let (Object::Dictionary(mut dict), Some(data)) = (object.clone(), data) else { return Ok((id, object)) };
    let kind = dict.get(b"Type").and_then(Object::as_name).unwrap_or_default();
    let content = if kind == b"ObjStm" || kind == b"XRef" {
        data.to_vec()
    } else {
        use sha2::Digest;
        sha2::Sha256::digest(data).to_vec()
    };
    // As lopdf leaves it: /Length is the length of the data read.
    dict.set("Length", data.len() as i64);
    let mut stream = Stream::new(dict.clone(), content);
    stream.dict = dict;
    Ok((id, Object::Stream(stream)))
}

/// `N G obj`, the object, and a stream's data (a slice of the file) if it is one, all
/// within `pdf` (the file up to where the object must end). An indirect `/Length` is
/// looked up in `lengths`' table (without one, only a direct length is read).
fn indirect_parts<'a>(
    pdf: &'a [u8],
    at: usize,
    lengths: Option<(&Xref, &Places)>,
) -> Result<(ObjectId, Object, Option<&'a [u8]>), Unread> {
    let mut lexer = Lexer { bytes: pdf, at };
    let (Object::Integer(number), Object::Integer(generation)) = (lexer.object(0)?, lexer.object(0)?) else {
        return unread(format!("no object at offset {at}"));
    };
    lexer.skip_space();
    if !lexer.rest().starts_with(b"obj") {
        return unread(format!("no object at offset {at}"));
    }
    lexer.at += 3;
    let id = (
        u32::try_from(number).map_err(|_| Unread::Unexpected("an object number out of range".into()))?,
        u16::try_from(generation).map_err(|_| Unread::Unexpected("a generation out of range".into()))?,
    );
    let object = lexer.object(0)?;
    let Object::Dictionary(dict) = &object else { return Ok((id, object, None)) };
    lexer.skip_space();
    if !lexer.rest().starts_with(b"stream") {
        return Ok((id, object, None));
    }
    lexer.at += 6;
    // `stream` ends with CRLF or LF (§7.3.8.1).
    let eol = [&b"\r\n"[..], b"\n"].into_iter().find(|e| lexer.rest().starts_with(e));
    lexer.at +=
        eol.ok_or_else(|| Unread::Unexpected(format!("object {number}: `stream` without an end of line")))?.len();
    let length = match dict.get(b"Length") {
        Ok(Object::Integer(n)) => *n,
        Ok(Object::Reference(r)) => match lengths.and_then(|(x, places)| Some((x.get(r.0)?, places))) {
            Some((XrefEntry::Normal { offset, generation }, places)) if *offset as usize != at => {
                let offset = *offset as usize;
                match indirect_parts(places.up_to_next(offset), offset, None)? {
                    (id, Object::Integer(n), None) if id == *r && *generation == r.1 => n,
                    _ => return unread(format!("object {number}: its /Length is not the number it names")),
                }
            }
            _ => return unread(format!("object {number}: its /Length cannot be read here")),
        },
        _ => return unread(format!("object {number}: a stream without /Length")),
    };
    let length =
        usize::try_from(length).map_err(|_| Unread::Unexpected(format!("object {number}: a negative /Length")))?;
    let start = lexer.at;
    let end = start.checked_add(length).filter(|&e| e <= pdf.len());
    let data =
        end.map(|e| &pdf[start..e]).ok_or_else(|| Unread::Unexpected(format!("object {number}: data past the end")))?;
    let mut after = Lexer { bytes: pdf, at: start + length };
    after.skip_space();
    if !after.rest().starts_with(b"endstream") {
        return unread(format!("object {number}: its data do not end where /Length says"));
    }
    Ok((id, object, Some(data)))
}

/// Reads objects out of the file's bytes (§7.3), from `at`.
struct Lexer<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// White space (§7.2.3, Table 1).
fn is_space(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// Delimiters (§7.2.3, Table 2).
fn is_delimiter(b: u8) -> bool {
    matches!(b, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.at..).unwrap_or_default()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Past white space and comments.
    fn skip_space(&mut self) {
        while let Some(b) = self.peek() {
            if is_space(b) {
                self.at += 1;
            } else if b == b'%' {
                while self.peek().is_some_and(|b| b != b'\r' && b != b'\n') {
                    self.at += 1;
                }
            } else {
                break;
            }
        }
    }

    /// A regular token (a number or a keyword): up to white space or a delimiter.
    fn token(&mut self) -> &'a [u8] {
        let start = self.at;
        while self.peek().is_some_and(|b| !is_space(b) && !is_delimiter(b)) {
            self.at += 1;
        }
        &self.bytes[start..self.at]
    }

    /// One direct object, or an indirect reference `N G R` (§7.3.10).
    fn object(&mut self, depth: usize) -> Result<Object, Unread> {
        if depth > MAX_DEPTH {
            return unread("objects nested too deep");
        }
        self.skip_space();
        match self.peek() {
            None => unread("the file ends inside an object"),
            Some(b'/') => Ok(Object::Name(self.name()?)),
            Some(b'(') => self.literal_string(),
            Some(b'<') if self.rest().starts_with(b"<<") => {
                self.at += 2;
                let mut dict = Dictionary::new();
                loop {
                    self.skip_space();
                    if self.rest().starts_with(b">>") {
                        self.at += 2;
                        return Ok(Object::Dictionary(dict));
                    }
                    if self.peek() != Some(b'/') {
                        return unread("a dictionary key that is not a name");
                    }
                    let key = self.name()?;
                    // A null value is kept, as lopdf keeps it (§7.3.7 reads it as absent).
                    let value = self.object(depth + 1)?;
                    dict.set(key, value);
                }
            }
            Some(b'<') => self.hex_string(),
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_space();
                    if self.peek() == Some(b']') {
                        self.at += 1;
                        return Ok(Object::Array(items));
                    }
                    items.push(self.object(depth + 1)?);
                }
            }
            Some(_) => {
                let token = self.token();
                match token {
                    b"" => unread(format!("an unexpected byte at {}", self.at)),
                    b"null" => Ok(Object::Null),
                    b"true" => Ok(Object::Boolean(true)),
                    b"false" => Ok(Object::Boolean(false)),
                    _ => self.number_or_reference(token),
                }
            }
        }
    }

    fn number_or_reference(&mut self, token: &[u8]) -> Result<Object, Unread> {
        let text = std::str::from_utf8(token).map_err(|_| Unread::Unexpected("a token that is not text".into()))?;
        if let Ok(n) = text.parse::<i64>() {
            // `N G R`: two non-negative integers and R.
            if n >= 0 {
                let saved = self.at;
                self.skip_space();
                let generation = self.token();
                self.skip_space();
                let r = self.token();
                if r == b"R" {
                    if let Some(g) = std::str::from_utf8(generation).ok().and_then(|g| g.parse::<u16>().ok()) {
                        if let Ok(n) = u32::try_from(n) {
                            return Ok(Object::Reference((n, g)));
                        }
                    }
                }
                self.at = saved;
            }
            return Ok(Object::Integer(n));
        }
        // Reals: digits with one point, a sign in front (§7.3.3); no exponent.
        let body = text.strip_prefix(['+', '-']).unwrap_or(text);
        let plain =
            !body.is_empty() && body.chars().all(|c| c.is_ascii_digit() || c == '.') && body.matches('.').count() == 1;
        match text.parse::<f32>() {
            Ok(x) if plain && x.is_finite() => Ok(Object::Real(x)),
            _ => unread(format!("{text:?} is not an object")),
        }
    }

    /// A name after its `/`, with `#xx` escapes (§7.3.5).
    fn name(&mut self) -> Result<Vec<u8>, Unread> {
        self.at += 1;
        let raw = self.token();
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'#' {
                let hex = raw.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
                match byte {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => return unread("a name with a broken #xx"),
                }
            }
            out.push(raw[i]);
            i += 1;
        }
        Ok(out)
    }

    /// `( … )` with its escapes and balanced parentheses (§7.3.4.2).
    fn literal_string(&mut self) -> Result<Object, Unread> {
        self.at += 1;
        let mut out = Vec::new();
        let mut depth = 0usize;
        loop {
            let Some(b) = self.peek() else { return unread("a string that does not end") };
            self.at += 1;
            match b {
                b'(' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return unread("parentheses nested too deep in a string");
                    }
                    out.push(b);
                }
                b')' if depth == 0 => return Ok(Object::String(out, StringFormat::Literal)),
                b')' => {
                    depth -= 1;
                    out.push(b);
                }
                b'\\' => {
                    let Some(e) = self.peek() else { return unread("a string that does not end") };
                    self.at += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'0'..=b'7' => {
                            let mut value = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        value = value * 8 + u32::from(d - b'0');
                                        self.at += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push(value as u8);
                        }
                        // A backslash at the end of a line continues the string.
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.at += 1;
                            }
                        }
                        b'\n' => {}
                        other => out.push(other),
                    }
                }
                // An end of line in a string is a line feed (§7.3.4.2).
                b'\r' => {
                    if self.peek() == Some(b'\n') {
                        self.at += 1;
                    }
                    out.push(b'\n');
                }
                other => out.push(other),
            }
        }
    }

    /// `< … >`, hex digits and white space, an odd last digit followed by 0 (§7.3.4.3).
    fn hex_string(&mut self) -> Result<Object, Unread> {
        self.at += 1;
        let mut digits = Vec::new();
        loop {
            let Some(b) = self.peek() else { return unread("a hex string that does not end") };
            self.at += 1;
            match b {
                b'>' => break,
                _ if is_space(b) => {}
                _ if b.is_ascii_hexdigit() => digits.push(b),
                _ => return unread("a hex string with something else than hex digits"),
            }
        }
        if digits.len() % 2 == 1 {
            digits.push(b'0');
        }
        let value = |d: u8| (d as char).to_digit(16).unwrap_or(0) as u8;
        let bytes = digits.chunks(2).map(|p| value(p[0]) << 4 | value(p[1])).collect();
        Ok(Object::String(bytes, StringFormat::Hexadecimal))
    }
}

// The samples come from mohur-tests, a Unix dev-dependency.
#[cfg(all(test, unix))]
pub(super) mod tests {
    use super::*;

    #[test]
    fn what_it_does_not_expect_it_leaves_to_lopdf() {
        let pdf = mohur_tests::pdf::document(1, "t", false);
        let replaced = |from: &[u8], to: &[u8]| {
            let at = pdf.windows(from.len()).position(|w| w == from).unwrap();
            [&pdf[..at], to, &pdf[at + from.len()..]].concat()
        };
        assert!(read(&pdf).is_ok());
        // Junk before the header.
        assert!(read(&[&b"junk\n"[..], &pdf].concat()).is_err());
        // An entry that points one byte into its object.
        assert!(read(&replaced(b"0000000015 00000 n", b"0000000016 00000 n")).is_err());
        // A /Length that does not end at `endstream`.
        assert!(read(&replaced(b"/Length 42", b"/Length 41")).is_err());
        // Something after %%EOF.
        assert!(read(&[&pdf[..], b"junk"].concat()).is_err());
        // Objects that run into each other (each a string holding the next): refused at
        // the first, not read once per object.
        let nested = (1..=3).map(|n| format!("{n} 0 obj\n(")).collect::<String>() + ")))";
        let mut text = format!("%PDF-1.7\n{nested}\n");
        let offsets: Vec<usize> = (1..=3).map(|n| text.find(&format!("{n} 0 obj")).unwrap()).collect();
        let xref = text.len();
        text += "xref\n0 4\n0000000000 65535 f \n";
        for o in offsets {
            text += &format!("{o:010} 00000 n \n");
        }
        text += &format!("trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n");
        assert!(matches!(read(text.as_bytes()), Err(Unread::Unexpected(_))));
        // Nested too deep: refused, not a stack overflow.
        let deep = format!("%PDF-1.7\n1 0 obj\n{}\nendobj\n", "[".repeat(100_000));
        assert!(read(deep.as_bytes()).is_err());
    }

    /// Every truncation, and every byte changed to one of a few that matter to PDF
    /// syntax, of files with a table, with a cross-reference stream and with object
    /// streams: a document or an [`Unread`], never a panic.
    #[test]
    fn every_cut_and_changed_byte_gives_a_document_or_unread_never_a_panic() {
        let mut modern = Vec::new();
        lopdf::Document::load_mem(&mohur_tests::pdf::document(2, "t", false))
            .unwrap()
            .save_modern(&mut modern)
            .unwrap();
        for sample in [mohur_tests::pdf::document(2, "t", false), mohur_tests::pdf::document(2, "t", true), modern] {
            for cut in 0..sample.len() {
                let _ = read(&sample[..cut]);
            }
            for at in 0..sample.len() {
                for b in [b'0', b'9', b' ', b'/', b'<', b'(', b'[', b'\\', 0xff] {
                    let mut v = sample.clone();
                    v[at] = b;
                    let _ = read(&v);
                }
            }
        }
    }

    /// A file of objects `(number, body)` and what follows them (a table, a trailer),
    /// built by `tail` from the objects' offsets.
    fn assemble(objects: &[(u32, Vec<u8>)], tail: impl Fn(&BTreeMap<u32, usize>, usize) -> String) -> Vec<u8> {
        let mut out = b"%PDF-1.5\n".to_vec();
        let mut offsets = BTreeMap::new();
        for (n, body) in objects {
            offsets.insert(*n, out.len());
            out.extend_from_slice(format!("{n} 0 obj\n").as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let end = out.len();
        out.extend_from_slice(tail(&offsets, end).as_bytes());
        out
    }

    fn stream_object(dict: &str, data: &[u8]) -> Vec<u8> {
        [format!("<< {dict} /Length {} >>\nstream\n", data.len()).as_bytes(), data, b"\nendstream"].concat()
    }

    /// A hybrid file (§7.5.8.4) as Word writes one: the catalogue and the page tree in an
    /// object stream, listed as free in the table and as compressed in the stream that
    /// `/XRefStm` names. `header` is the object stream's header; `index` the members the
    /// stream's entries point at.
    pub(in crate::documents) fn hybrid(header: &str, index: [u8; 2]) -> Vec<u8> {
        let bodies = "<< /Type /Catalog /Pages 2 0 R >> << /Type /Pages /Kids [3 0 R] /Count 1 >>";
        let objstm = format!("{header} {bodies}");
        let first = header.len() + 1;
        let rows = [2, 0, 4, index[0], 2, 0, 4, index[1]];
        let objects = [
            (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>".to_vec()),
            (4, stream_object(&format!("/Type /ObjStm /N 2 /First {first}"), objstm.as_bytes())),
            (5, stream_object("/Type /XRef /Size 6 /Index [1 2] /W [1 2 1]", &rows)),
        ];
        assemble(&objects, |at, xref| {
            let mut t = String::from("xref\n0 6\n0000000000 65535 f \n0000000000 00000 f \n0000000000 00000 f \n");
            for n in 3..=5 {
                t += &format!("{:010} 00000 n \n", at[&n]);
            }
            t + &format!("trailer\n<< /Size 6 /Root 1 0 R /XRefStm {} >>\nstartxref\n{xref}\n%%EOF\n", at[&5])
        })
    }

    #[test]
    fn a_hybrid_file_s_objects_in_object_streams_are_read_where_its_table_lists_them_free() {
        let pdf = hybrid("1 0 2 34", [0, 1]);
        let doc = read(&pdf).unwrap();
        let catalog = doc.get_object((1, 0)).unwrap().as_dict().unwrap();
        assert_eq!(catalog.get(b"Type").unwrap().as_name().unwrap(), b"Catalog");
        assert_eq!(doc.get_pages().len(), 1);
    }

    #[test]
    fn an_object_listed_twice_or_a_member_that_is_not_its_object_is_ambiguous() {
        let ambiguous = |pdf: &[u8], what: &str| {
            assert!(matches!(read(pdf), Err(Unread::Ambiguous(_))), "{what}: {:?}", read(pdf).map(|_| ()));
        };
        // The stream's entries point at members 1 and 0: swapped.
        ambiguous(&hybrid("1 0 2 34", [1, 0]), "members swapped");
        // The object stream lists object 1 twice.
        ambiguous(&hybrid("1 0 1 34", [0, 1]), "a member listed twice");
        // A table that lists object 1 twice.
        let pdf = mohur_tests::pdf::document(1, "t", false);
        let at = pdf.windows(8).rposition(|w| w == b"trailer\n").unwrap();
        let twice = [&pdf[..at], b"1 1\n0000000015 00000 n \n", &pdf[at..]].concat();
        ambiguous(&twice, "a table entry twice");
    }
}
