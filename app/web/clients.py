"""Clients (call centers) with their SIP settings, seats and hours (admins and staff)."""
from itertools import zip_longest

from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.access import staff_required
from app.database.models.client import ACTIVE_STATUSES, PJSIP_MODES
from app.database.models.pjsip import PsEndpoint
from app.schemas.client_schemas import (ClientCreateSchema, ClientQuerySchema,
                                        ClientUpdateSchema, PjsipInputSchema,
                                        UpdatedClient)
from app.schemas.routing_rule_fields import CLIENT_RULE_FIELDS
from app.services import client_service
from app.services.pjsip_service import (DEFAULT_CODECS, DEFAULT_DTMF_MODE, DEFAULT_TRANSPORT,
                                        DTMF_MODES, MAX_IDENTIFY_IPS, TRANSPORTS)
from app.services.routing.schedule import WEEKDAYS
from app.services.sip_syntax import AUDIO_CODECS, TEXT_CODECS, VIDEO_CODECS
from app.web.formatting import viewer_timezone_name
from app.web.forms import (OMIT, FormState, field_limits, flash_conflicts, form_document,
                           form_page, form_status, post_form, read_query)

bp = Blueprint("web_clients", __name__)

CLIENT_FIELDS = ["client_identifier", "name", "department", "status", "notes"]
DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                "Saturday", "Sunday")))
SIP_FIELDS = ["pjsip.mode", "pjsip.contact_uri", "pjsip.max_contacts", "pjsip.transport",
              "pjsip.codecs", "pjsip.dtmf_mode", "pjsip.identify_ips", "pjsip.callerid",
              "pjsip.from_user", "pjsip.from_domain", "pjsip.send_pai", "pjsip.nat",
              "pjsip.outbound_auth", "pjsip.outbound_auth.username",
              "pjsip.outbound_auth.password", "pjsip.inbound_auth",
              "pjsip.inbound_auth.username", "pjsip.inbound_auth.password"]
DTMF_LABELS = {
    "rfc4733": "rfc4733 — RTP events (RFC 4733), the usual choice",
    "inband": "inband — tones in the audio (needs ulaw/alaw)",
    "info": "info — SIP INFO messages",
    "auto": "auto — RFC 4733 if offered, else inband",
    "auto_info": "auto_info — RFC 4733 if offered, else SIP INFO",
}


def column_length(model, column: str) -> int:
    """The size of an Asterisk realtime column, to show as the field's limit."""
    return model.__table__.c[column].type.length


def sip_constraints() -> dict:
    """What Asterisk accepts, shown beside the fields: the schemas' own limits."""
    limits = field_limits(PjsipInputSchema())
    return {
        "transports": [(name, f"{name} ({protocol.upper()})")
                       for name, protocol in TRANSPORTS.items()],
        "dtmf_modes": [(mode, DTMF_LABELS.get(mode, mode)) for mode in DTMF_MODES],
        "codec_groups": [("Audio", AUDIO_CODECS), ("Video", VIDEO_CODECS), ("Text", TEXT_CODECS)],
        "max_identify_ips": MAX_IDENTIFY_IPS,
        "contact_max": limits["contact_uri"]["maxlength"],
        "callerid_max": limits["callerid"]["maxlength"],
        "from_max": limits["from_user"]["maxlength"],
        "auth_username_max": limits["outbound_auth.username"]["maxlength"],
        "auth_password_max": limits["outbound_auth.password"]["maxlength"],
        "codecs_max": column_length(PsEndpoint, "allow"),
    }


# --- clients ----------------------------------------------------------------------------

@bp.get("/clients")
@staff_required
def clients():
    args, state = read_query(ClientQuerySchema(), ["q", "status", "mode"])
    page = client_service.list_clients(**args)
    return render_template("clients/list.html", page=page, form=state,
                           filters={k: v for k, v in state.values.items() if v},
                           statuses=ACTIVE_STATUSES, modes=PJSIP_MODES)


def schedule_days(form) -> dict[str, list[list[str]]]:
    """The weekly editor's intervals as posted: {day: [[from, to], …]}, blank rows left out."""
    days = {}
    for day in WEEKDAYS:
        pairs = zip_longest(form.getlist(f"schedule.{day}.from"),
                            form.getlist(f"schedule.{day}.to"), fillvalue="")
        days[day] = [[start.strip(), end.strip()] for start, end in pairs
                     if start.strip() or end.strip()]
    return days


def schedule_document(form):
    """The `schedule` of the API's client document: null for "always open", else the days
    that have intervals (a day left out is closed). The schema judges the intervals."""
    mode = form.get("schedule.mode")
    if mode == "always":
        return None
    if mode != "weekly":
        return mode  # not a mapping: the schema says so
    return {day: intervals for day, intervals in schedule_days(form).items() if intervals}


def client_document(schema, form=None) -> dict:
    """A client form post as the API's client document, with only what its mode uses."""
    form = request.form if form is None else form
    document = form_document(schema, form)
    if "schedule.mode" in form:
        document["schedule"] = schedule_document(form)
    sip_schema = PjsipInputSchema()
    sip = form_document(sip_schema, form, prefix="pjsip.")
    mode = sip.get("mode") or "static"
    if form.getlist("pjsip.outbound_auth")[-1:] == ["on"]:  # either mode
        sip["outbound_auth"] = form_document(sip_schema.fields["outbound_auth"].schema, form,
                                             prefix="pjsip.outbound_auth.",
                                             blank={"password": OMIT})
    else:
        sip["outbound_auth"] = None
    if mode == "static":
        sip.pop("max_contacts", None)
    else:
        sip.pop("contact_uri", None)
        inbound = form_document(sip_schema.fields["inbound_auth"].schema, form,
                                prefix="pjsip.inbound_auth.",
                                blank={"password": OMIT, "username": OMIT})
        if inbound:
            sip["inbound_auth"] = inbound
    document["pjsip"] = sip
    return document


def rule_values(client) -> dict:
    """Seats, time zone, weekly hours and closures as the form shows them."""
    schedule = client.schedule
    return {"max_concurrency": client.max_concurrency, "timezone": client.timezone,
            "ping_budget": client.ping_budget,
            "closures": "\n".join(client.closures or []),
            "schedule.mode": "always" if schedule is None else "weekly",
            "schedule.days": {day: [list(interval) for interval in (schedule or {}).get(day, [])]
                              for day in WEEKDAYS}}


def client_values(client) -> dict:
    """A client document as the form's values (passwords never: only whether one is set)."""
    values = {name: getattr(client, name) for name in CLIENT_FIELDS}
    values.update(rule_values(client))
    sip = client.pjsip
    if sip is None:
        return values
    values.update({
        "pjsip.mode": sip.mode, "pjsip.contact_uri": sip.contact_uri or "",
        "pjsip.max_contacts": sip.max_contacts, "pjsip.transport": sip.transport,
        "pjsip.codecs": ", ".join(sip.codecs), "pjsip.dtmf_mode": sip.dtmf_mode,
        "pjsip.identify_ips": "\n".join(sip.identify_ips), "pjsip.callerid": sip.callerid or "",
        "pjsip.from_user": sip.from_user or "", "pjsip.from_domain": sip.from_domain or "",
        "pjsip.send_pai": sip.send_pai, "pjsip.nat": sip.nat,
        "pjsip.outbound_auth": "on" if sip.outbound_auth else "",
        "pjsip.outbound_auth.username": sip.outbound_auth.username if sip.outbound_auth else "",
        "pjsip.inbound_auth.username": sip.inbound_auth.username if sip.inbound_auth else "",
    })
    return values


NEW_CLIENT_VALUES = {"status": "active", "schedule.mode": "always", "pjsip.mode": "static",
                     "pjsip.transport": DEFAULT_TRANSPORT,
                     "pjsip.codecs": ", ".join(DEFAULT_CODECS),
                     "pjsip.dtmf_mode": DEFAULT_DTMF_MODE, "pjsip.max_contacts": 1}


@bp.route("/clients/new", methods=["GET", "POST"])
@staff_required
def new_client():
    state = FormState(values={**NEW_CLIENT_VALUES, "timezone": viewer_timezone_name()}
                      ).with_limits(ClientCreateSchema())
    return form_page(
        lambda: _post_client(state, ClientCreateSchema(), client_service.create_client),
        saved=lambda client: (f"Client {client.client_identifier} created with its SIP endpoint.",
                              url_for(".client", client_id=client.id)),
        show=lambda: _client_form(state, client=None))


@bp.route("/clients/<id:client_id>", methods=["GET", "POST"])
@staff_required
def client(client_id):
    current = client_service.get_client(client_id)
    state = FormState(values=client_values(current)).with_limits(ClientUpdateSchema())

    def post():
        with UpdatedClient(client_id):  # the SIP rules with the fields' errors, at once
            return _post_client(state, ClientUpdateSchema(),
                                lambda data: client_service.update_client(client_id, data))

    return form_page(
        post, saved=lambda saved: (f"Client {saved.client_identifier} saved.",
                                   url_for(".client", client_id=client_id)),
        show=lambda: _client_form(state, client=current))


def _post_client(state: FormState, schema, action):
    saved = post_form(state, schema, action, build=client_document)
    if saved is None:  # show the posted intervals again, every row of every day
        state.values["schedule.days"] = schedule_days(request.form)
    return saved


def _place_schedule_errors(state: FormState) -> None:
    """The schema names the day in its message ("mon: …"): show it beside that day."""
    for message in state.errors.pop("schedule", []):
        day = message.split(":", 1)[0]
        key = f"schedule.{day}" if day in WEEKDAYS else "schedule"
        state.errors.setdefault(key, []).append(message)


def _client_form(state: FormState, *, client):
    state.place([*CLIENT_FIELDS, *CLIENT_RULE_FIELDS, *SIP_FIELDS])
    _place_schedule_errors(state)
    return render_template("clients/form.html", form=state, client=client,
                           statuses=ACTIVE_STATUSES, sip=sip_constraints(), days=DAY_NAMES), \
        form_status(state)


def _back_to_client(client_id: int) -> str:
    return url_for(".client", client_id=client_id)


@bp.post("/clients/<id:client_id>/delete")
@staff_required
@flash_conflicts(_back_to_client)
def delete_client(client_id):
    client_service.delete_client(client_id, unlink=request.form.get("unlink") == "on")
    flash("Client deleted, with its SIP endpoint.", "success")
    return redirect(url_for(".clients"))


@bp.post("/clients/<id:client_id>/sip_password")
@staff_required
@flash_conflicts(_back_to_client)
def reset_sip_password(client_id):
    result = client_service.reset_sip_password(client_id)
    # Shown this once (the page is never cached); it cannot be read back later.
    return render_template("clients/sip_password.html", result=result)


@bp.post("/clients/<id:client_id>/bid_secret")
@staff_required
def rotate_bid_secret(client_id):
    result = client_service.rotate_bid_secret(client_id)
    # Shown this once (the page is never cached); it cannot be read back later.
    return render_template("clients/bid_secret.html", result=result)
