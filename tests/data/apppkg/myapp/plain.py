"""Jobs named by their default dotted path: ``myapp.plain.Report``."""
import os

import redis


class Report:
    queue = "reports"

    @staticmethod
    def perform(n: int) -> None:
        redis.Redis.from_url(os.environ["RESQUE_REDIS_URL"]).rpush("test:log", f"report|{n}")


import resque  # noqa: E402

resque.job()(Report)
