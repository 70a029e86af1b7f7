import marshmallow as ma
from marshmallow import validate

from app.database.models.user import USER_STATUSES
from app.domain.roles import ROLES
from app.schemas.common import InputSchema, PaginationQuerySchema, strip_strings

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256

username_field = dict(validate=[
    validate.Length(min=3, max=64),
    validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                    error="Use letters, digits, '.', '_' and '-', starting with a letter or digit."),
])
password_field = dict(
    load_only=True,
    validate=validate.Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
                             error="Passwords need {min} to {max} characters."),
)


class UserSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    username = ma.fields.String()
    email = ma.fields.String()
    role = ma.fields.String()
    status = ma.fields.String()
    full_name = ma.fields.String()
    company_name = ma.fields.String()
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class UserCreateSchema(InputSchema):
    username = ma.fields.String(required=True, **username_field)
    email = ma.fields.Email(required=True, validate=validate.Length(max=254))
    password = ma.fields.String(required=True, **password_field)
    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))
    status = ma.fields.String(load_default="active", validate=validate.OneOf(USER_STATUSES))
    full_name = ma.fields.String(load_default="", validate=validate.Length(max=200))
    company_name = ma.fields.String(load_default="", validate=validate.Length(max=200))

    @ma.pre_load
    def strip(self, data, **kwargs):
        return strip_strings(data, "username", "email") if isinstance(data, dict) else data


class UserUpdateSchema(InputSchema):
    username = ma.fields.String(**username_field)
    email = ma.fields.Email(validate=validate.Length(max=254))
    password = ma.fields.String(**password_field)
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    status = ma.fields.String(validate=validate.OneOf(USER_STATUSES))
    full_name = ma.fields.String(validate=validate.Length(max=200))
    company_name = ma.fields.String(validate=validate.Length(max=200))

    @ma.pre_load
    def strip(self, data, **kwargs):
        return strip_strings(data, "username", "email") if isinstance(data, dict) else data


class UserQuerySchema(PaginationQuerySchema):
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    status = ma.fields.String(validate=validate.OneOf(USER_STATUSES))
    q = ma.fields.String(validate=validate.Length(max=200))


class LoginSchema(InputSchema):
    username = ma.fields.String(required=True, validate=validate.Length(min=1, max=254),
                                metadata={"description": "Username or email"})
    password = ma.fields.String(required=True, load_only=True,
                                validate=validate.Length(min=1, max=MAX_PASSWORD_LENGTH))


class PasswordChangeSchema(InputSchema):
    current_password = ma.fields.String(required=True, load_only=True,
                                        validate=validate.Length(min=1, max=MAX_PASSWORD_LENGTH))
    new_password = ma.fields.String(required=True, **password_field)
