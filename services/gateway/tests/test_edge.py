"""Rate limits, body size, request ids, security headers, CORS, the merged OpenAPI document,
the docs page and the SPA."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from gateway_support import GOOD_KEY, access_token, bearer, gateway

from pingvas_kit.problems import PROBLEM_JSON


async def test_the_tenant_limit_answers_429_with_retry_after_and_ratelimit_headers(settings):
    settings.rate_limit_tenant = "3/minute"
    token = access_token(tid="tenant-rl")
    async with gateway(settings) as client:
        answers = [await client.get("/api/v1/me", headers=bearer(token)) for _ in range(4)]
        # another user of the same tenant shares its budget; another tenant does not
        same_tenant = await client.get(
            "/api/v1/me", headers=bearer(access_token(sub="u2", tid="tenant-rl"))
        )
        other = await client.get("/api/v1/me", headers=bearer(access_token(tid="tenant-other")))
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[0].headers["ratelimit-limit"] == "3"
    assert answers[0].headers["ratelimit-remaining"] == "2"
    limited = answers[3]
    assert limited.headers["content-type"].startswith(PROBLEM_JSON)
    assert limited.json()["status"] == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["ratelimit-remaining"] == "0"
    assert int(limited.headers["ratelimit-reset"]) <= 60
    assert same_tenant.status_code == 429
    assert other.status_code == 200


async def test_login_is_limited_per_ip_and_email(settings):
    settings.rate_limit_login = "2/minute"
    async with gateway(settings) as client:

        async def login(email: str) -> int:
            response = await client.post("/api/v1/auth/login", json={"email": email})
            return response.status_code

        assert [await login("a@example.com") for _ in range(3)] == [200, 200, 429]
        assert await login("A@Example.com ") == 429  # the same address
        assert await login("b@example.com") == 200


async def test_password_reset_and_anonymous_callers_are_limited_per_ip(settings):
    settings.rate_limit_password_reset = "2/minute"
    settings.rate_limit_anonymous = "3/minute"
    async with gateway(settings) as client:
        # asking for a verification link by address counts in the same bucket
        resets = [
            (await client.post(path, json={})).status_code
            for path in (
                "/api/v1/auth/password-reset",
                "/api/v1/auth/verify-email/request",
                "/api/v1/auth/password-reset",
            )
        ]
        signup = (await client.post("/api/v1/auth/signup", json={})).status_code
        anonymous = (await client.post("/api/v1/auth/signup", json={})).status_code
    assert resets == [200, 200, 429]
    # the two resets that passed count as anonymous requests from this IP too
    assert (signup, anonymous) == (200, 429)


async def test_api_keys_have_their_own_limit(settings):
    settings.rate_limit_api_key = "2/minute"
    async with gateway(settings) as client:
        codes = [
            (await client.get("/api/v1/images", headers=bearer(GOOD_KEY))).status_code
            for _ in range(3)
        ]
    assert codes == [200, 200, 429]


async def test_a_body_over_the_limit_is_a_413_problem(settings):
    settings.max_body_size = 1000
    async with gateway(settings) as client:
        response = await client.post(
            "/api/v1/members", content=b"x" * 1001, headers=bearer(access_token())
        )
        small = await client.post(
            "/api/v1/members", content=b"x" * 1000, headers=bearer(access_token())
        )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert small.status_code == 200


async def test_every_response_has_a_request_id_and_security_headers(client):
    for response in (
        await client.get("/healthz"),
        await client.get("/api/v1/me"),  # a 401
        await client.get("/nowhere.png"),  # a 404
    ):
        assert len(response.headers["x-request-id"]) == 32
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "strict-transport-security" not in response.headers  # plain http
    response = await client.get("/healthz", headers={"x-request-id": "bad id with spaces"})
    assert response.headers["x-request-id"] != "bad id with spaces"


async def test_cors_only_for_configured_origins(settings):
    settings.cors_origins = ["https://app.example.com"]
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-csrf-token",
    }
    async with gateway(settings) as client:
        allowed = await client.options(
            "/api/v1/members", headers={"origin": "https://app.example.com", **preflight}
        )
        refused = await client.options(
            "/api/v1/members", headers={"origin": "https://evil.example", **preflight}
        )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in refused.headers


async def test_no_cors_by_default(client):
    response = await client.get(
        "/api/v1/me", headers={"origin": "https://app.example.com", **bearer(access_token())}
    )
    assert "access-control-allow-origin" not in response.headers


async def test_one_openapi_document_for_every_service(settings):
    settings.upstreams.pop("billing")
    async with gateway(settings) as client:
        response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    # only the public API; nothing internal
    assert set(doc["paths"]) == {"/api/v1/auth/login", "/api/v1/me", "/api/v1/generations"}
    schemas = doc["components"]["schemas"]
    # both services define Problem differently: the later one (by name) is renamed, and
    # its $refs follow
    assert schemas["Problem"]["title"] == "render"
    assert schemas["tenants_Problem"]["title"] == "tenants"
    assert schemas["Me"] == {"type": "object"}
    login = doc["paths"]["/api/v1/auth/login"]["post"]
    assert login["responses"]["200"]["$ref"] == "#/components/schemas/tenants_Problem"
    assert login["security"] == []  # public
    me = doc["paths"]["/api/v1/me"]["get"]
    assert me["parameters"] == []  # the gateway fills in the identity header
    assert "security" not in me
    assert {"accessToken", "apiKey", "sessionCookie"} <= set(doc["components"]["securitySchemes"])
    assert doc["components"]["securitySchemes"]["sessionCookie"]["name"] == "pv_at"
    assert {"accessToken": []} in doc["security"]
    assert doc["info"]["x-pingvas-unavailable"] == ["search"]


class _Page(HTMLParser):
    """The URLs a page loads: scripts, stylesheets, icons, images, frames."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            if values.get("src"):
                self.loads.append(values["src"] or "")
            else:
                self._in_script = True
        elif tag == "link" and values.get("href"):
            self.loads.append(values["href"] or "")
        elif tag in ("img", "iframe", "embed", "source") and values.get("src"):
            self.loads.append(values["src"] or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def _docs_build(root: Path) -> Path:
    dist = root / "dist"
    (dist / "api-docs").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root>spa</div>")
    (dist / "api-docs" / "scalar.js").write_text("window.Scalar = {createApiReference() {}}")
    (dist / "api-docs" / "init.js").write_text("window.Scalar.createApiReference('#x', {})")
    (dist / "api-docs" / "pingvas.css").write_text(":root{}")
    return dist


async def test_the_docs_page_loads_only_same_origin_files_under_a_csp_without_hosts(
    settings, tmp_path
):
    settings.web_dist = _docs_build(tmp_path)
    async with gateway(settings) as client:
        response = await client.get("/api/docs")
        page = _Page()
        page.feed(response.text)
        files = {url: await client.get(url) for url in page.loads if url.startswith("/")}
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    # the viewer mounts on its own element: Scalar's bundle would put a second, empty viewer
    # in front of any element with id="api-reference"
    assert '<div id="pingvas-api-reference">' in response.text
    assert 'id="api-reference"' not in response.text
    assert page.inline_scripts == 0  # script-src 'self' would block them anyway
    assert set(page.loads) == {
        "data:,",
        "/api-docs/pingvas.css",
        "/api-docs/scalar.js",
        "/api-docs/init.js",
    }
    for url, answer in files.items():  # the web build serves them
        assert answer.status_code == 200, url
    csp = response.headers["content-security-policy"]
    directives = dict(d.split(" ", 1) for d in csp.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    for directive, sources in directives.items():
        for source in sources.split():
            # keywords, schemes (data:, blob:) and nothing else: no host, no https:
            assert source.startswith("'") or source in ("data:", "blob:"), (directive, source)


async def test_the_docs_page_without_a_web_build_says_how_to_build_it(settings, tmp_path):
    dist = _docs_build(tmp_path)
    (dist / "api-docs" / "scalar.js").unlink()  # e.g. a build from before the viewer
    settings.web_dist = dist
    async with gateway(settings) as client:
        partial = await client.get("/api/docs")
        settings.web_dist = tmp_path / "nothing"
    async with gateway(settings) as client:
        none = await client.get("/api/docs")
        document = await client.get("/api/openapi.json")
    for response in (partial, none):
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("text/html")
        assert "npm run build" in response.text
        assert "The API reference is not built" in response.text
        assert "API 문서가 빌드되지 않았습니다" in response.text
        assert "<script" not in response.text
    assert document.status_code == 200  # the document itself needs no build


async def test_the_spa_is_served_with_history_fallback(settings, tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root>spa</div>")
    (dist / "assets" / "app-1234.js").write_text("console.log(1)")
    (dist / "favicon.svg").write_text("<svg/>")
    settings.web_dist = dist
    async with gateway(settings) as client:
        home = await client.get("/")
        page = await client.get("/team/members")
        asset = await client.get("/assets/app-1234.js")
        favicon = await client.get("/favicon.svg")
        missing_file = await client.get("/assets/gone.js")
        escape = await client.get("/..%2F..%2Fetc%2Fpasswd")
        api = await client.get("/api/v1/nothing", headers=bearer(access_token()))
        api_root = await client.get("/api")
    for response in (home, page):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "spa" in response.text
        assert response.headers["cache-control"] == "no-cache"
        assert "script-src 'self'" in response.headers["content-security-policy"]
    assert asset.status_code == 200 and asset.text == "console.log(1)"
    assert "immutable" in asset.headers["cache-control"]
    assert favicon.status_code == 200
    assert missing_file.status_code == 404
    assert escape.status_code == 404 or "spa" in escape.text
    assert api.status_code == 404 and api.headers["content-type"].startswith(PROBLEM_JSON)
    assert api_root.status_code == 404


async def test_the_spa_may_show_images_from_the_local_storage_emulator(settings):
    # presigned image URLs point at the storage endpoint; locally that is plain http
    settings.aws_endpoint_url = "http://127.0.0.1:4566"
    async with gateway(settings) as client:
        csp = (await client.get("/healthz")).headers["content-security-policy"]
    img_src = next(d for d in csp.split("; ") if d.startswith("img-src"))
    assert "http://127.0.0.1:4566" in img_src.split() and "https:" in img_src.split()
    assert "connect-src 'self'" in csp  # only images, nothing else, may come from there


async def test_metrics_are_exposed_for_prometheus(client):
    # the chart's ServiceMonitor scrapes this (the Ingress hides it from the internet)
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "process_cpu_seconds_total" in response.text or "python_info" in response.text
