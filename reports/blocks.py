"""The report as blocks (headings, paragraphs, tables, figures) and its two writers.

Markdown: relative image links, ``<details>`` for long JSON. HTML: one self-contained page with
inline CSS and no scripts; figures as relative ``<img>`` links next to the page.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from reports.figures import FigureFile
from reports.format import Table


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Para:
    text: str  # may hold `code` spans


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Image:
    fig: FigureFile


@dataclass
class Code:
    text: str
    summary: str  # shown folded (<details>)


Block = Heading | Para | Bullets | Table | Image | Code


def to_markdown(title: str, blocks: list[Block]) -> str:
    out = [f"# {title}", ""]
    for b in blocks:
        if isinstance(b, Heading):
            out += ["#" * b.level + " " + b.text, ""]
        elif isinstance(b, Para):
            out += [b.text, ""]
        elif isinstance(b, Bullets):
            out += [f"- {i}" for i in b.items] + [""]
        elif isinstance(b, Table):
            out += [f"**{b.title}.** {b.caption}".rstrip(), "", b.to_markdown(), ""]
            out += [f"- {n}" for n in b.notes] + ([""] if b.notes else [])
        elif isinstance(b, Image):
            out += [f"![{b.fig.title}]({b.fig.path.as_posix()})", "", f"*{b.fig.caption}*", ""]
        elif isinstance(b, Code):
            out += ["<details><summary>" + html.escape(b.summary) + "</summary>", "", "```json"]
            out += [b.text, "```", "", "</details>", ""]
    return "\n".join(out).rstrip() + "\n"


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1200px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #444}h2{border-bottom:1px solid #bbb;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em}th{background:#f0f0f0;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}tbody tr:nth-child(even){background:#fafafa}
.caption{font-size:.9em;color:#444}figure{margin:1em 0}img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:.9em;color:#444}code{background:#f3f3f3;padding:0 .2em}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.8em}.notes{font-size:.9em}
"""


def _inline(text: str) -> str:
    """Escape, then `code` -> <code>, **bold** -> <strong>."""
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def to_html(title: str, blocks: list[Block]) -> str:
    body = [f"<h1>{html.escape(title)}</h1>"]
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f'<h{b.level} id="{_anchor(b.text)}">{_inline(b.text)}</h{b.level}>')
        elif isinstance(b, Para):
            body.append(f"<p>{_inline(b.text)}</p>")
        elif isinstance(b, Bullets):
            body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            body.append(
                f'<p class="caption" id="{_anchor(b.key)}"><strong>{html.escape(b.title)}.</strong> '
                f"{_inline(b.caption)}</p>"
            )
            body.append(b.to_html())
            if b.notes:
                body.append(
                    '<ul class="notes">'
                    + "".join(f"<li>{_inline(n)}</li>" for n in b.notes)
                    + "</ul>"
                )
        elif isinstance(b, Image):
            src = html.escape(b.fig.path.as_posix(), quote=True)
            body.append(
                f'<figure><img src="{src}" alt="{html.escape(b.fig.title, quote=True)}">'
                f"<figcaption><strong>{html.escape(b.fig.title)}.</strong> "
                f"{_inline(b.fig.caption)}</figcaption></figure>"
            )
        elif isinstance(b, Code):
            body.append(
                f"<details><summary>{html.escape(b.summary)}</summary>"
                f"<pre>{html.escape(b.text)}</pre></details>"
            )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
