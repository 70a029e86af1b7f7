from flask import request
from flask_login import current_user, login_user, logout_user

from app.access import login_required
from app.api.smorest import Blueprint, ErrorSchema
from app.schemas.user_schemas import LoginSchema, PasswordChangeSchema, UserSchema
from app.services import auth_service, user_service

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Log in and out")


@blp.post("/login")
@blp.arguments(LoginSchema)
@blp.response(200, UserSchema)
@blp.alt_response(401, schema=ErrorSchema,
                  description="Wrong username or password, or the account is not active "
                              "(code `invalid_credentials`).")
@blp.alt_response(429, schema=ErrorSchema,
                  description="Too many failed logins for this account or address "
                              "(code `too_many_requests`).",
                  headers={"Retry-After": {"description": "Seconds until logins are accepted",
                                           "schema": {"type": "integer"}}})
def login(credentials):
    """Log in with username (or email) and password; sets the session cookie."""
    user = auth_service.authenticate(credentials["username"], credentials["password"],
                                     address=request.remote_addr)
    login_user(user)
    return user


@blp.post("/logout")
@blp.response(204)
def logout():
    """End the session; every other session of the same user ends too."""
    if current_user.is_authenticated:
        auth_service.end_all_sessions(current_user._get_current_object())
    logout_user()


@blp.post("/password")
@login_required
@blp.arguments(PasswordChangeSchema)
@blp.response(200, UserSchema)
@blp.alt_response(429, schema=ErrorSchema,
                  description="Too many wrong passwords for this account or address, at login "
                              "or here (code `too_many_requests`).",
                  headers={"Retry-After": {"description": "Seconds until checks are accepted",
                                           "schema": {"type": "integer"}}})
def change_password(data):
    """Change your own password (needs the current one). Other sessions end; this one stays."""
    user = user_service.change_own_password(current_user._get_current_object(),
                                            data["current_password"], data["new_password"],
                                            address=request.remote_addr)
    login_user(user)
    return user


@blp.get("/me")
@login_required
@blp.response(200, UserSchema)
def me():
    """The logged-in user."""
    return current_user._get_current_object()
