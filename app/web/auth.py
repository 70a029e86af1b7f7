"""Logging in and out, and the front door that sends each role to its dashboard."""
from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from app.domain.errors import TooManyRequests, Unauthorized
from app.schemas.user_schemas import LoginSchema
from app.services import auth_service
from app.web.errors import safe_next
from app.web.forms import FormState, form_document, submit

bp = Blueprint("web_auth", __name__)


def home_for(user) -> str:
    return url_for("web_dashboard.index")


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for(".login"))
    return redirect(home_for(current_user))


@bp.route("/login", methods=["GET", "POST"])
def login():
    target = safe_next(request.values.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(target or home_for(current_user))
    state, status = FormState().with_limits(LoginSchema()), 200
    if request.method == "POST":
        state.values = {"username": request.form.get("username", "")}

        def sign_in(credentials):
            return auth_service.authenticate(credentials["username"], credentials["password"],
                                             address=request.remote_addr)

        try:
            user = submit(LoginSchema(), form_document(LoginSchema()), sign_in, state)
        except (Unauthorized, TooManyRequests) as error:
            user, state.message, status = None, error.message, error.status
        if user is not None:
            login_user(user)
            return redirect(target or home_for(user))
        status = 422 if status == 200 else status
    return render_template("auth/login.html", form=state.place(["username", "password"]),
                           next=target), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        auth_service.end_all_sessions(current_user._get_current_object())
    logout_user()
    return redirect(url_for(".login", logged_out=1))
