"""A FastAPI app that enqueues a job from a request handler with resque.aio.

    cd examples/fastapi_signup
    uvicorn --factory app:create_app          # serve; POST /signups {"email": ...}
    resque work -A jobs.py -q mail            # send the welcome mails

The client is built once per app and connected in the lifespan, so every
request shares its connection pool on the server's event loop.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI
from pydantic import BaseModel

import resque.aio
from jobs import send_welcome


class Signup(BaseModel):
    email: str


def create_app(client: resque.aio.Resque | None = None) -> FastAPI:
    """Build the app; the client defaults to RESQUE_REDIS_URL/REDIS_URL or embedded."""
    jobs = client or resque.aio.Resque()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await jobs.connect()
        yield
        await jobs.aclose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/signups", status_code=202)
    async def signup(body: Signup) -> dict[str, object]:
        await jobs.enqueue(send_welcome, body.email)
        return {"queued": "Signup::SendWelcome", "pending": await jobs.size("mail")}

    return app
