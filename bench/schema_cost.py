"""Issue 17, step 9: what a schema library would cost per socket event on the send path.

Validates the same `send_message` payload with today's hand-made checks (the service
layer's `parse_id`, `clean_body`, `clean_client_id`) and with a pydantic model of the
same rules, valid and invalid, and prints microseconds per call and their ratio. CPU only,
no I/O: run it twice and compare the ratios, not the absolute numbers.

    .venv/bin/python bench/schema_cost.py
"""

import sys
import timeit
from pathlib import Path
from typing import Annotated

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError  # noqa: E402

from config import TestConfig  # noqa: E402
from webchat import create_app  # noqa: E402
from webchat.errors import ChatError  # noqa: E402
from webchat.services.access import parse_id  # noqa: E402
from webchat.services.messages import clean_body  # noqa: E402
from webchat.services.posting import clean_client_id  # noqa: E402


class SendMessage(BaseModel):
    """The same rules as the service layer's checks."""

    model_config = ConfigDict(strict=True, extra="ignore")
    room_id: Annotated[int, Field(gt=0, lt=2**31)]
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


def hand_made(data):
    try:
        return parse_id(data.get("room_id")), clean_body(data.get("body")), clean_client_id(data.get("client_id"))
    except ChatError as error:
        return error


def with_pydantic(data):
    try:
        return SendMessage.model_validate(data)
    except ValidationError as error:
        return error


def per_call_us(function, data, number=50_000):
    best = min(timeit.repeat(lambda: function(data), number=number, repeat=5))
    return best / number * 1e6


def main():
    app = create_app(TestConfig)
    cases = {
        "valid": {"room_id": 12, "body": "안녕하세요, 회의는 3시에 시작합니다 👍", "client_id": "c-1234"},
        "invalid (empty body)": {"room_id": 12, "body": "   ", "client_id": "c-1234"},
    }
    with app.app_context():
        print(f"{'payload':24} {'hand-made µs':>13} {'pydantic µs':>12} {'ratio':>6}")
        for name, data in cases.items():
            hand, pyd = per_call_us(hand_made, data), per_call_us(with_pydantic, data)
            print(f"{name:24} {hand:13.2f} {pyd:12.2f} {pyd / hand:6.2f}")


if __name__ == "__main__":
    main()
