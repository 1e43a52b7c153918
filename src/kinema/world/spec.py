"""The vocabulary of the procedural world and the frozen dataclasses that describe one scene.

A `SceneSpec` is the whole truth about a clip: the renderer turns it into pixels, the caption
writer into words, and the analytic checker judges generated videos against it. Positions and
speeds are in frame-normalised units (x in widths, y in heights, y grows downwards) and time in
seconds, so one spec renders consistently at any size, frame count and frame rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star")

# Saturated hues at least 24 degrees apart; every background and decoration stays below
# saturation 0.45, so an object's colour alone separates it from the scene.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (222, 38, 38),
    "orange": (245, 132, 24),
    "yellow": (238, 212, 28),
    "green": (40, 182, 62),
    "cyan": (28, 196, 210),
    "blue": (40, 82, 228),
    "purple": (142, 58, 204),
    "pink": (236, 88, 172),
}

# Radius of the circle of equal area, as a fraction of the frame's shorter side.
SIZES: dict[str, float] = {"small": 0.08, "medium": 0.12, "large": 0.16}

DIRECTIONS: dict[str, tuple[float, float]] = {
    "left": (-1.0, 0.0),
    "right": (1.0, 0.0),
    "up": (0.0, -1.0),
    "down": (0.0, 1.0),
    "up-left": (-1.0, -1.0),
    "up-right": (1.0, -1.0),
    "down-left": (-1.0, 1.0),
    "down-right": (1.0, 1.0),
}
MOTIONS: tuple[str, ...] = ("still", *DIRECTIONS, "bounce", "circle", "grow", "shrink", "spin")

# Speed along the direction of travel, in frame units per second (diagonals included).
SPEEDS: dict[str, float] = {"slow": 0.1, "fast": 0.2}

PLAIN_BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "gray": (128, 128, 128),
    "beige": (222, 206, 178),
    "white": (236, 236, 232),
    "charcoal": (52, 54, 58),
}
BACKGROUNDS: tuple[str, ...] = (*PLAIN_BACKGROUNDS, "sky", "grass", "night", "stripes")
# Backgrounds with texture in their far and near layers, so a camera pan is visible.
PANNABLE_BACKGROUNDS: tuple[str, ...] = ("sky", "grass", "night", "stripes")

CAMERA_PANS: tuple[str, ...] = ("none", "left", "right")
# Screen speed of the near layer (and the objects) during a pan, in widths per second;
# the far layer moves at PARALLAX_FAR times that.
PAN_SPEED = 0.1
PARALLAX_FAR = 0.35

WEATHERS: tuple[str, ...] = ("none", "snow", "rain")

# Top of the ground band that objects rest and bounce on, in heights.
FLOOR_Y = 0.86

# Seconds per bounce, growth doubling time, spin and circling rates.
BOUNCE_PERIOD = 0.9
SCALE_DOUBLING_SECONDS = 3.0
SPIN_RADIANS_PER_SECOND = 1.5707963267948966  # a quarter turn per second
CIRCLE_RADIANS_PER_SECOND = 2.5132741228718345  # one revolution per 2.5 s

OCCLUDER_COLOUR = (128, 96, 80)


@dataclass(frozen=True)
class ObjectSpec:
    """One object: what it is, where it starts and how it moves."""

    shape: str
    colour: str
    size: str
    motion: str = "still"
    speed: str | None = None  # "slow" or "fast" for the eight directions, else None
    x: float = 0.5  # start centre, widths
    y: float = 0.5  # start centre, heights
    bounce_height: float = 0.3  # apex height above the floor contact, heights
    phase: float = 0.0  # bounce/circle phase in [0, 1)
    turn: int = 1  # +1 clockwise, -1 counter-clockwise (spin and circle)
    circle_radius: float = 0.15  # frame units

    def __post_init__(self) -> None:
        _check_choice("shape", self.shape, SHAPES)
        _check_choice("colour", self.colour, tuple(COLOURS))
        _check_choice("size", self.size, tuple(SIZES))
        _check_choice("motion", self.motion, MOTIONS)
        if self.motion in DIRECTIONS:
            _check_choice("speed", self.speed, tuple(SPEEDS))
        elif self.speed is not None:
            raise ValueError(
                f"speed applies only to directional motions ({', '.join(DIRECTIONS)}); "
                f"got speed={self.speed!r} for motion={self.motion!r}: use speed=None"
            )
        if self.turn not in (1, -1):
            raise ValueError(f"turn must be 1 or -1; got {self.turn}")


@dataclass(frozen=True)
class Occluder:
    """A wall standing on the floor; objects pass behind it."""

    x: float  # centre, widths
    width: float  # fraction of the frame's shorter side
    top: float = 0.12  # heights

    def __post_init__(self) -> None:
        if not 0.0 < self.width <= 1.0:
            raise ValueError(f"occluder width must be in (0, 1] of the shorter side; got {self.width}")
        if not 0.0 <= self.top < FLOOR_Y:
            raise ValueError(f"occluder top must be in [0, {FLOOR_Y}) heights; got {self.top}")


@dataclass(frozen=True)
class SceneSpec:
    """A whole clip: background, up to three objects, optional wall, camera pan and weather."""

    objects: tuple[ObjectSpec, ...]
    background: str = "gray"
    camera_pan: str = "none"
    weather: str = "none"
    occluder: Occluder | None = None
    seed: int = 0  # seeds the background and weather details (clouds, stars, flakes)
    duration: float = 2.125  # seconds the scene was laid out for; rendering may ask for less or more

    def __post_init__(self) -> None:
        if not 1 <= len(self.objects) <= 3:
            raise ValueError(f"a scene holds 1 to 3 objects; got {len(self.objects)}")
        colours = [obj.colour for obj in self.objects]
        if len(set(colours)) != len(colours):
            raise ValueError(f"objects in one scene must have distinct colours; got {colours}")
        _check_choice("background", self.background, BACKGROUNDS)
        _check_choice("camera_pan", self.camera_pan, CAMERA_PANS)
        _check_choice("weather", self.weather, WEATHERS)
        if not self.duration > 0:
            raise ValueError(f"duration must be positive seconds; got {self.duration}")
        if self.camera_pan != "none" and self.background not in PANNABLE_BACKGROUNDS:
            raise ValueError(
                f"a camera pan needs a textured background {PANNABLE_BACKGROUNDS}; got {self.background!r}"
            )

    @property
    def count(self) -> int:
        return len(self.objects)


@dataclass(frozen=True)
class Attributes:
    """What a prompt says about one object; None means the prompt leaves it open."""

    shape: str | None = None
    colour: str | None = None
    size: str | None = None
    motion: str | None = None
    speed: str | None = None
    travels: bool = False  # with no motion named, a verb says it goes somewhere ("a dog running")


@dataclass(frozen=True)
class SceneAttributes:
    """What a prompt says about a scene, as the checker and prompt expansion consume it."""

    objects: tuple[Attributes, ...] = ()
    background: str | None = None
    camera_pan: str | None = None
    weather: str | None = None
    occluder: bool | None = None
    unknown_words: tuple[str, ...] = field(default=())

    @property
    def count(self) -> int | None:
        return len(self.objects) or None


def attributes_of(spec: SceneSpec) -> SceneAttributes:
    """The full attribute set of a rendered scene (every field known)."""
    return SceneAttributes(
        objects=tuple(Attributes(o.shape, o.colour, o.size, o.motion, o.speed) for o in spec.objects),
        background=spec.background,
        camera_pan=spec.camera_pan,
        weather=spec.weather,
        occluder=spec.occluder is not None,
    )


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
