"""What every adapter of a REST agency shares: one pooled HTTP session, and failures mapped
to ``AgencyUnavailable`` without the URL (it carries the NIK) or the body (it carries values).
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from connectors.sdk.agency import AgencyUnavailable


class AgencyHttpStatus(AgencyUnavailable):
    """The agency answered with an HTTP status that is neither 200 nor 404."""

    def __init__(self, agency: str, status: int) -> None:
        super().__init__(f"{agency} answered HTTP {status}")
        self.status = status


class AgencyHttpClient:
    """A JSON-over-HTTP client for one agency's API at ``base_url``.

    The session is created on first use, inside the running loop (aiohttp requires one),
    then shared: keep-alive connections save a TCP handshake per query on the hot path.
    """

    def __init__(
        self,
        agency: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 2.0,
        max_connections: int = 100,
    ) -> None:
        self.agency = agency
        self._base_url = base_url.rstrip("/")
        self._headers = dict(headers or {})
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def get_json(
        self, path: str, *, headers: Mapping[str, str] | None = None
    ) -> object | None:
        """The JSON body of ``GET path``; None when the agency answers 404 (no record)."""
        return await self.request_json("GET", path, headers=headers)

    async def post_json(
        self, path: str, body: object, *, headers: Mapping[str, str] | None = None
    ) -> object | None:
        """The JSON body of ``POST path`` with a JSON ``body``; None on 404."""
        return await self.request_json("POST", path, json=body, headers=headers)

    async def post_form(
        self, path: str, form: Mapping[str, str], *, headers: Mapping[str, str] | None = None
    ) -> object | None:
        return await self.request_json("POST", path, data=dict(form), headers=headers)

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: object = None,
        data: Mapping[str, str] | None = None,
    ) -> object | None:
        try:
            async with self._client().request(
                method, self._base_url + path, headers=headers, json=json, data=data
            ) as response:
                if response.status == 404:
                    await response.read()  # drain, so the connection goes back to the pool
                    return None
                if response.status != 200:
                    await response.read()
                    raise AgencyHttpStatus(self.agency, response.status)
                try:
                    return await response.json(content_type=None)
                except ValueError:  # not JSON, or not UTF-8
                    raise AgencyUnavailable(f"{self.agency} sent a body that is not JSON") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            # `from None`: aiohttp's messages may carry the URL, and the URL may carry the NIK.
            raise AgencyUnavailable(f"{self.agency} unreachable ({type(exc).__name__})") from None

    def _client(self) -> aiohttp.ClientSession:
        if self._closed:
            raise AgencyUnavailable(f"{self.agency} adapter is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self._max_connections),
            )
        return self._session

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None
