"""Cases JSON API: intake, queues and search, detail with timeline, actions (single and batch), standards.

Programs (the 12345 hotline, AI cameras) use the same routes as the console. POSTs accept an
`Idempotency-Key` header: a retry with the same key and body gets the first answer and changes
nothing; the same key with another body is refused (422).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, File, Header, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from zhili.cases import repository
from zhili.cases.config import CaseConfig, config_for
from zhili.cases.schemas import (
    ActionFields,
    BatchItemResult,
    BatchResult,
    CaseActionForm,
    CaseBatchActionForm,
    CaseCreate,
    CaseFilters,
    CasePage,
    CaseRead,
    DispatchRuleCreate,
    DispatchRuleRead,
    DuplicateRead,
    StandardCreate,
    StandardFilters,
    StandardImportReport,
    StandardRead,
    StandardUpdate,
    TaskRead,
)
from zhili.cases.service import idempotency, intake, side_flows, standards, standards_excel, views, workflow
from zhili.cases.states import TABLE, CaseAction, CaseStatus
from zhili.core import clock, geo
from zhili.core.errors import DomainError, NotFound, TooLarge
from zhili.core.unit_of_work import commit_now
from zhili.core.web import PydanticJSONResponse, client_ip
from zhili.identity.deps import CurrentUser, DbSession, require
from zhili.identity.models import User

if TYPE_CHECKING:
    from zhili.cases.models import CaseRecord

router = APIRouter(tags=["cases"])

Reporter = Annotated[User, Depends(require("cases:report"))]
Reader = Annotated[User, Depends(require("cases:read"))]
StandardsManager = Annotated[User, Depends(require("cases:manage_standards"))]
CrsParam = Annotated[geo.CRS, Query(description="CRS of coordinates out: wgs84, gcj02 or bd09")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=100,
        description="retry-safe POST: same key + same body = same answer",
    ),
]
NumberPath = Annotated[str, Path(pattern=r"^\d{14}$", description="the case number")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_IMPORT_BYTES = 5 * 1024 * 1024


async def case_config(request: Request) -> CaseConfig:
    """The calendar and rules for this app's settings (tests override this dependency).

    The light dependencies are `async def`: run in the event loop, they cost no hop through the
    worker threads (each hop wakes the loop from a thread; an action request made seven)."""
    return config_for(request.app.state.settings)


Config = Annotated[CaseConfig, Depends(case_config)]


async def _action_guard(action: CaseAction, user: CurrentUser) -> User:
    """The route guard: 403 unless the user holds a permission the action can ever need."""
    TABLE.ensure_may_attempt(action, user.has)
    return user


ActionUser = Annotated[User, Depends(_action_guard)]


PreferHeader = Annotated[str | None, Header(description="return=minimal: answer with the list item")]


def _wants_minimal(prefer: str | None) -> bool:
    return "return=minimal" in (prefer or "").replace(" ", "")


def _case_body(
    session: Session, user: User, case: CaseRecord, cfg: CaseConfig, crs: geo.CRS, minimal: bool
) -> dict[str, Any]:
    """The case's detail, or with `minimal` its list item (no timeline, evidence, tasks: 3 queries fewer)."""
    if minimal:
        return views.list_item_json(case, clock.now(), crs)
    return views.case_detail(session, user, case, cfg, clock.now(), crs).model_dump(mode="json")


def _once(
    request: Request,
    session: Session,
    user: User,
    key: str | None,
    body: BaseModel,
    produce: Callable[[], tuple[int, dict[str, Any]]],
) -> JSONResponse:
    """Answer with `produce` run once per `Idempotency-Key` and body (a retry gets the first answer),
    the unit of work committed here (core.unit_of_work.commit_now)."""
    fingerprint = ""  # without a key there is nothing to compare it with
    if key is not None:
        fingerprint = idempotency.request_hash("POST", request.url.path, body.model_dump(mode="json"))
    status, answer, replayed = idempotency.run_once(session, user.id, key, fingerprint, produce)
    commit_now(session)
    return PydanticJSONResponse(
        answer, status_code=status, headers={"Idempotent-Replayed": "true"} if replayed else None
    )


@router.post(
    "/cases",
    response_model=CaseRead,
    status_code=201,
    responses={
        409: {"description": "a request with this key is in flight"},
        422: {"description": "bad input (unknown class, outside the district, key reused…)"},
    },
)
def report(
    data: CaseCreate,
    request: Request,
    session: DbSession,
    user: Reporter,
    cfg: Config,
    key: IdempotencyKey = None,
    prefer: PreferHeader = None,
) -> JSONResponse:
    """Open a case (inspector, public, 12345 hotline, video/AI, leader, department, self-handled).

    `Prefer: return=minimal` (RFC 7240) answers with the list item instead of the full detail.
    """
    minimal = _wants_minimal(prefer)

    def produce() -> tuple[int, dict[str, Any]]:
        case = intake.report_case(session, user, data, cfg, client_ip=client_ip(request))
        return 201, _case_body(session, user, case, cfg, "wgs84", minimal)

    return _once(request, session, user, key, data, produce)


@router.get("/cases", response_model=CasePage)
def list_cases(
    session: DbSession, user: Reader, filters: Annotated[CaseFilters, Query()], crs: CrsParam = "wgs84"
) -> JSONResponse:
    """Cases the caller may see; queues are `queue=to_verify|to_register|to_dispatch|to_handle|to_check|…`."""
    now = clock.now()
    rows, has_more, total = repository.list_cases(session, user, filters, now=now)
    # CasePage's shape, built without the models (see views.list_item_json); the model documents it.
    answer = PydanticJSONResponse({
        "items": [views.list_item_json(c, now, crs) for c in rows],
        "page": filters.page,
        "page_size": filters.page_size,
        "has_more": has_more,
        "total": total,
    })
    commit_now(session)  # the read ends here, not in another trip through a worker thread
    return answer


def _visible(session: DbSession, user: User, number: str) -> Any:
    case = repository.get_visible(session, user, number)
    if case is None:
        raise NotFound(f"No case {number} that you may see.")
    return case


@router.get("/cases/{number}", response_model=CaseRead)
def get_case(
    number: NumberPath, session: DbSession, user: Reader, cfg: Config, crs: CrsParam = "wgs84"
) -> CaseRead:
    """A case with its clock, timeline, evidence, tasks and the actions the caller can take now."""
    return views.case_detail(session, user, _visible(session, user, number), cfg, clock.now(), crs)


@router.get("/cases/{number}/duplicates", response_model=list[DuplicateRead])
def duplicates(number: NumberPath, session: DbSession, user: Reader, cfg: Config) -> list[DuplicateRead]:
    """Open cases of the same class near this one in place and time: candidates for `merge`."""
    case = _visible(session, user, number)
    return [
        DuplicateRead(
            number=o.number,
            status=CaseStatus(o.status),
            reported_at=o.reported_at,
            distance_m=round(d, 1),
            address=o.address,
        )
        for o, d in side_flows.propose_duplicates(session, case, cfg, user=user)
    ]


@router.post(
    "/cases/{number}/actions/{action}",
    response_model=CaseRead,
    responses={
        403: {"description": "not for your role, department or task"},
        409: {"description": "stale version, or not possible in this state (allowed_actions)"},
    },
)
def act(
    number: NumberPath,
    action: CaseAction,
    form: CaseActionForm,
    request: Request,
    session: DbSession,
    user: ActionUser,
    cfg: Config,
    key: IdempotencyKey = None,
    crs: CrsParam = "wgs84",
    prefer: PreferHeader = None,
) -> JSONResponse:
    """Apply one named action with the `version` read; see ActionFields for what each action needs.

    `Prefer: return=minimal` (RFC 7240) answers with the list item instead of the full detail.
    """
    minimal = _wants_minimal(prefer)

    def produce() -> tuple[int, dict[str, Any]]:
        fields = form.model_dump(exclude={"version"})
        case = workflow.perform_action(
            session,
            user,
            number,
            action,
            ActionFields(**fields),
            cfg,
            version=form.version,
            client_ip=client_ip(request),
        )
        return 200, _case_body(session, user, case, cfg, crs, minimal)

    return _once(request, session, user, key, form, produce)


@router.post("/cases/actions/{action}/batch", response_model=BatchResult)
def act_in_batch(
    action: CaseAction,
    form: CaseBatchActionForm,
    request: Request,
    session: DbSession,
    user: ActionUser,
    cfg: Config,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """The same action on many cases; each case succeeds or fails alone (its own savepoint)."""

    def produce() -> tuple[int, dict[str, Any]]:
        fields = ActionFields(**form.model_dump(exclude={"items"}))
        results: list[BatchItemResult] = []
        for item in form.items:
            try:
                with session.begin_nested():
                    case = workflow.perform_action(
                        session,
                        user,
                        item.number,
                        action,
                        fields,
                        cfg,
                        version=item.version,
                        client_ip=client_ip(request),
                    )
                results.append(
                    BatchItemResult(
                        number=item.number,
                        ok=True,
                        status=200,
                        version=case.version,
                        case_status=CaseStatus(case.status),
                    )
                )
            except DomainError as exc:
                results.append(
                    BatchItemResult(number=item.number, ok=False, status=exc.status_code, detail=exc.detail)
                )
            except (StaleDataError, IntegrityError):
                results.append(
                    BatchItemResult(
                        number=item.number,
                        ok=False,
                        status=409,
                        detail="changed by someone else meanwhile; reload and retry",
                    )
                )
        done = sum(r.ok for r in results)
        body = BatchResult(action=action, done=done, failed=len(results) - done, results=results)
        return 200, body.model_dump(mode="json")

    return _once(request, session, user, key, form, produce)


@router.get("/case-tasks", response_model=list[TaskRead])
def my_tasks(session: DbSession, user: Reader) -> list[TaskRead]:
    """The caller's open verify (核实) and check (核查) tasks, the most urgent first."""
    if user.staff_id is None:
        return []
    return [
        TaskRead.model_validate(task).model_copy(update={"case_number": number})
        for task, number in repository.open_tasks_for(session, user.staff_id)
    ]


# --- 立结案标准 -------------------------------------------------------------------------------------


@router.get("/case-standards", response_model=list[StandardRead])
def list_standards(
    session: DbSession, _user: Reader, filters: Annotated[StandardFilters, Query()]
) -> list[StandardRead]:
    return [StandardRead.model_validate(r) for r in repository.list_standards(session, filters)]


@router.get("/case-standards/export", response_class=Response, responses={200: {"content": {XLSX: {}}}})
def export_standards(session: DbSession, _user: Reader) -> Response:
    """The whole standard as an Excel workbook (the import's layout)."""
    return Response(
        standards_excel.export_standards(session),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="case-standards.xlsx"'},
    )


@router.post("/case-standards/import", response_model=StandardImportReport)
async def import_standards(
    request: Request,
    session: DbSession,
    user: StandardsManager,
    file: Annotated[UploadFile, File(description=".xlsx in the export's layout")],
    dry_run: bool = False,
) -> StandardImportReport:
    """Create or update rows from Excel, all or nothing; errors name the row and column."""
    if file.size is not None and file.size > MAX_IMPORT_BYTES:
        raise TooLarge(f"The workbook is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
    return standards_excel.import_standards(
        session, user, file.file, dry_run=dry_run, client_ip=client_ip(request)
    )


@router.post("/case-standards", response_model=StandardRead, status_code=201)
def create_standard(
    data: StandardCreate, request: Request, session: DbSession, user: StandardsManager
) -> StandardRead:
    return StandardRead.model_validate(
        standards.create_standard(session, user, data, client_ip=client_ip(request))
    )


@router.get("/case-standards/{standard_id}", response_model=StandardRead)
def get_standard(standard_id: int, session: DbSession, _user: Reader) -> StandardRead:
    return StandardRead.model_validate(standards.get_standard(session, standard_id))


@router.put("/case-standards/{standard_id}", response_model=StandardRead)
def update_standard(
    standard_id: int, data: StandardUpdate, request: Request, session: DbSession, user: StandardsManager
) -> StandardRead:
    """Edit a row with the `version` read (set `active` false to retire it)."""
    row = standards.update_standard(session, user, standard_id, data, client_ip=client_ip(request))
    return StandardRead.model_validate(row)


@router.get("/case-dispatch-rules", response_model=list[DispatchRuleRead])
def list_dispatch_rules(session: DbSession, _user: Reader) -> list[DispatchRuleRead]:
    return [DispatchRuleRead.model_validate(r) for r in repository.list_dispatch_rules(session)]


@router.post("/case-dispatch-rules", response_model=DispatchRuleRead, status_code=201)
def add_dispatch_rule(
    data: DispatchRuleCreate, request: Request, session: DbSession, user: StandardsManager
) -> DispatchRuleRead:
    """An area rule: this class in this street is suggested to this department (e.g. the street office)."""
    rule = standards.add_dispatch_rule(session, user, data, client_ip=client_ip(request))
    return DispatchRuleRead.model_validate(rule)


@router.delete("/case-dispatch-rules/{rule_id}", status_code=204)
def delete_dispatch_rule(
    rule_id: int, request: Request, session: DbSession, user: StandardsManager
) -> Response:
    standards.delete_dispatch_rule(session, user, rule_id, client_ip=client_ip(request))
    return Response(status_code=204)
