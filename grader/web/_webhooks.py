"""Webhook endpoints and outbound deliveries for reviewers: the JSON API and the page.

Endpoints are registered, listed and removed (``grader.webhooks``: the signing secret is answered
once, when the endpoint is made); deliveries (webhooks and ATS callbacks alike,
``grader.deliveries``) are listed with each attempt's response code or error, and any of them can
be replayed: the same request again, as a new delivery signed afresh. The JSON routes take a
session or an API token with the ``webhooks`` scope; the page and its forms a session.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, Response, status
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from grader import deliveries, webhooks
from grader.deliveries import DeliveryPublic
from grader.store import (
    get_delivery,
    list_deliveries,
    list_webhook_endpoints,
)
from grader.web._deps import (
    ReviewerForm,
    ReviewerLogin,
    ReviewerPage,
    ScopedWebhooks,
    ScopedWebhooksRead,
    Service,
    ServiceDep,
    SessionDep,
)
from grader.web._params import AUTH_ERRORS, DeliveryId, EndpointId
from grader.web._render import render
from grader.web._schemas import Problem
from grader.webhooks import EndpointPublic

router = APIRouter()



class EndpointCreate(BaseModel):
    url: str = Field(min_length=1, max_length=2000,
                     json_schema_extra={"pattern": deliveries.URL_PATTERN},
                     description="http or https, a host name or IPv4 address, no credentials "
                                 "(the pattern is checked with a message saying what is wrong)")
    events: list[webhooks.EventType] = Field(min_length=1, max_length=len(webhooks.EventType))
    include_notes: bool = Field(False, description="decision.made carries reviewers' notes")


class EndpointCreated(EndpointPublic):
    secret: str = Field(description="verifies Grader-Signature (docs/webhooks.md); shown only "
                                    "now")


def _create(service: Service, body: EndpointCreate, login: ReviewerLogin) -> EndpointCreated:
    endpoint, secret = webhooks.create_endpoint(service.db, url=body.url,
                                                events=[e.value for e in body.events],
                                                include_notes=body.include_notes,
                                                created_by=login.email)
    return EndpointCreated(**webhooks.endpoint_public(endpoint).model_dump(), secret=secret)


def _remove(service: Service, endpoint_id: int) -> None:
    if not webhooks.remove_endpoint(service.db, endpoint_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"no webhook endpoint {endpoint_id} registered by reviewers (the "
                            "settings' endpoint changes with GRADER_DELIVERIES__WEBHOOK_URL); "
                            "GET /api/review/webhooks lists them")


def _replay(service: Service, delivery_id: int) -> int:
    try:
        replayed = deliveries.replay(service.db, delivery_id)
    except deliveries.DeliveryRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    if replayed is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"no delivery {delivery_id}; GET /api/review/deliveries lists them")
    return replayed


# --- JSON ----------------------------------------------------------------------------------------

@router.get("/api/review/webhooks", response_model=list[EndpointPublic], tags=["webhooks"],
            responses=AUTH_ERRORS)
def api_endpoints(_login: ScopedWebhooksRead, session: SessionDep) -> list[EndpointPublic]:
    """Every webhook endpoint, the settings' one too (never their secrets)."""
    return [webhooks.endpoint_public(endpoint) for endpoint in list_webhook_endpoints(session)]


@router.post("/api/review/webhooks", status_code=201, response_model=EndpointCreated,
             tags=["webhooks"], responses=AUTH_ERRORS)
def api_create_endpoint(login: ScopedWebhooks, body: EndpointCreate, service: ServiceDep
                        ) -> EndpointCreated:
    """Register an endpoint for the events given; its signing secret is answered only now."""
    return _create(service, body, login)


@router.delete("/api/review/webhooks/{endpoint_id}", status_code=204, tags=["webhooks"],
               responses={404: {"model": Problem}, **AUTH_ERRORS})
def api_remove_endpoint(_login: ScopedWebhooks, endpoint_id: EndpointId, service: ServiceDep
                        ) -> Response:
    """Remove an endpoint; its deliveries not yet sent are cancelled, the others kept."""
    _remove(service, endpoint_id)
    return Response(status_code=204)


@router.get("/api/review/deliveries", response_model=list[DeliveryPublic], tags=["webhooks"],
            responses=AUTH_ERRORS)
def api_deliveries(_login: ScopedWebhooksRead, session: SessionDep) -> list[DeliveryPublic]:
    """The latest outbound deliveries (webhooks, ATS callbacks), newest first, with each
    attempt's response code or error."""
    return deliveries.public(session, list_deliveries(session))


@router.post("/api/review/deliveries/{delivery_id}/replay", status_code=202,
             response_model=DeliveryPublic, tags=["webhooks"],
             responses={404: {"model": Problem},
                        409: {"model": Problem, "description": "its webhook endpoint was "
                                                               "removed"}, **AUTH_ERRORS})
def api_replay(_login: ScopedWebhooks, delivery_id: DeliveryId, service: ServiceDep
               ) -> DeliveryPublic:
    """Send a delivery's request again: a new delivery (same body and event id, a fresh
    signature), queued now for the worker."""
    replayed = _replay(service, delivery_id)
    with service.db.read() as session:
        row = get_delivery(session, replayed)
        assert row is not None
        [public] = deliveries.public(session, [row])
    return public


# --- the page ------------------------------------------------------------------------------------

def _page(request: Request, login: ReviewerLogin, session: Session,
          created: EndpointCreated | None = None) -> Response:
    return render(request, "review_webhooks.html.j2", title="Webhooks", login=login,
                  endpoints=[webhooks.endpoint_public(e) for e in list_webhook_endpoints(session)],
                  deliveries=deliveries.public(session, list_deliveries(session)),
                  events=list(webhooks.EventType), created=created)


@router.get("/review/webhooks", include_in_schema=False)
def page_webhooks(request: Request, login: ReviewerPage, session: SessionDep) -> Response:
    return _page(request, login, session)


@router.post("/review/webhooks", include_in_schema=False)
def page_create_endpoint(request: Request, login: ReviewerForm, service: ServiceDep,
                         url: Annotated[str, Form(min_length=1, max_length=2000)],
                         events: Annotated[list[webhooks.EventType], Form(min_length=1)],
                         include_notes: Annotated[bool, Form()] = False) -> Response:
    created = _create(service, EndpointCreate(url=url, events=events,
                                              include_notes=include_notes), login)
    with service.db.read() as session:
        return _page(request, login, session, created=created)


@router.post("/review/webhooks/{endpoint_id}/delete", include_in_schema=False)
def page_remove_endpoint(_login: ReviewerForm, endpoint_id: EndpointId, service: ServiceDep
                         ) -> Response:
    _remove(service, endpoint_id)
    return RedirectResponse("/review/webhooks", status_code=303)


@router.post("/review/deliveries/{delivery_id}/replay", include_in_schema=False)
def page_replay(_login: ReviewerForm, delivery_id: DeliveryId, service: ServiceDep) -> Response:
    replayed = _replay(service, delivery_id)
    return RedirectResponse(f"/review/webhooks#delivery-{replayed}", status_code=303)
