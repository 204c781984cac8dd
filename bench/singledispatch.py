"""functools.singledispatch on the class shape of bench/cases/dispatch.ts, for reference.

Prints one JSON object: ns per direct call, per cached singledispatch call, and per first
call with a new class (a cache miss).
"""
import functools
import json
import platform
import timeit


class Base:
    def __init__(self, weight):
        self.weight = weight


class Leaf(Base):
    pass


def handler(target, x):
    return x + target.weight


@functools.singledispatch
def dispatched(target, x):
    raise NotImplementedError


dispatched.register(Base, handler)

CALLS = 1_000_000
ROUNDS = 5


def best_ns(stmt):
    timer = timeit.Timer(stmt, globals={"handler": handler, "dispatched": dispatched, "target": Leaf(1)})
    return min(timer.repeat(repeat=ROUNDS, number=CALLS)) / CALLS * 1e9


def miss_ns(classes=10_000):
    fresh = [type("Fresh%d" % i, (Leaf,), {})(1) for i in range(classes)]
    start = timeit.default_timer()
    for target in fresh:
        dispatched(target, 0)
    return (timeit.default_timer() - start) / classes * 1e9


print(json.dumps({
    "direct_ns": best_ns("handler(target, 1)"),
    "dispatch_ns": best_ns("dispatched(target, 1)"),
    "miss_ns": min(miss_ns() for _ in range(3)),
    "version": platform.python_version(),
}))
