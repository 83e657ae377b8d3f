"""Names for the sample county: the real towns, plausible synthetic village names.

The 12 towns and the county seat's four pilot communities carry their real names
(DOMAIN.md). Other villages get names built the way Guanzhong village names are
(surname + 家 + 村/庄/堡/寨/沟/塬, or a direction + a landmark); they are
synthetic, so no real village is misdescribed.
"""

from __future__ import annotations

import numpy as np

COUNTY = ("610322", "凤翔县", "Fengxiang")

# (name_zh, pinyin); the first is the county seat.
TOWNS: tuple[tuple[str, str], ...] = (
    ("城关镇", "Chengguan"),
    ("虢王镇", "Guowang"),
    ("彪角镇", "Biaojiao"),
    ("横水镇", "Hengshui"),
    ("田家庄镇", "Tianjiazhuang"),
    ("糜杆桥镇", "Meiganqiao"),
    ("南指挥镇", "Nanzhihui"),
    ("陈村镇", "Chencun"),
    ("长青镇", "Changqing"),
    ("柳林镇", "Liulin"),
    ("姚家沟镇", "Yaojiagou"),
    ("范家寨镇", "Fanjiazhai"),
)

COMMUNITIES: tuple[tuple[str, str], ...] = (
    ("南环路社区", "Nanhuanlu"),
    ("南大街社区", "Nandajie"),
    ("凤鸣路社区", "Fengminglu"),
    ("东关社区", "Dongguan"),
)

_SURNAMES = (
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
    ("赵", "Zhao"), ("黄", "Huang"), ("周", "Zhou"), ("吴", "Wu"), ("孙", "Sun"), ("马", "Ma"),
    ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"), ("何", "He"), ("高", "Gao"), ("罗", "Luo"),
    ("郑", "Zheng"), ("梁", "Liang"), ("谢", "Xie"), ("宋", "Song"), ("唐", "Tang"), ("韩", "Han"),
    ("冯", "Feng"), ("邓", "Deng"), ("曹", "Cao"), ("彭", "Peng"), ("田", "Tian"), ("董", "Dong"),
    ("袁", "Yuan"), ("潘", "Pan"), ("蒋", "Jiang"), ("蔡", "Cai"), ("杜", "Du"), ("程", "Cheng"),
    ("苏", "Su"), ("魏", "Wei"), ("吕", "Lü"), ("丁", "Ding"), ("任", "Ren"), ("姚", "Yao"),
    ("崔", "Cui"), ("范", "Fan"), ("石", "Shi"), ("贾", "Jia"), ("白", "Bai"), ("孟", "Meng"),
    ("秦", "Qin"), ("薛", "Xue"), ("雷", "Lei"), ("侯", "Hou"), ("史", "Shi"), ("郝", "Hao"),
    ("段", "Duan"), ("尚", "Shang"), ("屈", "Qu"), ("翟", "Zhai"), ("寇", "Kou"), ("党", "Dang"),
)  # fmt: skip
_SUFFIXES = (
    ("家村", "jiacun"), ("家庄", "jiazhuang"), ("家堡", "jiabao"), ("家寨", "jiazhai"),
    ("家沟", "jiagou"), ("家塬", "jiayuan"), ("村", "cun"), ("庄", "zhuang"),
)  # fmt: skip
_PLACES = (
    ("东", "Dong"), ("西", "Xi"), ("南", "Nan"), ("北", "Bei"), ("上", "Shang"), ("下", "Xia"),
    ("前", "Qian"), ("后", "Hou"), ("大", "Da"), ("小", "Xiao"),
)  # fmt: skip
_LANDMARKS = (
    ("坡", "po"), ("头", "tou"), ("街", "jie"), ("河", "he"), ("桥", "qiao"), ("坊", "fang"),
    ("营", "ying"), ("店", "dian"), ("铺", "pu"), ("屯", "tun"),
)  # fmt: skip


def village_names(n: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """``n`` distinct synthetic village names (Chinese, pinyin) plus the suffix 村."""
    pool = [(s + x, p + q) for s, p in _SURNAMES for x, q in _SUFFIXES]
    pool += [(a + b + "村", p + q + "cun") for a, p in _PLACES for b, q in _LANDMARKS]
    order = rng.permutation(len(pool))
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i in order:
        zh, py = pool[i]
        if not zh.endswith("村"):
            zh, py = zh + "村", py + "cun"
        if zh in seen:
            continue
        seen.add(zh)
        out.append((zh, py))
        if len(out) == n:
            return out
    raise ValueError(f"cannot make {n} distinct village names from a pool of {len(pool)}")
