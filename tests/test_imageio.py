"""Reading images and masks: every accepted format gives the right values, every
refusal raises ImageError with a message that says what was wrong.

All files are built in memory with Pillow and numpy; expected values come from
numpy computations on the same pixels.
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image, ImageFile

from topoviz import imageio
from topoviz.imageio import (
    MAX_BYTES,
    MAX_PIXELS,
    ImageError,
    ImageRead,
    MaskRead,
    load_image,
    load_mask,
    png_bytes,
    read_image,
    read_mask,
    save_png,
    to_uint8,
)

RNG = np.random.default_rng(5)
LUMA = np.array([0.299, 0.587, 0.114])


def encode(image: Image.Image, file_format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=file_format, **options)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A valid 1×1 PNG whose IHDR is patched to claim `width` × `height` pixels."""
    raw = bytearray(encode(Image.new("L", (1, 1))))
    assert raw[12:16] == b"IHDR"
    raw[16:24] = struct.pack(">II", width, height)
    raw[29:33] = struct.pack(">I", zlib.crc32(bytes(raw[12:29])))
    return bytes(raw)


def luma(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., :3].astype(np.float64) @ LUMA) / 255


# ------------------------------------------------------------------ accepted images


def test_eight_bit_grey_is_divided_by_255():
    pixels = RNG.integers(0, 256, (5, 7), dtype=np.uint8)
    read = read_image(encode(Image.fromarray(pixels)))
    assert isinstance(read, ImageRead)
    assert read.array.dtype == np.float32 and read.array.shape == (5, 7)
    np.testing.assert_array_equal(read.array, pixels.astype(np.float32) / np.float32(255))
    assert read.notices == ()
    assert (read.source_mode, read.source_size, read.source_format) == ("L", (7, 5), "PNG")


@pytest.mark.parametrize("file_format", ["PNG", "TIFF"])
@pytest.mark.parametrize("dtype", ["<u2", ">u2"])
def test_sixteen_bit_grey_is_divided_by_65535(file_format, dtype):
    pixels = np.array([[0, 32768], [65535, 1000]], dtype=dtype)
    read = read_image(encode(Image.fromarray(pixels), file_format))
    assert read.source_mode in ("I;16", "I;16B")
    assert read.array[0, 0] == 0 and read.array[1, 0] == 1
    assert read.array[0, 1] == pytest.approx(0.50000763, abs=1e-8)
    np.testing.assert_allclose(read.array, pixels.astype(np.float64) / 65535, rtol=1e-7)
    assert read.notices == ()


def test_big_endian_sixteen_bit_tiff_keeps_its_mode():
    pixels = np.array([[1, 2], [3, 65535]], dtype=">u2")
    read = read_image(encode(Image.fromarray(pixels), "TIFF"))
    assert read.source_mode == "I;16B"
    np.testing.assert_allclose(read.array, pixels.astype(np.float64) / 65535, rtol=1e-7)


def test_thirty_two_bit_integers_are_stretched_by_their_range():
    pixels = np.array([[-100, 0], [400, 900]], dtype=np.int32)
    read = read_image(encode(Image.fromarray(pixels), "TIFF"))
    assert read.source_mode == "I"
    np.testing.assert_allclose(read.array, (pixels + 100) / 1000, rtol=1e-6)
    assert any("-100 to 900" in notice and "stretched" in notice for notice in read.notices)


def test_float_in_unit_range_is_kept_as_it_is():
    pixels = np.array([[0.0, 0.25], [0.125, 1.0]], dtype=np.float32)
    read = read_image(encode(Image.fromarray(pixels), "TIFF"))
    assert read.source_mode == "F"
    np.testing.assert_array_equal(read.array, pixels)
    assert read.notices == ()


def test_float_outside_unit_range_is_stretched_with_a_notice():
    pixels = np.array([[-1.0, 0.0], [1.0, 3.0]], dtype=np.float32)
    read = read_image(encode(Image.fromarray(pixels), "TIFF"))
    np.testing.assert_allclose(read.array, [[0, 0.25], [0.5, 1]])
    assert any("stretched" in notice for notice in read.notices)


def test_float_nan_becomes_the_median_grey_with_a_notice_and_all_nan_is_refused():
    # 0, the darkest value, was read as structure: a NaN block came out as a crack
    pixels = np.array([[np.nan, 0.5], [1.0, np.inf], [0.25, 0.75]], dtype=np.float32)
    read = read_image(encode(Image.fromarray(pixels), "TIFF"))
    np.testing.assert_array_equal(read.array, [[0.625, 0.5], [1, 0.625], [0.25, 0.75]])
    assert any(
        "2 pixels were not numbers" in n and "median grey (0.625)" in n for n in read.notices
    )
    one = read_image(
        encode(Image.fromarray(np.array([[np.nan, 0.5], [0.5, 0.5]], np.float32)), "TIFF")
    )
    assert any(n.startswith("1 pixel was not a number") for n in one.notices)
    mask = read_mask(
        encode(Image.fromarray(np.array([[np.nan, 1.0], [0.0, 0.0]], np.float32)), "TIFF")
    )
    assert mask.mask.tolist() == [[False, True], [False, False]]  # background
    assert any("its background" in n for n in mask.notices)
    # an inverted mask (white cells the majority) is flipped: NaN stays background
    cells = np.ones((6, 6), np.float32)
    cells[2, :] = 0.0
    cells[0, 0] = np.nan
    flipped = read_mask(encode(Image.fromarray(cells), "TIFF"))
    assert flipped.inverted and not flipped.mask[0, 0] and flipped.mask[2].all()
    with pytest.raises(ImageError, match="NaN"):
        read_image(encode(Image.fromarray(np.full((2, 2), np.nan, np.float32)), "TIFF"))


def test_rgb_becomes_itu_601_luma_in_float():
    pixels = RNG.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    read = read_image(encode(Image.fromarray(pixels)))
    np.testing.assert_allclose(read.array, luma(pixels), atol=1e-6)
    assert read.notices == ("Converted RGB to grayscale (luminance 0.299 R + 0.587 G + 0.114 B).",)


def test_rgb_with_identical_channels_is_read_as_grey_exactly():
    grey = RNG.integers(0, 256, (4, 4), dtype=np.uint8)
    read = read_image(encode(Image.fromarray(np.stack([grey] * 3, axis=-1))))
    np.testing.assert_array_equal(read.array, grey.astype(np.float32) / np.float32(255))
    assert read.notices == ()


def test_rgba_ignores_alpha_and_says_so_when_something_is_transparent():
    pixels = RNG.integers(0, 256, (4, 4, 4), dtype=np.uint8)
    pixels[..., 3] = 255
    pixels[0, :2, 3] = 0
    read = read_image(encode(Image.fromarray(pixels)))
    np.testing.assert_allclose(read.array, luma(pixels), atol=1e-6)
    assert any(notice.startswith("Alpha channel ignored: 12%") for notice in read.notices)

    pixels[..., 3] = 255
    assert not any(
        "Alpha" in notice for notice in read_image(encode(Image.fromarray(pixels))).notices
    )


def test_grey_with_alpha():
    grey = RNG.integers(0, 256, (3, 4), dtype=np.uint8)
    alpha = np.full((3, 4), 128, np.uint8)
    read = read_image(encode(Image.fromarray(np.stack([grey, alpha], -1), "LA")))
    np.testing.assert_array_equal(read.array, grey.astype(np.float32) / np.float32(255))
    assert any("Alpha channel ignored: 100%" in notice for notice in read.notices)


@pytest.mark.parametrize("transparent", [False, True])
def test_palette_images_read_their_colours(transparent):
    image = Image.new("P", (4, 3))
    colours = [(0, 0, 0), (255, 0, 0), (10, 200, 30)]
    image.putpalette([value for colour in colours for value in colour])
    indices = np.array([[0, 1, 2, 1], [2, 2, 0, 0], [1, 1, 1, 0]], dtype=np.uint8)
    image.putdata(indices.ravel().tolist())
    options = {"transparency": 0} if transparent else {}
    read = read_image(encode(image, **options))
    np.testing.assert_allclose(read.array, luma(np.array(colours)[indices]), atol=1e-6)
    assert read.source_mode == "P"
    assert any("Palette" in notice for notice in read.notices)
    assert any("Alpha channel ignored" in notice for notice in read.notices) == transparent


def test_cmyk_goes_through_pillows_rgb():
    image = Image.fromarray(RNG.integers(0, 256, (4, 4, 4), dtype=np.uint8), "CMYK")
    read = read_image(encode(image, "TIFF"))
    np.testing.assert_allclose(read.array, luma(np.asarray(image.convert("RGB"))), atol=1e-6)
    assert read.source_mode == "CMYK" and any("CMYK" in notice for notice in read.notices)


def test_one_bit_images_are_zero_and_one():
    pixels = np.array([[True, False, True], [False, False, True]])
    read = read_image(encode(Image.fromarray(pixels)))
    assert read.source_mode == "1"
    np.testing.assert_array_equal(read.array, pixels.astype(np.float32))


def test_ycbcr_uses_its_luma_channel():
    image = Image.fromarray(RNG.integers(0, 256, (3, 3, 3), dtype=np.uint8), "YCbCr")
    read = read_image(encode(image, "TIFF"))
    expected = np.asarray(image.getchannel("Y")).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(read.array, expected)


def test_multipage_tiff_gives_the_first_page_and_says_how_many():
    pages = [Image.new("L", (4, 3), value) for value in (51, 102, 153)]
    read = read_image(encode(pages[0], "TIFF", save_all=True, append_images=pages[1:]))
    np.testing.assert_allclose(read.array, 0.2)
    assert "Multi-page TIFF: used the first of 3 pages." in read.notices


def test_animated_gif_gives_the_first_frame_and_says_how_many():
    frames = [Image.new("L", (4, 4), value) for value in (0, 100, 200, 255)]
    read = read_image(encode(frames[0], "GIF", save_all=True, append_images=frames[1:]))
    np.testing.assert_array_equal(read.array, 0)
    assert "Animated GIF: used the first of 4 frames." in read.notices


@pytest.mark.parametrize("file_format", ["PNG", "JPEG"])
def test_downscale_fits_a_large_image_under_the_limit(file_format):
    pixels = RNG.integers(0, 256, (300, 200, 3), dtype=np.uint8)
    read = read_image(encode(Image.fromarray(pixels), file_format), max_pixels=5000, downscale=True)
    height, width = read.array.shape
    assert height * width <= 5000 and abs(width / height - 2 / 3) < 0.05
    assert read.source_size == (200, 300)
    assert any(f"Downscaled from 200×300 to {width}×{height}" in n for n in read.notices)
    assert 0 <= read.array.min() and read.array.max() <= 1


def test_every_kind_of_source_is_read(tmp_path):
    data = encode(Image.new("L", (3, 2), 255))
    path = tmp_path / "white.png"
    path.write_bytes(data)
    buffer = io.BytesIO(data)
    buffer.read()  # an upload someone already read: read again from its start

    class Stream:  # no seek, like a socket or a pipe
        def __init__(self):
            self.inner = io.BytesIO(data)

        def read(self, size=-1):
            return self.inner.read(size)

    sources = [data, bytearray(data), memoryview(data), str(path), path, buffer, Stream()]
    for source in sources:
        np.testing.assert_array_equal(load_image(source), np.ones((2, 3), np.float32))


def test_exif_orientation_is_reported_not_applied():
    image = Image.new("RGB", (4, 2), (90, 90, 90))
    exif = image.getexif()
    exif[0x0112] = 6
    read = read_image(encode(image, "JPEG", exif=exif))
    assert read.array.shape == (2, 4)
    assert any("EXIF orientation 6" in notice for notice in read.notices)


@settings(max_examples=25, deadline=None)
@given(
    pixels=arrays(np.uint8, st.tuples(st.integers(2, 9), st.integers(2, 9))),
    file_format=st.sampled_from(["PNG", "TIFF"]),
)
def test_eight_bit_round_trip(pixels, file_format):
    read = load_image(encode(Image.fromarray(pixels), file_format))
    np.testing.assert_array_equal(read, pixels.astype(np.float32) / np.float32(255))


@settings(max_examples=25, deadline=None)
@given(
    pixels=arrays(np.uint16, st.tuples(st.integers(2, 9), st.integers(2, 9))),
    file_format=st.sampled_from(["PNG", "TIFF"]),
)
def test_sixteen_bit_round_trip(pixels, file_format):
    read = load_image(encode(Image.fromarray(pixels), file_format))
    np.testing.assert_array_equal(read, pixels.astype(np.float32) / np.float32(65535))


# ------------------------------------------------------------------ refused images


def test_image_error_is_a_value_error():
    assert issubclass(ImageError, ValueError)
    with pytest.raises(ValueError):
        load_image(b"")


def refusal(data, **options) -> str:
    with pytest.raises(ImageError) as caught:
        read_image(data, **options)
    return str(caught.value)


def test_empty_input_is_refused(tmp_path):
    assert "empty (0 bytes)" in refusal(b"")
    (tmp_path / "nothing.png").write_bytes(b"")
    assert "'nothing.png' is empty" in refusal(tmp_path / "nothing.png")


def test_bytes_that_are_no_image_are_refused():
    message = refusal(b"hello, this is a text file")
    assert "not an image" in message and "PNG, TIFF, JPEG" in message
    assert "PDF" in refusal(b"%PDF-1.7\n...")
    assert "NumPy" in refusal(b"\x93NUMPY\x01\x00v\x00")


def test_truncated_png_is_refused():
    data = encode(Image.fromarray(RNG.integers(0, 256, (64, 64), dtype=np.uint8)))
    assert "truncated" in refusal(data[: len(data) // 2])
    assert "damaged or cut short" in refusal(data[:30])  # inside the header


def test_truncated_jpeg_is_refused():
    data = encode(Image.fromarray(RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)), "JPEG")
    assert "truncated" in refusal(data[:-2])
    assert "truncated" in refusal(data[: len(data) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_damaged_pixel_data_is_refused():
    data = encode(Image.fromarray(RNG.integers(0, 256, (32, 32), dtype=np.uint8)))
    start = data.index(b"IDAT") + 4
    broken_stream = data[:start] + bytes(8) + data[start + 8 :]
    assert "damaged" in refusal(broken_stream)
    # a flipped byte that still decodes is caught by the chunk's checksum
    flipped = bytearray(data)
    flipped[start + 100] ^= 0xFF
    assert "checksum" in refusal(bytes(flipped))


def test_too_many_bytes_is_refused_before_reading(tmp_path):
    data = encode(Image.fromarray(RNG.integers(0, 256, (16, 16), dtype=np.uint8)))
    message = refusal(data, max_bytes=100)
    assert f"{len(data):,} bytes" in message and "limit is 100 bytes" in message
    assert "limit is 100 bytes" in refusal(io.BytesIO(data), max_bytes=100)
    huge = tmp_path / "huge.png"
    with open(huge, "wb") as file:  # sparse: costs no disk
        file.truncate(MAX_BYTES + 1)
    assert "the limit is 50 MB" in refusal(huge)


def test_too_many_pixels_is_refused_with_the_limit_and_what_to_do():
    message = refusal(png_claiming(8000, 6000))
    assert "8000×6000" in message and "48 megapixels" in message
    assert "16.8 megapixels" in message and "4729×3547" in message
    assert "downscale=True" in message
    assert "3×3" in refusal(encode(Image.new("L", (4, 4))), max_pixels=9)


@pytest.mark.parametrize(
    "width, height, options",
    [
        (100_000, 100_000, {}),  # beyond Pillow's own hard limit
        (100_000, 100_000, {"downscale": True}),
        (20_000, 20_000, {"downscale": True}),  # > 16 × max_pixels
        (10_000, 10_000, {"downscale": True}),  # Pillow's bomb warning, < 16 × max_pixels
    ],
)
def test_decompression_bomb_is_refused_before_decoding(monkeypatch, width, height, options):
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: decoded.append(image))
    limit_before = Image.MAX_IMAGE_PIXELS
    data = png_claiming(width, height)
    tracemalloc.start()
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning leaks out
        message = refusal(data, **options)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "decompression bomb" in message and "not decoded" in message
    assert seconds < 0.5 and peak < 50e6 and not decoded
    assert Image.MAX_IMAGE_PIXELS == limit_before


def test_bomb_message_names_the_claimed_size():
    message = refusal(png_claiming(9000, 9000), max_pixels=1000, downscale=True)
    assert "9000×9000" in message and "1,000 pixels" in message


@pytest.mark.parametrize("size", [(1, 1), (1, 5), (5, 1)])
def test_images_smaller_than_two_by_two_are_refused(size):
    message = refusal(encode(Image.new("L", size)))
    assert f"{size[0]}×{size[1]}" in message and "at least 2×2" in message


def test_missing_file_and_folder_are_refused(tmp_path):
    assert "no file at" in refusal(tmp_path / "missing.png")
    assert "folder" in refusal(tmp_path)


def test_unsupported_mode_is_refused():
    # No file format Pillow writes opens in this mode, so check the converter itself.
    with pytest.raises(ImageError, match="mode 'RGBa'"):
        imageio._to_working_mode(Image.new("RGBa", (2, 2)), [])


def test_programming_errors_are_type_errors(tmp_path):
    with pytest.raises(TypeError, match="bytes, a path or a binary file"):
        read_image(42)
    path = tmp_path / "image.png"
    path.write_bytes(encode(Image.new("L", (2, 2))))
    with open(path, encoding="utf-8") as text_file, pytest.raises(TypeError, match="binary mode"):
        read_image(text_file)
    with pytest.raises(ValueError, match="max_pixels"):
        read_image(path, max_pixels=0)


# ------------------------------------------------------------------ masks

STRUCTURE = np.zeros((4, 6), dtype=bool)
STRUCTURE[1, :] = True
STRUCTURE[:, 2] = True


@pytest.mark.parametrize(
    "image",
    [
        Image.fromarray(STRUCTURE),  # 1-bit
        Image.fromarray(STRUCTURE.astype(np.uint8)),  # {0, 1}
        Image.fromarray(STRUCTURE.astype(np.uint8) * np.uint8(255)),  # {0, 255}
        Image.fromarray(STRUCTURE.astype(np.uint16) * np.uint16(65535)),  # {0, 65535}
        Image.fromarray(np.where(STRUCTURE, 200, 100).astype(np.uint8)),  # any two greys
        Image.fromarray(np.where(STRUCTURE[..., None], [255, 0, 0], 0).astype(np.uint8)),  # red
    ],
    ids=["1-bit", "0-1", "0-255", "0-65535", "100-200", "rgb"],
)
def test_every_binary_encoding_gives_the_same_mask(image):
    read = read_mask(encode(image), shape=(4, 6))
    assert isinstance(read, MaskRead)
    assert read.mask.dtype == np.bool_
    np.testing.assert_array_equal(read.mask, STRUCTURE)
    assert not read.inverted and not read.resized
    assert not any("binary" in notice for notice in read.notices)


def test_grey_mask_is_thresholded_half_way_with_a_count():
    values = np.where(STRUCTURE, 255, 0).astype(np.uint8)
    values[0, 0], values[3, 5], values[2, 2] = 100, 140, 200  # anti-aliasing
    read = read_mask(encode(Image.fromarray(values)))
    expected = STRUCTURE.copy()
    expected[3, 5] = True
    np.testing.assert_array_equal(read.mask, expected)
    assert any("not binary: 3 pixels (12%)" in notice for notice in read.notices)


def test_inverted_mask_is_detected_and_flipped():
    values = np.where(STRUCTURE, 0, 255).astype(np.uint8)  # black structure on white
    read = read_mask(encode(Image.fromarray(values)))
    np.testing.assert_array_equal(read.mask, STRUCTURE)
    assert read.inverted
    fraction = f"{1 - STRUCTURE.mean():.0%}"
    assert any(f"looked inverted ({fraction} foreground" in n for n in read.notices)
    assert any("white = structure" in notice for notice in read.notices)


def test_polarity_can_be_forced_either_way():
    data = encode(Image.fromarray(np.where(STRUCTURE, 0, 255).astype(np.uint8)))
    kept = read_mask(data, invert_polarity=False)
    np.testing.assert_array_equal(kept.mask, ~STRUCTURE)
    assert not kept.inverted
    # kept as asked, and said: ISBI12's download marks the cells white
    assert len(kept.notices) == 1 and "foreground, kept as given" in kept.notices[0]
    flipped = read_mask(encode(Image.fromarray(STRUCTURE)), invert_polarity=True)
    np.testing.assert_array_equal(flipped.mask, ~STRUCTURE)
    assert flipped.inverted


def test_half_foreground_is_not_inverted():
    values = np.zeros((2, 4), dtype=bool)
    values[:, :2] = True
    assert not read_mask(encode(Image.fromarray(values))).inverted


def test_empty_mask_is_valid_with_a_notice():
    read = read_mask(encode(Image.new("L", (5, 5), 0)))
    assert not read.mask.any() and not read.inverted
    assert any("no foreground" in notice for notice in read.notices)
    white = read_mask(encode(Image.new("L", (5, 5), 255)))  # all structure: no polarity
    assert white.mask.all() and not white.inverted  # to read, so not flipped to empty
    assert load_mask(encode(Image.new("L", (5, 5), 255)), invert_polarity=False).all()


def test_mask_drawn_in_the_alpha_channel():
    rgba = np.zeros((4, 6, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(STRUCTURE, 255, 0)
    read = read_mask(encode(Image.fromarray(rgba)))
    np.testing.assert_array_equal(read.mask, STRUCTURE)
    assert any("alpha channel was read as the mask" in notice for notice in read.notices)


def test_mask_of_another_size_is_refused_with_both_sizes():
    data = encode(Image.fromarray(STRUCTURE))
    with pytest.raises(ImageError) as caught:
        read_mask(data, shape=(5, 8))
    message = str(caught.value)
    assert "6×4" in message and "8×5" in message and "resize=True" in message


def test_mask_resize_is_nearest_neighbour_with_a_notice():
    read = read_mask(encode(Image.fromarray(STRUCTURE)), shape=(8, 12), resize=True)
    np.testing.assert_array_equal(read.mask, STRUCTURE.repeat(2, 0).repeat(2, 1))
    assert read.resized and read.source_size == (6, 4)
    assert any("Resized the mask from 6×4 to 12×8" in notice for notice in read.notices)
    # another aspect ratio cannot be this image's mask: stretched, it would misplace
    # every structure (a CrackForest mask on an ISBI12 slice was scored so)
    with pytest.raises(ImageError, match="another shape, so it is not this image's mask"):
        read_mask(encode(Image.fromarray(STRUCTURE)), shape=(4, 12), resize=True)


def test_an_upload_keeps_only_its_own_mask():
    # the image was 12×8 in its file and shown at 6×4: its 12×8 mask is shrunk with it,
    # a 6×4 mask made for the shown size is taken, and a mask of the same shape but
    # another size (a mask left from the previous image) is refused
    big = STRUCTURE.repeat(2, 0).repeat(2, 1)
    read = read_mask(encode(Image.fromarray(big)), shape=(4, 6), resize=True, native=(8, 12))
    np.testing.assert_array_equal(read.mask, STRUCTURE)
    same = read_mask(encode(Image.fromarray(STRUCTURE)), shape=(4, 6), resize=True, native=(8, 12))
    np.testing.assert_array_equal(same.mask, STRUCTURE)
    other = STRUCTURE.repeat(3, 0).repeat(3, 1)  # 18×12: the same shape, another image's
    with pytest.raises(ImageError, match=r"18×12 pixels but the image is 12×8 \(shown at 6×4\)"):
        read_mask(encode(Image.fromarray(other)), shape=(4, 6), resize=True, native=(8, 12))


def test_a_mask_saved_at_a_fraction_of_the_images_size_is_upscaled_with_a_notice():
    # a 240×160 mask of a 480×320 image was refused as "not this image's mask"
    half = STRUCTURE  # 6×4
    full = STRUCTURE.repeat(2, 0).repeat(2, 1)  # 12×8: the image's size
    read = read_mask(encode(Image.fromarray(half)), shape=(8, 12), resize=True, native=(8, 12))
    np.testing.assert_array_equal(read.mask, full)
    assert read.resized and any("1/2 of the image's 12×8" in n for n in read.notices)
    assert not any("Resized the mask" in n for n in read.notices)  # said once
    two_thirds = STRUCTURE.repeat(4, 0).repeat(4, 1)  # 24×16 against 36×24: 2/3
    with pytest.raises(ImageError, match="not a whole fraction of it"):
        read_mask(encode(Image.fromarray(two_thirds)), shape=(24, 36), resize=True, native=(24, 36))


def test_a_mask_over_the_pixel_limit_shrinks_with_its_image_keeping_thin_lines():
    # one-pixel membranes: a box average would fade them below 0.5 and lose them
    lines = np.zeros((40, 40), np.uint8)
    lines[::8] = 255  # five lines
    read = read_mask(encode(Image.fromarray(lines)), shape=(20, 20), resize=True, max_pixels=400)
    assert read.mask.shape == (20, 20)
    assert read.mask.any(axis=1).sum() == 5  # every line is still there, none doubled
    inverted = read_mask(
        encode(Image.fromarray(255 - lines)), shape=(20, 20), resize=True, max_pixels=400
    )  # black lines on white: the same structure
    np.testing.assert_array_equal(inverted.mask, read.mask)
    with pytest.raises(ImageError, match="more than the limit"):
        read_mask(encode(Image.fromarray(lines)), shape=(20, 20), max_pixels=400)


def test_mask_refusals_are_the_image_refusals():
    with pytest.raises(ImageError, match="The mask file is empty"):
        read_mask(b"")
    with pytest.raises(ImageError, match="more than the limit") as caught:
        read_mask(encode(Image.new("L", (8, 8))), max_pixels=16)
    assert "downscale=True" not in str(caught.value)  # masks are never downscaled
    with pytest.raises(ImageError, match="at least 2×2"):
        load_mask(encode(Image.new("1", (1, 1))))


@settings(max_examples=25, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(2, 9), st.integers(2, 9))))
def test_mask_round_trip_through_save_png(mask):
    buffer = io.BytesIO()
    save_png(mask, buffer)
    np.testing.assert_array_equal(load_mask(buffer, invert_polarity=False), mask)


# ------------------------------------------------------------------ writing


def test_to_uint8():
    np.testing.assert_array_equal(to_uint8(np.array([True, False])), [255, 0])
    np.testing.assert_array_equal(
        to_uint8(np.array([-1, 0, 0.5, 1, 2, np.nan])), [0, 0, 128, 255, 255, 0]
    )
    np.testing.assert_array_equal(to_uint8(np.array([0, 257, 65535], np.uint16)), [0, 1, 255])
    assert to_uint8(np.array([7], np.uint8))[0] == 7
    with pytest.raises(TypeError, match="int64"):
        to_uint8(np.array([1, 2], np.int64))


@settings(max_examples=25, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(2, 9), st.integers(2, 9)),
        elements=st.floats(0, 1, width=32),
    )
)
def test_png_bytes_round_trip(likelihood):
    eight = load_image(png_bytes(likelihood))
    np.testing.assert_allclose(eight, to_uint8(likelihood) / 255, atol=1e-7)
    sixteen = load_image(png_bytes(likelihood, bits=16))
    np.testing.assert_allclose(sixteen, likelihood, atol=0.5 / 65535 + 1e-7)


def test_save_png_to_a_path_and_refusals(tmp_path):
    rgb = RNG.integers(0, 256, (3, 4, 3), dtype=np.uint8)
    save_png(rgb, tmp_path / "rgb.png")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "rgb.png")), rgb)
    with pytest.raises(ValueError, match="16-bit"):
        png_bytes(rgb, bits=16)
    with pytest.raises(ValueError, match="shape"):
        png_bytes(np.zeros(5))


def test_limits_are_documented_numbers():
    assert MAX_PIXELS == 4096 * 4096 and MAX_BYTES == 50_000_000


def test_a_photograph_given_as_a_mask_is_refused_and_a_soft_mask_is_not():
    rng = np.random.default_rng(0)
    photo = (rng.normal(128, 25, (40, 40)).clip(0, 255)).astype(np.uint8)
    photo[0, 0], photo[1, 1] = 0, 255  # its full range, most of it mid-grey
    with pytest.raises(ImageError, match="looks like an image, not a mask"):
        read_mask(encode(Image.fromarray(photo)))
    # a mask saved as a JPEG (ringing at every edge) or blurred is still read
    big = np.zeros((64, 64), np.uint8)
    big[:, 30:33] = big[20:23, :] = 255
    for q in (95, 10):
        buf = io.BytesIO()
        Image.fromarray(big).save(buf, format="JPEG", quality=q)
        read = read_mask(buf.getvalue())
        assert (read.mask[:, 31]).all() and not read.mask[5, 5]
    from scipy import ndimage as ndi

    soft = (ndi.gaussian_filter(big.astype(float), 1.5)).round().astype(np.uint8)
    assert read_mask(encode(Image.fromarray(soft))).mask[40, 31]


def test_a_cameras_12_bit_data_in_a_16_bit_file_is_said_to_look_near_black():
    """A microscope's 12-bit image stored as 16 bits (values 150..3950) is near black
    read as / 65535 (at most 0.06): it was read so without a word. It is still read
    so (a dim 16-bit likelihood is right as it is), and a notice says how to fix it."""
    import io

    from PIL import Image

    raw = np.linspace(150, 3950, 64 * 64).reshape(64, 64).astype(np.uint16)
    for fmt in ("TIFF", "PNG"):
        buffer = io.BytesIO()
        Image.fromarray(raw).save(buffer, format=fmt)
        read = read_image(buffer.getvalue())
        np.testing.assert_allclose(read.array, raw / 65535, rtol=1e-6)
        assert len(read.notices) == 1 and "uses 6% of its range" in read.notices[0]
        assert "12-bit data, rescale it (value / 4,095)" in read.notices[0]
    buffer = io.BytesIO()
    Image.fromarray((raw // 16).astype(np.uint16)).save(buffer, format="PNG")  # 8-bit data
    said = read_image(buffer.getvalue()).notices
    assert len(said) == 1 and "8-bit data, rescale it (value / 255)" in said[0]
    full = raw.astype(np.uint32) * 16  # the same picture over the whole 16-bit range
    buffer = io.BytesIO()
    Image.fromarray(full.astype(np.uint16)).save(buffer, format="PNG")
    assert read_image(buffer.getvalue()).notices == ()
    mask = np.zeros((64, 64), np.uint16)
    mask[:, 5] = 4095
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, format="PNG")
    assert read_mask(buffer.getvalue()).notices == ()  # a mask's two levels: nothing to say


def test_a_transposed_mask_is_said_to_be_one():
    """A mask of the image's size with width and height swapped was refused as any
    other size; the message now says it looks rotated or transposed."""
    mask = np.zeros((256, 200), bool)
    mask[:, 5] = True
    for resize in (False, True):
        with pytest.raises(ImageError, match="width and height are the image's swapped"):
            read_mask(png_bytes(mask), shape=(200, 256), resize=resize)
    with pytest.raises(ImageError) as refused:
        read_mask(png_bytes(mask), shape=(100, 256))
    assert "swapped" not in str(refused.value)
