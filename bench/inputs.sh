#!/usr/bin/env bash
# Makes the benchmark inputs from the one seed clip, cached: a file that exists is never made again.
#
# Usage: bench/inputs.sh full|smoke|storage [OUT_DIR]
#   OUT_DIR           default: <repo>/target/bench/inputs
#   FLICK_SEED_MEDIA  seed clip (default: <repo>/../shared/media/bigbuckbunny.mp4, 5 s of 720p)
#
# Each file is written under a temporary name and renamed when complete, so an interrupted run never
# leaves a half-made input that a later run would trust. Media is never committed: it lives in target/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE="${1:-full}"
SEED="${FLICK_SEED_MEDIA:-$ROOT/../shared/media/bigbuckbunny.mp4}"
OUT="${2:-$ROOT/target/bench/inputs}"

die() { echo "bench/inputs.sh: $*" >&2; exit 1; }
command -v ffmpeg >/dev/null 2>&1 || die "ffmpeg not found (run 'make deps')"
[ -s "$SEED" ] || die "seed media not found: $SEED (set FLICK_SEED_MEDIA)"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
rm -f "$OUT"/.tmp.*

FF=(ffmpeg -nostdin -hide_banner -loglevel error -y)
# The seed is a 5 s loop: -stream_loop -1 plus -t makes any length. Stereo AAC is what phones and
# exports make (the seed's audio is 5.1).
LOOP=(-stream_loop -1 -i "$SEED")
AAC=(-c:a aac -ac 2 -b:a 128k)
# A keyframe every 2 s, as phones and editors write them (Flick remuxes only with keyframes <= 12 s apart).
GOP=(-g 50 -keyint_min 50 -sc_threshold 0)

# make NAME FUNCTION: runs FUNCTION with $TMP set to a temporary path with NAME's extension, then renames it.
make_input() {
    local name="$1" fn="$2" dest="$OUT/$1"
    [ -e "$dest" ] && return 0
    TMP="$OUT/.tmp.$$.$name"
    local started=$SECONDS
    echo "bench inputs: making $name ..." >&2
    "$fn" || { rm -f "$TMP"; die "failed to make $name"; }
    mv -f "$TMP" "$dest"
    echo "bench inputs: made $name ($(( $(stat -c %s "$dest") / 1000000 )) MB, $((SECONDS - started)) s)" >&2
}

# 60 s of 1080p H.264/AAC at ~13 Mb/s; the mp4 muxer writes the index (moov) at the end by default.
# veryfast: encoded once, then reused as the unit the 1 GB file is looped from.
h264_1080p_60s() {
    "${FF[@]}" "${LOOP[@]}" -t 60 -vf scale=1920:1080 -c:v libx264 -preset veryfast "${GOP[@]}" \
        -b:v 13M -maxrate 14M -bufsize 26M "${AAC[@]}" "$TMP"
}

# ~1 GB: the 60 s unit ten times over, stream-copied (seconds, not an encode).
h264_1080p_1gb() {
    local list="$OUT/.tmp.$$.list.txt" i
    for i in $(seq 10); do echo "file '$OUT/h264_1080p_60s.mp4'"; done > "$list"
    "${FF[@]}" -f concat -safe 0 -i "$list" -c copy "$TMP"
    rm -f "$list"
}

# cut NAME BYTES: the first BYTES (about) of the 1 GB file, stream-copied, index at the end.
cut_from_1gb() {
    local bytes="$1" src="$OUT/h264_1080p_1gb.mp4" size duration seconds
    size=$(stat -c %s "$src")
    duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$src")
    seconds=$(python3 -c "print(f'{$duration * $bytes / $size:.3f}')")
    "${FF[@]}" -i "$src" -t "$seconds" -c copy "$TMP"
}
h264_cut_50mb() { cut_from_1gb 50000000; }
h264_cut_250mb() { cut_from_1gb 250000000; }

# 60 s of 1080p HEVC in a MOV, tagged hvc1 as Apple devices write it: Flick must re-encode it.
hevc_1080p_60s() {
    "${FF[@]}" "${LOOP[@]}" -t 60 -vf scale=1920:1080 -c:v libx265 -preset ultrafast -b:v 8M \
        -x265-params log-level=error:keyint=50 -tag:v hvc1 "${AAC[@]}" -f mov "$TMP"
}

# 60 s of 1080p VP9/Opus: realtime mode keeps making it quick on two cores.
vp9_1080p_60s() {
    "${FF[@]}" "${LOOP[@]}" -t 60 -vf scale=1920:1080 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 \
        -row-mt 1 -b:v 6M -g 50 -c:a libopus -ac 2 -b:a 96k "$TMP"
}

# 30 s of 4K H.264/AAC (within Flick's 4096-wide remux limit).
h264_4k_30s() {
    "${FF[@]}" "${LOOP[@]}" -t 30 -vf scale=3840:2160 -c:v libx264 -preset ultrafast "${GOP[@]}" \
        -b:v 35M -maxrate 40M -bufsize 70M "${AAC[@]}" "$TMP"
}

# 10 s of 720p H.264/AAC for the smoke run: a few seconds to make.
h264_720p_10s() {
    "${FF[@]}" "${LOOP[@]}" -t 10 -c:v libx264 -preset ultrafast "${GOP[@]}" -crf 23 "${AAC[@]}" "$TMP"
}

case "$MODE" in
    smoke)
        make_input h264_720p_10s.mp4 h264_720p_10s
        ;;
    storage)
        make_input h264_1080p_60s.mp4 h264_1080p_60s
        make_input hevc_1080p_60s.mov hevc_1080p_60s
        ;;
    full)
        make_input h264_1080p_60s.mp4 h264_1080p_60s
        make_input h264_1080p_1gb.mp4 h264_1080p_1gb
        make_input h264_cut_50mb.mp4 h264_cut_50mb
        make_input h264_cut_250mb.mp4 h264_cut_250mb
        make_input hevc_1080p_60s.mov hevc_1080p_60s
        make_input vp9_1080p_60s.webm vp9_1080p_60s
        make_input h264_4k_30s.mp4 h264_4k_30s
        ;;
    *) die "unknown mode '$MODE' (full, smoke or storage)" ;;
esac
