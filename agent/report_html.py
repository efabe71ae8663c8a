"""The report as one printable HTML page: the Markdown of :func:`agent.report.to_markdown`
rendered by markdown-it-py (CommonMark with tables), with print-friendly styles and nothing
fetched from elsewhere (no fonts, scripts or images), so it opens and prints offline. Raw HTML
in the text is escaped, never passed through.
"""

from __future__ import annotations

import html

from markdown_it import MarkdownIt

STYLE = """
body { font: 11pt/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1a1a1a; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #ccc; padding-bottom: .2rem; margin-top: 1.6rem; }
h3 { font-size: 1.05rem; margin: 1rem 0 .3rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: 10pt; }
th, td { border: 1px solid #bbb; padding: .25rem .45rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
tr { page-break-inside: avoid; }
em { color: #444; }
a { color: #0b57d0; }
@media print {
  body { margin: 0; max-width: none; }
  a { color: inherit; text-decoration: none; }
  a[href^="http"]::after { content: " (" attr(href) ")"; font-size: 8pt; color: #555; }
  h2 { page-break-after: avoid; }
}
"""


def markdown_to_html(markdown: str, title: str) -> str:
    """A whole HTML document for the Markdown text (links kept, raw HTML escaped)."""
    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
    body = renderer.render(markdown)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n{body}</body>\n</html>\n"
    )
