"""Property: the one-pass funnel agrees with the per-start definition on random sequences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.analytics.funnels import _reached, _reached_linear

T0 = datetime(2026, 12, 1, tzinfo=UTC)
names = st.sampled_from(["v", "c", "q", "o", "x"])
sequences = st.lists(st.tuples(st.integers(0, 500), names), max_size=40).map(
    lambda items: sorted((T0 + timedelta(minutes=m), n) for m, n in items)
)
steps = st.sampled_from([("v", "c", "q", "o"), ("v", "c"), ("v", "v", "c"), ("c", "v", "c", "o")])


@settings(max_examples=600, deadline=None)
@given(seq=sequences, steps=steps, window=st.integers(1, 600), order=st.sampled_from(["ordered", "strict"]))
def test_one_pass_equals_the_definition(seq, steps, window, order):
    lo, hi = T0 + timedelta(minutes=50), T0 + timedelta(minutes=400)
    w = timedelta(minutes=window)
    assert _reached_linear(seq, steps, w, order, lo, hi) == _reached(seq, steps, w, order, lo, hi)


def test_a_strict_chain_broken_by_a_repeated_first_step_restarts_at_the_right_event():
    # regression: one running chain read "v v v c" as 2 steps of v->v->c (the chain v,v broke on
    # the third v and restarted there, missing the chain that starts at the second v)
    seq = [(T0 + timedelta(minutes=50), "v")] * 3 + [(T0 + timedelta(minutes=51), "c")]
    lo, hi = T0, T0 + timedelta(minutes=400)
    assert _reached_linear(seq, ("v", "v", "c"), timedelta(minutes=1), "strict", lo, hi) == 3
