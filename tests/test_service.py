"""The real server on a free port, real HTTP: contract, limits, bad input, batching, back-pressure."""

import concurrent.futures as cf
import json

import httpx
import pytest

from conftest import FIXTURES, SEED


@pytest.fixture(scope="module")
def tiny_server(tiny_model):
    from conftest import Server

    s = Server(tiny_model, max_texts=8, max_chars=500, max_body_bytes=20_000, max_wait_ms=50)
    yield s
    s.stop()


def test_classify_contract(tiny_server):
    r = httpx.post(tiny_server.url + "/v1/classify", json={"texts": ["We deny it.", "Talks are on Monday."]})
    assert r.status_code == 200
    body = r.json()
    assert body["model"] == {"name": "tiny-test", "version": "0.0.1"}
    assert len(body["results"]) == 2
    for res in body["results"]:
        assert set(res["scores"]) == {"conciliatory", "defensive", "accusatory", "neutral"}
        assert abs(sum(res["scores"].values()) - 1) < 1e-4
        assert res["label"] == max(res["scores"], key=res["scores"].get)
        assert "explanation" not in res


def test_explain_returns_words_with_spans(tiny_server):
    text = "We condemn the reckless and illegal blockade."
    r = httpx.post(tiny_server.url + "/v1/classify", json={"texts": [text], "explain": True})
    words = r.json()["results"][0]["explanation"]
    assert words, "at least one word pushed toward the label"
    for w in words:
        assert text[w["start"]:w["end"]] == w["word"] and w["weight"] > 0


def test_model_health_ready_docs(tiny_server):
    m = httpx.get(tiny_server.url + "/v1/model").json()
    assert m["labels"] == ["conciliatory", "defensive", "accusatory", "neutral"] and m["name"] == "tiny-test"
    assert httpx.get(tiny_server.url + "/healthz").json() == {"status": "alive"}
    assert httpx.get(tiny_server.url + "/readyz").json()["status"] == "ready"
    assert "/v1/classify" in httpx.get(tiny_server.url + "/openapi.json").json()["paths"]
    assert httpx.get(tiny_server.url + "/docs").status_code == 200


BAD = [
    ("empty list", {"json": {"texts": []}}, 422, "texts"),
    ("empty text", {"json": {"texts": ["ok", ""]}}, 422, "texts[1]"),
    ("white space", {"json": {"texts": ["  \n\t "]}}, 422, "white space"),
    ("wrong type", {"json": {"texts": "not a list"}}, 422, "texts"),
    ("number in list", {"json": {"texts": [42]}}, 422, "texts.0"),
    ("missing field", {"json": {"text": ["x"]}}, 422, "texts"),
    ("unknown field", {"json": {"texts": ["x"], "foo": 1}}, 422, "foo"),
    ("invalid JSON", {"content": b"{texts: [", "headers": {"content-type": "application/json"}}, 422, "JSON"),
    ("not UTF-8", {"content": b'{"texts": ["\xff\xfe"]}', "headers": {"content-type": "application/json"}},
     400, "UTF-8"),
    ("too many texts", {"json": {"texts": ["x"] * 9}}, 413, "limit is 8"),
    ("text too long", {"json": {"texts": ["x" * 501]}}, 413, "501 characters"),
    ("body too large", {"json": {"texts": ["y" * 30_000]}}, 413, "exceeds"),
]


@pytest.mark.parametrize("name,kwargs,status,needle", BAD, ids=[b[0] for b in BAD])
def test_bad_requests_get_a_clear_4xx(tiny_server, name, kwargs, status, needle):
    r = httpx.post(tiny_server.url + "/v1/classify", **kwargs)
    assert r.status_code == status, r.text
    assert needle in json.dumps(r.json())


def test_long_text_is_scored_by_windows_when_asked(tiny_server):
    r = httpx.post(tiny_server.url + "/v1/classify", json={"texts": ["word " * 200], "allow_long": True})
    assert r.status_code == 200 and r.json()["results"][0]["label"]


def test_documents_rejects_empty_article(tiny_server):
    r = httpx.post(tiny_server.url + "/v1/documents", json={"text": "   "})
    assert r.status_code == 422 and "empty" in r.json()["error"]


def test_web_page_and_static_files_are_served(tiny_server):
    page = httpx.get(tiny_server.url + "/")
    assert page.status_code == 200 and "Stance classifier" in page.text
    assert "fetch(" in httpx.get(tiny_server.url + "/static/app.js").text


def test_concurrent_requests_share_model_calls(tiny_model, server_factory):
    s = server_factory(tiny_model, max_wait_ms=100)
    calls_before = s.metric("stance_model_calls_total")
    texts = [f"Statement number {i} about the talks." for i in range(64)]
    with cf.ThreadPoolExecutor(64) as pool:
        responses = list(pool.map(lambda t: httpx.post(s.url + "/v1/classify", json={"texts": [t]}, timeout=60),
                                  texts))
    assert all(r.status_code == 200 for r in responses)
    calls = s.metric("stance_model_calls_total") - calls_before
    assert 0 < calls < 64, f"64 requests took {calls} model calls"
    assert s.metric('stance_requests_total{method="POST",route="/v1/classify",status="200"}') >= 64
    assert s.metric("stance_batch_texts_count") < 64


def test_full_queue_answers_429_with_retry_after(tiny_model, server_factory):
    s = server_factory(tiny_model, queue_size=4, max_wait_ms=200, max_batch_texts=4)
    body = {"texts": ["A statement to keep the worker busy for a while. " * 6] * 4}
    with cf.ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda _: httpx.post(s.url + "/v1/classify", json=body, timeout=60), range(16)))
    codes = [r.status_code for r in responses]
    assert 429 in codes and 200 in codes, codes
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.headers["retry-after"] == "1" and "queue is full" in limited.json()["error"]


@pytest.mark.slow
def test_seed_statements_over_http(default_model, server_factory):
    s = server_factory(default_model)
    texts = list(SEED)
    r = httpx.post(s.url + "/v1/classify", json={"texts": texts}, timeout=60)
    assert [x["label"] for x in r.json()["results"]] == [SEED[t] for t in texts]


@pytest.mark.slow
def test_seed_article_yields_quotes_with_speakers(default_model, server_factory):
    s = server_factory(default_model)
    article = (FIXTURES / "seed_article.txt").read_text()
    r = httpx.post(s.url + "/v1/documents", json={"text": article, "id": "seed"}, timeout=60)
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == "seed"
    stmts = [x for x in body["statements"] if x["is_statement"]]
    for x in body["statements"]:
        assert article[x["start"]:x["end"]] == x["text"]
    by_text = {x["text"]: x for x in stmts}
    groundless = next(x for t, x in by_text.items() if "groundless accusations" in t)
    assert groundless["speaker"] == "Gao Feng" and groundless["kind"] == "quote"
    assert abs(sum(groundless["scores"].values()) - 1) < 1e-4
    hysteria = next(x for t, x in by_text.items() if "hysteria" in t)
    assert "Ministry of Foreign Affairs" in hysteria["speaker"] and hysteria["label"] == "accusatory"
    consensus = next(x for t, x in by_text.items() if "consensus" in t)
    assert consensus["speaker"] == "Gao Feng" and consensus["label"] == "conciliatory"
    assert any(not x["is_statement"] and x["label"] is None for x in body["statements"])
    skipped = httpx.post(s.url + "/v1/documents", json={"text": article, "skip_non_statements": True}).json()
    assert all(x["is_statement"] for x in skipped["statements"])


@pytest.mark.slow
def test_groundless_quote_in_context_is_defensive(default_model):
    from model import StanceClassifier
    from model.segment import statements

    article = (FIXTURES / "seed_article.txt").read_text()
    quote = next(s.text for s in statements(article) if "groundless accusations" in s.text)
    assert StanceClassifier.from_pretrained(default_model).predict([quote]) == ["defensive"]
