"""`edgemt run --measure-at`: where the run's clock starts so that the instant is a window
edge (tui/session.py ``grid_origin``), and the instants refused (tui/headless.py)."""
import math

import pytest

from runners.errors import BadInput
from tui.headless import check_measure_at
from tui.session import grid_origin


@pytest.mark.parametrize("now, window, ahead", [(1000.0, 1.0, 7.3), (5.25, 0.5, 0.2), (123.456, 0.1, 30.0),
                                                (50.0, 2.0, 4.0), (77.0, 60.0, 3599.9)])
def test_the_instant_is_a_window_edge_and_the_origin_at_most_a_window_back(now, window, ahead):
    at = now + ahead
    t0 = grid_origin(now, window, at)
    k = (at - t0) / window
    assert abs(k - round(k)) < 1e-6 and round(k) >= 1  # a window edge of the run's grid, after its start
    assert now - window < t0 <= now + 1e-9
    assert math.isclose(t0, now) or t0 < now


def test_without_an_instant_the_origin_is_now():
    assert grid_origin(10.0, 1.0) == 10.0 and grid_origin(10.0, 1.0, 9.0) == 10.0


def test_measure_at_is_refused_when_past_or_more_than_a_day_ahead():
    assert check_measure_at(None, 100.0) is None
    assert check_measure_at(130.5, 100.0) == 130.5
    for at, words in ((100.0, "already past"), (99.0, "already past"), (100.0 + 86400.5, "h ahead")):
        with pytest.raises(BadInput) as exc:
            check_measure_at(at, 100.0)
        assert words in str(exc.value) and "--measure-at" in str(exc.value) and "\n" not in str(exc.value)
