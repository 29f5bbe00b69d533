"""What every page shares: the sidebar selection, cached loaders, session-state keys.

A page reads the current selection with :func:`current` (which draws the sidebar
when the page runs on its own, as in tests) and calls the library.
"""

from topoviz.ui.sidebar import Selection, current, render

__all__ = ["Selection", "current", "render"]
