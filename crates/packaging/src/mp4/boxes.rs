//! Reading boxes: headers, the children of a container, and a bounds-checked big-endian reader.
//! Every parser in this module stands on these, so none of them indexes a slice directly.
//!
//! Hand-written rather than taken from `mp4-atom` (which the tests use as an independent check):
//! that crate decodes the whole `moov` tree at once (one odd metadata box or sample entry of a track
//! we do not package fails the lot), has no `stz2`, gives no byte positions (we copy `stsd`
//! verbatim) and decodes every table into vectors of its own before we could expand them. What we
//! read is small: the headers below, a dozen full boxes, and the sample tables in one pass.

use super::Mp4Error;

/// A box header: its type, the header's own length (8, or 16 with a 64-bit size) and the size of
/// the whole box (`None` for size 0: the box runs to the end of its parent, or of the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub kind: [u8; 4],
    pub header_len: u64,
    pub size: Option<u64>,
}

/// Reads a header from the first 8 (or, for a 64-bit size, 16) bytes of `bytes`.
pub(crate) fn read_header(bytes: &[u8]) -> Result<Header, Mp4Error> {
    let mut r = Reader::new(bytes, "box header");
    let size32 = r.u32()?;
    let kind = r.fourcc()?;
    let (header_len, size) = match size32 {
        0 => (8, None),
        1 => {
            let large = r.u64()?;
            if large < 16 {
                return Err(Mp4Error::malformed(format!("box '{}' has a 64-bit size below 16", show(kind))));
            }
            (16, Some(large))
        }
        2..=7 => return Err(Mp4Error::malformed(format!("box '{}' has a size below 8", show(kind)))),
        n => (8, Some(u64::from(n))),
    };
    Ok(Header { kind, header_len, size })
}

/// A child box inside a parent's bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BoxRef<'a> {
    pub kind: [u8; 4],
    /// The box without its header.
    pub body: &'a [u8],
    /// The whole box, header included.
    pub whole: &'a [u8],
}

/// Iterates the boxes laid end to end in `bytes` (a container's body).
pub(crate) fn children(bytes: &[u8]) -> Children<'_> {
    Children { bytes, pos: 0, done: false }
}

pub(crate) struct Children<'a> {
    bytes: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Iterator for Children<'a> {
    type Item = Result<BoxRef<'a>, Mp4Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        // Fewer than 8 bytes cannot be a box: QuickTime ends some lists with a 4-byte zero, and
        // players ignore such padding, so do we.
        if rest.len() < 8 {
            self.done = true;
            return None;
        }
        let item = split_box(rest);
        match &item {
            Ok(b) => self.pos += b.whole.len(),
            Err(_) => self.done = true,
        }
        Some(item)
    }
}

fn split_box(rest: &[u8]) -> Result<BoxRef<'_>, Mp4Error> {
    let header = read_header(rest)?;
    let size = match header.size {
        None => rest.len(),
        Some(s) => usize::try_from(s)
            .ok()
            .filter(|&s| s <= rest.len())
            .ok_or_else(|| Mp4Error::malformed(format!("box '{}' is larger than its parent", show(header.kind))))?,
    };
    let whole = rest.get(..size).ok_or_else(|| Mp4Error::malformed("box is larger than its parent"))?;
    let body = whole.get(header.header_len as usize..).ok_or_else(|| Mp4Error::malformed("box shorter than header"))?;
    Ok(BoxRef { kind: header.kind, body, whole })
}

/// Parses `bytes` as exactly one box of type `kind` (the whole `moov`, say).
pub(crate) fn whole_box<'a>(bytes: &'a [u8], kind: &[u8; 4]) -> Result<BoxRef<'a>, Mp4Error> {
    let b = split_box(bytes)?;
    if &b.kind != kind {
        return Err(Mp4Error::malformed(format!("expected '{}', found '{}'", show(*kind), show(b.kind))));
    }
    if b.whole.len() != bytes.len() {
        return Err(Mp4Error::malformed(format!("'{}' size does not match its bytes", show(*kind))));
    }
    Ok(b)
}

/// The first child of type `kind`, if any.
pub(crate) fn find<'a>(bytes: &'a [u8], kind: &[u8; 4]) -> Result<Option<BoxRef<'a>>, Mp4Error> {
    for child in children(bytes) {
        let child = child?;
        if &child.kind == kind {
            return Ok(Some(child));
        }
    }
    Ok(None)
}

/// The first child of type `kind`, which must exist.
pub(crate) fn require<'a>(bytes: &'a [u8], kind: &[u8; 4]) -> Result<BoxRef<'a>, Mp4Error> {
    find(bytes, kind)?.ok_or_else(|| Mp4Error::malformed(format!("'{}' is missing", show(*kind))))
}

/// A box type for messages (types are usually ASCII; anything else is escaped).
pub(crate) fn show(kind: [u8; 4]) -> String {
    kind.iter().flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect()
}

/// A big-endian cursor that errors, naming what it reads, instead of running off the end.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader { bytes, pos: 0, what }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Mp4Error> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let out = end.and_then(|e| self.bytes.get(self.pos..e));
        match out {
            Some(out) => {
                self.pos += n;
                Ok(out)
            }
            None => Err(Mp4Error::malformed(format!("{} is truncated", self.what))),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Mp4Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub fn skip(&mut self, n: usize) -> Result<(), Mp4Error> {
        self.take(n).map(|_| ())
    }

    pub fn u8(&mut self) -> Result<u8, Mp4Error> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16, Mp4Error> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, Mp4Error> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub fn i32(&mut self) -> Result<i32, Mp4Error> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, Mp4Error> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> Result<i64, Mp4Error> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    pub fn fourcc(&mut self) -> Result<[u8; 4], Mp4Error> {
        self.array()
    }

    /// A full box's version and flags.
    pub fn version_flags(&mut self) -> Result<(u8, u32), Mp4Error> {
        let v = self.u32()?;
        Ok(((v >> 24) as u8, v & 0x00ff_ffff))
    }

    /// The unread rest.
    pub fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn reads_plain_large_and_open_ended_headers() {
        let h = read_header(b"\0\0\0\x10moov").expect("plain");
        assert_eq!((h.kind, h.header_len, h.size), (*b"moov", 8, Some(16)));
        let h = read_header(b"\0\0\0\x01mdat\0\0\0\x01\0\0\0\0").expect("large");
        assert_eq!((h.header_len, h.size), (16, Some(1 << 32)));
        let h = read_header(b"\0\0\0\0mdat").expect("open");
        assert_eq!(h.size, None);
        assert!(read_header(b"\0\0\0\x04free").is_err());
        assert!(read_header(b"\0\0\0\x01mdat\0\0\0\0\0\0\0\x08").is_err());
        assert!(read_header(b"\0\0\0\x01mdat\0\0").is_err(), "a short 64-bit header is an error");
        assert!(read_header(b"\0\0").is_err());
    }

    #[test]
    fn children_stop_at_padding_and_reject_overruns() {
        let mut bytes = boxed(b"free", b"abc");
        bytes.extend(boxed(b"skip", b""));
        bytes.extend([0, 0, 0, 0]);
        let kinds: Vec<_> = children(&bytes).map(|c| c.expect("box").kind).collect();
        assert_eq!(kinds, vec![*b"free", *b"skip"]);
        assert_eq!(find(&bytes, b"skip").expect("ok").map(|b| b.body.len()), Some(0));
        assert!(require(&bytes, b"moov").is_err());

        let mut bad = boxed(b"free", b"abc");
        bad[3] = 200;
        let all: Vec<_> = children(&bad).collect();
        assert_eq!(all.len(), 1);
        assert!(all[0].is_err());
    }

    #[test]
    fn whole_box_checks_type_and_length() {
        let b = boxed(b"moov", b"xyz");
        assert_eq!(whole_box(&b, b"moov").expect("moov").body, b"xyz");
        assert!(whole_box(&b, b"trak").is_err());
        let mut longer = b.clone();
        longer.push(0);
        assert!(whole_box(&longer, b"moov").is_err());
    }

    #[test]
    fn reader_never_runs_off_the_end() {
        let mut r = Reader::new(&[1, 2, 3], "test");
        assert_eq!(r.u16().expect("u16"), 0x0102);
        assert!(r.u16().is_err());
        assert!(r.take(usize::MAX).is_err());
        assert_eq!(r.u8().expect("u8"), 3);
        assert_eq!(show(*b"a\x01bc"), "a\\x01bc");
    }
}
