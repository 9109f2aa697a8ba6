"""Deterministic builders for the shipped starting pools.

Every pool is generated from our own templates and the word lists in ``vocabulary.py``
with a seeded ``random.Random`` (never the global RNG), so the same size and seed always
give the same lines. ``python -m devkit.pools.build`` (from the repo root) rewrites the shipped
files in ``src/mils/pools/data/``. This is a development tool, not part of the installed package:
the runtime only reads the files (``mils.pools.load_pool``).

Lines are unique ignoring case, grammatical (a/an, plural agreement with counts) and short.
"""
from __future__ import annotations

import argparse
import logging
import random
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mils.pools import DATA_DIR

from . import vocabulary as V

log = logging.getLogger(__name__)

FILES = {
    "image": "image_descriptions.txt",
    "audio": "audio_descriptions.txt",
    "edit": "edit_instructions.txt",
}
DEFAULT_SIZES = {"image": 24000, "audio": 12000, "edit": 600}

IMAGE_WORDS = (4, 12)   # the image caption task keeps captions to 12 words
AUDIO_WORDS = (5, 20)
EDIT_WORDS = (3, 24)

# ---------------------------------------------------------------------------
# Grammar helpers
# ---------------------------------------------------------------------------

# Vowel letters that sound like consonants, and the reverse.
_A_PREFIXES = ("uni", "use", "usu", "uk", "ute", "uti", "eu", "ewe", "one", "once")
_AN_PREFIXES = ("hour", "honest", "honor", "heir")


def article(phrase: str) -> str:
    """'a' or 'an' for the first word of ``phrase``, by sound ("an hourglass", "a unicorn")."""
    word = phrase.strip().split(" ", 1)[0].lower()
    if not word:
        raise ValueError("article() needs a non-empty phrase")
    if word.startswith(_AN_PREFIXES):
        return "an"
    if word[0].isdigit():
        # "an 8-bit", "an 11th", "an 1800s"; every other number starts with a consonant sound
        return "an" if re.match(r"(8|11(?!\d\d\d)|18(?!\d\d\d))", word) else "a"
    if word.startswith(_A_PREFIXES):
        return "a"
    return "an" if word[0] in "aeiou" else "a"


def with_article(phrase: str) -> str:
    return f"{article(phrase)} {phrase}"


_IRREGULAR_PLURALS = {
    "man": "men", "woman": "women", "child": "children", "person": "people", "mouse": "mice",
    "goose": "geese", "ox": "oxen", "foot": "feet", "tooth": "teeth", "leaf": "leaves",
    "loaf": "loaves", "knife": "knives", "wolf": "wolves", "calf": "calves", "half": "halves",
    "shelf": "shelves", "scarf": "scarves", "elf": "elves", "cactus": "cacti", "oasis": "oases",
    "die": "dice", "thief": "thieves", "life": "lives",
}
# Same in singular and plural.
_INVARIANT = {"sheep", "deer", "moose", "fish", "bison", "reindeer", "elk", "shrimp", "salmon",
              "squid", "samurai", "aircraft", "tuna", "koi", "trout", "wildebeest", "music"}
_MAN_NOT_MEN = {"german", "human", "roman", "shaman", "talisman", "caiman", "ottoman", "walkman"}
_O_ES = {"potato", "tomato", "hero", "echo", "mango", "volcano", "torpedo", "mosquito",
         "buffalo", "domino", "tornado", "veto"}


def _plural_word(word: str) -> str:
    low = word.lower()
    if low in _IRREGULAR_PLURALS:
        return word[: len(word) - len(low)] + _IRREGULAR_PLURALS[low]
    if low in _INVARIANT or low.endswith("fish"):
        return word
    if low.endswith("man") and low not in _MAN_NOT_MEN:
        return word[:-3] + "men"
    if low.endswith("shelf"):
        return word[:-1] + "ves"
    if low.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        return word[:-1] + "ies"
    if low.endswith("o") and low in _O_ES:
        return word + "es"
    return word + "s"


def pluralize(noun: str) -> str:
    """Plural of a noun phrase: "fox" -> "foxes", "cup of espresso" -> "cups of espresso"."""
    if " of " in noun:
        head, tail = noun.split(" of ", 1)
        return f"{pluralize(head)} of {tail}"
    words = noun.split(" ")
    last = words[-1]
    if "-" in last and last.lower() not in _IRREGULAR_PLURALS:
        parts = last.split("-")
        parts[-1] = _plural_word(parts[-1])
        words[-1] = "-".join(parts)
    else:
        words[-1] = _plural_word(last)
    return " ".join(words)


_O_ES_VERBS = {"go", "do", "echo", "veto", "torpedo"}
_THIRD_IRREGULAR = {"be": "is", "have": "has", "do": "does", "go": "goes"}
_GERUND_IRREGULAR = {"die": "dying", "lie": "lying", "tie": "tying", "see": "seeing",
                     "flee": "fleeing", "be": "being", "ski": "skiing", "panic": "panicking"}
# One-syllable (or end-stressed) verbs that double their last consonant before -ing.
_DOUBLE_FINAL = {
    "hum", "drip", "chop", "clap", "flap", "stop", "tap", "slam", "rev", "sob", "trot", "plop",
    "snap", "drum", "zip", "flip", "strum", "skip", "rap", "rub", "hop", "jog", "shut", "dig",
    "whir", "run", "sit", "bob", "grab", "drag", "plug", "pop", "swim", "spin", "hit", "cut",
    "get", "pat", "nod", "step", "trip", "scrub", "chug", "thud", "throb", "rip", "stir", "wag",
    "beg", "pet", "dip", "drop", "mop", "clip", "grip", "jam", "knit", "set", "put", "whip",
    "sip", "hug", "tug", "stab", "tip", "zap", "wrap", "yap", "yip", "clop", "lap", "pad",
    "bat", "dab", "blur", "occur", "prod", "scan", "fan", "pin", "rot", "spot", "swat",
}


def third_person(verb_phrase: str) -> str:
    """"bark loudly" -> "barks loudly", "buzz" -> "buzzes", "cry" -> "cries"."""
    verb, _, rest = verb_phrase.partition(" ")
    if verb in _THIRD_IRREGULAR:
        out = _THIRD_IRREGULAR[verb]
    elif verb.endswith(("s", "x", "z", "ch", "sh")) or verb in _O_ES_VERBS:
        out = verb + "es"
    elif verb.endswith("y") and verb[-2:-1] not in ("a", "e", "i", "o", "u"):
        out = verb[:-1] + "ies"
    else:
        out = verb + "s"
    return f"{out} {rest}" if rest else out


def gerund(verb_phrase: str) -> str:
    """"bark loudly" -> "barking loudly", "hum" -> "humming", "whistle" -> "whistling"."""
    verb, _, rest = verb_phrase.partition(" ")
    if verb in _GERUND_IRREGULAR:
        out = _GERUND_IRREGULAR[verb]
    elif verb.endswith("ie"):
        out = verb[:-2] + "ying"
    elif verb.endswith(("ee", "ye", "oe")):
        out = verb + "ing"
    elif verb.endswith("e") and len(verb) > 2:
        out = verb[:-1] + "ing"
    elif verb in _DOUBLE_FINAL:
        out = verb + verb[-1] + "ing"
    else:
        out = verb + "ing"
    return f"{out} {rest}" if rest else out


def capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def word_count(text: str) -> int:
    return len(text.split())


# ---------------------------------------------------------------------------
# Shared machinery: fill format templates field by field, keep unique lines.
# ---------------------------------------------------------------------------

_FORMATTER = string.Formatter()


def _fields(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in _FORMATTER.parse(template) if name)


def _fill(template: str, values: dict[str, str]) -> str:
    """Format ``template`` and tidy it: single spaces, first letter upper case."""
    out = template.format(**values)
    out = re.sub(r"\s+", " ", out).strip()
    return capitalize(out)


# "Cinematic cinematic still", "rolls in in the distance", "Four four-poster beds".
_REPEATED_WORD = re.compile(r"\b(\w+) \1\b", re.IGNORECASE)


def _collect(make: Callable[[random.Random], str], size: int, seed: int, words: tuple[int, int],
             what: str) -> list[str]:
    """Call ``make`` until ``size`` distinct (case-insensitive) lines within ``words`` exist."""
    if size < 1:
        raise ValueError(f"{what} pool size must be at least 1, got {size}")
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    attempts, max_attempts = 0, size * 50 + 1000
    while len(out) < size:
        attempts += 1
        if attempts > max_attempts:
            raise RuntimeError(f"could only build {len(out)} unique {what} lines of {size} "
                               f"requested after {max_attempts} attempts")
        line = make(rng)
        n = word_count(line)
        key = line.lower()
        if words[0] <= n <= words[1] and key not in seen and not _REPEATED_WORD.search(line):
            seen.add(key)
            out.append(line)
    log.debug("built %d %s lines in %d attempts", len(out), what, attempts)
    return out


def _pick_weighted(rng: random.Random, items: tuple[tuple[int, object], ...]):
    total = sum(w for w, _ in items)
    r = rng.uniform(0, total)
    for w, item in items:
        r -= w
        if r <= 0:
            return item
    return items[-1][1]


# ---------------------------------------------------------------------------
# Image pool
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Subject:
    category: str
    noun: str


_SUBJECTS = tuple(_Subject(cat, noun) for cat, nouns in V.SUBJECTS.items() for noun in nouns)
_BY_CATEGORY = {cat: tuple(s for s in _SUBJECTS if s.category == cat) for cat in V.SUBJECTS}
_BY_NOUN = {s.noun: s for s in _SUBJECTS}
_FIXED_COLOUR = set(V.FIXED_COLOUR_NOUNS)
# "a pair of red boots" (adjective inside) versus "a half-empty cup of coffee" (outside).
_INNER_ADJECTIVE_HEADS = ("pair", "stack", "spool", "ball", "bar", "deck", "bouquet", "bunch")

ANIMALS = ("pet", "farm_animal", "forest_animal", "savanna_animal", "jungle_animal",
           "polar_animal", "bird", "sea_creature", "small_creature")
PEOPLE = ("person", "child")
FOOD = ("fruit_veg", "baked", "dish", "drink")
OBJECTS = ("tool", "vessel", "utensil", "appliance", "furniture", "gadget", "household", "toy",
           "clothing", "accessory", "jewelry", "instrument", "sports_gear")
SMALL_OBJECTS = ("tool", "vessel", "gadget", "household", "toy", "accessory", "jewelry",
                 "nature_item", "plant", "flower")
BUILDINGS = ("historic_building", "modern_building")
SCENERY = BUILDINGS + ("landscape",)
OUTDOOR_CATEGORIES = set(ANIMALS) - {"pet"} | set(SCENERY) | {
    "tree", "vehicle", "watercraft", "aircraft", "spacecraft", "street_object", "fantasy",
    "nature_item"}
COUNTABLE = tuple(c for c in V.SUBJECTS if c != "landscape")
ALL = tuple(V.SUBJECTS)


def _noun_phrase(rng: random.Random, subject: _Subject, *, count: str | None = None,
                 adjective_rate: float = 0.6) -> str:
    """"a rusty bicycle", "two red foxes", "a pair of leather boots", "a flock of seagulls"."""
    noun = subject.noun
    adjs = _adjectives(rng, subject) if rng.random() < adjective_rate else []
    head, sep, tail = noun.partition(" of ")
    inner = bool(sep) and head in _INNER_ADJECTIVE_HEADS
    if count is None:
        if inner:
            return f"{with_article(head)} of {' '.join(adjs + [tail])}"
        return with_article(" ".join(adjs + [noun]))
    if inner:
        return f"{count} {pluralize(head)} of {' '.join(adjs + [tail])}"
    return f"{count} {' '.join(adjs + [pluralize(noun)])}"


def _adjectives(rng: random.Random, subject: _Subject) -> list[str]:
    spec = V.CATEGORY_ADJECTIVES.get(subject.category, {})
    quality = spec.get("quality", ())
    colour = () if subject.noun in _FIXED_COLOUR else spec.get("colour", ())
    material = spec.get("material", ())
    shapes = [(5, ("quality",)), (3, ("colour",)), (2, ("material",)),
              (2, ("quality", "colour")), (1, ("quality", "material"))]
    pools = {"quality": quality, "colour": colour, "material": material}
    shapes = tuple((w, s) for w, s in shapes if all(pools[k] for k in s))
    if not shapes:
        return []
    shape = _pick_weighted(rng, shapes)
    taken = set(re.split(r"[\s-]+", subject.noun.lower()))
    out: list[str] = []
    for key in shape:
        adj = rng.choice(pools[key])
        words = set(re.split(r"[\s-]+", adj.lower()))
        if words & taken:
            continue
        taken |= words
        out.append(adj)
    return out


def _count_phrase(rng: random.Random, subject: _Subject) -> str:
    collectives = V.COLLECTIVES.get(subject.category, ())
    if collectives and " of " not in subject.noun and rng.random() < 0.3:
        return rng.choice(collectives)
    return rng.choice(V.COUNTS)


class _ImageScene:
    """Lazily chosen parts of one image description for one subject."""

    def __init__(self, rng: random.Random, subject: _Subject):
        self.rng = rng
        self.subject = subject
        self.cat = subject.category
        self.setting_group: str | None = None
        self.indoor = False     # set for scenes inside a building

    # each field -------------------------------------------------------------
    def np(self) -> str:
        return _noun_phrase(self.rng, self.subject)

    def nps(self) -> str:
        return _noun_phrase(self.rng, self.subject, count=_count_phrase(self.rng, self.subject))

    def kind(self) -> str:
        groups = V.CATEGORY_KINDS[self.cat]
        # the general kinds dominate; the category's special kinds add flavour
        if self.rng.random() < 0.6 or len(groups) == 1:
            group = "general"
        else:
            group = self.rng.choice(groups[1:])
        return self.rng.choice(V.IMAGE_KINDS[group])

    def a_kind(self) -> str:
        return with_article(self.kind())

    def aerial(self) -> str:
        return self.rng.choice(V.IMAGE_KINDS["aerial"])

    def setting(self) -> str:
        group = self.rng.choice(V.CATEGORY_SETTINGS[self.cat])
        self.setting_group = group
        return self.rng.choice(V.SETTINGS[group])

    def lighting(self) -> str:
        if self.indoor:
            outdoor = False
        elif self.setting_group is not None:
            outdoor = self.setting_group not in V.INDOOR_SETTING_GROUPS
        else:
            outdoor = self.cat in OUTDOOR_CATEGORIES
        if outdoor and self.rng.random() < 0.75:
            return self.rng.choice(V.LIGHTING_OUTDOOR)
        return self.rng.choice(V.LIGHTING_ANY)

    def action(self) -> str:
        return self.rng.choice(V.ACTIONS[self.cat])

    def placement(self) -> str:
        return self.rng.choice(V.PLACEMENTS[V.CATEGORY_PLACEMENT[self.cat]])

    def style(self) -> str:
        return self.rng.choice(V.STYLE_PREFIXES)

    def mood(self) -> str:
        return self.rng.choice(V.MOODS)

    def movement(self) -> str:
        return self.rng.choice(V.ART_MOVEMENTS)

    def other(self, categories: tuple[str, ...]) -> str:
        cat = self.rng.choice(categories)
        choices = [s for s in _BY_CATEGORY[cat] if s.noun != self.subject.noun]
        return _noun_phrase(self.rng, self.rng.choice(choices), adjective_rate=0.4)

    def np2(self) -> str:
        return self.other(SMALL_OBJECTS)

    def same(self) -> str:
        return self.other((self.cat,))

    def background(self) -> str:
        return self.other(SCENERY)

    def foreground(self) -> str:
        return self.other(("vehicle", "watercraft", "farm_animal", "forest_animal", "person",
                           "tree", "historic_building", "street_object"))

    def holdable(self) -> str:
        return self.other(V.HOLDABLE_CATEGORIES)

    def instrument(self) -> str:
        return self.other(("instrument",))

    def rideable(self) -> str:
        return _noun_phrase(self.rng, _BY_NOUN[self.rng.choice(V.RIDEABLES)], adjective_rate=0.4)

    def background_colour(self) -> str:
        return self.rng.choice(V.SURFACES_PLAIN)

    def covering(self) -> str:
        return self.rng.choice(V.COVERINGS)

    def sky(self) -> str:
        return self.rng.choice(V.SKIES)

    def reflective(self) -> str:
        return self.rng.choice(V.REFLECTIVE_SURFACES)

    def made_of(self) -> str:
        return self.rng.choice(V.MADE_OF)

    def vantage(self) -> str:
        return self.rng.choice(V.VANTAGE_POINTS)


# The order fields are filled in: setting before lighting (lighting follows the setting).
_IMAGE_FIELD_ORDER = ("setting",)


@dataclass(frozen=True)
class _Template:
    weight: int
    text: str
    categories: tuple[str, ...]


def _image_template(weight: int, text: str, categories: tuple[str, ...] = ALL) -> _Template:
    fields = {f.lower() for f in _fields(text)}
    ok = []
    for cat in categories:
        if "action" in fields and cat not in V.ACTIONS:
            continue
        if "placement" in fields and cat not in V.CATEGORY_PLACEMENT:
            continue
        if "setting" in fields and not V.CATEGORY_SETTINGS.get(cat):
            continue
        if "nps" in fields and cat not in COUNTABLE:
            continue
        ok.append(cat)
    if not ok:
        raise ValueError(f"image template {text!r} fits no category")
    return _Template(weight, text, tuple(ok))


_NOT_LANDSCAPE = tuple(c for c in ALL if c != "landscape")
_OBJECTS_AND_FOOD = OBJECTS + FOOD + ("plant", "flower", "nature_item")
_SILHOUETTES = ANIMALS + PEOPLE + ("tree", "aircraft", "fantasy") + BUILDINGS
_MADE_OF_OK = ("pet", "farm_animal", "forest_animal", "savanna_animal", "jungle_animal",
               "polar_animal", "bird", "sea_creature", "fantasy", "vehicle", "aircraft",
               "watercraft", "spacecraft", "historic_building", "instrument", "toy", "vessel")

IMAGE_TEMPLATES: tuple[_Template, ...] = (
    _image_template(11, "{Kind} of {np} {setting}", _NOT_LANDSCAPE),
    _image_template(6, "{Kind} of {np} {action}"),
    _image_template(7, "{Kind} of {np} {action} {setting}"),
    _image_template(10, "{Kind} of {np} {placement}"),
    _image_template(3, "{A_kind} of {np} {setting} {lighting}"),
    _image_template(2, "{A_kind} of {np} {placement}"),
    _image_template(6, "{Kind} of {nps} {setting}"),
    _image_template(4, "{Kind} of {nps} {action}"),
    _image_template(3, "{Kind} of {nps} {placement}"),
    _image_template(4, "{Np} {action} {setting}"),
    _image_template(4, "{Np} {placement}"),
    _image_template(3, "{Np} {placement} {lighting}"),
    _image_template(4, "{Np} {setting} {lighting}"),
    _image_template(5, "{Nps} {action} {setting}"),
    _image_template(4, "{Nps} {placement}"),
    _image_template(3, "{Nps} {setting} {lighting}"),
    _image_template(4, "{Np} {setting}, {kind}"),
    _image_template(3, "{Np} {action}, {kind}"),
    _image_template(5, "{Style} {kind} of {np}"),
    _image_template(4, "{Style} {kind} of {np} {setting}"),
    _image_template(4, "{Mood} {kind} of {np} {lighting}"),
    _image_template(3, "{Kind} of {np} next to {np2}", SMALL_OBJECTS + FOOD + ("pet",)),
    _image_template(3, "{Kind} of {np} and {same} {setting}", ANIMALS + PEOPLE + FOOD + OBJECTS),
    _image_template(3, "{Kind} of {np} on a {background_colour} background", _OBJECTS_AND_FOOD),
    _image_template(3, "{Kind} of {np} covered in {covering}",
                    ("vehicle", "furniture", "street_object", "household", "toy", "tool")
                    + BUILDINGS),
    _image_template(3, "Silhouette of {np} against {sky}", _SILHOUETTES),
    _image_template(3, "{Kind} of {np} reflected in {reflective}",
                    SCENERY + ("tree", "vehicle", "watercraft", "person", "bird")),
    _image_template(2, "{Kind} of {np} made of {made_of}", _MADE_OF_OK),
    _image_template(4, "{Kind} of {np} holding {holdable}", PEOPLE),
    _image_template(3, "{Np} holding {holdable} {setting}", PEOPLE),
    _image_template(3, "{Np} playing {instrument} {setting}", PEOPLE),
    _image_template(3, "{Kind} of {np} riding {rideable}", PEOPLE),
    _image_template(2, "{Np} riding {rideable} {lighting}", PEOPLE),
    _image_template(3, "{Kind} of {np} with {background} in the background",
                    ANIMALS + PEOPLE + ("vehicle", "tree", "watercraft", "fantasy")),
    _image_template(4, "{Kind} of {np} with {foreground} in the foreground", SCENERY),
    _image_template(3, "View of {np} from {vantage}", SCENERY),
    _image_template(5, "{Aerial} of {np} {lighting}", SCENERY + ("watercraft", "tree")),
    _image_template(4, "{Np} {lighting}", SCENERY),
    _image_template(3, "{Np} {lighting}, {kind}", SCENERY),
    _image_template(3, "Top-down view of {np} {placement}", FOOD + OBJECTS),
    _image_template(2, "{Np} seen from below",
                    BUILDINGS + ("tree", "aircraft", "spacecraft", "person", "savanna_animal")),
    _image_template(3, "Inside {np} {lighting}", BUILDINGS),
    _image_template(3, "{Np} {setting}, {movement} style"),
    _image_template(2, "{Np} {placement}, {movement} style"),
    _image_template(2, "Close-up of {np} {placement}", _OBJECTS_AND_FOOD + ANIMALS),
    _image_template(2, "Portrait of {np} {setting}", PEOPLE + ("pet", "fantasy")),
    _image_template(2, "Portrait of {np} {action}", PEOPLE + ("pet", "fantasy")),
    _image_template(2, "{Kind} of {np}"),
)

_NO_INTERIOR = set(V.NO_INTERIOR)
_TOO_YOUNG = {"baby", "toddler"}
# How often a description that opens with its subject drops the article, as captions often do.
_DROP_LEADING_ARTICLE = 0.6


def _image_line(rng: random.Random) -> str:
    template = _pick_weighted(rng, tuple((t.weight, t) for t in IMAGE_TEMPLATES))
    cat = rng.choice(template.categories)
    subjects = _BY_CATEGORY[cat]
    if template.text.startswith("Inside"):
        subjects = tuple(s for s in subjects if s.noun not in _NO_INTERIOR)
    if "{rideable}" in template.text or "{instrument}" in template.text:
        subjects = tuple(s for s in subjects if s.noun not in _TOO_YOUNG)
    scene = _ImageScene(rng, rng.choice(subjects))
    scene.indoor = template.text.startswith("Inside")
    names = _fields(template.text)
    values: dict[str, str] = {}
    ordered = sorted(names, key=lambda n: 0 if n.lower() in _IMAGE_FIELD_ORDER else 1)
    for name in ordered:
        value = getattr(scene, name.lower())()
        if name == "Np" and rng.random() < _DROP_LEADING_ARTICLE:
            value = value.split(" ", 1)[1]      # caption style: "Rusty bicycle leaning ..."
        values[name] = capitalize(value) if name[0].isupper() else value
    return _fill(template.text, values)


def build_image_pool(size: int = DEFAULT_SIZES["image"], seed: int = 0) -> list[str]:
    """``size`` unique short image descriptions ("Close-up photo of a rusty bicycle ...")."""
    return _collect(_image_line, size, seed, IMAGE_WORDS, "image")


# ---------------------------------------------------------------------------
# Audio pool
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Source:
    category: str
    noun: str
    verbs: tuple[str, ...]

    @property
    def countable(self) -> bool:
        return (self.category in V.AUDIO_COUNTABLE_CATEGORIES
                and self.noun not in _AUDIO_UNCOUNTABLE and self.noun not in _AUDIO_PLURAL_ONLY)


_AUDIO_UNCOUNTABLE = set(V.AUDIO_UNCOUNTABLE)
_AUDIO_PLURAL_ONLY = set(V.AUDIO_PLURAL_ONLY)
_SOURCES = tuple(_Source(cat, noun, verbs)
                 for cat, entries in V.AUDIO_SOURCES.items() for noun, verbs in entries)
_SOURCES_BY_ENV = {env: tuple(s for s in _SOURCES if env in V.AUDIO_ENVIRONMENTS[s.category])
                   for env in V.AUDIO_PLACES}
# Qualifiers that can open a sentence ("In the distance, a dog barks.").
_LEAD_QUALIFIERS = tuple(q for q in V.ACOUSTIC_QUALIFIERS
                         if not q.startswith(("with", "right", "at")))
_AUDIO_COUNTS = ("two", "three", "several", "a few", "many")


def _has_adverb(verb_phrase: str) -> bool:
    return any(w.endswith("ly") for w in verb_phrase.split()[1:])


@dataclass
class _Clause:
    subject: str
    plural: bool
    verb: str          # base form

    def finite(self, verb: str | None = None) -> str:
        v = verb or self.verb
        return v if self.plural else third_person(v)


class _AudioScene:
    """Two sound sources that plausibly share a place, and the words around them."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.first = rng.choice(_SOURCES)
        self.env = rng.choice(V.AUDIO_ENVIRONMENTS[self.first.category])
        others = [s for s in _SOURCES_BY_ENV[self.env] if s.noun != self.first.noun]
        self.second = rng.choice(others)
        self._c1 = self._clause(self.first, allow_count=True)
        self._c2 = self._clause(self.second, allow_count=False)

    def _subject(self, src: _Source, allow_count: bool) -> tuple[str, bool]:
        if src.noun in _AUDIO_UNCOUNTABLE:
            return src.noun, False
        if src.noun in _AUDIO_PLURAL_ONLY:
            return src.noun, True
        if src.countable and allow_count:
            r = self.rng.random()
            if r < 0.2:
                return f"{self.rng.choice(_AUDIO_COUNTS)} {pluralize(src.noun)}", True
            if r < 0.28:
                return pluralize(src.noun), True
        if allow_count and self.rng.random() < 0.15:
            return f"the {src.noun}", False
        return with_article(src.noun), False

    def _clause(self, src: _Source, allow_count: bool) -> _Clause:
        subject, plural = self._subject(src, allow_count)
        return _Clause(subject, plural, self.rng.choice(src.verbs))

    def _with_adverb(self, clause: _Clause) -> str:
        r = self.rng.random()
        if _has_adverb(clause.verb):
            return f"{clause.subject} {clause.finite()}"
        if r < 0.2:
            return f"{clause.subject} {self.rng.choice(V.AUDIO_ADVERBS_BEFORE)} {clause.finite()}"
        if r < 0.45 and " " not in clause.verb:
            return f"{clause.subject} {clause.finite()} {self.rng.choice(V.AUDIO_ADVERBS_AFTER)}"
        return f"{clause.subject} {clause.finite()}"

    # fields ---------------------------------------------------------------
    def c1(self) -> str:
        return self._with_adverb(self._c1)

    def c2(self) -> str:
        return self._with_adverb(self._c2)

    def b1(self) -> str:
        return f"{self._c1.subject} {self._c1.finite()}"

    def b2(self) -> str:
        return f"{self._c2.subject} {self._c2.finite()}"

    def p1(self) -> str:
        return f"{self._c1.subject} {gerund(self._c1.verb)}"

    def p2(self) -> str:
        return f"{self._c2.subject} {gerund(self._c2.verb)}"

    def loud(self) -> str:
        """"loudly", unless the verb already says how ("plays softly")."""
        return "" if _has_adverb(self._c1.verb) else "loudly"

    def fades(self) -> str:
        return self._c1.finite(self.rng.choice(("fade", "fade away", "die down", "grow quieter")))

    def place(self) -> str:
        return self.rng.choice(V.AUDIO_PLACES[self.env])

    def qual(self) -> str:
        return self.rng.choice(V.ACOUSTIC_QUALIFIERS)

    def lead(self) -> str:
        return self.rng.choice(_LEAD_QUALIFIERS)

    def dur(self) -> str:
        return self.rng.choice(V.AUDIO_DURATIONS)

    def many(self) -> str:
        """A counted plural subject with a base-form verb: "several dogs bark"."""
        src = self.first
        return (f"{self.rng.choice(('several', 'many', 'a few', 'two', 'three'))} "
                f"{pluralize(src.noun)} {self._c1.verb}")


AUDIO_TEMPLATES: tuple[tuple[int, str], ...] = (
    (3, "{C1}."),
    (6, "{C1} {place}."),
    (5, "{C1} {qual}."),
    (4, "{C1} {dur}."),
    (6, "{B1} {place} while {c2}."),
    (5, "{C1} while {c2} {qual}."),
    (4, "{C1} as {c2}."),
    (4, "{C1}, and then {c2}."),
    (4, "{B1} and {b2} {place}."),
    (5, "{Place}, {c1} while {c2}."),
    (5, "{Lead}, {c1}."),
    (4, "{Lead}, {c1} as {b2}."),
    (5, "{P1} {place}, with {p2} in the background."),
    (3, "The sound of {p1} {place}."),
    (3, "A recording of {p1} {qual}."),
    (4, "{B1} {dur}, followed by {p2}."),
    (3, "At first {c1}, then {c2}."),
    (4, "{B1} {loud} and then {fades}."),
    (3, "{B1} {place}, growing louder and then quieter."),
    (3, "While {c1}, {c2} {qual}."),
    (3, "{B1} over and over as {b2} {place}."),
    (3, "{B1} {place} and {b2} from time to time."),
    (3, "{P1} and {p2} {place}."),
    (2, "{P1} {qual}."),
)
_COUNTED_TEMPLATES: tuple[tuple[int, str], ...] = (
    (3, "{Many} {place}."),
    (2, "{Many} at the same time {qual}."),
)


def _audio_line(rng: random.Random) -> str:
    scene = _AudioScene(rng)
    templates = AUDIO_TEMPLATES
    if scene.first.countable:
        templates = templates + _COUNTED_TEMPLATES
    text = _pick_weighted(rng, templates)
    values: dict[str, str] = {}
    for name in _fields(text):
        value = getattr(scene, name.lower())()
        values[name] = capitalize(value) if name[0].isupper() else value
    return _fill(text, values)


def build_audio_pool(size: int = DEFAULT_SIZES["audio"], seed: int = 0) -> list[str]:
    """``size`` unique Clotho-like sentences ("A dog barks while traffic hums in the distance.")."""
    return _collect(_audio_line, size, seed, AUDIO_WORDS, "audio")


# ---------------------------------------------------------------------------
# Edit-instruction pool
# ---------------------------------------------------------------------------

class _EditScene:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self._painter = rng.choice(V.PAINTERS)

    def medium(self) -> str:
        return self.rng.choice(V.ART_MEDIA)

    def a_medium(self) -> str:
        return with_article(self.medium())

    def a_painted(self) -> str:
        return with_article(self.rng.choice(V.PAINTED_MEDIA))

    def mass_medium(self) -> str:
        return self.rng.choice(V.ART_MEDIA_MASS)

    def movement(self) -> str:
        return self.rng.choice(V.ART_MOVEMENTS)

    def a_movement_medium(self) -> str:
        return with_article(f"{self.movement()} {self.medium()}")

    def a_movement_painting(self) -> str:
        return with_article(f"{self.movement()} painting")

    def painter(self) -> str:
        return self._painter[0]

    def work(self) -> str:
        return self._painter[1]

    def effect(self) -> str:
        return self.rng.choice(V.EFFECTS)

    def effect2(self) -> str:
        return self.rng.choice(V.EFFECTS)

    def a_palette(self) -> str:
        return with_article(self.rng.choice(V.PALETTES))

    def change(self) -> str:
        return self.rng.choice(V.COLOUR_CHANGES)

    def season(self) -> str:
        return self.rng.choice(V.SEASONS)

    def season_scene(self) -> str:
        return self.rng.choice(V.SEASON_SCENES)

    def a_season_time(self) -> str:
        return with_article(f"{self.season_scene()} {self.rng.choice(V.TIMES_OF_DAY)}")

    def time(self) -> str:
        return self.rng.choice(V.TIME_PHRASES)

    def an_era_medium(self) -> str:
        return with_article(f"{self.rng.choice(V.ERAS)} {self.rng.choice(V.ERA_MEDIA)}")

    def new_setting(self) -> str:
        return self.rng.choice(V.NEW_SETTINGS)

    def genre(self) -> str:
        return self.rng.choice(V.GENRES)

    def a_look(self) -> str:
        return with_article(self.rng.choice(V.LOOKS))

    def tool(self) -> str:
        return self.rng.choice(V.DRAWING_TOOLS)

    def when(self) -> str:
        return self.rng.choice(("early", "late", "the middle of"))


EDIT_TEMPLATES: tuple[tuple[int, str], ...] = (
    (5, "Make it look like {a_medium}"),
    (3, "Make it look like {a_painted} by {painter}"),
    (5, "Turn the scene into {a_season_time}"),
    (3, "Turn the scene into {a_season_time} with {effect}"),
    (5, "Repaint it in the style of {painter}'s {work}"),
    (3, "Repaint it in the style of {painter}"),
    (3, "Make it look like a painting by {painter}"),
    (3, "Turn it into {a_medium} in the style of {painter}"),
    (4, "Render the image as {a_medium}"),
    (3, "Transform the photo into {a_medium}"),
    (3, "Redraw it as {a_medium} with {effect}"),
    (4, "Restyle it in the {movement} style"),
    (3, "Make it {a_movement_painting}"),
    (3, "Reimagine it as {a_movement_medium}"),
    (3, "Turn it into {mass_medium}"),
    (2, "Recreate the image in {mass_medium}"),
    (4, "Give it {a_palette} color palette"),
    (2, "Recolor it with {a_palette} palette and {effect}"),
    (3, "Make the colors {change}"),
    (2, "Make the colors {change} and add {effect}"),
    (4, "Add {effect} to the image"),
    (3, "Add {effect} and {effect2}"),
    (2, "Apply {effect} over the whole picture"),
    (2, "Change the season to {season}"),
    (2, "Make it look like {when} {season}"),
    (3, "Set the scene {time}"),
    (2, "Show the same scene {time} with {effect}"),
    (3, "Make it look like {an_era_medium}"),
    (3, "Place the scene in {new_setting}"),
    (2, "Move everything to {new_setting} {time}"),
    (3, "Make it look like a scene from {genre}"),
    (3, "Give the image {a_look} look"),
    (2, "Make it look hand-drawn with {tool}"),
    (2, "Recreate it with {tool} on rough paper"),
    (2, "Turn it into a {season_scene} scene in the style of {painter}"),
    (2, "Keep the composition but make it {a_medium}"),
)
# A few fixed instructions that no template produces.
EDIT_FIXED = (
    "Turn day into night", "Make it black and white", "Invert the colors",
    "Make it look like a faded old photograph", "Make everything look like it is made of glass",
    "Make it look like a child's crayon drawing", "Turn it into a coloring book page",
    "Make it look like a miniature tilt-shift model", "Flood the scene with warm sunlight",
    "Cover everything in fresh snow", "Make it look like an old film still",
    "Make it look like a page from a sketchbook",
)


def _edit_line(rng: random.Random) -> str:
    scene = _EditScene(rng)
    text = _pick_weighted(rng, EDIT_TEMPLATES)
    values = {name: getattr(scene, name.lower())() for name in _fields(text)}
    if values.get("effect") is not None and values.get("effect") == values.get("effect2"):
        values["effect2"] = rng.choice([e for e in V.EFFECTS if e != values["effect"]])
    return _fill(text, values)


def build_edit_pool(size: int = DEFAULT_SIZES["edit"], seed: int = 0) -> list[str]:
    """``size`` unique edit instructions ("Repaint it in the style of Hokusai's woodblock prints")."""
    fixed = list(EDIT_FIXED[:size])
    if len(fixed) == size:
        return fixed
    rng_lines = _collect(_edit_line, size + len(fixed), seed, EDIT_WORDS, "edit")
    seen = {f.lower() for f in fixed}
    out = fixed + [line for line in rng_lines if line.lower() not in seen]
    return out[:size]


BUILDERS: dict[str, Callable[..., list[str]]] = {
    "image": build_image_pool,
    "audio": build_audio_pool,
    "edit": build_edit_pool,
}


def write_pool(lines: list[str], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the shipped MILS starting pools.")
    parser.add_argument("--out", type=Path, default=DATA_DIR,
                        help="output folder (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=sorted(BUILDERS), action="append",
                        help="build only this pool (repeatable)")
    args = parser.parse_args(argv)
    for name in args.only or list(BUILDERS):
        lines = BUILDERS[name](DEFAULT_SIZES[name], seed=args.seed)
        path = args.out / FILES[name]
        write_pool(lines, path)
        print(f"{name}: {len(lines)} lines -> {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
