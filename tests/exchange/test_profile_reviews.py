"""Risk profiles shared by a partner land in a review queue; an analyst accepts one as a DRAFT
(never active until activated) or declines it. Through the commands a user runs, with BEANR
sharing its starter cocaine profile with NLRTM by file, on both stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quaywatch.cli.app import app
from quaywatch.errors import ConflictError
from quaywatch.exchange import reviews
from quaywatch.services import exchange as ex, profiles
from quaywatch.store.store import Store

ROOT = Path(__file__).parents[2]
STARTER = ROOT / "src" / "quaywatch" / "risk" / "profiles" / "starter" / "cocaine-routes.yaml"


def _cli(url: str, keys: Path, *args: str) -> str:
    env = {"QUAYWATCH_DATABASE_URL": url, "QUAYWATCH_KEY_DIR": str(keys),
           "QUAYWATCH_ACTOR": "analyst"}  # fmt: skip
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_shared_profile_waits_for_review_and_is_accepted_as_a_draft(
    store_url: str, tmp_path: Path
) -> None:
    beanr = Store.open(f"sqlite:///{tmp_path / 'beanr.db'}")
    nlrtm = Store.open(store_url)
    try:
        for code, node in (("BEANR", beanr), ("NLRTM", nlrtm)):
            ex.generate_keys(node, tmp_path / code, code, actor="liaison")
            ex.export_root(node, tmp_path / f"{code}.root")
        ex.add_partner(beanr, tmp_path / "NLRTM.root", actor="liaison")
        ex.add_partner(nlrtm, tmp_path / "BEANR.root", actor="liaison")
        body = tmp_path / "share.json"
        ids = []
        for version in (1, 2):
            body.write_text(json.dumps({
                "profile_id": "cocaine-routes", "profile_version": version,
                "title": "Cocaine routes from the west coast of South America",
                "risk_area": "DRUGS", "profile": STARTER.read_text(encoding="utf-8"),
            }))  # fmt: skip
            ids.append(ex.send(beanr, tmp_path / "BEANR", "NLRTM", "risk-profile-share", body,
                               actor="ana").message_id)  # fmt: skip
        ex.export(beanr, tmp_path / "BEANR", tmp_path / "out.jsonl", actor="ana")
        _cli(store_url, tmp_path / "NLRTM", "exchange", "import", str(tmp_path / "out.jsonl"))

        assert profiles.list_profiles(nlrtm) == ()  # nothing loaded on receipt
        listed = _cli(store_url, tmp_path / "NLRTM", "exchange", "profiles")
        assert listed.count("pending") == 2 and "BEANR" in listed
        accepted = _cli(store_url, tmp_path / "NLRTM", "exchange", "profiles", "accept", ids[0])
        assert "as a draft" in accepted
        [draft] = profiles.list_profiles(nlrtm)
        assert draft.status == "draft"
        _cli(store_url, tmp_path / "NLRTM", "exchange", "profiles", "decline", ids[1],
             "--reason", "same as version 1")  # fmt: skip
        states = {p.message_id: (p.status, p.profile_id) for p in ex.shared_profiles(nlrtm)}
        assert states == {ids[0]: ("accepted", draft.profile_id), ids[1]: ("declined", None)}
        again = CliRunner().invoke(
            app,
            ["exchange", "profiles", "accept", ids[1]],
            env={"QUAYWATCH_DATABASE_URL": store_url, "QUAYWATCH_KEY_DIR": str(tmp_path / "NLRTM")},
        )
        assert again.exit_code != 0 and "declined already" in again.output
        assert [p.status for p in profiles.list_profiles(nlrtm)] == ["draft"]
    finally:
        beanr.close()
        nlrtm.close()


def test_an_accept_is_one_transaction_a_failed_one_leaves_no_draft(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    beanr = Store.open(f"sqlite:///{tmp_path / 'beanr.db'}")
    nlrtm = Store.open(store_url)
    try:
        for code, node in (("BEANR", beanr), ("NLRTM", nlrtm)):
            ex.generate_keys(node, tmp_path / code, code, actor="liaison")
            ex.export_root(node, tmp_path / f"{code}.root")
        ex.add_partner(beanr, tmp_path / "NLRTM.root", actor="liaison")
        ex.add_partner(nlrtm, tmp_path / "BEANR.root", actor="liaison")
        body = tmp_path / "share.json"
        body.write_text(json.dumps({
            "profile_id": "cocaine-routes", "profile_version": 1, "title": "Cocaine routes",
            "risk_area": "DRUGS", "profile": STARTER.read_text(encoding="utf-8"),
        }))  # fmt: skip
        message_id = ex.send(beanr, tmp_path / "BEANR", "NLRTM", "risk-profile-share", body,
                             actor="ana").message_id  # fmt: skip
        ex.export(beanr, tmp_path / "BEANR", tmp_path / "out.jsonl", actor="ana")
        ex.import_file(nlrtm, tmp_path / "out.jsonl", actor="ben")

        # The review cannot be recorded (another analyst decided it meanwhile): no draft.
        real = reviews.decide

        def decided_meanwhile(*args: object, **kwargs: object) -> None:
            raise ConflictError(f"shared profile {message_id} was declined already")

        monkeypatch.setattr(reviews, "decide", decided_meanwhile)
        with pytest.raises(ConflictError, match="declined already"):
            ex.accept_profile(nlrtm, message_id, actor="analyst")
        assert profiles.list_profiles(nlrtm) == ()
        monkeypatch.setattr(reviews, "decide", real)

        assert ex.accept_profile(nlrtm, message_id, actor="analyst").status == "accepted"
        with pytest.raises(ConflictError, match="accepted already"):
            ex.accept_profile(nlrtm, message_id, actor="other analyst")
        assert [p.status for p in profiles.list_profiles(nlrtm)] == ["draft"]
    finally:
        beanr.close()
        nlrtm.close()
