"""Parsing pushes: the flat fast path reads exactly what ElementTree reads, and steps aside for
anything else."""

from __future__ import annotations

from xml.etree.ElementTree import XMLParser

from hypothesis import given
from hypothesis import strategies as st

from bot.wechat.xml import _children, _parse_flat, parse_xml


def _etree(body: bytes) -> dict:
    parser = XMLParser()
    parser.feed(body)
    return _children(parser.close())


TAG = st.sampled_from(["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event"])
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="<>&\r"), max_size=40
)


@given(st.dictionaries(TAG, st.tuples(TEXT, st.booleans()), min_size=1, max_size=7))
def test_fast_path_agrees_with_elementtree(fields):
    body = (
        "<xml>"
        + "".join(
            f"<{tag}><![CDATA[{value}]]></{tag}>" if cdata else f"<{tag}>{value}</{tag}>"
            for tag, (value, cdata) in fields.items()
        )
        + "</xml>"
    )
    raw = body.encode()
    fast = _parse_flat(raw)
    assert fast is not None
    assert fast == _etree(raw)


def test_fast_path_steps_aside_for_everything_else():
    for body in (
        b"<xml><ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo></xml>",  # nested
        b"<xml><Content>a &amp; b</Content></xml>",  # an entity
        b"<xml><Content><![CDATA[x]]]]><![CDATA[>y]]></Content></xml>",  # "]]>" split
        b"<xml><List>1</List><List>2</List></xml>",  # repeated: a list
        b'<?xml version="1.0"?><xml><A>1</A></xml>',  # a declaration
        b"<xml><A x='1'>1</A></xml>",  # an attribute
        b"<xml><A/></xml>",
    ):
        assert _parse_flat(body) is None
        assert parse_xml(body) == _etree(body)


def test_split_cdata_and_entities_are_read_correctly_through_elementtree():
    assert parse_xml(b"<xml><Content><![CDATA[x]]]]><![CDATA[>y]]></Content></xml>") == {"Content": "x]]>y"}
    assert parse_xml(b"<xml><Content>a &amp; b</Content></xml>") == {"Content": "a & b"}
