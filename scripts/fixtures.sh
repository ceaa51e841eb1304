#!/usr/bin/env bash
# Derives small media test inputs from one seed clip into a cache directory.
#
# Usage: scripts/fixtures.sh [OUT_DIR]
#   OUT_DIR            default: $FLICK_FIXTURES_DIR, else <repo>/target/fixtures
#   FLICK_SEED_MEDIA   seed clip (default: <repo>/../shared/media/bigbuckbunny.mp4)
#   FLICK_FIXTURES_BENCH=1  also makes bench_1080p_60s.mp4 (slow; for measuring encode speed)
#
# Files that already exist are skipped; each file is written under a temporary name and
# renamed when complete, so an interrupted run never leaves a half-written fixture behind.
set -euo pipefail

repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }
ROOT="$(repo_root)"
SEED="${FLICK_SEED_MEDIA:-$ROOT/../shared/media/bigbuckbunny.mp4}"
OUT="${1:-${FLICK_FIXTURES_DIR:-$ROOT/target/fixtures}}"

die() { echo "fixtures.sh: $*" >&2; exit 1; }

for tool in ffmpeg ffprobe python3; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found on PATH (install it, e.g. 'apt-get install ffmpeg')"
done
[ -s "$SEED" ] || die "seed media not found or empty: $SEED (set FLICK_SEED_MEDIA)"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

# Concurrent runs (parallel test binaries) take turns; under the lock, leftovers of a killed
# run are removed.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$OUT/.lock"
    flock 9
    rm -f "$OUT"/.tmp.*
fi

FF=(ffmpeg -nostdin -hide_banner -loglevel error -y)
# Stereo AAC is enough for tests and keeps the files small; the seed is 5.1.
AAC=(-c:a aac -ac 2 -b:a 64k)

# fixture NAME CMD... : runs CMD with "$TMP" set to a temporary path in OUT having NAME's
# extension (ffmpeg picks the muxer from it), then renames it to NAME.
fixture() {
    local name="$1"; shift
    local dest="$OUT/$name"
    if [ -e "$dest" ]; then return 0; fi
    local ext="${name##*.}"
    TMP="$OUT/.tmp.$$.${name%.*}.$ext"
    # shellcheck disable=SC2064
    trap "rm -f '$TMP'" EXIT
    if ! "$@"; then
        rm -f "$TMP"
        die "failed to make $name"
    fi
    [ -e "$TMP" ] || die "making $name produced no file"
    mv -f "$TMP" "$dest"
    trap - EXIT
    echo "made $name"
}

# The byte offset of the first top-level MP4 box of a type (moov/mdat), or -1.
box_offset() {
    python3 - "$1" "$2" <<'EOF'
import struct, sys
path, want = sys.argv[1], sys.argv[2].encode()
with open(path, "rb") as f:
    data = f.read()
off = 0
while off + 8 <= len(data):
    size, typ = struct.unpack(">I4s", data[off:off + 8])
    if size == 1:
        size = struct.unpack(">Q", data[off + 8:off + 16])[0]
    if typ == want:
        print(off); sys.exit(0)
    if size < 8:
        break
    off += size
print(-1)
EOF
}

f_moov_end() {
    "${FF[@]}" -i "$SEED" -map 0:v:0 -map 0:a:0 -c copy "$TMP"
    local moov mdat
    moov=$(box_offset "$TMP" moov); mdat=$(box_offset "$TMP" mdat)
    [ "$moov" -gt "$mdat" ] && [ "$mdat" -ge 0 ] || die "h264_aac_moov_end.mp4: expected moov after mdat (moov=$moov mdat=$mdat)"
}
f_faststart() {
    "${FF[@]}" -i "$SEED" -map 0:v:0 -map 0:a:0 -c copy -movflags +faststart "$TMP"
    local moov mdat
    moov=$(box_offset "$TMP" moov); mdat=$(box_offset "$TMP" mdat)
    [ "$moov" -ge 0 ] && [ "$moov" -lt "$mdat" ] || die "h264_aac_faststart.mp4: expected moov before mdat (moov=$moov mdat=$mdat)"
}
f_hevc_rot90() {
    # ffmpeg 5.1 drops the rotate tag when it encodes, but honours it on a stream copy: two steps.
    local enc="$OUT/.tmp.$$.hevc_enc.mov"
    "${FF[@]}" -i "$SEED" -t 3 -vf scale=640:360 -c:v libx265 -preset ultrafast -x265-params log-level=error \
        -tag:v hvc1 "${AAC[@]}" "$enc"
    "${FF[@]}" -i "$enc" -map 0 -c copy -metadata:s:v:0 rotate=90 "$TMP"
    rm -f "$enc"
    local rot
    rot=$(ffprobe -v error -select_streams v:0 -show_entries stream_side_data=rotation:stream_tags=rotate \
        -of default=noprint_wrappers=1:nokey=1 "$TMP" | head -n1)
    case "$rot" in 90|-90|270) ;; *) die "hevc_rot90.mov: ffprobe reports rotation '$rot', expected a quarter turn" ;; esac
}
f_vp9_opus() {
    "${FF[@]}" -i "$SEED" -t 3 -vf scale=320:180 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 300k \
        -c:a libopus -ac 2 -b:a 48k "$TMP"
}
f_mkv() { "${FF[@]}" -i "$SEED" -map 0:v:0 -map 0:a:0 -c copy "$TMP"; }
f_10bit() {
    "${FF[@]}" -i "$SEED" -t 3 -vf scale=320:180 -c:v libx264 -preset ultrafast -pix_fmt yuv420p10le "${AAC[@]}" "$TMP"
    local pf
    pf=$(ffprobe -v error -select_streams v:0 -show_entries stream=pix_fmt -of default=nw=1:nk=1 "$TMP")
    [ "$pf" = yuv420p10le ] || die "h264_10bit.mp4: this ffmpeg's libx264 made pix_fmt '$pf', not yuv420p10le"
}
f_mpeg4_mp3() {
    "${FF[@]}" -i "$SEED" -t 3 -vf scale=320:180 -c:v mpeg4 -q:v 5 -c:a libmp3lame -ac 2 -b:a 64k "$TMP"
}
f_short() { "${FF[@]}" -i "$SEED" -t 1 -map 0:v:0 -map 0:a:0 -c copy "$TMP"; }
f_vfr() {
    # Drop frames irregularly (keep 3 of every 7, then the odd one out) so frame spacing varies.
    "${FF[@]}" -i "$SEED" -t 4 -an -vf "select='lt(mod(n\,7)\,3)+eq(mod(n\,11)\,5)',scale=320:180" \
        -fps_mode vfr -c:v libx264 -preset ultrafast "$TMP"
}
f_h264_opus() {
    "${FF[@]}" -i "$SEED" -map 0:v:0 -map 0:a:0 -c:v copy -c:a libopus -ac 2 -b:a 48k "$TMP"
}
f_gop1() {
    # Keyframe every second: remuxing it can cut a ~1 s first segment and ~4 s ones after.
    "${FF[@]}" -stream_loop 1 -i "$SEED" -t 10 -vf scale=640:360 -c:v libx264 -preset ultrafast -g 25 -keyint_min 25 \
        -sc_threshold 0 "${AAC[@]}" "$TMP"
}
f_audio_only() { "${FF[@]}" -i "$SEED" -vn -map 0:a:0 -c:a copy -f mp4 "$TMP"; }
f_empty() { : > "$TMP"; }
f_text() { printf 'This is not a video.\nIt is a text file with an .mp4 name.\n' > "$TMP"; }
f_random() {
    # Deterministic: the same 64 KiB on every machine.
    python3 -c 'import random,sys; r=random.Random(20240601); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(65536)))' > "$TMP"
}
f_truncated() {
    local src="$OUT/h264_aac_moov_end.mp4" size
    size=$(stat -c %s "$src")
    head -c $((size * 40 / 100)) "$src" > "$TMP"
}
f_7mb() {
    # About 7 MB of H.264/AAC (the seed seven times over): the clip of the web app's time-to-first-frame measurement.
    "${FF[@]}" -stream_loop 6 -i "$SEED" -map 0:v:0 -map 0:a:0 -c copy -movflags +faststart "$TMP"
}
f_crash() {
    # 40 s of 1080p MPEG-4 Part 2: quick to make, and its re-encode lasts long enough to be interrupted.
    "${FF[@]}" -stream_loop -1 -i "$SEED" -t 40 -vf scale=1920:1080 -c:v mpeg4 -q:v 8 "${AAC[@]}" "$TMP"
}
f_h264_30s() {
    # 30 s of 640x360 H.264/AAC with a keyframe every second, index at the end (ffmpeg's default): the clip of the
    # tests that watch a video while it is uploaded (several segments, sent index first or front to back).
    "${FF[@]}" -stream_loop -1 -i "$SEED" -t 30 -vf scale=640:360 -c:v libx264 -preset ultrafast -g 25 -keyint_min 25 \
        -sc_threshold 0 "${AAC[@]}" "$TMP"
}
f_hevc_20s() {
    # 20 s of 640x360 HEVC in a MOV, index at the end: re-encoded while it is uploaded, index first.
    "${FF[@]}" -stream_loop -1 -i "$SEED" -t 20 -vf scale=640:360 -c:v libx265 -preset ultrafast \
        -x265-params log-level=error:keyint=25 -tag:v hvc1 "${AAC[@]}" "$TMP"
}
f_vp9_20s() {
    # 20 s of 640x360 VP9/Opus WebM: re-encoded while it is uploaded, read front to back.
    "${FF[@]}" -stream_loop -1 -i "$SEED" -t 20 -vf scale=640:360 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 \
        -b:v 800k -g 25 -c:a libopus -ac 2 -b:a 48k "$TMP"
}
# repeat_unit UNIT AUDIO_ARGS... : a 60 s file ($TMP) made of a 10 s video-only UNIT repeated six times (stream copy,
# so a 60 s 1080p clip costs one 10 s encode), with 60 s of the seed's audio encoded beside it; deletes UNIT.
repeat_unit() {
    local unit="$1" list="$OUT/.tmp.$$.list.txt" i
    shift
    for i in 1 2 3 4 5 6; do echo "file '$unit'"; done > "$list"
    "${FF[@]}" -f concat -safe 0 -i "$list" -stream_loop -1 -i "$SEED" -map 0:v:0 -map 1:a:0 -c:v copy "$@" -t 60 "$TMP"
    rm -f "$list" "$unit"
}
# The browser tests that watch a video while it is uploaded (web/e2e/live.test.mjs): 60 s of 1920x1080 25 fps, a
# keyframe every 2 s. LOOP10 is 10 s of the seed looped.
LOOP10=(-stream_loop -1 -i "$SEED" -t 10 -an -vf scale=1920:1080)
KEY2=(-g 50 -keyint_min 50 -sc_threshold 0)
f_live_h264() {
    # H.264/AAC at ~8 Mbit/s, index (moov) at the end as cameras and phones write it: served from the original.
    local unit="$OUT/.tmp.$$.unit.mp4" moov mdat
    "${FF[@]}" "${LOOP10[@]}" -c:v libx264 -preset ultrafast "${KEY2[@]}" -b:v 8M -maxrate 8M -bufsize 16M "$unit"
    repeat_unit "$unit" -c:a aac -ac 2 -b:a 128k
    moov=$(box_offset "$TMP" moov); mdat=$(box_offset "$TMP" mdat)
    [ "$moov" -gt "$mdat" ] && [ "$mdat" -ge 0 ] || die "h264_aac_1080p_60s.mp4: expected moov after mdat (moov=$moov mdat=$mdat)"
}
f_live_hevc() {
    # HEVC (hvc1, as Apple devices write it)/AAC in a MOV at ~6 Mbit/s, index at the end: re-encoded as it arrives.
    local unit="$OUT/.tmp.$$.unit.mov"
    "${FF[@]}" "${LOOP10[@]}" -c:v libx265 -preset ultrafast -b:v 6M \
        -x265-params log-level=error:keyint=50:min-keyint=50:scenecut=0 -tag:v hvc1 -f mov "$unit"
    repeat_unit "$unit" -c:a aac -ac 2 -b:a 128k -f mov
}
f_live_vp9() {
    # VP9/Opus WebM at ~6 Mbit/s: re-encoded as it arrives, read front to back.
    local unit="$OUT/.tmp.$$.unit.webm"
    "${FF[@]}" "${LOOP10[@]}" -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -row-mt 1 -b:v 6M "${KEY2[@]}" "$unit"
    repeat_unit "$unit" -c:a libopus -ac 2 -b:a 96k
}
f_portrait() {
    # 5 s of 720x1280 (portrait, as phones film) H.264/AAC: the share page's layout with a tall video.
    "${FF[@]}" -i "$SEED" -map 0:v:0 -map 0:a:0 -vf "transpose=1,scale=720:1280" -c:v libx264 -preset ultrafast -crf 32 \
        "${KEY2[@]}" "${AAC[@]}" "$TMP"
}
f_bench() {
    # 60 s of 1920x1080 25 fps H.264 made by looping the seed: the input of the encode-speed measurement.
    "${FF[@]}" -stream_loop -1 -i "$SEED" -t 60 -vf scale=1920:1080 -c:v libx264 -preset veryfast -crf 20 \
        "${AAC[@]}" "$TMP"
}

fixture h264_aac_moov_end.mp4 f_moov_end
fixture h264_aac_faststart.mp4 f_faststart
fixture hevc_rot90.mov f_hevc_rot90
fixture vp9_opus.webm f_vp9_opus
fixture h264_aac.mkv f_mkv
fixture h264_10bit.mp4 f_10bit
fixture mpeg4_mp3.mov f_mpeg4_mp3
fixture short_1s.mp4 f_short
fixture vfr_noaudio.mp4 f_vfr
fixture h264_opus.mkv f_h264_opus
fixture h264_aac_gop1.mp4 f_gop1
fixture crash_reencode.mov f_crash
fixture h264_aac_7mb.mp4 f_7mb
fixture h264_aac_30s.mp4 f_h264_30s
fixture hevc_aac_20s.mov f_hevc_20s
fixture vp9_opus_20s.webm f_vp9_20s
fixture h264_aac_1080p_60s.mp4 f_live_h264
fixture hevc_aac_1080p_60s.mov f_live_hevc
fixture vp9_opus_1080p_60s.webm f_live_vp9
fixture h264_aac_portrait.mp4 f_portrait
fixture audio_only.mp4 f_audio_only
fixture empty.mp4 f_empty
fixture text.mp4 f_text
fixture random.mp4 f_random
fixture truncated.mp4 f_truncated
if [ "${FLICK_FIXTURES_BENCH:-0}" = 1 ]; then
    fixture bench_1080p_60s.mp4 f_bench
fi
