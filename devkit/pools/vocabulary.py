"""Our own word lists for building the starting pools (see ``build.py``).

Everything here is plain, common English vocabulary written for this project: object and
animal nouns, places, colours, materials, verbs, art media and the names of painters whose
work is in the public domain. Nouns are singular; ``build.py`` makes plurals and articles.
Nouns of the form "X of Y" ("cup of espresso", "pair of boots") are pluralised on X.
"""
from __future__ import annotations

# ---------------------------------------------------------------------------
# Image subjects, grouped by category. Every category has an entry in CATEGORIES below.
# ---------------------------------------------------------------------------

PETS = (
    "cat", "kitten", "tabby cat", "Siamese cat", "Persian cat", "dog", "puppy",
    "terrier", "poodle", "beagle", "bulldog", "sheepdog", "dachshund", "husky", "greyhound",
    "collie", "spaniel", "chihuahua", "pug", "corgi", "dalmatian", "golden retriever",
    "German shepherd", "rottweiler", "schnauzer", "hamster", "guinea pig", "rabbit", "bunny",
    "ferret", "parakeet", "cockatiel",
)

FARM_ANIMALS = (
    "horse", "pony", "foal", "donkey", "mule", "cow", "calf", "bull", "ox", "sheep", "lamb",
    "goat", "pig", "piglet", "chicken", "hen", "rooster", "chick", "duck", "duckling", "goose",
    "turkey", "llama", "alpaca", "water buffalo", "yak", "camel",
)

FOREST_ANIMALS = (
    "fox", "red fox", "wolf", "coyote", "bear", "brown bear", "black bear", "deer", "fawn",
    "moose", "elk", "raccoon", "skunk", "beaver", "badger", "hedgehog", "porcupine", "squirrel",
    "chipmunk", "mouse", "rat", "bat", "mole", "wild boar", "opossum", "weasel", "lynx",
    "bobcat", "cougar", "owl", "barn owl", "woodpecker",
)

SAVANNA_ANIMALS = (
    "lion", "lioness", "elephant", "giraffe", "zebra", "rhinoceros", "hippopotamus", "cheetah",
    "leopard", "hyena", "warthog", "meerkat", "antelope", "gazelle", "wildebeest", "ostrich",
    "kangaroo", "wallaby", "emu", "vulture", "crocodile", "alligator", "Komodo dragon",
    "bison", "armadillo",
)

JUNGLE_ANIMALS = (
    "tiger", "jaguar", "monkey", "gorilla", "chimpanzee", "orangutan", "baboon", "lemur",
    "sloth", "panda", "red panda", "koala", "toucan", "macaw", "capybara", "anteater",
    "snow leopard",
)

POLAR_ANIMALS = (
    "polar bear", "arctic fox", "penguin", "walrus", "reindeer", "snowy owl", "arctic hare",
    "mountain goat", "musk ox",
)

BIRDS = (
    "eagle", "bald eagle", "hawk", "falcon", "parrot", "cockatoo", "flamingo", "swan",
    "pelican", "seagull", "pigeon", "dove", "crow", "raven", "magpie", "robin", "sparrow",
    "blue jay", "cardinal", "finch", "hummingbird", "peacock", "heron", "stork", "crane",
    "kingfisher", "puffin", "albatross", "swallow", "mallard", "egret", "quail", "pheasant",
    "canary", "goldfinch", "cuckoo",
)

SEA_CREATURES = (
    "dolphin", "whale", "humpback whale", "orca", "shark", "seal", "sea lion", "octopus",
    "squid", "jellyfish", "starfish", "crab", "hermit crab", "lobster", "shrimp", "goldfish",
    "clownfish", "koi fish", "salmon", "manta ray", "stingray", "seahorse", "sea turtle",
    "pufferfish", "angelfish", "swordfish", "eel", "sea urchin", "narwhal", "sea otter",
)

SMALL_CREATURES = (
    "butterfly", "monarch butterfly", "moth", "bee", "bumblebee", "ladybug", "dragonfly",
    "firefly", "beetle", "stag beetle", "ant", "spider", "snail", "slug", "caterpillar",
    "grasshopper", "cricket", "praying mantis", "scorpion", "centipede", "earthworm", "frog",
    "tree frog", "toad", "newt", "salamander", "lizard", "gecko", "iguana", "chameleon",
    "snake", "cobra", "rattlesnake", "turtle", "tortoise",
)

PEOPLE = (
    "man", "woman", "firefighter", "police officer", "chef", "baker", "farmer", "fisherman",
    "doctor", "nurse", "astronaut", "pilot", "sailor", "soldier", "knight", "musician",
    "guitarist", "violinist", "drummer", "pianist", "singer", "dancer", "ballerina",
    "skateboarder", "surfer", "cyclist", "runner", "hiker", "rock climber", "skier",
    "snowboarder", "painter", "photographer", "student", "teacher", "scientist", "mechanic",
    "carpenter", "construction worker", "gardener", "shepherd", "cowboy", "clown", "magician",
    "juggler", "bride", "groom", "waiter", "waitress", "barista", "tourist", "businessman",
    "businesswoman", "street vendor", "mail carrier", "lifeguard", "referee", "monk", "nun",
    "king", "queen", "prince", "princess", "pirate", "samurai", "beekeeper", "blacksmith",
    "potter", "florist", "librarian", "bartender", "tailor", "jockey", "scuba diver", "boxer",
    "swimmer", "tennis player", "soccer player", "basketball player", "golfer", "archer",
    "ice skater", "DJ", "zookeeper", "veterinarian", "surgeon", "detective", "explorer",
    "mountaineer", "lumberjack", "miner", "welder", "electrician", "plumber", "architect",
    "professor", "street musician", "cook", "fisherwoman", "grandmother", "grandfather",
)

CHILDREN = (
    "child", "boy", "girl", "baby", "toddler", "teenager", "schoolboy", "schoolgirl",
)

FANTASY = (
    "dragon", "unicorn", "mermaid", "phoenix", "griffin", "fairy", "wizard", "witch", "elf",
    "troll", "goblin", "centaur", "alien", "ghost", "dinosaur", "woolly mammoth",
    "sea serpent", "yeti", "giant", "gnome", "robot knight",
)

FRUIT_VEGETABLES = (
    "apple", "banana", "orange", "lemon", "lime", "pear", "peach", "plum", "cherry",
    "strawberry", "pineapple", "watermelon", "melon", "mango", "avocado", "coconut", "kiwi",
    "pomegranate", "fig", "apricot", "papaya", "grapefruit", "tomato", "potato", "carrot",
    "onion", "cucumber", "bell pepper", "chili pepper", "pumpkin", "mushroom", "eggplant",
    "zucchini", "cabbage", "head of lettuce", "head of broccoli", "cauliflower", "ear of corn",
    "radish", "beet", "artichoke", "garlic bulb", "bunch of grapes", "bunch of carrots",
)

BAKED_GOODS = (
    "croissant", "bagel", "donut", "muffin", "cupcake", "birthday cake", "cheesecake", "pie",
    "apple pie", "loaf of bread", "baguette", "pretzel", "cookie", "brownie", "waffle",
    "stack of pancakes", "cinnamon roll", "scone", "macaron", "fruit tart", "layer cake",
    "gingerbread man", "slice of cake",
)

DISHES = (
    "pizza", "slice of pizza", "sandwich", "hamburger", "cheeseburger", "hot dog", "taco",
    "burrito", "bowl of ramen", "bowl of soup", "bowl of cereal", "bowl of salad",
    "plate of spaghetti", "plate of sushi", "sushi roll", "dumpling", "omelet", "fried egg",
    "boiled egg", "steak", "roast chicken", "bowl of rice", "plate of pasta", "kebab",
    "pot of stew", "bowl of curry", "bowl of noodles", "bowl of porridge", "ice cream cone",
    "popsicle", "bowl of ice cream", "bowl of fruit", "cheese board", "plate of cookies",
)

DRINKS = (
    "cup of coffee", "cup of espresso", "cup of tea", "mug of hot chocolate", "glass of milk",
    "glass of orange juice", "glass of wine", "glass of lemonade", "cocktail", "milkshake",
    "smoothie", "cup of cappuccino", "latte", "glass of iced coffee", "pint of beer",
    "bottle of water", "pot of tea",
)

TREES = (
    "tree", "oak tree", "pine tree", "palm tree", "willow tree", "birch tree", "maple tree",
    "cherry tree", "apple tree", "olive tree", "baobab tree", "redwood tree", "fir tree",
    "spruce tree", "cypress tree", "eucalyptus tree", "banyan tree", "lemon tree",
    "Christmas tree", "tree stump",
)

FLOWERS = (
    "rose", "tulip", "sunflower", "daisy", "lily", "orchid", "lotus flower", "dandelion",
    "poppy", "iris", "daffodil", "hibiscus flower", "magnolia blossom", "cherry blossom",
    "peony", "carnation", "marigold", "water lily", "hydrangea", "chrysanthemum", "bluebell",
    "forget-me-not", "bouquet of flowers", "bouquet of roses", "lavender sprig",
)

PLANTS = (
    "cactus", "succulent", "fern", "bonsai tree", "potted plant", "houseplant", "aloe plant",
    "monstera plant", "snake plant", "ivy vine", "bamboo stalk", "hanging plant",
    "herb garden box", "air plant", "tomato plant", "lily pad",
)

NATURE_ITEMS = (
    "toadstool", "pinecone", "acorn", "maple leaf", "four-leaf clover", "seashell",
    "feather", "pebble", "bird's nest", "fallen log", "chestnut", "conch shell",
    "oak leaf", "dandelion clock", "crystal", "geode", "fossil", "driftwood branch",
)

VEHICLES = (
    "car", "sports car", "vintage car", "race car", "taxi", "bus", "double-decker bus",
    "school bus", "truck", "pickup truck", "fire truck", "delivery van", "van", "camper van",
    "tractor", "motorcycle", "scooter", "moped", "bicycle", "mountain bike", "tricycle",
    "unicycle", "train", "steam locomotive", "freight train", "tram", "cable car", "ambulance",
    "police car", "limousine", "golf cart", "forklift", "bulldozer", "excavator", "dump truck",
    "cement mixer", "construction crane", "snowplow", "snowmobile", "horse-drawn carriage",
    "wagon", "covered wagon", "rickshaw", "tuk-tuk", "go-kart", "quad bike", "tank",
    "convertible", "minivan", "station wagon", "food truck", "ice cream truck", "tow truck",
)

WATERCRAFT = (
    "sailboat", "rowboat", "fishing boat", "speedboat", "canoe", "kayak", "yacht", "ship",
    "sailing ship", "pirate ship", "cruise ship", "ferry", "cargo ship", "tugboat", "houseboat",
    "submarine", "gondola", "raft", "paddle steamer", "catamaran", "dinghy", "lifeboat",
    "motorboat", "Viking ship", "paper boat",
)

AIRCRAFT = (
    "airplane", "jet", "passenger jet", "fighter jet", "biplane", "seaplane", "glider",
    "helicopter", "hot air balloon", "airship", "blimp", "paper airplane", "paraglider",
)

SPACECRAFT = (
    "rocket", "missile", "space shuttle", "satellite", "space station", "lunar lander",
    "space capsule", "Mars rover", "flying saucer", "spaceship",
)

TOOLS = (
    "hammer", "screwdriver", "wrench", "saw", "power drill", "axe", "shovel", "rake",
    "pitchfork", "wheelbarrow", "ladder", "toolbox", "tape measure", "paintbrush",
    "paint roller", "chisel", "crowbar", "flashlight", "lantern", "pocket knife", "padlock",
    "key", "chainsaw", "sledgehammer", "pickaxe", "trowel", "watering can", "garden hose",
    "anvil", "soldering iron", "spool of thread", "ball of yarn", "pair of scissors",
    "pair of pliers", "magnifying glass", "compass", "lawn mower", "leaf blower",
    "sewing machine", "spinning wheel", "microscope", "telescope", "pair of binoculars",
    "stethoscope", "test tube", "abacus",
)

VESSELS = (
    "cup", "mug", "teacup", "teapot", "coffee pot", "kettle", "bowl", "plate", "jar",
    "Mason jar", "vase", "bottle", "wine bottle", "wine glass", "pitcher", "jug", "flowerpot",
    "cookie jar", "espresso cup", "measuring cup", "salt shaker", "candlestick", "goblet",
    "gravy boat", "sugar bowl", "soup tureen",
)

UTENSILS = (
    "fork", "spoon", "knife", "ladle", "whisk", "rolling pin", "cutting board", "frying pan",
    "saucepan", "cooking pot", "wok", "spatula", "cheese grater", "colander",
    "pair of chopsticks", "corkscrew", "can opener", "baking tray", "pepper grinder",
    "ice cream scoop", "teaspoon", "butter knife", "sieve",
)

APPLIANCES = (
    "toaster", "blender", "refrigerator", "microwave", "oven", "stove", "washing machine",
    "espresso machine", "coffee maker", "vacuum cleaner", "ceiling fan", "electric fan",
    "space heater", "hair dryer", "dishwasher", "rice cooker", "stand mixer",
    "air conditioner", "clothes iron", "jukebox", "popcorn machine",
)

FURNITURE = (
    "sofa", "armchair", "chair", "rocking chair", "stool", "bench", "table", "dining table",
    "coffee table", "desk", "bookshelf", "bed", "bunk bed", "crib", "wardrobe", "dresser",
    "cabinet", "chest of drawers", "hammock", "beanbag chair", "ottoman", "throne",
    "office chair", "deck chair", "picnic table", "four-poster bed", "sideboard",
    "folding chair", "bar stool", "park swing",
)

GADGETS = (
    "television", "laptop", "desktop computer", "keyboard", "computer mouse", "smartphone",
    "telephone", "rotary phone", "radio", "record player", "gramophone", "boombox",
    "pair of headphones", "camera", "film camera", "camcorder", "tripod", "drone", "robot",
    "game controller", "tablet computer", "smartwatch", "loudspeaker", "microphone",
    "projector", "calculator", "printer", "satellite dish", "walkie-talkie", "typewriter",
    "light bulb", "lava lamp", "cassette tape", "vinyl record", "video game console",
    "robot vacuum", "solar panel",
)

HOUSEHOLD = (
    "umbrella", "suitcase", "backpack", "handbag", "wallet", "book", "stack of books",
    "notebook", "pencil", "pen", "fountain pen", "envelope", "globe", "candle", "clock",
    "alarm clock", "wall clock", "pocket watch", "hourglass", "mirror", "picture frame",
    "photo album", "lamp", "desk lamp", "oil lamp", "chandelier", "rug", "pillow", "blanket",
    "quilt", "basket", "picnic basket", "laundry basket", "bucket", "broom", "towel",
    "toothbrush", "bar of soap", "perfume bottle", "jewelry box", "treasure chest", "birdcage",
    "fishbowl", "aquarium", "piggy bank", "chessboard", "deck of cards", "jigsaw puzzle",
    "snow globe", "music box", "map", "newspaper", "magazine", "postcard", "gift box",
    "shopping bag", "paper bag", "cardboard box", "crate", "barrel", "wind chime",
    "dreamcatcher", "doormat", "key ring", "coin purse", "sketchbook", "paint palette",
    "easel", "sword", "shield", "anchor", "ship's wheel", "old map", "scroll", "lunchbox",
    "thermos", "water bottle", "sleeping bag", "pocket mirror", "hand fan", "cushion",
    "fireplace", "grandfather clock", "bathtub",
)

TOYS = (
    "teddy bear", "doll", "rag doll", "toy car", "toy train", "toy robot", "rocking horse",
    "kite", "balloon", "beach ball", "spinning top", "yo-yo", "rubber duck", "dollhouse",
    "toy soldier", "origami crane", "marionette", "stuffed animal", "toy dinosaur", "toy boat",
    "bunch of balloons", "wooden train set", "kaleidoscope", "slinky", "toy drum",
)

CLOTHING = (
    "hat", "top hat", "baseball cap", "straw hat", "cowboy hat", "beanie", "scarf", "jacket",
    "leather jacket", "denim jacket", "coat", "trench coat", "raincoat", "sweater", "hoodie",
    "dress", "wedding dress", "evening gown", "suit", "tuxedo", "necktie", "bow tie", "shirt",
    "T-shirt", "blouse", "skirt", "kimono", "apron", "uniform", "pair of jeans",
    "pair of boots", "pair of sneakers", "pair of gloves",
    "pair of sandals", "pair of high heels", "pair of ballet shoes", "pair of socks",
    "belt", "cloak", "cape", "poncho", "vest", "mitten", "football jersey", "sun hat", "beret",
)

ACCESSORIES = (
    "helmet", "mask", "masquerade mask", "pair of sunglasses", "space suit", "wetsuit",
    "pair of goggles", "gas mask", "diving helmet", "pair of glasses", "hard hat",
)

JEWELRY = (
    "necklace", "bracelet", "ring", "wedding ring", "earring", "wristwatch", "crown", "tiara",
    "brooch", "locket", "pendant", "medal",
)

INSTRUMENTS = (
    "guitar", "acoustic guitar", "electric guitar", "bass guitar", "violin", "viola", "cello",
    "double bass", "harp", "piano", "grand piano", "upright piano", "drum", "drum kit",
    "snare drum", "trumpet", "saxophone", "trombone", "tuba", "French horn", "flute",
    "piccolo", "clarinet", "oboe", "bassoon", "harmonica", "accordion", "ukulele", "banjo",
    "mandolin", "xylophone", "marimba", "tambourine", "synthesizer", "sitar", "harpsichord",
    "lute", "lyre", "gong", "metronome", "didgeridoo", "steel drum", "bongo drum", "cymbal",
    "pipe organ", "bagpipe",
)

SPORTS_GEAR = (
    "soccer ball", "football", "basketball", "volleyball", "tennis ball", "tennis racket",
    "baseball", "baseball bat", "baseball glove", "golf ball", "golf club", "hockey stick",
    "pair of ice skates", "pair of roller skates", "surfboard", "snowboard", "skateboard",
    "pair of skis", "sled", "bowling ball", "bowling pin", "frisbee", "pair of boxing gloves",
    "punching bag", "dumbbell", "kettlebell", "yoga mat", "trophy", "dartboard",
    "archery target", "fishing rod", "basketball hoop", "soccer goal", "ping pong paddle",
    "badminton racket", "shuttlecock", "rugby ball", "jump rope", "trampoline", "stopwatch",
    "pool table", "bicycle helmet", "canoe paddle", "chess piece",
)

HISTORIC_BUILDINGS = (
    "house", "cottage", "log cabin", "cabin", "castle", "palace", "church", "chapel",
    "cathedral", "temple", "mosque", "pagoda", "monastery", "lighthouse", "windmill",
    "watermill", "barn", "farmhouse", "treehouse", "igloo", "tent", "hut", "mansion", "villa",
    "fortress", "tower", "clock tower", "bell tower", "stone bridge", "covered bridge",
    "aqueduct", "pyramid", "amphitheater", "abbey", "gazebo", "fountain", "statue",
    "obelisk", "totem pole", "wishing well", "greenhouse", "garden shed", "stable",
    "boathouse", "pier", "town hall", "stone wall", "city gate", "ruined castle", "shrine",
)

MODERN_BUILDINGS = (
    "skyscraper", "apartment building", "office building", "stadium", "train station",
    "gas station", "airport terminal", "shopping mall", "hospital", "school", "library",
    "museum", "factory", "warehouse", "power plant", "water tower", "parking garage",
    "suspension bridge", "highway overpass", "cafe", "bakery", "restaurant", "diner",
    "bookstore", "flower shop", "laundromat", "motel", "hotel", "fire station",
    "post office", "playground", "carousel", "Ferris wheel", "roller coaster", "radio tower",
    "wind turbine", "oil rig", "dam", "observatory", "greenhouse dome", "concert hall",
    "movie theater", "skate park", "swimming pool", "tennis court", "subway station",
    "glass pavilion", "footbridge",
)

LANDSCAPES = (
    "mountain", "mountain range", "volcano", "waterfall", "river", "stream", "lake",
    "mountain lake", "pond", "beach", "desert", "canyon", "valley", "glacier", "iceberg",
    "island", "tropical island", "cliff", "cave", "forest", "pine forest", "bamboo forest",
    "jungle", "rainforest", "meadow", "wildflower meadow", "field of sunflowers",
    "wheat field", "lavender field", "rice terrace", "vineyard", "orchard", "swamp", "marsh",
    "coral reef", "sand dune", "hill", "coastline", "bay", "lagoon", "fjord", "geyser",
    "hot spring", "savanna", "prairie", "oasis", "garden", "flower garden", "rose garden",
    "park", "hiking trail", "country road", "city skyline", "harbor", "marina", "plateau",
    "gorge", "rock formation", "tide pool", "mangrove forest", "salt flat", "crater",
    "mountain pass", "ice cave", "birch forest", "tulip field", "pumpkin patch", "quarry",
    "cornfield", "cobblestone street", "city street", "alley", "town square", "village",
    "fishing village", "highway", "railway track", "riverbank",
)

STREET_OBJECTS = (
    "street lamp", "traffic light", "stop sign", "mailbox", "fire hydrant", "parking meter",
    "phone booth", "vending machine", "park bench", "bus stop", "newsstand", "shopping cart",
    "bicycle rack", "trash can", "neon sign", "billboard", "street sign", "snowman",
    "scarecrow", "sandcastle", "birdbath", "sundial", "signpost", "picket fence",
    "garden gate", "front door", "window", "staircase", "spiral staircase", "archway",
    "doorway", "balcony", "chimney", "swing set", "mural", "manhole cover", "street clock",
    "wooden fence", "stone staircase", "graffiti wall", "lamppost", "bus shelter",
)

# category -> nouns. Order matters for reproducibility; never iterate over a set here.
SUBJECTS: dict[str, tuple[str, ...]] = {
    "pet": PETS,
    "farm_animal": FARM_ANIMALS,
    "forest_animal": FOREST_ANIMALS,
    "savanna_animal": SAVANNA_ANIMALS,
    "jungle_animal": JUNGLE_ANIMALS,
    "polar_animal": POLAR_ANIMALS,
    "bird": BIRDS,
    "sea_creature": SEA_CREATURES,
    "small_creature": SMALL_CREATURES,
    "person": PEOPLE,
    "child": CHILDREN,
    "fantasy": FANTASY,
    "fruit_veg": FRUIT_VEGETABLES,
    "baked": BAKED_GOODS,
    "dish": DISHES,
    "drink": DRINKS,
    "tree": TREES,
    "flower": FLOWERS,
    "plant": PLANTS,
    "nature_item": NATURE_ITEMS,
    "vehicle": VEHICLES,
    "watercraft": WATERCRAFT,
    "aircraft": AIRCRAFT,
    "spacecraft": SPACECRAFT,
    "tool": TOOLS,
    "vessel": VESSELS,
    "utensil": UTENSILS,
    "appliance": APPLIANCES,
    "furniture": FURNITURE,
    "gadget": GADGETS,
    "household": HOUSEHOLD,
    "toy": TOYS,
    "clothing": CLOTHING,
    "accessory": ACCESSORIES,
    "jewelry": JEWELRY,
    "instrument": INSTRUMENTS,
    "sports_gear": SPORTS_GEAR,
    "historic_building": HISTORIC_BUILDINGS,
    "modern_building": MODERN_BUILDINGS,
    "landscape": LANDSCAPES,
    "street_object": STREET_OBJECTS,
}

# ---------------------------------------------------------------------------
# Attributes
# ---------------------------------------------------------------------------

COLOURS = (
    "red", "blue", "green", "yellow", "orange", "purple", "pink", "white", "black", "gray",
    "brown", "turquoise", "teal", "navy blue", "bright red", "pale blue", "golden", "silver",
    "beige", "crimson", "emerald green", "mustard yellow", "pastel pink", "cream-colored",
    "olive green", "maroon", "lime green", "sky blue", "coral", "charcoal gray",
)
ANIMAL_COLOURS = ("black", "white", "brown", "gray", "ginger", "golden", "spotted", "striped",
                  "black-and-white", "sandy", "dark", "pale")
BIRD_COLOURS = ("white", "black", "blue", "red", "yellow", "green", "brown", "gray", "colorful")
FLOWER_COLOURS = ("red", "white", "yellow", "pink", "purple", "orange", "blue", "pale pink",
                  "deep red", "lilac", "peach-colored")
MATERIALS = (
    "wooden", "metal", "glass", "ceramic", "porcelain", "clay", "copper", "brass", "silver",
    "golden", "stone", "marble", "leather", "wool", "silk", "denim", "cotton", "velvet",
    "linen", "wicker", "bamboo", "plastic", "paper", "cardboard", "steel", "iron", "knitted",
    "enamel", "cast-iron", "felt",
)
SIZES = ("tiny", "small", "little", "large", "big", "huge", "giant", "miniature", "tall", "short")
AGES_AND_CONDITIONS = (
    "old", "new", "vintage", "antique", "rusty", "worn", "broken", "dusty", "shiny",
    "weathered", "abandoned", "brand-new", "polished", "chipped", "faded", "battered",
    "cracked", "dented", "muddy", "wet", "retro", "modern", "ancient", "crumbling",
)
TEXTURES = ("fuzzy", "smooth", "rough", "glossy", "velvety", "fluffy", "wrinkled", "furry",
            "prickly", "bumpy", "shaggy", "sleek")
MOODS = ("cheerful", "gloomy", "peaceful", "lonely", "mysterious", "cozy", "eerie", "dreamy",
         "whimsical", "melancholy", "joyful", "serene", "dramatic", "moody", "playful", "quiet",
         "nostalgic", "vibrant", "calm", "somber")

# ---------------------------------------------------------------------------
# Adjectives each category takes: "quality" (size, age, condition, mood), "colour" and
# "material". At most one quality plus one colour or material is used, in that order.
_ANIMAL_Q = ("young", "majestic", "curious", "sleepy", "wild", "lone", "hungry", "small",
             "large", "old", "wet", "alert", "playful", "beautiful")
_OBJECT_Q = ("old", "small", "vintage", "broken", "colorful", "antique", "dusty", "worn",
             "large", "tiny", "new", "shiny", "faded", "weathered")
_VEHICLE_COLOURS = COLOURS
_SIMPLE_COLOURS = ("red", "blue", "green", "yellow", "white", "black", "orange", "gray",
                   "silver", "pink")
CATEGORY_ADJECTIVES: dict[str, dict[str, tuple[str, ...]]] = {
    "pet": {"quality": ("fluffy", "sleepy", "playful", "curious", "tiny", "small", "young",
                        "old", "happy", "scruffy", "wet", "muddy", "shaggy", "cute", "grumpy",
                        "lazy"),
            "colour": ("black", "white", "brown", "gray", "ginger", "spotted",
                       "black-and-white", "cream-colored")},
    "farm_animal": {"quality": ("young", "old", "muddy", "curious", "sleepy", "shaggy", "small",
                                "big", "friendly", "lazy"),
                    "colour": ("black", "white", "brown", "spotted", "black-and-white")},
    "forest_animal": {"quality": _ANIMAL_Q},
    "savanna_animal": {"quality": _ANIMAL_Q},
    "jungle_animal": {"quality": _ANIMAL_Q},
    "polar_animal": {"quality": _ANIMAL_Q},
    "bird": {"quality": ("small", "tiny", "colorful", "young", "majestic", "curious", "lone",
                         "wet", "fluffy", "proud")},
    "sea_creature": {"quality": ("small", "giant", "colorful", "glowing", "curious", "young",
                                 "lone", "graceful")},
    "small_creature": {"quality": ("tiny", "small", "colorful", "shiny", "giant", "fuzzy",
                                   "curious", "bright"),
                       "colour": ("green", "red", "yellow", "black", "orange", "blue",
                                  "brown", "spotted", "striped")},
    "person": {"quality": ("young", "elderly", "smiling", "tired", "happy", "proud", "cheerful",
                           "focused", "laughing", "thoughtful", "serious", "confident",
                           "middle-aged", "friendly")},
    "child": {"quality": ("smiling", "laughing", "curious", "sleepy", "happy", "giggling", "shy",
                          "muddy", "excited", "little")},
    "fantasy": {"quality": ("ancient", "friendly", "tiny", "giant", "glowing", "majestic",
                            "mischievous", "wise", "sleepy", "fierce", "gentle")},
    "fruit_veg": {"quality": ("fresh", "ripe", "sliced", "halved", "organic", "freshly picked",
                              "shiny", "dewy")},
    "baked": {"quality": ("freshly baked", "homemade", "warm", "half-eaten", "golden",
                          "delicious", "giant", "tiny", "fancy")},
    "dish": {"quality": ("homemade", "delicious", "half-eaten", "hot", "fancy", "simple",
                         "giant", "colorful", "freshly made")},
    "drink": {"quality": ("full", "half-empty", "small", "large")},
    "tree": {"quality": ("tall", "old", "ancient", "lone", "gnarled", "young", "bare",
                         "twisted", "towering", "huge", "small")},
    "flower": {"quality": ("blooming", "wilted", "fresh", "delicate", "single", "dried",
                           "tall", "small"),
               "colour": FLOWER_COLOURS},
    "plant": {"quality": ("small", "lush", "young", "tiny", "leafy", "healthy", "tall",
                          "drooping")},
    "nature_item": {"quality": ("small", "single", "tiny", "large", "smooth", "delicate")},
    "vehicle": {"quality": ("old", "vintage", "rusty", "shiny", "abandoned", "brand-new",
                            "dusty", "muddy", "battered", "classic", "small", "tiny"),
                "colour": _VEHICLE_COLOURS},
    "watercraft": {"quality": ("old", "small", "abandoned", "weathered", "rusty", "colorful",
                               "tiny", "large", "lonely"),
                   "colour": _SIMPLE_COLOURS},
    "aircraft": {"quality": ("old", "vintage", "small", "large", "colorful", "retro"),
                 "colour": _SIMPLE_COLOURS},
    "spacecraft": {"quality": ("old", "retro", "futuristic", "giant", "small", "sleek"),
                   "colour": ("white", "silver", "red", "black", "gray")},
    "tool": {"quality": ("old", "rusty", "worn", "new", "heavy", "vintage", "dusty", "shiny",
                         "small", "large", "broken", "antique"),
             "colour": ("red", "yellow", "orange", "black", "blue", "green")},
    "vessel": {"quality": ("small", "large", "old", "chipped", "vintage", "empty", "handmade",
                           "antique", "tiny", "cracked"),
               "colour": COLOURS,
               "material": ("ceramic", "glass", "porcelain", "clay", "copper", "enamel",
                            "silver", "stone", "brass")},
    "utensil": {"quality": ("old", "new", "vintage", "shiny", "rusty", "small", "large", "worn"),
                "material": ("wooden", "silver", "copper", "steel", "bamboo")},
    "appliance": {"quality": ("old", "vintage", "retro", "modern", "broken", "dusty", "new",
                              "small", "shiny"),
                  "colour": ("white", "black", "red", "mint green", "pastel blue", "yellow",
                             "silver", "cream-colored")},
    "furniture": {"quality": ("old", "antique", "cozy", "empty", "worn", "modern", "vintage",
                              "small", "large", "broken", "comfortable"),
                  "colour": COLOURS,
                  "material": ("wooden", "wicker", "metal", "oak", "bamboo", "plastic")},
    "gadget": {"quality": ("old", "vintage", "retro", "modern", "broken", "dusty", "new", "tiny",
                           "shiny", "cracked"),
               "colour": ("black", "white", "silver", "red", "blue", "pink", "yellow", "gray")},
    "household": {"quality": _OBJECT_Q, "colour": COLOURS},
    "toy": {"quality": ("old", "small", "vintage", "broken", "colorful", "worn", "tiny",
                        "giant", "handmade"),
            "colour": COLOURS},
    "clothing": {"quality": ("old", "new", "oversized", "worn", "vintage", "elegant", "striped",
                             "polka-dot", "tiny", "colorful", "plaid", "patterned"),
                 "colour": COLOURS,
                 "material": ("wool", "leather", "silk", "denim", "cotton", "knitted", "velvet",
                              "linen")},
    "accessory": {"quality": ("old", "new", "vintage", "worn", "scratched", "shiny", "dusty"),
                  "colour": _SIMPLE_COLOURS},
    "jewelry": {"quality": ("antique", "sparkling", "delicate", "vintage", "ornate", "tiny",
                            "shiny", "simple", "old"),
                "material": ("gold", "silver", "golden", "beaded", "copper", "brass")},
    "instrument": {"quality": ("old", "antique", "vintage", "polished", "worn", "shiny",
                               "dusty", "broken", "beautiful", "tiny"),
                   "colour": ("black", "red", "white", "golden", "blue")},
    "sports_gear": {"quality": ("old", "worn", "brand-new", "dirty", "muddy", "shiny", "used",
                                "vintage", "small"),
                    "colour": _SIMPLE_COLOURS},
    "historic_building": {"quality": ("old", "abandoned", "ancient", "small", "crumbling",
                                      "quiet", "historic", "tiny", "grand", "lonely",
                                      "charming", "weathered", "forgotten", "beautiful",
                                      "remote")},
    "modern_building": {"quality": ("modern", "tall", "empty", "busy", "abandoned", "futuristic",
                                    "new", "old", "quiet", "small", "huge", "colorful")},
    "landscape": {"quality": ("misty", "quiet", "remote", "peaceful", "hidden", "serene",
                              "sunlit", "dramatic", "beautiful", "wild", "lonely", "deserted")},
    "street_object": {"quality": ("old", "rusty", "broken", "lonely", "weathered", "colorful",
                                  "small", "vintage", "abandoned"),
                      "colour": ("red", "blue", "green", "yellow", "white", "black")},
}

# Nouns whose colour is part of the name or fixed: never given a colour adjective.
FIXED_COLOUR_NOUNS = ("golden retriever", "dalmatian", "Siamese cat", "ladybug",
                      "monarch butterfly", "bluebell", "forget-me-not", "lavender sprig",
                      "sunflower", "daffodil", "dandelion", "fire truck", "school bus",
                      "snowman")

# Buildings and structures one cannot usefully be "inside".
NO_INTERIOR = ("tent", "fountain", "statue", "obelisk", "totem pole", "wishing well",
               "stone bridge", "aqueduct", "pier", "stone wall", "city gate", "gazebo",
               "suspension bridge", "highway overpass", "dam", "wind turbine", "oil rig",
               "water tower", "radio tower", "playground", "carousel", "Ferris wheel",
               "roller coaster", "skate park", "tennis court", "footbridge", "pyramid",
               "amphitheater", "shrine", "tower", "clock tower", "bell tower",
               "covered bridge", "ruined castle", "igloo", "hut", "treehouse")

# Which SETTINGS groups each category may be placed in; landscapes take none.
CATEGORY_SETTINGS: dict[str, tuple[str, ...]] = {
    "pet": ("home", "urban", "nature", "garden", "snow"), "farm_animal": ("farm", "nature", "snow"),
    "forest_animal": ("nature", "snow"), "savanna_animal": ("savanna",),
    "jungle_animal": ("jungle",), "polar_animal": ("arctic", "snow"),
    "bird": ("nature", "urban", "water", "garden"), "sea_creature": ("underwater", "water"),
    "small_creature": ("nature", "garden"),
    "person": ("urban", "interior", "home", "nature", "water"),
    "child": ("home", "urban", "nature", "water", "garden", "snow"),
    "fantasy": ("fantasy", "nature", "snow"),
    "fruit_veg": ("tabletop", "market", "studio"), "baked": ("tabletop", "market", "studio"),
    "dish": ("tabletop", "studio"), "drink": ("tabletop", "studio"),
    "tree": ("nature", "snow", "village"), "flower": ("garden", "nature", "tabletop"),
    "plant": ("home", "tabletop", "garden", "studio"), "nature_item": ("nature", "tabletop", "snow"),
    "vehicle": ("road", "urban", "snow"), "watercraft": ("water",),
    "aircraft": ("sky", "airfield"), "spacecraft": ("launch",),
    "tool": ("workshop", "tabletop", "studio"), "vessel": ("tabletop", "studio", "home"),
    "utensil": ("tabletop", "studio"), "appliance": ("home", "studio"),
    "furniture": ("home", "studio", "interior"), "gadget": ("tabletop", "studio", "home"),
    "household": ("home", "tabletop", "studio"), "toy": ("home", "tabletop", "studio"),
    "clothing": ("studio", "home"), "accessory": ("studio", "home", "tabletop"),
    "jewelry": ("tabletop", "studio"), "instrument": ("stage", "studio", "home"),
    "sports_gear": ("sports", "studio"), "historic_building": ("village",),
    "modern_building": ("city",), "landscape": (), "street_object": ("urban", "snow"),
}

# ---------------------------------------------------------------------------
# Settings (places), grouped. INDOOR_SETTING_GROUPS never get outdoor light or weather.
# ---------------------------------------------------------------------------

SETTINGS: dict[str, tuple[str, ...]] = {
    "home": ("in a cozy living room", "on a sofa", "on a bed", "by a window", "in a kitchen",
             "on a wooden floor", "on a rug", "in a bedroom", "in a sunny room", "in a hallway",
             "by a fireplace", "on a staircase"),
    "tabletop": ("on a wooden table", "on a kitchen counter", "on a windowsill",
                 "on a marble countertop", "on a cluttered desk", "on a shelf",
                 "on a white tablecloth", "on a rustic table", "on a bedside table",
                 "on a cafe table", "on a stone slab", "on a glass table"),
    "studio": ("on a white background", "against a black background",
               "on a pastel pink background", "against a blue backdrop", "in a photo studio",
               "on a gray background", "on a yellow background", "against a plain wall"),
    "workshop": ("in a dusty workshop", "on a workbench", "in a cluttered garage",
                 "in a tool shed", "on a pegboard wall", "in a barn"),
    "interior": ("in a library", "in a cafe", "in a classroom", "in a museum",
                 "in a train carriage", "in an office", "in a hotel lobby", "in a restaurant",
                 "in a school hallway", "in a bakery", "in an old attic", "in a laboratory"),
    "stage": ("on a stage", "in a concert hall", "in a recording studio", "in a jazz club",
              "in a music shop", "in a rehearsal room"),
    "urban": ("on a city street", "in a park", "in a narrow alley", "on a sidewalk",
              "in a town square", "by a brick wall", "at a train station", "at a bus stop",
              "on a rooftop", "under a bridge", "in a parking lot", "on a busy street",
              "in front of a shop", "on a cobblestone street", "by a graffiti wall",
              "in a city at night"),
    "nature": ("in a forest", "in a meadow", "on a grassy hill", "in tall grass",
               "on a mountain trail", "by a river", "in a field of wildflowers",
               "on a rocky ledge", "among fallen leaves", "in a pine forest",
               "on a mossy log", "near a waterfall", "in a clearing"),
    "snow": ("in a snowy forest", "in the snow", "on a frozen lake", "on a snowy hill",
             "in a snowy field", "on an icy shore"),
    "farm": ("on a farm", "in a barn", "in a pasture", "by a wooden fence", "in a farmyard",
             "on a dirt road", "in a green field", "near a red barn"),
    "savanna": ("on the savanna", "by a watering hole", "in dry grass",
                "under an acacia tree", "on a dusty plain", "in a nature reserve"),
    "jungle": ("in a jungle", "in a rainforest", "among tropical leaves",
               "on a mossy branch", "by a jungle river", "in a bamboo forest"),
    "arctic": ("on the ice", "on an ice floe", "in the arctic tundra", "on a snowy shore",
               "in a blizzard", "on a glacier"),
    "water": ("at the beach", "by a lake", "on a river bank", "on a sandy shore",
              "by the sea", "in shallow water", "on a pier", "in a harbor", "on a pebble beach",
              "by a pond"),
    "underwater": ("underwater", "in a coral reef", "in an aquarium", "in the deep ocean",
                   "in clear blue water", "near the ocean floor", "in a kelp forest"),
    "sky": ("in a clear blue sky", "above the clouds", "over the ocean", "against a cloudy sky",
            "over a city", "over the mountains", "in a stormy sky"),
    "airfield": ("on a runway", "in a hangar", "at an airfield", "at an airport"),
    "launch": ("on a launch pad", "in a museum hall", "against a clear blue sky",
               "in the night sky", "above the desert", "in a hangar"),
    "road": ("on a country road", "on a highway", "in a parking lot", "on a dirt road",
             "on a mountain road", "on a city street", "in a garage", "at a gas station",
             "on a desert highway", "by the roadside", "on a bridge", "in a junkyard"),
    "garden": ("in a garden", "in a flower bed", "in a greenhouse", "on a garden path",
               "in a backyard", "in a vegetable garden", "in a flower pot"),
    "market": ("at a farmers market", "at a street market", "in a bakery window",
               "in a wooden crate", "in a wicker basket", "at a market stall"),
    "fantasy": ("in an enchanted forest", "in a castle courtyard", "in a misty valley",
                "on a mountain peak", "in a magical cave", "above a medieval village",
                "in a fairy tale kingdom", "by a glowing lake"),
    "sports": ("on a soccer field", "on a tennis court", "on a basketball court",
               "on a ski slope", "at a skate park", "on a running track", "on a golf course",
               "in a gym", "in a locker room"),
    "village": ("on a hill", "by a lake", "in a small village", "in a snowy valley",
                "on a rocky coast", "in the countryside", "at the end of a dirt road",
                "on a cliff", "in a mountain valley", "by a river", "in the woods"),
    "city": ("in a big city", "in a downtown area", "by a river", "on a busy street",
             "in an industrial area", "near a highway", "in a small town", "by the harbor"),
}
INDOOR_SETTING_GROUPS = ("home", "tabletop", "studio", "workshop", "interior", "stage")

LIGHTING_ANY = (
    "in soft natural light", "in warm light", "in dramatic light", "in dim light",
    "by candlelight", "under neon lights", "in low light", "with soft shadows",
    "in warm lamplight", "in morning light", "in bright light", "in cool blue light",
    "in soft window light", "in harsh light", "at night",
)
LIGHTING_OUTDOOR = (
    "at sunset", "at sunrise", "at dawn", "at dusk", "at twilight", "during golden hour",
    "under a starry sky", "under a full moon", "on a foggy morning", "on a rainy day",
    "on a sunny afternoon", "in heavy fog", "in the rain", "during a snowstorm",
    "under a cloudy sky", "in harsh midday sun", "after a storm", "in autumn", "in winter",
    "in early spring", "on a summer evening", "under stormy skies", "in the mist",
    "on a windy day", "under a clear blue sky",
)

# ---------------------------------------------------------------------------
# Actions. ACTIONS carry no place (a setting may follow); PLACEMENTS include their place.
# Both are participle phrases, so they fit singular and plural subjects alike.
# ---------------------------------------------------------------------------

ANIMAL_ACTIONS = ("sleeping", "running", "sitting", "resting", "yawning", "stretching",
                  "looking at the camera", "walking", "eating", "drinking water", "playing",
                  "lying down", "looking up", "standing still", "exploring", "hiding")
ACTIONS: dict[str, tuple[str, ...]] = {
    "pet": ANIMAL_ACTIONS + ("chasing a ball", "wearing a tiny hat",
                             "chewing a toy", "curled up asleep", "jumping", "begging for food"),
    "farm_animal": ("grazing", "eating hay", "standing", "lying down", "walking slowly",
                    "running", "resting", "looking at the camera", "drinking water"),
    "forest_animal": ANIMAL_ACTIONS + ("foraging", "sniffing the air", "peeking out"),
    "savanna_animal": ANIMAL_ACTIONS + ("hunting", "roaming", "grazing"),
    "jungle_animal": ANIMAL_ACTIONS + ("climbing", "hanging from a branch", "swinging"),
    "polar_animal": ("walking", "resting", "sleeping", "looking at the camera", "hunting",
                     "swimming", "standing still", "lying down"),
    "bird": ("flying", "perched", "singing", "taking off", "landing",
             "preening", "looking at the camera", "feeding", "resting", "gliding"),
    "sea_creature": ("swimming", "diving", "floating", "hunting", "resting", "gliding",
                     "jumping out of the water", "drifting"),
    "small_creature": ("crawling", "resting", "sitting still", "basking", "climbing",
                       "hiding", "eating", "looking at the camera"),
    "person": ("smiling", "laughing", "reading a book", "walking", "running", "working",
               "waving", "looking at the camera", "taking a photo", "drinking coffee",
               "talking on the phone", "dancing", "sitting", "resting", "eating lunch",
               "looking into the distance", "writing in a notebook", "carrying a box",
               "waiting", "thinking", "wearing a hat", "wearing sunglasses"),
    "child": ("smiling", "laughing", "playing", "running", "reading a book", "jumping",
              "drawing", "sleeping", "eating ice cream", "blowing bubbles", "waving",
              "playing in the sand", "looking at the camera", "holding a balloon",
              "building a sandcastle", "flying a kite"),
    "fantasy": ("flying", "resting", "sleeping", "casting a spell", "standing guard",
                "looking at the camera", "walking", "guarding a treasure", "glowing softly",
                "dancing"),
    "aircraft": ("flying", "taking off", "landing", "soaring", "flying low",
                 "leaving a trail of smoke"),
    "spacecraft": ("launching", "taking off", "soaring upward", "leaving a trail of smoke",
                   "orbiting the Earth", "standing upright"),
    "watercraft": ("sailing", "drifting", "anchored", "moored", "docked",
                   "cutting through the waves", "floating"),
    "vehicle": ("parked", "driving", "speeding", "covered in snow", "covered in mud",
                "stuck in traffic", "waiting at a light"),
}

PLACEMENTS: dict[str, tuple[str, ...]] = {
    "object": ("leaning against a brick wall", "lying in tall grass", "resting on a wooden table",
               "half-buried in sand", "sitting on a windowsill", "floating in a swimming pool",
               "lying on a sandy beach", "sitting on a shelf", "covered in dust",
               "covered in snow", "left on a park bench", "sitting in a puddle",
               "reflected in a mirror", "lying on a pile of autumn leaves",
               "sitting on a stack of books", "lit by a single lamp", "on a wooden crate",
               "in a shop window", "on a kitchen counter", "on an empty street"),
    "food": ("on a white plate", "on a wooden cutting board", "in a paper bag",
             "on a picnic blanket", "on a kitchen counter", "on a marble table",
             "in a wicker basket", "on a rustic wooden table", "on a market stall",
             "next to a cup of coffee", "on a checkered tablecloth", "on a baking sheet"),
    "drink": ("on a wooden table", "on a cafe table", "on a windowsill", "next to a book",
              "on a saucer", "on a bar counter", "next to a laptop", "on a picnic blanket",
              "by a rainy window", "on a marble countertop"),
    "clothing": ("hanging on a clothesline", "folded on a bed", "on a mannequin",
                 "hanging in a closet", "lying on the floor", "on a coat hook",
                 "in a shop window", "draped over a chair"),
    "vehicle": ("parked on a quiet street", "driving down a country road",
                "parked in front of a house", "rusting in a field",
                "crossing a bridge", "parked by the sea", "driving through the desert",
                "stuck in the mud", "parked under a tree", "racing down a highway"),
    "watercraft": ("moored in a harbor", "sailing on a calm lake", "floating on a river",
                   "docked at a pier", "sailing on the open sea", "pulled up on a beach",
                   "drifting in the fog"),
    "building": ("surrounded by trees", "on top of a hill", "reflected in a lake",
                 "at the edge of a cliff", "covered in ivy", "surrounded by snow",
                 "next to a river", "under a starry sky", "in a field of flowers",
                 "overlooking the sea"),
    "plant": ("in a clay pot", "growing in a garden", "on a windowsill", "in a glass vase",
              "growing through a crack in the pavement", "in a flower bed",
              "covered in morning dew", "growing by a fence", "on a balcony"),
    "tree": ("standing alone in a field", "on a hilltop", "by a lake",
             "in the middle of a meadow", "covered in snow", "on a riverbank",
             "growing on a cliff", "in a city park", "by a country road"),
    "person": ("sitting on a park bench", "walking down a busy street",
               "standing on a mountain top", "sitting at a cafe table",
               "walking along the beach", "standing in the rain",
               "leaning against a wall", "crossing the street", "sitting by a campfire",
               "standing in a doorway", "waiting at a bus stop"),
    "animal": ("sitting in the grass", "lying in the sun", "standing in a field",
               "walking through the snow", "resting under a tree", "standing by a river",
               "peeking out from behind a tree", "sitting on a rock", "running across a field"),
    "pet": ("sleeping on a sofa", "sitting on a windowsill", "curled up in a basket",
            "lying on a rug", "looking out of a window", "peeking out of a cardboard box",
            "playing with a ball of yarn", "sitting in a car", "playing in the snow",
            "lying in a sunbeam", "wrapped in a blanket"),
    "bird": ("perched on a branch", "sitting on a fence", "flying over the sea",
             "standing in shallow water", "perched on a rooftop", "sitting on a wire",
             "flying over a forest", "perched on a mossy rock"),
    "sea": ("swimming in a coral reef", "swimming near the surface", "resting on the sand",
            "swimming in an aquarium", "swimming in clear blue water", "hiding among rocks"),
    "aircraft": ("flying over the mountains", "parked on a runway", "flying above the clouds",
                 "sitting in a hangar", "crossing a clear blue sky", "flying over the sea",
                 "flying low over a field"),
    "spacecraft": ("standing on a launch pad", "lifting off into the sky",
                   "displayed in a museum hall", "drifting in outer space",
                   "streaking across the night sky", "parked in a hangar"),
    "small": ("on a green leaf", "on a flower", "on a mossy rock", "on a tree branch",
              "on a wet window", "in the grass", "on a wooden fence", "on a lily pad"),
}

# Which placement list each subject category uses.
CATEGORY_PLACEMENT = {
    "pet": "pet", "farm_animal": "animal", "forest_animal": "animal", "savanna_animal": "animal",
    "jungle_animal": "animal", "polar_animal": "animal", "bird": "bird", "sea_creature": "sea",
    "small_creature": "small", "person": "person", "child": "person", "fantasy": "animal",
    "fruit_veg": "food", "baked": "food", "dish": "food", "drink": "drink", "tree": "tree",
    "flower": "plant", "plant": "plant", "vehicle": "vehicle", "watercraft": "watercraft",
    "aircraft": "aircraft", "spacecraft": "spacecraft",
    "tool": "object", "vessel": "object", "utensil": "object", "appliance": "object",
    "furniture": "object", "gadget": "object", "household": "object", "toy": "object",
    "clothing": "clothing", "accessory": "object", "jewelry": "object", "nature_item": "small",
    "instrument": "object",
    "sports_gear": "object", "historic_building": "building", "modern_building": "building",
    "street_object": "object",
}

# Things a person can hold, play or ride (looked up in SUBJECTS for adjectives).
HOLDABLE_CATEGORIES = ("vessel", "household", "toy", "fruit_veg", "baked", "drink", "flower",
                       "tool", "gadget", "sports_gear")
RIDEABLES = ("bicycle", "horse", "motorcycle", "scooter", "skateboard", "camel", "elephant",
             "pony", "tricycle", "unicycle", "snowmobile", "surfboard", "sled", "mountain bike",
             "moped", "donkey", "quad bike", "rocking horse")

# ---------------------------------------------------------------------------
# Image kinds (the "photo of" part).
# ---------------------------------------------------------------------------

IMAGE_KINDS: dict[str, tuple[str, ...]] = {
    "general": ("photo", "close-up photo", "black-and-white photo", "vintage photo",
                "film photo", "snapshot", "photograph", "wide-angle photo", "cinematic still",
                "candid photo", "blurry photo", "watercolor illustration", "watercolor painting",
                "oil painting", "acrylic painting", "pencil sketch", "charcoal drawing",
                "ink drawing", "pen-and-ink illustration", "pastel drawing",
                "digital illustration", "digital painting", "cartoon illustration",
                "children's book illustration", "flat vector illustration", "3D render",
                "low-poly 3D render", "isometric illustration", "pixel art image",
                "linocut print", "woodblock print", "minimalist poster", "vintage postcard",
                "mosaic", "stained glass window", "chalk drawing", "crayon drawing",
                "sketchbook doodle", "gouache painting", "anime-style illustration",
                "comic book panel", "retro travel poster", "collage", "embroidery",
                "paper cutout illustration", "claymation still", "screen print"),
    "closeup": ("macro photo", "extreme close-up", "detailed close-up", "macro shot",
                "botanical illustration", "shallow depth-of-field photo"),
    "aerial": ("aerial photo", "aerial shot", "drone shot", "panoramic photo",
               "travel photo", "landscape painting", "postcard photo", "long-exposure photo",
               "satellite view"),
    "portrait": ("portrait photo", "portrait painting", "candid portrait",
                 "studio portrait", "character illustration", "headshot"),
    "product": ("product photo", "studio photo", "catalog photo", "flat lay photo",
                "technical drawing", "still life painting", "top-down photo"),
    "wildlife": ("wildlife photo", "nature documentary still", "telephoto shot",
                 "field guide illustration", "scientific illustration"),
    "food": ("food photo", "overhead food photo", "menu photo", "cookbook illustration",
             "still life painting", "top-down photo"),
}

CATEGORY_KINDS = {
    "pet": ("general", "portrait"), "farm_animal": ("general", "portrait", "wildlife"),
    "forest_animal": ("general", "wildlife", "portrait"),
    "savanna_animal": ("general", "wildlife", "portrait"),
    "jungle_animal": ("general", "wildlife", "portrait"),
    "polar_animal": ("general", "wildlife"), "bird": ("general", "wildlife", "closeup"),
    "sea_creature": ("general", "wildlife"), "small_creature": ("general", "closeup", "wildlife"),
    "person": ("general", "portrait"), "child": ("general", "portrait"),
    "fantasy": ("general", "portrait"),
    "fruit_veg": ("general", "food", "closeup"), "baked": ("general", "food", "closeup"),
    "dish": ("general", "food"), "drink": ("general", "food", "closeup"),
    "tree": ("general", "aerial"), "flower": ("general", "closeup"),
    "plant": ("general", "closeup", "product"), "nature_item": ("general", "closeup"),
    "vehicle": ("general", "product"), "watercraft": ("general", "aerial"),
    "aircraft": ("general",), "spacecraft": ("general",),
    "tool": ("general", "product", "closeup"), "vessel": ("general", "product"),
    "utensil": ("general", "product"), "appliance": ("general", "product"),
    "furniture": ("general", "product"), "gadget": ("general", "product"),
    "household": ("general", "product", "closeup"), "toy": ("general", "product", "closeup"),
    "clothing": ("general", "product"), "accessory": ("general", "product"),
    "jewelry": ("general", "product", "closeup"),
    "instrument": ("general", "product"), "sports_gear": ("general", "product"),
    "historic_building": ("general", "aerial"), "modern_building": ("general", "aerial"),
    "landscape": ("general", "aerial"), "street_object": ("general",),
}

# Style adjectives that can precede a kind ("Vintage photo", "Minimalist illustration").
STYLE_PREFIXES = ("minimalist", "surreal", "whimsical", "moody", "colorful", "detailed",
                  "soft-focus", "high-contrast", "muted", "vibrant", "dreamy", "cinematic",
                  "grainy", "bright", "dark", "retro", "simple", "atmospheric", "playful",
                  "elegant", "quirky", "stylized")
SURFACES_PLAIN = ("white", "black", "gray", "pastel blue", "pale yellow", "soft pink", "beige",
                  "dark green", "light gray", "navy")
COVERINGS = ("snow", "frost", "moss", "ivy", "autumn leaves", "dust", "rust", "flowers",
             "morning dew", "sand", "fairy lights", "graffiti", "raindrops", "vines")
SKIES = ("an orange sunset sky", "a pink evening sky", "a full moon", "a stormy sky",
         "a starry sky", "a pale morning sky", "a bright blue sky", "a golden sunrise")
REFLECTIVE_SURFACES = ("a calm lake", "a puddle", "a river", "a still pond", "wet pavement",
                       "a glass window", "the sea")
MADE_OF = ("glass", "paper", "wood", "clay", "crystal", "gold", "ice", "yarn", "plastic",
           "toy bricks", "marble", "flowers", "chocolate", "origami paper", "felt")
VANTAGE_POINTS = ("a hilltop", "above", "a distance", "the water", "a bridge", "a window",
                  "a mountain path", "a balcony", "the air", "the shore", "a boat")

# Collective phrases ("a flock of birds") per category; counts ("two", "three") work anywhere.
COUNTS = ("two", "three", "four", "five", "several", "a few")
COLLECTIVES = {
    "pet": ("a pair of", "a group of"), "farm_animal": ("a group of", "a herd of"),
    "forest_animal": ("a pair of", "a group of"), "savanna_animal": ("a group of", "a herd of"),
    "jungle_animal": ("a group of", "a pair of"), "polar_animal": ("a group of",),
    "bird": ("a flock of", "a pair of"), "sea_creature": ("a group of", "a school of"),
    "small_creature": ("a group of", "a pair of"), "person": ("a group of", "a pair of"),
    "child": ("a group of",), "fantasy": ("a pair of", "a group of"),
    "fruit_veg": ("a pile of", "a basket of", "a crate of"), "baked": ("a pile of", "a tray of"),
    "dish": ("a row of",), "drink": ("a row of",), "tree": ("a row of", "a grove of"),
    "flower": ("a bunch of", "a field of", "a vase of"), "plant": ("a row of", "a cluster of"),
    "nature_item": ("a pile of", "a handful of", "a collection of"),
    "vehicle": ("a row of", "a line of"), "watercraft": ("a row of", "a fleet of"),
    "aircraft": ("a fleet of", "a formation of"), "spacecraft": ("a row of",),
    "tool": ("a collection of", "a row of"), "vessel": ("a row of", "a collection of", "a stack of"),
    "utensil": ("a collection of", "a row of"), "appliance": ("a row of",),
    "furniture": ("a row of", "a collection of"), "gadget": ("a collection of", "a pile of"),
    "household": ("a collection of", "a pile of"), "toy": ("a pile of", "a collection of"),
    "clothing": ("a pile of", "a row of"), "accessory": ("a row of", "a pile of"),
    "jewelry": ("a collection of", "a pile of"),
    "instrument": ("a collection of", "a row of"), "sports_gear": ("a pile of", "a collection of"),
    "historic_building": ("a row of", "a cluster of"), "modern_building": ("a row of", "a cluster of"),
    "street_object": ("a row of",),
}

# ---------------------------------------------------------------------------
# Audio: sound sources and what they do. Verbs are base forms ("bark", "drip from a tap");
# build.py conjugates them. Avoid pronouns in verb phrases so they fit any subject.
# ---------------------------------------------------------------------------

# category -> ((noun, (verb phrases...)), ...)
AUDIO_SOURCES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "pet": (
        ("dog", ("bark", "growl", "whine", "howl", "pant", "yelp", "bark at a passing car")),
        ("small dog", ("yap", "bark", "whimper", "growl")),
        ("puppy", ("whimper", "yelp", "bark", "whine")),
        ("cat", ("meow", "purr", "hiss", "yowl")),
        ("kitten", ("mew", "purr", "meow")),
        ("parrot", ("squawk", "whistle", "screech", "chatter")),
    ),
    "farm": (
        ("cow", ("moo", "low")),
        ("sheep", ("bleat",)),
        ("goat", ("bleat",)),
        ("horse", ("neigh", "whinny", "snort", "gallop past", "trot on a paved road",
                   "clop along a cobbled street")),
        ("pig", ("grunt", "squeal", "oink")),
        ("rooster", ("crow", "crow at dawn")),
        ("chicken", ("cluck", "squawk", "peck at the ground")),
        ("hen", ("cluck", "cackle")),
        ("duck", ("quack", "splash in a pond")),
        ("goose", ("honk", "hiss")),
        ("donkey", ("bray",)),
        ("turkey", ("gobble",)),
        ("tractor", ("rumble", "chug along", "idle", "drive past")),
    ),
    "wild": (
        ("wolf", ("howl",)),
        ("lion", ("roar", "growl")),
        ("frog", ("croak", "ribbit")),
        ("elephant", ("trumpet",)),
        ("monkey", ("screech", "chatter", "howl")),
        ("coyote", ("howl", "yip")),
        ("bear", ("growl", "grunt")),
        ("squirrel", ("chatter", "scurry through dry leaves")),
        ("deer", ("run through the undergrowth", "snort")),
        ("toad", ("croak",)),
    ),
    "bird": (
        ("bird", ("chirp", "sing", "tweet", "call", "flutter past", "whistle")),
        ("songbird", ("sing", "trill", "chirp")),
        ("crow", ("caw", "call")),
        ("seagull", ("cry", "squawk", "call")),
        ("pigeon", ("coo", "flutter")),
        ("owl", ("hoot",)),
        ("woodpecker", ("peck at a tree", "drum on a tree trunk", "tap on wood")),
        ("cuckoo", ("call",)),
        ("dove", ("coo",)),
        ("sparrow", ("chirp", "twitter")),
        ("blackbird", ("sing", "whistle")),
    ),
    "insect": (
        ("bee", ("buzz", "hum", "buzz around")),
        ("fly", ("buzz", "buzz around")),
        ("mosquito", ("whine", "buzz")),
        ("cricket", ("chirp",)),
        ("cicada", ("drone", "buzz", "sing")),
    ),
    "person": (
        ("man", ("speak", "talk", "cough", "laugh", "whistle", "shout", "sneeze", "sing",
                 "speak softly", "mumble", "give a speech", "talk on the phone",
                 "read aloud", "yawn", "sigh")),
        ("woman", ("speak", "talk", "laugh", "sing", "cough", "whisper", "hum a tune",
                   "talk on the phone", "read aloud", "call out", "speak in a calm voice")),
        ("child", ("laugh", "giggle", "cry", "shout", "sing", "scream with joy", "talk")),
        ("baby", ("cry", "babble", "coo", "giggle", "fuss")),
        ("girl", ("laugh", "sing", "talk", "giggle")),
        ("boy", ("shout", "laugh", "talk", "whistle")),
        ("person", ("cough", "sneeze", "clap", "whistle", "speak", "sigh")),
    ),
    "speaker": (
        ("teacher", ("speak to a class", "give a lecture", "explain a lesson")),
        ("lecturer", ("give a talk", "speak into a microphone")),
        ("priest", ("give a sermon", "lead a prayer")),
        ("presenter", ("address the audience", "speak into a microphone")),
    ),
    "someone_home": (
        ("someone", ("chop vegetables", "type on a keyboard", "knock on a door",
                     "open a creaky door", "close a drawer", "wash dishes",
                     "pour water into a glass", "sweep the floor", "shuffle cards",
                     "flip through the pages of a book", "crumple paper", "zip up a bag",
                     "snore", "walk up wooden stairs", "stir a pot", "fill a kettle",
                     "run a bath", "brush teeth", "open a window", "tear a sheet of paper",
                     "set a table", "open a bottle", "write with a pencil", "vacuum a rug",
                     "fry food in a pan", "jingle a set of keys", "turn on a tap")),
    ),
    "someone_outdoor": (
        ("someone", ("walk on gravel", "walk through dry leaves", "walk through snow",
                     "rake leaves", "dig with a shovel", "ride a bicycle", "chop wood",
                     "splash through puddles", "close a car door", "jog past",
                     "bounce a basketball", "kick a ball", "drag a suitcase",
                     "push a squeaky cart", "whistle for a dog", "start a car",
                     "walk on a wooden bridge", "skate past")),
    ),
    "someone_work": (
        ("someone", ("hammer a nail", "saw wood", "sand a plank", "drill into a wall",
                     "weld metal", "file metal", "tighten a bolt", "sharpen a knife",
                     "drop a metal tool", "cut metal with a grinder", "type on a typewriter",
                     "staple papers", "roll a cart")),
    ),
    "crowd": (
        ("crowd", ("cheer", "applaud", "murmur", "chatter", "clap", "chant", "roar",
                   "laugh")),
        ("audience", ("applaud", "clap", "laugh", "cheer")),
        ("group of children", ("play", "laugh", "shout", "sing")),
        ("choir", ("sing", "sing softly")),
    ),
    "vehicle": (
        ("car", ("drive past", "honk", "pass by", "accelerate", "idle", "start",
                 "drive over gravel", "splash through a puddle", "screech to a halt")),
        ("truck", ("rumble past", "idle", "drive by", "honk", "reverse with a beeping alarm")),
        ("motorcycle", ("roar past", "rev", "accelerate", "speed by", "idle")),
        ("bus", ("pull away", "drive past", "idle", "brake with a hiss")),
        ("train", ("pass", "rumble along the tracks", "sound a horn", "approach",
                   "clatter over the rails", "screech to a stop")),
        ("airplane", ("fly overhead", "take off", "pass overhead", "roar overhead")),
        ("helicopter", ("hover overhead", "fly over", "pass overhead")),
        ("tram", ("rattle past", "ring a bell", "squeal around a corner")),
        ("ambulance", ("pass by", "speed past")),
        ("scooter", ("buzz past", "putter along")),
        ("boat", ("motor past", "chug across the water")),
        ("subway train", ("screech into the station", "rumble past")),
    ),
    "machine": (
        ("engine", ("idle", "rev", "hum", "start up", "sputter", "roar", "rumble")),
        ("generator", ("hum", "drone", "run")),
        ("drill", ("whir", "buzz", "screech")),
        ("jackhammer", ("pound", "rattle")),
        ("chainsaw", ("buzz", "roar", "cut through wood")),
        ("lawn mower", ("run", "roar", "drone")),
        ("leaf blower", ("roar", "whine")),
        ("fan", ("whir", "hum", "spin")),
        ("air conditioner", ("hum", "rattle")),
        ("machine", ("beep", "whir", "clank", "hum", "rattle", "grind")),
        ("printer", ("whir", "print")),
        ("motor", ("whine", "hum", "buzz")),
        ("compressor", ("hiss", "hum")),
        ("conveyor belt", ("rattle", "clank")),
        ("power saw", ("whine", "screech", "cut through wood")),
    ),
    "weather": (
        ("rain", ("fall", "patter on a roof", "pour down", "fall steadily",
                  "drum on a tin roof", "tap against a window", "fall on leaves")),
        ("wind", ("blow", "howl", "whistle", "gust", "rustle the leaves",
                  "whistle through the trees", "blow through the grass")),
        ("thunder", ("rumble", "crack", "roll")),
        ("hail", ("clatter on a roof", "fall")),
        ("storm", ("rage", "pass overhead")),
        ("breeze", ("rustle the leaves", "blow")),
    ),
    "water": (
        ("stream", ("babble", "gurgle", "flow over rocks", "trickle")),
        ("river", ("rush", "flow", "flow gently")),
        ("waterfall", ("roar", "splash", "pour down")),
        ("waves", ("crash on the shore", "lap gently", "roll ashore", "break on the rocks",
                   "wash over pebbles")),
        ("water", ("flow", "trickle", "splash", "gurgle", "drip", "bubble")),
        ("fountain", ("splash", "bubble", "gurgle")),
        ("creek", ("babble", "trickle")),
    ),
    "domestic": (
        ("clock", ("tick", "chime")),
        ("phone", ("ring", "buzz", "vibrate on a table", "beep")),
        ("kettle", ("boil", "whistle", "rumble")),
        ("microwave", ("hum", "beep")),
        ("refrigerator", ("hum", "buzz")),
        ("doorbell", ("ring", "chime")),
        ("door", ("creak", "slam", "squeak", "open", "close", "creak open", "slam shut")),
        ("faucet", ("drip", "run")),
        ("toilet", ("flush",)),
        ("fire", ("crackle", "pop", "hiss")),
        ("washing machine", ("spin", "rumble", "hum")),
        ("vacuum cleaner", ("whine", "run", "hum")),
        ("dishwasher", ("run", "hum", "swish")),
        ("wind chime", ("tinkle", "jingle", "chime")),
        ("dishes", ("clatter", "clink")),
        ("glasses", ("clink",)),
        ("keys", ("jingle", "rattle")),
        ("coins", ("clink", "jingle", "fall onto a table")),
        ("pan", ("sizzle",)),
        ("pot", ("bubble", "boil")),
        ("floorboards", ("creak",)),
        ("alarm clock", ("ring", "beep", "buzz")),
        ("blender", ("whir", "roar")),
        ("food", ("sizzle in a pan", "fry in hot oil")),
        ("paper", ("rustle", "crinkle")),
        ("radio", ("play quietly", "crackle")),
        ("television", ("play in another room", "murmur")),
    ),
    "urban": (
        ("siren", ("wail", "blare", "sound")),
        ("car horn", ("honk", "beep", "blare")),
        ("church bell", ("ring", "toll", "chime")),
        ("bells", ("ring", "chime", "peal")),
        ("alarm", ("beep", "ring", "sound", "blare")),
        ("traffic", ("hum", "roar", "rumble", "pass by", "flow steadily")),
        ("skateboard", ("roll past", "clatter on concrete")),
        ("shopping cart", ("rattle",)),
        ("footsteps", ("echo", "echo in a hallway", "crunch on gravel", "approach",
                       "fade away", "clack on a tiled floor", "tap on the pavement")),
        ("people", ("talk", "chatter", "laugh", "walk by", "talk quietly", "murmur")),
        ("crosswalk signal", ("beep", "chirp")),
        ("bicycle bell", ("ring", "ding")),
        ("street performer", ("sing", "play a guitar", "play a trumpet")),
        ("announcer", ("speak over a loudspeaker", "make an announcement")),
    ),
    "public_indoor": (
        ("escalator", ("hum", "rumble")),
        ("elevator", ("ding", "hum")),
        ("ticket machine", ("beep", "whir")),
        ("turnstile", ("click", "clank")),
        ("hand dryer", ("roar", "blow")),
        ("coffee machine", ("hiss", "grind", "gurgle")),
    ),
    "instrument": (
        ("piano", ("play a slow melody", "play softly", "play a cheerful tune", "play chords")),
        ("guitar", ("play a melody", "strum softly", "play a simple tune")),
        ("acoustic guitar", ("play softly", "play a folk tune")),
        ("violin", ("play a sad melody", "play", "play a long note")),
        ("cello", ("play a low melody", "play")),
        ("flute", ("play a gentle tune", "play")),
        ("trumpet", ("blare", "play a fanfare", "play")),
        ("saxophone", ("play a jazz tune", "play")),
        ("drum", ("beat steadily", "pound")),
        ("harmonica", ("play a bluesy tune", "wail")),
        ("accordion", ("play a waltz", "wheeze")),
        ("organ", ("play a hymn", "drone")),
        ("harp", ("play softly",)),
        ("music box", ("play a lullaby", "tinkle")),
        ("band", ("play", "play a lively song", "warm up")),
        ("orchestra", ("tune up", "play", "play a slow piece")),
        ("music", ("play softly", "play quietly", "play loudly")),
    ),
}

# Sources without a singular article ("rain falls") or without a singular ("footsteps echo").
AUDIO_UNCOUNTABLE = ("rain", "wind", "thunder", "hail", "water", "traffic", "fire", "someone",
                     "music", "food", "paper")
AUDIO_PLURAL_ONLY = ("waves", "dishes", "glasses", "keys", "coins", "footsteps", "people",
                     "floorboards", "bells")
# Categories whose sources may be counted ("two dogs bark").
AUDIO_COUNTABLE_CATEGORIES = ("pet", "farm", "wild", "bird", "insect", "person", "vehicle")

# Where a category's sounds happen (keys of AUDIO_PLACES).
AUDIO_ENVIRONMENTS = {
    "pet": ("home", "street", "nature"), "farm": ("farm",), "wild": ("nature",),
    "bird": ("nature", "street", "farm", "water"), "insect": ("nature", "farm"),
    "person": ("home", "street", "venue", "transport", "nature", "water"),
    "speaker": ("venue",), "someone_home": ("home",), "someone_outdoor": ("street", "nature"),
    "someone_work": ("industrial",), "crowd": ("venue", "street", "transport"),
    "vehicle": ("street", "transport"), "machine": ("industrial",),
    "weather": ("nature", "street", "farm", "water", "home"), "water": ("nature", "water"),
    "domestic": ("home",), "urban": ("street", "transport"),
    "public_indoor": ("transport", "venue"),
    "instrument": ("venue", "home", "street"),
}
AUDIO_PLACES = {
    "home": ("in a kitchen", "in a small room", "in a living room", "in a quiet apartment",
             "in a bathroom", "indoors", "in a hallway", "in the next room", "in a bedroom"),
    "street": ("on a busy street", "in a city square", "on a sidewalk", "at a street corner",
               "in the city", "at an intersection", "in a narrow alley", "in a quiet park",
               "in a residential area", "outdoors"),
    "nature": ("in a forest", "in a quiet park", "in a meadow", "outdoors",
               "in the countryside", "in a garden", "by a lake", "in the woods",
               "in a backyard", "in an open field"),
    "farm": ("on a farm", "in a barn", "in a field", "in a farmyard", "outdoors",
             "in the countryside"),
    "industrial": ("in a workshop", "in a garage", "in a factory", "at a construction site",
                   "in a basement", "in a warehouse", "in a shed"),
    "venue": ("in a large hall", "in a church", "in a concert hall", "in an auditorium",
              "in a cafe", "in a restaurant", "in a gym", "in a classroom", "in a stairwell",
              "in a lecture hall"),
    "transport": ("at a train station", "on a train platform", "at a bus stop",
                  "in a parking garage", "in a tunnel", "near a highway", "at an airport",
                  "inside a car", "on a bus", "inside a train", "on a bridge"),
    "water": ("at the beach", "by the sea", "near a waterfall", "by a river", "at a harbor",
              "on a boat", "near a stream", "on a pier"),
}
# Qualifiers that fit any sound.
ACOUSTIC_QUALIFIERS = ("in the distance", "close to the microphone", "nearby", "far away",
                       "with a slight echo", "with a strong echo", "right next to the microphone",
                       "from another room", "in the background", "at a low volume")
AUDIO_ADVERBS_AFTER = ("repeatedly", "loudly", "softly", "quietly", "steadily",
                       "intermittently", "continuously", "rhythmically", "briefly", "constantly",
                       "faintly", "again and again", "several times", "nonstop", "in bursts")
AUDIO_ADVERBS_BEFORE = ("suddenly", "occasionally", "softly", "gently", "briefly", "constantly",
                        "repeatedly", "loudly", "quietly", "faintly")
AUDIO_DURATIONS = ("for a few seconds", "throughout the recording", "over and over",
                   "at a steady pace", "for a long time", "in short bursts", "for a while",
                   "without stopping", "from start to finish", "every few seconds")

# ---------------------------------------------------------------------------
# Edit instructions (style transfer).
# ---------------------------------------------------------------------------

ART_MOVEMENTS = (
    "impressionist", "post-impressionist", "cubist", "surrealist", "art nouveau", "art deco",
    "pop art", "baroque", "Renaissance", "expressionist", "pointillist", "ukiyo-e",
    "minimalist", "fauvist", "romantic", "pre-Raphaelite", "Bauhaus", "futurist", "abstract",
    "gothic", "rococo", "constructivist", "Dutch Golden Age", "medieval", "Byzantine",
    "art brut", "psychedelic", "neoclassical", "Victorian", "steampunk", "cyberpunk",
    "vaporwave", "synthwave", "brutalist", "mid-century modern", "Scandinavian folk",
    "Japanese sumi-e", "Chinese ink", "Persian miniature", "Celtic", "Mayan",
)
ART_MEDIA = (
    "watercolor painting", "oil painting", "acrylic painting", "gouache painting",
    "charcoal drawing", "pencil sketch", "ink drawing", "pastel drawing", "crayon drawing",
    "chalk drawing", "colored pencil drawing", "pen-and-ink illustration", "linocut print",
    "woodcut print", "screen print", "etching", "stained glass window", "mosaic", "fresco",
    "tapestry", "collage", "paper cutout", "clay sculpture", "marble statue",
    "low-poly 3D render", "claymation still", "graffiti mural", "comic book panel",
    "children's book illustration", "blueprint", "vintage postcard", "travel poster",
    "botanical illustration", "paint-by-numbers canvas", "cross-stitch pattern",
    "embroidered patch", "origami sculpture", "sand painting", "ice sculpture",
    "neon sign", "chalkboard drawing", "storybook illustration", "tattoo design",
    "technical drawing", "cave painting", "Polaroid photo", "daguerreotype", "cyanotype print",
)
# Media a painter could plausibly have worked in ("a watercolor painting by Turner").
PAINTED_MEDIA = ("watercolor painting", "oil painting", "gouache painting", "charcoal drawing",
                 "pencil sketch", "ink drawing", "pastel drawing", "chalk drawing", "etching",
                 "woodcut print", "fresco", "tempera painting", "oil sketch", "study in red chalk")
ART_MEDIA_MASS = ("pixel art", "vector art", "line art", "ASCII art", "embroidery",
                  "stained glass", "clay animation", "papercraft", "knitted wool",
                  "toy building bricks", "sand art", "street art", "concept art", "anime art",
                  "manga art")
DRAWING_TOOLS = ("colored pencils", "a ballpoint pen", "felt-tip markers", "chalk", "charcoal",
                 "crayons", "a fountain pen", "oil pastels", "a fine brush", "spray paint",
                 "a palette knife", "wax crayons", "a quill pen")
EFFECTS = (
    "frost", "a neon glow", "film grain", "lens flare", "motion blur", "soft bokeh",
    "light leaks", "a vignette", "heavy fog", "falling snow", "rain streaks",
    "golden sparkles", "chromatic aberration", "halftone dots", "VHS scan lines",
    "a double exposure", "tilt-shift blur", "cinematic color grading", "god rays",
    "a dreamy haze", "glitch artifacts", "sepia toning", "a soft glow", "moonlight",
    "drifting cherry blossoms", "floating embers", "a rainbow", "volumetric light",
    "crackled paint texture", "paper texture", "canvas texture", "old film scratches",
    "a warm sunset glow", "thick impasto brushstrokes", "bioluminescent light",
    "an ink wash", "a watercolor bleed", "a soft focus", "twinkling stars", "autumn leaves",
)
PALETTES = (
    "pastel", "muted earth-tone", "vibrant neon", "monochrome blue", "warm autumn",
    "teal-and-orange", "black-and-white", "sepia", "pastel rainbow", "jewel-tone",
    "candy-colored", "icy blue", "warm golden", "desaturated", "high-contrast", "duotone pink",
    "forest green", "sunset orange", "three-tone", "faded vintage",
    "cool silver", "deep purple", "earthy ochre", "bright primary", "soft peach",
)
COLOUR_CHANGES = ("warmer", "cooler", "more vibrant", "more muted", "softer", "darker",
                  "brighter", "more saturated", "less saturated", "more dramatic", "moodier",
                  "more pastel", "more golden", "more faded")
LOOKS = ("dreamy, soft-focus", "gritty, grainy", "cinematic", "retro", "futuristic",
         "vintage", "hand-painted", "storybook", "noir", "lo-fi", "ethereal", "sunlit",
         "moody, atmospheric", "crisp, clean", "weathered", "magical", "eerie, haunted",
         "cozy, warm", "minimalist", "surreal", "hand-drawn", "glossy magazine")
SEASONS = ("winter", "spring", "summer", "autumn")
SEASON_SCENES = ("snowy winter", "frosty winter", "rainy autumn", "foggy autumn",
                 "golden autumn", "sunny summer", "hot summer", "misty spring", "bright spring",
                 "blossoming spring", "stormy summer", "quiet winter", "windy autumn")
TIMES_OF_DAY = ("morning", "afternoon", "evening", "night", "dawn", "dusk", "sunset",
                "sunrise", "midnight", "twilight", "day")
TIME_PHRASES = ("at night", "at dawn", "at dusk", "at sunset", "at sunrise", "at midnight",
                "at noon", "during golden hour", "during the blue hour", "at twilight",
                "in the early morning", "on a stormy night", "under a full moon",
                "on a bright afternoon", "late in the evening", "under a starry sky")
ERAS = ("1920s", "1950s", "1970s", "1980s", "1990s", "Victorian-era", "medieval",
        "Wild West", "Art Deco-era", "Edwardian", "early 1900s", "1960s")
ERA_MEDIA = ("photograph", "postcard", "magazine cover", "movie poster", "advertisement",
             "snapshot", "film still", "travel poster", "book cover", "album cover")
NEW_SETTINGS = ("a neon-lit cyberpunk city", "an underwater world", "a misty forest",
                "outer space", "a snowy mountain village", "a desert at sunset",
                "a tropical beach", "a medieval castle", "a futuristic city",
                "an enchanted forest", "a rainy city street", "a field of lavender",
                "a Japanese garden", "the surface of the moon", "a candlelit library",
                "a fairy tale kingdom", "a foggy harbor", "a bustling night market",
                "an abandoned factory", "a cozy cabin in the woods")
GENRES = ("a 1950s sci-fi film", "a film noir movie", "a fairy tale", "a video game",
          "a Western movie", "a horror movie", "a romantic comedy", "an animated movie",
          "a nature documentary", "a fantasy epic", "a spy thriller", "a music video",
          "a silent film", "a children's cartoon", "a space opera")

# Public-domain painters, each with a hallmark of their work.
PAINTERS = (
    ("Van Gogh", "swirling brushstrokes"), ("Monet", "water lily paintings"),
    ("Hokusai", "woodblock prints"), ("Klimt", "golden patterns"),
    ("Turner", "hazy seascapes"), ("Vermeer", "quiet interiors"),
    ("Matisse", "paper cutouts"), ("Cezanne", "still lifes"), ("Rembrandt", "deep shadows"),
    ("Renoir", "sunlit garden scenes"), ("Degas", "pastel studies"),
    ("Seurat", "pointillist dots"), ("Gauguin", "bold tropical colors"),
    ("Munch", "anxious swirling skies"), ("Caravaggio", "dramatic chiaroscuro"),
    ("Botticelli", "graceful tempera panels"), ("Leonardo da Vinci", "soft sfumato"),
    ("Raphael", "balanced compositions"), ("Hiroshige", "landscape prints"),
    ("Bruegel", "crowded village scenes"), ("Hieronymus Bosch", "fantastical creatures"),
    ("Goya", "dark late paintings"), ("Velazquez", "court portraits"),
    ("Kandinsky", "abstract compositions"), ("Mondrian", "primary-color grids"),
    ("Paul Klee", "playful geometric shapes"), ("Toulouse-Lautrec", "cabaret posters"),
    ("Manet", "flat bold figures"), ("Pissarro", "rural boulevards"),
    ("John Singer Sargent", "loose portrait brushwork"), ("Whistler", "misty nocturnes"),
    ("Winslow Homer", "stormy sea paintings"), ("Alphonse Mucha", "art nouveau posters"),
    ("Egon Schiele", "angular figure drawings"), ("Albrecht Durer", "fine engravings"),
    ("El Greco", "elongated figures"), ("John Constable", "cloudy country skies"),
    ("Caspar David Friedrich", "misty romantic landscapes"),
    ("Henri Rousseau", "dreamlike jungles"), ("Modigliani", "elongated portraits"),
    ("Mary Cassatt", "tender domestic scenes"), ("Berthe Morisot", "airy brushwork"),
    ("Alfred Sisley", "riverside landscapes"), ("Jan van Eyck", "jewel-like detail"),
    ("Titian", "rich Venetian color"), ("Rubens", "energetic baroque scenes"),
    ("Utamaro", "elegant portrait prints"), ("William Blake", "visionary watercolors"),
    ("Edward Lear", "nonsense sketches"), ("Arthur Rackham", "fairy tale illustrations"),
)
