"""The built-in offline sample: 11 classes of synthetic images, written as ordinary JPEG files.

Each class is a shape drawn at a random size, position and angle on a cluttered, noisy background that
also holds a smaller shape of another class. Like a dish's typical colour, each class has a typical hue,
but neighbouring classes' hues overlap and one image in four has a random colour, so colour alone cannot
tell the classes apart; a model must also learn shape. Clutter keeps the best accuracy well below 100 %.
"""

import colorsys
import math
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SHAPES = (
    "circle",
    "square",
    "triangle",
    "diamond",
    "cross",
    "ring",
    "star",
    "hexagon",
    "crescent",
    "stripes",
    "arrow",
)
CLASS_NAMES = tuple(f"synthetic_{shape}" for shape in SHAPES)


def _polygon(
    cx: float, cy: float, radius: float, angle: float, points: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Rotate and scale unit-circle polar points (radius factor, degrees) around a centre."""
    return [
        (cx + radius * r * math.cos(math.radians(a) + angle), cy + radius * r * math.sin(math.radians(a) + angle))
        for r, a in points
    ]


def _regular(sides: int, offset: float = 0.0) -> list[tuple[float, float]]:
    return [(1.0, offset + 360.0 * i / sides) for i in range(sides)]


def _shape_mask(shape: str, size: int, cx: float, cy: float, radius: float, angle: float) -> Image.Image:
    """A greyscale mask (255 inside) of one shape."""
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    box = (cx - radius, cy - radius, cx + radius, cy + radius)
    if shape == "circle":
        draw.ellipse(box, fill=255)
    elif shape == "ring":
        draw.ellipse(box, fill=255)
        inner = radius * 0.55
        draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=0)
    elif shape == "crescent":
        draw.ellipse(box, fill=255)
        dx, dy = radius * 0.5 * math.cos(angle), radius * 0.5 * math.sin(angle)
        draw.ellipse((box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy), fill=0)
    elif shape == "square":
        draw.polygon(_polygon(cx, cy, radius, angle, _regular(4, 45.0)), fill=255)
    elif shape == "diamond":
        draw.polygon(_polygon(cx, cy, radius, angle, [(1.0, 0), (0.55, 90), (1.0, 180), (0.55, 270)]), fill=255)
    elif shape == "triangle":
        draw.polygon(_polygon(cx, cy, radius, angle, _regular(3)), fill=255)
    elif shape == "hexagon":
        draw.polygon(_polygon(cx, cy, radius, angle, _regular(6)), fill=255)
    elif shape == "star":
        draw.polygon(
            _polygon(cx, cy, radius, angle, [(1.0 if i % 2 == 0 else 0.42, 36.0 * i) for i in range(10)]), fill=255
        )
    elif shape == "cross":
        arm = 0.33
        corners = [
            (1, arm),
            (arm, arm),
            (arm, 1),
            (-arm, 1),
            (-arm, arm),
            (-1, arm),
            (-1, -arm),
            (-arm, -arm),
            (-arm, -1),
            (arm, -1),
            (arm, -arm),
            (1, -arm),
        ]
        draw.polygon(
            _polygon(cx, cy, radius, angle, [(math.hypot(x, y), math.degrees(math.atan2(y, x))) for x, y in corners]),
            fill=255,
        )
    elif shape == "arrow":
        outline = [(1, 0), (0.1, 0.7), (0.1, 0.3), (-1, 0.3), (-1, -0.3), (0.1, -0.3), (0.1, -0.7)]
        draw.polygon(
            _polygon(cx, cy, radius, angle, [(math.hypot(x, y), math.degrees(math.atan2(y, x))) for x, y in outline]),
            fill=255,
        )
    elif shape == "stripes":
        for k in (-0.8, -0.2, 0.4):
            band = [(-1, k), (1, k), (1, k + 0.3), (-1, k + 0.3)]
            draw.polygon(
                _polygon(cx, cy, radius, angle, [(math.hypot(x, y), math.degrees(math.atan2(y, x))) for x, y in band]),
                fill=255,
            )
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return mask


HUE_SPREAD = 0.09  # of the colour circle, either way: neighbouring class hues are 1/11 apart
RANDOM_COLOUR_RATE = 0.25


def _random_colour(rng: random.Random) -> tuple[int, int, int]:
    return rng.randrange(256), rng.randrange(256), rng.randrange(256)


def _class_colour(index: int, rng: random.Random) -> tuple[int, int, int]:
    """A saturated colour near the class's hue, or now and then any colour at all."""
    if rng.random() < RANDOM_COLOUR_RATE:
        return _random_colour(rng)
    hue = (index / len(SHAPES) + rng.uniform(-HUE_SPREAD, HUE_SPREAD)) % 1.0
    red, green, blue = colorsys.hsv_to_rgb(hue, rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0))
    return round(red * 255), round(green * 255), round(blue * 255)


def draw_image(index: int, size: int, rng: random.Random, noise: np.random.Generator) -> Image.Image:
    """One image of class `index`: clutter and a distractor shape first, then the class shape on top."""
    shape = SHAPES[index]
    background = noise.normal(rng.randrange(60, 200), 20, (size, size, 3)) + noise.normal(0, 15, (1, 1, 3))
    image = Image.fromarray(np.clip(background, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randrange(2, 6)):
        points = [(rng.uniform(0, size), rng.uniform(0, size)) for _ in range(2)]
        draw.line(points, fill=_random_colour(rng), width=rng.randrange(1, max(2, size // 16)))
    other = rng.choice([i for i in range(len(SHAPES)) if i != index])
    radius = size * rng.uniform(0.1, 0.2)
    mask = _shape_mask(
        SHAPES[other], size, rng.uniform(0, size), rng.uniform(0, size), radius, rng.uniform(0, 2 * math.pi)
    )
    image.paste(_class_colour(other, rng), mask=mask)
    radius = size * rng.uniform(0.25, 0.42)
    margin = radius * 0.8
    centre = (rng.uniform(margin, size - margin), rng.uniform(margin, size - margin))
    image.paste(_class_colour(index, rng), mask=_shape_mask(shape, size, *centre, radius, rng.uniform(0, 2 * math.pi)))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 1.0)))
    grain = noise.normal(0, rng.uniform(5, 20), (size, size, 3))
    return Image.fromarray(np.clip(np.asarray(image, dtype=np.float64) + grain, 0, 255).astype(np.uint8), "RGB")


def write_sample(root: Path, images_per_class: int, image_size: int, seed: int) -> dict[str, int]:
    """Write `images_per_class` JPEGs per class under root/<class>/; return the count per class."""
    counts = {}
    for index, name in enumerate(CLASS_NAMES):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        rng = random.Random(seed * 1000 + index)
        noise = np.random.default_rng([seed, index])
        for number in range(images_per_class):
            draw_image(index, image_size, rng, noise).save(folder / f"{number:04d}.jpg", quality=90)
        counts[name] = images_per_class
    return counts
