"""附件 through the API: upload a file, start a process with its id in a `file` field, download
it back; refused files are 422 problems; another's file or an unknown id reveal nothing."""

from __future__ import annotations

import io

import pytest

from engine.bpm import definitions

from ..conftest import FIXTURES
from .test_auth import assert_problem

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def deployed(platform, app):
    path = FIXTURES / "engine" / "attachments.bpmn"
    with platform.uow() as uow:
        definitions.deploy_files(uow, [(path.name, path.read_bytes())], "designer")


def upload(client, headers, name, data, field="papers"):
    return client.post("/api/v1/attachments", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name), "field": field})


def test_an_uploaded_file_goes_on_a_start_form_and_downloads_back(
        client, deployed, specialist, make_token):
    sent = upload(client, specialist, "../../用地预审意见.pdf", PDF)
    assert sent.status_code == 201, sent.get_json()
    body = sent.get_json()
    assert (body["filename"], body["size"], body["content_type"]) == (
        "用地预审意见.pdf", len(PDF), "application/pdf")
    # Not bound yet: nobody can download it, not even its uploader.
    assert_problem(client.get(f"/api/v1/attachments/{body['id']}", headers=specialist), 404)
    started = client.post("/api/v1/instances", headers=specialist, json={
        "process_key": "attachments", "data": {"title": "报送", "papers": [body["id"]]}})
    assert started.status_code == 201, started.get_json()
    got = client.get(f"/api/v1/attachments/{body['id']}", headers=specialist)
    assert got.status_code == 200 and got.get_data() == PDF
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.mimetype == "application/pdf"
    # A township that may not read the instance gets 404, as for an unknown id.
    township = make_token(("township_head",), "t_magedang")
    assert_problem(client.get(f"/api/v1/attachments/{body['id']}", headers=township), 404)
    assert_problem(client.get("/api/v1/attachments/no-such-id", headers=specialist), 404)
    # Used once: a second start with the same id is refused at the field.
    again = client.post("/api/v1/instances", headers=specialist, json={
        "process_key": "attachments", "data": {"title": "报送", "papers": [body["id"]]}})
    assert "papers" in assert_problem(again, 422)["errors"]


def test_refused_uploads_are_422_problems_and_anothers_file_cannot_be_used(
        client, deployed, specialist, make_token):
    assert "file" in assert_problem(upload(client, specialist, "发票.pdf", b"MZ\x90\x00" * 20),
                                    422)["errors"]
    assert "file" in assert_problem(upload(client, specialist, "图.png", b"<html></html>"),
                                    422)["errors"]
    other = make_token(("specialist",), "fgj", name="other-system")
    theirs = upload(client, other, "a.pdf", PDF).get_json()["id"]
    # The token's actor is its own (api:…): another system's upload is not the caller's.
    started = client.post("/api/v1/instances", headers=specialist, json={
        "process_key": "attachments", "data": {"title": "报送", "papers": [theirs]}})
    assert "papers" in assert_problem(started, 422)["errors"]
