"""Uploaded images are checked by decoding them, never by their name or header; what is kept is drawn
again from its pixels alone, within the named limits (`drawnet.drawing.images`)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from drawnet.drawing.images import ImageLimits, ImageRefused, process
from drawnet.testkit import pictures

LIMITS = ImageLimits(max_bytes=2_000_000, max_pixels=4_000_000, max_side=1024)


def refusal(upload: bytes, limits: ImageLimits = LIMITS) -> ImageRefused:
    with pytest.raises(ImageRefused) as refused:
        process(upload, limits)
    return refused.value


class TestWhatIsTaken:
    @pytest.mark.parametrize(
        ("fmt", "media_type"),
        [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/png")],
    )
    def test_png_jpeg_webp_and_gif_are_taken_and_re_encoded(self, fmt: str, media_type: str) -> None:
        stored = process(pictures.picture(40, 30, "#e03131", fmt), LIMITS)

        assert (stored.media_type, stored.width, stored.height, stored.source_format) == (
            media_type,
            40,
            30,
            fmt,
        )
        with Image.open(io.BytesIO(stored.data)) as again:
            red, green, blue = again.convert("RGB").getpixel((20, 15))  # type: ignore[misc]
        assert red > 200
        assert green < 60
        assert blue < 60

    def test_transparency_is_kept(self) -> None:
        stored = process(pictures.picture(8, 8, "#ff000080", "PNG", alpha=True), LIMITS)
        with Image.open(io.BytesIO(stored.data)) as again:
            assert again.mode == "RGBA"
            assert again.getpixel((4, 4))[3] == 0x80  # type: ignore[index]

    def test_its_name_is_the_sha256_of_what_is_stored_and_the_same_picture_gets_the_same_name(self) -> None:
        upload = pictures.picture()
        assert process(upload, LIMITS).digest == process(upload, LIMITS).digest
        assert len(process(upload, LIMITS).digest) == 64

    def test_a_picture_larger_than_max_image_side_is_scaled_down_to_fit(self) -> None:
        stored = process(pictures.picture(2048, 512), LIMITS)
        assert (stored.width, stored.height) == (1024, 256)


class TestMetadata:
    def test_exif_gps_serial_numbers_and_comments_are_dropped(self) -> None:
        upload = pictures.jpeg_with_metadata()
        assert b"SecretCam" in upload
        assert b"taken at home" in upload

        stored = process(upload, LIMITS)

        assert b"SecretCam" not in stored.data
        assert b"SN-123456" not in stored.data
        assert b"taken at home" not in stored.data
        with Image.open(io.BytesIO(stored.data)) as again:
            assert not again.getexif()

    def test_png_text_chunks_are_dropped(self) -> None:
        upload = pictures.png_with_text()
        assert b"secret-plans" in upload
        stored = process(upload, LIMITS)
        assert b"secret-plans" not in stored.data
        assert b"tEXt" not in stored.data


class TestHostileFiles:
    def test_a_decompression_bomb_is_refused_before_it_is_decoded(self) -> None:
        bomb = pictures.decompression_bomb(30_000)
        assert len(bomb) < 300_000  # small on the wire...

        refused = refusal(bomb)

        assert refused.limit == "max_image_pixels"
        assert refused.status == 413
        assert "900000000" in refused.reason or "max_image_pixels 4000000" in refused.reason

    def test_a_picture_over_max_image_pixels_is_refused_with_the_numbers(self) -> None:
        refused = refusal(pictures.picture(2100, 2000), LIMITS)  # 4.2 M pixels, under Pillow's own guard
        assert refused.limit == "max_image_pixels"
        assert "2100x2000 = 4200000 pixels exceeds max_image_pixels 4000000" in refused.reason

    def test_an_svg_disguised_as_png_is_refused(self) -> None:
        refused = refusal(pictures.SVG_AS_PNG)
        assert (refused.limit, refused.status) == ("image_format", 415)

    def test_a_bmp_whose_extension_lies_is_refused_by_its_content(self) -> None:
        refused = refusal(pictures.picture(10, 10, fmt="BMP"))
        assert (refused.limit, refused.status) == ("image_format", 415)

    def test_a_truncated_file_is_refused_as_corrupt(self) -> None:
        refused = refusal(pictures.truncated_png())
        assert (refused.limit, refused.status) == ("image_corrupt", 422)

    def test_an_empty_upload_and_one_over_max_image_bytes_are_refused(self) -> None:
        assert refusal(b"").limit == "image_format"
        big = refusal(pictures.picture(), ImageLimits(max_bytes=50, max_pixels=10_000, max_side=64))
        assert (big.limit, big.status) == ("max_image_bytes", 413)
        assert "exceeds max_image_bytes 50" in big.reason
