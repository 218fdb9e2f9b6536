"""One-time passwords and the last administrator on the account screens, and errors of the
services in the visitor's language (Starlette's test client over a demo store).

An administrator who leaves the password empty gets a one-time password on the answer only;
its user, once logged in, sees the change-password page before any other (the API refuses
that session too; tokens work); the last enabled administrator is refused with the reason on
the form, in Dutch for a Dutch session; a lab run whose worker stopped shows as stale and is
run again."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from web_support import PASSWORD, Site, csrf_of

from quaywatch.domain.access import Role
from quaywatch.services import accounts, lab_runs
from quaywatch.store import tables
from quaywatch.store.tables import utcnow

ONE_TIME = re.compile(r'<code class="secret" id="one-time-password">([A-Za-z0-9_-]{24})<')
MINE = "my very own password"


def _post(site: Site, path: str, page: str = "/accounts", **fields: Any) -> Any:
    token = csrf_of(site.client.get(page).text)
    return site.client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)


def _login(site: Site, name: str, password: str) -> Any:
    token = csrf_of(site.client.get("/login").text)
    return site.client.post("/login", data={"username": name, "password": password,
                            "csrf_token": token, "next": "/worklist"}, follow_redirects=False)  # fmt: skip


def test_a_user_added_without_a_password_changes_the_one_time_one_first(site: Site) -> None:
    admin = site.user(Role.ADMIN)
    site.login(admin)
    added = _post(site, "/accounts", username="olga", role=["targeting_officer"],
                  password="", password_again="")  # fmt: skip
    assert added.status_code == 201 and "User olga added." in added.text
    found = ONE_TIME.search(added.text)
    assert found is not None
    one_time = found.group(1)
    assert "one-time: to be changed at the next login" in added.text
    assert one_time not in site.client.get("/accounts/olga").text  # shown that once only
    token = accounts.create_token(site.store, "olga", name="script", actor=admin)

    site.client.cookies.clear()
    assert _login(site, "olga", one_time).headers["location"] == "/worklist"
    assert site.client.get("/worklist", follow_redirects=False).headers["location"] == (
        "/password?next=/worklist"
    )
    assert site.client.get("/", follow_redirects=False).headers["location"] == "/password"
    page = site.client.get("/password?next=/worklist")
    assert 'id="password-forced"' in page.text
    api = site.client.get("/api/v1/lane-override-reasons")
    assert api.status_code == 403 and "one-time password" in api.text
    by_token = site.client.get(
        "/api/v1/lane-override-reasons", headers={"Authorization": f"Bearer {token.token}"}
    )
    assert by_token.status_code == 200  # tokens are not affected

    wrong = _post(site, "/password", "/password", current="not the password",
                  password=MINE, password_again=MINE, next="/worklist")  # fmt: skip
    assert wrong.status_code == 403 and "the current password is not right" in wrong.text
    differ = _post(site, "/password", "/password", current=one_time, password=MINE,
                   password_again=MINE + "!", next="/worklist")  # fmt: skip
    assert differ.status_code == 422 and "The two passwords differ." in differ.text
    done = _post(site, "/password", "/password", current=one_time, password=MINE,
                 password_again=MINE, next="/worklist")  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/worklist"
    assert site.client.get("/worklist").status_code == 200
    assert not accounts.get_user(site.store, "olga").must_change_password


def test_a_reset_without_a_password_shows_a_one_time_one(site: Site) -> None:
    site.login(site.user(Role.ADMIN))
    ivo = site.user(Role.INSPECTOR)
    reset = _post(site, f"/accounts/{ivo}/password", password="", password_again="")
    assert reset.status_code == 200 and "New password set" in reset.text
    found = ONE_TIME.search(reset.text)
    assert found is not None
    assert accounts.login(site.store, ivo, found.group(1), client="t").must_change_password


def test_the_last_administrator_is_refused_on_the_form_in_the_visitors_language(
    site: Site,
) -> None:
    admin = site.user(Role.ADMIN)
    site.login(admin)
    refused = _post(site, f"/accounts/{admin}/disable")
    assert refused.status_code == 409
    assert (f'id="state-error">{admin} is the last enabled administrator: make another user '
            "an administrator first") in refused.text  # fmt: skip
    _post(site, "/language", language="nl", next="/accounts")
    demoted = _post(site, f"/accounts/{admin}/roles", role="manager", terminals="")
    assert demoted.status_code == 409
    assert (f'id="roles-error">{admin} is de laatste actieve beheerder: maak eerst een andere '
            "gebruiker beheerder") in demoted.text  # fmt: skip
    _post(site, "/language", language="fr", next="/accounts")
    taken = _post(site, "/accounts", username="demo", role=["analyst"], password=PASSWORD,
                  password_again=PASSWORD)  # fmt: skip
    assert taken.status_code == 409 and "l&#39;utilisateur demo existe déjà" in taken.text
    assert accounts.get_user(site.store, admin).roles == (Role.ADMIN,)


def test_a_lab_run_whose_worker_stopped_shows_as_stale_and_is_run_again(site: Site) -> None:
    name = site.user(Role.MANAGER)
    site.login(name)
    run = lab_runs.start_lab_run(site.store, weeks=1, warmup_weeks=2, per_day=100,
                                 strategies=["rules"], actor=name)  # fmt: skip
    gone = utcnow() - lab_runs.STALE_AFTER - timedelta(minutes=1)
    with site.store.transaction() as conn:
        conn.execute(update(tables.lab_runs).where(tables.lab_runs.c.run_id == run.run_id)
                     .values(state="running", running=1, owner="host:1:dead", started_at=gone,
                             heartbeat_at=gone, queue_slot=None))  # fmt: skip
    page = site.client.get(f"/lab/{run.run_id}")
    assert "stale: its worker stopped" in page.text
    assert "worker stopped answering: it has not said it is alive since" in page.text
    assert 'hx-trigger="every 3s"' not in page.text  # no longer polled
    again = _post(site, f"/lab/{run.run_id}/rerun", f"/lab/{run.run_id}")
    assert again.status_code == 303
    new_id = again.headers["location"].removeprefix("/lab/")
    assert new_id != run.run_id
    # The application's worker may take the new run at once.
    assert lab_runs.lab_run(site.store, new_id).run.state in {
        lab_runs.LabState.QUEUED,
        lab_runs.LabState.RUNNING,
        lab_runs.LabState.DONE,
    }
    assert lab_runs.lab_run(site.store, run.run_id).run.state is lab_runs.LabState.FAILED
    refused = _post(site, f"/lab/{new_id}/rerun", f"/lab/{new_id}")
    assert refused.status_code == 409 and "only a failed run is run again" in refused.text
