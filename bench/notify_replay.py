"""Replay a benchmark cold run's notify room (plan, deliver, digests) on a copy of its warehouse, into a local sink.

Run: ``.venv/bin/python bench/notify_replay.py /tmp/custodian-perf-XXXX [prof]`` where the folder is one
``python -m bench`` left (its ``bench.duckdb`` and ``config/``). The copy's notify state is reset to
just before the first run's plan (outbox emptied, plan's events dropped, findings' steps cleared,
digests forgotten); apprise's URLs point at a sink in another process. Prints the URL set-up
(``ApprisePostman._prepare``, a background thread's work in the monitor), then plan / deliver /
digests wall and CPU seconds; ``prof`` writes a cProfile of them to /tmp/notify_replay.prof.
Used to profile notify at 10,000 accounts without re-running the collection (issue 9).
"""
import sys, os, time, shutil, tempfile, multiprocessing, cProfile, pstats
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import yaml
from bench import notify_bench as nb

def run(work: Path, port: int, prof: bool):
    from flows.config import load_config
    from flows.digest import send_digests
    from flows.escalation import plan
    from flows.notify import ApprisePostman, deliver
    from flows.warehouse import store
    tmp = Path(tempfile.mkdtemp(prefix="qn-replay-"))
    shutil.copytree(work / "config", tmp / "config")
    shutil.copy(work / "bench.duckdb", tmp / "w.duckdb")
    doc = yaml.safe_load((tmp / "config" / "apprise.yaml").read_text())
    tags = [next(iter(u.values()))[0]["tag"] for u in doc["urls"]]
    (tmp / "config" / "apprise.yaml").write_text(yaml.safe_dump(
        {"version": 1, "urls": [{f"json://127.0.0.1:{port}/inbox/{t}": [{"tag": t}]} for t in tags]}))
    config = load_config(tmp / "config")
    con = store.connect(tmp / "w.duckdb")
    run_id, now = con.execute("SELECT run_id, started_at FROM runs ORDER BY started_at LIMIT 1").fetchone()
    con.execute("DELETE FROM deliveries")
    con.execute("DELETE FROM alert_events WHERE kind IN ('escalated', 'reminder', 'flapping')")
    con.execute("UPDATE alert_events SET planned_at = NULL")
    con.execute("UPDATE findings SET step = NULL, step_at = NULL, reminders = NULL, last_notice_at = NULL")
    con.execute("DELETE FROM digests")
    con.execute("CHECKPOINT")
    print("findings open:", con.execute("SELECT count(*) FROM findings WHERE state='open'").fetchone()[0], "tags", len(tags), flush=True)
    postman = ApprisePostman(config.apprise_path, config.policy.notify.timeout_seconds)
    t = time.perf_counter(); postman._prepare(); print(f"apprise URL set-up {time.perf_counter()-t:.2f}s", flush=True)
    p = cProfile.Profile() if prof else None
    w0, c0 = time.perf_counter(), time.process_time()
    if p: p.enable()
    plan(con, config, run_id, now)
    w1, c1 = time.perf_counter(), time.process_time()
    sent = deliver(con, config, postman, now)
    w2, c2 = time.perf_counter(), time.process_time()
    d = send_digests(con, config, postman, now)
    w3, c3 = time.perf_counter(), time.process_time()
    if p: p.disable(); p.dump_stats("/tmp/notify_replay.prof")
    print(f"plan {w1-w0:.2f}s/{c1-c0:.2f}cpu deliver {w2-w1:.2f}s/{c2-c1:.2f}cpu ({sent.messages_sent} msgs, {sent.items_sent} items) digests {w3-w2:.2f}/{c3-c2:.2f}cpu ({d.sent}); total cpu {c3-c0:.2f}", flush=True)
    con.close(); shutil.rmtree(tmp)

if __name__ == "__main__":
    q = multiprocessing.Queue()
    inbox = multiprocessing.Process(target=nb._serve, args=(q,), daemon=True); inbox.start()
    port = q.get(timeout=30)
    try:
        run(Path(sys.argv[1]), port, len(sys.argv) > 2)
    finally:
        inbox.terminate(); inbox.join()
