"""What an app is about (surf, food, plants, ...), and what follows from that: its usual colours,
the words of its call to action and tagline, its landing-page features and its images.

Copy is templated with ``{name}`` and ``{in_place}`` (" in Ericeira", or nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Feature3 = tuple[tuple[str, str, str], tuple[str, str, str], tuple[str, str, str]]


@dataclass(frozen=True)
class Topic:
    key: str
    words: re.Pattern[str]
    palette: str
    cta: str
    tagline: str
    imagery: str  # what a hero image of this topic shows
    symbol: str  # what its logo shows
    features: Feature3
    #: (pattern, call to action) pairs that beat ``cta`` when the pattern is in the text.
    cta_overrides: tuple[tuple[str, str], ...] = ()


def _words(*alternatives: str, cjk: str = "") -> re.Pattern[str]:
    """Whole words of the Latin alternatives, and the Chinese or Japanese ones anywhere (those
    scripts put no spaces between words)."""
    latin = r"(?<![^\W\d_])(?:" + "|".join(alternatives) + r")(?![^\W\d_])"
    return re.compile(f"{latin}|{cjk}" if cjk else latin, re.IGNORECASE)


GENERIC = Topic(
    "generic", _words("(?!x)x"), "blue", "Get started",
    "Made with care{in_place}, and glad you stopped by.",
    "an abstract composition of soft shapes and gentle gradients", "a simple abstract mark",
    (("Made with care", ("Every detail is considered, so what you get simply works and keeps "
      "working."), "star"),
     ("Easy to reach", ("Find us easily{in_place} and expect a quick, friendly answer to every "
      "message."), "map-pin"),
     ("Here for you", "Questions, ideas or feedback: we read every message, and we reply.",
      "heart")),
)

TOPICS: tuple[Topic, ...] = (
    Topic("surf", _words(r"surf\w*", r"kitesurf\w*", r"bodyboard\w*", r"paddle ?board\w*",
                         "scuba", "diving", "wetsuits?", cjk="冲浪|衝浪|サーフ"),
          "ocean", "Book a lesson",
          "Surf lessons{in_place} for every level, from your very first wave.",
          "surfers riding turquoise waves along a sunny coastline", "a stylised wave",
          (("Lessons for every level", ("Small groups and patient instructors take you from your "
            "first pop-up to confident green waves."), "wave"),
           ("Right by the water", ("We are a short walk from the beach{in_place}, with boards and "
            "wetsuits ready when you arrive."), "map-pin"),
           ("A crew to surf with", ("Sunrise sessions, board swaps and long evenings with people "
            "who love the ocean as much as you do."), "users"))),
    Topic("yoga", _words("yoga", "pilates", "meditation", "mindful\\w*", "wellness", "spa",
                         "massages?", "retreats?", "breathwork", cjk="瑜伽|ヨガ|冥想|瞑想"),
          "purple", "Book a class", "Slow down, breathe and move{in_place}.",
          "a calm, sunlit yoga studio with mats and green plants", "a lotus flower",
          (("Classes for every body", ("Gentle flows and stronger practices, taught with care for "
            "where you are today."), "heart"),
           ("A quiet space", ("A calm, light-filled studio{in_place} where the day can wait for "
            "an hour."), "sun"),
           ("Teachers who listen", ("Small classes mean real attention, adjustments and "
            "encouragement."), "users"))),
    Topic("fitness", _words("gym", "fitness", "workouts?", "trainers?", "crossfit", "running",
                            "runs", "runners?", "boxing", "martial arts", "bootcamp", "cycling",
                            "climbing", "bouldering", "weightlifting", "strength",
                            r"gimnasios?", r"fitnessstudios?", r"palestr[ae]",
                            cjk="健身|ジム|フィットネス"),
          "red", "Start training", "Get stronger{in_place}, one session at a time.",
          "an athlete training in a bright, modern gym", "a dumbbell",
          (("Coaching that fits you", ("A plan built around your goals, your schedule and your "
            "starting point."), "target"),
           ("Classes all week", ("Early, late and weekend sessions{in_place}, so training fits "
            "your life."), "calendar"),
           ("Progress you can see", ("Regular check-ins keep you moving forward and keep you "
            "honest."), "trending-up"))),
    Topic("coffee", _words("coffee", r"roaster(?:y|ies|s)?", "roasting", "espresso",
                           r"baristas?", r"caf[eé]s?", r"coffee ?shops?", r"cafeter[ií]as?",
                           "kaffee", r"kaffeeh[äa]us\\w*", "teahouse", "tea room",
                           cjk="咖啡|カフェ|コーヒー|喫茶"),
          "earthy", "Visit us", "Good coffee and a warm welcome{in_place}.",
          "a steaming cup of coffee beside roasted coffee beans on a wooden counter",
          "a coffee cup",
          (("Roasted with care", ("Beans chosen from farms we know, roasted in small batches "
            "for flavour you can taste."), "star"),
           ("Brewed your way", ("Espresso, filter or something slow: ask and we will make it "
            "just how you like it."), "heart"),
           ("A place to stay a while", ("Comfortable seats, good light and a warm welcome"
            "{in_place}."), "map-pin"))),
    Topic("bakery", _words(r"baker(?:y|ies)", "bread", "sourdough", "patisserie", "pâtisserie",
                           r"pastr(?:y|ies)", r"croissants?", r"panader[ií]as?", r"padarias?",
                           r"boulangeries?", r"b[äa]ckerei(?:en)?", r"panetterias?", r"pasteler[ií]as?",
                           cjk="面包|麵包|パン屋|ベーカリー"),
          "orange", "See what's fresh", "Fresh bread{in_place}, baked every morning.",
          "fresh loaves of crusty bread and pastries on a rustic wooden table in warm light",
          "a wheat ear",
          (("Baked every morning", ("Bread, buns and pastries out of the oven before the doors "
            "open."), "sun"),
           ("Slow dough, real flour", ("Long fermentation and simple ingredients, for bread "
            "that tastes of something."), "leaf"),
           ("Your neighbourhood bakery", "Drop in{in_place}, or order ahead for the weekend.",
            "map-pin"))),
    Topic("food", _words(r"baker(?:y|ies)", "bread", "caf[eé]s?", "coffee", "restaurants?",
                         "bistro", r"pizz\w*", "bar", "pub", "kitchen", "foods?", "catering",
                         "brunch", "tacos?", "sushi", "burgers?", "deli", "patisserie",
                         "pastr(?:y|ies)", "chefs?", "wine", "winery", "brewery", "beer",
                         "ice cream", "gelato", "vegan", "recipes?", "cooking", "meals?",
                         "dinners?", "lunch", "breakfast", "cakes?", "chocolate", "cheese",
                         "food truck", "rezept\\w*", "recetas?", "recettes?",
                         r"restaurantes?", r"ristoranti?", r"gelaterias?", r"trattorias?",
                         r"pizzerias?", r"seafood", r"brasserie", r"taverna",
                         cjk="餐厅|餐廳|饭店|美食|料理|レストラン|食堂"),
          "orange", "See the menu", "Good food, made with care{in_place}.",
          "a rustic wooden table with fresh bread, coffee and pastries in warm morning light",
          "a steaming cup",
          (("Made fresh every day", ("Everything is prepared in small batches each morning from "
            "simple, honest ingredients."), "sun"),
           ("Local ingredients", ("We buy from growers and producers nearby, so the menu follows "
            "the seasons."), "leaf"),
           ("Come as you are", ("A warm, unhurried place to sit down{in_place}, for a quick "
            "coffee or a long lunch."), "heart")),
          ((r"\b(?:restaurants?|bistro|dinners?)\b", "Book a table"),
           (r"\b(?:recipes?|cooking)\b", "Start cooking"))),
    Topic("plants", _words("plants?", r"garden\w*", "flowers?", "florists?", "botanical",
                           "succulents?", "herbs?", "seeds?", "houseplants?", "watering",
                           "greenhouse", "plantas?", "pflanzen?", "plantes?", "piant[ae]",
                           cjk="植物|観葉"),
          "green", "Start growing", "Plants, flowers and good advice{in_place}.",
          "lush potted houseplants on a sunny windowsill", "a simple leaf",
          (("Healthy, happy plants", ("Every plant is grown with care and checked before it goes "
            "home with you."), "leaf"),
           ("Advice that helps", ("Light, water, repotting: ask us anything and get an honest "
            "answer."), "message-circle"),
           ("Grown nearby", ("Sourced from local growers{in_place}, so plants arrive strong and "
            "ready."), "map-pin"))),
    Topic("health", _words("clinics?", "dentists?", "dental", "doctors?", "health", "healthcare",
                           "therapy", "therapists?", r"physio\w*", "medical", "vets?",
                           "veterinary", "pharmacy", r"nutrition\w*", r"psycholog\w*",
                           r"cl[ií]nicas?", r"cliniques?", r"kliniken?", r"praxis", r"dentist\w*",
                           cjk="诊所|牙科|医院|クリニック|歯科"),
          "teal", "Book an appointment", "Friendly, expert care{in_place}.",
          "a calm, bright clinic reception with plants", "a simple heart",
          (("Experienced team", ("Qualified professionals who take the time to listen and "
            "explain."), "shield"),
           ("Appointments that suit you", ("Book online, with early and late slots through the "
            "week."), "calendar"),
           ("Care close to home", "Easy to reach{in_place}, with a calm, welcoming space.",
            "map-pin"))),
    Topic("trades", _words("plumb\\w*", "electricians?", "builders?", "handym[ae]n", "roofers?",
                           "roofing", "carpenters?", "carpentry", "locksmiths?", "cleaning",
                           "cleaners?", "landscaping", "gardeners?", "decorators?", "mechanics?",
                           "repairs?", "renovations?", "movers", "removals"),
          "blue", "Get a quote", "Reliable work{in_place}, done right the first time.",
          "a friendly tradesperson with tools in a bright, tidy home", "a wrench",
          (("Fast, reliable service", ("We turn up when we say we will and get the job done "
            "properly."), "clock"),
           ("Fair, upfront prices", ("A clear quote before we start, with no surprises on the "
            "bill."), "tag"),
           ("Local and trusted", ("Years of work for neighbours{in_place}, and happy to give "
            "references."), "shield"))),
    Topic("travel", _words("travel", "hotels?", "hostels?", "guesthouses?", "b&b",
                           "bed and breakfast", "tours?", "trips?", "holidays?", "vacations?",
                           "camping", "hiking", "adventures?", "resorts?", "cabins?", "villas?",
                           "beach", "islands?", "ocean", "sea", "boats?", "sailing"),
          "ocean", "Book your stay", "A place to rest and explore{in_place}.",
          "a sunlit coastal landscape with a cosy guesthouse", "a compass",
          (("Stay somewhere special", ("Comfortable rooms, good coffee and a view worth waking "
            "up for."), "home"),
           ("Explore the area", ("Walks, beaches and local favourites{in_place}, with tips from "
            "people who live here."), "compass"),
           ("Easy booking", ("Clear prices, flexible dates and a real person if you need "
            "help."), "calendar")),
          ((r"\b(?:tours?|trips?|adventures?|hiking)\b", "Plan your trip"),)),
    Topic("music", _words("music", "musicians?", "bands?", "dj", "concerts?", "gigs?", "songs?",
                          "guitar", "piano", "choir", "orchestra", "singer", "jazz", "vinyl",
                          "podcasts?", r"m[úu]sica", r"musique", r"musik", r"musica",
                          cjk="音乐|音楽|乐队|バンド|ライブ"),
          "purple", "Listen now", "New music, live shows and everything in between.",
          "a stage with warm spotlights and musical instruments", "a music note",
          (("New releases", "Fresh songs and recordings, out now wherever you listen.", "music"),
           ("Live shows", "Upcoming dates{in_place} and beyond. Come and hear it loud.",
            "calendar"),
           ("Behind the music", "Stories, sessions and the people who make it happen.", "mic"))),
    Topic("events", _words("weddings?", "events?", "conferences?", "meetups?", "part(?:y|ies)",
                           "festivals?", "gala", "summit"),
          "pink", "Save your spot", "A day to remember{in_place}.",
          "a beautifully decorated venue with warm string lights", "a confetti burst",
          (("Every detail planned", ("Schedule, venue and the little things, all in one "
            "place."), "calendar"),
           ("A great venue", "A setting{in_place} that makes the day feel special.", "map-pin"),
           ("Good company", "Meet people worth meeting, and leave with stories to tell.",
            "users"))),
    Topic("art", _words("art", "artists?", "artworks?", "paintings?", "painters?",
                        r"illustrat\w+", "designers?", "ceramics?", "pottery", "sculptures?",
                        "photography", "photographers?", "photos?", "portfolio", "gallery",
                        r"arte", r"kunst", r"artistas?", r"k[üu]nstler\w*", r"artistes?",
                        r"pintor\w*", r"peintres?", r"fot[óo]graf\w*", r"photographes?",
                        r"illustrat(?:rice|eur|ora|ore)s?",
                        r"crafts?(?!\s+(?:beers?|brew\w*|coffee|cocktails?|spirits))", "handmade", "jewell?ery"),
          "neutral", "View the work", "Selected work{in_place}, made with patience.",
          "a bright minimalist studio with artwork on white walls", "a single brush stroke",
          (("Selected work", ("A considered collection of recent pieces, each with its "
            "story."), "image"),
           ("Commissions", ("Something made just for you, from first sketch to finished "
            "piece."), "pen-tool"),
           ("Studio visits", "Come and see the work in person{in_place}, by appointment.",
            "map-pin"))),
    Topic("education", _words("schools?", r"tutor\w*", "courses?", "class(?:es)?", "lessons?",
                              "academy", "teachers?", "teaching", r"learn\w*", "languages?",
                              "university", "students?", "kids", "children", "workshops?",
                              r"escuelas?", r"cours", r"kurse?", r"scuol[ae]",
                              r"corsi", r"cursos?", cjk="学校|课程|教室|講座|スクール"),
          "blue", "Enrol now", "Learning that sticks{in_place}, for every age and level.",
          "a bright classroom with books and smiling students", "an open book",
          (("Expert teachers", ("Experienced, friendly teachers who make hard things feel "
            "possible."), "award"),
           ("Small groups", ("More attention for every student, and more time to ask "
            "questions."), "users"),
           ("Flexible schedule", ("Morning, evening and weekend options{in_place} and "
            "online."), "calendar"))),
    Topic("animals", _words("dogs?", "cats?", "pets?", "pupp(?:y|ies)", "kittens?", "grooming",
                            "animals?", "wildlife", "birds?", "horses?", "fox(?:es)?", "owls?",
                            "zoo", "shelter", "rescue", r"veterinari[ao]s?", r"mascotas?",
                            r"tierarzt\w*", r"v[ée]t[ée]rinaires?", cjk="宠物|ペット|动物|動物"),
          "forest", "Get in touch", "Happy animals, and the people who love them{in_place}.",
          "a happy dog and cat in a sunny garden", "a paw print",
          (("Gentle, expert care", "Patient hands and plenty of treats for every visit.",
            "heart"),
           ("Trusted locally", ("Families{in_place} have trusted us with their animals for "
            "years."), "shield"),
           ("Easy to book", "Pick a time online and we'll take it from there.", "calendar"))),
    Topic("books", _words(r"(?<!address )books?", "reading", "library", "authors?", "writers?", "writing",
                          "poetry", "poems?", "novels?", "bookshop", "bookstore", "publisher",
                          "magazine", "blog", "journal"),
          "earthy", "Start reading", "Stories worth your time.",
          "a cosy reading nook with stacks of books in warm light", "an open book",
          (("Hand-picked reads", ("Books chosen by people who read a lot and say what they "
            "think."), "book"),
           ("New every week", "Fresh recommendations and new arrivals, every week.", "star"),
           ("A place for readers", "Readings, clubs and quiet corners{in_place}.", "users"))),
    Topic("finance", _words("expenses?", r"budget\w*", "money", "finances?", "financial",
                            "accounting", "accountants?", "invoices?", "tax(?:es)?",
                            r"bank\w*", "savings", r"invest\w*", "insurance", "mortgages?"),
          "teal", "Get started", "Money matters, made clear.",
          "a tidy desk with a notebook, coins and a calculator, flat illustration", "a coin",
          (("Clear numbers", "Simple summaries that show where things stand at a glance.",
            "bar-chart"),
           ("Honest advice", "Plain answers, no jargon, and no surprises later.", "shield"),
           ("Always on time", ("Reminders and deadlines handled before they become "
            "problems."), "clock"))),
    Topic("productivity", _words("to-?dos?", "tasks?", "notes?", "habits?", "planner",
                                 "projects?", "kanban", "productivity", "checklists?",
                                 "reminders?", "calendar", "schedule"),
          "blue", "Get started", "Get more done, with less fuss.",
          "a tidy desk with a notebook and a cup of coffee, flat illustration",
          "a check mark",
          (("Everything in one place", ("Stop juggling apps: keep it all together and find it "
            "fast."), "inbox"),
           ("Built for focus", "A calm, uncluttered space that helps you do the next thing.",
            "target"),
           ("Works everywhere", "On your phone, your laptop, wherever you are.", "smartphone"))),
    Topic("tech", _words("saas", "startups?", "software", "apis?", "developers?", "devtools?",
                         "cloud", "machine learning", "ai", "analytics", "automation", "crypto",
                         "blockchain", "cybersecurity", "open source", "sdk"),
          "indigo", "Get started", "The simpler way to get work done.",
          "an abstract illustration of connected geometric shapes and soft gradients",
          "an abstract geometric mark",
          (("Set up in minutes", ("Connect your tools and start working, with no long "
            "onboarding."), "zap"),
           ("Secure by default", ("Your data is encrypted, backed up and yours to "
            "export."), "shield"),
           ("Support from people", ("Real engineers answer your questions, usually within the "
            "hour."), "life-buoy"))),
)


#: Words that say how things are shown, not what they are: "a portfolio of foxes" is about foxes.
_CONTAINER_WORDS = re.compile(r"^(?:portfolio|gallery|photos?|photography|pictures?)$", re.IGNORECASE)


def find_topic(text: str) -> Topic:
    """The topic whose words appear first in the text (list order breaks ties).

    A subject ("foxes") beats a container word ("portfolio", "photos") wherever it appears.
    """
    found = [(bool(_CONTAINER_WORDS.match(match.group(0))), match.start(), index)
             for index, topic in enumerate(TOPICS) if (match := topic.words.search(text))]
    return TOPICS[min(found)[2]] if found else GENERIC


def call_to_action(topic: Topic, text: str) -> str:
    for pattern, cta in topic.cta_overrides:
        if re.search(pattern, text, re.IGNORECASE):
            return cta
    return topic.cta
