"""A visitor's workspace, kept on the server: its data set, its runs and its running job.

A workspace is keyed by an unguessable token (:meth:`ui.store.Store.new_workspace`) that lives in
the page's address, so a reload, a second tab on the same address or a server restart return to
the same work. Everything is in the store (:mod:`ui.store`, SQLAlchemy over SQLite or PostgreSQL),
encoded without pickles (:mod:`ui.codec`); this module keeps a decoded copy per workspace for
the sessions of this server process (:func:`open_workspace`), so two tabs share one object, and
reloads it when another server process changed the store.

Writes of the data set carry the data version the page was drawn from: when another tab or
window changed the data meanwhile, the write is refused (:class:`ui.store.WorkspaceConflict`)
and the page shows the current state. A finished run is added to the history whatever tab is
open, or none: the job belongs to the workspace, not to a browser session.

A job is recorded in the store when it starts and when it ends. A server process that stops
leaves its running jobs' records behind: their heartbeat (:data:`HEARTBEAT_SECONDS`) stops, and
the next process to open the store marks them ``interrupted`` (:data:`STALE_SECONDS`); a process
that exits normally marks its own at once. The pages show them with a button to run them again. No Streamlit here (``ui.state`` binds a browser
session to its workspace).
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Optional

from clustering import i18n
from clustering.errors import ClusteringError
from clustering.i18n import N_, _

log = logging.getLogger("clustermap.workspace")

#: Name of the address parameter that holds the workspace's token.
TOKEN_PARAM = "ws"
#: Seconds between two heartbeats of this process's running jobs in the store.
HEARTBEAT_SECONDS = 15.0
#: A job recorded as running whose heartbeat is older than this was left by a stopped server.
STALE_SECONDS = 60.0
#: Decoded workspaces kept in this process (least recently used dropped first; the store keeps all).
CACHE_SIZE = 64
#: Decoded runs of the history kept per workspace.
DECODED_RUNS = 8
#: Seconds between two writes of a workspace's last use (its time to live counts from it).
TOUCH_EVERY = 60.0

_store = None
_store_lock = threading.Lock()


def store():
    """The process-wide :class:`ui.store.Store` (from the environment; opened once)."""
    global _store
    with _store_lock:
        if _store is None:
            from ui.store import Store

            _store = Store.from_env()
            removed = _store.expire()
            if removed:
                log.info("removed %d idle workspace(s) past their time to live", removed)
            # Jobs of a server that died without saying so (no heartbeat for a while).
            _store.interrupt_running_jobs(idle_s=STALE_SECONDS)
            atexit.register(_interrupt_own_jobs, _store)
            _start_heartbeat()
        return _store


def _interrupt_own_jobs(opened) -> None:
    """At exit: this process's jobs that are still running are interrupted (their workers'
    results can no longer reach the store)."""
    try:
        opened.interrupt_running_jobs(process=PROCESS_ID)
    except Exception:  # noqa: BLE001 - the database is gone too: the heartbeat rule applies
        log.warning("could not mark this server's running jobs as interrupted", exc_info=True)


def reset_store() -> None:
    """Forget the process's store and decoded workspaces (tests that change the settings)."""
    global _store
    with _store_lock:
        _store = None
    with _cache_lock:
        _cache.clear()


# ------------------------------------------------------------------------------ the workspace
@dataclass
class Workspace:
    """The decoded state of one workspace, shared by this process's sessions on it."""

    token: str
    version: int = 0
    dataset: Any = None
    spec: Optional[dict] = None
    label: str = ""
    data_token: int = 0
    table: Optional[dict] = None
    results: dict = field(default_factory=dict)
    job: Any = None
    #: What could not be read back from the store (shown to the visitor).
    damaged: list = field(default_factory=list)
    #: When this process last marked the workspace as used (``time.monotonic``).
    touched: float = float("-inf")
    #: The store's :meth:`ui.store.Store.stamp` this copy was read at.
    stamp: tuple = ()
    #: The address-is-the-key notice was shown (once per workspace and server process).
    told: bool = False
    #: The interface language last chosen in this workspace (None: never chosen).
    language: Optional[str] = None
    _interrupted: Optional[list] = field(default=None, repr=False)
    _decoded: "OrderedDict[str, Any]" = field(default_factory=OrderedDict, repr=False)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    # -------------------------------------------------------------- reading
    def runs(self) -> list:
        """The history: every stored run, newest first (:class:`ui.store.RunInfo`)."""
        return store().runs(self.token)

    def jobs(self) -> list:
        return store().jobs(self.token)

    def elsewhere(self) -> list:
        """Jobs of this workspace running on another web server of the deployment (their tab
        was served there: their live view is there too)."""
        return [j for j in self.jobs() if j.status in ("queued", "running")
                and j.process != PROCESS_ID]

    def interrupted(self) -> list:
        """Jobs a server restart interrupted, not yet dismissed or rerun (read again when the
        store's jobs change: :func:`open_workspace`)."""
        if self._interrupted is None:
            self._interrupted = [j for j in self.jobs() if j.status == "interrupted"]
        return self._interrupted

    # -------------------------------------------------------------- writing
    def set_dataset(self, ds, spec: dict, label: str, *, seen: int) -> None:
        """Make ``ds`` the current data set; the results on the previous one leave the pages
        (they stay in the history). ``seen``: the data version the page was drawn from."""
        from ui import codec

        with self.lock:
            state = {"spec": spec, "label": label, "data_token": self.data_token + 1}
            meta, blobs = codec.encode_dataset(ds)
            self.version = store().put_dataset(self.token, {"dataset": meta, "state": state},
                                               blobs, expected_version=seen)
            self.dataset, self.spec, self.label = ds, spec, label
            self.data_token += 1
            self.results.clear()

    def set_language(self, code: str) -> None:
        """Keep ``code`` as the workspace's interface language (a preference: written without
        the version check, so no other tab's next write conflicts with it)."""
        with self.lock:
            kept, _version = store().state(self.token)
            kept["language"] = code
            store().set_state(self.token, kept, expected_version=None)
            self.language = code

    def set_table(self, table: Optional[dict], *, seen: int) -> None:
        """Keep the Data page's working table (an upload or the example, before ``prepare``)."""
        from ui import codec

        with self.lock:
            payload = None
            if table is not None:
                meta = {k: table[k] for k in ("origin", "aggregations", "label")}
                payload = (meta, codec.encode_table(table["base"]))
            self.version = store().put_table(self.token, payload, expected_version=seen)
            self.table = table

    def add_result(self, method: str, result) -> str:
        """Store a finished run in the history and show it on its page; its run id."""
        from ui import codec

        meta, blobs = codec.encode_result(result)
        run_id = store().add_run(self.token, method=method, label=self.label,
                                 headline=headline(result), meta=meta, blobs=blobs,
                                 data_token=getattr(result, "data_token", self.data_token))
        result.run_id = run_id
        with self.lock:
            if getattr(result, "data_token", self.data_token) == self.data_token:
                self.results[method] = result
            self.stamp = store().stamp(self.token)  # this process's own change: no re-read
        return run_id

    def reopen(self, run_id: str):
        """Show a stored run on its page again (it must be of the current data)."""
        info = store().run_info(self.token, run_id)
        if info.data_token != self.data_token:
            raise ClusteringError("That run was made on another data set "
                                  f"({info.label or 'earlier data'}); load that data on the "
                                  "Data page first, or download the run from the history.")
        result = self.load_run(run_id)
        with self.lock:
            self.results[info.method] = result
        return result

    def load_run(self, run_id: str):
        """A stored run, decoded (:class:`ui.runs.MethodResult`); the last few decoded are kept
        (the history page draws the chosen run on every rerun)."""
        from ui import codec

        with self.lock:
            if run_id in self._decoded:
                self._decoded.move_to_end(run_id)
                return self._decoded[run_id]
        _, meta, blobs = store().run(self.token, run_id)
        result = codec.decode_result(meta, blobs)
        result.run_id = run_id
        with self.lock:
            self._decoded[run_id] = result
            while len(self._decoded) > DECODED_RUNS:
                self._decoded.popitem(last=False)
        return result

    def dismiss_job(self, job_id: str) -> None:
        """Take an interrupted job off the list (its record stays, as ``dismissed``)."""
        store().update_job(self.token, job_id, status="dismissed")
        self._interrupted = None
        self.stamp = store().stamp(self.token)

    def delete_run(self, run_id: str) -> None:
        info = store().run_info(self.token, run_id)
        store().delete_run(self.token, run_id)
        with self.lock:
            self._decoded.pop(run_id, None)
            shown = self.results.get(info.method)
            if shown is not None and getattr(shown, "run_id", None) == run_id:
                self.results.pop(info.method, None)
            self.stamp = store().stamp(self.token)


def headline(result) -> dict:
    """The figures the history lists for a run: clusters, objects, time, silhouette, ARI."""
    metrics = getattr(result, "metrics", {}) or {}
    out = {"clusters": int(result.n_clusters),
           "objects": int(len(result.labels)),
           "seconds": round(float(getattr(result, "elapsed", 0.0)), 1),
           "stopped": getattr(result, "stop_reason", "") or ("" if not result.stopped else "user")}
    for key in ("silhouette", "ari"):
        value = metrics.get(key)
        if isinstance(value, (int, float)) and value == value:
            out[key] = round(float(value), 4)
    return out


# ------------------------------------------------------------------------------ the cache
_cache: "OrderedDict[str, Workspace]" = OrderedDict()
_cache_lock = threading.Lock()


#: Seconds between two sweeps of idle workspaces past their time to live (besides the one at
#: the store's opening).
EXPIRE_EVERY = 3600.0
_last_sweep = time.monotonic()


def _sweep() -> None:
    """Delete the workspaces idle past their time to live, at most every :data:`EXPIRE_EVERY`."""
    global _last_sweep
    now = time.monotonic()
    with _store_lock:
        if now - _last_sweep < EXPIRE_EVERY:
            return
        _last_sweep = now
    removed = store().expire()
    if removed:
        log.info("removed %d idle workspace(s) past their time to live", removed)


def new_workspace() -> Workspace:
    """A fresh, empty workspace (stored at once: its address works from now on)."""
    _sweep()
    token = store().new_workspace()
    ws = Workspace(token=token, version=store().version(token))
    _remember(ws)
    return ws


def open_workspace(token: Optional[str]) -> Optional[Workspace]:
    """The workspace of ``token``, or None when the token is malformed, unknown or expired
    (the caller starts a new one: a guessed token never opens someone else's work).

    One read of the store per call (:meth:`ui.store.Store.stamp`): the copy is decoded again
    when another process changed its data, its results when it added or deleted runs; the
    last use is written at most every :data:`TOUCH_EVERY` seconds."""
    from ui.store import Store, WorkspaceNotFound

    if not isinstance(token, str) or not Store.valid_token(token):
        return None
    try:
        stamp = store().stamp(token)
    except WorkspaceNotFound:
        return None
    with _cache_lock:
        ws = _cache.get(token)
        if ws is not None:
            _cache.move_to_end(token)
    if ws is None or ws.stamp[:1] != stamp[:1]:  # its data changed (or never read here)
        ws = _load(token, ws)
        _remember(ws)
    elif ws.stamp[:3] != stamp[:3]:  # another process added or deleted runs
        fresh = Workspace(token=token, data_token=ws.data_token)
        _guarded(fresh, N_("the results"), _read_results)
        with ws.lock:
            ws.results.clear()
            ws.results.update(fresh.results)
            ws.damaged = [*ws.damaged, *fresh.damaged]
    if ws.stamp[3:] != stamp[3:]:  # a job ended, was interrupted or dismissed
        ws._interrupted = None
    ws.stamp = stamp
    now = time.monotonic()
    if now - ws.touched >= TOUCH_EVERY:
        store().touch(token)
        ws.touched = now
    return ws


def _remember(ws: Workspace) -> None:
    with _cache_lock:
        _cache[ws.token] = ws
        _cache.move_to_end(ws.token)
        idle = [t for t, w in _cache.items() if w.job is None or not w.job.running]
        for old_token in idle[:max(0, len(_cache) - CACHE_SIZE)]:  # oldest first
            _cache.pop(old_token)  # (one whose job runs stays: its watcher writes to it)


def _load(token: str, previous: Optional[Workspace]) -> Workspace:
    """Decode the stored workspace (data, working table, latest run per method on that data).

    Decoded into a fresh copy, then swapped in under the lock: a session reading meanwhile sees
    the old state or the new, never half of each. A damaged record (checksum, truncation, an
    unknown kind) is left out with a note in ``ws.damaged``; the rest of the workspace opens."""
    kept, version = store().state(token)  # first: a later write makes it stale, never lost
    fresh = Workspace(token=token, version=version, language=kept.get("language"))
    for part, read in ((N_("the data set"), _read_dataset),
                       (N_("the working table"), _read_table),
                       (N_("the results"), _read_results)):
        _guarded(fresh, part, read)
    if previous is None:
        return fresh
    with previous.lock:
        for name in ("version", "dataset", "spec", "label", "data_token", "table", "damaged"):
            setattr(previous, name, getattr(fresh, name))
        previous.results.clear()
        previous.results.update(fresh.results)
        previous._interrupted = None
    return previous


def _guarded(ws: Workspace, part: str, read) -> None:
    try:
        read(ws)
    except ClusteringError as err:
        log.warning("workspace: %s could not be read: %s", part, err)
        ws.damaged.append(_("{part} of this workspace could not be read back and was left out: "
                            "{error}").format(part=_(part)[:1].upper() + _(part)[1:],
                                              error=i18n.text(err)))


def _read_dataset(ws: Workspace) -> None:
    from ui import codec

    stored = store().dataset(ws.token)
    if stored is None:
        return
    meta, blobs = stored
    state = meta.get("state") or {}
    ws.data_token = int(state.get("data_token", 0))  # even when the data is damaged: the runs
    ws.dataset = codec.decode_dataset(meta["dataset"], blobs)
    ws.spec, ws.label = state.get("spec"), state.get("label", "")


def _read_table(ws: Workspace) -> None:
    table = store().table(ws.token)
    if table is not None:
        ws.table = _decode_table(*table)


def _read_results(ws: Workspace) -> None:
    for info in store().runs(ws.token):  # newest first: the first of each method wins
        if info.method not in ws.results and info.data_token == ws.data_token:
            try:
                ws.results[info.method] = ws.load_run(info.run_id)
            except ClusteringError as err:
                log.warning("workspace: run %s could not be read: %s", info.run_id, err)
                ws.damaged.append(_("A stored {method} run could not be read back and was left "
                                    "out: {error} Delete it in the run history.").format(
                                        method=info.method, error=i18n.text(err)))


def _decode_table(meta: dict, data: bytes) -> dict:
    from clustering import aggregation
    from ui import codec

    base = codec.decode_table(data)
    frame = base
    for step in meta.get("aggregations") or []:
        frame = aggregation.aggregate(frame, step["groups"], criterion=step["criterion"],
                                      overwrite=bool(step.get("overwrite")))
    return {"frame": frame, "base": base, "origin": meta["origin"],
            "aggregations": list(meta.get("aggregations") or []), "label": meta["label"]}


# ------------------------------------------------------------------------------ jobs
#: This server process, as recorded with the jobs it runs.
PROCESS_ID = uuid.uuid4().hex


def record_job(ws: Workspace, method: str, label: str, config: Optional[dict]) -> str:
    """Record a job about to start in the store; its job id."""
    # Exit handlers run last registered first: Dask registers its own (closing the cluster,
    # which fails the running jobs) when it is first imported, after ours; registered again
    # here, ours marks this process's jobs interrupted before the cluster goes.
    atexit.unregister(_interrupt_own_jobs)
    atexit.register(_interrupt_own_jobs, store())
    return store().put_job(ws.token, method=method, label=label, status="running",
                           config=config, process=PROCESS_ID, data_token=ws.data_token)


def forget_job(ws: Workspace, job_id: str) -> None:
    """Drop the record of a job that was refused before it started."""
    store().delete_job(ws.token, job_id)


class ResultSink:
    """Where a job puts its result (``sink[method] = result``): the workspace's history."""

    def __init__(self, ws: Workspace):
        self.ws = ws

    def __setitem__(self, method: str, result) -> None:
        try:
            result.run_id = self.ws.add_result(method, result)
            return
        except ClusteringError as err:  # e.g. the workspace's cap
            result.store_error = i18n.text(err)
        except Exception as err:  # noqa: BLE001 - logged; the result is still shown
            log.error("storing a %s result failed", method, exc_info=True)
            result.store_error = _("This result could not be stored ({kind}); it is shown until "
                                   "the server restarts. Download it to keep it.").format(
                                       kind=type(err).__name__)
        with self.ws.lock:  # shown on its page, not in the history
            self.ws.results[method] = result


def end_job(ws: Workspace, job_id: str, job) -> None:
    """Record how ``job`` ended (called from its watching thread)."""
    status = ("interrupted" if job.interrupted else "stopped" if job.cancelled
              else "failed" if job.error else "finished")
    try:
        store().update_job(ws.token, job_id, status=status, error=job.error,
                           run_id=getattr(job.result, "run_id", None))
        ws.stamp = store().stamp(ws.token)
    except Exception:  # noqa: BLE001 - the store is gone (server stopping): nothing to tell
        log.warning("could not record the end of job %s", job_id, exc_info=True)


_beat_thread: Optional[threading.Thread] = None


def _start_heartbeat() -> None:
    """Keep this process's running jobs fresh in the store (once per process; the caller holds
    ``_store_lock``)."""
    global _beat_thread
    if _beat_thread is None:
        _beat_thread = threading.Thread(target=_beat, name="clustermap-heartbeat", daemon=True)
        _beat_thread.start()


def _beat() -> None:
    """Every :data:`HEARTBEAT_SECONDS`: this process's jobs are alive; any other server's job
    silent for :data:`STALE_SECONDS` was left by a server that died (one killed and restarted
    at once included): interrupted."""
    while True:
        time.sleep(HEARTBEAT_SECONDS)
        try:
            beat_once()
        except Exception:  # noqa: BLE001 - logged; the next beat tries again
            log.warning("job heartbeat failed", exc_info=True)


def beat_once() -> int:
    """One heartbeat; how many jobs of dead servers it marked interrupted."""
    s = store()
    s.beat(PROCESS_ID)
    return s.interrupt_running_jobs(idle_s=STALE_SECONDS)
