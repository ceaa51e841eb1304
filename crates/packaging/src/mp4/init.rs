//! The init segment: `ftyp` + `moov` with one `trak` per packaged track and `mvex`. Each `trak`
//! carries the original `stsd` box verbatim (avcC, hvcC, esds, pasp, colr... reach the player
//! byte-identical) and the original `tkhd` matrix and size (rotation, display size). Nothing else
//! of the upload's index is copied: no names, dates, `udta` or `meta`.

use std::borrow::Cow;

use super::Mp4Error;
use super::boxes::{Reader, children, whole_box};
use super::movie::Media;
use super::write::{close, open, open_full, u16, u32, u64};

/// One packaged track of the init segment.
pub(crate) struct InitTrack<'a> {
    pub track_id: u32,
    pub video: bool,
    pub timescale: u32,
    pub media: &'a Media,
    /// Sample entry dimensions, used when the original `tkhd` has no size.
    pub coded_size: (u32, u32),
}

const IDENTITY: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

pub(crate) fn init_segment(tracks: &[InitTrack<'_>]) -> Result<Vec<u8>, Mp4Error> {
    let mut out = Vec::new();
    let ftyp = open(&mut out, b"ftyp");
    out.extend_from_slice(b"isom");
    u32(&mut out, 0x200);
    for brand in [b"isom", b"iso6", b"mp41"] {
        out.extend_from_slice(brand);
    }
    close(&mut out, ftyp)?;

    let moov = open(&mut out, b"moov");
    let mvhd = open_full(&mut out, b"mvhd", 0, 0);
    u32(&mut out, 0); // creation time
    u32(&mut out, 0); // modification time
    u32(&mut out, 1000); // timescale
    u32(&mut out, 0); // duration: in the fragments
    u32(&mut out, 0x0001_0000); // rate 1.0
    u16(&mut out, 0x0100); // volume 1.0
    out.extend_from_slice(&[0; 10]);
    IDENTITY.iter().for_each(|&v| u32(&mut out, v));
    out.extend_from_slice(&[0; 24]); // pre_defined
    u32(&mut out, tracks.len() as u32 + 1); // next_track_ID
    close(&mut out, mvhd)?;
    for t in tracks {
        trak(&mut out, t)?;
    }
    let mvex = open(&mut out, b"mvex");
    for t in tracks {
        let trex = open_full(&mut out, b"trex", 0, 0);
        u32(&mut out, t.track_id);
        u32(&mut out, t.media.table.description_index.unwrap_or(1));
        u32(&mut out, 0); // default duration
        u32(&mut out, 0); // default size
        u32(&mut out, 0); // default flags
        close(&mut out, trex)?;
    }
    close(&mut out, mvex)?;
    close(&mut out, moov)?;
    Ok(out)
}

fn trak(out: &mut Vec<u8>, t: &InitTrack<'_>) -> Result<(), Mp4Error> {
    let trak = open(out, b"trak");
    let tkhd = open_full(out, b"tkhd", 0, 0x3); // enabled, in movie
    u32(out, 0); // creation time
    u32(out, 0); // modification time
    u32(out, t.track_id);
    u32(out, 0); // reserved
    u32(out, 0); // duration
    out.extend_from_slice(&[0; 8]);
    u16(out, 0); // layer
    u16(out, 0); // alternate group
    u16(out, if t.video { 0 } else { 0x0100 }); // volume
    u16(out, 0);
    if t.video {
        out.extend_from_slice(&t.media.matrix);
        if t.media.tkhd_size == [0; 8] {
            u32(out, t.coded_size.0.min(0xffff) << 16);
            u32(out, t.coded_size.1.min(0xffff) << 16);
        } else {
            out.extend_from_slice(&t.media.tkhd_size);
        }
    } else {
        IDENTITY.iter().for_each(|&v| u32(out, v));
        u64(out, 0);
    }
    close(out, tkhd)?;

    let mdia = open(out, b"mdia");
    let mdhd = open_full(out, b"mdhd", 0, 0);
    u32(out, 0);
    u32(out, 0);
    u32(out, t.timescale);
    u32(out, 0);
    u16(out, 0x55c4); // language "und"
    u16(out, 0);
    close(out, mdhd)?;
    let hdlr = open_full(out, b"hdlr", 0, 0);
    u32(out, 0);
    out.extend_from_slice(if t.video { b"vide" } else { b"soun" });
    out.extend_from_slice(&[0; 12]);
    out.extend_from_slice(if t.video { b"VideoHandler\0".as_slice() } else { b"SoundHandler\0".as_slice() });
    close(out, hdlr)?;

    let minf = open(out, b"minf");
    if t.video {
        let vmhd = open_full(out, b"vmhd", 0, 1);
        out.extend_from_slice(&[0; 8]);
        close(out, vmhd)?;
    } else {
        let smhd = open_full(out, b"smhd", 0, 0);
        u32(out, 0);
        close(out, smhd)?;
    }
    let dinf = open(out, b"dinf");
    let dref = open_full(out, b"dref", 0, 0);
    u32(out, 1);
    let url = open_full(out, b"url ", 0, 1); // self-contained
    close(out, url)?;
    close(out, dref)?;
    close(out, dinf)?;

    let stbl = open(out, b"stbl");
    if t.video {
        out.extend_from_slice(&t.media.stsd);
    } else {
        out.extend_from_slice(&iso_audio_stsd(&t.media.stsd)?);
    }
    for (kind, fields) in [(b"stts", 1), (b"stsc", 1), (b"stsz", 2), (b"stco", 1)] {
        let b = open_full(out, kind, 0, 0);
        out.extend_from_slice(&[0; 8][..fields * 4]);
        close(out, b)?;
    }
    close(out, stbl)?;
    close(out, minf)?;
    close(out, mdia)?;
    close(out, trak)
}

/// Configuration boxes QuickTime nests inside `wave`, lifted out when an entry is rewritten.
const CONFIG_BOXES: [&[u8; 4]; 6] = [b"esds", b"alac", b"dOps", b"dfLa", b"dac3", b"dec3"];

/// QuickTime (and ffmpeg's MOV muxer) writes audio entries with a longer sound description
/// (versions 1 and 2) and nests `esds` in a `wave` box; Chromium's MP4 parser reads only the ISO
/// form and refuses the whole init segment. Such entries are rewritten to the ISO form, their
/// configuration boxes copied byte for byte; ISO entries (version 0) stay verbatim.
pub(crate) fn iso_audio_stsd(stsd: &[u8]) -> Result<Cow<'_, [u8]>, Mp4Error> {
    let body = whole_box(stsd, b"stsd")?.body;
    let (head, entries) = body.split_at_checked(8).ok_or_else(|| Mp4Error::malformed("stsd is truncated"))?;
    let version = |e: &[u8]| e.get(16..18).map(|v| u16::from_be_bytes([v[0], v[1]]));
    let quicktime = |e: &[u8]| matches!(version(e), Some(1 | 2));
    if !children(entries).any(|e| e.is_ok_and(|e| quicktime(e.whole))) {
        return Ok(Cow::Borrowed(stsd));
    }
    let mut out = Vec::with_capacity(stsd.len());
    let b = open(&mut out, b"stsd");
    out.extend_from_slice(head);
    for entry in children(entries) {
        let entry = entry?;
        if !quicktime(entry.whole) {
            out.extend_from_slice(entry.whole);
            continue;
        }
        let mut r = Reader::new(entry.body, "audio sample entry");
        let reserved_and_index = r.take(8)?;
        let version = r.u16()?;
        r.skip(6)?;
        let mut channels = r.u16()?;
        let bits = r.u16()?;
        r.skip(4)?;
        let mut rate = r.u32()?;
        if version == 2 {
            r.skip(4)?;
            let hz = f64::from_bits(r.u64()?);
            rate = (hz.clamp(0.0, 65535.0) as u32) << 16;
            channels = r.u32()?.min(u32::from(u16::MAX)) as u16;
            r.skip(20)?;
        } else {
            r.skip(16)?;
        }
        let e = open(&mut out, &entry.kind);
        out.extend_from_slice(reserved_and_index);
        out.extend_from_slice(&[0; 8]); // version 0, revision, vendor
        u16(&mut out, channels);
        u16(&mut out, bits);
        u32(&mut out, 0); // compression id, packet size
        u32(&mut out, rate);
        for child in children(r.rest()) {
            let child = child?;
            if &child.kind != b"wave" {
                out.extend_from_slice(child.whole);
                continue;
            }
            for inner in children(child.body) {
                let inner = inner?;
                if CONFIG_BOXES.contains(&&inner.kind) {
                    out.extend_from_slice(inner.whole);
                }
            }
        }
        close(&mut out, e)?;
    }
    close(&mut out, b)?;
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `stsd` ffmpeg's MOV muxer writes for 5.1 AAC at 48 kHz: sound description version 1,
    /// `esds` inside `wave`, then a `chan` box.
    fn ffmpeg_mov_stsd() -> Vec<u8> {
        let hex = concat!(
            "000000ba7374736400000000000000010000",
            "00aa6d7034610000000000000001000100000000000000060010fffe0000bb800000",
            "00000400000000000000000000000002",
            "0000005e776176650000000c66726d616d7034610000000c6d7034610000000000000036657364730000000003808080250002",
            "000480808017401500000000055bce00055bce058080800511b056e50006808080010200000008000000000000001863686",
            "16e00000000000100000000003f00000000"
        );
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect()
    }

    #[test]
    fn quicktime_sound_descriptions_become_iso_with_esds_verbatim() {
        let stsd = ffmpeg_mov_stsd();
        let iso = iso_audio_stsd(&stsd).expect("rewrite");
        let esds_at = stsd.windows(4).position(|w| w == b"esds").expect("esds") - 4;
        let esds = &stsd[esds_at..esds_at + 0x36];
        assert!(iso.windows(esds.len()).any(|w| w == esds), "esds byte-identical");
        assert!(!iso.windows(4).any(|w| w == b"wave"));
        let entry = &iso[16..];
        assert_eq!(&entry[4..8], b"mp4a");
        assert_eq!(&entry[16..18], &[0, 0], "version 0");
        assert_eq!(&entry[24..26], &[0, 6], "channels kept as written");
        assert_eq!(&entry[32..34], &[0xbb, 0x80], "48 kHz");
        assert_eq!(u32::from_be_bytes([iso[0], iso[1], iso[2], iso[3]]) as usize, iso.len());
        // Parses as a normal ISO entry, to the same codec.
        let body = &iso[8..];
        let parsed = super::super::codec::parse_sample_entry(body, 1, super::super::TrackKind::Audio).expect("entry");
        let before =
            super::super::codec::parse_sample_entry(&stsd[8..], 1, super::super::TrackKind::Audio).expect("entry");
        assert_eq!(parsed.codec, before.codec);
        // ISO entries are left alone.
        assert!(matches!(iso_audio_stsd(&iso), Ok(Cow::Borrowed(_))));
    }
}
