"""An author-year bibliography, to match the author-year citations in the text.

sphinxcontrib-bibtex cites author-year in the text (``bibtex_reference_style:
author_year``), but its formatting styles label the bibliography alphabetically
("[HJL+25]"), so a reader found "[Hsu et al., 2025]" in a chapter and "[HJL+25]" on the
references page. This extension registers the pybtex style ``author_year``: pybtex's
``unsrt`` formatting, sorted by author, year and title, labelled exactly as the text cites
("Hsu et al., 2025"; two authors "Holm and Smith, 1979"; "a", "b" added when two entries
would share a label). ``_config.yml`` selects it with ``bibtex_default_style``.
"""
from __future__ import annotations

from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle

STYLE_NAME = "author_year"


def _last_name(person) -> str:
    return str(Text(*person.rich_last_names)).strip() or str(person).strip("{} ")


def author_year_label(entry) -> str:
    """The label the text uses for an entry: "Hsu et al., 2025"."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last_name(p) for p in people]
    if not names:
        who = entry.fields.get("key") or entry.key
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year_label(e) for e in entries]
        counts, seen = Counter(labels), Counter()
        for label in labels:
            if counts[label] > 1:
                seen[label] += 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabelStyle
    default_sorting_style = SortingStyle


def setup(app):
    register_plugin("pybtex.style.formatting", STYLE_NAME, AuthorYearStyle, force=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
