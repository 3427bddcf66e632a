"""The text of an MLPerf scenario result (runners/experiments/mlperf_scenario.py), as
``edgemt mlperf`` and ``edgemt report`` print it: LoadGen's summary, in edgemt's figures."""


def _v(value, unit=""):
    return "-" if value is None else f"{value:g}{unit}"


def lines(v: dict) -> list:
    """A few lines: the verdict and its reasons, then the scenario's figures."""
    scenario = v.get("scenario")
    if not v.get("ok"):
        return [f"MLPerf {scenario}: no result: {v.get('reason')}"]
    rules = v.get("rules") or {}
    verdict = "VALID" if v.get("valid") else "INVALID"
    if not rules.get("comparable", True):
        verdict += " (--quick: minimums scaled down, not comparable to a submitted result)"
    out = [f"MLPerf {scenario}: {v.get('model')} on {v.get('placement')}, batch {v.get('batch')}: result is {verdict}"]
    out += [f"  * {reason}" for reason in v.get("reasons") or []]
    out.append(f"  queries {v.get('queries')}, samples {v.get('samples', v.get('queries'))}, "
               f"performance phase {_v(v.get('measured_s'), ' s')} (min {_v(rules.get('min_duration_s'), ' s')}, "
               f"min queries {rules.get('min_query_count')})")
    if scenario in ("single-stream", "multi-stream"):
        pct = (rules.get("percentile") or 0) * 100
        out.append(f"  p{pct:g} latency {_v(v.get('percentile_ms'), ' ms')}, early-stopping estimate "
                   f"{_v(v.get('early_stopping_ms'), ' ms')} ({v.get('early_stopping_discarded')} highest discarded)"
                   + (f", p99 estimate {_v(v.get('early_stopping_p99_ms'), ' ms')}"
                      if v.get("early_stopping_p99_ms") is not None else "")
                   + " (latencies: the upper edge of their histogram bucket)")
    elif scenario == "server":
        out.append(f"  target {_v(v.get('target_qps'), '/s')} (scheduled {_v(v.get('scheduled_qps'), '/s')}, seed "
                   f"{v.get('seed')}), bound {_v(v.get('latency_bound_ms'), ' ms')}: p99 "
                   f"{_v(v.get('percentile_ms'), ' ms')}, {v.get('overlatency')} over, {v.get('dropped')} dropped")
    else:
        out.append(f"  {_v(v.get('samples_per_s'), ' samples/s')}")
    if v.get("power_w") is not None:
        out.append(f"  power {v['power_w']:g} W, energy {_v(v.get('energy_j'), ' J')}: {v.get('power_note')}")
    return out
