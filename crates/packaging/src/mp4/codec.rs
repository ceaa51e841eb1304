//! The sample entry (`stsd`): which codec a track uses, with the facts that decide how Flick
//! serves it, and the RFC 6381 string players are asked about. The entry itself reaches players
//! byte-identical (see `write.rs`); this only reads it.

use super::aac::{parse_audio_specific_config, parse_esds};
use super::avc::parse_avcc;
use super::boxes::{BoxRef, Reader, children, find};
use super::{Mp4Error, TrackKind};

/// A track's codec, with what its configuration box says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Codec {
    /// From `avcC` (profile, constraints, level) and its first SPS (the rest; 4:2:0, 8 bits,
    /// progressive when the SPS cannot be read).
    H264 {
        profile_idc: u8,
        constraint_flags: u8,
        level_idc: u8,
        chroma_format_idc: u8,
        bit_depth: u8,
        frame_mbs_only: bool,
    },
    /// From `hvcC`.
    Hevc {
        profile_space: u8,
        tier_high: bool,
        profile_idc: u8,
        compatibility_flags: u32,
        constraint_flags: [u8; 6],
        level_idc: u8,
        chroma_format_idc: u8,
        bit_depth: u8,
    },
    /// From `vpcC`.
    Vp9 {
        profile: u8,
        level: u8,
        bit_depth: u8,
    },
    /// From `av1C`.
    Av1 {
        profile: u8,
        level: u8,
        tier_high: bool,
        bit_depth: u8,
    },
    /// MPEG-4 Part 2; the profile-and-level byte of its VOS header when present.
    Mpeg4Visual {
        profile_level: Option<u8>,
    },
    /// From the AudioSpecificConfig: `object_type` 2 LC, 5 HE-AAC, 29 HE-AAC v2...
    Aac {
        object_type: u8,
        sample_rate: u32,
        channels: u32,
    },
    Mp3,
    Opus,
    Ac3,
    Eac3,
    Flac,
    Alac,
    /// Uncompressed audio.
    Pcm {
        bits: u16,
        float: bool,
    },
    /// Anything else, by its sample entry type.
    Other {
        fourcc: [u8; 4],
    },
}

/// What a track's sample entry says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SampleEntry {
    pub fourcc: [u8; 4],
    pub codec: Codec,
    pub width: u32,
    pub height: u32,
    pub channels: u32,
    pub sample_rate: u32,
    pub pixel_aspect: Option<(u32, u32)>,
}

/// Reads sample entry `index` (1-based) of an `stsd` body.
pub(crate) fn parse_sample_entry(stsd_body: &[u8], index: u32, kind: TrackKind) -> Result<SampleEntry, Mp4Error> {
    let mut r = Reader::new(stsd_body, "stsd");
    r.version_flags()?;
    let count = r.u32()?;
    if index == 0 || index > count {
        return Err(Mp4Error::malformed(format!("sample description {index} of {count} does not exist")));
    }
    let entry = children(r.rest())
        .nth(index as usize - 1)
        .ok_or_else(|| Mp4Error::malformed("stsd has fewer entries than it declares"))??;
    Ok(match kind {
        TrackKind::Video => visual(entry)?,
        TrackKind::Audio => audio(entry)?,
        TrackKind::Other => plain(entry.kind),
    })
}

fn plain(fourcc: [u8; 4]) -> SampleEntry {
    SampleEntry {
        fourcc,
        codec: Codec::Other { fourcc },
        width: 0,
        height: 0,
        channels: 0,
        sample_rate: 0,
        pixel_aspect: None,
    }
}

/// VisualSampleEntry (ISO/IEC 14496-12 12.1.3): 78 bytes of fields, then child boxes.
fn visual(entry: BoxRef<'_>) -> Result<SampleEntry, Mp4Error> {
    let mut r = Reader::new(entry.body, "visual sample entry");
    r.skip(24)?;
    let (width, height) = (u32::from(r.u16()?), u32::from(r.u16()?));
    r.skip(50)?;
    let boxes = r.rest();
    let config = |kind: &[u8; 4]| find(boxes, kind).ok().flatten().map(|b| b.body);
    let other = Codec::Other { fourcc: entry.kind };
    let codec = match &entry.kind {
        b"avc1" | b"avc3" => config(b"avcC").and_then(parse_avcc).map_or(other, |c| Codec::H264 {
            profile_idc: c.profile_idc,
            constraint_flags: c.constraint_flags,
            level_idc: c.level_idc,
            chroma_format_idc: c.chroma_format_idc,
            bit_depth: c.bit_depth,
            frame_mbs_only: c.frame_mbs_only,
        }),
        b"hvc1" | b"hev1" => config(b"hvcC").and_then(parse_hvcc).unwrap_or(other),
        b"vp09" => config(b"vpcC").and_then(parse_vpcc).unwrap_or(other),
        b"av01" => config(b"av1C").and_then(parse_av1c).unwrap_or(other),
        b"mp4v" => {
            let esds = config(b"esds").and_then(parse_esds);
            let vos = esds.and_then(|e| e.specific).and_then(|s| s.strip_prefix(&[0, 0, 1, 0xb0][..]));
            Codec::Mpeg4Visual { profile_level: vos.and_then(|v| v.first().copied()) }
        }
        _ => other,
    };
    let pixel_aspect = config(b"pasp").and_then(|p| {
        let mut r = Reader::new(p, "pasp");
        let (h, v) = (r.u32().ok()?, r.u32().ok()?);
        (h != v && h > 0 && v > 0).then_some((h, v))
    });
    Ok(SampleEntry { fourcc: entry.kind, codec, width, height, channels: 0, sample_rate: 0, pixel_aspect })
}

/// AudioSampleEntry, in its ISO form and QuickTime's sound description versions 1 and 2.
fn audio(entry: BoxRef<'_>) -> Result<SampleEntry, Mp4Error> {
    let mut r = Reader::new(entry.body, "audio sample entry");
    r.skip(8)?;
    let version = r.u16()?;
    r.skip(6)?;
    let mut channels = u32::from(r.u16()?);
    let mut bits = r.u16()?;
    r.skip(4)?;
    let mut sample_rate = r.u32()? >> 16;
    let mut lpcm_flags = 0;
    match version {
        1 => r.skip(16)?,
        2 => {
            r.skip(4)?;
            sample_rate = f64::from_bits(r.u64()?).clamp(0.0, f64::from(u32::MAX)) as u32;
            channels = r.u32()?;
            r.skip(4)?;
            bits = r.u32()?.min(u32::from(u16::MAX)) as u16;
            lpcm_flags = r.u32()?;
            r.skip(8)?;
        }
        _ => {}
    }
    let boxes = r.rest();
    // QuickTime puts the codec configuration of version 1 entries inside a 'wave' box.
    let config = |kind: &[u8; 4]| {
        let direct = find(boxes, kind).ok().flatten();
        let wave = || find(boxes, b"wave").ok().flatten().and_then(|w| find(w.body, kind).ok().flatten());
        direct.or_else(wave).map(|b| b.body)
    };
    let pcm = |bits: u16, float: bool| Codec::Pcm { bits, float };
    let codec = match &entry.kind {
        b"mp4a" => {
            let esds = config(b"esds").and_then(parse_esds);
            match esds.as_ref().map(|e| e.object_type_indication) {
                Some(0x40 | 0x66..=0x68) => {
                    let asc = esds.and_then(|e| e.specific).and_then(|s| parse_audio_specific_config(s).ok());
                    match asc {
                        Some(asc) => {
                            sample_rate = asc.sample_rate;
                            channels = asc.channels.unwrap_or(channels);
                            Codec::Aac { object_type: asc.object_type, sample_rate, channels }
                        }
                        None => Codec::Other { fourcc: entry.kind },
                    }
                }
                Some(0x69 | 0x6b) => Codec::Mp3,
                Some(0xa5) => Codec::Ac3,
                Some(0xa6) => Codec::Eac3,
                _ => Codec::Other { fourcc: entry.kind },
            }
        }
        b".mp3" | b"mp3 " | b"ms\0U" => Codec::Mp3,
        b"Opus" => {
            if let Some([_, out_channels, ..]) = config(b"dOps") {
                channels = u32::from(*out_channels);
            }
            sample_rate = 48000;
            Codec::Opus
        }
        b"ac-3" => Codec::Ac3,
        b"ec-3" => Codec::Eac3,
        b"fLaC" => Codec::Flac,
        b"alac" => Codec::Alac,
        b"lpcm" => pcm(bits, lpcm_flags & 1 != 0),
        b"sowt" | b"twos" => pcm(16, false),
        b"in24" => pcm(24, false),
        b"in32" => pcm(32, false),
        b"fl32" => pcm(32, true),
        b"fl64" => pcm(64, true),
        b"raw " => pcm(8, false),
        b"ipcm" | b"fpcm" => {
            let size = config(b"pcmC").and_then(|c| c.get(5).copied()).map_or(bits, u16::from);
            pcm(size, &entry.kind == b"fpcm")
        }
        _ => Codec::Other { fourcc: entry.kind },
    };
    Ok(SampleEntry { fourcc: entry.kind, codec, width: 0, height: 0, channels, sample_rate, pixel_aspect: None })
}

/// HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3.1).
fn parse_hvcc(b: &[u8]) -> Option<Codec> {
    let h: &[u8; 23] = b.first_chunk()?;
    Some(Codec::Hevc {
        profile_space: h[1] >> 6,
        tier_high: h[1] & 0x20 != 0,
        profile_idc: h[1] & 0x1f,
        compatibility_flags: u32::from_be_bytes([h[2], h[3], h[4], h[5]]),
        constraint_flags: [h[6], h[7], h[8], h[9], h[10], h[11]],
        level_idc: h[12],
        chroma_format_idc: h[16] & 0x03,
        bit_depth: (h[17] & 0x07) + 8,
    })
}

/// VPCodecConfigurationBox (a full box): profile, level, bit depth.
fn parse_vpcc(b: &[u8]) -> Option<Codec> {
    let &[_, _, _, _, profile, level, depth_etc, ..] = b else { return None };
    Some(Codec::Vp9 { profile, level, bit_depth: depth_etc >> 4 })
}

/// AV1CodecConfigurationRecord: marker/version, then profile, level, tier and bit depth.
fn parse_av1c(b: &[u8]) -> Option<Codec> {
    let &[marker, profile_level, flags, ..] = b else { return None };
    if marker != 0x81 {
        return None;
    }
    let bit_depth = match (flags & 0x40 != 0, flags & 0x20 != 0) {
        (false, _) => 8,
        (true, false) => 10,
        (true, true) => 12,
    };
    Some(Codec::Av1 {
        profile: profile_level >> 5,
        level: profile_level & 0x1f,
        tier_high: flags & 0x80 != 0,
        bit_depth,
    })
}

/// The RFC 6381 `codecs` value of a sample entry, when we know how to write it.
pub(crate) fn codecs_string(fourcc: [u8; 4], codec: &Codec) -> Option<String> {
    let tag = std::str::from_utf8(&fourcc).ok()?;
    Some(match codec {
        Codec::H264 { profile_idc, constraint_flags, level_idc, .. } => {
            format!("{tag}.{profile_idc:02x}{constraint_flags:02x}{level_idc:02x}")
        }
        Codec::Hevc {
            profile_space, tier_high, profile_idc, compatibility_flags, constraint_flags, level_idc, ..
        } => {
            // ISO/IEC 14496-15 E.3: space letter + profile, compatibility flags bit-reversed in hex,
            // tier + level, then the constraint bytes without trailing zeros.
            let space = ["", "A", "B", "C"].get(usize::from(*profile_space)).copied().unwrap_or("");
            let tier = if *tier_high { 'H' } else { 'L' };
            let used = constraint_flags.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            let constraints: String = constraint_flags[..used].iter().map(|b| format!(".{b:X}")).collect();
            let compat = compatibility_flags.reverse_bits();
            format!("{tag}.{space}{profile_idc}.{compat:X}.{tier}{level_idc}{constraints}")
        }
        Codec::Vp9 { profile, level, bit_depth } => format!("vp09.{profile:02}.{level:02}.{bit_depth:02}"),
        Codec::Av1 { profile, level, tier_high, bit_depth } => {
            format!("av01.{profile}.{level:02}{}.{bit_depth:02}", if *tier_high { 'H' } else { 'M' })
        }
        Codec::Mpeg4Visual { profile_level: Some(pl) } => format!("mp4v.20.{pl}"),
        Codec::Mpeg4Visual { profile_level: None } => "mp4v.20".into(),
        Codec::Aac { object_type, .. } => format!("mp4a.40.{object_type}"),
        Codec::Mp3 => "mp4a.6B".into(),
        Codec::Opus => "opus".into(),
        Codec::Ac3 => "ac-3".into(),
        Codec::Eac3 => "ec-3".into(),
        Codec::Flac => "fLaC".into(),
        Codec::Alac => "alac".into(),
        Codec::Pcm { .. } | Codec::Other { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hevc_codecs_string_from_a_real_hvcc() {
        // hevc_rot90.mov (libx265 Main@L2.1): the first 23 bytes of its hvcC.
        let hvcc =
            [0x01, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 0x3f, 0xf0, 0, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f, 0x04];
        let codec = parse_hvcc(&hvcc).expect("hvcC");
        assert!(matches!(codec, Codec::Hevc { profile_idc: 1, level_idc: 63, bit_depth: 8, chroma_format_idc: 1, .. }));
        assert_eq!(codecs_string(*b"hvc1", &codec).as_deref(), Some("hvc1.1.6.L63.90"));
        let main10 = Codec::Hevc {
            profile_space: 0,
            tier_high: true,
            profile_idc: 2,
            compatibility_flags: 0x2000_0000,
            constraint_flags: [0xb0, 0, 0, 0, 0, 0],
            level_idc: 120,
            chroma_format_idc: 1,
            bit_depth: 10,
        };
        assert_eq!(codecs_string(*b"hev1", &main10).as_deref(), Some("hev1.2.4.H120.B0"));
        assert_eq!(parse_hvcc(&hvcc[..10]), None);
    }

    #[test]
    fn other_codecs_strings() {
        let aac = Codec::Aac { object_type: 5, sample_rate: 48000, channels: 2 };
        assert_eq!(codecs_string(*b"mp4a", &aac).as_deref(), Some("mp4a.40.5"));
        let vp9 = parse_vpcc(&[1, 0, 0, 0, 0, 31, 0x82, 0]).expect("vpcC");
        assert_eq!(codecs_string(*b"vp09", &vp9).as_deref(), Some("vp09.00.31.08"));
        let av1 = parse_av1c(&[0x81, 0x08, 0x4c, 0]).expect("av1C");
        assert_eq!(codecs_string(*b"av01", &av1).as_deref(), Some("av01.0.08M.10"));
        assert_eq!(parse_av1c(&[0x01, 0x08, 0x4c]), None, "bad marker");
        assert_eq!(codecs_string(*b"ipcm", &Codec::Pcm { bits: 16, float: false }), None);
        assert_eq!(codecs_string(*b"\xff\xfe\0\0", &Codec::Mp3), None);
    }

    fn entry(kind: &[u8; 4], fields: &[u8], children: &[&[u8]]) -> Vec<u8> {
        let body: Vec<u8> = fields.iter().copied().chain(children.iter().flat_map(|c| c.iter().copied())).collect();
        let mut stsd = vec![0, 0, 0, 0, 0, 0, 0, 1];
        stsd.extend(((body.len() + 8) as u32).to_be_bytes());
        stsd.extend(kind);
        stsd.extend(body);
        stsd
    }

    #[test]
    fn quicktime_v1_mp3_and_wave_wrapped_aac() {
        // mpeg4_mp3.mov's '.mp3' entry: sound description version 1, 2 channels, 48 kHz.
        let mut fields = vec![0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 16, 0xff, 0xfe, 0, 0];
        fields.extend([0xbb, 0x80, 0, 0]);
        fields.extend([0; 16]);
        let e = parse_sample_entry(&entry(b".mp3", &fields, &[]), 1, TrackKind::Audio).expect("entry");
        assert_eq!((e.codec, e.channels, e.sample_rate), (Codec::Mp3, 2, 48000));

        let esds = [
            0, 0, 0, 0x24, b'e', b's', b'd', b's', 0, 0, 0, 0, 0x03, 22, 0, 1, 0, 0x04, 17, 0x40, 0x15, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0x05, 2, 0x12, 0x10,
        ];
        let mut wave = vec![0, 0, 0, 8 + esds.len() as u8];
        wave.extend(b"wave");
        wave.extend(esds);
        let e = parse_sample_entry(&entry(b"mp4a", &fields, &[&wave]), 1, TrackKind::Audio).expect("entry");
        assert_eq!(e.codec, Codec::Aac { object_type: 2, sample_rate: 44100, channels: 2 });
        assert!(parse_sample_entry(&entry(b"mp4a", &fields, &[]), 2, TrackKind::Audio).is_err(), "no entry 2");
        assert!(parse_sample_entry(&entry(b"mp4a", &fields[..10], &[]), 1, TrackKind::Audio).is_err());
    }
}
