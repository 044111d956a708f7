"""Video: recognise MP4, MOV and WebM, probe them with ffprobe and cut a poster frame with ffmpeg.

Pure helpers (no request, no models). ffmpeg works on files, so callers hand over a file
object and it is copied to a temporary file first (never a storage path).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from config.exceptions import InvalidInput, UnsupportedType

FORMATS = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}
_QUICKTIME_ATOMS = {b"moov", b"wide", b"mdat", b"free", b"skip", b"pnot"}
_IMAGE_BRANDS = {b"avif", b"avis", b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
TIMEOUT = 120


@dataclass(frozen=True)
class VideoInfo:
    ext: str
    mime: str
    width: int
    height: int
    duration: float


def ffmpeg_available() -> bool:
    return bool(shutil.which("ffmpeg") and shutil.which("ffprobe"))


def sniff(head: bytes) -> str | None:
    """'mp4', 'mov' or 'webm' when the first bytes look like one (ffprobe has the last word)."""
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            return None
        return "mov" if brand == b"qt  " else "mp4"
    if head[4:8] in _QUICKTIME_ATOMS:
        return "mov"
    return None


@contextlib.contextmanager
def local_copy(fileobj: BinaryIO) -> Iterator[str]:
    """A temporary file holding fileobj's bytes, removed afterwards."""
    path = getattr(fileobj, "temporary_file_path", None)
    if callable(path):
        yield path()
        return
    with tempfile.NamedTemporaryFile(prefix="cs-video-", suffix=".bin") as tmp:
        fileobj.seek(0)
        shutil.copyfileobj(fileobj, tmp, 1 << 20)
        tmp.flush()
        fileobj.seek(0)
        yield tmp.name


def probe(fileobj: BinaryIO, sniffed: str) -> VideoInfo:
    """Check with ffprobe that the file is a playable video; its size and duration."""
    if not ffmpeg_available():
        raise UnsupportedType("Video uploads need ffmpeg on the server, and it is not installed. Upload photos only.")
    with local_copy(fileobj) as path:
        try:
            result = subprocess.run(  # noqa: S603 - fixed arguments, our own temporary file
                [
                    shutil.which("ffprobe") or "ffprobe",
                    "-v",
                    "error",
                    "-print_format",
                    "json",
                    "-show_format",
                    "-show_streams",
                    path,
                ],
                capture_output=True,
                timeout=TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise InvalidInput("The video could not be read in time; it may be damaged.", code="damaged") from None
    try:
        data = json.loads(result.stdout or b"{}")
    except ValueError:
        data = {}
    streams = [s for s in data.get("streams", []) if s.get("codec_type") == "video"]
    format_name = data.get("format", {}).get("format_name", "")
    if result.returncode != 0 or not streams or not ({"mov", "mp4", "matroska", "webm"} & set(format_name.split(","))):
        raise InvalidInput(
            "The file looks like a video but cannot be read: it is damaged or not really a video.", code="damaged"
        )
    stream = streams[0]
    width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
    rotation = _rotation(stream)
    if rotation in (90, 270):
        width, height = height, width
    try:
        duration = float(data["format"].get("duration") or stream.get("duration") or 0)
    except (TypeError, ValueError):
        duration = 0.0
    ext = "webm" if "webm" in format_name or "matroska" in format_name else sniffed
    if ext == "webm" and sniffed != "webm":
        ext = sniffed
    return VideoInfo(ext=ext, mime=FORMATS[ext], width=width, height=height, duration=round(duration, 3))


def _rotation(stream: dict) -> int:
    for side in stream.get("side_data_list", []) or []:
        if "rotation" in side:
            with contextlib.suppress(TypeError, ValueError):
                return abs(int(float(side["rotation"]))) % 360
    with contextlib.suppress(TypeError, ValueError):
        return abs(int(stream.get("tags", {}).get("rotate", 0))) % 360
    return 0


def poster_frame(fileobj: BinaryIO, *, duration: float) -> bytes:
    """A JPEG of one frame near the start (1 s in, or the middle of a shorter clip), upright."""
    at = 1.0 if duration > 2 else max(0.0, duration / 2)
    with local_copy(fileobj) as path:
        result = subprocess.run(  # noqa: S603 - fixed arguments, our own temporary file
            [shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-ss", f"{at:.2f}", "-i", path, "-frames:v", "1", "-f", "image2pipe",
             "-vcodec", "mjpeg", "-q:v", "2", "-"],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )  # fmt: skip
    if result.returncode != 0 or not result.stdout:
        raise InvalidInput("No frame could be read from the video.", code="damaged")
    return result.stdout
