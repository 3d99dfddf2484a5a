"""A broad vocabulary of generic captions: what "an arbitrary description" looks like to a model.

The relevance cutoff (:mod:`photolens.retrieval.relevance`) compares a query with these captions on the
library's own photos, so it needs descriptions of the everyday things photos show — objects, animals,
people, food, clothing, vehicles, places, scenes, colours — none of them chosen for any test library.
Nouns follow common image-dataset categories (COCO, ImageNet, Places); one template, as in CLIP's own
zero-shot evaluation. Changing this list changes every model's cutoff: bump ``VERSION`` so stored null
models are rebuilt.
"""

from __future__ import annotations

VERSION = 1
TEMPLATE = "a photo of {}."

_NOUNS = """
person man woman child baby boy girl family crowd couple friends portrait face hands selfie
dog puppy cat kitten bird parrot duck chicken horse cow sheep goat pig rabbit mouse hamster fish
shark dolphin whale turtle frog snake lizard butterfly bee spider insect elephant giraffe zebra lion
tiger bear monkey deer fox wolf squirrel camel kangaroo penguin owl eagle swan
car truck bus train bicycle motorcycle scooter airplane helicopter boat ship sailboat taxi tractor
van rocket skateboard surfboard skis snowboard
chair sofa bed table desk lamp clock vase mirror window door staircase shelf bookcase cupboard
kitchen bathroom bedroom living room office classroom library hallway garage
television laptop computer keyboard phone camera headphones remote control microwave oven
refrigerator toaster sink toilet washing machine fan
cup mug glass bottle wine glass plate bowl fork knife spoon teapot jar basket box
bag handbag backpack suitcase umbrella wallet purse
shirt t-shirt blouse sweater pullover hoodie jacket coat dress skirt trousers jeans shorts suit
tie scarf hat cap gloves socks shoes sneakers boots sandals high heels slippers
watch ring necklace glasses sunglasses belt
apple banana orange lemon strawberry grapes pineapple watermelon cherry tomato carrot broccoli
potato onion mushroom salad sandwich hamburger pizza hot dog cake donut cookie bread cheese
egg soup rice noodles pasta sushi steak ice cream chocolate coffee tea juice beer wine
flower rose tulip sunflower tree palm tree forest grass leaves garden park field meadow farm
mountain hill valley cliff rock cave desert beach sea ocean lake river waterfall island sky
clouds sunset sunrise rain snow fog storm rainbow moon stars night
city street road bridge building skyscraper house church castle tower tunnel station airport
harbour market shop restaurant cafe bar stadium playground swimming pool museum
ball football basketball tennis racket baseball bat kite toy teddy bear doll balloon
book newspaper letter map painting poster drawing sign flag candle fireworks gift
guitar piano drum violin microphone
tool hammer scissors bucket rope
wedding party concert birthday picnic dinner meeting game
"""
_PHRASES = (
    "a document", "a screenshot", "a diagram", "text", "a number", "a logo", "a pattern", "a texture",
    "a plain background", "something small", "something large", "an object", "a product",
    "clothing", "food", "an animal", "a vehicle", "a building", "a landscape", "people", "a room", "a street scene",
)
_COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray")


def _with_article(noun: str) -> str:
    if noun.endswith("s") and not noun.endswith(("ss", "us", "bus")) or noun in ("people", "text", "food", "rice"):
        return noun  # plural or mass noun
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _nouns() -> list[str]:
    out: list[str] = []
    for line in _NOUNS.strip().splitlines():
        words = line.split()
        i = 0
        while i < len(words):  # two-word nouns are written joined by the known pairs below
            pair = " ".join(words[i : i + 2])
            if pair in _PAIRS:
                out.append(pair)
                i += 2
            else:
                out.append(words[i])
                i += 1
    return list(dict.fromkeys(out))


_PAIRS = frozenset({
    "living room", "remote control", "washing machine", "wine glass", "high heels", "hot dog", "ice cream",
    "palm tree", "swimming pool", "tennis racket", "baseball bat", "teddy bear",
})


def generic_captions() -> list[str]:
    """The vocabulary, deduplicated, in a stable order."""
    subjects = [_with_article(n) for n in _nouns()] + list(_PHRASES) + [f"something {c}" for c in _COLOURS]
    return list(dict.fromkeys(TEMPLATE.format(s) for s in subjects))
