"""Read images and masks from files and uploads; refuse bad input with a clear message.

Everything the app, the command line and the notebooks read goes through here, so
that one set of rules decides what is accepted and one voice explains what is not:

* :func:`read_image` / :func:`load_image` give the image as ``float32`` H×W in
  [0, 1] (the start of the DESIGN's walk of the data);
* :func:`read_mask` / :func:`load_mask` give a ground-truth mask as ``bool`` H×W,
  ``True`` = the thin structure (membrane, vessel, crack, road);
* :func:`to_uint8`, :func:`png_bytes` and :func:`save_png` go the other way, for
  display and downloads.

Whatever is wrong with an input (not an image, empty, truncated, too many bytes or
pixels, a decompression bomb, smaller than 2×2, a pixel format we cannot read, a
mask of the wrong size) raises :class:`ImageError`, a ``ValueError`` whose message
says what was wrong and what to do. Whatever was *changed* on the way in (a colour
image made grey, the first page of a multi-page TIFF taken, a mask flipped) is told
in the ``notices`` of the result, one plain sentence each, for the page to show.

Size limits are checked on the header, before any pixel is decoded, so a hostile
file costs neither time nor memory. Pillow's own guard against decompression bombs
is kept and its warning turned into a refusal, locally, without changing
``PIL.Image.MAX_IMAGE_PIXELS`` or ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES``.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from dataclasses import dataclass
from typing import BinaryIO, Literal, TypeAlias

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = [
    "MAX_BYTES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "BOMB_FACTOR",
    "ImageError",
    "ImageRead",
    "MaskRead",
    "read_image",
    "load_image",
    "read_mask",
    "load_mask",
    "to_uint8",
    "png_bytes",
    "save_png",
]

#: Most pixels an image may have: 4096 × 4096 = 16,777,216 (16.8 megapixels).
#: A float32 copy is then 64 MiB, and a whole-image persistence diagram still
#: takes seconds, not minutes.
MAX_PIXELS = 4096 * 4096

#: Most bytes a file may have: 50 MB (50,000,000 bytes), checked before reading.
MAX_BYTES = 50_000_000

#: Smallest width and height: the topology of a 1-pixel-wide image is trivial and
#: the cubical complex needs at least one square (2×2 pixels).
MIN_SIDE = 2

#: A header claiming more than ``BOMB_FACTOR * max_pixels`` pixels is refused
#: outright, even with ``downscale=True``: no real upload is that large, but a
#: decompression bomb (a small file that unpacks to gigabytes) is.
BOMB_FACTOR = 16

#: Anything :func:`read_image` and :func:`read_mask` read from.
ImageSource: TypeAlias = "bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO"

# ITU-R BT.601 luma, the weights of Pillow's ``convert("L")``.
_LUMA = (0.299, 0.587, 0.114)

# What a file that Pillow cannot identify probably is, and what to do, for the message.
_DAMAGED = "Save or download it again and retry."
_SIGNATURES = (
    (b"\x89PNG", "a PNG image whose header is damaged or cut short", _DAMAGED),
    (b"\xff\xd8\xff", "a JPEG image whose header is damaged or cut short", _DAMAGED),
    (b"GIF8", "a GIF image whose header is damaged or cut short", _DAMAGED),
    (b"II*\x00", "a TIFF image whose header is damaged or cut short", _DAMAGED),
    (b"MM\x00*", "a TIFF image whose header is damaged or cut short", _DAMAGED),
    (b"%PDF", "a PDF document", "Export the page as a PNG or TIFF image."),
    (b"\x93NUMPY", "a NumPy array (.npy)", "Save the array as a PNG or TIFF image."),
    (b"PK\x03\x04", "a ZIP archive (or .npz, .docx)", "Unpack the image from it."),
    (b"<svg", "a vector drawing (SVG)", "Export it as a PNG image."),
    (b"<?xml", "a text (XML) file", "Export the image as PNG."),
    (b"<!DOCTYPE", "a web page (HTML)", "Download the image itself, not the page."),
    (b"<html", "a web page (HTML)", "Download the image itself, not the page."),
)

_FORMATS_WE_READ = "PNG, TIFF, JPEG, BMP or GIF"


class ImageError(ValueError):
    """An image or mask that cannot be used, with a message for a person.

    The message says what was wrong with the input and what to do about it; the
    app shows it as it is. It is a ``ValueError``, so code that already guards
    against bad values catches it too.

    Examples
    --------
    >>> try:
    ...     load_image(b"")
    ... except ImageError as error:
    ...     print(error)
    The file is empty (0 bytes). Choose an image file that has content.
    """


@dataclass(frozen=True, eq=False)
class ImageRead:
    """An image as read by :func:`read_image`.

    Attributes
    ----------
    array : np.ndarray
        ``float32``, shape (H, W), values in [0, 1]; 1 = white.
    notices : tuple of str
        What was changed on the way in, one sentence each (may be empty).
    source_mode : str
        Pillow's pixel format of the file, e.g. ``"L"``, ``"I;16"``, ``"RGBA"``.
    source_size : tuple of int
        (width, height) of the file, before any downscaling.
    source_format : str
        The file format, e.g. ``"PNG"``, ``"TIFF"``.
    """

    array: np.ndarray
    notices: tuple[str, ...]
    source_mode: str
    source_size: tuple[int, int]
    source_format: str = ""


@dataclass(frozen=True, eq=False)
class MaskRead:
    """A ground-truth mask as read by :func:`read_mask`.

    Attributes
    ----------
    mask : np.ndarray
        ``bool``, shape (H, W); ``True`` = the thin structure (membrane, vessel,
        crack, road), the foreground of the paper.
    notices : tuple of str
        What was changed on the way in, one sentence each (may be empty).
    inverted : bool
        Whether the values were flipped (auto-detected or asked for).
    resized : bool
        Whether the mask was resized to the requested shape.
    source_mode : str
        Pillow's pixel format of the file.
    source_size : tuple of int
        (width, height) of the file, before any resizing.
    """

    mask: np.ndarray
    notices: tuple[str, ...]
    inverted: bool
    resized: bool
    source_mode: str = ""
    source_size: tuple[int, int] = (0, 0)


# --------------------------------------------------------------------------- reading


def read_image(
    data: ImageSource,
    *,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
    downscale: bool = False,
) -> ImageRead:
    """Read an image file or upload as grey levels in [0, 1], telling what changed.

    Parameters
    ----------
    data : bytes, str, os.PathLike or binary file
        The file's bytes, its path, or an open binary file (e.g. Streamlit's
        ``UploadedFile``; it is read from its start).
    max_pixels : int, optional
        Most pixels accepted (width × height); default :data:`MAX_PIXELS`.
    max_bytes : int, optional
        Most bytes accepted; default :data:`MAX_BYTES`.
    downscale : bool, optional
        If True, an image with more than `max_pixels` pixels is shrunk to fit,
        with a notice, instead of refused; but not one above ``BOMB_FACTOR *
        max_pixels`` or Pillow's own bomb limit ``PIL.Image.MAX_IMAGE_PIXELS``
        (89.5 megapixels by default), which is refused as a likely bomb.

    Returns
    -------
    ImageRead
        ``array`` (``float32`` H×W in [0, 1]), ``notices``, ``source_mode``,
        ``source_size`` (W, H) and ``source_format``.

    Raises
    ------
    ImageError
        If the input is empty, not an image, truncated or damaged, has too many
        bytes or pixels, looks like a decompression bomb, is smaller than 2×2, or
        has a pixel format that cannot be read. The message says which, and what
        to do.

    Notes
    -----
    Grey levels by pixel format (Pillow's mode):

    * ``1`` and ``L`` (8-bit): value / 1 or / 255;
    * ``I;16``, ``I;16B`` (16-bit): value / 65535, so 32768 → 0.50000763 (notice
      when every value stays below 256, 1024, 4096 or 16384: 8-bit data or a
      camera's 10-, 12- or 14-bit data look near black so);
    * ``I`` (32-bit integer) and signed 16-bit: stretched from the image's own
      minimum…maximum to 0…1 (notice);
    * ``F`` (32-bit float): kept if already within [0, 1], else stretched (notice);
      NaN and infinities become 0 (notice);
    * ``RGB``, ``RGBX``: ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B computed in
      float, not rounded to 8 bits (notice); identical channels are taken as they are;
    * ``P`` (palette): the palette's colours, then luma (notice);
    * ``CMYK``: Pillow's plain CMYK → RGB (no colour profile), then luma (notice);
    * ``YCbCr``: its Y channel; ``LAB``: its L channel; ``HSV``: via RGB (notice);
    * ``LA``, ``RGBA``, ``PA``: alpha ignored (notice when a pixel is not opaque).

    Multi-page TIFFs and animations give their first page or frame (notice with
    the count). An EXIF orientation is reported but not applied, so that the
    pixels line up with a mask drawn on the stored image.

    Sizes are checked on the header before decoding; decoding is then forced
    whole, so a truncated file is refused rather than padded with grey, and a
    PNG's chunk checksums are verified, so flipped bytes are refused too. With
    ``downscale=True`` JPEGs are decoded at reduced size (``Image.draft``) and
    other formats decoded whole, then box-filtered to fit.

    The decompression-bomb warning is caught with :func:`warnings.catch_warnings`,
    which in Python < 3.14 briefly changes the process's warning filters.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buffer = io.BytesIO()
    >>> Image.new("I;16", (3, 2), 32768).save(buffer, format="PNG")
    >>> read = read_image(buffer.getvalue())
    >>> read.array.shape, read.array.dtype, float(read.array[0, 0])
    ((2, 3), dtype('float32'), 0.5000076293945312)
    >>> read.source_mode, read.source_size, read.notices
    ('I;16', (3, 2), ())
    """
    grey = _read_grey(
        data,
        max_pixels=max_pixels,
        max_bytes=max_bytes,
        downscale=downscale,
        kind="image",
    )
    return ImageRead(
        array=grey.values,
        notices=tuple(grey.notices),
        source_mode=grey.mode,
        source_size=grey.size,
        source_format=grey.format,
    )


def load_image(
    data: ImageSource,
    *,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
    downscale: bool = False,
) -> np.ndarray:
    """Read an image as ``float32`` H×W in [0, 1]; :func:`read_image` without notices.

    Parameters
    ----------
    data : bytes, str, os.PathLike or binary file
        The file's bytes, its path, or an open binary file.
    max_pixels, max_bytes, downscale
        As in :func:`read_image`.

    Returns
    -------
    np.ndarray
        ``float32``, shape (H, W), values in [0, 1].

    Raises
    ------
    ImageError
        As :func:`read_image`.

    Notes
    -----
    The notices (what was converted) are dropped; use :func:`read_image` where a
    person should see them.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buffer = io.BytesIO()
    >>> Image.new("L", (4, 4), 255).save(buffer, format="PNG")
    >>> load_image(buffer).max()
    np.float32(1.0)
    """
    return read_image(data, max_pixels=max_pixels, max_bytes=max_bytes, downscale=downscale).array


def read_mask(
    data: ImageSource,
    *,
    shape: tuple[int, int] | None = None,
    resize: bool = False,
    invert_polarity: bool | None = None,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
    native: tuple[int, int] | None = None,
) -> MaskRead:
    """Read a ground-truth mask as ``bool`` H×W, ``True`` = the thin structure.

    Parameters
    ----------
    data : bytes, str, os.PathLike or binary file
        The file's bytes, its path, or an open binary file.
    shape : tuple of int, optional
        (height, width) the mask must have, usually ``image.shape``. A mask of
        another size is refused, unless `resize` is True.
    resize : bool, optional
        Resize a mask of another size to `shape` (nearest neighbour), with a
        notice, instead of refusing it: an image downscaled on reading
        (:func:`read_image`'s ``downscale``) keeps its mask. A mask of another
        aspect ratio is refused all the same (it cannot be this image's), and a
        mask over `max_pixels` is shrunk rather than refused, its structure kept
        wherever it covers any of a new pixel (one-pixel lines survive).
    native : tuple of int, optional
        With `resize`: (height, width) of the image's file before it was
        downscaled. Then only a mask of that size (or of `shape`) is taken; one of
        any other size belongs to another image and is refused.
    invert_polarity : bool or None, optional
        None (default) flips the mask when more than half of it is foreground,
        since the thin structure is the minority; True always flips; False never.
    max_pixels, max_bytes : int, optional
        As in :func:`read_image`.

    Returns
    -------
    MaskRead
        ``mask`` (``bool`` H×W), ``notices``, ``inverted``, ``resized``,
        ``source_mode`` and ``source_size``.

    Raises
    ------
    ImageError
        For every refusal of :func:`read_image`, and for a mask whose size is not
        `shape` (message gives both sizes) when `resize` is False.

    Notes
    -----
    The file is read as grey levels exactly as in :func:`read_image` (colour and
    palette masks through luma), then made binary:

    * two grey levels (0/1, 0/255, 0/65535, bool, or any two): the brighter one
      is the structure;
    * more (anti-aliased or compressed masks): thresholded half way between the
      darkest and the brightest level, i.e. at half the maximum when the darkest
      is 0, with a notice counting the pixels that were neither;
    * one grey level: all background if black, else all foreground. If the grey
      levels are uniform but the alpha channel is not, the alpha channel is the
      mask (notice).

    Then the polarity: with ``invert_polarity=None``, a mask more than 50 %
    foreground is flipped (``inverted=True``, notice). An empty mask is valid and
    gets a notice.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from PIL import Image
    >>> values = np.zeros((4, 4), dtype=np.uint8)
    >>> values[1, :] = 255
    >>> buffer = io.BytesIO()
    >>> Image.fromarray(values).save(buffer, format="PNG")
    >>> read = read_mask(buffer.getvalue(), shape=(4, 4))
    >>> read.mask.sum(), read.inverted, read.notices
    (np.int64(4), False, ())
    """
    target = _check_shape(shape)
    native = _check_shape(native)
    grey = _read_grey(
        data,
        max_pixels=max_pixels,
        max_bytes=max_bytes,
        downscale=resize and target is not None,
        kind="mask",
    )
    notices = grey.notices
    values = grey.values
    if grey.alpha is not None and values.min() == values.max() and grey.alpha.min() < 1:
        values = grey.alpha
        notices.append(
            "The mask's grey levels were all the same but its transparency was not, "
            "so the alpha channel was read as the mask (opaque = structure)."
        )

    mask = _binarise(values, notices)

    resized = False
    width, height = grey.size
    other_image = native is not None and (height, width) not in (target, native)
    fraction = other_image and _fraction(width, height, native[1], native[0])
    if fraction:
        other_image = False  # the image's mask saved at a half, a third, ... of its size
        notices.append(
            f"The mask is {width}×{height} pixels, 1/{fraction} "
            f"of the image's {native[1]}×{native[0]} on each side: read as this image's mask "
            f"at a lower resolution and resized to {target[1]}×{target[0]} (nearest "
            "neighbour), so its edges are blocky, and a structure thinner than a pixel at "
            "that resolution may come out broken (see the ground truth's Betti numbers). "
            "Upload the full-size mask if you have it."
        )
    if resize and target is not None and other_image:
        raise ImageError(
            f"The mask is {width}×{height} pixels but the image is {native[1]}×{native[0]}"
            + (f" (shown at {target[1]}×{target[0]})" if native != target else "")
            + _swapped(width, height, native[1], native[0])
            + (
                ": the same shape, larger, so it was not taken for this image's mask. "
                "Resize it to the image's size or upload the mask made for this image."
                if _same_aspect(width, height, native[1], native[0]) and width > native[1]
                else ": the same shape at another scale, but not a whole fraction of it (a "
                "half, a third, ...), so it was not taken for this image's mask. Resize it "
                "to the image's size (nearest neighbour) or upload the mask made for this "
                "image."
                if _same_aspect(width, height, native[1], native[0])
                else ": it is not this image's mask. Upload the mask made for this image."
            )
        )
    if target is not None and mask.shape != target:
        mask = _fit_mask(mask, target, resize, notices, (height, width), fraction=bool(fraction))
        resized = True

    fraction = float(mask.mean())
    # all foreground (or all background) is no polarity to read: kept as it is, as a
    # flip made an all-white mask an empty one
    guess = 0.5 < fraction < 1.0
    inverted = guess if invert_polarity is None else bool(invert_polarity)
    if inverted:
        mask = ~mask
        if invert_polarity is None:
            notices.append(
                f"The mask looked inverted ({_percent(fraction)} foreground, but the thin "
                "structure is normally the minority); flipped so that white = structure."
            )
        else:
            notices.append("Flipped the mask as asked, so that its dark pixels are the structure.")
    elif fraction > 0.5:  # kept as asked, but say so: ISBI12's download marks cells white
        notices.append(
            f"The mask is {_percent(fraction)} foreground, kept as given (white = "
            "structure); if its white marks the regions between the structures, invert it."
        )
    if not mask.any():
        notices.append("The mask has no foreground (every pixel is background).")

    return MaskRead(
        mask=mask,
        notices=tuple(notices),
        inverted=inverted,
        resized=resized,
        source_mode=grey.mode,
        source_size=(width, height),
    )


def load_mask(
    data: ImageSource,
    *,
    shape: tuple[int, int] | None = None,
    resize: bool = False,
    invert_polarity: bool | None = None,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
) -> np.ndarray:
    """Read a mask as ``bool`` H×W; :func:`read_mask` without notices.

    Parameters
    ----------
    data : bytes, str, os.PathLike or binary file
        The file's bytes, its path, or an open binary file.
    shape, resize, invert_polarity, max_pixels, max_bytes
        As in :func:`read_mask`.

    Returns
    -------
    np.ndarray
        ``bool``, shape (H, W), ``True`` = the thin structure.

    Raises
    ------
    ImageError
        As :func:`read_mask`.

    Notes
    -----
    Polarity is still auto-detected (see :func:`read_mask`); only the notices are
    dropped.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buffer = io.BytesIO()
    >>> Image.new("1", (3, 3), 0).save(buffer, format="PNG")
    >>> load_mask(buffer).any()
    np.False_
    """
    return read_mask(
        data,
        shape=shape,
        resize=resize,
        invert_polarity=invert_polarity,
        max_pixels=max_pixels,
        max_bytes=max_bytes,
    ).mask


# --------------------------------------------------------------------------- writing


def to_uint8(array: np.ndarray) -> np.ndarray:
    """Convert an image, likelihood or mask to ``uint8`` 0…255 for display or saving.

    Parameters
    ----------
    array : np.ndarray
        ``bool`` (True → 255), ``uint8`` (kept), ``uint16`` (/ 257, rounded) or
        floating point in [0, 1] (× 255, rounded). Any shape.

    Returns
    -------
    np.ndarray
        ``uint8``, same shape; a new array.

    Raises
    ------
    TypeError
        For any other dtype.

    Notes
    -----
    Floating values outside [0, 1] are clipped and NaN becomes 0, so a slightly
    overshooting likelihood still displays.

    Examples
    --------
    >>> to_uint8(np.array([0.0, 0.5, 1.0, 2.0]))
    array([  0, 128, 255, 255], dtype=uint8)
    >>> to_uint8(np.array([True, False]))
    array([255,   0], dtype=uint8)
    """
    array = np.asarray(array)
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if array.dtype == np.uint8:
        return array.copy()
    if array.dtype == np.uint16:
        return ((array.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        scaled = np.clip(np.nan_to_num(array.astype(np.float64), nan=0.0), 0.0, 1.0)
        return np.rint(scaled * 255).astype(np.uint8)
    raise TypeError(
        f"to_uint8 takes bool, uint8, uint16 or floating arrays in [0, 1], not {array.dtype}."
    )


def png_bytes(array: np.ndarray, *, bits: Literal[8, 16] = 8) -> bytes:
    """Encode an image, likelihood or mask as PNG bytes (for a download button).

    Parameters
    ----------
    array : np.ndarray
        H×W (grey), H×W×3 (RGB) or H×W×4 (RGBA); dtypes as :func:`to_uint8`.
    bits : {8, 16}, optional
        8 (default) or 16 bits per sample; 16 only for H×W, and keeps a float
        likelihood to 1/65535.

    Returns
    -------
    bytes
        A PNG file.

    Raises
    ------
    ValueError
        For another shape, or ``bits=16`` with colour.

    Notes
    -----
    Reading the PNG back with :func:`load_image` gives ``to_uint8(array) / 255``
    (or the 16-bit equivalent).

    Examples
    --------
    >>> data = png_bytes(np.array([[0.0, 1.0], [1.0, 0.0]]))
    >>> data[:4], load_image(data).tolist()
    (b'\\x89PNG', [[0.0, 1.0], [1.0, 0.0]])
    """
    buffer = io.BytesIO()
    _to_pil(array, bits).save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(
    array: np.ndarray,
    path_or_buffer: str | os.PathLike[str] | BinaryIO,
    *,
    bits: Literal[8, 16] = 8,
) -> None:
    """Save an image, likelihood or mask as a PNG file.

    Parameters
    ----------
    array : np.ndarray
        H×W, H×W×3 or H×W×4; dtypes as :func:`to_uint8`.
    path_or_buffer : str, os.PathLike or binary file
        Where to write; an open file is written at its position and left open.
    bits : {8, 16}, optional
        Bits per sample, as in :func:`png_bytes`.

    Raises
    ------
    ValueError
        For a shape that is not an image, or ``bits=16`` with colour.

    Notes
    -----
    Same encoding as :func:`png_bytes`.

    Examples
    --------
    >>> buffer = io.BytesIO()
    >>> save_png(np.eye(3, dtype=bool), buffer)
    >>> load_mask(buffer).sum()
    np.int64(3)
    """
    _to_pil(array, bits).save(path_or_buffer, format="PNG")


def _to_pil(array: np.ndarray, bits: int) -> Image.Image:
    array = np.asarray(array)
    colour = array.ndim == 3 and array.shape[2] in (3, 4)
    if array.ndim != 2 and not colour:
        raise ValueError(f"A PNG needs an H×W, H×W×3 or H×W×4 array, not shape {array.shape}.")
    if bits == 8:
        return Image.fromarray(to_uint8(array))
    if bits != 16:
        raise ValueError(f"bits must be 8 or 16, not {bits!r}.")
    if colour:
        raise ValueError("16-bit PNGs are written for grey (H×W) arrays only.")
    if array.dtype == np.uint16:
        values = array
    elif array.dtype == np.uint8:
        values = array.astype(np.uint16) * np.uint16(257)
    else:
        values = _to_uint16(array)
    return Image.fromarray(np.ascontiguousarray(values))


def _to_uint16(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.bool_:
        return array.astype(np.uint16) * np.uint16(65535)
    if np.issubdtype(array.dtype, np.floating):
        scaled = np.clip(np.nan_to_num(array.astype(np.float64), nan=0.0), 0.0, 1.0)
        return np.rint(scaled * 65535).astype(np.uint16)
    raise TypeError(
        f"png_bytes takes bool, uint8, uint16 or floating arrays in [0, 1], not {array.dtype}."
    )


# --------------------------------------------------------------------------- internals


@dataclass
class _Grey:
    values: np.ndarray  # float32 H×W in [0, 1]
    alpha: np.ndarray | None  # float32 H×W in [0, 1], or None
    notices: list[str]
    mode: str
    size: tuple[int, int]
    format: str


def _read_grey(
    data: ImageSource,
    *,
    max_pixels: int,
    max_bytes: int,
    downscale: bool,
    kind: Literal["image", "mask"],
) -> _Grey:
    """Read, check and decode one image; grey levels in [0, 1] plus notices."""
    _check_limit("max_pixels", max_pixels)
    _check_limit("max_bytes", max_bytes)
    raw, what = _read_bytes(data, max_bytes, noun="file" if kind == "image" else "mask file")
    notices: list[str] = []
    # Pillow's bomb warning is recorded here (never shown) and acted on in
    # _check_size; the warning filters are restored on leaving the block.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", Image.DecompressionBombWarning)
        try:
            with _open(raw, what) as image:
                width, height = image.size
                bomb_warned = any(
                    issubclass(w.category, Image.DecompressionBombWarning) for w in caught
                )
                target = _check_size(
                    width, height, what, max_pixels, bomb_warned, downscale, kind == "image"
                )
                notices += _frames_notice(image, what)
                notices += _orientation_notice(image)
                if target != (width, height) and image.format == "JPEG":
                    # decode at 1/2, 1/4 or 1/8 size straight away
                    image.draft(image.mode if image.mode in ("L", "RGB") else None, target)
                _decode(image, what)
                _verify_checksums(raw, image.format, what)
                mode, file_format = image.mode, image.format or ""
                working = _to_working_mode(image, notices)
                if target != (working.width, working.height):
                    shrink = _shrink_mask if kind == "mask" else _shrink
                    working = shrink(working, target, what)
                    notices.append(
                        f"Downscaled from {width}×{height} to {target[0]}×{target[1]} "
                        f"pixels to stay within the limit of {_megapixels(max_pixels)}."
                    )
                values, alpha = _grey_levels(working, notices, scale_notices=kind == "image")
        except Image.DecompressionBombError as error:  # raised by open, seek or load
            raise ImageError(_bomb_message(what, max_pixels)) from error
    return _Grey(values, alpha, notices, mode, (width, height), file_format)


def _bomb_message(what: str, max_pixels: int, size: tuple[int, int] | None = None) -> str:
    if size is None:  # Pillow refused it before telling us the size
        claim = (
            f"claims to be an image of more than {_megapixels(2 * (Image.MAX_IMAGE_PIXELS or 0))}"
        )
        advice = f"downscale it to at most {_megapixels(max_pixels)}"
    else:
        width, height = size
        fitted = _fit(width, height, max_pixels)
        claim = f"claims to be {width}×{height} pixels ({_megapixels(width * height)})"
        advice = f"downscale it to at most {fitted[0]}×{fitted[1]}"
    return (
        f"{what} {claim}, far more than the limit of {_megapixels(max_pixels)}. It was not "
        "decoded: a header this large usually means a damaged file or a decompression "
        "bomb (a small file that unpacks to gigabytes). If it is a real image, "
        f"{advice} before uploading."
    )


def _shrink_mask(image: Image.Image, target: tuple[int, int], what: str) -> Image.Image:
    """A decoded mask down to `target` (width, height), black and white, keeping every
    thin structure: binarised at mid-grey, its minority (the structure) kept wherever
    it covers any of a new pixel. An average would fade a one-pixel membrane below
    the threshold, and a nearest-neighbour pick would step over it."""
    try:
        grey = image.convert("L" if image.mode in ("L", "LA", "RGB", "RGBA") else "F")
    except (ValueError, OSError) as error:
        raise ImageError(f"{what} is too large, and its pixel format cannot be shrunk.") from error
    values = np.asarray(grey, np.float32)
    on = values > (float(values.min()) + float(values.max())) / 2
    flip = on.mean() > 0.5  # the structure is the minority
    structure = Image.fromarray((on ^ flip).astype(np.uint8) * np.uint8(255))
    kept = np.asarray(structure.resize(target, Image.Resampling.BOX)) > 0
    return Image.fromarray((kept ^ flip).astype(np.uint8) * np.uint8(255))


def _shrink(image: Image.Image, target: tuple[int, int], what: str) -> Image.Image:
    """Box-filter (average) a decoded image down to `target` (width, height)."""
    try:
        return image.resize(target, Image.Resampling.BOX)
    except (ValueError, OSError) as error:  # a rare mode Pillow cannot resample
        raise ImageError(
            f"{what} is too large, and its pixel format (Pillow mode {image.mode!r}) "
            "cannot be downscaled here. Downscale it in an image editor and retry."
        ) from error


def _read_bytes(data: ImageSource, max_bytes: int, noun: str) -> tuple[bytes, str]:
    """The whole file as bytes, and how to name it in a message."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw, what = bytes(data), f"The {noun}"
    elif isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        what = f"The {noun} {os.path.basename(path)!r}"
        try:
            if os.path.isdir(path):
                raise ImageError(f"{path!r} is a folder, not an image file.")
            size = os.path.getsize(path)
            if size > max_bytes:
                raise ImageError(_too_many_bytes(what, size, max_bytes))
            with open(path, "rb") as file:
                raw = file.read(max_bytes + 1)
        except FileNotFoundError as error:
            raise ImageError(f"There is no file at {path!r}. Check the path.") from error
        except OSError as error:
            raise ImageError(f"Could not open {path!r}: {error.strerror or error}.") from error
    elif isinstance(data, io.TextIOBase):
        raise TypeError("The file must be opened in binary mode ('rb'), not as text.")
    elif hasattr(data, "read"):
        name = getattr(data, "name", None)
        what = f"The {noun}" + (f" {os.path.basename(name)!r}" if isinstance(name, str) else "")
        try:
            size = data.seek(0, os.SEEK_END)
            data.seek(0)
        except (AttributeError, OSError, io.UnsupportedOperation):
            size = None  # a stream: read from where it is
        if size is not None and size > max_bytes:
            raise ImageError(_too_many_bytes(what, size, max_bytes))
        raw = data.read(max_bytes + 1)
        if not isinstance(raw, (bytes, bytearray)):
            raise TypeError("The file must be opened in binary mode ('rb'), not as text.")
        raw = bytes(raw)
    else:
        raise TypeError(
            "read_image and read_mask take bytes, a path or a binary file, "
            f"not {type(data).__name__}."
        )
    if not raw:
        raise ImageError(f"{what} is empty (0 bytes). Choose an image file that has content.")
    if len(raw) > max_bytes:  # only a stream gets here without its size known
        exact = isinstance(data, (bytes, bytearray, memoryview))
        raise ImageError(_too_many_bytes(what, len(raw), max_bytes, at_least=not exact))
    return raw, what


def _open(raw: bytes, what: str) -> Image.Image:
    """Identify the file and read its header only (Pillow opens lazily)."""
    try:
        return Image.open(io.BytesIO(raw))
    except Image.DecompressionBombError:
        raise  # _read_grey words it
    except UnidentifiedImageError as error:
        start = raw.lstrip()[:16]
        guess = next((found for found in _SIGNATURES if start.startswith(found[0])), None)
        if guess is None:
            advice = f"Upload a {_FORMATS_WE_READ} file."
        else:
            advice = f"It looks like {guess[1]}. {guess[2]}"
        raise ImageError(f"{what} is not an image that can be read. {advice}") from error
    except Exception as error:  # a plugin choking on a damaged header
        raise ImageError(
            f"{what} could not be read: its header is damaged ({error}). "
            "Save or download it again and retry."
        ) from error


def _check_size(
    width: int,
    height: int,
    what: str,
    max_pixels: int,
    bomb_warned: bool,
    downscale: bool,
    may_downscale: bool,
) -> tuple[int, int]:
    """Refuse a header that is too small, too large or absurd; the size to decode to."""
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageError(
            f"{what} is only {width}×{height} pixels. Topology needs at least "
            f"{MIN_SIDE}×{MIN_SIDE} pixels; use a larger image."
        )
    pixels = width * height
    if pixels <= max_pixels:
        return width, height
    if pixels > BOMB_FACTOR * max_pixels or bomb_warned:
        raise ImageError(_bomb_message(what, max_pixels, (width, height)))
    fitted = _fit(width, height, max_pixels)
    if not downscale:
        raise ImageError(
            f"{what} is {width}×{height} pixels ({_megapixels(pixels)}), more than the "
            f"limit of {_megapixels(max_pixels)}. Downscale it to at most "
            f"{fitted[0]}×{fitted[1]} and try again"
            + (" (or read it with downscale=True)." if may_downscale else ".")
        )
    if min(fitted) < MIN_SIDE:
        raise ImageError(
            f"{what} is {width}×{height} pixels: too large, and too narrow to shrink "
            f"below {_megapixels(max_pixels)} while keeping {MIN_SIDE} pixels across. "
            "Crop it and try again."
        )
    return fitted


def _fit(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The largest size of the same aspect ratio with at most `max_pixels` pixels."""
    scale = math.sqrt(max_pixels / (width * height))
    fitted_width, fitted_height = int(width * scale), int(height * scale)
    while fitted_width * fitted_height > max_pixels:  # guards float rounding
        fitted_width, fitted_height = fitted_width - 1, fitted_height - 1
    return max(fitted_width, 1), max(fitted_height, 1)


def _frames_notice(image: Image.Image, what: str) -> list[str]:
    try:
        count = int(getattr(image, "n_frames", 1))
    except Image.DecompressionBombError:
        raise
    except Exception:  # a damaged later frame: the first is still what we read
        count = 1
    try:
        if image.tell() != 0:  # counting may leave a later frame selected
            image.seek(0)
    except Exception as error:
        raise ImageError(f"{what} is damaged: its first frame cannot be found.") from error
    if count <= 1:
        return []
    if image.format == "TIFF":
        return [f"Multi-page TIFF: used the first of {count} pages."]
    name = {"GIF": "Animated GIF", "PNG": "Animated PNG", "WEBP": "Animated WebP"}.get(
        image.format or "", f"{image.format} with several frames"
    )
    return [f"{name}: used the first of {count} frames."]


def _orientation_notice(image: Image.Image) -> list[str]:
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:  # unreadable EXIF is no reason to refuse the pixels
        return []
    if orientation in (1, None):
        return []
    return [
        f"The file asks to be shown rotated or mirrored (EXIF orientation {orientation}); "
        "its pixels are used as stored, so that they line up with a mask."
    ]


def _decode(image: Image.Image, what: str) -> None:
    """Decode every pixel now, so that a truncated file fails here, with a message."""
    try:
        image.load()
    except MemoryError as error:
        raise ImageError(f"{what} is too large to decode in the memory available.") from error
    except Image.DecompressionBombError:
        raise  # _read_grey words it
    except Exception as error:
        text = str(error)
        if isinstance(error, EOFError) or "truncated" in text.lower():
            raise ImageError(
                f"{what} ends early: it is truncated (cut short while uploading, "
                "downloading or saving). Save or download it again and retry."
            ) from error
        raise ImageError(
            f"{what} is damaged: its pixel data could not be decoded ({text}). "
            "Save or download it again and retry."
        ) from error


def _verify_checksums(raw: bytes, file_format: str | None, what: str) -> None:
    """Check a PNG's chunk checksums, which decoding skips for the pixel data."""
    if file_format != "PNG":
        return
    try:
        with Image.open(io.BytesIO(raw)) as image:
            image.verify()
    except Exception as error:
        raise ImageError(
            f"{what} is damaged: a checksum inside it does not match, so some of its "
            "bytes were changed or lost. Save or download it again and retry."
        ) from error


def _to_working_mode(image: Image.Image, notices: list[str]) -> Image.Image:
    """The image in one of L, LA, RGB, RGBA, I;16*, I, F (modes that resize well)."""
    mode = image.mode
    if mode == "1":
        return image.convert("L")
    if mode in ("L", "LA", "RGB", "RGBA", "I", "F") or mode.startswith("I;"):
        return image
    if mode == "RGBX":
        return image.convert("RGB")
    if mode in ("P", "PA"):
        notices.append("Palette image: looked up its colours in the palette.")
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    if mode == "CMYK":
        notices.append("Converted CMYK to RGB (plain formula, without a colour profile).")
        return image.convert("RGB")
    if mode == "YCbCr":
        notices.append("YCbCr image: used its Y (luminance) channel.")
        return image.getchannel("Y")
    if mode == "LAB":
        notices.append("Lab image: used its L (lightness) channel.")
        return image.getchannel("L")
    if mode == "HSV":
        notices.append("Converted HSV to RGB.")
        return image.convert("RGB")
    raise ImageError(
        f"This image stores its pixels as Pillow mode {mode!r}, which TopoViz cannot "
        "read. Save it as an 8- or 16-bit grayscale or an RGB PNG or TIFF and retry."
    )


def _grey_levels(
    image: Image.Image, notices: list[str], *, scale_notices: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Grey levels (float32 in [0, 1]) and alpha (or None) of a working-mode image."""
    mode = image.mode
    pixels = np.asarray(image)
    alpha = None
    if mode in ("LA", "RGBA"):
        alpha = pixels[..., -1].astype(np.float32) / np.float32(255)
        pixels = pixels[..., :-1]
        opaque = alpha == 1
        if not opaque.all():
            notices.append(
                f"Alpha channel ignored: {_percent(1 - float(opaque.mean()))} of the pixels "
                "are transparent or partly so; their stored grey levels were used."
            )
    if mode == "L" or mode == "LA":
        values = pixels.reshape(pixels.shape[:2]).astype(np.float32) / np.float32(255)
    elif mode in ("RGB", "RGBA"):
        red, green, blue = (pixels[..., channel] for channel in range(3))
        if np.array_equal(red, green) and np.array_equal(green, blue):
            values = red.astype(np.float32) / np.float32(255)
        else:
            values = np.zeros(red.shape, dtype=np.float32)
            for weight, channel in zip(_LUMA, (red, green, blue), strict=True):
                values += np.float32(weight / 255) * channel
            np.clip(values, 0, 1, out=values)
            notices.append("Converted RGB to grayscale (luminance 0.299 R + 0.587 G + 0.114 B).")
    elif pixels.dtype.kind == "u" and pixels.dtype.itemsize == 2:
        values = pixels.astype(np.float32) / np.float32(65535)
        if scale_notices:  # a mask's levels are binarised: nothing to say of its scale
            _dim_sixteen_bit(pixels, notices)
    elif mode == "F":
        values = _stretch(pixels.astype(np.float32), notices, "Floating-point", scale_notices)
    elif pixels.dtype.kind in "iu":
        bits = f"{pixels.dtype.itemsize * 8}-bit integer"
        values = _stretch(pixels, notices, bits, scale_notices)
    else:  # pragma: no cover - every working mode is handled above
        raise ImageError(f"Pillow mode {mode!r} cannot be read as grey levels.")
    return np.ascontiguousarray(values, dtype=np.float32), alpha


#: Bit depths written into 16-bit files (microscopes: 10, 12 or 14 bits; 8 bits, too).
_CAMERA_BITS = (8, 10, 12, 14)


def _dim_sixteen_bit(pixels: np.ndarray, notices: list[str]) -> None:
    """A notice when a 16-bit image stays below 2**b for a camera's bit depth b
    (:data:`_CAMERA_BITS`): a 12-bit microscope image read as / 65535 is near black
    (6 % of the range), and a net sees nothing like its training data. Only said,
    not rescaled: a 16-bit likelihood of a dark f (``png_bytes(f, bits=16)``) is as
    dim, and is read right as it is.

    Examples
    --------
    >>> said = []
    >>> _dim_sixteen_bit(np.array([150, 3950], np.uint16), said); said[0][:52]
    'This 16-bit image uses 6% of its range (highest 3,95'
    """
    top = int(pixels.max()) if pixels.size else 0
    bits = next((b for b in _CAMERA_BITS if 0 < top < 2**b), None)  # all black: no word
    if bits is not None:
        notices.append(
            f"This 16-bit image uses {_percent(top / 65535)} of its range (highest {top:,}), "
            f"read as value / 65,535: it looks near black. If it holds a camera's {bits}-bit "
            f"data, rescale it (value / {2**bits - 1:,}) before uploading, so that a net "
            "sees the contrast it was trained on."
        )


def _stretch(pixels: np.ndarray, notices: list[str], what: str, scale_notices: bool) -> np.ndarray:
    """Float or 32-bit values to [0, 1]: kept if already there, else min-max."""
    finite = np.isfinite(pixels) if pixels.dtype.kind == "f" else None
    if finite is not None and not finite.all():
        if not finite.any():
            raise ImageError(
                "Every pixel of this image is NaN or infinite; there is nothing to show."
            )
        count = int(finite.size - np.count_nonzero(finite))
        pixels = np.where(finite, pixels, np.nan)
        low, high = float(np.nanmin(pixels)), float(np.nanmax(pixels))
    else:
        low, high = float(pixels.min()), float(pixels.max())
    if pixels.dtype.kind == "f" and 0 <= low and high <= 1:
        values = pixels.astype(np.float32)
    elif high == low:
        values = np.zeros(pixels.shape, dtype=np.float32)
        if scale_notices:
            notices.append(f"{what} image with every pixel {low:g}: shown as black.")
    else:
        values = ((pixels.astype(np.float64) - low) / (high - low)).astype(np.float32)
        if scale_notices:
            notices.append(f"{what} image with values from {low:g} to {high:g}: stretched to 0–1.")
    if finite is not None and not finite.all():
        # the median: 0, the darkest value, a net reads as structure (a NaN block came
        # out outlined as a crack); in a mask the median is the majority's level, which
        # is background whichever way the mask is drawn (0 became structure once an
        # inverted mask was flipped)
        fill = float(np.median(values[finite]))
        values = np.where(finite, values, np.float32(fill))
        was = "pixel was not a number" if count == 1 else "pixels were not numbers"
        notices.append(
            f"{count:,} {was} (NaN or infinite): "
            + (
                f"set to the image's median grey ({fill:.3g}). They are still scored with "
                "the rest of the image."
                if scale_notices
                else "read as the mask's majority level, its background."
            )
        )
    return values


#: The most pixels a mask may have in the middle half of its grey range (see _binarise).
MASK_MIDDLE_MAX = 0.5


def _binarise(values: np.ndarray, notices: list[str]) -> np.ndarray:
    """Foreground of a grey-level mask: the brighter level, or above half way."""
    low, high = float(values.min()), float(values.max())
    if low == high:  # one grey level: background if black, else all foreground
        return np.full(values.shape, high > 0)
    darkest, brightest = values == low, values == high
    between = int(values.size - np.count_nonzero(darkest) - np.count_nonzero(brightest))
    if between == 0:
        return brightest
    # a mask, even a JPEG or a blurred one, keeps most pixels near its two levels; a
    # photograph has most of them in the middle (`python bench/bench_mask_check.py`:
    # the photographs of ../shared/data 53–100 %, their labels as JPEG at quality 10
    # at most 4 %, blurred by σ = 2 px at most 21 %)
    unit = (values - low) / (high - low)
    middle = float(np.count_nonzero((unit > 0.25) & (unit < 0.75))) / values.size
    if middle > MASK_MIDDLE_MAX:
        raise ImageError(
            f"This looks like an image, not a mask: {_percent(middle)} of its pixels lie in "
            "the middle of its grey range, where a mask has two levels (structure and "
            "background). Upload the ground-truth mask (a black-and-white image); a map "
            "that numbers its regions 1, 2, 3… is not read either: save its structure "
            "white on black."
        )
    notices.append(
        f"The mask was not binary: {between:,} pixels ({_percent(between / values.size)}) "
        "were neither its darkest nor its brightest grey; thresholded half way between."
    )
    return values >= np.float32((low + high) / 2)


def _fraction(width: int, height: int, image_width: int, image_height: int) -> int:
    """k (2 to 8) when a mask of ``width``×``height`` is the image's size divided by k on
    both sides (rounded either way), else 0.

    >>> _fraction(240, 160, 480, 320), _fraction(171, 107, 512, 320), _fraction(300, 200, 480, 320)
    (2, 3, 0)
    >>> _fraction(240, 320, 480, 320), _fraction(480, 320, 480, 320)
    (0, 0)
    """
    for k in range(2, 9):
        if abs(width * k - image_width) < k and abs(height * k - image_height) < k:
            return k
    return 0


def _same_aspect(width: int, height: int, image_width: int, image_height: int) -> bool:
    return abs(width / height - image_width / image_height) <= 0.01 * (image_width / image_height)


def _swapped(width: int, height: int, image_width: int, image_height: int) -> str:
    """Words for a mask whose width and height are the image's swapped, else "".

    >>> print(_swapped(200, 256, 256, 200))
     (its width and height are the image's swapped: saved rotated or transposed?)
    >>> _swapped(100, 100, 100, 100), _swapped(20, 30, 40, 60)
    ('', '')
    """
    if (width, height) == (image_height, image_width) and width != height:
        return " (its width and height are the image's swapped: saved rotated or transposed?)"
    return ""


def _fit_mask(
    mask: np.ndarray,
    target: tuple[int, int],
    resize: bool,
    notices: list[str],
    file_size: tuple[int, int],
    fraction: bool = False,
) -> np.ndarray:
    """Resize a mask to (H, W) = `target` (nearest neighbour), or refuse: with
    `resize` False, or when its aspect ratio differs (it cannot be the image's
    mask: stretched, every structure would be out of place). `file_size` (H, W) is
    the mask file's size, for the messages. `fraction`: the mask is the image's size
    divided by a whole number, said already (a rounded side is no other aspect)."""
    height, width = file_size
    target_height, target_width = target
    if not resize:
        raise ImageError(
            f"The mask is {width}×{height} pixels but the image is "
            f"{target_width}×{target_height} (width×height)"
            + _swapped(width, height, target_width, target_height)
            + ". Use the mask made for this image, or resize it to the image's size (or "
            "read it with resize=True)."
        )
    if not fraction and not _same_aspect(width, height, target_width, target_height):
        raise ImageError(
            f"The mask is {width}×{height} pixels but the image is {target_width}×"
            f"{target_height}{_swapped(width, height, target_width, target_height)}: another "
            "shape, so it is not this image's mask (stretched to fit, every structure would "
            "be out of place). Upload the mask made for this image."
        )
    resized = Image.fromarray(mask.astype(np.uint8) * np.uint8(255)).resize(
        (target_width, target_height), Image.Resampling.NEAREST
    )
    if not fraction:
        notices.append(
            f"Resized the mask from {width}×{height} to {target_width}×{target_height} pixels "
            "(nearest neighbour) to fit the image."
        )
    return np.asarray(resized) > 127


def _check_shape(shape: tuple[int, int] | None) -> tuple[int, int] | None:
    if shape is None:
        return None
    try:
        height, width = (int(side) for side in shape)
    except (TypeError, ValueError) as error:
        raise ValueError(f"shape must be (height, width), not {shape!r}.") from error
    if height < 1 or width < 1:
        raise ValueError(f"shape must be positive, not {shape!r}.")
    return height, width


def _check_limit(name: str, value: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}.")


def _too_many_bytes(what: str, size: int, max_bytes: int, at_least: bool = False) -> str:
    amount = f"more than {_megabytes(max_bytes)}" if at_least else _megabytes(size)
    return (
        f"{what} is {amount}; the limit is {_megabytes(max_bytes)}. Save a smaller or "
        "compressed version (for example a PNG, or a downscaled image) and try again."
    )


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.3g} MB" if size >= 100_000 else f"{size:,} bytes"


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.3g} megapixels" if pixels >= 100_000 else f"{pixels:,} pixels"


def _percent(fraction: float) -> str:
    return f"{fraction:.0%}" if fraction >= 0.01 or fraction == 0 else f"{fraction:.2%}"
