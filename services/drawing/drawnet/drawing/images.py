"""Uploaded images: checked by decoding them, stripped of metadata and re-encoded within named limits.

Nothing an upload says about itself is believed: not its file name, not its Content-Type, not its header.
Pillow is asked to open it as PNG, JPEG, WebP or GIF only (so an SVG, a BMP or a PDF is not an image here,
whatever it is called); its size is read from the header and refused before a single pixel is decoded
when it is over `max_image_pixels` (a decompression bomb: a small file that decodes to gigabytes); then
it is decoded in full (a truncated or corrupt file fails here) and drawn again from its pixels alone:
EXIF (GPS positions, camera serials), ICC profiles, comments and text chunks are not carried over. A
picture wider or taller than `max_image_side` is scaled down to fit. An animated GIF keeps its first frame.

What is stored is the re-encoded file; its SHA-256 is its name (`ImageHash`), so the same picture
uploaded twice is stored once, and its URL never changes meaning (long-lived, immutable caching).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io

from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
"""What Pillow may decode an upload as: nothing else is tried."""
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
"""What a stored image is, by the format it was re-encoded in."""
JPEG_QUALITY = 88
WEBP_QUALITY = 88


class ImageRefused(Exception):  # noqa: N818 - a refusal, not a failure of ours
    """An upload that is not a picture this service keeps: `limit` names the limit or check it failed."""

    def __init__(self, limit: str, reason: str, *, status: int) -> None:
        super().__init__(reason)
        self.limit = limit
        self.reason = reason
        self.status = status


@dataclasses.dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    """Largest upload, and largest re-encoded image."""
    max_pixels: int
    """Width x height an upload may declare: checked before decoding."""
    max_side: int
    """Longest side of a stored image: larger ones are scaled down to it."""


@dataclasses.dataclass(frozen=True)
class Processed:
    data: bytes
    media_type: str
    width: int
    height: int
    source_format: str
    """What the upload was (PNG, JPEG, WEBP or GIF)."""

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def process(upload: bytes, limits: ImageLimits) -> Processed:
    """The picture to store for an upload, or ImageRefused saying what is wrong with it."""
    if len(upload) > limits.max_bytes:
        raise ImageRefused(
            "max_image_bytes",
            f"the upload of {len(upload)} bytes exceeds max_image_bytes {limits.max_bytes}",
            status=413,
        )
    if not upload:
        raise ImageRefused("image_format", "the upload is empty", status=415)
    try:
        # Opening reads the header only. Pillow's own bomb check (`set_decoder_limit`: it warns past our
        # limit, refuses past twice it) stays as a second guard behind ours on the declared size.
        with Image.open(io.BytesIO(upload), formats=FORMATS) as picture:
            return _reencode(picture, limits)
    except UnidentifiedImageError as error:
        reason = "the upload is not a PNG, JPEG, WebP or GIF picture (checked by its content, not its name)"
        raise ImageRefused("image_format", reason, status=415) from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        reason = (
            f"the picture exceeds max_image_pixels {limits.max_pixels} (refused before decoding it): {error}"
        )
        raise ImageRefused("max_image_pixels", reason, status=413) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        # Truncated files, broken chunks and bad checksums surface as these from Pillow's decoders.
        raise ImageRefused("image_corrupt", f"the picture cannot be decoded: {error}", status=422) from error


def _reencode(picture: Image.Image, limits: ImageLimits) -> Processed:
    source = str(picture.format)
    width, height = picture.size
    if width * height > limits.max_pixels:
        raise ImageRefused(
            "max_image_pixels",
            f"a picture of {width}x{height} = {width * height} pixels exceeds max_image_pixels "
            f"{limits.max_pixels} (refused before decoding it)",
            status=413,
        )
    picture.seek(0)  # an animation's first frame
    picture.load()
    upright = ImageOps.exif_transpose(picture) or picture  # a photo stays the way up it was taken
    has_alpha = upright.mode in {"RGBA", "LA", "PA"} or "transparency" in upright.info
    converted = upright.convert("RGBA" if has_alpha else "RGB")
    if max(converted.size) > limits.max_side:
        converted.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    # convert() copies the metadata along (`info`: EXIF, ICC, comments, which save() writes again):
    # the stored picture is made from the pixels alone.
    pixels = Image.frombytes(converted.mode, converted.size, converted.tobytes())
    out = io.BytesIO()
    if source == "JPEG" and not has_alpha:
        pixels.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        kind = "JPEG"
    elif source == "WEBP":
        pixels.save(out, "WEBP", quality=WEBP_QUALITY)
        kind = "WEBP"
    else:
        pixels.save(out, "PNG", optimize=True)
        kind = "PNG"
    data = out.getvalue()
    if len(data) > limits.max_bytes:
        raise ImageRefused(
            "max_image_bytes",
            f"the picture re-encoded takes {len(data)} bytes, over max_image_bytes {limits.max_bytes}",
            status=413,
        )
    return Processed(data, MEDIA_TYPES[kind], pixels.width, pixels.height, source)


def set_decoder_limit(max_pixels: int) -> None:
    """Pillow's own decompression-bomb limit (process-wide), at ours: its warning becomes an error above."""
    Image.MAX_IMAGE_PIXELS = max_pixels
