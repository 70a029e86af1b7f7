from flask_login import current_user, login_user, logout_user
from flask_smorest import Blueprint

from app.api.schemas.user_schemas import LoginSchema, UserSchema
from app.services import auth_service
from app.utils.decorators import login_required

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Log in and out")


@blp.post("/login")
@blp.arguments(LoginSchema)
@blp.response(200, UserSchema)
def login(credentials):
    """Log in with username (or email) and password; sets the session cookie."""
    user = auth_service.authenticate(credentials["username"], credentials["password"])
    login_user(user)
    return user


@blp.post("/logout")
@blp.response(204)
def logout():
    """End the current session."""
    logout_user()


@blp.get("/me")
@login_required
@blp.response(200, UserSchema)
def me():
    """The logged-in user."""
    return current_user._get_current_object()
