#!/usr/bin/env bash
# Makes Flick's attack corpus: hostile media files, generated with ffmpeg, printf and python3 only.
#
# Usage: scripts/attacks.sh [OUT_DIR]     (default: <repo>/target/attacks; files that exist are kept)
#
# Text attacks whose content depends on the test run (playlists naming a canary file or a local
# port, ffconcat scripts) are written by the tests themselves.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/target/attacks}"
die() { echo "attacks.sh: $*" >&2; exit 1; }
for tool in ffmpeg ffprobe python3; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found on PATH"
done
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$OUT/.lock"
    flock 9
    rm -f "$OUT"/.tmp.*
fi

FF=(ffmpeg -nostdin -hide_banner -loglevel error -y)
X264=(-c:v libx264 -preset ultrafast)

# make NAME FUNCTION: FUNCTION writes "$TMP" (with NAME's extension); renamed to NAME when done.
make() {
    local name="$1" fn="$2" dest="$OUT/$1"
    [ -e "$dest" ] && return 0
    TMP="$OUT/.tmp.$$.$name"
    "$fn" || { rm -f "$TMP"; die "failed to make $name"; }
    [ -e "$TMP" ] || die "making $name produced no file"
    mv -f "$TMP" "$dest"
    echo "made $name"
}

# A legitimate small clip, the base of several attacks.
a_clean() {
    "${FF[@]}" -f lavfi -i "testsrc=s=320x240:r=25:d=3" -f lavfi -i "sine=d=3" "${X264[@]}" -pix_fmt yuv420p \
        -c:a aac -f mp4 "$TMP"
}

# 8192x8192 H.264 of a few hundred KB: decoding one frame takes ~100 MB, x264 far more.
a_pixel_bomb() {
    "${FF[@]}" -f lavfi -i "color=c=black:s=8192x8192:r=1:d=2" "${X264[@]}" -pix_fmt yuv420p -f mp4 "$TMP"
}

# Starts 320x240, switches to 8192x8192 mid-stream (a new SPS in band). 4:4:4 so Flick must decode it.
a_res_switch() {
    local a="$OUT/.tmp.$$.a.h264" b="$OUT/.tmp.$$.b.h264"
    "${FF[@]}" -f lavfi -i "testsrc=s=320x240:r=25:d=2" "${X264[@]}" -pix_fmt yuv444p -f h264 "$a"
    "${FF[@]}" -f lavfi -i "color=c=black:s=8192x8192:r=25:d=1" "${X264[@]}" -pix_fmt yuv444p -f h264 "$b"
    cat "$a" "$b" > "$a.cat"
    "${FF[@]}" -f h264 -framerate 25 -i "$a.cat" -c copy -f matroska "$TMP"
    rm -f "$a" "$b" "$a.cat"
}

# A few frames, then one 10 hours later: a container duration of 10 h in a file of a few KB.
a_duration_bomb() {
    "${FF[@]}" -f lavfi -i "testsrc=s=160x120:r=25:d=0.2" -vf "setpts='if(eq(N,4),36000/TB,PTS)'" \
        -fps_mode passthrough "${X264[@]}" -pix_fmt yuv420p -f matroska "$TMP"
}

# One video stream and 300 audio streams.
a_many_streams() {
    local maps=()
    for _ in $(seq 1 300); do maps+=(-map 1:a); done
    "${FF[@]}" -f lavfi -i "testsrc=s=64x64:r=5:d=1" -f lavfi -i "sine=d=1:r=8000" -map 0:v "${maps[@]}" \
        "${X264[@]}" -c:a aac -b:a 8k -f matroska "$TMP"
}

# PNG video in a QuickTime file (image decoders are a classic attack surface).
a_png_mov() {
    "${FF[@]}" -f lavfi -i "testsrc=s=320x240:r=5:d=1" -c:v png -f mov "$TMP"
}

# GPS position, title, device make and serial: none may survive into segments or thumbnails.
META=(-metadata title=SECRET_TITLE_7f3a -metadata "location=+48.8584+002.2945/"
    -metadata "com.apple.quicktime.location.ISO6709=+48.8584+002.2945/"
    -metadata "com.apple.quicktime.make=SECRET_MAKE_7f3a" -metadata "com.apple.quicktime.serial=SECRET_SERIAL_7f3a"
    -metadata comment=SECRET_COMMENT_7f3a -metadata:s:v title=SECRET_VTRACK_7f3a -metadata:s:a title=SECRET_ATRACK_7f3a)
a_gps_mov() {
    "${FF[@]}" -f lavfi -i "testsrc=s=320x240:r=25:d=3" -f lavfi -i "sine=d=3" "${X264[@]}" -pix_fmt yuv420p \
        -c:a aac "${META[@]}" -movflags use_metadata_tags -f mov "$TMP"
}
# The same, as a Matroska file Flick must re-encode (4:4:4), with an attachment.
a_gps_mkv() {
    "${FF[@]}" -f lavfi -i "testsrc=s=320x240:r=25:d=3" -f lavfi -i "sine=d=3" "${X264[@]}" -pix_fmt yuv444p \
        -c:a libopus "${META[@]}" -f matroska "$TMP"
}

# A valid MP4 whose video track's data reference ('dref') is a Mac alias ('alis') naming another file
# (canary.txt beside it, and /etc/passwd by absolute path). ffmpeg follows it only with -enable_drefs 1.
a_dref_mov() {
    "${FF[@]}" -f lavfi -i "testsrc=s=320x240:r=25:d=2" "${X264[@]}" -pix_fmt yuv420p -f mov "$TMP.src"
    python3 - "$TMP.src" "$TMP" <<'EOF'
import struct, sys
src, dst = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"dinf", b"stbl", b"edts", b"udta"}

def alias(path, filename):
    body = b"\0" * 10                      # skipped
    body += bytes([0]) + b"\0" * 27         # volume name (empty)
    body += b"\0" * 12
    fn = filename.encode()
    body += bytes([len(fn)]) + fn.ljust(63, b"\0")
    body += b"\0" * 16
    body += struct.pack(">HH", 1, 1)        # nlvl_from, nlvl_to
    body += b"\0" * 16
    p = path.encode()
    if len(p) % 2:
        p += b"\0"
    body += struct.pack(">hH", 2, len(p)) + p       # type 2: absolute path
    body += struct.pack(">hH", -1, 0)
    entry = b"alis" + b"\0\0\0\0" + body
    return struct.pack(">I", len(entry) + 4) + entry

def rewrite(buf):
    out = b""
    off = 0
    while off + 8 <= len(buf):
        size, typ = struct.unpack(">I4s", buf[off:off + 8])
        if size < 8 or off + size > len(buf):
            out += buf[off:]
            break
        payload = buf[off + 8:off + size]
        if typ in CONTAINERS:
            payload = rewrite(payload)
        elif typ == b"dref":
            payload = b"\0\0\0\0" + struct.pack(">I", 1) + alias("/etc/passwd", "canary.txt")
        out += struct.pack(">I4s", len(payload) + 8, typ) + payload
        off += size
    return out

# Only the moov moves in size; it is after mdat (ffmpeg's default), so chunk offsets stay valid.
top, off = b"", 0
while off + 8 <= len(data):
    size, typ = struct.unpack(">I4s", data[off:off + 8])
    box = data[off:off + size]
    if typ == b"moov":
        assert off > data.find(b"mdat"), "moov must follow mdat"
        box = rewrite(box)
    top += box
    off += size
assert b"alis" in top
open(dst, "wb").write(top)
EOF
    rm -f "$TMP.src"
}

# An ISO BMFF file (passes the upload sniff) whose only content is an HLS playlist in its mdat.
a_playlist_in_mdat() {
    python3 - "$TMP" <<'EOF'
import struct, sys
pl = b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
ftyp = b"isom" + struct.pack(">I", 512) + b"isomiso2mp41"
out = struct.pack(">I", len(ftyp) + 8) + b"ftyp" + ftyp + struct.pack(">I", len(pl) + 8) + b"mdat" + pl
open(sys.argv[1], "wb").write(out)
EOF
}

# Not an attack: a normal clip with PNG cover art and a text subtitle track must still be accepted.
a_cover_art() {
    local png="$OUT/.tmp.$$.cover.png" srt="$OUT/.tmp.$$.sub.srt"
    "${FF[@]}" -f lavfi -i "testsrc=s=64x64:d=1" -frames:v 1 "$png"
    printf '1\n00:00:00,000 --> 00:00:01,000\nhello\n' > "$srt"
    "${FF[@]}" -f lavfi -i "testsrc=s=320x240:r=25:d=3" -i "$png" -i "$srt" -map 0 -map 1 -map 2 "${X264[@]}" \
        -pix_fmt yuv420p -c:v:1 png -c:s mov_text -disposition:v:1 attached_pic -f mp4 "$TMP"
    rm -f "$png" "$srt"
}

make clean.mp4 a_clean
make cover_art.mp4 a_cover_art
make pixel_bomb.mp4 a_pixel_bomb
make res_switch.mkv a_res_switch
make duration_bomb.mkv a_duration_bomb
make many_streams.mkv a_many_streams
make png.mov a_png_mov
make gps.mov a_gps_mov
make gps.mkv a_gps_mkv
make dref.mov a_dref_mov
make playlist_in_mdat.mp4 a_playlist_in_mdat
