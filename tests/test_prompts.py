"""Free user prompts map to the attributes they mention, and unknown words are reported."""

from __future__ import annotations

import pytest

from kinema.world.prompt_words import tokenize
from kinema.world.prompts import complete_scene, describe_unknown, parse_prompt
from kinema.world.spec import Attributes, SceneAttributes


def obj(shape=None, colour=None, size=None, motion=None, speed=None, travels=False) -> Attributes:
    return Attributes(shape=shape, colour=colour, size=size, motion=motion, speed=speed, travels=travels)


OBJECT_COLOURS = "objects are red, orange, yellow, green, cyan, blue, purple, pink"
OBJECT_SHAPES = "shapes are circle, square, triangle, star"
PLACE = "the world picks where objects start"


def scene(*objects: Attributes, unknown: tuple[str, ...] = (), **scene_fields) -> SceneAttributes:
    return SceneAttributes(objects=tuple(objects), unknown_words=unknown, **scene_fields)


CASES: list[tuple[str, SceneAttributes]] = [
    ("a ball rolling left", scene(obj("circle", motion="left"))),
    ("crimson square going up at night", scene(obj("square", "red", motion="up"), background="night")),
    ("Two small stars spinning on grass",
     scene(obj("star", size="small", motion="spin"), obj("star", size="small", motion="spin"), background="grass")),
    ("a big blue ball bouncing while it snows, camera panning right",
     scene(obj("circle", "blue", "large", "bounce"), weather="snow", camera_pan="right")),
    ("a yellow triangle moving quickly toward the upper right",
     scene(obj("triangle", "yellow", motion="up-right", speed="fast"))),
    ("a purple dot slowly drifting down", scene(obj("circle", "purple", motion="down", speed="slow"))),
    ("a cat jumping", scene(obj(motion="bounce"), unknown=("cat",))),
    ("two red balls", scene(obj("circle", "red"), obj("circle", "red"))),
    ("a red ball moving up while the camera pans left", scene(obj("circle", "red", motion="up"), camera_pan="left")),
    ("something red moving left", scene(obj(colour="red", motion="left"))),
    ("a red thing", scene(obj(colour="red"))),
    ("A scarlet cube falling", scene(obj("square", "red", motion="down"))),
    ("golden orb rising slowly into a cloudy sky",
     scene(obj("circle", "yellow", motion="up", speed="slow"), background="sky")),
    ("an emerald pyramid sinking to the left", scene(obj("triangle", "green", motion="down-left"))),
    ("a teal disk going up and to the left fast", scene(obj("circle", "cyan", motion="up-left", speed="fast"))),
    ("Navy box heading rightwards", scene(obj("square", "blue", motion="right"))),
    ("a violet star twirling", scene(obj("star", "purple", motion="spin"))),
    ("a fuchsia sphere getting bigger", scene(obj("circle", "pink", motion="grow"))),
    ("tiny amber block shrinking", scene(obj("square", "orange", "small", "shrink"))),
    ("a huge tangerine tile inflating", scene(obj("square", "orange", "large", "grow"))),
    ("a mid-sized lime orb orbiting", scene(obj("circle", "green", "medium", "circle"))),
    ("a stationary turquoise triangle in a meadow", scene(obj("triangle", "cyan", motion="still"), background="grass")),
    ("a red ball and a blue box", scene(obj("circle", "red"), obj("square", "blue"))),
    ("a pair of pink stars hopping under a starry sky",
     scene(obj("star", "pink", motion="bounce"), obj("star", "pink", motion="bounce"), background="night")),
    ("three green dots", scene(*[obj("circle", "green")] * 3)),
    ("a red ball moves left and a blue ball moves right",
     scene(obj("circle", "red", motion="left"), obj("circle", "blue", motion="right"))),
    ("Spinning slowly, a red star", scene(obj("star", "red", motion="spin", speed="slow"))),
    ("a ball behind a wall on a white background",
     scene(obj("circle"), occluder=True, background="white")),
    ("a cobalt square on a dark grey backdrop with a static camera",
     scene(obj("square", "blue"), background="charcoal", camera_pan="none")),
    ("a lemon circle in the rain, tracking left",
     scene(obj("circle", "yellow"), weather="rain", camera_pan="left")),
    ("a rose triangle drifting northeast over stripes",
     scene(obj("triangle", "pink", motion="up-right"), background="stripes")),
    ("a beautiful cinematic shot of a dragon flying",
     scene(obj(travels=True), unknown=("beautiful", "cinematic", "dragon"))),
    ("a blue ball on green grass", scene(obj("circle", "blue"), background="grass")),
    ("a white ball", scene(obj("circle"), unknown=(f"white ({OBJECT_COLOURS})",))),
    # A background tone before an unknown thing is that thing's colour; before an unknown place, the backdrop.
    ("a black cat running left", scene(obj(motion="left"), unknown=(f"black ({OBJECT_COLOURS})", "cat"))),
    ("a black cat", scene(obj(), unknown=(f"black ({OBJECT_COLOURS})", "cat"))),
    ("two white dogs", scene(obj(), obj(), unknown=(f"white ({OBJECT_COLOURS})", "dogs"))),
    ("a white room", scene(background="white", unknown=("room",))),
    # Tones joined by "and" are all the thing's ("black and white"); a prompt may open with them.
    ("a black and white cat", scene(obj(), unknown=(f"black ({OBJECT_COLOURS})", f"white ({OBJECT_COLOURS})", "cat"))),
    ("two black and white dogs running left",
     scene(obj(motion="left"), obj(motion="left"),
           unknown=(f"black ({OBJECT_COLOURS})", f"white ({OBJECT_COLOURS})", "dogs"))),
    ("black cat running left", scene(obj(motion="left"), unknown=(f"black ({OBJECT_COLOURS})", "cat"))),
    ("white room", scene(background="white", unknown=("room",))),
    # A thing that opens the prompt with no count is one (a lone plural two), when its next words say
    # what it does or where it is, or when it stands alone; not a place, nor "a painting of ...".
    ("dog running on the beach", scene(obj(travels=True), background="beige", unknown=("dog",))),
    ("the man walking left", scene(obj(motion="left"), unknown=("man",))),
    ("dog in a park", scene(obj(), unknown=("dog", "park"))),
    ("cat and a dog", scene(obj(), obj(), unknown=("cat", "dog"))),
    ("butterflies flying", scene(obj(travels=True), obj(travels=True), unknown=("butterflies",))),
    ("some dogs running", scene(obj(travels=True), obj(travels=True), unknown=("dogs",))),
    ("the cat sleeps on the grass", scene(obj(), background="grass", unknown=("cat", "sleeps"))),
    ("black and white cat on grass",
     scene(obj(), background="grass", unknown=(f"black ({OBJECT_COLOURS})", f"white ({OBJECT_COLOURS})", "cat"))),
    # The thing alone is one thing, or two for a plural; a place alone or "hello there" is not a thing.
    ("cat", scene(obj(), unknown=("cat",))),
    ("fluffy cat", scene(obj(), unknown=("fluffy", "cat"))),
    ("the dogs", scene(obj(), obj(), unknown=("dogs",))),
    ("big dogs", scene(obj(size="large"), obj(size="large"), unknown=("dogs",))),
    ("black cat", scene(obj(), unknown=(f"black ({OBJECT_COLOURS})", "cat"))),
    ("hello there", scene(unknown=("hello",))),
    # A thing listed after a counted thing, with no count of its own, is counted the same way.
    ("a cat and dog running", scene(obj(travels=True), obj(travels=True), unknown=("cat", "dog"))),
    ("the cat and the dog", scene(obj(), obj(), unknown=("cat", "dog"))),
    ("a ball and stick", scene(obj("circle"), obj(), unknown=("stick",))),
    ("a cat sleeps and dreams", scene(obj(), unknown=("cat", "sleeps", "dreams"))),
    ("cats and dogs running", scene(*[obj(travels=True)] * 4, unknown=("cats", "dogs"))),  # expansion reports 4 > 3
    ("ocean", scene(unknown=("ocean",))),
    ("forest at night", scene(background="night", unknown=("forest",))),
    ("sunset over the ocean", scene(unknown=("sunset", "ocean"))),
    ("painting of a dragon flying", scene(obj(travels=True), unknown=("painting", "dragon"))),
    ("a dark forest with a red ball", scene(obj("circle", "red"), background="charcoal", unknown=("forest",))),
    # An unknown thing before a background or weather is still an object, as it is alone ("a cat").
    ("a cat on grass", scene(obj(), background="grass", unknown=("cat",))),
    ("a dog and a cat in the snow", scene(obj(), obj(), weather="snow", unknown=("dog", "cat"))),
    ("a grey cat at night", scene(obj(), background="night", unknown=(f"grey ({OBJECT_COLOURS})", "cat"))),
    ("a brown dog and a silver ball moving left",
     scene(obj(motion="left"), obj("circle", motion="left"),
           unknown=(f"brown ({OBJECT_COLOURS})", "dog", f"silver ({OBJECT_COLOURS})"))),
    ("a round red object that isn't moving", scene(obj("circle", "red", motion="still"))),
    ("a red and a blue ball", scene(obj("circle", "red"), obj("circle", "blue"))),
    ("a red square, a green star and a blue circle, all spinning",
     scene(obj("square", "red", motion="spin"), obj("star", "green", motion="spin"),
           obj("circle", "blue", motion="spin"))),
    ("a ball moving to a tree quickly", scene(obj("circle", speed="fast", travels=True), unknown=("tree",))),
    # An unknown noun after a count is an object like any other: it shares a predicate, and the next
    # "a" starts another object unless it names what the first rides or is a picture of.
    ("a red ball and a cat jumping", scene(obj("circle", "red", motion="bounce"), obj(motion="bounce"), unknown=("cat",))),
    ("a cat chasing a mouse", scene(obj(motion="right"), obj(motion="right"), unknown=("cat", "mouse"))),
    ("a dog running left and a cat running right", scene(obj(motion="left"), obj(motion="right"), unknown=("dog", "cat"))),
    ("a red car and a blue truck driving left",
     scene(obj(colour="red", motion="left"), obj(colour="blue", motion="left"), unknown=("car", "truck"))),
    ("a kid riding a bike to the left", scene(obj(motion="left"), unknown=("kid", "riding", "bike"))),
    ("a photo of a cat moving left", scene(obj(motion="left"), unknown=("photo", "cat"))),
    ("a cat on a table", scene(obj(), unknown=("cat", "table"))),
    ("a bird flying up over a blue sky", scene(obj(motion="up"), background="sky", unknown=("bird",))),
    ("a red balloon floating up", scene(obj("circle", "red", motion="up"))),
    ("a red ball moving away", scene(obj("circle", "red", motion="shrink"))),
    ("the ball flies away to the left", scene(obj("circle", motion="left"))),
    ("snow is falling on a rising ball", scene(obj("circle", motion="up"), weather="snow")),
    ("a ball moving down as snow falls", scene(obj("circle", motion="down"), weather="snow")),
    ("a star in falling snow", scene(obj("star"), weather="snow")),
    ("the camera pans up over a red ball", scene(obj("circle", "red"), unknown=("up",))),
    ("A RED BALL!!! Moving LEFT, fast.", scene(obj("circle", "red", motion="left", speed="fast"))),
    ("a square going round in a loop", scene(obj("square", motion="circle"))),
    ("a green ball rotating slowly during the daytime",
     scene(obj("circle", "green", motion="spin", speed="slow"), background="sky", unknown=("during",))),
    ("two things moving left", scene(obj(motion="left"), obj(motion="left"))),
    ("Two shapes: a red ball and a blue box", scene(obj("circle", "red"), obj("square", "blue"))),
    ("a ball jumping up and down near a pillar", scene(obj("circle", motion="bounce"), occluder=True)),
    ("a purple star with a red ball behind it", scene(obj("star", "purple"), obj("circle", "red"))),
    ("two balls, one red and one blue", scene(obj("circle", "red"), obj("circle", "blue"))),
    ("three small circles, one red one green one blue, bouncing",
     scene(obj("circle", "red", "small", "bounce"), obj("circle", "green", "small", "bounce"),
           obj("circle", "blue", "small", "bounce"))),
    ("two balls: one red moving left, one blue moving right",
     scene(obj("circle", "red", motion="left"), obj("circle", "blue", motion="right"))),
    ("two shapes, one red ball and one blue star", scene(obj("circle", "red"), obj("star", "blue"))),
    ("two red balls, one big and one small", scene(obj("circle", "red", "large"), obj("circle", "red", "small"))),
    ("two red balls and one blue square", scene(obj("circle", "red"), obj("circle", "red"), obj("square", "blue"))),
    ("a red ball moving clockwise", scene(obj("circle", "red", motion="circle"))),
    ("a star spinning anticlockwise", scene(obj("star", motion="spin"))),
    ("a blue ball coming towards the camera", scene(obj("circle", "blue", motion="grow"))),
    ("a ball moving away from the camera", scene(obj("circle", motion="shrink"))),
    ("a green ball zooming left", scene(obj("circle", "green", motion="left", speed="fast"))),
    ("a snail-slow star crawling up", scene(obj("star", motion="up", speed="slow"), unknown=("snail",))),
    # A speed or motion standing before its noun describes that noun, not the object before it.
    ("a fast red ball and a slow blue ball", scene(obj("circle", "red", speed="fast"), obj("circle", "blue", speed="slow"))),
    ("a spinning red star and a bouncing blue ball",
     scene(obj("star", "red", motion="spin"), obj("circle", "blue", motion="bounce"))),
    ("a rising ball and a falling square", scene(obj("circle", motion="up"), obj("square", motion="down"))),
    ("a red ball and a slowly spinning star", scene(obj("circle", "red"), obj("star", motion="spin", speed="slow"))),
    ("a red ball, moving left quickly, and a star", scene(obj("circle", "red", motion="left", speed="fast"), obj("star"))),
    # The count of a noun the world does not know stays with it.
    ("two cats and a ball", scene(obj(), obj(), obj("circle"), unknown=("cats",))),
    ("a dark background with a glowing yellow ball", scene(obj("circle", "yellow"), background="charcoal",
                                                            unknown=("glowing",))),
    ("a ball rolls left, then right", scene(obj("circle", motion="left"), unknown=("then right (one motion per object)",))),
    ("a red ball moves left, then a blue star spins", scene(obj("circle", "red", motion="left"), obj("star", "blue", motion="spin"))),
    # Negation: a scene part is switched off; an object's attribute cannot be shown, so it is reported and skipped.
    ("a ball moving left, not right", scene(obj("circle", motion="left"), unknown=("not right",))),
    ("a ball that is not red", scene(obj("circle"), unknown=("not red",))),
    ("a star, not a ball", scene(obj("star"), unknown=("not ball",))),
    ("a star without rain and with no wall", scene(obj("star"), weather="none", occluder=False)),
    ("no camera movement, a star spins", scene(obj("star", motion="spin"), camera_pan="none")),
    ("4 balls moving left", scene(*[obj("circle", motion="left")] * 4)),
    ("a dark red ball on a white background", scene(obj("circle", "red"), background="white", unknown=("dark",))),
    # Relations between objects become each object's direction; a stated direction is kept and the others follow it.
    ("a red ball and a blue square moving in opposite directions",
     scene(obj("circle", "red", motion="right"), obj("square", "blue", motion="left"))),
    ("two balls moving towards each other", scene(obj("circle", motion="right"), obj("circle", motion="left"))),
    ("two stars drifting apart", scene(obj("star", motion="left"), obj("star", motion="right"))),
    ("a red ball moving up and a blue ball moving in the opposite direction",
     scene(obj("circle", "red", motion="up"), obj("circle", "blue", motion="down"))),
    ("three dots moving together to the left", scene(*[obj("circle", motion="left")] * 3)),
    ("a spinning star and two balls moving apart",
     scene(obj("star", motion="spin"), obj("circle", motion="left"), obj("circle", motion="right"))),
    ("two balls bouncing together", scene(obj("circle", motion="bounce"), obj("circle", motion="bounce"))),
    ("a ball moving in opposite directions",
     scene(obj("circle", travels=True),
           unknown=("in opposite directions (needs two objects that move in straight lines)",))),
    # "Diagonally" makes a one-axis direction diagonal; speeds the world lacks are reported, not read as a size.
    ("a ball moving diagonally", scene(obj("circle", motion="down-right"))),
    ("a star drifting diagonally up", scene(obj("star", motion="up-right"))),
    ("a square moving diagonally to the left", scene(obj("square", motion="down-left"))),
    ("a red ball moving left at medium speed",
     scene(obj("circle", "red", motion="left"), unknown=("at medium speed (speeds are slow or fast)",))),
    ("a ball crossing a blue sky to the top right", scene(obj("circle", motion="up-right"), background="sky")),
    ("a ball rolling left on the ground", scene(obj("circle", motion="left"))),
    # A pan with no direction pans right; a direction the world's camera cannot take is reported instead.
    ("a red ball standing still while the camera pans",
     scene(obj("circle", "red", motion="still"), camera_pan="right")),
    ("panning across a meadow, a star spins",
     scene(obj("star", motion="spin"), background="grass", camera_pan="right")),
    # Objects named together share the predicate after them; one that has its own keeps it.
    ("a red ball and a blue ball racing to the right",
     scene(obj("circle", "red", motion="right", speed="fast"), obj("circle", "blue", motion="right", speed="fast"))),
    ("a ball, a square and a star move left",
     scene(obj("circle", motion="left"), obj("square", motion="left"), obj("star", motion="left"))),
    ("a red ball rolls and a blue square moves left",
     scene(obj("circle", "red", motion="right"), obj("square", "blue", motion="left"))),
    ("Two shapes: a ball and a star spinning",
     scene(obj("circle", motion="spin"), obj("star", motion="spin"))),
    # "a" after a preposition is a place, not an object that takes the motion after it.
    ("three green squares moving in a row to the left", scene(*[obj("square", "green", motion="left")] * 3,
                                                             unknown=("row",))),
    ("a ball on a table moving left", scene(obj("circle", motion="left"), unknown=("table",))),
    # A place in the frame is reported; "from" names where the motion starts.
    ("a red ball on the left",
     scene(obj("circle", "red"), unknown=(f"on the left ({PLACE})",))),
    ("a star in the bottom right corner spinning",
     scene(obj("star", motion="spin"), unknown=(f"in the bottom right ({PLACE})",))),
    ("a red ball on top of a blue square",
     scene(obj("circle", "red"), obj("square", "blue"), unknown=(f"on top of ({PLACE})",))),
    ("the ball moves to the left side of the screen", scene(obj("circle", motion="left"))),
    # What the world does anyway is not reported; slow motion is slow.
    ("three balls of different colours bouncing", scene(*[obj("circle", motion="bounce")] * 3)),
    ("a star drifting left in slow motion", scene(obj("star", motion="left", speed="slow"))),
    ("a ball coming in from the left", scene(obj("circle", motion="right"))),
    ("a square moving from the top left", scene(obj("square", motion="down-right"))),
    ("a ball moving from right to left", scene(obj("circle", motion="left"))),
    # A camera that follows an object pans the way it moves sideways.
    ("the camera follows a cyan ball moving right", scene(obj("circle", "cyan", motion="right"), camera_pan="right")),
    ("camera following a red square drifting to the upper left",
     scene(obj("square", "red", motion="up-left"), camera_pan="left")),
    # A tracking camera follows too, unless it is given a direction of its own.
    ("a horse running across a field, camera tracking",
     scene(obj(motion="right"), background="grass", camera_pan="right", unknown=("horse",))),
    ("a ball moving left, tracking shot", scene(obj("circle", motion="left"), camera_pan="left")),
    ("a ball moving left, the camera tracks right", scene(obj("circle", motion="left"), camera_pan="right")),
    ("the camera follows a ball",
     scene(obj("circle"), unknown=("follows (the camera follows an object moving left or right)",))),
    # Between two objects, following and chasing say both go the same way; comparatives set speeds.
    ("a ball following a star", scene(obj("circle", motion="right"), obj("star", motion="right"))),
    ("a red ball chasing a blue ball to the left",
     scene(obj("circle", "red", motion="left"), obj("circle", "blue", motion="left"))),
    ("the red ball is moving faster than the blue one",
     scene(obj("circle", "red", speed="fast", travels=True), obj("circle", "blue", speed="slow"))),
    ("a green star moves right, slower than the yellow square",
     scene(obj("star", "green", motion="right", speed="slow"), obj("square", "yellow", speed="fast"))),
    ("a red ball overtaking a blue ball",
     scene(obj("circle", "red", motion="right", speed="fast"), obj("circle", "blue", motion="right", speed="slow"))),
    ("an extremely slow square", scene(obj("square", speed="slow"))),
    # "the red one" after a plural is one of them; with nothing to name again it is another of the last noun.
    ("two balls, the red one moving left", scene(obj("circle", "red", motion="left"), obj("circle"))),
    ("two balls, the red one moving left and the blue one moving right",
     scene(obj("circle", "red", motion="left"), obj("circle", "blue", motion="right"))),
    ("a red ball moving left and the blue one moving right",
     scene(obj("circle", "red", motion="left"), obj("circle", "blue", motion="right"))),
    # Counts said in words, and orbits said as a relation.
    ("a few small red stars", scene(*[obj("star", "red", "small")] * 3)),
    ("lots of balls", scene(*[obj("circle")] * 5)),
    ("two yellow stars spinning around each other", scene(*[obj("star", "yellow", motion="circle")] * 2)),
    ("a ball moving in a straight line to the right", scene(obj("circle", motion="right"))),
    # Across the screen with no side named goes right; more verbs and walls people use.
    ("a square moving across the screen", scene(obj("square", motion="right"))),
    ("a red ball and a blue ball crossing the frame quickly",
     scene(obj("circle", "red", motion="right", speed="fast"), obj("circle", "blue", motion="right", speed="fast"))),
    ("a ball moving across the screen from right to left", scene(obj("circle", motion="left"))),
    ("a ball sailing downhill", scene(obj("circle", motion="down"))),
    ("a green triangle rising in front of a brick wall", scene(obj("triangle", "green", motion="up"), occluder=True)),
    ("a ball bigger than a square",
     scene(obj("circle"), obj("square"), unknown=("bigger than (sizes are small, medium or large)",))),
    # One motion per object: the first named stays, a second is reported.
    ("a ball bouncing to the right", scene(obj("circle", motion="bounce"), unknown=("right (one motion per object)",))),
    ("a red star spinning and moving up",
     scene(obj("star", "red", motion="spin"), unknown=("up (one motion per object)",))),
    ("a ball moving slowly up and then quickly to the right",
     scene(obj("circle", motion="up", speed="slow"),
           unknown=("then quickly (one motion per object)", "then right (one motion per object)"))),
    # An adjective after a linking word or punctuation, with no noun of its own, describes the object before it.
    ("a ball which is red rolling left", scene(obj("circle", "red", motion="left"))),
    ("the ball is red and moves left", scene(obj("circle", "red", motion="left"))),
    ("a square, which is blue, moves up", scene(obj("square", "blue", motion="up"))),
    ("a ball that is big and green bounces", scene(obj("circle", "green", "large", "bounce"))),
    ("the balls are all small", scene(obj("circle", size="small"), obj("circle", size="small"))),
    ("a circle coloured red moving right", scene(obj("circle", "red", motion="right"))),
    ("a star painted blue falls", scene(obj("star", "blue", motion="down"))),
    ("a ball in red moving left", scene(obj("circle", "red", motion="left"))),
    ("two balls, red and blue, moving apart",
     scene(obj("circle", "red", motion="left"), obj("circle", "blue", motion="right"))),
    ("Ball. Red. Moving left.", scene(obj("circle", "red", motion="left"))),
    ("ball red left", scene(obj("circle", "red", motion="left"))),
    ("a ball of medium size", scene(obj("circle", size="medium"))),
    ("a striped ball", scene(obj("circle"), unknown=("striped (objects are one plain colour)",))),
    ("a ball in space", scene(obj("circle"), background="night")),
    ("A red ball moving left. Blue star moving right.",
     scene(obj("circle", "red", motion="left"), obj("star", "blue", motion="right"))),
    ("a ball rolling left at dusk", scene(obj("circle", motion="left"), background="night")),
    # Ordinals name the members of a plural, as "one" does.
    ("two balls: the first is red, the second is blue", scene(obj("circle", "red"), obj("circle", "blue"))),
    ("two stars, one red and the other green", scene(obj("star", "red"), obj("star", "green"))),
    ("a ball moving left first", scene(obj("circle", motion="left"), unknown=("first",))),
    # "from the bottom up": the second direction is on the source's axis, so it is where the motion goes.
    ("a ball moving from the bottom up", scene(obj("circle", motion="up"))),
    ("a red ball stays in place", scene(obj("circle", "red", motion="still"))),
    ("a star spinning in place", scene(obj("star", motion="spin"))),
    # "the ball" names a ball read before; a first "the" starts a new object.
    ("a ball and a square; the ball moves left and the square moves right",
     scene(obj("circle", motion="left"), obj("square", motion="right"))),
    # Objects named again keep the place where they were first named.
    ("a ball and a star; the ball moves left", scene(obj("circle", motion="left"), obj("star"))),
    ("a red ball and a blue star. The star spins. The ball moves left.",
     scene(obj("circle", "red", motion="left"), obj("star", "blue", motion="spin"))),
    ("a red ball and the blue ball", scene(obj("circle", "red"), obj("circle", "blue"))),
    ("the red ball moves left and the blue ball moves right",
     scene(obj("circle", "red", motion="left"), obj("circle", "blue", motion="right"))),
    ("a ball circles", scene(obj("circle", motion="circle"))),
    # Opposite directions are two motions, unless the first is where the motion starts ("left to right").
    ("a ball moving left and right", scene(obj("circle", motion="left"), unknown=("right (one motion per object)",))),
    ("a ball going left to right", scene(obj("circle", motion="right"))),
    ("a square moving from the upper left to the lower right", scene(obj("square", motion="down-right"))),
    # A count before a noun the world lacks is still that many objects; "across" alone heads right.
    ("a kite drifting across the night sky", scene(obj(motion="right"), background="night", unknown=("kite",))),
    # A verb of going somewhere with no direction still goes somewhere; a verb like "standing" says nothing.
    ("a dog running", scene(obj(travels=True), unknown=("dog",))),
    ("a dog standing", scene(obj(), unknown=("dog",))),
    ("a ball passing behind a wall", scene(obj("circle", travels=True), occluder=True)),
    ("a red car drives past", scene(obj(colour="red", motion="right"), unknown=("car",))),
    ("two balls moving past each other", scene(obj("circle", motion="right"), obj("circle", motion="left"))),
    ("the sun setting", scene(obj(motion="down"), unknown=("sun",))),
    ("the moon rising", scene(obj("circle", motion="up"))),
    ("two dogs", scene(obj(), obj(), unknown=("dogs",))),
    ("a ball on a table", scene(obj("circle"), unknown=("table",))),
    ("a cross moving left", scene(obj(motion="left"), unknown=("cross",))),
    ("Close-up of a green cube sliding left",
     scene(obj("square", "green", motion="left"), unknown=("close up (the camera only pans)",))),
    # "top" where a noun stands is a toy the world lacks; after "to the" or "at the" it is up or a place.
    ("a spinning top", scene(obj(motion="spin"), unknown=("top",))),
    ("the red top", scene(obj(colour="red"), unknown=("top",))),
    ("a ball rolls to the top", scene(obj("circle", motion="up"))),
    # Key-value prompts: the keys are not objects ("shape: triangle" is one triangle).
    ("colour: red, shape: triangle, direction: left", scene(obj("triangle", "red", motion="left"))),
    ("object=ball direction=left background=night", scene(obj("circle", motion="left"), background="night")),
    # "a ... one" after a noun is another of the same shape; "down a hill" is a path, not a second object.
    ("a large red ball and a small one", scene(obj("circle", "red", "large"), obj("circle", size="small"))),
    ("a ball rolls down a hill", scene(obj("circle", motion="down"), unknown=("hill",))),
    # A ball rolls along the ground: with no side named it goes across, unless a relation sets it.
    ("a ball rolling", scene(obj("circle", motion="right"))),
    ("a rolling pink ball", scene(obj("circle", "pink", motion="right"))),
    ("a ball that rolls along the ground", scene(obj("circle", motion="right"))),
    ("two balls rolling towards each other", scene(obj("circle", motion="right"), obj("circle", motion="left"))),
    ("two balls moving across in opposite directions",
     scene(obj("circle", motion="right"), obj("circle", motion="left"))),
    # "the big one", "the red one" name an object read before by what sets it apart; its clause is its own.
    ("a big blue ball and a small red ball, the big one moves right, the small one moves left",
     scene(obj("circle", "blue", "large", "right"), obj("circle", "red", "small", "left"))),
    ("a red ball and a blue star. The blue one spins", scene(obj("circle", "red"), obj("star", "blue", motion="spin"))),
    ("a big ball and a star, the big one moves left", scene(obj("circle", size="large", motion="left"), obj("star"))),
    ("the big one moves left", scene(obj(size="large", motion="left"))),
    # "coloured" after a colour word joins it to the noun; sand and beaches are the beige background; zipping is fast.
    ("a sand-coloured cube", scene(obj("square"), unknown=(f"sand ({OBJECT_COLOURS})",))),
    ("a red colored ball", scene(obj("circle", "red"))),
    ("a scarlet sphere hopping along the beach", scene(obj("circle", "red", motion="bounce"), background="beige")),
    ("a huge red ball zipping left at lightning speed", scene(obj("circle", "red", "large", "left", "fast"))),
    # "the red ball" picks the red one even when a ball with no colour came later.
    ("a red ball and a ball; the red ball moves up", scene(obj("circle", "red", motion="up"), obj("circle"))),
    # Contracted negations negate: no rain, and no blue object.
    ("it isn't raining", scene(weather="none")),
    ("a red ball which isn't blue", scene(obj("circle", "red"), unknown=("isnt blue",))),
    # A direction between "the" and a noun is where an object is (reported); after a plural it picks a member.
    ("the top ball moves left", scene(obj("circle", motion="left"), unknown=(f"the top ({PLACE})",))),
    ("two balls: the left ball moves up and the right one moves down",
     scene(obj("circle", motion="up"), obj("circle", motion="down"),
           unknown=(f"the left ({PLACE})", f"the right ({PLACE})"))),
    ("the top left red star spins", scene(obj("star", "red", motion="spin"), unknown=(f"the top left ({PLACE})",))),
    ("a ball rolls toward the top left corner", scene(obj("circle", motion="up-left"))),
    ("two balls, one moves up and one moves down", scene(obj("circle", motion="up"), obj("circle", motion="down"))),
    ("a square sliding along the bottom", scene(obj("square", travels=True), unknown=(f"along the bottom ({PLACE})",))),
    # A shape the world does not draw is still an object (its shape left open), reported with the shapes it has,
    # and found again by its noun.
    ("a blue rectangle moving right",
     scene(obj(colour="blue", motion="right"), unknown=(f"rectangle ({OBJECT_SHAPES})",))),
    ("two hearts", scene(obj(), obj(), unknown=(f"hearts ({OBJECT_SHAPES})",))),
    ("a red heart and a blue ball. The heart moves left and the ball moves right.",
     scene(obj(colour="red", motion="left"), obj("circle", "blue", motion="right"),
           unknown=(f"heart ({OBJECT_SHAPES})",))),
    ("a white oval", scene(obj(), unknown=(f"white ({OBJECT_COLOURS})", f"oval ({OBJECT_SHAPES})"))),
    # Colliding objects move towards each other; hovering is standing still; barely moving is slow.
    ("two balls colliding", scene(obj("circle", motion="right"), obj("circle", motion="left"))),
    ("a star hovering in space", scene(obj("star", motion="still"), background="night")),
    ("a sluggish ball that barely moves left", scene(obj("circle", motion="left", speed="slow"))),
    # A static shot is a still camera; smooth, steady motion is what the world makes anyway.
    ("blue ball moving up, static shot", scene(obj("circle", "blue", motion="up"), camera_pan="none")),
    ("a ball moving smoothly and steadily to the left", scene(obj("circle", motion="left"))),
    # A light background is the light gray one, a bright one white; light rain is rain on any background.
    ("a square on a light background", scene(obj("square"), background="gray")),
    ("a star on a bright backdrop", scene(obj("star"), background="white")),
    ("a ball in light rain", scene(obj("circle"), weather="rain")),
]  # fmt: skip


@pytest.mark.parametrize(("prompt", "expected"), CASES, ids=[case[0] for case in CASES])
def test_prompt_table(prompt: str, expected: SceneAttributes) -> None:
    assert parse_prompt(prompt) == expected


def test_scene_direction_words_never_move_objects() -> None:
    parsed = parse_prompt("a red ball moving up while the camera pans left")
    assert parsed.objects[0].motion == "up"
    assert parsed.camera_pan == "left"
    parsed = parse_prompt("panning right, a green star drifts down")
    assert (parsed.camera_pan, parsed.objects[0].motion) == ("right", "down")


def test_motion_before_any_object_goes_to_the_next_one() -> None:
    parsed = parse_prompt("slowly sinking, a tiny blue square")
    assert parsed.objects == (obj("square", "blue", "small", "down", "slow"),)


def test_empty_prompt_says_nothing() -> None:
    assert parse_prompt("") == SceneAttributes()
    assert parse_prompt("   ...  ") == SceneAttributes()
    assert parse_prompt("").count is None


def test_complete_scene_fills_absent_scene_fields() -> None:
    parsed = complete_scene(parse_prompt("a red ball on grass"))
    assert (parsed.camera_pan, parsed.weather, parsed.occluder) == ("none", "none", False)
    kept = complete_scene(parse_prompt("a red ball on grass, the camera pans right, in the rain, behind a wall"))
    assert (kept.camera_pan, kept.weather, kept.occluder) == ("right", "rain", True)


def test_describe_unknown_names_the_words() -> None:
    assert describe_unknown(parse_prompt("a dragon breathing fire")) == "not understood: dragon, breathing, fire"
    assert describe_unknown(parse_prompt("a red ball moving left")) is None
    assert describe_unknown(parse_prompt("a cat and another cat")) == "not understood: cat"


def test_tokenize_drops_apostrophes_and_splits_hyphens() -> None:
    assert tokenize("It doesn't move; up-left!") == ["it", "doesnt", "move", ";", "up", "left", "!"]


def test_non_string_prompt_is_rejected() -> None:
    with pytest.raises(ValueError, match="prompt must be a string"):
        parse_prompt(None)  # type: ignore[arg-type]
