"""Fixtures and the report plugin of the conformance suite.

Options: --runtime NAME=PATH (repeatable) points a runtime at another build;
--results DIR (default <repo>/results) receives conformance-report.{md,html};
--strict-accepted fails the run when an accepted difference matched nothing
although a comparison it applies to ran (a stale entry; CI passes it).
"""
from __future__ import annotations

import datetime
import errno
import html
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import catalogue  # noqa: E402
import rtlib  # noqa: E402


def pytest_addoption(parser):
    g = parser.getgroup("conformance")
    g.addoption("--runtime", action="append", default=[], metavar="NAME=PATH",
                help="runtime to test (NAME=PATH); repeatable; default: glassrun, runc, crun, youki if on PATH")
    g.addoption("--results", default=None, metavar="DIR",
                help="directory for the conformance report (default <repo>/results)")
    g.addoption("--strict-accepted", action="store_true", default=False,
                help="fail when an entry of accepted_differences.toml matched no difference in the "
                     "comparisons it applies to (stale)")


def _runtime_paths(config):
    paths = rtlib.default_runtime_paths()
    for spec in config.getoption("--runtime") or []:
        name, _, path = spec.partition("=")
        if not path:
            raise pytest.UsageError(f"--runtime wants NAME=PATH, got {spec!r}")
        paths[name] = os.path.abspath(path) if os.sep in path else (shutil.which(path) or path)
    return paths


def pytest_configure(config):
    config._conformance_paths = _runtime_paths(config)
    config.addinivalue_line("markers", "stale_probe: runs only inside test_accepted's own pytest run")


def pytest_collection_modifyitems(config, items):
    # the stale-entry probe is a fixture of test_accepted.py's inner run
    if os.environ.get("CONFORMANCE_STALE_PROBE") != "1":
        keep = [i for i in items if not i.get_closest_marker("stale_probe")]
        if len(keep) != len(items):
            config.hook.pytest_deselected(items=[i for i in items if i.get_closest_marker("stale_probe")])
            items[:] = keep


def _is_conformance(item_or_path):
    return "conformance" in str(item_or_path)


def runtime_names(config):
    names = list(config._conformance_paths)
    return names


def pytest_generate_tests(metafunc):
    if "runtime_name" in metafunc.fixturenames:
        metafunc.parametrize("runtime_name", runtime_names(metafunc.config))
    if "bundle_name" in metafunc.fixturenames and not metafunc.definition.get_closest_marker("parametrize"):
        names = getattr(metafunc.function, "bundles", None) or list(catalogue.CATALOGUE)
        metafunc.parametrize("bundle_name", names)


# --------------------------------------------------------------------------
# session state

@pytest.fixture(scope="session")
def session_tmp():
    d = pathlib.Path(tempfile.mkdtemp(prefix="glassrun-conformance-"))
    # searchable by everyone: a user namespace's mapped root (host uid
    # 100000) must reach the bundles below to bind their rootfs
    d.chmod(0o711)
    yield d
    # unmount anything left below (should be nothing) and remove
    subprocess.run(["umount", "-R", "-l", str(d)], capture_output=True)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def runtimes(request, session_tmp):
    out = {}
    for name, path in request.config._conformance_paths.items():
        out[name] = rtlib.probe_runtime(name, path, session_tmp / "probe")
    rtlib.COLLECTOR.runtimes = out
    return out


@pytest.fixture(scope="session")
def holder():
    """A process owning fresh net/ipc/uts/pid/cgroup namespaces, for the
    joined-ns bundles: the child of `unshare --fork` (pid 1 of its pid ns)."""
    p = subprocess.Popen(["unshare", "--net", "--ipc", "--uts", "--pid", "--cgroup", "--fork", "--kill-child",
                          "sleep", "100000"])
    children = pathlib.Path(f"/proc/{p.pid}/task/{p.pid}/children")
    end = time.monotonic() + 10
    kids = []
    while not kids and time.monotonic() < end and p.poll() is None:
        kids = children.read_text().split()
        time.sleep(0.01)
    if not kids:
        p.kill()
        raise RuntimeError("the namespace holder (unshare --fork sleep) did not start")
    yield int(kids[0])
    p.kill()
    p.wait()


@pytest.fixture(scope="session")
def accepted():
    entries = rtlib.load_accepted()
    rtlib.COLLECTOR.entries = entries   # for the stale-entry report
    return entries


class Helpers:
    """Processes some bundles need, started on first use (so a run without
    those bundles never starts them) and stopped at the end of the session."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = {}

    def userns_holder(self):
        """pid of a process in a user namespace of its own mapping 0..65535 to
        100000..165535 (uid and gid), for ns-user-joined."""
        if "userns" not in self.procs:
            p = subprocess.Popen(["unshare", "--user", "sleep", "100000"])
            self.procs["userns"] = p
            mine = os.readlink("/proc/self/ns/user")
            end = time.monotonic() + 10
            while p.poll() is None and time.monotonic() < end:
                try:
                    if os.readlink(f"/proc/{p.pid}/ns/user") != mine:
                        break
                except OSError:
                    pass
                time.sleep(0.01)
            else:
                raise RuntimeError("the user-namespace holder (unshare --user sleep) did not start")
            for f in ("uid_map", "gid_map"):
                pathlib.Path(f"/proc/{p.pid}/{f}").write_text("0 100000 65536\n")
        return self.procs["userns"].pid

    def seccomp_agent(self):
        """The socket of tools/seccomp-agent answering mkdir with EDQUOT, for
        seccomp-notify; its log is self.agent_log."""
        if "agent" not in self.procs:
            agent = rtlib.BUILD / "tools" / "seccomp-agent" / "glassrun-seccomp-agent"
            if not agent.exists():
                r = subprocess.run(["cmake", "--build", str(rtlib.BUILD), "--target", "glassrun-seccomp-agent"],
                                   capture_output=True, text=True, timeout=600)
                assert r.returncode == 0, f"cannot build the seccomp agent: {r.stdout[-400:]}{r.stderr[-400:]}"
            self.agent_sock, self.agent_log = self.tmp / "agent.sock", self.tmp / "agent.log"
            with open(self.agent_log, "w") as log:
                p = subprocess.Popen([str(agent), str(self.agent_sock), "mkdir", str(errno.EDQUOT)],
                                     stdout=log, stderr=subprocess.STDOUT)
            self.procs["agent"] = p
            end = time.monotonic() + 10
            while not self.agent_sock.exists() and p.poll() is None and time.monotonic() < end:
                time.sleep(0.01)
            if not self.agent_sock.exists():
                raise RuntimeError(f"the seccomp agent did not listen: {self.agent_log.read_text()}")
        return self.agent_sock

    def close(self):
        for p in self.procs.values():
            p.kill()
            p.wait()


class Runner:
    """Runs each (runtime, bundle) once per session; results are shared by
    every check."""

    def __init__(self, runtimes, tmp, holder):
        self.runtimes, self.tmp, self.holder = runtimes, tmp, holder
        self.helpers = Helpers(tmp)
        self.cache = {}
        self.roots = {}

    def root(self, rt_name):
        r = self.tmp / f"root-{rt_name}"
        r.mkdir(exist_ok=True)
        self.roots[rt_name] = r
        return r

    def rt(self, name):
        rt = self.runtimes.get(name)
        if rt is None:
            pytest.skip(f"runtime {name} not configured")
        if rt.skip_reason:
            pytest.skip(rt.skip_reason)
        return rt

    def build_bundle(self, rt_name, bundle, base=None):
        """The catalogue's bundle under base (default <tmp>/<rt_name>/<bundle>)."""
        base = base or self.tmp / rt_name / bundle
        ctx = {"marker_dir": base / "markers", "data_dir": base / "data", "holder": self.holder,
               "userns_holder": self.helpers.userns_holder, "seccomp_agent": self.helpers.seccomp_agent}
        for d in (ctx["marker_dir"], ctx["data_dir"]):
            d.mkdir(parents=True, exist_ok=True)
        bdir = rtlib.bundle_from_template(self.tmp, base / "bundle", rtlib.probe_args(catalogue.EXTRA[bundle]))
        ctx["rootfs"] = bdir / "rootfs"
        cfg = rtlib.load_config(bdir)
        cfg["hostname"] = "glassrun"
        catalogue.CATALOGUE[bundle](cfg, ctx)
        rtlib.save_config(bdir, cfg)
        return bdir, ctx

    def get(self, rt_name, bundle, rt=None):
        key = (rt_name, bundle, rt.path if rt else None)
        if key not in self.cache:
            label = f"{rt_name}-alt{len(self.cache)}" if rt else rt_name
            rt = rt or self.rt(rt_name)
            bdir, ctx = self.build_bundle(label, bundle)
            wrap = catalogue.WRAP.get(bundle, [])
            before = rtlib.host_mounts(self.tmp) if wrap else None
            res = rtlib.execute(rt, self.root(rt_name), bdir, bundle, ctx["marker_dir"], wrap)
            if wrap:
                after = rtlib.host_mounts(self.tmp)
                res.host_mounts_changed = sorted(set(before) ^ set(after))
            self.cache[key] = res
        return self.cache[key]


@pytest.fixture(scope="session")
def runner(runtimes, session_tmp, holder):
    r = Runner(runtimes, session_tmp, holder)
    yield r
    # Nothing may be left: every container deleted, no state dir left behind.
    for name, root in r.roots.items():
        # a planted-defect runtime's root is glassrun's layout: list it with glassrun
        rt = runtimes.get(name) or runtimes.get("glassrun")
        if rt is None or rt.skip_reason:
            continue
        try:
            p = subprocess.run(rt.cmd(root, "list", "-q"), capture_output=True, text=True)
        except OSError as e:
            print(f"conformance: cannot list {name} containers: {e}", file=sys.stderr)
            continue
        for cid in p.stdout.split():
            rtlib.force_delete(rt, root, cid)
    r.helpers.close()


@pytest.fixture(scope="session")
def lifecycles(runner):
    """name -> the `state` documents of rtlib.lifecycle, once per runtime."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = rtlib.lifecycle(runner.rt(name), runner.root(name))
        return cache[name]
    return get


@pytest.fixture(scope="session")
def tracer(runner):
    """Traces of `create`/`start`/`delete` under glasstrace, once per
    (runtime, bundle) for the session (tracing.Tracer)."""
    import tracing
    if not (tracing.GLASSTRACE.is_file() and os.access(tracing.GLASSTRACE, os.X_OK)):
        pytest.skip(f"no glasstrace at {tracing.GLASSTRACE} (cmake --build build --target glasstrace)")
    tmp = runner.tmp / "traces"
    tmp.mkdir()
    t = tracing.Tracer(runner, tmp)
    yield t
    t.close()


def apply_xfail(request, runtime_name, bundle_name):
    reason = catalogue.XFAIL.get((runtime_name, bundle_name))
    if reason:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=reason))


def result_or_fail(runner, runtime_name, bundle_name):
    res = runner.get(runtime_name, bundle_name)
    if res.error and "not implemented" in res.error.lower():
        pytest.xfail(f"{runtime_name}: {res.error}")
    assert not res.error, f"{runtime_name} failed on bundle {bundle_name}: {res.error}\nstderr:\n{res.stderr}"
    return res


# --------------------------------------------------------------------------
# report

_OUTCOMES = []


def pytest_runtest_logreport(report):
    if not _is_conformance(report.nodeid):
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        outcome = report.outcome
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        reason = ""
        if report.failed and getattr(report.longrepr, "reprcrash", None):
            # the first line of the failure names the compared fields
            reason = report.longrepr.reprcrash.message.splitlines()[0]
        elif report.skipped and isinstance(report.longrepr, tuple):
            reason = report.longrepr[2]
        elif hasattr(report, "wasxfail"):
            reason = report.wasxfail
        _OUTCOMES.append((report.nodeid, outcome, reason))


_STALE = []


def pytest_sessionfinish(session, exitstatus):
    if not _OUTCOMES:
        return
    _STALE[:] = rtlib.stale_entries(rtlib.COLLECTOR.entries, rtlib.COLLECTOR.compared)
    if _STALE and session.config.getoption("--strict-accepted"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    opt = session.config.getoption("--results")
    out = pathlib.Path(opt) if opt else rtlib.REPO / "results"
    out.mkdir(parents=True, exist_ok=True)
    md, page = render_report(_OUTCOMES, rtlib.COLLECTOR, _STALE)
    (out / "conformance-report.md").write_text(md)
    (out / "conformance-report.html").write_text(page)
    # leftover state dirs are a bug of some runtime or of this suite
    leftovers = [f"{d}/{x}" for d in rtlib.STATE_DIRS if os.path.isdir(d) for x in os.listdir(d) if x.startswith("cf-")]
    if leftovers:
        print(f"\nconformance: WARNING: state left behind: {leftovers}", file=sys.stderr)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _STALE:
        return
    strict = config.getoption("--strict-accepted")
    terminalreporter.section("stale accepted differences" + (" (--strict-accepted: FAILED)" if strict else ""))
    for e in _STALE:
        terminalreporter.line(f"STALE [{e['check']}] {e['runtime']} / {e.get('bundle', '*')}: {e['key']!r} "
                              f"(change = {e['change']}): matched no difference")


def stale_line(e):
    return f"[{e['check']}] {e['runtime']} / {e.get('bundle', '*')}: `{e['key']}` ({e['change']})"


def render_report(outcomes, collector, stale=()):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    counts = {}
    for _, o, _ in outcomes:
        counts[o] = counts.get(o, 0) + 1
    md = [f"# glassrun conformance report", "", f"Generated {now}. Reference runtime: runc.", "",
          "## Runtimes", "", "| runtime | path | version | status |", "| --- | --- | --- | --- |"]
    for rt in collector.runtimes.values():
        md.append(f"| {rt.name} | `{rt.path}` | {rt.version or '?'} | {('skipped: ' + rt.skip_reason) if rt.skip_reason else 'ok'} |")
    md += ["", "## Summary", "", ", ".join(f"{v} {k}" for k, v in sorted(counts.items())), "",
           "## Checks", "", "| test | outcome | note |", "| --- | --- | --- |"]
    for nodeid, o, reason in outcomes:
        md.append(f"| `{nodeid.split('::', 1)[-1]}` | {o} | {str(reason).replace('|', '/')[:200]} |")
    bad = [d for d in collector.diffs if not d.accepted]
    ok = [d for d in collector.diffs if d.accepted]
    md += ["", f"## Differences from runc not accepted ({len(bad)})", ""]
    seen = set()
    for d in bad:
        k = (d.check, d.runtime, d.bundle, d.key)
        if k in seen:
            continue
        seen.add(k)
        note = collector.notes.get((d.check, d.runtime, d.bundle))
        md += [f"### {d.runtime} / {d.bundle}: `{d.name()}` ({d.change})", ""] + ([note, ""] if note else []) \
            + ["```", d.side_by_side(), "```", ""]
    md += ["", f"## Stale accepted differences ({len(stale)})", "",
           "Entries that matched no difference in the comparisons they apply to.", ""]
    md += [f"- {stale_line(e)}" for e in stale]
    md += ["", f"## Accepted differences ({len(ok)})", "", "| check | runtime | bundle | key | reason |",
           "| --- | --- | --- | --- | --- |"]
    for d in ok:
        md.append(f"| {d.check} | {d.runtime} | {d.bundle} | `{d.key[:80]}` | {d.accepted} |")
    text = "\n".join(md) + "\n"
    page = ["<!doctype html><html><head><meta charset='utf-8'><title>glassrun conformance</title>",
            "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:2px 6px}"
            "table{border-collapse:collapse}pre{background:#f6f6f6;padding:6px}"
            ".failed{background:#fdd}.passed{background:#dfd}.xfailed{background:#ffd}</style></head><body>",
            f"<h1>glassrun conformance report</h1><p>Generated {now}. Reference runtime: runc.</p>",
            "<h2>Runtimes</h2><table><tr><th>runtime</th><th>path</th><th>version</th><th>status</th></tr>"]
    for rt in collector.runtimes.values():
        page.append(f"<tr><td>{html.escape(rt.name)}</td><td>{html.escape(rt.path)}</td><td>{html.escape(rt.version)}</td>"
                    f"<td>{html.escape('skipped: ' + rt.skip_reason if rt.skip_reason else 'ok')}</td></tr>")
    page.append("</table><h2>Checks</h2><p>" + html.escape(", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
                + "</p><table><tr><th>test</th><th>outcome</th><th>note</th></tr>")
    for nodeid, o, reason in outcomes:
        page.append(f"<tr class='{o}'><td>{html.escape(nodeid.split('::', 1)[-1])}</td><td>{o}</td>"
                    f"<td>{html.escape(str(reason))}</td></tr>")
    page.append(f"</table><h2>Differences from runc not accepted ({len(bad)})</h2>")
    seen = set()
    for d in bad:
        k = (d.check, d.runtime, d.bundle, d.key)
        if k in seen:
            continue
        seen.add(k)
        note = collector.notes.get((d.check, d.runtime, d.bundle))
        page.append(f"<h3>{html.escape(d.runtime)} / {html.escape(d.bundle)}: "
                    f"<code>{html.escape(d.name())}</code> ({html.escape(d.change)})</h3>"
                    + (f"<p>{html.escape(note)}</p>" if note else "") + f"<pre>{html.escape(d.side_by_side())}</pre>")
    page.append(f"<h2>Stale accepted differences ({len(stale)})</h2><ul>"
                + "".join(f"<li>{html.escape(stale_line(e))}</li>" for e in stale) + "</ul>")
    page.append(f"<h2>Accepted differences ({len(ok)})</h2><table><tr><th>check</th><th>runtime</th>"
                "<th>bundle</th><th>key</th><th>reason</th></tr>")
    for d in ok:
        page.append("<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in
                                     (d.check, d.runtime, d.bundle, d.key[:120], d.accepted)) + "</tr>")
    page.append("</table></body></html>")
    return text, "\n".join(page)
