"""The job the signup app enqueues; a worker imports this file with -A."""
from __future__ import annotations

import os

import resque


@resque.job(queue="mail", name="Signup::SendWelcome")
def send_welcome(email: str) -> None:
    """Send the welcome mail (here: append it to the outbox file)."""
    with open(os.environ.get("WELCOME_OUTBOX", "outbox.txt"), "a", encoding="utf-8") as outbox:
        outbox.write(f"Welcome, {email}!\n")
