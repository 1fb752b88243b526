"""One figure style for the book: text sizes chosen for the width a figure is shown at.

A figure on a page is shown at most as wide as the article column; a wider one is scaled
down, and its text with it. Text of ``s`` points in a figure ``W`` inches wide (its tight
bounding box, as the inline backend saves it) at ``DPI`` dots per inch is
``s * DPI / 72`` pixels in the image and ``s * DPI / 72 * min(1, COLUMN_PX / (W * DPI))``
pixels on the page. Every figure function of the book is wrapped in :func:`book_figure`,
which draws it under :data:`BOOK_RC` and then raises any text that would be smaller than
:data:`MIN_TEXT_PX` on the page to the size that reaches it. ``tests/browser`` checks that
the column is at least ``COLUMN_PX`` wide at a 1280-pixel window and that no figure is
shown narrower than that; ``tests/book/test_figure_style.py`` checks the text sizes.
"""

from __future__ import annotations

import functools

import matplotlib as mpl
from matplotlib.text import Text

# Matplotlib's default resolution, which the inline backend keeps (its rc is empty).
DPI = 100
# The width a figure is shown at in a chapter at a 1280-pixel window, both sidebars shown (660)
# (measured by tests/browser/test_published_book.py, which fails when it is narrower).
COLUMN_PX = 650
# The smallest text a reader should have to read on the page, in CSS pixels.
MIN_TEXT_PX = 9.0
# A figure drawn for the page: as wide as the column (shown at its own size, never scaled
# down), so that its text keeps the size BOOK_RC gives it (10 pt = 13.9 px, near the caption's).
PAGE_WIDTH_IN = COLUMN_PX / DPI
# What a figure designed for the page reaches without make_readable raising anything: the
# reader check (issue 25) found legends and ticks at the 9 px floor too small to read.
DESIGNED_TEXT_PX = 12.0

BOOK_RC = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "font.size": 10.5,
    "axes.titlesize": 11,
    "axes.labelsize": 10.5,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.framealpha": 0.85,
    "figure.titlesize": 11.5,
}


def rendered_scale(fig) -> float:
    """Page pixels per image pixel: below 1 when the figure is wider than the column."""
    fig.canvas.draw()  # lays the figure out (constrained layout) and makes its tick labels
    renderer = fig.canvas.get_renderer()
    width_in = fig.get_tightbbox(renderer).width + 0.2  # savefig's tight pad, 0.1 in a side
    return min(1.0, COLUMN_PX / (width_in * DPI))


def _texts(fig):
    """Every visible, non-empty text of a figure (tick labels included), drawn first so tick
    labels exist."""
    fig.canvas.draw()
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip() and text.get_figure() is not None:
            yield text


def text_sizes_px(fig) -> list[tuple[float, str]]:
    """(size on the page in pixels, text) of every visible text of ``fig``, smallest first."""
    scale = rendered_scale(fig)
    found = [(t.get_fontsize() * DPI / 72 * scale, t.get_text()) for t in _texts(fig)]
    return sorted(found)


def make_readable(fig, min_px: float = MIN_TEXT_PX):
    """Raise every text of ``fig`` smaller than ``min_px`` on the page to that size.

    Raising text can widen the figure's tight box (a legend outside the axes), so this
    repeats until the sizes hold (a few passes at most). Returns ``fig``.
    """
    for _ in range(4):
        floor_pt = min_px * 72 / (DPI * rendered_scale(fig)) + 1e-6
        small = [t for t in _texts(fig) if t.get_fontsize() < floor_pt]
        if not small:
            return fig
        for ax in fig.axes:  # ticks made later (a redraw, a zoom) copy the axis' settings
            for axis in (ax.xaxis, ax.yaxis):
                labels = axis.get_ticklabels(which="both")
                if labels and min(t.get_fontsize() for t in labels) < floor_pt:
                    axis.set_tick_params(which="both", labelsize=floor_pt)
        for text in small:
            text.set_fontsize(floor_pt)
    return fig


def book_figure(func):
    """Draw ``func``'s figure in the book's style and make its text readable on the page."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with mpl.rc_context(BOOK_RC):
            fig = func(*args, **kwargs)
            return make_readable(fig)

    wrapper.book_figure = True
    return wrapper


__all__ = [
    "BOOK_RC",
    "COLUMN_PX",
    "DESIGNED_TEXT_PX",
    "DPI",
    "MIN_TEXT_PX",
    "PAGE_WIDTH_IN",
    "book_figure",
    "make_readable",
    "rendered_scale",
    "text_sizes_px",
]
