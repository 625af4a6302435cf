"""Word lists the rule-based splitter uses (see ``docs/claims.md`` for what each one does)."""

from __future__ import annotations

from halluscope.numbers import NUMBER_WORDS  # noqa: F401  (claims read counts with it)

#: Modifiers that make a number approximate; no count claim is made then.
APPROXIMATE = frozenset({"about", "around", "approximately", "roughly", "nearly", "almost",
                         "over", "under", "least", "most", "more", "less", "fewer", "than",
                         "up", "some", "several", "maybe", "perhaps", "possibly"})

#: Nouns that stand for a group or a part of what follows "of" ("a group of people").
PARTITIVES = frozenset({
    "group", "herd", "flock", "bunch", "pair", "couple", "number", "lot", "lots", "variety",
    "set", "pile", "stack", "collection", "assortment", "array", "cluster", "row", "line",
    "bundle", "plenty", "kind", "type", "sort", "piece", "slice", "handful", "selection",
    "series", "range", "team", "crowd", "bowl_of", "dozen", "couple", "few", "mix", "mixture",
    "display", "arrangement", "swarm", "school", "pack", "fleet", "bouquet", "batch", "heap",
    "abundance", "multitude", "host", "troop", "family", "gaggle", "pod", "litter", "stream",
    "column", "serving", "portion", "chunk", "bit", "part", "half", "some", "amount", "quantity",
    "total",        # "a total of eight laptops": the laptops, counted
    "body",         # "a body of water": the water
})

#: Nouns that refer to the image itself, never to an object in it.
META_NOUNS = frozenset({
    "image", "picture", "photo", "photograph", "scene", "snapshot", "shot", "frame", "view",
    "illustration", "screenshot", "pic", "capture", "composition", "camera angle", "angle",
    "perspective", "viewer", "photographer", "foreground", "background", "setting", "focus",
    "close-up", "closeup", "moment", "depiction", "image's", "glimpse", "vantage", "viewpoint",
    "backdrop", "subject",      # "a natural backdrop", "the main subject of the image"
})

#: Nouns that frame the picture ("a close-up of a cat", "a portrait of a woman"): followed by
#: "of", they stand for what follows and make no claim themselves.
FRAME_NOUNS = frozenset({
    "close-up", "closeup", "portrait", "photo", "photograph", "picture", "image", "view",
    "shot", "scene", "snapshot", "selfie", "headshot", "depiction", "glimpse", "pic",
    "panorama", "overview", "aerial view", "side view",
    "top view", "front view", "rear view", "close-up view", "close-up shot",
})

#: Nouns of a replica ("a white model of the space shuttle", "a shuttle model"): they stand for
#: the thing they copy, which gets the noun as an attribute (annotations label a model of a
#: shuttle "space shuttle" with attribute "model").
MODEL_NOUNS = frozenset({"model", "replica", "miniature", "mockup", "mock-up", "scale model"})

#: Nouns of place within a thing ("on the left side of", "in front of", "at the top of").
POSITION_NOUNS = frozenset({
    "left", "right", "side", "top", "bottom", "middle", "center", "centre", "front", "back",
    "rear", "edge", "corner", "end", "foreground", "background", "distance", "surface",
    "base", "foot", "head", "part", "area", "section", "half", "inside", "outside", "underside",
    "top-left", "top-right", "bottom-left", "bottom-right", "upper", "lower", "vicinity",
    "interior", "exterior", "leftmost", "rightmost", "topmost", "nearer",
})
#: Words a compound of place is made of ("right-hand corner", "side edge", "end corner"): a
#: name all of such words is no object.
POSITION_WORDS = POSITION_NOUNS | frozenset({"hand", "far", "near", "lower", "upper"})

#: Nouns that are neither objects nor checkable (abstract, quantities, time, generic).
NON_OBJECT_NOUNS = frozenset({
    "color", "colour", "shade", "hue", "tone", "texture", "pattern", "design", "style", "shape",
    "size", "appearance", "look", "activity", "sense", "feeling", "vibe", "ambiance", "ambience",
    "atmosphere", "mood", "attention", "interest", "touch", "element", "feature", "detail",
    "object", "item", "thing", "stuff", "day", "time", "way", "lot", "kind", "type", "sort",
    "variety", "number", "moment", "place", "spot", "location", "environment", "surroundings",
    "space", "area", "region", "portion", "part", "image", "overall", "scene", "view", "life",
    "world", "nature", "beauty", "presence", "sight", "situation", "event", "occasion",
    "contrast", "composition", "lighting", "light source", "daytime", "night", "evening",
    "morning", "afternoon", "weather", "condition", "purpose", "use", "idea", "fun",
    "distance", "direction", "position", "arrangement", "display", "mix", "combination",
    "selection", "variety", "collection", "group", "pair", "row", "line", "bunch", "set",
    "setting", "focus", "theme", "aesthetic", "charm", "impression", "essence", "energy",
    "spirit", "character", "appeal", "harmony", "balance", "warmth", "joy", "excitement",
    "serenity", "tranquility", "leisure", "relaxation", "entertainment", "action", "motion",
    "movement", "journey", "trip", "game", "match", "meal time", "break", "addition", "total",
    "am", "pm", "a.m.", "p.m.", "o'clock",     # times of day: "taken at 5 pm"
    # abstractions WordNet also gives a rarely used concrete sense ("a focal point", "the
    # zebra's safety", "during emergencies", "browsing the internet", "in a state of")
    "point", "safety", "emergency", "internet", "state", "depth", "protection", "proximity",
    "transportation", "destination", "reach", "midst", "access", "need", "connection",
    "component", "counterpart", "curiosity", "preparation", "convenience", "source", "gameplay",
    "air", "herein",    # "a jump in the air", "mid-air"; "herein" read as a noun
})

#: Things a picture shows that WordNet knows first as abstractions, with their concrete sense
#: never seen in use (``is_depictable`` would drop them): "relish" on a hot dog, a ball.
DEPICTABLE_NOUNS = frozenset({"relish", "packaging", "baseline", "spotlight", "basketball",
                              "football", "baseball", "molding", "moulding", "keystone",
                              # a signboard, a sea wave, a fire in a fireplace, letters on a
                              # sign: WordNet's first senses are a signal, an event, writing
                              "sign", "wave", "fire", "flame", "letter", "reflection",
                              "marking"})

#: Ordinals that say how many there are at least when a count of the noun came before ("two
#: dogs ... a third dog": three dogs).
ORDINALS: dict[str, int] = {w: i for i, w in enumerate((
    "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
    "twelfth"), start=3)} | {f"{i}{'rd' if i == 3 else 'th'}": i for i in range(3, 13)}

#: Adjectives that are not attributes of the object ("other", "several", "various").
NON_ATTRIBUTE_ADJECTIVES = frozenset({
    "other", "several", "many", "few", "various", "different", "same", "such", "own",
    "certain", "main", "whole", "entire", "single", "only", "next", "last", "first", "second",
    "third", "more", "most", "much", "numerous", "multiple", "additional", "possible",
    "likely", "visible", "overall", "total", "similar", "particular", "specific", "further",
    "separate", "individual", "respective", "usual", "typical", "actual", "real", "general",
    "nearby", "distant", "left", "right", "middle", "central", "front", "rear", "back",
    "top", "bottom", "upper", "lower", "far", "near", "close", "adjacent", "surrounding",
    "present", "available", "apparent", "notable", "noticeable", "prominent", "main",
    "primary", "key", "evident", "extra", "lone", "sole", "sole", "certain",
    "approximately", "about", "some", "any", "every", "each", "both", "either", "neither",
    "enough", "plenty", "distinct", "various", "assorted", "diverse", "countless",
})

#: Shade words skipped before a colour ("light blue" -> "blue").
SHADES = frozenset({"light", "dark", "bright", "pale", "deep", "vivid", "pastel", "muted",
                    "navy", "neon"})

COLORS = frozenset({
    "white", "black", "red", "blue", "green", "yellow", "brown", "gray", "grey", "orange",
    "pink", "purple", "silver", "gold", "golden", "beige", "tan", "maroon", "violet", "cyan",
    "teal", "turquoise", "navy", "cream", "ivory", "khaki", "magenta", "blond", "blonde",
    "colorful", "colourful", "multicolored", "dark", "light",
})

#: Verbs whose prepositional phrase gives the subject's position: "sitting on a sofa" -> "on".
POSITIONAL_VERBS = frozenset({
    "be", "sit", "stand", "lie", "lay", "rest", "sleep", "perch", "park", "place", "put",
    "locate", "position", "situate", "set", "seat", "hang", "lean", "float", "hover", "mount",
    "stack", "pile", "display", "arrange", "scatter", "spread", "line", "gather", "crouch",
    "kneel", "squat", "wait", "stay", "remain", "pose", "appear", "lounge", "nestle", "curl",
    "snuggle", "relax", "balance", "stand", "walk", "run", "stroll", "graze", "play", "swim",
    "fly", "drive", "ride", "travel", "move", "roam", "wander", "jump", "climb", "dangle",
    "settle", "cluster", "huddle", "tuck", "sprawl", "lay", "store", "keep", "leave", "find",
    "see", "show", "depict", "visible", "feature", "capture",
})

#: Verbs that only report what the image shows; their object is an existence claim.
META_VERBS = frozenset({"show", "depict", "feature", "capture", "contain", "include",
                        "display", "present", "portray", "showcase", "illustrate", "see",
                        "highlight", "reveal", "consist", "observe", "notice", "spot",
                        "feature", "find"})

#: Verbs that never make an action attribute of their subject.
NON_ACTION_VERBS = frozenset({"be", "have", "do", "appear", "seem", "look", "become", "get",
                              "remain", "stay", "make", "take", "give", "go", "come", "use",
                              "see", "show", "include", "contain", "feature", "add", "create",
                              "suggest", "indicate", "can", "will", "let", "want", "need",
                              "try", "help", "enjoy", "like", "love", "provide", "depict",
                              "capture", "display", "visible", "keep", "allow", "consist"})

#: Prepositions that never make a relation claim.
NON_RELATION_PREPS = frozenset({"of", "for", "during", "than", "like", "about", "as", "since",
                                "because", "despite", "except", "including", "via", "per",
                                "while", "until", "after", "before", "unlike", "regarding",
                                "throughout", "amid", "amidst"})

#: Adverbs or adjectives that take a preposition to make one relation ("next to", "close to").
ADVERB_PREPOSITIONS = frozenset({"next", "close", "adjacent", "near", "far", "away", "right",
                                 "left", "ahead", "closer", "nearer", "across", "out"})

#: Spatial prepositions: with a verb that has an object, the phrase alone is the relation.
SPATIAL_PREPS = frozenset({"on", "in", "inside", "under", "underneath", "beneath", "below",
                           "above", "over", "behind", "near", "beside", "besides", "by",
                           "at", "against", "atop", "along", "alongside", "between", "among",
                           "around", "across", "within", "outside", "onto", "into", "upon",
                           "next to", "close to", "in front of", "on top of", "beneath"})

#: Markers of speculation or interpretation: the clause they govern is analytic.
HEDGE_WORDS = frozenset({
    "possibly", "perhaps", "maybe", "probably", "likely", "presumably", "potentially",
    "supposedly", "arguably", "conceivably", "seemingly", "apparently", "perchance",
    "might", "may", "could", "would", "should", "must", "unlikely", "possible",
    "probable", "suggesting", "implying", "indicating",
})
INTERPRETIVE_VERBS = frozenset({"suggest", "indicate", "imply", "evoke", "convey", "symbolize",
                                "symbolise", "signify", "hint", "emphasize", "emphasise",
                                "contribute", "enhance", "represent", "exude",
                                "evoke", "radiate", "celebrate", "invite"})
#: Verbs that are interpretive when their object is an abstract effect ("adds a touch of").
EFFECT_VERBS = frozenset({"add", "create", "make", "give", "set", "lend", "provide", "offer",
                          "bring", "produce", "build", "establish", "capture", "showcase",
                          "highlight", "complement", "enhance"})
#: Objects that make a clause interpretive ("creating a cozy atmosphere").
ABSTRACT_EFFECTS = frozenset({
    "atmosphere", "mood", "ambiance", "ambience", "vibe", "feeling", "sense", "impression",
    "charm", "aesthetic", "tone", "essence", "spirit", "energy", "beauty", "warmth",
    "serenity", "tranquility", "tranquillity", "excitement", "joy", "fun", "nostalgia",
    "touch", "appeal", "harmony", "character", "elegance", "sophistication", "coziness",
    "comfort", "peace", "calm", "liveliness", "vibrancy", "interest", "depth", "contrast",
    "dynamism", "drama", "whimsy", "playfulness", "feel", "setting", "environment", "scene",
    "experience", "relaxation", "leisure", "sense of", "emphasis", "focus", "life",
})
#: Sentence openers that make a whole sentence analytic.
ANALYTIC_OPENERS = ("overall", "in summary", "in conclusion", "in general", "all in all",
                    "it seems", "it is possible", "it's possible", "it is likely",
                    "it's likely", "one can", "one could", "this suggests", "this indicates",
                    "this could", "this might", "this may", "they might", "they may",
                    "they could", "it could", "it might", "it may", "perhaps", "maybe",
                    "presumably", "the image conveys", "the scene conveys", "the overall")

PRONOUNS_SINGULAR = frozenset({"it", "itself"})
PRONOUNS_MALE = frozenset({"he", "him", "himself"})
PRONOUNS_FEMALE = frozenset({"she", "her", "herself"})
PRONOUNS_PLURAL = frozenset({"they", "them", "themselves"})
RELATIVE_PRONOUNS = frozenset({"that", "which", "who", "whom", "whose"})
#: Nouns that point back like a pronoun ("some dogs sleep, others play"; "one bottle is on the
#: left, the other on the right"): they stand for the latest plural noun, never for a thing.
OTHER_WORDS = frozenset({"other", "others"})
#: Life stages said of any animal: as a predicate ("two of the elephants are adults, the third
#: is a baby") they describe the subject and name no person.
LIFE_STAGE_NOUNS = frozenset({"adult", "baby", "juvenile", "infant", "newborn", "youngster",
                              "young", "offspring", "adolescent", "teenager", "toddler"})
#: Preposition + noun idioms that name no object ("in addition to", "the task at hand", "three
#: giraffes in total"); "on the other hand" when the noun has "other".
IDIOM_NOUNS = frozenset({("in", "addition"), ("in", "total"), ("in", "fact"),
                         ("in", "contrast"), ("in", "general"), ("in", "particular"),
                         ("in", "comparison"), ("in", "summary"), ("in", "conclusion"),
                         ("for", "example"), ("for", "instance"), ("at", "hand"),
                         ("in", "turn"), ("in", "unison"), ("in", "tandem")})
MALE_WORDS = frozenset({"man", "men", "boy", "gentleman", "guy", "father", "dad", "husband",
                        "son", "brother", "king", "groom", "policeman", "male", "grandfather",
                        "uncle", "businessman", "fisherman", "cowboy", "sir", "mr"})
FEMALE_WORDS = frozenset({"woman", "women", "girl", "lady", "mother", "mom", "wife",
                          "daughter", "sister", "queen", "bride", "female", "grandmother",
                          "aunt", "businesswoman", "policewoman", "mrs", "ms", "miss"})

#: Multi-word object names whose first word spaCy tags as an adjective.
ADJECTIVE_COMPOUNDS = frozenset({"hot dog", "teddy bear", "potted plant", "dining table",
                                 "living room", "parking meter", "traffic light", "wine glass",
                                 "remote control", "cell phone", "stop sign", "fire hydrant",
                                 "sports ball", "hair drier", "hair dryer", "high chair",
                                 "flat screen", "stuffed animal", "french fries", "ice cream",
                                 "fried egg", "baked potato"})

# -- denials (halluscope/claims/negation.py) ----------------------------------------------------
#: Determiners that deny their noun ("no cat", "neither cat").
NEGATIVE_DETERMINERS = frozenset({"no", "neither", "nor"})
#: Determiners and numbers by which a coordinated noun asserts itself: "no cat and *a* dog".
ASSERTING_DETERMINERS = frozenset({"a", "an", "the", "this", "that", "these", "those", "some",
                                   "one", "several", "many", "a few", "few", "each", "every",
                                   "another", "both"})
#: Words after "not" that restrict rather than deny ("not only a cat but also a dog").
NOT_RESTRICTORS = frozenset({"only", "just", "merely", "simply", "solely", "exactly", "quite"})
#: Predicates that say the subject is there; denied, they deny the subject ("a cat is not
#: visible", "cats are not present", "a cat is nowhere to be seen").
PRESENCE_WORDS = frozenset({"present", "visible", "there", "here", "seen", "shown", "depicted",
                            "pictured", "apparent", "evident", "noticeable", "discernible",
                            "detectable", "observable", "identifiable", "included", "found",
                            "featured", "displayed", "captured", "spotted", "observed",
                            "noticed", "detected", "in view", "in sight"})
#: Verbs that say their subject is there when nothing else completes them ("a cat does not
#: appear in the image", "cats cannot be seen", "no such cat exists").
PRESENCE_VERBS = frozenset({"appear", "exist", "see", "show", "depict", "picture", "find",
                            "include", "feature", "display", "capture", "detect", "observe",
                            "notice", "spot", "visible", "present"})
#: Nouns that name the image itself: "the cat is not in the picture" denies the cat.
IMAGE_NOUNS = frozenset({"image", "picture", "photo", "photograph", "scene", "snapshot", "shot",
                         "frame", "view", "pic", "illustration", "screenshot"})
#: Predicates that say the subject is not there ("the cat is absent", "the cat is missing").
ABSENCE_WORDS = frozenset({"absent", "missing", "gone", "invisible", "nonexistent",
                           "non-existent", "lacking", "unseen"})
#: Verbs whose object is denied ("the photo lacks any cats").
ABSENCE_VERBS = frozenset({"lack"})
#: Adjectives whose "of" object is denied ("devoid of people", "free of clutter").
ABSENCE_OF_ADJECTIVES = frozenset({"devoid", "free", "bereft", "empty"})
#: Nouns whose "of" object is denied ("an absence of people", "a lack of cars").
ABSENCE_NOUNS = frozenset({"absence", "lack", "dearth", "shortage"})
#: Nouns through whose "of" a denial passes ("no sign of a cat", "no trace of people").
EVIDENCE_NOUNS = frozenset({"sign", "trace", "evidence", "hint", "indication", "presence",
                            "suggestion", "mention", "indicator", "sighting"})
#: Verbs whose denial is that of their complement ("I don't think there is a cat").
NEG_RAISING_VERBS = frozenset({"think", "believe", "suppose", "expect", "imagine", "reckon",
                               "feel", "guess"})
#: Raising verbs whose denial passes to their infinitive ("there doesn't seem to be a cat").
RAISING_VERBS = frozenset({"seem", "appear"})
