"""Which quantity and which 53度/1L belong to which product, the way a salesman reads a list.

Within a line (strong separators: ，、；和 还有 newline...) the first thing said sets the order:
"飞天2箱 普五3件" pairs each product with the quantity after it, "2箱飞天 3箱普五" with the one
before it. A product left without one takes the quantity right before it, or across a comma the
one right after it ("飞天，两箱"). "各/每样/都" spreads one quantity over the products before it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bot.ordering.matching import KeyInfo
from bot.ordering.tokens import Each, Quantity, Sep, Spec


@dataclass(slots=True)
class Product:
    text: str
    info: KeyInfo | None  # None: an unknown word in a product's place
    fuzzy: bool = False
    strong: bool = True
    specs: list[Spec] = field(default_factory=list)
    qty: Quantity | None = None
    dropped: bool = False  # a lead-in word folded into the product after it


Item = Product | Quantity | Spec | Sep | Each


def attach_specs(items: list[Item]) -> None:
    """53度 / 1L go to the product they stand next to; "飞天 2箱 43度1箱" starts a new line."""
    i = 0
    while i < len(items):
        item = items[i]
        if isinstance(item, Spec):
            elliptic = _elliptic_line(items, i)
            if elliptic is not None:
                items.insert(i + 1, elliptic)
                i += 1
            else:
                target = _spec_target(items, i)
                if target is not None:
                    target.specs.append(item)
        i += 1


def _elliptic_line(items: list[Item], i: int) -> Product | None:
    """A strength or size between two quantities names a sibling of the product before it."""
    spec = items[i]
    assert isinstance(spec, Spec)
    after = next((it for it in items[i + 1 :] if not isinstance(it, Sep)), None)
    if not isinstance(after, Quantity):
        return None
    said_quantity = False
    for j in range(i - 1, -1, -1):
        it = items[j]
        if isinstance(it, Quantity):
            said_quantity = True
        elif isinstance(it, Product):
            if not said_quantity or it.info is None:
                return None
            return Product(spec.text, it.info, fuzzy=it.fuzzy, strong=True, specs=[spec])
    return None


def _spec_target(items: list[Item], i: int) -> Product | None:
    nxt = items[i + 1] if i + 1 < len(items) else None
    if isinstance(nxt, Product):
        return nxt  # 53度飞天
    for j in range(i - 1, -1, -1):  # 飞天 2箱 53度
        before = items[j]
        if isinstance(before, Sep):
            break
        if isinstance(before, Product):
            return before
    for j in range(i + 1, len(items)):  # 53度 2箱 飞天
        after = items[j]
        if isinstance(after, Sep):
            break
        if isinstance(after, Product):
            return after
    return None


def pair(items: list[Item]) -> None:
    """Give each Product at most one Quantity (``Product.qty``); marks quantities claimed."""
    seq = [it for it in items if isinstance(it, Product | Quantity | Sep)]
    _mark_each(items)
    for segment in _segments(seq):
        core = [it for it in segment if not isinstance(it, Sep)]
        if not core:
            continue
        if isinstance(core[0], Quantity):  # 2箱飞天 3箱普五
            for a, b in itertools.pairwise(core):
                if isinstance(a, Quantity) and isinstance(b, Product) and b.qty is None and not a.claimed:
                    _give(b, a)
        else:  # 飞天2箱 普五3件
            for a, b in itertools.pairwise(core):
                if isinstance(a, Product) and isinstance(b, Quantity) and a.qty is None and not b.claimed:
                    _give(a, b)
        for k, it in enumerate(core):  # leftovers inside the line: the neighbour before, then after
            if isinstance(it, Product) and it.qty is None:
                for near in (core[k - 1] if k else None, core[k + 1] if k + 1 < len(core) else None):
                    if isinstance(near, Quantity) and not near.claimed:
                        _give(it, near)
                        break
    # across a separator: "飞天，两箱" / "两箱，飞天"
    core = [it for it in seq if not isinstance(it, Sep)]
    for k, it in enumerate(core):
        if isinstance(it, Product) and it.qty is None:
            for near in (core[k + 1] if k + 1 < len(core) else None, core[k - 1] if k else None):
                if isinstance(near, Quantity) and not near.claimed:
                    _give(it, near)
                    break
    _spread_each(core)


def _segments(seq: list) -> list[list]:
    out: list[list] = [[]]
    for it in seq:
        if isinstance(it, Sep):
            out.append([])
        else:
            out[-1].append(it)
    return out


def _give(product: Product, qty: Quantity) -> None:
    product.qty = qty
    qty.claimed = True


def _mark_each(items: list[Item]) -> None:
    for i, it in enumerate(items):
        if isinstance(it, Each):
            for nxt in items[i + 1 :]:
                if isinstance(nxt, Quantity):
                    nxt.each = True
                    break
                if isinstance(nxt, Product | Sep):
                    break


def _spread_each(core: list) -> None:
    for k, it in enumerate(core):
        if isinstance(it, Product) and it.qty is not None and it.qty.each:
            for j in range(k - 1, -1, -1):
                prev = core[j]
                if isinstance(prev, Quantity):
                    continue
                if prev.qty is not None:
                    break
                prev.qty = it.qty
