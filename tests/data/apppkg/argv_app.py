"""Record the worker process's command line (``sys.argv``) in Redis at import."""
import json
import os
import sys

import redis

redis.Redis.from_url(os.environ["RESQUE_TEST_URL"]).rpush("test:argv", json.dumps(sys.argv))
