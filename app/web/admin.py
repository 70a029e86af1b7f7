"""User administration (admins only)."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from app.access import admin_required
from app.database.models.user import USER_STATUSES
from app.domain.roles import ROLES, Role
from app.schemas.user_schemas import UserCreateSchema, UserQuerySchema, UserUpdateSchema
from app.services import user_service
from app.web.forms import (OMIT, FormState, flash_conflicts, form_document, form_page,
                           form_status, post_form, read_query)

bp = Blueprint("web_admin", __name__, url_prefix="/admin")
USER_FIELDS = ["username", "email", "password", "role", "status", "full_name", "company_name"]


@bp.get("/users")
@admin_required
def users():
    args, state = read_query(UserQuerySchema(), ["role", "status", "q"])
    page = user_service.list_users(**args)
    filters = {k: v for k, v in state.values.items() if v}
    return render_template("admin/users.html", page=page, form=state, filters=filters,
                           roles=ROLES, statuses=USER_STATUSES)


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    state = FormState(values={"role": Role.SELLER.value, "status": "active"}
                      ).with_limits(UserCreateSchema())
    return form_page(
        lambda: post_form(state, UserCreateSchema(), user_service.create_user),
        saved=lambda user: (f"User {user.username} created.", url_for(".users")),
        show=lambda: _user_form(state, user=None))


@bp.route("/users/<id:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id):
    user = user_service.get_user(user_id)
    state = FormState(values={name: getattr(user, name) for name in USER_FIELDS
                              if name != "password"}).with_limits(UserUpdateSchema())
    return form_page(
        lambda: post_form(state, UserUpdateSchema(),
                          lambda data: user_service.update_user(user_id, data),
                          build=lambda schema: form_document(schema, blank={"password": OMIT})),
        saved=lambda saved: (f"User {saved.username} saved.", url_for(".users")),
        show=lambda: _user_form(state, user=user))


@bp.post("/users/<id:user_id>/status")
@admin_required
@flash_conflicts(lambda user_id: url_for(".users"))
def set_status(user_id):
    status = request.form.get("status")
    if status not in USER_STATUSES:
        abort(400)
    user = user_service.update_user(user_id, {"status": status})
    flash(f"User {user.username} is now {status}.", "success")
    return redirect(url_for(".users"))


def _user_form(state: FormState, *, user):
    return render_template("admin/user_form.html", form=state.place(USER_FIELDS), user=user,
                           roles=ROLES, statuses=USER_STATUSES), form_status(state)
