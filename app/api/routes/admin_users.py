from flask.views import MethodView

from app.access import admin_required
from app.api.schemas.lists import list_schema
from app.api.smorest import Blueprint, ErrorSchema
from app.schemas.user_schemas import (UserCreateSchema, UserQuerySchema, UserSchema,
                                      UserUpdateSchema)
from app.services import user_service

blp = Blueprint("admin_users", __name__, url_prefix="/api/admin/users",
                description="User administration (admins only)")


@blp.route("")
class Users(MethodView):
    decorators = [admin_required]

    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, list_schema(UserSchema))
    def get(self, args):
        """List users; filter by role, status and a text search."""
        return user_service.list_users(**args).as_dict()

    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    @blp.alt_response(409, schema=ErrorSchema,
                      description="The username or email is taken (code `duplicate`).")
    def post(self, data):
        """Create a user."""
        return user_service.create_user(data)


@blp.route("/<id:user_id>")
class UserById(MethodView):
    decorators = [admin_required]

    @blp.response(200, UserSchema)
    def get(self, user_id):
        """One user."""
        return user_service.get_user(user_id)

    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    @blp.alt_response(409, schema=ErrorSchema,
                      description="The username or email is taken (code `duplicate`), or the "
                                  "change would leave no active admin (code `last_admin`).")
    def patch(self, data, user_id):
        """Change some fields of a user, including a password reset or a status change."""
        return user_service.update_user(user_id, data)

    @blp.response(204)
    @blp.alt_response(409, schema=ErrorSchema,
                      description="The last active admin (code `last_admin`), or a user who "
                                  "owns DIDs, campaigns or calls (code `user_in_use`).")
    def delete(self, user_id):
        """Delete a user who owns nothing; otherwise deactivate them instead."""
        user_service.delete_user(user_id)
