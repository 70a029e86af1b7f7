from app.access import admin_required
from app.api.schemas.audit_schemas import AuditEventSchema, AuditQuerySchema
from app.api.schemas.lists import list_schema
from app.api.smorest import Blueprint
from app.services import audit_service

blp = Blueprint("admin_audit", __name__, url_prefix="/api/admin/audit",
                description="Who changed what and when (admins only)")


@blp.get("")
@admin_required
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, list_schema(AuditEventSchema))
def list_audit(args):
    """Audit events, newest first; filter by entity and actor."""
    return audit_service.list_events(**args).as_dict()
