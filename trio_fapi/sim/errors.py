"""Binance-shaped refusals raised inside the simulator.

Everything below the API raises :class:`SimError`; the API turns it into the
``{"code": .., "msg": ..}`` body Binance sends, with HTTP 400 (401 for key
errors, 429 for rate limits). Messages follow Binance's wording, so clients
that match on text (Hummingbot does) behave as they would live.
"""

from __future__ import annotations

import attrs

__all__ = ["SimError", "message_for"]

_MESSAGES: dict[int, str] = {
    -1003: "Too many requests; current limit is {0} requests per minute.",
    -1015: "Too many new orders; current limit is {0} orders per {1}.",
    -1021: "Timestamp for this request is outside of the recvWindow.",
    -1022: "Signature for this request is not valid.",
    -1099: "Not found, unauthenticated, or unauthorized.",
    -1100: "Illegal characters found in parameter '{0}'; legal range is '{1}'.",
    -1101: "Duplicate values for a parameter detected.",
    -1102: "Mandatory parameter '{0}' was not sent, was empty/null, or malformed.",
    -1106: "Parameter '{0}' sent when not required.",
    -1111: "Precision is over the maximum defined for this asset.",
    -1115: "Invalid timeInForce.",
    -1116: "Invalid orderType.",
    -1117: "Invalid side.",
    -1120: "Invalid interval.",
    -1121: "Invalid symbol.",
    -1125: "This listenKey does not exist.",
    -1130: "Data sent for parameter '{0}' is not valid.",
    -1136: "Invalid newOrderRespType.",
    -2011: "Unknown order sent.",
    -2013: "Order does not exist.",
    -2015: "Invalid API-key, IP, or permissions for action.",
    -2019: "Margin is insufficient.",
    -2021: "Order would immediately trigger.",
    -2022: "ReduceOnly Order is rejected.",
    -2025: "Reach max open order limit.",
    -4001: "Price less than 0.",
    -4003: "Quantity less than or equal to zero.",
    -4015: "Client order id is not valid.",
    -4021: "Invalid depth limit.",
    -4028: "Leverage {0} is not valid",
    -4046: "No need to change margin type.",
    -4047: "Margin type cannot be changed if there exists open orders.",
    -4048: "Margin type cannot be changed if there exists position.",
    -4059: "No need to change position side.",
    -4060: "Invalid position side.",
    -4061: "Order's position side does not match user's setting.",
    -4067: "Position side cannot be changed if there exists open orders.",
    -4068: "Position side cannot be changed if there exists position.",
    -4082: "Invalid number of batch place orders.",
    -4116: "ClientOrderId is duplicated.",
    -4120: (
        "Order type not supported for this endpoint. Please use the Algo Order API endpoints"
        " instead."
    ),
    -4135: "Invalid activation price.",
    -5021: "Due to the order could not be filled immediately, the FOK order has been rejected.",
    -5022: "Due to the order could not be executed as maker, the Post Only order will be rejected.",
    -5025: "Only limit order is supported.",
    -5027: "No need to modify the order.",
    -5040: "goodTillDate timestamp must be greater than the current time plus 600 seconds.",
}


def message_for(code: int, *args: object) -> str:
    """Binance's message for ``code``, with its ``{0}``-style blanks filled."""
    template = _MESSAGES.get(code, "An unknown error occurred while processing the request.")
    return template.format(*args) if args else template.replace("{0}", "").replace("{1}", "")


@attrs.define(auto_exc=True, eq=False)
class SimError(Exception):
    """A refusal the exchange answers with; nothing was changed by the request.

    Attributes:
        code: Binance's error code (negative).
        msg: The message sent with it.
        http_status: 400 for business errors, 401 for key errors, 429 for limits.
    """

    code: int
    msg: str
    http_status: int = 400

    @classmethod
    def of(cls, code: int, *args: object, http_status: int = 400) -> SimError:
        """The error ``code`` with Binance's message."""
        return cls(code=code, msg=message_for(code, *args), http_status=http_status)

    def __str__(self) -> str:
        return f"{self.code}: {self.msg}"

    def to_wire(self) -> dict[str, object]:
        """The ``{"code", "msg"}`` body."""
        return {"code": self.code, "msg": self.msg}
