"""User roles: the one definition every check, page and form uses."""
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"    # runs the platform and its users
    STAFF = "staff"    # helps run the platform: clients, carriers, every call; no users
    SELLER = "seller"  # owns DIDs and campaigns, sees their own calls

    @property
    def sees_platform(self) -> bool:
        """Admins and staff see the whole platform; a seller only their own rows."""
        return self in PLATFORM_ROLES


ROLES: tuple[str, ...] = tuple(role.value for role in Role)
PLATFORM_ROLES = frozenset({Role.ADMIN, Role.STAFF})
