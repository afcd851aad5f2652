"""Chinese and Japanese descriptions: the English words a slug is made of when the name is written
in Chinese characters (which have no reading without a dictionary): "一个叫“小芽”的植物浇水记录应用"
-> ``plants-watering-log``. Kana names need none of this: "さくら" reads ``sakura``.
"""

from __future__ import annotations

from appforge.agent.planners.plan_words import plan_words

#: Words of Chinese and Japanese descriptions, and what they are in a URL. Longer words first
#: where they overlap, so "咖啡店" is a coffee shop and not coffee and a shop.
SLUG_WORDS: dict[str, str] = {
    "咖啡店": "coffee-shop", "咖啡": "coffee", "カフェ": "cafe", "コーヒー": "coffee",
    "喫茶": "cafe", "面包": "bakery", "麵包": "bakery", "パン": "bakery", "餐厅": "restaurant",
    "餐廳": "restaurant", "レストラン": "restaurant", "植物": "plants", "浇水": "watering",
    "花": "flowers", "猫": "cats", "狗": "dogs", "犬": "dogs", "照片": "photos", "写真": "photos",
    "相册": "album", "画廊": "gallery", "ギャラリー": "gallery", "ポートフォリオ": "portfolio",
    "待办": "todo", "任务": "tasks", "タスク": "tasks", "清单": "list", "リスト": "list",
    "读书": "reading", "読書": "reading", "书": "books", "本": "books", "记录": "log",
    "記録": "log", "记账": "expenses", "支出": "expenses", "家計簿": "budget", "食谱": "recipes",
    "レシピ": "recipes", "健身": "fitness", "瑜伽": "yoga", "ヨガ": "yoga", "音乐": "music",
    "音楽": "music", "旅行": "travel", "婚礼": "wedding", "結婚式": "wedding", "学校": "school",
    "店名": "", "お菓子": "sweets", "菓子": "sweets", "甜品": "desserts", "ラーメン": "ramen",
    "寿司": "sushi", "花屋": "florist", "花店": "florist", "书店": "bookshop", "書店": "bookshop",
    "本屋": "bookshop", "跑步": "running", "ランニング": "running", "ウェブサイト": "site",
    "サイト": "site", "美容院": "salon", "美容室": "salon", "宠物": "pets", "ペット": "pets",
    "日记": "journal", "日記": "journal", "店": "shop", "屋": "shop", "落地页": "", "ホームページ": "", "应用": "", "アプリ": "", "网站": "site",
}
_ORDERED = sorted(SLUG_WORDS, key=len, reverse=True)


def slug_words(text: str, limit: int = 3) -> str:
    """The English words for what a Chinese or Japanese description is about, in the order they
    come ("plants-watering-log"), or "" when none is known."""
    found: list[tuple[int, str]] = []
    taken = [False] * len(text)
    for word in _ORDERED:
        start = text.find(word)
        while start != -1:
            if not any(taken[start:start + len(word)]):
                taken[start:start + len(word)] = [True] * len(word)
                if SLUG_WORDS[word]:
                    found.append((start, SLUG_WORDS[word]))
            start = text.find(word, start + 1)
    words = list(dict.fromkeys(english for _, english in sorted(found)))
    return "-".join(words[:limit])


def cjk_name(phrase: str, language: str) -> str:
    """A name made from a Chinese or Japanese description, without its lead-in words:
    "一个记账应用" -> "记账应用"; other languages' phrases as they are."""
    words = plan_words(language) if language in ("zh", "ja") else None
    fillers = sorted(words["grammar"].get("name_fillers", []) if words else [], key=len,
                     reverse=True)
    changed = True
    while changed and phrase:
        changed = False
        for filler in fillers:
            if phrase.startswith(filler) and len(phrase) > len(filler) + 1:
                phrase, changed = phrase[len(filler):], True
    return phrase
