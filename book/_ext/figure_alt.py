"""Every figure's alt text is its caption; an uncaptioned output image gets its section's title.

myst-nb gives a notebook output image the file name of the image as its alt text (a hash such
as ``a41f...png``), which a screen reader reads out letter by letter. Here, when a page is
read, each image inside a captioned figure takes the caption's text as its alt text (the
first ``MAX_ALT`` characters, cut at a word), and any other image without a meaningful alt
text is described as a figure of the section it sits in. tests/browser checks that no image
on any page has an empty or hash-like alt text.
"""
import re

from docutils import nodes

MAX_ALT = 300
HASH_LIKE = re.compile(r"^[0-9a-f]{16,}(\.\w+)?$|\.(png|jpe?g|svg|gif)$", re.I)


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_ALT:
        return text
    return text[:MAX_ALT].rsplit(" ", 1)[0] + " …"


def _meaningless(alt: str) -> bool:
    alt = (alt or "").strip()
    return not alt or bool(HASH_LIKE.search(alt)) or alt.startswith("<Figure size")


def _section_title(node: nodes.Node) -> str:
    while node is not None:
        if isinstance(node, nodes.section) and node.children:
            title = node.next_node(nodes.title)
            if title is not None:
                return title.astext()
        node = node.parent
    return ""


def describe_images(doctree: nodes.document, page_title: str = "") -> int:
    """Set the alt text of every image in the doctree; returns the number changed."""
    changed = 0
    for image in list(doctree.findall(nodes.image)):
        figure = image.parent
        while figure is not None and not isinstance(figure, nodes.figure):
            figure = figure.parent
        caption = figure.next_node(nodes.caption) if figure is not None else None
        if caption is not None and caption.astext().strip():
            image["alt"] = _shorten(caption.astext())
            changed += 1
        elif _meaningless(image.get("alt", "")):
            section = _section_title(image) or page_title
            image["alt"] = f"Figure in the section “{section}”" if section else "Figure"
            changed += 1
    return changed


def _doctree_read(app, doctree) -> None:
    describe_images(doctree)


def setup(app):
    app.connect("doctree-read", _doctree_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
