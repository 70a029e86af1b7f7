"""The sample data's logins (sample_data.sql), their passwords remembered as secrets that no
response may carry."""
from tests.support.responses import remember_secret

SAMPLE_LOGINS = {
    "admin": ("admin", remember_secret("admin-password-2026")),
    "staff": ("staff", remember_secret("staff-password-2026")),
    "seller1": ("seller1", remember_secret("seller1-password-2026")),
    "seller2": ("seller2", remember_secret("seller2-password-2026")),
}
