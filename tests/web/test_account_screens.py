"""The administrator's account screens over a demo store: the list of users, adding one, a
user's roles, terminals, state, password and tokens; what each change did is said on the
page and in the audit trail; bad input is a form error; an administrator cannot lock
themselves out; other roles are kept out; what users typed is shown as text."""

from __future__ import annotations

import re
from typing import Any

import pytest
from web_support import PASSWORD, Site, csrf_of

from quaywatch.domain.access import Role
from quaywatch.errors import AuthenticationError
from quaywatch.services import accounts
from quaywatch.services.audit import audit_log

TOKEN = re.compile(r'<code class="secret" id="token-secret">(qw_[0-9a-f]{12}_[A-Za-z0-9_-]{43})<')


def _admin(site: Site) -> str:
    name = site.user(Role.ADMIN)
    site.login(name)
    return name


def _post(site: Site, path: str, **fields: Any) -> Any:
    token = csrf_of(site.client.get("/accounts").text)
    return site.client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)


def _add(site: Site, username: str = "", **fields: Any) -> Any:
    given = {"username": username, "role": ["inspector"], "password": PASSWORD,
             "password_again": PASSWORD, **fields}  # fmt: skip
    return _post(site, "/accounts", **given)


def _last(site: Site) -> tuple[str, str, str]:
    event = audit_log(site.store, limit=1)[0]
    return event.actor, event.action, event.object_id


def test_the_list_shows_each_user_to_an_administrator(site: Site) -> None:
    admin = _admin(site)
    accounts.add_user(site.store, "pcs-feed", roles=[Role.FEED], actor="root")
    accounts.create_token(site.store, "pcs-feed", name="feed", actor="root")
    page = site.client.get("/accounts")
    assert page.status_code == 200
    assert '<a href="/accounts" aria-current="page">Accounts</a>' in page.text
    rows = re.findall(r"<tr>\s*<th scope=\"row\"><a href=\"/accounts/([^\"]+)\">.*?</tr>",
                      page.text, re.S)  # fmt: skip
    assert rows == [u.username for u in accounts.list_users(site.store)]
    feed = re.search(r'href="/accounts/pcs-feed">.*?</tr>', page.text, re.S)
    assert feed is not None
    assert "feed" in feed.group(0) and "machine account" in feed.group(0)
    assert '<td class="number">1</td>' in feed.group(0) and "never" in feed.group(0)
    mine = re.search(rf'href="/accounts/{admin}">.*?</tr>', page.text, re.S)
    assert mine is not None and "never" not in mine.group(0)  # logged in just now
    for role in Role:  # every role offered, with what it does
        what = re.search(rf'id="new-role-{role.value}-what" class="sub">([^<]+)<', page.text)
        assert what is not None and len(what.group(1)) > 20, role


@pytest.mark.parametrize("role", [Role.MANAGER, Role.TARGETING_OFFICER, Role.INSPECTOR])
def test_other_roles_are_kept_out(site: Site, role: Role) -> None:
    site.login(site.user(role))
    victim = site.user(Role.ANALYST)
    refused = site.client.get("/accounts")
    assert refused.status_code == 403 and "account:manage" in refused.text
    assert '<a href="/accounts"' not in refused.text
    assert site.client.get(f"/accounts/{victim}").status_code == 403
    home = site.client.get("/", follow_redirects=True).text
    token = csrf_of(home)
    for path, fields in (
        ("/accounts", {"username": "intruder", "role": "admin", "machine": "on"}),
        (f"/accounts/{victim}/disable", {}),
        (f"/accounts/{victim}/roles", {"role": "admin"}),
        (f"/accounts/{victim}/tokens", {"name": "mine", "days": "30"}),
    ):
        answer = site.client.post(path, data={"csrf_token": token, **fields})
        assert answer.status_code == 403, path
    assert accounts.get_user(site.store, victim).roles == (Role.ANALYST,)
    assert [u.username for u in accounts.list_users(site.store)].count("intruder") == 0
    assert accounts.list_tokens(site.store, victim) == ()


def test_a_form_without_its_csrf_token_is_refused(site: Site) -> None:
    _admin(site)
    victim = site.user(Role.ANALYST)
    answer = site.client.post(f"/accounts/{victim}/disable", data={})
    assert answer.status_code == 403 and "The form expired" in answer.text
    assert not accounts.get_user(site.store, victim).disabled


def test_an_administrator_adds_an_inspector_who_can_log_in(site: Site) -> None:
    admin = _admin(site)
    added = _add(site, "Ivo.Peeters", display_name="Ivo Peeters", terminals="MPET, PSA")
    assert added.status_code == 303
    assert added.headers["location"] == "/accounts/ivo.peeters?done=added"
    page = site.client.get(added.headers["location"])
    assert "User ivo.peeters added." in page.text and "Ivo Peeters" in page.text
    user = accounts.get_user(site.store, "ivo.peeters")
    assert (user.roles, user.terminals, user.has_password) == ((Role.INSPECTOR,), ("MPET", "PSA"),
                                                               True)  # fmt: skip
    assert _last(site) == (admin, "user_add", "ivo.peeters")
    assert accounts.login(site.store, "ivo.peeters", PASSWORD, client="t").principal.terminals == {
        "MPET", "PSA"
    }  # fmt: skip

    machine = _add(site, "pcs-feed", role="feed", machine="on", password="", password_again="")
    assert machine.status_code == 303 and not accounts.get_user(site.store, "pcs-feed").has_password


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"username": "a b"}, 422, "username must be 2 to 64 characters"),
        ({"role": []}, 422, "roles: give at least one role"),
        ({"role": "chief"}, 422, "roles: unknown role &#39;chief&#39;"),
        ({"terminals": "MPET <b>"}, 422, "terminals: &#39;&lt;b&gt;&#39; is not a terminal code"),
        ({"password": "short", "password_again": "short"}, 422, "password must have at least 12"),
        ({"password_again": "something else"}, 422, "The two passwords differ."),
        ({"password": "", "password_again": "x"}, 422, "The two passwords differ."),
        ({"machine": "on"}, 422, "A machine account has no password: leave both empty."),
        ({"username": "demo"}, 409, "user demo already exists"),
    ],
)
def test_bad_input_is_said_on_the_form(
    site: Site, fields: dict[str, Any], status: int, message: str
) -> None:
    _admin(site)
    before = accounts.list_users(site.store)
    answer = _add(site, **{"username": "newcomer", "display_name": "Kept Name", **fields})
    assert answer.status_code == status
    assert f'<p class="error" role="alert" id="form-error">{message}' in answer.text
    assert 'value="Kept Name"' in answer.text  # what was typed stays, never the password
    assert PASSWORD not in answer.text
    assert accounts.list_users(site.store) == before


def test_roles_and_terminals_change_and_the_page_says_so(site: Site) -> None:
    admin = _admin(site)
    ivo = site.user(Role.ANALYST)
    changed = _post(site, f"/accounts/{ivo}/roles", role=["inspector", "manager"],
                    terminals="MPET")  # fmt: skip
    assert changed.headers["location"] == f"/accounts/{ivo}?done=roles"
    page = site.client.get(changed.headers["location"])
    assert "Roles and terminals changed." in page.text
    assert re.search(r'id="user-role-inspector" name="role" value="inspector" checked', page.text)
    assert not re.search(r'id="user-role-analyst" name="role" value="analyst" checked', page.text)
    user = accounts.get_user(site.store, ivo)
    assert (user.roles, user.terminals) == ((Role.INSPECTOR, Role.MANAGER), ("MPET",))
    assert _last(site) == (admin, "user_roles_set", ivo)

    refused = _post(site, f"/accounts/{ivo}/roles", role=[], terminals="MPET")
    assert refused.status_code == 422
    assert 'id="roles-error">roles: give at least one role' in refused.text
    missing = _post(site, "/accounts/nobody/roles", role="analyst")
    assert missing.status_code == 404 and "There is no user nobody." in missing.text


def test_disable_and_enable(site: Site) -> None:
    admin = _admin(site)
    ivo = site.user(Role.INSPECTOR, terminals=("MPET",))
    issued = accounts.create_token(site.store, ivo, name="tablet", actor="root")
    disabled = _post(site, f"/accounts/{ivo}/disable")
    assert disabled.headers["location"] == f"/accounts/{ivo}?done=disabled"
    page = site.client.get(disabled.headers["location"])
    assert "Account disabled" in page.text and "Enable the account" in page.text
    assert "A disabled account gets no token" in page.text
    with pytest.raises(AuthenticationError):
        accounts.authenticate_token(site.store, issued.token)
    assert _last(site) == (admin, "user_disable", ivo)
    again = _post(site, f"/accounts/{ivo}/disable")
    assert again.status_code == 409 and f"user {ivo} is already disabled" in again.text

    enabled = _post(site, f"/accounts/{ivo}/enable")
    assert enabled.headers["location"] == f"/accounts/{ivo}?done=enabled"
    assert "Account enabled again." in site.client.get(enabled.headers["location"]).text
    assert not accounts.get_user(site.store, ivo).disabled


def test_an_administrator_cannot_lock_themselves_out(site: Site) -> None:
    admin = _admin(site)
    site.user(Role.ADMIN)  # not the last administrator: the rule for oneself speaks
    own = site.client.get(f"/accounts/{admin}")
    assert "another administrator must disable it" in own.text
    assert f'action="/accounts/{admin}/disable"' not in own.text
    disabled = _post(site, f"/accounts/{admin}/disable")
    assert disabled.status_code == 409
    assert f"{admin} cannot disable their own account" in disabled.text
    demoted = _post(site, f"/accounts/{admin}/roles", role="manager", terminals="")
    assert demoted.status_code == 409
    assert f"{admin} cannot take account:manage (the role admin) from themselves" in demoted.text
    user = accounts.get_user(site.store, admin)
    assert user.roles == (Role.ADMIN,) and not user.disabled
    assert site.client.get("/accounts").status_code == 200  # still logged in, still admin


def test_a_password_is_set_and_works(site: Site) -> None:
    admin = _admin(site)
    ivo = site.user(Role.INSPECTOR)
    differ = _post(site, f"/accounts/{ivo}/password", password="a new long password",
                   password_again="a new long passwort")  # fmt: skip
    assert differ.status_code == 422 and 'id="password-error">The two passwords differ.' in (
        differ.text
    )
    short = _post(site, f"/accounts/{ivo}/password", password="short", password_again="short")
    assert short.status_code == 422 and "password must have at least 12 characters" in short.text
    done = _post(site, f"/accounts/{ivo}/password", password="a new long password",
                 password_again="a new long password")  # fmt: skip
    assert done.headers["location"] == f"/accounts/{ivo}?done=password"
    assert "New password set" in site.client.get(done.headers["location"]).text
    assert _last(site) == (admin, "user_password_reset", ivo)
    assert accounts.login(site.store, ivo, "a new long password", client="t").principal.name == ivo


def test_a_token_is_issued_shown_once_and_revoked(site: Site) -> None:
    admin = _admin(site)
    ana = site.user(Role.ANALYST, Role.MANAGER)
    made = _post(site, f"/accounts/{ana}/tokens", name="notebook <scripts>", role="manager",
                 days="30")  # fmt: skip
    assert made.status_code == 201
    found = TOKEN.search(made.text)
    assert found is not None and "shown this once" in made.text
    secret = found.group(1)
    principal = accounts.authenticate_token(site.store, secret)
    assert principal.roles == {Role.MANAGER}
    (info,) = accounts.list_tokens(site.store, ana)
    assert (info.expires_at - info.created_at).days == 30
    assert _last(site) == (admin, "token_create", info.token_id)
    page = site.client.get(f"/accounts/{ana}")
    assert secret not in page.text and secret.split("_", 2)[2] not in page.text
    assert "notebook &lt;scripts&gt;" in page.text and info.token_id in page.text

    revoked = _post(site, f"/accounts/{ana}/tokens/{info.token_id}/revoke")
    assert revoked.headers["location"] == f"/accounts/{ana}?done=revoked&token={info.token_id}"
    said = site.client.get(revoked.headers["location"]).text
    assert f"Token {info.token_id} revoked" in said
    with pytest.raises(AuthenticationError):
        accounts.authenticate_token(site.store, secret)
    assert _last(site) == (admin, "token_revoke", info.token_id)
    # Not one of that user's tokens: not found, nothing revoked.
    other = site.user(Role.ANALYST)
    theirs = accounts.create_token(site.store, other, name="x", actor="root").info.token_id
    assert _post(site, f"/accounts/{ana}/tokens/{theirs}/revoke").status_code == 404
    assert accounts.list_tokens(site.store, other)[0].state() == "active"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "x", "days": "400"}, "expires_in_days must be 1 to 365, got 400"),
        ({"name": "x", "days": "soon"}, "Days until it expires must be a whole number."),
        ({"name": " ", "days": "30"}, "name must be 1 to 128 printable characters"),
        ({"name": "x", "days": "30", "role": "admin"}, "roles: {user} does not hold admin"),
    ],
)
def test_a_token_form_with_bad_input_is_said_on_the_form(
    site: Site, fields: dict[str, str], message: str
) -> None:
    _admin(site)
    ana = site.user(Role.ANALYST)
    answer = _post(site, f"/accounts/{ana}/tokens", **fields)
    assert answer.status_code == 422
    assert f'id="token-error">{message.format(user=ana)}' in answer.text
    assert TOKEN.search(answer.text) is None and accounts.list_tokens(site.store, ana) == ()


def test_what_users_typed_is_shown_as_text(site: Site) -> None:
    _admin(site)
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    assert _add(site, "mallory", display_name=hostile).status_code == 303
    for path in ("/accounts", "/accounts/mallory"):
        page = site.client.get(path).text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img" in page
        assert "<script>alert" not in page and "<img src=x" not in page


def test_an_unknown_user_is_not_found(site: Site) -> None:
    _admin(site)
    page = site.client.get("/accounts/nobody")
    assert page.status_code == 404 and "There is no user nobody." in page.text
    weird = site.client.get("/accounts/%3Cb%3E")
    assert weird.status_code == 404 and "There is no user &lt;b&gt;." in weird.text
