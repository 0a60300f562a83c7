"""In Debian's Chromium: the API's documentation page renders Swagger UI from this
server's own files under the site's strict Content-Security-Policy, with no violation (it was
blank: the policy blocked Swagger UI from a CDN and its inline start-up script)."""

from __future__ import annotations

import httpx

from tests.web.conftest import Site


def test_the_api_docs_render_under_the_strict_policy(chromium, shared_site: Site) -> None:  # type: ignore[no-untyped-def]
    page_url = f"{shared_site.url}/api/v1/docs"
    answer = httpx.get(page_url)
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "http" not in answer.text.replace(shared_site.url, "")  # nothing from other hosts
    assert "<script>" not in answer.text  # no inline script
    context = chromium.new_context()
    page = context.new_page()
    blocked: list[str] = []
    page.on(
        "console",
        lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.add_init_script(
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.goto(page_url)
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() > 20  # the operations are listed
    assert "alliance" in page.locator(".info .title").inner_text()
    assert page.evaluate("window.__violations") == []
    assert blocked == []
    context.close()
