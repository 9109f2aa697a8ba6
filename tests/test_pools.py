"""Starting pools: the shipped files, how they are built, and load_pool."""
from __future__ import annotations

import collections
import os
import re
from pathlib import Path

import pytest

from devkit.pools import build
from devkit.pools import vocabulary as V
from devkit.pools.build import article, gerund, pluralize, third_person
from mils import pools
from mils.errors import InputError

WORD_BOUNDS = {"image": build.IMAGE_WORDS, "audio": build.AUDIO_WORDS, "edit": build.EDIT_WORDS}
TOKEN = re.compile(r"[A-Za-z0-9'-]+|[,.]")


@pytest.fixture(scope="module")
def built() -> dict[str, list[str]]:
    """Each pool as the builders produce it with the shipped sizes and seed."""
    return {name: fn() for name, fn in build.BUILDERS.items()}


def _tokens(line: str) -> list[str]:
    return [t.lower() for t in TOKEN.findall(line)]


# ---------------------------------------------------------------------------
# The shipped files
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(build.BUILDERS))
def test_shipped_file_is_what_the_builder_makes(built, name):
    path = build.DATA_DIR / build.FILES[name]
    data = path.read_bytes()
    assert data.decode("utf-8").splitlines() == built[name], (
        f"{path.name} is out of date: run `python -m devkit.pools.build`")
    assert data.endswith(b"\n") and b"\r" not in data
    assert len(data) < 2_000_000


def test_pool_names_point_at_shipped_files():
    assert pools.pool_names() == ["image", "video", "audio", "edit"]
    assert pools.POOLS["video"] == pools.POOLS["image"]
    for name in ("image", "audio", "edit"):
        assert pools.POOLS[name] == build.DATA_DIR / build.FILES[name]
        assert pools.POOLS[name].is_file()


def test_sizes(built):
    assert len(built["image"]) == 24000
    assert len(built["audio"]) == 12000
    assert len(built["edit"]) == 600
    assert len({line.lower() for line in built["image"]}) >= 20000


@pytest.mark.parametrize("name", sorted(build.BUILDERS))
def test_lines_are_unique_clean_and_short(built, name):
    lines = built[name]
    assert len({line.lower() for line in lines}) == len(lines)
    lo, hi = WORD_BOUNDS[name]
    for line in lines:
        assert line == line.strip() and line, repr(line)
        assert not line.startswith("#") and "  " not in line, repr(line)
        assert line[0].isupper() or line[0].isdigit(), line
        assert lo <= len(line.split()) <= hi, line
        assert not re.search(r"\s[,.]|,,|\.\.", line), line
    if name == "audio":
        assert all(line.endswith(".") for line in lines)
    else:
        assert not any(line.endswith(".") for line in lines)


def test_image_lines_are_typically_4_to_12_words(built):
    counts = [len(line.split()) for line in built["image"]]
    assert 6 <= sum(counts) / len(counts) <= 11
    assert max(counts) <= 12  # the image caption task keeps captions to 12 words


# ---------------------------------------------------------------------------
# Grammar, checked over whole pools
# ---------------------------------------------------------------------------

_A_BEFORE_VOWEL = re.compile(r"\ba ([aeiou][\w-]*)", re.IGNORECASE)
_AN_BEFORE_CONSONANT = re.compile(r"\ban ([b-df-hj-np-tv-z][\w-]*)", re.IGNORECASE)
_A_OK = re.compile(r"(uni|use|usu|uk|ute|uti|eu|ewe|one|once)", re.IGNORECASE)
_AN_OK = re.compile(r"(hour|honest|honor|heir)", re.IGNORECASE)


@pytest.mark.parametrize("name", sorted(build.BUILDERS))
def test_articles_match_the_next_sound(built, name):
    bad = []
    for line in built[name]:
        bad += [line for m in _A_BEFORE_VOWEL.finditer(line) if not _A_OK.match(m.group(1))]
        bad += [line for m in _AN_BEFORE_CONSONANT.finditer(line) if not _AN_OK.match(m.group(1))]
        if re.search(r"\ban? [aA]n?\b", line):
            bad.append(line)
    assert not bad, bad[:10]
    assert not any(re.search(r"\ba (apple|owl|egg|orange|elephant|umbrella|hour)", x)
                   for x in built[name])


def _singular_heads(nouns) -> set[str]:
    """The head word of each noun whose plural differs ("fox", "cup" of "cup of tea")."""
    heads = set()
    for noun in nouns:
        head = noun.split(" of ")[0].split()[-1]
        if pluralize(head) != head:
            heads.add(head.lower())
    return heads


def _counted_heads(line: str, counts: tuple[str, ...], boundary: set[str]):
    """For each count ("two", "a flock of") in ``line``, the last word of the noun phrase after it."""
    toks = _tokens(line)
    firsts = {c.split()[0] for c in counts}
    for i in range(len(toks)):
        if toks[i] not in firsts:
            continue
        for count in counts:
            n = len(count.split())
            if toks[i:i + n] != count.split():
                continue
            if count in ("a few", "a pair of") and i > 0 and toks[i - 1] == "of":
                continue
            phrase = []
            for tok in toks[i + n:]:
                if tok in boundary or tok in {",", "."}:
                    break
                phrase.append(tok)
            if phrase:
                yield phrase[-1]


_PREPOSITIONS = {"in", "on", "at", "by", "with", "next", "against", "under", "over", "from", "near",
                 "into", "of", "and", "while", "as", "made", "seen", "covered", "reflected", "for",
                 "holding", "playing", "riding", "among", "above", "underwater", "inside", "then",
                 "followed", "growing", "through", "outdoors", "indoors", "nearby", "far", "close",
                 "right", "to", "during", "after", "across", "along", "before"}


def _image_counts() -> tuple[str, ...]:
    collectives = {c for group in V.COLLECTIVES.values() for c in group}
    return tuple(sorted(set(V.COUNTS) | collectives, key=len, reverse=True))


def test_image_counts_take_plural_nouns(built):
    actions = {a.split()[0].lower() for group in (V.ACTIONS, V.PLACEMENTS)
               for phrases in group.values() for a in phrases}
    boundary = _PREPOSITIONS | actions
    singular = _singular_heads(n for nouns in V.SUBJECTS.values() for n in nouns)
    bad = [line for line in built["image"]
           for head in _counted_heads(line, _image_counts(), boundary) if head in singular]
    assert not bad, bad[:10]
    # and the check does find the mistakes it is meant to find
    assert list(_counted_heads("Two cat sleeping on a sofa", _image_counts(), boundary)) == ["cat"]
    assert list(_counted_heads("A flock of red seagull in the sky", _image_counts(),
                               boundary)) == ["seagull"]


def _audio_verbs():
    verbs = [v for entries in V.AUDIO_SOURCES.values() for _, vs in entries for v in vs]
    extra = ["fade", "die", "grow"]
    base = {v.split()[0] for v in verbs} | set(extra)
    third = {third_person(v).split()[0] for v in verbs} | {third_person(v) for v in extra}
    return base, third


def _audio_agreement_errors(lines: list[str]) -> list[tuple[str, str]]:
    """Subject-verb mistakes: "a dog bark", "rain fall", "dogs barks", "two dog bark"."""
    base, third = _audio_verbs()
    base_only, third_only = base - third, third - base
    adverbs = set(V.AUDIO_ADVERBS_BEFORE)
    nouns = [n for entries in V.AUDIO_SOURCES.values() for n, _ in entries]
    singular = {tuple(n.lower().split()) for n in nouns if n not in V.AUDIO_PLURAL_ONLY}
    plural = {tuple(n.lower().split()) for n in V.AUDIO_PLURAL_ONLY}
    plural |= {tuple(pluralize(n).lower().split()) for n in nouns
               if n not in V.AUDIO_PLURAL_ONLY and n not in V.AUDIO_UNCOUNTABLE
               and pluralize(n) != n}
    by_first = collections.defaultdict(list)
    for noun in singular:
        by_first[noun[0]].append((noun, base_only))
    for noun in plural:
        by_first[noun[0]].append((noun, third_only))
    clause_starts = {None, ",", "while", "as", "and", "then", "first"}
    mass = {n.lower() for n in V.AUDIO_UNCOUNTABLE}

    def verb_after(toks, j):
        while j < len(toks) and toks[j] in adverbs:
            j += 1
        return toks[j] if j < len(toks) else None

    bad = []
    for line in lines:
        toks = _tokens(line)
        for i, tok in enumerate(toks):
            matches = [(noun, wrong) for noun, wrong in by_first.get(tok, ())
                       if tuple(toks[i:i + len(noun)]) == noun]
            if not matches:
                continue
            noun, wrong = max(matches, key=lambda m: len(m[0]))   # "wind chime", not "wind"
            before = [None, None] + toks[:i]
            if wrong is base_only:
                # only subjects: "A dog ...", ", the dog ...", "while rain ..."
                if before[-1] in ("a", "an", "the"):
                    if before[-2] not in clause_starts:
                        continue
                elif before[-1] not in clause_starts or " ".join(noun) not in mass:
                    continue    # bare "sheep" / "deer" are plurals
            elif before[-1] == "of":
                continue    # "a group of children shouts": the subject is "group"
            if verb_after(toks, i + len(noun)) in wrong:
                bad.append((line, " ".join(noun)))
    # counted subjects take plural nouns
    counts = ("two", "three", "several", "a few", "many")
    heads = _singular_heads(n for n in nouns if n not in V.AUDIO_PLURAL_ONLY)
    gerunds = {gerund(v).split()[0] for v in base}
    boundary = _PREPOSITIONS | base | gerunds | adverbs
    bad += [(line, h) for line in lines for h in _counted_heads(line, counts, boundary)
            if h in heads]
    return bad


def test_audio_subjects_agree_with_their_verbs(built):
    assert not _audio_agreement_errors(built["audio"])[:10]
    # and the check does find the mistakes it is meant to find
    wrong = ["A dog bark loudly.", "Rain fall on a roof.", "Two dogs barks.", "Footsteps echoes.",
             "While a kettle suddenly whistle, a baby cries.", "Three dog bark in a park."]
    assert [line for line, _ in _audio_agreement_errors(wrong)] == wrong
    right = ["A dog barks loudly.", "Rain falls on a roof.", "Two dogs bark.", "Footsteps echo.",
             "Sheep bleat in a barn.", "A group of children shouts."]
    assert not _audio_agreement_errors(right)


def test_grammar_helpers():
    assert [article(w) for w in ("apple", "owl", "hourglass", "unicorn", "umbrella", "European",
                                 "ukulele", "one-eyed cat", "8-bit", "3D render", "yak", "X")] == \
        ["an", "an", "an", "a", "an", "a", "a", "a", "an", "a", "a", "a"]
    assert [pluralize(w) for w in ("cat", "fox", "cherry", "knife", "fisherman", "German shepherd",
                                   "sheep", "goldfish", "cup of espresso", "pair of boots",
                                   "tomato", "piano", "cactus", "computer mouse", "bookshelf",
                                   "ottoman", "tuk-tuk", "bus", "toy")] == \
        ["cats", "foxes", "cherries", "knives", "fishermen", "German shepherds", "sheep",
         "goldfish", "cups of espresso", "pairs of boots", "tomatoes", "pianos", "cacti",
         "computer mice", "bookshelves", "ottomans", "tuk-tuks", "buses", "toys"]
    assert [third_person(v) for v in ("bark", "buzz", "cry", "coo", "echo", "play softly")] == \
        ["barks", "buzzes", "cries", "coos", "echoes", "plays softly"]
    assert [gerund(v) for v in ("hum", "whistle", "drip", "purr", "lap gently", "see", "play")] == \
        ["humming", "whistling", "dripping", "purring", "lapping gently", "seeing", "playing"]


# ---------------------------------------------------------------------------
# Diversity
# ---------------------------------------------------------------------------

def _ngrams(lines: list[str], n_max: int = 4) -> set[str]:
    grams = set()
    for line in lines:
        toks = [t for t in _tokens(line) if t not in {",", "."}]
        for n in range(1, n_max + 1):
            grams.update(" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1))
    return grams


def test_vocabulary_is_large_and_distinct():
    nouns = [n.lower() for group in V.SUBJECTS.values() for n in group]
    assert len(nouns) == len(set(nouns)) >= 600
    assert len(V.PAINTERS) >= 8 and {"Van Gogh", "Monet", "Hokusai"} <= {p for p, _ in V.PAINTERS}


def test_image_pool_is_diverse(built):
    lines = built["image"]
    grams = _ngrams(lines)
    nouns = [n for group in V.SUBJECTS.values() for n in group]
    used = [n for n in nouns if n.lower() in grams or pluralize(n).lower() in grams]
    assert len(used) >= 500, f"only {len(used)} subject nouns used"
    for cat, group in V.SUBJECTS.items():
        assert any(n.lower() in grams for n in group), cat
    first = collections.Counter(line.split()[0].lower() for line in lines)
    word, n = first.most_common(1)[0]
    assert n / len(lines) <= 0.15, (word, n)
    assert len(first) >= 200
    for needle in ("espresso", "rocket", "missile", "tripod", "camera", "motorcycle", "scooter"):
        assert needle in grams, needle


def test_audio_and_edit_pools_are_diverse(built):
    audio, edit = built["audio"], built["edit"]
    first = collections.Counter(line.split()[0].lower() for line in audio)
    assert first.most_common(1)[0][1] / len(audio) <= 0.5
    grams = _ngrams(audio)
    sources = [n for entries in V.AUDIO_SOURCES.values() for n, _ in entries]
    assert sum(n.lower() in grams or pluralize(n).lower() in grams for n in sources) >= \
        0.95 * len(set(sources))
    first = collections.Counter(line.split()[0].lower() for line in edit)
    assert first.most_common(1)[0][1] / len(edit) <= 0.4
    text = "\n".join(edit)
    assert sum(painter in text for painter, _ in V.PAINTERS) >= 30


def test_builders_are_deterministic_and_seeded(built):
    a = build.build_image_pool(300, seed=7)
    assert a == build.build_image_pool(300, seed=7)
    assert a != build.build_image_pool(300, seed=8)
    assert build.build_audio_pool(100, seed=3) == build.build_audio_pool(100, seed=3)
    assert build.build_edit_pool(50, seed=3) == build.build_edit_pool(50, seed=3)
    assert build.build_image_pool(300, seed=0) == built["image"][:300]


def test_build_main_writes_files(tmp_path, capsys):
    assert build.main(["--out", str(tmp_path), "--only", "edit"]) == 0
    written = (tmp_path / build.FILES["edit"]).read_text(encoding="utf-8").splitlines()
    assert written == build.build_edit_pool()
    assert "edit: 600 lines" in capsys.readouterr().out


# ---------------------------------------------------------------------------
# load_pool
# ---------------------------------------------------------------------------

def test_load_pool_by_name(built):
    assert pools.load_pool("image") == built["image"]
    assert pools.load_pool("video") == built["image"]
    assert pools.load_pool("audio") == built["audio"]
    assert pools.load_pool("edit") == built["edit"]
    assert pools.load_pool("Audio") == built["audio"]


def test_load_pool_from_user_file(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_bytes(
        "\ufeff# my captions\n\nA red fox in the snow\r\n  A café at night  \n"
        "# another comment\n   \nA red fox in the snow\na red fox in the snow\n   # indented comment\n"
        "Two foxes\n".encode("utf-8"))
    expected = ["A red fox in the snow", "A café at night", "a red fox in the snow", "Two foxes"]
    assert pools.load_pool(str(path)) == expected
    assert pools.load_pool(path) == expected
    assert pools.load_pool(path, limit=10) == expected


def test_load_pool_subsamples_deterministically(built):
    full = built["image"]
    a = pools.load_pool("image", limit=500, seed=1)
    assert len(a) == len(set(a)) == 500
    assert a == pools.load_pool("image", limit=500, seed=1)
    assert a != pools.load_pool("image", limit=500, seed=2)
    index = {line: i for i, line in enumerate(full)}
    positions = [index[line] for line in a]
    assert positions == sorted(positions)          # file order kept
    assert pools.load_pool("edit", limit=10_000) == built["edit"]
    assert pools.subsample(["x", "y", "z"], 2, seed=0) == pools.subsample(["x", "y", "z"], 2, seed=0)


@pytest.mark.parametrize("limit", [0, -3, 1.5, True, "10"])
def test_load_pool_rejects_bad_limit(limit):
    with pytest.raises(InputError) as info:
        pools.load_pool("edit", limit=limit)
    assert info.value.input_name == "limit"


def _pool_error(arg) -> InputError:
    with pytest.raises(InputError) as info:
        pools.load_pool(arg)
    assert info.value.input_name == "pool"
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith("pool: expected")
    return info.value


def test_unknown_pool_name_lists_known_names():
    err = _pool_error("imagez")
    for name in pools.pool_names():
        assert name in str(err)
    assert "imagez" in str(err)
    _pool_error("")
    _pool_error(42)


def test_missing_file_and_directory(tmp_path):
    err = _pool_error(str(tmp_path / "nope.txt"))
    assert "does not exist" in str(err) and "nope.txt" in str(err)
    assert "does not exist" in str(_pool_error(tmp_path / "nope"))
    assert "not a file" in str(_pool_error(tmp_path))


def test_binary_and_non_utf8_files(tmp_path):
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    assert "binary" in str(_pool_error(binary))
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Un caf\u00e9 la nuit\n".encode("latin-1"))
    assert "not UTF-8" in str(_pool_error(latin1))


def test_empty_pools(tmp_path):
    for content in ("", "\n\n   \n", "# only a comment\n\n# another\n"):
        path = tmp_path / "empty.txt"
        path.write_text(content, encoding="utf-8")
        assert "has none" in str(_pool_error(path))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root can read any file")
def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("A cat\n", encoding="utf-8")
    path.chmod(0)
    try:
        assert "cannot be read" in str(_pool_error(path))
    finally:
        path.chmod(0o644)


def test_bare_filename_in_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("mypool").write_text("A cat on a mat\n", encoding="utf-8")
    assert pools.load_pool("mypool") == ["A cat on a mat"]
