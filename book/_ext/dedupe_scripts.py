"""Drop repeated <script> entries from each page.

sphinx-thebe adds its inline configuration script once per read phase, and Jupyter Book 1.x
runs that phase twice, so every page declared ``const THEBE_JS_URL`` twice: a JavaScript
SyntaxError on every page of the published book.
"""


def _dedupe(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        filename = getattr(script, "filename", script) or ""  # inline scripts have None or ""
        key = (str(filename), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
