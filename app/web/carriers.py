"""Carriers: the inbound trunks calls enter through (admins change them, staff read them)."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.access import admin_required, staff_required
from app.database.models.client import ACTIVE_STATUSES
from app.domain.errors import Forbidden
from app.domain.roles import Role
from app.schemas.carrier_schemas import (CarrierCreateSchema, CarrierQuerySchema,
                                         CarrierUpdateSchema)
from app.services import carrier_service
from app.services.pjsip_service import DEFAULT_CODECS, DEFAULT_DTMF_MODE, DEFAULT_TRANSPORT
from app.web.clients import sip_constraints
from app.web.forms import FormState, form_page, form_status, post_form, read_query

bp = Blueprint("web_carriers", __name__)
CARRIER_FIELDS = ["name", "status", "identify_ips", "codecs", "transport", "dtmf_mode"]


@bp.get("/carriers")
@staff_required
def carriers():
    args, state = read_query(CarrierQuerySchema(), ["q", "status"])
    return render_template("carriers/list.html", page=carrier_service.list_carriers(**args),
                           form=state, filters={k: v for k, v in state.values.items() if v},
                           statuses=ACTIVE_STATUSES)


def carrier_values(carrier) -> dict:
    return {"name": carrier.name, "status": carrier.status,
            "identify_ips": "\n".join(carrier.identify_ips), "codecs": ", ".join(carrier.codecs),
            "transport": carrier.transport, "dtmf_mode": carrier.dtmf_mode}


@bp.route("/carriers/new", methods=["GET", "POST"])
@admin_required
def new_carrier():
    state = FormState(values={"status": "active", "transport": DEFAULT_TRANSPORT,
                              "codecs": ", ".join(DEFAULT_CODECS), "dtmf_mode": DEFAULT_DTMF_MODE}
                      ).with_limits(CarrierCreateSchema())
    return form_page(
        lambda: post_form(state, CarrierCreateSchema(), carrier_service.create_carrier),
        saved=lambda carrier: (f"Carrier {carrier.name} created (endpoint {carrier.endpoint_id}).",
                               url_for(".carriers")),
        show=lambda: _carrier_form(state, carrier=None))


@bp.route("/carriers/<id:carrier_id>", methods=["GET", "POST"])
@staff_required
def carrier(carrier_id):
    current = carrier_service.get_carrier(carrier_id)
    state = FormState(values=carrier_values(current)).with_limits(CarrierUpdateSchema())
    if request.method == "POST" and current_user.role != Role.ADMIN:
        raise Forbidden("Only admins change carriers.")
    return form_page(
        lambda: post_form(state, CarrierUpdateSchema(),
                          lambda data: carrier_service.update_carrier(carrier_id, data)),
        saved=lambda carrier: (f"Carrier {carrier.name} saved.", url_for(".carriers")),
        show=lambda: _carrier_form(state, carrier=current))


@bp.post("/carriers/<id:carrier_id>/delete")
@admin_required
def delete_carrier(carrier_id):
    carrier_service.delete_carrier(carrier_id)
    flash("Carrier deleted, with its endpoint.", "success")
    return redirect(url_for(".carriers"))


def _carrier_form(state: FormState, *, carrier):
    return render_template("carriers/form.html", form=state.place(CARRIER_FIELDS),
                           carrier=carrier, statuses=ACTIVE_STATUSES, sip=sip_constraints(),
                           read_only=current_user.role != Role.ADMIN), form_status(state)
