"""The API's refusal of a definition names its rule and carries the Chinese message and hint."""

from __future__ import annotations

import io

from ..api.conftest import (  # noqa: F401  (fixtures)
    _deploy_files, _deployed_template, accounts, app, app_config, client, database_url,
    make_token,
)

NO_START = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
  targetNamespace="x"><bpmn:process id="nostart" isExecutable="true">
  <bpmn:endEvent id="end" /></bpmn:process></bpmn:definitions>"""


def test_a_refused_definition_comes_back_with_its_rule_and_chinese(client, make_token):
    response = client.post("/api/v1/definitions", headers=make_token(("designer",), "fgj"),
                           data={"files": (io.BytesIO(NO_START), "nostart.bpmn")},
                           content_type="multipart/form-data")
    body = response.get_json()
    assert response.status_code == 422 and body["rule"] == "no-start-event"
    assert body["message_zh"] == "流程 'nostart' 没有开始事件。"
    assert body["hint_zh"] == "添加一个开始事件，它才能开始。"
    assert "has no start event" in body["detail"]
