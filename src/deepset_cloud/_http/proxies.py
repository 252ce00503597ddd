"""Which forward proxy a request goes through, from `HTTP(S)_PROXY`, `ALL_PROXY` and `NO_PROXY`.

The rules of curl, requests and Python's urllib: the lower-case variable wins over the upper-case one
(an empty lower-case one disables it); `https_proxy` serves https:// targets and `http_proxy` http://
ones, `all_proxy` both; `NO_PROXY` lists hosts (`example.com` also covers its subdomains, `*` covers
everything) that are reached directly. Loopback is not exempt unless listed. As in urllib, upper-case
`HTTP_PROXY` is ignored when `REQUEST_METHOD` says we run as a CGI script (httpoxy).

Credentials in the proxy URL (`http://user:pass@proxy:3128`) become a `Proxy-Authorization` header sent
to the proxy only. The environment is read per request (cached on its values), so a program or test
that sets the variables after creating a client is honoured.
"""

from __future__ import annotations

import base64
import functools
import logging
import os
import urllib.parse
from typing import Any

import attrs

from deepset_cloud.errors import ConfigurationError

__all__ = ["Proxy", "proxy_for", "request_args"]

logger = logging.getLogger("deepset_cloud")

_KEYS = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "REQUEST_METHOD",
)
_SUPPORTED = ("http", "https")


@attrs.frozen
class Proxy:
    """A forward proxy: its URL without credentials, and its `Proxy-Authorization` value (never in a repr)."""

    url: str
    authorization: str | None = attrs.field(default=None, repr=False)


def proxy_for(url: str) -> Proxy | None:
    """Return the proxy the environment says `url` goes through, or None to connect directly.

    Raises:
        ConfigurationError: `HTTP_PROXY`/`HTTPS_PROXY` is not an http:// or https:// URL.
    """
    parts = urllib.parse.urlsplit(url)
    environment = tuple(os.environ.get(key) for key in _KEYS)
    return _resolve(environment, parts.scheme.lower(), parts.hostname or "", parts.port)


def request_args(url: str, headers: dict[str, str]) -> dict[str, Any]:
    """The aiohttp request arguments `headers=` and, when `url` goes through a proxy, `proxy=`.

    The proxy's credentials travel to the proxy only: in the CONNECT request of an https target, or as a
    `Proxy-Authorization` header of a plain-HTTP target's request (the proxy drops its hop-by-hop
    `Proxy-*` headers before forwarding it). `headers` itself is left as it is, so the caller's frame
    never holds the credentials (tracebacks show frames' locals).
    """
    proxy = proxy_for(url)
    if proxy is None:
        return {"headers": headers}
    if proxy.authorization is None:
        return {"headers": headers, "proxy": proxy.url}
    if url[:6].lower() == "https:":
        tunnel = {"Proxy-Authorization": proxy.authorization}
        return {"headers": headers, "proxy": proxy.url, "proxy_headers": tunnel}
    return {"headers": {**headers, "Proxy-Authorization": proxy.authorization}, "proxy": proxy.url}


@functools.lru_cache(maxsize=64)
def _resolve(environment: tuple[str | None, ...], scheme: str, host: str, port: int | None) -> Proxy | None:
    values = dict(zip(_KEYS, environment, strict=True))

    def pick(name: str) -> str | None:
        lower, upper = values[name], values[name.upper()]
        if name == "http_proxy" and values["REQUEST_METHOD"]:
            upper = None
        value = lower if lower is not None else upper
        if value is None:
            return None
        return value.strip() or None

    no_proxy = pick("no_proxy")
    target = host if port is None else f"{host}:{port}"
    if no_proxy:
        import urllib.request  # only here: it pulls in http.client and email (~5 ms of import)

        if urllib.request.proxy_bypass_environment(target, {"no": no_proxy}):  # type: ignore[attr-defined]
            return None
    name = f"{scheme}_proxy"
    raw = pick(name)
    if raw is None:
        name, raw = "all_proxy", pick("all_proxy")
    if raw is None:
        return None
    return _parse(raw, name)


def _parse(raw: str, name: str) -> Proxy | None:
    if "://" not in raw:
        raw = f"http://{raw}"
    parts = urllib.parse.urlsplit(raw)
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"{name.upper()} has an invalid port.") from None
    if parts.scheme.lower() not in _SUPPORTED or not parts.hostname:
        if name == "all_proxy":  # set for other tools too (e.g. socks5://): go direct, as aiohttp does
            logger.debug("ignoring ALL_PROXY: only http:// and https:// proxies are supported")
            return None
        raise ConfigurationError(
            f"{name.upper()} must be an http:// or https:// proxy URL (got the scheme {parts.scheme!r})."
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    address = host if port is None else f"{host}:{port}"
    authorization = None
    if parts.username is not None:
        user, password = urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or "")
        authorization = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return Proxy(url=f"{parts.scheme.lower()}://{address}", authorization=authorization)
