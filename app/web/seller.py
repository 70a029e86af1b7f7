"""A seller's DIDs and campaigns, each campaign with its DIDs and its routing table.

Every service call passes `seller_id=current_user.id`: another seller's campaign or DID is
absent (404), exactly as in the API.
"""
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.access import seller_required
from app.database.models.campaign import CAP_COUNTS, DIAL_TIMEOUT_RANGE, DUPLICATE_ACTIONS
from app.database.models.client import ACTIVE_STATUSES
from app.schemas.campaign_schemas import (CampaignCreateSchema, CampaignQuerySchema,
                                          CampaignUpdateSchema)
from app.schemas.did_schemas import (REGIONS, CampaignDidAttachSchema, DidCreateSchema,
                                     DidQuerySchema, DidUpdateSchema)
from app.schemas.routing_rule_fields import CAMPAIGN_RULE_FIELDS, SETTING_RULE_FIELDS
from app.schemas.routing_setting_schemas import (RoutingSettingCreateSchema,
                                                 RoutingSettingUpdateSchema)
from app.schemas.simulation_schemas import SimulationRequestSchema
from app.services import (call_log_service, campaign_did_service, campaign_service,
                          dashboard_service, did_service, routing_setting_service,
                          simulation_service)
from app.services.routing_setting_service import EDITABLE_FIELDS as SETTING_FIELDS
from app.web.formatting import viewer_timezone, viewer_timezone_name
from app.web.forms import (OMIT, FormState, flash_conflicts, form_document, form_status,
                           post_form, read_query)

bp = Blueprint("web_seller", __name__)
DID_FIELDS = ["number", "region", "description", "status"]
CAMPAIGN_FIELDS = ["name", "description", "status", "dial_timeout", *CAMPAIGN_RULE_FIELDS]
LINK_FIELDS = ["client_id", *SETTING_FIELDS]
SIMULATION_FIELDS = ["caller_id", "at"]
DUPLICATE_LABELS = {"allow": "routed as any caller (allow)", "reject": "rejected (reject)",
                    "sticky": "sent back to the client that answered them (sticky)"}
DUPLICATE_OPTIONS = [(action, DUPLICATE_LABELS.get(action, action))
                     for action in DUPLICATE_ACTIONS]
NEW_CAMPAIGN_VALUES = {"status": "active", "dial_timeout": 30, "duplicate_action": "allow",
                       "bid_timeout_ms": 800, "bid_caller_id": "masked"}
NEW_LINK_VALUES = {"status": "active", "forwarding_priority": 1, "weight": 100,
                   "max_concurrency": 1, "cap_counts": "answered"}
MAX_LIST = 100  # the most a select offers (the API's largest page)


def me() -> int:
    return current_user.id


# --- DIDs -------------------------------------------------------------------------------

def _did_document(schema) -> dict:
    return form_document(schema, blank={"region": OMIT})  # no region: the platform's default


@bp.route("/dids", methods=["GET", "POST"])
@seller_required
def dids():
    args, filters = read_query(DidQuerySchema(), ["q", "status"])
    state = FormState(values={"status": "active"}).with_limits(DidCreateSchema())
    if request.method == "POST":
        did = post_form(state, DidCreateSchema(),
                        lambda data: did_service.create_did(data, seller_id=me()),
                        build=_did_document)
        if did is not None:
            flash(f"DID {did.number} added.", "success")
            return redirect(url_for(".dids"))
    page = did_service.list_dids(seller_id=me(), **args)
    campaigns = {c.id: c.name for c in campaign_service.list_campaigns(
        seller_id=me(), per_page=MAX_LIST).items}
    return render_template("seller/dids.html", page=page, form=state.place(DID_FIELDS),
                           filter_form=filters, campaigns=campaigns, regions=REGIONS,
                           statuses=ACTIVE_STATUSES,
                           filters={k: v for k, v in filters.values.items() if v}), form_status(state)


@bp.route("/dids/<id:did_id>", methods=["GET", "POST"])
@seller_required
def did(did_id):
    current = did_service.get_did(did_id, seller_id=me())
    state = FormState(values={"number": current.number, "description": current.description,
                              "status": current.status}).with_limits(DidUpdateSchema())
    if request.method == "POST":
        if post_form(state, DidUpdateSchema(),
                     lambda data: did_service.update_did(did_id, data, seller_id=me()),
                     build=_did_document) is not None:
            flash("DID saved.", "success")
            return redirect(url_for(".dids"))
    return render_template("seller/did_form.html", did=current, form=state.place(DID_FIELDS),
                           regions=REGIONS, statuses=ACTIVE_STATUSES), form_status(state)


@bp.post("/dids/<id:did_id>/delete")
@seller_required
def delete_did(did_id):
    did_service.delete_did(did_id, seller_id=me())
    flash("DID deleted.", "success")
    return redirect(url_for(".dids"))


# --- campaigns --------------------------------------------------------------------------

@bp.route("/campaigns", methods=["GET", "POST"])
@seller_required
def campaigns():
    args, filters = read_query(CampaignQuerySchema(), ["q", "status"])
    state = FormState(values={**NEW_CAMPAIGN_VALUES, "timezone": viewer_timezone_name()}
                      ).with_limits(CampaignCreateSchema())
    if request.method == "POST":
        campaign = post_form(state, CampaignCreateSchema(),
                             lambda data: campaign_service.create_campaign(data, seller_id=me()))
        if campaign is not None:
            flash(f"Campaign {campaign.name} created. Attach DIDs and link clients below.",
                  "success")
            return redirect(url_for(".campaign", campaign_id=campaign.id))
    page = campaign_service.list_campaigns(seller_id=me(), **args)
    load = {c.id: c for c in dashboard_service.campaign_loads(me())}
    return render_template("seller/campaigns.html", page=page, form=state.place(CAMPAIGN_FIELDS),
                           filter_form=filters, load=load, statuses=ACTIVE_STATUSES,
                           timeout_range=DIAL_TIMEOUT_RANGE, duplicate_actions=DUPLICATE_OPTIONS,
                           rule_fields=CAMPAIGN_RULE_FIELDS,
                           filters={k: v for k, v in filters.values.items() if v}), form_status(state)


def _campaign_page(campaign_id: int, *, details: FormState | None = None,
                   attach: FormState | None = None, link: FormState | None = None,
                   setting: tuple[int, FormState] | None = None,
                   simulation: tuple[FormState, object] | None = None):
    campaign = campaign_service.get_campaign(campaign_id, seller_id=me())
    details = details or FormState(values={name: getattr(campaign, name)
                                           for name in CAMPAIGN_FIELDS}
                                   ).with_limits(CampaignUpdateSchema())
    attach = attach or FormState()
    link = link or FormState(values=dict(NEW_LINK_VALUES)).with_limits(RoutingSettingCreateSchema())
    simulate_state, simulated = simulation or (
        FormState().with_limits(SimulationRequestSchema()), None)
    rows = dashboard_service.routing_rows(seller_id=me(), campaign_id=campaign.id)
    linked = {row.client_id for row in rows}
    linkable = [c for c in routing_setting_service.list_linkable_clients(per_page=MAX_LIST).items
                if c.id not in linked]
    attached = campaign_did_service.list_campaign_dids(campaign.id, seller_id=me(),
                                                       per_page=MAX_LIST).items
    free = did_service.list_dids(seller_id=me(), in_campaign=False, per_page=MAX_LIST).items
    return render_template(
        "seller/campaign.html", campaign=campaign, rows=rows, attached=attached,
        duplicate_actions=DUPLICATE_OPTIONS, cap_counts=CAP_COUNTS,
        extra_fields=SETTING_RULE_FIELDS, simulate=simulate_state.place(SIMULATION_FIELDS),
        simulated=simulated, simulated_at=_simulated_at_text(simulate_state),
        client_names=call_log_service.filter_choices(me())["clients"],
        linkable_options=[(c.id, f"{c.name} ({c.client_identifier})") for c in linkable],
        free_did_options=[(d.id, f"{d.number} {d.description}".strip()) for d in free],
        statuses=ACTIVE_STATUSES,
        timeout_range=DIAL_TIMEOUT_RANGE, details=details.place(CAMPAIGN_FIELDS),
        attach=attach.place(["did_id"]), link=link.place(LINK_FIELDS),
        setting_states={setting[0]: setting[1].place(SETTING_FIELDS)} if setting else {},
    ), form_status(details, attach, link, simulate_state, setting and setting[1])


def _campaign_form(campaign_id: int, schema, action, failed_page, saved_message,
                   anchor: str | None = None):
    """One of the campaign page's forms: saved → back to the page with `saved_message(saved)`;
    refused → the page again with the errors where `failed_page(state)` puts them."""
    campaign_service.get_campaign(campaign_id, seller_id=me())  # 404 before anything else
    state = FormState()
    saved = post_form(state, schema, action)
    if saved is None:
        return _campaign_page(campaign_id, **failed_page(state))
    flash(saved_message(saved), "success")
    return redirect(url_for(".campaign", campaign_id=campaign_id, _anchor=anchor))


@bp.route("/campaigns/<id:campaign_id>", methods=["GET", "POST"])
@seller_required
def campaign(campaign_id):
    if request.method == "GET":
        return _campaign_page(campaign_id)
    return _campaign_form(
        campaign_id, CampaignUpdateSchema(),
        lambda data: campaign_service.update_campaign(campaign_id, data, seller_id=me()),
        lambda state: {"details": state}, lambda saved: "Campaign saved.")


@bp.post("/campaigns/<id:campaign_id>/delete")
@seller_required
@flash_conflicts(lambda campaign_id: url_for(".campaign", campaign_id=campaign_id))
def delete_campaign(campaign_id):
    campaign_service.delete_campaign(campaign_id, seller_id=me())
    flash("Campaign deleted; its DIDs are free again.", "success")
    return redirect(url_for(".campaigns"))


@bp.post("/campaigns/<id:campaign_id>/dids")
@seller_required
def attach_did(campaign_id):
    return _campaign_form(
        campaign_id, CampaignDidAttachSchema(),
        lambda data: campaign_did_service.attach_did(campaign_id, data["did_id"], seller_id=me()),
        lambda state: {"attach": state},
        lambda did: f"DID {did.number} now routes to this campaign.", anchor="dids")


@bp.post("/campaigns/<id:campaign_id>/dids/<id:did_id>/detach")
@seller_required
def detach_did(campaign_id, did_id):
    campaign_did_service.detach_did(campaign_id, did_id, seller_id=me())
    flash("DID detached.", "success")
    return redirect(url_for(".campaign", campaign_id=campaign_id, _anchor="dids"))


@bp.post("/campaigns/<id:campaign_id>/clients")
@seller_required
def link_client(campaign_id):
    return _campaign_form(
        campaign_id, RoutingSettingCreateSchema(),
        lambda data: routing_setting_service.create_setting(campaign_id, data, seller_id=me()),
        lambda state: {"link": state}, lambda setting: "Client linked.", anchor="routing")


@bp.post("/campaigns/<id:campaign_id>/clients/<id:setting_id>")
@seller_required
def update_setting(campaign_id, setting_id):
    """The routing table's row form without JavaScript (with it, the page PATCHes the API)."""
    routing_setting_service.get_setting(campaign_id, setting_id, seller_id=me())
    return _campaign_form(
        campaign_id, RoutingSettingUpdateSchema(),
        lambda data: routing_setting_service.update_setting(campaign_id, setting_id, data,
                                                            seller_id=me()),
        lambda state: {"setting": (setting_id, state)}, lambda setting: "Routing saved.",
        anchor="routing")


@bp.post("/campaigns/<id:campaign_id>/clients/<id:setting_id>/delete")
@seller_required
@flash_conflicts(lambda campaign_id, setting_id: _routing_table(campaign_id))
def unlink_client(campaign_id, setting_id):
    routing_setting_service.delete_setting(campaign_id, setting_id, seller_id=me())
    flash("Client unlinked.", "success")
    return redirect(_routing_table(campaign_id))


def _routing_table(campaign_id: int) -> str:
    return url_for(".campaign", campaign_id=campaign_id, _anchor="routing")


# --- the dry-run simulator ---------------------------------------------------------------

def _local_instant(text: str) -> str:
    """A datetime-local value (no offset) as the instant it names in the viewer's time zone;
    anything else is left for the schema to judge."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=viewer_timezone())
    return moment.isoformat()


def _simulation_document(schema) -> dict:
    document = form_document(schema)
    if document.get("at"):
        document["at"] = _local_instant(document["at"].strip())
    return document


def _simulated_at_text(state: FormState) -> str:
    at = (state.values.get("at") or "").strip()
    zone = viewer_timezone_name()
    if not at:
        return f"now ({zone})"
    return f"at {at.replace('T', ' ')} ({zone})"


@bp.post("/campaigns/<id:campaign_id>/simulate")
@seller_required
def simulate(campaign_id):
    """Where would a call go? The API's simulator (the live routing rules, nothing reserved).
    `?part=result` answers the result alone, for the page's script."""
    campaign = campaign_service.get_campaign(campaign_id, seller_id=me())  # 404 first
    state = FormState()
    result = post_form(state, SimulationRequestSchema(),
                       lambda data: simulation_service.simulate_campaign(
                           campaign_id, seller_id=me(), **data),
                       build=_simulation_document)
    if request.args.get("part") == "result":
        return render_template(
            "seller/_simulation.html", campaign=campaign, simulate=state.place(SIMULATION_FIELDS),
            simulated=result,
            simulated_at=_simulated_at_text(state),
            client_names=call_log_service.filter_choices(me())["clients"],
        ), form_status(state)
    return _campaign_page(campaign_id, simulation=(state, result))
