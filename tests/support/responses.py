"""A test client that fails the test the moment any response carries a secret."""
import re

from flask.testing import FlaskClient

BCRYPT_HASH = re.compile(rb"\$2[abxy]\$\d\d\$")
SECRET_KEYS = ("password", "password_hash", "secret")
# The answers that show a webhook's signing secret once (creation and rotation): `secret` is
# their point; passwords and hashes are still checked there.
ONE_TIME_SECRET_PATHS = re.compile(r"^/api/(seller|admin)/webhooks(/\d+/rotate_secret)?$")

# Plain-text passwords the suite uses; tests add theirs with `remember_secret`.
known_secrets: set[str] = set()


def remember_secret(value: str) -> str:
    known_secrets.add(value)
    return value


def assert_no_secret(body: bytes, where: str) -> None:
    assert not BCRYPT_HASH.search(body), f"bcrypt hash in response of {where}"
    for secret in known_secrets:
        assert secret.encode() not in body, f"a password appears in the response of {where}"
    method, _, path = where.partition(" ")
    one_time = method == "POST" and ONE_TIME_SECRET_PATHS.match(path)
    for key in SECRET_KEYS:
        if one_time and key == "secret":
            continue
        assert f'"{key}":'.encode() not in body, f"key {key!r} appears in response of {where}"


class SecretCheckingClient(FlaskClient):
    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        if not response.is_streamed:
            request = response.request
            assert_no_secret(response.get_data(), f"{request.method} {request.path}")
        return response
