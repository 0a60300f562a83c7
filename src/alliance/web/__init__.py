"""The web face, thin over ``alliance.services``: the JSON API under ``/api/v1`` (``api/``),
the server-rendered pages (``pages/``, ``templates/``, ``static/``) and the security headers
(``security.py``), assembled by :func:`alliance.web.app.create_app`."""
