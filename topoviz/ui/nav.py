"""The app's own navigation: grouped page links at the top of the sidebar.

Streamlit draws its own menu from ``st.navigation``, but on a cold direct link
(``/diagrams?…`` opened first after the server starts) the browser briefly, and on
some pages for good, shows the automatic file-name menu of the ``pages/`` folder
instead. ``app.py`` therefore hides Streamlit's menu (``position="hidden"`` and
``client.showSidebarNavigation = false`` in ``.streamlit/config.toml``) and draws
this one, which is the same on every page and however the page was opened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

KEY = "nav"  # the container's key: CSS class ``st-key-nav`` (the e2e tests find it)


def links(groups: Mapping[str, Sequence[st.Page]]) -> None:
    """Draw one link per page, under its group's name, in the sidebar."""
    with st.sidebar.container(key=KEY):
        for group, pages in groups.items():
            if group:
                st.caption(group.upper())
            for page in pages:
                st.page_link(page, label=page.title, icon=page.icon)
        st.divider()


def run_through_app() -> None:
    """Rerun through ``app.py`` when Streamlit ran a page file on its own.

    The first run after the server starts happens before ``app.py`` has called
    ``st.navigation``; with a ``pages/`` folder beside it, Streamlit then treats
    the app as an old-style (v1) multipage app and, for a direct link such as
    ``/diagrams``, runs ``pages/3_diagrams.py`` alone: no menu, no ``app.py``.
    Clearing Streamlit's v1 flag (what ``st.navigation`` itself does) and
    rerunning runs ``app.py``, which opens the same page with our menu. A page
    file run on its own in a test (``AppTest.from_file("pages/…")``) is not
    affected: there the flag is already false (no ``pages/pages`` folder).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
