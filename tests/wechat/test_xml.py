"""Parsing pushes: the flat fast path reads exactly what ElementTree reads, and steps aside for
anything else."""

from __future__ import annotations

from xml.etree.ElementTree import ParseError, XMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.wechat.xml import BadMessage, _children, _parse_flat, parse_xml


def _etree(body: bytes) -> dict:
    parser = XMLParser()
    parser.feed(body)
    return _children(parser.close())


TAG = st.sampled_from(["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event"])
# Whitespace XML allows in text that str.strip() removes: the ASCII ones expat keeps as they are
# (no carriage return: expat folds it, so the fast path steps aside) and some Unicode spaces.
SPACE = st.sampled_from([" ", "\t", "\n", "\u3000", "\xa0", "\x85", "\u2028", "\u2003"])
PLAIN = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="<>&\r"), max_size=40
)
TEXT = st.one_of(
    PLAIN,
    st.just(""),
    st.lists(SPACE, min_size=1, max_size=6).map("".join),  # whitespace only
    st.tuples(st.lists(SPACE, max_size=3), PLAIN, st.lists(SPACE, max_size=3)).map(
        lambda parts: "".join(parts[0]) + parts[1] + "".join(parts[2])
    ),
)
# Anything a push could carry, including what XML forbids or expat rewrites, to check that the
# fast path never reads a body ElementTree would read differently or refuse.
ANY_TEXT = st.lists(
    st.one_of(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="<&"),
        st.sampled_from(["]]>", "]]", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x00", "\ufffe", "\uffff", " "]),
    ),
    max_size=12,
).map("".join)


def _field(tag: str, value: str, cdata: bool) -> str:
    return f"<{tag}><![CDATA[{value}]]></{tag}>" if cdata else f"<{tag}>{value}</{tag}>"


def _body(fields: dict[str, tuple[str, bool]], gap: str = "") -> bytes:
    return (
        "<xml>" + gap + gap.join(_field(tag, *value) for tag, value in fields.items()) + gap + "</xml>"
    ).encode()


@given(
    st.dictionaries(TAG, st.tuples(TEXT, st.booleans()), min_size=1, max_size=7),
    st.lists(SPACE.filter(lambda c: c in " \t\n"), max_size=2).map("".join),
)
def test_fast_path_agrees_with_elementtree(fields, gap):
    raw = _body(fields, gap)
    fast = _parse_flat(raw)
    assert fast is not None
    assert fast == _etree(raw)


def _etree_outcome(body: bytes) -> dict | str:
    try:
        return _etree(body)
    except ParseError:
        return "malformed_xml"


def _parse_outcome(body: bytes) -> dict | str:
    try:
        return parse_xml(body)
    except BadMessage as e:
        return e.reason


@given(
    st.dictionaries(TAG, st.tuples(ANY_TEXT, st.booleans()), min_size=1, max_size=4),
    st.sampled_from(["", " ", "\r\n", "\x0b"]),
)
def test_parse_xml_reads_any_flat_body_as_elementtree_does(fields, gap):
    raw = _body(fields, gap)
    assert _parse_outcome(raw) == _etree_outcome(raw)


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><Content>   </Content></xml>",  # the case the property test found: None vs ""
        b"<xml><Content></Content></xml>",
        b"<xml><Content/></xml>",
        b"<xml><Content><![CDATA[]]></Content></xml>",
        b"<xml><Content><![CDATA[  \n  ]]></Content></xml>",
        b"<xml><Content>\t\n</Content></xml>",
        "<xml><Content><![CDATA[\u3000]]></Content></xml>".encode(),
        b"<xml><Content>\r\n</Content></xml>",
    ],
)
def test_whitespace_only_and_empty_fields_read_as_none_on_both_paths(body):
    assert parse_xml(body) == {"Content": None}
    assert _etree(body) == {"Content": None}
    fast = _parse_flat(body)
    assert fast is None or fast == {"Content": None}


def test_whitespace_only_leaf_in_a_nested_field_reads_as_none():
    body = b"<xml><ScanCodeInfo><ScanType> </ScanType><ScanResult></ScanResult></ScanCodeInfo></xml>"
    assert _parse_flat(body) is None
    assert parse_xml(body) == {"ScanCodeInfo": {"ScanType": None, "ScanResult": None}}


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><Content>\x0b</Content></xml>",  # whitespace to str.strip(), forbidden in XML
        b"<xml><Content><![CDATA[\x1c]]></Content></xml>",
        b"<xml>\x0c<Content>x</Content></xml>",
        b"\x0b<xml><Content>x</Content></xml>",
        b"<xml><Content>a\x00b</Content></xml>",
        "<xml><Content>\ufffe</Content></xml>".encode(),
        "<xml><Content>￥\uffff</Content></xml>".encode(),
        b"<xml><Content>a]]>b</Content></xml>",
    ],
)
def test_characters_xml_forbids_are_malformed_on_the_fast_path_too(body):
    assert _parse_flat(body) is None
    with pytest.raises(BadMessage) as caught:
        parse_xml(body)
    assert caught.value.reason == "malformed_xml"


def test_fullwidth_forms_stay_on_the_fast_path():
    body = "<xml><Content>￥１２８０ｘ２</Content></xml>".encode()
    assert _parse_flat(body) == {"Content": "￥１２８０ｘ２"} == _etree(body)


def test_carriage_returns_fold_to_newlines_as_expat_folds_them():
    assert _parse_flat(b"<xml><Content>a\r\nb\rc</Content></xml>") is None
    assert parse_xml(b"<xml><Content>a\r\nb\rc</Content></xml>") == {"Content": "a\nb\nc"}
    assert parse_xml(b"<xml><Content><![CDATA[a\r\nb]]></Content></xml>") == {"Content": "a\nb"}


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
