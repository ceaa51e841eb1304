//! Storyboards: the seek bar's previews. Small tiles, one every few seconds, packed into sprite JPEGs, from
//! keyframes only (`-skip_frame nokey`: nothing between them is decoded, so a ten-minute video costs a few seconds
//! of CPU). Each tile shows the last keyframe at or before its moment.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use flick_packaging::webvtt::cue_time;

use crate::error::MediaError;
use crate::input::{DECODERS, Formats, Input, input_args};
use crate::probe::MediaInfo;
use crate::tools::Tools;

/// The longer side of a tile, in pixels (a landscape tile is 160 wide).
pub const TILE_LONG_SIDE: u32 = 160;
/// Tiles per row, and rows per sprite: a sprite holds up to 100 tiles (1600×900 for 16:9).
pub const GRID: u32 = 10;
/// Seconds between tiles: at least this…
const MIN_INTERVAL: f64 = 2.0;
/// …and at most this, unless the video is so long that [`MAX_TILES`] would be passed.
const MAX_INTERVAL: f64 = 5.0;
/// Tiles a video gets at most (20 sprites).
const MAX_TILES: u32 = 2000;

/// What a storyboard is made of: how many tiles, how far apart, how large.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoryboardPlan {
    /// Seconds between tiles (tile `i` covers `i × interval` up to the next, the last one up to the end).
    pub interval: f64,
    pub tiles: u32,
    pub tile_width: u32,
    pub tile_height: u32,
    /// The video's duration, which the last tile ends at.
    pub duration: f64,
}

impl StoryboardPlan {
    /// The plan for a video of this shape; `None` when its duration or picture is unknown.
    pub fn for_video(info: &MediaInfo) -> Option<StoryboardPlan> {
        let (w, h) = info.display_size();
        StoryboardPlan::new(info.duration_seconds, w, h)
    }

    /// The plan for a video of `duration` seconds whose upright picture is `w`×`h`.
    pub fn new(duration: f64, w: u32, h: u32) -> Option<StoryboardPlan> {
        if !duration.is_finite() || duration <= 0.0 || w == 0 || h == 0 {
            return None;
        }
        // One tile per 2 s for short videos, up to one per 5 s (at 120 tiles), then fewer as needed.
        let mut interval = (duration / 120.0).clamp(MIN_INTERVAL, MAX_INTERVAL);
        if duration / interval > f64::from(MAX_TILES) {
            interval = duration / f64::from(MAX_TILES);
        }
        let tiles = ((duration / interval).ceil() as u32).clamp(1, MAX_TILES);
        let even = |v: f64| ((v / 2.0).round() as u32 * 2).max(2);
        let (tile_width, tile_height) = if w >= h {
            (TILE_LONG_SIDE, even(f64::from(TILE_LONG_SIDE) * f64::from(h) / f64::from(w)))
        } else {
            (even(f64::from(TILE_LONG_SIDE) * f64::from(w) / f64::from(h)), TILE_LONG_SIDE)
        };
        Some(StoryboardPlan { interval, tiles, tile_width, tile_height, duration })
    }

    /// How many sprite files the tiles fill.
    pub fn sprites(&self) -> u32 {
        self.tiles.div_ceil(GRID * GRID)
    }

    /// The sprite file name of sprite `n` (`storyboard-000.jpg`).
    pub fn sprite_name(n: u32) -> String {
        format!("storyboard-{n:03}.jpg")
    }

    /// The WebVTT thumbnail track: one cue per tile, pointing at its sprite with a `#xywh=` fragment.
    pub fn vtt(&self) -> String {
        let mut out = String::from("WEBVTT\n");
        let per_sprite = GRID * GRID;
        for i in 0..self.tiles {
            let start = f64::from(i) * self.interval;
            let end = if i + 1 == self.tiles { self.duration } else { f64::from(i + 1) * self.interval };
            let (sprite, within) = (i / per_sprite, i % per_sprite);
            let (x, y) = ((within % GRID) * self.tile_width, (within / GRID) * self.tile_height);
            out.push_str(&format!(
                "\n{} --> {}\n{}#xywh={x},{y},{},{}\n",
                cue_time(start),
                cue_time(end.max(start)),
                Self::sprite_name(sprite),
                self.tile_width,
                self.tile_height
            ));
        }
        out
    }
}

/// Makes the sprites of `plan` from the file `input` into `out_dir` (`storyboard-000.jpg`, …), and returns their
/// paths in order. ffmpeg decodes keyframes only; the last keyframe is held to the end, so every tile is drawn.
pub async fn storyboard(
    tools: &Tools,
    input: &Path,
    info: &MediaInfo,
    plan: &StoryboardPlan,
    out_dir: &Path,
    timeout: Duration,
) -> Result<Vec<PathBuf>, MediaError> {
    tokio::fs::create_dir_all(out_dir).await.map_err(|e| MediaError::io("creating the storyboard folder", e))?;
    let mut args: Vec<OsString> =
        ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-skip_frame", "nokey"].map(OsString::from).to_vec();
    args.extend(input_args(&Input::File(input.to_owned()), Formats::Upload(info.demuxer()), DECODERS)?);
    let (w, h) = (plan.tile_width, plan.tile_height);
    // Clone the last keyframe past the end (tpad), take one frame per interval from 0 (fps), exactly `tiles` of them
    // (trim), shrink (autorotate has already turned them upright) and pack them (tile; a last sprite is padded).
    let filter = format!(
        "tpad=stop_mode=clone:stop_duration={pad:.3},fps=fps=1/{interval:.6}:start_time=0:round=down,\
         trim=end_frame={tiles},scale={w}:{h}:flags=bilinear,setsar=1,format=yuvj420p,tile={GRID}x{GRID}",
        pad = plan.duration + plan.interval,
        interval = plan.interval,
        tiles = plan.tiles,
    );
    let map = format!("0:{}", info.video.index);
    let mut pattern = OsString::from("file:");
    pattern.push(
        std::path::absolute(out_dir.join("storyboard-%03d.jpg"))
            .map_err(|e| MediaError::io("resolving the storyboard path", e))?,
    );
    args.extend(
        [
            "-map",
            &map,
            "-an",
            "-sn",
            "-dn",
            "-map_metadata",
            "-1",
            "-vf",
            &filter,
            "-fps_mode",
            "passthrough",
            "-c:v",
            "mjpeg",
            "-q:v",
            "5",
            "-flags:v",
            "+bitexact",
            "-fflags",
            "+bitexact",
            "-start_number",
            "0",
            "-f",
            "image2",
        ]
        .map(OsString::from),
    );
    args.push(pattern);
    tools.ffmpeg(args, timeout).run().await?.success()?;
    let paths: Vec<PathBuf> = (0..plan.sprites()).map(|n| out_dir.join(StoryboardPlan::sprite_name(n))).collect();
    for path in &paths {
        if !tokio::fs::try_exists(path).await.unwrap_or(false) {
            return Err(MediaError::NoOutput);
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(duration: f64) -> StoryboardPlan {
        StoryboardPlan::new(duration, 1280, 720).unwrap()
    }

    #[test]
    fn tiles_keep_the_pictures_shape() {
        let shape = |w, h| StoryboardPlan::new(10.0, w, h).map(|p| (p.tile_width, p.tile_height));
        assert_eq!(shape(1920, 1080), Some((160, 90)));
        assert_eq!(shape(1080, 1920), Some((90, 160)));
        assert_eq!(shape(1000, 1000), Some((160, 160)));
        assert_eq!(shape(4000, 10), Some((160, 2)));
        assert_eq!(shape(0, 720), None);
        assert!(StoryboardPlan::new(f64::NAN, 1280, 720).is_none());
        assert!(StoryboardPlan::new(0.0, 1280, 720).is_none());
    }

    #[test]
    fn tiles_are_two_to_five_seconds_apart_and_bounded() {
        assert_eq!((plan(60.0).interval, plan(60.0).tiles), (2.0, 30));
        assert_eq!((plan(600.0).interval, plan(600.0).tiles), (5.0, 120));
        assert_eq!(plan(7200.0).tiles, 1440);
        assert_eq!(plan(36_000.0).tiles, MAX_TILES);
        assert_eq!(plan(0.5).tiles, 1);
        assert_eq!(plan(61.0).sprites(), 1);
        assert_eq!(plan(600.0).sprites(), 2);
    }

    #[test]
    fn the_track_points_each_cue_at_its_tile() {
        let vtt = plan(205.0).vtt();
        assert!(vtt.starts_with("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard-000.jpg#xywh=0,0,160,90\n"));
        assert!(vtt.contains("\n00:00:20.000 --> 00:00:22.000\nstoryboard-000.jpg#xywh=0,90,160,90\n"), "{vtt}");
        assert!(vtt.contains("\n00:03:20.000 --> 00:03:22.000\nstoryboard-001.jpg#xywh=0,0,160,90\n"), "{vtt}");
        assert!(vtt.ends_with("\n00:03:24.000 --> 00:03:25.000\nstoryboard-001.jpg#xywh=320,0,160,90\n"), "{vtt}");
        assert_eq!(vtt.matches("-->").count(), 103);
    }
}
