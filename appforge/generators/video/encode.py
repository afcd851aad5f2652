"""Writing frames as an MP4 every browser plays: H.264, yuv420p, BT.709, moov atom first.

The encoder is libx264, which the PyAV wheels from PyPI bundle; "veryfast" at CRF 23 encodes a
4-second 960x540 clip in about a quarter of a second on two cores at a quality that suits a
hero video. ``movflags=+faststart`` moves the index (moov) in front of the media (mdat), so a
browser starts playing before the whole file has arrived.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from PIL import Image

from appforge.errors import GenerationError
from appforge.generators.image.files import remove_partial, write_error

CODEC = "h264"  # what a player calls the stream
ENCODER = "libx264"
PRESET = "veryfast"
CRF = 23
#: ITU-R BT.709, as an FFmpeg enum value: the colour matrix, primaries and transfer of HD video.
_BT709 = 1
#: "MPEG" (limited, 16-235) range, the one browsers assume for H.264.
_LIMITED_RANGE = 1


def write_h264(frames: Iterable[Image.Image], out: Path, width: int, height: int, fps: int) -> int:
    """Encode RGB ``frames`` (each ``width`` x ``height``) at ``fps``; return how many there were.

    Raises :class:`GenerationError` when the file cannot be written, and removes what was written.
    """
    import av  # ~50 ms to import: only when a video is made

    if ENCODER not in av.codecs_available:
        raise GenerationError(
            f"this PyAV build has no {ENCODER} encoder, so no H.264 video can be made",
            hint="install PyAV from its PyPI wheels (pip install av), which bundle libx264",
        )
    options = {"preset": PRESET, "crf": str(CRF)}
    if params := _x264_params():
        options["x264-params"] = params
    count = 0
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with av.open(
            str(out), mode="w", format="mp4", options={"movflags": "+faststart"}
        ) as container:
            stream = container.add_stream(ENCODER, rate=fps, options=options)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            context = stream.codec_context
            context.colorspace = context.color_primaries = context.color_trc = _BT709
            context.color_range = _LIMITED_RANGE
            for count, image in enumerate(frames, start=1):
                frame = av.VideoFrame.from_image(image).reformat(
                    format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG"
                )
                frame.pts = count - 1
                container.mux(stream.encode(frame))
            container.mux(stream.encode())  # flush the frames x264 holds back for B-frames
    # Some of PyAV's errors are OSErrors and some are not; both mean the file is unusable.
    except (OSError, av.FFmpegError) as exc:
        remove_partial(out)
        raise write_error("video", out, exc) from exc
    return count


@lru_cache(maxsize=1)
def _x264_params() -> str:
    """x264 settings that keep its output byte-for-byte reproducible on this CPU.

    Measured with the libx264 (core 165) in PyAV 18's wheel on a CPU with AVX-512: the first
    clip a process encodes is the same every time, but encoding the same frames again in that
    process gives slightly different bytes (and pixels), as if its AVX-512 code read memory left
    over from earlier work. With x264 held to AVX2 (which every AVX-512 CPU also has), or with no
    assembly at all, every encode is identical; AVX2 costs no measurable speed.
    """
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""  # not Linux: leave x264 to detect the CPU itself
    return "asm=AVX2" if " avx512f" in cpuinfo else ""
