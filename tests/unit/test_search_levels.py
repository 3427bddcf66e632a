"""common.search_levels, the level loop of the concurrency sweep and the capacity search: a
level the resumed run holds is taken from it (recorded again in this run, not measured),
another is measured and recorded, each said on the progress line, and a stop ends the
search with what was measured kept."""
import asyncio
import json

from runners.experiments import search
from runners.experiments.common import Context, Stopped, search_levels


class Store:
    def __init__(self):
        self.results = []

    def add_result(self, run_id, experiment, key, value):
        self.results.append((experiment, key, value))


def context(cache=None, stop=None):
    said = []
    ctx = Context(sup=None, store=Store(), run_id=2, experiment="sweep-concurrency", stop=stop,
                  progress=lambda text, advance: said.append((text, advance)), cache=cache or {}, resumed_from=1)
    return ctx, said


def key_of(level):
    return {"kind": "level", "concurrency": level}


def test_resumed_levels_are_taken_and_the_others_measured():
    cache = {json.dumps(key_of(1), sort_keys=True): {"ok": True, "throughput": 10.0}}
    ctx, said = context(cache)
    measured, levels = [], {}

    async def measure(level):
        measured.append(level)
        return {"ok": level < 3, "throughput": 10.0 * level}

    answer = asyncio.run(search_levels(ctx, search.strategy("linear", 4), levels, key_of, lambda n: f"level {n}",
                                       measure, lambda r: "ok" if r["ok"] else "failed"))
    assert answer["first_failed_level"] == 3
    assert measured == [2, 3]  # level 1 came from run 1
    assert levels[1] == {"ok": True, "throughput": 10.0, "resumed_from": 1} and levels[3]["ok"] is False
    assert [(k["concurrency"], v.get("resumed_from")) for _, k, v in ctx.store.results] == [(1, 1), (2, None),
                                                                                            (3, None)]
    assert said == [("level 1: from run 1", 1), ("level 2: ok", 1), ("level 3: failed", 1)]


def test_a_stop_ends_the_search_and_keeps_what_was_measured():
    ctx, _ = context()
    levels = {}

    async def measure(level):
        if level == 2:
            raise Stopped()
        return {"ok": True, "throughput": 1.0}

    answer = asyncio.run(search_levels(ctx, search.strategy("linear", 4), levels, key_of, str, measure, str))
    assert answer is None and list(levels) == [1] and len(ctx.store.results) == 1
