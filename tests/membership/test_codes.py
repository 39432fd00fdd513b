"""Bottle codes: HMAC-verified without I/O; forged, truncated and tampered text is refused."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.membership import codegen
from bot.membership.codes import CODE_LENGTH, CodeKeys, InvalidCode, extract, make, parse, url

KEYS = CodeKeys(b"k" * 32)
OTHER = CodeKeys(b"z" * 32)
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def test_round_trip_and_lenient_reading():
    code = make(KEYS, 3, 42, 999_999)
    assert len(code) == CODE_LENGTH
    ref = parse(KEYS, code)
    assert (ref.tenant_id, ref.batch_id, ref.serial, ref.code_id) == (3, 42, 999_999, "42:999999")
    assert parse(KEYS, code.lower()) == ref  # case-insensitive
    assert parse(KEYS, f" {code[:16]}-{code[16:]} ") == ref  # spaces and a dash from hand entry
    assert parse(KEYS, code.replace("0", "O")) == ref  # Crockford: O reads as 0
    assert parse(KEYS, code, tenant_id=3) == ref


def test_codes_differ_per_serial_batch_tenant_and_key():
    seen = {make(KEYS, 1, 1, s) for s in range(1, 2001)}
    seen |= {make(KEYS, 2, 1, 1), make(KEYS, 1, 2, 1), make(OTHER, 1, 1, 1)}
    assert len(seen) == 2003


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "format"),
        ("hello", "format"),
        ("0" * 31, "format"),  # truncated
        ("0" * 33, "format"),
        ("U" * 32, "format"),  # not in the alphabet
        ("0" * 32, "version"),
    ],
)
def test_malformed_text_is_refused(text, reason):
    with pytest.raises(InvalidCode) as caught:
        parse(KEYS, text)
    assert caught.value.reason == reason


def test_truncated_and_extended_codes_are_refused():
    code = make(KEYS, 1, 7, 7)
    for cut in (1, 5, 16, 31):
        with pytest.raises(InvalidCode):
            parse(KEYS, code[:cut])
    with pytest.raises(InvalidCode):
        parse(KEYS, code + "0")


def test_every_single_character_change_is_refused():
    code = make(KEYS, 1, 7, 1234)
    for i, char in enumerate(code):
        for other in ALPHABET:
            if other == char:
                continue
            tampered = code[:i] + other + code[i + 1 :]
            with pytest.raises(InvalidCode):
                parse(KEYS, tampered)


def test_a_code_of_another_key_or_tenant_is_refused():
    with pytest.raises(InvalidCode):
        parse(OTHER, make(KEYS, 1, 1, 1))
    with pytest.raises(InvalidCode):
        parse(KEYS, make(KEYS, 1, 1, 1), tenant_id=2)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, min_size=32, max_size=32))
def test_random_codes_are_forgeries(text):
    with pytest.raises(InvalidCode):
        parse(KEYS, text)


def test_extract_reads_printed_urls_mini_program_q_and_bare_codes():
    code = make(KEYS, 1, 2, 3)
    printed = url("https://jb.example.cn", code)
    assert extract(printed) == code
    assert extract("https%3A%2F%2Fjb.example.cn%2Fc%2F" + code) == code
    assert extract(code) == code
    assert extract("https://jb.example.cn/other/" + code) == ""
    assert extract("x" * 5000) == ""


def test_csv_streams_with_flat_memory():
    job = codegen.Job(KEYS.key(1), 1, 5, "https://jb.example.cn")

    class Sink(io.StringIO):
        def write(self, s: str) -> int:  # count, keep nothing
            self.lines = getattr(self, "lines", 0) + s.count("\n")
            return len(s)

    tracemalloc.start()
    small = Sink()
    codegen.write_csv(small, job, 1, 400)
    _, peak_small = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    big = Sink()
    written = codegen.write_csv(big, job, 1, 8_000)
    _, peak_big = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert written == 8_000 and big.lines == 8_001
    assert peak_big < peak_small + 256 * 1024  # 20x the codes, not 20x the memory


def test_csv_rows_are_verifiable_urls():
    job = codegen.Job(KEYS.key(1), 1, 5, "https://jb.example.cn")
    out = io.StringIO()
    codegen.write_csv(out, job, 10, 5)
    lines = out.getvalue().splitlines()
    assert lines[0] == "batch,serial,code,url"
    for line, serial in zip(lines[1:], range(10, 15), strict=True):
        batch, got_serial, code, link = line.split(",")
        assert (int(batch), int(got_serial)) == (5, serial)
        assert link == f"https://jb.example.cn/c/{code}"
        assert parse(KEYS, extract(link)).serial == serial


def test_zip_of_qr_svgs_from_a_process_pool(tmp_path):
    job = codegen.Job(KEYS.key(1), 1, 5, "https://jb.example.cn")
    path = tmp_path / "codes.zip"
    assert codegen.write_zip(str(path), job, 1, 23, workers=2, chunk=5) == 23
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert names == [f"000005-{s:08d}.svg" for s in range(1, 24)]
        svg = archive.read(names[0]).decode()
    assert svg.startswith("<svg") and "</svg>" in svg
