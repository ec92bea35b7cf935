"""Image facts read from file headers (no decoding): what every loader would see."""

from __future__ import annotations

from typing import BinaryIO

from PIL import Image

EXIF_ORIENTATION = 0x0112  # orientations 5-8 swap width and height (cv2 applies them)


def header_size(path: str | BinaryIO) -> tuple[int, int] | None:
    """(width, height) as the loaders see the file (a path or an open binary file), from its
    header; None if Pillow cannot parse the header (the loaders may still read the file).
    JPEG EXIF orientations 5-8 swap the sides, because cv2 (mmseg's image loader) applies
    them."""
    try:
        with Image.open(path) as im:
            width, height = im.size
            if im.format == "JPEG" and im.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8):
                width, height = height, width
            return width, height
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
