"""Issue 12 ("Nothing is lost"): the server-side workspace store (:mod:`ui.store`).

Every store test runs twice: on a SQLite file and on a real PostgreSQL server, a throwaway
cluster that the session fixture :func:`pg_server` makes with Debian's ``initdb`` and ``pg_ctl``
(run as the ``postgres`` user when the tests run as root, else as this user). Without those
binaries the PostgreSQL cases are reported as skipped, with the reason.
"""
import glob
import hashlib
import itertools
import logging
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from clustering.errors import ClusteringError
from ui import store_schema, store_settings
from ui.store import (JOB_STATUSES, RecordNotFound, Store, StoreError, StoreFull,
                      WorkspaceConflict, WorkspaceNotFound)

ROOT = Path(__file__).resolve().parents[1]
CONFLICT = ("This workspace was changed in another tab or window meanwhile; your change was not "
            "saved. The page now shows the current state.")


# ----------------------------------------------------------------------------------- PostgreSQL
def _pg_bindir():
    """The newest Debian PostgreSQL bin directory with initdb and pg_ctl, or None."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")
             if Path(p).with_name("pg_ctl").exists()]
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
               default=None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user():
    """``subprocess`` arguments that run PostgreSQL as ``postgres`` under root (it refuses to
    run as root), else as this user; None when root has no ``postgres`` user."""
    if os.getuid() != 0:
        return {}
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        return None
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL cluster on a free localhost port: its URL without a database
    name. Stopped and removed at the end of the session."""
    bindir, user = _pg_bindir(), _as_user()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); "
                    "apt-get install postgresql, or run scripts/test.sh as root")
    if user is None:
        pytest.skip("running as root without a 'postgres' user to run PostgreSQL as")
    tmp = Path(tempfile.mkdtemp(prefix="cm-pg-"))
    if user:
        os.chown(tmp, user["user"], user["group"])
    port, data = _free_port(), tmp / "data"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    run = dict(cwd=tmp, env=env, check=True, capture_output=True, timeout=60, **user)
    try:
        subprocess.run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                        "-E", "UTF8", "--no-locale", "--no-sync"], **run)
        subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "log"), "-w",
                        "-t", "30", "-o", f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 "
                        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                        "start"], **run)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        log = (tmp / "log").read_text() if (tmp / "log").exists() else ""
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc}\n{getattr(exc, 'stderr', '')}\n{log}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       **{**run, "check": False})
        shutil.rmtree(tmp, ignore_errors=True)


_databases = itertools.count()


def _new_pg_database(server: str) -> str:
    import psycopg

    name = f"store_test_{next(_databases)}"
    with psycopg.connect(server.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """A fresh, empty database of each back-end."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return _new_pg_database(request.getfixturevalue("pg_server"))


@pytest.fixture
def make_store(url):
    opened = []

    def make(ttl_s=3600.0, workspace_max_bytes=10**6, store_max_bytes=10**7):
        store = Store(url, ttl_s=ttl_s, workspace_max_bytes=workspace_max_bytes,
                      store_max_bytes=store_max_bytes)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store):
    return make_store()


# ----------------------------------------------------------------------------------- helpers
def _sql(store, query, **params):
    with store.engine.begin() as conn:
        result = conn.execute(sa.text(query), params)
        return result.all() if result.returns_rows else result.rowcount


def _snapshot(store):
    """Everything the database holds, to check that a refused write changed nothing."""
    with store.engine.begin() as conn:
        return {name: sorted(map(tuple, conn.execute(sa.select(t)).all()), key=repr)
                for name, t in store_schema.TABLES.items()}


def _key(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _run(store, token, nbytes=100, label="blobs"):
    return store.add_run(token, method="kmeans", label=label, headline={"k": 3},
                         meta={"n": nbytes}, blobs={"labels.npy": b"\x01" * nbytes})


# ----------------------------------------------------------------------------------- round trip
def test_round_trip_of_state_dataset_runs_and_jobs(store):
    token = store.new_workspace()
    assert store.exists(token) and store.touch(token)
    state, version = store.state(token)
    assert state == {} and store.version(token) == version
    version = store.set_state(token, {"page": "data", "nan": float("inf")},
                              expected_version=version)
    assert store.state(token) == ({"page": "data", "nan": float("inf")}, version)
    assert store.dataset(token) is None and store.table(token) is None

    blobs = {"X.npy": os.urandom(5000), "y.npy": b"", "names.json": "é".encode()}
    parquet = b"PAR1" + os.urandom(300)
    version = store.put_dataset(token, {"label": "upload.csv", "spec": {"rows": 3}}, blobs,
                                table=({"columns": ["a"]}, parquet), expected_version=version)
    assert store.dataset(token) == ({"label": "upload.csv", "spec": {"rows": 3}}, blobs)
    assert store.table(token) == ({"columns": ["a"]}, parquet)
    version = store.put_dataset(token, {"label": "blobs"}, {"X.npy": b"12"},
                                expected_version=version)  # the working table stays
    assert store.dataset(token) == ({"label": "blobs"}, {"X.npy": b"12"})
    assert store.table(token) == ({"columns": ["a"]}, parquet)
    version = store.put_table(token, ({"columns": ["b"]}, b"PAR1b"), expected_version=version)
    assert store.table(token) == ({"columns": ["b"]}, b"PAR1b")
    assert store.dataset(token) == ({"label": "blobs"}, {"X.npy": b"12"})
    version = store.put_table(token, None, expected_version=version)
    assert store.table(token) is None and store.dataset(token) is not None
    assert store.version(token) == version

    first = _run(store, token, 10, "one")
    second = store.add_run(token, method="som", label="two", headline={"rand": 0.9},
                           meta={"grid": [3, 3]}, blobs={"w.npy": b"w", "m.keras": b"k" * 99},
                           data_token=4)
    listed = store.runs(token)
    assert [r.id for r in listed] == [second, first] and listed[0].run_id == second
    assert (listed[0].method, listed[0].label, listed[0].headline, listed[0].data_token) == (
        "som", "two", {"rand": 0.9}, 4)
    info, meta, got = store.run(token, second)
    assert info == listed[0] == store.run_info(token, second)
    assert (meta, got) == ({"grid": [3, 3]}, {"w.npy": b"w", "m.keras": b"k" * 99})
    assert store.version(token) == version  # runs do not change the version

    job = store.put_job(token, method="som", label="two", config={"params": {"grid": 3}},
                        process="web-1", data_token=4)
    store.update_job(token, job, status="running", dask_key="train-som-1")
    store.update_job(token, job, status="finished", run_id=second)
    info = store.job(token, job)
    assert (info.status, info.dask_key, info.run_id, info.config, info.process,
            info.data_token, info.job_id) == ("finished", "train-som-1", second,
                                              {"params": {"grid": 3}}, "web-1", 4, job)
    assert [j.id for j in store.jobs(token)] == [job]

    used = store.usage(token)
    assert used == store.total_usage() > 200
    assert store.delete_run(token, second) and not store.delete_run(token, second)
    assert store.job(token, job).run_id is None
    with pytest.raises(RecordNotFound):
        store.run(token, second)
    with pytest.raises(RecordNotFound):
        store.run_info(token, second)
    assert store.usage(token) < used
    assert store.delete_job(token, job) and store.jobs(token) == []
    store.delete_dataset(token, expected_version=version)
    assert store.dataset(token) is None and store.runs(token)[0].id == first
    assert store.delete_workspace(token) and not store.exists(token)
    assert store.total_usage() == 0


def test_usage_counts_every_byte_kept(store):
    token = store.new_workspace()
    v = store.set_state(token, {"a": 1}, expected_version=1)              # '{"a":1}': 7
    v = store.put_dataset(token, {}, {"X": b"x" * 100}, table=({}, b"t" * 50),
                          expected_version=v)                              # 2 + 100, 2 + 50
    store.add_run(token, method="m", label="l", headline={}, meta={}, blobs={"b": b"r" * 30})
    store.put_job(token, method="m", label="l", config={})                # '{}': 2
    assert store.usage(token) == 7 + 102 + 52 + 2 + 2 + 30 + 2
    store.put_table(token, None, expected_version=v)
    assert store.usage(token) == 7 + 102 + 2 + 2 + 30 + 2


def test_bad_arguments_are_the_callers_mistake(store):
    token = store.new_workspace()
    with pytest.raises(TypeError):
        store.add_run(token, method="m", label="l", headline={}, meta={}, blobs={"a": "text"})
    with pytest.raises(ValueError):
        store.put_job(token, method="m", label="l", config={}, status="done")
    with pytest.raises(RecordNotFound):
        store.update_job(token, "nope", status="failed")


# ----------------------------------------------------------------------------------- damage
@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_blob_is_refused_with_a_message(store, damage):
    token = store.new_workspace()
    run_id = _run(store, token, 1000)
    store.put_dataset(token, {"label": "x"}, {"X.npy": b"abcdef" * 100},
                      expected_version=store.state(token)[1])
    for name in ("labels.npy", "X.npy"):
        data = _sql(store, "SELECT data FROM blobs WHERE name = :n", n=name)[0][0]
        bad = bytes(data[:-3]) if damage == "truncate" else b"\xff" + bytes(data[1:])
        _sql(store, "UPDATE blobs SET data = :d WHERE name = :n", d=bad, n=name)
    for load, name in ((lambda: store.run(token, run_id), "labels.npy"),
                       (lambda: store.dataset(token), "X.npy")):
        with pytest.raises(StoreError) as err:
            load()
        msg = str(err.value)
        assert f"The stored record '{name}'" in msg and "of this workspace is damaged" in msg
        assert "checksum mismatch" in msg and msg.endswith("it was not loaded.")
        assert ("truncated" in msg) == (damage == "truncate")
    assert [r.id for r in store.runs(token)] == [run_id]  # the list still shows it


def test_damaged_json_is_refused(store):
    token = store.new_workspace()
    run_id = _run(store, token)
    _sql(store, "UPDATE runs SET meta = :m WHERE id = :i", m='{"n": 1', i=run_id)
    with pytest.raises(StoreError, match="'meta' of run .* is damaged"):
        store.run(token, run_id)


# ----------------------------------------------------------------------------------- caps
def test_the_workspace_cap_refuses_and_writes_nothing(make_store):
    store = make_store(workspace_max_bytes=20_000)
    token = store.new_workspace()
    _run(store, token, 15_000)
    before = _snapshot(store)
    with pytest.raises(StoreFull) as err:
        _run(store, token, 6_000)
    msg = str(err.value)
    assert isinstance(err.value, ClusteringError)
    assert "This workspace holds 14.7 KB" in msg and "cap of 19.5 KB" in msg
    assert "CLUSTERMAP_WORKSPACE_MAX_BYTES" in msg and "delete runs in the history" in msg
    with pytest.raises(StoreFull):
        store.put_dataset(token, {}, {"X.npy": b"x" * 6000}, expected_version=1)
    with pytest.raises(StoreFull):
        store.set_state(token, {"big": "x" * 6000}, expected_version=1)
    assert _snapshot(store) == before
    # Making room lets the write through; shrinking is never refused.
    store.delete_run(token, store.runs(token)[0].id)
    _run(store, token, 6_000)


def test_the_store_cap_refuses_and_writes_nothing(make_store):
    store = make_store(workspace_max_bytes=20_000, store_max_bytes=30_000)
    a, b = store.new_workspace(), store.new_workspace()
    _run(store, a, 16_000)
    before = _snapshot(store)
    with pytest.raises(StoreFull) as err:
        _run(store, b, 16_000)
    msg = str(err.value)
    assert "The server's workspace store holds" in msg and "cap of 29.3 KB" in msg
    assert "CLUSTERMAP_STORE_MAX_BYTES" in msg and "delete runs in the history" in msg
    assert _snapshot(store) == before
    store.delete_workspace(a)
    _run(store, b, 16_000)
    assert store.total_usage() == store.usage(b)


# ----------------------------------------------------------------------------------- expiry
def test_expiry_deletes_only_idle_workspaces_past_the_ttl(make_store):
    store = make_store(ttl_s=3600)
    idle, busy = store.new_workspace(), store.new_workspace()
    for token in (idle, busy):
        _run(store, token)
        store.put_job(token, method="m", label="l", config={})
    _sql(store, "UPDATE workspaces SET touched_at = touched_at - 3601 WHERE key = :k",
         k=_key(idle))
    assert not store.exists(idle) and not store.touch(idle)  # expired, even before expire()
    with pytest.raises(WorkspaceNotFound, match="CLUSTERMAP_WORKSPACE_TTL"):
        store.runs(idle)
    assert store.exists(busy)
    assert store.expire() == 1 and store.expire() == 0
    assert store.exists(busy) and len(store.runs(busy)) == 1
    for table in ("workspaces", "runs", "jobs"):
        assert _sql(store, f"SELECT COUNT(*) FROM {table}")[0][0] == 1
    assert _sql(store, "SELECT DISTINCT workspace FROM blobs") == [(_key(busy),)]
    assert store.expire(now=time.time() + 3601) == 1 and store.total_usage() == 0


# ----------------------------------------------------------------------------------- schema
def test_a_fresh_database_is_created_at_the_current_version(store, make_store):
    assert _sql(store, "SELECT id, schema_version FROM schema_info") == [
        (1, store_schema.SCHEMA_VERSION)]
    assert set(sa.inspect(store.engine).get_table_names()) >= set(store_schema.TABLES)
    token = store.new_workspace()
    again = make_store()  # opening an up-to-date database changes nothing
    assert again.exists(token) and len(_sql(again, "SELECT * FROM schema_info")) == 1


def _as_version_0(store):
    """Make the database look like a fake version 0: no ``jobs`` table yet."""
    token = store.new_workspace()
    _run(store, token)
    _sql(store, "DROP TABLE jobs")
    _sql(store, "UPDATE schema_info SET schema_version = 0")
    store.close()
    return token


def test_an_older_version_is_migrated(store, make_store, monkeypatch):
    token = _as_version_0(store)
    calls = []

    def v0_to_v1(conn):
        calls.append(1)
        store_schema.jobs.create(conn)

    monkeypatch.setattr(store_schema, "MIGRATIONS", {0: v0_to_v1})
    migrated = make_store()
    assert calls == [1]
    assert _sql(migrated, "SELECT schema_version FROM schema_info") == [(1,)]
    assert migrated.exists(token) and len(migrated.runs(token)) == 1
    migrated.put_job(token, method="m", label="l", config={})
    make_store()
    assert calls == [1]  # done once


def test_a_missing_or_failing_migration_leaves_the_database_as_it_was(store, make_store,
                                                                     monkeypatch):
    _as_version_0(store)
    monkeypatch.setattr(store_schema, "MIGRATIONS", {})
    with pytest.raises(StoreError, match="schema version 0 and no migration from version 0 to 1"):
        make_store()

    def half_done(conn):
        conn.execute(sa.text("CREATE TABLE half_done (x INTEGER)"))
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store_schema, "MIGRATIONS", {0: half_done})
    with pytest.raises(StoreError, match="from schema version 0 to 1 failed.*disk on fire"):
        make_store()
    with sa.create_engine(store.engine.url).connect() as conn:
        assert conn.execute(sa.text("SELECT schema_version FROM schema_info")).all() == [(0,)]
        assert "half_done" not in sa.inspect(conn).get_table_names()


def test_a_newer_or_unknown_version_is_refused(store, make_store):
    store.new_workspace()
    _sql(store, "UPDATE schema_info SET schema_version = 7")
    with pytest.raises(StoreError) as err:
        make_store()
    assert "schema version 7, newer than version 1" in str(err.value)
    assert _sql(store, "SELECT schema_version FROM schema_info") == [(7,)]
    _sql(store, "DROP TABLE schema_info")
    with pytest.raises(StoreError, match="schema version is unknown"):
        make_store()


# ----------------------------------------------------------------------------------- concurrency
def test_two_writers_from_one_version_one_wins(store):
    token = store.new_workspace()
    _, version = store.state(token)
    assert store.set_state(token, {"tab": "A"}, expected_version=version) == version + 1
    with pytest.raises(WorkspaceConflict) as err:
        store.set_state(token, {"tab": "B"}, expected_version=version)
    assert str(err.value) == CONFLICT
    with pytest.raises(WorkspaceConflict):
        store.put_dataset(token, {"tab": "B"}, {}, expected_version=version)
    assert store.state(token) == ({"tab": "A"}, version + 1) and store.dataset(token) is None


def _in_threads(n, target):
    barrier, errors = threading.Barrier(n), []

    def body(i):
        barrier.wait()
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_concurrent_writers_with_one_version_one_wins(store):
    token = store.new_workspace()
    _, version = store.state(token)
    errors = _in_threads(8, lambda i: store.put_dataset(
        token, {"tab": i}, {"X.npy": bytes([i]) * 1000}, expected_version=version))
    assert len(errors) == 7 and all(isinstance(e, WorkspaceConflict) for e in errors)
    meta, blobs = store.dataset(token)
    assert blobs == {"X.npy": bytes([meta["tab"]]) * 1000}
    assert store.state(token)[1] == version + 1


def test_runs_added_from_threads_all_land(store):
    token = store.new_workspace()
    errors = _in_threads(8, lambda i: [_run(store, token, 100 + i, f"t{i}") for _ in range(4)])
    assert errors == []
    listed = store.runs(token)
    assert len(listed) == 32 and len({r.id for r in listed}) == 32
    assert store.usage(token) == 2 + sum(r.nbytes for r in listed)
    for info in listed[:4]:
        nbytes = 100 + int(info.label[1:])
        assert store.run(token, info.id)[1:] == ({"n": nbytes}, {"labels.npy": b"\x01" * nbytes})


def test_concurrent_writers_never_take_the_store_over_its_cap(make_store):
    store = make_store()
    probe = store.new_workspace()
    _run(store, probe, 10_000)
    run_bytes = store.runs(probe)[0].nbytes
    store.delete_workspace(probe)
    store.store_max_bytes = 8 * 2 + 4 * run_bytes + run_bytes // 2  # room for 4 of the 8
    tokens = [store.new_workspace() for _ in range(8)]
    errors = _in_threads(8, lambda i: _run(store, tokens[i], 10_000))
    assert len(errors) == 4 and all(isinstance(e, StoreFull) for e in errors)
    assert store.total_usage() == 8 * 2 + 4 * run_bytes <= store.store_max_bytes


CHILD = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, sys.argv[1])
    from ui.store import Store
    url, sync, token = sys.argv[2], sys.argv[3], sys.argv[4]
    open(os.path.join(sync, f"ready-{os.getpid()}"), "w").close()
    while not os.path.exists(os.path.join(sync, "go")):
        time.sleep(0.002)
    store = Store(url, ttl_s=3600, workspace_max_bytes=10**7, store_max_bytes=10**8)
    token = store.new_workspace() if token == "new" else token
    for i in range(5):
        store.add_run(token, method="m", label=str(i), headline={}, meta={}, blobs={"b": b"x"})
    print(token)
""")


def _children(url, token, tmp_path, n=3):
    """Run :data:`CHILD` in ``n`` processes that open the store at the same moment (once all
    have imported it); their tokens."""
    sync = Path(tempfile.mkdtemp(dir=tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(ROOT), url, str(sync), token],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(n)]
    deadline = time.monotonic() + 30
    while len(list(sync.glob("ready-*"))) < n and time.monotonic() < deadline:
        time.sleep(0.005)
    (sync / "go").touch()
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * n, [err for _, err in outs]
    return [out.strip() for out, _ in outs]


def test_processes_create_the_schema_and_write_at_once(url, tmp_path):
    tokens = _children(url, "new", tmp_path)  # every child opens the new, empty database at once
    with Store(url, ttl_s=3600, workspace_max_bytes=10**7, store_max_bytes=10**8) as store:
        assert len(_sql(store, "SELECT * FROM schema_info")) == 1
        assert all(len(store.runs(t)) == 5 for t in tokens)
        shared = store.new_workspace()
        _children(url, shared, tmp_path)  # and add runs to one workspace together
        assert len(store.runs(shared)) == 15
        assert store.usage(shared) == 2 + sum(r.nbytes for r in store.runs(shared))


# ----------------------------------------------------------------------------------- tokens
def _non_canonical(token):
    """The same 32 bytes but a last character with its unused low bits set."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return token[:-1] + alphabet[alphabet.index(token[-1]) | 1]


def test_malformed_unknown_and_expired_tokens_open_nothing(make_store):
    store = make_store(ttl_s=3600)
    token = store.new_workspace()
    assert Store.valid_token(token) and len(token) == 43
    bad = ["", "abc", token[:-1], token + "A", "!" * 43, token[:-1] + "=", " " + token[1:],
           _non_canonical(token), None, 42, token.encode(), ["x"], "' OR 1=1 --" + "a" * 32]
    unknown = secrets.token_urlsafe(32)
    assert Store.valid_token(unknown)
    for guess in bad + [unknown]:
        assert not store.exists(guess) and not store.touch(guess)
        assert not store.delete_workspace(guess)
        with pytest.raises(WorkspaceNotFound):
            store.state(guess)
        with pytest.raises(WorkspaceNotFound):
            _run(store, guess)
    assert all(not Store.valid_token(b) for b in bad)
    _sql(store, "UPDATE workspaces SET touched_at = touched_at - 3601")
    assert not store.exists(token) and not store.touch(token)
    with pytest.raises(WorkspaceNotFound):
        store.set_state(token, {}, expected_version=1)


def test_tokens_are_neither_stored_nor_logged(make_store, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    store = make_store(workspace_max_bytes=10**6)
    token = store.new_workspace()
    messages = []
    run_id = _run(store, token)
    store.put_job(token, method="m", label="l", config={"x": 1})
    store.put_dataset(token, {"a": 1}, {"X.npy": b"1"}, expected_version=1)
    for bad in (lambda: store.set_state(token, {}, expected_version=1),
                lambda: _run(store, token, 2 * 10**6), lambda: store.run(token, "nope")):
        with pytest.raises(StoreError) as err:
            bad()
        messages.append(str(err.value))
    store.delete_run(token, run_id)
    store.expire(now=time.time() + 10**6)
    needle = token.encode()
    assert f"workspace {_key(token)[:12]} created" in caplog.text  # logs name the key's start
    assert "INSERT INTO runs" in caplog.text  # SQLAlchemy's statements too (parameters hidden)
    assert token not in caplog.text and token not in " ".join(messages)
    assert token[:12] not in caplog.text
    with store.engine.connect() as conn:
        for table in store_schema.TABLES.values():
            for row in conn.execute(sa.select(table)):
                for value in row:
                    assert needle not in (value if isinstance(value, bytes) else
                                          str(value).encode())
    path = store.engine.url.database
    if store.engine.dialect.name == "sqlite":
        for file in (path, path + "-wal"):
            if os.path.exists(file):
                assert needle not in Path(file).read_bytes()


# ----------------------------------------------------------------------------------- jobs
def test_interrupt_running_jobs_at_server_start(store):
    a, b = store.new_workspace(), store.new_workspace()
    ids = {}
    for token in (a, b):
        for status in JOB_STATUSES:
            ids[token, status] = store.put_job(token, method="m", label=status,
                                               config={"s": status}, status=status,
                                               process="web-1" if token == a else "web-2")
    store.update_job(a, ids[a, "running"], error="worker lost")
    assert store.interrupt_running_jobs(process="web-2") == 2
    assert store.interrupt_running_jobs() == 2 and store.interrupt_running_jobs() == 0
    for token in (a, b):
        got = {j.label: j for j in store.jobs(token)}
        for status in JOB_STATUSES:
            live = status in ("queued", "running")
            assert got[status].status == ("interrupted" if live else status)
        assert "server restarted" in got["queued"].error
    assert store.job(a, ids[a, "running"]).error == "worker lost"
    assert store.job(b, ids[b, "running"]).config == {"s": "running"}


def test_a_heartbeat_keeps_a_live_job_from_being_interrupted(store):
    token = store.new_workspace()
    mine = store.put_job(token, method="m", label="mine", config={}, status="running",
                         process="web-1")
    lost = store.put_job(token, method="m", label="lost", config={}, status="running",
                         process="web-2")
    _sql(store, "UPDATE jobs SET updated_at = updated_at - 120")
    assert store.beat("web-1") == 1
    assert store.interrupt_running_jobs(idle_s=60) == 1
    assert store.job(token, mine).status == "running"
    assert store.job(token, lost).status == "interrupted"


# ----------------------------------------------------------------------------------- settings
def test_settings_from_the_environment(monkeypatch, tmp_path, caplog):
    for env in ("CLUSTERMAP_DATABASE_URL", "CLUSTERMAP_WORKSPACE_TTL",
                "CLUSTERMAP_WORKSPACE_MAX_BYTES", "CLUSTERMAP_STORE_MAX_BYTES"):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("CLUSTERMAP_DATA_DIR", str(tmp_path / "data"))
    s = store_settings.settings()
    assert s.data_dir == tmp_path / "data" and s.data_dir.is_dir()
    assert s.url == f"sqlite:///{tmp_path / 'data' / 'clustermap.db'}"
    assert (s.ttl_s, s.workspace_max_bytes, s.store_max_bytes) == (7 * 86400, 512 * 2**20,
                                                                   8 * 2**30)
    monkeypatch.setenv("CLUSTERMAP_WORKSPACE_TTL", "12h")
    monkeypatch.setenv("CLUSTERMAP_WORKSPACE_MAX_BYTES", "1G")
    monkeypatch.setenv("CLUSTERMAP_STORE_MAX_BYTES", "123456")
    s = store_settings.settings()
    assert (s.ttl_s, s.workspace_max_bytes, s.store_max_bytes) == (43200, 2**30, 123456)
    assert [store_settings.parse_duration(t) for t in ("90", "2.5m", "7d", "1w")] == [
        90, 150, 604800, 604800]
    for env, value in (("CLUSTERMAP_WORKSPACE_TTL", "-3d"), ("CLUSTERMAP_WORKSPACE_TTL", "soon"),
                       ("CLUSTERMAP_WORKSPACE_MAX_BYTES", "lots"),
                       ("CLUSTERMAP_DATABASE_URL", "mysql://db/x")):
        monkeypatch.setenv(env, value)
    with caplog.at_level(logging.WARNING, logger="clustermap.store"):
        s = store_settings.settings()
    assert (s.ttl_s, s.workspace_max_bytes) == (7 * 86400, 512 * 2**20)
    assert s.url.startswith("sqlite:///")
    assert "CLUSTERMAP_WORKSPACE_TTL" in caplog.text and "CLUSTERMAP_DATABASE_URL" in caplog.text


def test_the_data_dir_falls_back_to_the_temp_dir(monkeypatch, tmp_path, caplog):
    blocker = tmp_path / "home"
    blocker.write_text("a file, not a folder")
    monkeypatch.setenv("HOME", str(blocker))
    monkeypatch.setenv("CLUSTERMAP_DATA_DIR", str(blocker / "data"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    with caplog.at_level(logging.INFO, logger="clustermap.store"):
        got = store_settings.data_dir()
    assert got.parent == tmp_path / "tmp" and got.is_dir()
    assert str(got) in caplog.text and "cannot be created" in caplog.text


def test_from_env_opens_a_sqlite_store_in_wal_mode(monkeypatch, tmp_path):
    monkeypatch.delenv("CLUSTERMAP_DATABASE_URL", raising=False)
    monkeypatch.setenv("CLUSTERMAP_DATA_DIR", str(tmp_path))
    with Store.from_env() as store:
        token = store.new_workspace()
        assert (tmp_path / "clustermap.db").exists() and store.exists(token)
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_an_unreachable_database_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="workspace store failed.*nothing was changed"):
        Store(f"sqlite:///{tmp_path}/missing/dir/x.db", ttl_s=1, workspace_max_bytes=1,
              store_max_bytes=1)
