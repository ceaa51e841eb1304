//! Captions: an owner's SRT or WebVTT file read as hostile input and written back as plain WebVTT — cue times and
//! text only. Tags (`<b>`, `<c.x>`, `<v Name>`, anything HTML-like), cue settings, styles, regions and notes are
//! dropped; `&`, `<` and `>` in the text are escaped. What a player shows is text, never markup.
//!
//! And their place in HLS: a subtitles media playlist of one segment, and the `X-TIMESTAMP-MAP` that ties cue times
//! to the video's first presentation time (RFC 8216, 3.5).

use std::fmt::Write as _;

/// Cues a caption file may hold.
pub const MAX_CUES: usize = 20_000;
/// Characters of text a cue keeps (the rest is cut).
const MAX_CUE_TEXT: usize = 1_000;

/// Why a caption file is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CaptionFileError {
    #[error("the file has no cue (a line like \"00:00:01,000 --> 00:00:04,000\" followed by its text)")]
    NoCues,
    #[error("the file has more than {MAX_CUES} cues")]
    TooManyCues,
}

/// One cue: from `start` to `end` (seconds), its text lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub start: f64,
    pub end: f64,
    pub text: String,
}

/// Reads an SRT or WebVTT file (UTF-8, or Latin-1 when it is not UTF-8; a BOM and any line ending) into its cues,
/// in file order. Blocks without a valid timing line are skipped.
pub fn parse_captions(bytes: &[u8]) -> Result<Vec<Cue>, CaptionFileError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_owned(),
        // Older SRT files are often Latin-1 (or Windows-1252, which agrees on the letters that matter).
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    };
    let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n").replace('\r', "\n");
    let mut cues = Vec::new();
    for block in text.split("\n\n") {
        let mut lines = block.lines().skip_while(|l| l.trim().is_empty());
        // An identifier (an SRT number, a WebVTT cue id) may come before the timing line.
        let Some(timing) = lines.by_ref().take(2).find(|l| l.contains("-->")) else { continue };
        let Some((start, end)) = parse_timing(timing) else { continue };
        let body: Vec<String> = lines.map(clean_line).filter(|l| !l.is_empty()).collect();
        if body.is_empty() || end <= start {
            continue;
        }
        if cues.len() == MAX_CUES {
            return Err(CaptionFileError::TooManyCues);
        }
        let mut text = body.join("\n");
        if let Some((cut, _)) = text.char_indices().nth(MAX_CUE_TEXT) {
            text.truncate(cut);
        }
        cues.push(Cue { start, end, text });
    }
    if cues.is_empty() {
        return Err(CaptionFileError::NoCues);
    }
    Ok(cues)
}

/// `start --> end [settings]`, with `,` or `.` before the milliseconds and the hours optional.
fn parse_timing(line: &str) -> Option<(f64, f64)> {
    let (a, b) = line.split_once("-->")?;
    let start = parse_time(a.trim())?;
    let end = parse_time(b.split_whitespace().next()?)?;
    Some((start, end))
}

fn parse_time(s: &str) -> Option<f64> {
    let s = s.replace(',', ".");
    let (clock, ms) = s.split_once('.')?;
    if ms.len() != 3 || !ms.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let parts: Vec<&str> = clock.split(':').collect();
    let numbers: Option<Vec<u64>> = parts
        .iter()
        .map(
            |p| if (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) { p.parse().ok() } else { None },
        )
        .collect();
    let (h, m, sec) = match numbers?.as_slice() {
        [m, s] => (0, *m, *s),
        [h, m, s] => (*h, *m, *s),
        _ => return None,
    };
    if m >= 60 || sec >= 60 {
        return None;
    }
    Some((h * 3600 + m * 60 + sec) as f64 + ms.parse::<f64>().ok()? / 1000.0)
}

/// A text line without tags and with entities decoded, then escaped for WebVTT: plain text, whatever it held.
fn clean_line(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut in_tag = false;
    for c in line.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            c if c.is_control() => {}
            c => plain.push(c),
        }
    }
    let decoded = plain
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&lrm;", "\u{200e}")
        .replace("&rlm;", "\u{200f}")
        .replace("&amp;", "&");
    // A line "-->" would read as a timing line.
    decoded.trim().replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The cues as a WebVTT file; with `timestamp_map`, an `X-TIMESTAMP-MAP` header mapping cue time 0 to that
/// presentation time in 90 kHz units (HLS players need it; a `<track>` element ignores it).
pub fn render_vtt(cues: &[Cue], timestamp_map: Option<u64>) -> String {
    let mut out = String::from("WEBVTT\n");
    if let Some(pts) = timestamp_map {
        let _ = writeln!(out, "X-TIMESTAMP-MAP=MPEGTS:{pts},LOCAL:00:00:00.000");
    }
    for cue in cues {
        let _ = write!(out, "\n{} --> {}\n{}\n", cue_time(cue.start), cue_time(cue.end), cue.text);
    }
    out
}

/// Adds (or replaces) the `X-TIMESTAMP-MAP` header of a WebVTT file this module rendered.
pub fn with_timestamp_map(vtt: &str, pts: u64) -> String {
    let body = vtt.strip_prefix("WEBVTT\n").unwrap_or(vtt);
    let body = match body.strip_prefix("X-TIMESTAMP-MAP=") {
        Some(rest) => rest.split_once('\n').map_or("", |(_, after)| after),
        None => body,
    };
    format!("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{pts},LOCAL:00:00:00.000\n{body}")
}

/// `hh:mm:ss.mmm`, as WebVTT writes a cue time.
pub fn cue_time(seconds: f64) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

/// A subtitles media playlist: the whole track as one segment `uri` of `duration` seconds.
pub fn subtitles_playlist(uri: &str, duration: f64) -> String {
    let duration = if duration.is_finite() && duration > 0.0 { duration } else { 1.0 };
    format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n\
         #EXTINF:{duration:.3},\n{uri}\n#EXT-X-ENDLIST\n",
        duration.ceil() as u64
    )
}

/// A subtitle rendition for a master playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtitleTrack {
    pub lang: String,
    /// Shown by the player; checked free of quotes and control characters.
    pub name: String,
    /// Its media playlist, relative to the master.
    pub uri: String,
}

/// The group every variant names for its subtitles.
const GROUP: &str = "subs";

/// A master playlist with `tracks` as `EXT-X-MEDIA:TYPE=SUBTITLES` renditions, each variant naming their group.
pub fn with_subtitles(master: &str, tracks: &[SubtitleTrack]) -> String {
    if tracks.is_empty() {
        return master.to_owned();
    }
    let quoted = |s: &str| s.chars().filter(|c| *c != '"' && !c.is_control()).collect::<String>();
    let mut media = String::new();
    for t in tracks {
        let _ = writeln!(
            media,
            "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"{GROUP}\",NAME=\"{}\",LANGUAGE=\"{}\",AUTOSELECT=YES,DEFAULT=NO,\
             URI=\"{}\"",
            quoted(&t.name),
            quoted(&t.lang),
            quoted(&t.uri)
        );
    }
    let mut out = String::with_capacity(master.len() + media.len() + 64);
    let mut placed = false;
    for line in master.lines() {
        if !placed && line.starts_with("#EXT-X-STREAM-INF:") {
            out.push_str(&media);
            placed = true;
        }
        out.push_str(line);
        if line.starts_with("#EXT-X-STREAM-INF:") {
            let _ = write!(out, ",SUBTITLES=\"{GROUP}\"");
        }
        out.push('\n');
    }
    out
}

/// The presentation time (90 kHz) of the first PES packet carrying a PTS in an MPEG-TS segment, if any in `ts`.
pub fn first_pts(ts: &[u8]) -> Option<u64> {
    for packet in ts.chunks_exact(188) {
        if packet[0] != 0x47 || packet[1] & 0x40 == 0 {
            continue; // not synced, or not the start of a payload unit
        }
        let adaptation = (packet[3] >> 4) & 0x3;
        let mut at = 4;
        if adaptation & 0x2 != 0 {
            at += 1 + usize::from(packet[4]);
        }
        if adaptation & 0x1 == 0 {
            continue;
        }
        let pes = packet.get(at..)?;
        if pes.len() < 14 || pes[..3] != [0, 0, 1] || pes[7] & 0x80 == 0 {
            continue;
        }
        let p = &pes[9..14];
        let pts = (u64::from(p[0] >> 1) & 0x7) << 30
            | u64::from(p[1]) << 22
            | u64::from(p[2] >> 1) << 15
            | u64::from(p[3]) << 7
            | u64::from(p[4] >> 1);
        return Some(pts);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srt_becomes_plain_webvtt() {
        let srt = "1\r\n00:00:01,000 --> 00:00:04,500\r\n<i>Hello</i> <b>world</b>\r\nsecond line\r\n\r\n\
                   2\r\n00:01:02,250 --> 00:01:03,000\r\nFish & chips <script>alert(1)</script>\r\n";
        let cues = parse_captions(srt.as_bytes()).unwrap();
        assert_eq!(cues.len(), 2);
        assert_eq!(cues[0], Cue { start: 1.0, end: 4.5, text: "Hello world\nsecond line".into() });
        assert_eq!(cues[1].text, "Fish &amp; chips alert(1)");
        assert_eq!(
            render_vtt(&cues, None),
            "WEBVTT\n\n00:00:01.000 --> 00:00:04.500\nHello world\nsecond line\n\n\
             00:01:02.250 --> 00:01:03.000\nFish &amp; chips alert(1)\n"
        );
    }

    #[test]
    fn webvtt_keeps_only_times_and_text() {
        let vtt = "\u{feff}WEBVTT - title\n\nSTYLE\n::cue { color: red }\n\nNOTE a note\n\nid-1\n\
                   00:05.000 --> 00:06.000 align:start line:0\n<v Roger>&lt;3 &amp; more</v>\n\n\
                   01:00:00.000 --> 01:00:01.000\n-->\n";
        let cues = parse_captions(vtt.as_bytes()).unwrap();
        assert_eq!(
            cues,
            vec![
                Cue { start: 5.0, end: 6.0, text: "&lt;3 &amp; more".into() },
                Cue { start: 3600.0, end: 3601.0, text: "--&gt;".into() },
            ]
        );
    }

    #[test]
    fn hostile_or_empty_files_are_refused_or_cleaned() {
        assert_eq!(parse_captions(b""), Err(CaptionFileError::NoCues));
        assert_eq!(parse_captions(b"WEBVTT\n\nnot a cue\n"), Err(CaptionFileError::NoCues));
        assert_eq!(parse_captions(b"1\n00:00:99,000 --> 00:01:00,000\nbad seconds\n"), Err(CaptionFileError::NoCues));
        assert_eq!(parse_captions(b"1\n00:00:05,000 --> 00:00:01,000\nbackwards\n"), Err(CaptionFileError::NoCues));
        // Latin-1.
        let cues = parse_captions(b"1\n00:00:01,000 --> 00:00:02,000\ncaf\xe9\n").unwrap();
        assert_eq!(cues[0].text, "café");
        let many: String = (0..=MAX_CUES).map(|i| format!("{i}\n00:00:01,000 --> 00:00:02,000\nx\n\n")).collect();
        assert_eq!(parse_captions(many.as_bytes()), Err(CaptionFileError::TooManyCues));
        let long = format!("00:00:01.000 --> 00:00:02.000\n{}\n", "é".repeat(5000));
        assert_eq!(parse_captions(long.as_bytes()).unwrap()[0].text.chars().count(), MAX_CUE_TEXT);
    }

    #[test]
    fn the_timestamp_map_is_added_or_replaced() {
        let cues = [Cue { start: 0.5, end: 1.0, text: "a".into() }];
        let plain = render_vtt(&cues, None);
        let mapped = with_timestamp_map(&plain, 126_000);
        assert_eq!(
            mapped,
            "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000\n\n00:00:00.500 --> 00:00:01.000\na\n"
        );
        assert_eq!(with_timestamp_map(&mapped, 0), render_vtt(&cues, Some(0)));
    }

    #[test]
    fn cue_times() {
        assert_eq!(cue_time(0.0), "00:00:00.000");
        assert_eq!(cue_time(3725.5), "01:02:05.500");
        assert_eq!(cue_time(-1.0), "00:00:00.000");
    }

    #[test]
    fn master_playlists_gain_a_subtitles_group() {
        let master = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=1\nindex.m3u8\n\
                      #EXT-X-STREAM-INF:BANDWIDTH=2\nr360/index.m3u8\n";
        let tracks =
            [SubtitleTrack { lang: "en".into(), name: "English \"CC\"".into(), uri: "captions/en.m3u8".into() }];
        let out = with_subtitles(master, &tracks);
        assert_eq!(
            out,
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"English CC\",\
             LANGUAGE=\"en\",AUTOSELECT=YES,DEFAULT=NO,URI=\"captions/en.m3u8\"\n\
             #EXT-X-STREAM-INF:BANDWIDTH=1,SUBTITLES=\"subs\"\nindex.m3u8\n\
             #EXT-X-STREAM-INF:BANDWIDTH=2,SUBTITLES=\"subs\"\nr360/index.m3u8\n"
        );
        assert_eq!(with_subtitles(master, &[]), master);
        let list = subtitles_playlist("en.vtt", 61.5);
        assert!(list.contains("#EXT-X-TARGETDURATION:62\n#EXT-X-MEDIA-SEQUENCE:0\n"), "{list}");
        assert!(list.ends_with("#EXTINF:61.500,\nen.vtt\n#EXT-X-ENDLIST\n"), "{list}");
    }

    #[test]
    fn the_first_pts_is_read_from_a_pes_header() {
        // A PES start with PTS = 126000 (1.4 s) in the first packet's payload.
        let mut packet = vec![0x47, 0x41, 0x00, 0x10, 0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5];
        let pts: u64 = 126_000;
        packet.extend([
            0x21 | ((pts >> 29) & 0x0e) as u8,
            (pts >> 22) as u8,
            (((pts >> 14) & 0xfe) as u8) | 1,
            (pts >> 7) as u8,
            (((pts << 1) & 0xfe) as u8) | 1,
        ]);
        packet.resize(188, 0xff);
        let mut ts = vec![0u8; 188]; // an unsynced packet first
        ts.extend(&packet);
        assert_eq!(first_pts(&ts), Some(126_000));
        assert_eq!(first_pts(&[0x47; 100]), None);
    }
}
