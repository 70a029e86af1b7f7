"""One's own account: who you are, and changing your password."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user

from app.access import login_required
from app.schemas.user_schemas import PasswordChangeSchema
from app.services import user_service
from app.web.forms import FormState, form_document, form_status, submit

bp = Blueprint("web_account", __name__)
PASSWORD_FIELDS = ["current_password", "new_password", "confirm_password"]


@bp.route("/account", methods=["GET", "POST"])
@login_required
def index():
    state = FormState().with_limits(PasswordChangeSchema())
    if request.method == "POST":
        user = current_user._get_current_object()
        if request.form.get("confirm_password", "") != request.form.get("new_password", ""):
            state.errors = {"confirm_password": ["Does not match the new password."]}
        else:
            changed = submit(PasswordChangeSchema(), form_document(PasswordChangeSchema()),
                             lambda data: user_service.change_own_password(
                                 user, data["current_password"], data["new_password"],
                                 address=request.remote_addr), state)
            if changed is not None:
                login_user(changed)  # other sessions ended; this one goes on
                flash("Your password has been changed. Other sessions have been logged out.",
                      "success")
                return redirect(url_for(".index"))
    return render_template("account/index.html", form=state.place(PASSWORD_FIELDS),
                           user=current_user), form_status(state)
