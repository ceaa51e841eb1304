//! What ffmpeg and ffprobe read, and the sandbox in front of it: only the upload (a local file, or
//! the pipe it arrives through), only the container demuxers and decoders Flick accepts, bounded
//! picture size and stream count.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::MediaError;

/// Demuxers an upload may be read with (ffmpeg's names; `mov,...` is one demuxer, `matroska,webm` another).
/// Never `hls`, `concat`, `image2`, `tty` or anything else that opens other files or URLs.
pub const INPUT_FORMATS: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm";

/// Decoders ffmpeg and ffprobe may open (`-codec_whitelist`; ffmpeg's decoder names, not codec names):
/// the video and audio codecs of phones, cameras, screen recorders and exports, nothing else. Image
/// codecs (PNG, TIFF, EXR...), subtitles and exotic decoders, a large attack surface, cannot be reached.
pub const DECODERS: &str = "h264,hevc,vp8,vp9,libvpx,libvpx-vp9,av1,libdav1d,libaom-av1,mpeg4,mpeg2video,\
aac,aac_fixed,aac_latm,mp3,mp3float,mp2,mp2float,opus,libopus,vorbis,libvorbis,flac,alac,ac3,ac3_fixed,eac3,\
pcm_s16le,pcm_s16be,pcm_s24le,pcm_s24be,pcm_s32le,pcm_s32be,pcm_f32le,pcm_f32be,pcm_u8,pcm_alaw,pcm_mulaw";

/// ffprobe opens a decoder for every stream of a file and fails when one is refused, so it also
/// gets those of cover art and text subtitles, which legitimate files carry (ffmpeg never decodes
/// them: it maps only the video and audio streams). `-max_pixels` bounds the image decoders.
pub const PROBE_DECODERS: &str = concat!(
    "h264,hevc,vp8,vp9,libvpx,libvpx-vp9,av1,libdav1d,libaom-av1,mpeg4,mpeg2video,",
    "aac,aac_fixed,aac_latm,mp3,mp3float,mp2,mp2float,opus,libopus,vorbis,libvorbis,flac,alac,ac3,ac3_fixed,eac3,",
    "pcm_s16le,pcm_s16be,pcm_s24le,pcm_s24be,pcm_s32le,pcm_s32be,pcm_f32le,pcm_f32be,pcm_u8,pcm_alaw,pcm_mulaw,",
    "mjpeg,png,mov_text,subrip,ass,ssa,webvtt,text"
);

/// Most pixels per frame: 4096x2304 (4K UHD and DCI fit). Passed as `-max_pixels` to every decoder,
/// so a stream that claims a small size and then switches to a huge one mid-file fails to decode
/// instead of allocating gigabytes.
pub const MAX_PIXELS: u64 = 4096 * 2304;
/// Most streams a file may have (`-max_streams`): phones write 2 to 6.
pub const MAX_STREAMS: u32 = 32;

/// What ffmpeg reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A local file.
    File(PathBuf),
    /// Its standard input, fed by the caller (the upload as it arrives). Not seekable, so its
    /// demuxer is always forced.
    Pipe,
}

/// The demuxers an upload can be read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Demuxer {
    /// MP4, MOV and their relatives (ffmpeg's `mov`).
    Mov,
    /// Matroska and WebM.
    Matroska,
}

impl Demuxer {
    /// ffmpeg's name for it (`-f`).
    pub fn name(self) -> &'static str {
        match self {
            Demuxer::Mov => "mov",
            Demuxer::Matroska => "matroska",
        }
    }

    /// The demuxer of a container as ffprobe names it (`format_name`, e.g. `matroska,webm`).
    pub fn of_format_name(format_name: &str) -> Option<Demuxer> {
        let names: Vec<&str> = format_name.split(',').map(str::trim).collect();
        if names.contains(&"mov") || names.contains(&"mp4") {
            Some(Demuxer::Mov)
        } else if names.contains(&"matroska") || names.contains(&"webm") {
            Some(Demuxer::Matroska)
        } else {
            None
        }
    }

    /// The demuxer of a container recognised from an upload's first bytes.
    pub fn of_sniffed(container: flick_domain::upload::Container) -> Demuxer {
        match container {
            flick_domain::upload::Container::IsoBmff { .. } => Demuxer::Mov,
            flick_domain::upload::Container::Matroska { .. } => Demuxer::Matroska,
        }
    }
}

/// Which demuxers may open an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Formats {
    /// An upload: [`INPUT_FORMATS`] only, this demuxer forced when known (it must be for a pipe).
    Upload(Option<Demuxer>),
    /// An MPEG-TS segment Flick wrote itself.
    Segment,
}

/// The sandboxing options and the input (`-i URL`) of every ffmpeg and ffprobe run: only the input
/// itself (a `file:` URL or `pipe:0`), only the demuxers of `formats`, only `decoders`, bounded
/// picture size and stream count. The MOV demuxer never follows external data references
/// (`dref`/`alis` atoms naming other files) and never resolves absolute paths.
pub(crate) fn input_args(input: &Input, formats: Formats, decoders: &str) -> Result<Vec<OsString>, MediaError> {
    let (allowed, forced) = match formats {
        Formats::Upload(demuxer) => (INPUT_FORMATS, demuxer.map(Demuxer::name)),
        Formats::Segment => ("mpegts", Some("mpegts")),
    };
    let (protocols, url) = match input {
        Input::File(path) => ("file", file_url(path)?),
        Input::Pipe if forced.is_some() => ("file,pipe", OsString::from("pipe:0")),
        Input::Pipe => {
            // Nothing may guess what arrives through a pipe.
            return Err(MediaError::UnsupportedFormat { format: "unknown (a piped input needs its demuxer)".into() });
        }
    };
    let max_pixels = MAX_PIXELS.to_string();
    let max_streams = MAX_STREAMS.to_string();
    let mut a: Vec<OsString> = [
        "-protocol_whitelist",
        protocols,
        "-format_whitelist",
        allowed,
        "-codec_whitelist",
        decoders,
        "-max_pixels",
        &max_pixels,
        "-max_streams",
        &max_streams,
    ]
    .iter()
    .map(OsString::from)
    .collect();
    if let Some(d) = forced {
        a.extend(["-f".into(), d.into()]);
        if d == "mov" {
            // Both are off by default; stated so no default change or added option can turn them on.
            a.extend(["-enable_drefs", "0", "-use_absolute_path", "0"].map(OsString::from));
        }
    }
    a.push("-i".into());
    a.push(url);
    Ok(a)
}

/// `file:` + absolute path: ffmpeg then never reads a path as a URL or a protocol (`http:`, `concat:`...).
pub(crate) fn file_url(path: &Path) -> Result<OsString, MediaError> {
    let abs = std::path::absolute(path).map_err(|e| MediaError::io(format!("resolving {}", path.display()), e))?;
    let mut url = OsString::from("file:");
    url.push(abs.as_os_str());
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(input: &Input, formats: Formats) -> String {
        let args = input_args(input, formats, DECODERS).unwrap();
        args.iter().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn file_urls_are_absolute() {
        let u = file_url(Path::new("a/b.mp4")).unwrap();
        let s = u.to_string_lossy();
        assert!(s.starts_with("file:/"), "{s}");
        assert!(s.ends_with("/a/b.mp4"), "{s}");
    }

    #[test]
    fn files_allow_the_file_protocol_only_and_pipes_add_pipe_with_a_forced_demuxer() {
        let file = joined(&Input::File("/x/source".into()), Formats::Upload(None));
        assert!(file.starts_with("-protocol_whitelist file -format_whitelist mov,mp4"), "{file}");
        assert!(!file.contains(" -f ") && file.ends_with("-i file:/x/source"), "{file}");
        let mov = joined(&Input::File("/x/source".into()), Formats::Upload(Some(Demuxer::Mov)));
        assert!(mov.ends_with("-f mov -enable_drefs 0 -use_absolute_path 0 -i file:/x/source"), "{mov}");
        let pipe = joined(&Input::Pipe, Formats::Upload(Some(Demuxer::Matroska)));
        assert!(pipe.starts_with("-protocol_whitelist file,pipe "), "{pipe}");
        assert!(pipe.ends_with("-max_streams 32 -f matroska -i pipe:0"), "{pipe}");
        let err = input_args(&Input::Pipe, Formats::Upload(None), DECODERS).unwrap_err();
        assert_eq!(err.code(), "unsupported_format");
        let ts = joined(&Input::File("/x/seg_00001.ts".into()), Formats::Segment);
        assert!(ts.contains("-format_whitelist mpegts ") && ts.ends_with("-f mpegts -i file:/x/seg_00001.ts"), "{ts}");
    }

    #[test]
    fn demuxers_from_names() {
        assert_eq!(Demuxer::of_format_name("mov,mp4,m4a,3gp,3g2,mj2"), Some(Demuxer::Mov));
        assert_eq!(Demuxer::of_format_name("matroska,webm"), Some(Demuxer::Matroska));
        assert_eq!(Demuxer::of_format_name("mpegts"), None);
        assert_eq!(Demuxer::Matroska.name(), "matroska");
    }
}
