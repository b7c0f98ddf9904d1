"""The GB/T 47678.5 catalogue is loaded by migration and local extensions are flagged."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from zhili.catalog import service
from zhili.catalog.models import CatalogClass
from zhili.catalog.schemas import LocalClassCreate
from zhili.core.errors import Conflict, Invalid
from zhili.identity.models import User


def _admin(session) -> User:
    return session.scalars(select(User).where(User.username == "admin")).one()


def test_standard_catalogue_has_153_components_and_250_matters(session) -> None:
    counts = dict(session.execute(
        select(CatalogClass.kind, func.count())
        .where(CatalogClass.is_local.is_(False))
        .group_by(CatalogClass.kind)
    ).all())
    assert counts == {"component": 153, "matter": 250}


def test_litter_bin_is_component_03005(session) -> None:
    assert service.get_class(session, "component", "03005").name == "垃圾箱"


def test_unknown_code_is_refused_with_the_code_named(session) -> None:
    with pytest.raises(Invalid, match="99999"):
        service.get_class(session, "matter", "99999")


def test_local_extension_is_flagged_and_needs_an_existing_major(session) -> None:
    admin = _admin(session)
    data = LocalClassCreate(kind="component", code="03950", name="测试站")
    cls = service.add_local_class(session, admin, data)
    assert cls.is_local and cls.major_name == "市容环卫设施"
    with pytest.raises(Conflict):
        service.add_local_class(session, admin, LocalClassCreate(kind="component", code="03950", name="重复"))
    with pytest.raises(Invalid, match="major class 11"):
        service.add_local_class(session, admin, LocalClassCreate(kind="component", code="11901", name="无"))


def test_api_lists_classes_and_refuses_local_codes_outside_9xx(client, admin_headers) -> None:
    resp = client.get("/api/v1/catalog/classes", params={"kind": "matter", "major_code": "06"},
                      headers=admin_headers)
    assert resp.status_code == 200
    assert any(c["code"] == "06010" and c["name"] == "暴露垃圾" for c in resp.json())
    bad = client.post("/api/v1/catalog/classes", json={"kind": "component", "code": "03005", "name": "x"},
                      headers=admin_headers)
    assert bad.status_code == 422
    assert "code" in bad.json()["detail"]


def test_class_names_follow_every_change_and_are_read_once_while_none_comes(session) -> None:
    from sqlalchemy import event

    from zhili.catalog import repository

    def names() -> dict[str, str]:
        return {f"{k}:{c}": n for k, c, n in repository.active_class_names(session)}

    assert names()["component:03005"] == "垃圾箱"
    statements: list[str] = []
    engine = session.get_bind().engine

    def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert names()["component:03005"] == "垃圾箱"
        assert len(statements) == 1  # the fingerprint only: nothing changed, the names are kept
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    new = LocalClassCreate(kind="component", code="03951", name="新站")
    service.add_local_class(session, _admin(session), new)
    assert names()["component:03951"] == "新站"
    bin_ = service.get_class(session, "component", "03005")
    bin_.name = "果皮箱"
    session.flush()
    assert names()["component:03005"] == "果皮箱"
    bin_.active = False
    session.flush()
    assert "component:03005" not in names()
