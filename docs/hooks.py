"""MkDocs hooks: the site loads nothing from the internet.

- plotly.js is written into the built site from the installed ``plotly`` package (the one
  that drew the figures), and loaded in the ``<head>`` of the pages that hold a figure, before
  the figures' own scripts run. The figure snippets under ``docs/figures/`` carry no plotly.js.
- MathJax is the single bundled file ``javascripts/mathjax/tex-svg.js`` of the npm package
  ``mathjax`` 3.2.2 (SVG output: its fonts are inside the file), listed in ``mkdocs.yml``.
- A page that still loads a script or style sheet from another host fails the build.
"""

import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.utils import get_relative_url

PLOTLY_JS = 'javascripts/plotly.min.js'
_FIGURE = 'class="plotly-graph-div"'
_EXTERNAL = re.compile(r'<(?:script|link)\b[^>]*\b(?:src|href)="(?:https?:)?//[^"]*"[^>]*>')


def on_post_page(output, page, config):
    """Load the local plotly.js on pages with figures; refuse external scripts and styles."""
    external = [tag for tag in _EXTERNAL.findall(output) if 'rel="canonical"' not in tag]
    if external:
        raise PluginError(f'{page.file.src_uri} loads from the internet: {external[0]}')

    if _FIGURE in output:
        url = get_relative_url(PLOTLY_JS, page.url)
        output = output.replace('</head>', f'<script src="{url}"></script>\n</head>', 1)

    return output


def on_post_build(config):
    """Write plotly.js from the installed plotly package into the site."""
    from plotly.offline import get_plotlyjs

    path = Path(config['site_dir']) / PLOTLY_JS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(get_plotlyjs(), encoding='utf-8')
