//! MPEG-4 audio: the `esds` descriptors (ISO/IEC 14496-1 7.2.6) and the AudioSpecificConfig inside
//! them (14496-3 1.6.2.1), which say which AAC a browser is asked to decode.

use super::bits::{BitReader, Truncated};

/// What Flick reads from an `esds` box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Esds<'a> {
    /// `objectTypeIndication`: 0x40 MPEG-4 audio, 0x69/0x6B MP3, 0x20 MPEG-4 visual...
    pub object_type_indication: u8,
    pub avg_bitrate: u32,
    /// The DecoderSpecificInfo (for AAC, the AudioSpecificConfig).
    pub specific: Option<&'a [u8]>,
}

/// Parses an `esds` body (version and flags included). `None` when there is no DecoderConfig.
pub(crate) fn parse_esds(body: &[u8]) -> Option<Esds<'_>> {
    let descriptors = body.get(4..)?;
    let (tag, es, _) = descriptor(descriptors)?;
    // Some old QuickTime files start at the DecoderConfigDescriptor itself.
    let config = match tag {
        0x04 => es,
        0x03 => {
            let (&[_, _, flags], mut rest) = es.split_first_chunk::<3>()?;
            if flags & 0x80 != 0 {
                rest = rest.get(2..)?;
            }
            if flags & 0x40 != 0 {
                let (&len, after) = rest.split_first()?;
                rest = after.get(usize::from(len)..)?;
            }
            if flags & 0x20 != 0 {
                rest = rest.get(2..)?;
            }
            find_descriptor(rest, 0x04)?
        }
        _ => return None,
    };
    let (fixed, children) = config.split_first_chunk::<13>()?;
    Some(Esds {
        object_type_indication: fixed[0],
        avg_bitrate: u32::from_be_bytes([fixed[9], fixed[10], fixed[11], fixed[12]]),
        specific: find_descriptor(children, 0x05),
    })
}

/// One descriptor: (tag, body, bytes after it). The length is 1 to 4 bytes of 7 bits each.
fn descriptor(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, mut rest) = bytes.split_first()?;
    let mut len = 0usize;
    for i in 0..4 {
        let (&b, after) = rest.split_first()?;
        rest = after;
        len = (len << 7) | usize::from(b & 0x7f);
        if b & 0x80 == 0 {
            break;
        }
        if i == 3 {
            return None;
        }
    }
    let body = rest.get(..len)?;
    Some((tag, body, rest.get(len..)?))
}

fn find_descriptor(mut bytes: &[u8], want: u8) -> Option<&[u8]> {
    while let Some((tag, body, rest)) = descriptor(bytes) {
        if tag == want {
            return Some(body);
        }
        bytes = rest;
    }
    None
}

/// The AudioSpecificConfig fields that matter to players.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AudioConfig {
    /// The signalled audio object type: 2 (LC), 5 (HE-AAC, explicit SBR), 29 (HE-AAC v2, PS)...
    pub object_type: u8,
    /// Output sample rate (the SBR rate for HE-AAC).
    pub sample_rate: u32,
    /// Output channels; `None` when a program config element describes them (channel config 0).
    pub channels: Option<u32>,
}

const SAMPLE_RATES: [u32; 13] =
    [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/// Parses an AudioSpecificConfig.
pub(crate) fn parse_audio_specific_config(asc: &[u8]) -> Result<AudioConfig, Truncated> {
    let mut r = BitReader::new(asc);
    let object_type = read_object_type(&mut r)?;
    let mut sample_rate = read_sample_rate(&mut r)?;
    let channel_config = r.bits(4)?;
    if object_type == 5 || object_type == 29 {
        // Explicit hierarchical signalling: the extension (SBR) rate, then the core object type.
        sample_rate = read_sample_rate(&mut r)?;
        let _core = read_object_type(&mut r)?;
    }
    let channels = match channel_config {
        0 => None,
        // Parametric stereo turns a mono core into stereo output.
        1 if object_type == 29 => Some(2),
        n @ 1..=6 => Some(n),
        7 | 12 | 14 => Some(8),
        11 => Some(7),
        13 => Some(24),
        _ => None,
    };
    Ok(AudioConfig { object_type, sample_rate, channels })
}

fn read_object_type(r: &mut BitReader<'_>) -> Result<u8, Truncated> {
    let t = r.bits(5)?;
    Ok(if t == 31 { 32 + r.bits(6)? } else { t } as u8)
}

fn read_sample_rate(r: &mut BitReader<'_>) -> Result<u32, Truncated> {
    let index = r.bits(4)?;
    if index == 15 {
        return r.bits(24);
    }
    Ok(SAMPLE_RATES.get(index as usize).copied().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `esds` body ffmpeg writes for the seed clip's audio re-encoded to stereo AAC LC 48 kHz.
    const FFMPEG_ESDS: [u8; 39] = [
        0, 0, 0, 0, // version, flags
        0x03, 0x80, 0x80, 0x80, 0x1e, 0x00, 0x02, 0x00, // ES_Descriptor, 4-byte length, ES_ID, flags
        0x04, 0x80, 0x80, 0x80, 0x14, 0x40, 0x15, 0x00, 0x00, 0x00, // DecoderConfig: 0x40 audio stream
        0x00, 0x01, 0xf4, 0x00, 0x00, 0x00, 0xfa, 0x00, // max/avg bitrate
        0x05, 0x80, 0x80, 0x80, 0x02, 0x11, 0x90, // DecoderSpecificInfo: the ASC
        0x06, 0x80, // SLConfig (cut short: ignored)
    ];

    #[test]
    fn reads_ffmpeg_esds() {
        let esds = parse_esds(&FFMPEG_ESDS).expect("esds");
        assert_eq!(esds.object_type_indication, 0x40);
        assert_eq!(esds.avg_bitrate, 64000);
        assert_eq!(esds.specific, Some(&[0x11, 0x90][..]));
        let asc = parse_audio_specific_config(&[0x11, 0x90]).expect("asc");
        assert_eq!(asc, AudioConfig { object_type: 2, sample_rate: 48000, channels: Some(2) });
    }

    #[test]
    fn short_lengths_urls_and_bare_decoder_configs() {
        let mut es = vec![0, 0, 0, 0, 0x03, 24, 0, 1, 0x40, 3, b'a', b'b', b'c'];
        es.extend([0x04, 15, 0x6b, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7d, 0, 0x05, 0]);
        let esds = parse_esds(&es).expect("esds with a URL");
        assert_eq!((esds.object_type_indication, esds.avg_bitrate, esds.specific), (0x6b, 32000, Some(&[][..])));
        let bare = [0, 0, 0, 0, 0x04, 13, 0x20, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(parse_esds(&bare).map(|e| e.object_type_indication), Some(0x20));
        assert_eq!(parse_esds(&[0, 0, 0, 0, 0x03, 0x80, 0x80, 0x80, 0x80, 0x7f]), None, "5-byte length");
        assert_eq!(parse_esds(&FFMPEG_ESDS[..20]), None, "truncated");
    }

    #[test]
    fn he_aac_and_he_aac_v2_and_escapes() {
        // HE-AAC: AOT 5, core 24 kHz mono... SBR 48 kHz, core LC.  00101 0110 0001 0011 00010 000
        let he = parse_audio_specific_config(&[0x2b, 0x09, 0x88, 0x00]).expect("he");
        assert_eq!(he, AudioConfig { object_type: 5, sample_rate: 48000, channels: Some(1) });
        // HE-AAC v2: AOT 29, 24 kHz core, mono (PS → stereo), SBR 48 kHz.
        let v2 = parse_audio_specific_config(&[0xeb, 0x09, 0x88, 0x00]).expect("v2");
        assert_eq!(v2, AudioConfig { object_type: 29, sample_rate: 48000, channels: Some(2) });
        // Escaped object type 31+6 bits (AOT 42, USAC) and an explicit 24-bit rate of 44100.
        let mut bits = String::from("11111");
        bits += &format!("{:06b}", 42 - 32);
        bits += "1111";
        bits += &format!("{:024b}", 44100);
        bits += "0010";
        while bits.len() % 8 != 0 {
            bits.push('0');
        }
        let bytes: Vec<u8> =
            (0..bits.len()).step_by(8).map(|i| u8::from_str_radix(&bits[i..i + 8], 2).expect("bin")).collect();
        let usac = parse_audio_specific_config(&bytes).expect("escapes");
        assert_eq!(usac, AudioConfig { object_type: 42, sample_rate: 44100, channels: Some(2) });
        assert_eq!(parse_audio_specific_config(&[0x12]), Err(Truncated));
    }
}
