"""The API's interactive documentation (Swagger UI) from files this server holds: the
assets of the swagger-ui-bundle-v2 distribution (Swagger UI 5, which reads OpenAPI 3.1) under
/static/swagger-ui/ and a start-up script of our own, so the strict Content-Security-Policy
(scripts and styles from this server only, nothing inline) holds on the docs page too.
FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script, which
that policy blocks (a blank page)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

ASSETS = "/static/swagger-ui"
router = APIRouter(include_in_schema=False)

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>alliance API — documentation</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
</head>
<body>
<main id="swagger-ui"></main>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
def api_docs() -> HTMLResponse:
    return HTMLResponse(PAGE)


def mount_assets(app: FastAPI) -> None:
    """Serve Swagger UI's files (before the site's own /static, which would answer 404)."""
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")
