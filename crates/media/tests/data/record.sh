#!/usr/bin/env bash
# Records ffprobe's JSON for some fixtures into this folder, with the entries Flick asks for
# (crates/media/src/probe/run.rs, SHOW_ENTRIES). Run once after changing what is asked; the
# parser's tests read the results (they need no ffprobe).
#
# Usage: bash crates/media/tests/data/record.sh   (fixtures from scripts/fixtures.sh and scripts/attacks.sh)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../../.." && pwd)"
FIX="$ROOT/target/fixtures"
ATT="$ROOT/target/attacks"
bash "$ROOT/scripts/fixtures.sh" "$FIX" >/dev/null
bash "$ROOT/scripts/attacks.sh" "$ATT" >/dev/null
ENTRIES="format=format_name,duration,size,bit_rate\
:stream=index,codec_type,codec_name,profile,level,pix_fmt,width,height,sample_aspect_ratio,\
r_frame_rate,avg_frame_rate,bits_per_raw_sample,field_order,duration,channels,sample_rate,bit_rate\
:stream_tags=rotate:stream_disposition=attached_pic:stream_side_data=side_data_type,rotation"
probe() { ffprobe -v error -hide_banner "$@" -print_format json -show_entries "$ENTRIES"; }

for f in h264_aac_moov_end.mp4 hevc_rot90.mov h264_10bit.mp4 mpeg4_mp3.mov vfr_noaudio.mp4; do
    probe -f mov -i "file:$FIX/$f" > "$HERE/${f%.*}.json"
done
for f in vp9_opus.webm h264_opus.mkv; do
    probe -f matroska -i "file:$FIX/$f" > "$HERE/${f%.*}.json"
done
probe -f mov -i "file:$ATT/cover_art.mp4" > "$HERE/cover_art.json"
# A WebM written to a pipe (no duration, no cues: what a browser's MediaRecorder uploads), read
# through a pipe the way probe_stream reads an upload as it arrives.
# (ffprobe stops reading once it knows enough: the writer's broken pipe is expected.)
{ ffmpeg -nostdin -v quiet -i "$FIX/vp9_opus.webm" -c copy -map_metadata -1 -live 1 -f webm pipe:1 || true; } \
    | probe -probesize 2000000 -analyzeduration 3000000 -f matroska -i pipe:0 > "$HERE/vp9_opus_live_pipe.json"
