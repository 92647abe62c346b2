"""Call an HTTP API concurrently from an async durable workflow, with httpx.AsyncClient.

The handler is an `async def`: it asks a weather API for the forecast of every city at
once (`asyncio.gather` over durable steps), picks the warmest, and reads the API's stats.
Each step is checkpointed, so a replay (after a retry delay, after a crash) takes the
recorded forecasts instead of calling the API again.

    pip install httpx   # the example's HTTP client; perdure itself does not depend on it
    perdure run examples/async_http.py:handler \
        --input '{"cities": ["lisbon", "oslo", "cairo", "lima", "perth"]}' --skip-time

The API is a stand-in this file starts on 127.0.0.1 (stdlib `http.server` in a thread).
It answers Oslo's first request with 503, which the forecast step's retry strategy
retries, and it holds each answer until every city of the batch has asked (or 10 s have
passed), so its stats show how many calls were in flight at once: all of them.
"""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from perdure import (
    AsyncDurableContext,
    Duration,
    JitterStrategy,
    RetryStrategyConfig,
    StepConfig,
    StepContext,
    create_retry_strategy,
    durable_execution,
    durable_step,
)

EXAMPLE_INPUT = {"cities": ["lisbon", "oslo", "cairo", "lima", "perth"]}
"""The input the tests run this example with."""

RETRY_HTTP_ERRORS = StepConfig(
    retry_strategy=create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=3,
            initial_delay=Duration.from_seconds(2),
            jitter_strategy=JitterStrategy.NONE,
            retryable_error_types=[httpx.HTTPStatusError, httpx.TransportError],
        )
    )
)


# ---------------------------------------------------------------------------- steps


@durable_step
async def fetch_forecast(step: StepContext, api: str, city: str, batch: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        response = await client.get(f"/forecast/{city}", params={"batch": batch})
        response.raise_for_status()
        forecast: dict[str, Any] = response.json()
    step.logger.info(f"{city}: {forecast['high_c']} °C (attempt {step.attempt})")
    return {**forecast, "attempt": step.attempt}


@durable_step
async def fetch_stats(step: StepContext, api: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        response = await client.get("/stats")
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats


# ---------------------------------------------------------------------------- workflow


@durable_execution
async def handler(event: dict[str, Any], context: AsyncDurableContext) -> dict[str, Any]:
    cities: list[str] = event["cities"]
    api = fake_weather_api()
    forecasts = await asyncio.gather(
        *(
            context.step(
                fetch_forecast(api, city, len(cities)), name=f"forecast-{city}", config=RETRY_HTTP_ERRORS
            )
            for city in cities
        )
    )
    warmest = max(forecasts, key=lambda forecast: forecast["high_c"])
    stats = await context.step(fetch_stats(api), name="api-stats")
    return {
        "forecasts": {f["city"]: f["high_c"] for f in forecasts},
        "attempts": {f["city"]: f["attempt"] for f in forecasts},
        "warmest": warmest["city"],
        "max_in_flight": stats["max_in_flight"],
    }


# ---------------------------------------------------------------------------- the fake API

_api_lock = threading.Lock()
_api_url: str | None = None


def fake_weather_api() -> str:
    """The base URL of this process's fake weather API, started on first use."""
    global _api_url
    with _api_lock:
        if _api_url is None:
            server = ThreadingHTTPServer(("127.0.0.1", 0), _WeatherApi)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, name="fake-weather-api", daemon=True).start()
            _api_url = f"http://127.0.0.1:{server.server_address[1]}"
        return _api_url


class _ApiState:
    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.asked: set[str] = set()
        self.in_flight = 0
        self.max_in_flight = 0


_state = _ApiState()


class _WeatherApi(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/stats":
            with _state.changed:
                self._reply(200, {"max_in_flight": _state.max_in_flight})
            return
        if not url.path.startswith("/forecast/"):
            self._reply(404, {"error": f"no route {url.path}"})
            return
        city = url.path.removeprefix("/forecast/")
        batch = int(parse_qs(url.query).get("batch", ["1"])[0])
        with _state.changed:
            first_time = city not in _state.asked
            _state.asked.add(city)
            _state.in_flight += 1
            _state.max_in_flight = max(_state.max_in_flight, _state.in_flight)
            _state.changed.notify_all()
            _state.changed.wait_for(lambda: len(_state.asked) >= batch, timeout=10)
            _state.in_flight -= 1
        if city == "oslo" and first_time:
            self._reply(503, {"error": "busy, try again"})
            return
        high = sum(map(ord, city)) % 35  # a made-up, repeatable forecast
        self._reply(200, {"city": city, "high_c": high})

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep the example's output to the workflow's own logs
