"""What every adapter of a REST agency shares: one pooled HTTP session, failures mapped to
``AgencyUnavailable`` without the URL (it carries the NIK) or the body (it carries values), and
``HttpAgency``, the ``Agency`` protocol around reading one subject's record.

When the process traces (``jembatan.tracing``) each request is a CLIENT span carrying its
``traceparent`` to the agency; the span names the method, host and status, never the URL's
path or query (the NIK may be in them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import aiohttp
from opentelemetry.trace import Span, SpanKind

from connectors.sdk.agency import AgencyUnavailable, require_nik, select_fields
from jembatan.catalogue import FieldSpec
from jembatan.tracing import inject_headers, span, tracer_of
from jembatan.values import FieldValue


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
        where = urlsplit(self._base_url)
        self._span_attributes: dict[str, str | int] = {
            "server.address": where.hostname or "",
            "server.port": where.port or (443 if where.scheme == "https" else 80),
            "jembatan.agency": agency,
        }
        # The process's tracer, if it traced when this client was made (``tracing.configure``).
        self._tracer = tracer_of()

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
        attributes = {"http.request.method": method, **self._span_attributes}
        with span(self._tracer, method, attributes, kind=SpanKind.CLIENT) as traced:
            if traced is not None:
                headers = inject_headers(dict(headers or {}))
            return await self._request(traced, method, path, headers, json, data)

    async def _request(
        self,
        traced: Span | None,
        method: str,
        path: str,
        headers: Mapping[str, str] | None,
        json: object,
        data: Mapping[str, str] | None,
    ) -> object | None:
        try:
            async with self._client().request(
                method, self._base_url + path, headers=headers, json=json, data=data
            ) as response:
                if traced is not None:
                    traced.set_attribute("http.response.status_code", response.status)
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


class HttpAgency(ABC):
    """The ``Agency`` protocol over one agency's REST API, reached through ``http``.

    An adapter says only how to read the subject's whole record in catalogue terms
    (``whole_record``); checking the subject, picking the requested fields and closing the
    session are the same for every agency.
    """

    def __init__(self, http: AgencyHttpClient, catalogue: Sequence[FieldSpec]) -> None:
        self._http = http
        self._catalogue = catalogue

    @property
    def catalogue(self) -> Sequence[FieldSpec]:
        return self._catalogue

    async def fetch(self, subject: str, fields: Sequence[str]) -> Mapping[str, FieldValue] | None:
        # Checked before any call: a malformed subject is the caller's error, not the agency's.
        require_nik(subject)
        record = await self.whole_record(subject)
        if record is None:
            return None
        return select_fields(record, fields)

    async def close(self) -> None:
        await self._http.close()

    @abstractmethod
    async def whole_record(self, nik: str) -> Mapping[str, FieldValue] | None:
        """Every catalogue field the agency holds on ``nik`` (a NIK already checked), so that a
        malformed field fails every query alike; None when the agency holds no record."""
