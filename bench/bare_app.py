"""The baseline for bench/api.py: a bare FastAPI endpoint that returns a constant.

It is a plain ``def`` like the service's routes, so both run on the same thread pool.
"""

from fastapi import FastAPI

app = FastAPI()


@app.get("/bare")
def bare() -> dict[str, bool]:
    return {"ok": True}
