"""A tiny application: two jobs, enqueued by running this file.

    python examples/hello.py          # enqueue a few jobs
    resque work -A examples/hello.py -q hello --interval 0   # process them and exit
"""
from __future__ import annotations

import resque


@resque.job(queue="hello", name="Greet")
def greet(name: str) -> None:
    print(f"hello, {name}!", flush=True)


@resque.job(queue="hello", name="Divide")
class Divide:
    @staticmethod
    def perform(a: float, b: float) -> None:
        print(f"{a} / {b} = {a / b}", flush=True)


if __name__ == "__main__":
    for who in ("world", "resque", "ruby"):
        greet.enqueue(who)
    resque.enqueue(Divide, 1, 4)
    resque.enqueue(Divide, 1, 0)  # fails: see `resque failed list` or the web UI
    print(f"enqueued {resque.size('hello')} jobs on 'hello'")
