"""Access control for API routes: 401 when nobody is logged in, 403 for the wrong role."""
from functools import wraps

from flask_login import current_user

from app.utils.exceptions import Forbidden, Unauthorized


def roles_required(*roles: str):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                raise Unauthorized("Log in first.")
            if current_user.role not in roles:
                raise Forbidden("Your role does not allow this.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


admin_required = roles_required("admin")
staff_required = roles_required("admin", "staff")
seller_required = roles_required("seller")
login_required = roles_required("admin", "staff", "seller")
