"""Every password check under attack, against the real PostgreSQL:

- the throttle's check-and-count is one atomic step before bcrypt: however many guesses arrive
  at once, from threads or from processes, no more than the limit are checked;
- the account limit belongs to the user matched, whatever spelling was typed (username, email,
  case, spaces), and to the normalised string when no user matches;
- the current-password check of POST /api/auth/password and of the account page is throttled
  the same way (and shares the account's count with the login);
- no request holds a pooled connection while bcrypt runs: a burst of bad logins under a
  threaded server never makes an unrelated admin request fail;
- a check takes the same time whatever the stored hash's cost (and for unknown users), and a
  successful login remakes a hash whose cost is not the configured one.
"""
import hashlib
import multiprocessing
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import bcrypt as pybcrypt
import pytest
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from tests.support.logins import SAMPLE_LOGINS

WRONG = "wrong-password-123"


def _login(client, username, password, address="198.51.100.7"):
    return client.post("/api/auth/login", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def _parallel(count, work):
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


@pytest.mark.parametrize("same_address", [False, True])
def test_parallel_guesses_never_get_past_the_account_limit(app, same_address):
    def guess(i):
        address = "198.51.100.7" if same_address else f"198.51.100.{i + 10}"
        return _login(app.test_client(), "seller1", WRONG, address).status_code

    statuses = _parallel(30, guess)
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) == 25
    assert _login(app.test_client(), "seller1", SAMPLE_LOGINS["seller1"][1],
                  "203.0.113.99").status_code == 429


def test_parallel_guesses_never_get_past_the_address_limit(app):
    def guess(i):  # 40 accounts, one address
        return _login(app.test_client(), f"nobody-{i}", WRONG, "192.0.2.77").status_code

    statuses = _parallel(40, guess)
    assert statuses.count(401) == 20 and statuses.count(429) == 20, statuses


def _guess_in_process(uri, barrier, results, index):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": uri})

    def guess(i):
        client = app.test_client()
        barrier.wait()
        return _login(client, "staff", WRONG, f"198.51.{index}.{i + 1}").status_code

    with ThreadPoolExecutor(6) as pool:
        results.extend(list(pool.map(guess, range(6))))


def test_parallel_guesses_from_several_processes_never_get_past_the_limit(app, database_server):
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier, results = manager.Barrier(4 * 6, timeout=120), manager.list()
        processes = [context.Process(target=_guess_in_process,
                                     args=(database_server.uri, barrier, results, index))
                     for index in range(4)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(180)
            assert process.exitcode == 0
        statuses = list(results)
    assert len(statuses) == 24
    assert statuses.count(401) == 5 and statuses.count(429) == 19, statuses


@pytest.mark.parametrize("spellings", [
    ["seller1", "SELLER1", "seller1@acmeleads.example", " Seller1@AcmeLeads.Example ", "sEllEr1"],
    ["Nobody-Here", "nobody-here", " NOBODY-HERE", "nobody-here ", "nobody-HERE"],
])
def test_the_account_limit_counts_every_spelling_of_the_same_account(client, spellings):
    for i, spelling in enumerate(spellings):  # five failures, five addresses, five spellings
        assert _login(client, spelling, WRONG, f"198.51.100.{i + 1}").status_code == 401
    for spelling in spellings[:2]:
        blocked = _login(client, spelling, SAMPLE_LOGINS["seller1"][1], "203.0.113.50")
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    # another account is not affected
    assert _login(client, "seller2", SAMPLE_LOGINS["seller2"][1], "203.0.113.50").status_code == 200


def test_a_success_gives_the_address_its_attempt_back(client):
    """An office behind one address logs in all day: successes do not use up its limit."""
    for _ in range(30):
        assert _login(client, "staff", SAMPLE_LOGINS["staff"][1], "192.0.2.88").status_code == 200


def _change(client, current, address="198.51.100.7"):
    return client.post("/api/auth/password", environ_base={"REMOTE_ADDR": address},
                       json={"current_password": current, "new_password": "a-brand-new-password-1"})


def test_the_current_password_check_is_throttled_like_a_login(client, auth):
    assert auth.login("seller1").status_code == 200
    for i in range(5):
        response = _change(client, f"{WRONG}-{i}", f"198.51.100.{i + 1}")
        assert response.status_code == 422, response.json
    blocked = _change(client, SAMPLE_LOGINS["seller1"][1], "203.0.113.5")
    assert blocked.status_code == 429
    assert blocked.json["error"]["code"] == "too_many_requests"
    assert int(blocked.headers["Retry-After"]) > 0
    # the same account's logins are blocked too: the session thief gains nothing elsewhere
    assert _login(auth._client, "seller1", SAMPLE_LOGINS["seller1"][1], "203.0.113.6").status_code == 429


def test_parallel_current_password_guesses_never_get_past_the_limit(app, auth):
    assert auth.login("seller1").status_code == 200
    cookie = auth._client.get_cookie("session").value

    def guess(i):
        thief = app.test_client()
        thief.set_cookie("session", cookie)
        return _change(thief, f"{WRONG}-{i}", f"198.51.100.{i + 1}").status_code

    statuses = _parallel(20, guess)
    assert statuses.count(422) == 5 and statuses.count(429) == 15, statuses


def test_the_account_page_is_throttled_too(pages):
    pages.login("seller1")
    for i in range(5):
        response = pages.post("/account", {"current_password": f"{WRONG}-{i}",
                                           "new_password": "a-brand-new-password-1",
                                           "confirm_password": "a-brand-new-password-1"})
        assert response.status_code == 422
    response = pages.post("/account", {"current_password": SAMPLE_LOGINS["seller1"][1],
                                       "new_password": "a-brand-new-password-1",
                                       "confirm_password": "a-brand-new-password-1"})
    assert response.status_code == 429 and response.mimetype == "text/html"
    assert "Retry-After" in response.headers


def _hash(password, cost):
    """A hash as the app makes them (Flask-Bcrypt pre-hashes with SHA-256), at any cost."""
    prehashed = hashlib.sha256(password.encode()).hexdigest().encode()
    return pybcrypt.hashpw(prehashed, pybcrypt.gensalt(rounds=cost)).decode()


def _set_hash(sql, username, password, cost):
    sql("UPDATE users SET password_hash = :hash WHERE username = :username", username=username,
        hash=_hash(password, cost))


def test_a_login_burst_never_makes_another_request_fail(app, sql, database_server):
    """40 bad logins at once for users whose hashes cost 13 (about 0.5 s each), a pool of 2
    connections with a 5 s pool timeout, under a threaded server: the burst answers 401/429
    and the admin's requests meanwhile all answer 200 (holding a connection through bcrypt,
    the burst alone needs 10 s of connection time: requests fail at the pool timeout)."""
    sql("""INSERT INTO users (username, email, password_hash, role, status, full_name, company_name)
           SELECT 'burst-' || n, 'burst-' || n || '@example.com', :hash, 'seller', 'active', '', ''
           FROM generate_series(1, 10) AS n""", hash=_hash("a-burst-password-2026", 13))
    burst_app = create_app("testing", {
        "SQLALCHEMY_DATABASE_URI": database_server.uri,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 2, "max_overflow": 0, "pool_timeout": 5,
                                      "pool_pre_ping": True}})
    server = make_server("127.0.0.1", 0, burst_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    import requests
    try:
        admin = requests.Session()
        assert admin.post(f"{base}/api/auth/login", json={
            "username": "admin", "password": SAMPLE_LOGINS["admin"][1]}, timeout=30).status_code == 200
        stop, admin_statuses = threading.Event(), []

        def admin_requests():
            while not stop.is_set():
                admin_statuses.append(admin.get(f"{base}/api/admin/users", timeout=60).status_code)

        watcher = threading.Thread(target=admin_requests)
        watcher.start()
        burst = _parallel(40, lambda i: requests.post(  # 4 guesses for each of 10 users
            f"{base}/api/auth/login", json={"username": f"burst-{i % 10 + 1}", "password": WRONG},
            timeout=120).status_code)
        stop.set()
        watcher.join(120)
    finally:
        server.shutdown()
        with burst_app.app_context():
            db.engine.dispose()
    assert set(burst) <= {401, 429} and burst.count(401) >= 10, burst
    assert admin_statuses and set(admin_statuses) == {200}, admin_statuses


def _median_login_seconds(client, sql, username, rounds=7):
    """CPU seconds of this thread (the test client runs the request in it, bcrypt included):
    what the server spends, not what other processes on a shared machine make it wait."""
    times = []
    for i in range(rounds):
        sql("DELETE FROM login_throttles")
        started = time.thread_time()
        assert _login(client, username, WRONG, f"198.51.100.{i + 1}").status_code == 401
        times.append(time.thread_time() - started)
    return statistics.median(times)


def test_a_check_takes_the_same_time_whatever_the_stored_cost(client, sql):
    """Configured cost 4 (testing); seller1's hash at 4, staff's at 11 (the sample data's are
    10): a known user with either, and an unknown user, take the time of a cost-11 check."""
    _set_hash(sql, "seller1", SAMPLE_LOGINS["seller1"][1], 4)
    _set_hash(sql, "staff", SAMPLE_LOGINS["staff"][1], 11)
    _login(client, "nobody-warmup", WRONG, "192.0.2.1")  # makes the dummy hashes once
    _login(client, "seller1", WRONG, "192.0.2.1")
    cheap = _median_login_seconds(client, sql, "seller1")
    dear = _median_login_seconds(client, sql, "staff")
    unknown = _median_login_seconds(client, sql, "nobody-at-all")
    for label, seconds in (("cost-4 user", cheap), ("unknown user", unknown)):
        assert 0.6 < seconds / dear < 1.6, (label, seconds, dear)


def test_a_login_remakes_a_hash_whose_cost_is_not_the_configured_one(app, client, sql):
    before = sql("SELECT password_hash, session_version FROM users WHERE username = 'seller1'")[0]
    assert before[0].startswith("$2b$10$")
    audit_before = sql("SELECT count(*) FROM audit_events")[0][0]
    assert _login(client, "seller1", SAMPLE_LOGINS["seller1"][1]).status_code == 200
    after = sql("SELECT password_hash, session_version FROM users WHERE username = 'seller1'")[0]
    assert after[0].startswith(f"$2b${app.config['BCRYPT_LOG_ROUNDS']:02d}$")
    assert after[1] == before[1]  # the same password: the session goes on
    assert sql("SELECT count(*) FROM audit_events")[0][0] == audit_before
    assert client.get("/api/auth/me").status_code == 200
    assert _login(app.test_client(), "seller1", SAMPLE_LOGINS["seller1"][1]).status_code == 200
    # a wrong password never rehashes
    sql("UPDATE users SET password_hash = :h WHERE username = 'seller2'",
        h=_hash("seller2-password-2026", 5))
    assert _login(client, "seller2", WRONG).status_code == 401
    assert sql("SELECT password_hash FROM users WHERE username = 'seller2'")[0][0].startswith("$2b$05$")
