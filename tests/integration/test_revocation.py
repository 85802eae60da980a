"""Access that can be taken back: revoked links, kicks, bans, boards made private or deleted, guests
switched off, and tokens that run out. A real drawing service and two real rooms hosting the same
sessions (every room must close what is revoked), over a real nats-server."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from drawnet.embedded.components import DrawingService, NatsServer, RoomServer
from drawnet.protocol import CloseCode
from drawnet.testkit.client import RoomClient, line
from drawnet.testkit.tokens import TEST_SIGNING_KEYS, Signer

pytestmark = pytest.mark.integration

START_TIMEOUT = 90.0
HELLO_TIMEOUT = 2
TOKEN_GRACE = 1


@dataclass
class Stack:
    service: DrawingService
    rooms: tuple[RoomServer, RoomServer]


@pytest.fixture(scope="module")
def stack(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder: Path = tmp_path_factory.mktemp("stack")
    nats_server = NatsServer(data_dir=folder / "nats").start()
    room_env = {
        "DRAWNET_ROOM_HELLO_TIMEOUT_SECONDS": str(HELLO_TIMEOUT),
        "DRAWNET_ROOM_TOKEN_GRACE_SECONDS": str(TOKEN_GRACE),
    }
    rooms = tuple(
        RoomServer(
            nats_url=nats_server.url,
            log_path=folder / f"room-{n}.log",
            signing_keys=TEST_SIGNING_KEYS,
            extra_env=room_env,
        ).start(timeout=START_TIMEOUT)
        for n in (1, 2)
    )
    service = DrawingService(
        nats_url=nats_server.url,
        database_url=module_database_url,
        log_path=folder / "drawing.log",
        room_public_url=rooms[0].url,
        signing_keys=TEST_SIGNING_KEYS,
        extra_env={
            "DRAWNET_DRAWING_COOKIE_SECURE": "false",
            "DRAWNET_DRAWING_REGISTER_PER_MINUTE": "1000",
            "DRAWNET_DRAWING_LOGIN_ATTEMPTS_PER_MINUTE": "1000",
            "DRAWNET_DRAWING_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE": "1000",
            "DRAWNET_DRAWING_GUEST_JOINS_PER_MINUTE": "1000",
        },
    ).start(timeout=START_TIMEOUT)
    yield Stack(service, (rooms[0], rooms[1]))
    service.stop()
    for room in rooms:
        room.stop()
    nats_server.stop()


class Person:
    """Someone with a browser's cookie jar: logged in, or a guest."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def join(
        self, session: str, *, name: str = "", link: str | None = None, bearer: str | None = None
    ) -> httpx.Response:
        body: dict[str, str] = {"name": name}
        if link:
            body["link"] = link
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        return await self.http.post(f"/api/v1/sessions/{session}/join", json=body, headers=headers)

    async def token(self, session: str, **options: str) -> dict[str, str]:
        response = await self.join(session, **options)
        assert response.status_code == 200, response.text
        token: dict[str, str] = response.json()
        return token


@pytest.fixture
async def people(stack: Stack) -> AsyncIterator[list[Person]]:
    made: list[httpx.AsyncClient] = []

    async def person(*, login: bool) -> Person:
        http = httpx.AsyncClient(base_url=stack.service.url, timeout=30)
        made.append(http)
        if login:
            username, password = f"u-{secrets.token_hex(4)}", secrets.token_urlsafe(12)
            assert (
                await http.post("/api/v1/users", json={"username": username, "password": password})
            ).status_code == 201
            assert (
                await http.post("/api/v1/auth/login", json={"username": username, "password": password})
            ).status_code == 200
        return Person(http)

    everyone = [
        await person(login=True),
        await person(login=True),
        await person(login=False),
        await person(login=False),
    ]
    yield everyone
    for http in made:
        await http.aclose()


async def new_session(owner: Person, *, visibility: str = "public", allow_guests: bool = True) -> str:
    name = f"rv-{secrets.token_hex(4)}"
    response = await owner.http.post(
        "/api/v1/sessions", json={"name": name, "visibility": visibility, "allow_guests": allow_guests}
    )
    assert response.status_code == 201, response.text
    return name


async def mint_link(owner: Person, session: str, role: str = "editor") -> tuple[str, str]:
    response = await owner.http.post(f"/api/v1/sessions/{session}/links", json={"role": role})
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["code"]


async def enter(room: RoomServer, session: str, token: dict[str, str]) -> RoomClient:
    return await RoomClient.join(room.url, session, name=token["name"], token=token["token"])


async def draws(client: RoomClient) -> bool:
    answer = await client.draw_stroke(line(5))
    return answer.__struct_config__.tag == "ack"


async def closed_with(client: RoomClient, code: CloseCode, *, within: float = 5.0) -> str:
    got, reason = await client.wait_closed(timeout=within)
    assert got == code, f"closed with {got} {reason!r}, expected {code.name}"
    return reason


class TestRevokedLinks:
    async def test_a_revoked_link_closes_its_connections_on_every_room_and_renews_nothing(
        self, stack: Stack, people: list[Person]
    ) -> None:
        owner, member, guest, _ = people
        session = await new_session(owner, visibility="private")
        link_id, code = await mint_link(owner, session)
        other_id, other_code = await mint_link(owner, session)
        by_link = await member.token(session, link=code)
        by_other = await guest.token(session, link=other_code, name="Gus")
        mine = await owner.token(session)
        linked = [await enter(room, session, by_link) for room in stack.rooms]
        stays = [await enter(stack.rooms[1], session, by_other), await enter(stack.rooms[0], session, mine)]
        # Before: the link's token renews itself and reads the board.
        assert (await member.join(session, bearer=by_link["token"])).status_code == 200

        started = time.monotonic()
        assert (await owner.http.delete(f"/api/v1/sessions/{session}/links/{link_id}")).status_code == 204
        for client in linked:
            reason = await closed_with(client, CloseCode.REVOKED, within=2.0)
            assert "revoked" in reason
        assert time.monotonic() - started < 2.0

        renewal = await member.join(session, bearer=by_link["token"])
        assert renewal.status_code == 403
        assert "revoked" in renewal.json()["detail"]
        board = await member.http.get(
            f"/api/v1/sessions/{session}/board", headers={"Authorization": f"Bearer {by_link['token']}"}
        )
        assert board.status_code == 403
        for room in stack.rooms:
            with pytest.raises(ConnectionError, match="4013"):
                await RoomClient.join(room.url, session, token=by_link["token"], timeout=5)
        # Exactly those: the other link's holder and the owner go on drawing.
        for client in stays:
            assert await draws(client)
            await client.close()
        assert other_id != link_id


class TestDeletedSessions:
    async def test_deleting_a_session_closes_every_connection_and_no_old_token_gets_back_in(
        self, stack: Stack, people: list[Person]
    ) -> None:
        owner, member, _, _ = people
        session = await new_session(owner, visibility="private")
        _, code = await mint_link(owner, session)
        token = await member.token(session, link=code)
        editor = await enter(stack.rooms[0], session, token)
        assert await draws(editor)

        assert (await owner.http.delete(f"/api/v1/sessions/{session}")).status_code == 204
        assert "deleted" in await closed_with(editor, CloseCode.REVOKED)
        for room in stack.rooms:
            with pytest.raises(ConnectionError, match="4013"):
                await RoomClient.join(room.url, session, token=token["token"], timeout=5)
        assert (await member.join(session, bearer=token["token"])).status_code in {403, 404, 409}


class TestKicksAndBans:
    async def test_a_kicked_participant_is_closed_everywhere_and_must_join_again(
        self, stack: Stack, people: list[Person]
    ) -> None:
        owner, member, _, _ = people
        session = await new_session(owner, visibility="private")
        _, code = await mint_link(owner, session)
        token = await member.token(session, link=code)
        kicked = [await enter(room, session, token) for room in stack.rooms]
        host = await enter(stack.rooms[1], session, await owner.token(session))
        user = kicked[0].welcome.you.user if kicked[0].welcome else ""

        response = await owner.http.post(f"/api/v1/sessions/{session}/kicks", json={"user": user})
        assert response.status_code == 204, response.text
        for client in kicked:
            assert "removed you" in await closed_with(client, CloseCode.KICKED, within=2.0)
        assert (await member.join(session, bearer=token["token"])).status_code == 403
        with pytest.raises(ConnectionError, match="4014"):
            await RoomClient.join(stack.rooms[0].url, session, token=token["token"], timeout=5)
        # A kick is not a ban: the link still lets them in, with a new token.
        back = await enter(stack.rooms[0], session, await member.token(session, link=code))
        assert await draws(back)
        assert await draws(host)
        await back.close()
        await host.close()

    async def test_a_banned_guest_cannot_come_back_with_a_new_token(
        self, stack: Stack, people: list[Person]
    ) -> None:
        owner, _, guest, other_guest = people
        session = await new_session(owner)
        token = await guest.token(session, name="Mallory")
        banned = await enter(stack.rooms[0], session, token)
        stays = await enter(stack.rooms[1], session, await other_guest.token(session, name="Alice"))
        assert token["sub"].startswith("guest:")

        response = await owner.http.post(
            f"/api/v1/sessions/{session}/bans", json={"user": token["sub"], "name": "Mallory"}
        )
        assert response.status_code == 201, response.text
        assert "banned" in await closed_with(banned, CloseCode.BANNED)
        assert (await guest.join(session, bearer=token["token"], name="Mallory")).status_code == 403
        again = await guest.join(session, name="Not Mallory")
        assert again.status_code == 403
        assert "banned" in again.json()["detail"]
        with pytest.raises(ConnectionError, match="4015"):
            await RoomClient.join(stack.rooms[1].url, session, token=token["token"], timeout=5)
        listed = await owner.http.get(f"/api/v1/sessions/{session}/bans")
        assert [(ban["user"], ban["name"]) for ban in listed.json()] == [(token["sub"], "Mallory")]
        assert await draws(stays)

        assert (await owner.http.delete(f"/api/v1/sessions/{session}/bans/{token['sub']}")).status_code == 204
        assert (await guest.join(session, name="Mallory")).status_code == 200
        await stays.close()

    async def test_a_banned_user_cannot_come_back_through_a_link(self, people: list[Person]) -> None:
        owner, member, _, _ = people
        session = await new_session(owner, visibility="private")
        _, code = await mint_link(owner, session)
        token = await member.token(session, link=code)
        response = await owner.http.post(f"/api/v1/sessions/{session}/bans", json={"user": token["sub"]})
        assert response.status_code == 201
        assert (await member.join(session, link=code)).status_code == 403
        _, fresh_code = await mint_link(owner, session)
        assert (await member.join(session, link=fresh_code)).status_code == 403

    async def test_only_the_owner_kicks_and_bans_and_nobody_removes_the_owner(
        self, people: list[Person]
    ) -> None:
        owner, member, guest, _ = people
        session = await new_session(owner)
        mine = await owner.token(session)
        theirs = await member.token(session)
        for path in ("kicks", "bans"):
            by_member = await member.http.post(
                f"/api/v1/sessions/{session}/{path}", json={"user": mine["sub"]}
            )
            assert by_member.status_code == 403
            by_guest = await guest.http.post(
                f"/api/v1/sessions/{session}/{path}", json={"user": theirs["sub"]}
            )
            assert by_guest.status_code == 401
            on_owner = await owner.http.post(f"/api/v1/sessions/{session}/{path}", json={"user": mine["sub"]})
            assert on_owner.status_code == 409


class TestVisibilityAndGuests:
    async def test_making_a_board_private_closes_exactly_those_who_came_because_it_was_public(
        self, stack: Stack, people: list[Person]
    ) -> None:
        owner, member, guest, _ = people
        session = await new_session(owner)
        _, code = await mint_link(owner, session)
        public_user = await enter(stack.rooms[0], session, await member.token(session))
        public_guest = await enter(stack.rooms[1], session, await guest.token(session, name="Gus"))
        by_link = await enter(stack.rooms[1], session, await owner.token(session, link=code))
        host = await enter(stack.rooms[0], session, await owner.token(session))

        response = await owner.http.patch(f"/api/v1/sessions/{session}", json={"visibility": "private"})
        assert response.status_code == 200
        for client in (public_user, public_guest):
            assert "private" in await closed_with(client, CloseCode.REVOKED)
        for client in (by_link, host):
            assert await draws(client)
            await client.close()
        assert (await member.join(session)).status_code == 403

    async def test_switching_guests_off_closes_the_guests_and_only_them(
        self, stack: Stack, people: list[Person]
    ) -> None:
        owner, member, guest, _ = people
        session = await new_session(owner)
        a_guest = await enter(stack.rooms[0], session, await guest.token(session, name="Gus"))
        a_user = await enter(stack.rooms[1], session, await member.token(session))

        response = await owner.http.patch(f"/api/v1/sessions/{session}", json={"allow_guests": False})
        assert response.status_code == 200
        assert "guest" in await closed_with(a_guest, CloseCode.REVOKED)
        assert await draws(a_user)
        assert (await guest.join(session, name="Gus")).status_code == 401
        await a_user.close()


class TestShortLivedTokens:
    async def test_a_connection_whose_token_expires_unrenewed_is_closed(self, stack: Stack) -> None:
        session = f"exp-{secrets.token_hex(4)}"
        token = Signer().token(session, user="user-exp", ttl_seconds=2)
        client = await RoomClient.join(stack.rooms[0].url, session, token=token)
        started = time.monotonic()
        reason = await closed_with(client, CloseCode.TOKEN_EXPIRED, within=2 + TOKEN_GRACE + 5)
        assert "expired" in reason
        assert time.monotonic() - started >= 1.0

    async def test_a_renewed_connection_outlives_its_first_token(self, stack: Stack) -> None:
        session = f"ren-{secrets.token_hex(4)}"
        signer = Signer()
        client = await RoomClient.join(
            stack.rooms[0].url, session, token=signer.token(session, user="user-ren", ttl_seconds=2)
        )
        renewed = await client.renew(signer.token(session, user="user-ren", ttl_seconds=60))
        assert renewed.exp > time.time() + 30
        await asyncio.sleep(2 + TOKEN_GRACE + 1.5)  # past the first token's end and the room's next look
        assert await draws(client)
        await client.close()

    async def test_a_renewal_for_someone_else_closes_the_connection(self, stack: Stack) -> None:
        session = f"ren-{secrets.token_hex(4)}"
        signer = Signer()
        client = await RoomClient.join(
            stack.rooms[1].url, session, token=signer.token(session, user="user-a")
        )
        await client.send(b'{"t":"renew","token":"' + signer.token(session, user="user-b").encode() + b'"}')
        await closed_with(client, CloseCode.FORBIDDEN)

    async def test_the_drawing_service_mints_short_lived_tokens(self, people: list[Person]) -> None:
        owner = people[0]
        session = await new_session(owner)
        token = await owner.token(session)
        assert int(token["expires_at"]) - time.time() <= 300 + 5


class TestHello:
    async def test_a_connection_that_never_says_hello_is_closed(self, stack: Stack) -> None:
        client = await RoomClient.connect_raw(stack.rooms[0].url, f"quiet-{secrets.token_hex(3)}")
        reason = await closed_with(client, CloseCode.HELLO_TIMEOUT, within=HELLO_TIMEOUT + 5)
        assert "hello_timeout_seconds" in reason


class TestSessionLimits:
    async def test_the_room_enforces_the_session_s_own_max_participants(
        self, stack: Stack, people: list[Person]
    ) -> None:
        owner, member, guest, other_guest = people
        name = f"lim-{secrets.token_hex(4)}"
        response = await owner.http.post(
            "/api/v1/sessions", json={"name": name, "visibility": "public", "max_participants": 2}
        )
        assert response.status_code == 201, response.text
        first = await enter(stack.rooms[0], name, await member.token(name))
        second = await enter(stack.rooms[0], name, await guest.token(name, name="Gus"))
        late = await other_guest.token(name, name="Late")
        with pytest.raises(ConnectionError, match=r"4009.*max_participants 2"):
            await RoomClient.join(stack.rooms[0].url, name, token=late["token"], timeout=5)
        host = await enter(stack.rooms[0], name, await owner.token(name))  # the owner always gets in
        for client in (first, second, host):
            await client.close()


class TestOpenBoards:
    async def test_nobody_takes_over_an_open_board_someone_drew_on(
        self, stack: Stack, people: list[Person]
    ) -> None:
        owner, _, guest, _ = people
        name = f"open-{secrets.token_hex(4)}"
        drawer = await enter(stack.rooms[0], name, await guest.token(name, name="Gus"))
        assert await draws(drawer)  # acked: in the op log (maybe not yet in SQL)

        taken = await owner.http.post("/api/v1/sessions", json={"name": name, "visibility": "private"})
        assert taken.status_code == 409, taken.text
        assert "drawn on" in taken.json()["detail"]
        assert await draws(drawer)
        unused = await owner.http.post("/api/v1/sessions", json={"name": f"open-{secrets.token_hex(4)}"})
        assert unused.status_code == 201
        await drawer.close()


class TestLogout:
    @staticmethod
    async def logins(stack: Stack, count: int) -> tuple[list[Person], str]:
        """One account logged in `count` times (two browsers); and its password."""
        username, password = f"lo-{secrets.token_hex(4)}", secrets.token_urlsafe(12)
        browsers = [httpx.AsyncClient(base_url=stack.service.url, timeout=30) for _ in range(count)]
        assert (
            await browsers[0].post("/api/v1/users", json={"username": username, "password": password})
        ).status_code == 201
        for http in browsers:
            credentials = {"username": username, "password": password}
            assert (await http.post("/api/v1/auth/login", json=credentials)).status_code == 200
        return [Person(http) for http in browsers], password

    async def test_logging_out_closes_that_login_s_connections_everywhere_and_renews_nothing(
        self, stack: Stack, people: list[Person]
    ) -> None:
        owner = people[0]
        (laptop, phone), _ = await self.logins(stack, 2)
        sessions = [await new_session(owner), await new_session(owner)]
        first = await laptop.token(sessions[0])
        renewed = await laptop.token(sessions[0], bearer=first["token"])  # a background renewal
        elsewhere = await laptop.token(sessions[1])
        on_laptop = [
            await enter(stack.rooms[0], sessions[0], first),
            await enter(stack.rooms[1], sessions[0], renewed),
            await enter(stack.rooms[1], sessions[1], elsewhere),
        ]
        on_phone = await enter(stack.rooms[0], sessions[0], await phone.token(sessions[0]))
        host = await enter(stack.rooms[1], sessions[0], await owner.token(sessions[0]))

        assert (await laptop.http.post("/api/v1/auth/logout")).status_code == 204
        for client in on_laptop:
            assert "logged out" in await closed_with(client, CloseCode.REVOKED, within=2.0)
        refused = await laptop.join(sessions[0], bearer=renewed["token"])
        assert refused.status_code == 403
        assert "logged out" in refused.json()["detail"]
        for room in stack.rooms:
            with pytest.raises(ConnectionError, match="4013"):
                await RoomClient.join(room.url, sessions[0], token=renewed["token"], timeout=5)
        # The same account's other login, and everyone else, go on drawing.
        for client in (on_phone, host):
            assert await draws(client)
            await client.close()
        for person in (laptop, phone):
            await person.http.aclose()

    async def test_a_password_change_closes_the_other_logins_connections(
        self, stack: Stack, people: list[Person]
    ) -> None:
        owner = people[0]
        (mine, stolen), password = await self.logins(stack, 2)
        session = await new_session(owner)
        thief = await enter(stack.rooms[1], session, await stolen.token(session))
        me = await enter(stack.rooms[0], session, await mine.token(session))
        change = {"current_password": password, "new_password": secrets.token_urlsafe(12)}
        assert (await mine.http.post("/api/v1/auth/password", json=change)).status_code == 204
        assert "password was changed" in await closed_with(thief, CloseCode.REVOKED, within=2.0)
        assert await draws(me)
        await me.close()
        for person in (mine, stolen):
            await person.http.aclose()
