"""接收渠道 pages (issue 19): add a robot or an address, bad input refused at its field."""

from __future__ import annotations


def test_a_user_adds_a_dingtalk_robot_and_sees_it_without_its_token(client, auth):
    auth.login()
    assert 'id="to-channels"' in client.get("/notifications/").get_data(as_text=True)
    page = client.get("/me/channels/").get_data(as_text=True)
    assert "钉钉群机器人" in page and "电子邮件" not in page.split('id="kind"')[1].split("</select>")[0]
    added = auth.post("/me/channels/", {
        "kind": "dingtalk", "target": "https://1.1.1.1/robot/send?access_token=abcdef123",
        "secret": "SECabc", "kinds": ["assigned", "reminder"]}, page="/me/channels/")
    assert added.status_code == 302
    html = client.get("/me/channels/").get_data(as_text=True)
    assert "access_token=…" in html and "abcdef123" not in html and "SECabc" not in html
    assert "已加签" in html and "新待办、催办" in html


def test_a_private_address_and_no_kinds_are_refused_at_their_fields(client, auth):
    auth.login()
    refused = auth.post("/me/channels/", {"kind": "wecom", "target": "http://192.168.1.9/x"},
                        page="/me/channels/")
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'id="field-target"' in html and "机器人地址不可用" in html
    assert 'id="field-kinds"' in html and "请至少选择一类消息" in html
    assert "还没有设置" in html  # nothing was saved
