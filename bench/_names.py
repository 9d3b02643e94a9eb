"""The ``--variants``/``--only`` argument of the result scripts: a comma list of known names, or ``all``."""
from __future__ import annotations

from collections.abc import Iterable


def chosen(text: str, known: Iterable[str], flag: str = "--variants") -> list[str]:
    """The names ``text`` lists (``all``: every known one, in order); exits naming the unknown ones."""
    known = list(known)
    names = known if text == "all" else text.split(",")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"{flag}: unknown {unknown}; choose from {', '.join(known)}")
    return names
