"""A citizen's browser as plain HTTP: a cookie jar, and the form token of the last page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp

from tests.portal.conftest import RunningPortal

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Citizen:
    """A browser's worth of HTTP: a cookie jar, and the form token of the last page."""

    def __init__(self, portal: RunningPortal, http: aiohttp.ClientSession) -> None:
        self.portal, self.http, self.csrf = portal, http, ""

    async def get(self, path: str) -> aiohttp.ClientResponse:
        response = await self.http.get(self.portal.url + path, allow_redirects=True)
        text = await response.text()
        if match := _CSRF.search(text):
            self.csrf = match[1]
        return response

    async def post(
        self, path: str, data: dict[str, str], *, csrf: str | None = None, **headers: str
    ) -> aiohttp.ClientResponse:
        form = {"csrf": self.csrf if csrf is None else csrf, **data}
        response = await self.http.post(
            self.portal.url + path, data=form, headers=headers, allow_redirects=True
        )
        text = await response.text()
        if match := _CSRF.search(text):
            self.csrf = match[1]
        return response

    async def sign_in(self, nik: str, phone: str) -> None:
        await self.get("/masuk")
        sent = await self.post("/masuk", {"nik": nik})
        assert sent.url.path == "/masuk/kode", sent.url
        signed = await self.post("/masuk/kode", {"code": self.portal.code_for(phone)})
        assert signed.url.path == "/beranda", signed.url

    async def staff_sign_in(self, login: str, phone: str) -> None:
        """Sign in as staff ``login``, with the code sent to ``phone``."""
        await self.get("/petugas/masuk")
        sent = await self.post("/petugas/masuk", {"login": login})
        assert sent.url.path == "/petugas/masuk/kode", sent.url
        signed = await self.post("/petugas/masuk/kode", {"code": self.portal.code_for(phone)})
        assert signed.url.path == "/petugas/tugas", signed.url

    async def apply(self) -> str:
        """Apply for the household; the new application's id."""
        await self.get("/daftar")
        response = await self.post("/daftar", {})
        match = re.fullmatch(r"/permohonan/([0-9a-f-]{36})/persetujuan", response.url.path)
        assert match, response.url
        return match[1]


async def browser_session(portal: RunningPortal) -> AsyncIterator[Citizen]:
    # unsafe: the portal is on 127.0.0.1, and aiohttp keeps no cookie of an IP otherwise.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Citizen(portal, http)
