"""The signing functions reproduce the providers' own documented examples."""

from __future__ import annotations

from bot.sms.signing import (
    aliyun_canonical_query,
    aliyun_signature,
    aliyun_string_to_sign,
    percent_encode,
    sha256_hex,
    tc3_authorization,
    tc3_canonical_request,
    tc3_date,
    tc3_signature,
    tc3_string_to_sign,
)

# Aliyun SMS, "HTTP协议及签名" (help.aliyun.com/document_detail/56189): the SendSms example
ALIYUN_SMS_EXAMPLE = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}
ALIYUN_SMS_QUERY = (
    "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001"
    "&RegionId=cn-hangzhou&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95"
    "%E4%B8%93%E7%94%A8&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466"
    "&SignatureVersion=1.0&TemplateCode=SMS_71390007&TemplateParam=%7B%22customer%22%3A%22test%22%7D"
    "&Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25"
)


def test_aliyun_sms_documented_example() -> None:
    assert aliyun_canonical_query(ALIYUN_SMS_EXAMPLE) == ALIYUN_SMS_QUERY
    to_sign = aliyun_string_to_sign(ALIYUN_SMS_EXAMPLE, "GET")
    assert to_sign.startswith("GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26")
    assert "SignName%3D%25E9%2598%25BF" in to_sign  # encoded twice, as documented
    assert aliyun_signature(ALIYUN_SMS_EXAMPLE, "testSecret", "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_aliyun_rpc_documented_example() -> None:
    # the RPC signature page's DescribeRegions example (ECS)
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert aliyun_signature(params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_aliyun_signature_ignores_signature_and_depends_on_everything_else() -> None:
    signed = dict(ALIYUN_SMS_EXAMPLE, Signature="whatever")
    assert aliyun_signature(signed, "testSecret", "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert aliyun_signature(ALIYUN_SMS_EXAMPLE, "testSecret", "POST") != "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert aliyun_signature(dict(ALIYUN_SMS_EXAMPLE, PhoneNumbers="15300000002"), "testSecret") != (
        "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    )


def test_percent_encoding_rules() -> None:
    assert percent_encode("a b*c~d+e/f") == "a%20b%2Ac~d%2Be%2Ff"
    assert percent_encode("派") == "%E6%B4%BE"


# Tencent Cloud API 3.0, "Signature v3": the DescribeInstances example (cvm, 1551113065)
TC_PAYLOAD = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
TC_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"


def test_tencent_tc3_documented_example() -> None:
    assert sha256_hex(TC_PAYLOAD) == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    canonical = tc3_canonical_request(
        TC_PAYLOAD, host="cvm.tencentcloudapi.com", content_type="application/json; charset=utf-8"
    )
    assert canonical == (
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n"
        "content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    to_sign = tc3_string_to_sign(canonical, timestamp=1551113065, service="cvm")
    assert to_sign == (
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    signature = tc3_signature(TC_KEY, date="2019-02-25", service="cvm", string_to_sign=to_sign)
    assert signature == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    header = tc3_authorization(
        TC_PAYLOAD,
        secret_id="AKIDEXAMPLE",
        secret_key=TC_KEY,
        host="cvm.tencentcloudapi.com",
        service="cvm",
        timestamp=1551113065,
        content_type="application/json; charset=utf-8",
    )
    assert header == (
        "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def test_tc3_date_is_utc() -> None:
    # 2019-02-26 00:44:25 in Shanghai is 2019-02-25 in UTC: the documented pitfall
    assert tc3_date(1551113065) == "2019-02-25"
