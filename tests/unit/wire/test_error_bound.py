"""`fit_error`: an error cut to the service's bound keeps what a reader needs first."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from perdure.wire.codec import error_size, fit_error
from perdure.wire.types import ErrorObject

texts = st.one_of(
    st.none(),
    st.text(min_size=1, max_size=400),
    st.builds(lambda c, n: c * n, st.sampled_from('xé\n"€'), st.integers(1, 20_000)),
)


@settings(max_examples=200, deadline=None)
@given(
    message=texts,
    error_type=texts,
    data=texts,
    frames=st.lists(st.text(max_size=300), max_size=50),
    limit=st.integers(2_000, 40_000),
)
def test_a_fitted_error_is_within_the_bound_and_keeps_the_start_of_each_member(
    message: str | None, error_type: str | None, data: str | None, frames: list[str], limit: int
) -> None:
    error = ErrorObject(
        error_message=message, error_type=error_type, error_data=data, stack_trace=tuple(frames) or None
    )
    fitted = fit_error(error, limit)
    assert error_size(fitted) <= limit
    if error_size(error) <= limit:
        assert fitted == error
    for member in ("error_message", "error_type", "error_data"):
        kept = getattr(fitted, member)
        if kept is not None and kept != getattr(error, member):
            assert kept.endswith(" [truncated]")
            assert getattr(error, member).startswith(kept.removesuffix(" [truncated]"))
    assert list(fitted.stack_trace or ()) == frames[: len(fitted.stack_trace or ())]
