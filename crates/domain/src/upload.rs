//! Rules for accepting an upload before any media tool sees it: file-name extension and container sniffing.

/// A container family recognised from a file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// ISO base media (MP4, MOV, M4V, 3GP): an `ftyp` box, or a QuickTime `moov`/`mdat`/`wide`/`free` atom.
    IsoBmff { quicktime: bool },
    /// EBML: Matroska or WebM.
    Matroska { webm: bool },
}

impl Container {
    /// The extension Flick gives a file of this container when the uploader gave no name.
    pub fn default_extension(self) -> &'static str {
        match self {
            Container::IsoBmff { quicktime: true } => "mov",
            Container::IsoBmff { quicktime: false } => "mp4",
            Container::Matroska { webm: true } => "webm",
            Container::Matroska { webm: false } => "mkv",
        }
    }
}

/// How many leading bytes [`sniff`] wants (it decides with fewer when the file is shorter).
pub const SNIFF_LEN: usize = 64;

/// Recognises a video container from the first bytes of a file; `None` if it is not one Flick accepts.
pub fn sniff(head: &[u8]) -> Option<Container> {
    if head.len() >= 12 {
        let kind = &head[4..8];
        if kind == b"ftyp" {
            let quicktime = &head[8..12] == b"qt  ";
            return Some(Container::IsoBmff { quicktime });
        }
        // Old QuickTime files may start with other atoms; accept only the common, harmless ones.
        if matches!(kind, b"moov" | b"mdat" | b"wide" | b"free" | b"skip") {
            let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            if size == 1 || size >= 8 {
                return Some(Container::IsoBmff { quicktime: true });
            }
        }
    }
    if head.len() >= 4 && head[..4] == [0x1A, 0x45, 0xDF, 0xA3] {
        // The DocType element (0x4282) names "webm" or "matroska" within the EBML header.
        let window = &head[..head.len().min(64)];
        let webm = window.windows(4).any(|w| w == b"webm");
        return Some(Container::Matroska { webm });
    }
    None
}

/// The lowercase extension of a file name (the part after the last dot), if it has one.
pub fn extension_of(file_name: &str) -> Option<String> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let (stem, ext) = base.rsplit_once('.')?;
    if stem.is_empty() || ext.is_empty() || ext.len() > 10 {
        return None;
    }
    Some(ext.to_ascii_lowercase())
}

/// A display-safe version of an uploaded file name: the last path part, control characters dropped,
/// at most 200 characters. Never used to build a path.
pub fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    cleaned.trim().to_owned()
}

/// The file name a `Content-Disposition` header names (`filename="clip.mp4"` or `filename=clip.mp4`; the
/// RFC 5987 `filename*` form is read when it is UTF-8), cleaned like any declared name; `None` when it names none.
pub fn content_disposition_file_name(header: &str) -> Option<String> {
    let mut plain = None;
    for param in header.split(';').skip(1) {
        let Some((key, value)) = param.split_once('=') else { continue };
        let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
        if key == "filename*" {
            let encoded = value.strip_prefix("UTF-8''").or_else(|| value.strip_prefix("utf-8''"))?;
            let decoded = percent_decode(encoded)?;
            return Some(clean_file_name(&decoded)).filter(|n| !n.is_empty());
        }
        if key == "filename" {
            let unquoted = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
            plain = Some(clean_file_name(&unquoted.replace("\\\"", "\""))).filter(|n| !n.is_empty());
        }
    }
    plain
}

/// `%XX` escapes decoded; `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The name of a video uploaded without one (`curl -T`, a tus upload without metadata): when it was uploaded.
pub fn dated_name(now: chrono::DateTime<chrono::Utc>) -> String {
    now.format("Video of %-d %b %Y, %H:%M UTC").to_string()
}

/// The title shown for a video: its file name without the extension.
pub fn title_of(file_name: &str) -> String {
    match file_name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
        _ => file_name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_containers() {
        let mut mp4 = vec![0, 0, 0, 0x20];
        mp4.extend_from_slice(b"ftypisom\0\0\x02\0");
        assert_eq!(sniff(&mp4), Some(Container::IsoBmff { quicktime: false }));
        let mut mov = vec![0, 0, 0, 0x14];
        mov.extend_from_slice(b"ftypqt  \0\0\0\0");
        assert_eq!(sniff(&mov), Some(Container::IsoBmff { quicktime: true }));
        let mut webm = vec![0x1A, 0x45, 0xDF, 0xA3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84];
        webm.extend_from_slice(b"webm");
        assert_eq!(sniff(&webm), Some(Container::Matroska { webm: true }));
        assert_eq!(sniff(b"hello, this is plain text and not a video"), None);
        assert_eq!(sniff(b"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\nfile:///etc/passwd\n"), None);
        assert_eq!(sniff(&[]), None);
        assert_eq!(sniff(&[0, 0, 0, 0, b'm', b'o', b'o', b'v', 0, 0, 0, 0]), None);
    }

    #[test]
    fn extensions_and_names() {
        assert_eq!(extension_of("Clip.MP4").as_deref(), Some("mp4"));
        assert_eq!(extension_of("a.b.mkv").as_deref(), Some("mkv"));
        assert_eq!(extension_of(".mp4"), None);
        assert_eq!(extension_of("noext"), None);
        assert_eq!(extension_of("C:\\x\\y.webm").as_deref(), Some("webm"));
        assert_eq!(clean_file_name("../../etc/pass\u{0}wd.mp4"), "passwd.mp4");
        assert_eq!(title_of("holiday.final.mov"), "holiday.final");
    }

    #[test]
    fn content_disposition_names_a_file_or_nothing() {
        let name = content_disposition_file_name;
        assert_eq!(name("attachment; filename=\"holiday clip.mp4\"").as_deref(), Some("holiday clip.mp4"));
        assert_eq!(name("attachment; filename=clip.mov").as_deref(), Some("clip.mov"));
        assert_eq!(name("attachment; filename*=UTF-8''%C3%A9t%C3%A9.mkv").as_deref(), Some("été.mkv"));
        assert_eq!(name("attachment; filename=\"../../etc/passwd.mp4\"").as_deref(), Some("passwd.mp4"));
        assert_eq!(name("attachment; filename*=UTF-8''%ZZ.mp4"), None, "a malformed escape");
        assert_eq!(name("attachment; filename=\"\""), None);
        assert_eq!(name("inline"), None);
        assert_eq!(name(""), None);
    }

    #[test]
    fn unnamed_uploads_are_named_by_their_date() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-02T03:40:09Z").unwrap().with_timezone(&chrono::Utc);
        assert_eq!(dated_name(at), "Video of 2 Dec 2026, 03:40 UTC");
    }
}
