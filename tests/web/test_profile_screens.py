"""The profile screens over a demo store: an analyst writes a profile with an error, sees it
at its line, fixes it, tests it on the last 30 days, stores it, puts it in force and retires
it; an officer reads profiles but may not write or activate them."""

from __future__ import annotations

from web_support import Site, csrf_of

from quaywatch.domain.access import Role
from quaywatch.risk.profiles.registry import active_profiles
from quaywatch.services import profiles, selection
from quaywatch.services.profiles import ProfileText
from quaywatch.services.worklist import worklist
from quaywatch.web.profiles import TEMPLATE

WRITTEN = TEMPLATE.replace("MY-PROFILE", "WEB-TIMBER").replace(
    'hs6_codes contains "940360" and origin_countries contains "CM"',
    'origin_countries contains "CM"',
)


def test_the_new_profile_template_is_valid() -> None:
    check = profiles.validate_profiles([ProfileText("t", TEMPLATE)]).files[0]
    assert check.ok, check.error


def test_an_analyst_writes_tests_stores_activates_and_retires_a_profile(site: Site) -> None:
    site.login(site.user(Role.ANALYST))
    listed = site.client.get("/profiles")
    assert listed.status_code == 200 and "STARTER-COCAINE" in listed.text
    editor = site.client.get("/profiles/editor")
    assert editor.status_code == 200 and "MY-PROFILE" in editor.text
    token = csrf_of(editor.text)
    broken = WRITTEN.replace("origin_countries contains", "origin_countries containz")
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "containz" in text)
    column = broken.splitlines()[line - 1].index("containz") + 1
    live = site.client.post("/profiles/check", data={"text": broken, "csrf_token": token})
    assert live.status_code == 200 and live.text.lstrip().startswith('<div id="check"')
    assert f"Line {line}, column {column}:" in live.text and "containz" in live.text
    assert '<mark class="fault">c</mark>ontainz' in live.text
    fixed = site.client.post("/profiles/check", data={"text": WRITTEN, "csrf_token": token})
    assert "The profile is valid: WEB-TIMBER version 1." in fixed.text
    tried = site.client.post(
        "/profiles/editor", data={"text": WRITTEN, "action": "trial", "csrf_token": token}
    )
    assert tried.status_code == 200 and "Test on " in tried.text and "WEB-TIMBER v1" in tried.text
    since = profiles.recent_start(site.store, 30)
    row = profiles.trial_profiles(site.store, [ProfileText("t", WRITTEN)], since=since).profiles[0]
    assert "Also hit by profiles in force" in tried.text
    if row.hits:
        assert f"{row.already_hit} of {row.hits} hits" in tried.text
        for overlap in row.overlaps[:3]:
            assert f"{overlap.profile_id}</a> ({overlap.shared})" in tried.text
    stored = site.client.post(
        "/profiles/editor", data={"text": WRITTEN, "action": "save", "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert stored.status_code == 303 and stored.headers["location"] == "/profiles/WEB-TIMBER"
    page = site.client.get("/profiles/WEB-TIMBER")
    assert "draft" in page.text and "Put version 1 in force" in page.text
    site.client.post("/profiles/WEB-TIMBER/activate",
                     data={"version": "1", "csrf_token": csrf_of(page.text)})  # fmt: skip
    assert "WEB-TIMBER" in {p.id for p in active_profiles(site.store).profiles}
    page = site.client.get("/profiles/WEB-TIMBER")
    assert "in force" in page.text
    site.client.post("/profiles/WEB-TIMBER/retire", data={"csrf_token": csrf_of(page.text)})
    assert "WEB-TIMBER" not in {p.id for p in active_profiles(site.store).profiles}
    refused = site.client.post(
        "/profiles/editor", data={"text": "id: [", "action": "save", "csrf_token": token}
    )
    assert refused.status_code == 422 and 'class="error"' in refused.text


def test_the_next_version_starts_from_the_stored_text_and_versions_show_side_by_side(
    site: Site,
) -> None:
    site.login(site.user(Role.ANALYST))
    first = profiles.load_profiles(site.store, [ProfileText("v1", WRITTEN)], actor="ana")
    assert first[0].profile_id == "WEB-TIMBER"
    editor = site.client.get("/profiles/editor?start=WEB-TIMBER&version=1")
    assert "WEB-TIMBER" in editor.text and "origin_countries contains" in editor.text
    second = WRITTEN.replace("version: 1", "version: 2").replace('"CM"', '"CD"')
    profiles.load_profiles(site.store, [ProfileText("v2", second)], actor="ana")
    page = site.client.get("/profiles/WEB-TIMBER")
    assert "WEB-TIMBER@2" in page.text and "WEB-TIMBER@1" in page.text
    assert "side by side" in page.text
    assert site.client.get("/profiles/NOPE").status_code == 404


def test_an_officer_reads_profiles_but_may_not_write_or_activate_them(site: Site) -> None:
    site.login(site.user(Role.TARGETING_OFFICER))
    listed = site.client.get("/profiles")
    assert listed.status_code == 200 and "Write a new profile" not in listed.text
    assert site.client.get("/profiles/editor").status_code == 403
    page = site.client.get("/profiles/STARTER-COCAINE")
    assert page.status_code == 200 and "Retire" not in page.text
    forced = site.client.post(
        "/profiles/STARTER-COCAINE/retire", data={"csrf_token": csrf_of(page.text)}
    )
    assert forced.status_code == 403
    assert "STARTER-COCAINE" in {p.id for p in active_profiles(site.store).profiles}


def test_a_profile_put_in_force_reorders_the_worklist_once_assessed_and_selected_again(
    site: Site,
) -> None:
    strong = WRITTEN.replace("WEB-TIMBER", "WEB-STRONG").replace("weight: 1.0", "weight: 6.0")
    assert "weight: 6.0" in strong
    run = selection.list_selection_runs(site.store)[0]
    before = worklist(site.store, run.run_id, sort="score")
    site.login(site.user(Role.ANALYST))
    editor = site.client.get("/profiles/editor")
    token = csrf_of(editor.text)
    site.client.post("/profiles/editor", data={"text": strong, "action": "save",
                                               "csrf_token": token})  # fmt: skip
    site.client.post("/profiles/WEB-STRONG/activate", data={"version": "1", "csrf_token": token})
    page = site.client.get("/profiles/WEB-STRONG")
    assert "Assess the last 30 days again with the profiles in force" in page.text
    done = site.client.post("/profiles/reassess", data={"profile": "WEB-STRONG",
                                                        "csrf_token": token})  # fmt: skip
    assert done.status_code == 200 and "consignments assessed again" in done.text

    site.client.cookies.clear()
    site.login(site.user(Role.TARGETING_OFFICER))
    listed = site.client.get(f"/worklist?run={run.run_id}")
    again = site.client.post("/worklist/select", data={"run": run.run_id,
                                                       "csrf_token": csrf_of(listed.text)})  # fmt: skip
    assert again.status_code == 200 and "<h1>Worklist</h1>" in again.text
    newest = selection.list_selection_runs(site.store)[0]
    assert newest.run_id != run.run_id and newest.window_from == run.window_from
    after = worklist(site.store, newest.run_id, sort="score")
    flagged = [e for e in after if any(r.code == "profile:WEB-STRONG" for r in e.reasons)]
    assert flagged and all(e.hits.get("profile") for e in flagged)
    assert [e.consignment_id for e in after] != [e.consignment_id for e in before]
    refused = site.client.post("/worklist/select", data={"run": run.run_id})
    assert refused.status_code == 403  # no CSRF token
