"""The words and set phrases the prompt reader knows, each with its role ("colour", "motion", ...) and value.

Synonyms map onto the world's own vocabulary (`kinema.world.spec`): "crimson" is red, "ball" a
circle, "descending" down. `prompts` reads prompts with this lexicon; `spelling` corrects typos
towards it; tests draw paraphrases from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Word:
    """One recognised word or set phrase: its role and the value it names."""

    kind: str
    value: object = None
    plural: bool = False
    verb: bool = False  # direction verbs ("falling"), which weather words swallow ("snow is falling")


COLOUR_SYNONYMS: dict[str, tuple[str, ...]] = {
    "red": ("red", "crimson", "scarlet", "ruby", "cherry"),
    "orange": ("orange", "amber", "tangerine"),
    "yellow": ("yellow", "gold", "golden", "lemon"),
    "green": ("green", "emerald", "lime"),
    "cyan": ("cyan", "teal", "turquoise", "aqua"),
    "blue": ("blue", "navy", "azure", "cobalt"),
    "purple": ("purple", "violet", "lavender", "indigo"),
    "pink": ("pink", "rose", "fuchsia", "magenta"),
}
# Colours people name that no object in the world has; reported with the colours it does have.
FOREIGN_COLOURS: tuple[str, ...] = (
    "brown", "silver", "maroon", "olive", "tan", "khaki", "bronze", "copper", "ivory",
)  # fmt: skip
SIZE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "small": ("small", "little", "tiny", "mini"),
    "medium": ("medium", "medium sized", "mid sized", "average sized", "middle sized"),
    "large": ("large", "big", "huge", "giant", "enormous", "massive"),
}
SHAPE_NOUNS: dict[str, tuple[str, ...]] = {
    "circle": ("circle", "ball", "sphere", "orb", "disc", "disk", "dot", "balloon", "bubble", "marble", "snowball",
               "planet", "bead", "moon"),
    "square": ("square", "box", "block", "cube", "tile"),
    "triangle": ("triangle", "pyramid"),
    "star": ("star",),
}
SHAPE_ADJECTIVES: dict[str, tuple[str, ...]] = {
    "circle": ("round", "circular", "spherical"),
    "square": ("square shaped", "boxy"),
    "triangle": ("triangular", "triangle shaped"),
    "star": ("star shaped",),
}
# Shapes people name that the world does not draw: an object whose shape the world picks, reported
# with the shapes it has ("a heart" is one object, not an unknown word and nothing).
FOREIGN_SHAPES: tuple[str, ...] = (
    "rectangle", "oblong", "oval", "ellipse", "diamond", "rhombus", "heart", "hexagon", "pentagon", "octagon",
    "polygon", "crescent", "donut", "doughnut", "cylinder", "cone", "arrow", "trapezoid",
)  # fmt: skip
GENERIC_NOUNS: tuple[str, ...] = ("shape", "object", "thing", "item")
# Words that hand the motion after them to every object so far ("..., all spinning").
DISTRIBUTIVE_WORDS: tuple[str, ...] = ("all", "both", "each", "every", "they", "them")
# "two balls: the first red, the other blue": each names the next member of the plural before it, as "one" does.
ORDINAL_WORDS: tuple[str, ...] = ("first", "second", "third", "1st", "2nd", "3rd", "other", "former", "latter")
COUNT_WORDS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "single": 1, "another": 1, "1": 1,
    "two": 2, "pair": 2, "couple": 2, "2": 2,
    "three": 3, "3": 3,
    # More than a scene holds: read, so that expansion can say so ("4 objects (a scene holds at most 3)").
    "four": 4, "4": 4, "five": 5, "5": 5, "six": 6, "6": 6, "several": 4, "many": 5,
    "multiple": 3, "a few": 3, "few": 3, "a group of": 3, "a bunch of": 4, "a handful of": 4,
    "lots of": 5, "lots": 5, "a lot of": 5, "plenty of": 5, "numerous": 5,
}  # fmt: skip
# Horizontal and vertical components, screen convention (up is -1).
DIRECTION_COMPONENTS: dict[str, tuple[tuple[int, int], tuple[str, ...]]] = {
    "left": ((-1, 0), ("left", "leftward", "leftwards", "west")),
    "right": ((1, 0), ("right", "rightward", "rightwards", "east")),
    "up": ((0, -1), ("up", "upward", "upwards", "upper", "top", "north", "uphill", "skyward", "skywards")),
    "down": ((0, 1), ("down", "downward", "downwards", "lower", "bottom", "south", "downhill")),
    "up-left": ((-1, -1), ("northwest",)),
    "up-right": ((1, -1), ("northeast",)),
    "down-left": ((-1, 1), ("southwest",)),
    "down-right": ((1, 1), ("southeast",)),
}
DIRECTION_VERBS: dict[tuple[int, int], tuple[str, ...]] = {
    (0, 1): ("fall", "falls", "falling", "drop", "drops", "dropping", "sink", "sinks", "sinking",
             "descend", "descends", "descending", "pour", "pours", "pouring", "sets", "setting"),
    (0, -1): ("rise", "rises", "rising", "climb", "climbs", "climbing", "ascend", "ascends", "ascending"),
}  # fmt: skip
# Senses of turning: a path round a circle, unless the object already spins in place ("spinning clockwise").
ROTATION_SENSES: tuple[str, ...] = (
    "clockwise", "counterclockwise", "anticlockwise", "counter clockwise", "anti clockwise",
)  # fmt: skip
MOTION_SYNONYMS: dict[str, tuple[str, ...]] = {
    "still": ("still", "stationary", "motionless", "static", "resting", "rests", "at rest", "unmoving", "immobile",
              "not moving", "isnt moving", "not move", "doesnt move", "does not move", "stays put", "stay put",
              "staying put", "stays in place", "stay in place", "staying in place", "hover", "hovers", "hovering"),
    "bounce": ("bounce", "bounces", "bouncing", "bouncy", "jump", "jumps", "jumping", "hop", "hops", "hopping",
               "up and down"),
    "circle": ("circling", "orbit", "orbits", "orbiting", "revolve", "revolves", "revolving", "loop", "loops",
               "looping", "in a circle", "in circles", "in a loop", "going round", "going around", "goes round",
               "goes around", "round and round", *ROTATION_SENSES,
               *(f"{verb}{around} {other}" for verb in ("", "spinning ", "spin ", "spins ", "rotating ", "dancing ")
                 for around in ("around", "round") for other in ("each other", "one another"))),
    "grow": ("grow", "grows", "growing", "expand", "expands", "expanding", "inflate", "inflates", "inflating",
             "enlarge", "enlarges", "enlarging", "swell", "swells", "swelling", "bigger", "larger",
             "towards the camera", "toward the camera", "towards the viewer", "toward the viewer", "approaching",
             "approaches", "closer"),
    "shrink": ("shrink", "shrinks", "shrinking", "contract", "contracts", "contracting", "deflate", "deflates",
               "deflating", "dwindle", "dwindles", "dwindling", "smaller", "away from the camera",
               "away from the viewer", "into the distance", "receding", "recedes", "farther away", "further away",
               "away"),  # "a car driving away": from the viewer (away from each other is "apart", below)
    "spin": ("spin", "spins", "spinning", "rotate", "rotates", "rotating", "twirl", "twirls", "twirling",
             "turn", "turns", "turning", "whirl", "whirls", "whirling", "turning round", "turns round",
             "spinning round"),
}  # fmt: skip
SPEED_SYNONYMS: dict[str, tuple[str, ...]] = {
    "fast": ("fast", "faster", "quicker", "quickly", "quick", "rapidly", "rapid", "speedily", "speedy", "swiftly",
             "swift",
             "at speed", "at high speed", "at a fast pace", "at a quick pace", "at a rapid pace",
             "zoom", "zooms", "zooming", "race", "races", "racing", "dash", "dashes", "dashing", "dart", "darts",
             "darting", "speeding", "whizz", "whizzes", "whizzing", "shoot", "shoots", "shooting",
             "zip", "zips", "zipping", "rush", "rushes", "rushing", "hurry", "hurries", "hurrying",
             "sprint", "sprints", "sprinting", "speeds",
             "at lightning speed", "lightning fast", "at full speed", "at top speed", "full speed"),
    "slow": ("slow", "slower", "slowly", "gently", "gentle", "leisurely", "lazily", "sluggishly", "unhurriedly",
             "in slow motion", "slow motion", "slow mo",
             "at low speed", "at a slow pace", "at a leisurely pace", "at a gentle pace",
             "crawl", "crawls", "crawling", "creep", "creeps", "creeping", "inch", "inches", "inching",
             "sluggish", "unhurried", "barely", "hardly"),
}  # fmt: skip
# "faster than the blue ball": this object fast, the one it is compared with the other speed.
COMPARATIVE_SPEEDS: dict[str, tuple[str, ...]] = {
    "fast": ("faster than", "quicker than", "more quickly than", "outpacing", "outrunning", "overtaking"),
    "slow": ("slower than", "more slowly than", "lagging behind", "trailing"),
}
# Verbs that start a predicate and leave its meaning to the words after them ("stands still", "gets bigger").
PREDICATE_VERBS: tuple[str, ...] = (
    "get", "gets", "getting", "become", "becomes", "becoming", "stand", "stands", "standing",
    "sit", "sits", "sitting", "stay", "stays", "staying", "remain", "remains", "remaining",
    "keep", "keeps", "keeping",
)  # fmt: skip
# Verbs of going somewhere: with no direction named the object still travels ("a dog running" is not
# still, growing or spinning), in a direction drawn from the world's.
TRAVEL_VERBS: tuple[str, ...] = (
    "move", "moves", "moving", "moved", "slide", "slides", "sliding", "glide", "glides", "gliding",
    "drift", "drifts", "drifting", "travel", "travels", "travelling", "traveling", "head", "heads", "heading",
    "go", "goes", "going", "pass", "passes", "passing", "float", "floats", "floating", "come", "comes", "coming",
    "sail", "sails", "sailing", "wander", "wanders", "wandering",
    # How animals and vehicles move: the world draws them as shapes, and the direction still holds.
    "run", "runs", "running", "ran", "walk", "walks", "walking", "walked", "fly", "flies", "flying", "flew",
    "drive", "drives", "driving", "swim", "swims", "swimming", "march", "marches", "marching",
    "gallop", "gallops", "galloping", "trot", "trots", "trotting", "jog", "jogs", "jogging",
    "stroll", "strolls", "strolling", "roam", "roams", "roaming", "cruise", "cruises", "cruising",
    "skate", "skates", "skating", "ski", "skis", "skiing", "surf", "surfs", "surfing",
    "soar", "soars", "soaring", "scurry", "scurries", "scurrying", "scamper", "scampers", "scampering",
    "waddle", "waddles", "waddling", "slither", "slithers", "slithering", "paddle", "paddles", "paddling",
)  # fmt: skip
# Motion across the frame with no side named: it goes right, as a pan with no direction does.
# A ball rolls along the ground, so rolling with no direction is across too.
ACROSS_WORDS: tuple[str, ...] = (
    "across", "crosses", "crossing", "across the screen", "across the frame", "across the scene",
    "across the picture", "across the view", "roll", "rolls", "rolling", "rolled",
    "along the ground", "along the floor", "past",
)  # fmt: skip
# "Moving diagonally": a direction on one axis gains the other ("diagonally up" is up and to the right).
DIAGONAL_WORDS: tuple[str, ...] = ("diagonally", "diagonal", "at an angle")
# Phrases the world cannot show, with the reason the reader reports ("medium speed" is neither speed).
UNSHOWABLE_PHRASES: dict[str, str] = {
    f"{prefix}{level} {unit}": "speeds are slow or fast"
    for prefix in ("", "at ", "at a ")
    for level in ("medium", "moderate", "normal", "average", "regular")
    for unit in ("speed", "pace")
} | {"moderately": "speeds are slow or fast"} | {
    f"{comparative} than": "sizes are small, medium or large"
    for comparative in ("bigger", "larger", "smaller", "taller", "wider")
} | {
    phrase: "the world picks where objects start" for phrase in ("on top of", "on top")
} | {
    phrase: "the camera only pans" for phrase in ("close up", "closeup", "zoom in", "zooms in", "zooming in",
                                                  "zoom out", "zooms out", "zooming out")
}
TEXTURED_SYNONYMS: dict[str, tuple[str, ...]] = {
    "sky": ("sky", "skies", "cloud", "clouds", "cloudy", "daytime", "clear sky", "sunny", "sunny day"),
    "grass": ("grass", "grassy", "meadow", "field", "fields", "lawn", "grassland"),
    "night": ("night", "nighttime", "night time", "starry", "starlit", "moonlit", "night sky", "dark sky", "starry sky",
              "under the stars", "beneath the stars", "in the dark", "dusk", "at dusk", "evening",
              "in the evening", "midnight", "in space", "outer space", "moonlight", "under the moon"),
    "stripes": ("stripes", "striped", "stripy", "stripe"),
}  # fmt: skip
TONE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "gray": ("gray", "grey", "light gray", "light grey", "light"),
    "beige": ("beige", "cream", "sand", "sandy", "beach", "desert"),
    "white": ("white", "bright"),
    "charcoal": ("charcoal", "black", "dark gray", "dark grey", "dark"),
}
# A plain background in a colour the world lacks is read as its nearest background ("a blue background" is the sky).
NEAREST_BACKGROUND: dict[str, str] = {"blue": "sky", "cyan": "sky", "green": "grass", "yellow": "beige", "orange": "beige"}
WEATHER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "snow": ("snow", "snows", "snowing", "snowy", "snowfall", "snowflake", "snowflakes", "blizzard",
             "falling snow", "snowstorm"),
    "rain": ("rain", "rains", "raining", "rainy", "rainfall", "raindrops", "drizzle", "drizzling", "downpour",
             "rainstorm", "falling rain", "storm", "thunderstorm", "stormy"),
}  # fmt: skip
OCCLUDER_WORDS: tuple[str, ...] = (
    "wall", "walls", "pillar", "pillars", "occluder", "column", "barrier", "brown wall", "brown pillar",
    "brick wall", "stone wall", "fence", "post", "pole",
)  # fmt: skip
# Phrases that tie the objects' directions together ("two balls moving in opposite directions").
# The world gives each object its own direction, so the reader turns a relation into directions.
RELATION_SYNONYMS: dict[str, tuple[str, ...]] = {
    "opposite": ("opposite", "in opposite directions", "opposite directions", "opposite ways", "in opposite ways",
                 "in the opposite direction", "the opposite direction", "the opposite way", "in different directions",
                 "different directions", "past each other", "past one another"),
    "towards": ("towards each other", "toward each other", "towards one another", "toward one another",
                "at each other", "converge", "converges", "converging", "meet", "meeting",
                "collide", "collides", "colliding", "crash into each other", "bump into each other"),
    "apart": ("apart", "away from each other", "away from one another", "diverge", "diverges", "diverging",
              "separate", "separating"),
    "same": ("in the same direction", "the same direction", "same direction", "the same way", "in the same way",
             "together", "side by side", "in parallel", "in unison", "in formation"),
}  # fmt: skip
CAMERA_WORDS: tuple[str, ...] = ("camera", "pan", "pans", "panning", "panned", "tracking", "tracks")
# After a camera word, a pan the way the object moves ("the camera follows the ball"); between two
# objects, both go the same way ("a ball chasing a star").
CAMERA_FOLLOW_WORDS: tuple[str, ...] = (
    "follows", "follow", "following", "followed", "chases", "chase", "chasing", "chased",
    "pursues", "pursue", "pursuing", "pursued",
)  # fmt: skip
STATIC_CAMERA_PHRASES: tuple[str, ...] = (
    "static camera", "still camera", "fixed camera", "stationary camera", "steady camera", "locked camera",
    "no pan", "no panning", "no camera movement", "no camera motion",
    "static shot", "still shot", "fixed shot", "locked off shot", "locked shot", "tripod shot",
)  # fmt: skip
# A negated scene word switches that part off ("no rain", "without a wall"); a negated object word
# ("not red", "not a ball") cannot be shown, so it is reported, and skipped rather than read as said.
NEGATION_WORDS: tuple[str, ...] = ("not", "no", "never", "without", "nor", "isnt", "arent", "wasnt", "werent")
BACKGROUND_NOUNS: tuple[str, ...] = ("background", "backdrop", "backgrounds")
# Nouns the world does not know that name a place, not a thing: a background tone before one is the
# backdrop ("a white room", "a dark forest"); before any other unknown noun it is that thing's colour
# ("a black cat" is one black thing, a colour no object has).
PLACE_NOUNS: frozenset[str] = frozenset(
    """room rooms space void world universe landscape scenery setting settings studio stage hall hallway corridor
    interior canvas page paper surface table sheet area environment atmosphere ocean sea water lake river pond
    road street city town forest forests woods jungle mountain mountains hill hills valley cave tunnel park
    garden yard kitchen office house building gallery court pitch track arena sunset sunrise dawn morning
    afternoon lighting mood palette theme""".split()
)
# Prepositions that make the "a" after them a place, not a new object ("rolling on a table").
PREPOSITIONS: frozenset[str] = frozenset(
    """in on at to into onto over under across through behind beside near around along beneath below above
    against from past inside within toward towards""".split()
)
# Words after which an "a" names what an unknown noun before is made of, rides or holds, so one object
# in all: "a photo of a ball", "a kid riding a bike"; against "a cat chasing a mouse" (two objects) and
# "a cat on a table" (the cat; the table is a place).
ATTACHING_WORDS: tuple[str, ...] = ("of", "with", "ride", "rides", "riding", "carrying", "holding")
# "on the left", "at the top", "along the bottom": a place in the frame, which the world does not
# choose (an object starts where its motion needs). "from the left" is the opposite motion: it heads right.
PLACE_PREPOSITIONS: tuple[str, ...] = ("on", "at", "in", "along")
SOURCE_PREPOSITIONS: tuple[str, ...] = ("from",)
# "left to right": a direction after one of these, opposite to the one before it, is where the motion goes.
DESTINATION_PREPOSITIONS: tuple[str, ...] = ("to", "towards", "toward", "into")
# Words after which a second motion of the same object is a later one ("rolls left, then right"):
# the world gives each object one motion for the whole clip, so the first stands and the later is reported.
SEQUENCE_WORDS: tuple[str, ...] = ("then", "afterwards", "later", "after that", "and then")
# Function words and request filler that say nothing about the scene. Style words
# ("cinematic", "beautiful") are deliberately absent: the world cannot render them, so they are
# reported as not understood.
STOPWORDS: frozenset[str] = frozenset(
    """the is are was were be been being it its this that these those there here with while whilst as and or
    but of in on at to toward towards into onto from by for through over under beneath below above
    against behind front beside near around along also very really slightly too so
    extremely incredibly super quite rather fairly somewhat extra ultra
    which who where when some just only again we you i me please show shows showing featuring features
    has have having make makes generate create render see does do video clip scene shot footage frame screen
    middle centre center place way pace speed plain day time shaped sized ground floor side edge corner
    want wants would could can like id lets let us my our give draw depict depicting
    animation animated image picture gif movie film theres heres coloured colored painted
    colour color size direction motion""".split()
)
# Phrases that say what the world does anyway: every object in a scene has its own colour, directed
# motion is in a straight line at a steady speed, and a spin stays in place.
SAID_ANYWAY_PHRASES: tuple[str, ...] = tuple(
    f"{lead}{quality} {noun}"
    for lead in ("", "of ", "in ")
    for quality in ("different", "various", "assorted", "distinct")
    for noun in ("colours", "colors", "coloured", "colored")
) + ("colourful", "colorful", "multicoloured", "multicolored", "in a straight line", "straight line", "straight",
   "in place", "on the spot", "smoothly", "smooth", "steadily", "steady", "gradually", "constantly",
   "continuously")
PUNCTUATION = ".,;:!?"
# Kinds that may stand between an article and its noun ("a fast spinning red ball"); a motion or
# speed in such a run describes the noun that ends it, not the object before.
PRENOMINAL_KINDS: frozenset[str] = frozenset({"colour", "size", "shape_adj", "speed", "motion", "direction"})
NOUN_KINDS: frozenset[str] = frozenset({"shape", "foreign_shape", "generic", "something"})
# Kinds that describe the scene rather than an object; they end a dangling "a" ("in a meadow").
SCENE_KINDS: frozenset[str] = frozenset(
    {"background", "tone", "bg_noun", "weather", "occluder", "camera", "camera_none"}
)


def build_lexicon() -> dict[tuple[str, ...], Word]:
    """Every known word and set phrase, keyed by its word tuple."""
    entries: list[tuple[str, Word]] = []
    entries += [(w, Word("colour", c)) for c, ws in COLOUR_SYNONYMS.items() for w in ws]
    entries += [(w, Word("foreign_colour")) for w in FOREIGN_COLOURS]
    entries += [(w, Word("size", s)) for s, ws in SIZE_SYNONYMS.items() for w in ws]
    for shape, nouns in SHAPE_NOUNS.items():
        entries += [(n, Word("shape", shape)) for n in nouns]
        entries += [(_plural(n), Word("shape", shape, plural=True)) for n in nouns]
    entries += [(w, Word("shape_adj", s)) for s, ws in SHAPE_ADJECTIVES.items() for w in ws]
    entries += [(n, Word("foreign_shape", n)) for n in FOREIGN_SHAPES]
    entries += [(_plural(n), Word("foreign_shape", n, plural=True)) for n in FOREIGN_SHAPES]
    entries += [(n, Word("generic")) for n in GENERIC_NOUNS]
    entries += [(_plural(n), Word("generic", plural=True)) for n in GENERIC_NOUNS]
    entries += [("something", Word("something"))]
    entries += [(w, Word("all")) for w in DISTRIBUTIVE_WORDS]
    entries += [(w, Word("ordinal")) for w in ORDINAL_WORDS]
    entries += [(w, Word("count", n)) for w, n in COUNT_WORDS.items()]
    entries += [(w, Word("direction", comp)) for comp, ws in DIRECTION_COMPONENTS.values() for w in ws]
    entries += [(w, Word("direction", comp, verb=True)) for comp, ws in DIRECTION_VERBS.items() for w in ws]
    entries += [(w, Word("motion", m)) for m, ws in MOTION_SYNONYMS.items() for w in ws]
    entries += [(w, Word("speed", s)) for s, ws in SPEED_SYNONYMS.items() for w in ws]
    entries += [(w, Word("comparative", s)) for s, ws in COMPARATIVE_SPEEDS.items() for w in ws]
    entries += [(w, Word("verb")) for w in PREDICATE_VERBS]
    entries += [(w, Word("verb", "travel")) for w in TRAVEL_VERBS]
    entries += [(w, Word("across")) for w in ACROSS_WORDS]
    entries += [(w, Word("diagonal")) for w in DIAGONAL_WORDS]
    entries += [(p, Word("unshowable", reason)) for p, reason in UNSHOWABLE_PHRASES.items()]
    entries += [(w, Word("background", b)) for b, ws in TEXTURED_SYNONYMS.items() for w in ws]
    entries += [(w, Word("tone", t)) for t, ws in TONE_SYNONYMS.items() for w in ws]
    entries += [(w, Word("bg_noun")) for w in BACKGROUND_NOUNS]
    entries += [(w, Word("weather", x)) for x, ws in WEATHER_SYNONYMS.items() for w in ws]
    entries += [(w, Word("occluder")) for w in OCCLUDER_WORDS]
    entries += [(w, Word("relation", r)) for r, ws in RELATION_SYNONYMS.items() for w in ws]
    entries += [(w, Word("camera")) for w in CAMERA_WORDS]
    entries += [(w, Word("camera_none")) for w in STATIC_CAMERA_PHRASES]
    entries += [(w, Word("follow")) for w in CAMERA_FOLLOW_WORDS]
    entries += [(w, Word("stop")) for w in STOPWORDS]
    entries += [(p, Word("stop")) for p in SAID_ANYWAY_PHRASES]
    entries += [(p, Word("boundary")) for p in PUNCTUATION]
    entries += [(w, Word("sequence")) for w in SEQUENCE_WORDS]
    entries += [(w, Word("negation")) for w in NEGATION_WORDS]
    lexicon: dict[tuple[str, ...], Word] = {}
    for text, word in entries:
        key = tuple(text.split())
        if key in lexicon and lexicon[key] != word:
            raise ValueError(f"prompt lexicon gives {text!r} two meanings: {lexicon[key]} and {word}")
        lexicon[key] = word
    return lexicon


def _plural(noun: str) -> str:
    return noun + ("es" if noun.endswith(("x", "s", "sh", "ch")) else "s")


LEXICON = build_lexicon()
LONGEST_PHRASE = max(len(key) for key in LEXICON)


@cache
def known_words() -> frozenset[str]:
    """Single words that say something about a scene (no function words), for typo correction."""
    return frozenset(key[0] for key, word in LEXICON.items()
                     if len(key) == 1 and word.kind not in ("stop", "boundary") and key[0].isalpha())
