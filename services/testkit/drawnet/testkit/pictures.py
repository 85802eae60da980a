"""Image files for tests: honest pictures, and the hostile ones an upload must refuse."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def picture(
    width: int = 40, height: int = 30, color: str = "#e03131", fmt: str = "PNG", **options: object
) -> bytes:
    """A picture of one colour, as PNG, JPEG, WEBP, GIF or BMP."""
    out = io.BytesIO()
    mode = "RGBA" if fmt == "PNG" and options.pop("alpha", False) else "RGB"
    Image.new(mode, (width, height), color).save(out, fmt, **options)
    return out.getvalue()


def jpeg_with_metadata() -> bytes:
    """A JPEG carrying EXIF with a GPS position and a camera serial number, and a comment."""
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0xA431] = "SN-123456"  # BodySerialNumber
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 29.0)  # GPSLatitude
    return picture(64, 48, "#1971c2", "JPEG", exif=exif, comment=b"taken at home")


def png_with_text() -> bytes:
    """A PNG carrying a text chunk (where editors keep author names and file paths)."""
    from PIL import PngImagePlugin  # noqa: PLC0415 - only this helper needs it

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Ann Example, /home/ann/secret-plans.png")
    return picture(32, 32, "#2f9e44", "PNG", pnginfo=info)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def decompression_bomb(side: int = 30_000) -> bytes:
    """A real PNG bomb: `side` x `side` black pixels (1 bit each) in about 100 KB, which decodes to
    `side`² bytes and more (900 MB at 30,000)."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter type 0, then the packed bits
    deflate = zlib.compressobj(9)
    body = b"".join(deflate.compress(row) for _ in range(side)) + deflate.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


SVG_AS_PNG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
    b'<script>alert(document.cookie)</script><rect width="100" height="100" fill="red"/></svg>'
)
"""An SVG (with a script in it) that would be uploaded as `picture.png`, Content-Type image/png."""


def truncated_png() -> bytes:
    """A real PNG, cut off halfway through its pixel data."""
    data = picture(300, 200, "#f08c00", "PNG", compress_level=0)
    return data[: len(data) // 2]
