import pytest

from storage.aggregate import Window, common_span, is_steady, level_throughput, slot_totals, tenant_throughput
from runners.child import latency


def grid(start, n, images, w=1.0):
    return [Window(start + i * w, start + (i + 1) * w, images[i] if isinstance(images, list) else images, 1)
            for i in range(n)]


def test_tenant_throughput_is_images_over_span():
    assert tenant_throughput(grid(2.0, 4, [10, 12, 8, 10])) == pytest.approx(40 / 4)
    assert tenant_throughput([]) == 0.0


def test_level_counts_only_the_interval_all_tenants_ran():
    # tenant a runs 0..6, tenant b starts later (2..5): the common interval is 2..5
    a = grid(0.0, 6, [10, 10, 10, 10, 10, 10])
    b = grid(2.0, 3, [4, 6, 8])
    assert common_span({"a": a, "b": b}) == (2.0, 5.0)
    assert level_throughput({"a": a, "b": b}) == pytest.approx((30 + 18) / 3)


def test_level_without_overlap_is_zero():
    assert level_throughput({"a": grid(0, 2, 5), "b": grid(5, 2, 5)}) == 0.0
    assert level_throughput({"a": grid(0, 2, 5), "b": []}) == 0.0


def test_slot_totals_need_every_tenant():
    a = grid(0.0, 3, [1, 2, 3])
    b = grid(1.0, 2, [10, 20])
    assert slot_totals({"a": a, "b": b}) == [(1.0, 2.0, 12), (2.0, 3.0, 23)]


def test_steady_rule():
    per = {"a": grid(0, 5, [5, 20, 30, 31, 32])}
    assert is_steady(per, {"a": 40}, min_batches=30)
    assert not is_steady(per, {"a": 29}, min_batches=30)  # too few batches
    per = {"a": grid(0, 5, [5, 20, 30, 40, 32])}
    assert not is_steady(per, {"a": 40})  # 30..40 disagree by 25%
    assert not is_steady({"a": grid(0, 2, 10)}, {"a": 99})  # fewer than 3 windows


def test_latency_histogram_percentiles_are_exact_to_the_bucket():
    h = {}
    for ms in [10] * 50 + [20] * 40 + [100] * 10:
        b = str(latency.bucket_of(ms / 1000))
        h[b] = h.get(b, 0) + 1
    for q, ms in ((50, 10), (90, 20), (99, 100)):
        p = latency.percentile(h, q) * 1000
        assert ms <= p <= ms * 10 ** (1 / latency.BUCKETS_PER_DECADE) + 1e-9
    assert latency.percentile({}, 50) is None
    merged = latency.merge(dict(h), h)
    assert sum(merged.values()) == 200
