"""Language: chosen by ?lang=, then the user's saved choice, then the browser; Chinese and English."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Flask, request, session
from flask_babel import get_locale

from web.extensions import babel

LOCALES = ("zh", "en")


def select_locale() -> str:
    wanted = request.args.get("lang")
    if wanted in LOCALES:
        session["lang"] = wanted
        return wanted
    if session.get("lang") in LOCALES:
        return str(session["lang"])
    return request.accept_languages.best_match(LOCALES) or "zh"


def current_locale() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "zh"


def loc(obj: Any, field: str) -> str:
    """The viewer's language version of a bilingual field, falling back to the other language."""
    if isinstance(obj, dict):
        zh, en = obj.get(f"{field}_zh"), obj.get(f"{field}_en")
    else:
        zh, en = getattr(obj, f"{field}_zh", None), getattr(obj, f"{field}_en", None)
    first, second = (zh, en) if current_locale() == "zh" else (en, zh)
    return str(first or second or "")


def url_in(language: str) -> str:
    """This page's address in another language, keeping its query (a search, a filter, a page)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [language]
    return "?" + urlencode(args, doseq=True)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    app.jinja_env.globals.update(loc=loc, current_locale=current_locale, LOCALES=LOCALES, url_in=url_in)
