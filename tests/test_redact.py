"""halluscope.redact: what counts as a credential, and what must stay untouched."""

from __future__ import annotations

import asyncio

from halluscope.redact import (REDACTED, endpoint_url, is_secret_key, redact_mapping,
                               redact_text, redact_url, register_options, register_secret)


def test_url_userinfo_and_secret_query_values_are_redacted():
    url = "http://user:K3Y@host:8000/v1?api-key=AAA&key=BBB&sig=CCC&access_token=DDD&x=1"
    assert redact_url(url) == (f"http://user:{REDACTED}@host:8000/v1?api-key={REDACTED}"
                               f"&key={REDACTED}&sig={REDACTED}&access_token={REDACTED}&x=1")
    assert redact_url("https://tok123@h/v1") == f"https://{REDACTED}@h/v1"
    assert redact_url("http://localhost:8000/v1") == "http://localhost:8000/v1"
    assert endpoint_url("http://u:p@h:1/v1/?key=1") == "http://h:1/v1"


def test_secret_keys_but_not_token_counts():
    for name in ("Authorization", "api_key", "X-Api-Key", "token", "hf_token", "access-token",
                 "client_secret", "password", "Cookie", "judge_api_key"):
        assert is_secret_key(name), name
    for name in ("max_tokens", "max_completion_tokens", "tokenizer", "input_tokens", "keyword",
                 "judge_base_url", "model", "monkey"):
        assert not is_secret_key(name), name
    doc = {"max_tokens": 512, "default_headers": {"Authorization": "Bearer zz", "X-Trace": "t"},
           "judge_base_url": "http://u:pw99@h/v1", "nested": [{"token": "abc"}]}
    assert redact_mapping(doc) == {
        "max_tokens": 512, "default_headers": {"Authorization": REDACTED, "X-Trace": "t"},
        "judge_base_url": f"http://u:{REDACTED}@h/v1", "nested": [{"token": REDACTED}]}


def test_free_text_known_values_env_and_auth_headers(monkeypatch):
    monkeypatch.setenv("SOME_SERVICE_API_KEY", "envsecret-4242")
    register_secret("registered-9191")
    register_options({"default_headers": {"Authorization": "Bearer hdrtoken-5151"}})
    text = ("failed: envsecret-4242 registered-9191 hdrtoken-5151 "
            "{'authorization': 'Basic dXNlcjpwYXNzd29yZA=='} a basic understanding")
    out = redact_text(text)
    for secret in ("envsecret-4242", "registered-9191", "hdrtoken-5151", "dXNlcjpwYXNzd29yZA=="):
        assert secret not in out
    assert "a basic understanding" in out  # prose is left alone
    assert redact_text("max_tokens=512 tokenizer=x") == "max_tokens=512 tokenizer=x"


def test_cache_key_holds_the_endpoint(monkeypatch):
    """ModelClient.key is the key of query and of every judge (Judge wraps a ModelClient)."""
    from halluscope.adapters.client import ModelClient
    from halluscope.adapters.openai_compat import OpenAICompatible
    from halluscope.adapters.types import Decoding, Message, Request

    request = Request((Message.user("Is there a dog?"),), Decoding())
    keys = {}
    for url in ("http://a.example:8000/v1", "http://b.example:8000/v1",
                "http://user:pw@a.example:8000/v1/?api-key=zz"):
        client = ModelClient(OpenAICompatible("same-name", provider="vllm", base_url=url),
                             cache=None)
        keys[url], doc = asyncio.run(client.key(request))
        assert "pw" not in str(doc) and "zz" not in str(doc)
    # another server: another key; credentials and query: the same server, the same key
    assert keys["http://a.example:8000/v1"] != keys["http://b.example:8000/v1"]
    assert keys["http://a.example:8000/v1"] == keys["http://user:pw@a.example:8000/v1/?api-key=zz"]


def test_an_audit_writes_no_known_secret_a_model_quoted(tmp_path, monkeypatch):
    """A model's answer that quotes the API key in the environment, or a bad line that holds
    it: items.jsonl, results.json, the run sheet and the console show <redacted> (items.jsonl
    and the console did not). A flat POPE file that quotes it is scored line by line, which
    redacts, with the numbers the whole-file path gives without the key."""
    import json

    from typer.testing import CliRunner

    from halluscope.cli import app
    secret = "sk-test-QUOTED-0123456789"
    questions, flat, bad = tmp_path / "q.jsonl", tmp_path / "a.jsonl", tmp_path / "bad.jsonl"
    rows = [{"question_id": i, "image": f"{i // 2}.jpg", "text": "Is there a dog in the image?",
             "label": "yes" if i % 2 else "no"} for i in range(1, 9)]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    flat.write_text("".join(json.dumps({"question_id": r["question_id"], "question": r["text"],
                                        "answer": f"Yes, {secret}" if i == 2 else "No"}) + "\n"
                            for i, r in enumerate(rows)))
    bad.write_text(json.dumps({"question_id": 1, "answer": [secret]}) + "\n")

    def run(name, *inputs):
        res = CliRunner().invoke(app, ["audit", *map(str, inputs), "--metric", "pope",
                                       "--questions", str(questions), "--out",
                                       str(tmp_path / name)])
        sheet = json.loads((tmp_path / name / "runsheet.json").read_text())
        metrics = json.loads((tmp_path / name / "results.json").read_text())["metrics"]
        return res.output, sheet["execution"]["scored"], metrics

    _, how, plain = run("plain", flat)
    assert how == "as columns (whole files)"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    _, how, keyed = run("keyed", flat)
    assert how == "record by record, local engine" and keyed == plain
    output, _, _ = run("bad", flat, bad)
    assert secret not in output and "<redacted>" in output
    for name in ("keyed", "bad"):
        for path in (tmp_path / name).iterdir():
            assert secret not in path.read_text(encoding="utf-8"), path
        assert "<redacted>" in (tmp_path / name / "items.jsonl").read_text()


def test_reports_show_control_and_bidirectional_characters(tmp_path):
    """A NUL byte was written raw into report.html and a right-to-left override reordered
    the text after it on screen; HTML escaping leaves both as they are."""
    import json

    import halluscope
    from halluscope.report.visible import visible_controls
    assert visible_controls("a\x00b\u202ec\td\ne\x1b") == "a\u2400b⟨U+202E⟩c\td\ne\u241b"
    rows = [{"id": "x", "image_id": 1, "caption": "A dog\x00 on a \u202esofa."}]
    inputs = tmp_path / "c.jsonl"
    inputs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"1": ["dog"]}))
    halluscope.audit(inputs, metrics="chair", gt_objects=gt, out=tmp_path / "o")
    html = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert "\x00" not in html and "\u202e" not in html
    assert "⟨U+202E⟩" in html


def test_a_table_under_a_secret_looking_key_is_kept_and_keys_lose_known_secrets(monkeypatch):
    """results.json's group "model:llava-token-merge" became "<redacted>" (its metrics lost),
    and a known secret inside a key stayed in clear text."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-SECRETVALUE12345")
    groups = {"model:llava-token-merge": {"f1": {"value": 0.5}},
              "model:m-sk-SECRETVALUE12345": {"f1": {"value": 0.7}}}
    out = redact_mapping({"groups": groups, "api_key": ["k-1234567890", 3], "token": ""})
    assert out["groups"]["model:llava-token-merge"] == {"f1": {"value": 0.5}}
    assert out["groups"][f"model:m-{REDACTED}"] == {"f1": {"value": 0.7}}
    assert out["api_key"] == [REDACTED, 3] and out["token"] == ""


def test_a_url_whose_password_is_known_loses_its_key_parameter_too():
    """The known password was replaced first, the URL's match stopped at '<', and
    api-key=QKEYX2 stayed in the query run sheet's command line."""
    text = "query --base-url http://user:PASSWORDX1@127.0.0.1:9/v1?api-key=QKEYX2 -o x"
    out = redact_text(text, secrets=["PASSWORDX1"])
    assert "PASSWORDX1" not in out and "QKEYX2" not in out


def test_credential_header_names_ending_in_key_and_the_common_ones():
    """Ocp-Apim-Subscription-Key and x-functions-key were written in clear into the query run
    sheet: only api-key counted as a key. A final word "key" counts now, unless the word before
    it makes it a lookup key; "key" inside a word, token counts and lookup keys stay."""
    for name in ("Ocp-Apim-Subscription-Key", "x-functions-key", "subscription_key",
                 "subscriptionKey", "LICENSE_KEY", "private-key", "x-goog-api-key",
                 "X-Auth-Token", "x-csrf-token", "Set-Cookie", "Proxy-Authorization",
                 "aws_secret_access_key", "db_passphrase", "x-jwt-assertion", "access_keys"):
        assert is_secret_key(name), name
    for name in ("image_key", "sort_keys", "cache_key", "item_key", "pair_key", "public_key",
                 "primary_key", "key", "keys", "keyword", "key_id", "monkey", "hotkey",
                 "turkey", "max_tokens", "prompt_tokens", "tokenizer", "keyframe"):
        assert not is_secret_key(name), name
    secret = "SUBKEY-0123456789abcdef"
    register_options({"default_headers": {"Ocp-Apim-Subscription-Key": secret,
                                          "x-functions-key": secret + "2"}})
    argv = ["query", "-O", f'default_headers={{"Ocp-Apim-Subscription-Key":"{secret}"}}',
            "-O", f'default_headers={{"x-functions-key":"{secret}2"}}']
    assert secret not in str(redact_mapping({"command": argv}))
    doc = {"metadata": {"image_key": "COCO_val2014_000000000042"},
           "default_headers": {"x-functions-key": "fk-0123456789"}}
    assert redact_mapping(doc) == {"metadata": {"image_key": "COCO_val2014_000000000042"},
                                   "default_headers": {"x-functions-key": REDACTED}}


def test_a_password_in_a_url_without_its_scheme_is_redacted():
    """'u:PASS@host/v1' and the typo 'http:/u:PASS@host/v1' kept their password in the usage
    error, items.jsonl's judge_error, results.json and the run sheet."""
    for url in ("u:SECRETPASS99@127.0.0.1:9/v1", "http:/u:SECRETPASS99@127.0.0.1:9/v1"):
        assert "SECRETPASS99" not in redact_url(url) and REDACTED in redact_url(url)
        assert "SECRETPASS99" not in endpoint_url(url)
        assert "SECRETPASS99" not in redact_text(f"cannot reach {url}: connection failed")
        assert "SECRETPASS99" not in str(redact_mapping({"base_url": url, "x": [url]}))
    assert redact_url("u:pw@h:1/v1") == f"u:{REDACTED}@h:1/v1"
    # prose, e-mail addresses, times and ratios are no user info
    for text in ("write to user@example.com", "at 12:30@home", "ratio 3:4@x", "note: a@b"):
        assert redact_text(text) == text
    from halluscope.redact import known_secrets, register_url
    register_url("http:/u:REGISTERED77@h/v1")
    assert "REGISTERED77" in known_secrets()       # cut out of any later message as it is


def test_a_malformed_judge_base_url_is_a_usage_error_that_hides_the_password():
    """audit --option judge_base_url=u:PASS@host ran every item against it (each failing
    with the password in its message); it is refused as --base-url is."""
    import pytest

    from halluscope.config import AuditConfig
    from halluscope.errors import ConfigError
    from halluscope.judges.loading import judge_from_config
    for url in ("u:SECRETPASS98@127.0.0.1:9/v1", "http:/u:SECRETPASS98@127.0.0.1:9/v1"):
        config = AuditConfig(judge="mmhal-gpt-4o-2024-08-06",
                             options={"judge_base_url": url, "offline": True})
        with pytest.raises(ConfigError) as err:
            judge_from_config(config)
        assert "option judge_base_url: expected the server as an http(s) URL" in str(err.value)
        assert "SECRETPASS98" not in str(err.value)


def test_a_secret_variable_set_or_changed_after_a_redaction_is_still_redacted(monkeypatch):
    """known_secrets remembers its answer while the environment stays the same: a variable
    set, changed or removed later must be seen at the next call."""
    from halluscope.redact import known_secrets
    monkeypatch.delenv("LATER_API_KEY", raising=False)
    assert "later-key-123456" not in known_secrets()
    monkeypatch.setenv("LATER_API_KEY", "later-key-123456")
    assert redact_text("uses later-key-123456") == f"uses {REDACTED}"
    monkeypatch.setenv("LATER_API_KEY", "other-key-654321")
    assert "later-key-123456" not in known_secrets()
    assert redact_mapping({"note": "other-key-654321"}) == {"note": REDACTED}
    monkeypatch.delenv("LATER_API_KEY")
    assert "other-key-654321" not in known_secrets()


def test_a_record_value_under_a_credential_name_quoted_in_an_error_is_redacted(tmp_path):
    """A response given as {"api_key": ..., "text": ...} is a bad record; its message quoted the
    dict, key and all, into items.jsonl, results.json and report.html."""
    import json

    import halluscope
    secret = "Zq9secretVALUE77"
    path = tmp_path / "o.jsonl"
    rows = [{"id": "a", "image_id": 1, "response": {"api_key": secret, "text": "A cat."}},
            {"id": "b", "image_id": 1, "response": "A cat.", "metadata": [{"token": secret}]},
            {"id": "c", "image_id": 1, "response": "A cat."}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"1": ["cat"]}), encoding="utf-8")
    result = halluscope.audit(path, metrics=["chair"], n_boot=0, out=tmp_path / "out",
                              gt_objects=gt)
    assert [e["line"] for e in result.errors] == [1, 2]
    assert "'api_key': '<redacted>', 'text': 'A cat.'" in result.errors[0]["message"]
    for name in ("items.jsonl", "results.json", "report.html"):
        assert secret not in (tmp_path / "out" / name).read_text(encoding="utf-8"), name
