"""The words around product names in a store owner's order: units, separators, filler.

Kept as data so an operator can read what the parser ignores. Everything is matched on the
normalized text (NFKC, lower case) after product names have been masked out, so a filler word
can never eat part of a product name (来 in 来一箱 is filler; nothing in 五粮液 is touched).
"""

from __future__ import annotations

import re

from bot.ordering.interface import Unit

UNITS: dict[str, Unit] = {
    "箱": Unit.CASE, "件": Unit.CASE, "整箱": Unit.CASE, "箱子": Unit.CASE,
    "提": Unit.PACK,
    "瓶": Unit.BOTTLE, "支": Unit.BOTTLE, "个": Unit.BOTTLE, "罐": Unit.BOTTLE, "听": Unit.BOTTLE,
    "盒": Unit.BOTTLE, "桶": Unit.BOTTLE,
}  # fmt: skip
DOZEN = "打"  # 一打 = 12 bottles, said of beer
UNIT_CHARS = "箱件提瓶支个罐听盒桶打"

# Strong separators end one order line; spaces are weak (飞天 2箱 is one line).
SEPARATOR_WORDS = (
    "还有", "再来", "再要", "另外", "以及", "然后", "再加", "加上", "外加", "和", "跟", "加", "及",
)  # fmt: skip
SEPARATOR_CHARS = "，,、；;。！!？?\n/|+&"

# "飞天、普五各两箱": the quantity applies to every product before it that has none.
EACH_WORDS = ("每样各", "每样", "每种", "各要", "各来", "各", "都要", "都来", "都")

# "普五不要了": the product before it is taken off the message, not ordered without a quantity.
NEGATION_WORDS = ("不要了", "不要", "不用了", "不用", "先不要", "别要", "别拿", "取消", "算了", "就不要了")

# Left-over words that name nothing on their own (王子酒 typed as 王子 + 酒, a lone 箱).
EMPTY_WORDS = frozenset({
    "酒", *UNIT_CHARS, "整箱", "箱子", "点", "点儿", "年", "装", "啤", "啤酒",
    # descriptions that add nothing to a name the catalog already found
    "干红", "干白", "葡萄酒", "波尔多", "白啤", "原浆", "瓶装", "罐装", "听装", "礼盒", "礼盒装", "光瓶",
    "酱香", "酱香型", "浓香", "浓香型", "清香", "清香型", "兼香型", "米香型", "凤香型", "高度", "低度",
})  # fmt: skip

# "普五 两箱 不对 三箱": the quantity after a correction replaces the one before it.
CORRECTION_WORDS = ("不对", "不是", "错了", "改为", "改成", "换成", "改一下")

# Filler removed from the leftovers before anything else reads them. Longer words first matters
# only for readability: the regex below sorts by length.
FILLER_WORDS = (
    "你好", "您好", "在吗", "在不在", "在么", "老板", "老铁", "兄弟", "美女", "帅哥", "哥", "姐",
    "谢谢", "多谢", "感谢", "辛苦", "麻烦", "劳驾", "请", "帮我", "帮忙", "给我", "给", "我要", "我们要",
    "我想要", "想要", "我想", "需要", "要", "来", "订", "订货", "下单", "进货", "补货", "拿", "发",
    "一下", "一点", "一些", "一批", "一共", "总共", "共", "先", "的", "了", "好的", "好", "行", "可以",
    "ok", "谢", "看下", "看一下", "这次", "这回", "老样子", "照上次", "店", "我们店", "过来", "数量",
    "备货", "拿货", "调货", "问下", "问一下", "顺便", "也来",
    "早上好", "下午好", "晚上好", "早", "hi", "hello", "在", "我", "我们", "店里", "这边", "那个",
    "这个", "就", "再", "还", "也", "又", "都行", "今天", "明天", "后天", "上午", "下午", "晚上",
    "送", "送货", "送过来", "送到", "尽快", "快点", "急", "急用", "马上", "发货", "安排", "一单",
    "照旧", "还是", "上次", "的话", "照", "按", "样", "是", "有", "没", "老价格", "原价", "价格", "价钱",
    "老规矩",
)  # fmt: skip
# Sentence particles are filler only at the end of a phrase: 哈 in 哈啤 is part of a name.
PARTICLES = ("哈哈", "吧", "啊", "哈", "呀", "呢", "嘛", "哦", "噢", "嗯", "喔", "啦", "吗", "呗", "哇")

# Verbs of ordering that only count as filler right before a number (整两箱, 上三件, 搞一箱).
ORDER_VERBS = ("整", "搞", "弄", "上", "备", "调", "进", "补")

# A question about products (price, stock) is not an order, even when it names one.
QUESTION_WORDS = (
    "什么价格", "什么价位", "什么价", "啥价", "多少钱", "多钱", "几钱", "价格多少", "价钱多少", "报价",
    "怎么卖", "怎么算", "有货吗", "有货没", "有没有", "还有吗", "还有没", "有吗", "卖完", "缺货", "到货没",
    "什么时候有",
)  # fmt: skip
QUESTION_RE = re.compile("|".join(map(re.escape, QUESTION_WORDS)))
# After-sales (broken, returns) is never an order; tracking is not one unless quantities are said.
AFTER_SALES_RE = re.compile(r"破了|碎了|坏了|漏了|漏酒|退货|换货|退款|假酒|投诉")
TRACKING_RE = re.compile(r"到了没|到了吗|到没到|发货了吗|发了没|物流|快递|单号|签收")

# Pinyin typed for a quantity (liang箱, 3jian): the keyboard was left in latin mode.
PINYIN_NUMERALS = {"yi": "一", "liang": "两", "er": "二", "san": "三", "si": "四", "wu": "五", "liu": "六",
                   "qi": "七", "ba": "八", "jiu": "九", "shi": "十"}  # fmt: skip
PINYIN_UNITS = {"xiang": "箱", "jian": "件", "ping": "瓶", "ti": "提", "zhi": "支", "guan": "罐"}

# "1. 飞天2箱" / "2、普五3箱" at the start of a line: list numbering, not a quantity.
LIST_NUMBER_RE = re.compile(r"(?m)^[ \t]*\d{1,2}[ \t]*[.、)][ \t]*(?=\D)")

# Words that say when or how to deliver: kept as notes on the order rather than ignored.
NOTE_RE = re.compile(
    r"(?:今天|明天|后天|上午|下午|晚上|尽快|马上|急)[^，,、；;。！!？?\n]{0,8}?(?:送|发|到)[^\s，,、；;。]*"
)


# "王哥，" / "李总 ": how store owners address the salesman
ADDRESS_RE = r"(?:^|(?<=\s))[\u4e00-\u9fff](?:哥|姐|总|老板|经理|师傅)(?=[\s,，:：]|$)"
# "8代" / "第八代": the packaging generation, the catalog carries the current one
GENERATION_RE = r"第?[\d一二三四五六七八九十]{1,2}代"


def filler_regex() -> re.Pattern[str]:
    all_words = {*FILLER_WORDS, *QUESTION_WORDS}
    words = "|".join(re.escape(w) for w in sorted(all_words, key=len, reverse=True))
    particles = "|".join(re.escape(w) for w in PARTICLES)
    verbs = "|".join(map(re.escape, ORDER_VERBS))
    numerals = "\\d一二两俩三四五六七八九十半"
    return re.compile(
        rf"{ADDRESS_RE}|{GENERATION_RE}|(?:{verbs})(?=\s*[{numerals}])"
        rf"|(?:{particles})+(?![\u4e00-\u9fff])|{words}"
    )
