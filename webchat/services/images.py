"""Images as uploaded: what a photo gives away (EXIF with the GPS position, XMP, IPTC, PNG
text chunks) taken out of the file itself, and its thumbnail.

`examine` does the work of one upload; it is pure CPU (no app, no database) and runs on an
OS thread (`webchat.offload`), at most IMAGE_DECODE_CONCURRENCY at once per process
(`services.files`), because decoding is where memory goes: about 4 bytes a pixel for the
decoded image, twice that while it is turned or resampled with an alpha channel.

Metadata is removed without decoding where the container allows, by dropping its blocks
(JPEG APPn segments and what follows the image, PNG ancillary chunks, WebP EXIF/XMP
chunks, GIF comments and application extensions): the pixels and their compression are
untouched, byte for byte. Only an image whose EXIF orientation is not "upright" is
decoded, turned and re-encoded (JPEG with its own quantisation tables and subsampling, so
its quality stays; PNG losslessly; WebP losslessly when it was), so that nothing appears
rotated once the orientation tag is gone. A container whose blocks cannot be walked is
re-encoded too: metadata is never kept because a file was odd.
"""

import ctypes
import ctypes.util
import io
import re
import struct
from dataclasses import dataclass

from PIL import Image, ImageOps, ImageSequence, JpegImagePlugin

THUMBNAIL_BOX = (320, 320)
FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
# EXIF orientation -> the transpose that makes the pixels upright (as ImageOps.exif_transpose).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class TooManyPixels(Exception):
    """The image is larger than the pixel bound: refused before it is decoded."""


class NotAnImage(Exception):
    """The bytes start like an image but do not decode: kept as a plain file."""


@dataclass
class Examined:
    width: int  # as displayed, EXIF orientation applied
    height: int
    thumbnail: bytes
    stripped: bytes | None  # the original without its metadata, or None if it had none


def examine(data, content_type, max_pixels, strip=True):
    """Check, thumbnail and (with `strip`) clean one uploaded image. Raises TooManyPixels or
    NotAnImage. Called off the event loop; gives the decoded memory back to the system once
    the image is gone (each pool thread has its own allocator arena, which would otherwise
    keep it, and the next decode on another thread take as much again)."""
    try:
        return _open_and_examine(data, content_type, max_pixels, strip)
    finally:
        give_back_memory()


def _open_and_examine(data, content_type, max_pixels, strip):
    image_format = FORMATS[content_type]
    try:
        image = Image.open(io.BytesIO(data), formats=[image_format])
    except Image.DecompressionBombError:
        raise TooManyPixels from None
    except Exception:  # noqa: BLE001 - Pillow parses hostile input; any failure means "not an image"
        raise NotAnImage from None
    try:
        with image:
            return _examine(image, image_format, data, max_pixels, strip)
    except (TooManyPixels, NotAnImage):
        raise
    except Image.DecompressionBombError:
        raise TooManyPixels from None
    except Exception:  # noqa: BLE001 - truncated or corrupt past the header: a plain file
        raise NotAnImage from None


def _examine(image, image_format, data, max_pixels, strip):
    if image.width * image.height > max_pixels:
        raise TooManyPixels
    turn = _upright(image)
    width, height = image.size
    if turn in _QUARTER_TURNS:
        width, height = height, width
    stripped = None
    if strip:
        stripped = _clean(image, image_format, data, turn, max_pixels)
        turn = None  # cleaned means upright: a turned image was decoded and turned in place
    return Examined(width, height, thumbnail(image, turn), stripped)


def strip_metadata(data, content_type, max_pixels):
    """`data` (an image stored before metadata was stripped) without its metadata, or None if
    it has none. Raises TooManyPixels for one that would need decoding above the bound."""
    try:
        return _open_and_strip(data, FORMATS[content_type], max_pixels)
    finally:
        give_back_memory()


def _open_and_strip(data, image_format, max_pixels):
    with Image.open(io.BytesIO(data), formats=[image_format]) as image:
        turn = _upright(image)
        if turn is not None and image.width * image.height > max_pixels:
            raise TooManyPixels
        return _clean(image, image_format, data, turn, max_pixels)


def _upright(image):
    """The transpose that the image's EXIF orientation asks for, or None."""
    return UPRIGHT.get(image.getexif().get(ImageOps.ExifTags.Base.Orientation))


def _clean(image, image_format, data, turn, max_pixels):
    """The bytes without metadata (None if that is `data` itself): blocks dropped where the
    image is upright and its container could be walked, else re-encoded upright."""
    cleaned = strip_blocks(data, image_format) if turn is None else None
    if cleaned is None:
        cleaned = reencode(image, image_format, turn, max_pixels, lossless=b"VP8L" in data[12:4096])
    return cleaned if cleaned != data else None


# The turns that swap width and height.
_QUARTER_TURNS = {
    Image.Transpose.TRANSPOSE,
    Image.Transpose.ROTATE_270,
    Image.Transpose.TRANSVERSE,
    Image.Transpose.ROTATE_90,
}


def thumbnail(image, turn=None):
    """A WebP at most THUMBNAIL_BOX, upright, without metadata. A JPEG not yet decoded is
    decoded at a reduced scale; the image is shrunk before it is turned, so the full-size
    one is never copied."""
    image.draft("RGB", (THUMBNAIL_BOX[0] * 2, THUMBNAIL_BOX[1] * 2))  # JPEG only; else a no-op
    image.thumbnail(THUMBNAIL_BOX, Image.Resampling.LANCZOS)
    small = image.transpose(turn) if turn is not None else image
    small = small.convert("RGBA" if small.has_transparency_data else "RGB")
    out = io.BytesIO()
    small.save(out, "WEBP", quality=80)
    return out.getvalue()


def reencode(image, image_format, turn, max_pixels, lossless=False):
    """The image encoded again in its own format, upright, with its colour profile and its
    animation but no other metadata. A JPEG keeps its quantisation tables and subsampling
    (its quality); PNG is lossless, and WebP when it was (`lossless`)."""
    out = io.BytesIO()
    options = {"icc_profile": image.info["icc_profile"]} if image.info.get("icc_profile") else {}
    if image_format == "WEBP":
        options.update({"lossless": True} if lossless else {"quality": 90, "method": 4})
    frames = getattr(image, "n_frames", 1) if image_format != "JPEG" else 1  # a JPEG's others are MPF extras
    if frames > 1:
        if frames * image.width * image.height > max_pixels:
            raise TooManyPixels  # every frame is decoded and held
        _save_animation(image, image_format, turn, out, options)
        return out.getvalue()
    if image_format == "JPEG":
        options.update(
            qtables=image.quantization,
            subsampling=JpegImagePlugin.get_sampling(image),
            progressive=bool(image.info.get("progressive")),
        )
    image.load()
    if turn is not None:
        ImageOps.exif_transpose(image, in_place=True)  # the decoded original is freed, not copied
    image.save(out, image_format, **options)
    return out.getvalue()


def _save_animation(image, image_format, turn, out, options):
    durations, frames = [], []
    for frame in ImageSequence.Iterator(image):
        durations.append(frame.info.get("duration", 100))
        frame = frame.convert("RGBA")
        frames.append(frame.transpose(turn) if turn is not None else frame)
    image.seek(0)
    loop = image.info.get("loop", 0)
    frames[0].save(out, image_format, save_all=True, append_images=frames[1:], duration=durations, loop=loop, **options)


def give_back_memory():
    """Return freed heap pages to the system (glibc's malloc_trim): after a large decode,
    the freed blocks would otherwise stay in the process for good. A no-op elsewhere."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


# --- metadata out of the containers, without decoding --------------------------------------


def strip_blocks(data, image_format):
    """`data` without its metadata blocks, or None if its blocks could not be walked."""
    try:
        return _STRIPPERS[image_format](data)
    except (IndexError, struct.error, ValueError):
        return None


# JPEG segments kept: JFIF (density), Adobe (colour transform, needed to decode CMYK),
# ICC_PROFILE. Every other APPn (EXIF, XMP, IPTC/Photoshop, MPF, maker data) and comments go.
_JPEG_KEEP_APP = {0xE0: b"JFIF\0", 0xE2: b"ICC_PROFILE\0", 0xEE: b"Adobe"}
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")


def _strip_jpeg(data):
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    out, pos = [data[:2]], 2
    while True:
        while data[pos + 1] == 0xFF:  # fill bytes before a marker
            pos += 1
        if data[pos] != 0xFF:
            raise ValueError("not at a marker")
        marker = data[pos + 1]
        if marker == 0xD9:  # the end of the image; what follows (more images, maker data) goes
            out.append(data[pos : pos + 2])
            return b"".join(out)
        length = struct.unpack_from(">H", data, pos + 2)[0]
        end = pos + 2 + length
        if end > len(data) or length < 2:
            raise ValueError("segment past the end")
        segment = data[pos:end]
        if _keep_jpeg_segment(marker, segment):
            out.append(segment)
        pos = end
        if marker == 0xDA:  # entropy-coded data runs to the next marker
            found = _JPEG_NEXT_MARKER.search(data, pos)
            if found is None:  # cut short in its scan: what there is of the image stays
                out.append(data[pos:])
                return b"".join(out)
            out.append(data[pos : found.start()])
            pos = found.start()


def _keep_jpeg_segment(marker, segment):
    if marker == 0xFE:  # a comment
        return False
    if 0xE0 <= marker <= 0xEF:
        signature = _JPEG_KEEP_APP.get(marker)
        return signature is not None and segment[4:].startswith(signature)
    return True


# PNG chunks kept besides the critical ones (IHDR, PLTE, IDAT, IEND): colour, transparency,
# pixel size and animation. Text (tEXt, zTXt, iTXt), eXIf, tIME and private chunks go.
_PNG_KEEP = {b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"bKGD", b"pHYs", b"cICP", b"mDCv", b"cLLi"}
_PNG_KEEP |= {b"acTL", b"fcTL", b"fdAT"}


def _strip_png(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    out, pos = [data[:8]], 8
    while True:
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            raise ValueError("chunk past the end")
        if kind[0] & 0x20 == 0 or kind in _PNG_KEEP:  # upper-case first letter: critical
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            return b"".join(out)


# WebP chunks kept: the image, its alpha, animation and colour profile.
_WEBP_KEEP = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}
_VP8X_EXIF_XMP = 0x08 | 0x04


def _strip_webp(data):
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP")
    end_of_riff = 8 + struct.unpack_from("<I", data, 4)[0]
    if end_of_riff > len(data):
        raise ValueError("RIFF past the end")
    out, pos = [], 12
    while pos + 8 <= end_of_riff:
        kind, size = struct.unpack_from("<4sI", data, pos)
        end = pos + 8 + size + (size & 1)
        if pos + 8 + size > end_of_riff:
            raise ValueError("chunk past the end")
        chunk = data[pos:end]
        if kind == b"VP8X":
            chunk = chunk[:8] + bytes([chunk[8] & ~_VP8X_EXIF_XMP]) + chunk[9:]
        if kind in _WEBP_KEEP:
            out.append(chunk)
        pos = end
    body = b"WEBP" + b"".join(out)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# GIF application extensions kept: the loop count (animation). Comments and other
# application data (XMP among them) go.
_GIF_KEEP_APPS = (b"NETSCAPE2.0", b"ANIMEXTS1.0")


def _strip_gif(data):
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise ValueError("not a GIF")
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    out = [data[:pos]]
    while pos < len(data):
        introducer = data[pos]
        if introducer == 0x3B:  # trailer
            break
        if introducer == 0x21:
            label = data[pos + 1]
            end = _gif_sub_blocks(data, pos + 2)
            keep = label != 0xFE and (label != 0xFF or data[pos + 3 : pos + 14] in _GIF_KEEP_APPS)
        elif introducer == 0x2C:
            flags = data[pos + 9]
            start = pos + 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1  # + LZW code size
            end, keep = _gif_sub_blocks(data, start), True
        else:
            raise ValueError("unknown GIF block")
        if keep:
            out.append(data[pos:end])
        pos = end
    out.append(b"\x3b")  # a trailer, also for a GIF that lacked one
    return b"".join(out)


def _gif_sub_blocks(data, pos):
    """The position after a chain of data sub-blocks (ended by a zero-length one)."""
    while (size := data[pos]) != 0:
        pos += 1 + size
    return pos + 1


_STRIPPERS = {"JPEG": _strip_jpeg, "PNG": _strip_png, "WEBP": _strip_webp, "GIF": _strip_gif}
