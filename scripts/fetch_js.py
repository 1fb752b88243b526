"""Install the widget-manager JavaScript the published book serves itself (no CDN at read time).

npm fetches requirejs and @jupyter-widgets/html-manager 1.x (the manager for ipywidgets 8)
into _build/npm once; the two files the pages load are copied to _build/static, which
build_book.py stages as the book's _static folder (see nb_ipywidgets_js in _config.yml).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NPM_DIR = ROOT / "_build" / "npm"
STATIC = ROOT / "_build" / "static"
PACKAGES = ["requirejs@2.3.8", "@jupyter-widgets/html-manager@1.0.15"]
FILES = {
    "node_modules/requirejs/require.js": "require.js",
    "node_modules/@jupyter-widgets/html-manager/dist/embed-amd.js": "embed-amd.js",
}


def main() -> int:
    if (
        all((STATIC / name).exists() for name in FILES.values())
        and (STATIC.parent / "widget_fonts").is_dir()
    ):
        return 0
    if shutil.which("npm") is None:
        sys.exit("npm is needed once to fetch the widget JavaScript (install Node.js >= 18)")
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(NPM_DIR), *PACKAGES],
        check=True,
    )
    STATIC.mkdir(parents=True, exist_ok=True)
    for source, name in FILES.items():
        shutil.copy2(NPM_DIR / source, STATIC / name)
    # The widget CSS loads its icon fonts relative to the page, from
    # "@jupyter-widgets/html-manager/dist/"; build_book.py places them there.
    fonts = STATIC.parent / "widget_fonts"
    fonts.mkdir(exist_ok=True)
    dist = NPM_DIR / "node_modules/@jupyter-widgets/html-manager/dist"
    for font in [
        *dist.glob("*.woff2"),
        *dist.glob("*.woff"),
        *dist.glob("*.ttf"),
        *dist.glob("*.eot"),
        *dist.glob("*.svg"),
    ]:
        shutil.copy2(font, fonts / font.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
